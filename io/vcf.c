/* VCF/BCF reading, writing, header editing and REF checks; see io/vcf.h. */
#include "io/intervals.h"
#include "io/vcf.h"

#include <ctype.h>
#include <errno.h>
#include <htslib/bgzf.h>
#include <htslib/hfile.h>
#include <htslib/hts.h>
#include <htslib/kseq.h>
#include <htslib/kstring.h>
#include <htslib/tbx.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>

#include "core/atomic_file.h"
#include "core/log.h"
#include "core/error.h"
#include "strand.h"


typedef st_interval qreg; /* header tid, 0-based half-open (io/intervals.h) */

struct st_vcf_reader {
    char *path;
    htsFile *fp;
    bcf_hdr_t *hdr;
    bcf1_t *rec;
    int is_bcf;
    int64_t nrec, header_lines;
    int nhrec_file; /* header lines as read from the file (before learning or editing) */
    /* region iteration */
    qreg *regs;
    int nregs, cur;
    hts_idx_t *idx; /* BCF */
    tbx_t *tbx;     /* bgzip VCF */
    hts_itr_t *itr;
    kstring_t line;
    int64_t prev_end; int prev_tid; /* for skipping records already returned by the previous region */
    const char *why; /* reason of the last text-line rejection */
    int seekable;    /* a regular file (a learning pass can read it twice) */
    char **regions_txt; int n_regions_txt; /* for the learning pass */
    st_region *tgt; int ntgt;              /* targets: records whose POS falls inside */
};

/* Read a text VCF header as htslib's vcf_hdr_read does (the "##" lines up to and including
 * "#CHROM"; contigs only in a tabix index are added), counting the lines so that record errors
 * can name their line, also for a stream that cannot be read twice. */
static bcf_hdr_t *read_text_header(st_vcf_reader *r, int *err_line)
{
    bcf_hdr_t *h = bcf_hdr_init("r");
    kstring_t txt = {0, 0, NULL};
    int got_chrom = 0, ret;
    *err_line = 0;
    if (!h) return NULL;
    while ((ret = hts_getline(r->fp, KS_SEP_LINE, &r->line)) >= 0) {
        r->header_lines++;
        if (r->line.l == 0) continue;
        if (r->line.s[0] != '#') {
            *err_line = (int)r->header_lines;
            break;
        }
        kputsn(r->line.s, r->line.l, &txt);
        kputc('\n', &txt);
        if (r->line.s[1] != '#') {
            got_chrom = 1;
            break;
        }
    }
    if (!got_chrom || !txt.s || bcf_hdr_parse(h, txt.s) < 0) {
        if (!got_chrom && !*err_line) *err_line = -1;
        free(txt.s);
        bcf_hdr_destroy(h);
        return NULL;
    }
    free(txt.s);
    if (r->seekable) {
        tbx_t *idx = tbx_index_load3(r->path, NULL, HTS_IDX_SILENT_FAIL);
        if (idx) {
            int n = 0, add = 0;
            const char **names = tbx_seqnames(idx, &n);
            for (int i = 0; names && i < n; i++)
                if (!bcf_hdr_get_hrec(h, BCF_HL_CTG, "ID", names[i], NULL))
                    add |= bcf_hdr_printf(h, "##contig=<ID=%s>", names[i]) == 0;
            free(names);
            tbx_destroy(idx);
            if (add && bcf_hdr_sync(h) < 0) {
                bcf_hdr_destroy(h);
                return NULL;
            }
        }
    }
    return h;
}

void st_vcf_close(st_vcf_reader *r)
{
    if (!r) return;
    if (r->itr) hts_itr_destroy(r->itr);
    if (r->idx) hts_idx_destroy(r->idx);
    if (r->tbx) tbx_destroy(r->tbx);
    if (r->rec) bcf_destroy(r->rec);
    if (r->hdr) bcf_hdr_destroy(r->hdr);
    if (r->fp) hts_close(r->fp);
    free(r->line.s);
    free(r->regs);
    free(r->path);
    for (int i = 0; i < r->n_regions_txt; i++) free(r->regions_txt[i]);
    free(r->regions_txt);
    free(r->tgt);
    free(r);
}

