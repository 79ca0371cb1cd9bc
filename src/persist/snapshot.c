/* snapshot: writing and loading the snapshot format; see snapshot.h.
 *
 * The writer walks each database with a dict iterator (exact: each key once) and each hash
 * with hash_iter (live fields only, with their deadlines). It allocates nothing but the
 * 64 KiB writer on the stack, so it is safe in a child forked from a threaded process.
 *
 * The loader checks every length against what remains plausible, every deadline against
 * HASH_DEADLINE_MAX, every database id against `databases`, and a duplicate key as damage;
 * the trailer's checksum covers the whole file. */
#include "mayfly/config.h"
#include "mayfly/db/db.h"
#include "mayfly/types/hash.h"
#include "mayfly/types/string.h"
#include "mayfly/util/mem.h"
#include "persist/snapshot_int.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define OP_DB 'D'
#define OP_STRING 'S'
#define OP_HASH 'H'
#define OP_END 'E'
#define MAX_LEN (1ULL << 40) /* a length beyond this is damage, not data */

/* ---- writing ---- */

static void write_string_entry(pw *w, const dbentry *e) {
    char tmp[STRCONV_LL_MAX];
    slice v = string_bytes((const string *)e->val, tmp);
    pw_u8(w, OP_STRING);
    pw_bytes(w, e->key, e->klen);
    pw_varint(w, (uint64_t)e->expire_ms);
    pw_bytes(w, v.p, v.len);
}

static void write_hash_entry(pw *w, dbentry *e, int64_t now_ms) {
    hash *h = (hash *)e->val;
    size_t n = hash_len(h, now_ms);
    if (n == 0) return; /* every field is due: the key is as good as gone */
    pw_u8(w, OP_HASH);
    pw_bytes(w, e->key, e->klen);
    pw_varint(w, (uint64_t)e->expire_ms);
    pw_varint(w, n);
    hash_iter it;
    hash_entry f;
    size_t written = 0;
    hash_iter_init(&it, h, now_ms);
    while (written < n && hash_iter_next(&it, &f)) {
        pw_varint(w, f.field.len);
        pw_varint(w, f.value.len);
        pw_varint(w, (uint64_t)f.deadline);
        pw_put(w, f.field.p, f.field.len);
        pw_put(w, f.value.p, f.value.len);
        written++;
    }
    hash_iter_deinit(&it);
}

int snapshot_write_fd(int fd, int64_t now_ms, uint64_t *bytes) {
    static pw w; /* 64 KiB: static rather than on the stack; one writer at a time */
    pw_init(&w, fd);
    pw_put(&w, SNAPSHOT_MAGIC, 8);
    pw_u8(&w, SNAPSHOT_VERSION);
    pw_u64le(&w, (uint64_t)now_ms);
    for (int id = 0; id < db_count() && !w.err; id++) {
        db *d = db_get(id);
        if (db_size(d) == 0) continue;
        pw_u8(&w, OP_DB);
        pw_varint(&w, (uint64_t)id);
        dict_iter it;
        dict_iter_init(&it, &d->keys);
        for (dict_node *n = dict_iter_next(&it); n && !w.err; n = dict_iter_next(&it)) {
            dbentry *e = (dbentry *)n;
            if (e->expire_ms != 0 && e->expire_ms <= now_ms) continue;
            if (e->val->type == OBJ_STRING)
                write_string_entry(&w, e);
            else if (e->val->type == OBJ_HASH)
                write_hash_entry(&w, e, now_ms);
        }
        dict_iter_deinit(&it);
    }
    pw_u8(&w, OP_END);
    pw_u64le(&w, pw_digest(&w));
    if (pw_flush(&w) < 0) {
        errno = w.err;
        return -1;
    }
    if (bytes) *bytes = w.written;
    return 0;
}

