/* Integration tests: reply details of issue 19 checked against Redis's source. CONFIG GET
 * shows a name without glob characters as the caller wrote it (Redis's configGetCommand
 * adds the argument itself), once however often it is asked; a RESP3 client publishing to
 * a channel it is subscribed to gets the PUBLISH reply first, then the message (Redis 7.2+
 * holds such pushes until the command's reply is written). */
#include "integration/harness.h"

#include <string.h>
#include <unistd.h>

TEST(config_get_echoes_exact_names) {
    redisContext *c = it_client();
    EXPECT(c, "[\"MAXMEMORY\",\"0\"]", "CONFIG GET MAXMEMORY");
    EXPECT(c, "[\"MaxMemory-Policy\",\"noeviction\"]", "CONFIG GET MaxMemory-Policy");
    EXPECT(c, "[\"SLAVE-read-only\",\"yes\"]", "CONFIG GET SLAVE-read-only");
    EXPECT(c, "[\"maxmemory\",\"0\"]", "CONFIG GET maxmemory MAXMEMORY");
    EXPECT(c, "[]", "CONFIG GET NOSUCH-THING");
    /* Patterns list the names as Redis spells them. */
    const char *all = it_run(c, "CONFIG GET MAXMEMORY-P*");
    if (strcmp(all, "[\"maxmemory-policy\",\"noeviction\"]") != 0) TEST_FAIL("pattern: %s", all);
    redisFree(c);
}

TEST(resp3_publish_to_self_reply_first) {
    int fd = it_raw_connect();
    it_raw_send_str(fd, "HELLO 3\r\n");
    char tmp[4096];
    it_raw_read_all(fd, tmp, sizeof(tmp), 200);
    EXPECT_RAW(fd, "SUBSCRIBE ch\r\n", ">3\r\n$9\r\nsubscribe\r\n$2\r\nch\r\n:1\r\n");
    EXPECT_RAW(fd, "PUBLISH ch hi\r\n", ":1\r\n>3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$2\r\nhi\r\n");
    /* Inside MULTI the messages follow EXEC's whole reply. */
    EXPECT_RAW(
        fd, "MULTI\r\nPUBLISH ch a\r\nPING\r\nEXEC\r\n",
        "+OK\r\n+QUEUED\r\n+QUEUED\r\n*2\r\n:1\r\n+PONG\r\n>3\r\n$7\r\nmessage\r\n$2\r\nch\r\n"
        "$1\r\na\r\n");
    close(fd);
}

int main(void) {
    it_start(NULL);
    RUN(config_get_echoes_exact_names);
    RUN(resp3_publish_to_self_reply_first);
    it_stop();
    return test_report();
}
