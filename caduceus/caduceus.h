/* Caduceus-PH and Caduceus-PS (docs/caduceus.md): embedding, BiMamba layers with the pre-norm
 * residual, norm_f, tied LM head; forward, backward, masked-LM loss; HF/strand checkpoints.
 *
 * Both variants run in "strand space": a batch of nseq sequences of width D.
 *   PH:  nseq = B (training / raw logits) or 2B = [x ; rc(x)] (inference, post-hoc conjoined).
 *   PS:  nseq = 2B. The published 2D-wide hidden state [A | Bf] is held as A (strand of x) and
 *        rc(Bf) (a sequence of its own, the strand of rc(x)). The published per-layer
 *        "S = H + R; R = swap(S); X1 = norm(R[:, :D]); X2 = norm(rc(R[:, D:]))" then becomes
 *        X = rcswap(T) = [rc(T_b) ; rc(T_a)],  T ← X + BiMamba(RMSNorm(X)),
 *        i.e. the half swap is exactly this permutation, and both strands share the weights.
 *        The strand of rc(x) starts as the embedding of rc(x); the LM head sums
 *        E·F_a[t] + E[comp]·F_b[L−1−t] (docs/caduceus.md "LM head").
 * The per-position strand-collapsed embedding is (F_a[t] + F_b[L−1−t]) / 2, site-aligned, so
 * embed(rc x) = flip_L(embed(x)); its mean over L equals the published (out[:, :D] + flip_L,c
 * (out[:, D:]))/2 pooled (docs/caduceus.md "Strand-collapsed embedding" says why flip_L is dropped per position).
 */
#ifndef STRAND_CADUCEUS_CADUCEUS_H
#define STRAND_CADUCEUS_CADUCEUS_H
#include <stddef.h>
#include <stdint.h>

#include "core/bimamba.h"
#include "core/arena.h"
#include "core/error.h"
#include "core/paramblock.h"
#include "core/safetensors.h"

#define CADUCEUS_VOCAB 16
#define CADUCEUS_PREFIX "caduceus.backbone."
#define CADUCEUS_INFER_TILE 4096 /* default BiMamba tile along L at inference */

typedef struct caduceus_config {
    int d_model, n_layer, vocab; /* vocab: the padded 16 */
    int rcps;                    /* 1: Caduceus-PS, 0: Caduceus-PH */
    float eps;                   /* RMSNorm epsilon, 1e-5 */
    int64_t comp[CADUCEUS_VOCAB]; /* complement map in token space (docs/tokenizers.md "Complement and reverse complement") */
    int train_len;               /* sequence length it was trained on (metadata
                                  * "strand.train_seq_len"; 0 unknown); VEP's default window */
} caduceus_config;

/* d_model 256, 4 layers, PS, the DNA complement map (docs/tokenizers.md "Complement and reverse complement"). */
void caduceus_default_config(caduceus_config *c);

typedef struct caduceus_layer {
    int norm;                                  /* pb index of layers.{i}.norm.weight */
    int fwd[MAMBA_NPARAM], rev[MAMBA_NPARAM];  /* pb indices (rev in/out = -1: tied) */
    bimamba_params w;                          /* bound parameter pointers */
} caduceus_layer;

/* Weights apart from run state (docs/architecture.md "Weights and run contexts"):
 * caduceus_weights is read-only after loading (forward and backward take it const) and may be
 * shared by any number of threads; each thread runs its own caduceus_ctx. */
typedef struct caduceus_weights {
    caduceus_config cfg;
    mamba_dims md;
    paramblock pb; /* names without the "caduceus.backbone." prefix; grads only after pb_alloc_grads */
    int emb, norm_f;
    caduceus_layer *layers;
} caduceus_weights;

/* One caller's run state: the layout of the last forward (B, L, mode), its activations (one
 * block, grown on demand, re-pointed when the shape changes) and the gradient views of the last
 * backward. */
typedef struct caduceus_ctx {
    caduceus_config cfg;  /* the dimensions it serves (checked against the weights) */
    mamba_dims md;
    /* CADUCEUS_INFER runs BiMamba in tiles of this many positions (0: CADUCEUS_INFER_TILE) */
    size_t infer_tile;
    size_t B, L, nseq, gseq, tile; /* current layout (B == 0: none); gseq: sequences per BiMamba call */
    size_t nw;                     /* inference: workers, each with its own tile working set (taw) */
    int mode, two;
    arena_block mem;
    int32_t *ids;                  /* (B,L) copy for the embedding backward */
    size_t cap_ids;
    float **X, **U, **rstd;        /* [n_layer]: per layer (training) or [0] shared (inference) */
    bimamba_acts *ba;              /* [n_layer] (training) */
    bimamba_tile_acts *taw;        /* inference [nw]: BiMamba in tiles of `tile` positions */
    float *T, *Y, *rstdf, *F, *G;
    float *scratch;                /* backward: dT dX dU dF (nseq·L·D each), dG (nseq·L·V), BiMamba scratch */
    bimamba_params *g;             /* [n_layer] gradient views, bound by each backward */
    st_errbuf err;
} caduceus_ctx;

