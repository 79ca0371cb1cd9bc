/* session: the client registry: the state of one client that commands see, independent of
 * its socket, and the list of every live client.
 *
 * net/ owns the socket and fills the connection facts (address, fd, buffers); client/
 * owns the protocol state (RESP version, database, auth, subscriptions, watched keys) and
 * the reply buffer `out`, which net/ flushes once per loop turn; cmd/ keeps its MULTI
 * queue here too, released through session_release_hook. Commands may write into another
 * session's `out` (PUBLISH) and then call its wake() so net/ schedules a write. Every live
 * session is on one list (CLIENT LIST, CLIENT KILL, INFO clients). */
#ifndef MAYFLY_CLIENT_SESSION_H
#define MAYFLY_CLIENT_SESSION_H

#include "mayfly/util/buf.h"
#include "mayfly/util/slice.h"

#include <stddef.h>
#include <stdint.h>

struct acl_user;
struct db;
struct session;

/* Flags (session.flags). */
#define SESS_MULTI (1u << 0)             /* inside MULTI: commands are queued */
#define SESS_DIRTY_CAS (1u << 1)         /* a WATCHed key changed: EXEC fails */
#define SESS_DIRTY_EXEC (1u << 2)        /* a queued command had an error: EXECABORT */
#define SESS_CLOSE_AFTER_REPLY (1u << 3) /* QUIT, or a protocol error */
#define SESS_CLOSE_ASAP (1u << 4)        /* CLIENT KILL, output limit: drop without flushing */
#define SESS_REPLY_OFF (1u << 5)         /* CLIENT REPLY OFF */
#define SESS_REPLY_SKIP_NEXT (1u << 6)   /* CLIENT REPLY SKIP: skip the next command's reply */
#define SESS_REPLY_SKIP (1u << 7)        /* the current command's reply is discarded */
#define SESS_NO_EVICT (1u << 8)          /* CLIENT NO-EVICT on */
#define SESS_NO_TOUCH (1u << 9)          /* CLIENT NO-TOUCH on */
#define SESS_PUBSUB (1u << 10)           /* has subscriptions (RESP2: subscribe mode) */
#define SESS_UNIX (1u << 11)             /* connected through the Unix socket */
#define SESS_LOOPBACK (1u << 12)         /* peer address is loopback (protected mode) */
#define SESS_INTERNAL (1u << 13)         /* not a network client (loading, tests) */
#define SESS_ASKING (1u << 20)           /* ASKING: the next command may use an importing slot */
#define SESS_READONLY (1u << 21)         /* READONLY: a cluster replica serves its reads */
#define SESS_BLOCKED                                                                               \
    (1u << 14) /* a command waits (WAIT): nothing more is run until                                \
                  session_unblock */
#define SESS_MASTER                                                                                \
    (1u << 15)                        /* this replica's link to its primary: its commands are      \
                                         obeyed (no gates), its replies dropped (flags=M) */
#define SESS_REPLICA (1u << 16)       /* a replica's link to this primary (flags=S) */
#define SESS_TLS (1u << 30)           /* connected over TLS (cluster replies give TLS ports) */
#define SESS_TRACKING (1u << 22)      /* CLIENT TRACKING ON (client/tracking.c) */
#define SESS_TRACK_BCAST (1u << 23)   /* ... in BCAST mode */
#define SESS_TRACK_OPTIN (1u << 24)   /* ... in OPTIN mode */
#define SESS_TRACK_OPTOUT (1u << 25)  /* ... in OPTOUT mode */
#define SESS_TRACK_NOLOOP (1u << 26)  /* ... not told of its own changes */
#define SESS_TRACK_CACHING (1u << 27) /* CLIENT CACHING YES/NO for the next command */
#define SESS_TRACK_BROKEN (1u << 28)  /* the redirection target is gone */
#define SESS_MONITOR (1u << 29)       /* MONITOR (client/monitor.c) */
/* The command just dispatched was postponed, not run (writes paused: cmd/pause.h): net/
 * keeps its bytes and runs it again once the session is unblocked. */
#define SESS_POSTPONED (1u << 17)

