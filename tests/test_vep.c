/* strand vep: windows, LLR antisymmetry, reverse-complement invariance, batch/thread independence,
 * window sharing, the annotated VCF against bcftools, and every documented bad input.
 * Data: tests/data/vep (real C. elegans sequence from htslib-test's ce.fa, VCFs derived from it by
 * tests/reference/vep_fixtures.py). Models: tiny random PS/PH Caduceus written here (mechanics,
 * not accuracy). */
#include <ctype.h>
#include <stdint.h>
#include <sys/stat.h>
#include <unistd.h>

#include "caduceus/caduceus.h"
#include "caduceus/vep.h"
#include "caduceus/vep_sha256.h"
#include "core/tokenizer_dna.h"
#include "strand.h"
#include "test_util.h"
#include "fixture_util.h"

#define REF_SRC STRAND_TEST_DATA "/vep/ref.fa"
#define REF_FA g_ref /* a copy under the build tree: its .fai is built there, not in the source tree */
#define VARS_VCF STRAND_TEST_DATA "/vep/variants.vcf"
#define TEST_WINDOW 101
#define TEST_H 20

static char g_ps[1024], g_ph[1024], g_ref[1024];

static int suite_init(void)
{
    snprintf(g_ps, sizeof g_ps, "%s", tu_tmp("vep_ps.safetensors"));
    snprintf(g_ph, sizeof g_ph, "%s", tu_tmp("vep_ph.safetensors"));
    if (fx_tiny_caduceus(g_ps, 1, 11, 50.0f) < 0 || fx_tiny_caduceus(g_ph, 0, 12, 50.0f) < 0) return 1;
    snprintf(g_ref, sizeof g_ref, "%s", tu_tmp("vep_ref.fa"));
    char cmd[4096];
    snprintf(cmd, sizeof cmd, "rm -f '%s.fai' && cp '%s' '%s'", g_ref, REF_SRC, g_ref);
    return tu_run(cmd, NULL, 0) != 0;
}

static strand_vep *open_vep_rc(const char *model, const char *fasta, int threads, int rc_average)
{
    strand_vep_params p = strand_vep_default_params();
    p.window = TEST_WINDOW, p.pool_half_width = TEST_H, p.threads = threads, p.quiet = 1, p.rc_average = rc_average;
    strand_vep *v = NULL;
    int rc = strand_vep_create(model, fasta, &p, &v);
    if (rc < 0) fprintf(stderr, "    strand_vep_create: %s\n", strand_last_error());
    CU_ASSERT_EQUAL_FATAL(rc, 0);
    return v;
}

static strand_vep *open_vep(const char *model, const char *fasta, int threads)
{
    return open_vep_rc(model, fasta, threads, 0);
}

/* ---- fixtures read back ---------------------------------------------------------------------- */
typedef fx_contig contig;

typedef struct vrec { char chrom[64], ref[64], alt[128], note[64]; int64_t pos; } vrec;

/* Records of the fixture VCF (CHROM POS REF ALT NOTE). */
static int read_vcf(const char *path, vrec *v, int max)
{
    FILE *fp = fopen(path, "r");
    if (!fp) return -1;
    char line[8192];
    int n = 0;
    while (n < max && fgets(line, sizeof line, fp)) {
        if (line[0] == '#') continue;
        long long pos;
        char info[1024];
        if (sscanf(line, "%63s %lld %*s %63s %127s %*s %*s %1023s", v[n].chrom, &pos, v[n].ref, v[n].alt, info) != 5)
            continue;
        v[n].pos = pos;
        char *p = strstr(info, "NOTE=");
        snprintf(v[n].note, sizeof v[n].note, "%s", p ? p + 5 : "");
        v[n].note[strcspn(v[n].note, ";")] = 0;
        n++;
    }
    fclose(fp);
    return n;
}

static char comp(char b)
{
    switch (toupper((unsigned char)b)) {
    case 'A': return 'T';
    case 'C': return 'G';
    case 'G': return 'C';
    case 'T': return 'A';
    default: return 'N';
    }
}

static int is_snv(const vrec *r) { return strlen(r->ref) == 1 && strlen(r->alt) == 1 && isalpha((unsigned char)r->alt[0]); }

/* ---- tests ------------------------------------------------------------------------------------ */

static void test_sha256_vs_sha256sum(void)
{
    const char *paths[2] = {g_ps, REF_SRC};
    for (int i = 0; i < 2; i++) {
        char hex[65], cmd[2048], out[256];
        CU_ASSERT_EQUAL_FATAL(st_sha256_file(paths[i], hex), 0);
        snprintf(cmd, sizeof cmd, "sha256sum '%s' | cut -c1-64", paths[i]);
        CU_ASSERT_EQUAL_FATAL(tu_run(cmd, out, sizeof out), 0);
        out[strcspn(out, "\n")] = 0;
        fprintf(stderr, "    sha256 %s\n      ours %s\n      sha256sum %s\n", paths[i], hex, out);
        CU_ASSERT_STRING_EQUAL(hex, out);
    }
    CU_ASSERT_EQUAL(st_sha256_file(tu_tmp("vep_no_such_file"), (char[65]){0}), STRAND_E_IO);
}

/* Window tokens against the FASTA text read independently: ref, masked, ALT haplotypes (SNV,
 * deletion, insertion) and [PAD] past both contig ends. */
