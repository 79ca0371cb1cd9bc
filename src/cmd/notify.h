/* notify: keyspace notifications (notify-keyspace-events), published on the
 * __keyspace@<db>__:<key> and __keyevent@<db>__:<event> channels, plus Mayfly's
 * field-naming events (Redis 8.8's subkey notifications).
 *
 * Commands call these after a successful change, once per key (and, for subkey events,
 * once per command with all the fields it changed). They cost one flag test when
 * notifications are off. */
#ifndef MAYFLY_CMD_NOTIFY_H
#define MAYFLY_CMD_NOTIFY_H

#include <stddef.h>

#include "util/slice.h"

/* Event classes: Redis's flag letters in notify-keyspace-events. */
#define NOTIFY_KEYSPACE (1 << 0) /* K */
#define NOTIFY_KEYEVENT (1 << 1) /* E */
#define NOTIFY_GENERIC (1 << 2)  /* g */
#define NOTIFY_STRING (1 << 3)   /* $ */
#define NOTIFY_LIST (1 << 4)     /* l */
#define NOTIFY_SET (1 << 5)      /* s */
#define NOTIFY_HASH (1 << 6)     /* h */
#define NOTIFY_ZSET (1 << 7)     /* z */
#define NOTIFY_EXPIRED (1 << 8)  /* x */
#define NOTIFY_EVICTED (1 << 9)  /* e */
#define NOTIFY_STREAM (1 << 10)  /* t */
#define NOTIFY_KEY_MISS (1 << 11) /* m */
#define NOTIFY_MODULE (1 << 12)  /* d */
#define NOTIFY_NEW (1 << 13)     /* n */

/* The enabled classes (parsed from notify-keyspace-events); 0 when off. */
extern int notify_flags;

/* Publishes event for key in database dbid if class type is enabled. */
void notify_keyspace_event(int type, const char *event, slice key, int dbid);
/* Publishes a field-naming event for fields[0..n) of key (subkey notifications). */
void notify_subkey_event(int type, const char *event, slice key, const slice *fields, size_t n,
                         int dbid);

#endif
