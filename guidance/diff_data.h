/* Training and evaluation data of the diffusion models (docs/diffusion.md "Training data"):
 * a set of fixed-length id sequences with an optional class label each, read from
 *   - a SMILES table (.smi/.csv/.tsv, io/table.h): each SMILES becomes <bos> tokens <eos> <pad>...
 *     of exactly L ids; the label is an integer column, or a numeric property column turned into
 *     classes by a threshold (class 1 = value >= threshold, 0 = below; the threshold is the
 *     training set's q-quantile, e.g. q = 0.9 for "top decile = 1");
 *   - DNA window shards (io/shards.h), each shard with one label (the species), every record cut
 *     into record_len / L sub-windows of L ids.
 * and a train_source over such a set in core/train_order.h's order: a fresh permutation per epoch
 * drawn from (seed, epoch), the cursor {epoch, position}, so a resumed run continues the stream
 * exactly. */
#ifndef STRAND_GUIDANCE_DIFF_DATA_H
#define STRAND_GUIDANCE_DIFF_DATA_H
#include <stddef.h>
#include <stdint.h>

#include "core/train.h"
#include "core/train_order.h"
#include "strand.h"

typedef struct diff_seqs {
    int32_t *ids;    /* (n, L) */
    int32_t *labels; /* (n) class per sequence, or NULL (no labels) */
    double *value;   /* (n) the property a label came from, or NULL */
    size_t n, L, cap;
} diff_seqs;

void diff_seqs_free(diff_seqs *s);
/* Append one sequence (L ids) with its label (ignored when the set has no labels). */
int diff_seqs_push(diff_seqs *s, const int32_t *ids, int32_t label, double value);

typedef struct diff_table_opts {
    const char *smiles_col;  /* NULL: "smiles" or column 1 (io/table.h) */
    const char *label_col;   /* integer class column, or NULL */
    const char *prop_col;    /* numeric property column (with threshold), or NULL */
    int skip_bad;            /* 1: skip (and count) rows that do not tokenise / fit / parse */
    size_t max_rows;         /* 0: all */
} diff_table_opts;

/* Read a SMILES table into `out` (L ids each, tokenised with tok). Rows that do not tokenise,
 * contain a token outside tok's vocabulary, exceed L, or have a bad label/property: an error
 * naming file and line, or (skip_bad) counted in *n_skipped. With prop_col, out->value holds the
 * property and out->labels is left NULL until diff_seqs_threshold. */
int diff_seqs_from_table(const char *path, const diff_table_opts *o, strand_tokenizer *tok, size_t L,
                         diff_seqs *out, size_t *n_skipped);
/* The SMILES strings of a table column (for building a tokenizer from the training data):
 * *smiles (n) malloc'ed strings. Rows past max_rows (0: all) are not read. */
int diff_table_smiles(const char *path, const char *smiles_col, size_t max_rows, char ***smiles, size_t *n);
/* Split off the last `n_val` sequences of s into val (s keeps the first n - n_val). */
int diff_seqs_split_tail(diff_seqs *s, size_t n_val, diff_seqs *val);
/* The q-quantile of s->value (sorted, index floor(q (n-1))). */
double diff_seqs_quantile(const diff_seqs *s, double q);
/* labels[i] = value[i] >= thr (allocates labels). */
int diff_seqs_threshold(diff_seqs *s, double thr);

/* Append every record of a DNA window shard, cut into sub-windows of L, with `label` (-1: none;
 * the first call decides whether the set has labels). Ids must be < vocab. */
int diff_seqs_from_shard(const char *path, size_t L, int32_t label, int vocab, diff_seqs *out);

/* Append every FASTA record (io/seqfile.h: ACGTN only) cut into non-overlapping windows of L ids
 * (DNA tokenizer tok; a shorter tail is dropped) with `label` (-1: none). */
int diff_seqs_from_fasta(const char *path, strand_tokenizer *tok, size_t L, int32_t label, diff_seqs *out);

/* ---- train_source ---- */
typedef struct diff_source {
    const diff_seqs *s;
    train_order order; /* core/train_order.h */
} diff_source;

int diff_source_init(diff_source *src, const diff_seqs *s, uint64_t seed);
void diff_source_free(diff_source *src);
/* train_source.next (user = diff_source); labels (B) when the set has labels, else -1s. */
int diff_source_next(void *user, int32_t *ids, int32_t *labels, size_t B, size_t L,
                     uint64_t cursor[TRAIN_CURSOR_WORDS]);
#endif