int snapshot_save(const char *dir, const char *tmp_name, const char *name, int64_t now_ms) {
    char tmp[4096], final[4096];
    io_path(tmp, sizeof(tmp), dir, tmp_name);
    io_path(final, sizeof(final), dir, name);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) return -1;
    if (snapshot_write_fd(fd, now_ms, NULL) < 0 || fsync(fd) < 0) goto fail;
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

/* ---- loading ---- */

static int corrupt(snapshot_loader *l, const char *what) {
    snprintf(l->err, sizeof(l->err), "%s", what);
    l->err_offset = pr_offset(&l->r);
    return SNAP_ECORRUPT;
}

/* Maps a reader status to a loader result. */
static int read_fail(snapshot_loader *l, int rc) {
    if (rc == PR_EIO) {
        snprintf(l->err, sizeof(l->err), "read error: %s", strerror(l->r.err));
        l->err_offset = pr_offset(&l->r);
        return SNAP_EIO;
    }
    return corrupt(l, "unexpected end of file (truncated snapshot)");
}

#define READ(call)                                                                                 \
    do {                                                                                           \
        int rc_ = (call);                                                                          \
        if (rc_ != PR_OK) return read_fail(l, rc_);                                                \
    } while (0)

int snapshot_load_begin(snapshot_loader *l, const char *path, int64_t drop_before_ms) {
    memset(l, 0, sizeof(*l));
    l->fd = open(path, O_RDONLY | O_CLOEXEC);
    l->drop_before_ms = drop_before_ms;
    if (l->fd < 0) {
        snprintf(l->err, sizeof(l->err), "%s", strerror(errno));
        return errno == ENOENT ? SNAP_ENOENT : SNAP_EIO;
    }
    pr_init(&l->r, l->fd);
    READ(pr_need(&l->r, 8));
    if (memcmp(pr_peek(&l->r), SNAPSHOT_MAGIC, 8) != 0) return corrupt(l, "not a snapshot file");
    pr_take(&l->r, 8);
    uint8_t version;
    uint64_t created;
    READ(pr_u8(&l->r, &version));
    if (version != SNAPSHOT_VERSION) return corrupt(l, "unknown snapshot version");
    READ(pr_u64le(&l->r, &created));
    l->created_ms = (int64_t)created;
    return SNAP_MORE;
}

/* Reads a varint length bounded by MAX_LEN. */
static int read_len(snapshot_loader *l, uint64_t *len) {
    READ(pr_varint(&l->r, len));
    if (*len > MAX_LEN) return corrupt(l, "length out of range");
    return SNAP_MORE;
}

/* Reads the key and expire of a record into scratch; returns SNAP_MORE or an error. */
static int read_key(snapshot_loader *l, slice *key, int64_t *expire_ms) {
    uint64_t klen, exp;
    int rc = read_len(l, &klen);
    if (rc != SNAP_MORE) return rc;
    READ(pr_need(&l->r, klen));
    if (klen > l->scratch_cap) {
        l->scratch_cap = klen + 64;
        l->scratch = mem_realloc(l->scratch, l->scratch_cap);
    }
    memcpy(l->scratch, pr_take(&l->r, klen), klen);
    READ(pr_varint(&l->r, &exp));
    if (exp > (uint64_t)INT64_MAX) return corrupt(l, "key expire time out of range");
    *key = (slice){l->scratch, klen};
    *expire_ms = (int64_t)exp;
    if (db_find_raw(db_get(l->dbid), *key)) return corrupt(l, "duplicate key");
    return SNAP_MORE;
}

static int dropped(const snapshot_loader *l, int64_t when) {
    return when != 0 && when <= l->drop_before_ms;
}

static void add_key(snapshot_loader *l, slice key, obj *val, int64_t expire_ms) {
    db *d = db_get(l->dbid);
    dbentry *e = db_add(d, key, val);
    if (expire_ms)
        db_set_expire(d, e, expire_ms);
    else
        db_refile(d, e);
    l->keys_loaded++;
}

