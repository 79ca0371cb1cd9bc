/* Unit tests for the directive engine (config.h): a subsystem's table registered with
 * config_add is driven like the built-in ones (defaults, arguments, CONFIG GET / SET);
 * a real row replaces a compatibility row of the same name; duplicates are refused; the
 * stored and apply hooks normalise, put into effect, or refuse and roll back; repeated
 * CONFIG_LINES_ADD lines add up; hidden rows show only by name. */
#include "mayfly/config.h"
#include "mayfly/server.h"
#include "mayfly/util/mem.h"
#include "unit/test.h"

#include <limits.h>
#include <stdio.h>
#include <string.h>

static int level = 0;
static long long big = 0;
static int flag = 0;
static char *word = NULL;
static int mode = 0;
static char list[256];
static int applied, refuse_next;

static int parse_list(const char *v, const char **err) {
    if (strchr(v, '!')) {
        *err = "no bangs";
        return -1;
    }
    snprintf(list, sizeof(list), "%s", v);
    return 0;
}
static void print_list(buf *out) {
    buf_puts(out, list);
}
static void keep_even(void) {
    level &= ~1;
}
static int apply_level(const char **err) {
    applied++;
    if (refuse_next) {
        *err = "refused by the subsystem";
        return -1;
    }
    return 0;
}

static const char *const modes[] = {"off", "on", "auto", NULL};
static const char *const modes_shown[] = {"auto", "on", "off", NULL};

static const config_row test_rows[] = {
    {.name = "test-level",
     .kind = CONFIG_INT,
     .ptr = &level,
     .min = 0,
     .max = 100,
     .def = "10",
     .stored = keep_even,
     .apply = apply_level},
    CONFIG_MEM_ROW("test-big", &big, 0, LLONG_MAX, "1kb"),
    CONFIG_BOOL_ROW("test-flag", &flag, "yes"),
    {.name = "test-word",
     .alias = "test-alias",
     .kind = CONFIG_STR,
     .flags = CONFIG_EMPTY_NULL,
     .ptr = &word,
     .def = "hello"},
    {.name = "test-mode",
     .kind = CONFIG_ENUM,
     .ptr = &mode,
     .names = modes,
     .shown = modes_shown,
     .def = "auto"},
    {.name = "test-list",
     .kind = CONFIG_SPECIAL,
     .flags = CONFIG_LINES_ADD,
     .def = "a b",
     .parse = parse_list,
     .print = print_list},
    {.name = "test-secret-knob",
     .kind = CONFIG_INT,
     .flags = CONFIG_HIDDEN,
     .ptr = &(int){0},
     .max = 9,
     .def = "3"},
    {0},
};

static const char *value(const char *name) {
    static char out[256];
    buf b;
    buf_init(&b);
    if (config_value(name, &b) < 0) return "(unknown)";
    snprintf(out, sizeof(out), "%.*s", (int)b.len, b.data ? b.data : "");
    buf_deinit(&b);
    return out;
}

static const char *set(const char *name, const char *v) {
    const char *err = NULL;
    return config_set(name, v, strlen(v), &err) == 0 ? "ok" : err;
}

