/* user: user rules (on/off, passwords, selectors), ACL SETUSER and authentication.
 *
 * ACL SETUSER is all or nothing, as in Redis: the rules are applied to a scratch copy of
 * the user, which replaces the user's rules only when every rule was valid. Passwords
 * are kept as lower-case SHA-256 hex and compared without early exit. */
#include "acl/acl_int.h"
#include "mayfly/util/mem.h"
#include "mayfly/util/splitargs.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

acl_user *user_new(const char *name, size_t len) {
    acl_user *u = mem_calloc(1, sizeof(*u));
    u->name = mem_strndup(name, len);
    u->name_len = len;
    u->flags = USER_OFF | USER_SANITIZE;
    u->sel = mem_alloc(sizeof(acl_selector));
    u->nsel = 1;
    selector_init(&u->sel[0], SEL_ROOT);
    user_refresh(u);
    return u;
}

static void free_selectors(acl_user *u) {
    for (size_t i = 0; i < u->nsel; i++)
        selector_deinit(&u->sel[i]);
    mem_free(u->sel);
    u->sel = NULL;
    u->nsel = 0;
}

void acl_user_free(acl_user *u) {
    if (!u) return;
    free_selectors(u);
    mem_free(u->pass);
    mem_free(u->name);
    mem_free(u->verdicts);
    mem_free(u);
}

void user_copy_rules(acl_user *dst, const acl_user *src) {
    free_selectors(dst);
    mem_free(dst->pass);
    dst->flags = src->flags;
    dst->npass = src->npass;
    dst->pass = src->npass ? mem_alloc(sizeof(*dst->pass) * src->npass) : NULL;
    if (src->npass) memcpy(dst->pass, src->pass, sizeof(*dst->pass) * src->npass);
    dst->nsel = src->nsel;
    dst->sel = mem_alloc(sizeof(acl_selector) * src->nsel);
    for (size_t i = 0; i < src->nsel; i++)
        selector_copy(&dst->sel[i], &src->sel[i]);
    user_refresh(dst);
}

void user_refresh(acl_user *u) {
    const uint32_t all = SEL_ALLCOMMANDS | SEL_ALLKEYS | SEL_ALLCHANNELS;
    u->head.unrestricted = 0;
    for (size_t i = 0; i < u->nsel; i++)
        if ((u->sel[i].flags & all) == all) u->head.unrestricted = 1;
    acl_invalidate(); /* its rules changed: its verdicts (and, simply, everyone's) are stale */
}

void user_make_default(acl_user *u) {
    static const char *const rules[] = {"+@all", "~*", "&*", "on", "nopass"};
    for (size_t i = 0; i < sizeof(rules) / sizeof(rules[0]); i++)
        user_apply(u, rules[i], strlen(rules[i]));
}

/* ---- passwords ---- */

static int valid_hash(const char *p, size_t len) {
    if (len != 64) return 0;
    for (size_t i = 0; i < len; i++)
        if (!((p[i] >= '0' && p[i] <= '9') || (p[i] >= 'a' && p[i] <= 'f'))) return 0;
    return 1;
}

static long find_password(const acl_user *u, const char *hash) {
    for (size_t i = 0; i < u->npass; i++)
        if (memcmp(u->pass[i], hash, 64) == 0) return (long)i;
    return -1;
}

static int add_password(acl_user *u, const char *op, size_t len) {
    char hash[65];
    if (op[0] == '>') {
        acl_hash_password(op + 1, len - 1, hash);
    } else {
        if (!valid_hash(op + 1, len - 1)) return RULE_EBADMSG;
        memcpy(hash, op + 1, 64);
        hash[64] = '\0';
    }
    if (find_password(u, hash) < 0) {
        u->pass = mem_realloc(u->pass, sizeof(*u->pass) * (u->npass + 1));
        memcpy(u->pass[u->npass++], hash, 65);
    }
    u->flags &= ~USER_NOPASS;
    return RULE_OK;
}

static int remove_password(acl_user *u, const char *op, size_t len) {
    char hash[65];
    if (op[0] == '<') {
        acl_hash_password(op + 1, len - 1, hash);
    } else {
        if (!valid_hash(op + 1, len - 1)) return RULE_EBADMSG;
        memcpy(hash, op + 1, 64);
        hash[64] = '\0';
    }
    long i = find_password(u, hash);
    if (i < 0) return RULE_ENODEV;
    memmove(&u->pass[i], &u->pass[i + 1], sizeof(*u->pass) * (u->npass - (size_t)i - 1));
    u->npass--;
    return RULE_OK;
}

/* ---- selectors in parentheses ---- */

