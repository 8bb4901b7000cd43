/* io/windows + `strand data windows/info`: window content equals `samtools faidx` tokenised,
 * split pieces cover the input exactly with no leakage, the N filter, strict mode, and the CLI
 * (usage, shards that the loader reads back, no output left behind by a failed run). */
#include <sys/stat.h>
#include <unistd.h>

#include "core/error.h"
#include "core/tokenizer_dna.h"
#include "io/fasta.h"
#include "io/shards.h"
#include "io/windows.h"
#include "strand.h"
#include "test_util.h"

#define CE "/usr/share/htslib-test/test/ce.fa"

#define tmpf(name) tu_tmp_in("windows", name)

static void setup(void)
{
    mkdir(STRAND_TEST_TMP, 0755);
    mkdir(tmpf(""), 0755);
}

typedef struct rec { uint32_t split; int contig; int64_t start; uint8_t tok[64]; } rec;
typedef struct recs { rec *v; int n, cap; int64_t L; } recs;

static int collect(void *user, const uint8_t *tokens, uint32_t split, int contig, int64_t start)
{
    recs *r = user;
    if (r->n == r->cap) {
        r->cap = r->cap ? 2 * r->cap : 1024;
        r->v = realloc(r->v, (size_t)r->cap * sizeof *r->v);
    }
    rec *x = &r->v[r->n++];
    x->split = split;
    x->contig = contig;
    x->start = start;
    memcpy(x->tok, tokens, (size_t)(r->L < 64 ? r->L : 64));
    return 0;
}

/* samtools faidx of [start, start+L) mapped to ids with an independent table (docs/tokenizers.md "DNA tokenizer"). */
static int samtools_ids(const char *fa, const char *contig, int64_t start, int64_t L, uint8_t *ids)
{
    char cmd[2048], out[8192];
    snprintf(cmd, sizeof cmd, "samtools faidx '%s' '%s:%lld-%lld' | grep -v '^>' | tr -d '\\n'", fa, contig,
             (long long)start + 1, (long long)(start + L));
    if (tu_run(cmd, out, sizeof out) != 0 || (int64_t)strlen(out) != L) return -1;
    for (int64_t i = 0; i < L; i++) {
        const char *p = strchr("ACGTN", out[i] & ~0x20);
        ids[i] = p && out[i] ? (uint8_t)(7 + (p - "ACGTN")) : 6;
    }
    return 0;
}

