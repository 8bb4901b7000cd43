/* The campaign report, DIR/report.html: the runner's one call into the report writer
 * (design/report_html.h), after every job has run or been read back from its files. */
#ifndef STRAND_DESIGN_RUN_REPORT_H
#define STRAND_DESIGN_RUN_REPORT_H
#include <stddef.h>

#include "design/campaign.h"
#include "design/metrics_smiles.h"
#include "design/run.h"

/* train: per model, the SMILES training reference or NULL. */
int dz_write_report(const char *path, const dz_campaign *c, const dz_job *jobs, size_t n_jobs,
                    ms_reference *const *train);
#endif
