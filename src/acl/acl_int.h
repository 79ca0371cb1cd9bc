/* acl_int: the structures shared by the files of acl/ (users, selectors, the catalog). */
#ifndef MAYFLY_ACL_ACL_INT_H
#define MAYFLY_ACL_ACL_INT_H

#include "mayfly/acl/acl.h"

#include <stddef.h>
#include <stdint.h>

#define ACL_CMD_WORDS (ACL_MAX_COMMANDS / 64)
#define ACL_FUTURE_BIT (ACL_MAX_COMMANDS - 1) /* set only by +@all: future commands too */

/* Selector flags. */
#define SEL_ROOT 1u        /* the user's root selector (outside parentheses) */
#define SEL_ALLKEYS 2u     /* ~* */
#define SEL_ALLCHANNELS 4u /* &* */
#define SEL_ALLCOMMANDS 8u /* +@all and nothing removed since */

/* User flags. */
#define USER_ON 1u
#define USER_OFF 2u
#define USER_NOPASS 4u
#define USER_SANITIZE 8u       /* sanitize-payload */
#define USER_SKIP_SANITIZE 16u /* skip-sanitize-payload */

#define ACL_PERM_READ ACL_REF_READ
#define ACL_PERM_WRITE ACL_REF_WRITE
#define ACL_PERM_ALL (ACL_PERM_READ | ACL_PERM_WRITE)

/* How a pattern is matched: most ACL patterns are a literal or a literal followed by one
 * '*' ("session:*"), which a length check and memcmp decide; anything else goes to the
 * glob matcher (util/glob.h). */
enum acl_match { MATCH_GLOB, MATCH_EXACT, MATCH_PREFIX };

/* A key pattern (perms: ACL_PERM_*) or a channel pattern (perms unused). */
typedef struct acl_pattern {
    char *p; /* NUL-terminated copy */
    size_t len;
    unsigned perms;
    int match;         /* enum acl_match */
    size_t prefix_len; /* MATCH_PREFIX: bytes before the '*' */
    /* fast: a literal or a prefix of at most 8 bytes, which a subject matches when its
     * length is in [minlen, minlen + span] and its first bytes as one word (acl_load_word) AND
     * mask equal word: a few instructions, no loop or call. */
    int fast;
    uint64_t word, mask;
    size_t minlen, span; /* lengths minlen .. minlen + span */
} acl_pattern;

/* Fills in how pattern k is matched (after p and len are set). */
void acl_pattern_classify(acl_pattern *k);
/* 1 if subject[0..len) matches k, as the glob matcher would say. */
static inline int acl_pattern_match(const acl_pattern *k, const char *s, size_t len);

/* The first arguments allowed for an otherwise denied command ("+select|0"). */
typedef struct acl_firstargs {
    int id;
    char **args; /* NUL-terminated copies */
    size_t n;
} acl_firstargs;

typedef struct acl_selector {
    uint32_t flags;                  /* SEL_* */
    uint64_t allowed[ACL_CMD_WORDS]; /* bit per command id */
    acl_pattern *keys;
    size_t nkeys;
    size_t slow_keys; /* key patterns that are not fast (acl_pattern.fast) */
    acl_pattern *chans;
    size_t nchans;
    acl_firstargs *fa;
    size_t nfa;
    /* The command rules after the leading +@all/-@all, in the order given and compacted
     * as Redis does ("+@hash", "-get", "+client|id"), each lower case with its sign. */
    char **rules;
    size_t nrules;
} acl_selector;

struct acl_user {
    struct acl_user_head head; /* first: unrestricted, read inline (acl.h) */
    char *name;                /* NUL-terminated copy */
    size_t name_len;
    uint32_t flags; /* USER_* */
    char (*pass)[65];
    size_t npass;
    acl_selector *sel; /* sel[0] is the root selector */
    size_t nsel;
    uint8_t *verdicts; /* head.verdict's storage (check.c), verdict_cap bytes */
    size_t verdict_cap;
};

/* Marks every user's verdicts stale (acl_generation moves on, skipping 0, which a new
 * user's gen holds). */
void acl_invalidate(void);
/* Recomputes u's verdicts for the current catalog and rules (check.c). */
void acl_refresh_verdicts(acl_user *u);

/* ---- catalog (acl.c) ---- */
typedef struct acl_command {
    char *name; /* full name, "config|get" */
    int parent; /* -1 for a top-level command */
    uint64_t cats;
    unsigned flags; /* ACL_CMD_* */
    int *subs;      /* ids of the subcommands of a container */
    size_t nsubs;
    int key_range;    /* keys are key_first..key_last every key_step (set_key_range) */
    int key_variable; /* ... whose access depends on the arguments */
    int key_first, key_last, key_step;
    unsigned key_need; /* ACL_REF_READ/WRITE each of them needs */
} acl_command;
extern acl_command *acl_commands_tab;
static inline const acl_command *acl_cmd(int id) {
    return &acl_commands_tab[id];
}
/* Finds a command by full name; a name with '|' is a container's subcommand. */
int acl_cmd_lookup(const char *name, size_t len);

