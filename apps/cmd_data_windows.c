/* `strand data windows`: FASTA -> fixed-length token windows in train/val/test shards. */
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "apps/commands.h"
#include "core/clock.h"
#include "io/fasta.h"
#include "io/shards.h"
#include "io/windows.h"
#include "strand.h"

static void usage(FILE *fp, const st_windows_params *d)
{
    fprintf(fp,
            "\nUsage: strand data windows -f REF.fa -L LEN [options] -o OUTDIR\n\n"
            "Cut a FASTA (plain or BGZF, indexed; the index is built when missing) into windows of LEN\n"
            "bases, tokenise them (DNA ids of docs/tokenizers.md) and write OUTDIR/{train,val,test}.shard.\n\n"
            "Options:\n"
            "  -f, --fasta-ref FILE      reference FASTA (required; also --fasta)\n"
            "  -r, --regions REGION      window only this region (samtools syntax; repeatable;\n"
            "                            default: every contig)\n"
            "  -L, --len LEN             window length (default %lld)\n"
            "  -s, --stride S            step between window starts (default: LEN)\n"
            "  -n, --max-n FRAC          drop windows with more than FRAC*LEN non-ACGT bases (default %g)\n"
            "      --split-by-region val=REGION[,test=REGION...]\n"
            "                            hold out whole regions for validation/test (repeatable);\n"
            "                            windows never cross a split boundary, so no base leaks\n"
            "      --strict              error on characters other than ACGTN (default: count as N)\n"
            "      --chunk N             records per compressed chunk (default %u)\n"
            "      --label NAME          class label (e.g. species) stored as \"label NAME\" in every\n"
            "                            shard's metadata (strand data info shows it)\n"
            "  -o, --output DIR          output directory (required; created when missing)\n"
            "  -q, --quiet               no summary on stderr\n\n"
            "Examples:\n"
            "  strand data windows -f 20.fa.gz -L 1024 --split-by-region val=20:1-5000000,test=20:5000001-10000000 -o chr20\n"
            "  strand data windows -f ce.fa -r CHROMOSOME_I:1-500,000 -L 512 --stride 256 --max-n 0 -o ce_w\n"
            "  strand data info chr20\n\n",
            (long long)d->len, d->max_n, d->records_per_chunk);
}

/* "val=20:1,000-2,000,test=20:5000-6000": items start at a "val=" / "test=" key, so commas inside
 * numbers stay part of the region. Pieces point into `arg` (modified in place). */
static int parse_splits(char *arg, cli_strs *val, cli_strs *test)
{
    char *p = arg;
    while (*p) {
        cli_strs *dst;
        if (!strncmp(p, "val=", 4)) { dst = val; p += 4; }
        else if (!strncmp(p, "test=", 5)) { dst = test; p += 5; }
        else return -1;
        char *start = p, *q = p;
        for (;; q++) {
            if (*q == '\0') break;
            if (*q == ',' && (!strncmp(q + 1, "val=", 4) || !strncmp(q + 1, "test=", 5))) break;
        }
        int more = *q == ',';
        *q = '\0';
        if (!*start) return -1;
        cli_strs_push(dst, start);
        p = more ? q + 1 : q;
    }
    return 0;
}

