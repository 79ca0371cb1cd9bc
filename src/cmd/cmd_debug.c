/* cmd_debug: DEBUG, test aids. DEBUG SLEEP blocks the loop (as Redis); DEBUG
 * SET-ACTIVE-EXPIRE turns the active-expiry cycle off and on; DEBUG CLOCK-OFFSET (Mayfly
 * only) shifts the server's wall clock so that TTL tests need not sleep; DEBUG
 * AOF-WRITE-ERROR (Mayfly only) makes the append-only log's writes fail as on a full disk,
 * so that -MISCONF and the recovery can be tested; DEBUG EXPIRE-MODE (Mayfly only) switches
 * the keyspace to a replica's expiry (due keys and fields hidden, never deleted) and back;
 * DEBUG POPULATE fills a database as Redis's does; DEBUG DIGEST / DIGEST-VALUE are Redis's dataset
 * digests (the same SHA-1 mixing, so equal datasets give Redis's own digest), over every stored key
 * and field, those past their TTL but not yet reaped included, as Redis; DEBUG OBJECT and
 * DEBUG PROTOCOL give Redis's key summary and a reply of each RESP type; DEBUG REPLICATE
 * sends a command to the replicas alone. */
#include "mayfly/cmd/cmd.h"
#include "mayfly/cmd/host.h"
#include "mayfly/cmd/propagate.h"
#include "mayfly/config.h"
#include "mayfly/db/db.h"
#include "mayfly/evict/evict.h"
#include "mayfly/rdb/rdb.h"
#include "mayfly/resp/resp.h"
#include "mayfly/types/hash.h"
#include "mayfly/types/string.h"
#include "mayfly/util/clock.h"
#include "mayfly/util/log.h"
#include "mayfly/util/mem.h"
#include "mayfly/util/sha1.h"
#include "mayfly/util/strconv.h"

#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define DEBUG_SLEEP_MAX 1e9 /* seconds */
/* The most a clock offset may shift the wall clock (about 3,000 years either way), so that
 * every deadline computed from it (now + ttl, microseconds) stays far from overflow. */
#define CLOCK_OFFSET_MAX_MS 100000000000000LL

static void debug_sleep(cmd_ctx *c) {
    double secs;
    if (arg_double(c, c->argv[2], &secs) < 0) return;
    /* Redis converts to microseconds unchecked (undefined past 9.2e12 s); a sleep past
     * DEBUG_SLEEP_MAX (about 31 years) is refused instead. */
    if (secs > DEBUG_SLEEP_MAX) {
        reply_error(c, "ERR sleep time is out of range");
        return;
    }
    if (secs > 0) {
        struct timespec ts = {(time_t)secs, (long)((secs - (double)(time_t)secs) * 1e9)};
        nanosleep(&ts, NULL);
    }
    reply_ok(c);
}

static void debug_set_active_expire(cmd_ctx *c) {
    long long on;
    if (arg_ll(c, c->argv[2], &on) < 0) return;
    config.active_expire = on != 0;
    reply_ok(c);
}

/* DEBUG LOG <message>: a line in the server's log (tests mark their steps with it). The
 * message is cut at a NUL byte, as Redis prints it with %s. */
static void debug_log(cmd_ctx *c) {
    slice m = c->argv[2];
    const char *nul = memchr(m.p, '\0', m.len);
    log_warning("DEBUG LOG: %.*s", (int)(nul ? (size_t)(nul - m.p) : m.len), m.p);
    reply_ok(c);
}

static void debug_clock_offset(cmd_ctx *c) {
    long long ms;
    if (c->argc == 2) {
        reply_int(c, clock_get_offset_ms());
        return;
    }
    if (arg_ll(c, c->argv[2], &ms) < 0) return;
    if (ms > CLOCK_OFFSET_MAX_MS || ms < -CLOCK_OFFSET_MAX_MS ||
        clock_now_ms() - clock_get_offset_ms() + ms < 0) {
        reply_error(c, "ERR clock offset is out of range");
        return;
    }
    clock_set_offset_ms(ms);
    reply_ok(c);
}

