/* cmd_keys: the generic keyspace commands (DEL UNLINK EXISTS TYPE KEYS SCAN RANDOMKEY
 * RENAME RENAMENX COPY MOVE SWAPDB TOUCH OBJECT MEMORY), after Redis's db.c and object.c.
 *
 * Reads that only inspect a key (EXISTS, TYPE, OBJECT, MEMORY USAGE) leave its access time
 * alone, as Redis's LOOKUP_NOTOUCH does. KEYS skips expired keys without deleting them;
 * SCAN collects one cursor step's keys and then checks each one, reaping the expired ones,
 * so it keeps Redis's guarantee: every key present for the whole iteration is returned at
 * least once. */
#include "cmd/keyspace_int.h"
#include "cmd/memory_int.h"
#include "mayfly/client/notify.h"
#include "mayfly/cmd/cmd.h"
#include "mayfly/cmd/propagate.h"
#include "mayfly/config.h"
#include "mayfly/evict/evict.h"
#include "mayfly/util/glob.h"
#include "mayfly/util/mem.h"
#include "mayfly/util/strconv.h"

#include <limits.h>
#include <stdio.h>
#include <string.h>

/* DEL frees by lazyfree-lazy-user-del, UNLINK always lazily (big values on the lazy-free
 * thread). */
static void del_generic(cmd_ctx *c, enum db_free_why why) {
    long long n = 0;
    for (int j = 1; j < c->argc; j++) {
        if (db_delete_why(c->db, c->argv[j], c->now_ms, why)) {
            db_touch(c->db, c->argv[j]);
            notify_keyspace_event(NOTIFY_GENERIC, "del", c->argv[j], c->db->id);
            n++;
        }
    }
    reply_int(c, n);
}

static void cmd_del(cmd_ctx *c) {
    del_generic(c, DB_FREE_USER);
}
static void cmd_unlink(cmd_ctx *c) {
    del_generic(c, DB_FREE_UNLINK);
}

static void cmd_exists(cmd_ctx *c) {
    long long n = 0;
    for (int j = 1; j < c->argc; j++)
        if (db_lookup(c->db, c->argv[j], c->now_ms, DB_LOOKUP_NOTOUCH)) n++;
    reply_int(c, n);
}

static void cmd_type(cmd_ctx *c) {
    dbentry *e = db_lookup(c->db, c->argv[1], c->now_ms, DB_LOOKUP_NOTOUCH);
    reply_simple(c, e ? obj_type_name(e->val) : "none");
}

static void cmd_touch(cmd_ctx *c) {
    long long n = 0;
    for (int j = 1; j < c->argc; j++)
        if (db_lookup(c->db, c->argv[j], c->now_ms, 0)) n++;
    reply_int(c, n);
}

static void cmd_keys(cmd_ctx *c) {
    slice pat = c->argv[1];
    int all = pat.len == 1 && pat.p[0] == '*';
    size_t mark = reply_defer(c);
    size_t n = 0;
    dict_iter it;
    dict_iter_init(&it, &c->db->keys);
    dict_node *node;
    while ((node = dict_iter_next(&it)) != NULL) {
        dbentry *e = (dbentry *)node;
        if (!all && !glob_match(pat.p, pat.len, e->key, e->klen, 0)) continue;
        if (!db_entry_live(e, c->now_ms)) continue;
        reply_bulk(c, e->key, e->klen);
        n++;
        if (reply_aborted(c)) break;
    }
    dict_iter_deinit(&it);
    reply_defer_array(c, mark, n);
}

/* Keys gathered by one SCAN call: lengths and bytes packed in a buffer, because the
 * entries may be reaped (freed) while they are checked. */
typedef struct scan_batch {
    buf keys; /* [size_t len][bytes]... */
    size_t count;
    slice pat;
    int use_pat;
} scan_batch;

static void scan_collect(dbentry *e, void *arg) {
    scan_batch *sb = arg;
    if (sb->use_pat && !glob_match(sb->pat.p, sb->pat.len, e->key, e->klen, 0)) return;
    size_t len = e->klen;
    buf_append(&sb->keys, &len, sizeof(len));
    buf_append(&sb->keys, e->key, len);
    sb->count++;
}

/* Whether SCAN's TYPE names a type Redis knows (whether or not Mayfly stores it). */
static int scan_type_known(slice t) {
    static const char *const names[] = {"string", "list", "set", "zset", "hash", "stream"};
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        if (slice_eq_ci(t, names[i])) return 1;
    return 0;
}

