/* FASTA through htslib faidx; see io/fasta.h for the index, error and character policies. */
#include "io/fasta.h"

#include <ctype.h>
#include <errno.h>
#include <htslib/bgzf.h>
#include <htslib/faidx.h>
#include <htslib/khash.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/atomic_file.h"
#include "core/error.h"
#include "core/log.h"


KHASH_MAP_INIT_STR(st_name2id, int)

typedef struct fai_entry {
    char *name;
    int64_t len, offset, linebases, linewidth;
} fai_entry;

struct st_fasta {
    char *path;
    faidx_t *fai;
    int n;
    fai_entry *e; /* our own parse of the .fai, for validation and fast lookups */
    khash_t(st_name2id) *ids; /* contig name -> index (keys point into e[i].name) */
};

/* ---- regions ------------------------------------------------------------------------- */

/* Parse a 1-based coordinate with optional thousands commas; returns the end pointer or NULL. */
static const char *parse_coord(const char *s, int64_t *v)
{
    int64_t x = 0;
    int digits = 0;
    for (; *s; s++) {
        if (*s == ',') continue;
        if (*s < '0' || *s > '9') break;
        if (x > (INT64_MAX - 9) / 10) return NULL;
        x = x * 10 + (*s - '0');
        digits++;
    }
    if (!digits) return NULL;
    *v = x;
    return s;
}

int st_region_parse(const char *text, st_region *out)
{
    if (!text || !*text) return st_err(NULL, STRAND_E_ARG, "empty region");
    memset(out, 0, sizeof *out);
    const char *colon = strrchr(text, ':');
    size_t nlen = colon ? (size_t)(colon - text) : strlen(text);
    if (text[0] == '{') { /* samtools' {name}:beg-end for names that contain ':' */
        const char *close = strchr(text, '}');
        if (!close || (close[1] != '\0' && close[1] != ':'))
            return st_err(NULL, STRAND_E_ARG, "region \"%s\": unbalanced '{...}'", text);
        text++;
        nlen = (size_t)(close - text);
        colon = close[1] == ':' ? close + 1 : NULL;
    }
    if (nlen == 0 || nlen >= sizeof out->name)
        return st_err(NULL, STRAND_E_ARG, "region \"%s\": bad contig name", text);
    memcpy(out->name, text, nlen);
    out->beg = 0;
    out->end = INT64_MAX;
    if (!colon) return 0;
    int64_t a, b;
    const char *p = parse_coord(colon + 1, &a);
    if (!p || a < 1) return st_err(NULL, STRAND_E_ARG, "region \"%s\": bad start (1-based)", text);
    out->beg = a - 1;
    if (*p == '\0') return 0;
    if (*p != '-') return st_err(NULL, STRAND_E_ARG, "region \"%s\": expected '-' after start", text);
    if (p[1] == '\0') return 0; /* "chr:100-" = to the end */
    const char *q = parse_coord(p + 1, &b);
    if (!q || *q) return st_err(NULL, STRAND_E_ARG, "region \"%s\": bad end", text);
    if (b < a) return st_err(NULL, STRAND_E_ARG, "region \"%s\": end %lld before start %lld", text,
                             (long long)b, (long long)a);
    out->end = b;
    return 0;
}

/* ---- index validation ------------------------------------------------------------------ */

static void free_entries(st_fasta *fa)
{
    if (fa->ids) kh_destroy(st_name2id, fa->ids);
    fa->ids = NULL;
    for (int i = 0; i < fa->n; i++) free(fa->e[i].name);
    free(fa->e);
    fa->e = NULL;
    fa->n = 0;
}

static int parse_fai(st_fasta *fa, const char *faipath)
{
    FILE *fp = fopen(faipath, "r");
    if (!fp) return st_err(NULL, STRAND_E_IO, "cannot open \"%s\": %s", faipath, strerror(errno));
    char line[4096];
    int cap = 0, lineno = 0, rc = 0;
    while (fgets(line, sizeof line, fp)) {
        lineno++;
        char name[1024];
        long long len, off, lb, lw;
        if (sscanf(line, "%1023[^\t]\t%lld\t%lld\t%lld\t%lld", name, &len, &off, &lb, &lw) != 5 ||
            len < 0 || off < 0 || lb <= 0 || lw < lb) {
            rc = st_err(NULL, STRAND_E_FORMAT, "%s: line %d: malformed .fai entry (stale or corrupt "
                        "index: delete it or run `samtools faidx`)", faipath, lineno);
            break;
        }
        if (fa->n == cap) {
            cap = cap ? 2 * cap : 16;
            fai_entry *ne = realloc(fa->e, (size_t)cap * sizeof *ne);
            if (!ne) { rc = st_err(NULL, STRAND_E_NOMEM, "out of memory"); break; }
            fa->e = ne;
        }
        fai_entry *e = &fa->e[fa->n];
        e->name = strdup(name);
        if (!e->name) { rc = st_err(NULL, STRAND_E_NOMEM, "out of memory"); break; }
        e->len = len; e->offset = off; e->linebases = lb; e->linewidth = lw;
        fa->n++;
    }
    fclose(fp);
    if (rc == 0 && fa->n == 0)
        rc = st_err(NULL, STRAND_E_FORMAT, "%s: index lists no sequences (empty FASTA?)", faipath);
    return rc;
}

