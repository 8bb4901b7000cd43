/* The campaign report writer (docs/metrics.md "Report"): one self-contained HTML file (no network,
 * no scripts; every plot is SVG written here, molecules are RDKit depictions) and a metrics JSON.
 * It knows nothing of campaign files: the runner (design/report.c, run.c) feeds it each target x
 * gamma as arrays.
 *
 *   rp_report *r;  rp_create("demo campaign", &r);
 *   rp_set_campaign_text(r, text);  rp_add_provenance(r, "command", "strand design demo.json");
 *   for each target x gamma:  rp_add_smiles(r, "qed-cfg", 2.0, smiles, rows, n, &m, ref)
 *                         or rp_add_dna(r, "human-cbg", 1.0, seqs, rows, n, &m, real, names, k)
 *   rp_write_html(r, "out/report.html");  rp_write_json(r, "out/metrics.json");  rp_free(r);
 *
 * The report copies what it needs: inputs may be freed after each rp_add_* call. Points of one
 * target are shown in increasing gamma. Every plot element carries a stable id and class
 * (ids: "summary", "plot-<target>-<what>", see docs/metrics.md "Report"), which the render test
 * checks. Files are written to a temporary name and renamed. */
#ifndef STRAND_DESIGN_REPORT_HTML_H
#define STRAND_DESIGN_REPORT_HTML_H
#include <stddef.h>
#include <jansson.h>
#include "design/metrics_dna.h"
#include "design/metrics_smiles.h"

typedef struct rp_report rp_report;
int rp_create(const char *title, rp_report **out);
void rp_free(rp_report *r);
/* The campaign file's text, shown verbatim (escaped). */
int rp_set_campaign_text(rp_report *r, const char *text);
/* Provenance lines in order (model SHA-256s, strand version, seeds, command, ...). */
int rp_add_provenance(rp_report *r, const char *key, const char *value);
/* One SMILES target x gamma. guidance: free text for the table ("cfg", "cbg exact", "none").
 * rows (per-sample rows of smiles[0..n)) and m may be NULL: then they are computed here
 * (ms_evaluate with default parameters against ref). ref may be NULL (no training distribution
 * drawn, novelty undefined). */
int rp_add_smiles(rp_report *r, const char *target, const char *guidance, double gamma,
                  const char *const *smiles, const ms_sample *rows, size_t n, const ms_set_metrics *m,
                  const ms_reference *ref);
/* One DNA target x gamma. m may be NULL (computed here against real, no training reference);
 * rows may be NULL (no class bars); class_names (k entries) may be NULL. real may be NULL (no
 * real spectrum drawn). */
int rp_add_dna(rp_report *r, const char *target, const char *guidance, double gamma,
               const char *const *seqs, const md_sample *rows, size_t n, const md_set_metrics *m,
               const md_reference *real, const char *const *class_names, int k);
/* Campaign-level DNA numbers at one gamma (macro-F1 / MCC over all DNA targets). */
int rp_add_dna_campaign(rp_report *r, double gamma, double macro_f1, double mcc);
int rp_write_html(const rp_report *r, const char *path);
/* {"targets": [{"target", "kind", "guidance", "gamma", "metrics": {...}}...], "dna_campaign": [...]} */
json_t *rp_metrics_json(const rp_report *r);
int rp_write_json(const rp_report *r, const char *path);
#endif
