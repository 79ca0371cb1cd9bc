/* fuzz_dispatch: libFuzzer target for command dispatch, checked against a model.
 *
 * The input is read as a program: each step takes an opcode byte and then the arguments it
 * needs from the following bytes. Steps on the keys k0..k3 (fields f0..f3) are string and
 * hash commands whose exact RESP2 reply is predicted by a small model written here without
 * the server's code (its own strict integer parser, Redis 8's GETRANGE rules, ...), and
 * every reply is compared byte for byte; the model follows what the server did. The other
 * steps run a command from a wide list with arguments drawn from a token pool and raw
 * bytes, on the keys x0..x2 only, so they cannot disturb the model: those are checked for
 * not crashing, not tripping the sanitizers and answering well-formed RESP.
 *
 * The session has no connection; its reply buffer has a 1 MB limit, as a client's output
 * limit would give it, so a request for a huge reply stops early (reply_aborted) instead of
 * filling memory, and proto-max-bulk-len is 1 MB so no string grows past it. */
#include "mayfly/cmd/cmd.h"
#include "mayfly/config.h"
#include "mayfly/db/db.h"
#include "mayfly/resp/resp.h"
#include "mayfly/server.h"
#include "mayfly/util/buf.h"

#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define NKEYS 4
#define NFIELDS 4
#define VAL_MAX 4096 /* the model's strings stay under this (longer: the step is skipped) */

static void check(int ok, const char *what) {
    if (!ok) {
        fprintf(stderr, "fuzz_dispatch: %s\n", what);
        abort();
    }
}

/* ---- the model ---- */

typedef struct mval {
    size_t len;
    char p[VAL_MAX];
} mval;

typedef struct mkey {
    int type; /* 0 none, 1 string, 2 hash */
    mval str;
    int has[NFIELDS];
    mval field[NFIELDS];
} mkey;

static mkey model[NKEYS];
static session *sess;
static buf want;

/* Redis's string2ll rules, written out: optional '-', no '+', no leading zero (but "0"),
 * no spaces, at most 20 characters, in range. */
static int model_ll(const char *p, size_t len, long long *out) {
    if (len == 0 || len > 20) return 0;
    if (len == 1 && p[0] == '0') {
        *out = 0;
        return 1;
    }
    size_t i = 0;
    int neg = p[0] == '-';
    if (neg) i++;
    if (i >= len || p[i] < '1' || p[i] > '9') return 0;
    unsigned long long v = 0;
    for (; i < len; i++) {
        if (p[i] < '0' || p[i] > '9') return 0;
        if (v > (ULLONG_MAX - (unsigned)(p[i] - '0')) / 10) return 0;
        v = v * 10 + (unsigned)(p[i] - '0');
    }
    if (neg ? v > (unsigned long long)LLONG_MAX + 1 : v > (unsigned long long)LLONG_MAX) return 0;
    *out = neg ? (long long)(0 - v) : (long long)v;
    return 1;
}

/* What the model knows of a value read as a float: 0 refused for sure (a NUL byte or a
 * leading space, whatever follows), 1 accepted for sure (a plain decimal of at most 15
 * digits), 2 not known here (the server's strtold decides: "0x10", "1e5000", "inf"). */
static int model_float(const char *p, size_t len) {
    if (len == 0 || p[0] == ' ' || (p[0] >= '\t' && p[0] <= '\r')) return 0;
    if (memchr(p, '\0', len)) return 0;
    size_t i = p[0] == '-', digits = 0, dots = 0;
    for (; i < len; i++) {
        if (p[i] >= '0' && p[i] <= '9')
            digits++;
        else if (p[i] == '.' && dots == 0)
            dots++;
        else
            return 2;
    }
    return digits > 0 && digits <= 15 ? 1 : 2;
}

/* ---- input ---- */

typedef struct input {
    const uint8_t *p;
    size_t left;
} input;

static int take(input *in) {
    if (!in->left) return -1;
    in->left--;
    return *in->p++;
}