int st_vcf_open(st_vcf_reader **out, const char *path, const char *const *regions, int n_regions)
{
    *out = NULL;
    struct stat st;
    int is_stdin = !strcmp(path, "-");
    if (!is_stdin && stat(path, &st) != 0)
        return st_err(NULL, STRAND_E_IO, "cannot open \"%s\": %s", path, strerror(errno));
    if (!is_stdin && S_ISDIR(st.st_mode)) return st_err(NULL, STRAND_E_IO, "cannot read \"%s\": it is a directory", path);
    if (!is_stdin && S_ISREG(st.st_mode) && st.st_size == 0) return st_err(NULL, STRAND_E_FORMAT, "%s: empty file", path);
    if (is_stdin && n_regions > 0)
        return st_err(NULL, STRAND_E_ARG, "-: region queries need an indexed file, not standard input (use targets, -t/-T)");
    st_vcf_reader *r = calloc(1, sizeof *r);
    if (!r || !(r->path = strdup(path))) {
        free(r);
        return st_err(NULL, STRAND_E_NOMEM, "out of memory");
    }
    int rc = 0;
    r->seekable = !is_stdin && S_ISREG(st.st_mode);
    r->fp = hts_open(path, "r");
    if (!r->fp) {
        rc = st_err(NULL, errno ? STRAND_E_IO : STRAND_E_FORMAT, "cannot open \"%s\": %s", path,
                    errno ? strerror(errno) : "not a readable VCF/BCF stream");
        goto fail;
    }
    if (is_stdin) {
        free(r->path);
        if (!(r->path = strdup("(standard input)"))) { rc = st_err(NULL, STRAND_E_NOMEM, "out of memory"); goto fail; }
    }
    const htsFormat *fmt = hts_get_format(r->fp);
    if (fmt->format != vcf && fmt->format != bcf) {
        char *d = hts_format_description(fmt);
        rc = st_err(NULL, STRAND_E_FORMAT, "%s: not a VCF or BCF file (%s)", path, d ? d : "unknown format");
        free(d);
        goto fail;
    }
    r->is_bcf = fmt->format == bcf;
    if (fmt->compression == bgzf && bgzf_check_EOF(hts_get_bgzfp(r->fp)) == 0) {
        rc = st_err(NULL, STRAND_E_FORMAT, "%s: truncated BGZF file (no end-of-file block)", path);
        goto fail;
    }
    if (fmt->compression == gzip && n_regions > 0) {
        rc = st_err(NULL, STRAND_E_FORMAT, "%s: compressed with plain gzip; region queries need `bgzip` and an index", path);
        goto fail;
    }
    if (r->is_bcf) {
        r->hdr = bcf_hdr_read(r->fp);
        if (!r->hdr) {
            rc = st_err(NULL, STRAND_E_FORMAT, "%s: cannot read the BCF header (malformed or truncated)", r->path);
            goto fail;
        }
    } else {
        int el = 0;
        r->hdr = read_text_header(r, &el);
        if (!r->hdr) {
            if (el > 0)
                rc = st_err(NULL, STRAND_E_FORMAT, "%s: line %d: a record before the \"#CHROM\" header line (the header "
                            "must end with #CHROM POS ID REF ALT QUAL FILTER INFO ...)", r->path, el);
            else if (el < 0)
                rc = st_err(NULL, STRAND_E_FORMAT, "%s: the header has no \"#CHROM\" line (file ends after %lld header lines)",
                            r->path, (long long)r->header_lines);
            else
                rc = st_err(NULL, STRAND_E_FORMAT, "%s: cannot parse the VCF header (malformed meta-information line "
                            "or #CHROM line)", r->path);
            goto fail;
        }
    }
    r->nhrec_file = r->hdr->nhrec;
    r->rec = bcf_init();
    if (!r->rec) { rc = st_err(NULL, STRAND_E_NOMEM, "out of memory"); goto fail; }
    r->prev_tid = -1;
    if (n_regions > 0) {
        r->regions_txt = calloc((size_t)n_regions, sizeof *r->regions_txt);
        if (!r->regions_txt) { rc = st_err(NULL, STRAND_E_NOMEM, "out of memory"); goto fail; }
        for (; r->n_regions_txt < n_regions; r->n_regions_txt++)
            if (!(r->regions_txt[r->n_regions_txt] = strdup(regions[r->n_regions_txt]))) {
                rc = st_err(NULL, STRAND_E_NOMEM, "out of memory");
                goto fail;
            }
        if (fmt->compression != bgzf) {
            rc = st_err(NULL, STRAND_E_NOTFOUND, "%s: not BGZF-compressed, so no index for region queries "
                        "(`bgzip` it and run `bcftools index`)", path);
            goto fail;
        }
        if (r->is_bcf) r->idx = bcf_index_load2(path, NULL);
        else r->tbx = tbx_index_load2(path, NULL);
        if (!r->idx && !r->tbx) {
            rc = st_err(NULL, STRAND_E_NOTFOUND, "%s: no index (.tbi/.csi) for region queries; run `bcftools index`", path);
            goto fail;
        }
        r->regs = malloc((size_t)n_regions * sizeof *r->regs);
        if (!r->regs) { rc = st_err(NULL, STRAND_E_NOMEM, "out of memory"); goto fail; }
        for (int i = 0; i < n_regions; i++) {
            st_region g;
            int tid = bcf_hdr_name2id(r->hdr, regions[i]);
            if (tid >= 0) {
                g.beg = 0;
                g.end = INT64_MAX;
            } else {
                if ((rc = st_region_parse(regions[i], &g)) != 0) { st_err_prefix("%s", path); goto fail; }
                tid = bcf_hdr_name2id(r->hdr, g.name);
                /* bcftools: "chr:POS" is that one position (samtools: to the end) */
                const char *colon = strrchr(regions[i], ':');
                if (colon && !strchr(colon, '-') && g.end == INT64_MAX) g.end = g.beg + 1;
            }
            if (tid < 0) {
                rc = st_err(NULL, STRAND_E_NOTFOUND, "%s: region \"%s\": unknown contig \"%s\" (not in the header)",
                            path, regions[i], g.name);
                goto fail;
            }
            r->regs[i] = (qreg){tid, g.beg, g.end == INT64_MAX ? HTS_POS_MAX : g.end};
        }
        r->nregs = st_intervals_sort_merge(r->regs, n_regions);
        r->cur = -1;
    }
    *out = r;
    return 0;
fail:
    st_vcf_close(r);
    return rc;
}

bcf_hdr_t *st_vcf_header(st_vcf_reader *r) { return r->hdr; }
const char *st_vcf_path(const st_vcf_reader *r) { return r->path; }
int64_t st_vcf_record_number(const st_vcf_reader *r) { return r->nrec; }
int64_t st_vcf_line_number(const st_vcf_reader *r)
{
    return r->is_bcf || r->nregs ? 0 : r->header_lines + r->nrec;
}

