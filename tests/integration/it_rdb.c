/* it_rdb: RDB snapshots against a real server process: every fixture written by a real
 * Redis (7.0 and a 7.4-era build) loads with exact values and deadlines, expired keys and
 * fields are dropped; a file with a type Mayfly lacks, a cut or a damaged byte is refused
 * at start naming what is wrong and nothing is served; --check-rdb (and the program run
 * as redis-check-rdb) reports files; Mayfly's own dump is RDB 12 honouring rdbcompression
 * and rdbchecksum; a Mayfly 0.1 snapshot is converted on start. Interoperability with a
 * live Redis 7.0 is in it_rdb_redis.c. */
#include "integration/rdb_util.h"
#include "mayfly/util/buf.h"

#define XXH_INLINE_ALL
#include <xxhash.h>

static const char *const snap_args[] = {"--save", "3600 1", NULL};

/* Starts a server, stops it, puts the file in its directory as dump.rdb (len bytes of it,
 * -1: all) and starts it again. Returns what it_restart_server returns. */
static int start_on(it_server *s, const char *file, long long len, const char *const *args) {
    it_start_server(s, args);
    it_kill_server(s);
    char dst[600];
    snprintf(dst, sizeof(dst), "%s/dump.rdb", s->dir);
    if (ru_copy(file, dst, len) < 0) return 0;
    return it_restart_server(s, args);
}

static int check_fixture(const char *name, long expect_past) {
    char path[600], jpath[600];
    ru_fixture(path, sizeof(path), name);
    snprintf(jpath, sizeof(jpath), "%.*s.json", (int)strlen(path) - 4, path);
    json *doc = json_load(jpath);
    if (!doc) return 0;
    it_server s;
    int ok = start_on(&s, path, -1, NULL);
    if (ok) {
        redisContext *c = it_client_to(&s);
        long past = 0, n = ru_check_sidecar(c, doc, &past);
        ok = n > 0 && past == expect_past;
        if (ok && it_info_field(c, "rdb_last_load_keys_expired") != past) {
            fprintf(stderr, "%s: rdb_last_load_keys_expired %lld, want %ld\n", name,
                    it_info_field(c, "rdb_last_load_keys_expired"), past);
            ok = 0;
        }
        if (ok && it_info_field(c, "rdb_last_load_keys_loaded") != n - past) ok = 0;
        redisFree(c);
    }
    it_stop_server(&s);
    json_free(doc);
    return ok;
}

TEST(fixtures_load_with_exact_values_and_deadlines) {
    if (!check_fixture("redis74-hfe.rdb", 0)) TEST_FAIL("redis74-hfe.rdb");
    if (!check_fixture("redis70-basic.rdb", 0)) TEST_FAIL("redis70-basic.rdb");
    /* Written seconds before its "past" deadlines passed (README of the fixtures). */
    if (!check_fixture("redis74-hfe-expired.rdb", 5)) TEST_FAIL("redis74-hfe-expired.rdb");
}

TEST(a_type_mayfly_lacks_is_refused_naming_it) {
    char path[600];
    ru_fixture(path, sizeof(path), "redis74-other-types.rdb");
    it_server s;
    if (start_on(&s, path, -1, NULL)) TEST_FAIL("started on a file holding lists and sets");
    if (s.exit_status != 1) TEST_FAIL("exit status %d", s.exit_status);
    if (!pu_log_has(&s, "database 0, key 'legacy:") ||
        !pu_log_has(&s, "which Mayfly does not support") ||
        !pu_log_has(&s, "Mayfly implements strings and hashes only"))
        TEST_FAIL("the log does not name the database, key and type");
    it_stop_server(&s);
}

