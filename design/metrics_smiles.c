/* SMILES design metrics: one definition each, docs/metrics.md "Validity", "Uniqueness",
 * "Novelty", "Property statistics", "Internal diversity", "GuacaMol KL score". */
#define _GNU_SOURCE
#include "design/metrics_smiles.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chem/chem.h"
#include "chem/fingerprint.h"
#include "chem/qed.h"
#include "core/error.h"
#include "design/strset.h"
#include "io/table.h"
#include "strand.h"

enum { FP2048_WORDS = 2048 / 64, FP4096_WORDS = 4096 / 64, CAN_MAX = 4096 };

const double ms_quantile_levels[MS_NQ] = {0.05, 0.25, 0.50, 0.75, 0.95};

static const char *const prop_names[MS_NPROP] = {"qed", "rings", "logp", "mw", "tpsa", "heavy_atoms"};
static const char *const kl_names[MS_KL_N] = {"BertzCT",          "MolLogP",          "MolWt",
                                              "TPSA",             "NumHAcceptors",    "NumHDonors",
                                              "NumRotatableBonds", "NumAliphaticRings", "NumAromaticRings",
                                              "internal_similarity"};

const char *ms_prop_name(ms_prop p) { return (unsigned)p < MS_NPROP ? prop_names[p] : "?"; }
const char *ms_kl_name(int k) { return k >= 0 && k < MS_KL_N ? kl_names[k] : "?"; }

void ms_default_params(ms_params *p)
{
    memset(p, 0, sizeof *p);
    p->threads = 1;
    p->seed = 42;
    p->intdiv_max = 5000;
    p->kl_max = 10000;
    p->compute_kl = 1;
}

/* ---- statistics --------------------------------------------------------------- */

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

void ms_stats_compute(const double *x, size_t n, ms_stats *out)
{
    out->n = n;
    out->mean = out->sd = NAN;
    for (int i = 0; i < MS_NQ; i++) out->q[i] = NAN;
    if (n == 0) return;
    double *s = malloc(n * sizeof *s);
    if (!s) return;
    memcpy(s, x, n * sizeof *s);
    qsort(s, n, sizeof *s, cmp_double);
    double sum = 0;
    for (size_t i = 0; i < n; i++) sum += s[i];
    out->mean = sum / (double)n;
    if (n > 1) {
        double ss = 0;
        for (size_t i = 0; i < n; i++) ss += (s[i] - out->mean) * (s[i] - out->mean);
        out->sd = sqrt(ss / (double)(n - 1));
    }
    for (int i = 0; i < MS_NQ; i++) { /* numpy's default "linear": position (n-1)q */
        double pos = (double)(n - 1) * ms_quantile_levels[i];
        size_t lo = (size_t)floor(pos), hi = lo + 1 < n ? lo + 1 : lo;
        double f = pos - (double)lo;
        out->q[i] = s[lo] + (s[hi] - s[lo]) * f;
    }
    free(s);
}

/* ---- subsets ------------------------------------------------------------------ */

/* The first m of a fixed-seed partial Fisher-Yates shuffle of 0..n-1, sorted (so a subset keeps
 * input order); idx has n entries. m >= n keeps everything in order. */
static size_t subset_indices(size_t n, size_t m, uint64_t seed, size_t *idx)
{
    for (size_t i = 0; i < n; i++) idx[i] = i;
    if (m >= n) return n;
    strand_rng rng;
    strand_rng_seed(&rng, seed);
    for (size_t i = 0; i < m; i++) {
        size_t j = i + (size_t)strand_rng_below(&rng, n - i);
        size_t t = idx[i];
        idx[i] = idx[j];
        idx[j] = t;
    }
    for (size_t i = 1; i < m; i++) /* insertion sort is fine for the few thousand kept */
        for (size_t j = i; j > 0 && idx[j - 1] > idx[j]; j--) {
            size_t t = idx[j];
            idx[j] = idx[j - 1];
            idx[j - 1] = t;
        }
    return m;
}

