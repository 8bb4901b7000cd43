/* guidance/duo*: Duo's duality map T against scipy's quad (tests/reference/duo_map.py, to 1e-6
 * over gamma in [-5, 1] for N in {2, 12, 75, 1000}), the N = 2 closed form, T's derivative in α̃
 * and in γ by central differences, the interpolated table vs direct quadrature; the argmax of the
 * Gaussian latent follows the uniform process at α = T (frequencies, 5 sigma); the RB ELBO equals
 * guidance/loss.h's UDLM ELBO (value and gradient); the curriculum step's parameter gradients
 * through the soft input and d/dsoft by central differences; the distillation KL gradient, the
 * shared-ε trajectory, teacher refresh and dt doubling; the few-step sampler's uniform tail (greedy =
 * the argmax of the CFG-mixed x_θ at t_eps computed here by hand; fast == reference sampler). */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fixture_util.h"
#include "guidance/diff_train.h"
#include "guidance/duo_loss.h"
#include "guidance/duo_map.h"
#include "guidance/duo_train.h"
#include "guidance/loss.h"
#include "guidance/sampler.h"
#include "strand.h"
#include "test_util.h"

static double *pair_d(const sft_file *f, const char *hi, const char *lo, size_t *n)
{
    size_t n1, n2;
    float *a = fx_f32(f, hi, &n1), *b = fx_f32(f, lo, &n2);
    CU_ASSERT_FATAL(n1 == n2);
    double *d = malloc(n1 * sizeof *d);
    for (size_t i = 0; i < n1; i++) d[i] = (double)a[i] + (double)b[i];
    free(a), free(b);
    *n = n1;
    return d;
}

/* quadrature and the table vs scipy */
static void test_duo_map_vs_scipy(void)
{
    sft_file *f = tu_fixture_open("duo", "map");
    size_t nN, ng, nT, ndT;
    int32_t *Ns = fx_i32(f, "N", &nN);
    double *g = pair_d(f, "gamma_hi", "gamma_lo", &ng);
    double *T = pair_d(f, "T_hi", "T_lo", &nT), *dT = pair_d(f, "dT_hi", "dT_lo", &ndT);
    CU_ASSERT_FATAL(nT == nN * ng && ndT == nT);
    double wq = 0, wqd = 0, wt = 0, wtd = 0;
    for (size_t a = 0; a < nN; a++) {
        duo_map m;
        CU_ASSERT_FATAL(duo_map_init(&m, Ns[a], -5.0, 1.0, 0) == 0);
        for (size_t b = 0; b < ng; b++) {
            double ref = T[a * ng + b], dref = dT[a * ng + b], d, dm;
            double v = duo_T_gamma(Ns[a], g[b], &d);
            double vm = duo_map_alpha(&m, g[b], &dm);
            wq = fmax(wq, fabs(v - ref)), wqd = fmax(wqd, fabs(d - dref));
            wt = fmax(wt, fabs(vm - ref)), wtd = fmax(wtd, fabs(dm - dref));
        }
        duo_map_free(&m);
    }
    fprintf(stderr, "    vs scipy quad: quadrature |T| %.2e |dT/dgamma| %.2e; table (2049 pts) %.2e / %.2e (tol 1e-6)\n",
            wq, wqd, wt, wtd);
    CU_ASSERT(wq < 1e-6 && wqd < 1e-6 && wt < 1e-6 && wtd < 1e-6);
    free(Ns), free(g), free(T), free(dT);
    sft_close(f);
}