TEST(damaged_files_are_refused) {
    char path[600];
    ru_fixture(path, sizeof(path), "redis74-hfe.rdb");
    size_t len;
    char *data = ru_read(path, &len);
    if (!data) TEST_FAIL("read fixture");
    /* Cut short. */
    it_server s;
    if (start_on(&s, path, (long long)len * 2 / 3, NULL)) TEST_FAIL("started on a cut file");
    if (s.exit_status != 1 || !pu_log_has(&s, "truncated")) TEST_FAIL("cut: no clear refusal");
    /* A damaged byte in the middle of a value: the checksum. */
    char dst[600];
    snprintf(dst, sizeof(dst), "%s/dump.rdb", s.dir);
    data[len / 2] ^= 0x5a;
    if (ru_write(dst, data, len) < 0) TEST_FAIL("write");
    if (it_restart_server(&s, NULL)) TEST_FAIL("started on a damaged file");
    if (s.exit_status != 1 || !pu_log_has(&s, "at offset")) TEST_FAIL("damage: no clear refusal");
    /* The same bytes with a zero trailer (written with rdbchecksum no) are not checked: the
     * damaged byte lands in data, or the file is refused for its structure; either way no
     * crash. Undamaged with a zero trailer, it loads. */
    data[len / 2] ^= 0x5a;
    memset(data + len - 8, 0, 8);
    if (ru_write(dst, data, len) < 0) TEST_FAIL("write");
    if (!it_restart_server(&s, NULL)) TEST_FAIL("a zero checksum is refused");
    redisContext *c = it_client_to(&s);
    if (it_int(c, "DBSIZE") <= 0) TEST_FAIL("nothing loaded");
    redisFree(c);
    it_stop_server(&s);
    free(data);
}

/* A key longer than Mayfly keeps (1 GB - 1) is refused at start by its stated length,
 * plain or LZF-compressed, naming the database, and --check-rdb reports it: the file
 * holds none of the key's bytes, so a server that read them first would call the file
 * truncated instead (and one that did not refuse would need 1 GB to load it). */
TEST(an_over_long_key_is_refused_at_start) {
    static const struct {
        const char *bytes;
        size_t len;
    } files[] = {
        {"REDIS0011\xfe\x03\x00\x80\x40\x00\x00\x00"
         "abc",
         17},
        {"REDIS0011\xfe\x03\x00\xc3\x80\x00\xc0\x00\x00\x80\x40\x00\x00\x00"
         "abc",
         23},
    };
    it_server s;
    it_start_server(&s, NULL);
    it_kill_server(&s);
    char dst[600], out[4096];
    snprintf(dst, sizeof(dst), "%s/dump.rdb", s.dir);
    for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
        if (ru_write(dst, files[i].bytes, files[i].len) < 0) TEST_FAIL("write");
        if (it_restart_server(&s, NULL)) TEST_FAIL("file %zu: started", i);
        if (s.exit_status != 1 ||
            !pu_log_has(&s, "database 3: a key of 1073741824 bytes (Mayfly keeps keys of at "
                            "most 1073741823)"))
            TEST_FAIL("file %zu: exit status %d, no refusal naming the key's length", i,
                      s.exit_status);
        if (ru_shell(out, sizeof(out), "'%s' --check-rdb '%s'", getenv("MAYFLY_SERVER"), dst) !=
                1 ||
            !strstr(out, "a key of 1073741824 bytes"))
            TEST_FAIL("file %zu: check: %s", i, out);
    }
    it_stop_server(&s);
}

/* Runs bin [flag] file (a checker); returns its exit status. */
static int run_check(const char *bin, const char *flag, const char *file, char *out, size_t cap) {
    return ru_shell(out, cap, "'%s' %s '%s'", bin, flag ? flag : "", file);
}

TEST(check_rdb_reports_files) {
    const char *bin = getenv("MAYFLY_SERVER");
    char path[600], out[16384];
    ru_fixture(path, sizeof(path), "redis74-hfe.rdb");
    if (run_check(bin, "--check-rdb", path, out, sizeof(out)) != 0 ||
        !strstr(out, "RDB looks OK") || !strstr(out, "[info] 45 keys read") ||
        !strstr(out, "hash-listpack-ex") || !strstr(out, "1788 hash fields with a TTL"))
        TEST_FAIL("check of a good file: %s", out);
    /* Run under the name redis-check-rdb, it is the checker. */
    char dir[] = "/tmp/mayfly-it-XXXXXX", link[700], cut[700];
    if (!mkdtemp(dir)) TEST_FAIL("mkdtemp");
    snprintf(link, sizeof(link), "%s/redis-check-rdb", dir);
    if (symlink(bin, link) < 0) TEST_FAIL("symlink");
    ru_fixture(path, sizeof(path), "redis74-other-types.rdb");
    if (run_check(link, NULL, path, out, sizeof(out)) != 0 || !strstr(out, "RDB looks OK") ||
        !strstr(out, "list-quicklist-2") || !strstr(out, "Mayfly refuses to start on this file"))
        TEST_FAIL("redis-check-rdb of other types: %s", out);
    snprintf(cut, sizeof(cut), "%s/cut.rdb", dir);
    ru_fixture(path, sizeof(path), "redis70-basic.rdb");
    ru_copy(path, cut, 70000);
    if (run_check(link, NULL, cut, out, sizeof(out)) != 1 ||
        !strstr(out, "--- RDB ERROR DETECTED ---") || !strstr(out, "truncated"))
        TEST_FAIL("check of a cut file: %s", out);
    unlink(link);
    unlink(cut);
    rmdir(dir);
}

