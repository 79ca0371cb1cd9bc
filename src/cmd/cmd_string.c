/* cmd_string: the string commands (SET GET GETEX GETDEL GETSET SETNX SETEX PSETEX MGET
 * MSET MSETNX INCR DECR INCRBY DECRBY INCRBYFLOAT APPEND STRLEN GETRANGE SETRANGE).
 *
 * Semantics, checks and error texts follow Redis's t_string.c: options are parsed before
 * the key is looked up, a relative expire is turned into an absolute Unix-ms deadline
 * with overflow checks, and a value written whole (SET, MSET, GETSET...) is stored in its
 * most compact encoding, while APPEND and SETRANGE work on a RAW copy. SET and GET are the
 * hottest commands: one hash of the key, one lookup, no copy beyond the stored value. */
#include "cmd/keyspace_int.h"
#include "cmd/opt_int.h"
#include "mayfly/client/notify.h"
#include "mayfly/cmd/cmd.h"
#include "mayfly/cmd/propagate.h"
#include "mayfly/config.h"
#include "mayfly/types/string.h"
#include "mayfly/util/dict.h"
#include "mayfly/util/strconv.h"

#include <limits.h>

/* SET/GETEX option flags (Redis's OBJ_* names). */
#define SET_NX (1u << 0)
#define SET_XX (1u << 1)
#define SET_EX (1u << 2)
#define SET_PX (1u << 3)
#define SET_KEEPTTL (1u << 4)
#define SET_GET (1u << 5)
#define SET_EXAT (1u << 6)
#define SET_PXAT (1u << 7)
#define SET_PERSIST (1u << 8)
#define SET_ANY_EXPIRE (SET_EX | SET_PX | SET_EXAT | SET_PXAT)

enum { FOR_SET, FOR_GET };

/* The SET/GETEX flag of a time option. */
static unsigned time_flag(enum opt_token t) {
    return t == OPT_EX ? SET_EX : t == OPT_PX ? SET_PX : t == OPT_EXAT ? SET_EXAT : SET_PXAT;
}

/* Parses SET options from argv[3] or GETEX options from argv[2]. On success returns 0
 * with *flags and *expire (the argument index of the time, 0 if none); on error replies
 * the syntax error and returns -1. Each option is accepted only where Redis accepts it;
 * conflicting ones are syntax errors (a time option may be repeated: the last counts). */
static int parse_string_options(cmd_ctx *c, int kind, unsigned *flags, int *expire) {
    int j = kind == FOR_GET ? 2 : 3;
    *flags = 0;
    *expire = 0;
    for (; j < c->argc; j++) {
        enum opt_token t = opt_token(c->argv[j]);
        unsigned f = *flags, add = 0;
        if (t == OPT_NX && kind == FOR_SET && !(f & SET_XX))
            add = SET_NX;
        else if (t == OPT_XX && kind == FOR_SET && !(f & SET_NX))
            add = SET_XX;
        else if (t == OPT_GET && kind == FOR_SET)
            add = SET_GET;
        else if (t == OPT_KEEPTTL && kind == FOR_SET && !(f & (SET_PERSIST | SET_ANY_EXPIRE)))
            add = SET_KEEPTTL;
        else if (t == OPT_PERSIST && kind == FOR_GET && !(f & (SET_ANY_EXPIRE | SET_KEEPTTL)))
            add = SET_PERSIST;
        else if (opt_is_time(t) && j + 1 < c->argc && !(f & (SET_KEEPTTL | SET_PERSIST)) &&
                 !(f & SET_ANY_EXPIRE & ~time_flag(t))) {
            add = time_flag(t);
            *expire = ++j;
        }
        if (!add) {
            reply_syntax_error(c);
            return -1;
        }
        *flags |= add;
    }
    return 0;
}

/* The time option of SET/GETEX flags. */
static enum opt_token time_token(unsigned flags) {
    return (flags & SET_EX)     ? OPT_EX
           : (flags & SET_PX)   ? OPT_PX
           : (flags & SET_EXAT) ? OPT_EXAT
                                : OPT_PXAT;
}

