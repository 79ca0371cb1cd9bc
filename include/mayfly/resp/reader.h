/* reader: the incremental RESP reply reader, for links where Mayfly is the client (a
 * replica talking to its primary, MIGRATE, a cluster peer). No I/O: the shape of the
 * request parser (resp.h) — feed it the unconsumed bytes, it returns one complete reply
 * at a time and how many bytes it used, and remembers its progress through a partial
 * reply so that no byte is parsed twice.
 *
 * Every RESP2 and RESP3 type is read: + - : $ * _ , # ! = ( % ~ > |, RESP2's null bulk
 * ($-1) and null array (*-1), and RESP3's streamed strings ($? then ;N chunks up to ;0) and
 * streamed aggregates (*? %? ~? >? |? closed by "."). Parsing is strict: a line ends with
 * CRLF, a payload is followed by CRLF, numbers have no stray bytes; anything else is a
 * protocol error (the link is out of step: close it).
 *
 * A reply is a tree stored flat, in pre-order, in r->nodes[0..nnodes):
 *
 *     *2\r\n $1\r\na\r\n %1\r\n +k\r\n :1\r\n
 *     nodes: [0] '*' n=2 end=5   [1] '$' "a" end=2   [2] '%' n=1 end=5
 *            [3] '+' "k" end=4   [4] ':' 1 end=5
 *
 * A node's children follow it; `end` is the index just past its last descendant, so the
 * next sibling of node i is nodes[i].end. An attribute (|) is a node of its own placed
 * just before the value it annotates, and does not count as an element of its parent; a
 * reply that starts with one has its value at nodes[0].end (resp_reply_value). Strings are
 * (off, len) offsets from the reply's first byte, as the request parser's arguments are,
 * so the caller's buffer may move between calls; they stay valid until the next
 * resp_read while the caller keeps the reply's bytes. */
#ifndef MAYFLY_RESP_READER_H
#define MAYFLY_RESP_READER_H

#include <stddef.h>
#include <stdint.h>

/* resp_read's results: the request parser's codes (resp.h) with the same meaning. */
enum {
    RESP_READ_OK = 0,         /* one reply read: nodes, nnodes and consumed are set */
    RESP_READ_INCOMPLETE = 1, /* need more bytes; call again with them appended */
    RESP_READ_EPROTO = -1,    /* malformed or over a limit: err is set, until reset */
};

/* Node types: the type byte of each RESP type. */
enum resp_type {
    RESP_T_SIMPLE = '+',     /* simple string: off/len */
    RESP_T_ERROR = '-',      /* simple error: off/len ("ERR message") */
    RESP_T_INT = ':',        /* integer: i */
    RESP_T_BULK = '$',       /* bulk string: off/len; streamed: chunk children */
    RESP_T_ARRAY = '*',      /* n elements */
    RESP_T_NULL = '_',       /* null: RESP3 _, or RESP2 $-1 / *-1 (see flags) */
    RESP_T_DOUBLE = ',',     /* double: d, and its text at off/len */
    RESP_T_BOOL = '#',       /* boolean: i is 1 or 0 */
    RESP_T_BULK_ERROR = '!', /* bulk error: off/len */
    RESP_T_VERBATIM = '=',   /* verbatim string: off/len is "fmt:text" (fmt 3 bytes) */
    RESP_T_BIGNUM = '(',     /* big number: its digits (with any '-') at off/len */
    RESP_T_MAP = '%',        /* n pairs: 2n children, key then value */
    RESP_T_SET = '~',        /* n elements */
    RESP_T_PUSH = '>',       /* out-of-band push: n elements */
    RESP_T_ATTR = '|',       /* attribute: n pairs, annotating the next value */
    RESP_T_CHUNK = ';',      /* one chunk of a streamed string: off/len */
};

/* Node flags. */
#define RESP_NODE_STREAMED 1u   /* $? or an aggregate with "?": the count came from its end */
#define RESP_NODE_NULL_BULK 2u  /* RESP_T_NULL read from RESP2's $-1 */
#define RESP_NODE_NULL_ARRAY 4u /* RESP_T_NULL read from RESP2's *-1 */

typedef struct resp_node {
    char type;     /* enum resp_type */
    uint8_t flags; /* RESP_NODE_* */
    uint32_t end;  /* index just past this node's subtree */
    size_t off;    /* payload: offset from the reply's first byte */
    size_t len;    /* payload length; a streamed string: the sum of its chunks */
    long long i;   /* integer, boolean; aggregates: elements (pairs for % and |); a
                      streamed string: its chunks */
    double d;      /* double */
} resp_node;

typedef struct resp_reader_limits {
    long long max_bulk_len; /* longest string payload (and chunk), default 512 MB */
    size_t max_line;        /* longest simple string/error/number line, default 1 MB */
    int max_depth;          /* deepest nesting of aggregates, default 128 */
    uint32_t max_nodes;     /* most nodes in one reply, default 16M */
} resp_reader_limits;

typedef struct resp_reader {
    resp_reader_limits limits; /* set freely between replies */
    /* Output of the last RESP_READ_OK. */
    resp_node *nodes; /* owned; the reply in pre-order */
    uint32_t nnodes;
    size_t consumed; /* bytes the reply used, its last CRLF included */
    const char *err; /* message for RESP_READ_EPROTO, "Protocol error: ..."; no CR/LF */
    /* Progress through a partial reply (private). */
    int state;                /* READ_* in reader.c */
    size_t pos;               /* bytes of the current reply already parsed */
    size_t scan;              /* bytes already searched for the current line's end */
    uint32_t cap;             /* nodes allocated */
    uint32_t payload;         /* the node whose payload is awaited (state READ_PAYLOAD) */
    struct resp_frame *stack; /* open aggregates, innermost last; owned */
    int depth;
    int stack_cap;
    char errbuf[64];
} resp_reader;

/* Initialises a reader with default limits (no allocation yet). */
void resp_reader_init(resp_reader *r);
/* Frees the reader's storage; it may be initialised again. */
void resp_reader_deinit(resp_reader *r);
/* Forgets a partial reply or a protocol error (keeps limits and storage). */
void resp_reader_reset(resp_reader *r);

/* Reads one reply from data[0..len), where data starts at the first unconsumed byte (the
 * start of the current reply). Returns:
 *   RESP_READ_OK: nodes[0..nnodes) is the reply; drop r->consumed bytes before the next
 *     call. The nodes stay valid until the next call.
 *   RESP_READ_INCOMPLETE: call again with the same bytes plus more; nothing consumed.
 *   RESP_READ_EPROTO: r->err says why; every later call fails the same way until
 *     resp_reader_reset. */
int resp_read(resp_reader *r, const char *data, size_t len);

/* The payload of node i, given the data passed to resp_read. */
static inline const char *resp_node_ptr(const resp_reader *r, const char *data, uint32_t i) {
    return data + r->nodes[i].off;
}
/* The index of the reply's value: 0, or past a leading attribute. */
uint32_t resp_reply_value(const resp_reader *r);
/* The index of element k (0-based; for maps, key j is element 2j and its value 2j+1) of
 * the aggregate or streamed string at node i, skipping attributes; UINT32_MAX if there is
 * no such element. Walks siblings: O(k). */
uint32_t resp_node_child(const resp_reader *r, uint32_t i, long long k);

#endif
