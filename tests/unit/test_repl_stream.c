/* Unit tests for the replication stream (repl/stream.c): offsets, the backlog window across
 * block boundaries, what a waiting replica keeps, and the RESP encoding of records. */
#include "mayfly/server.h"
#include "repl/repl_int.h"
#include "unit/test.h"

#include <stdio.h>
#include <string.h>

static char got[1 << 20];
static size_t got_len;

static void collect(void *ctx, const char *p, size_t len) {
    (void)ctx;
    memcpy(got + got_len, p, len);
    got_len += len;
}

static uint64_t copy_from(uint64_t from) {
    got_len = 0;
    return stream_copy(from, collect, NULL);
}

/* Byte i of the test pattern (offsets start at 1). */
static char pattern(uint64_t off) {
    return (char)('a' + off % 23);
}

static void append_pattern(uint64_t n) {
    char chunk[4096];
    while (n) {
        size_t k = n < sizeof(chunk) ? (size_t)n : sizeof(chunk);
        uint64_t base = stream_offset() + 1;
        for (size_t i = 0; i < k; i++)
            chunk[i] = pattern(base + i);
        stream_append(chunk, k);
        n -= k;
    }
}

TEST(no_backlog_no_offset) {
    stream_free();
    stream_set_offset(0);
    stream_append("abc", 3);
    ASSERT_EQ(0, stream_offset());
    ASSERT_EQ(0, stream_active());
    ASSERT_EQ(0, stream_backlog_first());
    ASSERT_EQ(0, stream_histlen());
}

TEST(offsets_and_copies_across_blocks) {
    stream_set_offset(1000);
    stream_set_backlog_size(1 << 20);
    stream_create();
    ASSERT_EQ(1001, stream_backlog_first());
    ASSERT_EQ(0, stream_histlen());
    ASSERT(stream_has(1001)); /* nothing to send yet, but a PSYNC there is fine */
    append_pattern(200000);   /* several blocks */
    ASSERT_EQ(201000, stream_offset());
    ASSERT_EQ(200000, stream_histlen());
    ASSERT_EQ(200000 - 12345 + 1, copy_from(1000 + 12345));
    for (size_t i = 0; i < got_len; i++)
        if (got[i] != pattern(1000 + 12345 + i)) TEST_FAIL("byte %zu differs", i);
    ASSERT_EQ(1, copy_from(201000));
    ASSERT_EQ(pattern(201000), got[0]);
    ASSERT(!stream_has(1000));
    ASSERT(stream_has(201001));
    ASSERT(!stream_has(201002));
    stream_free();
}

TEST(backlog_window_slides_and_waiting_replicas_keep_bytes) {
    stream_set_offset(0);
    stream_set_backlog_size(100000);
    stream_create();
    append_pattern(300000);
    /* The window is exactly the last 100000 bytes. */
    ASSERT_EQ(300000 - 100000 + 1, stream_backlog_first());
    ASSERT_EQ(100000, stream_histlen());
    ASSERT(!stream_has(150000));
    ASSERT(stream_has(200001));
    size_t mem_before = stream_memory();
    /* A replica waiting for its snapshot taken at 250000 keeps everything after it. */
    stream_keep_from(250001);
    append_pattern(500000);
    ASSERT_EQ(800000, stream_offset());
    ASSERT_EQ(800000 - 250001 + 1, copy_from(250001));
    ASSERT_EQ(pattern(250001), got[0]);
    ASSERT(stream_memory() > mem_before);
    /* Once it is fed, the bytes go back to the window's size (give or take a block). */
    stream_keep_from(UINT64_MAX);
    ASSERT(stream_memory() <= 100000 + 2 * 70000);
    ASSERT_EQ(100000, stream_histlen());
    /* A smaller backlog keeps less; 16 KB is the least. */
    stream_set_backlog_size(10);
    ASSERT_EQ(16 * 1024, stream_backlog_size());
    ASSERT_EQ(16 * 1024, stream_histlen());
    stream_free();
}

/* A replica that lags keeps the blocks from its position (Redis 7's shared buffer): the
 * backlog reaches back to the oldest of them (PSYNC may continue there, histlen grows),
 * the blocks before the last repl-backlog-size bytes are the replicas' memory, and
 * stream_span hands the held bytes out block by block from either end. */
