/* registry_int: helpers shared inside cmd/ between the registry and the reply helpers. */
#ifndef MAYFLY_CMD_REGISTRY_INT_H
#define MAYFLY_CMD_REGISTRY_INT_H

#include <stddef.h>

/* Counts one error reply under its code (the first word of msg) for INFO errorstats. */
void registry_count_error(const char *msg, size_t len);

struct cmd_spec;
/* Writes Redis's arity error for cmd (a subcommand of parent, or top level when parent is
 * NULL): "ERR wrong number of arguments for 'config|get' command". */
void registry_arity_message(const struct cmd_spec *parent, const struct cmd_spec *cmd, char *out,
                            size_t cap);

#endif
