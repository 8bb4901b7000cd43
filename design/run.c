/* The campaign runner (design/run.h, docs/design.md "Running"). */
#include "design/run.h"

#include <dirent.h>
#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "caduceus/vep_sha256.h"
#include "chem/chem.h"
#include "chem/qed.h"
#include "core/atomic_file.h"
#include "core/clock.h"
#include "core/error.h"
#include "core/threads.h"
#include "design/judge.h"
#include "design/run_report.h"
#include "design/samples.h"
#include "design/metrics_smiles.h"
#include "io/table.h"

#define MANIFEST_FORMAT 1
#define JOB_ENTRY "job.json" /* a job's own manifest entry, in its directory */
#define JSON_FLAGS (JSON_INDENT(1) | JSON_SORT_KEYS | JSON_REAL_PRECISION(10))

struct dz_run {
    dz_campaign *c;
    dz_run_params p;
    dz_job *jobs;
    size_t n_jobs;
    char (*train_sha)[65]; /* per model ("" without a training set) */
    ms_reference **train;  /* per model (SMILES training sets), loaded by execute */
    json_t *manifest;      /* {"format", "campaign", "jobs": {key: entry}} */
    /* progress over the jobs that run */
    uint64_t done, total;
    int cancel;
    int one_job;           /* dz_run_execute_job: no campaign-level file is written */
    st_errbuf err;
};

dz_run_params dz_run_default_params(void)
{
    dz_run_params p;
    memset(&p, 0, sizeof p);
    return p;
}

size_t dz_run_num_jobs(const dz_run *r) { return r ? r->n_jobs : 0; }
const dz_job *dz_run_job(const dz_run *r, size_t i) { return r && i < r->n_jobs ? &r->jobs[i] : NULL; }

static const char *sample_file(const dz_model *m) { return m->dna ? "samples.fa" : "samples.smi"; }
static const char *kept_file(const dz_model *m) { return m->dna ? "kept.fa" : "kept.smi"; }

/* The files a finished job leaves, in manifest order. */
static int job_files(const dz_model *m, const char *names[4])
{
    names[0] = sample_file(m), names[1] = kept_file(m), names[2] = "samples.tsv", names[3] = "metrics.json";
    return 4;
}

static void hex_of(const uint8_t d[32], char hex[65])
{
    for (int i = 0; i < 32; i++) snprintf(hex + 2 * i, 3, "%02x", d[i]);
}

static int uses_cfg_pair(const dz_target *t, double gamma)
{
    double g = t->guidance == DZ_GUIDE_CFG ? gamma : t->guidance == DZ_GUIDE_BOTH ? t->cfg_gamma : 0;
    return (t->guidance == DZ_GUIDE_CFG || t->guidance == DZ_GUIDE_BOTH) && g != 0 && g != 1;
}

/* Everything a job's outputs depend on, hashed: the manifest's "spec". */
static void job_spec(const dz_run *r, const dz_job *j, char hex[65])
{
    const dz_target *t = &r->c->targets[j->target];
    const dz_model *m = &r->c->models[t->model];
    char buf[4096];
    int k = snprintf(buf, sizeof buf,
                     "strand-design-job 1\nstrand %s\nmodel %s\nlength %zu\nguidance %s\nlabel %d\ngamma %.17g\n"
                     "cfg_gamma %.17g\nsteps %d\nsamples %zu\nbatch %zu\nseed %llu\ntop_p %.17g\ntrain %s %d\n",
                     strand_version_string(), m->sha256, m->length, dz_guidance_name(t->guidance), t->label, j->gamma,
                     t->cfg_gamma, t->steps, t->samples, t->batch, (unsigned long long)j->seed, t->top_p,
                     r->train_sha[t->model], m->train_canonical);
    const dz_filters *f = &t->filters;
    k += snprintf(buf + k, sizeof buf - (size_t)k, "filters %d %d %d", f->valid, f->dedupe, f->novel);
    for (int p = 0; p < DZ_PROP_COUNT; p++)
        if (f->range[p].set) k += snprintf(buf + k, sizeof buf - (size_t)k, " %s %.17g %.17g", dz_prop_name(p), f->range[p].lo, f->range[p].hi);
    if (t->classifier >= 0) k += snprintf(buf + k, sizeof buf - (size_t)k, "\nclassifier %s", r->c->classifiers[t->classifier].sha256);
    for (int i = 0; i < m->n_classes; i++) k += snprintf(buf + k, sizeof buf - (size_t)k, "\nclass %s", m->classes[i]);
    /* docs/design.md "Judging DNA samples" (absent keys leave the spec as it was) */
    if (m->judge >= 0) k += snprintf(buf + k, sizeof buf - (size_t)k, "\njudge %s", r->c->classifiers[m->judge].sha256);
    if (t->tail != STRAND_TAIL_NONE) k += snprintf(buf + k, sizeof buf - (size_t)k, "\ntail %s", dz_tail_name(t->tail));
    for (int i = 0; m->ref_sha && i < m->num_classes; i++)
        k += snprintf(buf + k, sizeof buf - (size_t)k, "\nreference %s", m->ref_sha[i]);
    st_sha256 s;
    st_sha256_init(&s);
    st_sha256_update(&s, buf, strlen(buf));
    uint8_t d[32];
    st_sha256_final(&s, d);
    hex_of(d, hex);
}

static int join(char *out, size_t cap, const char *a, const char *b, const char *c)
{
    int k = c ? snprintf(out, cap, "%s/%s/%s", a, b, c) : snprintf(out, cap, "%s/%s", a, b);
    return k < 0 || (size_t)k >= cap ? st_err(NULL, STRAND_E_RANGE, "path too long: %s/%s", a, b) : 0;
}

