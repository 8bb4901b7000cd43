/* Shared option groups of the training commands (apps/cli_train_opts.h). */
#include "apps/cli_train_opts.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

enum {
    D_TABLE = CLI_DATA_OPT0, D_SMI, D_LABEL, D_PROP, D_PROPQ, D_MAXROWS, D_VALHOLD, D_VAL, D_SKIP, D_SPECIES,
    D_FASTA, D_VFASTA, D_VALR
};
enum {
    P_LEN = CLI_LOOP_OPT0, P_BATCH, P_STEPS, P_LR, P_WARM, P_MINLR, P_WD, P_EMA, P_SEED, P_THREADS, P_OUT, P_LOG,
    P_LOGE, P_VALE, P_CKPT, P_CKPTE, P_RESUME, P_STOP, P_QUIET
};

static const struct option data_rows[] = {
    {"input", required_argument, NULL, D_TABLE}, {"smiles-col", required_argument, NULL, D_SMI},
    {"label-col", required_argument, NULL, D_LABEL}, {"prop-col", required_argument, NULL, D_PROP},
    {"prop-quantile", required_argument, NULL, D_PROPQ}, {"max-rows", required_argument, NULL, D_MAXROWS},
    {"val-hold", required_argument, NULL, D_VALHOLD}, {"val", required_argument, NULL, D_VAL},
    {"skip-bad", no_argument, NULL, D_SKIP}, {"species-windows", required_argument, NULL, D_SPECIES},
    {"fasta", required_argument, NULL, D_FASTA}, {"val-fasta", required_argument, NULL, D_VFASTA},
    {"val-rows", required_argument, NULL, D_VALR}, {NULL, 0, NULL, 0}};

static const struct option loop_rows[] = {
    {"len", required_argument, NULL, P_LEN}, {"batch", required_argument, NULL, P_BATCH},
    {"steps", required_argument, NULL, P_STEPS}, {"lr", required_argument, NULL, P_LR},
    {"warmup-frac", required_argument, NULL, P_WARM}, {"min-lr-frac", required_argument, NULL, P_MINLR},
    {"weight-decay", required_argument, NULL, P_WD}, {"ema", required_argument, NULL, P_EMA},
    {"seed", required_argument, NULL, P_SEED}, {"threads", required_argument, NULL, P_THREADS},
    {"output", required_argument, NULL, P_OUT}, {"log", required_argument, NULL, P_LOG},
    {"log-every", required_argument, NULL, P_LOGE}, {"val-every", required_argument, NULL, P_VALE},
    {"ckpt", required_argument, NULL, P_CKPT}, {"ckpt-every", required_argument, NULL, P_CKPTE},
    {"resume", required_argument, NULL, P_RESUME}, {"stop-at", required_argument, NULL, P_STOP},
    {"quiet", no_argument, NULL, P_QUIET}, {NULL, 0, NULL, 0}};

void cli_data_defaults(cli_data_opts *o)
{
    memset(o, 0, sizeof *o);
    o->prop_q = 0.9;
    o->val_hold = 2000;
    o->val_rows = 512;
}

void cli_loop_defaults(cli_loop_opts *o)
{
    memset(o, 0, sizeof *o);
    o->tp = train_default_params();
    o->tp.opt.lr = 3e-4f;
    o->tp.opt.beta2 = 0.999f;
    o->tp.opt.weight_decay = 0.0f;
    o->tp.ema_decay = 0.999f;
    o->tp.clip = 1.0f;
    o->tp.seq_len = 64;
    o->tp.batch = 32;
    o->tp.steps = 1000;
    o->tp.val_every = 100;
    o->tp.log_every = 10;
    o->warmup_frac = 0.05;
    o->min_lr_frac = 0.1;
}

int cli_data_option(cli_data_opts *o, int c, const char *arg)
{
    switch (c) {
    case 'i':
    case D_TABLE: o->table = arg; break;
    case D_SMI: o->smiles_col = arg; break;
    case D_LABEL: o->label_col = arg; break;
    case D_PROP: o->prop_col = arg; break;
    case D_PROPQ: o->prop_q = cli_double("--prop-quantile", arg, 0, 1); break;
    case D_MAXROWS: o->max_rows = cli_long("--max-rows", arg, 0, LONG_MAX); break;
    case D_VALHOLD: o->val_hold = cli_long("--val-hold", arg, 0, LONG_MAX); break;
    case D_VAL: o->val_table = arg; break;
    case D_SKIP: o->skip_bad = 1; break;
    case D_SPECIES: o->species = arg; break;
    case D_FASTA: cli_strs_push(&o->fasta, arg); break;
    case D_VFASTA: cli_strs_push(&o->val_fasta, arg); break;
    case D_VALR: o->val_rows = cli_long("--val-rows", arg, 0, LONG_MAX); break;
    default: return 0;
    }
    return 1;
}

