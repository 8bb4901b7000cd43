/* The trained score (docs/vep.md "Trained score"): STRAND_P from a head attached to a strand_vep,
 * and `strand vep-train`'s fit: features of every labelled ALT of a VCF (one annotate pass into
 * /dev/null with a collector), k-fold cross-validated ridge logistic regression on feature subsets,
 * Platt calibration on the held-out folds, ECE and the reliability table, the head file. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "caduceus/vep.h"
#include "caduceus/vep_train.h"
#include "core/logreg.h"

/* ---- STRAND_P on a strand_vep ------------------------------------------------------------------ */

int st_vep_head_attach(strand_vep *v, const char *path)
{
    st_vep_head *h = calloc(1, sizeof *h);
    if (!h) return st_err(&v->err, STRAND_E_NOMEM, "out of memory");
    int rc = st_vep_head_read(h, path);
    const char *want_llr = h->llr ? "marginal" : "masked";
    if (rc == 0 && strcmp(h->sha256, v->sha256))
        rc = st_err(NULL, STRAND_E_ARG, "%s: the head was trained on features of the model with SHA-256 %s, but %s has "
                    "%s: use that model (-m)", path, h->sha256, v->model_path, v->sha256);
    else if (rc == 0 && (h->window != v->W || h->pool_half_width != v->H))
        rc = st_err(NULL, STRAND_E_ARG, "%s: the head was trained with --window %d --pool-half-width %d; this run has "
                    "window %d and pool half-width %d: pass the head's values", path, h->window, h->pool_half_width,
                    v->W, v->H);
    else if (rc == 0 && (h->groups & ST_HEAD_LLR) && h->llr != v->p.llr)
        rc = st_err(NULL, STRAND_E_ARG, "%s: the head's LLR feature is --llr %s: pass it", path, want_llr);
    else if (rc == 0 && h->D != v->m->cfg.d_model)
        rc = st_err(NULL, STRAND_E_ARG, "%s: d_model %d, the model's is %d", path, h->D, v->m->cfg.d_model);
    else if (rc == 0 && v->p.scores) {
        int need = (h->groups & ST_HEAD_EMB ? STRAND_VEP_SCORE_EMB : 0) | (h->groups & ST_HEAD_LLR ? STRAND_VEP_SCORE_LLR : 0);
        if ((v->p.scores & need) != need)
            rc = st_err(NULL, STRAND_E_ARG, "%s: the head needs %s; --scores leaves it out", path,
                        need == 3 ? "STRAND_LLR and STRAND_EMB" : need == 1 ? "STRAND_LLR" : "STRAND_EMB");
    }
    if (rc < 0) {
        st_vep_head_free(h);
        free(h);
        st_err_capture(&v->err);
        return rc;
    }
    st_vep_head_detach(v);
    v->head = h;
    v->head_path = strdup(path);
    v->feat_groups = h->groups;
    snprintf(v->dist_info, sizeof v->dist_info, "%s", h->dist_info);
    return 0;
}

void st_vep_head_detach(strand_vep *v)
{
    if (v->head) st_vep_head_free(v->head);
    free(v->head), free(v->head_path);
    v->head = NULL, v->head_path = NULL;
    v->feat_groups = 0;
}

int strand_vep_set_head(strand_vep *v, const char *head_path)
{
    if (!v) return st_err(NULL, STRAND_E_ARG, "strand_vep_set_head: NULL handle");
    if (!head_path) {
        st_vep_head_detach(v);
        return 0;
    }
    return st_vep_head_attach(v, head_path);
}

void st_vep_head_variant(strand_vep *v, size_t i, const double *pref, const double *palt, double llr)
{
    int F = st_vep_head_nfeat(v->feat_groups, v->m->cfg.d_model);
    double stackx[512], *x = F <= 512 ? stackx : malloc((size_t)F * sizeof *x);
    if (!x) return;
    double dist = v->bdist ? v->bdist[i] : NAN;
    int ok = st_vep_head_features(v->feat_groups, v->m->cfg.d_model, pref, palt, llr, dist, x);
    if (v->bfeat) memcpy(v->bfeat + i * (size_t)F, x, (size_t)F * sizeof *x);
    if (v->bp) v->bp[i] = ok && v->head ? st_vep_head_prob(v->head, x) : NAN;
    if (x != stackx) free(x);
}

