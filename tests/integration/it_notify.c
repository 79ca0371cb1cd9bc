/* Integration tests: keyspace notifications and field-naming (subkey) notifications
 * (EVENTS issue, items 3 to 5). A hiredis subscriber PSUBSCRIBEs to the notification
 * channels of database 9 and each test checks the exact (channel, payload) sequence a
 * command produces. Expiry is driven with DEBUG CLOCK-OFFSET and DEBUG SET-ACTIVE-EXPIRE,
 * never by sleeping past a TTL. Hash tests run once the hash commands are present. */
#include "integration/harness.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <unistd.h>

static redisContext *cmd; /* SELECT 9 */
static redisContext *sub; /* PSUBSCRIBE __*@9__:* */

/* Renders the next pmessage as "channel payload" (bytes escaped as by it_render), or
 * "(timeout)" if none arrives within timeout_ms. */
static const char *next_event(int timeout_ms) {
    static char out[1024];
    redisSetTimeout(sub, (struct timeval){timeout_ms / 1000, (timeout_ms % 1000) * 1000});
    redisReply *r = NULL;
    if (redisGetReply(sub, (void **)&r) != REDIS_OK || !r) {
        /* A timed-out hiredis context cannot be used again: reconnect. */
        redisFree(sub);
        sub = it_client();
        redisReply *p = redisCommand(sub, "PSUBSCRIBE __*@9__:*");
        freeReplyObject(p);
        return "(timeout)";
    }
    char ch[512], msg[512];
    if (r->type != REDIS_REPLY_ARRAY || r->elements != 4) {
        it_render(r, out, sizeof(out));
        freeReplyObject(r);
        return out;
    }
    it_render(r->element[2], ch, sizeof(ch));
    it_render(r->element[3], msg, sizeof(msg));
    snprintf(out, sizeof(out), "%s %s", ch, msg);
    freeReplyObject(r);
    return out;
}

#define EXPECT_EVENT(expected)                                                                     \
    do {                                                                                           \
        const char *got_ = next_event(2000);                                                       \
        if (strcmp(got_, (expected)) != 0)                                                         \
            TEST_FAIL("event: expected %s, got %s", (expected), got_);                             \
    } while (0)

/* Checks that no event is pending: a marker published now must come next. */
#define EXPECT_NO_MORE_EVENTS()                                                                    \
    do {                                                                                           \
        redisReply *m_ = redisCommand(cmd, "PUBLISH __marker@9__:x end");                          \
        freeReplyObject(m_);                                                                       \
        EXPECT_EVENT("\"__marker@9__:x\" \"end\"");                                                \
    } while (0)

static void flags(const char *classes) {
    redisReply *r = redisCommand(cmd, "CONFIG SET notify-keyspace-events %s", classes);
    freeReplyObject(r);
}

TEST(config_get_normalises_flags) {
    EXPECT(cmd, "+OK", "CONFIG SET notify-keyspace-events KEA");
    EXPECT(cmd, "[\"notify-keyspace-events\",\"AKE\"]", "CONFIG GET notify-keyspace-events");
    EXPECT(cmd, "+OK", "CONFIG SET notify-keyspace-events %s", "Ex$gK");
    EXPECT(cmd, "[\"notify-keyspace-events\",\"g$xKE\"]", "CONFIG GET notify-keyspace-events");
    EXPECT(cmd, "+OK", "CONFIG SET notify-keyspace-events AKEhSTIV");
    EXPECT(cmd, "[\"notify-keyspace-events\",\"AKESTIV\"]", "CONFIG GET notify-keyspace-events");
    EXPECT(cmd,
           "-ERR CONFIG SET failed (possibly related to argument 'notify-keyspace-events') - "
           "Invalid event class character. Use 'Ag$lshzxeKEtmdnocrSTIV'.",
           "CONFIG SET notify-keyspace-events KEz!");
    EXPECT(cmd, "[\"notify-keyspace-events\",\"AKESTIV\"]", "CONFIG GET notify-keyspace-events");
    EXPECT(cmd, "+OK", "CONFIG SET notify-keyspace-events %s", "");
    EXPECT(cmd, "[\"notify-keyspace-events\",\"\"]", "CONFIG GET notify-keyspace-events");
}

