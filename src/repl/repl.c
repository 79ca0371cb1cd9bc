/* repl: replication as Redis does it, on both sides; the picture is in mayfly/repl/repl.h.
 *
 * This file holds what both roles share: the replication ids (PSYNC2), the role switch
 * (REPLICAOF host port / NO ONE), the journal sink that feeds the stream, the dispatch
 * gates (NOREPLICAS, READONLY, MASTERDOWN), the INFO section and the clock of the
 * once-a-second work. stream.c keeps the bytes, primary.c serves replicas, replica.c
 * follows a primary.
 *
 * Ids, as Redis's: a primary's stream belongs to its replid; promotion moves replid to
 * replid2, valid up to the current offset + 1, and starts a new replid, so replicas of the
 * old primary (which know the old id) continue with PSYNC. A replica takes its primary's
 * replid after a full sync, and a new one announced by +CONTINUE <replid>.
 *
 * Time here is the monotonic clock (DEBUG CLOCK-OFFSET moves the wall clock for TTL tests;
 * replication timeouts must not jump with it). */
#include "mayfly/cmd/host.h"
#include "mayfly/cmd/pause.h"
#include "mayfly/db/db.h"
#include "mayfly/journal/journal.h"
#include "mayfly/util/armed.h"
#include "mayfly/util/clock.h"
#include "mayfly/util/log.h"
#include "mayfly/util/mem.h"
#include "mayfly/util/rand.h"
#include "repl/repl_int.h"

#include <stdio.h>
#include <string.h>

repl_state repl_st = {.second_offset = -1};

static uv_loop_t *repl_uv_loop;
static int64_t last_cron_ms;
static long long cron_loops;

uv_loop_t *repl_loop(void) {
    return repl_uv_loop;
}

int64_t repl_now_ms(void) {
    return clock_mono_us() / 1000;
}

/* ---- ids ---- */

void repl_random_hex(char *out, size_t n) {
    static const char hex[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i += 16) {
        uint64_t r = rand_u64();
        for (size_t j = 0; j < 16 && i + j < n; j++, r >>= 4)
            out[i + j] = hex[r & 15];
    }
}

void repl_change_replid(void) {
    repl_random_hex(repl_st.replid, REPL_ID_LEN);
    repl_st.replid[REPL_ID_LEN] = '\0';
}

void repl_clear_replid2(void) {
    memset(repl_st.replid2, '0', REPL_ID_LEN);
    repl_st.replid2[REPL_ID_LEN] = '\0';
    repl_st.second_offset = -1;
}

void repl_shift_replid(void) {
    memcpy(repl_st.replid2, repl_st.replid, sizeof(repl_st.replid2));
    /* A replica that has the first N bytes asks for N + 1. */
    repl_st.second_offset = (int64_t)stream_offset() + 1;
    repl_change_replid();
    log_notice("Setting secondary replication ID to %s, valid up to offset: %lld. New "
               "replication ID is %s",
               repl_st.replid2, (long long)repl_st.second_offset, repl_st.replid);
}

/* ---- the journal sink ---- */

static size_t sink_record(journal_sink *s, const journal_rec *r) {
    (void)s;
    /* A request's own bytes are already argv's RESP (journal_rec.resp). */
    size_t grew =
        r->resp.len ? stream_append(r->resp.p, r->resp.len) : stream_append_argv(r->argc, r->argv);
    /* WAIT waits for the offset just after the writer's last record. */
    session *writer = session_executing();
    if (writer) writer->woff = stream_offset();
    return grew;
}

static void sink_bytes(journal_sink *s, const char *p, size_t len) {
    (void)s;
    stream_append(p, len);
}

static journal_sink sink = {.name = "repl",
                            .framing = JOURNAL_FRAME_SELECT,
                            .flags = JOURNAL_SINK_PASS_ON | JOURNAL_SINK_REPL,
                            .record = sink_record,
                            .bytes = sink_bytes};

void repl_sink_attach(void) {
    journal_sink_add(&sink);
}

void repl_sink_detach(void) {
    journal_sink_remove(&sink);
}

void repl_sink_reset_db(void) {
    journal_sink_reset_db(&sink);
}

int repl_sink_db(void) {
    return sink.cur_db;
}

/* ---- gates ---- */

void repl_update_gates(void) {
    int replica = repl_st.master_host != NULL;
    armed_set(&repl_st.min_replicas_armed,
              !replica && repl_cfg.min_replicas_to_write > 0 && repl_cfg.min_replicas_max_lag > 0);
    armed_set(&repl_st.readonly_armed, replica && repl_cfg.read_only);
    armed_set(&repl_st.masterdown_armed, replica && !repl_cfg.serve_stale && !replica_link_up());
}

