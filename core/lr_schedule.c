/* Cosine schedule with linear warmup (see lr_schedule.h). */
#include "core/lr_schedule.h"

#include <math.h>

#ifndef M_PI
#define M_PI 3.14159265358979323846
#endif

double lr_schedule_multiplier(const lr_schedule *s, int64_t k)
{
    if (k < 0) k = 0;
    if (s->warmup_steps > 0 && k < s->warmup_steps) return (double)k / (double)s->warmup_steps;
    if (s->total_steps <= s->warmup_steps) return 1.0;
    double progress = (double)(k - s->warmup_steps) / (double)(s->total_steps - s->warmup_steps);
    if (progress > 1) progress = 1;
    double c = 0.5 * (1.0 + cos(M_PI * progress));
    return s->min_ratio + (1.0 - s->min_ratio) * c;
}

lr_schedule lr_schedule_warmup_cosine(int64_t steps, double warmup_frac, double min_ratio)
{
    lr_schedule s;
    s.warmup_steps = (int64_t)llround(warmup_frac * (double)steps);
    s.total_steps = steps;
    s.min_ratio = min_ratio;
    return s;
}