TEST(string_and_generic_events) {
    flags("KEA");
    EXPECT(cmd, "+OK", "SET k v");
    EXPECT_EVENT("\"__keyspace@9__:k\" \"set\"");
    EXPECT_EVENT("\"__keyevent@9__:set\" \"k\"");
    flags("E$g"); /* keyevent channels only from here on */
    EXPECT(cmd, "+OK", "SET k v EX 100");
    EXPECT_EVENT("\"__keyevent@9__:set\" \"k\"");
    EXPECT_EVENT("\"__keyevent@9__:expire\" \"k\"");
    EXPECT(cmd, "0", "SETNX k v");
    EXPECT(cmd, "+OK", "SETEX k2 100 v");
    EXPECT_EVENT("\"__keyevent@9__:set\" \"k2\"");
    EXPECT_EVENT("\"__keyevent@9__:expire\" \"k2\"");
    EXPECT(cmd, "\"v\"", "GETSET k w");
    EXPECT_EVENT("\"__keyevent@9__:set\" \"k\"");
    EXPECT(cmd, "+OK", "MSET a 1 b 2");
    EXPECT_EVENT("\"__keyevent@9__:set\" \"a\"");
    EXPECT_EVENT("\"__keyevent@9__:set\" \"b\"");
    EXPECT(cmd, "2", "INCR a");
    EXPECT_EVENT("\"__keyevent@9__:incrby\" \"a\"");
    EXPECT(cmd, "-1", "DECRBY a 3");
    EXPECT_EVENT("\"__keyevent@9__:incrby\" \"a\"");
    EXPECT(cmd, "\"0.5\"", "INCRBYFLOAT a 1.5");
    EXPECT_EVENT("\"__keyevent@9__:incrbyfloat\" \"a\"");
    EXPECT(cmd, "5", "APPEND a xy");
    EXPECT_EVENT("\"__keyevent@9__:append\" \"a\"");
    EXPECT(cmd, "5", "SETRANGE a 0 zz");
    EXPECT_EVENT("\"__keyevent@9__:setrange\" \"a\"");
    EXPECT(cmd, "5", "SETRANGE a 0 %s", ""); /* no change, no event */
    EXPECT(cmd, "\"w\"", "GETEX k EX 50");
    EXPECT_EVENT("\"__keyevent@9__:expire\" \"k\"");
    EXPECT(cmd, "\"w\"", "GETEX k PERSIST");
    EXPECT_EVENT("\"__keyevent@9__:persist\" \"k\"");
    EXPECT(cmd, "\"w\"", "GETEX k PERSIST"); /* no TTL: no event */
    EXPECT(cmd, "\"w\"", "GETDEL k");
    EXPECT_EVENT("\"__keyevent@9__:del\" \"k\"");
    EXPECT(cmd, "1", "EXPIRE a 100");
    EXPECT_EVENT("\"__keyevent@9__:expire\" \"a\"");
    EXPECT(cmd, "1", "PERSIST a");
    EXPECT_EVENT("\"__keyevent@9__:persist\" \"a\"");
    EXPECT(cmd, "1", "EXPIRE a -1"); /* a time in the past deletes: "del" */
    EXPECT_EVENT("\"__keyevent@9__:del\" \"a\"");
    EXPECT(cmd, "+OK", "RENAME b c");
    EXPECT_EVENT("\"__keyevent@9__:rename_from\" \"b\"");
    EXPECT_EVENT("\"__keyevent@9__:rename_to\" \"c\"");
    EXPECT(cmd, "1", "COPY c d");
    EXPECT_EVENT("\"__keyevent@9__:copy_to\" \"d\"");
    EXPECT(cmd, "2", "DEL c nope k2");
    EXPECT_EVENT("\"__keyevent@9__:del\" \"c\"");
    EXPECT_EVENT("\"__keyevent@9__:del\" \"k2\"");
    EXPECT(cmd, "+OK", "SET zz 1");
    EXPECT_EVENT("\"__keyevent@9__:set\" \"zz\"");
    EXPECT(cmd, "\"1\"", "GETEX zz EXAT 1");
    EXPECT_EVENT("\"__keyevent@9__:del\" \"zz\"");
    EXPECT_NO_MORE_EVENTS();
    /* A class that is off publishes nothing. */
    flags("Eg");
    EXPECT(cmd, "+OK", "SET quiet 1");
    EXPECT(cmd, "1", "DEL quiet");
    EXPECT_EVENT("\"__keyevent@9__:del\" \"quiet\"");
    EXPECT_NO_MORE_EVENTS();
    flags("");
}

