/* conn: client connections. Each reads into a query buffer, feeds the RESP request
 * parser, dispatches every command to cmd/ and flushes its session's replies once per loop
 * turn, with backpressure and the client limits. */
#ifndef MAYFLY_NET_CONN_H
#define MAYFLY_NET_CONN_H

#include "mayfly/client/session.h"
#include "mayfly/net/peer.h"

/* Hands the client connection of session s over to a new owner as a peer, as Redis turns
 * a client that sent PSYNC into a replica the primary streams to. May be called from a
 * command handler of s (the usual case) or from anywhere on the loop.
 *
 * From this call on, nothing more of s's input is parsed as commands. Once the replies
 * already in s->out are written, the session is freed and the returned peer takes the
 * connection's transport with the input left unparsed (bytes after the command that
 * asked); then ev->connected(pe) runs, and ev->readable(pe) if input was carried over.
 * The peer may be written to before that: its output follows the client's replies. If
 * the client closes first, ev->closed(pe, status) runs instead (never connected).
 *
 * Returns the peer (owned by net/ as any peer), or NULL when s is not a network client,
 * is closing, or is already being handed over (nothing changes). */
peer *conn_handover(session *s, const peer_events *ev, void *data);

#endif
