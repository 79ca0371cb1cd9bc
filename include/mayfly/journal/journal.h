/* journal: the effect stream. Every change to the dataset is told here once, as records,
 * and the journal hands them to its sinks (the append-only log now; the replication
 * backlog, and whatever else wants the stream, later).
 *
 *     commands ─┐                                 ┌─▶ sink "aof"      (its own framing)
 *     expiry  ──┼─▶ records ─▶ units ─▶ framing ──┼─▶ sink "backlog"  (its own framing)
 *     eviction ─┘   (dbid, time, argv)            └─▶ ...
 *     primary's stream ──────── pass-on (verbatim) ──▶ sinks that take it
 *
 * A record is the effect of one change in time-independent form: (database, the time its
 * command ran, argv). Relative times are already absolute, reaps are DEL / HDEL.
 *
 * A unit is what must apply all or nothing: the records of one top-level command, of the
 * commands an EXEC or a script runs, and of the reaps done on their behalf. Units nest (the
 * cmd layer opens one around every command call, EXEC's queued calls included); records
 * are held until the outermost unit ends, then each sink gets them, wrapped in MULTI ...
 * EXEC when there is more than one. A record appended outside any unit (the active-expiry
 * cycle, eviction from the cron) is a unit of its own and goes out at once.
 *
 * Framing is done here, in one place, per sink: each sink has a stream position (the
 * database its stream has selected, and an offset), so a SELECT is inserted into a stream
 * exactly when the next record's database differs from what that stream selected; two
 * sinks added at different times each get a correct stream.
 *
 * Nothing here needs a command context: expiry, eviction, scripts and a replica applying
 * its primary's stream all append records the same way. The cmd layer keeps a thin helper
 * (cmd/propagate.h) for "propagate my effect instead of my argv".
 *
 * A replica passes its primary's stream on verbatim: while following (journal_follow),
 * sinks flagged JOURNAL_SINK_PASS_ON take the primary's bytes or already-framed records
 * (journal_pass_on*) instead of the records the replica's own execution makes; the other
 * sinks (the replica's log) keep getting those records. */
#ifndef MAYFLY_JOURNAL_JOURNAL_H
#define MAYFLY_JOURNAL_JOURNAL_H

#include "mayfly/util/slice.h"

#include <assert.h>
#include <stddef.h>
#include <stdint.h>

/* What a record is: an effect, or framing the journal (or the upstream) added. */
enum journal_rec_kind {
    JOURNAL_REC_CMD = 0, /* an effect: argv is a write command */
    JOURNAL_REC_SELECT,  /* "select <dbid>" */
    JOURNAL_REC_MULTI,   /* "multi": a unit of several records begins */
    JOURNAL_REC_EXEC,    /* "exec": it ends */
};

/* One record as a sink receives it; everything is borrowed for the call. */
typedef struct journal_rec {
    enum journal_rec_kind kind;
    int dbid;          /* the database it applies to (MULTI/EXEC: the unit's first) */
    int64_t time_ms;   /* when its command ran: the "now" a replay must use */
    int argc;          /* >= 1 */
    const slice *argv; /* argv[0] is the command name (as the client sent it, or lower case) */
    unsigned flags;    /* JOURNAL_REC_* below */
    slice resp;        /* argv's RESP encoding ("*N\r\n$L\r\n...") when the caller has it
                          (the client's request bytes), else empty: a sink writing RESP may
                          copy it instead of encoding argv */
} journal_rec;

/* Record flags. */
#define JOURNAL_REC_REPL_ONLY                                                                      \
    1u /* for replicas only (PUBLISH, as Redis propagates it): sinks                               \
          without JOURNAL_SINK_REPL never see it */

/* How a sink's stream names databases. */
enum journal_framing {
    /* A stream of plain commands (RESP AOF, replication): a SELECT record precedes every
     * record whose database differs from the one the stream last selected; MULTI and EXEC
     * need none. */
    JOURNAL_FRAME_SELECT = 0,
    /* Each record is replayed in its own database (Mayfly's log names it in every record);
     * only inside MULTI ... EXEC, which replay runs in one session, a change of database is
     * framed with SELECT. */
    JOURNAL_FRAME_TAGGED = 1,
};

/* Sink flags. */
#define JOURNAL_SINK_PASS_ON 1u /* while following a primary: takes its stream, not ours */
#define JOURNAL_SINK_REPL 2u    /* takes JOURNAL_REC_REPL_ONLY records (the replication stream) */

typedef struct journal_sink journal_sink;
struct journal_sink {
    const char *name; /* for logs and tests */
    enum journal_framing framing;
    unsigned flags; /* JOURNAL_SINK_* */
    /* Takes one record (framing records included). Returns how many bytes the sink's stream
     * grew by (its encoding; 0 if it does not count), which advances `offset`. */
    size_t (*record)(journal_sink *s, const journal_rec *r);
    /* Takes already-framed bytes of the primary's stream (journal_pass_on_bytes), verbatim;
     * NULL: the sink cannot take bytes. */
    void (*bytes)(journal_sink *s, const char *p, size_t len);
    void *ctx; /* the sink's own */
    /* ---- kept by the journal ---- */
    int cur_db;      /* the database this stream has selected, -1: none yet */
    uint64_t offset; /* bytes handed to this sink since it was added (or set) */
    int added;       /* 1 while in the sink list */
};

