/* prefetch: which key and field each command of a pipelined batch will look up, for
 * db_prefetch (see db/db_prefetch.c for why). The command table gives the key position:
 * only commands whose first key is their first argument take part (nearly every data
 * command; not EVALSHA, whose first argument is a digest). A hash command's field is the
 * argument after "FIELDS <n>" (HSETEX, HGETEX, HPEXPIRE, HTTL, ...) or else its second
 * argument (HGET, HSET, HINCRBY, ...); a wrong guess (HSCAN's cursor) is a wasted
 * prefetch, nothing more. Which of these a command gets is decided when the registry enters
 * it (registry_prefetch_kind), so a peeked command costs one table lookup, whose entry
 * net/ hands back to cmd_dispatch_next when the command runs (no second lookup). */
#include "cmd/registry_int.h"
#include "mayfly/cmd/cmd.h"

#include <strings.h>

/* The field argument of a hash command among its first `have` arguments (len 0: none). */
static slice hash_field(const slice *v, int argc, int have) {
    for (int j = 2; j + 2 < have; j++)
        if (v[j].len == 6 && strncasecmp(v[j].p, "fields", 6) == 0) return v[j + 2];
    return argc >= 3 ? v[2] : (slice){NULL, 0};
}

void cmd_prefetch(session *s, int n, slice (*argvs)[CMD_PEEK_ARGS], const int *argcs,
                  struct reg_entry **found) {
    slice keys[DB_PREFETCH_MAX], fields[DB_PREFETCH_MAX];
    int m = 0;
    for (int i = 0; i < n; i++) {
        int kind = registry_prefetch_kind(argvs[i][0], &found[i]);
        if (kind == PREFETCH_NONE || argcs[i] < 2 || m == DB_PREFETCH_MAX) continue;
        keys[m] = argvs[i][1];
        int have = argcs[i] < CMD_PEEK_ARGS ? argcs[i] : CMD_PEEK_ARGS;
        fields[m] =
            kind == PREFETCH_KEY_FIELD ? hash_field(argvs[i], argcs[i], have) : (slice){NULL, 0};
        m++;
    }
    if (m >= 2 && s->db) db_prefetch(s->db, m, keys, fields);
}
