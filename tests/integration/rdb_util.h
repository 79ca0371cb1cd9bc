/* rdb_util: helpers of the RDB / AOF interoperability tests (it_rdb*.c, it_aof*.c): files,
 * fixture sidecars checked against a live server, and two live servers compared key by
 * key (Mayfly against a real Redis). Header-only; every check prints what differs. */
#ifndef MAYFLY_IT_RDB_UTIL_H
#define MAYFLY_IT_RDB_UTIL_H

#include "common/json.h"
#include "integration/persist_util.h"
#include "mayfly/util/buf.h"

#include <errno.h>
#include <stdarg.h>

/* Path of a fixture file into out. */
static inline void ru_fixture(char *out, size_t cap, const char *name) {
    const char *src = getenv("MAYFLY_SOURCE_DIR");
    snprintf(out, cap, "%s/tests/fixtures/rdb/%s", src ? src : "..", name);
}

/* Copies the first len bytes of src to dst (all of it when len is -1). 0 or -1. */
static inline int ru_copy(const char *src, const char *dst, long long len) {
    FILE *in = fopen(src, "rb"), *out = in ? fopen(dst, "wb") : NULL;
    if (!in || !out) {
        if (in) fclose(in);
        return -1;
    }
    char b[65536];
    size_t n;
    long long done = 0;
    while (
        (len < 0 || done < len) &&
        (n = fread(b, 1,
                   len < 0 || len - done > (long long)sizeof(b) ? sizeof(b) : (size_t)(len - done),
                   in)) > 0) {
        fwrite(b, 1, n, out);
        done += (long long)n;
    }
    fclose(in);
    return fclose(out) == 0 ? 0 : -1;
}

/* Reads a whole file (owned, NUL-terminated) or NULL. */
static inline char *ru_read(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *p = malloc((size_t)n + 1);
    *len = fread(p, 1, (size_t)n, f);
    p[*len] = '\0';
    fclose(f);
    return p;
}

static inline int ru_write(const char *path, const void *p, size_t len) {
    FILE *f = fopen(path, "wb");
    if (!f) return -1;
    size_t n = fwrite(p, 1, len, f);
    return fclose(f) == 0 && n == len ? 0 : -1;
}

/* Runs a shell command line (paths in it quoted by the caller), its output (stdout and
 * stderr) into out; returns the exit status, -1 if it could not run. */
