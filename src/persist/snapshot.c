/* snapshot: RDB files on disk; see snapshot.h.
 *
 * Writing: rdb_save_dataset through a sink that write(2)s to the file (the encoder stages
 * 64 KiB at a time). Loading: the file is read into a buffer in chunks of at least 1 MiB
 * (and at least as much again as is buffered, so a large value is decoded O(log n) times
 * while it arrives); the decoder consumes whole items and the consumed prefix is dropped
 * before the next read. Keys are added with their TTL; a key whose TTL has passed, or a
 * hash whose every field has, is counted as expired instead; a key seen twice in a
 * database is damage. */
#include "mayfly/config.h"
#include "mayfly/db/db.h"
#include "mayfly/evict/evict.h"
#include "mayfly/persist/persist.h"
#include "mayfly/rdb/rdb.h"
#include "mayfly/util/clock.h"
#include "mayfly/util/log.h"
#include "mayfly/util/mem.h"
#include "mayfly/util/strconv.h"
#include "persist/io_int.h"
#include "persist/snapshot_int.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define READ_CHUNK (1024 * 1024)

/* ---- writing ---- */

static int fd_sink(void *ctx, const char *p, size_t len) {
    return io_write_all(*(int *)ctx, p, len);
}

int snapshot_write_fd_version(int fd, int64_t now_ms, int aof_base, int version, uint64_t *bytes) {
    rdb_enc e;
    rdb_enc_init(&e, fd_sink, &fd, config.rdbcompression, config.rdbchecksum);
    e.version = version;
    e.key_delay_us = config.rdb_key_save_delay;
    /* Where replication stands, so that a restarted replica continues with PSYNC (Redis's
     * rdbSaveInfo: repl-stream-db, repl-id, repl-offset). */
    char id[41], off[STRCONV_LL_MAX], sdb[STRCONV_LL_MAX];
    uint64_t offset;
    int stream_db;
    slice aux[6];
    if (persist_repl_info && persist_repl_info(id, &offset, &stream_db)) {
        aux[0] = slice_of("repl-stream-db");
        aux[1] = (slice){sdb, ll_to_str(sdb, stream_db)};
        aux[2] = slice_of("repl-id");
        aux[3] = (slice){id, strlen(id)};
        aux[4] = slice_of("repl-offset");
        aux[5] = (slice){off, ll_to_str(off, (long long)offset)};
        e.aux = aux;
        e.naux = 3;
    }
    int rc = rdb_save_dataset(&e, now_ms, aof_base, NULL);
    int saved = errno;
    if (bytes) *bytes = e.written;
    rdb_enc_deinit(&e);
    errno = saved;
    return rc;
}

int snapshot_save(const char *dir, const char *tmp_name, const char *name, int64_t now_ms,
                  int aof_base) {
    return snapshot_save_version(dir, tmp_name, name, now_ms, aof_base, 0);
}

int snapshot_save_version(const char *dir, const char *tmp_name, const char *name, int64_t now_ms,
                          int aof_base, int version) {
    char tmp[4096], final[4096];
    io_path(tmp, sizeof(tmp), dir, tmp_name);
    io_path(final, sizeof(final), dir, name);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) return -1;
    if (snapshot_write_fd_version(fd, now_ms, aof_base, version, NULL) < 0 || fsync(fd) < 0)
        goto fail;
    if (close(fd) < 0) {
        fd = -1;
        goto fail;
    }
    fd = -1;
    if (rename(tmp, final) < 0) goto fail;
    if (io_fsync_dir(dir) < 0) return -1;
    return 0;

fail : {
    int saved = errno;
    if (fd >= 0) close(fd);
    unlink(tmp);
    errno = saved;
    return -1;
}
}

int snapshot_write_fd(int fd, int64_t now_ms, int aof_base, uint64_t *bytes) {
    return snapshot_write_fd_version(fd, now_ms, aof_base, 0, bytes);
}

static void put_library(const char *code, size_t len, void *ctx) {
    rdb_enc_function(ctx, (slice){code, len});
}

int snapshot_write_empty_fd(int fd, int64_t now_ms, int version, int with_functions) {
    rdb_enc e;
    rdb_enc_init(&e, fd_sink, &fd, config.rdbcompression, config.rdbchecksum);
    e.version = version;
    rdb_enc_header(&e, now_ms, 0, 0);
    const rdb_library_hooks *h = rdb_library_hooks_get();
    if (with_functions && h && h->foreach) h->foreach (put_library, &e);
    int rc = rdb_enc_end(&e);
    int saved = errno;
    rdb_enc_deinit(&e);
    errno = saved;
    return rc;
}

