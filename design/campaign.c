/* Campaign files: parsing, presets and the checks before any sampling (design/campaign.h,
 * docs/design.md "Campaign files"). */
#include "design/campaign.h"

#include <errno.h>
#include <limits.h>
#include <jansson.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "caduceus/vep_sha256.h"
#include "core/error.h"
#include "design/judge.h"
#include "io/shards.h"

/* ---- names ------------------------------------------------------------------------------- */

static const char *const GUIDE_NAMES[] = {"none", "cfg", "cbg", "cbg-first-order", "cfg+cbg"};
const char *dz_guidance_name(dz_guidance g) { return g >= 0 && g <= DZ_GUIDE_BOTH ? GUIDE_NAMES[g] : "?"; }

static const char *const TAIL_NAMES[] = {"none", "greedy", "ancestral"}; /* STRAND_TAIL_* order */
const char *dz_tail_name(int tail) { return tail >= 0 && tail <= STRAND_TAIL_ANCESTRAL ? TAIL_NAMES[tail] : "?"; }
int dz_tail_parse(const char *s)
{
    for (int k = 0; k <= STRAND_TAIL_ANCESTRAL; k++)
        if (!strcmp(s, TAIL_NAMES[k])) return k;
    return -1;
}
int dz_guidance_uses_classifier(dz_guidance g) { return g == DZ_GUIDE_CBG || g == DZ_GUIDE_CBG_FO || g == DZ_GUIDE_BOTH; }

static const char *const PROP_NAMES[] = {"qed", "rings", "logp", "mw", "tpsa", "heavy_atoms", "gc"};
const char *dz_prop_name(dz_prop p) { return p >= 0 && p < DZ_PROP_COUNT ? PROP_NAMES[p] : "?"; }

const char *const dz_preset_names[] = {"smiles-qed", "dna-species", "demo", NULL};

uint64_t dz_fnv1a64(const char *s)
{
    uint64_t h = 1469598103934665603ull;
    for (; *s; s++) h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h;
}

uint64_t dz_splitmix64(uint64_t x)
{
    x += 0x9e3779b97f4a7c15ull;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

/* 53 bits: exact in every JSON reader (metrics.json, the manifest) */
uint64_t dz_job_seed(const dz_target *t, int g) { return dz_splitmix64(t->seed ^ dz_fnv1a64(t->gamma_dir[g])) & DZ_SEED_MASK; }

/* ---- error list ---------------------------------------------------------------------------- */

/* Every problem as "FILE: PATH: message" lines; the thread's error gets the whole text. */
typedef struct errs {
    const char *file;
    char buf[8192];
    size_t len;
    int n;
} errs;

__attribute__((format(printf, 3, 4))) static void bad(errs *e, const char *path, const char *fmt, ...)
{
    e->n++;
    if (e->len + 2 >= sizeof e->buf) return;
    int k = snprintf(e->buf + e->len, sizeof e->buf - e->len, "%s%s: %s: ", e->len ? "\n" : "", e->file, path);
    if (k > 0) e->len = e->len + (size_t)k < sizeof e->buf ? e->len + (size_t)k : sizeof e->buf - 1;
    va_list ap;
    va_start(ap, fmt);
    k = vsnprintf(e->buf + e->len, sizeof e->buf - e->len, fmt, ap);
    va_end(ap);
    if (k > 0) e->len = e->len + (size_t)k < sizeof e->buf ? e->len + (size_t)k : sizeof e->buf - 1;
}

static int errs_report(errs *e)
{
    if (!e->n) return 0;
    return st_err(NULL, STRAND_E_ARG, "%s", e->buf);
}

static const char *json_type_name(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT: return "an object";
    case JSON_ARRAY: return "an array";
    case JSON_STRING: return "a string";
    case JSON_INTEGER: return "an integer";
    case JSON_REAL: return "a number";
    case JSON_TRUE:
    case JSON_FALSE: return "a boolean";
    default: return "null";
    }
}

/* Keys of obj outside `allowed` (NULL-terminated) are errors. */
static void check_keys(errs *e, const json_t *obj, const char *path, const char *const *allowed)
{
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)obj, key, v)
    {
        int ok = 0;
        for (const char *const *a = allowed; *a && !ok; a++) ok = !strcmp(key, *a);
        if (!ok) {
            char known[512] = "";
            size_t k = 0;
            for (const char *const *a = allowed; *a; a++)
                k += (size_t)snprintf(known + k, k < sizeof known ? sizeof known - k : 0, "%s%s", k ? ", " : "", *a);
            char p[512];
            snprintf(p, sizeof p, "%s%s%s", path, *path ? "." : "", key);
            bad(e, p, "unknown key (known here: %s)", known);
        }
    }
}

static char *dup_str(const char *s)
{
    if (!s) return NULL;
    size_t n = strlen(s) + 1;
    char *d = malloc(n);
    if (d) memcpy(d, s, n);
    return d;
}

/* base_dir + "/" + p unless p is absolute (or base_dir is empty). */
static char *resolve_path(const char *base_dir, const char *p)
{
    if (p[0] == '/' || !base_dir || !*base_dir || !strcmp(base_dir, ".")) return dup_str(p);
    size_t n = strlen(base_dir) + strlen(p) + 2;
    char *r = malloc(n);
    if (r) snprintf(r, n, "%s/%s", base_dir, p);
    return r;
}

static int path_exists(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0;
}

/* A target name becomes a directory: letters, digits, '.', '_', '-', not starting with '.'. */
static int safe_name(const char *s)
{
    if (!*s || *s == '.' || strlen(s) > 100) return 0;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') || *s == '.' ||
              *s == '_' || *s == '-'))
            return 0;
    return 1;
}

/* ---- typed getters: the value, or an error naming the path ----------------------------------- */

static int get_int(errs *e, const json_t *v, const char *path, long long lo, long long hi, long long *out)
{
    if (!json_is_integer(v)) {
        bad(e, path, "want an integer, not %s", json_type_name(v));
        return -1;
    }
    long long x = json_integer_value(v);
    if (x < lo || x > hi) {
        if (hi == LLONG_MAX) bad(e, path, "%lld is out of range: want >= %lld", x, lo);
        else bad(e, path, "%lld is out of range: want %lld..%lld", x, lo, hi);
        return -1;
    }
    *out = x;
    return 0;
}

static int get_num(errs *e, const json_t *v, const char *path, double *out)
{
    if (!json_is_number(v)) {
        bad(e, path, "want a number, not %s", json_type_name(v));
        return -1;
    }
    *out = json_number_value(v);
    if (!isfinite(*out)) {
        bad(e, path, "not a finite number");
        return -1;
    }
    return 0;
}

