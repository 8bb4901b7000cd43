#include "api/x.h"
#include "design/y.h"
