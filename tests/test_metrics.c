/* Design metrics on hand-made inputs (docs/metrics.md): every metric against a value worked out by
 * hand or printed by RDKit Python (the numbers quoted beside each check), and the chem/ additions
 * (Morgan bits, Tanimoto, BertzCT, aliphatic rings, SVG depiction). */
#include <jansson.h>
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


/* ---- hand-made inputs ------------------------------------------------------------------------ */

static void test_stats_quantiles(void)
{
    /* numpy: np.quantile([4,1,3,2,10], [.05,.25,.5,.75,.95]) = 1.2 2 3 4 8.8; mean 4, sd sqrt(12.5) */
    const double x[5] = {4, 1, 3, 2, 10};
    ms_stats s;
    ms_stats_compute(x, 5, &s);
    CU_ASSERT_EQUAL(s.n, 5);
    CU_ASSERT_DOUBLE_EQUAL(s.mean, 4.0, 1e-12);
    CU_ASSERT_DOUBLE_EQUAL(s.sd, sqrt(12.5), 1e-12);
    const double q[5] = {1.2, 2, 3, 4, 8.8};
    for (int i = 0; i < 5; i++) CU_ASSERT_DOUBLE_EQUAL(s.q[i], q[i], 1e-12);
    CU_ASSERT_DOUBLE_EQUAL(x[0], 4, 0); /* input untouched */
    ms_stats_compute(x, 0, &s);
    CU_ASSERT(isnan(s.mean) && isnan(s.q[2]));
    ms_stats_compute(x, 1, &s);
    CU_ASSERT(s.mean == 4 && isnan(s.sd) && s.q[0] == 4 && s.q[4] == 4);
}

