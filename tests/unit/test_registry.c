/* Unit tests for the registrations server.c makes: a command family added with
 * cmd_family_add is looked up, counted, listed and dispatched like the built-in ones, and
 * a clashing family is refused whole; INFO sections come out in their order keys, and one
 * added under an existing name replaces it in place. */
#include "mayfly/cmd/cmd.h"
#include "mayfly/cmd/info.h"
#include "mayfly/db/db.h"
#include "mayfly/server.h"
#include "unit/test.h"

#include <stdio.h>
#include <string.h>

static void cmd_hello_world(cmd_ctx *c) {
    reply_simple(c, "WORLD");
}

static const cmd_spec extra_family[] = {
    {"hello-world", cmd_hello_world, 1, CMD_FAST, 0, 0, 0, "server", "8.0.0", "O(1)",
     "Answers WORLD.", "", NULL, "@fast"},
    {0},
};

static const cmd_spec clashing_family[] = {
    {"new-one", cmd_hello_world, 1, CMD_FAST, 0, 0, 0, "server", "8.0.0", "O(1)", "New.", "", NULL,
     "@fast"},
    {"get", cmd_hello_world, 1, CMD_FAST, 0, 0, 0, "server", "8.0.0", "O(1)", "Clash.", "", NULL,
     "@fast"},
    {0},
};

/* Names past 16 bytes, alike up to their last byte, and one with '_' where '\x7f' lowers
 * to nothing: the lookup must tell them apart. */
static const cmd_spec long_family[] = {
    {"long-name-sixteen-a", cmd_hello_world, 1, CMD_FAST, 0, 0, 0, "server", "8.0.0", "O(1)", "A.",
     "", NULL, "@fast"},
    {"long-name-sixteen-b", cmd_hello_world, 1, CMD_FAST, 0, 0, 0, "server", "8.0.0", "O(1)", "B.",
     "", NULL, "@fast"},
    {"under_score_name_x", cmd_hello_world, 1, CMD_FAST, 0, 0, 0, "server", "8.0.0", "O(1)", "C.",
     "", NULL, "@fast"},
    {0},
};

static int seen_hello;
static void visit(const cmd_spec *s, void *ctx) {
    (void)ctx;
    if (strcmp(s->name, "hello-world") == 0) seen_hello++;
}

TEST(families_added_at_run_time_dispatch) {
    size_t before = cmd_count();
    ASSERT_EQ(0, cmd_family_add(extra_family));
    ASSERT_EQ(before + 1, cmd_count());
    ASSERT(cmd_lookup(slice_of("HELLO-WORLD")) == &extra_family[0]);
    seen_hello = 0;
    cmd_foreach(visit, NULL);
    ASSERT_EQ(1, seen_hello);
    session *s = session_new(NULL, NULL);
    slice argv[] = {slice_of("hello-WORLD")};
    cmd_dispatch(s, 1, argv);
    ASSERT_MEM_EQ("+WORLD\r\n", 8, s->out.data, s->out.len);
    session_free(s);
    ASSERT_EQ(-1, cmd_family_add(extra_family)); /* already there */
    ASSERT_EQ(-1, cmd_family_add(clashing_family));
    ASSERT(cmd_lookup(slice_of("new-one")) == NULL); /* nothing of a refused family */
    ASSERT_EQ(before + 1, cmd_count());
}

static const char *lookup_names[64];
static size_t nlookup_names;
static void collect(const cmd_spec *s, void *ctx) {
    (void)ctx;
    if (nlookup_names < 64 && strlen(s->name) > 12) lookup_names[nlookup_names++] = s->name;
}

/* The lookup compares the first 16 bytes a word at a time, lower-cased in bulk: every name
 * is found in any case; a byte off anywhere (also past byte 16), a non-letter that differs
 * from a letter only in bit 0x20, a prefix or an extension is not. */
