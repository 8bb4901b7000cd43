/* `strand design`: run a design campaign (docs/design.md): a campaign file, a preset or, with
 * neither, the bundled demo campaign on the bundled models. Through the strand_design_* API. */
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "apps/cli.h"
#include "apps/commands.h"
#include "core/progress.h"
#include "strand.h"
#include "strand_config.h"

typedef struct design_opts {
    const char *campaign, *out, *preset, *models_dir, *job;
    int threads, dry_run, quiet, gather, list_jobs;
    double rate;
} design_opts;

static void design_usage(FILE *fp)
{
    fprintf(fp,
            "Usage: strand design [CAMPAIGN.json] [options]\n\n"
            "Run a design campaign: every target x gamma of the campaign file is one job (samples, per-sample\n"
            "TSV, metrics.json under DIR/<target>/gamma-<gamma>/), then DIR/metrics.json and DIR/report.html.\n"
            "Everything is checked before sampling; a rerun keeps the jobs DIR/manifest.json shows finished.\n"
            "Without a campaign or --preset: the bundled demo campaign (design/campaigns/demo.json).\n\n"
            "Options:\n"
            "  -o, --output DIR      output directory [design-<campaign name>]\n"
            "      --threads N       jobs in parallel, one sampler each over shared weights (0: all cores) [1]\n"
            "      --dry-run         print the plan (jobs, NFEs, estimated time) and write nothing\n"
            "      --list-jobs       print the job names (<target>/gamma-<gamma>), one a line, and write nothing\n"
            "      --job NAME        run only that job (its files and DIR/NAME/job.json, nothing campaign-level:\n"
            "                        separate processes may run the jobs of one campaign at once), --threads for it\n"
            "      --gather          after every --job: write DIR/metrics.json, report.html, campaign.json and\n"
            "                        manifest.json from the jobs' files, as one whole run would\n"
            "      --rate R          --dry-run: assume R network rows/s instead of timing one call per model\n"
            "      --preset P        a built-in campaign over the bundled models: smiles-qed, dna-species, demo\n"
            "      --models-dir D    where the bundled models are, for --preset [$STRAND_MODELS_DIR, or found]\n"
            "  -q, --quiet           no progress or per-job lines\n\n"
            "Examples:\n"
            "  strand design                                  # the bundled demo (seconds)\n"
            "  strand design my_campaign.json -o out --threads 2\n"
            "  strand design --preset smiles-qed -o qed --dry-run\n"
            "  strand design c.json -o out --job cfg/gamma-2 --threads 2   # e.g. one Snakemake job each ...\n"
            "  strand design c.json -o out --gather                        # ... then one gather\n");
}

