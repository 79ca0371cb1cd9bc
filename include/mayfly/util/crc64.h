/* crc64: the CRC-64 of Redis's RDB files and DUMP payloads.
 *
 * The "Jones" polynomial (0xad93d23594c935a9), bit-reflected input and output, initial
 * value 0 and no final xor: crc64(0, "123456789", 9) == 0xe9c6d914c4b8d9ca. The value
 * is stored little-endian after an RDB file's EOF byte and at the end of a DUMP payload.
 * Computed by carry-less multiplication where the CPU has it (x86-64 PCLMULQDQ), else
 * eight bytes at a time from tables built on first use. */
#ifndef MAYFLY_UTIL_CRC64_H
#define MAYFLY_UTIL_CRC64_H

#include <stddef.h>
#include <stdint.h>

/* Extends crc (0 to start) over p[0..len) and returns the new value. */
uint64_t crc64(uint64_t crc, const void *p, size_t len);
/* The same with the tables only (tests compare the two). */
uint64_t crc64_bytewise(uint64_t crc, const void *p, size_t len);

#endif
