/* Unit tests for util/worker: jobs run on the thread in order; stopping with no leftover
 * handler runs what is queued first; stopping with one hands back every job the thread
 * never picked up, in order, and runs none of them; a stopped worker refuses jobs. */
#include "mayfly/util/worker.h"
#include "unit/test.h"

#include <stdatomic.h>
#include <string.h>

typedef struct {
    worker_job wj;
    int id;
} item;

static int ran[64], nran, back[64], nback;
static _Atomic int gate_open; /* 0 keeps the thread in its first job */

static void run_item(worker_job *j) {
    ran[nran++] = ((item *)j)->id; /* one thread: no race with the test, which joins */
}

static void run_blocking(worker_job *j) {
    for (int i = 0; i < 30000 && !atomic_load(&gate_open); i++) /* at most 30 s */
        uv_sleep(1);
    run_item(j);
}

static void leftover(worker_job *j) {
    back[nback++] = ((item *)j)->id;
}

static void reset(void) {
    nran = nback = 0;
    memset(ran, 0, sizeof(ran));
    memset(back, 0, sizeof(back));
}

/* Submits 32 items to w, the first of which holds the thread until the gate opens;
 * returns how many were refused. */
static int submit_held(worker *w, item *items) {
    int refused = 0;
    atomic_store(&gate_open, 0);
    for (int i = 0; i < 32; i++) {
        items[i].id = i;
        items[i].wj.run = i == 0 ? run_blocking : run_item;
        refused += worker_submit(w, &items[i].wj) != 0;
    }
    return refused;
}

TEST(stop_without_handler_runs_everything_queued_in_order) {
    static worker w;
    static item items[32];
    reset();
    ASSERT_EQ(0, worker_start(&w));
    ASSERT_EQ(1, worker_running(&w));
    ASSERT_EQ(0, submit_held(&w, items));
    atomic_store(&gate_open, 1);
    worker_stop(&w, NULL);
    ASSERT_EQ(0, worker_running(&w));
    ASSERT_EQ(32, nran);
    for (int i = 0; i < 32; i++)
        ASSERT_EQ(i, ran[i]);
    ASSERT_EQ(0, nback);
}

/* The thread is held inside job 0 while the stop is requested: jobs 1..31 come back. */
static worker held;
static void release_later(void *arg) {
    (void)arg;
    /* Opens the gate once the stop has set `stopping` (under the lock), so the thread
     * leaves job 0 into a stopping worker. */
    for (int i = 0; i < 30000; i++) {
        uv_mutex_lock(&held.lock);
        int stopping = held.stopping;
        uv_mutex_unlock(&held.lock);
        if (stopping) break;
        uv_sleep(1);
    }
    atomic_store(&gate_open, 1);
}

TEST(stop_with_handler_hands_back_what_was_never_picked_up) {
    static item items[32];
    reset();
    ASSERT_EQ(0, worker_start(&held));
    ASSERT_EQ(0, submit_held(&held, items));
    /* Job 0 must have been taken before the stop, or it would come back too. */
    for (int i = 0; i < 10000; i++) {
        uv_mutex_lock(&held.lock);
        int taken = held.head != &items[0].wj;
        uv_mutex_unlock(&held.lock);
        if (taken) break;
        uv_sleep(1);
    }
    uv_thread_t releaser;
    ASSERT_EQ(0, uv_thread_create(&releaser, release_later, NULL));
    worker_stop(&held, leftover);
    uv_thread_join(&releaser);
    ASSERT_EQ(1, nran);
    ASSERT_EQ(0, ran[0]);
    ASSERT_EQ(31, nback);
    for (int i = 0; i < 31; i++)
        ASSERT_EQ(i + 1, back[i]);
    /* Stopped: a job is refused and stays the caller's. */
    ASSERT_EQ(-1, worker_submit(&held, &items[0].wj));
    /* And it starts again. */
    reset();
    ASSERT_EQ(0, worker_start(&held));
    items[5].wj.run = run_item;
    ASSERT_EQ(0, worker_submit(&held, &items[5].wj));
    worker_stop(&held, NULL);
    ASSERT_EQ(1, nran);
    ASSERT_EQ(5, ran[0]);
}

int main(void) {
    RUN(stop_without_handler_runs_everything_queued_in_order);
    RUN(stop_with_handler_hands_back_what_was_never_picked_up);
    return test_report();
}
