/* cmd_hash: the hash commands without field expiry options (HSET HSETNX HMSET HGET HMGET
 * HDEL HLEN HEXISTS HSTRLEN HKEYS HVALS HGETALL HINCRBY HINCRBYFLOAT HRANDFIELD HSCAN),
 * after Redis 8's t_hash.c: the same argument checks in the same order, the same error
 * texts, the same RESP2/RESP3 shapes.
 *
 * Field TTLs meet these commands in three ways: HSET, HMSET and HSETNX store a field
 * without a TTL (an overwritten field loses its TTL); HINCRBY and HINCRBYFLOAT keep the
 * TTL of the field they change; and every lookup has already reaped the hash's due
 * fields (hash_int.h), so an expired field is absent everywhere: HINCRBY starts it from
 * 0, HLEN does not count it. */
#include "cmd/hash_int.h"
#include "mayfly/cmd/propagate.h"
#include "mayfly/resp/resp.h"
#include "mayfly/util/glob.h"
#include "mayfly/util/rand.h"
#include "mayfly/util/strconv.h"

#include <assert.h>
#include <math.h>
#include <stdio.h>

/* HSET and HMSET: the same work, different replies. */
static void hset_generic(cmd_ctx *c, int hmset) {
    if (c->argc % 2 == 1) {
        reply_arity_error(c);
        return;
    }
    slice key = c->argv[1];
    dbentry *e;
    if (hc_write(c, key, &e) < 0) return;
    if (!e) e = hc_create(c, key);
    hash_limits lim = hc_limits();
    long long created = 0;
    hc_run run;
    hash **hp = hc_open(e, &run);
    for (int j = 2; j < c->argc; j += 2)
        created += hash_set(hp, &lim, c->now_ms, c->argv[j], c->argv[j + 1], HASH_TTL_CLEAR, 0);
    e = hc_close(c, e, &run);
    hc_finish(c, e, key);
    if (hmset)
        reply_ok(c);
    else
        reply_int(c, created);
    db_touch(c->db, key);
    notify_keyspace_event(NOTIFY_HASH, "hset", key, c->db->id);
    hc_notify_fields(c, "hset", key, 2, 2, (size_t)(c->argc - 2) / 2);
}

static void cmd_hset(cmd_ctx *c) {
    hset_generic(c, 0);
}
static void cmd_hmset(cmd_ctx *c) {
    hset_generic(c, 1);
}

static void cmd_hsetnx(cmd_ctx *c) {
    slice key = c->argv[1];
    dbentry *e;
    if (hc_write(c, key, &e) < 0) return;
    if (e && hash_get(hc_hash(e), c->now_ms, c->argv[2], NULL) == HASH_OK) {
        reply_int(c, 0);
        return;
    }
    if (!e) e = hc_create(c, key);
    hash_limits lim = hc_limits();
    hc_set(c, &e, &lim, c->argv[2], c->argv[3], HASH_TTL_CLEAR, 0);
    hc_finish(c, e, key);
    reply_int(c, 1);
    db_touch(c->db, key);
    notify_keyspace_event(NOTIFY_HASH, "hset", key, c->db->id);
    hc_notify_fields(c, "hset", key, 2, 1, 1);
}

/* Replies the value of field in the hash of e (nil if e is NULL or the field absent). */
static void reply_field(cmd_ctx *c, dbentry *e, slice field) {
    hash_entry he;
    if (e && hash_get(hc_hash(e), c->now_ms, field, &he) == HASH_OK)
        reply_bulk_slice(c, he.value);
    else
        reply_null(c);
}

static void cmd_hget(cmd_ctx *c) {
    dbentry *e;
    if (hc_read(c, c->argv[1], &e) < 0) return;
    reply_field(c, e, c->argv[2]);
}

static void cmd_hmget(cmd_ctx *c) {
    dbentry *e;
    if (hc_read(c, c->argv[1], &e) < 0) return;
    reply_array(c, (size_t)c->argc - 2);
    /* The same big field asked for a million times is a huge reply from a small request. */
    for (int j = 2; j < c->argc && !reply_aborted(c); j++)
        reply_field(c, e, c->argv[j]);
}