/* Turns the expire argument of the time option in flags into an absolute deadline (Redis's
 * getExpireMillisecondsOrReply): positive, no overflow in unit conversion or when adding
 * now. Replies and returns -1 on error. */
static int expire_deadline(cmd_ctx *c, slice arg, unsigned flags, long long *out) {
    long long v;
    if (arg_ll(c, arg, &v) < 0) return -1;
    if (v <= 0 || opt_deadline(time_token(flags), v, c->now_ms, LLONG_MAX, out) < 0) {
        ks_reply_expire_error(c);
        return -1;
    }
    return 0;
}

/* Replies the string value of key (nil if absent). Returns -1 after a WRONGTYPE reply. */
static int reply_get(cmd_ctx *c, slice key) {
    dbentry *e;
    if (ks_read_string(c, key, &e) < 0) return -1;
    if (!e) {
        reply_null(c);
        return 0;
    }
    char tmp[STRCONV_LL_MAX];
    reply_bulk_slice(c, string_bytes((const string *)e->val, tmp));
    return 0;
}

/* Stores val under key (found: the entry from the write lookup, or NULL), keeping the TTL
 * only when keep_ttl. Returns the entry. As Redis's setKey, a new key publishes "new" (db/'s
 * hook) and an existing one "overwritten" (and "type_changed" over a hash), before the
 * caller's own event. */
static dbentry *store(cmd_ctx *c, slice key, uint64_t hash, dbentry *found, string *val,
                      int keep_ttl) {
    if (!found) return db_add_h(c->db, key, hash, &val->hdr);
    int old_type = found->val->type;
    found = db_replace_value(c->db, found, &val->hdr);
    if (!keep_ttl && db_entry_expire(found) != 0) found = db_set_expire(c->db, found, 0);
    notify_overwritten(key, c->db->id, old_type, OBJ_STRING);
    return found;
}

/* The SET family. expire_arg is the index of the time argument (0: none). ok_int: reply
 * 1/0 (SETNX) instead of +OK/nil. */
static void set_generic(cmd_ctx *c, unsigned flags, slice key, slice value, int expire_arg,
                        int ok_int) {
    long long when = 0;
    if (expire_arg && expire_deadline(c, c->argv[expire_arg], flags, &when) < 0) return;
    if ((flags & SET_GET) && reply_get(c, key) < 0) return;
    uint64_t hash = dict_hash(key.p, key.len);
    dbentry *e = db_find_h(c->db, key, hash, c->now_ms);
    if (((flags & SET_NX) && e) || ((flags & SET_XX) && !e)) {
        if (!(flags & SET_GET)) {
            if (ok_int)
                reply_int(c, 0);
            else
                reply_null(c);
        }
        return;
    }
    string *val = string_new(value.p, value.len);
    if (expire_arg) {
        /* A new key is allocated with its deadline bookkeeping at once. */
        if (e)
            db_entry_done(db_set_expire(c->db, store(c, key, hash, e, val, 1), when));
        else
            db_entry_done(db_add_expire_h(c->db, key, hash, &val->hdr, when));
        /* The log gets the absolute deadline: SET key value PXAT when. */
        char tmp[STRCONV_LL_MAX];
        slice argv[5] = {slice_of("set"), key, value, slice_of("PXAT"), propagate_ll(tmp, when)};
        propagate_argv(c, 5, argv);
    } else {
        store(c, key, hash, e, val, (flags & SET_KEEPTTL) != 0);
    }
    db_touch(c->db, key);
    notify_keyspace_event(NOTIFY_STRING, "set", key, c->db->id);
    if (expire_arg) notify_keyspace_event(NOTIFY_GENERIC, "expire", key, c->db->id);
    if (!(flags & SET_GET)) {
        if (ok_int)
            reply_int(c, 1);
        else
            reply_ok(c);
    }
}

static void cmd_set(cmd_ctx *c) {
    unsigned flags;
    int expire;
    if (parse_string_options(c, FOR_SET, &flags, &expire) < 0) return;
    set_generic(c, flags, c->argv[1], c->argv[2], expire, 0);
}