/* N = 2: P(ε_x + μ > ε_j) = Φ(μ/√2); derivatives by central differences; monotone, T(0) = 0 */
static void test_duo_map_shape(void)
{
    double w2 = 0;
    for (double at = 0.05; at < 0.99; at += 0.0731) {
        double mu = at / sqrt(1 - at * at);
        double ref = 2 * (0.5 * erfc(-mu / 2.0) - 0.5); /* Φ(μ/√2) = erfc(−μ/2)/2 */
        w2 = fmax(w2, fabs(duo_T(2, at, NULL) - ref));
    }
    fprintf(stderr, "    N=2 closed form: %.2e (tol 1e-12)\n", w2);
    CU_ASSERT(w2 < 1e-12);
    CU_ASSERT_DOUBLE_EQUAL(duo_T(75, 0.0, NULL), 0.0, 1e-15);
    CU_ASSERT_DOUBLE_EQUAL(duo_T(75, 1.0, NULL), 1.0, 1e-15);
    CU_ASSERT(fabs(duo_T_gamma(75, 0.0, NULL) - duo_T(75, sqrt(0.5), NULL)) < 1e-13);
    double wd = 0, wg = 0, prev = -1;
    int mono = 1;
    const int Ns[3] = {12, 75, 1000};
    for (int k = 0; k < 3; k++)
        for (double at = 0.02; at < 0.95; at += 0.0173) {
            double d, h = 1e-5;
            double v = duo_T(Ns[k], at, &d);
            double fd = (duo_T(Ns[k], at + h, NULL) - duo_T(Ns[k], at - h, NULL)) / (2 * h);
            wd = fmax(wd, fabs(fd - d) / fmax(1.0, fabs(d)));
            if (at > 0.021 && v <= prev) mono = 0;
            prev = at + 0.0173 < 0.95 ? v : -1;
            double gm = log((1 - at * at) / (at * at)), dg; /* at^2 = sigmoid(-g) */
            duo_T_gamma(Ns[k], gm, &dg);
            double fg = (duo_T_gamma(Ns[k], gm + h, NULL) - duo_T_gamma(Ns[k], gm - h, NULL)) / (2 * h);
            wg = fmax(wg, fabs(fg - dg) / fmax(1.0, fabs(dg)));
            CU_ASSERT(fabs(duo_alpha_tilde(gm) - at) < 1e-12);
        }
    fprintf(stderr, "    dT/dalpha~ (alpha~ < 0.95) and dT/dgamma vs central differences: %.2e / %.2e (tol 1e-7)\n", wd, wg);
    CU_ASSERT(wd < 1e-7 && wg < 1e-7);
    CU_ASSERT(mono);
    duo_map m;
    CU_ASSERT_EQUAL(duo_map_init(&m, 1, -5, 1, 0), STRAND_E_ARG);
    CU_ASSERT_EQUAL(duo_map_init(&m, 12, 1, -5, 0), STRAND_E_ARG);
    /* clamping outside the table */
    CU_ASSERT_FATAL(duo_map_init(&m, 12, -4, -1, 65) == 0);
    CU_ASSERT_DOUBLE_EQUAL(duo_map_alpha(&m, -9, NULL), m.T[0], 1e-15);
    CU_ASSERT_DOUBLE_EQUAL(duo_map_alpha(&m, 3, NULL), m.T[64], 1e-15);
    duo_map_free(&m);
}

/* argmax(α̃ e_x + σ̃ ε) is uniform-state noise at α = T(α̃): P(z = x) = α + (1 − α)/N, others (1 − α)/N */
static void test_duo_latent_duality(void)
{
    enum { NV = 12, LL = 40000 };
    const double gams[2] = {-2.5, -0.5};
    int32_t *x = malloc(LL * sizeof *x), *z = malloc(LL * sizeof *z);
    for (int l = 0; l < LL; l++) x[l] = 5;
    strand_rng rng;
    strand_rng_seed(&rng, 77);
    for (int k = 0; k < 2; k++) {
        double a = duo_T_gamma(NV, gams[k], NULL);
        CU_ASSERT_FATAL(duo_gauss_latent(NV, gams[k], x, LL, NULL, &rng, 1.0, z, NULL) == 0);
        size_t cnt[NV] = {0};
        for (int l = 0; l < LL; l++) cnt[z[l]]++;
        double worst = 0;
        for (int v = 0; v < NV; v++) {
            double p = (v == 5 ? a : 0) + (1 - a) / NV, sd = sqrt(LL * p * (1 - p));
            worst = fmax(worst, fabs(cnt[v] - LL * p) / sd);
        }
        fprintf(stderr, "    gamma %g: alpha = T = %.4f, worst |count - expected| = %.2f sd (tol 5)\n", gams[k], a, worst);
        CU_ASSERT(worst < 5);
    }
    free(x), free(z);
}

