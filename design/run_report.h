/* The campaign report, DIR/report.html until the metrics report writer (design/report.h) is wired in. The
 * runner's single call into the report writer: `all` is the DIR/metrics.json object
 * ({"campaign", "models", "results": [job metrics.json objects]}). */
#ifndef STRAND_DESIGN_RUN_REPORT_H
#define STRAND_DESIGN_RUN_REPORT_H
#include <jansson.h>

#include "design/campaign.h"

int dz_write_report(const char *path, const dz_campaign *c, const json_t *all);
#endif
