/* session: client state and the live list; see session.h.
 *
 * The list is doubly linked, newest first; lookups by id walk it (CLIENT KILL ID, CLIENT
 * LIST ID are rare). A session's parts owned by other files are freed by session_free:
 * the layer above through session_release_hook, subscriptions and watched keys here. */
#include "mayfly/client/session.h"

#include "mayfly/client/clientmem.h"
#include "mayfly/client/monitor.h"
#include "mayfly/client/pubsub.h"
#include "mayfly/client/tracking.h"
#include "mayfly/client/watch.h"
#include "mayfly/config.h"
#include "mayfly/db/db.h"
#include "mayfly/util/mem.h"

#include <assert.h>

static session *head; /* newest first */
static size_t live;   /* sessions on the list */
static uint64_t next_id = 1;
int session_unauthenticated;
void (*session_release_hook)(session *s);
session_auth_ops session_auth;

static session *executing; /* the session whose top-level command is running */
static buf self_pushes;    /* pushes to it, appended to its out after the reply */

int session_command_begin(session *s) {
    if (executing) return 0;
    executing = s;
    return 1;
}

void session_command_end(session *s, int top) {
    if (!top) return;
    tracking_command_done(s);
    tracking_command_end();
    executing = NULL;
    if (self_pushes.len) {
        /* After a streamed reply, not into it. */
        buf_append(s->stream ? &s->stream->held : &s->out, self_pushes.data, self_pushes.len);
        buf_clear(&self_pushes);
    }
}

session *session_executing(void) {
    return executing;
}

buf *session_push_out(session *s) {
    if (s->stream) return &s->stream->held; /* after the streamed reply */
    return s == executing ? &self_pushes : &s->out;
}

int session_blocked;

void session_block(session *s, void (*on_free)(session *s)) {
    if (s->flags & SESS_BLOCKED) return;
    s->flags |= SESS_BLOCKED;
    s->blocked_free = on_free;
    session_blocked++;
}

void session_unblock(session *s) {
    if (!(s->flags & SESS_BLOCKED)) return;
    s->flags &= ~SESS_BLOCKED;
    s->blocked_free = NULL;
    session_blocked--;
    if (s->ops && s->ops->unblocked) s->ops->unblocked(s);
    if (s->ops && s->ops->wake) s->ops->wake(s);
}

void session_set_authenticated(session *s, int yes) {
    yes = yes != 0;
    if (s->authenticated == yes) return;
    s->authenticated = yes;
    session_unauthenticated += yes ? -1 : 1;
}

session *session_new(const session_ops *ops, void *conn) {
    session *s = mem_calloc(1, sizeof(*s));
    s->id = next_id++;
    s->proto = 2;
    s->db_id = 0;
    s->db = db_get(0);
    s->authenticated = 1;
    if (session_auth.start)
        session_auth.start(s);
    else
        session_set_authenticated(s, config.requirepass == NULL);
    s->fd = -1;
    s->ops = ops;
    s->conn = conn;
    buf_init(&s->out);
    s->next = head;
    if (head) head->prev = s;
    head = s;
    live++;
    return s;
}

static void stream_free(session *s) {
    session_stream *st = s->stream;
    if (!st) return;
    s->stream = NULL;
    st->free(st->state);
    buf_deinit(&st->held);
    mem_free(st);
}

void session_stream_start(session *s, int (*step)(void *state, buf *out),
                          void (*free_fn)(void *state), void *state) {
    assert(s->stream == NULL && s->ops && s->ops->streams);
    session_stream *st = mem_calloc(1, sizeof(*st));
    st->step = step;
    st->free = free_fn;
    st->state = state;
    buf_init(&st->held);
    s->stream = st;
}

int session_stream_step(session *s) {
    session_stream *st = s->stream;
    if (!st) return 0;
    if (!st->step(st->state, &s->out)) return 1;
    if (st->held.len) buf_append(&s->out, st->held.data, st->held.len);
    stream_free(s);
    return 0;
}

void session_free(session *s) {
    if (!s) return;
    stream_free(s);
    if (s->flags & SESS_BLOCKED) {
        void (*on_free)(session *) = s->blocked_free;
        s->flags &= ~SESS_BLOCKED;
        s->blocked_free = NULL;
        session_blocked--;
        if (on_free) on_free(s);
    }
    if (session_release_hook) session_release_hook(s);
    pubsub_session_free(s);
    watch_clear(s);
    tracking_disable(s);
    monitor_remove(s);
    clientmem_forget(s);
    session_set_authenticated(s, 1);
    if (s->prev)
        s->prev->next = s->next;
    else
        head = s->next;
    if (s->next) s->next->prev = s->prev;
    live--;
    buf_deinit(&s->out);
    mem_free(s->name);
    mem_free(s->lib_name);
    mem_free(s->lib_ver);
    mem_free(s);
}

int session_auth_required(const session *s) {
    if (s->authenticated) return 0;
    return session_auth.required ? session_auth.required() : config.requirepass != NULL;
}

session *session_first(void) {
    return head;
}
size_t session_count(void) {
    return live;
}

session *session_by_id(uint64_t id) {
    for (session *s = head; s; s = s->next)
        if (s->id == id) return s;
    return NULL;
}
