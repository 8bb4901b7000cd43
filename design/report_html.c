/* The campaign report writer: docs/metrics.md "Report" (design/report_html.h). */
#define _GNU_SOURCE
#include "design/report_html.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chem/chem.h"
#include "core/atomic_file.h"
#include "core/error.h"
#include "design/svg_plot.h"
#include "strand.h"

enum { EX_SMILES = 6, EX_DNA = 4, NBINS = 30 };

typedef struct rp_point {
    int dna;
    char *target, *guidance;
    double gamma;
    json_t *metrics;
    ms_set_metrics ms;
    md_set_metrics md;
    double *vals[MS_NPROP]; /* SMILES: property values of the valid samples */
    size_t nvals;
    char **ex, **cap;       /* SMILES: depictions + captions; DNA: sequences + headers */
    int nex;
    double spec3[64];       /* DNA: generated 3-mer spectrum */
    int have_spec;
    double *classes;        /* DNA: predicted-class counts (k) */
    int k;
} rp_point;

typedef struct rp_target {
    char *name, *id;
    int dna;
    double *ref[MS_NPROP]; /* SMILES: training subset values */
    size_t nref;
    double real3[64];       /* DNA: real 3-mer spectrum */
    int have_real;
    char **class_names;
    int k;
} rp_target;

typedef struct dna_campaign_pt {
    double gamma, f1, mcc;
} dna_campaign_pt;

struct rp_report {
    char *title, *campaign;
    char **pkey, **pval;
    int np;
    rp_point *pt;
    int npt;
    rp_target *tg;
    int ntg;
    dna_campaign_pt *dc;
    int ndc;
};

static int nomem(void) { return st_err(NULL, STRAND_E_NOMEM, "report: out of memory"); }

int rp_create(const char *title, rp_report **out)
{
    *out = NULL;
    rp_report *r = calloc(1, sizeof *r);
    if (!r || !(r->title = strdup(title ? title : "strand design"))) {
        free(r);
        return nomem();
    }
    *out = r;
    return 0;
}

static void free_strs(char **v, int n)
{
    if (!v) return;
    for (int i = 0; i < n; i++) free(v[i]);
    free(v);
}

void rp_free(rp_report *r)
{
    if (!r) return;
    for (int i = 0; i < r->npt; i++) {
        rp_point *p = &r->pt[i];
        free(p->target);
        free(p->guidance);
        json_decref(p->metrics);
        for (int j = 0; j < MS_NPROP; j++) free(p->vals[j]);
        free_strs(p->ex, p->nex);
        free_strs(p->cap, p->nex);
        free(p->classes);
    }
    for (int i = 0; i < r->ntg; i++) {
        rp_target *t = &r->tg[i];
        free(t->name);
        free(t->id);
        for (int j = 0; j < MS_NPROP; j++) free(t->ref[j]);
        free_strs(t->class_names, t->k);
    }
    free_strs(r->pkey, r->np);
    free_strs(r->pval, r->np);
    free(r->pt);
    free(r->tg);
    free(r->dc);
    free(r->title);
    free(r->campaign);
    free(r);
}

int rp_set_campaign_text(rp_report *r, const char *text)
{
    free(r->campaign);
    r->campaign = strdup(text ? text : "");
    return r->campaign ? 0 : nomem();
}

int rp_add_provenance(rp_report *r, const char *key, const char *value)
{
    char **k = realloc(r->pkey, (size_t)(r->np + 1) * sizeof *k);
    if (!k) return nomem();
    r->pkey = k;
    char **v = realloc(r->pval, (size_t)(r->np + 1) * sizeof *v);
    if (!v) return nomem();
    r->pval = v;
    if (!(r->pkey[r->np] = strdup(key ? key : ""))) return nomem();
    if (!(r->pval[r->np] = strdup(value ? value : ""))) {
        free(r->pkey[r->np]);
        return nomem();
    }
    r->np++;
    return 0;
}

