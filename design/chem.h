/* strand's C interface to RDKit (implemented in chem_rdkit.cpp, the only C++ in the tree).
 * Nothing here exposes RDKit types; molecules are handled as SMILES strings. */
#ifndef STRAND_DESIGN_CHEM_H
#define STRAND_DESIGN_CHEM_H
#ifdef __cplusplus
extern "C" {
#endif

/* RDKit's version string (RDKit::rdkitVersion). */
const char *chem_rdkit_version(void);

#ifdef __cplusplus
}
#endif
#endif
