/* `strand vep`: annotate a VCF/BCF with zero-shot Caduceus variant-effect scores (STRAND_LLR,
 * STRAND_EMB) through the library call strand_vep_annotate_vcf. Output is written atomically. */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "apps/cli.h"
#include "apps/commands.h"
#include "strand.h"
#include "strand_config.h"

#define VEP_DEFAULT_MODEL_REL "models/caduceus-ps-chr20.safetensors"

typedef struct vep_opts {
    const char *fasta, *model, *output, *input;
    char mode;  /* 0: from the output name */
    int index;  /* 0 none, 1 csi, 2 tbi */
    const char *regions[64];
    int n_regions;
    strand_vep_params p;
} vep_opts;

static void vep_usage(FILE *fp)
{
    strand_vep_params d = strand_vep_default_params();
    fprintf(fp,
            "\nUsage: strand vep -f REF.fa [options] IN.vcf[.gz|.bcf]\n\n"
            "Zero-shot variant effect scores from a Caduceus DNA language model, written as INFO fields:\n"
            "  STRAND_LLR  log p(ALT) - log p(REF) in nats at the masked variant site (SNVs; '.' otherwise);\n"
            "              positive = ALT more likely than REF under the model\n"
            "  STRAND_EMB  cosine distance in [0,2] between mean-pooled REF and ALT window embeddings\n"
            "              (SNVs and indels)\n"
            "Records, their order and all existing fields pass through unchanged; symbolic ALTs (<DEL>, *),\n"
            "REF mismatches (default) and contigs missing from the FASTA (default) pass through unannotated\n"
            "and are counted in the summary on stderr.\n\n"
            "Options:\n"
            "  -f, --fasta-ref FILE       reference FASTA (plain or bgzip, faidx-indexed; required)\n"
            "  -m, --model PATH           Caduceus model (default: the bundled %s)\n"
            "  -o, --output FILE          output (default: standard output)\n"
            "  -O, --output-type u|b|v|z  uncompressed BCF, BCF, VCF, bgzip VCF (default: from the name, else v)\n"
            "  -r, --regions REG[,...]    only records in these regions (needs an indexed input)\n"
            "  -W, --write-index[=FMT]    write an index (csi or tbi; default csi) next to the output\n"
            "      --threads N            threads: N windows scored at once, one model copy each (default %d = all cores)\n"
            "      --window W             bases per window (default %d; even W is rounded up to W+1 so the\n"
            "                             variant sits at the centre)\n"
            "      --pool-half-width H    STRAND_EMB pools 2H+1 positions around the variant (default %d)\n"
            "      --batch N              records scored together; identical windows run once (default %d)\n"
            "      --ref-mismatch skip|annotate|error   REF differs from the FASTA (default skip)\n"
            "      --missing-contig skip|error          contig absent from the FASTA (default skip)\n"
            "      --rc-average           also score every window reverse-complemented and average (2x work;\n"
            "                             scores then bit-identical for a variant and its RC representation)\n"
            "      --no-version           no ##strand_vepVersion/##strand_vepCommand header lines\n"
            "  -q, --quiet                no progress or summary on stderr\n"
            "  -h, --help                 this text\n\n"
            "Windows beyond a contig end are padded with [PAD]; N bases are [PAD] (as in pretraining).\n\n"
            "Examples:\n"
            "  strand vep -f ref.fa -o out.vcf.gz -W in.vcf.gz\n"
            "  strand vep -f 20.fa.gz -m models/caduceus-ps-chr20.safetensors -r 20:1-2000000 --threads 8 \\\n"
            "      -O b -o out.bcf in.vcf.gz\n"
            "  bcftools query -f '%%CHROM\\t%%POS\\t%%REF\\t%%ALT\\t%%STRAND_LLR\\t%%STRAND_EMB\\n' out.vcf.gz\n\n",
            VEP_DEFAULT_MODEL_REL, d.threads, d.window, d.pool_half_width, d.batch);
}

static int exists(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0;
}

/* The bundled model: $STRAND_MODEL_DIR, <exe>/../share/strand/models, <exe>/models, <exe>/../models,
 * the source tree the binary was built from. */
