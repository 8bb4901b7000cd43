/* Library-internal views of a strand_model for other api/ files (never in include/): the glue of
 * the samplers hands these read-only weights to guidance/ code, so every sampler thread shares one
 * weights object with its own run context (docs/architecture.md "Weights and run contexts"). */
#ifndef STRAND_API_MODEL_INTERNAL_H
#define STRAND_API_MODEL_INTERNAL_H
#include "caduceus/caduceus.h"
#include "core/dit.h"
#include "guidance/classifier.h"
#include "guidance/loss.h"
#include "strand.h"

/* The model's DiT weights (read-only, shareable between threads), or NULL for other kinds. */
const dit_weights *st_model_dit_weights(const strand_model *m);
/* The diffusion process kept from the config (process, schedule, mask id, T), or NULL when the
 * model is not a DiT diffusion model (a plain "dit" file without "diffusion", Caduceus). */
const diff_loss_spec *st_model_diffusion(const strand_model *m);
/* The model's Caduceus weights, or NULL for other kinds. */
const caduceus_weights *st_model_caduceus_weights(const strand_model *m);
/* The model's classifier weights (kind "classifier"), or NULL for other kinds. */
const clf_weights *st_model_classifier(const strand_model *m);
#endif
