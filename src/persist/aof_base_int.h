/* aof_base: writing the base file of the append-only log (the child of a rewrite, and the
 * base written at start): an RDB file when aof-use-rdb-preamble is yes (with the AUX field
 * aof-base 1), else RESP commands that rebuild the dataset, as Redis's
 * rewriteAppendOnlyFileRio writes them: per database a SELECT, then per key SET or HMSET (64
 * pairs per command), PEXPIREAT for a key TTL and HPEXPIREAT for field TTLs (fields sharing a
 * deadline in one command). Keys and fields due at now_ms are left out. */
#ifndef MAYFLY_PERSIST_AOF_BASE_H
#define MAYFLY_PERSIST_AOF_BASE_H

#include <stdint.h>

/* Writes the base to fd with plain write(2) (a forked child can run it); no fsync.
 * Returns 0, or -1 with errno set. */
int aof_base_write(int fd, int64_t now_ms);

#endif
