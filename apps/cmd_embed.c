/* `strand embed -m MODEL -i seqs.fa -o emb.npy [--pool none|mean] [--window W] [--batch N]`:
 * Caduceus embeddings (include/strand.h "caduceus": PS strand-collapsed, PH post-hoc conjoined) of
 * every record of a FASTA file, written atomically as a float32 .npy: (n, D) with --pool mean,
 * (n, L, D) with --pool none. */
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "apps/commands.h"
#include "io/seqfile.h"
#include "core/npy.h"
#include "core/tokenizer_dna.h"
#include "strand.h"

typedef struct embed_opts {
    const char *model, *input, *output;
    int pool_mean; /* 1: --pool mean, 0: --pool none */
    long window;   /* 0: none */
    long batch;
    int threads;   /* 0: all cores */
    int quiet;
} embed_opts;

static embed_opts embed_default_opts(void)
{
    embed_opts o;
    memset(&o, 0, sizeof o);
    o.pool_mean = 1;
    o.batch = 16;
    return o;
}

static void embed_usage(FILE *fp)
{
    embed_opts d = embed_default_opts();
    fprintf(fp,
            "\nUsage: strand embed -m MODEL -i SEQS.fa -o EMB.npy [options]\n\n"
            "Embeddings of DNA sequences from a Caduceus model (HuggingFace directory or strand checkpoint).\n"
            "Caduceus-PS embeddings are strand-collapsed (embedding of the reverse complement = the embedding\n"
            "reversed along the sequence), Caduceus-PH ones post-hoc conjoined (x and rc(x) averaged).\n"
            "SEQS.fa is a FASTA file (plain, gzip or BGZF) with one or more records of A/C/G/T/N (any case;\n"
            "N is the tokenizer's N token). EMB.npy receives float32 values:\n"
            "  --pool mean   shape (n, D): the mean over each record's positions (lengths may differ)\n"
            "  --pool none   shape (n, L, D): per position; all records must have the same length L,\n"
            "                unless --window W is given.\n"
            "With --window W every record is cut to its first W bases, and a shorter one is padded on the\n"
            "right with [PAD] tokens up to W (L = W). The padded positions are part of the model input (the\n"
            "model is bidirectional, so they influence every position) and appear in --pool none output;\n"
            "--pool mean averages only a record's own bases (the first min(length, W) positions).\n\n"
            "Options:\n"
            "  -m, --model PATH        Caduceus model directory or file (required)\n"
            "  -i, --input SEQS.fa     FASTA input (required)\n"
            "  -o, --output EMB.npy    output (required; written atomically)\n"
            "  -p, --pool none|mean    pooling (default %s)\n"
            "  -w, --window W          cut/pad every record to W bases (default %ld = off)\n"
            "  -b, --batch N           records per model call (default %ld; does not change the result)\n"
            "      --threads N         threads (default %d = all cores)\n"
            "  -q, --quiet             no summary on stderr\n"
            "  -h, --help              this text\n\n"
            "Examples:\n"
            "  strand embed -m models/caduceus-ps_131k -i promoters.fa -o emb.npy\n"
            "  strand embed -m caduceus.safetensors -i reads.fa.gz -o per_pos.npy --pool none --window 512\n\n",
            d.pool_mean ? "mean" : "none", d.window, d.batch, d.threads);
}

