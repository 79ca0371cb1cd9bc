/* json.h: a small JSON reader for the tests' fixture sidecars (header-only).
 *
 * Parses a whole document into a tree of json values. Strings are byte strings: each
 * \uXXXX escape up to U+00FF becomes one byte (the fixtures' convention for binary keys);
 * larger code points are refused. Numbers keep their integer value when they have no
 * fraction or exponent. Everything is freed with json_free. */
#ifndef MAYFLY_TEST_JSON_H
#define MAYFLY_TEST_JSON_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum json_kind { JSON_NULL, JSON_BOOL, JSON_NUM, JSON_STR, JSON_ARR, JSON_OBJ };

typedef struct json {
    enum json_kind kind;
    long long num;      /* JSON_NUM (integer part), JSON_BOOL */
    char *str;          /* JSON_STR: bytes (NUL-terminated for convenience) */
    size_t len;         /* JSON_STR: byte length; JSON_ARR/OBJ: element count */
    struct json **item; /* JSON_ARR: elements; JSON_OBJ: values */
    char **key;         /* JSON_OBJ: member names */
    size_t *key_len;
} json;

typedef struct json_parser {
    const char *p, *end;
    int bad;
} json_parser;

static inline void json_ws(json_parser *jp) {
    while (jp->p < jp->end && (*jp->p == ' ' || *jp->p == '\n' || *jp->p == '\r' || *jp->p == '\t'))
        jp->p++;
}

static inline json *json_value(json_parser *jp);

static inline char *json_string(json_parser *jp, size_t *len) {
    if (jp->p >= jp->end || *jp->p != '"') {
        jp->bad = 1;
        return NULL;
    }
    jp->p++;
    size_t cap = 16, n = 0;
    char *s = malloc(cap);
    while (jp->p < jp->end && *jp->p != '"') {
        unsigned ch = (unsigned char)*jp->p++;
        if (ch == '\\') {
            if (jp->p >= jp->end) break;
            char e = *jp->p++;
            switch (e) {
            case 'n':
                ch = '\n';
                break;
            case 'r':
                ch = '\r';
                break;
            case 't':
                ch = '\t';
                break;
            case 'b':
                ch = '\b';
                break;
            case 'f':
                ch = '\f';
                break;
            case 'u': {
                if (jp->end - jp->p < 4) {
                    jp->bad = 1;
                    break;
                }
                char hex[5] = {jp->p[0], jp->p[1], jp->p[2], jp->p[3], 0};
                jp->p += 4;
                ch = (unsigned)strtoul(hex, NULL, 16);
                if (ch > 0xff) jp->bad = 1;
                break;
            }
            default:
                ch = (unsigned char)e;
                break;
            }
        } else if (ch >= 0x80) {
            /* A raw UTF-8 sequence of a code point up to U+00FF: two bytes. */
            if ((ch & 0xE0) == 0xC0 && jp->p < jp->end) {
                ch = ((ch & 0x1F) << 6) | ((unsigned char)*jp->p++ & 0x3F);
                if (ch > 0xff) jp->bad = 1;
            } else {
                jp->bad = 1;
            }
        }
        if (n + 1 >= cap) s = realloc(s, cap *= 2);
        s[n++] = (char)ch;
    }
    if (jp->p >= jp->end) jp->bad = 1;
    jp->p++;
    s[n] = '\0';
    *len = n;
    return s;
}

static inline json *json_new(enum json_kind kind) {
    json *v = calloc(1, sizeof(*v));
    v->kind = kind;
    return v;
}

static inline void json_push(json *v, json *item, char *key, size_t klen) {
    v->item = realloc(v->item, (v->len + 1) * sizeof(*v->item));
    v->item[v->len] = item;
    if (v->kind == JSON_OBJ) {
        v->key = realloc(v->key, (v->len + 1) * sizeof(*v->key));
        v->key_len = realloc(v->key_len, (v->len + 1) * sizeof(*v->key_len));
        v->key[v->len] = key;
        v->key_len[v->len] = klen;
    }
    v->len++;
}

