/* file: the ACL file (aclfile) and `user` lines of the config file.
 *
 * Both hold lines "user <name> <rules...>", the format ACL LIST prints. Loading the ACL
 * file builds a complete new user table off to the side and installs it only if every
 * line is valid, collecting one message per bad line as Redis does; the default user
 * object stays the same (it takes the file's rules), so pointers to it stay valid, while
 * the previous other users are handed back for the caller to move their sessions.
 * `user` lines of the config are validated as they are read and applied once the command
 * catalog exists. */
#include "acl/acl_int.h"
#include "mayfly/util/mem.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* ---- `user` lines of the config file ---- */

typedef struct pending_user {
    char *name;
    size_t name_len;
    char **rules;
    size_t *lens;
    int n;
} pending_user;

static pending_user *pending;
static size_t npending;

int acl_config_users_pending(void) {
    return npending > 0;
}

/* Redis names the argument of a bad rule by its index among the rules, but prints the
 * config line's word at that index: the same word is shown here. */
static char *declaration_error(int argc, const slice *argv, int idx, const char *msg) {
    if (idx < 0 || idx >= argc) idx = 0;
    return buf_strdupf("Error in user declaration '%.*s': %s", (int)argv[idx].len, argv[idx].p,
                       msg);
}

int acl_config_user(int argc, const slice *argv, char **err) {
    *err = NULL;
    if (argc < 2 || !slice_eq_ci(argv[0], "user")) {
        *err = declaration_error(argc, argv, 0, acl_rule_error_text(RULE_EINVAL));
        return -1;
    }
    for (size_t i = 0; i < npending; i++)
        if (pending[i].name_len == argv[1].len &&
            memcmp(pending[i].name, argv[1].p, argv[1].len) == 0) {
            *err = declaration_error(argc, argv, 1, acl_rule_error_text(RULE_EALREADY));
            return -1;
        }
    size_t *lens;
    int n, bad = 0;
    char **rules = acl_merge_selectors(argc - 2, argv + 2, &lens, &n, &bad);
    if (!rules) {
        *err = declaration_error(argc, argv, bad, acl_rule_error_text(RULE_EINVAL));
        return -1;
    }
    /* Validate on a scratch user; unknown commands are only reported when applied. */
    acl_user *fake = user_new("__fake__", 8);
    for (int j = 0; j < n; j++) {
        int rc = user_apply(fake, rules[j], lens[j]);
        if (rc != RULE_OK && rc != RULE_ENOENT) {
            *err = declaration_error(argc, argv, j, acl_rule_error_text(rc));
            break;
        }
    }
    acl_user_free(fake);
    if (*err) {
        acl_free_strings(rules, lens, n);
        return -1;
    }
    pending = mem_realloc(pending, sizeof(pending_user) * (npending + 1));
    pending[npending++] =
        (pending_user){mem_strndup(argv[1].p, argv[1].len), argv[1].len, rules, lens, n};
    return 0;
}

static void clear_pending(void) {
    for (size_t i = 0; i < npending; i++) {
        mem_free(pending[i].name);
        acl_free_strings(pending[i].rules, pending[i].lens, pending[i].n);
    }
    mem_free(pending);
    pending = NULL;
    npending = 0;
}

int acl_load_config_users(char **err) {
    *err = NULL;
    for (size_t i = 0; i < npending && !*err; i++) {
        pending_user *p = &pending[i];
        if (acl_has_spaces(p->name, p->name_len)) {
            *err = mem_strdup("Spaces not allowed in ACL usernames");
            break;
        }
        acl_user *u = userset_find(&acl_users, p->name, p->name_len);
        if (u) {
            user_apply(u, "reset", 5); /* only "default" can already exist */
        } else {
            u = user_new(p->name, p->name_len);
            userset_insert(&acl_users, u);
        }
        for (int j = 0; j < p->n; j++) {
            int rc = user_apply(u, p->rules[j], p->lens[j]);
            if (rc != RULE_OK) {
                *err = buf_strdupf("Error loading ACL rule '%s' for the user named '%s': %s",
                                   p->rules[j], p->name, acl_rule_error_text(rc));
                break;
            }
        }
    }
    clear_pending();
    acl_recount();
    return *err ? -1 : 0;
}

