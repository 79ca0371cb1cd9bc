/* redirect: the cluster's redirect gate, Redis's getNodeByQuery + clusterRedirectClient.
 *
 * Every key of the command must hash to one slot (-CROSSSLOT); the slot's master answers,
 * others redirect (-MOVED slot ip:port); a slot being migrated away sends clients on (-ASK)
 * for keys no longer here, or -TRYAGAIN when only some keys of a multi-key command are; a
 * slot being imported serves a client that sent ASKING; a down cluster refuses
 * (-CLUSTERDOWN) unless reads are allowed. Texts and order are Redis's. The gate is armed
 * only in cluster mode, so a standalone server never walks it. */
#include "cluster/cluster_int.h"
#include "mayfly/cmd/cmd.h"
#include "mayfly/config.h"
#include "mayfly/db/db.h"
#include "mayfly/util/armed.h"

#include <stdio.h>
#include <string.h>

static int gate_armed;

typedef struct route {
    int slot;
    cluster_node *n;
    slice first; /* the first key */
    int migrating, importing, multiple, missing, existing;
    int64_t now_ms;
    const char *err; /* CLUSTERDOWN / CROSSSLOT, or NULL */
} route;

/* Adds the keys of one command (keys: their positions in argv) to r; returns the error
 * text or NULL (r->n stays NULL while no key was seen). */
static const char *route_add(route *r, const slice *argv, const cmd_key_list *keys) {
    db *d = db_get(0);
    for (int i = 0; i < keys->n; i++) {
        slice k = argv[keys->v[i].pos];
        int slot = cluster_keyslot(k.p, k.len);
        if (!r->n) {
            r->slot = slot;
            r->first = k;
            r->n = cl.slots[slot];
            if (!r->n) return "CLUSTERDOWN Hash slot not served";
            if (r->n == cl.myself && cl.migrating_to[slot])
                r->migrating = 1;
            else if (cl.importing_from[slot])
                r->importing = 1;
        } else if (slot != r->slot) {
            return "CROSSSLOT Keys in request don't hash to the same slot";
        } else if (r->importing && !slice_eq(k, r->first)) {
            r->multiple = 1;
        }
        if (r->migrating || r->importing) {
            dbentry *e = db_find_raw(d, k);
            if (e && db_entry_live(e, r->now_ms))
                r->existing++;
            else
                r->missing++;
        }
    }
    return NULL;
}

/* cmd_multi_foreach's visitor: one queued command's keys into the route. */
static int route_queued(const cmd_spec *cmd, int argc, const slice *argv, void *ctx) {
    route *r = ctx;
    cmd_key_list keys;
    cmd_key_list_init(&keys);
    if (cmd_get_keys(cmd, argc, argv, &keys) > 0) r->err = route_add(r, argv, &keys);
    cmd_key_list_deinit(&keys);
    return r->err != NULL;
}

/* The slot and node of c's keys or, for EXEC, of every queued command's keys together (as
 * Redis's getNodeByQuery); returns an error text or NULL (r->n NULL: no keys). */
static const char *route_keys(cmd_ctx *c, route *r) {
    r->now_ms = c->now_ms;
    if (cmd_is_exec(c->cmd)) {
        cmd_multi_foreach(c->s, route_queued, r);
        return r->err;
    }
    const cmd_key_list *keys = cmd_ctx_keys(c);
    return keys ? route_add(r, c->argv, keys) : NULL;
}

/* A down cluster serves nothing, or reads only (cluster-allow-reads-when-down). */
static const char *down_refusal(const cmd_ctx *c) {
    if (cl.state == CLUSTER_OK) return NULL;
    if (!cluster_cfg.allow_reads_when_down) return "CLUSTERDOWN The cluster is down";
    if (c->flags & CMD_WRITE)
        return "CLUSTERDOWN The cluster is down and only accepts read commands";
    return NULL;
}

/* Redis's getNodeByQuery for c (exec: EXEC of a transaction, judged on all its queued
 * commands): NULL to serve it here, else the error or redirection text. */
static const char *redirect_error(cmd_ctx *c, int exec, int asking, char *msg, size_t cap) {
    session *s = c->s;
    if (!exec && !cmd_has_keys(c->cmd)) return NULL;
    route r = {0};
    const char *err = route_keys(c, &r);
    if (err) return err;
    if (!r.n) return NULL;
    const char *down = down_refusal(c);
    if (down) return down;
    /* MIGRATE works here while the slot is open, to move keys freely (Redis's rule). */
    if ((r.migrating || r.importing) && c->cmd->fn == cluster_cmd_migrate) return NULL;
    cluster_node *to = r.n;
    const char *kind = "MOVED";
    if (r.migrating && r.missing) {
        if (r.existing) return "TRYAGAIN Multiple keys request during rehashing of slot";
        to = cl.migrating_to[r.slot];
        kind = "ASK";
    } else if (r.importing && asking) {
        if (r.multiple && r.missing)
            return "TRYAGAIN Multiple keys request during rehashing of slot";
        return NULL;
    } else if ((s->flags & SESS_READONLY) && !(c->flags & CMD_WRITE) &&
               (cl.myself->flags & CN_SLAVE) && cl.myself->master == r.n) {
        return NULL;
    }
    if (to == cl.myself) return NULL;
    int port = cluster_client_port(to, cluster_client_tls(c));
    snprintf(msg, cap, "%s %d %s:%d", kind, r.slot, cluster_node_endpoint(to), port);
    return msg;
}

/* Whether the ASKING flag outlives c (Redis clears it after each command, except ASKING
 * itself and while a transaction is open: ASKING, MULTI, ..., EXEC routes the EXEC). */
static int asking_survives(const cmd_ctx *c, int exec) {
    if (strcmp(c->cmd->name, "asking") == 0 || strcmp(c->cmd->name, "multi") == 0) return 1;
    return (c->s->flags & SESS_MULTI) && !exec && strcmp(c->cmd->name, "discard") != 0;
}

/* The gate. ASKING holds for the next command, or through a transaction to its EXEC. A
 * refused EXEC gets the redirection itself (not EXECABORT) and its transaction is
 * discarded, as Redis's processCommand does. */
static const char *check_redirect(cmd_ctx *c, char *msg, size_t cap) {
    session *s = c->s;
    int asking = (s->flags & SESS_ASKING) != 0 || (c->flags & CMD_ASKING) != 0;
    int exec = cmd_is_exec(c->cmd) && (s->flags & SESS_MULTI);
    if (!asking_survives(c, exec)) s->flags &= ~SESS_ASKING;
    const char *err = redirect_error(c, exec, asking, msg, cap);
    if (err && exec) return cmd_gate_refuse_as_is(c, err);
    return err;
}

const cmd_gate cluster_gate_redirect = {
    .name = "cluster", .order = CMD_GATE_CLUSTER, .armed = &gate_armed, .check = check_redirect};

void cluster_gate_arm(void) {
    armed_set(&gate_armed, config.cluster_enabled && cl.myself);
}
