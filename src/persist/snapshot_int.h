/* snapshot: RDB files — the dataset written through rdb/ and loaded back in slices.
 *
 * The writer streams rdb_save_dataset into a file with plain write(2), so a forked child
 * can run it; snapshot_save adds the temp file, fsync, rename and directory fsync. The
 * loader reads the file into a growing buffer and hands the decoder (rdb_dec) whatever it
 * holds, one item per call, reading more when the decoder asks (never more than the file
 * holds, so a bogus length cannot make it allocate). A snapshot written by Mayfly 0.1
 * ("MAYFLYSN") is recognised by its magic and loaded by legacy.c. Snapshots are also the
 * base file of the append-only log (with aof-base 1). */
#ifndef MAYFLY_PERSIST_SNAPSHOT_H
#define MAYFLY_PERSIST_SNAPSHOT_H

#include "mayfly/rdb/rdb.h"
#include "mayfly/util/buf.h"
#include "persist/legacy_int.h"

#include <stddef.h>
#include <stdint.h>

/* Writes every key live at now_ms as an RDB file to fd, from its current position
 * (rdbcompression and rdbchecksum apply). No fsync. aof_base: the file is a log's base.
 * Returns 0, or -1 with errno set. *bytes (OUT, may be NULL) receives the size written. */
int snapshot_write_fd(int fd, int64_t now_ms, int aof_base, uint64_t *bytes);
/* An RDB with no key at all (header, the function libraries if with_functions, EOF,
 * checksum): what a replica that asked for no data (REPLCONF rdb-filter-only) gets.
 * Returns 0, or -1 with errno set. */
int snapshot_write_empty_fd(int fd, int64_t now_ms, int version, int with_functions);
/* snapshot_write_fd with the header's RDB version (0: the newest; the file must not hold
 * anything that version cannot). */
int snapshot_write_fd_version(int fd, int64_t now_ms, int aof_base, int version, uint64_t *bytes);
/* Writes the dataset to dir/tmp_name, fsyncs it, renames it to dir/name and fsyncs dir, so
 * a crash at any point leaves either the old file or the new one. Returns 0 or -1 (errno
 * set, the temp file removed). */
int snapshot_save(const char *dir, const char *tmp_name, const char *name, int64_t now_ms,
                  int aof_base);
/* snapshot_save with the header's RDB version (0: the newest). */
int snapshot_save_version(const char *dir, const char *tmp_name, const char *name, int64_t now_ms,
                          int aof_base, int version);

/* An incremental load. */
typedef struct snapshot_loader {
    int fd;
    int legacy; /* a Mayfly 0.1 snapshot: ls does the work */
    legacy_snap ls;
    rdb_dec dec;
    buf in;                     /* bytes read from the file and not yet dropped */
    size_t pos;                 /* first unconsumed byte of in */
    uint64_t base;              /* file offset of in.data[0] */
    uint64_t size;              /* the file's size */
    int eof;                    /* read(2) returned 0 */
    int64_t drop_before_ms;     /* keys with a deadline <= this are not loaded, nor fields */
    long long keys_loaded;      /* keys added */
    long long keys_expired;     /* keys dropped as already expired */
    long long libraries_loaded; /* function libraries created */
    char err[512];              /* why, after an error */
    uint64_t err_offset;        /* where */
    uint64_t end_offset;        /* after SNAP_DONE: the offset just after the RDB data */
    char repl_id[41];           /* AUX repl-id ("" if absent) */
    long long repl_offset;      /* AUX repl-offset, -1 if absent */
    int repl_db;                /* AUX repl-stream-db, -1 if absent */
    int push;                   /* bytes are handed in (snapshot_load_feed), not read */
    uint64_t want;              /* push: decode again once this many bytes are held */
    int push_end;               /* push: the stream has ended (nothing more to wait for) */
    int allow_dup;              /* a key already held is replaced (DEBUG RELOAD MERGE), not an
                                   error; set after snapshot_load_begin */
    int keep_expired;           /* keep the names of the keys dropped for their key TTL in
                                   expired (set after snapshot_load_begin) */
    buf expired;                /* per key: int dbid, uint32_t length, the name */
} snapshot_loader;

enum {
    SNAP_DONE = 0,          /* the RDB's EOF and checksum were read */
    SNAP_MORE = 1,          /* call snapshot_load_step again */
    SNAP_ENOENT = -1,       /* no such file */
    SNAP_ECORRUPT = -2,     /* bad format, truncated, or checksum mismatch (err, err_offset) */
    SNAP_EIO = -3,          /* a read failed (err) */
    SNAP_EUNSUPPORTED = -4, /* a type Mayfly does not implement (err names db, key, type) */
    SNAP_WANT = 2,          /* push mode: the bytes held end inside an item; feed more */
};

/* Opens path and recognises its format. drop_before_ms: see the struct (0 for a log's
 * base, which keeps everything the log goes on from). Returns SNAP_MORE, SNAP_ENOENT or
 * SNAP_EIO; call snapshot_load_end in every case. */
int snapshot_load_begin(snapshot_loader *l, const char *path, int64_t drop_before_ms);
/* A load whose bytes are handed in as they arrive (a replica loading straight from its
 * primary's socket, repl-diskless-load): no file. size_hint: the announced length, 0 if
 * unknown (it bounds what a RESIZEDB hint may reserve). */
void snapshot_load_begin_push(snapshot_loader *l, int64_t drop_before_ms, uint64_t size_hint);
/* Push mode: appends len bytes for the decoder. */
void snapshot_load_feed(snapshot_loader *l, const char *p, size_t len);
/* Push mode: the stream has ended; the next step decodes what is held, and an item cut
 * short is damage. */
void snapshot_load_feed_end(snapshot_loader *l);
/* Loads up to max_items items into the databases. Returns SNAP_MORE, SNAP_DONE or an
 * error; in push mode also SNAP_WANT. */
int snapshot_load_step(snapshot_loader *l, size_t max_items);
/* Bytes consumed so far (for INFO loading_loaded_bytes). */
uint64_t snapshot_load_offset(const snapshot_loader *l);
/* Calls fn for each key dropped for its key TTL, in file order (keep_expired). */
void snapshot_load_expired_foreach(const snapshot_loader *l,
                                   void (*fn)(int dbid, slice key, void *arg), void *arg);
/* Closes the file and frees the loader's buffers (the loaded keys stay). */
void snapshot_load_end(snapshot_loader *l);

#endif
