/* Unit tests for util/looptime.c: the loop thread's blocking epoll waits are timed where
 * they happen, libuv's own waits included (its calls resolve to looptime's epoll_wait),
 * also when one poll phase waits twice because a wake-up brought libuv nothing to deliver
 * (libuv 1.44's idle-time metric keeps only the last of those waits). Each run is bounded
 * by its own timer; the bounds are generous (a loaded machine delays a wake-up, never
 * shortens a sleep). */
#include "mayfly/util/looptime.h"
#include "unit/test.h"

#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <uv.h>

static uv_loop_t loop;
static uv_timer_t end_timer;
static uv_prepare_t turn_prepare;
static uint64_t turn_at_ns, turn_idle_ns, busiest_ns; /* the busiest turn, as server.c counts */

static uint64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void on_turn(uv_prepare_t *h) {
    (void)h;
    uint64_t now = now_ns(), idle = looptime_idle_ns();
    uint64_t wall = now - turn_at_ns, slept = idle - turn_idle_ns;
    uint64_t busy = wall > slept ? wall - slept : 0;
    if (busy > busiest_ns) busiest_ns = busy;
    turn_at_ns = now;
    turn_idle_ns = idle;
}

static void on_end(uv_timer_t *t) {
    uv_close((uv_handle_t *)t, NULL);
    uv_close((uv_handle_t *)&turn_prepare, NULL);
}

/* Runs the loop until end_ms from now; returns the wall time in ns. */
static uint64_t run_for(uint64_t end_ms) {
    uv_timer_init(&loop, &end_timer);
    uv_timer_start(&end_timer, on_end, end_ms, 0);
    uv_prepare_init(&loop, &turn_prepare);
    uv_prepare_start(&turn_prepare, on_turn);
    busiest_ns = 0;
    turn_at_ns = now_ns();
    turn_idle_ns = looptime_idle_ns();
    uv_run(&loop, UV_RUN_DEFAULT);
    return now_ns() - turn_at_ns;
}

TEST(a_sleeping_loop_is_idle) {
    ASSERT_EQ(0, uv_loop_init(&loop));
    looptime_start();
    uint64_t idle0 = looptime_idle_ns(), waits0 = looptime_waits();
    run_for(200);
    uint64_t idle = looptime_idle_ns() - idle0;
    ASSERT(looptime_waits() > waits0); /* libuv's wait came through looptime */
    ASSERT(idle >= 150u * 1000000u);
    ASSERT(busiest_ns < 100u * 1000000u);
    ASSERT_EQ(0, uv_loop_close(&loop));
}

static int pair[2];
static void writer(void *arg) {
    (void)arg;
    struct timespec d = {0, 300 * 1000 * 1000};
    nanosleep(&d, NULL);
    ssize_t n = write(pair[1], "x", 1);
    (void)n;
}

static void on_alloc(uv_handle_t *h, size_t size, uv_buf_t *b) {
    static char space[64];
    (void)h;
    (void)size;
    *b = uv_buf_init(space, sizeof space);
}

static void on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *b) {
    (void)s;
    (void)n;
    (void)b;
}

/* A descriptor whose reading stopped stays in libuv's epoll set: data arriving wakes the
 * poll, which libuv then only removes, and waits again. Both sleeps are idle time. */
TEST(a_wake_up_libuv_ignores_is_idle) {
    ASSERT_EQ(0, uv_loop_init(&loop));
    ASSERT_EQ(0, uv_loop_configure(&loop, UV_METRICS_IDLE_TIME)); /* to show libuv's figure */
    looptime_start();
    ASSERT_EQ(0, socketpair(AF_UNIX, SOCK_STREAM, 0, pair));
    uv_pipe_t p;
    ASSERT_EQ(0, uv_pipe_init(&loop, &p, 0));
    ASSERT_EQ(0, uv_pipe_open(&p, pair[0]));
    ASSERT_EQ(0, uv_read_start((uv_stream_t *)&p, on_alloc, on_read));
    uv_run(&loop, UV_RUN_NOWAIT); /* the descriptor enters the epoll set */
    uv_read_stop((uv_stream_t *)&p);
    uv_ref((uv_handle_t *)&p);
    uv_thread_t t;
    ASSERT_EQ(0, uv_thread_create(&t, writer, NULL));
    uint64_t libuv0 = uv_metrics_idle_time(&loop), idle0 = looptime_idle_ns();
    uint64_t wall = run_for(600);
    uv_thread_join(&t);
    uint64_t idle = looptime_idle_ns() - idle0, libuv = uv_metrics_idle_time(&loop) - libuv0;
    fprintf(stderr, "wall %.1f ms, idle %.1f ms (libuv's metric %.1f ms), busiest turn %.1f ms\n",
            wall / 1e6, idle / 1e6, libuv / 1e6, busiest_ns / 1e6);
    ASSERT(idle >= 500u * 1000000u);
    ASSERT(busiest_ns < 100u * 1000000u);
    uv_close((uv_handle_t *)&p, NULL);
    uv_run(&loop, UV_RUN_DEFAULT);
    close(pair[1]);
    ASSERT_EQ(0, uv_loop_close(&loop));
}