static void cmd_setnx(cmd_ctx *c) {
    set_generic(c, SET_NX, c->argv[1], c->argv[2], 0, 1);
}
static void cmd_setex(cmd_ctx *c) {
    set_generic(c, SET_EX, c->argv[1], c->argv[3], 2, 0);
}
static void cmd_psetex(cmd_ctx *c) {
    set_generic(c, SET_PX, c->argv[1], c->argv[3], 2, 0);
}

static void cmd_get(cmd_ctx *c) {
    dbentry *e = db_lookup(c->db, c->argv[1], c->now_ms, ks_read_flags(c));
    if (!e) {
        reply_null(c);
        return;
    }
    if (e->val->type != OBJ_STRING) {
        reply_wrongtype(c);
        return;
    }
    char tmp[STRCONV_LL_MAX];
    reply_bulk_slice(c, string_bytes((const string *)e->val, tmp));
}

static void cmd_getex(cmd_ctx *c) {
    unsigned flags;
    int expire;
    if (parse_string_options(c, FOR_GET, &flags, &expire) < 0) return;
    dbentry *e;
    if (ks_read_string(c, c->argv[1], &e) < 0) return;
    if (!e) {
        reply_null(c);
        return;
    }
    long long when = 0;
    if (expire && expire_deadline(c, c->argv[expire], flags, &when) < 0) return;
    char tmp[STRCONV_LL_MAX];
    reply_bulk_slice(c, string_bytes((const string *)e->val, tmp));
    if ((flags & (SET_EXAT | SET_PXAT)) && when <= c->now_ms) {
        db_delete_entry(c->db, e); /* an absolute time in the past deletes */
        propagate_del(c, c->argv[1]);
        db_touch(c->db, c->argv[1]);
        notify_keyspace_event(NOTIFY_GENERIC, "del", c->argv[1], c->db->id);
    } else if (expire) {
        db_entry_done(db_set_expire(c->db, e, when));
        propagate_pexpireat(c, c->argv[1], when);
        db_touch(c->db, c->argv[1]);
        notify_keyspace_event(NOTIFY_GENERIC, "expire", c->argv[1], c->db->id);
    } else if ((flags & SET_PERSIST) && db_entry_expire(e) != 0) {
        db_entry_done(db_set_expire(c->db, e, 0));
        slice argv[2] = {slice_of("persist"), c->argv[1]}; /* as Redis propagates it */
        propagate_argv(c, 2, argv);
        db_touch(c->db, c->argv[1]);
        notify_keyspace_event(NOTIFY_GENERIC, "persist", c->argv[1], c->db->id);
    }
}

static void cmd_getdel(cmd_ctx *c) {
    dbentry *e;
    if (ks_read_string(c, c->argv[1], &e) < 0) return;
    if (!e) {
        reply_null(c);
        return;
    }
    char tmp[STRCONV_LL_MAX];
    reply_bulk_slice(c, string_bytes((const string *)e->val, tmp));
    db_delete_entry(c->db, e);
    db_touch(c->db, c->argv[1]);
    notify_keyspace_event(NOTIFY_GENERIC, "del", c->argv[1], c->db->id);
    propagate_del(c, c->argv[1]); /* its effect, as Redis propagates it */
}

static void cmd_getset(cmd_ctx *c) {
    if (reply_get(c, c->argv[1]) < 0) return;
    slice key = c->argv[1];
    uint64_t hash = dict_hash(key.p, key.len);
    dbentry *e = db_find_h(c->db, key, hash, c->now_ms);
    store(c, key, hash, e, string_new(c->argv[2].p, c->argv[2].len), 0);
    db_touch(c->db, key);
    notify_keyspace_event(NOTIFY_STRING, "set", key, c->db->id);
}

static void cmd_mget(cmd_ctx *c) {
    reply_array(c, (size_t)c->argc - 1);
    for (int j = 1; j < c->argc; j++) {
        dbentry *e = db_lookup(c->db, c->argv[j], c->now_ms, ks_read_flags(c));
        if (!e || e->val->type != OBJ_STRING) {
            reply_null(c);
            continue;
        }
        char tmp[STRCONV_LL_MAX];
        reply_bulk_slice(c, string_bytes((const string *)e->val, tmp));
    }
}