static const char *gate_min_replicas(cmd_ctx *c, char *msg, size_t cap) {
    (void)c, (void)msg, (void)cap;
    if (repl_st.good_replicas >= repl_cfg.min_replicas_to_write) return NULL;
    return "NOREPLICAS Not enough good replicas to write.";
}

static const char *gate_readonly(cmd_ctx *c, char *msg, size_t cap) {
    (void)c, (void)msg, (void)cap;
    return "READONLY You can't write against a read only replica.";
}

static const char *gate_masterdown(cmd_ctx *c, char *msg, size_t cap) {
    (void)c, (void)msg, (void)cap;
    return "MASTERDOWN Link with MASTER is down and replica-serve-stale-data is set to 'no'.";
}

const char *repl_min_replicas_refusal(void) {
    return repl_st.min_replicas_armed ? gate_min_replicas(NULL, NULL, 0) : NULL;
}

const cmd_gate repl_gate_min_replicas = {
    "min-replicas",   CMD_GATE_MIN_REPLICAS, CMD_WRITE, 0, &repl_st.min_replicas_armed,
    gate_min_replicas};
const cmd_gate repl_gate_readonly = {"readonly", CMD_GATE_READONLY,       CMD_WRITE,
                                     0,          &repl_st.readonly_armed, gate_readonly};
const cmd_gate repl_gate_masterdown = {"masterdown", CMD_GATE_MASTERDOWN,       0,
                                       CMD_STALE,    &repl_st.masterdown_armed, gate_masterdown};

/* ---- INFO replication ---- */

static void write_info(buf *b, int64_t now_ms) {
    (void)now_ms;
    int64_t now = repl_now_ms();
    buf_printf(b, "# Replication\r\nrole:%s\r\n", repl_st.master_host ? "slave" : "master");
    if (repl_st.master_host) replica_info(b, now);
    buf_printf(b, "connected_slaves:%d\r\n", primary_replica_count());
    if (repl_cfg.min_replicas_to_write && repl_cfg.min_replicas_max_lag)
        buf_printf(b, "min_slaves_good_slaves:%d\r\n", repl_st.good_replicas);
    primary_info_lines(b, now);
    buf_printf(b,
               "master_failover_state:%s\r\n"
               "master_replid:%s\r\n"
               "master_replid2:%s\r\n"
               "master_repl_offset:%llu\r\n"
               "second_repl_offset:%lld\r\n"
               "repl_backlog_active:%d\r\n"
               "repl_backlog_size:%lld\r\n"
               "repl_backlog_first_byte_offset:%llu\r\n"
               "repl_backlog_histlen:%llu\r\n",
               failover_state_name(), repl_st.replid, repl_st.replid2,
               (unsigned long long)stream_offset(), (long long)repl_st.second_offset,
               stream_active(), stream_backlog_size(), (unsigned long long)stream_backlog_first(),
               (unsigned long long)stream_histlen());
}

const info_section repl_info_section = {"replication", INFO_REPLICATION, 1, write_info};

/* ---- lifecycle ---- */

void repl_init(uv_loop_t *loop) {
    repl_uv_loop = loop;
    repl_change_replid();
    repl_clear_replid2();
    stream_set_backlog_size(repl_cfg.backlog_size);
    repl_st.no_replicas_since_ms = repl_now_ms();
    /* Redis's replicationCron runs its loop 0 as the server starts, when no replica can be
     * attached yet, so its first PING (every repl-ping-replica-period loops) comes a whole
     * period later: a replica that attaches sees offset 0 until the first write. Loop 0 is
     * that start-up one here too; the cron goes on with loop 1 a second from now. */
    last_cron_ms = repl_now_ms();
    cron_loops = 1;
    primary_init(loop);
    if (repl_st.master_host) {
        /* replicaof in the configuration: the cron connects once loading is over. */
        host_stat.replica = 1;
        db_set_expire_mode(DB_EXPIRE_HIDE);
        journal_follow(1);
    }
    repl_update_gates();
}

void repl_start(void) {
    if (repl_st.master_host) replica_start(repl_st.master_host, repl_st.master_port);
}

void repl_before_flush(void) {
    replica_before_flush();
    if (repl_st.feed_pending) {
        repl_st.feed_pending = 0;
        primary_feed();
    }
    primary_process_waits(repl_now_ms());
    if (failover_active()) failover_check(repl_now_ms());
}

void repl_cron(int64_t now_ms) {
    (void)now_ms;
    int64_t now = repl_now_ms();
    primary_check_limits(now);
    if (now - last_cron_ms < 1000) return;
    last_cron_ms = now;
    failover_check(now);
    replica_cron(now);
    primary_cron(now, cron_loops++);
    repl_update_gates();
}