static int record_error(st_vcf_reader *r, const char *what)
{
    if (r->nregs) {
        return st_err(NULL, STRAND_E_FORMAT, "%s: record %lld in region %d: %s", r->path, (long long)r->nrec,
                      r->cur + 1, what);
    }
    if (r->is_bcf)
        return st_err(NULL, STRAND_E_FORMAT, "%s: record %lld: %s", r->path, (long long)r->nrec, what);
    return st_err(NULL, STRAND_E_FORMAT, "%s: line %lld (record %lld): %s", r->path,
                  (long long)(r->header_lines + r->nrec), (long long)r->nrec, what);
}

static const char *errcode_text(int e)
{
    if (e & BCF_ERR_CTG_UNDEF) return "contig not defined in the header";
    if (e & BCF_ERR_TAG_UNDEF) return "INFO/FORMAT tag not defined in the header";
    if (e & BCF_ERR_NCOLS) return "wrong number of columns";
    if (e & BCF_ERR_LIMITS) return "value outside htslib limits";
    if (e & BCF_ERR_CHAR) return "invalid character";
    if (e & BCF_ERR_CTG_INVALID) return "invalid contig name";
    if (e & BCF_ERR_TAG_INVALID) return "invalid tag";
    return "malformed record";
}

/* Checks htslib lets through silently in text VCF (bcftools would write a corrupted record):
 * column count, POS a non-negative integer, no empty ALT allele. NULL when fine. */
static const char *check_text_line(const st_vcf_reader *r, const kstring_t *ks)
{
    if (!ks->s || ks->l == 0) return NULL;
    if (memchr(ks->s, '\0', ks->l)) return "NUL byte inside the line";
    int ncol = 1, nsmpl = bcf_hdr_nsamples(r->hdr);
    const char *col[9] = {ks->s};
    for (size_t i = 0; i < ks->l; i++)
        if (ks->s[i] == '\t') {
            if (ncol < 9) col[ncol] = ks->s + i + 1;
            ncol++;
        }
    if (ncol < 8) return "fewer than 8 tab-separated columns";
    if (nsmpl > 0 && ncol != 9 + nsmpl) return "number of columns does not match the number of samples";
    const char *p = col[1];
    if (*p == '\t') return "empty POS";
    for (; *p != '\t'; p++)
        if (*p < '0' || *p > '9') return "POS is not a non-negative integer";
    const char *a = col[4];
    if (*a == ',' || *a == '\t') return "empty ALT allele";
    for (; *a != '\t' && *a; a++)
        if (*a == ',' && (a[1] == ',' || a[1] == '\t' || a[1] == '\0')) return "empty ALT allele";
    if (ncol > 9) { /* a FORMAT key twice: htslib would write a record nothing can read back */
        const char *f = col[8], *e = strchr(f, '\t');
        size_t n = e ? (size_t)(e - f) : strlen(f);
        for (size_t i = 0; i < n;) {
            size_t j = i;
            while (j < n && f[j] != ':') j++;
            for (size_t k = j + 1; k < n;) {
                size_t l = k;
                while (l < n && f[l] != ':') l++;
                if (l - k == j - i && !memcmp(f + i, f + k, j - i)) return "a FORMAT key appears twice in the FORMAT column";
                k = l + 1;
            }
            i = j + 1;
        }
    }
    return NULL;
}

/* One record from the current source; 1, 0 at end, < 0 on error. */
static int read_one(st_vcf_reader *r)
{
    int ret;
    if (!r->nregs && !r->is_bcf) { /* text: validate the raw line before htslib parses it in place */
        ret = hts_getline(r->fp, KS_SEP_LINE, &r->line);
        if (ret == -1) return 0;
        if (ret < 0) return -3;
        if ((r->why = check_text_line(r, &r->line)) != NULL) return -2;
        return vcf_parse1(&r->line, r->hdr, r->rec) == 0 ? 1 : -2;
    }
    if (!r->nregs) {
        ret = bcf_read(r->fp, r->hdr, r->rec);
        if (ret == -1) {
            /* -1 is end of file, but htslib also returns -1 for some parse errors: tell them apart */
            if (r->rec->errcode & ~(BCF_ERR_CTG_UNDEF | BCF_ERR_TAG_UNDEF)) return -2;
            return 0;
        }
        return ret == 0 ? 1 : -2;
    }
    for (;;) {
        if (!r->itr) {
            if (++r->cur >= r->nregs) return 0;
            qreg *q = &r->regs[r->cur];
            if (r->is_bcf) {
                r->itr = bcf_itr_queryi(r->idx, q->tid, q->beg, q->end);
            } else {
                int ttid = tbx_name2id(r->tbx, bcf_hdr_id2name(r->hdr, q->tid));
                if (ttid < 0) continue; /* no records on this contig */
                r->itr = tbx_itr_queryi(r->tbx, ttid, q->beg, q->end);
            }
            if (!r->itr) continue;
        }
        if (r->is_bcf) {
            ret = bcf_itr_next(r->fp, r->itr, r->rec);
        } else {
            ret = tbx_itr_next(r->fp, r->tbx, r->itr, &r->line);
            if (ret >= 0 && (r->why = check_text_line(r, &r->line)) != NULL) return -2;
            if (ret >= 0) ret = vcf_parse1(&r->line, r->hdr, r->rec) == 0 ? 0 : -2;
        }
        if (ret == -1) {
            hts_itr_destroy(r->itr);
            r->itr = NULL;
            r->prev_tid = r->regs[r->cur].tid;
            r->prev_end = r->regs[r->cur].end;
            continue;
        }
        if (ret < -1) return -2;
        /* returned already by the previous region on this contig */
        if (r->rec->rid == r->prev_tid && r->rec->pos < r->prev_end) continue;
        return 1;
    }
}

