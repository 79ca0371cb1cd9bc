/* cachehog: a process that does nothing but memory work, the stand-in for a co-located
 * replica in bench/repl_bench.py (bench/README.md section 10, "Co-location").
 *
 *     mayfly-cachehog [-m MEGABYTES] [-t SECONDS]
 *
 * Fills an array of MEGABYTES (default 16, at most 16384) and then, until SECONDS passed
 * (default 300) or SIGTERM/SIGINT came, adds 1 to one 8-byte word at a time, each at a
 * pseudo-random place (a 64-bit LCG; the index is the state's high 32 bits times the word
 * count, shifted down by 32: no modulo): every access a cache line chosen at random over the
 * whole array, read and written back, as a replica's dictionary lookups and stores are, but
 * with no pause for parsing or system calls. On a machine whose CPUs share a last-level
 * cache, such a process evicts the other CPU's data from it at the rate it runs. At the
 * end one line:
 *
 *     accesses=<count> seconds=<wall> megabytes=<size> checksum=<sum of a few words>
 *
 * (the checksum keeps the compiler from dropping the loop). Exit status 0, or 2 on bad
 * arguments or no memory. */
#define _GNU_SOURCE
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t stop_flag;

static void on_signal(int sig) {
    (void)sig;
    stop_flag = 1;
}

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int parse_positive(const char *s, long max, long *out) {
    char *end = NULL;
    long v = strtol(s, &end, 10);
    if (end == s || *end != '\0' || v <= 0 || v > max) return -1;
    *out = v;
    return 0;
}

int main(int argc, char **argv) {
    long mb = 16;
    long seconds = 300;
    int opt;
    while ((opt = getopt(argc, argv, "m:t:")) != -1) {
        long *dst = opt == 'm' ? &mb : opt == 't' ? &seconds : NULL;
        if (dst == NULL || parse_positive(optarg, opt == 'm' ? 16384 : 86400, dst) != 0) {
            fprintf(stderr, "usage: %s [-m MEGABYTES] [-t SECONDS]\n", argv[0]);
            return 2;
        }
    }
    size_t words = (size_t)mb * 1024 * 1024 / sizeof(uint64_t);
    uint64_t *a = malloc(words * sizeof(uint64_t));
    if (a == NULL) {
        fprintf(stderr, "cachehog: no memory for %ld MB\n", mb);
        return 2;
    }
    for (size_t i = 0; i < words; i++)
        a[i] = i;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);

    double t0 = now_s();
    double end = t0 + (double)seconds;
    uint64_t x = 88172645463325252ULL;
    unsigned long long accesses = 0;
    /* Bounded: the clock and the flag are looked at every 2^20 accesses (a few ms). */
    while (!stop_flag && now_s() < end) {
        for (int i = 0; i < (1 << 20); i++) {
            x = x * 6364136223846793005ULL + 1442695040888963407ULL;
            a[((x >> 32) * words) >> 32]++;
        }
        accesses += 1u << 20;
    }
    uint64_t sum = a[0] + a[words / 2] + a[words - 1];
    printf("accesses=%llu seconds=%.3f megabytes=%ld checksum=%llu\n", accesses, now_s() - t0, mb,
           (unsigned long long)sum);
    free(a);
    return 0;
}
