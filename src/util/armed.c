/* armed: the count of switches that are on (see armed.h). */
#include "mayfly/util/armed.h"

int armed_on;
