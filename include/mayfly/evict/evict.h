/* evict: the memory ceiling. maxmemory is checked before each command (the server's OOM
 * gate calls evict_perform); over it, keys are evicted by the maxmemory-policy until the
 * memory is back under the limit or the time allowed by maxmemory-eviction-tenacity is
 * spent (the server then calls evict_perform from its loop until it is done), or, when
 * nothing may be evicted, commands that may grow memory get -OOM. The design is in
 * src/evict/evict.c.
 *
 * evict/ is a library: it deletes through db/ (db_evict, whose hooks publish "evicted",
 * write DEL to the journal and touch WATCH), keeps access clocks through db/'s clock hook
 * (LRU seconds, or LFU counters), frees big values on a background thread (lazyfree.h)
 * and learns about the process around it (loading, busy scripts, replication buffers)
 * only through what server.c registers here. */
#ifndef MAYFLY_EVICT_EVICT_H
#define MAYFLY_EVICT_EVICT_H

#include "mayfly/config.h"
#include "mayfly/db/db.h"

#include <stddef.h>
#include <stdint.h>

/* maxmemory-policy values, in config_policy_names' order. */
enum evict_policy {
    EVICT_NOEVICTION = 0,
    EVICT_ALLKEYS_LRU = 1,
    EVICT_ALLKEYS_LFU = 2,
    EVICT_ALLKEYS_RANDOM = 3,
    EVICT_VOLATILE_LRU = 4,
    EVICT_VOLATILE_LFU = 5,
    EVICT_VOLATILE_RANDOM = 6,
    EVICT_VOLATILE_TTL = 7,
    /* Mayfly's own: exactly what expires soonest, keys and single hash fields alike, in
     * deadline order from the expiry index (docs/compatibility.md). */
    EVICT_VOLATILE_SOONEST = 8,
};

/* 1 if the policy keeps LFU counters in the access clocks (OBJECT FREQ), else LRU times. */
int evict_policy_is_lfu(int policy);
/* 1 if the policy ranks by access time (LRU). */
int evict_policy_is_lru(int policy);

/* The directives evict/ owns (maxmemory and maxmemory-policy live in the global config). */
typedef struct evict_config {
    int samples;         /* maxmemory-samples: keys sampled per pick (1..64) */
    int tenacity;        /* maxmemory-eviction-tenacity: 0..100, see evict_time_limit_us */
    int lfu_log_factor;  /* lfu-log-factor */
    int lfu_decay_time;  /* lfu-decay-time: minutes per halving step of a counter (0: never) */
    int lazy_eviction;   /* lazyfree-lazy-eviction */
    int lazy_expire;     /* lazyfree-lazy-expire */
    int lazy_server_del; /* lazyfree-lazy-server-del */
    int lazy_user_del;   /* lazyfree-lazy-user-del */
    int lazy_user_flush; /* lazyfree-lazy-user-flush */
} evict_config;
extern evict_config evict_conf;
/* The directives of the memory ceiling (config.h rows, added by server.c): maxmemory and
 * maxmemory-policy (kept in the global config, which INFO reads), and evict_conf's. A change
 * of maxmemory, the policy or an lfu-* directive calls evict_config_changed. */
extern const config_row evict_config_rows[];

/* evict_perform's answers (Redis's EVICT_OK, EVICT_RUNNING, EVICT_FAIL). */
enum evict_result {
    EVICT_OK = 0,      /* under the limit, or evicting is not possible right now */
    EVICT_RUNNING = 1, /* over the limit; eviction goes on from the loop (evict_pending) */
    EVICT_FAIL = 2,    /* over the limit and nothing may be evicted: refuse deny-oom commands */
};

/* Checks memory against maxmemory and, if over it, evicts per the policy for at most the
 * tenacity's time limit (Redis's performEvictions). now_ms is the command's time (access
 * ages are measured from it). */
int evict_perform(int64_t now_ms);
/* 1 while an eviction that ran out of time must be continued: the server calls
 * evict_perform from its loop until this is 0. */
extern int evict_pending;
/* Whether the last check before a command found the memory over the limit with nothing to
 * evict (Redis's pre_command_oom_state): scripts refuse their first deny-oom command by it. */
extern int evict_oom_at_start;

/* 1 when the gate must run before commands: maxmemory is set. The OOM gate's switch. */
extern int evict_armed;
/* Call after maxmemory, maxmemory-policy or an LFU directive changed (and at start-up):
 * re-arms the gate, installs the access clock of the policy in db/, and, when memory is
 * over a lowered limit, logs Redis's warning and sets evict_pending. */
void evict_config_changed(void);

/* ---- what is counted ---- */

