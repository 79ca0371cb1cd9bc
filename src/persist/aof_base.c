/* aof_base: the log's base file, RDB or RESP; see aof_base.h. */
#include "mayfly/config.h"
#include "mayfly/db/db.h"
#include "mayfly/rdb/rdb.h"
#include "mayfly/types/hash.h"
#include "mayfly/types/string.h"
#include "mayfly/util/buf.h"
#include "mayfly/util/clock.h"
#include "mayfly/util/mem.h"
#include "mayfly/util/strconv.h"
#include "persist/aof_base_int.h"
#include "persist/io_int.h"
#include "persist/record_int.h"
#include "persist/snapshot_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define FLUSH_AT (64 * 1024)
#define ITEMS_PER_CMD 64 /* Redis's AOF_REWRITE_ITEMS_PER_CMD */

typedef struct resp_writer {
    int fd;
    int err; /* errno of the first failed write */
    buf out;
    hash_entry *f; /* scratch: the fields of the hash being written */
    size_t cap;
} resp_writer;

static void maybe_flush(resp_writer *w, int force) {
    if (w->err || (!force && w->out.len < FLUSH_AT)) return;
    if (w->out.len && io_write_all(w->fd, w->out.data, w->out.len) < 0)
        w->err = errno ? errno : EIO;
    buf_clear(&w->out);
}

static void put(resp_writer *w, int argc, const slice *argv) {
    record_put(&w->out, argc, argv);
    maybe_flush(w, 0);
}

static void put_pexpireat(resp_writer *w, slice key, int64_t when) {
    char t[STRCONV_LL_MAX];
    slice argv[3] = {slice_of("PEXPIREAT"), key, {t, ll_to_str(t, when)}};
    put(w, 3, argv);
}

static int cmp_deadline(const void *a, const void *b) {
    const hash_entry *x = a, *y = b;
    return (x->deadline > y->deadline) - (x->deadline < y->deadline);
}

static void write_hash(resp_writer *w, slice key, hash *h, int64_t now_ms) {
    size_t n = 0, ttls = 0;
    hash_iter it;
    hash_entry e;
    hash_iter_init(&it, h, now_ms);
    while (hash_iter_next(&it, &e)) {
        if (n == w->cap) {
            w->cap = w->cap ? w->cap * 2 : 64;
            w->f = mem_realloc(w->f, w->cap * sizeof(*w->f));
        }
        w->f[n++] = e;
        ttls += e.deadline != HASH_NO_TTL;
    }
    hash_iter_deinit(&it);
    slice argv[2 + 2 * ITEMS_PER_CMD];
    for (size_t i = 0; i < n; i += ITEMS_PER_CMD) {
        size_t k = n - i < ITEMS_PER_CMD ? n - i : ITEMS_PER_CMD;
        argv[0] = slice_of("HMSET");
        argv[1] = key;
        for (size_t j = 0; j < k; j++) {
            argv[2 + 2 * j] = w->f[i + j].field;
            argv[3 + 2 * j] = w->f[i + j].value;
        }
        put(w, (int)(2 + 2 * k), argv);
    }
    if (!ttls) return;
    /* Fields with a deadline, earliest first; one command per deadline (64 fields at most). */
    qsort(w->f, n, sizeof(*w->f), cmp_deadline);
    char t[STRCONV_LL_MAX], cnt[STRCONV_LL_MAX];
    for (size_t i = n - ttls; i < n;) {
        size_t k = 1;
        while (i + k < n && k < ITEMS_PER_CMD && w->f[i + k].deadline == w->f[i].deadline)
            k++;
        argv[0] = slice_of("HPEXPIREAT");
        argv[1] = key;
        argv[2] = (slice){t, ll_to_str(t, w->f[i].deadline)};
        argv[3] = slice_of("FIELDS");
        argv[4] = (slice){cnt, ll_to_str(cnt, (long long)k)};
        for (size_t j = 0; j < k; j++)
            argv[5 + j] = w->f[i + j].field;
        put(w, (int)(5 + k), argv);
        i += k;
    }
}

/* The keys of database id live at now_ms, after a SELECT. */
static void write_db(resp_writer *w, int id, int64_t now_ms) {
    db *d = db_get(id);
    if (db_size(d) == 0) return;
    record_put_select(&w->out, id);
    dict_iter it;
    dict_iter_init(&it, &d->keys);
    for (dict_node *n = dict_iter_next(&it); n && !w->err; n = dict_iter_next(&it)) {
        dbentry *e = (dbentry *)n;
        if (db_entry_expire(e) != 0 && db_entry_expire(e) <= now_ms) continue;
        slice key = dbentry_key(e);
        if (e->val->type == OBJ_HASH) {
            hash *h = (hash *)e->val;
            if (hash_len(h, now_ms) == 0) continue;
            write_hash(w, key, h, now_ms);
        } else {
            char tmp[STRCONV_LL_MAX];
            slice argv[3] = {slice_of("SET"), key, string_bytes((const string *)e->val, tmp)};
            put(w, 3, argv);
        }
        if (db_entry_expire(e)) put_pexpireat(w, key, db_entry_expire(e));
    }
    dict_iter_deinit(&it);
}

/* Each function library as FUNCTION LOAD, before the data (Redis's rewriteFunctions). */
static void put_library(const char *code, size_t len, void *ctx) {
    slice argv[3] = {slice_of("FUNCTION"), slice_of("LOAD"), {code, len}};
    put(ctx, 3, argv);
}

static int write_resp(int fd, int64_t now_ms) {
    resp_writer w = {fd, 0, {0}, NULL, 0};
    buf_init(&w.out);
    if (config.aof_timestamp_enabled) record_put_timestamp(&w.out, now_ms / 1000);
    const rdb_library_hooks *libs = rdb_library_hooks_get();
    if (libs && libs->foreach) libs->foreach (put_library, &w);
    for (int id = 0; id < db_count() && !w.err; id++)
        write_db(&w, id, now_ms);
    maybe_flush(&w, 1);
    buf_deinit(&w.out);
    mem_free(w.f);
    errno = w.err;
    return w.err ? -1 : 0;
}

int aof_base_write(int fd, int64_t now_ms) {
    if (config.aof_use_rdb_preamble) return snapshot_write_fd(fd, now_ms, 1, NULL);
    return write_resp(fd, now_ms);
}
