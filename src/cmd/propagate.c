/* propagate: collecting the effects of commands for the sink; see propagate.h.
 *
 * Records of the running top-level command are packed into one buffer:
 *
 *     { dbid i32 | time_ms i64 | argc i32 | { len u64 | bytes }* }*
 *
 * and unpacked into argv slices when the command returns. depth counts nested calls
 * (EXEC runs its queued commands through cmd_call). */
#include "mayfly/cmd/propagate.h"

#include "mayfly/db/db.h"
#include "mayfly/util/buf.h"
#include "mayfly/util/clock.h"
#include "mayfly/util/mem.h"
#include "mayfly/util/strconv.h"

#include <string.h>

propagate_sink *propagate_to;

static int depth;          /* cmd_call nesting */
static int64_t top_now_ms; /* "now" of the running top-level command */
static buf pending;        /* packed records of the running top-level command */
static int npending;       /* records in pending */
static slice *scratch;     /* unpacking space */
static int scratch_cap;

static void pack(int dbid, int64_t time_ms, int argc, const slice *argv) {
    int32_t id = dbid, ac = argc;
    buf_append(&pending, &id, sizeof(id));
    buf_append(&pending, &time_ms, sizeof(time_ms));
    buf_append(&pending, &ac, sizeof(ac));
    for (int i = 0; i < argc; i++) {
        uint64_t len = argv[i].len;
        buf_append(&pending, &len, sizeof(len));
        buf_append(&pending, argv[i].p, argv[i].len);
    }
    npending++;
}

/* Hands one record to the sink, or packs it while a command runs. */
static void emit(int dbid, int64_t time_ms, int argc, const slice *argv) {
    if (!propagate_to) return;
    if (depth > 0)
        pack(dbid, time_ms, argc, argv);
    else
        propagate_to(dbid, time_ms, argc, argv);
}

static void flush_pending(void) {
    if (npending == 0 || !propagate_to) goto done;
    const char *p = pending.data, *end = pending.data + pending.len;
    int wrap = npending > 1;
    int first_db = 0;
    int64_t first_time = 0;
    memcpy(&first_db, p, sizeof(int32_t));
    memcpy(&first_time, p + sizeof(int32_t), sizeof(int64_t));
    slice word = slice_of("multi");
    if (wrap) propagate_to(first_db, first_time, 1, &word);
    int32_t cur_db = first_db;
    while (p < end) {
        int32_t id, argc;
        int64_t t;
        memcpy(&id, p, sizeof(id));
        p += sizeof(id);
        memcpy(&t, p, sizeof(t));
        p += sizeof(t);
        memcpy(&argc, p, sizeof(argc));
        p += sizeof(argc);
        if (argc > scratch_cap) {
            scratch_cap = argc < 16 ? 16 : argc;
            scratch = mem_realloc(scratch, sizeof(slice) * (size_t)scratch_cap);
        }
        if (wrap && id != cur_db) {
            /* Inside MULTI replay runs everything in one session: switch it explicitly. */
            char tmp[STRCONV_LL_MAX];
            slice sel[2] = {slice_of("select"), propagate_ll(tmp, id)};
            propagate_to(id, t, 2, sel);
            cur_db = id;
        }
        for (int i = 0; i < argc; i++) {
            uint64_t len;
            memcpy(&len, p, sizeof(len));
            p += sizeof(len);
            scratch[i] = (slice){p, (size_t)len};
            p += len;
        }
        propagate_to(id, t, argc, scratch);
    }
    word = slice_of("exec");
    if (wrap) propagate_to(first_db, first_time, 1, &word);
done:
    buf_clear(&pending);
    buf_shrink(&pending, 64 * 1024);
    npending = 0;
}

void propagate_argv(cmd_ctx *c, int argc, const slice *argv) {
    c->propagate_replaced = 1;
    emit(c->db->id, c->now_ms, argc, argv);
}

void propagate_none(cmd_ctx *c) {
    c->propagate_replaced = 1;
}

slice propagate_ll(char *tmp, long long v) {
    return (slice){tmp, ll_to_str(tmp, v)};
}

void propagate_del(cmd_ctx *c, slice key) {
    slice argv[2] = {slice_of("del"), key};
    propagate_argv(c, 2, argv);
}

void propagate_pexpireat(cmd_ctx *c, slice key, int64_t when_ms) {
    char tmp[STRCONV_LL_MAX];
    slice argv[3] = {slice_of("pexpireat"), key, propagate_ll(tmp, when_ms)};
    propagate_argv(c, 3, argv);
}

void propagate_call_begin(cmd_ctx *c) {
    if (depth++ == 0) top_now_ms = c->now_ms;
    c->propagate_replaced = 0;
    c->dirty_at_start = db_stat.dirty;
}

void propagate_call_end(cmd_ctx *c) {
    if (!c->propagate_replaced && (c->cmd->flags & CMD_WRITE) &&
        db_stat.dirty != c->dirty_at_start && propagate_to) {
        if (depth == 1 && npending == 0) {
            /* The common case, a top-level command with one record of its own argv: hand it
             * to the sink directly, without packing and unpacking it. */
            depth = 0;
            propagate_to(c->db->id, c->now_ms, c->argc, c->argv);
            return;
        }
        pack(c->db->id, c->now_ms, c->argc, c->argv);
    }
    if (--depth == 0 && npending) flush_pending();
}

/* ---- expiry hooks ---- */

/* The time of a reap: the running command's "now", else the clock (active expiry). */
static int64_t reap_time(void) {
    return depth > 0 ? top_now_ms : clock_now_ms();
}

static void on_key_expired(db *d, const char *key, size_t klen) {
    slice argv[2] = {slice_of("del"), {key, klen}};
    emit(d->id, reap_time(), 2, argv);
}

static void on_fields_expired(db *d, const char *key, size_t klen, const slice *fields, size_t n) {
    if (propagate_to && n > 0) {
        slice small[16];
        slice *argv = n + 2 <= 16 ? small : mem_alloc(sizeof(slice) * (n + 2));
        argv[0] = slice_of("hdel");
        argv[1] = (slice){key, klen};
        memcpy(argv + 2, fields, sizeof(slice) * n);
        emit(d->id, reap_time(), (int)(n + 2), argv);
        if (argv != small) mem_free(argv);
    }
}

static int fields_wanted(void) {
    return propagate_to != NULL;
}

static const db_hooks hooks = {
    .key_expired = on_key_expired,
    .fields_expired = on_fields_expired,
    .fields_wanted = fields_wanted,
};

void propagate_init(void) {
    db_hooks_add(&hooks);
}
