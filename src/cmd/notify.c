/* notify: placeholder until pub/sub lands: notifications are parsed nowhere yet, so
 * notify_flags stays 0 and nothing is published. */
#include "cmd/notify.h"

int notify_flags;

void notify_keyspace_event(int type, const char *event, slice key, int dbid) {
    (void)type;
    (void)event;
    (void)key;
    (void)dbid;
}

void notify_subkey_event(int type, const char *event, slice key, const slice *fields, size_t n,
                         int dbid) {
    (void)type;
    (void)event;
    (void)key;
    (void)fields;
    (void)n;
    (void)dbid;
}
