/* `strand sample`: sequences from an MDLM/UDLM model by ancestral sampling with optional
 * classifier-free guidance (docs/diffusion.md "MDLM sampler", "UDLM sampler", "Classifier-free
 * guidance"), or from a BD3-LM model block by block (docs/bd3lm.md "Sampling with a key/value
 * cache": KV cache, ancestral or first-hitting inside a block, stop at <eos>, any --length). Output by extension: .npy token ids (int32 [n, L]), .fa/.fasta/.fna FASTA, anything
 * else SMILES/text one per line; decoded text has the special tokens stripped. Written
 * atomically: a failed or cancelled run leaves nothing under the final name. */
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "apps/cli_cbg.h"
#include "apps/commands.h"
#include "apps/model_tokenizer.h"
#include "core/atomic_file.h"
#include "core/npy.h"
#include "core/progress.h"
#include "guidance/bd3lm.h"
#include "guidance/bd3lm_sampler.h"
#include "strand.h"

typedef struct sample_opts {
    const char *model, *output, *format;
    long n;
    int steps; /* 0: 32, or 128 for a DNA model */
    long batch, length;
    uint64_t seed;
    int threads, label, quiet, greedy_final, noise_removal, use_cache, first_hitting, tail;
    long window;
    double gamma, top_p;
    cli_cbg_opts cbg;
} sample_opts;

static sample_opts sample_default_opts(void)
{
    sample_opts o = {0};
    strand_sampler_params p = strand_sampler_default_params();
    o.n = 100;
    o.batch = (long)p.batch;
    o.threads = 1;
    o.label = -1;
    o.gamma = p.gamma;
    o.top_p = p.top_p;
    o.noise_removal = p.noise_removal;
    o.use_cache = p.use_cache;
    cli_cbg_defaults(&o.cbg);
    return o;
}

static void sample_usage(FILE *fp)
{
    sample_opts d = sample_default_opts();
    fprintf(fp,
            "Usage: strand sample -m MODEL -o OUT [options]\n\n"
            "Sample sequences from a masked (MDLM) or uniform (UDLM) diffusion model by ancestral sampling\n"
            "on the time grid linspace(1, 1e-5, steps + 1), with optional classifier-free guidance.\n\n"
            "Options:\n"
            "  -m, --model PATH      diffusion model (.safetensors[.zst], or an HF directory)\n"
            "  -o, --output FILE     .npy: token ids int32 (n, L); .fa/.fasta/.fna: FASTA; otherwise one\n"
            "                        decoded sequence per line (SMILES); special tokens are stripped\n"
            "      --format F        npy, fasta or text, instead of guessing from the extension\n"
            "  -n, --num N           samples [%ld]\n"
            "      --steps T         denoising steps >= 1 [32; 128 for a DNA model]\n"
            "      --batch B         sequences per network call [%ld]; samples depend on seed and B only\n"
            "      --seed S          [%llu]\n"
            "      --threads N       workers, one batch each at a time (0: all cores) [%d]\n"
            "      --length L        sequence length [the model's]\n"
            "      --label Y         class for a label-conditioned model (default: none = the null label)\n"
            "      --gamma G         CFG weight >= 0 with --label: 0 unconditional, 1 conditional, > 1 stronger\n"
            "                        (two network rows per sample and step) [%g]\n"
            "      --top-p P         nucleus on the denoiser's distribution, (0, 1] [%g = off]\n"
            "      --greedy-final    the last step takes the argmax instead of drawing\n"
            "      --no-noise-removal  MDLM: skip the final argmax call for positions still [MASK]\n"
            "      --tail T          UDLM: after the steps one more call at 1e-5 and greedy (argmax x_theta) or\n"
            "                        ancestral (a draw of z_0); none (default). For few-step (Duo-distilled) models\n"
            "      --no-cache        MDLM: call the network for every row at every step; BD3-LM: no key/value\n"
            "                        cache (every call runs the clean prefix again; the same samples)\n"
            "BD3-LM models (block diffusion, docs/bd3lm.md): blocks left to right, --steps per block [16],\n"
            "  --length any (DNA: longer than the training window), SMILES stop at <eos> (variable length)\n"
            "      --first-hitting   unmask one position per network call (L' calls per block)\n"
            "      --window W        context window: the prefix keeps the last (W - L')/L' blocks [model length]\n"
            "  -q, --quiet           no progress or summary on stderr\n",
            d.n, d.batch, (unsigned long long)d.seed, d.threads, d.gamma, d.top_p);
    cli_cbg_usage(fp);
    fprintf(fp,
            "\nThe summary line gives the samples/s and the network evaluations per sample (NFE).\n\n"
            "Examples:\n"
            "  strand sample -m models/smiles-udlm-qed.safetensors -n 1000 --steps 32 -o mols.smi\n"
            "  strand sample -m models/smiles-mdlm-qed.safetensors --label 1 --gamma 2 -n 100 -o qed.smi\n"
            "  strand sample -m models/dna-udlm-species.safetensors --label 3 --gamma 2 -n 10 -o s.fa\n"
            "  strand sample -m models/smiles-udlm-qed.safetensors --classifier models/smiles-qed-classifier.safetensors \\\n"
            "      --class 1 --gamma 2 --cbg first-order -n 100 -o cbg.smi\n");
}

