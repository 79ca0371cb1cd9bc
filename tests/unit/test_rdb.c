/* Unit tests for rdb/: the CRC64, the listpack codec, every fixture written by a real
 * Redis (decoded in chunks of every size class and compared with its JSON sidecar),
 * Mayfly's own dumps decoded back exactly, DUMP payloads both ways, and damaged input
 * (truncation, a flipped byte, a bad checksum, unsupported types) refused cleanly. */
#include "common/json.h"
#include "mayfly/db/db.h"
#include "mayfly/rdb/rdb.h"
#include "mayfly/types/hash.h"
#include "mayfly/types/string.h"
#include "mayfly/util/crc64.h"
#include "mayfly/util/mem.h"
#include "rdb/rdb_int.h"
#include "unit/test.h"

#include <lzf.h>
#include <stdlib.h>
#include <sys/time.h>

static long long now_ms(void) {
    struct timeval tv;
    gettimeofday(&tv, NULL);
    return (long long)tv.tv_sec * 1000 + tv.tv_usec / 1000;
}

static void fixture_path(char *out, size_t cap, const char *name) {
    const char *src = getenv("MAYFLY_SOURCE_DIR");
    snprintf(out, cap, "%s/tests/fixtures/rdb/%s", src ? src : "..", name);
}

static char *read_all(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *p = malloc((size_t)n + 1);
    *len = fread(p, 1, (size_t)n, f);
    fclose(f);
    return p;
}

static rdb_dec_opts default_opts(int64_t drop_before) {
    rdb_dec_opts o = {.lim = HASH_LIMITS_DEFAULT,
                      .drop_before_ms = drop_before,
                      .verify_checksum = 1,
                      .databases = 16};
    return o;
}

typedef struct load_result {
    int rc;            /* RDB_DONE or the error */
    long long keys;    /* keys added */
    long long emptied; /* hashes whose every field was dropped */
    long long skipped; /* SKIPPED items */
    long long aux;     /* AUX items */
    char err[256];
} load_result;

/* Decodes data into the databases, giving the decoder `chunk` more bytes each time it asks
 * (0: everything at once). Keys whose own deadline is at or before drop_keys_before are
 * not added. */
static load_result load(const char *data, size_t len, size_t chunk, rdb_dec_opts o,
                        int64_t drop_keys_before) {
    load_result r = {0};
    rdb_dec d;
    rdb_dec_init(&d, &o);
    size_t pos = 0, avail = chunk ? (chunk < len ? chunk : len) : len;
    for (int guard = 0; guard < 10000000; guard++) {
        rdb_item it;
        size_t used;
        int rc = rdb_dec_next(&d, data + pos, avail - pos, &used, &it);
        pos += used;
        if (rc == RDB_MORE) {
            if (avail == len) {
                r.rc = RDB_MORE;
                break;
            }
            size_t want = pos + d.need;
            avail += chunk;
            if (avail < want) avail = want;
            if (avail > len) avail = len;
            continue;
        }
        if (rc != RDB_OK) {
            r.rc = rc;
            snprintf(r.err, sizeof(r.err), "%s", d.err);
            break;
        }
        if (it.kind == RDB_ITEM_SKIPPED) r.skipped++;
        if (it.kind == RDB_ITEM_AUX) r.aux++;
        if (it.kind != RDB_ITEM_KEY) continue;
        if (!it.val) {
            r.emptied++;
            continue;
        }
        if (it.expire_ms && it.expire_ms <= drop_keys_before) {
            obj_free(it.val);
            continue;
        }
        db *dd = db_get(it.dbid);
        if (db_find_raw(dd, it.key)) {
            obj_free(it.val);
            r.rc = RDB_ECORRUPT;
            snprintf(r.err, sizeof(r.err), "duplicate key");
            break;
        }
        dbentry *e = db_add(dd, it.key, it.val);
        if (it.expire_ms)
            e = db_set_expire(dd, e, it.expire_ms);
        else
            e = db_refile(dd, e);
        r.keys++;
    }
    rdb_dec_deinit(&d);
    return r;
}

static void reset_dbs(void) {
    db_free_all();
    db_init_all(16);
}

/* ---- comparison with a JSON sidecar -------------------------------------------------- */

static int is_past(const json *k) {
    const json *p = json_get(k, "past");
    return p && p->kind == JSON_BOOL && p->num;
}

static int field_is_past(const json *k, const char *f, size_t flen) {
    const json *pf = json_get(k, "past_fields");
    for (size_t i = 0; pf && i < pf->len; i++)
        if (pf->item[i]->len == flen && memcmp(pf->item[i]->str, f, flen) == 0) return 1;
    return 0;
}

/* Checks one key of the sidecar against the database; returns 0 and prints on mismatch. */
static int check_key(db *d, const char *name, size_t nlen, const json *k) {
    slice key = {name, nlen};
    dbentry *e = db_find_raw(d, key);
    if (is_past(k)) {
        if (e) fprintf(stderr, "key '%s' should have expired\n", name);
        return e == NULL;
    }
    if (!e) {
        fprintf(stderr, "key '%s' missing\n", name);
        return 0;
    }
    const json *exp = json_get(k, "expire_ms");
    long long want_exp = exp && exp->kind == JSON_NUM ? exp->num : 0;
    if (db_entry_expire(e) != want_exp) {
        fprintf(stderr, "key '%s' expire %lld, want %lld\n", name, (long long)db_entry_expire(e),
                want_exp);
        return 0;
    }
    const char *type = json_get(k, "type")->str;
    if (strcmp(type, "string") == 0) {
        if (e->val->type != OBJ_STRING) return 0;
        size_t vlen;
        char *want = json_fixture_bytes(json_get(k, "value"), &vlen);
        char tmp[STRCONV_LL_MAX];
        slice got = string_bytes((const string *)e->val, tmp);
        int ok = got.len == vlen && memcmp(got.p, want, vlen) == 0;
        if (!ok) fprintf(stderr, "key '%s' value differs\n", name);
        free(want);
        return ok;
    }
    if (e->val->type != OBJ_HASH) return 0;
    hash *h = (hash *)e->val;
    const json *fields = json_get(k, "fields");
    size_t live = 0;
    for (size_t i = 0; i < fields->len; i++) {
        const json *f = fields->item[i];
        const json *fv = f->item[2];
        int past = field_is_past(k, f->item[0]->str, f->item[0]->len);
        hash_entry got;
        int rc = hash_get(h, 0, (slice){f->item[0]->str, f->item[0]->len}, &got);
        if (past) {
            if (rc == HASH_OK) {
                fprintf(stderr, "key '%s' field '%s' should have expired\n", name, f->item[0]->str);
                return 0;
            }
            continue;
        }
        live++;
        if (rc != HASH_OK || got.value.len != f->item[1]->len ||
            memcmp(got.value.p, f->item[1]->str, got.value.len) != 0 ||
            got.deadline != (fv->kind == JSON_NUM ? fv->num : 0)) {
            fprintf(stderr, "key '%s' field '%s' differs\n", name, f->item[0]->str);
            return 0;
        }
    }
    if (hash_len(h, 0) != live) {
        fprintf(stderr, "key '%s' has %zu fields, want %zu\n", name, hash_len(h, 0), live);
        return 0;
    }
    return 1;
}

