/* tracking: server-assisted client-side caching (see tracking.h), after Redis's tracking.c.
 *
 *     table: dict  key ──▶ tkey { ids[]: sessions that read it }   (default mode)
 *     prefixes[]: sorted  prefix ──▶ pfx { ids[]: BCAST sessions, pending: dict of keys
 *                                          changed this loop turn ─▶ who changed them }
 *
 * Keys are global (not per database), as in Redis. db/'s key_touched hook (writes,
 * deletions, key and field expiry, eviction) sends an invalidation to every session in
 * the key's entry and drops the entry; it also files the key under each matching BCAST
 * prefix, and tracking_before_sleep sends each prefix's batch (sorted, one array per
 * prefix and session) once per loop turn. Sessions are referred to by id and looked up
 * when a message goes out, so a session that stops tracking or leaves costs nothing
 * until one of its keys changes. db_replaced (FLUSHDB/FLUSHALL) sends a null to every
 * tracking session, once per command, and empties the table. */
#include "mayfly/client/tracking.h"

#include "mayfly/db/db.h"
#include "mayfly/resp/resp.h"
#include "mayfly/util/buf.h"
#include "mayfly/util/dict.h"
#include "mayfly/util/mem.h"
#include "mayfly/util/rand.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CHANNEL "__redis__:invalidate"

typedef struct ids {
    uint64_t *v;
    size_t n, cap;
} ids;

typedef struct tkey {
    dict_node node; /* in table; must be first */
    ids who;
    uint32_t klen;
    char key[];
} tkey;

typedef struct pkey {
    dict_node node; /* in pfx.pending; must be first */
    uint64_t by;    /* the session that changed it last (0: none), for NOLOOP */
    uint32_t klen;
    char key[];
} pkey;

typedef struct pfx {
    ids who;      /* BCAST sessions with this prefix */
    dict pending; /* keys changed since the last batch */
    size_t len;
    char p[];
} pfx;

struct tracking_state {
    uint64_t redirect;
    slice *prefixes; /* owned bytes, sorted */
    size_t nprefix;
};

static long long max_keys = 1000000;
const config_row tracking_config_rows[] = {
    CONFIG_INT_ROW("tracking-table-max-keys", &max_keys, 0, LLONG_MAX, "1000000"),
    {0},
};

static dict table;
static int hooked;
static size_t total_items; /* (key, session) pairs in table */
static size_t nclients;    /* sessions with SESS_TRACKING */
static pfx **prefixes;     /* sorted by bytes */
static size_t nprefixes, prefix_cap;
static size_t pending_total;  /* keys waiting in some pfx.pending */
static int flushed_this_turn; /* a null already went out for this command */

static void tkey_key(const dict_node *n, const char **key, size_t *len) {
    *key = ((const tkey *)n)->key;
    *len = ((const tkey *)n)->klen;
}
static void pkey_key(const dict_node *n, const char **key, size_t *len) {
    *key = ((const pkey *)n)->key;
    *len = ((const pkey *)n)->klen;
}
static const dict_type tkey_type = {.key_of = tkey_key};
static const dict_type pkey_type = {.key_of = pkey_key};

static int ids_add(ids *x, uint64_t id) {
    for (size_t i = 0; i < x->n; i++)
        if (x->v[i] == id) return 0;
    if (x->n == x->cap) {
        x->cap = x->cap ? x->cap * 2 : 2;
        x->v = mem_realloc(x->v, x->cap * sizeof(*x->v));
    }
    x->v[x->n++] = id;
    return 1;
}

static void ids_del(ids *x, uint64_t id) {
    for (size_t i = 0; i < x->n; i++) {
        if (x->v[i] != id) continue;
        x->v[i] = x->v[--x->n];
        return;
    }
}

static int bytes_cmp(const char *a, size_t al, const char *b, size_t bl) {
    int r = memcmp(a, b, al < bl ? al : bl);
    if (r) return r;
    return al < bl ? -1 : al > bl;
}

