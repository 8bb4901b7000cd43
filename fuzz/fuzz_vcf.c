/* libFuzzer target for the VCF reader (io/vcf.c): any bytes, written as a text VCF, must either
 * read to the end (each record's REF/ALT/filters accessible, re-formattable) or stop with an error
 * that carries a message naming the file; never crash (run under ASan/UBSan).
 *   CC=clang CXX=clang++ cmake -S . -B build-fuzz -DSTRAND_FUZZ=ON && cmake --build build-fuzz -t fuzz_vcf
 *   build-fuzz/fuzz/fuzz_vcf -max_total_time=60 fuzz/corpus/vcf */
#include <htslib/hts.h>
#include <htslib/kstring.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "io/vcf.h"
#include "strand.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static char path[256];
    if (!path[0]) {
        snprintf(path, sizeof path, "%s/strand_fuzz_vcf.%d.vcf", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp", (int)getpid());
        hts_set_log_level(HTS_LOG_OFF);
    }
    FILE *fp = fopen(path, "wb");
    if (!fp) return 0;
    fwrite(data, 1, size, fp);
    fclose(fp);
    st_vcf_reader *r = NULL;
    strand_clear_error();
    if (st_vcf_open(&r, path, NULL, 0) != 0) {
        if (!strand_last_error()[0]) __builtin_trap();
        return 0;
    }
    bcf1_t *v;
    int ret;
    kstring_t ks = {0, 0, NULL};
    char filt[256];
    while ((ret = st_vcf_next(r, &v)) > 0) {
        (void)strlen(st_vcf_ref(v));
        for (int i = 0; i < st_vcf_n_alt(v); i++) (void)strlen(st_vcf_alt(v, i));
        st_vcf_filters(st_vcf_header(r), v, filt, sizeof filt);
        ks.l = 0;
        vcf_format(st_vcf_header(r), v, &ks);
    }
    if (ret < 0 && !strstr(strand_last_error(), "strand_fuzz_vcf")) __builtin_trap();
    free(ks.s);
    st_vcf_close(r);
    return 0;
}
