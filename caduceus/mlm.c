/* Caduceus masked-LM pretraining pieces (docs/caduceus.md "Masked-LM pretraining"); see mlm.h for the recipe. */
#include "caduceus/mlm.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/tokenizer_dna.h"
#include "io/shards.h"
#include "io/windows.h"

void mlm_default_params(mlm_params *p)
{
    p->mask_prob = 0.15;
    p->mask_frac = 0.8;
    p->random_frac = 0.1;
    p->rc_aug = 0;
}

long mlm_mask_batch(const mlm_params *p, int32_t *ids, int32_t *targets, size_t B, size_t L, strand_rng *rng)
{
    if (!p || !ids || !targets || !rng) return st_err(NULL, STRAND_E_ARG, "mlm mask: NULL argument");
    if (!(p->mask_prob >= 0 && p->mask_prob <= 1 && p->mask_frac >= 0 && p->random_frac >= 0 &&
          p->mask_frac + p->random_frac <= 1))
        return st_err(NULL, STRAND_E_ARG, "mlm mask: bad probabilities (mask_prob %g, mask_frac %g, random_frac %g)",
                      p->mask_prob, p->mask_frac, p->random_frac);
    long selected = 0;
    for (size_t b = 0; b < B; b++) {
        int32_t *x = ids + b * L, *y = targets + b * L;
        for (size_t t = 0; t < L; t++)
            if (x[t] < 0 || x[t] >= ST_DNA_VOCAB)
                return st_err(NULL, STRAND_E_RANGE, "mlm mask: sequence %zu position %zu: id %d outside 0..%d", b, t,
                              x[t], ST_DNA_VOCAB - 1);
        st_dna_n_to_pad(x, L);
        if (p->rc_aug && strand_rng_uniform(rng) < 0.5) st_dna_revcomp(x, x, L);
        for (size_t t = 0; t < L; t++) {
            y[t] = -1;
            if (x[t] == ST_DNA_PAD) continue;
            if (!(strand_rng_uniform(rng) < p->mask_prob)) continue;
            y[t] = x[t];
            selected++;
            double u = strand_rng_uniform(rng);
            if (u < p->mask_frac)
                x[t] = ST_DNA_MASK;
            else if (u < p->mask_frac + p->random_frac)
                x[t] = ST_DNA_A + (int32_t)strand_rng_below(rng, 4); /* A,C,G,T */
        }
    }
    return selected;
}

/* ---- window sets ------------------------------------------------------------------------------- */
void mlm_windows_free(mlm_windows *w)
{
    if (!w) return;
    free(w->tok);
    memset(w, 0, sizeof *w);
}

static int win_push(mlm_windows *w, size_t *cap, const uint8_t *tok)
{
    if (w->n == *cap) {
        size_t nc = *cap ? 2 * *cap : 256;
        uint8_t *t = realloc(w->tok, nc * w->len);
        if (!t) return st_err(NULL, STRAND_E_NOMEM, "mlm windows: out of memory (%zu windows of %zu)", nc, w->len);
        w->tok = t;
        *cap = nc;
    }
    memcpy(w->tok + w->n * w->len, tok, w->len);
    w->n++;
    return 0;
}

typedef struct fasta_collect {
    mlm_windows *train, *val;
    size_t cap_train, cap_val;
} fasta_collect;

static int on_window(void *user, const uint8_t *tokens, uint32_t split, int contig, int64_t start)
{
    (void)contig;
    (void)start;
    fasta_collect *c = user;
    if (split == ST_SPLIT_TRAIN) return win_push(c->train, &c->cap_train, tokens) < 0 ? 1 : 0;
    if (split == ST_SPLIT_VAL) return win_push(c->val, &c->cap_val, tokens) < 0 ? 1 : 0;
    return 0;
}

