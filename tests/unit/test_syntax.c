/* Unit tests for cmd/syntax.c: each syntax string is parsed and its argument tree rendered
 * compactly as name:type, then [TOKEN] if it has a token, then the flags (? optional,
 * + multiple, ^ multiple_token, #N key_spec_index), then (members) for oneof and block. */
#include "cmd/syntax_int.h"
#include "unit/test.h"

#include <stdio.h>
#include <string.h>

static void render(const syn_arg *a, size_t n, char *out, size_t cap) {
    size_t len = strlen(out);
    for (size_t i = 0; i < n && len < cap; i++) {
        const syn_arg *x = &a[i];
        len += (size_t)snprintf(out + len, cap - len, "%s%s:%s", i ? " " : "", x->name,
                                syntax_type_name(x->type));
        if (len >= cap) return;
        if (x->token) len += (size_t)snprintf(out + len, cap - len, "[%s]", x->token);
        if (len >= cap) return;
        if (x->flags & SYN_OPTIONAL) out[len++] = '?';
        if (len < cap && (x->flags & SYN_MULTIPLE)) out[len++] = '+';
        if (len < cap && (x->flags & SYN_MULTIPLE_TOKEN)) out[len++] = '^';
        out[len < cap ? len : cap - 1] = '\0';
        if (x->key_spec_index >= 0)
            len += (size_t)snprintf(out + len, cap - len, "#%d", x->key_spec_index);
        if (len >= cap) return;
        if (x->nargs) {
            len += (size_t)snprintf(out + len, cap - len, "(");
            if (len >= cap) return;
            render(x->args, x->nargs, out, cap);
            len = strlen(out);
            len += (size_t)snprintf(out + len, cap - len, ")");
        }
    }
}

/* Parses text for a command named cmd (with keys) and returns the rendering. */
static const char *tree(const char *cmd, const char *text) {
    static char out[4096];
    char err[128];
    syn_arg *a;
    size_t n;
    syntax_ctx ctx = {cmd, 1};
    out[0] = '\0';
    if (syntax_parse(text, &ctx, &a, &n, err, sizeof(err)) < 0) {
        snprintf(out, sizeof(out), "ERROR %s", err);
        return out;
    }
    render(a, n, out, sizeof(out));
    syntax_free(a, n);
    return out;
}

TEST(empty) {
    ASSERT_STR_EQ("", tree("ping", ""));
    ASSERT_STR_EQ("", tree("ping", NULL));
}

TEST(words_and_types) {
    ASSERT_STR_EQ("key:key#0", tree("get", "key"));
    ASSERT_STR_EQ("key:key#0 value:string", tree("set", "key value"));
    ASSERT_STR_EQ("key:key#0 field:string increment:integer",
                  tree("hincrby", "key field increment"));
    ASSERT_STR_EQ("key:key#0 field:string increment:double",
                  tree("hincrbyfloat", "key field increment"));
    ASSERT_STR_EQ("pattern:pattern", tree("keys", "pattern"));
    ASSERT_STR_EQ("key:key#0 unix-time-seconds:unix-time",
                  tree("expireat", "key unix-time-seconds"));
    syntax_ctx nokeys = {"select", 0};
    syn_arg *a;
    size_t n;
    char err[64];
    ASSERT_EQ(0, syntax_parse("key", &nokeys, &a, &n, err, sizeof(err)));
    ASSERT_EQ(1, n);
    ASSERT_EQ(SYN_STRING, a[0].type);
    ASSERT_EQ(-1, a[0].key_spec_index);
    syntax_free(a, n);
}

TEST(optional_and_repeat) {
    ASSERT_STR_EQ("message:string?", tree("ping", "[message]"));
    ASSERT_STR_EQ("section:string?+", tree("info", "[section [section ...]]"));
    ASSERT_STR_EQ("key:key+#0", tree("del", "key [key ...]"));
    ASSERT_STR_EQ("key:key#0 data:block+(field:string value:string)",
                  tree("hset", "key field value [field value ...]"));
    ASSERT_STR_EQ("parameter_value:block+(parameter:string value:string)",
                  tree("config|set", "parameter value [parameter value ...]"));
    ASSERT_STR_EQ("command-name:string?+", tree("command|docs", "[command-name ...]"));
}

