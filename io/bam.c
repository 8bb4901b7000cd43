/* SAM/BAM/CRAM reads over regions with filters; see io/bam.h. */
#include "io/intervals.h"
#include "io/bam.h"

#include <errno.h>
#include <htslib/bgzf.h>
#include <htslib/cram.h>
#include <htslib/hts.h>
#include <htslib/sam.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/error.h"
#include "io/fasta.h"

typedef st_interval breg; /* header tid, 0-based half-open (io/intervals.h) */

struct st_bam_reader {
    char *path;
    samFile *fp;
    sam_hdr_t *hdr;
    hts_idx_t *idx;
    hts_itr_t *itr;
    bam1_t *b;
    st_bam_params p;
    breg *regs;
    int nregs, cur, prev_tid;
    int64_t prev_end, nrec, filtered;
    char *seq;
    size_t seq_cap;
};

st_bam_params st_bam_default_params(void)
{
    st_bam_params p;
    memset(&p, 0, sizeof p);
    return p;
}

void st_bam_close(st_bam_reader *r)
{
    if (!r) return;
    if (r->itr) hts_itr_destroy(r->itr);
    if (r->idx) hts_idx_destroy(r->idx);
    if (r->b) bam_destroy1(r->b);
    if (r->hdr) sam_hdr_destroy(r->hdr);
    if (r->fp) sam_close(r->fp);
    free(r->regs);
    free(r->seq);
    free(r->path);
    free(r);
}

int st_bam_open(st_bam_reader **out, const char *path, const st_bam_params *p)
{
    *out = NULL;
    struct stat st;
    if (stat(path, &st) != 0) return st_err(NULL, STRAND_E_IO, "cannot open \"%s\": %s", path, strerror(errno));
    if (st.st_size == 0) return st_err(NULL, STRAND_E_FORMAT, "%s: empty file", path);
    st_bam_reader *r = calloc(1, sizeof *r);
    if (!r || !(r->path = strdup(path))) {
        free(r);
        return st_err(NULL, STRAND_E_NOMEM, "out of memory");
    }
    r->p = *p;
    r->prev_tid = -1;
    int rc = 0;
    r->fp = sam_open(path, "r");
    if (!r->fp) {
        rc = st_err(NULL, STRAND_E_IO, "cannot open \"%s\": %s", path, strerror(errno));
        goto fail;
    }
    const htsFormat *fmt = hts_get_format(r->fp);
    if (fmt->format != sam && fmt->format != bam && fmt->format != cram) {
        rc = st_err(NULL, STRAND_E_FORMAT, "%s: not a SAM, BAM or CRAM file", path);
        goto fail;
    }
    if (fmt->format == bam && bgzf_check_EOF(r->fp->fp.bgzf) == 0) {
        rc = st_err(NULL, STRAND_E_FORMAT, "%s: truncated BGZF file (no end-of-file block)", path);
        goto fail;
    }
    if (fmt->format == cram) {
        if (cram_check_EOF(r->fp->fp.cram) == 0) {
            rc = st_err(NULL, STRAND_E_FORMAT, "%s: truncated CRAM file (no end-of-file container)", path);
            goto fail;
        }
        if (!p->reference) {
            rc = st_err(NULL, STRAND_E_ARG, "%s: CRAM needs its reference FASTA (the one it was written with)", path);
            goto fail;
        }
        st_fasta *fa = NULL; /* validates the FASTA and builds its .fai when missing */
        if ((rc = st_fasta_open(&fa, p->reference, 0)) != 0) goto fail;
        st_fasta_close(fa);
        if (hts_set_fai_filename(r->fp, p->reference) != 0) {
            rc = st_err(NULL, STRAND_E_IO, "%s: cannot use reference \"%s\"", path, p->reference);
            goto fail;
        }
    }
    r->hdr = sam_hdr_read(r->fp);
    if (!r->hdr) {
        rc = st_err(NULL, STRAND_E_FORMAT, "%s: cannot read the header (malformed or truncated)", path);
        goto fail;
    }
    r->b = bam_init1();
    if (!r->b) { rc = st_err(NULL, STRAND_E_NOMEM, "out of memory"); goto fail; }
    if (p->n_regions > 0) {
        r->idx = sam_index_load(r->fp, path);
        if (!r->idx) {
            rc = st_err(NULL, STRAND_E_NOTFOUND, "%s: no index (.bai/.csi/.crai) for region queries; run `samtools index`", path);
            goto fail;
        }
        r->regs = malloc((size_t)p->n_regions * sizeof *r->regs);
        if (!r->regs) { rc = st_err(NULL, STRAND_E_NOMEM, "out of memory"); goto fail; }
        for (int i = 0; i < p->n_regions; i++) {
            st_region g;
            int tid = sam_hdr_name2tid(r->hdr, p->regions[i]);
            if (tid >= 0) {
                g.beg = 0;
                g.end = INT64_MAX;
            } else {
                if ((rc = st_region_parse(p->regions[i], &g)) != 0) { st_err_prefix("%s", path); goto fail; }
                tid = sam_hdr_name2tid(r->hdr, g.name);
            }
            if (tid < 0) {
                rc = st_err(NULL, STRAND_E_NOTFOUND, "%s: region \"%s\": unknown contig \"%s\" (not in the header)",
                            path, p->regions[i], g.name);
                goto fail;
            }
            r->regs[i] = (breg){tid, g.beg, g.end == INT64_MAX ? HTS_POS_MAX : g.end};
        }
        r->nregs = st_intervals_sort_merge(r->regs, p->n_regions);
        r->cur = -1;
    }
    *out = r;
    return 0;
fail:
    st_bam_close(r);
    return rc;
}

