#include "core/mlp.h"

#include <string.h>

#include "core/gelu.h"
#include "core/linear.h"

void mlp_forward(float *out, float *pre, float *act, const float *inp, const float *w1, const float *b1,
                 const float *w2, const float *b2, size_t BT, size_t C, size_t H)
{
    linear_forward(pre, inp, w1, b1, BT, C, H); // (BT,H)
    gelu_forward(act, pre, BT * H);             // (BT,H)
    linear_forward(out, act, w2, b2, BT, H, C); // (BT,C)
}

void mlp_backward(float *dinp, float *dw1, float *db1, float *dw2, float *db2, float *scratch,
                  const float *dout, const float *inp, const float *pre, const float *act, const float *w1,
                  const float *w2, size_t BT, size_t C, size_t H)
{
    memset(scratch, 0, BT * H * sizeof(float));
    linear_backward(scratch, dw2, db2, dout, act, w2, BT, H, C); // scratch = d act
    gelu_backward_inplace(scratch, pre, BT * H);                 // scratch = d pre
    linear_backward(dinp, dw1, db1, scratch, inp, w1, BT, C, H);
}
