/* Mamba (selective state space) block (docs/mamba.md): forward, backward, recurrent step.
 *
 * The block is split so that BiMamba (core/bimamba.c) can share the projections:
 *   mamba_forward  = in_proj (linear) → mamba_inner_forward → out_proj (linear)
 *   mamba_inner_*  = causal depthwise conv + SiLU, x_proj, dt_proj + softplus, selective scan
 *                    with the D skip, SiLU gate:  xz (B,L,2·d_inner) → o (B,L,d_inner).
 * Weights use PyTorch layouts and the published tensor names (mamba_param_names).
 * Backward passes accumulate (+=) into gradients and input gradients.
 *
 * Scan kernels (core/mamba_scan.c): mamba_scan_ref_* are plain loops over the formulas of docs/mamba.md "The selective scan" that
 * keep every state h_t; mamba_scan_forward/backward are the fast ones (channel blocks in
 * parallel, a vectorisable loop over the 16 states, a polynomial exp) that in training keep h only
 * at chunk boundaries and recompute inside each chunk during backward. At inference nothing of
 * size L·d_inner·d_state is allocated. */
#ifndef STRAND_CORE_MAMBA_H
#define STRAND_CORE_MAMBA_H
#include <stddef.h>

#include "core/arena.h"
#include "core/paramblock.h"
#include "strand.h"

#define MAMBA_D_STATE 16 /* docs/mamba.md "Sizes and parameters": N_s; the fast kernels are written for exactly 16 */
#define MAMBA_D_CONV 4
#define MAMBA_CHUNK_DEFAULT 256
/* Below this many (token × channel) elements a call runs single-threaded: OpenMP start-up and
 * barriers cost more than the work (and hurt badly on an oversubscribed machine). */
#define MAMBA_PAR_MIN 32768

typedef struct mamba_dims {
    size_t D;       /* model width */
    size_t d_inner; /* 2·D */
    size_t d_state; /* 16 */
    size_t dt_rank; /* ceil(D/16) */
    size_t d_conv;  /* 4 */
    size_t chunk;   /* training: keep h every `chunk` steps (>= 1) */
} mamba_dims;

/* Dims for width D with the defaults of docs/mamba.md "Sizes and parameters" (expand 2, d_state 16, dt_rank auto, conv 4). */
void mamba_dims_default(mamba_dims *d, size_t D);

enum {
    MAMBA_IN_PROJ,  /* in_proj.weight  [2·di, D]        */
    MAMBA_CONV_W,   /* conv1d.weight   [di, 1, K]       */
    MAMBA_CONV_B,   /* conv1d.bias     [di]             */
    MAMBA_X_PROJ,   /* x_proj.weight   [R + 2·Ns, di]   rows dt | B | C */
    MAMBA_DT_W,     /* dt_proj.weight  [di, R]          */
    MAMBA_DT_B,     /* dt_proj.bias    [di]             */
    MAMBA_A_LOG,    /* A_log           [di, Ns]         */
    MAMBA_DSKIP,    /* D               [di]             */
    MAMBA_OUT_PROJ, /* out_proj.weight [D, di]          */
    MAMBA_NPARAM
};
extern const char *const mamba_param_names[MAMBA_NPARAM];

/* Pointers to one block's tensors (weights or gradients), indexed by the enum above. */
typedef struct mamba_params {
    float *p[MAMBA_NPARAM];
} mamba_params;

/* Shape of tensor `k` (returns ndim, fills shape). */
int mamba_param_shape(const mamba_dims *d, int k, int64_t shape[4]);
/* Declare the block's tensors in `pb` as prefix+name. with_inout == 0 skips in_proj/out_proj
 * (a tied reverse direction). idx[k] receives the entry index, or -1 when skipped. */
int mamba_declare(paramblock *pb, const char *prefix, const mamba_dims *d, int with_inout,
                  int idx[MAMBA_NPARAM]);
