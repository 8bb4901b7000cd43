/* strand's own version (the public calls; the macros are in strand.h). The versions of the
 * libraries strand runs on are collected above every layer, in api/dep_versions.c. */
#include "strand.h"

const char *strand_version_string(void) { return STRAND_VERSION_STRING; }
int strand_version_number(void) { return STRAND_VERSION_NUMBER; }
