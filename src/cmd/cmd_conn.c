/* cmd_conn: connection commands: PING ECHO QUIT RESET HELLO AUTH SELECT and CLIENT.
 *
 * These change the session (protocol, database, authentication, name, reply mode); none
 * touches the keyspace. */
#include "cmd/cmdacl_int.h"
#include "cmd/conn_int.h"
#include "cmd/multi_int.h"
#include "mayfly/acl/acl.h"
#include "mayfly/client/clientmem.h"
#include "mayfly/client/monitor.h"
#include "mayfly/client/pubsub.h"
#include "mayfly/client/tracking.h"
#include "mayfly/client/watch.h"
#include "mayfly/cmd/cmd.h"
#include "mayfly/cmd/host.h"
#include "mayfly/config.h"
#include "mayfly/db/db.h"
#include "mayfly/resp/resp.h"
#include "mayfly/util/clock.h"
#include "mayfly/util/mem.h"
#include "mayfly/util/strconv.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

static void cmd_ping(cmd_ctx *c) {
    if (c->argc > 2) {
        reply_arity_error(c);
        return;
    }
    if ((c->s->flags & SESS_PUBSUB) && c->proto == 2) {
        reply_array(c, 2);
        reply_bulk(c, "pong", 4);
        if (c->argc == 2)
            reply_bulk_slice(c, c->argv[1]);
        else
            reply_bulk(c, "", 0);
        return;
    }
    if (c->argc == 2)
        reply_bulk_slice(c, c->argv[1]);
    else
        reply_simple(c, "PONG");
}

static void cmd_echo(cmd_ctx *c) {
    reply_bulk_slice(c, c->argv[1]);
}

static void cmd_quit(cmd_ctx *c) {
    reply_ok(c);
    c->s->flags |= SESS_CLOSE_AFTER_REPLY;
}

static const char wrongpass[] = "WRONGPASS invalid username-password pair or user is disabled.";

/* AUTH <password> (the default user) or AUTH <username> <password>. */
static void cmd_auth(cmd_ctx *c) {
    if (c->argc > 3) {
        reply_syntax_error(c);
        return;
    }
    slice user = c->argc == 3 ? c->argv[1] : slice_of("default");
    slice pass = c->argv[c->argc - 1];
    if (c->argc == 2 && acl_user_nopass(acl_default_user())) {
        reply_error(c, "ERR AUTH <password> called without any password configured for the "
                       "default user. Are you sure your configuration is correct?");
        return;
    }
    if (cmd_acl_authenticate(c, user, pass) < 0) {
        reply_error(c, wrongpass);
        return;
    }
    reply_ok(c);
}

/* 1 if name is a valid client name or lib-name: printable ASCII without spaces. */
static int valid_client_name(slice name) {
    for (size_t i = 0; i < name.len; i++)
        if (name.p[i] < '!' || name.p[i] > '~') return 0;
    return 1;
}

static void set_name(session *s, slice name) {
    mem_free(s->name);
    s->name = name.len ? mem_strndup(name.p, name.len) : NULL;
}

