/* `strand logits -m MODEL -i INPUT -o OUT.npy [--sigma S | --sigma-file S.npy] [--label Y | --labels Y.npy]
 * [--rc-average]`: raw logits (n, L, V) float32 (the network's output, as the HF model's `logits`; Caduceus-PH
 * not conjoined unless --rc-average; a noisy classifier's output is its class logits (n, C)) of a model for integer ids (n, L) given as a numpy file, or for the
 * records of a FASTA (DNA models) or SMILES file (.smi/.txt/.csv/.tsv, SMILES models) tokenised
 * with the model's tokenizer. The output is written atomically (a failed run leaves nothing under
 * OUT). */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sys/stat.h>

#include "apps/commands.h"
#include "apps/model_tokenizer.h"
#include "io/seqfile.h"
#include "core/npy.h"
#include "core/safetensors.h"
#include "core/tokenizer.h"
#include "strand.h"

typedef struct logits_opts {
    const char *model, *input, *output, *sigma_file, *labels_file;
    const char *column; /* SMILES tables: the column (NULL: "smiles" or the first) */
    double sigma;  /* used when have_sigma */
    int have_sigma;
    long label;    /* used when have_label */
    int have_label;
    int threads;   /* 0: all cores */
    int rc_average; /* Caduceus: post-hoc conjoined (x and rc(x) averaged) instead of the raw output */
} logits_opts;

static logits_opts logits_default_opts(void)
{
    logits_opts o;
    memset(&o, 0, sizeof o);
    return o;
}

static void logits_usage(FILE *fp)
{
    logits_opts d = logits_default_opts();
    fprintf(fp,
            "\nUsage: strand logits -m MODEL -i INPUT -o OUT.npy [options]\n\n"
            "Raw logits of a model (the network's output, what the HuggingFace model's logits are; also for\n"
            "Caduceus-PH, which is then NOT post-hoc conjoined: see --rc-average); OUT.npy receives float32\n"
            "logits of shape (n, L, V); for a classifier model (strand train classifier) the class logits\n"
            "(n, C), C = its number of classes (--sigma feeds a time-conditioned one). MODEL is a strand\n"
            "safetensors file (optionally .zst) or a HuggingFace directory (config.json + model.safetensors).\n"
            "INPUT is one of\n"
            "  IDS.npy       token ids, int64 or int32, shape (n, L) (or (L,) for one sequence);\n"
            "  FASTA         (.fa/.fasta/.fna[.gz], or a file starting with '>') for DNA models: Caduceus\n"
            "                (all records the same length L) or a DiT whose tokenizer is DNA (records padded\n"
            "                with [PAD] to the model length); bases A/C/G/T/N, any case;\n"
            "  SMILES table  (.smi/.txt one per line, .csv/.tsv with --column; optionally .gz) for a DiT\n"
            "                with a SMILES tokenizer: <bos> tokens <eos>, padded with <pad> to the model length.\n"
            "The tokenizer is the model's (\"strand.tokenizer\" metadata; DNA for Caduceus).\n\n"
            "Options:\n"
            "  -m, --model PATH        model file or directory (required)\n"
            "  -i, --input INPUT       token ids .npy, FASTA or SMILES file (required)\n"
            "  -c, --column NAME|N     SMILES column of a .csv/.tsv (default: \"smiles\", else the first)\n"
            "  -o, --output OUT.npy    logits (required; written atomically)\n"
            "  --sigma S               noise level fed to time-conditioned models, all sequences (default %g)\n"
            "  --sigma-file S.npy      one noise level per sequence, float32/float64, shape (n,)\n"
            "  --label Y               class label for label-conditioned models, all sequences\n"
            "                          (default: the null label = number of classes)\n"
            "  --labels Y.npy          one label per sequence, int64/int32, shape (n,)\n"
            "      --rc-average        Caduceus: post-hoc conjoining, (logits(x)[t,v] + logits(rc x)[L-1-t,comp v])/2\n"
            "                          (the PH inference mode of strand embed / strand vep; PS: equal to the raw\n"
            "                          logits up to float rounding; docs/caduceus.md \"Caduceus-PH\")\n"
            "      --threads N         threads (default %d = all cores)\n"
            "  -h, --help              this text\n\n"
            "Examples:\n"
            "  strand logits -m models/udlm_qm9 -i ids.npy -o logits.npy --sigma 0.5\n"
            "  strand logits -m dit.safetensors.zst -i ids.npy -o out.npy --sigma-file s.npy --labels y.npy\n"
            "  strand logits -m models/caduceus-ps_131k -i seqs.fa -o logits.npy\n"
            "  strand logits -m caduceus-ph.safetensors -i seqs.fa -o conjoined.npy --rc-average\n"
            "  strand logits -m qm9_dit.safetensors -i mols.csv --column smiles -o logits.npy\n\n",
            d.sigma, d.threads);
}

