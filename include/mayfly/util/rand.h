/* rand: a fast non-cryptographic PRNG (xoshiro256**) for RANDOMKEY, HRANDFIELD, seeds. */
#ifndef MAYFLY_UTIL_RAND_H
#define MAYFLY_UTIL_RAND_H

#include <stdint.h>

/* Seeds the generator (from /dev/urandom when seed is 0). */
void rand_seed(uint64_t seed);
/* Returns 64 random bits. */
uint64_t rand_u64(void);
/* Returns a uniform integer in [0, n) (n > 0). */
uint64_t rand_below(uint64_t n);

#endif
