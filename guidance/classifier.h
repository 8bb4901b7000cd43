/* Noisy classifiers p_phi(y | z_t) for classifier-based guidance (docs/diffusion.md
 * "Classifier-based guidance", "Noisy classifiers").
 *
 * Weights apart from run state (docs/architecture.md "Weights and run contexts"), as for the DiT:
 *   clf_weights  config + the backbone's weights (one paramblock, read-only in forward and
 *                backward: share one between threads);
 *   clf_ctx      one caller's run state (backbone context, one-hot and gradient scratch); grows
 *                on demand. One per thread.
 * A backbone maps an input batch (ids (B,L), or a soft/one-hot input (B,L,V)) and sigma (B) to
 * class logits (B,C) and back; everything else here (log-softmax, the input gradient, the
 * training loss, guidance) is backbone-independent. Backbones are rows of one table
 * (clf_backbones[] in guidance/classifier.c): adding one is a clf_backbone in its own file plus
 * one line there. Backbone "dit" (guidance/classifier_dit.c): DiT blocks, mean over positions,
 * Linear(D, C) (the official DITClassifier, names `classifier_model.*`).
 *
 * Time conditioning: cfg.time_cond 1 means the classifier was trained on sigma_t and is fed it;
 * 0 (the default, also when the config has no "time_conditioning") means it is fed sigma = 0
 * whatever the caller passes (clf_* zero it before the backbone sees it).
 *
 * Usage:
 *     clf_weights *w; clf_load(&w, f, config_json, path);          // or clf_weights_create + init
 *     clf_ctx *c;     clf_ctx_create(&c, w);
 *     clf_log_probs(w, c, ids, sigma, B, L, logp);                  // (B,C) log p(y | z)
 *     clf_input_grad(w, c, ids, sigma, y, B, L, logp_y, grad);      // (B,L,V) d log p(y|z)/d onehot
 */
#ifndef STRAND_GUIDANCE_CLASSIFIER_H
#define STRAND_GUIDANCE_CLASSIFIER_H
#include <stddef.h>
#include <stdint.h>

#include "core/error.h"
#include "core/paramblock.h"
#include "core/safetensors.h"
#include "guidance/noise.h"
#include "strand.h"

#define CLF_BACKBONE_NAME 16

typedef struct clf_config {
    char backbone[CLF_BACKBONE_NAME]; /* "dit" (dnaclf: "bimamba") */
    int num_classes;                  /* C >= 2 */
    int vocab;                        /* V: the diffusion model's vocabulary (incl. [MASK]) */
    int length;                       /* L: the longest input (the model length) */
    diff_process proc;                /* the corruption it was trained on (masked | uniform) */
    int mask_id;                      /* masked process: [MASK] id */
    diff_schedule sched;              /* the schedule its training times went through */
    int time_cond;                    /* 1: fed sigma_t; 0: fed 0 */
    int clean;                        /* 1: trained at t = 0 only (an evaluation classifier) */
} clf_config;

/* One backbone: its weights (`bw`) and run context (`bctx`) are opaque to the generic code. */
typedef struct clf_backbone {
    const char *name;
    /* Weights declared for cfg + the backbone's own keys of the config JSON (json may be NULL:
     * defaults), zeroed. The paramblock must hold every trainable parameter (head included). */
    int (*create)(void **bw, const clf_config *cfg, const char *json);
    void (*free)(void *bw);
    void (*init)(void *bw, strand_rng *rng);
    int (*load)(void *bw, const sft_file *f);
    paramblock *(*params)(void *bw);
    /* The backbone's config keys as a JSON object text (malloc'ed), merged into the file's config. */
    char *(*config_json)(const void *bw);
    int (*ctx_create)(const void *bw, void **bctx);
    void (*ctx_free)(void *bctx);
    /* logits (B,C) from exactly one of ids (B,L) / soft (B,L,V) (kept referenced until backward),
     * sigma (B) (already zeroed when not time-conditioned; may be NULL = 0). */
    int (*forward)(const void *bw, void *bctx, const int32_t *ids, const float *soft, const float *sigma, size_t B,
                   size_t L, float *logits);
    /* From dlogits (B,C) of the context's last forward: grads += ∂/∂params (NULL: not wanted) and,
     * for a soft forward with dsoft != NULL, dsoft (B,L,V) += ∂/∂soft. */
    int (*backward)(const void *bw, void *bctx, const float *dlogits, float *dsoft, float *grads);
    /* Bytes of run context one input row of length L needs (the exact mode's memory bound). */
    size_t (*row_bytes)(const void *bw, size_t L);
} clf_backbone;

