/* `strand vep`: annotate a VCF/BCF with zero-shot Caduceus variant-effect scores (STRAND_LLR,
 * STRAND_EMB) through the library call strand_vep_annotate_vcf. Output is written atomically. */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "apps/cli.h"
#include "apps/commands.h"
#include "core/atomic_file.h"
#include "io/vcf.h"
#include "strand.h"
#include "strand_config.h"

#define VEP_DEFAULT_MODEL_REL "models/caduceus-ps-chr20.safetensors"

typedef struct vep_opts {
    const char *fasta, *model, *output, *input, *head;
    char mode;  /* 0: from the output name */
    int level;  /* -O z5: compression level, -1 htslib's */
    int index;  /* 0 none, 1 csi, 2 tbi */
    char **regions; /* -r and -R, any number */
    int n_regions, cap_regions;
    strand_vep_params p;
    int pool_given;
} vep_opts;

static int add_region(vep_opts *o, const char *text)
{
    if (o->n_regions == o->cap_regions) {
        int cap = o->cap_regions ? 2 * o->cap_regions : 16;
        char **r = realloc(o->regions, (size_t)cap * sizeof *r);
        if (!r) return -1;
        o->regions = r, o->cap_regions = cap;
    }
    if (!(o->regions[o->n_regions] = strdup(text))) return -1;
    o->n_regions++;
    return 0;
}

static void free_opts(vep_opts *o)
{
    for (int i = 0; i < o->n_regions; i++) free(o->regions[i]);
    free(o->regions);
}

/* -R FILE: bcftools regions file → "chr:beg-end" strings */
static int add_regions_file(vep_opts *o, const char *path)
{
    st_region *t = NULL;
    int n = 0;
    if (st_regions_file_read(path, &t, &n) < 0) return -1;
    int rc = 0;
    for (int i = 0; i < n && rc == 0; i++) {
        char buf[320];
        snprintf(buf, sizeof buf, "%s:%lld-%lld", t[i].name, (long long)t[i].beg + 1, (long long)t[i].end);
        rc = add_region(o, buf);
    }
    free(t);
    if (rc == 0 && n == 0) {
        cli_error("%s: no regions in the file", path);
        return -2;
    }
    return rc;
}

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
            "  -o, --output FILE          output (default: standard output, also \"-\"; streamed as records come)\n"
            "  -O, --output-type u|b|v|z[0-9]  uncompressed BCF, BCF, VCF, bgzip VCF, optional compression\n"
            "                             level (default: from the name: .vcf.gz/.bgz z, .bcf b, else v)\n"
            "  -r, --regions REG[,...]    only records overlapping these regions (needs an indexed input)\n"
            "  -R, --regions-file FILE    the same from a file (CHROM POS, CHROM BEG END, or .bed)\n"
            "  -t, --targets REG[,...]    only records whose POS is in these regions (no index needed)\n"
            "  -T, --targets-file FILE    the same from a file\n"
            "  -W, --write-index[=FMT]    write an index (csi or tbi; default csi) next to the output\n"
            "      --threads N            threads: N windows at once, weights loaded once (default %d = all\n"
            "                             cores; at most the number of cores)\n"
            "      --window W             bases per window (default: the length the model was trained on, else\n"
            "                             1024; even W is rounded up to W+1 so the variant sits at the centre)\n"
            "      --pool-half-width H    STRAND_EMB pools 2H+1 positions around the variant (default %d,\n"
            "                             at most half the window)\n"
            "      --batch N              records scored together; identical windows run once (default %d)\n"
            "      --ref-mismatch skip|annotate|error   REF differs from the FASTA (default skip)\n"
            "      --missing-contig skip|error|auto     contig absent from the FASTA (default auto: skip, but\n"
            "                             fail when no record is on a FASTA contig)\n"
            "      --rename-chrs FILE     \"VCF_NAME FASTA_NAME\" lines: look VCF contigs up in the FASTA under\n"
            "                             the new name (records are written unchanged)\n"
            "      --nonfinite error|skip a NaN/inf score (corrupt model): stop with an error (default), or\n"
            "                             count it and leave it unscored\n"
            "      --llr masked|marginal  STRAND_LLR with the site masked in its own window (default; one\n"
            "                             forward per SNV), or the wild-type marginal: every SNV of a reference\n"
            "                             tile from one unmasked forward (docs/vep.md \"Marginal LLR\"); indels\n"
            "                             and MNVs get the PLL difference of the ALT and REF haplotype windows\n"
            "                             (docs/vep.md \"Indel LLR\")\n"
            "      --marginal-core S      marginal: sites per tile (default 4*(window-1)); a tile is S+window-1\n"
            "                             bases, every site with >= window/2 of context on both sides\n"
            "      --scores llr,emb       which scores to compute (default both); --scores llr skips the REF/ALT\n"
            "                             window forwards of STRAND_EMB\n"
            "      --rc-average           also score every window reverse-complemented and average (2x work;\n"
            "                             scores then bit-identical for a variant and its RC representation)\n"
            "      --head H               also write STRAND_P, the calibrated probability of the head file H\n"
            "                             written by strand vep-train (same model, window, pooling, --llr;\n"
            "                             docs/vep.md \"Trained score\")\n"
            "      --no-version           no ##strand_vepVersion/##strand_vepCommand header lines\n"
            "  -q, --quiet                no progress or summary on stderr\n"
            "  -h, --help                 this text\n\n"
            "Windows beyond a contig end are padded with [PAD]; N bases are [PAD] (as in pretraining).\n\n"
            "Examples:\n"
            "  strand vep -f ref.fa -o out.vcf.gz -W in.vcf.gz\n"
            "  strand vep -f 20.fa.gz -m models/caduceus-ps-chr20.safetensors -r 20:1-2000000 --threads 8 \\\n"
            "      -O b -o out.bcf in.vcf.gz\n"
            "  bcftools query -f '%%CHROM\\t%%POS\\t%%REF\\t%%ALT\\t%%STRAND_LLR\\t%%STRAND_EMB\\n' out.vcf.gz\n\n",
            VEP_DEFAULT_MODEL_REL, d.threads, d.pool_half_width, d.batch);
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

