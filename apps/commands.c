#include "apps/commands.h"

#include <stddef.h>

/* Keep in the order users meet them; `strand` alone prints this table. */
const strand_command strand_commands[] = {
    {"data", cmd_data_main, "create and describe datasets: windows, SMILES tables, token shards"},
    {NULL, NULL, NULL},
};
