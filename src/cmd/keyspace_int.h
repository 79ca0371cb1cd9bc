/* keyspace_int: helpers shared by the keyspace command families (cmd_keys.c, cmd_ttl.c,
 * cmd_string.c, cmd_multi.c). Internal to cmd/. */
#ifndef MAYFLY_CMD_KEYSPACE_INT_H
#define MAYFLY_CMD_KEYSPACE_INT_H

#include "mayfly/cmd/cmd.h"
#include "mayfly/db/db.h"
#include "mayfly/types/string.h"

/* Lookup flags for a read by this client: CLIENT NO-TOUCH leaves access times alone. */
static inline unsigned ks_read_flags(const cmd_ctx *c) {
    return (c->s->flags & SESS_NO_TOUCH) ? DB_LOOKUP_NOTOUCH : 0;
}

/* A write command found e: the access counts for LRU/LFU as a read does (Redis's
 * lookupKeyWrite), unless the client is CLIENT NO-TOUCH. */
static inline void ks_write_access(const cmd_ctx *c, dbentry *e) {
    if (e && !(c->s->flags & SESS_NO_TOUCH)) db_accessed(e, c->now_ms);
}

/* Redis's addReplyErrorExpireTime: "ERR invalid expire time in '<cmd>' command". */
static inline void ks_reply_expire_error(cmd_ctx *c) {
    if (c->parent)
        reply_errorf(c, "ERR invalid expire time in '%s|%s' command", c->parent->name,
                     c->cmd->name);
    else
        reply_errorf(c, "ERR invalid expire time in '%s' command", c->cmd->name);
}

/* Writes Redis's help reply: a header naming the command, the lines (NULL-terminated), and
 * the HELP entry (OBJECT HELP, MEMORY HELP; cmd_keys.c). */
void reply_help_lines(cmd_ctx *c, const char *cmd, const char *const *lines);

/* Looks up key for reading. Returns 0 with *out = the string (NULL if the key is absent),
 * or -1 after replying WRONGTYPE. */
static inline int ks_read_string(cmd_ctx *c, slice key, dbentry **out) {
    dbentry *e = db_lookup(c->db, key, c->now_ms, ks_read_flags(c));
    if (e && e->val->type != OBJ_STRING) {
        reply_wrongtype(c);
        return -1;
    }
    *out = e;
    return 0;
}

#endif