/* Memory as maxmemory sees it: mem_used() less what evict_not_counted() reports. */
size_t evict_used_memory(void);
/* Buffers not counted against maxmemory, as in Redis: the append-only log's buffer and the
 * replicas' output beyond the backlog, so that the DELs eviction writes into them cannot
 * drive more eviction. The subsystem that owns each registers its size (server.c). */
enum evict_uncounted {
    EVICT_UNCOUNTED_AOF = 0,      /* the log's write buffer (INFO mem_aof_buffer) */
    EVICT_UNCOUNTED_REPLICAS = 1, /* replica buffers beyond the backlog (mem_clients_slaves) */
    EVICT_UNCOUNTED_KINDS = 2,
};
void evict_set_uncounted(enum evict_uncounted kind, size_t (*bytes)(void));
/* The bytes of one kind (0 when nothing is registered for it). */
size_t evict_uncounted(enum evict_uncounted kind);
/* Their sum (INFO mem_not_counted_for_evict, Redis's freeMemoryGetNotCountedMemory). */
size_t evict_not_counted(void);
/* 1 if allocating more bytes now would put memory over maxmemory (Redis's
 * overMaxmemoryAfterAlloc): a table may put off growing until it is very full. */
int evict_over_after(size_t more);

/* db/'s grow check (db_set_grow_check): a key table may not grow by more_bytes while that
 * would cross maxmemory, until it is 1.618 times as full as it has buckets (Redis's
 * dictExpandAllowed with HASHTABLE_MAX_LOAD_FACTOR): a big bucket array allocated at once
 * would otherwise evict many keys for nothing. */
int evict_table_may_grow(size_t more_bytes, double load);

/* What the process tells evict/ (server.c sets them; NULL: not applicable). */
typedef struct evict_host {
    /* 0 while evicting must not happen: loading, a busy script serving other clients, a
     * replica that ignores maxmemory, clients paused for writes. */
    int (*may_evict)(void);
} evict_host;
void evict_set_host(const evict_host *h);

/* ---- memory figures (INFO memory, MEMORY STATS) ---- */

/* Notes mem_used() as taken at the end of start-up (used_memory_startup). */
void evict_mark_startup(void);
size_t evict_startup_memory(void);
/* The highest mem_used() seen (used_memory_peak): sampled by the cron and by whoever
 * reports it (evict_memory_peak samples first). */
void evict_sample_peak(void);
size_t evict_memory_peak(void);

/* ---- statistics ---- */

typedef struct evict_stats {
    long long exceeded_total_us; /* time spent over the limit (total_eviction_exceeded_time) */
    int64_t exceeded_since_us;   /* monotonic start of the current excess, 0 if none */
    long long evicted_clients;   /* clients closed by client eviction (INFO evicted_clients) */
} evict_stats;
extern evict_stats evict_stat;
/* INFO stats' total_eviction_exceeded_time and current_eviction_exceeded_time, in ms. */
long long evict_exceeded_total_ms(void);
long long evict_exceeded_current_ms(void);
/* CONFIG RESETSTAT: the exceeded time, the memory peak and evicted_clients start again. */
void evict_reset_stats(void);

/* ---- client eviction (clients.c) ---- */

/* The limit on the memory of all evictable clients in bytes (maxmemory-clients, or its
 * percentage of maxmemory, at least 128 KB), or 0 for none. */
size_t evict_clients_limit(void);
/* 1 if the evictable clients' memory (clientmem.h) has reached the limit: the caller then
 * runs evict_clients. One test while maxmemory-clients is 0. */
int evict_clients_over(void);
/* Closes the biggest evictable clients (session ops->kill: they close before the next
 * flush and run nothing more) until their memory is under the limit, counting each in
 * evicted_clients. net/ calls it before commands and once per loop turn. */
void evict_clients(void);

/* ---- access clocks (lfu.c) ---- */

/* The LFU clocks (installed in db/ by evict_config_changed under an LFU policy): what an
 * access makes of a value's clock (Redis's updateLFU: decay, then a logarithmic increment)
 * and a new value's (LFU_INIT_VAL, so a new key is not the first to go). The clock holds
 * the minute of the last decrement in its high 24 bits and the counter in its low 8. */
uint32_t evict_lfu_touch(uint32_t old, int64_t now_ms);
uint32_t evict_lfu_new(uint32_t old, int64_t now_ms);
/* OBJECT IDLETIME: seconds since the last access of a value with LRU clock lru. */
long long evict_idle_seconds(uint32_t lru, int64_t now_ms);
/* OBJECT FREQ: the LFU counter of clock lru after the decay due at now_ms (not stored). */
int evict_lfu_freq(uint32_t lru, int64_t now_ms);
/* The clock for a value restored with a given idle time in seconds (RESTORE IDLETIME) or
 * LFU counter (RESTORE FREQ); -1 when the argument does not apply to the policy. */
long long evict_clock_restore(long long idle_s, long long freq, int64_t now_ms);

#endif