static void cmd_hello(cmd_ctx *c) {
    long long ver = 0;
    int i = 1;
    if (c->argc >= 2) {
        if (str_to_ll(c->argv[1].p, c->argv[1].len, &ver) < 0) {
            reply_error(c, "ERR Protocol version is not an integer or out of range");
            return;
        }
        if (ver < 2 || ver > 3) {
            reply_error(c, "NOPROTO unsupported protocol version");
            return;
        }
        i = 2;
    }
    slice setname = {NULL, 0}, user = {NULL, 0}, pass = {NULL, 0};
    int has_setname = 0;
    for (; i < c->argc; i++) {
        int more = c->argc - i - 1;
        if (slice_eq_ci(c->argv[i], "AUTH") && more >= 2) {
            user = c->argv[i + 1]; /* the last AUTH wins, as in Redis */
            pass = c->argv[i + 2];
            i += 2;
        } else if (slice_eq_ci(c->argv[i], "SETNAME") && more >= 1) {
            setname = c->argv[i + 1];
            has_setname = 1;
            if (!valid_client_name(setname)) {
                reply_error(c, "ERR Client names cannot contain spaces, newlines or special "
                               "characters.");
                return;
            }
            i += 1;
        } else {
            reply_errorf(c, "ERR Syntax error in HELLO option '%.*s'", (int)c->argv[i].len,
                         c->argv[i].p);
            return;
        }
    }
    if (user.p && cmd_acl_authenticate(c, user, pass) < 0) {
        reply_error(c, wrongpass);
        return;
    }
    if (!c->s->authenticated) {
        reply_error(c, "NOAUTH HELLO must be called with the client already authenticated, "
                       "otherwise the HELLO <proto> AUTH <user> <pass> option can be used to "
                       "authenticate the client and select the RESP protocol version at the "
                       "same time");
        return;
    }
    if (has_setname) set_name(c->s, setname);
    if (ver) c->s->proto = c->proto = (int)ver;
    reply_map(c, 7);
    reply_bulk_cstr(c, "server");
    reply_bulk_cstr(c, "redis");
    reply_bulk_cstr(c, "version");
    reply_bulk_cstr(c, MAYFLY_REDIS_VERSION);
    reply_bulk_cstr(c, "proto");
    reply_int(c, c->s->proto);
    reply_bulk_cstr(c, "id");
    reply_int(c, (long long)c->s->id);
    reply_bulk_cstr(c, "mode");
    reply_bulk_cstr(c, "standalone");
    reply_bulk_cstr(c, "role");
    reply_bulk_cstr(c, host_stat.replica ? "replica" : "master");
    reply_bulk_cstr(c, "modules");
    reply_array(c, 0);
}

static void cmd_select(cmd_ctx *c) {
    long long id;
    if (arg_ll(c, c->argv[1], &id) < 0) return;
    if (config.cluster_enabled && id != 0) {
        reply_error(c, "ERR SELECT is not allowed in cluster mode");
        return;
    }
    if (id < 0 || id >= db_count()) {
        reply_error(c, "ERR DB index is out of range");
        return;
    }
    c->s->db_id = (int)id;
    c->s->db = c->db = db_get((int)id);
    reply_ok(c);
}

/* Commands from other families that RESET undoes: MULTI and subscriptions. */
static void cmd_reset(cmd_ctx *c) {
    session *s = c->s;
    multi_session_free(s);
    watch_clear(s);
    pubsub_session_free(s);
    tracking_disable(s);
    monitor_remove(s);
    s->flags &=
        ~(SESS_MULTI | SESS_DIRTY_CAS | SESS_DIRTY_EXEC | SESS_REPLY_OFF | SESS_REPLY_SKIP_NEXT |
          SESS_NO_EVICT | SESS_NO_TOUCH | SESS_PUBSUB | SESS_ASKING | SESS_READONLY);
    s->db_id = 0;
    s->db = c->db = db_get(0);
    s->proto = c->proto = 2;
    set_name(s, (slice){NULL, 0});
    cmd_acl_session_start(s);
    reply_simple(c, "RESET");
}

/* ---- CLIENT ---- */

