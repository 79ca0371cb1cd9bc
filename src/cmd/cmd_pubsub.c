/* cmd_pubsub: placeholder family; pub/sub arrives with its issue. */
#include "cmd/cmd.h"

void pubsub_session_free(session *s) { (void)s; }

const cmd_spec cmd_family_pubsub[] = {
    {0},
};
