/* Library-internal views of a strand_model for other api/ files (never in include/). */
#ifndef STRAND_API_MODEL_INTERNAL_H
#define STRAND_API_MODEL_INTERNAL_H
#include "core/dit.h"
#include "strand.h"

/* The model's DiT weights (read-only, shareable between threads), or NULL for other kinds. */
const dit_weights *st_model_dit_weights(const strand_model *m);
#endif
