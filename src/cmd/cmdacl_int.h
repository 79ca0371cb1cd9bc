/* cmdacl_int: what cmd/ shares about ACL between the registry, dispatch, MULTI/EXEC, the
 * connection commands and cmd_acl.c (the ACL commands and checks). */
#ifndef MAYFLY_CMD_CMDACL_INT_H
#define MAYFLY_CMD_CMDACL_INT_H

#include "mayfly/cmd/cmd.h"
#include "mayfly/util/buf.h"
#include "mayfly/util/slice.h"

struct acl_user;

/* Enters spec (a subcommand of parent, whose ACL id is parent_id, or top level when
 * parent is NULL) in the ACL catalog with its categories, keys and channels. Returns its
 * id, or -1. */
int cmd_acl_register(const cmd_spec *spec, const cmd_spec *parent, int parent_id);

/* Checks c's command against its session's user (c->acl_id). Returns ACL_OK or a denial
 * (acl.h) with *errpos the argument denied. */
int cmd_acl_check(cmd_ctx *c, int *errpos);
/* Records a denial of c's command in ACL LOG (object: the command, or the key or channel
 * at errpos). */
void cmd_acl_log(cmd_ctx *c, int result, int errpos, int context);
/* Records a failed AUTH / HELLO AUTH for user name in ACL LOG (object: argv[0]). */
void cmd_acl_log_auth(cmd_ctx *c, slice user);

/* Authenticates c's session as user/pass: 0 (the session's user and authentication set),
 * or -1 after the denial was logged. */
int cmd_acl_authenticate(cmd_ctx *c, slice user, slice pass);
/* The default user's state for a new or RESET session: 1 if it starts authenticated. */
int cmd_acl_starts_authenticated(void);

/* One CLIENT LIST line for s (cmd_conn.c), used for ACL LOG's client-info. */
void client_info_line(buf *b, const session *s, int64_t now_ms);

#endif
