/* What every `strand` command shares (bcftools' error()/cmd_t idea): the error line, the number
 * parsers, and dispatch from a command table. Only apps/ may exit(); these are the exits.
 *
 * Error lines read `strand vep: cannot open "x.vcf": No such file or directory`: the prefix is the
 * command path that cli_dispatch built on its way down ("strand", "strand data smiles", ...).
 * Number parsers all take (option name, text, lo, hi) and return the value; text that is not a
 * whole number (int/long) or a finite number (double) in [lo, hi] ends the program with
 * `strand X: bad --opt "text": want ...` and status 1. Use them only while parsing options, before
 * anything needs cleaning up (a temporary output, say): later failures return cli_error(...). */
#ifndef STRAND_APPS_CLI_H
#define STRAND_APPS_CLI_H
#include <stdint.h>
#include <stdio.h>

/* A growing list of option values (repeatable -r REGION, say); the strings are not copied. */
typedef struct cli_strs {
    const char **v;
    int n, cap;
} cli_strs;
void cli_strs_push(cli_strs *l, const char *s); /* out of memory: cli_die */
void cli_strs_free(cli_strs *l);

/* One row of a command table. A row with func NULL is a section heading (name = its title). The
 * table ends with a row whose name is NULL. */
typedef struct cli_cmd {
    const char *name;
    int (*func)(int argc, char **argv); /* argv[0] is the command's own name */
    const char *help;                   /* one line for the listing */
} cli_cmd;

/* "strand", then "strand <command>"... as cli_dispatch descends. */
const char *cli_prog(void);

/* Print "<prog>: <message>\n" on stderr. cli_error returns 1 (a command's exit status); cli_die exits 1. */
int cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void cli_die(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));
/* The same line for news that is not an error (summaries, progress lines). */
void cli_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

int cli_int(const char *opt, const char *text, int lo, int hi);
long cli_long(const char *opt, const char *text, long lo, long hi);
double cli_double(const char *opt, const char *text, double lo, double hi);
uint64_t cli_u64(const char *opt, const char *text); /* any value of 64 bits (seeds) */

/* The table as "    name        help" lines, a section row as "Title:". */
void cli_list(FILE *fp, const cli_cmd *cmds);
/* argv[1] names a row of cmds: run its func(argc - 1, argv + 1) with the prefix extended by the name.
 * No argv[1], -h, --help or help: the usage (usage(fp), or a generic one: "Usage: <prog> <what>
 * [options]" and the table) on stdout, status 0. An unknown name: an error and the usage on stderr,
 * status 1. */
int cli_dispatch(const cli_cmd *cmds, const char *what, void (*usage)(FILE *fp), int argc, char **argv);
#endif
