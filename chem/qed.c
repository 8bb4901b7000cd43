/* QED (docs/chem.md "QED"): weighted geometric mean of eight asymmetric-double-sigmoid desirabilities.
 * The tables below are the published QED parameters (Bickerton et al. 2012, supplementary
 * data), identical to those in RDKit's rdkit/Chem/QED.py, which is the oracle for the tests
 * (tests/reference/qed_reference.py). */
#include "chem/qed.h"

#include <math.h>
#include <pthread.h>
#include <stddef.h>

#include "core/error.h"

/* Hydrogen-bond acceptor SMARTS (QED.py AcceptorSmarts). */
static const char *const acceptor_smarts[] = {
    "[oH0;X2]",
    "[OH1;X2;v2]",
    "[OH0;X2;v2]",
    "[OH0;X1;v2]",
    "[O-;X1]",
    "[SH0;X2;v2]",
    "[SH0;X1;v2]",
    "[S-;X1]",
    "[nH0;X2]",
    "[NH0;X1;v3]",
    "[$([N;+0;X3;v3]);!$(N[C,S]=O)]",
};

/* Structural alerts, unwanted functionality (QED.py StructuralAlertSmarts). */
static const char *const alert_smarts[] = {
    "*1[O,S,N]*1",
    "[S,C](=[O,S])[F,Br,Cl,I]",
    "[CX4][Cl,Br,I]",
    "[#6]S(=O)(=O)O[#6]",
    "[$([CH]),$(CC)]#CC(=O)[#6]",
    "[$([CH]),$(CC)]#CC(=O)O[#6]",
    "n[OH]",
    "[$([CH]),$(CC)]#CS(=O)(=O)[#6]",
    "C=C(C=O)C=O",
    "n1c([F,Cl,Br,I])cccc1",
    "[CH1](=O)",
    "[#8][#8]",
    "[C;!R]=[N;!R]",
    "[N!R]=[N!R]",
    "[#6](=O)[#6](=O)",
    "[#16][#16]",
    "[#7][NH2]",
    "C(=O)N[NH2]",
    "[#6]=S",
    "[$([CH2]),$([CH][CX4]),$(C([CX4])[CX4])]=[$([CH2]),$([CH][CX4]),$(C([CX4])[CX4])]",
    "C1(=[O,N])C=CC(=[O,N])C=C1",
    "C1(=[O,N])C(=[O,N])C=CC=C1",
    "a21aa3a(aa1aaaa2)aaaa3",
    "a31a(a2a(aa1)aaaa2)aaaa3",
    "a1aa2a3a(a1)A=AA=A3=AA=A2",
    "c1cc([NH2])ccc1",
    "[Hg,Fe,As,Sb,Zn,Se,se,Te,B,Si,Na,Ca,Ge,Ag,Mg,K,Ba,Sr,Be,Ti,Mo,Mn,Ru,Pd,Ni,Cu,Au,Cd,Al,Ga,Sn,Rh,Tl,Bi,Nb,Li,Pb,Hf,Ho]",
    "I",
    "OS(=O)(=O)[O-]",
    "[N+](=O)[O-]",
    "C(=O)N[OH]",
    "C1NC(=O)NC(=O)1",
    "[SH]",
    "[S-]",
    "c1ccc([Cl,Br,I,F])c([Cl,Br,I,F])c1[Cl,Br,I,F]",
    "c1cc([Cl,Br,I,F])cc([Cl,Br,I,F])c1[Cl,Br,I,F]",
    "[CR1]1[CR1][CR1][CR1][CR1][CR1][CR1]1",
    "[CR1]1[CR1][CR1]cc[CR1][CR1]1",
    "[CR2]1[CR2][CR2][CR2][CR2][CR2][CR2][CR2]1",
    "[CR2]1[CR2][CR2]cc[CR2][CR2][CR2]1",
    "[CH2R2]1N[CH2R2][CH2R2][CH2R2][CH2R2][CH2R2]1",
    "[CH2R2]1N[CH2R2][CH2R2][CH2R2][CH2R2][CH2R2][CH2R2]1",
    "C#C",
    "[OR2,NR2]@[CR2]@[CR2]@[OR2,NR2]@[CR2]@[CR2]@[OR2,NR2]",
    "[$([N+R]),$([n+R]),$([N+]=C)][O-]",
    "[#6]=N[OH]",
    "[#6]=NOC=O",
    "[#6](=O)[CX4,CR0X3,O][#6](=O)",
    "c1ccc2c(c1)ccc(=O)o2",
    "[O+,o+,S+,s+]",
    "N=C=O",
    "[NX3,NX4][F,Cl,Br,I]",
    "c1ccccc1OC(=O)[#6]",
    "[CR0]=[CR0][CR0]=[CR0]",
    "[C+,c+,C-,c-]",
    "N=[N+]=[N-]",
    "C12C(NC(N1)=O)CSC2",
    "c1c([OH])c([OH,NH2,NH])ccc1",
    "P",
    "[N,O,S]C#N",
    "C=C=O",
    "[Si][F,Cl,Br,I]",
    "[SX2]O",
    "[SiR0,CR0](c1ccccc1)(c2ccccc2)(c3ccccc3)",
    "O1CCCCC1OC2CCC3CCCCC3C2",
    "N=[CR0][N,n,O,S]",
    "[cR2]1[cR2][cR2]([Nv3X3,Nv4X4])[cR2][cR2][cR2]1[cR2]2[cR2][cR2][cR2]([Nv3X3,Nv4X4])[cR2][cR2]2",
    "C=[C!r]C#N",
    "[cR2]1[cR2]c([N+0X3R0,nX3R0])c([N+0X3R0,nX3R0])[cR2][cR2]1",
    "[cR2]1[cR2]c([N+0X3R0,nX3R0])[cR2]c([N+0X3R0,nX3R0])[cR2]1",
    "[cR2]1[cR2]c([N+0X3R0,nX3R0])[cR2][cR2]c1([N+0X3R0,nX3R0])",
    "[OH]c1ccc([OH,NH2,NH])cc1",
    "c1ccccc1OC(=O)O",
    "[SX2H0][N]",
    "c12ccccc1(SC(S)=N2)",
    "c12ccccc1(SC(=S)N2)",
    "c1nnnn1C=O",
    "s1c(S)nnc1NC=O",
    "S1C=CSC1=S",
    "C(=O)Onnn",
    "OS(=O)(=O)C(F)(F)F",
    "N#CC[OH]",
    "N#CC(=O)",
    "S(=O)(=O)C#N",
    "N[CH2]C#N",
    "C1(=O)NCC1",
    "S(=O)(=O)[O-,OH]",
    "NC[F,Cl,Br,I]",
    "C=[C!r]O",
    "[NX2+0]=[O+0]",
    "[OR0,NR0][OR0,NR0]",
    "C(=O)O[C,H1].C(=O)O[C,H1].C(=O)O[C,H1]",
    "[CX2R0][NX3R0]",
    "c1ccccc1[C;!R]=[C;!R]c2ccccc2",
    "[NX3R0,NX4R0,OR0,SX2R0][CX4][NX3R0,NX4R0,OR0,SX2R0]",
    "[s,S,c,C,n,N,o,O]~[n+,N+](~[s,S,c,C,n,N,o,O])(~[s,S,c,C,n,N,o,O])~[s,S,c,C,n,N,o,O]",
    "[s,S,c,C,n,N,o,O]~[nX3+,NX3+](~[s,S,c,C,n,N])~[s,S,c,C,n,N]",
    "[*]=[N+]=[*]",
    "[SX3](=O)[O-,OH]",
    "N#N",
    "F.F.F.F",
    "[R0;D2][R0;D2][R0;D2][R0;D2]",
    "[cR,CR]~C(=O)NC(=O)~[cR,CR]",
    "C=!@CC=[O,S]",
    "[#6,#8,#16][#6](=O)O[#6]",
    "c[C;R0](=[O,S])[#6]",
    "c[SX2][C;!R]",
    "C=C=C",
    "c1nc([F,Cl,Br,I,S])ncc1",
    "c1ncnc([F,Cl,Br,I,S])c1",
    "c1nc(c2c(n1)nc(n2)[F,Cl,Br,I])",
    "[#6]S(=O)(=O)c1ccc(cc1)F",
    "[15N]",
    "[13C]",
    "[18O]",
    "[34S]",
};

