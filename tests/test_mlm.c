/* Caduceus masked-LM pretraining (caduceus/mlm.h, `strand train caduceus`): the masking recipe's
 * statistics, determinism, the data stream and its cursor, learning on a learnable signal, the
 * CLI end to end (loadable model, logits equal to an in-process run) and exact resume. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "caduceus/caduceus.h"
#include "caduceus/mlm.h"
#include "core/tokenizer_dna.h"
#include "io/shards.h"
#include "strand.h"
#include "test_util.h"

#define CE_FA "/usr/share/htslib-test/test/ce.fa"

/* |k - n p| within z standard deviations of a Binomial(n, p); prints the numbers. */
static int binom_ok(const char *what, double k, double n, double p, double z)
{
    double sd = sqrt(n * p * (1 - p)), dev = fabs(k - n * p) / (sd > 0 ? sd : 1);
    fprintf(stderr, "    %-34s %.0f of %.0f = %.5f (expected %.5f, %.2f sd, bound %.1f sd)\n", what, k, n, k / n, p,
            dev, z);
    return dev <= z;
}

/* Random DNA ids with N (5%) and some [PAD] runs, so the N -> [PAD] rule and the pad exclusion
 * are both exercised. */
static void random_ids(int32_t *ids, size_t B, size_t L, uint64_t seed)
{
    strand_rng r;
    strand_rng_seed(&r, seed);
    for (size_t i = 0; i < B * L; i++) {
        double u = strand_rng_uniform(&r);
        ids[i] = u < 0.05 ? ST_DNA_N : ST_DNA_A + (int32_t)strand_rng_below(&r, 4);
    }
    for (size_t b = 0; b < B; b += 3) /* a pad tail on every third sequence */
        for (size_t t = L - L / 5; t < L; t++) ids[b * L + t] = ST_DNA_PAD;
}

static void test_mask_statistics(void)
{
    const size_t B = 400, L = 500, n = B * L;
    int32_t *orig = malloc(n * sizeof *orig), *ids = malloc(n * sizeof *ids), *tgt = malloc(n * sizeof *tgt);
    CU_ASSERT_FATAL(orig && ids && tgt);
    random_ids(orig, B, L, 11);
    memcpy(ids, orig, n * sizeof *ids);
    mlm_params mp;
    mlm_default_params(&mp);
    strand_rng r;
    strand_rng_seed(&r, 5);
    long sel = mlm_mask_batch(&mp, ids, tgt, B, L, &r);
    CU_ASSERT_FATAL(sel > 0);
    double eligible = 0, selected = 0, masked = 0, randomised = 0, kept = 0, per_base[4] = {0};
    int bad_pad = 0, bad_target = 0, bad_unselected = 0, bad_value = 0;
    for (size_t i = 0; i < n; i++) {
        int32_t o = orig[i] == ST_DNA_N ? ST_DNA_PAD : orig[i]; /* after N -> [PAD] */
        if (o != ST_DNA_PAD) eligible++;
        if (tgt[i] < 0) {
            bad_unselected += tgt[i] != -1 || ids[i] != o;
            continue;
        }
        selected++;
        bad_pad += o == ST_DNA_PAD;
        bad_target += tgt[i] != o;
        if (ids[i] == ST_DNA_MASK)
            masked++;
        else if (ids[i] == o)
            kept++;
        else if (ids[i] >= ST_DNA_A && ids[i] <= ST_DNA_T)
            randomised++;
        else
            bad_value++;
        if (ids[i] >= ST_DNA_A && ids[i] <= ST_DNA_T && ids[i] != o) per_base[ids[i] - ST_DNA_A]++;
    }
    CU_ASSERT_EQUAL(bad_pad, 0);        /* [PAD] and N are never selected */
    CU_ASSERT_EQUAL(bad_target, 0);     /* targets are the original ids */
    CU_ASSERT_EQUAL(bad_unselected, 0); /* others: -1 and the input untouched (after N -> [PAD]) */
    CU_ASSERT_EQUAL(bad_value, 0);      /* replacements are [MASK] or a base */
    CU_ASSERT_EQUAL((double)sel, selected);
    /* 5 sd bounds: a false failure has probability < 1e-6 per check (and the seed is fixed). */
    CU_ASSERT(binom_ok("selected / eligible", selected, eligible, 0.15, 5));
    CU_ASSERT(binom_ok("[MASK] / selected", masked, selected, 0.8, 5));
    /* a random base equals the original with probability 1/4, so "changed to another base" is
     * 0.1 * 3/4 and "unchanged" is 0.1 + 0.1/4 */
    CU_ASSERT(binom_ok("other base / selected", randomised, selected, 0.075, 5));
    CU_ASSERT(binom_ok("unchanged / selected", kept, selected, 0.125, 5));
    /* replacements are uniform over A,C,G,T: each base's share of the changed positions (a base is
     * never its own replacement here, so the share is 1/4 only because originals are uniform) */
    for (int k = 0; k < 4; k++) CU_ASSERT(binom_ok("replacement base share", per_base[k], randomised, 0.25, 5));
    free(orig);
    free(ids);
    free(tgt);
}