TEST(tokens) {
    ASSERT_STR_EQ("flush-type:oneof?(async:pure-token[ASYNC] sync:pure-token[SYNC])",
                  tree("flushdb", "[ASYNC|SYNC]"));
    ASSERT_STR_EQ("on-off-skip:oneof(on:pure-token[ON] off:pure-token[OFF] skip:pure-token[SKIP])",
                  tree("client|reply", "<ON|OFF|SKIP>"));
    ASSERT_STR_EQ("enabled:oneof(on:pure-token[ON] off:pure-token[OFF])",
                  tree("client|no-evict", "<enabled: ON | OFF>"));
    ASSERT_STR_EQ("count:integer[COUNT]?", tree("scan", "[COUNT count]"));
    ASSERT_STR_EQ("auth:block[AUTH]?(username:string password:string)",
                  tree("hello", "[AUTH username password]"));
    ASSERT_STR_EQ("filter:string[FILTER]?+^", tree("x", "[FILTER filter [FILTER filter ...]]"));
    ASSERT_STR_EQ("filterby:oneof[FILTERBY]?(module-name:string[MODULE] category:string[ACLCAT] "
                  "pattern:pattern[PATTERN])",
                  tree("command|list", "[FILTERBY <MODULE module-name|ACLCAT category|PATTERN "
                                       "pattern>]"));
}

TEST(hsetex_like_redis8) {
    const char *s =
        "key [FNX|FXX] [EX seconds|PX milliseconds|EXAT unix-time-seconds|PXAT "
        "unix-time-milliseconds|KEEPTTL] FIELDS numfields field value [field value ...]";
    ASSERT_STR_EQ("key:key#0 condition:oneof?(fnx:pure-token[FNX] fxx:pure-token[FXX]) "
                  "expiration:oneof?(seconds:integer[EX] milliseconds:integer[PX] "
                  "unix-time-seconds:unix-time[EXAT] unix-time-milliseconds:unix-time[PXAT] "
                  "keepttl:pure-token[KEEPTTL]) "
                  "fields:block[FIELDS](numfields:integer data:block+(field:string value:string))",
                  tree("hsetex", s));
}

TEST(hgetex_fields) {
    ASSERT_STR_EQ("key:key#0 expiration:oneof?(seconds:integer[EX] persist:pure-token[PERSIST]) "
                  "fields:block[FIELDS](numfields:integer field:string+)",
                  tree("hgetex", "key [EX seconds | PERSIST] FIELDS numfields field [field ...]"));
}

TEST(labels_and_nesting) {
    ASSERT_STR_EQ("arguments:block?(protover:integer auth:block[AUTH]?(username:string "
                  "password:string) clientname:string[SETNAME]?)",
                  tree("hello", "[arguments: protover [AUTH username password] "
                                "[SETNAME clientname]]"));
    ASSERT_STR_EQ("attr:oneof(libname:string[LIB-NAME] libver:string[LIB-VER])",
                  tree("client|setinfo", "<attr: LIB-NAME libname|LIB-VER libver>"));
}

TEST(alternative_labels) {
    ASSERT_STR_EQ("filter:oneof(ip:port:string new-format:block(client-id:integer[ID]? "
                  "skipme:oneof[SKIPME]?(yes:pure-token[YES] no:pure-token[NO])))",
                  tree("client|kill", "<filter: ip:port | new-format: [ID client-id] "
                                      "[SKIPME <YES|NO>]>"));
}

TEST(errors) {
    ASSERT_STR_EQ("ERROR unclosed bracket", tree("x", "[a"));
    ASSERT_STR_EQ("ERROR mismatched bracket", tree("x", "a]"));
    ASSERT_STR_EQ("ERROR mismatched bracket", tree("x", "[a>"));
    ASSERT_STR_EQ("ERROR empty group or alternative", tree("x", "[a|]"));
    ASSERT_STR_EQ("ERROR '|' outside a group", tree("x", "a|b"));
    ASSERT_STR_EQ("ERROR groups nested too deeply",
                  tree("x", "[[[[[[[[[[[[[[[[[[[[a]]]]]]]]]]]]]]]]]]]"));
}

int main(void) {
    RUN(empty);
    RUN(words_and_types);
    RUN(optional_and_repeat);
    RUN(tokens);
    RUN(hsetex_like_redis8);
    RUN(hgetex_fields);
    RUN(labels_and_nesting);
    RUN(alternative_labels);
    RUN(errors);
    return test_report();
}
