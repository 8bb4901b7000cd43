/* The RDKit shim, QED and `strand data smiles` against RDKit Python (docs/chem.md).
 * Reference: tests/data/chem/nci_props.tsv, written by tests/reference/qed_reference.py with
 * Debian's python3-rdkit (every 10th NCI molecule of rdkit-data plus edge cases). */
#include <omp.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/error.h"
#include "chem/chem.h"
#include "chem/qed.h"
#include "chem/smiles_props.h"
#include "strand.h"
#include "test_util.h"

/* ---- the reference fixture -------------------------------------------------------------- */

enum { NCOL = 22 };
static const char *const fixture_cols[NCOL] = {
    "source", "index", "smiles", "valid", "canonical", "qed", "rings", "logp", "mw", "tpsa", "hbd",
    "hba", "rotb", "arom", "qed_mw", "qed_alogp", "qed_hba", "qed_hbd", "qed_psa", "qed_rotb", "qed_arom",
    "qed_alerts"};
enum { C_SMILES = 2, C_VALID, C_CANON, C_QED, C_RINGS, C_LOGP, C_MW, C_TPSA, C_HBD, C_HBA, C_ROTB, C_AROM, C_QP0 };

typedef struct ref_row {
    char *f[NCOL];
} ref_row;

static ref_row *rows;
static size_t nrows;

/* Split on tabs only (empty fields kept); the fixture never quotes. */
static int split_tabs(char *s, char **f, int max)
{
    int n = 0;
    for (;;) {
        if (n == max) return n + 1;
        f[n++] = s;
        char *t = strchr(s, '\t');
        if (!t) break;
        *t = '\0';
        s = t + 1;
    }
    return n;
}

static int load_fixture(void)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/chem/nci_props.tsv", STRAND_TEST_DATA);
    FILE *fp = fopen(path, "r");
    if (!fp) {
        fprintf(stderr, "cannot open %s\n", path);
        return -1;
    }
    char line[8192];
    size_t cap = 0, ln = 0;
    int header_ok = 0;
    while (fgets(line, sizeof line, fp)) {
        ln++;
        line[strcspn(line, "\r\n")] = '\0';
        if (line[0] == '#') continue;
        char *f[NCOL + 1];
        int n = split_tabs(line, f, NCOL);
        if (n != NCOL) {
            fprintf(stderr, "%s: line %zu: %d fields, expected %d\n", path, ln, n, NCOL);
            fclose(fp);
            return -1;
        }
        if (!header_ok) {
            for (int i = 0; i < NCOL; i++)
                if (strcmp(f[i], fixture_cols[i])) {
                    fprintf(stderr, "%s: header column %d is \"%s\", expected \"%s\"\n", path, i + 1, f[i], fixture_cols[i]);
                    fclose(fp);
                    return -1;
                }
            header_ok = 1;
            continue;
        }
        if (nrows == cap) {
            cap = cap ? 2 * cap : 256;
            rows = realloc(rows, cap * sizeof *rows);
        }
        for (int i = 0; i < NCOL; i++) rows[nrows].f[i] = strdup(f[i]);
        nrows++;
    }
    fclose(fp);
    return nrows > 0 ? 0 : -1;
}

static int suite_init(void)
{
    chem_init();
    return load_fixture();
}

static int suite_clean(void)
{
    for (size_t r = 0; r < nrows; r++)
        for (int i = 0; i < NCOL; i++) free(rows[r].f[i]);
    free(rows);
    rows = NULL;
    nrows = 0;
    return 0;
}

/* Max abs/rel diff tracker with the first mismatch. */
typedef struct diffstat {
    const char *what;
    double tol;
    int relative;
    double max;
    size_t n, nbad;
    char first[512];
} diffstat;

static void diff_add(diffstat *d, double got, double want, const char *smiles)
{
    double diff = fabs(got - want);
    if (d->relative) diff /= fmax(fabs(want), 1e-12);
    if (diff > d->max || diff != diff) d->max = diff != diff ? INFINITY : diff;
    d->n++;
    if (!(diff <= d->tol)) {
        if (!d->nbad)
            snprintf(d->first, sizeof d->first, "got %.17g want %.17g for %.300s", got, want, smiles);
        d->nbad++;
    }
}

