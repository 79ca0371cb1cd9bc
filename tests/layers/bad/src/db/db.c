/* Violations the layer check must report: db/ reaching up into cmd/, and into cmd/'s
 * private header. */
#include "mayfly/db/db.h"

#include "cmd/table_int.h"
#include "mayfly/cmd/cmd.h"
