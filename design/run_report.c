/* design/run_report.h: a summary table per target × γ and the campaign file, as plain HTML. */
#include "design/run_report.h"

#include <stdio.h>
#include <string.h>

#include "core/atomic_file.h"
#include "core/error.h"

static void esc(FILE *fp, const char *s)
{
    for (; s && *s; s++) {
        if (*s == '<') fputs("&lt;", fp);
        else if (*s == '>') fputs("&gt;", fp);
        else if (*s == '&') fputs("&amp;", fp);
        else if (*s == '"') fputs("&quot;", fp);
        else fputc(*s, fp);
    }
}

static void cell_num(FILE *fp, const json_t *v, const char *fmt)
{
    fputs("<td>", fp);
    if (json_is_number(v)) fprintf(fp, fmt, json_number_value(v));
    else fputs("&ndash;", fp);
    fputs("</td>", fp);
}

int dz_write_report(const char *path, const dz_campaign *c, const json_t *all)
{
    st_atomic_file af;
    int rc = st_atomic_open(&af, path, ST_ATOMIC_STREAM);
    if (rc < 0) return rc;
    FILE *fp = af.fp;
    fputs("<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>strand design: ", fp);
    esc(fp, c->name);
    fputs("</title>\n<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}"
          "td,th{border:1px solid #bbb;padding:3px 8px;text-align:right}th{background:#eee}"
          "td:first-child{text-align:left}pre{background:#f6f6f6;padding:1em}</style></head><body>\n<h1>", fp);
    esc(fp, c->name);
    fputs("</h1>\n<table><tr><th>job</th><th>model</th><th>guidance</th><th>class</th><th>&gamma;</th><th>samples</th>"
          "<th>validity</th><th>uniqueness</th><th>novelty</th><th>mean QED (valid)</th><th>kept</th><th>NFE</th></tr>\n",
          fp);
    const json_t *res = json_object_get(all, "results");
    size_t i;
    json_t *o;
    json_array_foreach(res, i, o)
    {
        const json_t *m = json_object_get(o, "metrics");
        fputs("<tr><td>", fp);
        esc(fp, json_string_value(json_object_get(o, "job")));
        fputs("</td><td>", fp);
        esc(fp, json_string_value(json_object_get(o, "model")));
        fputs("</td><td>", fp);
        esc(fp, json_string_value(json_object_get(o, "guidance")));
        fputs("</td><td>", fp);
        const json_t *cls = json_object_get(o, "class");
        if (json_is_string(cls)) esc(fp, json_string_value(cls));
        else if (json_is_integer(json_object_get(o, "label"))) fprintf(fp, "%lld", (long long)json_integer_value(json_object_get(o, "label")));
        else fputs("&ndash;", fp);
        fputs("</td>", fp);
        cell_num(fp, json_object_get(o, "gamma"), "%g");
        cell_num(fp, json_object_get(m, "samples"), "%.0f");
        cell_num(fp, json_object_get(m, "validity"), "%.3f");
        cell_num(fp, json_object_get(m, "uniqueness"), "%.3f");
        cell_num(fp, json_object_get(m, "novelty"), "%.3f");
        cell_num(fp, json_object_get(json_object_get(json_object_get(m, "properties_valid"), "qed"), "mean"), "%.3f");
        cell_num(fp, json_object_get(m, "kept"), "%.0f");
        cell_num(fp, json_object_get(o, "nfe"), "%.1f");
        fputs("</tr>\n", fp);
    }
    fputs("</table>\n<h2>Models</h2>\n<ul>\n", fp);
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)json_object_get(all, "models"), key, v)
    {
        fputs("<li>", fp);
        esc(fp, key);
        fputs(": ", fp);
        esc(fp, json_string_value(json_object_get(v, "path")));
        fputs(" (sha256 ", fp);
        esc(fp, json_string_value(json_object_get(v, "sha256")));
        fputs(")</li>\n", fp);
    }
    fprintf(fp, "</ul>\n<p>strand %s</p>\n<h2>Campaign file</h2>\n<pre>", strand_version_string());
    esc(fp, c->text);
    fputs("</pre>\n</body></html>\n", fp);
    if (ferror(fp)) {
        st_atomic_abort(&af);
        return st_err(NULL, STRAND_E_IO, "%s: write error", path);
    }
    return st_atomic_commit(&af);
}
