/* Running a campaign (docs/design.md "Running"): every target × γ is one job; jobs run in
 * parallel over the threads (one sampler each over the model's one shared weights object), a
 * manifest with checksums records every finished job so a rerun of a killed campaign keeps them
 * and redoes only the rest, every file is written atomically, and a dry run prints the plan.
 *
 * Outputs under DIR:
 *   DIR/<target>/gamma-<γ>/samples.smi | samples.fa   every generated sample (FASTA headers carry
 *                                                      target, species= or label=, gamma=, seed=)
 *   DIR/<target>/gamma-<γ>/kept.smi | kept.fa          the samples that pass the target's filters
 *   DIR/<target>/gamma-<γ>/samples.tsv                 per-sample rows (design/samples.h)
 *   DIR/<target>/gamma-<γ>/metrics.json                the job's metrics and parameters
 *   DIR/<target>/gamma-<γ>/job.json                    the job's manifest entry (spec, checksums, seconds)
 *   DIR/metrics.json, DIR/report.html, DIR/campaign.json   the whole campaign
 *   DIR/manifest.json                                  finished jobs: spec checksum + file SHA-256s
 * Every output except manifest.json and job.json (which record timings) depends only on the campaign file
 * and the models: a rerun after a kill, or a run with other --threads, gives the same bytes. */
#ifndef STRAND_DESIGN_RUN_H
#define STRAND_DESIGN_RUN_H
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "design/campaign.h"

/* Called as jobs progress: done/total batch steps over the jobs that run (not the reused ones),
 * by one thread at a time. Non-zero cancels (finished jobs stay in the manifest). */
typedef int (*dz_progress_fn)(void *user, uint64_t done, uint64_t total);

typedef struct dz_run_params {
    const char *out_dir; /* required unless dry_run */
    int threads;         /* 0: strand_get_threads() */
    int dry_run;         /* plan only: nothing is created or written */
    double rate;         /* dry run: network rows per second to assume; 0: time one call per model */
    dz_progress_fn progress;
    void *progress_user;
    FILE *log;           /* one line per finished job (NULL: none) */
} dz_run_params;
dz_run_params dz_run_default_params(void);

typedef struct dz_job {
    int target, g;       /* target index, γ index */
    double gamma;
    uint64_t seed;
    char key[200];       /* "<target>/gamma-<γ>" */
    char spec[65];       /* SHA-256 of everything the job's outputs depend on */
    uint64_t units;      /* progress units: batches × steps */
    double nfe;          /* network rows per sample (estimate in a plan, measured after a run) */
    int reused;          /* its outputs were found complete in the manifest */
    int done;
    double seconds;
    char **seqs;         /* the decoded samples after a run */
    size_t n;
    struct json_t *metrics; /* the job's metrics.json object after a run */
} dz_job;

typedef struct dz_run dz_run;
/* The jobs of a checked campaign (dz_campaign_check), in campaign order; marks the ones a
 * manifest under out_dir (if any) shows finished. */
int dz_run_create(dz_campaign *c, const dz_run_params *p, dz_run **out);
void dz_run_free(dz_run *r);
size_t dz_run_num_jobs(const dz_run *r);
const dz_job *dz_run_job(const dz_run *r, size_t i);
/* The plan as text (targets, γ, NFEs, estimated time); malloc'ed. */
int dz_run_plan(dz_run *r, char **text);
/* Run every job not already finished, then write the campaign-level outputs. */
int dz_run_execute(dz_run *r);
/* The index of the job with this key ("<target>/gamma-<γ>"), -1 when there is none. */
ptrdiff_t dz_run_find_job(const dz_run *r, const char *key);
/* Run only the job `key` (kept when DIR/<key>/job.json or the manifest shows it finished): its
 * files and its job.json, nothing campaign-level, so that the jobs of one campaign can run as
 * separate processes at once (docs/design.md "One job at a time"). Its samples and metrics are
 * then in its dz_job. STRAND_E_NOTFOUND, naming the campaign's jobs, for an unknown key. */
int dz_run_execute_job(dz_run *r, const char *key);
/* The campaign-level outputs (campaign.json, manifest.json merged from the jobs' entries,
 * metrics.json, report.html) from finished jobs' files: the same bytes as dz_run_execute's
 * (manifest.json aside: timings). STRAND_E_NOTFOUND, writing nothing, naming the jobs that are
 * not finished. */
int dz_run_gather(dz_run *r);
#endif