static int get_bool(errs *e, const json_t *v, const char *path, int *out)
{
    if (!json_is_boolean(v)) {
        bad(e, path, "want true or false, not %s", json_type_name(v));
        return -1;
    }
    *out = json_is_true(v);
    return 0;
}

static int get_names(errs *e, const json_t *v, const char *path, char ***out, int *n)
{
    if (!json_is_array(v) || json_array_size(v) == 0) {
        bad(e, path, "want a non-empty array of class names, not %s", json_is_array(v) ? "an empty array" : json_type_name(v));
        return -1;
    }
    size_t k = json_array_size(v);
    char **names = calloc(k, sizeof *names);
    if (!names) return -1;
    int ok = 1;
    for (size_t i = 0; i < k; i++) {
        json_t *s = json_array_get(v, i);
        char p[512];
        snprintf(p, sizeof p, "%s[%zu]", path, i);
        if (!json_is_string(s) || !*json_string_value(s)) {
            bad(e, p, "want a non-empty string, not %s", json_is_string(s) ? "\"\"" : json_type_name(s));
            ok = 0;
            continue;
        }
        for (size_t j = 0; j < i; j++)
            if (names[j] && !strcmp(names[j], json_string_value(s))) {
                bad(e, p, "class name \"%s\" repeats [%zu]", json_string_value(s), j);
                ok = 0;
            }
        names[i] = dup_str(json_string_value(s));
    }
    *out = names;
    *n = (int)k;
    return ok ? 0 : -1;
}

static void free_names(char **v, int n)
{
    for (int i = 0; i < n && v; i++) free(v[i]);
    free(v);
}

/* ---- models and classifiers ------------------------------------------------------------------ */

static const char *const MODEL_KEYS[] = {"path", "classes", "training_set", "judge", "reference", NULL};
static const char *const TRAIN_KEYS[] = {"path", "column", "canonical", NULL};
static const char *const CLF_KEYS[] = {"path", "classes", NULL};

static void parse_model(errs *e, dz_campaign *c, const char *key, const json_t *v, dz_model *m)
{
    char path[512], p[600];
    snprintf(path, sizeof path, "models.%s", key);
    m->name = dup_str(key);
    m->judge = -1;
    if (!json_is_object(v)) {
        bad(e, path, "want an object {\"path\": ...}, not %s", json_type_name(v));
        return;
    }
    check_keys(e, v, path, MODEL_KEYS);
    json_t *x = json_object_get(v, "path");
    snprintf(p, sizeof p, "%s.path", path);
    if (!x) bad(e, path, "missing key \"path\" (the model file)");
    else if (!json_is_string(x) || !*json_string_value(x)) bad(e, p, "want a file name, not %s", json_type_name(x));
    else m->path = resolve_path(c->base_dir, json_string_value(x));
    if ((x = json_object_get(v, "classes"))) {
        snprintf(p, sizeof p, "%s.classes", path);
        get_names(e, x, p, &m->classes, &m->n_classes);
    }
    if ((x = json_object_get(v, "judge"))) {
        snprintf(p, sizeof p, "%s.judge", path);
        if (!json_is_string(x) || !*json_string_value(x))
            bad(e, p, "want the name of an entry of \"classifiers\" (a clean classifier), not %s", json_type_name(x));
        else m->judge_name = dup_str(json_string_value(x));
    }
    if ((x = json_object_get(v, "reference"))) {
        snprintf(p, sizeof p, "%s.reference", path);
        if (!json_is_string(x) || !*json_string_value(x))
            bad(e, p, "want a path with \"{class}\" (held-out windows per class, e.g. \"DIR/{class}/val.shard\"), not %s",
                json_type_name(x));
        else if (!strstr(json_string_value(x), "{class}"))
            bad(e, p, "\"%s\" has no \"{class}\": the reference is one file per class (e.g. \"DIR/{class}/val.shard\")",
                json_string_value(x));
        else m->reference = resolve_path(c->base_dir, json_string_value(x));
    }
    if ((x = json_object_get(v, "training_set"))) {
        snprintf(p, sizeof p, "%s.training_set", path);
        json_t *tp = x;
        if (json_is_object(x)) {
            check_keys(e, x, p, TRAIN_KEYS);
            tp = json_object_get(x, "path");
            json_t *col = json_object_get(x, "column"), *can = json_object_get(x, "canonical");
            char q[700];
            if (col) {
                snprintf(q, sizeof q, "%s.column", p);
                if (!json_is_string(col) || !*json_string_value(col)) bad(e, q, "want a column name, not %s", json_type_name(col));
                else m->train_column = dup_str(json_string_value(col));
            }
            if (can) {
                snprintf(q, sizeof q, "%s.canonical", p);
                get_bool(e, can, q, &m->train_canonical);
            }
            if (!tp) bad(e, p, "missing key \"path\"");
            snprintf(p, sizeof p, "%s.training_set.path", path);
        }
        if (tp && (!json_is_string(tp) || !*json_string_value(tp)))
            bad(e, p, "want a file name (or {\"path\", \"column\", \"canonical\"}), not %s", json_type_name(tp));
        else if (tp) m->train_path = resolve_path(c->base_dir, json_string_value(tp));
    }
}

static void parse_classifier(errs *e, dz_campaign *c, const char *key, const json_t *v, dz_classifier *k)
{
    char path[512], p[600];
    snprintf(path, sizeof path, "classifiers.%s", key);
    k->name = dup_str(key);
    if (!json_is_object(v)) {
        bad(e, path, "want an object {\"path\": ...}, not %s", json_type_name(v));
        return;
    }
    check_keys(e, v, path, CLF_KEYS);
    json_t *x = json_object_get(v, "path");
    snprintf(p, sizeof p, "%s.path", path);
    if (!x) bad(e, path, "missing key \"path\" (the classifier file)");
    else if (!json_is_string(x) || !*json_string_value(x)) bad(e, p, "want a file name, not %s", json_type_name(x));
    else k->path = resolve_path(c->base_dir, json_string_value(x));
    if ((x = json_object_get(v, "classes"))) {
        snprintf(p, sizeof p, "%s.classes", path);
        get_names(e, x, p, &k->classes, &k->n_classes);
    }
}

/* ---- targets ---------------------------------------------------------------------------------- */

static const char *const TARGET_KEYS[] = {"name",  "model", "classifier", "guidance", "label",  "gamma",   "cfg_gamma",
                                          "steps", "samples", "batch",    "seed",     "top_p", "tail",    "filters", NULL};
static const char *const FILTER_KEYS[] = {"valid", "dedupe", "novel", "qed", "rings", "logp", "mw", "tpsa",
                                          "heavy_atoms", "gc", NULL};