/* ---- per-molecule descriptors ---------------------------------------------------- */

/* The nine GuacaMol descriptors of one molecule. */
static int guacamol_descriptors(const chem_mol *m, double d[MS_KL_NN_SIM])
{
    int rc;
    if ((rc = chem_bertz_ct(m, &d[MS_KL_BERTZ])) < 0) return rc;
    if ((rc = chem_logp(m, &d[MS_KL_LOGP])) < 0) return rc;
    if ((rc = chem_mw(m, &d[MS_KL_MW])) < 0) return rc;
    if ((rc = chem_tpsa(m, &d[MS_KL_TPSA])) < 0) return rc;
    int c[5] = {chem_hba(m), chem_hbd(m), chem_rotatable_bonds(m, CHEM_ROTB_DEFAULT), chem_aliphatic_rings(m),
                chem_aromatic_rings(m)};
    for (int i = 0; i < 5; i++) {
        if (c[i] < 0) return c[i];
        d[MS_KL_HBA + i] = c[i];
    }
    return 0;
}

static int mol_props(const chem_mol *m, double v[MS_NPROP])
{
    int rc;
    if ((rc = qed_compute(m, &v[MS_QED])) < 0) return rc;
    int r = chem_ring_count(m);
    if (r < 0) return r;
    v[MS_RINGS] = r;
    if ((rc = chem_logp(m, &v[MS_LOGP])) < 0) return rc;
    if ((rc = chem_mw(m, &v[MS_MW])) < 0) return rc;
    if ((rc = chem_tpsa(m, &v[MS_TPSA])) < 0) return rc;
    int h = chem_num_atoms(m);
    if (h < 0) return h;
    v[MS_HEAVY] = h;
    return 0;
}

/* ---- reference ------------------------------------------------------------------ */

struct ms_reference {
    dz_strset *train;           /* T_can */
    size_t nsub;                /* molecules in the descriptor subset */
    double *props[MS_NPROP];    /* (nsub) */
    ms_stats stats[MS_NPROP];
    double *kl_desc[MS_KL_N];   /* (nsub) each; [MS_KL_NN_SIM] = internal NN similarity */
};

void ms_reference_free(ms_reference *r)
{
    if (!r) return;
    dz_strset_free(r->train);
    for (int i = 0; i < MS_NPROP; i++) free(r->props[i]);
    for (int i = 0; i < MS_KL_N; i++) free(r->kl_desc[i]);
    free(r);
}

size_t ms_reference_size(const ms_reference *r) { return r ? dz_strset_size(r->train) : 0; }
int ms_reference_contains(const ms_reference *r, const char *canonical)
{
    return r && canonical && dz_strset_has(r->train, canonical);
}
const double *ms_reference_values(const ms_reference *r, ms_prop p, size_t *n)
{
    if (n) *n = r && (unsigned)p < MS_NPROP ? r->nsub : 0;
    return r && (unsigned)p < MS_NPROP ? r->props[p] : NULL;
}
const ms_stats *ms_reference_stats(const ms_reference *r, ms_prop p)
{
    return r && (unsigned)p < MS_NPROP ? &r->stats[p] : NULL;
}

/* Canonical SMILES of `smiles` into buf; 1 valid, 0 invalid, < 0 error. */
static int canonicalise(const char *smiles, char *buf, size_t len)
{
    chem_mol *m = NULL;
    if (!smiles || !*smiles || chem_mol_from_smiles(smiles, &m) < 0) return 0;
    int rc = chem_canonical_smiles(m, buf, len);
    chem_mol_free(m);
    return rc < 0 ? rc : 1;
}

/* Descriptors and both fingerprints of the molecules can[0..k) (canonical SMILES, valid):
 * props (may be NULL), kl[0..9) and fp4096 (k x 64 words). Parallel over molecules. */
