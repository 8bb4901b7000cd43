/* Diffusion training data: SMILES tables and labelled DNA shards as fixed-length id sets, and a
 * resumable shuffled train_source (docs/diffusion.md "Training data"). */
#include "guidance/diff_data.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <strings.h>
#include <string.h>

#include "core/error.h"
#include "io/seqfile.h"
#include "io/table.h"
#include "io/window_set.h"

void diff_seqs_free(diff_seqs *s)
{
    if (!s) return;
    free(s->ids), free(s->labels), free(s->value);
    memset(s, 0, sizeof *s);
}

static int grow(diff_seqs *s, int want_labels, int want_values)
{
    if (s->n < s->cap) return 0;
    size_t cap = s->cap ? 2 * s->cap : 1024;
    int32_t *ids = realloc(s->ids, cap * s->L * sizeof *ids);
    if (!ids) return st_err(NULL, STRAND_E_NOMEM, "diffusion data: out of memory");
    s->ids = ids;
    if (want_labels) {
        int32_t *lb = realloc(s->labels, cap * sizeof *lb);
        if (!lb) return st_err(NULL, STRAND_E_NOMEM, "diffusion data: out of memory");
        s->labels = lb;
    }
    if (want_values) {
        double *v = realloc(s->value, cap * sizeof *v);
        if (!v) return st_err(NULL, STRAND_E_NOMEM, "diffusion data: out of memory");
        s->value = v;
    }
    s->cap = cap;
    return 0;
}

int diff_seqs_push(diff_seqs *s, const int32_t *ids, int32_t label, double value)
{
    int rc = grow(s, s->labels != NULL || (s->n == 0 && label >= 0), s->value != NULL || (s->n == 0 && !isnan(value)));
    if (rc < 0) return rc;
    memcpy(s->ids + s->n * s->L, ids, s->L * sizeof *ids);
    if (s->labels) s->labels[s->n] = label;
    if (s->value) s->value[s->n] = value;
    s->n++;
    return 0;
}

static int parse_num(const char *s, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    while (*end == ' ') end++;
    if (end == s || *end || errno || !isfinite(v)) return -1;
    *out = v;
    return 0;
}

static int col_index(const st_table *t, const char *name, const char *path, size_t *idx)
{
    for (size_t i = 0; i < st_table_nheader(t); i++)
        if (!strcmp(st_table_header(t, i), name)) {
            *idx = i;
            return 0;
        }
    for (size_t i = 0; i < st_table_nheader(t); i++)
        if (!strcasecmp(st_table_header(t, i), name)) {
            *idx = i;
            return 0;
        }
    char *end;
    long k = strtol(name, &end, 10);
    if (!*end && k >= 1) {
        *idx = (size_t)k - 1;
        return 0;
    }
    return st_err(NULL, STRAND_E_NOTFOUND, "%s: no column \"%s\" in the header", path, name);
}