/* the RB form of Duo's code equals docs/diffusion.md "UDLM loss" (diff_udlm_token), value and ∂/∂p */
static void test_duo_rb_elbo(void)
{
    enum { NV = 9 };
    strand_rng rng;
    strand_rng_seed(&rng, 5);
    double worst = 0, worst_g = 0;
    int cases = 0;
    for (int rep = 0; rep < 200; rep++) {
        double p[NV], s = 0, dp1[NV], dp2[NV];
        for (int v = 0; v < NV; v++) s += (p[v] = exp(2.0 * strand_rng_normal(&rng)));
        for (int v = 0; v < NV; v++) p[v] /= s;
        double a = 0.02 + 0.96 * strand_rng_uniform(&rng), da = -(0.1 + 3 * strand_rng_uniform(&rng));
        int x = (int)strand_rng_below(&rng, NV), zt = rep % 2 ? x : (int)strand_rng_below(&rng, NV);
        double l1 = diff_udlm_token(NV, a, da, p, x, zt, dp1), l2 = duo_rb_token(NV, a, da, p, x, zt, dp2);
        worst = fmax(worst, fabs(l1 - l2) / fmax(1e-3, fabs(l1)));
        for (int v = 0; v < NV; v++) worst_g = fmax(worst_g, fabs(dp1[v] - dp2[v]) / fmax(1.0, fabs(dp1[v])));
        CU_ASSERT(l2 >= -1e-12);
        cases++;
    }
    /* x_θ = onehot(x) gives 0 */
    double oh[NV] = {0};
    oh[3] = 1;
    CU_ASSERT(fabs(duo_rb_token(NV, 0.4, -1.0, oh, 3, 3, NULL)) < 1e-12);
    CU_ASSERT(fabs(duo_rb_token(NV, 0.4, -1.0, oh, 3, 7, NULL)) < 1e-12);
    fprintf(stderr, "    RB ELBO vs UDLM ELBO over %d cases: value %.2e, gradient %.2e relative (tol 1e-10)\n", cases, worst,
            worst_g);
    CU_ASSERT(worst < 1e-10 && worst_g < 1e-10);
}

enum { NV = 7, BB = 3, LL = 5, NC = 2 };

static void tiny_net(diff_model *net, uint64_t seed)
{
    dit_config c = dit_default_config();
    c.vocab = NV, c.dim = 16, c.depth = 1, c.heads = 2, c.cond_dim = 8, c.model_length = 8;
    c.time_cond = 1, c.num_classes = NC;
    diff_loss_spec sp = {DIFF_UNIFORM, diff_schedule_default(), NV, -1, 0};
    CU_ASSERT_FATAL(diff_model_create(net, &c, &sp) == 0);
    CU_ASSERT_FATAL(pb_alloc_grads(&net->w->pb) == 0);
    strand_rng r;
    strand_rng_seed(&r, seed);
    for (size_t i = 0; i < net->w->pb.total; i++) net->w->pb.params[i] = (float)(0.35 * strand_rng_normal(&r));
}

typedef struct soft_ctx {
    diff_model *net;
    float *soft;
    const float *sig;
    const int32_t *x0, *zt, *lab;
    const double *a, *da;
} soft_ctx;

static double soft_loss(void *c)
{
    soft_ctx *k = c;
    float logits[BB * LL * NV], loss[BB * LL];
    CU_ASSERT_FATAL(dit_forward(k->net->w, k->net->ctx, NULL, k->soft, k->sig, k->lab, BB, LL, logits) == 0);
    CU_ASSERT_FATAL(duo_rb_loss(NV, logits, k->x0, k->zt, k->a, k->da, BB, LL, loss, NULL, 0) == 0);
    double s = 0;
    for (int i = 0; i < BB * LL; i++) s += loss[i];
    return s / (BB * LL);
}

