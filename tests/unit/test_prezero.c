/* Unit tests for util/prezero: the thread zeroes an array with no help from its owner; an
 * owner without the thread zeroes it page by page; ending a job at any point leaves the
 * array alone (ASan sees a write after the free otherwise); a late thread gets help; and a
 * dict and an otab growing past 256 KB leave their new arrays to the thread. */
#include "mayfly/util/dict.h"
#include "mayfly/util/mem.h"
#include "mayfly/util/otab.h"
#include "mayfly/util/prezero.h"
#include "unit/test.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

/* Polls prezero_step(z, 0, 0) (no page zeroed by the caller) until the array is zero;
 * returns 1, or 0 after 30 s. */
static int wait_done(prezero *z) {
    struct timespec pause = {0, 1000000};
    for (int i = 0; i < 30000; i++) {
        if (prezero_step(z, 0, 0)) return 1;
        nanosleep(&pause, NULL);
    }
    return 0;
}

static int all_zero(const unsigned char *p, size_t len) {
    for (size_t i = 0; i < len; i++)
        if (p[i]) return 0;
    return 1;
}

TEST(owner_zeroes_page_by_page_without_thread) {
    size_t len = 10 * PREZERO_PAGE + 100; /* a partial last page */
    unsigned char *p = mem_alloc(len);
    memset(p, 0xaa, len);
    prezero *z = prezero_begin(p, len);
    for (int i = 1; i <= 10; i++) {
        ASSERT_EQ(0, prezero_step(z, 1, 0));
        ASSERT_EQ((size_t)i * PREZERO_PAGE, prezero_done_bytes(z));
        ASSERT_EQ(0xaa, p[(size_t)i * PREZERO_PAGE]); /* the next page is untouched */
    }
    ASSERT_EQ(1, prezero_step(z, 1, 0));
    ASSERT_EQ(len, prezero_done_bytes(z));
    ASSERT(all_zero(p, len));
    prezero_end(z);
    mem_free(p);
}

TEST(thread_zeroes_with_no_owner_step) {
    ASSERT_EQ(0, prezero_thread_start());
    size_t thread0, owner0, thread1, owner1, len = (size_t)8 << 20;
    prezero_counts(&thread0, &owner0);
    unsigned char *p = mem_alloc(len);
    memset(p, 0xaa, len);
    prezero *z = prezero_begin(p, len);
    ASSERT(wait_done(z));
    prezero_counts(&thread1, &owner1);
    ASSERT_EQ(owner0, owner1);
    ASSERT_EQ(len / PREZERO_PAGE, thread1 - thread0);
    ASSERT(all_zero(p, len));
    prezero_end(z);
    mem_free(p);
    prezero_thread_stop();
}

TEST(late_thread_gets_help) {
    ASSERT_EQ(0, prezero_thread_start());
    size_t thread0, owner0, thread1, owner1, len = (size_t)16 << 20;
    prezero_counts(&thread0, &owner0);
    unsigned char *p = mem_alloc(len);
    memset(p, 0xaa, len);
    prezero *z = prezero_begin(p, len);
    while (!prezero_step(z, 64, 1)) {
    }
    prezero_counts(&thread1, &owner1);
    /* Every page once, by one or the other. */
    ASSERT_EQ(len / PREZERO_PAGE, (thread1 - thread0) + (owner1 - owner0));
    ASSERT(all_zero(p, len));
    prezero_end(z);
    mem_free(p);
    prezero_thread_stop();
}

/* Ended before, while and after the thread works on it, the array is freed at once: a
 * write of the thread after prezero_end is a heap-use-after-free under ASan. */
TEST(end_at_any_point_leaves_the_array_alone) {
    ASSERT_EQ(0, prezero_thread_start());
    for (int i = 0; i < 20; i++) {
        size_t len = (size_t)(1 + i % 4) << 20;
        unsigned char *p = mem_alloc(len);
        prezero *z = prezero_begin(p, len);
        if (i % 3 == 1) prezero_step(z, (size_t)i, 1);
        if (i % 3 == 2) {
            struct timespec pause = {0, 200000};
            nanosleep(&pause, NULL);
        }
        prezero_end(z);
        mem_free(p);
    }
    /* Queued jobs the thread never took when it stops are freed with it. */
    for (int i = 0; i < 4; i++) {
        size_t len = (size_t)4 << 20;
        unsigned char *p = mem_alloc(len);
        prezero *z = prezero_begin(p, len);
        prezero_end(z);
        mem_free(p);
    }
    prezero_thread_stop();
}

typedef struct ent {
    dict_node node;
    uint32_t id;
    uint8_t len;
    char key[15];
} ent;

static void dict_key_of(const dict_node *n, const char **key, size_t *len) {
    const ent *e = (const ent *)n;
    *key = e->key;
    *len = e->len;
}

static void otab_key_of(const void *item, const char **key, size_t *len) {
    dict_key_of(item, key, len);
}

