/* io/vcf on real files (htslib-test, freebayes examples): per-record fields vs `bcftools query`,
 * read->write round trips (v/z/b/u) vs `bcftools view`, regions vs `bcftools view -r`, our
 * indexes usable by bcftools, header editing, REF checks, and every documented error. */
#include <stdarg.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/error.h"
#include "io/fasta.h"
#include "io/vcf.h"
#include <htslib/kstring.h>
#include "strand.h"
#include "test_util.h"

#define HTS_TEST "/usr/share/htslib-test/test"
#define TINY "/usr/share/doc/freebayes/examples/tiny"

static char *big_out; /* shared capture buffers */
static char *big_out2;
#define BIG (4 << 20)

#define tmpf(name) tu_tmp_in("vcf", name)

static int setup(void)
{
    mkdir(STRAND_TEST_TMP, 0755);
    mkdir(tmpf(""), 0755);
    big_out = malloc(BIG);
    big_out2 = malloc(BIG);
    /* bgzipped + indexed copies of real files */
    char cmd[4096];
    snprintf(cmd, sizeof cmd,
             "cd '%s' && bgzip -c %s/index.vcf > index.vcf.gz && bcftools index -t -f index.vcf.gz && "
             "bcftools view -Ob -o index.bcf %s/index.vcf && bcftools index -f index.bcf && "
             "zcat %s/q.vcf.gz > q.vcf && cp %s/q.fa q.fa && cp %s/q.fa.fai q.fa.fai",
             tmpf(""), HTS_TEST, HTS_TEST, TINY, TINY, TINY);
    return tu_run(cmd, NULL, 0) == 0 ? 0 : 1;
}

static int teardown(void)
{
    free(big_out);
    free(big_out2);
    return 0;
}



/* Our reader's records formatted as VCF lines (all of them, or over regions). */
static int our_records(const char *path, const char *const *regs, int nregs, char *out)
{
    st_vcf_reader *r = NULL;
    int rc = st_vcf_open(&r, path, regs, nregs);
    if (rc) return rc;
    kstring_t ks = {0, 0, NULL};
    bcf1_t *v;
    size_t k = 0;
    out[0] = '\0';
    while ((rc = st_vcf_next(r, &v)) > 0) {
        ks.l = 0;
        vcf_format(st_vcf_header(r), v, &ks);
        if (k + ks.l + 1 < BIG) {
            memcpy(out + k, ks.s, ks.l);
            k += ks.l;
            out[k] = '\0';
        }
    }
    free(ks.s);
    st_vcf_close(r);
    return rc;
}

static void test_fields_match_bcftools_query(void)
{
    const char *files[] = {HTS_TEST "/tabix/vcf_file.vcf", HTS_TEST "/index.vcf", TINY "/q.vcf.gz",
                           TINY "/NA12878.chr22.tiny.giab.vcf", HTS_TEST "/tabix/vcf_file.bcf"};
    for (size_t f = 0; f < sizeof files / sizeof *files; f++) {
        CU_ASSERT_EQUAL_FATAL(tu_runf(big_out2, BIG, "bcftools query -f '%%CHROM\\t%%POS\\t%%REF\\t%%ALT\\t%%FILTER\\n' '%s'",
                                 files[f]), 0);
        st_vcf_reader *r = NULL;
        CU_ASSERT_EQUAL_FATAL(st_vcf_open(&r, files[f], NULL, 0), 0);
        bcf1_t *v;
        int rc, multi = 0;
        size_t k = 0;
        while ((rc = st_vcf_next(r, &v)) > 0) {
            char filt[256];
            st_vcf_filters(st_vcf_header(r), v, filt, sizeof filt);
            kstring_t alts = {0, 0, NULL}; /* one record has 340 ALT alleles */
            for (int i = 0; i < st_vcf_n_alt(v); i++) ksprintf(&alts, "%s%s", i ? "," : "", st_vcf_alt(v, i));
            if (!st_vcf_n_alt(v)) kputs(".", &alts);
            multi += st_vcf_n_alt(v) > 1;
            if (k < BIG)
                k += (size_t)snprintf(big_out + k, BIG - k, "%s\t%lld\t%s\t%s\t%s\n", st_vcf_chrom(st_vcf_header(r), v),
                                      (long long)st_vcf_pos0(v) + 1, st_vcf_ref(v), alts.s, filt);
            free(alts.s);
        }
        CU_ASSERT_EQUAL(rc, 0);
        CU_ASSERT(tu_same_text(files[f], big_out, big_out2));
        if (strstr(files[f], "vcf_file")) CU_ASSERT_EQUAL(multi, 5); /* the multi-allelic records */
        st_vcf_close(r);
    }
}

