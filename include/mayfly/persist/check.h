/* check: `mayfly-server --check-aof FILE [--fix]`, the offline log checker.
 *
 * FILE is a log increment, a base snapshot or a manifest (then every file it names is
 * checked, in order). A log is read record by record; the report names the first bad
 * record's offset and whether the file is merely truncated or damaged. --fix truncates the
 * file at that offset, keeping every record before it. */
#ifndef MAYFLY_PERSIST_CHECK_H
#define MAYFLY_PERSIST_CHECK_H

/* Runs the check; returns the process exit status (0: valid or fixed, 1: not valid). */
int check_aof_main(const char *path, int fix);

#endif