/* Atoms of aliphatic rings and their non-aromatic neighbours: QED deletes them and counts the
 * SSSR of what remains as AROM (QED.py AliphaticRings). */
static const char aliphatic_rings_smarts[] = "[$([A;R][!a])]";

#define N_ACCEPTORS (sizeof acceptor_smarts / sizeof acceptor_smarts[0])
#define N_ALERTS (sizeof alert_smarts / sizeof alert_smarts[0])

/* ADS parameters A, B, C, D, E, F, DMAX per property, in the order MW, ALOGP, HBA, HBD, PSA,
 * ROTB, AROM, ALERTS (QED.py adsParameters). */
static const double ads_params[QED_NPROP][7] = {
    {2.817065973, 392.5754953, 290.7489764, 2.419764353, 49.22325677, 65.37051707, 104.9805561},
    {3.172690585, 137.8624751, 2.534937431, 4.581497897, 0.822739154, 0.576295591, 131.3186604},
    {2.948620388, 160.4605972, 3.615294657, 4.435986202, 0.290141953, 1.300669958, 148.7763046},
    {1.618662227, 1010.051101, 0.985094388, 0.000000001, 0.713820843, 0.920922555, 258.1632616},
    {1.876861559, 125.2232657, 62.90773554, 87.83366614, 12.01999824, 28.51324732, 104.5686167},
    {0.010000000, 272.4121427, 2.558379970, 1.565547684, 1.271567166, 2.758063707, 105.4420403},
    {3.217788970, 957.7374108, 2.274627939, 0.000000001, 1.317690384, 0.375760881, 312.3372610},
    {0.010000000, 1199.094025, -0.09002883, 0.000000001, 0.185904477, 0.875193782, 417.7253140},
};

