/* harness: integration tests against a real mayfly-server over real sockets.
 *
 * Each test program starts its own server on a free loopback port (the binary named by
 * $MAYFLY_SERVER, set by ctest) and stops it at the end; TEST_SERVER=host:port reuses a
 * running server instead (e.g. one under gdb). Replies are checked through a compact
 * rendering, so a test is a few lines:
 *
 *     TEST(hset_basic) {
 *         redisContext *c = it_client();
 *         EXPECT(c, "1", "HSET %s %s %s", "h", "f", "v");
 *         EXPECT(c, "\"v\"", "HGET h f");
 *         EXPECT(c, "[\"v\",nil]", "HMGET h f nope");
 *         EXPECT(c, "-WRONGTYPE Operation against a key holding the wrong kind of value",
 *                "GET h");
 *         redisFree(c);
 *     }
 *
 * Rendering: integer 12, bulk "text" (with \r \n \t \\ \" \xNN escapes), status +OK,
 * error -ERR msg, nil, array [a,b] (nil array: nil).
 * RESP3 and protocol abuse use raw sockets: it_raw_connect, EXPECT_RAW. */
#ifndef MAYFLY_IT_HARNESS_H
#define MAYFLY_IT_HARNESS_H

#include "unit/test.h"

#include <hiredis/hiredis.h>
#include <stddef.h>
#include <string.h>
#include <sys/types.h>

typedef struct it_server {
    pid_t pid;       /* 0 when reusing TEST_SERVER */
    const char *bin; /* the program (NULL: $MAYFLY_SERVER); restarts run it again */
    char host[64];
    int port;
    char dir[256];   /* working directory (removed at stop) */
    int exit_status; /* of a server that exited while starting (see it_restart_server) */
} it_server;

/* The server the current test program uses (started by it_start). */
extern it_server it_srv;

/* Starts mayfly-server with extra "--directive value" arguments (NULL-terminated list,
 * may be NULL; a first element not starting with '-' is passed first, as the config file)
 * and waits until it answers PING. Exits the process on failure. */
void it_start(const char *const *extra_args);
/* Starts a second, independent server (for tests that need their own config). */
void it_start_server(it_server *s, const char *const *extra_args);
/* Starts another server binary (a reference redis-server) the same way, in its own
 * directory on a free port. Returns 1 when it answers PING, 0 if it could not start. Stop
 * it with it_stop_server. */
int it_start_binary(it_server *s, const char *bin, const char *const *extra);
/* Starts Debian's redis-server (a real Redis peer) as it_start_binary does; exits the
 * process if it cannot. */
void it_start_redis(it_server *s, const char *const *extra_args);
/* Kills the server with SIGKILL (a crash) and reaps it; its directory stays. */
void it_kill_server(it_server *s);
/* Starts the server again in the same directory (killing it first if it runs), with new
 * extra arguments. Returns 1 when it answers PING, 0 if it exited (exit_status set) or did
 * not answer in 20 s (its log is printed). */
int it_restart_server(it_server *s, const char *const *extra);
/* As it_restart_server, but returns as soon as the server answers at all, -LOADING
 * included: for tests that watch a slow load. */
int it_restart_server_loading(it_server *s, const char *const *extra);
/* Stops the server: SIGTERM, then SIGKILL after 10 s; removes its directory. */
void it_stop(void);
void it_stop_server(it_server *s);
/* Returns the exit status of a stopped server (after it_stop_server), or -1. */
int it_wait_exit(it_server *s, int timeout_ms);
/* 1 once the server's main thread is blocked in a sleep system call (a DEBUG SLEEP it
 * runs: Linux's /proc/<pid>/syscall), 0 after timeout_ms: for a test that must act while
 * a command runs, where a fixed pause assumes the server reads the command in time. */
int it_wait_server_sleeping(const it_server *s, int timeout_ms);

/* A new hiredis connection to it_srv (or s); exits on failure. Free with redisFree. */
redisContext *it_client(void);
redisContext *it_client_to(const it_server *s);

/* Renders a reply into out (cap bytes) as described above; returns out. */
char *it_render(const redisReply *r, char *out, size_t cap);
/* Runs the command and compares its rendering; prints both on mismatch. Returns 1 if
 * equal. Frees the reply. */
int it_expect(redisContext *c, const char *file, int line, const char *expected, const char *fmt,
              ...);
int it_expect_argv(redisContext *c, const char *file, int line, const char *expected, int argc,
                   const char **argv);
