/* check: may this user run this command on these keys and channels?
 *
 * Redis's ACLCheckAllUserCommandPerm: each selector is tried in turn and the first that
 * allows the command, every key (for the access the command needs) and every channel
 * wins. When none does, the most specific denial is reported (channel > key > command),
 * and among equal ones the latest argument position, so ACL LOG names the argument no
 * selector could accept. The command's key and channel positions are asked for once, and
 * only when some selector restricts keys or channels. */
#include "acl/acl_int.h"
#include "mayfly/util/mem.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

typedef struct ref_cache {
    int loaded;
    int n;
    acl_ref *refs;
    acl_ref small[16];
} ref_cache;

static void load_refs(ref_cache *rc, acl_refs_fn *fn, void *ctx) {
    if (rc->loaded) return;
    rc->loaded = 1;
    rc->refs = rc->small;
    rc->n = fn ? fn(ctx, rc->small, 16) : 0;
    if (rc->n > 16) {
        rc->refs = mem_alloc(sizeof(acl_ref) * (size_t)rc->n);
        int again = fn(ctx, rc->refs, rc->n);
        if (again < rc->n) rc->n = again;
    }
}

static void free_refs(ref_cache *rc) {
    if (rc->loaded && rc->refs != rc->small) mem_free(rc->refs);
}

/* Key patterns that are all fast: no call, so no registers to save. */
static inline int keys_match_fast(const acl_selector *s, slice key, unsigned need) {
    uint64_t w = acl_load_word(key.p, key.len); /* read once for every pattern */
    const acl_pattern *k = s->keys, *end = s->keys + s->nkeys;
    for (; k < end; k++)
        if ((k->perms & need) == need && acl_pattern_match_word(k, w, key.len)) return 1;
    return 0;
}

static __attribute__((noinline)) int keys_match(const acl_selector *s, slice key, unsigned need) {
    for (size_t i = 0; i < s->nkeys; i++) {
        const acl_pattern *k = &s->keys[i];
        if ((k->perms & need) == need && acl_pattern_match(k, key.p, key.len)) return 1;
    }
    return 0;
}

static inline int key_ok(const acl_selector *s, slice key, unsigned need) {
    if (s->flags & SEL_ALLKEYS) return 1;
    need &= ACL_PERM_ALL;
    return s->slow_keys ? keys_match(s, key, need) : keys_match_fast(s, key, need);
}

/* For a key whose access depends on the arguments: 1 if a pattern with read and write
 * access matches (any access is allowed), 0 if no pattern matches (none is), -1 if only
 * partial patterns match (the exact access decides). */
static inline int key_any_access(const acl_selector *s, slice key) {
    int partial = 0;
    for (size_t i = 0; i < s->nkeys; i++) {
        const acl_pattern *k = &s->keys[i];
        if (!acl_pattern_match(k, key.p, key.len)) continue;
        if (k->perms == ACL_PERM_ALL) return 1;
        partial = 1;
    }
    return partial ? -1 : 0;
}

static int channel_in(const acl_pattern *list, size_t n, slice ch, int is_pattern) {
    for (size_t i = 0; i < n; i++) {
        const acl_pattern *c = &list[i];
        if (is_pattern ? (c->len == ch.len && (ch.len == 0 || memcmp(c->p, ch.p, ch.len) == 0))
                       : acl_pattern_match(c, ch.p, ch.len))
            return 1;
    }
    return 0;
}

static int firstarg_ok(const acl_selector *s, int id, const acl_command *c, int argc,
                       const slice *argv) {
    int idx = c->parent >= 0 ? 2 : 1;
    if (argc <= idx) return 0;
    for (size_t i = 0; i < s->nfa; i++) {
        if (s->fa[i].id != id) continue;
        for (size_t j = 0; j < s->fa[i].n; j++) {
            const char *a = s->fa[i].args[j];
            if (strlen(a) == argv[idx].len && strncasecmp(a, argv[idx].p, argv[idx].len) == 0)
                return 1;
        }
    }
    return 0;
}

/* 1 if selector s allows command id as such or for these first arguments ("+select|0"). */
static int selector_allows(const acl_selector *s, int id, const acl_command *c, int argc,
                           const slice *argv) {
    return (s->flags & SEL_ALLCOMMANDS) || (c->flags & ACL_CMD_NO_AUTH) ||
           selector_has_command(s, id) || firstarg_ok(s, id, c, argc, argv);
}

/* The keys of c's plain key range in argv against s: ACL_OK, ACL_DENIED_KEY (*errpos the
 * argument), or -1 when only partial patterns match a key whose access depends on the
 * arguments (the general path decides). An argv that does not reach the range names no
 * keys, as the extraction says. */
