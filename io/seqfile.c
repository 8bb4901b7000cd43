/* Sequential FASTA (htslib kseq over BGZF, which also reads plain and gzip files) and SMILES table
 * records (see seqfile.h). */
#include "io/seqfile.h"

#include <errno.h>
#include <htslib/bgzf.h>
#include <htslib/kseq.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/error.h"
#include "io/fasta.h"
#include "io/table.h"

static int seq_bgzf_read(BGZF *fp, void *buf, int len)
{
    ssize_t r = bgzf_read(fp, buf, (size_t)len);
    return r < 0 ? -1 : (int)r;
}
KSEQ_INIT(BGZF *, seq_bgzf_read)

void seq_records_free(seq_records *r)
{
    if (!r) return;
    for (size_t i = 0; i < r->n; i++) free(r->name[i]), free(r->seq[i]);
    free(r->name), free(r->seq), free(r->len);
    memset(r, 0, sizeof *r);
}

/* Append (name, seq[0..len)) copying both. */
static int push(seq_records *r, size_t *cap, const char *name, const char *seq, size_t len)
{
    if (r->n == *cap) {
        size_t nc = *cap ? 2 * *cap : 64;
        char **nn = realloc(r->name, nc * sizeof *nn);
        if (nn) r->name = nn;
        char **ns = realloc(r->seq, nc * sizeof *ns);
        if (ns) r->seq = ns;
        size_t *nl = realloc(r->len, nc * sizeof *nl);
        if (nl) r->len = nl;
        if (!nn || !ns || !nl) return st_err(NULL, STRAND_E_NOMEM, "out of memory reading records");
        *cap = nc;
    }
    char *a = strdup(name), *b = malloc(len + 1);
    if (!a || !b) {
        free(a), free(b);
        return st_err(NULL, STRAND_E_NOMEM, "out of memory reading records");
    }
    memcpy(b, seq, len);
    b[len] = '\0';
    r->name[r->n] = a;
    r->seq[r->n] = b;
    r->len[r->n] = len;
    r->n++;
    return 0;
}

int seq_read_fasta(const char *path, seq_records *out)
{
    memset(out, 0, sizeof *out);
    BGZF *fp = bgzf_open(path, "r");
    if (!fp) return st_err(NULL, STRAND_E_IO, "cannot open \"%s\": %s", path, strerror(errno ? errno : EIO));
    int first = bgzf_peek(fp);
    if (first >= 0 && first != '>') {
        bgzf_close(fp);
        return st_err(NULL, STRAND_E_FORMAT, "%s: not a FASTA file (first character '%c', expected '>')", path,
                      first >= 32 && first < 127 ? first : '?');
    }
    kseq_t *ks = kseq_init(fp);
    size_t cap = 0;
    int rc = 0, r;
    if (!ks) {
        rc = st_err(NULL, STRAND_E_NOMEM, "out of memory");
        goto done;
    }
    while ((r = kseq_read(ks)) >= 0) {
        size_t rec = out->n + 1;
        const char *name = ks->name.l ? ks->name.s : "(no name)";
        if (ks->seq.l == 0) {
            rc = st_err(NULL, STRAND_E_FORMAT, "%s: record %zu (\"%s\"): empty sequence", path, rec, name);
            goto done;
        }
        int64_t bad = st_seq_first_non_acgtn(ks->seq.s, (int64_t)ks->seq.l);
        if (bad >= 0) {
            unsigned char ch = (unsigned char)ks->seq.s[bad];
            char shown[8];
            if (ch >= 33 && ch < 127)
                snprintf(shown, sizeof shown, "'%c'", ch);
            else
                snprintf(shown, sizeof shown, "0x%02x", ch);
            rc = st_err(NULL, STRAND_E_FORMAT,
                        "%s: record %zu (\"%s\"): character %s at position %lld is not a base (A, C, G, T or N)", path,
                        rec, name, shown, (long long)bad + 1);
            goto done;
        }
        if ((rc = push(out, &cap, name, ks->seq.s, ks->seq.l)) < 0) goto done;
    }
    if (r < -1) {
        rc = st_err(NULL, STRAND_E_FORMAT, "%s: record %zu: %s", path, out->n + 1,
                    r == -2 ? "truncated FASTQ quality" : "read error or truncated/corrupt compressed data");
        goto done;
    }
    if (out->n == 0) rc = st_err(NULL, STRAND_E_FORMAT, "%s: no FASTA records", path);
done:
    kseq_destroy(ks);
    bgzf_close(fp);
    if (rc < 0) seq_records_free(out);
    return rc;
}

int seq_read_table(const char *path, const char *column, seq_records *out)
{
    memset(out, 0, sizeof *out);
    st_table *t = NULL;
    int rc = st_table_open(&t, path, ST_TABLE_AUTO, column);
    if (rc < 0) return rc;
    size_t cap = 0;
    const char *v;
    while ((rc = st_table_next(t, &v)) == 1) {
        char name[64];
        snprintf(name, sizeof name, "line %zu", st_table_line(t));
        if (!v || !*v) {
            rc = st_err(NULL, STRAND_E_FORMAT, "%s: record %zu (line %zu): empty SMILES", path, out->n + 1,
                        st_table_line(t));
            break;
        }
        if ((rc = push(out, &cap, name, v, strlen(v))) < 0) break;
    }
    if (rc == 0 && out->n == 0) rc = st_err(NULL, STRAND_E_FORMAT, "%s: no records", path);
    st_table_close(t);
    if (rc < 0) seq_records_free(out);
    return rc;
}

static int ends_with(const char *s, const char *suf)
{
    size_t a = strlen(s), b = strlen(suf);
    return a >= b && strcasecmp(s + a - b, suf) == 0;
}

int seq_input_kind(const char *path)
{
    static const char *fa[] = {".fa", ".fasta", ".fna", ".ffn", ".fas", ".fa.gz", ".fasta.gz", ".fna.gz",
                               ".ffn.gz", ".fas.gz", ".fa.bgz", ".fasta.bgz"};
    static const char *tb[] = {".smi", ".txt", ".csv", ".tsv", ".tab", ".smi.gz", ".txt.gz", ".csv.gz", ".tsv.gz"};
    if (ends_with(path, ".npy")) return SEQ_INPUT_NPY;
    for (size_t i = 0; i < sizeof fa / sizeof *fa; i++)
        if (ends_with(path, fa[i])) return SEQ_INPUT_FASTA;
    for (size_t i = 0; i < sizeof tb / sizeof *tb; i++)
        if (ends_with(path, tb[i])) return SEQ_INPUT_TABLE;
    BGZF *fp = bgzf_open(path, "r");
    if (!fp) return SEQ_INPUT_UNKNOWN;
    unsigned char b[6] = {0};
    ssize_t n = bgzf_read(fp, b, sizeof b);
    bgzf_close(fp);
    if (n >= 6 && memcmp(b, "\x93NUMPY", 6) == 0) return SEQ_INPUT_NPY;
    if (n >= 1 && b[0] == '>') return SEQ_INPUT_FASTA;
    return SEQ_INPUT_UNKNOWN;
}