int diff_seqs_from_table(const char *path, const diff_table_opts *o, strand_tokenizer *tok, size_t L,
                         diff_seqs *out, size_t *n_skipped)
{
    st_table *t = NULL;
    int rc = st_table_open(&t, path, ST_TABLE_AUTO, o->smiles_col);
    if (rc < 0) return rc;
    size_t lab_i = 0, prop_i = 0, skipped = 0;
    if (o->label_col && (rc = col_index(t, o->label_col, path, &lab_i)) < 0) goto done;
    if (o->prop_col && (rc = col_index(t, o->prop_col, path, &prop_i)) < 0) goto done;
    if (out->n == 0) out->L = L;
    if (out->L != L) {
        rc = st_err(NULL, STRAND_E_ARG, "%s: appending length %zu to a set of length %zu", path, L, out->L);
        goto done;
    }
    int32_t *ids = malloc(L * sizeof *ids);
    if (!ids) {
        rc = st_err(NULL, STRAND_E_NOMEM, "%s: out of memory", path);
        goto done;
    }
    const char *smi;
    size_t rows = 0;
    while ((rc = st_table_next(t, &smi)) == 1) {
        if (o->max_rows && rows >= o->max_rows) break;
        rows++;
        size_t line = st_table_line(t), n_unk = 0;
        int32_t label = -1;
        double value = NAN;
        int bad = 0;
        char why[256] = "";
        if (o->label_col || o->prop_col) {
            size_t ci = o->label_col ? lab_i : prop_i;
            const char *f = ci < st_table_nfields(t) ? st_table_field(t, ci) : NULL;
            double v;
            if (!f || parse_num(f, &v) < 0) {
                bad = 1;
                snprintf(why, sizeof why, "column \"%s\": \"%s\" is not a number", o->label_col ? o->label_col : o->prop_col,
                         f ? f : "");
            } else if (o->label_col) {
                if (v != floor(v) || v < 0 || v > 1e6) {
                    bad = 1;
                    snprintf(why, sizeof why, "label \"%s\" is not a class index (0, 1, ...)", f);
                } else
                    label = (int32_t)v;
            } else
                value = v;
        }
        if (!bad) {
            int e = strand_tokenizer_encode_padded(tok, smi, ids, L, NULL, &n_unk);
            if (e < 0) {
                bad = 1;
                snprintf(why, sizeof why, "%s", strand_last_error());
            } else if (n_unk) {
                bad = 1;
                snprintf(why, sizeof why, "%zu token(s) outside the model's vocabulary", n_unk);
            }
        }
        if (bad) {
            if (!o->skip_bad) {
                rc = st_err(NULL, STRAND_E_FORMAT, "%s: line %zu: %s (--skip-bad skips such rows)", path, line, why);
                break;
            }
            skipped++;
            continue;
        }
        if (out->n == 0 && o->label_col && !out->labels) out->labels = malloc(sizeof(int32_t)); /* mark: labelled */
        if ((rc = diff_seqs_push(out, ids, label, value)) < 0) break;
    }
    free(ids);
    if (rc > 0) rc = 0;
    if (n_skipped) *n_skipped = skipped;
done:
    st_table_close(t);
    return rc;
}

int diff_table_smiles(const char *path, const char *smiles_col, size_t max_rows, char ***smiles, size_t *n)
{
    *smiles = NULL;
    *n = 0;
    st_table *t = NULL;
    int rc = st_table_open(&t, path, ST_TABLE_AUTO, smiles_col);
    if (rc < 0) return rc;
    size_t cap = 0;
    const char *smi;
    while ((rc = st_table_next(t, &smi)) == 1 && (!max_rows || *n < max_rows)) {
        if (*n == cap) {
            cap = cap ? 2 * cap : 1024;
            char **p = realloc(*smiles, cap * sizeof *p);
            if (!p) {
                rc = st_err(NULL, STRAND_E_NOMEM, "%s: out of memory", path);
                break;
            }
            *smiles = p;
        }
        if (!((*smiles)[*n] = strdup(smi))) {
            rc = st_err(NULL, STRAND_E_NOMEM, "%s: out of memory", path);
            break;
        }
        (*n)++;
    }
    st_table_close(t);
    return rc < 0 ? rc : 0;
}

int diff_seqs_split_tail(diff_seqs *s, size_t n_val, diff_seqs *val)
{
    memset(val, 0, sizeof *val);
    if (n_val >= s->n) return st_err(NULL, STRAND_E_ARG, "diffusion data: %zu held-out of %zu sequences", n_val, s->n);
    val->L = s->L;
    for (size_t i = s->n - n_val; i < s->n; i++) {
        int rc = diff_seqs_push(val, s->ids + i * s->L, s->labels ? s->labels[i] : -1, s->value ? s->value[i] : NAN);
        if (rc < 0) return rc;
    }
    if (s->labels && !val->labels) val->labels = malloc(sizeof(int32_t));
    s->n -= n_val;
    return 0;
}

static int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

double diff_seqs_quantile(const diff_seqs *s, double q)
{
    if (!s->value || s->n == 0) return NAN;
    double *v = malloc(s->n * sizeof *v);
    if (!v) return NAN;
    memcpy(v, s->value, s->n * sizeof *v);
    qsort(v, s->n, sizeof *v, cmp_d);
    double r = v[(size_t)floor(q * (double)(s->n - 1))];
    free(v);
    return r;
}

int diff_seqs_threshold(diff_seqs *s, double thr)
{
    if (!s->value) return st_err(NULL, STRAND_E_ARG, "diffusion data: no property values to threshold");
    free(s->labels);
    s->labels = malloc((s->n ? s->n : 1) * sizeof *s->labels);
    if (!s->labels) return st_err(NULL, STRAND_E_NOMEM, "diffusion data: out of memory");
    for (size_t i = 0; i < s->n; i++) s->labels[i] = s->value[i] >= thr;
    s->cap = s->n; /* labels sized to n: a later push regrows everything */
    return 0;
}

