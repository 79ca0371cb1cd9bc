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

/* A key pattern (perms: ACL_PERM_*) or a channel pattern (perms unused). */
typedef struct acl_pattern {
    char *p; /* NUL-terminated copy */
    size_t len;
    unsigned perms;
} acl_pattern;

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
    char *name; /* NUL-terminated copy */
    size_t name_len;
    uint32_t flags; /* USER_* */
    char (*pass)[65];
    size_t npass;
    acl_selector *sel; /* sel[0] is the root selector */
    size_t nsel;
    int unrestricted; /* one selector with every command, key and channel */
};

/* ---- catalog (acl.c) ---- */
typedef struct acl_command {
    char *name; /* full name, "config|get" */
    int parent; /* -1 for a top-level command */
    uint64_t cats;
    unsigned flags; /* ACL_CMD_* */
    int *subs;      /* ids of the subcommands of a container */
    size_t nsubs;
} acl_command;
const acl_command *acl_cmd(int id);
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
int selector_has_command(const acl_selector *s, int id);

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

#endif
