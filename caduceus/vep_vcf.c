/* strand_vep_annotate_vcf: stream a VCF/BCF, score every ALT in batches, write STRAND_LLR and
 * STRAND_EMB (Number=A) with the header documenting them and provenance (docs/formats.md "VCF output"). Records, order
 * and existing fields pass through untouched; memory is one batch of records. */
#include <htslib/kstring.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "caduceus/vep.h"
#include "core/atomic_file.h"
#include "core/progress.h"
#include "io/vcf.h"

static int add_header(strand_vep *v, bcf_hdr_t *h, int argc, char *const *argv)
{
    char d[1536];
    snprintf(d, sizeof d,
             "Zero-shot log-likelihood ratio log p(ALT) - log p(REF) in nats from the masked-LM head of the "
             "Caduceus model, with the variant position set to [MASK] in the %d-bp reference window centred on it; "
             "strand-averaged (PS: exact reverse-complement-equivariant head; PH: post-hoc conjoined). Positive = "
             "ALT more likely than REF under the model. SNVs only: missing for indels, MNVs, symbolic alleles and "
             "unscored records. Window positions past a contig end and N bases are [PAD]",
             v->W);
    if (v->p.llr == STRAND_VEP_LLR_MARGINAL) /* provenance: the mode is in the Description */
        snprintf(d, sizeof d,
                 "Zero-shot log-likelihood ratio log p(ALT) - log p(REF) in nats from the masked-LM head of the "
                 "Caduceus model, llr=marginal: the wild-type marginal at the site of the UNMASKED reference tile "
                 "FASTA[k*%d-%d, k*%d+%d+%d) holding it (k = floor((POS-1)/%d); one forward per tile, >= %d bp of "
                 "context on both sides; docs/vep.md section Marginal LLR), not the masked score; strand-averaged (PS: "
                 "exact reverse-complement-equivariant head; PH: post-hoc conjoined). Positive = ALT more likely than "
                 "REF under the model. Indels and MNVs (alleles up to %d bp): the pseudo-log-likelihood difference "
                 "PLL(ALT haplotype) - PLL(REF haplotype), PLL = sum of log p(base) over the unmasked window of "
                 "%d bp + allele + %d bp (docs/vep.md section Indel LLR; includes a length term). Missing for "
                 "symbolic alleles and unscored records. Tile positions past a contig end and N bases are [PAD]",
                 v->S, v->h, v->S, v->S, v->h, v->S, v->h, v->W, v->h, v->h);
    int rc = st_vcf_hdr_add_info(h, "STRAND_LLR", "A", "Float", d);
    if (rc < 0) return rc;
    snprintf(d, sizeof d,
             "Cosine distance in [0,2] (0 = identical) between the mean-pooled strand-collapsed embeddings of the "
             "REF and ALT %d-bp windows (ALT window = ALT haplotype re-centred to the same length), pooled over "
             "+-%d bp around the variant. SNVs and indels; missing for symbolic alleles and unscored records",
             v->W, v->H);
    /* --scores llr: STRAND_EMB is not computed, so not declared */
    if ((!v->p.scores || (v->p.scores & STRAND_VEP_SCORE_EMB)) && (rc = st_vcf_hdr_add_info(h, "STRAND_EMB", "A", "Float", d)) < 0)
        return rc;
    if (v->head) {
        char g[32], f[128];
        st_vep_head_groups_str(v->head->groups, g, sizeof g);
        if (v->head->dist_info[0]) snprintf(f, sizeof f, "%s (distance from INFO/%s)", g, v->head->dist_info);
        else snprintf(f, sizeof f, "%s", g);
        const char *hn = strrchr(v->head_path, '/');
        hn = hn && hn[1] ? hn + 1 : v->head_path;
        snprintf(d, sizeof d,
                 "Trained probability in [0,1] from the head %s (strand vep-train; docs/vep.md section Trained score): "
                 "ridge logistic regression on the features %s, Platt-calibrated on held-out folds; trained on %lld "
                 "examples (%lld positive), cross-validated AUROC %.4f, ECE %.4f. Missing where a feature is missing",
                 hn, f, (long long)v->head->n_train, (long long)v->head->n_pos, v->head->cv_auroc, v->head->cv_ece);
        if ((rc = st_vcf_hdr_add_info(h, "STRAND_P", "A", "Float", d)) < 0) return rc;
    }
    if (!v->p.no_version && (rc = st_vcf_hdr_add_provenance(h, "vep", argc, argv)) < 0) return rc;
    const char *name = strrchr(v->model_path, '/');
    name = name && name[1] ? name + 1 : v->model_path;
    kstring_t s = {0, 0, NULL};
    ksprintf(&s, "##strand_vepModel=<Name=\"%s\",SHA256=%s,Kind=%s,d_model=%d,n_layer=%d,window=%d,pool_half_width=%d>",
             name, v->sha256, v->m->cfg.rcps ? "caduceus_ps" : "caduceus_ph", v->m->cfg.d_model, v->m->cfg.n_layer,
             v->W, v->H);
    rc = bcf_hdr_append(h, s.s);
    free(s.s);
    if (rc != 0 || bcf_hdr_sync(h) != 0) return st_err(NULL, STRAND_E_INTERNAL, "cannot add the model header line");
    return 0;
}

