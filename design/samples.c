/* design/samples.h: per-sample rows, filters, the per-sample TSV and the job metrics
 * (definitions: docs/metrics.md "Validity", "Uniqueness", "Novelty", "Property statistics",
 * "GC content"). */
#include "design/samples.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chem/chem.h"
#include "chem/smiles_props.h"
#include "core/atomic_file.h"
#include "core/error.h"

static char *dup_str(const char *s)
{
    size_t n = strlen(s) + 1;
    char *d = malloc(n);
    if (d) memcpy(d, s, n);
    return d;
}

static void smiles_row(const dz_strset *train, dz_row *r)
{
    static const smiles_prop props[] = {SP_QED, SP_RINGS, SP_LOGP, SP_MW, SP_TPSA};
    static const dz_prop to[] = {DZ_PROP_QED, DZ_PROP_RINGS, DZ_PROP_LOGP, DZ_PROP_MW, DZ_PROP_TPSA};
    if (!r->seq[0]) return; /* empty: invalid */
    smiles_props_row pr;
    memset(&pr, 0, sizeof pr);
    if (smiles_props_compute(r->seq, props, 5, &pr) == 0 && pr.ok) {
        r->valid = 1;
        r->canonical = pr.canonical;
        pr.canonical = NULL;
        for (int k = 0; k < 5; k++) r->prop[to[k]] = pr.v[props[k]];
        chem_mol *mol = NULL;
        if (chem_mol_from_smiles(r->seq, &mol) == 0) r->prop[DZ_PROP_HEAVY_ATOMS] = chem_num_atoms(mol);
        chem_mol_free(mol);
        if (train) r->novel = !dz_strset_has(train, r->canonical);
    }
    smiles_props_row_clear(&pr);
}

static void dna_row(dz_row *r)
{
    size_t acgt = 0, gc = 0;
    int run = 0, best = 0;
    char prev = 0;
    for (const char *p = r->seq; *p; p++) {
        char b = *p;
        if (b == 'A' || b == 'C' || b == 'G' || b == 'T') acgt++;
        if (b == 'G' || b == 'C') gc++;
        run = b == prev ? run + 1 : 1;
        prev = b;
        if (run > best) best = run;
    }
    r->valid = 1;
    r->homopolymer = best;
    r->prop[DZ_PROP_GC] = acgt ? (double)gc / (double)acgt : NAN;
}

int dz_rows_compute(const dz_model *m, const dz_strset *train, char *const *seqs, size_t n, dz_row *rows)
{
    for (size_t i = 0; i < n; i++) {
        dz_row *r = &rows[i];
        if (!(r->seq = dup_str(seqs[i]))) return st_err(NULL, STRAND_E_NOMEM, "design: out of memory");
        r->novel = -1;
        for (int k = 0; k < DZ_PROP_COUNT; k++) r->prop[k] = NAN;
        if (m->dna) dna_row(r);
        else smiles_row(train, r);
    }
    return 0;
}

int dz_rows_filter(const dz_filters *f, int dna, dz_row *rows, size_t n)
{
    dz_strset *seen = f->dedupe ? dz_strset_create() : NULL;
    if (f->dedupe && !seen) return st_err(NULL, STRAND_E_NOMEM, "design: out of memory");
    for (size_t i = 0; i < n; i++) {
        dz_row *r = &rows[i];
        r->kept = 0;
        if (f->valid && !r->valid) {
            r->why = "invalid";
            continue;
        }
        if (f->novel && r->novel != 1) {
            r->why = r->valid ? "in-training-set" : "invalid";
            continue;
        }
        const char *out = NULL;
        for (int k = 0; k < DZ_PROP_COUNT && !out; k++) {
            const dz_range *g = &f->range[k];
            if (!g->set) continue;
            double v = r->prop[k];
            if (isnan(v) || v < g->lo || v > g->hi) out = dz_prop_name((dz_prop)k);
        }
        if (out) {
            r->why = out;
            continue;
        }
        if (seen) {
            const char *key = r->canonical ? r->canonical : r->seq;
            int a = dz_strset_add(seen, key);
            if (a < 0) {
                dz_strset_free(seen);
                return a;
            }
            if (a == 0) {
                r->why = "duplicate";
                continue;
            }
        }
        r->kept = 1;
        r->why = "";
    }
    (void)dna;
    dz_strset_free(seen);
    return 0;
}

