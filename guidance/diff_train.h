/* Diffusion models on a backbone (the DiT of core/dit.h or DiMamba, guidance/dimamba.h; docs/diffusion.md
 * "Backbones"): the process description kept with a model, the training step
 * (time sampling, corruption, label dropout, forward, loss, backward) as a core/train.h model,
 * the Monte-Carlo NELBO, the deterministic per-token loss, and model files
 * (docs/diffusion.md "Training", "Evaluation", "Model files"). */
#ifndef STRAND_GUIDANCE_DIFF_TRAIN_H
#define STRAND_GUIDANCE_DIFF_TRAIN_H
#include <stddef.h>
#include <stdint.h>

#include "core/dit.h"
#include "core/safetensors.h"
#include "guidance/diff_data.h"
#include "guidance/dimamba.h"
#include "guidance/loss.h"
#include "guidance/sampler.h"
#include "strand.h"

/* A backbone with its diffusion process. The network is fed diff_model_sigma(t) (0 without time
 * conditioning); labels in [0, num_classes], num_classes = the null label. Exactly one backbone
 * is set: the DiT (w, ctx) or DiMamba (mw, mctx); the code below dispatches on which, so the
 * trainer, NELBO, per-token loss, files and the sampler adapter serve both. */
typedef struct diff_model {
    dit_weights *w;      /* DiT backbone or NULL; owned unless borrowed; read-only in forward/backward */
    dimamba_weights *mw; /* DiMamba backbone or NULL; same rules */
    int borrowed;        /* 1: the weights belong to someone else (diff_model_wrap*) */
    dit_ctx *ctx;        /* this thread's DiT run state (grows on demand) */
    dimamba_ctx *mctx;   /* this thread's DiMamba run state (kept for backward) */
    diff_loss_spec spec; /* process, schedule, vocab, mask id, T */
} diff_model;

/* The backbone's dimensions, whichever it is. */
typedef struct diff_model_dims {
    int vocab, num_classes, time_cond;
    size_t model_length;
} diff_model_dims;
diff_model_dims diff_model_get_dims(const diff_model *m);
/* The backbone's parameters (what the optimiser, EMA and files see). */
paramblock *diff_model_params(const diff_model *m);
/* "dit" or "dimamba". */
const char *diff_model_backbone(const diff_model *m);

/* A model over weights owned elsewhere (a strand_model's): process from the config JSON (as in
 * diff_spec_from_json) and a fresh context; diff_model_free leaves the weights alone. */
int diff_model_wrap(diff_model *m, const dit_weights *w, const char *config_json);
int diff_model_wrap_dimamba(diff_model *m, const dimamba_weights *w, const char *config_json);
/* Weights declared for cfg (zeroed; prefix "backbone.") and a fresh context. */
int diff_model_create(diff_model *net, const dit_config *cfg, const diff_loss_spec *spec);
int diff_model_create_dimamba(diff_model *net, const dimamba_config *cfg, const diff_loss_spec *spec);

/* The "strand.config" fields beyond the DiT's: "diffusion" ("mdlm"/"udlm"; HF model_type as
 * fallback), "noise" ("loglinear"/"cosine"), "T", "mask_id". Missing keys: udlm -> time
 * conditioned uniform; mdlm -> masked with mask_id = vocab - 1 when not given (the HF MDLM
 * convention: the mask token is the last id). */
int diff_spec_from_json(diff_loss_spec *spec, const char *json, int vocab);
/* JSON of the DiT config + diffusion fields (malloc'ed). */
char *diff_config_json(const dit_config *cfg, const diff_loss_spec *spec);
/* The same for the model's own backbone ("kind": "dit" or "dimamba"). */
char *diff_model_config_json(const diff_model *m);

/* The backbone a diffusion config names: "kind" "dimamba" -> 1, anything else (the DiT, HF
 * MDLM/UDLM configs) -> 0. */
int diff_config_is_dimamba(const char *json);

/* Load a diffusion model (DiT or DiMamba by the config's "kind"): a strand .safetensors[.zst] with "strand.config", or a HF directory
 * (config.json + model.safetensors[.zst]). *tok (may be NULL) receives the tokenizer stored in
 * the file's metadata, or NULL when there is none (HF directories). */
int diff_model_load(diff_model *net, const char *path, strand_tokenizer **tok);
void diff_model_free(diff_model *net);
/* Save weights `params` (NULL: the live ones) with config, tokenizer and `extra` metadata pairs
 * (NULL-terminated key, value list; may be NULL), atomically. */
int diff_model_save(const diff_model *net, const float *params, const strand_tokenizer *tok, const char *const *extra,
                  const char *path);
/* The same with the "strand.config" JSON given (NULL: diff_config_json's), e.g. a BD3-LM config. */
int diff_model_save_json(const diff_model *net, const float *params, const char *config_json, const strand_tokenizer *tok,
                         const char *const *extra, const char *path);

/* The sampler's network interface (guidance/sampler.h diff_net) over this model's weights: `net`
 * references m->w (keep m alive); each sampler thread gets its own dit_ctx. Also fills p's
 * process fields (proc, sched, mask_id) when p is not NULL. */
void diff_model_net(const diff_model *m, diff_net *net, diff_sampler_params *p);

/* logits (B,L,N) for z_t at times t (B) with labels (B; NULL = null label). */
int diff_model_logits(diff_model *net, const int32_t *zt, const double *t, const int32_t *labels, size_t B, size_t L,
                    float *logits);
/* Per-token loss terms (B,L) for exactly these x0, z_t, t, labels: no randomness. */
int diff_model_per_token(diff_model *net, const int32_t *x0, const int32_t *zt, const double *t, const int32_t *labels,
                       size_t B, size_t L, float *loss);

/* Monte-Carlo NELBO: for sequence i, K samples with times stratified over [eps_t, 1) and
 * corruption drawn from an RNG seeded by (seed, i), so a sequence's estimate does not depend on
 * its batch or position in the file. nelbo[i] = mean over samples of the sum over its L tokens
 * (nats per sequence). Rows go through the network exactly `batch` at a time (a short last batch is
 * padded), so pick batch <= n*K for small sets. labels NULL: null label. */
int diff_nelbo(diff_model *net, const int32_t *ids, const int32_t *labels, size_t n, size_t L, int K, uint64_t seed,
               size_t batch, double *nelbo);

/* ---- training ---- */
typedef struct diff_trainer {
    diff_model *net;
    double label_dropout; /* 0.1: labels replaced by the null label with this probability */
    int antithetic;       /* 1: stratified times over the batch */
    size_t B, L;
    int32_t *zt, *lab;
    double *t;
    float *logits, *dlogits, *loss;
    /* validation: NELBO per token over val (n_val rows; 0 = all), K samples, fixed seed */
    const diff_seqs *val;
    size_t val_rows;
    int val_samples;
    uint64_t val_seed;
} diff_trainer;

int diff_trainer_init(diff_trainer *tr, diff_model *net, size_t B, size_t L);
void diff_trainer_free(diff_trainer *tr);
/* core/train.h callbacks (user = diff_trainer). RNG order per batch: B times, then for each
 * sequence its corruption draws, then B label-dropout draws. */
int diff_trainer_fb(void *user, const int32_t *ids, const int32_t *labels, size_t B, size_t L, strand_rng *rng,
                    float *loss);
int diff_trainer_validate(void *user, float *val_loss);
#endif
