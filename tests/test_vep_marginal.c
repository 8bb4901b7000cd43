/* strand vep --llr marginal (caduceus/vep_marginal.c, docs/vep.md "Marginal LLR"): the wild-type
 * marginal equals a direct computation from the model's logits on the reference tile; output does
 * not depend on --batch / --threads; the default (masked) mode and its output are unchanged. */
#include <CUnit/CUnit.h>
#include <ctype.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "caduceus/caduceus.h"
#include "caduceus/vep.h"
#include "core/tokenizer_dna.h"
#include "strand.h"
#include "test_util.h"
#include "fixture_util.h"

#define REF_SRC STRAND_TEST_DATA "/vep/ref.fa"
#define VARS_VCF STRAND_TEST_DATA "/vep/variants.vcf"
#define WIN 101   /* h = 50 */
#define CORE 37   /* sites per tile: small and odd, so tiles and batches cross often */

static char g_ps[1024], g_ph[1024], g_ref[1024];
static char g_ps3[1024], g_ph3[1024]; /* embeddings x3: log p of a visible base O(0.1), for the PLL */


static int suite_init(void)
{
    snprintf(g_ps, sizeof g_ps, "%s", tu_tmp("vepm_ps.safetensors"));
    snprintf(g_ph, sizeof g_ph, "%s", tu_tmp("vepm_ph.safetensors"));
    if (fx_tiny_caduceus(g_ps, 1, 21, 50.0f) < 0 || fx_tiny_caduceus(g_ph, 0, 22, 50.0f) < 0) return 1;
    snprintf(g_ps3, sizeof g_ps3, "%s", tu_tmp("vepm_ps3.safetensors"));
    snprintf(g_ph3, sizeof g_ph3, "%s", tu_tmp("vepm_ph3.safetensors"));
    if (fx_tiny_caduceus(g_ps3, 1, 23, 3.0f) < 0 || fx_tiny_caduceus(g_ph3, 0, 24, 3.0f) < 0) return 1;
    snprintf(g_ref, sizeof g_ref, "%s", tu_tmp("vepm_ref.fa"));
    char cmd[4096];
    snprintf(cmd, sizeof cmd, "rm -f '%s.fai' && cp '%s' '%s'", g_ref, REF_SRC, g_ref);
    return tu_run(cmd, NULL, 0) != 0;
}

static strand_vep *open_v(const char *model, int llr, int scores, int threads, int rc_average)
{
    strand_vep_params p = strand_vep_default_params();
    p.window = WIN, p.pool_half_width = 20, p.threads = threads, p.quiet = 1, p.rc_average = rc_average;
    p.llr = llr, p.scores = scores, p.marginal_core = CORE;
    strand_vep *v = NULL;
    int rc = strand_vep_create(model, g_ref, &p, &v);
    if (rc < 0) fprintf(stderr, "    strand_vep_create: %s\n", strand_last_error());
    CU_ASSERT_EQUAL_FATAL(rc, 0);
    return v;
}

/* The reference as text, read independently of io/fasta (one contig per entry). */
typedef fx_contig contig;

static int32_t tok(char c)
{
    switch (toupper((unsigned char)c)) {
    case 'A': return st_dna_byte_to_id['A'];
    case 'C': return st_dna_byte_to_id['C'];
    case 'G': return st_dna_byte_to_id['G'];
    case 'T': return st_dna_byte_to_id['T'];
    default: return ST_DNA_PAD;
    }
}

static const char *other_base(char r, int k) /* the k-th (0..2) base that is not r */
{
    static const char *b[4] = {"A", "C", "G", "T"};
    int j = 0;
    for (int i = 0; i < 4; i++)
        if (b[i][0] != toupper((unsigned char)r) && j++ == k) return b[i];
    return "A";
}

/* SNVs at every 3rd site of both contigs, including the first and last bases. */
typedef struct sites { strand_vep_variant *x; char (*ref)[2]; int n; } sites;
static sites make_sites(contig *cs, int nc, int step)
{
    sites s = {0};
    int cap = 0;
    for (int c = 0; c < nc; c++) cap += (int)(cs[c].len / step) + 2;
    s.x = calloc((size_t)cap, sizeof *s.x), s.ref = calloc((size_t)cap, 2);
    for (int c = 0; c < nc; c++)
        for (int64_t p = 0; p < cs[c].len; p = p + step < cs[c].len || p == cs[c].len - 1 ? p + step : cs[c].len - 1) {
            char r = (char)toupper((unsigned char)cs[c].seq[p]);
            if (!strchr("ACGT", r)) continue;
            s.ref[s.n][0] = r;
            s.x[s.n] = (strand_vep_variant){.contig = cs[c].name, .pos1 = p + 1, .ref = s.ref[s.n],
                                            .alt = other_base(r, (int)(p % 3))};
            s.n++;
            if (s.n >= cap) break;
        }
    return s;
}

