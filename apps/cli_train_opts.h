/* Option groups a `strand train <kind>` command can share instead of copying (getopt_long rows, the
 * handler, the usage text, and what they load):
 *   data:  -i TABLE / --species-windows DIR / --fasta FILE[:Y] with label columns, property
 *          percentiles, held-out rows (docs/diffusion.md "Training data");
 *   loop:  -L, -B, --steps, --lr, warmup/cosine, --weight-decay, --ema, --seed, --threads, -o, --log,
 *          checkpoints, --resume, --stop-at, -q (core/train.h).
 * A command lists its own rows, then cli_train_opts_merge appends the groups' rows; in the getopt
 * loop it passes every option to cli_data_option / cli_loop_option first (1: handled).
 * Used by `strand train classifier` and by `strand train mdlm|udlm|bd3lm|duo` / `strand distill`. */
#ifndef STRAND_APPS_CLI_TRAIN_OPTS_H
#define STRAND_APPS_CLI_TRAIN_OPTS_H
#include <getopt.h>
#include <stdio.h>

#include "apps/cli.h"
#include "core/train.h"
#include "guidance/diff_data.h"
#include "strand.h"

enum { CLI_DATA_OPT0 = 600, CLI_LOOP_OPT0 = 700 }; /* option codes of the groups */

typedef struct cli_data_opts {
    const char *table, *val_table, *smiles_col, *label_col, *prop_col, *species;
    cli_strs fasta, val_fasta; /* FILE[:LABEL] */
    double prop_q;
    long val_hold, val_rows, max_rows;
    int skip_bad;
} cli_data_opts;

typedef struct cli_loop_opts {
    train_params tp;
    double warmup_frac, min_lr_frac;
    const char *out;
    int threads, quiet;
} cli_loop_opts;

/* Defaults: top decile (q 0.9), 2,000 held-out rows, 512 validation rows. */
void cli_data_defaults(cli_data_opts *o);
/* Defaults of `strand train mdlm|udlm`: L 64, B 32, 1,000 steps, lr 3e-4, beta2 0.999, warmup 5%,
 * floor 10%, no weight decay, EMA 0.999, clip 1, log every 10, validate every 100. */
void cli_loop_defaults(cli_loop_opts *o);
/* 1 when c is one of the group's options (parsed into o), else 0. */
int cli_data_option(cli_data_opts *o, int c, const char *arg);
int cli_loop_option(cli_loop_opts *o, int c, const char *arg);
void cli_data_usage(FILE *fp, const cli_data_opts *defaults);
void cli_loop_usage(FILE *fp, const cli_loop_opts *defaults);
/* own (terminated by a zero row) + the data and loop rows, in a malloc'ed array (free it). */
struct option *cli_train_opts_merge(const struct option *own);
/* The learning-rate schedule once --steps is known. */
void cli_loop_finish(cli_loop_opts *o);

/* What the data options load. tok: the vocabulary (built from the table, the DNA tokenizer, or
 * the one given); n_classes: 1 + the largest label (at least 2 when there are labels). */
typedef struct cli_data {
    strand_tokenizer *tok; /* owned unless it is the `given` one */
    int own_tok;
    diff_seqs tr, va;
    int n_classes, vocab, mask_id;
    double thr; /* property threshold of class 1 (NAN: none) */
    size_t skipped, vskipped;
} cli_data;

/* Load the training and validation sets of length L. given: a tokenizer to use instead of
 * building one from the table (a diffusion model's; NULL: build), borrowed (d->tok = given);
 * vocab_given: its model's vocabulary (ids must be below it). Errors are printed (cli_error);
 * returns 0 or 1. */
int cli_data_load(cli_data_opts *o, size_t L, strand_tokenizer *given, int vocab_given, cli_data *d);
void cli_data_free(cli_data *d);
void cli_data_opts_free(cli_data_opts *o);
#endif