static int add_selector(acl_user *u, const char *op, size_t len) {
    /* The words inside the parentheses, split as Redis's sdssplitargs does. */
    size_t n_in = len - 2, max = n_in / 2 + 1;
    char *store = mem_alloc(n_in + 1), **words = mem_alloc(sizeof(char *) * max);
    size_t *lens = mem_alloc(sizeof(size_t) * max);
    int n = splitargs_split(op + 1, n_in, store, words, lens, (int)max);
    acl_selector s;
    selector_init(&s, 0);
    int rc = n < 0 ? RULE_EINVAL : RULE_OK;
    for (int i = 0; i < n && rc == RULE_OK; i++)
        rc = selector_apply(&s, words[i], lens[i]);
    mem_free(store);
    mem_free(words);
    mem_free(lens);
    if (rc != RULE_OK) {
        selector_deinit(&s);
        return rc;
    }
    u->sel = mem_realloc(u->sel, sizeof(acl_selector) * (u->nsel + 1));
    u->sel[u->nsel++] = s;
    return RULE_OK;
}

static void clear_selectors(acl_user *u) {
    for (size_t i = 1; i < u->nsel; i++)
        selector_deinit(&u->sel[i]);
    u->nsel = 1;
}

/* ---- user rules ---- */

static int op_is(const char *op, size_t len, const char *word) {
    return strlen(word) == len && strncasecmp(op, word, len) == 0;
}

static void reset_user(acl_user *u) {
    static const char *const rules[] = {"resetpass", "resetkeys", "resetchannels"};
    for (size_t i = 0; i < sizeof(rules) / sizeof(rules[0]); i++)
        user_apply(u, rules[i], strlen(rules[i]));
    if (selector_pubsub_default()) user_apply(u, "allchannels", 11);
    static const char *const more[] = {"off", "sanitize-payload", "clearselectors", "-@all"};
    for (size_t i = 0; i < sizeof(more) / sizeof(more[0]); i++)
        user_apply(u, more[i], strlen(more[i]));
}

static int apply_flag(acl_user *u, const char *op, size_t len) {
    if (op_is(op, len, "on")) {
        u->flags = (u->flags | USER_ON) & ~USER_OFF;
    } else if (op_is(op, len, "off")) {
        u->flags = (u->flags | USER_OFF) & ~USER_ON;
    } else if (op_is(op, len, "skip-sanitize-payload")) {
        u->flags = (u->flags | USER_SKIP_SANITIZE) & ~USER_SANITIZE;
    } else if (op_is(op, len, "sanitize-payload")) {
        u->flags = (u->flags | USER_SANITIZE) & ~USER_SKIP_SANITIZE;
    } else if (op_is(op, len, "nopass")) {
        u->flags |= USER_NOPASS;
        u->npass = 0;
    } else if (op_is(op, len, "resetpass")) {
        u->flags &= ~USER_NOPASS;
        u->npass = 0;
    } else {
        return -1;
    }
    return RULE_OK;
}

int user_apply(acl_user *u, const char *op, size_t len) {
    int rc = RULE_OK;
    if (len == 0) return RULE_OK;
    if (apply_flag(u, op, len) == RULE_OK) {
        /* done */
    } else if (op[0] == '>' || op[0] == '#') {
        rc = add_password(u, op, len);
    } else if (op[0] == '<' || op[0] == '!') {
        rc = remove_password(u, op, len);
    } else if (op[0] == '(' && op[len - 1] == ')' && len >= 2) {
        rc = add_selector(u, op, len);
    } else if (op_is(op, len, "clearselectors")) {
        clear_selectors(u);
    } else if (op_is(op, len, "reset")) {
        reset_user(u);
    } else {
        rc = selector_apply(&u->sel[0], op, len);
    }
    user_refresh(u);
    return rc;
}

/* ---- ACL SETUSER ---- */

void acl_free_strings(char **v, size_t *lens, int n) {
    for (int i = 0; i < n; i++)
        mem_free(v[i]);
    mem_free(v);
    mem_free(lens);
}

static void push_string(char ***v, size_t **lens, int *n, const char *p, size_t len) {
    *v = mem_realloc(*v, sizeof(char *) * (size_t)(*n + 1));
    *lens = mem_realloc(*lens, sizeof(size_t) * (size_t)(*n + 1));
    (*v)[*n] = mem_strndup(p, len);
    (*lens)[*n] = len;
    (*n)++;
}

