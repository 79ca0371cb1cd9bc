/* cmd_hash: placeholder family; its commands arrive with their issue. */
#include "cmd/cmd.h"

const cmd_spec cmd_family_hash[] = {
    {0},
};
