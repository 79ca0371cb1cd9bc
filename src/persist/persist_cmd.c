/* persist_cmd: the persistence commands SAVE, BGSAVE, LASTSAVE, BGREWRITEAOF, a command
 * family of persist/ that server.c adds to the table. Each persist_* call returns 0 with a
 * status text or a negative code with an error text, which are Redis's replies. */
#include "mayfly/cmd/cmd.h"
#include "mayfly/persist/persist.h"

static void reply_outcome(cmd_ctx *c, int rc, const char *msg) {
    if (rc < 0)
        reply_error(c, msg);
    else
        reply_simple(c, msg);
}

static void cmd_save(cmd_ctx *c) {
    const char *msg;
    int rc = persist_save(&msg);
    reply_outcome(c, rc, msg);
}

static void cmd_bgsave(cmd_ctx *c) {
    int schedule = 0;
    if (c->argc == 2) {
        if (!slice_eq_ci(c->argv[1], "SCHEDULE")) {
            reply_syntax_error(c);
            return;
        }
        schedule = 1;
    } else if (c->argc > 2) {
        reply_syntax_error(c);
        return;
    }
    const char *msg;
    int rc = persist_bgsave(schedule, &msg);
    reply_outcome(c, rc, msg);
}

static void cmd_bgrewriteaof(cmd_ctx *c) {
    const char *msg;
    int rc = persist_bgrewriteaof(&msg);
    reply_outcome(c, rc, msg);
}

static void cmd_lastsave(cmd_ctx *c) {
    reply_int(c, persist_lastsave());
}

#define ADMIN (CMD_ADMIN | CMD_NOSCRIPT)

const cmd_spec persist_commands[] = {
    {"save", cmd_save, 1, ADMIN | CMD_NO_MULTI, 0, 0, 0, "server", "1.0.0",
     "O(N) where N is the total number of keys in all databases",
     "Synchronously saves the database(s) to disk.", "", NULL, "@admin @slow @dangerous"},
    {"bgsave", cmd_bgsave, -1, ADMIN, 0, 0, 0, "server", "1.0.0", "O(1)",
     "Asynchronously saves the database(s) to disk.", "[SCHEDULE]", NULL,
     "@admin @slow @dangerous"},
    {"bgrewriteaof", cmd_bgrewriteaof, 1, ADMIN, 0, 0, 0, "server", "1.0.0", "O(1)",
     "Asynchronously rewrites the append-only file to disk.", "", NULL, "@admin @slow @dangerous"},
    {"lastsave", cmd_lastsave, 1, CMD_LOADING | CMD_STALE | CMD_FAST, 0, 0, 0, "server", "1.0.0",
     "O(1)", "Returns the Unix timestamp of the last successful save to disk.", "", NULL,
     "@admin @fast @dangerous"},
    {0},
};