int mlm_windows_from_fasta(const char *fasta, size_t L, const char *const *regions, int n_regions,
                           const char *const *val_regions, int n_val, mlm_windows *train, mlm_windows *val)
{
    memset(train, 0, sizeof *train);
    memset(val, 0, sizeof *val);
    if (L == 0) return st_err(NULL, STRAND_E_ARG, "mlm windows: length 0");
    st_fasta *fa = NULL;
    int rc = st_fasta_open(&fa, fasta, 0);
    if (rc < 0) return rc;
    st_windows_params p = st_windows_default_params();
    p.len = (int64_t)L;
    p.stride = (int64_t)L;
    p.regions = n_regions > 0 ? regions : NULL;
    p.n_regions = n_regions;
    p.val_regions = n_val > 0 ? val_regions : NULL;
    p.n_val = n_val;
    train->len = val->len = L;
    fasta_collect c = {train, val, 0, 0};
    st_windows_stats stats;
    rc = st_windows_run(fa, &p, on_window, &c, &stats);
    if (rc > 0) rc = strand_last_error_code() < 0 ? strand_last_error_code() : STRAND_E_NOMEM;
    if (rc == 0 && train->n == 0)
        rc = st_err(NULL, STRAND_E_RANGE, "%s: no training window of %zu bases (regions too short or mostly N?)", fasta, L);
    st_fasta_close(fa);
    if (rc < 0) {
        mlm_windows_free(train);
        mlm_windows_free(val);
    }
    return rc;
}

int mlm_windows_from_shard(const char *path, mlm_windows *out)
{
    memset(out, 0, sizeof *out);
    st_shard *s = NULL;
    int rc = st_shard_open(&s, path);
    if (rc < 0) return rc;
    const st_shard_info *in = st_shard_get_info(s);
    if (in->kind != ST_SHARD_KIND_DNA_WINDOWS || in->vocab_hash != st_dna_vocab_hash()) {
        rc = st_err(NULL, STRAND_E_FORMAT, "%s: not a DNA window shard (kind %u, vocabulary hash %016llx)", path,
                    in->kind, (unsigned long long)in->vocab_hash);
        st_shard_close(s);
        return rc;
    }
    out->len = in->record_len;
    out->tok = malloc((size_t)in->n_records * out->len + 1);
    size_t maxc = 0;
    for (uint32_t c = 0; c < in->n_chunks; c++)
        if (st_shard_chunk_records(s, c) > maxc) maxc = st_shard_chunk_records(s, c);
    int32_t *contig = malloc((maxc + 1) * sizeof *contig);
    int64_t *start = malloc((maxc + 1) * sizeof *start);
    if (!out->tok || !contig || !start) rc = st_err(NULL, STRAND_E_NOMEM, "%s: out of memory", path);
    for (uint32_t c = 0; rc == 0 && c < in->n_chunks; c++) {
        size_t n = st_shard_chunk_records(s, c);
        if (out->n + n > in->n_records) {
            rc = st_err(NULL, STRAND_E_FORMAT, "%s: chunk %u has more records than the header says", path, c);
            break;
        }
        rc = st_shard_read_chunk(s, c, out->tok + out->n * out->len, contig, start);
        out->n += n;
    }
    for (size_t i = 0; rc == 0 && i < out->n * out->len; i++)
        if (out->tok[i] >= ST_DNA_VOCAB)
            rc = st_err(NULL, STRAND_E_FORMAT, "%s: record %zu position %zu: token id %u outside 0..15", path,
                        i / out->len, i % out->len, out->tok[i]);
    free(contig);
    free(start);
    st_shard_close(s);
    if (rc < 0) mlm_windows_free(out);
    return rc;
}