/* The target of that name (created on first use), or NULL on out-of-memory / kind clash. */
static rp_target *target_of(rp_report *r, const char *name, int dna, int *rc)
{
    for (int i = 0; i < r->ntg; i++)
        if (!strcmp(r->tg[i].name, name)) {
            if (r->tg[i].dna != dna) {
                *rc = st_err(NULL, STRAND_E_ARG, "report: target \"%s\" is both a SMILES and a DNA target", name);
                return NULL;
            }
            return &r->tg[i];
        }
    rp_target *t = realloc(r->tg, (size_t)(r->ntg + 1) * sizeof *t);
    if (!t) {
        *rc = nomem();
        return NULL;
    }
    r->tg = t;
    t = &r->tg[r->ntg];
    memset(t, 0, sizeof *t);
    t->dna = dna;
    size_t len = strlen(name);
    t->name = strdup(name);
    t->id = malloc(len + 16);
    if (!t->name || !t->id) {
        free(t->name);
        free(t->id);
        *rc = nomem();
        return NULL;
    }
    /* ids: [A-Za-z0-9_-] only, made unique with a numeric suffix */
    for (size_t i = 0; i < len; i++) {
        char c = name[i];
        int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
        t->id[i] = ok ? c : '-';
    }
    t->id[len] = 0;
    if (!len) strcpy(t->id, "target");
    for (int dup = 2;; dup++) {
        int clash = 0;
        for (int i = 0; i < r->ntg; i++) clash |= !strcmp(r->tg[i].id, t->id);
        if (!clash) break;
        t->id[len ? len : 6] = 0;
        snprintf(t->id + strlen(t->id), 16, "-%d", dup);
    }
    r->ntg++;
    return t;
}

static rp_point *new_point(rp_report *r, const char *target, const char *guidance, double gamma, int dna, int *rc)
{
    rp_point *p = realloc(r->pt, (size_t)(r->npt + 1) * sizeof *p);
    if (!p) {
        *rc = nomem();
        return NULL;
    }
    r->pt = p;
    p = &r->pt[r->npt];
    memset(p, 0, sizeof *p);
    p->dna = dna;
    p->gamma = gamma;
    p->target = strdup(target);
    p->guidance = strdup(guidance ? guidance : "");
    if (!p->target || !p->guidance) {
        free(p->target);
        free(p->guidance);
        *rc = nomem();
        return NULL;
    }
    r->npt++;
    return p;
}

int rp_add_smiles(rp_report *r, const char *target, const char *guidance, double gamma,
                  const char *const *smiles, const ms_sample *rows, size_t n, const ms_set_metrics *m,
                  const ms_reference *ref)
{
    if (!r || !target || (!smiles && n)) return st_err(NULL, STRAND_E_ARG, "rp_add_smiles: NULL argument");
    int rc = 0;
    ms_sample *own = NULL;
    ms_set_metrics mm;
    if (!rows || !m) {
        ms_params p;
        ms_default_params(&p);
        p.compute_kl = m == NULL;
        if (!(own = calloc(n ? n : 1, sizeof *own))) return nomem();
        if ((rc = ms_evaluate(smiles, n, ref, &p, own, &mm)) < 0) goto done;
        if (!rows) rows = own;
        if (!m) m = &mm;
    }
    rp_target *t = target_of(r, target, 0, &rc);
    if (!t) goto done;
    if (ref && !t->nref) {
        size_t nr = 0;
        for (int j = 0; j < MS_NPROP; j++) {
            const double *v = ms_reference_values(ref, (ms_prop)j, &nr);
            if (!(t->ref[j] = malloc((nr ? nr : 1) * sizeof(double)))) { rc = nomem(); goto done; }
            if (nr) memcpy(t->ref[j], v, nr * sizeof(double));
        }
        t->nref = nr;
    }
    rp_point *pt = new_point(r, target, guidance, gamma, 0, &rc);
    if (!pt) goto done;
    pt->ms = *m;
    if (!(pt->metrics = ms_metrics_json(m))) { rc = nomem(); goto done; }
    for (int j = 0; j < MS_NPROP; j++) {
        if (!(pt->vals[j] = malloc((n ? n : 1) * sizeof(double)))) { rc = nomem(); goto done; }
        size_t k = 0;
        for (size_t i = 0; i < n; i++)
            if (rows[i].valid) pt->vals[j][k++] = rows[i].v[j];
        pt->nvals = k;
    }
    pt->ex = calloc(EX_SMILES, sizeof *pt->ex);
    pt->cap = calloc(EX_SMILES, sizeof *pt->cap);
    if (!pt->ex || !pt->cap) { rc = nomem(); goto done; }
    for (size_t i = 0; i < n && pt->nex < EX_SMILES; i++) {
        if (!rows[i].valid || !rows[i].canonical) continue;
        int seen = 0;
        for (int e = 0; e < pt->nex; e++) seen |= !strcmp(pt->cap[e], rows[i].canonical);
        if (seen) continue;
        chem_mol *mol = NULL;
        char *svg = NULL;
        if (chem_mol_from_smiles(rows[i].canonical, &mol) == 0 && chem_depict_svg(mol, 180, 140, &svg) == 0) {
            pt->ex[pt->nex] = svg;
            if (!(pt->cap[pt->nex] = strdup(rows[i].canonical))) {
                free(svg);
                chem_mol_free(mol);
                rc = nomem();
                goto done;
            }
            pt->nex++;
        }
        chem_mol_free(mol);
    }
done:
    if (own) {
        ms_samples_clear(own, n);
        free(own);
    }
    return rc;
}