static int default_model(char *out, size_t cap, char *tried, size_t tcap)
{
    const char *base = strrchr(VEP_DEFAULT_MODEL_REL, '/') + 1;
    char exe[PATH_MAX], cand[6][PATH_MAX + 64];
    int n = 0;
    const char *env = getenv("STRAND_MODEL_DIR");
    if (env && *env) snprintf(cand[n++], sizeof cand[0], "%s/%s", env, base);
    ssize_t k = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (k > 0) {
        exe[k] = '\0';
        char *slash = strrchr(exe, '/');
        if (slash) *slash = '\0';
        snprintf(cand[n++], sizeof cand[0], "%s/../share/strand/%s", exe, VEP_DEFAULT_MODEL_REL);
        snprintf(cand[n++], sizeof cand[0], "%s/%s", exe, VEP_DEFAULT_MODEL_REL);
        snprintf(cand[n++], sizeof cand[0], "%s/../%s", exe, VEP_DEFAULT_MODEL_REL);
    }
    snprintf(cand[n++], sizeof cand[0], "%s/%s", STRAND_SOURCE_DIR_STR, VEP_DEFAULT_MODEL_REL);
    size_t t = 0;
    tried[0] = '\0';
    for (int i = 0; i < n; i++) {
        if (exists(cand[i])) {
            snprintf(out, cap, "%.4095s", cand[i]);
            return 0;
        }
        if (t < tcap) t += (size_t)snprintf(tried + t, tcap - t, "%s%s", i ? ", " : "", cand[i]);
    }
    return -1;
}

static char mode_from_name(const char *o)
{
    size_t n = strlen(o);
    if (n >= 7 && !strcmp(o + n - 7, ".vcf.gz")) return 'z';
    if (n >= 4 && !strcmp(o + n - 4, ".bgz")) return 'z';
    if (n >= 4 && !strcmp(o + n - 4, ".bcf")) return 'b';
    return 'v';
}

/* Copy a finished file to stdout (output "-"). */
static int cat_file(const char *path)
{
    FILE *fp = fopen(path, "rb");
    if (!fp) return -1;
    char buf[1 << 16];
    size_t n;
    int rc = 0;
    while ((n = fread(buf, 1, sizeof buf, fp)) > 0)
        if (fwrite(buf, 1, n, stdout) != n) { rc = -1; break; }
    fclose(fp);
    if (fflush(stdout) != 0) rc = -1;
    return rc;
}