/* ---- vep-train ------------------------------------------------------------------------------------ */

typedef struct lab { char *key; int y; } lab;
static int lab_cmp(const void *a, const void *b) { return strcmp(((const lab *)a)->key, ((const lab *)b)->key); }

typedef struct collector {
    const st_vep_train_opts *o;
    lab *tsv;
    size_t ntsv;
    int F;
    double *X, *dist;
    int *y;
    size_t n, cap;
    int64_t alts, unlabelled, unscored;
    int err;
} collector;

static int label_of(collector *c, const bcf_hdr_t *h, bcf1_t *rec, int alt, int *y)
{
    if (c->o->label_info) {
        int id = bcf_hdr_id2int(h, BCF_DT_ID, c->o->label_info);
        if (id < 0 || !bcf_hdr_idinfo_exists(h, BCF_HL_INFO, id)) return -1;
        if (bcf_hdr_id2type(h, BCF_HL_INFO, id) == BCF_HT_FLAG) {
            *y = bcf_get_info_flag(h, rec, c->o->label_info, NULL, NULL) == 1;
            return 0;
        }
        int32_t *v = NULL, nv = 0;
        int k = bcf_get_info_int32(h, rec, c->o->label_info, &v, &nv);
        int ok = k >= 1 && v[0] != bcf_int32_missing;
        if (ok) *y = v[0] != 0;
        free(v);
        return ok ? 0 : -1;
    }
    char key[512];
    snprintf(key, sizeof key, "%s:%lld:%s:%s", st_vcf_chrom(h, rec), (long long)rec->pos + 1, st_vcf_ref(rec),
             st_vcf_alt(rec, alt));
    lab q = {key, 0}, *f = bsearch(&q, c->tsv, c->ntsv, sizeof *c->tsv, lab_cmp);
    if (!f) return -1;
    *y = f->y;
    return 0;
}

static void collect(void *ctx, const bcf_hdr_t *h, bcf1_t *rec, int alt, const strand_vep_variant *x, const double *feat)
{
    collector *c = ctx;
    c->alts++;
    int y;
    if (label_of(c, h, rec, alt, &y) < 0) {
        c->unlabelled++;
        return;
    }
    int fin = x->status == STRAND_VEP_OK;
    for (int j = 0; j < c->F && fin; j++) fin = isfinite(feat[j]);
    if (!fin) {
        c->unscored++;
        return;
    }
    if (c->n == c->cap) {
        size_t cap = c->cap ? 2 * c->cap : 256;
        double *X = realloc(c->X, cap * (size_t)c->F * sizeof *X);
        if (X) c->X = X;
        int *yy = realloc(c->y, cap * sizeof *yy);
        if (yy) c->y = yy;
        if (!X || !yy) {
            c->err = 1;
            return;
        }
        c->cap = cap;
    }
    memcpy(c->X + c->n * (size_t)c->F, feat, (size_t)c->F * sizeof *feat);
    c->y[c->n++] = y;
}

static int read_tsv(collector *c, const char *path)
{
    FILE *fp = fopen(path, "r");
    if (!fp) return st_err(NULL, STRAND_E_IO, "%s: cannot open the labels", path);
    char line[4096], chrom[256], ref[1024], alt[1024];
    long long pos;
    int y, ln = 0;
    size_t cap = 0;
    while (fgets(line, sizeof line, fp)) {
        ln++;
        if (line[0] == '#' || line[0] == '\n') continue;
        if (sscanf(line, "%255s %lld %1023s %1023s %d", chrom, &pos, ref, alt, &y) != 5) {
            fclose(fp);
            return st_err(NULL, STRAND_E_FORMAT, "%s: line %d: expected CHROM POS REF ALT LABEL (0/1)", path, ln);
        }
        if (c->ntsv == cap) {
            cap = cap ? 2 * cap : 256;
            lab *q = realloc(c->tsv, cap * sizeof *q);
            if (!q) {
                fclose(fp);
                return st_err(NULL, STRAND_E_NOMEM, "out of memory");
            }
            c->tsv = q;
        }
        char key[2600];
        snprintf(key, sizeof key, "%s:%lld:%s:%s", chrom, pos, ref, alt);
        c->tsv[c->ntsv].key = strdup(key);
        c->tsv[c->ntsv++].y = y != 0;
    }
    fclose(fp);
    qsort(c->tsv, c->ntsv, sizeof *c->tsv, lab_cmp);
    return 0;
}

