/* cmd_hash_ttl: the hash field expiration commands (HSETEX HGETEX HGETDEL HEXPIRE
 * HPEXPIRE HEXPIREAT HPEXPIREAT HTTL HPTTL HEXPIRETIME HPEXPIRETIME HPERSIST), after
 * Redis 8's t_hash.c.
 *
 * Times: a relative time is added to the command's now_ms, a seconds value is scaled to
 * ms, and the result must be a deadline in 0..2^46-1 ms (HASH_DEADLINE_MAX, Redis's
 * HFE_MAX_ABS_TIME_MSEC); a negative input is "invalid expire time, must be >= 0". A
 * deadline at or before now deletes the field at once (HEXPIRE replies 2 for it), and a
 * hash left empty is deleted.
 *
 * Argument order follows Redis exactly, because it decides which error a client sees:
 * HSETEX parses everything before it looks the key up; the others check the key's type
 * first, then the options, then FIELDS numfields. A missing key is an empty hash: the
 * per-field commands answer -2 (or nil) for every field. */
#include "cmd/hash_int.h"
#include "cmd/opt_int.h"
#include "mayfly/cmd/propagate.h"
#include "mayfly/util/mem.h"
#include "mayfly/util/strconv.h"

#include <limits.h>

/* Expiration options of HSETEX and HGETEX (Redis's HFE_* flags). */
#define HX_EX (1u << 0)
#define HX_PX (1u << 1)
#define HX_EXAT (1u << 2)
#define HX_PXAT (1u << 3)
#define HX_PERSIST (1u << 4)
#define HX_KEEPTTL (1u << 5)
#define HX_FXX (1u << 6)
#define HX_FNX (1u << 7)
#define HX_ANY_TIME (HX_EX | HX_PX | HX_EXAT | HX_PXAT)

/* Redis's parseExpireTime: the time argument a of option t (EX PX EXAT PXAT) as an absolute
 * deadline (which may be 0 or in the past), in 0..HASH_DEADLINE_MAX. Replies and returns
 * -1 on error. */
static int parse_field_time(cmd_ctx *c, slice a, enum opt_token t, int64_t *out) {
    long long v, when;
    if (arg_ll(c, a, &v) < 0) return -1;
    if (v < 0) {
        reply_error(c, "ERR invalid expire time, must be >= 0");
        return -1;
    }
    if (opt_deadline(t, v, c->now_ms, HASH_DEADLINE_MAX, &when) < 0) {
        ks_reply_expire_error(c);
        return -1;
    }
    *out = when;
    return 0;
}

/* A deadline acceptable to the hash type (>= 1); one at or before now is due either way. */
static int64_t storable(int64_t deadline) {
    return deadline < 1 ? 1 : deadline;
}

/* ---- HSETEX -------------------------------------------------------------------------- */

#define HX_FIELDS (1u << 8) /* the FIELDS keyword: not a flag, ends the options */

/* The HSETEX/HGETEX flag of an option token (HX_FIELDS for FIELDS), 0 if it is none of
 * theirs. */
static unsigned hx_flag(enum opt_token t) {
    static const unsigned flags[] = {
        [OPT_EX] = HX_EX,     [OPT_PX] = HX_PX,           [OPT_EXAT] = HX_EXAT,
        [OPT_PXAT] = HX_PXAT, [OPT_KEEPTTL] = HX_KEEPTTL, [OPT_PERSIST] = HX_PERSIST,
        [OPT_FNX] = HX_FNX,   [OPT_FXX] = HX_FXX,         [OPT_FIELDS] = HX_FIELDS,
    };
    return (size_t)t < sizeof(flags) / sizeof(flags[0]) ? flags[t] : 0;
}

/* A small count: one digit 1-9 without the general integer parser, else -1. */
static long long small_count(slice a) {
    return a.len == 1 && a.p[0] >= '1' && a.p[0] <= '9' ? a.p[0] - '0' : -1;
}

typedef struct hsetex_args {
    unsigned flags;
    int64_t deadline;
    int first; /* argv index of the first field */
    int n;     /* number of field-value pairs */
} hsetex_args;