/* ---- the ACL file ---- */

static int read_all(const char *path, buf *out) {
    FILE *f = fopen(path, "r");
    if (!f) return -1;
    char chunk[4096];
    size_t n;
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
        buf_append(out, chunk, n);
    int bad = ferror(f);
    fclose(f);
    return bad ? -1 : 0;
}

static int is_trim_char(char ch, const char *set) {
    return ch != '\0' && strchr(set, ch) != NULL;
}

static slice trim(slice s, const char *set) {
    while (s.len && is_trim_char(s.p[0], set)) {
        s.p++;
        s.len--;
    }
    while (s.len && is_trim_char(s.p[s.len - 1], set))
        s.len--;
    return s;
}

/* Splits a line on single spaces, keeping empty words, as Redis's sdssplitlen does. */
static int split_spaces(slice line, slice **out) {
    int n = 0;
    *out = NULL;
    size_t start = 0;
    for (size_t i = 0; i <= line.len; i++) {
        if (i < line.len && line.p[i] != ' ') continue;
        *out = mem_realloc(*out, sizeof(slice) * (size_t)(n + 1));
        (*out)[n++] = (slice){line.p + start, i - start};
        start = i + 1;
    }
    return n;
}

/* Applies one line's rules to u, appending messages to errors as Redis words them. */
static void apply_line(acl_user *u, int argc, const slice *argv, const char *path, int lineno,
                       buf *errors) {
    size_t *lens;
    int n;
    char **rules = acl_merge_selectors(argc - 2, argv + 2, &lens, &n, NULL);
    if (!rules) {
        buf_printf(errors, "%s:%d: Unmatched parenthesis in selector definition.", path, lineno);
        return;
    }
    int syntax_error = 0;
    for (int j = 0; j < n; j++) {
        slice r = trim((slice){rules[j], lens[j]}, "\t\r\n");
        int rc = user_apply(u, r.p, r.len);
        if (rc == RULE_OK) continue;
        if (rc == RULE_ENOENT) {
            buf_printf(errors, "%s:%d: Error in applying operation '%.*s': %s. ", path, lineno,
                       (int)r.len, r.p, acl_rule_error_text(rc));
        } else if (!syntax_error) {
            buf_printf(errors, "%s:%d: %s. ", path, lineno, acl_rule_error_text(rc));
            syntax_error = 1;
        }
    }
    acl_free_strings(rules, lens, n);
}

static void load_line(struct acl_userset *set, slice line, const char *path, int lineno,
                      buf *errors) {
    slice *argv;
    int argc = split_spaces(line, &argv);
    if (argc < 2 || argv[0].len != 4 || memcmp(argv[0].p, "user", 4) != 0) {
        buf_printf(errors, "%s:%d should start with user keyword followed by the username. ", path,
                   lineno);
    } else if (acl_has_spaces(argv[1].p, argv[1].len)) {
        buf_printf(errors, "'%s:%d: username '%.*s' contains invalid characters. ", path, lineno,
                   (int)argv[1].len, argv[1].p);
    } else if (userset_find(set, argv[1].p, argv[1].len)) {
        buf_printf(errors, "WARNING: Duplicate user '%.*s' found on line %d. ", (int)argv[1].len,
                   argv[1].p, lineno);
    } else {
        acl_user *u = user_new(argv[1].p, argv[1].len);
        userset_insert(set, u);
        apply_line(u, argc, argv, path, lineno, errors);
    }
    mem_free(argv);
}

static void free_set(struct acl_userset *set) {
    for (size_t i = 0; i < set->n; i++)
        acl_user_free(set->users[i]);
    mem_free(set->users);
    memset(set, 0, sizeof(*set));
}

const char *acl_file_path(const char *aclfile, const char *dir, char *out, size_t cap) {
    if (aclfile[0] == '/' || !dir || !dir[0])
        snprintf(out, cap, "%s", aclfile);
    else
        snprintf(out, cap, "%s%s%s", dir, dir[strlen(dir) - 1] == '/' ? "" : "/", aclfile);
    return out;
}