/* Compares every database of the sidecar; returns the number of keys compared, -1 on a
 * mismatch. */
static long check_sidecar(const json *doc) {
    const json *dbs = json_get(doc, "dbs");
    long n = 0;
    for (size_t i = 0; i < dbs->len; i++) {
        db *d = db_get(atoi(dbs->key[i]));
        const json *keys = dbs->item[i];
        size_t live = 0;
        for (size_t j = 0; j < keys->len; j++) {
            if (!check_key(d, keys->key[j], keys->key_len[j], keys->item[j])) return -1;
            live += !is_past(keys->item[j]);
            n++;
        }
        if (db_size(d) != live) {
            fprintf(stderr, "db %s has %zu keys, want %zu\n", dbs->key[i], db_size(d), live);
            return -1;
        }
    }
    return n;
}

/* Loads fixture name in chunks of chunk bytes and compares it with its sidecar. */
static int check_fixture(const char *name, size_t chunk) {
    char path[1024], jpath[1024];
    fixture_path(path, sizeof(path), name);
    snprintf(jpath, sizeof(jpath), "%.*s.json", (int)(strlen(path) - 4), path);
    size_t len;
    char *data = read_all(path, &len);
    json *doc = json_load(jpath);
    if (!data || !doc) {
        fprintf(stderr, "cannot read %s or its sidecar\n", path);
        free(data);
        json_free(doc);
        return 0;
    }
    int64_t made = json_get(doc, "made_at_ms")->num;
    /* The "past" deadlines passed seconds after the file was made. */
    int64_t drop = now_ms() > made + 60000 ? now_ms() : made + 60000;
    reset_dbs();
    load_result r = load(data, len, chunk, default_opts(drop), drop);
    long n = r.rc == RDB_DONE ? check_sidecar(doc) : -1;
    if (r.rc != RDB_DONE) fprintf(stderr, "%s: rc %d: %s\n", name, r.rc, r.err);
    free(data);
    json_free(doc);
    return n > 0;
}

TEST(crc64_check_value) {
    ASSERT(crc64(0, "123456789", 9) == 0xe9c6d914c4b8d9caULL);
    /* Split anywhere, the result is the same. */
    uint64_t c = crc64(0, "1234", 4);
    ASSERT(crc64(c, "56789", 5) == 0xe9c6d914c4b8d9caULL);
    ASSERT(crc64(0, "", 0) == 0);
}

/* The folding path (64 bytes and more, where the CPU has carry-less multiplication) gives
 * the tables' result for every length, alignment and running value. */
TEST(crc64_folding_matches_tables) {
    enum { N = 4200 };
    static unsigned char data[N + 64];
    uint64_t x = 88172645463325252ULL;
    for (size_t i = 0; i < sizeof(data); i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        data[i] = (unsigned char)x;
    }
    for (size_t len = 0; len <= N; len += len < 300 ? 1 : 37) {
        size_t off = len % 13;
        uint64_t init = len % 3 ? x * len : 0;
        if (crc64(init, data + off, len) != crc64_bytewise(init, data + off, len))
            TEST_FAIL("crc64 differs from the tables at length %zu", len);
    }
    /* Split anywhere through a long input, the result is the same. */
    uint64_t whole = crc64(0, data, N), part = crc64(0, data, 1000);
    ASSERT(crc64(part, data + 1000, N - 1000) == whole);
}

/* rdb_lzf_decompress gives what liblzf compressed, for data of every kind and length
 * (runs, repeats near and far, noise), and refuses damaged input or a wrong length without
 * writing outside its buffer (ASan watches the exact allocation plus the slack). */
TEST(lzf_decompress_matches_liblzf) {
    uint64_t x = 0x9E3779B97F4A7C15ULL;
    for (int t = 0; t < 3000; t++) {
        size_t len = 1 + (size_t)t % 1500;
        unsigned char *src = malloc(len), *comp = malloc(len * 2 + 64);
        for (size_t i = 0; i < len; i++) {
            x ^= x << 13, x ^= x >> 7, x ^= x << 17;
            src[i] = t % 3 == 0 ? (unsigned char)x : (unsigned char)"abcab:f1"[x % (t % 7 + 1)];
        }
        unsigned clen = lzf_compress(src, (unsigned)len, comp, (unsigned)(len * 2 + 64));
        if (clen == 0) TEST_FAIL("lzf_compress failed at %zu", len);
        unsigned char *out = malloc(len + RDB_LZF_SLACK);
        if (rdb_lzf_decompress(comp, clen, out, len) != len || memcmp(out, src, len) != 0)
            TEST_FAIL("round trip of %zu bytes (kind %d)", len, t % 7);
        /* Too small an output, or damage: refused or short, never out of bounds. */
        ASSERT_EQ(0, rdb_lzf_decompress(comp, clen, out, len - 1));
        comp[x % clen] ^= (unsigned char)(1u << (x % 8));
        (void)rdb_lzf_decompress(comp, clen, out, len);
        free(out);
        free(src);
        free(comp);
    }
}

