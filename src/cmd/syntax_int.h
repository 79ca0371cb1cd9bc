/* syntax: turns a command's one-line argument grammar (cmd_spec.syntax) into the argument
 * tree COMMAND DOCS reports, so the table carries one readable string per command instead
 * of Redis's JSON files.
 *
 * The grammar (what the rows' `syntax` strings may contain):
 *
 *     word            a lower-case word is an argument named after it ("key", "seconds",
 *                     "unix-time-milliseconds"); its type comes from its name (below)
 *     TOKEN           a word without lower-case letters ("NX", "LIB-NAME", "*") is a literal
 *                     token. Alone it is a pure-token argument named after it in lower
 *                     case; followed by arguments it introduces them: "EX seconds" is the
 *                     argument seconds with token EX, and "FIELDS numfields field [field
 *                     ...]" is a block named "fields" with token FIELDS. A token takes every
 *                     item up to the next bare token of the same sequence.
 *     [ ... ]         an optional group;  < ... >  a required group
 *     a|b             alternatives inside a group make a "oneof" argument ("|" may be
 *                     surrounded by spaces)
 *     x y [x y ...]   repetition: the bracketed copy ending in "..." marks the items before
 *                     it as "multiple" (one argument, or a block of several). "[x ...]"
 *                     alone is an optional multiple argument. "TOKEN x [TOKEN x ...]" also
 *                     gets "multiple_token".
 *     [name: ...]     a group may start with a label ("name:") that names the oneof or
 *                     block it makes, and an alternative after a '|' may start with one
 *                     that names it ("<ip:port|new-format: [ID client-id] ...>"); without
 *                     labels, names are derived (condition, expiration, data, or the
 *                     members' names joined by "-" for a oneof, "_" for a block).
 *
 * Types from names: "key", "newkey", "destination", "source" are keys (key_spec_index 0)
 * when the command has keys; count, seconds, milliseconds, numfields, numkeys, index,
 * port, protover, ... are integers; unix-time-* are unix-time; "pattern" is a pattern;
 * "increment" is a double in a command whose name ends in "float"; anything else is a
 * string.
 *
 * Example: "key [FNX|FXX] [EX seconds|PX milliseconds|KEEPTTL] FIELDS numfields field value
 * [field value ...]" gives: key (key), condition (oneof, optional: fnx, fxx), expiration
 * (oneof, optional: seconds EX, milliseconds PX, keepttl), fields (block, token FIELDS:
 * numfields (integer), data (block, multiple: field, value)). */
#ifndef MAYFLY_CMD_SYNTAX_H
#define MAYFLY_CMD_SYNTAX_H

#include <stddef.h>

/* Argument types, in the order of their names in syntax_type_name. */
typedef enum syn_type {
    SYN_STRING,
    SYN_INTEGER,
    SYN_DOUBLE,
    SYN_KEY,
    SYN_PATTERN,
    SYN_UNIX_TIME,
    SYN_PURE_TOKEN,
    SYN_ONEOF,
    SYN_BLOCK,
} syn_type;

#define SYN_OPTIONAL 1u
#define SYN_MULTIPLE 2u
#define SYN_MULTIPLE_TOKEN 4u

typedef struct syn_arg {
    char *name; /* owned */
    syn_type type;
    char *token;          /* owned, NULL if none */
    unsigned flags;       /* SYN_* */
    int key_spec_index;   /* -1 unless a key */
    struct syn_arg *args; /* ONEOF and BLOCK members, owned */
    size_t nargs;
} syn_arg;

/* What the parser needs to know about the command. */
typedef struct syntax_ctx {
    const char *cmd_name; /* "hincrbyfloat": "increment" is a double in *float commands */
    int has_keys;         /* the command has key positions: key-named words are keys */
} syntax_ctx;

/* Parses text into an argument list. Returns 0 with *out (owned, free with syntax_free)
 * and *n set, or -1 with a message in err (errcap bytes) on a malformed string. An empty
 * or NULL text gives zero arguments. */
int syntax_parse(const char *text, const syntax_ctx *ctx, syn_arg **out, size_t *n, char *err,
                 size_t errcap);
/* Frees a list returned by syntax_parse. NULL is a no-op. */
void syntax_free(syn_arg *args, size_t n);
/* "string", "integer", ... as COMMAND DOCS prints them. */
const char *syntax_type_name(syn_type t);

#endif