/* Redis's hsetexParseArgs. Returns 0, or -1 after an error reply. */
static int parse_hsetex(cmd_ctx *c, hsetex_args *a) {
    a->flags = 0;
    for (int i = 2; i < c->argc; i++) {
        slice o = c->argv[i];
        enum opt_token tok = opt_token(o);
        unsigned opt = hx_flag(tok);
        unsigned t = opt & HX_ANY_TIME;
        if (opt == HX_FIELDS) {
            if (i >= c->argc - 3) {
                reply_arity_error(c);
                return -1;
            }
            long long n = small_count(c->argv[i + 1]);
            if (n < 0 &&
                arg_ll_range(c, c->argv[i + 1], 1, INT_MAX, "ERR invalid number of fields", &n) < 0)
                return -1;
            int remaining = c->argc - i - 2;
            if (remaining % 2 != 0 || n != remaining / 2) {
                reply_arity_error(c);
                return -1;
            }
            a->first = i + 2;
            a->n = (int)n;
            return 0;
        } else if (t || opt == HX_KEEPTTL) {
            if (a->flags & (HX_ANY_TIME | HX_KEEPTTL)) {
                reply_error(c, "ERR Only one of EX, PX, EXAT, PXAT or KEEPTTL arguments can be "
                               "specified");
                return -1;
            }
            if (!t) {
                a->flags |= HX_KEEPTTL;
                continue;
            }
            if (i >= c->argc - 1) {
                reply_error(c, "ERR missing expire time");
                return -1;
            }
            a->flags |= t;
            if (parse_field_time(c, c->argv[++i], tok, &a->deadline) < 0) return -1;
        } else if (opt == HX_FXX || opt == HX_FNX) {
            if (a->flags & (HX_FXX | HX_FNX)) {
                reply_error(c, "ERR Only one of FXX or FNX arguments can be specified");
                return -1;
            }
            a->flags |= opt;
        } else {
            reply_errorf(c, "ERR unknown argument: %.*s", (int)o.len, o.p);
            return -1;
        }
    }
    /* Unreachable with arity -6 (every path above returns or errs before the end), but a
     * missing FIELDS must not fall through. */
    reply_arity_error(c);
    return -1;
}

/* Logs head[0..nh) followed by count fields taken from argv[from], argv[from + step], ...
 * (the absolute-time forms of HSETEX / HGETEX / HEXPIRE, and their HDEL when the time has
 * already passed). */
static void propagate_fields(cmd_ctx *c, const slice *head, int nh, int from, int step, int count) {
    if (!propagate_wanted()) return; /* no log: skip building the record */
    int n = nh + count * (step == 2 ? 2 : 1);
    slice small[32];
    slice *v = n <= 32 ? small : mem_alloc(sizeof(slice) * (size_t)n);
    memcpy(v, head, sizeof(slice) * (size_t)nh);
    int k = nh;
    for (int i = 0; i < count; i++) {
        v[k++] = c->argv[from + i * step];
        if (step == 2) v[k++] = c->argv[from + i * step + 1];
    }
    propagate_argv(c, k, v);
    if (v != small) mem_free(v);
}

/* HDEL key f1 f2 ... for count fields at argv[from], argv[from + step], ... */
static void propagate_hdel(cmd_ctx *c, int from, int step, int count) {
    if (!propagate_wanted()) return;
    slice head[2] = {slice_of("hdel"), c->argv[1]};
    int n = 2 + count;
    slice small[32];
    slice *v = n <= 32 ? small : mem_alloc(sizeof(slice) * (size_t)n);
    memcpy(v, head, sizeof(head));
    for (int i = 0; i < count; i++)
        v[2 + i] = c->argv[from + i * step];
    propagate_argv(c, n, v);
    if (v != small) mem_free(v);
}

/* HPEXPIREAT key when [cond] FIELDS n f... for the fields at argv[first..first+n). */
static void propagate_hpexpireat(cmd_ctx *c, int64_t when, slice cond, int first, int n) {
    if (!propagate_wanted()) return;
    char tw[STRCONV_LL_MAX], tn[STRCONV_LL_MAX];
    slice head[6] = {slice_of("hpexpireat"), c->argv[1], propagate_ll(tw, when)};
    int nh = 3;
    if (cond.len) head[nh++] = cond;
    head[nh++] = slice_of("FIELDS");
    head[nh++] = propagate_ll(tn, n);
    propagate_fields(c, head, nh, first, 1, n);
}

/* 1 if the FNX/FXX condition allows the write. */
static int hsetex_condition_met(cmd_ctx *c, dbentry *e, const hsetex_args *a) {
    if (!(a->flags & (HX_FXX | HX_FNX))) return 1;
    for (int i = 0; i < a->n; i++) {
        int exists =
            e && hash_get(hc_hash(e), c->now_ms, c->argv[a->first + 2 * i], NULL) == HASH_OK;
        if ((a->flags & HX_FXX) && !exists) return 0;
        if ((a->flags & HX_FNX) && exists) return 0;
    }
    return 1;
}

