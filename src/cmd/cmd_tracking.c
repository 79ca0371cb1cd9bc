/* cmd_tracking: CLIENT TRACKING, CACHING, GETREDIR and TRACKINGINFO (client-side caching),
 * after Redis's clientCommand. The state and the invalidations are client/tracking.c's;
 * this file parses and checks the options with Redis's error texts. Dispatch
 * (registry.c) reports the keys read-only commands read (tracking_remember_keys). */
#include "cmd/conn_int.h"
#include "mayfly/client/tracking.h"
#include "mayfly/util/mem.h"
#include "mayfly/util/strconv.h"

#include <string.h>

typedef struct tracking_args {
    long long redirect;
    uint32_t options;
    slice *prefixes;
    size_t nprefix;
} tracking_args;

/* Parses argv[3..]: 0, or -1 with the error replied. */
static int parse_tracking_args(cmd_ctx *c, tracking_args *a) {
    for (int j = 3; j < c->argc; j++) {
        slice v = c->argv[j];
        int more = c->argc - 1 - j;
        if (slice_eq_ci(v, "redirect") && more) {
            j++;
            if (a->redirect != 0) {
                reply_error(c, "ERR A client can only redirect to a single other client");
                return -1;
            }
            if (str_to_ll(c->argv[j].p, c->argv[j].len, &a->redirect) < 0) {
                reply_error(c, ERR_NOT_INT);
                return -1;
            }
            if (a->redirect <= 0 || !session_by_id((uint64_t)a->redirect)) {
                reply_error(c, "ERR The client ID you want redirect to does not exist");
                return -1;
            }
        } else if (slice_eq_ci(v, "bcast")) {
            a->options |= SESS_TRACK_BCAST;
        } else if (slice_eq_ci(v, "optin")) {
            a->options |= SESS_TRACK_OPTIN;
        } else if (slice_eq_ci(v, "optout")) {
            a->options |= SESS_TRACK_OPTOUT;
        } else if (slice_eq_ci(v, "noloop")) {
            a->options |= SESS_TRACK_NOLOOP;
        } else if (slice_eq_ci(v, "prefix") && more) {
            j++;
            a->prefixes = mem_realloc(a->prefixes, (a->nprefix + 1) * sizeof(slice));
            a->prefixes[a->nprefix++] = c->argv[j];
        } else {
            reply_syntax_error(c);
            return -1;
        }
    }
    return 0;
}

/* The checks of CLIENT TRACKING ON: NULL if a may be applied, else the error text. */
static const char *check_tracking_on(const session *s, const tracking_args *a) {
    uint32_t o = a->options;
    if (!(o & SESS_TRACK_BCAST) && a->nprefix)
        return "ERR PREFIX option requires BCAST mode to be enabled";
    if ((s->flags & SESS_TRACKING) &&
        ((s->flags & SESS_TRACK_BCAST) != 0) != ((o & SESS_TRACK_BCAST) != 0))
        return "ERR You can't switch BCAST mode on/off before disabling tracking for this "
               "client, and then re-enabling it with a different mode.";
    if ((o & SESS_TRACK_BCAST) && (o & (SESS_TRACK_OPTIN | SESS_TRACK_OPTOUT)))
        return "ERR OPTIN and OPTOUT are not compatible with BCAST";
    if ((o & SESS_TRACK_OPTIN) && (o & SESS_TRACK_OPTOUT))
        return "ERR You can't specify both OPTIN mode and OPTOUT mode";
    if (((o & SESS_TRACK_OPTIN) && (s->flags & SESS_TRACK_OPTOUT)) ||
        ((o & SESS_TRACK_OPTOUT) && (s->flags & SESS_TRACK_OPTIN)))
        return "ERR You can't switch OPTIN/OPTOUT mode before disabling tracking for this "
               "client, and then re-enabling it with a different mode.";
    return NULL;
}

