/* cmd_dump: DUMP and RESTORE, after Redis's cluster.c.
 *
 * A payload is Redis's: the RDB type byte and value, the RDB version (2 bytes) and a CRC64
 * (8 bytes), both little endian; rdb/ encodes and decodes it, so a payload from Redis 7.0
 * to 8 (and Valkey) restores here and Mayfly's restore in Redis 7.4 and later. Field TTLs
 * travel inside the payload; the key's TTL is RESTORE's argument. Checks run in Redis's
 * order: options, BUSYKEY, the TTL, the payload's footer, then the value. */
#include "cmd/keyspace_int.h"
#include "mayfly/client/notify.h"
#include "mayfly/cmd/cmd.h"
#include "mayfly/cmd/propagate.h"
#include "mayfly/config.h"
#include "mayfly/db/db.h"
#include "mayfly/evict/evict.h"
#include "mayfly/rdb/rdb.h"
#include "mayfly/util/strconv.h"

#include <string.h>

static void cmd_dump(cmd_ctx *c) {
    dbentry *e = db_lookup(c->db, c->argv[1], c->now_ms, ks_read_flags(c));
    if (!e) {
        reply_null(c);
        return;
    }
    buf payload;
    buf_init(&payload);
    rdb_dump_payload(&payload, e->val, c->now_ms, config.rdbcompression);
    reply_bulk(c, payload.data, payload.len);
    buf_deinit(&payload);
}

typedef struct restore_opts {
    int replace, absttl;
    long long idle; /* -1: none */
    long long freq; /* -1: none */
} restore_opts;

/* Parses REPLACE, ABSTTL, IDLETIME n, FREQ n (IDLETIME and FREQ exclude each other, as in
 * Redis: the second one is a syntax error). Returns 0, or -1 after replying. */
static int parse_opts(cmd_ctx *c, restore_opts *o) {
    *o = (restore_opts){0, 0, -1, -1};
    for (int j = 4; j < c->argc; j++) {
        int more = c->argc - j - 1;
        if (slice_eq_ci(c->argv[j], "REPLACE")) {
            o->replace = 1;
        } else if (slice_eq_ci(c->argv[j], "ABSTTL")) {
            o->absttl = 1;
        } else if (slice_eq_ci(c->argv[j], "IDLETIME") && more >= 1 && o->freq == -1) {
            if (arg_ll(c, c->argv[j + 1], &o->idle) < 0) return -1;
            if (o->idle < 0) {
                reply_error(c, "ERR Invalid IDLETIME value, must be >= 0");
                return -1;
            }
            j++;
        } else if (slice_eq_ci(c->argv[j], "FREQ") && more >= 1 && o->idle == -1) {
            if (arg_ll(c, c->argv[j + 1], &o->freq) < 0) return -1;
            if (o->freq < 0 || o->freq > 255) {
                reply_error(c, "ERR Invalid FREQ value, must be >= 0 and <= 255");
                return -1;
            }
            j++;
        } else {
            reply_syntax_error(c);
            return -1;
        }
    }
    return 0;
}

/* Propagates the command with its TTL made absolute (… <abs ms> … ABSTTL). */
static void propagate_absolute(cmd_ctx *c, long long when_ms) {
    slice argv[16];
    char tmp[STRCONV_LL_MAX];
    int n = 0;
    for (int i = 0; i < c->argc && n < 15; i++)
        argv[n++] = i == 2 ? propagate_ll(tmp, when_ms) : c->argv[i];
    argv[n++] = slice_of("ABSTTL");
    propagate_argv(c, n, argv);
}

/* RESTORE's last step, once the payload decoded into val (NULL: a hash with every field
 * gone): drops the key REPLACE replaces, then stores val with its TTL, or nothing when it
 * is already due (then a replaced key is deleted). */
