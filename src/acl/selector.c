/* selector: one set of permissions (commands, key patterns, channel patterns) and its
 * rules, as Redis's ACLSetSelector reads them.
 *
 * The command part is a bitmap over the catalog's ids plus the list of rules that built
 * it, kept the way Redis 7.2+ keeps them so that ACL GETUSER and ACL LIST print back what
 * was given: "+@all"/"-@all" reset the list; any other rule first removes the earlier
 * rules it supersedes (the same name, or a subcommand or first-arg of it: "+config"
 * drops "-config|set") and is then appended, lower-cased. */
#include "acl/acl_int.h"
#include "mayfly/util/mem.h"

#include <ctype.h>
#include <string.h>
#include <strings.h>

static int acl_pubsub_default_all; /* acl-pubsub-default allchannels */

void acl_set_pubsub_default(int allchannels) {
    acl_pubsub_default_all = allchannels;
}

int selector_pubsub_default(void) {
    return acl_pubsub_default_all;
}

const char *acl_rule_error_text(int code) {
    switch (code) {
    case RULE_ENOENT:
        return "Unknown command or category name in ACL";
    case RULE_EINVAL:
        return "Syntax error";
    case RULE_EEXIST:
        return "Adding a pattern after the * pattern (or the 'allkeys' flag) is not valid and "
               "does not have any effect. Try 'resetkeys' to start with an empty list of "
               "patterns";
    case RULE_EISDIR:
        return "Adding a pattern after the * pattern (or the 'allchannels' flag) is not valid "
               "and does not have any effect. Try 'resetchannels' to start with an empty list "
               "of channels";
    case RULE_ENODEV:
        return "The password you are trying to remove from the user does not exist";
    case RULE_EBADMSG:
        return "The password hash must be exactly 64 characters and contain only lowercase "
               "hexadecimal characters";
    case RULE_EALREADY:
        return "Duplicate user found. A user can only be defined once in config files";
    case RULE_ECHILD:
        return "Allowing first-arg of a subcommand is not supported";
    default:
        return "Wrong format";
    }
}

void selector_init(acl_selector *s, uint32_t flags) {
    memset(s, 0, sizeof(*s));
    s->flags = flags | (acl_pubsub_default_all ? SEL_ALLCHANNELS : 0);
}

static void clear_patterns(acl_pattern **v, size_t *n) {
    for (size_t i = 0; i < *n; i++)
        mem_free((*v)[i].p);
    mem_free(*v);
    *v = NULL;
    *n = 0;
}

static void clear_firstargs_of(acl_selector *s, size_t i) {
    for (size_t j = 0; j < s->fa[i].n; j++)
        mem_free(s->fa[i].args[j]);
    mem_free(s->fa[i].args);
}

static void clear_firstargs(acl_selector *s) {
    for (size_t i = 0; i < s->nfa; i++)
        clear_firstargs_of(s, i);
    mem_free(s->fa);
    s->fa = NULL;
    s->nfa = 0;
}

static void clear_rules(acl_selector *s) {
    for (size_t i = 0; i < s->nrules; i++)
        mem_free(s->rules[i]);
    mem_free(s->rules);
    s->rules = NULL;
    s->nrules = 0;
}

void selector_deinit(acl_selector *s) {
    clear_patterns(&s->keys, &s->nkeys);
    clear_patterns(&s->chans, &s->nchans);
    clear_firstargs(s);
    clear_rules(s);
}

static acl_pattern *copy_patterns(const acl_pattern *v, size_t n) {
    if (!n) return NULL;
    acl_pattern *out = mem_alloc(sizeof(acl_pattern) * n);
    for (size_t i = 0; i < n; i++) {
        out[i] = v[i];
        out[i].p = mem_strndup(v[i].p, v[i].len);
    }
    return out;
}

void selector_copy(acl_selector *dst, const acl_selector *src) {
    *dst = *src;
    dst->keys = copy_patterns(src->keys, src->nkeys);
    dst->chans = copy_patterns(src->chans, src->nchans);
    dst->fa = src->nfa ? mem_alloc(sizeof(acl_firstargs) * src->nfa) : NULL;
    for (size_t i = 0; i < src->nfa; i++) {
        dst->fa[i].id = src->fa[i].id;
        dst->fa[i].n = src->fa[i].n;
        dst->fa[i].args = mem_alloc(sizeof(char *) * src->fa[i].n);
        for (size_t j = 0; j < src->fa[i].n; j++)
            dst->fa[i].args[j] = mem_strdup(src->fa[i].args[j]);
    }
    dst->rules = src->nrules ? mem_alloc(sizeof(char *) * src->nrules) : NULL;
    for (size_t i = 0; i < src->nrules; i++)
        dst->rules[i] = mem_strdup(src->rules[i]);
}

