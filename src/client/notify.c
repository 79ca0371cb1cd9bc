/* notify: keyspace and subkey notifications (see notify.h), published through pub/sub.
 *
 * Channel names and payloads follow Redis 8.8 (src/notify.c, notifyKeyspaceEventImpl):
 * the key-level pair first (keyspace, then keyevent), then, when fields are given, the
 * four subkey families in the order subkeyspace, subkeyevent, subkeyspaceitem (one
 * message per field), subkeyspaceevent. Events whose name holds '|' skip the two families
 * that use '|' as a separator, and keys holding '\n' skip subkeyspaceitem.
 *
 * Nothing is built when the event's class is off or nobody subscribes to anything.
 *
 * Expiry happens inside db/, which reports it through db_hook: a key whose TTL passed
 * publishes "expired"; fields reaped from a hash publish one "hexpired" naming them all
 * (lazy and active expiry alike, as Redis's hashTypeExpire), followed by "del" when the
 * hash was left empty and deleted; a big hash whose fields all expired and that db/ deletes
 * as a whole publishes the same pair. A key evicted by db_evict publishes "evicted". */
#include "mayfly/client/notify.h"

#include "mayfly/client/pubsub.h"
#include "mayfly/config.h"
#include "mayfly/db/db.h"
#include "mayfly/types/hash.h"
#include "mayfly/util/buf.h"
#include "mayfly/util/mem.h"

#include <stdio.h>
#include <string.h>

#define SUBKEY_FAMILIES                                                                            \
    (NOTIFY_SUBKEYSPACE | NOTIFY_SUBKEYEVENT | NOTIFY_SUBKEYSPACEITEM | NOTIFY_SUBKEYSPACEEVENT)

/* Starts a channel name "__<family>@<db>__:" in b. */
static void channel_prefix(buf *b, const char *family, int dbid) {
    buf_clear(b);
    buf_printf(b, "__%s@%d__:", family, dbid);
}

static slice slice_of_buf(const buf *b) {
    return (slice){b->data, b->len};
}

static int active(int type) {
    return (notify_flags & type) && !pubsub_idle();
}

void notify_keyspace_event(int type, const char *event, slice key, int dbid) {
    if (!active(type)) return;
    if (!(notify_flags & (NOTIFY_KEYSPACE | NOTIFY_KEYEVENT))) return;
    slice ev = slice_of(event);
    buf chan;
    buf_init(&chan);
    if (notify_flags & NOTIFY_KEYSPACE) {
        channel_prefix(&chan, "keyspace", dbid);
        buf_append(&chan, key.p, key.len);
        pubsub_publish(slice_of_buf(&chan), ev);
    }
    if (notify_flags & NOTIFY_KEYEVENT) {
        channel_prefix(&chan, "keyevent", dbid);
        buf_append(&chan, ev.p, ev.len);
        pubsub_publish(slice_of_buf(&chan), key);
    }
    buf_deinit(&chan);
}

void notify_overwritten(slice key, int dbid, int old_type, int new_type) {
    notify_keyspace_event(NOTIFY_OVERWRITTEN, "overwritten", key, dbid);
    if (old_type != new_type) notify_keyspace_event(NOTIFY_TYPE_CHANGED, "type_changed", key, dbid);
}

/* Appends "<len>:<bytes>". */
static void put_counted(buf *b, const char *p, size_t len) {
    buf_printf(b, "%zu:", len);
    buf_append(b, p, len);
}

/* Appends the field list "<len>:<field>[,<len>:<field>...]". */
static void put_fields(buf *b, const slice *fields, size_t n) {
    for (size_t i = 0; i < n; i++) {
        if (i) buf_putc(b, ',');
        put_counted(b, fields[i].p, fields[i].len);
    }
}