static const char *const tokens[] = {
    "0",
    "1",
    "-1",
    "10",
    "9223372036854775807",
    "-9223372036854775808",
    "9223372036854775808",
    "1.5",
    "-0",
    "+1",
    "01",
    " 1",
    "1 ",
    "inf",
    "-inf",
    "nan",
    "1e3",
    "0x10",
    "",
    "EX",
    "PX",
    "EXAT",
    "PXAT",
    "NX",
    "XX",
    "GT",
    "LT",
    "KEEPTTL",
    "GET",
    "FIELDS",
    "WITHVALUES",
    "COUNT",
    "MATCH",
    "TYPE",
    "NOVALUES",
    "*",
    "x?",
    "[a-",
    "\\",
    "FNX",
    "FXX",
    "PERSIST",
    "LEN",
    "IDX",
    "MINMATCHLEN",
    "WITHMATCHLEN",
    "ENCODING",
    "FREQ",
    "IDLETIME",
    "REFCOUNT",
    "HELP",
    "USAGE",
    "SAMPLES",
    "DB",
    "REPLACE",
    "2",
    "-2147483648",
    "100000",
    "4294967296",
    "hash",
    "string",
    "none",
    "f0",
    "f1",
    "x0",
    "x1",
    "x2",
};
#define NTOKENS (sizeof(tokens) / sizeof(tokens[0]))

/* The model's keys and fields begin with a byte no argument of a free step can hold (raw
 * bytes are copied with 0xff turned into 0xfe), so a free step cannot name them. */
static const char *const key_names[NKEYS] = {"\xffk0", "\xffk1", "\xffk2", "\xffk3"};
static const char *const field_names[NFIELDS] = {"f0", "f1", "f2", "f3"};

/* Raw argument bytes of one step (at most 8 arguments of 15 bytes). */
static char raw[8][16];

/* One argument: a token from the pool or up to 15 raw bytes (slot: which raw buffer). */
static slice take_arg_at(input *in, int slot) {
    int sel = take(in);
    if (sel < 0) return slice_of("");
    if (sel < 160) return slice_of(tokens[(size_t)sel % NTOKENS]);
    size_t len = (size_t)sel & 15;
    if (len > in->left) len = in->left;
    for (size_t i = 0; i < len; i++)
        raw[slot][i] = in->p[i] == 0xff ? (char)0xfe : (char)in->p[i];
    in->p += len;
    in->left -= len;
    return (slice){raw[slot], len};
}
static slice take_arg(input *in) {
    return take_arg_at(in, 0);
}

/* A value for the model's steps: a numeric-looking token half of the time. */
static slice take_value(input *in) {
    return take_arg(in);
}

/* ---- running and checking ---- */

static void run(int argc, slice *argv) {
    buf_clear(&sess->out);
    sess->out.over = 0;
    cmd_dispatch(sess, argc, argv);
}

static void expect_out(const char *what) {
    if (sess->out.len != want.len || memcmp(sess->out.data, want.data, want.len) != 0) {
        fprintf(stderr, "%s: expected %.*s got %.*s\n", what, (int)want.len, want.data,
                (int)sess->out.len, sess->out.data);
        check(0, "reply differs from the model");
    }
}

static void want_int(long long v) {
    buf_clear(&want);
    buf_printf(&want, ":%lld\r\n", v);
}
static void want_bulk(const char *p, size_t len) {
    buf_clear(&want);
    buf_printf(&want, "$%zu\r\n", len);
    buf_append(&want, p, len);
    buf_puts(&want, "\r\n");
}
static void want_str(const char *s) {
    buf_clear(&want);
    buf_puts(&want, s);
}
#define WRONGTYPE "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"
#define NOT_INT "-ERR value is not an integer or out of range\r\n"
#define OVERFLOW "-ERR increment or decrement would overflow\r\n"

static void set_mval(mval *m, const char *p, size_t len) {
    m->len = len;
    memcpy(m->p, p, len);
}

static int key_is(int k, int type) {
    return model[k].type == type;
}