enum { FMT_NPY, FMT_FASTA, FMT_TEXT };

static int ends_with(const char *s, const char *suf)
{
    size_t a = strlen(s), b = strlen(suf);
    return a >= b && !strcmp(s + a - b, suf);
}

static int output_format(const sample_opts *o)
{
    if (o->format) {
        if (!strcmp(o->format, "npy")) return FMT_NPY;
        if (!strcmp(o->format, "fasta")) return FMT_FASTA;
        if (!strcmp(o->format, "text") || !strcmp(o->format, "smiles")) return FMT_TEXT;
        return -1;
    }
    if (ends_with(o->output, ".npy")) return FMT_NPY;
    if (ends_with(o->output, ".fa") || ends_with(o->output, ".fasta") || ends_with(o->output, ".fna"))
        return FMT_FASTA;
    return FMT_TEXT;
}

static int on_progress(void *user, uint64_t done, uint64_t total)
{
    st_progress_update(user, done);
    return 0;
}

/* Decoded text (specials stripped) of every sample: FASTA records or one line each. */
static int write_text(const char *path, int fasta, strand_tokenizer *tok, const int32_t *ids, size_t n, size_t L,
                      const sample_opts *o)
{
    st_atomic_file af;
    if (st_atomic_open(&af, path, 1) < 0) return cli_error("%s", strand_last_error());
    size_t cap = 16 * L + 16;
    char *buf = malloc(cap);
    if (!buf) {
        st_atomic_abort(&af);
        return cli_error("out of memory");
    }
    int32_t *keep = malloc(L * sizeof *keep);
    size_t dropped = 0;
    for (size_t i = 0; i < n && keep; i++) {
        size_t len = 0, k = 0;
        /* ids without a token (padding rows of the DNA vocabulary, which the uniform process can
         * draw) are dropped like the specials */
        for (size_t l = 0; l < L; l++) {
            if (strand_tokenizer_token(tok, ids[i * L + l])) keep[k++] = ids[i * L + l];
            else dropped++;
        }
        if (strand_tokenizer_decode(tok, keep, k, buf, cap, &len) < 0) {
            cli_error("sample %zu: %s", i + 1, strand_tokenizer_last_error(tok));
            free(buf), free(keep);
            st_atomic_abort(&af);
            return 1;
        }
        if (fasta) {
            fprintf(af.fp, ">sample_%zu seed=%llu", i + 1, (unsigned long long)o->seed);
            if (o->label >= 0 && !o->cbg.classifier) fprintf(af.fp, " label=%d gamma=%g", o->label, o->gamma);
            if (o->cbg.classifier) fprintf(af.fp, " class=%d cbg_gamma=%g", o->cbg.cls, o->gamma);
            fprintf(af.fp, "\n");
        }
        fprintf(af.fp, "%s\n", buf);
    }
    free(buf);
    if (!keep) {
        st_atomic_abort(&af);
        return cli_error("out of memory");
    }
    free(keep);
    if (dropped && !o->quiet) cli_info("warning: %zu sampled ids have no token in the tokenizer and were dropped", dropped);
    if (ferror(af.fp)) {
        st_atomic_abort(&af);
        return cli_error("%s: write error", path);
    }
    if (st_atomic_commit(&af) < 0) return cli_error("%s", strand_last_error());
    return 0;
}

static int on_block(void *user, uint64_t done, uint64_t total)
{
    (void)total;
    st_progress_update(user, done);
    return 0;
}

