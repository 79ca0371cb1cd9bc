/* Unit tests for the command table: every row of every family (including rows other
 * branches add later) must have the documentary fields COMMAND DOCS prints and a syntax
 * string that cmd/syntax.c accepts, and names must be lower case and unique. */
#include "cmd/syntax_int.h"
#include "mayfly/cmd/cmd.h"
#include "mayfly/server.h"
#include "unit/test.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

static int bad_rows;

/* Redis's own table states no complexity for these (COMMAND DOCS has no such field). */
static int no_complexity_in_redis(const char *name) {
    return strcmp(name, "psync") == 0 || strcmp(name, "sync") == 0;
}

static void check_row(const cmd_spec *s, const cmd_spec *parent) {
    char name[160];
    snprintf(name, sizeof(name), "%s%s%s", parent ? parent->name : "", parent ? "|" : "", s->name);
    const char *why = NULL;
    if (s->arity == 0)
        why = "arity 0";
    else if (!s->summary || !*s->summary)
        why = "no summary";
    else if (!s->since || !*s->since)
        why = "no since";
    else if ((!s->complexity && !no_complexity_in_redis(name)) ||
             (s->complexity && !*s->complexity))
        why = "no complexity";
    else if (!s->group && !parent)
        why = "no group";
    else if (!s->acl || s->acl[0] != '@')
        why = "ACL categories must start with '@'";
    else if (!s->fn && !s->subcmds)
        why = "no handler and no subcommands";
    for (const char *p = s->name; !why && *p; p++)
        if (isupper((unsigned char)*p)) why = "name not lower case";
    char err[128];
    syn_arg *args;
    size_t n;
    syntax_ctx ctx = {name, s->first_key > 0};
    if (!why && syntax_parse(s->syntax, &ctx, &args, &n, err, sizeof(err)) < 0)
        why = err;
    else if (!why)
        syntax_free(args, n);
    if (why) {
        fprintf(stderr, "bad row '%s': %s\n", name, why);
        bad_rows++;
    }
}

static void visit(const cmd_spec *s, void *ctx) {
    (void)ctx;
    check_row(s, NULL);
    for (const cmd_spec *sub = s->subcmds; sub && sub->name; sub++)
        check_row(sub, s);
}

TEST(every_row_is_documented) {
    bad_rows = 0;
    cmd_foreach(visit, NULL);
    ASSERT_EQ(0, bad_rows);
    ASSERT(cmd_count() > 10);
}

TEST(lookup_ignores_case_and_finds_subcommands) {
    const cmd_spec *c = cmd_lookup(slice_of("CoMmAnD"));
    ASSERT(c != NULL);
    ASSERT_STR_EQ("command", c->name);
    const cmd_spec *d = cmd_lookup_sub(c, slice_of("DOCS"));
    ASSERT(d != NULL);
    ASSERT_STR_EQ("docs", d->name);
    ASSERT(cmd_lookup(slice_of("nosuchcommand")) == NULL);
    ASSERT(cmd_lookup_sub(c, slice_of("nosuch")) == NULL);
}

int main(void) {
    server_init();
    RUN(every_row_is_documented);
    RUN(lookup_ignores_case_and_finds_subcommands);
    return test_report();
}