static void test_plan_and_content(void)
{
    st_fasta *fa = NULL;
    CU_ASSERT_EQUAL_FATAL(st_fasta_open(&fa, CE, 0), 0);
    st_windows_params p = st_windows_default_params();
    p.len = 64;
    p.stride = 50;
    const char *regs[] = {"CHROMOSOME_I:1-200,000", "CHROMOSOME_I:150,001-300,000", "CHROMOSOME_II",
                          "CHROMOSOME_X:101-4,000"};
    const char *val[] = {"CHROMOSOME_I:100,001-120,000", "CHROMOSOME_II:1001-2000"};
    const char *test[] = {"CHROMOSOME_I:119,990-125,000"}; /* overlaps val: rejected */
    p.regions = regs; p.n_regions = 4;
    p.val_regions = val; p.n_val = 2;
    p.test_regions = test; p.n_test = 1;
    st_piece *pc = NULL;
    int np = 0;
    CU_ASSERT_EQUAL(st_windows_plan(fa, &p, &pc, &np), STRAND_E_ARG);
    CU_ASSERT(strstr(strand_last_error(), "overlap on CHROMOSOME_I:119990-120000") != NULL);
    const char *test2[] = {"CHROMOSOME_I:200,001-210,000", "CHROMOSOME_X:3,001-9,999"}; /* X: past the end */
    p.test_regions = test2; p.n_test = 2;
    CU_ASSERT_EQUAL(st_windows_plan(fa, &p, &pc, &np), STRAND_E_RANGE);
    test2[1] = "CHROMOSOME_X:3,001-5,000";
    CU_ASSERT_EQUAL_FATAL(st_windows_plan(fa, &p, &pc, &np), 0);
    /* pieces: disjoint, sorted, covering the merged input exactly, labels match the regions */
    int64_t covered_I = 0, covered_X = 0;
    int bad_label = 0, overlaps = 0;
    for (int i = 0; i < np; i++) {
        const char *name = st_fasta_contig_name(fa, pc[i].contig);
        if (i && pc[i].contig == pc[i - 1].contig && pc[i].beg < pc[i - 1].end) overlaps++;
        if (!strcmp(name, "CHROMOSOME_I")) covered_I += pc[i].end - pc[i].beg;
        if (!strcmp(name, "CHROMOSOME_X")) covered_X += pc[i].end - pc[i].beg;
        uint32_t want = ST_SPLIT_TRAIN;
        if (!strcmp(name, "CHROMOSOME_I") && pc[i].beg >= 100000 && pc[i].end <= 120000) want = ST_SPLIT_VAL;
        if (!strcmp(name, "CHROMOSOME_II") && pc[i].beg >= 1000 && pc[i].end <= 2000) want = ST_SPLIT_VAL;
        if (!strcmp(name, "CHROMOSOME_I") && pc[i].beg >= 200000 && pc[i].end <= 210000) want = ST_SPLIT_TEST;
        if (!strcmp(name, "CHROMOSOME_X") && pc[i].beg >= 3000 && pc[i].end <= 4000) want = ST_SPLIT_TEST;
        bad_label += pc[i].split != want;
    }
    CU_ASSERT_EQUAL(overlaps, 0);
    CU_ASSERT_EQUAL(bad_label, 0);
    CU_ASSERT_EQUAL(covered_I, 300000); /* 1-200,000 and 150,001-300,000 merged */
    CU_ASSERT_EQUAL(covered_X, 3900);
    CU_ASSERT_EQUAL(np, 10); /* I: train val train test train | II: train val train | X: train test */
    free(pc);

    /* windows: step S inside a piece, never across a boundary; no train window touches val/test */
    recs r = {0};
    r.L = p.len;
    st_windows_stats st;
    CU_ASSERT_EQUAL_FATAL(st_windows_run(fa, &p, collect, &r, &st), 0);
    CU_ASSERT_EQUAL((uint64_t)r.n, st.kept[0] + st.kept[1] + st.kept[2]);
    int leak = 0;
    for (int i = 0; i < r.n; i++) {
        const char *name = st_fasta_contig_name(fa, r.v[i].contig);
        int64_t b = r.v[i].start, e = b + p.len;
        int in_val = (!strcmp(name, "CHROMOSOME_I") && b < 120000 && e > 100000) ||
                     (!strcmp(name, "CHROMOSOME_II") && b < 2000 && e > 1000);
        int in_test = (!strcmp(name, "CHROMOSOME_I") && b < 210000 && e > 200000) ||
                      (!strcmp(name, "CHROMOSOME_X") && b < 4000 && e > 3000);
        if (r.v[i].split == ST_SPLIT_TRAIN) leak += in_val || in_test;
        if (r.v[i].split == ST_SPLIT_VAL) leak += !in_val || in_test;
        if (r.v[i].split == ST_SPLIT_TEST) leak += !in_test || in_val;
    }
    CU_ASSERT_EQUAL(leak, 0);
    fprintf(stderr, "    windows train/val/test = %llu/%llu/%llu\n", (unsigned long long)st.kept[0],
            (unsigned long long)st.kept[1], (unsigned long long)st.kept[2]);
    CU_ASSERT(st.kept[1] > 0 && st.kept[2] > 0);
    /* content of a sample of windows equals samtools faidx, tokenised independently */
    int checked = 0, wrong = 0;
    for (int i = 0; i < r.n; i += r.n / 23 + 1) {
        uint8_t want[64];
        if (samtools_ids(CE, st_fasta_contig_name(fa, r.v[i].contig), r.v[i].start, p.len, want) != 0) {
            wrong++;
            continue;
        }
        wrong += memcmp(want, r.v[i].tok, (size_t)p.len) != 0;
        checked++;
    }
    CU_ASSERT(checked >= 20);
    CU_ASSERT_EQUAL(wrong, 0);
    free(r.v);
    st_fasta_close(fa);
}