/* Point w (and g when not NULL) at the block's tensors after pb_alloc. Skipped entries stay NULL. */
void mamba_bind(mamba_params *w, mamba_params *g, const paramblock *pb, const int idx[MAMBA_NPARAM]);
/* docs/mamba.md "Initialisation" of one block's tensors (skipped entries untouched). out_proj is
 * rescaled by 1/sqrt(n_layer). */
void mamba_init(const mamba_params *w, const mamba_dims *d, int n_layer, strand_rng *rng);

/* Activations of mamba_inner_forward kept for backward. At inference (training == 0) xcp, dtp and
 * hck are NULL; xc, dbc, delta, y and A are still used as working space (O(B·L·d_inner)). */
typedef struct mamba_cache {
    float *A;     /* (di, Ns)        −exp(A_log) */
    float *convT; /* (K, di)         conv1d.weight transposed */
    float *xcp;   /* (B, L, di)      conv output before SiLU */
    float *xc;    /* (B, L, di)      after SiLU: the scan input */
    float *dbc;   /* (B, L, R+2Ns)   x_proj output: dt_low | B | C */
    float *dtp;   /* (B, L, di)      before softplus */
    float *delta; /* (B, L, di)      Δ */
    float *y;     /* (B, L, di)      scan output incl. the D skip */
    float *hck;   /* (B, nchunk, di, Ns) h before each chunk (training) */
} mamba_cache;

size_t mamba_nchunk(const mamba_dims *d, size_t L);
/* The one layout of a cache (core/arena.h): carve its views from `a` (counting when a->base is NULL). */
void mamba_cache_layout(mamba_cache *c, arena *a, const mamba_dims *d, size_t B, size_t L, int training);
/* Floats mamba_cache_layout takes, and the layout over `mem` of that many floats. */
size_t mamba_cache_floats(const mamba_dims *d, size_t B, size_t L, int training);
void mamba_cache_point(mamba_cache *c, float *mem, const mamba_dims *d, size_t B, size_t L, int training);
/* Scratch floats mamba_inner_backward needs. */
size_t mamba_inner_scratch_floats(const mamba_dims *d, size_t B, size_t L);

/* o (B,L,di) ← inner(xz (B,L,2di)). Uses only the inner tensors of w. */
void mamba_inner_forward(float *o, mamba_cache *c, const float *xz, const mamba_params *w,
                         const mamba_dims *d, size_t B, size_t L);
/* Inference on a piece (tile) of longer sequences: o (B,L,di) ← inner(xz (B,L,2di)) where xz
 * holds positions [t0, t0+L) of each sequence. conv_x (B, K−1, di): the K−1 conv inputs (the x
 * half of xz) before t0, oldest first; ssm_h (B, di, Ns): the scan state before t0. Both are
 * updated to the state after the piece; zero both before the first piece. Pieces in order give
 * mamba_inner_forward's output of the whole sequence. c: an inference cache for (B, L). */
void mamba_inner_forward_carry(float *o, mamba_cache *c, const float *xz, float *conv_x, float *ssm_h,
                               const mamba_params *w, const mamba_dims *d, size_t B, size_t L);
/* mamba_inner_forward_carry in two steps, for callers that run many pieces with one w:
 * mamba_inner_prepare sets the per-weight constants of c (A = −exp(A_log), the transposed conv
 * weight), mamba_inner_forward_rows runs one piece on them. fresh != 0: the piece starts the
 * sequences (conv_x and ssm_h are ignored on input and set on output), with mamba_inner_forward's
 * arithmetic: pieces in order from a fresh one give its output bit for bit when the projections
 * run the row-independent GEMM (core/gemm.h). */
void mamba_inner_prepare(mamba_cache *c, const mamba_params *w, const mamba_dims *d);
void mamba_inner_forward_rows(float *o, mamba_cache *c, const float *xz, float *conv_x, float *ssm_h, int fresh,
                              const mamba_params *w, const mamba_dims *d, size_t B, size_t L);
/* Accumulates dxz (B,L,2di) and the inner gradients of g (NULL entries skipped). */
int mamba_inner_backward(float *dxz, const mamba_params *g, const float *dout, const mamba_cache *c,
                          const float *xz, const mamba_params *w, const mamba_dims *d, size_t B, size_t L,
                          float *scratch);