int cli_loop_option(cli_loop_opts *o, int c, const char *arg)
{
    train_params *tp = &o->tp;
    switch (c) {
    case 'L':
    case P_LEN: tp->seq_len = (size_t)cli_long("--len", arg, 1, LONG_MAX); break;
    case 'B':
    case P_BATCH: tp->batch = (size_t)cli_long("--batch", arg, 1, LONG_MAX); break;
    case P_STEPS: tp->steps = cli_long("--steps", arg, 1, LONG_MAX); break;
    case P_LR:
        tp->opt.lr = (float)cli_double("--lr", arg, 0, 10);
        if (tp->opt.lr <= 0) cli_die("bad --lr \"%s\": want a number in (0, 10]", arg);
        break;
    case P_WARM: o->warmup_frac = cli_double("--warmup-frac", arg, 0, 1); break;
    case P_MINLR: o->min_lr_frac = cli_double("--min-lr-frac", arg, 0, 1); break;
    case P_WD: tp->opt.weight_decay = (float)cli_double("--weight-decay", arg, 0, 10); break;
    case P_EMA: tp->ema_decay = (float)cli_double("--ema", arg, 0, 0.999999); break;
    case P_SEED: tp->seed = cli_u64("--seed", arg); break;
    case P_THREADS: o->threads = cli_int("--threads", arg, 0, 4096); break;
    case 'o':
    case P_OUT: o->out = arg; break;
    case P_LOG: tp->log_path = arg; break;
    case P_LOGE: tp->log_every = cli_long("--log-every", arg, 1, LONG_MAX); break;
    case P_VALE: tp->val_every = cli_long("--val-every", arg, 0, LONG_MAX); break;
    case P_CKPT: tp->ckpt_path = arg; break;
    case P_CKPTE: tp->ckpt_every = cli_long("--ckpt-every", arg, 0, LONG_MAX); break;
    case P_RESUME: tp->resume_path = arg; break;
    case P_STOP: tp->stop_at = cli_long("--stop-at", arg, 1, LONG_MAX); break;
    case 'q':
    case P_QUIET: o->quiet = 1; break;
    default: return 0;
    }
    return 1;
}

void cli_loop_finish(cli_loop_opts *o)
{
    train_params *tp = &o->tp;
    tp->sched.warmup_steps = (int64_t)(o->warmup_frac * (double)tp->steps);
    tp->sched.total_steps = tp->steps;
    tp->sched.min_ratio = o->min_lr_frac;
}

struct option *cli_train_opts_merge(const struct option *own)
{
    size_t n = 0, nd = sizeof data_rows / sizeof data_rows[0] - 1, nl = sizeof loop_rows / sizeof loop_rows[0] - 1;
    while (own[n].name) n++;
    struct option *all = malloc((n + nd + nl + 1) * sizeof *all);
    if (!all) cli_die("out of memory");
    memcpy(all, own, n * sizeof *all);
    memcpy(all + n, data_rows, nd * sizeof *all);
    memcpy(all + n + nd, loop_rows, (nl + 1) * sizeof *all);
    return all;
}

void cli_data_usage(FILE *fp, const cli_data_opts *d)
{
    fprintf(fp,
            "Data (docs/diffusion.md \"Training data\"):\n"
            "  -i, --input TABLE        SMILES table (.smi/.csv/.tsv[.gz])\n"
            "      --smiles-col C       SMILES column (default \"smiles\" or column 1)\n"
            "      --label-col C        integer class column (0, 1, ...)\n"
            "      --prop-col C         numeric property -> classes: 1 = value >= the training set's\n"
            "      --prop-quantile Q    Q-quantile (default %g: top decile = class 1), 0 = the rest\n"
            "      --max-rows N         read only the first N rows (default all)\n"
            "      --val-hold N         hold out the table's last N rows for validation (default %ld)\n"
            "      --val TABLE          validation rows from another table instead\n"
            "      --val-rows N         validation sequences used (default %ld; 0 = all)\n"
            "      --skip-bad           skip rows that do not tokenise or fit -L (counted), instead of failing\n"
            "      --species-windows DIR  DNA: DIR/species.tsv (label_id, label) and DIR/<label>/{train,val}.shard;\n"
            "                           class = label_id, records cut into windows of -L\n"
            "      --fasta FILE[:Y]     DNA: a FASTA file (ACGTN) cut into windows of -L, class Y (repeatable)\n"
            "      --val-fasta FILE[:Y] validation windows from a FASTA file (repeatable)\n",
            d->prop_q, d->val_hold, d->val_rows);
}

