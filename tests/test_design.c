/* Design campaigns (design/campaign.h, design/run.h, `strand design`, strand_design_*) on tiny
 * DiT diffusion models with fixed random weights written by the test (a label-conditioned SMILES
 * MDLM, a label-conditioned DNA UDLM):
 *  - bad input: unknown keys, wrong types, a missing model file, negative γ, two targets (or two
 *    γ) writing one directory, labels outside the classes, class-name mismatches between a
 *    classifier and its model, CBG in a build without it: each an error naming the file, the
 *    JSON path and the problem, and `strand design` writes nothing;
 *  - --dry-run prints the plan and writes nothing;
 *  - --threads 1 and 2 give byte-identical outputs;
 *  - kill -9 during a campaign, rerun: the jobs the manifest shows finished are not redone (their
 *    files keep inode and mtime), and every output equals an uninterrupted run's bytes;
 *  - the API: results in campaign order, samples equal to the files, FASTA headers with
 *    species= and gamma=, filters (valid, dedupe) reflected in kept.smi and the TSV;
 *  - DNA "judge" + "reference" (docs/design.md "Judging DNA samples"): bad keys, a noisy judge, a
 *    training shard or a missing file as reference are errors; a run's class accuracy, per-class
 *    judged shares and k-mer JS equal a recomputation from samples.fa, the test's own windows and
 *    the clean classifier called directly;
 *  - "tail" on a UDLM target: the sampler's run with that tail, refused on an MDLM. */
#include <dirent.h>
#include <math.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "core/dit.h"
#include "core/safetensors.h"
#include "core/tokenizer.h"
#include "design/campaign.h"
#include "design/metrics_dna.h"
#include "design/samples.h"
#include "guidance/classifier.h"
#include "io/shards.h"
#include "strand.h"
#include "test_util.h"

#define tmpf(name) tu_tmp_in("design", name)
enum { LEN = 12 };

static char MDLM[1024], UDLM[1024], DIR0[1024];

static int make_model(const char *path, int dna, int classes, const char *diffusion, uint64_t seed)
{
    strand_tokenizer *tok = NULL;
    const char *smi[] = {"CCO", "c1ccccc1", "CC(=O)N", "CCl", "C#N"};
    int rc = dna ? strand_tokenizer_dna_create(&tok) : strand_tokenizer_smiles_build(&tok, smi, 5);
    if (rc < 0) return rc;
    dit_config c = dit_default_config();
    c.vocab = (int)strand_tokenizer_vocab_size(tok), c.dim = 32, c.depth = 2, c.heads = 2, c.cond_dim = 16;
    c.time_cond = dna, c.num_classes = classes, c.model_length = LEN;
    dit_weights *m = NULL;
    if ((rc = dit_weights_create(&m, &c, NULL)) < 0) return rc;
    strand_rng r;
    strand_rng_seed(&r, seed);
    for (size_t i = 0; i < m->pb.total; i++) m->pb.params[i] = (float)(0.02 * strand_rng_normal(&r)); /* near-uniform logits: varied samples */
    char cfg[1024];
    int k = snprintf(cfg, sizeof cfg,
                     "{\"kind\": \"dit\", \"vocab_size\": %d, \"hidden_dim\": 32, \"n_blocks\": 2, \"n_heads\": 2, "
                     "\"cond_dim\": 16, \"model_length\": %d, \"time_conditioning\": %s, \"cfg\": true, "
                     "\"cfg_num_classes\": %d, \"diffusion\": \"%s\", \"noise\": \"loglinear\"",
                     c.vocab, LEN, dna ? "true" : "false", classes, diffusion);
    if (!strcmp(diffusion, "mdlm")) k += snprintf(cfg + k, sizeof cfg - k, ", \"mask_id\": %d", STRAND_TOKEN_MASK);
    snprintf(cfg + k, sizeof cfg - k, "}");
    sft_writer *w = sft_writer_create();
    rc = pb_save(&m->pb, w, "");
    if (rc == 0) rc = sft_writer_meta(w, "strand.config", cfg);
    if (rc == 0) rc = st_tokenizer_write_meta(w, tok);
    if (rc == 0) rc = sft_writer_write(w, path);
    sft_writer_free(w);
    strand_tokenizer_free(tok);
    dit_weights_free(m);
    return rc;
}

static int setup(void)
{
    snprintf(DIR0, sizeof DIR0, "%s/design", STRAND_TEST_TMP);
    tu_runf(NULL, 0, "rm -rf '%s' && mkdir -p '%s'", DIR0, DIR0);
    snprintf(MDLM, sizeof MDLM, "%s", tmpf("mdlm.safetensors"));
    snprintf(UDLM, sizeof UDLM, "%s", tmpf("udlm.safetensors"));
    if (make_model(MDLM, 0, 2, "mdlm", 1) < 0) return 1;
    if (make_model(UDLM, 1, 3, "udlm", 2) < 0) return 1;
    return 0;
}

static void write_file(const char *path, const char *text)
{
    FILE *fp = fopen(path, "w");
    CU_ASSERT_FATAL(fp != NULL);
    fputs(text, fp);
    fclose(fp);
}

static int exists(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0;
}

/* A campaign over the tiny models: the models block and a targets list. */
static const char *campaign(const char *targets_json)
{
    static char buf[8192];
    snprintf(buf, sizeof buf,
             "{\"name\": \"t\", \"seed\": 5,\n \"models\": {\"m\": {\"path\": \"mdlm.safetensors\", \"classes\": "
             "[\"low\", \"high\"]},\n  \"d\": {\"path\": \"udlm.safetensors\", \"classes\": [\"a\", \"b\", \"c\"]}},\n"
             " \"defaults\": {\"model\": \"m\", \"steps\": 4, \"samples\": 6, \"batch\": 4},\n \"targets\": %s}\n",
             targets_json);
    return buf;
}

/* Parse + check text as file `name` in the test directory; the error text (or "" when fine). */
static const char *problems(const char *text)
{
    static char msg[8192];
    dz_campaign *c = NULL;
    int rc = dz_campaign_parse(text, "camp.json", DIR0, &c);
    if (rc == 0) rc = dz_campaign_check(c);
    snprintf(msg, sizeof msg, "%s", rc < 0 ? strand_last_error() : "");
    dz_campaign_free(c);
    return msg;
}

static int has(const char *msg, const char *want)
{
    if (strstr(msg, want)) return 1;
    fprintf(stderr, "    want \"%s\" in:\n%s\n", want, msg);
    return 0;
}

