/* io/fasta: region fetches against `samtools faidx` on real files (htslib-test, samtools-test),
 * index building, case/N handling, and every documented error on derived bad inputs. */
#include <ctype.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include "core/error.h"
#include "io/fasta.h"
#include "strand.h"
#include "test_util.h"

#define HTS_TEST "/usr/share/htslib-test/test"
#define SAM_TEST "/usr/share/samtools/test/dat"

#define tmpf(name) tu_tmp_in("fasta", name)

static int sh(const char *fmt, const char *a, const char *b)
{
    char cmd[4096];
    snprintf(cmd, sizeof cmd, fmt, a, b);
    return tu_run(cmd, NULL, 0);
}

/* `samtools faidx FILE REGION` with header and newlines removed (malloc'ed), or NULL. */
static char *samtools_fetch(const char *fa, const char *region)
{
    size_t cap = 4 << 20;
    char *out = malloc(cap);
    char cmd[4096];
    snprintf(cmd, sizeof cmd, "samtools faidx '%s' '%s' 2>/dev/null", fa, region);
    int rc = tu_run(cmd, out, cap);
    if (rc != 0 || out[0] != '>') {
        free(out);
        return NULL;
    }
    char *s = strchr(out, '\n');
    size_t k = 0;
    for (s = s ? s + 1 : out + strlen(out); *s; s++)
        if (*s != '\n') out[k++] = *s;
    out[k] = '\0';
    return out;
}

/* Fetch through st_fasta and compare with samtools; prints the first differing position. */
static int same_as_samtools(st_fasta *fa, const char *path, const char *region, int flags)
{
    char *want = samtools_fetch(path, region);
    char *got = NULL;
    int64_t n = 0;
    int rc = st_fasta_fetch_region(fa, region, flags, &got, &n, NULL);
    int ok = want && rc == 0 && (size_t)n == strlen(want);
    if (ok && (flags & ST_FASTA_UPPER))
        for (char *p = want; *p; p++) *p = (char)toupper((unsigned char)*p);
    if (ok && memcmp(got, want, (size_t)n) != 0) {
        int64_t i = 0;
        while (got[i] == want[i]) i++;
        fprintf(stderr, "    %s %s: first difference at %lld: got %c want %c\n", path, region, (long long)i,
                got[i], want[i]);
        ok = 0;
    }
    if (!ok)
        fprintf(stderr, "    %s %s: rc=%d (%s) got %lld bases, samtools %zu\n", path, region, rc,
                strand_last_error(), (long long)n, want ? strlen(want) : 0);
    free(want);
    free(got);
    return ok;
}

static void setup_dir(void)
{
    mkdir(STRAND_TEST_TMP, 0755);
    mkdir(tmpf(""), 0755);
}

static void set_mtime(const char *path, time_t t)
{
    struct timeval tv[2] = {{t, 0}, {t, 0}};
    utimes(path, tv);
}

static void test_regions_parse(void)
{
    st_region r;
    CU_ASSERT_EQUAL(st_region_parse("20:1,000,001-1,001,000", &r), 0);
    CU_ASSERT_STRING_EQUAL(r.name, "20");
    CU_ASSERT_EQUAL(r.beg, 1000000);
    CU_ASSERT_EQUAL(r.end, 1001000);
    CU_ASSERT_EQUAL(st_region_parse("chrX", &r), 0);
    CU_ASSERT_EQUAL(r.beg, 0);
    CU_ASSERT_EQUAL(r.end, INT64_MAX);
    CU_ASSERT_EQUAL(st_region_parse("chrX:5", &r), 0);
    CU_ASSERT_EQUAL(r.beg, 4);
    CU_ASSERT_EQUAL(r.end, INT64_MAX);
    CU_ASSERT_EQUAL(st_region_parse("chrX:10-5", &r), STRAND_E_ARG);
    CU_ASSERT_EQUAL(st_region_parse("chrX:0-5", &r), STRAND_E_ARG);
    CU_ASSERT_EQUAL(st_region_parse("chrX:1-5x", &r), STRAND_E_ARG);
    CU_ASSERT_EQUAL(st_region_parse("", &r), STRAND_E_ARG);
}