static void diff_report(const diffstat *d)
{
    fprintf(stderr, "    %-12s max %s diff = %.3g over %zu molecules (tol %.1g)%s%s\n", d->what,
            d->relative ? "rel" : "abs", d->max, d->n, d->tol, d->nbad ? "  FIRST MISMATCH: " : "",
            d->nbad ? d->first : "");
    CU_ASSERT_EQUAL(d->nbad, 0);
}

static void test_fixture_descriptors(void)
{
    /* QED within 1e-3 (docs/chem.md "QED"); real-valued descriptors 1e-6 relative; counts and strings exact. */
    diffstat dq = {.what = "qed", .tol = 1e-3}, dlogp = {.what = "logp", .tol = 1e-6, .relative = 1},
             dmw = {.what = "mw", .tol = 1e-6, .relative = 1}, dtpsa = {.what = "tpsa", .tol = 1e-6, .relative = 1};
    diffstat dcount[5] = {{.what = "rings"}, {.what = "hbd"}, {.what = "hba"}, {.what = "rotb"}, {.what = "arom"}};
    size_t nvalid = 0, ncanon_bad = 0;
    for (size_t r = 0; r < nrows; r++) {
        char **f = rows[r].f;
        if (strcmp(f[C_VALID], "1")) continue;
        nvalid++;
        chem_mol *m = NULL;
        int rc = chem_mol_from_smiles(f[C_SMILES], &m);
        CU_ASSERT_EQUAL(rc, 0);
        if (rc) {
            fprintf(stderr, "    RDKit Python parsed %s but the shim failed: %s\n", f[C_SMILES], strand_last_error());
            continue;
        }
        char canon[4096];
        CU_ASSERT(chem_canonical_smiles(m, canon, sizeof canon) > 0);
        if (strcmp(canon, f[C_CANON])) {
            if (!ncanon_bad) fprintf(stderr, "    canonical SMILES mismatch: got %s want %s\n", canon, f[C_CANON]);
            ncanon_bad++;
        }
        double q = -1, logp = 0, mw = 0, tpsa = 0;
        CU_ASSERT_EQUAL(qed_compute(m, &q), 0);
        CU_ASSERT_EQUAL(chem_logp(m, &logp), 0);
        CU_ASSERT_EQUAL(chem_mw(m, &mw), 0);
        CU_ASSERT_EQUAL(chem_tpsa(m, &tpsa), 0);
        diff_add(&dq, q, atof(f[C_QED]), f[C_SMILES]);
        diff_add(&dlogp, logp, atof(f[C_LOGP]), f[C_SMILES]);
        diff_add(&dmw, mw, atof(f[C_MW]), f[C_SMILES]);
        diff_add(&dtpsa, tpsa, atof(f[C_TPSA]), f[C_SMILES]);
        int counts[5] = {chem_ring_count(m), chem_hbd(m), chem_hba(m), chem_rotatable_bonds(m, CHEM_ROTB_DEFAULT),
                         chem_aromatic_rings(m)};
        int cols[5] = {C_RINGS, C_HBD, C_HBA, C_ROTB, C_AROM};
        for (int k = 0; k < 5; k++) diff_add(&dcount[k], counts[k], atof(f[cols[k]]), f[C_SMILES]);
        chem_mol_free(m);
    }
    fprintf(stderr, "\n    %zu valid reference molecules, %zu canonical SMILES mismatches\n", nvalid, ncanon_bad);
    CU_ASSERT(nvalid >= 500);
    CU_ASSERT_EQUAL(ncanon_bad, 0);
    diff_report(&dq);
    diff_report(&dlogp);
    diff_report(&dmw);
    diff_report(&dtpsa);
    for (int k = 0; k < 5; k++) diff_report(&dcount[k]);
}

