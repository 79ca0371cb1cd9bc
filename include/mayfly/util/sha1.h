/* sha1: SHA-1 (FIPS 180-4) of a byte string, as scripting names scripts by it (EVALSHA,
 * SCRIPT LOAD, redis.sha1hex). Not for security: SHA-1 is only an identifier here. */
#ifndef MAYFLY_UTIL_SHA1_H
#define MAYFLY_UTIL_SHA1_H

#include <stddef.h>
#include <stdint.h>

typedef struct sha1_ctx {
    uint32_t h[5];
    uint64_t total; /* bytes hashed so far */
    unsigned char block[64];
    size_t fill; /* bytes waiting in block */
} sha1_ctx;

void sha1_init(sha1_ctx *c);
void sha1_update(sha1_ctx *c, const void *p, size_t len);
/* Writes the 20-byte digest to out; the context must be initialised again before reuse. */
void sha1_final(sha1_ctx *c, unsigned char out[20]);
/* Writes the lower-case hex digest of p[0..len) and a NUL to out (41 bytes). */
void sha1_hex(char out[41], const void *p, size_t len);

#endif