static void test_windows(void)
{
    contig cs[4];
    int nc = fx_read_fasta(REF_FA, cs, 4);
    CU_ASSERT_EQUAL_FATAL(nc, 2);
    strand_vep *v = open_vep(g_ps, REF_FA, 1);
    int W = v->W, h = v->h;
    CU_ASSERT_EQUAL(W, TEST_WINDOW);
    int32_t *ids = malloc((size_t)W * sizeof(int32_t)), *want = malloc((size_t)W * sizeof(int32_t));
    char *hap = malloc(20000);
    struct { int64_t pos; int64_t rlen; const char *alt; int kind; } cases[] = {
        {1000, 1, NULL, ST_VEP_WIN_REF},        {1000, 1, NULL, ST_VEP_WIN_MASKED},
        {1000, 1, "A", ST_VEP_WIN_ALT},         {1499, 3, "G", ST_VEP_WIN_ALT},
        {1599, 1, "CGATTACA", ST_VEP_WIN_ALT}, {2, 1, NULL, ST_VEP_WIN_REF},
        {2, 1, "A", ST_VEP_WIN_ALT},           {4996, 1, NULL, ST_VEP_WIN_MASKED},
        {4990, 4, "T", ST_VEP_WIN_ALT},        {0, 1, "TTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTT", ST_VEP_WIN_ALT}};
    int bad = 0;
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        for (int ci = 0; ci < 2; ci++) {
            const contig *c = &cs[ci];
            int64_t pos = cases[k].pos;
            /* the haplotype as text, then the window [pos-h, pos+h] of it, '.' outside the contig */
            int64_t n = 0;
            if (cases[k].kind == ST_VEP_WIN_ALT) {
                memcpy(hap, c->seq, (size_t)pos);
                n = pos;
                n += (int64_t)strlen(strcpy(hap + n, cases[k].alt));
                memcpy(hap + n, c->seq + pos + cases[k].rlen, (size_t)(c->len - pos - cases[k].rlen));
                n += c->len - pos - cases[k].rlen;
            } else {
                memcpy(hap, c->seq, (size_t)c->len);
                n = c->len;
            }
            for (int i = 0; i < W; i++) {
                int64_t q = pos - h + i;
                int t = q < 0 || q >= n ? ST_DNA_PAD : st_dna_byte_to_id[(unsigned char)hap[q]];
                want[i] = t == ST_DNA_N ? ST_DNA_PAD : t;
            }
            if (cases[k].kind == ST_VEP_WIN_MASKED) want[h] = ST_DNA_MASK;
            CU_ASSERT_EQUAL_FATAL(st_vep_window(v, ci, pos, cases[k].rlen, cases[k].alt, cases[k].kind, ids), 0);
            for (int i = 0; i < W; i++)
                if (ids[i] != want[i]) {
                    if (!bad++)
                        fprintf(stderr, "    FIRST MISMATCH case %zu contig %d index %d: got %d want %d\n", k, ci, i,
                                ids[i], want[i]);
                }
        }
    }
    fprintf(stderr, "    window tokens: %d mismatches over %zu windows\n", bad, 2 * sizeof cases / sizeof cases[0]);
    CU_ASSERT_EQUAL(bad, 0);
    /* padding is really exercised: position 2 has 48 [PAD] on the left */
    CU_ASSERT_EQUAL(st_vep_window(v, 0, 2, 1, NULL, ST_VEP_WIN_REF, ids), 0);
    int npad = 0;
    for (int i = 0; i < W; i++) npad += ids[i] == ST_DNA_PAD;
    CU_ASSERT_EQUAL(npad, h - 2);
    free(ids), free(want), free(hap);
    for (int i = 0; i < nc; i++) free(cs[i].seq);
    strand_vep_free(v);
}

/* Scores against the independent float64 PyTorch reference (tests/reference/vep_reference.py,
 * committed HF-layout tiny PS and PH models): every scored ALT of variants.vcf, window 101, H 20.
 * float32 strand vs float64 PyTorch: tolerances 1e-5 (LLR, nats) and 1e-7 (EMB), ~10x the
 * differences measured when written (9.6e-7, 1.8e-9). */
static void test_vs_pytorch_reference(void)
{
    const char *names[2] = {"ps", "ph"};
    for (int k = 0; k < 2; k++) {
        char model[1024], tsv[1024], line[1024];
        snprintf(model, sizeof model, "%s/vep/model_%s_tiny", STRAND_TEST_DATA, names[k]);
        snprintf(tsv, sizeof tsv, "%s/vep/expected_%s.tsv", STRAND_TEST_DATA, names[k]);
        strand_vep *v = open_vep(model, REF_FA, 1);
        FILE *fp = fopen(tsv, "r");
        CU_ASSERT_PTR_NOT_NULL_FATAL(fp);
        int n = 0, nllr = 0;
        double ml = 0, me = 0;
        while (fgets(line, sizeof line, fp)) {
            if (line[0] == '#') continue;
            char chrom[64], ref[64], alt[64], sl[64], se[64];
            long long pos;
            if (sscanf(line, "%63s %lld %63s %63s %63s %63s", chrom, &pos, ref, alt, sl, se) != 6) continue;
            double wl = strtod(sl, NULL), we = strtod(se, NULL), llr, emb;
            CU_ASSERT_EQUAL(strand_vep_score_snv(v, chrom, pos, ref, alt, &llr, &emb), STRAND_VEP_OK);
            if (isnan(wl)) {
                CU_ASSERT(isnan(llr));
            } else {
                ml = fmax(ml, fabs(llr - wl)), nllr++;
            }
            me = fmax(me, fabs(emb - we));
            if (!(fabs(llr - wl) <= 1e-5 || (isnan(wl) && isnan(llr))) || !(fabs(emb - we) <= 1e-7))
                fprintf(stderr, "    MISMATCH %s:%lld %s>%s LLR %.9g want %.9g EMB %.9g want %.9g\n", chrom, pos, ref,
                        alt, llr, wl, emb, we);
            n++;
        }
        fclose(fp);
        fprintf(stderr, "    %s vs PyTorch float64: %d ALTs (%d LLR), max|diff| LLR %.3g (tol 1e-5), EMB %.3g (tol 1e-7)\n",
                names[k], n, nllr, ml, me);
        CU_ASSERT(n >= 30 && nllr >= 25);
        CU_ASSERT(ml <= 1e-5);
        CU_ASSERT(me <= 1e-7);
        strand_vep_free(v);
    }
}

