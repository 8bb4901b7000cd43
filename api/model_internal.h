/* Library-internal views of a strand_model for other api/ files (never in include/): the glue of
 * the samplers hands these read-only weights to guidance/ code, so every sampler thread shares one
 * weights object with its own run context (docs/architecture.md "Weights and run contexts"). */
#ifndef STRAND_API_MODEL_INTERNAL_H
#define STRAND_API_MODEL_INTERNAL_H
#include "caduceus/caduceus.h"
#include "core/dit.h"
#include "guidance/classifier.h"
#include "guidance/diff_train.h"
#include "guidance/dimamba.h"
#include "guidance/loss.h"
#include "strand.h"

/* The model's DiT weights (read-only, shareable between threads), or NULL for other kinds. */
const dit_weights *st_model_dit_weights(const strand_model *m);
/* The model's DiMamba weights (kind "dimamba"), or NULL for other kinds. */
const dimamba_weights *st_model_dimamba_weights(const strand_model *m);
/* A diff_model over the model's shared weights (DiT or DiMamba) with its own run context, for a
 * model with a diffusion config; STRAND_E_UNSUPPORTED (message naming the kind) otherwise.
 * Free with diff_model_free (the weights stay the model's). */
int st_model_diff_wrap(const strand_model *m, diff_model *dm);
/* The diffusion process kept from the config (process, schedule, mask id, T), or NULL when the
 * model is not a DiT diffusion model (a plain "dit" file without "diffusion", Caduceus). */
const diff_loss_spec *st_model_diffusion(const strand_model *m);
/* The model's Caduceus weights, or NULL for other kinds. */
const caduceus_weights *st_model_caduceus_weights(const strand_model *m);
/* The model's classifier weights (kind "classifier"), or NULL for other kinds. */
const clf_weights *st_model_classifier(const strand_model *m);
#endif