static inline json *json_container(json_parser *jp, int obj) {
    json *v = json_new(obj ? JSON_OBJ : JSON_ARR);
    jp->p++;
    json_ws(jp);
    if (jp->p < jp->end && *jp->p == (obj ? '}' : ']')) {
        jp->p++;
        return v;
    }
    while (!jp->bad) {
        json_ws(jp);
        char *key = NULL;
        size_t klen = 0;
        if (obj) {
            key = json_string(jp, &klen);
            json_ws(jp);
            if (jp->p >= jp->end || *jp->p++ != ':') jp->bad = 1;
        }
        json *item = jp->bad ? NULL : json_value(jp);
        if (!item) {
            free(key);
            jp->bad = 1;
            break;
        }
        json_push(v, item, key, klen);
        json_ws(jp);
        if (jp->p < jp->end && *jp->p == ',') {
            jp->p++;
            continue;
        }
        if (jp->p < jp->end && *jp->p == (obj ? '}' : ']')) {
            jp->p++;
            break;
        }
        jp->bad = 1;
    }
    return v;
}

static inline json *json_value(json_parser *jp) {
    json_ws(jp);
    if (jp->p >= jp->end) return NULL;
    char c = *jp->p;
    if (c == '{' || c == '[') return json_container(jp, c == '{');
    if (c == '"') {
        json *v = json_new(JSON_STR);
        v->str = json_string(jp, &v->len);
        return v;
    }
    if (strncmp(jp->p, "null", 4) == 0) {
        jp->p += 4;
        return json_new(JSON_NULL);
    }
    if (strncmp(jp->p, "true", 4) == 0 || strncmp(jp->p, "false", 5) == 0) {
        json *v = json_new(JSON_BOOL);
        v->num = c == 't';
        jp->p += c == 't' ? 4 : 5;
        return v;
    }
    char *end;
    json *v = json_new(JSON_NUM);
    v->num = strtoll(jp->p, &end, 10);
    if (end == jp->p) {
        free(v);
        return NULL;
    }
    jp->p = end;
    while (jp->p < jp->end && strchr("0123456789.eE+-", *jp->p))
        jp->p++;
    return v;
}

static inline void json_free(json *v) {
    if (!v) return;
    for (size_t i = 0; i < v->len && v->item; i++) {
        json_free(v->item[i]);
        if (v->key) free(v->key[i]);
    }
    free(v->item);
    free(v->key);
    free(v->key_len);
    free(v->str);
    free(v);
}

/* Parses the file at path; NULL if it cannot be read or parsed. */
static inline json *json_load(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *text = malloc((size_t)n + 1);
    size_t got = fread(text, 1, (size_t)n, f);
    fclose(f);
    json_parser jp = {text, text + got, 0};
    json *v = json_value(&jp);
    free(text);
    if (jp.bad) {
        json_free(v);
        return NULL;
    }
    return v;
}

/* The member name of an object, or NULL. */
static inline json *json_get(const json *v, const char *name) {
    if (!v || v->kind != JSON_OBJ) return NULL;
    for (size_t i = 0; i < v->len; i++)
        if (strcmp(v->key[i], name) == 0) return v->item[i];
    return NULL;
}

/* Expands a fixture value: a string, or {"repeat": unit, "length": n}. Returns an owned
 * buffer of *len bytes. */
static inline char *json_fixture_bytes(const json *v, size_t *len) {
    if (v->kind == JSON_STR) {
        *len = v->len;
        char *s = malloc(v->len + 1);
        memcpy(s, v->str, v->len + 1);
        return s;
    }
    const json *unit = json_get(v, "repeat"), *n = json_get(v, "length");
    *len = (size_t)n->num;
    char *s = malloc(*len + 1);
    for (size_t i = 0; i < *len; i++)
        s[i] = unit->str[i % unit->len];
    s[*len] = '\0';
    return s;
}

#endif
