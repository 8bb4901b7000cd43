/* Block diffusion sampler (guidance/bd3lm_sampler.h, docs/bd3lm.md "Sampling with a key/value
 * cache"): for a fixed seed the key/value-cached sampler gives exactly the samples of the
 * uncached one (every call runs [prefix, block] under the block-causal mask) — ancestral,
 * first-hitting, CFG with top-p, label-conditioned rows, blocks that do not divide the window;
 * with one block (L' = L) it is the MDLM sampler (guidance/sampler.h) sample for sample; samples
 * do not depend on the batch; <eos> stops a row (length = first <eos> + 1, pad after); sequences
 * 3x the window (sliding context) are complete; first-hitting makes L' calls per block. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "guidance/bd3lm_sampler.h"
#include "guidance/sampler.h"
#include "strand.h"
#include "test_util.h"

#define NV 9
#define MASK 8

static void make_model(diff_model *m, int classes, uint64_t seed)
{
    dit_config c = dit_default_config();
    c.vocab = NV, c.dim = 16, c.depth = 2, c.heads = 2, c.cond_dim = 8, c.time_cond = 0, c.model_length = 12;
    c.num_classes = classes;
    diff_loss_spec sp = {DIFF_MASKED, diff_schedule_default(), NV, MASK, 0};
    CU_ASSERT_FATAL(diff_model_create(m, &c, &sp) == 0);
    strand_rng rng;
    strand_rng_seed(&rng, seed);
    for (size_t i = 0; i < m->w->pb.total; i++) m->w->pb.params[i] = (float)(1.6 * (strand_rng_uniform(&rng) - 0.5));
}

static size_t count_diff(const int32_t *a, const int32_t *b, size_t n)
{
    size_t d = 0;
    for (size_t i = 0; i < n; i++) d += a[i] != b[i];
    return d;
}

static void cached_vs_uncached(diff_model *m, size_t Lb, bd3lm_sampler_params p, size_t n, const char *what)
{
    int32_t *a = malloc(n * p.length * sizeof *a), *b = malloc(n * p.length * sizeof *b);
    size_t *la = malloc(n * sizeof *la), *lb = malloc(n * sizeof *lb);
    bd3lm_sample_stats sa, sb;
    p.use_kv = 1;
    CU_ASSERT_FATAL(bd3lm_sample(m, Lb, &p, n, a, la, &sa) == 0);
    p.use_kv = 0;
    CU_ASSERT_FATAL(bd3lm_sample(m, Lb, &p, n, b, lb, &sb) == 0);
    size_t d = count_diff(a, b, n * p.length), masks = 0;
    for (size_t i = 0; i < n * p.length; i++) masks += a[i] == MASK;
    fprintf(stderr, "    %-44s cached vs uncached: %zu of %zu ids differ; %zu [MASK] left; tokens through the "
            "network %llu vs %llu\n", what, d, n * p.length, masks, (unsigned long long)sa.net_tokens,
            (unsigned long long)sb.net_tokens);
    CU_ASSERT(d == 0);
    CU_ASSERT(memcmp(la, lb, n * sizeof *la) == 0);
    CU_ASSERT(masks == 0);
    free(a), free(b), free(la), free(lb);
}

static void test_cache_exact(void)
{
    diff_model m, mc;
    make_model(&m, 0, 21);
    make_model(&mc, 3, 22);
    bd3lm_sampler_params p = bd3lm_sampler_default_params();
    p.length = 12, p.batch = 3, p.seed = 5, p.steps = 6;
    cached_vs_uncached(&m, 4, p, 7, "ancestral, L' 4");
    cached_vs_uncached(&m, 3, p, 5, "ancestral, L' 3");
    p.length = 10;
    cached_vs_uncached(&m, 4, p, 5, "ancestral, L' 4, length 10 (not a multiple)");
    p.length = 12;
    p.first_hitting = 1;
    cached_vs_uncached(&m, 4, p, 5, "first-hitting, L' 4");
    p.first_hitting = 0, p.label = 1, p.gamma = 2.0, p.top_p = 0.9;
    cached_vs_uncached(&mc, 4, p, 5, "CFG gamma 2, top-p 0.9, L' 4");
    p.gamma = 1.0;
    cached_vs_uncached(&mc, 2, p, 5, "label 1 (gamma 1), L' 2");
    /* longer than the window: both complete (not compared: the context differs once it slides) */
    p.label = -1, p.top_p = 1, p.length = 36;
    int32_t *o = malloc(4 * 36 * sizeof *o);
    for (int kv = 0; kv < 2; kv++) {
        p.use_kv = kv;
        CU_ASSERT_FATAL(bd3lm_sample(&m, 4, &p, 4, o, NULL, NULL) == 0);
        size_t masks = 0;
        for (size_t i = 0; i < 4 * 36; i++) masks += o[i] == MASK || o[i] < 0 || o[i] >= NV;
        CU_ASSERT(masks == 0);
    }
    free(o);
    diff_model_free(&m), diff_model_free(&mc);
}

