/* syntax: the argument-grammar parser behind COMMAND DOCS; the grammar is in syntax.h.
 *
 * Three passes over a string of at most a few hundred bytes:
 *
 *     "key [NX|XX] field value [field value ...]"
 *        │ lex: words and the marks [ ] < > |
 *        ▼
 *     node tree: WORD key, GROUP(opt; alts: [NX] | [XX]), WORD field, WORD value,
 *                GROUP(opt; alt: field value ...)
 *        │ rewrite each sequence: a group ending in "..." that repeats the items before
 *        │ it becomes one REPEAT node holding those items
 *        ▼
 *     WORD key, GROUP(...), REPEAT(field value)
 *        │ convert: tokens take their operands, groups become oneof/block/optional
 *        ▼
 *     syn_arg list: key, condition(oneof, optional), data(block, multiple)
 *
 * Invariants: the node tree owns copies of the words; conversion allocates a fresh
 * syn_arg tree, so the node tree is freed before returning. Depth is bounded by
 * MAX_DEPTH and the text by MAX_TEXT, so a malformed row cannot recurse without end. */
#include "cmd/syntax_int.h"
#include "mayfly/util/mem.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

#define MAX_TEXT 4096
#define MAX_DEPTH 16

enum node_kind { N_WORD, N_GROUP, N_REPEAT };

struct node;
typedef struct seq {
    struct node *items;
    size_t n, cap;
    char *label; /* "|name: ..." names this alternative, or NULL */
} seq;

typedef struct node {
    enum node_kind kind;
    char *word;   /* N_WORD */
    int optional; /* N_GROUP ('['), N_REPEAT ("[x ...]" alone) */
    char *label;  /* N_GROUP: "name:" prefix, or NULL */
    seq *alts;    /* N_GROUP alternatives */
    size_t nalts;
    seq body; /* N_REPEAT: the repeated items */
} node;

typedef struct parser {
    const char *p; /* next byte */
    char *err;
    size_t errcap;
    int failed;
    const syntax_ctx *ctx;
} parser;

static const char *const type_names[] = {"string",    "integer",    "double", "key",  "pattern",
                                         "unix-time", "pure-token", "oneof",  "block"};

const char *syntax_type_name(syn_type t) {
    return type_names[t];
}

static void fail(parser *ps, const char *msg) {
    if (ps->failed) return;
    ps->failed = 1;
    snprintf(ps->err, ps->errcap, "%s", msg);
}

/* ---- lexing and parsing into nodes ---- */

static int is_mark(char c) {
    return c == '[' || c == ']' || c == '<' || c == '>' || c == '|';
}

static void skip_space(parser *ps) {
    while (*ps->p && isspace((unsigned char)*ps->p))
        ps->p++;
}

/* Reads one word at ps->p (not a mark); returns an owned copy. */
static char *read_word(parser *ps) {
    const char *start = ps->p;
    while (*ps->p && !isspace((unsigned char)*ps->p) && !is_mark(*ps->p))
        ps->p++;
    return mem_strndup(start, (size_t)(ps->p - start));
}

static node *seq_push(seq *s) {
    if (s->n == s->cap) {
        s->cap = s->cap ? s->cap * 2 : 4;
        s->items = mem_realloc(s->items, s->cap * sizeof(node));
    }
    node *n = &s->items[s->n++];
    memset(n, 0, sizeof(*n));
    return n;
}

static void seq_free(seq *s);

static void node_free(node *n) {
    mem_free(n->word);
    mem_free(n->label);
    for (size_t i = 0; i < n->nalts; i++)
        seq_free(&n->alts[i]);
    mem_free(n->alts);
    seq_free(&n->body);
}

static void seq_free(seq *s) {
    for (size_t i = 0; i < s->n; i++)
        node_free(&s->items[i]);
    mem_free(s->items);
    mem_free(s->label);
    memset(s, 0, sizeof(*s));
}

static int is_token_word(const char *w) {
    if (strcmp(w, "...") == 0) return 0;
    for (const char *p = w; *p; p++)
        if (islower((unsigned char)*p)) return 0;
    return *w != '\0';
}

static int nodes_equal(const node *a, const node *b);

static int seqs_equal(const node *a, size_t na, const node *b, size_t nb) {
    if (na != nb) return 0;
    for (size_t i = 0; i < na; i++)
        if (!nodes_equal(&a[i], &b[i])) return 0;
    return 1;
}