TEST(a_registered_table_gets_defaults_and_is_settable) {
    ASSERT_EQ(0, config_add(test_rows)); /* after config_init: defaults at once */
    ASSERT_EQ(10, level);
    ASSERT_EQ(1024, big);
    ASSERT_EQ(1, flag);
    ASSERT_STR_EQ("hello", word);
    ASSERT_STR_EQ("auto", value("test-mode"));
    ASSERT_STR_EQ("a b", value("TEST-LIST"));
    ASSERT_STR_EQ("ok", set("test-level", "43")); /* stored keeps it even */
    ASSERT_EQ(42, level);
    ASSERT_EQ(1, applied);
    ASSERT_STR_EQ("argument must be between 0 and 100 inclusive", set("test-level", "101"));
    ASSERT_STR_EQ("argument couldn't be parsed into an integer", set("test-level", "x"));
    ASSERT_STR_EQ("ok", set("test-big", "2mb"));
    ASSERT_EQ(2 * 1024 * 1024, big);
    ASSERT_STR_EQ("argument must be a memory value", set("test-big", "2xb"));
    ASSERT_STR_EQ("argument must be 'yes' or 'no'", set("test-flag", "maybe"));
    ASSERT_STR_EQ("ok", set("test-alias", ""));
    ASSERT(word == NULL); /* CONFIG_EMPTY_NULL */
    ASSERT_STR_EQ("argument(s) must be one of the following: auto, on, off",
                  set("test-mode", "sometimes"));
    ASSERT_STR_EQ("no bangs", set("test-list", "x!"));
    ASSERT_STR_EQ("test-word", config_canonical("TEST-ALIAS"));
}

TEST(apply_can_refuse_and_the_old_value_returns) {
    level = 0;
    ASSERT_STR_EQ("ok", set("test-level", "20"));
    refuse_next = 1;
    ASSERT_STR_EQ("refused by the subsystem", set("test-level", "30"));
    refuse_next = 0;
    ASSERT_EQ(20, level);
}

TEST(duplicates_are_refused_and_compat_rows_replaced) {
    static int other;
    static const config_row dup[] = {CONFIG_BOOL_ROW("test-flag", &other, "no"), {0}};
    ASSERT_EQ(-1, config_add(dup));
    static const config_row dup_alias[] = {CONFIG_BOOL_ROW("TEST-ALIAS", &other, "no"), {0}};
    ASSERT_EQ(-1, config_add(dup_alias));
    /* "activerehashing" is accepted for compatibility by config.c: a real row takes over. */
    ASSERT_STR_EQ("yes", value("activerehashing"));
    static int rehash = -1;
    static const config_row real[] = {CONFIG_BOOL_ROW("activerehashing", &rehash, "no"), {0}};
    ASSERT_EQ(0, config_add(real));
    ASSERT_EQ(0, rehash);
    ASSERT_STR_EQ("ok", set("activerehashing", "yes"));
    ASSERT_EQ(1, rehash);
    ASSERT_EQ(-1, config_add(real)); /* no longer a compatibility row */
}

TEST(arguments_and_repeated_lines) {
    char *argv[] = {"--test-list", "c", "d", "--test-list", "e", "--test-mode", "on"};
    ASSERT_EQ(0, config_load_args(7, argv));
    ASSERT_STR_EQ("c d e", value("test-list")); /* the first replaces, the next adds */
    ASSERT_EQ(1, mode);
}

TEST(config_get_globs_and_hidden_rows) {
    char **names, **values;
    size_t n = config_get("test-f*", 7, &names, &values);
    ASSERT_EQ(1, n);
    ASSERT_STR_EQ("test-flag", names[0]);
    for (size_t i = 0; i < n; i++) {
        mem_free(names[i]);
        mem_free(values[i]);
    }
    mem_free(names);
    mem_free(values);
    n = config_get("test-secret-*", 13, &names, &values);
    ASSERT_EQ(0, n); /* hidden: only by its exact name */
    mem_free(names);
    mem_free(values);
    n = config_get("TEST-SECRET-KNOB", 16, &names, &values);
    ASSERT_EQ(1, n);
    ASSERT_STR_EQ("3", values[0]);
    mem_free(names[0]);
    mem_free(values[0]);
    mem_free(names);
    mem_free(values);
}

int main(void) {
    server_init();
    RUN(a_registered_table_gets_defaults_and_is_settable);
    RUN(apply_can_refuse_and_the_old_value_returns);
    RUN(duplicates_are_refused_and_compat_rows_replaced);
    RUN(arguments_and_repeated_lines);
    RUN(config_get_globs_and_hidden_rows);
    return test_report();
}