/* ---- sending ---- */

/* An invalidation may wait a loop turn to leave with the client's next reply: one write
 * (and one read on the client's side) instead of two. */
static void wake(session *s) {
    if (!s->ops) return;
    if (s->ops->wake_soon)
        s->ops->wake_soon(s);
    else if (s->ops->wake)
        s->ops->wake(s);
}

/* Sends one message to s (or to its redirection target): payload is the RESP value that
 * follows the "invalidate" / channel header (an array of keys, or a null). */
static void send_message(session *s, const char *payload, size_t len) {
    session *to = s;
    int redirected = 0;
    uint64_t rid = s->tracking ? s->tracking->redirect : 0;
    if (rid) {
        to = session_by_id(rid);
        if (!to) {
            s->flags |= SESS_TRACK_BROKEN;
            if (s->proto == 3) {
                buf *o = session_push_out(s);
                resp_w_push(o, 3, 2);
                resp_w_bulk(o, "tracking-redir-broken", 21);
                resp_w_int(o, (long long)rid);
                wake(s);
            }
            return;
        }
        redirected = 1;
    }
    if (to->flags & SESS_CLOSE_ASAP) return;
    buf *o = session_push_out(to);
    if (to->proto == 3) {
        resp_w_push(o, 3, 2);
        resp_w_bulk(o, "invalidate", 10);
    } else if (redirected && (to->flags & SESS_PUBSUB)) {
        resp_w_array(o, 3);
        resp_w_bulk(o, "message", 7);
        resp_w_bulk(o, CHANNEL, sizeof(CHANNEL) - 1);
    } else {
        return; /* RESP2 without redirection: nowhere to send it */
    }
    buf_append(o, payload, len);
    wake(to);
}

/* ---- the table ---- */

static void tkey_free(tkey *t) {
    mem_free(t->who.v);
    mem_free(t);
}

/* Tells the sessions that read key that it changed and forgets it. by: the session that
 * changed it (NULL: expiry, eviction, the table's limit). */
static void invalidate_entry(tkey *t, session *by) {
    dict_unlink(&table, &t->node);
    total_items -= t->who.n;
    buf msg;
    buf_init(&msg);
    resp_w_array(&msg, 1);
    resp_w_bulk(&msg, t->key, t->klen);
    for (size_t i = 0; i < t->who.n; i++) {
        session *s = session_by_id(t->who.v[i]);
        if (!s || !(s->flags & SESS_TRACKING) || (s->flags & SESS_TRACK_BCAST)) continue;
        if ((s->flags & SESS_TRACK_NOLOOP) && s == by) continue;
        send_message(s, msg.data, msg.len);
    }
    buf_deinit(&msg);
    tkey_free(t);
}

static int prefix_matches(const pfx *p, const char *key, size_t klen) {
    return p->len <= klen && memcmp(p->p, key, p->len) == 0;
}

/* Files key under every BCAST prefix it starts with. */
static void remember_for_bcast(const char *key, size_t klen, session *by) {
    for (size_t i = 0; i < nprefixes; i++) {
        pfx *p = prefixes[i];
        if (!prefix_matches(p, key, klen)) continue;
        pkey *k = (pkey *)dict_find(&p->pending, key, klen);
        if (!k) {
            k = mem_alloc(sizeof(pkey) + klen);
            k->klen = (uint32_t)klen;
            memcpy(k->key, key, klen);
            dict_add(&p->pending, &k->node);
            pending_total++;
        }
        k->by = by ? by->id : 0;
    }
}

static void on_key_touched(db *d, const char *key, size_t klen) {
    (void)d;
    session *by = session_executing();
    if (nprefixes) remember_for_bcast(key, klen, by);
    if (dict_size(&table) == 0) return;
    tkey *t = (tkey *)dict_find(&table, key, klen);
    if (t) invalidate_entry(t, by);
}