static void test_smiles_set_by_hand(void)
{
    /* training: ethanol, benzene. samples: ethanol written differently (valid, not novel),
     * phenol twice (valid, novel, one distinct), an invalid ring, an empty sample, benzene. */
    const char *train[] = {"CCO", "c1ccccc1", "C1CC"};
    const char *smp[] = {"OCC", "Oc1ccccc1", "c1ccccc1O", "C1CC", "", "C1=CC=CC=C1"};
    ms_params p;
    ms_default_params(&p);
    ms_reference *ref = NULL;
    CU_ASSERT_EQUAL_FATAL(ms_reference_build(train, 3, 0, &p, &ref), 0);
    CU_ASSERT_EQUAL(ms_reference_size(ref), 2);
    CU_ASSERT(ms_reference_contains(ref, "CCO") && ms_reference_contains(ref, "c1ccccc1"));
    ms_sample rows[6];
    ms_set_metrics m;
    CU_ASSERT_EQUAL_FATAL(ms_evaluate(smp, 6, ref, &p, rows, &m), 0);
    CU_ASSERT_EQUAL(m.n, 6);
    CU_ASSERT_EQUAL(m.n_valid, 4);
    CU_ASSERT_EQUAL(m.n_unique, 3);
    CU_ASSERT_EQUAL(m.n_novel, 1);
    CU_ASSERT_DOUBLE_EQUAL(m.validity, 4.0 / 6, 1e-15);
    CU_ASSERT_DOUBLE_EQUAL(m.uniqueness, 3.0 / 4, 1e-15);
    CU_ASSERT_DOUBLE_EQUAL(m.novelty, 1.0 / 3, 1e-15);
    CU_ASSERT_DOUBLE_EQUAL(m.unique_of_all, 3.0 / 6, 1e-15);
    CU_ASSERT_DOUBLE_EQUAL(m.novel_of_all, 1.0 / 6, 1e-15);
    CU_ASSERT(rows[0].valid && !rows[0].novel && !strcmp(rows[0].canonical, "CCO"));
    CU_ASSERT(rows[1].valid && rows[1].novel && rows[1].first && !strcmp(rows[1].canonical, "Oc1ccccc1"));
    CU_ASSERT(rows[2].valid && rows[2].novel && !rows[2].first);
    CU_ASSERT(!rows[3].valid && !rows[4].valid && rows[3].canonical == NULL && isnan(rows[3].v[MS_QED]));
    CU_ASSERT_EQUAL(rows[1].v[MS_RINGS], 1);
    CU_ASSERT_EQUAL(rows[1].v[MS_HEAVY], 7);
    CU_ASSERT_DOUBLE_EQUAL(rows[1].v[MS_MW], 94.11299999999999, 1e-9); /* Descriptors.MolWt(phenol) */
    CU_ASSERT_DOUBLE_EQUAL(rows[1].v[MS_TPSA], 20.23, 1e-9);
    /* valid stats over the 4 valid (with repeats); novel stats over phenol once */
    CU_ASSERT_EQUAL(m.valid_stats[MS_HEAVY].n, 4);
    CU_ASSERT_DOUBLE_EQUAL(m.valid_stats[MS_HEAVY].mean, (3 + 7 + 7 + 6) / 4.0, 1e-12);
    CU_ASSERT_EQUAL(m.novel_stats[MS_HEAVY].n, 1);
    CU_ASSERT_DOUBLE_EQUAL(m.novel_stats[MS_HEAVY].mean, 7, 0);
    /* IntDiv over ethanol, phenol, benzene: 1 - mean of the three pairwise Tanimotos */
    uint64_t fp[3][32];
    const char *u[3] = {"CCO", "Oc1ccccc1", "c1ccccc1"};
    for (int i = 0; i < 3; i++) {
        chem_mol *mol = NULL;
        CU_ASSERT_EQUAL_FATAL(chem_mol_from_smiles(u[i], &mol), 0);
        chem_morgan_bits(mol, 2, 2048, fp[i]);
        chem_mol_free(mol);
    }
    double t = fp_tanimoto(fp[0], fp[1], 32) + fp_tanimoto(fp[0], fp[2], 32) + fp_tanimoto(fp[1], fp[2], 32);
    CU_ASSERT_DOUBLE_EQUAL(m.intdiv, 1 - t / 3, 1e-12);
    CU_ASSERT(m.intdiv > 0 && m.intdiv < 1);
    CU_ASSERT(m.kl_score > 0 && m.kl_score <= 1);
    json_t *j = ms_metrics_json(&m);
    CU_ASSERT_PTR_NOT_NULL_FATAL(j);
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(j, "novel")), 1);
    CU_ASSERT(json_is_null(json_object_get(json_object_get(json_object_get(j, "properties_novel"), "qed"), "sd")));
    json_decref(j);
    char *line = NULL;
    CU_ASSERT_EQUAL(ms_sample_tsv(smp[1], &rows[1], &line), 0);
    CU_ASSERT_EQUAL(strncmp(line, "Oc1ccccc1\t1\tOc1ccccc1\t1\t", 24), 0);
    free(line);
    CU_ASSERT_EQUAL(ms_sample_tsv(smp[3], &rows[3], &line), 0);
    CU_ASSERT_STRING_EQUAL(line, "C1CC\t0\t\t0\tNA\tNA\tNA\tNA\tNA\tNA");
    free(line);
    ms_samples_clear(rows, 6);
    /* no reference: novelty undefined, no KL; nothing valid: uniqueness undefined */
    const char *bad[] = {"", "C1CC"};
    CU_ASSERT_EQUAL(ms_evaluate(bad, 2, NULL, &p, NULL, &m), 0);
    CU_ASSERT(m.validity == 0 && isnan(m.uniqueness) && isnan(m.novelty) && isnan(m.intdiv) && isnan(m.kl_score));
    ms_reference_free(ref);
}