static void test_mask_determinism_and_errors(void)
{
    const size_t B = 8, L = 300, n = B * L;
    int32_t a[8 * 300], b[8 * 300], ta[8 * 300], tb[8 * 300];
    mlm_params mp;
    mlm_default_params(&mp);
    random_ids(a, B, L, 3);
    memcpy(b, a, sizeof a);
    strand_rng r1, r2;
    strand_rng_seed(&r1, 77);
    strand_rng_seed(&r2, 77);
    CU_ASSERT(mlm_mask_batch(&mp, a, ta, B, L, &r1) > 0);
    CU_ASSERT(mlm_mask_batch(&mp, b, tb, B, L, &r2) > 0);
    CU_ASSERT(memcmp(a, b, sizeof a) == 0);
    CU_ASSERT(memcmp(ta, tb, sizeof ta) == 0);
    CU_ASSERT_EQUAL(strand_rng_next(&r1), strand_rng_next(&r2)); /* same draws consumed */
    random_ids(b, B, L, 3);
    strand_rng_seed(&r2, 78);
    mlm_mask_batch(&mp, b, tb, B, L, &r2);
    CU_ASSERT(memcmp(ta, tb, sizeof ta) != 0); /* another seed, other masks */
    /* errors: an id outside the vocabulary names sequence and position; bad probabilities */
    random_ids(a, B, L, 3);
    a[2 * L + 17] = 16;
    CU_ASSERT_EQUAL(mlm_mask_batch(&mp, a, ta, B, L, &r1), STRAND_E_RANGE);
    CU_ASSERT(strstr(strand_last_error(), "sequence 2 position 17") != NULL);
    a[2 * L + 17] = ST_DNA_A;
    mlm_params bad = mp;
    bad.mask_frac = 0.95;
    CU_ASSERT_EQUAL(mlm_mask_batch(&bad, a, ta, B, L, &r1), STRAND_E_ARG);
    (void)n;
}

/* RC augmentation (PH): each sequence is either itself or its reverse complement, about half
 * reversed. mask_prob 0 isolates the RC draw. */