static void free_tkey_node(dict_node *n, void *ctx) {
    (void)ctx;
    tkey_free((tkey *)n);
}

static void on_db_replaced(db *d, db *with) {
    (void)d;
    if (with) return; /* SWAPDB: Redis sends nothing either */
    if (!flushed_this_turn && nclients) {
        flushed_this_turn = 1;
        for (session *s = session_first(); s; s = s->next) {
            if (!(s->flags & SESS_TRACKING)) continue;
            if (s->proto == 3)
                send_message(s, "_\r\n", 3);
            else
                send_message(s, "$-1\r\n", 5);
        }
    }
    dict_clear(&table, free_tkey_node, NULL);
    total_items = 0;
}

static void ensure_hooks(void) {
    if (hooked) return;
    hooked = 1;
    dict_init(&table, &tkey_type);
    static const db_hooks hooks = {.key_touched = on_key_touched, .db_replaced = on_db_replaced};
    db_hooks_add(&hooks);
}

void tracking_remember_keys(session *s, const slice *keys, size_t n) {
    uint32_t f = s->flags;
    if (!(f & SESS_TRACKING) || (f & SESS_TRACK_BCAST)) return;
    int caching = (f & SESS_TRACK_CACHING) != 0;
    if ((f & SESS_TRACK_OPTIN) && !caching) return;
    if ((f & SESS_TRACK_OPTOUT) && caching) return;
    for (size_t i = 0; i < n; i++) {
        tkey *t = (tkey *)dict_find(&table, keys[i].p, keys[i].len);
        if (!t) {
            t = mem_calloc(1, sizeof(tkey) + keys[i].len);
            t->klen = (uint32_t)keys[i].len;
            memcpy(t->key, keys[i].p, keys[i].len);
            dict_add(&table, &t->node);
        }
        if (ids_add(&t->who, s->id)) total_items++;
    }
}

void tracking_command_done(session *s) {
    if (!(s->flags & SESS_TRACK_CACHING) || (s->flags & SESS_MULTI)) return;
    const char *top = s->last_cmd_parent ? s->last_cmd_parent : s->last_cmd;
    if (top && strcmp(top, "client") == 0) return;
    s->flags &= ~SESS_TRACK_CACHING;
}

void tracking_command_end(void) {
    flushed_this_turn = 0;
}

/* ---- BCAST prefixes ---- */

