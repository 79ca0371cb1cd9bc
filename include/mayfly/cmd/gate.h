/* gate: the checks dispatch runs between finding a command and running (or queueing) it.
 *
 * After the lookup and the arity check, cmd_dispatch walks a table of gates in ascending
 * `order` and stops at the first that refuses; then comes MULTI queueing, then the handler.
 * Redis's processCommand gives the order; the CMD_GATE_* slots below leave room so that
 * subsystems arriving later register themselves at the right place (from server.c) without
 * editing cmd/:
 *
 *     PROTECTED 50 · AUTH 100 · NO_MULTI 200 · ACL 300 · CLUSTER 400 · OOM 500 · MISCONF 600 ·
 *     MIN_REPLICAS 700 · READONLY 800 · PUBSUB 900 · MASTERDOWN 1000 · LOADING 1100 ·
 *     BUSY 1200 · REPLICA_KEYSPACE 1300 · PAUSE 1400  ->  MULTI queueing  ->  handler
 *
 * A gate returns NULL to let the command through, an error text starting with its code
 * ("NOAUTH Authentication required.") to refuse it, or CMD_GATE_HANDLED when it has dealt
 * with the command itself (replied, blocked or postponed it). A refusal is answered as
 * Redis's rejectCommand does: the error reply, the command's rejected_calls + 1, and inside
 * MULTI the transaction is flagged so EXEC answers EXECABORT; a refused EXEC discards its
 * transaction and answers "EXECABORT Transaction discarded because of: <error>" (a leading
 * "ERR " dropped). The text may be static or written into msg (cap bytes).
 *
 * Fast path: a gate names the commands it concerns by their flags, and may name a switch
 * (`armed`) that is 0 while it cannot refuse anything. The command table caches, per
 * command, the bit set of gates that concern it; dispatch walks those bits and calls only
 * armed gates: no allocation, a few loads and branches per gate. Switches change only
 * through armed_set (util/armed.h), which counts those that are on: while none is, dispatch
 * keeps only the gates without a switch (usually none) and walks nothing. For EXEC the
 * flags are those of the transaction (see cmd_ctx.flags), as Redis's is_write_command etc. Sessions
 * marked SESS_INTERNAL (the append-only-log replay, like Redis's fake AOF client) skip the gates.
 */
#ifndef MAYFLY_CMD_GATE_H
#define MAYFLY_CMD_GATE_H

#include "mayfly/cmd/cmd.h"

#include <stddef.h>
#include <stdint.h>

/* Order keys after Redis's processCommand. */
enum cmd_gate_order {
    CMD_GATE_PROTECTED = 50,          /* DEBUG per enable-debug-command (cmd_gate_protected) */
    CMD_GATE_AUTH = 100,              /* NOAUTH (cmd: cmd_gate_auth) */
    CMD_GATE_NO_MULTI = 200,          /* CMD_NO_MULTI inside MULTI (cmd: cmd_gate_no_multi) */
    CMD_GATE_ACL = 300,               /* NOPERM */
    CMD_GATE_CLUSTER = 400,           /* MOVED / ASK / CROSSSLOT / CLUSTERDOWN */
    CMD_GATE_OOM = 500,               /* OOM (maxmemory) */
    CMD_GATE_MISCONF = 600,           /* MISCONF: persistence is failing */
    CMD_GATE_MIN_REPLICAS = 700,      /* NOREPLICAS */
    CMD_GATE_READONLY = 800,          /* READONLY replica */
    CMD_GATE_PUBSUB = 900,            /* RESP2 subscribe mode (cmd: cmd_gate_pubsub) */
    CMD_GATE_MASTERDOWN = 1000,       /* MASTERDOWN (replica-serve-stale-data no) */
    CMD_GATE_LOADING = 1100,          /* LOADING */
    CMD_GATE_BUSY = 1200,             /* BUSY script */
    CMD_GATE_REPLICA_KEYSPACE = 1300, /* a replica link touching the keyspace */
    CMD_GATE_PAUSE = 1400,            /* CLIENT PAUSE: postpone */
};

/* Let the command through (NULL), refuse it (an error text), or CMD_GATE_HANDLED. */
typedef const char *cmd_gate_fn(cmd_ctx *c, char *msg, size_t cap);

/* The gate replied, blocked or postponed the command itself: dispatch stops, counting
 * nothing. */
extern const char cmd_gate_handled[];
#define CMD_GATE_HANDLED cmd_gate_handled

typedef struct cmd_gate {
    const char *name;    /* unique: "auth", "acl", "loading", ... */
    int order;           /* CMD_GATE_*: lower runs first; equal orders run in adding order */
    uint32_t when_any;   /* run only for commands with one of these CMD_* flags; 0: any */
    uint32_t unless_any; /* never for commands with one of these flags (CMD_NO_AUTH, ...) */
    const int *armed;    /* the gate is skipped while *armed is 0 (NULL: always armed): a
                            flag or count its subsystem keeps, e.g. "the dataset is loading",
                            changed only through armed_set (util/armed.h), so that while
                            every switch is off dispatch skips them all with one load */
    cmd_gate_fn *check;
} cmd_gate;

#define CMD_GATE_MAX 32

/* Adds a gate (borrowed: it must outlive the server, e.g. a static const). Returns 0, or
 * -1 if the table is full or a gate of that name exists. */
int cmd_gate_add(const cmd_gate *g);
/* Removes the gate named name; returns 0, or -1 if there is none. */
int cmd_gate_remove(const char *name);
/* Number of gates and the i-th in running order (listing, tests). */
size_t cmd_gate_count(void);
const cmd_gate *cmd_gate_at(size_t i);

/* The gates cmd/ provides (server.c adds them; ACL may replace "auth"). */
extern const cmd_gate cmd_gate_protected; /* CMD_PROTECTED (DEBUG) as enable-debug-command
                                             allows: yes, or local for loopback and Unix */
extern const cmd_gate cmd_gate_auth;      /* NOAUTH unless authenticated (not CMD_NO_AUTH) */
extern const cmd_gate cmd_gate_no_multi;  /* "Command not allowed inside a transaction" */
extern const cmd_gate cmd_gate_acl;       /* NOPERM per the session's ACL user (cmd_acl.c) */
extern const cmd_gate cmd_gate_pubsub;    /* RESP2 subscribe mode allows (P|S)(UN)SUBSCRIBE,
                                             PING, QUIT, RESET only */
extern const cmd_gate cmd_gate_oom;       /* maxmemory: evicts, then -OOM for deny-oom
                                             commands when nothing is left to evict
                                             (cmd_memory.c, armed while maxmemory is set) */

#endif