acl_userset *acl_load_file(const char *path, const char *shown, char **err) {
    *err = NULL;
    const char *fname = path;
    if (shown) fname = shown;
    buf text;
    buf_init(&text);
    if (read_all(path, &text) < 0) {
        *err = buf_strdupf("Error loading ACLs, opening file '%s': %s", fname, strerror(errno));
        buf_deinit(&text);
        return NULL;
    }
    struct acl_userset fresh = {0};
    buf errors;
    buf_init(&errors);
    size_t start = 0;
    int lineno = 0;
    const char *data = text.data ? text.data : ""; /* an empty file has no buffer */
    for (size_t i = 0; i <= text.len; i++) {
        if (i < text.len && data[i] != '\n') continue;
        lineno++;
        slice line = trim((slice){data + start, i - start}, " \t\r\n");
        start = i + 1;
        if (line.len == 0) continue;
        load_line(&fresh, line, fname, lineno, &errors);
    }
    buf_deinit(&text);
    if (errors.len) {
        free_set(&fresh);
        buf_puts(&errors, "WARNING: ACL errors detected, no change to the previously active ACL "
                          "rules was performed");
        *err = mem_strndup(errors.data, errors.len);
        buf_deinit(&errors);
        return NULL;
    }
    buf_deinit(&errors);
    /* The default user keeps its identity and takes the file's rules (or the built-in
     * ones when the file does not define it). */
    acl_user *fresh_default = userset_remove(&fresh, "default", 7);
    if (!fresh_default) {
        fresh_default = user_new("default", 7);
        user_make_default(fresh_default);
    }
    user_copy_rules(acl_default, fresh_default);
    acl_user_free(fresh_default);
    userset_insert(&fresh, acl_default);
    acl_userset *old = mem_alloc(sizeof(*old));
    *old = acl_users;
    userset_remove(old, "default", 7);
    acl_users = fresh;
    acl_recount();
    return old;
}

void acl_userset_free(acl_userset *set) {
    if (!set) return;
    free_set(set);
    mem_free(set);
}

int acl_userset_has(const acl_userset *set, const acl_user *u) {
    for (size_t i = 0; i < set->n; i++)
        if (set->users[i] == u) return 1;
    return 0;
}

void acl_write_users(buf *out) {
    for (size_t i = 0; i < acl_users.n; i++) {
        const acl_user *u = acl_users.users[i];
        buf_puts(out, "user ");
        buf_append(out, u->name, u->name_len);
        buf_putc(out, ' ');
        acl_user_describe(u, out);
        buf_putc(out, '\n');
    }
}

static int fsync_dir_of(const char *path) {
    char dir[4096];
    snprintf(dir, sizeof(dir), "%s", path);
    char *slash = strrchr(dir, '/');
    if (slash == dir)
        dir[1] = '\0';
    else if (slash)
        *slash = '\0';
    else
        snprintf(dir, sizeof(dir), ".");
    int fd = open(dir, O_RDONLY);
    if (fd < 0) return -1;
    int rc = fsync(fd);
    close(fd);
    return rc;
}

int acl_save_file(const char *path, char **err) {
    *err = NULL;
    buf text;
    buf_init(&text);
    acl_write_users(&text);
    char tmp[4200];
    snprintf(tmp, sizeof(tmp), "%s.tmp-%d", path, (int)getpid());
    const char *step = "Opening temp ACL file for ACL SAVE";
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    int ok = fd >= 0;
    size_t off = 0;
    while (ok && off < text.len) {
        ssize_t w = write(fd, text.data + off, text.len - off);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) {
            step = "Writing ACL file for ACL SAVE";
            ok = 0;
        } else {
            off += (size_t)w;
        }
    }
    if (ok && fsync(fd) < 0) {
        step = "Syncing ACL file for ACL SAVE";
        ok = 0;
    }
    if (fd >= 0) close(fd);
    if (ok && rename(tmp, path) < 0) {
        step = "Renaming ACL file for ACL SAVE";
        ok = 0;
    }
    if (ok && fsync_dir_of(path) < 0) {
        step = "Syncing ACL directory for ACL SAVE";
        ok = 0;
    }
    buf_deinit(&text);
    if (!ok) {
        *err = buf_strdupf("%s: %s", step, strerror(errno));
        unlink(tmp);
        return -1;
    }
    return 0;
}