void cli_loop_usage(FILE *fp, const cli_loop_opts *d)
{
    fprintf(fp,
            "Training:\n"
            "  -L, --len L              sequence length (SMILES: <bos> tokens <eos> <pad>...; default %zu)\n"
            "  -B, --batch B            sequences per step (default %zu)\n"
            "      --steps N            optimiser steps (default %lld)\n"
            "      --lr LR              peak learning rate (default %g)\n"
            "      --warmup-frac F      warmup fraction (default %g)\n"
            "      --min-lr-frac F      cosine floor (default %g)\n"
            "      --weight-decay W     (default %g)\n"
            "      --ema D              EMA decay (default %g; 0 = none, save the live weights)\n"
            "      --seed S             init, data order, times and corruption (default 0)\n"
            "      --threads N          (default 0 = all cores)\n"
            "Output:\n"
            "  -o, --output FILE        model (safetensors, atomic; .zst compresses)\n"
            "      --log FILE           TSV: step lr loss grad_norm tokens_per_s val_loss\n"
            "      --log-every K        (default %lld)\n"
            "      --val-every K        validate every K steps and at the end (default %lld)\n"
            "      --ckpt FILE          checkpoint (weights, AdamW, EMA, RNG, data cursor), atomic\n"
            "      --ckpt-every K       (default: at the end / on a signal only)\n"
            "      --resume FILE        continue from a checkpoint (same data and options)\n"
            "      --stop-at K          stop after step K of the --steps schedule\n"
            "  -q, --quiet\n",
            d->tp.seq_len, d->tp.batch, (long long)d->tp.steps, (double)d->tp.opt.lr, d->warmup_frac, d->min_lr_frac,
            (double)d->tp.opt.weight_decay, (double)d->tp.ema_decay, (long long)d->tp.log_every,
            (long long)d->tp.val_every);
}

/* DIR/species.tsv -> train and val sets (label = label_id). */
static int load_species(const char *dir, size_t L, int vocab, diff_seqs *tr, diff_seqs *va, int *n_classes)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/species.tsv", dir);
    FILE *f = fopen(path, "r");
    if (!f) return cli_error("cannot open \"%s\": %s", path, strerror(errno));
    char line[8192];
    int n = 0, rc = 0;
    while (fgets(line, sizeof line, f)) {
        if (!strncmp(line, "label_id", 8)) continue;
        char *tab = strchr(line, '\t');
        if (!tab) continue;
        *tab = 0;
        char *name = tab + 1, *e = strpbrk(name, "\t\r\n");
        if (e) *e = 0;
        char *end;
        long id = strtol(line, &end, 10);
        if (end == line || *end || id != n) {
            rc = cli_error("%s: label_id \"%s\" out of order (expected %d)", path, line, n);
            break;
        }
        char sp[4096];
        snprintf(sp, sizeof sp, "%s/%s/train.shard", dir, name);
        if (diff_seqs_from_shard(sp, L, (int32_t)id, vocab, tr) < 0 ||
            (snprintf(sp, sizeof sp, "%s/%s/val.shard", dir, name), diff_seqs_from_shard(sp, L, (int32_t)id, vocab, va) < 0)) {
            rc = cli_error("%s", strand_last_error());
            break;
        }
        n++;
    }
    fclose(f);
    *n_classes = n;
    if (rc == 0 && n == 0) rc = cli_error("%s: no species rows", path);
    return rc;
}

/* An evenly spaced subset of `keep` sequences, so every class of a class-ordered set appears. */
static void spread_subset(diff_seqs *v, size_t keep)
{
    if (keep == 0 || keep >= v->n) return;
    for (size_t j = 0; j < keep; j++) {
        size_t i = (size_t)((double)j * (double)v->n / (double)keep);
        memmove(v->ids + j * v->L, v->ids + i * v->L, v->L * sizeof *v->ids);
        if (v->labels) v->labels[j] = v->labels[i];
        if (v->value) v->value[j] = v->value[i];
    }
    v->n = keep;
}

/* The vocabulary of the table's SMILES (rows that do not tokenise dropped with skip_bad). */
static int build_smiles_tokenizer(const cli_data_opts *o, strand_tokenizer **tok)
{
    char **smi = NULL;
    size_t n = 0;
    int rc = diff_table_smiles(o->table, o->smiles_col, (size_t)o->max_rows, &smi, &n);
    if (rc == 0 && (rc = strand_tokenizer_smiles_build(tok, (const char *const *)smi, n)) < 0 && o->skip_bad) {
        size_t k = 0;
        for (size_t i = 0; i < n; i++) {
            strand_tokenizer *one = NULL;
            const char *s1 = smi[i];
            if (strand_tokenizer_smiles_build(&one, &s1, 1) == 0) smi[k++] = smi[i];
            else free(smi[i]);
            strand_tokenizer_free(one);
        }
        n = k;
        rc = strand_tokenizer_smiles_build(tok, (const char *const *)smi, n);
    }
    for (size_t i = 0; i < n; i++) free(smi[i]);
    free(smi);
    return rc;
}

