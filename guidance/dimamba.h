/* DiMamba (docs/dit.md "DiMamba"): the UDLM paper's DNA backbone. BiMamba blocks (core/bimamba.h,
 * "add" strategy, tied in/out projections) with adaLN conditioning on c = silu(TimestepMLP(sigma))
 * [+ silu(LabelTable[label])] (num_classes + 1 rows, the last = the null label), token-id or soft
 * (B,L,N) input, and one of two heads:
 *   n_out == 0  per-position logits (B,L,N): the diffusion denoiser (Linear D→N, no bias);
 *   n_out  > 0  a classifier: mean over L of the final features, Linear D→n_out with bias → (B,n_out)
 *               (the BiMamba noisy/clean classifier of docs/diffusion.md "Noisy classifiers").
 * Layer i (pre-norm, adaLN-Zero): (shift, scale, gate) = Linear_i(c) [3D, zero-initialised];
 *   x ← x + gate ⊙ BiMamba_i( RMSNorm_i(x)·(1 + scale) + shift ).
 * Final: f = RMSNorm_f(x)·(1 + scale_f) + shift_f, (shift_f, scale_f) = Linear_f(c) [2D, zero-init].
 *
 * Weights apart from run state, as core/dit.h: dimamba_weights (config, one paramblock under the
 * official DiMamba names, read-only in forward/backward: share between threads) and dimamba_ctx
 * (one caller's activations; grows on demand). A context made with backward = 0 keeps only one
 * layer's BiMamba activations (inference); backward = 1 keeps every layer's (training, guidance).
 * Usage:
 *     dimamba_weights *w; dimamba_weights_create(&w, &cfg, NULL); dimamba_load(w, f);  // or dimamba_init_weights
 *     dimamba_ctx *c;     dimamba_ctx_create(&c, &w->cfg, 1);
 *     dimamba_forward(w, c, ids, NULL, sigma, labels, B, L, out);
 *     dimamba_backward(w, c, dout, NULL, w->pb.grads);                                 // accumulates */
#ifndef STRAND_GUIDANCE_DIMAMBA_H
#define STRAND_GUIDANCE_DIMAMBA_H
#include <stddef.h>
#include <stdint.h>

#include "core/arena.h"
#include "core/bimamba.h"
#include "core/error.h"
#include "core/mamba.h"
#include "core/paramblock.h"
#include "core/safetensors.h"
#include "strand.h"

typedef struct dimamba_config {
    int vocab;        /* N */
    int dim;          /* D */
    int depth;        /* BiMamba blocks */
    int cond_dim;     /* conditioning width (128) */
    int time_cond;    /* 1: condition on sigma; 0: fed sigma = 0 */
    int num_classes;  /* 0: no label conditioning; else num_classes + 1 label rows (last = null) */
    int model_length; /* longest L accepted (the network itself has no positional limit) */
    int n_out;        /* 0: per-position LM head; > 0: pooled classifier head with n_out classes */
} dimamba_config;

/* N 12, D 128, depth 4, cond 128, time conditioning on, no labels, length 128, LM head. */
dimamba_config dimamba_default_config(void);
/* Keys vocab_size, hidden_dim, n_blocks, cond_dim, model_length, time_conditioning, cfg,
 * cfg_num_classes, num_outputs (the classifier head); missing keys keep cfg's values. */
int dimamba_config_from_json(dimamba_config *cfg, const char *json);

typedef struct dimamba_layer_params {
    int fwd[MAMBA_NPARAM], rev[MAMBA_NPARAM]; /* rev's in/out_proj -1 (tied) */
    int norm, adaw, adab;
    bimamba_params w; /* views into the weights */
} dimamba_layer_params;

typedef struct dimamba_weights {
    dimamba_config cfg;
    mamba_dims md;
    paramblock pb;
    char prefix[64]; /* "backbone." (denoiser) or "classifier_model." (classifier) by default */
    int p_embed, p_s0w, p_s0b, p_s2w, p_s2b, p_label; /* p_label -1 without label conditioning */
    int p_fnorm, p_fadaw, p_fadab, p_head, p_headb;    /* p_headb -1 for the LM head */
    dimamba_layer_params *ly; /* [depth] */
} dimamba_weights;

