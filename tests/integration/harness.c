/* harness: see harness.h. */
#include "integration/harness.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

it_server it_srv;

void it_sleep_ms(int ms) {
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

int it_free_port(void) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a;
    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = 0;
    socklen_t len = sizeof(a);
    if (bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 ||
        getsockname(fd, (struct sockaddr *)&a, &len) < 0) {
        perror("it_free_port");
        exit(2);
    }
    close(fd);
    return ntohs(a.sin_port);
}

static int ping_ok(const it_server *s, int loading_ok) {
    struct timeval tv = {0, 200000};
    redisContext *c = redisConnectWithTimeout(s->host, s->port, tv);
    if (!c || c->err) {
        if (c) redisFree(c);
        return 0;
    }
    redisReply *r = redisCommand(c, "PING");
    int ok =
        r && ((r->type == REDIS_REPLY_STATUS && strcmp(r->str, "PONG") == 0) ||
              (r->type == REDIS_REPLY_ERROR && strncmp(r->str, "NOAUTH", 6) == 0) ||
              (loading_ok && r->type == REDIS_REPLY_ERROR && strncmp(r->str, "LOADING", 7) == 0));
    if (r) freeReplyObject(r);
    redisFree(c);
    return ok;
}

static void remove_dir(const char *dir) {
    char cmd[512];
    if (strncmp(dir, "/tmp/mayfly-it-", 15) != 0) return;
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", dir);
}

/* Starts the binary on s->port with s->dir and waits until it answers PING (or, with
 * loading_ok, -LOADING). Returns 1 if it does, 0 if it exited or timed out (then killed,
 * its log printed). */
static const char *mayfly_binary(void) {
    const char *bin = getenv("MAYFLY_SERVER");
    return bin ? bin : "./mayfly-server";
}

static int spawn_binary(it_server *s, const char *bin, const char *const *extra, int loading_ok) {
    char port[16], logfile[300];
    snprintf(port, sizeof(port), "%d", s->port);
    snprintf(logfile, sizeof(logfile), "%s/server.log", s->dir);
    const char *argv[128];
    int n = 0;
    argv[n++] = bin;
    /* A first extra argument that is not an option is the config file. */
    int first = 0;
    if (extra && extra[0] && extra[0][0] != '-') argv[n++] = extra[first++];
    argv[n++] = "--port";
    argv[n++] = port;
    argv[n++] = "--bind";
    argv[n++] = "127.0.0.1";
    argv[n++] = "--save";
    argv[n++] = "";
    argv[n++] = "--dir";
    argv[n++] = s->dir;
    argv[n++] = "--logfile";
    argv[n++] = logfile;
    /* The tests move time and pause expiry with DEBUG (refused by default, as in Redis). */
    argv[n++] = "--enable-debug-command";
    argv[n++] = "yes";
    for (int i = first; extra && extra[i] && n < 126; i++)
        argv[n++] = extra[i];
    argv[n] = NULL;
    pid_t pid = fork();
    if (pid == 0) {
        /* The server dies with the test program, even if the test crashes. */
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        execvp(bin, (char *const *)argv);
        perror("execvp");
        _exit(127);
    }
    s->pid = pid;
    for (int waited = 0; waited < 20000; waited += 20) {
        if (ping_ok(s, loading_ok)) return 1;
        int status;
        if (waitpid(pid, &status, WNOHANG) == pid) {
            s->pid = 0;
            s->exit_status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
            break;
        }
        it_sleep_ms(20);
    }
    if (s->pid) {
        kill(s->pid, SIGKILL);
        waitpid(s->pid, NULL, 0);
        s->pid = 0;
    }
    char cmd[400];
    snprintf(cmd, sizeof(cmd), "cat '%s' >&2", logfile);
    if (system(cmd) != 0) fprintf(stderr, "(no server log)\n");
    return 0;
}

static int spawn(it_server *s, const char *const *extra, int loading_ok) {
    return spawn_binary(s, s->bin ? s->bin : mayfly_binary(), extra, loading_ok);
}

