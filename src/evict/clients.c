/* clients: client eviction (maxmemory-clients), as Redis 7's evictClients.
 *
 * client/clientmem.c keeps the sum of the memory of every evictable client (normal and
 * pub/sub clients, not CLIENT NO-EVICT, not a primary's or replica's link) up to date as
 * net/ notes each client after its commands, reads and writes. When that sum reaches the
 * limit (maxmemory-clients bytes, or a percentage of maxmemory; never under 128 KB, so a
 * bad setting cannot cut every client off), the biggest client is closed, then the next
 * biggest, until the sum is under the limit:
 *
 *     note(c) ──▶ total ≥ limit? ──▶ walk the live list for the biggest evictable client
 *                                    ──▶ log it, kill it (closed before the next flush),
 *                                        evicted_clients++ ──▶ again while over
 *
 * net/ checks before running each command (so a client that has just grown its buffers
 * past the limit is closed before it runs anything more, as in processCommand) and once
 * per loop turn (Redis's beforeSleep), which catches a query buffer growing with a
 * partial argument and a lowered limit. Redis picks from log2 buckets, so its victim is
 * one of the biggest; here it is the biggest, found by a walk that runs only when over
 * the limit. A killed client stops counting at once (clientmem_evictable). */
#include "evict/evict_int.h"
#include "mayfly/client/clientmem.h"
#include "mayfly/config.h"
#include "mayfly/evict/evict.h"
#include "mayfly/util/log.h"
#include "mayfly/util/strconv.h"

#include <stdint.h>
#include <string.h>

#define CLIENTS_LIMIT_MIN (128 * 1024) /* Redis's floor for maxmemory-clients */

/* maxmemory-clients: bytes, or a percentage of maxmemory kept negative (as Redis). */
static long long maxmemory_clients;

int evict_parse_maxmemory_clients(const char *v, const char **err) {
    size_t len = strlen(v);
    long long n;
    if (len > 1 && v[len - 1] == '%') {
        if (str_to_ll(v, len - 1, &n) < 0 || n < 0) {
            *err = "argument must be a memory or percent value";
            return -1;
        }
        if (n > 100) {
            *err = "percentage argument must be less or equal to 100";
            return -1;
        }
        maxmemory_clients = -n;
    } else {
        if (config_parse_memory(v, &n) < 0) {
            *err = "argument must be a memory or percent value";
            return -1;
        }
        maxmemory_clients = n;
    }
    clientmem_track(maxmemory_clients != 0);
    return 0;
}

void evict_print_maxmemory_clients(buf *out) {
    if (maxmemory_clients < 0)
        buf_printf(out, "%lld%%", -maxmemory_clients);
    else
        buf_printf(out, "%lld", maxmemory_clients);
}

size_t evict_clients_limit(void) {
    unsigned long long limit;
    if (maxmemory_clients < 0 && config.maxmemory > 0)
        limit = (unsigned long long)((double)config.maxmemory * (double)-maxmemory_clients / 100);
    else if (maxmemory_clients > 0)
        limit = (unsigned long long)maxmemory_clients;
    else
        return 0;
    if (limit > SIZE_MAX) return 0;
    return limit < CLIENTS_LIMIT_MIN ? CLIENTS_LIMIT_MIN : (size_t)limit;
}

int evict_clients_over(void) {
    if (!clientmem_tracking) return 0;
    size_t limit = evict_clients_limit();
    return limit && clientmem_evictable_total >= limit;
}

static session *biggest_evictable(void) {
    session *best = NULL;
    for (session *s = session_first(); s; s = s->next) {
        clientmem_update(s); /* its latest figure, if anything changed unnoted */
        if (s->mem_noted && (!best || s->mem_noted > best->mem_noted)) best = s;
    }
    return best;
}

void evict_clients(void) {
    size_t limit = evict_clients_limit();
    if (!clientmem_tracking || !limit) return;
    while (clientmem_evictable_total >= limit) {
        session *s = biggest_evictable();
        if (!s) {
            log_warning("Over client maxmemory after evicting all evictable clients");
            return;
        }
        log_notice("Evicting client: id=%llu addr=%s laddr=%s fd=%d name=%s tot-mem=%zu",
                   (unsigned long long)s->id, s->addr, s->laddr, s->fd, s->name ? s->name : "",
                   s->mem_noted);
        s->ops->kill(s); /* SESS_CLOSE_ASAP: no longer evictable */
        clientmem_update(s);
        evict_stat.evicted_clients++;
    }
}
