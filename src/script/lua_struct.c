/* lua_struct: the `struct` module Redis scripts can use (struct.pack, struct.unpack,
 * struct.size), binary packing in the manner of Roberto Ierusalimschy's struct library
 * 0.2 that Redis ships, with its format language and error texts:
 *
 *     >  big endian        <  little endian       !n  maximum alignment n (default 8)
 *     b/B  signed/unsigned char     h/H  short      l/L  long       T  size_t
 *     i/In  signed/unsigned int of n bytes (default 4, at most 32)
 *     f  float     d  double     x  one zero byte of padding
 *     cn  n chars (c0: the whole string when packing; when unpacking, the length is the
 *         number unpacked just before)      s  a zero-terminated string
 *
 * Integers travel through Lua numbers (doubles); values wider than 8 bytes are padded
 * with zeros. Little endian is the default, with no alignment until a `!` asks for it. */
#include "script/script_int.h"

#include <ctype.h>
#include <lauxlib.h>
#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define MAX_INT_SIZE 32
#define BIG 0
#define LITTLE 1

typedef struct header {
    int endian;
    int align;
} header;

/* The strictest alignment a C type needs here (Redis's MAXALIGN). */
struct align_probe {
    char c;
    union {
        double d;
        void *p;
        lua_Number n;
        long l;
    } u;
};
#define MAX_ALIGN ((int)offsetof(struct align_probe, u))

static void default_header(header *h) {
    h->endian = LITTLE;
    h->align = 1;
}

static int read_number(lua_State *L, const char **fmt, int dflt) {
    if (!isdigit((unsigned char)**fmt)) return dflt;
    int a = 0;
    do {
        int digit = **fmt - '0';
        if (a > INT_MAX / 10 || a * 10 > INT_MAX - digit) luaL_error(L, "integral size overflow");
        a = a * 10 + digit;
        (*fmt)++;
    } while (isdigit((unsigned char)**fmt));
    return a;
}

static size_t option_size(lua_State *L, char opt, const char **fmt) {
    switch (opt) {
    case 'B':
    case 'b':
        return sizeof(char);
    case 'H':
    case 'h':
        return sizeof(short);
    case 'L':
    case 'l':
        return sizeof(long);
    case 'T':
        return sizeof(size_t);
    case 'f':
        return sizeof(float);
    case 'd':
        return sizeof(double);
    case 'x':
        return 1;
    case 'c':
        return (size_t)read_number(L, fmt, 1);
    case 'i':
    case 'I': {
        int sz = read_number(L, fmt, (int)sizeof(int));
        if (sz > MAX_INT_SIZE)
            luaL_error(L, "integral size %d is larger than limit of %d", sz, MAX_INT_SIZE);
        return (size_t)sz;
    }
    default:
        return 0;
    }
}

static size_t padding_for(size_t len, const header *h, char opt, size_t size) {
    if (size == 0 || opt == 'c') return 0;
    if (size > (size_t)h->align) size = (size_t)h->align;
    return (size - (len & (size - 1))) & (size - 1);
}

static void control_option(lua_State *L, char opt, const char **fmt, header *h) {
    switch (opt) {
    case ' ':
        return;
    case '>':
        h->endian = BIG;
        return;
    case '<':
        h->endian = LITTLE;
        return;
    case '!': {
        int a = read_number(L, fmt, MAX_ALIGN);
        if (a == 0 || (a & (a - 1)) != 0) luaL_error(L, "alignment %d is not a power of 2", a);
        h->align = a;
        return;
    }
    default: {
        const char *msg = lua_pushfstring(L, "invalid format option '%c'", opt);
        luaL_argerror(L, 1, msg);
    }
    }
}

/* Bytes of a float/double in the requested order (the machine is little endian). */
static void order_bytes(char *p, size_t size, int endian) {
    if (endian == LITTLE) return;
    for (size_t i = 0, j = size - 1; i < j; i++, j--) {
        char t = p[i];
        p[i] = p[j];
        p[j] = t;
    }
}

static void put_integer(lua_State *L, luaL_Buffer *b, int arg, int endian, size_t size) {
    lua_Number n = luaL_checknumber(L, arg);
    unsigned long long v;
    if (n < 0)
        v = (unsigned long long)(long long)n;
    else
        v = (unsigned long long)n;
    char out[MAX_INT_SIZE];
    for (size_t i = 0; i < size; i++) {
        size_t at = endian == LITTLE ? i : size - 1 - i;
        out[at] = (char)(v & 0xff);
        v = i < 7 ? v >> 8 : 0;
    }
    luaL_addlstring(b, out, size);
}

