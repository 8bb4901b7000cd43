/* Windows over a FASTA with region-based splits; policy in io/windows.h. */
#include "io/windows.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/error.h"
#include "core/tokenizer_dna.h"
#include "io/shards.h"

st_windows_params st_windows_default_params(void)
{
    st_windows_params p;
    memset(&p, 0, sizeof p);
    p.len = 1024;
    p.stride = 0; /* = len */
    p.max_n = 0.1;
    p.records_per_chunk = 1024;
    return p;
}

typedef struct ival { int contig; int64_t beg, end; } ival;

static int cmp_ival(const void *a, const void *b)
{
    const ival *x = a, *y = b;
    if (x->contig != y->contig) return x->contig < y->contig ? -1 : 1;
    if (x->beg != y->beg) return x->beg < y->beg ? -1 : 1;
    return (x->end > y->end) - (x->end < y->end);
}

/* Resolve region texts to sorted, merged intervals. */
static int resolve_list(st_fasta *fa, const char *const *texts, int n, ival **out, int *nout, int merge)
{
    *out = NULL;
    *nout = 0;
    if (n == 0) return 0;
    ival *v = malloc((size_t)n * sizeof *v);
    if (!v) return st_err(NULL, STRAND_E_NOMEM, "out of memory");
    for (int i = 0; i < n; i++) {
        st_region r;
        int rc;
        if (st_fasta_contig_id(fa, texts[i]) >= 0) {
            snprintf(r.name, sizeof r.name, "%s", texts[i]);
            r.beg = 0;
            r.end = INT64_MAX;
        } else if ((rc = st_region_parse(texts[i], &r)) != 0) {
            free(v);
            return rc;
        }
        if ((rc = st_fasta_resolve(fa, &r)) != 0) {
            free(v);
            return rc;
        }
        v[i] = (ival){st_fasta_contig_id(fa, r.name), r.beg, r.end};
    }
    qsort(v, (size_t)n, sizeof *v, cmp_ival);
    int k = 0;
    for (int i = 0; i < n; i++) {
        if (merge && k > 0 && v[k - 1].contig == v[i].contig && v[i].beg <= v[k - 1].end) {
            if (v[i].end > v[k - 1].end) v[k - 1].end = v[i].end;
        } else {
            v[k++] = v[i];
        }
    }
    *out = v;
    *nout = k;
    return 0;
}

int st_windows_plan(st_fasta *fa, const st_windows_params *p, st_piece **pieces, int *n_pieces)
{
    *pieces = NULL;
    *n_pieces = 0;
    ival *in = NULL, *lab = NULL;
    int nin = 0, nval = 0, ntest = 0, rc;
    ival *val = NULL, *test = NULL;
    if (p->regions && p->n_regions > 0) {
        rc = resolve_list(fa, p->regions, p->n_regions, &in, &nin, 1);
    } else {
        nin = st_fasta_ncontigs(fa);
        in = malloc((size_t)nin * sizeof *in);
        rc = in ? 0 : st_err(NULL, STRAND_E_NOMEM, "out of memory");
        for (int i = 0; rc == 0 && i < nin; i++) in[i] = (ival){i, 0, st_fasta_contig_len(fa, i)};
    }
    if (rc == 0) rc = resolve_list(fa, p->val_regions, p->n_val, &val, &nval, 1);
    if (rc == 0) rc = resolve_list(fa, p->test_regions, p->n_test, &test, &ntest, 1);
    /* one sorted list of labelled intervals; val and test must be disjoint */
    int nlab = nval + ntest;
    if (rc == 0 && nlab) {
        lab = malloc((size_t)nlab * sizeof *lab);
        if (!lab) rc = st_err(NULL, STRAND_E_NOMEM, "out of memory");
    }
    uint32_t *labsplit = NULL;
    if (rc == 0 && nlab) {
        for (int i = 0; i < nval; i++) lab[i] = val[i];
        for (int i = 0; i < ntest; i++) lab[nval + i] = test[i];
        /* encode the split in the sort: sort copies and look labels up after */
        qsort(lab, (size_t)nlab, sizeof *lab, cmp_ival);
        labsplit = malloc((size_t)nlab * sizeof *labsplit);
        if (!labsplit) rc = st_err(NULL, STRAND_E_NOMEM, "out of memory");
        for (int i = 0; rc == 0 && i < nlab; i++) {
            labsplit[i] = ST_SPLIT_TEST;
            for (int j = 0; j < nval; j++)
                if (!cmp_ival(&lab[i], &val[j])) labsplit[i] = ST_SPLIT_VAL;
            if (i > 0 && lab[i].contig == lab[i - 1].contig && lab[i].beg < lab[i - 1].end)
                rc = st_err(NULL, STRAND_E_ARG, "validation and test regions overlap on %s:%lld-%lld",
                            st_fasta_contig_name(fa, lab[i].contig), (long long)lab[i].beg + 1,
                            (long long)(lab[i].end < lab[i - 1].end ? lab[i].end : lab[i - 1].end));
        }
    }
    st_piece *out = NULL;
    int nout = 0, cap = 0;
    for (int i = 0; rc == 0 && i < nin; i++) {
        int64_t pos = in[i].beg;
        for (int j = 0; rc == 0 && j <= nlab && pos < in[i].end; j++) {
            int64_t cut = in[i].end;
            uint32_t split = ST_SPLIT_TRAIN;
            int64_t lb = 0, le = 0;
            if (j < nlab) {
                if (lab[j].contig != in[i].contig || lab[j].end <= pos || lab[j].beg >= in[i].end) continue;
                lb = lab[j].beg > pos ? lab[j].beg : pos;
                le = lab[j].end < in[i].end ? lab[j].end : in[i].end;
            }
            /* train piece before the labelled interval (or to the end when j == nlab) */
            int64_t tb = pos, te = j < nlab ? lb : cut;
            for (int pass = 0; pass < 2 && rc == 0; pass++) {
                int64_t b = pass == 0 ? tb : lb, e = pass == 0 ? te : le;
                if (pass == 1) {
                    if (j == nlab) break;
                    split = labsplit[j];
                }
                if (e <= b) continue;
                if (nout == cap) {
                    cap = cap ? 2 * cap : 16;
                    st_piece *np = realloc(out, (size_t)cap * sizeof *np);
                    if (!np) { rc = st_err(NULL, STRAND_E_NOMEM, "out of memory"); break; }
                    out = np;
                }
                out[nout++] = (st_piece){in[i].contig, b, e, split};
            }
            pos = j < nlab ? le : cut;
        }
    }
    free(in); free(val); free(test); free(lab); free(labsplit);
    if (rc) {
        free(out);
        return rc;
    }
    *pieces = out;
    *n_pieces = nout;
    return 0;
}