/* the curriculum step (soft input softmax(w/τ), τ = 0.5 so it is really soft) by central differences */
static void test_duo_curriculum_grad(void)
{
    diff_model net;
    tiny_net(&net, 21);
    diff_trainer tr;
    CU_ASSERT_FATAL(diff_trainer_init(&tr, &net, BB, LL) == 0);
    duo_trainer d;
    CU_ASSERT_FATAL(duo_trainer_init(&d, &tr, -3.5, -1.75, 10, 0.5, 0.5) == 0);
    int32_t x0[BB * LL] = {0, 1, 3, 4, 5, 6, 5, 4, 3, 1, 0, 3, 3, 6, 1}, lab[BB] = {0, 1, -1};
    strand_rng rng;
    strand_rng_seed(&rng, 3);
    float loss;
    pb_zero_grad(&net.w->pb);
    CU_ASSERT_FATAL(duo_trainer_fb(&d, x0, lab, BB, LL, &rng, &loss) == 0);
    CU_ASSERT_EQUAL(d.step, 1);
    paramblock *pb = &net.w->pb;
    float *g = malloc(pb->total * sizeof *g);
    memcpy(g, pb->grads, pb->total * sizeof *g);
    /* the soft input is a distribution, soft, and its argmax is z_t */
    int soft_ok = 1, arg_ok = 1;
    for (int i = 0; i < BB * LL; i++) {
        const float *q = d.soft + i * NV;
        double s = 0;
        int best = 0;
        for (int v = 0; v < NV; v++) s += q[v], best = q[v] > q[best] ? v : best;
        soft_ok &= fabs(s - 1) < 1e-5 && q[best] < 0.999f;
        arg_ok &= best == tr.zt[i];
    }
    CU_ASSERT(soft_ok);
    CU_ASSERT(arg_ok);
    soft_ctx fc = {&net, d.soft, d.sig, x0, tr.zt, tr.lab, d.alpha, d.dalpha};
    CU_ASSERT(fabs(soft_loss(&fc) - loss) < 1e-6 * fmax(1, fabs(loss)));
    double worst = 0;
    for (size_t e = 0; e < pb->n; e++) {
        size_t off = pb->entries[e].offset, n = pb->entries[e].numel;
        double w = fx_gradcheck(pb->entries[e].name, soft_loss, &fc, pb->params + off, g + off, n, 3, 3e-3,
                                (fx_tol){5e-4, 0, 2e-2, 0});
        worst = fmax(worst, w);
    }
    CU_ASSERT(worst <= 1);
    /* d/dsoft through the embedding */
    float logits[BB * LL * NV], dlog[BB * LL * NV], lt[BB * LL], dsoft[BB * LL * NV];
    CU_ASSERT_FATAL(dit_forward(net.w, net.ctx, NULL, d.soft, d.sig, tr.lab, BB, LL, logits) == 0);
    memset(dlog, 0, sizeof dlog);
    memset(dsoft, 0, sizeof dsoft);
    CU_ASSERT_FATAL(duo_rb_loss(NV, logits, x0, tr.zt, d.alpha, d.dalpha, BB, LL, lt, dlog, 1.0f / (BB * LL)) == 0);
    CU_ASSERT_FATAL(dit_backward(net.w, net.ctx, dlog, dsoft, NULL) == 0);
    double ws = fx_gradcheck("dsoft", soft_loss, &fc, d.soft, dsoft, BB * LL * NV, 40, 3e-3, (fx_tol){5e-4, 0, 2e-2, 0});
    CU_ASSERT(ws <= 1);
    /* after the curriculum the step is the plain UDLM one (same RNG -> same loss as diff_trainer_fb) */
    d.step = d.steps;
    strand_rng r1, r2;
    strand_rng_seed(&r1, 9), strand_rng_seed(&r2, 9);
    float l1, l2;
    pb_zero_grad(pb);
    CU_ASSERT_FATAL(duo_trainer_fb(&d, x0, lab, BB, LL, &r1, &l1) == 0);
    pb_zero_grad(pb);
    CU_ASSERT_FATAL(diff_trainer_fb(&tr, x0, lab, BB, LL, &r2, &l2) == 0);
    CU_ASSERT_EQUAL(l1, l2);
    CU_ASSERT_DOUBLE_EQUAL(duo_trainer_tau(&d, 0), 0.5, 1e-15);
    free(g);
    duo_trainer_free(&d);
    diff_trainer_free(&tr);
    diff_model_free(&net);
}

typedef struct kl_ctx {
    float *s;
    const float *t;
} kl_ctx;

static double kl_sum(void *c)
{
    kl_ctx *k = c;
    float loss[BB * LL];
    CU_ASSERT_FATAL(duo_kl_loss(NV, k->s, k->t, BB, LL, loss, NULL, 0) == 0);
    double s = 0;
    for (int i = 0; i < BB * LL; i++) s += loss[i];
    return s;
}