static void drop_if_empty_hash(int k) {
    for (int f = 0; f < NFIELDS; f++)
        if (model[k].has[f]) return;
    model[k].type = 0;
}

/* Reads a bulk reply the server gave (for the float commands); 1 if out holds one. */
static int read_bulk(slice *v) {
    const char *p = sess->out.data;
    size_t n = sess->out.len;
    if (n < 4 || p[0] != '$') return 0;
    char *end;
    long len = strtol(p + 1, &end, 10);
    if (len < 0 || end[0] != '\r' || (size_t)(end + 2 - p) + (size_t)len + 2 != n) return 0;
    v->p = end + 2;
    v->len = (size_t)len;
    return 1;
}

/* ---- the model's steps ---- */

static void step_string(int op, int k, input *in, slice *argv) {
    mkey *m = &model[k];
    switch (op) {
    case 0: { /* SET */
        slice v = take_value(in);
        argv[0] = slice_of("SET");
        argv[2] = v;
        run(3, argv);
        want_str("+OK\r\n");
        expect_out("SET");
        memset(m, 0, sizeof(*m));
        m->type = 1;
        set_mval(&m->str, v.p, v.len);
        return;
    }
    case 1: /* GET */
        argv[0] = slice_of("GET");
        run(2, argv);
        if (key_is(k, 2))
            want_str(WRONGTYPE);
        else if (key_is(k, 1))
            want_bulk(m->str.p, m->str.len);
        else
            want_str("$-1\r\n");
        expect_out("GET");
        return;
    case 2: { /* APPEND */
        slice v = take_value(in);
        size_t old = key_is(k, 1) ? m->str.len : 0;
        if (old + v.len >= VAL_MAX) return;
        argv[0] = slice_of("APPEND");
        argv[2] = v;
        run(3, argv);
        if (key_is(k, 2)) {
            want_str(WRONGTYPE);
        } else {
            if (!key_is(k, 1)) {
                m->type = 1;
                m->str.len = 0;
            }
            memcpy(m->str.p + m->str.len, v.p, v.len);
            m->str.len += v.len;
            want_int((long long)m->str.len);
        }
        expect_out("APPEND");
        return;
    }
    case 3: /* STRLEN */
        argv[0] = slice_of("STRLEN");
        run(2, argv);
        if (key_is(k, 2))
            want_str(WRONGTYPE);
        else
            want_int(key_is(k, 1) ? (long long)m->str.len : 0);
        expect_out("STRLEN");
        return;
    case 4: /* DEL */
        argv[0] = slice_of("DEL");
        run(2, argv);
        want_int(m->type != 0);
        expect_out("DEL");
        memset(m, 0, sizeof(*m));
        return;
    case 5: /* TYPE */
        argv[0] = slice_of("TYPE");
        run(2, argv);
        want_str(key_is(k, 1) ? "+string\r\n" : key_is(k, 2) ? "+hash\r\n" : "+none\r\n");
        expect_out("TYPE");
        return;
    default:
        break;
    }
}

static void step_incrby(int k, input *in, slice *argv) {
    mkey *m = &model[k];
    slice v = take_value(in);
    argv[0] = slice_of("INCRBY");
    argv[2] = v;
    run(3, argv);
    long long incr, cur = 0;
    if (!model_ll(v.p, v.len, &incr)) {
        want_str(NOT_INT);
    } else if (key_is(k, 2)) {
        want_str(WRONGTYPE);
    } else if (key_is(k, 1) && !model_ll(m->str.p, m->str.len, &cur)) {
        want_str(NOT_INT);
    } else if ((incr < 0 && cur < 0 && incr < LLONG_MIN - cur) ||
               (incr > 0 && cur > 0 && incr > LLONG_MAX - cur)) {
        want_str(OVERFLOW);
    } else {
        want_int(cur + incr);
        m->type = 1;
        m->str.len = (size_t)snprintf(m->str.p, VAL_MAX, "%lld", cur + incr);
    }
    expect_out("INCRBY");
}

