/* bench_io_data: issue-5 throughput, driven by bench/run through bench/io_data_run.py, which times the
 * references in the same invocation. One JSON object per line (bench/bench.c's format).
 *
 *   bench_io_data windows FASTA L REGIONS_OUT [--iters N]
 *       windows/s of io/windows (BGZF fetch through htslib faidx + N filter + DNA tokenisation,
 *       callback only: no shard writing) over every contig, L = stride; the kept windows are
 *       written to REGIONS_OUT (samtools region syntax) so the reference fetches the same regions.
 *   bench_io_data smiles_props SMI N PROPS_OUT [--threads T] [--iters N]
 *       SMILES/s through SMILES tokenisation (st_smiles_encode) + chem/smiles_props (RDKit parse,
 *       canonical SMILES, qed,rings,logp,mw,tpsa,hbd,hba) over the first N SMILES of SMI (column 1),
 *       OpenMP over molecules with T threads; values of the last run go to PROPS_OUT (TSV) for the
 *       reference's cross-check. Timings are never asserted: shared machines are noisy. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench/bench_util.h"
#include "core/clock.h"
#include "core/tokenizer_smiles.h"
#include "chem/chem.h"
#include "chem/qed.h"
#include "chem/smiles_props.h"
#include "io/fasta.h"
#include "io/windows.h"
#include "strand.h"

typedef struct win_sink { FILE *regions; st_fasta *fa; uint64_t n, checksum; int64_t L; } win_sink;

static int win_fn(void *user, const uint8_t *tokens, uint32_t split, int contig, int64_t start)
{
    win_sink *s = user;
    (void)split;
    s->n++;
    s->checksum += tokens[0] + tokens[s->L - 1]; /* touch the tokens */
    if (s->regions)
        fprintf(s->regions, "%s:%lld-%lld\n", st_fasta_contig_name(s->fa, contig), (long long)start + 1,
                (long long)(start + s->L));
    return 0;
}

static int bench_windows(const char *fasta, int64_t L, const char *regions_out, int iters)
{
    st_fasta *fa = NULL;
    if (st_fasta_open(&fa, fasta, 0) != 0) {
        fprintf(stderr, "bench_io_data: %s\n", strand_last_error());
        return 1;
    }
    st_windows_params p = st_windows_default_params();
    p.len = L;
    p.stride = L;
    double t[16];
    win_sink s = {0};
    int rc = 0;
    for (int it = 0; it < iters && rc == 0; it++) {
        s = (win_sink){.fa = fa, .L = L, .regions = NULL};
        if (it == iters - 1 && !(s.regions = fopen(regions_out, "w"))) {
            fprintf(stderr, "bench_io_data: cannot write %s\n", regions_out);
            rc = 1;
            break;
        }
        st_windows_stats st;
        double t0 = st_clock_s();
        rc = st_windows_run(fa, &p, win_fn, &s, &st);
        t[it] = st_clock_s() - t0;
        if (s.regions && fclose(s.regions) != 0) rc = 1;
    }
    st_fasta_close(fa);
    if (rc != 0) {
        fprintf(stderr, "bench_io_data: windows: %s\n", strand_last_error());
        return 1;
    }
    /* the last iteration also formats the region list: report the median of the others when any */
    int nt = iters > 1 ? iters - 1 : 1;
    double med = bench_median(t, nt);
    printf("{\"name\":\"windows\",\"unit\":\"win/s\",\"strand\":%.1f,\"reference\":null,"
           "\"reference_name\":\"samtools faidx -r (same regions)\",\"threads\":1,"
           "\"shape\":\"%s L=%lld stride=%lld, %llu windows kept (max-n 0.1)\",\"higher_is_better\":true,"
           "\"windows\":%llu,\"seconds\":%.4f}\n",
           (double)s.n / med, fasta, (long long)L, (long long)L, (unsigned long long)s.n, (unsigned long long)s.n, med);
    return 0;
}