/* Callbacks into the connection layer. */
typedef struct session_ops {
    void (*wake)(struct session *s);             /* out has new bytes from outside a command */
    void (*kill)(struct session *s);             /* close soon without flushing (CLIENT KILL) */
    size_t (*qbuf_len)(const struct session *s); /* bytes in the query buffer */
    /* on=1: a command of s is suspended (a busy script serves other clients meanwhile):
     * stop reading s and defer closing it, since its query buffer holds the command's
     * arguments; on=0: resume. May be NULL (sessions without a connection). */
    void (*protect)(struct session *s, int on);
    int streams; /* 1: the connection drives streamed replies (session_stream_step) */
    void (*unblocked)(struct session *s); /* session_unblock: run the input that waited;
                                             NULL: nothing to run */
    /* Bytes the connection holds for s (query buffer, write buffer, argument arrays:
     * clientmem.h). NULL: not a network client, never evicted. */
    size_t (*mem)(const struct session *s);
    /* As wake, for bytes that may wait one loop turn (at most about a millisecond) to leave
     * with the session's next reply: tracking's invalidations. May be NULL (use wake). */
    void (*wake_soon)(struct session *s);
} session_ops;

/* A reply produced in parts instead of whole (HRANDFIELD with a huge negative count): the
 * handler starts it (session_stream_start) after writing the reply's header; net/ calls
 * session_stream_step whenever the client's output has drained below its pause
 * threshold, and runs no other command of the session until the reply is complete. */
typedef struct session_stream {
    /* Appends about one part (tens of KB) of the reply to out; returns 1 once complete. */
    int (*step)(void *state, buf *out);
    void (*free)(void *state); /* frees state (complete or not) */
    void *state;
    buf held; /* pushes (pub/sub, keyspace events) that arrived meanwhile: sent after it */
} session_stream;

typedef struct session {
    uint64_t id; /* CLIENT ID, unique, increasing */
    int proto;   /* 2 or 3 */
    int db_id;   /* selected database */
    struct db *db;
    int authenticated;         /* 1 if no password is required or AUTH succeeded (read-only:
                                  session_set_authenticated changes it) */
    uint32_t flags;            /* SESS_* */
    char *name;                /* CLIENT SETNAME, owned, NULL if none */
    char *lib_name, *lib_ver;  /* CLIENT SETINFO, owned */
    struct acl_user *user;     /* the ACL user (acl.h): "default" until AUTH/HELLO AUTH;
                                  NULL without session_auth (unit tests) */
    buf out;                   /* pending reply bytes, flushed by net/ */
    size_t out_peak;           /* largest out seen (INFO clients) */
    int64_t obl_soft_since_ms; /* when out first exceeded the soft limit, 0 if under */
    size_t out_inflight;       /* bytes handed to the socket layer, not yet written (net/) */
    size_t mem_noted;          /* this session's share of clientmem_evictable_total */

    /* Connection facts, filled by net/. */
    char addr[64];  /* "ip:port" or "/path:0" */
    char laddr[64]; /* local address */
    int fd;
    int64_t ctime_ms;            /* connect time */
    int64_t last_ms;             /* last interaction */
    const char *last_cmd;        /* the last command looked up (CLIENT LIST cmd=), NULL when
                                    unknown; set before it runs, as Redis's c->lastcmd */
    const char *last_cmd_parent; /* its container ("client" of client|info), or NULL */
    const session_ops *ops;
    void *conn;    /* net/'s connection */
    uint64_t woff; /* the replication offset just after this client's last write (WAIT) */
    /* The multibulk request net/ is dispatching: its bytes, req_argv pointing into them
     * (empty otherwise). A command that propagates that argv copies the bytes when they
     * are exactly its RESP encoding (cmd/propagate.c, resp_request_exact); req_exact: net/
     * has already seen every byte of them in that form (resp_peek), no check needed. */
    slice req;
    const slice *req_argv;
    int req_exact;

    /* State owned by command families (opaque here). */
    struct multi_state *multi;   /* the MULTI queue (cmd/cmd_multi.c, opaque here) */
    struct pubsub_state *pubsub; /* subscriptions (client/pubsub.c) */
    struct watch_state *watch;   /* WATCHed keys (client/watch.c) */
    session_stream *stream;      /* a reply still being produced, or NULL */
    /* While SESS_BLOCKED: called by session_free, so the subsystem that blocked the session
       forgets it (a client of WAIT that hangs up). */
    void (*blocked_free)(struct session *s);
    struct tracking_state *tracking; /* CLIENT TRACKING (client/tracking.c) */

    struct session *prev, *next; /* the live list */
} session;

/* Pending output in Redis's terms (CLIENT LIST obl/oll/omem, client-output-buffer-limit):
 * the first SESSION_REPLY_CHUNK bytes count as Redis's fixed reply buffer (obl), the rest
 * as its reply list (omem bytes in oll blocks of that size). A replica's link (repl/ sets
 * its out_inflight to the stream it has not been sent) has all of it in omem, as Redis's
 * share of the replication buffer. */
