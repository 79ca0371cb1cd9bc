/* Violations the layer check must report: db/ reaching up into cmd/, and into cmd/'s
 * private header. */
#include "cmd/table_int.h"
#include "mayfly/cmd/cmd.h"
#include "mayfly/db/db.h"