/* ---- source ------------------------------------------------------------------------------------ */
int mlm_source_init(mlm_source *s, const mlm_windows *w, size_t L, uint64_t seed)
{
    memset(s, 0, sizeof *s);
    if (!w || L == 0 || w->len < L)
        return st_err(NULL, STRAND_E_ARG, "mlm source: windows of %zu tokens cannot give sequences of %zu",
                      w ? w->len : 0, L);
    s->w = w;
    s->seed = seed;
    s->L = L;
    s->per_rec = w->len / L;
    s->n_items = w->n * s->per_rec;
    if (s->n_items == 0 || s->n_items > UINT32_MAX)
        return st_err(NULL, STRAND_E_ARG, "mlm source: %zu items (need 1..%u)", s->n_items, UINT32_MAX);
    s->perm = malloc(s->n_items * sizeof *s->perm);
    if (!s->perm) return st_err(NULL, STRAND_E_NOMEM, "mlm source: out of memory");
    s->perm_epoch = -1;
    return 0;
}

void mlm_source_free(mlm_source *s)
{
    if (!s) return;
    free(s->perm);
    memset(s, 0, sizeof *s);
}

static void make_perm(mlm_source *s, int64_t epoch)
{
    strand_rng r;
    strand_rng_seed(&r, s->seed ^ (0x9E3779B97F4A7C15ull * (uint64_t)(epoch + 1)));
    for (size_t i = 0; i < s->n_items; i++) s->perm[i] = (uint32_t)i;
    for (size_t i = s->n_items - 1; i > 0; i--) { /* Fisher–Yates */
        size_t j = (size_t)strand_rng_below(&r, (uint64_t)i + 1);
        uint32_t tmp = s->perm[i];
        s->perm[i] = s->perm[j];
        s->perm[j] = tmp;
    }
    s->perm_epoch = epoch;
}

int mlm_source_next(void *user, int32_t *ids, int32_t *labels, size_t B, size_t L, uint64_t cursor[TRAIN_CURSOR_WORDS])
{
    (void)labels;
    mlm_source *s = user;
    if (L != s->L) return st_err(NULL, STRAND_E_ARG, "mlm source: asked for length %zu, built for %zu", L, s->L);
    int64_t epoch = (int64_t)cursor[0];
    uint64_t pos = cursor[1];
    for (size_t b = 0; b < B; b++) {
        if (pos >= s->n_items) {
            epoch++;
            pos = 0;
        }
        if (epoch != s->perm_epoch) make_perm(s, epoch);
        size_t item = s->perm[pos++];
        const uint8_t *src = s->w->tok + (item / s->per_rec) * s->w->len + (item % s->per_rec) * L;
        for (size_t t = 0; t < L; t++) ids[b * L + t] = src[t];
    }
    cursor[0] = (uint64_t)epoch;
    cursor[1] = pos;
    return 0;
}

/* ---- trainer ----------------------------------------------------------------------------------- */
int mlm_trainer_init(mlm_trainer *t, caduceus_model *m, const mlm_params *mp, size_t B, size_t L)
{
    memset(t, 0, sizeof *t);
    if (!m || B == 0 || L == 0) return st_err(NULL, STRAND_E_ARG, "mlm trainer: no model or empty batch");
    t->m = m;
    t->mp = *mp;
    t->B = B;
    t->L = L;
    size_t V = (size_t)m->cfg.vocab, BL = B * L;
    t->logits = malloc(BL * V * sizeof(float));
    t->dlogits = malloc(BL * V * sizeof(float));
    t->ids = malloc(BL * sizeof(int32_t));
    t->tgt = malloc(BL * sizeof(int32_t));
    if (!t->logits || !t->dlogits || !t->ids || !t->tgt) {
        mlm_trainer_free(t);
        return st_err(NULL, STRAND_E_NOMEM, "mlm trainer: out of memory (B %zu, L %zu)", B, L);
    }
    return 0;
}

void mlm_trainer_free(mlm_trainer *t)
{
    if (!t) return;
    free(t->logits);
    free(t->dlogits);
    free(t->ids);
    free(t->tgt);
    free(t->val_ids);
    free(t->val_tgt);
    memset(t, 0, sizeof *t);
}

