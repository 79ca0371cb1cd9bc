/* info: the INFO text, built from sections that subsystems register.
 *
 * A section is a name, an order key (its place in the output, Redis's order below), whether
 * a bare INFO shows it, and a writer that appends "# Title\r\n" and its "field:value\r\n"
 * lines. cmd/ registers the sections it can write itself (cmd_info_sections), persist/ its
 * "persistence"; a subsystem that arrives later registers its own, or one of the same name
 * to replace a placeholder (replication, cluster):
 *
 *     static void write_replication(buf *b, int64_t now_ms) { ... }
 *     static const info_section repl_info = {"replication", INFO_REPLICATION, 1,
 *                                            write_replication};
 *     info_section_add(&repl_info);            (server.c)
 *
 * INFO <name ...> picks sections by name (case-insensitive); "all" and "everything" pick
 * every section, "default" the default set; sections are separated by an empty line. */
#ifndef MAYFLY_CMD_INFO_H
#define MAYFLY_CMD_INFO_H

#include "mayfly/util/buf.h"
#include "mayfly/util/slice.h"

#include <stdint.h>

/* Order keys: Redis's section order. */
enum info_order {
    INFO_SERVER = 100,
    INFO_CLIENTS = 200,
    INFO_MEMORY = 300,
    INFO_PERSISTENCE = 400,
    INFO_STATS = 500,
    INFO_REPLICATION = 600,
    INFO_CPU = 700,
    INFO_MODULES = 800,
    INFO_COMMANDSTATS = 900,
    INFO_ERRORSTATS = 1000,
    INFO_LATENCYSTATS = 1100,
    INFO_CLUSTER = 1200,
    INFO_KEYSPACE = 1300,
};

typedef struct info_section {
    const char *name; /* lower case: "server", "replication" */
    int order;        /* INFO_*: lower comes first; equal orders in adding order */
    int in_default;   /* shown by a bare INFO (and INFO default) */
    void (*write)(buf *b, int64_t now_ms); /* appends the header line and the fields */
} info_section;

#define INFO_SECTIONS_MAX 32

/* Adds a section (borrowed: static storage); one with the name of a section already there
 * replaces it in place. Returns 0, or -1 when the table is full. */
int info_section_add(const info_section *s);
/* The sections cmd/ writes (server, clients, memory, stats, replication and cluster as
 * placeholders until those subsystems exist, cpu, modules, commandstats, errorstats,
 * latencystats, keyspace), ending in {0}. */
extern const info_section cmd_info_sections[];

/* Appends the INFO text for the named sections (none: the default set) to b. */
void info_build(buf *b, const slice *names, int n, int64_t now_ms);

/* Scripting's figures for INFO memory and stats (Redis's names in the comments). */
typedef struct info_scripting {
    size_t eval_vm;            /* used_memory_vm_eval: the EVAL interpreter */
    size_t eval_scripts;       /* used_memory_scripts_eval: the script cache */
    size_t cached_scripts;     /* number_of_cached_scripts */
    size_t function_count;     /* number_of_functions */
    size_t library_count;      /* number_of_libraries */
    size_t functions_vm;       /* used_memory_vm_functions: the functions' interpreter */
    size_t functions;          /* used_memory_functions: the libraries' bookkeeping */
    long long evicted_scripts; /* evicted_scripts: EVAL scripts dropped from the cache */
} info_scripting;
/* Fills the figures; NULL (without scripting): all zero. Set by the server. */
extern void (*info_scripting_fill)(info_scripting *out);

#endif