TEST(listpack_round_trip) {
    static const long long ints[] = {0,         127,       128,       -1,
                                     4095,      -4096,     4096,      -32768,
                                     32767,     32768,     -8388608,  8388607,
                                     8388608,   INT32_MIN, INT32_MAX, (long long)INT32_MAX + 1,
                                     INT64_MIN, INT64_MAX};
    size_t nints = sizeof(ints) / sizeof(ints[0]);
    buf b;
    buf_init(&b);
    rdb_lp_begin(&b);
    for (size_t i = 0; i < nints; i++)
        rdb_lp_append_int(&b, ints[i]);
    char big[5000];
    memset(big, 'x', sizeof(big));
    size_t lens[] = {0, 1, 63, 64, 4095, 4096, 5000};
    for (size_t i = 0; i < 7; i++)
        rdb_lp_append(&b, big, lens[i]);
    rdb_lp_append(&b, "007", 3); /* not canonical: stays a string */
    rdb_lp_append(&b, "-12", 3); /* canonical: becomes an integer */
    rdb_lp_end(&b, nints + 9);
    ASSERT_EQ((long)(nints + 9), rdb_lp_validate((const unsigned char *)b.data, b.len));
    size_t pos = 0;
    rdb_elem e;
    for (size_t i = 0; i < nints; i++) {
        ASSERT(rdb_lp_next((const unsigned char *)b.data, &pos, &e));
        ASSERT(e.s == NULL);
        ASSERT(e.v == ints[i]);
    }
    for (size_t i = 0; i < 7; i++) {
        ASSERT(rdb_lp_next((const unsigned char *)b.data, &pos, &e));
        ASSERT(e.s != NULL);
        ASSERT_EQ(lens[i], e.len);
    }
    ASSERT(rdb_lp_next((const unsigned char *)b.data, &pos, &e) && e.s && e.len == 3);
    ASSERT(rdb_lp_next((const unsigned char *)b.data, &pos, &e) && !e.s && e.v == -12);
    ASSERT(!rdb_lp_next((const unsigned char *)b.data, &pos, &e));
    /* Any single damaged byte in the header, an entry or the terminator is noticed or
     * decodes to a well-formed listpack; never a read out of bounds (ASan checks). */
    for (size_t i = 0; i < b.len; i++) {
        char *copy = malloc(b.len);
        memcpy(copy, b.data, b.len);
        copy[i] ^= 0x41;
        rdb_lp_validate((const unsigned char *)copy, b.len);
        free(copy);
    }
    ASSERT_EQ(-1, rdb_lp_validate((const unsigned char *)b.data, b.len - 1));
    buf_deinit(&b);
}

TEST(fixtures_load_exactly) {
    static const char *const files[] = {"redis74-hfe.rdb", "redis74-hfe-expired.rdb",
                                        "redis70-basic.rdb"};
    static const size_t chunks[] = {0, 1, 7, 4096};
    for (size_t i = 0; i < 3; i++)
        for (size_t c = 0; c < 4; c++)
            if (!check_fixture(files[i], chunks[c]))
                TEST_FAIL("%s in chunks of %zu", files[i], chunks[c]);
}

TEST(other_types_are_refused_naming_db_key_and_type) {
    char path[1024];
    fixture_path(path, sizeof(path), "redis74-other-types.rdb");
    size_t len;
    char *data = read_all(path, &len);
    ASSERT(data);
    reset_dbs();
    load_result r = load(data, len, 0, default_opts(0), 0);
    free(data);
    ASSERT_EQ(RDB_ETYPE, r.rc);
    if (!strstr(r.err, "database ") || !strstr(r.err, "key 'legacy:") ||
        !strstr(r.err, "which Mayfly does not support"))
        TEST_FAIL("message: %s", r.err);
}

/* A dataset of every shape Mayfly has, written and decoded back exactly. */
static void fill_dataset(int64_t base) {
    hash_limits lim = HASH_LIMITS_DEFAULT;
    db *d0 = db_get(0), *d3 = db_get(3);
    db_entry_done(
        db_refile(d0, db_add(d0, slice_of("int"), &string_from_ll(-123456789012LL)->hdr)));
    db_entry_done(db_refile(d0, db_add(d0, slice_of("small"), &string_new("12", 2)->hdr)));
    db_entry_done(db_refile(d0, db_add(d0, slice_of("empty"), &string_new("", 0)->hdr)));
    char big[3000];
    for (size_t i = 0; i < sizeof(big); i++)
        big[i] = (char)('a' + i % 7);
    dbentry *e = db_add(d0, slice_of("big"), &string_new(big, sizeof(big))->hdr);
    e = db_set_expire(d0, e, base + 500000);
    hash *lp = hash_new(), *lpex = hash_new(), *ht = hash_new(), *htex = hash_new();
    hash_set(&lp, &lim, 0, slice_of("f"), slice_of("1"), HASH_TTL_CLEAR, 0);
    hash_set(&lp, &lim, 0, slice_of("g"), slice_of("two"), HASH_TTL_CLEAR, 0);
    hash_set(&lpex, &lim, 0, slice_of("a"), slice_of("x"), HASH_TTL_SET, base + 3000);
    hash_set(&lpex, &lim, 0, slice_of("b"), slice_of("y"), HASH_TTL_CLEAR, 0);
    hash_set(&lpex, &lim, 0, slice_of("c"), slice_of("-5"), HASH_TTL_SET, base + 1000);
    for (int i = 0; i < 700; i++) {
        char f[32], v[32];
        int fl = snprintf(f, sizeof(f), "field:%d", i), vl = snprintf(v, sizeof(v), "%d", i * 7);
        hash_set(&ht, &lim, 0, (slice){f, (size_t)fl}, (slice){v, (size_t)vl}, HASH_TTL_CLEAR, 0);
        hash_set(&htex, &lim, 0, (slice){f, (size_t)fl}, (slice){v, (size_t)vl},
                 i % 3 ? HASH_TTL_SET : HASH_TTL_CLEAR, base + 10000 + i);
    }
    db_entry_done(db_refile(d0, db_add(d0, slice_of("lp"), (obj *)lp)));
    db_entry_done(db_refile(d0, db_add(d0, slice_of("lpex"), (obj *)lpex)));
    db_entry_done(db_refile(d3, db_add(d3, slice_of("ht"), (obj *)ht)));
    e = db_add(d3, slice_of("htex"), (obj *)htex);
    e = db_set_expire(d3, e, base + 900000);
}

static int sink_buf(void *ctx, const char *p, size_t len) {
    buf_append(ctx, p, len);
    return 0;
}