static int is_dir(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

static int is_file(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0 && S_ISREG(st.st_mode);
}

/* The source tree's file `rel` (models/, design/campaigns/): beside the executable's directory
 * (build/strand -> ./), the tree it was built from, then the working directory. */
static int find_bundled(const char *rel, int want_dir, char *out, size_t cap)
{
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    const char *cand[3] = {NULL, STRAND_SOURCE_DIR_STR, "."};
    char up[PATH_MAX + 8] = "";
    if (n > 0) {
        exe[n] = 0;
        char *slash = strrchr(exe, '/');
        if (slash) *slash = 0;
        snprintf(up, sizeof up, "%s/..", exe);
        cand[0] = up;
    }
    for (int i = 0; i < 3; i++) {
        if (!cand[i]) continue;
        char p[2 * PATH_MAX + 400];
        snprintf(p, sizeof p, "%s/%s", cand[i], rel);
        if (!(want_dir ? is_dir(p) : is_file(p))) continue;
        if (realpath(p, out)) return 0;
        if (snprintf(out, cap, "%s", p) < (int)cap) return 0;
    }
    return -1;
}

static int on_progress(void *user, uint64_t done, uint64_t total)
{
    st_progress **p = user;
    if (!*p && total) *p = st_progress_create("design (batch steps, all jobs)", total, 0, stderr);
    st_progress_update(*p, done);
    return 0;
}

int cmd_design_main(int argc, char **argv)
{
    design_opts o = {0};
    o.threads = 1;
    enum { OPT_THREADS = 256, OPT_DRY, OPT_PRESET, OPT_MODELS, OPT_RATE, OPT_JOB, OPT_GATHER, OPT_LIST };
    static const struct option longopts[] = {
        {"output", required_argument, NULL, 'o'},        {"threads", required_argument, NULL, OPT_THREADS},
        {"dry-run", no_argument, NULL, OPT_DRY},          {"preset", required_argument, NULL, OPT_PRESET},
        {"models-dir", required_argument, NULL, OPT_MODELS}, {"rate", required_argument, NULL, OPT_RATE},
        {"quiet", no_argument, NULL, 'q'},               {"help", no_argument, NULL, 'h'},
        {"job", required_argument, NULL, OPT_JOB},        {"gather", no_argument, NULL, OPT_GATHER},
        {"list-jobs", no_argument, NULL, OPT_LIST},
        {NULL, 0, NULL, 0}};
    optind = 1;
    int c;
    while ((c = getopt_long(argc, argv, "o:qh", longopts, NULL)) != -1) {
        switch (c) {
        case 'o': o.out = optarg; break;
        case OPT_THREADS: o.threads = cli_int("--threads", optarg, 0, 4096); break;
        case OPT_DRY: o.dry_run = 1; break;
        case OPT_PRESET: o.preset = optarg; break;
        case OPT_MODELS: o.models_dir = optarg; break;
        case OPT_RATE: o.rate = cli_double("--rate", optarg, 1e-9, 1e12); break;
        case 'q': o.quiet = 1; break;
        case OPT_JOB: o.job = optarg; break;
        case OPT_GATHER: o.gather = 1; break;
        case OPT_LIST: o.list_jobs = 1; break;
        case 'h': design_usage(stdout); return 0;
        default: design_usage(stderr); return 1;
        }
    }
    if (optind < argc) o.campaign = argv[optind++];
    if (optind < argc) return cli_error("unexpected argument \"%s\" (one campaign file at a time)", argv[optind]);
    if (o.campaign && o.preset) return cli_error("give a campaign file or --preset, not both");
    if (o.dry_run + o.gather + o.list_jobs + (o.job != NULL) > 1)
        return cli_error("give one of --dry-run, --list-jobs, --job, --gather");
    strand_set_threads(o.threads);

    strand_design *d = NULL;
    char buf[PATH_MAX + 64];
    if (o.preset) {
        const char *md = o.models_dir ? o.models_dir : getenv("STRAND_MODELS_DIR");
        if (!md) {
            if (find_bundled("models", 1, buf, sizeof buf) < 0)
                return cli_error("cannot find the bundled models/ directory: pass --models-dir DIR");
            md = buf;
        }
        if (strand_design_preset(o.preset, md, &d) < 0) return cli_error("%s", strand_last_error());
    } else {
        if (!o.campaign) {
            if (find_bundled("design/campaigns/demo.json", 0, buf, sizeof buf) < 0)
                return cli_error("no campaign given and the bundled demo (design/campaigns/demo.json) is not found");
            o.campaign = buf;
            if (!o.quiet) cli_info("no campaign given: running the bundled demo %s", o.campaign);
        }
        if (strand_design_load(o.campaign, &d) < 0) {
            fprintf(stderr, "%s: the campaign is not run (nothing was written):\n%s\n", cli_prog(), strand_last_error());
            return 1;
        }
    }
    char defout[512];
    if (!o.out) {
        snprintf(defout, sizeof defout, "design-%s", strand_design_name(d));
        o.out = defout;
    }
    strand_design_params p = strand_design_default_params();
    p.out_dir = o.out;
    p.threads = o.threads;
    p.rate = o.rate;
    p.quiet = o.quiet;
    int status = 1;
    if (o.list_jobs) {
        char *plan = NULL;
        p.rate = 1e9; /* no timing probe */
        if (strand_design_plan(d, &p, &plan) < 0) cli_error("%s", strand_design_last_error(d));
        else {
            strand_design_result r;
            for (size_t i = 0; i < strand_design_num_results(d); i++)
                if (strand_design_result_get(d, i, &r) == 0) printf("%s\n", r.job);
            status = 0;
        }
        free(plan);
        strand_design_free(d);
        return status;
    }
    if (o.job || o.gather) {
        int rc = o.job ? strand_design_run_job(d, &p, o.job) : strand_design_gather(d, &p);
        if (rc < 0) cli_error("%s", strand_design_last_error(d));
        else {
            status = 0;
            strand_design_result r;
            for (size_t i = 0; o.job && !o.quiet && i < strand_design_num_results(d); i++)
                if (strand_design_result_get(d, i, &r) == 0 && !strcmp(r.job, o.job) && r.reused)
                    cli_info("%s: kept (finished in %s/%s/job.json or the manifest)", o.job, o.out, o.job);
            if (o.gather && !o.quiet) cli_info("%zu jobs gathered; report: %s/report.html", strand_design_num_results(d), o.out);
        }
        strand_design_free(d);
        return status;
    }
    if (o.dry_run) {
        char *plan = NULL;
        if (strand_design_plan(d, &p, &plan) < 0) cli_error("%s", strand_design_last_error(d));
        else {
            fputs(plan, stdout);
            printf("dry run: nothing written (outputs would go under %s/)\n", o.out);
            status = 0;
        }
        free(plan);
        strand_design_free(d);
        return status;
    }
    if (!o.quiet) {
        char *plan = NULL;
        strand_design_params pp = p;
        pp.rate = 1e9; /* no timing probe before a real run */
        if (strand_design_plan(d, &pp, &plan) == 0) {
            /* the job table only: the estimate line of an assumed rate means nothing */
            char *est = strstr(plan, "estimated time");
            if (est) *est = 0;
            fputs(plan, stderr);
        }
        free(plan);
    }
    st_progress *prog = NULL;
    if (!o.quiet) {
        p.progress = on_progress;
        p.progress_user = &prog;
    }
    int rc = strand_design_run(d, &p);
    st_progress_finish(prog);
    if (rc < 0) {
        cli_error("%s", strand_design_last_error(d));
    } else {
        size_t n = strand_design_num_results(d), reused = 0;
        for (size_t i = 0; i < n; i++) {
            strand_design_result r;
            if (strand_design_result_get(d, i, &r) == 0) reused += r.reused;
        }
        if (!o.quiet) {
            cli_info("%zu jobs (%zu kept from an earlier run); results in %s/: metrics.json, per-job directories", n,
                     reused, o.out);
            cli_info("report: %s/report.html", o.out);
        }
        status = 0;
    }
    strand_design_free(d);
    return status;
}
