/* notify: keyspace notifications (notify-keyspace-events), published on the
 * __keyspace@<db>__:<key> and __keyevent@<db>__:<event> channels, plus Redis 8.8's subkey
 * notifications naming the hash fields a command touched (docs/notifications.md):
 *
 *     __subkeyspace@<db>__:<key>              <event>|<len>:<field>[,<len>:<field>...]
 *     __subkeyevent@<db>__:<event>            <keylen>:<key>|<len>:<field>[,...]
 *     __subkeyspaceitem@<db>__:<key>\n<field> <event>          (one per field)
 *     __subkeyspaceevent@<db>__:<event>|<key> <len>:<field>[,...]
 *
 * Commands call notify_keyspace_event after a successful change, once per key; a hash
 * command that names fields then calls notify_subkey_event for the same event, once per
 * command with all the fields it changed (Redis's notifyKeyspaceEventWithSubkeys is the
 * pair of calls, in that order). Both cost one flag test when notifications are off. */
#ifndef MAYFLY_CLIENT_NOTIFY_H
#define MAYFLY_CLIENT_NOTIFY_H

#include "mayfly/config.h"
#include "mayfly/util/slice.h"

#include <stddef.h>

/* Event classes: Redis's flag letters in notify-keyspace-events. */
#define NOTIFY_KEYSPACE (1 << 0)          /* K */
#define NOTIFY_KEYEVENT (1 << 1)          /* E */
#define NOTIFY_GENERIC (1 << 2)           /* g */
#define NOTIFY_STRING (1 << 3)            /* $ */
#define NOTIFY_LIST (1 << 4)              /* l */
#define NOTIFY_SET (1 << 5)               /* s */
#define NOTIFY_HASH (1 << 6)              /* h */
#define NOTIFY_ZSET (1 << 7)              /* z */
#define NOTIFY_EXPIRED (1 << 8)           /* x */
#define NOTIFY_EVICTED (1 << 9)           /* e */
#define NOTIFY_STREAM (1 << 10)           /* t */
#define NOTIFY_KEY_MISS (1 << 11)         /* m */
#define NOTIFY_MODULE (1 << 12)           /* d */
#define NOTIFY_NEW (1 << 13)              /* n */
#define NOTIFY_OVERWRITTEN (1 << 14)      /* o */
#define NOTIFY_TYPE_CHANGED (1 << 15)     /* c */
#define NOTIFY_RATE_LIMIT (1 << 16)       /* r */
#define NOTIFY_SUBKEYSPACE (1 << 17)      /* S: __subkeyspace@<db>__:<key> */
#define NOTIFY_SUBKEYEVENT (1 << 18)      /* T: __subkeyevent@<db>__:<event> */
#define NOTIFY_SUBKEYSPACEITEM (1 << 19)  /* I: __subkeyspaceitem@<db>__:<key>\n<field> */
#define NOTIFY_SUBKEYSPACEEVENT (1 << 20) /* V: __subkeyspaceevent@<db>__:<event>|<key> */
/* 'A': every type class but n, o, c, r and m. */
#define NOTIFY_ALL                                                                                 \
    (NOTIFY_GENERIC | NOTIFY_STRING | NOTIFY_LIST | NOTIFY_SET | NOTIFY_HASH | NOTIFY_ZSET |       \
     NOTIFY_EXPIRED | NOTIFY_EVICTED | NOTIFY_STREAM | NOTIFY_MODULE)

/* The enabled classes, parsed from notify-keyspace-events by notify.c's directive (whose
 * letter table follows the bit order above); 0 when off. */
#define notify_flags (config.notify_keyspace_events)

/* Installs the db hooks that publish "expired", "hexpired", "new" and "del" for lazy and
 * active expiry and key creation. Call once at start-up (server.c). */
void notify_init(void);
/* The notify-keyspace-events directive (config.h). */
extern const config_row notify_config_rows[];

/* Publishes event for key in database dbid if class type is enabled. */
void notify_keyspace_event(int type, const char *event, slice key, int dbid);
/* A write replaced key's value (Redis 8.2: setKey over an existing key, so the SET family,
 * GETSET and MSET before their own event; RENAME, COPY ... REPLACE and RESTORE ... REPLACE
 * after theirs): "overwritten" (class o), then "type_changed" (class c) when the value's
 * type changed (old_type, new_type: OBJ_* values). */
void notify_overwritten(slice key, int dbid, int old_type, int new_type);
/* Publishes a field-naming event for fields[0..n) of key (subkey notifications). */
void notify_subkey_event(int type, const char *event, slice key, const slice *fields, size_t n,
                         int dbid);

#endif
