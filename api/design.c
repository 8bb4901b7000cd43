/* Public design-campaign API (include/strand.h "design campaigns") over design/campaign.h and
 * design/run.h. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "design/campaign.h"
#include "design/run.h"
#include "strand.h"

struct strand_design {
    dz_campaign *c;
    dz_run *r;
    char **metrics_text; /* per job, after a run */
    st_errbuf err;
};

strand_design_params strand_design_default_params(void)
{
    strand_design_params p;
    memset(&p, 0, sizeof p);
    return p;
}

static int fail(strand_design *d, int rc)
{
    if (d) st_err_capture(&d->err);
    return rc;
}

static int wrap(dz_campaign *c, strand_design **out)
{
    int rc = dz_campaign_check(c);
    if (rc < 0) {
        dz_campaign_free(c);
        return rc;
    }
    strand_design *d = calloc(1, sizeof *d);
    if (!d) {
        dz_campaign_free(c);
        return st_err(NULL, STRAND_E_NOMEM, "strand_design: out of memory");
    }
    d->c = c;
    *out = d;
    return 0;
}

int strand_design_load(const char *path, strand_design **out)
{
    if (!out) return st_err(NULL, STRAND_E_ARG, "strand_design_load: NULL output");
    *out = NULL;
    dz_campaign *c = NULL;
    int rc = dz_campaign_load(path, &c);
    return rc < 0 ? rc : wrap(c, out);
}

int strand_design_preset(const char *name, const char *models_dir, strand_design **out)
{
    if (!out) return st_err(NULL, STRAND_E_ARG, "strand_design_preset: NULL output");
    *out = NULL;
    dz_campaign *c = NULL;
    int rc = dz_campaign_preset(name, models_dir, &c);
    return rc < 0 ? rc : wrap(c, out);
}

static void drop_run(strand_design *d)
{
    for (size_t i = 0; d->metrics_text && d->r && i < dz_run_num_jobs(d->r); i++) free(d->metrics_text[i]);
    free(d->metrics_text);
    d->metrics_text = NULL;
    dz_run_free(d->r);
    d->r = NULL;
}

void strand_design_free(strand_design *d)
{
    if (!d) return;
    drop_run(d);
    dz_campaign_free(d->c);
    free(d);
}

const char *strand_design_name(const strand_design *d) { return d ? d->c->name : NULL; }
const char *strand_design_last_error(const strand_design *d) { return d ? d->err.msg : ""; }

static int new_run(strand_design *d, const strand_design_params *p, int dry)
{
    drop_run(d);
    dz_run_params rp = dz_run_default_params();
    rp.out_dir = p->out_dir;
    rp.threads = p->threads;
    rp.dry_run = dry;
    rp.rate = p->rate;
    rp.progress = p->progress;
    rp.progress_user = p->progress_user;
    rp.log = p->quiet ? NULL : stderr;
    return dz_run_create(d->c, &rp, &d->r);
}

int strand_design_plan(strand_design *d, const strand_design_params *p, char **text)
{
    if (!d || !p || !text) return st_err(NULL, STRAND_E_ARG, "strand_design_plan: NULL argument");
    int rc = new_run(d, p, 1);
    if (rc == 0) rc = dz_run_plan(d->r, text);
    return rc < 0 ? fail(d, rc) : 0;
}

/* After a run, a job or a gather: every job's metrics.json text (NULL for jobs not read). */
static int keep_metrics(strand_design *d)
{
    size_t n = dz_run_num_jobs(d->r);
    if (!(d->metrics_text = calloc(n ? n : 1, sizeof *d->metrics_text)))
        return fail(d, st_err(NULL, STRAND_E_NOMEM, "strand_design_run: out of memory"));
    for (size_t i = 0; i < n; i++) {
        const dz_job *j = dz_run_job(d->r, i);
        d->metrics_text[i] = j->metrics ? json_dumps(j->metrics, JSON_INDENT(1) | JSON_SORT_KEYS | JSON_REAL_PRECISION(10)) : NULL;
    }
    return 0;
}

/* job NULL: the whole campaign; else that one job. */
static int run(strand_design *d, const strand_design_params *p, const char *job, int gather, const char *fn)
{
    if (!d || !p) return st_err(NULL, STRAND_E_ARG, "%s: NULL argument", fn);
    if (p->dry_run) return fail(d, st_err(NULL, STRAND_E_ARG, "%s: dry_run is for strand_design_plan", fn));
    int rc = new_run(d, p, 0);
    if (rc == 0) rc = gather ? dz_run_gather(d->r) : job ? dz_run_execute_job(d->r, job) : dz_run_execute(d->r);
    return rc < 0 ? fail(d, rc) : keep_metrics(d);
}

int strand_design_run(strand_design *d, const strand_design_params *p)
{
    return run(d, p, NULL, 0, "strand_design_run");
}

int strand_design_run_job(strand_design *d, const strand_design_params *p, const char *job)
{
    if (!job) return fail(d, st_err(NULL, STRAND_E_ARG, "strand_design_run_job: NULL job"));
    return run(d, p, job, 0, "strand_design_run_job");
}

int strand_design_gather(strand_design *d, const strand_design_params *p)
{
    return run(d, p, NULL, 1, "strand_design_gather");
}

size_t strand_design_num_results(const strand_design *d) { return d && d->r ? dz_run_num_jobs(d->r) : 0; }

int strand_design_result_get(const strand_design *d, size_t i, strand_design_result *out)
{
    if (!d || !out) return st_err(NULL, STRAND_E_ARG, "strand_design_result_get: NULL argument");
    const dz_job *j = d->r ? dz_run_job(d->r, i) : NULL;
    if (!j) return st_err(NULL, STRAND_E_RANGE, "strand_design_result_get: no result %zu (%zu jobs)", i,
                          strand_design_num_results(d));
    const dz_target *t = &d->c->targets[j->target];
    const dz_model *m = &d->c->models[t->model];
    memset(out, 0, sizeof *out);
    out->target = t->name;
    out->job = j->key;
    out->guidance = dz_guidance_name(t->guidance);
    out->label = t->label;
    out->class_name = t->label >= 0 && m->classes ? m->classes[t->label] : NULL;
    out->gamma = j->gamma;
    out->seed = j->seed;
    out->reused = j->reused;
    out->n_samples = j->n;
    out->metrics_json = d->metrics_text ? d->metrics_text[i] : NULL;
    return 0;
}

const char *strand_design_sample(const strand_design *d, size_t i, size_t k)
{
    const dz_job *j = d && d->r ? dz_run_job(d->r, i) : NULL;
    return j && j->seqs && k < j->n ? j->seqs[k] : NULL;
}
