/* log: see log.h. Lines are written whole with one fwrite and flushed. */
#include "mayfly/util/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static enum log_level min_level = LOG_NOTICE;
static FILE *out;

static const char *const names[] = {"debug", "verbose", "notice", "warning", "nothing"};

int log_setup(enum log_level level, const char *path) {
    min_level = level;
    if (out && out != stdout) fclose(out);
    out = NULL;
    if (path && path[0]) {
        out = fopen(path, "a");
        if (!out) return -1;
    }
    return 0;
}

int log_level_parse(const char *name) {
    for (int i = 0; i <= LOG_NOTHING; i++)
        if (strcasecmp(name, names[i]) == 0) return i;
    return -1;
}

const char *log_level_name(enum log_level level) {
    return names[level];
}
enum log_level log_get_level(void) {
    return min_level;
}

void log_msg(enum log_level level, const char *fmt, ...) {
    if (level < min_level || level >= LOG_NOTHING) return;
    FILE *f = out ? out : stdout;
    char line[1024];
    struct timeval tv;
    gettimeofday(&tv, NULL);
    struct tm tm;
    localtime_r(&tv.tv_sec, &tm);
    size_t n = (size_t)snprintf(line, sizeof(line), "%d:M ", (int)getpid());
    n += strftime(line + n, sizeof(line) - n, "%d %b %Y %H:%M:%S", &tm);
    n += (size_t)snprintf(line + n, sizeof(line) - n, ".%03d %c ", (int)(tv.tv_usec / 1000),
                          ".-*#"[level]);
    va_list ap;
    va_start(ap, fmt);
    int m = vsnprintf(line + n, sizeof(line) - n - 1, fmt, ap);
    va_end(ap);
    if (m > 0) n += (size_t)m < sizeof(line) - n - 1 ? (size_t)m : sizeof(line) - n - 2;
    line[n++] = '\n';
    fwrite(line, 1, n, f);
    fflush(f);
}
