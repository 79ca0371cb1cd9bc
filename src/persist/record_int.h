/* record: the append-only log's file format (docs/persistence.md, "Log file").
 *
 *     header:  "MAYFLYLG" | version u8 | created_ms u64le                    (17 bytes)
 *     record:  len u32le | ~len u32le | check u32le | payload[len]
 *     payload: time_ms varint | dbid varint | argc varint | { arglen varint | arg }*
 *
 * check is the low 32 bits of XXH3-64 of the payload seeded with len. The length is stored
 * twice (the second time inverted) so that a damaged length is told from a file cut short:
 * only a record whose header is intact and whose payload runs past the end of the file is
 * "truncated"; everything else that does not check out is damage. time_ms is when the command ran:
 * replay runs it with that "now", so that lazy expiry during replay behaves exactly as it did then.
 * Each record names its database, so the log needs no SELECT. */
#ifndef MAYFLY_PERSIST_RECORD_H
#define MAYFLY_PERSIST_RECORD_H

#include "mayfly/util/buf.h"
#include "mayfly/util/slice.h"
#include "persist/io_int.h"

#include <stddef.h>
#include <stdint.h>

#define LOG_MAGIC "MAYFLYLG"
#define LOG_VERSION 1
#define LOG_HEADER_LEN 17
#define RECORD_HEADER_LEN 12
#define RECORD_MAX_LEN (1u << 31) /* larger lengths are damage */

/* Appends the file header to out. */
void record_put_header(buf *out, int64_t created_ms);
/* Appends one record to out. */
void record_put(buf *out, int64_t time_ms, int dbid, int argc, const slice *argv);

/* One decoded record; argv points into the reader's buffer until the next read. */
typedef struct record {
    int64_t time_ms;
    int dbid;
    int argc;
    slice *argv; /* owned array, grows as needed */
    int argv_cap;
    uint64_t offset; /* file offset of the record's first byte */
} record;

enum {
    REC_OK = 0,
    REC_EOF = 1,        /* clean end of file */
    REC_TRUNCATED = -1, /* the file ends inside a record (or in zero bytes) */
    REC_CORRUPT = -2,   /* damage: bad check, bad header, bad payload */
    REC_EIO = -3,
};

/* Reads and checks the file header. Returns REC_OK, REC_EOF (empty file), REC_TRUNCATED
 * (a partial header), REC_CORRUPT or REC_EIO. */
int record_read_header(pr *r, int64_t *created_ms);
/* Reads the next record into rec (OUT). On REC_TRUNCATED / REC_CORRUPT, *why (OUT) names
 * the problem and rec->offset is where the bad record starts. */
int record_read(pr *r, record *rec, const char **why);
void record_deinit(record *rec);

#endif
