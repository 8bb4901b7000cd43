/* Streaming .smi/.csv/.tsv reader (see io/table.h). Reads through htslib's BGZF layer, which
 * passes plain files through and decompresses gzip/BGZF. */
#include "io/table.h"

#include <ctype.h>
#include <errno.h>
#include <htslib/bgzf.h>
#include <htslib/kstring.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/error.h"

struct st_table {
    char *path;
    BGZF *fp;
    st_table_format fmt;
    char delim;       /* ',' or '\t' for csv/tsv */
    kstring_t line;   /* the raw text of the current record (may span lines) */
    kstring_t next;   /* one physical line */
    kstring_t fbuf;   /* field storage: fields separated by NULs */
    size_t *foff;     /* field start offsets into fbuf.s */
    size_t nf, cap;
    size_t lineno;    /* physical lines read so far */
    size_t recline;   /* first line of the current record */
    char **header;
    size_t nheader;
    size_t col;
    char *colname;
    int first_smi_line;
};

st_table_format st_table_format_from_name(const char *path)
{
    if (!path) return ST_TABLE_AUTO;
    size_t n = strlen(path);
    if (n > 3 && !strcmp(path + n - 3, ".gz")) n -= 3;
    static const struct { const char *ext; st_table_format f; } ext[] = {
        {".smi", ST_TABLE_SMI}, {".smiles", ST_TABLE_SMI}, {".csv", ST_TABLE_CSV},
        {".tsv", ST_TABLE_TSV}, {".tab", ST_TABLE_TSV},   {".txt", ST_TABLE_TSV},
    };
    for (size_t i = 0; i < sizeof ext / sizeof ext[0]; i++) {
        size_t k = strlen(ext[i].ext);
        if (n > k && !strncasecmp(path + n - k, ext[i].ext, k)) return ext[i].f;
    }
    return ST_TABLE_AUTO;
}

/* Read one physical line into t->next without its '\n' / '\r\n'. 1, 0 at EOF, or error. */
static int read_line(st_table *t)
{
    t->next.l = 0;
    int r = bgzf_getline(t->fp, '\n', &t->next);
    if (r == -1 && !t->fp->errcode) return 0;
    if (r < 0) return st_err(NULL, STRAND_E_IO, "%s: line %zu: read error (truncated or corrupt compressed file?)",
                              t->path, t->lineno + 1);
    t->lineno++;
    if (t->next.l && t->next.s[t->next.l - 1] == '\r') t->next.s[--t->next.l] = '\0';
    const char *nul = t->next.l ? memchr(t->next.s, '\0', t->next.l) : NULL;
    if (nul)
        return st_err(NULL, STRAND_E_FORMAT, "%s: line %zu: NUL byte at character %zu (not a text table?)", t->path,
                      t->lineno, (size_t)(nul - t->next.s) + 1);
    if (!t->next.s) { /* an empty line may leave s NULL */
        if (ks_resize(&t->next, 1) < 0) return st_err(NULL, STRAND_E_NOMEM, "%s: out of memory", t->path);
        t->next.s[0] = '\0';
    }
    return 1;
}

static int push_field(st_table *t, size_t off)
{
    if (t->nf == t->cap) {
        size_t nc = t->cap ? 2 * t->cap : 16;
        size_t *p = realloc(t->foff, nc * sizeof *p);
        if (!p) return st_err(NULL, STRAND_E_NOMEM, "%s: out of memory", t->path);
        t->foff = p;
        t->cap = nc;
    }
    t->foff[t->nf++] = off;
    return 0;
}

/* Split t->line into fields (RFC 4180 quoting). Returns 1 when complete, 0 when a quoted field
 * is still open at the end of the text (the caller appends the next line), or an error. */
static int split_delimited(st_table *t)
{
    const char *s = t->line.s;
    size_t n = t->line.l, i = 0;
    t->nf = 0;
    t->fbuf.l = 0;
    for (;;) {
        if (push_field(t, t->fbuf.l) < 0) return STRAND_E_NOMEM;
        if (i < n && s[i] == '"') { /* quoted field */
            i++;
            for (;;) {
                if (i >= n) return 0; /* still inside quotes */
                if (s[i] == '"') {
                    if (i + 1 < n && s[i + 1] == '"') {
                        kputc('"', &t->fbuf);
                        i += 2;
                        continue;
                    }
                    i++;
                    break;
                }
                kputc(s[i++], &t->fbuf);
            }
            if (i < n && s[i] != t->delim)
                return st_err(NULL, STRAND_E_FORMAT, "%s: line %zu: field %zu: text after a closing quote",
                              t->path, t->recline, t->nf);
        } else {
            while (i < n && s[i] != t->delim) kputc(s[i++], &t->fbuf);
        }
        kputc('\0', &t->fbuf); /* kputc keeps fbuf NUL-terminated; this separates fields */
        if (i >= n) return 1;
        i++; /* the delimiter: another field follows */
    }
}

