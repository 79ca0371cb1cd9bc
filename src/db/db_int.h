/* db_int.h: what db.c (the keyspace: tables, entries, filing) and db_expire.c (reaping:
 * lazy, active, eviction of fields, freeing in steps) share. Only src/db/ includes it. */
#ifndef MAYFLY_DB_DB_INT_H
#define MAYFLY_DB_DB_INT_H

#include "mayfly/db/db.h"

#include <stddef.h>
#include <stdint.h>

/* The entry whose dbttl holds expiry item it. */
#define ENTRY_OF_ITEM(it) ((dbentry *)((char *)(it)-offsetof(dbttl, exp) + sizeof(dbttl)))
/* The bookkeeping of an entry known to have one. */
#define TTL_OF(e) ((dbttl *)((char *)(e) - sizeof(dbttl)))
/* Bytes of bookkeeping in front of e. */
#define TTL_BYTES(e) ((e)->ttl ? sizeof(dbttl) : 0)

/* ---- db.c ---- */

/* Remembers now_ms as the latest time the keyspace was given (unless DB_NOW_NOTHING_DUE). */
void db_note_time(int64_t now_ms);
/* The deadline an entry is filed under: its key TTL or its hash's next field deadline,
 * whichever comes first (EXPIRE_NONE: none). */
int64_t db_filing_deadline(const dbentry *e);
/* Takes a slim entry (db.h) out of deaths while its value is still as filed (before its
 * fields are reaped); it is not slim afterwards. No effect on other entries. */
void db_slim_unfile(db *d, dbentry *e);
/* db_refile of an entry that cannot move: it has its dbttl already, or is slim, or is to
 * be filed slim. */
void db_refile_in_place(db *d, dbentry *e);
/* Unlinks an entry from its database (table, slot list, indexes, counters); the caller
 * frees it. */
void db_unlink_entry(db *d, dbentry *e);
/* Frees the allocation of an unlinked entry (not its value). */
void db_entry_mem_free(dbentry *e);
/* Lets a value go: the installed freer (db_set_value_freer) or obj_free. */
void db_drop_value(obj *val, enum db_free_why why);

/* ---- db_expire.c ---- */

/* check_live's rare case: e, which has a dbttl, is due (its key TTL, or its hash's earliest
 * field deadline). Applies lazy expiry within the command's budget, or, in DB_EXPIRE_HIDE
 * mode, only hides; returns e if it is still live, else NULL. */
dbentry *db_found_due(db *d, dbentry *e, int64_t now_ms);
/* Frees every value still queued to be freed in steps (shutdown). */
void db_pending_free_all(void);

#endif
