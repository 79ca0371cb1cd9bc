/* test_rng.h: a seeded PRNG for randomized unit tests, so a failure replays.
 *
 *     rng_state = test_seed("DICT_TEST_SEED");   // the variable, if set, fixes the seed
 *     uint64_t x = rng();
 *
 * splitmix64: separate from util/rand's generator, so tests never disturb the server's.
 * churn_rounds runs a "scan while the table grows and shrinks" check over 40 random
 * rounds and reports the first failure with its seed; dict and otab share it. */
#ifndef MAYFLY_TEST_RNG_H
#define MAYFLY_TEST_RNG_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static uint64_t rng_state __attribute__((unused));

static inline uint64_t rng(void) {
    uint64_t z = (rng_state += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

/* The seed named by the environment variable env, else one from the clock. */
static inline uint64_t test_seed(const char *env) {
    const char *s = getenv(env);
    if (s) return strtoull(s, NULL, 10);
    return (uint64_t)time(NULL) ^ ((uint64_t)clock() << 32);
}

/* One round: n_stable elements stay for the whole scan while others come and go up to
 * peak; per_call elements per scan call. Sets *grew, *shrank and *resized when the table
 * did so during the scan; returns an error message or NULL. */
typedef const char *(*churn_round_fn)(uint32_t n_stable, uint32_t peak, uint32_t per_call,
                                      int *grew, int *shrank, int *resized);

/* 40 rounds of fn with random sizes (per_call in [per_call_min, per_call_min + span));
 * writes the failure (with the seed) into err and returns 0, or returns 1 when every
 * round passed and the table grew, shrank after growing, and resized at least once. */
static inline int churn_rounds(const char *seed_env, churn_round_fn fn, uint32_t per_call_min,
                               uint32_t span, char *err, size_t cap) {
    uint64_t seed = test_seed(seed_env);
    rng_state = seed;
    int grew = 0, shrank = 0, resized = 0;
    for (int round = 0; round < 40; round++) {
        uint32_t n_stable = 50 + (uint32_t)(rng() % 400);
        uint32_t peak = 2000 + (uint32_t)(rng() % 20000);
        uint32_t per_call = per_call_min + (uint32_t)(rng() % span);
        int g = 0, sh = 0, rs = 0;
        const char *e = fn(n_stable, peak, per_call, &g, &sh, &rs);
        if (e) {
            snprintf(err, cap, "seed %llu: round %d: %s", (unsigned long long)seed, round, e);
            return 0;
        }
        grew |= g;
        shrank |= sh && g;
        resized |= rs;
    }
    if (grew && shrank && resized) return 1;
    snprintf(err, cap, "seed %llu: grew %d, shrank %d, resized %d", (unsigned long long)seed, grew,
             shrank, resized);
    return 0;
}

#endif
