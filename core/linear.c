/* Linear layer: out = in · Wᵀ + b through OpenBLAS, no copies (row-major, weight (OC,C)). */
#include "core/linear.h"

#include <cblas.h>
#include <string.h>

void linear_forward(float *out, const float *inp, const float *weight, const float *bias, size_t BT,
                    size_t C, size_t OC)
{
    // out (BT,OC), inp (BT,C), weight (OC,C), bias (OC) or NULL
    if (BT == 0 || OC == 0) return;
    if (C == 0) {
        for (size_t t = 0; t < BT; t++) {
            float *o = out + t * OC;
            if (bias) memcpy(o, bias, OC * sizeof(float));
            else memset(o, 0, OC * sizeof(float));
        }
        return;
    }
    float beta = 0.0f;
    if (bias) {
        for (size_t t = 0; t < BT; t++) memcpy(out + t * OC, bias, OC * sizeof(float));
        beta = 1.0f;
    }
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)BT, (int)OC, (int)C, 1.0f, inp, (int)C,
                weight, (int)C, beta, out, (int)OC);
}

void linear_backward(float *dinp, float *dweight, float *dbias, const float *dout, const float *inp,
                     const float *weight, size_t BT, size_t C, size_t OC)
{
    // dinp (BT,C) += dout (BT,OC) · weight (OC,C)
    // dweight (OC,C) += doutᵀ (OC,BT) · inp (BT,C)
    // dbias (OC) += Σ_t dout[t,:]
    if (BT == 0 || OC == 0) return;
    if (dinp && C > 0)
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)BT, (int)C, (int)OC, 1.0f, dout,
                    (int)OC, weight, (int)C, 1.0f, dinp, (int)C);
    if (dweight && C > 0)
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)OC, (int)C, (int)BT, 1.0f, dout,
                    (int)OC, inp, (int)C, 1.0f, dweight, (int)C);
    if (dbias) {
        for (size_t t = 0; t < BT; t++) {
            const float *g = dout + t * OC;
            for (size_t o = 0; o < OC; o++) dbias[o] += g[o];
        }
    }
}