static void test_rc_augmentation(void)
{
    const size_t B = 2000, L = 16;
    int32_t *x = malloc(B * L * sizeof *x), *orig = malloc(B * L * sizeof *orig), *t = malloc(B * L * sizeof *t);
    CU_ASSERT_FATAL(x && orig && t);
    strand_rng r;
    strand_rng_seed(&r, 9);
    for (size_t i = 0; i < B * L; i++) orig[i] = ST_DNA_A + (int32_t)strand_rng_below(&r, 4);
    for (size_t b = 0; b < B; b++) orig[b * L] = ST_DNA_A, orig[b * L + L - 1] = ST_DNA_G; /* not its own RC */
    memcpy(x, orig, B * L * sizeof *x);
    mlm_params mp;
    mlm_default_params(&mp);
    mp.mask_prob = 0;
    mp.rc_aug = 1;
    CU_ASSERT_EQUAL(mlm_mask_batch(&mp, x, t, B, L, &r), 0);
    double flipped = 0;
    int neither = 0;
    for (size_t b = 0; b < B; b++) {
        int32_t rc[16];
        st_dna_revcomp(orig + b * L, rc, L);
        int same = !memcmp(x + b * L, orig + b * L, L * sizeof *x), isrc = !memcmp(x + b * L, rc, L * sizeof *x);
        neither += !same && !isrc;
        flipped += isrc;
    }
    CU_ASSERT_EQUAL(neither, 0);
    CU_ASSERT(binom_ok("reverse-complemented sequences", flipped, (double)B, 0.5, 5));
    free(x);
    free(orig);
    free(t);
}

/* The source: one epoch is a permutation of all items (records cut into L-token pieces); a
 * source restarted from a saved cursor continues the stream exactly, across epochs. */
static void test_source_epochs_and_cursor(void)
{
    st_window_set w = {0};
    w.n = 5;
    w.len = 7; /* records of 7: two items of 3 each, the last token unused */
    w.tok = malloc(w.n * w.len);
    CU_ASSERT_FATAL(w.tok != NULL);
    for (size_t i = 0; i < w.n * w.len; i++) w.tok[i] = (uint8_t)(i % 16); /* encodes record, offset */
    st_window_source s;
    CU_ASSERT_EQUAL_FATAL(st_window_source_init(&s, &w, 3, 42), 0);
    CU_ASSERT_EQUAL(s.n_items, 10);
    uint64_t cur[TRAIN_CURSOR_WORDS] = {0};
    int32_t ids[4 * 3];
    int seen[10] = {0}, count = 0;
    for (int call = 0; call < 3; call++) { /* 12 items: the first epoch and 2 of the next */
        CU_ASSERT_EQUAL(st_window_source_next(&s, ids, NULL, 4, 3, cur), 0);
        for (int b = 0; b < 4; b++, count++) {
            /* recover the item from the first token: item = record*2 + piece, start = record*7 + piece*3 */
            int found = -1;
            for (int it = 0; it < 10; it++)
                if ((size_t)ids[b * 3] == ((size_t)(it / 2) * 7 + (size_t)(it % 2) * 3) % 16 &&
                    (size_t)ids[b * 3 + 2] == ((size_t)(it / 2) * 7 + (size_t)(it % 2) * 3 + 2) % 16)
                    found = it;
            CU_ASSERT(found >= 0);
            if (count < 10 && found >= 0) seen[found]++;
        }
    }
    for (int it = 0; it < 10; it++) CU_ASSERT_EQUAL(seen[it], 1);
    CU_ASSERT_EQUAL(cur[0], 1); /* in the second epoch */
    CU_ASSERT_EQUAL(cur[1], 2);
    /* continue in s, and in a fresh source from a copy of the cursor */
    uint64_t cur2[TRAIN_CURSOR_WORDS];
    memcpy(cur2, cur, sizeof cur);
    st_window_source s2;
    CU_ASSERT_EQUAL_FATAL(st_window_source_init(&s2, &w, 3, 42), 0);
    int same = 1;
    for (int call = 0; call < 5; call++) {
        int32_t a[12], b[12];
        st_window_source_next(&s, a, NULL, 4, 3, cur);
        st_window_source_next(&s2, b, NULL, 4, 3, cur2);
        same &= !memcmp(a, b, sizeof a);
    }
    CU_ASSERT(same);
    CU_ASSERT(memcmp(cur, cur2, sizeof cur) == 0);
    CU_ASSERT_EQUAL(st_window_source_next(&s, ids, NULL, 4, 2, cur), STRAND_E_ARG); /* wrong L */
    st_window_source_free(&s);
    st_window_source_free(&s2);
    st_window_source bad;
    CU_ASSERT_EQUAL(st_window_source_init(&bad, &w, 8, 1), STRAND_E_ARG); /* records shorter than L */
    st_window_set_free(&w);
}

