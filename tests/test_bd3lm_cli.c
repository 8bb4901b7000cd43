/* `strand train bd3lm`, `strand sample` and `strand eval` on a BD3-LM model end to end (tiny
 * model, a few steps): the trained file is a BD3-LM model (block size in its config), the cached
 * and uncached samplers write the same SMILES for one seed, SMILES stop at <eos> (variable
 * length), --length beyond the window works, eval reports the block NELBO, bad options exit 1. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "guidance/bd3lm.h"
#include "test_util.h"

static const char *SMI[] = {"CCO", "c1ccccc1", "CC(=O)O", "CCN(CC)CC", "OC1CCCCC1", "CC(C)Cc1ccc(cc1)C(C)C(=O)O",
                            "C1=CC=CN=C1", "CCOC(=O)C", "CS(=O)C", "ClC(Cl)Cl", "N#CC", "CC#N"};

static const char *table(void)
{
    const char *p = tu_tmp("bd3lm_cli.tsv");
    FILE *f = fopen(p, "w");
    fprintf(f, "smiles\tqed\n");
    for (int i = 0; i < 60; i++) fprintf(f, "%s\t%.3f\n", SMI[i % 12], 0.1 + 0.013 * i);
    fclose(f);
    return p;
}

static char model[4096];

static void test_train(void)
{
    char out[16384];
    snprintf(model, sizeof model, "%s", tu_tmp("bd3lm_cli.safetensors"));
    const char *tab = table();
    const char *common = "-L 32 -B 4 --dim 16 --depth 1 --heads 2 --cond-dim 8 --threads 1 --seed 2 -q";
    int st = tu_runf(out, sizeof out, "%s train bd3lm -i %s --prop-col qed --val-hold 8 %s --block 4 --steps 4 "
                     "--val-every 2 --val-rows 8 --clip-widths 0.5 --clip-rows 8 -o %s 2>&1", STRAND_BIN, tab, common, model);
    CU_ASSERT(st == 0);
    if (st) fprintf(stderr, "%s\n", out);
    int block = -1;
    CU_ASSERT(bd3lm_probe(model, &block) == 0 && block == 4);
    /* refused: no --block, a block longer than -L, a time-conditioned BD3-LM, --block for mdlm */
    const char *bad[] = {"train bd3lm", "train bd3lm --block 33", "train bd3lm --block 4 --time-cond",
                         "train mdlm --block 4"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        st = tu_runf(out, sizeof out, "%s %s -i %s %s --steps 1 -o %s 2>&1", STRAND_BIN, bad[i], tab, common,
                     tu_tmp("bd3lm_bad.safetensors"));
        CU_ASSERT(st == 1);
    }
}

static void test_sample_and_eval(void)
{
    char out[16384];
    const char *a = tu_tmp("bd3lm_a.smi"), *b = tu_tmp("bd3lm_b.smi");
    int st = tu_runf(out, sizeof out, "%s sample -m %s -n 9 --batch 4 --seed 4 --steps 6 -q -o %s && "
                     "%s sample -m %s -n 9 --batch 4 --seed 4 --steps 6 --no-cache -q -o %s && cmp %s %s", STRAND_BIN,
                     model, a, STRAND_BIN, model, b, a, b);
    CU_ASSERT(st == 0);
    st = tu_runf(out, sizeof out, "%s sample -m %s -n 6 --batch 3 --seed 1 --first-hitting --label 1 --gamma 2 "
                 "--top-p 0.9 -q -o %s && %s sample -m %s -n 6 --batch 3 --seed 1 --first-hitting --label 1 --gamma 2 "
                 "--top-p 0.9 --no-cache -q -o %s && cmp %s %s && wc -l < %s", STRAND_BIN, model, a, STRAND_BIN, model,
                 b, a, b, a);
    CU_ASSERT(st == 0 && atoi(out) == 6);
    /* longer than the 32-token window, ids out: shape (4, 80), <pad> after each row's <eos> */
    const char *npy = tu_tmp("bd3lm_long.npy");
    st = tu_runf(out, sizeof out, "%s sample -m %s -n 4 --batch 4 --length 80 --seed 2 -o %s 2>&1", STRAND_BIN, model, npy);
    CU_ASSERT(st == 0 && strstr(out, "key/value cache") != NULL);
    size_t len = 0;
    unsigned char *raw = tu_slurp(npy, &len);
    CU_ASSERT(raw != NULL && strstr((char *)raw + 10, "(4, 80)") != NULL);
    free(raw);
    /* eval: the block NELBO, the model's block size or another */
    st = tu_runf(out, sizeof out, "%s eval -m %s -i %s --samples 2 --batch 8 2>&1", STRAND_BIN, model, table());
    CU_ASSERT(st == 0 && strstr(out, "\tblock\n") != NULL && strstr(out, "\t4\n") != NULL);
    st = tu_runf(out, sizeof out, "%s eval -m %s -i %s --samples 1 --block 2 2>&1", STRAND_BIN, model, table());
    CU_ASSERT(st == 0 && strstr(out, "\t2\n") != NULL);
    st = tu_runf(out, sizeof out, "%s eval -m %s -i %s --block 64 2>&1", STRAND_BIN, model, table());
    CU_ASSERT(st == 1);
}

void register_suites(void)
{
    CU_pSuite s = CU_add_suite("bd3lm_cli", NULL, NULL);
    ADD_TEST(s, test_train);
    ADD_TEST(s, test_sample_and_eval);
}