static void test_kl_building_blocks(void)
{
    /* identical sets: every KL is 0 */
    double a[6] = {1, 2, 2, 3, 5, 8}, b[6] = {1, 2, 2, 3, 5, 8}, c[4] = {20, 21, 22, 23};
    CU_ASSERT_DOUBLE_EQUAL(ms_kl_continuous(a, 6, b, 6), 0, 1e-12);
    CU_ASSERT_DOUBLE_EQUAL(ms_kl_discrete(a, 6, b, 6), 0, 1e-12);
    /* disjoint sets: large, and no sample inside the reference bins is uniform Q (numpy: NaN) */
    CU_ASSERT(ms_kl_continuous(a, 6, c, 4) > 5);
    double klu = ms_kl_discrete(a, 6, c, 4);
    /* P = counts (1,2,1,0,...,1,...,1)/6 over 10 bins [1,8]; Q uniform: KL = sum p ln(10 p) */
    double P[10] = {0};
    double w = 0.7;
    for (int i = 0; i < 6; i++) {
        int k = (int)((a[i] - 1) / w);
        if (k == 10) k = 9;
        if (a[i] < 1 + k * w) k--;
        P[k] += 1;
    }
    double kl = 0, sp = 0;
    for (int i = 0; i < 10; i++) sp += P[i] / (6 * w) + 1e-10;
    for (int i = 0; i < 10; i++) {
        double p = (P[i] / (6 * w) + 1e-10) / sp;
        kl += p * log(p / 0.1);
    }
    CU_ASSERT_DOUBLE_EQUAL(klu, kl, 1e-9);
    /* the nearest-neighbour similarity: 3 fingerprints by hand */
    uint64_t f[3] = {0x3, 0x7, 0x30};
    double nn[3];
    ms_nn_similarity(f, 3, 1, nn);
    CU_ASSERT_DOUBLE_EQUAL(nn[0], 2.0 / 3, 1e-15);
    CU_ASSERT_DOUBLE_EQUAL(nn[1], 2.0 / 3, 1e-15);
    CU_ASSERT_DOUBLE_EQUAL(nn[2], 0, 0);
    CU_ASSERT_DOUBLE_EQUAL(ms_intdiv(f, 3, 1), 1 - (2.0 / 3) / 3, 1e-15);
    CU_ASSERT(isnan(ms_intdiv(f, 1, 1)));
}