TEST(lagging_replica_keeps_blocks_and_spans_read_them) {
    stream_set_offset(0);
    stream_set_backlog_size(100000);
    stream_create();
    append_pattern(300000);
    ASSERT_EQ(0, stream_replica_memory());
    stream_keep_from(150001);
    append_pattern(400000);
    /* Held from the block holding 150001 (blocks are 64 KiB: offsets 131073..196608). */
    ASSERT_EQ(131073, stream_backlog_first());
    ASSERT_EQ(700000 - 131073 + 1, stream_histlen());
    ASSERT(stream_has(150001));
    ASSERT(stream_replica_memory() >= (700000 - 100000 - 196608) / 65536 * 65536);
    ASSERT(stream_replica_memory() < stream_memory());
    /* Read every held byte from 150001 on through spans. */
    uint64_t at = 150001;
    int spans = 0;
    while (at <= stream_offset()) {
        const char *p;
        size_t n = stream_span(at, &p);
        if (n == 0 || n > 65536) TEST_FAIL("span of %zu at %llu", n, (unsigned long long)at);
        for (size_t i = 0; i < n; i++)
            if (p[i] != pattern(at + i))
                TEST_FAIL("byte %llu differs", (unsigned long long)(at + i));
        at += n;
        spans++;
    }
    ASSERT(spans >= 9);
    const char *p;
    ASSERT_EQ(0, stream_span(stream_offset() + 1, &p));
    ASSERT_EQ(0, stream_span(100, &p));
    /* Spans out of order, and again: each from its own block. */
    const uint64_t probes[] = {150001, 400000, 196609, 196608, 700000, 131073};
    for (size_t i = 0; i < sizeof(probes) / sizeof(probes[0]); i++) {
        size_t n = stream_span(probes[i], &p);
        int to_block_end = (probes[i] - 1) % 65536 + n == 65536;
        int to_stream_end = probes[i] + n == stream_offset() + 1;
        if (n == 0 || p[0] != pattern(probes[i]) || (!to_block_end && !to_stream_end))
            TEST_FAIL("span at %llu", (unsigned long long)probes[i]);
    }
    /* Caught up: back to the configured window, the blocks freed (the last one read among
     * them: a later span must not start from it, which ASan would see). */
    ASSERT(stream_span(131073, &p) > 0);
    stream_keep_from(UINT64_MAX);
    ASSERT(stream_span(stream_offset(), &p) == 1 && p[0] == pattern(stream_offset()));
    ASSERT_EQ(100000, stream_histlen());
    ASSERT(!stream_has(150001));
    ASSERT_EQ(0, stream_replica_memory());
    ASSERT(stream_memory() <= 100000 + 2 * 70000);
    stream_free();
}

TEST(records_are_resp) {
    stream_set_offset(0);
    stream_create();
    slice argv[3] = {slice_of("set"), slice_of("k"), {"", 0}};
    stream_append_argv(3, argv);
    const char want[] = "*3\r\n$3\r\nset\r\n$1\r\nk\r\n$0\r\n\r\n";
    ASSERT_EQ(sizeof(want) - 1, stream_offset());
    ASSERT_EQ(sizeof(want) - 1, copy_from(1));
    ASSERT(memcmp(got, want, sizeof(want) - 1) == 0);
    stream_free();
}

/* The reference encoding, built with snprintf. */
static size_t resp_of(char *out, int argc, const slice *argv) {
    size_t n = (size_t)sprintf(out, "*%d\r\n", argc);
    for (int i = 0; i < argc; i++) {
        n += (size_t)sprintf(out + n, "$%zu\r\n", argv[i].len);
        memcpy(out + n, argv[i].p, argv[i].len);
        n += argv[i].len;
        memcpy(out + n, "\r\n", 2);
        n += 2;
    }
    return n;
}

static char want_buf[1 << 20];
static char arg_bytes[200000];

/* Records of every length class (digits 1 to 6), written at every distance from a block's
 * end, so that the one-pass encoding and the split one across blocks both run. */
TEST(records_across_blocks_and_long_lengths) {
    static const size_t lens[] = {0,    1,    9,     10,    99,    100,   999,
                                  1000, 9999, 10000, 65535, 70000, 131073};
    for (size_t i = 0; i < sizeof(arg_bytes); i++)
        arg_bytes[i] = (char)('A' + i % 26);
    for (size_t start = 0; start < 64; start += 7) {
        stream_set_offset(0);
        stream_set_backlog_size(1 << 20);
        stream_create();
        /* The tail block ends start + a few bytes after the first record's start. */
        append_pattern(64 * 1024 - 40 + start);
        uint64_t first = stream_offset() + 1;
        size_t want_len = 0;
        for (size_t k = 0; k < sizeof(lens) / sizeof(lens[0]); k++) {
            slice argv[3] = {slice_of("hset"), {arg_bytes, lens[k]}, {arg_bytes + 7, lens[k] / 3}};
            want_len += resp_of(want_buf + want_len, 3, argv);
            stream_append_argv(3, argv);
        }
        ASSERT_EQ(first - 1 + want_len, stream_offset());
        ASSERT_EQ(want_len, copy_from(first));
        if (memcmp(got, want_buf, want_len) != 0) TEST_FAIL("encoding differs at start %zu", start);
        stream_free();
    }
}

int main(void) {
    server_init();
    RUN(no_backlog_no_offset);
    RUN(offsets_and_copies_across_blocks);
    RUN(backlog_window_slides_and_waiting_replicas_keep_bytes);
    RUN(lagging_replica_keeps_blocks_and_spans_read_them);
    RUN(records_are_resp);
    RUN(records_across_blocks_and_long_lengths);
    return test_report();
}