typedef struct clf_weights {
    clf_config cfg;
    const clf_backbone *bb;
    void *bw;
} clf_weights;

typedef struct clf_ctx {
    const clf_weights *w;
    void *bctx;
    size_t cap_b, cap_bl;
    float *logits, *dlogits, *soft, *sig; /* (B,C) (B,C) (B,L,V) (B) */
    st_errbuf err;
} clf_ctx;

/* The backbone table entry named `name`, or NULL. */
const clf_backbone *clf_backbone_find(const char *name);
/* For backbones: the tensor-name prefix of a backbone config JSON ("prefix"); `prefix` (size n)
 * keeps its default when json is NULL or has no string "prefix". */
void clf_backbone_prefix(const char *json, char *prefix, size_t n);
/* Backbone "dit", C 2, V 0 / L 0 (must be set), masked, mask id -1, log-linear, no time
 * conditioning, not clean. */
clf_config clf_default_config(void);
/* The classifier fields of a "strand.config" object: "kind" must be "classifier"; "backbone"
 * (default "dit"), "num_classes", "vocab_size", "model_length", "diffusion" (mdlm|udlm),
 * "mask_id", "noise", "time_conditioning" (absent = false), "clean". `what` names the file. */
int clf_config_from_json(clf_config *cfg, const char *json, const char *what);
/* The whole config JSON (generic + backbone keys, "kind": "classifier"), malloc'ed. */
char *clf_config_json(const clf_weights *w);

/* Declared (zeroed) weights for cfg; json: the backbone's keys (NULL: its defaults). */
int clf_weights_create(clf_weights **out, const clf_config *cfg, const char *json);
/* The same with a backbone that need not be in the table (tests, experiments). */
int clf_weights_create_with(clf_weights **out, const clf_config *cfg, const clf_backbone *bb, const char *json);
void clf_weights_free(clf_weights *w); /* accepts NULL */
void clf_init_weights(clf_weights *w, strand_rng *rng);
/* Weights from an open file and its config text (what: the path, for messages). */
int clf_load(clf_weights **out, const sft_file *f, const char *json, const char *what);
/* Load from a model path (core/model_path.h: a strand .safetensors[.zst] or a directory); *tok
 * (may be NULL) receives the tokenizer stored in the file, or NULL when there is none. */
int clf_load_path(clf_weights **out, const char *path, strand_tokenizer **tok);
paramblock *clf_params(clf_weights *w);
/* Save weights `params` (NULL: the live ones) with the config, the tokenizer (may be NULL) and
 * `extra` metadata pairs (NULL-terminated key, value list; may be NULL), atomically. */
int clf_save(const clf_weights *w, const float *params, const strand_tokenizer *tok, const char *const *extra,
             const char *path);

int clf_ctx_create(clf_ctx **out, const clf_weights *w);
void clf_ctx_free(clf_ctx *c); /* accepts NULL */

/* Raw class logits (B,C) / log-probabilities (B,C) of ids (B,L), 1 <= L <= cfg.length; ids in
 * [0,V). sigma (B) or NULL; ignored (0) without time conditioning. */
int clf_logits(const clf_weights *w, clf_ctx *c, const int32_t *ids, const float *sigma, size_t B, size_t L,
               float *logits);
int clf_log_probs(const clf_weights *w, clf_ctx *c, const int32_t *ids, const float *sigma, size_t B, size_t L,
                  float *logp);
/* log p(y_b | z_b) (B) and grad (B,L,V) = ∂ log p(y_b | onehot)/∂ onehot at onehot(z_b), through the
 * backbone's soft-input backward path (docs/diffusion.md "First-order CBG"). y (B) in [0,C). */
int clf_input_grad(const clf_weights *w, clf_ctx *c, const int32_t *ids, const float *sigma, const int32_t *y,
                   size_t B, size_t L, float *logp_y, float *grad);
/* The same for an arbitrary soft input (B,L,V) (finite-difference tests). */
int clf_soft_grad(const clf_weights *w, clf_ctx *c, const float *soft, const float *sigma, const int32_t *y, size_t B,
                  size_t L, float *logp_y, float *grad);
/* Bytes of run context one row of length L needs. */
size_t clf_row_bytes(const clf_weights *w, size_t L);
#endif
