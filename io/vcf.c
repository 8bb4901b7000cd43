/* VCF/BCF reading, writing, header editing and REF checks; see io/vcf.h. */
#include "io/intervals.h"
#include "io/vcf.h"

#include <ctype.h>
#include <errno.h>
#include <htslib/bgzf.h>
#include <htslib/hts.h>
#include <htslib/kseq.h>
#include <htslib/kstring.h>
#include <htslib/tbx.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>

#include "core/atomic_file.h"
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
    /* region iteration */
    qreg *regs;
    int nregs, cur;
    hts_idx_t *idx; /* BCF */
    tbx_t *tbx;     /* bgzip VCF */
    hts_itr_t *itr;
    kstring_t line;
    int64_t prev_end; int prev_tid; /* for skipping records already returned by the previous region */
    const char *why; /* reason of the last text-line rejection */
};

/* Lines before the first record of a text VCF (header lines), counted from the file itself. */
static int64_t count_header_lines(const char *path)
{
    htsFile *fp = hts_open(path, "r");
    if (!fp) return 0;
    kstring_t s = {0, 0, NULL};
    int64_t n = 0;
    while (hts_getline(fp, KS_SEP_LINE, &s) >= 0 && s.l > 0 && s.s[0] == '#') n++;
    free(s.s);
    hts_close(fp);
    return n;
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
    free(r);
}

