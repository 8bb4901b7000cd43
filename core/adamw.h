/* AdamW over a paramblock (PyTorch torch.optim.AdamW semantics, decoupled weight decay),
 * gradient clipping by the global L2 norm (torch.nn.utils.clip_grad_norm_) and an exponential
 * moving average of the weights. One flat loop per entry; decay applies where entry.decay != 0. */
#ifndef STRAND_CORE_ADAMW_H
#define STRAND_CORE_ADAMW_H
#include <stdint.h>

#include "core/paramblock.h"

typedef struct adamw_params {
    float lr;           /* base learning rate (the schedule multiplies it) */
    float beta1, beta2; /* moment decay rates */
    float eps;          /* added to sqrt(v_hat) */
    float weight_decay; /* decoupled: p -= lr * wd * p, only on entries with decay != 0 */
} adamw_params;

/* PyTorch defaults: lr 1e-3, betas (0.9, 0.999), eps 1e-8, weight_decay 0.01. */
adamw_params adamw_default_params(void);

/* One AdamW update with learning rate `lr` at step `t` (1-based: the first update is t = 1).
 * Allocates the moments (zeroed) on first use. Per element, exactly as PyTorch 1.13:
 *   p *= 1 - lr*wd;  m = b1*m + (1-b1)*g;  v = b2*v + (1-b2)*g*g;
 *   p -= (lr / (1-b1^t)) * m / (sqrt(v) / sqrt(1-b2^t) + eps). */
int adamw_step(paramblock *pb, const adamw_params *hp, double lr, int64_t t);

/* Global L2 norm of all gradients (padding excluded); if max_norm > 0 and the norm exceeds it,
 * scale every gradient by max_norm / (norm + 1e-6) (clip_grad_norm_). Returns the norm before
 * clipping (may be inf/nan: then the gradients are left untouched and the caller decides). */
float clip_grad_norm(paramblock *pb, float max_norm);
/* The norm only. */
float grad_norm(const paramblock *pb);

/* EMA of the weights in its own block with the same table: ema = d*ema + (1-d)*params. */
int ema_init(paramblock *ema, const paramblock *src); /* copies the table and the current weights */
void ema_update(paramblock *ema, const paramblock *src, float decay);
#endif
