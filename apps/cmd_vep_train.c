/* `strand vep-train`: fit a STRAND_P head (docs/vep.md "Trained score") on strand features of a
 * labelled VCF; caduceus/vep_train.c does the work. */
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "apps/cli.h"
#include "apps/commands.h"
#include "caduceus/vep.h"
#include "caduceus/vep_train.h"
#include "strand.h"

static void usage(FILE *fp)
{
    fprintf(fp,
            "\nUsage: strand vep-train -m MODEL -f REF.fa (--label-info FIELD | --labels TSV) -o HEAD [options] IN.vcf\n\n"
            "Fits a calibrated variant score on strand features (docs/vep.md \"Trained score\"): for every labelled ALT\n"
            "of IN.vcf the pooled strand-collapsed embeddings of its REF and ALT windows and their difference (emb),\n"
            "STRAND_LLR (llr) and, with --distance-info, log10(1+|d|) and sign(d) of an INFO distance (dist); ridge\n"
            "logistic regression, k-fold cross-validation, Platt calibration on the held-out folds. Prints the\n"
            "cross-validated AUROC of the head's features and of distance-only / strand-only comparisons (by distance\n"
            "bucket 0-30 kb, 30-100 kb, > 100 kb when a distance is given), the ECE and reliability table of the\n"
            "calibrated probability; writes HEAD for `strand vep --head HEAD` (STRAND_P).\n\n"
            "Options:\n"
            "  -m, --model PATH          Caduceus model (required; STRAND_P needs the same model later)\n"
            "  -f, --fasta-ref FILE      reference FASTA (required)\n"
            "  -o, --output HEAD         head file to write (required)\n"
            "      --label-info FIELD    label from an INFO Flag (present = positive) or Integer (non-zero)\n"
            "      --labels TSV          labels as CHROM POS REF ALT LABEL(0/1) lines (instead of --label-info)\n"
            "      --distance-info FIELD INFO field (Integer/Float) of a distance, e.g. to the gene's TSS\n"
            "      --features LIST       emb,llr,dist subset for the head (default emb,llr,dist with a distance,\n"
            "                            else emb,llr)\n"
            "      --folds K             cross-validation folds (default 5)\n"
            "      --seed N              fold assignment seed (default 1)\n"
            "      --l2 X                ridge penalty on the standardised weights (default 10)\n"
            "      --window N, --pool-half-width H, --llr masked|marginal, --marginal-core S, --rc-average,\n"
            "      --batch N, --threads N, --rename-chrs FILE   as for strand vep\n"
            "      --report FILE         the report (default standard output)\n"
            "  -q, --quiet               no progress on stderr\n"
            "  -h, --help                this text\n\n"
            "Example:\n"
            "  strand vep-train -m models/caduceus-ps-chr20.safetensors -f chr22.fa --label-info EQTL \\\n"
            "      --distance-info TSSDIST -o eqtl.head eqtl.vcf\n"
            "  strand vep -m models/caduceus-ps-chr20.safetensors -f chr22.fa --head eqtl.head -o out.vcf.gz in.vcf\n\n");
}

