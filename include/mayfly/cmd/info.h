/* info: the INFO text, shared by the INFO command and anything that wants it. */
#ifndef MAYFLY_CMD_INFO_H
#define MAYFLY_CMD_INFO_H

#include "mayfly/util/buf.h"
#include "mayfly/util/slice.h"

#include <stdint.h>

/* Appends the INFO text for the named sections (none: the default set) to b. */
void info_build(buf *b, const slice *names, int n, int64_t now_ms);
/* Writes the "# Persistence" section; persistence replaces the default. */
extern void (*info_persistence)(buf *b);

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
