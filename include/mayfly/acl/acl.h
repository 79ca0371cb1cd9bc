/* acl: users, their permissions, the ACL log and the ACL file, as Redis 7+ has them.
 *
 * A library: it knows no sessions, sockets or replies. The command layer registers every
 * command (and subcommand) in the catalog at start-up, each with its categories; rules
 * such as "+@hash" or "-config|set" are resolved against that catalog. A user has
 * passwords (SHA-256 hex), flags (on/off, nopass) and one or more selectors: the root
 * selector, written outside parentheses, and any added with "(...)". A command is allowed
 * when one selector allows the command and every key and channel it names.
 *
 * Permission checks take the command's id and a callback that lists its key and channel
 * positions (computed only when a selector needs them), so an unrestricted user (the
 * default user, normally) costs one test per command. */
#ifndef MAYFLY_ACL_ACL_H
#define MAYFLY_ACL_ACL_H

#include "mayfly/util/buf.h"
#include "mayfly/util/slice.h"

#include <stddef.h>
#include <stdint.h>

/* Redis's command categories, in the order ACL CAT lists them: X(enum suffix, name). */
#define ACL_CATEGORY_MAP(X)                                                                        \
    X(KEYSPACE, "keyspace")                                                                        \
    X(READ, "read")                                                                                \
    X(WRITE, "write")                                                                              \
    X(SET, "set")                                                                                  \
    X(SORTEDSET, "sortedset")                                                                      \
    X(LIST, "list")                                                                                \
    X(HASH, "hash")                                                                                \
    X(STRING, "string")                                                                            \
    X(BITMAP, "bitmap")                                                                            \
    X(HYPERLOGLOG, "hyperloglog")                                                                  \
    X(GEO, "geo")                                                                                  \
    X(STREAM, "stream")                                                                            \
    X(PUBSUB, "pubsub")                                                                            \
    X(ADMIN, "admin")                                                                              \
    X(FAST, "fast")                                                                                \
    X(SLOW, "slow")                                                                                \
    X(BLOCKING, "blocking")                                                                        \
    X(DANGEROUS, "dangerous")                                                                      \
    X(CONNECTION, "connection")                                                                    \
    X(TRANSACTION, "transaction")                                                                  \
    X(SCRIPTING, "scripting")

enum acl_category {
#define X(n, s) ACL_CAT_##n,
    ACL_CATEGORY_MAP(X)
#undef X
        ACL_CAT_COUNT
};

/* Results of a check, with Redis's numbering (the most specific denial wins across
 * selectors: channel > key > command). */
enum acl_result {
    ACL_OK = 0,
    ACL_DENIED_CMD = 1,
    ACL_DENIED_KEY = 2,
    ACL_DENIED_AUTH = 3, /* only in ACL LOG entries */
    ACL_DENIED_CHANNEL = 4,
};

/* Where a denial happened (ACL LOG "context"). */
enum acl_context { ACL_CTX_TOPLEVEL, ACL_CTX_MULTI, ACL_CTX_LUA, ACL_CTX_MODULE };

/* ---- The command catalog ---- */

#define ACL_MAX_COMMANDS 1024 /* ids 0..1022; the last bit means "future commands" */

#define ACL_CMD_NO_AUTH 1u      /* allowed to every user (AUTH, HELLO) */
#define ACL_CMD_HAS_KEYS 2u     /* may name keys: the refs callback is asked for them */
#define ACL_CMD_HAS_CHANNELS 4u /* may name channels (PUBLISH, SUBSCRIBE, ...) */

/* Registers a command (parent < 0) or a subcommand of the command with id parent.
 * name is the lower-case name ("get", or "get" of "config|get"); categories is the
 * command table's list ("@write @hash @fast"). Returns the command's id, or -1 if a
 * category is unknown or the catalog is full. */
