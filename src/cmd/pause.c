/* pause: postponing write commands while the server pauses them (see mayfly/cmd/pause.h).
 *
 * The postponed sessions sit in an array; each is blocked (session_block), so its
 * connection reads on but runs nothing, and its free callback takes it out of the array
 * if the client goes away meanwhile. Lifting the last pause empties the array and unblocks
 * them in arrival order; the connections rerun the kept commands on their next turn. */
#include "mayfly/cmd/pause.h"

#include "mayfly/client/session.h"
#include "mayfly/util/mem.h"

#include <string.h>

static unsigned purposes;
static int armed; /* the gate's switch: purposes != 0 */
static session **waiting;
static int nwaiting, cap;

static void forget(session *s) {
    for (int i = 0; i < nwaiting; i++) {
        if (waiting[i] != s) continue;
        memmove(waiting + i, waiting + i + 1, sizeof(*waiting) * (size_t)(nwaiting - i - 1));
        nwaiting--;
        return;
    }
}

void cmd_pause_writes(unsigned purpose) {
    purposes |= purpose;
    armed = purposes != 0;
}

void cmd_unpause(unsigned purpose) {
    purposes &= ~purpose;
    armed = purposes != 0;
    if (armed || !nwaiting) return;
    session **list = waiting;
    int n = nwaiting;
    waiting = NULL;
    nwaiting = cap = 0;
    for (int i = 0; i < n; i++)
        session_unblock(list[i]);
    mem_free(list);
}

int cmd_writes_paused(void) {
    return armed;
}

int cmd_paused_count(void) {
    return nwaiting;
}

static const char *gate_pause(cmd_ctx *c, char *msg, size_t cap_) {
    (void)msg, (void)cap_;
    session *s = c->s;
    /* Replicas are never paused; sessions without a connection to resume them (a
     * script's commands: the EVAL itself was checked) run on. */
    if ((s->flags & SESS_REPLICA) || !s->ops || !s->ops->unblocked) return NULL;
    if (nwaiting == cap) {
        cap = cap ? cap * 2 : 8;
        waiting = mem_realloc(waiting, sizeof(*waiting) * (size_t)cap);
    }
    waiting[nwaiting++] = s;
    session_block(s, forget);
    s->flags |= SESS_POSTPONED;
    return CMD_GATE_HANDLED;
}

const cmd_gate cmd_gate_pause = {"pause", CMD_GATE_PAUSE, CMD_WRITE | CMD_MAY_REPLICATE,
                                 0,       &armed,         gate_pause};
