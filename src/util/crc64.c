/* crc64: Redis's CRC-64 (Jones polynomial, reflected); see crc64.h.
 *
 * Two ways, the same result:
 *
 *   tables   slicing by eight: table[0] is the classic byte-at-a-time table of the
 *            reflected polynomial, and table[k][b] is the CRC of byte b followed by k zero
 *            bytes, so eight input bytes fold into the register with eight lookups. The
 *            tables (16 KiB) are built once, on first use. About 0.5-1 GB/s.
 *   folding  on x86-64 with PCLMULQDQ, for inputs of 64 bytes or more: the message is a
 *            polynomial M(x) and its CRC is M(x)·x^64 mod P, so any 16-byte block A may be
 *            replaced by a block congruent to A·x^(8D) mod P placed D bytes further on.
 *            With A = H·x^64 + L (H: its first 8 bytes, the higher powers in this bit
 *            order), A·x^(8D) ≡ H·(x^(8D+64) mod P) + L·(x^(8D) mod P), two carry-less
 *            64x64 products. Four 16-byte lanes are folded 64 bytes at a time, then into
 *            one another, then block by block; the last 16-byte block and the tail go
 *            through the tables. In the reflected bit order a carry-less product comes out
 *            one bit short (bit i+j of the result stands for degree 126-(i+j) of a 128-bit
 *            register whose top is 127), so the constants are x^(n-1) mod P. The
 *            constants are computed at start from P, not written in. Several GB/s.
 * The caller's running CRC is folded in by XOR into the first 8 bytes, which is what the
 * register of the byte-wise loop does with them. */
#include "mayfly/util/crc64.h"

#include <pthread.h>
#include <string.h>

#define POLY 0xad93d23594c935a9ULL /* x^64 + this: the Jones polynomial */
#define POLY_REFLECTED 0x95ac9329ac4bc9b5ULL

static uint64_t table[8][256];
static pthread_once_t table_once = PTHREAD_ONCE_INIT;

static uint64_t crc64_tables(uint64_t crc, const unsigned char *p, size_t len) {
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

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>

#define CRC64_FOLDING 1
static int have_clmul;
/* {x^(64*2+64-1), x^(64*2-1)} mod P and the same for D = 64 bytes, reflected. */
static uint64_t k16[2], k64[2];

/* x^n mod P in the normal bit order (bit i: coefficient of x^i). */
static uint64_t xpow_mod(unsigned n) {
    uint64_t r = 1;
    while (n--)
        r = (r << 1) ^ ((r >> 63) ? POLY : 0);
    return r;
}

static uint64_t reflect64(uint64_t v) {
    uint64_t r = 0;
    for (int i = 0; i < 64; i++, v >>= 1)
        r = (r << 1) | (v & 1);
    return r;
}

static void build_fold_constants(void) {
    have_clmul = __builtin_cpu_supports("pclmul") && __builtin_cpu_supports("sse4.1");
    k16[0] = reflect64(xpow_mod(128 + 64 - 1));
    k16[1] = reflect64(xpow_mod(128 - 1));
    k64[0] = reflect64(xpow_mod(512 + 64 - 1));
    k64[1] = reflect64(xpow_mod(512 - 1));
}

__attribute__((target("pclmul,sse4.1"))) static inline __m128i fold(__m128i a, __m128i k,
                                                                    __m128i next) {
    __m128i hi = _mm_clmulepi64_si128(a, k, 0x00); /* first 8 bytes x far constant */
    __m128i lo = _mm_clmulepi64_si128(a, k, 0x11); /* last 8 bytes x near constant */
    return _mm_xor_si128(_mm_xor_si128(hi, lo), next);
}

/* len >= 64. */
__attribute__((target("pclmul,sse4.1"))) static uint64_t
crc64_fold(uint64_t crc, const unsigned char *p, size_t len) {
    const __m128i kk64 = _mm_set_epi64x((long long)k64[1], (long long)k64[0]);
    const __m128i kk16 = _mm_set_epi64x((long long)k16[1], (long long)k16[0]);
    __m128i x0 = _mm_loadu_si128((const __m128i *)p);
    __m128i x1 = _mm_loadu_si128((const __m128i *)(p + 16));
    __m128i x2 = _mm_loadu_si128((const __m128i *)(p + 32));
    __m128i x3 = _mm_loadu_si128((const __m128i *)(p + 48));
    x0 = _mm_xor_si128(x0, _mm_cvtsi64_si128((long long)crc));
    p += 64;
    len -= 64;
    while (len >= 64) {
        x0 = fold(x0, kk64, _mm_loadu_si128((const __m128i *)p));
        x1 = fold(x1, kk64, _mm_loadu_si128((const __m128i *)(p + 16)));
        x2 = fold(x2, kk64, _mm_loadu_si128((const __m128i *)(p + 32)));
        x3 = fold(x3, kk64, _mm_loadu_si128((const __m128i *)(p + 48)));
        p += 64;
        len -= 64;
    }
    x1 = fold(x0, kk16, x1);
    x2 = fold(x1, kk16, x2);
    x3 = fold(x2, kk16, x3);
    while (len >= 16) {
        x3 = fold(x3, kk16, _mm_loadu_si128((const __m128i *)p));
        p += 16;
        len -= 16;
    }
    unsigned char last[16];
    _mm_storeu_si128((__m128i *)last, x3);
    return crc64_tables(crc64_tables(0, last, 16), p, len);
}
#endif

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
#ifdef CRC64_FOLDING
    build_fold_constants();
#endif
}

uint64_t crc64(uint64_t crc, const void *data, size_t len) {
    pthread_once(&table_once, build_tables);
#ifdef CRC64_FOLDING
    if (len >= 64 && have_clmul) return crc64_fold(crc, data, len);
#endif
    return crc64_tables(crc, data, len);
}

uint64_t crc64_bytewise(uint64_t crc, const void *data, size_t len) {
    pthread_once(&table_once, build_tables);
    return crc64_tables(crc, data, len);
}