/* Marginal LLR == logit[ALT] − logit[REF] at the site of the tile FASTA[k·S − h, k·S + S + h),
 * computed here from strand_model_logits (PS) and caduceus_forward (PH, the inference mode),
 * tiles built from the FASTA text. Tolerance 1e-5 absolute (the same float forward: expected 0). */
static void check_direct(const char *model, int use_api)
{
    contig cs[4];
    int nc = fx_read_fasta(g_ref, cs, 4);
    CU_ASSERT_FATAL(nc >= 1);
    sites s = make_sites(cs, nc, 7);
    strand_vep *v = open_v(model, STRAND_VEP_LLR_MARGINAL, STRAND_VEP_SCORE_LLR, 1, 0);
    CU_ASSERT_EQUAL(v->S, CORE);
    CU_ASSERT_EQUAL(v->T, CORE + WIN - 1);
    CU_ASSERT_EQUAL_FATAL(strand_vep_score_batch(v, s.x, (size_t)s.n), 0);
    strand_model *sm = NULL;
    caduceus_weights *cw = NULL;
    caduceus_ctx *cx = NULL;
    if (use_api) {
        CU_ASSERT_EQUAL_FATAL(strand_model_load(model, &sm), 0);
    } else {
        CU_ASSERT_EQUAL_FATAL(caduceus_load(&cw, model), 0);
        CU_ASSERT_EQUAL_FATAL(caduceus_ctx_create(&cx, &cw->cfg), 0);
    }
    const int64_t h = WIN / 2, T = CORE + WIN - 1;
    int32_t *ids = malloc((size_t)T * sizeof *ids);
    float *lg = malloc((size_t)T * 16 * sizeof *lg);
    double worst = 0, diff_masked = 0;
    int bad = 0, n = 0, nm = 0, emb_set = 0;
    int64_t cur_k = -1;
    const char *cur_c = NULL;
    strand_vep *vm = open_v(model, STRAND_VEP_LLR_MASKED, STRAND_VEP_SCORE_LLR, 1, 0);
    for (int i = 0; i < s.n; i++) {
        strand_vep_variant *x = &s.x[i];
        emb_set += !isnan(x->emb);
        int c = 0;
        while (strcmp(cs[c].name, x->contig)) c++;
        int64_t pos = x->pos1 - 1, k = pos / CORE, beg = k * CORE - h;
        if (k != cur_k || cur_c != x->contig) {
            for (int64_t j = 0; j < T; j++) ids[j] = beg + j >= 0 && beg + j < cs[c].len ? tok(cs[c].seq[beg + j]) : ST_DNA_PAD;
            int rc = use_api ? strand_model_logits(sm, ids, 1, (size_t)T, NULL, NULL, lg)
                             : caduceus_forward(cw, cx, ids, 1, (size_t)T, CADUCEUS_INFER, lg, NULL, NULL);
            CU_ASSERT_EQUAL_FATAL(rc, 0);
            cur_k = k, cur_c = x->contig;
        }
        const float *l = lg + (size_t)(pos - beg) * 16;
        double want = (double)l[tok(x->alt[0])] - (double)l[tok(x->ref[0])];
        double d = fabs(x->llr - want);
        worst = fmax(worst, d);
        if (!(d <= 1e-5)) bad++;
        if (n++ % 16 == 0) { /* a sample of sites against the masked score (one forward each) */
            double ml = NAN;
            CU_ASSERT_EQUAL(strand_vep_score_snv(vm, x->contig, x->pos1, x->ref, x->alt, &ml, NULL), STRAND_VEP_OK);
            diff_masked += fabs(ml - x->llr), nm++;
        }
    }
    fprintf(stderr, "    %s %d SNVs (%lld tiles): marginal vs direct logits max |diff| %.3g (tol 1e-5); mean "
            "|marginal - masked| %.3g (every 16th site)\n", use_api ? "PS, strand_model_logits" : "PH, caduceus_forward", n,
            (long long)v->tiles, worst, diff_masked / nm);
    CU_ASSERT(n > 1000);
    CU_ASSERT_EQUAL(bad, 0);
    CU_ASSERT_EQUAL(emb_set, 0);        /* --scores llr: no EMB */
    CU_ASSERT(diff_masked / nm > 1e-3); /* a different score from the masked one */
    strand_vep_free(vm);
    free(ids), free(lg);
    strand_model_free(sm);
    caduceus_ctx_free(cx);
    caduceus_free(cw);
    strand_vep_free(v);
    for (int c = 0; c < nc; c++) free(cs[c].seq);
    free(s.x), free(s.ref);
    strand_set_threads(0);
}