static void cmd_hdel(cmd_ctx *c) {
    slice key = c->argv[1];
    dbentry *e;
    if (hc_write(c, key, &e) < 0) return;
    if (!e) {
        reply_int(c, 0);
        return;
    }
    long long deleted = 0;
    hc_changed ch;
    hc_changed_init(&ch);
    hc_run run;
    hash **hp = hc_open(e, &run);
    for (int j = 2; j < c->argc; j++) {
        if (!hash_del(hp, c->now_ms, c->argv[j])) continue;
        deleted++;
        hc_changed_add(&ch, c->argv[j]);
    }
    e = hc_close(c, e, &run);
    if (deleted) {
        db_touch(c->db, key);
        notify_keyspace_event(NOTIFY_HASH, "hdel", key, c->db->id);
        hc_changed_publish(c, &ch, "hdel", key);
        hc_finish(c, e, key);
    }
    reply_int(c, deleted);
}

static void cmd_hlen(cmd_ctx *c) {
    dbentry *e;
    if (hc_read(c, c->argv[1], &e) < 0) return;
    reply_int(c, e ? (long long)hash_len(hc_hash(e), c->now_ms) : 0);
}

static void cmd_hexists(cmd_ctx *c) {
    dbentry *e;
    if (hc_read(c, c->argv[1], &e) < 0) return;
    reply_int(c, e && hash_get(hc_hash(e), c->now_ms, c->argv[2], NULL) == HASH_OK);
}

static void cmd_hstrlen(cmd_ctx *c) {
    dbentry *e;
    if (hc_read(c, c->argv[1], &e) < 0) return;
    hash_entry he;
    if (e && hash_get(hc_hash(e), c->now_ms, c->argv[2], &he) == HASH_OK)
        reply_int(c, (long long)he.value.len);
    else
        reply_int(c, 0);
}

enum { WANT_FIELDS = 1, WANT_VALUES = 2 };

/* HKEYS, HVALS, HGETALL. HGETALL replies a map (a flat array in RESP2). */
static void getall_generic(cmd_ctx *c, int what) {
    dbentry *e;
    if (hc_read(c, c->argv[1], &e) < 0) return;
    int both = what == (WANT_FIELDS | WANT_VALUES);
    size_t n = e ? hash_len(hc_hash(e), c->now_ms) : 0;
    if (both)
        reply_map(c, n);
    else
        reply_array(c, n);
    if (!e) return;
    hash_iter it;
    hash_entry he;
    size_t emitted = 0;
    hash_iter_init(&it, hc_hash(e), c->now_ms);
    while (hash_iter_next(&it, &he)) {
        if (what & WANT_FIELDS) reply_bulk_slice(c, he.field);
        if (what & WANT_VALUES) reply_bulk_slice(c, he.value);
        emitted++;
        if (reply_aborted(c)) break;
    }
    hash_iter_deinit(&it);
    assert(emitted == n || reply_aborted(c));
}

static void cmd_hkeys(cmd_ctx *c) {
    getall_generic(c, WANT_FIELDS);
}
static void cmd_hvals(cmd_ctx *c) {
    getall_generic(c, WANT_VALUES);
}
static void cmd_hgetall(cmd_ctx *c) {
    getall_generic(c, WANT_FIELDS | WANT_VALUES);
}

/* Stores the new value of an increment, keeping the field's TTL, and notifies event. */
static void store_incr(cmd_ctx *c, dbentry *e, const char *p, size_t len, const char *event) {
    slice key = c->argv[1];
    if (!e) e = hc_create(c, key);
    hash_limits lim = hc_limits();
    hc_set(c, &e, &lim, c->argv[2], (slice){p, len}, HASH_TTL_KEEP, 0);
    hc_finish(c, e, key);
    db_touch(c->db, key);
    notify_keyspace_event(NOTIFY_HASH, event, key, c->db->id);
    hc_notify_fields(c, event, key, 2, 1, 1);
}

static void cmd_hincrby(cmd_ctx *c) {
    long long incr, value = 0;
    if (arg_ll(c, c->argv[3], &incr) < 0) return;
    dbentry *e;
    if (hc_write(c, c->argv[1], &e) < 0) return;
    hash_entry he;
    if (e && hash_get(hc_hash(e), c->now_ms, c->argv[2], &he) == HASH_OK &&
        str_to_ll(he.value.p, he.value.len, &value) < 0) {
        reply_error(c, "ERR hash value is not an integer");
        return;
    }
    if (incr_ll_add(c, &value, incr) < 0) return;
    char tmp[STRCONV_LL_MAX];
    size_t len = ll_to_str(tmp, value);
    store_incr(c, e, tmp, len, "hincrby");
    reply_int(c, value);
}

