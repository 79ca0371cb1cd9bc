/* script: Lua scripting, as Redis has it: EVAL/EVALSHA/SCRIPT and FUNCTION/FCALL (see
 * src/script/script.c for the design). server.c registers the command families, wires the
 * busy-script hooks and asks for the libraries persistence must keep. */
#ifndef MAYFLY_SCRIPT_SCRIPT_H
#define MAYFLY_SCRIPT_SCRIPT_H

#include "mayfly/cmd/cmd.h"

#include <stddef.h>

/* What scripting needs from the process around it while a script is busy. */
typedef struct script_host {
    /* Serves other clients for one non-blocking turn of the event loop. */
    void (*serve)(void);
    /* A script became busy (1: past busy-reply-threshold) or finished being busy (0):
     * the cron's data work (expiry, saves) pauses meanwhile. */
    void (*busy_changed)(int busy);
    /* The -MISCONF text (without '-') while writes must be refused (persistence is
     * failing), else NULL: scripts that may write, and their write commands, are refused. */
    const char *(*write_refusal)(void);
    /* The -NOREPLICAS text (without '-') while min-replicas-to-write is not met, else NULL:
     * scripts that may write, and the first write command of a script, are refused. */
    const char *(*replicas_refusal)(void);
} script_host;

/* Creates both interpreters; call once after the databases exist. */
void script_init(const script_host *host);
/* Frees them (at exit, for leak checkers). */
void script_shutdown(void);

/* The command families: EVAL, EVALSHA, EVAL_RO, EVALSHA_RO, SCRIPT; FCALL, FCALL_RO,
 * FUNCTION. */
extern const cmd_spec cmd_family_eval[];
extern const cmd_spec cmd_family_function[];
/* The scripting directive busy-reply-threshold (alias lua-time-limit), replacing config.c's
 * compatibility row. */
extern const config_row script_config_rows[];

/* The dispatch gate (cmd/gate.h, order CMD_GATE_BUSY) that answers -BUSY to every command
 * without CMD_ALLOW_BUSY while a script is busy; server.c adds it. */
struct cmd_gate;
extern const struct cmd_gate script_gate_busy;

/* 1 while a script runs past busy-reply-threshold. */
int script_is_busy(void);
/* The -BUSY error text (without '-') while a script is busy, else NULL: dispatch refuses
 * every command without CMD_ALLOW_BUSY with it. */
const char *script_busy_error(void);

/* Function libraries, for persistence: calls fn with each library's code (the FUNCTION
 * LOAD payload, "#!lua name=..." line included), in load order. */
void function_foreach(void (*fn)(const char *code, size_t len, void *ctx), void *ctx);
/* Loads a library as FUNCTION LOAD [REPLACE] would, without a time limit. Returns 0, or -1
 * with Redis's error text (starting with its code) in err. name_out receives the name. */
int function_create(const char *code, size_t len, int replace, int timeout_ms, char *err,
                    size_t cap, char *name_out, size_t name_cap);
/* Drops every library (FUNCTION FLUSH; before loading a snapshot). */
void function_flush_all(void);

/* INFO figures. */
size_t eval_scripts_count(void);
size_t eval_lua_memory(void);
size_t eval_scripts_memory(void);
size_t function_libraries_count(void);
size_t function_count(void);
size_t function_lua_memory(void);
size_t function_memory_overhead(void);
extern long long script_evicted_scripts;
/* Fills INFO's scripting figures (cmd/info.h's info_scripting_fill). */
struct info_scripting;
void script_info_fill(struct info_scripting *out);

#endif