static void test_roundtrip_matches_bcftools_view(void)
{
    const char *files[] = {HTS_TEST "/index.vcf", HTS_TEST "/tabix/vcf_file.vcf", TINY "/q.vcf.gz",
                           HTS_TEST "/tabix/vcf_file.bcf"};
    const char modes[] = "vzbu";
    for (size_t f = 0; f < sizeof files / sizeof *files; f++) {
        for (int m = 0; m < 4; m++) {
            const char *out = tmpf("rt.out");
            unlink(out);
            CU_ASSERT_EQUAL_FATAL(st_vcf_view(files[f], out, modes[m], 0, NULL, 0, NULL, 0, NULL), 0);
            /* records: bcftools reads ours and the input identically */
            CU_ASSERT_EQUAL_FATAL(tu_runf(big_out, BIG, "bcftools view -H '%s'", out), 0);
            CU_ASSERT_EQUAL_FATAL(tu_runf(big_out2, BIG, "bcftools view -H '%s'", files[f]), 0);
            char what[1200];
            snprintf(what, sizeof what, "%s -O%c records", files[f], modes[m]);
            CU_ASSERT(tu_same_text(what, big_out, big_out2));
            /* header: equal to bcftools', minus bcftools' own provenance lines */
            CU_ASSERT_EQUAL(tu_runf(big_out, BIG, "bcftools view -h '%s' | grep -v '^##bcftools_view'", out), 0);
            CU_ASSERT_EQUAL(tu_runf(big_out2, BIG, "bcftools view -h '%s' | grep -v '^##bcftools_view'", files[f]), 0);
            snprintf(what, sizeof what, "%s -O%c header", files[f], modes[m]);
            CU_ASSERT(tu_same_text(what, big_out, big_out2));
            if (modes[m] == 'v') { /* our text is byte-identical to bcftools view's */
                CU_ASSERT_EQUAL(tu_runf(big_out, BIG, "cat '%s'", out), 0);
                CU_ASSERT_EQUAL(tu_runf(big_out2, BIG, "bcftools view --no-version '%s'", files[f]), 0);
                snprintf(what, sizeof what, "%s -Ov text", files[f]);
                CU_ASSERT(tu_same_text(what, big_out, big_out2));
            }
        }
    }
}

static void test_regions_match_bcftools(void)
{
    const char *inputs[] = {tmpf("index.vcf.gz"), tmpf("index.bcf")};
    /* unsorted and overlapping regions, a whole contig, a comma-formatted one */
    const char *regs[] = {"2:1,000,000-3,000,000", "1:10000000-20000000", "1:15000000-25000000", "10"};
    for (int f = 0; f < 2; f++) {
        CU_ASSERT_EQUAL_FATAL(our_records(inputs[f], regs, 4, big_out), 0);
        CU_ASSERT_EQUAL_FATAL(tu_runf(big_out2, BIG, "bcftools view -H -r 1:10000000-20000000,1:15000000-25000000,"
                                 "2:1000000-3000000,10 '%s'", inputs[f]), 0);
        CU_ASSERT(strlen(big_out2) > 100);
        CU_ASSERT(tu_same_text(inputs[f], big_out, big_out2));
        /* single small region */
        const char *one[] = {"1:3,000,000-3,500,000"};
        CU_ASSERT_EQUAL(our_records(inputs[f], one, 1, big_out), 0);
        CU_ASSERT_EQUAL(tu_runf(big_out2, BIG, "bcftools view -H -r 1:3000000-3500000 '%s'", inputs[f]), 0);
        CU_ASSERT(tu_same_text(inputs[f], big_out, big_out2));
    }
}

