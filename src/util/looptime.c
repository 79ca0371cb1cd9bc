/* looptime: the loop thread's sleep in epoll, timed where it happens (see looptime.h).
 *
 * epoll_wait and epoll_pwait are defined here and go straight to the kernel (the
 * epoll_pwait system call, which with no signal mask is epoll_wait), so libc's wrappers
 * are not needed and a sanitizer's interceptors of them are replaced. Only the thread that
 * called looptime_start times its calls, and only calls with a non-zero timeout (a zero
 * one cannot sleep); two monotonic clock reads (vDSO, no system call) per such wait. */
#include "mayfly/util/looptime.h"

#include <signal.h>
#include <sys/epoll.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static _Thread_local int timed; /* this thread's waits are timed */
static uint64_t idle_ns, waits;
static uint64_t mark_ns, mark_idle_ns, turns; /* the last looptime_turn_mark */

static uint64_t mono_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int wait_in_kernel(int epfd, struct epoll_event *events, int maxevents, int timeout,
                          const sigset_t *sigmask) {
    /* The kernel's sigset is _NSIG / 8 bytes (not glibc's 128-byte sigset_t). */
    return (int)syscall(SYS_epoll_pwait, epfd, events, maxevents, timeout, sigmask,
                        sigmask ? (size_t)(_NSIG / 8) : (size_t)0);
}

static int timed_wait(int epfd, struct epoll_event *events, int maxevents, int timeout,
                      const sigset_t *sigmask) {
    if (!timed || timeout == 0) return wait_in_kernel(epfd, events, maxevents, timeout, sigmask);
    uint64_t start = mono_ns();
    int n = wait_in_kernel(epfd, events, maxevents, timeout, sigmask);
    idle_ns += mono_ns() - start;
    waits++;
    return n;
}

int epoll_wait(int epfd, struct epoll_event *events, int maxevents, int timeout) {
    return timed_wait(epfd, events, maxevents, timeout, NULL);
}

int epoll_pwait(int epfd, struct epoll_event *events, int maxevents, int timeout,
                const sigset_t *sigmask) {
    return timed_wait(epfd, events, maxevents, timeout, sigmask);
}

void looptime_start(void) {
    timed = 1;
    mark_ns = mono_ns();
    mark_idle_ns = idle_ns;
}

void looptime_turn_mark(void) {
    mark_ns = mono_ns();
    mark_idle_ns = idle_ns;
    turns++;
}

int64_t looptime_turn_busy_us(void) {
    return looptime_turn_busy_at((int64_t)(mono_ns() / 1000));
}

int64_t looptime_turn_busy_at(int64_t mono_us) {
    int64_t wall = mono_us - (int64_t)(mark_ns / 1000),
            slept = (int64_t)((idle_ns - mark_idle_ns) / 1000);
    return wall > slept ? wall - slept : 0;
}

uint64_t looptime_turns(void) {
    return turns;
}

uint64_t looptime_idle_ns(void) {
    return idle_ns;
}

uint64_t looptime_waits(void) {
    return waits;
}