/* The value of key for a target: its own, else the campaign's "defaults"; *path says which. */
static json_t *tget(const json_t *t, const json_t *defaults, const char *tpath, const char *key, char *path, size_t cap)
{
    json_t *v = json_object_get(t, key);
    if (v) {
        snprintf(path, cap, "%s.%s", tpath, key);
        return v;
    }
    if (defaults && (v = json_object_get(defaults, key))) {
        snprintf(path, cap, "defaults.%s", key);
        return v;
    }
    return NULL;
}

static void parse_range(errs *e, const json_t *v, const char *path, dz_range *r)
{
    if (!json_is_array(v) || json_array_size(v) != 2) {
        bad(e, path, "want [min, max] (null for an open end), not %s",
            json_is_array(v) ? "an array of another length" : json_type_name(v));
        return;
    }
    double b[2] = {-INFINITY, INFINITY};
    for (int i = 0; i < 2; i++) {
        json_t *x = json_array_get(v, (size_t)i);
        char p[700];
        snprintf(p, sizeof p, "%s[%d]", path, i);
        if (json_is_null(x)) continue;
        if (get_num(e, x, p, &b[i]) < 0) return;
    }
    if (b[0] > b[1]) {
        bad(e, path, "min %g is above max %g", b[0], b[1]);
        return;
    }
    r->set = 1, r->lo = b[0], r->hi = b[1];
}

static void parse_filters(errs *e, const json_t *v, const char *path, dz_filters *f)
{
    if (!json_is_object(v)) {
        bad(e, path, "want an object of filters, not %s", json_type_name(v));
        return;
    }
    check_keys(e, v, path, FILTER_KEYS);
    char p[600];
    json_t *x;
    if ((x = json_object_get(v, "valid"))) snprintf(p, sizeof p, "%s.valid", path), get_bool(e, x, p, &f->valid);
    if ((x = json_object_get(v, "dedupe"))) snprintf(p, sizeof p, "%s.dedupe", path), get_bool(e, x, p, &f->dedupe);
    if ((x = json_object_get(v, "novel"))) snprintf(p, sizeof p, "%s.novel", path), get_bool(e, x, p, &f->novel);
    for (int k = 0; k < DZ_PROP_COUNT; k++)
        if ((x = json_object_get(v, PROP_NAMES[k]))) {
            snprintf(p, sizeof p, "%s.%s", path, PROP_NAMES[k]);
            parse_range(e, x, p, &f->range[k]);
        }
}

static int model_index(const dz_campaign *c, const char *name)
{
    for (int i = 0; i < c->n_models; i++)
        if (c->models[i].name && !strcmp(c->models[i].name, name)) return i;
    return -1;
}

static int classifier_index(const dz_campaign *c, const char *name)
{
    for (int i = 0; i < c->n_classifiers; i++)
        if (c->classifiers[i].name && !strcmp(c->classifiers[i].name, name)) return i;
    return -1;
}

/* Labels may name a class ("label": "celegans") once the model's classes are known: kept as text
 * until dz_campaign_check when the model entry has no "classes". */
