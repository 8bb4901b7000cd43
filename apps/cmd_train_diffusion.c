/* `strand train mdlm|udlm|bd3lm|duo` and `strand distill`: masked or uniform discrete diffusion on the
 * DiT or DiMamba (mdlm|udlm --backbone; docs/diffusion.md "Training", "Backbones"), block diffusion (docs/bd3lm.md), Duo's Gaussian curriculum before
 * the uniform ELBO and Duo's discrete consistency distillation of a uniform model (docs/duo.md), on a
 * SMILES table or on labelled DNA window shards. */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "apps/cli_train.h"
#include "apps/cli_train_opts.h"
#include "apps/commands.h"
#include "core/clock.h"
#include "core/train.h"
#include "guidance/bd3lm.h"
#include "guidance/diff_data.h"
#include "guidance/diff_train.h"
#include "guidance/duo_train.h"
#include "strand.h"

/* plain MDLM/UDLM, Duo curriculum then UDLM, distillation of a UDLM/Duo model */
typedef enum { MODE_PLAIN, MODE_DUO, MODE_DISTILL } train_mode;

/* The data and loop option groups are shared with `strand train classifier` (apps/cli_train_opts.h);
 * the rest is the model, the process and the mode's own settings. */
typedef struct dopts {
    diff_process proc;
    cli_data_opts data;
    cli_loop_opts loop;
    const char *noise, *backbone;
    double label_dropout;
    long dim, depth, heads, cond, val_samples, T;
    int no_labels;
    long block;                /* bd3lm: block size L' */
    double clip_beta, clip_omega, clip_delta;
    double clip_widths[16];
    size_t n_clip_widths;
    long clip_rows;
    train_mode mode;
    double gamma_min, gamma_max, tau_start, tau_end, curriculum_frac, dt0, dt_max; /* Duo */
    long refresh_every;
    const char *teacher;
} dopts;

static dopts default_dopts(void)
{
    dopts o;
    memset(&o, 0, sizeof o);
    cli_data_defaults(&o.data);
    cli_loop_defaults(&o.loop);
    o.label_dropout = 0.1;
    o.dim = 128;
    o.depth = 4;
    o.heads = 4;
    o.cond = 128;
    o.val_samples = 1;
    o.noise = "loglinear";
    o.backbone = "dit";
    o.clip_beta = 1e-3;
    o.clip_omega = 1.0;
    o.clip_delta = 0.05;
    o.clip_rows = 256;
    o.gamma_min = -3.5; /* Duo's curriculum (configs/algo/duo.yaml) */
    o.gamma_max = -1.75;
    o.tau_start = o.tau_end = 1e-3; /* Duo's LM1B run */
    o.curriculum_frac = 0.5;
    o.dt0 = 1.0 / 512;
    o.dt_max = 0.25;
    o.refresh_every = 250;
    return o;
}

static dopts mode_dopts(train_mode mode)
{
    dopts o = default_dopts();
    o.mode = mode;
    if (mode == MODE_DISTILL) { /* Duo's distillation: constant lr 6e-5 after a short warmup */
        o.gamma_min = -4.0;
        o.gamma_max = -1.0;
        o.loop.tp.opt.lr = 6e-5f;
        o.loop.warmup_frac = 0.01;
        o.loop.min_lr_frac = 1.0;
        o.loop.tp.ema_decay = 0.99f;
    }
    return o;
}