/* Snapshot of databases 0 and 3 as text, for comparing two datasets. */
static void describe(buf *out) {
    for (int id = 0; id < 16; id++) {
        db *d = db_get(id);
        static const char *const names[] = {"int", "small", "empty", "big",
                                            "lp",  "lpex",  "ht",    "htex"};
        for (size_t k = 0; k < 8; k++) {
            dbentry *e = db_find_raw(d, slice_of(names[k]));
            if (!e) continue;
            buf_printf(out, "%d %s exp=%lld ", id, names[k], (long long)db_entry_expire(e));
            if (e->val->type == OBJ_STRING) {
                char tmp[STRCONV_LL_MAX];
                slice v = string_bytes((const string *)e->val, tmp);
                buf_append(out, v.p, v.len);
            } else {
                hash *h = (hash *)e->val;
                buf_printf(out, "[%s %zu]", hash_encoding_name(h), hash_len(h, 0));
                for (int i = 0; i < 800; i++) {
                    char f[32];
                    const char *fixed[] = {"f", "g", "a", "b", "c"};
                    int fl = i < 5 ? snprintf(f, sizeof(f), "%s", fixed[i])
                                   : snprintf(f, sizeof(f), "field:%d", i - 5);
                    hash_entry he;
                    if (hash_get(h, 0, (slice){f, (size_t)fl}, &he) != HASH_OK) continue;
                    buf_printf(out, " %s=%.*s@%lld", f, (int)he.value.len, he.value.p,
                               (long long)he.deadline);
                }
            }
            buf_putc(out, '\n');
        }
    }
}

TEST(own_dump_round_trips_exactly) {
    int64_t base = 4102444800000LL; /* 2100-01-01 */
    for (int compress = 0; compress < 2; compress++) {
        reset_dbs();
        fill_dataset(base);
        buf before, file, after;
        buf_init(&before);
        buf_init(&file);
        buf_init(&after);
        describe(&before);
        rdb_enc e;
        rdb_enc_init(&e, sink_buf, &file, compress, 1);
        long long keys;
        ASSERT_EQ(0, rdb_save_dataset(&e, base, 0, &keys));
        rdb_enc_deinit(&e);
        ASSERT_EQ(8, keys);
        ASSERT(memcmp(file.data, "REDIS0012", 9) == 0);
        reset_dbs();
        load_result r = load(file.data, file.len, 3, default_opts(0), 0);
        ASSERT_EQ(RDB_DONE, r.rc);
        ASSERT_EQ(8, r.keys);
        describe(&after);
        size_t i = 0;
        while (i < before.len && i < after.len && before.data[i] == after.data[i])
            i++;
        if (i != before.len || i != after.len)
            TEST_FAIL("datasets differ at byte %zu: %.80s | %.80s", i, before.data + i,
                      after.data + i);
        buf_deinit(&before);
        buf_deinit(&file);
        buf_deinit(&after);
    }
}

TEST(due_fields_and_keys_are_left_out) {
    int64_t base = 4102444800000LL;
    reset_dbs();
    fill_dataset(base);
    buf file;
    buf_init(&file);
    rdb_enc e;
    rdb_enc_init(&e, sink_buf, &file, 1, 1);
    long long keys;
    /* As of base + 10300: lpex's c and a are due, htex's first 300 TTL fields too. */
    ASSERT_EQ(0, rdb_save_dataset(&e, base + 10300, 0, &keys));
    rdb_enc_deinit(&e);
    reset_dbs();
    load_result r = load(file.data, file.len, 0, default_opts(0), 0);
    ASSERT_EQ(RDB_DONE, r.rc);
    hash *lpex = (hash *)db_find_raw(db_get(0), slice_of("lpex"))->val;
    ASSERT_EQ(1, hash_len(lpex, 0));
    hash *htex = (hash *)db_find_raw(db_get(3), slice_of("htex"))->val;
    ASSERT_EQ(700 - 200, hash_len(htex, 0)); /* i < 300 with i % 3 != 0 went */
    buf_deinit(&file);
}

TEST(damage_is_refused) {
    int64_t base = 4102444800000LL;
    reset_dbs();
    fill_dataset(base);
    buf file;
    buf_init(&file);
    rdb_enc e;
    rdb_enc_init(&e, sink_buf, &file, 1, 1);
    ASSERT_EQ(0, rdb_save_dataset(&e, base, 0, NULL));
    rdb_enc_deinit(&e);
    /* Cut anywhere: the decoder asks for more, and never reports the end. */
    for (size_t cut = 0; cut < file.len; cut += 1 + cut / 8) {
        reset_dbs();
        load_result r = load(file.data, cut, 0, default_opts(0), 0);
        if (r.rc != RDB_MORE && r.rc >= 0) TEST_FAIL("cut at %zu gave %d", cut, r.rc);
    }
    /* A flipped byte anywhere is an error (mostly the checksum), never a crash. */
    for (size_t i = 9; i < file.len; i += 1 + i / 16) {
        file.data[i] ^= 0x20;
        reset_dbs();
        load_result r = load(file.data, file.len, 0, default_opts(0), 0);
        file.data[i] ^= 0x20;
        if (r.rc == RDB_DONE) TEST_FAIL("flipped byte %zu went unnoticed", i);
    }
    /* The checksum itself. */
    file.data[file.len - 1] ^= 1;
    reset_dbs();
    load_result r = load(file.data, file.len, 0, default_opts(0), 0);
    ASSERT_EQ(RDB_ECHECKSUM, r.rc);
    /* A zero checksum (rdbchecksum no) is not checked. */
    memset(file.data + file.len - 8, 0, 8);
    reset_dbs();
    r = load(file.data, file.len, 0, default_opts(0), 0);
    ASSERT_EQ(RDB_DONE, r.rc);
    /* Not an RDB, and a version from the future. */
    reset_dbs();
    r = load("MAYFLYSN\x01", 9, 0, default_opts(0), 0);
    ASSERT_EQ(RDB_EVERSION, r.rc);
    r = load("REDIS0013", 9, 0, default_opts(0), 0);
    ASSERT_EQ(RDB_EVERSION, r.rc);
    buf_deinit(&file);
}

static char *unhex(const char *hex, size_t *len) {
    *len = strlen(hex) / 2;
    char *p = malloc(*len + 1);
    for (size_t i = 0; i < *len; i++) {
        unsigned v;
        sscanf(hex + 2 * i, "%2x", &v);
        p[i] = (char)v;
    }
    return p;
}