/* Another thread's waits are not the loop's. */
static uint64_t other_idle;
static void other_thread(void *arg) {
    (void)arg;
    int ep = epoll_create1(0);
    struct epoll_event ev;
    uint64_t before = looptime_idle_ns();
    epoll_wait(ep, &ev, 1, 50);
    other_idle = looptime_idle_ns() - before;
    close(ep);
}

TEST(other_threads_waits_are_not_timed) {
    looptime_start();
    uv_thread_t t;
    ASSERT_EQ(0, uv_thread_create(&t, other_thread, NULL));
    uv_thread_join(&t);
    ASSERT_EQ(0, other_idle);
}

/* The turn's busy time so far, read in the middle of a turn (a timer's callback): the
 * poll's sleep since the last mark is left out, work since it is counted, and each mark is
 * one more turn. Bounds only from below (a loaded machine lengthens, never shortens). */
static uint64_t marked_at_ns, marks, turns_at_start;
static int64_t busy_after_sleep_us, busy_after_spin_us;
static uint64_t wall_after_sleep_ns;

static void on_mark(uv_prepare_t *h) {
    (void)h;
    looptime_turn_mark();
    marked_at_ns = now_ns();
    marks++;
}

static int64_t busy_at_us, busy_then_us;

static void on_slept(uv_timer_t *t) {
    busy_after_sleep_us = looptime_turn_busy_us();
    busy_at_us = looptime_turn_busy_at((int64_t)(now_ns() / 1000)); /* the clock read here */
    busy_then_us = looptime_turn_busy_us();
    wall_after_sleep_ns = now_ns() - marked_at_ns;
    uint64_t spin_from = now_ns();
    while (now_ns() - spin_from < 20u * 1000000u) {
    }
    busy_after_spin_us = looptime_turn_busy_us();
    uv_close((uv_handle_t *)t, NULL);
    uv_close((uv_handle_t *)&turn_prepare, NULL);
}

TEST(turn_busy_leaves_out_the_wait_and_counts_work) {
    ASSERT_EQ(0, uv_loop_init(&loop));
    looptime_start();
    turns_at_start = looptime_turns();
    marks = 0;
    uv_prepare_init(&loop, &turn_prepare);
    uv_prepare_start(&turn_prepare, on_mark);
    uv_timer_init(&loop, &end_timer);
    uv_timer_start(&end_timer, on_slept, 100, 0);
    uv_run(&loop, UV_RUN_DEFAULT);
    fprintf(stderr, "turn: %.1f ms wall, %.1f ms busy; after a 20 ms spin %.1f ms busy\n",
            wall_after_sleep_ns / 1e6, busy_after_sleep_us / 1e3, busy_after_spin_us / 1e3);
    /* The poll slept (about 100 ms) since the last mark: wall less busy is that sleep. */
    ASSERT(wall_after_sleep_ns / 1000 >= (uint64_t)busy_after_sleep_us + 80000u);
    ASSERT(busy_after_spin_us - busy_after_sleep_us >= 20000);
    /* From a clock reading the caller has: between the readings before and after (+1 for
     * the microsecond rounding of each). */
    ASSERT(busy_after_sleep_us <= busy_at_us + 1 && busy_at_us <= busy_then_us + 1);
    ASSERT(marks >= 1);
    ASSERT_EQ(marks, looptime_turns() - turns_at_start);
    ASSERT_EQ(0, uv_loop_close(&loop));
}

int main(void) {
    RUN(a_sleeping_loop_is_idle);
    RUN(a_wake_up_libuv_ignores_is_idle);
    RUN(other_threads_waits_are_not_timed);
    RUN(turn_busy_leaves_out_the_wait_and_counts_work);
    return test_report();
}
