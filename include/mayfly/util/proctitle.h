/* proctitle: the process title that ps and /proc/PID/cmdline show.
 *
 * Linux shows the bytes of the process's original argument area (argv strings, and the
 * environment strings that follow them), so a new title is written over that area.
 * proctitle_init, called first thing in main, moves what lives there (the environment and
 * the argv strings) to the heap, so getenv() and argv[] stay valid, and remembers the area.
 * Templates ("{title} {listen-addr} {server-mode}") are expanded by proctitle_expand with
 * the variables a caller resolves. */
#ifndef MAYFLY_UTIL_PROCTITLE_H
#define MAYFLY_UTIL_PROCTITLE_H

#include "mayfly/util/buf.h"

#include <stddef.h>

/* Takes over the argument area of argv (argc strings): argv[i] and environ point to heap
 * copies afterwards. Call once, before anything keeps pointers into argv or environ. */
void proctitle_init(int argc, char **argv);

/* The program name as it was started (argv[0]), "" before proctitle_init. */
const char *proctitle_arg0(void);

/* Resolves one template variable: appends its value to out and returns 0, or returns -1 for
 * a name it does not know. */
typedef int proctitle_var_fn(const char *name, size_t len, buf *out, void *arg);

/* Expands tmpl into out (cleared first): "{name}" is replaced by var's value, "{{" is a
 * literal '{', everything else is copied; spaces at both ends of the result are trimmed.
 * Returns 0, or -1 for an unknown variable, a '{' without its '}' or a '{' at the end. */
int proctitle_expand(const char *tmpl, proctitle_var_fn *var, void *arg, buf *out);

/* Shows title as the process title (cut to the area's size, 255 bytes at most). Returns 0,
 * or -1 when proctitle_init found no area. */
int proctitle_set(const char *title);

#endif
