/* Noise schedules, time sampling and forward corruption of the two discrete diffusion processes
 * (docs/diffusion.md "Noise schedules", "Time sampling", "Forward corruption").
 *
 * A schedule gives alpha_t (the probability that a token is still clean at time t in [0,1]), its
 * derivative dalpha/dt, and sigma_t = -log alpha_t, the noise level the network is fed (models
 * without time conditioning, e.g. MDLM, are fed 0: see diff_model_sigma).
 *   log-linear: alpha_t = 1 - (1 - eps) t                      (eps = 1e-3)
 *   cosine:     alpha_t = eps + (1 - eps) cos(pi t / 2)
 * Both are computed in double; callers convert once where the network wants float.
 *
 * Processes: masked (absorbing state, MDLM: a corrupted token becomes [MASK]) and uniform (UDLM:
 * a corrupted token becomes a uniformly random id over all N ids of the vocabulary, which can be
 * the token itself). */
#ifndef STRAND_GUIDANCE_NOISE_H
#define STRAND_GUIDANCE_NOISE_H
#include <stddef.h>
#include <stdint.h>

#include "strand.h"

typedef enum diff_schedule_kind { DIFF_SCHED_LOGLINEAR = 0, DIFF_SCHED_COSINE = 1 } diff_schedule_kind;

typedef struct diff_schedule {
    diff_schedule_kind kind;
    double eps; /* alpha_1 = eps (both schedules); 1e-3 by default */
} diff_schedule;

typedef enum diff_process { DIFF_MASKED = 0, DIFF_UNIFORM = 1 } diff_process;

/* Log-linear, eps 1e-3. */
diff_schedule diff_schedule_default(void);
/* "loglinear" or "cosine" (eps 1e-3); 0 or STRAND_E_ARG. */
int diff_schedule_parse(const char *name, diff_schedule *out);
const char *diff_schedule_name(diff_schedule_kind kind); /* "loglinear" / "cosine" */
/* "mdlm"/"masked" -> DIFF_MASKED, "udlm"/"uniform" -> DIFF_UNIFORM; 0 or STRAND_E_ARG. */
int diff_process_parse(const char *name, diff_process *out);
const char *diff_process_name(diff_process p); /* "mdlm" / "udlm" */

/* alpha_t, dalpha_t/dt (negative), sigma_t = -log alpha_t; t in [0,1] (clamped). */
double diff_alpha(const diff_schedule *s, double t);
double diff_dalpha(const diff_schedule *s, double t);
double diff_sigma(const diff_schedule *s, double t);
/* What the network is fed at time t: sigma_t when time_cond, else 0 (docs/diffusion.md "MDLM"). */
float diff_model_sigma(const diff_schedule *s, double t, int time_cond);

/* Training times for a batch of n (docs/diffusion.md "Time sampling"): u_i ~ U[0,1);
 * antithetic: e_i = (u_i/n + i/n) mod 1, else e_i = u_i; t_i = eps_t + (1 - eps_t) e_i.
 * eps_t = 1e-3 is DIFF_T_EPS. Draws exactly n uniforms from rng, in order. */
#define DIFF_T_EPS 1e-3
void diff_sample_t(strand_rng *rng, size_t n, int antithetic, double eps_t, double *t /* (n) */);
/* Discrete time with T > 0 steps (the official T > 0 option): t -> floor(t T)/T + 1/T, so t is
 * in {1/T, …, 1}. T <= 0 leaves t unchanged. */
double diff_discretize_t(double t, int T);

/* Forward corruption of one sequence x0 (L) at clean probability alpha: each position
 * independently draws u ~ U[0,1); if u < 1 - alpha it is corrupted: masked -> mask_id,
 * uniform -> strand_rng_below(rng, vocab) (one more draw). Otherwise z = x0.
 * Returns the number of corrupted positions (uniform: positions that drew a new id, even if the
 * id equals x0). mask_id is ignored for DIFF_UNIFORM. */
size_t diff_corrupt(diff_process proc, int vocab, int mask_id, double alpha, const int32_t *x0, size_t L,
                    strand_rng *rng, int32_t *z /* (L) */);
#endif