static void test_written_index_used_by_bcftools(void)
{
    struct { char mode; int idx; const char *ext; } cases[] = {{'z', ST_VCF_INDEX_TBI, "tbi"},
                                                              {'z', ST_VCF_INDEX_CSI, "csi"},
                                                              {'b', ST_VCF_INDEX_CSI, "csi"}};
    for (int c = 0; c < 3; c++) {
        const char *out = tmpf(cases[c].mode == 'b' ? "w.bcf" : "w.vcf.gz");
        char idx[1200];
        snprintf(idx, sizeof idx, "%s.%s", out, cases[c].ext);
        unlink(idx);
        CU_ASSERT_EQUAL_FATAL(st_vcf_view(HTS_TEST "/index.vcf", out, cases[c].mode, cases[c].idx, NULL, 0,
                                          NULL, 0, NULL), 0);
        CU_ASSERT(access(idx, R_OK) == 0);
        CU_ASSERT_EQUAL(tu_runf(big_out, BIG, "bcftools view -H -r 2:1000000-3000000,10:1-5000000 '%s' 2>&1", out), 0);
        CU_ASSERT_EQUAL(tu_runf(big_out2, BIG, "bcftools view -H -r 2:1000000-3000000,10:1-5000000 '%s'", tmpf("index.bcf")), 0);
        CU_ASSERT(strlen(big_out2) > 100);
        CU_ASSERT(tu_same_text(idx, big_out, big_out2));
        unlink(idx);
    }
    st_vcf_writer *w = NULL;
    st_vcf_reader *r = NULL;
    CU_ASSERT_EQUAL_FATAL(st_vcf_open(&r, HTS_TEST "/index.vcf", NULL, 0), 0);
    CU_ASSERT_EQUAL(st_vcf_writer_open(&w, tmpf("x.vcf"), 'v', st_vcf_header(r), ST_VCF_INDEX_CSI), STRAND_E_ARG);
    CU_ASSERT_EQUAL(st_vcf_writer_open(&w, tmpf("x.bcf"), 'b', st_vcf_header(r), ST_VCF_INDEX_TBI), STRAND_E_ARG);
    CU_ASSERT_EQUAL(st_vcf_writer_open(&w, tmpf("x.bcf"), 'q', st_vcf_header(r), 0), STRAND_E_ARG);
    st_vcf_close(r);
}

static void test_header_editing(void)
{
    st_vcf_reader *r = NULL;
    CU_ASSERT_EQUAL_FATAL(st_vcf_open(&r, TINY "/q.vcf.gz", NULL, 0), 0);
    st_vcf_writer *w = NULL;
    const char *out = tmpf("edited.vcf.gz");
    unlink(out);
    CU_ASSERT_EQUAL_FATAL(st_vcf_writer_open(&w, out, 'z', st_vcf_header(r), ST_VCF_INDEX_TBI), 0);
    bcf_hdr_t *h = st_vcf_writer_header(w);
    CU_ASSERT_EQUAL(st_vcf_hdr_add_info(h, "STRAND_POS_MB", "1", "Float",
                                        "Variant position in megabases (POS / 1e6), a test field"), 0);
    CU_ASSERT_EQUAL(st_vcf_hdr_add_info(h, "BAD ID", "1", "Float", "x"), STRAND_E_ARG);
    CU_ASSERT_EQUAL(st_vcf_hdr_add_info(h, "Q", "1", "Float", "has \"quotes\""), STRAND_E_ARG);
    char *argv[] = {"test", "-o", "edited.vcf.gz"};
    CU_ASSERT_EQUAL(st_vcf_hdr_add_provenance(h, "test", 3, argv), 0);
    bcf1_t *v;
    int n = 0;
    while (st_vcf_next(r, &v) > 0) {
        float x = (float)((double)(v->pos + 1) / 1e6);
        CU_ASSERT_EQUAL(bcf_update_info_float(h, v, "STRAND_POS_MB", &x, 1), 0);
        CU_ASSERT_EQUAL(st_vcf_write(w, v), 0);
        n++;
    }
    st_vcf_close(r);
    CU_ASSERT(access(out, F_OK) != 0); /* nothing under the final name before close */
    CU_ASSERT_EQUAL_FATAL(st_vcf_writer_close(w), 0);
    CU_ASSERT_EQUAL(tu_runf(big_out, BIG, "bcftools view -h '%s'", out), 0);
    CU_ASSERT(strstr(big_out, "##INFO=<ID=STRAND_POS_MB,Number=1,Type=Float,Description=\"Variant position in "
                              "megabases (POS / 1e6), a test field\">\n") != NULL);
    CU_ASSERT(strstr(big_out, "##strand_testVersion=") != NULL);
    CU_ASSERT(strstr(big_out, "##strand_testCommand=strand test -o edited.vcf.gz; Date=") != NULL); /* as bcftools */
    /* bcftools reads the field back: POS/1e6 for every record, also through our .tbi */
    CU_ASSERT_EQUAL(tu_runf(big_out, BIG, "bcftools query -r q:1-12356 -f '%%POS %%STRAND_POS_MB\\n' '%s'", out), 0);
    int lines = 0, bad = 0;
    for (char *l = big_out; *l; lines++) {
        long long pos;
        double mb;
        if (sscanf(l, "%lld %lf", &pos, &mb) != 2 || fabs(mb - pos / 1e6) > 1e-6 * (1 + pos / 1e6)) bad++;
        l = strchr(l, '\n');
        if (!l) break;
        l++;
    }
    CU_ASSERT_EQUAL(lines, n);
    CU_ASSERT_EQUAL(bad, 0);
}