void it_start_server(it_server *s, const char *const *extra) {
    memset(s, 0, sizeof(*s));
    const char *reuse = getenv("TEST_SERVER");
    if (reuse && s == &it_srv) {
        const char *colon = strrchr(reuse, ':');
        snprintf(s->host, sizeof(s->host), "%.*s", (int)(colon ? colon - reuse : 0), reuse);
        s->port = colon ? atoi(colon + 1) : 6379;
        return;
    }
    snprintf(s->host, sizeof(s->host), "127.0.0.1");
    for (int attempt = 0; attempt < 5; attempt++) {
        snprintf(s->dir, sizeof(s->dir), "/tmp/mayfly-it-XXXXXX");
        if (!mkdtemp(s->dir)) {
            perror("mkdtemp");
            exit(2);
        }
        s->port = it_free_port();
        if (spawn(s, extra, 0)) return;
        remove_dir(s->dir);
    }
    fprintf(stderr, "could not start %s\n", mayfly_binary());
    exit(2);
}

int it_start_binary(it_server *s, const char *bin, const char *const *extra) {
    memset(s, 0, sizeof(*s));
    snprintf(s->host, sizeof(s->host), "127.0.0.1");
    for (int attempt = 0; attempt < 3; attempt++) {
        snprintf(s->dir, sizeof(s->dir), "/tmp/mayfly-it-XXXXXX");
        if (!mkdtemp(s->dir)) return 0;
        s->port = it_free_port();
        s->bin = bin;
        if (spawn_binary(s, bin, extra, 0)) return 1;
        remove_dir(s->dir);
    }
    return 0;
}

void it_start_redis(it_server *s, const char *const *extra) {
    if (!it_start_binary(s, "redis-server", extra)) {
        fprintf(stderr, "could not start redis-server (Debian package redis-server)\n");
        exit(2);
    }
}

int it_restart_server(it_server *s, const char *const *extra) {
    if (s->pid) it_kill_server(s);
    s->exit_status = 0;
    return spawn(s, extra, 0);
}

int it_restart_server_loading(it_server *s, const char *const *extra) {
    if (s->pid) it_kill_server(s);
    s->exit_status = 0;
    return spawn(s, extra, 1);
}

void it_kill_server(it_server *s) {
    if (!s->pid) return;
    kill(s->pid, SIGKILL);
    waitpid(s->pid, NULL, 0);
    s->pid = 0;
}

void it_start(const char *const *extra) {
    it_start_server(&it_srv, extra);
}

int it_wait_exit(it_server *s, int timeout_ms) {
    if (!s->pid) return -1;
    for (int waited = 0; waited <= timeout_ms; waited += 10) {
        int status;
        if (waitpid(s->pid, &status, WNOHANG) == s->pid) {
            s->pid = 0;
            return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
        }
        it_sleep_ms(10);
    }
    return -1;
}

int it_wait_server_sleeping(const it_server *s, int timeout_ms) {
    char path[64];
    snprintf(path, sizeof(path), "/proc/%d/syscall", (int)s->pid);
    for (int waited = 0; waited <= timeout_ms; waited += 5) {
        FILE *f = fopen(path, "r");
        long nr = -1;
        if (f) {
            if (fscanf(f, "%ld", &nr) != 1) nr = -1; /* "running" */
            fclose(f);
        }
        if (nr == SYS_nanosleep || nr == SYS_clock_nanosleep) return 1;
        it_sleep_ms(5);
    }
    return 0;
}

void it_stop_server(it_server *s) {
    if (s->pid) {
        kill(s->pid, SIGTERM);
        if (it_wait_exit(s, 10000) < 0 && s->pid) {
            kill(s->pid, SIGKILL);
            waitpid(s->pid, NULL, 0);
        }
        s->pid = 0;
    }
    if (s->dir[0]) remove_dir(s->dir);
    s->dir[0] = '\0';
}

void it_stop(void) {
    it_stop_server(&it_srv);
}

