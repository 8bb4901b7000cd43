/* Design campaigns (docs/design.md "Campaign files"): one JSON file naming the diffusion models,
 * optional classifiers, and targets, each a guided sweep over γ with its own steps, samples,
 * batch, seed and filters. Parsing and every check happen here, before any sampling: unknown
 * keys, wrong types, missing model files, negative γ, two targets writing one directory, labels
 * outside a model's classes, classifiers whose classes do not match the model. Each problem is
 * reported as `FILE: JSON.PATH: problem` (all of them, not only the first), and nothing is written.
 *
 * Relative paths in a campaign file are relative to the directory of the file. Presets are
 * campaigns built in memory over the bundled models (`--preset smiles-qed`, `dna-species`,
 * `demo`), with paths under a models directory.
 *
 * Seeds (docs/design.md "Seeds"): a target without "seed" gets splitmix64(campaign seed ^
 * fnv1a64(target name)); the job of target × γ samples with splitmix64(target seed ^
 * fnv1a64(the γ directory name, "gamma-2")), both kept to 53 bits (exact as JSON numbers), so adding a γ to a sweep or a target to a campaign
 * leaves the other jobs' samples unchanged, and a rerun redoes a job exactly. */
#ifndef STRAND_DESIGN_CAMPAIGN_H
#define STRAND_DESIGN_CAMPAIGN_H
#include <stddef.h>
#include <stdint.h>

#include "design/metrics_dna.h"
#include "strand.h"

typedef enum dz_guidance {
    DZ_GUIDE_NONE = 0, /* unguided, null label: "none" */
    DZ_GUIDE_CFG,      /* classifier-free guidance with the model's own label: "cfg" */
    DZ_GUIDE_CBG,      /* classifier-based guidance, exact: "cbg" */
    DZ_GUIDE_CBG_FO,   /* classifier-based guidance, first-order (Taylor): "cbg-first-order" */
    DZ_GUIDE_BOTH      /* CFG at cfg_gamma and CBG at γ: "cfg+cbg" */
} dz_guidance;
const char *dz_guidance_name(dz_guidance g);
/* 1 for the kinds that need a classifier. */
int dz_guidance_uses_classifier(dz_guidance g);
/* The "tail" key's names for STRAND_TAIL_*: "none", "greedy", "ancestral"; parse gives -1 for others. */
const char *dz_tail_name(int tail);
int dz_tail_parse(const char *s);

typedef struct dz_range {
    int set;       /* 0: no limit */
    double lo, hi; /* inclusive; -inf / +inf for an open end (null in the file) */
} dz_range;

/* Filters decide which samples are kept (the per-sample TSV says which and why); every
 * generated sample is still written and counted in the metrics. */
typedef enum dz_prop {
    DZ_PROP_QED = 0,
    DZ_PROP_RINGS,
    DZ_PROP_LOGP,
    DZ_PROP_MW,
    DZ_PROP_TPSA,
    DZ_PROP_HEAVY_ATOMS,
    DZ_PROP_GC, /* DNA */
    DZ_PROP_COUNT
} dz_prop;
const char *dz_prop_name(dz_prop p); /* the filter key: "qed", "rings", "logp", "mw", "tpsa", "heavy_atoms", "gc" */

typedef struct dz_filters {
    int valid;  /* SMILES: keep only valid molecules */
    int dedupe; /* keep the first of equal samples (canonical SMILES; DNA: the sequence) */
    int novel;  /* SMILES: drop molecules whose canonical SMILES is in the model's training set */
    dz_range range[DZ_PROP_COUNT];
} dz_filters;