static void cmd_hincrbyfloat(cmd_ctx *c) {
    long double incr, value = 0;
    if (str_to_ld(c->argv[3].p, c->argv[3].len, &incr) < 0) {
        reply_error(c, ERR_NOT_FLOAT);
        return;
    }
    if (isnan(incr) || isinf(incr)) {
        reply_error(c, "ERR value is NaN or Infinity");
        return;
    }
    dbentry *e;
    if (hc_write(c, c->argv[1], &e) < 0) return;
    hash_entry he;
    if (e && hash_get(hc_hash(e), c->now_ms, c->argv[2], &he) == HASH_OK &&
        str_to_ld(he.value.p, he.value.len, &value) < 0) {
        reply_error(c, "ERR hash value is not a float");
        return;
    }
    char tmp[STRCONV_LD_MAX];
    size_t len = incr_float_format(c, value, incr, tmp);
    if (!len) return;
    store_incr(c, e, tmp, len, "hincrbyfloat");
    /* Replay must not redo float arithmetic: log the result, keeping the field's TTL. */
    slice argv[7] = {slice_of("hsetex"), c->argv[1], slice_of("KEEPTTL"), slice_of("FIELDS"),
                     slice_of("1"),      c->argv[2], {tmp, len}};
    propagate_argv(c, 7, argv);
    reply_bulk(c, tmp, len);
}

/* ---- HRANDFIELD ---------------------------------------------------------------------- */

typedef struct rand_reply {
    cmd_ctx *c;
    int withvalues;
} rand_reply;

static void emit_random(const hash_entry *he, void *arg) {
    rand_reply *r = arg;
    if (r->withvalues && r->c->proto == 3) reply_array(r->c, 2);
    reply_bulk_slice(r->c, he->field);
    if (r->withvalues) reply_bulk_slice(r->c, he->value);
}

/* A negative count asks for count independent draws, so the reply's size has nothing to
 * do with the hash's (HRANDFIELD h -2147483648 on a 3-field hash is 20 GB of reply). Past
 * RAND_STREAM_BYTES (estimated) the reply is streamed: the live fields are copied aside
 * once (bounded by the hash) and the draws are written a part at a time as the client
 * reads (session_stream), so memory stays bounded and other clients are served between
 * the parts. Within EXEC or a script, or with the reply discarded, it is built whole (as
 * Redis does), bounded by the client's output limit. */
#define RAND_STREAM_BYTES (1024 * 1024)
#define RAND_BATCH 1024       /* draws between checks of reply_aborted */
#define RAND_PART (64 * 1024) /* bytes per stream step */

typedef struct rand_pick {
    size_t off, flen, vlen; /* field at data + off, its value right after it */
} rand_pick;

typedef struct rand_stream {
    unsigned long long left; /* draws still to write */
    int withvalues, proto;
    size_t n;
    rand_pick *picks; /* the live fields when the command ran */
    buf data;
} rand_stream;

static void rand_stream_free(void *state) {
    rand_stream *rs = state;
    buf_deinit(&rs->data);
    mem_free(rs->picks);
    mem_free(rs);
}

static int rand_stream_step(void *state, buf *out) {
    rand_stream *rs = state;
    size_t start = out->len;
    while (rs->left && out->len - start < RAND_PART && !buf_over(out)) {
        const rand_pick *p = &rs->picks[rand_below(rs->n)];
        if (rs->withvalues && rs->proto == 3) resp_w_array(out, 2);
        resp_w_bulk(out, rs->data.data + p->off, p->flen);
        if (rs->withvalues) resp_w_bulk(out, rs->data.data + p->off + p->flen, p->vlen);
        rs->left--;
        if (out->len < start) start = 0; /* the buffer dropped its contents (over) */
    }
    return rs->left == 0 || buf_over(out);
}

static void snapshot_field(const hash_entry *he, void *arg) {
    rand_stream *rs = arg;
    rand_pick *p = &rs->picks[rs->n++];
    p->off = rs->data.len;
    p->flen = he->field.len;
    p->vlen = rs->withvalues ? he->value.len : 0;
    buf_append(&rs->data, he->field.p, he->field.len);
    if (rs->withvalues) buf_append(&rs->data, he->value.p, he->value.len);
}