void notify_subkey_event(int type, const char *event, slice key, const slice *fields, size_t n,
                         int dbid) {
    if (n == 0 || !active(type) || !(notify_flags & SUBKEY_FAMILIES)) return;
    slice ev = slice_of(event);
    int has_pipe = strchr(event, '|') != NULL;
    buf chan, msg;
    buf_init(&chan);
    buf_init(&msg);
    if ((notify_flags & NOTIFY_SUBKEYSPACE) && !has_pipe) {
        channel_prefix(&chan, "subkeyspace", dbid);
        buf_append(&chan, key.p, key.len);
        buf_clear(&msg);
        buf_append(&msg, ev.p, ev.len);
        buf_putc(&msg, '|');
        put_fields(&msg, fields, n);
        pubsub_publish(slice_of_buf(&chan), slice_of_buf(&msg));
    }
    if (notify_flags & NOTIFY_SUBKEYEVENT) {
        channel_prefix(&chan, "subkeyevent", dbid);
        buf_append(&chan, ev.p, ev.len);
        buf_clear(&msg);
        put_counted(&msg, key.p, key.len);
        buf_putc(&msg, '|');
        put_fields(&msg, fields, n);
        pubsub_publish(slice_of_buf(&chan), slice_of_buf(&msg));
    }
    if ((notify_flags & NOTIFY_SUBKEYSPACEITEM) && !memchr(key.p, '\n', key.len)) {
        for (size_t i = 0; i < n; i++) {
            channel_prefix(&chan, "subkeyspaceitem", dbid);
            buf_append(&chan, key.p, key.len);
            buf_putc(&chan, '\n');
            buf_append(&chan, fields[i].p, fields[i].len);
            pubsub_publish(slice_of_buf(&chan), ev);
        }
    }
    if ((notify_flags & NOTIFY_SUBKEYSPACEEVENT) && !has_pipe) {
        channel_prefix(&chan, "subkeyspaceevent", dbid);
        buf_append(&chan, ev.p, ev.len);
        buf_putc(&chan, '|');
        buf_append(&chan, key.p, key.len);
        buf_clear(&msg);
        put_fields(&msg, fields, n);
        pubsub_publish(slice_of_buf(&chan), slice_of_buf(&msg));
    }
    buf_deinit(&chan);
    buf_deinit(&msg);
}

/* ---- expiry hooks ---- */

/* db/ reports reaped fields while the hash entry is still linked; a hash they left empty
 * is deleted right after (a plain deletion, not an expired key), for which Redis
 * publishes "del". */
static void on_fields_expired(db *d, const char *key, size_t klen, const slice *fields, size_t n) {
    slice k = {key, klen};
    notify_keyspace_event(NOTIFY_HASH, "hexpired", k, d->id);
    notify_subkey_event(NOTIFY_HASH, "hexpired", k, fields, n, d->id);
    dbentry *e = db_find_raw(d, k);
    if (!e || e->val->type != OBJ_HASH || hash_stored((const hash *)e->val) == 0)
        notify_keyspace_event(NOTIFY_GENERIC, "del", k, d->id);
}

/* A big hash whose every stored field expired goes as a whole: the same "hexpired" and
 * "del"; the subkey events name every field, gathered here only when someone listens for
 * them (the entry is still linked while the hook runs). */
static void on_hash_expired(db *d, const char *key, size_t klen) {
    if (!notify_flags) return; /* the common case: no lookup for nobody */
    slice k = {key, klen};
    notify_keyspace_event(NOTIFY_HASH, "hexpired", k, d->id);
    dbentry *e = NULL;
    if (active(NOTIFY_HASH) && (notify_flags & SUBKEY_FAMILIES)) e = db_find_raw(d, k);
    if (e && e->val->type == OBJ_HASH) {
        hash *h = (hash *)e->val;
        size_t n = hash_stored(h), i = 0;
        slice *fields = mem_alloc(n * sizeof(*fields));
        hash_iter it;
        hash_entry he;
        hash_iter_init(&it, h, DB_NOW_NOTHING_DUE);
        while (i < n && hash_iter_next(&it, &he))
            fields[i++] = he.field;
        hash_iter_deinit(&it);
        notify_subkey_event(NOTIFY_HASH, "hexpired", k, fields, i, d->id);
        mem_free(fields);
    }
    notify_keyspace_event(NOTIFY_GENERIC, "del", k, d->id);
}