TEST(redis_dump_payloads_restore_exactly) {
    char path[1024];
    fixture_path(path, sizeof(path), "redis74-dump-payloads.json");
    json *doc = json_load(path);
    ASSERT(doc);
    const json *payloads = json_get(doc, "payloads");
    ASSERT(payloads && payloads->len == 32);
    rdb_dec_opts o = default_opts(0);
    reset_dbs();
    db *d = db_get(0);
    for (size_t i = 0; i < payloads->len; i++) {
        size_t len;
        char *p = unhex(json_get(payloads->item[i], "hex")->str, &len);
        obj *val;
        int type;
        char err[256];
        int rc = rdb_load_payload(p, len, &o, &val, &type, err, sizeof(err));
        if (rc != RDB_OK || !val) TEST_FAIL("payload %s: %d %s", payloads->key[i], rc, err);
        ASSERT_EQ(json_get(payloads->item[i], "rdb_type")->num, type);
        slice key = {payloads->key[i], payloads->key_len[i]};
        db_entry_done(db_refile(d, db_add(d, key, val)));
        if (!check_key(d, key.p, key.len, json_get(payloads->item[i], "expected")))
            TEST_FAIL("payload %s restores differently", payloads->key[i]);
        /* Mayfly's own payload of the value restores to the same thing. */
        buf mine;
        buf_init(&mine);
        rdb_dump_payload(&mine, val, 0, 1);
        obj *again;
        rc = rdb_load_payload(mine.data, mine.len, &o, &again, &type, err, sizeof(err));
        if (rc != RDB_OK) TEST_FAIL("own payload of %s: %s", payloads->key[i], err);
        db_delete_entry(d, db_find_raw(d, key));
        db_entry_done(db_refile(d, db_add(d, key, again)));
        if (!check_key(d, key.p, key.len, json_get(payloads->item[i], "expected")))
            TEST_FAIL("own payload of %s restores differently", payloads->key[i]);
        /* A damaged footer is "version or checksum". */
        mine.data[mine.len - 1] ^= 1;
        ASSERT_EQ(RDB_EVERSION,
                  rdb_load_payload(mine.data, mine.len, &o, &again, NULL, err, sizeof(err)));
        buf_deinit(&mine);
        free(p);
    }
    json_free(doc);
}

/* ---- hand-built blobs of older versions -------------------------------------------- */

/* A ziplist entry: prevlen, then the encoding bytes given. */
static void zl_entry(buf *b, size_t *prev, const char *enc, size_t enclen) {
    if (*prev < 254) {
        buf_putc(b, (char)*prev);
    } else {
        buf_putc(b, (char)0xFE);
        for (int i = 0; i < 4; i++)
            buf_putc(b, (char)(*prev >> (8 * i)));
    }
    buf_append(b, enc, enclen);
    *prev = enclen + (*prev < 254 ? 1 : 5);
}

/* A ziplist of field/value pairs covering every encoding (ziplist.c's layout). */
static void build_ziplist(buf *zl) {
    buf_init(zl);
    buf_append(zl, "\0\0\0\0\0\0\0\0\0\0", 10);
    size_t prev = 0, last = 10;
    char big[300];
    memset(big, 'q', sizeof(big));
    char e14[2 + 300] = {(char)(0x40 | (300 >> 8)), (char)(300 & 0xff)};
    memcpy(e14 + 2, big, 300);
    struct {
        const char *enc;
        size_t len;
    } items[] = {
        {"\x01"
         "a",
         2},             /* "a" */
        {"\xfe\x85", 2}, /* int8 -123 */
        {"\x02"
         "bb",
         3},                 /* "bb" */
        {"\xc0\x39\x30", 3}, /* int16 12345 */
        {"\x01"
         "c",
         2},                     /* "c" */
        {"\xf0\x40\x42\x0f", 4}, /* int24 1000000 */
        {"\x01"
         "d",
         2},                         /* "d" */
        {"\xd0\x00\x94\x35\x77", 5}, /* int32 2000000000 */
        {"\x01"
         "e",
         2},                                         /* "e" */
        {"\xe0\x00\x00\x00\x00\x00\x00\x00\x80", 9}, /* int64 min */
        {"\x01"
         "f",
         2},         /* "f" */
        {"\xf1", 1}, /* immediate 0 */
        {"\x04"
         "long",
         5},                /* "long" */
        {e14, sizeof(e14)}, /* 300 bytes, 14-bit length */
    };
    for (size_t i = 0; i < sizeof(items) / sizeof(items[0]); i++) {
        last = zl->len;
        zl_entry(zl, &prev, items[i].enc, items[i].len);
    }
    buf_putc(zl, (char)0xFF);
    unsigned char *h = (unsigned char *)zl->data;
    for (int i = 0; i < 4; i++) {
        h[i] = (unsigned char)(zl->len >> (8 * i));
        h[4 + i] = (unsigned char)(last >> (8 * i));
    }
    h[8] = 14;
}

/* An RDB string of raw bytes (length-prefixed, 32-bit length when long). */
static void rdb_raw(buf *b, const char *p, size_t len) {
    if (len < 64) {
        buf_putc(b, (char)len);
    } else {
        buf_putc(b, (char)0x80);
        for (int i = 3; i >= 0; i--)
            buf_putc(b, (char)(len >> (8 * i)));
    }
    buf_append(b, p, len);
}