static const dict_type ent_dict = {.key_of = dict_key_of};
static const otab_type ent_otab = {.key_of = otab_key_of};

static ent *ent_new(uint32_t id) {
    ent *e = mem_alloc(sizeof(*e));
    e->id = id;
    e->len = (uint8_t)snprintf(e->key, sizeof(e->key), "k%" PRIu32, id);
    return e;
}

static void free_dict_ent(dict_node *n, void *ctx) {
    (void)ctx;
    mem_free(n);
}

static void free_otab_ent(void *item, void *ctx) {
    (void)ctx;
    mem_free(item);
}

/* A job that keeps the thread busy for a while (64 MB: tens of ms), so that the next
 * one waits in its queue; ended (and freed) by blocker_end. */
static void *blocker_mem;
static prezero *blocker_begin(void) {
    size_t len = (size_t)64 << 20;
    blocker_mem = mem_alloc(len);
    return prezero_begin(blocker_mem, len);
}
static void blocker_end(prezero *z) {
    prezero_end(z);
    mem_free(blocker_mem);
}

/* A dict growing to 2^16 buckets (512 KB) with the thread running: while the thread is
 * busy, 3,200 adds zero no page of the new array (they zeroed 100, a page per 32 adds,
 * before the thread existed) and every entry stays findable; once the thread has zeroed
 * it, the rehash into it starts. */
TEST(dict_leaves_its_new_array_to_the_thread) {
    ASSERT_EQ(0, prezero_thread_start());
    size_t thread0, owner0, thread1, owner1;
    dict d;
    dict_init(&d, &ent_dict);
    uint32_t n = 0;
    prezero *busy = blocker_begin();
    prezero_counts(&thread0, &owner0);
    while (!d.next)
        dict_add(&d, &ent_new(n++)->node);
    for (int i = 0; i < 3200; i++)
        dict_add(&d, &ent_new(n++)->node);
    prezero_counts(&thread1, &owner1);
    ASSERT_EQ(owner0, owner1);
    ASSERT(d.next != NULL && !dict_is_rehashing(&d));
    blocker_end(busy);
    ASSERT(wait_done(d.prep));
    for (int i = 0; i < 1000 && !dict_is_rehashing(&d); i++)
        dict_add(&d, &ent_new(n++)->node);
    ASSERT(dict_is_rehashing(&d));
    prezero_counts(&thread1, &owner1);
    ASSERT_EQ(owner0, owner1);
    for (uint32_t i = 0; i < n; i += 7) {
        char key[15];
        int len = snprintf(key, sizeof(key), "k%" PRIu32, i);
        ASSERT(dict_find(&d, key, (size_t)len) != NULL);
    }
    dict_clear(&d, free_dict_ent, NULL);
    prezero_thread_stop();
}

/* The same for an otab (one big hash's fields: 800 adds zeroed 100 pages, one per 8),
 * and one freed while its array waits to be zeroed. */
TEST(otab_leaves_its_new_array_to_the_thread) {
    ASSERT_EQ(0, prezero_thread_start());
    size_t thread0, owner0, thread1, owner1;
    otab t;
    otab_init(&t, &ent_otab);
    uint32_t n = 0;
    prezero *busy = blocker_begin();
    prezero_counts(&thread0, &owner0);
    while (!t.next)
        otab_add(&t, ent_new(n++));
    for (int i = 0; i < 800; i++)
        otab_add(&t, ent_new(n++));
    prezero_counts(&thread1, &owner1);
    ASSERT_EQ(owner0, owner1);
    ASSERT(t.next != NULL && t.slots[1] == NULL);
    blocker_end(busy);
    ASSERT(wait_done(t.prep));
    for (int i = 0; i < 100 && t.next; i++) /* every 8th add looks */
        otab_add(&t, ent_new(n++));
    ASSERT(t.next == NULL && t.slots[1] != NULL); /* resizing into it */
    prezero_counts(&thread1, &owner1);
    ASSERT_EQ(owner0, owner1);
    while (otab_resize_step(&t, 100)) {
    }
    ASSERT_EQ(0, otab_check(&t));
    ASSERT_EQ(n, otab_size(&t));
    otab_clear(&t, free_otab_ent, NULL);
    otab_init(&t, &ent_otab);
    busy = blocker_begin();
    for (n = 0; !t.next; n++)
        otab_add(&t, ent_new(n));
    otab_clear(&t, free_otab_ent, NULL); /* ends the job first */
    blocker_end(busy);
    prezero_thread_stop();
}

int main(void) {
    RUN(owner_zeroes_page_by_page_without_thread);
    RUN(thread_zeroes_with_no_owner_step);
    RUN(late_thread_gets_help);
    RUN(end_at_any_point_leaves_the_array_alone);
    RUN(dict_leaves_its_new_array_to_the_thread);
    RUN(otab_leaves_its_new_array_to_the_thread);
    return test_report();
}