static void test_dna_by_hand(void)
{
    double p[16], q[16];
    const char *s1[] = {"ACGTNAC", "aa"};
    /* 2-mers: AC CG GT (N breaks) AC, then AA: AC x2, CG, GT, AA over 5 */
    CU_ASSERT_EQUAL(md_kmer_spectrum(s1, 2, 2, p), 5);
    CU_ASSERT_DOUBLE_EQUAL(p[0 * 4 + 1], 2.0 / 5, 1e-15);
    CU_ASSERT_DOUBLE_EQUAL(p[0], 1.0 / 5, 1e-15);
    CU_ASSERT_DOUBLE_EQUAL(p[1 * 4 + 2], 1.0 / 5, 1e-15);
    CU_ASSERT_DOUBLE_EQUAL(md_js_bits(p, p, 16), 0, 0);
    /* disjoint supports: JS = 1 bit */
    for (int i = 0; i < 16; i++) q[i] = i == 15;
    CU_ASSERT_DOUBLE_EQUAL(md_js_bits(p, q, 16), 1.0, 1e-12);
    CU_ASSERT_DOUBLE_EQUAL(md_gc("GGCCAT"), 4.0 / 6, 1e-15);
    CU_ASSERT_DOUBLE_EQUAL(md_gc("GNNA"), 0.5, 1e-15);
    CU_ASSERT(isnan(md_gc("NNN")));
    CU_ASSERT_EQUAL(md_longest_homopolymer("ACCCGTTTTA"), 4);
    CU_ASSERT_EQUAL(md_longest_homopolymer("AANAA"), 2);
    CU_ASSERT_EQUAL(md_longest_homopolymer(""), 0);
    /* identity: a window, its reverse complement, a window of another length (ignored) */
    const char *tr[] = {"AAAACCCCGGGGTTTTAAAACCCCGGGGTTTTAAAACCCCGGGGTTTTAAAACCCCGGGGTTTTACG", "ACGT"};
    md_reference *train = NULL;
    CU_ASSERT_EQUAL_FATAL(md_reference_build(tr, 2, &train), 0);
    CU_ASSERT_DOUBLE_EQUAL(md_nn_identity(train, tr[0]), 1.0, 0);
    /* reverse complement of tr[0] */
    char rc[80];
    size_t L = strlen(tr[0]);
    for (size_t i = 0; i < L; i++) {
        char c = tr[0][L - 1 - i];
        rc[i] = c == 'A' ? 'T' : c == 'C' ? 'G' : c == 'G' ? 'C' : 'A';
    }
    rc[L] = 0;
    CU_ASSERT_DOUBLE_EQUAL(md_nn_identity(train, rc), 1.0, 0);
    char mut[80];
    strcpy(mut, tr[0]);
    mut[0] = 'N';  /* never matches */
    mut[64] = 'C'; /* crosses the 64-base word boundary */
    CU_ASSERT_DOUBLE_EQUAL(md_nn_identity(train, mut), (double)(L - 2) / L, 1e-15);
    CU_ASSERT_DOUBLE_EQUAL(md_nn_identity(train, "ACGA"), 0.75, 1e-15); /* vs ACGT (rc ACGT) */
    CU_ASSERT(isnan(md_nn_identity(train, "ACG")));
    /* set metrics: duplicates, memorised, accuracy */
    const char *gen[] = {tr[0], tr[0], mut, "ACGT"};
    int pred[] = {2, 2, 1, 0};
    md_sample rows[4];
    md_set_metrics m;
    md_params mp;
    md_default_params(&mp);
    CU_ASSERT_EQUAL_FATAL(md_evaluate(gen, 4, train, train, pred, NULL, 2, &mp, rows, &m), 0);
    CU_ASSERT_EQUAL(m.exact_duplicates, 1);
    CU_ASSERT(rows[1].duplicate && !rows[0].duplicate);
    CU_ASSERT_EQUAL(m.memorised, 3); /* tr[0] twice, ACGT; mut is 65/67 < 0.99 */
    CU_ASSERT_DOUBLE_EQUAL(m.accuracy, 0.5, 0);
    CU_ASSERT_EQUAL(m.homopolymer_max, 4);
    CU_ASSERT_DOUBLE_EQUAL(m.nn_id_max, 1.0, 0);
    md_reference_free(train);
    /* macro-F1 and MCC of a confusion by hand: C = [[2,0],[1,1]]
     * class 0: P 2/3 R 1 F1 0.8; class 1: P 1 R 1/2 F1 2/3; macro 11/15
     * MCC: s 4, trace 3, t (2,2), p (3,1): (3*4 - (6+2)) / sqrt((16-10)(16-8)) = 4/sqrt(48) */
    long C[4] = {0};
    int req[] = {0, 0, 1, 1, 5}, prd[] = {0, 0, 0, 1, 0};
    md_confusion_add(C, 2, req, prd, 5);
    CU_ASSERT(C[0] == 2 && C[1] == 0 && C[2] == 1 && C[3] == 1);
    CU_ASSERT_DOUBLE_EQUAL(md_macro_f1(C, 2), 11.0 / 15, 1e-15);
    CU_ASSERT_DOUBLE_EQUAL(md_mcc(C, 2), 4 / sqrt(48), 1e-15);
    long Z[4] = {3, 0, 0, 0}; /* one class only: MCC denominator 0 -> 0 */
    CU_ASSERT_DOUBLE_EQUAL(md_mcc(Z, 2), 0, 0);
    CU_ASSERT_DOUBLE_EQUAL(md_macro_f1(Z, 2), 1, 0);
}

/* ---- agreement with RDKit Python (tests/reference/design_metrics.py) ---------------------------- */

