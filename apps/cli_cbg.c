/* --classifier/--class/--cbg options (apps/cli_cbg.h). */
#include "apps/cli_cbg.h"

#include <limits.h>
#include <math.h>
#include <string.h>

#include "apps/cli.h"

enum { C_CLF = CLI_CBG_OPT0, C_CLASS, C_MODE, C_MEM, C_CFG };

void cli_cbg_defaults(cli_cbg_opts *o)
{
    memset(o, 0, sizeof *o);
    o->cls = -1;
    o->mode = STRAND_CBG_FIRST_ORDER;
    o->cfg_gamma = NAN;
}

int cli_cbg_option(cli_cbg_opts *o, int c, const char *arg)
{
    switch (c) {
    case C_CLF: o->classifier = arg; break;
    case C_CLASS: o->cls = cli_int("--class", arg, 0, INT_MAX); break;
    case C_MODE:
        if (!strcmp(arg, "exact")) o->mode = STRAND_CBG_EXACT;
        else if (!strcmp(arg, "first-order")) o->mode = STRAND_CBG_FIRST_ORDER;
        else cli_die("bad --cbg \"%s\": want exact or first-order", arg);
        break;
    case C_MEM: o->mem_mb = cli_long("--cbg-mem-mb", arg, 1, LONG_MAX / (1L << 20)); break;
    case C_CFG: o->cfg_gamma = cli_double("--cfg-gamma", arg, 0, 1e6); break;
    default: return 0;
    }
    return 1;
}

void cli_cbg_usage(FILE *fp)
{
    fprintf(fp,
            "Classifier-based guidance (docs/diffusion.md \"Classifier-based guidance\"):\n"
            "      --classifier C    a noisy classifier (`strand train classifier`) over the model's vocabulary;\n"
            "                        with it --gamma is the CBG weight: q(v) * p(Y | z_t, position set to v)^gamma\n"
            "      --class Y         the class to steer towards (required with --classifier)\n"
            "      --cbg MODE        exact (every single-token edit scored: up to L*V classifier rows per\n"
            "                        sequence and step) or first-order (one forward + backward) [first-order]\n"
            "      --cbg-mem-mb M    exact mode's bound on classifier memory [2048]\n"
            "      --cfg-gamma G     with --classifier and --label: the CFG weight (the factors multiply) [1]\n");
}

int cli_cbg_finish(cli_cbg_opts *o, double gamma, double *cfg_gamma)
{
    if (!o->classifier) {
        if (o->cls >= 0) return cli_error("--class needs --classifier");
        if (!isnan(o->cfg_gamma)) return cli_error("--cfg-gamma needs --classifier (without it --gamma is CFG's weight)");
        *cfg_gamma = gamma;
        return 0;
    }
    if (o->cls < 0) return cli_error("--classifier needs --class Y");
    *cfg_gamma = isnan(o->cfg_gamma) ? 1.0 : o->cfg_gamma;
    return 0;
}

int cli_cbg_attach(const cli_cbg_opts *o, strand_sampler *s, double gamma, strand_classifier **clf)
{
    *clf = NULL;
    if (!o->classifier) return 0;
    if (strand_classifier_load(o->classifier, clf) < 0) return cli_error("--classifier: %s", strand_last_error());
    if (strand_sampler_set_classifier(s, *clf, o->cls, gamma, o->mode, (size_t)o->mem_mb << 20) < 0)
        return cli_error("%s: %s", o->classifier, strand_sampler_last_error(s));
    return 0;
}