/* ---- command bits ---- */

static void set_bit(acl_selector *s, int id, int allow) {
    if (allow) {
        s->allowed[id / 64] |= 1ULL << (id % 64);
    } else {
        s->allowed[id / 64] &= ~(1ULL << (id % 64));
        s->flags &= ~SEL_ALLCOMMANDS;
    }
}

static void reset_firstargs_for(acl_selector *s, int id) {
    for (size_t i = 0; i < s->nfa; i++) {
        if (s->fa[i].id != id) continue;
        clear_firstargs_of(s, i);
        s->fa[i] = s->fa[--s->nfa];
        return;
    }
}

static void add_firstarg(acl_selector *s, int id, const char *arg, size_t len) {
    acl_firstargs *f = NULL;
    for (size_t i = 0; i < s->nfa && !f; i++)
        if (s->fa[i].id == id) f = &s->fa[i];
    if (!f) {
        s->fa = mem_realloc(s->fa, sizeof(acl_firstargs) * (s->nfa + 1));
        f = &s->fa[s->nfa++];
        f->id = id;
        f->args = NULL;
        f->n = 0;
    }
    for (size_t i = 0; i < f->n; i++)
        if (strlen(f->args[i]) == len && strncasecmp(f->args[i], arg, len) == 0) return;
    f->args = mem_realloc(f->args, sizeof(char *) * (f->n + 1));
    f->args[f->n++] = mem_strndup(arg, len);
}

/* Allows or denies a command; a container takes its subcommands along. */
static void change_perm(acl_selector *s, int id, int allow) {
    const acl_command *c = acl_cmd(id);
    set_bit(s, id, allow);
    reset_firstargs_for(s, id);
    for (size_t i = 0; i < c->nsubs; i++)
        set_bit(s, c->subs[i], allow);
}

static void change_category(acl_selector *s, int cat, int allow) {
    uint64_t bit = 1ULL << cat;
    int n = acl_command_count();
    for (int id = 0; id < n; id++) {
        const acl_command *c = acl_cmd(id);
        if (c->parent >= 0) continue;
        if (c->cats & bit) change_perm(s, id, allow);
        for (size_t i = 0; i < c->nsubs; i++)
            if (acl_cmd(c->subs[i])->cats & bit) change_perm(s, c->subs[i], allow);
    }
}

/* ---- the retained rule list ---- */

/* Drops the rules that "rule" (lower case, no sign) supersedes, then appends sign+rule. */
static void update_rules(acl_selector *s, const char *rule, size_t len, int allow) {
    char *r = mem_alloc(len + 2);
    r[0] = allow ? '+' : '-';
    for (size_t i = 0; i < len; i++)
        r[i + 1] = (char)tolower((unsigned char)rule[i]);
    r[len + 1] = '\0';
    size_t keep = 0;
    for (size_t i = 0; i < s->nrules; i++) {
        const char *body = s->rules[i] + 1;
        size_t blen = strlen(body);
        int same =
            blen >= len && memcmp(body, r + 1, len) == 0 && (blen == len || body[len] == '|');
        if (same)
            mem_free(s->rules[i]);
        else
            s->rules[keep++] = s->rules[i];
    }
    s->nrules = keep;
    s->rules = mem_realloc(s->rules, sizeof(char *) * (s->nrules + 1));
    s->rules[s->nrules++] = r;
}

/* ---- rules ---- */

/* The word form of a literal of at most 8 bytes, or of a prefix of at most 8 bytes
 * followed by '*' (acl_pattern.fast): the literal's bytes as acl_load_word reads a
 * subject, a mask of them, and the subject lengths that can match. */
static void set_word_form(acl_pattern *k, size_t n, int prefix) {
    k->fast = 0;
    if (n > 8) return;
    k->fast = 1;
    k->word = k->mask = 0;
    for (size_t i = 0; i < n; i++) {
        k->word |= (uint64_t)(unsigned char)k->p[i] << (8 * i);
        k->mask |= (uint64_t)0xff << (8 * i);
    }
    /* As the glob matcher: "*" does not match the empty subject. */
    k->minlen = prefix && n == 0 ? 1 : n;
    k->span = prefix ? SIZE_MAX - k->minlen : 0;
}

void acl_pattern_classify(acl_pattern *k) {
    k->match = MATCH_EXACT;
    k->prefix_len = 0;
    k->fast = 0;
    for (size_t i = 0; i < k->len; i++) {
        char ch = k->p[i];
        if (ch == '*' && i == k->len - 1) {
            k->match = MATCH_PREFIX;
            k->prefix_len = i;
        } else if (ch == '*' || ch == '?' || ch == '[' || ch == '\\') {
            k->match = MATCH_GLOB;
            return;
        }
    }
    if (k->match == MATCH_PREFIX)
        set_word_form(k, k->prefix_len, 1);
    else
        set_word_form(k, k->len, 0);
}

