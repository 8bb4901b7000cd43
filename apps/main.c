/* strand: the command-line tool. Dispatches `strand <command> [options]` through one table
 * (apps/commands.c) with apps/cli.c. */
#include <stdio.h>
#include <string.h>

#include "apps/cli.h"
#include "apps/commands.h"
#include "core/atomic_file.h"
#include "strand.h"

static void print_commands(FILE *fp)
{
    fprintf(fp, "\nProgram: strand (genomics and molecule-design workbench)\n");
    fprintf(fp, "Version: %s\n\n", strand_version_string());
    fprintf(fp, "Usage:   strand <command> [options]\n\n");
    cli_list(fp, strand_commands);
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
    if (argc >= 2 && (!strcmp(argv[1], "--version") || !strcmp(argv[1], "version"))) {
        print_version();
        return 0;
    }
    st_atomic_cleanup_on_signals(); /* SIGINT/SIGTERM/SIGHUP remove every command's temporaries */
    return cli_dispatch(strand_commands, "command", print_commands, argc, argv);
}