/* A BD3-LM model: the block sampler over the model's own weights and tokenizer. */
static int sample_bd3lm(const sample_opts *o, int fmt)
{
    diff_model net;
    strand_tokenizer *tok = NULL;
    int block = 0, status = 1;
    if (bd3lm_model_load(&net, &block, o->model, &tok) < 0) return cli_error("%s", strand_last_error());
    int32_t *ids = NULL;
    size_t *lens = NULL;
    st_progress *prog = NULL;
    int dna = tok && strand_tokenizer_kind(tok) == STRAND_TOKENIZER_DNA;
    if (fmt != FMT_NPY && !tok) {
        cli_error("%s: no tokenizer in the model; write .npy", o->model);
        goto done;
    }
    bd3lm_sampler_params p = bd3lm_sampler_default_params();
    p.length = o->length ? (size_t)o->length : (size_t)net.w->cfg.model_length;
    p.window = (size_t)o->window;
    if (o->steps) p.steps = o->steps;
    p.first_hitting = o->first_hitting;
    p.noise_removal = o->noise_removal;
    p.top_p = o->top_p;
    p.label = o->label;
    p.gamma = o->gamma;
    p.use_kv = o->use_cache;
    p.batch = (size_t)o->batch;
    p.seed = o->seed;
    if (tok && !dna) { /* SMILES: <bos> first, stop at <eos>, <pad> after */
        p.bos_id = strand_tokenizer_special(tok, STRAND_TOKEN_BOS);
        p.eos_id = strand_tokenizer_special(tok, STRAND_TOKEN_EOS);
        p.pad_id = strand_tokenizer_special(tok, STRAND_TOKEN_PAD);
    }
    size_t n = (size_t)o->n, B = p.batch < n ? p.batch : n, nblocks = (p.length + (size_t)block - 1) / (size_t)block;
    prog = st_progress_create("sample (blocks)", (uint64_t)((n + B - 1) / B) * nblocks, o->quiet, stderr);
    p.progress = on_block;
    p.progress_user = prog;
    if (!(ids = malloc(n * p.length * sizeof *ids)) || !(lens = malloc(n * sizeof *lens))) {
        cli_error("out of memory for %zu x %zu ids", n, p.length);
        goto done;
    }
    bd3lm_sample_stats st;
    int rc = bd3lm_sample(&net, (size_t)block, &p, n, ids, lens, &st);
    st_progress_finish(prog);
    prog = NULL;
    if (rc < 0) {
        cli_error("%s: %s", o->model, strand_last_error());
        goto done;
    }
    if (fmt == FMT_NPY) {
        int64_t shape[2] = {(int64_t)n, (int64_t)p.length};
        if (npy_write(o->output, NPY_I32, 2, shape, ids) < 0) {
            cli_error("%s", strand_last_error());
            goto done;
        }
    } else if (write_text(o->output, fmt == FMT_FASTA, tok, ids, n, p.length, o) != 0) {
        goto done;
    }
    if (!o->quiet)
        cli_info("%zu samples, block %d, %s%s: mean length %.1f tokens, %.2f s, %.1f tokens/s; %llu network calls, "
                 "%llu positions through the network",
                 n, block, p.first_hitting ? "first-hitting" : "ancestral", p.use_kv ? ", key/value cache" : ", no cache",
                 (double)st.tokens / (double)n, st.seconds, st.seconds > 0 ? (double)st.tokens / st.seconds : 0.0,
                 (unsigned long long)st.net_calls, (unsigned long long)st.net_tokens);
    status = 0;
done:
    st_progress_finish(prog);
    free(ids), free(lens);
    strand_tokenizer_free(tok);
    diff_model_free(&net);
    return status;
}