static void mset_generic(cmd_ctx *c, int nx) {
    if (c->argc % 2 == 0) {
        reply_arity_error(c);
        return;
    }
    if (nx) {
        for (int j = 1; j < c->argc; j += 2) {
            if (db_find(c->db, c->argv[j], c->now_ms)) {
                reply_int(c, 0);
                return;
            }
        }
    }
    for (int j = 1; j < c->argc; j += 2) {
        slice key = c->argv[j];
        uint64_t hash = dict_hash(key.p, key.len);
        dbentry *e = db_find_h(c->db, key, hash, c->now_ms);
        store(c, key, hash, e, string_new(c->argv[j + 1].p, c->argv[j + 1].len), 0);
        db_touch(c->db, key);
        notify_keyspace_event(NOTIFY_STRING, "set", key, c->db->id);
    }
    if (nx)
        reply_int(c, 1);
    else
        reply_ok(c);
}

static void cmd_mset(cmd_ctx *c) {
    mset_generic(c, 0);
}
static void cmd_msetnx(cmd_ctx *c) {
    mset_generic(c, 1);
}

static void incr_generic(cmd_ctx *c, long long incr) {
    slice key = c->argv[1];
    uint64_t hash = dict_hash(key.p, key.len);
    dbentry *e = db_find_h(c->db, key, hash, c->now_ms);
    ks_write_access(c, e);
    long long value = 0;
    if (e) {
        if (e->val->type != OBJ_STRING) {
            reply_wrongtype(c);
            return;
        }
        if (string_get_ll((const string *)e->val, &value) < 0) {
            reply_error(c, ERR_NOT_INT);
            return;
        }
    }
    if (incr_ll_add(c, &value, incr) < 0) return;
    if (e && e->val->enc == ENC_INT)
        string_set_ll((string *)e->val, value);
    else
        store(c, key, hash, e, string_from_ll(value), 1);
    db_touch(c->db, key);
    notify_keyspace_event(NOTIFY_STRING, "incrby", key, c->db->id);
    reply_int(c, value);
}

static void cmd_incr(cmd_ctx *c) {
    incr_generic(c, 1);
}
static void cmd_decr(cmd_ctx *c) {
    incr_generic(c, -1);
}

static void cmd_incrby(cmd_ctx *c) {
    long long incr;
    if (arg_ll(c, c->argv[2], &incr) < 0) return;
    incr_generic(c, incr);
}

static void cmd_decrby(cmd_ctx *c) {
    long long incr;
    if (arg_ll(c, c->argv[2], &incr) < 0) return;
    if (incr == LLONG_MIN) {
        reply_error(c, "ERR decrement would overflow");
        return;
    }
    incr_generic(c, -incr);
}

static void cmd_incrbyfloat(cmd_ctx *c) {
    slice key = c->argv[1];
    uint64_t hash = dict_hash(key.p, key.len);
    dbentry *e = db_find_h(c->db, key, hash, c->now_ms);
    ks_write_access(c, e);
    long double value = 0, incr;
    if (e && e->val->type != OBJ_STRING) {
        reply_wrongtype(c);
        return;
    }
    if ((e && string_get_ld((const string *)e->val, &value) < 0) ||
        str_to_ld(c->argv[2].p, c->argv[2].len, &incr) < 0) {
        reply_error(c, ERR_NOT_FLOAT);
        return;
    }
    char text[STRCONV_LD_MAX];
    size_t len = incr_float_format(c, value, incr, text);
    if (!len) return;
    store(c, key, hash, e, string_new_text(text, len), 1);
    /* Replay must not redo float arithmetic: the log gets the result. */
    slice argv[4] = {slice_of("set"), key, {text, len}, slice_of("KEEPTTL")};
    propagate_argv(c, 4, argv);
    db_touch(c->db, key);
    notify_keyspace_event(NOTIFY_STRING, "incrbyfloat", key, c->db->id);
    reply_bulk(c, text, len);
}

/* Redis's checkStringLength: size + append must fit proto-max-bulk-len. */
static int check_length(cmd_ctx *c, unsigned long long size, unsigned long long append) {
    unsigned long long total = size + append;
    if (total > (unsigned long long)config.proto_max_bulk_len || total < size) {
        reply_error(c, "ERR string exceeds maximum allowed size (proto-max-bulk-len)");
        return -1;
    }
    return 0;
}

