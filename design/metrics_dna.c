/* DNA design metrics: docs/metrics.md "k-mer Jensen-Shannon divergence", "GC content",
 * "Memorised copies", "Class accuracy", "Macro-F1", "MCC". */
#define _GNU_SOURCE
#include "design/metrics_dna.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "design/strset.h"

/* A=0 C=1 G=2 T=3, -1 otherwise. */
static int base_code(char c)
{
    switch (c) {
    case 'A': case 'a': return 0;
    case 'C': case 'c': return 1;
    case 'G': case 'g': return 2;
    case 'T': case 't': return 3;
    default: return -1;
    }
}

long md_kmer_spectrum(const char *const *seqs, size_t n, int k, double *p)
{
    if (k < 1 || k > 8 || !p) return st_err(NULL, STRAND_E_ARG, "md_kmer_spectrum: k = %d (1..8)", k);
    size_t m = (size_t)1 << (2 * k);
    uint32_t mask = (uint32_t)(m - 1);
    for (size_t i = 0; i < m; i++) p[i] = 0;
    long total = 0;
    for (size_t s = 0; s < n; s++) {
        if (!seqs[s]) continue;
        uint32_t code = 0;
        int run = 0; /* bases since the last non-ACGT symbol */
        for (const char *c = seqs[s]; *c; c++) {
            int b = base_code(*c);
            if (b < 0) {
                run = 0;
                code = 0;
                continue;
            }
            code = ((code << 2) | (uint32_t)b) & mask;
            if (++run >= k) {
                p[code] += 1;
                total++;
            }
        }
    }
    if (total)
        for (size_t i = 0; i < m; i++) p[i] /= (double)total;
    return total;
}

double md_js_bits(const double *p, const double *q, size_t m)
{
    double js = 0;
    for (size_t i = 0; i < m; i++) {
        double mid = 0.5 * (p[i] + q[i]);
        if (p[i] > 0) js += 0.5 * p[i] * log2(p[i] / mid);
        if (q[i] > 0) js += 0.5 * q[i] * log2(q[i] / mid);
    }
    return js;
}

double md_gc(const char *s)
{
    long gc = 0, acgt = 0;
    for (; s && *s; s++) {
        int b = base_code(*s);
        if (b < 0) continue;
        acgt++;
        gc += b == 1 || b == 2;
    }
    return acgt ? (double)gc / (double)acgt : NAN;
}

int md_longest_homopolymer(const char *s)
{
    int best = 0, run = 0, prev = -1;
    for (; s && *s; s++) {
        int b = base_code(*s);
        if (b < 0) {
            run = 0;
            prev = -1;
            continue;
        }
        run = b == prev ? run + 1 : 1;
        prev = b;
        if (run > best) best = run;
    }
    return best;
}

/* ---- reference: 2-bit packed windows, both strands ---------------------------------- */
/* Each window of length len is two bit planes per strand: hi[w] and lo[w] words (bit t % 64 of
 * word t / 64 holds position t's code bits) and a valid plane (ACGT). Position t of a sample
 * matches window position t when both are valid and both bit planes agree. */
typedef struct packed {
    size_t len, words;
    uint64_t *bits; /* 3 * words per strand: hi, lo, valid; forward then reverse complement */
} packed;

struct md_reference {
    size_t n;
    packed *win;
    double spec3[64], spec6[4096];
    double gc_mean, gc_sd;
};

static int pack(const char *s, size_t len, uint64_t *hi, uint64_t *lo, uint64_t *valid)
{
    size_t words = (len + 63) / 64;
    memset(hi, 0, words * 8);
    memset(lo, 0, words * 8);
    memset(valid, 0, words * 8);
    for (size_t t = 0; t < len; t++) {
        int b = base_code(s[t]);
        if (b < 0) continue;
        uint64_t bit = (uint64_t)1 << (t % 64);
        valid[t / 64] |= bit;
        if (b & 2) hi[t / 64] |= bit;
        if (b & 1) lo[t / 64] |= bit;
    }
    return 0;
}

void md_reference_free(md_reference *r)
{
    if (!r) return;
    for (size_t i = 0; i < r->n; i++) free(r->win[i].bits);
    free(r->win);
    free(r);
}

