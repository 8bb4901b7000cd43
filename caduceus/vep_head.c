/* Trained-score head: features, standardised logistic margin, Platt probability, head file
 * (caduceus/vep_head.h, docs/vep.md "Trained score"). */
#include "caduceus/vep_head.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/atomic_file.h"
#include "core/error.h"
#include "core/logreg.h"
#include "strand.h"

int st_vep_head_nfeat(int groups, int D)
{
    return (groups & ST_HEAD_EMB ? 3 * D : 0) + (groups & ST_HEAD_LLR ? 1 : 0) + (groups & ST_HEAD_DIST ? 2 : 0);
}

int st_vep_head_parse_groups(const char *s, int *groups)
{
    int g = 0;
    char buf[128];
    snprintf(buf, sizeof buf, "%s", s);
    for (char *save = NULL, *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        if (!strcmp(t, "emb")) g |= ST_HEAD_EMB;
        else if (!strcmp(t, "llr")) g |= ST_HEAD_LLR;
        else if (!strcmp(t, "dist")) g |= ST_HEAD_DIST;
        else return st_err(NULL, STRAND_E_ARG, "features \"%s\": a list of emb, llr, dist", s);
    }
    if (!g) return st_err(NULL, STRAND_E_ARG, "features \"%s\": none given", s);
    *groups = g;
    return 0;
}

void st_vep_head_groups_str(int groups, char *out, size_t cap)
{
    snprintf(out, cap, "%s%s%s%s%s", groups & ST_HEAD_EMB ? "emb" : "",
             (groups & ST_HEAD_EMB) && (groups & (ST_HEAD_LLR | ST_HEAD_DIST)) ? "," : "",
             groups & ST_HEAD_LLR ? "llr" : "", (groups & ST_HEAD_LLR) && (groups & ST_HEAD_DIST) ? "," : "",
             groups & ST_HEAD_DIST ? "dist" : "");
}

int st_vep_head_features(int groups, int D, const double *pref, const double *palt, double llr, double dist, double *x)
{
    int F = st_vep_head_nfeat(groups, D), k = 0, ok = 1;
    if (groups & ST_HEAD_EMB) {
        if (!pref || !palt) ok = 0;
        for (int j = 0; j < D && ok; j++) x[k + j] = pref[j], x[k + D + j] = palt[j], x[k + 2 * D + j] = palt[j] - pref[j];
        k += 3 * D;
    }
    if (groups & ST_HEAD_LLR) x[k++] = llr;
    if (groups & ST_HEAD_DIST) x[k++] = log10(1 + fabs(dist)), x[k++] = dist > 0 ? 1 : dist < 0 ? -1 : 0;
    for (int j = 0; j < F && ok; j++) ok = isfinite(x[j]);
    if (!ok || (groups & ST_HEAD_DIST && !isfinite(dist)))
        for (int j = 0; j < F; j++) x[j] = NAN;
    return ok && !(groups & ST_HEAD_DIST && !isfinite(dist));
}

int st_vep_head_columns(int sub, int D, int *cols)
{
    int n = 0, base = 0;
    if (ST_HEAD_ALL & ST_HEAD_EMB) {
        if (sub & ST_HEAD_EMB)
            for (int j = 0; j < 3 * D; j++) cols[n++] = base + j;
        base += 3 * D;
    }
    if (sub & ST_HEAD_LLR) cols[n++] = base;
    base += 1;
    if (sub & ST_HEAD_DIST) cols[n++] = base, cols[n++] = base + 1;
    return n;
}

double st_vep_head_margin(const st_vep_head *h, const double *x)
{
    double z = h->b;
    for (int j = 0; j < h->F; j++) z += h->w[j] * (x[j] - h->mean[j]) / h->sd[j];
    return z;
}

double st_vep_head_prob(const st_vep_head *h, const double *x)
{
    double z = st_vep_head_margin(h, x);
    return isfinite(z) ? st_sigmoid(h->platt_a * z + h->platt_c) : NAN;
}

int st_vep_head_alloc(st_vep_head *h)
{
    h->mean = calloc((size_t)h->F + 1, sizeof(double));
    h->sd = calloc((size_t)h->F + 1, sizeof(double));
    h->w = calloc((size_t)h->F + 1, sizeof(double));
    if (!h->mean || !h->sd || !h->w) return st_err(NULL, STRAND_E_NOMEM, "vep head: out of memory for %d features", h->F);
    return 0;
}

