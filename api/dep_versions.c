/* The versions of the libraries strand runs on, read from them at run time. This sits in api/
 * because it asks several layers: BLAS, zstd and jansson (core), htslib (io), RDKit (chem). */
#include <cblas.h>
#include <htslib/hts.h>
#include <jansson.h>
#include <zstd.h>

#include "chem/chem.h"
#include "strand.h"

strand_dep_versions strand_get_dep_versions(void)
{
    strand_dep_versions v;
    v.htslib = hts_version();
    v.openblas = openblas_get_config();
    v.zstd = ZSTD_versionString();
    v.rdkit = chem_rdkit_version();
    v.jansson = jansson_version_str();
    return v;
}
