/* check: the offline checkers, `mayfly-server --check-aof [--fix] FILE` and
 * `mayfly-server --check-rdb FILE` (also run as redis-check-aof / redis-check-rdb, as
 * Redis's binary does by its name).
 *
 * --check-aof: FILE is a log increment, a base or a manifest (then every file it names is
 * checked, in order). The report names the first bad command's offset and whether the file
 * is merely truncated or damaged; --fix truncates the file there, keeping every command
 * before it. --check-rdb decodes the whole RDB file and prints what it holds. */
#ifndef MAYFLY_PERSIST_CHECK_H
#define MAYFLY_PERSIST_CHECK_H

/* Runs the log check; returns the process exit status (0: valid or fixed, 1: not valid). */
int check_aof_main(const char *path, int fix);
/* Runs the RDB check; returns the process exit status (0: valid, 1: not valid). */
int check_rdb_main(const char *path);

#endif
