/* Property rows for SMILES tables: one parse, then the requested descriptors (docs/chem.md "Properties"). */
#include "chem/smiles_props.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "chem/chem.h"
#include "chem/qed.h"

static const char *const names[SP_COUNT] = {"qed", "rings", "logp", "mw", "tpsa", "hbd", "hba"};

const char *smiles_prop_name(smiles_prop p) { return (unsigned)p < SP_COUNT ? names[p] : "?"; }

int smiles_prop_is_count(smiles_prop p) { return p == SP_RINGS || p == SP_HBD || p == SP_HBA; }

int smiles_props_parse(const char *list, smiles_prop props[SP_COUNT], int *n)
{
    *n = 0;
    if (!list || !*list || !strcmp(list, "none")) return 0;
    if (!strcmp(list, "all")) {
        for (int k = 0; k < SP_COUNT; k++) props[(*n)++] = (smiles_prop)k;
        return 0;
    }
    const char *s = list;
    while (*s) {
        const char *e = strchr(s, ',');
        size_t len = e ? (size_t)(e - s) : strlen(s);
        int found = -1;
        for (int k = 0; k < SP_COUNT; k++)
            if (strlen(names[k]) == len && !strncmp(names[k], s, len)) found = k;
        if (found < 0)
            return st_err(NULL, STRAND_E_ARG, "unknown property \"%.*s\" (known: qed, rings, logp, mw, tpsa, hbd, hba, all, none)",
                          (int)len, s);
        int dup = 0;
        for (int i = 0; i < *n; i++) dup |= props[i] == (smiles_prop)found;
        if (!dup) props[(*n)++] = (smiles_prop)found;
        if (!e) break;
        s = e + 1;
    }
    return 0;
}

void smiles_props_row_clear(smiles_props_row *row)
{
    free(row->canonical);
    memset(row, 0, sizeof *row);
}

static int compute_one(const chem_mol *m, smiles_prop p, double *v)
{
    int rc;
    switch (p) {
    case SP_QED: return qed_compute(m, v);
    case SP_RINGS: rc = chem_ring_count(m); break;
    case SP_LOGP: return chem_logp(m, v);
    case SP_MW: return chem_mw(m, v);
    case SP_TPSA: return chem_tpsa(m, v);
    case SP_HBD: rc = chem_hbd(m); break;
    case SP_HBA: rc = chem_hba(m); break;
    default: return st_err(NULL, STRAND_E_ARG, "unknown property %d", (int)p);
    }
    if (rc >= 0) *v = rc;
    return rc < 0 ? rc : 0;
}

int smiles_props_compute(const char *smiles, const smiles_prop *props, int n, smiles_props_row *row)
{
    memset(row, 0, sizeof *row);
    chem_mol *m = NULL;
    int rc = chem_mol_from_smiles(smiles, &m);
    if (rc == 0) {
        char small[512];
        int len = chem_canonical_smiles(m, small, sizeof small);
        if (len >= 0) {
            row->canonical = strdup(small);
            if (!row->canonical) rc = st_err(NULL, STRAND_E_NOMEM, "out of memory");
        } else if (len == STRAND_E_RANGE) { /* long molecule: retry with the size it needs */
            size_t need = 1 << 16;
            for (int tries = 0; tries < 6 && !row->canonical && rc == 0; tries++, need *= 4) {
                char *big = malloc(need);
                if (!big) {
                    rc = st_err(NULL, STRAND_E_NOMEM, "out of memory");
                    break;
                }
                len = chem_canonical_smiles(m, big, need);
                if (len >= 0) row->canonical = big;
                else free(big);
                if (len < 0 && len != STRAND_E_RANGE) rc = len;
            }
            if (!row->canonical && rc == 0) rc = st_err(NULL, STRAND_E_RANGE, "canonical SMILES too long");
        } else {
            rc = len;
        }
    }
    for (int i = 0; i < n && rc == 0; i++) rc = compute_one(m, props[i], &row->v[props[i]]);
    chem_mol_free(m);
    if (rc < 0) {
        snprintf(row->err, sizeof row->err, "%s", strand_last_error());
        free(row->canonical);
        row->canonical = NULL;
        row->ok = 0;
        return rc;
    }
    row->ok = 1;
    return 0;
}

int smiles_props_format(char *buf, size_t len, smiles_prop p, double v)
{
    return smiles_prop_is_count(p) ? snprintf(buf, len, "%.0f", v) : snprintf(buf, len, "%.10g", v);
}