static void test_marginal_equals_direct_ps(void) { check_direct(g_ps, 1); }
static void test_marginal_equals_direct_ph(void) { check_direct(g_ph, 0); }

/* Bitwise independent of batch size and threads; every tile runs once even across batches (the
 * kept last tile); with rc_average too. */
static void test_marginal_batch_threads(void)
{
    contig cs[4];
    int nc = fx_read_fasta(g_ref, cs, 4);
    sites s = make_sites(cs, nc, 13);
    size_t bytes = (size_t)s.n * sizeof *s.x;
    strand_vep_variant *a = malloc(bytes), *b = malloc(bytes);
    for (int rca = 0; rca < 2; rca++) {
        memcpy(a, s.x, bytes);
        strand_vep *v = open_v(g_ph, STRAND_VEP_LLR_MARGINAL, 0, 1, rca);
        CU_ASSERT_EQUAL_FATAL(strand_vep_score_batch(v, a, (size_t)s.n), 0);
        int64_t tiles_all = v->tiles;
        strand_vep_free(v);
        const int batches[3] = {1, 7, 64};
        for (int t = 0; t < 3; t++) {
            memcpy(b, s.x, bytes);
            v = open_v(g_ph, STRAND_VEP_LLR_MARGINAL, 0, 2, rca);
            for (int i = 0; i < s.n; i += batches[t]) {
                size_t m = (size_t)(s.n - i < batches[t] ? s.n - i : batches[t]);
                CU_ASSERT_EQUAL_FATAL(strand_vep_score_batch(v, b + i, m), 0);
            }
            int same = 0;
            for (int i = 0; i < s.n; i++)
                same += memcmp(&a[i].llr, &b[i].llr, sizeof(double)) == 0 && memcmp(&a[i].emb, &b[i].emb, sizeof(double)) == 0;
            fprintf(stderr, "    rc_average %d: batch %d / 2 threads vs one batch / 1 thread: %d/%d bitwise equal; "
                    "tiles %lld vs %lld\n", rca, batches[t], same, s.n, (long long)v->tiles, (long long)tiles_all);
            CU_ASSERT_EQUAL(same, s.n);
            CU_ASSERT_EQUAL(v->tiles, tiles_all); /* sorted input: the kept tile avoids every rerun */
            strand_vep_free(v);
        }
    }
    free(a), free(b);
    for (int c = 0; c < nc; c++) free(cs[c].seq);
    free(s.x), free(s.ref);
    strand_set_threads(0);
}

/* ---- indels and MNVs (caduceus/vep_indel.c, docs/vep.md "Indel LLR") ------------------------------ */

/* PLL of a token string from a forward on it: Σ over non-[PAD] positions of log softmax(logits)[id],
 * in double (written here from the formula, independently of vep_indel.c). */
static double pll_of(strand_model *sm, const caduceus_weights *cw, caduceus_ctx *cx, const int32_t *ids, size_t L)
{
    float *lg = malloc(L * 16 * sizeof *lg);
    int rc = sm ? strand_model_logits(sm, ids, 1, L, NULL, NULL, lg)
                : caduceus_forward(cw, cx, ids, 1, L, CADUCEUS_INFER, lg, NULL, NULL);
    CU_ASSERT_EQUAL_FATAL(rc, 0);
    double s = 0;
    for (size_t i = 0; i < L; i++) {
        if (ids[i] == ST_DNA_PAD) continue;
        double mx = -INFINITY, z = 0;
        for (int t = 0; t < 16; t++) mx = fmax(mx, (double)lg[i * 16 + t]);
        for (int t = 0; t < 16; t++) z += exp((double)lg[i * 16 + t] - mx);
        s += (double)lg[i * 16 + ids[i]] - mx - log(z);
    }
    free(lg);
    return s;
}

