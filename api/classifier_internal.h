/* Library-internal view of a strand_classifier for other api/ files (never in include/): the guided
 * sampler hands its read-only weights to guidance/cbg. */
#ifndef STRAND_API_CLASSIFIER_INTERNAL_H
#define STRAND_API_CLASSIFIER_INTERNAL_H
#include "guidance/classifier.h"
#include "strand.h"

const clf_weights *st_classifier_weights(const strand_classifier *c);
#endif
