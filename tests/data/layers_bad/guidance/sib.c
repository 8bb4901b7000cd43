#include "guidance/noise.h"
#include "caduceus/bimamba.h" /* planted: sibling */