static int describe_set(const char *const *can, size_t k, int threads, double **props, double **kl,
                        uint64_t *fp4096)
{
    int err = 0;
#pragma omp parallel for schedule(dynamic, 16) num_threads(threads > 0 ? threads : 1)
    for (size_t i = 0; i < k; i++) {
        int rc;
        chem_mol *m = NULL;
        if ((rc = chem_mol_from_smiles(can[i], &m)) == 0) {
            double d[MS_KL_NN_SIM], v[MS_NPROP];
            rc = guacamol_descriptors(m, d);
            if (rc == 0 && props) rc = mol_props(m, v);
            if (rc == 0) rc = chem_morgan_bits(m, 2, 4096, fp4096 + i * FP4096_WORDS);
            if (rc == 0) {
                for (int j = 0; j < MS_KL_NN_SIM; j++) kl[j][i] = d[j];
                if (props)
                    for (int j = 0; j < MS_NPROP; j++) props[j][i] = v[j];
            }
        }
        chem_mol_free(m);
        if (rc < 0) {
#pragma omp atomic write
            err = rc;
        }
    }
    return err;
}

int ms_reference_build(const char *const *smiles, size_t n, int canonical, const ms_params *pp, ms_reference **out)
{
    if (out) *out = NULL;
    if ((!smiles && n) || !out) return st_err(NULL, STRAND_E_ARG, "ms_reference_build: NULL argument");
    ms_params p;
    if (pp) p = *pp; else ms_default_params(&p);
    chem_init();
    int rc = qed_init();
    if (rc < 0) return rc;
    ms_reference *r = calloc(1, sizeof *r);
    size_t *idx = malloc((n ? n : 1) * sizeof *idx);
    char **sub = NULL;
    uint64_t *fp = NULL;
    char buf[CAN_MAX];
    if (!r || !idx) { rc = st_err(NULL, STRAND_E_NOMEM, "ms_reference_build: out of memory"); goto fail; }
    if (!(r->train = dz_strset_create())) { rc = st_err(NULL, STRAND_E_NOMEM, "ms_reference_build: out of memory"); goto fail; }
    for (size_t i = 0; i < n; i++) {
        const char *c = smiles[i];
        if (!c || !*c) continue;
        if (!canonical) {
            int v = canonicalise(c, buf, sizeof buf);
            if (v < 0) { rc = v; goto fail; }
            if (!v) continue;
            c = buf;
        }
        if ((rc = dz_strset_add(r->train, c)) < 0) goto fail;
    }
    /* the descriptor subset: a fixed-seed subset of the input rows, valid ones kept */
    size_t m = subset_indices(n, p.kl_max, p.seed, idx);
    sub = calloc(m ? m : 1, sizeof *sub);
    if (!sub) { rc = st_err(NULL, STRAND_E_NOMEM, "ms_reference_build: out of memory"); goto fail; }
    size_t k = 0;
    for (size_t i = 0; i < m; i++) {
        const char *c = smiles[idx[i]];
        if (!c || !*c) continue;
        int v = canonicalise(c, buf, sizeof buf); /* also for trusted input: the subset must parse */
        if (v < 0) { rc = v; goto fail; }
        if (v && !(sub[k++] = strdup(buf))) { rc = st_err(NULL, STRAND_E_NOMEM, "out of memory"); goto fail; }
    }
    r->nsub = k;
    for (int j = 0; j < MS_NPROP; j++)
        if (!(r->props[j] = malloc((k ? k : 1) * sizeof(double)))) { rc = STRAND_E_NOMEM; goto fail; }
    for (int j = 0; j < MS_KL_N; j++)
        if (!(r->kl_desc[j] = malloc((k ? k : 1) * sizeof(double)))) { rc = STRAND_E_NOMEM; goto fail; }
    if (!(fp = malloc((k ? k : 1) * FP4096_WORDS * sizeof *fp))) { rc = STRAND_E_NOMEM; goto fail; }
    if ((rc = describe_set((const char *const *)sub, k, p.threads, r->props, r->kl_desc, fp)) < 0) goto fail;
    if ((rc = ms_nn_similarity(fp, k, FP4096_WORDS, r->kl_desc[MS_KL_NN_SIM])) < 0) goto fail;
    for (int j = 0; j < MS_NPROP; j++) ms_stats_compute(r->props[j], k, &r->stats[j]);
    for (size_t i = 0; i < k; i++) free(sub[i]);
    free(sub);
    free(fp);
    free(idx);
    *out = r;
    return 0;
fail:
    if (rc == STRAND_E_NOMEM) st_err(NULL, rc, "ms_reference_build: out of memory");
    if (sub)
        for (size_t i = 0; i < n && i < p.kl_max; i++) free(sub[i]);
    free(sub);
    free(fp);
    free(idx);
    ms_reference_free(r);
    return rc;
}

