/* check_rdb: `mayfly-server --check-rdb FILE` (or run as redis-check-rdb), the offline RDB
 * checker: it decodes every item of the file, as redis-check-rdb does, and prints what the
 * file holds (AUX fields, databases, keys per type, expires) or the first problem with its
 * offset. Values are decoded whole (so a damaged listpack is found) and freed at once;
 * nothing is kept. Types Mayfly does not implement are reported, not decoded. */
#include "mayfly/config.h"
#include "mayfly/persist/check.h"
#include "mayfly/rdb/rdb.h"
#include "mayfly/util/clock.h"
#include "persist/legacy_int.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_TYPES 256

typedef struct check_state {
    long long keys, expires, already_expired, fields_with_ttl, unsupported, db_keys[64];
    long long libraries;
    long long types[MAX_TYPES];
    int valkey;
} check_state;

static void print_escaped(slice s) {
    for (size_t i = 0; i < s.len && i < 200; i++) {
        unsigned char c = (unsigned char)s.p[i];
        if (c >= 0x20 && c < 0x7f && c != '\'')
            putchar(c);
        else
            printf("\\x%02x", c);
    }
}

static void count_ttls(check_state *st, obj *val) {
    if (val->type != OBJ_HASH) return;
    st->fields_with_ttl += (long long)hash_ttl_count((hash *)val);
}

static int report(const rdb_dec *d, int rc, const check_state *st, int64_t now) {
    if (rc != RDB_DONE) {
        printf("--- RDB ERROR DETECTED ---\n");
        printf("[offset %llu] %s\n", (unsigned long long)d->offset,
               rc == RDB_MORE ? "unexpected end of file (the file is truncated)" : d->err);
        return 1;
    }
    printf("[offset %llu] Checksum OK\n", (unsigned long long)d->offset);
    printf("[offset %llu] \\o/ RDB looks OK! \\o/\n", (unsigned long long)d->offset);
    printf("[info] %lld keys read\n", st->keys);
    printf("[info] %lld expires\n", st->expires);
    printf("[info] %lld already expired (as of %lld)\n", st->already_expired, (long long)now);
    printf("[info] %lld hash fields with a TTL\n", st->fields_with_ttl);
    if (st->libraries) printf("[info] %lld function libraries\n", st->libraries);
    for (int t = 0; t < MAX_TYPES; t++)
        if (st->types[t])
            printf("[info] %lld keys of type %s (%d)\n", st->types[t], rdb_type_name(t, st->valkey),
                   t);
    for (int i = 0; i < 64; i++)
        if (st->db_keys[i]) printf("[info] db%d: %lld keys\n", i, st->db_keys[i]);
    if (st->unsupported)
        printf("[info] %lld keys of types Mayfly does not implement: Mayfly refuses to start on "
               "this file\n",
               st->unsupported);
    return 0;
}

static void show_item(const rdb_item *it, check_state *st, uint64_t at, int64_t now) {
    switch (it->kind) {
    case RDB_ITEM_AUX:
        printf("[offset %llu] AUX FIELD ", (unsigned long long)at);
        print_escaped(it->aux_name);
        printf(" = '");
        print_escaped(it->aux_value);
        printf("'\n");
        break;
    case RDB_ITEM_SELECTDB:
        printf("[offset %llu] Selecting DB ID %d\n", (unsigned long long)at, it->dbid);
        break;
    case RDB_ITEM_RESIZEDB:
        printf("[offset %llu] RESIZEDB: %llu keys, %llu expires\n", (unsigned long long)at,
               (unsigned long long)it->db_keys, (unsigned long long)it->db_expires);
        break;
    case RDB_ITEM_FUNCTION: {
        /* The library's first line: "#!lua name=<lib> ..." */
        const char *nl = memchr(it->code.p, '\n', it->code.len);
        size_t n = nl ? (size_t)(nl - it->code.p) : it->code.len;
        printf("[offset %llu] Function library: ", (unsigned long long)at);
        print_escaped((slice){it->code.p, n < 200 ? n : 200});
        printf("\n");
        st->libraries++;
        break;
    }
    case RDB_ITEM_SKIPPED:
        printf("[offset %llu] %s%s%s (Mayfly skips it when loading)\n", (unsigned long long)at,
               it->what, it->module[0] ? " of module " : "", it->module);
        break;
    case RDB_ITEM_KEY:
        st->keys++;
        if (it->dbid < 64) st->db_keys[it->dbid]++;
        if (it->type >= 0 && it->type < MAX_TYPES) st->types[it->type]++;
        if (it->expire_ms) {
            st->expires++;
            if (it->expire_ms < now) st->already_expired++;
        }
        st->unsupported += it->unsupported;
        if (it->val) {
            count_ttls(st, it->val);
            obj_free(it->val);
        }
        break;
    }
}

int check_rdb_main(const char *path) {
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat sb;
    if (fd < 0 || fstat(fd, &sb) < 0) {
        printf("Cannot check the RDB file %s: %s\n", path, strerror(errno));
        if (fd >= 0) close(fd);
        return 1;
    }
    close(fd);
    printf("[offset 0] Checking RDB file %s\n", path);
    if (legacy_is_snapshot(path)) {
        printf(
            "--- RDB ERROR DETECTED ---\n[offset 0] this is a snapshot of Mayfly 0.1, not an RDB "
            "file: start Mayfly on it once and it is converted (docs/migration.md)\n");
        return 1;
    }
    FILE *f = fopen(path, "rb");
    if (!f) return 1;
    rdb_dec_opts o = {.lim = HASH_LIMITS_DEFAULT,
                      .verify_checksum = 1,
                      .databases = 1 << 20,
                      .skip_unsupported = 1};
    rdb_dec d;
    rdb_dec_init(&d, &o);
    check_state st;
    memset(&st, 0, sizeof(st));
    buf in;
    buf_init(&in);
    size_t pos = 0;
    int64_t now = clock_now_ms();
    int rc, eof = 0;
    for (;;) {
        rdb_item it;
        size_t used;
        uint64_t at = d.offset;
        rc = rdb_dec_next(&d, in.data ? in.data + pos : "", in.len - pos, &used, &it);
        pos += used;
        st.valkey = d.valkey;
        if (rc == RDB_OK) {
            show_item(&it, &st, at, now);
            continue;
        }
        if (rc != RDB_MORE || eof) break;
        /* Keep the unconsumed bytes, read at least what the decoder needs. */
        buf_consume(&in, pos);
        pos = 0;
        size_t want = d.need > (size_t)sb.st_size ? (size_t)sb.st_size : d.need;
        size_t chunk = want > (1 << 20) ? want : (1 << 20);
        char *dst = buf_reserve(&in, chunk);
        size_t n = fread(dst, 1, chunk, f);
        in.len += n;
        if (n < chunk) eof = 1;
    }
    int status = report(&d, rc, &st, now);
    rdb_dec_deinit(&d);
    buf_deinit(&in);
    fclose(f);
    return status;
}