static pfx *prefix_find(const char *p, size_t len, size_t *at) {
    size_t lo = 0, hi = nprefixes;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        int r = bytes_cmp(prefixes[mid]->p, prefixes[mid]->len, p, len);
        if (r == 0) return prefixes[mid];
        if (r < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    *at = lo;
    return NULL;
}

static pfx *prefix_get(const char *p, size_t len) {
    size_t at = 0;
    pfx *x = prefix_find(p, len, &at);
    if (x) return x;
    x = mem_calloc(1, sizeof(pfx) + len);
    x->len = len;
    memcpy(x->p, p, len);
    dict_init(&x->pending, &pkey_type);
    if (nprefixes == prefix_cap) {
        prefix_cap = prefix_cap ? prefix_cap * 2 : 4;
        prefixes = mem_realloc(prefixes, prefix_cap * sizeof(*prefixes));
    }
    memmove(&prefixes[at + 1], &prefixes[at], (nprefixes - at) * sizeof(*prefixes));
    prefixes[at] = x;
    nprefixes++;
    return x;
}

static void free_pkey_node(dict_node *n, void *ctx) {
    (void)ctx;
    pending_total--;
    mem_free(n);
}

static void prefix_leave(const slice *name, uint64_t id) {
    size_t at = 0;
    pfx *x = prefix_find(name->p, name->len, &at);
    if (!x) return;
    ids_del(&x->who, id);
    if (x->who.n) return;
    for (size_t i = 0; i < nprefixes; i++) {
        if (prefixes[i] != x) continue;
        memmove(&prefixes[i], &prefixes[i + 1], (nprefixes - i - 1) * sizeof(*prefixes));
        nprefixes--;
        break;
    }
    dict_clear(&x->pending, free_pkey_node, NULL);
    dict_deinit(&x->pending);
    mem_free(x->who.v);
    mem_free(x);
}

static struct tracking_state *state_of(session *s) {
    if (!s->tracking) s->tracking = mem_calloc(1, sizeof(struct tracking_state));
    return s->tracking;
}

/* Adds prefix p to s (kept sorted) and s to the prefix's sessions. */
static void session_add_prefix(session *s, const char *p, size_t len) {
    struct tracking_state *st = state_of(s);
    size_t at = 0;
    while (at < st->nprefix && bytes_cmp(st->prefixes[at].p, st->prefixes[at].len, p, len) < 0)
        at++;
    if (at < st->nprefix && bytes_cmp(st->prefixes[at].p, st->prefixes[at].len, p, len) == 0)
        return;
    st->prefixes = mem_realloc(st->prefixes, (st->nprefix + 1) * sizeof(slice));
    memmove(&st->prefixes[at + 1], &st->prefixes[at], (st->nprefix - at) * sizeof(slice));
    char *copy = mem_alloc(len ? len : 1);
    memcpy(copy, p, len);
    st->prefixes[at] = (slice){copy, len};
    st->nprefix++;
    ids_add(&prefix_get(p, len)->who, s->id);
}

static int overlaps(const char *a, size_t al, const char *b, size_t bl) {
    return memcmp(a, b, al < bl ? al : bl) == 0;
}

int tracking_check_prefixes(const session *s, const slice *p, size_t n, char *msg, size_t cap) {
    const struct tracking_state *st = s->tracking;
    for (size_t i = 0; i < n; i++) {
        for (size_t j = 0; st && j < st->nprefix; j++) {
            if (!overlaps(st->prefixes[j].p, st->prefixes[j].len, p[i].p, p[i].len)) continue;
            snprintf(msg, cap,
                     "ERR Prefix '%.*s' overlaps with an existing prefix '%.*s'. Prefixes for a "
                     "single client must not overlap.",
                     (int)p[i].len, p[i].p, (int)st->prefixes[j].len, st->prefixes[j].p);
            return 1;
        }
        for (size_t j = i + 1; j < n; j++) {
            if (!overlaps(p[i].p, p[i].len, p[j].p, p[j].len)) continue;
            snprintf(msg, cap,
                     "ERR Prefix '%.*s' overlaps with another provided prefix '%.*s'. Prefixes "
                     "for a single client must not overlap.",
                     (int)p[i].len, p[i].p, (int)p[j].len, p[j].p);
            return 1;
        }
    }
    return 0;
}

/* ---- enabling ---- */

void tracking_enable(session *s, uint64_t redirect, uint32_t options, const slice *p,
                     size_t nprefix) {
    ensure_hooks();
    if (!(s->flags & SESS_TRACKING)) nclients++;
    s->flags |= SESS_TRACKING;
    s->flags &= ~(SESS_TRACK_BROKEN | TRACKING_OPTS);
    state_of(s)->redirect = redirect;
    if (options & SESS_TRACK_BCAST) {
        s->flags |= SESS_TRACK_BCAST;
        if (nprefix == 0) session_add_prefix(s, "", 0);
        for (size_t i = 0; i < nprefix; i++)
            session_add_prefix(s, p[i].p, p[i].len);
    }
    s->flags |= options & (SESS_TRACK_OPTIN | SESS_TRACK_OPTOUT | SESS_TRACK_NOLOOP);
}

void tracking_disable(session *s) {
    struct tracking_state *st = s->tracking;
    if (st) {
        for (size_t i = 0; i < st->nprefix; i++) {
            prefix_leave(&st->prefixes[i], s->id);
            mem_free((void *)st->prefixes[i].p);
        }
        mem_free(st->prefixes);
        mem_free(st);
        s->tracking = NULL;
    }
    if (s->flags & SESS_TRACKING) nclients--;
    s->flags &= ~(SESS_TRACKING | SESS_TRACK_BROKEN | TRACKING_OPTS | SESS_TRACK_CACHING);
}

uint64_t tracking_redirect(const session *s) {
    return s->tracking ? s->tracking->redirect : 0;
}

size_t tracking_prefix_count(const session *s) {
    return s->tracking ? s->tracking->nprefix : 0;
}

slice tracking_prefix_at(const session *s, size_t i) {
    return s->tracking->prefixes[i];
}

/* ---- once per loop turn ---- */

static int pkey_cmp(const void *a, const void *b) {
    const pkey *x = *(pkey *const *)a, *y = *(pkey *const *)b;
    return bytes_cmp(x->key, x->klen, y->key, y->klen);
}

/* The RESP array of keys[0..n), leaving out those changed last by `skip` (0: none). */
static size_t keys_array(buf *b, pkey **keys, size_t n, uint64_t skip) {
    size_t count = 0;
    for (size_t i = 0; i < n; i++)
        count += !(skip && keys[i]->by == skip);
    resp_w_array(b, count);
    for (size_t i = 0; i < n; i++)
        if (!(skip && keys[i]->by == skip)) resp_w_bulk(b, keys[i]->key, keys[i]->klen);
    return count;
}

static void broadcast_prefix(pfx *x) {
    size_t n = dict_size(&x->pending);
    pkey **keys = mem_alloc(n * sizeof(*keys));
    dict_iter it;
    dict_iter_init(&it, &x->pending);
    size_t k = 0;
    for (dict_node *nd; (nd = dict_iter_next(&it)) != NULL && k < n;)
        keys[k++] = (pkey *)nd;
    dict_iter_deinit(&it);
    qsort(keys, k, sizeof(*keys), pkey_cmp);
    buf all, own;
    buf_init(&all);
    buf_init(&own);
    keys_array(&all, keys, k, 0);
    for (size_t i = 0; i < x->who.n; i++) {
        session *s = session_by_id(x->who.v[i]);
        if (!s || !(s->flags & SESS_TRACKING)) continue;
        if (s->flags & SESS_TRACK_NOLOOP) {
            buf_clear(&own);
            if (keys_array(&own, keys, k, s->id)) send_message(s, own.data, own.len);
        } else {
            send_message(s, all.data, all.len);
        }
    }
    buf_deinit(&all);
    buf_deinit(&own);
    mem_free(keys);
    dict_clear(&x->pending, free_pkey_node, NULL);
}

/* Forgets random keys (telling their readers, as if they changed) while the table holds
 * more than tracking-table-max-keys; at most a bounded number per turn. */
static void limit_table(void) {
    if (max_keys <= 0) return;
    for (int effort = 0; effort < 1000 && dict_size(&table) > (size_t)max_keys; effort++) {
        tkey *t = (tkey *)dict_random(&table, rand_u64);
        if (!t) break;
        invalidate_entry(t, NULL);
    }
}

int tracking_before_sleep(void) {
    flushed_this_turn = 0;
    if (!hooked) return 0;
    int sent = pending_total != 0;
    if (pending_total) {
        for (size_t i = 0; i < nprefixes; i++)
            if (dict_size(&prefixes[i]->pending)) broadcast_prefix(prefixes[i]);
    }
    limit_table();
    return sent;
}

/* ---- INFO ---- */

size_t tracking_clients(void) {
    return nclients;
}
size_t tracking_total_keys(void) {
    return hooked ? dict_size(&table) : 0;
}
size_t tracking_total_items(void) {
    return total_items;
}
size_t tracking_total_prefixes(void) {
    return nprefixes;
}
