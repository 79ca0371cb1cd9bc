/* memory_int: the memory figures INFO memory and MEMORY STATS / DOCTOR share (Redis's
 * getMemoryOverheadData), and the MEMORY subcommands. Internal to cmd/. */
#ifndef MAYFLY_CMD_MEMORY_INT_H
#define MAYFLY_CMD_MEMORY_INT_H

#include "mayfly/cmd/cmd.h"

#include <stddef.h>

typedef struct mem_db_overhead {
    int dbid;
    size_t main, expires; /* overhead.hashtable.main / .expires */
} mem_db_overhead;

typedef struct mem_overhead {
    size_t total;          /* used_memory (mem_used) */
    size_t startup, peak;  /* used_memory_startup, used_memory_peak */
    size_t repl_backlog;   /* replication.backlog */
    size_t clients_slaves; /* clients.slaves: replica buffers beyond the backlog */
    size_t clients_normal; /* clients.normal: every other client's buffers */
    size_t aof_buffer;     /* aof.buffer */
    size_t lua_caches;     /* lua.caches: the EVAL script cache */
    size_t functions_caches;
    size_t rehashing;       /* overhead.db.hashtable.rehashing */
    size_t rehashing_count; /* db.dict.rehashing.count */
    size_t overhead;        /* overhead.total */
    size_t keys;            /* keys.count */
    size_t dataset;         /* dataset.bytes = total - overhead */
    double dataset_perc, peak_perc;
    size_t ndbs;
    mem_db_overhead *dbs; /* non-empty databases, owned */
    /* allocator and process (allocator.*, rss-overhead.*, fragmentation) */
    size_t allocated, active, resident, muzzy, rss;
    double allocator_frag, allocator_rss, rss_extra, total_frag;
    long long allocator_frag_bytes, allocator_rss_bytes, rss_extra_bytes, total_frag_bytes;
    const char *allocator;
} mem_overhead;

/* Fills *m (OUT); free with mem_overhead_deinit. */
void mem_overhead_get(mem_overhead *m);
void mem_overhead_deinit(mem_overhead *m);
/* Bytes held by clients' buffers (mem_clients_normal). */
size_t mem_clients_normal(void);

/* MEMORY's subcommands (the container row is in cmd_keys.c). */
extern const cmd_spec memory_subcmds[];

#endif
