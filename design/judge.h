/* Judging DNA samples (docs/design.md "Judging DNA samples"): the held-out real windows a
 * campaign's DNA model is compared with (k-mer JS, GC) and the clean classifier that assigns each
 * sample a class (class accuracy). A reference is a token shard (io/shards.h) that is not a
 * training split; a judge is a classifier trained at t = 0 (`strand train classifier --clean`). */
#ifndef STRAND_DESIGN_JUDGE_H
#define STRAND_DESIGN_JUDGE_H
#include <stddef.h>

#include "strand.h"

/* The windows of a DNA token shard decoded with tok (specials dropped), *n of them; *split gets the
 * shard's split (io/shards.h ST_SPLIT_*). Free with dz_strings_free. */
int dz_reference_read(const char *path, strand_tokenizer *tok, char ***seqs, size_t *n, unsigned *split);
void dz_strings_free(char **s, size_t n);
/* The judge's class (argmax of log p(y | x) at t = 0) and its probability for each sample, each
 * encoded with tok at its own length (the sequence as written to FASTA); an empty sample gets
 * class -1 and probability NaN. */
int dz_judge_predict(strand_classifier *judge, strand_tokenizer *tok, char *const *seqs, size_t n, int *pred,
                     double *prob);
#endif