int diff_seqs_from_shard(const char *path, size_t L, int32_t label, int vocab, diff_seqs *out)
{
    st_window_set w;
    int rc = st_window_set_from_shard(path, &w);
    if (rc < 0) return rc;
    if (w.len < L) rc = st_err(NULL, STRAND_E_FORMAT, "%s: records of %zu tokens, shorter than %zu", path, w.len, L);
    if (rc == 0 && out->n == 0) out->L = L;
    if (rc == 0 && out->L != L)
        rc = st_err(NULL, STRAND_E_ARG, "%s: appending length %zu to a set of length %zu", path, L, out->L);
    int32_t *ids = rc == 0 ? malloc(L * sizeof *ids) : NULL;
    if (rc == 0 && !ids) rc = st_err(NULL, STRAND_E_NOMEM, "%s: out of memory", path);
    if (rc == 0 && out->n == 0 && label >= 0 && !out->labels) out->labels = malloc(sizeof(int32_t));
    for (size_t r = 0; rc == 0 && r < w.n; r++)
        for (size_t k = 0; rc == 0 && k + L <= w.len; k += L) {
            const uint8_t *tok = w.tok + r * w.len + k;
            for (size_t l = 0; l < L; l++) {
                ids[l] = tok[l];
                if (ids[l] >= vocab) {
                    rc = st_err(NULL, STRAND_E_FORMAT, "%s: record %zu position %zu: token id %d outside the model's %d ids",
                                path, r, k + l, ids[l], vocab);
                    break;
                }
            }
            if (rc == 0) rc = diff_seqs_push(out, ids, label, NAN);
        }
    free(ids);
    st_window_set_free(&w);
    return rc;
}

int diff_seqs_from_fasta(const char *path, strand_tokenizer *tok, size_t L, int32_t label, diff_seqs *out)
{
    seq_records r = {0};
    int rc = seq_read_fasta(path, &r);
    if (rc < 0) return rc;
    if (out->n == 0) out->L = L;
    if (out->L != L) {
        seq_records_free(&r);
        return st_err(NULL, STRAND_E_ARG, "%s: appending length %zu to a set of length %zu", path, L, out->L);
    }
    int32_t *ids = malloc(L * sizeof *ids);
    if (!ids) rc = st_err(NULL, STRAND_E_NOMEM, "%s: out of memory", path);
    if (rc == 0 && out->n == 0 && label >= 0 && !out->labels) out->labels = malloc(sizeof(int32_t));
    size_t before = out->n;
    for (size_t i = 0; rc == 0 && i < r.n; i++)
        for (size_t w = 0; rc == 0 && w + L <= r.len[i]; w += L) {
            char save = r.seq[i][w + L];
            r.seq[i][w + L] = 0;
            size_t n = 0;
            rc = strand_tokenizer_encode(tok, r.seq[i] + w, ids, L, &n);
            r.seq[i][w + L] = save;
            if (rc == 0) rc = diff_seqs_push(out, ids, label, NAN);
        }
    if (rc == 0 && out->n == before)
        rc = st_err(NULL, STRAND_E_FORMAT, "%s: no record of at least %zu bases", path, L);
    free(ids);
    seq_records_free(&r);
    return rc;
}

int diff_source_init(diff_source *src, const diff_seqs *s, uint64_t seed)
{
    memset(src, 0, sizeof *src);
    if (s->n == 0 || s->n > UINT32_MAX) return st_err(NULL, STRAND_E_ARG, "diffusion source: %zu sequences", s->n);
    src->s = s;
    return train_order_init(&src->order, s->n, seed);
}

void diff_source_free(diff_source *src)
{
    if (!src) return;
    train_order_free(&src->order);
    memset(src, 0, sizeof *src);
}

int diff_source_next(void *user, int32_t *ids, int32_t *labels, size_t B, size_t L, uint64_t cursor[TRAIN_CURSOR_WORDS])
{
    diff_source *src = user;
    const diff_seqs *s = src->s;
    if (L != s->L) return st_err(NULL, STRAND_E_ARG, "diffusion source: asked for length %zu, data has %zu", L, s->L);
    for (size_t b = 0; b < B; b++) {
        size_t item = train_order_next(&src->order, cursor);
        memcpy(ids + b * L, s->ids + item * L, L * sizeof *ids);
        if (labels) labels[b] = s->labels ? s->labels[item] : -1;
    }
    return 0;
}
