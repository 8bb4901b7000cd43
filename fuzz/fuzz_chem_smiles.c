/* libFuzzer target for the RDKit shim and the property rows (chem/chem_rdkit.cpp,
 * chem/qed.c, chem/smiles_props.c): any byte string as a SMILES must either be rejected with
 * a message naming it, or give finite properties and a canonical SMILES. No C++ exception may
 * escape (an escaping one aborts the process).
 *   CC=clang CXX=clang++ cmake -S . -B build-fuzz -DSTRAND_FUZZ=ON && cmake --build build-fuzz -t fuzz_chem_smiles
 *   build-fuzz/fuzz/fuzz_chem_smiles -max_total_time=60 -max_len=256 fuzz/corpus/chem_smiles */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "chem/smiles_props.h"
#include "strand.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 512) return 0; /* RDKit's cost grows fast with molecule size */
    char *s = malloc(size + 1);
    if (!s) return 0;
    memcpy(s, data, size);
    s[size] = '\0';
    smiles_prop props[SP_COUNT];
    int np = 0;
    smiles_props_parse("all", props, &np);
    smiles_props_row row;
    int rc = smiles_props_compute(s, props, np, &row);
    if (rc < 0) {
        if (row.ok || row.canonical || !row.err[0]) __builtin_trap();
        if (strlen(s) == size && size > 0 && size < 100 && rc == STRAND_E_CHEM &&
            !strstr(row.err, s) && !strstr(row.err, "RDKit error")) __builtin_trap();
    } else {
        if (!row.ok || !row.canonical) __builtin_trap();
        for (int k = 0; k < np; k++)
            if (!isfinite(row.v[props[k]])) __builtin_trap();
    }
    smiles_props_row_clear(&row);
    free(s);
    return 0;
}
