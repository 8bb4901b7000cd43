/* Per-molecule property rows for SMILES tables (`strand data smiles`, design metrics):
 * validity, canonical SMILES and a chosen list of RDKit properties (docs/chem.md "Properties"; definitions in
 * chem/chem.h and chem/qed.h). */
#ifndef STRAND_CHEM_SMILES_PROPS_H
#define STRAND_CHEM_SMILES_PROPS_H
#include <stddef.h>

typedef enum smiles_prop {
    SP_QED = 0, /* QED.qed, mean weights */
    SP_RINGS,   /* SSSR ring count */
    SP_LOGP,    /* Crippen logP */
    SP_MW,      /* average molecular weight */
    SP_TPSA,    /* topological polar surface area */
    SP_HBD,     /* H-bond donors (NumHDonors) */
    SP_HBA,     /* H-bond acceptors (NumHAcceptors) */
    SP_COUNT
} smiles_prop;

/* "qed", "rings", ... */
const char *smiles_prop_name(smiles_prop p);
/* 1 when the property is an integer count. */
int smiles_prop_is_count(smiles_prop p);

/* Parse a comma-separated list ("qed,logp", "all", "none" or "") into props[] in the order
 * given, duplicates dropped. *n gets the count. STRAND_E_ARG naming an unknown property. */
int smiles_props_parse(const char *list, smiles_prop props[SP_COUNT], int *n);

enum { SP_ERR_MAX = 256 };
typedef struct smiles_props_row {
    int ok;                /* 1: valid and every property computed */
    char *canonical;       /* malloc'd canonical SMILES (NULL when !ok) */
    double v[SP_COUNT];    /* indexed by smiles_prop; only the requested ones are set */
    char err[SP_ERR_MAX];  /* the error message when !ok */
} smiles_props_row;

/* Parse `smiles`, canonicalise and compute the n properties in props[]. Returns 0 with row->ok
 * = 1, or the negative STRAND_E_* with row->ok = 0 and row->err set (the message names the
 * SMILES). Thread-safe (call chem_init()/qed_init() first when using threads). */
int smiles_props_compute(const char *smiles, const smiles_prop *props, int n, smiles_props_row *row);
void smiles_props_row_clear(smiles_props_row *row); /* frees canonical, resets */

/* Format one property value as TSV text: counts as integers, reals with %.10g. */
int smiles_props_format(char *buf, size_t len, smiles_prop p, double v);
#endif
