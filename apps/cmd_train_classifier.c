/* `strand train classifier`: a noisy (or clean) classifier p(y | z_t) for classifier-based guidance
 * (docs/diffusion.md "Noisy classifiers"), on the data of `strand train mdlm|udlm` (shared option
 * groups: apps/cli_train_opts.h). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "apps/cli_train.h"
#include "apps/cli_train_opts.h"
#include "apps/commands.h"
#include "core/clock.h"
#include "guidance/classifier.h"
#include "guidance/clf_train.h"
#include "guidance/diff_train.h"

typedef struct copts {
    cli_data_opts data;
    cli_loop_opts loop;
    const char *like, *process, *noise, *backbone;
    long dim, depth, heads, cond;
    int time_cond, clean;
} copts;

static copts default_copts(void)
{
    copts o;
    memset(&o, 0, sizeof o);
    cli_data_defaults(&o.data);
    cli_loop_defaults(&o.loop);
    o.loop.tp.ema_decay = 0; /* the saved weights are the validated ones */
    o.backbone = "dit";
    o.dim = 96, o.depth = 3, o.heads = 4, o.cond = 128;
    return o;
}

static void cusage(FILE *fp)
{
    copts d = default_copts();
    fprintf(fp,
            "\nUsage: strand train classifier (-i TABLE | --species-windows DIR | --fasta FILE[:Y]...) -o CLF.safetensors [options]\n\n"
            "A noisy classifier p(y | z_t) for classifier-based guidance (docs/diffusion.md \"Noisy classifiers\"):\n"
            "inputs corrupted by the diffusion process (masked or uniform) at times t stratified over the batch\n"
            "(eps 1e-3, as `strand train mdlm|udlm`), cross-entropy on the label; --clean trains at t = 0 only\n"
            "(a classifier for evaluating samples). Backbone DiT: blocks, mean over positions, Linear.\n\n"
            "Diffusion process (give --like, or --process):\n"
            "      --like MODEL         take tokenizer, vocabulary, process, [MASK] id, noise schedule and (without\n"
            "                           -L) the length from this diffusion model: the classifier then guides it\n"
            "      --process P          mdlm (masked) | udlm (uniform)\n"
            "      --noise S            loglinear | cosine (default: the --like model's, else loglinear)\n"
            "      --time-cond          feed sigma_t to the classifier (default: not time-conditioned)\n"
            "      --clean              train on clean sequences only (t = 0)\n"
            "Model:\n"
            "      --backbone B         dit (default %s)\n"
            "      --dim D              hidden width (default %ld)\n"
            "      --depth N            blocks (default %ld)\n"
            "      --heads H            attention heads (default %ld)\n"
            "      --cond-dim C         conditioning width (default %ld)\n",
            d.backbone, d.dim, d.depth, d.heads, d.cond);
    cli_data_usage(fp, &d.data);
    cli_loop_usage(fp, &d.loop);
    fprintf(fp,
            "\nValidation: mean cross-entropy (the log's val_loss) and accuracy on the held-out rows, each at its own\n"
            "seeded t and corruption. SIGINT/SIGTERM stop after the current step: checkpoint and model are written.\n\n"
            "Examples:\n"
            "  strand train classifier --like models/smiles-udlm-qed.safetensors -i smiles.props.tsv --prop-col qed \\\n"
            "      --steps 2000 --ckpt clf.ckpt --ckpt-every 200 --log clf.tsv -o smiles-qed-classifier.safetensors\n"
            "  strand train classifier --like models/smiles-mdlm-qed.safetensors -i smiles.props.tsv --prop-col rings \\\n"
            "      --prop-quantile 0.5 -o rings.safetensors\n"
            "  strand train classifier --process udlm --clean --species-windows species_windows -L 128 -o clean.safetensors\n\n");
}