/* Windows from a token shard: every record, in file order, across chunks; a shard of another kind
 * (or vocabulary) is refused with a message naming the file. */
static void test_windows_from_shard(void)
{
    const char *path = tu_tmp("mlm_small.shard"), *other = tu_tmp("mlm_other.shard");
    st_shard_writer *w = NULL;
    CU_ASSERT_EQUAL_FATAL(st_shard_writer_open(&w, path, ST_SHARD_KIND_DNA_WINDOWS, ST_SPLIT_TRAIN, 10,
                                               st_dna_vocab_hash(), ST_DNA_VOCAB, 3), 0);
    uint8_t rec[10];
    for (int r = 0; r < 7; r++) { /* 7 records in chunks of 3: 3 + 3 + 1 */
        for (int t = 0; t < 10; t++) rec[t] = (uint8_t)(ST_DNA_A + (r * 10 + t) % 5);
        CU_ASSERT_EQUAL(st_shard_writer_add(w, rec, 0, r * 10), 0);
    }
    CU_ASSERT_EQUAL_FATAL(st_shard_writer_close(w), 0);
    st_window_set win;
    CU_ASSERT_EQUAL_FATAL(st_window_set_from_shard(path, &win), 0);
    CU_ASSERT_EQUAL(win.n, 7);
    CU_ASSERT_EQUAL(win.len, 10);
    int ok = 1;
    for (size_t i = 0; i < win.n * win.len; i++) ok &= win.tok[i] == (uint8_t)(ST_DNA_A + i % 5);
    CU_ASSERT(ok);
    st_window_set_free(&win);
    CU_ASSERT_EQUAL_FATAL(st_shard_writer_open(&w, other, 7, ST_SPLIT_TRAIN, 10, 12345, ST_DNA_VOCAB, 3), 0);
    CU_ASSERT_EQUAL(st_shard_writer_add(w, rec, 0, 0), 0);
    CU_ASSERT_EQUAL_FATAL(st_shard_writer_close(w), 0);
    CU_ASSERT_EQUAL(st_window_set_from_shard(other, &win), STRAND_E_FORMAT);
    CU_ASSERT(strstr(strand_last_error(), "mlm_other.shard") != NULL);
    CU_ASSERT(win.tok == NULL && win.n == 0);
    CU_ASSERT(st_window_set_from_shard(tu_tmp("missing.shard"), &win) < 0);
}

/* A learnable signal: every sequence is a tandem repeat of one fixed 8-mer (random phase), so
 * composition is uniform (a context-free predictor cannot beat ln 4 = 1.386 nats) but every masked
 * base is determined by its neighbours. A tiny Caduceus must learn that within 30 steps. */
static void fill_tandem(st_window_set *w, size_t n, size_t len, uint64_t seed)
{
    static const char unit[] = "ACGTTGCA"; /* uniform composition */
    w->n = n;
    w->len = len;
    w->tok = malloc(n * len);
    strand_rng r;
    strand_rng_seed(&r, seed);
    for (size_t i = 0; i < n; i++) {
        size_t ph = (size_t)strand_rng_below(&r, 8);
        for (size_t t = 0; t < len; t++) w->tok[i * len + t] = st_dna_byte_to_id[(unsigned char)unit[(t + ph) % 8]];
    }
}