static void debug_aof_write_error(cmd_ctx *c) {
    long long on;
    if (arg_ll(c, c->argv[2], &on) < 0) return;
    if (host.aof_write_fault) host.aof_write_fault(on ? ENOSPC : 0);
    reply_ok(c);
}

/* DEBUG AOF-FLUSH-SLEEP <microsec>: the number is read as C's atoi reads it, as Redis does
 * (no error; what is not a number is 0). */
static void debug_aof_flush_sleep(cmd_ctx *c) {
    char num[32];
    slice a = c->argv[2];
    snprintf(num, sizeof(num), "%.*s", (int)(a.len < sizeof(num) ? a.len : sizeof(num) - 1), a.p);
    if (host.aof_flush_sleep) host.aof_flush_sleep(atoi(num));
    reply_ok(c);
}

static void debug_expire_mode(cmd_ctx *c) {
    if (c->argc == 2) {
        reply_bulk_cstr(c, db_get_expire_mode() == DB_EXPIRE_HIDE ? "hide" : "reap");
        return;
    }
    if (c->argc != 3) {
        reply_arity_error(c);
        return;
    }
    if (slice_eq_ci(c->argv[2], "reap"))
        db_set_expire_mode(DB_EXPIRE_REAP);
    else if (slice_eq_ci(c->argv[2], "hide"))
        db_set_expire_mode(DB_EXPIRE_HIDE);
    else {
        reply_syntax_error(c);
        return;
    }
    reply_ok(c);
}

/* ---- DEBUG DIGEST, DIGEST-VALUE: Redis's digest of a dataset ---- */

/* Redis's type numbers, which the digest mixes in (OBJ_STRING 0, OBJ_HASH 4). */
#define DIGEST_TYPE_STRING 0u
#define DIGEST_TYPE_HASH 4u

/* d ^= SHA1(p): order does not matter (Redis's xorDigest). */
static void digest_xor(unsigned char d[20], const void *p, size_t len) {
    unsigned char h[20];
    sha1_ctx ctx;
    sha1_init(&ctx);
    sha1_update(&ctx, p, len);
    sha1_final(&ctx, h);
    for (int i = 0; i < 20; i++)
        d[i] ^= h[i];
}

/* d = SHA1(d ^ SHA1(p)): order matters (Redis's mixDigest). */
static void digest_mix(unsigned char d[20], const void *p, size_t len) {
    digest_xor(d, p, len);
    sha1_ctx ctx;
    sha1_init(&ctx);
    sha1_update(&ctx, d, 20);
    sha1_final(&ctx, d);
}

static void digest_u32(unsigned char d[20], uint32_t v) {
    unsigned char be[4] = {(unsigned char)(v >> 24), (unsigned char)(v >> 16),
                           (unsigned char)(v >> 8), (unsigned char)v};
    digest_mix(d, be, sizeof(be));
}

/* Mixes the value of e into d (Redis's xorObjectDigest): type, contents, then whether the
 * key has a TTL. Fields past their TTL count as long as they are stored. */
static void digest_value(unsigned char d[20], const dbentry *e) {
    if (e->val->type == OBJ_STRING) {
        char tmp[STRCONV_LL_MAX];
        slice v = string_bytes((const string *)e->val, tmp);
        digest_u32(d, DIGEST_TYPE_STRING);
        digest_mix(d, v.p, v.len);
    } else {
        digest_u32(d, DIGEST_TYPE_HASH);
        hash_iter it;
        hash_entry f;
        hash_iter_init(&it, (hash *)e->val, INT64_MIN);
        while (hash_iter_next(&it, &f)) {
            unsigned char fd[20] = {0};
            digest_mix(fd, f.field.p, f.field.len);
            digest_mix(fd, f.value.p, f.value.len);
            if (f.deadline != HASH_NO_TTL) digest_xor(fd, "!!hexpire!!", 11);
            digest_xor(d, fd, sizeof(fd));
        }
        hash_iter_deinit(&it);
    }
    if (db_entry_expire(e) != 0) digest_xor(d, "!!expire!!", 10);
}