static void restore_value(cmd_ctx *c, const restore_opts *o, slice key, long long ttl, obj *val) {
    const dbentry *prev = o->replace ? db_find(c->db, key, c->now_ms) : NULL;
    int old_type = prev ? prev->val->type : -1;
    int deleted = o->replace && db_delete(c->db, key, c->now_ms);
    if (ttl && !o->absttl) ttl += c->now_ms;
    /* Already expired (or a hash whose every field has): nothing is created. */
    if ((ttl && ttl <= c->now_ms) || !val) {
        if (val) obj_free(val);
        if (deleted) {
            db_touch(c->db, key);
            notify_keyspace_event(NOTIFY_GENERIC, "del", key, c->db->id);
            propagate_del(c, key);
        } else {
            propagate_none(c);
        }
        reply_ok(c);
        return;
    }
    /* IDLETIME under an LRU policy, FREQ under an LFU one (the other is ignored, as in
     * Redis's objectSetLRUOrLFU). */
    long long clk = evict_clock_restore(o->idle, o->freq, c->now_ms);
    if (clk >= 0) val->lru = (uint32_t)clk;
    dbentry *e = db_add_expire(c->db, key, val, ttl);
    if (ttl && !o->absttl) propagate_absolute(c, ttl);
    db_touch(c->db, key);
    notify_keyspace_event(NOTIFY_GENERIC, "restore", key, c->db->id);
    if (deleted) notify_overwritten(key, c->db->id, old_type, e->val->type);
    reply_ok(c);
}

static void cmd_restore(cmd_ctx *c) {
    restore_opts o;
    if (parse_opts(c, &o) < 0) return;
    slice key = c->argv[1];
    if (!o.replace && db_find(c->db, key, c->now_ms)) {
        reply_error(c, "BUSYKEY Target key name already exists.");
        return;
    }
    long long ttl;
    if (arg_ll(c, c->argv[2], &ttl) < 0) return;
    if (ttl < 0) {
        reply_error(c, "ERR Invalid TTL value, must be >= 0");
        return;
    }
    rdb_dec_opts ro = {
        .lim = {(size_t)config.hash_max_listpack_entries, (size_t)config.hash_max_listpack_value},
        .drop_before_ms = c->now_ms,
        .verify_checksum = 1,
        .databases = 1};
    obj *val;
    char err[256];
    int rc = rdb_load_payload(c->argv[3].p, c->argv[3].len, &ro, &val, NULL, err, sizeof(err));
    if (rc == RDB_EVERSION) {
        reply_error(c, "ERR DUMP payload version or checksum are wrong");
        return;
    }
    if (rc != RDB_OK) {
        reply_error(c, "ERR Bad data format");
        return;
    }
    restore_value(c, &o, key, ttl, val);
}

const cmd_spec cmd_family_dump[] = {
    {"dump", cmd_dump, 2, CMD_READONLY, 1, 1, 1, "generic", "2.6.0",
     "O(1) to access the key and additional O(N*M) to serialize it, where N is the number of "
     "Redis objects composing the value and M their average size. For small string values the "
     "time complexity is thus O(1)+O(1*M) where M is small, so simply O(1).",
     "Returns a serialized representation of the value stored at a key.", "key", NULL,
     "@keyspace @read @slow", KS_RO | KS_ACCESS},
    {"restore", cmd_restore, -4, CMD_WRITE | CMD_DENYOOM, 1, 1, 1, "generic", "2.6.0",
     "O(1) to create the new key and additional O(N*M) to reconstruct the serialized value, "
     "where N is the number of Redis objects composing the value and M their average size. For "
     "small string values the time complexity is thus O(1)+O(1*M) where M is small, so simply "
     "O(1). However for sorted set values the complexity is O(N*M*log(N)) because inserting "
     "values into sorted sets is O(log(N)).",
     "Creates a key from the serialized representation of a value.",
     "key ttl serialized-value [REPLACE] [ABSTTL] [IDLETIME seconds] [FREQ frequency]", NULL,
     "@keyspace @write @slow @dangerous", KS_OW | KS_UPDATE},
    /* MIGRATE's RESTORE in cluster mode: a node importing the key's slot takes it without
     * a preceding ASKING (the redirect gate honours CMD_ASKING). */
    {"restore-asking", cmd_restore, -4, CMD_WRITE | CMD_DENYOOM | CMD_ASKING, 1, 1, 1, "server",
     "3.0.0",
     "O(1) to create the new key and additional O(N*M) to reconstruct the serialized value, "
     "where N is the number of Redis objects composing the value and M their average size. For "
     "small string values the time complexity is thus O(1)+O(1*M) where M is small, so simply "
     "O(1). However for sorted set values the complexity is O(N*M*log(N)) because inserting "
     "values into sorted sets is O(log(N)).",
     "An internal command for migrating keys in a cluster.",
     "key ttl serialized-value [REPLACE] [ABSTTL] [IDLETIME seconds] [FREQ frequency]", NULL,
     "@keyspace @write @slow @dangerous", KS_OW | KS_UPDATE},
    {0},
};
