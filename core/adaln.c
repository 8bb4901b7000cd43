#include "core/adaln.h"

void adaln_modulate_forward(float *out, const float *x, const float *shift, const float *scale, size_t ms,
                            size_t B, size_t L, size_t D)
{
#pragma omp parallel for collapse(2) schedule(static) if (B * L * D > 65536)
    for (size_t b = 0; b < B; b++)
        for (size_t l = 0; l < L; l++) {
            const float *sh = shift + b * ms, *sc = scale + b * ms;
            const float *xi = x + (b * L + l) * D;
            float *o = out + (b * L + l) * D;
#pragma omp simd
            for (size_t d = 0; d < D; d++) o[d] = xi[d] * (1.0f + sc[d]) + sh[d];
        }
}

void adaln_modulate_backward(float *dx, float *dshift, float *dscale, const float *dout, const float *x,
                             const float *scale, size_t ms, size_t B, size_t L, size_t D)
{
    // parallel over sequences: each b owns its rows and its shift/scale gradients
#pragma omp parallel for schedule(static) if (B * L * D > 65536)
    for (size_t b = 0; b < B; b++) {
        const float *sc = scale + b * ms;
        for (size_t l = 0; l < L; l++) {
            const float *g = dout + (b * L + l) * D, *xi = x + (b * L + l) * D;
            if (dx) {
                float *o = dx + (b * L + l) * D;
#pragma omp simd
                for (size_t d = 0; d < D; d++) o[d] += g[d] * (1.0f + sc[d]);
            }
            if (dshift)
#pragma omp simd
                for (size_t d = 0; d < D; d++) dshift[b * ms + d] += g[d];
            if (dscale)
#pragma omp simd
                for (size_t d = 0; d < D; d++) dscale[b * ms + d] += g[d] * xi[d];
        }
    }
}

void adaln_gate_forward(float *out, const float *x, const float *y, const float *gate, size_t ms, size_t B,
                        size_t L, size_t D)
{
#pragma omp parallel for collapse(2) schedule(static) if (B * L * D > 65536)
    for (size_t b = 0; b < B; b++)
        for (size_t l = 0; l < L; l++) {
            const float *g = gate + b * ms;
            const float *xi = x + (b * L + l) * D, *yi = y + (b * L + l) * D;
            float *o = out + (b * L + l) * D;
#pragma omp simd
            for (size_t d = 0; d < D; d++) o[d] = xi[d] + g[d] * yi[d];
        }
}

void adaln_gate_backward(float *dx, float *dy, float *dgate, const float *dout, const float *y,
                         const float *gate, size_t ms, size_t B, size_t L, size_t D)
{
#pragma omp parallel for schedule(static) if (B * L * D > 65536)
    for (size_t b = 0; b < B; b++) {
        const float *gt = gate + b * ms;
        for (size_t l = 0; l < L; l++) {
            const float *g = dout + (b * L + l) * D, *yi = y + (b * L + l) * D;
            if (dx) {
                float *o = dx + (b * L + l) * D;
#pragma omp simd
                for (size_t d = 0; d < D; d++) o[d] += g[d];
            }
            if (dy) {
                float *o = dy + (b * L + l) * D;
#pragma omp simd
                for (size_t d = 0; d < D; d++) o[d] += gt[d] * g[d];
            }
            if (dgate)
#pragma omp simd
                for (size_t d = 0; d < D; d++) dgate[b * ms + d] += g[d] * yi[d];
        }
    }
}