static void test_duo_distill(void)
{
    /* KL gradient */
    strand_rng rng;
    strand_rng_seed(&rng, 8);
    float s[BB * LL * NV], t[BB * LL * NV], ds[BB * LL * NV], loss[BB * LL];
    for (int i = 0; i < BB * LL * NV; i++) s[i] = (float)strand_rng_normal(&rng), t[i] = (float)strand_rng_normal(&rng);
    memset(ds, 0, sizeof ds);
    CU_ASSERT_FATAL(duo_kl_loss(NV, s, t, BB, LL, loss, ds, 1.0f) == 0);
    for (int i = 0; i < BB * LL; i++) CU_ASSERT(loss[i] >= 0);
    kl_ctx kc = {s, t};
    CU_ASSERT(fx_gradcheck("KL dstudent", kl_sum, &kc, s, ds, BB * LL * NV, 50, 1e-2, (fx_tol){2e-4, 0, 2e-3, 0}) <= 1); /* loss stored as float */
    CU_ASSERT_FATAL(duo_kl_loss(NV, t, t, BB, LL, loss, NULL, 0) == 0);
    for (int i = 0; i < BB * LL; i++) CU_ASSERT(fabs(loss[i]) < 1e-6);
    /* distiller: teacher copy, refresh every K, dt doubling, shared ε */
    diff_model net;
    tiny_net(&net, 4);
    duo_distiller d;
    CU_ASSERT_EQUAL(duo_distiller_init(&d, &net, BB, LL, -4, -1, 0, 0.01, 0.5), STRAND_E_ARG);
    CU_ASSERT_FATAL(duo_distiller_init(&d, &net, BB, LL, -4, -1, 2, 1.0 / 512, 0.25) == 0);
    CU_ASSERT_DOUBLE_EQUAL(duo_distiller_dt(&d, 0), 1.0 / 512, 1e-15);
    CU_ASSERT_DOUBLE_EQUAL(duo_distiller_dt(&d, 3), 2.0 / 512, 1e-15);
    CU_ASSERT_DOUBLE_EQUAL(duo_distiller_dt(&d, 4), 4.0 / 512, 1e-15);
    CU_ASSERT_DOUBLE_EQUAL(duo_distiller_dt(&d, 100), 0.25, 1e-15);
    int32_t x0[BB * LL] = {0, 1, 3, 4, 5, 6, 5, 4, 3, 1, 0, 3, 3, 6, 1}, lab[BB] = {0, 1, -1};
    paramblock *pb = &net.w->pb;
    float *p0 = malloc(pb->total * sizeof *p0);
    memcpy(p0, pb->params, pb->total * sizeof *p0);
    float l;
    pb_zero_grad(pb);
    CU_ASSERT_FATAL(duo_distiller_fb(&d, x0, lab, BB, LL, &rng, &l) == 0);
    CU_ASSERT(memcmp(d.teacher->pb.params, p0, pb->total * sizeof *p0) == 0); /* copied at step 0 */
    CU_ASSERT(l >= 0);
    /* z_t and z_s are one trajectory: s < t, so z_s keeps x at least as often over many positions */
    int zt_eq = 0, zs_eq = 0;
    for (int i = 0; i < BB * LL; i++) zt_eq += d.zt[i] == x0[i], zs_eq += d.zs[i] == x0[i];
    CU_ASSERT(zs_eq >= zt_eq - 2);
    for (int i = 0; i < 10; i++) pb->params[i] += 0.5f; /* the student moves; the teacher waits for step 2 */
    CU_ASSERT_FATAL(duo_distiller_fb(&d, x0, lab, BB, LL, &rng, &l) == 0);
    CU_ASSERT(memcmp(d.teacher->pb.params, p0, pb->total * sizeof *p0) == 0);
    CU_ASSERT_FATAL(duo_distiller_fb(&d, x0, lab, BB, LL, &rng, &l) == 0);
    CU_ASSERT(memcmp(d.teacher->pb.params, pb->params, pb->total * sizeof *p0) == 0);
    CU_ASSERT_EQUAL(d.last_refresh, 2);
    /* with the same γ for t and s, the shared ε gives z_s = z_t */
    float *e = malloc(LL * NV * sizeof *e);
    int32_t za[LL], zb[LL];
    for (int i = 0; i < LL * NV; i++) e[i] = (float)strand_rng_normal(&rng);
    duo_gauss_latent(NV, -2.0, x0, LL, e, NULL, 1.0, za, NULL);
    duo_gauss_latent(NV, -2.0, x0, LL, e, NULL, 1.0, zb, NULL);
    CU_ASSERT(memcmp(za, zb, sizeof za) == 0);
    free(e), free(p0);
    duo_distiller_free(&d);
    diff_model_free(&net);
}