static void test_fixture_qed_properties(void)
{
    /* The eight QED inputs one by one (QED.properties), so a QED mismatch names its cause:
     * counts exact, real-valued ones 1e-6 relative. */
    static const char *names[QED_NPROP] = {"MW", "ALOGP", "HBA", "HBD", "PSA", "ROTB", "AROM", "ALERTS"};
    diffstat d[QED_NPROP];
    for (int k = 0; k < QED_NPROP; k++) d[k] = (diffstat){.what = names[k], .tol = (k == 0 || k == 1 || k == 4) ? 1e-6 : 0, .relative = 1};
    for (size_t r = 0; r < nrows; r++) {
        char **f = rows[r].f;
        if (strcmp(f[C_VALID], "1")) continue;
        chem_mol *m = NULL;
        if (chem_mol_from_smiles(f[C_SMILES], &m)) continue; /* reported by the test above */
        qed_properties p;
        CU_ASSERT_EQUAL_FATAL(qed_compute_properties(m, &p), 0);
        double got[QED_NPROP] = {p.mw, p.alogp, p.hba, p.hbd, p.psa, p.rotb, p.arom, p.alerts};
        for (int k = 0; k < QED_NPROP; k++) diff_add(&d[k], got[k], atof(f[C_QP0 + k]), f[C_SMILES]);
        /* the same eight numbers through the published ADS tables reproduce QED.qed */
        double q = qed_from_properties(&p, NULL);
        CU_ASSERT(fabs(q - atof(f[C_QED])) <= 1e-3);
        chem_mol_free(m);
    }
    fprintf(stderr, "\n");
    for (int k = 0; k < QED_NPROP; k++) diff_report(&d[k]);
}

static void test_fixture_invalid_rows(void)
{
    /* Every SMILES RDKit Python rejects gives STRAND_E_CHEM with a message naming it. */
    size_t ninvalid = 0;
    for (size_t r = 0; r < nrows; r++) {
        char **f = rows[r].f;
        if (strcmp(f[C_VALID], "0")) continue;
        ninvalid++;
        chem_mol *m = (chem_mol *)&m; /* must be reset to NULL */
        strand_clear_error();
        int rc = chem_mol_from_smiles(f[C_SMILES], &m);
        CU_ASSERT_EQUAL(rc, STRAND_E_CHEM);
        CU_ASSERT_PTR_NULL(m);
        CU_ASSERT_EQUAL(strand_last_error_code(), STRAND_E_CHEM);
        CU_ASSERT_PTR_NOT_NULL(strstr(strand_last_error(), f[C_SMILES]));
        fprintf(stderr, "\n    %s -> %s", f[C_SMILES], strand_last_error());
        CU_ASSERT_EQUAL(chem_smiles_valid(f[C_SMILES]), 0);
        double q = 7;
        CU_ASSERT_EQUAL(qed_from_smiles(f[C_SMILES], &q), STRAND_E_CHEM);
        CU_ASSERT_EQUAL(q, 7);
    }
    fprintf(stderr, "\n");
    CU_ASSERT(ninvalid >= 3);
}