int mlm_trainer_set_val(mlm_trainer *t, const mlm_windows *val, size_t max_rows, uint64_t val_seed)
{
    free(t->val_ids);
    free(t->val_tgt);
    t->val_ids = t->val_tgt = NULL;
    t->n_val = 0;
    if (!val || val->n == 0) return 0;
    size_t L = t->L;
    if (val->len < L)
        return st_err(NULL, STRAND_E_ARG, "mlm validation: windows of %zu tokens, training length %zu", val->len, L);
    size_t per = val->len / L, items = val->n * per;
    size_t n = max_rows && max_rows < items ? max_rows : items;
    t->val_ids = malloc(n * L * sizeof(int32_t));
    t->val_tgt = malloc(n * L * sizeof(int32_t));
    if (!t->val_ids || !t->val_tgt) return st_err(NULL, STRAND_E_NOMEM, "mlm validation: out of memory");
    for (size_t r = 0; r < n; r++) {
        size_t item = (size_t)((double)r * (double)items / (double)n); /* evenly spread */
        const uint8_t *src = val->tok + (item / per) * val->len + (item % per) * L;
        for (size_t k = 0; k < L; k++) t->val_ids[r * L + k] = src[k];
    }
    mlm_params mp = t->mp;
    mp.rc_aug = 0;
    strand_rng r;
    strand_rng_seed(&r, val_seed);
    long sel = mlm_mask_batch(&mp, t->val_ids, t->val_tgt, n, L, &r);
    if (sel < 0) return (int)sel;
    t->n_val = n;
    return 0;
}

int mlm_validate(void *user, float *val_loss)
{
    mlm_trainer *t = user;
    size_t B = t->B, L = t->L, V = (size_t)t->m->cfg.vocab;
    double sum = 0, count = 0;
    for (size_t r0 = 0; r0 < t->n_val; r0 += B) {
        size_t nb = t->n_val - r0 < B ? t->n_val - r0 : B;
        /* a short last batch is padded with copies of its first row, scored nowhere */
        for (size_t b = 0; b < B; b++) {
            size_t src = r0 + (b < nb ? b : 0);
            memcpy(t->ids + b * L, t->val_ids + src * L, L * sizeof(int32_t));
            if (b < nb)
                memcpy(t->tgt + b * L, t->val_tgt + src * L, L * sizeof(int32_t));
            else
                for (size_t k = 0; k < L; k++) t->tgt[b * L + k] = -1;
        }
        /* the training mode keeps the activation buffers of the training steps (same logits) */
        int rc = caduceus_forward(t->m, t->ids, B, L, CADUCEUS_TRAIN, t->logits, NULL, NULL);
        if (rc < 0) return rc;
        size_t n = 0;
        for (size_t i = 0; i < B * L; i++) n += t->tgt[i] >= 0;
        sum += caduceus_mlm_loss(t->logits, t->tgt, B, L, V, NULL) * (double)n;
        count += (double)n;
    }
    t->last_val_tokens = count;
    *val_loss = count > 0 ? (float)(sum / count) : NAN;
    return 0;
}

int mlm_forward_backward(void *user, const int32_t *ids, const int32_t *labels, size_t B, size_t L, strand_rng *rng,
                         float *loss)
{
    (void)labels;
    mlm_trainer *t = user;
    if (B != t->B || L != t->L)
        return st_err(NULL, STRAND_E_ARG, "mlm trainer: batch (%zu, %zu), built for (%zu, %zu)", B, L, t->B, t->L);
    memcpy(t->ids, ids, B * L * sizeof(int32_t));
    long sel = mlm_mask_batch(&t->mp, t->ids, t->tgt, B, L, rng);
    if (sel < 0) return (int)sel;
    int rc = caduceus_forward(t->m, t->ids, B, L, CADUCEUS_TRAIN, t->logits, NULL, NULL);
    if (rc < 0) return rc;
    *loss = (float)caduceus_mlm_loss(t->logits, t->tgt, B, L, (size_t)t->m->cfg.vocab, t->dlogits);
    if (sel == 0) return 0; /* nothing selected (an all-pad batch): zero gradient */
    return caduceus_backward(t->m, t->dlogits);
}

