/* legacy: the snapshot and log formats of Mayfly 0.1, read only to upgrade an old data
 * directory (legacy.c has the layouts). */
#ifndef MAYFLY_PERSIST_LEGACY_H
#define MAYFLY_PERSIST_LEGACY_H

#include "mayfly/util/slice.h"
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

/* ---- the log ---- */

#define LEGACY_LOG_MAGIC "MAYFLYLG"
#define LEGACY_LOG_VERSION 1
#define LEGACY_LOG_HEADER_LEN 17
#define LEGACY_RECORD_HEADER_LEN 12
#define LEGACY_RECORD_MAX_LEN (1u << 31) /* larger lengths are damage */

/* One decoded record; argv points into the reader's buffer until the next read. */
typedef struct legacy_record {
    int64_t time_ms; /* when the command ran: replay runs it with that "now" */
    int dbid;
    int argc;
    slice *argv; /* owned array, grows as needed */
    int argv_cap;
    uint64_t offset; /* file offset of the record's first byte */
} legacy_record;

enum {
    LREC_OK = 0,
    LREC_EOF = 1,        /* clean end of file */
    LREC_TRUNCATED = -1, /* the file ends inside a record (or in zero bytes) */
    LREC_CORRUPT = -2,   /* damage: bad check, bad header, bad payload */
    LREC_EIO = -3,
};

/* Reads and checks the file header. Returns LREC_OK, LREC_EOF (empty file), LREC_TRUNCATED,
 * LREC_CORRUPT or LREC_EIO. */
int legacy_log_read_header(pr *r, int64_t *created_ms);
/* Reads the next record into rec (OUT); on damage *why (OUT) names the problem. */
int legacy_log_read(pr *r, legacy_record *rec, const char **why);
void legacy_record_deinit(legacy_record *rec);

#endif
