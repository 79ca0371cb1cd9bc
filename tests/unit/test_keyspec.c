/* Unit tests for key extraction (cmd/keyspec.h) on made-up command rows: ranges with steps
 * and limits, count-prefixed keys (EVAL's shape), keywords searched from either end, more
 * keys than the inline buffer holds, NOT_KEY and INCOMPLETE specs, and the fallback to a
 * getkeys function; then the real table: every command with key positions declares its
 * key flags. */
#include "mayfly/cmd/cmd.h"
#include "mayfly/server.h"
#include "unit/test.h"

#include <stdio.h>
#include <string.h>

/* Extracts the keys of the space-separated line for spec into "pos,pos,..." (or "-1"). */
static const char *keys_of(const cmd_spec *spec, const char *line) {
    static char out[256];
    char copy[256];
    slice argv[64];
    int argc = 0;
    snprintf(copy, sizeof(copy), "%s", line);
    for (char *save = NULL, *w = strtok_r(copy, " ", &save); w && argc < 64;
         w = strtok_r(NULL, " ", &save))
        argv[argc++] = slice_of(w);
    cmd_key_list k;
    cmd_key_list_init(&k);
    int n = cmd_get_keys(spec, argc, argv, &k);
    size_t len = 0;
    out[0] = '\0';
    if (n < 0) snprintf(out, sizeof(out), "-1");
    for (int i = 0; i < n; i++)
        len += (size_t)snprintf(out + len, sizeof(out) - len, "%s%d", i ? "," : "", k.v[i].pos);
    cmd_key_list_deinit(&k);
    return out;
}

TEST(ranges) {
    cmd_spec del = {"del", NULL, -2, 0, 1, -1, 1, .key_flags = KS_RM | KS_DELETE};
    ASSERT_STR_EQ("1,2,3", keys_of(&del, "del a b c"));
    cmd_spec mset = {"mset", NULL, -3, 0, 1, -1, 2, .key_flags = KS_OW | KS_UPDATE};
    ASSERT_STR_EQ("1,3", keys_of(&mset, "mset a 1 b 2"));
    /* Every other argument up to the one before last. */
    static const cmd_key_spec before_last[] = {KS_RANGE(KS_RO, 1, -2, 1), {0}};
    cmd_spec bl = {"bl", NULL, -3, 0, 1, -2, 1, .key_specs = before_last};
    ASSERT_STR_EQ("1,2", keys_of(&bl, "bl a b 5"));
    /* limit 2: the first half of the rest (XREAD STREAMS a b id id). */
    static const cmd_key_spec half[] = {
        {.flags = KS_RO, .begin = KS_BEGIN_INDEX, .index = 1, .lastkey = -1, .step = 1, .limit = 2},
        {0}};
    cmd_spec h = {"h", NULL, -3, 0, 1, -1, 1, .key_specs = half};
    ASSERT_STR_EQ("1,2", keys_of(&h, "h a b 1 2"));
    /* More keys than fit inline. */
    ASSERT_STR_EQ("1,2,3,4,5,6,7,8,9,10,11,12", keys_of(&del, "del a b c d e f g h i j k l"));
}

TEST(keynum_and_keyword) {
    static const cmd_key_spec eval[] = {KS_KEYNUM(KS_RW | KS_ACCESS, 2, 0, 1, 1), {0}};
    cmd_spec e = {"eval", NULL, -3, 0, 0, 0, 0, .key_specs = eval};
    ASSERT_STR_EQ("3,4", keys_of(&e, "eval script 2 a b arg"));
    ASSERT_STR_EQ("-1", keys_of(&e, "eval script 3 a b")); /* count past the end */
    ASSERT_STR_EQ("-1", keys_of(&e, "eval script x a"));   /* not a number */
    ASSERT_STR_EQ("-1", keys_of(&e, "eval script 0"));     /* none: Redis's getkeys decides */
    static const cmd_key_spec store[] = {{.flags = KS_OW | KS_UPDATE,
                                          .begin = KS_BEGIN_KEYWORD,
                                          .keyword = "STORE",
                                          .startfrom = 1,
                                          .lastkey = 0,
                                          .step = 1},
                                         {0}};
    cmd_spec st = {"st", NULL, -2, 0, 0, 0, 0, .key_specs = store};
    ASSERT_STR_EQ("3", keys_of(&st, "st x store dest y"));
    ASSERT_STR_EQ("", keys_of(&st, "st x y")); /* no keyword: no keys from that spec */
    static const cmd_key_spec from_end[] = {{.flags = KS_RO,
                                             .begin = KS_BEGIN_KEYWORD,
                                             .keyword = "KEYS",
                                             .startfrom = -2,
                                             .lastkey = -1,
                                             .step = 1},
                                            {0}};
    cmd_spec fe = {"fe", NULL, -2, 0, 0, 0, 0, .key_specs = from_end};
    ASSERT_STR_EQ("4,5", keys_of(&fe, "fe keys x KEYS a b"));
}