static int bench_smiles(const char *smi, int n_want, const char *props_out, int threads, int iters)
{
    FILE *f = fopen(smi, "r");
    if (!f) {
        fprintf(stderr, "bench_io_data: cannot read %s\n", smi);
        return 1;
    }
    char **s = calloc((size_t)n_want, sizeof *s);
    char line[8192];
    int n = 0;
    while (n < n_want && fgets(line, sizeof line, f)) {
        line[strcspn(line, "\t \r\n")] = '\0';
        if (line[0]) s[n++] = strdup(line);
    }
    fclose(f);
    chem_init();
    if (qed_init() < 0) {
        fprintf(stderr, "bench_io_data: %s\n", strand_last_error());
        return 1;
    }
    st_smiles_vocab *v = NULL;
    if (st_smiles_vocab_build(&v, (const char *const *)s, (size_t)n, NULL) != 0) {
        fprintf(stderr, "bench_io_data: vocabulary: %s\n", strand_last_error());
        return 1;
    }
    smiles_prop props[SP_COUNT];
    int np = 0;
    smiles_props_parse("qed,rings,logp,mw,tpsa,hbd,hba", props, &np);
    smiles_props_row *rows = calloc((size_t)n, sizeof *rows);
    size_t *ntok = calloc((size_t)n, sizeof *ntok);
    double t[16];
    for (int it = 0; it < iters; it++) {
        for (int i = 0; i < n; i++) smiles_props_row_clear(&rows[i]);
        double t0 = st_clock_s();
#pragma omp parallel num_threads(threads) if (threads > 1)
        {
            int32_t ids[2048];
#pragma omp for schedule(dynamic, 4)
            for (int i = 0; i < n; i++) {
                st_smiles_encode(v, s[i], ids, 2048, &ntok[i], NULL, NULL);
                smiles_props_compute(s[i], props, np, &rows[i]);
            }
        }
        t[it] = st_clock_s() - t0;
    }
    double med = bench_median(t, iters);
    FILE *o = fopen(props_out, "w");
    int ok = 0;
    size_t toks = 0;
    for (int i = 0; i < n; i++) {
        toks += ntok[i];
        ok += rows[i].ok;
        if (!o) continue;
        fprintf(o, "%d\t%s\t%d", i, s[i], rows[i].ok);
        for (int k = 0; k < np; k++) fprintf(o, "\t%.10g", rows[i].ok ? rows[i].v[props[k]] : 0.0);
        fprintf(o, "\t%s\n", rows[i].ok ? rows[i].canonical : "");
    }
    if (!o || fclose(o) != 0) {
        fprintf(stderr, "bench_io_data: cannot write %s\n", props_out);
        return 1;
    }
    printf("{\"name\":\"smiles_props\",\"unit\":\"smi/s\",\"strand\":%.1f,\"reference\":null,"
           "\"reference_name\":\"RDKit Python\",\"threads\":%d,"
           "\"shape\":\"%d SMILES of %s (%d valid, %zu tokens): tokenise + canonical + qed,rings,logp,mw,tpsa,hbd,hba\","
           "\"higher_is_better\":true,\"molecules\":%d,\"seconds\":%.4f}\n",
           (double)n / med, threads, n, smi, ok, toks, n, med);
    for (int i = 0; i < n; i++) { smiles_props_row_clear(&rows[i]); free(s[i]); }
    free(rows); free(ntok); free(s);
    st_smiles_vocab_free(v);
    return 0;
}

int main(int argc, char **argv)
{
    int threads = 1, iters = 3;
    char *pos[8];
    int np = 0;
    for (int a = 1; a < argc; a++) {
        if (!strcmp(argv[a], "--threads") && a + 1 < argc) threads = atoi(argv[++a]);
        else if (!strcmp(argv[a], "--iters") && a + 1 < argc) iters = atoi(argv[++a]);
        else if (np < 8) pos[np++] = argv[a];
    }
    if (iters < 1) iters = 1;
    if (iters > 16) iters = 16;
    if (threads < 1) threads = 1;
    if (np == 4 && !strcmp(pos[0], "windows")) return bench_windows(pos[1], atoll(pos[2]), pos[3], iters);
    if (np == 4 && !strcmp(pos[0], "smiles_props"))
        return bench_smiles(pos[1], atoi(pos[2]), pos[3], threads, iters);
    fprintf(stderr, "usage: bench_io_data windows FASTA L REGIONS_OUT [--iters N]\n"
                    "       bench_io_data smiles_props SMI N PROPS_OUT [--threads T] [--iters N]\n");
    return 2;
}
