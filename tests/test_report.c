/* The campaign report (docs/metrics.md "Report"): structure on hand-made inputs, and the headless
 * Chromium render test on a report made from a small real run of the bundled models
 * (strand sample), checked by tests/report_check.py (screenshot not blank, every plot in the DOM).
 * The render test needs Debian's chromium (scripts/install-deps installs it); without it the
 * suite exits 77, which CTest reports as skipped, with the reason on stderr.
 * Knobs for making the docs screenshot with the same code (docs/metrics.md "Report"):
 * STRAND_REPORT_SAMPLES (8), STRAND_REPORT_STEPS (4), STRAND_REPORT_TRAIN (a training table for
 * the SMILES reference; default tests/data/design/train.smi), STRAND_REPORT_OUT (keep the report,
 * screenshot and DOM in that directory), STRAND_REPORT_WINDOW (1200,3000). */
#include <jansson.h>
#include <math.h>
#include <sys/stat.h>
#include <unistd.h>

#include "design/metrics_dna.h"
#include "design/metrics_smiles.h"
#include "design/report_html.h"
#include "strand.h"
#include "test_util.h"

#define tmpf(name) tu_tmp_in("report", name)

static int suite_init(void)
{
    mkdir(tu_tmp_in("report", ""), 0755);
    return 0;
}

/* ---- structure on hand-made inputs -------------------------------------------------------- */

static void test_report_structure(void)
{
    const char *train[] = {"CCO", "c1ccccc1", "CC(=O)O", "CCN", "c1ccncc1", "CCCl"};
    ms_reference *ref = NULL;
    CU_ASSERT_EQUAL_FATAL(ms_reference_build(train, 6, 0, NULL, &ref), 0);
    rp_report *r = NULL;
    CU_ASSERT_EQUAL_FATAL(rp_create("test <campaign> & co", &r), 0);
    CU_ASSERT_EQUAL(rp_set_campaign_text(r, "{\"targets\": [\"<x>\"]}"), 0);
    CU_ASSERT_EQUAL(rp_add_provenance(r, "model sha256", "abc123"), 0);
    const char *s2[] = {"CCO", "Oc1ccccc1", "C1CC", "CCCO"};
    const char *s1[] = {"c1ccccc1O", "", "CCOC"};
    /* gamma 2 added before gamma 1: the report orders them */
    CU_ASSERT_EQUAL(rp_add_smiles(r, "qed <cfg>", "cfg", 2.0, s2, NULL, 4, NULL, ref), 0);
    CU_ASSERT_EQUAL(rp_add_smiles(r, "qed <cfg>", "cfg", 1.0, s1, NULL, 3, NULL, ref), 0);
    const char *real[] = {"ACGTACGTAAAACCCC", "GGGGTTTTACGTACGT"};
    const char *gen[] = {"ACGTACGTAAAACCCG", "AAAAAAAAAAAAAAAA"};
    md_reference *rr = NULL;
    CU_ASSERT_EQUAL_FATAL(md_reference_build(real, 2, &rr), 0);
    md_sample rows[2];
    md_set_metrics m;
    int pred[2] = {1, 0};
    CU_ASSERT_EQUAL(md_evaluate(gen, 2, rr, rr, pred, NULL, 1, NULL, rows, &m), 0);
    const char *names[] = {"human", "ecoli"};
    CU_ASSERT_EQUAL(rp_add_dna(r, "ecoli", "cbg exact", 1.0, gen, rows, 2, &m, rr, names, 2), 0);
    CU_ASSERT_EQUAL(rp_add_dna_campaign(r, 1.0, 0.5, 0.0), 0);
    /* a target cannot be both kinds */
    CU_ASSERT(rp_add_dna(r, "qed <cfg>", "", 1.0, gen, rows, 2, &m, rr, names, 2) < 0);
    CU_ASSERT_EQUAL_FATAL(rp_write_html(r, tmpf("structure.html")), 0);
    CU_ASSERT_EQUAL_FATAL(rp_write_json(r, tmpf("structure.json")), 0);
    char *html = (char *)tu_slurp(tmpf("structure.html"), NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(html);
    json_error_t je;
    json_t *j = json_load_file(tmpf("structure.json"), 0, &je);
    CU_ASSERT_PTR_NOT_NULL_FATAL(j);
    json_t *plots = json_object_get(j, "plots");
    CU_ASSERT_EQUAL(json_array_size(plots), 1 + 6 + 3); /* SMILES: vs-gamma + 6 distributions; DNA: 3 */
    size_t i;
    json_t *v;
    json_array_foreach(plots, i, v)
    {
        char needle[600];
        snprintf(needle, sizeof needle, "id=\"%s\"", json_string_value(v));
        CU_ASSERT_PTR_NOT_NULL(strstr(html, needle));
    }
    CU_ASSERT_PTR_NOT_NULL(strstr(html, "id=\"plot-qed--cfg--vs-gamma\"")); /* sanitised id */
    CU_ASSERT_PTR_NOT_NULL(strstr(html, "qed &lt;cfg&gt;"));                /* escaped text */
    CU_ASSERT_PTR_NULL(strstr(html, "<cfg>"));
    CU_ASSERT_PTR_NULL(strstr(html, "<script"));
    CU_ASSERT_PTR_NULL(strstr(html, "http://www.w3.org/2000/svg\" id=\"x")); /* sanity */
    CU_ASSERT_PTR_NULL(strstr(html, "src=\"http"));
    CU_ASSERT_PTR_NOT_NULL(strstr(html, "<figure class=\"mol\"><svg"));
    CU_ASSERT_PTR_NOT_NULL(strstr(html, "id=\"dna-campaign\""));
    CU_ASSERT_PTR_NOT_NULL(strstr(html, "abc123"));
    /* gamma order in the summary: the gamma-1 row comes first */
    char *g1 = strstr(html, "<td>cfg</td><td>1</td>"), *g2 = strstr(html, "<td>cfg</td><td>2</td>");
    CU_ASSERT(g1 && g2 && g1 < g2);
    json_t *t0 = json_array_get(json_object_get(j, "targets"), 0);
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(json_object_get(t0, "metrics"), "valid")), 3);
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(json_object_get(j, "provenance"), "model sha256")), "abc123");
    /* a failed write leaves nothing behind */
    CU_ASSERT(rp_write_html(r, tmpf("no/such/dir/r.html")) < 0);
    json_decref(j);
    free(html);
    rp_free(r);
    md_reference_free(rr);
    ms_reference_free(ref);
}