static size_t text_ids(const char *txt, int npad, int32_t *ids) /* npad [PAD]s, then the bases */
{
    size_t n = 0;
    for (int i = 0; i < npad; i++) ids[n++] = ST_DNA_PAD;
    for (; *txt; txt++) ids[n++] = tok(*txt);
    return n;
}

/* A case to check by hand: contig "lit" of 40 bases, window 15 (h = 7). The deletion 21 CTGA>C
 * compares the haplotypes ACGGATC|CTGA|ACGTTAG and ACGGATC|C|ACGTTAG; the insertion 3 G>GTTA near
 * the contig start has 5 [PAD]s before AC (left out of the sums): [PAD]x5 AC|G|TTGCAAG vs
 * [PAD]x5 AC|GTTA|TTGCAAG. STRAND_LLR = PLL(alt) − PLL(ref) from strand_model_logits on those
 * literal strings (tolerance 1e-12 relative: the same float forward, sums in double). */
static void test_indel_literal(void)
{
    const char *fa = tu_tmp("vepm_lit.fa");
    fx_contig c = {.name = "lit", .seq = (char *)"ACGTTGCAAGCTTACGGATCCTGAACGTTAGCCATGCAAT", .len = 40};
    fx_write_fasta(fa, &c, 1);
    strand_vep_params p = strand_vep_default_params();
    p.window = 15, p.quiet = 1, p.threads = 1, p.llr = STRAND_VEP_LLR_MARGINAL, p.scores = STRAND_VEP_SCORE_LLR;
    strand_vep *v = NULL;
    CU_ASSERT_EQUAL_FATAL(strand_vep_create(g_ps3, fa, &p, &v), 0);
    strand_model *sm = NULL;
    CU_ASSERT_EQUAL_FATAL(strand_model_load(g_ps3, &sm), 0);
    const struct { long long pos1; const char *ref, *alt, *hr, *ha; int npad; } cases[2] = {
        {21, "CTGA", "C", "ACGGATCCTGAACGTTAG", "ACGGATCCACGTTAG", 0},
        {3, "G", "GTTA", "ACGTTGCAAG", "ACGTTATTGCAAG", 5}};
    int32_t ids[64];
    for (int k = 0; k < 2; k++) {
        double llr = NAN;
        CU_ASSERT_EQUAL(strand_vep_score_snv(v, "lit", cases[k].pos1, cases[k].ref, cases[k].alt, &llr, NULL),
                        STRAND_VEP_OK);
        size_t nr = text_ids(cases[k].hr, cases[k].npad, ids);
        double pr = pll_of(sm, NULL, NULL, ids, nr);
        size_t na = text_ids(cases[k].ha, cases[k].npad, ids);
        double pa = pll_of(sm, NULL, NULL, ids, na);
        fprintf(stderr, "    lit:%lld %s>%s: PLL(alt %zu) %.9g - PLL(ref %zu) %.9g = %.9g; vep %.9g\n", cases[k].pos1,
                cases[k].ref, cases[k].alt, na, pa, nr, pr, pa - pr, llr);
        CU_ASSERT(fabs(llr - (pa - pr)) <= 1e-12 * (fabs(pa) + fabs(pr)));
        CU_ASSERT(llr != 0.0);
    }
    CU_ASSERT_EQUAL(v->hap_windows, 4);
    strand_model_free(sm);
    strand_vep_free(v);
    strand_set_threads(0);
}

/* The fixture VCF's records through the library; every non-SNV ACGT ALT against the formula with
 * windows cut from the FASTA text (PS: strand_model_logits; PH: caduceus_forward, the inference
 * mode). Masked mode leaves them missing. */
typedef struct vrec { char chrom[64], ref[64], alt[64]; long long pos; } vrec;
static int read_records(vrec *r, int max) /* one entry per ALT */
{
    FILE *fp = fopen(VARS_VCF, "r");
    if (!fp) return -1;
    char line[8192];
    int n = 0;
    while (n < max && fgets(line, sizeof line, fp)) {
        if (line[0] == '#') continue;
        char chrom[64], ref[64], alts[256];
        long long pos;
        if (sscanf(line, "%63s %lld %*s %63s %255s", chrom, &pos, ref, alts) != 4) continue;
        for (char *save = NULL, *a = strtok_r(alts, ",", &save); a && n < max; a = strtok_r(NULL, ",", &save)) {
            snprintf(r[n].chrom, 64, "%s", chrom), snprintf(r[n].ref, 64, "%s", ref), snprintf(r[n].alt, 64, "%s", a);
            r[n++].pos = pos;
        }
    }
    fclose(fp);
    return n;
}