static char *dup_str(const char *s)
{
    size_t n = strlen(s) + 1;
    char *d = malloc(n);
    if (d) memcpy(d, s, n);
    return d;
}

/* ---- the manifest -------------------------------------------------------------------------- */

static void load_manifest(dz_run *r)
{
    r->manifest = NULL;
    char path[4096];
    if (!r->p.out_dir || join(path, sizeof path, r->p.out_dir, "manifest.json", NULL) < 0) goto fresh;
    struct stat st;
    if (stat(path, &st) != 0) goto fresh;
    json_error_t je;
    json_t *m = json_load_file(path, 0, &je);
    if (!m || !json_is_object(json_object_get(m, "jobs")) ||
        json_integer_value(json_object_get(m, "format")) != MANIFEST_FORMAT) {
        if (r->p.log) fprintf(r->p.log, "design: %s is not a manifest of this strand (%s): every job is redone\n", path,
                              m ? "unexpected content" : je.text);
        json_decref(m);
        goto fresh;
    }
    r->manifest = m;
    return;
fresh:
    r->manifest = json_object();
    json_object_set_new(r->manifest, "format", json_integer(MANIFEST_FORMAT));
    json_object_set_new(r->manifest, "jobs", json_object());
}

/* 1 when manifest entry e shows job j finished with the same spec and every file is there with
 * its checksum. */
static int entry_finished(const dz_run *r, const dz_job *j, json_t *e)
{
    if (!e || strcmp(json_string_value(json_object_get(e, "spec")) ? json_string_value(json_object_get(e, "spec")) : "",
                     j->spec))
        return 0;
    json_t *files = json_object_get(e, "files");
    const dz_model *m = &r->c->models[r->c->targets[j->target].model];
    const char *names[4];
    int nf = job_files(m, names);
    for (int i = 0; i < nf; i++) {
        const char *want = json_string_value(json_object_get(files, names[i]));
        char path[4096], hex[65];
        if (!want || join(path, sizeof path, r->p.out_dir, j->key, names[i]) < 0) return 0;
        if (st_sha256_file(path, hex) < 0 || strcmp(hex, want)) return 0;
    }
    return 1;
}

/* 1 when job j is finished by DIR/manifest.json's entry or, failing that, by the job's own entry
 * DIR/<job>/job.json (a --job run); a job.json entry that holds is copied into the manifest. */
static int job_finished(dz_run *r, const dz_job *j)
{
    json_t *jobs = json_object_get(r->manifest, "jobs");
    if (entry_finished(r, j, json_object_get(jobs, j->key))) return 1;
    char path[4096];
    if (join(path, sizeof path, r->p.out_dir, j->key, JOB_ENTRY) < 0) return 0;
    json_t *e = json_load_file(path, 0, NULL);
    if (!entry_finished(r, j, e)) {
        json_decref(e);
        return 0;
    }
    json_object_set_new(jobs, j->key, e);
    return 1;
}

static int write_text_atomic(const char *path, const char *text)
{
    st_atomic_file af;
    int rc = st_atomic_open(&af, path, ST_ATOMIC_STREAM);
    if (rc < 0) return rc;
    fputs(text, af.fp);
    if (ferror(af.fp)) {
        st_atomic_abort(&af);
        return st_err(NULL, STRAND_E_IO, "%s: write error", path);
    }
    return st_atomic_commit(&af);
}

static int write_json_atomic(const char *path, const json_t *o)
{
    char *text = json_dumps(o, JSON_FLAGS);
    if (!text) return st_err(NULL, STRAND_E_NOMEM, "%s: out of memory", path);
    size_t n = strlen(text);
    char *t2 = realloc(text, n + 2);
    if (!t2) {
        free(text);
        return st_err(NULL, STRAND_E_NOMEM, "%s: out of memory", path);
    }
    t2[n] = '\n', t2[n + 1] = 0;
    int rc = write_text_atomic(path, t2);
    free(t2);
    return rc;
}

static int save_manifest(dz_run *r)
{
    char path[4096];
    int rc = join(path, sizeof path, r->p.out_dir, "manifest.json", NULL);
    if (rc == 0) json_object_set_new(r->manifest, "campaign", json_string(r->c->name));
    return rc < 0 ? rc : write_json_atomic(path, r->manifest);
}

/* ---- creating the run ----------------------------------------------------------------------- */