/* ---- the render test ---------------------------------------------------------------------- */

static int env_int(const char *name, int def)
{
    const char *v = getenv(name);
    return v && atoi(v) > 0 ? atoi(v) : def;
}

/* Lines of a file (blank lines kept: an empty sample is a sample). */
static char **read_lines(const char *path, size_t *n)
{
    *n = 0;
    FILE *fp = fopen(path, "r");
    if (!fp) return NULL;
    char **v = NULL, line[16384];
    size_t cap = 0;
    while (fgets(line, sizeof line, fp)) {
        line[strcspn(line, "\r\n")] = 0;
        if (*n == cap) v = realloc(v, (cap = cap ? 2 * cap : 64) * sizeof *v);
        v[(*n)++] = strdup(line);
    }
    fclose(fp);
    return v;
}

/* FASTA records' sequences (one line or several). */
static char **read_fasta(const char *path, size_t *n)
{
    size_t nl = 0;
    char **l = read_lines(path, &nl);
    char **v = calloc(nl + 1, sizeof *v);
    *n = 0;
    for (size_t i = 0; l && i < nl; i++) {
        if (l[i][0] == '>') {
            v[(*n)++] = strdup("");
        } else if (*n) {
            size_t a = strlen(v[*n - 1]), b = strlen(l[i]);
            v[*n - 1] = realloc(v[*n - 1], a + b + 1);
            memcpy(v[*n - 1] + a, l[i], b + 1);
        }
        free(l[i]);
    }
    free(l);
    return v;
}

static void free_strs(char **v, size_t n)
{
    for (size_t i = 0; v && i < n; i++) free(v[i]);
    free(v);
}

static int have_chromium(void) { return tu_run("command -v chromium >/dev/null 2>&1", NULL, 0) == 0; }

