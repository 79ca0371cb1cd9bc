#ifndef MAYFLY_UTIL_SPLITARGS_H
#define MAYFLY_UTIL_SPLITARGS_H

#include <stddef.h>

/* 1 for the characters C's isspace accepts in the C locale, which sdssplitargs uses to skip
 * blanks between arguments and to check the byte after a closing quote. */
int splitargs_blank(char c);

/* Reads one argument starting at line[*i] (not a blank) into out, as sdssplitargs does:
 * an unquoted word ends at ' ', '\t', '\r', '\n' or the end of the line; quotes may start
 * anywhere in a word and then close the argument. Inside "..." the escapes \n \r \t \b \a
 * \xHH and \<any> apply; inside '...' only \' does. A closing quote must be followed by a
 * blank or the end. Advances *i past the argument. Returns the argument's length, or -1 on
 * unbalanced quotes. out needs room for n - *i bytes. */
long long splitargs_one(const char *line, size_t n, size_t *i, char *out);

/* Splits line[0..n) into words as sdssplitargs does, each copied NUL-terminated into store
 * (which needs n + 1 bytes) and pointed to by words[k], its length in lens[k] (lens may be
 * NULL). Returns the word count, -1 on unbalanced quotes, -2 past max words. */
int splitargs_split(const char *line, size_t n, char *store, char **words, size_t *lens, int max);

#endif