typedef struct dimamba_ctx {
    dimamba_config cfg;
    int backward;    /* 1: keep what dimamba_backward needs */
    size_t B, L;     /* current layout (0: none) */
    arena_block acts, grad_acts, pgrad;
    mamba_dims md;
    float *x;        /* (depth+1, BL, D) residual stream */
    float *rstd;     /* (depth, BL) */
    float *nrm;      /* (depth, BL, D) RMSNorm output */
    float *h;        /* (depth, BL, D) modulated: BiMamba input */
    float *y;        /* (depth, BL, D) BiMamba output */
    float *mod;      /* (depth, B, 3D) shift scale gate */
    bimamba_acts *ba; /* [depth] (backward) or [1] */
    float *freq, *sh, *sa, *temb, *lemb, *c, *sig;
    float *rstdf, *nf, *hf, *modf, *pool; /* final: (BL) (BL,D) (BL,D) (B,2D) (B,D) */
    int32_t *ids, *labels;
    size_t cap_ids, cap_labels;
    const float *soft;
    int have_forward;
    st_errbuf err;
} dimamba_ctx;

/* Declare the parameters (zeroed) under prefix (NULL: "backbone." for the LM head,
 * "classifier_model." for a classifier). Names (docs/dit.md "DiMamba"): <prefix>sigma_map.mlp.{0,2}.*,
 * <prefix>cond_map.embedding_table.weight, trunk <prefix>model.bimamba.backbone. (classifier:
 * <prefix>model.backbone.) + embeddings.word_embeddings.weight, layers.{i}.norm.weight,
 * layers.{i}.adaLN_modulation.*, layers.{i}.mixer.mamba_{fwd,rev}.*, adaLN_modulation_final.*,
 * norm_f.weight; head <prefix>model.lm_head.weight or <prefix>output_layer.{weight,bias}. */
int dimamba_weights_create(dimamba_weights **out, const dimamba_config *cfg, const char *prefix);
void dimamba_weights_free(dimamba_weights *w); /* accepts NULL */
/* Embedding and label table N(0, 0.02); Mamba blocks docs/mamba.md "Initialisation"; sigma MLP and
 * heads U(±1/sqrt(fan_in)), biases 0; norms 1; every adaLN Linear zero. */
void dimamba_init_weights(dimamba_weights *w, strand_rng *rng);
int dimamba_load(dimamba_weights *w, const sft_file *f);

int dimamba_ctx_create(dimamba_ctx **out, const dimamba_config *cfg, int backward);
void dimamba_ctx_free(dimamba_ctx *c); /* accepts NULL */
int dimamba_ctx_reserve(dimamba_ctx *c, size_t B, size_t L);
/* Floats a context of (B, L) holds (activations, plus the backward scratch when backward). */
size_t dimamba_ctx_floats(const dimamba_config *cfg, size_t B, size_t L, int backward);

/* out: (B,L,N) logits (LM head) or (B,n_out) class logits, from ids (B,L) or soft (B,L,N) (exactly
 * one; a soft input is referenced until backward), sigma (B) (NULL: 0; ignored without time
 * conditioning), labels (B) in [0, num_classes] (NULL: null label; ignored without labels). */
int dimamba_forward(const dimamba_weights *w, dimamba_ctx *c, const int32_t *ids, const float *soft,
                    const float *sigma, const int32_t *labels, size_t B, size_t L, float *out);
/* From dout (the shape of the last forward's out): accumulates every parameter gradient into grads
 * (laid out as w->pb.params; NULL: not wanted) and, after a soft forward, dsoft (B,L,N) when not NULL.
 * Needs a context made with backward = 1. */
int dimamba_backward(const dimamba_weights *w, dimamba_ctx *c, const float *dout, float *dsoft, float *grads);
#endif