/* Swapping REF and ALT on a FASTA copy with the ALT base written in: the masked context is
 * identical, so LLR must negate exactly (bitwise) and EMB must be identical. */
static void test_llr_antisymmetry(void)
{
    contig cs[4];
    int nc = fx_read_fasta(REF_FA, cs, 4);
    vrec r[64];
    int nr = read_vcf(VARS_VCF, r, 64);
    CU_ASSERT_FATAL(nr > 10);
    for (const char *model = g_ps; model; model = model == g_ps ? g_ph : NULL) {
        strand_vep *v = open_vep(model, REF_FA, 1);
        int tested = 0, exact = 0;
        for (int i = 0; i < nr && tested < 6; i++) {
            if (!is_snv(&r[i]) || strcmp(r[i].note, "snv")) continue;
            double llr, emb, llr2, emb2;
            CU_ASSERT_EQUAL_FATAL(strand_vep_score_snv(v, r[i].chrom, r[i].pos, r[i].ref, r[i].alt, &llr, &emb),
                                  STRAND_VEP_OK);
            int ci = strcmp(r[i].chrom, cs[0].name) ? 1 : 0;
            char old = cs[ci].seq[r[i].pos - 1];
            cs[ci].seq[r[i].pos - 1] = r[i].alt[0];
            const char *alt_fa = tu_tmp("vep_alt.fa");
            fx_write_fasta(alt_fa, cs, nc);
            cs[ci].seq[r[i].pos - 1] = old;
            strand_vep *v2 = open_vep(model, alt_fa, 1);
            CU_ASSERT_EQUAL(strand_vep_score_snv(v2, r[i].chrom, r[i].pos, r[i].alt, r[i].ref, &llr2, &emb2),
                            STRAND_VEP_OK);
            strand_vep_free(v2);
            fprintf(stderr, "    %s %s:%lld %s>%s LLR %.9g swapped %.9g | EMB %.9g swapped %.9g\n",
                    model == g_ps ? "PS" : "PH", r[i].chrom, (long long)r[i].pos, r[i].ref, r[i].alt, llr, llr2, emb,
                    emb2);
            CU_ASSERT(llr != 0.0);
            CU_ASSERT(emb > 0.0);
            exact += llr2 == -llr && emb2 == emb;
            tested++;
        }
        CU_ASSERT_EQUAL(tested, 6);
        CU_ASSERT_EQUAL(exact, tested);
        strand_vep_free(v);
    }
    for (int i = 0; i < nc; i++) free(cs[i].seq);
}

/* The reverse-complemented FASTA with mirrored coordinates gives the same scores, PS (exact
 * RC-equivariant head) and PH (post-hoc conjoined): to float rounding by default (the two strands run
 * in different GEMM row slots; logits of this test model are O(10), so the tolerance is 1e-5
 * absolute), bit for bit with rc_average. */
static void test_reverse_complement_invariance(void)
{
    contig cs[4], rc[4];
    int nc = fx_read_fasta(REF_FA, cs, 4);
    for (int i = 0; i < nc; i++) {
        rc[i] = cs[i];
        rc[i].seq = malloc((size_t)cs[i].len + 1);
        for (int64_t j = 0; j < cs[i].len; j++) rc[i].seq[j] = comp(cs[i].seq[cs[i].len - 1 - j]);
        rc[i].seq[cs[i].len] = 0;
    }
    const char *rc_fa = tu_tmp("vep_rc.fa");
    fx_write_fasta(rc_fa, rc, nc);
    vrec r[64];
    int nr = read_vcf(VARS_VCF, r, 64);
    for (int avg = 0; avg < 2; avg++)
        for (const char *model = g_ps; model; model = model == g_ps ? g_ph : NULL) {
            strand_vep *v = open_vep_rc(model, REF_FA, 1, avg), *w = open_vep_rc(model, rc_fa, 1, avg);
            double maxl = 0, maxe = 0;
            int n = 0, bitwise = 0, ends = 0;
            for (int i = 0; i < nr; i++) {
                if (!is_snv(&r[i]) || strstr(r[i].note, "mismatch") || strstr(r[i].note, "unknown")) continue;
                if (!strstr(r[i].note, "near_") && n >= 10) continue; /* both contig ends + ~10 others */
                ends += strstr(r[i].note, "near_") != NULL;
                int ci = strcmp(r[i].chrom, cs[0].name) ? 1 : 0;
                double a1, e1, a2, e2;
                char rr[2] = {comp(r[i].ref[0]), 0}, ra[2] = {comp(r[i].alt[0]), 0};
                CU_ASSERT_EQUAL(strand_vep_score_snv(v, r[i].chrom, r[i].pos, r[i].ref, r[i].alt, &a1, &e1), 0);
                CU_ASSERT_EQUAL(strand_vep_score_snv(w, r[i].chrom, cs[ci].len - r[i].pos + 1, rr, ra, &a2, &e2), 0);
                maxl = fmax(maxl, fabs(a1 - a2));
                maxe = fmax(maxe, fabs(e1 - e2));
                bitwise += a1 == a2 && e1 == e2;
                n++;
            }
            fprintf(stderr, "    %s%s: %d SNVs (incl. 3 bp from both contig ends): max |fwd - RC| LLR %.3g EMB %.3g, "
                    "bitwise equal %d/%d (tol 1e-5 abs)\n", model == g_ps ? "PS" : "PH", avg ? " --rc-average" : "", n,
                    maxl, maxe, bitwise, n);
            CU_ASSERT(n >= 10 && ends == 2);
            CU_ASSERT(maxl <= 1e-5 && maxe <= 1e-5);
            if (avg) CU_ASSERT_EQUAL(bitwise, n);
            strand_vep_free(v), strand_vep_free(w);
        }
    for (int i = 0; i < nc; i++) free(cs[i].seq), free(rc[i].seq);
}