int cmd_vep_main(int argc, char **argv)
{
    vep_opts o;
    memset(&o, 0, sizeof o);
    o.p = strand_vep_default_params();
    enum { OPT_THREADS = 256, OPT_WINDOW, OPT_POOL, OPT_BATCH, OPT_REFMM, OPT_MISSING, OPT_NOVER, OPT_RCAVG };
    static const struct option longopts[] = {
        {"fasta-ref", required_argument, NULL, 'f'},  {"model", required_argument, NULL, 'm'},
        {"output", required_argument, NULL, 'o'},     {"output-type", required_argument, NULL, 'O'},
        {"regions", required_argument, NULL, 'r'},    {"write-index", optional_argument, NULL, 'W'},
        {"threads", required_argument, NULL, OPT_THREADS}, {"window", required_argument, NULL, OPT_WINDOW},
        {"pool-half-width", required_argument, NULL, OPT_POOL}, {"batch", required_argument, NULL, OPT_BATCH},
        {"ref-mismatch", required_argument, NULL, OPT_REFMM}, {"missing-contig", required_argument, NULL, OPT_MISSING},
        {"no-version", no_argument, NULL, OPT_NOVER}, {"quiet", no_argument, NULL, 'q'},
        {"rc-average", no_argument, NULL, OPT_RCAVG},
        {"help", no_argument, NULL, 'h'},             {NULL, 0, NULL, 0}};
    if (argc <= 1) {
        vep_usage(stdout);
        return 1;
    }
    optind = 1;
    int c;
    while ((c = getopt_long(argc, argv, "f:m:o:O:r:W::qh", longopts, NULL)) != -1) {
        switch (c) {
        case 'f': o.fasta = optarg; break;
        case 'm': o.model = optarg; break;
        case 'o': o.output = optarg; break;
        case 'O':
            if (strlen(optarg) != 1 || !strchr("ubvz", optarg[0]))
                return cli_error("-O \"%s\": use u, b, v or z", optarg);
            o.mode = optarg[0];
            break;
        case 'r': {
            char *s = optarg, *tok;
            while ((tok = strsep(&s, ",")) != NULL) {
                if (!*tok) continue;
                if (o.n_regions >= 64) return cli_error("too many regions (at most 64)");
                o.regions[o.n_regions++] = tok;
            }
            break;
        }
        case 'W':
            if (!optarg || !strcmp(optarg, "csi")) o.index = 1;
            else if (!strcmp(optarg, "tbi")) o.index = 2;
            else return cli_error("--write-index=%s: use csi or tbi", optarg);
            break;
        case OPT_THREADS: o.p.threads = cli_int("--threads", optarg, 0, INT_MAX); break;
        case OPT_WINDOW: o.p.window = cli_int("--window", optarg, 1, INT_MAX); break;
        case OPT_POOL: o.p.pool_half_width = cli_int("--pool-half-width", optarg, 0, INT_MAX); break;
        case OPT_BATCH: o.p.batch = cli_int("--batch", optarg, 1, INT_MAX); break;
        case OPT_REFMM:
            if (!strcmp(optarg, "skip")) o.p.ref_mismatch = STRAND_VEP_REF_SKIP;
            else if (!strcmp(optarg, "annotate")) o.p.ref_mismatch = STRAND_VEP_REF_ANNOTATE;
            else if (!strcmp(optarg, "error")) o.p.ref_mismatch = STRAND_VEP_REF_ERROR;
            else return cli_error("--ref-mismatch \"%s\": use skip, annotate or error", optarg);
            break;
        case OPT_MISSING:
            if (!strcmp(optarg, "skip")) o.p.missing_contig = STRAND_VEP_CONTIG_SKIP;
            else if (!strcmp(optarg, "error")) o.p.missing_contig = STRAND_VEP_CONTIG_ERROR;
            else return cli_error("--missing-contig \"%s\": use skip or error", optarg);
            break;
        case OPT_NOVER: o.p.no_version = 1; break;
        case OPT_RCAVG: o.p.rc_average = 1; break;
        case 'q': o.p.quiet = 1; break;
        case 'h': vep_usage(stdout); return 0;
        default: vep_usage(stderr); return 1;
        }
    }
    if (optind >= argc) return cli_error("no input VCF/BCF given");
    if (optind + 1 < argc) return cli_error("unexpected argument \"%s\" (one input file)", argv[optind + 1]);
    o.input = argv[optind];
    if (!o.fasta) return cli_error("-f REF.fa is required");
    char model_buf[PATH_MAX + 64], tried[4096];
    if (!o.model) {
        if (default_model(model_buf, sizeof model_buf, tried, sizeof tried) < 0) {
            return cli_error("no -m MODEL given and the bundled model %s was not found (looked in: %s); "
                             "pass -m MODEL or set STRAND_MODEL_DIR", VEP_DEFAULT_MODEL_REL, tried);
        }
        o.model = model_buf;
    }
    int to_stdout = !o.output || !strcmp(o.output, "-");
    if (!o.mode) o.mode = to_stdout ? 'v' : mode_from_name(o.output);
    if (to_stdout && o.index) return cli_error("--write-index needs -o FILE");
    if (o.index == 1 && o.mode != 'z' && o.mode != 'b') return cli_error("--write-index needs -O z or -O b");
    if (o.index == 2 && o.mode != 'z') return cli_error("--write-index=tbi needs -O z");

    strand_vep *v = NULL;
    if (strand_vep_create(o.model, o.fasta, &o.p, &v) < 0) return cli_error("%s", strand_last_error());
    char tmpout[PATH_MAX];
    const char *out = o.output;
    if (to_stdout) {
        const char *td = getenv("TMPDIR");
        snprintf(tmpout, sizeof tmpout, "%s/strand-vep-XXXXXX", td && *td ? td : "/tmp");
        int fd = mkstemp(tmpout);
        if (fd < 0) {
            strand_vep_free(v);
            return cli_error("cannot create a temporary file: %s", strerror(errno));
        }
        close(fd);
        out = tmpout;
    }
    strand_vep_summary s;
    int rc = strand_vep_annotate_vcf(v, o.input, out, o.mode, o.index, o.regions, o.n_regions, argc, argv, &s);
    if (rc < 0) {
        cli_error("%s", strand_vep_last_error(v));
        if (to_stdout) unlink(tmpout);
        strand_vep_free(v);
        return 1;
    }
    if (to_stdout) {
        int c2 = cat_file(tmpout);
        unlink(tmpout);
        if (c2 < 0) {
            strand_vep_free(v);
            return cli_error("cannot write to standard output: %s", strerror(errno));
        }
    }
    if (!o.p.quiet) {
        cli_info("%lld records, %lld ALT alleles: STRAND_LLR set for %lld, STRAND_EMB for %lld; "
                 "not scored: %lld symbolic, %lld unscorable (non-ACGT alleles), %lld REF mismatch%s, %lld on contigs "
                 "missing from the FASTA, %lld records without ALT; %lld window forwards for %lld windows requested",
                (long long)s.records, (long long)s.alts, (long long)s.llr_scored, (long long)s.emb_scored,
                (long long)s.symbolic, (long long)s.unscorable, (long long)s.ref_mismatch,
                o.p.ref_mismatch == STRAND_VEP_REF_ANNOTATE ? " (annotated anyway)" : "", (long long)s.missing_contig,
                (long long)s.no_alt, (long long)s.forwards, (long long)s.windows_requested);
        for (int i = 0; i < s.n_examples; i++) cli_info("  e.g. %s", s.examples[i]);
    }
    strand_vep_free(v);
    return 0;
}
