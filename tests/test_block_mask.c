/* Block diffusion attention masks (core/block_mask.h, docs/bd3lm.md "Training input and attention
 * mask") against a brute-force construction written from the official definition (bd3lms
 * models/dit.py block_diff_mask: block-diagonal | offset block-causal | block-causal, per (q, kv)
 * pair), for several L and block sizes, including blocks that do not divide L; the sampling mask
 * against the training mask's noisy-block rows; and the DiT's rotary period: the noisy half of a
 * concat(z, x) forward with one block (L' = L) equals a plain forward of z; and the cached block
 * forward (core/dit_kv.h) equals the uncached masked forward. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/block_mask.h"
#include "core/dit.h"
#include "core/dit_kv.h"
#include "strand.h"
#include "test_util.h"

static int brute_train(size_t q, size_t kv, size_t n, size_t bs)
{
    int xq = q >= n, xk = kv >= n;
    size_t bq = xq ? (q - n) / bs : q / bs, bk = xk ? (kv - n) / bs : kv / bs;
    int diag = bq == bk && xq == xk;
    int offset = bq > bk && xk && !xq;
    int causal = bq >= bk && xk && xq;
    return diag || offset || causal;
}

static void test_train_mask_brute(void)
{
    size_t Ls[] = {1, 4, 7, 12, 16, 64}, bss[] = {1, 2, 3, 4, 5, 16, 64};
    size_t bad = 0, checked = 0;
    for (size_t a = 0; a < sizeof Ls / sizeof *Ls; a++)
        for (size_t b = 0; b < sizeof bss / sizeof *bss; b++) {
            size_t L = Ls[a], bs = bss[b], n2 = 2 * L;
            uint8_t *m = malloc(n2 * n2);
            float *f = malloc(n2 * n2 * sizeof *f);
            block_mask_train(m, L, bs);
            block_mask_train_additive(f, L, bs);
            for (size_t q = 0; q < n2; q++)
                for (size_t k = 0; k < n2; k++) {
                    int want = brute_train(q, k, L, bs);
                    bad += m[q * n2 + k] != want;
                    bad += want ? f[q * n2 + k] != 0.0f : !(isinf(f[q * n2 + k]) && f[q * n2 + k] < 0);
                    checked++;
                }
            free(m), free(f);
        }
    fprintf(stderr, "    training mask vs brute force: %zu of %zu entries differ\n", bad, checked);
    CU_ASSERT(bad == 0);
}

static void test_causal_mask(void)
{
    size_t bad = 0;
    for (size_t n = 1; n <= 20; n++)
        for (size_t bs = 1; bs <= 8; bs++) {
            uint8_t *m = malloc(n * n);
            float *f = malloc(n * n * sizeof *f);
            block_mask_causal(m, n, bs);
            block_mask_causal_additive(f, n, bs);
            for (size_t q = 0; q < n; q++)
                for (size_t k = 0; k < n; k++) {
                    int want = k / bs <= q / bs;
                    bad += m[q * n + k] != want;
                    bad += want ? f[q * n + k] != 0.0f : !isinf(f[q * n + k]);
                    if (bs == 1) bad += want != (k <= q); /* L' = 1: the causal mask */
                }
            free(m), free(f);
        }
    CU_ASSERT(bad == 0);
}

/* The sampler's input [clean blocks 0..b-1, noisy block b] under the block-causal mask gives the
 * noisy block exactly the keys it has in training: its own noisy block and the clean blocks < b. */
static void test_sampling_view_equals_training(void)
{
    size_t L = 12, bs = 4, n2 = 2 * L, bad = 0;
    uint8_t *tm = malloc(n2 * n2);
    block_mask_train(tm, L, bs);
    for (size_t b = 0; b < L / bs; b++) {
        size_t n = (b + 1) * bs;
        uint8_t *sm = malloc(n * n);
        block_mask_causal(sm, n, bs);
        for (size_t i = b * bs; i < n; i++)      /* noisy query rows */
            for (size_t j = 0; j < n; j++) {     /* key j: clean (j < b·bs) or noisy block b */
                size_t tj = j < b * bs ? L + j : j; /* where that key lives in the training input */
                bad += sm[i * n + j] != tm[i * n2 + tj];
            }
        /* clean prefix rows: the training input's clean rows */
        for (size_t i = 0; i < b * bs; i++)
            for (size_t j = 0; j < b * bs; j++) bad += sm[i * n + j] != tm[(L + i) * n2 + L + j];
        free(sm);
    }
    free(tm);
    CU_ASSERT(bad == 0);
}

