/* conn: client connections on libuv streams (TCP or Unix socket). The only user of libuv
 * streams: it reads bytes, feeds the RESP parser, dispatches each command to cmd/, and
 * flushes the session's reply buffer once per loop turn. */
#ifndef MAYFLY_NET_CONN_H
#define MAYFLY_NET_CONN_H

#include <stdint.h>
#include <uv.h>

/* Starts listening per config (bind list, port, unixsocket). Returns 0, or -1 after
 * logging why (e.g. the port is in use). */
int conn_listen_all(uv_loop_t *loop);
/* Closes the listeners (shutdown, or before re-listening on a new port). */
void conn_close_listeners(void);
/* Flushes every connection's pending replies (blocking briefly) and closes it. */
void conn_close_all(void);
/* In a forked child: closes the file descriptors of the listeners and of every client
 * connection (plain close(2): the child never runs the loop). */
void conn_close_fds_in_child(void);
/* Cron work: idle timeouts, output-buffer soft limits, idle buffer shrinking. */
void conn_cron(int64_t now_ms);
/* 1 if a peer address counts as local for protected mode: 127.0.0.0/8 and ::1 (as Redis
 * 7.2+), and the IPv4-mapped form of 127.0.0.0/8. Unix-socket peers are local too but have
 * no address; the caller handles them. */
int conn_addr_is_local(const struct sockaddr_storage *ss);
/* Protected mode's decision: 1 if a new connection must get -DENIED and be closed. */
int conn_protected_denies(int protected_mode, int has_password, int is_local);
/* Installs the loop-turn hooks (flush handle); call once after the loop exists. */
void conn_init(uv_loop_t *loop);
/* Sets a function run once per loop turn just before replies are flushed (the
 * append-only log's write and group-commit fsync). */
void conn_set_before_flush(void (*fn)(void));

#endif
