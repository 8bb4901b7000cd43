// The RDKit shim: C entry points over RDKit's C++ API. Every entry point catches every C++
// exception and turns it into a STRAND_E_* code; nothing C++ escapes into C.
#include <RDGeneral/versions.h>

#include "design/chem.h"

extern "C" const char *chem_rdkit_version(void) { return RDKit::rdkitVersion; }
