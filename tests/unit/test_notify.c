/* Unit tests for notify.c and the pub/sub delivery it uses: the exact bytes a pattern
 * subscriber receives for key-level and subkey (field-naming) notifications, and
 * notify-keyspace-events parsing and normalisation as CONFIG GET shows it. No sockets: a
 * session without a connection subscribes through cmd_dispatch and its output buffer is
 * inspected. */
#include "mayfly/client/notify.h"
#include "mayfly/client/pubsub.h"
#include "mayfly/cmd/cmd.h"
#include "mayfly/config.h"
#include "mayfly/db/db.h"
#include "mayfly/server.h"
#include "mayfly/types/string.h"
#include "unit/test.h"

#include <stdio.h>
#include <string.h>

static session *sub;

static void run(session *s, int argc, const char **args) {
    slice argv[8];
    for (int i = 0; i < argc; i++)
        argv[i] = slice_of(args[i]);
    cmd_dispatch(s, argc, argv);
}

static void set_flags(const char *classes) {
    const char *err = NULL;
    if (config_set("notify-keyspace-events", classes, strlen(classes), &err) != 0)
        fprintf(stderr, "config_set %s: %s\n", classes, err ? err : "?");
}

static const char *flags_shown(void) {
    static char out[64];
    buf b;
    buf_init(&b);
    config_value("notify-keyspace-events", &b);
    snprintf(out, sizeof(out), "%.*s", (int)b.len, b.data ? b.data : "");
    buf_deinit(&b);
    return out;
}

/* Appends to out the RESP2 pmessage frame for pattern "*". */
static void expect_pmessage(buf *out, const char *chan, size_t clen, const char *msg, size_t mlen) {
    buf_printf(out, "*4\r\n$8\r\npmessage\r\n$1\r\n*\r\n$%zu\r\n", clen);
    buf_append(out, chan, clen);
    buf_printf(out, "\r\n$%zu\r\n", mlen);
    buf_append(out, msg, mlen);
    buf_puts(out, "\r\n");
}

TEST(config_flags_normalised_as_redis) {
    set_flags("KEA");
    ASSERT_STR_EQ("AKE", flags_shown());
    set_flags("AKEn"); /* n, o, c and r are hidden behind A, as in Redis */
    ASSERT_STR_EQ("AKE", flags_shown());
    set_flags("Exg$hK");
    ASSERT_STR_EQ("g$hxKE", flags_shown());
    set_flags("mtdnKEl");
    ASSERT_STR_EQ("ltdnKEm", flags_shown());
    set_flags("VITShK");
    ASSERT_STR_EQ("hKSTIV", flags_shown());
    set_flags("AKEhSTIV");
    ASSERT_STR_EQ("AKESTIV", flags_shown());
    set_flags("gocr");
    ASSERT_STR_EQ("gocr", flags_shown());
    const char *err = NULL;
    ASSERT(config_set("notify-keyspace-events", "KEQ", 3, &err) != 0);
    ASSERT_STR_EQ("Invalid event class character. Use 'Ag$lshzxeKEtmdnocrSTIV'.", err);
    ASSERT_STR_EQ("gocr", flags_shown()); /* unchanged */
    set_flags("");
    ASSERT_STR_EQ("", flags_shown());
    ASSERT_EQ(0, notify_flags);
}

TEST(flag_bits_match_letters) {
    set_flags("h");
    ASSERT_EQ(NOTIFY_HASH, notify_flags);
    set_flags("x");
    ASSERT_EQ(NOTIFY_EXPIRED, notify_flags);
    set_flags("$");
    ASSERT_EQ(NOTIFY_STRING, notify_flags);
    set_flags("A");
    ASSERT_EQ(NOTIFY_ALL, notify_flags);
    set_flags("nocr");
    ASSERT_EQ(NOTIFY_NEW | NOTIFY_OVERWRITTEN | NOTIFY_TYPE_CHANGED | NOTIFY_RATE_LIMIT,
              notify_flags);
    set_flags("STIV");
    ASSERT_EQ(NOTIFY_SUBKEYSPACE | NOTIFY_SUBKEYEVENT | NOTIFY_SUBKEYSPACEITEM |
                  NOTIFY_SUBKEYSPACEEVENT,
              notify_flags);
    set_flags("");
}

TEST(key_level_events) {
    buf_clear(&sub->out);
    set_flags("KEg");
    notify_keyspace_event(NOTIFY_GENERIC, "del", slice_of("k1"), 3);
    notify_keyspace_event(NOTIFY_HASH, "hset", slice_of("k1"), 3); /* class off */
    buf want;
    buf_init(&want);
    expect_pmessage(&want, "__keyspace@3__:k1", 17, "del", 3);
    expect_pmessage(&want, "__keyevent@3__:del", 18, "k1", 2);
    ASSERT_MEM_EQ(want.data, want.len, sub->out.data, sub->out.len);
    buf_clear(&sub->out);
    set_flags("Eg"); /* keyevent only */
    notify_keyspace_event(NOTIFY_GENERIC, "expire", slice_of("x"), 0);
    buf_clear(&want);
    expect_pmessage(&want, "__keyevent@0__:expire", 21, "x", 1);
    ASSERT_MEM_EQ(want.data, want.len, sub->out.data, sub->out.len);
    buf_deinit(&want);
    set_flags("");
}

