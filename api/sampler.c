/* Public diffusion-sampling API (include/strand.h "diffusion sampling"): a strand_model of kind
 * "dit" or "dimamba" with a diffusion config wrapped as a guidance/sampler denoiser (shared
 * read-only weights, one run context per worker: guidance/diff_train.h diff_model_net). */
#include <stdlib.h>
#include <string.h>

#include "api/classifier_internal.h"
#include "api/model_internal.h"
#include "core/clock.h"
#include "core/dit.h"
#include "core/error.h"
#include "core/threads.h"
#include "guidance/cbg.h"
#include "guidance/diff_train.h"
#include "guidance/noise.h"
#include "guidance/sampler.h"
#include "strand.h"

struct strand_sampler {
    strand_model *model;
    diff_model dm; /* over the model's weights (DiT or DiMamba); net is its sampler adapter */
    diff_net net;
    diff_sampler_params p;
    diff_worker *step_worker; /* for step/posterior, made on first use */
    strand_guidance_fn guide;
    void *guide_user;
    cbg_guide *cbg;           /* classifier-based guidance (strand_sampler_set_classifier) */
    st_errbuf err;
};

/* The process of a DiT diffusion model from its config (guidance/diff_train.h
 * diff_spec_from_json: "diffusion", "noise", "mask_id"). */
static int diffusion_of(const strand_model *m, diff_process *proc, diff_schedule *sched, int *mask_id)
{
    const char *kind = strand_model_kind(m);
    if (strcmp(kind, "dit") != 0 && strcmp(kind, "dimamba") != 0)
        return st_err(NULL, STRAND_E_UNSUPPORTED,
                      "a %s model is not a diffusion model: sampling needs an MDLM or UDLM model (kind \"dit\" or "
                      "\"dimamba\" with a \"diffusion\" config)",
                      kind);
    diff_loss_spec spec;
    if (diff_spec_from_json(&spec, strand_model_config(m), (int)strand_model_vocab_size(m)) < 0)
        return st_err(NULL, STRAND_E_UNSUPPORTED, "not a diffusion model (%s)", strand_last_error());
    *proc = spec.proc;
    *sched = spec.sched;
    *mask_id = spec.proc == DIFF_MASKED ? spec.mask_id : -1;
    return 0;
}

int strand_diffusion_info(const strand_model *m, int *process, int32_t *mask_id, int *time_cond)
{
    if (!m) return st_err(NULL, STRAND_E_ARG, "strand_diffusion_info: NULL model");
    diff_process proc = DIFF_MASKED;
    diff_schedule sched;
    int mk = -1;
    int rc = diffusion_of(m, &proc, &sched, &mk);
    if (rc < 0) return rc;
    if (process) *process = proc == DIFF_MASKED ? STRAND_DIFFUSION_MASKED : STRAND_DIFFUSION_UNIFORM;
    if (mask_id) *mask_id = mk;
    if (time_cond) {
        const dit_weights *w = st_model_dit_weights(m);
        *time_cond = w ? w->cfg.time_cond : st_model_dimamba_weights(m)->cfg.time_cond;
    }
    return 0;
}

strand_sampler_params strand_sampler_default_params(void)
{
    strand_sampler_params p;
    memset(&p, 0, sizeof p);
    p.steps = 32;
    p.batch = 64;
    p.label = -1;
    p.gamma = 1;
    p.top_p = 1;
    p.noise_removal = 1;
    p.use_cache = 1;
    return p;
}

static int guide_adapter(void *user, int thread, const int32_t *zt, size_t B, size_t L, int N, double t, double s,
                         double *adj)
{
    strand_sampler *sp = user;
    int rc = sp->guide(sp->guide_user, thread, zt, B, L, (size_t)N, t, s, adj);
    return rc < 0 ? rc : 0; /* the public guide always fills adj */
}

int strand_sampler_create(strand_model *m, const strand_sampler_params *p, strand_sampler **out)
{
    if (!out) return st_err(NULL, STRAND_E_ARG, "strand_sampler_create: NULL output");
    *out = NULL;
    if (!m || !p) return st_err(NULL, STRAND_E_ARG, "strand_sampler_create: NULL model or parameters");
    strand_sampler *s = calloc(1, sizeof *s);
    if (!s) return st_err(NULL, STRAND_E_NOMEM, "strand_sampler_create: out of memory");
    s->model = m;
    diff_sampler_params *d = &s->p;
    *d = diff_sampler_default_params();
    int rc = diffusion_of(m, &d->proc, &d->sched, &d->mask_id);
    if (rc < 0) goto fail;
    if ((rc = st_model_diff_wrap(m, &s->dm)) < 0) goto fail;
    diff_model_net(&s->dm, &s->net, NULL);
    d->L = p->length ? p->length : s->net.max_len;
    d->steps = p->steps;
    d->batch = p->batch;
    d->seed = p->seed;
    d->threads = p->threads;
    d->label = p->label;
    d->gamma = p->gamma;
    d->top_p = p->top_p;
    d->greedy_final = p->greedy_final;
    d->noise_removal = p->noise_removal;
    d->use_cache = p->use_cache;
    _Static_assert((int)STRAND_TAIL_GREEDY == (int)DIFF_TAIL_GREEDY && (int)STRAND_TAIL_ANCESTRAL == (int)DIFF_TAIL_ANCESTRAL,
                   "public and internal tail codes agree");
    d->tail = p->tail;
    d->progress = p->progress;
    d->progress_user = p->progress_user;
    if ((rc = diff_sampler_check(&s->net, d)) < 0) goto fail;
    *out = s;
    return 0;
fail:
    st_err_prefix("strand_sampler_create");
    diff_model_free(&s->dm);
    free(s);
    return rc;
}

