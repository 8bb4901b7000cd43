/* RMSNorm (docs/caduceus.md "Residual pattern and RMSNorm"): out = v / sqrt(mean(v²) + eps) ⊙ w. */
#include "core/rmsnorm.h"

#include <math.h>

void rmsnorm_forward(float *out, float *rstd, const float *inp, const float *weight, size_t N, size_t C,
                     float eps)
{
    // out (N,C), rstd (N) (may be NULL at inference), inp (N,C), weight (C)
#pragma omp parallel for schedule(static) if (N * C > 32768)
    for (size_t n = 0; n < N; n++) {
        const float *x = inp + n * C;
        float *o = out + n * C;
        float ss = 0.0f;
#pragma omp simd reduction(+ : ss)
        for (size_t i = 0; i < C; i++) ss += x[i] * x[i];
        float r = 1.0f / sqrtf(ss / (float)C + eps);
#pragma omp simd
        for (size_t i = 0; i < C; i++) o[i] = x[i] * r * weight[i];
        if (rstd) rstd[n] = r;
    }
}

void rmsnorm_backward(float *dinp, float *dweight, const float *dout, const float *inp, const float *weight,
                      const float *rstd, size_t N, size_t C)
{
    // y_i = x_i·r·w_i, r = (mean(x²)+eps)^-½  ⇒  dx_j = r·(w_j·g_j − x_j·r²·Σ_i g_i·w_i·x_i / C)
    if (dinp) {
#pragma omp parallel for schedule(static) if (N * C > 32768)
        for (size_t n = 0; n < N; n++) {
            const float *x = inp + n * C, *g = dout + n * C;
            float *dx = dinp + n * C;
            float r = rstd[n];
            float dot = 0.0f;
#pragma omp simd reduction(+ : dot)
            for (size_t i = 0; i < C; i++) dot += g[i] * weight[i] * x[i];
            float k = r * r * dot / (float)C;
#pragma omp simd
            for (size_t i = 0; i < C; i++) dx[i] += r * (weight[i] * g[i] - x[i] * k);
        }
    }
    if (dweight) {
        for (size_t n = 0; n < N; n++) {
            const float *x = inp + n * C, *g = dout + n * C;
            float r = rstd[n];
#pragma omp simd
            for (size_t i = 0; i < C; i++) dweight[i] += g[i] * x[i] * r;
        }
    }
}