TEST(move_events_name_both_databases) {
    flags("KEg");
    redisContext *c8 = it_client();
    EXPECT(c8, "+OK", "SELECT 8");
    EXPECT(c8, "+OK", "SET mv 1");
    redisReply *p = redisCommand(sub, "PSUBSCRIBE __keyevent@8__:move_from");
    freeReplyObject(p);
    EXPECT(c8, "1", "MOVE mv 9");
    EXPECT_EVENT("\"__keyevent@8__:move_from\" \"mv\"");
    EXPECT_EVENT("\"__keyspace@9__:mv\" \"move_to\"");
    EXPECT_EVENT("\"__keyevent@9__:move_to\" \"mv\"");
    p = redisCommand(sub, "PUNSUBSCRIBE __keyevent@8__:move_from");
    freeReplyObject(p);
    EXPECT(cmd, "1", "DEL mv");
    EXPECT_EVENT("\"__keyspace@9__:mv\" \"del\"");
    EXPECT_EVENT("\"__keyevent@9__:del\" \"mv\"");
    redisFree(c8);
    flags("");
}

/* Issue 21: class n was accepted but "new" never published, so a client waiting for it
 * waited forever. A key's creation publishes "new" (SET, HSET of a new hash, RENAME and
 * COPY to a new name); writing an existing key does not. */
TEST(new_key_events) {
    flags("En");
    EXPECT(cmd, "+OK", "SET newk1 a");
    EXPECT_EVENT("\"__keyevent@9__:new\" \"newk1\"");
    EXPECT(cmd, "+OK", "SET newk1 b");
    EXPECT(cmd, "1", "HSET newh f v");
    EXPECT_EVENT("\"__keyevent@9__:new\" \"newh\"");
    EXPECT(cmd, "0", "HSET newh f w");
    EXPECT(cmd, "+OK", "RENAME newk1 newk2");
    EXPECT_EVENT("\"__keyevent@9__:new\" \"newk2\"");
    EXPECT(cmd, "1", "COPY newk2 newk3");
    EXPECT_EVENT("\"__keyevent@9__:new\" \"newk3\"");
    EXPECT_NO_MORE_EVENTS();
    flags("Kn");
    EXPECT(cmd, "1", "INCR newk4");
    EXPECT_EVENT("\"__keyspace@9__:newk4\" \"new\"");
    EXPECT_NO_MORE_EVENTS();
    EXPECT(cmd, "4", "DEL newk2 newk3 newk4 newh");
    flags("");
}

/* Redis 8.2's "overwritten" (class o) and "type_changed" (class c): a write replacing an
 * existing key's value (the SET family, GETSET, MSET: before their own event, as Redis's
 * setKey; RENAME, COPY ... REPLACE and RESTORE ... REPLACE: after theirs), with
 * "type_changed" when the type differs. Changing a value in place (APPEND, INCR, HSET) and
 * writing a new key publish neither; 'A' includes neither. */
