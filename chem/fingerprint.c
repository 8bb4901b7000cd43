/* Tanimoto similarity of bit fingerprints (docs/chem.md "Fingerprints and depiction"). */
#include "chem/fingerprint.h"

size_t fp_popcount(const uint64_t *a, size_t nwords)
{
    size_t c = 0;
    for (size_t i = 0; i < nwords; i++) c += (size_t)__builtin_popcountll(a[i]);
    return c;
}

double fp_tanimoto(const uint64_t *a, const uint64_t *b, size_t nwords)
{
    size_t both = 0, any = 0;
    for (size_t i = 0; i < nwords; i++) {
        both += (size_t)__builtin_popcountll(a[i] & b[i]);
        any += (size_t)__builtin_popcountll(a[i] | b[i]);
    }
    return any ? (double)both / (double)any : 1.0;
}