static int is_acgt(const char *a)
{
    for (; *a; a++)
        if (!strchr("ACGTacgt", *a)) return 0;
    return 1;
}

static int hap_ids(const contig *c, long long pos1, const char *ref, const char *allele, int32_t *ids)
{
    int64_t h = WIN / 2, p = pos1 - 1, rl = (int64_t)strlen(ref), n = 0;
    for (int64_t j = p - h; j < p; j++) ids[n++] = j >= 0 && j < c->len ? tok(c->seq[j]) : ST_DNA_PAD;
    for (const char *a = allele; *a; a++) ids[n++] = tok(*a);
    for (int64_t j = p + rl; j < p + rl + h; j++) ids[n++] = j >= 0 && j < c->len ? tok(c->seq[j]) : ST_DNA_PAD;
    return (int)n;
}

static void check_indels(const char *model, int use_api)
{
    contig cs[4];
    int nc = fx_read_fasta(g_ref, cs, 4);
    vrec r[128];
    int nr = read_records(r, 128);
    strand_vep_variant x[128];
    for (int i = 0; i < nr; i++) x[i] = (strand_vep_variant){.contig = r[i].chrom, .pos1 = r[i].pos, .ref = r[i].ref, .alt = r[i].alt};
    strand_vep *v = open_v(model, STRAND_VEP_LLR_MARGINAL, STRAND_VEP_SCORE_LLR, 1, 0),
               *vm = open_v(model, STRAND_VEP_LLR_MASKED, STRAND_VEP_SCORE_LLR, 1, 0);
    CU_ASSERT_EQUAL_FATAL(strand_vep_score_batch(v, x, (size_t)nr), 0);
    strand_vep_variant y[128];
    memcpy(y, x, sizeof x);
    CU_ASSERT_EQUAL_FATAL(strand_vep_score_batch(vm, y, (size_t)nr), 0);
    strand_model *sm = NULL;
    caduceus_weights *cw = NULL;
    caduceus_ctx *cx = NULL;
    if (use_api) {
        CU_ASSERT_EQUAL_FATAL(strand_model_load(model, &sm), 0);
    } else {
        CU_ASSERT_EQUAL_FATAL(caduceus_load(&cw, model), 0);
        CU_ASSERT_EQUAL_FATAL(caduceus_ctx_create(&cx, &cw->cfg), 0);
    }
    int n = 0, bad = 0;
    double worst = 0;
    int32_t *ids = malloc(4 * WIN * sizeof *ids);
    for (int i = 0; i < nr; i++) {
        int snv = strlen(r[i].ref) == 1 && strlen(r[i].alt) == 1;
        if (snv || !is_acgt(r[i].alt) || x[i].status != STRAND_VEP_OK) continue;
        int c = 0;
        while (c < nc && strcmp(cs[c].name, r[i].chrom)) c++;
        CU_ASSERT_FATAL(c < nc);
        int lr = hap_ids(&cs[c], r[i].pos, r[i].ref, r[i].ref, ids);
        double pr = pll_of(sm, cw, cx, ids, (size_t)lr);
        int la = hap_ids(&cs[c], r[i].pos, r[i].ref, r[i].alt, ids);
        double pa = pll_of(sm, cw, cx, ids, (size_t)la), d = fabs(x[i].llr - (pa - pr));
        fprintf(stderr, "    %s %s:%lld %s>%s LLR %.6g (formula %.6g, |diff| %.2g); masked mode %g\n",
                use_api ? "PS" : "PH", r[i].chrom, r[i].pos, r[i].ref, r[i].alt, x[i].llr, pa - pr, d, y[i].llr);
        worst = fmax(worst, d);
        bad += !(d <= 1e-12 * (fabs(pa) + fabs(pr))) + !isnan(y[i].llr);
        n++;
    }
    fprintf(stderr, "    %d indel/MNV ALTs: max |vep - formula| %.3g (tol 1e-12 relative to the PLLs)\n", n, worst);
    CU_ASSERT(n >= 4); /* deletion, insertion, MNV, the insertion of a multi-allelic record */
    CU_ASSERT_EQUAL(bad, 0);
    free(ids);
    strand_model_free(sm);
    caduceus_ctx_free(cx);
    caduceus_free(cw);
    strand_vep_free(v), strand_vep_free(vm);
    for (int c = 0; c < nc; c++) free(cs[c].seq);
    strand_set_threads(0);
}