void st_vep_head_free(st_vep_head *h)
{
    if (!h) return;
    free(h->mean), free(h->sd), free(h->w);
    h->mean = h->sd = h->w = NULL;
}

static void put_vec(FILE *fp, const char *key, const double *v, int n)
{
    fprintf(fp, "%s", key);
    for (int j = 0; j < n; j++) fprintf(fp, " %.17g", v[j]);
    fputc('\n', fp);
}

int st_vep_head_write(const st_vep_head *h, const char *path)
{
    st_atomic_file af;
    int rc = st_atomic_open(&af, path, ST_ATOMIC_STREAM);
    if (rc < 0) return rc;
    FILE *fp = af.fp;
    char g[32];
    st_vep_head_groups_str(h->groups, g, sizeof g);
    fprintf(fp, "strand-vep-head 1\n");
    fprintf(fp, "# STRAND_P = sigmoid(platt_a * z + platt_c), z = intercept + sum_j weight_j * (x_j - mean_j) / sd_j; "
                "features and their order: docs/vep.md \"Trained score\"\n");
    fprintf(fp, "model_sha256 %s\nwindow %d\npool_half_width %d\nllr %s\nfeatures %s\nd_model %d\n", h->sha256,
            h->window, h->pool_half_width, h->llr ? "marginal" : "masked", g, h->D);
    fprintf(fp, "distance_info %s\n", h->dist_info[0] ? h->dist_info : ".");
    fprintf(fp, "l2 %.17g\nintercept %.17g\nplatt %.17g %.17g\n", h->l2, h->b, h->platt_a, h->platt_c);
    fprintf(fp, "cv_auroc %.17g\ncv_ece %.17g\nn_train %lld\nn_pos %lld\nn_features %d\n", h->cv_auroc, h->cv_ece,
            (long long)h->n_train, (long long)h->n_pos, h->F);
    put_vec(fp, "mean", h->mean, h->F);
    put_vec(fp, "sd", h->sd, h->F);
    put_vec(fp, "weight", h->w, h->F);
    return st_atomic_commit(&af);
}

/* The n doubles after the key of line s into v; 0 or -1. */
static int get_vec(const char *s, double *v, int n)
{
    char *e;
    for (int j = 0; j < n; j++) {
        errno = 0;
        v[j] = strtod(s, &e);
        if (e == s || errno == ERANGE) return -1;
        s = e;
    }
    while (*s == ' ' || *s == '\t') s++;
    return *s == '\n' || *s == 0 ? 0 : -1;
}