/* Starts streaming count draws from h (the array header is already written). */
static void rand_stream_start(cmd_ctx *c, hash *h, size_t size, size_t count, int withvalues) {
    rand_stream *rs = mem_calloc(1, sizeof(*rs));
    rs->left = count;
    rs->withvalues = withvalues;
    rs->proto = c->proto;
    rs->picks = mem_alloc(size * sizeof(*rs->picks));
    buf_init(&rs->data);
    hash_iter it;
    hash_entry he;
    hash_iter_init(&it, h, c->now_ms);
    while (rs->n < size && hash_iter_next(&it, &he))
        snapshot_field(&he, rs);
    hash_iter_deinit(&it);
    session_stream_start(c->s, rand_stream_step, rand_stream_free, rs);
}

/* Whether count draws from h would make a reply worth streaming (about RAND_STREAM_BYTES
 * or more, from the hash's average entry size). */
static int rand_worth_streaming(const hash *h, size_t size, size_t count) {
    long double per = (long double)obj_memory((const obj *)h) / (long double)size + 8;
    return (long double)count * per > RAND_STREAM_BYTES;
}

/* HRANDFIELD key count [WITHVALUES]: distinct fields for count >= 0, repetitions allowed
 * for count < 0. RESP3 nests each field-value pair in its own array. */
static void hrandfield_count(cmd_ctx *c, long long l, int withvalues) {
    dbentry *e;
    if (hc_read(c, c->argv[1], &e) < 0) return;
    if (!e || l == 0) {
        reply_array(c, 0);
        return;
    }
    hash *h = hc_hash(e);
    size_t size = hash_len(h, c->now_ms);
    int uniq = l > 0;
    size_t count = (size_t)(uniq ? l : -l);
    size_t n = uniq && count > size ? size : count;
    reply_array(c, withvalues && c->proto == 2 ? n * 2 : n);
    rand_reply r = {c, withvalues};
    if (uniq) {
        size_t emitted = hash_random_distinct(h, c->now_ms, count, emit_random, &r);
        assert(emitted == n);
        return;
    }
    if (c->may_stream && rand_worth_streaming(h, size, count)) {
        rand_stream_start(c, h, size, count, withvalues);
        return;
    }
    /* In batches, stopping once the reply is past the client's output limit (Redis breaks
     * out on CLIENT_CLOSE_ASAP). A compact hash indexes its entries per batch, so a batch
     * is at least the hash's size. */
    size_t batch = size > RAND_BATCH ? size : RAND_BATCH;
    for (size_t left = count; left && !reply_aborted(c);) {
        size_t k = left < batch ? left : batch;
        hash_random_repeat(h, c->now_ms, k, emit_random, &r);
        left -= k;
    }
}

static void cmd_hrandfield(cmd_ctx *c) {
    if (c->argc >= 3) {
        long long l;
        if (arg_ll(c, c->argv[2], &l) < 0) return;
        if (l < -LLONG_MAX) {
            reply_errorf(c, "ERR value is out of range, value must between %lld and %lld",
                         -LLONG_MAX, LLONG_MAX);
            return;
        }
        if (c->argc > 4 || (c->argc == 4 && !slice_eq_ci(c->argv[3], "WITHVALUES"))) {
            reply_syntax_error(c);
            return;
        }
        int withvalues = c->argc == 4;
        if (withvalues && (l < -LLONG_MAX / 2 || l > LLONG_MAX / 2)) {
            reply_error(c, "ERR value is out of range");
            return;
        }
        hrandfield_count(c, l, withvalues);
        return;
    }
    dbentry *e;
    if (hc_read(c, c->argv[1], &e) < 0) return;
    hash_entry he;
    if (!e || hash_random(hc_hash(e), c->now_ms, &he) != HASH_OK) {
        reply_null(c);
        return;
    }
    reply_bulk_slice(c, he.field);
}

/* ---- HSCAN --------------------------------------------------------------------------- */

typedef struct hscan_reply {
    cmd_ctx *c;
    slice pat;
    int use_pat, novalues;
    size_t items; /* bulk strings written */
} hscan_reply;

static void emit_scanned(const hash_entry *he, void *arg) {
    hscan_reply *r = arg;
    if (r->use_pat && !glob_match(r->pat.p, r->pat.len, he->field.p, he->field.len, 0)) return;
    reply_bulk_slice(r->c, he->field);
    r->items++;
    if (!r->novalues) {
        reply_bulk_slice(r->c, he->value);
        r->items++;
    }
}