TEST(older_versions_ziplist_zipmap_and_seconds_ttls) {
    buf f, zl;
    buf_init(&f);
    build_ziplist(&zl);
    buf_append(&f, "REDIS0009", 9);
    buf_append(&f, "\xfe\x00", 2); /* SELECTDB 0 */
    buf_putc(&f, (char)253);       /* EXPIRETIME in seconds, then a ziplist hash */
    uint32_t secs = 2000000000u;   /* 2033: the opcode holds signed 32 bits */
    for (int i = 0; i < 4; i++)
        buf_putc(&f, (char)(secs >> (8 * i)));
    buf_putc(&f, 13);
    rdb_raw(&f, "zl", 2);
    rdb_raw(&f, zl.data, zl.len);
    /* A zipmap: "foo" => "bar" (with one free byte), "hello" => "world". */
    static const char zm[] = "\x02\x03"
                             "foo"
                             "\x03\x01"
                             "barX"
                             "\x05"
                             "hello"
                             "\x05\x00"
                             "world"
                             "\xff";
    buf_putc(&f, 9);
    rdb_raw(&f, "zm", 2);
    rdb_raw(&f, zm, sizeof(zm) - 1);
    buf_putc(&f, (char)0xFF);
    uint64_t crc = crc64(0, f.data, f.len);
    for (int i = 0; i < 8; i++)
        buf_putc(&f, (char)(crc >> (8 * i)));
    reset_dbs();
    load_result r = load(f.data, f.len, 1, default_opts(0), 0);
    if (r.rc != RDB_DONE) TEST_FAIL("rc %d: %s", r.rc, r.err);
    dbentry *e = db_find_raw(db_get(0), slice_of("zl"));
    ASSERT(e && db_entry_expire(e) == 2000000000000LL);
    hash *h = (hash *)e->val;
    static const char *const want[][2] = {{"a", "-123"},
                                          {"bb", "12345"},
                                          {"c", "1000000"},
                                          {"d", "2000000000"},
                                          {"e", "-9223372036854775808"},
                                          {"f", "0"}};
    for (size_t i = 0; i < 6; i++) {
        hash_entry he;
        ASSERT_EQ(HASH_OK, hash_get(h, 0, slice_of(want[i][0]), &he));
        ASSERT_MEM_EQ(want[i][1], strlen(want[i][1]), he.value.p, he.value.len);
    }
    hash_entry he;
    ASSERT_EQ(HASH_OK, hash_get(h, 0, slice_of("long"), &he));
    ASSERT_EQ(300, he.value.len);
    h = (hash *)db_find_raw(db_get(0), slice_of("zm"))->val;
    ASSERT_EQ(HASH_OK, hash_get(h, 0, slice_of("foo"), &he));
    ASSERT_MEM_EQ("bar", 3, he.value.p, he.value.len);
    ASSERT_EQ(HASH_OK, hash_get(h, 0, slice_of("hello"), &he));
    ASSERT_MEM_EQ("world", 5, he.value.p, he.value.len);
    ASSERT_EQ(2, hash_len(h, 0));
    /* A damaged prevlen is refused. */
    zl.data[10] = 5;
    ASSERT_EQ(-1, rdb_zl_validate((const unsigned char *)zl.data, zl.len));
    buf_deinit(&f);
    buf_deinit(&zl);
}

/* "REDIS0011", SELECTDB 0, then a key of the given type whose name is written as `name`
 * (its length encoding and what follows, without the bytes of a long name). */
static size_t key_header(char *out, int type, const char *name, size_t name_len) {
    memcpy(out, "REDIS0011\xfe\x00", 11);
    out[11] = (char)type;
    memcpy(out + 12, name, name_len);
    return 12 + name_len;
}

/* A key longer than DB_KEY_MAX is refused by its stated length, plain or LZF-compressed,
 * string or hash, before its bytes are read or decompressed: the input here holds none of
 * them, so without the refusal the decoder would ask for more (1 GB of it). A key of
 * exactly DB_KEY_MAX bytes is not refused: the decoder asks for its bytes. */
TEST(an_over_long_key_is_refused_by_its_stated_length) {
    static const struct {
        const char *name; /* length encoding of the key name */
        size_t len;
        int type;
        int refused;
    } cases[] = {
        {"\x80\x40\x00\x00\x00", 5, 0, 1},                          /* 32-bit length 2^30 */
        {"\x80\x40\x00\x00\x00", 5, 4, 1},                          /* a plain hash's key */
        {"\x81\x00\x00\x00\x01\x00\x00\x00\x00", 9, 0, 1},          /* 64-bit length 2^32 */
        {"\xc3\x80\x00\xc0\x00\x00\x80\x40\x00\x00\x00", 11, 0, 1}, /* LZF 12M -> 2^30 */
        {"\x80\x3f\xff\xff\xff", 5, 0, 0},                          /* DB_KEY_MAX itself */
        {"\xc3\x80\x00\xc0\x00\x00\x80\x3f\xff\xff\xff", 11, 0, 0},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char file[64];
        size_t len = key_header(file, cases[i].type, cases[i].name, cases[i].len);
        reset_dbs();
        load_result r = load(file, len, 0, default_opts(0), 0);
        if (!cases[i].refused) {
            if (r.rc != RDB_MORE) TEST_FAIL("case %zu: %d %s", i, r.rc, r.err);
            continue;
        }
        if (r.rc != RDB_ECORRUPT) TEST_FAIL("case %zu: rc %d, not a refusal", i, r.rc);
        if (!strstr(r.err, "database 0: a key of ") || !strstr(r.err, "at most 1073741823"))
            TEST_FAIL("case %zu: %s", i, r.err);
    }
}

/* A hash too large to be compact is decoded field by field as its bytes arrive; a field
 * repeated in it is damage, in the big path as in the small one. */
TEST(big_hash_streamed_and_duplicates_refused) {
    for (int dup = 0; dup < 2; dup++) {
        buf f;
        buf_init(&f);
        buf_append(&f, "REDIS0010\xfe\x00\x04", 12);
        rdb_raw(&f, "big", 3);
        buf_putc(&f, (char)0x80); /* 32-bit length: 2000 fields */
        for (int i = 3; i >= 0; i--)
            buf_putc(&f, (char)(2000 >> (8 * i)));
        for (int i = 0; i < 2000; i++) {
            char name[16];
            int n = snprintf(name, sizeof(name), "f%d", dup && i == 1999 ? 7 : i);
            rdb_raw(&f, name, (size_t)n);
            rdb_raw(&f, "value", 5);
        }
        buf_putc(&f, (char)0xFF);
        uint64_t crc = crc64(0, f.data, f.len);
        for (int i = 0; i < 8; i++)
            buf_putc(&f, (char)(crc >> (8 * i)));
        reset_dbs();
        load_result r = load(f.data, f.len, 100, default_opts(0), 0);
        if (dup) {
            ASSERT_EQ(RDB_ECORRUPT, r.rc);
            if (!strstr(r.err, "duplicate")) TEST_FAIL("message: %s", r.err);
        } else {
            ASSERT_EQ(RDB_DONE, r.rc);
            hash *h = (hash *)db_find_raw(db_get(0), slice_of("big"))->val;
            ASSERT_EQ(2000, hash_len(h, 0));
            ASSERT_STR_EQ("hashtable", hash_encoding_name(h));
        }
        buf_deinit(&f);
    }
}