int cmd_vep_train_main(int argc, char **argv)
{
    enum { OPT_LABEL_INFO = 256, OPT_LABELS, OPT_DIST, OPT_FEATURES, OPT_FOLDS, OPT_SEED, OPT_L2, OPT_WINDOW, OPT_POOL,
           OPT_LLR, OPT_MCORE, OPT_RCAVG, OPT_BATCH, OPT_THREADS, OPT_RENAME, OPT_REPORT };
    static const struct option longopts[] = {
        {"model", required_argument, NULL, 'm'},          {"fasta-ref", required_argument, NULL, 'f'},
        {"output", required_argument, NULL, 'o'},         {"label-info", required_argument, NULL, OPT_LABEL_INFO},
        {"labels", required_argument, NULL, OPT_LABELS},  {"distance-info", required_argument, NULL, OPT_DIST},
        {"features", required_argument, NULL, OPT_FEATURES}, {"folds", required_argument, NULL, OPT_FOLDS},
        {"seed", required_argument, NULL, OPT_SEED},      {"l2", required_argument, NULL, OPT_L2},
        {"window", required_argument, NULL, OPT_WINDOW},  {"pool-half-width", required_argument, NULL, OPT_POOL},
        {"llr", required_argument, NULL, OPT_LLR},        {"marginal-core", required_argument, NULL, OPT_MCORE},
        {"rc-average", no_argument, NULL, OPT_RCAVG},     {"batch", required_argument, NULL, OPT_BATCH},
        {"threads", required_argument, NULL, OPT_THREADS}, {"rename-chrs", required_argument, NULL, OPT_RENAME},
        {"report", required_argument, NULL, OPT_REPORT},  {"quiet", no_argument, NULL, 'q'},
        {"help", no_argument, NULL, 'h'},                 {NULL, 0, NULL, 0}};
    if (argc <= 1) {
        usage(stdout);
        return 1;
    }
    strand_vep_params p = strand_vep_default_params();
    st_vep_train_opts o = {.folds = 5, .seed = 1, .l2 = 10.0};
    const char *model = NULL, *fasta = NULL, *features = NULL, *report = NULL;
    optind = 1;
    int c;
    while ((c = getopt_long(argc, argv, "m:f:o:qh", longopts, NULL)) != -1) {
        switch (c) {
        case 'm': model = optarg; break;
        case 'f': fasta = optarg; break;
        case 'o': o.head_out = optarg; break;
        case OPT_LABEL_INFO: o.label_info = optarg; break;
        case OPT_LABELS: o.labels_tsv = optarg; break;
        case OPT_DIST: o.dist_info = optarg; break;
        case OPT_FEATURES: features = optarg; break;
        case OPT_FOLDS: o.folds = cli_int("--folds", optarg, 2, 100); break;
        case OPT_SEED: o.seed = (uint64_t)cli_long("--seed", optarg, 0, LONG_MAX); break;
        case OPT_L2: o.l2 = cli_double("--l2", optarg, 0, HUGE_VAL); break;
        case OPT_WINDOW: p.window = cli_int("--window", optarg, 1, 1 << 22); break;
        case OPT_POOL: p.pool_half_width = cli_int("--pool-half-width", optarg, 0, 1 << 21); break;
        case OPT_LLR:
            if (!strcmp(optarg, "masked")) p.llr = STRAND_VEP_LLR_MASKED;
            else if (!strcmp(optarg, "marginal")) p.llr = STRAND_VEP_LLR_MARGINAL;
            else return cli_error("--llr \"%s\": use masked or marginal", optarg);
            break;
        case OPT_MCORE: p.marginal_core = cli_int("--marginal-core", optarg, 1, 1 << 22); break;
        case OPT_RCAVG: p.rc_average = 1; break;
        case OPT_BATCH: p.batch = cli_int("--batch", optarg, 1, 1 << 20); break;
        case OPT_THREADS: p.threads = cli_int("--threads", optarg, 0, 1024); break;
        case OPT_RENAME: p.rename_chrs = optarg; break;
        case OPT_REPORT: report = optarg; break;
        case 'q': p.quiet = 1; break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 1;
        }
    }
    if (optind >= argc) return cli_error("no labelled VCF given");
    if (optind + 1 < argc) return cli_error("unexpected argument \"%s\"", argv[optind + 1]);
    o.vcf = argv[optind];
    if (!model || !fasta || !o.head_out) return cli_error("-m MODEL, -f REF.fa and -o HEAD are required");
    if (!o.label_info == !o.labels_tsv) return cli_error("give exactly one of --label-info FIELD and --labels TSV");
    o.groups = o.dist_info ? ST_HEAD_ALL : (ST_HEAD_EMB | ST_HEAD_LLR);
    if (features && st_vep_head_parse_groups(features, &o.groups) < 0) return cli_error("%s", strand_last_error());
    if ((o.groups & ST_HEAD_DIST) && !o.dist_info) return cli_error("--features dist needs --distance-info FIELD");
    p.missing_contig = STRAND_VEP_CONTIG_AUTO;
    FILE *rep = stdout;
    if (report && !(rep = fopen(report, "w"))) return cli_error("--report %s: cannot open for writing", report);
    strand_vep *v = NULL;
    int status = 1;
    if (strand_vep_create(model, fasta, &p, &v) < 0) {
        cli_error("%s", strand_last_error());
    } else if (st_vep_train(v, &o, rep) < 0) {
        cli_error("%s", strand_vep_last_error(v));
    } else {
        status = 0;
    }
    strand_vep_free(v);
    if (rep != stdout && fclose(rep) != 0 && status == 0) status = cli_error("--report %s: write failed", report);
    return status;
}