static int ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), k = strlen(suffix);
    return n >= k && !strcasecmp(s + n - k, suffix);
}

static char mode_from_name(const char *o)
{
    if (ends_with(o, ".vcf.gz") || ends_with(o, ".vcf.bgz") || ends_with(o, ".bgz") || ends_with(o, ".gz")) return 'z';
    if (ends_with(o, ".bcf")) return 'b';
    return 'v';
}

int cmd_vep_main(int argc, char **argv)
{
    vep_opts o;
    memset(&o, 0, sizeof o);
    o.p = strand_vep_default_params();
    enum { OPT_THREADS = 256, OPT_WINDOW, OPT_POOL, OPT_BATCH, OPT_REFMM, OPT_MISSING, OPT_NOVER, OPT_RCAVG,
           OPT_RENAME, OPT_NONFINITE, OPT_LLR, OPT_SCORES, OPT_MCORE, OPT_HEAD };
    static const struct option longopts[] = {
        {"fasta-ref", required_argument, NULL, 'f'},  {"model", required_argument, NULL, 'm'},
        {"output", required_argument, NULL, 'o'},     {"output-type", required_argument, NULL, 'O'},
        {"regions", required_argument, NULL, 'r'},    {"write-index", optional_argument, NULL, 'W'},
        {"threads", required_argument, NULL, OPT_THREADS}, {"window", required_argument, NULL, OPT_WINDOW},
        {"pool-half-width", required_argument, NULL, OPT_POOL}, {"batch", required_argument, NULL, OPT_BATCH},
        {"ref-mismatch", required_argument, NULL, OPT_REFMM}, {"missing-contig", required_argument, NULL, OPT_MISSING},
        {"no-version", no_argument, NULL, OPT_NOVER}, {"quiet", no_argument, NULL, 'q'},
        {"rc-average", no_argument, NULL, OPT_RCAVG}, {"rename-chrs", required_argument, NULL, OPT_RENAME},
        {"head", required_argument, NULL, OPT_HEAD},
        {"nonfinite", required_argument, NULL, OPT_NONFINITE}, {"regions-file", required_argument, NULL, 'R'},
        {"targets", required_argument, NULL, 't'}, {"targets-file", required_argument, NULL, 'T'},
        {"llr", required_argument, NULL, OPT_LLR}, {"scores", required_argument, NULL, OPT_SCORES},
        {"marginal-core", required_argument, NULL, OPT_MCORE},
        {"help", no_argument, NULL, 'h'},             {NULL, 0, NULL, 0}};
    if (argc <= 1) {
        vep_usage(stdout);
        return 1;
    }
    o.level = -1;
    optind = 1;
    int c, rc = 1;
    while ((c = getopt_long(argc, argv, "f:m:o:O:r:R:t:T:W::qh", longopts, NULL)) != -1) {
        switch (c) {
        case 'f': o.fasta = optarg; break;
        case 'm': o.model = optarg; break;
        case 'o': o.output = optarg; break;
        case 'O':
            if (!optarg[0] || !strchr("ubvz", optarg[0]) ||
                (optarg[1] && (optarg[0] == 'v' || optarg[0] == 'u' || optarg[1] < '0' || optarg[1] > '9' || optarg[2])))
                return cli_error("-O \"%s\": use u, b, v or z, with a compression level 0-9 after b or z (z5)", optarg);
            o.mode = optarg[0];
            o.level = optarg[1] ? optarg[1] - '0' : -1;
            break;
        case 'r': {
            char *s = optarg, *tok;
            while ((tok = strsep(&s, ",")) != NULL)
                if (*tok && add_region(&o, tok) < 0) return cli_error("out of memory");
            break;
        }
        case 'R': {
            int e = add_regions_file(&o, optarg);
            if (e == -1) return cli_error("-R: %s", strand_last_error());
            if (e < 0) goto out;
            break;
        }
        case 't': o.p.targets = optarg; break;
        case 'T': o.p.targets_file = optarg; break;
        case OPT_RENAME: o.p.rename_chrs = optarg; break;
        case OPT_NONFINITE:
            if (!strcmp(optarg, "error")) o.p.nonfinite = STRAND_VEP_NONFINITE_ERROR;
            else if (!strcmp(optarg, "skip")) o.p.nonfinite = STRAND_VEP_NONFINITE_SKIP;
            else return cli_error("--nonfinite \"%s\": use error or skip", optarg);
            break;
        case 'W':
            if (!optarg || !strcmp(optarg, "csi")) o.index = 1;
            else if (!strcmp(optarg, "tbi")) o.index = 2;
            else return cli_error("--write-index=%s: use csi or tbi", optarg);
            break;
        case OPT_THREADS:
            o.p.threads = cli_int("--threads", optarg, 0, INT_MAX);
            break;
        case OPT_WINDOW:
            o.p.window = cli_int("--window", optarg, 1, INT_MAX);
            break;
        case OPT_POOL:
            o.p.pool_half_width = cli_int("--pool-half-width", optarg, 0, INT_MAX);
            o.pool_given = 1;
            break;
        case OPT_BATCH:
            o.p.batch = cli_int("--batch", optarg, 1, INT_MAX);
            break;
        case OPT_REFMM:
            if (!strcmp(optarg, "skip")) o.p.ref_mismatch = STRAND_VEP_REF_SKIP;
            else if (!strcmp(optarg, "annotate")) o.p.ref_mismatch = STRAND_VEP_REF_ANNOTATE;
            else if (!strcmp(optarg, "error")) o.p.ref_mismatch = STRAND_VEP_REF_ERROR;
            else return cli_error("--ref-mismatch \"%s\": use skip, annotate or error", optarg);
            break;
        case OPT_MISSING:
            if (!strcmp(optarg, "skip")) o.p.missing_contig = STRAND_VEP_CONTIG_SKIP;
            else if (!strcmp(optarg, "error")) o.p.missing_contig = STRAND_VEP_CONTIG_ERROR;
            else if (!strcmp(optarg, "auto")) o.p.missing_contig = STRAND_VEP_CONTIG_AUTO;
            else return cli_error("--missing-contig \"%s\": use skip, error or auto", optarg);
            break;
        case OPT_LLR:
            if (!strcmp(optarg, "masked")) o.p.llr = STRAND_VEP_LLR_MASKED;
            else if (!strcmp(optarg, "marginal")) o.p.llr = STRAND_VEP_LLR_MARGINAL;
            else return cli_error("--llr \"%s\": use masked or marginal", optarg);
            break;
        case OPT_SCORES: {
            int bits = 0;
            char buf[64], *sv = buf, *tok;
            snprintf(buf, sizeof buf, "%s", optarg);
            while ((tok = strsep(&sv, ",")) != NULL) {
                if (!strcmp(tok, "llr")) bits |= STRAND_VEP_SCORE_LLR;
                else if (!strcmp(tok, "emb")) bits |= STRAND_VEP_SCORE_EMB;
                else return cli_error("--scores \"%s\": a list of llr and emb (llr,emb)", optarg);
            }
            o.p.scores = bits;
            break;
        }
        case OPT_MCORE:
            o.p.marginal_core = cli_int("--marginal-core", optarg, 1, 1 << 22);
            break;
        case OPT_NOVER: o.p.no_version = 1; break;
        case OPT_RCAVG: o.p.rc_average = 1; break;
        case OPT_HEAD: o.head = optarg; break;
        case 'q': o.p.quiet = 1; break;
        case 'h': vep_usage(stdout); rc = 0; goto out;
        default: vep_usage(stderr); goto out;
        }
    }
    if (optind >= argc) return cli_error("no input VCF/BCF given (\"-\" reads standard input)");
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
    if (!o.output) o.output = "-";
    int direct = st_output_is_direct(o.output);
    if (!o.mode) o.mode = direct ? 'v' : mode_from_name(o.output);
    if (direct && o.index) return cli_error("--write-index needs -o FILE (not standard output, a device or a FIFO)");
    if (o.index == 1 && o.mode != 'z' && o.mode != 'b') return cli_error("--write-index needs -O z or -O b");
    if (o.index == 2 && o.mode != 'z') return cli_error("--write-index=tbi needs -O z");
    if (o.n_regions && !strcmp(o.input, "-"))
        return cli_error("-r/-R need an indexed input file, not standard input: use -t/-T (targets)");
    /* the output before the (slow) model: a directory, the input itself, a missing directory */
    const char *inputs[2] = {o.input, o.fasta};
    if (st_output_check(o.output, inputs, 2) < 0) return cli_error("%s", strand_last_error());
    o.p.compress_level = o.level;

    strand_vep *v = NULL;
    if (strand_vep_create(o.model, o.fasta, &o.p, &v) < 0) return cli_error("%s", strand_last_error());
    if (o.head && strand_vep_set_head(v, o.head) < 0) {
        cli_error("%s", strand_vep_last_error(v));
        strand_vep_free(v);
        goto out;
    }
    if (o.pool_given && v && o.p.window && o.p.pool_half_width > (o.p.window | 1) / 2)
        cli_info("--pool-half-width %d is more than half the %d-base window: using %d", o.p.pool_half_width,
                 o.p.window | 1, (o.p.window | 1) / 2);
    strand_vep_summary s;
    int arc = strand_vep_annotate_vcf(v, o.input, o.output, o.mode, o.index, (const char *const *)o.regions,
                                      o.n_regions, argc, argv, &s);
    if (arc < 0) {
        cli_error("%s", strand_vep_last_error(v));
        strand_vep_free(v);
        goto out;
    }
    if (!o.p.quiet) {
        cli_info("%lld records, %lld ALT alleles: STRAND_LLR set for %lld, STRAND_EMB for %lld; "
                 "not scored: %lld symbolic, %lld unscorable (non-ACGT alleles, POS 0), %lld REF mismatch%s, %lld on "
                 "contigs missing from the FASTA, %lld non-finite (NaN/inf), %lld records without ALT; %lld window "
                 "forwards for %lld windows requested",
                (long long)s.records, (long long)s.alts, (long long)s.llr_scored, (long long)s.emb_scored,
                (long long)s.symbolic, (long long)s.unscorable, (long long)s.ref_mismatch,
                o.p.ref_mismatch == STRAND_VEP_REF_ANNOTATE ? " (annotated anyway)" : "", (long long)s.missing_contig,
                (long long)s.nonfinite, (long long)s.no_alt, (long long)s.forwards, (long long)s.windows_requested);
        for (int i = 0; i < s.n_examples; i++) cli_info("  e.g. %s", s.examples[i]);
    }
    strand_vep_free(v);
    rc = 0;
out:
    free_opts(&o);
    return rc;
}