/* rope_period: concat(z, x) with one block (L' = L): the noisy half sees only itself, at positions
 * 0..L-1, so its logits equal a plain forward of z (the masked keys add exact zeros; float sums
 * over a longer row may round differently: tolerance 1e-5). */
static void test_dit_rope_period(void)
{
    dit_config c = dit_default_config();
    c.vocab = 9, c.dim = 16, c.depth = 2, c.heads = 2, c.cond_dim = 8, c.time_cond = 0, c.model_length = 10;
    dit_weights *w;
    dit_ctx *a, *b;
    CU_ASSERT_FATAL(dit_weights_create(&w, &c, NULL) == 0);
    strand_rng rng;
    strand_rng_seed(&rng, 7);
    for (size_t i = 0; i < w->pb.total; i++) w->pb.params[i] = (float)(0.6 * (strand_rng_uniform(&rng) - 0.5));
    CU_ASSERT_FATAL(dit_ctx_create(&a, &c) == 0 && dit_ctx_create(&b, &c) == 0);
    size_t B = 2, L = 10, N = 9;
    int32_t z[20], in[40];
    for (size_t i = 0; i < B * L; i++) z[i] = (int32_t)strand_rng_below(&rng, N);
    for (size_t r = 0; r < B; r++) {
        memcpy(in + r * 2 * L, z + r * L, L * sizeof *z);
        for (size_t l = 0; l < L; l++) in[r * 2 * L + L + l] = (int32_t)strand_rng_below(&rng, N);
    }
    float *want = malloc(B * L * N * sizeof(float)), *got = malloc(B * 2 * L * N * sizeof(float));
    float *mask = malloc(4 * L * L * sizeof(float));
    CU_ASSERT_FATAL(dit_forward(w, a, z, NULL, NULL, NULL, B, L, want) == 0);
    block_mask_train_additive(mask, L, L);
    b->attn_mask = mask;
    CU_ASSERT(dit_forward(w, b, in, NULL, NULL, NULL, B, 2 * L, got) != 0); /* 2L without a period: refused */
    b->rope_period = L;
    CU_ASSERT_FATAL(dit_forward(w, b, in, NULL, NULL, NULL, B, 2 * L, got) == 0);
    float *half = malloc(B * L * N * sizeof(float));
    for (size_t r = 0; r < B; r++) memcpy(half + r * L * N, got + r * 2 * L * N, L * N * sizeof(float));
    CHECK_CLOSE("noisy half (L' = L, period L) == plain forward", half, want, B * L * N, 1e-5);
    /* the period matters once a noisy block sees clean keys: with blocks of 5, the second noisy
     * block attends to clean block 0, at distance 5..9 with period L but 10..14 with period 2L */
    float *got0 = malloc(B * 2 * L * N * sizeof(float));
    block_mask_train_additive(mask, L, 5);
    CU_ASSERT_FATAL(dit_forward(w, b, in, NULL, NULL, NULL, B, 2 * L, got) == 0);
    b->rope_period = 2 * L;
    CU_ASSERT_FATAL(dit_forward(w, b, in, NULL, NULL, NULL, B, 2 * L, got0) == 0);
    double d = 0;
    for (size_t i = 0; i < B * 2 * L * N; i++) d = fmax(d, fabs(got0[i] - got[i]));
    CU_ASSERT(d > 1e-4);
    free(want), free(got), free(got0), free(mask), free(half);
    dit_ctx_free(a), dit_ctx_free(b), dit_weights_free(w);
}

/* The cached block forward (core/dit_kv.h) equals the uncached forward of [prefix, block] under
 * the block-causal mask at the block's rows, block after block (label-conditioned network, two
 * rows with different labels); a sliding window (drop) keeps the absolute positions. */