static void cmd_hsetex(cmd_ctx *c) {
    hsetex_args a = {0};
    if (parse_hsetex(c, &a) < 0) return;
    slice key = c->argv[1];
    dbentry *e;
    if (hc_write(c, key, &e) < 0) return;
    if (!hsetex_condition_met(c, e, &a)) {
        reply_int(c, 0);
        return;
    }
    /* A new hash whose fields get one deadline is filed by it without a dbttl (slim). */
    if (!e) e = hc_create(c, key);
    hash_limits lim = hc_limits();
    enum hash_ttl_policy policy = (a.flags & HX_ANY_TIME)  ? HASH_TTL_SET
                                  : (a.flags & HX_KEEPTTL) ? HASH_TTL_KEEP
                                                           : HASH_TTL_CLEAR;
    /* A deadline already past still stores the value first (so the encoding converts as
     * in Redis), then deletes the field, which is what Redis replicates as HDEL. */
    int past = (a.flags & HX_ANY_TIME) && a.deadline <= c->now_ms;
    hc_run run;
    hash **hp = hc_open(e, &run);
    for (int i = 0; i < a.n; i++) {
        slice f = c->argv[a.first + 2 * i], v = c->argv[a.first + 2 * i + 1];
        hash_set(hp, &lim, c->now_ms, f, v, policy, storable(a.deadline));
        if (past) hash_del(hp, c->now_ms, f);
    }
    e = hc_close(c, e, &run);
    reply_int(c, 1);
    if (past) {
        propagate_hdel(c, a.first, 2, a.n);
    } else if ((a.flags & HX_ANY_TIME) && propagate_wanted()) {
        /* The log gets the absolute deadline (FNX/FXX were met: the set is unconditional). */
        char tw[STRCONV_LL_MAX];
        slice head[6] = {slice_of("hsetex"),           c->argv[1],         slice_of("PXAT"),
                         propagate_ll(tw, a.deadline), slice_of("FIELDS"), c->argv[a.first - 1]};
        propagate_fields(c, head, 6, a.first, 2, a.n);
    }
    db_touch(c->db, key);
    notify_keyspace_event(NOTIFY_HASH, "hset", key, c->db->id);
    hc_notify_fields(c, "hset", key, a.first, 2, (size_t)a.n);
    if (a.flags & HX_ANY_TIME) {
        const char *ev = past ? "hdel" : "hexpire";
        notify_keyspace_event(NOTIFY_HASH, ev, key, c->db->id);
        hc_notify_fields(c, ev, key, a.first, 2, (size_t)a.n);
    }
    hc_finish(c, e, key);
}

/* ---- HGETEX, HGETDEL ----------------------------------------------------------------- */

static void reply_nils(cmd_ctx *c, long long n) {
    reply_array(c, (size_t)n);
    for (long long i = 0; i < n; i++)
        reply_null(c);
}

static void cmd_hgetex(cmd_ctx *c) {
    slice key = c->argv[1];
    dbentry *e;
    if (hc_write(c, key, &e) < 0) return;
    enum opt_token tok = opt_token(c->argv[2]);
    unsigned opt = 0;
    int fields_at = 2;
    int64_t deadline = 0;
    if (opt_is_time(tok)) {
        opt = hx_flag(tok);
        fields_at = 4;
        if (parse_field_time(c, c->argv[3], tok, &deadline) < 0) return;
    } else if (tok == OPT_PERSIST) {
        opt = HX_PERSIST;
        fields_at = 3;
    }
    long long n = hc_parse_fields(c, fields_at, HC_NFIELDS_MSG);
    if (n < 0) return;
    if (!e) {
        reply_nils(c, n);
        return;
    }
    int first = fields_at + 2;
    long long updated = 0, deleted = 0;
    hc_changed ch;
    hc_changed_init(&ch);
    reply_array(c, (size_t)n);
    hc_run run;
    hash **hp = hc_open(e, &run);
    for (int j = first; j < c->argc; j++) {
        slice f = c->argv[j];
        hash_entry he;
        if (hash_get(*hp, c->now_ms, f, &he) != HASH_OK) {
            reply_null(c);
            continue;
        }
        reply_bulk_slice(c, he.value); /* copied out before the field changes */
        int changed = 0;
        if (opt == HX_PERSIST) {
            changed = hash_persist(hp, c->now_ms, f) == HASH_PERSIST_OK;
            updated += changed;
        } else if (opt) {
            int r = hash_expire(hp, c->now_ms, f, storable(deadline), HASH_COND_NONE);
            updated += r == HASH_EXPIRE_SET;
            deleted += r == HASH_EXPIRE_DELETED;
            changed = r == HASH_EXPIRE_SET || r == HASH_EXPIRE_DELETED;
        }
        if (changed) hc_changed_add(&ch, f);
    }
    e = hc_close(c, e, &run);
    if (updated == 0 && deleted == 0) return;
    if (opt && opt != HX_PERSIST) {
        if (deadline <= c->now_ms)
            propagate_hdel(c, first, 1, (int)n);
        else
            propagate_hpexpireat(c, deadline, (slice){NULL, 0}, first, (int)n);
    }
    db_touch(c->db, key);
    const char *ev = updated ? (opt == HX_PERSIST ? "hpersist" : "hexpire") : "hdel";
    notify_keyspace_event(NOTIFY_HASH, ev, key, c->db->id);
    hc_changed_publish(c, &ch, ev, key);
    hc_finish(c, e, key);
}