/* --rc-average on the same FASTA: both models are RC-equivariant at inference (PS by construction,
 * PH conjoined), so averaging with the reverse-complement pass must leave LLR and EMB unchanged to
 * float rounding (tol 1e-5 abs, as above). Sees an average that pairs a token with itself instead
 * of its complement, which the mirrored-FASTA comparison above cannot (issue 19's mutant run). */
static void test_rc_average_matches_single_pass(void)
{
    vrec r[64];
    int nr = read_vcf(VARS_VCF, r, 64);
    for (const char *model = g_ps; model; model = model == g_ps ? g_ph : NULL) {
        strand_vep *v = open_vep_rc(model, REF_FA, 1, 0), *w = open_vep_rc(model, REF_FA, 1, 1);
        double maxl = 0, maxe = 0;
        int n = 0;
        for (int i = 0; i < nr && n < 12; i++) {
            if (!is_snv(&r[i]) || strstr(r[i].note, "mismatch") || strstr(r[i].note, "unknown")) continue;
            double a1, e1, a2, e2;
            CU_ASSERT_EQUAL(strand_vep_score_snv(v, r[i].chrom, r[i].pos, r[i].ref, r[i].alt, &a1, &e1), 0);
            CU_ASSERT_EQUAL(strand_vep_score_snv(w, r[i].chrom, r[i].pos, r[i].ref, r[i].alt, &a2, &e2), 0);
            maxl = fmax(maxl, fabs(a1 - a2));
            maxe = fmax(maxe, fabs(e1 - e2));
            n++;
        }
        fprintf(stderr, "    %s: %d SNVs, max |single pass - rc-average| LLR %.3g EMB %.3g (tol 1e-5 abs)\n",
                model == g_ps ? "PS" : "PH", n, maxl, maxe);
        CU_ASSERT(n >= 10);
        CU_ASSERT(maxl <= 1e-5 && maxe <= 1e-5);
        strand_vep_free(v), strand_vep_free(w);
    }
}

/* All variants in one batch vs one at a time, 1 vs 2 threads (2 workers scoring the distinct windows
 * of a batch in parallel): bitwise identical. Also the window sharing: one masked forward for the 3
 * ALTs of a site. */
static void test_batch_thread_independence_and_sharing(void)
{
    vrec r[64];
    int nr = read_vcf(VARS_VCF, r, 64);
    strand_vep_variant va[128], vb[128], vc[128];
    int n = 0;
    for (int i = 0; i < nr; i++) {
        char *s = r[i].alt;
        for (char *tok = strtok(s, ","); tok; tok = strtok(NULL, ","))
            va[n++] = (strand_vep_variant){.contig = r[i].chrom, .pos1 = r[i].pos, .ref = r[i].ref, .alt = tok};
    }
    memcpy(vb, va, sizeof va);
    memcpy(vc, va, sizeof va);
    strand_vep *v = open_vep(g_ps, REF_FA, 2);
    CU_ASSERT_EQUAL(v->nw, 2);
    CU_ASSERT_EQUAL_FATAL(strand_vep_score_batch(v, vc, (size_t)n), 0);
    strand_vep_free(v);
    v = open_vep(g_ps, REF_FA, 1);
    CU_ASSERT_EQUAL_FATAL(strand_vep_score_batch(v, va, (size_t)n), 0);
    int64_t fw_batch = v->forwards, req = v->windows_requested;
    strand_vep_free(v);
    v = open_vep(g_ps, REF_FA, 2);
    for (int i = 0; i < n; i++) CU_ASSERT_EQUAL_FATAL(strand_vep_score_batch(v, &vb[i], 1), 0);
    int64_t fw_single = v->forwards;
    strand_vep_free(v);
    strand_set_threads(0);
    int same = 0, same2 = 0, scored = 0;
    for (int i = 0; i < n; i++) {
        same += va[i].status == vb[i].status && (va[i].llr == vb[i].llr || (isnan(va[i].llr) && isnan(vb[i].llr))) &&
                (va[i].emb == vb[i].emb || (isnan(va[i].emb) && isnan(vb[i].emb)));
        same2 += va[i].status == vc[i].status && (va[i].llr == vc[i].llr || (isnan(va[i].llr) && isnan(vc[i].llr))) &&
                 (va[i].emb == vc[i].emb || (isnan(va[i].emb) && isnan(vc[i].emb)));
        scored += !isnan(va[i].emb);
    }
    fprintf(stderr, "    %d ALTs (%d scored): batch/1 thread vs single/2 threads bitwise equal %d/%d, vs batch/2 "
            "threads %d/%d; forwards batched %lld (requested %lld), one at a time %lld\n", n, scored, same, n, same2, n,
            (long long)fw_batch, (long long)req, (long long)fw_single);
    CU_ASSERT_EQUAL(same, n);
    CU_ASSERT_EQUAL(same2, n);
    CU_ASSERT(scored >= 25);
    CU_ASSERT(fw_batch < fw_single);
    /* one site, three ALTs: 1 masked + 1 ref + 3 alt windows */
    v = open_vep(g_ps, REF_FA, 1);
    int i0 = -1;
    for (int i = 0; i < nr; i++)
        if (!strcmp(r[i].note, "multiallelic_snv")) i0 = i;
    CU_ASSERT_FATAL(i0 >= 0);
    const char *alts[3] = {"A", "C", "G"};
    strand_vep_variant m[3];
    int k = 0;
    for (int j = 0; j < 3; j++)
        if (strcmp(alts[j], r[i0].ref)) m[k++] = (strand_vep_variant){.contig = r[i0].chrom, .pos1 = r[i0].pos, .ref = r[i0].ref, .alt = alts[j]};
    CU_ASSERT_EQUAL(k, 3 - (strchr("ACG", r[i0].ref[0]) != NULL));
    CU_ASSERT_EQUAL(strand_vep_score_batch(v, m, (size_t)k), 0);
    fprintf(stderr, "    multi-allelic site with %d ALTs: %lld forwards for %lld windows requested\n", k,
            (long long)v->forwards, (long long)v->windows_requested);
    CU_ASSERT_EQUAL(v->forwards, 2 + k);
    CU_ASSERT_EQUAL(v->windows_requested, 3 * k);
    strand_vep_free(v);
}

