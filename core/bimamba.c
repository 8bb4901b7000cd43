/* BiMamba (docs/mamba.md "BiMamba"): one in_proj GEMM, two inner passes, one out_proj GEMM. */
#include "core/bimamba.h"

#include <string.h>

#ifdef _OPENMP
#include <omp.h>
#endif

#include "core/linear.h"
#include "core/gemm.h"

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
    gemm_nt(a->xz, 2 * di, u, D, w->fwd.p[MAMBA_IN_PROJ], BL, 2 * di, D, 0);
    flip_L(a->xzr, a->xz, B, L, 2 * di);
    mamba_inner_forward(a->o, &a->cf, a->xz, &w->fwd, d, B, L);
    mamba_inner_forward(a->orv, &a->cr, a->xzr, &w->rev, d, B, L);
    for (size_t b = 0; b < B; b++)
        for (size_t t = 0; t < L; t++) {
            float *o = a->o + (b * L + t) * di;
            const float *r = a->orv + (b * L + L - 1 - t) * di;
            for (size_t j = 0; j < di; j++) o[j] += r[j];
        }
    gemm_nt(out, D, a->o, di, w->fwd.p[MAMBA_OUT_PROJ], BL, D, di, 0);
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

/* ---- cache-blocked inner passes (inference) --------------------------------------------------- */
/* The inner forward is six passes over its rows (conv + SiLU, x_proj, dt_proj, softplus, scan,
 * gate), each reading and writing B·L rows of d_inner floats. Past a few hundred rows that streams
 * through memory once per pass (measured on the bundled d=64 model at B=1 PS: 6.0 µs/token at L=513,
 * 9.8 µs at L=2560, 12.3 µs at L=4097). Blocks of one sequence's rows with the conv history and
 * scan state carried across them (mamba_inner_forward_rows) keep a block's working set in L2;
 * with the row-independent GEMM the result is the unblocked one bit for bit. */
static size_t g_block_rows; /* 0: from BIMAMBA_BLOCK_BYTES */

void bimamba_set_block_rows(size_t rows) { g_block_rows = rows; }

size_t bimamba_block_rows(const mamba_dims *d)
{
    if (g_block_rows) return g_block_rows;
    /* per row: xz (2 di), xc, Δ, y, o (di each) and [δ | B | C] */
    size_t row = (6 * d->d_inner + d->dt_rank + 2 * d->d_state) * sizeof(float);
    size_t r = BIMAMBA_BLOCK_BYTES / row;
    /* at least 192 rows: shorter blocks pay more per call (weight packing, scan state loads) than
     * they save (measured: d=256 at 48 rows 20% slower than unblocked, at 192 rows 9% faster) */
    r = r < 192 ? 192 : r > 1024 ? 1024 : r;
    return r - r % 12; /* whole 12-row tiles of core/gemm.c */
}

/* Blocks only with the row-independent GEMM (so that blocked == unblocked bit for bit and the
 * choice below cannot change a result) and where the passes would not be split over threads anyway
 * (inside a parallel region, e.g. the sequence groups of caduceus inference or VEP workers, or
 * one thread): elsewhere the unblocked passes use every thread per pass. */
static int use_blocks(const mamba_dims *d, size_t L)
{
    if (L <= bimamba_block_rows(d) || !gemm_own()) return 0; /* OpenBLAS: bits depend on M */
#ifdef _OPENMP
    return omp_in_parallel() || omp_get_max_threads() == 1;
#else
    return 1;
#endif
}

/* o (B,L,di) ← inner(xz (B,L,2di)) of rows [0, L) of each sequence, block by block; conv_x
 * (B,K−1,di) and h (B,di,Ns) carry the state (fresh: the sequences start here; else they hold the
 * state before row 0). c must already be prepared (mamba_inner_prepare). */
static void inner_blocks(float *o, mamba_cache *c, const float *xz, float *conv_x, float *h, int fresh,
                         const mamba_params *inner, const mamba_dims *d, size_t B, size_t L)
{
    size_t di = d->d_inner, R = bimamba_block_rows(d), K = d->d_conv, ns = d->d_state;
    for (size_t b = 0; b < B; b++)
        for (size_t t0 = 0; t0 < L; t0 += R) {
            size_t n = L - t0 < R ? L - t0 : R;
            mamba_inner_forward_rows(o + (b * L + t0) * di, c, xz + (b * L + t0) * 2 * di, conv_x + b * (K - 1) * di,
                                     h + b * di * ns, fresh && t0 == 0, inner, d, 1, n);
        }
}

/* bimamba_forward's arithmetic (in_proj and out_proj once) block by block on the tile working set:
 * the forward direction runs in_proj and its inner passes on each block while the rows are hot
 * (xz stays in memory for the reverse direction); the reverse direction flips a block of xz,
 * runs its inner passes, adds into o and runs out_proj on the rows that are then complete. Every
 * row gets the same operations as in bimamba_forward, so with the row-independent GEMM the
 * output is bimamba_forward's bit for bit. */