void client_info_line(buf *b, const session *s, int64_t now_ms) {
    char flags[16];
    size_t nf = 0;
    if (s->flags & SESS_MONITOR) flags[nf++] = 'O';
    if (s->flags & SESS_REPLICA) flags[nf++] = 'S';
    if (s->flags & SESS_MASTER) flags[nf++] = 'M';
    if (s->flags & SESS_PUBSUB) flags[nf++] = 'P';
    if (s->flags & SESS_MULTI) flags[nf++] = 'x';
    if (s->flags & SESS_BLOCKED) flags[nf++] = 'b';
    nf += client_tracking_flags(s, flags + nf);
    if (nf == 0) flags[nf++] = 'N';
    flags[nf] = '\0';
    size_t qbuf = s->ops && s->ops->qbuf_len ? s->ops->qbuf_len(s) : 0;
    buf_printf(b,
               "id=%llu addr=%s laddr=%s fd=%d name=%s age=%lld idle=%lld flags=%s db=%d "
               "sub=%zu psub=%zu ssub=%zu multi=%lld watch=%zu qbuf=%zu qbuf-free=0 argv-mem=0 "
               "multi-mem=0 "
               "rbs=0 rbp=0 obl=%zu oll=%zu omem=%zu tot-mem=%zu events=r cmd=%s%s%s user=%s "
               "redir=%lld resp=%d lib-name=%s lib-ver=%s",
               (unsigned long long)s->id, s->addr, s->laddr, s->fd, s->name ? s->name : "",
               (long long)((now_ms - s->ctime_ms) / 1000),
               (long long)((now_ms - s->last_ms) / 1000), flags, s->db_id,
               pubsub_session_channels(s), pubsub_session_patterns(s),
               pubsub_session_shard_channels(s), multi_queued_count(s), watch_count(s), qbuf,
               session_obl(s), session_oll(s), session_omem(s), clientmem_of(s),
               s->last_cmd_parent ? s->last_cmd_parent : "", s->last_cmd_parent ? "|" : "",
               s->last_cmd ? s->last_cmd : "NULL", s->user ? acl_user_name(s->user) : "default",
               client_tracking_redir(s), s->proto, s->lib_name ? s->lib_name : "",
               s->lib_ver ? s->lib_ver : "");
}

static void client_id(cmd_ctx *c) {
    reply_int(c, (long long)c->s->id);
}

static void client_setname(cmd_ctx *c) {
    if (!valid_client_name(c->argv[2])) {
        reply_error(c, "ERR Client names cannot contain spaces, newlines or special characters.");
        return;
    }
    set_name(c->s, c->argv[2]);
    reply_ok(c);
}

static void client_getname(cmd_ctx *c) {
    if (c->s->name)
        reply_bulk_cstr(c, c->s->name);
    else
        reply_null(c);
}

static void client_setinfo(cmd_ctx *c) {
    slice attr = c->argv[2], val = c->argv[3];
    char **slot;
    if (slice_eq_ci(attr, "lib-name"))
        slot = &c->s->lib_name;
    else if (slice_eq_ci(attr, "lib-ver"))
        slot = &c->s->lib_ver;
    else {
        reply_errorf(c, "ERR Unrecognized option '%.*s'", (int)attr.len, attr.p);
        return;
    }
    if (!valid_client_name(val)) {
        reply_errorf(c, "ERR %.*s cannot contain spaces, newlines or special characters.",
                     (int)attr.len, attr.p);
        return;
    }
    mem_free(*slot);
    *slot = val.len ? mem_strndup(val.p, val.len) : NULL;
    reply_ok(c);
}

static void client_info(cmd_ctx *c) {
    buf b;
    buf_init(&b);
    client_info_line(&b, c->s, c->now_ms);
    buf_putc(&b, '\n');
    reply_verbatim(c, b.data, b.len);
    buf_deinit(&b);
}

/* Redis's client types (getClientType): what CLIENT LIST TYPE and CLIENT KILL TYPE pick. */
enum { CT_NORMAL, CT_PUBSUB, CT_REPLICA, CT_MASTER };

static int client_type(const session *s) {
    if (s->flags & SESS_MASTER) return CT_MASTER;
    if (s->flags & SESS_REPLICA) return CT_REPLICA;
    if (s->flags & SESS_PUBSUB) return CT_PUBSUB;
    return CT_NORMAL;
}

/* The type named t, or -1. */
static int client_type_by_name(slice t) {
    if (slice_eq_ci(t, "normal")) return CT_NORMAL;
    if (slice_eq_ci(t, "pubsub")) return CT_PUBSUB;
    if (slice_eq_ci(t, "replica") || slice_eq_ci(t, "slave")) return CT_REPLICA;
    if (slice_eq_ci(t, "master")) return CT_MASTER;
    return -1;
}

/* Whether CLIENT LIST shows s: want_type is TYPE's filter (-1: none), first_id the
 * argument index of ID's list (0: none). */
