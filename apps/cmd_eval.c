/* `strand eval`: the NELBO of a diffusion model on data (docs/diffusion.md "Evaluation"; a BD3-LM
 * model: the block NELBO of docs/bd3lm.md "Loss", one time per block), and the deterministic
 * per-token loss for exactly given x0, z_t, t (and labels). */
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "apps/commands.h"
#include "core/atomic_file.h"
#include "core/npy.h"
#include "guidance/bd3lm.h"
#include "guidance/diff_data.h"
#include "guidance/diff_train.h"
#include "io/seqfile.h" /* seq_input_kind */
#include "strand.h"

typedef struct eval_opts {
    const char *model, *input, *column, *label_col, *per_seq;
    const char *x0, *zt, *t, *labels, *per_token;
    long samples, batch, label, max_seqs, block;
    int have_label, threads, skip_bad;
    uint64_t seed;
} eval_opts;

static eval_opts eval_defaults(void)
{
    eval_opts o;
    memset(&o, 0, sizeof o);
    o.samples = 8;
    o.batch = 32;
    return o;
}

static void eval_usage(FILE *fp)
{
    eval_opts d = eval_defaults();
    fprintf(fp,
            "\nUsage: strand eval -m MODEL -i DATA [options]\n"
            "       strand eval -m MODEL --x0 X0.npy --zt ZT.npy --t T.npy [--labels Y.npy] --per-token OUT.npy\n\n"
            "The negative ELBO (NELBO) of an MDLM/UDLM model (docs/diffusion.md \"Evaluation\"): for each sequence x,\n"
            "the mean over K draws of t (stratified over [1e-3, 1) per sequence) and z_t ~ q(z_t | x) of the\n"
            "process's per-token loss summed over the sequence; RNG seeded by (--seed, sequence index), so a\n"
            "sequence's estimate does not depend on its batch. Prints sequences, tokens, NELBO in nats per token\n"
            "and the perplexity bound exp(NELBO per token) (all L positions count, padding included).\n"
            "DATA: a SMILES table (.smi/.csv/.tsv[.gz]; SMILES models: <bos> tokens <eos> <pad>... of the model\n"
            "length), a FASTA file or a DNA window shard (.shard; DNA models: windows of the model length).\n\n"
            "Deterministic mode: per-token loss terms, float32 (B, L), before any reduction, for exactly these\n"
            "x0 and z_t (int64/int32 ids (B, L)), t (float32/float64 (B)) and labels (int (B); default: null label).\n\n"
            "Options:\n"
            "  -m, --model PATH      strand model file or HF directory (config.json + model.safetensors)\n"
            "  -i, --input DATA      data file\n"
            "  -c, --column C        SMILES column (default \"smiles\" or the first)\n"
            "      --label Y         condition every sequence on class Y (default: the null label)\n"
            "      --label-col C     class per row from a table column\n"
            "      --samples K       Monte-Carlo samples per sequence (default %ld)\n"
            "      --block L'        BD3-LM model: evaluate the block NELBO with this block size (default: the model's)\n"
            "      --seed S          (default %llu)\n"
            "      --batch B         rows per network call (default %ld)\n"
            "      --per-seq OUT.tsv one row per sequence: index, label, nelbo_nats, nelbo_per_token, ppl_bound\n"
            "      --max-seqs N      evaluate N sequences evenly spaced over the data (default all)\n"
            "      --skip-bad        skip table rows that do not tokenise or fit (counted)\n"
            "      --threads N       (default 0 = all cores)\n"
            "      --x0/--zt/--t/--labels FILE.npy, --per-token OUT.npy   deterministic mode\n\n"
            "Examples:\n"
            "  strand eval -m models/smiles-udlm-qed.safetensors -i heldout.smi --samples 16\n"
            "  strand eval -m models/dna-udlm-species.safetensors -i species_windows/ecoli/test.shard --label 5\n"
            "  strand eval -m m.safetensors --x0 x0.npy --zt zt.npy --t t.npy --per-token loss.npy\n\n",
            d.samples, (unsigned long long)d.seed, d.batch);
}