static inline int range_check(const acl_selector *s, const acl_command *c, int argc,
                              const slice *argv, int *errpos) {
    int last = c->key_last < 0 ? argc + c->key_last : c->key_last;
    if (last >= argc || last < c->key_first || c->key_first >= argc) return ACL_OK;
    for (int i = c->key_first; i <= last; i += c->key_step) {
        int ok = c->key_variable ? key_any_access(s, argv[i]) : key_ok(s, argv[i], c->key_need);
        if (ok < 0) return -1;
        if (!ok) {
            if (errpos) *errpos = i;
            return ACL_DENIED_KEY;
        }
    }
    return ACL_OK;
}

/* The keys (if keys) and channels (if chans) the refs name, against s. */
static int refs_check(const acl_selector *s, int keys, int chans, int argc, const slice *argv,
                      const ref_cache *rc, int *pos) {
    for (int i = 0; keys && i < rc->n; i++) {
        const acl_ref *r = &rc->refs[i];
        if ((r->flags & ACL_REF_CHANNEL) || r->pos < 0 || r->pos >= argc) continue;
        if (!key_ok(s, argv[r->pos], r->flags)) {
            *pos = r->pos;
            return ACL_DENIED_KEY;
        }
    }
    for (int i = 0; chans && i < rc->n; i++) {
        const acl_ref *r = &rc->refs[i];
        if (!(r->flags & ACL_REF_CHANNEL) || r->pos < 0 || r->pos >= argc) continue;
        if (!channel_in(s->chans, s->nchans, argv[r->pos], (r->flags & ACL_REF_PATTERN) != 0)) {
            *pos = r->pos;
            return ACL_DENIED_CHANNEL;
        }
    }
    return ACL_OK;
}

static int selector_check(const acl_selector *s, int id, const acl_command *c, int argc,
                          const slice *argv, ref_cache *rc, acl_refs_fn *fn, void *ctx, int *pos) {
    if (!selector_allows(s, id, c, argc, argv)) return ACL_DENIED_CMD;
    int keys = !(s->flags & SEL_ALLKEYS) && (c->flags & ACL_CMD_HAS_KEYS);
    int chans = !(s->flags & SEL_ALLCHANNELS) && (c->flags & ACL_CMD_HAS_CHANNELS);
    if (!keys && !chans) return ACL_OK;
    if (keys && c->key_range && !c->key_variable) {
        /* The common shape: the positions come from the catalog, not the callback. */
        int r = range_check(s, c, argc, argv, pos);
        if (r != ACL_OK || !chans) return r;
        keys = 0;
    }
    load_refs(rc, fn, ctx);
    return refs_check(s, keys, chans, argc, argv, rc, pos);
}

/* Every selector, with the refs callback: the general case. */
static __attribute__((noinline)) int check_selectors(const acl_user *u, int id,
                                                     const acl_command *c, int argc,
                                                     const slice *argv, acl_refs_fn *refs,
                                                     void *ctx, int *errpos) {
    ref_cache rc;
    rc.loaded = 0;
    int relevant = ACL_DENIED_CMD, last = 0;
    for (size_t i = 0; i < u->nsel; i++) {
        int pos = 0;
        int r = selector_check(&u->sel[i], id, c, argc, argv, &rc, refs, ctx, &pos);
        if (r == ACL_OK) {
            free_refs(&rc);
            return ACL_OK;
        }
        if (r > relevant || (r == relevant && pos > last)) {
            relevant = r;
            last = pos;
        }
    }
    free_refs(&rc);
    if (errpos) *errpos = last;
    return relevant;
}

/* ---- verdicts ---- */

/* 1 if s allows command id as such (not only for some first arguments). */
static int allows_plainly(const acl_selector *s, int id, const acl_command *c) {
    return (s->flags & SEL_ALLCOMMANDS) || (c->flags & ACL_CMD_NO_AUTH) ||
           selector_has_command(s, id);
}

/* What acl_check_fast may answer for u and command id without the general path: allowed
 * outright when a selector allows the command and every key and channel it could name;
 * one key to match when the user has one selector, which allows the command, and the
 * command has one key at a fixed position and no channels; else the general path. */
