/* crc16: CRC-16/XMODEM, table-driven. The 256-entry table is computed on first use from
 * the polynomial (each entry is the CRC of one byte shifted through eight rounds), so
 * no constant table is transcribed by hand. */
#include "mayfly/util/crc16.h"

static uint16_t table[256];
static int table_ready;

static void build_table(void) {
    for (unsigned i = 0; i < 256; i++) {
        uint16_t c = (uint16_t)(i << 8);
        for (int b = 0; b < 8; b++)
            c = (uint16_t)((c & 0x8000) ? (c << 1) ^ 0x1021 : c << 1);
        table[i] = c;
    }
    table_ready = 1;
}

uint16_t crc16(const void *p, size_t len) {
    if (!table_ready) build_table();
    const unsigned char *s = p;
    uint16_t crc = 0;
    for (size_t i = 0; i < len; i++)
        crc = (uint16_t)((crc << 8) ^ table[((crc >> 8) ^ s[i]) & 0xff]);
    return crc;
}