/* One batch: score, set INFO, write, free the records. */
static int flush(strand_vep *v, st_vcf_writer *w, bcf1_t **recs, const int64_t *recno, int nrec,
                 strand_vep_variant *vars, strand_vep_summary *sum, float *buf, const char *in_path)
{
    bcf_hdr_t *h = st_vcf_writer_header(w);
    size_t nv = 0;
    for (int i = 0; i < nrec; i++) {
        bcf1_t *r = recs[i];
        for (int a = 0; a < st_vcf_n_alt(r); a++)
            vars[nv++] = (strand_vep_variant){.contig = st_vcf_chrom(h, r), .pos1 = r->pos + 1,
                                              .ref = st_vcf_ref(r), .alt = st_vcf_alt(r, a)};
    }
    /* features / STRAND_P (docs/vep.md "Trained score"): the distance of every ALT from its record */
    int F = v->feat_groups ? st_vep_head_nfeat(v->feat_groups, v->m->cfg.d_model) : 0;
    double *dist = NULL, *pp = NULL, *feat = NULL;
    if (F) {
        dist = malloc((nv + 1) * sizeof *dist), pp = malloc((nv + 1) * sizeof *pp);
        feat = v->collect ? malloc((nv + 1) * (size_t)F * sizeof *feat) : NULL;
        if (!dist || !pp || (v->collect && !feat)) {
            free(dist), free(pp), free(feat);
            return st_err(NULL, STRAND_E_NOMEM, "out of memory for the features of a batch");
        }
        size_t k = 0;
        int32_t *iv = NULL, ni = 0;
        float *fv = NULL;
        int nf = 0, id = v->dist_info[0] ? bcf_hdr_id2int(h, BCF_DT_ID, v->dist_info) : -1;
        int type = id >= 0 && bcf_hdr_idinfo_exists(h, BCF_HL_INFO, id) ? (int)bcf_hdr_id2type(h, BCF_HL_INFO, id) : -1;
        for (int i = 0; i < nrec; i++) {
            double d = NAN;
            if (type == BCF_HT_INT && bcf_get_info_int32(h, recs[i], v->dist_info, &iv, &ni) >= 1 && iv[0] != bcf_int32_missing)
                d = iv[0];
            else if (type == BCF_HT_REAL && bcf_get_info_float(h, recs[i], v->dist_info, &fv, &nf) >= 1 && !bcf_float_is_missing(fv[0]))
                d = fv[0];
            for (int a = 0; a < st_vcf_n_alt(recs[i]); a++) dist[k++] = d;
        }
        free(iv), free(fv);
    }
    v->bdist = dist, v->bp = pp, v->bfeat = feat;
    int rc = strand_vep_score_batch(v, vars, nv);
    v->bdist = v->bp = v->bfeat = NULL;
    if (rc == 0 && v->collect)
        for (int i = 0, k = 0; i < nrec; i++)
            for (int a = 0; a < st_vcf_n_alt(recs[i]); a++, k++)
                v->collect(v->collect_ctx, h, recs[i], a, &vars[k], feat + (size_t)k * (size_t)F);
    free(dist), free(feat);
    if (rc < 0) {
        /* name the input record the failing ALT belongs to */
        int64_t k = v->fail_index;
        for (int i = 0; k >= 0 && i < nrec; i++) {
            if (k < st_vcf_n_alt(recs[i])) {
                st_err_prefix("%s: record %lld", in_path, (long long)recno[i]);
                break;
            }
            k -= st_vcf_n_alt(recs[i]);
        }
        free(pp);
        return rc;
    }
    nv = 0;
    for (int i = 0; i < nrec && rc == 0; i++) {
        bcf1_t *r = recs[i];
        int na = st_vcf_n_alt(r), any_llr = 0, any_emb = 0;
        sum->records++;
        if (na == 0) sum->no_alt++;
        for (int a = 0; a < na; a++) {
            strand_vep_variant *x = &vars[nv + (size_t)a];
            sum->alts++;
            switch (x->status) {
            case STRAND_VEP_SYMBOLIC: sum->symbolic++; break;
            case STRAND_VEP_UNSCORABLE: sum->unscorable++; break;
            case STRAND_VEP_REF_MISMATCH: sum->ref_mismatch++; break;
            case STRAND_VEP_MISSING_CONTIG: sum->missing_contig++; break;
            case STRAND_VEP_NONFINITE: sum->nonfinite++; break;
            default: break;
            }
            if (isnan(x->llr)) bcf_float_set_missing(buf[a]);
            else buf[a] = (float)x->llr, any_llr = 1, sum->llr_scored++;
        }
        /* clear stale values (re-annotation), then set only what was scored */
        bcf_update_info_float(h, r, "STRAND_LLR", NULL, 0);
        bcf_update_info_float(h, r, "STRAND_EMB", NULL, 0);
        if (any_llr) rc = bcf_update_info_float(h, r, "STRAND_LLR", buf, na);
        for (int a = 0; a < na; a++) {
            strand_vep_variant *x = &vars[nv + (size_t)a];
            if (isnan(x->emb)) bcf_float_set_missing(buf[a]);
            else buf[a] = (float)x->emb, any_emb = 1, sum->emb_scored++;
        }
        if (rc == 0 && any_emb) rc = bcf_update_info_float(h, r, "STRAND_EMB", buf, na);
        if (v->head) { /* STRAND_P */
            int any_p = 0;
            for (int a = 0; a < na; a++) {
                double p = pp[nv + (size_t)a];
                if (isnan(p)) bcf_float_set_missing(buf[a]);
                else buf[a] = (float)p, any_p = 1;
            }
            bcf_update_info_float(h, r, "STRAND_P", NULL, 0);
            if (rc == 0 && any_p) rc = bcf_update_info_float(h, r, "STRAND_P", buf, na);
        }
        if (rc != 0) {
            rc = st_err(NULL, STRAND_E_INTERNAL, "%s:%lld: cannot set the STRAND_ INFO fields", st_vcf_chrom(h, r),
                        (long long)r->pos + 1);
            break;
        }
        nv += (size_t)na;
        rc = st_vcf_write(w, r);
    }
    free(pp);
    return rc;
}