static void dusage_duo(FILE *fp, train_mode mode)
{
    dopts d = mode_dopts(mode);
    if (mode == MODE_DUO)
        fprintf(fp,
                "\nUsage: strand train duo (-i TABLE | --species-windows DIR | --fasta FILE[:Y]...) -o MODEL.safetensors [options]\n\n"
                "Duo (docs/duo.md \"Curriculum training\"): for the first part of the run the input is the relaxed\n"
                "softmax(w_t/tau) of a Gaussian-diffused one-hot w_t = a~ e_x + s~ eps (through the DiT's soft input), the\n"
                "loss the uniform ELBO (Rao-Blackwellised form) at z_t = argmax w_t with alpha_t = T(a~_t), gamma_t linear in t;\n"
                "then the true discrete UDLM ELBO. The model is a UDLM model (sample, eval as any). Options of `strand train\n"
                "udlm`, and:\n"
                "      --curriculum-frac F  fraction of --steps on the curriculum (default %g)\n"
                "      --tau T              softmax temperature at the start of the curriculum (default %g)\n"
                "      --tau-end T          ... at its end, log-linear in between (default %g)\n"
                "      --gamma-min G        Gaussian level range: gamma_t = G_min + t (G_max - G_min), a~^2 = sigmoid(-gamma)\n"
                "      --gamma-max G        (defaults %g, %g)\n\n"
                "Example:\n"
                "  strand train duo -i smiles_60k.props.tsv --prop-col qed -L 64 --steps 4000 --dim 96 --depth 3 -o smiles-duo-qed.safetensors\n\n",
                d.curriculum_frac, d.tau_start, d.tau_end, d.gamma_min, d.gamma_max);
    else
        fprintf(fp,
                "\nUsage: strand distill -m TEACHER (-i TABLE | --species-windows DIR | --fasta FILE[:Y]...) -o STUDENT.safetensors [options]\n\n"
                "Discrete consistency distillation (docs/duo.md \"Discrete consistency distillation\"): the student (initialised\n"
                "from TEACHER, a UDLM or Duo model) at (z_t, t) matches by KL(student || teacher) a frozen copy of itself at\n"
                "(z_s, s = t - dt), z_t and z_s the argmax of one Gaussian trajectory (shared eps); the copy is refreshed every K\n"
                "steps and dt doubles at each refresh. The data options are those of `strand train udlm` (give the table and\n"
                "class options the teacher was trained with); the model options come from TEACHER. Defaults differ:\n"
                "lr %g, warmup %g, min-lr-frac %g (constant), EMA %g. And:\n"
                "  -m, --model TEACHER      the model to distill (safetensors with a tokenizer)\n"
                "      --refresh-every K    teacher refresh and dt doubling every K steps (default %ld)\n"
                "      --dt0 DT             first dt (default 1/512)\n"
                "      --dt-max DT          largest dt (default %g)\n"
                "      --gamma-min G        Gaussian level range (defaults %g, %g)\n"
                "      --gamma-max G\n\n"
                "Example:\n"
                "  strand distill -m smiles-duo-qed.safetensors -i smiles_60k.props.tsv --prop-col qed -L 64 --steps 1500 -o smiles-duo-qed-dcd.safetensors\n\n",
                (double)d.loop.tp.opt.lr, d.loop.warmup_frac, d.loop.min_lr_frac, (double)d.loop.tp.ema_decay, d.refresh_every, d.dt_max,
                d.gamma_min, d.gamma_max);
}

static const char bd3_usage[] =
    "Block diffusion (bd3lm, docs/bd3lm.md): masked diffusion inside blocks of L' tokens conditioned on the\n"
    "clean blocks before them; one forward over concat(x_t, x_0) (2L) with the block attention mask,\n"
    "one time per block, the SUBS loss at masked positions. Not time-conditioned.\n"
    "      --block L'           block size, 1 <= L' <= L (required; 1 = autoregressive, L = MDLM)\n"
    "      --clip B,W           training times t ~ U[B, W] (default 0.001,1: the ELBO)\n"
    "      --clip-widths W,...  clipped-schedule search at every validation: candidates (0.001, 1) and\n"
    "                           [i, i + w] for i = 0, delta, ... (each width w); the one of least variance\n"
    "                           of the per-block loss on validation data becomes the training interval\n"
    "      --clip-delta D       step of the search's starts (default 0.05)\n"
    "      --clip-rows N        validation sequences the search uses (default 256)\n";