/* The provenance Command= line is built from argv: an argument holding a newline must not end the
 * header line early or start a new one (issue 19). Written as plain VCF and read back as text. */
static int header_with_provenance(const char *out, char **argv, int argc, int *n_hdr, int *n_cmd, char *cmd,
                                  size_t cmdlen)
{
    st_vcf_reader *r = NULL;
    st_vcf_writer *w = NULL;
    if (st_vcf_open(&r, TINY "/q.vcf.gz", NULL, 0) != 0) return -1;
    unlink(out);
    int rc = st_vcf_writer_open(&w, out, 'v', st_vcf_header(r), 0);
    if (rc == 0) rc = st_vcf_hdr_add_provenance(st_vcf_writer_header(w), "test", argc, argv);
    if (w && st_vcf_writer_close(w) != 0) rc = -1;
    st_vcf_close(r);
    if (rc != 0 || tu_runf(big_out, BIG, "cat '%s'", out) != 0) return -1;
    *n_hdr = *n_cmd = 0;
    for (char *l = big_out; *l;) {
        char *e = strchr(l, '\n');
        size_t len = e ? (size_t)(e - l) : strlen(l);
        if (len >= 2 && l[0] == '#' && l[1] == '#') ++*n_hdr;
        if (strncmp(l, "##strand_testCommand=", 21) == 0 && ++*n_cmd == 1) {
            snprintf(cmd, cmdlen, "%.*s", (int)len, l);
        }
        if (!e) break;
        l = e + 1;
    }
    return 0;
}

static void test_provenance_newline_in_argv(void)
{
    char evil[] = "one\n##INFO=<ID=EVIL,Number=1,Type=Float,Description=\"injected\">\ntwo";
    char plain[] = "one ##INFO=<ID=EVIL,Number=1,Type=Float,Description=\"injected\"> two";
    char *argv_evil[] = {"test", "--note", evil, "-o", "tail.vcf"};
    char *argv_plain[] = {"test", "--note", plain, "-o", "tail.vcf"};
    int h0, c0, h1, c1;
    char cmd0[1024] = "", cmd1[1024] = "";
    CU_ASSERT_EQUAL_FATAL(header_with_provenance(tmpf("prov_plain.vcf"), argv_plain, 5, &h0, &c0, cmd0, sizeof cmd0), 0);
    CU_ASSERT_EQUAL_FATAL(header_with_provenance(tmpf("prov_nl.vcf"), argv_evil, 5, &h1, &c1, cmd1, sizeof cmd1), 0);
    fprintf(stderr, "    header lines %d (plain argv) vs %d (newlines in argv); Command lines %d / %d\n", h0, h1, c0, c1);
    fprintf(stderr, "    %s\n", cmd1);
    CU_ASSERT_EQUAL(c0, 1);
    CU_ASSERT_EQUAL(c1, 1);   /* exactly one ##strand_testCommand line, nothing injected */
    CU_ASSERT_EQUAL(h1, h0);  /* and no other header line gained */
    /* the whole argument stays on the Command line, up to the arguments after it */
    CU_ASSERT_PTR_NOT_NULL(strstr(cmd1, "ID=EVIL"));
    CU_ASSERT_PTR_NOT_NULL(strstr(cmd1, "two -o tail.vcf"));
    CU_ASSERT_PTR_NULL(strchr(cmd1, '\r'));
}

