/* Learning-rate schedules as multipliers of the base rate, 0-based step (LambdaLR convention:
 * the k-th optimiser update, k = 0, 1, ..., uses lr = base * multiplier(k)). */
#ifndef STRAND_CORE_LR_SCHEDULE_H
#define STRAND_CORE_LR_SCHEDULE_H
#include <stdint.h>

typedef struct lr_schedule {
    int64_t warmup_steps; /* linear warmup: k / warmup for k < warmup (HF get_cosine_schedule_with_warmup) */
    int64_t total_steps;  /* cosine decay from warmup to total; 0 = constant after warmup */
    double min_ratio;     /* floor of the cosine, as a fraction of the base rate (0 = decay to 0) */
} lr_schedule;

/* k < warmup: k / warmup; then min + (1-min) * 0.5 * (1 + cos(pi * (k-warmup)/(total-warmup))),
 * with progress clamped to [0, 1]. */
double lr_schedule_multiplier(const lr_schedule *s, int64_t k);

/* Warmup over round(warmup_frac * steps) steps, then cosine to min_ratio at `steps`. */
lr_schedule lr_schedule_warmup_cosine(int64_t steps, double warmup_frac, double min_ratio);
#endif