redisContext *it_client_to(const it_server *s) {
    struct timeval tv = {5, 0};
    redisContext *c = redisConnectWithTimeout(s->host, s->port, tv);
    if (!c || c->err) {
        fprintf(stderr, "connect %s:%d failed: %s\n", s->host, s->port, c ? c->errstr : "?");
        exit(2);
    }
    redisSetTimeout(c, (struct timeval){30, 0});
    return c;
}

redisContext *it_client(void) {
    return it_client_to(&it_srv);
}

static size_t render(const redisReply *r, char *out, size_t cap, size_t pos) {
#define PUT(...)                                                                                   \
    do {                                                                                           \
        if (pos < cap) {                                                                           \
            int n_ = snprintf(out + pos, cap - pos, __VA_ARGS__);                                  \
            if (n_ > 0) pos += (size_t)n_;                                                         \
        }                                                                                          \
    } while (0)
    if (!r) {
        PUT("<no reply>");
        return pos;
    }
    switch (r->type) {
    case REDIS_REPLY_INTEGER:
        PUT("%lld", r->integer);
        break;
    case REDIS_REPLY_NIL:
        PUT("nil");
        break;
    case REDIS_REPLY_STATUS:
        PUT("+%s", r->str);
        break;
    case REDIS_REPLY_ERROR:
        PUT("-%s", r->str);
        break;
    case REDIS_REPLY_STRING:
        PUT("\"");
        for (size_t i = 0; i < r->len; i++) {
            unsigned char ch = (unsigned char)r->str[i];
            if (ch == '"')
                PUT("\\\"");
            else if (ch == '\\')
                PUT("\\\\");
            else if (ch == '\r')
                PUT("\\r");
            else if (ch == '\n')
                PUT("\\n");
            else if (ch == '\t')
                PUT("\\t");
            else if (ch < 32 || ch > 126)
                PUT("\\x%02x", ch);
            else
                PUT("%c", ch);
        }
        PUT("\"");
        break;
    case REDIS_REPLY_ARRAY:
        PUT("[");
        for (size_t i = 0; i < r->elements; i++) {
            if (i) PUT(",");
            pos = render(r->element[i], out, cap, pos);
        }
        PUT("]");
        break;
    default:
        PUT("<type %d>", r->type);
    }
    return pos;
#undef PUT
}

char *it_render(const redisReply *r, char *out, size_t cap) {
    out[0] = '\0';
    size_t n = render(r, out, cap, 0);
    if (n >= cap) n = cap - 1;
    out[n] = '\0';
    return out;
}

static int compare(redisContext *c, redisReply *r, const char *file, int line, const char *expected,
                   const char *what) {
    static char got[1 << 16];
    if (!r) {
        fprintf(stderr, "%s:%d: %s: connection error: %s\n", file, line, what, c->errstr);
        return 0;
    }
    it_render(r, got, sizeof(got));
    freeReplyObject(r);
    if (strcmp(got, expected) == 0) return 1;
    fprintf(stderr, "%s:%d: %s\n  expected: %s\n  got:      %s\n", file, line, what, expected, got);
    return 0;
}

int it_expect(redisContext *c, const char *file, int line, const char *expected, const char *fmt,
              ...) {
    va_list ap;
    va_start(ap, fmt);
    redisReply *r = redisvCommand(c, fmt, ap);
    va_end(ap);
    return compare(c, r, file, line, expected, fmt);
}

int it_expect_argv(redisContext *c, const char *file, int line, const char *expected, int argc,
                   const char **argv) {
    redisReply *r = redisCommandArgv(c, argc, argv, NULL);
    return compare(c, r, file, line, expected, argv[0]);
}

const char *it_run(redisContext *c, const char *fmt, ...) {
    static char out[1 << 16];
    va_list ap;
    va_start(ap, fmt);
    redisReply *r = redisvCommand(c, fmt, ap);
    va_end(ap);
    it_render(r, out, sizeof(out));
    if (r) freeReplyObject(r);
    return out;
}

