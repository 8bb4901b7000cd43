/* `strand train <kind>`: the table of trainable kinds. Each kind is one file,
 * apps/cmd_train_<kind>.c, and one row here. */
#include "apps/commands.h"

static const cli_cmd train_kinds[] = {
    {"Trainable kinds", NULL, NULL},
    {"caduceus", cmd_train_caduceus_main, "masked-LM pretraining of a Caduceus-PS/PH DNA model"},
    {NULL, NULL, NULL},
};

int cmd_train_main(int argc, char **argv) { return cli_dispatch(train_kinds, "kind", NULL, argc, argv); }