static void test_bad_input(void)
{
    CU_ASSERT_STRING_EQUAL(problems(campaign("[{\"name\": \"u\", \"guidance\": \"none\"}]")), "");
    /* unknown keys at the top, in a model, a target, the filters */
    CU_ASSERT(has(problems("{\"modles\": {}, \"targets\": []}"), "camp.json: modles: unknown key"));
    CU_ASSERT(has(problems(campaign("[{\"name\": \"u\", \"stesp\": 3}]")), "camp.json: targets[0].stesp: unknown key"));
    CU_ASSERT(has(problems(campaign("[{\"name\": \"u\", \"filters\": {\"valid\": true, \"mww\": [1, 2]}}]")),
                  "camp.json: targets[0].filters.mww: unknown key"));
    /* wrong types */
    CU_ASSERT(has(problems(campaign("[{\"name\": \"u\", \"steps\": \"four\"}]")),
                  "camp.json: targets[0].steps: want an integer, not a string"));
    CU_ASSERT(has(problems(campaign("[{\"name\": \"u\", \"samples\": 2.5}]")),
                  "camp.json: targets[0].samples: want an integer, not a number"));
    CU_ASSERT(has(problems(campaign("[{\"name\": \"u\", \"guidance\": \"cfg\", \"label\": 1, \"gamma\": [1, \"2\"]}]")),
                  "camp.json: targets[0].gamma[1]: want a number, not a string"));
    CU_ASSERT(has(problems(campaign("[{\"name\": \"u\", \"filters\": {\"dedupe\": 1}}]")),
                  "camp.json: targets[0].filters.dedupe: want true or false, not an integer"));
    CU_ASSERT(has(problems("[1, 2]"), "camp.json: (top): want an object"));
    /* not JSON at all: the line */
    CU_ASSERT(has(problems("{\"models\": {\n"), "camp.json: line"));
    /* a missing model file */
    CU_ASSERT(has(problems("{\"models\": {\"m\": {\"path\": \"nope.safetensors\"}}, \"targets\": [{\"name\": \"u\"}]}"),
                  "camp.json: models.m.path: \"" STRAND_TEST_TMP "/design/nope.safetensors\" does not exist"));
    /* negative γ, every one reported */
    const char *neg = problems(campaign("[{\"name\": \"u\", \"guidance\": \"cfg\", \"label\": 1, \"gamma\": [1, -2, -0.5]}]"));
    CU_ASSERT(has(neg, "camp.json: targets[0].gamma[1]: -2 is negative: γ must be >= 0"));
    CU_ASSERT(has(neg, "camp.json: targets[0].gamma[2]: -0.5 is negative"));
    /* two targets writing the same output, two γ writing one directory */
    CU_ASSERT(has(problems(campaign("[{\"name\": \"u\"}, {\"name\": \"u\", \"guidance\": \"cfg\", \"label\": 0}]")),
                  "camp.json: targets[1].name: \"u\" is also targets[0]'s name: both would write u/"));
    CU_ASSERT(has(problems(campaign("[{\"name\": \"u\", \"guidance\": \"cfg\", \"label\": 1, \"gamma\": [1, 1.0000001]}]")),
                  "camp.json: targets[0].gamma[1]: γ 1.0000001000000001 writes the same directory u/gamma-1 as [0]"));
    CU_ASSERT(has(problems(campaign("[{\"name\": \"metrics.json\"}]")), "targets[0].name: \"metrics.json\" is the name"));
    CU_ASSERT(has(problems(campaign("[{\"name\": \"../x\"}]")), "targets[0].name: \"../x\" is not a usable directory name"));
    /* labels: outside the model's classes, unknown class names, CFG on a label without guidance */
    CU_ASSERT(has(problems(campaign("[{\"name\": \"u\", \"guidance\": \"cfg\", \"label\": 2}]")),
                  "camp.json: targets[0].label: 2 is outside model \"m\"'s classes 0..1"));
    CU_ASSERT(has(problems(campaign("[{\"name\": \"u\", \"guidance\": \"cfg\", \"label\": \"medium\"}]")),
                  "camp.json: targets[0].label: \"medium\" is not a class of model \"m\" (low, high)"));
    CU_ASSERT(has(problems(campaign("[{\"name\": \"u\", \"guidance\": \"cfg\"}]")),
                  "camp.json: targets[0].guidance: guidance \"cfg\" needs a \"label\""));
    /* class names that do not match the model */
    CU_ASSERT(has(problems("{\"models\": {\"m\": {\"path\": \"mdlm.safetensors\", \"classes\": [\"a\", \"b\", \"c\"]}},"
                           " \"targets\": [{\"name\": \"u\"}]}"),
                  "camp.json: models.m.classes: 3 class names, but the model has 2 classes"));
    /* a classifier whose classes are not the model's; CBG refused in this build */
    write_file(tmpf("clf.safetensors"), "not a classifier yet");
    const char *clf = problems(
        "{\"models\": {\"m\": {\"path\": \"mdlm.safetensors\", \"classes\": [\"low\", \"high\"]}},"
        " \"classifiers\": {\"q\": {\"path\": \"clf.safetensors\", \"classes\": [\"low\", \"top\"]}},"
        " \"targets\": [{\"name\": \"u\", \"guidance\": \"cbg\", \"classifier\": \"q\", \"label\": 1}]}");
    CU_ASSERT(has(clf, "camp.json: targets[0].classifier: classifier \"q\" has classes different from model \"m\"'s"));
    CU_ASSERT(has(clf, "camp.json: classifiers.q.path: \"" STRAND_TEST_TMP "/design/clf.safetensors\" is not a classifier"));
    /* a real classifier whose class count and vocabulary are not the model's */
    char dnaclf[4096];
    snprintf(dnaclf, sizeof dnaclf,
             "{\"models\": {\"d\": {\"path\": \"udlm.safetensors\"}}, \"classifiers\": {\"sp\": {\"path\": \"%s/models/"
             "dna-species-classifier.safetensors.zst\"}}, \"targets\": [{\"name\": \"u\", \"guidance\": \"cbg\", "
             "\"classifier\": \"sp\", \"label\": 1}]}",
             STRAND_SOURCE_DIR);
    CU_ASSERT(has(problems(dnaclf), "camp.json: targets[0].classifier: classifier \"sp\" has 10 classes but model \"d\" has 3"));
    CU_ASSERT(has(problems("{\"models\": {\"m\": {\"path\": \"mdlm.safetensors\"}}, \"targets\": [{\"name\": \"u\", "
                           "\"guidance\": \"cbg\", \"label\": 1}]}"),
                  "targets[0].guidance: guidance \"cbg\" needs a \"classifier\""));
    /* SMILES filters on a DNA model, "novel" without a training set */
    CU_ASSERT(has(problems(campaign("[{\"name\": \"u\", \"model\": \"d\", \"filters\": {\"mw\": [0, 500]}}]")),
                  "targets[0].filters: \"mw\" is a molecule property; model \"d\" is DNA"));
    CU_ASSERT(has(problems(campaign("[{\"name\": \"u\", \"filters\": {\"novel\": true}}]")),
                  "targets[0].filters: \"novel\" needs the model's training set (models.m.training_set)"));
    CU_ASSERT(has(problems(campaign("[{\"name\": \"u\", \"filters\": {\"mw\": [500, 100]}}]")),
                  "targets[0].filters.mw: min 500 is above max 100"));

    /* the CLI: the message, status 1, and nothing written */
    write_file(tmpf("bad.json"), campaign("[{\"name\": \"u\", \"guidance\": \"cfg\", \"label\": 1, \"gamma\": [-1]}]"));
    char out[8192];
    int st = tu_runf(out, sizeof out, "'%s' design '%s' -o '%s' 2>&1", STRAND_BIN, tmpf("bad.json"), tmpf("bad_out"));
    CU_ASSERT_EQUAL(st, 1);
    CU_ASSERT(has(out, "bad.json: targets[0].gamma[0]: -1 is negative"));
    CU_ASSERT(has(out, "nothing was written"));
    CU_ASSERT(!exists(tmpf("bad_out")));
}

/* Every regular file under dir (relative names, sorted), except manifest.json and the jobs'
 * job.json (they hold timings). */
static int list_files(const char *dir, const char *rel, char names[][600], int n, int cap)
{
    char path[2048];
    snprintf(path, sizeof path, "%s/%s", dir, rel);
    DIR *d = opendir(path);
    if (!d) return n;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.') continue;
        char r2[600], p2[2600];
        snprintf(r2, sizeof r2, "%s%s%s", rel, *rel ? "/" : "", e->d_name);
        snprintf(p2, sizeof p2, "%s/%s", dir, r2);
        struct stat st;
        if (stat(p2, &st) != 0) continue;
        if (S_ISDIR(st.st_mode)) n = list_files(dir, r2, names, n, cap);
        else if (strcmp(r2, "manifest.json") && strcmp(e->d_name, "job.json") && n < cap)
            snprintf(names[n++], 600, "%s", r2);
    }
    closedir(d);
    return n;
}

