/* Linear layer: out = in · Wᵀ + b through core/gemm, no copies (row-major, weight (OC,C)). */
#include "core/linear.h"

#include <string.h>

#include "core/gemm.h"

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
    if (bias)
        for (size_t t = 0; t < BT; t++) memcpy(out + t * OC, bias, OC * sizeof(float));
    gemm(out, OC, 0, inp, C, 1, weight, C, BT, OC, C, 1.0f, bias != NULL);
}

void linear_backward(float *dinp, float *dweight, float *dbias, const float *dout, const float *inp,
                     const float *weight, size_t BT, size_t C, size_t OC)
{
    // dinp (BT,C) += dout (BT,OC) · weight (OC,C)
    // dweight (OC,C) += doutᵀ (OC,BT) · inp (BT,C)
    // dbias (OC) += Σ_t dout[t,:]
    if (BT == 0 || OC == 0) return;
    if (dinp && C > 0)
        gemm(dinp, C, 0, dout, OC, 0, weight, C, BT, C, OC, 1.0f, 1);
    if (dweight && C > 0)
        gemm(dweight, C, 1, dout, OC, 0, inp, C, OC, C, BT, 1.0f, 1);
    if (dbias) {
        for (size_t t = 0; t < BT; t++) {
            const float *g = dout + t * OC;
            for (size_t o = 0; o < OC; o++) dbias[o] += g[o];
        }
    }
}
