/* journal: units of records fanned out to sinks, each framed for its stream; see journal.h.
 *
 * The records of the running outermost unit are packed into one buffer,
 *
 *     { dbid i32 | flags i32 | time_ms i64 | argc i32 | { len u64 | bytes }* }*
 *
 * and unpacked into argv slices when it ends. A unit of one record that was never packed
 * (journal_end_unit_with on an empty outermost unit: the common write command) goes to the
 * sinks straight from the caller's argv, and with journal_end_unit_resp also with the
 * request's own RESP bytes, which RESP sinks copy instead of encoding argv.
 *
 * Delivery of a unit, per sink, in registration order:
 *
 *     one record:   [SELECT]? rec
 *     several:      [SELECT]? MULTI rec [SELECT]? rec ... EXEC
 *
 * where a SELECT is emitted when the record's database differs from the one the sink's
 * stream selected (JOURNAL_FRAME_SELECT), or, for a JOURNAL_FRAME_TAGGED sink, only inside
 * MULTI ... EXEC when the database changes from the unit's first. Framing records carry the
 * time of the record they precede (MULTI and EXEC: the unit's first).
 *
 * Reaps and evictions reach the journal through db hooks and become DEL / HDEL records
 * stamped with journal_now(). */
#include "mayfly/journal/journal.h"

#include "mayfly/db/db.h"
#include "mayfly/util/buf.h"
#include "mayfly/util/clock.h"
#include "mayfly/util/mem.h"
#include "mayfly/util/strconv.h"

#include <assert.h>
#include <string.h>

#define MAX_SINKS 16

static journal_sink *sinks[MAX_SINKS];
static int nsinks;
static int following;
static journal_sink *takers[MAX_SINKS]; /* the sinks that take our records now, in order */

journal_state journal_st;

static buf pending;    /* packed records of the outermost unit */
static slice *scratch; /* unpacking space */
static int scratch_cap;

/* 1 if s takes the records our own units make. */
static int takes_records(const journal_sink *s) {
    return !(following && (s->flags & JOURNAL_SINK_PASS_ON));
}

static void count_record_sinks(void) {
    journal_st.record_sinks = 0;
    for (int i = 0; i < nsinks; i++)
        if (takes_records(sinks[i])) takers[journal_st.record_sinks++] = sinks[i];
}

void journal_sink_add(journal_sink *s) {
    if (s->added) return;
    assert(nsinks < MAX_SINKS);
    sinks[nsinks++] = s;
    s->added = 1;
    s->cur_db = -1;
    count_record_sinks();
}

void journal_sink_remove(journal_sink *s) {
    if (!s->added) return;
    for (int i = 0; i < nsinks; i++) {
        if (sinks[i] != s) continue;
        memmove(sinks + i, sinks + i + 1, sizeof(sinks[0]) * (size_t)(nsinks - i - 1));
        nsinks--;
        break;
    }
    s->added = 0;
    count_record_sinks();
}

void journal_sink_reset_db(journal_sink *s) {
    s->cur_db = -1;
}

int64_t journal_now(void) {
    return journal_st.depth > 0 ? journal_st.unit_ms : clock_now_ms();
}

/* ---- delivery ---- */

static void put(journal_sink *s, enum journal_rec_kind kind, int dbid, int64_t time_ms, int argc,
                const slice *argv) {
    journal_rec r = {kind, dbid, time_ms, argc, argv, 0};
    s->offset += s->record(s, &r);
}

static void put_select(journal_sink *s, int dbid, int64_t time_ms) {
    char tmp[STRCONV_LL_MAX];
    slice sel[2] = {slice_of("select"), {tmp, ll_to_str(tmp, dbid)}};
    put(s, JOURNAL_REC_SELECT, dbid, time_ms, 2, sel);
}

/* Hands one effect to s, preceded by a SELECT where its stream needs one. in_multi: the
 * record is inside MULTI ... EXEC. */
static inline void put_framed(journal_sink *s, const journal_rec *r, int in_multi) {
    if ((s->framing == JOURNAL_FRAME_SELECT || in_multi) && s->cur_db != r->dbid)
        put_select(s, r->dbid, r->time_ms);
    s->cur_db = r->dbid;
    s->offset += s->record(s, r);
}

/* Opens or closes the MULTI ... EXEC around a unit of several records. A TAGGED stream
 * replays MULTI in the unit's first database, so that is the database it has selected. */
