#include "core/error.h"
#include "chem/chem.h"
/* an include inside a comment is not an include:
#include "apps/cli.h"
 */
