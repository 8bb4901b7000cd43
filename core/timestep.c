#include "core/timestep.h"

#include <math.h>
#include <string.h>

#include "core/gelu.h"
#include "core/linear.h"

void timestep_freq_forward(float *out, const float *sigma, size_t B)
{
    const size_t half = TIMESTEP_FREQ_DIM / 2;
    for (size_t b = 0; b < B; b++) {
        float *o = out + b * TIMESTEP_FREQ_DIM;
        for (size_t i = 0; i < half; i++) {
            // fp32 like the reference: f_i = exp(−ln(1e4)·i/half), arg = sigma·f_i
            float f = expf(-logf(10000.0f) * (float)i / (float)half);
            float arg = sigma[b] * f;
            o[i] = (float)cos((double)arg);
            o[half + i] = (float)sin((double)arg);
        }
    }
}

void timestep_forward(float *out, float *freq, float *h, float *a, const float *sigma, const float *w0,
                      const float *b0, const float *w2, const float *b2, size_t B, size_t cond)
{
    timestep_freq_forward(freq, sigma, B);                      // (B,256)
    linear_forward(h, freq, w0, b0, B, TIMESTEP_FREQ_DIM, cond); // (B,cond)
    silu_forward(a, h, B * cond);
    linear_forward(out, a, w2, b2, B, cond, cond);
}

void timestep_backward(float *dw0, float *db0, float *dw2, float *db2, float *scratch, const float *dout,
                       const float *freq, const float *h, const float *a, const float *w2, size_t B,
                       size_t cond)
{
    memset(scratch, 0, B * cond * sizeof(float));
    linear_backward(scratch, dw2, db2, dout, a, w2, B, cond, cond); // scratch = d a
    for (size_t i = 0; i < B * cond; i++) {                          // scratch = d h
        float s = 1.0f / (1.0f + expf(-h[i]));
        scratch[i] *= s * (1.0f + h[i] * (1.0f - s));
    }
    linear_backward(NULL, dw0, db0, scratch, freq, NULL, B, TIMESTEP_FREQ_DIM, cond);
}