TEST(overwritten_and_type_changed) {
    flags("KEA");
    EXPECT(cmd, "+OK", "SET ow1 a");
    EXPECT_EVENT("\"__keyspace@9__:ow1\" \"set\"");
    EXPECT_EVENT("\"__keyevent@9__:set\" \"ow1\"");
    flags("KEoc$g");
    EXPECT(cmd, "+OK", "SET ow1 b");
    EXPECT_EVENT("\"__keyspace@9__:ow1\" \"overwritten\"");
    EXPECT_EVENT("\"__keyevent@9__:overwritten\" \"ow1\"");
    EXPECT_EVENT("\"__keyspace@9__:ow1\" \"set\"");
    EXPECT_EVENT("\"__keyevent@9__:set\" \"ow1\"");
    EXPECT_NO_MORE_EVENTS();
    flags("Eoc");
    EXPECT(cmd, "+OK", "SET ow2 new"); /* a new key: neither */
    EXPECT(cmd, "4", "APPEND ow2 x");  /* in place: neither */
    EXPECT(cmd, "1", "HSET owh f v");
    EXPECT(cmd, "0", "HSET owh f w");
    EXPECT(cmd, "+OK", "SET ow2 v XX KEEPTTL");
    EXPECT_EVENT("\"__keyevent@9__:overwritten\" \"ow2\"");
    EXPECT(cmd, "\"v\"", "GETSET ow2 w");
    EXPECT_EVENT("\"__keyevent@9__:overwritten\" \"ow2\"");
    EXPECT(cmd, "+OK", "MSET ow2 x ow3 y");
    EXPECT_EVENT("\"__keyevent@9__:overwritten\" \"ow2\"");
    EXPECT(cmd, "+OK", "SETEX owh 100 s"); /* a hash becomes a string */
    EXPECT_EVENT("\"__keyevent@9__:overwritten\" \"owh\"");
    EXPECT_EVENT("\"__keyevent@9__:type_changed\" \"owh\"");
    EXPECT(cmd, "0", "SETNX owh t");
    EXPECT_NO_MORE_EVENTS();
    /* RENAME / COPY REPLACE / RESTORE REPLACE, after their own event. */
    flags("Egoc");
    EXPECT(cmd, "1", "HSET owh2 f v");
    EXPECT(cmd, "+OK", "RENAME owh2 ow3");
    EXPECT_EVENT("\"__keyevent@9__:rename_from\" \"owh2\"");
    EXPECT_EVENT("\"__keyevent@9__:rename_to\" \"ow3\"");
    EXPECT_EVENT("\"__keyevent@9__:overwritten\" \"ow3\"");
    EXPECT_EVENT("\"__keyevent@9__:type_changed\" \"ow3\"");
    EXPECT(cmd, "1", "COPY ow2 ow3 REPLACE");
    EXPECT_EVENT("\"__keyevent@9__:copy_to\" \"ow3\"");
    EXPECT_EVENT("\"__keyevent@9__:overwritten\" \"ow3\"");
    EXPECT_EVENT("\"__keyevent@9__:type_changed\" \"ow3\"");
    EXPECT(cmd, "1", "COPY ow2 ow3 REPLACE"); /* string over string */
    EXPECT_EVENT("\"__keyevent@9__:copy_to\" \"ow3\"");
    EXPECT_EVENT("\"__keyevent@9__:overwritten\" \"ow3\"");
    EXPECT(cmd, "1", "HSET owh3 f v");
    redisReply *d = redisCommand(cmd, "DUMP owh3");
    ASSERT(d && d->type == REDIS_REPLY_STRING);
    redisReply *r = redisCommand(cmd, "RESTORE ow3 0 %b REPLACE", d->str, d->len);
    ASSERT(r && r->type == REDIS_REPLY_STATUS);
    freeReplyObject(r);
    EXPECT_EVENT("\"__keyevent@9__:restore\" \"ow3\"");
    EXPECT_EVENT("\"__keyevent@9__:overwritten\" \"ow3\"");
    EXPECT_EVENT("\"__keyevent@9__:type_changed\" \"ow3\"");
    r = redisCommand(cmd, "RESTORE ow4 0 %b", d->str, d->len); /* a new key: neither */
    freeReplyObject(r);
    EXPECT_EVENT("\"__keyevent@9__:restore\" \"ow4\"");
    freeReplyObject(d);
    EXPECT_NO_MORE_EVENTS();
    EXPECT(cmd, "+OK", "CONFIG SET notify-keyspace-events %s", "KEAoc");
    EXPECT(cmd, "[\"notify-keyspace-events\",\"AKE\"]", "CONFIG GET notify-keyspace-events");
    EXPECT(cmd, "+OK", "CONFIG SET notify-keyspace-events %s", "Eoc");
    EXPECT(cmd, "[\"notify-keyspace-events\",\"ocE\"]", "CONFIG GET notify-keyspace-events");
    EXPECT(cmd, "6", "DEL ow1 ow2 ow3 ow4 owh owh3");
    flags("");
}