/* INCRBYFLOAT / HINCRBYFLOAT (field >= 0): the model cannot format long doubles as the
 * server does, so it checks the refusals it can predict and then takes the server's
 * answer as the new value. */
static void step_incrbyfloat(int k, int field, input *in, slice *argv) {
    mkey *m = &model[k];
    slice v = take_value(in);
    int argc = 3;
    argv[2] = v;
    if (field >= 0) {
        argv[0] = slice_of("HINCRBYFLOAT");
        argv[2] = slice_of(field_names[field]);
        argv[3] = v;
        argc = 4;
    } else {
        argv[0] = slice_of("INCRBYFLOAT");
    }
    run(argc, argv);
    const mval *cur = NULL;
    if (field < 0 && key_is(k, 1)) cur = &m->str;
    if (field >= 0 && key_is(k, 2) && m->has[field]) cur = &m->field[field];
    /* Redis's order: INCRBYFLOAT checks the type, the value, then the increment;
     * HINCRBYFLOAT the increment, the type, then the value. Where a value's fate is not
     * known to the model, any of the float refusals is accepted. */
    int incr_st = model_float(v.p, v.len), cur_st = cur ? model_float(cur->p, cur->len) : 1;
    const char *expect = NULL;
    if (field < 0) {
        if (key_is(k, 2))
            expect = WRONGTYPE;
        else if (cur_st == 0 || incr_st == 0)
            expect = "-ERR value is not a valid float\r\n";
    } else {
        if (incr_st == 0)
            expect = "-ERR value is not a valid float\r\n";
        else if (key_is(k, 1))
            expect = WRONGTYPE;
        else if (cur_st == 0)
            expect = "-ERR hash value is not a float\r\n";
    }
    if ((incr_st == 2 || cur_st == 2) && sess->out.len && sess->out.data[0] == '-') {
        static const char *const refusals[] = {"-ERR value is not a valid float\r\n",
                                               "-ERR hash value is not a float\r\n",
                                               "-ERR value is NaN or Infinity\r\n",
                                               "-ERR increment would produce NaN or Infinity\r\n"};
        for (size_t i = 0; i < sizeof(refusals) / sizeof(refusals[0]); i++)
            if (sess->out.len == strlen(refusals[i]) &&
                memcmp(sess->out.data, refusals[i], sess->out.len) == 0)
                return;
    }
    if (expect) {
        want_str(expect);
        expect_out(argv[0].p);
        return;
    }
    slice got;
    check(read_bulk(&got), "INCRBYFLOAT: not the new value");
    check(got.len < VAL_MAX, "INCRBYFLOAT: long answer");
    if (field < 0) {
        memset(m, 0, sizeof(*m));
        m->type = 1;
        set_mval(&m->str, got.p, got.len);
    } else {
        m->type = 2;
        m->has[field] = 1;
        set_mval(&m->field[field], got.p, got.len);
    }
}

/* GETRANGE with Redis 8's rules, written out. */
static void step_getrange(int k, input *in, slice *argv) {
    static const long long picks[] = {0,  1, 2,   3,    -1,        -2,       -3,
                                      -5, 5, 100, -100, LLONG_MAX, LLONG_MIN};
    int a = take(in), b = take(in);
    long long start = picks[(unsigned)(a < 0 ? 0 : a) % 13],
              end = picks[(unsigned)(b < 0 ? 0 : b) % 13];
    char sa[24], sb[24];
    snprintf(sa, sizeof(sa), "%lld", start);
    snprintf(sb, sizeof(sb), "%lld", end);
    argv[0] = slice_of("GETRANGE");
    argv[2] = slice_of(sa);
    argv[3] = slice_of(sb);
    run(4, argv);
    if (key_is(k, 2)) {
        want_str(WRONGTYPE);
        expect_out("GETRANGE");
        return;
    }
    long long len = key_is(k, 1) ? (long long)model[k].str.len : 0;
    if (start < 0) start += len;
    if (end < 0) end += len;
    if (len == 0 || start >= len || end < 0 || start > end) {
        want_bulk("", 0);
    } else {
        if (start < 0) start = 0;
        if (end >= len) end = len - 1;
        want_bulk(model[k].str.p + start, (size_t)(end - start + 1));
    }
    expect_out("GETRANGE");
}

