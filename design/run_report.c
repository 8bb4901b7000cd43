/* design/run_report.h: the campaign's report through the metrics report writer
 * (design/report_html.h): every job's samples as one target x gamma point, the campaign text and
 * provenance (models and SHA-256, strand version, job seeds). */
#include "design/run_report.h"

#include <stdio.h>
#include <string.h>

#include "core/error.h"
#include "design/report_html.h"

int dz_write_report(const char *path, const dz_campaign *c, const dz_job *jobs, size_t n_jobs,
                    ms_reference *const *train)
{
    rp_report *r = NULL;
    int rc = rp_create(c->name, &r);
    if (rc < 0) return rc;
    rc = rp_set_campaign_text(r, c->text);
    if (rc == 0) rc = rp_add_provenance(r, "strand", strand_version_string());
    for (int i = 0; i < c->n_models && rc == 0; i++) {
        char key[300], val[5000];
        snprintf(key, sizeof key, "model %s", c->models[i].name);
        snprintf(val, sizeof val, "%s (sha256 %s)", c->models[i].path, c->models[i].sha256);
        rc = rp_add_provenance(r, key, val);
    }
    for (int i = 0; i < c->n_classifiers && rc == 0; i++) {
        char key[300], val[5000];
        snprintf(key, sizeof key, "classifier %s", c->classifiers[i].name);
        snprintf(val, sizeof val, "%s (sha256 %s)", c->classifiers[i].path, c->classifiers[i].sha256);
        rc = rp_add_provenance(r, key, val);
    }
    for (size_t k = 0; k < n_jobs && rc == 0; k++) {
        const dz_job *j = &jobs[k];
        const dz_target *t = &c->targets[j->target];
        const dz_model *m = &c->models[t->model];
        char key[300], val[64];
        snprintf(key, sizeof key, "seed %s", j->key);
        snprintf(val, sizeof val, "%llu", (unsigned long long)j->seed);
        if ((rc = rp_add_provenance(r, key, val)) < 0) break;
        if (m->dna)
            rc = rp_add_dna(r, t->name, dz_guidance_name(t->guidance), j->gamma, (const char *const *)j->seqs, NULL, j->n,
                            NULL, NULL, (const char *const *)m->classes, m->n_classes);
        else
            rc = rp_add_smiles(r, t->name, dz_guidance_name(t->guidance), j->gamma, (const char *const *)j->seqs, NULL,
                               j->n, NULL, train[t->model]);
    }
    if (rc == 0) rc = rp_write_html(r, path);
    rp_free(r);
    return rc < 0 ? st_err_prefix("%s", path) : 0;
}