/* ---- selectors (selector.c) ---- */
/* Errors of a rule, Redis's errno values turned into codes. */
enum acl_rule_err {
    RULE_OK = 0,
    RULE_EINVAL,  /* "Syntax error" */
    RULE_ENOENT,  /* unknown command or category */
    RULE_EEXIST,  /* key pattern after allkeys */
    RULE_EISDIR,  /* channel pattern after allchannels */
    RULE_ENODEV,  /* removing a password that is not there */
    RULE_EBADMSG, /* malformed hash */
    RULE_ECHILD,  /* first-arg of a subcommand */
    RULE_EALREADY /* duplicate user in config */
};
const char *acl_rule_error_text(int code);
/* 1 when acl-pubsub-default is allchannels. */
int selector_pubsub_default(void);
void selector_init(acl_selector *s, uint32_t flags);
void selector_deinit(acl_selector *s);
void selector_copy(acl_selector *dst, const acl_selector *src);
/* Applies one selector rule ("~k*", "+@hash", "allkeys", ...). Returns RULE_*. */
int selector_apply(acl_selector *s, const char *op, size_t len);
/* Appends the selector as ACL LIST shows it (keys, channels, command rules). */
void selector_describe(const acl_selector *s, buf *out);
void selector_describe_commands(const acl_selector *s, buf *out);
static inline int selector_has_command(const acl_selector *s, int id) {
    return (s->allowed[id / 64] >> (id % 64)) & 1;
}

/* ---- users (user.c) ---- */
acl_user *user_new(const char *name, size_t len);
void user_copy_rules(acl_user *dst, const acl_user *src);
/* Applies one user rule (flags, passwords, selectors, or a root selector rule). */
int user_apply(acl_user *u, const char *op, size_t len);
/* Recomputes u->unrestricted. */
void user_refresh(acl_user *u);
/* The default user's rules at creation ("+@all ~* &* on nopass"). */
void user_make_default(acl_user *u);
/* Joins selector definitions spread over several args. Returns an owned array of owned
 * strings (with lengths in *lens) and its count, or NULL with *bad the index of the
 * unmatched '(' arg. */
char **acl_merge_selectors(int argc, const slice *argv, size_t **lens, int *count, int *bad);
void acl_free_strings(char **v, size_t *lens, int n);

/* ---- the user table (acl.c) ---- */
/* Sorted array of users. */
struct acl_userset {
    acl_user **users;
    size_t n, cap;
};
extern struct acl_userset acl_users;
extern acl_user *acl_default;
acl_user *userset_find(const struct acl_userset *set, const char *name, size_t len);
void userset_insert(struct acl_userset *set, acl_user *u);
acl_user *userset_remove(struct acl_userset *set, const char *name, size_t len);
void userset_clear(struct acl_userset *set);
/* Recounts acl_restricted_users after the table or a user changed. */
void acl_recount(void);

#include "mayfly/util/glob.h"

#include <string.h>

/* The first min(len, 8) bytes of s as a number, byte i in bits 8i..8i+7 and zeros above,
 * without reading past s[len - 1]. */
static inline uint64_t acl_load_word(const char *s, size_t len) {
    const unsigned char *u = (const unsigned char *)s;
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    if (len >= 8) {
        uint64_t w;
        memcpy(&w, s, 8);
        return w;
    }
    if (len >= 4) { /* two loads that overlap when len < 8 */
        uint32_t a, b;
        memcpy(&a, s, 4);
        memcpy(&b, s + len - 4, 4);
        return a | (uint64_t)b << (8 * (len - 4));
    }
#else
    if (len >= 4) {
        uint64_t w = 0;
        for (size_t i = 0; i < len && i < 8; i++)
            w |= (uint64_t)u[i] << (8 * i);
        return w;
    }
#endif
    if (len == 0) return 0;
    return u[0] | (uint64_t)u[len / 2] << (8 * (len / 2)) | (uint64_t)u[len - 1] << (8 * (len - 1));
}

/* A fast pattern against a subject of len bytes whose acl_load_word is w. */
static inline int acl_pattern_match_word(const acl_pattern *k, uint64_t w, size_t len) {
    return (w & k->mask) == k->word && len - k->minlen <= k->span; /* wraps when shorter */
}

static inline int acl_pattern_match(const acl_pattern *k, const char *s, size_t len) {
    if (k->fast) return acl_pattern_match_word(k, acl_load_word(s, len), len);
    switch (k->match) {
    case MATCH_EXACT:
        return len == k->len && memcmp(s, k->p, len) == 0;
    case MATCH_PREFIX:
        return len >= k->prefix_len && len > 0 && memcmp(s, k->p, k->prefix_len) == 0;
    default:
        return glob_match(k->p, k->len, s, len, 0);
    }
}

#endif
