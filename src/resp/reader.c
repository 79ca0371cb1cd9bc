/* reader: the incremental RESP reply reader (contract in mayfly/resp/reader.h).
 *
 * A reply is a sequence of items: a line ("<type><text>\r\n"), for strings followed by a
 * payload and CRLF. Items are read one at a time from pos; each becomes a node appended
 * to r->nodes. An aggregate's header pushes a frame on the stack (its node, the elements
 * still expected, those seen); a finished value is counted in the innermost frame, and a
 * frame whose count is reached closes, counting in turn in its parent (value_done). When
 * a value finishes with no frame open, the reply is complete.
 *
 *     data: [ parsed: pos bytes | searched, no CR yet: scan - pos | unseen ... )
 *
 * As in the request parser, everything is an offset from data[0] and pos only moves over
 * whole items, so a reply dribbling in a byte at a time costs one pass; a payload that is
 * incomplete is only compared by length. Streamed strings are a frame too (of chunks), and
 * streamed aggregates frames with no count, closed by "." (or ";0" for strings). */
#include "mayfly/resp/reader.h"

#include "mayfly/util/mem.h"
#include "mayfly/util/strconv.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

enum {
    READ_START,   /* nothing of the current reply parsed yet */
    READ_ITEMS,   /* reading item lines */
    READ_PAYLOAD, /* waiting for the payload of node r->payload */
    READ_ERROR,   /* a protocol error happened: err stays set */
};

typedef struct resp_frame {
    uint32_t node;  /* the open aggregate (or streamed string) */
    long long left; /* children still expected; -1: streamed, ended by a marker */
    long long seen; /* children read (attributes not counted) */
} resp_frame;

#define NODES_KEEP 4096 /* node storage above this is freed before the next reply */

void resp_reader_init(resp_reader *r) {
    memset(r, 0, sizeof(*r));
    r->limits.max_bulk_len = 512LL * 1024 * 1024;
    r->limits.max_line = 1024 * 1024;
    r->limits.max_depth = 128;
    r->limits.max_nodes = 16u * 1024 * 1024;
}

void resp_reader_deinit(resp_reader *r) {
    mem_free(r->nodes);
    mem_free(r->stack);
    resp_reader_init(r);
}

void resp_reader_reset(resp_reader *r) {
    r->nnodes = 0;
    r->consumed = 0;
    r->err = NULL;
    r->state = READ_START;
    r->pos = 0;
    r->scan = 0;
    r->depth = 0;
}

static int fail(resp_reader *r, const char *msg) {
    r->err = msg;
    r->state = READ_ERROR;
    return RESP_READ_EPROTO;
}

static int fail_type(resp_reader *r, char c) {
    unsigned char u = (unsigned char)c;
    if (u >= 33 && u <= 126)
        snprintf(r->errbuf, sizeof(r->errbuf), "Protocol error: unexpected type byte '%c'", c);
    else
        snprintf(r->errbuf, sizeof(r->errbuf), "Protocol error: unexpected type byte 0x%02x", u);
    return fail(r, r->errbuf);
}

static void advance(resp_reader *r, size_t pos) {
    r->pos = pos;
    r->scan = pos;
}

/* Appends a node of the given type; returns its index, or UINT32_MAX over max_nodes. */
static uint32_t new_node(resp_reader *r, char type) {
    if (r->nnodes >= r->limits.max_nodes) return UINT32_MAX;
    if (r->nnodes == r->cap) {
        uint32_t cap = r->cap ? r->cap * 2 : 16;
        if (cap > r->limits.max_nodes) cap = r->limits.max_nodes;
        r->nodes = mem_realloc(r->nodes, (size_t)cap * sizeof(*r->nodes));
        r->cap = cap;
    }
    uint32_t i = r->nnodes++;
    resp_node *n = &r->nodes[i];
    memset(n, 0, sizeof(*n));
    n->type = type;
    return i;
}

static int is_pairs(char type) {
    return type == RESP_T_MAP || type == RESP_T_ATTR;
}

/* Node idx is complete: count it in the open frames, closing those it completes; ends
 * the reply when no frame is left. */
