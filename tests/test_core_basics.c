/* Errors, RNG, threads policy, atomic files, versions. */
#include <sys/stat.h>
#include <unistd.h>

#include "core/atomic_file.h"
#include "core/backbone_config.h"
#include "core/dit.h"
#include "core/error.h"
#include "strand.h"
#include "test_util.h"

static void test_error_messages(void)
{
    strand_clear_error();
    CU_ASSERT_EQUAL(strand_last_error_code(), 0);
    int rc = st_err(NULL, STRAND_E_FORMAT, "%s: line %d: bad", "x.vcf", 7);
    CU_ASSERT_EQUAL(rc, STRAND_E_FORMAT);
    CU_ASSERT_STRING_EQUAL(strand_last_error(), "x.vcf: line 7: bad");
    st_err_prefix("strand vep");
    CU_ASSERT_STRING_EQUAL(strand_last_error(), "strand vep: x.vcf: line 7: bad");
    st_errbuf eb = {0};
    st_err_capture(&eb);
    CU_ASSERT_EQUAL(eb.code, STRAND_E_FORMAT);
    for (int c = 0; c >= STRAND_E_INTERNAL; c--) CU_ASSERT_STRING_NOT_EQUAL(strand_strerror(c), "unknown error code");
    CU_ASSERT_STRING_EQUAL(strand_strerror(-999), "unknown error code");
}

static void test_rng_reference_values(void)
{
    /* splitmix64 seeding of 0 and the first xoshiro256** outputs, computed independently with
     * tests/reference/rng_reference.py. */
    strand_rng r;
    strand_rng_seed(&r, 0);
    CU_ASSERT_EQUAL(r.s[0], 0xe220a8397b1dcdafULL);
    CU_ASSERT_EQUAL(r.s[1], 0x6e789e6aa1b965f4ULL);
    strand_rng a, b;
    strand_rng_seed(&a, 42);
    strand_rng_seed(&b, 42);
    for (int i = 0; i < 1000; i++) CU_ASSERT_EQUAL_FATAL(strand_rng_next(&a), strand_rng_next(&b));
    strand_rng_jump(&b);
    CU_ASSERT_NOT_EQUAL(strand_rng_next(&a), strand_rng_next(&b));
}

static void test_rng_distributions(void)
{
    strand_rng r;
    strand_rng_seed(&r, 7);
    enum { N = 200000 };
    double s = 0, s2 = 0;
    int counts[5] = {0};
    for (int i = 0; i < N; i++) {
        double u = strand_rng_uniform(&r);
        CU_ASSERT_FATAL(u >= 0 && u < 1);
        double z = strand_rng_normal(&r);
        s += z;
        s2 += z * z;
        counts[strand_rng_below(&r, 5)]++;
    }
    double mean = s / N, var = s2 / N - mean * mean;
    CU_ASSERT(fabs(mean) < 0.01);   /* 4.5 sigma of the sample mean */
    CU_ASSERT(fabs(var - 1) < 0.015);
    for (int k = 0; k < 5; k++) CU_ASSERT(abs(counts[k] - N / 5) < 1000); /* ~5.6 sigma */
}

static void test_atomic_file(void)
{
    const char *p = tu_tmp("atomic.txt");
    unlink(p);
    st_atomic_file af;
    CU_ASSERT_EQUAL_FATAL(st_atomic_open(&af, p, 1), 0);
    fputs("hello", af.fp);
    struct stat st;
    CU_ASSERT_NOT_EQUAL(stat(p, &st), 0); /* nothing under the final name yet */
    CU_ASSERT_EQUAL(st_atomic_commit(&af), 0);
    CU_ASSERT_EQUAL(stat(p, &st), 0);
    CU_ASSERT_EQUAL(st.st_size, 5);
    mode_t mask = umask(0);
    umask(mask);
    CU_ASSERT_EQUAL(st.st_mode & 0777, 0666 & ~mask); /* like fopen, not mkstemp's 0600 */
    /* aborting leaves the old file and no temporary */
    CU_ASSERT_EQUAL_FATAL(st_atomic_open(&af, p, 1), 0);
    char tmp[1024];
    snprintf(tmp, sizeof tmp, "%s", af.tmp_path);
    fputs("partial", af.fp);
    st_atomic_abort(&af);
    CU_ASSERT_EQUAL(stat(p, &st), 0);
    CU_ASSERT_EQUAL(st.st_size, 5);
    CU_ASSERT_NOT_EQUAL(stat(tmp, &st), 0);
    /* unwritable directory: clear error, no crash */
    CU_ASSERT_EQUAL(st_atomic_open(&af, "/nonexistent-dir/x.txt", 1), STRAND_E_IO);
    CU_ASSERT_PTR_NOT_NULL(strstr(strand_last_error(), "/nonexistent-dir/x.txt"));
}