void mlm_trainer_model(mlm_trainer *t, train_model *out)
{
    memset(out, 0, sizeof *out);
    out->pb = &t->m->pb;
    out->forward_backward = mlm_forward_backward;
    out->validate = t->n_val ? mlm_validate : NULL;
    out->user = t;
}

/* ---- the whole run ------------------------------------------------------------------------------- */
void mlm_train_default_config(mlm_train_config *c)
{
    memset(c, 0, sizeof *c);
    caduceus_default_config(&c->model);
    c->model.d_model = 128;
    c->model.n_layer = 4;
    c->model.rcps = 1;
    c->batch = 8;
    c->seq_len = 1024;
    c->steps = 1000;
    c->lr = 8e-3;
    c->warmup_frac = 0.1;
    c->min_lr_frac = 0.0;
    c->weight_decay = 0.1;
    c->val_rows = 64;
    c->val_every = 100;
    c->log_every = 1;
}

typedef struct stop_wrap {
    const mlm_train_config *c;
} stop_wrap;

static int stop_progress(void *user, const train_progress *p)
{
    const mlm_train_config *c = ((stop_wrap *)user)->c;
    int stop = c->progress ? c->progress(c->progress_user, p) : 0;
    return stop || (c->stop_at > 0 && p->step >= c->stop_at && p->step < p->steps);
}

int mlm_train(const mlm_train_config *c, const mlm_windows *train, const mlm_windows *val,
              caduceus_model **model_out, train_result *res)
{
    *model_out = NULL;
    caduceus_model *m = NULL;
    mlm_source src;
    mlm_trainer tr;
    memset(&src, 0, sizeof src);
    memset(&tr, 0, sizeof tr);
    int rc = mlm_source_init(&src, train, c->seq_len, c->seed ^ MLM_DATA_SEED_XOR);
    if (rc < 0) goto out;
    if ((rc = caduceus_create(&m, &c->model)) < 0) goto out;
    caduceus_init_weights(m, c->seed);
    mlm_params mp;
    mlm_default_params(&mp);
    mp.rc_aug = !c->model.rcps; /* RC augmentation for PH only (docs/caduceus.md "Masked-LM pretraining") */
    if ((rc = mlm_trainer_init(&tr, m, &mp, c->batch, c->seq_len)) < 0) goto out;
    if (val && val->n && (rc = mlm_trainer_set_val(&tr, val, c->val_rows, MLM_VAL_SEED)) < 0) goto out;

    train_model tm;
    mlm_trainer_model(&tr, &tm);
    train_source ts = {mlm_source_next, 0, &src};
    train_params tp = train_default_params();
    tp.batch = c->batch;
    tp.seq_len = c->seq_len;
    tp.steps = c->steps;
    tp.opt.lr = (float)c->lr;
    tp.opt.beta1 = 0.9f;
    tp.opt.beta2 = 0.95f;
    tp.opt.weight_decay = (float)c->weight_decay;
    tp.sched.warmup_steps = (int64_t)llround(c->warmup_frac * (double)c->steps);
    tp.sched.total_steps = c->steps;
    tp.sched.min_ratio = c->min_lr_frac;
    tp.clip = 1.0f;
    tp.ema_decay = 0;
    tp.seed = c->seed;
    tp.log_every = c->log_every;
    tp.val_every = tm.validate ? c->val_every : 0;
    tp.ckpt_every = c->ckpt_every;
    tp.log_path = c->log_path;
    tp.ckpt_path = c->ckpt_path;
    tp.resume_path = c->resume_path;
    stop_wrap sw = {c};
    tp.progress = stop_progress;
    tp.progress_user = &sw;
    rc = train_run(&tp, &tm, &ts, NULL, res);
out:
    mlm_trainer_free(&tr);
    mlm_source_free(&src);
    if (rc < 0 && rc != STRAND_E_CANCELLED) {
        caduceus_free(m);
        return rc;
    }
    *model_out = m;
    return rc;
}
