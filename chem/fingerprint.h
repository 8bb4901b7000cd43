/* Bit-vector fingerprints as uint64_t words (bit b is bit b % 64 of word b / 64), as
 * chem_morgan_bits (chem/chem.h) writes them, and their Tanimoto similarity
 * (docs/chem.md "Fingerprints and depiction"). */
#ifndef STRAND_CHEM_FINGERPRINT_H
#define STRAND_CHEM_FINGERPRINT_H
#include <stddef.h>
#include <stdint.h>

/* |a AND b| / |a OR b| over nwords words; 1 when both are empty (DataStructs.TanimotoSimilarity). */
double fp_tanimoto(const uint64_t *a, const uint64_t *b, size_t nwords);
/* Number of set bits. */
size_t fp_popcount(const uint64_t *a, size_t nwords);
#endif