int rp_add_dna(rp_report *r, const char *target, const char *guidance, double gamma,
               const char *const *seqs, const md_sample *rows, size_t n, const md_set_metrics *m,
               const md_reference *real, const char *const *class_names, int k)
{
    if (!r || !target || (!seqs && n) || k < 0) return st_err(NULL, STRAND_E_ARG, "rp_add_dna: bad argument");
    int rc = 0;
    md_set_metrics mm;
    if (!m) {
        if ((rc = md_evaluate(seqs, n, real, NULL, NULL, NULL, -1, NULL, NULL, &mm)) < 0) return rc;
        m = &mm;
    }
    rp_target *t = target_of(r, target, 1, &rc);
    if (!t) return rc;
    if (real && !t->have_real) {
        memcpy(t->real3, md_reference_spectrum(real, 3), sizeof t->real3);
        t->have_real = 1;
    }
    if (class_names && k > 0 && !t->class_names) {
        if (!(t->class_names = calloc((size_t)k, sizeof *t->class_names))) return nomem();
        t->k = k;
        for (int c = 0; c < k; c++)
            if (!(t->class_names[c] = strdup(class_names[c] ? class_names[c] : ""))) return nomem();
    }
    rp_point *pt = new_point(r, target, guidance, gamma, 1, &rc);
    if (!pt) return rc;
    pt->md = *m;
    if (!(pt->metrics = md_metrics_json(m))) return nomem();
    pt->have_spec = md_kmer_spectrum(seqs, n, 3, pt->spec3) > 0;
    if (rows && k > 0) {
        if (!(pt->classes = calloc((size_t)k, sizeof *pt->classes))) return nomem();
        pt->k = k;
        for (size_t i = 0; i < n; i++)
            if (rows[i].predicted >= 0 && rows[i].predicted < k) pt->classes[rows[i].predicted] += 1;
    }
    pt->ex = calloc(EX_DNA, sizeof *pt->ex);
    pt->cap = calloc(EX_DNA, sizeof *pt->cap);
    if (!pt->ex || !pt->cap) return nomem();
    for (size_t i = 0; i < n && pt->nex < EX_DNA; i++) {
        const char *cls = "";
        if (rows && rows[i].predicted >= 0 && class_names && rows[i].predicted < k) cls = class_names[rows[i].predicted];
        if (!(pt->ex[pt->nex] = strdup(seqs[i] ? seqs[i] : ""))) return nomem();
        if (asprintf(&pt->cap[pt->nex], ">sample %zu gamma=%g%s%s", i + 1, gamma, *cls ? " predicted=" : "", cls) < 0) {
            pt->cap[pt->nex] = NULL;
            free(pt->ex[pt->nex]);
            return nomem();
        }
        pt->nex++;
    }
    return 0;
}

int rp_add_dna_campaign(rp_report *r, double gamma, double macro_f1, double mcc)
{
    dna_campaign_pt *d = realloc(r->dc, (size_t)(r->ndc + 1) * sizeof *d);
    if (!d) return nomem();
    r->dc = d;
    r->dc[r->ndc++] = (dna_campaign_pt){gamma, macro_f1, mcc};
    return 0;
}

/* ---- layout helpers ------------------------------------------------------------------------ */

/* Indices of the points of target t in increasing gamma (stable). Returns the count. */
static int points_of(const rp_report *r, const rp_target *t, int *idx)
{
    int n = 0;
    for (int i = 0; i < r->npt; i++)
        if (!strcmp(r->pt[i].target, t->name)) {
            int j = n++;
            while (j > 0 && r->pt[idx[j - 1]].gamma > r->pt[i].gamma) idx[j] = idx[j - 1], j--;
            idx[j] = i;
        }
    return n;
}

static const char *const smiles_dist[MS_NPROP] = {"qed", "rings", "logp", "mw", "tpsa", "heavy_atoms"};
static const char *const smiles_dist_label[MS_NPROP] = {"QED", "ring count (SSSR)", "logP (Crippen)",
                                                        "molecular weight", "TPSA", "heavy atoms"};