static char **read_lines(const char *name, size_t *n)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/design/%s", STRAND_TEST_DATA, name);
    FILE *fp = fopen(path, "r");
    if (!fp) return NULL;
    char **v = NULL, line[8192];
    size_t cap = 0;
    *n = 0;
    while (fgets(line, sizeof line, fp)) {
        line[strcspn(line, "\r\n")] = 0;
        if (*n == cap) v = realloc(v, (cap = cap ? 2 * cap : 256) * sizeof *v);
        v[(*n)++] = strdup(line);
    }
    fclose(fp);
    return v;
}

static void free_lines(char **v, size_t n)
{
    for (size_t i = 0; i < n; i++) free(v[i]);
    free(v);
}

static double jnum(json_t *o, const char *k) { return json_number_value(json_object_get(o, k)); }

#define CLOSE(what, got, want, tol)                                                                   \
    do {                                                                                              \
        double g_ = (got), w_ = (want);                                                               \
        if (!(fabs(g_ - w_) <= (tol))) fprintf(stderr, "\n    %s: strand %.12g python %.12g", what, g_, w_); \
        CU_ASSERT(fabs(g_ - w_) <= (tol));                                                            \
    } while (0)

static void test_smiles_vs_rdkit_python(void)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/design/fixture.json", STRAND_TEST_DATA);
    json_error_t je;
    json_t *root = json_load_file(path, 0, &je);
    CU_ASSERT_PTR_NOT_NULL_FATAL(root);
    json_t *fx = json_object_get(root, "smiles");
    size_t nt = 0, ns = 0;
    char **train = read_lines("train.smi", &nt), **smp = read_lines("samples.smi", &ns);
    CU_ASSERT_FATAL(train && smp && nt == 600 && ns == 240);
    ms_params p;
    ms_default_params(&p);
    ms_reference *ref = NULL;
    CU_ASSERT_EQUAL_FATAL(ms_reference_build((const char *const *)train, nt, 0, &p, &ref), 0);
    CU_ASSERT_EQUAL(ms_reference_size(ref), (size_t)json_integer_value(json_object_get(fx, "train_canonical")));
    ms_sample *rows = calloc(ns, sizeof *rows);
    ms_set_metrics m;
    CU_ASSERT_EQUAL_FATAL(ms_evaluate((const char *const *)smp, ns, ref, &p, rows, &m), 0);
    /* exact: counts, per-sample validity, canonical strings and novelty */
    CU_ASSERT_EQUAL(m.n_valid, (size_t)json_integer_value(json_object_get(fx, "valid")));
    CU_ASSERT_EQUAL(m.n_unique, (size_t)json_integer_value(json_object_get(fx, "unique")));
    CU_ASSERT_EQUAL(m.n_novel, (size_t)json_integer_value(json_object_get(fx, "novel")));
    CU_ASSERT_EQUAL(m.validity, jnum(fx, "validity"));
    CU_ASSERT_EQUAL(m.uniqueness, jnum(fx, "uniqueness"));
    CU_ASSERT_EQUAL(m.novelty, jnum(fx, "novelty"));
    json_t *jr = json_object_get(fx, "rows");
    CU_ASSERT_EQUAL_FATAL(json_array_size(jr), ns);
    static const char *const pk[MS_NPROP] = {"qed", "rings", "logp", "mw", "tpsa", "heavy_atoms"};
    double maxd[MS_NPROP] = {0};
    int mism = 0;
    for (size_t i = 0; i < ns; i++) {
        json_t *r = json_array_get(jr, i);
        int v = (int)json_integer_value(json_object_get(r, "valid"));
        if (rows[i].valid != v || rows[i].novel != (int)json_integer_value(json_object_get(r, "novel"))) mism++;
        if (!v || !rows[i].valid) continue;
        if (strcmp(rows[i].canonical, json_string_value(json_object_get(r, "canonical")))) mism++;
        for (int j = 0; j < MS_NPROP; j++) maxd[j] = fmax(maxd[j], fabs(rows[i].v[j] - jnum(r, pk[j])));
    }
    fprintf(stderr, "\n    per-sample mismatches %d; max |diff| qed %.2g rings %.2g logp %.2g mw %.2g tpsa %.2g heavy %.2g",
            mism, maxd[0], maxd[1], maxd[2], maxd[3], maxd[4], maxd[5]);
    CU_ASSERT_EQUAL(mism, 0);
    CU_ASSERT(maxd[MS_QED] <= 1e-3);
    CU_ASSERT(maxd[MS_RINGS] == 0 && maxd[MS_HEAVY] == 0);
    CU_ASSERT(maxd[MS_LOGP] <= 1e-9 && maxd[MS_MW] <= 1e-9 && maxd[MS_TPSA] <= 1e-9);
    /* property statistics over valid and novel */
    for (int j = 0; j < MS_NPROP; j++) {
        json_t *sv = json_object_get(json_object_get(fx, "properties_valid"), pk[j]);
        json_t *sn = json_object_get(json_object_get(fx, "properties_novel"), pk[j]);
        CU_ASSERT_EQUAL(m.valid_stats[j].n, (size_t)json_integer_value(json_object_get(sv, "n")));
        CU_ASSERT_EQUAL(m.novel_stats[j].n, (size_t)json_integer_value(json_object_get(sn, "n")));
        double tol = j == MS_QED ? 1e-3 : 1e-9;
        CLOSE(pk[j], m.valid_stats[j].mean, jnum(sv, "mean"), tol);
        CLOSE(pk[j], m.valid_stats[j].sd, jnum(sv, "sd"), tol);
        CLOSE(pk[j], m.novel_stats[j].mean, jnum(sn, "mean"), tol);
        for (int q = 0; q < MS_NQ; q++) {
            CLOSE(pk[j], m.valid_stats[j].q[q], json_number_value(json_array_get(json_object_get(sv, "quantiles"), q)), tol);
            CLOSE(pk[j], m.novel_stats[j].q[q], json_number_value(json_array_get(json_object_get(sn, "quantiles"), q)), tol);
        }
        json_t *st = json_object_get(json_object_get(fx, "train_properties"), pk[j]);
        CLOSE(pk[j], ms_reference_stats(ref, (ms_prop)j)->mean, jnum(st, "mean"), tol);
    }
    /* diversity and the GuacaMol KL score (Python's own definition) */
    CLOSE("internal diversity", m.intdiv, jnum(fx, "internal_diversity"), 1e-12);
    json_t *kl = json_object_get(fx, "guacamol_kl");
    double kld = 0;
    for (int k = 0; k < MS_KL_N; k++) {
        CLOSE(ms_kl_name(k), m.kl[k], jnum(kl, ms_kl_name(k)), 1e-6);
        kld = fmax(kld, fabs(m.kl[k] - jnum(kl, ms_kl_name(k))));
    }
    fprintf(stderr, "\n    max |diff| over the ten KL terms %.2g (tol 1e-6)", kld);
    CLOSE("GuacaMol KL score", m.kl_score, jnum(fx, "guacamol_kl_score"), 1e-6);
    fprintf(stderr, "\n    intdiv %.9f (python %.9f)  KL score %.9f (python %.9f)\n", m.intdiv,
            jnum(fx, "internal_diversity"), m.kl_score, jnum(fx, "guacamol_kl_score"));
    ms_samples_clear(rows, ns);
    free(rows);
    ms_reference_free(ref);
    free_lines(train, nt);
    free_lines(smp, ns);
    json_decref(root);
}