int dz_run_create(dz_campaign *c, const dz_run_params *p, dz_run **out)
{
    if (!out) return st_err(NULL, STRAND_E_ARG, "dz_run_create: NULL output");
    *out = NULL;
    if (!c || !p) return st_err(NULL, STRAND_E_ARG, "dz_run_create: NULL argument");
    if (!c->checked) return st_err(NULL, STRAND_E_ARG, "dz_run_create: the campaign is not checked (dz_campaign_check)");
    if (!p->dry_run && (!p->out_dir || !*p->out_dir)) return st_err(NULL, STRAND_E_ARG, "design: no output directory");
    dz_run *r = calloc(1, sizeof *r);
    if (!r) return st_err(NULL, STRAND_E_NOMEM, "design: out of memory");
    r->c = c;
    r->p = *p;
    size_t n = 0;
    for (int t = 0; t < c->n_targets; t++) n += (size_t)c->targets[t].n_gamma;
    r->jobs = calloc(n, sizeof *r->jobs);
    r->train_sha = calloc((size_t)c->n_models, sizeof *r->train_sha);
    r->train = calloc((size_t)c->n_models, sizeof *r->train);
    if (!r->jobs || !r->train_sha || !r->train) {
        dz_run_free(r);
        return st_err(NULL, STRAND_E_NOMEM, "design: out of memory");
    }
    for (int i = 0; i < c->n_models; i++)
        if (c->models[i].train_path && st_sha256_file(c->models[i].train_path, r->train_sha[i]) < 0) {
            dz_run_free(r);
            return st_err_prefix("design");
        }
    load_manifest(r);
    for (int t = 0; t < c->n_targets; t++) {
        const dz_target *tg = &c->targets[t];
        const dz_model *m = &c->models[tg->model];
        for (int g = 0; g < tg->n_gamma; g++) {
            dz_job *j = &r->jobs[r->n_jobs++];
            j->target = t, j->g = g, j->gamma = tg->gamma[g];
            j->seed = dz_job_seed(tg, g);
            snprintf(j->key, sizeof j->key, "%s/%s", tg->name, tg->gamma_dir[g]);
            job_spec(r, j, j->spec);
            size_t B = tg->batch < tg->samples ? tg->batch : tg->samples;
            j->units = (uint64_t)((tg->samples + B - 1) / B) * (uint64_t)tg->steps;
            /* + the final call: masked noise removal, or a uniform model's tail (a CFG pair like a step) */
            int pair = uses_cfg_pair(tg, j->gamma) ? 2 : 1;
            j->nfe = (double)tg->steps * pair + (m->process == STRAND_DIFFUSION_MASKED ? 1 : 0) +
                     (tg->tail != STRAND_TAIL_NONE ? pair : 0);
            j->reused = p->out_dir ? job_finished(r, j) : 0;
        }
    }
    *out = r;
    return 0;
}

void dz_run_free(dz_run *r)
{
    if (!r) return;
    for (size_t i = 0; i < r->n_jobs; i++) {
        for (size_t k = 0; k < r->jobs[i].n && r->jobs[i].seqs; k++) free(r->jobs[i].seqs[k]);
        free(r->jobs[i].seqs);
        json_decref(r->jobs[i].metrics);
    }
    for (int i = 0; r->train && i < r->c->n_models; i++) ms_reference_free(r->train[i]);
    free(r->train), free(r->train_sha), free(r->jobs);
    json_decref(r->manifest);
    free(r);
}

/* ---- the plan ----------------------------------------------------------------------------- */

static int workers_for(const dz_run *r, size_t nrun)
{
    int T = r->p.threads > 0 ? r->p.threads : strand_get_threads();
    return nrun < (size_t)T ? (int)(nrun ? nrun : 1) : T;
}

/* Network rows per second of model m: one call of `rows` rows, timed (a short probe). */
static double probe_rate(dz_model *m, size_t rows)
{
    size_t L = m->length, V = strand_model_vocab_size(m->model);
    int32_t *ids = calloc(rows * L, sizeof *ids);
    float *out = malloc(rows * L * V * sizeof *out);
    double rate = 0;
    if (ids && out) {
        double t0 = st_clock_s();
        if (strand_model_logits(m->model, ids, rows, L, NULL, NULL, out) == 0) {
            double dt = st_clock_s() - t0;
            rate = dt > 0 ? (double)rows / dt : 0;
        }
    }
    free(ids), free(out);
    return rate;
}

int dz_run_plan(dz_run *r, char **text)
{
    if (!r || !text) return st_err(NULL, STRAND_E_ARG, "dz_run_plan: NULL argument");
    *text = NULL;
    dz_campaign *c = r->c;
    size_t cap = 4096 + r->n_jobs * 256, k = 0, nrun = 0;
    char *s = malloc(cap);
    if (!s) return st_err(NULL, STRAND_E_NOMEM, "design: out of memory");
    double *rate = calloc((size_t)c->n_models, sizeof *rate);
    if (!rate) {
        free(s);
        return st_err(NULL, STRAND_E_NOMEM, "design: out of memory");
    }
    double rows_total = 0, secs = 0;
    for (size_t i = 0; i < r->n_jobs; i++) nrun += !r->jobs[i].reused;
    int W = workers_for(r, nrun);
#define PUT(...) k += (size_t)snprintf(s + k, k < cap ? cap - k : 0, __VA_ARGS__)
    PUT("campaign %s (%s): %d targets, %zu jobs (target x gamma)\n", c->name, c->file, c->n_targets, r->n_jobs);
    for (int i = 0; i < c->n_models; i++)
        PUT("  model %s: %s (%s, %s, %d classes, length %zu, sha256 %.12s)\n", c->models[i].name, c->models[i].path,
            c->models[i].process == STRAND_DIFFUSION_MASKED ? "MDLM" : "UDLM", c->models[i].dna ? "DNA" : "SMILES",
            c->models[i].num_classes, c->models[i].length, c->models[i].sha256);
    PUT("  %-28s %-10s %-8s %-16s %7s %6s %8s %6s %20s %8s %s\n", "job", "model", "guidance", "class", "gamma",
        "steps", "samples", "batch", "seed", "NFE/smp", "status");
    for (size_t i = 0; i < r->n_jobs; i++) {
        const dz_job *j = &r->jobs[i];
        const dz_target *t = &c->targets[j->target];
        dz_model *m = &c->models[t->model];
        char cls[64] = "-";
        if (t->label >= 0) {
            if (m->classes) snprintf(cls, sizeof cls, "%d %s", t->label, m->classes[t->label]);
            else snprintf(cls, sizeof cls, "%d", t->label);
        }
        if (k + 512 > cap) {
            char *ns = realloc(s, cap *= 2);
            if (!ns) break;
            s = ns;
        }
        PUT("  %-28s %-10s %-8s %-16s %7g %6d %8zu %6zu %20llu %8.0f %s\n", j->key, m->name,
            dz_guidance_name(t->guidance), cls, j->gamma, t->steps, t->samples, t->batch, (unsigned long long)j->seed,
            j->nfe, j->reused ? "finished (manifest)" : "to run");
        if (j->reused) continue;
        double rows = j->nfe * (double)t->samples;
        rows_total += rows;
        if (r->p.rate > 0) rate[t->model] = r->p.rate;
        else if (rate[t->model] == 0) rate[t->model] = probe_rate(m, t->batch < 64 ? t->batch : 64);
        if (rate[t->model] > 0) secs += rows / rate[t->model];
    }
    PUT("to run: %zu of %zu jobs on %d worker%s, %.0f network rows (at most: the MDLM no-change cache saves some)\n",
        nrun, r->n_jobs, W, W == 1 ? "" : "s", rows_total);
    if (nrun) {
        if (r->p.rate > 0) PUT("estimated time: %.0f s at the stated %.1f rows/s per worker\n", secs / W, r->p.rate);
        else {
            PUT("estimated time: %.0f s from a timing probe (one network call per model:", secs / W);
            for (int i = 0; i < c->n_models; i++)
                if (rate[i] > 0) PUT(" %s %.1f rows/s", c->models[i].name, rate[i]);
            PUT(")\n");
        }
    }
#undef PUT
    free(rate);
    *text = s;
    return 0;
}

