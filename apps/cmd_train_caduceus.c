/* `strand train caduceus`: masked-LM pretraining (docs/caduceus.md "Masked-LM pretraining"). */
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "apps/cli_train.h"
#include "apps/commands.h"
#include "caduceus/caduceus.h"
#include "caduceus/mlm.h"
#include "core/clock.h"
#include "core/train.h"
#include "strand.h"

/* Options go straight into the model config and the loop's train_params; the rest is data. */
typedef struct opts {
    const char *fasta, *shards, *val_shards, *out, *init;
    cli_strs regions, val_regions;
    int threads, quiet;
    long val_windows;
    double warmup_frac, min_lr_frac; /* -> tp.sched once --steps is known */
    caduceus_config model;
    train_params tp;
} opts;

static opts default_opts(void)
{
    opts o;
    memset(&o, 0, sizeof o);
    mlm_default_model_config(&o.model);
    o.tp = mlm_default_train_params();
    o.warmup_frac = 0.1;
    o.min_lr_frac = 0.0;
    o.val_windows = MLM_DEFAULT_VAL_ROWS;
    return o;
}

static void usage(FILE *fp)
{
    opts d = default_opts();
    fprintf(fp,
            "\nUsage: strand train caduceus (-f REF.fa [-r REGION]... | --shards TRAIN.shard) -o MODEL.safetensors [options]\n\n"
            "Masked-LM pretraining of a Caduceus DNA model (docs/caduceus.md): 15%% of non-pad bases selected\n"
            "(80%% [MASK], 10%% random A/C/G/T, 10%% unchanged), N -> [PAD], cross-entropy on the selected\n"
            "bases; AdamW (betas 0.9/0.95, no decay on biases/embeddings/A_log/D/norms), warmup + cosine,\n"
            "gradient clip 1.0. The model is saved with published tensor names and strand.config.\n\n"
            "Data:\n"
            "  -f, --fasta-ref FILE    reference FASTA (plain or BGZF; also --fasta); windows of -L bases at stride L\n"
            "  -r, --regions REGION    train on this region only (repeatable; default every contig)\n"
            "      --val-region REGION hold out this region for validation (repeatable; never trained on)\n"
            "      --shards FILE       training windows from a token shard (strand data windows)\n"
            "      --val-shards FILE   validation windows from a token shard\n"
            "      --val-windows N     validation sequences, spread over the held-out set (default %ld;\n"
            "                          0 = all); masked once from a fixed seed, identical in every run\n"
            "Model:\n"
            "      --variant ps|ph     Caduceus-PS (RC-equivariant) or -PH (RC augmentation) (default ps)\n"
            "      --d-model N         width (default %d)\n"
            "      --layers N          BiMamba layers (default %d)\n"
            "Training:\n"
            "  -L, --len L             sequence length (default %zu)\n"
            "  -B, --batch B           sequences per step (default %zu)\n"
            "      --steps N           optimiser steps (default %lld)\n"
            "      --lr LR             peak learning rate (default %g)\n"
            "      --warmup-frac F     linear warmup over this fraction of the steps (default %g)\n"
            "      --min-lr-frac F     cosine floor as a fraction of the peak (default %g)\n"
            "      --weight-decay W    AdamW decoupled weight decay (default %g)\n"
            "      --seed S            initialisation, data order and masks (default %llu)\n"
            "      --threads N         threads (default 0 = all cores)\n"
            "Output:\n"
            "  -o, --output FILE       final model (safetensors, written atomically; .zst compresses)\n"
            "      --log FILE          TSV: step lr loss grad_norm tokens_per_s val_loss\n"
            "      --log-every K       a TSV row every K steps (default %lld)\n"
            "      --val-every K       validation loss every K steps and at the end (default %lld)\n"
            "      --ckpt FILE         checkpoint (weights, AdamW state, RNG, data cursor)\n"
            "      --ckpt-every K      checkpoint every K steps (default: only at the end / on a signal)\n"
            "      --resume FILE       continue from a checkpoint (same data and options)\n"
            "      --init MODEL        warm start from a model file of the same shape (weights only; fresh\n"
            "                          AdamW moments and schedule; ignored with --resume)\n"
            "      --stop-at K         stop after step K of the --steps schedule (checkpoint and model written)\n"
            "  -q, --quiet             no progress on stderr\n\n"
            "SIGINT/SIGTERM stop after the current step: the checkpoint (--ckpt) and the model are written.\n\n"
            "Examples:\n"
            "  strand train caduceus -f 20.fa.gz -r 20:1-50,000,000 --val-region 20:50,000,001-55,000,000 \\\n"
            "      -L 1024 -B 8 --steps 2000 --log loss.tsv --ckpt run.ckpt --ckpt-every 200 -o cad.safetensors\n"
            "  strand train caduceus --shards chr20_windows/train.shard --val-shards chr20_windows/val.shard \\\n"
            "      --d-model 64 --layers 2 -L 512 --steps 500 -o small.safetensors\n"
            "  strand train caduceus -f ce.fa -r CHROMOSOME_I --variant ph --steps 50 --resume run.ckpt -o m.safetensors\n\n",
            d.val_windows, d.model.d_model, d.model.n_layer, d.tp.seq_len, d.tp.batch, (long long)d.tp.steps,
            (double)d.tp.opt.lr, d.warmup_frac, d.min_lr_frac, (double)d.tp.opt.weight_decay,
            (unsigned long long)d.tp.seed, (long long)d.tp.log_every, (long long)d.tp.val_every);
}