static void parse_target(errs *e, dz_campaign *c, size_t ti, const json_t *t, const json_t *defaults, dz_target *g,
                         char **label_name, char **label_path)
{
    char tpath[64], p[600];
    snprintf(tpath, sizeof tpath, "targets[%zu]", ti);
    g->model = -1, g->classifier = -1, g->label = -1, g->cfg_gamma = 1, g->top_p = 1;
    g->samples = 100, g->batch = 64;
    if (!json_is_object(t)) {
        bad(e, tpath, "want an object, not %s", json_type_name(t));
        return;
    }
    check_keys(e, t, tpath, TARGET_KEYS);
    json_t *x = json_object_get(t, "name");
    snprintf(p, sizeof p, "%s.name", tpath);
    if (!x) bad(e, tpath, "missing key \"name\" (the target's output directory)");
    else if (!json_is_string(x)) bad(e, p, "want a string, not %s", json_type_name(x));
    else if (!safe_name(json_string_value(x)))
        bad(e, p, "\"%s\" is not a usable directory name: letters, digits, '.', '_' and '-' only, at most 100, not "
            "starting with '.'", json_string_value(x));
    else g->name = dup_str(json_string_value(x));

    if ((x = tget(t, defaults, tpath, "model", p, sizeof p))) {
        if (!json_is_string(x)) bad(e, p, "want the name of an entry of \"models\", not %s", json_type_name(x));
        else if ((g->model = model_index(c, json_string_value(x))) < 0)
            bad(e, p, "no model named \"%s\" under \"models\"", json_string_value(x));
    } else if (c->n_models == 1) {
        g->model = 0;
    } else {
        bad(e, tpath, "missing key \"model\" (the campaign has %d models)", c->n_models);
    }
    if ((x = tget(t, defaults, tpath, "classifier", p, sizeof p))) {
        if (!json_is_string(x)) bad(e, p, "want the name of an entry of \"classifiers\", not %s", json_type_name(x));
        else if ((g->classifier = classifier_index(c, json_string_value(x))) < 0)
            bad(e, p, "no classifier named \"%s\" under \"classifiers\"", json_string_value(x));
    }
    int have_guide = 0;
    char gpath[600] = "";
    if ((x = tget(t, defaults, tpath, "guidance", p, sizeof p))) {
        int k = -1;
        if (json_is_string(x))
            for (int i = 0; i <= DZ_GUIDE_BOTH; i++)
                if (!strcmp(json_string_value(x), GUIDE_NAMES[i])) k = i;
        if (k < 0)
            bad(e, p, "want one of \"none\", \"cfg\", \"cbg\", \"cbg-first-order\", \"cfg+cbg\", not %s%s%s",
                json_is_string(x) ? "\"" : "", json_is_string(x) ? json_string_value(x) : json_type_name(x),
                json_is_string(x) ? "\"" : "");
        else g->guidance = (dz_guidance)k, have_guide = 1;
        snprintf(gpath, sizeof gpath, "%s", p);
    }
    if ((x = tget(t, defaults, tpath, "label", p, sizeof p))) {
        long long v;
        if (json_is_string(x)) {
            *label_name = dup_str(json_string_value(x));
            *label_path = dup_str(p);
        } else if (get_int(e, x, p, 0, INT32_MAX, &v) == 0) {
            g->label = (int)v;
        }
        if (!have_guide) g->guidance = DZ_GUIDE_CFG; /* a label alone asks for CFG */
    }
    if (!gpath[0]) snprintf(gpath, sizeof gpath, "%s", tpath);
    int needs_label = g->guidance != DZ_GUIDE_NONE;
    if (needs_label && g->label < 0 && !*label_name)
        bad(e, gpath, "guidance \"%s\" needs a \"label\" (the class to steer towards)", GUIDE_NAMES[g->guidance]);
    if (g->guidance == DZ_GUIDE_NONE && (g->label >= 0 || *label_name))
        bad(e, gpath, "guidance \"none\" with a \"label\": use \"cfg\" (or another guidance) to steer towards it");
    if (dz_guidance_uses_classifier(g->guidance) && g->classifier < 0 && !json_object_get(t, "classifier") &&
        !(defaults && json_object_get(defaults, "classifier")))
        bad(e, gpath, "guidance \"%s\" needs a \"classifier\"", GUIDE_NAMES[g->guidance]);
    if (!dz_guidance_uses_classifier(g->guidance) && g->classifier >= 0)
        bad(e, gpath, "a \"classifier\" is named but guidance \"%s\" does not use one", GUIDE_NAMES[g->guidance]);

    /* the γ sweep */
    x = tget(t, defaults, tpath, "gamma", p, sizeof p);
    if (g->guidance == DZ_GUIDE_NONE) {
        if (x && !(json_is_number(x) && json_number_value(x) == 0))
            bad(e, p, "γ has no meaning without guidance (guidance \"none\" runs once, as gamma-0)");
        g->n_gamma = 1;
        g->gamma = calloc(1, sizeof *g->gamma);
    } else if (!x) {
        g->n_gamma = 1;
        g->gamma = malloc(sizeof *g->gamma);
        if (g->gamma) g->gamma[0] = 1;
    } else {
        json_t *arr = json_is_array(x) ? x : NULL;
        size_t k = arr ? json_array_size(arr) : 1;
        if (arr && k == 0) bad(e, p, "an empty γ list");
        g->gamma = calloc(k ? k : 1, sizeof *g->gamma);
        g->n_gamma = (int)k;
        for (size_t i = 0; i < k && g->gamma; i++) {
            json_t *y = arr ? json_array_get(arr, i) : x;
            char q[700];
            if (arr) snprintf(q, sizeof q, "%s[%zu]", p, i);
            else snprintf(q, sizeof q, "%s", p);
            if (get_num(e, y, q, &g->gamma[i]) < 0) continue;
            if (g->gamma[i] < 0) bad(e, q, "%g is negative: γ must be >= 0", g->gamma[i]);
        }
    }
    if (g->gamma) {
        g->gamma_dir = calloc((size_t)g->n_gamma, sizeof *g->gamma_dir);
        for (int i = 0; i < g->n_gamma && g->gamma_dir; i++) {
            char d[64];
            snprintf(d, sizeof d, "gamma-%g", g->gamma[i]);
            g->gamma_dir[i] = dup_str(d);
            for (int j = 0; j < i; j++)
                if (g->gamma_dir[j] && !strcmp(g->gamma_dir[j], d)) {
                    char q[700];
                    snprintf(q, sizeof q, "%s[%d]", p, i);
                    bad(e, q, "γ %.17g writes the same directory %s/%s as [%d] (%.17g)", g->gamma[i],
                        g->name ? g->name : "?", d, j, g->gamma[j]);
                }
        }
    }
    if ((x = tget(t, defaults, tpath, "cfg_gamma", p, sizeof p))) {
        if (g->guidance != DZ_GUIDE_BOTH) bad(e, p, "\"cfg_gamma\" is for guidance \"cfg+cbg\" only");
        else if (get_num(e, x, p, &g->cfg_gamma) == 0 && g->cfg_gamma < 0)
            bad(e, p, "%g is negative: the CFG weight must be >= 0", g->cfg_gamma);
    }
    long long v;
    if ((x = tget(t, defaults, tpath, "steps", p, sizeof p)) && get_int(e, x, p, 1, 100000, &v) == 0) g->steps = (int)v;
    if ((x = tget(t, defaults, tpath, "samples", p, sizeof p)) && get_int(e, x, p, 1, 10000000, &v) == 0)
        g->samples = (size_t)v;
    if ((x = tget(t, defaults, tpath, "batch", p, sizeof p)) && get_int(e, x, p, 1, 1 << 20, &v) == 0)
        g->batch = (size_t)v;
    if ((x = tget(t, defaults, tpath, "seed", p, sizeof p))) {
        if (get_int(e, x, p, 0, LLONG_MAX, &v) == 0) g->seed = (uint64_t)v;
    } else {
        g->seed = dz_splitmix64(c->seed ^ dz_fnv1a64(g->name ? g->name : "")) & DZ_SEED_MASK;
    }
    if ((x = tget(t, defaults, tpath, "top_p", p, sizeof p)) && get_num(e, x, p, &g->top_p) == 0 &&
        !(g->top_p > 0 && g->top_p <= 1))
        bad(e, p, "%g is outside (0, 1]", g->top_p);
    if ((x = tget(t, defaults, tpath, "tail", p, sizeof p))) {
        const char *v = json_is_string(x) ? json_string_value(x) : NULL;
        int k = v ? dz_tail_parse(v) : -1;
        if (k < 0 && v) bad(e, p, "want \"none\", \"greedy\" or \"ancestral\", not \"%s\"", v);
        else if (k < 0) bad(e, p, "want \"none\", \"greedy\" or \"ancestral\", not %s", json_type_name(x));
        else g->tail = k, snprintf(g->tail_path, sizeof g->tail_path, "%s", p);
    }
    if ((x = tget(t, defaults, tpath, "filters", p, sizeof p))) parse_filters(e, x, p, &g->filters);
}

/* ---- the whole file --------------------------------------------------------------------------- */

static const char *const TOP_KEYS[] = {"version", "name", "description", "seed", "models", "classifiers",
                                       "defaults", "targets", NULL};