/* HSCAN key cursor [MATCH pattern] [COUNT count] [NOVALUES]. As in Redis, the cursor is
 * checked first, a missing key answers an empty scan before the options are read, and a
 * compact hash is returned whole with cursor 0. */
static void cmd_hscan(cmd_ctx *c) {
    unsigned long long cursor;
    if (arg_cursor(c, c->argv[2], &cursor) < 0) return;
    dbentry *e;
    if (hc_read(c, c->argv[1], &e) < 0) return;
    if (!e) {
        reply_array(c, 2);
        reply_bulk(c, "0", 1);
        reply_array(c, 0);
        return;
    }
    long long count = 10;
    hscan_reply r = {.c = c};
    for (int j = 3; j < c->argc;) {
        slice o = c->argv[j];
        int has_value = j + 1 < c->argc;
        if (slice_eq_ci(o, "COUNT") && has_value) {
            if (arg_ll(c, c->argv[j + 1], &count) < 0) return;
            if (count < 1) {
                reply_syntax_error(c);
                return;
            }
            j += 2;
        } else if (slice_eq_ci(o, "MATCH") && has_value) {
            r.pat = c->argv[j + 1];
            r.use_pat = !(r.pat.len == 1 && r.pat.p[0] == '*');
            j += 2;
        } else if (slice_eq_ci(o, "NOVALUES")) {
            r.novalues = 1;
            j++;
        } else {
            reply_syntax_error(c);
            return;
        }
    }
    /* The items are written aside first: the cursor that precedes them is known only
     * after the walk. */
    buf items;
    buf_init(&items);
    buf_set_limit(&items, c->out->limit); /* a huge COUNT is bounded as the reply is */
    buf *out = c->out;
    c->out = &items;
    size_t step = count > (1LL << 40) ? (size_t)1 << 40 : (size_t)count; /* no overflow */
    uint64_t next = hash_scan(hc_hash(e), c->now_ms, cursor, step, emit_scanned, &r);
    c->out = out;
    if (buf_over(&items)) {
        buf_drop(c->out);
        buf_deinit(&items);
        return;
    }
    char cur[STRCONV_LL_MAX + 1];
    size_t clen = (size_t)snprintf(cur, sizeof(cur), "%llu", (unsigned long long)next);
    reply_array(c, 2);
    reply_bulk(c, cur, clen);
    reply_array(c, r.items);
    if (items.len) buf_append(c->out, items.data, items.len);
    buf_deinit(&items);
}

#define HASH_RW(acl) "@write @hash " acl
#define HASH_RO(acl) "@read @hash " acl

