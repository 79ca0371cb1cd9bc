/* session: client state and the live list; see session.h.
 *
 * The list is doubly linked, newest first. Lookups by id (every invalidation client-side
 * caching sends names its targets by id, so one write may look up dozens) go through an
 * open-addressing table of the live sessions (linear probing, a multiplicative hash of the
 * id, backward-shift deletion, kept at most half full). A session's parts owned by other
 * files are freed by session_free: the layer above through session_release_hook,
 * subscriptions and watched keys here. */
#include "mayfly/client/session.h"

#include "mayfly/client/clientmem.h"
#include "mayfly/client/monitor.h"
#include "mayfly/client/pubsub.h"
#include "mayfly/client/tracking.h"
#include "mayfly/client/watch.h"
#include "mayfly/config.h"
#include "mayfly/db/db.h"
#include "mayfly/util/armed.h"
#include "mayfly/util/mem.h"

#include <assert.h>

static session *head; /* newest first */
static size_t live;   /* sessions on the list */
static uint64_t next_id = 1;
int session_unauthenticated;
void (*session_release_hook)(session *s);
session_auth_ops session_auth;

static session **by_id;    /* the live sessions by id: NULL = empty slot */
static size_t by_id_cap;   /* 0 or a power of two, at least twice `live` */
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
    armed_set(&session_unauthenticated, session_unauthenticated + (yes ? -1 : 1));
}

/* ---- the id table ---- */

static size_t id_home(uint64_t id) {
    return (size_t)((id * 0x9E3779B97F4A7C15ull) >> 32) & (by_id_cap - 1);
}

static void id_put(session *s) {
    size_t i = id_home(s->id);
    while (by_id[i])
        i = (i + 1) & (by_id_cap - 1);
    by_id[i] = s;
}

/* Makes room for one more session (the table stays at most half full). */
static void id_reserve(void) {
    if ((live + 1) * 2 <= by_id_cap) return;
    session **old = by_id;
    size_t old_cap = by_id_cap;
    by_id_cap = old_cap ? old_cap * 2 : 64;
    by_id = mem_calloc(by_id_cap, sizeof(*by_id));
    for (size_t i = 0; i < old_cap; i++)
        if (old[i]) id_put(old[i]);
    mem_free(old);
}

/* Takes s out, moving back the entries after it whose probe run passed its slot. */
static void id_remove(const session *s) {
    size_t mask = by_id_cap - 1, i = id_home(s->id);
    while (by_id[i] != s)
        i = (i + 1) & mask;
    by_id[i] = NULL;
    for (size_t j = (i + 1) & mask; by_id[j]; j = (j + 1) & mask) {
        size_t home = id_home(by_id[j]->id);
        /* by_id[j] stays unless the hole at i lies on its way from home to j. */
        int stays = i <= j ? (home > i && home <= j) : (home > i || home <= j);
        if (stays) continue;
        by_id[i] = by_id[j];
        by_id[j] = NULL;
        i = j;
    }
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
    id_reserve();
    id_put(s);
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
    id_remove(s);
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
    if (!by_id_cap) return NULL;
    for (size_t i = id_home(id); by_id[i]; i = (i + 1) & (by_id_cap - 1))
        if (by_id[i]->id == id) return by_id[i];
    return NULL;
}