static int deterministic(const eval_opts *o, diff_model *net)
{
    npy_array ax = {0}, az = {0}, at = {0}, ay = {0};
    int rc = 1;
    int32_t *x0 = NULL, *zt = NULL, *y = NULL;
    double *t = NULL;
    float *loss = NULL;
    int V = net->spec.vocab, nc = diff_model_get_dims(net).num_classes;
    if (npy_read(o->x0, &ax) < 0 || npy_read(o->zt, &az) < 0 || npy_read(o->t, &at) < 0 ||
        (o->labels && npy_read(o->labels, &ay) < 0)) {
        cli_error("%s", strand_last_error());
        goto done;
    }
    if (ax.ndim != 2 || az.ndim != 2 || ax.shape[0] != az.shape[0] || ax.shape[1] != az.shape[1]) {
        cli_error("--x0 and --zt must both be (B, L) arrays of the same shape");
        goto done;
    }
    size_t B = (size_t)ax.shape[0], L = (size_t)ax.shape[1];
    if (at.numel != B || (o->labels && ay.numel != B)) {
        cli_error("--t%s must have B = %zu entries", o->labels ? " and --labels" : "", B);
        goto done;
    }
    x0 = malloc(B * L * sizeof *x0), zt = malloc(B * L * sizeof *zt), t = malloc(B * sizeof *t);
    loss = malloc(B * L * sizeof *loss), y = malloc(B * sizeof *y);
    float *tf = malloc(B * sizeof *tf);
    if (!x0 || !zt || !t || !loss || !y || !tf) {
        free(tf);
        cli_error("out of memory");
        goto done;
    }
    int ok = npy_to_i32(&ax, x0, 0, V - 1, o->x0) == 0 && npy_to_i32(&az, zt, 0, V - 1, o->zt) == 0 &&
             (!o->labels || npy_to_i32(&ay, y, 0, nc, o->labels) == 0);
    if (ok) {
        if (at.dtype == NPY_F64) memcpy(t, at.data, B * sizeof *t);
        else if (npy_to_f32(&at, tf) == 0)
            for (size_t b = 0; b < B; b++) t[b] = tf[b];
        else ok = 0;
    }
    free(tf);
    if (!ok) {
        cli_error("%s", strand_last_error());
        goto done;
    }
    if (!o->labels)
        for (size_t b = 0; b < B; b++) y[b] = nc;
    if (diff_model_per_token(net, x0, zt, t, nc ? y : NULL, B, L, loss) < 0) {
        cli_error("%s", strand_last_error());
        goto done;
    }
    int64_t shape[2] = {(int64_t)B, (int64_t)L};
    if (npy_write(o->per_token, NPY_F32, 2, shape, loss) < 0) {
        cli_error("%s", strand_last_error());
        goto done;
    }
    rc = 0;
done:
    npy_free(&ax), npy_free(&az), npy_free(&at), npy_free(&ay);
    free(x0), free(zt), free(t), free(loss), free(y);
    return rc;
}

