/* splitargs: one word splitter with the quoting rules of Redis's sdssplitargs, shared by the
 * inline request parser (resp/) and the files Mayfly reads in Redis's syntax (the AOF
 * manifest, the config file, ACL selectors). splitargs_one reads one word (the caller skips
 * blanks and owns the output buffer, never longer than the input); splitargs_split a line. */
#include "mayfly/util/splitargs.h"

int splitargs_blank(char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

static int hex_value(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* One character after a backslash inside double quotes. */
static char unescape(char c) {
    switch (c) {
    case 'n':
        return '\n';
    case 'r':
        return '\r';
    case 't':
        return '\t';
    case 'b':
        return '\b';
    case 'a':
        return '\a';
    default:
        return c;
    }
}

long long splitargs_one(const char *line, size_t n, size_t *i, char *out) {
    size_t j = *i, o = 0;
    char quote = 0;
    for (;;) {
        if (quote == '"') {
            if (j >= n) return -1;
            if (line[j] == '\\' && j + 3 < n && line[j + 1] == 'x' && hex_value(line[j + 2]) >= 0 &&
                hex_value(line[j + 3]) >= 0) {
                out[o++] = (char)(hex_value(line[j + 2]) * 16 + hex_value(line[j + 3]));
                j += 4;
            } else if (line[j] == '\\' && j + 1 < n) {
                out[o++] = unescape(line[j + 1]);
                j += 2;
            } else if (line[j] == '"') {
                if (j + 1 < n && !splitargs_blank(line[j + 1])) return -1;
                j++;
                break;
            } else {
                out[o++] = line[j++];
            }
        } else if (quote == '\'') {
            if (j >= n) return -1;
            if (line[j] == '\\' && j + 1 < n && line[j + 1] == '\'') {
                out[o++] = '\'';
                j += 2;
            } else if (line[j] == '\'') {
                if (j + 1 < n && !splitargs_blank(line[j + 1])) return -1;
                j++;
                break;
            } else {
                out[o++] = line[j++];
            }
        } else {
            if (j >= n) break;
            char c = line[j];
            if (c == ' ' || c == '\t' || c == '\r' || c == '\n') break;
            if (c == '"' || c == '\'')
                quote = c;
            else
                out[o++] = c;
            j++;
        }
    }
    *i = j;
    return (long long)o;
}

int splitargs_split(const char *line, size_t n, char *store, char **words, size_t *lens, int max) {
    size_t i = 0;
    int count = 0;
    char *w = store;
    for (;;) {
        while (i < n && splitargs_blank(line[i]))
            i++;
        if (i == n) return count;
        if (count == max) return -2;
        long long wlen = splitargs_one(line, n, &i, w);
        if (wlen < 0) return -1;
        words[count] = w;
        if (lens) lens[count] = (size_t)wlen;
        count++;
        w += wlen;
        *w++ = '\0';
    }
}