/* Every plot id, in document order. */
static json_t *plot_ids(const rp_report *r)
{
    json_t *a = json_array();
    char id[512];
    for (int i = 0; i < r->ntg; i++) {
        const rp_target *t = &r->tg[i];
        snprintf(id, sizeof id, "plot-%s-vs-gamma", t->id);
        json_array_append_new(a, json_string(id));
        if (!t->dna) {
            for (int j = 0; j < MS_NPROP; j++) {
                snprintf(id, sizeof id, "plot-%s-dist-%s", t->id, smiles_dist[j]);
                json_array_append_new(a, json_string(id));
            }
        } else {
            snprintf(id, sizeof id, "plot-%s-kmer3", t->id);
            json_array_append_new(a, json_string(id));
            snprintf(id, sizeof id, "plot-%s-classes", t->id);
            json_array_append_new(a, json_string(id));
        }
    }
    return a;
}

static void cell(FILE *fp, double v, const char *fmt)
{
    fputs("<td>", fp);
    if (isfinite(v)) fprintf(fp, fmt, v);
    else fputs("&ndash;", fp);
    fputs("</td>", fp);
}

static void summary(FILE *fp, const rp_report *r, int *idx)
{
    int any_s = 0, any_d = 0;
    for (int i = 0; i < r->npt; i++) any_s |= !r->pt[i].dna, any_d |= r->pt[i].dna;
    fputs("<section id=\"summary\">\n<h2>Summary</h2>\n", fp);
    if (any_s) {
        fputs("<table id=\"summary-smiles\" class=\"summary\"><tr><th>target</th><th>guidance</th><th>&gamma;</th>"
              "<th>samples</th><th>validity</th><th>uniqueness</th><th>novelty</th><th>QED mean (valid)</th>"
              "<th>QED mean (novel)</th><th>internal diversity</th><th>GuacaMol KL score</th></tr>\n", fp);
        for (int i = 0; i < r->ntg; i++) {
            if (r->tg[i].dna) continue;
            int n = points_of(r, &r->tg[i], idx);
            for (int k = 0; k < n; k++) {
                const rp_point *p = &r->pt[idx[k]];
                fputs("<tr><td>", fp);
                sp_escape(fp, p->target);
                fputs("</td><td>", fp);
                sp_escape(fp, p->guidance);
                fputs("</td>", fp);
                cell(fp, p->gamma, "%g");
                cell(fp, (double)p->ms.n, "%.0f");
                cell(fp, p->ms.validity, "%.3f");
                cell(fp, p->ms.uniqueness, "%.3f");
                cell(fp, p->ms.novelty, "%.3f");
                cell(fp, p->ms.valid_stats[MS_QED].mean, "%.3f");
                cell(fp, p->ms.novel_stats[MS_QED].mean, "%.3f");
                cell(fp, p->ms.intdiv, "%.3f");
                cell(fp, p->ms.kl_score, "%.3f");
                fputs("</tr>\n", fp);
            }
        }
        fputs("</table>\n", fp);
    }
    if (any_d) {
        fputs("<table id=\"summary-dna\" class=\"summary\"><tr><th>target</th><th>guidance</th><th>&gamma;</th>"
              "<th>samples</th><th>requested class</th><th>class accuracy</th><th>k-mer JS k=3 (bits)</th>"
              "<th>k-mer JS k=6 (bits)</th><th>GC (real)</th><th>longest homopolymer</th><th>exact duplicates</th>"
              "<th>nearest-training identity (mean / max)</th><th>memorised</th></tr>\n", fp);
        for (int i = 0; i < r->ntg; i++) {
            const rp_target *t = &r->tg[i];
            if (!t->dna) continue;
            int n = points_of(r, t, idx);
            for (int k = 0; k < n; k++) {
                const rp_point *p = &r->pt[idx[k]];
                fputs("<tr><td>", fp);
                sp_escape(fp, p->target);
                fputs("</td><td>", fp);
                sp_escape(fp, p->guidance);
                fputs("</td>", fp);
                cell(fp, p->gamma, "%g");
                cell(fp, (double)p->md.n, "%.0f");
                fputs("<td>", fp);
                if (p->md.requested >= 0 && t->class_names && p->md.requested < t->k) sp_escape(fp, t->class_names[p->md.requested]);
                else if (p->md.requested >= 0) fprintf(fp, "%d", p->md.requested);
                else fputs("&ndash;", fp);
                fputs("</td>", fp);
                cell(fp, p->md.accuracy, "%.3f");
                cell(fp, p->md.js3, "%.4f");
                cell(fp, p->md.js6, "%.4f");
                fputs("<td>", fp);
                if (isfinite(p->md.gc_mean)) fprintf(fp, "%.3f", p->md.gc_mean);
                else fputs("&ndash;", fp);
                if (isfinite(p->md.real_gc_mean)) fprintf(fp, " (%.3f)", p->md.real_gc_mean);
                fputs("</td>", fp);
                cell(fp, p->md.homopolymer_max, "%.0f");
                cell(fp, (double)p->md.exact_duplicates, "%.0f");
                fputs("<td>", fp);
                if (isfinite(p->md.nn_id_mean)) fprintf(fp, "%.3f / %.3f", p->md.nn_id_mean, p->md.nn_id_max);
                else fputs("&ndash;", fp);
                fputs("</td>", fp);
                cell(fp, (double)p->md.memorised, "%.0f");
                fputs("</tr>\n", fp);
            }
        }
        fputs("</table>\n", fp);
        if (r->ndc) {
            fputs("<table id=\"dna-campaign\" class=\"summary\"><tr><th>&gamma;</th><th>macro-F1 (all DNA targets)</th>"
                  "<th>MCC</th></tr>\n", fp);
            for (int i = 0; i < r->ndc; i++) {
                fputs("<tr>", fp);
                cell(fp, r->dc[i].gamma, "%g");
                cell(fp, r->dc[i].f1, "%.3f");
                cell(fp, r->dc[i].mcc, "%.3f");
                fputs("</tr>\n", fp);
            }
            fputs("</table>\n", fp);
        }
    }
    fputs("</section>\n", fp);
}