static int cmp_names(const void *a, const void *b) { return strcmp(a, b); }

/* 1 when a and b hold the same files (manifest.json and job.json aside) with the same bytes. */
static int same_tree(const char *a, const char *b)
{
    static char na[256][600], nb[256][600];
    int ka = list_files(a, "", na, 0, 256), kb = list_files(b, "", nb, 0, 256);
    qsort(na, (size_t)ka, sizeof na[0], cmp_names);
    qsort(nb, (size_t)kb, sizeof nb[0], cmp_names);
    if (ka != kb || ka == 0) {
        fprintf(stderr, "    %s has %d files, %s has %d\n", a, ka, b, kb);
        return 0;
    }
    for (int i = 0; i < ka; i++) {
        if (strcmp(na[i], nb[i])) {
            fprintf(stderr, "    file lists differ: %s vs %s\n", na[i], nb[i]);
            return 0;
        }
        char pa[4096], pb[4096];
        if (snprintf(pa, sizeof pa, "%s/%s", a, na[i]) >= (int)sizeof pa) return 0;
        if (snprintf(pb, sizeof pb, "%s/%s", b, nb[i]) >= (int)sizeof pb) return 0;
        size_t la, lb;
        unsigned char *x = tu_slurp(pa, &la), *y = tu_slurp(pb, &lb);
        int same = x && y && la == lb && !memcmp(x, y, la);
        free(x), free(y);
        if (!same) {
            fprintf(stderr, "    %s differs between %s and %s\n", na[i], a, b);
            return 0;
        }
    }
    return 1;
}

static const char *RUN_TARGETS =
    "[{\"name\": \"plain\", \"guidance\": \"none\"},\n"
    " {\"name\": \"high\", \"guidance\": \"cfg\", \"label\": \"high\", \"gamma\": [0, 1, 2.5],\n"
    "  \"filters\": {\"valid\": true, \"dedupe\": true}},\n"
    " {\"name\": \"dna-b\", \"model\": \"d\", \"guidance\": \"cfg\", \"label\": \"b\", \"gamma\": [2], \"samples\": 5}]";

static void test_dry_run_and_threads(void)
{
    write_file(tmpf("run.json"), campaign(RUN_TARGETS));
    char out[16384];
    /* dry run: the plan, nothing written */
    int st = tu_runf(out, sizeof out, "'%s' design '%s' -o '%s' --dry-run 2>&1", STRAND_BIN, tmpf("run.json"),
                     tmpf("dry"));
    CU_ASSERT_EQUAL(st, 0);
    CU_ASSERT(has(out, "5 jobs (target x gamma)"));
    CU_ASSERT(has(out, "high/gamma-2.5"));
    CU_ASSERT(has(out, "estimated time"));
    CU_ASSERT(has(out, "nothing written"));
    CU_ASSERT(!exists(tmpf("dry")));
    st = tu_runf(out, sizeof out, "'%s' design '%s' -o '%s' --dry-run --rate 1000 2>&1", STRAND_BIN, tmpf("run.json"),
                 tmpf("dry"));
    CU_ASSERT(st == 0 && has(out, "at the stated 1000.0 rows/s"));
    CU_ASSERT(!exists(tmpf("dry")));
    /* threads 1 and 2: the same bytes */
    st = tu_runf(out, sizeof out, "'%s' design '%s' -o '%s' --threads 1 -q 2>&1", STRAND_BIN, tmpf("run.json"), tmpf("t1"));
    CU_ASSERT_EQUAL(st, 0);
    if (st) fprintf(stderr, "%s\n", out);
    st = tu_runf(out, sizeof out, "'%s' design '%s' -o '%s' --threads 2 2>&1", STRAND_BIN, tmpf("run.json"), tmpf("t2"));
    CU_ASSERT_EQUAL(st, 0);
    CU_ASSERT(has(out, "report: "));
    CU_ASSERT(same_tree(tmpf("t1"), tmpf("t2")));
    /* FASTA headers, TSV and kept files */
    char p[2048];
    snprintf(p, sizeof p, "%s/dna-b/gamma-2/samples.fa", tmpf("t1"));
    unsigned char *fa = tu_slurp(p, NULL);
    CU_ASSERT(fa && has((char *)fa, ">dna-b_gamma-2_1 target=dna-b guidance=cfg species=b label=1 gamma=2 seed="));
    free(fa);
    snprintf(p, sizeof p, "%s/high/gamma-1/samples.tsv", tmpf("t1"));
    unsigned char *tsv = tu_slurp(p, NULL);
    CU_ASSERT(tsv && !strncmp((char *)tsv, "index\tsmiles\tvalid\tcanonical_smiles\tnovel\tqed", 45));
    /* every kept line is a valid, distinct molecule and the TSV says so */
    int lines = 0, kept = 0;
    for (char *q = (char *)tsv; q && *q; q = strchr(q, '\n') ? strchr(q, '\n') + 1 : NULL) {
        lines++;
        char *tab = q;
        int f = 0;
        for (; *tab && *tab != '\n' && f < 11; tab++) f += *tab == '\t';
        if (lines > 1 && *tab == '1') kept++;
    }
    CU_ASSERT_EQUAL(lines, 7);
    free(tsv);
    snprintf(p, sizeof p, "%s/high/gamma-1/kept.smi", tmpf("t1"));
    unsigned char *ks = tu_slurp(p, NULL);
    int klines = 0;
    for (char *q = (char *)ks; q && *q; q++) klines += *q == '\n';
    CU_ASSERT_EQUAL(klines, kept);
    free(ks);
    snprintf(p, sizeof p, "%s/metrics.json", tmpf("t1"));
    unsigned char *mj = tu_slurp(p, NULL);
    CU_ASSERT(mj && has((char *)mj, "\"job\": \"high/gamma-2.5\"") && has((char *)mj, "\"validity\""));
    free(mj);
    /* a second run finds everything finished */
    st = tu_runf(out, sizeof out, "'%s' design '%s' -o '%s' --threads 2 2>&1", STRAND_BIN, tmpf("run.json"), tmpf("t2"));
    CU_ASSERT(st == 0 && has(out, "5 jobs (5 kept from an earlier run)"));
    CU_ASSERT(same_tree(tmpf("t1"), tmpf("t2")));
}

static int count_jobs_in_manifest(const char *dir);

/* --job per job as separate processes at once, then --gather: the tree of one whole run (t1);
 * a gather with a job missing or changed writes nothing and names it; an unknown job is named */