/* A type-25 file (hash-listpack-ex) of one hash of n fields; variant 0: fields of every
 * shape (short, longer than 8 bytes, integers) and values (strings, integers), one field
 * past its deadline, some without one; 1: the same with a field repeated (hash-table
 * duplicate check); 2: the first entry's back-length damaged; 3: five fields with one
 * repeated (pairwise check); 4: every field with a deadline. */
static void listpack_ex_file(buf *f, int variant, size_t n) {
    buf lp;
    buf_init(&lp);
    rdb_lp_begin(&lp);
    for (size_t i = 0; i < n; i++) {
        char name[40], val[40];
        size_t same = variant == 1 && i == n - 1 ? 3 : variant == 3 && i == 4 ? 2 : i;
        int fl = same % 4 == 2   ? snprintf(name, sizeof(name), "%zu", 1000 + same)
                 : same % 3 == 0 ? snprintf(name, sizeof(name), "field-number-%zu", same)
                                 : snprintf(name, sizeof(name), "f%zu", same);
        int vl = i % 2 ? snprintf(val, sizeof(val), "%zu", i * 100000)
                       : snprintf(val, sizeof(val), "v%zu", i);
        rdb_lp_append(&lp, name, (size_t)fl);
        rdb_lp_append(&lp, val, (size_t)vl);
        rdb_lp_append_int(&lp, variant != 4 && i == 1       ? 1000
                               : variant != 4 && i % 5 == 0 ? 0
                                                            : 4102444800000LL + (int64_t)i);
    }
    rdb_lp_end(&lp, 3 * n);
    if (variant == 2) lp.data[6 + 15] = 5; /* "field-number-0" is 1 + 14 bytes: says 5 */
    buf_init(f);
    buf_append(f, "REDIS0012\xfe\x00", 11);
    buf_putc(f, 25);
    rdb_raw(f, "lh", 2);
    for (int i = 0; i < 8; i++) /* the minimum deadline: a hint, rebuilt at load */
        buf_putc(f, (char)(i == 0 ? 1 : 0));
    rdb_raw(f, lp.data, lp.len);
    buf_putc(f, (char)0xFF);
    uint64_t crc = crc64(0, f->data, f->len);
    for (int i = 0; i < 8; i++)
        buf_putc(f, (char)(crc >> (8 * i)));
    buf_deinit(&lp);
}

/* Listpack hashes are checked and decoded in one pass and built pointing into the blob:
 * every field, value and deadline arrives, a field past its deadline is dropped, a repeated
 * field or a damaged entry is refused, and the hash's last deadline is right. */
TEST(listpack_hashes_decoded_in_one_pass) {
    for (int variant = 0; variant < 5; variant++) {
        size_t n = variant == 3 ? 5 : 40;
        buf f;
        listpack_ex_file(&f, variant, n);
        reset_dbs();
        load_result r = load(f.data, f.len, 0, default_opts(2000), 0);
        buf_deinit(&f);
        if (variant == 1 || variant == 3) {
            ASSERT_EQ(RDB_ECORRUPT, r.rc);
            if (!strstr(r.err, "duplicate")) TEST_FAIL("variant %d: %s", variant, r.err);
            continue;
        }
        if (variant == 2) {
            ASSERT_EQ(RDB_ECORRUPT, r.rc);
            if (!strstr(r.err, "integrity")) TEST_FAIL("message: %s", r.err);
            continue;
        }
        if (r.rc != RDB_DONE) TEST_FAIL("variant %d: rc %d: %s", variant, r.rc, r.err);
        hash *h = (hash *)db_find_raw(db_get(0), slice_of("lh"))->val;
        ASSERT_EQ(variant == 4 ? n : n - 1, hash_len(h, 0));
        for (size_t i = 0; i < n; i++) {
            char name[40], val[40];
            int fl = i % 4 == 2   ? snprintf(name, sizeof(name), "%zu", 1000 + i)
                     : i % 3 == 0 ? snprintf(name, sizeof(name), "field-number-%zu", i)
                                  : snprintf(name, sizeof(name), "f%zu", i);
            int vl = i % 2 ? snprintf(val, sizeof(val), "%zu", i * 100000)
                           : snprintf(val, sizeof(val), "v%zu", i);
            hash_entry he;
            int rc = hash_get(h, 0, (slice){name, (size_t)fl}, &he);
            if (variant != 4 && i == 1) {
                ASSERT_EQ(HASH_ENOTFOUND, rc);
                continue;
            }
            ASSERT_EQ(HASH_OK, rc);
            ASSERT_MEM_EQ(val, (size_t)vl, he.value.p, he.value.len);
            int64_t want = variant != 4 && i % 5 == 0 ? HASH_NO_TTL : 4102444800000LL + (int64_t)i;
            ASSERT(he.deadline == want);
        }
        int64_t last = 4102444800000LL + (int64_t)n - 1;
        ASSERT(hash_death(h) == (variant == 4 ? last : HASH_NO_TTL));
        ASSERT(hash_next_deadline(h) == 4102444800000LL + (variant == 4 ? 0 : 2));
    }
}

/* Type 25 as Redis lays it out: triplets ordered by deadline, earliest first, fields
 * without a TTL last, fields sharing a deadline in storage order, the header's minimum the
 * first deadline. The deadlines are given out of order (each one to two fields), with
 * every seventh field left without one, in hashes of every size the sort handles
 * differently (insertion for a few, merging above that). */