/* Byte at uncompressed offset `off`, or -1 at EOF, -2 on error. */
static int byte_at(BGZF *fp, int64_t off)
{
    if (bgzf_useek(fp, off, SEEK_SET) < 0) return -2;
    return bgzf_getc(fp);
}

/* Check that every .fai entry points at a sequence that starts after a newline and ends where
 * its length says (catches an index left over from another version of the FASTA). */
static int check_index_agrees(st_fasta *fa, int is_bgzf)
{
    BGZF *fp = bgzf_open(fa->path, "r");
    if (!fp) return st_err(NULL, STRAND_E_IO, "cannot open \"%s\": %s", fa->path, strerror(errno));
    int rc = 0;
    if (is_bgzf) {
        char gzi[4096];
        snprintf(gzi, sizeof gzi, "%s.gzi", fa->path);
        if (bgzf_index_load(fp, gzi, NULL) < 0) {
            bgzf_close(fp);
            return st_err(NULL, STRAND_E_FORMAT, "%s: cannot load BGZF index \"%s\" (delete the .fai "
                          "to rebuild both, or run `samtools faidx`)", fa->path, gzi);
        }
    }
    for (int i = 0; i < fa->n && rc == 0; i++) {
        if (i >= 1000 && i != fa->n - 1) continue; /* huge assemblies: first 1000 and the last */
        fai_entry *e = &fa->e[i];
        int64_t full = e->len / e->linebases, rem = e->len % e->linebases;
        int64_t end = e->offset + full * e->linewidth + rem;
        int before = e->offset > 0 ? byte_at(fp, e->offset - 1) : '\n';
        int after = byte_at(fp, end);
        int last = e->len > 0 ? byte_at(fp, rem ? end - 1 : end - (e->linewidth - e->linebases) - 1) : 'A';
        int ok_after = rem ? (after == '\n' || after == '\r' || after == -1)
                           : (after == '>' || after == -1 || after == '\n' || after == '\r');
        if (before != '\n' || !ok_after || last < 0 || last == '\n' || last == '>' || last == '\r')
            rc = st_err(NULL, STRAND_E_FORMAT, "%s: stale index: contig \"%s\" (length %lld at offset "
                        "%lld) does not match the file; delete \"%s.fai\" or run `samtools faidx`",
                        fa->path, e->name, (long long)e->len, (long long)e->offset, fa->path);
    }
    bgzf_close(fp);
    return rc;
}

static int older(const char *a, const char *b) /* 1 if file a is older than b */
{
    struct stat sa, sb;
    if (stat(a, &sa) || stat(b, &sb)) return 0;
    if (sa.st_mtim.tv_sec != sb.st_mtim.tv_sec) return sa.st_mtim.tv_sec < sb.st_mtim.tv_sec;
    return sa.st_mtim.tv_nsec < sb.st_mtim.tv_nsec;
}

/* Build .fai (+ .gzi) under temporary names and rename, so a failed build leaves nothing. */
static int build_index(const char *path, int is_bgzf)
{
    char fai[4096], gzi[4096];
    snprintf(fai, sizeof fai, "%s.fai", path);
    snprintf(gzi, sizeof gzi, "%s.gzi", path);
    st_atomic_file af = {0}, ag = {0};
    int rc = st_atomic_open(&af, fai, 0);
    if (rc) return st_err_prefix("%s: cannot build index", path);
    if (is_bgzf && (rc = st_atomic_open(&ag, gzi, 0)) != 0) {
        st_atomic_abort(&af);
        return st_err_prefix("%s: cannot build index", path);
    }
    st_info("%s: no index found, building %s%s", path, fai, is_bgzf ? " and .gzi" : "");
    if (fai_build3(path, af.tmp_path, is_bgzf ? ag.tmp_path : NULL) != 0) {
        st_atomic_abort(&af);
        st_atomic_abort(&ag);
        return st_err(NULL, STRAND_E_FORMAT, "%s: cannot build the FASTA index (not a FASTA file, "
                      "truncated, or inconsistent line lengths)", path);
    }
    if (is_bgzf && (rc = st_atomic_commit(&ag)) != 0) {
        st_atomic_abort(&af);
        return rc;
    }
    return st_atomic_commit(&af);
}

