/* proctitle: see proctitle.h. The area is [argv[0], end of the last string that follows it
 * without a gap), argv strings first, then the environment's; a title is written from its
 * start and the rest of the area is zeroed, so the kernel shows the title and nothing of
 * the old arguments. */
#include "mayfly/util/proctitle.h"

#include <stdlib.h>
#include <string.h>

#define PROCTITLE_MAX 255

extern char **environ;

static char *area;            /* the first byte of argv[0]'s original string */
static size_t area_len;       /* bytes from there to the end of the contiguous strings */
static const char *arg0 = ""; /* argv[0], copied */
static int area_cleared;      /* the whole area was zeroed once */

/* Extends *end past s when s starts exactly there. */
static void extend(char **end, char *s) {
    if (s && s == *end) *end = s + strlen(s) + 1;
}

static void free_environ(char **env) {
    for (size_t i = 0; env[i]; i++)
        free(env[i]);
    free(env);
}

/* Heap copies of the environment's strings, NULL-terminated, or NULL. */
static char **copy_environ(size_t n) {
    char **env = malloc((n + 1) * sizeof(*env));
    if (!env) return NULL;
    for (size_t i = 0; i < n; i++) {
        env[i] = strdup(environ[i]);
        if (!env[i]) {
            while (i > 0)
                free(env[--i]);
            free(env);
            return NULL;
        }
    }
    env[n] = NULL;
    return env;
}

void proctitle_init(int argc, char **argv) {
    if (area || argc < 1 || !argv[0]) return;
    char *base = argv[0];
    char *end = base + strlen(base) + 1;
    for (int i = 1; i < argc; i++)
        extend(&end, argv[i]);
    size_t nenv = 0;
    for (; environ && environ[nenv]; nenv++)
        extend(&end, environ[nenv]);
    /* Everything that lives in the area moves to the heap before the area is used. */
    /* Out of memory at start-up: the title stays the command line. */
    char **env = copy_environ(nenv);
    if (!env) return;
    char *name = strdup(base);
    if (!name) {
        free_environ(env);
        return;
    }
    for (int i = 0; i < argc; i++) {
        char *copy = strdup(argv[i]);
        if (!copy) { /* the strings not copied still live in the area: leave it alone */
            free(name);
            free_environ(env);
            return;
        }
        argv[i] = copy;
    }
    environ = env;
    arg0 = name;
    area = base;
    area_len = (size_t)(end - base);
}

const char *proctitle_arg0(void) {
    return arg0;
}

int proctitle_expand(const char *tmpl, proctitle_var_fn *var, void *arg, buf *out) {
    buf_clear(out);
    const char *p = tmpl;
    while (*p) {
        const char *open = strchr(p, '{');
        if (!open) {
            buf_puts(out, p);
            break;
        }
        buf_append(out, p, (size_t)(open - p));
        if (open[1] == '\0') return -1;
        if (open[1] == '{') { /* "{{" is a literal '{' */
            buf_putc(out, '{');
            p = open + 2;
            continue;
        }
        const char *close = strchr(open + 1, '}');
        if (!close) return -1;
        if (var(open + 1, (size_t)(close - open - 1), out, arg) < 0) return -1;
        p = close + 1;
    }
    /* Spaces at both ends go (an empty {server-mode} leaves one at the end). */
    size_t start = 0, len = out->len;
    while (start < len && out->data[start] == ' ')
        start++;
    while (len > start && out->data[len - 1] == ' ')
        len--;
    if (start) memmove(out->data, out->data + start, len - start);
    out->len = len - start;
    return 0;
}

int proctitle_set(const char *title) {
    if (!area) return -1;
    size_t cap = area_len - 1 < PROCTITLE_MAX ? area_len - 1 : PROCTITLE_MAX;
    size_t n = strlen(title);
    if (n > cap) n = cap;
    if (!area_cleared) {
        memset(area, 0, area_len);
        area_cleared = 1;
    } else {
        memset(area, 0, cap + 1);
    }
    memcpy(area, title, n);
    return 0;
}
