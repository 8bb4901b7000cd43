/* strand's C interface to RDKit (implemented in chem_rdkit.cpp, the only C++ in the tree).
 * Nothing here exposes RDKit types: a molecule is an opaque chem_mol parsed from SMILES, a
 * SMARTS query an opaque chem_pattern. Every entry point catches every C++ exception; failures
 * return STRAND_E_CHEM (or another STRAND_E_*) with a message naming the SMILES/SMARTS, recorded
 * through st_err (strand_last_error()). RDKit's own stderr logging is off unless strand's log
 * level is STRAND_LOG_DEBUG, in which case RDKit's messages go to stderr as RDKit prints them.
 *
 * Property definitions follow RDKit Python (docs/chem.md "Properties"):
 *   chem_ring_count       len(Chem.GetSSSR(mol))                (MolOps::findSSSR, on a copy)
 *   chem_logp             Crippen.MolLogP / Descriptors.MolLogP (Wildman–Crippen, implicit Hs)
 *   chem_mw               Descriptors.MolWt                     (average mass, Hs included)
 *   chem_tpsa             Descriptors.TPSA                      (N and O only)
 *   chem_hbd / chem_hba   Descriptors.NumHDonors / NumHAcceptors (rdMolDescriptors.CalcNumHBD/HBA)
 *   chem_rotatable_bonds  rdMolDescriptors.CalcNumRotatableBonds(mol, mode); CHEM_ROTB_DEFAULT is
 *                         Descriptors.NumRotatableBonds (RDKit's default choice, normally Strict)
 *   chem_aromatic_rings   rdMolDescriptors.CalcNumAromaticRings
 * Thread safety: distinct chem_mol objects may be used from different threads at once; a
 * chem_pattern may be shared between threads (RDKit is built with thread-safe SSS). */
#ifndef STRAND_CHEM_CHEM_H
#define STRAND_CHEM_CHEM_H
#include <stddef.h>
#include <stdint.h>
#ifdef __cplusplus
extern "C" {
#endif

/* RDKit's version string (RDKit::rdkitVersion). */
const char *chem_rdkit_version(void);

/* One-time set-up (idempotent, thread-safe): applies the RDKit logging policy above and warms
 * RDKit's lazily built parameter tables so later calls may run in parallel. Called by every
 * entry point; call it once before an OpenMP region to keep the first call out of it. */
void chem_init(void);

typedef struct chem_mol chem_mol;
typedef struct chem_pattern chem_pattern;

/* Parse and sanitise (RDKit's validity). 0 and *out set, or STRAND_E_CHEM ("invalid SMILES
 * \"...\": reason") and *out = NULL. STRAND_E_ARG on NULL arguments. */
int chem_mol_from_smiles(const char *smiles, chem_mol **out);
void chem_mol_free(chem_mol *m); /* NULL is fine */
/* A copy of `m` with explicit hydrogens removed (Chem.RemoveHs, sanitised). */
int chem_mol_remove_hs(const chem_mol *m, chem_mol **out);
/* 1 when RDKit parses and sanitises `smiles`, else 0 (no error is recorded). */
int chem_smiles_valid(const char *smiles);
/* Heavy-atom count (mol.GetNumAtoms() after parsing). */
int chem_num_atoms(const chem_mol *m);
/* Number of explicit hydrogen atoms left in the graph ([2H], [H+], H2, ...), or < 0. */
int chem_num_explicit_h_atoms(const chem_mol *m);

/* Canonical isomeric SMILES (Chem.MolToSmiles defaults) into buf (NUL-terminated). Returns the
 * length, STRAND_E_RANGE when buf is too small (the message says the size needed). */
int chem_canonical_smiles(const chem_mol *m, char *buf, size_t buflen);

/* Descriptors: 0 or a negative STRAND_E_*; counts are returned directly (>= 0) or negative. */
int chem_ring_count(const chem_mol *m);
int chem_logp(const chem_mol *m, double *out);
int chem_mw(const chem_mol *m, double *out);
int chem_tpsa(const chem_mol *m, double *out);
int chem_hbd(const chem_mol *m);
int chem_hba(const chem_mol *m);
/* Modes are RDKit's NumRotatableBondsOptions. */
enum { CHEM_ROTB_DEFAULT = -1, CHEM_ROTB_NONSTRICT = 0, CHEM_ROTB_STRICT = 1, CHEM_ROTB_STRICT_LINKAGES = 2 };
int chem_rotatable_bonds(const chem_mol *m, int mode);
int chem_aromatic_rings(const chem_mol *m);

/* SMARTS queries. chem_pattern_compile gives a pattern the caller frees; chem_pattern_cached
 * compiles each distinct SMARTS once per process and returns a shared pattern that must not be
 * freed (it lives until exit). STRAND_E_CHEM ("invalid SMARTS \"...\"") on a bad SMARTS. */
int chem_pattern_compile(const char *smarts, chem_pattern **out);
int chem_pattern_cached(const char *smarts, const chem_pattern **out);
void chem_pattern_free(chem_pattern *p);
/* Number of unique matches (mol.GetSubstructMatches(p): uniquify, at most 1000), or < 0. */
int chem_count_matches(const chem_mol *m, const chem_pattern *p);
/* 1 if mol.HasSubstructMatch(p), 0 if not, < 0 on error. */
int chem_has_match(const chem_mol *m, const chem_pattern *p);
/* Count matches of a SMARTS given as text (compiled once through chem_pattern_cached). */
int chem_count_smarts(const chem_mol *m, const char *smarts);
/* len(Chem.GetSSSR(Chem.DeleteSubstructs(mol, p))): SSSR size after deleting every atom that
 * matches p (used by QED's AROM). */
int chem_ring_count_after_delete(const chem_mol *m, const chem_pattern *p);

/* ---- fingerprints, graph descriptors, depiction (docs/chem.md "Fingerprints and depiction") ---- */
/* Morgan bit fingerprint, AllChem.GetMorganFingerprintAsBitVect(mol, radius, nBits=nbits): bit b
 * of the vector is bit (b % 64) of words[b / 64]. nbits must be a positive multiple of 64;
 * words has nbits / 64 entries and is overwritten. */
int chem_morgan_bits(const chem_mol *m, int radius, int nbits, uint64_t *words);
/* Descriptors.BertzCT(mol) (rdkit/Chem/GraphDescriptors.py, version 2.0.0, cutoff 100), ported. */
int chem_bertz_ct(const chem_mol *m, double *out);
/* rdMolDescriptors.CalcNumAliphaticRings (Descriptors.NumAliphaticRings). */
int chem_aliphatic_rings(const chem_mol *m);
/* A 2D depiction as SVG text (rdMolDraw2D.MolDraw2DSVG(width, height) after
 * rdMolDraw2D.PrepareAndDrawMolecule), without the leading <?xml ...?> line so it can be
 * inlined in HTML. *svg is malloc'd (caller frees). */
int chem_depict_svg(const chem_mol *m, int width, int height, char **svg);

#ifdef __cplusplus
}
#endif
#endif