static int nodes_equal(const node *a, const node *b) {
    if (a->kind != b->kind || a->optional != b->optional) return 0;
    if (a->kind == N_WORD) return strcmp(a->word, b->word) == 0;
    if (a->kind == N_REPEAT) return seqs_equal(a->body.items, a->body.n, b->body.items, b->body.n);
    if (a->nalts != b->nalts) return 0;
    for (size_t i = 0; i < a->nalts; i++)
        if (!seqs_equal(a->alts[i].items, a->alts[i].n, b->alts[i].items, b->alts[i].n)) return 0;
    return 1;
}

/* Replaces "x y [x y ...]" by REPEAT(x y) and a lone "[x ...]" by an optional REPEAT(x). */
static void rewrite_repeats(seq *s) {
    for (size_t i = 0; i < s->n; i++) {
        node *g = &s->items[i];
        if (g->kind != N_GROUP || !g->optional || g->nalts != 1) continue;
        seq *alt = &g->alts[0];
        if (alt->n < 2) continue;
        node *last = &alt->items[alt->n - 1];
        if (last->kind != N_WORD || strcmp(last->word, "...") != 0) continue;
        size_t k = alt->n - 1;
        node_free(last);
        alt->n = k;
        node rep;
        memset(&rep, 0, sizeof(rep));
        rep.kind = N_REPEAT;
        rep.body = *alt;
        memset(alt, 0, sizeof(*alt));
        size_t first = i;
        if (i >= k && seqs_equal(&s->items[i - k], k, rep.body.items, rep.body.n)) {
            first = i - k;
        } else {
            rep.optional = 1;
        }
        for (size_t j = first; j <= i; j++)
            node_free(&s->items[j]);
        s->items[first] = rep;
        memmove(&s->items[first + 1], &s->items[i + 1], (s->n - i - 1) * sizeof(node));
        s->n -= i - first;
        i = first;
    }
}

static void parse_seq(parser *ps, seq *out, int depth);

/* Reads an optional "name:" label at ps->p; returns it (owned) or NULL. */
static char *read_label(parser *ps) {
    skip_space(ps);
    const char *q = ps->p;
    while (*q && !isspace((unsigned char)*q) && !is_mark(*q))
        q++;
    if (q > ps->p + 1 && q[-1] == ':') {
        char *label = mem_strndup(ps->p, (size_t)(q - ps->p - 1));
        ps->p = q;
        return label;
    }
    return NULL;
}

/* Parses a group after its opening mark, up to the closing one. */
static void parse_group(parser *ps, node *g, char close, int depth) {
    g->kind = N_GROUP;
    g->optional = close == ']';
    g->label = read_label(ps);
    for (;;) {
        g->alts = mem_realloc(g->alts, (g->nalts + 1) * sizeof(seq));
        seq *alt = &g->alts[g->nalts++];
        memset(alt, 0, sizeof(*alt));
        if (g->nalts > 1) alt->label = read_label(ps);
        parse_seq(ps, alt, depth + 1);
        if (ps->failed) return;
        if (alt->n == 0) {
            fail(ps, "empty group or alternative");
            return;
        }
        skip_space(ps);
        if (*ps->p == '|') {
            ps->p++;
            continue;
        }
        if (*ps->p == close) {
            ps->p++;
            return;
        }
        fail(ps, *ps->p ? "mismatched bracket" : "unclosed bracket");
        return;
    }
}

/* Parses items until '|', a closing mark, or the end. */
static void parse_seq(parser *ps, seq *out, int depth) {
    if (depth > MAX_DEPTH) {
        fail(ps, "groups nested too deeply");
        return;
    }
    for (;;) {
        skip_space(ps);
        char c = *ps->p;
        if (c == '\0' || c == '|' || c == ']' || c == '>') break;
        node *n = seq_push(out);
        if (c == '[' || c == '<') {
            ps->p++;
            parse_group(ps, n, c == '[' ? ']' : '>', depth);
            if (ps->failed) return;
        } else {
            n->kind = N_WORD;
            n->word = read_word(ps);
        }
    }
    rewrite_repeats(out);
}

/* ---- conversion into syn_arg ---- */

typedef struct arglist {
    syn_arg *v;
    size_t n, cap;
} arglist;

static syn_arg *list_push(arglist *l) {
    if (l->n == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 4;
        l->v = mem_realloc(l->v, l->cap * sizeof(syn_arg));
    }
    syn_arg *a = &l->v[l->n++];
    memset(a, 0, sizeof(*a));
    a->key_spec_index = -1;
    return a;
}

