/* io/bam on real files (freebayes tiny NA12878 BAM/CRAM, htslib-test range.bam/.cram): reads,
 * flags, MAPQ, positions and sequences equal `samtools view` (with the same -f/-F/-q and
 * regions), CRAM decoded with its reference equals the BAM, original orientation equals
 * `samtools fastq`, and the documented errors. */
#include <stdarg.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/error.h"
#include "io/bam.h"
#include "strand.h"
#include "test_util.h"

#define HTS_TEST "/usr/share/htslib-test/test"
#define TINY "/usr/share/doc/freebayes/examples/tiny"
#define BIG (8 << 20)

static char *got_buf, *want_buf;

#define tmpf(name) tu_tmp_in("bam", name)

static int setup(void)
{
    mkdir(STRAND_TEST_TMP, 0755);
    mkdir(tmpf(""), 0755);
    got_buf = malloc(BIG);
    want_buf = malloc(BIG);
    return !got_buf || !want_buf;
}

static int teardown(void)
{
    free(got_buf);
    free(want_buf);
    return 0;
}



/* QNAME FLAG RNAME POS MAPQ SEQ per read, as samtools view | cut -f1-5,10 prints them. */
static int our_view(const char *path, const st_bam_params *p, char *out, int seq_only)
{
    st_bam_reader *r = NULL;
    int rc = st_bam_open(&r, path, p);
    if (rc) return rc;
    st_read rd;
    size_t k = 0;
    out[0] = '\0';
    while ((rc = st_bam_next(r, &rd)) > 0) {
        if (k >= BIG - 1) continue;
        if (seq_only)
            k += (size_t)snprintf(out + k, BIG - k, "%s\n", rd.len ? rd.seq : "*");
        else
            k += (size_t)snprintf(out + k, BIG - k, "%s\t%u\t%s\t%lld\t%u\t%s\n", rd.name, rd.flag, rd.contig,
                                  (long long)rd.pos + 1, rd.mapq, rd.len ? rd.seq : "*");
        if ((rd.strand == '-') != ((rd.flag & 16) != 0)) rc = -100;
    }
    st_bam_close(r);
    return rc;
}

static void test_bam_all_and_filters(void)
{
    const char *bam = TINY "/NA12878.chr22.tiny.bam";
    st_bam_params p = st_bam_default_params();
    CU_ASSERT_EQUAL_FATAL(our_view(bam, &p, got_buf, 0), 0);
    CU_ASSERT_EQUAL_FATAL(tu_runf(want_buf, BIG, "samtools view '%s' | cut -f1-5,10", bam), 0);
    CU_ASSERT(strlen(want_buf) > 100000);
    CU_ASSERT(tu_same_text("all reads", got_buf, want_buf));
    /* filters: -f 0x2 -F 0x510 -q 30 */
    p.require_flags = 0x2;
    p.exclude_flags = 0x510;
    p.min_mapq = 30;
    CU_ASSERT_EQUAL_FATAL(our_view(bam, &p, got_buf, 0), 0);
    CU_ASSERT_EQUAL_FATAL(tu_runf(want_buf, BIG, "samtools view -f 0x2 -F 0x510 -q 30 '%s' | cut -f1-5,10", bam), 0);
    CU_ASSERT(tu_same_text("filtered", got_buf, want_buf));
    /* regions (unsorted, overlapping) + a filter; samtools -M: sorted, each read once */
    const char *regs[] = {"q:8,000-9,000", "q:1000-2000", "q:1500-2500"};
    p = st_bam_default_params();
    p.regions = regs;
    p.n_regions = 3;
    p.exclude_flags = 0x100;
    CU_ASSERT_EQUAL_FATAL(our_view(bam, &p, got_buf, 0), 0);
    CU_ASSERT_EQUAL_FATAL(tu_runf(want_buf, BIG, "samtools view -M -F 0x100 '%s' q:8000-9000 q:1000-2000 q:1500-2500 | cut -f1-5,10", bam), 0);
    CU_ASSERT(strlen(want_buf) > 1000);
    CU_ASSERT(tu_same_text("regions", got_buf, want_buf));
}