static void test_loss_decreases_on_learnable_signal(void)
{
    st_window_set tr = {0}, va = {0};
    fill_tandem(&tr, 256, 64, 1);
    fill_tandem(&va, 32, 64, 2);
    CU_ASSERT_FATAL(tr.tok && va.tok);
    caduceus_config mc;
    mlm_default_model_config(&mc);
    mc.d_model = 16;
    mc.n_layer = 1;
    train_params c = mlm_default_train_params();
    c.batch = 8;
    c.seq_len = 64;
    c.steps = 30;
    c.sched = lr_schedule_warmup_cosine(c.steps, 0.1, 0.0);
    c.val_every = 30;
    c.seed = 4;
    const char *logp = tu_tmp("mlm_learn.tsv");
    c.log_path = logp;
    caduceus_weights *m = NULL;
    train_result res;
    int rc = mlm_train(&mc, &c, &tr, &va, 32, &m, &res);
    CU_ASSERT_EQUAL_FATAL(rc, 0);
    FILE *f = fopen(logp, "r");
    CU_ASSERT_FATAL(f != NULL);
    char line[512];
    double loss[31] = {0};
    int k = 0;
    if (!fgets(line, sizeof line, f)) line[0] = 0; /* header */
    while (k < 30 && fgets(line, sizeof line, f)) {
        long step;
        double lr, l;
        if (sscanf(line, "%ld\t%lf\t%lf", &step, &lr, &l) == 3) loss[k++] = l;
    }
    fclose(f);
    CU_ASSERT_EQUAL(k, 30);
    double first = (loss[0] + loss[1] + loss[2] + loss[3] + loss[4]) / 5;
    double last = (loss[25] + loss[26] + loss[27] + loss[28] + loss[29]) / 5;
    fprintf(stderr, "    train loss: first 5 steps %.4f, last 5 steps %.4f; held-out %.4f (ln 4 = %.4f)\n", first, last,
            res.last_val_loss, log(4.0));
    CU_ASSERT(last < first - 1.0);
    /* below what any context-free predictor can reach: the model uses the neighbours */
    CU_ASSERT(res.last_val_loss < log(4.0) - 0.3);
    caduceus_free(m);
    st_window_set_free(&tr);
    st_window_set_free(&va);
}

/* --init: the run starts from the given model's weights (held-out loss of a 1-step run at a
 * vanishing learning rate == the model's own), and a model of another shape is refused. */
static void test_warm_start(void)
{
    st_window_set tr = {0}, va = {0};
    fill_tandem(&tr, 64, 64, 5);
    fill_tandem(&va, 16, 64, 6);
    CU_ASSERT_FATAL(tr.tok && va.tok);
    caduceus_config mc;
    mlm_default_model_config(&mc);
    mc.d_model = 16;
    mc.n_layer = 1;
    train_params c = mlm_default_train_params();
    c.batch = 4;
    c.seq_len = 64;
    c.steps = 20;
    c.sched = lr_schedule_warmup_cosine(c.steps, 0.1, 0.0);
    c.val_every = 20;
    c.seed = 8;
    caduceus_weights *m0 = NULL, *m1 = NULL, *m2 = NULL;
    train_result r0, r1, r2;
    CU_ASSERT_EQUAL_FATAL(mlm_train(&mc, &c, &tr, &va, 16, &m0, &r0), 0);
    const char *path = tu_tmp("mlm_warm.safetensors");
    CU_ASSERT_EQUAL_FATAL(caduceus_save(m0, path), 0);
    c.steps = 1;
    c.val_every = 1;
    c.opt.lr = 1e-12f;
    c.sched = lr_schedule_warmup_cosine(c.steps, 0.0, 0.0);
    c.seed = 9; /* another initialisation: only the warm start can make the loss equal */
    CU_ASSERT_EQUAL_FATAL(mlm_train_from(&mc, path, &c, &tr, &va, 16, &m1, &r1), 0);
    fprintf(stderr, "    held-out: trained %.6f, warm start after 1 step at lr 1e-12 %.6f\n", r0.last_val_loss,
            r1.last_val_loss);
    CU_ASSERT(fabs(r1.last_val_loss - r0.last_val_loss) < 1e-5);
    mc.d_model = 32;
    CU_ASSERT_EQUAL(mlm_train_from(&mc, path, &c, &tr, &va, 16, &m2, &r2), STRAND_E_SHAPE);
    CU_ASSERT(m2 == NULL);
    caduceus_free(m0);
    caduceus_free(m1);
    st_window_set_free(&tr);
    st_window_set_free(&va);
}