int cmd_train_caduceus_main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stdout);
        return 0;
    }
    enum {
        O_SHARDS = 256, O_VAL_SHARDS, O_VAL_REGION, O_VAL_WINDOWS, O_VARIANT, O_DMODEL, O_LAYERS, O_STEPS, O_LR,
        O_WARMUP, O_MINLR, O_WD, O_SEED, O_THREADS, O_LOG, O_LOG_EVERY, O_VAL_EVERY, O_CKPT, O_CKPT_EVERY, O_RESUME, O_STOP_AT, O_INIT
    };
    static const struct option lopts[] = {
        {"fasta", required_argument, NULL, 'f'},         {"region", required_argument, NULL, 'r'},
        {"fasta-ref", required_argument, NULL, 'f'}, {"regions", required_argument, NULL, 'r'}, /* bcftools' names */
        {"shards", required_argument, NULL, O_SHARDS},   {"val-shards", required_argument, NULL, O_VAL_SHARDS},
        {"val-region", required_argument, NULL, O_VAL_REGION},
        {"val-windows", required_argument, NULL, O_VAL_WINDOWS},
        {"variant", required_argument, NULL, O_VARIANT}, {"d-model", required_argument, NULL, O_DMODEL},
        {"layers", required_argument, NULL, O_LAYERS},   {"len", required_argument, NULL, 'L'},
        {"batch", required_argument, NULL, 'B'},         {"steps", required_argument, NULL, O_STEPS},
        {"lr", required_argument, NULL, O_LR},           {"warmup-frac", required_argument, NULL, O_WARMUP},
        {"min-lr-frac", required_argument, NULL, O_MINLR}, {"weight-decay", required_argument, NULL, O_WD},
        {"seed", required_argument, NULL, O_SEED},       {"threads", required_argument, NULL, O_THREADS},
        {"output", required_argument, NULL, 'o'},        {"log", required_argument, NULL, O_LOG},
        {"log-every", required_argument, NULL, O_LOG_EVERY}, {"val-every", required_argument, NULL, O_VAL_EVERY},
        {"ckpt", required_argument, NULL, O_CKPT},       {"ckpt-every", required_argument, NULL, O_CKPT_EVERY},
        {"resume", required_argument, NULL, O_RESUME},   {"stop-at", required_argument, NULL, O_STOP_AT},
        {"init", required_argument, NULL, O_INIT},
          {"quiet", no_argument, NULL, 'q'},
        {"help", no_argument, NULL, 'h'},                {NULL, 0, NULL, 0}};
    opts o = default_opts();
    int c, rc = 1;
    caduceus_weights *m = NULL;
    st_window_set wtrain = {0}, wval = {0};
    cli_train_watch watch = {0};
    optind = 1;
    while ((c = getopt_long(argc, argv, "f:r:L:B:o:qh", lopts, NULL)) != -1) {
        switch (c) {
        case 'f': o.fasta = optarg; break;
        case 'r': cli_strs_push(&o.regions, optarg); break;
        case O_VAL_REGION: cli_strs_push(&o.val_regions, optarg); break;
        case O_SHARDS: o.shards = optarg; break;
        case O_VAL_SHARDS: o.val_shards = optarg; break;
        case O_VAL_WINDOWS: o.val_windows = cli_long("--val-windows", optarg, 0, LONG_MAX); break;
        case O_VARIANT:
            if (!strcmp(optarg, "ps")) o.model.rcps = 1;
            else if (!strcmp(optarg, "ph")) o.model.rcps = 0;
            else cli_die("bad --variant \"%s\": want ps or ph", optarg);
            break;
        case O_DMODEL: o.model.d_model = cli_int("--d-model", optarg, 1, 65536); break;
        case O_LAYERS: o.model.n_layer = cli_int("--layers", optarg, 1, 1024); break;
        case 'L': o.tp.seq_len = (size_t)cli_long("--len", optarg, 1, LONG_MAX); break;
        case 'B': o.tp.batch = (size_t)cli_long("--batch", optarg, 1, LONG_MAX); break;
        case O_STEPS: o.tp.steps = cli_long("--steps", optarg, 1, LONG_MAX); break;
        case O_LR:
            o.tp.opt.lr = (float)cli_double("--lr", optarg, 0, 10);
            if (o.tp.opt.lr <= 0) cli_die("bad --lr \"%s\": want a number in (0, 10]", optarg);
            break;
        case O_WARMUP: o.warmup_frac = cli_double("--warmup-frac", optarg, 0, 1); break;
        case O_MINLR: o.min_lr_frac = cli_double("--min-lr-frac", optarg, 0, 1); break;
        case O_WD: o.tp.opt.weight_decay = (float)cli_double("--weight-decay", optarg, 0, 10); break;
        case O_SEED: o.tp.seed = cli_u64("--seed", optarg); break;
        case O_THREADS: o.threads = cli_int("--threads", optarg, 0, 4096); break;
        case 'o': o.out = optarg; break;
        case O_LOG: o.tp.log_path = optarg; break;
        case O_LOG_EVERY: o.tp.log_every = cli_long("--log-every", optarg, 1, LONG_MAX); break;
        case O_VAL_EVERY: o.tp.val_every = cli_long("--val-every", optarg, 0, LONG_MAX); break;
        case O_CKPT: o.tp.ckpt_path = optarg; break;
        case O_CKPT_EVERY: o.tp.ckpt_every = cli_long("--ckpt-every", optarg, 0, LONG_MAX); break;
        case O_RESUME: o.tp.resume_path = optarg; break;
        case O_INIT: o.init = optarg; break;
        case O_STOP_AT: o.tp.stop_at = cli_long("--stop-at", optarg, 1, LONG_MAX); break;
        case 'q': o.quiet = 1; break;
        case 'h': usage(stdout); rc = 0; goto done;
        default: usage(stderr); goto done;
        }
    }
    if (optind < argc) {
        cli_error("unexpected argument \"%s\"", argv[optind]);
        goto done;
    }
    if (!o.out) {
        cli_error("-o MODEL.safetensors is required");
        goto done;
    }
    if (!!o.fasta == !!o.shards) {
        cli_error("give exactly one of -f FASTA or --shards TRAIN.shard");
        goto done;
    }
    if (o.shards && (o.regions.n || o.val_regions.n)) {
        cli_error("-r/--val-region need -f (shards are already windowed)");
        goto done;
    }
    if (o.fasta && o.val_shards) {
        cli_error("with -f, hold out validation data with --val-region");
        goto done;
    }
    strand_set_threads(o.threads);

    train_params *tp = &o.tp;
    tp->sched = lr_schedule_warmup_cosine(tp->steps, o.warmup_frac, o.min_lr_frac);
    size_t L = tp->seq_len, B = tp->batch;

    /* data */
    double t_load = st_clock_s();
    if (o.fasta) {
        if (st_window_set_from_fasta(o.fasta, L, o.regions.v, o.regions.n, o.val_regions.v, o.val_regions.n, &wtrain,
                                     &wval) < 0)
            goto err;
        if (o.val_regions.n && wval.n == 0) {
            cli_error("no validation window of %zu bases in the --val-region(s)", L);
            goto done;
        }
    } else {
        if (st_window_set_from_shard(o.shards, &wtrain) < 0) goto err;
        if (o.val_shards && st_window_set_from_shard(o.val_shards, &wval) < 0) goto err;
    }
    if (wtrain.len < L) {
        cli_error("the training windows have %zu tokens, shorter than -L %zu", wtrain.len, L);
        goto done;
    }
    if (!o.quiet) {
        size_t items = wtrain.n * (wtrain.len / L);
        size_t vitems = wval.n && wval.len >= L ? wval.n * (wval.len / L) : 0;
        if (o.val_windows && vitems > (size_t)o.val_windows) vitems = (size_t)o.val_windows;
        cli_info("Caduceus-%s d_model %d, %d layers; %zu training sequences of %zu (%.1f Mbases), %zu validation "
                 "sequences; B %zu, %lld steps (%.3f epochs); data ready in %.1f s",
                 o.model.rcps ? "PS" : "PH", o.model.d_model, o.model.n_layer, items, L, (double)items * (double)L / 1e6,
                 vitems, B, (long long)tp->steps, (double)tp->steps * (double)B / (double)items, st_clock_s() - t_load);
    }
    cli_train_watch_start(&watch, tp, o.quiet, "val_loss", "");

    train_result res;
    int r = mlm_train_from(&o.model, o.init, tp, &wtrain, &wval, (size_t)o.val_windows, &m, &res);
    cli_train_watch_stop(&watch);
    if (r < 0 && r != STRAND_E_CANCELLED) goto err;
    if (!o.quiet) cli_info("%zu parameters", caduceus_param_count(m));
    m->cfg.train_len = (int)L; /* saved as strand.train_seq_len: strand vep's default window */
    if (caduceus_save(m, o.out) < 0) goto err;
    if (r == STRAND_E_CANCELLED && tp->stop_at > 0 && res.steps_done == tp->stop_at && !cli_train_interrupted()) {
        if (!o.quiet)
            cli_info("stopped after step %lld (--stop-at); model saved to %s%s%s",
                    (long long)res.steps_done, o.out, tp->ckpt_path ? ", checkpoint in " : "", tp->ckpt_path ? tp->ckpt_path : "");
        rc = 0;
        goto done;
    }
    if (r == STRAND_E_CANCELLED) {
        cli_info("stopped by a signal after step %lld of %lld; model saved to %s%s%s",
                (long long)res.steps_done, (long long)tp->steps, o.out, tp->ckpt_path ? ", checkpoint in " : "",
                tp->ckpt_path ? tp->ckpt_path : "");
        rc = 3;
        goto done;
    }
    if (!o.quiet)
        cli_info("%lld steps, last loss %.4f, last val_loss %.4f; model saved to %s (%.0f s)",
                (long long)res.steps_done, res.last_loss, res.last_val_loss, o.out, st_clock_s() - watch.t0);
    rc = 0;
    goto done;
err:
    cli_error("%s", strand_last_error());
done:
    caduceus_free(m);
    st_window_set_free(&wtrain);
    st_window_set_free(&wval);
    cli_strs_free(&o.regions);
    cli_strs_free(&o.val_regions);
    return rc;
}
