/* numpy .npy files, format versions 1.0, 2.0 and 3.0 (numpy.lib.format): the magic "\x93NUMPY",
 * a version, a header length (u16 in v1, u32 in v2/v3), a Python-literal dict header
 * {'descr': '<f4', 'fortran_order': False, 'shape': (n, L), } padded so the data is 64-byte aligned,
 * then the raw data. Supported: float32, float64, int64, int32, little-endian, C order. Everything
 * is validated before use (header syntax, dtype, order, shape, size) and a bad file is an error
 * naming the file and the problem, never a crash. */
#ifndef STRAND_CORE_NPY_H
#define STRAND_CORE_NPY_H
#include <stddef.h>
#include <stdint.h>

#define NPY_MAX_DIMS 8

typedef enum npy_dtype { NPY_F32, NPY_F64, NPY_I64, NPY_I32 } npy_dtype;

typedef struct npy_array {
    npy_dtype dtype;
    int ndim;                    /* 0 for a scalar */
    int64_t shape[NPY_MAX_DIMS];
    size_t numel;
    void *data;                  /* malloc'd, numel elements of dtype (64-byte aligned) */
} npy_array;

size_t npy_dtype_size(npy_dtype dt);
const char *npy_dtype_name(npy_dtype dt); /* "float32", ... */

int npy_read(const char *path, npy_array *out);
/* Same over a buffer (fuzzing, tests); `name` is used in messages. */
int npy_read_buffer(const void *buf, size_t len, const char *name, npy_array *out);
void npy_free(npy_array *a);

/* Write atomically (temp + rename): version 1.0 unless the header needs 2.0. */
int npy_write(const char *path, npy_dtype dt, int ndim, const int64_t *shape, const void *data);

/* Convert into caller arrays of a.numel elements. Integer conversion checks each value fits
 * (and, for npy_to_i32, lies in [lo, hi]: pass lo > hi to skip); float to int is refused. */
int npy_to_f32(const npy_array *a, float *dst);
int npy_to_i32(const npy_array *a, int32_t *dst, int64_t lo, int64_t hi, const char *name);
#endif
