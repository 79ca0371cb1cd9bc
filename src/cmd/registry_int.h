/* registry_int: helpers shared inside cmd/ between the registry and the reply helpers. */
#ifndef MAYFLY_CMD_REGISTRY_INT_H
#define MAYFLY_CMD_REGISTRY_INT_H

#include "mayfly/cmd/cmd.h"
#include "mayfly/cmd/gate.h"
#include "mayfly/util/armed.h"

#include <assert.h>
#include <stddef.h>
#include <stdint.h>

/* Counts one error reply under its code (the first word of msg) for INFO errorstats. */
void registry_count_error(const char *msg, size_t len);

struct cmd_spec;
/* Writes Redis's arity error for cmd (a subcommand of parent, or top level when parent is
 * NULL): "ERR wrong number of arguments for 'config|get' command". */
void registry_arity_message(const struct cmd_spec *parent, const struct cmd_spec *cmd, char *out,
                            size_t cap);

/* Replaces the secrets among a command's arguments (v, a copy of argv) by "(redacted)", as
 * Redis's redactClientCommandArgument: every argument of AUTH, HELLO's AUTH pair, MIGRATE's
 * AUTH password and AUTH2 user and password (before KEYS). name: the top-level command.
 * MONITOR and SLOWLOG show commands through it. */
void registry_redact_secrets(const char *name, int argc, slice *v);

/* Gates (gate.c): the table changed, so every command's cached gate mask is recomputed. */
void registry_gates_changed(void);
/* What a pipelined batch's prefetch (prefetch.c) warms for the command named `name`,
 * decided once when the command is registered; *found gets its entry (NULL: unknown). */
enum { PREFETCH_NONE, PREFETCH_KEY, PREFETCH_KEY_FIELD };
int registry_prefetch_kind(slice name, struct reg_entry **found);
/* The mask of gates that concern a command with these CMD_* flags (bit i: rank i). */
uint32_t gate_mask(uint32_t flags);
/* What the walk needs of the gate of each rank, in one flat array: its switch (pointing at
 * a constant 1 for gates that are always armed) and its check. */
typedef struct gate_slot {
    const int *armed;
    cmd_gate_fn *check;
} gate_slot;
extern gate_slot gate_slots[CMD_GATE_MAX];
/* The gates without a switch (bit i: rank i): while no switch is on anywhere (armed_on,
 * util/armed.h), these are the only gates that can refuse a command. */
extern uint32_t gate_unswitched;
/* The gates the primary's stream meets (its master session skips the others): "pause",
 * since a pause holds the stream as Redis blocks its master client. */
extern uint32_t gate_master;
/* 1 if every registered gate's switch is 0 (a check of armed_on). */
int gate_switches_all_off(void);
/* The gates of mask that may refuse anything now: while every switch is off (one load),
 * only those without a switch. Unoptimised builds (Debug, the ASan suite) check the count
 * against the switches at every command: a switch changed without armed_set would show. */
static inline uint32_t gates_armable(uint32_t mask) {
#ifndef __OPTIMIZE__
    assert(armed_on > 0 || (armed_on == 0 && gate_switches_all_off()));
#endif
    return armed_on ? mask : mask & gate_unswitched;
}

/* Runs the armed gates of mask in rank order; NULL if all let the command through, else
 * the first refusal's text (or CMD_GATE_HANDLED). Inline: dispatch's hot path. */
static inline const char *gate_run(cmd_ctx *c, uint32_t mask, char *msg, size_t cap) {
    while (mask) {
        const gate_slot *g = &gate_slots[__builtin_ctz(mask)];
        mask &= mask - 1;
        if (!*g->armed) continue;
        const char *why = g->check(c, msg, cap);
        if (why) return why;
    }
    return NULL;
}

/* Frees what cmd_ctx_keys extracted for c (cmd_call and dispatch call it when done). */
void keyspec_release(cmd_ctx *c);
static inline void keyspec_release_ctx(cmd_ctx *c) {
    if (c->keys_state) keyspec_release(c);
}

#endif