static void cmd_hgetdel(cmd_ctx *c) {
    slice key = c->argv[1];
    dbentry *e;
    if (hc_write(c, key, &e) < 0) return;
    long long n = hc_parse_fields(c, 2, HC_NFIELDS_MSG);
    if (n < 0) return;
    if (!e) {
        reply_nils(c, n);
        return;
    }
    long long deleted = 0;
    hc_changed ch;
    hc_changed_init(&ch);
    reply_array(c, (size_t)n);
    hc_run run;
    hash **hp = hc_open(e, &run);
    for (int j = 4; j < c->argc; j++) {
        hash_entry he;
        if (hash_get(*hp, c->now_ms, c->argv[j], &he) != HASH_OK) {
            reply_null(c);
            continue;
        }
        reply_bulk_slice(c, he.value);
        if (hash_del(hp, c->now_ms, c->argv[j])) {
            deleted++;
            hc_changed_add(&ch, c->argv[j]);
        }
    }
    e = hc_close(c, e, &run);
    if (deleted == 0) return;
    db_touch(c->db, key);
    notify_keyspace_event(NOTIFY_HASH, "hdel", key, c->db->id);
    hc_changed_publish(c, &ch, "hdel", key);
    hc_finish(c, e, key);
}

/* ---- HEXPIRE family ------------------------------------------------------------------ */

/* The hash condition of an option token; HASH_COND_NONE if it is no NX/XX/GT/LT. */
static int hash_cond(enum opt_token t) {
    switch (t) {
    case OPT_NX:
        return HASH_COND_NX;
    case OPT_XX:
        return HASH_COND_XX;
    case OPT_GT:
        return HASH_COND_GT;
    case OPT_LT:
        return HASH_COND_LT;
    default:
        return HASH_COND_NONE;
    }
}

/* HEXPIRE key time [NX | XX | GT | LT] FIELDS numfields field...: one code per field. */
static void hexpire_generic(cmd_ctx *c, enum opt_token t) {
    slice key = c->argv[1];
    dbentry *e;
    if (hc_write(c, key, &e) < 0) return;
    int64_t deadline;
    if (parse_field_time(c, c->argv[2], t, &deadline) < 0) return;
    int cond = hash_cond(opt_token(c->argv[3]));
    int fields_at = cond ? 4 : 3;
    long long n =
        hc_parse_fields(c, fields_at, "ERR Parameter `numFields` should be greater than 0");
    if (n < 0) return;
    int first = fields_at + 2;
    if (!e) {
        reply_array(c, (size_t)n);
        for (long long i = 0; i < n; i++)
            reply_int(c, HASH_EXPIRE_NOFIELD);
        return;
    }
    long long updated = 0, deleted = 0;
    hc_changed ch;
    hc_changed_init(&ch);
    reply_array(c, (size_t)n);
    hc_run run;
    hash **hp = hc_open(e, &run);
    for (int j = first; j < c->argc; j++) {
        int r = hash_expire(hp, c->now_ms, c->argv[j], storable(deadline), cond);
        updated += r == HASH_EXPIRE_SET;
        deleted += r == HASH_EXPIRE_DELETED;
        if (r == HASH_EXPIRE_SET || r == HASH_EXPIRE_DELETED) hc_changed_add(&ch, c->argv[j]);
        reply_int(c, r);
    }
    e = hc_close(c, e, &run);
    if (updated + deleted == 0) return;
    if (deadline <= c->now_ms)
        propagate_hdel(c, first, 1, (int)n);
    else
        propagate_hpexpireat(c, deadline, cond ? c->argv[3] : (slice){NULL, 0}, first, (int)n);
    db_touch(c->db, key);
    const char *ev = deleted ? "hdel" : "hexpire";
    notify_keyspace_event(NOTIFY_HASH, ev, key, c->db->id);
    hc_changed_publish(c, &ch, ev, key);
    hc_finish(c, e, key);
}