TEST(keymiss_events) {
    flags("Em");
    EXPECT(cmd, "nil", "GET missk");
    EXPECT_EVENT("\"__keyevent@9__:keymiss\" \"missk\"");
    EXPECT(cmd, "0", "EXISTS missk2");
    EXPECT_EVENT("\"__keyevent@9__:keymiss\" \"missk2\"");
    EXPECT(cmd, "+OK", "SET missk v"); /* writes do not miss */
    EXPECT(cmd, "\"v\"", "GET missk");
    EXPECT_NO_MORE_EVENTS();
    flags("");
}

TEST(expired_lazy) {
    flags("Ex");
    EXPECT(cmd, "+OK", "DEBUG SET-ACTIVE-EXPIRE 0");
    EXPECT(cmd, "+OK", "SET lazy v PX 500");
    EXPECT(cmd, "+OK", "DEBUG CLOCK-OFFSET 1000");
    EXPECT_NO_MORE_EVENTS(); /* not reaped yet: active expiry is off */
    EXPECT(cmd, "nil", "GET lazy");
    EXPECT_EVENT("\"__keyevent@9__:expired\" \"lazy\"");
    EXPECT_NO_MORE_EVENTS();
    EXPECT(cmd, "+OK", "DEBUG CLOCK-OFFSET 0");
    EXPECT(cmd, "+OK", "DEBUG SET-ACTIVE-EXPIRE 1");
    flags("");
}

static long long now_ms(void) {
    struct timeval tv;
    gettimeofday(&tv, NULL);
    return (long long)tv.tv_sec * 1000 + tv.tv_usec / 1000;
}

TEST(expired_active_within_a_tick) {
    flags("Ex");
    EXPECT(cmd, "+OK", "DEBUG SET-ACTIVE-EXPIRE 1");
    EXPECT(cmd, "+OK", "SET act1 v PX 100000");
    EXPECT(cmd, "+OK", "SET act2 v PX 100000");
    long long t0 = now_ms();
    EXPECT(cmd, "+OK", "DEBUG CLOCK-OFFSET 200000");
    const char *a = next_event(2000);
    char first[256];
    snprintf(first, sizeof(first), "%s", a);
    const char *b = next_event(2000);
    long long took = now_ms() - t0;
    int ok = (strcmp(first, "\"__keyevent@9__:expired\" \"act1\"") == 0 &&
              strcmp(b, "\"__keyevent@9__:expired\" \"act2\"") == 0) ||
             (strcmp(first, "\"__keyevent@9__:expired\" \"act2\"") == 0 &&
              strcmp(b, "\"__keyevent@9__:expired\" \"act1\"") == 0);
    if (!ok) TEST_FAIL("active expiry events: %s / %s", first, b);
    if (took > 500) TEST_FAIL("active expiry took %lld ms (hz 10: one tick is 100 ms)", took);
    EXPECT(cmd, "+OK", "DEBUG CLOCK-OFFSET 0");
    flags("");
}