typedef struct dz_model {
    char *name;          /* key under "models" */
    char *path;          /* resolved against the campaign's directory */
    char **classes;      /* optional class names (n_classes of them, = the model's classes) */
    int n_classes;
    char *train_path;    /* optional training set (SMILES table) for novelty and the "novel" filter */
    char *train_column;  /* its SMILES column (NULL: "smiles" or the first) */
    int train_canonical; /* 1: the column already holds RDKit canonical SMILES */
    /* DNA evaluation (docs/design.md "Judging DNA samples"): */
    char *judge_name;    /* "judge": a key of "classifiers", a clean classifier that assigns each sample a class */
    int judge;           /* its index (-1: none) */
    char *reference;     /* "reference": held-out real windows per class, a path with "{class}" (resolved) */
    char **ref_paths;    /* per class (num_classes), filled by the check */
    char (*ref_sha)[65];
    md_reference **ref;  /* per class, built by the check */
    md_reference *ref_all; /* every class's windows together (the unguided jobs' reference) */
    /* filled by dz_campaign_check: */
    strand_model *model;
    strand_tokenizer *tok;
    int dna;             /* tokenizer kind DNA (FASTA output), else SMILES */
    int process;         /* STRAND_DIFFUSION_* */
    int num_classes;     /* the model's label classes (0: not label-conditioned) */
    size_t length;
    char sha256[65];
} dz_model;

typedef struct dz_classifier {
    char *name, *path;
    char **classes;
    int n_classes;
    /* filled by dz_campaign_check: */
    char sha256[65];
    int num_classes;
    int clean; /* trained at t = 0 only (an evaluation classifier, usable as a judge) */
    size_t vocab, length;
} dz_classifier;

typedef struct dz_target {
    char *name;
    int model;      /* index into models */
    int classifier; /* index into classifiers, -1: none */
    dz_guidance guidance;
    int label;      /* class (-1: none) */
    double *gamma;  /* the sweep (guidance none: the single value 0) */
    char **gamma_dir; /* "gamma-<%g>" per γ */
    int n_gamma;
    double cfg_gamma; /* "cfg+cbg": the CFG weight (1) */
    int steps;        /* 0 in the file: 32 SMILES / 128 DNA after the check */
    size_t samples, batch;
    uint64_t seed;    /* the target's seed (derived when absent, see above) */
    double top_p;
    int tail;           /* uniform models: STRAND_TAIL_* after the steps (docs/duo.md "Few-step sampling") */
    char tail_path[32]; /* where "tail" was set (error messages) */
    dz_filters filters;
} dz_target;

typedef struct dz_campaign {
    char *file;     /* as named in error messages (the path, or "preset NAME") */
    char *base_dir; /* relative paths start here */
    char *text;     /* the campaign JSON as read (provenance, report) */
    char *name;
    uint64_t seed;
    dz_model *models;
    int n_models;
    dz_classifier *classifiers;
    int n_classifiers;
    dz_target *targets;
    int n_targets;
    int checked; /* dz_campaign_check succeeded */
} dz_campaign;

/* Parse and check the structure of a campaign (no files opened except `path`). On failure every
 * problem found is in the error message, one per line. */
int dz_campaign_load(const char *path, dz_campaign **out);
/* The same from JSON text; `file` names it in messages, `base_dir` anchors relative paths. */
int dz_campaign_parse(const char *text, const char *file, const char *base_dir, dz_campaign **out);
/* A preset: "smiles-qed", "dna-species" or "demo", over models_dir (the bundled models/). */
int dz_campaign_preset(const char *name, const char *models_dir, dz_campaign **out);
/* The names dz_campaign_preset knows, NULL-terminated. */
extern const char *const dz_preset_names[];
/* Open every model and classifier, check kinds, classes, labels, training sets and outputs
 * against them; fill the dz_model fields. Idempotent. */
int dz_campaign_check(dz_campaign *c);
void dz_campaign_free(dz_campaign *c); /* accepts NULL */

/* The seed of target t's job at γ index g (see the top of this file). */
#define DZ_SEED_MASK ((UINT64_C(1) << 53) - 1)
uint64_t dz_job_seed(const dz_target *t, int g);
uint64_t dz_fnv1a64(const char *s);
uint64_t dz_splitmix64(uint64_t x);
#endif