/* Declare and allocate the parameters (zeroed; no gradient block: a trainer calls
 * pb_alloc_grads(&w->pb)). 0 or STRAND_E_*. */
int caduceus_create(caduceus_weights **out, const caduceus_config *cfg);
void caduceus_free(caduceus_weights *w);
/* Initialisation of docs/mamba.md "Initialisation" (embeddings N(0, 0.02), norms 1). */
void caduceus_init_weights(caduceus_weights *w, uint64_t seed);
size_t caduceus_param_count(const caduceus_weights *w);
/* pb index of a parameter by its published name (without prefix), or -1. */
int caduceus_find(const caduceus_weights *w, const char *name);

/* A run context for weights of config cfg (activations come with the first forward). */
int caduceus_ctx_create(caduceus_ctx **out, const caduceus_config *cfg);
void caduceus_ctx_free(caduceus_ctx *c); /* accepts NULL */

enum {
    CADUCEUS_TRAIN = 1, /* keep activations for caduceus_backward (PH: no conjoining) */
    CADUCEUS_INFER = 0, /* O(L·D) memory; PH is post-hoc conjoined (x and rc(x) averaged) */
    CADUCEUS_INFER_RAW = 2 /* O(L·D) memory, the network's raw output: PH runs x alone (what the HF
                            * model's logits are); PS is the same as CADUCEUS_INFER */
};

/* ids (B,L) token ids < vocab. Any output may be NULL:
 *   logits (B,L,vocab); embed (B,L,D) per-position (PS: strand-collapsed; PH: conjoined at
 *   inference, plain in training); pooled (B,D) = mean over L of embed.
 * The context is laid out again when (B, L, mode, tile) differs from its previous call; its
 * block grows only when the new layout needs more. */
int caduceus_forward(const caduceus_weights *w, caduceus_ctx *c, const int32_t *ids, size_t B, size_t L, int mode,
                     float *logits, float *embed, float *pooled);
/* Floats of activation memory caduceus_forward lays out for (B, L, mode) with the default tile.
 * At inference this is O(B·L·D) (X, U, T, Y, F of both strands) + O(tile·d_inner): no buffer of
 * width d_inner or d_state grows with L. */
size_t caduceus_activation_floats(const caduceus_config *c, size_t B, size_t L, int mode);
/* After a CADUCEUS_TRAIN forward in c: accumulate parameter gradients from dlogits (B,L,vocab)
 * into grads, a block laid out like w->pb.params (a trainer passes w->pb.grads). */
int caduceus_backward(const caduceus_weights *w, caduceus_ctx *c, const float *dlogits, float *grads);

/* Masked-LM cross-entropy (core/softmax.h crossentropy_*), mean over positions with
 * targets[i] >= 0; targets -1 are ignored (any other negative or >= V is an error: NAN).
 * dlogits (may be NULL) += d loss / d logits (accumulates, like every backward). Returns the loss
 * (0 when no position is selected). */
double caduceus_mlm_loss(const float *logits, const int32_t *targets, size_t B, size_t L, size_t V,
                         float *dlogits);

/* ---- checkpoints (caduceus/caduceus_io.c) ---- */
/* HF directory (config.json + model.safetensors), an HF model.safetensors next to its config.json,
 * or a strand checkpoint (config in metadata "strand.config"). Tied tensors are aliased, the
 * complement map is read from the int64 complement_map tensors. */
int caduceus_load(caduceus_weights **out, const char *path);
/* Load from an open file with a given config (used by tests, caduceus_load and strand_model);
 * train_len comes from the "strand.train_seq_len" metadata when cfg has none. */
int caduceus_load_from(caduceus_weights **out, const caduceus_config *cfg, const sft_file *f);
/* Parse an HF config.json text (or strand's "strand.config") into cfg; complement map left as is. */
int caduceus_config_from_json(caduceus_config *cfg, const char *json, const char *what);
/* strand checkpoint: published names (tied tensors absent), complement maps, "strand.config". */
int caduceus_save(const caduceus_weights *w, const char *path);
#endif
