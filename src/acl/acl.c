/* acl: the command catalog, the user table and the user accessors; see acl.h.
 *
 * Design. Every command and subcommand the command layer registers gets an id, a bit in
 * each selector's bitmap (ACL_MAX_COMMANDS bits; the last one records "+@all", i.e. the
 * right to run commands added later). A container (CONFIG, CLIENT, ...) knows its
 * subcommands' ids, because allowing or denying a container applies to all of them, as
 * in Redis. Users live in one array sorted by name (ACL LIST and ACL USERS print them in
 * that order); the default user is created first and keeps its identity for the life of
 * the process, so sessions and ACL LOAD can hold a pointer to it.
 *
 *     user "app" ── flags on, passwords [sha256 hex ...]
 *        ├─ sel[0] root: allowed[] bitmap, key patterns (%R~ %W~ ~), channels, rules
 *        └─ sel[1] "(+@read ~cache:*)" ...
 *
 * Rule parsing lives in selector.c (selector rules) and user.c (user rules, SETUSER),
 * checks in check.c, the log in log.c, the file formats in file.c. */
#include "acl/acl_int.h"
#include "mayfly/util/armed.h"
#include "mayfly/util/mem.h"

#include <assert.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const char *const category_names[ACL_CAT_COUNT] = {
#define X(n, s) s,
    ACL_CATEGORY_MAP(X)
#undef X
};

acl_command *acl_commands_tab;
static int ncommands;
#define commands acl_commands_tab

struct acl_userset acl_users;
acl_user *acl_default;
int acl_restricted_users;
unsigned acl_generation = 1;

void acl_invalidate(void) {
    if (++acl_generation == 0) acl_generation = 1;
}

void acl_recount(void) {
    int n = 0;
    for (size_t i = 0; i < acl_users.n; i++)
        if (!acl_users.users[i]->head.unrestricted) n++;
    armed_set(&acl_restricted_users, n);
}

/* ---- catalog ---- */

const char *acl_category_name(int i) {
    return (i >= 0 && i < ACL_CAT_COUNT) ? category_names[i] : NULL;
}

int acl_category_find(const char *name, size_t len) {
    for (int i = 0; i < ACL_CAT_COUNT; i++)
        if (strlen(category_names[i]) == len && strncasecmp(category_names[i], name, len) == 0)
            return i;
    return -1;
}

/* Parses "@write @hash @fast" into category bits; -1 if a word is not a category. */
static int parse_categories(const char *s, uint64_t *out) {
    *out = 0;
    while (s && *s) {
        while (*s == ' ')
            s++;
        if (!*s) break;
        const char *w = s;
        while (*s && *s != ' ')
            s++;
        if (*w != '@') return -1;
        int cat = acl_category_find(w + 1, (size_t)(s - w - 1));
        if (cat < 0) return -1;
        *out |= 1ULL << cat;
    }
    return 0;
}

int acl_command_add(const char *name, int parent, const char *categories, unsigned flags) {
    uint64_t cats;
    if (parse_categories(categories, &cats) < 0) return -1;
    if (ncommands >= ACL_FUTURE_BIT) return -1;
    if (parent >= ncommands) return -1;
    size_t plen = parent >= 0 ? strlen(commands[parent].name) : 0;
    char *full = mem_alloc(plen + 1 + strlen(name) + 1);
    if (parent >= 0) {
        memcpy(full, commands[parent].name, plen);
        full[plen] = '|';
        strcpy(full + plen + 1, name);
    } else {
        strcpy(full, name);
    }
    commands = mem_realloc(commands, sizeof(acl_command) * (size_t)(ncommands + 1));
    acl_command *c = &commands[ncommands];
    memset(c, 0, sizeof(*c));
    c->name = full;
    c->parent = parent;
    c->cats = cats;
    c->flags = flags;
    if (parent >= 0) {
        acl_command *p = &commands[parent];
        p->subs = mem_realloc(p->subs, sizeof(int) * (p->nsubs + 1));
        p->subs[p->nsubs++] = ncommands;
    }
    acl_invalidate();
    return ncommands++;
}

int acl_command_count(void) {
    return ncommands;
}

void acl_command_set_key_range(int id, int first, int last, int step, unsigned need, int variable) {
    acl_command *c = &commands[id];
    c->key_range = 1;
    c->key_variable = variable;
    c->key_first = first;
    c->key_last = last;
    c->key_step = step > 0 ? step : 1;
    c->key_need = need & (ACL_REF_READ | ACL_REF_WRITE);
    acl_invalidate();
}

const char *acl_command_name(int id) {
    return acl_cmd(id)->name;
}

uint64_t acl_command_categories(int id) {
    return acl_cmd(id)->cats;
}

static int find_exact_ci(const char *name, size_t len) {
    for (int i = 0; i < ncommands; i++)
        if (strlen(commands[i].name) == len && strncasecmp(commands[i].name, name, len) == 0)
            return i;
    return -1;
}

int acl_cmd_lookup(const char *name, size_t len) {
    const char *bar = memchr(name, '|', len);
    if (!bar) {
        int id = find_exact_ci(name, len);
        return (id >= 0 && commands[id].parent < 0) ? id : -1;
    }
    /* "container|sub": the container must exist and have subcommands; a second '|' never
     * names anything. */
    size_t base = (size_t)(bar - name);
    if (memchr(bar + 1, '|', len - base - 1)) return -1;
    int top = find_exact_ci(name, base);
    if (top < 0 || commands[top].parent >= 0 || commands[top].nsubs == 0) return -1;
    return find_exact_ci(name, len);
}