static char *gamma_label(double g)
{
    char *s = NULL;
    if (asprintf(&s, "\xce\xb3 = %g", g) < 0) return NULL;
    return s;
}

/* Density histogram of x over bins [e0, e0 + nb*w): centres into cx, densities into d. */
static void density(const double *x, size_t n, double e0, double w, int nb, double *cx, double *d)
{
    for (int b = 0; b < nb; b++) cx[b] = e0 + (b + 0.5) * w, d[b] = 0;
    size_t in = 0;
    for (size_t i = 0; i < n; i++) {
        if (!isfinite(x[i])) continue;
        int b = (int)floor((x[i] - e0) / w);
        if (b == nb) b--;
        if (b < 0 || b >= nb) continue;
        d[b] += 1;
        in++;
    }
    for (int b = 0; b < nb; b++) d[b] = in ? d[b] / ((double)in * w) : NAN;
}

static void smiles_target(FILE *fp, const rp_report *r, const rp_target *t, int *idx)
{
    int n = points_of(r, t, idx);
    char id[512], title[600];
    /* metrics against gamma */
    double *g = calloc((size_t)n + 1, 5 * sizeof(double));
    if (!g) return;
    double *val = g + n, *uni = val + n, *nov = uni + n, *qed = nov + n;
    for (int k = 0; k < n; k++) {
        const rp_point *p = &r->pt[idx[k]];
        g[k] = p->gamma, val[k] = p->ms.validity, uni[k] = p->ms.uniqueness, nov[k] = p->ms.novelty;
        qed[k] = p->ms.valid_stats[MS_QED].mean;
    }
    sp_series s4[4] = {{"validity", g, val, (size_t)n, 0, 0, 1},
                       {"uniqueness", g, uni, (size_t)n, 1, 0, 1},
                       {"novelty", g, nov, (size_t)n, 2, 0, 1},
                       {"mean QED (valid)", g, qed, (size_t)n, 3, 0, 1}};
    snprintf(id, sizeof id, "plot-%s-vs-gamma", t->id);
    snprintf(title, sizeof title, "metrics against \xce\xb3");
    sp_axes ax = {id, "plot-vs-gamma", title, "guidance strength \xce\xb3", "share / mean QED", 0, 0, 0, 1};
    sp_line_chart(fp, &ax, s4, 4);
    free(g);
    /* property distributions per gamma against the training subset */
    sp_series *ss = calloc((size_t)n + 1, sizeof *ss);
    double *buf = calloc(((size_t)n + 1) * 2 * 64, sizeof(double));
    char **names = calloc((size_t)n + 1, sizeof *names);
    if (!ss || !buf || !names) goto out;
    for (int j = 0; j < MS_NPROP; j++) {
        double lo = INFINITY, hi = -INFINITY;
        for (size_t i = 0; i < t->nref; i++)
            if (isfinite(t->ref[j][i])) lo = fmin(lo, t->ref[j][i]), hi = fmax(hi, t->ref[j][i]);
        for (int k = 0; k < n; k++) {
            const rp_point *p = &r->pt[idx[k]];
            for (size_t i = 0; i < p->nvals; i++)
                if (isfinite(p->vals[j][i])) lo = fmin(lo, p->vals[j][i]), hi = fmax(hi, p->vals[j][i]);
        }
        if (!isfinite(lo)) lo = 0, hi = 1;
        int count = j == MS_RINGS || j == MS_HEAVY;
        int nb = NBINS;
        double e0 = lo, w = (hi - lo) / NBINS;
        if (count && hi - lo + 1 <= 60) nb = (int)(hi - lo + 1), e0 = lo - 0.5, w = 1;
        if (!(w > 0)) e0 = lo - 0.5, w = 1.0 / NBINS;
        int ns = 0;
        if (t->nref) {
            density(t->ref[j], t->nref, e0, w, nb, buf, buf + 64);
            ss[ns++] = (sp_series){"training", buf, buf + 64, (size_t)nb, -1, 1, 0};
        }
        for (int k = 0; k < n; k++) {
            const rp_point *p = &r->pt[idx[k]];
            double *cx = buf + (size_t)(k + 1) * 128;
            density(p->vals[j], p->nvals, e0, w, nb, cx, cx + 64);
            free(names[k]);
            names[k] = gamma_label(p->gamma);
            ss[ns++] = (sp_series){names[k] ? names[k] : "", cx, cx + 64, (size_t)nb, k, 0, count};
        }
        snprintf(id, sizeof id, "plot-%s-dist-%s", t->id, smiles_dist[j]);
        snprintf(title, sizeof title, "%s of valid samples", smiles_dist_label[j]);
        sp_axes ad = {id, "plot-dist", title, smiles_dist_label[j], "density", 0, 0, NAN, NAN};
        sp_line_chart(fp, &ad, ss, ns);
    }
    /* example molecules */
    fprintf(fp, "<div id=\"examples-%s\" class=\"examples\">\n", t->id);
    for (int k = 0; k < n; k++) {
        const rp_point *p = &r->pt[idx[k]];
        fputs("<div class=\"example-row\"><h4>", fp);
        sp_escape(fp, p->guidance);
        fprintf(fp, " \xce\xb3 = %g</h4>", p->gamma);
        if (!p->nex) fputs("<p class=\"none\">no valid molecule</p>", fp);
        for (int e = 0; e < p->nex; e++) {
            fputs("<figure class=\"mol\">", fp);
            fputs(p->ex[e], fp);
            fputs("<figcaption>", fp);
            sp_escape(fp, p->cap[e]);
            fputs("</figcaption></figure>", fp);
        }
        fputs("</div>\n", fp);
    }
    fputs("</div>\n", fp);
out:
    if (names)
        for (int k = 0; k < n; k++) free(names[k]);
    free(names);
    free(ss);
    free(buf);
}

