/* Public diffusion-loss API (include/strand.h "diffusion losses and NELBO"): per-token losses and
 * the Monte-Carlo NELBO of a strand_model of kind "dit" or "dimamba" with a diffusion config, over its shared
 * read-only weights with a run context per call (docs/diffusion.md "Evaluation"). */
#include "api/model_internal.h"
#include "core/error.h"
#include "guidance/diff_train.h"
#include "strand.h"

static int wrap(const strand_model *m, diff_model *dm, const char *what)
{
    if (!m) return st_err(NULL, STRAND_E_ARG, "%s: NULL model", what);
    int rc = st_model_diff_wrap(m, dm);
    return rc < 0 ? st_err_prefix("%s", what) : 0;
}

int strand_diffusion_per_token(const strand_model *m, const int32_t *x0, const int32_t *zt, const double *t,
                               const int32_t *labels, size_t B, size_t L, float *loss)
{
    if (!x0 || !zt || !t || !loss || B == 0 || L == 0)
        return st_err(NULL, STRAND_E_ARG, "strand_diffusion_per_token: NULL array or empty batch");
    diff_model dm;
    int rc = wrap(m, &dm, "strand_diffusion_per_token");
    if (rc < 0) return rc;
    rc = diff_model_per_token(&dm, x0, zt, t, labels, B, L, loss);
    diff_model_free(&dm);
    return rc;
}

int strand_diffusion_nelbo(const strand_model *m, const int32_t *ids, const int32_t *labels, size_t n, size_t L,
                           int samples, uint64_t seed, double *nelbo)
{
    if (!ids || !nelbo || n == 0 || L == 0 || samples < 1)
        return st_err(NULL, STRAND_E_ARG, "strand_diffusion_nelbo: NULL array, no sequences or samples < 1");
    diff_model dm;
    int rc = wrap(m, &dm, "strand_diffusion_nelbo");
    if (rc < 0) return rc;
    size_t rows = n * (size_t)samples;
    rc = diff_nelbo(&dm, ids, labels, n, L, samples, seed, rows < 64 ? rows : 64, nelbo);
    diff_model_free(&dm);
    return rc;
}
