/* log: ACL LOG, the recent denials.
 *
 * Entries sit in an array, oldest first (ACL LOG shows them newest first). A new denial
 * that matches one of the ten newest entries (same reason, context, object and user,
 * within a minute of its last update) bumps that entry's count and moves it to the
 * newest place instead of adding a new one, as Redis groups them. */
#include "acl/acl_int.h"
#include "mayfly/util/mem.h"

#include <string.h>

#define GROUPING_MAX_MS 60000
#define GROUPING_SCAN 10

acl_stats acl_stat;

static acl_log_entry *entries; /* oldest first */
static size_t nentries, cap;
static long long next_entry_id;

static void free_entry(acl_log_entry *e) {
    mem_free(e->object);
    mem_free(e->username);
    mem_free(e->client_info);
}

void acl_log_trim(long long max_len) {
    if (max_len < 0) max_len = 0;
    if ((long long)nentries <= max_len) return;
    size_t drop = nentries - (size_t)max_len;
    for (size_t i = 0; i < drop; i++)
        free_entry(&entries[i]);
    memmove(entries, entries + drop, sizeof(acl_log_entry) * (nentries - drop));
    nentries -= drop;
}

static void count_denial(int reason) {
    switch (reason) {
    case ACL_DENIED_AUTH:
        acl_stat.denied_auth++;
        break;
    case ACL_DENIED_CMD:
        acl_stat.denied_cmd++;
        break;
    case ACL_DENIED_KEY:
        acl_stat.denied_key++;
        break;
    default:
        acl_stat.denied_channel++;
        break;
    }
}

static int matches(const acl_log_entry *e, int reason, int context, slice object, slice user,
                   int64_t now_ms) {
    int64_t delta = e->updated_ms - now_ms;
    if (delta < 0) delta = -delta;
    return e->reason == reason && e->context == context && delta <= GROUPING_MAX_MS &&
           e->object_len == object.len && memcmp(e->object, object.p, object.len) == 0 &&
           e->username_len == user.len && memcmp(e->username, user.p, user.len) == 0;
}

void acl_log_add(int reason, int context, slice object, slice username, const char *client_info,
                 int64_t now_ms, long long max_len) {
    count_denial(reason);
    if (max_len <= 0) {
        acl_log_trim(0);
        return;
    }
    for (size_t k = 0; k < GROUPING_SCAN && k < nentries; k++) {
        size_t i = nentries - 1 - k;
        if (!matches(&entries[i], reason, context, object, username, now_ms)) continue;
        acl_log_entry e = entries[i];
        memmove(&entries[i], &entries[i + 1], sizeof(acl_log_entry) * (nentries - 1 - i));
        mem_free(e.client_info);
        e.client_info = mem_strdup(client_info);
        e.updated_ms = now_ms;
        e.count++;
        entries[nentries - 1] = e;
        return;
    }
    if (nentries == cap) {
        cap = cap ? cap * 2 : 16;
        entries = mem_realloc(entries, sizeof(acl_log_entry) * cap);
    }
    acl_log_entry *e = &entries[nentries++];
    e->count = 1;
    e->reason = reason;
    e->context = context;
    e->object = mem_strndup(object.p, object.len);
    e->object_len = object.len;
    e->username = mem_strndup(username.p, username.len);
    e->username_len = username.len;
    e->client_info = mem_strdup(client_info);
    e->entry_id = next_entry_id++;
    e->created_ms = e->updated_ms = now_ms;
    acl_log_trim(max_len);
}

size_t acl_log_len(void) {
    return nentries;
}

const acl_log_entry *acl_log_at(size_t i) {
    return i < nentries ? &entries[nentries - 1 - i] : NULL;
}

void acl_log_reset(void) {
    acl_log_trim(0);
}