long long it_int(redisContext *c, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    redisReply *r = redisvCommand(c, fmt, ap);
    va_end(ap);
    long long v = (r && r->type == REDIS_REPLY_INTEGER) ? r->integer : LLONG_MIN;
    if (r) freeReplyObject(r);
    return v;
}

long long it_info_field(redisContext *c, const char *field) {
    redisReply *r = redisCommand(c, "INFO everything");
    long long v = LLONG_MIN;
    if (r && r->type == REDIS_REPLY_STRING) {
        char key[128];
        snprintf(key, sizeof(key), "\n%s:", field);
        const char *p = strstr(r->str, key);
        if (p) v = atoll(p + strlen(key));
    }
    if (r) freeReplyObject(r);
    return v;
}

int it_raw_connect_to(const it_server *s) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a;
    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)s->port);
    inet_pton(AF_INET, s->host, &a.sin_addr);
    if (connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
        perror("raw connect");
        exit(2);
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    return fd;
}

int it_raw_connect(void) {
    return it_raw_connect_to(&it_srv);
}

void it_raw_send(int fd, const void *p, size_t len) {
    const char *b = p;
    while (len) {
        ssize_t n = send(fd, b, len, MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EINTR) continue;
            return;
        }
        b += n;
        len -= (size_t)n;
    }
}

size_t it_raw_read(int fd, char *out, size_t len, int timeout_ms) {
    size_t got = 0;
    while (got < len) {
        struct pollfd p = {fd, POLLIN, 0};
        int rc = poll(&p, 1, timeout_ms);
        if (rc <= 0) break;
        ssize_t n = recv(fd, out + got, len - got, 0);
        if (n <= 0) break;
        got += (size_t)n;
    }
    return got;
}

size_t it_raw_read_all(int fd, char *out, size_t cap, int timeout_ms) {
    size_t got = 0;
    while (got < cap) {
        struct pollfd p = {fd, POLLIN, 0};
        if (poll(&p, 1, timeout_ms) <= 0) break;
        ssize_t n = recv(fd, out + got, cap - got, 0);
        if (n <= 0) break;
        got += (size_t)n;
    }
    return got;
}

/* The length of the whole RESP2/RESP3 value at p (len bytes), 0 while it is incomplete. */
static size_t reply_len(const char *p, size_t len) {
    const char *nl = memchr(p, '\n', len);
    if (len < 3 || !nl) return 0;
    size_t head = (size_t)(nl - p) + 1;
    long long n = atoll(p + 1);
    switch (p[0]) {
    case '$': /* bulk, verbatim, bulk error: n bytes and CRLF (-1: nil) */
    case '=':
    case '!':
        if (n < 0) return head;
        return len >= head + (size_t)n + 2 ? head + (size_t)n + 2 : 0;
    case '*': /* aggregates: n values, maps and attributes 2n (-1: nil) */
    case '~':
    case '>':
    case '%':
    case '|': {
        long long items = (p[0] == '%' || p[0] == '|') ? 2 * n : n;
        size_t at = head;
        for (long long i = 0; i < items; i++) {
            size_t k = reply_len(p + at, len - at);
            if (!k) return 0;
            at += k;
        }
        if (p[0] != '|') return at;
        size_t k = reply_len(p + at, len - at); /* an attribute precedes its value */
        return k ? at + k : 0;
    }
    default: /* + - : _ # , ( lines */
        return head;
    }
}

size_t it_raw_read_replies(int fd, char *out, size_t cap, int count, int timeout_ms) {
    struct timespec t0, t;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    size_t got = 0, whole = 0;
    int have = 0;
    for (;;) {
        for (size_t k; have < count && whole < got && (k = reply_len(out + whole, got - whole));
             have++)
            whole += k;
        if (have == count) return whole;
        clock_gettime(CLOCK_MONOTONIC, &t);
        long long left = timeout_ms - ((long long)(t.tv_sec - t0.tv_sec) * 1000 +
                                       (t.tv_nsec - t0.tv_nsec) / 1000000);
        struct pollfd p = {fd, POLLIN, 0};
        if (got == cap || left <= 0 || poll(&p, 1, (int)left) <= 0) return 0;
        ssize_t n = recv(fd, out + got, cap - got, 0);
        if (n <= 0) return 0;
        got += (size_t)n;
    }
}