/* ---- running ------------------------------------------------------------------------------ */

static int mkdir_p(const char *path)
{
    char buf[4096];
    size_t n = strlen(path);
    if (n >= sizeof buf) return st_err(NULL, STRAND_E_RANGE, "path too long: %s", path);
    memcpy(buf, path, n + 1);
    for (size_t i = 1; i <= n; i++) {
        if (buf[i] != '/' && buf[i] != 0) continue;
        char ch = buf[i];
        buf[i] = 0;
        if (mkdir(buf, 0777) != 0 && errno != EEXIST)
            return st_err(NULL, STRAND_E_IO, "cannot create directory \"%s\": %s", buf, strerror(errno));
        struct stat st;
        if (stat(buf, &st) != 0 || !S_ISDIR(st.st_mode))
            return st_err(NULL, STRAND_E_IO, "\"%s\" exists and is not a directory", buf);
        buf[i] = ch;
    }
    return 0;
}

/* Temporaries of our own files left by a killed run ("<name>.tmp<pid>.XXXXXX", core/atomic_file.h). */
static void remove_stale_tmp(const char *dir, const char *const *names, int nn)
{
    DIR *d = opendir(dir);
    if (!d) return;
    struct dirent *e;
    while ((e = readdir(d))) {
        for (int i = 0; i < nn; i++) {
            size_t k = strlen(names[i]);
            if (!strncmp(e->d_name, names[i], k) && !strncmp(e->d_name + k, ".tmp", 4)) {
                char p[4096];
                if (join(p, sizeof p, dir, e->d_name, NULL) == 0) remove(p);
            }
        }
    }
    closedir(d);
}

/* The training set of model mi as a metrics reference (novelty, the "novel" filter, GuacaMol KL). */
static int load_train(dz_run *r, int mi)
{
    dz_model *m = &r->c->models[mi];
    if (r->train[mi] || !m->train_path) return 0;
    st_table *t = NULL;
    int rc = st_table_open(&t, m->train_path, ST_TABLE_AUTO, m->train_column);
    if (rc < 0) return rc;
    size_t n = 0, cap = 1024;
    char **smi = malloc(cap * sizeof *smi);
    if (!smi) rc = st_err(NULL, STRAND_E_NOMEM, "design: out of memory");
    const char *v;
    while (rc == 0 && (rc = st_table_next(t, &v)) == 1) {
        rc = 0;
        if (n == cap) {
            char **ns = realloc(smi, (cap *= 2) * sizeof *smi);
            if (!ns) {
                rc = st_err(NULL, STRAND_E_NOMEM, "design: out of memory");
                break;
            }
            smi = ns;
        }
        if (!(smi[n] = dup_str(v))) rc = st_err(NULL, STRAND_E_NOMEM, "design: out of memory");
        else n++;
    }
    st_table_close(t);
    ms_params p;
    ms_default_params(&p);
    p.threads = r->p.threads > 0 ? r->p.threads : strand_get_threads();
    if (rc == 0) rc = ms_reference_build((const char *const *)smi, n, m->train_canonical, &p, &r->train[mi]);
    for (size_t i = 0; i < n; i++) free(smi[i]);
    free(smi);
    return rc < 0 ? st_err_prefix("%s (training set of model %s)", m->train_path, m->name) : 0;
}

typedef struct job_prog {
    dz_run *r;
    uint64_t last;
} job_prog;

static int on_job_progress(void *user, uint64_t done, uint64_t total)
{
    job_prog *jp = user;
    dz_run *r = jp->r;
    int stop = 0;
#pragma omp critical(dz_progress)
    {
        r->done += done - jp->last;
        jp->last = done;
        if (r->p.progress && r->p.progress(r->p.progress_user, r->done, r->total)) r->cancel = 1;
        stop = r->cancel;
    }
    return stop;
}

/* Decoded text of every sample (ids without a token, like the DNA padding rows, dropped). */
static int decode_all(strand_tokenizer *tok, const int32_t *ids, size_t n, size_t L, char ***out)
{
    char **seqs = calloc(n, sizeof *seqs);
    int32_t *keep = malloc(L * sizeof *keep);
    size_t cap = 16 * L + 16;
    char *buf = malloc(cap);
    int rc = seqs && keep && buf ? 0 : st_err(NULL, STRAND_E_NOMEM, "design: out of memory");
    for (size_t i = 0; i < n && rc == 0; i++) {
        size_t k = 0, len = 0;
        for (size_t l = 0; l < L; l++)
            if (strand_tokenizer_token(tok, ids[i * L + l])) keep[k++] = ids[i * L + l];
        if ((rc = strand_tokenizer_decode(tok, keep, k, buf, cap, &len)) < 0) break;
        if (!(seqs[i] = dup_str(buf))) rc = st_err(NULL, STRAND_E_NOMEM, "design: out of memory");
    }
    free(keep), free(buf);
    if (rc < 0) {
        for (size_t i = 0; seqs && i < n; i++) free(seqs[i]);
        free(seqs);
        return rc;
    }
    *out = seqs;
    return 0;
}