int cmd_sample_main(int argc, char **argv)
{
    sample_opts o = sample_default_opts();
    enum { OPT_STEPS = 256, OPT_BATCH, OPT_SEED, OPT_THREADS, OPT_LENGTH, OPT_LABEL, OPT_GAMMA, OPT_TOP_P,
           OPT_GREEDY, OPT_NO_NR, OPT_NO_CACHE, OPT_FORMAT, OPT_FH, OPT_WINDOW, OPT_TAIL };
    static const struct option longopts[] = {
        {"model", required_argument, NULL, 'm'},     {"output", required_argument, NULL, 'o'},
        {"num", required_argument, NULL, 'n'},       {"steps", required_argument, NULL, OPT_STEPS},
        {"batch", required_argument, NULL, OPT_BATCH}, {"seed", required_argument, NULL, OPT_SEED},
        {"threads", required_argument, NULL, OPT_THREADS}, {"length", required_argument, NULL, OPT_LENGTH},
        {"label", required_argument, NULL, OPT_LABEL}, {"gamma", required_argument, NULL, OPT_GAMMA},
        {"top-p", required_argument, NULL, OPT_TOP_P}, {"greedy-final", no_argument, NULL, OPT_GREEDY},
        {"no-noise-removal", no_argument, NULL, OPT_NO_NR}, {"tail", required_argument, NULL, OPT_TAIL}, {"no-cache", no_argument, NULL, OPT_NO_CACHE},
        {"format", required_argument, NULL, OPT_FORMAT}, {"quiet", no_argument, NULL, 'q'}, CLI_CBG_LONGOPTS,
        {"first-hitting", no_argument, NULL, OPT_FH}, {"window", required_argument, NULL, OPT_WINDOW},
        {"help", no_argument, NULL, 'h'},            {NULL, 0, NULL, 0}};
    if (argc <= 1) {
        sample_usage(stdout);
        return 1;
    }
    optind = 1;
    int c;
    while ((c = getopt_long(argc, argv, "m:o:n:qh", longopts, NULL)) != -1) {
        if (cli_cbg_option(&o.cbg, c, optarg)) continue;
        switch (c) {
        case 'm': o.model = optarg; break;
        case 'o': o.output = optarg; break;
        case 'n': o.n = cli_long("-n", optarg, 1, LONG_MAX); break;
        case OPT_STEPS: o.steps = cli_int("--steps", optarg, 1, 1000000); break;
        case OPT_BATCH: o.batch = cli_long("--batch", optarg, 1, 1 << 20); break;
        case OPT_SEED: o.seed = cli_u64("--seed", optarg); break;
        case OPT_THREADS: o.threads = cli_int("--threads", optarg, 0, 4096); break;
        case OPT_LENGTH: o.length = cli_long("--length", optarg, 1, 1 << 24); break;
        case OPT_LABEL: o.label = cli_int("--label", optarg, 0, INT_MAX); break;
        case OPT_GAMMA: o.gamma = cli_double("--gamma", optarg, 0, 1e6); break;
        case OPT_TOP_P: o.top_p = cli_double("--top-p", optarg, 1e-9, 1); break;
        case OPT_GREEDY: o.greedy_final = 1; break;
        case OPT_NO_NR: o.noise_removal = 0; break;
        case OPT_TAIL:
            if (!strcmp(optarg, "none")) o.tail = DIFF_TAIL_NONE;
            else if (!strcmp(optarg, "greedy")) o.tail = DIFF_TAIL_GREEDY;
            else if (!strcmp(optarg, "ancestral")) o.tail = DIFF_TAIL_ANCESTRAL;
            else cli_die("bad --tail \"%s\": want none, greedy or ancestral", optarg);
            break;
        case OPT_NO_CACHE: o.use_cache = 0; break;
        case OPT_FORMAT: o.format = optarg; break;
        case OPT_FH: o.first_hitting = 1; break;
        case OPT_WINDOW: o.window = cli_long("--window", optarg, 1, 1 << 24); break;
        case 'q': o.quiet = 1; break;
        case 'h': sample_usage(stdout); return 0;
        default: sample_usage(stderr); return 1;
        }
    }
    if (optind < argc) return cli_error("unexpected argument \"%s\"", argv[optind]);
    if (!o.model || !o.output) return cli_error("-m MODEL and -o OUT are required");
    double cfg_gamma;
    if (cli_cbg_finish(&o.cbg, o.gamma, &cfg_gamma)) return 1;
    strand_set_threads(o.threads);
    int fmt = output_format(&o);
    if (fmt < 0) return cli_error("bad --format \"%s\": want npy, fasta or text", o.format);

    int block = 0;
    if (bd3lm_probe(o.model, &block) < 0) return cli_error("%s", strand_last_error());
    if (block > 0 && o.cbg.classifier) return cli_error("--classifier: classifier-based guidance is not implemented for BD3-LM models");
    if (block > 0) return sample_bd3lm(&o, fmt);
    int status = 1;
    strand_model *m = NULL;
    strand_tokenizer *tok = NULL;
    strand_sampler *s = NULL;
    strand_classifier *clf = NULL;
    st_progress *prog = NULL;
    int32_t *ids = NULL;
    if (strand_model_load(o.model, &m) < 0) {
        cli_error("%s", strand_last_error());
        goto done;
    }
    if (strand_diffusion_info(m, NULL, NULL, NULL) < 0) {
        cli_error("%s: %s", o.model, strand_last_error());
        goto done;
    }
    if (fmt != FMT_NPY) {
        if (cli_model_tokenizer(o.model, m, &tok) < 0) goto done;
        /* DNA: ids 0..11 are the characters, 12..15 padding rows, so a model over the first 12 ids
         * (dna-udlm-species) fits the 16-row tokenizer; SMILES: sizes must match */
        size_t tv = strand_tokenizer_vocab_size(tok), mv = strand_model_vocab_size(m);
        int dna_ok = strand_tokenizer_kind(tok) == STRAND_TOKENIZER_DNA && mv >= 12 && mv <= tv;
        if (tv != mv && !dna_ok) {
            cli_error("%s: the tokenizer has %zu tokens but the model's vocabulary is %zu", o.model,
                      strand_tokenizer_vocab_size(tok), strand_model_vocab_size(m));
            goto done;
        }
    }
    int dna = tok && strand_tokenizer_kind(tok) == STRAND_TOKENIZER_DNA;
    strand_sampler_params p = strand_sampler_default_params();
    p.steps = o.steps ? o.steps : dna ? 128 : 32;
    p.length = (size_t)o.length;
    p.batch = (size_t)o.batch;
    p.seed = o.seed;
    p.threads = o.threads;
    p.label = o.label;
    p.gamma = cfg_gamma;
    p.top_p = o.top_p;
    p.greedy_final = o.greedy_final;
    p.tail = o.tail;
    p.noise_removal = o.noise_removal;
    p.use_cache = o.use_cache;
    size_t n = (size_t)o.n, B = p.batch < n ? p.batch : n;
    prog = st_progress_create("sample (batch steps)", (uint64_t)((n + B - 1) / B) * (uint64_t)p.steps, o.quiet, stderr);
    p.progress = on_progress;
    p.progress_user = prog;
    if (strand_sampler_create(m, &p, &s) < 0) {
        cli_error("%s: %s", o.model, strand_last_error());
        goto done;
    }
    if (cli_cbg_attach(&o.cbg, s, o.gamma, &clf)) goto done;
    size_t L = strand_sampler_length(s);
    if (!(ids = malloc(n * L * sizeof *ids))) {
        cli_error("out of memory for %zu x %zu ids", n, L);
        goto done;
    }
    strand_sampler_stats st;
    int rc = strand_sampler_run(s, n, ids, &st);
    st_progress_finish(prog);
    prog = NULL;
    if (rc < 0) {
        cli_error("%s", strand_sampler_last_error(s));
        goto done;
    }
    if (fmt == FMT_NPY) {
        int64_t shape[2] = {(int64_t)n, (int64_t)L};
        if (npy_write(o.output, NPY_I32, 2, shape, ids) < 0) {
            cli_error("%s", strand_last_error());
            goto done;
        }
    } else if (write_text(o.output, fmt == FMT_FASTA, tok, ids, n, L, &o) != 0) {
        goto done;
    }
    if (!o.quiet)
        cli_info("%zu samples of length %zu, %d steps, batch %zu: %.2f s, %.2f samples/s; NFE %.2f per sample "
                 "(%llu network calls, %llu rows)",
                 n, L, p.steps, B, st.seconds, st.seconds > 0 ? (double)n / st.seconds : 0.0, st.nfe,
                 (unsigned long long)st.net_calls, (unsigned long long)st.net_rows);
    if (!o.quiet && clf) {
        uint64_t rows = 0, calls = 0, cached = 0;
        strand_sampler_cbg_stats(s, &rows, &calls, &cached);
        cli_info("CBG %s, class %d, gamma %g: %llu classifier rows in %llu calls (%.1f per sample and step), %llu batch "
                 "rows from the cache",
                 o.cbg.mode == STRAND_CBG_EXACT ? "exact" : "first-order", o.cbg.cls, o.gamma,
                 (unsigned long long)rows, (unsigned long long)calls, (double)rows / ((double)n * p.steps),
                 (unsigned long long)cached);
    }
    status = 0;
done:
    st_progress_finish(prog);
    strand_sampler_free(s);
    strand_classifier_free(clf);
    strand_tokenizer_free(tok);
    strand_model_free(m);
    free(ids);
    return status;
}