/* ids (n, L) of the records of a FASTA (DNA tokenizer) or SMILES table (SMILES tokenizer). Caduceus:
 * L = the records' common length; DiT: L = the model length, records padded (encode_padded). */
static int text_input_ids(const logits_opts *o, strand_model *m, int kind, int32_t **ids_out, size_t *n_out,
                          size_t *L_out)
{
    strand_tokenizer *tok = NULL;
    seq_records r = {0};
    int32_t *ids = NULL;
    int rc = cli_model_tokenizer(o->model, m, &tok);
    if (rc < 0) return rc;
    int tk = strand_tokenizer_kind(tok), is_cad = strand_model_max_length(m) == SIZE_MAX; /* any length (Caduceus) */
    rc = -1;
    if (kind == SEQ_INPUT_FASTA && tk != STRAND_TOKENIZER_DNA) {
        cli_error("%s is a FASTA file but the model's tokenizer is not DNA (SMILES input?)",
                o->input);
        goto done;
    }
    if (kind == SEQ_INPUT_TABLE && tk != STRAND_TOKENIZER_SMILES) {
        cli_error("%s is a SMILES table but the model's tokenizer is DNA (FASTA input?)",
                o->input);
        goto done;
    }
    if ((kind == SEQ_INPUT_FASTA ? seq_read_fasta(o->input, &r) : seq_read_table(o->input, o->column, &r)) < 0) {
        cli_error("%s", strand_last_error());
        goto done;
    }
    size_t V = strand_model_vocab_size(m), L = is_cad ? r.len[0] : strand_model_max_length(m);
    /* DNA: a model over the first 12 ids (the characters) fits the 16-row tokenizer */
    int dna_ok = strand_tokenizer_kind(tok) == STRAND_TOKENIZER_DNA && V >= 12 && V <= strand_tokenizer_vocab_size(tok);
    if (strand_tokenizer_vocab_size(tok) != V && !dna_ok) {
        cli_error("%s: the tokenizer has %zu tokens but the model's vocabulary is %zu", o->model,
                strand_tokenizer_vocab_size(tok), V);
        goto done;
    }
    if (!(ids = malloc(r.n * L * sizeof *ids))) {
        cli_error("out of memory for %zu x %zu ids", r.n, L);
        goto done;
    }
    for (size_t i = 0; i < r.n; i++) {
        size_t used = 0, unk = 0;
        int e;
        if (is_cad) {
            if (r.len[i] != L) {
                cli_error(
                        "%s: record %zu (\"%s\") has length %zu but record 1 (\"%s\") has %zu: a Caduceus "
                        "model needs records of one length",
                        o->input, i + 1, r.name[i], r.len[i], r.name[0], L);
                goto done;
            }
            e = strand_tokenizer_encode_ex(tok, r.seq[i], ids + i * L, L, &used, &unk);
        } else {
            e = strand_tokenizer_encode_padded(tok, r.seq[i], ids + i * L, L, &used, &unk);
        }
        if (e < 0) {
            cli_error("%s: record %zu (\"%s\"): %s", o->input, i + 1, r.name[i],
                    strand_tokenizer_last_error(tok));
            goto done;
        }
        if (unk)
            cli_info("warning: %s: record %zu (\"%s\"): %zu token(s) outside the vocabulary -> %s",
                    o->input, i + 1, r.name[i], unk, tk == STRAND_TOKENIZER_DNA ? "[UNK]" : "<unk>");
    }
    *ids_out = ids, *n_out = r.n, *L_out = L;
    ids = NULL;
    rc = 0;
done:
    free(ids);
    seq_records_free(&r);
    strand_tokenizer_free(tok);
    return rc;
}