/* SCAN's options after the cursor; returns -1 after replying an error. */
static int scan_options(cmd_ctx *c, long long *count, slice *type, scan_batch *sb) {
    for (int j = 2; j < c->argc; j += 2) {
        slice o = c->argv[j];
        int has_value = j + 1 < c->argc;
        if (slice_eq_ci(o, "COUNT") && has_value) {
            if (arg_ll(c, c->argv[j + 1], count) < 0) return -1;
            if (*count < 1) {
                reply_syntax_error(c);
                return -1;
            }
        } else if (slice_eq_ci(o, "MATCH") && has_value) {
            sb->pat = c->argv[j + 1];
            sb->use_pat = !(sb->pat.len == 1 && sb->pat.p[0] == '*');
        } else if (slice_eq_ci(o, "TYPE") && has_value) {
            *type = c->argv[j + 1];
            if (!scan_type_known(*type)) {
                /* As Redis 8 ("none" included: it names no stored type). */
                reply_errorf(c, "ERR unknown type name '%.*s'", (int)type->len, type->p);
                return -1;
            }
        } else if (slice_eq_ci(o, "NOVALUES")) {
            reply_error(c, "ERR NOVALUES option can only be used in HSCAN");
            return -1;
        } else {
            reply_syntax_error(c);
            return -1;
        }
    }
    return 0;
}

static void cmd_scan(cmd_ctx *c) {
    unsigned long long cursor;
    if (arg_cursor(c, c->argv[1], &cursor) < 0) return;
    long long count = 10;
    slice type = {NULL, 0};
    scan_batch sb = {.use_pat = 0};
    if (scan_options(c, &count, &type, &sb) < 0) return;
    propagate_unwrapped(c);
    buf_init(&sb.keys);
    /* As Redis: up to count*10 steps, so a sparse table still answers in bounded time. */
    long long steps = count > LLONG_MAX / 10 ? LLONG_MAX : count * 10;
    do {
        cursor = db_scan(c->db, cursor, scan_collect, &sb);
    } while (cursor && --steps > 0 && (long long)sb.count < count);

    reply_array(c, 2);
    char cur[STRCONV_LL_MAX + 1];
    size_t clen = (size_t)snprintf(cur, sizeof(cur), "%llu", cursor);
    reply_bulk(c, cur, clen);
    size_t mark = reply_defer(c);
    size_t n = 0;
    for (size_t off = 0; off < sb.keys.len;) {
        size_t len;
        memcpy(&len, sb.keys.data + off, sizeof(len));
        slice key = {sb.keys.data + off + sizeof(len), len};
        off += sizeof(len) + len;
        dbentry *e = db_find(c->db, key, c->now_ms);
        if (!e) continue;
        if (type.p && !slice_eq_ci(type, obj_type_name(e->val))) continue;
        reply_bulk(c, key.p, key.len);
        n++;
    }
    reply_defer_array(c, mark, n);
    buf_deinit(&sb.keys);
}

static void cmd_randomkey(cmd_ctx *c) {
    propagate_unwrapped(c);
    dbentry *e = db_random(c->db, c->now_ms);
    if (!e)
        reply_null(c);
    else
        reply_bulk(c, e->key, e->klen);
}

/* Moves the value of e (in src) to key in dst, with its TTL. */
static void move_entry(db *src, dbentry *e, db *dst, slice key) {
    int64_t ttl = db_entry_expire(e);
    obj *val = db_take_value(src, e);
    db_add_expire(dst, key, val, ttl);
}

static void rename_generic(cmd_ctx *c, int nx) {
    slice from = c->argv[1], to = c->argv[2];
    dbentry *e = db_find(c->db, from, c->now_ms);
    if (!e) {
        reply_error(c, ERR_NO_KEY);
        return;
    }
    if (slice_eq(from, to)) {
        if (nx)
            reply_int(c, 0);
        else
            reply_ok(c);
        return;
    }
    dbentry *old = db_find(c->db, to, c->now_ms);
    int old_type = old ? old->val->type : -1, type = e->val->type;
    if (old) {
        if (nx) {
            reply_int(c, 0);
            return;
        }
        db_delete_entry(c->db, old);
    }
    move_entry(c->db, e, c->db, to);
    db_touch(c->db, from);
    db_touch(c->db, to);
    notify_keyspace_event(NOTIFY_GENERIC, "rename_from", from, c->db->id);
    notify_keyspace_event(NOTIFY_GENERIC, "rename_to", to, c->db->id);
    if (old) notify_overwritten(to, c->db->id, old_type, type);
    if (nx)
        reply_int(c, 1);
    else
        reply_ok(c);
}