static void parse_root(errs *e, dz_campaign *c, const json_t *root)
{
    if (!json_is_object(root)) {
        bad(e, "(top)", "want an object with \"models\" and \"targets\", not %s", json_type_name(root));
        return;
    }
    check_keys(e, root, "", TOP_KEYS);
    json_t *x;
    long long v;
    if ((x = json_object_get(root, "version")) && get_int(e, x, "version", 1, 1, &v) < 0) return;
    if ((x = json_object_get(root, "name"))) {
        if (!json_is_string(x) || !*json_string_value(x)) bad(e, "name", "want a non-empty string, not %s", json_type_name(x));
        else c->name = dup_str(json_string_value(x));
    }
    if ((x = json_object_get(root, "description")) && !json_is_string(x))
        bad(e, "description", "want a string, not %s", json_type_name(x));
    if ((x = json_object_get(root, "seed")) && get_int(e, x, "seed", 0, LLONG_MAX, &v) == 0) c->seed = (uint64_t)v;

    json_t *models = json_object_get(root, "models");
    if (!models) bad(e, "models", "missing: name at least one model, {\"NAME\": {\"path\": FILE}}");
    else if (!json_is_object(models) || json_object_size(models) == 0)
        bad(e, "models", "want a non-empty object {\"NAME\": {\"path\": FILE}}, not %s",
            json_is_object(models) ? "an empty object" : json_type_name(models));
    else {
        c->models = calloc(json_object_size(models), sizeof *c->models);
        const char *key;
        json_t *m;
        json_object_foreach(models, key, m) parse_model(e, c, key, m, &c->models[c->n_models++]);
    }
    json_t *clfs = json_object_get(root, "classifiers");
    if (clfs && !json_is_object(clfs)) bad(e, "classifiers", "want an object {\"NAME\": {\"path\": FILE}}, not %s", json_type_name(clfs));
    else if (clfs && json_object_size(clfs)) {
        c->classifiers = calloc(json_object_size(clfs), sizeof *c->classifiers);
        const char *key;
        json_t *m;
        json_object_foreach(clfs, key, m) parse_classifier(e, c, key, m, &c->classifiers[c->n_classifiers++]);
    }
    for (int i = 0; i < c->n_models; i++)
        if (c->models[i].judge_name && (c->models[i].judge = classifier_index(c, c->models[i].judge_name)) < 0) {
            char p[600];
            snprintf(p, sizeof p, "models.%s.judge", c->models[i].name);
            bad(e, p, "no classifier named \"%s\" under \"classifiers\"", c->models[i].judge_name);
        }
    json_t *defaults = json_object_get(root, "defaults");
    if (defaults && !json_is_object(defaults)) {
        bad(e, "defaults", "want an object of target keys, not %s", json_type_name(defaults));
        defaults = NULL;
    } else if (defaults) {
        check_keys(e, defaults, "defaults", TARGET_KEYS);
        if (json_object_get(defaults, "name")) bad(e, "defaults.name", "every target names itself");
    }
    json_t *targets = json_object_get(root, "targets");
    if (!targets) {
        bad(e, "targets", "missing: list at least one target");
        return;
    }
    if (!json_is_array(targets) || json_array_size(targets) == 0) {
        bad(e, "targets", "want a non-empty array of targets, not %s",
            json_is_array(targets) ? "an empty array" : json_type_name(targets));
        return;
    }
    size_t nt = json_array_size(targets);
    c->targets = calloc(nt, sizeof *c->targets);
    char **lname = calloc(nt, sizeof *lname), **lpath = calloc(nt, sizeof *lpath);
    if (!c->targets || !lname || !lpath) {
        free(lname), free(lpath);
        bad(e, "targets", "out of memory");
        return;
    }
    for (size_t i = 0; i < nt; i++) {
        dz_target *g = &c->targets[c->n_targets++];
        parse_target(e, c, i, json_array_get(targets, i), defaults, g, &lname[i], &lpath[i]);
        if (!g->name) continue;
        for (size_t j = 0; j < i; j++)
            if (c->targets[j].name && !strcmp(c->targets[j].name, g->name)) {
                char p[64];
                snprintf(p, sizeof p, "targets[%zu].name", i);
                bad(e, p, "\"%s\" is also targets[%zu]'s name: both would write %s/", g->name, j, g->name);
            }
        static const char *const reserved[] = {"metrics.json", "report.html", "manifest.json", "campaign.json", NULL};
        for (const char *const *r = reserved; *r; r++)
            if (!strcmp(g->name, *r)) {
                char p[64];
                snprintf(p, sizeof p, "targets[%zu].name", i);
                bad(e, p, "\"%s\" is the name of a campaign-level output", g->name);
            }
    }
    /* named labels: resolved against the model's class names now, or in the check */
    for (size_t i = 0; i < nt; i++) {
        dz_target *g = &c->targets[i];
        if (!lname[i]) continue;
        if (g->model >= 0 && c->models[g->model].classes) {
            const dz_model *m = &c->models[g->model];
            for (int k = 0; k < m->n_classes; k++)
                if (!strcmp(m->classes[k], lname[i])) g->label = k;
            if (g->label < 0) {
                char known[400] = "";
                size_t q = 0;
                for (int k = 0; k < m->n_classes; k++)
                    q += (size_t)snprintf(known + q, q < sizeof known ? sizeof known - q : 0, "%s%s", k ? ", " : "",
                                          m->classes[k]);
                bad(e, lpath[i], "\"%s\" is not a class of model \"%s\" (%s)", lname[i], m->name, known);
            }
        } else if (g->model >= 0) {
            bad(e, lpath[i], "a class name needs the model's \"classes\" (models.%s.classes); or give the class number",
                c->models[g->model].name);
        }
    }
    for (size_t i = 0; i < nt; i++) free(lname[i]), free(lpath[i]);
    free(lname), free(lpath);
}

static char *dir_of(const char *path)
{
    const char *slash = strrchr(path, '/');
    if (!slash) return dup_str(".");
    if (slash == path) return dup_str("/");
    size_t n = (size_t)(slash - path);
    char *d = malloc(n + 1);
    if (d) memcpy(d, path, n), d[n] = 0;
    return d;
}

static char *stem_of(const char *path)
{
    const char *b = strrchr(path, '/');
    b = b ? b + 1 : path;
    char *s = dup_str(b), *dot = s ? strrchr(s, '.') : NULL;
    if (dot && dot != s) *dot = 0;
    return s;
}

int dz_campaign_parse(const char *text, const char *file, const char *base_dir, dz_campaign **out)
{
    if (!out) return st_err(NULL, STRAND_E_ARG, "dz_campaign_parse: NULL output");
    *out = NULL;
    if (!text || !file) return st_err(NULL, STRAND_E_ARG, "dz_campaign_parse: NULL argument");
    json_error_t je;
    json_t *root = json_loads(text, JSON_REJECT_DUPLICATES, &je);
    if (!root) return st_err(NULL, STRAND_E_FORMAT, "%s: line %d, column %d: %s", file, je.line, je.column, je.text);
    dz_campaign *c = calloc(1, sizeof *c);
    if (!c) {
        json_decref(root);
        return st_err(NULL, STRAND_E_NOMEM, "%s: out of memory", file);
    }
    c->file = dup_str(file);
    c->base_dir = dup_str(base_dir ? base_dir : ".");
    c->text = dup_str(text);
    errs e = {c->file, "", 0, 0};
    parse_root(&e, c, root);
    json_decref(root);
    if (!c->name) c->name = stem_of(file);
    int rc = errs_report(&e);
    if (rc < 0) {
        dz_campaign_free(c);
        return rc;
    }
    *out = c;
    return 0;
}

