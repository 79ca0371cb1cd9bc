/* stream: the replication stream and its backlog.
 *
 * Bytes of the stream are numbered from 1 within a replication history (replid): the
 * offset of the last byte written is master_repl_offset, and a replica that has applied N
 * bytes asks PSYNC for offset N+1. The bytes live in a doubly linked chain of fixed-size
 * blocks:
 *
 *     head                                                           tail
 *     [first=1001 .. 66536] <-> [66537 .. 132072] <-> ... <-> [.. offset]
 *           ^ keep_from (a replica waiting for its snapshot)     ^ appended here
 *                         ^ backlog window: the last repl-backlog-size bytes
 *
 * The backlog is the window of the last repl-backlog-size bytes (PSYNC may continue from
 * any offset in it); blocks before both the window and the oldest byte a replica waiting
 * for its snapshot still needs (keep_from) are freed. Online replicas are sent what is new
 * once per loop turn straight from the blocks, and what a socket does not take is written
 * from the blocks too once it drains (peer_send_kept): a replica that lags keeps the
 * blocks from its position on (keep_from is the oldest such position), as Redis 7's shared
 * replication buffer, instead of a copy in each link's output. A record is encoded once,
 * into the tail block, whatever the number of replicas. The blocks before the window are
 * the replicas' memory (mem_clients_slaves, their output-buffer limit), the rest the
 * backlog's.
 *
 * With no backlog (no replica has ever attached, or it was freed after repl-backlog-ttl)
 * nothing is kept and the offset stands still, as in Redis. The journal hands the stream
 * its records through a sink (RESP encoding, SELECT framing); a replica hands it its
 * primary's bytes verbatim through the same sink's pass-on path, so its offsets are the
 * primary's. */
#include "mayfly/cmd/host.h"
#include "mayfly/util/mem.h"
#include "mayfly/util/strconv.h"
#include "repl/repl_int.h"

#include <string.h>

#define BLOCK_SIZE (64 * 1024)
#define BACKLOG_MIN_SIZE (16 * 1024) /* Redis's CONFIG_REPL_BACKLOG_MIN_SIZE */

typedef struct block {
    struct block *prev, *next;
    uint64_t first; /* offset of data[0] */
    size_t used;
    char data[BLOCK_SIZE];
} block;

static struct {
    block *head, *tail;
    uint64_t offset;    /* master_repl_offset */
    int active;         /* the backlog exists */
    long long size;     /* repl-backlog-size, at least BACKLOG_MIN_SIZE */
    uint64_t keep_from; /* oldest offset a waiting replica needs, UINT64_MAX: none */
    size_t blocks;      /* blocks held */
    block *span_at;     /* the block stream_span last read (NULL once freed) */
} st = {.size = 1024 * 1024, .keep_from = UINT64_MAX};

int stream_active(void) {
    return st.active;
}

uint64_t stream_offset(void) {
    return st.offset;
}

void stream_set_offset(uint64_t offset) {
    stream_free();
    st.offset = offset;
}

/* The first offset of the last repl-backlog-size bytes. */
static uint64_t size_first(void) {
    uint64_t first = st.head ? st.head->first : st.offset + 1;
    uint64_t size = (uint64_t)st.size;
    if (st.offset >= size && st.offset - size + 1 > first) first = st.offset - size + 1;
    return first;
}

/* The first offset of the backlog window: the last repl-backlog-size bytes, or more while
 * replicas keep older blocks (as Redis 7's backlog, which starts at the oldest block of
 * the shared buffer that a replica still uses: PSYNC may continue from there too). */
static uint64_t window_first(void) {
    uint64_t first = size_first();
    return st.keep_from < first && st.head ? st.head->first : first;
}

uint64_t stream_backlog_first(void) {
    return st.active ? window_first() : 0;
}

uint64_t stream_histlen(void) {
    return st.active ? st.offset + 1 - window_first() : 0;
}