static void test_one_job_and_gather(void)
{
    const char *camp = tmpf("run.json"), *jd = tmpf("jobs");
    char out[16384];
    int st = tu_runf(out, sizeof out, "'%s' design '%s' --list-jobs 2>&1", STRAND_BIN, camp);
    CU_ASSERT(st == 0 && tu_same_text("--list-jobs", out,
                                      "plain/gamma-0\nhigh/gamma-0\nhigh/gamma-1\nhigh/gamma-2.5\ndna-b/gamma-2\n"));
    st = tu_runf(out, sizeof out, "'%s' design '%s' -o '%s' --job high/gamma-7 2>&1", STRAND_BIN, camp, jd);
    CU_ASSERT(st == 1 && has(out, "has no job \"high/gamma-7\" (its jobs: plain/gamma-0, high/gamma-0,"));
    CU_ASSERT(!exists(jd));
    /* four of the five jobs, in parallel processes with 2 threads each */
    st = tu_runf(out, sizeof out,
                 "for j in plain/gamma-0 high/gamma-0 high/gamma-2.5 dna-b/gamma-2; do '%s' design '%s' -o '%s' -q "
                 "--threads 2 --job $j & done; wait 2>&1",
                 STRAND_BIN, camp, jd);
    CU_ASSERT_EQUAL(st, 0);
    char p[2048];
    snprintf(p, sizeof p, "%s/high/gamma-2.5/job.json", jd);
    CU_ASSERT(exists(p));
    snprintf(p, sizeof p, "%s/manifest.json", jd);
    CU_ASSERT(!exists(p)); /* a --job run writes nothing campaign-level */
    st = tu_runf(out, sizeof out, "'%s' design '%s' -o '%s' --gather 2>&1", STRAND_BIN, camp, jd);
    CU_ASSERT(st == 1 && has(out, "1 of 5 jobs are not finished there") && has(out, ": high/gamma-1; run them"));
    snprintf(p, sizeof p, "%s/metrics.json", jd);
    CU_ASSERT(!exists(p));
    st = tu_runf(out, sizeof out, "'%s' design '%s' -o '%s' --job high/gamma-1 2>&1", STRAND_BIN, camp, jd);
    CU_ASSERT_EQUAL(st, 0);
    /* a finished job is kept, not redone */
    snprintf(p, sizeof p, "%s/plain/gamma-0/samples.smi", jd);
    struct stat before, after;
    CU_ASSERT_FATAL(stat(p, &before) == 0);
    st = tu_runf(out, sizeof out, "'%s' design '%s' -o '%s' --job plain/gamma-0 2>&1", STRAND_BIN, camp, jd);
    CU_ASSERT(st == 0 && has(out, "plain/gamma-0: kept"));
    CU_ASSERT(stat(p, &after) == 0 && after.st_ino == before.st_ino);
    st = tu_runf(out, sizeof out, "'%s' design '%s' -o '%s' --gather 2>&1", STRAND_BIN, camp, jd);
    CU_ASSERT(st == 0 && has(out, "5 jobs gathered"));
    CU_ASSERT(same_tree(tmpf("t1"), jd));
    CU_ASSERT_EQUAL(count_jobs_in_manifest(jd), 5);
    /* a whole run over the gathered directory keeps every job */
    st = tu_runf(out, sizeof out, "'%s' design '%s' -o '%s' 2>&1", STRAND_BIN, camp, jd);
    CU_ASSERT(st == 0 && has(out, "5 jobs (5 kept from an earlier run)"));
    /* a job kept by the manifest whose job.json is gone (Snakemake deletes a job's outputs before it
     * reruns it) gets the manifest's entry back as its job.json, the same bytes */
    snprintf(p, sizeof p, "%s/high/gamma-1/job.json", jd);
    size_t n0 = 0, n1 = 0;
    unsigned char *j0 = tu_slurp(p, &n0);
    CU_ASSERT_FATAL(j0 != NULL && unlink(p) == 0);
    st = tu_runf(out, sizeof out, "'%s' design '%s' -o '%s' --job high/gamma-1 2>&1", STRAND_BIN, camp, jd);
    CU_ASSERT(st == 0 && has(out, "high/gamma-1: kept"));
    unsigned char *j1 = tu_slurp(p, &n1);
    CU_ASSERT(j1 != NULL && n1 == n0 && !memcmp(j0, j1, n0));
    free(j0), free(j1);
    /* an edited job file fails its checksum: the gather refuses, naming that job */
    snprintf(p, sizeof p, "%s/dna-b/gamma-2/samples.tsv", jd);
    FILE *fp = fopen(p, "a");
    if (fp) fputs("x\n", fp), fclose(fp);
    st = tu_runf(out, sizeof out, "'%s' design '%s' -o '%s' --gather 2>&1", STRAND_BIN, camp, jd);
    CU_ASSERT(st == 1 && has(out, "1 of 5 jobs are not finished there") && has(out, ": dna-b/gamma-2; run them"));
    CU_ASSERT(tu_runf(out, sizeof out, "'%s' design '%s' -o '%s' --job x --gather 2>&1", STRAND_BIN, camp, jd) == 1);
}

static void test_api(void)
{
    write_file(tmpf("api.json"), campaign(RUN_TARGETS));
    strand_design *d = NULL;
    CU_ASSERT_FATAL(strand_design_load(tmpf("api.json"), &d) == 0);
    CU_ASSERT_STRING_EQUAL(strand_design_name(d), "t");
    strand_design_params p = strand_design_default_params();
    p.out_dir = tmpf("api_out");
    p.threads = 2;
    p.quiet = 1;
    CU_ASSERT_FATAL(strand_design_run(d, &p) == 0);
    CU_ASSERT_EQUAL(strand_design_num_results(d), 5);
    strand_design_result r;
    CU_ASSERT(strand_design_result_get(d, 2, &r) == 0);
    CU_ASSERT_STRING_EQUAL(r.job, "high/gamma-1");
    CU_ASSERT_STRING_EQUAL(r.class_name, "high");
    CU_ASSERT_EQUAL(r.label, 1);
    CU_ASSERT_EQUAL(r.n_samples, 6);
    CU_ASSERT(r.metrics_json && strstr(r.metrics_json, "\"validity\""));
    /* the samples are the file's lines, and the same as the CLI's run of the same campaign */
    char path[2048];
    snprintf(path, sizeof path, "%s/high/gamma-1/samples.smi", tmpf("t1"));
    unsigned char *cli = tu_slurp(path, NULL);
    char want[4096] = "";
    for (size_t k = 0; k < r.n_samples; k++) {
        strcat(want, strand_design_sample(d, 2, k));
        strcat(want, "\n");
    }
    CU_ASSERT(cli && tu_same_text("API samples vs CLI file", (char *)cli, want));
    free(cli);
    CU_ASSERT(strand_design_sample(d, 2, 6) == NULL);
    CU_ASSERT(strand_design_result_get(d, 5, &r) == STRAND_E_RANGE);
    strand_design_free(d);
    /* a campaign with errors: no handle */
    write_file(tmpf("api_bad.json"), campaign("[{\"name\": \"u\", \"bogus\": 1}]"));
    CU_ASSERT(strand_design_load(tmpf("api_bad.json"), &d) == STRAND_E_ARG && d == NULL);
    CU_ASSERT(strstr(strand_last_error(), "api_bad.json: targets[0].bogus: unknown key") != NULL);
}

static int count_jobs_in_manifest(const char *dir)
{
    char p[2048];
    snprintf(p, sizeof p, "%s/manifest.json", dir);
    unsigned char *m = tu_slurp(p, NULL);
    int n = 0;
    for (char *q = (char *)m; q && (q = strstr(q, "\"spec\"")); q++) n++;
    free(m);
    return n;
}

/* kill -9 mid-campaign, rerun: finished jobs are kept (not rewritten), the result equals an
 * uninterrupted run. */