int ms_reference_from_tsv(const char *path, const char *column, const ms_params *p, ms_reference **out)
{
    if (out) *out = NULL;
    if (!path || !out) return st_err(NULL, STRAND_E_ARG, "ms_reference_from_tsv: NULL argument");
    const char *col = column ? column : "canonical_smiles";
    int trusted = strcmp(col, "canonical_smiles") == 0;
    st_table *t = NULL;
    int rc = st_table_open(&t, path, ST_TABLE_AUTO, col);
    if (rc < 0) return rc;
    char **v = NULL;
    size_t n = 0, cap = 0;
    const char *s;
    while ((rc = st_table_next(t, &s)) == 1) {
        if (n == cap) {
            cap = cap ? 2 * cap : 1024;
            char **nv = realloc(v, cap * sizeof *v);
            if (!nv) { rc = st_err(NULL, STRAND_E_NOMEM, "%s: out of memory", path); break; }
            v = nv;
        }
        if (!(v[n] = strdup(s))) { rc = st_err(NULL, STRAND_E_NOMEM, "%s: out of memory", path); break; }
        n++;
    }
    st_table_close(t);
    if (rc == 0) rc = ms_reference_build((const char *const *)v, n, trusted, p, out);
    for (size_t i = 0; i < n; i++) free(v[i]);
    free(v);
    return rc;
}

/* ---- per sample ------------------------------------------------------------------ */

void ms_samples_clear(ms_sample *rows, size_t n)
{
    if (!rows) return;
    for (size_t i = 0; i < n; i++) {
        free(rows[i].canonical);
        memset(&rows[i], 0, sizeof rows[i]);
    }
}

int ms_sample_compute(const char *smiles, const ms_reference *ref, ms_sample *row)
{
    memset(row, 0, sizeof *row);
    for (int j = 0; j < MS_NPROP; j++) row->v[j] = NAN;
    if (!smiles || !*smiles) return 0;
    chem_mol *m = NULL;
    if (chem_mol_from_smiles(smiles, &m) < 0) return 0; /* invalid: not an error */
    char buf[CAN_MAX];
    int rc = chem_canonical_smiles(m, buf, sizeof buf);
    chem_mol *again = NULL;
    /* a molecule whose RDKit canonical SMILES does not parse again (RDKit can write e.g. a
     * pentavalent carbon for some sanitised inputs) is invalid: every set metric re-parses the
     * canonical form (docs/metrics.md "Validity") */
    if (rc >= 0 && chem_mol_from_smiles(buf, &again) < 0) {
        chem_mol_free(m);
        return 0;
    }
    chem_mol_free(again);
    if (rc >= 0) rc = mol_props(m, row->v);
    chem_mol_free(m);
    if (rc < 0) {
        for (int j = 0; j < MS_NPROP; j++) row->v[j] = NAN;
        return rc;
    }
    if (!(row->canonical = strdup(buf))) return st_err(NULL, STRAND_E_NOMEM, "out of memory");
    row->valid = 1;
    row->novel = ref ? !dz_strset_has(ref->train, buf) : 0;
    return 0;
}

