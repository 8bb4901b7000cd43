/* Duo curriculum training and discrete consistency distillation steps (docs/duo.md
 * "Curriculum training", "Discrete consistency distillation"). */
#include "guidance/duo_train.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "guidance/duo_loss.h"

/* ---- Gaussian levels ---------------------------------------------------------------------------- */
int duo_gauss_init(duo_gauss *g, int N, double gamma_min, double gamma_max)
{
    memset(g, 0, sizeof *g);
    g->gamma_min = gamma_min, g->gamma_max = gamma_max;
    return duo_map_init(&g->map, N, gamma_min, gamma_max, 0);
}

void duo_gauss_free(duo_gauss *g)
{
    if (g) duo_map_free(&g->map);
}

double duo_gauss_alpha(const duo_gauss *g, double t, double *dalpha_dt, double *gamma)
{
    const double span = g->gamma_max - g->gamma_min, gm = g->gamma_min + t * span;
    double d;
    double a = duo_map_alpha(&g->map, gm, &d);
    if (dalpha_dt) *dalpha_dt = d * span;
    if (gamma) *gamma = gm;
    return a;
}

int duo_gauss_latent(int N, double gamma, const int32_t *x, size_t L, const float *eps, strand_rng *rng, double tau,
                     int32_t *z, float *soft)
{
    const double at = duo_alpha_tilde(gamma), st = duo_sigma_tilde(gamma);
    double *w = malloc((size_t)N * sizeof *w);
    if (!w) return st_err(NULL, STRAND_E_NOMEM, "duo latent: out of memory");
    for (size_t l = 0; l < L; l++) {
        int best = 0;
        for (int v = 0; v < N; v++) {
            double e = eps ? (double)eps[l * (size_t)N + v] : strand_rng_normal(rng);
            w[v] = st * e + (v == x[l] ? at : 0.0);
            if (w[v] > w[best]) best = v;
        }
        z[l] = best;
        if (soft) { /* softmax(w / tau) */
            double s = 0;
            float *o = soft + l * (size_t)N;
            for (int v = 0; v < N; v++) s += (w[v] = exp((w[v] - w[best]) / tau));
            for (int v = 0; v < N; v++) o[v] = (float)(w[v] / s);
        }
    }
    free(w);
    return 0;
}

static int drop_labels(const diff_model *net, const int32_t *labels, size_t B, double p, strand_rng *rng, int32_t *lab)
{
    const int nc = net->w->cfg.num_classes;
    for (size_t b = 0; b < B; b++) {
        int32_t y = labels && labels[b] >= 0 ? labels[b] : nc;
        if (y > nc) return st_err(NULL, STRAND_E_RANGE, "duo trainer: label %d outside 0..%d", y, nc);
        double u = strand_rng_uniform(rng);
        lab[b] = u < p ? nc : y;
    }
    return 0;
}

/* ---- curriculum ----------------------------------------------------------------------------------- */
int duo_trainer_init(duo_trainer *d, diff_trainer *base, double gamma_min, double gamma_max, int64_t steps,
                     double tau_start, double tau_end)
{
    memset(d, 0, sizeof *d);
    d->base = base, d->steps = steps, d->tau_start = tau_start, d->tau_end = tau_end;
    if (!(tau_start > 0) || !(tau_end > 0)) return st_err(NULL, STRAND_E_ARG, "duo: tau must be > 0");
    int N = base->net->spec.vocab;
    int rc = duo_gauss_init(&d->g, N, gamma_min, gamma_max);
    if (rc < 0) return rc;
    size_t BL = base->B * base->L;
    d->soft = malloc(BL * (size_t)N * sizeof *d->soft);
    d->sig = malloc(base->B * sizeof *d->sig);
    d->alpha = malloc(2 * base->B * sizeof *d->alpha);
    if (!d->soft || !d->sig || !d->alpha) {
        duo_trainer_free(d);
        return st_err(NULL, STRAND_E_NOMEM, "duo trainer: out of memory");
    }
    d->dalpha = d->alpha + base->B;
    return 0;
}

void duo_trainer_free(duo_trainer *d)
{
    if (!d) return;
    duo_gauss_free(&d->g);
    free(d->soft), free(d->sig), free(d->alpha);
    memset(d, 0, sizeof *d);
}

double duo_trainer_tau(const duo_trainer *d, int64_t step)
{
    double f = d->steps > 1 ? (double)step / (double)(d->steps - 1) : 0.0;
    if (f > 1) f = 1;
    return exp(log(d->tau_start) + f * (log(d->tau_end) - log(d->tau_start)));
}