const double qed_weight_mean[QED_NPROP] = {0.66, 0.46, 0.05, 0.61, 0.06, 0.65, 0.48, 0.95};
const double qed_weight_max[QED_NPROP] = {0.50, 0.25, 0.00, 0.50, 0.00, 0.50, 0.25, 1.00};
const double qed_weight_none[QED_NPROP] = {1.00, 1.00, 1.00, 1.00, 1.00, 1.00, 1.00, 1.00};

static const chem_pattern *acceptors[N_ACCEPTORS];
static const chem_pattern *alerts[N_ALERTS];
static const chem_pattern *aliphatic_rings;
static pthread_once_t init_once = PTHREAD_ONCE_INIT;
static int init_rc;

static void init_patterns(void)
{
    chem_init();
    for (size_t i = 0; i < N_ACCEPTORS && init_rc == 0; i++)
        init_rc = chem_pattern_cached(acceptor_smarts[i], &acceptors[i]);
    for (size_t i = 0; i < N_ALERTS && init_rc == 0; i++)
        init_rc = chem_pattern_cached(alert_smarts[i], &alerts[i]);
    if (init_rc == 0) init_rc = chem_pattern_cached(aliphatic_rings_smarts, &aliphatic_rings);
    if (init_rc < 0) st_err_prefix("QED: compiling the published SMARTS tables");
}