/* ---- diversity and KL ------------------------------------------------------------- */

double ms_intdiv(const uint64_t *fps, size_t k, size_t nwords)
{
    if (k < 2) return NAN;
    double sum = 0;
    for (size_t i = 0; i < k; i++) {
        double row = 0;
        for (size_t j = i + 1; j < k; j++) row += fp_tanimoto(fps + i * nwords, fps + j * nwords, nwords);
        sum += row;
    }
    return 1.0 - sum * 2.0 / ((double)k * (double)(k - 1));
}

int ms_nn_similarity(const uint64_t *fps, size_t k, size_t nwords, double *out)
{
    for (size_t i = 0; i < k; i++) out[i] = 0;
    for (size_t i = 0; i < k; i++)
        for (size_t j = i + 1; j < k; j++) {
            double t = fp_tanimoto(fps + i * nwords, fps + j * nwords, nwords);
            if (t > out[i]) out[i] = t;
            if (t > out[j]) out[j] = t;
        }
    return 0;
}

/* scipy.stats.entropy(P, Q) after both are normalised to sum 1. */
static double kl_normalised(const double *P, const double *Q, size_t m)
{
    double sp = 0, sq = 0, kl = 0;
    for (size_t i = 0; i < m; i++) sp += P[i], sq += Q[i];
    for (size_t i = 0; i < m; i++) {
        double p = P[i] / sp, q = Q[i] / sq;
        if (p > 0) kl += p * log(p / q);
    }
    return kl;
}

/* Scott's-rule Gaussian KDE of x (scipy.stats.gaussian_kde) at the points g. A set of identical
 * values (scipy raises) gets the bandwidth of sd = 1e-3 (docs/metrics.md "GuacaMol KL score"). */
static void kde_eval(const double *x, size_t n, const double *g, size_t m, double *out)
{
    double mean = 0, ss = 0;
    for (size_t i = 0; i < n; i++) mean += x[i];
    mean /= (double)n;
    for (size_t i = 0; i < n; i++) ss += (x[i] - mean) * (x[i] - mean);
    double sd = n > 1 ? sqrt(ss / (double)(n - 1)) : 0;
    if (!(sd > 0)) sd = 1e-3;
    double h = sd * pow((double)n, -0.2);
    double norm = 1.0 / ((double)n * h * sqrt(2 * M_PI));
    for (size_t j = 0; j < m; j++) {
        double s = 0;
        for (size_t i = 0; i < n; i++) {
            double z = (g[j] - x[i]) / h;
            s += exp(-0.5 * z * z);
        }
        out[j] = s * norm;
    }
}

double ms_kl_continuous(const double *ref, size_t a, const double *sample, size_t b)
{
    if (!a || !b) return NAN;
    enum { G = 1000 };
    double lo = ref[0], hi = ref[0];
    for (size_t i = 0; i < a; i++) lo = fmin(lo, ref[i]), hi = fmax(hi, ref[i]);
    for (size_t i = 0; i < b; i++) lo = fmin(lo, sample[i]), hi = fmax(hi, sample[i]);
    double *g = malloc(3 * G * sizeof *g);
    if (!g) return NAN;
    double *P = g + G, *Q = g + 2 * G;
    double step = (hi - lo) / (G - 1); /* numpy.linspace(lo, hi, 1000) */
    for (int j = 0; j < G; j++) g[j] = lo + j * step;
    g[G - 1] = hi;
    kde_eval(ref, a, g, G, P);
    kde_eval(sample, b, g, G, Q);
    for (int j = 0; j < G; j++) P[j] += 1e-10, Q[j] += 1e-10;
    double kl = kl_normalised(P, Q, G);
    free(g);
    return kl;
}

