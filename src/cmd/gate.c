/* gate: the table of dispatch gates and the gates cmd/ itself provides (see gate.h).
 *
 * The table is an array kept sorted by order (a stable insertion), at most CMD_GATE_MAX
 * long, so a gate's rank is a bit position: the command table caches for each command the
 * mask of gates whose flag filters concern it (registry_gates_changed recomputes them when
 * the table changes, at start-up), and gate_run (registry_int.h, inlined into dispatch)
 * walks the set bits of that mask in rank order over a flat copy of switches and checks. */
#include "mayfly/cmd/gate.h"

#include "cmd/cmdacl_int.h"
#include "cmd/registry_int.h"
#include "mayfly/client/pubsub.h"
#include "mayfly/cmd/pause.h"
#include "mayfly/config.h"

#include <stdio.h>
#include <string.h>

const char cmd_gate_handled[] = "";

static const cmd_gate *gates[CMD_GATE_MAX];
static size_t ngates;
gate_slot gate_slots[CMD_GATE_MAX];
uint32_t gate_unswitched;
uint32_t gate_master;
static const int always_armed = 1;

/* The table changed: rebuild the flat walk array, the mask of gates without a switch and
 * every command's gate mask. */
static void table_changed(void) {
    gate_unswitched = gate_master = 0;
    for (size_t i = 0; i < ngates; i++) {
        if (gates[i] == &cmd_gate_pause) gate_master |= 1u << i;
        gate_slots[i] =
            (gate_slot){gates[i]->armed ? gates[i]->armed : &always_armed, gates[i]->check};
        if (!gates[i]->armed) gate_unswitched |= 1u << i;
    }
    registry_gates_changed();
}

int gate_switches_all_off(void) {
    for (size_t i = 0; i < ngates; i++)
        if (gates[i]->armed && *gates[i]->armed) return 0;
    return 1;
}

int cmd_gate_add(const cmd_gate *g) {
    if (ngates == CMD_GATE_MAX || !g->name || !g->check) return -1;
    for (size_t i = 0; i < ngates; i++)
        if (strcmp(gates[i]->name, g->name) == 0) return -1;
    size_t at = ngates;
    while (at > 0 && gates[at - 1]->order > g->order)
        at--;
    memmove(&gates[at + 1], &gates[at], (ngates - at) * sizeof(gates[0]));
    gates[at] = g;
    ngates++;
    table_changed();
    return 0;
}

int cmd_gate_remove(const char *name) {
    for (size_t i = 0; i < ngates; i++) {
        if (strcmp(gates[i]->name, name) != 0) continue;
        memmove(&gates[i], &gates[i + 1], (ngates - i - 1) * sizeof(gates[0]));
        ngates--;
        table_changed();
        return 0;
    }
    return -1;
}

size_t cmd_gate_count(void) {
    return ngates;
}

const cmd_gate *cmd_gate_at(size_t i) {
    return i < ngates ? gates[i] : NULL;
}

uint32_t gate_mask(uint32_t flags) {
    uint32_t mask = 0;
    for (size_t i = 0; i < ngates; i++) {
        const cmd_gate *g = gates[i];
        if (g->when_any && !(flags & g->when_any)) continue;
        if (flags & g->unless_any) continue;
        mask |= 1u << i;
    }
    return mask;
}

/* ---- the gates of cmd/ ---- */

/* Redis's protected-action check, before authentication: DEBUG runs only as
 * enable-debug-command allows (no, yes, or local: loopback and Unix-socket clients). */
static const char *check_protected(cmd_ctx *c, char *msg, size_t cap) {
    (void)msg;
    (void)cap;
    int allowed = config.enable_debug_command == CONFIG_PROTECTED_YES ||
                  (config.enable_debug_command == CONFIG_PROTECTED_LOCAL &&
                   (c->s->flags & (SESS_UNIX | SESS_LOOPBACK)));
    return allowed ? NULL
                   : "ERR DEBUG command not allowed. If the enable-debug-command option is set "
                     "to \"local\", you can run it from a local connection, otherwise you need "
                     "to set this option in the configuration file, and then restart the server.";
}

const cmd_gate cmd_gate_protected = {.name = "protected",
                                     .order = CMD_GATE_PROTECTED,
                                     .when_any = CMD_PROTECTED,
                                     .check = check_protected};

static const char *check_auth(cmd_ctx *c, char *msg, size_t cap) {
    (void)msg;
    (void)cap;
    /* Redis's authRequired: while the default user is "on nopass", nobody needs AUTH. */
    if (c->s->authenticated || !cmd_acl_auth_required()) return NULL;
    return "NOAUTH Authentication required.";
}

const cmd_gate cmd_gate_auth = {.name = "auth",
                                .order = CMD_GATE_AUTH,
                                .unless_any = CMD_NO_AUTH,
                                .armed = &session_unauthenticated,
                                .check = check_auth};

static const char *check_no_multi(cmd_ctx *c, char *msg, size_t cap) {
    (void)msg;
    (void)cap;
    return (c->s->flags & SESS_MULTI) ? "ERR Command not allowed inside a transaction" : NULL;
}

const cmd_gate cmd_gate_no_multi = {.name = "no-multi",
                                    .order = CMD_GATE_NO_MULTI,
                                    .when_any = CMD_NO_MULTI,
                                    .check = check_no_multi};

static int allowed_in_subscribe_mode(const cmd_spec *spec) {
    static const char *const ok[] = {
        "subscribe",    "psubscribe", "unsubscribe", "punsubscribe", "ssubscribe",
        "sunsubscribe", "ping",       "quit",        "reset",        NULL};
    for (int i = 0; ok[i]; i++)
        if (strcmp(spec->name, ok[i]) == 0) return 1;
    return 0;
}

static const char *check_pubsub(cmd_ctx *c, char *msg, size_t cap) {
    if (!(c->s->flags & SESS_PUBSUB) || c->s->proto != 2) return NULL;
    if (!c->parent && allowed_in_subscribe_mode(c->cmd)) return NULL;
    snprintf(msg, cap,
             "ERR Can't execute '%s%s%s': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / "
             "RESET are allowed in this context",
             c->parent ? c->parent->name : "", c->parent ? "|" : "", c->cmd->name);
    return msg;
}

const cmd_gate cmd_gate_pubsub = {
    .name = "pubsub", .order = CMD_GATE_PUBSUB, .armed = &pubsub_sessions, .check = check_pubsub};
