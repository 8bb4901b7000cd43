#include "apps/commands.h"

#include <stddef.h>

/* Keep in the order users meet them; `strand` alone prints this table. */
const strand_command strand_commands[] = {
    /* helpers add one line per command here */
    {NULL, NULL, NULL},
};
