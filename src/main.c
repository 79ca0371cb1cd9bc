/* main: read arguments and the config file, then run the server. */
#include "mayfly/config.h"
#include "mayfly/persist/check.h"
#include "mayfly/server.h"

#include <stdio.h>
#include <string.h>

static void usage(void) {
    fprintf(stderr,
            "Usage: ./mayfly-server [/path/to/mayfly.conf] [options] [-]\n"
            "       ./mayfly-server - (read config from stdin)\n"
            "       ./mayfly-server -v or --version\n"
            "       ./mayfly-server -h or --help\n"
            "       ./mayfly-server --check-aof [--fix] <file.manifest|file>\n\n"
            "Examples:\n"
            "       ./mayfly-server (run the server with default config)\n"
            "       ./mayfly-server /etc/mayfly/6379.conf\n"
            "       ./mayfly-server --port 7777\n"
            "       ./mayfly-server /etc/mayfly.conf --loglevel verbose\n\n"
            "Options are the directives of redis.conf: --port, --bind, --requirepass, --hz,\n"
            "--maxmemory, --appendonly, --dir, ... See mayfly.conf for the full list.\n");
}

int main(int argc, char **argv) {
    server_init();
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
        if (strcmp(argv[1], "--check-aof") == 0) {
            int fix = argc >= 3 && strcmp(argv[2], "--fix") == 0;
            if (argc < 3 + fix || argc > 4) {
                fprintf(stderr, "Usage: %s --check-aof [--fix] <file.manifest|file>\n", argv[0]);
                return 1;
            }
            if (!fix && argc == 4 && strcmp(argv[3], "--fix") == 0) fix = 2;
            return check_aof_main(argv[fix == 1 ? 3 : 2], fix != 0);
        }
        if (argv[1][0] != '-') {
            if (config_load_file(argv[1]) < 0) return 1;
            i = 2;
        }
    }
    if (config_load_args(argc - i, argv + i) < 0) return 1;
    return server_run();
}
