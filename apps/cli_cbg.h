/* The classifier-based guidance options of `strand sample` and `strand posterior`
 * (docs/diffusion.md "Classifier-based guidance"): --classifier C --class Y --cbg exact|first-order
 * --cbg-mem-mb M, and how --gamma reads with them: with --classifier, --gamma is the CBG weight
 * and CFG's weight (with --label) is --cfg-gamma (default 1: plain conditional). */
#ifndef STRAND_APPS_CLI_CBG_H
#define STRAND_APPS_CLI_CBG_H
#include <getopt.h>
#include <stdio.h>

#include "strand.h"

enum { CLI_CBG_OPT0 = 800 };

typedef struct cli_cbg_opts {
    const char *classifier;
    int cls, mode;     /* class (-1: not given), STRAND_CBG_* */
    double cfg_gamma;  /* NAN: not given */
    long mem_mb;       /* 0: the library's bound */
} cli_cbg_opts;

/* The group's getopt_long rows, to put in a command's table. */
#define CLI_CBG_LONGOPTS                                                                                     \
    {"classifier", required_argument, NULL, CLI_CBG_OPT0}, {"class", required_argument, NULL, CLI_CBG_OPT0 + 1}, \
        {"cbg", required_argument, NULL, CLI_CBG_OPT0 + 2}, {"cbg-mem-mb", required_argument, NULL, CLI_CBG_OPT0 + 3}, \
        {"cfg-gamma", required_argument, NULL, CLI_CBG_OPT0 + 4}
void cli_cbg_defaults(cli_cbg_opts *o);
int cli_cbg_option(cli_cbg_opts *o, int c, const char *arg); /* 1: handled */
void cli_cbg_usage(FILE *fp);
/* After parsing: the CFG weight for the sampler (gamma when no classifier, else --cfg-gamma or 1),
 * with checks (--class needs --classifier and the reverse; --cfg-gamma needs --classifier).
 * Returns 0 or 1 (error printed). */
int cli_cbg_finish(cli_cbg_opts *o, double gamma, double *cfg_gamma);
/* Load the classifier and attach it to the sampler with weight gamma; *clf owned by the caller.
 * 0 or 1 (error printed, naming the classifier). */
int cli_cbg_attach(const cli_cbg_opts *o, strand_sampler *s, double gamma, strand_classifier **clf);
#endif