static void value_done(resp_reader *r, uint32_t idx) {
    for (;;) {
        r->nodes[idx].end = r->nnodes;
        int attr = r->nodes[idx].type == RESP_T_ATTR;
        if (r->depth == 0) {
            if (!attr) {
                r->consumed = r->pos;
                r->state = READ_START;
            }
            return;
        }
        if (attr) return; /* annotates the next value; not an element */
        resp_frame *f = &r->stack[r->depth - 1];
        f->seen++;
        if (f->left < 0 || f->seen < f->left) return;
        idx = f->node;
        r->depth--;
    }
}

/* Opens a frame for node idx expecting left children (-1: streamed). */
static int push_frame(resp_reader *r, uint32_t idx, long long left) {
    if (r->depth >= r->limits.max_depth) return fail(r, "Protocol error: nesting too deep");
    if (r->depth == r->stack_cap) {
        r->stack_cap = r->stack_cap ? r->stack_cap * 2 : 8;
        r->stack = mem_realloc(r->stack, (size_t)r->stack_cap * sizeof(*r->stack));
    }
    r->stack[r->depth++] = (resp_frame){idx, left, 0};
    return RESP_READ_OK;
}

/* Finds the CR LF ending the line that starts at pos. RESP_READ_OK with *eol at the CR. */
static int find_line(resp_reader *r, const char *data, size_t len, size_t *eol) {
    if (r->scan < r->pos + 1) r->scan = r->pos + 1;
    if (r->scan >= len) return RESP_READ_INCOMPLETE;
    const char *cr = memchr(data + r->scan, '\r', len - r->scan);
    if (cr == NULL) {
        r->scan = len;
        if (len - r->pos > r->limits.max_line + 1) return fail(r, "Protocol error: line too long");
        return RESP_READ_INCOMPLETE;
    }
    size_t at = (size_t)(cr - data);
    if (at - r->pos > r->limits.max_line + 1) return fail(r, "Protocol error: line too long");
    if (at + 1 >= len) {
        r->scan = at; /* look at this CR again once the next byte is here */
        return RESP_READ_INCOMPLETE;
    }
    if (data[at + 1] != '\n') return fail(r, "Protocol error: line not ended by CRLF");
    *eol = at;
    return RESP_READ_OK;
}

/* ---- leaves ---- */

/* A leaf node over the line's text s[0..n) (off = its offset). */
static uint32_t leaf(resp_reader *r, char type, size_t off, size_t n) {
    uint32_t i = new_node(r, type);
    if (i != UINT32_MAX) {
        r->nodes[i].off = off;
        r->nodes[i].len = n;
    }
    return i;
}

static int parse_double(const char *s, size_t n, double *out) {
    if (n == 3 && memcmp(s, "inf", 3) == 0) {
        *out = INFINITY;
    } else if (n == 4 && memcmp(s, "-inf", 4) == 0) {
        *out = -INFINITY;
    } else if (n == 3 && memcmp(s, "nan", 3) == 0) {
        *out = NAN;
    } else {
        return str_to_d(s, n, out);
    }
    return 0;
}

static int is_bignum(const char *s, size_t n) {
    size_t i = n && s[0] == '-' ? 1 : 0;
    if (i == n) return 0;
    for (; i < n; i++)
        if (s[i] < '0' || s[i] > '9') return 0;
    return 1;
}

/* Checks the text of a one-line value of the given type; fills the node. Returns an
 * error message, or NULL if the text is valid. */
static const char *check_line_value(resp_node *node, const char *s, size_t n) {
    switch (node->type) {
    case RESP_T_INT:
        return str_to_ll(s, n, &node->i) == 0 ? NULL : "Protocol error: invalid integer";
    case RESP_T_DOUBLE:
        return parse_double(s, n, &node->d) == 0 ? NULL : "Protocol error: invalid double";
    case RESP_T_BOOL:
        node->i = n == 1 && s[0] == 't';
        return n == 1 && (s[0] == 't' || s[0] == 'f') ? NULL : "Protocol error: invalid boolean";
    case RESP_T_NULL:
        return n == 0 ? NULL : "Protocol error: invalid null";
    case RESP_T_BIGNUM:
        return is_bignum(s, n) ? NULL : "Protocol error: invalid big number";
    default: /* + and -: any text without CR or LF */
        return memchr(s, '\n', n) ? "Protocol error: line not ended by CRLF" : NULL;
    }
}

