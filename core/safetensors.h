/* Model files: safetensors (docs/formats.md "safetensors"), optionally zstd-compressed (.safetensors.zst).
 * Reading maps the file (or decompresses it into memory) and validates everything before use:
 * header length, JSON, dtypes, shapes, offsets (in bounds, no overlap, sizes = dtype x shape). */
#ifndef STRAND_CORE_SAFETENSORS_H
#define STRAND_CORE_SAFETENSORS_H
#include <stddef.h>
#include <stdint.h>

#define SFT_MAX_DIMS 8

typedef enum sft_dtype {
    SFT_F32, SFT_F16, SFT_BF16, SFT_F64, SFT_I64, SFT_I32, SFT_I16, SFT_I8, SFT_U8, SFT_BOOL
} sft_dtype;

typedef struct sft_tensor {
    const char *name;
    sft_dtype dtype;
    int ndim;
    int64_t shape[SFT_MAX_DIMS];
    uint64_t begin, end; /* byte offsets relative to the end of the header */
    const void *data;    /* points into the mapped/decompressed buffer (may be unaligned) */
    size_t numel;
} sft_tensor;

typedef struct sft_file sft_file;

/* Open and validate. On failure returns STRAND_E_* and the message (strand_last_error) names the
 * file and the problem, e.g. "m.safetensors: tensor \"w\": data_offsets [0, 12] overlap ...". */
int sft_open(sft_file **out, const char *path);
/* Same, over a buffer in memory (used by the fuzzer and for decompressed files); copies it.
 * Both sft_open and sft_open_buffer also decompress input that starts with the zstd magic
 * (a valid plain file never does: those bytes would mean a header above 4 GB). */
int sft_open_buffer(sft_file **out, const void *buf, size_t len, const char *name_for_errors);
void sft_close(sft_file *f);

size_t sft_count(const sft_file *f);                 /* tensors, in file order of data offsets */
const sft_tensor *sft_get(const sft_file *f, size_t i);
const sft_tensor *sft_find(const sft_file *f, const char *name); /* NULL if absent */
size_t sft_meta_count(const sft_file *f);
const char *sft_meta_key(const sft_file *f, size_t i);
const char *sft_meta_get(const sft_file *f, const char *key);   /* NULL if absent */
const char *sft_dtype_name(sft_dtype dt);                        /* "F32", ... */
size_t sft_dtype_size(sft_dtype dt);

/* Copy a tensor out as float32 (F32/F16/BF16/F64 converted) or int64 (I64/I32/I16/I8/U8; BOOL as 0/1).
 * The other dtype family is STRAND_E_UNSUPPORTED; an absent name is STRAND_E_NOTFOUND.
 * `n` must equal the tensor's element count, else STRAND_E_SHAPE naming both. */
int sft_read_f32(const sft_file *f, const char *name, float *dst, size_t n);
int sft_read_i64(const sft_file *f, const char *name, int64_t *dst, size_t n);

/* Writer: add tensors (data is copied) and metadata, then write atomically (temp + rename).
 * zstd compression when the path ends in ".zst". Tensors are written in the order added. */
typedef struct sft_writer sft_writer;
sft_writer *sft_writer_create(void);
int sft_writer_add(sft_writer *w, const char *name, sft_dtype dt, int ndim, const int64_t *shape,
                   const void *data);
int sft_writer_meta(sft_writer *w, const char *key, const char *value);
int sft_writer_write(sft_writer *w, const char *path);
void sft_writer_free(sft_writer *w);

/* Largest decompressed size sft_open accepts for ".zst" files (default 64 GiB; 0 restores it).
 * Process-wide: for tests and small machines. */
void sft_set_max_decompressed(uint64_t bytes);
uint64_t sft_get_max_decompressed(void);
/* Exact IEEE half / bfloat16 -> float32 conversions (subnormals, inf and NaN included). */
float sft_f16_to_f32(uint16_t h);
float sft_bf16_to_f32(uint16_t h);
#endif