/* ---- CLI ----------------------------------------------------------------------------------------- */

static int run_vep(const char *args, const char *out, char *log, size_t cap)
{
    char cmd[4096];
    unlink(out);
    snprintf(cmd, sizeof cmd, "%s vep -f %s --window %d --pool-half-width %d -q %s%s -o %s 2>&1", STRAND_BIN, REF_FA,
             TEST_WINDOW, TEST_H, strstr(args, "--threads") ? "" : "--threads 1 ", args, out);
    return tu_run(cmd, log, cap);
}

static int file_exists(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0;
}

/* Count ',' separated fields in s. */
static int nfields(const char *s)
{
    int n = 1;
    for (; *s; s++) n += *s == ',';
    return n;
}

/* No ',' separated field of s is the missing value '.'. */
static int all_present(const char *s)
{
    for (const char *p = s; *p;) {
        size_t k = strcspn(p, ",");
        if (k == 1 && *p == '.') return 0;
        p += k;
        if (*p == ',') p++;
    }
    return 1;
}

static void test_cli_annotate(void)
{
    static char log[1 << 16], a[1 << 16], b[1 << 16], cmd[4096];
    const char *out = tu_tmp("vep_out.vcf.gz");
    char args[2048];
    snprintf(args, sizeof args, "-m %s -W %s", g_ps, VARS_VCF);
    int st = run_vep(args, out, log, sizeof log);
    if (st) fprintf(stderr, "    %s\n", log);
    CU_ASSERT_EQUAL_FATAL(st, 0);
    CU_ASSERT(file_exists(tu_tmp("vep_out.vcf.gz.csi")));
    /* bcftools reads it and indexes it */
    snprintf(cmd, sizeof cmd, "bcftools view %s > /dev/null 2>&1", out);
    CU_ASSERT_EQUAL(tu_run(cmd, NULL, 0), 0);
    snprintf(cmd, sizeof cmd, "bcftools index -f -t %s 2>&1", out);
    CU_ASSERT_EQUAL(tu_run(cmd, NULL, 0), 0);
    /* every original field unchanged, same records in the same order */
    snprintf(cmd, sizeof cmd, "bcftools view -H %s", VARS_VCF);
    CU_ASSERT_EQUAL(tu_run(cmd, a, sizeof a), 0);
    snprintf(cmd, sizeof cmd, "bcftools annotate -x INFO/STRAND_LLR,INFO/STRAND_EMB %s | bcftools view -H", out);
    CU_ASSERT_EQUAL(tu_run(cmd, b, sizeof b), 0);
    CU_ASSERT(strlen(a) > 1000);
    CU_ASSERT_STRING_EQUAL(a, b);
    /* one value per ALT, missing exactly where documented */
    snprintf(cmd, sizeof cmd, "bcftools query -f '%%ALT\\t%%INFO/NOTE\\t%%STRAND_LLR\\t%%STRAND_EMB\\n' %s", out);
    CU_ASSERT_EQUAL_FATAL(tu_run(cmd, b, sizeof b), 0);
    int lines = 0, bad = 0;
    for (char *save = NULL, *ln = strtok_r(b, "\n", &save); ln; ln = strtok_r(NULL, "\n", &save), lines++) {
        char alt[256], note[64], llr[256], emb[256];
        if (sscanf(ln, "%255s %63s %255s %255s", alt, note, llr, emb) != 4) { bad++; continue; }
        int na = nfields(alt);
        int ok = nfields(llr) == na && nfields(emb) == na;
        if (!strcmp(note, "snv") || !strcmp(note, "near_start") || !strcmp(note, "near_end") ||
            !strcmp(note, "multiallelic_snv"))
            ok = ok && all_present(llr) && all_present(emb);
        if (!strcmp(note, "deletion") || !strcmp(note, "insertion") || !strcmp(note, "mnv"))
            ok = ok && !strcmp(llr, ".") && strcmp(emb, ".");
        if (!strcmp(note, "symbolic") || !strcmp(note, "ref_mismatch") || !strcmp(note, "unknown_contig") ||
            !strcmp(note, "no_alt"))
            ok = !strcmp(llr, ".") && !strcmp(emb, ".");
        if (!strcmp(note, "snv_and_star")) ok = ok && llr[0] != '.' && !strcmp(strchr(llr, ','), ",.") && !strcmp(strchr(emb, ','), ",.");
        if (!strcmp(note, "snv_and_insertion")) ok = ok && llr[0] != '.' && !strcmp(strchr(llr, ','), ",.") && emb[0] != '.' && strchr(emb, ',')[1] != '.';
        if (!ok) {
            bad++;
            fprintf(stderr, "    unexpected: %s\n", ln);
        }
    }
    fprintf(stderr, "    %d records checked, %d unexpected\n", lines, bad);
    CU_ASSERT_EQUAL(lines, 32);
    CU_ASSERT_EQUAL(bad, 0);
    /* header: both fields documented, provenance, model checksum = sha256sum */
    snprintf(cmd, sizeof cmd, "bcftools view -h %s", out);
    CU_ASSERT_EQUAL(tu_run(cmd, b, sizeof b), 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(b, "##INFO=<ID=STRAND_LLR,Number=A,Type=Float,Description=\""));
    CU_ASSERT_PTR_NOT_NULL(strstr(b, "##INFO=<ID=STRAND_EMB,Number=A,Type=Float,Description=\""));
    CU_ASSERT_PTR_NOT_NULL(strstr(b, "nats"));
    CU_ASSERT_PTR_NOT_NULL(strstr(b, "Positive = ALT more likely"));
    CU_ASSERT_PTR_NOT_NULL(strstr(b, "##strand_vepVersion="));
    CU_ASSERT_PTR_NOT_NULL(strstr(b, "##strand_vepCommand=strand vep"));
    char sha[65];
    CU_ASSERT_EQUAL(st_sha256_file(g_ps, sha), 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(b, sha));
    /* --no-version drops the provenance lines */
    snprintf(args, sizeof args, "-m %s --no-version %s", g_ps, VARS_VCF);
    CU_ASSERT_EQUAL(run_vep(args, tu_tmp("vep_nov.vcf"), log, sizeof log), 0);
    snprintf(cmd, sizeof cmd, "grep -c '^##strand_vepVersion' %s", tu_tmp("vep_nov.vcf"));
    tu_run(cmd, b, sizeof b);
    CU_ASSERT_EQUAL(atoi(b), 0);
}