int st_vcf_open(st_vcf_reader **out, const char *path, const char *const *regions, int n_regions)
{
    *out = NULL;
    struct stat st;
    if (stat(path, &st) != 0) return st_err(NULL, STRAND_E_IO, "cannot open \"%s\": %s", path, strerror(errno));
    if (st.st_size == 0) return st_err(NULL, STRAND_E_FORMAT, "%s: empty file", path);
    st_vcf_reader *r = calloc(1, sizeof *r);
    if (!r || !(r->path = strdup(path))) {
        free(r);
        return st_err(NULL, STRAND_E_NOMEM, "out of memory");
    }
    int rc = 0;
    r->fp = hts_open(path, "r");
    if (!r->fp) {
        rc = st_err(NULL, STRAND_E_IO, "cannot open \"%s\": %s", path, strerror(errno));
        goto fail;
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
    r->hdr = bcf_hdr_read(r->fp);
    if (!r->hdr) {
        rc = st_err(NULL, STRAND_E_FORMAT, "%s: cannot read the VCF/BCF header (malformed or truncated)", path);
        goto fail;
    }
    r->rec = bcf_init();
    if (!r->rec) { rc = st_err(NULL, STRAND_E_NOMEM, "out of memory"); goto fail; }
    if (!r->is_bcf) r->header_lines = count_header_lines(path);
    r->prev_tid = -1;
    if (n_regions > 0) {
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
    const char *col[6] = {ks->s};
    for (size_t i = 0; i < ks->l; i++)
        if (ks->s[i] == '\t') {
            if (ncol < 6) col[ncol] = ks->s + i + 1;
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

int st_vcf_next(st_vcf_reader *r, bcf1_t **rec)
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
    /* undefined contigs and tags are accepted with htslib's warning, as bcftools does */
    int ec = r->rec->errcode & ~(BCF_ERR_CTG_UNDEF | BCF_ERR_TAG_UNDEF);
    if (ec) return record_error(r, errcode_text(ec));
    if (bcf_unpack(r->rec, BCF_UN_INFO) < 0) return record_error(r, "cannot unpack the record");
    if (r->rec->n_allele < 1 || !r->rec->d.allele || !r->rec->d.allele[0]) return record_error(r, "no REF allele");
    *rec = r->rec;
    return 1;
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
    int index, header_written;
    int64_t nrec;
};

int st_vcf_writer_open(st_vcf_writer **out, const char *path, char mode, const bcf_hdr_t *hdr, int index)
{
    *out = NULL;
    const char *m = mode == 'v' ? "w" : mode == 'z' ? "wz" : mode == 'b' ? "wb" : mode == 'u' ? "wbu" : NULL;
    if (!m) return st_err(NULL, STRAND_E_ARG, "output type '%c': use v, z, b or u", mode);
    if (index && mode != 'z' && mode != 'b')
        return st_err(NULL, STRAND_E_ARG, "%s: an index needs compressed output (-O z or -O b)", path);
    if (index == ST_VCF_INDEX_TBI && mode != 'z')
        return st_err(NULL, STRAND_E_ARG, "%s: a .tbi index needs bgzip VCF output (-O z); use .csi for BCF", path);
    st_vcf_writer *w = calloc(1, sizeof *w);
    if (!w) return st_err(NULL, STRAND_E_NOMEM, "out of memory");
    w->index = index;
    int rc = st_atomic_open(&w->af, path, 0);
    if (rc) { free(w); return rc; }
    if (index) {
        char ip[4096];
        snprintf(ip, sizeof ip, "%s.%s", path, index == ST_VCF_INDEX_TBI ? "tbi" : "csi");
        if ((rc = st_atomic_open(&w->ai, ip, 0)) != 0) {
            st_atomic_abort(&w->af);
            free(w);
            return rc;
        }
    }
    w->hdr = bcf_hdr_dup(hdr);
    w->fp = hts_open(w->af.tmp_path, m);
    if (!w->hdr || !w->fp) {
        rc = st_err(NULL, STRAND_E_IO, "cannot write \"%s\": %s", path, strerror(errno));
        st_vcf_writer_abort(w);
        return rc;
    }
    *out = w;
    return 0;
}

bcf_hdr_t *st_vcf_writer_header(st_vcf_writer *w) { return w->hdr; }

static int write_header(st_vcf_writer *w)
{
    if (w->header_written) return 0;
    w->header_written = 1;
    if (bcf_hdr_write(w->fp, w->hdr) != 0)
        return st_err(NULL, STRAND_E_IO, "cannot write the header of \"%s\": %s", w->af.final_path, strerror(errno));
    if (w->index && bcf_idx_init(w->fp, w->hdr, w->index == ST_VCF_INDEX_TBI ? 0 : 14, w->ai.tmp_path) != 0)
        return st_err(NULL, STRAND_E_IO, "cannot start the index of \"%s\"", w->af.final_path);
    return 0;
}

int st_vcf_write(st_vcf_writer *w, bcf1_t *rec)
{
    int rc = write_header(w);
    if (rc) return rc;
    w->nrec++;
    if (bcf_write(w->fp, w->hdr, rec) != 0)
        return st_err(NULL, STRAND_E_IO, "%s: cannot write record %lld (%s:%lld; unsorted input for an "
                      "index, or a disk error)", w->af.final_path, (long long)w->nrec,
                      bcf_hdr_id2name(w->hdr, rec->rid), (long long)rec->pos + 1);
    return 0;
}

int st_vcf_writer_close(st_vcf_writer *w)
{
    int rc = write_header(w);
    if (rc == 0 && w->index && bcf_idx_save(w->fp) != 0)
        rc = st_err(NULL, STRAND_E_IO, "cannot write the index of \"%s\"", w->af.final_path);
    int c = hts_close(w->fp);
    w->fp = NULL;
    if (rc == 0 && c != 0) rc = st_err(NULL, STRAND_E_IO, "cannot write \"%s\": %s", w->af.final_path, strerror(errno));
    if (rc == 0) rc = st_atomic_commit(&w->af);
    if (rc == 0 && w->index) {
        char *ip = strdup(w->ai.final_path);
        rc = st_atomic_commit(&w->ai);
        /* the index must not look older than the data (htslib warns about that) */
        if (rc == 0 && ip) utimes(ip, NULL);
        free(ip);
    }
    if (rc) {
        st_vcf_writer_abort(w);
        return rc;
    }
    bcf_hdr_destroy(w->hdr);
    free(w);
    return 0;
}

void st_vcf_writer_abort(st_vcf_writer *w)
{
    if (!w) return;
    if (w->fp) hts_close(w->fp);
    if (w->hdr) bcf_hdr_destroy(w->hdr);
    st_atomic_abort(&w->af);
    st_atomic_abort(&w->ai);
    free(w);
}

int st_vcf_view(const char *in, const char *out, char mode, int index, const char *const *regions,
                int n_regions, const char *cmd_for_provenance, int argc, char *const *argv)
{
    st_vcf_reader *r = NULL;
    st_vcf_writer *w = NULL;
    int rc = st_vcf_open(&r, in, regions, n_regions);
    if (rc) return rc;
    if ((rc = st_vcf_writer_open(&w, out, mode, st_vcf_header(r), index)) != 0) {
        st_vcf_close(r);
        return rc;
    }
    if (cmd_for_provenance) rc = st_vcf_hdr_add_provenance(st_vcf_writer_header(w), cmd_for_provenance, argc, argv);
    bcf1_t *v;
    int ret;
    while (rc == 0 && (ret = st_vcf_next(r, &v)) != 0) {
        if (ret < 0) rc = ret;
        else rc = st_vcf_write(w, v);
    }
    st_vcf_close(r);
    if (rc) {
        st_vcf_writer_abort(w);
        return rc;
    }
    return st_vcf_writer_close(w);
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