static void step_setrange(int k, input *in, slice *argv) {
    mkey *m = &model[k];
    int o = take(in);
    size_t off = (size_t)(o < 0 ? 0 : o) % 40;
    slice v = take_value(in);
    char so[8];
    snprintf(so, sizeof(so), "%zu", off);
    argv[0] = slice_of("SETRANGE");
    argv[2] = slice_of(so);
    argv[3] = v;
    run(4, argv);
    if (key_is(k, 2)) {
        want_str(WRONGTYPE);
    } else if (v.len == 0) {
        want_int(key_is(k, 1) ? (long long)m->str.len : 0);
    } else {
        if (!key_is(k, 1)) {
            m->type = 1;
            m->str.len = 0;
        }
        if (m->str.len < off) memset(m->str.p + m->str.len, 0, off - m->str.len);
        memcpy(m->str.p + off, v.p, v.len);
        if (off + v.len > m->str.len) m->str.len = off + v.len;
        want_int((long long)m->str.len);
    }
    expect_out("SETRANGE");
}

/* ---- hash steps ---- */

static void step_hash(int op, int k, input *in, slice *argv) {
    mkey *m = &model[k];
    int f = take(in);
    f = (f < 0 ? 0 : f) % NFIELDS;
    argv[2] = slice_of(field_names[f]);
    int string = key_is(k, 1);
    switch (op) {
    case 0: { /* HSET */
        slice v = take_value(in);
        argv[0] = slice_of("HSET");
        argv[3] = v;
        run(4, argv);
        if (string) {
            want_str(WRONGTYPE);
        } else {
            want_int(!m->has[f]);
            m->type = 2;
            m->has[f] = 1;
            set_mval(&m->field[f], v.p, v.len);
        }
        expect_out("HSET");
        return;
    }
    case 1: /* HGET */
        argv[0] = slice_of("HGET");
        run(3, argv);
        if (string)
            want_str(WRONGTYPE);
        else if (m->has[f])
            want_bulk(m->field[f].p, m->field[f].len);
        else
            want_str("$-1\r\n");
        expect_out("HGET");
        return;
    case 2: /* HDEL */
        argv[0] = slice_of("HDEL");
        run(3, argv);
        if (string) {
            want_str(WRONGTYPE);
        } else {
            want_int(m->has[f]);
            m->has[f] = 0;
            if (key_is(k, 2)) drop_if_empty_hash(k);
        }
        expect_out("HDEL");
        return;
    case 3: { /* HLEN */
        argv[0] = slice_of("HLEN");
        run(2, argv);
        long long n = 0;
        for (int i = 0; i < NFIELDS; i++)
            n += m->has[i];
        if (string)
            want_str(WRONGTYPE);
        else
            want_int(n);
        expect_out("HLEN");
        return;
    }
    case 4: /* HEXISTS */
        argv[0] = slice_of("HEXISTS");
        run(3, argv);
        if (string)
            want_str(WRONGTYPE);
        else
            want_int(m->has[f]);
        expect_out("HEXISTS");
        return;
    case 5: /* HSTRLEN */
        argv[0] = slice_of("HSTRLEN");
        run(3, argv);
        if (string)
            want_str(WRONGTYPE);
        else
            want_int(m->has[f] ? (long long)m->field[f].len : 0);
        expect_out("HSTRLEN");
        return;
    case 6: { /* HINCRBY */
        slice v = take_value(in);
        argv[0] = slice_of("HINCRBY");
        argv[3] = v;
        run(4, argv);
        long long incr, cur = 0;
        if (!model_ll(v.p, v.len, &incr)) {
            want_str(NOT_INT);
        } else if (string) {
            want_str(WRONGTYPE);
        } else if (m->has[f] && !model_ll(m->field[f].p, m->field[f].len, &cur)) {
            want_str("-ERR hash value is not an integer\r\n");
        } else if ((incr < 0 && cur < 0 && incr < LLONG_MIN - cur) ||
                   (incr > 0 && cur > 0 && incr > LLONG_MAX - cur)) {
            want_str(OVERFLOW);
        } else {
            want_int(cur + incr);
            m->type = 2;
            m->has[f] = 1;
            m->field[f].len = (size_t)snprintf(m->field[f].p, VAL_MAX, "%lld", cur + incr);
        }
        expect_out("HINCRBY");
        return;
    }
    case 7:
        step_incrbyfloat(k, f, in, argv);
        return;
    default:
        break;
    }
}

