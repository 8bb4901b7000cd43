/* Fixed-length windows over a FASTA, split into train/val/test by genomic region, tokenised with
 * the DNA tokenizer (docs/tokenizers.md "DNA tokenizer") and written as token shards (io/shards.h).
 *
 * Layout policy (documented; tests check it):
 *  - Input regions (-r, default: every contig whole) are resolved against the FASTA, sorted and
 *    merged where they overlap, so no base is windowed twice.
 *  - val/test regions must not overlap each other. Each input region is cut at the val/test
 *    boundaries into pieces of one label (train = everything not in val/test); each piece is tiled
 *    independently from its own start: windows [s, s+L) for s = a, a+S, a+2S, ... while s+L <= b.
 *    A window therefore never crosses a split boundary: no base of a val/test region appears in
 *    a train window and vice versa (no leakage). The last < L bases of a piece are not used.
 *  - A window is dropped when its count of non-ACGT characters (N, IUPAC codes, anything else)
 *    exceeds max_n * L. Lower case (soft-masking) is tokenised like upper case.
 *  - strict: a non-ACGTN character is an error naming contig and 1-based position instead. */
#ifndef STRAND_IO_WINDOWS_H
#define STRAND_IO_WINDOWS_H
#include <stdint.h>

#include "io/fasta.h"

typedef struct st_windows_params {
    int64_t len;        /* L */
    int64_t stride;     /* S (default L) */
    double max_n;       /* drop windows with more than max_n*L non-ACGT bases (default 0.1) */
    int strict;         /* error on non-ACGTN characters */
    const char *const *regions; int n_regions;     /* input regions (NULL: all contigs) */
    const char *const *val_regions; int n_val;     /* validation regions */
    const char *const *test_regions; int n_test;   /* test regions */
    uint32_t records_per_chunk;                    /* shard chunk size (default 1024) */
    const char *label;  /* optional class label (e.g. a species name) stored as a "label\tNAME" metadata
                           line of every shard; no tab/newline (STRAND_E_ARG). NULL: none */
} st_windows_params;

st_windows_params st_windows_default_params(void);

/* A labelled piece of the genome that gets tiled. */
typedef struct st_piece {
    int contig;       /* index in the FASTA */
    int64_t beg, end; /* 0-based half-open */
    uint32_t split;   /* ST_SPLIT_TRAIN/VAL/TEST */
} st_piece;

/* Resolve, merge and label the regions (see the policy above). *pieces is malloc'ed, sorted by
 * contig then position. STRAND_E_ARG when val and test overlap; region errors as io/fasta. */
int st_windows_plan(st_fasta *fa, const st_windows_params *p, st_piece **pieces, int *n_pieces);

typedef struct st_windows_stats {
    uint64_t kept[3];      /* per split */
    uint64_t dropped_n[3]; /* over the N threshold */
    uint64_t bases_unused; /* piece tails shorter than L */
    uint64_t unk_tokens;   /* non-ACGTN characters in kept windows */
} st_windows_stats;

/* Called for each kept window: tokens (L) in ids 7..11 / 6, split, contig index, 0-based start.
 * Return non-zero to stop (returned from st_windows_run). */
typedef int (*st_window_fn)(void *user, const uint8_t *tokens, uint32_t split, int contig, int64_t start);
int st_windows_run(st_fasta *fa, const st_windows_params *p, st_window_fn fn, void *user,
                   st_windows_stats *stats);

/* Write OUT_DIR/{train,val,test}.shard (created when missing; all three committed only when the
 * whole run succeeded). `command` (optional) is stored in the metadata. */
int st_windows_write_shards(st_fasta *fa, const st_windows_params *p, const char *out_dir,
                            const char *command, st_windows_stats *stats);
#endif