/* numpy.histogram(x, bins=edges) counts for equal-width edges (its bin search, edge fixes). */
static size_t hist_counts(const double *x, size_t n, const double *edges, int nb, double *count)
{
    size_t in = 0;
    double first = edges[0], last = edges[nb];
    double norm = nb / (last - first);
    for (int b = 0; b < nb; b++) count[b] = 0;
    for (size_t i = 0; i < n; i++) {
        if (!(x[i] >= first && x[i] <= last)) continue;
        int k = (int)((x[i] - first) * norm);
        if (k == nb) k--;
        if (x[i] < edges[k]) k--;
        else if (k != nb - 1 && x[i] >= edges[k + 1]) k++;
        count[k] += 1;
        in++;
    }
    return in;
}

double ms_kl_discrete(const double *ref, size_t a, const double *sample, size_t b)
{
    if (!a || !b) return NAN;
    enum { NB = 10 };
    double lo = ref[0], hi = ref[0];
    for (size_t i = 0; i < a; i++) lo = fmin(lo, ref[i]), hi = fmax(hi, ref[i]);
    if (lo == hi) lo -= 0.5, hi += 0.5;
    double e[NB + 1], P[NB], Q[NB];
    double step = (hi - lo) / NB;
    for (int i = 0; i <= NB; i++) e[i] = lo + i * step;
    e[NB] = hi;
    size_t pa = hist_counts(ref, a, e, NB, P);
    size_t qb = hist_counts(sample, b, e, NB, Q);
    for (int i = 0; i < NB; i++) {
        double w = e[i + 1] - e[i];
        P[i] = P[i] / ((double)pa * w) + 1e-10;
        Q[i] = (qb ? Q[i] / ((double)qb * w) : 0) + 1e-10; /* no sample inside: uniform (numpy: NaN) */
    }
    return kl_normalised(P, Q, NB);
}

int ms_kl_score(const char *const *canonical, size_t k, const ms_reference *ref, const ms_params *pp,
                double kl[MS_KL_N], double *score)
{
    for (int j = 0; j < MS_KL_N; j++) kl[j] = NAN;
    *score = NAN;
    if (!ref || !ref->nsub || !k) return 0;
    ms_params p;
    if (pp) p = *pp; else ms_default_params(&p);
    size_t *idx = malloc(k * sizeof *idx);
    const char **sub = malloc(k * sizeof *sub);
    double *d[MS_KL_N] = {0};
    uint64_t *fp = NULL;
    int rc = 0;
    if (!idx || !sub) { rc = STRAND_E_NOMEM; goto done; }
    size_t m = subset_indices(k, p.kl_max, p.seed, idx);
    for (size_t i = 0; i < m; i++) sub[i] = canonical[idx[i]];
    for (int j = 0; j < MS_KL_N; j++)
        if (!(d[j] = malloc(m * sizeof(double)))) { rc = STRAND_E_NOMEM; goto done; }
    if (!(fp = malloc(m * FP4096_WORDS * sizeof *fp))) { rc = STRAND_E_NOMEM; goto done; }
    if ((rc = describe_set(sub, m, p.threads, NULL, d, fp)) < 0) goto done;
    ms_nn_similarity(fp, m, FP4096_WORDS, d[MS_KL_NN_SIM]);
    double s = 0;
    for (int j = 0; j < MS_KL_N; j++) {
        int discrete = j >= MS_KL_HBA && j <= MS_KL_AROMATIC_RINGS;
        kl[j] = discrete ? ms_kl_discrete(ref->kl_desc[j], ref->nsub, d[j], m)
                         : ms_kl_continuous(ref->kl_desc[j], ref->nsub, d[j], m);
        s += exp(-kl[j]);
    }
    *score = s / MS_KL_N;
done:
    if (rc == STRAND_E_NOMEM) st_err(NULL, rc, "GuacaMol KL score: out of memory");
    for (int j = 0; j < MS_KL_N; j++) free(d[j]);
    free(fp);
    free(sub);
    free(idx);
    return rc;
}

/* ---- the set -------------------------------------------------------------------- */