TEST(subkey_families_exact_bytes) {
    buf_clear(&sub->out);
    set_flags("hSTIV"); /* subkey channels only: no key-level K/E */
    slice fields[2] = {slice_of("f1"), slice_of("f22")};
    notify_keyspace_event(NOTIFY_HASH, "hset", slice_of("myhash"), 0);
    notify_subkey_event(NOTIFY_HASH, "hset", slice_of("myhash"), fields, 2, 0);
    buf want;
    buf_init(&want);
    expect_pmessage(&want, "__subkeyspace@0__:myhash", 24, "hset|2:f1,3:f22", 15);
    expect_pmessage(&want, "__subkeyevent@0__:hset", 22, "6:myhash|2:f1,3:f22", 19);
    expect_pmessage(&want, "__subkeyspaceitem@0__:myhash\nf1", 31, "hset", 4);
    expect_pmessage(&want, "__subkeyspaceitem@0__:myhash\nf22", 32, "hset", 4);
    expect_pmessage(&want, "__subkeyspaceevent@0__:hset|myhash", 34, "2:f1,3:f22", 10);
    ASSERT_MEM_EQ(want.data, want.len, sub->out.data, sub->out.len);
    buf_deinit(&want);
    set_flags("");
}

TEST(subkey_binary_and_safeguards) {
    buf_clear(&sub->out);
    set_flags("hSTIV");
    /* A key holding '\n' skips subkeyspaceitem; binary fields are length-prefixed. */
    slice key = {"a\nb", 3};
    slice fields[1] = {{"x|,\0y", 5}};
    notify_subkey_event(NOTIFY_HASH, "hdel", key, fields, 1, 2);
    buf want;
    buf_init(&want);
    expect_pmessage(&want, "__subkeyspace@2__:a\nb", 21, "hdel|5:x|,\0y", 12);
    expect_pmessage(&want, "__subkeyevent@2__:hdel", 22, "3:a\nb|5:x|,\0y", 13);
    expect_pmessage(&want, "__subkeyspaceevent@2__:hdel|a\nb", 31, "5:x|,\0y", 7);
    ASSERT_MEM_EQ(want.data, want.len, sub->out.data, sub->out.len);
    /* An event name holding '|' skips subkeyspace and subkeyspaceevent. */
    buf_clear(&sub->out);
    buf_clear(&want);
    notify_subkey_event(NOTIFY_HASH, "a|b", slice_of("k"), fields, 1, 0);
    expect_pmessage(&want, "__subkeyevent@0__:a|b", 21, "1:k|5:x|,\0y", 11);
    expect_pmessage(&want, "__subkeyspaceitem@0__:k\nx|,\0y", 29, "a|b", 3);
    ASSERT_MEM_EQ(want.data, want.len, sub->out.data, sub->out.len);
    /* No fields: nothing; class off: nothing. */
    buf_clear(&sub->out);
    notify_subkey_event(NOTIFY_HASH, "hset", slice_of("k"), fields, 0, 0);
    notify_subkey_event(NOTIFY_GENERIC, "hset", slice_of("k"), fields, 1, 0);
    ASSERT_EQ(0, sub->out.len);
    buf_deinit(&want);
    set_flags("");
}

TEST(eviction_publishes_evicted) {
    buf_clear(&sub->out);
    set_flags("KEe");
    db *d = db_get(1);
    dbentry *e = db_add(d, slice_of("ev"), &string_new("v", 1)->hdr);
    db_evict(d, e);
    buf want;
    buf_init(&want);
    expect_pmessage(&want, "__keyspace@1__:ev", 17, "evicted", 7);
    expect_pmessage(&want, "__keyevent@1__:evicted", 22, "ev", 2);
    ASSERT_MEM_EQ(want.data, want.len, sub->out.data, sub->out.len);
    buf_deinit(&want);
    set_flags("");
}

TEST(resp3_subscriber_gets_push) {
    session *s3 = session_new(NULL, NULL);
    const char *hello[] = {"HELLO", "3"};
    run(s3, 2, hello);
    const char *ps[] = {"SUBSCRIBE", "__keyevent@0__:del"};
    run(s3, 2, ps);
    buf_clear(&s3->out);
    buf_clear(&sub->out);
    set_flags("Eg");
    notify_keyspace_event(NOTIFY_GENERIC, "del", slice_of("k"), 0);
    const char want[] = ">3\r\n$7\r\nmessage\r\n$18\r\n__keyevent@0__:del\r\n$1\r\nk\r\n";
    ASSERT_MEM_EQ(want, sizeof(want) - 1, s3->out.data, s3->out.len);
    ASSERT_EQ(2, pubsub_publish(slice_of("__keyevent@0__:del"), slice_of("k")));
    session_free(s3);
    ASSERT_EQ(0, pubsub_channel_count());
    set_flags("");
}

int main(void) {
    server_init();
    db_init_all(16);
    sub = session_new(NULL, NULL);
    const char *ps[] = {"PSUBSCRIBE", "*"};
    run(sub, 2, ps);
    RUN(config_flags_normalised_as_redis);
    RUN(flag_bits_match_letters);
    RUN(key_level_events);
    RUN(subkey_families_exact_bytes);
    RUN(subkey_binary_and_safeguards);
    RUN(eviction_publishes_evicted);
    RUN(resp3_subscriber_gets_push);
    session_free(sub);
    db_free_all();
    return test_report();
}