int cmd_train_classifier_main(int argc, char **argv)
{
    if (argc < 2) {
        cusage(stdout);
        return 0;
    }
    enum { O_LIKE = 256, O_PROC, O_NOISE, O_TC, O_CLEAN, O_BB, O_DIM, O_DEPTH, O_HEADS, O_COND };
    static const struct option own[] = {
        {"like", required_argument, NULL, O_LIKE}, {"process", required_argument, NULL, O_PROC},
        {"noise", required_argument, NULL, O_NOISE}, {"time-cond", no_argument, NULL, O_TC},
        {"clean", no_argument, NULL, O_CLEAN}, {"backbone", required_argument, NULL, O_BB},
        {"dim", required_argument, NULL, O_DIM}, {"depth", required_argument, NULL, O_DEPTH},
        {"heads", required_argument, NULL, O_HEADS}, {"cond-dim", required_argument, NULL, O_COND},
        {"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0}};
    struct option *lo = cli_train_opts_merge(own);
    copts o = default_copts();
    o.loop.tp.seq_len = 0; /* 0: not given (the --like model's length, else 64) */
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "i:L:B:o:qh", lo, NULL)) != -1) {
        if (cli_data_option(&o.data, c, optarg) || cli_loop_option(&o.loop, c, optarg)) continue;
        switch (c) {
        case O_LIKE: o.like = optarg; break;
        case O_PROC: o.process = optarg; break;
        case O_NOISE: o.noise = optarg; break;
        case O_TC: o.time_cond = 1; break;
        case O_CLEAN: o.clean = 1; break;
        case O_BB: o.backbone = optarg; break;
        case O_DIM: o.dim = cli_long("--dim", optarg, 2, 65536); break;
        case O_DEPTH: o.depth = cli_long("--depth", optarg, 1, 1024); break;
        case O_HEADS: o.heads = cli_long("--heads", optarg, 1, 1024); break;
        case O_COND: o.cond = cli_long("--cond-dim", optarg, 1, 65536); break;
        case 'h': free(lo); cusage(stdout); return 0;
        default: free(lo); cusage(stderr); return 1;
        }
    }
    free(lo);
    if (optind < argc) return cli_error("unexpected argument \"%s\"", argv[optind]);
    if (!o.loop.out) return cli_error("-o CLF.safetensors is required");
    if (!o.like && !o.process) return cli_error("give --like DIFFUSION_MODEL or --process mdlm|udlm");
    if (!clf_backbone_find(o.backbone)) return cli_error("--backbone \"%s\" unknown", o.backbone);
    if (o.dim % o.heads || (o.dim / o.heads) % 2)
        return cli_error("--dim %ld must be a multiple of --heads %ld with an even head width", o.dim, o.heads);
    strand_set_threads(o.loop.threads);

    int rc = 1;
    diff_model like = {0};
    strand_tokenizer *like_tok = NULL;
    cli_data d = {0};
    clf_weights *w = NULL;
    clf_trainer trn = {0};
    diff_source src = {0};
    paramblock ema;
    memset(&ema, 0, sizeof ema);
    int have_ema = 0;
    cli_train_watch watch = {0};
    clf_config cfg = clf_default_config();
    double t_load = st_clock_s();
    if (o.like) {
        if (diff_model_load(&like, o.like, &like_tok) < 0) goto err;
        cfg.proc = like.spec.proc;
        cfg.sched = like.spec.sched;
        if (!o.loop.tp.seq_len) o.loop.tp.seq_len = (size_t)like.w->cfg.model_length;
        if (o.loop.tp.seq_len > (size_t)like.w->cfg.model_length) {
            cli_error("-L %zu is longer than the --like model's length %d", o.loop.tp.seq_len, like.w->cfg.model_length);
            goto done;
        }
    }
    if (!o.loop.tp.seq_len) o.loop.tp.seq_len = 64;
    if (o.process && diff_process_parse(o.process, &cfg.proc) < 0) goto err;
    if (o.like && o.process && cfg.proc != like.spec.proc) {
        cli_error("--process %s differs from the --like model's (%s)", o.process, diff_process_name(like.spec.proc));
        goto done;
    }
    if (o.noise && diff_schedule_parse(o.noise, &cfg.sched) < 0) goto err;
    size_t L = o.loop.tp.seq_len, B = o.loop.tp.batch;
    if (cli_data_load(&o.data, L, like_tok, o.like ? like.w->cfg.vocab : 0, &d)) goto done;
    if (!d.tr.labels) {
        cli_error("the training data have no labels: give --label-col, --prop-col, --species-windows or --fasta FILE:Y");
        goto done;
    }
    snprintf(cfg.backbone, sizeof cfg.backbone, "%s", o.backbone);
    cfg.num_classes = d.n_classes;
    cfg.vocab = d.vocab;
    cfg.length = (int)L;
    cfg.mask_id = cfg.proc == DIFF_MASKED ? (o.like ? like.spec.mask_id : d.mask_id) : -1;
    cfg.time_cond = o.time_cond;
    cfg.clean = o.clean;
    char bbj[256];
    snprintf(bbj, sizeof bbj, "{\"hidden_dim\": %ld, \"n_blocks\": %ld, \"n_heads\": %ld, \"cond_dim\": %ld}", o.dim,
             o.depth, o.heads, o.cond);
    if (clf_weights_create(&w, &cfg, bbj) < 0) goto err;
    strand_rng irng;
    strand_rng_seed(&irng, o.loop.tp.seed ^ 0x5DEECE66Dull);
    clf_init_weights(w, &irng);
    if (clf_trainer_init(&trn, w, B, L) < 0) goto err;
    trn.val = d.va.n ? &d.va : NULL;
    trn.val_seed = 12345;
    if (diff_source_init(&src, &d.tr, o.loop.tp.seed) < 0) goto err;
    size_t *count = calloc((size_t)d.n_classes, sizeof *count);
    for (size_t i = 0; count && i < d.tr.n; i++) count[d.tr.labels[i]]++;
    if (!o.loop.quiet) {
        fprintf(stderr, "%s: %zu training / %zu validation sequences of %zu ids (vocabulary %d)", cli_prog(), d.tr.n,
                d.va.n, L, d.vocab);
        if (d.skipped || d.vskipped) fprintf(stderr, "; skipped %zu + %zu bad rows", d.skipped, d.vskipped);
        if (!isnan(d.thr)) fprintf(stderr, "; %s >= %.6g (q %.2f) -> class 1", o.data.prop_col, d.thr, o.data.prop_q);
        fprintf(stderr, "; %d classes (", d.n_classes);
        for (int k = 0; count && k < d.n_classes; k++) fprintf(stderr, "%s%zu", k ? " " : "", count[k]);
        fprintf(stderr, "); data ready in %.1f s\n", st_clock_s() - t_load);
        cli_info("%s classifier (%s, %s, %s%s): dim %ld, depth %ld, heads %ld, %zu parameters; B %zu, %lld steps "
                 "(%.2f epochs)",
                 o.backbone, diff_process_name(cfg.proc), diff_schedule_name(cfg.sched.kind),
                 cfg.clean ? "clean" : "noisy", cfg.time_cond ? ", time-conditioned" : "", o.dim, o.depth, o.heads,
                 clf_params(w)->total, B, (long long)o.loop.tp.steps, (double)o.loop.tp.steps * B / d.tr.n);
    }
    free(count);
    train_params *tp = &o.loop.tp;
    cli_loop_finish(&o.loop);
    if (!d.va.n) tp->val_every = 0;
    train_model tm = {clf_params(w), clf_trainer_fb, clf_trainer_validate, &trn};
    train_source ts = {diff_source_next, 1, &src};
    cli_train_watch_start(&watch, tp, o.loop.quiet, "val CE", " nats");
    train_result res;
    int r = train_run(tp, &tm, &ts, tp->ema_decay > 0 ? &ema : NULL, &res);
    have_ema = tp->ema_decay > 0 && ema.params != NULL;
    cli_train_watch_stop(&watch);
    if (r < 0 && r != STRAND_E_CANCELLED) goto err;
    char steps_s[32], thr_s[64], ce_s[64], acc_s[64];
    snprintf(steps_s, sizeof steps_s, "%lld", (long long)res.steps_done);
    snprintf(thr_s, sizeof thr_s, "%.9g", d.thr);
    snprintf(ce_s, sizeof ce_s, "%.6f", res.last_val_loss);
    snprintf(acc_s, sizeof acc_s, "%.6f", trn.val_acc);
    const char *extra[] = {"strand.train.steps", steps_s, "strand.train.val_ce", ce_s, "strand.train.val_acc", acc_s,
                           o.like ? "strand.train.like" : NULL, o.like,
                           o.data.prop_col ? "strand.train.class1_threshold" : NULL, thr_s,
                           o.data.prop_col ? "strand.train.class1_property" : NULL, o.data.prop_col, NULL, NULL};
    /* the NULL-terminated list stops at the first absent key: move the present pairs forward */
    const char *kv[16];
    size_t nk = 0;
    for (size_t i = 0; i + 1 < sizeof extra / sizeof extra[0]; i += 2)
        if (extra[i]) kv[nk++] = extra[i], kv[nk++] = extra[i + 1];
    kv[nk] = kv[nk + 1] = NULL;
    if (clf_save(w, have_ema ? ema.params : NULL, d.tok, kv, o.loop.out) < 0) goto err;
    if (r == STRAND_E_CANCELLED) {
        rc = cli_train_stopped(&res, tp, "classifier", o.loop.out);
    } else {
        if (!o.loop.quiet)
            cli_info("%lld steps, last loss %.4f, val CE %.4f nats, val accuracy %.4f; saved to %s (%.0f s)",
                     (long long)res.steps_done, res.last_loss, res.last_val_loss, trn.val_acc, o.loop.out,
                     st_clock_s() - watch.t0);
        rc = 0;
    }
    goto done;
err:
    cli_error("%s", strand_last_error());
    rc = 1;
done:
    if (have_ema) pb_free(&ema);
    diff_source_free(&src);
    clf_trainer_free(&trn);
    clf_weights_free(w);
    cli_data_free(&d);
    cli_data_opts_free(&o.data);
    if (o.like) diff_model_free(&like);
    strand_tokenizer_free(like_tok);
    return rc;
}