/* The whole block. out (B,L,D); xz (B,L,2di) and o (B,L,di) are kept for backward. */
void mamba_forward(float *out, float *xz, float *o, mamba_cache *c, const float *u, const mamba_params *w,
                   const mamba_dims *d, size_t B, size_t L);
/* Accumulates du (B,L,D) (may be NULL) and g. scratch: mamba_backward_scratch_floats floats. */
size_t mamba_backward_scratch_floats(const mamba_dims *d, size_t B, size_t L);
int mamba_backward(float *du, const mamba_params *g, const float *dout, const float *u, const float *xz,
                    const float *o, const mamba_cache *c, const mamba_params *w, const mamba_dims *d, size_t B,
                    size_t L, float *scratch);

/* Recurrent (token-by-token) form of mamba_forward, for generation and as a test oracle.
 * conv_state (B, di, K−1): the last K−1 conv inputs, oldest first; ssm_state (B, di, Ns).
 * Zero both before the first token. out (B,D), u (B,D). scratch: mamba_step_scratch_floats. */
size_t mamba_step_scratch_floats(const mamba_dims *d, size_t B);
void mamba_step(float *out, float *conv_state, float *ssm_state, const float *u, const mamba_params *w,
                const mamba_dims *d, size_t B, float *scratch);

/* ---- scan kernels (core/mamba_scan.c) -------------------------------------------------------
 * x, delta, y (B,L,di); A (di,Ns); BC points at B_t (C_t = BC + Ns) inside rows of `bc_stride`
 * floats; Dskip (di). y_t[c] = Σ_n C_t[n]·h_t[c,n] + D[c]·x_t[c]. */
typedef struct mamba_scan_dims {
    size_t B, L, di, ns, bc_stride, chunk;
} mamba_scan_dims;

/* Naive reference. hs (B,L,di,Ns) receives every h_t. */
void mamba_scan_ref_forward(float *y, float *hs, const float *x, const float *delta, const float *A,
                            const float *BC, const float *Dskip, const mamba_scan_dims *s);
/* Accumulates dx, ddelta (B,L,di), dA (di,Ns), dBC (strided like BC), dD (di) from dy. */
void mamba_scan_ref_backward(float *dx, float *ddelta, float *dA, float *dBC, float *dD, const float *dy,
                             const float *hs, const float *x, const float *delta, const float *A,
                             const float *BC, const float *Dskip, const mamba_scan_dims *s);
/* Fast forward; hck (B, nchunk, di, Ns) receives h before each chunk when not NULL. Ns must be 16. */
void mamba_scan_forward(float *y, float *hck, const float *x, const float *delta, const float *A,
                        const float *BC, const float *Dskip, const mamba_scan_dims *s);
/* Inference piece of a longer sequence: like mamba_scan_forward (no checkpoints) but the state
 * h (B, di, Ns) holds h before x's first step on entry and h after its last step on return.
 * Zero h before the first piece; pieces in order reproduce the whole-sequence scan exactly. */
void mamba_scan_forward_carry(float *y, float *h, const float *x, const float *delta, const float *A,
                              const float *BC, const float *Dskip, const mamba_scan_dims *s);
/* Fast backward from the chunk checkpoints (recomputes h inside each chunk). Accumulates.
 * Returns 0 or STRAND_E_NOMEM (per-thread work space: threads·(B·L·32 + 2·chunk·8·16) floats). */
int mamba_scan_backward(float *dx, float *ddelta, float *dA, float *dBC, float *dD, const float *dy,
                         const float *hck, const float *x, const float *delta, const float *A,
                         const float *BC, const float *Dskip, const mamba_scan_dims *s);

/* The scan's vectorisable exp (Cody–Waite reduction + degree-7 polynomial): relative error
 * ≤ 1e-6 against expf on [−87, 88]; returns 0 below −87.3 (tests/test_mamba.c checks both). */
void mamba_exp_array(float *out, const float *in, size_t n);
#endif
