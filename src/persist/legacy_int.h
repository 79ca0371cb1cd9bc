/* legacy: the snapshot format of Mayfly 0.1, read only to upgrade an old data directory
 * (legacy.c has the layout). The old log format's reader stays in record_int.h. */
#ifndef MAYFLY_PERSIST_LEGACY_H
#define MAYFLY_PERSIST_LEGACY_H

#include "persist/io_int.h"

#include <stddef.h>
#include <stdint.h>

#define LEGACY_SNAP_MAGIC "MAYFLYSN"
#define LEGACY_SNAP_VERSION 1

/* 1 if the file at path starts with the old snapshot magic. */
int legacy_is_snapshot(const char *path);

/* An incremental load of an old snapshot into the databases. */
typedef struct legacy_snap {
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
    char err[256];       /* the reason of LEGACY_ECORRUPT / LEGACY_EIO */
    uint64_t err_offset; /* where it was found */
} legacy_snap;

enum {
    LEGACY_DONE = 0,      /* the trailer was read and the checksum matched */
    LEGACY_MORE = 1,      /* call legacy_snap_step again */
    LEGACY_ENOENT = -1,   /* no such file */
    LEGACY_ECORRUPT = -2, /* bad format, truncated or checksum mismatch (err, err_offset) */
    LEGACY_EIO = -3,      /* a read failed (err) */
};

/* Opens path and reads its header. Returns LEGACY_MORE, LEGACY_ENOENT, LEGACY_ECORRUPT or
 * LEGACY_EIO; call legacy_snap_end in every case. */
int legacy_snap_begin(legacy_snap *l, const char *path, int64_t drop_before_ms);
/* Loads up to max_records keys. Returns LEGACY_MORE, LEGACY_DONE, or an error. */
int legacy_snap_step(legacy_snap *l, size_t max_records);
/* Bytes consumed so far. */
uint64_t legacy_snap_offset(const legacy_snap *l);
/* Closes the file and frees the loader's buffers (the loaded keys stay). */
void legacy_snap_end(legacy_snap *l);

#endif
