/* design/samples.h: one job's rows and metrics through design/metrics_smiles.h and
 * design/metrics_dna.h, the filters, the per-sample TSV. */
#include "design/samples.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/atomic_file.h"
#include "core/error.h"
#include "design/strset.h"

/* Per class y: the judge's share of y, JS to y's windows (NaN where undefined). */
static int per_class(const dz_model *m, char *const *seqs, size_t n, const int *pred, dz_eval *ev)
{
    int C = m->num_classes;
    ev->n_classes = C, ev->class_names = m->classes, ev->judged = pred != NULL;
    ev->pc_share = malloc((size_t)C * sizeof *ev->pc_share);
    ev->pc_js3 = malloc((size_t)C * sizeof *ev->pc_js3);
    ev->pc_js6 = malloc((size_t)C * sizeof *ev->pc_js6);
    double s3[64], *s6 = malloc(4096 * sizeof *s6);
    if (!ev->pc_share || !ev->pc_js3 || !ev->pc_js6 || !s6) {
        free(s6);
        return st_err(NULL, STRAND_E_NOMEM, "design: out of memory");
    }
    long k3 = md_kmer_spectrum((const char *const *)seqs, n, 3, s3), k6 = md_kmer_spectrum((const char *const *)seqs, n, 6, s6);
    for (int y = 0; y < C; y++) {
        size_t hit = 0;
        for (size_t i = 0; pred && i < n; i++) hit += pred[i] == y;
        ev->pc_share[y] = pred && n ? (double)hit / (double)n : NAN;
        const md_reference *r = m->ref ? m->ref[y] : NULL;
        ev->pc_js3[y] = r && k3 > 0 ? md_js_bits(s3, md_reference_spectrum(r, 3), 64) : NAN;
        ev->pc_js6[y] = r && k6 > 0 ? md_js_bits(s6, md_reference_spectrum(r, 6), 4096) : NAN;
    }
    free(s6);
    return 0;
}

int dz_evaluate(const dz_model *m, const ms_reference *ref, char *const *seqs, size_t n, int label, int threads,
                const int *pred, const double *prob, dz_eval *ev)
{
    memset(ev, 0, sizeof *ev);
    ev->n = n, ev->dna = m->dna, ev->seqs = seqs, ev->have_ref = ref != NULL;
    ev->kept = calloc(n ? n : 1, sizeof *ev->kept);
    ev->why = calloc(n ? n : 1, sizeof *ev->why);
    if (!ev->kept || !ev->why) return st_err(NULL, STRAND_E_NOMEM, "design: out of memory");
    int rc;
    if (m->dna) {
        md_params p;
        md_default_params(&p);
        p.threads = threads > 0 ? threads : 1;
        if (!(ev->md = calloc(n ? n : 1, sizeof *ev->md))) return st_err(NULL, STRAND_E_NOMEM, "design: out of memory");
        const md_reference *real = !m->ref ? NULL : label >= 0 && label < m->num_classes ? m->ref[label] : m->ref_all;
        rc = md_evaluate((const char *const *)seqs, n, real, NULL, pred, prob, label, &p, ev->md, &ev->dm);
        if (rc == 0 && (pred || m->ref) && m->num_classes > 0) rc = per_class(m, seqs, n, pred, ev);
    } else {
        ms_params p;
        ms_default_params(&p);
        p.threads = threads > 0 ? threads : 1;
        if (!(ev->ms = calloc(n ? n : 1, sizeof *ev->ms))) return st_err(NULL, STRAND_E_NOMEM, "design: out of memory");
        rc = ms_evaluate((const char *const *)seqs, n, ref, &p, ev->ms, &ev->sm);
    }
    return rc < 0 ? st_err_prefix("design metrics") : 0;
}

void dz_eval_clear(dz_eval *ev)
{
    if (!ev) return;
    if (ev->ms) ms_samples_clear(ev->ms, ev->n);
    free(ev->ms), free(ev->md), free(ev->kept), free(ev->why);
    free(ev->pc_share), free(ev->pc_js3), free(ev->pc_js6);
    memset(ev, 0, sizeof *ev);
}

double dz_eval_prop(const dz_eval *ev, size_t i, dz_prop p)
{
    if (ev->dna) return p == DZ_PROP_GC ? ev->md[i].gc : NAN;
    if (p == DZ_PROP_GC || !ev->ms[i].valid) return NAN;
    /* dz_prop and ms_prop list the molecule properties in the same order */
    return ev->ms[i].v[(ms_prop)p];
}

static int valid_at(const dz_eval *ev, size_t i) { return ev->dna ? 1 : ev->ms[i].valid; }