static void dna_target(FILE *fp, const rp_report *r, const rp_target *t, int *idx)
{
    int n = points_of(r, t, idx);
    char id[512], title[600];
    double *g = calloc((size_t)n + 1, 4 * sizeof(double));
    sp_series *ss = calloc((size_t)n + 2, sizeof *ss);
    char **names = calloc((size_t)n + 1, sizeof *names);
    double *x64 = malloc(64 * sizeof *x64);
    double *bars = NULL;
    char **cats = calloc((size_t)n + 1, sizeof *cats);
    if (!g || !ss || !names || !x64 || !cats) goto out;
    double *acc = g + n, *j3 = acc + n, *j6 = j3 + n;
    for (int k = 0; k < n; k++) {
        const rp_point *p = &r->pt[idx[k]];
        g[k] = p->gamma, acc[k] = p->md.accuracy, j3[k] = p->md.js3, j6[k] = p->md.js6;
    }
    sp_series s3[3] = {{"class accuracy", g, acc, (size_t)n, 0, 0, 1},
                       {"k-mer JS, k=3 (bits)", g, j3, (size_t)n, 1, 0, 1},
                       {"k-mer JS, k=6 (bits)", g, j6, (size_t)n, 2, 0, 1}};
    snprintf(id, sizeof id, "plot-%s-vs-gamma", t->id);
    snprintf(title, sizeof title, "metrics against \xce\xb3");
    sp_axes ax = {id, "plot-vs-gamma", title, "guidance strength \xce\xb3", "accuracy / JS (bits)", 0, 0, 0, 1};
    sp_line_chart(fp, &ax, s3, 3);
    for (int i = 0; i < 64; i++) x64[i] = i;
    int ns = 0;
    if (t->have_real) ss[ns++] = (sp_series){"real windows", x64, t->real3, 64, -1, 1, 0};
    for (int k = 0; k < n; k++) {
        const rp_point *p = &r->pt[idx[k]];
        names[k] = gamma_label(p->gamma);
        if (p->have_spec) ss[ns++] = (sp_series){names[k] ? names[k] : "", x64, p->spec3, 64, k, 0, 0};
    }
    snprintf(id, sizeof id, "plot-%s-kmer3", t->id);
    snprintf(title, sizeof title, "3-mer spectrum");
    sp_axes ak = {id, "plot-kmer", title, "3-mer index (AAA = 0 ... TTT = 63, A<C<G<T)", "frequency", 560, 280, NAN, NAN};
    sp_line_chart(fp, &ak, ss, ns);
    int k = t->k > 0 ? t->k : 1;
    if (!(bars = calloc((size_t)(n ? n : 1) * k, sizeof *bars))) goto out;
    for (int c = 0; c < n; c++) {
        const rp_point *p = &r->pt[idx[c]];
        double tot = 0;
        for (int j = 0; j < p->k && j < k; j++) tot += p->classes[j];
        for (int j = 0; j < p->k && j < k; j++) bars[c * k + j] = tot > 0 ? p->classes[j] / tot : 0;
        cats[c] = names[c];
    }
    snprintf(id, sizeof id, "plot-%s-classes", t->id);
    snprintf(title, sizeof title, "predicted class per \xce\xb3%s", t->k > 0 ? "" : " (no classifier given)");
    sp_axes ab = {id, t->k > 0 ? "plot-classes" : "plot-classes empty", title, "", "share of samples", 0, 0, 0, 1};
    sp_stacked_bars(fp, &ab, (const char *const *)cats, n, (const char *const *)t->class_names, t->k, bars);
    fprintf(fp, "<div id=\"examples-%s\" class=\"examples\">\n", t->id);
    for (int c = 0; c < n; c++) {
        const rp_point *p = &r->pt[idx[c]];
        fputs("<pre class=\"seq\">", fp);
        for (int e = 0; e < p->nex; e++) {
            sp_escape(fp, p->cap[e]);
            fputc('\n', fp);
            sp_escape(fp, p->ex[e]);
            fputc('\n', fp);
        }
        fputs("</pre>\n", fp);
    }
    fputs("</div>\n", fp);
out:
    if (names)
        for (int c = 0; c < n; c++) free(names[c]);
    free(names);
    free(cats);
    free(bars);
    free(x64);
    free(ss);
    free(g);
}

