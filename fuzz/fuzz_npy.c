/* libFuzzer target for the .npy reader (core/npy.c): any byte string is either rejected with a
 * message or yields an array whose shape, element count and data agree and whose every byte is
 * readable (ASan checks the copy).
 *   CC=clang CXX=clang++ cmake -S . -B build-fuzz -DSTRAND_FUZZ=ON && cmake --build build-fuzz -t fuzz_npy
 *   build-fuzz/fuzz/fuzz_npy -max_total_time=60 fuzz/corpus/npy */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/npy.h"
#include "strand.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    npy_array a;
    if (npy_read_buffer(data, size, "fuzz", &a) != 0) {
        if (!strand_last_error()[0] || a.data) __builtin_trap();
        return 0;
    }
    size_t n = 1;
    for (int d = 0; d < a.ndim; d++) n *= (size_t)a.shape[d];
    if (n != a.numel || !a.data) __builtin_trap();
    volatile unsigned char s = 0;
    const unsigned char *p = a.data;
    for (size_t i = 0; i < a.numel * npy_dtype_size(a.dtype); i++) s ^= p[i];
    if (a.dtype == NPY_I64 || a.dtype == NPY_I32) {
        int32_t *tmp = malloc((a.numel ? a.numel : 1) * sizeof *tmp);
        if (tmp) npy_to_i32(&a, tmp, 0, 100, "fuzz");
        free(tmp);
    } else {
        float *tmp = malloc((a.numel ? a.numel : 1) * sizeof *tmp);
        if (tmp && npy_to_f32(&a, tmp) != 0) __builtin_trap();
        free(tmp);
    }
    npy_free(&a);
    return 0;
}
