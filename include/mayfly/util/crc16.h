/* crc16: CRC-16/XMODEM (polynomial 0x1021, initial value 0, no reflection), the checksum
 * Redis Cluster maps keys to hash slots with (crc16(key) mod 16384). */
#ifndef MAYFLY_UTIL_CRC16_H
#define MAYFLY_UTIL_CRC16_H

#include <stddef.h>
#include <stdint.h>

/* The CRC-16/XMODEM of len bytes at p ("123456789" gives 0x31C3). */
uint16_t crc16(const void *p, size_t len);

#endif
