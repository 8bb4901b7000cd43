#include "guidance/noise.h"
#include "caduceus/caduceus.h" /* planted: sibling */