static int load_string(snapshot_loader *l) {
    slice key;
    int64_t exp;
    uint64_t vlen;
    int rc = read_key(l, &key, &exp);
    if (rc == SNAP_MORE) rc = read_len(l, &vlen);
    if (rc != SNAP_MORE) return rc;
    READ(pr_need(&l->r, vlen));
    const char *v = pr_take(&l->r, vlen);
    if (dropped(l, exp)) {
        l->keys_expired++;
        return SNAP_MORE;
    }
    add_key(l, key, &string_new(v, vlen)->hdr, exp);
    return SNAP_MORE;
}

static int load_hash(snapshot_loader *l) {
    slice key;
    int64_t exp;
    uint64_t n;
    int rc = read_key(l, &key, &exp);
    if (rc == SNAP_MORE) rc = read_len(l, &n);
    if (rc != SNAP_MORE) return rc;
    if (n == 0) return corrupt(l, "empty hash");
    hash_limits lim = {(size_t)config.hash_max_listpack_entries,
                       (size_t)config.hash_max_listpack_value};
    hash *h = hash_new();
    for (uint64_t i = 0; i < n; i++) {
        uint64_t flen, vlen, deadline;
        rc = read_len(l, &flen);
        if (rc == SNAP_MORE) rc = read_len(l, &vlen);
        if (rc != SNAP_MORE) goto fail;
        int r2 = pr_varint(&l->r, &deadline);
        if (r2 == PR_OK) r2 = pr_need(&l->r, flen + vlen);
        if (r2 != PR_OK) {
            rc = read_fail(l, r2);
            goto fail;
        }
        if (deadline > (uint64_t)HASH_DEADLINE_MAX) {
            rc = corrupt(l, "field expire time out of range");
            goto fail;
        }
        const char *p = pr_take(&l->r, flen + vlen);
        if (dropped(l, (int64_t)deadline)) {
            l->fields_expired++;
            continue;
        }
        hash_set(h, &lim, l->drop_before_ms, (slice){p, flen}, (slice){p + flen, vlen},
                 deadline ? HASH_TTL_SET : HASH_TTL_CLEAR, (int64_t)deadline);
    }
    if (dropped(l, exp) || hash_stored(h) == 0) {
        l->keys_expired++;
        hash_free(h);
        return SNAP_MORE;
    }
    add_key(l, key, (obj *)h, exp);
    return SNAP_MORE;
fail:
    hash_free(h);
    return rc;
}

static int load_end(snapshot_loader *l) {
    uint64_t want = pr_digest(&l->r), got;
    READ(pr_u64le(&l->r, &got));
    if (got != want) return corrupt(l, "checksum mismatch");
    if (pr_need(&l->r, 1) != PR_SHORT) return corrupt(l, "trailing bytes after the end");
    return SNAP_DONE;
}

int snapshot_load_step(snapshot_loader *l, size_t max_records) {
    for (size_t i = 0; i < max_records; i++) {
        uint8_t op;
        uint64_t id;
        int rc;
        READ(pr_u8(&l->r, &op));
        switch (op) {
        case OP_DB:
            READ(pr_varint(&l->r, &id));
            if (id >= (uint64_t)db_count()) return corrupt(l, "database id out of range");
            l->dbid = (int)id;
            break;
        case OP_STRING:
            if ((rc = load_string(l)) != SNAP_MORE) return rc;
            break;
        case OP_HASH:
            if ((rc = load_hash(l)) != SNAP_MORE) return rc;
            break;
        case OP_END:
            return load_end(l);
        default:
            return corrupt(l, "unknown record type");
        }
    }
    return SNAP_MORE;
}

uint64_t snapshot_load_offset(const snapshot_loader *l) {
    return pr_offset(&l->r);
}

void snapshot_load_end(snapshot_loader *l) {
    if (l->fd >= 0) close(l->fd);
    l->fd = -1;
    if (l->r.buf) pr_deinit(&l->r);
    mem_free(l->scratch);
    l->scratch = NULL;
}
