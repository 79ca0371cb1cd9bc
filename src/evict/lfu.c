/* lfu: the access clocks evict/ ranks keys by (see evict.h).
 *
 * Under an LRU policy (and noeviction, random, ttl) a value's 32-bit clock is the time of
 * its last access in seconds, which db/ stores itself. Under an LFU policy it is
 *
 *     31                        8 7        0
 *     +--------------------------+----------+
 *     | minute of last decrement |  counter |     (Redis's 16 + 8 bits, with 24 for time)
 *     +--------------------------+----------+
 *
 * The counter grows logarithmically: an access increments it with probability
 * 1 / ((counter - LFU_INIT_VAL) * lfu-log-factor + 1), so it saturates at 255 after about a
 * million accesses with the default factor 10; it loses one per lfu-decay-time minutes
 * without access, applied lazily when the key is next accessed or ranked. New values start
 * at LFU_INIT_VAL so that a key just written is not the first candidate for eviction. The
 * minute field wraps after 2^24 minutes (32 years); an elapsed time is computed modulo
 * that. Switching policies at run time reads one layout as the other until keys are
 * touched again, as in Redis. */
#include "mayfly/config.h"
#include "mayfly/evict/evict.h"
#include "mayfly/util/rand.h"

#define LFU_INIT_VAL 5
#define LFU_MINUTES_MASK 0xFFFFFFu /* 24 bits of minutes */

static uint32_t minutes_of(int64_t now_ms) {
    return (uint32_t)((uint64_t)(now_ms / 60000) & LFU_MINUTES_MASK);
}

/* Minutes elapsed since ldt, the minute field of a clock, taking one wrap into account. */
static uint32_t minutes_since(uint32_t ldt, int64_t now_ms) {
    uint32_t now = minutes_of(now_ms);
    if (now >= ldt) return now - ldt;
    return LFU_MINUTES_MASK - ldt + now;
}

/* The counter of clock c after the decay due at now_ms. */
static uint32_t decayed(uint32_t c, int64_t now_ms) {
    uint32_t counter = c & 255u;
    if (evict_conf.lfu_decay_time <= 0) return counter;
    uint32_t periods = minutes_since(c >> 8, now_ms) / (uint32_t)evict_conf.lfu_decay_time;
    return periods >= counter ? 0 : counter - periods;
}

static uint32_t log_incr(uint32_t counter) {
    if (counter >= 255) return 255;
    double r = (double)(rand_u64() >> 11) * (1.0 / 9007199254740992.0); /* [0, 1) */
    double base = (double)counter - LFU_INIT_VAL;
    if (base < 0) base = 0;
    double p = 1.0 / (base * evict_conf.lfu_log_factor + 1);
    return r < p ? counter + 1 : counter;
}

uint32_t evict_lfu_touch(uint32_t old, int64_t now_ms) {
    uint32_t counter = log_incr(decayed(old, now_ms));
    return minutes_of(now_ms) << 8 | counter;
}

uint32_t evict_lfu_new(uint32_t old, int64_t now_ms) {
    (void)old;
    return minutes_of(now_ms) << 8 | LFU_INIT_VAL;
}

int evict_lfu_freq(uint32_t lru, int64_t now_ms) {
    return (int)decayed(lru, now_ms);
}

long long evict_idle_seconds(uint32_t lru, int64_t now_ms) {
    long long idle = now_ms / 1000 - (long long)lru;
    return idle > 0 ? idle : 0;
}

long long evict_clock_restore(long long idle_s, long long freq, int64_t now_ms) {
    if (evict_policy_is_lfu(config.maxmemory_policy)) {
        if (freq < 0) return -1;
        return (long long)(minutes_of(now_ms) << 8 | (uint32_t)(freq > 255 ? 255 : freq));
    }
    if (idle_s < 0) return -1;
    long long at = now_ms / 1000 - idle_s;
    return at > 0 ? at : 1; /* 0 means "no clock yet" to db/ */
}
