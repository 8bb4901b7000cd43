/* design/judge.h: held-out reference windows and the clean judge classifier. */
#include "design/judge.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "io/shards.h"

void dz_strings_free(char **s, size_t n)
{
    for (size_t i = 0; s && i < n; i++) free(s[i]);
    free(s);
}

int dz_reference_read(const char *path, strand_tokenizer *tok, char ***out, size_t *n_out, unsigned *split)
{
    *out = NULL, *n_out = 0;
    st_shard *sh = NULL;
    int rc = st_shard_open(&sh, path);
    if (rc < 0) return rc;
    const st_shard_info *in = st_shard_get_info(sh);
    if (in->kind != ST_SHARD_KIND_DNA_WINDOWS) {
        st_shard_close(sh);
        return st_err(NULL, STRAND_E_FORMAT, "%s: not a DNA window shard (kind %u)", path, in->kind);
    }
    if (split) *split = in->split;
    size_t L = in->record_len, n = (size_t)in->n_records, k = 0;
    char **seqs = calloc(n ? n : 1, sizeof *seqs);
    uint8_t *tokens = NULL;
    int32_t *ids = malloc((L ? L : 1) * sizeof *ids), *contig = NULL;
    int64_t *start = NULL;
    char *buf = malloc(16 * L + 16);
    if (!seqs || !ids || !buf) rc = st_err(NULL, STRAND_E_NOMEM, "%s: out of memory", path);
    for (uint32_t ch = 0; rc == 0 && ch < in->n_chunks; ch++) {
        size_t m = st_shard_chunk_records(sh, ch);
        uint8_t *t2 = realloc(tokens, (m ? m : 1) * L);
        int32_t *c2 = t2 ? realloc(contig, (m ? m : 1) * sizeof *contig) : NULL;
        int64_t *s2 = c2 ? realloc(start, (m ? m : 1) * sizeof *start) : NULL;
        if (t2) tokens = t2;
        if (c2) contig = c2;
        if (s2) start = s2;
        if (!s2) {
            rc = st_err(NULL, STRAND_E_NOMEM, "%s: out of memory", path);
            break;
        }
        if ((rc = st_shard_read_chunk(sh, ch, tokens, contig, start)) < 0) break;
        for (size_t r = 0; r < m && rc == 0 && k < n; r++) {
            for (size_t l = 0; l < L; l++) ids[l] = tokens[r * L + l];
            size_t len = 0;
            if ((rc = strand_tokenizer_decode(tok, ids, L, buf, 16 * L + 16, &len)) < 0) break;
            if (!(seqs[k] = malloc(len + 1))) rc = st_err(NULL, STRAND_E_NOMEM, "%s: out of memory", path);
            else memcpy(seqs[k++], buf, len + 1);
        }
    }
    free(tokens), free(contig), free(start), free(ids), free(buf);
    st_shard_close(sh);
    if (rc < 0) {
        dz_strings_free(seqs, k);
        return st_err_prefix("%s", path);
    }
    *out = seqs, *n_out = k;
    return 0;
}

int dz_judge_predict(strand_classifier *judge, strand_tokenizer *tok, char *const *seqs, size_t n, int *pred,
                     double *prob)
{
    size_t Lmax = strand_classifier_max_length(judge);
    int C = strand_classifier_num_classes(judge);
    int32_t *ids = malloc((Lmax ? Lmax : 1) * sizeof *ids);
    float *logp = malloc((size_t)(C > 0 ? C : 1) * sizeof *logp);
    int rc = ids && logp ? 0 : st_err(NULL, STRAND_E_NOMEM, "judge: out of memory");
    for (size_t i = 0; i < n && rc == 0; i++) {
        size_t len = 0;
        pred[i] = -1, prob[i] = NAN;
        if ((rc = strand_tokenizer_encode(tok, seqs[i] ? seqs[i] : "", ids, Lmax, &len)) < 0) {
            rc = st_err(NULL, rc, "judge: sample %zu: %s", i + 1, strand_tokenizer_last_error(tok));
            break;
        }
        if (len == 0) continue;
        if ((rc = strand_classifier_log_probs(judge, ids, 1, len, NULL, logp)) < 0) {
            rc = st_err(NULL, rc, "judge: sample %zu: %s", i + 1, strand_classifier_last_error(judge));
            break;
        }
        int best = 0;
        for (int c = 1; c < C; c++)
            if (logp[c] > logp[best]) best = c;
        pred[i] = best, prob[i] = exp((double)logp[best]);
    }
    free(ids), free(logp);
    return rc;
}