int duo_trainer_fb(void *user, const int32_t *ids, const int32_t *labels, size_t B, size_t L, strand_rng *rng,
                   float *loss_out)
{
    duo_trainer *d = user;
    diff_trainer *tr = d->base;
    if (d->step >= d->steps) {
        d->step++;
        return diff_trainer_fb(tr, ids, labels, B, L, rng, loss_out);
    }
    diff_model *net = tr->net;
    const int N = net->spec.vocab;
    if (B != tr->B || L != tr->L) return st_err(NULL, STRAND_E_SHAPE, "duo trainer: batch (%zu,%zu), built for (%zu,%zu)", B, L, tr->B, tr->L);
    const double tau = duo_trainer_tau(d, d->step);
    diff_sample_t(rng, B, tr->antithetic, DIFF_T_EPS, tr->t);
    for (size_t b = 0; b < B; b++) {
        double gm;
        d->alpha[b] = duo_gauss_alpha(&d->g, tr->t[b], &d->dalpha[b], &gm);
        d->sig[b] = net->w->cfg.time_cond ? (float)-log(d->alpha[b]) : 0.0f;
        int rc = duo_gauss_latent(N, gm, ids + b * L, L, NULL, rng, tau, tr->zt + b * L, d->soft + b * L * (size_t)N);
        if (rc < 0) return rc;
    }
    int rc = drop_labels(net, labels, B, tr->label_dropout, rng, tr->lab);
    if (rc < 0) return rc;
    rc = dit_forward(net->w, net->ctx, NULL, d->soft, d->sig, net->w->cfg.num_classes ? tr->lab : NULL, B, L, tr->logits);
    if (rc < 0) return rc;
    size_t BL = B * L;
    memset(tr->dlogits, 0, BL * (size_t)N * sizeof *tr->dlogits);
    rc = duo_rb_loss(N, tr->logits, ids, tr->zt, d->alpha, d->dalpha, B, L, tr->loss, tr->dlogits, 1.0f / (float)BL);
    if (rc < 0) return rc;
    double s = 0;
    for (size_t i = 0; i < BL; i++) s += tr->loss[i];
    *loss_out = (float)(s / (double)BL);
    d->step++;
    return dit_backward(net->w, net->ctx, tr->dlogits, NULL, net->w->pb.grads);
}

int duo_trainer_validate(void *user, float *val_loss) { return diff_trainer_validate(((duo_trainer *)user)->base, val_loss); }

/* ---- distillation ------------------------------------------------------------------------------- */
int duo_distiller_init(duo_distiller *d, diff_model *student, size_t B, size_t L, double gamma_min, double gamma_max,
                       int64_t refresh_every, double dt0, double dt_max)
{
    memset(d, 0, sizeof *d);
    d->student = student, d->B = B, d->L = L, d->refresh_every = refresh_every, d->dt0 = dt0, d->dt_max = dt_max;
    d->label_dropout = 0.1, d->antithetic = 1, d->last_refresh = -1;
    if (refresh_every < 1 || !(dt0 > 0) || !(dt_max >= dt0) || dt_max > 1)
        return st_err(NULL, STRAND_E_ARG, "distill: refresh every %lld, dt %g .. %g", (long long)refresh_every, dt0, dt_max);
    const int N = student->spec.vocab;
    int rc = duo_gauss_init(&d->g, N, gamma_min, gamma_max);
    if (rc == 0) rc = dit_weights_create(&d->teacher, &student->w->cfg, student->w->prefix);
    if (rc == 0) rc = dit_ctx_create(&d->tctx, &student->w->cfg);
    if (rc < 0) {
        duo_distiller_free(d);
        return rc;
    }
    size_t BL = B * L, V = (size_t)N;
    d->zt = malloc(BL * sizeof *d->zt), d->zs = malloc(BL * sizeof *d->zs), d->lab = malloc(B * sizeof *d->lab);
    d->eps = malloc(BL * V * sizeof *d->eps);
    d->sig_t = malloc(2 * B * sizeof *d->sig_t);
    d->ls = malloc(BL * V * sizeof *d->ls), d->lt = malloc(BL * V * sizeof *d->lt), d->dls = malloc(BL * V * sizeof *d->dls);
    d->loss = malloc(BL * sizeof *d->loss);
    d->t = malloc(B * sizeof *d->t);
    if (!d->zt || !d->zs || !d->lab || !d->eps || !d->sig_t || !d->ls || !d->lt || !d->dls || !d->loss || !d->t) {
        duo_distiller_free(d);
        return st_err(NULL, STRAND_E_NOMEM, "distill: out of memory");
    }
    d->sig_s = d->sig_t + B;
    if (!student->w->pb.grads) return pb_alloc_grads(&student->w->pb);
    return 0;
}