static int name_in(const char *name, const char *const *set) {
    for (int i = 0; set[i]; i++)
        if (strcmp(name, set[i]) == 0) return 1;
    return 0;
}

static void type_from_name(syn_arg *a, const syntax_ctx *ctx) {
    static const char *const keys[] = {"key", "newkey", "destination", "source", NULL};
    static const char *const ints[] = {
        "count",     "seconds", "milliseconds", "numfields", "numkeys", "index",   "port",
        "protover",  "db",      "database",     "offset",    "start",   "end",     "stop",
        "client-id", "maxage",  "numreplicas",  "len",       "length",  "limit",   "cursor",
        "decrement", "ttl",     "numsubs",      "rank",      "num",     "samples", NULL};
    const char *n = a->name;
    a->type = SYN_STRING;
    if (ctx->has_keys && name_in(n, keys)) {
        a->type = SYN_KEY;
        a->key_spec_index = 0;
    } else if (strcmp(n, "pattern") == 0) {
        a->type = SYN_PATTERN;
    } else if (strncmp(n, "unix-time", 9) == 0) {
        a->type = SYN_UNIX_TIME;
    } else if (strcmp(n, "increment") == 0) {
        size_t len = ctx->cmd_name ? strlen(ctx->cmd_name) : 0;
        int is_float = len >= 5 && strcmp(ctx->cmd_name + len - 5, "float") == 0;
        a->type = is_float ? SYN_DOUBLE : SYN_INTEGER;
    } else if (strcmp(n, "score") == 0) {
        a->type = SYN_DOUBLE;
    } else if (name_in(n, ints)) {
        a->type = SYN_INTEGER;
    }
}

static char *lower_dup(const char *s) {
    char *d = mem_strdup(s);
    for (char *p = d; *p; p++)
        *p = (char)tolower((unsigned char)*p);
    return d;
}

/* Joins the members' names with sep (a derived name for a group without a label). */
static char *join_names(const arglist *l, const char *sep) {
    size_t len = 1;
    for (size_t i = 0; i < l->n; i++)
        len += strlen(l->v[i].name) + strlen(sep);
    char *s = mem_alloc(len);
    s[0] = '\0';
    for (size_t i = 0; i < l->n; i++) {
        if (i) strcat(s, sep);
        strcat(s, l->v[i].name);
    }
    return s;
}

static int any_token_in(const arglist *l, const char *const *set) {
    for (size_t i = 0; i < l->n; i++)
        if (l->v[i].token && name_in(l->v[i].token, set)) return 1;
    return 0;
}

static char *oneof_name(const arglist *l) {
    static const char *const cond[] = {"NX", "XX", "GT", "LT", "FNX", "FXX", NULL};
    static const char *const expiry[] = {"EX", "PX", "EXAT", "PXAT", "KEEPTTL", "PERSIST", NULL};
    static const char *const flush[] = {"ASYNC", "SYNC", NULL};
    if (any_token_in(l, expiry)) return mem_strdup("expiration");
    if (any_token_in(l, cond)) return mem_strdup("condition");
    if (any_token_in(l, flush)) return mem_strdup("flush-type");
    return join_names(l, "-");
}

static char *block_name(const arglist *l) {
    if (l->n == 2 && strcmp(l->v[1].name, "value") == 0 &&
        (strcmp(l->v[0].name, "field") == 0 || strcmp(l->v[0].name, "key") == 0))
        return mem_strdup("data");
    return join_names(l, "_");
}

static void convert_seq(parser *ps, const node *items, size_t n, arglist *out);

/* Turns a list of several arguments into one block argument (taking the list's memory). */
static void make_block(syn_arg *a, arglist *l, const char *label) {
    a->type = SYN_BLOCK;
    a->name = label ? mem_strdup(label) : block_name(l);
    a->args = l->v;
    a->nargs = l->n;
    a->key_spec_index = -1;
}

/* Converts a sequence into exactly one argument: itself if it has one, else a block. */
static void convert_one(parser *ps, const node *items, size_t n, const char *label, syn_arg *a) {
    arglist l = {0};
    convert_seq(ps, items, n, &l);
    if (l.n == 1) {
        *a = l.v[0];
        mem_free(l.v);
        if (label) {
            mem_free(a->name);
            a->name = mem_strdup(label);
        }
        return;
    }
    memset(a, 0, sizeof(*a));
    make_block(a, &l, label);
}