static void fasta_header(FILE *fp, const dz_campaign *c, const dz_job *j, size_t i)
{
    const dz_target *t = &c->targets[j->target];
    const dz_model *m = &c->models[t->model];
    fprintf(fp, ">%s_%s_%zu target=%s guidance=%s", t->name, t->gamma_dir[j->g], i + 1, t->name,
            dz_guidance_name(t->guidance));
    if (t->label >= 0) {
        if (m->classes) fprintf(fp, " species=%s", m->classes[t->label]);
        fprintf(fp, " label=%d", t->label);
    }
    fprintf(fp, " gamma=%g seed=%llu\n", j->gamma, (unsigned long long)j->seed);
}

static int write_samples(const char *path, const dz_campaign *c, const dz_job *j, const dz_eval *ev, int kept_only)
{
    const dz_model *m = &c->models[c->targets[j->target].model];
    st_atomic_file af;
    int rc = st_atomic_open(&af, path, ST_ATOMIC_STREAM);
    if (rc < 0) return rc;
    for (size_t i = 0; i < ev->n; i++) {
        if (kept_only && !ev->kept[i]) continue;
        if (m->dna) {
            fasta_header(af.fp, c, j, i);
            fprintf(af.fp, "%s\n", ev->seqs[i]);
        } else if (kept_only) {
            fprintf(af.fp, "%s\t%s_%s_%zu\n", ev->ms[i].canonical ? ev->ms[i].canonical : ev->seqs[i],
                    c->targets[j->target].name, c->targets[j->target].gamma_dir[j->g], i + 1);
        } else {
            fprintf(af.fp, "%s\n", ev->seqs[i]);
        }
    }
    if (ferror(af.fp)) {
        st_atomic_abort(&af);
        return st_err(NULL, STRAND_E_IO, "%s: write error", path);
    }
    return st_atomic_commit(&af);
}

static json_t *filters_json(const dz_filters *f)
{
    json_t *o = json_object();
    json_object_set_new(o, "valid", json_boolean(f->valid));
    json_object_set_new(o, "dedupe", json_boolean(f->dedupe));
    json_object_set_new(o, "novel", json_boolean(f->novel));
    for (int p = 0; p < DZ_PROP_COUNT; p++)
        if (f->range[p].set) {
            json_t *a = json_array();
            json_array_append_new(a, isinf(f->range[p].lo) ? json_null() : json_real(f->range[p].lo));
            json_array_append_new(a, isinf(f->range[p].hi) ? json_null() : json_real(f->range[p].hi));
            json_object_set_new(o, dz_prop_name(p), a);
        }
    return o;
}

static json_t *job_json(const dz_run *r, const dz_job *j, json_t *metrics, double nfe)
{
    const dz_target *t = &r->c->targets[j->target];
    const dz_model *m = &r->c->models[t->model];
    json_t *o = json_object();
    json_object_set_new(o, "target", json_string(t->name));
    json_object_set_new(o, "job", json_string(j->key));
    json_object_set_new(o, "model", json_string(m->name));
    json_object_set_new(o, "model_sha256", json_string(m->sha256));
    json_object_set_new(o, "kind", json_string(m->dna ? "dna" : "smiles"));
    json_object_set_new(o, "process", json_string(m->process == STRAND_DIFFUSION_MASKED ? "mdlm" : "udlm"));
    json_object_set_new(o, "guidance", json_string(dz_guidance_name(t->guidance)));
    json_object_set_new(o, "label", t->label >= 0 ? json_integer(t->label) : json_null());
    json_object_set_new(o, "class", t->label >= 0 && m->classes ? json_string(m->classes[t->label]) : json_null());
    json_object_set_new(o, "gamma", json_real(j->gamma));
    if (t->guidance == DZ_GUIDE_BOTH) json_object_set_new(o, "cfg_gamma", json_real(t->cfg_gamma));
    json_object_set_new(o, "steps", json_integer(t->steps));
    json_object_set_new(o, "samples", json_integer((json_int_t)t->samples));
    json_object_set_new(o, "batch", json_integer((json_int_t)t->batch));
    json_object_set_new(o, "seed", json_integer((json_int_t)j->seed));
    json_object_set_new(o, "top_p", json_real(t->top_p));
    if (t->tail != STRAND_TAIL_NONE) json_object_set_new(o, "tail", json_string(dz_tail_name(t->tail)));
    json_object_set_new(o, "nfe", json_real(nfe));
    json_object_set_new(o, "filters", filters_json(&t->filters));
    json_object_set_new(o, "metrics", metrics);
    return o;
}

