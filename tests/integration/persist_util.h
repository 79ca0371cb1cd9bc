/* persist_util: helpers shared by the persistence integration tests (it_persist*.c). */
#ifndef MAYFLY_IT_PERSIST_UTIL_H
#define MAYFLY_IT_PERSIST_UTIL_H

#include "integration/harness.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

/* Wall-clock milliseconds. */
static inline long long pu_now_ms(void) {
    struct timeval tv;
    gettimeofday(&tv, NULL);
    return (long long)tv.tv_sec * 1000 + tv.tv_usec / 1000;
}

/* The text value of an INFO field into out ("" if absent). */
static inline const char *pu_info_str(redisContext *c, const char *field, char *out, size_t cap) {
    redisReply *r = redisCommand(c, "INFO persistence");
    out[0] = '\0';
    if (r && r->type == REDIS_REPLY_STRING) {
        char key[128];
        snprintf(key, sizeof(key), "\n%s:", field);
        const char *p = strstr(r->str, key);
        if (p) {
            p += strlen(key);
            size_t n = strcspn(p, "\r\n");
            snprintf(out, cap, "%.*s", (int)n, p);
        }
    }
    if (r) freeReplyObject(r);
    return out;
}

/* Waits (up to 10 s) until INFO field reads 0 (no child running). Returns 1 if it did. */
static inline int pu_wait_zero(redisContext *c, const char *field) {
    for (int i = 0; i < 1000; i++) {
        if (it_info_field(c, field) == 0) return 1;
        it_sleep_ms(10);
    }
    return 0;
}

/* Path of the last increment named by the manifest in s's log directory into out. */
static inline int pu_last_incr(const it_server *s, char *out, size_t cap) {
    char path[600], line[1200], name[1024] = "";
    snprintf(path, sizeof(path), "%s/appendonlydir/appendonly.aof.manifest", s->dir);
    FILE *f = fopen(path, "r");
    if (!f) return -1;
    while (fgets(line, sizeof(line), f)) {
        char n[1024], t[8];
        long seq;
        if (sscanf(line, "file %1023s seq %ld type %7s", n, &seq, t) == 3 && t[0] == 'i')
            snprintf(name, sizeof(name), "%s", n);
    }
    fclose(f);
    if (!name[0]) return -1;
    snprintf(out, cap, "%s/appendonlydir/%s", s->dir, name);
    return 0;
}

static inline long long pu_file_size(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 ? (long long)st.st_size : -1;
}

/* 1 if the server log of s contains needle. */
static inline int pu_log_has(const it_server *s, const char *needle) {
    char path[600], line[4096];
    snprintf(path, sizeof(path), "%s/server.log", s->dir);
    FILE *f = fopen(path, "r");
    if (!f) return 0;
    int found = 0;
    while (!found && fgets(line, sizeof(line), f))
        found = strstr(line, needle) != NULL;
    fclose(f);
    return found;
}

/* Runs mayfly-server --check-aof [--fix] path (answering "y" to --fix's question), its
 * output into out; returns exit status. */
static inline int pu_check_aof(const char *path, int fix, char *out, size_t cap) {
    const char *bin = getenv("MAYFLY_SERVER");
    char cmd[1200];
    snprintf(cmd, sizeof(cmd), "echo y | '%s' --check-aof %s '%s' 2>&1",
             bin ? bin : "./mayfly-server", fix ? "--fix" : "", path);
    FILE *p = popen(cmd, "r");
    if (!p) return -1;
    size_t n = fread(out, 1, cap - 1, p);
    out[n] = '\0';
    int st = pclose(p);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

#endif