/* Xors the digest of one key and its value into the dataset's (ctx). */
static void digest_entry(dbentry *e, void *ctx) {
    unsigned char kd[20] = {0};
    digest_mix(kd, e->key, e->klen);
    digest_value(kd, e);
    digest_xor(ctx, kd, sizeof(kd));
}

static void reply_digest(cmd_ctx *c, const unsigned char d[20]) {
    char hex[41];
    for (int i = 0; i < 20; i++)
        snprintf(hex + 2 * i, 3, "%02x", d[i]);
    reply_simple(c, hex);
}

/* Each database that holds keys mixes in its number, then xors in its keys' digests (so
 * the order of a table does not matter, and the same data in another database differs). */
static void debug_digest(cmd_ctx *c) {
    unsigned char total[20] = {0};
    for (int id = 0; id < db_count(); id++) {
        db *d = db_get(id);
        if (db_size(d) == 0) continue;
        digest_u32(total, (uint32_t)id);
        db_foreach(d, digest_entry, total);
    }
    reply_digest(c, total);
}

/* One digest a key, of its value alone (zeros for a missing key); a key past its TTL but
 * still stored counts, as in Redis. */
static void debug_digest_value(cmd_ctx *c) {
    reply_array(c, (size_t)c->argc - 2);
    for (int j = 2; j < c->argc; j++) {
        unsigned char d[20] = {0};
        dbentry *e = db_find_raw(c->db, c->argv[j]);
        if (e) digest_value(d, e);
        reply_digest(c, d);
    }
}

/* ---- DEBUG POPULATE ---- */

/* A count or size argument: an integer >= 0, one error for anything else (Redis's
 * getPositiveLongFromObjectOrReply). */
static int arg_non_negative(cmd_ctx *c, slice a, long long *out) {
    return arg_ll_range(c, a, 0, LLONG_MAX, "ERR value is out of range, must be positive", out);
}

/* DEBUG POPULATE count [prefix] [size]: adds prefix:0 .. prefix:count-1 (prefix "key")
 * holding "value:<n>", or that text cut or padded with zero bytes to size; keys that exist
 * are left alone. Redis's names and values (keys of at most 127 bytes, as its buffer). */
static void debug_populate(cmd_ctx *c) {
    long long count, size = 0;
    if (c->argc > 5) {
        reply_arity_error(c);
        return;
    }
    if (arg_non_negative(c, c->argv[2], &count) < 0) return;
    if (c->argc == 5 && arg_non_negative(c, c->argv[4], &size) < 0) return;
    slice prefix = c->argc >= 4 ? c->argv[3] : slice_of("key");
    char *val = size ? mem_calloc(1, (size_t)size) : NULL;
    for (long long j = 0; j < count; j++) {
        char key[128], text[64];
        int klen = snprintf(key, sizeof(key), "%.*s:%lld", (int)prefix.len, prefix.p, j);
        slice k = {key, klen < (int)sizeof(key) ? (size_t)klen : sizeof(key) - 1};
        if (db_find(c->db, k, c->now_ms)) continue;
        size_t tlen = (size_t)snprintf(text, sizeof(text), "value:%lld", j);
        string *v;
        if (size) {
            memcpy(val, text, tlen < (size_t)size ? tlen : (size_t)size);
            v = string_new_text(val, (size_t)size);
        } else {
            v = string_new_text(text, tlen);
        }
        db_add(c->db, k, &v->hdr);
        db_touch(c->db, k);
    }
    mem_free(val);
    reply_ok(c);
}

/* DEBUG RELOAD [MERGE] [NOFLUSH] [NOSAVE]: save, empty, load the snapshot again (persist/
 * does it, through host.debug_reload). */