static const char *const css =
    "body{font-family:'DejaVu Sans',Arial,sans-serif;margin:24px;color:#222;background:#fff}"
    "h1{font-size:22px}h2{font-size:18px;border-bottom:1px solid #ccc;padding-bottom:3px}h3{font-size:15px}"
    "h4{font-size:12px;margin:6px 0}table{border-collapse:collapse;margin:8px 0;font-size:12px}"
    "td,th{border:1px solid #bbb;padding:3px 7px;text-align:right}th{background:#eef}"
    "td:first-child,td:nth-child(2){text-align:left}svg.plot{margin:4px;border:1px solid #eee}"
    ".plots{display:flex;flex-wrap:wrap}figure.mol{display:inline-block;margin:4px;border:1px solid #eee}"
    "figure.mol figcaption{font-size:9px;max-width:180px;word-break:break-all}"
    "pre{background:#f6f6f6;padding:8px;font-size:11px;white-space:pre-wrap;word-break:break-all}";

int rp_write_html(const rp_report *r, const char *path)
{
    if (!r || !path) return st_err(NULL, STRAND_E_ARG, "rp_write_html: NULL argument");
    st_atomic_file af;
    int rc = st_atomic_open(&af, path, ST_ATOMIC_STREAM);
    if (rc < 0) return rc;
    FILE *fp = af.fp;
    int *idx = malloc((size_t)(r->npt + 1) * sizeof *idx);
    if (!idx) {
        st_atomic_abort(&af);
        return nomem();
    }
    fputs("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n<title>", fp);
    sp_escape(fp, r->title);
    fprintf(fp, "</title>\n<style>%s</style>\n</head><body>\n<h1 id=\"title\">", css);
    sp_escape(fp, r->title);
    fprintf(fp, "</h1>\n<p class=\"meta\">strand %s, RDKit %s. Metric definitions: docs/metrics.md.</p>\n",
            strand_version_string(), chem_rdkit_version());
    summary(fp, r, idx);
    for (int i = 0; i < r->ntg; i++) {
        const rp_target *t = &r->tg[i];
        fprintf(fp, "<section class=\"target %s\" id=\"target-%s\">\n<h2>", t->dna ? "dna" : "smiles", t->id);
        sp_escape(fp, t->name);
        fputs(t->dna ? " (DNA)" : " (SMILES)", fp);
        fputs("</h2>\n<div class=\"plots\">\n", fp);
        if (t->dna) dna_target(fp, r, t, idx);
        else smiles_target(fp, r, t, idx);
        fputs("</div>\n</section>\n", fp);
    }
    fputs("<section id=\"campaign-section\"><h2>Campaign</h2>\n<pre id=\"campaign\">", fp);
    sp_escape(fp, r->campaign ? r->campaign : "");
    fputs("</pre></section>\n<section id=\"provenance-section\"><h2>Provenance</h2>\n<table id=\"provenance\">\n", fp);
    fprintf(fp, "<tr><td>strand</td><td>%s</td></tr>\n<tr><td>RDKit</td><td>%s</td></tr>\n", strand_version_string(),
            chem_rdkit_version());
    for (int i = 0; i < r->np; i++) {
        fputs("<tr><td>", fp);
        sp_escape(fp, r->pkey[i]);
        fputs("</td><td>", fp);
        sp_escape(fp, r->pval[i]);
        fputs("</td></tr>\n", fp);
    }
    fputs("</table></section>\n</body></html>\n", fp);
    free(idx);
    if (ferror(fp)) {
        st_atomic_abort(&af);
        return st_err(NULL, STRAND_E_IO, "%s: write error", path);
    }
    return st_atomic_commit(&af);
}