static void test_indel_formula_ps(void) { check_indels(g_ps3, 1); }
static void test_indel_formula_ph(void) { check_indels(g_ph3, 0); }

/* Swapping REF and ALT on a reference carrying ALT negates the indel score bit for bit (PS and PH,
 * with and without rc_average); batch 1 vs one batch and 1 vs 2 threads give the same bits. */
static void test_indel_antisymmetry_batch_threads(void)
{
    contig cs[4];
    int nc = fx_read_fasta(g_ref, cs, 4);
    vrec r[128];
    int nr = read_records(r, 128), tested = 0, exact = 0, same = 0, nb = 0, k = 0;
    for (int i = 0; i < nr; i++) /* the non-SNV records only (SNVs are covered above) */
        if (strlen(r[i].ref) != 1 || strlen(r[i].alt) != 1) r[k++] = r[i];
    nr = k;
    const char *alt_fa = tu_tmp("vepm_alt.fa");
    for (int mi = 0; mi < 2; mi++)
        for (int rca = 0; rca < 2; rca++) {
            const char *model = mi ? g_ph3 : g_ps3;
            strand_vep *v = open_v(model, STRAND_VEP_LLR_MARGINAL, STRAND_VEP_SCORE_LLR, 1, rca);
            strand_vep_variant x[128], y[128];
            for (int i = 0; i < nr; i++)
                x[i] = (strand_vep_variant){.contig = r[i].chrom, .pos1 = r[i].pos, .ref = r[i].ref, .alt = r[i].alt};
            memcpy(y, x, sizeof x);
            CU_ASSERT_EQUAL_FATAL(strand_vep_score_batch(v, x, (size_t)nr), 0);
            strand_vep *v2 = open_v(model, STRAND_VEP_LLR_MARGINAL, STRAND_VEP_SCORE_LLR, 2, rca);
            for (int i = 0; i < nr; i++) CU_ASSERT_EQUAL_FATAL(strand_vep_score_batch(v2, y + i, 1), 0);
            strand_vep_free(v2);
            for (int i = 0; i < nr; i++) same += !memcmp(&x[i].llr, &y[i].llr, sizeof(double)), nb++;
            for (int i = 0; i < nr; i++) {
                int snv = strlen(r[i].ref) == 1 && strlen(r[i].alt) == 1;
                if (snv || !is_acgt(r[i].alt) || x[i].status != STRAND_VEP_OK) continue;
                int c = 0;
                while (strcmp(cs[c].name, r[i].chrom)) c++;
                /* the contig with ALT written over REF */
                size_t rl = strlen(r[i].ref), al = strlen(r[i].alt), p = (size_t)r[i].pos - 1;
                contig m[4];
                memcpy(m, cs, sizeof m);
                m[c].seq = malloc((size_t)cs[c].len + al + 1);
                memcpy(m[c].seq, cs[c].seq, p);
                memcpy(m[c].seq + p, r[i].alt, al);
                memcpy(m[c].seq + p + al, cs[c].seq + p + rl, (size_t)cs[c].len - p - rl + 1);
                m[c].len = cs[c].len - (int64_t)rl + (int64_t)al;
                fx_write_fasta(alt_fa, m, nc);
                free(m[c].seq);
                strand_vep_params pp = strand_vep_default_params();
                pp.window = WIN, pp.threads = 1, pp.quiet = 1, pp.rc_average = rca, pp.llr = STRAND_VEP_LLR_MARGINAL;
                pp.scores = STRAND_VEP_SCORE_LLR;
                strand_vep *va = NULL;
                CU_ASSERT_EQUAL_FATAL(strand_vep_create(model, alt_fa, &pp, &va), 0);
                double llr2 = NAN;
                CU_ASSERT_EQUAL(strand_vep_score_snv(va, r[i].chrom, r[i].pos, r[i].alt, r[i].ref, &llr2, NULL),
                                STRAND_VEP_OK);
                strand_vep_free(va);
                fprintf(stderr, "    %s rc_average %d %s:%lld %s>%s LLR %.9g swapped %.9g\n", mi ? "PH" : "PS", rca,
                        r[i].chrom, r[i].pos, r[i].ref, r[i].alt, x[i].llr, llr2);
                exact += llr2 == -x[i].llr && x[i].llr != 0;
                tested++;
            }
            strand_vep_free(v);
        }
    fprintf(stderr, "    antisymmetry: %d/%d exact; batch 1 + 2 threads vs one batch + 1 thread: %d/%d bitwise\n", exact,
            tested, same, nb);
    CU_ASSERT(tested >= 16);
    CU_ASSERT_EQUAL(exact, tested);
    CU_ASSERT_EQUAL(same, nb);
    for (int c = 0; c < nc; c++) free(cs[c].seq);
    strand_set_threads(0);
}