int dz_eval_filter(const dz_filters *f, dz_eval *ev)
{
    dz_strset *seen = f->dedupe ? dz_strset_create() : NULL;
    if (f->dedupe && !seen) return st_err(NULL, STRAND_E_NOMEM, "design: out of memory");
    for (size_t i = 0; i < ev->n; i++) {
        ev->kept[i] = 0;
        if (f->valid && !valid_at(ev, i)) {
            ev->why[i] = "invalid";
            continue;
        }
        if (f->novel && !(ev->ms && ev->ms[i].novel)) {
            ev->why[i] = valid_at(ev, i) ? "in-training-set" : "invalid";
            continue;
        }
        const char *out = NULL;
        for (int k = 0; k < DZ_PROP_COUNT && !out; k++) {
            const dz_range *g = &f->range[k];
            if (!g->set) continue;
            double v = dz_eval_prop(ev, i, (dz_prop)k);
            if (isnan(v) || v < g->lo || v > g->hi) out = dz_prop_name((dz_prop)k);
        }
        if (out) {
            ev->why[i] = out;
            continue;
        }
        if (seen) {
            const char *key = ev->ms && ev->ms[i].canonical ? ev->ms[i].canonical : ev->seqs[i];
            int a = dz_strset_add(seen, key);
            if (a < 0) {
                dz_strset_free(seen);
                return a;
            }
            if (a == 0) {
                ev->why[i] = "duplicate";
                continue;
            }
        }
        ev->kept[i] = 1;
        ev->why[i] = "";
    }
    dz_strset_free(seen);
    return 0;
}

int dz_eval_write_tsv(const char *path, const dz_eval *ev)
{
    st_atomic_file af;
    int rc = st_atomic_open(&af, path, ST_ATOMIC_STREAM);
    if (rc < 0) return rc;
    FILE *fp = af.fp;
    fprintf(fp, "index\t%s\tkept\tfiltered_by\n", ev->dna ? md_tsv_header() : ms_tsv_header());
    for (size_t i = 0; i < ev->n && rc == 0; i++) {
        char *line = NULL;
        rc = ev->dna ? md_sample_tsv(ev->seqs[i], &ev->md[i], &line) : ms_sample_tsv(ev->seqs[i], &ev->ms[i], &line);
        if (rc == 0) fprintf(fp, "%zu\t%s\t%d\t%s\n", i + 1, line, ev->kept[i], ev->kept[i] ? "" : ev->why[i]);
        free(line);
    }
    if (rc == 0 && ferror(fp)) rc = st_err(NULL, STRAND_E_IO, "%s: write error", path);
    if (rc < 0) {
        st_atomic_abort(&af);
        return rc;
    }
    return st_atomic_commit(&af);
}

static json_t *stats_json(const ms_stats *s)
{
    if (s->n == 0) return json_null();
    json_t *o = json_object();
    json_object_set_new(o, "n", json_integer((json_int_t)s->n));
    json_object_set_new(o, "mean", json_real(s->mean));
    json_object_set_new(o, "sd", isnan(s->sd) ? json_null() : json_real(s->sd));
    static const char *const qn[MS_NQ] = {"q05", "q25", "q50", "q75", "q95"};
    for (int k = 0; k < MS_NQ; k++) json_object_set_new(o, qn[k], json_real(s->q[k]));
    return o;
}

json_t *dz_eval_metrics(const dz_eval *ev)
{
    json_t *o = ev->dna ? md_metrics_json(&ev->dm) : ms_metrics_json(&ev->sm);
    if (!o) return NULL;
    size_t kept = 0;
    for (size_t i = 0; i < ev->n; i++) kept += (size_t)ev->kept[i];
    json_object_set_new(o, "kept", json_integer((json_int_t)kept));
    /* statistics over the kept samples (the filtered set a user takes away) */
    double *v = malloc((ev->n ? ev->n : 1) * sizeof *v);
    if (!v) {
        json_decref(o);
        return NULL;
    }
    json_t *pk = json_object();
    for (int p = 0; p < DZ_PROP_COUNT; p++) {
        if ((p == DZ_PROP_GC) != (ev->dna != 0)) continue;
        size_t k = 0;
        for (size_t i = 0; i < ev->n; i++) {
            double x = dz_eval_prop(ev, i, (dz_prop)p);
            if (ev->kept[i] && !isnan(x)) v[k++] = x;
        }
        ms_stats st;
        ms_stats_compute(v, k, &st);
        json_object_set_new(pk, dz_prop_name((dz_prop)p), stats_json(&st));
    }
    json_object_set_new(o, "properties_kept", pk);
    free(v);
    if (ev->dna && ev->judged && !isnan(ev->dm.accuracy) && ev->n)
        json_object_set_new(o, "class_accuracy_se",
                            json_real(sqrt(ev->dm.accuracy * (1 - ev->dm.accuracy) / (double)ev->n)));
    if (ev->n_classes > 0) {
        /* docs/design.md "Judging DNA samples": per class, the judge's share and JS to its windows */
        json_t *pc = json_array();
        for (int y = 0; y < ev->n_classes; y++) {
            json_t *e = json_object();
            json_object_set_new(e, "label", json_integer(y));
            json_object_set_new(e, "class", ev->class_names ? json_string(ev->class_names[y]) : json_null());
            json_object_set_new(e, "judged_share", isnan(ev->pc_share[y]) ? json_null() : json_real(ev->pc_share[y]));
            json_object_set_new(e, "kmer_js3_bits", isnan(ev->pc_js3[y]) ? json_null() : json_real(ev->pc_js3[y]));
            json_object_set_new(e, "kmer_js6_bits", isnan(ev->pc_js6[y]) ? json_null() : json_real(ev->pc_js6[y]));
            json_array_append_new(pc, e);
        }
        json_object_set_new(o, "per_class", pc);
    }
    return o;
}
