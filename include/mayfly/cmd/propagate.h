/* propagate: what a write command tells the append-only log (and, later, replicas).
 *
 * The log records effects, not requests, so that replaying it never depends on when it is
 * replayed. By default a CMD_WRITE command that changed something (db_stat.dirty moved)
 * propagates its own argv. A handler whose request is relative to time or random replaces
 * that with the absolute effect:
 *
 *     EXPIRE k 10          ->  PEXPIREAT k <now_ms + 10000>
 *     HSETEX h EX 5 ...    ->  HSETEX h PXAT <deadline> ...
 *     INCRBYFLOAT k 1.5    ->  SET k <new value> KEEPTTL
 *
 * by calling propagate_argv (several times for several records) or propagate_none. Keys
 * and fields reaped by lazy or active expiry are propagated as DEL / HDEL from the db/
 * expiry hooks.
 *
 * Records made while one top-level command runs (its own, those of the commands an EXEC
 * runs, and the reaps done on their behalf) are collected and handed to the sink when it
 * returns, wrapped in MULTI ... EXEC when there is more than one, so that replay applies
 * them all or none. Reaps done by the active-expiry cycle go out at once. */
#ifndef MAYFLY_CMD_PROPAGATE_H
#define MAYFLY_CMD_PROPAGATE_H

#include "mayfly/cmd/cmd.h"
#include "mayfly/util/slice.h"

#include <stdint.h>

/* Receives each record: the database it applies to, the time it ran (the "now" replay
 * must use) and its argv (borrowed for the call). */
typedef void propagate_sink(int dbid, int64_t time_ms, int argc, const slice *argv);

/* Where records go; NULL: nowhere (no append-only log). Set by the server. */
extern propagate_sink *propagate_to;

/* Registers the db/ expiry hooks. Call once (again: no effect). */
void propagate_init(void);

/* For handlers: propagate argv (copied) instead of the command's own argv. Each call adds
 * one record, in order, in c's database. */
void propagate_argv(cmd_ctx *c, int argc, const slice *argv);
/* For handlers: propagate nothing for this command (records already added stay). */
void propagate_none(cmd_ctx *c);
/* Shorthands for the common rewrites: "DEL key", "PEXPIREAT key when_ms". */
void propagate_del(cmd_ctx *c, slice key);
void propagate_pexpireat(cmd_ctx *c, slice key, int64_t when_ms);
/* Formats v into tmp (STRCONV_LL_MAX bytes) and returns it as a slice (for argv). */
slice propagate_ll(char *tmp, long long v);

/* For registry.c: around every handler call, nested ones included. */
void propagate_call_begin(cmd_ctx *c);
void propagate_call_end(cmd_ctx *c);

#endif