int dz_campaign_load(const char *path, dz_campaign **out)
{
    if (!out) return st_err(NULL, STRAND_E_ARG, "dz_campaign_load: NULL output");
    *out = NULL;
    if (!path) return st_err(NULL, STRAND_E_ARG, "dz_campaign_load: NULL path");
    FILE *fp = fopen(path, "rb");
    if (!fp) return st_err(NULL, STRAND_E_IO, "cannot open campaign \"%s\": %s", path, strerror(errno));
    size_t cap = 1 << 16, n = 0;
    char *buf = malloc(cap);
    size_t k;
    while (buf && (k = fread(buf + n, 1, cap - n - 1, fp)) > 0) {
        n += k;
        if (n + 1 == cap) {
            char *nb = cap < (64u << 20) ? realloc(buf, cap * 2) : NULL;
            if (!nb) free(buf);
            buf = nb, cap *= 2;
        }
    }
    int err = ferror(fp);
    fclose(fp);
    if (!buf) return st_err(NULL, STRAND_E_NOMEM, "%s: campaign file too large or out of memory", path);
    if (err) {
        free(buf);
        return st_err(NULL, STRAND_E_IO, "%s: read error", path);
    }
    buf[n] = 0;
    if (strlen(buf) != n) {
        free(buf);
        return st_err(NULL, STRAND_E_FORMAT, "%s: a NUL byte in the file: not a JSON campaign", path);
    }
    char *dir = dir_of(path);
    int rc = dz_campaign_parse(buf, path, dir, out);
    free(dir);
    free(buf);
    return rc;
}

void dz_campaign_free(dz_campaign *c)
{
    if (!c) return;
    for (int i = 0; i < c->n_models; i++) {
        dz_model *m = &c->models[i];
        free(m->name), free(m->path), free(m->train_path), free(m->train_column);
        free_names(m->classes, m->n_classes);
        free(m->judge_name), free(m->reference), free(m->ref_sha);
        for (int k = 0; m->ref && k < m->num_classes; k++) md_reference_free(m->ref[k]);
        free(m->ref);
        md_reference_free(m->ref_all);
        free_names(m->ref_paths, m->num_classes);
        strand_tokenizer_free(m->tok);
        strand_model_free(m->model);
    }
    for (int i = 0; i < c->n_classifiers; i++) {
        dz_classifier *k = &c->classifiers[i];
        free(k->name), free(k->path);
        free_names(k->classes, k->n_classes);
    }
    for (int i = 0; i < c->n_targets; i++) {
        dz_target *t = &c->targets[i];
        free(t->name), free(t->gamma);
        for (int g = 0; g < t->n_gamma && t->gamma_dir; g++) free(t->gamma_dir[g]);
        free(t->gamma_dir);
    }
    free(c->models), free(c->classifiers), free(c->targets);
    free(c->file), free(c->base_dir), free(c->text), free(c->name);
    free(c);
}

/* ---- the check against the files --------------------------------------------------------------- */

static void check_model(errs *e, dz_model *m)
{
    char path[512];
    snprintf(path, sizeof path, "models.%s.path", m->name);
    if (!m->path) return;
    if (!path_exists(m->path)) {
        bad(e, path, "\"%s\" does not exist", m->path);
        return;
    }
    if (!m->model && strand_model_load(m->path, &m->model) < 0) {
        bad(e, path, "%s", strand_last_error());
        return;
    }
    int proc = 0;
    if (strand_diffusion_info(m->model, &proc, NULL, NULL) < 0) {
        bad(e, path, "\"%s\" is not an MDLM/UDLM diffusion model: %s", m->path, strand_last_error());
        return;
    }
    m->process = proc;
    m->num_classes = strand_model_num_classes(m->model);
    m->length = strand_model_max_length(m->model);
    if (!m->tok && strand_tokenizer_for_model(m->path, m->model, &m->tok) < 0) {
        bad(e, path, "\"%s\" carries no tokenizer, so its samples cannot be decoded: %s", m->path, strand_last_error());
        return;
    }
    m->dna = strand_tokenizer_kind(m->tok) == STRAND_TOKENIZER_DNA;
    size_t tv = strand_tokenizer_vocab_size(m->tok), mv = strand_model_vocab_size(m->model);
    if (tv != mv && !(m->dna && mv >= 12 && mv <= tv))
        bad(e, path, "\"%s\": its tokenizer has %zu tokens but the model's vocabulary is %zu", m->path, tv, mv);
    if (m->classes && m->n_classes != m->num_classes) {
        char p[600];
        snprintf(p, sizeof p, "models.%s.classes", m->name);
        bad(e, p, "%d class names, but the model has %d classes", m->n_classes, m->num_classes);
    }
    if (!m->sha256[0] && st_sha256_file(m->path, m->sha256) < 0) bad(e, path, "%s", strand_last_error());
    if (m->train_path) {
        char p[600];
        snprintf(p, sizeof p, "models.%s.training_set", m->name);
        if (!path_exists(m->train_path)) bad(e, p, "\"%s\" does not exist", m->train_path);
        else if (m->dna) bad(e, p, "training sets are read for SMILES models only (novelty); this model is DNA");
    }
}

static void check_classifier(errs *e, dz_classifier *k)
{
    char path[512];
    snprintf(path, sizeof path, "classifiers.%s.path", k->name);
    if (!k->path) return;
    if (!path_exists(k->path)) {
        bad(e, path, "\"%s\" does not exist", k->path);
        return;
    }
    strand_classifier *h = NULL;
    if (strand_classifier_load(k->path, &h) < 0) {
        bad(e, path, "\"%s\" is not a classifier: %s", k->path, strand_last_error());
        return;
    }
    k->num_classes = strand_classifier_num_classes(h);
    strand_classifier_info(h, NULL, NULL, &k->clean);
    k->vocab = strand_classifier_vocab_size(h);
    k->length = strand_classifier_max_length(h);
    strand_classifier_free(h);
    if (k->classes && k->n_classes != k->num_classes) {
        char p[600];
        snprintf(p, sizeof p, "classifiers.%s.classes", k->name);
        bad(e, p, "%d class names, but the classifier has %d classes", k->n_classes, k->num_classes);
    }
    if (!k->sha256[0] && st_sha256_file(k->path, k->sha256) < 0) bad(e, path, "%s", strand_last_error());
}

/* "judge" and "reference" (docs/design.md "Judging DNA samples"): DNA models only; the judge a clean
 * classifier over the model's classes, vocabulary and length; one held-out (not training) window
 * shard per class, read now. */
