/* fuzz_load: libFuzzer target for every loader of files the server reads: the config file,
 * the ACL file, the snapshot and the append-only log (its manifest and an increment).
 *
 * Byte 0 chooses the loader (low two bits) and options; the rest is the file's bytes,
 * written to a private directory and loaded through the same entry points the server
 * uses. A loader must refuse bad input with its error, never crash, hang or leak:
 *  - 0 config file (config_load_file), from defaults each time;
 *  - 1 ACL file (acl_load_file); a file that loads replaces the users, as ACL LOAD does;
 *  - 2 snapshot (load_begin/load_step with appendonly no); with bit 0x80 the trailing
 *    checksum is recomputed first, so the fuzzer gets past it to the records' meaning;
 *  - 3 append-only log: a manifest naming one increment holding the bytes, or (bit 0x40)
 *    the bytes up to the first 0xfe are the manifest and the rest the increment. Records
 *    replay through command dispatch; only write commands (and SELECT, MULTI, EXEC) are
 *    replayed, so a record cannot make the fuzzer sleep, save or shut down.
 * Loader messages go to /dev/null while a loader runs (a crash is reproduced by running
 * the target on the saved input with FUZZ_LOAD_VERBOSE=1, which keeps them). */
#include "mayfly/acl/acl.h"
#include "mayfly/cmd/cmd.h"
#include "mayfly/config.h"
#include "mayfly/db/db.h"
#include "mayfly/persist/load.h"
#include "mayfly/server.h"
#include "mayfly/util/clock.h"
#include "mayfly/util/mem.h"

#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xxhash.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char dir[64];
static session *replayer;
static int devnull = -1, saved_out = -1, saved_err = -1;

static void quiet(int on) {
    if (devnull < 0) return;
    fflush(stdout);
    fflush(stderr);
    dup2(on ? devnull : saved_out, 1);
    dup2(on ? devnull : saved_err, 2);
}

static void write_file(const char *name, const void *p, size_t len) {
    char path[256];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (fd < 0) abort();
    if (len && write(fd, p, len) != (ssize_t)len) abort();
    close(fd);
}

static void remove_file(const char *name) {
    char path[256];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    unlink(path);
}

static void load_config(const uint8_t *p, size_t len) {
    write_file("fuzz.conf", p, len);
    char path[256];
    snprintf(path, sizeof(path), "%s/fuzz.conf", dir);
    config_init();
    config_load_file(path);
    config_init();
}

static void load_acl(const uint8_t *p, size_t len) {
    write_file("users.acl", p, len);
    char path[256], *err = NULL;
    snprintf(path, sizeof(path), "%s/users.acl", dir);
    acl_userset *old = acl_load_file(path, NULL, &err);
    if (old) acl_userset_free(old);
    mem_free(err);
}

/* Replays a record as the server does, for write commands only (see the top). */
static int replay(int dbid, int64_t time_ms, int argc, slice *argv) {
    const cmd_spec *spec = cmd_lookup(argv[0]);
    if (!spec || dbid < 0 || dbid >= db_count()) return -1;
    int allowed = (spec->flags & CMD_WRITE) || strcmp(spec->name, "select") == 0 ||
                  strcmp(spec->name, "multi") == 0 || strcmp(spec->name, "exec") == 0;
    if (!allowed) return -1;
    replayer->db_id = dbid;
    replayer->db = db_get(dbid);
    long long errors = cmd_total_errors();
    cmd_dispatch_at(replayer, argc, argv, time_ms);
    buf_clear(&replayer->out);
    replayer->out.over = 0;
    return cmd_total_errors() != errors;
}

static void run_load(void) {
    int rc = load_begin(clock_now_ms(), replay);
    for (int steps = 0; rc == LOAD_MORE && steps < 100000; steps++)
        rc = load_step(1000);
    if (rc == LOAD_MORE) abort(); /* a loader that never ends */
    for (int i = 0; i < db_count(); i++)
        db_flush(db_get(i));
    if (replayer->flags & SESS_MULTI) {
        slice discard = slice_of("DISCARD");
        cmd_dispatch(replayer, 1, &discard);
        buf_clear(&replayer->out);
    }
}

static void load_snapshot(const uint8_t *p, size_t len, int fix_checksum) {
    config.appendonly = 0;
    if (fix_checksum && len >= 8) {
        uint8_t *copy = malloc(len);
        memcpy(copy, p, len);
        uint64_t h = XXH64(copy, len - 8, 0);
        for (int i = 0; i < 8; i++)
            copy[len - 8 + (size_t)i] = (uint8_t)(h >> (8 * i));
        write_file(config.dbfilename, copy, len);
        free(copy);
    } else {
        write_file(config.dbfilename, p, len);
    }
    run_load();
    remove_file(config.dbfilename);
}

static void load_log(const uint8_t *p, size_t len, int with_manifest) {
    static const char manifest[] = "file appendonly.aof.1.incr.log seq 1 type i\n";
    char sub[128];
    snprintf(sub, sizeof(sub), "%s", config.appenddirname);
    char path[256];
    snprintf(path, sizeof(path), "%s/%s", dir, sub);
    mkdir(path, 0700);
    char mname[160], iname[160];
    snprintf(mname, sizeof(mname), "%s/%s.manifest", sub, config.appendfilename);
    snprintf(iname, sizeof(iname), "%s/%s.1.incr.log", sub, config.appendfilename);
    const uint8_t *sep = with_manifest ? memchr(p, 0xfe, len) : NULL;
    if (sep) {
        write_file(mname, p, (size_t)(sep - p));
        write_file(iname, sep + 1, len - (size_t)(sep - p) - 1);
    } else {
        write_file(mname, manifest, sizeof(manifest) - 1);
        write_file(iname, p, len);
    }
    config.appendonly = 1;
    run_load();
    config.appendonly = 0;
    remove_file(iname);
    remove_file(mname);
}

static void setup(void) {
    snprintf(dir, sizeof(dir), "/tmp/mayfly-fuzz-load-XXXXXX");
    if (!mkdtemp(dir)) abort();
    if (!getenv("FUZZ_LOAD_VERBOSE")) devnull = open("/dev/null", O_WRONLY);
    saved_out = dup(1);
    saved_err = dup(2);
    server_init(); /* directives, command families and gates, as the server has them */
    db_init_all(16);
    acl_init();
    replayer = session_new(NULL, NULL);
    replayer->flags |= SESS_INTERNAL;
    buf_set_limit(&replayer->out, 1024 * 1024);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (!replayer) setup();
    if (size == 0) return 0;
    unsigned mode = data[0];
    const uint8_t *p = data + 1;
    size_t len = size - 1;
    mem_free(config.dir);
    config.dir = mem_strdup(dir);
    quiet(1);
    switch (mode & 3) {
    case 0:
        load_config(p, len);
        break;
    case 1:
        load_acl(p, len);
        break;
    case 2:
        load_snapshot(p, len, (mode & 0x80) != 0);
        break;
    default:
        load_log(p, len, (mode & 0x40) != 0);
        break;
    }
    quiet(0);
    return 0;
}
