/* object: dispatch on a value's type for the operations every type provides (free, copy,
 * memory, names). Each type's functions live in its own file; this file only switches.
 */
#include "mayfly/types/object.h"

#include "mayfly/types/hash.h"
#include "mayfly/types/string.h"

#include <assert.h>
#include <stdlib.h>

void obj_free(obj *o) {
    if (!o) return;
    switch (o->type) {
    case OBJ_STRING:
        string_free((string *)o);
        return;
    case OBJ_HASH:
        hash_free((hash *)o);
        return;
    default:
        assert(!"obj_free: unknown type");
        abort();
    }
}

size_t obj_free_cost(const obj *o) {
    return o->type == OBJ_HASH ? hash_free_cost((const hash *)o) : 1;
}

int obj_free_some(obj *o, size_t max) {
    if (o->type == OBJ_HASH) return hash_free_some((hash *)o, max);
    obj_free(o);
    return 1;
}

obj *obj_dup(const obj *o) {
    switch (o->type) {
    case OBJ_STRING:
        return &string_dup((const string *)o)->hdr;
    case OBJ_HASH:
        return (obj *)hash_dup((const hash *)o); /* the obj header comes first */
    default:
        assert(!"obj_dup: unknown type");
        abort();
    }
}

size_t obj_memory(const obj *o) {
    switch (o->type) {
    case OBJ_STRING:
        return string_memory((const string *)o);
    case OBJ_HASH:
        return hash_memory((const hash *)o);
    default:
        return 0;
    }
}

const char *obj_type_name(const obj *o) {
    switch (o->type) {
    case OBJ_STRING:
        return "string";
    case OBJ_HASH:
        return "hash";
    default:
        return "unknown";
    }
}

const char *obj_enc_name(const obj *o) {
    switch (o->enc) {
    case ENC_RAW:
        return "raw";
    case ENC_INT:
        return "int";
    case ENC_EMBSTR: /* Redis embeds up to 44 bytes: a longer inline value is "raw" there */
        return string_len((const string *)o) > STRING_EMBSTR_MAX ? "raw" : "embstr";
    case ENC_LISTPACK:
        return "listpack";
    case ENC_LISTPACKEX:
        return "listpackex";
    case ENC_HASHTABLE:
        return "hashtable";
    default:
        return "unknown";
    }
}