/* Windows of one piece, fetched in blocks of about 4 Mb so memory stays bounded. */
static int run_piece(st_fasta *fa, const st_windows_params *p, const st_piece *pc, uint8_t *tok,
                     st_window_fn fn, void *user, st_windows_stats *st)
{
    int64_t L = p->len, S = p->stride > 0 ? p->stride : p->len;
    if (pc->end - pc->beg < L) {
        st->bases_unused += (uint64_t)(pc->end - pc->beg);
        return 0;
    }
    int64_t nwin = (pc->end - pc->beg - L) / S + 1;
    int64_t last_end = pc->beg + (nwin - 1) * S + L;
    st->bases_unused += (uint64_t)(pc->end - last_end);
    int64_t per_block = (4 << 20) / S + 1;
    const char *cname = st_fasta_contig_name(fa, pc->contig);
    int64_t max_bad = (int64_t)(p->max_n * (double)L + 1e-9);
    for (int64_t w0 = 0; w0 < nwin; w0 += per_block) {
        int64_t w1 = w0 + per_block < nwin ? w0 + per_block : nwin;
        int64_t fb = pc->beg + w0 * S, fe = pc->beg + (w1 - 1) * S + L;
        char *seq = NULL;
        int64_t n = 0;
        int rc = st_fasta_fetch(fa, cname, fb, fe, p->strict ? ST_FASTA_STRICT : 0, &seq, &n);
        if (rc) return rc;
        for (int64_t w = w0; w < w1; w++) {
            const char *s = seq + (w - w0) * S;
            size_t unk = st_dna_encode_u8(s, (size_t)L, tok);
            int64_t bad = 0;
            for (int64_t i = 0; i < L; i++) bad += tok[i] == ST_DNA_N || tok[i] == ST_DNA_UNK;
            if (bad > max_bad) {
                st->dropped_n[pc->split]++;
                continue;
            }
            st->kept[pc->split]++;
            st->unk_tokens += unk;
            rc = fn(user, tok, pc->split, pc->contig, pc->beg + w * S);
            if (rc) {
                free(seq);
                return rc;
            }
        }
        free(seq);
    }
    return 0;
}

int st_windows_run(st_fasta *fa, const st_windows_params *p, st_window_fn fn, void *user,
                   st_windows_stats *stats)
{
    st_windows_stats local;
    st_windows_stats *st = stats ? stats : &local;
    memset(st, 0, sizeof *st);
    if (p->len < 1 || p->len > (1 << 24) || p->stride < 0 || !(p->max_n >= 0 && p->max_n <= 1))
        return st_err(NULL, STRAND_E_ARG, "bad window parameters: L=%lld stride=%lld max-n=%g (need L in "
                      "[1, 2^24], stride >= 1, max-n in [0,1])", (long long)p->len, (long long)p->stride, p->max_n);
    st_piece *pieces = NULL;
    int np = 0;
    int rc = st_windows_plan(fa, p, &pieces, &np);
    if (rc) return rc;
    uint8_t *tok = malloc((size_t)p->len);
    if (!tok) rc = st_err(NULL, STRAND_E_NOMEM, "out of memory");
    for (int i = 0; rc == 0 && i < np; i++) rc = run_piece(fa, p, &pieces[i], tok, fn, user, st);
    free(tok);
    free(pieces);
    return rc;
}