/* A dataset with every hash encoding and field TTLs. */
static int fill(redisContext *c, long long t) {
    if (!it_expect(c, __FILE__, __LINE__, "+OK", "SET s %s", "hello")) return 0;
    it_run(c, "SET n 12345");
    it_run(c, "SET long %0500d", 7);
    it_run(c, "SET ttl v PXAT %lld", t);
    it_run(c, "HSET lp a 1 b 2");
    it_run(c, "HSETEX lpex PXAT %lld FIELDS 2 x 1 y 2", t + 5);
    it_run(c, "HSET lpex z 3");
    for (int i = 0; i < 600; i++) {
        it_run(c, "HSET ht f%d %d", i, i);
        it_run(c, "HSETEX htex PXAT %lld FIELDS 1 f%d %0100d", t + i, i, i);
    }
    it_run(c, "HSET htex plain value");
    return 1;
}

static int check_filled(redisContext *c, long long t) {
    char want[64];
    snprintf(want, sizeof(want), "[%lld,%lld,-1]", t + 5, t + 5);
    return it_expect(c, __FILE__, __LINE__, "\"hello\"", "GET s") &&
           it_expect(c, __FILE__, __LINE__, "\"int\"", "OBJECT ENCODING n") &&
           it_expect(c, __FILE__, __LINE__, want, "HPEXPIRETIME lpex FIELDS 3 x y z") &&
           it_expect(c, __FILE__, __LINE__, "601", "HLEN htex") &&
           it_expect(c, __FILE__, __LINE__, "600", "HLEN ht") && it_int(c, "PEXPIRETIME ttl") == t;
}

TEST(own_snapshot_is_rdb_12_and_honours_the_directives) {
    long long t = pu_now_ms() + 3600000;
    it_server s;
    it_start_server(&s, snap_args);
    redisContext *c = it_client_to(&s);
    if (!fill(c, t)) TEST_FAIL("fill");
    EXPECT(c, "+OK", "SAVE");
    char dump[600], out[8192];
    snprintf(dump, sizeof(dump), "%s/dump.rdb", s.dir);
    size_t len;
    char *data = ru_read(dump, &len);
    if (!data || memcmp(data, "REDIS0012", 9) != 0) TEST_FAIL("not an RDB 12 file");
    free(data);
    if (run_check(getenv("MAYFLY_SERVER"), "--check-rdb", dump, out, sizeof(out)) != 0 ||
        !strstr(out, "hash-metadata (24)") || !strstr(out, "hash-listpack-ex (25)") ||
        !strstr(out, "hash-listpack (16)") || !strstr(out, "keys of type hash (4)"))
        TEST_FAIL("check: %s", out);
    long long compressed = (long long)len;
    /* rdbcompression no: the long values are stored as they are. */
    EXPECT(c, "+OK", "CONFIG SET rdbcompression no");
    EXPECT(c, "+OK", "SAVE");
    if (pu_file_size(dump) <= compressed) TEST_FAIL("rdbcompression no saved nothing");
    EXPECT(c,
           "-ERR CONFIG SET failed (possibly related to argument 'rdbchecksum') - can't set "
           "immutable config",
           "CONFIG SET rdbchecksum no");
    redisFree(c);
    it_kill_server(&s);
    if (!it_restart_server(&s, snap_args)) TEST_FAIL("restart");
    c = it_client_to(&s);
    if (!check_filled(c, t)) TEST_FAIL("after restart (uncompressed)");
    redisFree(c);
    /* rdbchecksum no: a zero trailer, and the file loads. */
    static const char *const nosum[] = {"--save", "3600 1", "--rdbchecksum", "no", NULL};
    if (!it_restart_server(&s, nosum)) TEST_FAIL("restart rdbchecksum no");
    c = it_client_to(&s);
    EXPECT(c, "+OK", "SAVE");
    data = ru_read(dump, &len);
    static const char zero[8] = {0};
    if (!data || memcmp(data + len - 8, zero, 8) != 0) TEST_FAIL("the trailer is not zero");
    free(data);
    redisFree(c);
    it_kill_server(&s);
    if (!it_restart_server(&s, snap_args)) TEST_FAIL("restart after rdbchecksum no");
    c = it_client_to(&s);
    if (!check_filled(c, t)) TEST_FAIL("after restart (no checksum)");
    redisFree(c);
    it_stop_server(&s);
}

