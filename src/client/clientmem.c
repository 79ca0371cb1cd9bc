/* clientmem: the memory of each client and the running sum over the evictable ones; see
 * clientmem.h.
 *
 * Invariant: clientmem_evictable_total == the sum of mem_noted over the live sessions, and
 * mem_noted is 0 for a session that is not counted (tracking off, not evictable). A note
 * subtracts the old share and adds the new one, so the sum never has to be walked; a
 * full recount happens only when tracking is switched. */
#include "mayfly/client/clientmem.h"

#include "mayfly/client/pubsub.h"
#include "mayfly/client/watch.h"

#include <string.h>

int clientmem_tracking;
size_t clientmem_evictable_total;
size_t (*clientmem_extra)(const session *s);

static size_t str_mem(const char *p) {
    return p ? strlen(p) + 1 : 0;
}

size_t clientmem_of(const session *s) {
    /* Bytes in flight sit in net/'s write buffer, which ops->mem counts. */
    size_t n = sizeof(*s) + s->out.cap;
    if (s->stream) n += sizeof(*s->stream) + s->stream->held.cap;
    n += str_mem(s->name) + str_mem(s->lib_name) + str_mem(s->lib_ver);
    n += pubsub_session_memory(s) + watch_session_memory(s);
    if (s->ops && s->ops->mem) n += s->ops->mem(s);
    if (clientmem_extra) n += clientmem_extra(s);
    return n;
}

int clientmem_evictable(const session *s) {
    return s->ops && s->ops->mem &&
           !(s->flags &
             (SESS_NO_EVICT | SESS_CLOSE_ASAP | SESS_INTERNAL | SESS_MASTER | SESS_REPLICA));
}

void clientmem_update(session *s) {
    size_t now = clientmem_tracking && clientmem_evictable(s) ? clientmem_of(s) : 0;
    clientmem_evictable_total = clientmem_evictable_total - s->mem_noted + now;
    s->mem_noted = now;
}

void clientmem_forget(session *s) {
    clientmem_evictable_total -= s->mem_noted;
    s->mem_noted = 0;
}

void clientmem_track(int on) {
    clientmem_tracking = on != 0;
    for (session *s = session_first(); s; s = s->next)
        clientmem_update(s);
}
