/* manifest: the text file that names the files of the append-only log, in Redis 7's syntax
 * (src/aof.c of Redis, "AOF Manifest file implementation"):
 *
 *     file appendonly.aof.2.base.rdb seq 2 type b
 *     file appendonly.aof.3.incr.aof seq 3 type h
 *     file appendonly.aof.4.incr.aof seq 4 type i
 *     file appendonly.aof.5.incr.aof seq 5 type i
 *
 * One line per file: key-value pairs in any order ("file", "seq", "type"; unknown keys are
 * ignored, a name with spaces or odd bytes is double-quoted with C escapes). At most one base
 * (b), which comes first; history files (h), which a completed rewrite made obsolete and
 * which are deleted; increments (i) with strictly increasing sequence numbers, replayed in
 * order after the base. Lines starting with '#' are comments. Base and increment sequences
 * count separately. The manifest is only ever replaced whole: written to a temp name, fsynced,
 * renamed, and the directory fsynced. */
#ifndef MAYFLY_PERSIST_MANIFEST_H
#define MAYFLY_PERSIST_MANIFEST_H

#include <stddef.h>

#define MANIFEST_MAX_FILES 4096

typedef struct aof_file {
    char name[256];
    long long seq;
    char type; /* 'b', 'h' or 'i' */
} aof_file;

typedef struct manifest {
    aof_file base;  /* base.name[0] == 0: no base */
    aof_file *incr; /* owned; increments, in replay order */
    size_t nincr;
    aof_file *hist; /* owned; history files to delete */
    size_t nhist;
    long long base_seq; /* highest base sequence used (the next base is base_seq + 1) */
    long long incr_seq; /* highest increment sequence used */
} manifest;

enum {
    MANIFEST_OK = 0,
    MANIFEST_ENOENT = -1, /* no manifest in the directory */
    MANIFEST_EBAD = -2,   /* unreadable or malformed (err names the line) */
};

/* An empty manifest (no files). */
void manifest_init(manifest *m);
void manifest_deinit(manifest *m);
/* Deep copy of src into dst (which is initialised by the call). */
void manifest_copy(manifest *dst, const manifest *src);

/* The manifest's own name, "<appendfilename>.manifest". */
void manifest_file_name(char *out, size_t cap);
/* Reads dir's manifest into m (OUT, initialised by the call). On MANIFEST_EBAD, err (cap
 * bytes) says why, naming the line. */
int manifest_load(const char *dir, manifest *m, char *err, size_t cap);
/* The same for the manifest at path, whatever its name (redis-check-aof's argument). */
int manifest_load_file(const char *path, manifest *m, char *err, size_t cap);
/* Replaces dir's manifest atomically with m. Returns 0 or -1 (errno set). */
int manifest_save(const char *dir, const manifest *m);

/* Names a new base "<appendfilename>.<seq>.base.<rdb|aof>" with the next base sequence and
 * makes it m's base; the previous base (if any) becomes history. Returns the new name. */
const char *manifest_new_base(manifest *m, int rdb);
/* Appends a new increment "<appendfilename>.<seq>.incr.aof" with the next increment
 * sequence. Returns its name. */
const char *manifest_new_incr(manifest *m);
/* Moves every increment but the last keep_last (0 or 1) to history. */
void manifest_retire_incr(manifest *m, int keep_last);
/* Empties the history list (after its files were deleted). */
void manifest_clear_history(manifest *m);

#endif