void duo_distiller_free(duo_distiller *d)
{
    if (!d) return;
    duo_gauss_free(&d->g);
    dit_weights_free(d->teacher);
    dit_ctx_free(d->tctx);
    free(d->zt), free(d->zs), free(d->lab), free(d->eps), free(d->sig_t), free(d->ls), free(d->lt), free(d->dls);
    free(d->loss), free(d->t);
    memset(d, 0, sizeof *d);
}

double duo_distiller_dt(const duo_distiller *d, int64_t step)
{
    double dt = d->dt0;
    for (int64_t r = step / d->refresh_every; r > 0 && dt < d->dt_max; r--) dt *= 2;
    return dt < d->dt_max ? dt : d->dt_max;
}

int duo_distiller_fb(void *user, const int32_t *ids, const int32_t *labels, size_t B, size_t L, strand_rng *rng,
                     float *loss_out)
{
    duo_distiller *d = user;
    diff_model *net = d->student;
    const int N = net->spec.vocab;
    const paramblock *pb = &net->w->pb;
    if (B != d->B || L != d->L) return st_err(NULL, STRAND_E_SHAPE, "distill: batch (%zu,%zu), built for (%zu,%zu)", B, L, d->B, d->L);
    if (d->last_refresh < 0 || d->step % d->refresh_every == 0) {
        memcpy(d->teacher->pb.params, pb->params, pb->total * sizeof *pb->params);
        d->last_refresh = d->step;
    }
    const double dt = duo_distiller_dt(d, d->step);
    const int tc = net->w->cfg.time_cond;
    diff_sample_t(rng, B, d->antithetic, DIFF_T_EPS, d->t);
    for (size_t b = 0; b < B; b++) {
        double t = d->t[b] + dt > 1.0 ? 1.0 : d->t[b] + dt, s = t - dt, gt, gs;
        double at = duo_gauss_alpha(&d->g, t, NULL, &gt), as = duo_gauss_alpha(&d->g, s, NULL, &gs);
        d->sig_t[b] = tc ? (float)-log(at) : 0.0f;
        d->sig_s[b] = tc ? (float)-log(as) : 0.0f;
        float *e = d->eps + b * L * (size_t)N;
        for (size_t k = 0; k < L * (size_t)N; k++) e[k] = (float)strand_rng_normal(rng);
        int rc = duo_gauss_latent(N, gt, ids + b * L, L, e, NULL, 1.0, d->zt + b * L, NULL);
        if (rc == 0) rc = duo_gauss_latent(N, gs, ids + b * L, L, e, NULL, 1.0, d->zs + b * L, NULL);
        if (rc < 0) return rc;
    }
    int rc = drop_labels(net, labels, B, d->label_dropout, rng, d->lab);
    if (rc < 0) return rc;
    const int32_t *lab = net->w->cfg.num_classes ? d->lab : NULL;
    if ((rc = dit_forward(d->teacher, d->tctx, d->zs, NULL, d->sig_s, lab, B, L, d->lt)) < 0) return rc;
    if ((rc = dit_forward(net->w, net->ctx, d->zt, NULL, d->sig_t, lab, B, L, d->ls)) < 0) return rc;
    size_t BL = B * L;
    memset(d->dls, 0, BL * (size_t)N * sizeof *d->dls);
    if ((rc = duo_kl_loss(N, d->ls, d->lt, B, L, d->loss, d->dls, 1.0f / (float)BL)) < 0) return rc;
    double s = 0;
    for (size_t i = 0; i < BL; i++) s += d->loss[i];
    *loss_out = (float)(s / (double)BL);
    d->step++;
    return dit_backward(net->w, net->ctx, d->dls, NULL, net->w->pb.grads);
}

int duo_distiller_validate(void *user, float *val_loss)
{
    duo_distiller *d = user;
    if (!d->base) {
        *val_loss = NAN;
        return 0;
    }
    return diff_trainer_validate(d->base, val_loss);
}
