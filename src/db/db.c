/* db: TEMPORARY minimal keyspace (databases exist, hold no keys) so that the server links
 * and the connection layer can be tested. Replaced wholesale by the keyspace branch. */
#include "db/db.h"

#include "util/mem.h"

db_stats db_stat;
db_hooks db_hook;

static db *dbs;
static int ndbs;

void db_init_all(int n) {
    ndbs = n;
    dbs = mem_calloc((size_t)n, sizeof(db));
    for (int i = 0; i < n; i++) dbs[i].id = i;
}

void db_free_all(void) {
    mem_free(dbs);
    dbs = NULL;
    ndbs = 0;
}

int db_count(void) { return ndbs; }
db *db_get(int id) { return &dbs[id]; }
size_t db_size(const db *d) {
    (void)d;
    return 0;
}
void db_flush(db *d) { (void)d; }
int db_active_expire(int64_t now_ms, int64_t budget_us) {
    (void)now_ms;
    (void)budget_us;
    return 0;
}
void db_rehash(int64_t budget_us) { (void)budget_us; }
void db_info_keyspace(buf *b) { (void)b; }

/* Until util/dict.c lands. */
__attribute__((weak)) void dict_set_seed(uint64_t seed) { (void)seed; }
