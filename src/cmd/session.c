/* session: client state and the live list; see session.h. */
#include "mayfly/cmd/session.h"

#include "mayfly/config.h"
#include "mayfly/db/db.h"
#include "mayfly/util/mem.h"

static session *head; /* newest first */
static size_t live;   /* sessions on the list */
static uint64_t next_id = 1;
int session_unauthenticated;

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
    session_set_authenticated(s, config.requirepass == NULL);
    s->user = mem_strdup("default");
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

void session_free(session *s) {
    if (!s) return;
    multi_session_free(s);
    pubsub_session_free(s);
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
    mem_free(s->user);
    mem_free(s);
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
