/* manifest: the small text file that names the files of the append-only log.
 *
 *     # mayfly append-only manifest
 *     file appendonly.aof.2.base.snap seq 2 type b
 *     file appendonly.aof.5.incr.log seq 5 type i
 *     file appendonly.aof.6.incr.log seq 6 type i
 *
 * The dataset is the base (a snapshot; absent before the first rewrite) followed by the
 * increments in order. The increments always form a contiguous range of sequence numbers.
 * The manifest is only ever replaced whole: written to a temp name, fsynced, renamed, and
 * the directory fsynced. */
#ifndef MAYFLY_PERSIST_MANIFEST_H
#define MAYFLY_PERSIST_MANIFEST_H

#include <stddef.h>

typedef struct manifest {
    long base_seq; /* 0: no base */
    long incr_lo;  /* first increment; incr_lo > incr_hi: none */
    long incr_hi;  /* last increment (the one being appended to) */
} manifest;

/* File names, from appendfilename: "<name>.<seq>.base.snap", "<name>.<seq>.incr.log",
 * "<name>.manifest". */
void manifest_base_name(char *out, size_t cap, long seq);
void manifest_incr_name(char *out, size_t cap, long seq);
void manifest_file_name(char *out, size_t cap);

enum {
    MANIFEST_OK = 0,
    MANIFEST_ENOENT = -1, /* no manifest in the directory */
    MANIFEST_EBAD = -2,   /* unreadable or malformed (err names the line) */
};

/* Reads dir's manifest into m (OUT). On MANIFEST_EBAD, err (cap bytes) says why. */
int manifest_load(const char *dir, manifest *m, char *err, size_t cap);
/* Replaces dir's manifest atomically with m. Returns 0 or -1 (errno set). */
int manifest_save(const char *dir, const manifest *m);

#endif