static int struct_pack(lua_State *L) {
    const char *fmt = luaL_checkstring(L, 1);
    header h;
    int arg = 2;
    size_t total = 0;
    default_header(&h);
    lua_pushnil(L); /* separates the arguments from the buffer's pieces */
    luaL_Buffer b;
    luaL_buffinit(L, &b);
    while (*fmt) {
        char opt = *fmt++;
        size_t size = option_size(L, opt, &fmt);
        size_t pad = padding_for(total, &h, opt, size);
        total += pad;
        while (pad-- > 0)
            luaL_addchar(&b, '\0');
        switch (opt) {
        case 'b':
        case 'B':
        case 'h':
        case 'H':
        case 'l':
        case 'L':
        case 'T':
        case 'i':
        case 'I':
            put_integer(L, &b, arg++, h.endian, size);
            break;
        case 'x':
            luaL_addchar(&b, '\0');
            break;
        case 'f': {
            float f = (float)luaL_checknumber(L, arg++);
            order_bytes((char *)&f, size, h.endian);
            luaL_addlstring(&b, (char *)&f, size);
            break;
        }
        case 'd': {
            double d = luaL_checknumber(L, arg++);
            order_bytes((char *)&d, size, h.endian);
            luaL_addlstring(&b, (char *)&d, size);
            break;
        }
        case 'c':
        case 's': {
            size_t l;
            const char *s = luaL_checklstring(L, arg++, &l);
            if (size == 0) size = l;
            luaL_argcheck(L, l >= size, arg, "string too short");
            luaL_addlstring(&b, s, size);
            if (opt == 's') {
                luaL_addchar(&b, '\0');
                size++;
            }
            break;
        }
        default:
            control_option(L, opt, &fmt, &h);
        }
        total += size;
    }
    luaL_pushresult(&b);
    return 1;
}

static lua_Number get_integer(const char *p, int endian, int is_signed, size_t size) {
    unsigned long long v = 0;
    for (size_t i = 0; i < size; i++) {
        size_t at = endian == BIG ? i : size - 1 - i;
        v = (v << 8) | (unsigned char)p[at];
    }
    if (!is_signed) return (lua_Number)v;
    /* Sign extension from the top bit of size bytes (the shift count wraps as on x86 when
     * size is over 8, like the library Redis builds). */
    unsigned long long mask = ~0ULL << ((size * 8 - 1) & 63);
    if (v & mask) v |= mask;
    return (lua_Number)(long long)v;
}

static int struct_unpack(lua_State *L) {
    header h;
    const char *fmt = luaL_checkstring(L, 1);
    size_t ld;
    const char *data = luaL_checklstring(L, 2, &ld);
    lua_Integer start = luaL_optinteger(L, 3, 1);
    luaL_argcheck(L, start > 0, 3, "offset must be 1 or greater");
    size_t pos = (size_t)start - 1;
    int n = 0;
    default_header(&h);
    while (*fmt) {
        char opt = *fmt++;
        size_t size = option_size(L, opt, &fmt);
        pos += padding_for(pos, &h, opt, size);
        luaL_argcheck(L, size <= ld && pos <= ld - size, 2, "data string too short");
        luaL_checkstack(L, 2, "too many results");
        switch (opt) {
        case 'b':
        case 'B':
        case 'h':
        case 'H':
        case 'l':
        case 'L':
        case 'T':
        case 'i':
        case 'I':
            lua_pushnumber(L, get_integer(data + pos, h.endian, islower((unsigned char)opt), size));
            n++;
            break;
        case 'x':
            break;
        case 'f': {
            float f;
            memcpy(&f, data + pos, size);
            order_bytes((char *)&f, sizeof(f), h.endian);
            lua_pushnumber(L, f);
            n++;
            break;
        }
        case 'd': {
            double d;
            memcpy(&d, data + pos, size);
            order_bytes((char *)&d, sizeof(d), h.endian);
            lua_pushnumber(L, d);
            n++;
            break;
        }
        case 'c':
            if (size == 0) {
                if (n == 0 || !lua_isnumber(L, -1))
                    luaL_error(L, "format 'c0' needs a previous size");
                size = (size_t)lua_tonumber(L, -1);
                lua_pop(L, 1);
                n--;
                luaL_argcheck(L, size <= ld && pos <= ld - size, 2, "data string too short");
            }
            lua_pushlstring(L, data + pos, size);
            n++;
            break;
        case 's': {
            const char *e = memchr(data + pos, '\0', ld - pos);
            if (!e) luaL_error(L, "unfinished string in data");
            size = (size_t)(e - (data + pos)) + 1;
            lua_pushlstring(L, data + pos, size - 1);
            n++;
            break;
        }
        default:
            control_option(L, opt, &fmt, &h);
        }
        pos += size;
    }
    lua_pushinteger(L, (lua_Integer)pos + 1);
    return n + 1;
}

static int struct_size(lua_State *L) {
    header h;
    const char *fmt = luaL_checkstring(L, 1);
    size_t pos = 0;
    default_header(&h);
    while (*fmt) {
        char opt = *fmt++;
        size_t size = option_size(L, opt, &fmt);
        pos += padding_for(pos, &h, opt, size);
        if (opt == 's')
            luaL_argerror(L, 1, "option 's' has no fixed size");
        else if (opt == 'c' && size == 0)
            luaL_argerror(L, 1, "option 'c0' has no fixed size");
        if (!isalnum((unsigned char)opt)) control_option(L, opt, &fmt, &h);
        pos += size;
    }
    lua_pushinteger(L, (lua_Integer)pos);
    return 1;
}

int luaopen_struct(lua_State *L) {
    static const luaL_Reg fns[] = {
        {"pack", struct_pack},
        {"unpack", struct_unpack},
        {"size", struct_size},
        {NULL, NULL},
    };
    luaL_register(L, "struct", fns);
    return 1;
}
