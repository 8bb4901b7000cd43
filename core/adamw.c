/* AdamW, gradient clipping and weight EMA over a paramblock (see adamw.h). */
#include "core/adamw.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"

adamw_params adamw_default_params(void)
{
    adamw_params p = {1e-3f, 0.9f, 0.999f, 1e-8f, 0.01f};
    return p;
}

/* The per-element update, scalars prepared as PyTorch 1.13's single-tensor AdamW does
 * (python doubles rounded to float where they meet the float32 tensors). */
static void adamw_update_ref(float *p, const float *g, float *m, float *v, size_t n, float decay_mul,
                             float b1, float one_m_b1, float b2, float one_m_b2, float step_size,
                             float bc2_sqrt, float eps)
{
    for (size_t i = 0; i < n; i++) {
        float pi = p[i] * decay_mul;
        float mi = m[i] * b1 + one_m_b1 * g[i];
        float vi = v[i] * b2 + one_m_b2 * g[i] * g[i];
        float denom = sqrtf(vi) / bc2_sqrt + eps;
        p[i] = pi + (-step_size) * mi / denom;
        m[i] = mi;
        v[i] = vi;
    }
}

int adamw_step(paramblock *pb, const adamw_params *hp, double lr, int64_t t)
{
    if (!pb || !hp || !pb->params || !pb->grads)
        return st_err(NULL, STRAND_E_ARG, "adamw_step: block not allocated");
    if (t < 1) return st_err(NULL, STRAND_E_ARG, "adamw_step: step %lld (must be >= 1)", (long long)t);
    if (!(hp->beta1 >= 0 && hp->beta1 < 1 && hp->beta2 >= 0 && hp->beta2 < 1 && hp->eps >= 0 && lr >= 0))
        return st_err(NULL, STRAND_E_ARG, "adamw_step: invalid hyper-parameters (lr %g, betas %g %g, eps %g)", lr,
                      hp->beta1, hp->beta2, hp->eps);
    if (!pb->m || !pb->v) {
        int rc = pb_alloc_moments(pb);
        if (rc < 0) return rc;
    }
    double b1 = hp->beta1, b2 = hp->beta2;
    double bc1 = 1.0 - pow(b1, (double)t), bc2 = 1.0 - pow(b2, (double)t);
    float step_size = (float)(lr / bc1), bc2_sqrt = (float)sqrt(bc2);
    float decay_mul = (float)(1.0 - lr * (double)hp->weight_decay);
    float one_m_b1 = (float)(1.0 - b1), one_m_b2 = (float)(1.0 - b2);
#pragma omp parallel for schedule(dynamic, 1) if (pb->n > 1 && pb->total > 65536)
    for (size_t e = 0; e < pb->n; e++) {
        const pb_entry *en = &pb->entries[e];
        size_t o = en->offset;
        adamw_update_ref(pb->params + o, pb->grads + o, pb->m + o, pb->v + o, en->numel,
                         en->decay ? decay_mul : 1.0f, hp->beta1, one_m_b1, hp->beta2, one_m_b2, step_size,
                         bc2_sqrt, hp->eps);
    }
    return 0;
}

float grad_norm(const paramblock *pb)
{
    if (!pb || !pb->grads) return 0.0f;
    double s = 0;
    for (size_t e = 0; e < pb->n; e++) {
        const float *g = pb->grads + pb->entries[e].offset;
        for (size_t i = 0; i < pb->entries[e].numel; i++) s += (double)g[i] * g[i];
    }
    return (float)sqrt(s);
}

float clip_grad_norm(paramblock *pb, float max_norm)
{
    float norm = grad_norm(pb);
    if (!(max_norm > 0) || !isfinite(norm)) return norm;
    /* torch: clip_coef = max_norm / (total_norm + 1e-6), clamped to 1, applied always */
    float coef = max_norm / (norm + 1e-6f);
    if (coef < 1.0f) {
        for (size_t e = 0; e < pb->n; e++) {
            float *g = pb->grads + pb->entries[e].offset;
            for (size_t i = 0; i < pb->entries[e].numel; i++) g[i] *= coef;
        }
    }
    return norm;
}

int ema_init(paramblock *ema, const paramblock *src)
{
    if (!ema || !src || !src->params) return st_err(NULL, STRAND_E_ARG, "ema_init: source block not allocated");
    pb_init(ema);
    for (size_t i = 0; i < src->n; i++) {
        const pb_entry *e = &src->entries[i];
        int rc = pb_add(ema, e->name, e->ndim, e->shape, e->decay);
        if (rc < 0) {
            pb_free(ema);
            return rc;
        }
    }
    int rc = pb_alloc(ema);
    if (rc < 0) {
        pb_free(ema);
        return rc;
    }
    memcpy(ema->params, src->params, src->total * sizeof(float));
    return 0;
}

void ema_update(paramblock *ema, const paramblock *src, float decay)
{
    /* same table, same offsets: one flat loop (padding stays 0 on both sides) */
    float omd = 1.0f - decay;
    for (size_t i = 0; i < src->total; i++) ema->params[i] = decay * ema->params[i] + omd * src->params[i];
}