static void test_kv_cache_equals_uncached(void)
{
    dit_config c = dit_default_config();
    c.vocab = 11, c.dim = 16, c.depth = 3, c.heads = 4, c.cond_dim = 8, c.time_cond = 0, c.model_length = 24;
    c.num_classes = 2;
    dit_weights *w;
    dit_ctx *a;
    dit_kv *kv;
    CU_ASSERT_FATAL(dit_weights_create(&w, &c, NULL) == 0);
    strand_rng rng;
    strand_rng_seed(&rng, 11);
    for (size_t i = 0; i < w->pb.total; i++) w->pb.params[i] = (float)(0.6 * (strand_rng_uniform(&rng) - 0.5));
    size_t B = 2, Lb = 4, nb = 6, L = Lb * nb, N = 11;
    CU_ASSERT_FATAL(dit_ctx_create(&a, &c) == 0);
    CU_ASSERT_FATAL(dit_kv_create(&kv, &c, B, L, Lb) == 0);
    int32_t labels[2] = {1, 2}; /* 2 = the null label */
    CU_ASSERT_FATAL(dit_kv_reset(kv, w, labels) == 0);
    int32_t *x = malloc(B * L * sizeof *x), *in = malloc(B * L * sizeof *in), blk[8];
    for (size_t i = 0; i < B * L; i++) x[i] = (int32_t)strand_rng_below(&rng, N);
    float *full = malloc(B * L * N * sizeof(float)), *got = malloc(B * Lb * N * sizeof(float));
    float *want = malloc(B * Lb * N * sizeof(float)), *mask = malloc(L * L * sizeof(float));
    double worst = 0;
    for (size_t b = 0; b < nb; b++) {
        size_t n = (b + 1) * Lb;
        /* a "noisy" block: random ids at block b, the prefix clean */
        for (size_t r = 0; r < B; r++) {
            memcpy(in + r * n, x + r * L, b * Lb * sizeof *x);
            for (size_t l = 0; l < Lb; l++) blk[r * Lb + l] = in[r * n + b * Lb + l] = (int32_t)strand_rng_below(&rng, N);
        }
        block_mask_causal_additive(mask, n, Lb);
        a->attn_mask = mask;
        CU_ASSERT_FATAL(dit_forward(w, a, in, NULL, NULL, labels, B, n, full) == 0);
        for (size_t r = 0; r < B; r++) memcpy(want + r * Lb * N, full + (r * n + b * Lb) * N, Lb * N * sizeof(float));
        CU_ASSERT_FATAL(dit_kv_forward(w, kv, blk, Lb, 0, got) == 0);
        for (size_t i = 0; i < B * Lb * N; i++) worst = fmax(worst, fabs(got[i] - want[i]));
        /* the block becomes clean: commit x's block b */
        for (size_t r = 0; r < B; r++) memcpy(blk + r * Lb, x + r * L + b * Lb, Lb * sizeof *x);
        CU_ASSERT_FATAL(dit_kv_forward(w, kv, blk, Lb, 1, NULL) == 0);
    }
    fprintf(stderr, "    cached vs uncached block logits: max |diff| %.3g over %zu blocks (tol 1e-5)\n", worst, nb);
    CU_ASSERT(worst <= 1e-5);
    CU_ASSERT(dit_kv_len(kv) == L);
    CU_ASSERT(dit_kv_forward(w, kv, blk, Lb, 0, got) != 0); /* full */
    dit_kv_drop(kv, Lb);
    CU_ASSERT(dit_kv_len(kv) == L - Lb && dit_kv_next_pos(kv) == L);
    CU_ASSERT(dit_kv_forward(w, kv, blk, Lb, 0, got) == 0);
    /* time-conditioned networks are refused */
    w->cfg.time_cond = 1;
    CU_ASSERT(dit_kv_reset(kv, w, labels) == STRAND_E_UNSUPPORTED);
    w->cfg.time_cond = 0;
    free(x), free(in), free(full), free(got), free(want), free(mask);
    dit_kv_free(kv), dit_ctx_free(a), dit_weights_free(w);
}

void register_suites(void)
{
    CU_pSuite s = CU_add_suite("block_mask", NULL, NULL);
    ADD_TEST(s, test_train_mask_brute);
    ADD_TEST(s, test_causal_mask);
    ADD_TEST(s, test_sampling_view_equals_training);
    ADD_TEST(s, test_dit_rope_period);
    ADD_TEST(s, test_kv_cache_equals_uncached);
}