static int read_line_value(resp_reader *r, const char *data, size_t eol) {
    size_t off = r->pos + 1, n = eol - off;
    uint32_t i = leaf(r, data[r->pos], off, n);
    if (i == UINT32_MAX) return fail(r, "Protocol error: reply has too many elements");
    const char *err = check_line_value(&r->nodes[i], data + off, n);
    if (err) return fail(r, err);
    advance(r, eol + 2);
    value_done(r, i);
    return RESP_READ_OK;
}

/* ---- lengths and headers ---- */

/* Parses the length of a header: a count >= 0, -1 (RESP2 null) or '?' (streamed, -2). */
static int parse_length(const char *s, size_t n, long long *out) {
    if (n == 1 && s[0] == '?') {
        *out = -2;
        return 0;
    }
    if (str_to_ll(s, n, out) != 0 || *out < -1) return -1;
    return 0;
}

static int read_string_header(resp_reader *r, const char *data, size_t eol) {
    char type = data[r->pos];
    long long n;
    if (parse_length(data + r->pos + 1, eol - r->pos - 1, &n) != 0 || n > r->limits.max_bulk_len)
        return fail(r, "Protocol error: invalid bulk length");
    if (n < 0 && type != RESP_T_BULK) return fail(r, "Protocol error: invalid bulk length");
    uint32_t i = new_node(r, n == -1 ? RESP_T_NULL : type);
    if (i == UINT32_MAX) return fail(r, "Protocol error: reply has too many elements");
    advance(r, eol + 2);
    if (n == -1) {
        r->nodes[i].flags = RESP_NODE_NULL_BULK;
        value_done(r, i);
        return RESP_READ_OK;
    }
    if (n == -2) {
        r->nodes[i].flags = RESP_NODE_STREAMED;
        return push_frame(r, i, -1);
    }
    r->nodes[i].off = r->pos;
    r->nodes[i].len = (size_t)n;
    r->payload = i;
    r->state = READ_PAYLOAD;
    return RESP_READ_OK;
}

static int read_aggregate_header(resp_reader *r, const char *data, size_t eol) {
    char type = data[r->pos];
    long long n;
    if (parse_length(data + r->pos + 1, eol - r->pos - 1, &n) != 0 ||
        n > (long long)r->limits.max_nodes || (n == -1 && type != RESP_T_ARRAY))
        return fail(r, "Protocol error: invalid aggregate length");
    uint32_t i = new_node(r, n == -1 ? RESP_T_NULL : type);
    if (i == UINT32_MAX) return fail(r, "Protocol error: reply has too many elements");
    advance(r, eol + 2);
    resp_node *node = &r->nodes[i];
    if (n == -1) {
        node->flags = RESP_NODE_NULL_ARRAY;
    } else if (n == -2) {
        node->flags = RESP_NODE_STREAMED;
        return push_frame(r, i, -1);
    } else if (n > 0) {
        node->i = n;
        return push_frame(r, i, is_pairs(type) ? 2 * n : n);
    }
    value_done(r, i);
    return RESP_READ_OK;
}

/* "." closes the innermost streamed aggregate. */
static int read_end_marker(resp_reader *r, size_t eol) {
    resp_frame *f = r->depth ? &r->stack[r->depth - 1] : NULL;
    if (eol != r->pos + 1 || f == NULL || f->left >= 0)
        return fail(r, "Protocol error: unexpected end marker");
    resp_node *node = &r->nodes[f->node];
    int pairs = is_pairs(node->type);
    if (pairs && f->seen % 2) return fail(r, "Protocol error: unexpected end marker");
    node->i = pairs ? f->seen / 2 : f->seen;
    uint32_t i = f->node;
    r->depth--;
    advance(r, eol + 2);
    value_done(r, i);
    return RESP_READ_OK;
}

/* Inside a streamed string: ";N" opens a chunk, ";0" ends the string. */
static int read_chunk_header(resp_reader *r, const char *data, size_t eol) {
    resp_frame *f = &r->stack[r->depth - 1];
    resp_node *str = &r->nodes[f->node];
    long long n;
    if (str_to_ll(data + r->pos + 1, eol - r->pos - 1, &n) != 0 || n < 0 ||
        n > r->limits.max_bulk_len - (long long)str->len)
        return fail(r, "Protocol error: invalid chunk length");
    advance(r, eol + 2);
    if (n == 0) {
        uint32_t i = f->node;
        str->i = f->seen;
        r->depth--;
        value_done(r, i);
        return RESP_READ_OK;
    }
    uint32_t i = new_node(r, RESP_T_CHUNK);
    if (i == UINT32_MAX) return fail(r, "Protocol error: reply has too many elements");
    r->nodes[i].off = r->pos;
    r->nodes[i].len = (size_t)n;
    r->payload = i;
    r->state = READ_PAYLOAD;
    return RESP_READ_OK;
}