static void test_kill_and_resume(void)
{
    /* six jobs long enough to be caught in the middle */
    write_file(tmpf("kill.json"),
               campaign("[{\"name\": \"k\", \"guidance\": \"cfg\", \"label\": 1, \"gamma\": [0, 1, 2, 3, 4, 5],"
                        " \"steps\": 300, \"samples\": 8, \"batch\": 8}]"));
    char out[8192];
    int st = tu_runf(out, sizeof out, "'%s' design '%s' -o '%s' -q 2>&1", STRAND_BIN, tmpf("kill.json"), tmpf("full"));
    CU_ASSERT_FATAL(st == 0);
    const char *kd = tmpf("killed");
    pid_t pid = fork();
    CU_ASSERT_FATAL(pid >= 0);
    if (pid == 0) {
        execl(STRAND_BIN, STRAND_BIN, "design", tmpf("kill.json"), "-o", kd, "-q", "--threads", "1", (char *)NULL);
        _exit(127);
    }
    /* wait for the first finished job, then kill -9 */
    int waited = 0, status = 0;
    while (count_jobs_in_manifest(kd) < 1 && waited < 60000) {
        struct timespec ts = {0, 2000000};
        nanosleep(&ts, NULL);
        waited += 2;
        if (waitpid(pid, &status, WNOHANG) == pid) break;
    }
    kill(pid, SIGKILL);
    waitpid(pid, &status, 0);
    CU_ASSERT(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
    int finished = count_jobs_in_manifest(kd);
    fprintf(stderr, "    killed after %d of 6 jobs\n", finished);
    CU_ASSERT(finished >= 1 && finished < 6);
    char metrics[2048];
    snprintf(metrics, sizeof metrics, "%s/metrics.json", kd);
    CU_ASSERT(!exists(metrics)); /* the campaign-level outputs come last */
    /* the finished job's files: inode and mtime must survive the rerun */
    char p0[2048];
    snprintf(p0, sizeof p0, "%s/k/gamma-0/samples.smi", kd);
    struct stat before, after;
    CU_ASSERT_FATAL(stat(p0, &before) == 0);
    sleep(1); /* a rewrite would show in the mtime */
    st = tu_runf(out, sizeof out, "'%s' design '%s' -o '%s' --threads 2 2>&1", STRAND_BIN, tmpf("kill.json"), kd);
    CU_ASSERT_EQUAL(st, 0);
    char want[128];
    snprintf(want, sizeof want, "6 jobs (%d kept from an earlier run)", finished);
    CU_ASSERT(has(out, want));
    CU_ASSERT(stat(p0, &after) == 0 && after.st_ino == before.st_ino && after.st_mtime == before.st_mtime);
    CU_ASSERT(same_tree(tmpf("full"), kd));
    /* a corrupted finished file is noticed by its checksum and that job is redone */
    FILE *fp = fopen(p0, "a");
    if (fp) fputs("tampered\n", fp), fclose(fp);
    st = tu_runf(out, sizeof out, "'%s' design '%s' -o '%s' 2>&1", STRAND_BIN, tmpf("kill.json"), kd);
    CU_ASSERT(st == 0 && has(out, "6 jobs (5 kept from an earlier run)"));
    CU_ASSERT(same_tree(tmpf("full"), kd));
}

/* filters over known molecules: valid, novel (against a training reference), dedupe (canonical),
 * property ranges; the TSV and metrics say the same */
static void test_filters(void)
{
    char *seqs[] = {"CCO", "OCC", "c1ccccc1", "C(", "", "CCl", "c1ccccc1"};
    size_t n = 7;
    const char *train[] = {"OCC"};
    ms_params mp;
    ms_default_params(&mp);
    ms_reference *ref = NULL;
    CU_ASSERT_FATAL(ms_reference_build(train, 1, 0, &mp, &ref) == 0);
    dz_model m;
    memset(&m, 0, sizeof m);
    dz_eval ev;
    CU_ASSERT_FATAL(dz_evaluate(&m, ref, seqs, n, -1, 1, NULL, NULL, &ev) == 0);
    dz_filters f;
    memset(&f, 0, sizeof f);
    f.valid = 1, f.dedupe = 1, f.novel = 1;
    f.range[DZ_PROP_MW].set = 1, f.range[DZ_PROP_MW].lo = 0, f.range[DZ_PROP_MW].hi = 60;
    CU_ASSERT_FATAL(dz_eval_filter(&f, &ev) == 0);
    const int want_kept[] = {0, 0, 0, 0, 0, 1, 0};
    const char *want_why[] = {"in-training-set", "in-training-set", "mw", "invalid", "invalid", "", "mw"};
    for (size_t i = 0; i < n; i++) {
        CU_ASSERT_EQUAL(ev.kept[i], want_kept[i]);
        CU_ASSERT_STRING_EQUAL(ev.why[i], want_why[i]);
    }
    CU_ASSERT(fabs(dz_eval_prop(&ev, 5, DZ_PROP_MW) - 50.488) < 1e-3);
    /* dedupe alone keeps the first of CCO/OCC and of the two benzenes */
    memset(&f, 0, sizeof f);
    f.dedupe = 1;
    CU_ASSERT_FATAL(dz_eval_filter(&f, &ev) == 0);
    const int want_dd[] = {1, 0, 1, 1, 1, 1, 0};
    for (size_t i = 0; i < n; i++) CU_ASSERT_EQUAL(ev.kept[i], want_dd[i]);
    CU_ASSERT_STRING_EQUAL(ev.why[1], "duplicate");
    json_t *o = dz_eval_metrics(&ev);
    CU_ASSERT_FATAL(o != NULL);
    /* 5 valid of 7; distinct canonical: CCO, benzene, CCl = 3; novel: benzene, CCl */
    CU_ASSERT_DOUBLE_EQUAL(json_number_value(json_object_get(o, "validity")), 5.0 / 7, 1e-12);
    CU_ASSERT_DOUBLE_EQUAL(json_number_value(json_object_get(o, "uniqueness")), 3.0 / 5, 1e-12);
    CU_ASSERT_DOUBLE_EQUAL(json_number_value(json_object_get(o, "novelty")), 2.0 / 3, 1e-12);
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(o, "kept")), 5);
    json_decref(o);
    CU_ASSERT(dz_eval_write_tsv(tmpf("filters.tsv"), &ev) == 0);
    unsigned char *tsv = tu_slurp(tmpf("filters.tsv"), NULL);
    CU_ASSERT(tsv && has((char *)tsv, "\n2\tOCC\t1\tCCO\t0\t") && has((char *)tsv, "\t0\tduplicate\n"));
    free(tsv);
    dz_eval_clear(&ev);
    ms_reference_free(ref);
}

static void test_seeds(void)
{
    dz_campaign *c = NULL;
    CU_ASSERT_FATAL(dz_campaign_parse(campaign("[{\"name\": \"a\", \"guidance\": \"cfg\", \"label\": 1, \"gamma\": [1, 2]},"
                                               " {\"name\": \"b\", \"guidance\": \"cfg\", \"label\": 1, \"gamma\": [2]}]"),
                                      "s.json", DIR0, &c) == 0);
    /* per target x γ, different across targets and γ, and the same γ of two targets differs */
    uint64_t a1 = dz_job_seed(&c->targets[0], 0), a2 = dz_job_seed(&c->targets[0], 1), b2 = dz_job_seed(&c->targets[1], 0);
    CU_ASSERT(a1 != a2 && a2 != b2 && a1 != b2);
    CU_ASSERT(a1 <= DZ_SEED_MASK && a2 <= DZ_SEED_MASK);
    dz_campaign_free(c);
    /* adding a γ leaves the others' seeds alone */
    CU_ASSERT_FATAL(dz_campaign_parse(campaign("[{\"name\": \"a\", \"guidance\": \"cfg\", \"label\": 1, \"gamma\": [0.5, 2, 1]}]"),
                                      "s.json", DIR0, &c) == 0);
    CU_ASSERT_EQUAL(dz_job_seed(&c->targets[0], 2), a1);
    CU_ASSERT_EQUAL(dz_job_seed(&c->targets[0], 1), a2);
    dz_campaign_free(c);
}