int st_vep_head_read(st_vep_head *h, const char *path)
{
    memset(h, 0, sizeof *h);
    FILE *fp = fopen(path, "r");
    if (!fp) return st_err(NULL, STRAND_E_IO, "%s: cannot open the head file: %s", path, strerror(errno));
    size_t cap = 1 << 16, len;
    char *line = malloc(cap), key[64], g[64] = "", llr[16] = "";
    int rc = 0, ln = 0, have = 0;
    enum { H_SHA = 1, H_WIN = 2, H_POOL = 4, H_LLR = 8, H_FEAT = 16, H_D = 32, H_PL = 64, H_B = 128, H_NF = 256,
           H_MEAN = 512, H_SD = 1024, H_W = 2048, H_ALL = 4095 };
    while (rc == 0 && line) {
        /* a whole line, however long (3D + 3 numbers of 25 characters) */
        len = 0;
        int c;
        while ((c = fgetc(fp)) != EOF && c != '\n') {
            if (len + 2 >= cap) {
                char *q = realloc(line, cap *= 2);
                if (!q) { rc = st_err(NULL, STRAND_E_NOMEM, "%s: out of memory", path); break; }
                line = q;
            }
            line[len++] = (char)c;
        }
        if (rc) break;
        if (c == EOF && len == 0) break;
        line[len] = 0;
        ln++;
        if (ln == 1) {
            if (strcmp(line, "strand-vep-head 1"))
                rc = st_err(NULL, STRAND_E_FORMAT, "%s: not a strand vep head file (first line \"%.40s\")", path, line);
            continue;
        }
        if (line[0] == '#' || !line[0]) continue;
        if (sscanf(line, "%63s", key) != 1) continue;
        const char *v = line + strlen(key);
        int bad = 0;
        if (!strcmp(key, "model_sha256")) bad = sscanf(v, "%64s", h->sha256) != 1, have |= H_SHA;
        else if (!strcmp(key, "window")) bad = sscanf(v, "%d", &h->window) != 1, have |= H_WIN;
        else if (!strcmp(key, "pool_half_width")) bad = sscanf(v, "%d", &h->pool_half_width) != 1, have |= H_POOL;
        else if (!strcmp(key, "llr")) bad = sscanf(v, "%15s", llr) != 1, have |= H_LLR;
        else if (!strcmp(key, "features")) bad = sscanf(v, "%63s", g) != 1, have |= H_FEAT;
        else if (!strcmp(key, "d_model")) bad = sscanf(v, "%d", &h->D) != 1, have |= H_D;
        else if (!strcmp(key, "distance_info")) bad = sscanf(v, "%63s", h->dist_info) != 1;
        else if (!strcmp(key, "l2")) bad = get_vec(v, &h->l2, 1);
        else if (!strcmp(key, "intercept")) bad = get_vec(v, &h->b, 1), have |= H_B;
        else if (!strcmp(key, "platt")) {
            double pc[2];
            bad = get_vec(v, pc, 2), h->platt_a = pc[0], h->platt_c = pc[1], have |= H_PL;
        } else if (!strcmp(key, "cv_auroc")) bad = get_vec(v, &h->cv_auroc, 1);
        else if (!strcmp(key, "cv_ece")) bad = get_vec(v, &h->cv_ece, 1);
        else if (!strcmp(key, "n_train")) bad = sscanf(v, "%lld", (long long *)&h->n_train) != 1;
        else if (!strcmp(key, "n_pos")) bad = sscanf(v, "%lld", (long long *)&h->n_pos) != 1;
        else if (!strcmp(key, "n_features")) {
            bad = sscanf(v, "%d", &h->F) != 1 || h->F < 1 || h->F > (1 << 20) || (have & H_NF);
            if (!bad && (rc = st_vep_head_alloc(h)) < 0) break;
            have |= H_NF;
        } else if (!strcmp(key, "mean") || !strcmp(key, "sd") || !strcmp(key, "weight")) {
            if (!(have & H_NF)) bad = 1;
            else bad = get_vec(v, key[0] == 'm' ? h->mean : key[0] == 's' ? h->sd : h->w, h->F);
            have |= key[0] == 'm' ? H_MEAN : key[0] == 's' ? H_SD : H_W;
        } else {
            bad = 1;
        }
        if (bad) rc = st_err(NULL, STRAND_E_FORMAT, "%s: line %d: bad \"%s\" line", path, ln, key);
    }
    fclose(fp);
    free(line);
    if (rc == 0 && (have & H_ALL) != H_ALL)
        rc = st_err(NULL, STRAND_E_FORMAT, "%s: incomplete head file (keys missing, mask %#x)", path, ~have & H_ALL);
    if (rc == 0) {
        if (!strcmp(h->dist_info, ".")) h->dist_info[0] = 0;
        h->llr = !strcmp(llr, "marginal");
        if (!h->llr && strcmp(llr, "masked")) rc = st_err(NULL, STRAND_E_FORMAT, "%s: llr \"%s\"", path, llr);
    }
    if (rc == 0 && (rc = st_vep_head_parse_groups(g, &h->groups)) < 0) st_err_prefix("%s", path);
    if (rc == 0 && st_vep_head_nfeat(h->groups, h->D) != h->F)
        rc = st_err(NULL, STRAND_E_FORMAT, "%s: %d features, but features %s with d_model %d make %d", path, h->F, g,
                    h->D, st_vep_head_nfeat(h->groups, h->D));
    if (rc == 0 && (h->groups & ST_HEAD_DIST) && !h->dist_info[0])
        rc = st_err(NULL, STRAND_E_FORMAT, "%s: dist features without a distance_info field", path);
    for (int j = 0; rc == 0 && j < h->F; j++)
        if (!(h->sd[j] > 0) || !isfinite(h->mean[j]) || !isfinite(h->w[j]))
            rc = st_err(NULL, STRAND_E_FORMAT, "%s: feature %d: sd must be > 0 and values finite", path, j);
    if (rc < 0) st_vep_head_free(h);
    return rc;
}