int repl_ready_to_shutdown(void) {
    return primary_lagging(0) == 0;
}

void repl_shutdown_wait(int on) {
    if (on) {
        cmd_pause_writes(CMD_PAUSE_SHUTDOWN); /* expiry hides meanwhile */
        primary_request_acks();
        return;
    }
    cmd_unpause(CMD_PAUSE_SHUTDOWN);
}

void repl_log_lagging(void) {
    primary_lagging(1);
}

void repl_shutdown(void) {
    replica_shutdown();
    primary_shutdown();
}

/* ---- role ---- */

int repl_replicate(const char *addr, int port) {
    if (repl_st.master_host && strcasecmp(repl_st.master_host, addr) == 0 &&
        repl_st.master_port == port)
        return 1;
    int was_primary = repl_st.master_host == NULL;
    char *h = mem_strdup(addr);
    mem_free(repl_st.master_host);
    repl_st.master_host = h;
    repl_st.master_port = port;
    host_stat.replica = 1;
    if (was_primary) {
        db_set_expire_mode(DB_EXPIRE_HIDE);
        journal_follow(1);
    }
    if (was_primary) replica_cache_myself(-1); /* PSYNC may continue our own history */
    replica_start(addr, port);
    repl_update_gates();
    return 0;
}

void repl_promote(void) {
    if (!repl_st.master_host) return;
    mem_free(repl_st.master_host);
    repl_st.master_host = NULL;
    repl_st.master_port = 0;
    replica_stop();
    repl_shift_replid();
    /* The replicas must learn the new id; they come back and continue with PSYNC. */
    primary_disconnect_all();
    journal_follow(0); /* the stream is ours again; it starts with a SELECT */
    host_stat.replica = 0;
    /* A pause in effect keeps expiry hidden; lifting it turns reaping on. */
    if (!cmd_writes_paused()) db_set_expire_mode(DB_EXPIRE_REAP);
    repl_st.no_replicas_since_ms = repl_now_ms();
    repl_update_gates();
}

int repl_is_replica(void) {
    return repl_st.master_host != NULL;
}

int repl_ignores_maxmemory(void) {
    if (failover_active()) return 1; /* the offset must stand still (Redis pauses eviction) */
    return repl_st.master_host != NULL && repl_cfg.ignore_maxmemory;
}

const char *repl_master_host(void) {
    return repl_st.master_host;
}

int repl_master_port(void) {
    return repl_st.master_port;
}

int repl_master_link_up(void) {
    return replica_link_up();
}

const char *repl_replid(void) {
    return repl_st.replid;
}

const char *repl_replid2(void) {
    return repl_st.replid2;
}

uint64_t repl_offset(void) {
    return stream_offset();
}

int64_t repl_second_offset(void) {
    return repl_st.second_offset;
}

uint64_t repl_processed_offset(void) {
    return repl_st.master_host ? replica_processed_offset() : stream_offset();
}

/* ---- persistence ---- */

int repl_save_info(char replid[41], uint64_t *offset, int *stream_db) {
    if (repl_st.master_host) {
        if (!replica_has_history()) return 0;
        memcpy(replid, repl_st.replid, REPL_ID_LEN + 1);
        *offset = replica_processed_offset();
        *stream_db = replica_stream_db();
        return 1;
    }
    if (!stream_active()) return 0;
    memcpy(replid, repl_st.replid, REPL_ID_LEN + 1);
    *offset = stream_offset();
    *stream_db = repl_sink_db() < 0 ? 0 : repl_sink_db();
    return 1;
}

void repl_loaded_expired(int dbid, slice key) {
    if (repl_st.master_host || !stream_active()) return;
    slice argv[2] = {slice_of("DEL"), key};
    journal_append_repl(dbid, clock_now_ms(), 2, argv);
}

void repl_loaded_info(const char *replid, uint64_t offset, int stream_db) {
    if (strlen(replid) != REPL_ID_LEN) return;
    memcpy(repl_st.replid, replid, REPL_ID_LEN + 1);
    stream_set_offset(offset);
    if (repl_st.master_host) {
        /* Our own history is our primary's up to offset: try PSYNC from there. */
        replica_cache_myself(stream_db);
    } else {
        /* A primary restarted: its old history stays valid as replid2 and a backlog starts
         * at once, so replicas that reconnect continue with PSYNC (as Redis 7 does). */
        repl_shift_replid();
        stream_create();
        repl_st.no_replicas_since_ms = repl_now_ms();
    }
}
