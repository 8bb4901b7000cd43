/* Species labels on DNA window shards (io/windows.h `label`, `strand data windows --label`, used by
 * datasets/fetch-species): every shard of a labelled run carries exactly one "label\tNAME" metadata
 * line and the same records as an unlabelled run; a bad label is an argument error that leaves no
 * shard behind. */
#include <sys/stat.h>
#include <unistd.h>

#include "io/fasta.h"
#include "io/shards.h"
#include "io/windows.h"
#include "strand.h"
#include "test_util.h"

#define CE "/usr/share/htslib-test/test/ce.fa"

#define tmpf(name) tu_tmp_in("species", name)

static int count_sub(const char *s, const char *sub)
{
    int n = 0;
    for (const char *p = s; (p = strstr(p, sub)) != NULL; p += strlen(sub)) n++;
    return n;
}

/* all tokens of a shard, concatenated (malloc'ed), and its record count */
static uint8_t *read_all(const char *path, uint64_t *n, char **meta)
{
    st_shard *s = NULL;
    if (st_shard_open(&s, path) != 0) return NULL;
    const st_shard_info *in = st_shard_get_info(s);
    *n = in->n_records;
    uint8_t *all = malloc(in->n_records * in->record_len + 1);
    size_t off = 0;
    for (uint32_t c = 0; c < in->n_chunks; c++) {
        uint32_t r = st_shard_chunk_records(s, c);
        int32_t *ct = malloc(r * sizeof *ct);
        int64_t *st = malloc(r * sizeof *st);
        if (st_shard_read_chunk(s, c, all + off, ct, st) != 0) { free(all); all = NULL; }
        free(ct); free(st);
        if (!all) break;
        off += (size_t)r * in->record_len;
    }
    *meta = strdup(st_shard_meta(s));
    st_shard_close(s);
    return all;
}

static void test_label_meta(void)
{
    mkdir(STRAND_TEST_TMP, 0755);
    mkdir(tmpf(""), 0755);
    const char *regs[] = {"CHROMOSOME_I:1-60000"};
    const char *val[] = {"CHROMOSOME_I:20001-30000"};
    const char *test[] = {"CHROMOSOME_I:30001-40000"};
    st_fasta *fa = NULL;
    CU_ASSERT_EQUAL_FATAL(st_fasta_open(&fa, CE, 0), 0);
    st_windows_params p = st_windows_default_params();
    CU_ASSERT_PTR_NULL(p.label); /* default: no label */
    p.len = 500; p.stride = 500;
    p.regions = regs; p.n_regions = 1;
    p.val_regions = val; p.n_val = 1;
    p.test_regions = test; p.n_test = 1;
    st_windows_stats s1, s2;
    CU_ASSERT_EQUAL_FATAL(st_windows_write_shards(fa, &p, tmpf("plain"), NULL, &s1), 0);
    p.label = "celegans";
    CU_ASSERT_EQUAL_FATAL(st_windows_write_shards(fa, &p, tmpf("labelled"), NULL, &s2), 0);
    for (int sp = 0; sp < 3; sp++) {
        char a[1100], b[1100];
        snprintf(a, sizeof a, "%s/%s.shard", tmpf("plain"), st_split_name((uint32_t)sp));
        snprintf(b, sizeof b, "%s/%s.shard", tmpf("labelled"), st_split_name((uint32_t)sp));
        uint64_t na = 0, nb = 0;
        char *ma = NULL, *mb = NULL;
        uint8_t *ta = read_all(a, &na, &ma), *tb = read_all(b, &nb, &mb);
        CU_ASSERT_FATAL(ta && tb);
        CU_ASSERT(na > 0);
        CU_ASSERT_EQUAL(na, nb);
        CU_ASSERT_EQUAL(memcmp(ta, tb, (size_t)na * 500), 0); /* the label changes no record */
        CU_ASSERT_EQUAL(count_sub(mb, "\nlabel\tcelegans\n"), 1);
        CU_ASSERT_EQUAL(count_sub(ma, "label\t"), 0);
        free(ta); free(tb); free(ma); free(mb);
    }
    CU_ASSERT_EQUAL(s1.kept[0] + s1.kept[1] + s1.kept[2], s2.kept[0] + s2.kept[1] + s2.kept[2]);
    /* a label with a tab (it would corrupt the key\tvalue metadata) or an empty one: STRAND_E_ARG, no shard */
    const char *bad[] = {"ce\tX", "", "two\nlines"};
    for (int i = 0; i < 3; i++) {
        p.label = bad[i];
        char d[64];
        snprintf(d, sizeof d, "bad%d", i);
        CU_ASSERT_EQUAL(st_windows_write_shards(fa, &p, tmpf(d), NULL, NULL), STRAND_E_ARG);
        CU_ASSERT(strstr(strand_last_error(), "label") != NULL);
        char cmd[2048], out[256];
        snprintf(cmd, sizeof cmd, "ls -A '%s' 2>/dev/null | wc -l", tmpf(d));
        tu_run(cmd, out, sizeof out);
        CU_ASSERT_EQUAL(atoi(out), 0);
    }
    st_fasta_close(fa);
}

static void test_label_cli(void)
{
    mkdir(STRAND_TEST_TMP, 0755);
    mkdir(tmpf(""), 0755);
    char cmd[4096], out[65536];
    snprintf(cmd, sizeof cmd, "%s data windows", STRAND_BIN);
    CU_ASSERT_EQUAL(tu_run(cmd, out, sizeof out), 0);
    CU_ASSERT(strstr(out, "--label NAME") != NULL);
    const char *dir = tmpf("cli");
    snprintf(cmd, sizeof cmd, "rm -rf '%s' && %s data windows -q -f %s -r CHROMOSOME_I:1-30000 -L 100 "
             "--split-by-region val=CHROMOSOME_I:1-5000,test=CHROMOSOME_I:5001-10000 --label ce_test -o '%s' 2>&1 "
             "&& %s data info '%s' 2>&1", dir, STRAND_BIN, CE, dir, STRAND_BIN, dir);
    CU_ASSERT_EQUAL_FATAL(tu_run(cmd, out, sizeof out), 0);
    CU_ASSERT_EQUAL(count_sub(out, "label\tce_test\n"), 1); /* metadata is printed once for the set */
    CU_ASSERT(strstr(out, "--label ce_test") != NULL);       /* and the command line is kept */
}

void register_suites(void)
{
    CU_pSuite s = CU_add_suite("species_labels", NULL, NULL);
    ADD_TEST(s, test_label_meta);
    ADD_TEST(s, test_label_cli);
}
