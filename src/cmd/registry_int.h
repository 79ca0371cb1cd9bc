/* registry_int: helpers shared inside cmd/ between the registry and the reply helpers. */
#ifndef MAYFLY_CMD_REGISTRY_INT_H
#define MAYFLY_CMD_REGISTRY_INT_H

#include <stddef.h>

/* Counts one error reply under its code (the first word of msg) for INFO errorstats. */
void registry_count_error(const char *msg, size_t len);

#endif
