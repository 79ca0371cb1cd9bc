/* benchnet: the loopback client plumbing the bench/ C tools share (latprobe, trackload):
 * connect with TCP_NODELAY, write everything, find where a RESP frame ends. Not Mayfly
 * code: the tools measure a server from outside. Failures print "<tool>: <what>" and exit
 * with status 2 (a benchmark tool has nothing to recover). */
#ifndef MAYFLY_BENCH_BENCHNET_H
#define MAYFLY_BENCH_BENCHNET_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

/* The name failures are reported under ("latprobe", "trackload"). */
extern const char *benchnet_tool;

/* A connected TCP socket to 127.0.0.1:port with TCP_NODELAY; exits on failure. */
int benchnet_connect(int port);

/* Writes all n bytes of p to fd (retrying on EINTR); exits on failure. */
void benchnet_send_all(int fd, const char *p, size_t n);

/* Length of the complete RESP2/RESP3 frame at p[0..n) (any type, nested; an attribute
 * '|' counts as a frame of its own), or 0 while it is incomplete. */
size_t benchnet_frame_len(const char *p, size_t n);

/* The clock clk in microseconds. */
int64_t benchnet_now_us(clockid_t clk);

#endif
