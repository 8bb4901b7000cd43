#include "core/gelu.h"

#include <math.h>

#define GELU_K 0.7978845608028654f /* √(2/π) */

/* ½(1 + tanh u) = σ(2u): one expf instead of tanhf (glibc's tanhf goes through expm1f and
 * was a quarter of the DiT's time). x → −∞: expf overflows to inf and the result is −0. */
static inline float gelu_sig(float x)
{
    float u = GELU_K * (x + 0.044715f * x * x * x);
    return 1.0f / (1.0f + expf(-2.0f * u));
}

void gelu_forward(float *out, const float *inp, size_t n)
{
#pragma omp parallel for schedule(static) if (n > 65536)
    for (size_t i = 0; i < n; i++) out[i] = inp[i] * gelu_sig(inp[i]);
}

/* d/dx ½x(1 + tanh u) = ½(1 + t) + ½x(1 − t²)u' with t = 2s − 1, so = s + 2x·s(1 − s)·u' */
static inline float gelu_grad(float x)
{
    float s = gelu_sig(x);
    return s + 2.0f * x * s * (1.0f - s) * GELU_K * (1.0f + 3.0f * 0.044715f * x * x);
}

/* the textbook tanh form, kept as the reference the tests compare against */
float gelu_ref(float x) { return 0.5f * x * (1.0f + tanhf(GELU_K * (x + 0.044715f * x * x * x))); }

void gelu_backward(float *dinp, const float *inp, const float *dout, size_t n)
{
#pragma omp parallel for schedule(static) if (n > 65536)
    for (size_t i = 0; i < n; i++) dinp[i] += gelu_grad(inp[i]) * dout[i];
}

void gelu_backward_inplace(float *d, const float *inp, size_t n)
{
#pragma omp parallel for schedule(static) if (n > 65536)
    for (size_t i = 0; i < n; i++) d[i] *= gelu_grad(inp[i]);
}

void silu_forward(float *out, const float *inp, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        float x = inp[i];
        out[i] = x / (1.0f + expf(-x));
    }
}

void silu_backward(float *dinp, const float *inp, const float *dout, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        float s = 1.0f / (1.0f + expf(-inp[i]));
        dinp[i] += dout[i] * s * (1.0f + inp[i] * (1.0f - s));
    }
}
