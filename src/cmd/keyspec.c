/* keyspec: finding a command's keys from its key specs (see keyspec.h).
 *
 * Each spec is applied in turn: begin_search gives the first key's position (an index, or
 * the argument after a keyword), find_keys the last one and the step (a range, or a count
 * read from the arguments). A spec that does not fit argv (a key position past the end, a
 * count that is not a number) makes the whole extraction invalid, as in Redis's
 * getKeysUsingKeySpecs; the getkeys function, if any, then gets a chance. Keys go into a
 * cmd_key_list whose first CMD_KEY_LIST_INLINE slots live in the struct itself. */
#include "cmd/registry_int.h"
#include "mayfly/cmd/cmd.h"
#include "mayfly/util/mem.h"
#include "mayfly/util/strconv.h"

#include <string.h>

static const char *const flag_names[] = {
#define X(n, s) s,
    KS_FLAG_MAP(X)
#undef X
};

const char *ks_flag_name(int bit) {
    return bit >= 0 && bit < KS_NFLAGS ? flag_names[bit] : "";
}

void cmd_key_list_init(cmd_key_list *k) {
    k->v = k->inline_keys;
    k->n = 0;
    k->cap = CMD_KEY_LIST_INLINE;
}

void cmd_key_list_deinit(cmd_key_list *k) {
    if (k->v != k->inline_keys) mem_free(k->v);
    cmd_key_list_init(k);
}

void cmd_key_list_push(cmd_key_list *k, int pos, uint32_t flags) {
    if (k->n == k->cap) {
        int cap = k->cap * 2;
        cmd_key *v = mem_alloc((size_t)cap * sizeof(cmd_key));
        memcpy(v, k->v, (size_t)k->n * sizeof(cmd_key));
        if (k->v != k->inline_keys) mem_free(k->v);
        k->v = v;
        k->cap = cap;
    }
    k->v[k->n++] = (cmd_key){pos, flags};
}

size_t cmd_key_specs(const cmd_spec *cmd, const cmd_key_spec **specs, cmd_key_spec *tmp) {
    if (cmd->key_specs) {
        size_t n = 0;
        while (cmd->key_specs[n].flags)
            n++;
        *specs = cmd->key_specs;
        return n;
    }
    if (cmd->first_key <= 0) {
        *specs = NULL;
        return 0;
    }
    int last = cmd->last_key < 0 ? cmd->last_key : cmd->last_key - cmd->first_key;
    *tmp = (cmd_key_spec)KS_RANGE(cmd->key_flags, cmd->first_key, last,
                                  cmd->key_step > 0 ? cmd->key_step : 1);
    *specs = tmp;
    return 1;
}

/* The union of the specs' flags (inv: of their complements). */
static uint32_t all_flags(const cmd_key_spec *specs, size_t n, int inv) {
    uint32_t f = 0;
    for (size_t i = 0; i < n; i++)
        f |= inv ? ~specs[i].flags : specs[i].flags;
    return f;
}

int cmd_has_keys(const cmd_spec *cmd) {
    cmd_key_spec tmp;
    const cmd_key_spec *specs;
    size_t n = cmd_key_specs(cmd, &specs, &tmp);
    return cmd->getkeys != NULL || (all_flags(specs, n, 1) & KS_NOT_KEY) != 0;
}

/* The first key's position for spec s, 0 when its keyword is absent (the spec finds
 * nothing), or -1 when s is unusable. */
static int begin_of(const cmd_key_spec *s, int argc, const slice *argv) {
    if (s->begin == KS_BEGIN_INDEX) return s->index;
    if (s->begin != KS_BEGIN_KEYWORD || !s->keyword) return -1;
    int start = s->startfrom > 0 ? s->startfrom : argc + s->startfrom;
    int end = s->startfrom > 0 ? argc - 1 : 1;
    /* As Redis: the argument at `end` is not looked at (a keyword there has no key after
     * it when searching forwards). */
    for (int i = start; i != end; i = start <= end ? i + 1 : i - 1) {
        if (i >= argc || i < 1) break;
        if (slice_eq_ci(argv[i], s->keyword)) return i + 1;
    }
    return 0;
}