static void test_invalid_inputs(void)
{
    static const char *bad[] = {"C1CC(", "c1cccc1", "C(C)(C)(C)(C)C", "N(=O)(=O)(=O)=O", "[Xx]", "C%", "))", "C1CC2"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        chem_mol *m = NULL;
        CU_ASSERT_EQUAL(chem_mol_from_smiles(bad[i], &m), STRAND_E_CHEM);
        CU_ASSERT_PTR_NULL(m);
        CU_ASSERT_PTR_NOT_NULL(strstr(strand_last_error(), bad[i]));
        CU_ASSERT_EQUAL(chem_smiles_valid(bad[i]), 0);
    }
    chem_mol *m = NULL;
    CU_ASSERT_EQUAL(chem_mol_from_smiles("", &m), STRAND_E_CHEM);
    CU_ASSERT_EQUAL(chem_mol_from_smiles(NULL, &m), STRAND_E_ARG);
    CU_ASSERT_EQUAL(chem_mol_from_smiles("CCO", NULL), STRAND_E_ARG);
    CU_ASSERT_EQUAL(chem_smiles_valid(NULL), 0);
    CU_ASSERT_EQUAL(chem_smiles_valid("CCO"), 1);
    /* a very long invalid SMILES: the message is truncated, not overflowed */
    size_t n = 5000;
    char *big = malloc(n + 2);
    memset(big, 'C', n);
    big[n] = '(';
    big[n + 1] = '\0';
    CU_ASSERT_EQUAL(chem_mol_from_smiles(big, &m), STRAND_E_CHEM);
    CU_ASSERT(strlen(strand_last_error()) < ST_ERRMSG_MAX);
    CU_ASSERT_PTR_NOT_NULL(strstr(strand_last_error(), "CCCCCCCCCC"));
    free(big);
    /* NULL handles */
    double v;
    CU_ASSERT_EQUAL(chem_logp(NULL, &v), STRAND_E_ARG);
    CU_ASSERT_EQUAL(chem_ring_count(NULL), STRAND_E_ARG);
    CU_ASSERT_EQUAL(qed_compute(NULL, &v), STRAND_E_ARG);
    chem_mol_free(NULL);
    chem_pattern_free(NULL);
    /* canonical SMILES into a too-small buffer */
    CU_ASSERT_EQUAL_FATAL(chem_mol_from_smiles("CC(=O)Oc1ccccc1C(=O)O", &m), 0);
    char small[4];
    CU_ASSERT_EQUAL(chem_canonical_smiles(m, small, sizeof small), STRAND_E_RANGE);
    CU_ASSERT_STRING_EQUAL(small, "");
    CU_ASSERT_EQUAL(chem_rotatable_bonds(m, 7), STRAND_E_ARG);
    chem_mol_free(m);
}

static void test_smarts(void)
{
    chem_pattern *p = NULL;
    CU_ASSERT_EQUAL(chem_pattern_compile("[C;", &p), STRAND_E_CHEM);
    CU_ASSERT_PTR_NULL(p);
    CU_ASSERT_PTR_NOT_NULL(strstr(strand_last_error(), "[C;"));
    CU_ASSERT_EQUAL(chem_pattern_compile("", &p), STRAND_E_CHEM);
    const chem_pattern *c1 = NULL, *c2 = NULL;
    CU_ASSERT_EQUAL(chem_pattern_cached("[#6]", &c1), 0);
    CU_ASSERT_EQUAL(chem_pattern_cached("[#6]", &c2), 0);
    CU_ASSERT_PTR_EQUAL(c1, c2); /* compiled once */
    CU_ASSERT_EQUAL(chem_pattern_cached("[#6", &c2), STRAND_E_CHEM);

    /* Metamorphic over the fixture: "*" matches every heavy atom once; HasSubstructMatch agrees
     * with the match count; carbon + non-carbon matches add up to all atoms; an uncached pattern
     * counts as its cached twin. */
    chem_pattern *any = NULL, *carbon = NULL;
    CU_ASSERT_EQUAL_FATAL(chem_pattern_compile("*", &any), 0);
    CU_ASSERT_EQUAL_FATAL(chem_pattern_compile("[#6]", &carbon), 0);
    size_t checked = 0, bad = 0;
    for (size_t r = 0; r < nrows; r++) {
        if (strcmp(rows[r].f[C_VALID], "1")) continue;
        chem_mol *m = NULL;
        if (chem_mol_from_smiles(rows[r].f[C_SMILES], &m)) continue;
        int na = chem_num_atoms(m);
        int nany = chem_count_matches(m, any);
        int nc = chem_count_matches(m, carbon), nc2 = chem_count_smarts(m, "[#6]");
        int nnot = chem_count_smarts(m, "[!#6]");
        int has = chem_has_match(m, carbon);
        if (na > 1000) continue; /* GetSubstructMatches stops at 1000 */
        checked++;
        if (nany != na || nc != nc2 || nc + nnot != na || has != (nc > 0)) {
            if (!bad) fprintf(stderr, "    SMARTS mismatch for %s: atoms %d any %d C %d/%d !C %d has %d\n",
                              rows[r].f[C_SMILES], na, nany, nc, nc2, nnot, has);
            bad++;
        }
        chem_mol_free(m);
    }
    CU_ASSERT(checked > 500);
    CU_ASSERT_EQUAL(bad, 0);
    chem_pattern_free(any);
    chem_pattern_free(carbon);
}