/* Whitespace-separated .smi fields. */
static int split_smi(st_table *t)
{
    const char *s = t->line.s;
    size_t n = t->line.l, i = 0;
    t->nf = 0;
    t->fbuf.l = 0;
    while (i < n) {
        while (i < n && (s[i] == ' ' || s[i] == '\t')) i++;
        if (i >= n) break;
        if (push_field(t, t->fbuf.l) < 0) return STRAND_E_NOMEM;
        while (i < n && s[i] != ' ' && s[i] != '\t') kputc(s[i++], &t->fbuf);
        kputc('\0', &t->fbuf);
    }
    return 1;
}

static int is_blank(const char *s)
{
    for (; *s; s++)
        if (!isspace((unsigned char)*s)) return 0;
    return 1;
}

/* Read the next record into fields. 1, 0 at EOF, or an error. */
static int read_record(st_table *t)
{
    for (;;) {
        int r = read_line(t);
        if (r <= 0) return r;
        if (is_blank(t->next.s)) continue;
        if (t->fmt == ST_TABLE_SMI && t->next.s[0] == '#') continue;
        t->recline = t->lineno;
        t->line.l = 0;
        kputsn(t->next.s, t->next.l, &t->line);
        if (t->fmt == ST_TABLE_SMI) return split_smi(t);
        for (;;) {
            r = split_delimited(t);
            if (r != 0) return r;
            r = read_line(t);
            if (r < 0) return r;
            if (r == 0)
                return st_err(NULL, STRAND_E_FORMAT, "%s: line %zu: unterminated quoted field (end of file reached)",
                              t->path, t->recline);
            kputc('\n', &t->line);
            kputsn(t->next.s, t->next.l, &t->line);
        }
    }
}

static int all_digits(const char *s)
{
    if (!*s) return 0;
    for (; *s; s++)
        if (!isdigit((unsigned char)*s)) return 0;
    return 1;
}

static int resolve_column(st_table *t, const char *column)
{
    if (column && all_digits(column)) {
        long k = strtol(column, NULL, 10);
        if (k < 1 || k > 1000000)
            return st_err(NULL, STRAND_E_ARG, "%s: column index %s out of range (columns are numbered from 1)",
                          t->path, column);
        t->col = (size_t)(k - 1);
        if (t->fmt != ST_TABLE_SMI && t->col >= t->nheader)
            return st_err(NULL, STRAND_E_NOTFOUND, "%s: line %zu: column %ld requested, the header has %zu columns",
                          t->path, t->recline, k, t->nheader);
        t->colname = strdup(t->fmt == ST_TABLE_SMI ? (t->col == 0 ? "smiles" : t->col == 1 ? "name" : column)
                                                  : t->header[t->col]);
        return t->colname ? 0 : STRAND_E_NOMEM;
    }
    if (t->fmt == ST_TABLE_SMI) {
        if (column && strcasecmp(column, "smiles"))
            return st_err(NULL, STRAND_E_ARG, "%s: .smi files have no header: select the column by number, not \"%s\"",
                          t->path, column);
        t->col = 0;
        t->colname = strdup("smiles");
        return t->colname ? 0 : STRAND_E_NOMEM;
    }
    size_t found = (size_t)-1;
    const char *want = column ? column : "smiles";
    for (size_t i = 0; i < t->nheader && found == (size_t)-1; i++)
        if (!strcmp(t->header[i], want)) found = i;
    for (size_t i = 0; i < t->nheader && found == (size_t)-1; i++)
        if (!strcasecmp(t->header[i], want)) found = i;
    if (found == (size_t)-1) {
        if (!column) {
            found = 0; /* no "smiles" column: the first one */
        } else {
            kstring_t cols = {0, 0, NULL};
            for (size_t i = 0; i < t->nheader; i++) ksprintf(&cols, "%s\"%s\"", i ? ", " : "", t->header[i]);
            int rc = st_err(NULL, STRAND_E_NOTFOUND, "%s: line %zu: no column named \"%s\" in the header (columns: %s)",
                            t->path, t->recline, column, cols.s ? cols.s : "");
            free(cols.s);
            return rc;
        }
    }
    t->col = found;
    t->colname = strdup(t->header[found]);
    return t->colname ? 0 : STRAND_E_NOMEM;
}