size_t it_raw_read_reply(int fd, char *out, size_t cap, int timeout_ms) {
    return it_raw_read_replies(fd, out, cap, 1, timeout_ms);
}

int it_raw_closed(int fd, int timeout_ms) {
    char tmp[4096];
    for (int waited = 0; waited <= timeout_ms; waited += 10) {
        struct pollfd p = {fd, POLLIN, 0};
        if (poll(&p, 1, 10) > 0) {
            ssize_t n = recv(fd, tmp, sizeof(tmp), 0);
            if (n == 0 || (n < 0 && errno == ECONNRESET)) return 1;
        }
    }
    return 0;
}

int it_expect_raw(int fd, const char *file, int line, const char *send, size_t send_len,
                  const char *expect, size_t expect_len) {
    if (send_len) it_raw_send(fd, send, send_len);
    char *got = malloc(expect_len + 1);
    size_t n = it_raw_read(fd, got, expect_len, 5000);
    int ok = n == expect_len && memcmp(got, expect, expect_len) == 0;
    if (!ok) {
        fprintf(stderr, "%s:%d: raw reply differs\n  expected: ", file, line);
        test_print_escaped(expect, expect_len);
        fprintf(stderr, "\n  got:      ");
        test_print_escaped(got, n);
        fputc('\n', stderr);
    }
    free(got);
    return ok;
}

int it_run_binary(const char *const *args, char *out, size_t cap, int timeout_ms) {
    const char *bin = getenv("MAYFLY_SERVER");
    if (!bin) bin = "./mayfly-server";
    int pipefd[2];
    if (pipe(pipefd) < 0) return -1;
    const char *argv[64];
    int n = 0;
    argv[n++] = bin;
    for (int i = 0; args && args[i] && n < 63; i++)
        argv[n++] = args[i];
    argv[n] = NULL;
    pid_t pid = fork();
    if (pid == 0) {
        dup2(pipefd[1], 1);
        dup2(pipefd[1], 2);
        close(pipefd[0]);
        close(pipefd[1]);
        execv(bin, (char *const *)argv);
        _exit(127);
    }
    close(pipefd[1]);
    size_t len = 0;
    for (int waited = 0; waited < timeout_ms;) {
        struct pollfd p = {pipefd[0], POLLIN, 0};
        int r = poll(&p, 1, 50);
        if (r == 0) {
            waited += 50;
            continue;
        }
        char tmp[1024];
        ssize_t k = read(pipefd[0], tmp, sizeof(tmp));
        if (k <= 0) break;
        for (ssize_t i = 0; i < k && len + 1 < cap; i++)
            out[len++] = tmp[i];
    }
    if (cap) out[len] = '\0';
    close(pipefd[0]);
    for (int waited = 0; waited <= timeout_ms; waited += 10) {
        int status;
        if (waitpid(pid, &status, WNOHANG) == pid)
            return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
        it_sleep_ms(10);
    }
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    return -1;
}

int it_raw_connect_unix(const char *path) {
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    struct sockaddr_un a;
    memset(&a, 0, sizeof(a));
    a.sun_family = AF_UNIX;
    snprintf(a.sun_path, sizeof(a.sun_path), "%s", path);
    if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
        if (fd >= 0) close(fd);
        return -1;
    }
    return fd;
}

int it_raw_connect6(int port) {
    int fd = socket(AF_INET6, SOCK_STREAM, 0);
    struct sockaddr_in6 a;
    memset(&a, 0, sizeof(a));
    a.sin6_family = AF_INET6;
    a.sin6_addr = in6addr_loopback;
    a.sin6_port = htons((uint16_t)port);
    if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
        if (fd >= 0) close(fd);
        return -1;
    }
    return fd;
}
