/* keyspec: where a command's keys are and how it uses them, after Redis 7's key specs.
 *
 * A key spec finds keys in two steps: begin_search (the first key is at a fixed index, or
 * right after a keyword token) and find_keys (a range: up to lastkey, every step-th
 * argument; or keynum: a count at keynumidx followed by the keys). Its flags say what the
 * command does with those keys, in Redis's terms:
 *
 *     RO read only · RW read and write · OW overwrite (no read) · RM remove
 *     ACCESS the value is returned/used · UPDATE it is changed · INSERT only added ·
 *     DELETE removed · NOT_KEY a channel, not a key (SPUBLISH) · INCOMPLETE may miss keys ·
 *     VARIABLE_FLAGS the flags depend on the arguments (a getkeys function says which)
 *
 * A command row (cmd_spec) describes its keys in one of three ways:
 *   - one range: first_key, last_key, key_step with key_flags (most commands);
 *   - several specs: key_specs, rows ending in {0} (COPY, RENAME);
 *   - a getkeys function for keys at computed positions or with per-call flags (SET ... GET),
 *     with the specs still describing them for COMMAND INFO.
 *
 * cmd_get_keys is the one extraction function: dispatch gates (ACL, cluster, via
 * cmd_ctx_keys), COMMAND GETKEYS / GETKEYSANDFLAGS all use it. Like Redis's
 * getKeysFromCommandWithSpecs it prefers the specs unless one has VARIABLE_FLAGS, and
 * falls back to the getkeys function when the arguments do not fit the specs. */
#ifndef MAYFLY_CMD_KEYSPEC_H
#define MAYFLY_CMD_KEYSPEC_H

#include "mayfly/util/slice.h"

#include <stddef.h>
#include <stdint.h>

/* Key-spec flags: X(enum suffix, name in COMMAND INFO / GETKEYSANDFLAGS), in Redis's
 * print order. */
#define KS_FLAG_MAP(X)                                                                             \
    X(RO, "RO")                                                                                    \
    X(RW, "RW")                                                                                    \
    X(OW, "OW")                                                                                    \
    X(RM, "RM")                                                                                    \
    X(ACCESS, "access")                                                                            \
    X(UPDATE, "update")                                                                            \
    X(INSERT, "insert")                                                                            \
    X(DELETE, "delete")                                                                            \
    X(NOT_KEY, "not_key")                                                                          \
    X(INCOMPLETE, "incomplete")                                                                    \
    X(VARIABLE_FLAGS, "variable_flags")

enum ks_flag_bit {
#define X(n, s) KS_BIT_##n,
    KS_FLAG_MAP(X)
#undef X
        KS_NFLAGS
};
#define X(n, s) KS_##n = 1u << KS_BIT_##n,
enum ks_flag { KS_FLAG_MAP(X) };
#undef X

/* The name of flag bit i ("RO", "access", ...). */
const char *ks_flag_name(int bit);

enum ks_begin { KS_BEGIN_INDEX, KS_BEGIN_KEYWORD };
enum ks_find { KS_FIND_RANGE, KS_FIND_KEYNUM };

typedef struct cmd_key_spec {
    uint32_t flags;      /* KS_* */
    const char *notes;   /* shown by COMMAND INFO, or NULL */
    enum ks_begin begin; /* KS_BEGIN_INDEX: first key at `index`; KS_BEGIN_KEYWORD: after
                            `keyword`, searched from `startfrom` (negative: from the end,
                            backwards) */
    int index;
    const char *keyword;
    int startfrom;
    enum ks_find find; /* KS_FIND_RANGE: keys up to lastkey (relative to the first key; -1:
                          the last argument, -2 the one before...), every step-th, `limit`
                          > 1 keeps the first 1/limit of the rest; KS_FIND_KEYNUM: the count
                          is at keynumidx (relative to the begin), the keys start at firstkey
                          (relative) every step-th */
    int lastkey, step, limit;
    int keynumidx, firstkey;
} cmd_key_spec;

/* Row helpers: a range at a fixed index, and a count-prefixed list (EVAL's numkeys). */
#define KS_RANGE(fl, idx, last, stp)                                                               \
    {                                                                                              \
        .flags = (fl), .begin = KS_BEGIN_INDEX, .index = (idx), .find = KS_FIND_RANGE,             \
        .lastkey = (last), .step = (stp)                                                           \
    }
/* KS_RANGE with the notes COMMAND INFO shows (SET's and GETEX's "RW and ... because"). */
#define KS_RANGE_NOTES(fl, text, idx, last, stp)                                                   \
    {                                                                                              \
        .flags = (fl), .notes = (text), .begin = KS_BEGIN_INDEX, .index = (idx),                   \
        .find = KS_FIND_RANGE, .lastkey = (last), .step = (stp)                                    \
    }
#define KS_KEYNUM(fl, idx, numidx, first, stp)                                                     \
    {                                                                                              \
        .flags = (fl), .begin = KS_BEGIN_INDEX, .index = (idx), .find = KS_FIND_KEYNUM,            \
        .keynumidx = (numidx), .firstkey = (first), .step = (stp)                                  \
    }

/* One key found in argv: its position and flags. */
typedef struct cmd_key {
    int pos;
    uint32_t flags;
} cmd_key;

#define CMD_KEY_LIST_INLINE 8

/* An extraction result: keys in the order the specs find them. Up to CMD_KEY_LIST_INLINE keys
 * live inside the struct (no allocation); more go to the heap. */
typedef struct cmd_key_list {
    cmd_key *v;
    int n, cap;
    cmd_key inline_keys[CMD_KEY_LIST_INLINE];
} cmd_key_list;

void cmd_key_list_init(cmd_key_list *k);
void cmd_key_list_deinit(cmd_key_list *k);
/* Appends a key (for getkeys functions). */
void cmd_key_list_push(cmd_key_list *k, int pos, uint32_t flags);

struct cmd_spec;
/* A getkeys function: appends the keys of argv (argv[0] is the command name; for a
 * subcommand argv[1] is its name) to out and returns their number, or -1 if argv is
 * malformed for key finding. */
typedef int cmd_getkeys_fn(const struct cmd_spec *cmd, int argc, const slice *argv,
                           cmd_key_list *out);

/* Finds the keys of argv for cmd (the command or subcommand argv names) into out (which the
 * caller initialized). Returns the number of keys, or -1 when argv does not fit the key
 * specs (Redis's "Invalid arguments specified for command"); NOT_KEY specs are skipped. */
int cmd_get_keys(const struct cmd_spec *cmd, int argc, const slice *argv, cmd_key_list *out);
/* 1 if cmd has keys (a spec that is not NOT_KEY, or a getkeys function). */
int cmd_has_keys(const struct cmd_spec *cmd);
/* The key specs of cmd: returns the count and sets *specs, using tmp for a row that has
 * one range (first_key/last_key/key_step/key_flags). 0 for a command without keys. */
size_t cmd_key_specs(const struct cmd_spec *cmd, const cmd_key_spec **specs, cmd_key_spec *tmp);

#endif