int ms_evaluate(const char *const *smiles, size_t n, const ms_reference *ref, const ms_params *pp,
                ms_sample *rows_out, ms_set_metrics *out)
{
    if ((!smiles && n) || !out) return st_err(NULL, STRAND_E_ARG, "ms_evaluate: NULL argument");
    ms_params p;
    if (pp) p = *pp; else ms_default_params(&p);
    memset(out, 0, sizeof *out);
    chem_init();
    int rc = qed_init();
    if (rc < 0) return rc;
    ms_sample *rows = rows_out ? rows_out : calloc(n ? n : 1, sizeof *rows);
    double *vals = malloc((n ? n : 1) * sizeof *vals);
    const char **uniq = malloc((n ? n : 1) * sizeof *uniq);
    size_t *idx = malloc((n ? n : 1) * sizeof *idx);
    uint64_t *fp = NULL;
    dz_strset *seen = dz_strset_create();
    if (!rows || !vals || !uniq || !idx || !seen) { rc = st_err(NULL, STRAND_E_NOMEM, "ms_evaluate: out of memory"); goto done; }
    int err = 0;
#pragma omp parallel for schedule(dynamic, 8) num_threads(p.threads > 0 ? p.threads : 1)
    for (size_t i = 0; i < n; i++) {
        int r = ms_sample_compute(smiles[i], ref, &rows[i]);
        if (r < 0) {
#pragma omp atomic write
            err = r;
        }
    }
    if (err < 0) { rc = err; goto done; }
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (!rows[i].valid) continue;
        out->n_valid++;
        int added = dz_strset_add(seen, rows[i].canonical);
        if (added < 0) { rc = added; goto done; }
        rows[i].first = added;
        if (added) {
            uniq[k++] = rows[i].canonical;
            out->n_novel += rows[i].novel;
        }
    }
    out->n = n;
    out->n_unique = k;
    out->validity = n ? (double)out->n_valid / (double)n : NAN;
    out->uniqueness = out->n_valid ? (double)k / (double)out->n_valid : NAN;
    out->novelty = ref && k ? (double)out->n_novel / (double)k : NAN;
    out->unique_of_all = n ? (double)k / (double)n : NAN;
    out->novel_of_all = ref && n ? (double)out->n_novel / (double)n : NAN;
    for (int j = 0; j < MS_NPROP; j++) {
        size_t m = 0;
        for (size_t i = 0; i < n; i++)
            if (rows[i].valid) vals[m++] = rows[i].v[j];
        ms_stats_compute(vals, m, &out->valid_stats[j]);
        m = 0;
        for (size_t i = 0; i < n; i++)
            if (rows[i].valid && rows[i].first && rows[i].novel) vals[m++] = rows[i].v[j];
        ms_stats_compute(vals, m, &out->novel_stats[j]);
    }
    /* internal diversity over U (a fixed-seed subset above intdiv_max) */
    size_t m = subset_indices(k, p.intdiv_max, p.seed, idx);
    if (!(fp = malloc((m ? m : 1) * FP2048_WORDS * sizeof *fp))) { rc = st_err(NULL, STRAND_E_NOMEM, "out of memory"); goto done; }
    for (size_t i = 0; i < m; i++) {
        chem_mol *mol = NULL;
        if ((rc = chem_mol_from_smiles(uniq[idx[i]], &mol)) == 0) rc = chem_morgan_bits(mol, 2, 2048, fp + i * FP2048_WORDS);
        chem_mol_free(mol);
        if (rc < 0) goto done;
    }
    out->intdiv = ms_intdiv(fp, m, FP2048_WORDS);
    out->kl_score = NAN;
    for (int j = 0; j < MS_KL_N; j++) out->kl[j] = NAN;
    if (p.compute_kl && ref) rc = ms_kl_score(uniq, k, ref, &p, out->kl, &out->kl_score);
done:
    dz_strset_free(seen);
    if (!rows_out && rows) {
        ms_samples_clear(rows, n);
        free(rows);
    }
    free(fp);
    free(idx);
    free(uniq);
    free(vals);
    return rc;
}

