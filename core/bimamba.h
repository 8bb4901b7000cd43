/* BiMamba (docs/mamba.md "BiMamba", "add" strategy): mamba_fwd(u) + flip_L(mamba_rev(flip_L(u))) with
 * mamba_rev's in_proj/out_proj tied to mamba_fwd's. Because in_proj has no bias its reverse
 * output is flip_L of the forward one, so in_proj runs once; out_proj runs once on
 * o_fwd + flip_L(o_rev). Backward accumulates; the tied projections get both directions'
 * gradients in mamba_fwd's slots. */
#ifndef STRAND_CORE_BIMAMBA_H
#define STRAND_CORE_BIMAMBA_H
#include <stddef.h>

#include "core/mamba.h"

typedef struct bimamba_params {
    mamba_params fwd, rev; /* rev.p[MAMBA_IN_PROJ/OUT_PROJ] unused (tied to fwd) */
} bimamba_params;

typedef struct bimamba_acts {
    float *xz;  /* (B,L,2di) in_proj output */
    float *xzr; /* (B,L,2di) flip_L(xz) */
    float *o;   /* (B,L,di)  o_fwd + flip_L(o_rev): out_proj's input */
    float *orv; /* (B,L,di)  o_rev */
    mamba_cache cf, cr; /* at inference cr shares cf's memory (the directions run one after the other) */
} bimamba_acts;

/* Layout (core/arena.h), its size, and the layout over `mem` of that many floats. */
void bimamba_acts_layout(bimamba_acts *a, arena *ar, const mamba_dims *d, size_t B, size_t L, int training);
size_t bimamba_acts_floats(const mamba_dims *d, size_t B, size_t L, int training);
void bimamba_acts_point(bimamba_acts *a, float *mem, const mamba_dims *d, size_t B, size_t L, int training);

/* out (B,L,D) from u (B,L,D). */
void bimamba_forward(float *out, bimamba_acts *a, const float *u, const bimamba_params *w, const mamba_dims *d,
                     size_t B, size_t L);
size_t bimamba_backward_scratch_floats(const mamba_dims *d, size_t B, size_t L);
/* Accumulates du (B,L,D) (may be NULL) and g. 0 or STRAND_E_*. */
int bimamba_backward(float *du, const bimamba_params *g, const float *dout, const float *u, const bimamba_acts *a,
                     const bimamba_params *w, const mamba_dims *d, size_t B, size_t L, float *scratch);

/* Inference in tiles along L (O(B·T·d_inner) memory instead of O(B·L·d_inner)). The forward
 * direction walks the tiles from the start, the reverse one from the end, each carrying its
 * last K−1 conv inputs and scan state h across tiles (mamba_inner_forward_carry). in_proj runs
 * per tile for each direction and out_proj is applied per direction (by linearity of out_proj:
 * W(o_fwd + flip o_rev) = W o_fwd + flip W o_rev), so nothing of width d_inner spans L. */
typedef struct bimamba_tile_acts {
    size_t B, T;
    float *ut;     /* (B,T,D)   tile of u (reversed for the reverse direction) */
    float *xz;     /* (B,T,2di) */
    float *xzr;    /* (B,T,2di) one tile only: flip_L(xz) */
    float *o;      /* (B,T,di) */
    float *orv;    /* (B,T,di)  one tile only: o_rev */
    float *yt;     /* (B,T,D)   out_proj of o */
    float *conv_x; /* (B,K-1,di) */
    float *h;      /* (B,di,Ns) */
    mamba_cache c; /* inference cache for (B,T) */
} bimamba_tile_acts;

void bimamba_tile_layout(bimamba_tile_acts *a, arena *ar, const mamba_dims *d, size_t B, size_t T);
size_t bimamba_tile_floats(const mamba_dims *d, size_t B, size_t T);
void bimamba_tile_point(bimamba_tile_acts *a, float *mem, const mamba_dims *d, size_t B, size_t T);
/* out (B,L,D) from u (B,L,D), same result as bimamba_forward up to rounding (≤ 1e-6 relative);
 * when L <= a->T (one tile) it is bimamba_forward, bit for bit (in_proj and out_proj once). */
void bimamba_forward_tiled(float *out, bimamba_tile_acts *a, const float *u, const bimamba_params *w,
                           const mamba_dims *d, size_t B, size_t L);
/* One direction of the many-tile path alone (rev 0: forward, 1: reverse): out (B,L,D) = that
 * direction's out_proj term, so that two workers can run the directions of one sequence at once.
 * For L > a->T, bimamba_forward_tiled's out is fwd + rev of these, bit for bit (one addition). */
void bimamba_forward_tiled_dir(float *out, bimamba_tile_acts *a, const float *u, const bimamba_params *w,
                               const mamba_dims *d, size_t B, size_t L, int rev);

/* Inference runs the inner passes of a direction in blocks of this many rows of one sequence
 * (core/bimamba.c "cache-blocked inner passes") when a block is shorter than the sequence and
 * the passes are not split over threads; the bytes of a block's working set: */
#define BIMAMBA_BLOCK_BYTES (1280u << 10)
size_t bimamba_block_rows(const mamba_dims *d);
/* Tests and benchmarks: force the block length (0: from BIMAMBA_BLOCK_BYTES). Not thread-safe. */
void bimamba_set_block_rows(size_t rows);

/* dst (B,L,C) = flip along L of src; dst != src. */
void flip_L(float *dst, const float *src, size_t B, size_t L, size_t C);
#endif
