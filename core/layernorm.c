/* LayerNorm, weight only (docs/dit.md "Block": eps 1e-5, fp32, biased variance). */
#include "core/layernorm.h"

#include <math.h>

void layernorm_forward(float *out, float *mean, float *rstd, const float *inp, const float *weight, size_t N,
                       size_t C, float eps)
{
    // out (N,C), mean (N), rstd (N), inp (N,C), weight (C)
#pragma omp parallel for schedule(static) if (N * C > 32768)
    for (size_t n = 0; n < N; n++) {
        const float *x = inp + n * C;
        float *o = out + n * C;
        float m = 0.0f;
#pragma omp simd reduction(+ : m)
        for (size_t i = 0; i < C; i++) m += x[i];
        m /= (float)C;
        float v = 0.0f;
#pragma omp simd reduction(+ : v)
        for (size_t i = 0; i < C; i++) v += (x[i] - m) * (x[i] - m);
        v /= (float)C;
        float r = 1.0f / sqrtf(v + eps);
        if (weight) {
#pragma omp simd
            for (size_t i = 0; i < C; i++) o[i] = (x[i] - m) * r * weight[i];
        } else {
#pragma omp simd
            for (size_t i = 0; i < C; i++) o[i] = (x[i] - m) * r;
        }
        if (mean) mean[n] = m;
        if (rstd) rstd[n] = r;
    }
}

void layernorm_backward(float *dinp, float *dweight, const float *dout, const float *inp, const float *weight,
                        const float *mean, const float *rstd, size_t N, size_t C)
{
    // n̂ = (x − m)·r, g = w ⊙ dout  ⇒  dx = r·(g − mean(g) − n̂·mean(g ⊙ n̂)); dw += dout ⊙ n̂
    if (dinp) {
#pragma omp parallel for schedule(static) if (N * C > 32768)
        for (size_t n = 0; n < N; n++) {
            const float *x = inp + n * C, *d = dout + n * C;
            float *dx = dinp + n * C;
            float m = mean[n], r = rstd[n];
            float sg = 0.0f, sgn = 0.0f;
#pragma omp simd reduction(+ : sg, sgn)
            for (size_t i = 0; i < C; i++) {
                float g = weight ? weight[i] * d[i] : d[i];
                sg += g;
                sgn += g * (x[i] - m) * r;
            }
            sg /= (float)C;
            sgn /= (float)C;
#pragma omp simd
            for (size_t i = 0; i < C; i++) {
                float g = weight ? weight[i] * d[i] : d[i];
                dx[i] += r * (g - sg - (x[i] - m) * r * sgn);
            }
        }
    }
    if (dweight) {
        for (size_t n = 0; n < N; n++) {
            const float *x = inp + n * C, *d = dout + n * C;
            float m = mean[n], r = rstd[n];
#pragma omp simd
            for (size_t i = 0; i < C; i++) dweight[i] += d[i] * (x[i] - m) * r;
        }
    }
}