static void check_model_eval(errs *e, dz_campaign *c, dz_model *m)
{
    char p[600];
    if (!m->model || (m->judge < 0 && !m->reference)) return;
    if (m->judge >= 0) {
        dz_classifier *k = &c->classifiers[m->judge];
        snprintf(p, sizeof p, "models.%s.judge", m->name);
        if (!m->dna) bad(e, p, "a judge assigns DNA samples a class; model \"%s\" is SMILES", m->name);
        else if (k->num_classes > 0) {
            if (!k->clean)
                bad(e, p, "classifier \"%s\" is a noisy classifier (trained on z_t): a judge must be clean, trained at "
                    "t = 0 (`strand train classifier --clean`)", k->name);
            if (k->num_classes != m->num_classes)
                bad(e, p, "classifier \"%s\" has %d classes but model \"%s\" has %d", k->name, k->num_classes, m->name,
                    m->num_classes);
            if (k->classes && m->classes) {
                int same = k->n_classes == m->n_classes;
                for (int i = 0; same && i < k->n_classes; i++) same = !strcmp(k->classes[i], m->classes[i]);
                if (!same)
                    bad(e, p, "classifier \"%s\" has classes different from model \"%s\"'s (compare classifiers.%s.classes "
                        "with models.%s.classes)", k->name, m->name, k->name, m->name);
            }
            if (k->vocab != strand_model_vocab_size(m->model))
                bad(e, p, "classifier \"%s\" reads %zu token ids but model \"%s\" writes %zu", k->name, k->vocab, m->name,
                    strand_model_vocab_size(m->model));
            if (k->length < m->length)
                bad(e, p, "classifier \"%s\" reads at most %zu tokens but model \"%s\" samples %zu", k->name, k->length,
                    m->name, m->length);
        }
    }
    if (!m->reference || m->ref_paths) return; /* read once (the check may run again after a failure) */
    snprintf(p, sizeof p, "models.%s.reference", m->name);
    if (!m->dna) {
        bad(e, p, "reference windows are for DNA models; model \"%s\" is SMILES (use \"training_set\")", m->name);
        return;
    }
    if (!m->classes || m->n_classes != m->num_classes) {
        if (!m->classes) bad(e, p, "\"{class}\" needs the model's class names (models.%s.classes)", m->name);
        return;
    }
    int C = m->num_classes;
    m->ref_paths = calloc((size_t)C, sizeof *m->ref_paths);
    m->ref_sha = calloc((size_t)C, sizeof *m->ref_sha);
    m->ref = calloc((size_t)C, sizeof *m->ref);
    char **all = NULL;
    size_t n_all = 0;
    int ok = m->ref_paths && m->ref_sha && m->ref;
    for (int y = 0; ok && y < C; y++) {
        /* the pattern with every "{class}" replaced by the class name */
        size_t cap = strlen(m->reference) + 8 * strlen(m->classes[y]) + 1, k = 0;
        char *f = malloc(cap);
        if (!f) break;
        for (const char *q = m->reference; *q && k + 1 < cap;) {
            if (!strncmp(q, "{class}", 7)) {
                k += (size_t)snprintf(f + k, cap - k, "%s", m->classes[y]);
                q += 7;
            } else {
                f[k++] = *q++;
            }
        }
        f[k] = 0;
        m->ref_paths[y] = f;
        if (!path_exists(f)) {
            bad(e, p, "class %d (%s): \"%s\" does not exist", y, m->classes[y], f);
            ok = 0;
            break;
        }
        char **seqs = NULL;
        size_t n = 0;
        unsigned split = 0;
        if (dz_reference_read(f, m->tok, &seqs, &n, &split) < 0) {
            bad(e, p, "class %d (%s): %s", y, m->classes[y], strand_last_error());
            ok = 0;
            break;
        }
        if (split == ST_SPLIT_TRAIN || n == 0) {
            if (n == 0) bad(e, p, "class %d (%s): \"%s\" holds no windows", y, m->classes[y], f);
            else bad(e, p, "class %d (%s): \"%s\" is a training shard (split train): reference windows must be held out "
                     "(a val or test shard)", y, m->classes[y], f);
            dz_strings_free(seqs, n);
            ok = 0;
            break;
        }
        char **na = realloc(all, (n_all + n) * sizeof *all);
        if (!na || st_sha256_file(f, m->ref_sha[y]) < 0 || md_reference_build((const char *const *)seqs, n, &m->ref[y]) < 0) {
            if (na) all = na;
            bad(e, p, "class %d (%s): %s", y, m->classes[y], na ? strand_last_error() : "out of memory");
            dz_strings_free(seqs, n);
            ok = 0;
            break;
        }
        all = na;
        memcpy(all + n_all, seqs, n * sizeof *seqs);
        n_all += n;
        free(seqs); /* the strings now belong to `all` */
    }
    if (ok && md_reference_build((const char *const *)all, n_all, &m->ref_all) < 0) bad(e, p, "%s", strand_last_error());
    dz_strings_free(all, n_all);
}

static void check_target(errs *e, dz_campaign *c, int ti, dz_target *t)
{
    char tpath[64], p[128];
    snprintf(tpath, sizeof tpath, "targets[%d]", ti);
    if (t->model < 0) return;
    dz_model *m = &c->models[t->model];
    if (!m->model) return; /* its own error is reported */
    if (!t->steps) t->steps = m->dna ? 128 : 32;
    /* docs/duo.md "Few-step sampling": the tail is a uniform-state step */
    if (t->tail != STRAND_TAIL_NONE && m->process != STRAND_DIFFUSION_UNIFORM)
        bad(e, t->tail_path, "a tail is for uniform-state (UDLM/Duo) models; model \"%s\" is masked (MDLM)", m->name);
    if (t->guidance != DZ_GUIDE_NONE && t->label >= 0) {
        snprintf(p, sizeof p, "%s.label", tpath);
        if (dz_guidance_uses_classifier(t->guidance) && t->guidance != DZ_GUIDE_BOTH) {
            /* CBG alone steers with the classifier; the model may be unconditional */
        } else if (m->num_classes == 0) {
            bad(e, p, "model \"%s\" is not label-conditioned, so CFG cannot steer to class %d", m->name, t->label);
        } else if (t->label >= m->num_classes) {
            bad(e, p, "%d is outside model \"%s\"'s classes 0..%d", t->label, m->name, m->num_classes - 1);
        }
    }
    if (t->classifier >= 0) {
        dz_classifier *k = &c->classifiers[t->classifier];
        /* a classifier's classes must be the model's: compared by name when both have names */
        if (k->classes && m->classes) {
            int same = k->n_classes == m->n_classes;
            for (int i = 0; same && i < k->n_classes; i++) same = !strcmp(k->classes[i], m->classes[i]);
            if (!same) {
                snprintf(p, sizeof p, "%s.classifier", tpath);
                bad(e, p, "classifier \"%s\" has classes different from model \"%s\"'s (compare classifiers.%s.classes "
                    "with models.%s.classes)", k->name, m->name, k->name, m->name);
            }
        }
        if (k->num_classes > 0) {
            snprintf(p, sizeof p, "%s.classifier", tpath);
            if (m->num_classes > 0 && k->num_classes != m->num_classes)
                bad(e, p, "classifier \"%s\" has %d classes but model \"%s\" has %d", k->name, k->num_classes,
                    m->name, m->num_classes);
            if (k->vocab != strand_model_vocab_size(m->model))
                bad(e, p, "classifier \"%s\" reads %zu token ids but model \"%s\" writes %zu", k->name, k->vocab,
                    m->name, strand_model_vocab_size(m->model));
            if (k->length < m->length)
                bad(e, p, "classifier \"%s\" reads at most %zu tokens but model \"%s\" samples %zu", k->name,
                    k->length, m->name, m->length);
            if (t->label >= k->num_classes) {
                snprintf(p, sizeof p, "%s.label", tpath);
                bad(e, p, "%d is outside classifier \"%s\"'s classes 0..%d", t->label, k->name, k->num_classes - 1);
            }
        }
    }
    if (t->batch > t->samples) t->batch = t->samples;
    const dz_filters *f = &t->filters;
    snprintf(p, sizeof p, "%s.filters", tpath);
    if (m->dna) {
        if (f->valid) bad(e, p, "\"valid\" is for SMILES models (model \"%s\" is DNA)", m->name);
        if (f->novel) bad(e, p, "\"novel\" is for SMILES models (model \"%s\" is DNA)", m->name);
        for (int k = 0; k < DZ_PROP_COUNT; k++)
            if (f->range[k].set && k != DZ_PROP_GC)
                bad(e, p, "\"%s\" is a molecule property; model \"%s\" is DNA", PROP_NAMES[k], m->name);
    } else {
        if (f->range[DZ_PROP_GC].set) bad(e, p, "\"gc\" is for DNA models (model \"%s\" is SMILES)", m->name);
        if (f->novel && !m->train_path)
            bad(e, p, "\"novel\" needs the model's training set (models.%s.training_set)", m->name);
    }
}