int st_fasta_open(st_fasta **out, const char *path, int flags)
{
    *out = NULL;
    struct stat st;
    if (stat(path, &st) != 0) return st_err(NULL, STRAND_E_IO, "cannot open \"%s\": %s", path, strerror(errno));
    if (st.st_size == 0) return st_err(NULL, STRAND_E_FORMAT, "%s: empty file", path);
    BGZF *fp = bgzf_open(path, "r");
    if (!fp) return st_err(NULL, STRAND_E_IO, "cannot open \"%s\": %s", path, strerror(errno));
    int comp = bgzf_compression(fp);
    int eof = comp == 2 ? bgzf_check_EOF(fp) : 1;
    bgzf_close(fp);
    if (comp == 1)
        return st_err(NULL, STRAND_E_FORMAT, "%s: compressed with plain gzip; recompress with `bgzip` "
                      "so it can be indexed", path);
    if (eof == 0)
        return st_err(NULL, STRAND_E_FORMAT, "%s: truncated BGZF file (no end-of-file block)", path);
    int is_bgzf = comp == 2;

    char fai[4096], gzi[4096];
    snprintf(fai, sizeof fai, "%s.fai", path);
    snprintf(gzi, sizeof gzi, "%s.gzi", path);
    int have_fai = access(fai, R_OK) == 0, have_gzi = !is_bgzf || access(gzi, R_OK) == 0;
    if (!have_fai || !have_gzi) {
        if (flags & ST_FASTA_NO_BUILD)
            return st_err(NULL, STRAND_E_NOTFOUND, "%s: index %s missing (run `samtools faidx`)", path,
                          have_fai ? gzi : fai);
        int rc = build_index(path, is_bgzf);
        if (rc) return rc;
    } else if (older(fai, path) || (is_bgzf && older(gzi, path))) {
        return st_err(NULL, STRAND_E_FORMAT, "%s: stale index: %s is older than the FASTA; delete it or "
                      "run `samtools faidx`", path, older(fai, path) ? fai : gzi);
    }

    st_fasta *fa = calloc(1, sizeof *fa);
    if (!fa || !(fa->path = strdup(path))) {
        free(fa);
        return st_err(NULL, STRAND_E_NOMEM, "out of memory");
    }
    int rc = parse_fai(fa, fai);
    if (rc == 0) rc = check_index_agrees(fa, is_bgzf);
    if (rc == 0) {
        fa->fai = fai_load3(path, fai, is_bgzf ? gzi : NULL, 0);
        if (!fa->fai) rc = st_err(NULL, STRAND_E_FORMAT, "%s: htslib cannot load the index %s", path, fai);
    }
    if (rc == 0 && faidx_nseq(fa->fai) != fa->n)
        rc = st_err(NULL, STRAND_E_FORMAT, "%s: index has duplicate contig names", path);
    if (rc == 0 && !(fa->ids = kh_init(st_name2id))) rc = st_err(NULL, STRAND_E_NOMEM, "out of memory");
    for (int i = 0; rc == 0 && i < fa->n; i++) {
        int absent;
        khiter_t k = kh_put(st_name2id, fa->ids, fa->e[i].name, &absent);
        if (absent < 0) rc = st_err(NULL, STRAND_E_NOMEM, "out of memory");
        else kh_val(fa->ids, k) = i;
    }
    if (rc) {
        st_fasta_close(fa);
        return rc;
    }
    *out = fa;
    return 0;
}

void st_fasta_close(st_fasta *fa)
{
    if (!fa) return;
    if (fa->fai) fai_destroy(fa->fai);
    free_entries(fa);
    free(fa->path);
    free(fa);
}

int st_fasta_ncontigs(const st_fasta *fa) { return fa->n; }
const char *st_fasta_contig_name(const st_fasta *fa, int i) { return i >= 0 && i < fa->n ? fa->e[i].name : NULL; }
int64_t st_fasta_contig_len(const st_fasta *fa, int i) { return i >= 0 && i < fa->n ? fa->e[i].len : -1; }
const char *st_fasta_path(const st_fasta *fa) { return fa->path; }