int cmd_eval_main(int argc, char **argv)
{
    if (argc < 2) {
        eval_usage(stdout);
        return 0;
    }
    enum { O_BLOCK = 199, O_MAXSEQS = 200, O_LABEL = 256, O_LABELCOL, O_SAMPLES, O_SEED, O_BATCH, O_PERSEQ, O_SKIP, O_THREADS, O_X0, O_ZT, O_T, O_LABELS, O_PERTOK };
    static const struct option lo[] = {
        {"model", required_argument, NULL, 'm'}, {"input", required_argument, NULL, 'i'},
        {"column", required_argument, NULL, 'c'}, {"label", required_argument, NULL, O_LABEL},
        {"label-col", required_argument, NULL, O_LABELCOL}, {"samples", required_argument, NULL, O_SAMPLES},
        {"seed", required_argument, NULL, O_SEED}, {"batch", required_argument, NULL, O_BATCH},
        {"per-seq", required_argument, NULL, O_PERSEQ}, {"max-seqs", required_argument, NULL, O_MAXSEQS}, {"skip-bad", no_argument, NULL, O_SKIP},
        {"threads", required_argument, NULL, O_THREADS}, {"x0", required_argument, NULL, O_X0},
        {"zt", required_argument, NULL, O_ZT}, {"t", required_argument, NULL, O_T},
        {"labels", required_argument, NULL, O_LABELS}, {"per-token", required_argument, NULL, O_PERTOK},
        {"block", required_argument, NULL, O_BLOCK},
        {"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0}};
    eval_opts o = eval_defaults();
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "m:i:c:h", lo, NULL)) != -1) {
        switch (c) {
        case 'm': o.model = optarg; break;
        case 'i': o.input = optarg; break;
        case 'c': o.column = optarg; break;
        case O_LABEL: o.label = cli_long("--label", optarg, 0, 1 << 24); o.have_label = 1; break;
        case O_LABELCOL: o.label_col = optarg; break;
        case O_SAMPLES: o.samples = cli_long("--samples", optarg, 1, 1 << 20); break;
        case O_SEED: o.seed = cli_u64("--seed", optarg); break;
        case O_BATCH: o.batch = cli_long("--batch", optarg, 1, 1 << 20); break;
        case O_PERSEQ: o.per_seq = optarg; break;
        case O_MAXSEQS: o.max_seqs = cli_long("--max-seqs", optarg, 1, 1L << 40); break;
        case O_SKIP: o.skip_bad = 1; break;
        case O_THREADS: o.threads = cli_int("--threads", optarg, 0, 4096); break;
        case O_X0: o.x0 = optarg; break;
        case O_ZT: o.zt = optarg; break;
        case O_T: o.t = optarg; break;
        case O_LABELS: o.labels = optarg; break;
        case O_PERTOK: o.per_token = optarg; break;
        case O_BLOCK: o.block = cli_long("--block", optarg, 1, 1 << 24); break;
        case 'h': eval_usage(stdout); return 0;
        default: eval_usage(stderr); return 1;
        }
    }
    if (optind < argc) return cli_error("unexpected argument \"%s\"", argv[optind]);
    if (!o.model) return cli_error("-m MODEL is required");
    int det = o.x0 || o.zt || o.t || o.per_token || o.labels;
    if (det && (!o.x0 || !o.zt || !o.t || !o.per_token))
        return cli_error("the deterministic mode needs --x0, --zt, --t and --per-token");
    if (det && o.input) return cli_error("-i and the deterministic mode (--x0 ...) exclude each other");
    if (!det && !o.input) return cli_error("-i DATA (or --x0/--zt/--t/--per-token) is required");
    if (o.have_label && o.label_col) return cli_error("--label and --label-col exclude each other");
    strand_set_threads(o.threads);

    diff_model net;
    strand_tokenizer *tok = NULL;
    int block = 0;
    if (bd3lm_probe(o.model, &block) < 0) return cli_error("%s", strand_last_error());
    if (o.block && !block) return cli_error("--block is for BD3-LM models (%s has no block size)", o.model);
    if (block && det) return cli_error("%s: a BD3-LM model has one time per block: the deterministic mode is not supported", o.model);
    if (o.block) block = (int)o.block; /* another block size than the model was trained with */
    if (diff_model_load(&net, o.model, &tok) < 0) return cli_error("%s", strand_last_error());
    int rc = 1, nc = diff_model_get_dims(&net).num_classes;
    diff_seqs s = {0};
    double *nl = NULL;
    if (det) {
        rc = deterministic(&o, &net);
        goto done;
    }
    if (o.have_label && (o.label < 0 || o.label > nc)) {
        cli_error("--label %ld outside 0..%d (the model has %d classes; %d = the null label)", o.label, nc, nc, nc);
        goto done;
    }
    size_t L = diff_model_get_dims(&net).model_length, skipped = 0;
    int32_t lab = o.have_label ? (int32_t)o.label : -1;
    int kind = seq_input_kind(o.input);
    size_t plen = strlen(o.input);
    int is_shard = plen > 6 && !strcmp(o.input + plen - 6, ".shard");
    int is_dna = tok && strand_tokenizer_kind(tok) == STRAND_TOKENIZER_DNA;
    if (is_shard) {
        if (diff_seqs_from_shard(o.input, L, lab, net.spec.vocab, &s) < 0) goto fail;
    } else if (kind == SEQ_INPUT_FASTA) {
        if (!is_dna) {
            cli_error("%s: FASTA input needs a DNA model", o.input);
            goto done;
        }
        if (diff_seqs_from_fasta(o.input, tok, L, lab, &s) < 0) goto fail;
    } else {
        if (!tok || is_dna) {
            cli_error("%s: a SMILES table needs a SMILES model (with a tokenizer in its metadata)", o.input);
            goto done;
        }
        diff_table_opts to = {o.column, o.label_col, NULL, o.skip_bad, 0};
        if (diff_seqs_from_table(o.input, &to, tok, L, &s, &skipped) < 0) goto fail;
        if (o.have_label) {
            free(s.labels);
            s.labels = malloc((s.n ? s.n : 1) * sizeof *s.labels);
            for (size_t i = 0; s.labels && i < s.n; i++) s.labels[i] = lab;
        }
    }
    if (s.n == 0) {
        cli_error("%s: no sequences%s", o.input, skipped ? " (all skipped)" : "");
        goto done;
    }
    if (o.max_seqs && (size_t)o.max_seqs < s.n) { /* evenly spaced subset, in order */
        size_t keep = (size_t)o.max_seqs;
        for (size_t j = 0; j < keep; j++) {
            size_t i = (size_t)((double)j * (double)s.n / (double)keep);
            memmove(s.ids + j * L, s.ids + i * L, L * sizeof *s.ids);
            if (s.labels) s.labels[j] = s.labels[i];
        }
        s.n = keep;
    }
    if (s.labels && !nc) {
        cli_error("the model has no label conditioning: drop --label/--label-col");
        goto done;
    }
    if (!(nl = malloc(s.n * sizeof *nl))) {
        cli_error("out of memory");
        goto done;
    }
    size_t rows = s.n * (size_t)o.samples, batch = (size_t)o.batch < rows ? (size_t)o.batch : rows;
    if (block > (int)L) {
        cli_error("--block %d exceeds the model length %zu", block, L);
        goto done;
    }
    if (block ? bd3lm_nelbo(&net, (size_t)block, s.ids, s.labels, s.n, L, (int)o.samples, o.seed, batch, nl) < 0
              : diff_nelbo(&net, s.ids, s.labels, s.n, L, (int)o.samples, o.seed, batch, nl) < 0)
        goto fail;
    double tot = 0;
    for (size_t i = 0; i < s.n; i++) tot += nl[i];
    double per_tok = tot / ((double)s.n * (double)L);
    printf("file\tsequences\ttokens\tsamples\tnelbo_per_token\tppl_bound%s\n%s\t%zu\t%zu\t%ld\t%.6f\t%.6f", block ? "\tblock" : "",
           o.input, s.n, s.n * L, o.samples, per_tok, exp(per_tok));
    if (block) printf("\t%d", block);
    printf("\n");
    if (skipped) fprintf(stderr, "%s: skipped %zu rows (--skip-bad)\n", cli_prog(), skipped);
    if (o.per_seq) {
        st_atomic_file af;
        if (st_atomic_open(&af, o.per_seq, ST_ATOMIC_STREAM) < 0) goto fail;
        fprintf(af.fp, "index\tlabel\tnelbo_nats\tnelbo_per_token\tppl_bound\n");
        for (size_t i = 0; i < s.n; i++)
            fprintf(af.fp, "%zu\t%d\t%.6f\t%.6f\t%.6f\n", i, s.labels ? s.labels[i] : nc, nl[i], nl[i] / (double)L,
                    exp(nl[i] / (double)L));
        if (st_atomic_commit(&af) < 0) goto fail;
    }
    rc = 0;
    goto done;
fail:
    cli_error("%s", strand_last_error());
done:
    free(nl);
    diff_seqs_free(&s);
    diff_model_free(&net);
    strand_tokenizer_free(tok);
    return rc;
}