int dz_campaign_check(dz_campaign *c)
{
    if (!c) return st_err(NULL, STRAND_E_ARG, "dz_campaign_check: NULL campaign");
    if (c->checked) return 0;
    errs e = {c->file, "", 0, 0};
    for (int i = 0; i < c->n_models; i++) check_model(&e, &c->models[i]);
    for (int i = 0; i < c->n_classifiers; i++) check_classifier(&e, &c->classifiers[i]);
    for (int i = 0; i < c->n_models; i++) check_model_eval(&e, c, &c->models[i]);
    for (int i = 0; i < c->n_targets; i++) check_target(&e, c, i, &c->targets[i]);
    int rc = errs_report(&e);
    if (rc == 0) c->checked = 1;
    return rc;
}

/* ---- presets ------------------------------------------------------------------------------------ */

static const char SPECIES[] = "[\"human\", \"celegans\", \"dmelanogaster\", \"umaydis\", \"ztritici\", \"ecoli\", "
                              "\"saureus\", \"vcholerae\", \"hpylori\", \"bjaponicum\"]";

int dz_campaign_preset(const char *name, const char *models_dir, dz_campaign **out)
{
    if (!out) return st_err(NULL, STRAND_E_ARG, "dz_campaign_preset: NULL output");
    *out = NULL;
    if (!name) return st_err(NULL, STRAND_E_ARG, "dz_campaign_preset: NULL name");
    char text[8192], file[128];
    snprintf(file, sizeof file, "preset %s", name);
    if (!strcmp(name, "smiles-qed")) {
        /* docs/design.md "Presets": the QED-vs-γ sweep of issue 12 on both SMILES models */
        snprintf(text, sizeof text,
                 "{\"name\": \"smiles-qed\", \"seed\": 1,\n"
                 " \"models\": {\"mdlm\": {\"path\": \"smiles-mdlm-qed.safetensors.zst\", \"classes\": [\"rest\", \"high-qed\"]},\n"
                 "            \"udlm\": {\"path\": \"smiles-udlm-qed.safetensors.zst\", \"classes\": [\"rest\", \"high-qed\"]}},\n"
                 " \"defaults\": {\"steps\": 32, \"samples\": 1000, \"batch\": 50},\n"
                 " \"targets\": [\n"
                 "  {\"name\": \"mdlm-unguided\", \"model\": \"mdlm\", \"guidance\": \"none\"},\n"
                 "  {\"name\": \"mdlm-cfg-qed\", \"model\": \"mdlm\", \"guidance\": \"cfg\", \"label\": \"high-qed\", \"gamma\": [1, 2, 3]},\n"
                 "  {\"name\": \"udlm-unguided\", \"model\": \"udlm\", \"guidance\": \"none\"},\n"
                 "  {\"name\": \"udlm-cfg-qed\", \"model\": \"udlm\", \"guidance\": \"cfg\", \"label\": \"high-qed\", \"gamma\": [1, 2, 3]}]}\n");
    } else if (!strcmp(name, "dna-species")) {
        int k = snprintf(text, sizeof text,
                         "{\"name\": \"dna-species\", \"seed\": 1,\n"
                         " \"models\": {\"udlm\": {\"path\": \"dna-udlm-species.safetensors.zst\", \"classes\": %s}},\n"
                         " \"defaults\": {\"model\": \"udlm\", \"steps\": 128, \"samples\": 100, \"batch\": 50},\n"
                         " \"targets\": [\n  {\"name\": \"unguided\", \"guidance\": \"none\"}",
                         SPECIES);
        static const char *const sp[] = {"human", "celegans", "dmelanogaster", "umaydis", "ztritici",
                                         "ecoli", "saureus",  "vcholerae",     "hpylori", "bjaponicum"};
        for (int i = 0; i < 10; i++)
            k += snprintf(text + k, sizeof text - (size_t)k,
                          ",\n  {\"name\": \"%s\", \"guidance\": \"cfg\", \"label\": \"%s\", \"gamma\": [1, 2, 3]}", sp[i],
                          sp[i]);
        snprintf(text + k, sizeof text - (size_t)k, "]}\n");
    } else if (!strcmp(name, "demo")) {
        /* the bundled demo (design/campaigns/demo.json holds the same as a file): short */
        snprintf(text, sizeof text,
                 "{\"name\": \"demo\", \"seed\": 1,\n"
                 " \"models\": {\"mdlm\": {\"path\": \"smiles-mdlm-qed.safetensors.zst\", \"classes\": [\"rest\", \"high-qed\"]}},\n"
                 " \"defaults\": {\"model\": \"mdlm\", \"steps\": 16, \"samples\": 32, \"batch\": 32},\n"
                 " \"targets\": [\n"
                 "  {\"name\": \"unguided\", \"guidance\": \"none\"},\n"
                 "  {\"name\": \"cfg-qed\", \"guidance\": \"cfg\", \"label\": \"high-qed\", \"gamma\": [1, 3],\n"
                 "   \"filters\": {\"valid\": true, \"dedupe\": true}}]}\n");
    } else {
        return st_err(NULL, STRAND_E_ARG, "unknown preset \"%s\": want smiles-qed, dna-species or demo", name);
    }
    return dz_campaign_parse(text, file, models_dir ? models_dir : "models", out);
}