static uint8_t command_verdict(const acl_user *u, int id) {
    const acl_command *c = acl_cmd(id);
    int keys = (c->flags & ACL_CMD_HAS_KEYS) != 0, chans = (c->flags & ACL_CMD_HAS_CHANNELS) != 0;
    for (size_t i = 0; i < u->nsel; i++) {
        const acl_selector *s = &u->sel[i];
        if (allows_plainly(s, id, c) && (!keys || (s->flags & SEL_ALLKEYS)) &&
            (!chans || (s->flags & SEL_ALLCHANNELS)))
            return ACL_VERDICT_OK;
    }
    if (u->nsel != 1 || chans || !allows_plainly(&u->sel[0], id, c)) return ACL_VERDICT_SLOW;
    if (!c->key_range || c->key_variable || c->key_first != c->key_last || c->key_first < 1 ||
        c->key_first > 62)
        return ACL_VERDICT_SLOW;
    return (uint8_t)(((unsigned)c->key_first << 2) | c->key_need);
}

void acl_refresh_verdicts(acl_user *u) {
    size_t n = (size_t)acl_command_count();
    if (u->verdict_cap < n || !u->verdicts) {
        u->verdict_cap = n ? n : 1;
        u->verdicts = mem_realloc(u->verdicts, u->verdict_cap);
    }
    for (size_t id = 0; id < n; id++)
        u->verdicts[id] = command_verdict(u, (int)id);
    u->head.verdict = u->verdicts;
    u->head.gen = acl_generation;
}

int acl_key_allowed(const acl_user *u, slice key, unsigned need) {
    /* Only for a key verdict: one selector, which does not allow every key. */
    const acl_selector *s = &u->sel[0];
    return s->slow_keys ? keys_match(s, key, need) : keys_match_fast(s, key, need);
}

int acl_check(const acl_user *u, int id, int argc, const slice *argv, acl_refs_fn *refs, void *ctx,
              int *errpos) {
    if (!u || u->head.unrestricted) return ACL_OK;
    if (u->head.gen != acl_generation) acl_refresh_verdicts((acl_user *)u); /* a cache */
    if (acl_check_fast(u, id, argc, argv) == ACL_OK) return ACL_OK;
    const acl_command *c = acl_cmd(id);
    /* The common case, answered here: one selector that allows the command, whose keys
     * (if it restricts keys) are a plain range, and no channels to look at. */
    const acl_selector *s = &u->sel[0];
    if (u->nsel == 1 && !(c->flags & ACL_CMD_HAS_CHANNELS) &&
        ((s->flags & SEL_ALLCOMMANDS) || selector_has_command(s, id))) {
        if ((s->flags & SEL_ALLKEYS) || !(c->flags & ACL_CMD_HAS_KEYS)) return ACL_OK;
        if (c->key_range && c->key_first == c->key_last && !c->key_variable) {
            /* One key at a fixed position (GET, SET, HSET, HGET...): no range loop. */
            if (c->key_first >= argc || key_ok(s, argv[c->key_first], c->key_need)) return ACL_OK;
            if (errpos) *errpos = c->key_first;
            return ACL_DENIED_KEY;
        }
        if (c->key_range) {
            int r = range_check(s, c, argc, argv, errpos);
            if (r >= 0) return r;
        }
    }
    return check_selectors(u, id, c, argc, argv, refs, ctx, errpos);
}

int acl_check_key(const acl_user *u, slice key, unsigned flags) {
    for (size_t i = 0; i < u->nsel; i++)
        if (key_ok(&u->sel[i], key, flags)) return ACL_OK;
    return ACL_DENIED_KEY;
}

int acl_check_channel(const acl_user *u, slice channel, int is_pattern) {
    for (size_t i = 0; i < u->nsel; i++) {
        const acl_selector *s = &u->sel[i];
        if (s->flags & SEL_ALLCHANNELS) return ACL_OK;
        if (channel_in(s->chans, s->nchans, channel, is_pattern)) return ACL_OK;
    }
    return ACL_DENIED_CHANNEL;
}

void acl_denial_message(int result, const acl_user *u, int id, slice object, int verbose,
                        buf *out) {
    switch (result) {
    case ACL_DENIED_CMD:
        buf_printf(out, "User %s has no permissions to run the '%s' command", u->name,
                   acl_command_name(id));
        break;
    case ACL_DENIED_KEY:
    case ACL_DENIED_CHANNEL: {
        const char *what = result == ACL_DENIED_KEY ? "key" : "channel";
        if (verbose) {
            buf_printf(out, "User %s has no permissions to access the '", u->name);
            buf_append(out, object.p, object.len);
            buf_printf(out, "' %s", what);
        } else {
            buf_printf(out, "No permissions to access a %s", what);
        }
        break;
    }
    default:
        buf_puts(out, "No permissions");
    }
}