static void cmd_rename(cmd_ctx *c) {
    rename_generic(c, 0);
}
static void cmd_renamenx(cmd_ctx *c) {
    rename_generic(c, 1);
}

/* Parses a database index as Redis's getIntFromObjectOrReply + selectDb: replies
 * not_int (or ERR_NOT_INT) if it is not an int, "ERR DB index is out of range" if no such
 * database. Returns the database or NULL. */
static db *arg_db(cmd_ctx *c, slice a, const char *not_int) {
    long long id;
    if (str_to_ll(a.p, a.len, &id) < 0 || id < INT_MIN || id > INT_MAX) {
        reply_error(c, not_int ? not_int : ERR_NOT_INT);
        return NULL;
    }
    if (id < 0 || id >= db_count()) {
        reply_error(c, "ERR DB index is out of range");
        return NULL;
    }
    return db_get((int)id);
}

static void cmd_copy(cmd_ctx *c) {
    db *dst = c->db;
    int replace = 0;
    for (int j = 3; j < c->argc; j++) {
        if (slice_eq_ci(c->argv[j], "REPLACE")) {
            replace = 1;
        } else if (slice_eq_ci(c->argv[j], "DB") && j + 1 < c->argc) {
            dst = arg_db(c, c->argv[j + 1], NULL);
            if (!dst) return;
            j++;
        } else {
            reply_syntax_error(c);
            return;
        }
    }
    slice from = c->argv[1], to = c->argv[2];
    if (dst == c->db && slice_eq(from, to)) {
        reply_error(c, "ERR source and destination objects are the same");
        return;
    }
    dbentry *e = db_find(c->db, from, c->now_ms);
    if (!e) {
        reply_int(c, 0);
        return;
    }
    dbentry *old = db_find(dst, to, c->now_ms);
    int old_type = old ? old->val->type : -1;
    if (old) {
        if (!replace) {
            reply_int(c, 0);
            return;
        }
        db_delete_entry(dst, old);
    }
    dbentry *ne = db_add_expire(dst, to, obj_dup(e->val), db_entry_expire(e));
    db_touch(dst, to);
    notify_keyspace_event(NOTIFY_GENERIC, "copy_to", to, dst->id);
    if (old) notify_overwritten(to, dst->id, old_type, ne->val->type);
    reply_int(c, 1);
}

static void cmd_move(cmd_ctx *c) {
    db *dst = arg_db(c, c->argv[2], NULL);
    if (!dst) return;
    if (dst == c->db) {
        reply_error(c, "ERR source and destination objects are the same");
        return;
    }
    slice key = c->argv[1];
    dbentry *e = db_find(c->db, key, c->now_ms);
    if (!e || db_find(dst, key, c->now_ms)) {
        reply_int(c, 0);
        return;
    }
    move_entry(c->db, e, dst, key);
    db_touch(c->db, key);
    db_touch(dst, key);
    notify_keyspace_event(NOTIFY_GENERIC, "move_from", key, c->db->id);
    notify_keyspace_event(NOTIFY_GENERIC, "move_to", key, dst->id);
    reply_int(c, 1);
}

static void cmd_swapdb(cmd_ctx *c) {
    long long a, b;
    if (str_to_ll(c->argv[1].p, c->argv[1].len, &a) < 0 || a < INT_MIN || a > INT_MAX) {
        reply_error(c, "ERR invalid first DB index");
        return;
    }
    if (str_to_ll(c->argv[2].p, c->argv[2].len, &b) < 0 || b < INT_MIN || b > INT_MAX) {
        reply_error(c, "ERR invalid second DB index");
        return;
    }
    if (a < 0 || a >= db_count() || b < 0 || b >= db_count()) {
        reply_error(c, "ERR DB index is out of range");
        return;
    }
    db_swap(db_get((int)a), db_get((int)b));
    db_stat.dirty++;
    reply_ok(c);
}

/* ---- OBJECT ---- */

void reply_help_lines(cmd_ctx *c, const char *cmd, const char *const *lines) {
    size_t n = 0;
    while (lines[n])
        n++;
    reply_array(c, n + 3);
    char head[128];
    snprintf(head, sizeof(head),
             "%s <subcommand> [<arg> [value] [opt] ...]. Subcommands are:", cmd);
    reply_simple(c, head);
    for (size_t i = 0; i < n; i++)
        reply_simple(c, lines[i]);
    reply_simple(c, "HELP");
    reply_simple(c, "    Print this help.");
}