TEST(listpack_ex_written_in_deadline_order) {
    static const size_t sizes[] = {1, 2, 9, 16, 17, 40, 100, 128};
    int64_t base = 4102444800000LL;
    hash_limits lim = HASH_LIMITS_DEFAULT;
    for (size_t si = 0; si < sizeof(sizes) / sizeof(sizes[0]); si++) {
        size_t n = sizes[si];
        hash *h = hash_new();
        for (size_t i = 0; i < n; i++) {
            char f[32];
            int fl = snprintf(f, sizeof(f), "f%zu", i);
            int64_t dl = base + (int64_t)((i * 37) % 50) * 10;
            hash_set(&h, &lim, 0, (slice){f, (size_t)fl}, slice_of("v"),
                     i % 7 == 3 ? HASH_TTL_CLEAR : HASH_TTL_SET, dl);
        }
        ASSERT(hash_encoding(h) == ENC_LISTPACKEX);
        /* The expected order: each deadline from the smallest up, then none; within one,
         * the storage order. */
        hash_entry st[128];
        size_t ns = 0;
        hash_iter it;
        hash_iter_init(&it, h, 0);
        while (hash_iter_next(&it, &st[ns]))
            ns++;
        hash_iter_deinit(&it);
        ASSERT_EQ(n, ns);
        hash_entry want[128];
        size_t nw = 0;
        for (int64_t d = base; d <= base + 500; d++)
            for (size_t i = 0; i < ns; i++)
                if (st[i].deadline == (d == base + 500 ? HASH_NO_TTL : d)) want[nw++] = st[i];
        ASSERT_EQ(n, nw);
        buf out;
        buf_init(&out);
        rdb_enc e;
        rdb_enc_init(&e, sink_buf, &out, 0, 0);
        ASSERT_EQ(1, rdb_enc_key(&e, slice_of("k"), (obj *)h, 0, 0));
        ASSERT_EQ(0, rdb_enc_flush(&e));
        rdb_enc_deinit(&e);
        /* type, key "k", the minimum, the listpack as a plain string (1 or 2 length bytes) */
        const unsigned char *p = (const unsigned char *)out.data;
        ASSERT_EQ(RDB_TYPE_HASH_LISTPACK_EX, p[0]);
        ASSERT(p[1] == 1 && p[2] == 'k');
        int64_t min = 0;
        for (int i = 7; i >= 0; i--)
            min = (int64_t)((uint64_t)min << 8 | p[3 + i]);
        ASSERT(min == want[0].deadline);
        size_t at = 11, lplen = p[at] & 63;
        if ((p[at] >> 6) == 1) lplen = (lplen << 8) | p[++at];
        at++;
        ASSERT_EQ(out.len, at + lplen);
        const unsigned char *lp = p + at;
        ASSERT_EQ(3 * (long)n, rdb_lp_validate(lp, lplen));
        size_t pos = 0;
        for (size_t i = 0; i < n; i++) {
            rdb_elem f, v, d;
            ASSERT(rdb_lp_next(lp, &pos, &f) && rdb_lp_next(lp, &pos, &v) &&
                   rdb_lp_next(lp, &pos, &d));
            ASSERT_MEM_EQ(want[i].field.p, want[i].field.len, f.s, f.len);
            ASSERT(d.s == NULL && d.v == want[i].deadline);
        }
        buf_deinit(&out);
        obj_free((obj *)h);
    }
}

/* Valkey 9's files: "VALKEY080", its own hash with field expiry (type 22: field, value,
 * then the deadline as 8 bytes little endian, -1 for none), and its path hash (type 23),
 * which Mayfly lacks. Valkey's layout from its rdb.c (RDB_TYPE_HASH_2). */
static void put_le64(buf *b, int64_t v) {
    for (int i = 0; i < 8; i++)
        buf_putc(b, (char)((uint64_t)v >> (8 * i)));
}

static void valkey_file(buf *f, int type) {
    buf_init(f);
    buf_append(f, "VALKEY080", 9);
    buf_putc(f, (char)0xFA); /* AUX valkey-ver 9.0.0 */
    rdb_raw(f, "valkey-ver", 10);
    rdb_raw(f, "9.0.0", 5);
    buf_append(f, "\xfe\x00", 2);
    buf_putc(f, (char)type);
    rdb_raw(f, "vk", 2);
    buf_putc(f, 3);
    rdb_raw(f, "never", 5);
    rdb_raw(f, "a", 1);
    put_le64(f, -1);
    rdb_raw(f, "later", 5);
    rdb_raw(f, "b", 1);
    put_le64(f, 4102444800000LL);
    rdb_raw(f, "gone", 4);
    rdb_raw(f, "c", 1);
    put_le64(f, 0);
    buf_putc(f, (char)0xFF);
    uint64_t crc = crc64(0, f->data, f->len);
    put_le64(f, (int64_t)crc);
}

TEST(valkey9_files) {
    buf f;
    valkey_file(&f, 22);
    reset_dbs();
    load_result r = load(f.data, f.len, 3, default_opts(0), 0);
    if (r.rc != RDB_DONE) TEST_FAIL("rc %d: %s", r.rc, r.err);
    hash *h = (hash *)db_find_raw(db_get(0), slice_of("vk"))->val;
    ASSERT_EQ(2, hash_len(h, 0));
    hash_entry he;
    ASSERT_EQ(HASH_OK, hash_get(h, 0, slice_of("never"), &he));
    ASSERT_EQ(HASH_NO_TTL, he.deadline);
    ASSERT_EQ(HASH_OK, hash_get(h, 0, slice_of("later"), &he));
    ASSERT(he.deadline == 4102444800000LL);
    ASSERT_EQ(HASH_ENOTFOUND, hash_get(h, 0, slice_of("gone"), &he));
    buf_deinit(&f);
    /* Type 23 in a Valkey file is its path hash: refused, named. */
    valkey_file(&f, 23);
    reset_dbs();
    r = load(f.data, f.len, 0, default_opts(0), 0);
    ASSERT_EQ(RDB_ETYPE, r.rc);
    if (!strstr(r.err, "path-hash")) TEST_FAIL("message: %s", r.err);
    buf_deinit(&f);
    /* A "REDIS" file of a version in Valkey's range is not Valkey's: refused. */
    reset_dbs();
    r = load("REDIS0080", 9, 0, default_opts(0), 0);
    ASSERT_EQ(RDB_EVERSION, r.rc);
}

int main(void) {
    db_init_all(16);
    RUN(crc64_check_value);
    RUN(crc64_folding_matches_tables);
    RUN(lzf_decompress_matches_liblzf);
    RUN(listpack_round_trip);
    RUN(fixtures_load_exactly);
    RUN(other_types_are_refused_naming_db_key_and_type);
    RUN(own_dump_round_trips_exactly);
    RUN(due_fields_and_keys_are_left_out);
    RUN(damage_is_refused);
    RUN(redis_dump_payloads_restore_exactly);
    RUN(older_versions_ziplist_zipmap_and_seconds_ttls);
    RUN(an_over_long_key_is_refused_by_its_stated_length);
    RUN(big_hash_streamed_and_duplicates_refused);
    RUN(listpack_hashes_decoded_in_one_pass);
    RUN(listpack_ex_written_in_deadline_order);
    RUN(valkey9_files);
    db_free_all();
    return test_report();
}
