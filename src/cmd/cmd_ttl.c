/* cmd_ttl: key TTL commands (EXPIRE PEXPIRE EXPIREAT PEXPIREAT TTL PTTL EXPIRETIME
 * PEXPIRETIME PERSIST), after Redis's expire.c.
 *
 * Deadlines are absolute Unix milliseconds. EXPIRE-family times may be negative; the
 * conversion to an absolute time is checked for overflow ("invalid expire time in '...'
 * command"), and a deadline at or before now deletes the key at once (reply 1), as Redis
 * does on a primary. The NX/XX/GT/LT conditions treat "no TTL" as an infinite TTL. */
#include "cmd/keyspace_int.h"
#include "cmd/opt_int.h"
#include "mayfly/client/notify.h"
#include "mayfly/cmd/cmd.h"
#include "mayfly/cmd/propagate.h"

#include <limits.h>

#define EXP_NX (1u << 0)
#define EXP_XX (1u << 1)
#define EXP_GT (1u << 2)
#define EXP_LT (1u << 3)

/* Parses NX|XX|GT|LT from argv[3...]; replies and returns -1 on error. */
static int parse_expire_flags(cmd_ctx *c, unsigned *flags) {
    *flags = 0;
    for (int j = 3; j < c->argc; j++) {
        enum opt_token t = opt_token(c->argv[j]);
        if (!opt_is_condition(t)) {
            reply_errorf(c, "ERR Unsupported option %.*s", (int)c->argv[j].len, c->argv[j].p);
            return -1;
        }
        *flags |= t == OPT_NX ? EXP_NX : t == OPT_XX ? EXP_XX : t == OPT_GT ? EXP_GT : EXP_LT;
    }
    if ((*flags & EXP_NX) && (*flags & (EXP_XX | EXP_GT | EXP_LT))) {
        reply_error(c, "ERR NX and XX, GT or LT options at the same time are not compatible");
        return -1;
    }
    if ((*flags & EXP_GT) && (*flags & EXP_LT)) {
        reply_error(c, "ERR GT and LT options at the same time are not compatible");
        return -1;
    }
    return 0;
}

/* 1 if the NX/XX/GT/LT conditions allow replacing current (0 = no TTL) by when. */
static int expire_allowed(unsigned flags, int64_t current, long long when) {
    if ((flags & EXP_NX) && current != 0) return 0;
    if ((flags & EXP_XX) && current == 0) return 0;
    if ((flags & EXP_GT) && (current == 0 || when <= current)) return 0;
    if ((flags & EXP_LT) && current != 0 && when >= current) return 0;
    return 1;
}

/* EXPIRE (t = OPT_EX), PEXPIRE (PX), EXPIREAT (EXAT), PEXPIREAT (PXAT). */
static void expire_generic(cmd_ctx *c, enum opt_token t) {
    unsigned flags;
    long long when;
    if (parse_expire_flags(c, &flags) < 0) return;
    if (arg_ll(c, c->argv[2], &when) < 0) return;
    if (opt_deadline(t, when, c->now_ms, LLONG_MAX, &when) < 0) {
        ks_reply_expire_error(c);
        return;
    }
    dbentry *e = db_find(c->db, c->argv[1], c->now_ms);
    if (!e || !expire_allowed(flags, db_entry_expire(e), when)) {
        reply_int(c, 0);
        return;
    }
    /* The log gets the effect: DEL, or the absolute PEXPIREAT. */
    int deleted = when <= c->now_ms;
    if (deleted) {
        db_delete_entry(c->db, e);
        propagate_del(c, c->argv[1]);
    } else {
        db_entry_done(db_set_expire(c->db, e, when));
        propagate_pexpireat(c, c->argv[1], when);
    }
    db_touch(c->db, c->argv[1]);
    notify_keyspace_event(NOTIFY_GENERIC, deleted ? "del" : "expire", c->argv[1], c->db->id);
    reply_int(c, 1);
}

static void cmd_expire(cmd_ctx *c) {
    expire_generic(c, OPT_EX);
}
static void cmd_pexpire(cmd_ctx *c) {
    expire_generic(c, OPT_PX);
}
static void cmd_expireat(cmd_ctx *c) {
    expire_generic(c, OPT_EXAT);
}
static void cmd_pexpireat(cmd_ctx *c) {
    expire_generic(c, OPT_PXAT);
}

