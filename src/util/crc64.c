/* crc64: Redis's CRC-64 (Jones polynomial, reflected); see crc64.h.
 *
 * Slicing by eight: table[0] is the classic byte-at-a-time table of the reflected
 * polynomial, and table[k][b] is the CRC of byte b followed by k zero bytes, so eight
 * input bytes fold into the register with eight lookups and no data-dependent shifts
 * between them. The tables (16 KiB) are built once, on first use. */
#include "mayfly/util/crc64.h"

#include <pthread.h>

#define POLY_REFLECTED 0x95ac9329ac4bc9b5ULL /* 0xad93d23594c935a9 bit-reversed */

static uint64_t table[8][256];
static pthread_once_t table_once = PTHREAD_ONCE_INIT;

static void build_tables(void) {
    for (int b = 0; b < 256; b++) {
        uint64_t c = (uint64_t)b;
        for (int i = 0; i < 8; i++)
            c = (c & 1) ? (c >> 1) ^ POLY_REFLECTED : c >> 1;
        table[0][b] = c;
    }
    for (int k = 1; k < 8; k++)
        for (int b = 0; b < 256; b++)
            table[k][b] = (table[k - 1][b] >> 8) ^ table[0][table[k - 1][b] & 0xff];
}

uint64_t crc64(uint64_t crc, const void *data, size_t len) {
    pthread_once(&table_once, build_tables);
    const unsigned char *p = data;
    while (len >= 8) {
        uint64_t v = crc;
        for (int i = 0; i < 8; i++)
            v ^= (uint64_t)p[i] << (8 * i);
        crc = table[7][v & 0xff] ^ table[6][(v >> 8) & 0xff] ^ table[5][(v >> 16) & 0xff] ^
              table[4][(v >> 24) & 0xff] ^ table[3][(v >> 32) & 0xff] ^ table[2][(v >> 40) & 0xff] ^
              table[1][(v >> 48) & 0xff] ^ table[0][v >> 56];
        p += 8;
        len -= 8;
    }
    while (len--)
        crc = table[0][(crc ^ *p++) & 0xff] ^ (crc >> 8);
    return crc;
}