/* Distinct contig names of records not on the FASTA (for the all-missing message). */
typedef struct seen_contigs {
    char names[10][64];
    int n, more;
} seen_contigs;

static void seen_add(seen_contigs *s, const char *name)
{
    for (int i = 0; i < s->n; i++)
        if (!strcmp(s->names[i], name)) return;
    if (s->n < 10) snprintf(s->names[s->n++], sizeof s->names[0], "%s", name);
    else s->more = 1;
}

/* No record's contig is in the FASTA: name both sides, and the chr-prefix case. */
static int all_missing_error(strand_vep *v, const char *in_path, const seen_contigs *s)
{
    kstring_t m = {0, 0, NULL};
    ksprintf(&m, "%s: no record is on a contig of the FASTA %s, so nothing was scored. VCF contigs: ", in_path,
             v->fasta_path);
    for (int i = 0; i < s->n; i++) ksprintf(&m, "%s%s", i ? ", " : "", s->names[i]);
    if (s->more) kputs(", ...", &m);
    kputs("; FASTA contigs: ", &m);
    int nf = st_fasta_ncontigs(v->fa);
    for (int i = 0; i < nf && i < 10; i++) ksprintf(&m, "%s%s", i ? ", " : "", st_fasta_contig_name(v->fa, i));
    if (nf > 10) kputs(", ...", &m);
    int vchr = s->n > 0 && !strncmp(s->names[0], "chr", 3);
    int fchr = nf > 0 && !strncmp(st_fasta_contig_name(v->fa, 0), "chr", 3);
    if (s->n > 0 && nf > 0 && vchr != fchr)
        ksprintf(&m, ". Hint: the %s names start with \"chr\" and the %s names do not: map them with --rename-chrs "
                 "FILE (lines \"OLD NEW\", e.g. \"%s %s%s\")", fchr ? "FASTA" : "VCF", fchr ? "VCF" : "FASTA",
                 s->names[0], vchr ? "" : "chr", vchr ? s->names[0] + 3 : s->names[0]);
    kputs(". Use --missing-contig skip to accept this", &m);
    int rc = st_err(NULL, STRAND_E_NOTFOUND, "%s", m.s);
    free(m.s);
    return rc;
}