static int op_is(const char *op, size_t len, const char *word) {
    return strlen(word) == len && strncasecmp(op, word, len) == 0;
}

/* The permissions of a key rule: "~p" all, "%R~p", "%W~p", "%RW~p" (as Redis, "%RW"
 * without '~' is an empty pattern); *off is set to where the pattern starts. 0: a syntax
 * error. */
static unsigned key_rule_perms(const char *op, size_t len, size_t *off) {
    *off = 1;
    if (op[0] != '%') return ACL_PERM_ALL;
    unsigned perms = 0;
    for (size_t i = 1; i < len; i++) {
        char ch = (char)toupper((unsigned char)op[i]);
        if (ch == 'R' && !(perms & ACL_PERM_READ)) {
            perms |= ACL_PERM_READ;
        } else if (ch == 'W' && !(perms & ACL_PERM_WRITE)) {
            perms |= ACL_PERM_WRITE;
        } else if (op[i] == '~' && perms) {
            *off = i + 1;
            return perms;
        } else {
            return 0;
        }
    }
    *off = len;
    return perms;
}

static int add_key_pattern(acl_selector *s, const char *op, size_t len) {
    if (s->flags & SEL_ALLKEYS) return RULE_EEXIST;
    size_t off;
    unsigned perms = key_rule_perms(op, len, &off);
    if (!perms) return RULE_EINVAL;
    const char *p = op + off;
    size_t plen = len - off;
    if (acl_has_spaces(p, plen)) return RULE_EINVAL;
    for (size_t i = 0; i < s->nkeys; i++)
        if (s->keys[i].len == plen && memcmp(s->keys[i].p, p, plen) == 0) {
            s->keys[i].perms |= perms;
            return RULE_OK;
        }
    s->keys = mem_realloc(s->keys, sizeof(acl_pattern) * (s->nkeys + 1));
    s->keys[s->nkeys] = (acl_pattern){.p = mem_strndup(p, plen), .len = plen, .perms = perms};
    acl_pattern_classify(&s->keys[s->nkeys]);
    if (!s->keys[s->nkeys++].fast) s->slow_keys++;
    return RULE_OK;
}

static int add_channel_pattern(acl_selector *s, const char *op, size_t len) {
    if (s->flags & SEL_ALLCHANNELS) return RULE_EISDIR;
    const char *p = op + 1;
    size_t plen = len - 1;
    if (acl_has_spaces(p, plen)) return RULE_EINVAL;
    for (size_t i = 0; i < s->nchans; i++)
        if (s->chans[i].len == plen && memcmp(s->chans[i].p, p, plen) == 0) return RULE_OK;
    s->chans = mem_realloc(s->chans, sizeof(acl_pattern) * (s->nchans + 1));
    s->chans[s->nchans] = (acl_pattern){.p = mem_strndup(p, plen), .len = plen};
    acl_pattern_classify(&s->chans[s->nchans++]);
    return RULE_OK;
}

/* "+name", "+container|sub" or "+command|first-arg". */
static int allow_command(acl_selector *s, const char *name, size_t len) {
    const char *bar = NULL;
    for (size_t i = len; i > 0; i--)
        if (name[i - 1] == '|') {
            bar = name + i - 1;
            break;
        }
    if (!bar) {
        int id = acl_cmd_lookup(name, len);
        if (id < 0) return RULE_ENOENT;
        change_perm(s, id, 1);
        update_rules(s, acl_cmd(id)->name, strlen(acl_cmd(id)->name), 1);
        return RULE_OK;
    }
    size_t base = (size_t)(bar - name), sublen = len - base - 1;
    int top = acl_cmd_lookup(name, base);
    if (top < 0) return RULE_ENOENT;
    if (acl_cmd(top)->parent >= 0) return RULE_ECHILD;
    if (sublen == 0) return RULE_EINVAL;
    if (acl_cmd(top)->nsubs) {
        int id = acl_cmd_lookup(name, len);
        if (id < 0) return RULE_ENOENT;
        change_perm(s, id, 1);
    } else {
        /* Redis's deprecated first-arg form (+select|0): the bit stays off and the
         * first argument is checked. */
        add_firstarg(s, top, bar + 1, sublen);
    }
    update_rules(s, name, len, 1);
    return RULE_OK;
}

static int deny_command(acl_selector *s, const char *name, size_t len) {
    int id = acl_cmd_lookup(name, len);
    if (id < 0) return RULE_ENOENT;
    change_perm(s, id, 0);
    update_rules(s, acl_cmd(id)->name, strlen(acl_cmd(id)->name), 0);
    return RULE_OK;
}