static void test_plain_matches_samtools(void)
{
    const char *path = HTS_TEST "/ce.fa";
    st_fasta *fa = NULL;
    CU_ASSERT_EQUAL_FATAL(st_fasta_open(&fa, path, ST_FASTA_NO_BUILD), 0);
    CU_ASSERT_EQUAL(st_fasta_ncontigs(fa), 7);
    /* names and lengths equal the .fai that samtools wrote */
    FILE *fp = fopen(HTS_TEST "/ce.fa.fai", "r");
    char name[256];
    long long len, a, b, c;
    int i = 0;
    while (fp && fscanf(fp, "%255s %lld %lld %lld %lld", name, &len, &a, &b, &c) == 5) {
        CU_ASSERT_STRING_EQUAL(st_fasta_contig_name(fa, i), name);
        CU_ASSERT_EQUAL(st_fasta_contig_len(fa, i), len);
        CU_ASSERT_EQUAL(st_fasta_contig_id(fa, name), i);
        i++;
    }
    if (fp) fclose(fp);
    CU_ASSERT_EQUAL(i, 7);
    const char *regions[] = {"CHROMOSOME_I", "CHROMOSOME_I:1,000-2,000", "CHROMOSOME_I:1009751-1009800",
                             "CHROMOSOME_II:4990-5000", "CHROMOSOME_MtDNA:1-1", "CHROMOSOME_X:51-100",
                             "CHROMOSOME_V:4000"};
    for (size_t k = 0; k < sizeof regions / sizeof *regions; k++)
        CU_ASSERT(same_as_samtools(fa, path, regions[k], 0));
    st_fasta_close(fa);
}

static void test_bgzf_builds_index_and_matches(void)
{
    setup_dir();
    const char *gz = tmpf("ce.fa.gz");
    unlink(tmpf("ce.fa.gz.fai"));
    unlink(tmpf("ce.fa.gz.gzi"));
    CU_ASSERT_EQUAL_FATAL(sh("bgzip -c '%s' > '%s'", HTS_TEST "/ce.fa", gz), 0);
    st_fasta *fa = NULL;
    CU_ASSERT_EQUAL(st_fasta_open(&fa, gz, ST_FASTA_NO_BUILD), STRAND_E_NOTFOUND);
    CU_ASSERT(strstr(strand_last_error(), "ce.fa.gz") != NULL);
    CU_ASSERT_EQUAL_FATAL(st_fasta_open(&fa, gz, 0), 0);
    CU_ASSERT(access(tmpf("ce.fa.gz.fai"), R_OK) == 0);
    CU_ASSERT(access(tmpf("ce.fa.gz.gzi"), R_OK) == 0);
    /* our index equals samtools' index of the plain file (same offsets: uncompressed coordinates) */
    CU_ASSERT_EQUAL(sh("cmp -s '%s' '%s'", tmpf("ce.fa.gz.fai"), HTS_TEST "/ce.fa.fai"), 0);
    const char *regions[] = {"CHROMOSOME_I:1,000-2,000", "CHROMOSOME_I:500000-560000",
                             "CHROMOSOME_I:1009751-1009800", "CHROMOSOME_MtDNA", "CHROMOSOME_IV:2-4999"};
    for (size_t k = 0; k < sizeof regions / sizeof *regions; k++)
        CU_ASSERT(same_as_samtools(fa, gz, regions[k], 0));
    st_fasta_close(fa);
    /* reopen: index now present, no rebuild needed */
    CU_ASSERT_EQUAL(st_fasta_open(&fa, gz, ST_FASTA_NO_BUILD), 0);
    st_fasta_close(fa);
}