/* 1 when the record's POS lies in a target (bcftools -t: records starting inside). */
static int in_targets(const st_vcf_reader *r, const bcf1_t *v)
{
    const char *chrom = bcf_hdr_id2name(r->hdr, v->rid);
    /* targets are sorted by (name, beg): binary search for the first of this contig */
    int lo = 0, hi = r->ntgt;
    while (lo < hi) {
        int mid = (lo + hi) / 2;
        if (strcmp(r->tgt[mid].name, chrom) < 0) lo = mid + 1;
        else hi = mid;
    }
    for (int i = lo; i < r->ntgt && !strcmp(r->tgt[i].name, chrom); i++) {
        if (r->tgt[i].beg > v->pos) break;
        if (v->pos < r->tgt[i].end) return 1;
    }
    return 0;
}

static int tgt_cmp(const void *a, const void *b)
{
    const st_region *x = a, *y = b;
    int c = strcmp(x->name, y->name);
    return c ? c : (x->beg > y->beg) - (x->beg < y->beg);
}

int st_vcf_set_targets(st_vcf_reader *r, const st_region *t, int n)
{
    free(r->tgt);
    r->tgt = NULL;
    r->ntgt = 0;
    if (n <= 0) return 0;
    if (!(r->tgt = malloc((size_t)n * sizeof *r->tgt))) return st_err(NULL, STRAND_E_NOMEM, "out of memory");
    memcpy(r->tgt, t, (size_t)n * sizeof *t);
    qsort(r->tgt, (size_t)n, sizeof *r->tgt, tgt_cmp);
    r->ntgt = n;
    return 0;
}

static int next_any(st_vcf_reader *r, bcf1_t **rec)
{
    *rec = NULL;
    r->rec->errcode = 0;
    r->why = NULL;
    int ret = read_one(r);
    if (ret == 0) return 0;
    r->nrec++;
    if (ret < 0) {
        if (r->why) return record_error(r, r->why);
        if (ret == -3) return record_error(r, "read error (truncated or corrupt compressed data)");
        return record_error(r, errcode_text(r->rec->errcode));
    }
    /* undefined contigs and tags are accepted with htslib's warning and declared in the header
     * (htslib adds a line for each), as bcftools does */
    int ec = r->rec->errcode & ~(BCF_ERR_CTG_UNDEF | BCF_ERR_TAG_UNDEF);
    if (ec) return record_error(r, errcode_text(ec));
    r->rec->errcode = 0;
    if (bcf_unpack(r->rec, BCF_UN_INFO) < 0) return record_error(r, "cannot unpack the record");
    if (r->rec->n_allele < 1 || !r->rec->d.allele || !r->rec->d.allele[0]) return record_error(r, "no REF allele");
    if (!bcf_hdr_id2name(r->hdr, r->rec->rid)) return record_error(r, "contig id not in the header");
    *rec = r->rec;
    return 1;
}

int st_vcf_next(st_vcf_reader *r, bcf1_t **rec)
{
    for (;;) {
        int ret = next_any(r, rec);
        if (ret <= 0 || !r->ntgt || in_targets(r, *rec)) return ret;
    }
}

/* One header line as a user reads it: "contig 22", "INFO/DP", "FORMAT/GQ", "FILTER/q10". */
static void hrec_name(const bcf_hrec_t *h, kstring_t *s)
{
    const char *id = NULL;
    for (int i = 0; i < h->nkeys; i++)
        if (!strcmp(h->keys[i], "ID")) id = h->vals[i];
    if (h->type == BCF_HL_CTG) ksprintf(s, "contig %s", id ? id : "?");
    else ksprintf(s, "%s/%s", h->key, id ? id : "?");
}

int st_vcf_learn(st_vcf_reader *r, int *n_learned)
{
    if (n_learned) *n_learned = 0;
    if (!r->seekable || r->is_bcf) return 0;
    if (r->nrec) return st_err(NULL, STRAND_E_INTERNAL, "st_vcf_learn: called after records were read");
    st_vcf_reader *q = NULL;
    int lvl = hts_get_log_level();
    hts_set_log_level(HTS_LOG_ERROR); /* the learning pass is silent; one warning below */
    int rc = st_vcf_open(&q, r->path, (const char *const *)r->regions_txt, r->n_regions_txt);
    bcf1_t *v;
    int ret = 0;
    while (rc == 0 && (ret = next_any(q, &v)) > 0) {}
    hts_set_log_level(lvl);
    if (rc == 0 && ret < 0) rc = ret;
    if (rc < 0) {
        st_vcf_close(q);
        return rc;
    }
    bcf_hdr_t *h = st_vcf_header(q);
    int n0 = q->nhrec_file, n = 0;
    kstring_t names = {0, 0, NULL};
    for (int i = n0; i < h->nhrec; i++) {
        bcf_hrec_t *d = bcf_hrec_dup(h->hrec[i]);
        if (!d || bcf_hdr_add_hrec(r->hdr, d) < 0) {
            st_vcf_close(q);
            free(names.s);
            return st_err(NULL, STRAND_E_NOMEM, "out of memory");
        }
        if (n < 12) {
            if (n) kputs(", ", &names);
            hrec_name(h->hrec[i], &names);
        }
        n++;
    }
    st_vcf_close(q);
    if (n) {
        if (bcf_hdr_sync(r->hdr) < 0) {
            free(names.s);
            return st_err(NULL, STRAND_E_INTERNAL, "%s: cannot add the undeclared header lines", r->path);
        }
        st_warn("%s: %d contig%s/tag%s used by the records but not declared in the header (%s%s): declared in the "
                "output as htslib reads them (INFO/FORMAT Number=1,Type=String or Flag; as bcftools view)",
                r->path, n, n == 1 ? "" : "s", n == 1 ? "" : "s", names.s, n > 12 ? ", ..." : "");
    }
    free(names.s);
    if (n_learned) *n_learned = n;
    return 0;
}