/* CBG through the bundled SMILES MDLM and its masked-process QED classifier: runs, and the job says so */
static void test_cbg_run(void)
{
    char text[4096];
    snprintf(text, sizeof text,
             "{\"models\": {\"m\": {\"path\": \"%s/models/smiles-mdlm-qed.safetensors.zst\"}},"
             " \"classifiers\": {\"q\": {\"path\": \"%s/models/smiles-qed-mdlm-classifier.safetensors\"}},"
             " \"targets\": [{\"name\": \"fo\", \"guidance\": \"cbg-first-order\", \"classifier\": \"q\", \"label\": 1,"
             " \"gamma\": [2], \"steps\": 4, \"samples\": 4, \"batch\": 4},"
             " {\"name\": \"both\", \"guidance\": \"cfg+cbg\", \"classifier\": \"q\", \"label\": 1, \"cfg_gamma\": 2,"
             " \"gamma\": [1], \"steps\": 4, \"samples\": 4, \"batch\": 4}]}",
             STRAND_SOURCE_DIR, STRAND_SOURCE_DIR);
    write_file(tmpf("cbg.json"), text);
    char out[8192];
    int st = tu_runf(out, sizeof out, "'%s' design '%s' -o '%s' -q 2>&1", STRAND_BIN, tmpf("cbg.json"), tmpf("cbg_out"));
    CU_ASSERT_EQUAL(st, 0);
    if (st) fprintf(stderr, "%s\n", out);
    char p[2048];
    snprintf(p, sizeof p, "%s/fo/gamma-2/metrics.json", tmpf("cbg_out"));
    unsigned char *mj = tu_slurp(p, NULL);
    CU_ASSERT(mj && has((char *)mj, "\"guidance\": \"cbg-first-order\""));
    free(mj);
    snprintf(p, sizeof p, "%s/both/gamma-1/metrics.json", tmpf("cbg_out"));
    mj = tu_slurp(p, NULL);
    CU_ASSERT(mj && has((char *)mj, "\"cfg_gamma\": 2.0"));
    free(mj);
}

/* ---- "judge" and "reference" ---- */

static const char *const JCLASS[3] = {"a", "b", "c"};
enum { RW = 24, RN = 5 }; /* reference windows per class, of RW bases */

/* Window i of class y: a A/T-rich, b G/C-rich, c an ACGT cycle, varied by i. */
static void ref_window(int y, int i, char *w)
{
    static const char *const pal[3] = {"AATATTAC", "GCGGCCGT", "ACGTTGCA"};
    for (int l = 0; l < RW; l++) w[l] = pal[y][(l * (i + 1) + i) % 8];
    w[RW] = 0;
}

static void write_ref_shard(const char *path, int y, uint32_t split)
{
    st_shard_writer *w = NULL;
    CU_ASSERT_FATAL(st_shard_writer_open(&w, path, ST_SHARD_KIND_DNA_WINDOWS, split, RW, st_dna_vocab_hash(), 16, 4) == 0);
    strand_tokenizer *tok = NULL;
    CU_ASSERT_FATAL(strand_tokenizer_dna_create(&tok) == 0);
    for (int i = 0; i < RN; i++) {
        char s[RW + 1];
        int32_t ids[RW];
        uint8_t t[RW];
        size_t n = 0;
        ref_window(y, i, s);
        CU_ASSERT_FATAL(strand_tokenizer_encode(tok, s, ids, RW, &n) == 0 && n == RW);
        for (int l = 0; l < RW; l++) t[l] = (uint8_t)ids[l];
        CU_ASSERT_FATAL(st_shard_writer_add(w, t, 0, (int64_t)i * RW) == 0);
    }
    strand_tokenizer_free(tok);
    CU_ASSERT_FATAL(st_shard_writer_close(w) == 0);
}

static void write_classifier(const char *path, int clean, uint64_t seed)
{
    clf_config cfg = clf_default_config();
    snprintf(cfg.backbone, sizeof cfg.backbone, "bimamba");
    cfg.num_classes = 3, cfg.vocab = 16, cfg.length = LEN, cfg.proc = DIFF_UNIFORM, cfg.mask_id = -1, cfg.clean = clean;
    clf_weights *w = NULL;
    CU_ASSERT_FATAL(clf_weights_create(&w, &cfg, "{\"hidden_dim\": 8, \"n_blocks\": 1, \"cond_dim\": 8}") == 0);
    strand_rng r;
    strand_rng_seed(&r, seed);
    clf_init_weights(w, &r);
    paramblock *pb = clf_params(w);
    for (size_t i = 0; i < pb->total; i++) pb->params[i] += (float)(0.3 * strand_rng_normal(&r)); /* varied classes */
    CU_ASSERT_FATAL(clf_save(w, NULL, NULL, NULL, path) == 0);
    clf_weights_free(w);
}

/* The DNA model "d" with judge/reference entries `extra` and classifiers, one target list. */
static const char *judge_campaign(const char *extra, const char *targets)
{
    static char buf[8192];
    snprintf(buf, sizeof buf,
             "{\"name\": \"j\", \"seed\": 3,\n \"models\": {\"d\": {\"path\": \"udlm.safetensors\", \"classes\": "
             "[\"a\", \"b\", \"c\"]%s},\n  \"m\": {\"path\": \"mdlm.safetensors\"}},\n"
             " \"classifiers\": {\"clean\": {\"path\": \"clean.safetensors\", \"classes\": [\"a\", \"b\", \"c\"]},\n"
             "   \"noisy\": {\"path\": \"noisy.safetensors\"}},\n"
             " \"defaults\": {\"model\": \"d\", \"steps\": 4, \"samples\": 7, \"batch\": 4},\n \"targets\": %s}\n",
             extra, targets);
    return buf;
}

