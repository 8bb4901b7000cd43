/* Opening a committed numeric fixture (tests/data/<subdir>/<name>.safetensors, written by a
 * script in tests/reference/): fatal CUnit failure when it cannot be read; prints its description. */
#ifndef STRAND_TESTS_FIXTURE_UTIL_H
#define STRAND_TESTS_FIXTURE_UTIL_H
#include <CUnit/CUnit.h>
#include <stdio.h>

#include "core/safetensors.h"
#include "strand.h"

static inline sft_file *tu_fixture_open(const char *subdir, const char *name)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s/%s.safetensors", STRAND_TEST_DATA, subdir, name);
    sft_file *f = NULL;
    int rc = sft_open(&f, path);
    if (rc != 0) fprintf(stderr, "cannot open fixture %s: %s\n", path, strand_last_error());
    CU_ASSERT_FATAL(rc == 0);
    const char *d = sft_meta_get(f, "description");
    fprintf(stderr, "\n  fixture %s.safetensors: %s\n", name, d ? d : "");
    return f;
}
#endif