static void debug_reload(cmd_ctx *c) {
    int save = 1, flush = 1, merge = 0;
    for (int j = 2; j < c->argc; j++) {
        if (slice_eq_ci(c->argv[j], "MERGE")) {
            merge = 1;
        } else if (slice_eq_ci(c->argv[j], "NOFLUSH")) {
            flush = 0;
        } else if (slice_eq_ci(c->argv[j], "NOSAVE")) {
            save = 0;
        } else {
            reply_error(c, "ERR DEBUG RELOAD only supports the MERGE, NOFLUSH and NOSAVE options.");
            return;
        }
    }
    const char *msg = "ERR";
    if (!host.debug_reload || host.debug_reload(save, flush, merge, &msg) < 0) {
        reply_error(c, msg);
        return;
    }
    reply_ok(c);
}

/* ---- DEBUG OBJECT, DEBUG PROTOCOL, DEBUG REPLICATE ---- */

/* DEBUG REPLICATE <command> [arg ...]: sends a command to the replicas only, unchecked and
 * not run here (so that a test can make a replica's data diverge, or its stream fail). */
static void debug_replicate(cmd_ctx *c) {
    propagate_repl(c, c->argc - 2, c->argv + 2);
    reply_ok(c);
}

/* DEBUG OBJECT key: Redis's one-line summary of a stored value, found whether or not its
 * TTL has passed (as Redis's dbFind): its address, refcount (as OBJECT REFCOUNT), encoding
 * (as OBJECT ENCODING), the length of its RDB serialization (the DUMP payload without its
 * type byte and 10-byte footer), the access clock's low 24 bits and the idle seconds (0
 * under an LFU policy, whose clock holds no access time). */
static void debug_object(cmd_ctx *c) {
    dbentry *e = db_find_raw(c->db, c->argv[2]);
    if (!e) {
        reply_error(c, "ERR no such key");
        return;
    }
    buf payload;
    buf_init(&payload);
    rdb_dump_payload(&payload, e->val, c->now_ms, config.rdbcompression);
    size_t serialized = payload.len > 11 ? payload.len - 11 : 0;
    buf_deinit(&payload);
    long long idle = evict_policy_is_lfu(config.maxmemory_policy)
                         ? 0
                         : evict_idle_seconds(db_entry_lru(e), c->now_ms);
    char line[256];
    snprintf(line, sizeof(line),
             "Value at:%p refcount:%d encoding:%s serializedlength:%zu lru:%u "
             "lru_seconds_idle:%lld",
             (void *)e->val, (e->val->flags & OBJF_SHARED) ? INT_MAX : 1, obj_enc_name(e->val),
             serialized, (unsigned)(db_entry_lru(e) & 0xFFFFFFu), idle);
    reply_simple(c, line);
}

/* DEBUG PROTOCOL attrib: an attribute (RESP3 only) before the reply it annotates. */
static void debug_protocol_attrib(cmd_ctx *c) {
    if (c->proto == 3) {
        buf_append(c->out, "|1\r\n", 4);
        reply_bulk_cstr(c, "key-popularity");
        reply_array(c, 2);
        reply_bulk_cstr(c, "key:123");
        reply_int(c, 90);
    }
    reply_bulk_cstr(c, "Some real reply following the attribute");
}

/* DEBUG PROTOCOL push: a push (RESP3 only) and then a reply, since a push is not one. */
static void debug_protocol_push(cmd_ctx *c) {
    if (c->proto != 3) {
        reply_error(c, "ERR RESP2 is not supported by this command");
        return;
    }
    resp_w_push(c->out, c->proto, 2);
    reply_bulk_cstr(c, "server-cpu-usage");
    reply_int(c, 42);
    reply_bulk_cstr(c, "Some real reply following the push reply");
}

/* The aggregates of DEBUG PROTOCOL: three integers 0..2 (array, set), or three integer
 * keys with a boolean each, true for 1 (map). */
static void debug_protocol_aggregate(cmd_ctx *c, char kind) {
    if (kind == 'a')
        reply_array(c, 3);
    else if (kind == 's')
        reply_set(c, 3);
    else
        reply_map(c, 3);
    for (int j = 0; j < 3; j++) {
        reply_int(c, j);
        if (kind == 'm') reply_bool(c, j == 1);
    }
}

/* DEBUG PROTOCOL <type>: one reply of each RESP type, with Redis's values, so that clients'
 * parsers can be tested. */
