/* repl_util: helpers for the replication tests (it_repl*.c): servers started as primaries
 * and replicas, INFO fields, waiting for a link, and a canonical dump of a dataset (keys,
 * values, key TTLs, field TTLs) to compare a replica with its primary. */
#ifndef MAYFLY_IT_REPL_UTIL_H
#define MAYFLY_IT_REPL_UTIL_H

#include "integration/harness.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

static inline long long ru_now_ms(void) {
    struct timeval tv;
    gettimeofday(&tv, NULL);
    return (long long)tv.tv_sec * 1000 + tv.tv_usec / 1000;
}

/* Starts a primary: no save, no diskless delay, plus extra (NULL-terminated, may be NULL). */
static inline void ru_start_primary(it_server *s, const char *const *extra) {
    const char *args[32] = {"--repl-diskless-sync-delay", "0"};
    int n = 2;
    for (int i = 0; extra && extra[i] && n < 30; i++)
        args[n++] = extra[i];
    args[n] = NULL;
    it_start_server(s, args);
}

/* The replicaof argument for primary p ("127.0.0.1 <port>") into out. */
static inline const char *ru_replicaof(const it_server *p, char *out, size_t cap) {
    snprintf(out, cap, "127.0.0.1 %d", p->port);
    return out;
}

/* Starts a replica of p, plus extra. */
static inline void ru_start_replica(it_server *s, const it_server *p, const char *const *extra) {
    static char of[64];
    const char *args[32] = {"--repl-diskless-sync-delay", "0", "--replicaof",
                            ru_replicaof(p, of, sizeof(of))};
    int n = 4;
    for (int i = 0; extra && extra[i] && n < 30; i++)
        args[n++] = extra[i];
    args[n] = NULL;
    it_start_server(s, args);
}

/* The value of an INFO field as a string into out; 0 if absent. */
static inline int ru_info(redisContext *c, const char *field, char *out, size_t cap) {
    redisReply *r = redisCommand(c, "INFO everything");
    int found = 0;
    if (r && r->type == REDIS_REPLY_STRING) {
        char key[128];
        snprintf(key, sizeof(key), "\r\n%s:", field);
        const char *p = strstr(r->str, key);
        if (p) {
            p += strlen(key);
            size_t len = strcspn(p, "\r\n");
            snprintf(out, cap, "%.*s", (int)len, p);
            found = 1;
        }
    }
    if (r) freeReplyObject(r);
    return found;
}

static inline int ru_link_up(redisContext *c) {
    char v[32];
    return ru_info(c, "master_link_status", v, sizeof(v)) && strcmp(v, "up") == 0;
}

/* master_repl_offset of c and slave_repl_offset of r are equal (and nonzero). */
static inline int ru_offsets_equal(redisContext *p, redisContext *r) {
    long long a = it_info_field(p, "master_repl_offset");
    long long b = it_info_field(r, "slave_repl_offset");
    return a > 0 && a == b;
}

/* ---- a canonical dump of database 0 ---- */

typedef struct ru_str {
    char *p;
    size_t len, cap;
} ru_str;