TEST(lookup_is_exact_and_case_blind) {
    ASSERT_EQ(0, cmd_family_add(long_family));
    cmd_foreach(collect, NULL);
    ASSERT(nlookup_names > 3);
    for (size_t i = 0; i < nlookup_names; i++) {
        const char *name = lookup_names[i];
        size_t n = strlen(name);
        const cmd_spec *want = cmd_lookup(slice_of(name));
        ASSERT(want != NULL && strcmp(want->name, name) == 0);
        char v[80];
        for (size_t j = 0; j < n; j++) /* upper case */
            v[j] = (char)(name[j] >= 'a' && name[j] <= 'z' ? name[j] - 32 : name[j]);
        ASSERT(cmd_lookup((slice){v, n}) == want);
        for (size_t j = 0; j < n; j++) {
            char keep = v[j];
            v[j] = (char)(keep ^ 0x01);
            ASSERT(cmd_lookup((slice){v, n}) != want);
            v[j] = (char)(keep ^ 0x20);
            if ((keep | 0x20) < 'a' || (keep | 0x20) > 'z')
                ASSERT(cmd_lookup((slice){v, n}) != want);
            v[j] = keep;
        }
        ASSERT(cmd_lookup((slice){v, n - 1}) != want);
        v[n] = 'x';
        ASSERT(cmd_lookup((slice){v, n + 1}) == NULL);
    }
    ASSERT(cmd_lookup(slice_of("set")) != NULL);
    ASSERT(cmd_lookup(slice_of("sEt")) == cmd_lookup(slice_of("SET")));
    ASSERT(cmd_lookup(slice_of("se")) == NULL);
    ASSERT(cmd_lookup(slice_of("s\x7f"
                               "t")) == NULL);
    ASSERT(cmd_lookup((slice){"set\0", 4}) == NULL);
}

static void write_alpha(buf *b, int64_t now_ms) {
    (void)now_ms;
    buf_puts(b, "# Alpha\r\na:1\r\n");
}
static void write_omega(buf *b, int64_t now_ms) {
    buf_printf(b, "# Omega\r\nnow:%lld\r\n", (long long)now_ms);
}
static void write_cluster(buf *b, int64_t now_ms) {
    (void)now_ms;
    buf_puts(b, "# Cluster\r\ncluster_enabled:1\r\n");
}

static const char *info_of(const char *names) {
    static char out[8192];
    char copy[256];
    slice argv[8];
    int n = 0;
    snprintf(copy, sizeof(copy), "%s", names);
    for (char *save = NULL, *w = strtok_r(copy, " ", &save); w && n < 8;
         w = strtok_r(NULL, " ", &save))
        argv[n++] = slice_of(w);
    buf b;
    buf_init(&b);
    info_build(&b, argv, n, 77);
    snprintf(out, sizeof(out), "%.*s", (int)b.len, b.data ? b.data : "");
    buf_deinit(&b);
    return out;
}

TEST(info_sections_in_order_and_replaced_by_name) {
    static const info_section alpha = {"alpha", INFO_SERVER + 1, 0, write_alpha};
    static const info_section omega = {"omega", INFO_KEYSPACE + 1, 0, write_omega};
    ASSERT_EQ(0, info_section_add(&omega));
    ASSERT_EQ(0, info_section_add(&alpha));
    ASSERT_STR_EQ("# Alpha\r\na:1\r\n\r\n# Omega\r\nnow:77\r\n", info_of("OMEGA alpha"));
    const char *all = info_of("all");
    const char *a = strstr(all, "# Alpha"), *server = strstr(all, "# Server"),
               *clients = strstr(all, "# Clients"), *o = strstr(all, "# Omega"),
               *keyspace = strstr(all, "# Keyspace");
    ASSERT(server && a && clients && keyspace && o);
    ASSERT(server < a && a < clients && keyspace < o);
    ASSERT(strstr(info_of(""), "# Alpha") == NULL); /* not in the default set */
    /* A subsystem replaces the placeholder of its section. */
    ASSERT_STR_EQ("# Cluster\r\ncluster_enabled:0\r\n", info_of("cluster"));
    static const info_section cluster = {"cluster", INFO_CLUSTER, 1, write_cluster};
    ASSERT_EQ(0, info_section_add(&cluster));
    ASSERT_STR_EQ("# Cluster\r\ncluster_enabled:1\r\n", info_of("cluster"));
    ASSERT(strstr(info_of(""), "cluster_enabled:1") != NULL);
}

int main(void) {
    server_init();
    db_init_all(config.databases);
    RUN(families_added_at_run_time_dispatch);
    RUN(info_sections_in_order_and_replaced_by_name);
    RUN(lookup_is_exact_and_case_blind);
    db_free_all();
    return test_report();
}
