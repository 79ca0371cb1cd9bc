/* pause: postponing commands while the server pauses them (see mayfly/cmd/pause.h), and
 * CLIENT PAUSE / UNPAUSE.
 *
 * One state for every purpose: the set of purposes pausing writes, and CLIENT PAUSE's
 * mode (WRITE or ALL) and deadline. A new CLIENT PAUSE keeps the later deadline and, while
 * the old one is in effect, the stronger mode (Redis's pauseClientsByClient); its deadline
 * is checked by the gate, by cmd_writes_paused and by the cron. The postponed sessions sit
 * in an array; each is blocked (session_block), so its connection reads on but runs
 * nothing, and its free callback takes it out of the array if the client goes away
 * meanwhile. When the pause lifts or weakens, the array is emptied and its sessions are
 * unblocked in arrival order; the connections rerun the kept commands on their next turn,
 * and those still paused come back. */
#include "mayfly/cmd/pause.h"

#include "cmd/conn_int.h"
#include "mayfly/client/session.h"
#include "mayfly/cmd/host.h"
#include "mayfly/db/db.h"
#include "mayfly/util/armed.h"
#include "mayfly/util/clock.h"
#include "mayfly/util/mem.h"
#include "mayfly/util/strconv.h"

#include <limits.h>
#include <string.h>

static unsigned purposes; /* CMD_PAUSE_* holding a pause */
static int armed;         /* the gate's switch: purposes != 0 */
static int client_all;    /* CLIENT PAUSE ALL (with CMD_PAUSE_CLIENT in purposes) */
static int64_t client_end_ms;
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

/* Every postponed session runs its command again (and may be postponed again). */
static void release_waiting(void) {
    session **list = waiting;
    int n = nwaiting;
    waiting = NULL;
    nwaiting = cap = 0;
    for (int i = 0; i < n; i++)
        session_unblock(list[i]);
    mem_free(list);
}

/* Sets purposes to now_purposes and CLIENT's mode, then what follows from them: the gate's
 * switch, the expiry mode, and the release of whoever may run now. */
static void set_state(unsigned now_purposes, int all) {
    int was_armed = armed, was_all = (purposes & CMD_PAUSE_CLIENT) && client_all;
    purposes = now_purposes;
    client_all = (purposes & CMD_PAUSE_CLIENT) && all;
    armed_set(&armed, purposes != 0);
    if (!(purposes & CMD_PAUSE_CLIENT)) client_end_ms = 0;
    if (armed && !was_armed) db_set_expire_mode(DB_EXPIRE_HIDE);
    if (!armed && was_armed && !host_stat.replica) db_set_expire_mode(DB_EXPIRE_REAP);
    if ((!armed || (was_all && !client_all)) && nwaiting) release_waiting();
}

/* A CLIENT PAUSE past its deadline ends. */
static void check_deadline(int64_t now_ms) {
    if ((purposes & CMD_PAUSE_CLIENT) && client_end_ms <= now_ms)
        set_state(purposes & ~CMD_PAUSE_CLIENT, 0);
}

void cmd_pause_writes(unsigned purpose) {
    set_state(purposes | purpose, client_all);
}

void cmd_unpause(unsigned purpose) {
    set_state(purposes & ~purpose, client_all);
}

int cmd_writes_paused(void) {
    if (purposes & CMD_PAUSE_CLIENT) check_deadline(clock_now_ms());
    return armed;
}

int cmd_paused_count(void) {
    return nwaiting;
}

void cmd_pause_cron(int64_t now_ms) {
    check_deadline(now_ms);
}

static const char *gate_pause(cmd_ctx *c, char *msg, size_t cap_) {
    (void)msg, (void)cap_;
    session *s = c->s;
    check_deadline(c->now_ms);
    if (!armed || (!client_all && !(c->flags & (CMD_WRITE | CMD_MAY_REPLICATE)))) return NULL;
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

/* Every command concerns it: under CLIENT PAUSE ALL reads wait too (the check sorts). */
const cmd_gate cmd_gate_pause = {"pause", CMD_GATE_PAUSE, 0, 0, &armed, gate_pause};

/* ---- CLIENT PAUSE timeout [WRITE|ALL] / CLIENT UNPAUSE ---- */

/* Parses CLIENT PAUSE's arguments into *all and *ms; replies and returns -1 if bad. */
static int parse_client_pause(cmd_ctx *c, int *all, long long *ms) {
    *all = 1;
    if (c->argc == 4) {
        if (slice_eq_ci(c->argv[3], "WRITE")) {
            *all = 0;
        } else if (!slice_eq_ci(c->argv[3], "ALL")) {
            reply_error(c, "ERR CLIENT PAUSE mode must be WRITE or ALL");
            return -1;
        }
    } else if (c->argc != 3) {
        reply_arity_error(c);
        return -1;
    }
    if (str_to_ll(c->argv[2].p, c->argv[2].len, ms) < 0) {
        reply_error(c, "ERR timeout is not an integer or out of range");
        return -1;
    }
    if (*ms < 0) {
        reply_error(c, "ERR timeout is negative");
        return -1;
    }
    if (*ms > 0 && *ms > LLONG_MAX - c->now_ms) {
        reply_error(c, "ERR timeout is out of range");
        return -1;
    }
    return 0;
}

void client_pause(cmd_ctx *c) {
    int all;
    long long ms;
    if (parse_client_pause(c, &all, &ms) < 0) return;
    check_deadline(c->now_ms);
    /* The stronger mode of a CLIENT PAUSE in effect stays; so does the later deadline. */
    int64_t end = c->now_ms + ms;
    if (!(purposes & CMD_PAUSE_CLIENT) || end > client_end_ms) client_end_ms = end;
    set_state(purposes | CMD_PAUSE_CLIENT, all || client_all);
    check_deadline(c->now_ms); /* a zero timeout pauses nothing */
    reply_ok(c);
}

void client_unpause(cmd_ctx *c) {
    cmd_unpause(CMD_PAUSE_CLIENT);
    reply_ok(c);
}
