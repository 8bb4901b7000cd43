# strand design campaigns past one machine: one Snakemake job per campaign job (target × γ, as
# `strand design CAMPAIGN --list-jobs` names them), each `strand design CAMPAIGN -o OUT --job NAME`
# with its share of threads, then one gather (`--gather`) writing the campaign-level files
# metrics.json, report.html, campaign.json and manifest.json. A job's outputs depend on its spec
# only (docs/design.md "Seeds"), so the gathered files are the bytes of one `strand design` run
# (manifest.json and job.json aside: they hold timings). Run from the repository root:
#   snakemake -s workflow/design.smk --configfile workflow/config.yaml --cores 2
# On a cluster: add --profile workflow/profiles/slurm (one sbatch job per campaign job).
# Snakemake reruns the jobs when the campaign file changes; strand itself keeps every job whose
# spec (parameters, model and classifier SHA-256s) is unchanged, so after replacing a model file
# run with --forceall: only the jobs that depend on it are redone.
#
# A file of its own rather than rules included from workflow/Snakefile: the VEP workflow checks
# its vep: inputs (VCF, FASTA, bcftools) when it is parsed, and a design run must not need them.
import os
import re
import shutil
import subprocess

configfile: os.path.join(workflow.basedir, "config.yaml")

D = config.get("design") or {}
STRAND = config.get("strand", "strand")


def fail(msg):
    raise ValueError(f"strand design workflow: {msg}")


# ---- inputs validated before any job starts --------------------------------------------------
for key in ("campaign", "out"):
    if not D.get(key):
        fail(f"config key design.{key} is missing")
CAMPAIGN, OUT = D["campaign"], D["out"].rstrip("/")
THREADS = D.get("threads_per_job", 1)
if isinstance(THREADS, str) and THREADS.isdigit():  # --config values may arrive as text
    THREADS = int(THREADS)
if not os.path.isfile(CAMPAIGN):
    fail(f"design.campaign: {CAMPAIGN!r} is not a file")
if not isinstance(THREADS, int) or isinstance(THREADS, bool) or THREADS < 1:
    fail(f"design.threads_per_job must be an integer >= 1, got {THREADS!r}")
if not (shutil.which(STRAND) or os.access(STRAND, os.X_OK)):
    fail(f"strand: {STRAND!r} is not an executable (build strand, or set strand: to its path)")
# --list-jobs checks the whole campaign (keys, types, model and classifier files, classes, labels)
# and prints nothing but the job names; every problem comes back as a FILE: JSON.PATH: line.
r = subprocess.run([STRAND, "design", CAMPAIGN, "--list-jobs"], capture_output=True, text=True)
if r.returncode != 0:
    fail(f"design.campaign: strand refused {CAMPAIGN!r}:\n{r.stderr.strip()}")
JOBS = [line.strip() for line in r.stdout.splitlines() if line.strip()]
if not JOBS:
    fail(f"design.campaign: {CAMPAIGN!r} has no jobs")


def split_job(name):
    """"<target>/gamma-<γ>" -> (target, γ text): two wildcards, so that no wildcard value holds a
    slash (cluster job names and log paths are built from them)."""
    m = re.fullmatch(r"([^/]+)/gamma-([^/]+)", name)
    if not m:
        fail(f"strand design --list-jobs printed an unexpected job name {name!r}")
    return m.groups()


PAIRS = [split_job(j) for j in JOBS]
JOB_FILES = [f"{OUT}/{t}/gamma-{g}/job.json" for t, g in PAIRS]
CAMPAIGN_FILES = [f"{OUT}/{f}" for f in ("metrics.json", "report.html", "campaign.json", "manifest.json")]


wildcard_constraints:
    target="|".join(sorted({re.escape(t) for t, _ in PAIRS})),
    gamma="|".join(sorted({re.escape(g) for _, g in PAIRS})),


localrules: design_all, design_gather


rule design_all:
    input: CAMPAIGN_FILES


# One campaign job. job.json is written last (atomically) beside samples.*, kept.*, samples.tsv and
# metrics.json; strand keeps a job that its job.json shows finished with the same spec, so a rerun
# only redoes what changed.
rule design_job:
    input: CAMPAIGN
    output: OUT + "/{target}/gamma-{gamma}/job.json"
    threads: THREADS
    params: strand=STRAND, out=OUT, job=lambda wc: f"{wc.target}/gamma-{wc.gamma}"
    log: OUT + ".logs/{target}/gamma-{gamma}.log"
    shell:
        "{params.strand} design {input:q} -o {params.out:q} --job {params.job:q} --threads {threads} -q 2> {log:q}"


# The campaign-level files from the jobs' files; refuses (writing nothing) if any job is unfinished.
rule design_gather:
    input: campaign=CAMPAIGN, jobs=JOB_FILES
    output: CAMPAIGN_FILES
    params: strand=STRAND, out=OUT
    log: OUT + ".logs/gather.log"
    shell: "{params.strand} design {input.campaign:q} -o {params.out:q} --gather -q 2> {log:q}"