TEST(hash_events_with_subkeys) {
    flags("EhgSTIV");
    EXPECT(cmd, "2", "HSET h f1 v1 f22 v2");
    EXPECT_EVENT("\"__keyevent@9__:hset\" \"h\"");
    EXPECT_EVENT("\"__subkeyspace@9__:h\" \"hset|2:f1,3:f22\"");
    EXPECT_EVENT("\"__subkeyevent@9__:hset\" \"1:h|2:f1,3:f22\"");
    EXPECT_EVENT("\"__subkeyspaceitem@9__:h\\nf1\" \"hset\"");
    EXPECT_EVENT("\"__subkeyspaceitem@9__:h\\nf22\" \"hset\"");
    EXPECT_EVENT("\"__subkeyspaceevent@9__:hset|h\" \"2:f1,3:f22\"");
    flags("EhgT");
    EXPECT(cmd, "1", "HDEL h f1");
    EXPECT_EVENT("\"__keyevent@9__:hdel\" \"h\"");
    EXPECT_EVENT("\"__subkeyevent@9__:hdel\" \"1:h|2:f1\"");
    EXPECT(cmd, "5", "HINCRBY h n 5");
    EXPECT_EVENT("\"__keyevent@9__:hincrby\" \"h\"");
    EXPECT_EVENT("\"__subkeyevent@9__:hincrby\" \"1:h|1:n\"");
    EXPECT(cmd, "\"6.5\"", "HINCRBYFLOAT h n 1.5");
    EXPECT_EVENT("\"__keyevent@9__:hincrbyfloat\" \"h\"");
    EXPECT_EVENT("\"__subkeyevent@9__:hincrbyfloat\" \"1:h|1:n\"");
    EXPECT(cmd, "[1]", "HEXPIRE h 100 FIELDS 1 f22");
    EXPECT_EVENT("\"__keyevent@9__:hexpire\" \"h\"");
    EXPECT_EVENT("\"__subkeyevent@9__:hexpire\" \"1:h|3:f22\"");
    EXPECT(cmd, "[1]", "HPERSIST h FIELDS 1 f22");
    EXPECT_EVENT("\"__keyevent@9__:hpersist\" \"h\"");
    EXPECT_EVENT("\"__subkeyevent@9__:hpersist\" \"1:h|3:f22\"");
    /* Only the fields a command changed are named, not every field it was given. */
    EXPECT(cmd, "1", "HDEL h nope1 f22 nope2");
    EXPECT_EVENT("\"__keyevent@9__:hdel\" \"h\"");
    EXPECT_EVENT("\"__subkeyevent@9__:hdel\" \"1:h|3:f22\"");
    EXPECT(cmd, "3", "HSET h a 1 b 2 c 3");
    EXPECT_EVENT("\"__keyevent@9__:hset\" \"h\"");
    EXPECT_EVENT("\"__subkeyevent@9__:hset\" \"1:h|1:a,1:b,1:c\"");
    EXPECT(cmd, "[-2,1,1]", "HEXPIRE h 100 FIELDS 3 nope a b");
    EXPECT_EVENT("\"__keyevent@9__:hexpire\" \"h\"");
    EXPECT_EVENT("\"__subkeyevent@9__:hexpire\" \"1:h|1:a,1:b\"");
    EXPECT(cmd, "[1]", "HEXPIRE h 50 FIELDS 1 a");
    EXPECT_EVENT("\"__keyevent@9__:hexpire\" \"h\"");
    EXPECT_EVENT("\"__subkeyevent@9__:hexpire\" \"1:h|1:a\"");
    EXPECT(cmd, "[0,1]", "HEXPIRE h 80 LT FIELDS 2 a b");
    EXPECT_EVENT("\"__keyevent@9__:hexpire\" \"h\"");
    EXPECT_EVENT("\"__subkeyevent@9__:hexpire\" \"1:h|1:b\"");
    EXPECT(cmd, "[-1,1,-2]", "HPERSIST h FIELDS 3 n a nope");
    EXPECT_EVENT("\"__keyevent@9__:hpersist\" \"h\"");
    EXPECT_EVENT("\"__subkeyevent@9__:hpersist\" \"1:h|1:a\"");
    EXPECT(cmd, "[nil,\"3\"]", "HGETDEL h FIELDS 2 nope c");
    EXPECT_EVENT("\"__keyevent@9__:hdel\" \"h\"");
    EXPECT_EVENT("\"__subkeyevent@9__:hdel\" \"1:h|1:c\"");
    EXPECT(cmd, "1", "DEL h");
    EXPECT_EVENT("\"__keyevent@9__:del\" \"h\"");
    EXPECT_NO_MORE_EVENTS();
    flags("");
}