static void test_ref_check(void)
{
    st_fasta *fa = NULL;
    CU_ASSERT_EQUAL_FATAL(st_fasta_open(&fa, tmpf("q.fa"), 0), 0);
    st_vcf_reader *r = NULL;
    st_vcf_refcheck rep;
    CU_ASSERT_EQUAL_FATAL(st_vcf_open(&r, TINY "/q.vcf.gz", NULL, 0), 0);
    CU_ASSERT_EQUAL(st_vcf_check_ref(r, fa, &rep), 0);
    CU_ASSERT_EQUAL(rep.checked, 16);
    CU_ASSERT_EQUAL(rep.mismatches, 0);
    st_vcf_close(r);
    /* REF of record 3 (q:1817 G) and record 7 changed: both reported, with the FASTA base */
    const char *bad = tmpf("q_badref.vcf");
    CU_ASSERT_EQUAL_FATAL(tu_runf(NULL, BIG, "awk 'BEGIN{OFS=\"\\t\"} !/^#/{n++; if(n==3)$4=\"T\"; if(n==7)$4=($4==\"A\"?\"C\":\"A\")} "
                             "{print}' '%s' > '%s'", tmpf("q.vcf"), bad), 0);
    CU_ASSERT_EQUAL_FATAL(st_vcf_open(&r, bad, NULL, 0), 0);
    CU_ASSERT_EQUAL(st_vcf_check_ref(r, fa, &rep), 0);
    CU_ASSERT_EQUAL(rep.checked, 16);
    CU_ASSERT_EQUAL(rep.mismatches, 2);
    CU_ASSERT_EQUAL(rep.n_examples, 2);
    fprintf(stderr, "    REF mismatch example: %s\n", rep.examples[0]);
    CU_ASSERT_STRING_EQUAL(rep.examples[0], "q:1817 REF=T FASTA=G");
    st_vcf_close(r);
    st_fasta_close(fa);
    /* against the wrong reference: every contig missing */
    CU_ASSERT_EQUAL_FATAL(st_fasta_open(&fa, HTS_TEST "/ce.fa", 0), 0);
    CU_ASSERT_EQUAL_FATAL(st_vcf_open(&r, TINY "/q.vcf.gz", NULL, 0), 0);
    CU_ASSERT_EQUAL(st_vcf_check_ref(r, fa, &rep), 0);
    CU_ASSERT_EQUAL(rep.missing_contig, 16);
    CU_ASSERT(strstr(rep.examples[0], "contig not in FASTA") != NULL);
    st_vcf_close(r);
    st_fasta_close(fa);
}

