/* The command line's shared pieces (apps/cli.c) through the built `strand`: the command tables
 * with their section rows, dispatch (unknown names fail with status 1 and the table on stderr),
 * and the four number parsers (garbage, trailing text, out of range, overflow all end the command
 * with status 1 and `strand <cmd>: bad --opt "text": want ...`). */
#include <stdio.h>
#include <string.h>

#include "strand.h"
#include "test_util.h"

static char out[16384];

static int run(const char *args)
{
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "%s %s 2>&1", STRAND_BIN, args);
    int rc = tu_run(cmd, out, sizeof out);
    return rc;
}

/* `strand`, `strand data`, `strand train`: sections and rows; exit 0 */
static void test_tables(void)
{
    CU_ASSERT_EQUAL(run(""), 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "Usage:   strand <command> [options]"));
    const char *rows[] = {"Data:", "    data ", "Models:", "    inspect ", "    logits ", "    embed ", "    train ",
                          "Genomics:", "    vep "};
    const char *prev = out;
    for (size_t i = 0; i < sizeof rows / sizeof *rows; i++) { /* present and in table order */
        const char *p = strstr(prev, rows[i]);
        if (!p) fprintf(stderr, "    missing row \"%s\"\n", rows[i]);
        CU_ASSERT_PTR_NOT_NULL(p);
        if (p) prev = p;
    }
    CU_ASSERT_EQUAL(run("--help"), 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "Genomics:"));
    CU_ASSERT_EQUAL(run("data"), 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "Usage: strand data <subcommand> [options]"));
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "Subcommands:\n    smiles "));
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "    windows "));
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "    info "));
    CU_ASSERT_EQUAL(run("train"), 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "Usage: strand train <kind> [options]"));
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "Trainable kinds:\n    caduceus "));
    CU_ASSERT_EQUAL(run("train --help"), 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "Trainable kinds:"));
}

/* unknown names at every level: status 1, the error names the level, the table follows */
static void test_unknown_names(void)
{
    CU_ASSERT_EQUAL(run("frobnicate"), 1);
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "strand: unknown command \"frobnicate\""));
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "Genomics:"));
    CU_ASSERT_EQUAL(run("data frobnicate"), 1);
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "strand data: unknown subcommand \"frobnicate\""));
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "Subcommands:"));
    CU_ASSERT_EQUAL(run("train frobnicate"), 1);
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "strand train: unknown kind \"frobnicate\""));
    /* a section heading is not a command */
    CU_ASSERT_EQUAL(run("Data"), 1);
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "unknown command \"Data\""));
}

/* one bad value: status 1 and exactly this message */
static void bad(const char *args, const char *want)
{
    int rc = run(args);
    if (rc != 1 || !strstr(out, want)) fprintf(stderr, "    [%s] -> %d: %s    (wanted \"%s\")\n", args, rc, out, want);
    CU_ASSERT_EQUAL(rc, 1);
    CU_ASSERT_PTR_NOT_NULL(strstr(out, want));
}

static void test_number_parsers(void)
{
    /* cli_int */
    bad("vep -f x.fa --threads -1 in.vcf", "strand vep: bad --threads \"-1\": want an integer >= 0");
    bad("vep -f x.fa --threads 3x in.vcf", "strand vep: bad --threads \"3x\": want an integer >= 0");
    bad("vep -f x.fa --threads 99999999999 in.vcf", "strand vep: bad --threads \"99999999999\": want an integer >= 0");
    bad("vep -f x.fa --window '' in.vcf", "strand vep: bad --window \"\": want an integer >= 1");
    bad("train caduceus --layers 2000 -o m", "strand train caduceus: bad --layers \"2000\": want an integer in [1, 1024]");
    /* cli_long */
    bad("data windows -f x.fa -o d -L 0", "strand data windows: bad --len \"0\": want an integer >= 1");
    bad("data windows -f x.fa -o d -L 99999999999999999999", "bad --len \"99999999999999999999\"");
    bad("data smiles -i x.smi --max-rows -3", "strand data smiles: bad --max-rows \"-3\": want an integer >= 0");
    /* cli_double */
    bad("data windows -f x.fa -o d --max-n 1.5", "strand data windows: bad --max-n \"1.5\": want a number in [0, 1]");
    bad("logits -m a -i b -o c --sigma nan", "strand logits: bad --sigma \"nan\": want a finite number >= 0");
    bad("logits -m a -i b -o c --sigma inf", "bad --sigma \"inf\"");
    bad("logits -m a -i b -o c --sigma 0.5q", "bad --sigma \"0.5q\"");
    bad("train caduceus --lr 0 -o m", "strand train caduceus: bad --lr \"0\": want a number in (0, 10]");
    /* cli_u64 */
    bad("train caduceus --seed -1 -o m", "strand train caduceus: bad --seed \"-1\": want an integer in [0, 2^64)");
    bad("train caduceus --seed 18446744073709551616 -o m", "bad --seed \"18446744073709551616\"");
    /* in range: parsing gets past the option (the run then fails for another reason, naming it) */
    CU_ASSERT_EQUAL(run("train caduceus --seed 18446744073709551615 --threads 1 -o m"), 1);
    CU_ASSERT_PTR_NULL(strstr(out, "bad --"));
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "strand train caduceus: give exactly one of -f FASTA or --shards"));
}

void register_suites(void)
{
    CU_pSuite s = CU_add_suite("cli", NULL, NULL);
    ADD_TEST(s, test_tables);
    ADD_TEST(s, test_unknown_names);
    ADD_TEST(s, test_number_parsers);
}