/* HGETALL: the pairs in any order, each field once, as the model holds them. */
static void step_hgetall(int k, slice *argv) {
    mkey *m = &model[k];
    argv[0] = slice_of("HGETALL");
    run(2, argv);
    if (key_is(k, 1)) {
        want_str(WRONGTYPE);
        expect_out("HGETALL");
        return;
    }
    long long n = 0;
    for (int i = 0; i < NFIELDS; i++)
        n += m->has[i];
    const char *p = sess->out.data, *end = p + sess->out.len;
    char head[24];
    int hl = snprintf(head, sizeof(head), "*%lld\r\n", 2 * n);
    check(sess->out.len >= (size_t)hl && memcmp(p, head, (size_t)hl) == 0, "HGETALL: count");
    p += hl;
    int seen[NFIELDS] = {0};
    for (long long i = 0; i < 2 * n; i++) {
        check(p < end && *p == '$', "HGETALL: not a bulk");
        char *e;
        long len = strtol(p + 1, &e, 10);
        check(len >= 0 && e + 2 + len + 2 <= end, "HGETALL: bulk length");
        slice s = {e + 2, (size_t)len};
        p = e + 2 + len + 2;
        static int f;
        if (i % 2 == 0) {
            f = -1;
            for (int j = 0; j < NFIELDS; j++)
                if (s.len == 2 && memcmp(s.p, field_names[j], 2) == 0) f = j;
            check(f >= 0 && m->has[f] && !seen[f], "HGETALL: unknown or repeated field");
            seen[f] = 1;
        } else {
            check(s.len == m->field[f].len && memcmp(s.p, m->field[f].p, s.len) == 0,
                  "HGETALL: value differs");
        }
    }
    check(p == end, "HGETALL: trailing bytes");
}

/* ---- free steps ---- */

static const char *const free_cmds[] = {
    "SET",        "GET",         "GETEX",       "GETDEL",       "GETSET",    "SETNX",
    "SETEX",      "PSETEX",      "MSET",        "MSETNX",       "MGET",      "APPEND",
    "STRLEN",     "INCR",        "DECR",        "INCRBY",       "DECRBY",    "INCRBYFLOAT",
    "GETRANGE",   "SETRANGE",    "SUBSTR",      "LCS",          "HSET",      "HSETNX",
    "HGET",       "HMGET",       "HMSET",       "HDEL",         "HLEN",      "HSTRLEN",
    "HEXISTS",    "HKEYS",       "HVALS",       "HGETALL",      "HINCRBY",   "HINCRBYFLOAT",
    "HRANDFIELD", "HSCAN",       "HEXPIRE",     "HPEXPIRE",     "HEXPIREAT", "HPEXPIREAT",
    "HTTL",       "HPTTL",       "HEXPIRETIME", "HPEXPIRETIME", "HPERSIST",  "HGETEX",
    "HSETEX",     "HGETDEL",     "DEL",         "UNLINK",       "EXISTS",    "TYPE",
    "KEYS",       "SCAN",        "RANDOMKEY",   "RENAME",       "RENAMENX",  "COPY",
    "EXPIRE",     "PEXPIRE",     "EXPIREAT",    "PEXPIREAT",    "TTL",       "PTTL",
    "EXPIRETIME", "PEXPIRETIME", "PERSIST",     "TOUCH",        "OBJECT",    "DBSIZE",
    "ECHO",       "PING",        "MEMORY",      "WATCH",        "UNWATCH",   "PUBLISH",
    "PUBSUB",     "COMMAND",     "SORT",        "DUMP",         "RESTORE",   "LPUSH",
    "SADD",       "ZADD",        "XADD",        "NOSUCHCOMMAND"};