static inline int ru_shell(char *out, size_t cap, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static inline int ru_shell(char *out, size_t cap, const char *fmt, ...) {
    char cmd[4096];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof(cmd) - 8, fmt, ap);
    va_end(ap);
    strcat(cmd, " 2>&1");
    FILE *p = popen(cmd, "r");
    if (!p) return -1;
    size_t n = fread(out, 1, cap - 1, p);
    out[n] = '\0';
    int st = pclose(p);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* Runs a command given as binary-safe pieces; the reply is the caller's to free. */
static inline redisReply *ru_cmd(redisContext *c, int argc, const char **argv, const size_t *lens) {
    return redisCommandArgv(c, argc, argv, lens);
}

/* SELECT id. */
static inline int ru_select(redisContext *c, int id) {
    redisReply *r = redisCommand(c, "SELECT %d", id);
    int ok = r && r->type == REDIS_REPLY_STATUS;
    if (r) freeReplyObject(r);
    return ok;
}

/* An integer reply of a one-key command ("PEXPIRETIME", "EXISTS", ...). */
static inline long long ru_key_int(redisContext *c, const char *cmd, const char *key, size_t klen) {
    const char *argv[2] = {cmd, key};
    size_t lens[2] = {strlen(cmd), klen};
    redisReply *r = ru_cmd(c, 2, argv, lens);
    long long v = r && r->type == REDIS_REPLY_INTEGER ? r->integer : LLONG_MIN;
    if (r) freeReplyObject(r);
    return v;
}

/* ---- a server against a fixture sidecar ----------------------------------------------- */

static inline int ru_is_past(const json *k) {
    const json *p = json_get(k, "past");
    return p && p->kind == JSON_BOOL && p->num;
}

static inline int ru_field_past(const json *k, const json *field) {
    const json *pf = json_get(k, "past_fields");
    for (size_t i = 0; pf && i < pf->len; i++)
        if (pf->item[i]->len == field->len && memcmp(pf->item[i]->str, field->str, field->len) == 0)
            return 1;
    return 0;
}

/* The value of field f in an HGETALL reply, or NULL. */
static inline const redisReply *ru_hget(const redisReply *all, const char *f, size_t flen) {
    for (size_t i = 0; all && i + 1 < all->elements; i += 2)
        if (all->element[i]->len == flen && memcmp(all->element[i]->str, f, flen) == 0)
            return all->element[i + 1];
    return NULL;
}

static inline int ru_check_hash(redisContext *c, const char *name, size_t nlen, const json *k) {
    const char *argv[3] = {"HGETALL", name};
    size_t lens[3] = {7, nlen};
    redisReply *all = ru_cmd(c, 2, argv, lens);
    const json *fields = json_get(k, "fields");
    size_t live = 0;
    int ok = all && all->type == REDIS_REPLY_ARRAY;
    for (size_t i = 0; ok && i < fields->len; i++) {
        const json *f = fields->item[i];
        const redisReply *v = ru_hget(all, f->item[0]->str, f->item[0]->len);
        if (ru_field_past(k, f->item[0])) {
            if (v) fprintf(stderr, "%s: field %s should have expired\n", name, f->item[0]->str);
            ok = !v;
            continue;
        }
        live++;
        if (!v || v->len != f->item[1]->len || memcmp(v->str, f->item[1]->str, v->len) != 0) {
            fprintf(stderr, "%s: field %s value differs\n", name, f->item[0]->str);
            ok = 0;
            continue;
        }
        const char *fa[5] = {"HPEXPIRETIME", name, "FIELDS", "1", f->item[0]->str};
        size_t fl[5] = {12, nlen, 6, 1, f->item[0]->len};
        redisReply *t = ru_cmd(c, 5, fa, fl);
        long long want = f->item[2]->kind == JSON_NUM ? f->item[2]->num : -1;
        if (!t || t->type != REDIS_REPLY_ARRAY || t->elements != 1 ||
            t->element[0]->integer != want) {
            fprintf(stderr, "%s: field %s deadline differs (want %lld)\n", name, f->item[0]->str,
                    want);
            ok = 0;
        }
        if (t) freeReplyObject(t);
    }
    if (ok && all->elements != 2 * live) {
        fprintf(stderr, "%s: %zu fields, want %zu\n", name, all->elements / 2, live);
        ok = 0;
    }
    if (all) freeReplyObject(all);
    return ok;
}

static inline int ru_check_key(redisContext *c, const char *name, size_t nlen, const json *k) {
    if (ru_is_past(k)) {
        if (ru_key_int(c, "EXISTS", name, nlen) != 0) {
            fprintf(stderr, "%s should have expired\n", name);
            return 0;
        }
        return 1;
    }
    const json *exp = json_get(k, "expire_ms");
    long long want = exp && exp->kind == JSON_NUM ? exp->num : -1;
    if (ru_key_int(c, "PEXPIRETIME", name, nlen) != want) {
        fprintf(stderr, "%s: PEXPIRETIME differs (want %lld)\n", name, want);
        return 0;
    }
    if (strcmp(json_get(k, "type")->str, "hash") == 0) return ru_check_hash(c, name, nlen, k);
    const char *argv[2] = {"GET", name};
    size_t lens[2] = {3, nlen};
    redisReply *r = ru_cmd(c, 2, argv, lens);
    size_t vlen;
    char *v = json_fixture_bytes(json_get(k, "value"), &vlen);
    int ok = r && r->type == REDIS_REPLY_STRING && r->len == vlen && memcmp(r->str, v, vlen) == 0;
    if (!ok) fprintf(stderr, "%s: value differs\n", name);
    free(v);
    if (r) freeReplyObject(r);
    return ok;
}

/* Checks every key of the sidecar against the server (and each database's size). Returns
 * the number of keys checked, -1 on a difference. *past (OUT, may be NULL) receives the
 * number of keys marked past. */
static inline long ru_check_sidecar(redisContext *c, const json *doc, long *past) {
    const json *dbs = json_get(doc, "dbs");
    long n = 0, gone = 0;
    for (size_t i = 0; i < dbs->len; i++) {
        if (!ru_select(c, atoi(dbs->key[i]))) return -1;
        const json *keys = dbs->item[i];
        long live = 0;
        for (size_t j = 0; j < keys->len; j++) {
            if (!ru_check_key(c, keys->key[j], keys->key_len[j], keys->item[j])) return -1;
            if (ru_is_past(keys->item[j]))
                gone++;
            else
                live++;
            n++;
        }
        if (it_int(c, "DBSIZE") != live) {
            fprintf(stderr, "db %s: DBSIZE %lld, want %ld\n", dbs->key[i], it_int(c, "DBSIZE"),
                    live);
            return -1;
        }
    }
    ru_select(c, 0);
    if (past) *past = gone;
    return n;
}

/* ---- two live servers compared ---------------------------------------------------------- */

static int ru_cmp_pairs(const void *a, const void *b) {
    const redisReply *x = *(redisReply *const *)a, *y = *(redisReply *const *)b;
    size_t n = x->len < y->len ? x->len : y->len;
    int c = memcmp(x->str, y->str, n);
    return c ? c : (x->len > y->len) - (x->len < y->len);
}

/* A canonical text of a key in c (type, TTL, sorted fields with their deadlines). */
static inline void ru_describe_key(redisContext *c, const char *key, size_t klen, buf *out) {
    const char *argv[3] = {"TYPE", key};
    size_t lens[3] = {4, klen};
    redisReply *t = ru_cmd(c, 2, argv, lens);
    buf_printf(out, "%s exp=%lld ", t && t->type == REDIS_REPLY_STATUS ? t->str : "?",
               ru_key_int(c, "PEXPIRETIME", key, klen));
    int hash = t && strcmp(t->str, "hash") == 0;
    if (t) freeReplyObject(t);
    argv[0] = hash ? "HGETALL" : "GET";
    lens[0] = strlen(argv[0]);
    redisReply *v = ru_cmd(c, 2, argv, lens);
    if (!v) return;
    if (!hash) {
        if (v->type == REDIS_REPLY_STRING) buf_append(out, v->str, v->len);
        freeReplyObject(v);
        return;
    }
    size_t n = v->elements / 2;
    redisReply **f = malloc((n + 1) * sizeof(*f));
    for (size_t i = 0; i < n; i++)
        f[i] = v->element[2 * i];
    qsort(f, n, sizeof(*f), ru_cmp_pairs);
    for (size_t i = 0; i < n; i++) {
        const redisReply *val = ru_hget(v, f[i]->str, f[i]->len);
        buf_append(out, " ", 1);
        buf_append(out, f[i]->str, f[i]->len);
        buf_append(out, "=", 1);
        buf_append(out, val->str, val->len);
        /* Redis 7.0 has no field TTLs: ask only a server that knows HPEXPIRETIME. */
        const char *fa[5] = {"HPEXPIRETIME", key, "FIELDS", "1", f[i]->str};
        size_t fl[5] = {12, klen, 6, 1, f[i]->len};
        redisReply *tt = ru_cmd(c, 5, fa, fl);
        if (tt && tt->type == REDIS_REPLY_ARRAY && tt->elements == 1)
            buf_printf(out, "@%lld", tt->element[0]->integer);
        else
            buf_printf(out, "@-1");
        if (tt) freeReplyObject(tt);
    }
    free(f);
    freeReplyObject(v);
}

/* 1 if databases 0..dbs-1 of a and b hold the same keys, values and TTLs. */
static inline int ru_same_dataset(redisContext *a, redisContext *b, int dbs) {
    int same = 1;
    for (int id = 0; id < dbs && same; id++) {
        ru_select(a, id);
        ru_select(b, id);
        long long na = it_int(a, "DBSIZE"), nb = it_int(b, "DBSIZE");
        if (na != nb) {
            fprintf(stderr, "db %d: %lld keys against %lld\n", id, na, nb);
            return 0;
        }
        unsigned long long cursor = 0;
        do {
            redisReply *r = redisCommand(a, "SCAN %llu COUNT 100", cursor);
            if (!r || r->type != REDIS_REPLY_ARRAY) return 0;
            cursor = strtoull(r->element[0]->str, NULL, 10);
            for (size_t i = 0; same && i < r->element[1]->elements; i++) {
                const redisReply *k = r->element[1]->element[i];
                buf x, y;
                buf_init(&x);
                buf_init(&y);
                ru_describe_key(a, k->str, k->len, &x);
                ru_describe_key(b, k->str, k->len, &y);
                if (x.len != y.len || memcmp(x.data, y.data, x.len) != 0) {
                    fprintf(stderr, "db %d key %.*s differs:\n  %.*s\n  %.*s\n", id, (int)k->len,
                            k->str, (int)(x.len < 300 ? x.len : 300), x.data,
                            (int)(y.len < 300 ? y.len : 300), y.data);
                    same = 0;
                }
                buf_deinit(&x);
                buf_deinit(&y);
            }
            freeReplyObject(r);
        } while (cursor != 0 && same);
    }
    ru_select(a, 0);
    ru_select(b, 0);
    return same;
}

#endif