void dz_rows_free(dz_row *rows, size_t n)
{
    for (size_t i = 0; rows && i < n; i++) free(rows[i].seq), free(rows[i].canonical);
    free(rows);
}

static void put_num(FILE *fp, double v, int count)
{
    if (isnan(v)) fputs("\tNA", fp);
    else if (count) fprintf(fp, "\t%d", (int)v);
    else fprintf(fp, "\t%.6g", v);
}

int dz_rows_write_tsv(const char *path, int dna, const dz_row *rows, size_t n)
{
    st_atomic_file af;
    int rc = st_atomic_open(&af, path, ST_ATOMIC_STREAM);
    if (rc < 0) return rc;
    FILE *fp = af.fp;
    if (dna) fputs("index\tsequence\tlength\tgc\tlongest_homopolymer\tkept\tfiltered_by\n", fp);
    else fputs("index\tsmiles\tvalid\tcanonical_smiles\tnovel\tqed\trings\tlogp\tmw\ttpsa\theavy_atoms\tkept\tfiltered_by\n", fp);
    for (size_t i = 0; i < n; i++) {
        const dz_row *r = &rows[i];
        if (dna) {
            fprintf(fp, "%zu\t%s\t%zu", i + 1, r->seq, strlen(r->seq));
            put_num(fp, r->prop[DZ_PROP_GC], 0);
            fprintf(fp, "\t%d", r->homopolymer);
        } else {
            fprintf(fp, "%zu\t%s\t%d\t%s\t%s", i + 1, r->seq, r->valid, r->canonical ? r->canonical : "",
                    r->novel < 0 ? "NA" : r->novel ? "1" : "0");
            put_num(fp, r->prop[DZ_PROP_QED], 0);
            put_num(fp, r->prop[DZ_PROP_RINGS], 1);
            put_num(fp, r->prop[DZ_PROP_LOGP], 0);
            put_num(fp, r->prop[DZ_PROP_MW], 0);
            put_num(fp, r->prop[DZ_PROP_TPSA], 0);
            put_num(fp, r->prop[DZ_PROP_HEAVY_ATOMS], 1);
        }
        fprintf(fp, "\t%d\t%s\n", r->kept, r->kept ? "" : r->why ? r->why : "");
    }
    if (ferror(fp)) {
        st_atomic_abort(&af);
        return st_err(NULL, STRAND_E_IO, "%s: write error", path);
    }
    return st_atomic_commit(&af);
}

/* ---- metrics (docs/metrics.md) ------------------------------------------------------------------ */

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* mean, sd (n - 1), quantiles 5/25/50/75/95 (position (m - 1)·q, linear): "Property statistics" */
static json_t *stats_of(double *v, size_t m)
{
    if (m == 0) return json_null();
    double s = 0;
    for (size_t i = 0; i < m; i++) s += v[i];
    double mean = s / (double)m, ss = 0;
    for (size_t i = 0; i < m; i++) ss += (v[i] - mean) * (v[i] - mean);
    qsort(v, m, sizeof *v, cmp_double);
    json_t *o = json_object();
    json_object_set_new(o, "n", json_integer((json_int_t)m));
    json_object_set_new(o, "mean", json_real(mean));
    json_object_set_new(o, "sd", m > 1 ? json_real(sqrt(ss / (double)(m - 1))) : json_null());
    static const double q[] = {0.05, 0.25, 0.5, 0.75, 0.95};
    static const char *const qn[] = {"q05", "q25", "q50", "q75", "q95"};
    for (int k = 0; k < 5; k++) {
        double pos = (double)(m - 1) * q[k];
        size_t lo = (size_t)floor(pos), hi = lo + 1 < m ? lo + 1 : lo;
        json_object_set_new(o, qn[k], json_real(v[lo] + (pos - (double)lo) * (v[hi] - v[lo])));
    }
    return o;
}

static json_t *rate(size_t a, size_t b) { return b ? json_real((double)a / (double)b) : json_null(); }

