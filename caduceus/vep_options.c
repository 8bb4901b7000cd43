/* strand_vep options that are not maths: the --rename-chrs contig map, targets, and the check
 * that every score is finite (see caduceus/vep.h). */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "caduceus/vep.h"
#include "io/vcf.h"

typedef struct ren_pair {
    char *from, *to;
} ren_pair;

static int ren_cmp(const void *a, const void *b)
{
    return strcmp(((const ren_pair *)a)->from, ((const ren_pair *)b)->from);
}

/* "OLD NEW" per line (whitespace-separated, as bcftools annotate --rename-chrs), '#' comments. */
static int load_rename(strand_vep *v, const char *path)
{
    FILE *fp = fopen(path, "r");
    if (!fp) return st_err(NULL, STRAND_E_IO, "--rename-chrs: cannot open \"%s\": %s", path, strerror(errno));
    char line[4096];
    ren_pair *p = NULL;
    int n = 0, cap = 0, rc = 0;
    long ln = 0;
    while (fgets(line, sizeof line, fp)) {
        ln++;
        char *s = line;
        while (isspace((unsigned char)*s)) s++;
        if (!*s || *s == '#') continue;
        char *a = strtok(s, " \t\r\n"), *b = strtok(NULL, " \t\r\n"), *c = strtok(NULL, " \t\r\n");
        if (!a || !b || c) {
            rc = st_err(NULL, STRAND_E_FORMAT, "%s: line %ld: expected two names, \"OLD NEW\"", path, ln);
            break;
        }
        if (n == cap) {
            cap = cap ? 2 * cap : 32;
            ren_pair *q = realloc(p, (size_t)cap * sizeof *p);
            if (!q) { rc = st_err(NULL, STRAND_E_NOMEM, "out of memory"); break; }
            p = q;
        }
        p[n].from = strdup(a), p[n].to = strdup(b);
        if (!p[n].from || !p[n].to) {
            free(p[n].from), free(p[n].to);
            rc = st_err(NULL, STRAND_E_NOMEM, "out of memory");
            break;
        }
        n++;
    }
    fclose(fp);
    if (rc == 0) {
        qsort(p, (size_t)n, sizeof *p, ren_cmp);
        for (int i = 1; i < n; i++)
            if (!strcmp(p[i].from, p[i - 1].from)) {
                rc = st_err(NULL, STRAND_E_FORMAT, "%s: \"%s\" is renamed twice", path, p[i].from);
                break;
            }
    }
    if (rc == 0 && n > 0) {
        v->ren_from = malloc((size_t)n * sizeof(char *));
        v->ren_to = malloc((size_t)n * sizeof(char *));
        if (!v->ren_from || !v->ren_to) rc = st_err(NULL, STRAND_E_NOMEM, "out of memory");
    }
    for (int i = 0; i < n; i++) {
        if (rc == 0) {
            v->ren_from[i] = p[i].from, v->ren_to[i] = p[i].to;
        } else {
            free(p[i].from), free(p[i].to);
        }
    }
    if (rc == 0) v->n_ren = n;
    free(p);
    return rc;
}

static int add_targets(strand_vep *v, const st_region *t, int n)
{
    if (n <= 0) return 0;
    st_region *q = realloc(v->targets, (size_t)(v->n_targets + n) * sizeof *q);
    if (!q) return st_err(NULL, STRAND_E_NOMEM, "out of memory");
    memcpy(q + v->n_targets, t, (size_t)n * sizeof *t);
    v->targets = q;
    v->n_targets += n;
    return 0;
}

int st_vep_options_load(strand_vep *v)
{
    int rc = 0;
    if (v->p.rename_chrs && (rc = load_rename(v, v->p.rename_chrs)) < 0) return rc;
    if (v->p.targets && *v->p.targets) {
        char *s = strdup(v->p.targets), *save = NULL;
        if (!s) return st_err(NULL, STRAND_E_NOMEM, "out of memory");
        for (char *tok = strtok_r(s, ",", &save); tok && rc == 0; tok = strtok_r(NULL, ",", &save)) {
            st_region g;
            if ((rc = st_region_parse(tok, &g)) < 0) {
                st_err_prefix("targets \"%s\"", tok);
            } else {
                const char *colon = strrchr(tok, ':'); /* bcftools: "chr:POS" is that one position */
                if (colon && !strchr(colon, '-') && g.end == INT64_MAX) g.end = g.beg + 1;
                rc = add_targets(v, &g, 1);
            }
        }
        free(s);
        if (rc < 0) return rc;
    }
    if (v->p.targets_file) {
        st_region *t = NULL;
        int n = 0;
        if ((rc = st_regions_file_read(v->p.targets_file, &t, &n)) < 0) return rc;
        rc = add_targets(v, t, n);
        free(t);
        if (rc == 0 && n == 0)
            rc = st_err(NULL, STRAND_E_FORMAT, "%s: no targets in the file", v->p.targets_file);
    }
    /* the strings of p are the caller's: not kept */
    v->p.rename_chrs = v->p.targets = v->p.targets_file = NULL;
    return rc;
}

void st_vep_options_free(strand_vep *v)
{
    for (int i = 0; i < v->n_ren; i++) free(v->ren_from[i]), free(v->ren_to[i]);
    free(v->ren_from), free(v->ren_to);
    free(v->targets);
    v->ren_from = v->ren_to = NULL;
    v->targets = NULL;
    v->n_ren = v->n_targets = 0;
}

int st_vep_contig_id(const strand_vep *v, const char *vcf_name)
{
    const char *name = vcf_name;
    int lo = 0, hi = v->n_ren;
    while (lo < hi) {
        int mid = (lo + hi) / 2, c = strcmp(v->ren_from[mid], vcf_name);
        if (c == 0) {
            name = v->ren_to[mid];
            break;
        }
        if (c < 0) lo = mid + 1;
        else hi = mid;
    }
    return st_fasta_contig_id(v->fa, name);
}

static int all_finite(const double *a, size_t D)
{
    for (size_t j = 0; j < D; j++)
        if (!isfinite(a[j])) return 0;
    return 1;
}

int st_vep_check_finite(strand_vep *v, strand_vep_variant *x, size_t i, int has_llr, const double *pref,
                        const double *palt, size_t D)
{
    if ((!has_llr || isfinite(x->llr)) && all_finite(pref, D) && all_finite(palt, D)) return 0;
    x->llr = x->emb = NAN;
    x->status = STRAND_VEP_NONFINITE;
    if (v->p.nonfinite == STRAND_VEP_NONFINITE_SKIP) return 0;
    v->fail_index = (int64_t)i;
    return st_err(&v->err, STRAND_E_FORMAT, "%s:%lld %s>%s: the model %s gave a non-finite score (NaN or infinity): "
                  "its weights are probably corrupt (check its SHA-256 %s); --nonfinite skip counts such variants "
                  "and leaves them unscored instead", x->contig, (long long)x->pos1, x->ref, x->alt, v->model_path,
                  v->sha256);
}