int st_vcf_is_pass(const bcf_hdr_t *h, bcf1_t *v)
{
    bcf_unpack(v, BCF_UN_FLT);
    if (v->d.n_flt == 0) return 1;
    return v->d.n_flt == 1 && !strcmp(bcf_hdr_int2id(h, BCF_DT_ID, v->d.flt[0]), "PASS");
}

void st_vcf_filters(const bcf_hdr_t *h, bcf1_t *v, char *buf, size_t cap)
{
    bcf_unpack(v, BCF_UN_FLT);
    if (cap == 0) return;
    buf[0] = '\0';
    if (v->d.n_flt == 0) {
        snprintf(buf, cap, ".");
        return;
    }
    size_t k = 0;
    for (int i = 0; i < v->d.n_flt && k < cap; i++)
        k += (size_t)snprintf(buf + k, cap - k, "%s%s", i ? ";" : "", bcf_hdr_int2id(h, BCF_DT_ID, v->d.flt[i]));
}

/* ---- header editing ---- */

int st_vcf_hdr_add_info(bcf_hdr_t *h, const char *id, const char *number, const char *type, const char *desc)
{
    for (const char *p = id; *p; p++)
        if (!isalnum((unsigned char)*p) && *p != '_' && *p != '.')
            return st_err(NULL, STRAND_E_ARG, "INFO ID \"%s\": only letters, digits, '_' and '.' allowed", id);
    for (const char *p = desc; *p; p++)
        if (*p == '"' || *p == '\n')
            return st_err(NULL, STRAND_E_ARG, "INFO %s: description must not contain quotes or newlines", id);
    bcf_hdr_remove(h, BCF_HL_INFO, id);
    kstring_t s = {0, 0, NULL};
    ksprintf(&s, "##INFO=<ID=%s,Number=%s,Type=%s,Description=\"%s\">", id, number, type, desc);
    int rc = bcf_hdr_append(h, s.s);
    free(s.s);
    if (rc != 0 || bcf_hdr_sync(h) != 0)
        return st_err(NULL, STRAND_E_ARG, "cannot add INFO %s (Number=%s, Type=%s): rejected by htslib", id, number, type);
    return 0;
}

int st_vcf_hdr_add_provenance(bcf_hdr_t *h, const char *cmd, int argc, char *const *argv)
{
    kstring_t s = {0, 0, NULL};
    ksprintf(&s, "##strand_%sVersion=%s+htslib-%s", cmd, strand_version_string(), hts_version());
    int rc = bcf_hdr_append(h, s.s);
    s.l = 0;
    ksprintf(&s, "##strand_%sCommand=strand %s", cmd, cmd);
    for (int i = 1; i < argc; i++) {
        kputc(' ', &s);
        for (const char *p = argv[i]; *p; p++) kputc(*p == '\n' ? ' ' : *p, &s);
    }
    /* as bcftools: "; Date=Wed Dec  2 01:23:45 2026" */
    time_t now = time(NULL);
    char date[64];
    if (ctime_r(&now, date)) {
        date[strcspn(date, "\n")] = '\0';
        ksprintf(&s, "; Date=%s", date);
    }
    if (rc == 0) rc = bcf_hdr_append(h, s.s);
    free(s.s);
    if (rc != 0 || bcf_hdr_sync(h) != 0) return st_err(NULL, STRAND_E_INTERNAL, "cannot add provenance header lines");
    return 0;
}

/* ---- writing ---- */

struct st_vcf_writer {
    st_atomic_file af, ai;
    htsFile *fp;
    bcf_hdr_t *hdr;
    int own_hdr;      /* hdr is a copy (st_vcf_writer_open) or the reader's (…_open_shared) */
    int index, header_written, is_bcf, warned_late;
    int nhrec_written; /* header lines in the header as written */
    int64_t nrec;
    int prev_rid; int64_t prev_pos; /* for the sortedness an index needs */
    uint8_t *rid_done; int n_rid_done;
};

static const char *htsmode(const char *otype, char *buf)
{
    /* "v", "z", "z0".."z9", "b", "b0".."b9", "u" */
    if (!otype || !otype[0] || (otype[1] && (otype[1] < '0' || otype[1] > '9' || otype[2]))) return NULL;
    if (otype[1] && otype[0] != 'z' && otype[0] != 'b') return NULL;
    switch (otype[0]) {
    case 'v': return "w";
    case 'u': return "wbu";
    case 'z': snprintf(buf, 8, "wz%s", otype + 1); return buf;
    case 'b': snprintf(buf, 8, "wb%s", otype + 1); return buf;
    default: return NULL;
    }
}