static void test_judge_reference(void)
{
    char p[2048];
    for (int y = 0; y < 3; y++) {
        snprintf(p, sizeof p, "mkdir -p '%s/ref/%s'", DIR0, JCLASS[y]);
        CU_ASSERT_FATAL(tu_runf(NULL, 0, "%s", p) == 0);
        snprintf(p, sizeof p, "%s/ref/%s/val.shard", DIR0, JCLASS[y]);
        write_ref_shard(p, y, ST_SPLIT_VAL);
        snprintf(p, sizeof p, "%s/ref/%s/train.shard", DIR0, JCLASS[y]);
        write_ref_shard(p, y, ST_SPLIT_TRAIN);
    }
    write_classifier(tmpf("clean.safetensors"), 1, 11);
    write_classifier(tmpf("noisy.safetensors"), 0, 12);
    const char *un = "[{\"name\": \"u\", \"guidance\": \"none\"}]";
    const char *good = ", \"judge\": \"clean\", \"reference\": \"ref/{class}/val.shard\"";
    CU_ASSERT_STRING_EQUAL(problems(judge_campaign(good, un)), "");
    /* bad input: each names the file, the key and the problem */
    CU_ASSERT(has(problems(judge_campaign(", \"judge\": \"nope\"", un)),
                  "camp.json: models.d.judge: no classifier named \"nope\""));
    CU_ASSERT(has(problems(judge_campaign(", \"judge\": \"noisy\"", un)),
                  "camp.json: models.d.judge: classifier \"noisy\" is a noisy classifier"));
    CU_ASSERT(has(problems(judge_campaign(", \"judge\": 3", un)), "models.d.judge: want the name of an entry"));
    CU_ASSERT(has(problems(judge_campaign(", \"reference\": \"ref/a/val.shard\"", un)),
                  "models.d.reference: \"ref/a/val.shard\" has no \"{class}\""));
    CU_ASSERT(has(problems(judge_campaign(", \"reference\": \"ref/{class}/train.shard\"", un)),
                  "is a training shard (split train): reference windows must be held out"));
    CU_ASSERT(has(problems(judge_campaign(", \"reference\": \"ref/{class}/test.shard\"", un)),
                  "models.d.reference: class 0 (a): "));
    CU_ASSERT(has(problems(judge_campaign(", \"reference\": \"ref/{class}/test.shard\"", un)), "does not exist"));
    {
        char t[8192];
        snprintf(t, sizeof t, "%s", judge_campaign("", un));
        char *mm = strstr(t, "\"mdlm.safetensors\"}");
        CU_ASSERT_FATAL(mm != NULL);
        char fixed[8192];
        snprintf(fixed, sizeof fixed, "%.*s\"mdlm.safetensors\", \"judge\": \"clean\", \"reference\": \"r/{class}\"}%s",
                 (int)(mm - t), t, mm + strlen("\"mdlm.safetensors\"}"));
        const char *msg = problems(fixed);
        CU_ASSERT(has(msg, "models.m.judge: a judge assigns DNA samples a class; model \"m\" is SMILES"));
        CU_ASSERT(has(msg, "models.m.reference: reference windows are for DNA models"));
    }

    /* a run: unguided + CFG towards b */
    write_file(tmpf("judge.json"),
               judge_campaign(good, "[{\"name\": \"u\", \"guidance\": \"none\"}, "
                                    "{\"name\": \"g\", \"guidance\": \"cfg\", \"label\": \"b\", \"gamma\": [2]}]"));
    char out[8192];
    int st = tu_runf(out, sizeof out, "'%s' design '%s' -o '%s' -q 2>&1", STRAND_BIN, tmpf("judge.json"), tmpf("judge_out"));
    CU_ASSERT_EQUAL_FATAL(st, 0);
    strand_classifier *jc = NULL;
    strand_tokenizer *tok = NULL;
    CU_ASSERT_FATAL(strand_classifier_load(tmpf("clean.safetensors"), &jc) == 0);
    CU_ASSERT_FATAL(strand_tokenizer_dna_create(&tok) == 0);
    /* the test's own windows: per class and pooled */
    char win[3 * RN][RW + 1];
    const char *wp[3 * RN];
    for (int y = 0; y < 3; y++)
        for (int i = 0; i < RN; i++) ref_window(y, i, win[y * RN + i]), wp[y * RN + i] = win[y * RN + i];
    const char *const jobs[2] = {"u/gamma-0", "g/gamma-2"};
    const int label[2] = {-1, 1};
    int n6 = 0;
    for (int jb = 0; jb < 2; jb++) {
        snprintf(p, sizeof p, "%s/%s/samples.fa", tmpf("judge_out"), jobs[jb]);
        unsigned char *fa = tu_slurp(p, NULL);
        snprintf(p, sizeof p, "%s/%s/metrics.json", tmpf("judge_out"), jobs[jb]);
        json_error_t je;
        json_t *mj = json_load_file(p, 0, &je), *met = json_object_get(mj, "metrics");
        CU_ASSERT_FATAL(fa != NULL && met != NULL);
        char *seqs[16];
        int n = 0;
        for (char *line = strtok((char *)fa, "\n"); line && n < 16; line = strtok(NULL, "\n"))
            if (line[0] != '>') seqs[n++] = line;
        CU_ASSERT_EQUAL_FATAL(n, 7);
        int hits[3] = {0, 0, 0};
        for (int i = 0; i < n; i++) {
            int32_t ids[LEN];
            size_t len = 0;
            float lp[3];
            CU_ASSERT_FATAL(strand_tokenizer_encode(tok, seqs[i], ids, LEN, &len) == 0 && len > 0);
            CU_ASSERT_FATAL(strand_classifier_log_probs(jc, ids, 1, len, NULL, lp) == 0);
            int b = lp[1] > lp[0] ? 1 : 0;
            b = lp[2] > lp[b] ? 2 : b;
            hits[b]++;
        }
        json_t *pc = json_object_get(met, "per_class");
        CU_ASSERT_FATAL(json_array_size(pc) == 3);
        double s3[64], s6[4096], r3[64], r6[4096];
        long k3 = md_kmer_spectrum((const char *const *)seqs, (size_t)n, 3, s3);
        long k6 = md_kmer_spectrum((const char *const *)seqs, (size_t)n, 6, s6); /* no 6-mer: JS null */
        for (int y = 0; y < 3; y++) {
            json_t *e = json_array_get(pc, (size_t)y);
            CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(e, "class")), JCLASS[y]);
            CU_ASSERT_DOUBLE_EQUAL(json_number_value(json_object_get(e, "judged_share")), hits[y] / 7.0, 1e-12);
            md_kmer_spectrum(wp + y * RN, RN, 3, r3);
            md_kmer_spectrum(wp + y * RN, RN, 6, r6);
            if (k3 > 0) CU_ASSERT_DOUBLE_EQUAL(json_number_value(json_object_get(e, "kmer_js3_bits")), md_js_bits(s3, r3, 64), 1e-9);
            if (k6 > 0) CU_ASSERT_DOUBLE_EQUAL(json_number_value(json_object_get(e, "kmer_js6_bits")), md_js_bits(s6, r6, 4096), 1e-9);
            CU_ASSERT_EQUAL(json_is_null(json_object_get(e, "kmer_js3_bits")), k3 == 0);
            CU_ASSERT_EQUAL(json_is_null(json_object_get(e, "kmer_js6_bits")), k6 == 0);
            n6 += k6 > 0;
        }
        /* the job's own JS: the requested class's windows, or all of them when unguided */
        const char *const *rw = label[jb] >= 0 ? wp + label[jb] * RN : wp;
        size_t rn = label[jb] >= 0 ? RN : 3 * RN;
        md_kmer_spectrum(rw, rn, 3, r3);
        CU_ASSERT_DOUBLE_EQUAL(json_number_value(json_object_get(met, "kmer_js3_bits")), md_js_bits(s3, r3, 64), 1e-9);
        if (label[jb] >= 0) {
            double acc = hits[label[jb]] / 7.0;
            CU_ASSERT_DOUBLE_EQUAL(json_number_value(json_object_get(met, "class_accuracy")), acc, 1e-12);
            CU_ASSERT_DOUBLE_EQUAL(json_number_value(json_object_get(met, "class_accuracy_se")), sqrt(acc * (1 - acc) / 7), 1e-12);
        } else {
            CU_ASSERT(json_is_null(json_object_get(met, "class_accuracy")));
        }
        json_decref(mj);
        free(fa);
    }
    (void)n6; /* the tiny random model's samples are short: 6-mers are checked below */
    /* dz_evaluate on class b's own windows with given predictions: JS 0 to b, > 0 to a and c */
    {
        md_reference *ref[3] = {NULL, NULL, NULL}, *all = NULL;
        for (int y = 0; y < 3; y++) CU_ASSERT_FATAL(md_reference_build(wp + y * RN, RN, &ref[y]) == 0);
        CU_ASSERT_FATAL(md_reference_build(wp, 3 * RN, &all) == 0);
        dz_model dm;
        memset(&dm, 0, sizeof dm);
        dm.dna = 1, dm.num_classes = 3, dm.classes = (char **)JCLASS, dm.ref = ref, dm.ref_all = all, dm.judge = -1;
        const int pred[RN] = {1, 1, 0, 2, 1};
        const double prob[RN] = {0.9, 0.8, 0.5, 0.4, 0.7};
        dz_eval ev;
        CU_ASSERT_FATAL(dz_evaluate(&dm, NULL, (char *const *)(wp + RN), RN, 1, 1, pred, prob, &ev) == 0);
        CU_ASSERT_DOUBLE_EQUAL(ev.dm.accuracy, 0.6, 1e-15);
        CU_ASSERT_DOUBLE_EQUAL(ev.pc_share[0], 0.2, 1e-15);
        CU_ASSERT_DOUBLE_EQUAL(ev.pc_share[2], 0.2, 1e-15);
        CU_ASSERT(ev.pc_js3[1] == 0 && ev.pc_js6[1] == 0 && ev.dm.js6 == 0);
        CU_ASSERT(ev.pc_js3[0] > 0.1 && ev.pc_js6[0] > 0.1 && ev.pc_js6[2] > 0.1);
        double s6[4096], r6[4096];
        md_kmer_spectrum(wp + RN, RN, 6, s6);
        md_kmer_spectrum(wp + 2 * RN, RN, 6, r6);
        CU_ASSERT_DOUBLE_EQUAL(ev.pc_js6[2], md_js_bits(s6, r6, 4096), 1e-15);
        CU_ASSERT(ev.md[3].predicted == 2 && ev.md[3].prob == 0.4);
        dz_eval_filter(&(dz_filters){0}, &ev);
        json_t *o = dz_eval_metrics(&ev);
        CU_ASSERT_DOUBLE_EQUAL(json_number_value(json_object_get(o, "class_accuracy_se")), sqrt(0.6 * 0.4 / RN), 1e-12);
        CU_ASSERT_EQUAL(json_array_size(json_object_get(o, "per_class")), 3);
        json_decref(o);
        dz_eval_clear(&ev);
        /* unguided: the pooled windows are the job's reference */
        CU_ASSERT_FATAL(dz_evaluate(&dm, NULL, (char *const *)wp, 3 * RN, -1, 1, NULL, NULL, &ev) == 0);
        CU_ASSERT(ev.dm.js3 == 0 && ev.dm.js6 == 0 && isnan(ev.dm.accuracy) && isnan(ev.pc_share[0]));
        dz_eval_clear(&ev);
        for (int y = 0; y < 3; y++) md_reference_free(ref[y]);
        md_reference_free(all);
    }
    strand_classifier_free(jc);
    strand_tokenizer_free(tok);
    /* a changed reference changes the jobs' spec: the rerun redoes them */
    snprintf(p, sizeof p, "%s/ref/b/val.shard", DIR0);
    write_ref_shard(p, 0, ST_SPLIT_VAL);
    st = tu_runf(out, sizeof out, "'%s' design '%s' -o '%s' --dry-run 2>&1", STRAND_BIN, tmpf("judge.json"), tmpf("judge_out"));
    CU_ASSERT_EQUAL(st, 0);
    CU_ASSERT(has(out, "to run: 2 of 2 jobs"));
}