static void test_one_block_is_mdlm_sampler(void)
{
    diff_model m;
    make_model(&m, 0, 23);
    size_t n = 6, L = 12;
    bd3lm_sampler_params p = bd3lm_sampler_default_params();
    p.length = L, p.batch = 1, p.seed = 9, p.steps = 8;
    int32_t *a = malloc(n * L * sizeof *a), *b = malloc(n * L * sizeof *b);
    CU_ASSERT_FATAL(bd3lm_sample(&m, L, &p, n, a, NULL, NULL) == 0);
    diff_net net;
    diff_sampler_params q = diff_sampler_default_params();
    diff_model_net(&m, &net, &q);
    q.L = L, q.steps = 8, q.batch = 1, q.seed = 9, q.threads = 1;
    CU_ASSERT_FATAL(diff_sample(&net, &q, n, b, NULL) == 0);
    size_t d = count_diff(a, b, n * L);
    fprintf(stderr, "    L' = L block sampler vs MDLM sampler: %zu of %zu ids differ\n", d, n * L);
    CU_ASSERT(d == 0);
    free(a), free(b);
    diff_model_free(&m);
}

static void test_batch_and_eos(void)
{
    diff_model m;
    make_model(&m, 0, 24);
    size_t n = 8, L = 12;
    bd3lm_sampler_params p = bd3lm_sampler_default_params();
    p.length = L, p.seed = 3, p.steps = 5;
    int32_t *a = malloc(n * L * sizeof *a), *b = malloc(n * L * sizeof *b), *c = malloc(n * L * sizeof *c);
    p.batch = 1;
    CU_ASSERT_FATAL(bd3lm_sample(&m, 4, &p, n, a, NULL, NULL) == 0);
    p.batch = 8;
    CU_ASSERT_FATAL(bd3lm_sample(&m, 4, &p, n, b, NULL, NULL) == 0);
    CU_ASSERT(count_diff(a, b, n * L) == 0);
    /* <eos> = the id drawn most often; each row stops after its first one, pad 0 after */
    size_t cnt[NV] = {0};
    for (size_t i = 0; i < n * L; i++) cnt[a[i]]++;
    int eos = 0;
    for (int v = 1; v < NV; v++)
        if (cnt[v] > cnt[eos]) eos = v;
    p.eos_id = eos, p.pad_id = (eos + 1) % MASK;
    size_t lens[8];
    bd3lm_sample_stats st;
    CU_ASSERT_FATAL(bd3lm_sample(&m, 4, &p, n, c, lens, &st) == 0);
    size_t bad = 0, stopped = 0;
    for (size_t i = 0; i < n; i++) {
        size_t first = L;
        for (size_t l = 0; l < L && first == L; l++)
            if (a[i * L + l] == eos) first = l;
        size_t want = first < L ? first + 1 : L;
        stopped += first < L;
        bad += lens[i] != want;
        bad += memcmp(c + i * L, a + i * L, want * sizeof *c) != 0; /* the same draws up to the stop */
        for (size_t l = want; l < L; l++) bad += c[i * L + l] != p.pad_id;
    }
    fprintf(stderr, "    <eos> %d: %zu of %zu rows stopped early, %zu mismatches; %llu tokens generated\n", eos, stopped,
            n, bad, (unsigned long long)st.tokens);
    CU_ASSERT(bad == 0 && stopped > 0);
    /* first-hitting: L' calls per block (plus the cache commits between blocks) */
    p.eos_id = -1, p.first_hitting = 1, p.batch = 8;
    CU_ASSERT_FATAL(bd3lm_sample(&m, 4, &p, n, c, NULL, &st) == 0);
    CU_ASSERT(st.net_calls == 3 * 4 + 2);
    free(a), free(b), free(c);
    diff_model_free(&m);
}

void register_suites(void)
{
    CU_pSuite s = CU_add_suite("bd3lm_sampler", NULL, NULL);
    ADD_TEST(s, test_cache_exact);
    ADD_TEST(s, test_one_block_is_mdlm_sampler);
    ADD_TEST(s, test_batch_and_eos);
}