long long stream_backlog_size(void) {
    return st.size;
}

size_t stream_memory(void) {
    return st.blocks * sizeof(block);
}

/* Memory of the blocks held only for replicas: while they keep bytes older than the last
 * repl-backlog-size, the blocks wholly before those (every block but the tail is full:
 * counted from offsets). */
size_t stream_replica_memory(void) {
    uint64_t first = size_first();
    if (!st.head || st.keep_from >= first) return 0; /* a block of slack is the backlog's */
    uint64_t before = first - st.head->first;
    return (size_t)(before / BLOCK_SIZE) * sizeof(block);
}

/* Frees the blocks nobody needs: wholly before both the window and keep_from. */
static void trim(void) {
    uint64_t need = size_first();
    if (st.keep_from < need) need = st.keep_from;
    /* The tail holds the last bytes, which the window always covers. */
    while (st.head && st.head->next && st.head->first + st.head->used <= need) {
        block *b = st.head;
        st.head = b->next;
        st.head->prev = NULL;
        if (st.span_at == b) st.span_at = NULL;
        mem_free(b);
        st.blocks--;
    }
    host_stat.repl_backlog_bytes = (long long)(stream_memory() - stream_replica_memory());
    host_stat.repl_buffer_bytes = (long long)stream_memory();
}

void stream_set_backlog_size(long long size) {
    st.size = size < BACKLOG_MIN_SIZE ? BACKLOG_MIN_SIZE : size;
    if (st.active) trim();
}

void stream_keep_from(uint64_t offset) {
    st.keep_from = offset;
    if (st.active) trim();
}

void stream_create(void) {
    if (st.active) return;
    st.active = 1;
    repl_sink_attach();
}

void stream_free(void) {
    while (st.head) {
        block *b = st.head;
        st.head = b->next;
        mem_free(b);
    }
    st.tail = st.span_at = NULL;
    st.blocks = 0;
    host_stat.repl_backlog_bytes = host_stat.repl_buffer_bytes = 0;
    if (st.active) repl_sink_detach();
    st.active = 0;
}

/* Room at the tail: a block with free space (a new one if the tail is full). The blocks
 * that fell out of the window are freed here, when the stream takes a new block: the
 * window moves with the offset whatever is held, so trimming once per block keeps at most
 * one block more than needed without a check per record. */
static block *tail_with_room(void) {
    if (st.tail && st.tail->used < BLOCK_SIZE) return st.tail;
    block *b = mem_alloc(sizeof(block));
    b->prev = st.tail;
    b->next = NULL;
    b->first = st.offset + 1;
    b->used = 0;
    if (st.tail)
        st.tail->next = b;
    else
        st.head = b;
    st.tail = b;
    st.blocks++;
    trim();
    return b;
}

static void put(const char *p, size_t len) {
    while (len) {
        block *b = tail_with_room();
        size_t n = BLOCK_SIZE - b->used;
        if (n > len) n = len;
        memcpy(b->data + b->used, p, n);
        b->used += n;
        st.offset += n;
        p += n;
        len -= n;
    }
}

size_t stream_append(const char *p, size_t len) {
    if (!st.active || len == 0) return 0;
    block *b = st.tail;
    if (b && BLOCK_SIZE - b->used >= len) { /* nearly always: room in the tail block */
        memcpy(b->data + b->used, p, len);
        b->used += len;
        st.offset += len;
    } else {
        put(p, len);
    }
    repl_stream_grew();
    return len;
}

/* Decimal digits of v (argument lengths are mostly short: the first tests settle them). */
static inline size_t digits(size_t v) {
    if (v < 10) return 1;
    if (v < 100) return 2;
    if (v < 1000) return 3;
    size_t n = 4;
    for (v /= 10000; v; v /= 10)
        n++;
    return n;
}

