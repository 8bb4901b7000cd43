#include "core/embedding.h"

#include <cblas.h>
#include <string.h>

#include "core/error.h"

int embedding_forward(float *out, const int32_t *ids, const float *E, size_t BT, size_t V, size_t D)
{
    for (size_t t = 0; t < BT; t++) {
        if (ids[t] < 0 || (size_t)ids[t] >= V)
            return st_err(NULL, STRAND_E_RANGE, "embedding: id %d at position %zu is outside [0, %zu)",
                          (int)ids[t], t, V);
        memcpy(out + t * D, E + (size_t)ids[t] * D, D * sizeof(float));
    }
    return 0;
}

void embedding_backward(float *dE, const float *dout, const int32_t *ids, size_t BT, size_t D)
{
    // serial: two positions may share an id
    for (size_t t = 0; t < BT; t++) {
        float *row = dE + (size_t)ids[t] * D;
        const float *g = dout + t * D;
        for (size_t d = 0; d < D; d++) row[d] += g[d];
    }
}

void embedding_soft_forward(float *out, const float *P, const float *E, size_t BT, size_t V, size_t D)
{
    if (BT == 0 || D == 0) return;
    if (V == 0) {
        memset(out, 0, BT * D * sizeof(float));
        return;
    }
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)BT, (int)D, (int)V, 1.0f, P, (int)V, E,
                (int)D, 0.0f, out, (int)D);
}

void embedding_soft_backward(float *dP, float *dE, const float *dout, const float *P, const float *E,
                             size_t BT, size_t V, size_t D)
{
    if (BT == 0 || D == 0 || V == 0) return;
    if (dP) // (BT,V) += (BT,D)·(V,D)ᵀ
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)BT, (int)V, (int)D, 1.0f, dout, (int)D, E,
                    (int)D, 1.0f, dP, (int)V);
    if (dE) // (V,D) += (BT,V)ᵀ·(BT,D)
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)V, (int)D, (int)BT, 1.0f, P, (int)V, dout,
                    (int)D, 1.0f, dE, (int)D);
}