static void dusage(FILE *fp, const char *kind)
{
    dopts d = default_dopts();
    int mdlm = strcmp(kind, "udlm") != 0;
    fprintf(fp,
            "\nUsage: strand train %s (-i TABLE | --species-windows DIR | --fasta FILE[:Y]...) -o MODEL.safetensors [options]\n\n"
            "%s discrete diffusion on the DiT (docs/diffusion.md \"Training\"): times t stratified over the batch\n"
            "(eps 1e-3), corruption %s, the continuous-time %s loss (or T-step discrete),\n"
            "label dropout to the null label for classifier-free guidance, AdamW, warmup + cosine, EMA of the\n"
            "weights (the saved model holds the EMA), validation NELBO per token on held-out data.\n"
            "A SMILES table's vocabulary is built from the table; without :Y a --fasta file has no labels.\n\n",
            kind, mdlm ? "Masked (MDLM, SUBS parameterisation)" : "Uniform (UDLM)", mdlm ? "to [MASK]" : "to a uniformly random id",
            mdlm ? "MDLM" : "UDLM");
    cli_data_usage(fp, &d.data);
    fprintf(fp,
            "      --no-labels          train unconditionally (no label embedding)\n"
            "Model (docs/dit.md):\n"
            "      --backbone B         dit | dimamba (BiMamba blocks + adaLN, docs/dit.md \"DiMamba\"; mdlm/udlm; default %s)\n"
            "      --dim D              hidden width (default %ld)\n"
            "      --depth N            blocks (default %ld)\n"
            "      --heads H            attention heads (default %ld)\n"
            "      --cond-dim C         conditioning width (default %ld)\n"
            "      --noise S            loglinear | cosine (default %s)\n"
            "      --T T                discrete-time loss with T steps (default 0 = continuous)\n"
            "%s%s",
            d.backbone, d.dim, d.depth, d.heads, d.cond, d.noise,
            !strcmp(kind, "bd3lm") ? ""
            : mdlm ? "      --time-cond          feed sigma_t to the network (default: MDLM is not time-conditioned)\n"
                   : "      --no-time-cond       feed 0 instead of sigma_t (default: time-conditioned)\n",
            !strcmp(kind, "bd3lm") ? bd3_usage : "");
    cli_loop_usage(fp, &d.loop);
    fprintf(fp,
            "      --label-dropout P    (default %g)\n"
            "      --val-samples K      Monte-Carlo samples of t per validation sequence (default %ld)\n\n"
            "The validation loss is the NELBO in nats per token. SIGINT/SIGTERM stop after the current step:\n"
            "checkpoint and model are written.\n\n"
            "Examples:\n"
            "  strand train %s -i smiles_500K.props.tsv --prop-col qed --max-rows 100000 -L 64 --steps 2000 \\\n"
            "      --ckpt run.ckpt --ckpt-every 100 --log log.tsv -o smiles-%s-qed.safetensors\n"
            "  strand train %s --species-windows out/species_windows -L 256 --steps 1000 -o dna-%s-species.safetensors\n"
            "  strand train udlm --fasta ecoli.fa:0 --fasta saureus.fa:1 --val-fasta heldout.fa:1 -L 128 -o dna.safetensors\n\n",
            d.label_dropout, d.val_samples, kind, kind, kind, kind);
}

static void on_clip_search(void *user, double beta, double omega, double var)
{
    if (!*(int *)user) cli_info("clipped-schedule search: t ~ U[%.3g, %.3g] (variance of the per-block loss %.4g)", beta, omega, var);
}

static int parse_doubles(const char *opt, const char *arg, double *v, size_t max, size_t *n)
{
    *n = 0;
    for (const char *p = arg; *p && *n < max;) {
        char *e;
        v[*n] = strtod(p, &e);
        if (e == p || !(v[*n] > 0 && v[*n] <= 1)) cli_die("bad %s \"%s\": want numbers in (0, 1] separated by commas", opt, arg);
        (*n)++;
        p = *e == ',' ? e + 1 : e;
        if (*e && *e != ',') cli_die("bad %s \"%s\"", opt, arg);
    }
    return 0;
}