int cmd_logits_main(int argc, char **argv)
{
    logits_opts o = logits_default_opts();
    enum { OPT_SIGMA = 256, OPT_SIGMA_FILE, OPT_LABEL, OPT_LABELS, OPT_RCAVG };
    static const struct option longopts[] = {
        {"model", required_argument, NULL, 'm'},     {"input", required_argument, NULL, 'i'},
        {"output", required_argument, NULL, 'o'},    {"sigma", required_argument, NULL, OPT_SIGMA},
        {"sigma-file", required_argument, NULL, OPT_SIGMA_FILE},
        {"label", required_argument, NULL, OPT_LABEL}, {"labels", required_argument, NULL, OPT_LABELS},
        {"threads", required_argument, NULL, 1000},   {"help", no_argument, NULL, 'h'},
        {"column", required_argument, NULL, 'c'},    {"rc-average", no_argument, NULL, OPT_RCAVG},
        {NULL, 0, NULL, 0}};
    if (argc <= 1) {
        logits_usage(stdout);
        return 1;
    }
    optind = 1;
    int c;
    while ((c = getopt_long(argc, argv, "m:i:o:c:h", longopts, NULL)) != -1) {
        switch (c) {
        case 'm': o.model = optarg; break;
        case 'i': o.input = optarg; break;
        case 'o': o.output = optarg; break;
        case 'c': o.column = optarg; break;
        case 1000: o.threads = cli_int("--threads", optarg, 0, INT_MAX); break;
        case OPT_SIGMA:
            o.sigma = cli_double("--sigma", optarg, 0, HUGE_VAL);
            o.have_sigma = 1;
            break;
        case OPT_SIGMA_FILE: o.sigma_file = optarg; break;
        case OPT_LABEL:
            o.label = cli_long("--label", optarg, 0, LONG_MAX);
            o.have_label = 1;
            break;
        case OPT_LABELS: o.labels_file = optarg; break;
        case OPT_RCAVG: o.rc_average = 1; break;
        case 'h': logits_usage(stdout); return 0;
        default: logits_usage(stderr); return 1;
        }
    }
    if (optind < argc) return cli_error("unexpected argument \"%s\"", argv[optind]);
    if (!o.model || !o.input || !o.output) return cli_error("-m MODEL, -i INPUT and -o OUT.npy are required");
    if (o.have_sigma && o.sigma_file) return cli_error("--sigma and --sigma-file are exclusive");
    if (o.have_label && o.labels_file) return cli_error("--label and --labels are exclusive");
    strand_set_threads(o.threads);

    int status = 1;
    strand_model *m = NULL;
    npy_array ids_a = {0}, sig_a = {0}, lab_a = {0};
    int32_t *ids = NULL, *labels = NULL;
    float *sigma = NULL, *out = NULL;
    if (strand_model_load(o.model, &m) < 0) {
        cli_error("%s", strand_last_error());
        goto done;
    }
    size_t V = strand_model_vocab_size(m);
    size_t n = 0, L = 0;
    int kind = seq_input_kind(o.input);
    if (kind == SEQ_INPUT_FASTA || kind == SEQ_INPUT_TABLE) {
        if (text_input_ids(&o, m, kind, &ids, &n, &L) < 0) goto done;
    } else {
        if (npy_read(o.input, &ids_a) < 0) {
            cli_error("%s", strand_last_error());
            goto done;
        }
        if (ids_a.ndim != 1 && ids_a.ndim != 2) {
            cli_error("%s: ids must have shape (n, L) or (L,), got %d dimensions", o.input,
                    ids_a.ndim);
            goto done;
        }
        n = ids_a.ndim == 2 ? (size_t)ids_a.shape[0] : 1, L = (size_t)ids_a.shape[ids_a.ndim - 1];
        if (n == 0 || L == 0) {
            cli_error("%s: empty array (n %zu, L %zu)", o.input, n, L);
            goto done;
        }
        ids = malloc(n * L * sizeof *ids);
        if (!ids) {
            cli_error("out of memory for %zu x %zu ids", n, L);
            goto done;
        }
        if (npy_to_i32(&ids_a, ids, 0, (int64_t)V - 1, o.input) < 0) {
            cli_error("%s (ids must lie in the model's vocabulary)", strand_last_error());
            goto done;
        }
    }
    /* the model table's output: (n, L, V) per-token logits, or (n, C) class logits for a classifier */
    int is_clf = !strcmp(strand_model_kind(m), "classifier");
    size_t C = is_clf ? (size_t)strand_model_num_classes(m) : 0, per_seq = is_clf ? C : L * V;
    out = malloc(n * per_seq * sizeof *out);
    sigma = malloc(n * sizeof *sigma);
    if (!out || !sigma) {
        cli_error("out of memory for %zu x %zu logits", n, per_seq);
        goto done;
    }
    if (o.sigma_file) {
        if (npy_read(o.sigma_file, &sig_a) < 0) {
            cli_error("%s", strand_last_error());
            goto done;
        }
        if (sig_a.numel != n || sig_a.ndim > 1 || (sig_a.dtype != NPY_F32 && sig_a.dtype != NPY_F64)) {
            cli_error("%s: expected float32/float64 of shape (%zu,), got %s with %zu values",
                    o.sigma_file, n, npy_dtype_name(sig_a.dtype), sig_a.numel);
            goto done;
        }
        npy_to_f32(&sig_a, sigma);
    } else if (o.have_sigma) {
        for (size_t i = 0; i < n; i++) sigma[i] = (float)o.sigma;
    } else {
        free(sigma); /* none given: the model's default (0 for time-conditioned models) */
        sigma = NULL;
    }
    if (o.labels_file || o.have_label) {
        labels = malloc(n * sizeof *labels);
        if (!labels) goto done;
        if (o.labels_file) {
            if (npy_read(o.labels_file, &lab_a) < 0) {
                cli_error("%s", strand_last_error());
                goto done;
            }
            if (lab_a.numel != n || lab_a.ndim > 1) {
                cli_error("%s: expected shape (%zu,), got %zu values", o.labels_file, n,
                        lab_a.numel);
                goto done;
            }
            if (npy_to_i32(&lab_a, labels, 0, INT32_MAX, o.labels_file) < 0) {
                cli_error("%s", strand_last_error());
                goto done;
            }
        } else {
            for (size_t i = 0; i < n; i++) labels[i] = (int32_t)o.label;
        }
    }
    if (o.rc_average && (strncmp(strand_model_kind(m), "caduceus", 8) || sigma || labels)) {
        cli_error("--rc-average: %s is a %s model; only Caduceus DNA models (which take no --sigma/--label) are "
                  "conjoined over the reverse complement", o.model, strand_model_kind(m));
        goto done;
    }
    if ((o.rc_average ? strand_model_logits_rc_average(m, ids, n, L, out)
                      : strand_model_logits(m, ids, n, L, sigma, labels, out)) < 0) {
        cli_error("%s", strand_model_last_error(m));
        goto done;
    }
    int64_t shape[3] = {(int64_t)n, is_clf ? (int64_t)C : (int64_t)L, (int64_t)V};
    if (npy_write(o.output, NPY_F32, is_clf ? 2 : 3, shape, out) < 0) {
        cli_error("%s", strand_last_error());
        goto done;
    }
    status = 0;
done:
    strand_model_free(m);
    npy_free(&ids_a), npy_free(&sig_a), npy_free(&lab_a);
    free(ids), free(labels), free(sigma), free(out);
    return status;
}
