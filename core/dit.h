/* DiT backbone of the diffusion models (docs/dit.md): token embedding (ids or a soft (B,L,N)
 * input), noise-level + optional label conditioning, `depth` pre-norm adaLN-Zero transformer blocks
 * with rotary attention, and an adaLN final layer giving raw logits (B,L,N).
 *
 * Weights apart from run state (docs/architecture.md "Weights and run contexts"):
 *   dit_weights  config + one paramblock under the published MDLM/UDLM checkpoint names
 *                (`<prefix>blocks.0.attn_qkv.weight`, prefix "backbone." by default) + the
 *                parameter indices. Read-only in forward and backward: share one between threads.
 *   dit_ctx      one caller's run state: the (B, L) of the last forward, activations, backward
 *                scratch. Grows on demand (a larger shape reallocates once, a smaller one reuses),
 *                so a shape that changes call to call costs no weight copies. One per thread.
 * Usage:
 *     dit_weights *w; dit_weights_create(&w, &cfg, NULL); dit_load(w, f);   // or dit_init_weights
 *     dit_ctx *c;     dit_ctx_create(&c, &w->cfg);
 *     dit_forward(w, c, ids, NULL, sigma, labels, B, L, logits);           // any B, L <= model_length
 *     pb_alloc_grads(&w->pb); pb_zero_grad(&w->pb);                        // training only
 *     dit_backward(w, c, dlogits, NULL, w->pb.grads);                      // accumulates (llm.c)
 * Guidance that needs only d/dsoft passes grads NULL (no parameter gradients are kept), so any
 * number of threads can differentiate through one shared dit_weights. */
#ifndef STRAND_CORE_DIT_H
#define STRAND_CORE_DIT_H
#include <stddef.h>
#include <stdint.h>

#include "core/arena.h"
#include "core/error.h"
#include "core/paramblock.h"
#include "core/safetensors.h"
#include "strand.h"

typedef struct dit_config {
    int vocab;        /* N */
    int dim;          /* D (hidden_dim) */
    int depth;        /* blocks (n_blocks) */
    int heads;        /* n_heads; D % heads == 0, head_dim even */
    int cond_dim;     /* conditioning width (128) */
    int time_cond;    /* 1: condition on sigma; 0: the network is fed sigma = 0 */
    int num_classes;  /* 0: no label conditioning; else the label table has num_classes + 1 rows
                         (the last is the null label of classifier-free guidance) */
    int model_length; /* longest sequence (L ≤ model_length) */
    int features_only; /* 1: no output layer (a classifier trunk): dit_forward's `logits` receives the
                          last residual stream (B,L,D) and dit_backward's `dlogits` is ∂/∂ of it */
} dit_config;

/* N 12, D 256, depth 6, heads 4, cond 128, time conditioning on, no labels, length 128. */
dit_config dit_default_config(void);
/* Fill cfg from a published config.json text (keys vocab_size, hidden_dim, n_blocks, n_heads,
 * cond_dim, model_length, time_conditioning, cfg, cfg_num_classes); missing keys keep cfg's values. */
int dit_config_from_json(dit_config *cfg, const char *json);

/* Per-block views into a context's activation block (shapes in comments; BL = B·L). */
typedef struct dit_block_acts {
    float *ln1, *mean1, *rstd1, *h1;  /* (BL,D) (BL) (BL) (BL,D) */
    float *qkv, *qr, *att, *ao, *ap;  /* (BL,3D) (BL,2D) (B,H,L,L) (BL,D) (BL,D) */
    float *xmid;                      /* (BL,D) residual after attention */
    float *ln2, *mean2, *rstd2, *h2;  /* (BL,D) (BL) (BL) (BL,D) */
    float *fpre, *fact, *mp;          /* (BL,4D) (BL,4D) (BL,D) */
    float *mod;                       /* (B,6D): shift1 scale1 gate1 shift2 scale2 gate2 */
} dit_block_acts;

typedef struct dit_block_params { int norm1, qkv, out, norm2, fc1w, fc1b, fc2w, fc2b, adaw, adab; } dit_block_params;

typedef struct dit_weights {
    dit_config cfg;
    paramblock pb;         /* params (grads only after pb_alloc_grads, for training) */
    char prefix[64];
    int p_embed, p_s0w, p_s0b, p_s2w, p_s2b, p_label; /* p_label -1 when num_classes == 0 */
    int p_fnorm, p_fw, p_fb, p_fadaw, p_fadab;
    dit_block_params *blk; /* [depth] */
} dit_weights;