static void test_dna_vs_numpy(void)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/design/fixture.json", STRAND_TEST_DATA);
    json_error_t je;
    json_t *root = json_load_file(path, 0, &je);
    CU_ASSERT_PTR_NOT_NULL_FATAL(root);
    json_t *fx = json_object_get(root, "dna");
    size_t nl = 0;
    char **lines = read_lines("dna.tsv", &nl);
    CU_ASSERT_PTR_NOT_NULL_FATAL(lines);
    const char *set[3][128];
    size_t cnt[3] = {0};
    for (size_t i = 0; i < nl; i++) {
        char *tab = strchr(lines[i], '\t');
        if (!tab) continue;
        *tab = 0;
        int k = !strcmp(lines[i], "gen") ? 0 : !strcmp(lines[i], "real") ? 1 : 2;
        if (cnt[k] < 128) set[k][cnt[k]++] = tab + 1;
    }
    md_reference *real = NULL, *train = NULL;
    CU_ASSERT_EQUAL_FATAL(md_reference_build(set[1], cnt[1], &real), 0);
    CU_ASSERT_EQUAL_FATAL(md_reference_build(set[2], cnt[2], &train), 0);
    md_sample rows[128];
    md_set_metrics m;
    CU_ASSERT_EQUAL_FATAL(md_evaluate(set[0], cnt[0], real, train, NULL, NULL, -1, NULL, rows, &m), 0);
    CLOSE("js3", m.js3, jnum(fx, "js3"), 1e-12);
    CLOSE("js6", m.js6, jnum(fx, "js6"), 1e-12);
    CLOSE("gc mean", m.gc_mean, jnum(fx, "gc_mean"), 1e-12);
    CLOSE("gc sd", m.gc_sd, jnum(fx, "gc_sd"), 1e-12);
    CLOSE("real gc mean", m.real_gc_mean, jnum(fx, "real_gc_mean"), 1e-12);
    CLOSE("real gc sd", m.real_gc_sd, jnum(fx, "real_gc_sd"), 1e-12);
    CLOSE("nn q95", m.nn_id_q95, jnum(fx, "nn_identity_q95"), 1e-12);
    CU_ASSERT_EQUAL(m.exact_duplicates, (size_t)json_integer_value(json_object_get(fx, "exact_duplicates")));
    CU_ASSERT_EQUAL(m.memorised, (size_t)json_integer_value(json_object_get(fx, "memorised")));
    for (size_t i = 0; i < cnt[0]; i++) {
        CLOSE("gc", rows[i].gc, json_number_value(json_array_get(json_object_get(fx, "gc"), i)), 1e-12);
        CLOSE("nn id", rows[i].nn_id, json_number_value(json_array_get(json_object_get(fx, "nn_identity"), i)), 1e-12);
        CU_ASSERT_EQUAL(rows[i].homopolymer, json_integer_value(json_array_get(json_object_get(fx, "homopolymer"), i)));
    }
    long C[16];
    json_t *jc = json_object_get(fx, "confusion");
    for (int y = 0; y < 4; y++)
        for (int c = 0; c < 4; c++) C[y * 4 + c] = (long)json_integer_value(json_array_get(json_array_get(jc, y), c));
    CLOSE("macro-F1", md_macro_f1(C, 4), jnum(fx, "macro_f1"), 1e-12);
    CLOSE("MCC", md_mcc(C, 4), jnum(fx, "mcc"), 1e-12);
    md_reference_free(real);
    md_reference_free(train);
    free_lines(lines, nl);
    json_decref(root);
}

void register_suites(void)
{
    CU_pSuite s = CU_add_suite("design_metrics", NULL, NULL);
    ADD_TEST(s, test_chem_fingerprints_bertz);
    ADD_TEST(s, test_chem_depict);
    ADD_TEST(s, test_stats_quantiles);
    ADD_TEST(s, test_smiles_set_by_hand);
    ADD_TEST(s, test_kl_building_blocks);
    ADD_TEST(s, test_dna_by_hand);
    ADD_TEST(s, test_smiles_vs_rdkit_python);
    ADD_TEST(s, test_dna_vs_numpy);
}
