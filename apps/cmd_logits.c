/* `strand logits -m MODEL -i IDS.npy -o OUT.npy [--sigma S | --sigma-file S.npy] [--label Y | --labels Y.npy]`:
 * raw logits (n, L, V) float32 of a model for integer ids (n, L) given as a numpy file. The output
 * is written atomically (a failed run leaves nothing under OUT). */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "apps/commands.h"
#include "core/npy.h"
#include "strand.h"

typedef struct logits_opts {
    const char *model, *input, *output, *sigma_file, *labels_file;
    double sigma;  /* used when have_sigma */
    int have_sigma;
    long label;    /* used when have_label */
    int have_label;
    int threads;   /* 0: all cores */
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
            "\nUsage: strand logits -m MODEL -i IDS.npy -o OUT.npy [options]\n\n"
            "Raw logits of a model. IDS.npy holds token ids, int64 or int32, shape (n, L) (or (L,) for one\n"
            "sequence); OUT.npy receives float32 logits of shape (n, L, V). MODEL is a strand safetensors\n"
            "file (optionally .zst) or a HuggingFace directory (config.json + model.safetensors).\n\n"
            "Options:\n"
            "  -m, --model PATH        model file or directory (required)\n"
            "  -i, --input IDS.npy     token ids (required)\n"
            "  -o, --output OUT.npy    logits (required; written atomically)\n"
            "  --sigma S               noise level fed to time-conditioned models, all sequences (default %g)\n"
            "  --sigma-file S.npy      one noise level per sequence, float32/float64, shape (n,)\n"
            "  --label Y               class label for label-conditioned models, all sequences\n"
            "                          (default: the null label = number of classes)\n"
            "  --labels Y.npy          one label per sequence, int64/int32, shape (n,)\n"
            "  -t, --threads N         threads (default %d = all cores)\n"
            "  -h, --help              this text\n\n"
            "Examples:\n"
            "  strand logits -m models/udlm_qm9 -i ids.npy -o logits.npy --sigma 0.5\n"
            "  strand logits -m dit.safetensors.zst -i ids.npy -o out.npy --sigma-file s.npy --labels y.npy\n\n",
            d.sigma, d.threads);
}

static int fail(const char *fmt, const char *a, const char *b)
{
    fprintf(stderr, "strand logits: ");
    fprintf(stderr, fmt, a, b);
    fprintf(stderr, "\n");
    return 1;
}

