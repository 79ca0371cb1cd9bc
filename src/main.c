/* main: read arguments and the config file, then run the server. */
#include "mayfly/config.h"
#include "mayfly/persist/check.h"
#include "mayfly/server.h"
#include "mayfly/util/proctitle.h"
#include "mayfly/util/strconv.h"

#include <stdio.h>
#include <string.h>

/* The program's name without its directory. */
static const char *base_name(const char *path) {
    const char *slash = strrchr(path, '/');
    return slash ? slash + 1 : path;
}

/* The log checker's arguments, as redis-check-aof takes them: FILE, --fix FILE, or
 * --truncate-to-timestamp SECONDS FILE. */
static int run_check_aof(const char *prog, int argc, char **argv) {
    if (argc == 1 && (strcmp(argv[0], "-v") == 0 || strcmp(argv[0], "--version") == 0)) {
        printf("redis-check-aof %s\n", MAYFLY_VERSION);
        return 0;
    }
    if (argc == 1) return check_aof_main(argv[0], 0, 0);
    if (argc == 2 && strcmp(argv[0], "--fix") == 0) return check_aof_main(argv[1], 1, 0);
    if (argc == 3 && strcmp(argv[0], "--truncate-to-timestamp") == 0) {
        long long ts;
        if (str_to_ll(argv[1], strlen(argv[1]), &ts) != 0) {
            printf("Invalid timestamp, aborting...\n");
            return 1;
        }
        return check_aof_main(argv[2], 0, ts);
    }
    printf("Usage: %s [--fix|--truncate-to-timestamp $timestamp] <file.manifest|file.aof>\n", prog);
    return 1;
}

static void usage(void) {
    fprintf(stderr,
            "Usage: ./mayfly-server [/path/to/mayfly.conf] [options] [-]\n"
            "       ./mayfly-server - (read config from stdin)\n"
            "       ./mayfly-server -v or --version\n"
            "       ./mayfly-server -h or --help\n"
            "       ./mayfly-server --check-aof [--fix|--truncate-to-timestamp $timestamp] "
            "<file.manifest|file.aof>\n"
            "       ./mayfly-server --check-rdb <dump.rdb>\n"
            "       (run as redis-check-aof or redis-check-rdb, the program is that checker)\n\n"
            "Examples:\n"
            "       ./mayfly-server (run the server with default config)\n"
            "       ./mayfly-server /etc/mayfly/6379.conf\n"
            "       ./mayfly-server --port 7777\n"
            "       ./mayfly-server /etc/mayfly.conf --loglevel verbose\n\n"
            "Options are the directives of redis.conf: --port, --bind, --requirepass, --hz,\n"
            "--maxmemory, --appendonly, --dir, ... See mayfly.conf for the full list.\n");
}

int main(int argc, char **argv) {
    /* First: the process title is written over the area argv's strings live in. */
    proctitle_init(argc, argv);
    server_init();
    /* Like Redis's binary, it is the checker when it is run under the checker's name. */
    const char *name = base_name(argv[0]);
    if (strcmp(name, "redis-check-rdb") == 0 || strcmp(name, "mayfly-check-rdb") == 0) {
        if (argc != 2) {
            fprintf(stderr, "Usage: %s <rdb-file-name>\n", name);
            return 1;
        }
        return check_rdb_main(argv[1]);
    }
    if (strcmp(name, "redis-check-aof") == 0 || strcmp(name, "mayfly-check-aof") == 0)
        return run_check_aof(name, argc - 1, argv + 1);
    int i = 1;
    if (argc >= 2) {
        if (strcmp(argv[1], "-v") == 0 || strcmp(argv[1], "--version") == 0) {
            printf("Mayfly server v=%s redis_compat=8.0.0 malloc=%s bits=64\n", MAYFLY_VERSION,
#ifdef MAYFLY_JEMALLOC
                   "jemalloc"
#else
                   "libc"
#endif
            );
            return 0;
        }
        if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0) {
            usage();
            return 0;
        }
        if (strcmp(argv[1], "--check-aof") == 0) return run_check_aof(argv[0], argc - 2, argv + 2);
        if (strcmp(argv[1], "--check-rdb") == 0) {
            if (argc != 3) {
                fprintf(stderr, "Usage: %s --check-rdb <rdb-file-name>\n", argv[0]);
                return 1;
            }
            return check_rdb_main(argv[2]);
        }
        if (argv[1][0] != '-') {
            if (config_load_file(argv[1]) < 0) return 1;
            i = 2;
        }
    }
    if (config_load_args(argc - i, argv + i) < 0) return 1;
    return server_run();
}