/* The values `strand vep` writes are the library's scores: STRAND_LLR / STRAND_EMB of every
 * single-ALT SNV read back with bcftools query equal strand_vep_score_snv on the same model and
 * window, to the 6 significant digits bcftools query prints (rel 1e-5). The other CLI tests check
 * presence and layout only. */
static void test_cli_values_match_library(void)
{
    static char log[1 << 14], b[1 << 16], cmd[4096];
    const char *out = tu_tmp("vep_values.vcf");
    char args[2048];
    snprintf(args, sizeof args, "-m %s %s", g_ps, VARS_VCF);
    int st = run_vep(args, out, log, sizeof log);
    if (st) fprintf(stderr, "    %s\n", log);
    CU_ASSERT_EQUAL_FATAL(st, 0);
    snprintf(cmd, sizeof cmd, "bcftools query -i 'INFO/NOTE=\"snv\"' -f '%%CHROM %%POS %%REF %%ALT %%STRAND_LLR %%STRAND_EMB\\n' %s",
             out);
    CU_ASSERT_EQUAL_FATAL(tu_run(cmd, b, sizeof b), 0);
    strand_vep *v = open_vep(g_ps, REF_FA, 1);
    int n = 0, bad = 0;
    double worst = 0;
    for (char *save = NULL, *ln = strtok_r(b, "\n", &save); ln; ln = strtok_r(NULL, "\n", &save)) {
        char chrom[64], ref[64], alt[64];
        long long pos;
        double llr, emb, wl, we;
        if (sscanf(ln, "%63s %lld %63s %63s %lf %lf", chrom, &pos, ref, alt, &llr, &emb) != 6) { bad++; continue; }
        CU_ASSERT_EQUAL(strand_vep_score_snv(v, chrom, pos, ref, alt, &wl, &we), STRAND_VEP_OK);
        double d = fmax(fabs(llr - wl) / fmax(fabs(wl), 1e-3), fabs(emb - we) / fmax(fabs(we), 1e-6));
        worst = fmax(worst, d);
        if (!(d <= 1e-5)) bad++, fprintf(stderr, "    %s:%lld %s>%s VCF %g %g library %.9g %.9g\n", chrom, pos, ref, alt,
                                         llr, emb, wl, we);
        n++;
    }
    fprintf(stderr, "    %d SNVs: VCF vs library max rel diff %.2g (tol 1e-5)\n", n, worst);
    CU_ASSERT(n >= 10);
    CU_ASSERT_EQUAL(bad, 0);
    strand_vep_free(v);
}