/* One job, start to finish, on the calling thread (sampler workers: `inner`). */
static int run_job(dz_run *r, dz_job *j, int inner)
{
    dz_campaign *c = r->c;
    const dz_target *t = &c->targets[j->target];
    dz_model *m = &c->models[t->model];
    double t0 = st_clock_s();
    char dir[4096], path[4096];
    int rc = join(dir, sizeof dir, r->p.out_dir, j->key, NULL);
    if (rc == 0) rc = mkdir_p(dir);
    if (rc < 0) return rc;
    const char *names[5];
    int nf = job_files(m, names);
    names[nf] = JOB_ENTRY;
    remove_stale_tmp(dir, names, nf + 1);

    strand_sampler_params sp = strand_sampler_default_params();
    sp.steps = t->steps;
    sp.batch = t->batch;
    sp.seed = j->seed;
    sp.threads = inner;
    sp.top_p = t->top_p;
    sp.tail = t->tail;
    /* docs/design.md "Guidance": CFG through the sampler's label and weight, CBG through the
     * classifier (cfg+cbg: CFG at cfg_gamma, first-order CBG at γ) */
    if (t->guidance == DZ_GUIDE_CFG) sp.label = t->label, sp.gamma = j->gamma;
    else if (t->guidance == DZ_GUIDE_BOTH) sp.label = t->label, sp.gamma = t->cfg_gamma;
    else sp.label = -1;
    job_prog jp = {r, 0};
    sp.progress = on_job_progress;
    sp.progress_user = &jp;
    strand_sampler *s = NULL;
    if ((rc = strand_sampler_create(m->model, &sp, &s)) < 0) return st_err_prefix("%s", j->key);
    strand_classifier *clf = NULL; /* one handle per job: a handle is not shared between threads */
    if (dz_guidance_uses_classifier(t->guidance)) {
        const dz_classifier *k = &c->classifiers[t->classifier];
        int mode = t->guidance == DZ_GUIDE_CBG ? STRAND_CBG_EXACT : STRAND_CBG_FIRST_ORDER;
        if ((rc = strand_classifier_load(k->path, &clf)) < 0 ||
            (rc = strand_sampler_set_classifier(s, clf, t->label, j->gamma, mode, 0)) < 0) {
            st_err(NULL, rc, "%s: classifier %s: %s", j->key, k->name, clf ? strand_sampler_last_error(s) : strand_last_error());
            strand_sampler_free(s);
            strand_classifier_free(clf);
            return rc;
        }
    }
    size_t n = t->samples, L = strand_sampler_length(s);
    int32_t *ids = malloc(n * L * sizeof *ids);
    strand_sampler_stats st;
    if (!ids) rc = st_err(NULL, STRAND_E_NOMEM, "%s: out of memory for %zu x %zu ids", j->key, n, L);
    else if ((rc = strand_sampler_run(s, n, ids, &st)) < 0) st_err(NULL, rc, "%s: %s", j->key, strand_sampler_last_error(s));
    strand_sampler_free(s);
    strand_classifier_free(clf);
    char **seqs = NULL;
    if (rc == 0) rc = decode_all(m->tok, ids, n, L, &seqs);
    free(ids);
    if (rc < 0) return rc;
    int *pred = NULL;
    double *prob = NULL;
    if (m->judge >= 0) { /* the clean judge's class of each sample (one handle per job) */
        strand_classifier *jc = NULL;
        pred = malloc((n ? n : 1) * sizeof *pred), prob = malloc((n ? n : 1) * sizeof *prob);
        if (!pred || !prob) rc = st_err(NULL, STRAND_E_NOMEM, "design: out of memory");
        else if ((rc = strand_classifier_load(c->classifiers[m->judge].path, &jc)) == 0)
            rc = dz_judge_predict(jc, m->tok, seqs, n, pred, prob);
        strand_classifier_free(jc);
        if (rc < 0) st_err_prefix("%s: judge %s", j->key, c->classifiers[m->judge].name);
    }
    dz_eval ev;
    memset(&ev, 0, sizeof ev);
    if (rc == 0) rc = dz_evaluate(m, r->train[t->model], seqs, n, t->label, inner, pred, prob, &ev);
    free(pred), free(prob);
    if (rc == 0) rc = dz_eval_filter(&t->filters, &ev);
    if (rc == 0 && (rc = join(path, sizeof path, dir, names[0], NULL)) == 0) rc = write_samples(path, c, j, &ev, 0);
    if (rc == 0 && (rc = join(path, sizeof path, dir, names[1], NULL)) == 0) rc = write_samples(path, c, j, &ev, 1);
    if (rc == 0 && (rc = join(path, sizeof path, dir, names[2], NULL)) == 0) rc = dz_eval_write_tsv(path, &ev);
    if (rc == 0) {
        json_t *met = dz_eval_metrics(&ev);
        json_t *o = met ? job_json(r, j, met, st.nfe) : NULL;
        if (!o) rc = st_err(NULL, STRAND_E_NOMEM, "design: out of memory");
        if (rc == 0 && (rc = join(path, sizeof path, dir, names[3], NULL)) == 0) rc = write_json_atomic(path, o);
        json_decref(o);
    }
    dz_eval_clear(&ev);
    if (rc < 0) {
        for (size_t i = 0; i < n; i++) free(seqs[i]);
        free(seqs);
        return rc;
    }
    j->seqs = seqs, j->n = n;
    j->nfe = st.nfe;
    j->seconds = st_clock_s() - t0;
    /* the manifest entry: spec and the checksum of every file */
    json_t *e = json_object(), *files = json_object();
    for (int i = 0; i < nf && rc == 0; i++) {
        char hex[65];
        if ((rc = join(path, sizeof path, dir, names[i], NULL)) == 0 && (rc = st_sha256_file(path, hex)) == 0)
            json_object_set_new(files, names[i], json_string(hex));
    }
    json_object_set_new(e, "spec", json_string(j->spec));
    json_object_set_new(e, "seed", json_integer((json_int_t)j->seed));
    json_object_set_new(e, "files", files);
    json_object_set_new(e, "seconds", json_real(j->seconds));
    /* the job's own entry first (what a --job run leaves), then the campaign's manifest, which
     * only a whole run writes: parallel --job runs never write one file */
    if (rc == 0 && (rc = join(path, sizeof path, dir, JOB_ENTRY, NULL)) == 0) rc = write_json_atomic(path, e);
    if (rc < 0 || r->one_job) {
        json_decref(e);
        if (rc == 0) j->done = 1;
        return rc;
    }
#pragma omp critical(dz_manifest)
    {
        json_object_set_new(json_object_get(r->manifest, "jobs"), j->key, e);
        rc = save_manifest(r);
    }
    j->done = 1;
    return rc;
}