static void test_n_filter_and_strict(void)
{
    setup();
    /* derived from ce.fa: line 3 of CHROMOSOME_II (bases 101-150) becomes N, base 1 of line 5 'R' */
    const char *path = tmpf("ce_n.fa");
    char cmd[4096];
    snprintf(cmd, sizeof cmd, "awk '/^>/{c=$0;k=0;print;next} c==\">CHROMOSOME_II\"{k++; if(k==3)gsub(/./,\"N\"); "
             "if(k==5)$0=\"R\" substr($0,2)} {print}' %s > '%s' && rm -f '%s.fai'", CE, path, path);
    CU_ASSERT_EQUAL_FATAL(tu_run(cmd, NULL, 0), 0);
    st_fasta *fa = NULL;
    CU_ASSERT_EQUAL_FATAL(st_fasta_open(&fa, path, 0), 0);
    st_windows_params p = st_windows_default_params();
    p.len = 40;
    p.stride = 7;
    const char *regs[] = {"CHROMOSOME_II:1-400"};
    p.regions = regs; p.n_regions = 1;
    p.max_n = 1.0;
    recs all = {0}, kept = {0};
    all.L = kept.L = p.len;
    st_windows_stats s1, s2;
    CU_ASSERT_EQUAL_FATAL(st_windows_run(fa, &p, collect, &all, &s1), 0);
    CU_ASSERT_EQUAL(all.n, (400 - 40) / 7 + 1);
    CU_ASSERT_EQUAL(s1.unk_tokens, 6); /* the 'R' at position 201 is in 6 windows (starts 161..196) */
    p.max_n = 0.25; /* at most 10 of 40 non-ACGT */
    CU_ASSERT_EQUAL_FATAL(st_windows_run(fa, &p, collect, &kept, &s2), 0);
    /* kept == exactly the windows of the first run with <= 10 N/UNK tokens */
    int j = 0, mismatch = 0;
    for (int i = 0; i < all.n; i++) {
        int bad = 0;
        for (int k = 0; k < 40; k++) bad += all.v[i].tok[k] == ST_DNA_N || all.v[i].tok[k] == ST_DNA_UNK;
        if (bad <= 10) {
            if (j >= kept.n || kept.v[j].start != all.v[i].start) mismatch++;
            j++;
        }
    }
    CU_ASSERT_EQUAL(j, kept.n);
    CU_ASSERT_EQUAL(mismatch, 0);
    CU_ASSERT_EQUAL(s2.dropped_n[0], (uint64_t)(all.n - kept.n));
    CU_ASSERT(s2.dropped_n[0] > 0);
    /* strict: the 'R' is an error naming the contig and 1-based position */
    p.strict = 1;
    CU_ASSERT_EQUAL(st_windows_run(fa, &p, collect, &kept, &s2), STRAND_E_FORMAT);
    CU_ASSERT(strstr(strand_last_error(), "\"CHROMOSOME_II\" position 201: character 'R'") != NULL);
    free(all.v);
    free(kept.v);
    st_fasta_close(fa);

    /* lower case tokenises like upper case (samtools-test dict.fa, soft-masked contig) */
    const char *dict = tmpf("dict.fa");
    snprintf(cmd, sizeof cmd, "cp /usr/share/samtools/test/dat/dict.fa '%s' && rm -f '%s.fai'", dict, dict);
    CU_ASSERT_EQUAL_FATAL(tu_run(cmd, NULL, 0), 0);
    CU_ASSERT_EQUAL_FATAL(st_fasta_open(&fa, dict, 0), 0);
    const char *r8[] = {"chr8:lower"};
    p = st_windows_default_params();
    p.len = 50; p.regions = r8; p.n_regions = 1;
    recs lw = {0};
    lw.L = 50;
    CU_ASSERT_EQUAL(st_windows_run(fa, &p, collect, &lw, NULL), 0);
    CU_ASSERT_EQUAL(lw.n, 4);
    int lower_ok = lw.n > 0;
    for (int i = 0; i < lw.n; i++) {
        uint8_t want[64];
        if (samtools_ids(dict, "{chr8:lower}", lw.v[i].start, 50, want) != 0 || memcmp(want, lw.v[i].tok, 50)) lower_ok = 0;
    }
    CU_ASSERT(lower_ok);
    free(lw.v);
    st_fasta_close(fa);
}

