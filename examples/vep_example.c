/* Score variants through the public API (include/strand.h only):
 *   example_vep_example MODEL REF.fa CONTIG:POS:REF:ALT [...]
 * prints LLR (nats, positive = ALT more likely) and EMB (cosine distance) per variant, then scores
 * them again as one batch. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "strand.h"

int main(int argc, char **argv)
{
    if (argc < 4) {
        fprintf(stderr, "usage: %s MODEL REF.fa CONTIG:POS:REF:ALT [...]\n", argv[0]);
        return 1;
    }
    strand_vep_params p = strand_vep_default_params();
    p.window = 101; /* small windows keep the example fast; the CLI default is 1024 */
    p.pool_half_width = 20;
    p.quiet = 1;
    strand_vep *v = NULL;
    if (strand_vep_create(argv[1], argv[2], &p, &v) < 0) {
        fprintf(stderr, "vep_example: %s\n", strand_last_error());
        return 1;
    }
    printf("model sha256 %s\n", strand_vep_model_sha256(v));
    int n = argc - 3, status = 0;
    strand_vep_variant *vars = calloc((size_t)n, sizeof *vars);
    char **copies = calloc((size_t)n, sizeof *copies);
    for (int i = 0; i < n && vars && copies; i++) {
        char *s = copies[i] = strdup(argv[3 + i]);
        char *contig = strtok(s, ":"), *pos = strtok(NULL, ":"), *ref = strtok(NULL, ":"), *alt = strtok(NULL, ":");
        if (!contig || !pos || !ref || !alt) {
            fprintf(stderr, "vep_example: \"%s\": expected CONTIG:POS:REF:ALT\n", argv[3 + i]);
            status = 1;
            break;
        }
        vars[i] = (strand_vep_variant){.contig = contig, .pos1 = atoll(pos), .ref = ref, .alt = alt};
        double llr, emb;
        int st = strand_vep_score_snv(v, contig, vars[i].pos1, ref, alt, &llr, &emb);
        if (st < 0) {
            fprintf(stderr, "vep_example: %s\n", strand_vep_last_error(v));
            status = 1;
            break;
        }
        printf("%s:%lld %s>%s status %d LLR %.6f EMB %.6g\n", contig, (long long)vars[i].pos1, ref, alt, st, llr, emb);
    }
    if (status == 0 && strand_vep_score_batch(v, vars, (size_t)n) < 0) {
        fprintf(stderr, "vep_example: %s\n", strand_vep_last_error(v));
        status = 1;
    }
    for (int i = 0; status == 0 && i < n; i++)
        printf("batch %s:%lld LLR %.6f EMB %.6g\n", vars[i].contig, (long long)vars[i].pos1, vars[i].llr, vars[i].emb);
    for (int i = 0; copies && i < n; i++) free(copies[i]);
    free(copies), free(vars);
    strand_vep_free(v);
    return status;
}