static void on_key_expired(db *d, const char *key, size_t klen) {
    notify_keyspace_event(NOTIFY_EXPIRED, "expired", (slice){key, klen}, d->id);
}

static void on_key_evicted(db *d, const char *key, size_t klen) {
    notify_keyspace_event(NOTIFY_EVICTED, "evicted", (slice){key, klen}, d->id);
}

/* A field evicted alone (Mayfly's volatile-soonest): "hevicted" in the evicted class, and
 * its field-naming event. */
static void on_fields_evicted(db *d, const char *key, size_t klen, const slice *fields, size_t n) {
    slice k = {key, klen};
    notify_keyspace_event(NOTIFY_EVICTED, "hevicted", k, d->id);
    notify_subkey_event(NOTIFY_EVICTED, "hevicted", k, fields, n, d->id);
}

/* Redis's "new" event (class n), published when a key is created. */
static void on_key_added(db *d, const char *key, size_t klen) {
    notify_keyspace_event(NOTIFY_NEW, "new", (slice){key, klen}, d->id);
}

static void on_key_missed(db *d, const char *key, size_t klen) {
    notify_keyspace_event(NOTIFY_KEY_MISS, "keymiss", (slice){key, klen}, d->id);
}

static int fields_wanted(void) {
    return notify_flags != 0;
}

static const db_hooks notify_hooks = {
    .key_added = on_key_added,
    .key_missed = on_key_missed,
    .key_expired = on_key_expired,
    .key_evicted = on_key_evicted,
    .fields_expired = on_fields_expired,
    .fields_evicted = on_fields_evicted,
    .hash_expired = on_hash_expired,
    .fields_wanted = fields_wanted,
};

void notify_init(void) {
    db_hooks_add(&notify_hooks);
}

/* ---- notify-keyspace-events ---- */

/* Bit i of config.notify_keyspace_events is letter i of this string (the NOTIFY_* bits
 * follow the same order). 'A' stands for "g$lshzxetd". */
static const char notify_letters[] = "KEg$lshzxetmdnocrSTIV";
#define NOTIFY_BIT(ch) (1 << (strchr(notify_letters, (ch)) - notify_letters))

static int notify_all_bits(void) {
    int bits = 0;
    for (const char *p = "g$lshzxetd"; *p; p++)
        bits |= NOTIFY_BIT(*p);
    return bits;
}

static int parse_notify(const char *v, const char **err) {
    int flags = 0;
    for (const char *p = v; *p; p++) {
        if (*p == 'A') {
            flags |= notify_all_bits();
        } else if (strchr(notify_letters, *p)) {
            flags |= NOTIFY_BIT(*p);
        } else {
            *err = "Invalid event class character. Use 'Ag$lshzxeKEtmdnocrSTIV'.";
            return -1;
        }
    }
    config.notify_keyspace_events = flags;
    return 0;
}

/* Prints the classes as Redis does: 'A' when all of its classes are on (then n, o, c and
 * r are not shown), else the type letters, followed by K E m and the subkey channels. */
static void print_notify(buf *out) {
    int flags = config.notify_keyspace_events, all = notify_all_bits();
    const char *types = (flags & all) == all ? "" : "g$lshzxetdnocr";
    if ((flags & all) == all) buf_putc(out, 'A');
    for (const char *p = types; *p; p++)
        if (flags & NOTIFY_BIT(*p)) buf_putc(out, *p);
    for (const char *p = "KEmSTIV"; *p; p++)
        if (flags & NOTIFY_BIT(*p)) buf_putc(out, *p);
}

const config_row notify_config_rows[] = {
    {.name = "notify-keyspace-events",
     .kind = CONFIG_SPECIAL,
     .def = "",
     .parse = parse_notify,
     .print = print_notify},
    {0},
};
