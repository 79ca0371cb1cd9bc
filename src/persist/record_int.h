/* record: the append-only log's framing, Redis's AOF format (RESP commands):
 *
 *     *<argc>\r\n { $<len>\r\n <bytes>\r\n }*     one command
 *     #<text>\r\n                                 an annotation; aof-timestamp-enabled
 *                                                 writes "#TS:<unix seconds>"
 *
 * The reader is strict where Redis's loader is lenient (the lengths must be digits ending
 * in \r\n, every argument must end in \r\n) and tells a file that merely ends early, or
 * ends in zero bytes (a torn write the file system padded), from damage: only the former
 * is "truncated" and may be cut off (aof-load-truncated). A length longer than the rest of
 * the file is truncation too, and nothing is allocated for it. */
#ifndef MAYFLY_PERSIST_RECORD_H
#define MAYFLY_PERSIST_RECORD_H

#include "mayfly/util/buf.h"
#include "mayfly/util/slice.h"
#include "persist/io_int.h"

#include <stddef.h>
#include <stdint.h>

/* Appends one command to out. */
void record_put(buf *out, int argc, const slice *argv);
/* Appends "SELECT <dbid>". */
void record_put_select(buf *out, int dbid);
/* Appends the annotation "#TS:<secs>\r\n". */
void record_put_timestamp(buf *out, long long secs);

/* One decoded command; argv points into the reader's buffer until the next read. */
typedef struct record {
    int argc;
    slice *argv;  /* owned array, grows as needed */
    size_t *offs; /* owned scratch: argument offsets while a command is read */
    int argv_cap;
    uint64_t offset;    /* file offset of the command's first byte */
    long long ts;       /* the latest #TS annotation read so far (0: none) */
    long long ts_limit; /* IN: stop at a #TS annotation later than this (0: never) */
    int lines;          /* CRLF-ended lines of the command read, also of a bad one */
} record;

enum {
    REC_OK = 0,
    REC_EOF = 1,        /* clean end of file */
    REC_TRUNCATED = -1, /* the file ends inside a command (or in zero bytes) */
    REC_CORRUPT = -2,   /* damage: not the RESP of a command */
    REC_EIO = -3,
    REC_TS_PAST = 2, /* a #TS later than ts_limit starts at rec->offset (not consumed) */
    REC_TS_BAD = -4, /* with ts_limit set: a #TS annotation that is not a number */
};

/* The *why of a file where a command should start but something else does. */
#define RECORD_NOT_A_COMMAND "a command does not start with '*'"

/* Reads the next command of a file of size bytes into rec (OUT). On REC_TRUNCATED /
 * REC_CORRUPT, *why (OUT) names the problem and rec->offset is where the bad command
 * starts. Annotations are skipped (the latest #TS is kept in rec->ts), unless ts_limit
 * stops the reader at one (REC_TS_PAST, REC_TS_BAD: --truncate-to-timestamp). */
int record_read(pr *r, uint64_t size, record *rec, const char **why);
void record_deinit(record *rec);

#endif