/* 0 ok / -1 end / < -1 error */
static int read_raw(st_bam_reader *r)
{
    if (!r->nregs) return sam_read1(r->fp, r->hdr, r->b);
    for (;;) {
        if (!r->itr) {
            if (++r->cur >= r->nregs) return -1;
            breg *q = &r->regs[r->cur];
            r->itr = sam_itr_queryi(r->idx, q->tid, q->beg, q->end);
            if (!r->itr) return -4;
        }
        int ret = sam_itr_next(r->fp, r->itr, r->b);
        if (ret >= 0) {
            /* a read overlapping two merged-apart regions: returned by the first one already */
            if (r->b->core.tid == r->prev_tid && r->b->core.pos < r->prev_end) continue;
            return 0;
        }
        if (ret < -1) return ret;
        hts_itr_destroy(r->itr);
        r->itr = NULL;
        r->prev_tid = r->regs[r->cur].tid;
        r->prev_end = r->regs[r->cur].end;
    }
}

int st_bam_next(st_bam_reader *r, st_read *rd)
{
    static const char comp[16] = "=TGKCYSBAWRDMHVN"; /* complement of seq_nt16_str */
    for (;;) {
        int ret = read_raw(r);
        if (ret == -1) return 0;
        r->nrec++;
        if (ret < -1)
            return st_err(NULL, STRAND_E_FORMAT, "%s: record %lld%s: %s", r->path, (long long)r->nrec,
                          r->nregs ? " (region query)" : "", ret == -4 ? "index query failed" :
                          "malformed or truncated record");
        const bam1_core_t *c = &r->b->core;
        if ((c->flag & r->p.require_flags) != r->p.require_flags || (c->flag & r->p.exclude_flags) ||
            c->qual < r->p.min_mapq) {
            r->filtered++;
            continue;
        }
        size_t n = (size_t)c->l_qseq;
        if (n + 1 > r->seq_cap) {
            char *ns = realloc(r->seq, n + 1);
            if (!ns) return st_err(NULL, STRAND_E_NOMEM, "out of memory");
            r->seq = ns;
            r->seq_cap = n + 1;
        }
        const uint8_t *s = bam_get_seq(r->b);
        int rev = (c->flag & BAM_FREVERSE) != 0;
        if (rev && (r->p.flags & ST_BAM_ORIGINAL_ORIENTATION)) {
            for (size_t i = 0; i < n; i++) r->seq[i] = comp[bam_seqi(s, n - 1 - i)];
        } else {
            for (size_t i = 0; i < n; i++) r->seq[i] = seq_nt16_str[bam_seqi(s, i)];
        }
        r->seq[n] = '\0';
        rd->name = bam_get_qname(r->b);
        rd->contig = c->tid >= 0 ? sam_hdr_tid2name(r->hdr, c->tid) : "*";
        rd->pos = c->pos;
        rd->end = c->pos >= 0 ? bam_endpos(r->b) : c->pos;
        rd->flag = c->flag;
        rd->mapq = c->qual;
        rd->strand = rev ? '-' : '+';
        rd->seq = r->seq;
        rd->len = (int64_t)n;
        return 1;
    }
}

int64_t st_bam_filtered(const st_bam_reader *r) { return r->filtered; }