/* Out-of-fold margins z (n) of the columns cols (nc) of X (n, F): per fold, standardise on the
 * other folds, fit, score the fold. */
static int cv_margins(const double *X, const int *y, size_t n, int F, const int *cols, int nc, const int *fold, int k,
                      double l2, double *z)
{
    double *Xt = malloc(n * (size_t)nc * sizeof *Xt), *mu = malloc((size_t)nc * sizeof *mu),
           *sd = malloc((size_t)nc * sizeof *sd), *w = malloc((size_t)nc * sizeof *w);
    int *yt = malloc(n * sizeof *yt), rc = 0;
    if (!Xt || !mu || !sd || !w || !yt) rc = st_err(NULL, STRAND_E_NOMEM, "vep-train: out of memory");
    for (int f = 0; f < k && rc == 0; f++) {
        size_t m = 0;
        for (int j = 0; j < nc; j++) mu[j] = sd[j] = 0;
        for (size_t i = 0; i < n; i++)
            if (fold[i] != f) {
                for (int j = 0; j < nc; j++) mu[j] += X[i * (size_t)F + (size_t)cols[j]];
                m++;
            }
        for (int j = 0; j < nc; j++) mu[j] /= (double)m;
        for (size_t i = 0; i < n; i++)
            if (fold[i] != f)
                for (int j = 0; j < nc; j++) {
                    double d = X[i * (size_t)F + (size_t)cols[j]] - mu[j];
                    sd[j] += d * d;
                }
        for (int j = 0; j < nc; j++) sd[j] = sd[j] > 0 ? sqrt(sd[j] / (double)m) : 1;
        m = 0;
        for (size_t i = 0; i < n; i++)
            if (fold[i] != f) {
                for (int j = 0; j < nc; j++) Xt[m * (size_t)nc + (size_t)j] = (X[i * (size_t)F + (size_t)cols[j]] - mu[j]) / sd[j];
                yt[m++] = y[i];
            }
        double b;
        if ((rc = st_logreg_fit(Xt, yt, m, nc, l2, w, &b)) < 0) break;
        for (size_t i = 0; i < n; i++)
            if (fold[i] == f) {
                double s = b;
                for (int j = 0; j < nc; j++) s += w[j] * (X[i * (size_t)F + (size_t)cols[j]] - mu[j]) / sd[j];
                z[i] = s;
            }
    }
    free(Xt), free(mu), free(sd), free(w), free(yt);
    return rc;
}

static const char *bucket_name[3] = {"0-30kb", "30-100kb", ">100kb"};
static int bucket_of(double d)
{
    double a = fabs(d);
    return a < 30000 ? 0 : a < 100000 ? 1 : 2;
}