int md_reference_build(const char *const *seqs, size_t n, md_reference **out)
{
    if (out) *out = NULL;
    if ((!seqs && n) || !out) return st_err(NULL, STRAND_E_ARG, "md_reference_build: NULL argument");
    md_reference *r = calloc(1, sizeof *r);
    if (!r || !(r->win = calloc(n ? n : 1, sizeof *r->win))) {
        free(r);
        return st_err(NULL, STRAND_E_NOMEM, "md_reference_build: out of memory");
    }
    double gs = 0, gss = 0;
    size_t gn = 0;
    for (size_t i = 0; i < n; i++) {
        const char *s = seqs[i] ? seqs[i] : "";
        size_t len = strlen(s), words = (len + 63) / 64;
        packed *w = &r->win[i];
        w->len = len;
        w->words = words;
        if (!(w->bits = malloc((words ? 6 * words : 1) * sizeof(uint64_t)))) {
            r->n = i;
            md_reference_free(r);
            return st_err(NULL, STRAND_E_NOMEM, "md_reference_build: out of memory");
        }
        pack(s, len, w->bits, w->bits + words, w->bits + 2 * words);
        char *rc = malloc(len + 1);
        if (!rc) {
            r->n = i + 1;
            md_reference_free(r);
            return st_err(NULL, STRAND_E_NOMEM, "md_reference_build: out of memory");
        }
        for (size_t t = 0; t < len; t++) {
            int b = base_code(s[len - 1 - t]);
            rc[t] = b < 0 ? 'N' : "TGCA"[b];
        }
        rc[len] = 0;
        pack(rc, len, w->bits + 3 * words, w->bits + 4 * words, w->bits + 5 * words);
        free(rc);
        double g = md_gc(s);
        if (!isnan(g)) gs += g, gss += g * g, gn++;
    }
    r->n = n;
    md_kmer_spectrum(seqs, n, 3, r->spec3);
    md_kmer_spectrum(seqs, n, 6, r->spec6);
    r->gc_mean = gn ? gs / (double)gn : NAN;
    r->gc_sd = gn > 1 ? sqrt(fmax(0, (gss - gs * gs / (double)gn) / (double)(gn - 1))) : NAN;
    *out = r;
    return 0;
}

size_t md_reference_size(const md_reference *r) { return r ? r->n : 0; }
const double *md_reference_spectrum(const md_reference *r, int k)
{
    return !r ? NULL : k == 3 ? r->spec3 : k == 6 ? r->spec6 : NULL;
}
double md_reference_gc_mean(const md_reference *r) { return r ? r->gc_mean : NAN; }
double md_reference_gc_sd(const md_reference *r) { return r ? r->gc_sd : NAN; }

static size_t matches(const uint64_t *shi, const uint64_t *slo, const uint64_t *sval, const uint64_t *whi,
                      const uint64_t *wlo, const uint64_t *wval, size_t len)
{
    size_t words = (len + 63) / 64, c = 0;
    for (size_t i = 0; i < words; i++) {
        uint64_t same = ~(shi[i] ^ whi[i]) & ~(slo[i] ^ wlo[i]) & sval[i] & wval[i];
        if (i == words - 1 && len % 64) same &= ((uint64_t)1 << (len % 64)) - 1;
        c += (size_t)__builtin_popcountll(same);
    }
    return c;
}

double md_nn_identity(const md_reference *r, const char *s)
{
    if (!r || !s) return NAN;
    size_t len = strlen(s), words = (len + 63) / 64;
    if (!len) return NAN;
    uint64_t *q = malloc(3 * words * sizeof *q);
    if (!q) return NAN;
    pack(s, len, q, q + words, q + 2 * words);
    long best = -1;
    for (size_t i = 0; i < r->n; i++) {
        const packed *w = &r->win[i];
        if (w->len != len) continue;
        for (int strand = 0; strand < 2; strand++) {
            const uint64_t *b = w->bits + 3 * w->words * strand;
            long c = (long)matches(q, q + words, q + 2 * words, b, b + w->words, b + 2 * w->words, len);
            if (c > best) best = c;
        }
    }
    free(q);
    return best < 0 ? NAN : (double)best / (double)len;
}

/* ---- the set ------------------------------------------------------------------------ */

