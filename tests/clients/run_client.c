/* run_client: runs one real-client scenario script against a fresh mayfly-server.
 *
 *     run_client [--require "shell test" "why it is needed"]... TIMEOUT_S PROGRAM [ARGS...]
 *
 * Each --require is run with /bin/sh -c (output discarded); if one fails the test is
 * skipped: "SKIP: <why>" is printed and the exit status is 77 (SKIP_RETURN_CODE in
 * tests/clients/CMakeLists.txt). Otherwise the harness starts the server on a free
 * loopback port (or reuses TEST_SERVER=host:port), PROGRAM runs with MAYFLY_HOST and
 * MAYFLY_PORT in its environment, in its own process group, and is killed after TIMEOUT_S
 * seconds. The exit status is PROGRAM's (77 passes through as a skip), or 1 when it timed
 * out, died of a signal, or the server did not survive it. On failure the tail of the
 * server's log is printed. */
#include "integration/harness.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define SKIP_CODE 77

static void usage(void) {
    fprintf(stderr, "usage: run_client [--require CHECK WHY]... TIMEOUT_S PROGRAM [ARGS...]\n");
    exit(2);
}

/* Runs the client in its own process group; returns its exit status (1 on timeout or a
 * signal). */
static int run_program(char **argv, int timeout_s) {
    pid_t pid = fork();
    if (pid < 0) {
        perror("fork");
        return 1;
    }
    if (pid == 0) {
        setpgid(0, 0);
        execvp(argv[0], argv);
        fprintf(stderr, "cannot run %s: %s\n", argv[0], strerror(errno));
        _exit(127);
    }
    setpgid(pid, pid); /* both sides set it, so kill(-pid) works whoever runs first */
    int status = 0;
    for (int waited_ms = 0;; waited_ms += 50) {
        if (waitpid(pid, &status, WNOHANG) == pid) break;
        if (waited_ms >= timeout_s * 1000) {
            fprintf(stderr, "FAIL: %s still running after %d s: killed\n", argv[0], timeout_s);
            kill(-pid, SIGKILL);
            waitpid(pid, &status, 0);
            return 1;
        }
        it_sleep_ms(50);
    }
    if (WIFSIGNALED(status)) {
        fprintf(stderr, "FAIL: %s died of signal %d\n", argv[0], WTERMSIG(status));
        return 1;
    }
    /* Children the client may have left behind in its group go too. */
    kill(-pid, SIGKILL);
    return WEXITSTATUS(status);
}

static int server_alive(void) {
    if (!it_srv.pid) return 1; /* TEST_SERVER: not ours to watch */
    int status;
    return waitpid(it_srv.pid, &status, WNOHANG) == 0;
}

static void print_server_log(void) {
    if (!it_srv.pid && !it_srv.dir[0]) return;
    char cmd[400];
    snprintf(cmd, sizeof(cmd),
             "echo '--- server log (tail) ---' >&2; tail -n 40 '%s/server.log' >&2", it_srv.dir);
    if (system(cmd) != 0) fprintf(stderr, "(no server log)\n");
}

int main(int argc, char **argv) {
    int i = 1;
    while (i < argc && strcmp(argv[i], "--require") == 0) {
        if (i + 2 >= argc) usage();
        char cmd[2048];
        snprintf(cmd, sizeof(cmd), "( %s ) >/dev/null 2>&1", argv[i + 1]);
        if (system(cmd) != 0) {
            printf("SKIP: %s\n", argv[i + 2]);
            fflush(stdout);
            return SKIP_CODE;
        }
        i += 3;
    }
    if (i + 1 >= argc) usage();
    int timeout_s = atoi(argv[i]);
    if (timeout_s <= 0) usage();
    char **prog = argv + i + 1;

    it_start(NULL);
    char port[16];
    snprintf(port, sizeof(port), "%d", it_srv.port);
    setenv("MAYFLY_HOST", it_srv.host, 1);
    setenv("MAYFLY_PORT", port, 1);
    fflush(stdout);
    int rc = run_program(prog, timeout_s);
    if (!server_alive()) {
        fprintf(stderr, "FAIL: mayfly-server exited while %s ran\n", prog[0]);
        it_srv.pid = 0;
        rc = 1;
    }
    if (rc != 0 && rc != SKIP_CODE) print_server_log();
    it_stop();
    return rc;
}
