/* tracking: server-assisted client-side caching (client/tracking.c), after Redis's
 * tracking.c.
 *
 * A session with CLIENT TRACKING ON is told when a key it may have cached changes:
 *   - default mode: the keys its read-only commands read are remembered in a table
 *     key -> session ids; a change of such a key sends one invalidation to each of them
 *     and forgets the key (a client must read it again to be told again);
 *   - BCAST mode: every change of a key under one of its prefixes is sent, batched per
 *     prefix once per event-loop turn (tracking_before_sleep);
 *   - OPTIN / OPTOUT: only reads after CLIENT CACHING YES / not after CLIENT CACHING NO
 *     are remembered; NOLOOP: changes made by the session itself are not sent.
 * Messages are RESP3 pushes `invalidate [keys]`, or, with REDIRECT to a RESP2 session in
 * Pub/Sub mode, messages of the __redis__:invalidate channel. A flush sends a null in
 * place of the keys. The db hooks (changes, expiry of keys and fields, eviction, flushes)
 * are installed by the first tracking_enable. */
#ifndef MAYFLY_CLIENT_TRACKING_H
#define MAYFLY_CLIENT_TRACKING_H

#include "mayfly/client/session.h"
#include "mayfly/config.h"
#include "mayfly/util/slice.h"

#include <stddef.h>
#include <stdint.h>

/* Options of tracking_enable (the same bits are kept in session.flags). */
#define TRACKING_OPTS (SESS_TRACK_BCAST | SESS_TRACK_OPTIN | SESS_TRACK_OPTOUT | SESS_TRACK_NOLOOP)

/* Turns tracking on for s (again: options replace the old ones, prefixes are added).
 * redirect: the id of the session that receives the messages (0: s itself). options:
 * TRACKING_OPTS bits. The caller has checked the options (tracking_check_prefixes). */
void tracking_enable(session *s, uint64_t redirect, uint32_t options, const slice *prefixes,
                     size_t nprefix);
/* Turns tracking off for s (CLIENT TRACKING OFF, RESET, session end). */
void tracking_disable(session *s);
/* 0 if the new prefixes overlap neither each other nor s's prefixes; otherwise 1 with
 * Redis's error text in msg. */
int tracking_check_prefixes(const session *s, const slice *prefixes, size_t n, char *msg,
                            size_t cap);
/* Remembers that s read keys[0..n) (after a read-only command), unless OPTIN/OPTOUT and
 * CLIENT CACHING say otherwise or s is in BCAST mode. */
void tracking_remember_keys(session *s, const slice *keys, size_t n);
/* After each top-level command (session_command_end): outside MULTI, CLIENT CACHING
 * affects only the next command that is not a CLIENT subcommand. */
void tracking_command_done(session *s);
/* s's redirection id (0: none). */
uint64_t tracking_redirect(const session *s);
/* s's BCAST prefixes in byte order: count, and the i-th. */
size_t tracking_prefix_count(const session *s);
slice tracking_prefix_at(const session *s, size_t i);

/* Once per event-loop turn: sends the BCAST batches, trims the table to
 * tracking-table-max-keys. Returns 1 if batches went out (the loop must not block before
 * writing them). */
int tracking_before_sleep(void);
/* A top-level command ended (session.c). */
void tracking_command_end(void);

/* INFO: sessions tracking, keys in the table, (key, session) pairs, BCAST prefixes. */
size_t tracking_clients(void);
size_t tracking_total_keys(void);
size_t tracking_total_items(void);
size_t tracking_total_prefixes(void);

/* tracking-table-max-keys (server.c adds them). */
extern const config_row tracking_config_rows[];

#endif