static void test_canonical_roundtrip(void)
{
    /* Canonical SMILES is a fixed point, and QED, logP and the ring count are invariant under rewriting the
     * input as its canonical form (same molecule, different atom order). */
    size_t n = 0, bad = 0;
    for (size_t r = 0; r < nrows; r += 2) {
        if (strcmp(rows[r].f[C_VALID], "1")) continue;
        chem_mol *a = NULL, *b = NULL;
        if (chem_mol_from_smiles(rows[r].f[C_SMILES], &a)) continue;
        char ca[4096], cb[4096];
        chem_canonical_smiles(a, ca, sizeof ca);
        CU_ASSERT_EQUAL_FATAL(chem_mol_from_smiles(ca, &b), 0);
        chem_canonical_smiles(b, cb, sizeof cb);
        double qa, qb, la, lb;
        qed_compute(a, &qa);
        qed_compute(b, &qb);
        chem_logp(a, &la);
        chem_logp(b, &lb);
        n++;
        if (strcmp(ca, cb) || fabs(qa - qb) > 1e-12 || fabs(la - lb) > 1e-9 || chem_ring_count(a) != chem_ring_count(b)) {
            if (!bad) fprintf(stderr, "    round trip differs: %s -> %s -> %s (qed %.17g vs %.17g)\n", rows[r].f[C_SMILES], ca, cb, qa, qb);
            bad++;
        }
        chem_mol_free(a);
        chem_mol_free(b);
    }
    CU_ASSERT(n > 250);
    CU_ASSERT_EQUAL(bad, 0);
}

static void test_ring_count_leaves_molecule_unchanged(void)
{
    /* findSSSR rewrites ring information; the shim runs it on a copy, so the order of calls
     * does not matter: descriptors after chem_ring_count equal those before. */
    size_t bad = 0, n = 0;
    for (size_t r = 0; r < nrows; r += 2) {
        if (strcmp(rows[r].f[C_VALID], "1")) continue;
        chem_mol *m = NULL;
        if (chem_mol_from_smiles(rows[r].f[C_SMILES], &m)) continue;
        double q0, q1;
        int ar0 = chem_aromatic_rings(m), rb0 = chem_rotatable_bonds(m, CHEM_ROTB_STRICT);
        qed_compute(m, &q0);
        int rings = chem_ring_count(m);
        qed_compute(m, &q1);
        int ar1 = chem_aromatic_rings(m), rb1 = chem_rotatable_bonds(m, CHEM_ROTB_STRICT);
        n++;
        if (rings < 0 || q0 != q1 || ar0 != ar1 || rb0 != rb1) bad++;
        chem_mol_free(m);
    }
    CU_ASSERT(n > 250);
    CU_ASSERT_EQUAL(bad, 0);
}

static void test_qed_desirability(void)
{
    /* QED of unit weights is the geometric mean of the eight desirabilities; each desirability
     * is in (0, 1] at the fixture's properties; zero weights drop a property. */
    qed_properties p = {300, 2.5, 4, 1, 60, 4, 1, 0};
    double d[QED_NPROP], x[QED_NPROP] = {p.mw, p.alogp, p.hba, p.hbd, p.psa, p.rotb, p.arom, p.alerts};
    double lsum = 0;
    for (int k = 0; k < QED_NPROP; k++) {
        d[k] = qed_ads(k, x[k]);
        CU_ASSERT(d[k] > 0 && d[k] <= 1.0 + 1e-9);
        lsum += log(d[k]);
    }
    CU_ASSERT(fabs(qed_from_properties(&p, qed_weight_none) - exp(lsum / QED_NPROP)) < 1e-14);
    /* WEIGHT_MAX gives HBA and PSA weight zero: changing them leaves QED unchanged */
    qed_properties p2 = p;
    p2.hba = 11;
    p2.psa = 170;
    CU_ASSERT_EQUAL(qed_from_properties(&p, qed_weight_max), qed_from_properties(&p2, qed_weight_max));
    CU_ASSERT(qed_from_properties(&p, NULL) != qed_from_properties(&p2, NULL));
    /* more structural alerts never raise QED */
    double prev = 2;
    for (int a = 0; a < 6; a++) {
        p.alerts = a;
        double q = qed_from_properties(&p, NULL);
        CU_ASSERT(q <= prev);
        prev = q;
    }
}

