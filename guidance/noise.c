/* Noise schedules, time sampling, forward corruption (docs/diffusion.md "Noise schedules"). */
#include "guidance/noise.h"

#include <math.h>
#include <string.h>

#include "core/error.h"

diff_schedule diff_schedule_default(void)
{
    diff_schedule s = {DIFF_SCHED_LOGLINEAR, 1e-3};
    return s;
}

int diff_schedule_parse(const char *name, diff_schedule *out)
{
    diff_schedule s = diff_schedule_default();
    if (name && (!strcmp(name, "loglinear") || !strcmp(name, "log-linear")))
        s.kind = DIFF_SCHED_LOGLINEAR;
    else if (name && !strcmp(name, "cosine"))
        s.kind = DIFF_SCHED_COSINE;
    else
        return st_err(NULL, STRAND_E_ARG, "unknown noise schedule \"%s\" (loglinear or cosine)", name ? name : "");
    *out = s;
    return 0;
}

const char *diff_schedule_name(diff_schedule_kind kind) { return kind == DIFF_SCHED_COSINE ? "cosine" : "loglinear"; }

int diff_process_parse(const char *name, diff_process *out)
{
    if (name && (!strcmp(name, "mdlm") || !strcmp(name, "masked")))
        *out = DIFF_MASKED;
    else if (name && (!strcmp(name, "udlm") || !strcmp(name, "uniform")))
        *out = DIFF_UNIFORM;
    else
        return st_err(NULL, STRAND_E_ARG, "unknown diffusion process \"%s\" (mdlm or udlm)", name ? name : "");
    return 0;
}

const char *diff_process_name(diff_process p) { return p == DIFF_UNIFORM ? "udlm" : "mdlm"; }

static double clamp01(double t) { return t < 0 ? 0 : (t > 1 ? 1 : t); }

double diff_alpha(const diff_schedule *s, double t)
{
    t = clamp01(t);
    if (s->kind == DIFF_SCHED_COSINE) return s->eps + (1.0 - s->eps) * cos(M_PI * 0.5 * t);
    return 1.0 - (1.0 - s->eps) * t;
}

double diff_dalpha(const diff_schedule *s, double t)
{
    t = clamp01(t);
    if (s->kind == DIFF_SCHED_COSINE) return -(1.0 - s->eps) * (M_PI * 0.5) * sin(M_PI * 0.5 * t);
    return -(1.0 - s->eps);
}

double diff_sigma(const diff_schedule *s, double t) { return -log(diff_alpha(s, t)); }

float diff_model_sigma(const diff_schedule *s, double t, int time_cond)
{
    return time_cond ? (float)diff_sigma(s, t) : 0.0f;
}

void diff_sample_t(strand_rng *rng, size_t n, int antithetic, double eps_t, double *t)
{
    for (size_t i = 0; i < n; i++) {
        double u = strand_rng_uniform(rng);
        double e = u;
        if (antithetic) {
            e = u / (double)n + (double)i / (double)n;
            e = fmod(e, 1.0);
        }
        t[i] = eps_t + (1.0 - eps_t) * e;
    }
}

double diff_discretize_t(double t, int T)
{
    if (T <= 0) return t;
    return floor(t * T) / T + 1.0 / T;
}

size_t diff_corrupt(diff_process proc, int vocab, int mask_id, double alpha, const int32_t *x0, size_t L,
                    strand_rng *rng, int32_t *z)
{
    size_t moved = 0;
    double move = 1.0 - alpha;
    for (size_t l = 0; l < L; l++) {
        if (strand_rng_uniform(rng) < move) {
            z[l] = proc == DIFF_MASKED ? mask_id : (int32_t)strand_rng_below(rng, (uint64_t)vocab);
            moved++;
        } else {
            z[l] = x0[l];
        }
    }
    return moved;
}