/* TTL, PTTL, EXPIRETIME, PEXPIRETIME: -2 for a missing key, -1 without a TTL. */
static void ttl_generic(cmd_ctx *c, int ms, int absolute) {
    dbentry *e = db_lookup(c->db, c->argv[1], c->now_ms, DB_LOOKUP_NOTOUCH);
    if (!e) {
        reply_int(c, -2);
        return;
    }
    if (db_entry_expire(e) == 0) {
        reply_int(c, -1);
        return;
    }
    long long ttl = absolute ? db_entry_expire(e) : db_entry_expire(e) - c->now_ms;
    if (ttl < 0) ttl = 0;
    /* Rounded to the nearest second as Redis's (ttl + 500) / 1000, without its overflow
     * for a deadline near INT64_MAX (PXAT 9223372036854775807). */
    reply_int(c, ms ? ttl : ttl / 1000 + (ttl % 1000 >= 500));
}

static void cmd_ttl(cmd_ctx *c) {
    ttl_generic(c, 0, 0);
}
static void cmd_pttl(cmd_ctx *c) {
    ttl_generic(c, 1, 0);
}
static void cmd_expiretime(cmd_ctx *c) {
    ttl_generic(c, 0, 1);
}
static void cmd_pexpiretime(cmd_ctx *c) {
    ttl_generic(c, 1, 1);
}

static void cmd_persist(cmd_ctx *c) {
    dbentry *e = db_find(c->db, c->argv[1], c->now_ms);
    if (!e || db_entry_expire(e) == 0) {
        reply_int(c, 0);
        return;
    }
    db_entry_done(db_set_expire(c->db, e, 0));
    db_touch(c->db, c->argv[1]);
    notify_keyspace_event(NOTIFY_GENERIC, "persist", c->argv[1], c->db->id);
    reply_int(c, 1);
}

#define EXPIRE_SYNTAX(t) "key " t " [NX | XX | GT | LT]"

const cmd_spec cmd_family_ttl[] = {
    {"expire", cmd_expire, -3, CMD_WRITE | CMD_FAST, 1, 1, 1, "generic", "1.0.0", "O(1)",
     "Sets the expiration time of a key in seconds.", EXPIRE_SYNTAX("seconds"), NULL,
     "@keyspace @write @fast", KS_RW | KS_UPDATE},
    {"pexpire", cmd_pexpire, -3, CMD_WRITE | CMD_FAST, 1, 1, 1, "generic", "2.6.0", "O(1)",
     "Sets the expiration time of a key in milliseconds.", EXPIRE_SYNTAX("milliseconds"), NULL,
     "@keyspace @write @fast", KS_RW | KS_UPDATE},
    {"expireat", cmd_expireat, -3, CMD_WRITE | CMD_FAST, 1, 1, 1, "generic", "1.2.0", "O(1)",
     "Sets the expiration time of a key to a Unix timestamp.", EXPIRE_SYNTAX("unix-time-seconds"),
     NULL, "@keyspace @write @fast", KS_RW | KS_UPDATE},
    {"pexpireat", cmd_pexpireat, -3, CMD_WRITE | CMD_FAST, 1, 1, 1, "generic", "2.6.0", "O(1)",
     "Sets the expiration time of a key to a Unix milliseconds timestamp.",
     EXPIRE_SYNTAX("unix-time-milliseconds"), NULL, "@keyspace @write @fast", KS_RW | KS_UPDATE},
    {"ttl", cmd_ttl, 2, CMD_READONLY | CMD_FAST, 1, 1, 1, "generic", "1.0.0", "O(1)",
     "Returns the expiration time in seconds of a key.", "key", NULL, "@keyspace @read @fast",
     KS_RO | KS_ACCESS},
    {"pttl", cmd_pttl, 2, CMD_READONLY | CMD_FAST, 1, 1, 1, "generic", "2.6.0", "O(1)",
     "Returns the expiration time in milliseconds of a key.", "key", NULL, "@keyspace @read @fast",
     KS_RO | KS_ACCESS},
    {"expiretime", cmd_expiretime, 2, CMD_READONLY | CMD_FAST, 1, 1, 1, "generic", "7.0.0", "O(1)",
     "Returns the expiration time of a key as a Unix timestamp.", "key", NULL,
     "@keyspace @read @fast", KS_RO | KS_ACCESS},
    {"pexpiretime", cmd_pexpiretime, 2, CMD_READONLY | CMD_FAST, 1, 1, 1, "generic", "7.0.0",
     "O(1)", "Returns the expiration time of a key as a Unix milliseconds timestamp.", "key", NULL,
     "@keyspace @read @fast", KS_RO | KS_ACCESS},
    {"persist", cmd_persist, 2, CMD_WRITE | CMD_FAST, 1, 1, 1, "generic", "2.2.0", "O(1)",
     "Removes the expiration time of a key.", "key", NULL, "@keyspace @write @fast",
     KS_RW | KS_UPDATE},
    {0},
};
