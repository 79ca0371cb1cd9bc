/* object: the common header of every value stored in the keyspace.
 *
 * Each type's struct begins with an `obj` (e.g. `struct hash { obj hdr; ... }`), so the
 * keyspace stores `obj *` and dispatches on hdr.type. The encoding names are Redis's, as
 * OBJECT ENCODING reports them. */
#ifndef MAYFLY_TYPES_OBJECT_H
#define MAYFLY_TYPES_OBJECT_H

#include <stddef.h>
#include <stdint.h>

enum obj_type {
    OBJ_STRING = 0,
    OBJ_HASH = 1,
};

enum obj_enc {
    ENC_RAW = 0,        /* string: bytes */
    ENC_INT = 1,        /* string: a 64-bit integer */
    ENC_EMBSTR = 2,     /* string: short bytes stored inline with the object */
    ENC_LISTPACK = 3,   /* hash: compact, no field TTLs */
    ENC_LISTPACKEX = 4, /* hash: compact, some field TTLs */
    ENC_HASHTABLE = 5,  /* hash: hash table */
};

/* obj.flags */
#define OBJF_SHARED 1    /* reported as shared by OBJECT REFCOUNT (Redis's shared integers) */
#define OBJF_SUBEXPIRY 2 /* a hash counted in its database's subexpiry (db/ bookkeeping) */

typedef struct obj {
    uint8_t type;   /* enum obj_type */
    uint8_t enc;    /* enum obj_enc */
    uint16_t flags; /* OBJF_* */
    uint32_t lru;   /* seconds clock of last access, for OBJECT IDLETIME and eviction */
} obj;

/* Frees a value of any type (NULL does nothing). */
void obj_free(obj *o);
/* Units of work (allocations) that freeing o costs: 1 for most values, about the number
 * of fields for a hashtable hash. */
size_t obj_free_cost(const obj *o);
/* Frees up to about max units of o, a value no longer reachable that is being destroyed
 * piecemeal (a huge expired hash, freed between requests); returns 1 once o is entirely
 * freed (o is invalid then), 0 while some remains. */
int obj_free_some(obj *o, size_t max);
/* Returns an owned deep copy (COPY). */
obj *obj_dup(const obj *o);
/* Approximate bytes used by the value (MEMORY USAGE). */
size_t obj_memory(const obj *o);
/* "string" or "hash" (TYPE). */
const char *obj_type_name(const obj *o);
/* Redis's encoding name (OBJECT ENCODING). */
const char *obj_enc_name(const obj *o);

#endif
