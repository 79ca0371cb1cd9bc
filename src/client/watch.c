/* watch: the table of WATCHed keys (see watch.h), after Redis's multi.c.
 *
 * A registry per database maps each watched key to the sessions watching it:
 *
 *     watched[db id]: dict  key ──▶ watch_entry ──▶ watcher(s1) ⇄ watcher(s3) ⇄ ...
 *     session->watch->watching: [ watcher*, ... ]      (to unwatch in O(own keys))
 *
 * db/ calls the key_touched hook on every write, deletion and expiry of a key, and
 * db_replaced before FLUSHDB/FLUSHALL/SWAPDB; both mark the watching sessions dirty
 * (SESS_DIRTY_CAS), and EXEC of a dirty session answers a nil array. A key already
 * logically expired when watched is remembered as such (Redis's wk->expired): its deletion
 * is no change, while a watched key that expires before EXEC aborts the transaction. The
 * registry costs one counter check per write while no client watches anything. */
#include "mayfly/client/watch.h"

#include "mayfly/util/clock.h"
#include "mayfly/util/dict.h"
#include "mayfly/util/mem.h"

#include <string.h>

typedef struct watcher watcher;

typedef struct watch_entry {
    dict_node node; /* in watched[db id]; must be first */
    watcher *head;  /* sessions watching this key */
    uint32_t klen;
    char key[];
} watch_entry;

struct watcher {
    watcher *prev, *next; /* in entry->head */
    watch_entry *entry;
    session *s;
    int db_id;
    int expired; /* the key was logically expired when watched */
};

struct watch_state {
    watcher **watching;
    size_t nwatch, wcap;
};

static dict *watched; /* one per database, allocated on the first WATCH */
static size_t total_watchers;

static void entry_key(const dict_node *n, const char **key, size_t *len) {
    const watch_entry *we = (const watch_entry *)n;
    *key = we->key;
    *len = we->klen;
}
static const dict_type watch_type = {.key_of = entry_key};

static struct watch_state *state_of(session *s) {
    if (!s->watch) s->watch = mem_calloc(1, sizeof(struct watch_state));
    return s->watch;
}

size_t watch_count(const session *s) {
    return s->watch ? s->watch->nwatch : 0;
}

size_t watch_session_memory(const session *s) {
    const struct watch_state *m = s->watch;
    if (!m) return 0;
    return sizeof(*m) + m->wcap * sizeof(watcher *) + m->nwatch * sizeof(watcher);
}

void watch_clear(session *s) {
    struct watch_state *m = s->watch;
    if (!m) return;
    for (size_t i = 0; i < m->nwatch; i++) {
        watcher *w = m->watching[i];
        watch_entry *we = w->entry;
        if (w->prev)
            w->prev->next = w->next;
        else
            we->head = w->next;
        if (w->next) w->next->prev = w->prev;
        if (!we->head) {
            dict_unlink(&watched[w->db_id], &we->node);
            mem_free(we);
        }
        mem_free(w);
        total_watchers--;
    }
    mem_free(m->watching);
    mem_free(m);
    s->watch = NULL;
}

/* ---- hooks from db/ ---- */

static void on_key_touched(db *d, const char *key, size_t klen) {
    if (total_watchers == 0) return;
    watch_entry *we = (watch_entry *)dict_find(&watched[d->id], key, klen);
    if (!we) return;
    for (watcher *w = we->head; w; w = w->next) {
        if (w->expired) {
            /* Watched while logically expired: its deletion changes nothing. */
            if (!db_find_raw(d, (slice){key, klen})) w->expired = 0;
            continue;
        }
        w->s->flags |= SESS_DIRTY_CAS;
    }
}

static void on_db_replaced(db *d, db *with) {
    if (total_watchers == 0) return;
    int64_t now = clock_now_ms();
    dict_iter it;
    dict_iter_init(&it, &watched[d->id]);
    dict_node *n;
    while ((n = dict_iter_next(&it)) != NULL) {
        watch_entry *we = (watch_entry *)n;
        slice key = {we->key, we->klen};
        int in_d = db_find_raw(d, key) != NULL;
        int in_with = with && db_find_raw(with, key) != NULL;
        if (!in_d && !in_with) continue;
        for (watcher *w = we->head; w; w = w->next) {
            if (w->expired) {
                if (!in_with) {
                    w->expired = 0; /* an expired key deleted: no logical change */
                    continue;
                }
                if (db_is_expired(with, key, now)) continue; /* still expired */
            } else if (!in_d && db_is_expired(with, key, now)) {
                w->expired = 1; /* a missing key replaced by an expired one */
                continue;
            }
            w->s->flags |= SESS_DIRTY_CAS;
        }
    }
    dict_iter_deinit(&it);
}

/* Installs the hooks and the registry on the first WATCH. */
static void ensure_registry(void) {
    if (watched) return;
    watched = mem_calloc((size_t)db_count(), sizeof(dict));
    for (int i = 0; i < db_count(); i++)
        dict_init(&watched[i], &watch_type);
    static const db_hooks hooks = {.key_touched = on_key_touched, .db_replaced = on_db_replaced};
    db_hooks_add(&hooks);
}

void watch_add(session *s, db *d, slice key, int64_t now_ms) {
    ensure_registry();
    struct watch_state *m = state_of(s);
    for (size_t i = 0; i < m->nwatch; i++) {
        watcher *w = m->watching[i];
        if (w->db_id == d->id && w->entry->klen == key.len &&
            memcmp(w->entry->key, key.p, key.len) == 0)
            return;
    }
    dict *dk = &watched[d->id];
    watch_entry *we = (watch_entry *)dict_find(dk, key.p, key.len);
    if (!we) {
        we = mem_alloc(sizeof(watch_entry) + key.len);
        we->head = NULL;
        we->klen = (uint32_t)key.len;
        memcpy(we->key, key.p, key.len);
        dict_add(dk, &we->node);
    }
    watcher *w = mem_alloc(sizeof(watcher));
    w->entry = we;
    w->s = s;
    w->db_id = d->id;
    w->expired = db_is_expired(d, key, now_ms);
    w->prev = NULL;
    w->next = we->head;
    if (we->head) we->head->prev = w;
    we->head = w;
    if (m->nwatch == m->wcap) {
        m->wcap = m->wcap ? m->wcap * 2 : 4;
        m->watching = mem_realloc(m->watching, m->wcap * sizeof(*m->watching));
    }
    m->watching[m->nwatch++] = w;
    total_watchers++;
}

int watch_expired_since(const session *s, int64_t now_ms) {
    if (!s->watch) return 0;
    for (size_t i = 0; i < s->watch->nwatch; i++) {
        watcher *w = s->watch->watching[i];
        if (w->expired) continue;
        if (db_is_expired(db_get(w->db_id), (slice){w->entry->key, w->entry->klen}, now_ms))
            return 1;
    }
    return 0;
}