static inline void ru_put(ru_str *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static inline void ru_put(ru_str *s, const char *fmt, ...) {
    va_list ap;
    for (;;) {
        va_start(ap, fmt);
        int n = vsnprintf(s->p ? s->p + s->len : NULL, s->p ? s->cap - s->len : 0, fmt, ap);
        va_end(ap);
        if (s->p && (size_t)n < s->cap - s->len) {
            s->len += (size_t)n;
            return;
        }
        s->cap = (s->cap + (size_t)n + 1) * 2;
        s->p = realloc(s->p, s->cap);
    }
}

static inline int ru_cmp_str(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Field TTLs are compared (0 against servers without HPEXPIRETIME: Redis 7.0). */
static int ru_field_ttls = 1;

/* Appends "key type value ttl [field value fieldttl]*" lines for one hash. */
static inline void ru_dump_hash(redisContext *c, const char *key, ru_str *out) {
    redisReply *r = redisCommand(c, "HGETALL %s", key);
    size_t n = r && r->type == REDIS_REPLY_ARRAY ? r->elements / 2 : 0;
    char **lines = calloc(n + 1, sizeof(char *));
    for (size_t i = 0; i < n; i++) {
        const char *f = r->element[2 * i]->str, *v = r->element[2 * i + 1]->str;
        long long ttl = -1;
        if (ru_field_ttls) {
            redisReply *t = redisCommand(c, "HPEXPIRETIME %s FIELDS 1 %s", key, f);
            ttl = t && t->type == REDIS_REPLY_ARRAY && t->elements == 1 ? t->element[0]->integer
                                                                        : -99;
            if (t) freeReplyObject(t);
        }
        size_t len = strlen(f) + strlen(v) + 64;
        lines[i] = malloc(len);
        snprintf(lines[i], len, "  %s=%s ttl=%lld\n", f, v, ttl);
    }
    qsort(lines, n, sizeof(char *), ru_cmp_str);
    for (size_t i = 0; i < n; i++) {
        ru_put(out, "%s", lines[i]);
        free(lines[i]);
    }
    free(lines);
    if (r) freeReplyObject(r);
}

/* Every key of database 0, sorted, with its value and TTLs. The caller frees out->p. */
static inline void ru_dump(redisContext *c, ru_str *out) {
    char **keys = NULL;
    size_t nkeys = 0, cap = 0;
    char cursor[32] = "0";
    for (int rounds = 0; rounds < 100000; rounds++) {
        redisReply *r = redisCommand(c, "SCAN %s COUNT 1000", cursor);
        if (!r || r->type != REDIS_REPLY_ARRAY || r->elements != 2) {
            if (r) freeReplyObject(r);
            break;
        }
        snprintf(cursor, sizeof(cursor), "%s", r->element[0]->str);
        for (size_t i = 0; i < r->element[1]->elements; i++) {
            if (nkeys == cap) keys = realloc(keys, (cap = cap * 2 + 64) * sizeof(char *));
            keys[nkeys++] = strdup(r->element[1]->element[i]->str);
        }
        freeReplyObject(r);
        if (strcmp(cursor, "0") == 0) break;
    }
    qsort(keys, nkeys, sizeof(char *), ru_cmp_str);
    for (size_t i = 0; i < nkeys; i++) {
        redisReply *t = redisCommand(c, "TYPE %s", keys[i]);
        redisReply *e = redisCommand(c, "PEXPIRETIME %s", keys[i]);
        ru_put(out, "%s %s ttl=%lld\n", keys[i], t ? t->str : "?", e ? e->integer : -99);
        if (t && strcmp(t->str, "hash") == 0) {
            ru_dump_hash(c, keys[i], out);
        } else if (t && strcmp(t->str, "string") == 0) {
            redisReply *v = redisCommand(c, "GET %s", keys[i]);
            ru_put(out, "  =%s\n", v && v->str ? v->str : "(nil)");
            if (v) freeReplyObject(v);
        }
        if (t) freeReplyObject(t);
        if (e) freeReplyObject(e);
        free(keys[i]);
    }
    free(keys);
    if (!out->p) ru_put(out, "%s", "");
}

/* 1 if both servers hold the same dataset in database 0 (prints the first difference). */
static inline int ru_same_dataset(redisContext *a, redisContext *b) {
    ru_str x = {0}, y = {0};
    ru_dump(a, &x);
    ru_dump(b, &y);
    int same = x.len == y.len && memcmp(x.p, y.p, x.len) == 0;
    if (!same) {
        size_t i = 0;
        while (i < x.len && i < y.len && x.p[i] == y.p[i])
            i++;
        size_t from = i > 80 ? i - 80 : 0;
        fprintf(stderr, "datasets differ at byte %zu:\n  primary: %.*s\n  replica: %.*s\n", i,
                (int)(x.len - from < 200 ? x.len - from : 200), x.p + from,
                (int)(y.len - from < 200 ? y.len - from : 200), y.p + from);
    }
    free(x.p);
    free(y.p);
    return same;
}

#endif