static int client_listed(const cmd_ctx *c, const session *s, int want_type, int first_id) {
    if (s->flags & SESS_INTERNAL) return 0;
    /* Killed or evicted: closed at the end of this loop turn, gone for Redis already
     * (freeClient runs at once there). */
    if ((s->flags & SESS_CLOSE_ASAP) && s != c->s) return 0;
    if (want_type >= 0 && want_type != client_type(s)) return 0;
    if (!first_id) return 1;
    for (int i = first_id; i < c->argc; i++) {
        long long id;
        str_to_ll(c->argv[i].p, c->argv[i].len, &id);
        if ((uint64_t)id == s->id) return 1;
    }
    return 0;
}

static void client_list(cmd_ctx *c) {
    int want_type = -1;
    int first_id = 0;
    if (c->argc >= 4 && slice_eq_ci(c->argv[2], "TYPE") && c->argc == 4) {
        slice t = c->argv[3];
        want_type = client_type_by_name(t);
        if (want_type < 0) {
            reply_errorf(c, "ERR Unknown client type '%.*s'", (int)t.len, t.p);
            return;
        }
    } else if (c->argc >= 4 && slice_eq_ci(c->argv[2], "ID")) {
        first_id = 3;
        for (int i = 3; i < c->argc; i++) {
            long long id;
            if (str_to_ll(c->argv[i].p, c->argv[i].len, &id) < 0 || id <= 0) {
                reply_error(c, "ERR Invalid client ID");
                return;
            }
        }
    } else if (c->argc != 2) {
        reply_syntax_error(c);
        return;
    }
    buf b;
    buf_init(&b);
    for (session *s = session_first(); s; s = s->next) {
        if (!client_listed(c, s, want_type, first_id)) continue;
        client_info_line(&b, s, c->now_ms);
        buf_putc(&b, '\n');
    }
    reply_verbatim(c, b.data ? b.data : "", b.len);
    buf_deinit(&b);
}

static void kill_session(cmd_ctx *c, session *s) {
    if (s == c->s)
        s->flags |= SESS_CLOSE_AFTER_REPLY;
    else if (s->ops && s->ops->kill)
        s->ops->kill(s);
}

static void client_kill(cmd_ctx *c) {
    if (c->argc == 3) { /* old form: CLIENT KILL addr:port */
        for (session *s = session_first(); s; s = s->next) {
            if (strlen(s->addr) == c->argv[2].len &&
                memcmp(s->addr, c->argv[2].p, c->argv[2].len) == 0) {
                kill_session(c, s);
                reply_ok(c);
                return;
            }
        }
        reply_error(c, "ERR No such client");
        return;
    }
    if ((c->argc - 2) % 2) {
        reply_syntax_error(c);
        return;
    }
    long long id = 0, maxage = 0;
    slice addr = {NULL, 0}, laddr = {NULL, 0}, user = {NULL, 0};
    int type = -1, skipme = 1;
    for (int i = 2; i < c->argc; i += 2) {
        slice k = c->argv[i], v = c->argv[i + 1];
        if (slice_eq_ci(k, "ID")) {
            if (str_to_ll(v.p, v.len, &id) < 0 || id <= 0) {
                reply_error(c, "ERR client-id should be greater than 0");
                return;
            }
        } else if (slice_eq_ci(k, "ADDR"))
            addr = v;
        else if (slice_eq_ci(k, "LADDR"))
            laddr = v;
        else if (slice_eq_ci(k, "USER")) {
            if (!acl_user_find(v)) {
                reply_errorf(c, "ERR No such user '%.*s'", (int)v.len, v.p);
                return;
            }
            user = v;
        } else if (slice_eq_ci(k, "MAXAGE")) {
            if (str_to_ll(v.p, v.len, &maxage) < 0) {
                reply_error(c, ERR_NOT_INT);
                return;
            }
        } else if (slice_eq_ci(k, "TYPE")) {
            type = client_type_by_name(v);
            if (type < 0) {
                reply_errorf(c, "ERR Unknown client type '%.*s'", (int)v.len, v.p);
                return;
            }
        } else if (slice_eq_ci(k, "SKIPME")) {
            if (slice_eq_ci(v, "yes"))
                skipme = 1;
            else if (slice_eq_ci(v, "no"))
                skipme = 0;
            else {
                reply_syntax_error(c);
                return;
            }
        } else {
            reply_syntax_error(c);
            return;
        }
    }
    long long killed = 0;
    for (session *s = session_first(); s; s = s->next) {
        if (s->flags & SESS_INTERNAL) continue;
        if (id && s->id != (uint64_t)id) continue;
        if (addr.p && !(strlen(s->addr) == addr.len && memcmp(s->addr, addr.p, addr.len) == 0))
            continue;
        if (laddr.p &&
            !(strlen(s->laddr) == laddr.len && memcmp(s->laddr, laddr.p, laddr.len) == 0))
            continue;
        if (user.p && s->user != acl_user_find(user)) continue;
        if (type >= 0 && type != client_type(s)) continue;
        if (maxage && (c->now_ms - s->ctime_ms) / 1000 < maxage) continue;
        if (skipme && s == c->s) continue;
        kill_session(c, s);
        killed++;
    }
    reply_int(c, killed);
}