int st_table_open(st_table **out, const char *path, st_table_format fmt, const char *column)
{
    if (out) *out = NULL;
    if (!out || !path) return st_err(NULL, STRAND_E_ARG, "st_table_open: NULL argument");
    if (fmt == ST_TABLE_AUTO) fmt = st_table_format_from_name(path);
    if (fmt == ST_TABLE_AUTO)
        return st_err(NULL, STRAND_E_ARG, "%s: cannot tell the table format from the name (use .smi, .csv or .tsv)", path);
    st_table *t = calloc(1, sizeof *t);
    if (!t || !(t->path = strdup(path))) {
        free(t);
        return st_err(NULL, STRAND_E_NOMEM, "%s: out of memory", path);
    }
    t->fmt = fmt;
    t->delim = fmt == ST_TABLE_CSV ? ',' : '\t';
    errno = 0;
    t->fp = strcmp(path, "-") ? bgzf_open(path, "r") : bgzf_dopen(0, "r");
    if (!t->fp) {
        int rc = st_err(NULL, STRAND_E_IO, "cannot open \"%s\": %s", path, errno ? strerror(errno) : "unreadable");
        st_table_close(t);
        return rc;
    }
    int rc = 0;
    if (fmt != ST_TABLE_SMI) {
        rc = read_record(t);
        if (rc == 0) rc = st_err(NULL, STRAND_E_FORMAT, "%s: empty file (a header line is expected)", path);
        if (rc < 0) goto fail;
        if (t->nf && !strncmp(t->fbuf.s + t->foff[0], "\xEF\xBB\xBF", 3)) /* UTF-8 BOM */
            memmove(t->fbuf.s + t->foff[0], t->fbuf.s + t->foff[0] + 3, strlen(t->fbuf.s + t->foff[0] + 3) + 1);
        t->header = calloc(t->nf, sizeof *t->header);
        if (!t->header) {
            rc = st_err(NULL, STRAND_E_NOMEM, "%s: out of memory", path);
            goto fail;
        }
        t->nheader = t->nf;
        for (size_t i = 0; i < t->nf; i++)
            if (!(t->header[i] = strdup(t->fbuf.s + t->foff[i]))) {
                rc = st_err(NULL, STRAND_E_NOMEM, "%s: out of memory", path);
                goto fail;
            }
    }
    rc = resolve_column(t, column);
    if (rc < 0) goto fail;
    t->first_smi_line = fmt == ST_TABLE_SMI;
    t->nf = 0;
    *out = t;
    return 0;
fail:
    st_table_close(t);
    return rc;
}

int st_table_next(st_table *t, const char **value)
{
    if (!t || !value) return st_err(NULL, STRAND_E_ARG, "st_table_next: NULL argument");
    *value = NULL;
    for (;;) {
        int r = read_record(t);
        if (r <= 0) {
            t->nf = 0;
            return r;
        }
        if (t->first_smi_line) {
            t->first_smi_line = 0;
            if (t->nf && !strcasecmp(t->fbuf.s + t->foff[0], "smiles")) continue; /* title line */
        }
        break;
    }
    if (t->col >= t->nf)
        return st_err(NULL, STRAND_E_FORMAT, "%s: line %zu: %zu field%s, but column %zu (\"%s\") was selected",
                      t->path, t->recline, t->nf, t->nf == 1 ? "" : "s", t->col + 1, t->colname);
    *value = t->fbuf.s + t->foff[t->col];
    return 1;
}

void st_table_close(st_table *t)
{
    if (!t) return;
    if (t->fp) bgzf_close(t->fp);
    for (size_t i = 0; i < t->nheader; i++) free(t->header[i]);
    free(t->header);
    free(t->line.s);
    free(t->next.s);
    free(t->fbuf.s);
    free(t->foff);
    free(t->colname);
    free(t->path);
    free(t);
}

st_table_format st_table_get_format(const st_table *t) { return t->fmt; }
size_t st_table_line(const st_table *t) { return t->recline; }
size_t st_table_nfields(const st_table *t) { return t->nf; }
const char *st_table_field(const st_table *t, size_t i) { return i < t->nf ? t->fbuf.s + t->foff[i] : NULL; }
size_t st_table_column(const st_table *t) { return t->col; }
const char *st_table_column_name(const st_table *t) { return t->colname; }
size_t st_table_nheader(const st_table *t) { return t->nheader; }
const char *st_table_header(const st_table *t, size_t i) { return i < t->nheader ? t->header[i] : NULL; }