static int writer_open(st_vcf_writer **out, const char *path, const char *otype, bcf_hdr_t *hdr, int own, int index)
{
    *out = NULL;
    char mb[8];
    const char *m = htsmode(otype, mb);
    if (!m) {
        if (own) bcf_hdr_destroy(hdr);
        return st_err(NULL, STRAND_E_ARG, "output type \"%s\": use v, z, z0-z9, b, b0-b9 or u", otype ? otype : "");
    }
    char mode = otype[0];
    const char *why = NULL;
    if (index && mode != 'z' && mode != 'b') why = "an index needs compressed output (-O z or -O b)";
    else if (index == ST_VCF_INDEX_TBI && mode != 'z') why = "a .tbi index needs bgzip VCF output (-O z); use .csi for BCF";
    else if (index && st_output_is_direct(path)) why = "an index needs an output file, not standard output, a device or a FIFO";
    if (why) {
        if (own) bcf_hdr_destroy(hdr);
        return st_err(NULL, STRAND_E_ARG, "%s: %s", path, why);
    }
    st_vcf_writer *w = calloc(1, sizeof *w);
    if (!w) {
        if (own) bcf_hdr_destroy(hdr);
        return st_err(NULL, STRAND_E_NOMEM, "out of memory");
    }
    w->af.fd = w->ai.fd = -1;
    w->hdr = hdr, w->own_hdr = own, w->index = index, w->is_bcf = mode == 'b' || mode == 'u';
    w->prev_rid = -1;
    if (!hdr) {
        st_vcf_writer_abort(w);
        return st_err(NULL, STRAND_E_NOMEM, "out of memory");
    }
    int rc = st_atomic_open(&w->af, path, ST_ATOMIC_FD);
    if (rc) {
        st_vcf_writer_abort(w);
        return rc;
    }
    if (index) {
        char ip[4096];
        snprintf(ip, sizeof ip, "%s.%s", path, index == ST_VCF_INDEX_TBI ? "tbi" : "csi");
        if ((rc = st_atomic_open(&w->ai, ip, ST_ATOMIC_PATH)) != 0) {
            st_vcf_writer_abort(w);
            return rc;
        }
    }
    hFILE *hf = hdopen(w->af.fd, "w");
    if (hf) {
        w->af.fd = -1; /* owned by hf now */
        w->fp = hts_hopen(hf, path, m);
        if (!w->fp) hclose_abruptly(hf);
    }
    if (!w->fp) {
        rc = st_err(NULL, STRAND_E_IO, "cannot write \"%s\": %s", path, strerror(errno));
        st_vcf_writer_abort(w);
        return rc;
    }
    *out = w;
    return 0;
}

int st_vcf_writer_open(st_vcf_writer **out, const char *path, char mode, const bcf_hdr_t *hdr, int index)
{
    char ot[2] = {mode, 0};
    return writer_open(out, path, ot, bcf_hdr_dup(hdr), 1, index);
}

int st_vcf_writer_open_shared(st_vcf_writer **out, const char *path, const char *otype, st_vcf_reader *r, int index)
{
    return writer_open(out, path, otype, r->hdr, 0, index);
}

bcf_hdr_t *st_vcf_writer_header(st_vcf_writer *w) { return w->hdr; }

static int write_header(st_vcf_writer *w)
{
    if (w->header_written) return 0;
    w->header_written = 1;
    if (bcf_hdr_write(w->fp, w->hdr) != 0)
        return st_err(NULL, STRAND_E_IO, "cannot write the header of \"%s\": %s", w->af.final_path, strerror(errno));
    w->nhrec_written = w->hdr->nhrec;
    if (w->index && bcf_idx_init(w->fp, w->hdr, w->index == ST_VCF_INDEX_TBI ? 0 : 14, w->ai.tmp_path) != 0)
        return st_err(NULL, STRAND_E_IO, "cannot start the index of \"%s\"", w->af.final_path);
    return 0;
}

/* Header lines learned from a stream after the header was written: BCF cannot refer to them;
 * VCF text can (bcftools reads it with a warning), so say so once. */
static int late_header_lines(st_vcf_writer *w, const bcf1_t *rec)
{
    if (w->hdr->nhrec <= w->nhrec_written) return 0;
    kstring_t s = {0, 0, NULL};
    for (int i = w->nhrec_written; i < w->hdr->nhrec && i < w->nhrec_written + 8; i++) {
        if (s.l) kputs(", ", &s);
        hrec_name(w->hdr->hrec[i], &s);
    }
    int rc = 0;
    if (w->is_bcf) {
        rc = st_err(NULL, STRAND_E_FORMAT, "%s: record %lld (%s:%lld) uses %s, not declared in the input header and "
                    "first seen after the BCF header was written (a stream cannot be read twice): declare it in the "
                    "input header, give the input as a file, or write VCF (-O v or -O z)", w->af.final_path,
                    (long long)w->nrec, bcf_hdr_id2name(w->hdr, rec->rid), (long long)rec->pos + 1, s.s);
    } else if (!w->warned_late) {
        w->warned_late = 1;
        st_warn("%s: %s first used at record %lld, not declared in the input header and seen after the output "
                "header was written (a stream cannot be read twice): left undeclared in the output, which bcftools "
                "reads with a warning", w->af.final_path, s.s, (long long)w->nrec);
    }
    w->nhrec_written = w->hdr->nhrec;
    free(s.s);
    return rc;
}

/* An index needs each contig in one block and positions ascending inside it. */
static int check_sorted(st_vcf_writer *w, const bcf1_t *rec)
{
    if (rec->rid == w->prev_rid) {
        if (rec->pos < w->prev_pos)
            return st_err(NULL, STRAND_E_FORMAT, "%s: record %lld (%s:%lld) comes after %s:%lld: an index (-W) needs "
                          "sorted input (bcftools sort), or drop -W", w->af.final_path, (long long)w->nrec,
                          bcf_hdr_id2name(w->hdr, rec->rid), (long long)rec->pos + 1, bcf_hdr_id2name(w->hdr, rec->rid),
                          (long long)w->prev_pos + 1);
    } else {
        if (rec->rid < w->n_rid_done && w->rid_done[rec->rid])
            return st_err(NULL, STRAND_E_FORMAT, "%s: record %lld (%s:%lld): contig %s appears again after other "
                          "contigs: an index (-W) needs each contig in one block (bcftools sort), or drop -W",
                          w->af.final_path, (long long)w->nrec, bcf_hdr_id2name(w->hdr, rec->rid),
                          (long long)rec->pos + 1, bcf_hdr_id2name(w->hdr, rec->rid));
        if (w->prev_rid >= 0) {
            if (w->prev_rid >= w->n_rid_done) {
                int n = w->prev_rid + 64;
                uint8_t *p = realloc(w->rid_done, (size_t)n);
                if (!p) return st_err(NULL, STRAND_E_NOMEM, "out of memory");
                memset(p + w->n_rid_done, 0, (size_t)(n - w->n_rid_done));
                w->rid_done = p, w->n_rid_done = n;
            }
            w->rid_done[w->prev_rid] = 1;
        }
        w->prev_rid = rec->rid;
    }
    w->prev_pos = rec->pos;
    return 0;
}