static int on_off(cmd_ctx *c, slice v, int *out) {
    if (slice_eq_ci(v, "on"))
        *out = 1;
    else if (slice_eq_ci(v, "off"))
        *out = 0;
    else {
        reply_syntax_error(c);
        return -1;
    }
    return 0;
}

static void client_no_evict(cmd_ctx *c) {
    int on;
    if (on_off(c, c->argv[2], &on) < 0) return;
    if (on)
        c->s->flags |= SESS_NO_EVICT;
    else
        c->s->flags &= ~SESS_NO_EVICT;
    reply_ok(c);
}

static void client_no_touch(cmd_ctx *c) {
    int on;
    if (on_off(c, c->argv[2], &on) < 0) return;
    if (on)
        c->s->flags |= SESS_NO_TOUCH;
    else
        c->s->flags &= ~SESS_NO_TOUCH;
    reply_ok(c);
}

static void client_reply(cmd_ctx *c) {
    slice v = c->argv[2];
    if (slice_eq_ci(v, "ON")) {
        c->s->flags &= ~(SESS_REPLY_OFF | SESS_REPLY_SKIP_NEXT);
        /* The command's own reply was being discarded; write OK to the real buffer. */
        buf_append(&c->s->out, "+OK\r\n", 5);
    } else if (slice_eq_ci(v, "OFF")) {
        c->s->flags |= SESS_REPLY_OFF;
    } else if (slice_eq_ci(v, "SKIP")) {
        if (!(c->s->flags & SESS_REPLY_OFF)) c->s->flags |= SESS_REPLY_SKIP_NEXT;
    } else {
        reply_syntax_error(c);
    }
}

static void client_help(cmd_ctx *c) {
    static const char *const lines[] = {
        "CLIENT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "GETNAME",
        "    Return the name of the current connection.",
        "ID",
        "    Return the ID of the current connection.",
        "INFO",
        "    Return information about the current client connection.",
        "KILL <ip:port>",
        "    Kill connection made from <ip:port>.",
        "KILL <option> <value> [<option> <value> [...]]",
        "    Kill connections. Options are: ID, TYPE, USER, ADDR, LADDR, SKIPME, MAXAGE.",
        "LIST [options ...]",
        "    Return information about client connections. Options: TYPE, ID.",
        "NO-EVICT (ON|OFF)",
        "    Protect current client connection from eviction.",
        "NO-TOUCH (ON|OFF)",
        "    Will not touch LRU/LFU stats when this mode is on.",
        "UNPAUSE",
        "    Stop the current client pause, resuming traffic.",
        "PAUSE <timeout> [WRITE|ALL]",
        "    Suspend all, or just write, clients for <timeout> milliseconds.",
        "REPLY (ON|OFF|SKIP)",
        "    Control the replies sent to the current connection.",
        "SETNAME <name>",
        "    Assign the name <name> to the current connection.",
        "SETINFO <option> <value>",
        "    Set client meta attr. Options are: LIB-NAME, LIB-VER.",
        "CACHING (YES|NO)",
        "    Enable/disable tracking of the keys for next command in OPTIN/OPTOUT modes.",
        "GETREDIR",
        "    Return the client ID we are redirecting to when tracking is enabled.",
        "TRACKING (ON|OFF) [REDIRECT <id>] [BCAST] [PREFIX <prefix> [...]]",
        "         [OPTIN] [OPTOUT] [NOLOOP]",
        "    Control server assisted client side caching.",
        "TRACKINGINFO",
        "    Report tracking status for the current connection.",
        "HELP",
        "    Print this help.",
        NULL};
    reply_help(c, lines);
}