static void test_threads_match_serial(void)
{
    /* Every property and the canonical SMILES computed in an OpenMP loop (2 threads sharing the
     * cached SMARTS) equal the serial results bit for bit; errors carry the same message. */
    size_t n = (nrows + 1) / 2; /* every other molecule, invalid ones included */
    smiles_props_row *serial = calloc(n, sizeof *serial), *par = calloc(n, sizeof *par);
    smiles_prop props[SP_COUNT];
    int np;
    CU_ASSERT_EQUAL_FATAL(smiles_props_parse("all", props, &np), 0);
    CU_ASSERT_EQUAL_FATAL(qed_init(), 0);
    for (size_t i = 0; i < n; i++) smiles_props_compute(rows[2 * i].f[C_SMILES], props, np, &serial[i]);
#pragma omp parallel for schedule(dynamic, 1) num_threads(2)
    for (size_t i = 0; i < n; i++) smiles_props_compute(rows[2 * i].f[C_SMILES], props, np, &par[i]);
    size_t bad = 0, ninvalid = 0;
    for (size_t i = 0; i < n; i++) {
        int same = serial[i].ok == par[i].ok && !memcmp(serial[i].v, par[i].v, sizeof serial[i].v) &&
                   !strcmp(serial[i].err, par[i].err) &&
                   (!serial[i].ok || !strcmp(serial[i].canonical, par[i].canonical));
        bad += !same;
        ninvalid += !serial[i].ok;
        smiles_props_row_clear(&serial[i]);
        smiles_props_row_clear(&par[i]);
    }
    CU_ASSERT_EQUAL(bad, 0);
    CU_ASSERT(ninvalid >= 1);
    free(serial);
    free(par);
}

static void test_props_rows(void)
{
    smiles_prop props[SP_COUNT];
    int n;
    CU_ASSERT_EQUAL(smiles_props_parse("qed,logp,qed,hba", props, &n), 0);
    CU_ASSERT_EQUAL(n, 3);
    CU_ASSERT_EQUAL(props[0], SP_QED);
    CU_ASSERT_EQUAL(props[1], SP_LOGP);
    CU_ASSERT_EQUAL(props[2], SP_HBA);
    CU_ASSERT_EQUAL(smiles_props_parse("none", props, &n), 0);
    CU_ASSERT_EQUAL(n, 0);
    CU_ASSERT_EQUAL(smiles_props_parse("qed,logP", props, &n), STRAND_E_ARG);
    CU_ASSERT_PTR_NOT_NULL(strstr(strand_last_error(), "logP"));
    CU_ASSERT_EQUAL(smiles_props_parse("all", props, &n), 0);
    CU_ASSERT_EQUAL(n, SP_COUNT);

    /* a row equals the individual shim calls, for every fixture molecule */
    size_t bad = 0;
    for (size_t r = 0; r < nrows; r += 2) {
        smiles_props_row row;
        int rc = smiles_props_compute(rows[r].f[C_SMILES], props, n, &row);
        if (strcmp(rows[r].f[C_VALID], "1")) {
            CU_ASSERT_EQUAL(rc, STRAND_E_CHEM);
            CU_ASSERT_EQUAL(row.ok, 0);
            CU_ASSERT_PTR_NULL(row.canonical);
            CU_ASSERT_PTR_NOT_NULL(strstr(row.err, rows[r].f[C_SMILES]));
            continue;
        }
        CU_ASSERT_EQUAL_FATAL(rc, 0);
        double q, lp, mw, tp;
        chem_mol *m = NULL;
        chem_mol_from_smiles(rows[r].f[C_SMILES], &m);
        qed_compute(m, &q);
        chem_logp(m, &lp);
        chem_mw(m, &mw);
        chem_tpsa(m, &tp);
        if (row.v[SP_QED] != q || row.v[SP_LOGP] != lp || row.v[SP_MW] != mw || row.v[SP_TPSA] != tp ||
            row.v[SP_RINGS] != chem_ring_count(m) || row.v[SP_HBD] != chem_hbd(m) || row.v[SP_HBA] != chem_hba(m) ||
            strcmp(row.canonical, rows[r].f[C_CANON]))
            bad++;
        chem_mol_free(m);
        smiles_props_row_clear(&row);
    }
    CU_ASSERT_EQUAL(bad, 0);
    char buf[64];
    smiles_props_format(buf, sizeof buf, SP_RINGS, 3);
    CU_ASSERT_STRING_EQUAL(buf, "3");
    smiles_props_format(buf, sizeof buf, SP_QED, 0.5);
    CU_ASSERT_STRING_EQUAL(buf, "0.5");
}

