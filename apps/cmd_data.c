/* `strand data <subcommand>`: create and describe datasets (windows, SMILES tables, shards). */
#include <stdio.h>
#include <string.h>

#include "apps/commands.h"

typedef struct data_subcommand {
    const char *name;
    int (*main_fn)(int argc, char **argv);
    const char *help;
} data_subcommand;

/* Each data subcommand lives in apps/cmd_data_<name>.c; add one line per subcommand here. */
static const data_subcommand data_subcommands[] = {
    {"smiles", cmd_data_smiles_main, "validate/canonicalise a SMILES table and add RDKit properties (QED, logP, ...)"},
    {"windows", cmd_data_windows_main, "cut a FASTA into fixed-length token windows with train/val/test splits"},
    {"info", cmd_data_info_main, "describe token shards: kind, counts, vocabulary, splits, checksum"},
    {NULL, NULL, NULL},
};

static void data_usage(FILE *fp)
{
    fprintf(fp, "\nUsage: strand data <subcommand> [options]\n\nSubcommands:\n");
    for (const data_subcommand *c = data_subcommands; c->name; c++)
        fprintf(fp, "    %-10s %s\n", c->name, c->help);
    fprintf(fp, "\nRun `strand data <subcommand>` with no arguments for its usage.\n\n");
}

int cmd_data_main(int argc, char **argv)
{
    if (argc < 2) {
        data_usage(stdout);
        return 0;
    }
    for (const data_subcommand *c = data_subcommands; c->name; c++)
        if (!strcmp(argv[1], c->name)) return c->main_fn(argc - 1, argv + 1);
    fprintf(stderr, "strand data: unknown subcommand \"%s\"\n", argv[1]);
    data_usage(stderr);
    return 1;
}