int cli_data_load(cli_data_opts *o, size_t L, strand_tokenizer *given, int vocab_given, cli_data *d)
{
    memset(d, 0, sizeof *d);
    d->thr = NAN;
    if (!!o->table + !!o->species + (o->fasta.n > 0) != 1)
        return cli_error("give exactly one of -i TABLE, --species-windows DIR or --fasta FILE[:Y]");
    if (o->label_col && o->prop_col) return cli_error("--label-col and --prop-col exclude each other");
    d->tok = given;
    if (o->table) {
        if (!given) {
            if (build_smiles_tokenizer(o, &d->tok) < 0) goto err;
            d->own_tok = 1;
        } else if (strand_tokenizer_kind(given) != STRAND_TOKENIZER_SMILES) {
            return cli_error("a SMILES table needs a SMILES tokenizer, but the model's is not one");
        }
        d->vocab = given ? vocab_given : (int)strand_tokenizer_vocab_size(d->tok);
        d->mask_id = STRAND_TOKEN_MASK;
        diff_table_opts to = {o->smiles_col, o->label_col, o->prop_col, o->skip_bad, (size_t)o->max_rows};
        if (diff_seqs_from_table(o->table, &to, d->tok, L, &d->tr, &d->skipped) < 0) goto err;
        if (o->val_table) {
            to.max_rows = 0;
            if (diff_seqs_from_table(o->val_table, &to, d->tok, L, &d->va, &d->vskipped) < 0) goto err;
        } else if (o->val_hold > 0 && diff_seqs_split_tail(&d->tr, (size_t)o->val_hold, &d->va) < 0)
            goto err;
        if (to.prop_col) {
            d->thr = diff_seqs_quantile(&d->tr, o->prop_q);
            if (diff_seqs_threshold(&d->tr, d->thr) < 0 || (d->va.n && diff_seqs_threshold(&d->va, d->thr) < 0)) goto err;
        }
        for (size_t i = 0; d->tr.labels && i < d->tr.n; i++)
            if (d->tr.labels[i] + 1 > d->n_classes) d->n_classes = d->tr.labels[i] + 1;
        if (d->tr.labels && d->n_classes < 2) d->n_classes = 2;
    } else {
        d->vocab = given ? vocab_given : 12; /* DNA ids 0..11 (docs/tokenizers.md "DNA tokenizer"); [MASK] = 3 */
        d->mask_id = 3;
        if (!given) {
            if (strand_tokenizer_dna_create(&d->tok) < 0) goto err;
            d->own_tok = 1;
        }
        if (o->species && load_species(o->species, L, d->vocab, &d->tr, &d->va, &d->n_classes)) return 1;
        for (int k = 0; k < 2; k++) {
            cli_strs *fl = k ? &o->val_fasta : &o->fasta;
            for (int i = 0; i < fl->n; i++) {
                char path[4096];
                snprintf(path, sizeof path, "%s", fl->v[i]);
                char *colon = strrchr(path, ':');
                int32_t y = -1;
                if (colon && colon[1]) {
                    y = cli_int("--fasta :LABEL", colon + 1, 0, 1 << 20);
                    *colon = 0;
                }
                if (diff_seqs_from_fasta(path, d->tok, L, y, k ? &d->va : &d->tr) < 0) goto err;
                if (y + 1 > d->n_classes) d->n_classes = y + 1;
            }
        }
        if (d->va.n && (d->tr.labels == NULL) != (d->va.labels == NULL))
            return cli_error("give labels to every --fasta and --val-fasta file, or to none");
    }
    if (d->tr.n == 0) return cli_error("no training sequences");
    if (d->va.n && o->val_rows) spread_subset(&d->va, (size_t)o->val_rows);
    return 0;
err:
    return cli_error("%s", strand_last_error());
}

void cli_data_free(cli_data *d)
{
    diff_seqs_free(&d->tr);
    diff_seqs_free(&d->va);
    if (d->own_tok) strand_tokenizer_free(d->tok);
    memset(d, 0, sizeof *d);
}

void cli_data_opts_free(cli_data_opts *o)
{
    cli_strs_free(&o->fasta);
    cli_strs_free(&o->val_fasta);
}
