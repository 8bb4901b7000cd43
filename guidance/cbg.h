/* Classifier-based guidance (D-CBG) for the ancestral samplers (docs/diffusion.md
 * "Classifier-based guidance", "First-order CBG"): a guidance/sampler.h diff_guide_fn that adds
 *     adj[l, v] = gamma · log p_phi(y | z_t with position l set to v)
 * to every drawn position's step distribution (q ∝ q · exp(adj)), so the guided step is
 * q_gamma(z_s^l = v) ∝ q(v) · p_phi(y | z_t^{l←v})^gamma, per position, as the official
 * _cbg_denoise. Masked process: only [MASK] positions are drawn (copied positions stay one-hot),
 * so only their edits are scored; uniform: every position.
 *   exact:       every single-token edit through the classifier: per sequence 1 + P·(V−1) rows
 *                (P drawn positions; ≤ L·V), in chunks of CBG_CHUNK rows over the threads;
 *   first-order: one classifier forward + backward per sequence with the input as a one-hot
 *                matrix, g = ∂ log p(y|onehot)/∂ onehot at onehot(z_t):
 *                log p(y | z_t^{l←v}) ≈ log p(y | z_t) + g[l, v] − g[l, z_t^l].
 * sigma_t of the diffusion model's schedule is fed only when the classifier's config says
 * time_conditioning true. A classifier without time conditioning caches each batch row's
 * adjustments with its tokens: a row that did not change since the last step reuses them (exact,
 * the input is the same).
 * Memory bound of the exact mode: workers × CBG_CHUNK (or fewer, 1 + L·(V−1)) rows of classifier
 * run context (clf_row_bytes) must fit in max_bytes (CBG_DEFAULT_MAX_BYTES); larger sizes are
 * refused by cbg_check with a message suggesting first-order. */
#ifndef STRAND_GUIDANCE_CBG_H
#define STRAND_GUIDANCE_CBG_H
#include <stddef.h>
#include <stdint.h>

#include "guidance/classifier.h"
#include "guidance/noise.h"
#include "guidance/sampler.h"

#define CBG_CHUNK 128                              /* classifier rows per call in the exact mode */
#define CBG_DEFAULT_MAX_BYTES ((size_t)2 << 30)     /* 2 GiB */

typedef enum cbg_mode { CBG_EXACT = 0, CBG_FIRST_ORDER = 1 } cbg_mode;

typedef struct cbg_params {
    const clf_weights *clf; /* read-only, shared by every worker */
    int cls;                /* y in [0, C) */
    double gamma;           /* >= 0; 0 adds nothing */
    cbg_mode mode;
    size_t max_bytes;       /* exact mode's bound (0: CBG_DEFAULT_MAX_BYTES) */
    int use_cache;          /* reuse adjustments of unchanged rows (non-time-conditioned classifier) (1) */
} cbg_params;

typedef struct cbg_stats {
    uint64_t clf_calls, clf_rows; /* classifier calls and rows (exact: edits; first-order: forward+backward rows) */
    uint64_t cached_rows;         /* batch rows served from the cache */
} cbg_stats;

/* "exact" / "first-order" (also "first_order", "approx"); 0 or STRAND_E_ARG. */
int cbg_mode_parse(const char *name, cbg_mode *out);
const char *cbg_mode_name(cbg_mode m);

/* Checks a guided run before it starts: a classifier at all, vocabulary == the diffusion model's
 * (net->vocab), L <= the classifier's length, class in range, gamma finite >= 0, and for the exact
 * mode the memory bound over `workers`. Errors name the classifier (`what`) and the values. */
int cbg_check(const cbg_params *p, const diff_net *net, size_t L, int workers, const char *what);

/* A guide for the sampler runs of sp (process, [MASK] id, schedule — sigma_t for a
 * time-conditioned classifier —, batch, L, threads: at most that many workers, 0 = st_threads()).
 * Plug it in: sp->guide = cbg_guide_fn, sp->guide_user = g. Keep p->clf alive. */
typedef struct cbg_guide cbg_guide;
int cbg_create(cbg_guide **out, const cbg_params *p, const diff_sampler_params *sp);
void cbg_free(cbg_guide *g); /* accepts NULL */
int cbg_guide_fn(void *user, int thread, const int32_t *zt, size_t B, size_t L, int N, double t, double s, double *adj);
void cbg_get_stats(const cbg_guide *g, cbg_stats *st);
#endif