int st_vep_train(strand_vep *v, const st_vep_train_opts *o, FILE *rep)
{
    collector c = {.o = o};
    int D = v->m->cfg.d_model, rc = 0, have_dist = o->dist_info && *o->dist_info;
    if ((o->groups & ST_HEAD_DIST) && !have_dist)
        return st_err(&v->err, STRAND_E_ARG, "vep-train: the dist features need --distance-info FIELD");
    if (!o->label_info == !o->labels_tsv)
        return st_err(&v->err, STRAND_E_ARG, "vep-train: give exactly one of --label-info FIELD and --labels TSV");
    if (o->folds < 2) return st_err(&v->err, STRAND_E_ARG, "vep-train: --folds %d: at least 2", o->folds);
    int all = have_dist ? ST_HEAD_ALL : (ST_HEAD_EMB | ST_HEAD_LLR);
    c.F = st_vep_head_nfeat(all, D);
    if (o->labels_tsv && (rc = read_tsv(&c, o->labels_tsv)) < 0) goto done;
    st_vep_head_detach(v);
    v->feat_groups = all;
    snprintf(v->dist_info, sizeof v->dist_info, "%s", have_dist ? o->dist_info : "");
    v->collect = collect, v->collect_ctx = &c;
    strand_vep_summary sum;
    rc = strand_vep_annotate_vcf(v, o->vcf, "/dev/null", 'v', 0, NULL, 0, 0, NULL, &sum);
    v->collect = NULL, v->collect_ctx = NULL, v->feat_groups = 0;
    if (rc < 0) goto done;
    if (c.err) {
        rc = st_err(&v->err, STRAND_E_NOMEM, "vep-train: out of memory for the features");
        goto done;
    }
    size_t n = c.n, np = 0;
    for (size_t i = 0; i < n; i++) np += c.y[i];
    fprintf(rep, "# vep-train: %s: %lld ALTs, %lld without a label, %lld labelled but not scored (status or "
            "non-finite feature); %zu examples, %zu positive\n", o->vcf, (long long)c.alts, (long long)c.unlabelled,
            (long long)c.unscored, n, np);
    if (np < (size_t)o->folds || n - np < (size_t)o->folds) {
        rc = st_err(&v->err, STRAND_E_ARG, "vep-train: %zu positives and %zu negatives: at least --folds (%d) of each "
                    "are needed", np, n - np, o->folds);
        goto done;
    }
    int *fold = malloc(n * sizeof *fold), *cols = malloc((size_t)c.F * sizeof *cols);
    double *z = malloc(n * sizeof *z), *zc = malloc(n * sizeof *zc), *pc = malloc(n * sizeof *pc);
    unsigned char *in_b = malloc(n);
    double *dcol = malloc(n * sizeof *dcol);
    if (!fold || !cols || !z || !zc || !pc || !in_b || !dcol) {
        free(fold), free(cols), free(z), free(zc), free(pc), free(in_b), free(dcol);
        rc = st_err(&v->err, STRAND_E_NOMEM, "vep-train: out of memory");
        goto done;
    }
    st_kfold(c.y, n, o->folds, o->seed, fold);
    /* distances back from the log feature, for the buckets: |d| = 10^x − 1 */
    if (have_dist) {
        int dc = st_vep_head_nfeat(ST_HEAD_EMB | ST_HEAD_LLR, D);
        for (size_t i = 0; i < n; i++) dcol[i] = pow(10.0, c.X[i * (size_t)c.F + (size_t)dc]) - 1;
    }
    /* the requested subset and the comparisons (distance only, strand only, strand + distance) */
    int subsets[6], ns = 0;
    int cand[5] = {o->groups, ST_HEAD_DIST, ST_HEAD_LLR, ST_HEAD_EMB | ST_HEAD_LLR, ST_HEAD_ALL};
    for (int s = 0; s < 5; s++) {
        int g = cand[s], dup = 0;
        if ((g & ST_HEAD_DIST) && !have_dist) continue;
        for (int t = 0; t < ns; t++) dup |= subsets[t] == g;
        if (!dup) subsets[ns++] = g;
    }
    fprintf(rep, "# %d-fold cross-validation (stratified, seed %llu), ridge l2 %g on standardised features; AUROC of "
            "the held-out margins\nfeatures\tn_features\tAUROC_all", o->folds, (unsigned long long)o->seed, o->l2);
    if (have_dist)
        for (int b = 0; b < 3; b++) fprintf(rep, "\tAUROC_%s", bucket_name[b]);
    fputc('\n', rep);
    double req_auroc = NAN;
    for (int s = 0; s < ns && rc == 0; s++) {
        int nc = st_vep_head_columns(subsets[s], D, cols);
        if ((rc = cv_margins(c.X, c.y, n, c.F, cols, nc, fold, o->folds, o->l2, z)) < 0) break;
        char g[32];
        st_vep_head_groups_str(subsets[s], g, sizeof g);
        double a = st_auroc(z, c.y, n, NULL);
        if (s == 0) req_auroc = a, memcpy(zc, z, n * sizeof *z);
        fprintf(rep, "%s%s\t%d\t%.4f", g, s == 0 ? " (head)" : "", nc, a);
        if (have_dist)
            for (int b = 0; b < 3; b++) {
                size_t nb = 0, nbp = 0;
                for (size_t i = 0; i < n; i++) in_b[i] = bucket_of(dcol[i]) == b, nb += in_b[i], nbp += in_b[i] && c.y[i];
                fprintf(rep, "\t%.4f (%zu/%zu)", st_auroc(z, c.y, n, in_b), nbp, nb);
            }
        fputc('\n', rep);
    }
    if (rc < 0) goto cleanup;
    /* calibration of the head's held-out margins: Platt fitted on the other folds' margins, applied
     * to each fold (cross-fitted, so the ECE is held out too) */
    for (int f = 0; f < o->folds && rc == 0; f++) {
        size_t m = 0;
        for (size_t i = 0; i < n; i++)
            if (fold[i] != f) z[m] = zc[i], in_b[m] = (unsigned char)c.y[i], m++;
        int *ym = malloc((m + 1) * sizeof *ym);
        if (!ym) { rc = st_err(&v->err, STRAND_E_NOMEM, "out of memory"); break; }
        for (size_t i = 0; i < m; i++) ym[i] = in_b[i];
        double a, cc;
        rc = st_platt_fit(z, ym, m, &a, &cc);
        free(ym);
        for (size_t i = 0; rc == 0 && i < n; i++)
            if (fold[i] == f) pc[i] = st_sigmoid(a * zc[i] + cc);
    }
    if (rc < 0) goto cleanup;
    int64_t cnt[10];
    double mp[10], my[10];
    double ece = st_ece(pc, c.y, n, 10, cnt, mp, my);
    fprintf(rep, "# STRAND_P of the head (Platt, cross-fitted on the held-out margins): ECE %.4f (10 equal-width "
            "bins)\n# reliability: bin\tn\tmean_P\tfraction_positive\n", ece);
    for (int b = 0; b < 10; b++)
        fprintf(rep, "reliability\t[%.1f,%.1f)\t%lld\t%.4f\t%.4f\n", b / 10.0, (b + 1) / 10.0, (long long)cnt[b], mp[b], my[b]);
    /* the head: standardise on all, fit, Platt on all held-out margins */
    {
        st_vep_head h;
        memset(&h, 0, sizeof h);
        h.groups = o->groups, h.D = D, h.F = st_vep_head_columns(o->groups, D, cols), h.l2 = o->l2;
        if ((rc = st_vep_head_alloc(&h)) < 0) goto head_done;
        snprintf(h.sha256, sizeof h.sha256, "%s", v->sha256);
        h.window = v->W, h.pool_half_width = v->H, h.llr = v->p.llr;
        snprintf(h.dist_info, sizeof h.dist_info, "%s", o->groups & ST_HEAD_DIST ? o->dist_info : "");
        h.cv_auroc = req_auroc, h.cv_ece = ece, h.n_train = (int64_t)n, h.n_pos = (int64_t)np;
        double *Xs = malloc(n * (size_t)h.F * sizeof *Xs);
        if (!Xs) { rc = st_err(&v->err, STRAND_E_NOMEM, "out of memory"); goto head_done; }
        for (int j = 0; j < h.F; j++) {
            double mu = 0, ss = 0;
            for (size_t i = 0; i < n; i++) mu += c.X[i * (size_t)c.F + (size_t)cols[j]];
            mu /= (double)n;
            for (size_t i = 0; i < n; i++) {
                double d = c.X[i * (size_t)c.F + (size_t)cols[j]] - mu;
                ss += d * d;
            }
            h.mean[j] = mu, h.sd[j] = ss > 0 ? sqrt(ss / (double)n) : 1;
            for (size_t i = 0; i < n; i++) Xs[i * (size_t)h.F + (size_t)j] = (c.X[i * (size_t)c.F + (size_t)cols[j]] - mu) / h.sd[j];
        }
        rc = st_logreg_fit(Xs, c.y, n, h.F, o->l2, h.w, &h.b);
        free(Xs);
        if (rc == 0) rc = st_platt_fit(zc, c.y, n, &h.platt_a, &h.platt_c);
        if (rc == 0 && o->head_out) rc = st_vep_head_write(&h, o->head_out);
        if (rc == 0)
            fprintf(rep, "# head: %s (features %d, Platt a %.4g c %.4g, CV AUROC %.4f, ECE %.4f)\n",
                    o->head_out ? o->head_out : "(not written)", h.F, h.platt_a, h.platt_c, req_auroc, ece);
    head_done:
        st_vep_head_free(&h);
    }
    if (rc < 0) st_err_capture(&v->err);
cleanup:
    free(fold), free(cols), free(z), free(zc), free(pc), free(in_b), free(dcol);
done:
    for (size_t i = 0; i < c.ntsv; i++) free(c.tsv[i].key);
    free(c.tsv), free(c.X), free(c.y), free(c.dist);
    return rc;
}
