/* log: Redis-style log lines ("pid:M 28 Nov 2026 06:10:00.123 * text") to stdout or a file. */
#ifndef MAYFLY_UTIL_LOG_H
#define MAYFLY_UTIL_LOG_H

enum log_level { LOG_DEBUG, LOG_VERBOSE, LOG_NOTICE, LOG_WARNING, LOG_NOTHING };

/* Sets the minimum level written and the destination (NULL or "" = stdout).
 * Returns 0, or -1 if the file cannot be opened. */
int log_setup(enum log_level level, const char *path);
/* Parses "debug|verbose|notice|warning|nothing"; returns -1 if unknown. */
int log_level_parse(const char *name);
const char *log_level_name(enum log_level level);
enum log_level log_get_level(void);
void log_msg(enum log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define log_debug(...) log_msg(LOG_DEBUG, __VA_ARGS__)
#define log_verbose(...) log_msg(LOG_VERBOSE, __VA_ARGS__)
#define log_notice(...) log_msg(LOG_NOTICE, __VA_ARGS__)
#define log_warning(...) log_msg(LOG_WARNING, __VA_ARGS__)

#endif
