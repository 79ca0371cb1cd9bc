/* catchup: the stream sent to this server's replica links, straight from the backlog.
 *
 * The stream's bytes live in the backlog's blocks (stream.c); a link is sent them from
 * there, several blocks per writev, with no copy of its own (Redis 7's shared replication
 * buffer). What the socket does not take is written from the same blocks once it drains
 * (peer_send_kept), so a link that lags keeps the blocks from its first unsent offset
 * (l->held) and the stream keeps every block some link still needs (links_update_keep):
 * the backlog window then reaches back to them, and they count as the link's output
 * (link_obuf: omem and the replica output-buffer limit). Online links are fed once per
 * loop turn (primary_feed) and again when their socket drains. */
#include "mayfly/cmd/host.h"
#include "repl/primary_int.h"
#include "repl/repl_int.h"

int link_streaming(const rlink *l) {
    return l->state == L_ONLINE && !l->start_on_ack;
}

uint64_t link_needs(const rlink *l) {
    if (l->state == L_WAIT_END || l->state == L_SEND_BULK ||
        (l->state == L_ONLINE && l->start_on_ack))
        return l->initial + 1; /* the snapshot's offset on */
    return link_streaming(l) ? l->held : UINT64_MAX;
}

void links_update_keep(void) {
    uint64_t keep = UINT64_MAX;
    for (rlink *l = primary_links(); l; l = l->next) {
        uint64_t need = link_needs(l);
        if (need < keep) keep = need;
    }
    stream_keep_from(keep);
}

/* Sends what the stream holds after l->sent, straight from the backlog's blocks (several
 * blocks per writev): what the socket does not take is written from the blocks when it can
 * (peer_send_kept), and the link keeps them (l->held) until then. With a write in flight
 * or other output queued, nothing: `drained` calls again. The caller updates what the
 * stream keeps. */
void link_catch_up(rlink *l) {
    if (!l->pe || peer_writing(l->pe)) return;
    uint64_t end = stream_offset();
    while (l->sent < end) {
        uv_buf_t bufs[PEER_KEPT_MAX];
        unsigned n = 0;
        uint64_t at = l->sent + 1;
        while (at <= end && n < PEER_KEPT_MAX) {
            const char *p;
            size_t len = stream_span(at, &p);
            if (len == 0) break; /* not held: cannot happen while l->held pins it */
            bufs[n++] = uv_buf_init((char *)p, (unsigned)len);
            at += len;
        }
        if (n == 0) break;
        size_t len = (size_t)(at - (l->sent + 1));
        size_t took = peer_send_kept(l->pe, bufs, n);
        host_stat.net_repl_output_bytes += (long long)len;
        l->sent = at - 1;
        if (took < len) {
            l->held = at - (len - took);
            return;
        }
    }
    l->held = l->sent + 1;
}

void link_start_stream(rlink *l) {
    l->start_on_ack = 0;
    l->sent = l->initial;
    l->held = l->initial + 1;
    link_catch_up(l);
    links_update_keep();
}

void primary_feed(void) {
    for (rlink *l = primary_links(); l; l = l->next) {
        if (!link_streaming(l) || l->kill_asap) continue;
        link_catch_up(l);
        if (l->s) l->s->out_inflight = (size_t)link_obuf(l); /* CLIENT LIST's omem */
    }
    links_update_keep();
}

/* Its own queued output plus the stream it has not been sent, from its snapshot's offset
 * while it waits (Redis counts the shared replication buffer from the replica's
 * position). */
long long link_obuf(const rlink *l) {
    long long used = l->pe ? (long long)peer_pending_out(l->pe) : 0;
    uint64_t need = link_needs(l);
    if (need != UINT64_MAX && need <= stream_offset())
        used += (long long)(stream_offset() + 1 - need);
    return used;
}