static void debug_protocol(cmd_ctx *c) {
    slice t = c->argv[2];
    if (slice_eq_ci(t, "string"))
        reply_bulk_cstr(c, "Hello World");
    else if (slice_eq_ci(t, "integer"))
        reply_int(c, 12345);
    else if (slice_eq_ci(t, "double"))
        reply_double(c, 3.141);
    else if (slice_eq_ci(t, "bignum"))
        resp_w_bignum(c->out, c->proto, "1234567999999999999999999999999999999");
    else if (slice_eq_ci(t, "null"))
        reply_null(c);
    else if (slice_eq_ci(t, "array"))
        debug_protocol_aggregate(c, 'a');
    else if (slice_eq_ci(t, "set"))
        debug_protocol_aggregate(c, 's');
    else if (slice_eq_ci(t, "map"))
        debug_protocol_aggregate(c, 'm');
    else if (slice_eq_ci(t, "attrib"))
        debug_protocol_attrib(c);
    else if (slice_eq_ci(t, "push"))
        debug_protocol_push(c);
    else if (slice_eq_ci(t, "true") || slice_eq_ci(t, "false"))
        reply_bool(c, slice_eq_ci(t, "true"));
    else if (slice_eq_ci(t, "verbatim"))
        reply_verbatim(c, "This is a verbatim\nstring", 25);
    else
        reply_error(c, "ERR Wrong protocol type name. Please use one of the following: "
                       "string|integer|double|bignum|null|array|set|map|attrib|push|verbatim|"
                       "true|false");
}

static void debug_help(cmd_ctx *c) {
    static const char *const lines[] = {
        "DEBUG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "SLEEP <seconds>",
        "    Stop the server for <seconds>. Decimals allowed.",
        "LOG <message>",
        "    Write <message> to the server log.",
        "SET-ACTIVE-EXPIRE <0|1>",
        "    Setting it to 0 disables expiring keys and fields in background.",
        "CLOCK-OFFSET [<milliseconds>]",
        "    Shift the server's wall clock by <milliseconds> (test aid; Mayfly only).",
        "AOF-FLUSH-SLEEP <microsec>",
        "    Server will sleep before flushing the AOF, this is used for testing.",
        "AOF-WRITE-ERROR <0|1>",
        "    1: every append-only file write fails with ENOSPC until 0 (test aid; Mayfly only).",
        "EXPIRE-MODE [REAP|HIDE]",
        "    HIDE: due keys and fields are hidden, never deleted, as on a replica; REAP: the",
        "    default (test aid; Mayfly only).",
        "POPULATE <count> [<prefix>] [<size>]",
        "    Add <count> string keys <prefix>:<n> (prefix 'key') holding value:<n>, cut or",
        "    padded to <size> bytes; existing keys are kept. Not propagated.",
        "DIGEST",
        "    Output a hex signature representing the current DB content.",
        "DIGEST-VALUE <key> [<key> ...]",
        "    Output a hex signature of the values of all the specified keys.",
        "OBJECT <key>",
        "    Show low level info about `key` and associated value.",
        "RELOAD [option ...]",
        "    Save the RDB on disk and reload it back to memory. Valid <option> values:",
        "    * MERGE: conflicting keys will be loaded from RDB.",
        "    * NOFLUSH: the existing database will not be removed before load, but",
        "      conflicting keys will generate an exception and kill the server.",
        "    * NOSAVE: the database will be loaded from an existing RDB file.",
        "    Examples:",
        "    * DEBUG RELOAD: verify that the server is able to persist, flush and reload",
        "      the database.",
        "    * DEBUG RELOAD NOSAVE: replace the current database with the contents of an",
        "      existing RDB file.",
        "    * DEBUG RELOAD NOSAVE NOFLUSH MERGE: add the contents of an existing RDB",
        "      file to the database.",
        "REPLICATE <string>",
        "    Replicates the provided string to replicas, allowing data divergence.",
        "PROTOCOL <type>",
        "    Reply with a test value of the specified type. <type> can be: string,",
        "    integer, double, bignum, null, array, set, map, attrib, push, verbatim,",
        "    true, false.",
        "HELP",
        "    Print this help.",
        NULL};
    reply_help(c, lines);
}