static void test_cli(void)
{
    setup();
    char cmd[4096], out[65536];
    snprintf(cmd, sizeof cmd, "%s data windows", STRAND_BIN);
    CU_ASSERT_EQUAL(tu_run(cmd, out, sizeof out), 0);
    CU_ASSERT(strstr(out, "Usage: strand data windows") && strstr(out, "default 1024") && strstr(out, "Examples"));
    const char *dir = tmpf("cli_out");
    snprintf(cmd, sizeof cmd, "rm -rf '%s' && %s data windows -q -f %s -L 100 --stride 100 "
             "--split-by-region val=CHROMOSOME_I:1,001-11,000,test=CHROMOSOME_I:20,001-30,000 -o '%s' 2>&1",
             dir, STRAND_BIN, CE, dir);
    CU_ASSERT_EQUAL_FATAL(tu_run(cmd, out, sizeof out), 0);
    snprintf(cmd, sizeof cmd, "%s data info '%s' 2>&1", STRAND_BIN, dir);
    CU_ASSERT_EQUAL(tu_run(cmd, out, sizeof out), 0);
    CU_ASSERT(strstr(out, "kind          dna_windows") && strstr(out, "crc32") && strstr(out, "OK"));
    CU_ASSERT(strstr(out, "split_region\ttest\tCHROMOSOME_I:20,001-30,000") != NULL);
    /* val.shard: 100 windows, all inside the val region, content = the FASTA */
    char vpath[1100];
    snprintf(vpath, sizeof vpath, "%s/val.shard", dir);
    st_loader *ld = NULL;
    CU_ASSERT_EQUAL_FATAL(st_loader_open(&ld, vpath, 16, 32, 7), 0);
    CU_ASSERT_EQUAL(st_loader_info(ld)->n_records, 100);
    CU_ASSERT_EQUAL(st_loader_info(ld)->split, ST_SPLIT_VAL);
    int32_t ids[16 * 100], ct[16];
    int64_t starts[16];
    int n, total = 0, outside = 0, wrong = 0;
    while ((n = st_loader_next(ld, ids, ct, starts)) > 0) {
        for (int i = 0; i < n; i++) {
            outside += starts[i] < 1000 || starts[i] + 100 > 11000 || ct[i] != 0;
            if (total + i < 3) { /* a few against samtools */
                uint8_t want[100];
                samtools_ids(CE, "CHROMOSOME_I", starts[i], 100, want);
                for (int k = 0; k < 100; k++) wrong += ids[i * 100 + k] != want[k];
            }
        }
        total += n;
    }
    CU_ASSERT_EQUAL(total, 100);
    CU_ASSERT_EQUAL(outside, 0);
    CU_ASSERT_EQUAL(wrong, 0);
    st_loader_close(ld);
    /* corrupt val.shard: info reports the failure with a non-zero exit */
    snprintf(cmd, sizeof cmd, "printf 'X' | dd of='%s' bs=1 seek=200 conv=notrunc 2>/dev/null; %s data info '%s' 2>&1",
             vpath, STRAND_BIN, dir);
    CU_ASSERT_NOT_EQUAL(tu_run(cmd, out, sizeof out), 0);
    CU_ASSERT(strstr(out, "strand data info:") && strstr(out, "val.shard: payload checksum mismatch"));
    /* a failing run (unknown contig in a split) leaves no shard and no temporary behind */
    const char *dir2 = tmpf("cli_fail");
    snprintf(cmd, sizeof cmd, "rm -rf '%s'; %s data windows -f %s -L 100 --split-by-region val=chrZ:1-100 -o '%s' 2>&1",
             dir2, STRAND_BIN, CE, dir2);
    CU_ASSERT_NOT_EQUAL(tu_run(cmd, out, sizeof out), 0);
    CU_ASSERT(strstr(out, "strand data windows:") && strstr(out, "unknown contig \"chrZ\""));
    snprintf(cmd, sizeof cmd, "ls -A '%s' 2>/dev/null | wc -l", dir2);
    tu_run(cmd, out, sizeof out);
    CU_ASSERT_EQUAL(atoi(out), 0);
}

void register_suites(void)
{
    CU_pSuite s = CU_add_suite("io_windows", NULL, NULL);
    ADD_TEST(s, test_plan_and_content);
    ADD_TEST(s, test_n_filter_and_strict);
    ADD_TEST(s, test_cli);
}