/* Makes the value of e a RAW string that may be modified in place; returns it. The
 * caller is done with e (it may have moved). */
static string *unshare(cmd_ctx *c, dbentry *e) {
    string *s = (string *)e->val;
    if (s->hdr.enc == ENC_RAW) return s;
    string *raw = string_dup_raw(s);
    db_entry_done(db_replace_value(c->db, e, &raw->hdr));
    return raw;
}

static void cmd_append(cmd_ctx *c) {
    slice key = c->argv[1], add = c->argv[2];
    uint64_t hash = dict_hash(key.p, key.len);
    dbentry *e = db_find_h(c->db, key, hash, c->now_ms);
    ks_write_access(c, e);
    size_t total;
    if (!e) {
        string *s = string_new(add.p, add.len);
        db_add_h(c->db, key, hash, &s->hdr);
        total = add.len;
    } else {
        if (e->val->type != OBJ_STRING) {
            reply_wrongtype(c);
            return;
        }
        if (check_length(c, string_len((const string *)e->val), add.len) < 0) return;
        string *s = unshare(c, e);
        string_append(s, add.p, add.len);
        total = string_len(s);
    }
    db_touch(c->db, key);
    notify_keyspace_event(NOTIFY_STRING, "append", key, c->db->id);
    reply_int(c, (long long)total);
}

static void cmd_strlen(cmd_ctx *c) {
    dbentry *e;
    if (ks_read_string(c, c->argv[1], &e) < 0) return;
    reply_int(c, e ? (long long)string_len((const string *)e->val) : 0);
}

static void cmd_getrange(cmd_ctx *c) {
    long long start, end;
    if (arg_ll(c, c->argv[2], &start) < 0 || arg_ll(c, c->argv[3], &end) < 0) return;
    dbentry *e;
    if (ks_read_string(c, c->argv[1], &e) < 0) return;
    if (!e) {
        reply_bulk(c, "", 0);
        return;
    }
    char tmp[STRCONV_LL_MAX];
    slice s = string_bytes((const string *)e->val, tmp);
    long long len = (long long)s.len;
    /* Redis 8: a negative end that falls before the start of the value is empty, not
     * clamped to the first byte (GETRANGE of "v" with 0 -2 is ""). */
    if (start < 0) start = len + start;
    if (end < 0) end = len + end;
    if (len == 0 || start >= len || end < 0 || start > end) {
        reply_bulk(c, "", 0);
        return;
    }
    if (start < 0) start = 0;
    if (end >= len) end = len - 1;
    reply_bulk(c, s.p + start, (size_t)(end - start + 1));
}

static void cmd_setrange(cmd_ctx *c) {
    long long offset;
    slice key = c->argv[1], value = c->argv[3];
    if (arg_ll(c, c->argv[2], &offset) < 0) return;
    if (offset < 0) {
        reply_error(c, "ERR offset is out of range");
        return;
    }
    uint64_t hash = dict_hash(key.p, key.len);
    dbentry *e = db_find_h(c->db, key, hash, c->now_ms);
    ks_write_access(c, e);
    string *s;
    if (!e) {
        if (value.len == 0) {
            reply_int(c, 0);
            return;
        }
        if (check_length(c, (unsigned long long)offset, value.len) < 0) return;
        s = string_new_zeros((size_t)offset + value.len);
        db_add_h(c->db, key, hash, &s->hdr);
    } else {
        if (e->val->type != OBJ_STRING) {
            reply_wrongtype(c);
            return;
        }
        size_t olen = string_len((const string *)e->val);
        if (value.len == 0) {
            reply_int(c, (long long)olen);
            return;
        }
        if (check_length(c, (unsigned long long)offset, value.len) < 0) return;
        s = unshare(c, e);
    }
    string_grow_zero(s, (size_t)offset + value.len);
    string_write(s, (size_t)offset, value.p, value.len);
    db_touch(c->db, key);
    notify_keyspace_event(NOTIFY_STRING, "setrange", key, c->db->id);
    reply_int(c, (long long)string_len(s));
}

