/* Unit tests for client/session's lookup by id (the table client-side caching's
 * invalidations go through): after any mix of sessions created and freed, in any order,
 * session_by_id finds every live session and none of the freed or never-made ids, through
 * the table's growth and the backward shifts of its deletions. A fixed-seed generator makes
 * the mixes repeatable. */
#include "mayfly/client/session.h"
#include "mayfly/config.h"
#include "mayfly/db/db.h"
#include "mayfly/server.h"
#include "unit/test.h"

#include <stdint.h>

#define N 3000

static uint64_t rng = 0x243F6A8885A308D3ull;
static uint64_t next_rand(void) {
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

static session *made[N];

/* Every id made so far: live ones found as themselves, freed ones not at all. */
static int all_found(int n) {
    for (int i = 0; i < n; i++) {
        session *want = made[i];
        uint64_t id = want ? want->id : 0;
        if (want && session_by_id(id) != want) return 0;
    }
    return 1;
}

TEST(lookup_by_id_through_growth_and_deletions) {
    uint64_t ids[N];
    uint64_t base = 0;
    for (int i = 0; i < N; i++) {
        made[i] = session_new(NULL, NULL);
        ids[i] = made[i]->id;
        if (i == 0) base = ids[0];
        /* Free about a third as we go, at random, older ones included. */
        if (next_rand() % 3 == 0) {
            int victim = (int)(next_rand() % (uint64_t)(i + 1));
            if (made[victim]) {
                session_free(made[victim]);
                made[victim] = NULL;
            }
        }
        if (i % 500 == 0) ASSERT(all_found(i + 1));
    }
    ASSERT(all_found(N));
    for (int i = 0; i < N; i++)
        if (!made[i]) ASSERT(session_by_id(ids[i]) == NULL);
    ASSERT(session_by_id(base + 10 * N) == NULL);
    ASSERT(session_by_id(0) == NULL);
    /* Free the rest in a shuffled order, checking as the table empties. */
    int left = 0;
    for (int i = 0; i < N; i++)
        left += made[i] != NULL;
    for (; left > 0; left--) {
        int i = (int)(next_rand() % (uint64_t)N);
        while (!made[i])
            i = (i + 1) % N;
        session_free(made[i]);
        ASSERT(session_by_id(ids[i]) == NULL);
        made[i] = NULL;
        if (left % 250 == 0) ASSERT(all_found(N));
    }
    for (int i = 0; i < N; i++)
        ASSERT(session_by_id(ids[i]) == NULL);
    session *s = session_new(NULL, NULL);
    ASSERT(session_by_id(s->id) == s);
    session_free(s);
}

int main(void) {
    server_init();
    db_init_all(config.databases);
    RUN(lookup_by_id_through_growth_and_deletions);
    db_free_all();
    return test_report();
}