static void put_wrap(journal_sink *s, enum journal_rec_kind kind, int first_db, int64_t first_ms) {
    slice word = slice_of(kind == JOURNAL_REC_MULTI ? "multi" : "exec");
    if (s->framing == JOURNAL_FRAME_TAGGED) {
        s->cur_db = first_db;
    } else if (kind == JOURNAL_REC_MULTI && s->cur_db != first_db) {
        /* As Redis writes its stream and log: the unit's SELECT comes before MULTI. */
        put_select(s, first_db, first_ms);
        s->cur_db = first_db;
    }
    put(s, kind, first_db, first_ms, 1, &word);
}

/* 1 if sink s gets a record with these flags. */
static inline int wants(const journal_sink *s, unsigned flags) {
    return !(flags & JOURNAL_REC_REPL_ONLY) || (s->flags & JOURNAL_SINK_REPL);
}

/* A unit of one record, from the caller's argv. */
static void deliver_one(const journal_rec *r) {
    for (int i = 0; i < journal_st.record_sinks; i++)
        if (wants(takers[i], r->flags)) put_framed(takers[i], r, 0);
}

/* Decodes the packed record at p into its fields (argv into scratch); returns the next. */
static const char *unpack(const char *p, int *dbid, unsigned *flags, int64_t *time_ms, int *argc) {
    int32_t id, ac, fl;
    memcpy(&id, p, sizeof(id));
    p += sizeof(id);
    memcpy(&fl, p, sizeof(fl));
    p += sizeof(fl);
    *flags = (unsigned)fl;
    memcpy(time_ms, p, sizeof(*time_ms));
    p += sizeof(*time_ms);
    memcpy(&ac, p, sizeof(ac));
    p += sizeof(ac);
    if (ac > scratch_cap) {
        scratch_cap = ac < 16 ? 16 : ac;
        scratch = mem_realloc(scratch, sizeof(slice) * (size_t)scratch_cap);
    }
    for (int i = 0; i < ac; i++) {
        uint64_t len;
        memcpy(&len, p, sizeof(len));
        p += sizeof(len);
        scratch[i] = (slice){p, (size_t)len};
        p += len;
    }
    *dbid = id;
    *argc = ac;
    return p;
}

/* Hands the packed unit to one sink: the records it wants, wrapped when they are several
 * (MULTI and EXEC carry the first one's database and time). */
static void deliver_packed_to(journal_sink *s) {
    const char *p = pending.data, *end = pending.data + pending.len;
    int takes_repl = (s->flags & JOURNAL_SINK_REPL) != 0;
    int visible = journal_st.npending - (takes_repl ? 0 : journal_st.npending_repl);
    if (visible <= 0) return;
    int wrap = visible > 1 && !journal_st.unwrapped, opened = 0, first_db = 0;
    int64_t first_ms = 0;
    while (p < end) {
        journal_rec r = {.kind = JOURNAL_REC_CMD};
        p = unpack(p, &r.dbid, &r.flags, &r.time_ms, &r.argc);
        r.argv = scratch; /* unpack may have moved it */
        if (!wants(s, r.flags)) continue;
        if (wrap && !opened) {
            first_db = r.dbid;
            first_ms = r.time_ms;
            put_wrap(s, JOURNAL_REC_MULTI, first_db, first_ms);
            opened = 1;
        }
        put_framed(s, &r, wrap);
    }
    if (wrap) put_wrap(s, JOURNAL_REC_EXEC, first_db, first_ms);
}

void journal_flush_unit(void) {
    if (journal_st.npending > 0)
        for (int i = 0; i < journal_st.record_sinks; i++)
            deliver_packed_to(takers[i]);
    buf_clear(&pending);
    buf_shrink(&pending, 64 * 1024);
    journal_st.npending = 0;
    journal_st.npending_repl = 0;
}

/* ---- units and records ---- */

static void pack(int dbid, unsigned flags, int64_t time_ms, int argc, const slice *argv) {
    int32_t id = dbid, ac = argc, fl = (int32_t)flags;
    size_t need = sizeof(id) + sizeof(fl) + sizeof(time_ms) + sizeof(ac);
    for (int i = 0; i < argc; i++)
        need += sizeof(uint64_t) + argv[i].len;
    char *p = buf_reserve(&pending, need);
    memcpy(p, &id, sizeof(id));
    p += sizeof(id);
    memcpy(p, &fl, sizeof(fl));
    p += sizeof(fl);
    memcpy(p, &time_ms, sizeof(time_ms));
    p += sizeof(time_ms);
    memcpy(p, &ac, sizeof(ac));
    p += sizeof(ac);
    for (int i = 0; i < argc; i++) {
        uint64_t len = argv[i].len;
        memcpy(p, &len, sizeof(len));
        p += sizeof(len);
        if (len) memcpy(p, argv[i].p, len);
        p += len;
    }
    pending.len += need;
    journal_st.npending++;
    if (flags & JOURNAL_REC_REPL_ONLY) journal_st.npending_repl++;
}