static int apply_category(acl_selector *s, const char *op, size_t len) {
    int cat = acl_category_find(op + 2, len - 2);
    if (cat < 0) return RULE_ENOENT;
    update_rules(s, op + 1, len - 1, op[0] == '+');
    change_category(s, cat, op[0] == '+');
    return RULE_OK;
}

int selector_apply(acl_selector *s, const char *op, size_t len) {
    char second = len > 1 ? op[1] : '\0';
    if (op_is(op, len, "allkeys") || op_is(op, len, "~*")) {
        s->flags |= SEL_ALLKEYS;
        clear_patterns(&s->keys, &s->nkeys);
        s->slow_keys = 0;
    } else if (op_is(op, len, "resetkeys")) {
        s->flags &= ~SEL_ALLKEYS;
        clear_patterns(&s->keys, &s->nkeys);
        s->slow_keys = 0;
    } else if (op_is(op, len, "allchannels") || op_is(op, len, "&*")) {
        s->flags |= SEL_ALLCHANNELS;
        clear_patterns(&s->chans, &s->nchans);
    } else if (op_is(op, len, "resetchannels")) {
        s->flags &= ~SEL_ALLCHANNELS;
        clear_patterns(&s->chans, &s->nchans);
    } else if (op_is(op, len, "allcommands") || op_is(op, len, "+@all")) {
        memset(s->allowed, 0xff, sizeof(s->allowed));
        s->flags |= SEL_ALLCOMMANDS;
        clear_rules(s);
        clear_firstargs(s);
    } else if (op_is(op, len, "nocommands") || op_is(op, len, "-@all")) {
        memset(s->allowed, 0, sizeof(s->allowed));
        s->flags &= ~SEL_ALLCOMMANDS;
        clear_rules(s);
        clear_firstargs(s);
    } else if (len && (op[0] == '~' || op[0] == '%')) {
        return add_key_pattern(s, op, len);
    } else if (len && op[0] == '&') {
        return add_channel_pattern(s, op, len);
    } else if (len && op[0] == '+' && second != '@') {
        return allow_command(s, op + 1, len - 1);
    } else if (len && op[0] == '-' && second != '@') {
        return deny_command(s, op + 1, len - 1);
    } else if (len && (op[0] == '+' || op[0] == '-') && second == '@') {
        return apply_category(s, op, len);
    } else {
        return RULE_EINVAL;
    }
    return RULE_OK;
}

/* ---- descriptions ---- */

static void put_key_pattern(buf *out, const acl_pattern *k) {
    buf_puts(out, k->perms == ACL_PERM_ALL ? "~" : k->perms == ACL_PERM_READ ? "%R~" : "%W~");
    buf_append(out, k->p, k->len);
}

void selector_describe_commands(const acl_selector *s, buf *out) {
    buf_puts(out, selector_has_command(s, ACL_FUTURE_BIT) ? "+@all" : "-@all");
    for (size_t i = 0; i < s->nrules; i++) {
        buf_putc(out, ' ');
        buf_puts(out, s->rules[i]);
    }
}

void selector_describe(const acl_selector *s, buf *out) {
    if (s->flags & SEL_ALLKEYS) {
        buf_puts(out, "~* ");
    } else {
        for (size_t i = 0; i < s->nkeys; i++) {
            put_key_pattern(out, &s->keys[i]);
            buf_putc(out, ' ');
        }
    }
    if (s->flags & SEL_ALLCHANNELS) {
        buf_puts(out, "&* ");
    } else {
        buf_puts(out, "resetchannels ");
        for (size_t i = 0; i < s->nchans; i++) {
            buf_putc(out, '&');
            buf_append(out, s->chans[i].p, s->chans[i].len);
            buf_putc(out, ' ');
        }
    }
    selector_describe_commands(s, out);
}

void acl_selector_describe(const acl_user *u, size_t i, buf *commands, buf *keys, buf *channels) {
    const acl_selector *s = &u->sel[i];
    selector_describe_commands(s, commands);
    if (s->flags & SEL_ALLKEYS) {
        buf_puts(keys, "~*");
    } else {
        for (size_t k = 0; k < s->nkeys; k++) {
            if (k) buf_putc(keys, ' ');
            put_key_pattern(keys, &s->keys[k]);
        }
    }
    if (s->flags & SEL_ALLCHANNELS) {
        buf_puts(channels, "&*");
    } else {
        for (size_t k = 0; k < s->nchans; k++) {
            if (k) buf_putc(channels, ' ');
            buf_putc(channels, '&');
            buf_append(channels, s->chans[k].p, s->chans[k].len);
        }
    }
}
