/* info: the INFO text, shared by the INFO command and anything that wants it. */
#ifndef MAYFLY_CMD_INFO_H
#define MAYFLY_CMD_INFO_H

#include "mayfly/util/buf.h"
#include "mayfly/util/slice.h"

#include <stdint.h>

/* Appends the INFO text for the named sections (none: the default set) to b. */
void info_build(buf *b, const slice *names, int n, int64_t now_ms);
/* Writes the "# Persistence" section; persistence replaces the default. */
extern void (*info_persistence)(buf *b);

#endif