static void append(int dbid, unsigned flags, int64_t time_ms, int argc, const slice *argv) {
    if (!journal_st.record_sinks) return;
    if (journal_st.depth > 0) {
        pack(dbid, flags, time_ms, argc, argv);
    } else {
        journal_rec r = {JOURNAL_REC_CMD, dbid, time_ms, argc, argv, flags};
        deliver_one(&r);
    }
}

void journal_append(int dbid, int64_t time_ms, int argc, const slice *argv) {
    append(dbid, 0, time_ms, argc, argv);
}

void journal_append_repl(int dbid, int64_t time_ms, int argc, const slice *argv) {
    append(dbid, JOURNAL_REC_REPL_ONLY, time_ms, argc, argv);
}

void journal_end_unit_resp(int dbid, int64_t time_ms, int argc, const slice *argv, slice resp) {
    if (journal_st.depth == 1 && journal_st.npending == 0) {
        /* The whole outermost unit is this one record: no packing, no MULTI. */
        journal_st.depth = 0;
        journal_rec r = {JOURNAL_REC_CMD, dbid, time_ms, argc, argv, 0, resp};
        if (journal_st.record_sinks) deliver_one(&r);
        return;
    }
    journal_append(dbid, time_ms, argc, argv);
    journal_end_unit();
}

void journal_end_unit_with(int dbid, int64_t time_ms, int argc, const slice *argv) {
    journal_end_unit_resp(dbid, time_ms, argc, argv, (slice){NULL, 0});
}

/* ---- passing a primary's stream on ---- */

void journal_follow(int on) {
    if (following && !on)
        for (int i = 0; i < nsinks; i++)
            if (sinks[i]->flags & JOURNAL_SINK_PASS_ON) sinks[i]->cur_db = -1;
    following = on != 0;
    count_record_sinks();
}

int journal_following(void) {
    return following;
}

void journal_pass_on(const journal_rec *r) {
    for (int i = 0; i < nsinks; i++) {
        journal_sink *s = sinks[i];
        if (!(s->flags & JOURNAL_SINK_PASS_ON)) continue;
        if (r->kind == JOURNAL_REC_SELECT) s->cur_db = r->dbid;
        s->offset += s->record(s, r);
    }
}

void journal_pass_on_bytes(const char *p, size_t len) {
    for (int i = 0; i < nsinks; i++) {
        journal_sink *s = sinks[i];
        if (!(s->flags & JOURNAL_SINK_PASS_ON) || !s->bytes) continue;
        s->bytes(s, p, len);
        s->offset += len;
    }
}

/* ---- db hooks: reaps and evictions ---- */

static void on_key_gone(db *d, const char *key, size_t klen) {
    slice argv[2] = {slice_of("del"), {key, klen}};
    journal_append(d->id, journal_now(), 2, argv);
}

static void on_fields_expired(db *d, const char *key, size_t klen, const slice *fields, size_t n) {
    if (!journal_st.record_sinks || n == 0) return;
    slice small[16];
    slice *argv = n + 2 <= 16 ? small : mem_alloc(sizeof(slice) * (n + 2));
    argv[0] = slice_of("hdel");
    argv[1] = (slice){key, klen};
    memcpy(argv + 2, fields, sizeof(slice) * n);
    journal_append(d->id, journal_now(), (int)(n + 2), argv);
    if (argv != small) mem_free(argv);
}

static int fields_wanted(void) {
    return journal_on();
}

static const db_hooks hooks = {
    .key_expired = on_key_gone,
    .key_evicted = on_key_gone,
    .hash_expired = on_key_gone, /* every field of a big hash went at once: one DEL */
    .fields_expired = on_fields_expired,
    .fields_evicted = on_fields_expired, /* the same HDEL */
    .fields_wanted = fields_wanted,
};

void journal_init(void) {
    db_hooks_add(&hooks);
}