void client_tracking(cmd_ctx *c) {
    tracking_args a = {0};
    if (parse_tracking_args(c, &a) < 0) goto out;
    if (slice_eq_ci(c->argv[2], "on")) {
        const char *err = check_tracking_on(c->s, &a);
        if (err) {
            reply_error(c, err);
            goto out;
        }
        char msg[1024];
        if ((a.options & SESS_TRACK_BCAST) &&
            tracking_check_prefixes(c->s, a.prefixes, a.nprefix, msg, sizeof(msg))) {
            reply_error(c, msg);
            goto out;
        }
        tracking_enable(c->s, (uint64_t)a.redirect, a.options, a.prefixes, a.nprefix);
    } else if (slice_eq_ci(c->argv[2], "off")) {
        tracking_disable(c->s);
    } else {
        reply_syntax_error(c);
        goto out;
    }
    reply_ok(c);
out:
    mem_free(a.prefixes);
}

void client_caching(cmd_ctx *c) {
    session *s = c->s;
    if (!(s->flags & SESS_TRACKING)) {
        reply_error(c, "ERR CLIENT CACHING can be called only when the client is in tracking "
                       "mode with OPTIN or OPTOUT mode enabled");
        return;
    }
    slice v = c->argv[2];
    if (slice_eq_ci(v, "yes")) {
        if (!(s->flags & SESS_TRACK_OPTIN)) {
            reply_error(c, "ERR CLIENT CACHING YES is only valid when tracking is enabled in "
                           "OPTIN mode.");
            return;
        }
    } else if (slice_eq_ci(v, "no")) {
        if (!(s->flags & SESS_TRACK_OPTOUT)) {
            reply_error(c, "ERR CLIENT CACHING NO is only valid when tracking is enabled in "
                           "OPTOUT mode.");
            return;
        }
    } else {
        reply_syntax_error(c);
        return;
    }
    s->flags |= SESS_TRACK_CACHING;
    reply_ok(c);
}

long long client_tracking_redir(const session *s) {
    return (s->flags & SESS_TRACKING) ? (long long)tracking_redirect(s) : -1;
}

size_t client_tracking_flags(const session *s, char *out) {
    size_t n = 0;
    if (s->flags & SESS_TRACKING) out[n++] = 't';
    if (s->flags & SESS_TRACK_BROKEN) out[n++] = 'R';
    if (s->flags & SESS_TRACK_BCAST) out[n++] = 'B';
    return n;
}

void client_getredir(cmd_ctx *c) {
    reply_int(c, client_tracking_redir(c->s));
}

void client_trackinginfo(cmd_ctx *c) {
    static const struct {
        uint32_t flag, needs;
        const char *name;
    } names[] = {
        {SESS_TRACK_BCAST, 0, "bcast"},
        {SESS_TRACK_OPTIN, 0, "optin"},
        {SESS_TRACK_CACHING, SESS_TRACK_OPTIN, "caching-yes"},
        {SESS_TRACK_OPTOUT, 0, "optout"},
        {SESS_TRACK_CACHING, SESS_TRACK_OPTOUT, "caching-no"},
        {SESS_TRACK_NOLOOP, 0, "noloop"},
        {SESS_TRACK_BROKEN, 0, "broken_redirect"},
    };
    const session *s = c->s;
    const char *flags[8];
    size_t nflags = 0;
    flags[nflags++] = (s->flags & SESS_TRACKING) ? "on" : "off";
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        if (!(s->flags & names[i].flag)) continue;
        if (names[i].needs && !(s->flags & names[i].needs)) continue;
        flags[nflags++] = names[i].name;
    }
    reply_map(c, 3);
    reply_bulk_cstr(c, "flags");
    reply_set(c, nflags);
    for (size_t i = 0; i < nflags; i++)
        reply_bulk_cstr(c, flags[i]);
    reply_bulk_cstr(c, "redirect");
    reply_int(c, client_tracking_redir(s));
    reply_bulk_cstr(c, "prefixes");
    size_t np = tracking_prefix_count(s);
    reply_array(c, np);
    for (size_t i = 0; i < np; i++)
        reply_bulk_slice(c, tracking_prefix_at(s, i));
}