/* The CLI output does not depend on --batch and --threads (bitwise: the same text). */
static void test_cli_batch_threads(void)
{
    static char log[4096], ref[1 << 16], got[1 << 16], cmd[4096];
    const char *settings[] = {"--batch 1 --threads 1", "--batch 3 --threads 2", "--batch 1000 --threads 2"};
    for (int i = 0; i < 3; i++) {
        char args[2048];
        snprintf(args, sizeof args, "-m %s %s -O v %s", g_ph, settings[i], VARS_VCF);
        CU_ASSERT_EQUAL_FATAL(run_vep(args, tu_tmp("vep_bt.vcf"), log, sizeof log), 0);
        snprintf(cmd, sizeof cmd, "bcftools query -f '%%STRAND_LLR\\t%%STRAND_EMB\\n' %s", tu_tmp("vep_bt.vcf"));
        CU_ASSERT_EQUAL(tu_run(cmd, i ? got : ref, sizeof ref), 0);
        if (i) {
            fprintf(stderr, "    %s vs %s: %s\n", settings[i], settings[0], strcmp(ref, got) ? "DIFFERENT" : "identical");
            CU_ASSERT_STRING_EQUAL(ref, got);
        }
    }
}

static void test_cli_bad_inputs(void)
{
    static char log[1 << 14], cmd[4096], b[1 << 14];
    char args[2048];
    const char *out = tu_tmp("vep_bad.vcf.gz");
    /* malformed line: error names the file and line; nothing under the output name */
    snprintf(args, sizeof args, "-m %s %s/vep/malformed.vcf", g_ps, STRAND_TEST_DATA);
    int st = run_vep(args, out, log, sizeof log);
    fprintf(stderr, "    malformed: exit %d: %s", st, log);
    CU_ASSERT_NOT_EQUAL(st, 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(log, "strand vep: "));
    char want[256], hdr[64];
    snprintf(cmd, sizeof cmd, "grep -c '^#' %s/vep/malformed.vcf", STRAND_TEST_DATA);
    tu_run(cmd, hdr, sizeof hdr);
    snprintf(want, sizeof want, "malformed.vcf: line %d (record 5): POS", atoi(hdr) + 5);
    CU_ASSERT(atoi(hdr) > 5);
    CU_ASSERT_PTR_NOT_NULL(strstr(log, want));
    CU_ASSERT(!file_exists(out));
    /* REF mismatch: skip (default) counts and passes through; error fails; annotate scores */
    snprintf(args, sizeof args, "-m %s --ref-mismatch error %s", g_ps, VARS_VCF);
    st = run_vep(args, out, log, sizeof log);
    fprintf(stderr, "    --ref-mismatch error: exit %d: %s", st, log);
    CU_ASSERT_NOT_EQUAL(st, 0);
    vrec vr[64];
    int nvr = read_vcf(VARS_VCF, vr, 64), imm = -1, iuc = -1;
    for (int i = 0; i < nvr; i++) {
        if (!strcmp(vr[i].note, "ref_mismatch")) imm = i;
        if (!strcmp(vr[i].note, "unknown_contig")) iuc = i;
    }
    CU_ASSERT_FATAL(imm >= 0 && iuc >= 0);
    snprintf(want, sizeof want, "variants.vcf: record %d: %s:%lld: REF %s does not match", imm + 1, vr[imm].chrom,
             (long long)vr[imm].pos, vr[imm].ref);
    CU_ASSERT_PTR_NOT_NULL(strstr(log, want));
    CU_ASSERT(!file_exists(out));
    snprintf(cmd, sizeof cmd, "%s vep --threads 1 -f %s -m %s --window %d --pool-half-width %d -o %s %s 2>&1",
             STRAND_BIN, REF_FA, g_ps, TEST_WINDOW, TEST_H, out, VARS_VCF);
    CU_ASSERT_EQUAL(tu_run(cmd, log, sizeof log), 0);
    fprintf(stderr, "    summary: %s", log);
    CU_ASSERT_PTR_NOT_NULL(strstr(log, "1 REF mismatch"));
    CU_ASSERT_PTR_NOT_NULL(strstr(log, "e.g. CHROMOSOME_II:2000 REF="));
    CU_ASSERT_PTR_NOT_NULL(strstr(log, "1 on contigs missing from the FASTA"));
    CU_ASSERT_PTR_NOT_NULL(strstr(log, "2 symbolic")); /* <DEL> and * */
    CU_ASSERT_PTR_NOT_NULL(strstr(log, "1 records without ALT"));
    snprintf(args, sizeof args, "-m %s --ref-mismatch annotate %s", g_ps, VARS_VCF);
    CU_ASSERT_EQUAL(run_vep(args, out, log, sizeof log), 0);
    snprintf(cmd, sizeof cmd, "bcftools query -i 'INFO/NOTE=\"ref_mismatch\"' -f '%%STRAND_LLR %%STRAND_EMB' %s", out);
    CU_ASSERT_EQUAL(tu_run(cmd, b, sizeof b), 0);
    fprintf(stderr, "    --ref-mismatch annotate: %s\n", b);
    CU_ASSERT(b[0] != '.' && b[0] != '\0');
    /* unknown contig: error mode names it */
    snprintf(args, sizeof args, "-m %s --missing-contig error %s", g_ps, VARS_VCF);
    st = run_vep(args, out, log, sizeof log);
    fprintf(stderr, "    --missing-contig error: exit %d: %s", st, log);
    CU_ASSERT_NOT_EQUAL(st, 0);
    snprintf(want, sizeof want, "variants.vcf: record %d: %s:%lld: contig \"%s\" is not in the FASTA", iuc + 1,
             vr[iuc].chrom, (long long)vr[iuc].pos, vr[iuc].chrom);
    CU_ASSERT_PTR_NOT_NULL(strstr(log, want));
    CU_ASSERT(!file_exists(out));
    /* missing model / input, bad option values */
    snprintf(args, sizeof args, "-m %s %s", tu_tmp("vep_no_model.safetensors"), VARS_VCF);
    st = run_vep(args, out, log, sizeof log);
    CU_ASSERT_NOT_EQUAL(st, 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(log, "vep_no_model.safetensors"));
    snprintf(args, sizeof args, "-m %s %s", g_ps, tu_tmp("vep_no_input.vcf"));
    st = run_vep(args, out, log, sizeof log);
    CU_ASSERT_NOT_EQUAL(st, 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(log, "strand vep: cannot open"));
    CU_ASSERT(!file_exists(out));
    snprintf(cmd, sizeof cmd, "%s vep -f %s -m %s --window 11 --pool-half-width 6 %s 2>&1", STRAND_BIN, REF_FA, g_ps,
             VARS_VCF);
    CU_ASSERT_EQUAL(tu_run(cmd, log, sizeof log), 0); /* clamped to the window, with a note */
    CU_ASSERT_PTR_NOT_NULL(strstr(log, "--pool-half-width 6 is more than half the 11-base window: using 5"));
    /* no arguments: usage with defaults and examples, non-zero */
    snprintf(cmd, sizeof cmd, "%s vep 2>&1", STRAND_BIN);
    CU_ASSERT_NOT_EQUAL(tu_run(cmd, b, sizeof b), 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(b, "Usage: strand vep"));
    CU_ASSERT_PTR_NOT_NULL(strstr(b, "the length the model was trained on"));
    CU_ASSERT_PTR_NOT_NULL(strstr(b, "Examples:"));
}

