/* listener: the listening sockets (bind list, TCP over IPv4 and IPv6, a Unix socket) and
 * the admission of each accepted connection (maxclients, protected mode). Opened and
 * closed through net.h; these are its decisions, exposed for unit tests. */
#ifndef MAYFLY_NET_LISTENER_H
#define MAYFLY_NET_LISTENER_H

#include <sys/socket.h>

/* 1 if a peer address counts as local for protected mode: 127.0.0.0/8 and ::1 (as Redis
 * 7.2+), and the IPv4-mapped form of 127.0.0.0/8. Unix-socket peers are local too but have
 * no address; the caller handles them. */
int listener_addr_is_local(const struct sockaddr_storage *ss);
/* Protected mode's decision: 1 if a new connection must get -DENIED and be closed. */
int listener_protected_denies(int protected_mode, int has_password, int is_local);

#endif
