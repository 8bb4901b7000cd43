/* Block diffusion attention masks (docs/bd3lm.md "Training input and attention mask"). Every
 * query row allows at most two contiguous key ranges; one function gives them and two fillers
 * write the boolean and the additive form. */
#include "core/block_mask.h"

#include <math.h>
#include <string.h>

typedef struct key_ranges { size_t a0, a1, b0, b1; } key_ranges; /* [a0, a1) and [b0, b1) */

static key_ranges train_row(size_t i, size_t L, size_t Lb)
{
    size_t q = i < L ? i : i - L;
    size_t s = q / Lb * Lb, e = s + Lb < L ? s + Lb : L;
    if (i < L) return (key_ranges){s, e, L, L + s}; /* noisy: own noisy block + clean blocks before */
    return (key_ranges){L, L + e, 0, 0};             /* clean: clean blocks up to its own */
}

static key_ranges causal_row(size_t i, size_t n, size_t Lb)
{
    size_t e = (i / Lb + 1) * Lb;
    return (key_ranges){0, e < n ? e : n, 0, 0};
}

static void fill_bool(uint8_t *row, size_t n, key_ranges r)
{
    memset(row, 0, n);
    if (r.a1 > r.a0) memset(row + r.a0, 1, r.a1 - r.a0);
    if (r.b1 > r.b0) memset(row + r.b0, 1, r.b1 - r.b0);
}

static void fill_add(float *row, size_t n, key_ranges r)
{
    for (size_t j = 0; j < n; j++) row[j] = -INFINITY;
    for (size_t j = r.a0; j < r.a1; j++) row[j] = 0.0f;
    for (size_t j = r.b0; j < r.b1; j++) row[j] = 0.0f;
}

void block_mask_train(uint8_t *allowed, size_t L, size_t Lb)
{
    for (size_t i = 0; i < 2 * L; i++) fill_bool(allowed + i * 2 * L, 2 * L, train_row(i, L, Lb));
}

void block_mask_causal(uint8_t *allowed, size_t n, size_t Lb)
{
    for (size_t i = 0; i < n; i++) fill_bool(allowed + i * n, n, causal_row(i, n, Lb));
}

void block_mask_train_additive(float *mask, size_t L, size_t Lb)
{
    for (size_t i = 0; i < 2 * L; i++) fill_add(mask + i * 2 * L, 2 * L, train_row(i, L, Lb));
}

void block_mask_causal_additive(float *mask, size_t n, size_t Lb)
{
    for (size_t i = 0; i < n; i++) fill_add(mask + i * n, n, causal_row(i, n, Lb));
}