/* Regions through an index, stdout output, and the example program against the public API. */
static void test_cli_regions_stdout_example(void)
{
    static char log[1 << 14], cmd[4096], b[1 << 16];
    const char *gz = tu_tmp("vep_in.vcf.gz");
    snprintf(cmd, sizeof cmd, "bcftools view -Oz -o %s %s && bcftools index -f %s", gz, VARS_VCF, gz);
    CU_ASSERT_EQUAL_FATAL(tu_run(cmd, NULL, 0), 0);
    snprintf(cmd, sizeof cmd, "%s vep -q --threads 1 -f %s -m %s --window %d --pool-half-width %d -r CHROMOSOME_III:1-2000 %s "
             "| grep -vc '^#'", STRAND_BIN, REF_FA, g_ps, TEST_WINDOW, TEST_H, gz);
    CU_ASSERT_EQUAL(tu_run(cmd, b, sizeof b), 0);
    snprintf(cmd, sizeof cmd, "bcftools view -H -r CHROMOSOME_III:1-2000 %s | wc -l", gz);
    CU_ASSERT_EQUAL(tu_run(cmd, log, sizeof log), 0);
    fprintf(stderr, "    region records: strand vep %d, bcftools %d\n", atoi(b), atoi(log));
    CU_ASSERT(atoi(b) > 0);
    CU_ASSERT_EQUAL(atoi(b), atoi(log));
    /* no -m: the bundled model is looked up ($STRAND_MODEL_DIR first) */
    snprintf(cmd, sizeof cmd, "mkdir -p %s && cp %s %s/caduceus-ps-chr20.safetensors && STRAND_MODEL_DIR=%s %s vep -q "
             "--threads 1 -f %s --window %d --pool-half-width %d %s | grep '^##strand_vepModel'", tu_tmp("vep_models"),
             g_ps, tu_tmp("vep_models"), tu_tmp("vep_models"), STRAND_BIN, REF_FA, TEST_WINDOW, TEST_H, VARS_VCF);
    CU_ASSERT_EQUAL(tu_run(cmd, b, sizeof b), 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(b, "Name=\"caduceus-ps-chr20.safetensors\""));
    /* examples/vep_example.c, built against the shared library */
    char ex[2048];
    snprintf(ex, sizeof ex, "%s", STRAND_BIN);
    char *slash = strrchr(ex, '/');
    snprintf(slash, sizeof ex - (size_t)(slash - ex), "/examples/example_vep_example");
    if (!file_exists(ex)) {
        fprintf(stderr, "    %s not built\n", ex);
        CU_FAIL("example not built");
        return;
    }
    snprintf(cmd, sizeof cmd, "%.1500s %.1000s %.1000s CHROMOSOME_II:1000:T:A 2>&1", ex, g_ps, REF_FA);
    int st = tu_run(cmd, b, sizeof b);
    fprintf(stderr, "    example: exit %d: %s", st, b);
    CU_ASSERT_EQUAL(st, 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(b, "LLR"));
}

void register_suites(void)
{
    CU_pSuite s = CU_add_suite("vep", suite_init, NULL);
    ADD_TEST(s, test_sha256_vs_sha256sum);
    ADD_TEST(s, test_windows);
    ADD_TEST(s, test_vs_pytorch_reference);
    ADD_TEST(s, test_llr_antisymmetry);
    ADD_TEST(s, test_reverse_complement_invariance);
    ADD_TEST(s, test_rc_average_matches_single_pass);
    ADD_TEST(s, test_batch_thread_independence_and_sharing);
    CU_pSuite c = CU_add_suite("vep_cli", suite_init, NULL);
    ADD_TEST(c, test_cli_annotate);
    ADD_TEST(c, test_cli_values_match_library);
    ADD_TEST(c, test_cli_batch_threads);
    ADD_TEST(c, test_cli_bad_inputs);
    ADD_TEST(c, test_cli_regions_stdout_example);
}