int st_fasta_contig_id(const st_fasta *fa, const char *name)
{
    if (!fa->ids) return -1;
    khiter_t k = kh_get(st_name2id, fa->ids, name);
    return k == kh_end(fa->ids) ? -1 : kh_val(fa->ids, k);
}

int st_fasta_resolve(const st_fasta *fa, st_region *r)
{
    int id = st_fasta_contig_id(fa, r->name);
    if (id < 0) return st_err(NULL, STRAND_E_NOTFOUND, "%s: unknown contig \"%s\"", fa->path, r->name);
    int64_t len = fa->e[id].len;
    if (r->end == INT64_MAX) r->end = len;
    if (r->beg < 0 || r->beg >= r->end || r->end > len)
        return st_err(NULL, STRAND_E_RANGE, "%s: region %s:%lld-%lld is outside contig \"%s\" (length %lld)",
                      fa->path, r->name, (long long)r->beg + 1, (long long)r->end, r->name, (long long)len);
    return 0;
}

int64_t st_seq_first_non_acgtn(const char *seq, int64_t n)
{
    for (int64_t i = 0; i < n; i++) {
        switch (seq[i]) {
        case 'A': case 'C': case 'G': case 'T': case 'N':
        case 'a': case 'c': case 'g': case 't': case 'n': break;
        default: return i;
        }
    }
    return -1;
}

int64_t st_seq_n_runs(const char *seq, int64_t n, int64_t *total_n, int64_t *run_beg)
{
    int64_t best = 0, best_beg = -1, cur = 0, tot = 0;
    for (int64_t i = 0; i < n; i++) {
        if (seq[i] == 'N' || seq[i] == 'n') {
            cur++;
            tot++;
            if (cur > best) { best = cur; best_beg = i - cur + 1; }
        } else {
            cur = 0;
        }
    }
    if (total_n) *total_n = tot;
    if (run_beg) *run_beg = best_beg;
    return best;
}

int st_fasta_fetch(st_fasta *fa, const char *contig, int64_t beg, int64_t end, int flags, char **seq,
                   int64_t *len)
{
    *seq = NULL;
    if (len) *len = 0;
    st_region r;
    if (strlen(contig) >= sizeof r.name)
        return st_err(NULL, STRAND_E_NOTFOUND, "%s: unknown contig \"%.64s...\"", fa->path, contig);
    strcpy(r.name, contig);
    r.beg = beg;
    r.end = end;
    int rc = st_fasta_resolve(fa, &r);
    if (rc) return rc;
    hts_pos_t got = 0;
    char *s = faidx_fetch_seq64(fa->fai, contig, r.beg, r.end - 1, &got);
    if (!s || got != r.end - r.beg) {
        free(s);
        return st_err(NULL, STRAND_E_FORMAT, "%s: cannot read %s:%lld-%lld (got %lld of %lld bases): "
                      "truncated file or stale index", fa->path, contig, (long long)r.beg + 1,
                      (long long)r.end, (long long)(got > 0 ? got : 0), (long long)(r.end - r.beg));
    }
    if (flags & ST_FASTA_STRICT) {
        int64_t bad = st_seq_first_non_acgtn(s, got);
        if (bad >= 0) {
            unsigned char c = (unsigned char)s[bad];
            free(s);
            return st_err(NULL, STRAND_E_FORMAT, "%s: contig \"%s\" position %lld: character '%c' (0x%02x) "
                          "is not A/C/G/T/N", fa->path, contig, (long long)(r.beg + bad + 1),
                          isprint(c) ? c : '?', c);
        }
    }
    if (flags & ST_FASTA_UPPER)
        for (hts_pos_t i = 0; i < got; i++) s[i] = (char)toupper((unsigned char)s[i]);
    *seq = s;
    if (len) *len = got;
    return 0;
}

int st_fasta_fetch_region(st_fasta *fa, const char *region, int flags, char **seq, int64_t *len,
                          st_region *resolved)
{
    *seq = NULL;
    st_region r;
    int rc;
    if (strlen(region) < sizeof r.name && st_fasta_contig_id(fa, region) >= 0) {
        /* the whole text is a contig name (names may contain ':'), as samtools resolves it */
        snprintf(r.name, sizeof r.name, "%s", region);
        r.beg = 0;
        r.end = INT64_MAX;
    } else if ((rc = st_region_parse(region, &r)) != 0) {
        return st_err_prefix("%s", fa->path);
    }
    if ((rc = st_fasta_resolve(fa, &r)) != 0) return rc;
    if (resolved) *resolved = r;
    return st_fasta_fetch(fa, r.name, r.beg, r.end, flags, seq, len);
}