/* Runs a command and returns its rendering in a static buffer (for loose checks). */
const char *it_run(redisContext *c, const char *fmt, ...);
/* Runs a command expecting an integer reply; returns it (LLONG_MIN if not an integer). */
long long it_int(redisContext *c, const char *fmt, ...);

#define EXPECT(c, expected, ...)                                                                   \
    do {                                                                                           \
        if (!it_expect((c), __FILE__, __LINE__, (expected), __VA_ARGS__)) {                        \
            test_failed_now = 1;                                                                   \
            return;                                                                                \
        }                                                                                          \
    } while (0)

#define EXPECT_ARGV(c, expected, argc, argv)                                                       \
    do {                                                                                           \
        if (!it_expect_argv((c), __FILE__, __LINE__, (expected), (argc), (argv))) {                \
            test_failed_now = 1;                                                                   \
            return;                                                                                \
        }                                                                                          \
    } while (0)

/* ---- raw sockets ---- */
/* Connects a plain TCP socket to the server; exits on failure. */
int it_raw_connect(void);
int it_raw_connect_to(const it_server *s);
/* Sends all bytes. */
void it_raw_send(int fd, const void *p, size_t len);
/* Sends a NUL-terminated string (no hand-counted lengths). */
#define it_raw_send_str(fd, s) it_raw_send((fd), (s), strlen(s))
/* Reads until len bytes arrived, the peer closed, or timeout_ms passed; returns the count
 * read into out (cap >= len). */
size_t it_raw_read(int fd, char *out, size_t len, int timeout_ms);
/* Reads whatever arrives until timeout_ms of silence or close; returns the count. */
size_t it_raw_read_all(int fd, char *out, size_t cap, int timeout_ms);
/* Reads one whole reply (RESP2 or RESP3) into out, waiting at most timeout_ms in all:
 * returns its length, or 0 if it did not arrive whole in time (or overflowed cap). For a
 * reply whose bytes a test does not compare whole (HELLO's map): a wait for it by silence
 * (it_raw_read_all) ends early when a loaded server is slow. Send nothing else before it
 * is read: bytes after the reply are read and dropped. */
size_t it_raw_read_reply(int fd, char *out, size_t cap, int timeout_ms);
/* The same for count replies in a row (a pipeline's): their total length, or 0. */
size_t it_raw_read_replies(int fd, char *out, size_t cap, int count, int timeout_ms);
/* 1 if the peer closed the connection within timeout_ms (reading and discarding data). */
int it_raw_closed(int fd, int timeout_ms);

/* Sends `send` and expects exactly the bytes `expect` back (within 5 s). */
int it_expect_raw(int fd, const char *file, int line, const char *send, size_t send_len,
                  const char *expect, size_t expect_len);
#define EXPECT_RAW(fd, send, expect)                                                               \
    do {                                                                                           \
        if (!it_expect_raw((fd), __FILE__, __LINE__, (send), strlen(send), (expect),               \
                           strlen(expect))) {                                                      \
            test_failed_now = 1;                                                                   \
            return;                                                                                \
        }                                                                                          \
    } while (0)

/* Runs the server binary with args (NULL-terminated) and captures its stdout and stderr
 * into out (cap bytes, NUL-terminated). Returns the exit status, or -1 if it was still
 * running after timeout_ms (it is then killed). */
int it_run_binary(const char *const *args, char *out, size_t cap, int timeout_ms);
/* Connects to a Unix socket / to [::1]:port; returns the fd or -1. */
int it_raw_connect_unix(const char *path);
int it_raw_connect6(int port);

/* Polls cond (an expression) every 10 ms until it holds or timeout_ms passes. */
#define WAIT_FOR(cond, timeout_ms)                                                                 \
    do {                                                                                           \
        int waited_ = 0;                                                                           \
        while (!(cond) && waited_ < (timeout_ms)) {                                                \
            it_sleep_ms(10);                                                                       \
            waited_ += 10;                                                                         \
        }                                                                                          \
        if (!(cond)) TEST_FAIL("timed out after %d ms waiting for %s", (timeout_ms), #cond);       \
    } while (0)

void it_sleep_ms(int ms);
/* A loopback TCP port that was free a moment ago (for a second listener, e.g. tls-port). */
int it_free_port(void);
/* Value of an INFO field (e.g. "used_memory") as a long long; LLONG_MIN if absent. */
long long it_info_field(redisContext *c, const char *field);

#endif
