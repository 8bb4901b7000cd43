/* BiMamba, SPEC §3.1: one in_proj GEMM, two inner passes, one out_proj GEMM. */
#include "caduceus/bimamba.h"

#include <string.h>

#include "core/linear.h"

void flip_L(float *dst, const float *src, size_t B, size_t L, size_t C)
{
    for (size_t b = 0; b < B; b++)
        for (size_t t = 0; t < L; t++)
            memcpy(dst + (b * L + t) * C, src + (b * L + L - 1 - t) * C, C * sizeof(float));
}

size_t bimamba_acts_floats(const mamba_dims *d, size_t B, size_t L, int training)
{
    size_t BL = B * L, di = d->d_inner;
    return BL * 6 * di + mamba_cache_floats(d, B, L, training) * (training ? 2 : 1);
}

void bimamba_acts_point(bimamba_acts *a, float *mem, const mamba_dims *d, size_t B, size_t L, int training)
{
    size_t BL = B * L, di = d->d_inner;
    a->xz = mem, mem += BL * 2 * di;
    a->xzr = mem, mem += BL * 2 * di;
    a->o = mem, mem += BL * di;
    a->orv = mem, mem += BL * di;
    mamba_cache_point(&a->cf, mem, d, B, L, training);
    if (training) mem += mamba_cache_floats(d, B, L, 1);
    mamba_cache_point(&a->cr, mem, d, B, L, training);
}

void bimamba_forward(float *out, bimamba_acts *a, const float *u, const bimamba_params *w, const mamba_dims *d,
                     size_t B, size_t L)
{
    size_t BL = B * L, D = d->D, di = d->d_inner;
    linear_forward(a->xz, u, w->fwd.p[MAMBA_IN_PROJ], NULL, BL, D, 2 * di);
    flip_L(a->xzr, a->xz, B, L, 2 * di);
    mamba_inner_forward(a->o, &a->cf, a->xz, &w->fwd, d, B, L);
    mamba_inner_forward(a->orv, &a->cr, a->xzr, &w->rev, d, B, L);
    for (size_t b = 0; b < B; b++)
        for (size_t t = 0; t < L; t++) {
            float *o = a->o + (b * L + t) * di;
            const float *r = a->orv + (b * L + L - 1 - t) * di;
            for (size_t j = 0; j < di; j++) o[j] += r[j];
        }
    linear_forward(out, a->o, w->fwd.p[MAMBA_OUT_PROJ], NULL, BL, di, D);
}

size_t bimamba_backward_scratch_floats(const mamba_dims *d, size_t B, size_t L)
{
    return B * L * 6 * d->d_inner + mamba_inner_scratch_floats(d, B, L);
}

int bimamba_backward(float *du, const bimamba_params *g, const float *dout, const float *u, const bimamba_acts *a,
                     const bimamba_params *w, const mamba_dims *d, size_t B, size_t L, float *scratch)
{
    size_t BL = B * L, D = d->D, di = d->d_inner;
    float *dO = scratch, *dOr = dO + BL * di, *dxz = dOr + BL * di, *dxzr = dxz + BL * 2 * di;
    float *rest = dxzr + BL * 2 * di;
    memset(dO, 0, BL * di * sizeof(float));
    linear_backward(dO, g->fwd.p[MAMBA_OUT_PROJ], NULL, dout, a->o, w->fwd.p[MAMBA_OUT_PROJ], BL, di, D);
    flip_L(dOr, dO, B, L, di);
    memset(dxz, 0, BL * 4 * di * sizeof(float));
    int rc = mamba_inner_backward(dxz, &g->fwd, dO, &a->cf, a->xz, &w->fwd, d, B, L, rest);
    if (rc == 0) rc = mamba_inner_backward(dxzr, &g->rev, dOr, &a->cr, a->xzr, &w->rev, d, B, L, rest);
    if (rc < 0) return rc;
    for (size_t b = 0; b < B; b++)
        for (size_t t = 0; t < L; t++) {
            float *x = dxz + (b * L + t) * 2 * di;
            const float *r = dxzr + (b * L + L - 1 - t) * 2 * di;
            for (size_t j = 0; j < 2 * di; j++) x[j] += r[j];
        }
    linear_backward(du, g->fwd.p[MAMBA_IN_PROJ], NULL, dxz, u, w->fwd.p[MAMBA_IN_PROJ], BL, D, 2 * di);
    return 0;
}