char **acl_merge_selectors(int argc, const slice *argv, size_t **lens, int *count, int *bad) {
    char **out = NULL;
    *lens = NULL;
    *count = 0;
    int open = -1;
    buf sel;
    buf_init(&sel);
    for (int j = 0; j < argc; j++) {
        const char *op = argv[j].p;
        size_t len = argv[j].len;
        int starts = len > 0 && op[0] == '(', ends = len > 0 && op[len - 1] == ')';
        if (open < 0 && starts && !ends) {
            buf_clear(&sel);
            buf_append(&sel, op, len);
            open = j;
        } else if (open >= 0) {
            buf_putc(&sel, ' ');
            buf_append(&sel, op, len);
            if (ends) {
                open = -1;
                push_string(&out, lens, count, sel.data, sel.len);
            }
        } else {
            push_string(&out, lens, count, op, len);
        }
    }
    buf_deinit(&sel);
    if (open >= 0) {
        acl_free_strings(out, *lens, *count);
        *lens = NULL;
        *count = 0;
        if (bad) *bad = open;
        return NULL;
    }
    if (!out) out = mem_alloc(sizeof(char *)); /* a valid empty array */
    return out;
}

int acl_setuser(slice name, int argc, const slice *ops, char **err) {
    *err = NULL;
    if (acl_has_spaces(name.p, name.len)) {
        *err = mem_strdup("Usernames can't contain spaces or null characters");
        return -1;
    }
    size_t *lens;
    int n, bad = 0;
    char **merged = acl_merge_selectors(argc, ops, &lens, &n, &bad);
    if (!merged) {
        char *first = mem_strndup(ops[bad].p, ops[bad].len);
        *err = buf_strdupf("Unmatched parenthesis in acl selector starting at '%s'.", first);
        mem_free(first);
        return -1;
    }
    acl_user *u = acl_user_find(name);
    acl_user *tmp = user_new(name.p, name.len);
    if (u) user_copy_rules(tmp, u);
    for (int j = 0; j < n; j++) {
        int rc = user_apply(tmp, merged[j], lens[j]);
        if (rc != RULE_OK) {
            *err = buf_strdupf("Error in ACL SETUSER modifier '%s': %s", merged[j],
                               acl_rule_error_text(rc));
            break;
        }
    }
    acl_free_strings(merged, lens, n);
    if (*err) {
        acl_user_free(tmp);
        return -1;
    }
    if (u) {
        user_copy_rules(u, tmp);
        acl_user_free(tmp);
    } else {
        userset_insert(&acl_users, tmp);
    }
    acl_recount();
    return 0;
}

/* ---- authentication ---- */

acl_user *acl_authenticate(slice name, slice password) {
    acl_user *u = acl_user_find(name);
    if (!u || (u->flags & USER_OFF)) return NULL;
    if (u->flags & USER_NOPASS) return u;
    char hash[65];
    acl_hash_password(password.p, password.len, hash);
    for (size_t i = 0; i < u->npass; i++) {
        unsigned char diff = 0;
        for (size_t k = 0; k < 64; k++)
            diff |= (unsigned char)(hash[k] ^ u->pass[i][k]);
        if (diff == 0) return u;
    }
    return NULL;
}

void acl_set_default_password(const char *password, size_t len) {
    user_apply(acl_default, "resetpass", 9);
    if (!password) {
        user_apply(acl_default, "nopass", 6);
        acl_recount();
        return;
    }
    char hash[65];
    acl_hash_password(password, len, hash);
    char op[66];
    op[0] = '#';
    memcpy(op + 1, hash, 65);
    user_apply(acl_default, op, 65);
    acl_recount();
}

/* ---- descriptions ---- */

static const struct {
    uint32_t flag;
    const char *name;
} user_flag_names[] = {
    {USER_ON, "on"},
    {USER_OFF, "off"},
    {USER_NOPASS, "nopass"},
    {USER_SKIP_SANITIZE, "skip-sanitize-payload"},
    {USER_SANITIZE, "sanitize-payload"},
};

size_t acl_user_flags(const acl_user *u, const char **names) {
    size_t n = 0;
    for (size_t i = 0; i < sizeof(user_flag_names) / sizeof(user_flag_names[0]); i++)
        if (u->flags & user_flag_names[i].flag) names[n++] = user_flag_names[i].name;
    return n;
}

size_t acl_user_password_count(const acl_user *u) {
    return u->npass;
}

const char *acl_user_password(const acl_user *u, size_t i) {
    return i < u->npass ? u->pass[i] : NULL;
}

size_t acl_user_selector_count(const acl_user *u) {
    return u->nsel;
}

void acl_user_describe(const acl_user *u, buf *out) {
    const char *names[8];
    size_t n = acl_user_flags(u, names);
    for (size_t i = 0; i < n; i++) {
        buf_puts(out, names[i]);
        buf_putc(out, ' ');
    }
    for (size_t i = 0; i < u->npass; i++) {
        buf_putc(out, '#');
        buf_append(out, u->pass[i], 64);
        buf_putc(out, ' ');
    }
    for (size_t i = 0; i < u->nsel; i++) {
        if (i) buf_puts(out, " (");
        selector_describe(&u->sel[i], out);
        if (i) buf_putc(out, ')');
    }
}
