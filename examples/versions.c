/* The smallest strand program: print strand's version and the libraries it runs on.
 * Built by CMake, and by scripts/test against the installed library via pkg-config and via
 * CMake's find_package(strand) (tests/install_consumer/). */
#include <stdio.h>

#include <strand.h>

int main(void)
{
    strand_dep_versions v = strand_get_dep_versions();
    printf("strand %s (htslib %s, zstd %s, RDKit %s)\n", strand_version_string(), v.htslib, v.zstd, v.rdkit);
    return strand_version_number() == STRAND_VERSION_NUMBER ? 0 : 1;
}
