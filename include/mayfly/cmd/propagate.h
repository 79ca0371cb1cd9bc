/* propagate: the cmd layer's side of the journal (journal/journal.h): what a command tells
 * the effect stream.
 *
 * The stream records effects, not requests, so that replaying it never depends on when it
 * is replayed. By default a CMD_WRITE command that changed something (db_stat.dirty moved)
 * propagates its own argv. A handler whose request is relative to time or random replaces
 * that with the absolute effect:
 *
 *     EXPIRE k 10          ->  PEXPIREAT k <now_ms + 10000>
 *     HSETEX h EX 5 ...    ->  HSETEX h PXAT <deadline> ...
 *     INCRBYFLOAT k 1.5    ->  SET k <new value> KEEPTTL
 *
 * by calling propagate_argv (several times for several records) or propagate_none.
 *
 * Every command call is a journal unit (propagate_call_begin / _end, from cmd_call), so the
 * records of a top-level command, of the commands an EXEC runs and of the reaps done on
 * their behalf reach the sinks together, wrapped in MULTI ... EXEC when there is more than
 * one. */
#ifndef MAYFLY_CMD_PROPAGATE_H
#define MAYFLY_CMD_PROPAGATE_H

#include "mayfly/cmd/cmd.h"
#include "mayfly/journal/journal.h"
#include "mayfly/util/slice.h"

#include <stdint.h>

/* 1 when records are wanted (some journal sink is on): a handler may skip building a
 * replacement record otherwise. */
static inline int propagate_wanted(void) {
    return journal_on();
}

/* For handlers: propagate argv (copied) instead of the command's own argv. Each call adds
 * one record, in order, in c's database, stamped with c's now_ms. */
void propagate_argv(cmd_ctx *c, int argc, const slice *argv);
/* For handlers: a record for replicas only (not the log), beside whatever else the command
 * propagates: PUBLISH, so that subscribers of replicas get the message, as in Redis. */
void propagate_repl(cmd_ctx *c, int argc, const slice *argv);
/* For handlers: propagate nothing for this command (records already added stay). */
void propagate_none(cmd_ctx *c);
/* A command that may touch arbitrary keys (SCAN, RANDOMKEY: Redis's
 * CMD_TOUCHES_ARBITRARY_KEYS) marks its records independent: called directly (not from
 * MULTI/EXEC or a script), the deletions its lookups cause go out one by one, not wrapped
 * in MULTI ... EXEC. */
void propagate_unwrapped(cmd_ctx *c);
/* Shorthands for the common rewrites: "DEL key", "PEXPIREAT key when_ms". */
void propagate_del(cmd_ctx *c, slice key);
void propagate_pexpireat(cmd_ctx *c, slice key, int64_t when_ms);
/* Formats v into tmp (STRCONV_LL_MAX bytes) and returns it as a slice (for argv). */
slice propagate_ll(char *tmp, long long v);

/* For registry.c: around every handler call, nested ones included (a journal unit). */
void propagate_call_begin(cmd_ctx *c);
void propagate_call_end(cmd_ctx *c);

#endif