/* "<c><v>\r\n" at p (room checked by the caller); returns the end. */
static inline char *emit_header(char *p, char c, size_t v) {
    *p++ = c;
    if (v < 10) {
        *p++ = (char)('0' + v);
    } else if (v < 100) {
        *p++ = (char)('0' + v / 10);
        *p++ = (char)('0' + v % 10);
    } else {
        size_t n = digits(v);
        for (size_t i = n; i > 0; i--, v /= 10)
            p[i - 1] = (char)('0' + v % 10);
        p += n;
    }
    *p++ = '\r';
    *p++ = '\n';
    return p;
}

/* The RESP array of argv, written in one pass straight into the tail block when it has
 * room for the longest the encoding can be (nearly always: a record crosses a block
 * boundary once per 64 KiB), else piece by piece across blocks. */
#define HEADER_MAX (1 + 20 + 2) /* "$" digits "\r\n" */

static size_t argv_bound(int argc, const slice *argv) {
    size_t n = HEADER_MAX;
    for (int i = 0; i < argc; i++)
        n += argv[i].len;
    return n + (size_t)argc * (HEADER_MAX + 2);
}

static void put_split(int argc, const slice *argv) {
    char tmp[HEADER_MAX];
    put(tmp, (size_t)(emit_header(tmp, '*', (size_t)argc) - tmp));
    for (int i = 0; i < argc; i++) {
        put(tmp, (size_t)(emit_header(tmp, '$', argv[i].len) - tmp));
        put(argv[i].p, argv[i].len);
        put("\r\n", 2);
    }
}

size_t stream_append_argv(int argc, const slice *argv) {
    if (!st.active) return 0;
    uint64_t before = st.offset;
    block *b = tail_with_room();
    if (BLOCK_SIZE - b->used < argv_bound(argc, argv)) {
        put_split(argc, argv);
    } else {
        char *start = b->data + b->used, *p = emit_header(start, '*', (size_t)argc);
        for (int i = 0; i < argc; i++) {
            p = emit_header(p, '$', argv[i].len);
            memcpy(p, argv[i].p, argv[i].len);
            p += argv[i].len;
            *p++ = '\r';
            *p++ = '\n';
        }
        b->used += (size_t)(p - start);
        st.offset += (uint64_t)(p - start);
    }
    repl_stream_grew();
    return (size_t)(st.offset - before);
}

int stream_has(uint64_t from) {
    return st.active && from >= window_first() && from <= st.offset + 1;
}

size_t stream_span(uint64_t from, const char **p) {
    if (!st.active || from > st.offset || !st.head || from < st.head->first) return 0;
    /* catch_up reads consecutive spans: the block after the last one read, or that one
     * again. Otherwise a walk: feeds read near the tail, a replica far behind near the head
     * (thousands of blocks for one that lags by hundreds of megabytes: once, not per span). */
    block *b = st.span_at;
    if (b && from == b->first + b->used) b = b->next; /* exists: from <= st.offset */
    if (!b || from < b->first || from >= b->first + b->used) {
        if (from - st.head->first < st.offset - from)
            for (b = st.head; b->first + b->used <= from; b = b->next) {
            }
        else
            for (b = st.tail; b->first > from; b = b->prev) {
            }
    }
    st.span_at = b;
    size_t at = (size_t)(from - b->first);
    *p = b->data + at;
    return b->used - at;
}

uint64_t stream_copy(uint64_t from, void (*fn)(void *ctx, const char *p, size_t len), void *ctx) {
    if (!st.active || from > st.offset || !st.head || from < st.head->first) return 0;
    /* Most readers want what was just written: look for the block from the tail. */
    block *b = st.tail;
    while (b->first > from)
        b = b->prev;
    uint64_t sent = 0;
    size_t at = (size_t)(from - b->first);
    for (; b; b = b->next, at = 0) {
        if (b->used > at) fn(ctx, b->data + at, b->used - at);
        sent += b->used - at;
    }
    return sent;
}