static void test_cram_with_reference(void)
{
    const char *cram = TINY "/NA12878.chr22.tiny.cram", *bam = TINY "/NA12878.chr22.tiny.bam";
    st_bam_params p = st_bam_default_params();
    p.reference = TINY "/q.fa";
    p.exclude_flags = 0x4;
    CU_ASSERT_EQUAL_FATAL(our_view(cram, &p, got_buf, 0), 0);
    CU_ASSERT_EQUAL_FATAL(tu_runf(want_buf, BIG, "samtools view -F 0x4 -T '%s' '%s' | cut -f1-5,10", p.reference, cram), 0);
    CU_ASSERT(tu_same_text("cram", got_buf, want_buf));
    /* the same reads as the BAM */
    st_bam_params pb = st_bam_default_params();
    pb.exclude_flags = 0x4;
    char *bam_out = malloc(BIG);
    CU_ASSERT_EQUAL_FATAL(our_view(bam, &pb, bam_out, 0), 0);
    CU_ASSERT(tu_same_text("cram vs bam", got_buf, bam_out));
    free(bam_out);
    /* htslib-test range.cram (.crai index, ce.fa reference) over regions */
    const char *regs[] = {"CHROMOSOME_I:900-1200", "CHROMOSOME_I:1500-2000"};
    p = st_bam_default_params();
    p.reference = HTS_TEST "/ce.fa";
    p.regions = regs;
    p.n_regions = 2;
    CU_ASSERT_EQUAL_FATAL(our_view(HTS_TEST "/range.cram", &p, got_buf, 0), 0);
    CU_ASSERT_EQUAL_FATAL(tu_runf(want_buf, BIG, "samtools view -M -T %s %s/range.cram CHROMOSOME_I:900-1200 CHROMOSOME_I:1500-2000 "
                             "| cut -f1-5,10", p.reference, HTS_TEST), 0);
    CU_ASSERT(strlen(want_buf) > 100);
    CU_ASSERT(tu_same_text("range.cram regions", got_buf, want_buf));
    /* and range.bam (.bai) gives the same */
    p.reference = NULL;
    char *b2 = malloc(BIG);
    CU_ASSERT_EQUAL(our_view(HTS_TEST "/range.bam", &p, b2, 0), 0);
    CU_ASSERT(tu_same_text("range.bam vs range.cram", b2, got_buf));
    free(b2);
}

static void test_orientation(void)
{
    const char *bam = TINY "/NA12878.chr22.tiny.bam";
    st_bam_params p = st_bam_default_params();
    p.exclude_flags = 0x900;
    p.flags = ST_BAM_ORIGINAL_ORIENTATION;
    CU_ASSERT_EQUAL_FATAL(our_view(bam, &p, got_buf, 1), 0);
    /* samtools fastq emits mates READ1 first, so compare the sorted multisets of sequences */
    FILE *fp = fopen(tmpf("orig.txt"), "w");
    CU_ASSERT_FATAL(fp != NULL);
    fputs(got_buf, fp);
    fclose(fp);
    CU_ASSERT_EQUAL_FATAL(tu_runf(got_buf, BIG, "LC_ALL=C sort '%s'", tmpf("orig.txt")), 0);
    CU_ASSERT_EQUAL_FATAL(tu_runf(want_buf, BIG, "samtools fastq -F 0x900 -n '%s' 2>/dev/null | awk 'NR%%4==2' | LC_ALL=C sort", bam), 0);
    CU_ASSERT(strlen(want_buf) > 100000);
    CU_ASSERT(tu_same_text("original orientation = samtools fastq", got_buf, want_buf));
    /* and the reverse-strand reads really differ from SEQ (reverse complement of it) */
    st_bam_reader *r = NULL, *r2 = NULL;
    st_bam_params q = st_bam_default_params();
    q.exclude_flags = 0x900;
    q.require_flags = 0x10;
    CU_ASSERT_EQUAL_FATAL(st_bam_open(&r, bam, &q), 0);
    q.flags = ST_BAM_ORIGINAL_ORIENTATION;
    CU_ASSERT_EQUAL_FATAL(st_bam_open(&r2, bam, &q), 0);
    st_read a, b;
    int n = 0, bad = 0;
    while (st_bam_next(r, &a) > 0 && st_bam_next(r2, &b) > 0) {
        CU_ASSERT_EQUAL(a.strand, '-');
        for (int64_t i = 0; i < a.len; i++) {
            char c = a.seq[a.len - 1 - i];
            char rc = c == 'A' ? 'T' : c == 'C' ? 'G' : c == 'G' ? 'C' : c == 'T' ? 'A' : 'N';
            bad += b.seq[i] != rc;
        }
        n++;
    }
    CU_ASSERT(n > 1000);
    CU_ASSERT_EQUAL(bad, 0);
    st_bam_close(r);
    st_bam_close(r2);
}