static int in_streamed_string(const resp_reader *r) {
    return r->depth > 0 && r->nodes[r->stack[r->depth - 1].node].type == RESP_T_BULK;
}

/* Reads the item whose line starts at pos. */
static int read_item(resp_reader *r, const char *data, size_t len) {
    if (r->pos >= len) return RESP_READ_INCOMPLETE;
    /* A bad type byte fails at once, without waiting for a line end. */
    char type = data[r->pos];
    int chunks = in_streamed_string(r);
    if (chunks && type != RESP_T_CHUNK) return fail(r, "Protocol error: expected a ';' chunk");
    if (!chunks && (type == '\0' || !strchr("+-:$*_,#!=(%~>|.", type))) return fail_type(r, type);
    size_t eol;
    int rc = find_line(r, data, len, &eol);
    if (rc != RESP_READ_OK) return rc;
    if (chunks) return read_chunk_header(r, data, eol);
    switch (data[r->pos]) {
    case RESP_T_SIMPLE:
    case RESP_T_ERROR:
    case RESP_T_INT:
    case RESP_T_NULL:
    case RESP_T_DOUBLE:
    case RESP_T_BOOL:
    case RESP_T_BIGNUM:
        return read_line_value(r, data, eol);
    case RESP_T_BULK:
    case RESP_T_BULK_ERROR:
    case RESP_T_VERBATIM:
        return read_string_header(r, data, eol);
    case RESP_T_ARRAY:
    case RESP_T_MAP:
    case RESP_T_SET:
    case RESP_T_PUSH:
    case RESP_T_ATTR:
        return read_aggregate_header(r, data, eol);
    case '.':
        return read_end_marker(r, eol);
    default:
        return fail_type(r, data[r->pos]);
    }
}

/* The payload of node r->payload and its CRLF. */
static int read_payload(resp_reader *r, const char *data, size_t len) {
    resp_node *node = &r->nodes[r->payload];
    size_t end = node->off + node->len;
    if (len < end + 2) return RESP_READ_INCOMPLETE;
    if (data[end] != '\r' || data[end + 1] != '\n')
        return fail(r, "Protocol error: payload not followed by CRLF");
    if (node->type == RESP_T_VERBATIM && (node->len < 4 || data[node->off + 3] != ':'))
        return fail(r, "Protocol error: invalid verbatim string");
    if (node->type == RESP_T_CHUNK) r->nodes[r->stack[r->depth - 1].node].len += node->len;
    r->state = READ_ITEMS;
    advance(r, end + 2);
    value_done(r, r->payload);
    return RESP_READ_OK;
}

static void begin_reply(resp_reader *r) {
    if (r->cap > NODES_KEEP) {
        mem_free(r->nodes);
        r->nodes = NULL;
        r->cap = 0;
    }
    r->nnodes = 0;
    r->depth = 0;
    r->consumed = 0;
    advance(r, 0);
    r->state = READ_ITEMS;
}

int resp_read(resp_reader *r, const char *data, size_t len) {
    if (r->state == READ_ERROR) return RESP_READ_EPROTO;
    if (r->state == READ_START) begin_reply(r);
    for (;;) {
        int rc = r->state == READ_PAYLOAD ? read_payload(r, data, len) : read_item(r, data, len);
        if (rc != RESP_READ_OK) return rc;
        if (r->state == READ_START) return RESP_READ_OK;
    }
}

uint32_t resp_reply_value(const resp_reader *r) {
    uint32_t i = 0;
    while (i < r->nnodes && r->nodes[i].type == RESP_T_ATTR)
        i = r->nodes[i].end;
    return i < r->nnodes ? i : UINT32_MAX;
}

uint32_t resp_node_child(const resp_reader *r, uint32_t i, long long k) {
    if (i >= r->nnodes || k < 0) return UINT32_MAX;
    uint32_t end = r->nodes[i].end;
    for (uint32_t c = i + 1; c < end; c = r->nodes[c].end) {
        if (r->nodes[c].type == RESP_T_ATTR) continue;
        if (k-- == 0) return c;
    }
    return UINT32_MAX;
}