static void test_case_n_and_colon_names(void)
{
    setup_dir();
    /* samtools-test's dict.fa: soft-masked lower case, N, a contig named "chr8:lower", whitespace
     * and every printable character inside sequence lines. */
    const char *path = tmpf("dict.fa");
    unlink(tmpf("dict.fa.fai"));
    CU_ASSERT_EQUAL_FATAL(sh("cp '%s' '%s'", SAM_TEST "/dict.fa", path), 0);
    st_fasta *fa = NULL;
    CU_ASSERT_EQUAL_FATAL(st_fasta_open(&fa, path, 0), 0);
    CU_ASSERT_EQUAL(st_fasta_ncontigs(fa), 12);
    CU_ASSERT(same_as_samtools(fa, path, "chr5", 0));
    CU_ASSERT(same_as_samtools(fa, path, "{chr8:lower}", 0));            /* keeps case */
    CU_ASSERT(same_as_samtools(fa, path, "{chr8:lower}:3-150", ST_FASTA_UPPER)); /* upper-cases */
    CU_ASSERT(same_as_samtools(fa, path, "chr9_whitespace:1-9", 0));
    CU_ASSERT(same_as_samtools(fa, path, "printable", 0));
    /* N runs: chr5 and chr6 start with N */
    char *s = NULL;
    int64_t n = 0, tot = 0, rb = 0;
    CU_ASSERT_EQUAL_FATAL(st_fasta_fetch_region(fa, "chr5", 0, &s, &n, NULL), 0);
    int64_t want_tot = 0;
    for (int64_t i = 0; i < n; i++) want_tot += s[i] == 'N' || s[i] == 'n';
    CU_ASSERT(st_seq_n_runs(s, n, &tot, &rb) >= 1);
    CU_ASSERT_EQUAL(tot, want_tot);
    CU_ASSERT_EQUAL(rb, 0);
    CU_ASSERT_EQUAL(st_seq_first_non_acgtn(s, n), -1);
    free(s);
    /* strict mode: the first non-ACGTN character is reported with contig and 1-based position */
    CU_ASSERT_EQUAL(st_fasta_fetch_region(fa, "printable", ST_FASTA_STRICT, &s, &n, NULL), STRAND_E_FORMAT);
    CU_ASSERT(s == NULL);
    fprintf(stderr, "    strict: %s\n", strand_last_error());
    CU_ASSERT(strstr(strand_last_error(), "dict.fa") && strstr(strand_last_error(), "\"printable\" position 1:"));
    CU_ASSERT(strstr(strand_last_error(), "'!' (0x21)") != NULL);
    CU_ASSERT_EQUAL(st_fasta_fetch_region(fa, "printable:30", ST_FASTA_STRICT, &s, &n, NULL), STRAND_E_FORMAT);
    CU_ASSERT(strstr(strand_last_error(), "position 30:") != NULL);
    /* whitespace and control characters inside lines are dropped by faidx (as by samtools) */
    CU_ASSERT(same_as_samtools(fa, path, "chr9_whitespace", ST_FASTA_STRICT));
    /* a whole-contig name containing ':' resolves as a name, like samtools */
    CU_ASSERT_EQUAL(st_fasta_fetch_region(fa, "chr8:lower", ST_FASTA_STRICT, &s, &n, NULL), 0);
    CU_ASSERT_EQUAL(n, 202);
    free(s);
    st_fasta_close(fa);
}

static void test_region_errors(void)
{
    st_fasta *fa = NULL;
    CU_ASSERT_EQUAL_FATAL(st_fasta_open(&fa, HTS_TEST "/ce.fa", 0), 0);
    char *s = NULL;
    int64_t n;
    CU_ASSERT_EQUAL(st_fasta_fetch_region(fa, "chrUn:1-10", 0, &s, &n, NULL), STRAND_E_NOTFOUND);
    CU_ASSERT(strstr(strand_last_error(), "ce.fa") && strstr(strand_last_error(), "\"chrUn\""));
    CU_ASSERT_EQUAL(st_fasta_fetch_region(fa, "CHROMOSOME_II:4990-5001", 0, &s, &n, NULL), STRAND_E_RANGE);
    CU_ASSERT(strstr(strand_last_error(), "length 5000") != NULL);
    CU_ASSERT_EQUAL(st_fasta_fetch_region(fa, "CHROMOSOME_II:6000", 0, &s, &n, NULL), STRAND_E_RANGE);
    CU_ASSERT_EQUAL(st_fasta_fetch_region(fa, "CHROMOSOME_II:20-10", 0, &s, &n, NULL), STRAND_E_ARG);
    CU_ASSERT_EQUAL(st_fasta_fetch(fa, "CHROMOSOME_II", -1, 10, 0, &s, &n), STRAND_E_RANGE);
    CU_ASSERT_EQUAL(st_fasta_fetch(fa, "CHROMOSOME_II", 10, 10, 0, &s, &n), STRAND_E_RANGE);
    CU_ASSERT(s == NULL);
    st_fasta_close(fa);
}