static void convert_node(parser *ps, const node *nd, syn_arg *a) {
    memset(a, 0, sizeof(*a));
    a->key_spec_index = -1;
    switch (nd->kind) {
    case N_WORD:
        if (is_token_word(nd->word)) {
            a->type = SYN_PURE_TOKEN;
            a->name = lower_dup(nd->word);
            a->token = mem_strdup(nd->word);
        } else {
            a->name = mem_strdup(nd->word);
            type_from_name(a, ps->ctx);
        }
        return;
    case N_REPEAT:
        convert_one(ps, nd->body.items, nd->body.n, NULL, a);
        a->flags |= SYN_MULTIPLE;
        if (a->token && a->type != SYN_PURE_TOKEN) a->flags |= SYN_MULTIPLE_TOKEN;
        if (nd->optional) a->flags |= SYN_OPTIONAL;
        return;
    case N_GROUP:
        if (nd->nalts == 1) {
            convert_one(ps, nd->alts[0].items, nd->alts[0].n, nd->label, a);
        } else {
            arglist l = {0};
            for (size_t i = 0; i < nd->nalts; i++)
                convert_one(ps, nd->alts[i].items, nd->alts[i].n, nd->alts[i].label, list_push(&l));
            a->type = SYN_ONEOF;
            a->name = nd->label ? mem_strdup(nd->label) : oneof_name(&l);
            a->args = l.v;
            a->nargs = l.n;
        }
        if (nd->optional) a->flags |= SYN_OPTIONAL;
        return;
    }
}

static int is_bare_token(const node *nd) {
    return nd->kind == N_WORD && is_token_word(nd->word);
}

static void convert_seq(parser *ps, const node *items, size_t n, arglist *out) {
    size_t i = 0;
    while (i < n) {
        if (!is_bare_token(&items[i])) {
            convert_node(ps, &items[i], list_push(out));
            i++;
            continue;
        }
        /* A token takes the items up to the next bare token as its operand. */
        size_t j = i + 1;
        while (j < n && !is_bare_token(&items[j]))
            j++;
        syn_arg *a = list_push(out);
        if (j == i + 1) {
            convert_node(ps, &items[i], a);
        } else if (j == i + 2) {
            convert_node(ps, &items[i + 1], a);
            if (!a->token && (a->type == SYN_ONEOF || a->type == SYN_BLOCK)) {
                /* "FILTERBY <a|b>": the token introduces the group, which takes its name. */
                mem_free(a->name);
                a->name = lower_dup(items[i].word);
            } else if (a->token) {
                /* The operand has its own token: wrap it. */
                arglist l = {0};
                *list_push(&l) = *a;
                memset(a, 0, sizeof(*a));
                make_block(a, &l, NULL);
                mem_free(a->name);
                a->name = lower_dup(items[i].word);
            }
            a->token = mem_strdup(items[i].word);
        } else {
            arglist l = {0};
            convert_seq(ps, &items[i + 1], j - i - 1, &l);
            make_block(a, &l, NULL);
            mem_free(a->name);
            a->name = lower_dup(items[i].word);
            a->token = mem_strdup(items[i].word);
        }
        i = j;
    }
}

static void arg_free(syn_arg *a) {
    mem_free(a->name);
    mem_free(a->token);
    syntax_free(a->args, a->nargs);
}

void syntax_free(syn_arg *args, size_t n) {
    if (!args) return;
    for (size_t i = 0; i < n; i++)
        arg_free(&args[i]);
    mem_free(args);
}

int syntax_parse(const char *text, const syntax_ctx *ctx, syn_arg **out, size_t *n, char *err,
                 size_t errcap) {
    *out = NULL;
    *n = 0;
    if (!text || !*text) return 0;
    parser ps = {text, err, errcap, 0, ctx};
    if (strlen(text) > MAX_TEXT) {
        fail(&ps, "syntax string too long");
        return -1;
    }
    seq top = {0};
    parse_seq(&ps, &top, 0);
    if (!ps.failed && *ps.p) fail(&ps, *ps.p == '|' ? "'|' outside a group" : "mismatched bracket");
    if (ps.failed) {
        seq_free(&top);
        return -1;
    }
    arglist l = {0};
    convert_seq(&ps, top.items, top.n, &l);
    seq_free(&top);
    *out = l.v;
    *n = l.n;
    return 0;
}