void md_default_params(md_params *p)
{
    p->threads = 1;
    p->memorised_id = 0.99;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int md_evaluate(const char *const *seqs, size_t n, const md_reference *real, const md_reference *train,
                const int *pred, const double *prob, int requested, const md_params *pp, md_sample *rows_out,
                md_set_metrics *out)
{
    if ((!seqs && n) || !out) return st_err(NULL, STRAND_E_ARG, "md_evaluate: NULL argument");
    md_params p;
    if (pp) p = *pp; else md_default_params(&p);
    memset(out, 0, sizeof *out);
    md_sample *rows = rows_out ? rows_out : calloc(n ? n : 1, sizeof *rows);
    double *nn = malloc((n ? n : 1) * sizeof *nn);
    dz_strset *seen = dz_strset_create();
    int rc = 0;
    if (!rows || !nn || !seen) { rc = st_err(NULL, STRAND_E_NOMEM, "md_evaluate: out of memory"); goto done; }
    out->n = n;
    out->requested = requested;
#pragma omp parallel for schedule(dynamic, 4) num_threads(p.threads > 0 ? p.threads : 1)
    for (size_t i = 0; i < n; i++) rows[i].nn_id = train ? md_nn_identity(train, seqs[i] ? seqs[i] : "") : NAN;
    double gs = 0, gss = 0, hs = 0;
    size_t gn = 0, nnn = 0, correct = 0;
    for (size_t i = 0; i < n; i++) {
        const char *s = seqs[i] ? seqs[i] : "";
        md_sample *r = &rows[i];
        r->gc = md_gc(s);
        r->homopolymer = md_longest_homopolymer(s);
        r->predicted = pred ? pred[i] : -1;
        r->prob = prob ? prob[i] : NAN;
        int added = dz_strset_add(seen, s);
        if (added < 0) { rc = added; goto done; }
        r->duplicate = !added;
        out->exact_duplicates += r->duplicate;
        if (!isnan(r->gc)) gs += r->gc, gss += r->gc * r->gc, gn++;
        hs += r->homopolymer;
        if (r->homopolymer > out->homopolymer_max) out->homopolymer_max = r->homopolymer;
        if (!isnan(r->nn_id)) {
            nn[nnn++] = r->nn_id;
            out->memorised += r->nn_id >= p.memorised_id;
        }
        correct += pred && pred[i] == requested;
    }
    out->gc_mean = gn ? gs / (double)gn : NAN;
    out->gc_sd = gn > 1 ? sqrt(fmax(0, (gss - gs * gs / (double)gn) / (double)(gn - 1))) : NAN;
    out->homopolymer_mean = n ? hs / (double)n : NAN;
    out->real_gc_mean = md_reference_gc_mean(real);
    out->real_gc_sd = md_reference_gc_sd(real);
    out->accuracy = pred && n && requested >= 0 ? (double)correct / (double)n : NAN;
    out->nn_id_mean = out->nn_id_q95 = out->nn_id_max = NAN;
    if (nnn) {
        qsort(nn, nnn, sizeof *nn, cmp_double);
        double s = 0;
        for (size_t i = 0; i < nnn; i++) s += nn[i];
        out->nn_id_mean = s / (double)nnn;
        double pos = 0.95 * (double)(nnn - 1);
        size_t lo = (size_t)pos, hi = lo + 1 < nnn ? lo + 1 : lo;
        out->nn_id_q95 = nn[lo] + (nn[hi] - nn[lo]) * (pos - (double)lo);
        out->nn_id_max = nn[nnn - 1];
    }
    out->js3 = out->js6 = NAN;
    if (real && real->n) {
        double s3[64], *s6 = malloc(4096 * sizeof *s6);
        if (!s6) { rc = st_err(NULL, STRAND_E_NOMEM, "md_evaluate: out of memory"); goto done; }
        if (md_kmer_spectrum(seqs, n, 3, s3) > 0) out->js3 = md_js_bits(s3, real->spec3, 64);
        if (md_kmer_spectrum(seqs, n, 6, s6) > 0) out->js6 = md_js_bits(s6, real->spec6, 4096);
        free(s6);
    }
done:
    dz_strset_free(seen);
    if (!rows_out) free(rows);
    free(nn);
    return rc;
}

/* ---- confusion matrix ---------------------------------------------------------------- */

void md_confusion_add(long *C, int k, const int *requested, const int *predicted, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (requested[i] >= 0 && requested[i] < k && predicted[i] >= 0 && predicted[i] < k)
            C[(size_t)requested[i] * k + predicted[i]]++;
}

double md_macro_f1(const long *C, int k)
{
    double sum = 0;
    int classes = 0;
    for (int c = 0; c < k; c++) {
        long tp = C[(size_t)c * k + c], col = 0, row = 0;
        for (int y = 0; y < k; y++) col += C[(size_t)y * k + c], row += C[(size_t)c * k + y];
        if (!col && !row) continue; /* neither requested nor predicted */
        classes++;
        double prec = col ? (double)tp / (double)col : 0, rec = row ? (double)tp / (double)row : 0;
        sum += prec + rec > 0 ? 2 * prec * rec / (prec + rec) : 0;
    }
    return classes ? sum / classes : NAN;
}

double md_mcc(const long *C, int k)
{
    double s = 0, kc = 0, tp = 0, pp = 0, tt = 0;
    for (int y = 0; y < k; y++) {
        kc += (double)C[(size_t)y * k + y];
        double t = 0, pr = 0;
        for (int c = 0; c < k; c++) t += (double)C[(size_t)y * k + c], pr += (double)C[(size_t)c * k + y];
        s += t;
        tp += t * pr;
        pp += pr * pr;
        tt += t * t;
    }
    double den = sqrt((s * s - pp) * (s * s - tt));
    return den > 0 ? (kc * s - tp) / den : 0;
}

/* ---- JSON and TSV ---------------------------------------------------------------------- */

static json_t *num(double x) { return isfinite(x) ? json_real(x) : json_null(); }

json_t *md_metrics_json(const md_set_metrics *m)
{
    json_t *o = json_object();
    if (!o) return NULL;
    json_object_set_new(o, "samples", json_integer((json_int_t)m->n));
    json_object_set_new(o, "requested_class", m->requested >= 0 ? json_integer(m->requested) : json_null());
    json_object_set_new(o, "class_accuracy", num(m->accuracy));
    json_object_set_new(o, "kmer_js3_bits", num(m->js3));
    json_object_set_new(o, "kmer_js6_bits", num(m->js6));
    json_object_set_new(o, "gc_mean", num(m->gc_mean));
    json_object_set_new(o, "gc_sd", num(m->gc_sd));
    json_object_set_new(o, "real_gc_mean", num(m->real_gc_mean));
    json_object_set_new(o, "real_gc_sd", num(m->real_gc_sd));
    json_object_set_new(o, "homopolymer_mean", num(m->homopolymer_mean));
    json_object_set_new(o, "homopolymer_max", json_integer(m->homopolymer_max));
    json_object_set_new(o, "exact_duplicates", json_integer((json_int_t)m->exact_duplicates));
    json_object_set_new(o, "nn_identity_mean", num(m->nn_id_mean));
    json_object_set_new(o, "nn_identity_q95", num(m->nn_id_q95));
    json_object_set_new(o, "nn_identity_max", num(m->nn_id_max));
    json_object_set_new(o, "memorised", json_integer((json_int_t)m->memorised));
    return o;
}

static void fmt_na(char *b, size_t n, double x)
{
    if (isnan(x)) snprintf(b, n, "NA");
    else snprintf(b, n, "%.6f", x);
}

const char *md_tsv_header(void) { return "sequence\tgc\tpredicted\tprob\thomopolymer\tnn_identity\tduplicate"; }

int md_sample_tsv(const char *seq, const md_sample *r, char **line)
{
    char gc[32], pr[32], nn[32];
    fmt_na(gc, sizeof gc, r->gc);
    fmt_na(pr, sizeof pr, r->prob);
    fmt_na(nn, sizeof nn, r->nn_id);
    int len = asprintf(line, "%s\t%s\t%d\t%s\t%d\t%s\t%d", seq ? seq : "", gc, r->predicted, pr, r->homopolymer, nn,
                       r->duplicate);
    if (len < 0) {
        *line = NULL;
        return st_err(NULL, STRAND_E_NOMEM, "out of memory");
    }
    return 0;
}