typedef struct dit_ctx {
    dit_config cfg;          /* the dimensions it serves (a forward checks them against the weights) */
    const float *attn_mask;  /* (L,L) additive, or NULL (bidirectional); set by the caller (block diffusion) */
    size_t rope_period;      /* 0: rotary positions 0..L-1; P > 0: position i mod P and L <= 2·model_length
                                (block diffusion's concat(x_t, x_0) input, docs/bd3lm.md) */
    size_t rope_built;       /* the period the rotary tables were built for (internal) */
    size_t B, L;             /* shape of the current layout (0: none yet) */
    arena_block acts;        /* activations */
    arena_block grad_acts;   /* backward scratch */
    arena_block pgrad;       /* parameter-gradient sink for dit_backward(..., grads NULL) */
    size_t cap_ids, cap_labels;
    float *rope_cos, *rope_sin;              /* (L,hd) */
    float *x;             /* (depth+1, BL, D): residual stream before each block and after the last
                             (inference: (2, BL, D), block i reads slot i mod 2) */
    dit_block_acts *ba;   /* [depth] */
    float *freq, *sh, *sa, *temb, *lemb, *c; /* (B,256) (B,cond)… ; c = silu(temb) [+ silu(lemb)] */
    float *sig;           /* (B) the sigma actually fed */
    float *lnf, *meanf, *rstdf, *hf, *modf;  /* final layer: (BL,D) (BL) (BL) (BL,D) (B,2D) */
    int32_t *ids;         /* (BL) copy of the last forward's ids */
    int32_t *labels;      /* (B) labels actually used */
    const float *soft;    /* the last forward's soft input (must stay alive until backward) */
    int have_forward;
    int inference;        /* 1 (dit_ctx_create_inference): every block reuses one block's activations and
                             the residual stream has two slots; no backward */
    st_errbuf err;
} dit_ctx;

/* Declare the parameters (zeroed) under `prefix` (NULL: "backbone."); no gradient block. */
int dit_weights_create(dit_weights **out, const dit_config *cfg, const char *prefix);
/* The same without allocating: a caller may pb_add more entries (a classifier head) to w->pb, then
 * pb_alloc_params(&w->pb). The DiT ignores entries it did not declare. */
int dit_weights_declare(dit_weights **out, const dit_config *cfg, const char *prefix);
void dit_weights_free(dit_weights *w); /* accepts NULL */
/* Initialisation (docs/dit.md "Initialisation"): Linear weights U(±1/sqrt(fan_in)), biases 0, embedding
 * U(±1/sqrt(D)), label table N(0, 0.02), norms 1; adaLN modulation and the final linear zero. */
void dit_init_weights(dit_weights *w, strand_rng *rng);
/* Load every parameter from a checkpoint by name; `<prefix>rotary_emb.inv_freq` is optional but,
 * when present, must have head_dim/2 entries equal to 1/10000^(2j/head_dim). */
int dit_load(dit_weights *w, const sft_file *f);

/* A run context for weights of config cfg (nothing allocated until the first forward). */
int dit_ctx_create(dit_ctx **out, const dit_config *cfg);
/* The same for forwards only (samplers): one block's activations serve every block (1/depth of the
 * memory, and what a block writes is still in cache for the next); dit_backward refuses it. The
 * logits are the same bits as a dit_ctx_create context's. */
int dit_ctx_create_inference(dit_ctx **out, const dit_config *cfg);
void dit_ctx_free(dit_ctx *c); /* accepts NULL */
/* Lay out (allocating or growing when needed) activations for (B, L) (the backward scratch comes
 * with the first dit_backward);
 * 1 <= L <= model_length, else STRAND_E_SHAPE. A forward calls it; call it ahead to allocate early. */
int dit_ctx_reserve(dit_ctx *c, size_t B, size_t L);

/* logits (B,L,N) from ids (B,L) or soft (B,L,N) (exactly one non-NULL), sigma (B) (NULL: 0; ignored
 * without time conditioning) and labels (B) in [0, num_classes] (NULL: the null label; ignored
 * when num_classes == 0). Any shape with L <= model_length; the context grows as needed.
 * ids are copied; a soft input is only referenced: keep it unchanged until dit_backward.
 * c->attn_mask, when set, is an additive (L,L) mask used by every block (block diffusion);
 * c->rope_period P > 0 gives position i the rotary angle of i mod P. */
int dit_forward(const dit_weights *w, dit_ctx *c, const int32_t *ids, const float *soft, const float *sigma,
                const int32_t *labels, size_t B, size_t L, float *logits);
/* From dlogits (B,L,N) of the context's last forward: accumulates every parameter gradient into
 * grads (a block laid out like w->pb.params, e.g. w->pb.grads; NULL: parameter gradients are not
 * wanted) and, when the forward had a soft input and dsoft != NULL, dsoft (B,L,N) += ∂/∂soft. */
int dit_backward(const dit_weights *w, dit_ctx *c, const float *dlogits, float *dsoft, float *grads);
#endif