/* ---- CLI end to end ---- */
#define E2E_DATA "-f " CE_FA " -r CHROMOSOME_I:1-120000 --val-region CHROMOSOME_I:100001-120000"
#define E2E_OPTS "--d-model 16 --layers 2 -L 128 -B 4 --steps 6 --val-every 3 --val-windows 8 --threads 2 --seed 7 -q"

static int read_tsv(const char *path, double col[][2], int max)
{
    FILE *f = fopen(path, "r");
    if (!f) return -1;
    char line[512];
    int k = 0;
    if (!fgets(line, sizeof line, f)) {
        fclose(f);
        return 0;
    }
    while (k < max && fgets(line, sizeof line, f)) {
        /* step lr loss grad_norm tokens_per_s val_loss */
        char *fields[6] = {0};
        int nf = 0;
        for (char *p = strtok(line, "\t\n"); p && nf < 6; p = strtok(NULL, "\t\n")) fields[nf++] = p;
        if (nf < 5) break;
        col[k][0] = atof(fields[2]);
        col[k][1] = nf >= 6 ? atof(fields[5]) : NAN;
        k++;
    }
    fclose(f);
    return k;
}

static void test_cli_end_to_end(void)
{
    char out[8192], cmd[2048];
    /* `strand train` lists the kinds, `strand train caduceus` prints usage with defaults */
    CU_ASSERT_EQUAL(tu_run(STRAND_BIN " train", out, sizeof out), 0);
    CU_ASSERT(strstr(out, "caduceus") != NULL);
    CU_ASSERT_EQUAL(tu_run(STRAND_BIN " train caduceus", out, sizeof out), 0);
    CU_ASSERT(strstr(out, "(default 0.008)") != NULL && strstr(out, "Examples:") != NULL);
    /* errors: a message naming the command, non-zero status, no model written */
    const char *model = tu_tmp("mlm_e2e.safetensors"), *log = tu_tmp("mlm_e2e.tsv");
    remove(model);
    snprintf(cmd, sizeof cmd, STRAND_BIN " train caduceus -f %s -o %s 2>&1", tu_tmp("missing.fa"), model);
    CU_ASSERT_NOT_EQUAL(tu_run(cmd, out, sizeof out), 0);
    CU_ASSERT(strstr(out, "strand train caduceus: ") != NULL);
    snprintf(cmd, sizeof cmd, STRAND_BIN " train caduceus " E2E_DATA " --variant pz -o %s 2>&1", model);
    CU_ASSERT_NOT_EQUAL(tu_run(cmd, out, sizeof out), 0);
    CU_ASSERT(strstr(out, "--variant") != NULL);
    FILE *chk = fopen(model, "rb");
    CU_ASSERT(chk == NULL);
    if (chk) fclose(chk);

    snprintf(cmd, sizeof cmd, STRAND_BIN " train caduceus " E2E_DATA " " E2E_OPTS " --log %s -o %s 2>&1", log, model);
    int st = tu_run(cmd, out, sizeof out);
    if (st != 0) fprintf(stderr, "%s\n", out);
    CU_ASSERT_EQUAL_FATAL(st, 0);

    /* the same run in process (same library code path, same threads) */
    strand_set_threads(2);
    st_window_set tr = {0}, va = {0};
    const char *regs[] = {"CHROMOSOME_I:1-120000"}, *vregs[] = {"CHROMOSOME_I:100001-120000"};
    CU_ASSERT_EQUAL_FATAL(st_window_set_from_fasta(CE_FA, 128, regs, 1, vregs, 1, &tr, &va), 0);
    CU_ASSERT(tr.n > 0 && va.n > 0);
    caduceus_config mc;
    mlm_default_model_config(&mc);
    mc.d_model = 16;
    mc.n_layer = 2;
    train_params c = mlm_default_train_params();
    c.batch = 4;
    c.seq_len = 128;
    c.steps = 6;
    c.sched = lr_schedule_warmup_cosine(c.steps, 0.1, 0.0);
    c.val_every = 3;
    c.seed = 7;
    caduceus_weights *mem = NULL, *file = NULL;
    train_result res;
    CU_ASSERT_EQUAL_FATAL(mlm_train(&mc, &c, &tr, &va, 8, &mem, &res), 0);
    CU_ASSERT_EQUAL_FATAL(caduceus_load(&file, model), 0);
    CU_ASSERT_EQUAL(file->cfg.d_model, 16);
    CU_ASSERT_EQUAL(file->cfg.n_layer, 2);
    CU_ASSERT_EQUAL(file->cfg.rcps, 1);
    /* logits of the saved model on held-out windows equal the in-memory model's */
    size_t B = 4, L = 128, V = CADUCEUS_VOCAB;
    int32_t ids[4 * 128];
    for (size_t i = 0; i < B * L; i++) ids[i] = va.tok[i % (va.n * va.len)];
    st_dna_n_to_pad(ids, B * L);
    float *lm = malloc(B * L * V * sizeof(float)), *lf = malloc(B * L * V * sizeof(float));
    CU_ASSERT_FATAL(lm && lf);
    caduceus_ctx *cx = NULL;
    CU_ASSERT_EQUAL_FATAL(caduceus_ctx_create(&cx, &mem->cfg), 0);
    CU_ASSERT_EQUAL(caduceus_forward(mem, cx, ids, B, L, CADUCEUS_INFER, lm, NULL, NULL), 0);
    CU_ASSERT_EQUAL(caduceus_forward(file, cx, ids, B, L, CADUCEUS_INFER, lf, NULL, NULL), 0);
    caduceus_ctx_free(cx);
    /* identical code, data, seeds and thread count: the same bits (tolerance only for safety) */
    CHECK_CLOSE("saved vs in-memory logits", lf, lm, B * L * V, 1e-6);
    /* the TSV: 6 rows, losses finite, validation at steps 3 and 6 equal to the in-process values */
    double col[16][2];
    int rows = read_tsv(log, col, 16);
    CU_ASSERT_EQUAL(rows, 6);
    CU_ASSERT(rows == 6 && !isnan(col[2][1]) && !isnan(col[5][1]) && isnan(col[0][1]));
    if (rows == 6) {
        fprintf(stderr, "    CLI val_loss at step 6 %.7g, in-process %.7g\n", col[5][1], res.last_val_loss);
        CU_ASSERT(fabs(col[5][1] - res.last_val_loss) <= 1e-6 * fabs(res.last_val_loss) + 1e-7);
        CU_ASSERT(fabs(col[5][0] - res.last_loss) <= 1e-6 * fabs(res.last_loss) + 1e-7);
    }
    /* the held-out loss recomputed from the loaded file equals the logged one */
    mlm_params mp;
    mlm_default_params(&mp);
    mlm_trainer t;
    CU_ASSERT_EQUAL_FATAL(mlm_trainer_init(&t, file, &mp, B, L), 0);
    CU_ASSERT_EQUAL(mlm_trainer_set_val(&t, &va, 8, MLM_VAL_SEED), 0);
    float vl = NAN;
    CU_ASSERT_EQUAL(mlm_validate(&t, &vl), 0);
    fprintf(stderr, "    val_loss of the loaded model %.7g (%.0f masked bases)\n", vl, t.last_val_tokens);
    if (rows == 6) CU_ASSERT(fabs(vl - col[5][1]) <= 1e-5 * fabs(vl));
    mlm_trainer_free(&t);
    free(lm);
    free(lf);
    caduceus_free(mem);
    caduceus_free(file);
    st_window_set_free(&tr);
    st_window_set_free(&va);
}