static void test_errors(void)
{
    st_bam_reader *r = NULL;
    st_bam_params p = st_bam_default_params();
    const char *regs[] = {"q:1-100"};
    /* a region query without an index */
    CU_ASSERT_EQUAL_FATAL(tu_runf(NULL, BIG, "cp %s/NA12878.chr22.tiny.bam '%s'", TINY, tmpf("noidx.bam")), 0);
    p.regions = regs;
    p.n_regions = 1;
    CU_ASSERT_EQUAL(st_bam_open(&r, tmpf("noidx.bam"), &p), STRAND_E_NOTFOUND);
    CU_ASSERT(strstr(strand_last_error(), "noidx.bam: no index") != NULL);
    /* unknown contig */
    const char *unk[] = {"chr1:1-100"};
    p.regions = unk;
    CU_ASSERT_EQUAL(st_bam_open(&r, TINY "/NA12878.chr22.tiny.bam", &p), STRAND_E_NOTFOUND);
    CU_ASSERT(strstr(strand_last_error(), "unknown contig \"chr1\"") != NULL);
    p = st_bam_default_params();
    /* CRAM without its reference */
    CU_ASSERT_EQUAL(st_bam_open(&r, TINY "/NA12878.chr22.tiny.cram", &p), STRAND_E_ARG);
    CU_ASSERT(strstr(strand_last_error(), "CRAM needs its reference") != NULL);
    /* truncated BAM: first 100 kB */
    CU_ASSERT_EQUAL_FATAL(tu_runf(NULL, BIG, "head -c 100000 %s/NA12878.chr22.tiny.bam > '%s'", TINY, tmpf("trunc.bam")), 0);
    CU_ASSERT_EQUAL(st_bam_open(&r, tmpf("trunc.bam"), &p), STRAND_E_FORMAT);
    CU_ASSERT(strstr(strand_last_error(), "trunc.bam: truncated BGZF") != NULL);
    /* truncated CRAM */
    CU_ASSERT_EQUAL_FATAL(tu_runf(NULL, BIG, "head -c 50000 %s/NA12878.chr22.tiny.cram > '%s'", TINY, tmpf("trunc.cram")), 0);
    p.reference = TINY "/q.fa";
    CU_ASSERT_EQUAL(st_bam_open(&r, tmpf("trunc.cram"), &p), STRAND_E_FORMAT);
    CU_ASSERT(strstr(strand_last_error(), "trunc.cram: truncated CRAM") != NULL);
    /* empty and not-a-BAM */
    CU_ASSERT_EQUAL(st_bam_open(&r, HTS_TEST "/emptyfile", &p), STRAND_E_FORMAT);
    CU_ASSERT(strstr(strand_last_error(), "empty file") != NULL);
    CU_ASSERT_EQUAL(st_bam_open(&r, TINY "/q.fa", &p), STRAND_E_FORMAT);
    CU_ASSERT(r == NULL);
}

void register_suites(void)
{
    CU_pSuite s = CU_add_suite("io_bam", setup, teardown);
    ADD_TEST(s, test_bam_all_and_filters);
    ADD_TEST(s, test_cram_with_reference);
    ADD_TEST(s, test_orientation);
    ADD_TEST(s, test_errors);
}