int cmd_logits_main(int argc, char **argv)
{
    logits_opts o = logits_default_opts();
    enum { OPT_SIGMA = 256, OPT_SIGMA_FILE, OPT_LABEL, OPT_LABELS };
    static const struct option longopts[] = {
        {"model", required_argument, NULL, 'm'},     {"input", required_argument, NULL, 'i'},
        {"output", required_argument, NULL, 'o'},    {"sigma", required_argument, NULL, OPT_SIGMA},
        {"sigma-file", required_argument, NULL, OPT_SIGMA_FILE},
        {"label", required_argument, NULL, OPT_LABEL}, {"labels", required_argument, NULL, OPT_LABELS},
        {"threads", required_argument, NULL, 't'},   {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    if (argc <= 1) {
        logits_usage(stdout);
        return 1;
    }
    optind = 1;
    int c;
    char *end;
    while ((c = getopt_long(argc, argv, "m:i:o:t:h", longopts, NULL)) != -1) {
        switch (c) {
        case 'm': o.model = optarg; break;
        case 'i': o.input = optarg; break;
        case 'o': o.output = optarg; break;
        case 't':
            o.threads = (int)strtol(optarg, &end, 10);
            if (*end || o.threads < 0) return fail("--threads: \"%s\" is not a non-negative integer%s", optarg, "");
            break;
        case OPT_SIGMA:
            errno = 0;
            o.sigma = strtod(optarg, &end);
            if (*end || errno || !isfinite(o.sigma) || o.sigma < 0)
                return fail("--sigma: \"%s\" is not a finite number >= 0%s", optarg, "");
            o.have_sigma = 1;
            break;
        case OPT_SIGMA_FILE: o.sigma_file = optarg; break;
        case OPT_LABEL:
            o.label = strtol(optarg, &end, 10);
            if (*end || o.label < 0) return fail("--label: \"%s\" is not a non-negative integer%s", optarg, "");
            o.have_label = 1;
            break;
        case OPT_LABELS: o.labels_file = optarg; break;
        case 'h': logits_usage(stdout); return 0;
        default: logits_usage(stderr); return 1;
        }
    }
    if (optind < argc) return fail("unexpected argument \"%s\"%s", argv[optind], "");
    if (!o.model || !o.input || !o.output) return fail("-m MODEL, -i IDS.npy and -o OUT.npy are required%s%s", "", "");
    if (o.have_sigma && o.sigma_file) return fail("--sigma and --sigma-file are exclusive%s%s", "", "");
    if (o.have_label && o.labels_file) return fail("--label and --labels are exclusive%s%s", "", "");
    strand_set_threads(o.threads);

    int status = 1;
    strand_model *m = NULL;
    npy_array ids_a = {0}, sig_a = {0}, lab_a = {0};
    int32_t *ids = NULL, *labels = NULL;
    float *sigma = NULL, *out = NULL;
    if (strand_model_load(o.model, &m) < 0) {
        fail("%s%s", strand_last_error(), "");
        goto done;
    }
    size_t V = strand_model_vocab_size(m);
    if (npy_read(o.input, &ids_a) < 0) {
        fail("%s%s", strand_last_error(), "");
        goto done;
    }
    if (ids_a.ndim != 1 && ids_a.ndim != 2) {
        fprintf(stderr, "strand logits: %s: ids must have shape (n, L) or (L,), got %d dimensions\n", o.input,
                ids_a.ndim);
        goto done;
    }
    size_t n = ids_a.ndim == 2 ? (size_t)ids_a.shape[0] : 1, L = (size_t)ids_a.shape[ids_a.ndim - 1];
    if (n == 0 || L == 0) {
        fprintf(stderr, "strand logits: %s: empty array (n %zu, L %zu)\n", o.input, n, L);
        goto done;
    }
    ids = malloc(n * L * sizeof *ids);
    out = malloc(n * L * V * sizeof *out);
    sigma = malloc(n * sizeof *sigma);
    if (!ids || !out || !sigma) {
        fprintf(stderr, "strand logits: out of memory for %zu x %zu x %zu logits\n", n, L, V);
        goto done;
    }
    if (npy_to_i32(&ids_a, ids, 0, (int64_t)V - 1, o.input) < 0) {
        fail("%s (ids must lie in the model's vocabulary)%s", strand_last_error(), "");
        goto done;
    }
    if (o.sigma_file) {
        if (npy_read(o.sigma_file, &sig_a) < 0) {
            fail("%s%s", strand_last_error(), "");
            goto done;
        }
        if (sig_a.numel != n || sig_a.ndim > 1 || (sig_a.dtype != NPY_F32 && sig_a.dtype != NPY_F64)) {
            fprintf(stderr, "strand logits: %s: expected float32/float64 of shape (%zu,), got %s with %zu values\n",
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
                fail("%s%s", strand_last_error(), "");
                goto done;
            }
            if (lab_a.numel != n || lab_a.ndim > 1) {
                fprintf(stderr, "strand logits: %s: expected shape (%zu,), got %zu values\n", o.labels_file, n,
                        lab_a.numel);
                goto done;
            }
            if (npy_to_i32(&lab_a, labels, 0, INT32_MAX, o.labels_file) < 0) {
                fail("%s%s", strand_last_error(), "");
                goto done;
            }
        } else {
            for (size_t i = 0; i < n; i++) labels[i] = (int32_t)o.label;
        }
    }
    if (strand_model_logits(m, ids, n, L, sigma, labels, out) < 0) {
        fail("%s%s", strand_model_last_error(m), "");
        goto done;
    }
    int64_t shape[3] = {(int64_t)n, (int64_t)L, (int64_t)V};
    if (npy_write(o.output, NPY_F32, 3, shape, out) < 0) {
        fail("%s%s", strand_last_error(), "");
        goto done;
    }
    status = 0;
done:
    strand_model_free(m);
    npy_free(&ids_a), npy_free(&sig_a), npy_free(&lab_a);
    free(ids), free(labels), free(sigma), free(out);
    return status;
}