/* Resume: 6 steps in one go vs 3 steps (--stop-at) + --resume: identical TSV loss columns, and the
 * same final model bytes' logits. Also for PH (RC augmentation draws come from the loop RNG). */
static void resume_case(const char *variant)
{
    char cmd[2048], out[8192], name[64];
    snprintf(name, sizeof name, "mlm_full_%s.tsv", variant);
    const char *la = tu_tmp(name);
    snprintf(name, sizeof name, "mlm_half_%s.tsv", variant);
    const char *lb = tu_tmp(name);
    snprintf(name, sizeof name, "mlm_half_%s.ckpt", variant);
    const char *ck = tu_tmp(name);
    const char *ma = tu_tmp("mlm_full.safetensors"), *mb = tu_tmp("mlm_half.safetensors");
    remove(ck);
    snprintf(cmd, sizeof cmd, STRAND_BIN " train caduceus " E2E_DATA " " E2E_OPTS " --variant %s --log %s -o %s 2>&1",
             variant, la, ma);
    CU_ASSERT_EQUAL_FATAL(tu_run(cmd, out, sizeof out), 0);
    snprintf(cmd, sizeof cmd,
             STRAND_BIN " train caduceus " E2E_DATA " " E2E_OPTS " --variant %s --log %s --ckpt %s --stop-at 3 -o %s 2>&1",
             variant, lb, ck, mb);
    CU_ASSERT_EQUAL_FATAL(tu_run(cmd, out, sizeof out), 0);
    double a[16][2], b[16][2];
    CU_ASSERT_EQUAL(read_tsv(lb, b, 16), 3);
    snprintf(cmd, sizeof cmd,
             STRAND_BIN " train caduceus " E2E_DATA " " E2E_OPTS " --variant %s --log %s --ckpt %s --resume %s -o %s 2>&1",
             variant, lb, ck, ck, mb);
    int st = tu_run(cmd, out, sizeof out);
    if (st) fprintf(stderr, "%s\n", out);
    CU_ASSERT_EQUAL_FATAL(st, 0);
    int na = read_tsv(la, a, 16), nb = read_tsv(lb, b, 16);
    CU_ASSERT_EQUAL(na, 6);
    CU_ASSERT_EQUAL(nb, 6);
    int same = na == nb;
    for (int i = 0; same && i < na; i++) {
        if (a[i][0] != b[i][0] || (isnan(a[i][1]) != isnan(b[i][1])) || (!isnan(a[i][1]) && a[i][1] != b[i][1])) {
            fprintf(stderr, "    FIRST MISMATCH row %d: loss %.9g vs %.9g, val %.9g vs %.9g\n", i + 1, a[i][0], b[i][0],
                    a[i][1], b[i][1]);
            same = 0;
        }
    }
    fprintf(stderr, "    %s: %d-row TSVs of the full and the resumed run %s\n", variant, na, same ? "identical" : "DIFFER");
    CU_ASSERT(same);
    /* a checkpoint from another architecture is refused with a message */
    snprintf(cmd, sizeof cmd,
             STRAND_BIN " train caduceus " E2E_DATA " " E2E_OPTS " --d-model 24 --variant %s --resume %s -o %s 2>&1",
             variant, ck, mb);
    CU_ASSERT_NOT_EQUAL(tu_run(cmd, out, sizeof out), 0);
    CU_ASSERT(strstr(out, "strand train caduceus: ") != NULL);
}

static void test_cli_resume_ps(void) { resume_case("ps"); }
static void test_cli_resume_ph(void) { resume_case("ph"); }

void register_suites(void)
{
    CU_pSuite s = CU_add_suite("mlm", NULL, NULL);
    ADD_TEST(s, test_mask_statistics);
    ADD_TEST(s, test_mask_determinism_and_errors);
    ADD_TEST(s, test_rc_augmentation);
    ADD_TEST(s, test_source_epochs_and_cursor);
    ADD_TEST(s, test_windows_from_shard);
    ADD_TEST(s, test_loss_decreases_on_learnable_signal);
    ADD_TEST(s, test_warm_start);
    ADD_TEST(s, test_cli_end_to_end);
    ADD_TEST(s, test_cli_resume_ps);
    ADD_TEST(s, test_cli_resume_ph);
}