int acl_command_add(const char *name, int parent, const char *categories, unsigned flags);
/* Declares that command id's keys are one range of arguments: from first to last (an
 * index, or negative from the end: -1 the last argument) every step-th, each needing
 * `need` (ACL_REF_READ/WRITE, or 0) or, when variable is set, an access that depends on
 * the arguments (SET ... GET). acl_check then finds them itself instead of asking the refs
 * callback (for a variable command, it still asks when only a read-only or write-only
 * pattern matches). Registered from the command table's key specs, never instead of
 * them. */
void acl_command_set_key_range(int id, int first, int last, int step, unsigned need, int variable);
/* Finds a command by full name ("get", "config|get"), ignoring case; -1 if unknown. */
int acl_command_find(const char *name, size_t len);
/* The full name ("config|get") of a registered command. */
const char *acl_command_name(int id);
/* Number of registered commands and subcommands (ids are 0..count-1, skipping none). */
int acl_command_count(void);
/* The category bits (1 << ACL_CAT_*) of a command. */
uint64_t acl_command_categories(int id);
/* Name of category i (ACL_CAT_*). */
const char *acl_category_name(int i);
/* The category named name (without '@'), ignoring case; -1 if unknown. */
int acl_category_find(const char *name, size_t len);
/* Empties the catalog (tests). */
void acl_commands_reset(void);

/* ---- Users ---- */

typedef struct acl_user acl_user;

/* Sets up the user table with the default user ("on nopass ~* &* +@all"). Call once after
 * the catalog is complete; calling again starts over (tests). */
void acl_init(void);
/* The default user (its identity never changes, even across ACL LOAD). */
acl_user *acl_default_user(void);
/* Finds a user by name (exact bytes); NULL if none. */
acl_user *acl_user_find(slice name);
/* Users in name order (byte order, as Redis lists them). */
size_t acl_user_count(void);
acl_user *acl_user_at(size_t i);
const char *acl_user_name(const acl_user *u); /* NUL-terminated */
size_t acl_user_name_len(const acl_user *u);
/* 1 if the user is "on". */
int acl_user_enabled(const acl_user *u);
/* 1 if the user is "nopass". */
int acl_user_nopass(const acl_user *u);
/* Bumped whenever a user's rules or the catalog change (ACL SETUSER, DELUSER, LOAD, a
 * `user` line, a command registered): every user's verdicts are then stale and are
 * recomputed by its next acl_check. */
extern unsigned acl_generation;

/* A user's precomputed verdict for one command (the bytes of acl_user_head.verdict):
 * allowed outright, decided by acl_check, or else (key position << 2) | the ACL_REF_READ/
 * WRITE access that one key needs, which acl_key_allowed matches. */
#define ACL_VERDICT_OK 0u
#define ACL_VERDICT_SLOW 255u

/* What hot paths read of a user without a call (the first member of every acl_user; the
 * rest is private to acl/). */
struct acl_user_head {
    int unrestricted;       /* one selector allows every command, key and channel */
    unsigned gen;           /* acl_generation that verdict was computed at */
    const uint8_t *verdict; /* ACL_VERDICT_* by command id, valid while gen is current */
};
/* 1 if the user may run every command on every key and channel (checks can be skipped). */
static inline int acl_user_unrestricted(const acl_user *u) {
    return ((const struct acl_user_head *)(const void *)u)->unrestricted;
}

/* Users in the table that are not unrestricted: while 0, every session may run anything
 * (the ACL gate's switch). */
extern int acl_restricted_users;

/* 1 if a user name (or key pattern) has a space or NUL byte, which ACL names refuse. */
int acl_has_spaces(const char *p, size_t len);

/* ACL SETUSER: applies ops to the user named name, creating it if missing, all or
 * nothing. Selectors spread over several ops ("(~a" "+get)") are joined first. Returns 0,
 * or -1 with *err an owned message without the "ERR " prefix (the caller frees it). */
int acl_setuser(slice name, int argc, const slice *ops, char **err);
/* Unlinks the user named name from the table and returns it (the caller detaches the
 * sessions using it, then calls acl_user_free); NULL if there is none. Never call it for
 * "default". */
acl_user *acl_user_unlink(slice name);
/* Frees an unlinked user. NULL is a no-op. */
void acl_user_free(acl_user *u);