#define NFREE (sizeof(free_cmds) / sizeof(free_cmds[0]))

/* Validates one RESP2/RESP3 value at *p (nesting bounded); returns 0 if malformed. */
static int valid_resp(const char **pp, const char *end, int depth) {
    const char *p = *pp;
    if (p >= end || depth > 8) return 0;
    const char *nl = memchr(p, '\n', (size_t)(end - p));
    if (!nl || nl == p || nl[-1] != '\r') return 0;
    char t = *p;
    long long n = 0;
    if (strchr("$*%~>=!|", t)) {
        char *e;
        n = strtoll(p + 1, &e, 10);
        if (e != nl - 1 || n < -1) return 0;
    }
    p = nl + 1;
    switch (t) {
    case '+':
    case '-':
    case ':':
    case '_':
    case ',':
    case '#':
    case '(':
        break;
    case '$':
    case '=':
    case '!':
        if (n >= 0) {
            if (end - p < n + 2 || p[n] != '\r' || p[n + 1] != '\n') return 0;
            p += n + 2;
        }
        break;
    case '*':
    case '~':
    case '>':
    case '%':
    case '|':
        if (t == '%' || t == '|') n *= 2;
        for (long long i = 0; i < n; i++)
            if (!valid_resp(&p, end, depth + 1)) return 0;
        break;
    default:
        return 0;
    }
    *pp = p;
    return 1;
}

static void free_step(int op, input *in) {
    slice argv[8];
    argv[0] = slice_of(free_cmds[(size_t)op % NFREE]);
    int x = take(in);
    argv[1] = slice_of(x < 0 ? "x0" : x % 3 == 0 ? "x0" : x % 3 == 1 ? "x1" : "x2");
    int extra = take(in);
    int argc = 2 + (extra < 0 ? 0 : extra % 6);
    for (int i = 2; i < argc; i++)
        argv[i] = take_arg_at(in, i);
    run(argc, argv);
    if (buf_over(&sess->out)) return; /* dropped at the limit, as a client's would be */
    const char *p = sess->out.data, *end = p + sess->out.len;
    while (p < end)
        check(valid_resp(&p, end, 0), "free step: malformed reply");
}

/* ---- the program ---- */

#define MODEL_OPS 19

static void model_step(int op, input *in) {
    int kb = take(in);
    int k = (kb < 0 ? 0 : kb) % NKEYS;
    slice argv[5];
    argv[1] = slice_of(key_names[k]);
    if (op < 6)
        step_string(op, k, in, argv);
    else if (op == 6)
        step_incrby(k, in, argv);
    else if (op == 7)
        step_incrbyfloat(k, -1, in, argv);
    else if (op == 8)
        step_getrange(k, in, argv);
    else if (op == 9)
        step_setrange(k, in, argv);
    else if (op == 10)
        step_hgetall(k, argv);
    else
        step_hash(op - 11, k, in, argv);
}

static void setup(void) {
    server_init(); /* directives, command families and gates, as the server has them */
    const char *err = NULL;
    config_set("proto-max-bulk-len", "1048576", 7, &err);
    db_init_all(16);
    sess = session_new(NULL, NULL);
    buf_set_limit(&sess->out, 1024 * 1024);
    buf_init(&want);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (!sess) setup();
    slice flush = slice_of("FLUSHALL");
    run(1, &flush);
    memset(model, 0, sizeof(model));
    input in = {data, size};
    for (int steps = 0; steps < 256; steps++) {
        int op = take(&in);
        if (op < 0) break;
        if (op < 2 * MODEL_OPS)
            model_step(op % MODEL_OPS, &in);
        else
            free_step(op, &in);
    }
    return 0;
}