#define SESSION_REPLY_CHUNK 16384
static inline size_t session_pending(const session *s) {
    return s->out.len + s->out_inflight + (s->stream ? s->stream->held.len : 0);
}
static inline size_t session_obl(const session *s) {
    if (s->flags & SESS_REPLICA) return 0;
    size_t p = session_pending(s);
    return p < SESSION_REPLY_CHUNK ? p : SESSION_REPLY_CHUNK;
}
static inline size_t session_omem(const session *s) {
    return session_pending(s) - session_obl(s);
}
static inline size_t session_oll(const session *s) {
    return (session_omem(s) + SESSION_REPLY_CHUNK - 1) / SESSION_REPLY_CHUNK;
}

/* Live sessions that are not authenticated (the auth gate's switch); read-only outside
 * session.c: change a session's state with session_set_authenticated. */
extern int session_unauthenticated;
/* Marks s authenticated (AUTH, HELLO AUTH) or not (a new session, RESET, while a password
 * is required). */
void session_set_authenticated(session *s, int yes);

/* Sessions blocked now (INFO blocked_clients). */
extern int session_blocked;
/* Blocks s in its running command (WAIT): the command has not replied, and no further
 * command of s is run until session_unblock, while its input keeps being read. on_free runs
 * if s is freed while blocked. */
void session_block(session *s, void (*on_free)(session *s));
/* Ends s's block (the blocking subsystem has written the reply): its waiting input is run
 * from the loop (ops->unblocked). No effect if s is not blocked. */
void session_unblock(session *s);

/* Authentication as the layers above have it (server.c fills this at start-up with
 * cmd/'s, which asks acl/): start gives a new or RESET session its user (the default
 * user) and authenticates it unless that user needs a password; required tells whether an
 * unauthenticated session may run only AUTH/HELLO (the default user needs a password or
 * is off). Left empty (unit tests): no user, and only requirepass asks for a password. */
typedef struct session_auth_ops {
    void (*start)(session *s);
    int (*required)(void);
} session_auth_ops;
extern session_auth_ops session_auth;

/* Creates a session on the live list with a new id, RESP2, database 0, started by
 * session_auth (the default ACL user). Returns an owned session. */
session *session_new(const session_ops *ops, void *conn);
/* 1 if s must authenticate before running anything but AUTH/HELLO (Redis's authRequired:
 * not authenticated, and the default user needs a password or is off). */
int session_auth_required(const session *s);
/* Frees a session: unsubscribes, unwatches, drops its list membership. NULL is a no-op. */
void session_free(session *s);
/* The first live session (walk with ->next). */
session *session_first(void);
/* Number of live sessions. */
size_t session_count(void);
/* Finds a live session by id, or NULL. */
session *session_by_id(uint64_t id);

/* Frees what layers above client/ keep in a session (cmd/'s MULTI queue); session_free
 * calls it first. Set once at start-up (server.c); NULL: nothing to free. */
extern void (*session_release_hook)(session *s);

/* Pushes to the client whose command is running (a PUBLISH to its own channel, a keyspace
 * event) follow that command's reply (after the whole EXEC array), as in Redis 7.2+, so a
 * client publishing to itself reads the PUBLISH reply first. Dispatch brackets each top-level
 * command with these; session_push_out gives the buffer a push to s goes to: the running session's
 * deferred pushes, or s->out. session_command_end appends the deferred pushes to s->out. Returns 1
 * for a top-level command (begin) and is a no-op for nested ones. */
int session_command_begin(session *s);
void session_command_end(session *s, int top);
buf *session_push_out(session *s);
/* The session whose top-level command is running, or NULL (work outside commands: the
 * cron, active expiry). The effect stream's sinks use it to attribute records (WAIT). */
session *session_executing(void);

/* Makes s produce the rest of the current reply through step (see session_stream); takes
 * ownership of state (freed with free_fn). Only for a command that may stream
 * (cmd_ctx.may_stream). */
void session_stream_start(session *s, int (*step)(void *state, buf *out),
                          void (*free_fn)(void *state), void *state);
/* Runs one step of s's streamed reply into s->out; when it completes, frees it and appends
 * the pushes held meanwhile. Returns 1 while the reply goes on, 0 once it is complete. */
int session_stream_step(session *s);

#endif
