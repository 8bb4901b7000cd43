/* `strand data <subcommand>`: create and describe datasets (windows, SMILES tables, shards). */
#include "apps/commands.h"

/* Each data subcommand lives in apps/cmd_data_<name>.c; add one row per subcommand here. */
static const cli_cmd data_subcommands[] = {
    {"Subcommands", NULL, NULL},
    {"smiles", cmd_data_smiles_main, "validate/canonicalise a SMILES table and add RDKit properties (QED, logP, ...)"},
    {"windows", cmd_data_windows_main, "cut a FASTA into fixed-length token windows with train/val/test splits"},
    {"info", cmd_data_info_main, "describe token shards: kind, counts, vocabulary, splits, checksum"},
    {NULL, NULL, NULL},
};

int cmd_data_main(int argc, char **argv) { return cli_dispatch(data_subcommands, "subcommand", NULL, argc, argv); }