typedef struct shard_sink { st_shard_writer *w[3]; } shard_sink;

static int sink_fn(void *user, const uint8_t *tokens, uint32_t split, int contig, int64_t start)
{
    shard_sink *s = user;
    return st_shard_writer_add(s->w[split], tokens, contig, start);
}

/* Append printf text to a growing string. */
static int meta_add(char **m, size_t *len, size_t *cap, const char *fmt, ...) __attribute__((format(printf, 4, 5)));
#include <stdarg.h>
static int meta_add(char **m, size_t *len, size_t *cap, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (*len + (size_t)n + 1 > *cap) {
        size_t nc = (*cap + (size_t)n + 1) * 2;
        char *nm = realloc(*m, nc);
        if (!nm) return st_err(NULL, STRAND_E_NOMEM, "out of memory");
        *m = nm;
        *cap = nc;
    }
    va_start(ap, fmt);
    vsnprintf(*m + *len, *cap - *len, fmt, ap);
    va_end(ap);
    *len += (size_t)n;
    return 0;
}

int st_windows_write_shards(st_fasta *fa, const st_windows_params *p, const char *out_dir,
                            const char *command, st_windows_stats *stats)
{
    if (mkdir(out_dir, 0777) != 0 && errno != EEXIST)
        return st_err(NULL, STRAND_E_IO, "cannot create directory \"%s\": %s", out_dir, strerror(errno));
    if (p->label && (!*p->label || strpbrk(p->label, "\t\n\r")))
        return st_err(NULL, STRAND_E_ARG, "windows label \"%s\" must be non-empty without tabs or newlines", p->label);
    shard_sink sink = {{NULL, NULL, NULL}};
    int rc = 0;
    for (uint32_t s = 0; s < 3 && rc == 0; s++) {
        char path[4096];
        snprintf(path, sizeof path, "%s/%s.shard", out_dir, st_split_name(s));
        rc = st_shard_writer_open(&sink.w[s], path, ST_SHARD_KIND_DNA_WINDOWS, s, (uint32_t)p->len,
                                  st_dna_vocab_hash(), ST_DNA_VOCAB,
                                  p->records_per_chunk ? p->records_per_chunk : 1024);
    }
    st_windows_stats local;
    st_windows_stats *st = stats ? stats : &local;
    if (rc == 0) rc = st_windows_run(fa, p, sink_fn, &sink, st);
    char *meta = NULL;
    size_t ml = 0, mc = 0;
    if (rc == 0) {
        rc = meta_add(&meta, &ml, &mc, "source\t%s\nwindow_len\t%lld\nstride\t%lld\nmax_n\t%g\n", st_fasta_path(fa),
                      (long long)p->len, (long long)(p->stride > 0 ? p->stride : p->len), p->max_n);
        if (rc == 0 && command) rc = meta_add(&meta, &ml, &mc, "command\t%s\n", command);
        if (rc == 0 && p->label) rc = meta_add(&meta, &ml, &mc, "label\t%s\n", p->label);
        for (int i = 0; rc == 0 && i < p->n_regions; i++) rc = meta_add(&meta, &ml, &mc, "region\t%s\n", p->regions[i]);
        for (int i = 0; rc == 0 && i < p->n_val; i++) rc = meta_add(&meta, &ml, &mc, "split_region\tval\t%s\n", p->val_regions[i]);
        for (int i = 0; rc == 0 && i < p->n_test; i++) rc = meta_add(&meta, &ml, &mc, "split_region\ttest\t%s\n", p->test_regions[i]);
        for (int i = 0; rc == 0 && i < 3; i++)
            rc = meta_add(&meta, &ml, &mc, "windows\t%s\t%llu\tdropped_n\t%llu\n", st_split_name((uint32_t)i),
                          (unsigned long long)st->kept[i], (unsigned long long)st->dropped_n[i]);
        for (int i = 0; rc == 0 && i < st_fasta_ncontigs(fa); i++)
            rc = meta_add(&meta, &ml, &mc, "contig\t%d\t%s\t%lld\n", i, st_fasta_contig_name(fa, i),
                          (long long)st_fasta_contig_len(fa, i));
    }
    for (int s = 0; s < 3 && rc == 0; s++) rc = st_shard_writer_set_meta(sink.w[s], meta);
    free(meta);
    /* commit all three only when everything worked */
    for (int s = 0; s < 3; s++) {
        if (!sink.w[s]) continue;
        if (rc == 0) rc = st_shard_writer_close(sink.w[s]);
        else st_shard_writer_abort(sink.w[s]);
        sink.w[s] = NULL;
    }
    return rc;
}
