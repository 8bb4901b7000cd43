/* `strand posterior`: for each sequence and position of z_t, the distribution over the vocabulary
 * that the sampler draws z_s from going from t to s (docs/diffusion.md "MDLM sampler", "UDLM
 * posterior", "Classifier-free guidance"): float32 or float64 (n, L, V), carry-over included (a
 * copied MDLM position is one-hot). Written atomically. */
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "apps/cli_cbg.h"
#include "apps/commands.h"
#include "core/npy.h"
#include "strand.h"

static void posterior_usage(FILE *fp)
{
    fprintf(fp,
            "Usage: strand posterior -m MODEL -i XT.npy --t T --s S -o Q.npy [options]\n\n"
            "The step distribution q(z_s | z_t) of the ancestral sampler for every sequence and position of\n"
            "z_t (token ids, int32/int64 (n, L) or (L,)), from time t to s (0 <= s < t <= 1): float32\n"
            "(n, L, V) unless --float64. MDLM positions that are not [MASK] are copied (one-hot rows).\n\n"
            "Options:\n"
            "  -m, --model PATH   diffusion model (.safetensors[.zst], or an HF directory)\n"
            "  -i, --input FILE   z_t ids (.npy)\n"
            "      --t T          current time, (0, 1]\n"
            "      --s S          next time, [0, T)\n"
            "      --label Y      class (default: none = the null label of a label-conditioned model)\n"
            "      --gamma G      CFG weight >= 0 with --label [1]\n"
            "      --top-p P      nucleus on the denoiser's distribution, (0, 1] [1 = off]\n"
            "      --batch B      sequences per network call [64]\n"
            "      --float64      write float64 (the arithmetic is double either way)\n"
            "  -o, --output FILE  Q.npy\n");
    cli_cbg_usage(fp);
    fprintf(fp,
            "\nExample:\n"
            "  strand posterior -m models/smiles-udlm-qed.safetensors -i zt.npy --t 0.5 --s 0.46875 \\\n"
            "      --label 1 --gamma 2 -o q.npy\n"
            "  strand posterior -m models/smiles-udlm-qed.safetensors -i zt.npy --t 0.5 --s 0.46875 \\\n"
            "      --classifier models/smiles-qed-classifier.safetensors --class 1 --gamma 2 --cbg exact -o q.npy\n");
}

