/* repl: replication with Redis's protocol (PSYNC, REPLCONF, the RDB transfer and the command
 * stream), on both sides, so that Mayfly replicates from and to Redis and is managed by
 * Redis Sentinel.
 *
 *     primary                                          replica
 *     ───────                                          ───────
 *     journal ─▶ sink ─▶ stream/backlog ─┬─▶ link ──────▶ link to primary ─▶ apply (session M)
 *                (RESP, SELECT)          ├─▶ link           │                  │
 *                                        └─ PSYNC +CONTINUE └─ pass-on ─▶ its own stream
 *     fork ─▶ RDB (file or pipe) ─▶ +FULLRESYNC, $len / $EOF ─▶ temp file ─▶ load
 *
 * A server is a primary or the replica of one (REPLICAOF host port / NO ONE, the replicaof
 * directive). Its stream has a replication id and offsets (PSYNC2: replid, replid2 and the
 * offset up to which replid2 holds, so that after a failover the other replicas continue
 * with the promoted one). This header is what the rest of the server (server.c) and later
 * subsystems (cluster: replicas of a node, failover by offset) use. */
#ifndef MAYFLY_REPL_REPL_H
#define MAYFLY_REPL_REPL_H

#include "mayfly/cmd/cmd.h"
#include "mayfly/cmd/gate.h"
#include "mayfly/cmd/info.h"
#include "mayfly/config.h"

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

/* ---- lifecycle (server.c) ---- */

/* Sets up timers on loop and the db/journal registrations. Call once, after the
 * directives are loaded and before the dataset is. */
void repl_init(uv_loop_t *loop);
/* Loading is over: a server configured with replicaof starts connecting. */
void repl_start(void);
/* Once per loop turn, after the log's write and before replies are flushed: feeds the
 * replicas what the stream grew by, asks for ACKs, answers WAIT clients, applies input
 * of the primary's link that waited. */
void repl_before_flush(void);
/* Server cron (every tick): the once-a-second replication work runs inside. */
void repl_cron(int64_t now_ms);
/* Shutdown: closes the links. */
void repl_shutdown(void);
/* SHUTDOWN without NOW (shutdown-timeout): 1 when every replica has acknowledged the whole
 * stream (or there are none), as Redis's isReadyToShutdown. */
int repl_ready_to_shutdown(void);
/* on=1: the wait for the replicas begins: writes paused, expiry only hides, a GETACK goes to
 * the replicas; on=0: it was cancelled (SHUTDOWN ABORT, a failed final save). */
void repl_shutdown_wait(int on);
/* Logs each replica that is behind, and how many are in sync (the shutdown goes on). */
void repl_log_lagging(void);

/* ---- role ---- */

/* Becomes (or stays) the replica of host:port, as REPLICAOF host port: 0, or 1 if it already
 * replicates that primary (nothing done). The link is opened at once. */
int repl_replicate(const char *addr, int port);
/* Becomes a primary, as REPLICAOF NO ONE: replid becomes replid2 up to the current offset,
 * a new replid starts, replicas reconnect (and continue with PSYNC). No effect on a
 * primary. */
void repl_promote(void);
/* 1 while this server is a replica (configured with a primary, linked or not). */
int repl_is_replica(void);
/* 1 on a replica with replica-ignore-maxmemory yes: it evicts nothing itself, the
 * primary's DELs keep its dataset in step (Redis's default); also while a FAILOVER waits
 * for a replica to catch up (the stream must stand still). */
int repl_ignores_maxmemory(void);
/* The primary's host and port (NULL, 0 on a primary). */
const char *repl_master_host(void);
int repl_master_port(void);
/* 1 while the link to the primary is up (streaming). */
int repl_master_link_up(void);
/* Milliseconds since the link to the primary went down (Redis's repl_down_since), or -1
 * while it is up or when it never came up. */
long long repl_master_down_ms(void);

/* ---- offsets and ids ---- */

/* The current replication id (40 hex characters) and the previous one. */
const char *repl_replid(void);
const char *repl_replid2(void);
/* master_repl_offset: the offset of the last byte of this server's stream. */
uint64_t repl_offset(void);
/* The offset up to which replid2 is valid, -1 if none. */
int64_t repl_second_offset(void);
/* On a replica, the offset of the primary's stream applied so far (slave_repl_offset);
 * on a primary, repl_offset(). */
uint64_t repl_processed_offset(void);

/* Bytes waiting in the replicas' connections (the stream and snapshot not yet written):
 * INFO mem_clients_slaves, and not counted against maxmemory, as in Redis. */
size_t repl_replica_output_bytes(void);

/* ---- persistence (the RDB's AUX fields, Redis's rdbSaveInfo) ---- */

/* What a snapshot records of replication: replid, offset and the database its stream
 * selected, so that a restarted replica (or primary) can continue with PSYNC. Returns 1 and
 * fills the fields when there is something to record (a replica, or a primary with a
 * backlog), else 0. */
int repl_save_info(char replid[41], uint64_t *offset, int *stream_db);
/* A snapshot loaded at start-up recorded replid and offset: a replica will try PSYNC from
 * there; a primary keeps them as its history. */
void repl_loaded_info(const char *replid, uint64_t offset, int stream_db);
/* persist_repl_expired: a primary whose stream is on (restored by repl_loaded_info) puts a
 * DEL of the key into it for the replicas, as Redis feeds its backlog while loading. */
void repl_loaded_expired(int dbid, slice key);

/* ---- registrations (server.c adds them) ---- */

extern const cmd_spec
    repl_commands[]; /* REPLICAOF SLAVEOF FAILOVER ROLE WAIT PSYNC SYNC REPLCONF */
extern const cmd_gate repl_gate_min_replicas; /* NOREPLICAS */
/* The NOREPLICAS text (without '-') while min-replicas-to-write is not met, else NULL (for
 * scripts, which check it before their first write as Redis's do). */
const char *repl_min_replicas_refusal(void);
extern const cmd_gate repl_gate_readonly;    /* READONLY on a read-only replica */
extern const cmd_gate repl_gate_masterdown;  /* MASTERDOWN (replica-serve-stale-data no) */
extern const info_section repl_info_section; /* "replication" */
extern const config_row repl_config_rows[];  /* replicaof, masterauth, repl-*, replica-* */

#endif