/* A finished job's samples and metrics, read back from its files. */
static int read_job(dz_run *r, dz_job *j)
{
    const dz_target *t = &r->c->targets[j->target];
    const dz_model *m = &r->c->models[t->model];
    char path[4096];
    int rc = join(path, sizeof path, r->p.out_dir, j->key, "metrics.json");
    if (rc < 0) return rc;
    json_error_t je;
    json_decref(j->metrics);
    if (!(j->metrics = json_load_file(path, 0, &je)))
        return st_err(NULL, STRAND_E_FORMAT, "%s: line %d: %s", path, je.line, je.text);
    if (j->seqs) return 0;
    if ((rc = join(path, sizeof path, r->p.out_dir, j->key, sample_file(m))) < 0) return rc;
    FILE *fp = fopen(path, "r");
    if (!fp) return st_err(NULL, STRAND_E_IO, "cannot open \"%s\": %s", path, strerror(errno));
    j->seqs = calloc(t->samples, sizeof *j->seqs);
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    j->n = 0;
    while (j->seqs && j->n < t->samples && (len = getline(&line, &cap, fp)) >= 0) {
        if (len > 0 && line[len - 1] == '\n') line[--len] = 0;
        if (m->dna && line[0] == '>') continue;
        if (!(j->seqs[j->n] = dup_str(line))) break;
        j->n++;
    }
    free(line);
    fclose(fp);
    if (!j->seqs || j->n != t->samples)
        return st_err(NULL, STRAND_E_FORMAT, "%s: %zu samples, want %zu", path, j->n, t->samples);
    return 0;
}

static int write_campaign_outputs(dz_run *r)
{
    dz_campaign *c = r->c;
    char path[4096];
    json_t *all = json_object(), *models = json_object(), *results = json_array();
    json_object_set_new(all, "campaign", json_string(c->name));
    json_object_set_new(all, "strand_version", json_string(strand_version_string()));
    for (int i = 0; i < c->n_models; i++) {
        json_t *m = json_object();
        json_object_set_new(m, "path", json_string(c->models[i].path));
        json_object_set_new(m, "sha256", json_string(c->models[i].sha256));
        json_object_set_new(models, c->models[i].name, m);
    }
    json_object_set_new(all, "models", models);
    int rc = 0;
    for (size_t i = 0; i < r->n_jobs && rc == 0; i++) {
        if ((rc = read_job(r, &r->jobs[i])) == 0) json_array_append(results, r->jobs[i].metrics);
    }
    json_object_set_new(all, "results", results);
    if (rc == 0 && (rc = join(path, sizeof path, r->p.out_dir, "metrics.json", NULL)) == 0)
        rc = write_json_atomic(path, all);
    /* the report draws each SMILES model's training distribution: loaded whether or not a job ran,
     * so a resumed campaign writes the same report */
    for (int i = 0; i < c->n_models && rc == 0; i++) rc = load_train(r, i);
    if (rc == 0 && (rc = join(path, sizeof path, r->p.out_dir, "report.html", NULL)) == 0)
        rc = dz_write_report(path, c, r->jobs, r->n_jobs, r->train);
    json_decref(all);
    return rc;
}

/* The campaign-level outputs, written first by a run (campaign.json) or a gather. */
static int write_campaign_text(dz_run *r)
{
    char path[4096];
    int rc = mkdir_p(r->p.out_dir);
    if (rc == 0 && (rc = join(path, sizeof path, r->p.out_dir, "campaign.json", NULL)) == 0)
        rc = write_text_atomic(path, r->c->text);
    return rc;
}

/* Run the jobs todo[0..nrun) over the threads (docs/design.md "Running"). */
static int run_jobs(dz_run *r, const size_t *todo, size_t nrun)
{
    dz_campaign *c = r->c;
    chem_init();
    if (qed_init() < 0) return st_err_prefix("design");
    int rc = 0;
    r->total = 0, r->done = 0, r->cancel = 0;
    for (size_t k = 0; k < nrun && rc == 0; k++) {
        const dz_job *j = &r->jobs[todo[k]];
        r->total += j->units;
        int mi = c->targets[j->target].model;
        if (c->targets[j->target].filters.novel || c->models[mi].train_path) rc = load_train(r, mi);
    }
    if (rc < 0) return rc;
    int T = r->p.threads > 0 ? r->p.threads : strand_get_threads();
    int W = workers_for(r, nrun), inner = W == 1 ? T : 1;
    int first_rc = 0;
    memset(&r->err, 0, sizeof r->err);
    st_parallel_begin();
#pragma omp parallel for schedule(dynamic, 1) num_threads(W) if (W > 1)
    for (size_t k = 0; k < nrun; k++) {
        dz_job *j = &r->jobs[todo[k]];
        int stop;
#pragma omp atomic read
        stop = r->cancel;
        if (stop) continue;
        int jrc = run_job(r, j, inner);
        if (jrc < 0) {
#pragma omp critical(dz_err)
            if (first_rc == 0 || first_rc == STRAND_E_CANCELLED) {
                if (first_rc == 0 || jrc != STRAND_E_CANCELLED) first_rc = jrc, st_err_capture(&r->err);
            }
#pragma omp atomic write
            r->cancel = 1;
        } else if (r->p.log) {
#pragma omp critical(dz_progress)
            fprintf(r->p.log, "design: %s done: %zu samples, NFE %.1f, %.1f s\n", j->key, j->n, j->nfe, j->seconds);
        }
    }
    st_parallel_end();
    if (first_rc < 0) return st_err(NULL, first_rc, "%s", r->err.msg);
    if (r->cancel) return st_err(NULL, STRAND_E_CANCELLED, "design: cancelled (finished jobs are kept in the manifest)");
    return 0;
}