/* few-step sampling with the uniform tail and CFG at γ = 2.5 */
static void test_duo_tail(void)
{
    diff_model m;
    tiny_net(&m, 31);
    diff_net net;
    diff_sampler_params p = diff_sampler_default_params();
    diff_model_net(&m, &net, &p);
    p.L = LL, p.steps = 4, p.label = 1, p.gamma = 2.5, p.batch = 1, p.threads = 1, p.seed = 17;
    enum { NS = 3 };
    int32_t z0[NS * LL], zg[NS * LL], zr[NS * LL], za[NS * LL], zar[NS * LL];
    CU_ASSERT_FATAL(diff_sample(&net, &p, NS, z0, NULL) == 0);
    p.tail = DIFF_TAIL_GREEDY;
    diff_sample_stats st;
    CU_ASSERT_FATAL(diff_sample(&net, &p, NS, zg, &st) == 0);
    CU_ASSERT_DOUBLE_EQUAL(st.nfe, 2.0 * (4 + 1), 1e-12); /* CFG pairs, 4 steps + the tail */
    CU_ASSERT_FATAL(diff_sample_ref(&net, &p, NS, zr, NULL) == 0);
    CU_ASSERT(memcmp(zg, zr, sizeof zg) == 0);
    /* by hand: x_γ ∝ exp(γ log x(·|1) + (1 − γ) log x(·|∅)) at σ(t_eps) for z0, argmax */
    float lc[NS * LL * NV], lu[NS * LL * NV], sig[NS];
    int32_t yc[NS], yu[NS];
    for (int b = 0; b < NS; b++) sig[b] = diff_model_sigma(&p.sched, p.t_eps, 1), yc[b] = 1, yu[b] = NC;
    CU_ASSERT_FATAL(dit_forward(m.w, m.ctx, z0, NULL, sig, yc, NS, LL, lc) == 0);
    CU_ASSERT_FATAL(dit_forward(m.w, m.ctx, z0, NULL, sig, yu, NS, LL, lu) == 0);
    int same = 1, moved = 0;
    for (int i = 0; i < NS * LL; i++) {
        double mc = -INFINITY, mu = -INFINITY, sc = 0, su = 0, best = -INFINITY;
        int arg = 0;
        for (int v = 0; v < NV; v++) mc = fmax(mc, lc[i * NV + v]), mu = fmax(mu, lu[i * NV + v]);
        for (int v = 0; v < NV; v++) sc += exp(lc[i * NV + v] - mc), su += exp(lu[i * NV + v] - mu);
        for (int v = 0; v < NV; v++) {
            double g = 2.5 * (lc[i * NV + v] - mc - log(sc)) - 1.5 * (lu[i * NV + v] - mu - log(su));
            if (g > best) best = g, arg = v;
        }
        same &= arg == zg[i];
        moved += z0[i] != zg[i];
    }
    fprintf(stderr, "    greedy tail = argmax of the CFG-mixed x_theta at t_eps: %s (%d of %d positions changed)\n",
            same ? "yes" : "NO", moved, NS * LL);
    CU_ASSERT(same);
    p.tail = DIFF_TAIL_ANCESTRAL;
    CU_ASSERT_FATAL(diff_sample(&net, &p, NS, za, NULL) == 0);
    CU_ASSERT_FATAL(diff_sample_ref(&net, &p, NS, zar, NULL) == 0);
    CU_ASSERT(memcmp(za, zar, sizeof za) == 0);
    p.tail = 3;
    CU_ASSERT_EQUAL(diff_sampler_check(&net, &p), STRAND_E_ARG);
    /* a masked process has no tail (it ends with its noise-removal step): refused, not ignored */
    p.tail = DIFF_TAIL_GREEDY, p.proc = DIFF_MASKED, p.mask_id = 0;
    CU_ASSERT_EQUAL(diff_sampler_check(&net, &p), STRAND_E_ARG);
    CU_ASSERT(strstr(strand_last_error(), "uniform-state") != NULL);
    p.tail = DIFF_TAIL_NONE;
    CU_ASSERT_EQUAL(diff_sampler_check(&net, &p), 0);
    diff_model_free(&m);
}

void register_suites(void)
{
    CU_pSuite s = CU_add_suite("duo", NULL, NULL);
    ADD_TEST(s, test_duo_map_vs_scipy);
    ADD_TEST(s, test_duo_map_shape);
    ADD_TEST(s, test_duo_latent_duality);
    ADD_TEST(s, test_duo_rb_elbo);
    ADD_TEST(s, test_duo_curriculum_grad);
    ADD_TEST(s, test_duo_distill);
    ADD_TEST(s, test_duo_tail);
}
