/* fsync_thread: one background thread that runs fsync(2) (and close(2)) for the loop, so
 * that appendfsync everysec never blocks the loop on the disk (Redis's bio thread).
 *
 * Jobs run in submission order. A job may ask that the fd be closed after its fsync: the
 * loop hands over a file it switched away from and never touches that fd again. */
#ifndef MAYFLY_PERSIST_FSYNC_THREAD_H
#define MAYFLY_PERSIST_FSYNC_THREAD_H

/* Starts the thread (idempotent). */
void fsync_thread_start(void);
/* Queues fsync(fd), then close(fd) if close_after. Never blocks for long: when the queue
 * is full the caller does the job itself. */
void fsync_thread_submit(int fd, int close_after);
/* Jobs queued or running (INFO aof_pending_bio_fsync). */
int fsync_thread_pending(void);
/* The errno of the latest failed fsync since the last call, 0 if none (clears it). */
int fsync_thread_take_error(void);
/* Waits for the queue to drain (shutdown, before the loop's own final fsync). */
void fsync_thread_drain(void);

#endif