/* ---- CLI ---------------------------------------------------------------------------------------- */

static int run_cli(const char *args, const char *out, char *log, size_t cap)
{
    char cmd[8192];
    unlink(out);
    snprintf(cmd, sizeof cmd, "%s vep -f %s --window %d --pool-half-width 20 -q --no-version -m %s %s -O v -o %s %s 2>&1",
             STRAND_BIN, g_ref, WIN, g_ps, args, out, VARS_VCF);
    return tu_run(cmd, log, cap);
}

/* Masked mode: --llr masked and --scores llr,emb write the default output byte for byte; --scores
 * llr writes the same STRAND_LLR and no STRAND_EMB; marginal says so in the header. */
static void test_cli_modes(void)
{
    static char log[1 << 14];
    const char *names[5] = {"vepm_def.vcf", "vepm_masked.vcf", "vepm_both.vcf", "vepm_llr.vcf", "vepm_marg.vcf"};
    const char *args[5] = {"", "--llr masked", "--scores llr,emb", "--scores llr", "--llr marginal --marginal-core 37 --batch 5 --threads 2"};
    char out[5][1024];
    for (int i = 0; i < 5; i++) {
        snprintf(out[i], sizeof out[i], "%s", tu_tmp(names[i]));
        int st = run_cli(args[i], out[i], log, sizeof log);
        if (st) fprintf(stderr, "    %s: %s\n", args[i], log);
        CU_ASSERT_EQUAL_FATAL(st, 0);
    }
    size_t n0, n1, n2;
    unsigned char *d0 = tu_slurp(out[0], &n0), *d1 = tu_slurp(out[1], &n1), *d2 = tu_slurp(out[2], &n2);
    CU_ASSERT_FATAL(d0 && d1 && d2);
    CU_ASSERT(n0 == n1 && !memcmp(d0, d1, n0));
    CU_ASSERT(n0 == n2 && !memcmp(d0, d2, n0));
    free(d0), free(d1), free(d2);
    static char q0[1 << 16], q3[1 << 16], hd[1 << 14], cmd[4096];
    snprintf(cmd, sizeof cmd, "bcftools query -f '%%STRAND_LLR\\n' %s", out[0]);
    CU_ASSERT_EQUAL(tu_run(cmd, q0, sizeof q0), 0);
    snprintf(cmd, sizeof cmd, "bcftools query -f '%%STRAND_LLR\\n' %s", out[3]);
    CU_ASSERT_EQUAL(tu_run(cmd, q3, sizeof q3), 0);
    CU_ASSERT_STRING_EQUAL(q0, q3);
    snprintf(cmd, sizeof cmd, "grep -c STRAND_EMB %s", out[3]);
    CU_ASSERT_NOT_EQUAL(tu_run(cmd, log, sizeof log), 0); /* grep finds nothing */
    snprintf(cmd, sizeof cmd, "bcftools view -h %s | grep '^##INFO=<ID=STRAND_LLR'", out[4]);
    CU_ASSERT_EQUAL(tu_run(cmd, hd, sizeof hd), 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(hd, "llr=marginal"));
    snprintf(cmd, sizeof cmd, "bcftools view -h %s | grep '^##INFO=<ID=STRAND_LLR'", out[0]);
    CU_ASSERT_EQUAL(tu_run(cmd, hd, sizeof hd), 0);
    CU_ASSERT_PTR_NULL(strstr(hd, "marginal"));
    CU_ASSERT_PTR_NOT_NULL(strstr(hd, "[MASK]"));
    /* the marginal CLI values are the library's (threads 2, batch 5 vs one call each) */
    snprintf(cmd, sizeof cmd, "bcftools query -i 'INFO/NOTE=\"snv\"' -f '%%CHROM %%POS %%REF %%ALT %%STRAND_LLR\\n' %s", out[4]);
    CU_ASSERT_EQUAL_FATAL(tu_run(cmd, q3, sizeof q3), 0);
    strand_vep *v = open_v(g_ps, STRAND_VEP_LLR_MARGINAL, 0, 1, 0);
    int n = 0, bad = 0;
    for (char *save = NULL, *ln = strtok_r(q3, "\n", &save); ln; ln = strtok_r(NULL, "\n", &save)) {
        char chrom[64], ref[64], alt[64];
        long long pos;
        double llr, want = NAN;
        if (sscanf(ln, "%63s %lld %63s %63s %lf", chrom, &pos, ref, alt, &llr) != 5) { bad++; continue; }
        CU_ASSERT_EQUAL(strand_vep_score_snv(v, chrom, pos, ref, alt, &want, NULL), STRAND_VEP_OK);
        if (!(fabs(llr - want) <= 1e-5 * fmax(fabs(want), 1e-3) + 1e-6)) bad++;
        n++;
    }
    fprintf(stderr, "    CLI marginal: %d SNVs vs library, %d off (rel 1e-5, bcftools prints 6 digits)\n", n, bad);
    CU_ASSERT(n >= 10);
    CU_ASSERT_EQUAL(bad, 0);
    /* indels and the MNV carry STRAND_LLR in marginal mode (bcftools parses the file), equal to the
     * library's; the masked default leaves them missing */
    const char *kinds = "INFO/NOTE=\"deletion\" || INFO/NOTE=\"insertion\" || INFO/NOTE=\"mnv\"";
    snprintf(cmd, sizeof cmd, "bcftools query -i '%s' -f '%%CHROM %%POS %%REF %%ALT %%STRAND_LLR\\n' %s", kinds, out[4]);
    CU_ASSERT_EQUAL_FATAL(tu_run(cmd, q3, sizeof q3), 0);
    n = 0, bad = 0;
    for (char *save = NULL, *ln = strtok_r(q3, "\n", &save); ln; ln = strtok_r(NULL, "\n", &save)) {
        char chrom[64], ref[64], alt[64];
        long long pos;
        double llr, want = NAN;
        if (sscanf(ln, "%63s %lld %63s %63s %lf", chrom, &pos, ref, alt, &llr) != 5) { bad++; continue; }
        CU_ASSERT_EQUAL(strand_vep_score_snv(v, chrom, pos, ref, alt, &want, NULL), STRAND_VEP_OK);
        if (!(fabs(llr - want) <= 1e-5 * fmax(fabs(want), 1e-3) + 1e-6)) bad++;
        n++;
    }
    fprintf(stderr, "    CLI marginal: %d indel/MNV records vs library, %d off or missing\n", n, bad);
    CU_ASSERT_EQUAL(n, 3);
    CU_ASSERT_EQUAL(bad, 0);
    snprintf(cmd, sizeof cmd, "bcftools query -i '%s' -f '%%STRAND_LLR\\n' %s", kinds, out[0]);
    CU_ASSERT_EQUAL_FATAL(tu_run(cmd, q3, sizeof q3), 0);
    CU_ASSERT_STRING_EQUAL(q3, ".\n.\n.\n");
    snprintf(cmd, sizeof cmd, "bcftools view -h %s | grep '^##INFO=<ID=STRAND_LLR'", out[4]);
    CU_ASSERT_EQUAL(tu_run(cmd, hd, sizeof hd), 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(hd, "Indel LLR"));
    strand_vep_free(v);
    strand_set_threads(0);
}

void register_suites(void)
{
    CU_pSuite s = CU_add_suite("vep_marginal", suite_init, NULL);
    ADD_TEST(s, test_marginal_equals_direct_ps);
    ADD_TEST(s, test_marginal_equals_direct_ph);
    ADD_TEST(s, test_marginal_batch_threads);
    ADD_TEST(s, test_indel_literal);
    ADD_TEST(s, test_indel_formula_ps);
    ADD_TEST(s, test_indel_formula_ph);
    ADD_TEST(s, test_indel_antisymmetry_batch_threads);
    ADD_TEST(s, test_cli_modes);
}