static void test_bad_files(void)
{
    setup_dir();
    st_fasta *fa = NULL;
    /* empty file (htslib-test's emptyfile) */
    CU_ASSERT_EQUAL(st_fasta_open(&fa, HTS_TEST "/emptyfile", 0), STRAND_E_FORMAT);
    CU_ASSERT(strstr(strand_last_error(), "emptyfile: empty file") != NULL);
    CU_ASSERT_EQUAL(st_fasta_open(&fa, tmpf("no-such.fa"), 0), STRAND_E_IO);

    /* truncated BGZF: the first half of a real bgzipped FASTA */
    const char *trunc = tmpf("trunc.fa.gz");
    CU_ASSERT_EQUAL_FATAL(sh("bgzip -c '%s' | head -c 150000 > '%s'", HTS_TEST "/ce.fa", trunc), 0);
    CU_ASSERT_EQUAL(st_fasta_open(&fa, trunc, 0), STRAND_E_FORMAT);
    CU_ASSERT(strstr(strand_last_error(), "trunc.fa.gz: truncated BGZF") != NULL);
    CU_ASSERT(access(tmpf("trunc.fa.gz.fai"), F_OK) != 0);

    /* plain gzip */
    const char *pgz = tmpf("plain.fa.gz");
    CU_ASSERT_EQUAL_FATAL(sh("gzip -c '%s' > '%s'", HTS_TEST "/ce.fa", pgz), 0);
    CU_ASSERT_EQUAL(st_fasta_open(&fa, pgz, 0), STRAND_E_FORMAT);
    CU_ASSERT(strstr(strand_last_error(), "bgzip") != NULL);

    /* stale index, by time: FASTA touched after the index */
    const char *st1 = tmpf("stale1.fa");
    char fai1[1100];
    snprintf(fai1, sizeof fai1, "%s.fai", st1);
    CU_ASSERT_EQUAL_FATAL(sh("cp '%s' '%s'", HTS_TEST "/ce.fa", st1), 0);
    CU_ASSERT_EQUAL_FATAL(sh("cp '%s' '%s'", HTS_TEST "/ce.fa.fai", fai1), 0);
    set_mtime(fai1, 1000000000);
    set_mtime(st1, 1000000100);
    CU_ASSERT_EQUAL(st_fasta_open(&fa, st1, 0), STRAND_E_FORMAT);
    CU_ASSERT(strstr(strand_last_error(), "stale index") && strstr(strand_last_error(), "older"));

    /* stale index, by content: a line removed from CHROMOSOME_II, index newer but for the old file */
    const char *st2 = tmpf("stale2.fa");
    char fai2[1100];
    snprintf(fai2, sizeof fai2, "%s.fai", st2);
    CU_ASSERT_EQUAL_FATAL(sh("awk '/^>CHROMOSOME_II$/{f=1} f&&!/^>/{if(++k==3)next} {print}' '%s' > '%s'",
                             HTS_TEST "/ce.fa", st2), 0);
    CU_ASSERT_EQUAL_FATAL(sh("cp '%s' '%s'", HTS_TEST "/ce.fa.fai", fai2), 0);
    set_mtime(st2, 1000000000);
    set_mtime(fai2, 1000000100);
    CU_ASSERT_EQUAL(st_fasta_open(&fa, st2, 0), STRAND_E_FORMAT);
    fprintf(stderr, "    stale: %s\n", strand_last_error());
    CU_ASSERT(strstr(strand_last_error(), "stale index: contig \"CHROMOSOME_II\"") != NULL);

    /* not a FASTA at all: index build fails, nothing left behind */
    const char *notfa = tmpf("notfa.txt");
    CU_ASSERT_EQUAL_FATAL(sh("cp '%s' '%s'", HTS_TEST "/index.vcf", notfa), 0);
    CU_ASSERT(st_fasta_open(&fa, notfa, 0) < 0);
    CU_ASSERT(fa == NULL);
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "ls '%s' | grep -c 'notfa.txt.fai'", tmpf(""));
    char out[64];
    tu_run(cmd, out, sizeof out);
    CU_ASSERT_EQUAL(atoi(out), 0);
}

void register_suites(void)
{
    CU_pSuite s = CU_add_suite("io_fasta", NULL, NULL);
    ADD_TEST(s, test_regions_parse);
    ADD_TEST(s, test_plain_matches_samtools);
    ADD_TEST(s, test_bgzf_builds_index_and_matches);
    ADD_TEST(s, test_case_n_and_colon_names);
    ADD_TEST(s, test_region_errors);
    ADD_TEST(s, test_bad_files);
}