int st_vcf_write(st_vcf_writer *w, bcf1_t *rec)
{
    int rc = write_header(w);
    if (rc) return rc;
    w->nrec++;
    if ((rc = late_header_lines(w, rec)) != 0) return rc;
    if (w->index && (rc = check_sorted(w, rec)) != 0) return rc;
    if (rec->n_sample != bcf_hdr_nsamples(w->hdr))
        return st_err(NULL, STRAND_E_FORMAT, "%s: record %lld (%s:%lld) has %d samples, the header %d",
                      w->af.final_path, (long long)w->nrec, bcf_hdr_id2name(w->hdr, rec->rid), (long long)rec->pos + 1,
                      (int)rec->n_sample, bcf_hdr_nsamples(w->hdr));
    errno = 0;
    if (bcf_write(w->fp, w->hdr, rec) != 0) {
        int e = errno;
        return st_err(NULL, STRAND_E_IO, "%s: cannot write record %lld (%s:%lld): %s", w->af.final_path,
                      (long long)w->nrec, bcf_hdr_id2name(w->hdr, rec->rid), (long long)rec->pos + 1,
                      e ? strerror(e) : "htslib could not format it (see its message above)");
    }
    return 0;
}

int st_vcf_writer_flush(st_vcf_writer *w)
{
    int rc = write_header(w);
    if (rc) return rc;
    if (!w->af.direct) return 0;
    errno = 0;
    if (hts_flush(w->fp) != 0)
        return st_err(NULL, STRAND_E_IO, "cannot write \"%s\": %s", w->af.final_path, errno ? strerror(errno) : "write error");
    return 0;
}

static void free_writer(st_vcf_writer *w)
{
    if (w->own_hdr && w->hdr) bcf_hdr_destroy(w->hdr);
    free(w->rid_done);
    free(w);
}

/* Writing without -W over a file that had an index leaves that index stale: say so. */
static void warn_stale_index(const char *path)
{
    const char *ext[] = {"csi", "tbi"};
    for (int i = 0; i < 2; i++) {
        char ip[4096];
        struct stat st;
        snprintf(ip, sizeof ip, "%s.%s", path, ext[i]);
        if (stat(ip, &st) == 0)
            st_warn("%s: the index %s was not rewritten and no longer matches: remove it, or write a new one with -W",
                    path, ip);
    }
}

int st_vcf_writer_close(st_vcf_writer *w)
{
    int rc = write_header(w);
    if (rc == 0 && w->index && bcf_idx_save(w->fp) != 0)
        rc = st_err(NULL, STRAND_E_IO, "cannot write the index of \"%s\"", w->af.final_path);
    errno = 0;
    int c = hts_close(w->fp);
    w->fp = NULL;
    if (rc == 0 && c != 0)
        rc = st_err(NULL, STRAND_E_IO, "cannot write \"%s\": %s", w->af.final_path, errno ? strerror(errno) : "write error");
    int direct = w->af.direct;
    char *final = w->af.final_path ? strdup(w->af.final_path) : NULL;
    if (rc == 0) rc = st_atomic_commit(&w->af);
    if (rc == 0 && w->index) {
        char *ip = strdup(w->ai.target);
        rc = st_atomic_commit(&w->ai);
        /* the index must not look older than the data (htslib warns about that) */
        if (rc == 0 && ip) utimes(ip, NULL);
        free(ip);
    }
    if (rc == 0 && !w->index && !direct && final) warn_stale_index(final);
    free(final);
    if (rc) {
        st_vcf_writer_abort(w);
        return rc;
    }
    free_writer(w);
    return 0;
}

void st_vcf_writer_abort(st_vcf_writer *w)
{
    if (!w) return;
    if (w->fp) hts_close(w->fp);
    st_atomic_abort(&w->af);
    st_atomic_abort(&w->ai);
    free_writer(w);
}

int st_vcf_view(const char *in, const char *out, char mode, int index, const char *const *regions,
                int n_regions, const char *cmd_for_provenance, int argc, char *const *argv)
{
    st_vcf_reader *r = NULL;
    st_vcf_writer *w = NULL;
    const char *inputs[1] = {in};
    int rc = st_output_check(out, inputs, 1);
    if (rc) return rc;
    if ((rc = st_vcf_open(&r, in, regions, n_regions)) != 0) return rc;
    char ot[2] = {mode, 0};
    if ((rc = st_vcf_writer_open_shared(&w, out, ot, r, index)) != 0) {
        st_vcf_close(r);
        return rc;
    }
    if ((rc = st_vcf_learn(r, NULL)) == 0 && cmd_for_provenance)
        rc = st_vcf_hdr_add_provenance(st_vcf_writer_header(w), cmd_for_provenance, argc, argv);
    bcf1_t *v;
    int ret;
    while (rc == 0 && (ret = st_vcf_next(r, &v)) != 0) {
        if (ret < 0) rc = ret;
        else rc = st_vcf_write(w, v);
    }
    if (rc) st_vcf_writer_abort(w);
    else rc = st_vcf_writer_close(w);
    st_vcf_close(r); /* after the writer: it shares the reader's header */
    return rc;
}

