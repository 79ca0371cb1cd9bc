/* cmd_command: COMMAND and its subcommands (minimal until the docs generator lands). */
#include "cmd/cmd.h"

static void command_count(cmd_ctx *c) { reply_int(c, (long long)cmd_count()); }

static void command_docs(cmd_ctx *c) { reply_map(c, 0); }

static const cmd_spec command_subcmds[] = {
    {"count", command_count, 2, CMD_LOADING | CMD_STALE, 0, 0, 0, "server", "2.8.13", "O(1)",
     "Returns a count of commands.", "", NULL, "@slow @connection"},
    {"docs", command_docs, -2, CMD_LOADING | CMD_STALE, 0, 0, 0, "server", "7.0.0",
     "O(N) where N is the number of commands to look up",
     "Returns documentary information about one, multiple or all commands.",
     "[command-name [command-name ...]]", NULL, "@slow @connection"},
    {0},
};

const cmd_spec cmd_family_command[] = {
    {"command", command_count, -1, CMD_LOADING | CMD_STALE, 0, 0, 0, "server", "2.8.13",
     "O(N) where N is the total number of Redis commands",
     "Returns detailed information about all commands.", "", command_subcmds,
     "@slow @connection"},
    {0},
};
