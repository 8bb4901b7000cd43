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

#include "caduceus/bimamba.h"
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
    bimamba_params w, g;                       /* bound pointers */
} caduceus_layer;

typedef struct caduceus_model {
    caduceus_config cfg;
    mamba_dims md;
    paramblock pb; /* names without the "caduceus.backbone." prefix */
    int emb, norm_f;
    caduceus_layer *layers;
    st_errbuf err;
    /* activations, sized by the last forward (see caduceus_forward) */
    struct caduceus_acts *acts;
    /* CADUCEUS_INFER runs BiMamba in tiles of this many positions (0: CADUCEUS_INFER_TILE) */
    size_t infer_tile;
} caduceus_model;

/* Declare and allocate (params + grads, zeroed). 0 or STRAND_E_*. */
int caduceus_create(caduceus_model **out, const caduceus_config *cfg);
void caduceus_free(caduceus_model *m);
/* Initialisation of docs/mamba.md "Initialisation" (embeddings N(0, 0.02), norms 1). */
void caduceus_init_weights(caduceus_model *m, uint64_t seed);
size_t caduceus_param_count(const caduceus_model *m);
/* pb index of a parameter by its published name (without prefix), or -1. */
int caduceus_find(const caduceus_model *m, const char *name);

enum {
    CADUCEUS_TRAIN = 1, /* keep activations for caduceus_backward (PH: no conjoining) */
    CADUCEUS_INFER = 0  /* O(L·D) memory; PH is post-hoc conjoined (x and rc(x) averaged) */
};

/* ids (B,L) token ids < vocab. Any output may be NULL:
 *   logits (B,L,vocab); embed (B,L,D) per-position (PS: strand-collapsed; PH: conjoined at
 *   inference, plain in training); pooled (B,D) = mean over L of embed.
 * Activations are (re)allocated when (B, L, mode) differs from the previous call. */
int caduceus_forward(caduceus_model *m, const int32_t *ids, size_t B, size_t L, int mode, float *logits,
                     float *embed, float *pooled);
/* Floats of activation memory caduceus_forward allocates for (B, L, mode) with the default tile.
 * At inference this is O(B·L·D) (X, U, T, Y, F of both strands) + O(tile·d_inner): no buffer of
 * width d_inner or d_state grows with L. */
size_t caduceus_activation_floats(const caduceus_config *c, size_t B, size_t L, int mode);
/* After a CADUCEUS_TRAIN forward: accumulate parameter gradients from dlogits (B,L,vocab). */
int caduceus_backward(caduceus_model *m, const float *dlogits);

/* Masked-LM cross-entropy, mean over positions with targets[i] >= 0 (others ignored).
 * dlogits (may be NULL) receives d loss / d logits (overwritten). Returns the loss (0 when no
 * position is selected). */
double caduceus_mlm_loss(const float *logits, const int32_t *targets, size_t B, size_t L, size_t V,
                         float *dlogits);

/* ---- checkpoints (caduceus/caduceus_io.c) ---- */
/* HF directory (config.json + model.safetensors), an HF model.safetensors next to its config.json,
 * or a strand checkpoint (config in metadata "strand.config"). Tied tensors are aliased, the
 * complement map is read from the int64 complement_map tensors. */
int caduceus_load(caduceus_model **out, const char *path);
/* Load from an open file with a given config (used by tests and caduceus_load). */
int caduceus_load_from(caduceus_model **out, const caduceus_config *cfg, const sft_file *f);
/* Parse an HF config.json text (or strand's "strand.config") into cfg; complement map left as is. */
int caduceus_config_from_json(caduceus_config *cfg, const char *json, const char *what);
/* strand checkpoint: published names (tied tensors absent), complement maps, "strand.config". */
int caduceus_save(const caduceus_model *m, const char *path);
#endif