/* Checks a user name and password. Returns the user if it exists, is on, and is nopass or
 * has this password; else NULL (unknown user, disabled, wrong password). */
acl_user *acl_authenticate(slice name, slice password);
/* requirepass: the default user's passwords become just this one, len bytes (it may hold
 * NUL bytes); NULL: nopass. */
void acl_set_default_password(const char *password, size_t len);
/* acl-pubsub-default: whether users created from now on start with allchannels (1) or
 * resetchannels (0, the default). */
void acl_set_pubsub_default(int allchannels);

/* Appends the user's rules as ACL LIST and the ACL file show them, without the leading
 * "user <name> ": "on nopass sanitize-payload ~* &* +@all". */
void acl_user_describe(const acl_user *u, buf *out);
/* The user's flag names in ACL GETUSER order ("on", "nopass", "sanitize-payload", ...);
 * fills names (room for 8) and returns the count. */
size_t acl_user_flags(const acl_user *u, const char **names);
/* The user's password hashes (64 lower-case hex characters each). */
size_t acl_user_password_count(const acl_user *u);
const char *acl_user_password(const acl_user *u, size_t i);
/* Selectors: 0 is the root selector, then the added ones in order. */
size_t acl_user_selector_count(const acl_user *u);
/* Appends selector i's ACL GETUSER fields: commands ("-@all +get"), keys ("%R~a ~b", or
 * "~*"), channels ("&a &b", or "&*"). */
void acl_selector_describe(const acl_user *u, size_t i, buf *commands, buf *keys, buf *channels);

/* ---- Permission checks ---- */

/* A key or channel named by a command: argv position and what the command does there. */
typedef struct acl_ref {
    int pos;
    unsigned flags; /* ACL_REF_* */
} acl_ref;
/* A key ref with neither READ nor WRITE (EXISTS, TYPE, ...) matches any key pattern. */
#define ACL_REF_READ 1u    /* a key the command reads (Redis's ACCESS) */
#define ACL_REF_WRITE 2u   /* a key it inserts, updates or deletes */
#define ACL_REF_CHANNEL 4u /* a channel it publishes or subscribes to (not a key) */
#define ACL_REF_PATTERN 8u /* with CHANNEL: a PSUBSCRIBE pattern (compared literally) */
/* Lists the refs of the command being checked into out (room for cap) and returns how
 * many there are in all (may exceed cap: the caller then asks again with more room). */
typedef int acl_refs_fn(void *ctx, acl_ref *out, int cap);

/* Checks whether u may run command id with these arguments. refs (with ctx) is called at
 * most once, and only when a selector restricts keys or channels and the command has
 * some. Returns ACL_OK or ACL_DENIED_CMD/KEY/CHANNEL with *errpos the argv position of the
 * key or channel denied (0 for the command). */
int acl_check(const acl_user *u, int id, int argc, const slice *argv, acl_refs_fn *refs, void *ctx,
              int *errpos);
/* The common case of acl_check without its work: ACL_OK when the user's verdict for
 * command id (a registered id) allows it outright or its one key matches; -1 when
 * acl_check must decide (also for every denial, which it reports). */
int acl_key_allowed(const acl_user *u, slice key, unsigned need);
static inline int acl_check_fast(const acl_user *u, int id, int argc, const slice *argv) {
    const struct acl_user_head *h = (const struct acl_user_head *)(const void *)u;
    if (h->unrestricted) return ACL_OK;
    if (h->gen != acl_generation) return -1;
    unsigned v = h->verdict[id];
    if (v == ACL_VERDICT_OK) return ACL_OK;
    if (v == ACL_VERDICT_SLOW) return -1;
    int pos = (int)(v >> 2);
    if (pos >= argc) return ACL_OK; /* an argv that does not reach the key names none */
    return acl_key_allowed(u, argv[pos], v & 3u) ? ACL_OK : -1;
}
/* Whether u may access key with the given ACL_REF_READ/WRITE needs in some selector. */
int acl_check_key(const acl_user *u, slice key, unsigned flags);
/* Whether u may use channel (is_pattern: a PSUBSCRIBE pattern, compared literally). */
int acl_check_channel(const acl_user *u, slice channel, int is_pattern);
/* Formats Redis's NOPERM message (without "NOPERM "): verbose as ACL DRYRUN gives it,
 * else as a denied command gets it. object is the denied key or channel. */