json_t *rp_metrics_json(const rp_report *r)
{
    json_t *o = json_object(), *ts = json_array(), *dc = json_array(), *pv = json_object();
    if (!o || !ts || !dc || !pv) {
        json_decref(o), json_decref(ts), json_decref(dc), json_decref(pv);
        return NULL;
    }
    json_object_set_new(o, "title", json_string(r->title));
    for (int i = 0; i < r->npt; i++) {
        const rp_point *p = &r->pt[i];
        json_t *e = json_object();
        json_object_set_new(e, "target", json_string(p->target));
        json_object_set_new(e, "kind", json_string(p->dna ? "dna" : "smiles"));
        json_object_set_new(e, "guidance", json_string(p->guidance));
        json_object_set_new(e, "gamma", json_real(p->gamma));
        json_object_set(e, "metrics", p->metrics);
        json_array_append_new(ts, e);
    }
    json_object_set_new(o, "targets", ts);
    for (int i = 0; i < r->ndc; i++) {
        json_t *e = json_object();
        json_object_set_new(e, "gamma", json_real(r->dc[i].gamma));
        json_object_set_new(e, "macro_f1", isfinite(r->dc[i].f1) ? json_real(r->dc[i].f1) : json_null());
        json_object_set_new(e, "mcc", isfinite(r->dc[i].mcc) ? json_real(r->dc[i].mcc) : json_null());
        json_array_append_new(dc, e);
    }
    json_object_set_new(o, "dna_campaign", dc);
    json_object_set_new(pv, "strand", json_string(strand_version_string()));
    json_object_set_new(pv, "rdkit", json_string(chem_rdkit_version()));
    for (int i = 0; i < r->np; i++) json_object_set_new(pv, r->pkey[i], json_string(r->pval[i]));
    json_object_set_new(o, "provenance", pv);
    json_object_set_new(o, "plots", plot_ids(r));
    return o;
}

int rp_write_json(const rp_report *r, const char *path)
{
    json_t *o = rp_metrics_json(r);
    if (!o) return nomem();
    st_atomic_file af;
    int rc = st_atomic_open(&af, path, ST_ATOMIC_STREAM);
    if (rc == 0) {
        if (json_dumpf(o, af.fp, JSON_INDENT(1) | JSON_SORT_KEYS | JSON_REAL_PRECISION(10)) < 0 || fputc('\n', af.fp) == EOF) {
            st_atomic_abort(&af);
            rc = st_err(NULL, STRAND_E_IO, "%s: write error", path);
        } else {
            rc = st_atomic_commit(&af);
        }
    }
    json_decref(o);
    return rc;
}