static int getkeys_second(const cmd_spec *cmd, int argc, const slice *argv, cmd_key_list *out) {
    (void)cmd;
    (void)argv;
    if (argc < 3) return 0;
    cmd_key_list_push(out, 2, KS_RO);
    return 1;
}

TEST(flags_not_keys_and_fallbacks) {
    cmd_spec pub = {"pub", NULL, 3, 0, 1, 1, 1, .key_flags = KS_NOT_KEY};
    ASSERT(!cmd_has_keys(&pub));
    ASSERT_STR_EQ("", keys_of(&pub, "pub ch msg"));
    static const cmd_key_spec incomplete[] = {KS_RANGE(KS_RO | KS_INCOMPLETE, 1, 0, 1), {0}};
    cmd_spec inc = {"inc", NULL, -2, 0, 1, 1, 1, .key_specs = incomplete};
    ASSERT_STR_EQ("-1", keys_of(&inc, "inc a"));
    inc.getkeys = getkeys_second; /* an incomplete spec defers to the function */
    ASSERT_STR_EQ("2", keys_of(&inc, "inc a b"));
    static const cmd_key_spec var[] = {KS_RANGE(KS_RW | KS_VARIABLE_FLAGS, 1, 0, 1), {0}};
    cmd_spec v = {"v", NULL, -2, 0, 1, 1, 1, .key_specs = var, .getkeys = getkeys_second};
    ASSERT(cmd_has_keys(&v));
    ASSERT_STR_EQ("2", keys_of(&v, "v a b"));
    cmd_spec none = {"none", NULL, 1, 0, 0, 0, 0};
    ASSERT(!cmd_has_keys(&none));
    ASSERT_STR_EQ("", keys_of(&none, "none"));
    ASSERT_STR_EQ("RO", ks_flag_name(KS_BIT_RO));
    ASSERT_STR_EQ("variable_flags", ks_flag_name(KS_BIT_VARIABLE_FLAGS));
}

static int undeclared;

static void check_declared(const cmd_spec *s, const cmd_spec *parent) {
    if (s->first_key > 0 && !s->key_flags && !s->key_specs) {
        fprintf(stderr, "%s%s%s has key positions but no key flags\n", parent ? parent->name : "",
                parent ? "|" : "", s->name);
        undeclared++;
    }
    /* Several specs may find keys at computed positions (EVAL's numkeys), leaving the
     * legacy range of COMMAND INFO at 0 0 0 as Redis does; one range needs its positions. */
    if (s->first_key <= 0 && s->key_flags && !s->key_specs) {
        fprintf(stderr, "%s has key flags but no key positions\n", s->name);
        undeclared++;
    }
}

static void visit(const cmd_spec *s, void *ctx) {
    (void)ctx;
    check_declared(s, NULL);
    for (const cmd_spec *sub = s->subcmds; sub && sub->name; sub++)
        check_declared(sub, s);
}

TEST(every_keyed_command_declares_its_flags) {
    undeclared = 0;
    cmd_foreach(visit, NULL);
    ASSERT_EQ(0, undeclared);
}

int main(void) {
    server_init();
    RUN(ranges);
    RUN(keynum_and_keyword);
    RUN(flags_not_keys_and_fallbacks);
    RUN(every_keyed_command_declares_its_flags);
    return test_report();
}