static void forward_blocked(float *out, bimamba_tile_acts *a, const float *u, const bimamba_params *w,
                            const mamba_dims *d, size_t B, size_t L)
{
    size_t D = d->D, di = d->d_inner, R = bimamba_block_rows(d), K = d->d_conv, ns = d->d_state;
    mamba_inner_prepare(&a->c, &w->fwd, d);
    for (size_t b = 0; b < B; b++)
        for (size_t t0 = 0; t0 < L; t0 += R) {
            size_t n = L - t0 < R ? L - t0 : R, r0 = b * L + t0;
            gemm_nt(a->xz + r0 * 2 * di, 2 * di, u + r0 * D, D, w->fwd.p[MAMBA_IN_PROJ], n, 2 * di, D, 0);
            mamba_inner_forward_rows(a->o + r0 * di, &a->c, a->xz + r0 * 2 * di, a->conv_x + b * (K - 1) * di,
                                     a->h + b * di * ns, t0 == 0, &w->fwd, d, 1, n);
        }
    mamba_inner_prepare(&a->c, &w->rev, d);
    for (size_t b = 0; b < B; b++)
        for (size_t t0 = 0; t0 < L; t0 += R) { /* reversed rows [t0, t0+n) = sequence rows (L−t0−n, L−t0] */
            size_t n = L - t0 < R ? L - t0 : R, r0 = b * L + t0, s0 = b * L + (L - t0 - n);
            float *xr = a->xzr + r0 * 2 * di, *orv = a->orv + r0 * di;
            for (size_t j = 0; j < n; j++)
                memcpy(xr + j * 2 * di, a->xz + (b * L + L - 1 - t0 - j) * 2 * di, 2 * di * sizeof(float));
            mamba_inner_forward_rows(orv, &a->c, xr, a->conv_x + b * (K - 1) * di, a->h + b * di * ns, t0 == 0,
                                     &w->rev, d, 1, n);
            for (size_t j = 0; j < n; j++) {
                float *o = a->o + (b * L + L - 1 - t0 - j) * di;
                const float *r = orv + j * di;
                for (size_t k = 0; k < di; k++) o[k] += r[k];
            }
            gemm_nt(out + s0 * D, D, a->o + s0 * di, di, w->fwd.p[MAMBA_OUT_PROJ], n, D, di, 0);
        }
}

/* One direction over all tiles. rev: walk from the end with the tile rows reversed; add into out
 * when acc (else write out). */
static void tiled_direction(float *out, bimamba_tile_acts *a, const float *u, const mamba_params *inner,
                            const bimamba_params *w, const mamba_dims *d, size_t B, size_t L, int rev, int acc)
{
    size_t D = d->D, di = d->d_inner, T = a->T;
    int blocks = use_blocks(d, T);
    memset(a->conv_x, 0, B * (d->d_conv - 1) * di * sizeof(float));
    memset(a->h, 0, B * di * d->d_state * sizeof(float));
    mamba_inner_prepare(&a->c, inner, d);
    for (size_t done = 0; done < L; done += T) {
        size_t n = L - done < T ? L - done : T;
        /* rows of this tile in sequence order: [t0, t0+n); rev visits them backwards */
        size_t t0 = rev ? L - done - n : done;
        for (size_t b = 0; b < B; b++)
            for (size_t j = 0; j < n; j++) {
                size_t t = rev ? t0 + n - 1 - j : t0 + j;
                memcpy(a->ut + (b * n + j) * D, u + (b * L + t) * D, D * sizeof(float));
            }
        gemm_nt(a->xz, 2 * di, a->ut, D, w->fwd.p[MAMBA_IN_PROJ], B * n, 2 * di, D, 0);
        if (blocks) inner_blocks(a->o, &a->c, a->xz, a->conv_x, a->h, done == 0, inner, d, B, n);
        else mamba_inner_forward_rows(a->o, &a->c, a->xz, a->conv_x, a->h, done == 0, inner, d, B, n);
        gemm_nt(a->yt, D, a->o, di, w->fwd.p[MAMBA_OUT_PROJ], B * n, D, di, 0);
        for (size_t b = 0; b < B; b++)
            for (size_t j = 0; j < n; j++) {
                size_t t = rev ? t0 + n - 1 - j : t0 + j;
                float *dst = out + (b * L + t) * D;
                const float *src = a->yt + (b * n + j) * D;
                if (acc)
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
    if (L <= a->T) { /* one tile: bimamba_forward's arithmetic (in_proj and out_proj once) on the tile's memory */
        if (use_blocks(d, L)) {
            forward_blocked(out, a, u, w, d, B, L);
            return;
        }
        bimamba_acts one = {a->xz, a->xzr, a->o, a->orv, a->c, a->c};
        bimamba_forward(out, &one, u, w, d, B, L);
        return;
    }
    tiled_direction(out, a, u, &w->fwd, w, d, B, L, 0, 0);
    tiled_direction(out, a, u, &w->rev, w, d, B, L, 1, 1);
}

void bimamba_forward_tiled_dir(float *out, bimamba_tile_acts *a, const float *u, const bimamba_params *w,
                               const mamba_dims *d, size_t B, size_t L, int rev)
{
    tiled_direction(out, a, u, rev ? &w->rev : &w->fwd, w, d, B, L, rev != 0, 0);
}