static int train_diffusion(int argc, char **argv, diff_process proc, int bd3, train_mode mode)
{
    const char *kind = bd3 ? "bd3lm" : diff_process_name(proc);
    if (argc < 2) {
        if (mode == MODE_PLAIN) dusage(stdout, kind);
        else dusage_duo(stdout, mode);
        return 0;
    }
    /* the mode checks below rely on this order: ... O_BLOCK..O_CLIPR, O_CFRAC..O_TAUE, O_GMIN, O_GMAX, O_REFRESH..O_BACKBONE */
    enum {
        O_NOLAB = 256, O_DIM, O_DEPTH, O_HEADS, O_COND, O_NOISE, O_T, O_TC, O_NOTC, O_DROP, O_VALS, O_BLOCK, O_CLIP, O_CLIPW,
        O_CLIPD, O_CLIPR, O_CFRAC, O_TAU, O_TAUE, O_GMIN, O_GMAX, O_REFRESH, O_DT0, O_DTMAX, O_BACKBONE
    };
    static const struct option own[] = {
        {"no-labels", no_argument, NULL, O_NOLAB}, {"dim", required_argument, NULL, O_DIM},
        {"depth", required_argument, NULL, O_DEPTH}, {"heads", required_argument, NULL, O_HEADS},
        {"cond-dim", required_argument, NULL, O_COND}, {"noise", required_argument, NULL, O_NOISE},
        {"T", required_argument, NULL, O_T}, {"time-cond", no_argument, NULL, O_TC},
        {"no-time-cond", no_argument, NULL, O_NOTC}, {"label-dropout", required_argument, NULL, O_DROP},
        {"val-samples", required_argument, NULL, O_VALS}, {"block", required_argument, NULL, O_BLOCK},
        {"clip", required_argument, NULL, O_CLIP}, {"clip-widths", required_argument, NULL, O_CLIPW},
        {"clip-delta", required_argument, NULL, O_CLIPD}, {"clip-rows", required_argument, NULL, O_CLIPR},
        {"curriculum-frac", required_argument, NULL, O_CFRAC}, {"tau", required_argument, NULL, O_TAU},
        {"tau-end", required_argument, NULL, O_TAUE}, {"gamma-min", required_argument, NULL, O_GMIN},
        {"gamma-max", required_argument, NULL, O_GMAX}, {"model", required_argument, NULL, 'm'},
        {"refresh-every", required_argument, NULL, O_REFRESH}, {"dt0", required_argument, NULL, O_DT0},
        {"dt-max", required_argument, NULL, O_DTMAX}, {"backbone", required_argument, NULL, O_BACKBONE},
        {"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0}};
    struct option *lo = cli_train_opts_merge(own);
    dopts o = mode_dopts(mode);
    o.proc = proc;
    train_params *tp = &o.loop.tp;
    int time_cond = proc == DIFF_UNIFORM;
    int c, rc = 1, r2;
    optind = 1;
    while ((c = getopt_long(argc, argv, "i:L:B:o:m:qh", lo, NULL)) != -1) {
        int plain_only = c == 'm' || (c >= O_CFRAC && c <= O_DTMAX), bd3_only = c >= O_BLOCK && c <= O_CLIPR;
        if ((mode == MODE_PLAIN && plain_only) || (mode == MODE_DUO && (c == 'm' || (c >= O_REFRESH && c <= O_BACKBONE))) ||
            (mode == MODE_DISTILL && c >= O_CFRAC && c <= O_TAUE) || (mode != MODE_PLAIN && bd3_only))
            c = '?';
        else if (cli_data_option(&o.data, c, optarg) || cli_loop_option(&o.loop, c, optarg))
            continue;
        switch (c) {
        case O_CFRAC: o.curriculum_frac = cli_double("--curriculum-frac", optarg, 0, 1); break;
        case O_TAU: o.tau_start = o.tau_end = cli_double("--tau", optarg, 1e-9, 1e9); break;
        case O_TAUE: o.tau_end = cli_double("--tau-end", optarg, 1e-9, 1e9); break;
        case O_GMIN: o.gamma_min = cli_double("--gamma-min", optarg, -50, 50); break;
        case O_GMAX: o.gamma_max = cli_double("--gamma-max", optarg, -50, 50); break;
        case 'm': o.teacher = optarg; break;
        case O_REFRESH: o.refresh_every = cli_long("--refresh-every", optarg, 1, LONG_MAX); break;
        case O_DT0: o.dt0 = cli_double("--dt0", optarg, 1e-9, 1); break;
        case O_DTMAX: o.dt_max = cli_double("--dt-max", optarg, 1e-9, 1); break;
        case O_NOLAB: o.no_labels = 1; break;
        case O_BACKBONE: o.backbone = optarg; break;
        case O_DIM: o.dim = cli_long("--dim", optarg, 2, 65536); break;
        case O_DEPTH: o.depth = cli_long("--depth", optarg, 1, 1024); break;
        case O_HEADS: o.heads = cli_long("--heads", optarg, 1, 1024); break;
        case O_COND: o.cond = cli_long("--cond-dim", optarg, 1, 65536); break;
        case O_NOISE: o.noise = optarg; break;
        case O_T: o.T = cli_long("--T", optarg, 0, 1000000); break;
        case O_TC: time_cond = 1; break;
        case O_NOTC: time_cond = 0; break;
        case O_DROP: o.label_dropout = cli_double("--label-dropout", optarg, 0, 1); break;
        case O_VALS: o.val_samples = cli_long("--val-samples", optarg, 1, 100000); break;
        case O_BLOCK: o.block = cli_long("--block", optarg, 1, 1 << 20); break;
        case O_CLIP: {
            double v[2];
            size_t nv;
            parse_doubles("--clip", optarg, v, 2, &nv);
            if (nv != 2 || !(v[0] < v[1])) cli_die("bad --clip \"%s\": want B,W with 0 < B < W <= 1", optarg);
            o.clip_beta = v[0], o.clip_omega = v[1];
            break;
        }
        case O_CLIPW: parse_doubles("--clip-widths", optarg, o.clip_widths, 16, &o.n_clip_widths); break;
        case O_CLIPD: o.clip_delta = cli_double("--clip-delta", optarg, 1e-6, 1); break;
        case O_CLIPR: o.clip_rows = cli_long("--clip-rows", optarg, 0, LONG_MAX); break;
        case 'h':
            free(lo);
            if (mode == MODE_PLAIN) dusage(stdout, kind);
            else dusage_duo(stdout, mode);
            return 0;
        default:
            free(lo);
            if (mode == MODE_PLAIN) dusage(stderr, kind);
            else dusage_duo(stderr, mode);
            return 1;
        }
    }
    free(lo);
    if (optind < argc) return cli_error("unexpected argument \"%s\"", argv[optind]);
    if (!o.loop.out) return cli_error("-o MODEL.safetensors is required");
    if (bd3 && (o.block < 1 || (size_t)o.block > tp->seq_len))
        return cli_error("bd3lm needs --block L' with 1 <= L' <= -L %zu", tp->seq_len);
    if (!bd3 && (o.block || o.n_clip_widths)) return cli_error("--block and --clip-* are for `strand train bd3lm`");
    if (bd3 && (time_cond || o.T)) return cli_error("bd3lm models are continuous-time and not time-conditioned");
    if (!!o.data.table + !!o.data.species + (o.data.fasta.n > 0) != 1)
        return cli_error("give exactly one of -i TABLE, --species-windows DIR or --fasta FILE[:Y]");
    if (o.data.label_col && o.data.prop_col) return cli_error("--label-col and --prop-col exclude each other");
    if (mode != MODE_PLAIN && !(o.gamma_max > o.gamma_min))
        return cli_error("--gamma-min %g must be below --gamma-max %g", o.gamma_min, o.gamma_max);
    if (mode == MODE_DISTILL && !o.teacher) return cli_error("-m TEACHER is required");
    if (mode == MODE_DISTILL && o.dt_max < o.dt0) return cli_error("--dt-max %g is below --dt0 %g", o.dt_max, o.dt0);
    diff_schedule sched;
    if (diff_schedule_parse(o.noise, &sched) < 0) return cli_error("%s", strand_last_error());
    int dimamba = !strcmp(o.backbone, "dimamba");
    if (!dimamba && strcmp(o.backbone, "dit") != 0) return cli_error("--backbone \"%s\": dit or dimamba", o.backbone);
    if (dimamba && (bd3 || mode != MODE_PLAIN))
        return cli_error("--backbone dimamba is for `strand train mdlm|udlm` (bd3lm, duo and distill use the DiT)");
    if (!dimamba && (o.dim % o.heads || (o.dim / o.heads) % 2))
        return cli_error("--dim %ld must be a multiple of --heads %ld with an even head width", o.dim, o.heads);
    strand_set_threads(o.loop.threads);

    strand_tokenizer *tok = NULL; /* distillation: the teacher's */
    cli_data data = {0};
    diff_model net = {0};
    diff_trainer trn = {0};
    bd3lm_trainer btr = {0};
    diff_source src = {0};
    paramblock ema;
    int have_ema = 0;
    cli_train_watch watch = {0};
    double t_load = st_clock_s();
    size_t L = tp->seq_len, B = tp->batch;
    duo_trainer duo = {0};
    duo_distiller dis = {0};
    if (mode == MODE_DISTILL) { /* the student starts as the teacher; its tokenizer reads the data */
        if (diff_model_load(&net, o.teacher, &tok) < 0) goto err;
        if (!net.w) {
            cli_error("%s: distillation needs a DiT model (this one is %s)", o.teacher, diff_model_backbone(&net));
            goto done;
        }
        if (net.spec.proc != DIFF_UNIFORM) {
            cli_error("%s: distillation needs a uniform-state (UDLM or Duo) model", o.teacher);
            goto done;
        }
        if (L > (size_t)net.w->cfg.model_length) {
            cli_error("-L %zu exceeds the model length %d of %s", L, net.w->cfg.model_length, o.teacher);
            goto done;
        }
        if (o.data.table && !tok) {
            cli_error("%s has no tokenizer: it cannot read a SMILES table", o.teacher);
            goto done;
        }
    }
    /* distillation reads a SMILES table with the teacher's tokenizer; DNA always has the DNA one */
    strand_tokenizer *given = mode == MODE_DISTILL && o.data.table ? tok : NULL;
    cli_data_opts dopt = o.data;
    if (o.no_labels) dopt.label_col = dopt.prop_col = NULL;
    if (cli_data_load(&dopt, L, given, given ? (int)strand_tokenizer_vocab_size(given) : 0, &data)) goto done;
    if (o.no_labels) { /* DNA sets come labelled by species or file */
        free(data.tr.labels), free(data.va.labels);
        data.tr.labels = data.va.labels = NULL;
        data.n_classes = 0;
    }
    diff_seqs *tr = &data.tr, *va = &data.va;
    int n_classes = data.n_classes, vocab = data.vocab, mask_id = data.mask_id;
    double thr = data.thr;

    dit_config dc = dit_default_config();
    dc.vocab = vocab;
    dc.dim = (int)o.dim;
    dc.depth = (int)o.depth;
    dc.heads = (int)o.heads;
    dc.cond_dim = (int)o.cond;
    dc.time_cond = time_cond;
    dc.num_classes = n_classes;
    dc.model_length = (int)L;
    diff_loss_spec spec = {proc, sched, vocab, proc == DIFF_MASKED ? mask_id : -1, (int)o.T};
    if (mode == MODE_DISTILL) {
        if (vocab != net.w->cfg.vocab) {
            cli_error("the data's vocabulary (%d ids) is not the model's (%d)", vocab, net.w->cfg.vocab);
            goto done;
        }
        n_classes = net.w->cfg.num_classes;
        o.dim = net.w->cfg.dim, o.depth = net.w->cfg.depth, o.heads = net.w->cfg.heads;
    } else if (dimamba) {
        dimamba_config mc = dimamba_default_config();
        mc.vocab = vocab, mc.dim = (int)o.dim, mc.depth = (int)o.depth, mc.cond_dim = (int)o.cond;
        mc.time_cond = time_cond, mc.num_classes = n_classes, mc.model_length = (int)L;
        if (diff_model_create_dimamba(&net, &mc, &spec) < 0) goto err;
        strand_rng irng;
        strand_rng_seed(&irng, tp->seed ^ 0x5DEECE66Dull);
        dimamba_init_weights(net.mw, &irng);
    } else {
        if (diff_model_create(&net, &dc, &spec) < 0) goto err;
        strand_rng irng;
        strand_rng_seed(&irng, tp->seed ^ 0x5DEECE66Dull);
        dit_init_weights(net.w, &irng);
    }
    if (bd3) {
        if (bd3lm_trainer_init(&btr, &net, B, L, (size_t)o.block) < 0) goto err;
        btr.beta = o.clip_beta, btr.omega = o.clip_omega;
        btr.widths = o.clip_widths, btr.n_widths = o.n_clip_widths, btr.delta = o.clip_delta;
        btr.search_rows = (size_t)o.clip_rows;
        btr.search_on_first = tp->resume_path != NULL; /* a resumed run: the interval of the restored weights */
        btr.on_search = on_clip_search, btr.on_search_user = &o.loop.quiet;
    } else if (diff_trainer_init(&trn, &net, B, L) < 0)
        goto err;
    diff_trainer *dt = bd3 ? &btr.base : &trn;
    dt->label_dropout = n_classes ? o.label_dropout : 0.0;
    dt->val = va->n ? va : NULL;
    dt->val_samples = (int)o.val_samples;
    dt->val_seed = 12345;
    if (diff_source_init(&src, tr, tp->seed) < 0) goto err;

    size_t n1 = 0;
    if (tr->labels)
        for (size_t i = 0; i < tr->n; i++) n1 += tr->labels[i] == 1;
    if (!o.loop.quiet) {
        fprintf(stderr, "%s: %zu training / %zu validation sequences of %zu ids (vocabulary %d)", cli_prog(), tr->n, va->n, L,
                vocab);
        if (data.skipped || data.vskipped) fprintf(stderr, "; skipped %zu + %zu bad rows", data.skipped, data.vskipped);
        if (!isnan(thr)) fprintf(stderr, "; %s >= %.6g (q %.2f) -> class 1: %zu of %zu", o.data.prop_col, thr, o.data.prop_q, n1, tr->n);
        fprintf(stderr, "; %d classes; data ready in %.1f s\n", n_classes, st_clock_s() - t_load);
        if (dimamba)
            cli_info("DiMamba dim %ld, depth %ld, %zu parameters; B %zu, %lld steps (%.2f epochs)", o.dim, o.depth,
                     diff_model_params(&net)->total, B, (long long)tp->steps, (double)tp->steps * B / tr->n);
        else
            cli_info("DiT dim %ld, depth %ld, heads %ld, %zu parameters; B %zu, %lld steps (%.2f epochs)", o.dim, o.depth,
                     o.heads, diff_model_params(&net)->total, B, (long long)tp->steps, (double)tp->steps * B / tr->n);
    }

    cli_loop_finish(&o.loop);
    if (!va->n) tp->val_every = 0;
    train_model tm = {diff_model_params(&net), diff_trainer_fb, diff_trainer_validate, &trn};
    if (bd3) tm = (train_model){&net.w->pb, bd3lm_trainer_fb, bd3lm_trainer_validate, &btr};
    int64_t resumed = tp->resume_path ? train_checkpoint_step(tp->resume_path) : 0;
    if (resumed < 0) goto err;
    if (mode == MODE_DUO) {
        int64_t cs = (int64_t)llround(o.curriculum_frac * (double)tp->steps);
        if (duo_trainer_init(&duo, &trn, o.gamma_min, o.gamma_max, cs, o.tau_start, o.tau_end) < 0) goto err;
        duo.step = resumed;
        tm = (train_model){&net.w->pb, duo_trainer_fb, duo_trainer_validate, &duo};
        if (!o.loop.quiet)
            cli_info("Duo curriculum: steps 1-%lld, gamma [%g, %g] -> alpha_t [%.4f, %.4f], tau %g -> %g; then the UDLM ELBO",
                     (long long)cs, o.gamma_min, o.gamma_max, duo_gauss_alpha(&duo.g, 1.0, NULL, NULL),
                     duo_gauss_alpha(&duo.g, 0.0, NULL, NULL), o.tau_start, o.tau_end);
    } else if (mode == MODE_DISTILL) {
        if (duo_distiller_init(&dis, &net, B, L, o.gamma_min, o.gamma_max, o.refresh_every, o.dt0, o.dt_max) < 0) goto err;
        dis.base = &trn;
        dis.label_dropout = trn.label_dropout;
        dis.step = resumed;
        tm = (train_model){&net.w->pb, duo_distiller_fb, duo_distiller_validate, &dis};
        if (!o.loop.quiet)
            cli_info("distillation: gamma [%g, %g] -> alpha_t [%.4f, %.4f]; teacher refreshed and dt doubled every %ld steps, "
                     "dt %g .. %g",
                     o.gamma_min, o.gamma_max, duo_gauss_alpha(&dis.g, 1.0, NULL, NULL), duo_gauss_alpha(&dis.g, 0.0, NULL, NULL),
                     o.refresh_every, o.dt0, o.dt_max);
    }
    train_source ts = {diff_source_next, 1, &src};
    cli_train_watch_start(&watch, tp, o.loop.quiet, "val NELBO", " nats/token");
    train_result res;
    memset(&ema, 0, sizeof ema);
    int r = train_run(tp, &tm, &ts, tp->ema_decay > 0 ? &ema : NULL, &res);
    have_ema = tp->ema_decay > 0 && ema.params != NULL;
    cli_train_watch_stop(&watch);
    if (r < 0 && r != STRAND_E_CANCELLED) goto err;
    char steps_s[32], thr_s[64], nelbo_s[64], duo_s[256];
    snprintf(steps_s, sizeof steps_s, "%lld", (long long)res.steps_done);
    snprintf(thr_s, sizeof thr_s, "%.9g", thr);
    snprintf(nelbo_s, sizeof nelbo_s, "%.6f", res.last_val_loss);
    if (mode == MODE_DUO)
        snprintf(duo_s, sizeof duo_s, "curriculum steps %lld, gamma %g %g, tau %g %g", (long long)duo.steps, o.gamma_min,
                 o.gamma_max, o.tau_start, o.tau_end);
    else
        snprintf(duo_s, sizeof duo_s, "from %s: refresh every %ld, dt %g .. %g, gamma %g %g", o.teacher ? o.teacher : "",
                 o.refresh_every, o.dt0, o.dt_max, o.gamma_min, o.gamma_max);
    const char *dkey = mode == MODE_DUO ? "strand.train.duo" : mode == MODE_DISTILL ? "strand.train.distill" : NULL;
    const char *extra[] = {"strand.train.steps", steps_s, "strand.train.val_nelbo_live", nelbo_s,
                           dkey ? dkey : "strand.train.val_nelbo_live", dkey ? duo_s : nelbo_s,
                           o.data.prop_col ? "strand.train.class1_threshold" : NULL, thr_s,
                           o.data.prop_col ? "strand.train.class1_property" : NULL, o.data.prop_col, NULL, NULL};
    char *cfg_json = bd3 ? bd3lm_config_json(&net.w->cfg, &net.spec, (int)o.block, btr.beta, btr.omega) : NULL;
    if (bd3 && !cfg_json) goto err;
    r2 = diff_model_save_json(&net, have_ema ? ema.params : NULL, cfg_json, data.tok, extra, o.loop.out);
    free(cfg_json);
    if (r2 < 0) goto err;
    if (r == STRAND_E_CANCELLED) {
        rc = cli_train_stopped(&res, tp, "model", o.loop.out);
    } else {
        if (!o.loop.quiet)
            cli_info("%lld steps, last loss %.4f, last val NELBO %.4f nats/token (live weights); %s saved to %s (%.0f s)",
                     (long long)res.steps_done, res.last_loss, res.last_val_loss, have_ema ? "EMA weights" : "weights", o.loop.out,
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
    duo_trainer_free(&duo);
    duo_distiller_free(&dis);
    diff_trainer_free(&trn);
    bd3lm_trainer_free(&btr);
    diff_model_free(&net);
    cli_data_free(&data);
    strand_tokenizer_free(tok);
    cli_data_opts_free(&o.data);
    return rc;
}

int cmd_train_mdlm_main(int argc, char **argv) { return train_diffusion(argc, argv, DIFF_MASKED, 0, MODE_PLAIN); }
int cmd_train_udlm_main(int argc, char **argv) { return train_diffusion(argc, argv, DIFF_UNIFORM, 0, MODE_PLAIN); }
int cmd_train_bd3lm_main(int argc, char **argv) { return train_diffusion(argc, argv, DIFF_MASKED, 1, MODE_PLAIN); }
int cmd_train_duo_main(int argc, char **argv) { return train_diffusion(argc, argv, DIFF_UNIFORM, 0, MODE_DUO); }
int cmd_distill_main(int argc, char **argv) { return train_diffusion(argc, argv, DIFF_UNIFORM, 0, MODE_DISTILL); }