#define CONN_FLAGS (CMD_NOSCRIPT | CMD_LOADING | CMD_STALE)

static const cmd_spec client_subcmds[] = {
    {"id", client_id, 2, CONN_FLAGS, 0, 0, 0, "connection", "5.0.0", "O(1)",
     "Returns the unique client ID of the connection.", "", NULL, "@slow @connection"},
    {"setname", client_setname, 3, CONN_FLAGS, 0, 0, 0, "connection", "2.6.9", "O(1)",
     "Sets the connection name.", "connection-name", NULL, "@slow @connection"},
    {"getname", client_getname, 2, CONN_FLAGS, 0, 0, 0, "connection", "2.6.9", "O(1)",
     "Returns the name of the connection.", "", NULL, "@slow @connection"},
    {"setinfo", client_setinfo, 4, CONN_FLAGS, 0, 0, 0, "connection", "7.2.0", "O(1)",
     "Sets information specific to the client or connection.",
     "<attr: LIB-NAME libname|LIB-VER libver>", NULL, "@slow @connection"},
    {"info", client_info, 2, CONN_FLAGS, 0, 0, 0, "connection", "6.2.0", "O(1)",
     "Returns information about the connection.", "", NULL, "@slow @connection"},
    {"list", client_list, -2, CMD_ADMIN | CONN_FLAGS, 0, 0, 0, "connection", "2.4.0",
     "O(N) where N is the number of client connections", "Lists open connections.",
     "[TYPE <NORMAL|MASTER|REPLICA|PUBSUB>] [ID client-id [client-id ...]]", NULL,
     "@admin @slow @dangerous @connection"},
    {"kill", client_kill, -3, CMD_ADMIN | CONN_FLAGS, 0, 0, 0, "connection", "2.4.0",
     "O(N) where N is the number of client connections", "Terminates open connections.",
     "<filter: ip:port|new-format: [ID client-id] [TYPE <NORMAL|MASTER|SLAVE|REPLICA|PUBSUB>] "
     "[USER username] [ADDR ip:port] [LADDR ip:port] [SKIPME <YES|NO>] [MAXAGE maxage]>",
     NULL, "@admin @slow @dangerous @connection"},
    {"no-evict", client_no_evict, 3, CMD_ADMIN | CONN_FLAGS, 0, 0, 0, "connection", "7.0.0", "O(1)",
     "Sets the client eviction mode of the connection.", "<enabled: ON|OFF>", NULL,
     "@admin @slow @dangerous @connection"},
    {"no-touch", client_no_touch, 3, CONN_FLAGS, 0, 0, 0, "connection", "7.2.0", "O(1)",
     "Controls whether commands sent by the client affect the LRU/LFU of accessed keys.",
     "<enabled: ON|OFF>", NULL, "@slow @connection"},
    {"pause", client_pause, -3, CMD_ADMIN | CONN_FLAGS, 0, 0, 0, "connection", "3.0.0", "O(1)",
     "Suspends commands processing.", "timeout [mode: WRITE|ALL]", NULL,
     "@admin @slow @dangerous @connection"},
    {"unpause", client_unpause, 2, CMD_ADMIN | CONN_FLAGS, 0, 0, 0, "connection", "6.2.0",
     "O(N) Where N is the number of paused clients",
     "Resumes processing commands from paused clients.", "", NULL,
     "@admin @slow @dangerous @connection"},
    {"reply", client_reply, 3, CONN_FLAGS, 0, 0, 0, "connection", "3.2.0", "O(1)",
     "Instructs the server whether to reply to commands.", "<action: ON|OFF|SKIP>", NULL,
     "@slow @connection"},
    {"getredir", client_getredir, 2, CONN_FLAGS, 0, 0, 0, "connection", "6.0.0", "O(1)",
     "Returns the client ID to which the connection's tracking notifications are redirected.", "",
     NULL, "@slow @connection"},
    {"tracking", client_tracking, -3, CONN_FLAGS, 0, 0, 0, "connection", "6.0.0",
     "O(1). Some options may introduce additional complexity.",
     "Controls server-assisted client-side caching for the connection.",
     "<status: ON|OFF> [REDIRECT client-id] [PREFIX prefix [PREFIX prefix ...]] [BCAST] "
     "[OPTIN] [OPTOUT] [NOLOOP]",
     NULL, "@slow @connection"},
    {"caching", client_caching, 3, CONN_FLAGS, 0, 0, 0, "connection", "6.0.0", "O(1)",
     "Instructs the server whether to track the keys in the next request.", "<mode: YES|NO>", NULL,
     "@slow @connection"},
    {"trackinginfo", client_trackinginfo, 2, CONN_FLAGS, 0, 0, 0, "connection", "6.2.0", "O(1)",
     "Returns information about server-assisted client-side caching for the connection.", "", NULL,
     "@slow @connection"},
    {"help", client_help, 2, CMD_LOADING | CMD_STALE, 0, 0, 0, "connection", "5.0.0", "O(1)",
     "Returns helpful text about the different subcommands.", "", NULL, "@slow @connection"},
    {0},
};

