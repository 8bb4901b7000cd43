/* strand: the command-line tool. Dispatches `strand <command> [options]` through one table. */
#include <stdio.h>
#include <string.h>

#include "apps/commands.h"
#include "strand.h"

static void print_commands(FILE *fp)
{
    fprintf(fp, "\nProgram: strand (genomics and molecule-design workbench)\n");
    fprintf(fp, "Version: %s\n\n", strand_version_string());
    fprintf(fp, "Usage:   strand <command> [options]\n\nCommands:\n");
    for (const strand_command *c = strand_commands; c->name; c++)
        fprintf(fp, "    %-12s %s\n", c->name, c->help);
    fprintf(fp, "\n    --version    print the versions of strand and the libraries it uses\n");
    fprintf(fp, "\nRun `strand <command>` with no arguments for that command's usage.\n\n");
}

static void print_version(void)
{
    strand_dep_versions v = strand_get_dep_versions();
    printf("strand %s\n", strand_version_string());
    printf("htslib %s\n", v.htslib);
    printf("%s\n", v.openblas); /* already starts with "OpenBLAS <version>" */
    printf("zstd %s\n", v.zstd);
    printf("RDKit %s\n", v.rdkit);
    printf("jansson %s\n", v.jansson);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        print_commands(stdout);
        return 0;
    }
    if (!strcmp(argv[1], "--version") || !strcmp(argv[1], "version")) {
        print_version();
        return 0;
    }
    if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
        print_commands(stdout);
        return 0;
    }
    for (const strand_command *c = strand_commands; c->name; c++)
        if (!strcmp(argv[1], c->name)) return c->main_fn(argc - 1, argv + 1);
    fprintf(stderr, "strand: unknown command \"%s\"\n", argv[1]);
    print_commands(stderr);
    return 1;
}