/* The sampler's samples for the UDLM "d" (unguided, steps 4, batch 4), decoded as design does. */
static void sample_udlm(uint64_t seed, int tail, size_t n, char out[][4 * LEN + 1])
{
    strand_model *m = NULL;
    strand_tokenizer *tok = NULL;
    CU_ASSERT_FATAL(strand_model_load(UDLM, &m) == 0);
    CU_ASSERT_FATAL(strand_tokenizer_for_model(UDLM, m, &tok) == 0);
    strand_sampler_params sp = strand_sampler_default_params();
    sp.steps = 4, sp.batch = 4, sp.seed = seed, sp.threads = 1, sp.label = -1, sp.tail = tail;
    strand_sampler *s = NULL;
    CU_ASSERT_FATAL(strand_sampler_create(m, &sp, &s) == 0);
    int32_t ids[8 * LEN], keep[LEN];
    CU_ASSERT_FATAL(n <= 8 && strand_sampler_run(s, n, ids, NULL) == 0);
    for (size_t i = 0; i < n; i++) {
        size_t k = 0;
        for (int l = 0; l < LEN; l++)
            if (strand_tokenizer_token(tok, ids[i * LEN + l])) keep[k++] = ids[i * LEN + l];
        CU_ASSERT(strand_tokenizer_decode(tok, keep, k, out[i], 4 * LEN + 1, NULL) == 0);
    }
    strand_sampler_free(s);
    strand_tokenizer_free(tok);
    strand_model_free(m);
}

/* "tail" (docs/design.md; docs/duo.md "Few-step sampling"): refused on a masked model or with an
 * unknown name; a job with a greedy tail is the sampler's run with that tail at the job's seed, the
 * tail changes the samples, the job records it, and its NFE counts the extra call. */
static void test_tail(void)
{
    CU_ASSERT(has(problems(campaign("[{\"name\": \"u\", \"tail\": \"greedy\"}]")),
                  "camp.json: targets[0].tail: a tail is for uniform-state (UDLM/Duo) models; model \"m\" is masked"));
    CU_ASSERT(has(problems(campaign("[{\"name\": \"u\", \"model\": \"d\", \"tail\": \"fast\"}]")),
                  "camp.json: targets[0].tail: want \"none\", \"greedy\" or \"ancestral\", not \"fast\""));
    CU_ASSERT(has(problems(campaign("[{\"name\": \"u\", \"model\": \"d\", \"tail\": 1}]")),
                  "camp.json: targets[0].tail: want \"none\", \"greedy\" or \"ancestral\", not an integer"));
    write_file(tmpf("tail.json"), campaign("[{\"name\": \"g\", \"model\": \"d\", \"tail\": \"greedy\"},"
                                           " {\"name\": \"n\", \"model\": \"d\", \"seed\": 11}]"));
    strand_design *d = NULL;
    CU_ASSERT_FATAL(strand_design_load(tmpf("tail.json"), &d) == 0);
    strand_design_params p = strand_design_default_params();
    p.out_dir = tmpf("tail_out");
    p.quiet = 1;
    CU_ASSERT_FATAL(strand_design_run(d, &p) == 0);
    strand_design_result r;
    CU_ASSERT_FATAL(strand_design_result_get(d, 0, &r) == 0 && r.n_samples == 6);
    json_error_t je;
    json_t *mj = json_loads(r.metrics_json, 0, &je);
    CU_ASSERT_FATAL(mj != NULL);
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(mj, "tail")), "greedy");
    CU_ASSERT_DOUBLE_EQUAL(json_number_value(json_object_get(mj, "nfe")), 5.0, 1e-12); /* 4 steps + the tail */
    uint64_t seed = r.seed;
    CU_ASSERT_EQUAL((uint64_t)json_integer_value(json_object_get(mj, "seed")), seed);
    json_decref(mj);
    char want[8][4 * LEN + 1], plain[8][4 * LEN + 1];
    sample_udlm(seed, STRAND_TAIL_GREEDY, 6, want);
    sample_udlm(seed, STRAND_TAIL_NONE, 6, plain);
    int same = 1, differ = 0;
    for (size_t k = 0; k < 6; k++) {
        same &= !strcmp(strand_design_sample(d, 0, k), want[k]);
        differ |= strcmp(want[k], plain[k]) != 0;
    }
    CU_ASSERT(same);
    CU_ASSERT(differ);
    /* a target without the key keeps its old spec and NFE (4 calls) and no "tail" entry */
    CU_ASSERT_FATAL(strand_design_result_get(d, 1, &r) == 0);
    CU_ASSERT(strstr(r.metrics_json, "\"tail\"") == NULL);
    strand_design_free(d);
}

void register_suites(void)
{
    CU_pSuite s = CU_add_suite("design", setup, NULL);
    ADD_TEST(s, test_bad_input);
    ADD_TEST(s, test_seeds);
    ADD_TEST(s, test_filters);
    ADD_TEST(s, test_dry_run_and_threads);
    ADD_TEST(s, test_one_job_and_gather);
    ADD_TEST(s, test_api);
    ADD_TEST(s, test_kill_and_resume);
    ADD_TEST(s, test_cbg_run);
    ADD_TEST(s, test_judge_reference);
    ADD_TEST(s, test_tail);
}
