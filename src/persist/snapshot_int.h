/* snapshot: the dataset as one file (format in docs/persistence.md, "Snapshot file").
 *
 *     "MAYFLYSN" | version u8 | created_ms u64le
 *     { 'D' dbid | 'S' key expire_ms value | 'H' key expire_ms n {flen vlen deadline f v}* }*
 *     'E' | xxh64 of every byte before it, u64le
 *
 * Integers are LEB128 varints, byte strings are a varint length and the bytes; 0 means "no
 * TTL". The writer uses plain write(2) so that a forked child can run it; the loader reads
 * one record per step so that the server can load in slices and answer -LOADING between
 * them. Snapshots are also the base file of the append-only log. */
#ifndef MAYFLY_PERSIST_SNAPSHOT_H
#define MAYFLY_PERSIST_SNAPSHOT_H

#include "persist/io_int.h"

#include <stddef.h>
#include <stdint.h>

#define SNAPSHOT_MAGIC "MAYFLYSN"
#define SNAPSHOT_VERSION 1

/* Writes every key live at now_ms (keys and fields due at now_ms are left out) to fd,
 * starting at its current position. No fsync. Returns 0, or -1 with errno set. *bytes (OUT,
 * may be NULL) receives the size written. */
int snapshot_write_fd(int fd, int64_t now_ms, uint64_t *bytes);
/* Writes the dataset to dir/tmp_name, fsyncs it, renames it to dir/name and fsyncs dir, so
 * a crash at any point leaves either the old file or the new one. Returns 0 or -1 (errno
 * set, the temp file removed). */
int snapshot_save(const char *dir, const char *tmp_name, const char *name, int64_t now_ms);

/* An incremental load. */
typedef struct snapshot_loader {
    int fd;
    pr r;
    int dbid;                 /* database of the records being read */
    int64_t drop_before_ms;   /* keys and fields with a deadline <= this are not loaded */
    int64_t created_ms;       /* from the header */
    long long keys_loaded;    /* keys added */
    long long keys_expired;   /* keys dropped as already expired */
    long long fields_expired; /* hash fields dropped as already expired */
    char *scratch;            /* owned copy of the key being read */
    size_t scratch_cap;
    char err[256];       /* the reason of SNAP_ECORRUPT / SNAP_EIO */
    uint64_t err_offset; /* where it was found */
} snapshot_loader;

enum {
    SNAP_DONE = 0,      /* the trailer was read and the checksum matched */
    SNAP_MORE = 1,      /* call snapshot_load_step again */
    SNAP_ENOENT = -1,   /* no such file */
    SNAP_ECORRUPT = -2, /* bad format, truncated or checksum mismatch (err, err_offset) */
    SNAP_EIO = -3,      /* a read failed (err) */
};

/* Opens path and reads its header. drop_before_ms: see the struct. Returns SNAP_MORE,
 * SNAP_ENOENT, SNAP_ECORRUPT or SNAP_EIO; call snapshot_load_end in every case. */
int snapshot_load_begin(snapshot_loader *l, const char *path, int64_t drop_before_ms);
/* Loads up to max_records keys into the databases. Returns SNAP_MORE, SNAP_DONE,
 * SNAP_ECORRUPT or SNAP_EIO. */
int snapshot_load_step(snapshot_loader *l, size_t max_records);
/* Bytes consumed so far (for INFO loading_loaded_bytes). */
uint64_t snapshot_load_offset(const snapshot_loader *l);
/* Closes the file and frees the loader's buffers (the loaded keys stay). */
void snapshot_load_end(snapshot_loader *l);

#endif