void strand_sampler_free(strand_sampler *s)
{
    if (!s) return;
    diff_worker_free(s->step_worker);
    diff_model_free(&s->dm);
    cbg_free(s->cbg);
    free(s);
}

size_t strand_sampler_length(const strand_sampler *s) { return s ? s->p.L : 0; }
const char *strand_sampler_last_error(const strand_sampler *s) { return s ? s->err.msg : ""; }

int strand_sampler_set_guidance(strand_sampler *s, strand_guidance_fn fn, void *user)
{
    if (!s) return st_err(NULL, STRAND_E_ARG, "strand_sampler_set_guidance: NULL sampler");
    cbg_free(s->cbg);
    s->cbg = NULL;
    s->guide = fn;
    s->guide_user = user;
    s->p.guide = fn ? guide_adapter : NULL;
    s->p.guide_user = fn ? s : NULL;
    diff_worker_free(s->step_worker); /* its adjustment buffer depends on guidance */
    s->step_worker = NULL;
    return 0;
}

int strand_sampler_set_classifier(strand_sampler *s, const strand_classifier *c, int cls, double gamma, int mode,
                                  size_t max_bytes)
{
    if (!s) return st_err(NULL, STRAND_E_ARG, "strand_sampler_set_classifier: NULL sampler");
    strand_sampler_set_guidance(s, NULL, NULL);
    if (!c) return 0;
    if (mode != STRAND_CBG_EXACT && mode != STRAND_CBG_FIRST_ORDER)
        return st_err(&s->err, STRAND_E_ARG, "strand_sampler_set_classifier: mode %d is not STRAND_CBG_*", mode);
    cbg_params cp = {st_classifier_weights(c), cls, gamma, mode == STRAND_CBG_EXACT ? CBG_EXACT : CBG_FIRST_ORDER,
                     max_bytes, s->p.use_cache};
    int workers = s->p.threads > 0 ? s->p.threads : st_threads();
    int rc = cbg_check(&cp, &s->net, s->p.L, workers, "classifier");
    if (rc == 0) rc = cbg_create(&s->cbg, &cp, &s->p);
    if (rc < 0) {
        st_err_prefix("strand_sampler_set_classifier");
        st_err_capture(&s->err);
        return rc;
    }
    s->p.guide = cbg_guide_fn;
    s->p.guide_user = s->cbg;
    s->guide = NULL;
    return 0;
}

int strand_sampler_cbg_stats(const strand_sampler *s, uint64_t *rows, uint64_t *calls, uint64_t *cached)
{
    if (!s) return st_err(NULL, STRAND_E_ARG, "strand_sampler_cbg_stats: NULL sampler");
    cbg_stats st = {0, 0, 0};
    if (s->cbg) cbg_get_stats(s->cbg, &st);
    if (rows) *rows = st.clf_rows;
    if (calls) *calls = st.clf_calls;
    if (cached) *cached = st.cached_rows;
    return 0;
}

static int fail_on(strand_sampler *s, int rc, const char *what)
{
    st_err_prefix("%s", what);
    st_err_capture(&s->err);
    return rc;
}

int strand_sampler_run(strand_sampler *s, size_t n, int32_t *out, strand_sampler_stats *stats)
{
    if (!s || (!out && n)) return st_err(NULL, STRAND_E_ARG, "strand_sampler_run: NULL sampler or output");
    double t0 = st_clock_s();
    diff_sample_stats st;
    int rc = diff_sample(&s->net, &s->p, n, out, &st);
    if (stats) {
        stats->net_calls = st.net_calls;
        stats->net_rows = st.net_rows;
        stats->nfe = st.nfe;
        stats->seconds = st_clock_s() - t0;
    }
    return rc < 0 ? fail_on(s, rc, "strand_sampler_run") : 0;
}

static int step_worker(strand_sampler *s)
{
    if (s->step_worker) return 0;
    return diff_worker_create(&s->net, s->p.batch, s->p.L, s->p.guide != NULL, &s->step_worker);
}

int strand_sampler_step(strand_sampler *s, const int32_t *zt, size_t n, double t, double s_next, strand_rng *rngs,
                        int32_t *zs)
{
    if (!s || (n && (!zt || !rngs || !zs))) return st_err(NULL, STRAND_E_ARG, "strand_sampler_step: NULL argument");
    int rc = step_worker(s);
    if (rc == 0) rc = diff_sample_step(&s->net, s->step_worker, &s->p, zt, n, t, s_next, rngs, zs, NULL);
    return rc < 0 ? fail_on(s, rc, "strand_sampler_step") : 0;
}

int strand_sampler_posterior(strand_sampler *s, const int32_t *zt, size_t n, double t, double s_next, double *q)
{
    if (!s || (n && (!zt || !q))) return st_err(NULL, STRAND_E_ARG, "strand_sampler_posterior: NULL argument");
    int rc = step_worker(s);
    if (rc == 0) rc = diff_posterior(&s->net, s->step_worker, &s->p, zt, n, t, s_next, q);
    return rc < 0 ? fail_on(s, rc, "strand_sampler_posterior") : 0;
}