/* The key of an OBJECT or MEMORY subcommand, or NULL after replying nil. */
static dbentry *inspect_key(cmd_ctx *c) {
    dbentry *e = db_lookup(c->db, c->argv[2], c->now_ms, DB_LOOKUP_NOTOUCH);
    if (!e) reply_null(c);
    return e;
}

static void object_encoding(cmd_ctx *c) {
    dbentry *e = inspect_key(c);
    if (e) reply_bulk_cstr(c, obj_enc_name(e->val));
}

static void object_refcount(cmd_ctx *c) {
    dbentry *e = inspect_key(c);
    if (e) reply_int(c, (e->val->flags & OBJF_SHARED) ? INT_MAX : 1);
}

static void object_idletime(cmd_ctx *c) {
    dbentry *e = inspect_key(c);
    if (!e) return;
    if (evict_policy_is_lfu(config.maxmemory_policy)) {
        reply_error(c, "ERR An LFU maxmemory policy is selected, idle time not tracked. Please "
                       "note that when switching between policies at runtime LRU and LFU data "
                       "will take some time to adjust.");
        return;
    }
    reply_int(c, evict_idle_seconds(db_entry_lru(e), c->now_ms));
}

static void object_freq(cmd_ctx *c) {
    dbentry *e = inspect_key(c);
    if (!e) return;
    if (!evict_policy_is_lfu(config.maxmemory_policy)) {
        reply_error(c, "ERR An LFU maxmemory policy is not selected, access frequency not "
                       "tracked. Please note that when switching between policies at runtime "
                       "LRU and LFU data will take some time to adjust.");
        return;
    }
    /* The counter after the decay due now (not stored: only an access updates it). */
    reply_int(c, evict_lfu_freq(db_entry_lru(e), c->now_ms));
}

static void object_help(cmd_ctx *c) {
    static const char *const lines[] = {
        "ENCODING <key>",
        "    Return the kind of internal representation used in order to store the value",
        "    associated with a <key>.",
        "FREQ <key>",
        "    Return the access frequency index of the <key>. The returned integer is",
        "    proportional to the logarithm of the recent access frequency of the key.",
        "IDLETIME <key>",
        "    Return the idle time of the <key>, that is the approximated number of",
        "    seconds elapsed since the last access to the key.",
        "REFCOUNT <key>",
        "    Return the number of references of the value associated with the specified",
        "    <key>.",
        NULL};
    reply_help_lines(c, "OBJECT", lines);
}

#define KEY_RO (CMD_READONLY)
#define OBJ_ROW(n, fn, summary)                                                                    \
    {                                                                                              \
        n, fn, 3, KEY_RO, 2, 2, 1, "generic", "2.2.3", "O(1)", summary, "key", NULL,               \
            "@keyspace @read @slow", KS_RO                                                         \
    }

static const cmd_spec object_subcmds[] = {
    OBJ_ROW("encoding", object_encoding, "Returns the internal encoding of a Redis object."),
    OBJ_ROW("refcount", object_refcount, "Returns the reference count of a value of a key."),
    OBJ_ROW("idletime", object_idletime,
            "Returns the time since the last access to a Redis object."),
    {"freq", object_freq, 3, KEY_RO, 2, 2, 1, "generic", "4.0.0", "O(1)",
     "Returns the logarithmic access frequency counter of a Redis object.", "key", NULL,
     "@keyspace @read @slow", KS_RO},
    {"help", object_help, 2, CMD_LOADING | CMD_STALE, 0, 0, 0, "generic", "6.2.0", "O(1)",
     "Returns helpful text about the different subcommands.", "", NULL, "@keyspace @slow"},
    {0},
};

#define WR (CMD_WRITE)

/* Key specs of the two-key commands: the source is read (COPY) or moved away (RENAME), the
 * destination overwritten (or only created, RENAMENX). */
static const cmd_key_spec copy_keys[] = {
    KS_RANGE(KS_RO | KS_ACCESS, 1, 0, 1),
    KS_RANGE(KS_OW | KS_UPDATE, 2, 0, 1),
    {0},
};
static const cmd_key_spec rename_keys[] = {
    KS_RANGE(KS_RW | KS_ACCESS | KS_DELETE, 1, 0, 1),
    KS_RANGE(KS_OW | KS_UPDATE, 2, 0, 1),
    {0},
};
static const cmd_key_spec renamenx_keys[] = {
    KS_RANGE(KS_RW | KS_ACCESS | KS_DELETE, 1, 0, 1),
    KS_RANGE(KS_OW | KS_INSERT, 2, 0, 1),
    {0},
};