void acl_denial_message(int result, const acl_user *u, int id, slice object, int verbose, buf *out);

/* ---- The ACL log ---- */

typedef struct acl_log_entry {
    long long count; /* times this happened (similar events are grouped) */
    int reason;      /* ACL_DENIED_* */
    int context;     /* ACL_CTX_* */
    char *object;    /* the command, key, channel or "AUTH" */
    size_t object_len;
    char *username;
    size_t username_len;
    char *client_info;  /* CLIENT LIST line of the (last) client */
    long long entry_id; /* unique, increasing */
    int64_t created_ms, updated_ms;
} acl_log_entry;

/* Records a denial (grouping it with a similar entry of the last minute), keeping at most
 * max_len entries, and counts it for INFO whatever max_len is. */
void acl_log_add(int reason, int context, slice object, slice username, const char *client_info,
                 int64_t now_ms, long long max_len);
size_t acl_log_len(void);
/* Entry i, newest first. */
const acl_log_entry *acl_log_at(size_t i);
/* ACL LOG RESET. */
void acl_log_reset(void);
/* Drops the oldest entries beyond max_len (acllog-max-len lowered). */
void acl_log_trim(long long max_len);

/* INFO stats counters: acl_access_denied_auth/cmd/key/channel. */
typedef struct acl_stats {
    long long denied_auth, denied_cmd, denied_key, denied_channel;
} acl_stats;
extern acl_stats acl_stat;

/* ---- The ACL file and `user` lines in the config ---- */

/* A `user <name> <rules...>` line of the config file: validated now (Redis's checks:
 * syntax, duplicates), applied by acl_load_config_users. Returns 0 or -1 with *err owned. */
int acl_config_user(int argc, const slice *argv, char **err);
/* Applies the `user` lines collected so far and forgets them. Returns 0 or -1 with *err
 * owned (a rule that names an unknown command). */
int acl_load_config_users(char **err);
/* 1 if `user` lines are waiting (mixing them with an aclfile is refused at start-up). */
int acl_config_users_pending(void);
/* Loads the ACL file at path: every line is validated first, and on any error nothing
 * changes. On success the table holds the file's users (the default user object keeps its
 * identity and takes the file's rules) and the previous users are returned detached, for
 * the caller to move sessions by name (acl_user_find) and then free with
 * acl_userset_free. Returns NULL with *err owned on failure; messages name the file as
 * `shown` (the aclfile directive as given; NULL: path). */
typedef struct acl_userset acl_userset;
acl_userset *acl_load_file(const char *path, const char *shown, char **err);
void acl_userset_free(acl_userset *set);
/* 1 if user u belongs to the detached set (its sessions must move or close). */
int acl_userset_has(const acl_userset *set, const acl_user *u);
/* Writes every user to path (temp file, fsync, rename). Returns 0, or -1 with *err owned
 * (an strerror text). */
int acl_save_file(const char *path, char **err);
/* The path of the ACL file: aclfile itself when absolute, else relative to dir (Redis
 * changes into `dir` at start-up, so a relative aclfile lives there). Writes into out. */
const char *acl_file_path(const char *aclfile, const char *dir, char *out, size_t cap);
/* Appends "user <name> <rules>\n" for every user (CONFIG REWRITE without an aclfile). */
void acl_write_users(buf *out);

/* ---- Helpers ---- */

/* Lower-case hex SHA-256 of p[0..len) into out (65 bytes with the NUL). */
void acl_hash_password(const char *p, size_t len, char out[65]);
/* Fills out with n random lower-case hex characters from OpenSSL's generator. */
void acl_random_hex(char *out, size_t n);

#endif