static void test_versions(void)
{
    strand_dep_versions v = strand_get_dep_versions();
    CU_ASSERT_STRING_EQUAL(strand_version_string(), STRAND_VERSION_STRING);
    CU_ASSERT_PTR_NOT_NULL(v.htslib);
    CU_ASSERT_PTR_NOT_NULL(v.openblas);
    CU_ASSERT_PTR_NOT_NULL(strstr(v.openblas, "OpenBLAS"));
    CU_ASSERT(v.zstd && v.zstd[0] == '1');
    CU_ASSERT(v.rdkit && strlen(v.rdkit) > 4);
}

static void test_cli_version(void)
{
    char out[4096];
    CU_ASSERT_EQUAL(tu_run(STRAND_BIN " --version", out, sizeof out), 0);
    const char *names[] = {"strand ", "htslib ", "OpenBLAS ", "zstd ", "RDKit "};
    for (int i = 0; i < 5; i++) CU_ASSERT_PTR_NOT_NULL(strstr(out, names[i]));
    CU_ASSERT_EQUAL(tu_run(STRAND_BIN " no-such-command 2>/dev/null", NULL, 0), 1);
    CU_ASSERT_EQUAL(tu_run(STRAND_BIN, out, sizeof out), 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "Usage:"));
}

/* The strand.config keys of the diffusion backbones: values read, absent keys kept, errors named. */
static void test_backbone_config(void)
{
    int dim = 7, depth = 3, n_out = 5, tc = 0, nc = 9;
    const backbone_int_key ints[] = {{"hidden_dim", &dim, 1}, {"n_blocks", &depth, 1}, {"num_outputs", &n_out, 0}};
    CU_ASSERT_EQUAL(backbone_config_read("{\"hidden_dim\": 96, \"num_outputs\": 0, \"time_conditioning\": true, "
                                         "\"cfg_num_classes\": 2}", "X", ints, 3, &tc, &nc), 0);
    CU_ASSERT(dim == 96 && depth == 3 && n_out == 0 && tc == 1 && nc == 2);
    CU_ASSERT_EQUAL(backbone_config_read("{\"cfg\": false, \"cfg_num_classes\": 4, \"time_conditioning\": false}", "X", ints, 3,
                                         &tc, &nc), 0);
    CU_ASSERT(tc == 0 && nc == 0); /* no CFG: no classes, whatever the count says */
    CU_ASSERT_EQUAL(backbone_config_read("{\"n_blocks\": 0}", "X", ints, 3, &tc, &nc), STRAND_E_FORMAT);
    CU_ASSERT_STRING_EQUAL(strand_last_error(), "X config: \"n_blocks\" must be a positive integer");
    CU_ASSERT_EQUAL(backbone_config_read("{\"num_outputs\": -1}", "X", ints, 3, &tc, &nc), STRAND_E_FORMAT);
    CU_ASSERT_STRING_EQUAL(strand_last_error(), "X config: \"num_outputs\" must be an integer >= 0");
    CU_ASSERT_EQUAL(backbone_config_read("{\"hidden_dim\": 96.5}", "X", ints, 3, &tc, &nc), STRAND_E_FORMAT);
    CU_ASSERT_EQUAL(backbone_config_read("{\"cfg_num_classes\": -2}", "X", ints, 3, &tc, &nc), STRAND_E_FORMAT);
    CU_ASSERT_EQUAL(backbone_config_read("[1, 2]", "X", ints, 3, &tc, &nc), STRAND_E_FORMAT);
    CU_ASSERT_EQUAL(backbone_config_read("{\"hidden_dim\": ", "X", ints, 3, &tc, &nc), STRAND_E_FORMAT);
    CU_ASSERT_PTR_NOT_NULL(strstr(strand_last_error(), "X config: invalid JSON at line 1"));
    CU_ASSERT_EQUAL(dim, 96);
    dit_config dc = dit_default_config();
    CU_ASSERT_EQUAL(dit_config_from_json(&dc, "{\"n_heads\": 6, \"model_length\": 64}"), 0);
    CU_ASSERT(dc.heads == 6 && dc.model_length == 64 && dc.dim == dit_default_config().dim);
    CU_ASSERT_EQUAL(dit_config_from_json(&dc, "{\"n_heads\": 0}"), STRAND_E_FORMAT);
    CU_ASSERT_STRING_EQUAL(strand_last_error(), "DiT config: \"n_heads\" must be a positive integer");
}

void register_suites(void)
{
    CU_pSuite s = CU_add_suite("core_basics", NULL, NULL);
    ADD_TEST(s, test_error_messages);
    ADD_TEST(s, test_rng_reference_values);
    ADD_TEST(s, test_rng_distributions);
    ADD_TEST(s, test_atomic_file);
    ADD_TEST(s, test_versions);
    ADD_TEST(s, test_cli_version);
    ADD_TEST(s, test_backbone_config);
}