/* Appends the keys spec s finds; returns 0, or -1 if argv does not fit it. */
static int apply_spec(const cmd_spec *cmd, const cmd_key_spec *s, int argc, const slice *argv,
                      cmd_key_list *out) {
    int first = begin_of(s, argc, argv);
    if (first < 0) return -1;
    if (first == 0) return 0; /* keyword not found: no keys from this spec */
    long long last;
    int step = s->step > 0 ? s->step : 1;
    if (s->find == KS_FIND_RANGE) {
        if (s->lastkey >= 0)
            last = (long long)first + s->lastkey;
        else if (s->limit <= 1)
            last = (long long)argc + s->lastkey;
        else
            last = first + ((argc - first) / s->limit + s->lastkey);
    } else if (s->find == KS_FIND_KEYNUM) {
        long long numkeys;
        int at = first + s->keynumidx;
        if (at >= argc || str_to_ll(argv[at].p, argv[at].len, &numkeys) < 0 || numkeys < 0)
            return -1;
        first += s->firstkey;
        last = first + numkeys - 1;
    } else {
        return -1;
    }
    /* Out of bounds (including a keynum of 0): a syntax error, or for EVAL-like commands
     * a case for their getkeys function, as in Redis. */
    if (last >= argc || last < first || first >= argc) return -1;
    for (long long i = first; i <= last; i += step) {
        /* Variadic commands report a short argv themselves (arity checks did not). */
        if (i >= argc) {
            if (cmd->arity < 0) continue;
            return -1;
        }
        cmd_key_list_push(out, (int)i, s->flags);
    }
    return (s->flags & KS_INCOMPLETE) ? -1 : 0;
}

/* The common row shape, one range in first_key/last_key/key_step and no getkeys function:
 * the same keys apply_spec finds, without building a spec (ACL checks it per command). */
static int simple_range(const cmd_spec *cmd, int argc, cmd_key_list *out) {
    long long first = cmd->first_key;
    long long last = cmd->last_key < 0 ? (long long)argc + cmd->last_key : cmd->last_key;
    if (last >= argc || last < first || first >= argc) return -1;
    int step = cmd->key_step > 0 ? cmd->key_step : 1;
    for (long long i = first; i <= last; i += step) {
        if (out->n < out->cap)
            out->v[out->n++] = (cmd_key){(int)i, cmd->key_flags};
        else
            cmd_key_list_push(out, (int)i, cmd->key_flags);
    }
    return out->n;
}

int cmd_get_keys(const cmd_spec *cmd, int argc, const slice *argv, cmd_key_list *out) {
    out->n = 0;
    if (!cmd->key_specs && !cmd->getkeys && cmd->first_key > 0 &&
        !(cmd->key_flags & (KS_NOT_KEY | KS_VARIABLE_FLAGS | KS_INCOMPLETE)))
        return simple_range(cmd, argc, out);
    cmd_key_spec tmp;
    const cmd_key_spec *specs;
    size_t n = cmd_key_specs(cmd, &specs, &tmp);
    out->n = 0;
    int has_keyspec = (all_flags(specs, n, 1) & KS_NOT_KEY) != 0;
    int varflags = (all_flags(specs, n, 0) & KS_VARIABLE_FLAGS) != 0;
    if (has_keyspec && !varflags) {
        int ok = 1;
        for (size_t i = 0; ok && i < n; i++) {
            if (specs[i].flags & KS_NOT_KEY) continue;
            if (apply_spec(cmd, &specs[i], argc, argv, out) < 0) ok = 0;
        }
        if (ok) return out->n;
        out->n = 0;
        if (!cmd->getkeys) return -1;
    }
    if (cmd->getkeys) return cmd->getkeys(cmd, argc, argv, out);
    return 0;
}

const cmd_key_list *cmd_ctx_keys(cmd_ctx *c) {
    if (c->keys_state == 0) {
        cmd_key_list_init(c->keys);
        c->keys_state = cmd_get_keys(c->cmd, c->argc, c->argv, c->keys) < 0 ? -1 : 1;
    }
    return c->keys_state > 0 ? c->keys : NULL;
}

void keyspec_release(cmd_ctx *c) {
    cmd_key_list_deinit(c->keys);
    c->keys_state = 0;
}