const cmd_spec cmd_family_hash[] = {
    {"hset", cmd_hset, -4, CMD_WRITE | CMD_DENYOOM | CMD_FAST, 1, 1, 1, "hash", "2.0.0",
     "O(1) for each field/value pair added, so O(N) to add N field/value pairs when the command "
     "is called with multiple field/value pairs.",
     "Creates or modifies the value of a field in a hash.", "key field value [field value ...]",
     NULL, HASH_RW("@fast"), KS_RW | KS_UPDATE},
    {"hsetnx", cmd_hsetnx, 4, CMD_WRITE | CMD_DENYOOM | CMD_FAST, 1, 1, 1, "hash", "2.0.0", "O(1)",
     "Sets the value of a field in a hash only when the field doesn't exist.", "key field value",
     NULL, HASH_RW("@fast"), KS_RW | KS_INSERT},
    {"hmset", cmd_hmset, -4, CMD_WRITE | CMD_DENYOOM | CMD_FAST, 1, 1, 1, "hash", "2.0.0",
     "O(N) where N is the number of fields being set.", "Sets the values of multiple fields.",
     "key field value [field value ...]", NULL, HASH_RW("@fast"), KS_RW | KS_UPDATE},
    {"hget", cmd_hget, 3, CMD_READONLY | CMD_FAST, 1, 1, 1, "hash", "2.0.0", "O(1)",
     "Returns the value of a field in a hash.", "key field", NULL, HASH_RO("@fast"),
     KS_RO | KS_ACCESS},
    {"hmget", cmd_hmget, -3, CMD_READONLY | CMD_FAST, 1, 1, 1, "hash", "2.0.0",
     "O(N) where N is the number of fields being requested.",
     "Returns the values of all fields in a hash.", "key field [field ...]", NULL, HASH_RO("@fast"),
     KS_RO | KS_ACCESS},
    {"hdel", cmd_hdel, -3, CMD_WRITE | CMD_FAST, 1, 1, 1, "hash", "2.0.0",
     "O(N) where N is the number of fields to be removed.",
     "Deletes one or more fields and their values from a hash. Deletes the hash if no fields "
     "remain.",
     "key field [field ...]", NULL, HASH_RW("@fast"), KS_RW | KS_DELETE},
    {"hlen", cmd_hlen, 2, CMD_READONLY | CMD_FAST, 1, 1, 1, "hash", "2.0.0", "O(1)",
     "Returns the number of fields in a hash.", "key", NULL, HASH_RO("@fast"), KS_RO},
    {"hexists", cmd_hexists, 3, CMD_READONLY | CMD_FAST, 1, 1, 1, "hash", "2.0.0", "O(1)",
     "Determines whether a field exists in a hash.", "key field", NULL, HASH_RO("@fast"), KS_RO},
    {"hstrlen", cmd_hstrlen, 3, CMD_READONLY | CMD_FAST, 1, 1, 1, "hash", "3.2.0", "O(1)",
     "Returns the length of the value of a field.", "key field", NULL, HASH_RO("@fast"), KS_RO},
    {"hkeys", cmd_hkeys, 2, CMD_READONLY, 1, 1, 1, "hash", "2.0.0",
     "O(N) where N is the size of the hash.", "Returns all fields in a hash.", "key", NULL,
     HASH_RO("@slow"), KS_RO | KS_ACCESS},
    {"hvals", cmd_hvals, 2, CMD_READONLY, 1, 1, 1, "hash", "2.0.0",
     "O(N) where N is the size of the hash.", "Returns all values in a hash.", "key", NULL,
     HASH_RO("@slow"), KS_RO | KS_ACCESS},
    {"hgetall", cmd_hgetall, 2, CMD_READONLY, 1, 1, 1, "hash", "2.0.0",
     "O(N) where N is the size of the hash.", "Returns all fields and values in a hash.", "key",
     NULL, HASH_RO("@slow"), KS_RO | KS_ACCESS},
    {"hincrby", cmd_hincrby, 4, CMD_WRITE | CMD_DENYOOM | CMD_FAST, 1, 1, 1, "hash", "2.0.0",
     "O(1)",
     "Increments the integer value of a field in a hash by a number. Uses 0 as initial "
     "value if the field doesn't exist.",
     "key field increment", NULL, HASH_RW("@fast"), KS_RW | KS_ACCESS | KS_UPDATE},
    {"hincrbyfloat", cmd_hincrbyfloat, 4, CMD_WRITE | CMD_DENYOOM | CMD_FAST, 1, 1, 1, "hash",
     "2.6.0", "O(1)",
     "Increments the floating point value of a field by a number. Uses 0 as initial value if "
     "the field doesn't exist.",
     "key field increment", NULL, HASH_RW("@fast"), KS_RW | KS_ACCESS | KS_UPDATE},
    {"hrandfield", cmd_hrandfield, -2, CMD_READONLY, 1, 1, 1, "hash", "6.2.0",
     "O(N) where N is the number of fields returned",
     "Returns one or more random fields from a hash.", "key [count [WITHVALUES]]", NULL,
     HASH_RO("@slow"), KS_RO | KS_ACCESS},
    {"hscan", cmd_hscan, -3, CMD_READONLY, 1, 1, 1, "hash", "2.8.0",
     "O(1) for every call. O(N) for a complete iteration, including enough command calls for "
     "the cursor to return back to 0. N is the number of elements inside the collection.",
     "Iterates over fields and values of a hash.",
     "key cursor [MATCH pattern] [COUNT count] [NOVALUES]", NULL, HASH_RO("@slow"),
     KS_RO | KS_ACCESS},
    {0},
};

/* The conversion limits of the compact encoding, read by hc_limits (hash_int.h). */
const config_row cmd_hash_config_rows[] = {
    {.name = "hash-max-listpack-entries",
     .alias = "hash-max-ziplist-entries",
     .kind = CONFIG_INT,
     .ptr = &config.hash_max_listpack_entries,
     .max = LLONG_MAX,
     .def = "512"},
    {.name = "hash-max-listpack-value",
     .alias = "hash-max-ziplist-value",
     .kind = CONFIG_MEM,
     .ptr = &config.hash_max_listpack_value,
     .max = LLONG_MAX,
     .def = "64"},
    {0},
};