const cmd_spec cmd_family_conn[] = {
    {"ping", cmd_ping, -1, CMD_FAST | CMD_MISCONF_DENY, 0, 0, 0, "connection", "1.0.0", "O(1)",
     "Returns the server's liveliness response.", "[message]", NULL, "@fast @connection"},
    {"echo", cmd_echo, 2, CMD_LOADING | CMD_STALE | CMD_FAST, 0, 0, 0, "connection", "1.0.0",
     "O(1)", "Returns the given string.", "message", NULL, "@fast @connection"},
    {"quit", cmd_quit, -1,
     CMD_ALLOW_BUSY | CMD_NO_AUTH | CMD_NOSCRIPT | CMD_LOADING | CMD_STALE | CMD_FAST, 0, 0, 0,
     "connection", "1.0.0", "O(1)", "Closes the connection.", "", NULL, "@fast @connection"},
    {"reset", cmd_reset, 1,
     CMD_NOSCRIPT | CMD_LOADING | CMD_STALE | CMD_FAST | CMD_NO_AUTH | CMD_ALLOW_BUSY, 0, 0, 0,
     "connection", "6.2.0", "O(1)", "Resets the connection.", "", NULL, "@fast @connection"},
    {"hello", cmd_hello, -1,
     CMD_NOSCRIPT | CMD_LOADING | CMD_STALE | CMD_FAST | CMD_NO_AUTH | CMD_ALLOW_BUSY, 0, 0, 0,
     "connection", "6.0.0", "O(1)", "Handshakes with the Redis server.",
     "[arguments: protover [AUTH username password] [SETNAME clientname]]", NULL,
     "@fast @connection"},
    {"auth", cmd_auth, -2,
     CMD_NOSCRIPT | CMD_LOADING | CMD_STALE | CMD_FAST | CMD_NO_AUTH | CMD_ALLOW_BUSY, 0, 0, 0,
     "connection", "1.0.0", "O(N) where N is the number of passwords defined for the user",
     "Authenticates the connection.", "[username] password", NULL, "@fast @connection"},
    {"select", cmd_select, 2, CMD_LOADING | CMD_STALE | CMD_FAST, 0, 0, 0, "connection", "1.0.0",
     "O(1)", "Changes the selected database.", "index", NULL, "@fast @connection"},
    {"client", NULL, -2, CMD_SKIP_SLOWLOG, 0, 0, 0, "connection", "2.4.0", "Depends on subcommand.",
     "A container for client connection commands.", "", client_subcmds, "@slow"},
    {0},
};
