/* check: the offline checkers, `mayfly-server --check-aof [--fix|--truncate-to-timestamp
 * SECONDS] FILE` and `mayfly-server --check-rdb FILE` (also run as redis-check-aof /
 * redis-check-rdb, as Redis's binary does by its name).
 *
 * --check-aof: FILE is a manifest (then every file it names is checked, in order), or a
 * single log file (Redis 6's appendonly.aof, with or without an RDB preamble). The report
 * is redis-check-aof's: where the file stops being good, the line there, and why; --fix
 * asks, then truncates the file there, keeping every command before it (only the last
 * file); --truncate-to-timestamp cuts the last file at the first #TS annotation later than
 * the time given. --check-rdb decodes the whole RDB file and prints what it holds. */
#ifndef MAYFLY_PERSIST_CHECK_H
#define MAYFLY_PERSIST_CHECK_H

/* Runs the log check (to_timestamp 0: no truncation to a time); returns the process exit
 * status (0: valid or fixed, 1: not valid). */
int check_aof_main(const char *path, int fix, long long to_timestamp);
/* Runs the RDB check; returns the process exit status (0: valid, 1: not valid). */
int check_rdb_main(const char *path);

#endif