/* ---- JSON and TSV ------------------------------------------------------------------- */

static json_t *num(double x) { return isfinite(x) ? json_real(x) : json_null(); }

static json_t *stats_json(const ms_stats *s)
{
    json_t *o = json_object(), *q = json_array();
    json_object_set_new(o, "n", json_integer((json_int_t)s->n));
    json_object_set_new(o, "mean", num(s->mean));
    json_object_set_new(o, "sd", num(s->sd));
    for (int i = 0; i < MS_NQ; i++) json_array_append_new(q, num(s->q[i]));
    json_object_set_new(o, "quantiles", q);
    return o;
}

json_t *ms_metrics_json(const ms_set_metrics *m)
{
    json_t *o = json_object();
    if (!o) return NULL;
    json_object_set_new(o, "samples", json_integer((json_int_t)m->n));
    json_object_set_new(o, "valid", json_integer((json_int_t)m->n_valid));
    json_object_set_new(o, "unique", json_integer((json_int_t)m->n_unique));
    json_object_set_new(o, "novel", json_integer((json_int_t)m->n_novel));
    json_object_set_new(o, "validity", num(m->validity));
    json_object_set_new(o, "uniqueness", num(m->uniqueness));
    json_object_set_new(o, "novelty", num(m->novelty));
    json_object_set_new(o, "unique_of_all", num(m->unique_of_all));
    json_object_set_new(o, "novel_of_all", num(m->novel_of_all));
    json_object_set_new(o, "internal_diversity", num(m->intdiv));
    json_object_set_new(o, "guacamol_kl_score", num(m->kl_score));
    json_t *kl = json_object(), *qv = json_array(), *pv = json_object(), *pn = json_object();
    for (int j = 0; j < MS_KL_N; j++) json_object_set_new(kl, kl_names[j], num(m->kl[j]));
    json_object_set_new(o, "guacamol_kl", kl);
    for (int i = 0; i < MS_NQ; i++) json_array_append_new(qv, json_real(ms_quantile_levels[i]));
    json_object_set_new(o, "quantile_levels", qv);
    for (int j = 0; j < MS_NPROP; j++) {
        json_object_set_new(pv, prop_names[j], stats_json(&m->valid_stats[j]));
        json_object_set_new(pn, prop_names[j], stats_json(&m->novel_stats[j]));
    }
    json_object_set_new(o, "properties_valid", pv);
    json_object_set_new(o, "properties_novel", pn);
    return o;
}

const char *ms_tsv_header(void) { return "smiles\tvalid\tcanonical_smiles\tnovel\tqed\trings\tlogp\tmw\ttpsa\theavy_atoms"; }

int ms_sample_tsv(const char *smiles, const ms_sample *row, char **line)
{
    char v[MS_NPROP][32];
    for (int j = 0; j < MS_NPROP; j++) {
        if (!row->valid) snprintf(v[j], sizeof v[j], "NA");
        else if (j == MS_RINGS || j == MS_HEAVY) snprintf(v[j], sizeof v[j], "%d", (int)row->v[j]);
        else snprintf(v[j], sizeof v[j], "%.10g", row->v[j]);
    }
    /* tabs or newlines inside a sample would break the table: shown as spaces */
    char *s = strdup(smiles ? smiles : "");
    if (!s) return st_err(NULL, STRAND_E_NOMEM, "out of memory");
    for (char *c = s; *c; c++)
        if (*c == '\t' || *c == '\n' || *c == '\r') *c = ' ';
    int len = asprintf(line, "%s\t%d\t%s\t%d\t%s\t%s\t%s\t%s\t%s\t%s", s, row->valid,
                       row->valid ? row->canonical : "", row->novel, v[0], v[1], v[2], v[3], v[4], v[5]);
    free(s);
    if (len < 0) {
        *line = NULL;
        return st_err(NULL, STRAND_E_NOMEM, "out of memory");
    }
    return 0;
}
