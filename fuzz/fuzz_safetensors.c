/* libFuzzer target for the model-file parser (core/safetensors.c): any byte string must either be
 * rejected with a message or yield tensors whose every byte can be read back in bounds. The reader
 * never trusts the header, so ASan reports any read outside the buffer.
 *   CC=clang CXX=clang++ cmake -S . -B build-fuzz -DSTRAND_FUZZ=ON && cmake --build build-fuzz -t fuzz_safetensors
 *   build-fuzz/fuzz/fuzz_safetensors -max_total_time=60 fuzz/corpus/safetensors */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/safetensors.h"
#include "strand.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* inputs starting with the zstd magic are decompressed: keep bombs within libFuzzer's RSS limit */
    sft_set_max_decompressed((uint64_t)64 << 20);
    sft_file *f = NULL;
    if (sft_open_buffer(&f, data, size, "fuzz") != 0) {
        if (!strand_last_error()[0]) __builtin_trap(); /* every rejection carries a message */
        return 0;
    }
    for (size_t i = 0; i < sft_count(f); i++) {
        const sft_tensor *t = sft_get(f, i);
        if (t->end < t->begin || t->numel * sft_dtype_size(t->dtype) != t->end - t->begin) __builtin_trap();
        if (sft_find(f, t->name) != t) __builtin_trap();
        sft_dtype d = t->dtype;
        int is_float = d == SFT_F32 || d == SFT_F16 || d == SFT_BF16 || d == SFT_F64;
        if (is_float) {
            float *out = malloc((t->numel ? t->numel : 1) * sizeof *out);
            if (out && sft_read_f32(f, t->name, out, t->numel) != 0) __builtin_trap();
            free(out);
        } else {
            int64_t *out = malloc((t->numel ? t->numel : 1) * sizeof *out);
            if (out && sft_read_i64(f, t->name, out, t->numel) != 0) __builtin_trap();
            free(out);
        }
    }
    for (size_t i = 0; i < sft_meta_count(f); i++)
        if (!sft_meta_get(f, sft_meta_key(f, i))) __builtin_trap();
    sft_close(f);
    return 0;
}