json_t *dz_job_metrics(const dz_model *m, const dz_row *rows, size_t n, int have_train)
{
    json_t *o = json_object();
    size_t nv = 0, kept = 0;
    for (size_t i = 0; i < n; i++) nv += rows[i].valid, kept += rows[i].kept;
    json_object_set_new(o, "samples", json_integer((json_int_t)n));
    json_object_set_new(o, "kept", json_integer((json_int_t)kept));
    double *v = malloc((n ? n : 1) * sizeof *v);
    if (!v) {
        json_decref(o);
        return NULL;
    }
    if (m->dna) {
        dz_strset *u = dz_strset_create();
        for (size_t i = 0; i < n && u; i++) dz_strset_add(u, rows[i].seq);
        json_object_set_new(o, "distinct", json_integer((json_int_t)dz_strset_size(u)));
        json_object_set_new(o, "exact_duplicates", json_integer((json_int_t)(n - dz_strset_size(u))));
        dz_strset_free(u);
        size_t k = 0;
        for (size_t i = 0; i < n; i++)
            if (!isnan(rows[i].prop[DZ_PROP_GC])) v[k++] = rows[i].prop[DZ_PROP_GC];
        json_t *p = json_object();
        json_object_set_new(p, "gc", stats_of(v, k));
        for (size_t i = 0; i < n; i++) v[i] = rows[i].homopolymer;
        json_object_set_new(p, "longest_homopolymer", stats_of(v, n));
        json_object_set_new(o, "properties", p);
        free(v);
        return o;
    }
    dz_strset *u = dz_strset_create(), *un = dz_strset_create();
    size_t n_unique = 0, n_novel = 0;
    for (size_t i = 0; i < n && u && un; i++)
        if (rows[i].valid && dz_strset_add(u, rows[i].canonical) == 1) {
            n_unique++;
            if (rows[i].novel == 1) n_novel++, dz_strset_add(un, rows[i].canonical);
        }
    json_object_set_new(o, "valid", json_integer((json_int_t)nv));
    json_object_set_new(o, "unique", json_integer((json_int_t)n_unique));
    json_object_set_new(o, "validity", rate(nv, n));
    json_object_set_new(o, "uniqueness", rate(n_unique, nv));
    json_object_set_new(o, "unique_of_all", rate(n_unique, n));
    if (have_train) {
        json_object_set_new(o, "novel", json_integer((json_int_t)n_novel));
        json_object_set_new(o, "novelty", rate(n_novel, n_unique));
        json_object_set_new(o, "novel_of_all", rate(n_novel, n));
    } else {
        json_object_set_new(o, "novel", json_null());
        json_object_set_new(o, "novelty", json_null());
        json_object_set_new(o, "novel_of_all", json_null());
    }
    static const dz_prop props[] = {DZ_PROP_QED, DZ_PROP_RINGS, DZ_PROP_LOGP, DZ_PROP_MW, DZ_PROP_TPSA,
                                    DZ_PROP_HEAVY_ATOMS};
    json_t *pv = json_object(), *pn = json_object(), *pk = json_object();
    for (int j = 0; j < 6; j++) {
        dz_prop p = props[j];
        size_t k = 0;
        for (size_t i = 0; i < n; i++)
            if (rows[i].valid && !isnan(rows[i].prop[p])) v[k++] = rows[i].prop[p];
        json_object_set_new(pv, dz_prop_name(p), stats_of(v, k));
        k = 0;
        for (size_t i = 0; i < n; i++)
            if (rows[i].kept && rows[i].valid && !isnan(rows[i].prop[p])) v[k++] = rows[i].prop[p];
        json_object_set_new(pk, dz_prop_name(p), stats_of(v, k));
        if (have_train) {
            /* over novel molecules, each distinct one once */
            dz_strset *once = dz_strset_create();
            k = 0;
            for (size_t i = 0; i < n && once; i++)
                if (rows[i].novel == 1 && !isnan(rows[i].prop[p]) && dz_strset_add(once, rows[i].canonical) == 1)
                    v[k++] = rows[i].prop[p];
            dz_strset_free(once);
            json_object_set_new(pn, dz_prop_name(p), stats_of(v, k));
        }
    }
    json_object_set_new(o, "properties_valid", pv);
    json_object_set_new(o, "properties_kept", pk);
    if (have_train) json_object_set_new(o, "properties_novel", pn);
    else json_decref(pn);
    dz_strset_free(u), dz_strset_free(un);
    free(v);
    return o;
}
