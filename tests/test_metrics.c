/* Design metrics on hand-made inputs (docs/metrics.md): every metric against a value worked out by
 * hand or printed by RDKit Python (the numbers quoted beside each check), and the chem/ additions
 * (Morgan bits, Tanimoto, BertzCT, aliphatic rings, SVG depiction). */
#include <math.h>

#include "chem/chem.h"
#include "chem/fingerprint.h"
#include "design/metrics_dna.h"
#include "design/metrics_smiles.h"
#include "strand.h"
#include "test_util.h"

/* ---- chem additions --------------------------------------------------------------------- */

/* RDKit 2022.09.3 Python: AllChem.GetMorganFingerprintAsBitVect(m, 2, nBits=2048).GetOnBits()
 * and Descriptors.BertzCT / NumAliphaticRings. */
static const struct {
    const char *smi;
    double bertz;
    int aliph;
    int nbits;
    int bits[24];
} chem_cases[] = {
    {"c1ccccc1O", 134.10736969541455, 0, 11, {65, 389, 745, 807, 1088, 1199, 1380, 1602, 1750, 1778, 1873}},
    {"CC(=O)Oc1ccccc1C(=O)O", 343.2228677267164, 0, 24,
     {389, 456, 650, 695, 807, 909, 1017, 1035, 1047, 1057, 1088, 1199, 1380, 1410, 1447, 1468, 1616, 1729,
      1750, 1775, 1873, 1917, 1970, 1991}},
    {"C1CCCCC1N", 46.14170945007629, 1, 11, {2, 890, 926, 1019, 1028, 1053, 1171, 1284, 1325, 1764, 1832}},
    {"CCO", 2.7548875021634682, 0, 6, {80, 222, 294, 807, 1057, 1410}},
    {"O=C=O", 23.774437510817343, 0, 4, {385, 650, 674, 1016}},
    {"C.C", 0.0, 0, 1, {1264}},
    {"C#N", 6.754887502163469, 0, 3, {489, 915, 1384}},
};

static void test_chem_fingerprints_bertz(void)
{
    uint64_t fp[7][32];
    for (size_t c = 0; c < sizeof chem_cases / sizeof chem_cases[0]; c++) {
        chem_mol *m = NULL;
        CU_ASSERT_EQUAL_FATAL(chem_mol_from_smiles(chem_cases[c].smi, &m), 0);
        CU_ASSERT_EQUAL(chem_morgan_bits(m, 2, 2048, fp[c]), 0);
        CU_ASSERT_EQUAL(fp_popcount(fp[c], 32), (size_t)chem_cases[c].nbits);
        for (int b = 0; b < chem_cases[c].nbits; b++) {
            int bit = chem_cases[c].bits[b];
            CU_ASSERT(fp[c][bit / 64] >> (bit % 64) & 1);
        }
        double bz = -1;
        CU_ASSERT_EQUAL(chem_bertz_ct(m, &bz), 0);
        CU_ASSERT(fabs(bz - chem_cases[c].bertz) <= 1e-9 * fmax(1, chem_cases[c].bertz));
        CU_ASSERT_EQUAL(chem_aliphatic_rings(m), chem_cases[c].aliph);
        chem_mol_free(m);
    }
    /* DataStructs.TanimotoSimilarity(phenol, aspirin) = 0.25; empty vs empty = 1 (RDKit) */
    CU_ASSERT_DOUBLE_EQUAL(fp_tanimoto(fp[0], fp[1], 32), 0.25, 1e-15);
    CU_ASSERT_DOUBLE_EQUAL(fp_tanimoto(fp[0], fp[0], 32), 1.0, 1e-15);
    uint64_t z[2] = {0, 0};
    CU_ASSERT_DOUBLE_EQUAL(fp_tanimoto(z, z, 2), 1.0, 0);
    chem_mol *m = NULL;
    CU_ASSERT_EQUAL_FATAL(chem_mol_from_smiles("CCO", &m), 0);
    CU_ASSERT(chem_morgan_bits(m, 2, 100, fp[0]) < 0); /* not a multiple of 64 */
    chem_mol_free(m);
}

static void test_chem_depict(void)
{
    chem_mol *m = NULL;
    CU_ASSERT_EQUAL_FATAL(chem_mol_from_smiles("CC(=O)Oc1ccccc1C(=O)O", &m), 0);
    char *svg = NULL;
    CU_ASSERT_EQUAL_FATAL(chem_depict_svg(m, 200, 150, &svg), 0);
    CU_ASSERT_EQUAL(strncmp(svg, "<svg", 4), 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(svg, "</svg>"));
    CU_ASSERT_PTR_NOT_NULL(strstr(svg, "bond-0")); /* RDKit classes its bond paths */
    CU_ASSERT_PTR_NULL(strstr(svg, "<?xml"));
    free(svg);
    CU_ASSERT(chem_depict_svg(m, 2, 2, &svg) < 0);
    CU_ASSERT_PTR_NULL(svg);
    chem_mol_free(m);
}

void register_suites(void)
{
    CU_pSuite s = CU_add_suite("design_metrics", NULL, NULL);
    ADD_TEST(s, test_chem_fingerprints_bertz);
    ADD_TEST(s, test_chem_depict);
}