#define DBG (CMD_ADMIN | CMD_NOSCRIPT | CMD_LOADING | CMD_STALE | CMD_PROTECTED)

static const cmd_spec debug_subcmds[] = {
    {"sleep", debug_sleep, 3, DBG, 0, 0, 0, "server", "1.0.0", "O(1)", "Blocks the server.",
     "seconds", NULL, "@admin @slow @dangerous"},
    {"set-active-expire", debug_set_active_expire, 3, DBG, 0, 0, 0, "server", "1.0.0", "O(1)",
     "Turns active expiry off or on.", "<0|1>", NULL, "@admin @slow @dangerous"},
    {"log", debug_log, 3, DBG, 0, 0, 0, "server", "1.0.0", "O(1)",
     "Writes a message to the server log.", "message", NULL, "@admin @slow @dangerous"},
    {"clock-offset", debug_clock_offset, -2, DBG, 0, 0, 0, "server", "0.1.0", "O(1)",
     "Shifts the server's wall clock (test aid).", "[milliseconds]", NULL,
     "@admin @slow @dangerous"},
    {"aof-flush-sleep", debug_aof_flush_sleep, 3, DBG, 0, 0, 0, "server", "1.0.0", "O(1)",
     "Sleeps before each write of the append-only file (test aid).", "microsec", NULL,
     "@admin @slow @dangerous"},
    {"aof-write-error", debug_aof_write_error, 3, DBG, 0, 0, 0, "server", "0.1.0", "O(1)",
     "Makes append-only file writes fail (test aid).", "<0|1>", NULL, "@admin @slow @dangerous"},
    {"expire-mode", debug_expire_mode, -2, DBG, 0, 0, 0, "server", "0.1.0", "O(1)",
     "Hides due keys and fields instead of deleting them (test aid).", "[REAP|HIDE]", NULL,
     "@admin @slow @dangerous"},
    {"populate", debug_populate, -3, DBG, 0, 0, 0, "server", "1.0.0", "O(N)",
     "Creates string keys (test aid).", "count [prefix] [size]", NULL, "@admin @slow @dangerous"},
    {"digest", debug_digest, 2, DBG, 0, 0, 0, "server", "1.0.0", "O(N) with N keys and fields",
     "Digest of the whole dataset.", "", NULL, "@admin @slow @dangerous"},
    {"digest-value", debug_digest_value, -2, DBG, 0, 0, 0, "server", "1.0.0", "O(N)",
     "Digests of the values of keys.", "[key ...]", NULL, "@admin @slow @dangerous"},
    {"object", debug_object, 3, DBG, 0, 0, 0, "server", "1.0.0", "O(1)",
     "Low level information about a key's value.", "key", NULL, "@admin @slow @dangerous"},
    {"protocol", debug_protocol, 3, DBG, 0, 0, 0, "server", "6.0.0", "O(1)",
     "A reply of each RESP type (client test aid).", "type", NULL, "@admin @slow @dangerous"},
    {"reload", debug_reload, -2, DBG, 0, 0, 0, "server", "1.0.0", "O(N)",
     "Saves the snapshot and loads it again.", "[MERGE] [NOFLUSH] [NOSAVE]", NULL,
     "@admin @slow @dangerous"},
    {"replicate", debug_replicate, -3, DBG, 0, 0, 0, "server", "7.0.0", "O(1)",
     "Sends a command to the replicas only (test aid).", "command [arg ...]", NULL,
     "@admin @slow @dangerous"},
    {"help", debug_help, 2, DBG, 0, 0, 0, "server", "1.0.0", "O(1)", "Shows DEBUG help.", "", NULL,
     "@admin @slow @dangerous"},
    {0},
};

const cmd_spec cmd_family_debug[] = {
    {"debug", NULL, -2, DBG, 0, 0, 0, "server", "1.0.0", "Depends on subcommand.",
     "A container for debugging commands.", "", debug_subcmds, "@admin @slow @dangerous"},
    {0},
};