int cmd_data_windows_main(int argc, char **argv)
{
    st_windows_params p = st_windows_default_params();
    if (argc < 2) {
        usage(stdout, &p);
        return 0;
    }
    static const struct option opts[] = {
        {"fasta", required_argument, NULL, 'f'}, {"region", required_argument, NULL, 'r'},
        {"fasta-ref", required_argument, NULL, 'f'}, {"regions", required_argument, NULL, 'r'}, /* bcftools' names */
        {"len", required_argument, NULL, 'L'},   {"stride", required_argument, NULL, 's'},
        {"max-n", required_argument, NULL, 'n'}, {"split-by-region", required_argument, NULL, 1},
        {"strict", no_argument, NULL, 2},        {"chunk", required_argument, NULL, 3},
        {"output", required_argument, NULL, 'o'}, {"quiet", no_argument, NULL, 'q'},
        {"help", no_argument, NULL, 'h'},         {"label", required_argument, NULL, 4},
        {NULL, 0, NULL, 0}};
    /* the command line, for provenance (before getopt: --split-by-region is split in place) */
    size_t cl = 1;
    for (int i = 0; i < argc; i++) cl += strlen(argv[i]) + 1;
    char *cmdline = malloc(cl + 16);
    if (cmdline) {
        strcpy(cmdline, "strand data");
        for (int i = 0; i < argc; i++) { strcat(cmdline, " "); strcat(cmdline, argv[i]); }
    }
    const char *fasta = NULL, *out = NULL;
    cli_strs regs = {0}, val = {0}, test = {0};
    int quiet = 0, c, rc = 1;
    optind = 1;
    while ((c = getopt_long(argc, argv, "f:r:L:s:n:o:qh", opts, NULL)) != -1) {
        switch (c) {
        case 'f': fasta = optarg; break;
        case 'r': cli_strs_push(&regs, optarg); break;
        case 'L': p.len = cli_long("--len", optarg, 1, LONG_MAX); break;
        case 's': p.stride = cli_long("--stride", optarg, 1, LONG_MAX); break;
        case 'n': p.max_n = cli_double("--max-n", optarg, 0, 1); break;
        case 1:
            if (parse_splits(optarg, &val, &test)) {
                cli_error("bad --split-by-region (want val=REGION,test=REGION)");
                goto done;
            }
            break;
        case 2: p.strict = 1; break;
        case 3: p.records_per_chunk = (uint32_t)cli_long("--chunk", optarg, 1, UINT32_MAX); break;
        case 4: p.label = optarg; break;
        case 'o': out = optarg; break;
        case 'q': quiet = 1; break;
        case 'h': usage(stdout, &p); rc = 0; goto done;
        default: usage(stderr, &p); goto done;
        }
    }
    if (!fasta || !out) {
        cli_error("-f FASTA and -o OUTDIR are required");
        goto done;
    }
    if (optind < argc) {
        cli_error("unexpected argument \"%s\"", argv[optind]);
        goto done;
    }
    p.regions = regs.v; p.n_regions = regs.n;
    p.val_regions = val.v; p.n_val = val.n;
    p.test_regions = test.v; p.n_test = test.n;
    if (!quiet) strand_set_log_level(STRAND_LOG_INFO > strand_get_log_level() ? STRAND_LOG_INFO : strand_get_log_level());
    st_fasta *fa = NULL;
    if (st_fasta_open(&fa, fasta, 0) != 0) {
        cli_error("%s", strand_last_error());
        goto done;
    }
    st_windows_stats st;
    double t0 = st_clock_s();
    int r = st_windows_write_shards(fa, &p, out, cmdline, &st);
    double secs = st_clock_s() - t0;
    st_fasta_close(fa);
    if (r != 0) {
        cli_error("%s", strand_last_error());
        goto done;
    }
    uint64_t kept = st.kept[0] + st.kept[1] + st.kept[2];
    if (!quiet) {
        for (int s = 0; s < 3; s++)
            cli_info("%-5s %llu windows (%llu dropped over --max-n)",
                    st_split_name((uint32_t)s), (unsigned long long)st.kept[s], (unsigned long long)st.dropped_n[s]);
        cli_info("%llu windows in %.2f s (%.0f windows/s), %llu [UNK] tokens, "
                "%llu bases in piece tails unused -> %s/", (unsigned long long)kept, secs,
                secs > 0 ? (double)kept / secs : 0.0, (unsigned long long)st.unk_tokens,
                (unsigned long long)st.bases_unused, out);
    }
    rc = 0;
done:
    free(cmdline);
    cli_strs_free(&regs); cli_strs_free(&val); cli_strs_free(&test);
    return rc;
}