static void test_bad_inputs(void)
{
    st_vcf_reader *r = NULL;
    bcf1_t *v;
    /* malformed record 5 (line 70 of q.vcf: 65 header lines) in four ways */
    struct { const char *name, *awk, *msg; } cases[] = {
        {"bad_pos.vcf", "$2=\"12x4\"", "POS is not a non-negative integer"},
        {"bad_cols.vcf", "$0=$1\"\\t\"$2\"\\t\"$3\"\\t\"$4", "fewer than 8 tab-separated columns"},
        {"bad_alt.vcf", "$5=\"C,,T\"", "empty ALT allele"},
        {"bad_fmt.vcf", "$10=\"0/1:abc\"", "invalid character"}};
    for (int c = 0; c < 4; c++) {
        const char *path = tmpf(cases[c].name);
        CU_ASSERT_EQUAL_FATAL(tu_runf(NULL, BIG, "awk 'BEGIN{OFS=\"\\t\"} !/^#/{n++; if(n==5)%s} {print}' '%s' > '%s'",
                                 cases[c].awk, tmpf("q.vcf"), path), 0);
        CU_ASSERT_EQUAL_FATAL(st_vcf_open(&r, path, NULL, 0), 0);
        int n = 0, rc;
        while ((rc = st_vcf_next(r, &v)) > 0) n++;
        CU_ASSERT_EQUAL(n, 4);
        CU_ASSERT_EQUAL(rc, STRAND_E_FORMAT);
        char want[256];
        snprintf(want, sizeof want, "%s: line 70 (record 5): %s", cases[c].name, cases[c].msg);
        if (!strstr(strand_last_error(), want)) fprintf(stderr, "    got \"%s\"\n", strand_last_error());
        CU_ASSERT(strstr(strand_last_error(), want) != NULL);
        st_vcf_close(r);
        /* a failed view leaves no output (nor temporary) behind */
        const char *out = tmpf("fail_out.vcf.gz");
        unlink(out);
        CU_ASSERT_EQUAL(st_vcf_view(path, out, 'z', ST_VCF_INDEX_TBI, NULL, 0, NULL, 0, NULL), STRAND_E_FORMAT);
        CU_ASSERT(access(out, F_OK) != 0);
        char cnt[64];
        tu_runf(cnt, BIG, "ls '%s' | grep -c 'fail_out'", tmpf(""));
        CU_ASSERT_EQUAL(atoi(cnt), 0);
    }
    /* a NUL byte inside record 5 (found by fuzz/fuzz_vcf: htslib then parses no REF at all) */
    CU_ASSERT_EQUAL_FATAL(tu_runf(NULL, BIG, "awk '!/^#/{n++; if(n==5){sub(/\t[.]\t/, \"\t@NUL@\t\")}} {print}' '%s' | "
                             "sed 's/@NUL@/a\\x00b/' > '%s'", tmpf("q.vcf"), tmpf("bad_nul.vcf")), 0);
    CU_ASSERT_EQUAL_FATAL(st_vcf_open(&r, tmpf("bad_nul.vcf"), NULL, 0), 0);
    int nn = 0, rcn;
    while ((rcn = st_vcf_next(r, &v)) > 0) nn++;
    CU_ASSERT_EQUAL(nn, 4);
    CU_ASSERT_EQUAL(rcn, STRAND_E_FORMAT);
    CU_ASSERT(strstr(strand_last_error(), "bad_nul.vcf: line 70 (record 5): NUL byte") != NULL);
    st_vcf_close(r);
    /* truncated BGZF VCF and BCF */
    CU_ASSERT_EQUAL_FATAL(tu_runf(NULL, BIG, "head -c 3000 '%s' > '%s' && head -c 3000 '%s' > '%s'", tmpf("index.vcf.gz"),
                             tmpf("trunc.vcf.gz"), tmpf("index.bcf"), tmpf("trunc.bcf")), 0);
    CU_ASSERT_EQUAL(st_vcf_open(&r, tmpf("trunc.vcf.gz"), NULL, 0), STRAND_E_FORMAT);
    CU_ASSERT(strstr(strand_last_error(), "trunc.vcf.gz: truncated BGZF") != NULL);
    CU_ASSERT_EQUAL(st_vcf_open(&r, tmpf("trunc.bcf"), NULL, 0), STRAND_E_FORMAT);
    CU_ASSERT(strstr(strand_last_error(), "trunc.bcf: truncated BGZF") != NULL);
    /* empty, missing, not a VCF */
    CU_ASSERT_EQUAL(st_vcf_open(&r, HTS_TEST "/emptyfile", NULL, 0), STRAND_E_FORMAT);
    CU_ASSERT(strstr(strand_last_error(), "emptyfile: empty file") != NULL);
    CU_ASSERT_EQUAL(st_vcf_open(&r, tmpf("nope.vcf"), NULL, 0), STRAND_E_IO);
    CU_ASSERT(st_vcf_open(&r, HTS_TEST "/ce.fa", NULL, 0) < 0);
    /* regions: missing index, plain text, unknown contig */
    CU_ASSERT_EQUAL_FATAL(tu_runf(NULL, BIG, "cp '%s' '%s'", tmpf("index.vcf.gz"), tmpf("noidx.vcf.gz")), 0);
    const char *reg[] = {"1:1-1000000"};
    CU_ASSERT_EQUAL(st_vcf_open(&r, tmpf("noidx.vcf.gz"), reg, 1), STRAND_E_NOTFOUND);
    CU_ASSERT(strstr(strand_last_error(), "noidx.vcf.gz: no index") != NULL);
    CU_ASSERT_EQUAL(st_vcf_open(&r, HTS_TEST "/index.vcf", reg, 1), STRAND_E_NOTFOUND);
    const char *unk[] = {"chrZ:1-10"};
    CU_ASSERT_EQUAL(st_vcf_open(&r, tmpf("index.vcf.gz"), unk, 1), STRAND_E_NOTFOUND);
    CU_ASSERT(strstr(strand_last_error(), "unknown contig \"chrZ\"") != NULL);
    CU_ASSERT(r == NULL);
}

void register_suites(void)
{
    CU_pSuite s = CU_add_suite("io_vcf", setup, teardown);
    ADD_TEST(s, test_fields_match_bcftools_query);
    ADD_TEST(s, test_roundtrip_matches_bcftools_view);
    ADD_TEST(s, test_regions_match_bcftools);
    ADD_TEST(s, test_written_index_used_by_bcftools);
    ADD_TEST(s, test_header_editing);
    ADD_TEST(s, test_provenance_newline_in_argv);
    ADD_TEST(s, test_ref_check);
    ADD_TEST(s, test_bad_inputs);
}