#define W (CMD_WRITE | CMD_DENYOOM)
#define RO (CMD_READONLY)

/* SET reads the old value only with GET: its spec says RW access update with
 * variable_flags, and set_getkeys gives each call's flags (OW update without GET), as
 * Redis's setGetKeys. */
static const cmd_key_spec set_keys[] = {
    KS_RANGE_NOTES(KS_RW | KS_ACCESS | KS_UPDATE | KS_VARIABLE_FLAGS,
                   "RW and ACCESS due to the optional `GET` argument", 1, 0, 1),
    {0},
};

static int set_getkeys(const cmd_spec *cmd, int argc, const slice *argv, cmd_key_list *out) {
    (void)cmd;
    uint32_t flags = KS_OW | KS_UPDATE;
    for (int i = 3; i < argc; i++)
        if (opt_token(argv[i]) == OPT_GET) flags = KS_RW | KS_ACCESS | KS_UPDATE;
    cmd_key_list_push(out, 1, flags);
    return 1;
}

static const cmd_key_spec getex_keys[] = {
    KS_RANGE_NOTES(KS_RW | KS_ACCESS | KS_UPDATE, "RW and UPDATE because it changes the TTL", 1, 0,
                   1),
    {0},
};

const cmd_spec cmd_family_string[] = {
    {"get", cmd_get, 2, RO | CMD_FAST, 1, 1, 1, "string", "1.0.0", "O(1)",
     "Returns the string value of a key.", "key", NULL, "@read @string @fast", KS_RO | KS_ACCESS},
    {"set", cmd_set, -3, W, 1, 1, 1, "string", "1.0.0", "O(1)",
     "Sets the string value of a key, ignoring its type. The key is created if it doesn't "
     "exist.",
     "key value [NX | XX] [GET] [EX seconds | PX milliseconds | EXAT unix-time-seconds | PXAT "
     "unix-time-milliseconds | KEEPTTL]",
     NULL, "@write @string @slow", 0, set_keys, set_getkeys},
    {"setnx", cmd_setnx, 3, W | CMD_FAST, 1, 1, 1, "string", "1.0.0", "O(1)",
     "Set the string value of a key only when the key doesn't exist.", "key value", NULL,
     "@write @string @fast", KS_OW | KS_INSERT},
    {"setex", cmd_setex, 4, W, 1, 1, 1, "string", "2.0.0", "O(1)",
     "Sets the string value and expiration time of a key. Creates the key if it doesn't exist.",
     "key seconds value", NULL, "@write @string @slow", KS_OW | KS_UPDATE},
    {"psetex", cmd_psetex, 4, W, 1, 1, 1, "string", "2.6.0", "O(1)",
     "Sets both string value and expiration time in milliseconds of a key. The key is created "
     "if it doesn't exist.",
     "key milliseconds value", NULL, "@write @string @slow", KS_OW | KS_UPDATE},
    {"getex", cmd_getex, -2, CMD_WRITE | CMD_FAST, 1, 1, 1, "string", "6.2.0", "O(1)",
     "Returns the string value of a key after setting its expiration time.",
     "key [EX seconds | PX milliseconds | EXAT unix-time-seconds | PXAT unix-time-milliseconds "
     "| PERSIST]",
     NULL, "@write @string @fast", 0, getex_keys},
    {"getdel", cmd_getdel, 2, CMD_WRITE | CMD_FAST, 1, 1, 1, "string", "6.2.0", "O(1)",
     "Returns the string value of a key after deleting the key.", "key", NULL,
     "@write @string @fast", KS_RW | KS_ACCESS | KS_DELETE},
    {"getset", cmd_getset, 3, W | CMD_FAST, 1, 1, 1, "string", "1.0.0", "O(1)",
     "Returns the previous string value of a key after setting it to a new value.", "key value",
     NULL, "@write @string @fast", KS_RW | KS_ACCESS | KS_UPDATE},
    {"mget", cmd_mget, -2, RO | CMD_FAST, 1, -1, 1, "string", "1.0.0",
     "O(N) where N is the number of keys to retrieve.",
     "Atomically returns the string values of one or more keys.", "key [key ...]", NULL,
     "@read @string @fast", KS_RO | KS_ACCESS},
    {"mset", cmd_mset, -3, W, 1, -1, 2, "string", "1.0.1",
     "O(N) where N is the number of keys to set.",
     "Atomically creates or modifies the string values of one or more keys.",
     "key value [key value ...]", NULL, "@write @string @slow", KS_OW | KS_UPDATE},
    {"msetnx", cmd_msetnx, -3, W, 1, -1, 2, "string", "1.0.1",
     "O(N) where N is the number of keys to set.",
     "Atomically modifies the string values of one or more keys only when all keys don't "
     "exist.",
     "key value [key value ...]", NULL, "@write @string @slow", KS_OW | KS_INSERT},
    {"incr", cmd_incr, 2, W | CMD_FAST, 1, 1, 1, "string", "1.0.0", "O(1)",
     "Increments the integer value of a key by one. Uses 0 as initial value if the key doesn't "
     "exist.",
     "key", NULL, "@write @string @fast", KS_RW | KS_ACCESS | KS_UPDATE},
    {"decr", cmd_decr, 2, W | CMD_FAST, 1, 1, 1, "string", "1.0.0", "O(1)",
     "Decrements the integer value of a key by one. Uses 0 as initial value if the key doesn't "
     "exist.",
     "key", NULL, "@write @string @fast", KS_RW | KS_ACCESS | KS_UPDATE},
    {"incrby", cmd_incrby, 3, W | CMD_FAST, 1, 1, 1, "string", "1.0.0", "O(1)",
     "Increments the integer value of a key by a number. Uses 0 as initial value if the key "
     "doesn't exist.",
     "key increment", NULL, "@write @string @fast", KS_RW | KS_ACCESS | KS_UPDATE},
    {"decrby", cmd_decrby, 3, W | CMD_FAST, 1, 1, 1, "string", "1.0.0", "O(1)",
     "Decrements a number from the integer value of a key. Uses 0 as initial value if the key "
     "doesn't exist.",
     "key decrement", NULL, "@write @string @fast", KS_RW | KS_ACCESS | KS_UPDATE},
    {"incrbyfloat", cmd_incrbyfloat, 3, W | CMD_FAST, 1, 1, 1, "string", "2.6.0", "O(1)",
     "Increment the floating point value of a key by a number. Uses 0 as initial value if the "
     "key doesn't exist.",
     "key increment", NULL, "@write @string @fast", KS_RW | KS_ACCESS | KS_UPDATE},
    {"append", cmd_append, 3, W | CMD_FAST, 1, 1, 1, "string", "2.0.0",
     "O(1). The amortized time complexity is O(1) assuming the appended value is small and the "
     "already present value is of any size, since the dynamic string library used by Redis "
     "will double the free space available on every reallocation.",
     "Appends a string to the value of a key. Creates the key if it doesn't exist.", "key value",
     NULL, "@write @string @fast", KS_RW | KS_INSERT},
    {"strlen", cmd_strlen, 2, RO | CMD_FAST, 1, 1, 1, "string", "2.2.0", "O(1)",
     "Returns the length of a string value.", "key", NULL, "@read @string @fast", KS_RO},
    {"getrange", cmd_getrange, 4, RO, 1, 1, 1, "string", "2.4.0",
     "O(N) where N is the length of the returned string. The complexity is ultimately "
     "determined by the returned length, but because creating a substring from an existing "
     "string is very cheap, it can be considered O(1) for small strings.",
     "Returns a substring of the string stored at a key.", "key start end", NULL,
     "@read @string @slow", KS_RO | KS_ACCESS},
    {"setrange", cmd_setrange, 4, W, 1, 1, 1, "string", "2.2.0",
     "O(1), not counting the time taken to copy the new string in place. Usually, this string "
     "is very small so the amortized complexity is O(1). Otherwise, complexity is O(M) with M "
     "being the length of the value argument.",
     "Overwrites a part of a string value with another by an offset. Creates the key if it "
     "doesn't exist.",
     "key offset value", NULL, "@write @string @slow", KS_RW | KS_UPDATE},
    {0},
};