/* The journal's counters, read by the inline fast paths below (every command call opens
 * and closes a unit). Callers use the functions, never these fields. */
typedef struct journal_state {
    int depth;         /* unit nesting */
    int npending;      /* records held for the outermost unit */
    int npending_repl; /* of which JOURNAL_REC_REPL_ONLY */
    int record_sinks;  /* sinks that take our records now */
    int64_t unit_ms;   /* time of the outermost unit */
    int unwrapped;     /* the outermost unit's records go out one by one (no MULTI/EXEC) */
} journal_state;
extern journal_state journal_st;
/* Hands the held records to the sinks (journal_end_unit's slow path). */
void journal_flush_unit(void);

/* Registers the db hooks that turn reaps and evictions into DEL / HDEL records. Call once
 * (again: no effect). */
void journal_init(void);

/* ---- sinks ---- */

/* Adds s to the list (no effect if it is there): from now on it gets every unit. Its
 * stream starts with no database selected, so its first record is preceded by a SELECT
 * (JOURNAL_FRAME_SELECT); offset is left as it is. s must stay valid until removed. */
void journal_sink_add(journal_sink *s);
/* Removes s (no effect if it is not there). */
void journal_sink_remove(journal_sink *s);
/* Forgets the database s's stream selected, so the next record is preceded by a SELECT
 * (a sink that starts a new file or a new replica stream calls it). */
void journal_sink_reset_db(journal_sink *s);
/* 1 when some sink takes records now. Callers may skip building a record otherwise:
 * journal_append does nothing then. */
static inline int journal_on(void) {
    return journal_st.record_sinks > 0;
}

/* ---- units and records ---- */

/* Opens a unit at time_ms (nested: only the outermost one's time counts, see journal_now). */
static inline void journal_begin_unit(int64_t time_ms) {
    if (journal_st.depth++ == 0) {
        journal_st.unit_ms = time_ms;
        journal_st.unwrapped = 0;
    }
}
/* The outermost unit open now is not a transaction: its records go to the sinks one by one,
 * without MULTI ... EXEC (Redis's CMD_TOUCHES_ARBITRARY_KEYS: the lazy-expiry deletions of
 * a SCAN or RANDOMKEY called directly are independent). */
static inline void journal_unit_unwrapped(void) {
    journal_st.unwrapped = 1;
}
/* Closes a unit; closing the outermost one hands its records to the sinks. */
static inline void journal_end_unit(void) {
    assert(journal_st.depth > 0);
    if (--journal_st.depth == 0 && journal_st.npending) journal_flush_unit();
}
/* journal_append(dbid, time_ms, argc, argv) then journal_end_unit(). When this record is
 * all the outermost unit holds (a command that propagates its own argv), it goes to the
 * sinks without being copied. */
void journal_end_unit_with(int dbid, int64_t time_ms, int argc, const slice *argv);
/* journal_end_unit_with where resp (if not empty) is exactly argv's RESP encoding: a lone
 * record reaches the sinks with it (journal_rec.resp); a record held with others is packed
 * from argv as usual. */
void journal_end_unit_resp(int dbid, int64_t time_ms, int argc, const slice *argv, slice resp);
/* Appends one record (argv is copied when the unit holds it). Outside a unit it goes to
 * the sinks at once. Nothing happens when !journal_on(). */
void journal_append(int dbid, int64_t time_ms, int argc, const slice *argv);
/* journal_append of a record for replicas only (JOURNAL_REC_REPL_ONLY): PUBLISH. */
void journal_append_repl(int dbid, int64_t time_ms, int argc, const slice *argv);
/* The time a record made now should carry: the outermost unit's, else the clock's (the
 * active-expiry cycle and other work outside commands). */
int64_t journal_now(void);
/* Nesting depth of units (0: outside any). */
static inline int journal_depth(void) {
    return journal_st.depth;
}

/* ---- passing a primary's stream on ---- */

/* Starts (on = 1) or stops following a primary. While following, JOURNAL_SINK_PASS_ON sinks
 * get no records of our own units; they get what journal_pass_on* hands over. Stopping
 * resets their selected database (the last SELECT of the primary's stream is unknown). */
void journal_follow(int on);
/* 1 while following. */
int journal_following(void);
/* Hands an already-framed record of the primary's stream (a SELECT, MULTI and EXEC are
 * records too) to every JOURNAL_SINK_PASS_ON sink as it is. */
void journal_pass_on(const journal_rec *r);
/* Hands len bytes of the primary's stream to every JOURNAL_SINK_PASS_ON sink that takes
 * bytes, verbatim; their offsets advance by len, as the primary's did. */
void journal_pass_on_bytes(const char *p, size_t len);

#endif