/* ---- Mayfly 0.1 snapshots ---- */

static void leb(buf *b, unsigned long long v) {
    while (v >= 0x80) {
        buf_putc(b, (char)(v | 0x80));
        v >>= 7;
    }
    buf_putc(b, (char)v);
}

static void leb_str(buf *b, const char *s) {
    leb(b, strlen(s));
    buf_puts(b, s);
}

/* The layout Mayfly 0.1 wrote (persist/legacy.c), built by hand. */
static void legacy_snapshot(buf *b, long long t) {
    buf_append(b, "MAYFLYSN\x01", 9);
    for (int i = 0; i < 8; i++)
        buf_putc(b, (char)((unsigned long long)pu_now_ms() >> (8 * i)));
    buf_putc(b, 'D');
    leb(b, 0);
    buf_putc(b, 'S');
    leb_str(b, "old:s");
    leb(b, (unsigned long long)t);
    leb_str(b, "kept");
    buf_putc(b, 'H');
    leb_str(b, "old:h");
    leb(b, 0);
    leb(b, 2);
    leb(b, 1), leb(b, 1), leb(b, (unsigned long long)t + 7), buf_puts(b, "ab");
    leb(b, 1), leb(b, 1), leb(b, 0), buf_puts(b, "cd");
    buf_putc(b, 'D');
    leb(b, 2);
    buf_putc(b, 'S');
    leb_str(b, "db2");
    leb(b, 0);
    leb_str(b, "x");
    buf_putc(b, 'E');
    unsigned long long h = XXH64(b->data, b->len, 0);
    for (int i = 0; i < 8; i++)
        buf_putc(b, (char)(h >> (8 * i)));
}

TEST(mayfly_0_1_snapshot_is_converted) {
    long long t = pu_now_ms() + 3600000;
    buf b;
    buf_init(&b);
    legacy_snapshot(&b, t);
    it_server s;
    it_start_server(&s, NULL);
    it_kill_server(&s);
    char dump[600], kept[700];
    snprintf(dump, sizeof(dump), "%s/dump.rdb", s.dir);
    snprintf(kept, sizeof(kept), "%s.mayfly-0.1", dump);
    if (ru_write(dump, b.data, b.len) < 0) TEST_FAIL("write");
    for (int round = 0; round < 2; round++) {
        if (!it_restart_server(&s, NULL)) TEST_FAIL("start %d", round);
        redisContext *c = it_client_to(&s);
        char want[64];
        snprintf(want, sizeof(want), "[%lld,-1]", t + 7);
        EXPECT(c, "\"kept\"", "GET old:s");
        if (it_int(c, "PEXPIRETIME old:s") != t) TEST_FAIL("old:s TTL");
        EXPECT(c, want, "HPEXPIRETIME old:h FIELDS 2 a c");
        EXPECT(c, "[\"b\",\"d\"]", "HMGET old:h a c");
        EXPECT(c, "+OK", "SELECT 2");
        EXPECT(c, "\"x\"", "GET db2");
        redisFree(c);
        it_kill_server(&s);
        size_t len;
        char *data = ru_read(dump, &len);
        if (!data || memcmp(data, "REDIS0012", 9) != 0) TEST_FAIL("not converted to RDB");
        free(data);
        if (pu_file_size(kept) != (long long)b.len) TEST_FAIL("the old file was not kept");
    }
    if (!pu_log_has(&s, "Converted the Mayfly 0.1 snapshot")) TEST_FAIL("no log line");
    it_stop_server(&s);
    buf_deinit(&b);
}

int main(void) {
    RUN(fixtures_load_with_exact_values_and_deadlines);
    RUN(a_type_mayfly_lacks_is_refused_naming_it);
    RUN(damaged_files_are_refused);
    RUN(an_over_long_key_is_refused_at_start);
    RUN(check_rdb_reports_files);
    RUN(own_snapshot_is_rdb_12_and_honours_the_directives);
    RUN(mayfly_0_1_snapshot_is_converted);
    return test_report();
}