/* ---- regions files (bcftools -R / -T) ---- */

int st_regions_file_read(const char *path, st_region **out, int *n_out)
{
    *out = NULL;
    *n_out = 0;
    size_t pl = strlen(path);
    int bed = pl >= 4 && !strcasecmp(path + pl - 4, ".bed");
    bed |= pl >= 7 && !strcasecmp(path + pl - 7, ".bed.gz");
    htsFile *fp = hts_open(path, "r");
    if (!fp) return st_err(NULL, STRAND_E_IO, "cannot open \"%s\": %s", path, strerror(errno));
    kstring_t s = {0, 0, NULL};
    st_region *v = NULL;
    int n = 0, cap = 0, rc = 0;
    long line = 0;
    while (hts_getline(fp, KS_SEP_LINE, &s) >= 0) {
        line++;
        if (s.l && s.s[s.l - 1] == '\r') s.s[--s.l] = '\0';
        if (s.l == 0 || s.s[0] == '#' || (bed && (!strncmp(s.s, "track", 5) || !strncmp(s.s, "browser", 7)))) continue;
        char *f[3] = {s.s, NULL, NULL}, *p = s.s;
        int nf = 1;
        for (; *p && nf < 3; p++)
            if (*p == '\t') *p = '\0', f[nf++] = p + 1;
        if (nf < 3) {
            char *t = strchr(f[nf - 1], '\t');
            if (t) *t = '\0';
        } else {
            char *t = strchr(f[2], '\t');
            if (t) *t = '\0';
        }
        st_region g;
        memset(&g, 0, sizeof g);
        if (strlen(f[0]) >= sizeof g.name || !f[0][0]) {
            rc = st_err(NULL, STRAND_E_FORMAT, "%s: line %ld: empty or over-long sequence name", path, line);
            break;
        }
        strcpy(g.name, f[0]);
        char *e1 = NULL, *e2 = NULL;
        long long a = f[1] ? strtoll(f[1], &e1, 10) : 0, b = f[2] ? strtoll(f[2], &e2, 10) : 0;
        if (!f[1] || *e1 || (f[2] && *e2) || e1 == f[1] || (f[2] && e2 == f[2])) {
            rc = st_err(NULL, STRAND_E_FORMAT, "%s: line %ld: expected CHROM<TAB>POS or CHROM<TAB>BEG<TAB>END%s", path,
                        line, bed ? " (BED: 0-based start, end)" : " (1-based, inclusive)");
            break;
        }
        if (!f[2]) b = a;
        if (bed) g.beg = a, g.end = b;
        else g.beg = a - 1, g.end = b;
        if (g.beg < 0 || g.end < g.beg || (!bed && a < 1)) {
            rc = st_err(NULL, STRAND_E_FORMAT, "%s: line %ld: bad interval %lld-%lld", path, line, a, b);
            break;
        }
        if (n == cap) {
            cap = cap ? 2 * cap : 64;
            st_region *nv = realloc(v, (size_t)cap * sizeof *v);
            if (!nv) { rc = st_err(NULL, STRAND_E_NOMEM, "out of memory"); break; }
            v = nv;
        }
        v[n++] = g;
    }
    free(s.s);
    hts_close(fp);
    if (rc) {
        free(v);
        return rc;
    }
    *out = v;
    *n_out = n;
    return 0;
}

/* ---- REF check ---- */

int st_vcf_check_ref(st_vcf_reader *r, st_fasta *fa, st_vcf_refcheck *rep)
{
    memset(rep, 0, sizeof *rep);
    bcf1_t *v;
    int ret;
    while ((ret = st_vcf_next(r, &v)) > 0) {
        const char *chrom = st_vcf_chrom(r->hdr, v), *ref = st_vcf_ref(v);
        int64_t n = (int64_t)strlen(ref);
        int cid = st_fasta_contig_id(fa, chrom);
        rep->checked++;
        char fasta_ref[64] = "";
        int bad = 0;
        if (cid < 0) {
            rep->missing_contig++;
            snprintf(fasta_ref, sizeof fasta_ref, "(contig not in FASTA)");
            bad = 1;
        } else if (v->pos + n > st_fasta_contig_len(fa, cid)) {
            snprintf(fasta_ref, sizeof fasta_ref, "(past the contig end, length %lld)",
                     (long long)st_fasta_contig_len(fa, cid));
            bad = 1;
            rep->mismatches++;
        } else {
            char *s = NULL;
            int64_t got;
            int rc = st_fasta_fetch(fa, chrom, v->pos, v->pos + n, ST_FASTA_UPPER, &s, &got);
            if (rc) return rc;
            for (int64_t i = 0; i < n && !bad; i++) bad = toupper((unsigned char)ref[i]) != s[i];
            if (bad) {
                rep->mismatches++;
                snprintf(fasta_ref, sizeof fasta_ref, "%.40s%s", s, n > 40 ? "..." : "");
            }
            free(s);
        }
        if (bad && rep->n_examples < 5)
            snprintf(rep->examples[rep->n_examples++], sizeof rep->examples[0], "%s:%lld REF=%.40s%s FASTA=%s",
                     chrom, (long long)v->pos + 1, ref, n > 40 ? "..." : "", fasta_ref);
    }
    return ret < 0 ? ret : 0;
}