int dz_run_execute(dz_run *r)
{
    if (!r) return st_err(NULL, STRAND_E_ARG, "dz_run_execute: NULL run");
    if (r->p.dry_run) return st_err(NULL, STRAND_E_ARG, "dz_run_execute: a dry run only plans (dz_run_plan)");
    int rc = write_campaign_text(r);
    if (rc < 0) return rc;
    size_t nrun = 0;
    size_t *todo = malloc((r->n_jobs ? r->n_jobs : 1) * sizeof *todo);
    if (!todo) return st_err(NULL, STRAND_E_NOMEM, "design: out of memory");
    for (size_t i = 0; i < r->n_jobs; i++)
        if (!r->jobs[i].reused) todo[nrun++] = i;
    rc = run_jobs(r, todo, nrun);
    free(todo);
    /* the manifest also gets the entries found in job.json files (jobs of earlier --job runs) */
    if (rc == 0 && nrun < r->n_jobs) rc = save_manifest(r);
    return rc < 0 ? rc : write_campaign_outputs(r);
}

ptrdiff_t dz_run_find_job(const dz_run *r, const char *key)
{
    for (size_t i = 0; r && key && i < r->n_jobs; i++)
        if (!strcmp(r->jobs[i].key, key)) return (ptrdiff_t)i;
    return -1;
}

/* "a, b, c" of the jobs' keys that pass `want` (at most 20 named), for messages. */
static void job_list(const dz_run *r, int want_reused, int any, char *buf, size_t cap)
{
    size_t k = 0, named = 0, more = 0;
    buf[0] = 0;
    for (size_t i = 0; i < r->n_jobs; i++) {
        if (!any && r->jobs[i].reused != want_reused) continue;
        if (named == 20) {
            more++;
            continue;
        }
        int w = snprintf(buf + k, k < cap ? cap - k : 0, "%s%s", named ? ", " : "", r->jobs[i].key);
        if (w > 0) k += (size_t)w;
        named++;
    }
    if (more && k < cap) snprintf(buf + k, cap - k, " and %zu more", more);
}

/* A job kept by DIR/manifest.json's entry (a whole run, or a gather) whose own DIR/<job>/job.json
 * is missing or does not hold gets that entry as its job.json: a --job run always leaves a job.json
 * that shows the job finished, which is what a workflow manager waits for (workflow/design.smk
 * after --forceall, where Snakemake deleted job.json before rerunning the job). */
static int keep_job_entry(dz_run *r, const dz_job *j)
{
    char path[4096];
    int rc = join(path, sizeof path, r->p.out_dir, j->key, JOB_ENTRY);
    if (rc < 0) return rc;
    json_t *own = json_load_file(path, 0, NULL);
    int holds = entry_finished(r, j, own);
    json_decref(own);
    if (holds) return 0;
    json_t *e = json_object_get(json_object_get(r->manifest, "jobs"), j->key);
    return e ? write_json_atomic(path, e) : 0;
}

int dz_run_execute_job(dz_run *r, const char *key)
{
    if (!r || !key) return st_err(NULL, STRAND_E_ARG, "dz_run_execute_job: NULL argument");
    if (r->p.dry_run) return st_err(NULL, STRAND_E_ARG, "dz_run_execute_job: a dry run only plans (dz_run_plan)");
    ptrdiff_t i = dz_run_find_job(r, key);
    if (i < 0) {
        char list[4096];
        job_list(r, 0, 1, list, sizeof list);
        return st_err(NULL, STRAND_E_NOTFOUND, "design: campaign %s has no job \"%s\" (its jobs: %s)", r->c->name, key,
                      list);
    }
    dz_job *j = &r->jobs[i];
    int rc = 0;
    r->one_job = 1;
    if (!j->reused) {
        size_t todo = (size_t)i;
        if ((rc = mkdir_p(r->p.out_dir)) == 0) rc = run_jobs(r, &todo, 1);
    } else {
        rc = keep_job_entry(r, j);
    }
    return rc < 0 ? rc : read_job(r, j);
}

int dz_run_gather(dz_run *r)
{
    if (!r) return st_err(NULL, STRAND_E_ARG, "dz_run_gather: NULL run");
    if (r->p.dry_run) return st_err(NULL, STRAND_E_ARG, "dz_run_gather: a dry run only plans (dz_run_plan)");
    size_t missing = 0;
    for (size_t i = 0; i < r->n_jobs; i++) missing += !r->jobs[i].reused;
    if (missing) {
        char list[4096];
        job_list(r, 0, 0, list, sizeof list);
        return st_err(NULL, STRAND_E_NOTFOUND,
                      "design: cannot gather %s: %zu of %zu jobs are not finished there (missing, changed since, or "
                      "a file fails its checksum): %s; run them (--job) first",
                      r->p.out_dir, missing, r->n_jobs, list);
    }
    chem_init();
    if (qed_init() < 0) return st_err_prefix("design");
    int rc = write_campaign_text(r);
    if (rc == 0) rc = save_manifest(r);
    return rc < 0 ? rc : write_campaign_outputs(r);
}
