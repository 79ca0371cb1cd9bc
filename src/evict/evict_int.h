/* evict_int: what the files of evict/ share and nobody else sees. */
#ifndef MAYFLY_EVICT_EVICT_INT_H
#define MAYFLY_EVICT_EVICT_INT_H

#include "mayfly/util/buf.h"

/* clients.c: the maxmemory-clients directive (a row of evict_config_rows): a memory value
 * or "N%" of maxmemory. Storing it switches client memory tracking on or off. */
int evict_parse_maxmemory_clients(const char *v, const char **err);
void evict_print_maxmemory_clients(buf *out);

#endif
