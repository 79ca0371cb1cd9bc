/* monitor: the MONITOR feed (see monitor.h), after Redis's replicationFeedMonitors.
 *
 * The monitors are an array of sessions (few, so removal is a scan). Each executed
 * command is rendered once into a line and appended to every monitor's output; the
 * monitor's connection is woken as for a Pub/Sub message. A monitor is also flagged
 * SESS_MONITOR so session_free and RESET can drop it. */
#include "mayfly/client/monitor.h"

#include "mayfly/config.h"
#include "mayfly/util/buf.h"
#include "mayfly/util/mem.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>

static session **monitors;
static size_t nmon, cap;

size_t monitor_count(void) {
    return nmon;
}

void monitor_add(session *s) {
    if (s->flags & SESS_MONITOR) return;
    if (nmon == cap) {
        cap = cap ? cap * 2 : 4;
        monitors = mem_realloc(monitors, cap * sizeof(*monitors));
    }
    monitors[nmon++] = s;
    s->flags |= SESS_MONITOR;
}

void monitor_remove(session *s) {
    if (!(s->flags & SESS_MONITOR)) return;
    s->flags &= ~SESS_MONITOR;
    for (size_t i = 0; i < nmon; i++) {
        if (monitors[i] != s) continue;
        memmove(&monitors[i], &monitors[i + 1], (nmon - i - 1) * sizeof(*monitors));
        nmon--;
        return;
    }
}

/* Appends p[0..len) quoted as Redis's sdscatrepr. */
static void put_repr(buf *b, const char *p, size_t len) {
    buf_putc(b, '"');
    for (size_t i = 0; i < len; i++) {
        unsigned char ch = (unsigned char)p[i];
        switch (ch) {
        case '\\':
            buf_append(b, "\\\\", 2);
            break;
        case '"':
            buf_append(b, "\\\"", 2);
            break;
        case '\n':
            buf_append(b, "\\n", 2);
            break;
        case '\r':
            buf_append(b, "\\r", 2);
            break;
        case '\t':
            buf_append(b, "\\t", 2);
            break;
        case '\a':
            buf_append(b, "\\a", 2);
            break;
        case '\b':
            buf_append(b, "\\b", 2);
            break;
        default:
            if (isprint(ch))
                buf_putc(b, (char)ch);
            else
                buf_printf(b, "\\x%02x", ch);
        }
    }
    buf_putc(b, '"');
}

void monitor_feed(const session *from, int db_id, int argc, const slice *argv) {
    if (nmon == 0) return;
    struct timeval tv;
    gettimeofday(&tv, NULL);
    buf line;
    buf_init(&line);
    buf_printf(&line, "+%ld.%06ld ", (long)tv.tv_sec, (long)tv.tv_usec);
    if (from->flags & SESS_UNIX)
        buf_printf(&line, "[%d unix:%s] ", db_id, config.unixsocket ? config.unixsocket : "");
    else
        buf_printf(&line, "[%d %s] ", db_id, from->addr);
    for (int i = 0; i < argc; i++) {
        put_repr(&line, argv[i].p, argv[i].len);
        if (i != argc - 1) buf_putc(&line, ' ');
    }
    buf_append(&line, "\r\n", 2);
    for (size_t i = 0; i < nmon; i++) {
        session *m = monitors[i];
        if (m->flags & SESS_CLOSE_ASAP) continue;
        buf_append(session_push_out(m), line.data, line.len);
        if (m->ops && m->ops->wake) m->ops->wake(m);
    }
    buf_deinit(&line);
}