/* ---- loading ---- */

static int fail(snapshot_loader *l, int rc, uint64_t offset, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int fail(snapshot_loader *l, int rc, uint64_t offset, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(l->err, sizeof(l->err), fmt, ap);
    va_end(ap);
    l->err_offset = offset;
    return rc;
}

static void loader_init(snapshot_loader *l, int64_t drop_before_ms) {
    memset(l, 0, sizeof(*l));
    l->fd = -1;
    l->drop_before_ms = drop_before_ms;
    l->repl_offset = -1;
    l->repl_db = -1;
    buf_init(&l->in);
    buf_init(&l->expired);
    rdb_dec_opts o = {
        .lim = {(size_t)config.hash_max_listpack_entries, (size_t)config.hash_max_listpack_value},
        .drop_before_ms = drop_before_ms,
        .verify_checksum = config.rdbchecksum,
        .databases = config.databases};
    rdb_dec_init(&l->dec, &o);
}

void snapshot_load_begin_push(snapshot_loader *l, int64_t drop_before_ms, uint64_t size_hint) {
    loader_init(l, drop_before_ms);
    l->push = 1;
    l->size = size_hint;
}

void snapshot_load_feed(snapshot_loader *l, const char *p, size_t len) {
    if (l->pos) { /* drop what the decoder used */
        size_t have = l->in.len - l->pos;
        memmove(l->in.data, l->in.data + l->pos, have);
        l->base += l->pos;
        l->in.len = have;
        l->pos = 0;
    }
    buf_append(&l->in, p, len);
}

void snapshot_load_feed_end(snapshot_loader *l) {
    l->push_end = 1;
}

int snapshot_load_begin(snapshot_loader *l, const char *path, int64_t drop_before_ms) {
    loader_init(l, drop_before_ms);
    l->fd = open(path, O_RDONLY | O_CLOEXEC);
    if (l->fd < 0) {
        snprintf(l->err, sizeof(l->err), "%s", strerror(errno));
        return errno == ENOENT ? SNAP_ENOENT : SNAP_EIO;
    }
    struct stat st;
    if (fstat(l->fd, &st) < 0) return fail(l, SNAP_EIO, 0, "%s", strerror(errno));
    l->size = (uint64_t)st.st_size;
    if (legacy_is_snapshot(path)) {
        l->legacy = 1;
        int rc = legacy_snap_begin(&l->ls, path, drop_before_ms);
        if (rc == LEGACY_MORE) return SNAP_MORE;
        snprintf(l->err, sizeof(l->err), "%s", l->ls.err);
        return rc == LEGACY_ENOENT ? SNAP_ENOENT : rc == LEGACY_EIO ? SNAP_EIO : SNAP_ECORRUPT;
    }
    return SNAP_MORE;
}

/* Makes at least want unconsumed bytes available. Returns 0, SNAP_ECORRUPT when the file
 * ends first (nothing is allocated for bytes the file does not have), or SNAP_EIO. */
static int fill(snapshot_loader *l, uint64_t want) {
    size_t have = l->in.len - l->pos;
    if (have >= want) return 0;
    if (want > l->size - (l->base + l->pos)) return SNAP_ECORRUPT;
    if (l->pos) {
        memmove(l->in.data, l->in.data + l->pos, have);
        l->base += l->pos;
        l->in.len = have;
        l->pos = 0;
    }
    uint64_t target = want > READ_CHUNK ? want : READ_CHUNK;
    if (target < 2 * (uint64_t)have) target = 2 * (uint64_t)have;
    if (target > l->size - l->base) target = l->size - l->base;
    buf_reserve(&l->in, (size_t)target - have);
    while (l->in.len < want) {
        ssize_t n = read(l->fd, l->in.data + l->in.len, (size_t)target - l->in.len);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return SNAP_EIO;
        if (n == 0) return SNAP_ECORRUPT; /* the file shrank under us */
        l->in.len += (size_t)n;
    }
    return 0;
}

/* Adds a decoded key, or counts it as expired. Returns SNAP_MORE or SNAP_ECORRUPT. */
static int add_key(snapshot_loader *l, rdb_item *it, uint64_t offset) {
    if (!it->val || (it->expire_ms != 0 && it->expire_ms <= l->drop_before_ms)) {
        if (it->val && l->keep_expired) {
            uint32_t len = (uint32_t)it->key.len;
            buf_append(&l->expired, (const char *)&it->dbid, sizeof(int));
            buf_append(&l->expired, (const char *)&len, sizeof(len));
            buf_append(&l->expired, it->key.p, it->key.len);
        }
        if (it->val) obj_free(it->val);
        l->keys_expired++;
        return SNAP_MORE;
    }
    db *d = db_get(it->dbid);
    if (l->allow_dup && db_find_raw(d, it->key)) db_delete(d, it->key, 0);
    if (db_find_raw(d, it->key)) {
        obj_free(it->val);
        snprintf(l->err, sizeof(l->err), "duplicate key '%.*s' in database %d",
                 (int)(it->key.len < 64 ? it->key.len : 64), it->key.p, it->dbid);
        l->err_offset = offset;
        return SNAP_ECORRUPT;
    }
    /* The file's IDLE under an LRU policy, its FREQ under an LFU one (as Redis loads them). */
    long long clk = evict_clock_restore(it->idle, it->freq, clock_now_ms());
    if (clk >= 0) it->val->lru = (uint32_t)clk;
    db_add_expire(d, it->key, it->val, it->expire_ms);
    l->keys_loaded++;
    return SNAP_MORE;
}

/* Creates a function library of the file (through the hooks server.c registered), as
 * Redis does replacing one of the same name. Returns SNAP_MORE or SNAP_ECORRUPT. */
static int add_library(snapshot_loader *l, const rdb_item *it, uint64_t offset) {
    const rdb_library_hooks *h = rdb_library_hooks_get();
    char err[400];
    if (!h || !h->create) return SNAP_MORE;
    if (h->create(it->code.p, it->code.len, err, sizeof(err)) == 0) {
        l->libraries_loaded++;
        return SNAP_MORE;
    }
    /* Redis's words: "Failed loading library, <why>". */
    snprintf(l->err, sizeof(l->err), "Failed loading library, %s",
             strncmp(err, "ERR ", 4) == 0 ? err + 4 : err);
    l->err_offset = offset;
    return SNAP_ECORRUPT;
}

/* AUX repl-id, repl-offset, repl-stream-db (Redis's rdbSaveInfo). */
static void note_repl_aux(snapshot_loader *l, const rdb_item *it) {
    long long v;
    if (slice_eq(it->aux_name, slice_of("repl-id")) && it->aux_value.len == 40)
        snprintf(l->repl_id, sizeof(l->repl_id), "%.*s", 40, it->aux_value.p);
    else if (slice_eq(it->aux_name, slice_of("repl-offset")) &&
             str_to_ll(it->aux_value.p, it->aux_value.len, &v) == 0)
        l->repl_offset = v;
    else if (slice_eq(it->aux_name, slice_of("repl-stream-db")) &&
             str_to_ll(it->aux_value.p, it->aux_value.len, &v) == 0)
        l->repl_db = (int)v;
}

static void note_item(snapshot_loader *l, const rdb_item *it) {
    if (it->kind == RDB_ITEM_AUX) note_repl_aux(l, it);
    if (it->kind == RDB_ITEM_RESIZEDB) {
        /* A hint only: a bogus count must not allocate more than the file can hold (a
         * stream of unknown length: as for a file of 64 MB). */
        uint64_t cap = (l->push && !l->size ? (uint64_t)64 << 20 : l->size) / 4;
        db_reserve(db_get(it->dbid), (size_t)(it->db_keys < cap ? it->db_keys : cap));
    } else if (it->kind == RDB_ITEM_SKIPPED && it->module[0]) {
        log_warning("The RDB file holds aux data of the module '%s', which Mayfly does not have: "
                    "skipped",
                    it->module);
    } else if (it->kind == RDB_ITEM_AUX && (slice_eq(it->aux_name, slice_of("redis-ver")) ||
                                            slice_eq(it->aux_name, slice_of("valkey-ver")) ||
                                            slice_eq(it->aux_name, slice_of("mayfly-ver")))) {
        log_notice("Loading RDB produced by %.*s %.*s", (int)it->aux_name.len - 4, it->aux_name.p,
                   (int)(it->aux_value.len < 64 ? it->aux_value.len : 64), it->aux_value.p);
    }
}

/* Uses a decoded item. Returns SNAP_MORE or an error. */
static int take_item(snapshot_loader *l, rdb_item *it, uint64_t at) {
    if (it->kind == RDB_ITEM_KEY) return add_key(l, it, at);
    if (it->kind == RDB_ITEM_FUNCTION) return add_library(l, it, at);
    note_item(l, it);
    return SNAP_MORE;
}

/* The decoder wants more bytes than are held (have of them). Push mode: waits for them
 * (SNAP_WANT), for a large item until its bytes doubled (or reach what the decoder asked
 * for) so that it is not decoded again on every chunk, but never for more than the stream
 * holds; once the stream has ended the item is cut short. File: reads them. Returns 0 to
 * decode again, or what step_rdb returns. */
static int more_bytes(snapshot_loader *l, size_t have) {
    if (l->push) {
        if (l->push_end)
            return fail(l, SNAP_ECORRUPT, l->dec.offset, "%s",
                        "unexpected end of the RDB stream (it is truncated)");
        uint64_t want = l->dec.need > 2 * (uint64_t)have ? l->dec.need : 2 * (uint64_t)have;
        uint64_t at = l->base + l->pos;
        if (l->size && at < l->size && want > l->size - at) want = l->size - at;
        l->want = want;
        return SNAP_WANT;
    }
    int f = fill(l, l->dec.need);
    if (f == SNAP_EIO) return fail(l, SNAP_EIO, l->dec.offset, "read error: %s", strerror(errno));
    if (f)
        return fail(l, SNAP_ECORRUPT, l->dec.offset, "%s",
                    "unexpected end of file (the RDB file is truncated)");
    return 0;
}

static int step_rdb(snapshot_loader *l, size_t max_items) {
    for (size_t i = 0; i < max_items;) {
        rdb_item it;
        size_t used;
        uint64_t at = l->dec.offset;
        size_t have = l->in.len - l->pos;
        if (l->push && have < l->want && !l->push_end) return SNAP_WANT;
        int rc = rdb_dec_next(&l->dec, l->in.data ? l->in.data + l->pos : "", have, &used, &it);
        l->pos += used;
        l->want = 0;
        if (rc == RDB_MORE) {
            if ((rc = more_bytes(l, have - used)) != 0) return rc;
            continue;
        }
        if (rc == RDB_DONE) {
            l->end_offset = l->dec.offset;
            return SNAP_DONE;
        }
        if (rc < 0)
            return fail(l, rc == RDB_ETYPE ? SNAP_EUNSUPPORTED : SNAP_ECORRUPT, l->dec.offset, "%s",
                        l->dec.err);
        i++;
        if ((rc = take_item(l, &it, at)) != SNAP_MORE) return rc;
    }
    return SNAP_MORE;
}

int snapshot_load_step(snapshot_loader *l, size_t max_items) {
    if (!l->legacy) return step_rdb(l, max_items);
    int rc = legacy_snap_step(&l->ls, max_items);
    l->keys_loaded = l->ls.keys_loaded;
    l->keys_expired = l->ls.keys_expired;
    if (rc == LEGACY_MORE) return SNAP_MORE;
    if (rc == LEGACY_DONE) {
        l->end_offset = legacy_snap_offset(&l->ls);
        return SNAP_DONE;
    }
    snprintf(l->err, sizeof(l->err), "%s", l->ls.err);
    l->err_offset = l->ls.err_offset;
    return rc == LEGACY_EIO ? SNAP_EIO : SNAP_ECORRUPT;
}

uint64_t snapshot_load_offset(const snapshot_loader *l) {
    return l->legacy ? legacy_snap_offset(&l->ls) : l->dec.offset;
}

void snapshot_load_end(snapshot_loader *l) {
    if (l->legacy) legacy_snap_end(&l->ls);
    l->legacy = 0;
    if (l->fd >= 0) close(l->fd);
    l->fd = -1;
    rdb_dec_deinit(&l->dec);
    buf_deinit(&l->in);
    buf_deinit(&l->expired);
}

void snapshot_load_expired_foreach(const snapshot_loader *l,
                                   void (*fn)(int dbid, slice key, void *arg), void *arg) {
    size_t at = 0;
    while (at + sizeof(int) + sizeof(uint32_t) <= l->expired.len) {
        int dbid;
        uint32_t len;
        memcpy(&dbid, l->expired.data + at, sizeof(dbid));
        memcpy(&len, l->expired.data + at + sizeof(dbid), sizeof(len));
        at += sizeof(dbid) + sizeof(len);
        fn(dbid, (slice){l->expired.data + at, len}, arg);
        at += len;
    }
}