static void cmd_hexpire(cmd_ctx *c) {
    hexpire_generic(c, OPT_EX);
}
static void cmd_hpexpire(cmd_ctx *c) {
    hexpire_generic(c, OPT_PX);
}
static void cmd_hexpireat(cmd_ctx *c) {
    hexpire_generic(c, OPT_EXAT);
}
static void cmd_hpexpireat(cmd_ctx *c) {
    hexpire_generic(c, OPT_PXAT);
}

/* HTTL HPTTL HEXPIRETIME HPEXPIRETIME: -2 no such field, -1 no TTL, else the time (a
 * seconds value rounds up, as Redis's (expire + 999 - base) / 1000). */
static void httl_generic(cmd_ctx *c, int relative, int seconds) {
    dbentry *e;
    if (hc_read(c, c->argv[1], &e) < 0) return;
    long long n = hc_parse_fields(c, 2, HC_NFIELDS_MSG);
    if (n < 0) return;
    int64_t base = relative ? c->now_ms : 0;
    reply_array(c, (size_t)n);
    for (int j = 4; j < c->argc; j++) {
        hash_entry he;
        if (!e || hash_get(hc_hash(e), c->now_ms, c->argv[j], &he) != HASH_OK)
            reply_int(c, -2);
        else if (he.deadline == HASH_NO_TTL)
            reply_int(c, -1);
        else if (seconds)
            reply_int(c, (he.deadline + 999 - base) / 1000);
        else
            reply_int(c, he.deadline - base);
    }
}

static void cmd_httl(cmd_ctx *c) {
    httl_generic(c, 1, 1);
}
static void cmd_hpttl(cmd_ctx *c) {
    httl_generic(c, 1, 0);
}
static void cmd_hexpiretime(cmd_ctx *c) {
    httl_generic(c, 0, 1);
}
static void cmd_hpexpiretime(cmd_ctx *c) {
    httl_generic(c, 0, 0);
}

static void cmd_hpersist(cmd_ctx *c) {
    slice key = c->argv[1];
    dbentry *e;
    if (hc_write(c, key, &e) < 0) return;
    long long n = hc_parse_fields(c, 2, HC_NFIELDS_MSG);
    if (n < 0) return;
    reply_array(c, (size_t)n);
    long long changed = 0;
    hc_changed ch;
    hc_changed_init(&ch);
    hc_run run;
    hash **hp = e ? hc_open(e, &run) : NULL;
    for (int j = 4; j < c->argc; j++) {
        int r = hp ? hash_persist(hp, c->now_ms, c->argv[j]) : HASH_PERSIST_NOFIELD;
        if (r == HASH_PERSIST_OK) {
            changed++;
            hc_changed_add(&ch, c->argv[j]);
        }
        reply_int(c, r);
    }
    if (e) e = hc_close(c, e, &run);
    if (!changed) return;
    db_touch(c->db, key);
    notify_keyspace_event(NOTIFY_HASH, "hpersist", key, c->db->id);
    hc_changed_publish(c, &ch, "hpersist", key);
    hc_finish(c, e, key);
}

#define HFE_RW (CMD_WRITE | CMD_DENYOOM | CMD_FAST)
#define HFE_N "O(N) where N is the number of specified fields"
#define HFE_ACL_W "@write @hash @fast"
#define HFE_ACL_R "@read @hash @fast"
#define HEXPIRE_SYNTAX(t) "key " t " [NX | XX | GT | LT] FIELDS numfields field [field ...]"
#define FIELDS_SYNTAX "key FIELDS numfields field [field ...]"

static const cmd_key_spec hgetex_keys[] = {
    KS_RANGE_NOTES(KS_RW | KS_ACCESS | KS_UPDATE, "RW and UPDATE because it changes the TTL", 1, 0,
                   1),
    {0},
};