int cmd_embed_main(int argc, char **argv)
{
    embed_opts o = embed_default_opts();
    static const struct option longopts[] = {
        {"model", required_argument, NULL, 'm'},  {"input", required_argument, NULL, 'i'},
        {"output", required_argument, NULL, 'o'}, {"pool", required_argument, NULL, 'p'},
        {"window", required_argument, NULL, 'w'}, {"batch", required_argument, NULL, 'b'},
        {"threads", required_argument, NULL, 1000}, {"quiet", no_argument, NULL, 'q'},
        {"help", no_argument, NULL, 'h'},          {NULL, 0, NULL, 0}};
    if (argc <= 1) {
        embed_usage(stdout);
        return 1;
    }
    optind = 1;
    int c;
    while ((c = getopt_long(argc, argv, "m:i:o:p:w:b:qh", longopts, NULL)) != -1) {
        switch (c) {
        case 'm': o.model = optarg; break;
        case 'i': o.input = optarg; break;
        case 'o': o.output = optarg; break;
        case 'p':
            if (!strcmp(optarg, "mean"))
                o.pool_mean = 1;
            else if (!strcmp(optarg, "none"))
                o.pool_mean = 0;
            else
                return cli_error("bad --pool \"%s\": want none or mean", optarg);
            break;
        case 'w': o.window = cli_long("--window", optarg, 1, LONG_MAX); break;
        case 'b': o.batch = cli_long("--batch", optarg, 1, LONG_MAX); break;
        case 1000: o.threads = cli_int("--threads", optarg, 0, INT_MAX); break;
        case 'q': o.quiet = 1; break;
        case 'h': embed_usage(stdout); return 0;
        default: embed_usage(stderr); return 1;
        }
    }
    if (optind < argc) {
        cli_error("unexpected argument \"%s\"", argv[optind]);
        return 1;
    }
    if (!o.model || !o.input || !o.output) {
        cli_error("-m MODEL, -i SEQS.fa and -o EMB.npy are required");
        return 1;
    }
    strand_set_threads(o.threads);

    int status = 1;
    strand_caduceus *h = NULL;
    seq_records recs = {0};
    int32_t *ids = NULL;
    float *out = NULL, *tmp = NULL;
    if (seq_read_fasta(o.input, &recs) < 0) {
        cli_error("%s", strand_last_error());
        goto done;
    }
    /* L: the common length (--pool none), W, or 0 (mean pooling of records of any length) */
    size_t n = recs.n, W = (size_t)o.window, L = W;
    if (!W && !o.pool_mean) {
        L = recs.len[0];
        for (size_t i = 1; i < n; i++)
            if (recs.len[i] != L) {
                cli_error(
                        "%s: record %zu (\"%s\") has length %zu but record 1 (\"%s\") has %zu: --pool none "
                        "needs equal lengths (use --window W to cut/pad them, or --pool mean)",
                        o.input, i + 1, recs.name[i], recs.len[i], recs.name[0], L);
                goto done;
            }
    }
    if (strand_caduceus_load(o.model, &h) < 0) {
        char why[1024];
        snprintf(why, sizeof why, "%s", strand_last_error());
        strand_model *any = NULL; /* a model of another kind: say so instead of "missing d_model" */
        if (strand_model_load(o.model, &any) == 0 && strncmp(strand_model_kind(any), "caduceus", 8) != 0)
            cli_error("%s: a \"%s\" model; embed needs a Caduceus model (PS or PH)", o.model,
                    strand_model_kind(any));
        else
            cli_error("%s", why);
        strand_model_free(any);
        goto done;
    }
    int Di = 0;
    strand_caduceus_info(h, &Di, NULL, NULL);
    size_t D = (size_t)Di, B = (size_t)o.batch, maxlen = L;
    if (!L)
        for (size_t i = 0; i < n; i++) maxlen = recs.len[i] > maxlen ? recs.len[i] : maxlen;
    out = malloc((o.pool_mean ? n * D : n * L * D) * sizeof *out);
    ids = malloc(B * maxlen * sizeof *ids);
    if (W && o.pool_mean) tmp = malloc(B * W * D * sizeof *tmp);
    if (!out || !ids || (W && o.pool_mean && !tmp)) {
        cli_error("out of memory for %zu records of up to %zu positions x %zu", n, maxlen, D);
        goto done;
    }
    /* batches: up to B consecutive records of the same model length */
    for (size_t s = 0; s < n;) {
        size_t len = W ? W : recs.len[s], nb = 0;
        while (s + nb < n && nb < B && (W || recs.len[s + nb] == len)) {
            int32_t *row = ids + nb * len;
            size_t k = recs.len[s + nb] < len ? recs.len[s + nb] : len;
            st_dna_encode(recs.seq[s + nb], k, row);
            for (size_t t = k; t < len; t++) row[t] = ST_DNA_PAD;
            nb++;
        }
        int rc;
        if (!o.pool_mean) {
            rc = strand_caduceus_embed(h, ids, nb, len, STRAND_EMBED_PER_POSITION, out + s * L * D);
        } else if (!W) {
            rc = strand_caduceus_embed(h, ids, nb, len, STRAND_EMBED_MEAN, out + s * D);
        } else { /* mean over each record's own bases */
            rc = strand_caduceus_embed(h, ids, nb, len, STRAND_EMBED_PER_POSITION, tmp);
            for (size_t b = 0; rc == 0 && b < nb; b++) {
                size_t k = recs.len[s + b] < W ? recs.len[s + b] : W;
                float *dst = out + (s + b) * D;
                for (size_t j = 0; j < D; j++) {
                    double acc = 0;
                    for (size_t t = 0; t < k; t++) acc += tmp[(b * W + t) * D + j];
                    dst[j] = (float)(acc / (double)k);
                }
            }
        }
        if (rc < 0) {
            cli_error("%s: records %zu..%zu: %s", o.input, s + 1, s + nb,
                    strand_caduceus_last_error(h));
            goto done;
        }
        s += nb;
    }
    int64_t shape[3] = {(int64_t)n, (int64_t)(o.pool_mean ? D : L), (int64_t)D};
    if (npy_write(o.output, NPY_F32, o.pool_mean ? 2 : 3, shape, out) < 0) {
        cli_error("%s", strand_last_error());
        goto done;
    }
    if (!o.quiet) {
        if (o.pool_mean)
            cli_info("%zu records -> %s, float32 (%zu, %zu), mean-pooled", n, o.output, n, D);
        else
            cli_info("%zu records -> %s, float32 (%zu, %zu, %zu), per position", n, o.output, n,
                    L, D);
    }
    status = 0;
done:
    strand_caduceus_free(h);
    seq_records_free(&recs);
    free(ids), free(out), free(tmp);
    return status;
}
