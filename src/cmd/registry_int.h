/* registry_int: helpers shared inside cmd/ between the registry and the reply helpers. */
#ifndef MAYFLY_CMD_REGISTRY_INT_H
#define MAYFLY_CMD_REGISTRY_INT_H

#include "mayfly/cmd/cmd.h"

#include <stddef.h>
#include <stdint.h>

/* Counts one error reply under its code (the first word of msg) for INFO errorstats. */
void registry_count_error(const char *msg, size_t len);

struct cmd_spec;
/* Writes Redis's arity error for cmd (a subcommand of parent, or top level when parent is
 * NULL): "ERR wrong number of arguments for 'config|get' command". */
void registry_arity_message(const struct cmd_spec *parent, const struct cmd_spec *cmd, char *out,
                            size_t cap);

/* Gates (gate.c): the table changed, so every command's cached gate mask is recomputed. */
void registry_gates_changed(void);
/* The mask of gates that concern a command with these CMD_* flags (bit i: rank i). */
uint32_t gate_mask(uint32_t flags);
/* Runs the gates of mask in order; NULL if all let the command through, else the first
 * refusal's text (or CMD_GATE_HANDLED). */
const char *gate_run(cmd_ctx *c, uint32_t mask, char *msg, size_t cap);

/* Frees what cmd_ctx_keys extracted for c (cmd_call and dispatch call it when done). */
void keyspec_release_ctx(cmd_ctx *c);

#endif
