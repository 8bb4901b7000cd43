/* bench_vep: variants/s of strand's VEP scoring (masked-site LLR + REF/ALT embedding distance,
 * 3 window forwards per SNV) for a random-weight Caduceus-PS d=256, 4 layers at window 1024 (1025
 * used: odd, centred), on real sequence (tests/data/vep/chr22_60kb.fa). Writes the model, the FASTA
 * copy and the variants with strand's scores under --dir so bench/vep_torch.py can score the same
 * variants with the same weights in PyTorch and compare. Not a test: nothing is asserted.
 *   bench_vep [--threads T] [--iters N] [--dir DIR] [--d-model D] [--layers N] [--window W]
 * Prints one JSON line (bench/run format). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "caduceus/caduceus.h"
#include "caduceus/vep.h"
#include "core/clock.h"
#include "strand.h"
#include "strand_config.h"

int main(int argc, char **argv)
{
    int threads = 0, n = 8, D = 256, nl = 4, W = 1024;
    const char *dir = "/tmp/strand_bench_vep";
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--threads")) threads = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--iters")) n = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--dir")) dir = argv[i + 1];
        else if (!strcmp(argv[i], "--d-model")) D = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--layers")) nl = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--window")) W = atoi(argv[i + 1]);
    }
    if (n < 1) n = 1;
    char cmd[4096], model[2048], fa[2048], tsv[2048];
    snprintf(model, sizeof model, "%s/model.safetensors", dir);
    snprintf(fa, sizeof fa, "%s/ref.fa", dir);
    snprintf(tsv, sizeof tsv, "%s/variants.tsv", dir);
    snprintf(cmd, sizeof cmd, "mkdir -p '%.1000s' && cp '%.1000s/tests/data/vep/chr22_60kb.fa' '%.1000s' && rm -f '%.1000s.fai'",
             dir, STRAND_SOURCE_DIR_STR, fa, fa);
    if (system(cmd) != 0) return fprintf(stderr, "bench_vep: cannot prepare %s\n", dir), 1;
    caduceus_config c;
    caduceus_default_config(&c);
    c.rcps = 1, c.d_model = D, c.n_layer = nl;
    caduceus_weights *m = NULL;
    if (caduceus_create(&m, &c) < 0) return fprintf(stderr, "bench_vep: %s\n", strand_last_error()), 1;
    caduceus_init_weights(m, 1);
    if (caduceus_save(m, model) < 0) return fprintf(stderr, "bench_vep: %s\n", strand_last_error()), 1;
    caduceus_free(m);
    strand_vep_params p = strand_vep_default_params();
    p.window = W, p.threads = threads, p.quiet = 1;
    strand_vep *v = NULL;
    if (strand_vep_create(model, fa, &p, &v) < 0) return fprintf(stderr, "bench_vep: %s\n", strand_last_error()), 1;
    /* SNVs every 997 bp from 5 kb on: REF from the FASTA, ALT the next base in ACGT order */
    strand_vep_variant *vars = calloc((size_t)n + 1, sizeof *vars);
    char (*alle)[2][2] = calloc((size_t)n + 1, sizeof *alle);
    for (int i = 0; i <= n; i++) {
        int64_t pos0 = 5000 + (int64_t)i * 997;
        int32_t ids[1];
        char *s = NULL;
        int64_t got;
        if (st_fasta_fetch(v->fa, "22_20-21M", pos0, pos0 + 1, ST_FASTA_UPPER, &s, &got) < 0) return 1;
        const char *bases = "ACGT", *q = strchr(bases, s[0]);
        alle[i][0][0] = s[0], alle[i][1][0] = q ? bases[(q - bases + 1) % 4] : 'A';
        free(s);
        (void)ids;
        vars[i] = (strand_vep_variant){.contig = "22_20-21M", .pos1 = pos0 + 1, .ref = alle[i][0], .alt = alle[i][1]};
    }
    /* warm-up (allocations) on the extra variant, then time n variants in one batch */
    if (strand_vep_score_batch(v, vars + n, 1) < 0) return fprintf(stderr, "bench_vep: %s\n", strand_vep_last_error(v)), 1;
    double t0 = st_clock_s();
    if (strand_vep_score_batch(v, vars, (size_t)n) < 0) return fprintf(stderr, "bench_vep: %s\n", strand_vep_last_error(v)), 1;
    double dt = st_clock_s() - t0;
    FILE *fp = fopen(tsv, "w");
    for (int i = 0; fp && i < n; i++)
        fprintf(fp, "%s\t%lld\t%s\t%s\t%.9g\t%.9g\n", vars[i].contig, (long long)vars[i].pos1, vars[i].ref, vars[i].alt,
                vars[i].llr, vars[i].emb);
    if (fp) fclose(fp);
    printf("{\"name\": \"vep_snv\", \"unit\": \"var/s\", \"strand\": %.4f, \"reference\": null, "
           "\"higher_is_better\": true, \"threads\": %d, \"shape\": \"PS d=%d layers=%d window=%d, %d SNVs, 3 "
           "forwards each\", \"reference_name\": \"PyTorch CPU (bench/vep_torch.py)\", \"dir\": \"%s\"}\n",
           n / dt, strand_get_threads(), D, nl, v->W, n, dir);
    fprintf(stderr, "bench_vep: %d SNVs in %.3f s (%.3f var/s, %.1f ms per window forward)\n", n, dt, n / dt,
            1e3 * dt / (3.0 * n));
    free(vars), free(alle);
    strand_vep_free(v);
    return 0;
}