int acl_command_find(const char *name, size_t len) {
    return acl_cmd_lookup(name, len);
}

void acl_commands_reset(void) {
    for (int i = 0; i < ncommands; i++) {
        mem_free(commands[i].name);
        mem_free(commands[i].subs);
    }
    mem_free(commands);
    commands = NULL;
    ncommands = 0;
    acl_invalidate();
}

/* ---- the user table ---- */

static int name_cmp(const acl_user *u, const char *name, size_t len) {
    size_t n = u->name_len < len ? u->name_len : len;
    int c = n ? memcmp(u->name, name, n) : 0;
    if (c) return c;
    return u->name_len < len ? -1 : u->name_len > len ? 1 : 0;
}

/* Index of the first user whose name is >= name. */
static size_t lower_bound(const struct acl_userset *set, const char *name, size_t len) {
    size_t lo = 0, hi = set->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (name_cmp(set->users[mid], name, len) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

acl_user *userset_find(const struct acl_userset *set, const char *name, size_t len) {
    size_t i = lower_bound(set, name, len);
    return (i < set->n && name_cmp(set->users[i], name, len) == 0) ? set->users[i] : NULL;
}

void userset_insert(struct acl_userset *set, acl_user *u) {
    size_t i = lower_bound(set, u->name, u->name_len);
    assert(i == set->n || name_cmp(set->users[i], u->name, u->name_len) != 0);
    if (set->n == set->cap) {
        set->cap = set->cap ? set->cap * 2 : 8;
        set->users = mem_realloc(set->users, sizeof(acl_user *) * set->cap);
    }
    memmove(&set->users[i + 1], &set->users[i], sizeof(acl_user *) * (set->n - i));
    set->users[i] = u;
    set->n++;
}

acl_user *userset_remove(struct acl_userset *set, const char *name, size_t len) {
    size_t i = lower_bound(set, name, len);
    if (i == set->n || name_cmp(set->users[i], name, len) != 0) return NULL;
    acl_user *u = set->users[i];
    memmove(&set->users[i], &set->users[i + 1], sizeof(acl_user *) * (set->n - i - 1));
    set->n--;
    return u;
}

/* Frees every user of the set except the default user, and the array. */
void userset_clear(struct acl_userset *set) {
    for (size_t i = 0; i < set->n; i++)
        if (set->users[i] != acl_default) acl_user_free(set->users[i]);
    mem_free(set->users);
    memset(set, 0, sizeof(*set));
}

void acl_init(void) {
    userset_clear(&acl_users);
    acl_user_free(acl_default);
    acl_default = user_new("default", 7);
    user_make_default(acl_default);
    userset_insert(&acl_users, acl_default);
    acl_recount();
}

acl_user *acl_default_user(void) {
    if (!acl_default) acl_init(); /* sessions made before start-up (unit tests) */
    return acl_default;
}

acl_user *acl_user_find(slice name) {
    return userset_find(&acl_users, name.p, name.len);
}

size_t acl_user_count(void) {
    return acl_users.n;
}

acl_user *acl_user_at(size_t i) {
    return i < acl_users.n ? acl_users.users[i] : NULL;
}

acl_user *acl_user_unlink(slice name) {
    acl_user *u = userset_find(&acl_users, name.p, name.len);
    if (!u || u == acl_default) return NULL;
    userset_remove(&acl_users, name.p, name.len);
    acl_recount();
    return u;
}

const char *acl_user_name(const acl_user *u) {
    return u->name;
}
size_t acl_user_name_len(const acl_user *u) {
    return u->name_len;
}
int acl_user_enabled(const acl_user *u) {
    return (u->flags & USER_ON) != 0;
}
int acl_user_nopass(const acl_user *u) {
    return (u->flags & USER_NOPASS) != 0;
}

int acl_has_spaces(const char *p, size_t len) {
    for (size_t i = 0; i < len; i++)
        if (p[i] == '\0' || p[i] == ' ' || (p[i] >= '\t' && p[i] <= '\r')) return 1;
    return 0;
}

/* ---- crypto helpers (OpenSSL's libcrypto) ---- */

void acl_hash_password(const char *p, size_t len, char out[65]) {
    static const char hex[] = "0123456789abcdef";
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    int ok = EVP_Digest(p, len, md, &mdlen, EVP_sha256(), NULL);
    assert(ok == 1 && mdlen == 32);
    (void)ok;
    for (unsigned i = 0; i < 32; i++) {
        out[i * 2] = hex[md[i] >> 4];
        out[i * 2 + 1] = hex[md[i] & 15];
    }
    out[64] = '\0';
}

void acl_random_hex(char *out, size_t n) {
    static const char hex[] = "0123456789abcdef";
    unsigned char bytes[256];
    size_t done = 0;
    while (done < n) {
        size_t want = (n - done + 1) / 2;
        if (want > sizeof(bytes)) want = sizeof(bytes);
        if (RAND_bytes(bytes, (int)want) != 1) abort(); /* no entropy: never guess */
        for (size_t i = 0; i < want && done < n; i++) {
            out[done++] = hex[bytes[i] >> 4];
            if (done < n) out[done++] = hex[bytes[i] & 15];
        }
    }
}