/* ---- the CLI -------------------------------------------------------------------------- */

static int write_text(const char *path, const char *text)
{
    FILE *fp = fopen(path, "w");
    if (!fp) return -1;
    fputs(text, fp);
    return fclose(fp);
}

static void test_cli_smiles(void)
{
    char out[16384], cmd[4096];
    /* usage with no arguments */
    snprintf(cmd, sizeof cmd, "%s data smiles 2>&1", STRAND_BIN);
    CU_ASSERT_EQUAL(tu_run(cmd, out, sizeof out), 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "Usage: strand data smiles"));
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "qed,rings,logp,mw,tpsa,hbd,hba"));

    /* a csv with a named column, an invalid row and a quoted field */
    const char *in = tu_tmp("chem_cli_in.csv");
    const char *res = tu_tmp("chem_cli_out.tsv");
    CU_ASSERT_EQUAL_FATAL(write_text(in, "id,name,SMILES\n1,aspirin,CC(=O)Oc1ccccc1C(=O)O\n2,\"bad, one\",C1CC(\n"
                                         "3,benzene,c1ccccc1\n"), 0);
    unlink(res);
    snprintf(cmd, sizeof cmd, "%s data smiles -i %s --column SMILES -o %s --props qed,rings,hba 2>&1", STRAND_BIN, in, res);
    CU_ASSERT_EQUAL(tu_run(cmd, out, sizeof out), 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "3 rows, 2 valid, 1 invalid"));
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "line 3"));
    char *text = (char *)tu_slurp(res, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(text);
    /* expected cells come from the shim, itself checked against RDKit Python above */
    chem_mol *m = NULL;
    double q;
    char canon[256], want[1024];
    CU_ASSERT_EQUAL_FATAL(chem_mol_from_smiles("CC(=O)Oc1ccccc1C(=O)O", &m), 0);
    qed_compute(m, &q);
    chem_canonical_smiles(m, canon, sizeof canon);
    snprintf(want, sizeof want, "smiles\tcanonical_smiles\tqed\trings\thba\terror\nCC(=O)Oc1ccccc1C(=O)O\t%s\t%.10g\t%d\t%d\t\n",
             canon, q, chem_ring_count(m), chem_hba(m));
    chem_mol_free(m);
    CU_ASSERT_EQUAL(strncmp(text, want, strlen(want)), 0);
    if (strncmp(text, want, strlen(want))) fprintf(stderr, "\n    got:\n%s\n    want prefix:\n%s\n", text, want);
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "\nC1CC(\t\t\t\t\tinvalid SMILES \"C1CC(\""));
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "\nc1ccccc1\tc1ccccc1\t"));
    free(text);

    /* threads: 1 and 2 give identical files on real molecules, read as .smi and as a .tsv
     * with the column chosen by index */
    const char *smi = tu_tmp("chem_cli_in.smi"), *tsv = tu_tmp("chem_cli_in.tsv");
    FILE *fs = fopen(smi, "w"), *ft = fopen(tsv, "w");
    CU_ASSERT_PTR_NOT_NULL_FATAL(fs);
    CU_ASSERT_PTR_NOT_NULL_FATAL(ft);
    fprintf(ft, "source\tindex\tsmiles\n");
    for (size_t r = 0; r < nrows; r++) {
        fprintf(fs, "%s %s_%s\n", rows[r].f[C_SMILES], rows[r].f[0], rows[r].f[1]);
        fprintf(ft, "%s\t%s\t%s\n", rows[r].f[0], rows[r].f[1], rows[r].f[C_SMILES]);
    }
    fclose(fs);
    fclose(ft);
    const char *o1 = tu_tmp("chem_cli_t1.tsv"), *o2 = tu_tmp("chem_cli_t2.tsv");
    snprintf(cmd, sizeof cmd, "%s data smiles -q -i %s -o %s --threads 1 -n 200 2>&1", STRAND_BIN, smi, o1);
    CU_ASSERT_EQUAL(tu_run(cmd, out, sizeof out), 0);
    snprintf(cmd, sizeof cmd, "%s data smiles -q -i %s --column 3 -o %s --threads 2 -n 200 2>&1", STRAND_BIN, tsv, o2);
    CU_ASSERT_EQUAL(tu_run(cmd, out, sizeof out), 0);
    char *a = (char *)tu_slurp(o1, NULL), *b = (char *)tu_slurp(o2, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(a);
    CU_ASSERT_PTR_NOT_NULL_FATAL(b);
    CU_ASSERT_STRING_EQUAL(a, b);
    size_t lines = 0;
    for (char *p = a; *p; p++) lines += *p == '\n';
    CU_ASSERT_EQUAL(lines, 201);
    free(a);
    free(b);

    /* failures: unknown column, unknown property, missing file, malformed table mid-way; the
     * output never appears under its final name */
    const char *never = tu_tmp("chem_cli_never.tsv");
    unlink(never);
    snprintf(cmd, sizeof cmd, "%s data smiles -i %s --column nope -o %s 2>&1", STRAND_BIN, in, never);
    CU_ASSERT_NOT_EQUAL(tu_run(cmd, out, sizeof out), 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "strand data smiles: "));
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "nope"));
    snprintf(cmd, sizeof cmd, "%s data smiles -i %s --props qed,bogus -o %s 2>&1", STRAND_BIN, in, never);
    CU_ASSERT_NOT_EQUAL(tu_run(cmd, out, sizeof out), 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "bogus"));
    snprintf(cmd, sizeof cmd, "%s data smiles -i %s/does_not_exist.smi -o %s 2>&1", STRAND_BIN, STRAND_TEST_TMP, never);
    CU_ASSERT_NOT_EQUAL(tu_run(cmd, out, sizeof out), 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "does_not_exist.smi"));
    const char *broken = tu_tmp("chem_cli_broken.csv");
    write_text(broken, "smiles,x\nCCO,1\nCCN,2\n\"CCC,3\n");
    snprintf(cmd, sizeof cmd, "%s data smiles -i %s -o %s 2>&1", STRAND_BIN, broken, never);
    CU_ASSERT_NOT_EQUAL(tu_run(cmd, out, sizeof out), 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "line 4"));
    struct stat st;
    CU_ASSERT_NOT_EQUAL(stat(never, &st), 0);
}

void register_suites(void)
{
    CU_pSuite s = CU_add_suite("chem_rdkit_reference", suite_init, suite_clean);
    ADD_TEST(s, test_fixture_descriptors);
    ADD_TEST(s, test_fixture_qed_properties);
    ADD_TEST(s, test_fixture_invalid_rows);
    ADD_TEST(s, test_invalid_inputs);
    ADD_TEST(s, test_smarts);
    ADD_TEST(s, test_canonical_roundtrip);
    ADD_TEST(s, test_ring_count_leaves_molecule_unchanged);
    ADD_TEST(s, test_qed_desirability);
    ADD_TEST(s, test_threads_match_serial);
    ADD_TEST(s, test_props_rows);
    ADD_TEST(s, test_cli_smiles);
}