TEST(hexpired_lazy_and_active) {
    flags("EhgT");
    EXPECT(cmd, "+OK", "DEBUG SET-ACTIVE-EXPIRE 0");
    EXPECT(cmd, "3", "HSET hx a 1 b 2 c 3");
    EXPECT_EVENT("\"__keyevent@9__:hset\" \"hx\"");
    EXPECT_EVENT("\"__subkeyevent@9__:hset\" \"2:hx|1:a,1:b,1:c\"");
    EXPECT(cmd, "[1,1]", "HPEXPIRE hx 500 FIELDS 2 a b");
    EXPECT_EVENT("\"__keyevent@9__:hexpire\" \"hx\"");
    EXPECT_EVENT("\"__subkeyevent@9__:hexpire\" \"2:hx|1:a,1:b\"");
    EXPECT(cmd, "+OK", "DEBUG CLOCK-OFFSET 1000");
    EXPECT(cmd, "1", "HLEN hx"); /* lazy: one event naming both fields */
    const char *e = next_event(2000);
    if (strcmp(e, "\"__keyevent@9__:hexpired\" \"hx\"") != 0) TEST_FAIL("lazy: %s", e);
    e = next_event(2000);
    if (strcmp(e, "\"__subkeyevent@9__:hexpired\" \"2:hx|1:a,1:b\"") != 0 &&
        strcmp(e, "\"__subkeyevent@9__:hexpired\" \"2:hx|1:b,1:a\"") != 0)
        TEST_FAIL("lazy subkeys: %s", e);
    EXPECT(cmd, "+OK", "DEBUG CLOCK-OFFSET 0");
    /* Active: the last field expires, the hash goes with it ("del"). */
    EXPECT(cmd, "[1]", "HPEXPIRE hx 500 FIELDS 1 c");
    EXPECT_EVENT("\"__keyevent@9__:hexpire\" \"hx\"");
    EXPECT_EVENT("\"__subkeyevent@9__:hexpire\" \"2:hx|1:c\"");
    EXPECT(cmd, "+OK", "DEBUG SET-ACTIVE-EXPIRE 1");
    EXPECT(cmd, "+OK", "DEBUG CLOCK-OFFSET 1000");
    EXPECT_EVENT("\"__keyevent@9__:hexpired\" \"hx\"");
    EXPECT_EVENT("\"__subkeyevent@9__:hexpired\" \"2:hx|1:c\"");
    EXPECT_EVENT("\"__keyevent@9__:del\" \"hx\"");
    EXPECT(cmd, "0", "EXISTS hx");
    EXPECT_NO_MORE_EVENTS();
    EXPECT(cmd, "+OK", "DEBUG CLOCK-OFFSET 0");
    flags("");
}

int main(void) {
    it_start(NULL);
    cmd = it_client();
    sub = it_client();
    redisReply *r = redisCommand(cmd, "SELECT 9");
    freeReplyObject(r);
    r = redisCommand(sub, "PSUBSCRIBE __*@9__:*");
    freeReplyObject(r);
    RUN(config_get_normalises_flags);
    RUN(string_and_generic_events);
    RUN(move_events_name_both_databases);
    RUN(new_key_events);
    RUN(overwritten_and_type_changed);
    RUN(keymiss_events);
    RUN(expired_lazy);
    RUN(expired_active_within_a_tick);
    RUN(hash_events_with_subkeys);
    RUN(hexpired_lazy_and_active);
    redisFree(sub);
    redisFree(cmd);
    it_stop();
    return test_report();
}
