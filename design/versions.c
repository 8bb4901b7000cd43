/* strand's version and the versions of the libraries it runs on (read at run time). */
#include <cblas.h>
#include <htslib/hts.h>
#include <jansson.h>
#include <zstd.h>

#include "design/chem.h"
#include "strand.h"

const char *strand_version_string(void) { return STRAND_VERSION_STRING; }
int strand_version_number(void) { return STRAND_VERSION_NUMBER; }

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
