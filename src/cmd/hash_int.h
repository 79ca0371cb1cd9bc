/* hash_int: helpers shared by the hash command families (cmd_hash.c, cmd_hash_ttl.c).
 * Internal to cmd/.
 *
 * Every hash command looks its key up through db_find/db_lookup, which reap all due
 * fields of the hash first (db.c), so handlers never meet an expired field and a hash
 * whose fields all expired is already gone. A write ends with hc_finish: it deletes the
 * key when the hash is empty (Redis deletes a hash with its last field), otherwise it
 * re-files the hash under its next field deadline. */
#ifndef MAYFLY_CMD_HASH_INT_H
#define MAYFLY_CMD_HASH_INT_H

#include "cmd/keyspace_int.h"
#include "mayfly/client/notify.h"
#include "mayfly/cmd/cmd.h"
#include "mayfly/config.h"
#include "mayfly/types/hash.h"
#include "mayfly/util/mem.h"

#include <limits.h>

/* The conversion limits from the live configuration (CONFIG SET applies to later writes). */
static inline hash_limits hc_limits(void) {
    hash_limits lim;
    lim.max_listpack_entries = (size_t)config.hash_max_listpack_entries;
    lim.max_listpack_value = (size_t)config.hash_max_listpack_value;
    return lim;
}

static inline hash *hc_hash(dbentry *e) {
    return (hash *)e->val;
}

/* The writers of a hash, run on the hash of *ep through db_hash_open / db_hash_close: a
 * compact hash moves when it is resized, and an entry filed by its hash's one deadline
 * (db.h, "slim") is re-filed at once, so *ep may move too. */
/* A run of writes to the hash of e within one command: hc_open returns where the hash is
 * (hash_set(hp, ...) and friends update it; read it as *hp meanwhile, not through e), and
 * hc_close stores it back and re-files e, returning it (it may move). Nothing may touch
 * the database in between (db_hash_open). */
typedef struct hc_run {
    db_hash_write w;
    hash *h;
} hc_run;
static inline hash **hc_open(dbentry *e, hc_run *r) {
    r->h = db_hash_open(e, &r->w);
    return &r->h;
}
static inline dbentry *hc_close(cmd_ctx *c, dbentry *e, hc_run *r) {
    return db_hash_close(c->db, e, r->h, &r->w);
}

/* One write: a run of one. */
static inline int hc_set(cmd_ctx *c, dbentry **ep, const hash_limits *lim, slice field, slice value,
                         enum hash_ttl_policy policy, int64_t deadline) {
    db_hash_write w;
    hash *h = db_hash_open(*ep, &w);
    int r = hash_set(&h, lim, c->now_ms, field, value, policy, deadline);
    *ep = db_hash_close(c->db, *ep, h, &w);
    return r;
}

/* Looks key up for a read command. Returns 0 with *out (NULL if absent), or -1 after a
 * WRONGTYPE reply. */
static inline int hc_read(cmd_ctx *c, slice key, dbentry **out) {
    dbentry *e = db_lookup(c->db, key, c->now_ms, ks_read_flags(c));
    if (e && e->val->type != OBJ_HASH) {
        reply_wrongtype(c);
        return -1;
    }
    *out = e;
    return 0;
}

/* Looks key up for a write command (no hit/miss statistics, as Redis's lookupKeyWrite).
 * Returns 0 with *out (NULL if absent), or -1 after a WRONGTYPE reply. */
static inline int hc_write(cmd_ctx *c, slice key, dbentry **out) {
    dbentry *e = db_find(c->db, key, c->now_ms);
    if (e && e->val->type != OBJ_HASH) {
        reply_wrongtype(c);
        return -1;
    }
    ks_write_access(c, e);
    *out = e;
    return 0;
}

/* Adds key with a new empty hash (the caller fills it and calls hc_finish). */
static inline dbentry *hc_create(cmd_ctx *c, slice key) {
    return db_add(c->db, key, (obj *)hash_new());
}