const cmd_spec cmd_family_keys[] = {
    {"del", cmd_del, -2, WR, 1, -1, 1, "generic", "1.0.0",
     "O(N) where N is the number of keys that will be removed.", "Deletes one or more keys.",
     "key [key ...]", NULL, "@keyspace @write @slow", KS_RM | KS_DELETE},
    {"unlink", cmd_unlink, -2, WR | CMD_FAST, 1, -1, 1, "generic", "4.0.0",
     "O(1) for each key removed regardless of its size.",
     "Asynchronously deletes one or more keys.", "key [key ...]", NULL, "@keyspace @write @fast",
     KS_RM | KS_DELETE},
    {"exists", cmd_exists, -2, KEY_RO | CMD_FAST, 1, -1, 1, "generic", "1.0.0",
     "O(N) where N is the number of keys to check.", "Determines whether one or more keys exist.",
     "key [key ...]", NULL, "@keyspace @read @fast", KS_RO},
    {"type", cmd_type, 2, KEY_RO | CMD_FAST, 1, 1, 1, "generic", "1.0.0", "O(1)",
     "Determines the type of value stored at a key.", "key", NULL, "@keyspace @read @fast", KS_RO},
    {"touch", cmd_touch, -2, KEY_RO | CMD_FAST, 1, -1, 1, "generic", "3.2.1",
     "O(N) where N is the number of keys that will be touched.",
     "Returns the number of existing keys out of those specified after updating the time they "
     "were last accessed.",
     "key [key ...]", NULL, "@keyspace @read @fast", KS_RO},
    {"keys", cmd_keys, 2, KEY_RO, 0, 0, 0, "generic", "1.0.0",
     "O(N) with N being the number of keys in the database, under the assumption that the key "
     "names in the database and the given pattern have limited length.",
     "Returns all key names that match a pattern.", "pattern", NULL,
     "@keyspace @read @slow @dangerous"},
    {"scan", cmd_scan, -2, KEY_RO, 0, 0, 0, "generic", "2.8.0",
     "O(1) for every call. O(N) for a complete iteration, including enough command calls for "
     "the cursor to return back to 0. N is the number of elements inside the collection.",
     "Iterates over the key names in the database.",
     "cursor [MATCH pattern] [COUNT count] [TYPE type]", NULL, "@keyspace @read @slow"},
    {"randomkey", cmd_randomkey, 1, KEY_RO, 0, 0, 0, "generic", "1.0.0", "O(1)",
     "Returns a random key name from the database.", "", NULL, "@keyspace @read @slow"},
    {"rename", cmd_rename, 3, WR, 1, 2, 1, "generic", "1.0.0", "O(1)",
     "Renames a key and overwrites the destination.", "key newkey", NULL, "@keyspace @write @slow",
     0, rename_keys},
    {"renamenx", cmd_renamenx, 3, WR | CMD_FAST, 1, 2, 1, "generic", "1.0.0", "O(1)",
     "Renames a key only when the target key name doesn't exist.", "key newkey", NULL,
     "@keyspace @write @fast", 0, renamenx_keys},
    {"copy", cmd_copy, -3, WR | CMD_DENYOOM, 1, 2, 1, "generic", "6.2.0",
     "O(N) worst case for collections, where N is the number of nested items. O(1) for string "
     "values.",
     "Copies the value of a key to a new key.", "source destination [DB destination-db] [REPLACE]",
     NULL, "@keyspace @write @slow", 0, copy_keys},
    {"move", cmd_move, 3, WR | CMD_FAST, 1, 1, 1, "generic", "1.0.0", "O(1)",
     "Moves a key to another database.", "key db", NULL, "@keyspace @write @fast",
     KS_RW | KS_ACCESS | KS_UPDATE},
    {"swapdb", cmd_swapdb, 3, WR | CMD_FAST, 0, 0, 0, "server", "4.0.0",
     "O(N) where N is the count of clients watching or blocking on keys from both databases.",
     "Swaps two Redis databases.", "index1 index2", NULL, "@keyspace @write @fast @dangerous"},
    {"object", NULL, -2, 0, 0, 0, 0, "generic", "2.2.3", "Depends on subcommand.",
     "A container for object introspection commands.", "", object_subcmds, "@slow"},
    {"memory", NULL, -2, 0, 0, 0, 0, "server", "4.0.0", "Depends on subcommand.",
     "A container for memory diagnostics commands.", "", memory_subcmds, "@slow"},
    {0},
};