int cmd_posterior_main(int argc, char **argv)
{
    enum { OPT_T = 256, OPT_S, OPT_LABEL, OPT_GAMMA, OPT_TOP_P, OPT_BATCH, OPT_F64 };
    static const struct option longopts[] = {
        {"model", required_argument, NULL, 'm'}, {"input", required_argument, NULL, 'i'},
        {"output", required_argument, NULL, 'o'}, {"t", required_argument, NULL, OPT_T},
        {"s", required_argument, NULL, OPT_S},   {"label", required_argument, NULL, OPT_LABEL},
        {"gamma", required_argument, NULL, OPT_GAMMA}, {"top-p", required_argument, NULL, OPT_TOP_P},
        {"batch", required_argument, NULL, OPT_BATCH}, {"float64", no_argument, NULL, OPT_F64},
        {"help", no_argument, NULL, 'h'},        CLI_CBG_LONGOPTS, {NULL, 0, NULL, 0}};
    if (argc <= 1) {
        posterior_usage(stdout);
        return 1;
    }
    const char *model = NULL, *input = NULL, *output = NULL;
    double t = NAN, s = NAN, gamma = 1, top_p = 1;
    int label = -1, f64 = 0;
    long batch = 64;
    cli_cbg_opts cbg;
    cli_cbg_defaults(&cbg);
    optind = 1;
    int c;
    while ((c = getopt_long(argc, argv, "m:i:o:h", longopts, NULL)) != -1) {
        if (cli_cbg_option(&cbg, c, optarg)) continue;
        switch (c) {
        case 'm': model = optarg; break;
        case 'i': input = optarg; break;
        case 'o': output = optarg; break;
        case OPT_T: t = cli_double("--t", optarg, 0, 1); break;
        case OPT_S: s = cli_double("--s", optarg, 0, 1); break;
        case OPT_LABEL: label = cli_int("--label", optarg, 0, INT_MAX); break;
        case OPT_GAMMA: gamma = cli_double("--gamma", optarg, 0, 1e6); break;
        case OPT_TOP_P: top_p = cli_double("--top-p", optarg, 1e-9, 1); break;
        case OPT_BATCH: batch = cli_long("--batch", optarg, 1, 1 << 20); break;
        case OPT_F64: f64 = 1; break;
        case 'h': posterior_usage(stdout); return 0;
        default: posterior_usage(stderr); return 1;
        }
    }
    if (optind < argc) return cli_error("unexpected argument \"%s\"", argv[optind]);
    if (!model || !input || !output) return cli_error("-m MODEL, -i XT.npy and -o Q.npy are required");
    if (isnan(t) || isnan(s)) return cli_error("--t and --s are required");
    if (!(t > 0 && s < t)) return cli_error("need 0 <= s < t <= 1 (t %g, s %g)", t, s);
    double cfg_gamma;
    if (cli_cbg_finish(&cbg, gamma, &cfg_gamma)) return 1;

    int status = 1;
    strand_model *m = NULL;
    strand_sampler *smp = NULL;
    strand_classifier *clf = NULL;
    npy_array a = {0};
    int32_t *zt = NULL;
    double *q = NULL;
    float *qf = NULL;
    if (strand_model_load(model, &m) < 0) {
        cli_error("%s", strand_last_error());
        goto done;
    }
    if (npy_read(input, &a) < 0) {
        cli_error("%s", strand_last_error());
        goto done;
    }
    if ((a.ndim != 1 && a.ndim != 2) || a.numel == 0) {
        cli_error("%s: z_t must be ids of shape (n, L) or (L,), not empty", input);
        goto done;
    }
    size_t n = a.ndim == 2 ? (size_t)a.shape[0] : 1, L = (size_t)a.shape[a.ndim - 1], V = strand_model_vocab_size(m);
    strand_sampler_params p = strand_sampler_default_params();
    p.length = L;
    p.batch = (size_t)batch;
    p.label = label;
    p.gamma = cfg_gamma;
    p.top_p = top_p;
    if (strand_sampler_create(m, &p, &smp) < 0) {
        cli_error("%s: %s", model, strand_last_error());
        goto done;
    }
    if (cli_cbg_attach(&cbg, smp, gamma, &clf)) goto done;
    zt = malloc(n * L * sizeof *zt);
    q = malloc(n * L * V * sizeof *q);
    if (!zt || !q) {
        cli_error("out of memory for %zu x %zu x %zu probabilities", n, L, V);
        goto done;
    }
    if (npy_to_i32(&a, zt, 0, (int64_t)V - 1, input) < 0) {
        cli_error("%s (ids must lie in the model's vocabulary)", strand_last_error());
        goto done;
    }
    if (strand_sampler_posterior(smp, zt, n, t, s, q) < 0) {
        cli_error("%s", strand_sampler_last_error(smp));
        goto done;
    }
    int64_t shape[3] = {(int64_t)n, (int64_t)L, (int64_t)V};
    const void *data = q;
    if (!f64) {
        if (!(qf = malloc(n * L * V * sizeof *qf))) {
            cli_error("out of memory");
            goto done;
        }
        for (size_t i = 0; i < n * L * V; i++) qf[i] = (float)q[i];
        data = qf;
    }
    if (npy_write(output, f64 ? NPY_F64 : NPY_F32, 3, shape, data) < 0) {
        cli_error("%s", strand_last_error());
        goto done;
    }
    status = 0;
done:
    strand_sampler_free(smp);
    strand_classifier_free(clf);
    strand_model_free(m);
    npy_free(&a);
    free(zt), free(q), free(qf);
    return status;
}