int qed_init(void)
{
    pthread_once(&init_once, init_patterns);
    if (init_rc < 0) return st_err(NULL, init_rc, "QED: the SMARTS tables failed to compile");
    return 0;
}

double qed_ads(int k, double x)
{
    const double *p = ads_params[k];
    double a = p[0], b = p[1], c = p[2], d = p[3], e = p[4], f = p[5], dmax = p[6];
    double exp1 = 1.0 + exp(-(x - c + d / 2) / e);
    double exp2 = 1.0 + exp(-(x - c - d / 2) / f);
    double dx = a + b / exp1 * (1.0 - 1.0 / exp2);
    return dx / dmax;
}

double qed_from_properties(const qed_properties *p, const double *w)
{
    if (!w) w = qed_weight_mean;
    const double x[QED_NPROP] = {p->mw, p->alogp, p->hba, p->hbd, p->psa, p->rotb, p->arom, p->alerts};
    double t = 0, wsum = 0;
    for (int k = 0; k < QED_NPROP; k++) {
        t += w[k] * log(qed_ads(k, x[k]));
        wsum += w[k];
    }
    return exp(t / wsum);
}

/* QED.py properties(): every property on Chem.RemoveHs(mol). */
int qed_compute_properties(const chem_mol *m0, qed_properties *p)
{
    if (!m0 || !p) return st_err(NULL, STRAND_E_ARG, "qed_compute_properties: NULL argument");
    int rc = qed_init();
    if (rc < 0) return rc;
    /* Chem.RemoveHs(mol) removes nothing from a molecule without hydrogen atoms: then work on
     * `m0` itself (no copy, and descriptors RDKit caches on it are shared with other callers). */
    chem_mol *copy = NULL;
    const chem_mol *m = m0;
    if ((rc = chem_num_explicit_h_atoms(m0)) < 0) return rc;
    if (rc > 0) {
        if ((rc = chem_mol_remove_hs(m0, &copy)) < 0) return rc;
        m = copy;
    }

    double v;
    int hba = 0, nalert = 0;
    if ((rc = chem_mw(m, &v)) < 0) goto done;
    p->mw = v;
    if ((rc = chem_logp(m, &v)) < 0) goto done;
    p->alogp = v;
    if ((rc = chem_tpsa(m, &v)) < 0) goto done;
    p->psa = v;

    /* HBA: sum of unique matches over the acceptor patterns */
    for (size_t i = 0; i < N_ACCEPTORS; i++) {
        if ((rc = chem_count_matches(m, acceptors[i])) < 0) goto done;
        hba += rc;
    }
    p->hba = hba;
    if ((rc = chem_hbd(m)) < 0) goto done;
    p->hbd = rc;
    if ((rc = chem_rotatable_bonds(m, CHEM_ROTB_STRICT)) < 0) goto done;
    p->rotb = rc;
    if ((rc = chem_ring_count_after_delete(m, aliphatic_rings)) < 0) goto done;
    p->arom = rc;
    /* ALERTS: each alert counts once, however often it matches */
    for (size_t i = 0; i < N_ALERTS; i++) {
        if ((rc = chem_has_match(m, alerts[i])) < 0) goto done;
        nalert += rc;
    }
    p->alerts = nalert;
    rc = 0;
done:
    chem_mol_free(copy);
    return rc < 0 ? rc : 0;
}

int qed_compute(const chem_mol *m, double *out)
{
    if (!out) return st_err(NULL, STRAND_E_ARG, "qed_compute: NULL output");
    qed_properties p;
    int rc = qed_compute_properties(m, &p);
    if (rc < 0) return rc;
    *out = qed_from_properties(&p, NULL);
    return 0;
}

int qed_from_smiles(const char *smiles, double *out)
{
    chem_mol *m = NULL;
    int rc = chem_mol_from_smiles(smiles, &m);
    if (rc < 0) return rc;
    rc = qed_compute(m, out);
    chem_mol_free(m);
    return rc;
}