/* Ends a write to the hash of e: deletes the key if the hash is empty (notifying "del")
 * and returns 1, else re-files it under its next field deadline (lazily when that moved
 * later, see db_refile_fields) and returns 0. The caller is done with e either way (it
 * may move when it gains its first deadline). */
static inline int hc_finish(cmd_ctx *c, dbentry *e, slice key) {
    if (hash_stored(hc_hash(e)) == 0) {
        db_delete_entry(c->db, e);
        notify_keyspace_event(NOTIFY_GENERIC, "del", key, c->db->id);
        return 1;
    }
    /* A hash without field TTLs before the write (db/ counts it in subexpiry exactly when
     * it had some at its last filing) and after: its filing deadline and death are the
     * key's own TTL, as filed. Plain HSETs skip the refiling. */
    if (!(e->val->flags & OBJF_SUBEXPIRY) && hash_ttl_count(hc_hash(e)) == 0) return 0;
    db_entry_done(db_refile_fields(c->db, e));
    return 0;
}

/* Publishes a field-naming event for the n fields at argv[first], argv[first+stride],...
 * Builds the list only when notifications are on. */
static inline void hc_notify_fields(cmd_ctx *c, const char *event, slice key, int first, int stride,
                                    size_t n) {
    if (notify_flags == 0 || n == 0) return;
    slice small[16];
    slice *fields = n <= 16 ? small : mem_alloc(n * sizeof(*fields));
    for (size_t i = 0; i < n; i++)
        fields[i] = c->argv[first + (int)i * stride];
    notify_subkey_event(NOTIFY_HASH, event, key, fields, n, c->db->id);
    if (fields != small) mem_free(fields);
}

/* The fields a command actually changed, gathered for one field-naming event (only while
 * notifications are on: otherwise adding is a flag test). Slices borrow argv. */
typedef struct hc_changed {
    slice small[16];
    slice *v;
    size_t n, cap;
    int on;
} hc_changed;

static inline void hc_changed_init(hc_changed *ch) {
    ch->v = ch->small;
    ch->n = 0;
    ch->cap = 16;
    ch->on = notify_flags != 0;
}

static inline void hc_changed_add(hc_changed *ch, slice field) {
    if (!ch->on) return;
    if (ch->n == ch->cap) {
        slice *nv = mem_alloc(2 * ch->cap * sizeof(*nv));
        memcpy(nv, ch->v, ch->n * sizeof(*nv));
        if (ch->v != ch->small) mem_free(ch->v);
        ch->v = nv;
        ch->cap *= 2;
    }
    ch->v[ch->n++] = field;
}

/* Publishes the field-naming event for the changed fields (if any) and frees the list. */
static inline void hc_changed_publish(cmd_ctx *c, hc_changed *ch, const char *event, slice key) {
    if (ch->n) notify_subkey_event(NOTIFY_HASH, event, key, ch->v, ch->n, c->db->id);
    if (ch->v != ch->small) mem_free(ch->v);
    ch->v = ch->small;
    ch->n = 0;
}

/* Parses "FIELDS numfields f1 ... fn" at argv[at], with Redis's texts for the commands
 * that take field names only (HGETEX HGETDEL HTTL HPERSIST HEXPIRE). nfields_msg is the
 * error for a count that is not a positive integer. Returns the count, or -1 after an
 * error reply. */
static inline long long hc_parse_fields(cmd_ctx *c, int at, const char *nfields_msg) {
    if (at >= c->argc || !slice_eq_ci(c->argv[at], "FIELDS")) {
        reply_error(c, "ERR Mandatory argument FIELDS is missing or not at the right position");
        return -1;
    }
    if (at + 1 >= c->argc) {
        reply_arity_error(c);
        return -1;
    }
    long long n;
    if (arg_ll_range(c, c->argv[at + 1], 1, LLONG_MAX, nfields_msg, &n) < 0) return -1;
    if (n != (long long)c->argc - at - 2) {
        reply_error(c, "ERR The `numfields` parameter must match the number of arguments");
        return -1;
    }
    return n;
}

#define HC_NFIELDS_MSG "ERR Number of fields must be a positive integer"

#endif