const cmd_spec cmd_family_hash_ttl[] = {
    {"hsetex", cmd_hsetex, -6, HFE_RW, 1, 1, 1, "hash", "8.0.0",
     "O(N) where N is the number of fields being set.",
     "Set the value of one or more fields of a given hash key, and optionally set their "
     "expiration.",
     "key [FNX | FXX] [EX seconds | PX milliseconds | EXAT unix-time-seconds | PXAT "
     "unix-time-milliseconds | KEEPTTL] FIELDS numfields field value [field value ...]",
     NULL, HFE_ACL_W, KS_RW | KS_UPDATE},
    {"hgetex", cmd_hgetex, -5, CMD_WRITE | CMD_FAST, 1, 1, 1, "hash", "8.0.0", HFE_N,
     "Get the value of one or more fields of a given hash key, and optionally set their "
     "expiration.",
     "key [EX seconds | PX milliseconds | EXAT unix-time-seconds | PXAT unix-time-milliseconds "
     "| PERSIST] FIELDS numfields field [field ...]",
     NULL, HFE_ACL_W, 0, hgetex_keys},
    {"hgetdel", cmd_hgetdel, -5, CMD_WRITE | CMD_FAST, 1, 1, 1, "hash", "8.0.0", HFE_N,
     "Returns the value of a field and deletes it from the hash.", FIELDS_SYNTAX, NULL, HFE_ACL_W,
     KS_RW | KS_ACCESS | KS_DELETE},
    {"hexpire", cmd_hexpire, -6, HFE_RW, 1, 1, 1, "hash", "7.4.0",
     "O(N) where N is the number of specified fields",
     "Set expiry for hash field using relative time to expire (seconds)", HEXPIRE_SYNTAX("seconds"),
     NULL, HFE_ACL_W, KS_RW | KS_UPDATE},
    {"hpexpire", cmd_hpexpire, -6, HFE_RW, 1, 1, 1, "hash", "7.4.0",
     "O(N) where N is the number of specified fields",
     "Set expiry for hash field using relative time to expire (milliseconds)",
     HEXPIRE_SYNTAX("milliseconds"), NULL, HFE_ACL_W, KS_RW | KS_UPDATE},
    {"hexpireat", cmd_hexpireat, -6, HFE_RW, 1, 1, 1, "hash", "7.4.0",
     "O(N) where N is the number of specified fields",
     "Set expiry for hash field using an absolute Unix timestamp (seconds)",
     HEXPIRE_SYNTAX("unix-time-seconds"), NULL, HFE_ACL_W, KS_RW | KS_UPDATE},
    {"hpexpireat", cmd_hpexpireat, -6, HFE_RW, 1, 1, 1, "hash", "7.4.0",
     "O(N) where N is the number of specified fields",
     "Set expiry for hash field using an absolute Unix timestamp (milliseconds)",
     HEXPIRE_SYNTAX("unix-time-milliseconds"), NULL, HFE_ACL_W, KS_RW | KS_UPDATE},
    {"httl", cmd_httl, -5, CMD_READONLY | CMD_FAST, 1, 1, 1, "hash", "7.4.0", HFE_N,
     "Returns the TTL in seconds of a hash field.", FIELDS_SYNTAX, NULL, HFE_ACL_R,
     KS_RO | KS_ACCESS},
    {"hpttl", cmd_hpttl, -5, CMD_READONLY | CMD_FAST, 1, 1, 1, "hash", "7.4.0", HFE_N,
     "Returns the TTL in milliseconds of a hash field.", FIELDS_SYNTAX, NULL, HFE_ACL_R,
     KS_RO | KS_ACCESS},
    {"hexpiretime", cmd_hexpiretime, -5, CMD_READONLY | CMD_FAST, 1, 1, 1, "hash", "7.4.0", HFE_N,
     "Returns the expiration time of a hash field as a Unix timestamp, in seconds.", FIELDS_SYNTAX,
     NULL, HFE_ACL_R, KS_RO | KS_ACCESS},
    {"hpexpiretime", cmd_hpexpiretime, -5, CMD_READONLY | CMD_FAST, 1, 1, 1, "hash", "7.4.0", HFE_N,
     "Returns the expiration time of a hash field as a Unix timestamp, in msec.", FIELDS_SYNTAX,
     NULL, HFE_ACL_R, KS_RO | KS_ACCESS},
    {"hpersist", cmd_hpersist, -5, CMD_WRITE | CMD_FAST, 1, 1, 1, "hash", "7.4.0", HFE_N,
     "Removes the expiration time for each specified field", FIELDS_SYNTAX, NULL, HFE_ACL_W,
     KS_RW | KS_UPDATE},
    {0},
};
