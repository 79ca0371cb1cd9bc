/* cmd_multi: placeholder family; MULTI/EXEC arrive with the keyspace issue. */
#include "cmd/multi.h"

int multi_queue_if_needed(cmd_ctx *c) {
    (void)c;
    return 0;
}

void multi_flag_error(session *s) { (void)s; }

void multi_session_free(session *s) { (void)s; }

const cmd_spec cmd_family_multi[] = {
    {0},
};
