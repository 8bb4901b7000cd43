/* BiMamba (docs/mamba.md "BiMamba"): one in_proj GEMM, two inner passes, one out_proj GEMM. */
#include "core/bimamba.h"

#include <string.h>

#include "core/linear.h"
#include "core/mamba_gemm.h"

void flip_L(float *dst, const float *src, size_t B, size_t L, size_t C)
{
    for (size_t b = 0; b < B; b++)
        for (size_t t = 0; t < L; t++)
            memcpy(dst + (b * L + t) * C, src + (b * L + L - 1 - t) * C, C * sizeof(float));
}

void bimamba_acts_layout(bimamba_acts *a, arena *ar, const mamba_dims *d, size_t B, size_t L, int training)
{
    size_t BL = B * L, di = d->d_inner;
    a->xz = arena_take(ar, BL * 2 * di);
    a->xzr = arena_take(ar, BL * 2 * di);
    a->o = arena_take(ar, BL * di);
    a->orv = arena_take(ar, BL * di);
    mamba_cache_layout(&a->cf, ar, d, B, L, training);
    if (training) mamba_cache_layout(&a->cr, ar, d, B, L, training);
    else a->cr = a->cf; /* the directions run one after the other */
}

size_t bimamba_acts_floats(const mamba_dims *d, size_t B, size_t L, int training)
{
    bimamba_acts a;
    arena ar = arena_count();
    bimamba_acts_layout(&a, &ar, d, B, L, training);
    return ar.used;
}

void bimamba_acts_point(bimamba_acts *a, float *mem, const mamba_dims *d, size_t B, size_t L, int training)
{
    arena ar = arena_on(mem);
    bimamba_acts_layout(a, &ar, d, B, L, training);
}

void bimamba_forward(float *out, bimamba_acts *a, const float *u, const bimamba_params *w, const mamba_dims *d,
                     size_t B, size_t L)
{
    size_t BL = B * L, D = d->D, di = d->d_inner;
    mamba_linear_forward(a->xz, u, w->fwd.p[MAMBA_IN_PROJ], BL, D, 2 * di);
    flip_L(a->xzr, a->xz, B, L, 2 * di);
    mamba_inner_forward(a->o, &a->cf, a->xz, &w->fwd, d, B, L);
    mamba_inner_forward(a->orv, &a->cr, a->xzr, &w->rev, d, B, L);
    for (size_t b = 0; b < B; b++)
        for (size_t t = 0; t < L; t++) {
            float *o = a->o + (b * L + t) * di;
            const float *r = a->orv + (b * L + L - 1 - t) * di;
            for (size_t j = 0; j < di; j++) o[j] += r[j];
        }
    mamba_linear_forward(out, a->o, w->fwd.p[MAMBA_OUT_PROJ], BL, di, D);
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

/* ---- tiled inference -------------------------------------------------------------------------- */
void bimamba_tile_layout(bimamba_tile_acts *a, arena *ar, const mamba_dims *d, size_t B, size_t T)
{
    size_t BT = B * T, D = d->D, di = d->d_inner;
    a->B = B, a->T = T;
    a->ut = arena_take(ar, BT * D);
    a->xz = arena_take(ar, BT * 2 * di);
    a->xzr = arena_take(ar, BT * 2 * di);
    a->o = arena_take(ar, BT * di);
    a->orv = arena_take(ar, BT * di);
    a->yt = arena_take(ar, BT * D);
    a->conv_x = arena_take(ar, B * (d->d_conv - 1) * di);
    a->h = arena_take(ar, B * di * d->d_state);
    mamba_cache_layout(&a->c, ar, d, B, T, 0);
}

size_t bimamba_tile_floats(const mamba_dims *d, size_t B, size_t T)
{
    bimamba_tile_acts a;
    arena ar = arena_count();
    bimamba_tile_layout(&a, &ar, d, B, T);
    return ar.used;
}

void bimamba_tile_point(bimamba_tile_acts *a, float *mem, const mamba_dims *d, size_t B, size_t T)
{
    arena ar = arena_on(mem);
    bimamba_tile_layout(a, &ar, d, B, T);
}

/* One direction over all tiles. rev: walk from the end with the tile rows reversed and add into out. */
static void tiled_direction(float *out, bimamba_tile_acts *a, const float *u, const mamba_params *inner,
                            const bimamba_params *w, const mamba_dims *d, size_t B, size_t L, int rev)
{
    size_t D = d->D, di = d->d_inner, T = a->T;
    memset(a->conv_x, 0, B * (d->d_conv - 1) * di * sizeof(float));
    memset(a->h, 0, B * di * d->d_state * sizeof(float));
    for (size_t done = 0; done < L; done += T) {
        size_t n = L - done < T ? L - done : T;
        /* rows of this tile in sequence order: [t0, t0+n); rev visits them backwards */
        size_t t0 = rev ? L - done - n : done;
        for (size_t b = 0; b < B; b++)
            for (size_t j = 0; j < n; j++) {
                size_t t = rev ? t0 + n - 1 - j : t0 + j;
                memcpy(a->ut + (b * n + j) * D, u + (b * L + t) * D, D * sizeof(float));
            }
        mamba_linear_forward(a->xz, a->ut, w->fwd.p[MAMBA_IN_PROJ], B * n, D, 2 * di);
        mamba_inner_forward_carry(a->o, &a->c, a->xz, a->conv_x, a->h, inner, d, B, n);
        mamba_linear_forward(a->yt, a->o, w->fwd.p[MAMBA_OUT_PROJ], B * n, di, D);
        for (size_t b = 0; b < B; b++)
            for (size_t j = 0; j < n; j++) {
                size_t t = rev ? t0 + n - 1 - j : t0 + j;
                float *dst = out + (b * L + t) * D;
                const float *src = a->yt + (b * n + j) * D;
                if (rev)
                    for (size_t k = 0; k < D; k++) dst[k] += src[k];
                else
                    memcpy(dst, src, D * sizeof(float));
            }
    }
}

void bimamba_forward_tiled(float *out, bimamba_tile_acts *a, const float *u, const bimamba_params *w,
                           const mamba_dims *d, size_t B, size_t L)
{
    // out (B,L,D), u (B,L,D); a sized for B sequences and tiles of a->T rows
    if (L <= a->T) { /* one tile: bimamba_forward itself (in_proj and out_proj once) on the tile's memory */
        bimamba_acts one = {a->xz, a->xzr, a->o, a->orv, a->c, a->c};
        bimamba_forward(out, &one, u, w, d, B, L);
        return;
    }
    tiled_direction(out, a, u, &w->fwd, w, d, B, L, 0);
    tiled_direction(out, a, u, &w->rev, w, d, B, L, 1);
}