static void test_report_render(void)
{
    if (!have_chromium()) {
        fprintf(stderr, "\n    SKIPPED: chromium is not installed (scripts/install-deps installs Debian's chromium); "
                        "the report render test needs it\n");
        if (CU_get_number_of_failures() == 0) exit(77);
        return;
    }
    const int ns = env_int("STRAND_REPORT_SAMPLES", 8), steps = env_int("STRAND_REPORT_STEPS", 4);
    const char *keep = getenv("STRAND_REPORT_OUT");
    char dir[1024];
    snprintf(dir, sizeof dir, "%s", keep && *keep ? keep : tmpf("render"));
    mkdir(dir, 0755);
    char path[1200], out[8192];
    /* the SMILES reference */
    const char *train = getenv("STRAND_REPORT_TRAIN");
    char deftrain[1024];
    snprintf(deftrain, sizeof deftrain, "%s/design/train.smi", STRAND_TEST_DATA);
    ms_reference *ref = NULL;
    ms_params mp;
    ms_default_params(&mp);
    mp.kl_max = 2000;
    CU_ASSERT_EQUAL_FATAL(ms_reference_from_tsv(train && *train ? train : deftrain, train && *train ? NULL : "1", &mp, &ref), 0);
    /* the DNA reference: 128-bp windows of the bundled chr22 slice, first half real, second training */
    snprintf(path, sizeof path, "%s/vep/chr22_60kb.fa", STRAND_TEST_DATA);
    size_t nchr = 0;
    char **chr = read_fasta(path, &nchr);
    CU_ASSERT_FATAL(chr && nchr == 1);
    size_t clen = strlen(chr[0]), nw = clen / 128;
    char **win = calloc(nw, sizeof *win);
    for (size_t w = 0; w < nw; w++) win[w] = strndup(chr[0] + w * 128, 128);
    md_reference *real = NULL, *dtrain = NULL;
    CU_ASSERT_EQUAL_FATAL(md_reference_build((const char *const *)win, nw / 2, &real), 0);
    CU_ASSERT_EQUAL_FATAL(md_reference_build((const char *const *)win + nw / 2, nw - nw / 2, &dtrain), 0);
    rp_report *r = NULL;
    CU_ASSERT_EQUAL_FATAL(rp_create("strand design report: small real run (render test)", &r), 0);
    char cmdline[4096];
    snprintf(cmdline, sizeof cmdline,
             "strand sample -m models/smiles-mdlm-qed --label 1 --gamma G -n %d --steps %d --seed 1; "
             "strand sample -m models/dna-udlm-species --label 0 --gamma G -n %d --steps %d --seed 1",
             ns, steps, ns, steps);
    rp_set_campaign_text(r, "render test (tests/test_report.c): for gamma in 0 1 2\n  strand sample models/smiles-mdlm-qed "
                            "--label 1 (high QED)\n  strand sample models/dna-udlm-species --label 0 (human)\n");
    rp_add_provenance(r, "command", cmdline);
    rp_add_provenance(r, "SMILES reference", train && *train ? train : "tests/data/design/train.smi (NCI)");
    rp_add_provenance(r, "DNA real / training windows", "tests/data/vep/chr22_60kb.fa, 128-bp windows, first / second half");
    rp_add_provenance(r, "DNA classes", "a GC-threshold stand-in (GC < 0.42 vs >= 0.42), not a trained classifier");
    const char *cls[2] = {"GC < 0.42 (stand-in)", "GC >= 0.42 (stand-in)"};
    size_t nmol = 0;
    for (int gi = 0; gi < 3; gi++) {
        double g = gi;
        char smi[1200], fa[1200];
        snprintf(smi, sizeof smi, "%s/gamma%d.smi", dir, gi);
        snprintf(fa, sizeof fa, "%s/gamma%d.fa", dir, gi);
        int rc = tu_runf(out, sizeof out,
                         "cd %s && %s sample -m models/smiles-mdlm-qed.safetensors.zst --label 1 --gamma %g -n %d --steps %d "
                         "--seed 1 -q -o %s 2>&1 && %s sample -m models/dna-udlm-species.safetensors.zst --label 0 --gamma %g "
                         "-n %d --steps %d --seed 1 -q -o %s 2>&1",
                         STRAND_SOURCE_DIR, STRAND_BIN, g, ns, steps, smi, STRAND_BIN, g, ns, steps, fa);
        if (rc) fprintf(stderr, "%s\n", out);
        CU_ASSERT_EQUAL_FATAL(rc, 0);
        size_t n = 0;
        char **s = read_lines(smi, &n);
        CU_ASSERT_EQUAL_FATAL(n, (size_t)ns);
        ms_sample *rows = calloc(n, sizeof *rows);
        ms_set_metrics m;
        CU_ASSERT_EQUAL_FATAL(ms_evaluate((const char *const *)s, n, ref, &mp, rows, &m), 0);
        CU_ASSERT_EQUAL(rp_add_smiles(r, "smiles-mdlm-qed high QED", "cfg", g, (const char *const *)s, rows, n, &m, ref), 0);
        nmol += m.n_unique < 6 ? m.n_unique : 6;
        ms_samples_clear(rows, n);
        free(rows);
        free_strs(s, n);
        char **d = read_fasta(fa, &n);
        CU_ASSERT_EQUAL_FATAL(n, (size_t)ns);
        int *pred = calloc(n, sizeof *pred);
        for (size_t i = 0; i < n; i++) pred[i] = md_gc(d[i]) >= 0.42;
        md_sample *dr = calloc(n, sizeof *dr);
        md_set_metrics dm;
        CU_ASSERT_EQUAL_FATAL(md_evaluate((const char *const *)d, n, real, dtrain, pred, NULL, 0, NULL, dr, &dm), 0);
        CU_ASSERT_EQUAL(rp_add_dna(r, "dna-udlm-species human", "cfg", g, (const char *const *)d, dr, n, &dm, real, cls, 2), 0);
        long C[4] = {0};
        int *req = calloc(n, sizeof *req);
        md_confusion_add(C, 2, req, pred, n);
        rp_add_dna_campaign(r, g, md_macro_f1(C, 2), md_mcc(C, 2));
        free(req);
        free(dr);
        free(pred);
        free_strs(d, n);
    }
    char html[1200], js[1200], png[1200], dom[1200];
    snprintf(html, sizeof html, "%s/report.html", dir);
    snprintf(js, sizeof js, "%s/metrics.json", dir);
    snprintf(png, sizeof png, "%s/report.png", dir);
    snprintf(dom, sizeof dom, "%s/dom.html", dir);
    CU_ASSERT_EQUAL_FATAL(rp_write_html(r, html), 0);
    CU_ASSERT_EQUAL_FATAL(rp_write_json(r, js), 0);
    unlink(png);
    unlink(dom);
    const char *wsz = getenv("STRAND_REPORT_WINDOW"), *scale = getenv("STRAND_REPORT_SCALE");
    const char *flags = "--headless --no-sandbox --disable-gpu --no-first-run --disable-extensions "
                        "--disable-background-networking --hide-scrollbars";
    int rc = tu_runf(out, sizeof out, "cd %s && chromium %s --user-data-dir=%s/chromium-profile --window-size=%s "
                                      "--force-device-scale-factor=%s --screenshot=%s file://%s 2>&1",
                     dir, flags, dir, wsz && *wsz ? wsz : "1200,3000", scale && *scale ? scale : "0.5", png, html);
    if (rc) fprintf(stderr, "%s\n", out);
    CU_ASSERT_EQUAL_FATAL(rc, 0);
    rc = tu_runf(out, sizeof out, "cd %s && chromium %s --user-data-dir=%s/chromium-profile --dump-dom file://%s > %s 2>/dev/null",
                 dir, flags, dir, html, dom);
    CU_ASSERT_EQUAL_FATAL(rc, 0);
    rc = tu_runf(out, sizeof out, "/usr/bin/python3 %s/tests/report_check.py %s %s %s --min-molecules %zu 2>&1",
                 STRAND_SOURCE_DIR, png, dom, js, nmol);
    fprintf(stderr, "\n%s", out);
    CU_ASSERT_EQUAL(rc, 0);
    /* the checker can fail: a DOM with one plot removed must be refused */
    rc = tu_runf(out, sizeof out,
                 "sed 's/id=\"plot-dna-udlm-species-human-kmer3\"/id=\"gone\"/' %s > %s.bad && "
                 "/usr/bin/python3 %s/tests/report_check.py %s %s.bad %s 2>&1",
                 dom, dom, STRAND_SOURCE_DIR, png, dom, js);
    CU_ASSERT_EQUAL(rc, 1);
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "plot plot-dna-udlm-species-human-kmer3 missing"));
    rp_free(r);
    md_reference_free(real);
    md_reference_free(dtrain);
    ms_reference_free(ref);
    free_strs(win, nw);
    free_strs(chr, nchr);
}

void register_suites(void)
{
    CU_pSuite s = CU_add_suite("design_report", suite_init, NULL);
    ADD_TEST(s, test_report_structure);
    ADD_TEST(s, test_report_render); /* last: it exits 77 (skip) when chromium is absent */
}
