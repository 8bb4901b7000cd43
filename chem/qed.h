/* QED, the quantitative estimate of drug-likeness (Bickerton et al. 2012; docs/chem.md "QED"), computed in
 * C from the RDKit shim's descriptors and SMARTS matching. Matches RDKit Python's QED.qed
 * (rdkit/Chem/QED.py, version 1.1.0) property for property. */
#ifndef STRAND_CHEM_QED_H
#define STRAND_CHEM_QED_H
#include "chem/chem.h"

/* The eight QED properties, in the published order. */
typedef struct qed_properties {
    double mw;     /* average molecular weight (Descriptors.MolWt) */
    double alogp;  /* Wildman–Crippen logP */
    double hba;    /* acceptor SMARTS matches, summed over the 11 acceptor patterns */
    double hbd;    /* rdMolDescriptors.CalcNumHBD */
    double psa;    /* TPSA */
    double rotb;   /* rotatable bonds, Strict definition */
    double arom;   /* SSSR size after deleting aliphatic ring atoms ([$([A;R][!a])]) */
    double alerts; /* number of structural-alert SMARTS that match (each counted once) */
} qed_properties;

enum { QED_NPROP = 8 };
/* Published weight sets (QED.py WEIGHT_MEAN / WEIGHT_MAX / WEIGHT_NONE), properties in order. */
extern const double qed_weight_mean[QED_NPROP];
extern const double qed_weight_max[QED_NPROP];
extern const double qed_weight_none[QED_NPROP];

/* Compile the acceptor and alert SMARTS (once per process; thread-safe). 0 or STRAND_E_CHEM. */
int qed_init(void);
/* The eight properties of `m` (explicit Hs are removed first, as QED.py does). */
int qed_compute_properties(const chem_mol *m, qed_properties *p);
/* The asymmetric double sigmoid desirability of property k (0..7) at x, divided by DMAX. */
double qed_ads(int k, double x);
/* exp(sum w_k log d_k / sum w_k). `w` may be NULL for the mean weights. */
double qed_from_properties(const qed_properties *p, const double *w);
/* QED with the mean weights (QED.qed). 0 or a negative STRAND_E_*. */
int qed_compute(const chem_mol *m, double *out);
/* Parse `smiles` and compute QED: STRAND_E_CHEM naming the SMILES when it is invalid. */
int qed_from_smiles(const char *smiles, double *out);
#endif