int strand_vep_annotate_vcf(strand_vep *v, const char *in_path, const char *out_path, char mode, int index,
                            const char *const *regions, int n_regions, int argc, char *const *argv,
                            strand_vep_summary *sum_out)
{
    if (!v) return st_err(NULL, STRAND_E_ARG, "strand_vep_annotate_vcf: NULL handle");
    if (!in_path || !out_path) return st_err(&v->err, STRAND_E_ARG, "strand_vep_annotate_vcf: NULL path");
    strand_vep_summary sum;
    memset(&sum, 0, sizeof sum);
    int64_t win0 = v->windows_requested, fw0 = v->forwards;
    v->n_examples = 0;
    st_vcf_reader *r = NULL;
    st_vcf_writer *w = NULL;
    bcf1_t **recs = NULL;
    int64_t *recno = NULL;
    strand_vep_variant *vars = NULL;
    float *buf = NULL;
    size_t cap_vars = 0;
    seen_contigs missing;
    memset(&missing, 0, sizeof missing);
    int64_t on_fasta = 0;
    const char *inputs[1] = {in_path};
    char otype[4] = {mode, 0, 0, 0};
    if (v->p.compress_level >= 0 && v->p.compress_level <= 9 && (mode == 'z' || mode == 'b'))
        otype[1] = (char)('0' + v->p.compress_level);
    int nrec = 0, rc = st_output_check(out_path, inputs, 1);
    if (rc < 0) goto done;
    if ((rc = st_vcf_open(&r, in_path, regions, n_regions)) < 0) goto done;
    if (v->n_targets > 0 && (rc = st_vcf_set_targets(r, v->targets, v->n_targets)) < 0) goto done;
    /* the output exists (as a temporary) before the learning pass, so a bad output fails first */
    if ((rc = st_vcf_writer_open_shared(&w, out_path, otype, r, index)) < 0) goto done;
    if ((rc = st_vcf_learn(r, NULL)) < 0) goto done;
    bcf_hdr_t *hdr = st_vcf_header(r);
    if ((rc = add_header(v, hdr, argc, argv)) < 0) goto done;
    recs = calloc((size_t)v->p.batch, sizeof *recs);
    recno = calloc((size_t)v->p.batch, sizeof *recno);
    if (!recs || !recno) {
        rc = st_err(NULL, STRAND_E_NOMEM, "out of memory");
        goto done;
    }
    st_progress *pg = st_progress_create("vep records", 0, v->p.quiet, stderr);
    size_t nalt = 0;
    for (;;) {
        bcf1_t *rec = NULL;
        int ret = st_vcf_next(r, &rec);
        if (ret < 0) { rc = ret; break; }
        if (ret > 0) {
            if (!(recs[nrec] = bcf_dup(rec)) || bcf_unpack(recs[nrec], BCF_UN_INFO) < 0) {
                rc = st_err(NULL, STRAND_E_NOMEM, "out of memory");
                break;
            }
            const char *chrom = st_vcf_chrom(hdr, rec);
            if (st_vep_contig_id(v, chrom) >= 0) on_fasta++;
            else seen_add(&missing, chrom);
            recno[nrec] = st_vcf_record_number(r);
            size_t na = (size_t)st_vcf_n_alt(recs[nrec]);
            nalt += na;
            nrec++;
        }
        if (nrec > 0 && (ret == 0 || nrec == v->p.batch)) {
            if (nalt > cap_vars || !buf) {
                free(vars), free(buf);
                cap_vars = nalt * 2 > 64 ? nalt * 2 : 64;
                vars = malloc(cap_vars * sizeof *vars);
                buf = malloc(cap_vars * sizeof *buf);
                if (!vars || !buf) { rc = st_err(NULL, STRAND_E_NOMEM, "out of memory"); break; }
            }
            rc = flush(v, w, recs, recno, nrec, vars, &sum, buf, st_vcf_path(r));
            if (rc == 0) rc = st_vcf_writer_flush(w); /* a pipe downstream sees each batch as it is done */
            for (int i = 0; i < nrec; i++) bcf_destroy(recs[i]), recs[i] = NULL;
            nrec = 0, nalt = 0;
            if (rc < 0) break;
            st_progress_update(pg, (uint64_t)sum.records);
        }
        if (ret == 0) break;
    }
    st_progress_finish(pg);
    if (rc == 0 && sum.records > 0 && on_fasta == 0 && v->p.missing_contig == STRAND_VEP_CONTIG_AUTO)
        rc = all_missing_error(v, st_vcf_path(r), &missing);
done:
    if (recs)
        for (int i = 0; i < nrec; i++) bcf_destroy(recs[i]);
    free(recs), free(recno), free(vars), free(buf);
    if (w) { /* before the reader: the writer uses its header */
        if (rc == 0) rc = st_vcf_writer_close(w);
        else st_vcf_writer_abort(w);
    }
    if (r) st_vcf_close(r);
    sum.windows_requested = v->windows_requested - win0;
    sum.forwards = v->forwards - fw0;
    sum.n_examples = v->n_examples;
    memcpy(sum.examples, v->examples, sizeof sum.examples);
    if (sum_out) *sum_out = sum;
    if (rc < 0) st_err_capture(&v->err);
    return rc;
}
