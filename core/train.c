/* The training loop (see train.h). */
#include "core/train.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/atomic_file.h"
#include "core/clock.h"
#include "core/error.h"
#include "core/safetensors.h"

train_params train_default_params(void)
{
    train_params p;
    memset(&p, 0, sizeof p);
    p.batch = 8;
    p.seq_len = 128;
    p.steps = 1000;
    p.opt = adamw_default_params();
    p.sched.warmup_steps = 100;
    p.sched.total_steps = 1000;
    p.sched.min_ratio = 0.1;
    p.clip = 1.0f;
    p.log_every = 1;
    return p;
}

/* ---- checkpoints ---------------------------------------------------------------------------- */
typedef struct loop_state {
    int64_t step;
    strand_rng rng;
    uint64_t cursor[TRAIN_CURSOR_WORDS];
} loop_state;

static int ckpt_write(const train_params *p, const paramblock *pb, const paramblock *ema, const loop_state *st)
{
    sft_writer *w = sft_writer_create();
    if (!w) return st_err(NULL, STRAND_E_NOMEM, "checkpoint: out of memory");
    int64_t step[1] = {st->step}, rng[4], cur[TRAIN_CURSOR_WORDS], shape[2] = {(int64_t)p->batch, (int64_t)p->seq_len};
    memcpy(rng, st->rng.s, sizeof rng); /* bit patterns of the uint64 words */
    memcpy(cur, st->cursor, sizeof cur);
    int64_t s1[1] = {1}, s4[1] = {4}, sc[1] = {TRAIN_CURSOR_WORDS}, s2[1] = {2};
    char meta[512];
    snprintf(meta, sizeof meta,
             "{\"step\": %" PRId64 ", \"steps\": %" PRId64 ", \"batch\": %zu, \"seq_len\": %zu, \"lr\": %.9g, "
             "\"beta1\": %.9g, \"beta2\": %.9g, \"eps\": %.9g, \"weight_decay\": %.9g, \"warmup\": %" PRId64
             ", \"total\": %" PRId64 ", \"min_ratio\": %.9g, \"clip\": %.9g, \"ema_decay\": %.9g, \"seed\": %" PRIu64 "}",
             st->step, p->steps, p->batch, p->seq_len, p->opt.lr, p->opt.beta1, p->opt.beta2, p->opt.eps,
             p->opt.weight_decay, p->sched.warmup_steps, p->sched.total_steps, p->sched.min_ratio, p->clip,
             p->ema_decay, p->seed);
    int rc = 0;
    if (rc >= 0) rc = pb_save_data(pb, pb->params, w, "model.");
    if (rc >= 0) rc = pb_save_data(pb, pb->m, w, "optim.m.");
    if (rc >= 0) rc = pb_save_data(pb, pb->v, w, "optim.v.");
    if (rc >= 0 && ema) rc = pb_save_data(ema, ema->params, w, "ema.");
    if (rc >= 0) rc = sft_writer_add(w, "train.step", SFT_I64, 1, s1, step);
    if (rc >= 0) rc = sft_writer_add(w, "train.rng", SFT_I64, 1, s4, rng);
    if (rc >= 0) rc = sft_writer_add(w, "train.cursor", SFT_I64, 1, sc, cur);
    if (rc >= 0) rc = sft_writer_add(w, "train.shape", SFT_I64, 1, s2, shape);
    if (rc >= 0) rc = sft_writer_meta(w, "strand.kind", "train_checkpoint");
    if (rc >= 0) rc = sft_writer_meta(w, "strand.train", meta);
    if (rc >= 0) rc = sft_writer_write(w, p->ckpt_path);
    sft_writer_free(w);
    if (rc < 0) return st_err_prefix("checkpoint \"%s\"", p->ckpt_path);
    return 0;
}

static int read_i64(const sft_file *f, const char *path, const char *name, int64_t *dst, size_t n)
{
    if (!sft_find(f, name))
        return st_err(NULL, STRAND_E_FORMAT, "%s: not a training checkpoint (no tensor \"%s\")", path, name);
    int rc = sft_read_i64(f, name, dst, n);
    return rc < 0 ? st_err_prefix("%s", path) : 0;
}

static int ckpt_read(const train_params *p, paramblock *pb, paramblock *ema, loop_state *st)
{
    const char *path = p->resume_path;
    sft_file *f = NULL;
    int rc = sft_open(&f, path);
    if (rc < 0) return rc;
    int64_t step[1], rng[4], cur[TRAIN_CURSOR_WORDS], shape[2];
    if ((rc = read_i64(f, path, "train.step", step, 1)) < 0 || (rc = read_i64(f, path, "train.rng", rng, 4)) < 0 ||
        (rc = read_i64(f, path, "train.cursor", cur, TRAIN_CURSOR_WORDS)) < 0 ||
        (rc = read_i64(f, path, "train.shape", shape, 2)) < 0)
        goto done;
    if (shape[0] != (int64_t)p->batch || shape[1] != (int64_t)p->seq_len) {
        rc = st_err(NULL, STRAND_E_SHAPE,
                    "%s: checkpoint was trained with batch %" PRId64 " x length %" PRId64
                    ", this run uses %zu x %zu (exact resume needs the same shape)",
                    path, shape[0], shape[1], p->batch, p->seq_len);
        goto done;
    }
    if (step[0] < 0 || step[0] > p->steps) {
        rc = st_err(NULL, STRAND_E_RANGE, "%s: checkpoint step %" PRId64 " outside 0..%" PRId64 " (the run's steps)",
                    path, step[0], p->steps);
        goto done;
    }
    if ((rc = pb_load_data(pb, pb->params, f, "model.")) < 0 || (rc = pb_load_data(pb, pb->m, f, "optim.m.")) < 0 ||
        (rc = pb_load_data(pb, pb->v, f, "optim.v.")) < 0) {
        st_err_prefix("resume from %s", path);
        goto done;
    }
    if (ema && (rc = pb_load_data(ema, ema->params, f, "ema.")) < 0) {
        st_err_prefix("resume from %s (EMA enabled in this run)", path);
        goto done;
    }
    st->step = step[0];
    memcpy(st->rng.s, rng, sizeof rng);
    memcpy(st->cursor, cur, sizeof cur);
done:
    sft_close(f);
    return rc;
}

int64_t train_checkpoint_step(const char *path)
{
    sft_file *f = NULL;
    int rc = sft_open(&f, path);
    if (rc < 0) return rc;
    int64_t step = 0;
    rc = read_i64(f, path, "train.step", &step, 1);
    sft_close(f);
    return rc < 0 ? rc : step;
}

/* ---- the TSV log ------------------------------------------------------------------------------ */
static const char k_log_header[] = "step\tlr\tloss\tgrad_norm\ttokens_per_s\tval_loss\n";

/* On resume keep the header and the rows up to `step` (a killed run may have logged past its last
 * checkpoint), then append. */
static int log_open(const train_params *p, int64_t start, FILE **out)
{
    *out = NULL;
    if (!p->log_path || p->log_every <= 0) return 0;
    if (p->resume_path) {
        FILE *old = fopen(p->log_path, "r");
        if (old) {
            st_atomic_file af;
            int rc = st_atomic_open(&af, p->log_path, 1);
            if (rc < 0) {
                fclose(old);
                return rc;
            }
            char line[1024];
            int first = 1;
            while (fgets(line, sizeof line, old)) {
                if (first) {
                    first = 0;
                    fputs(k_log_header, af.fp);
                    if (strncmp(line, "step\t", 5) == 0) continue;
                }
                char *end;
                long long s = strtoll(line, &end, 10);
                if (end != line && *end == '\t' && s <= start) fputs(line, af.fp);
            }
            if (first) fputs(k_log_header, af.fp);
            fclose(old);
            if ((rc = st_atomic_commit(&af)) < 0) return rc;
            *out = fopen(p->log_path, "a");
            if (!*out) return st_err(NULL, STRAND_E_IO, "cannot open \"%s\": %s", p->log_path, strerror(errno));
            return 0;
        }
    }
    *out = fopen(p->log_path, "w");
    if (!*out) return st_err(NULL, STRAND_E_IO, "cannot open \"%s\": %s", p->log_path, strerror(errno));
    fputs(k_log_header, *out);
    fflush(*out);
    return 0;
}

/* ---- the loop ---------------------------------------------------------------------------------- */
int train_run(const train_params *p, train_model *m, train_source *src, paramblock *ema, train_result *res)
{
    if (res) memset(res, 0, sizeof *res);
    if (!p || !m || !src || !m->pb || !m->forward_backward || !src->next)
        return st_err(NULL, STRAND_E_ARG, "train_run: missing model, source or callback");
    paramblock *pb = m->pb;
    if (!pb->params || !pb->grads) return st_err(NULL, STRAND_E_ARG, "train_run: model parameters not allocated");
    if (p->batch == 0 || p->seq_len == 0 || p->steps < 0)
        return st_err(NULL, STRAND_E_ARG, "train_run: batch %zu, length %zu, steps %" PRId64 " (need > 0)", p->batch,
                      p->seq_len, p->steps);
    if (src->label_len != 0 && src->label_len != 1 && src->label_len != p->seq_len)
        return st_err(NULL, STRAND_E_ARG, "train_run: source label_len %zu (must be 0, 1 or L = %zu)", src->label_len,
                      p->seq_len);
    if (p->ema_decay < 0 || p->ema_decay >= 1)
        return st_err(NULL, STRAND_E_ARG, "train_run: ema_decay %g outside [0, 1)", p->ema_decay);
    int rc = pb_alloc_moments(pb); /* zeroed; overwritten on resume */
    if (rc < 0) return rc;
    int use_ema = p->ema_decay > 0 && ema;
    if (ema && !use_ema) pb_init(ema); /* always safe to pb_free afterwards */
    if (use_ema && (rc = ema_init(ema, pb)) < 0) return rc;

    loop_state st;
    memset(&st, 0, sizeof st);
    strand_rng_seed(&st.rng, p->seed);
    if (p->resume_path && (rc = ckpt_read(p, pb, use_ema ? ema : NULL, &st)) < 0) return rc;

    size_t BL = p->batch * p->seq_len;
    int32_t *ids = malloc(BL * sizeof *ids);
    int32_t *labels = src->label_len ? malloc(p->batch * src->label_len * sizeof *labels) : NULL;
    FILE *log = NULL;
    if (!ids || (src->label_len && !labels)) {
        rc = st_err(NULL, STRAND_E_NOMEM, "train_run: out of memory");
        goto out;
    }
    if ((rc = log_open(p, st.step, &log)) < 0) goto out;

    float val_loss = NAN, loss = NAN;
    while (st.step < p->steps) {
        double t0 = st_clock_s();
        int64_t k = st.step; /* 0-based index of this update */
        if ((rc = src->next(src->user, ids, labels, p->batch, p->seq_len, st.cursor)) < 0) {
            st_err_prefix("step %" PRId64 ": data source", k + 1);
            goto out;
        }
        pb_zero_grad(pb);
        if ((rc = m->forward_backward(m->user, ids, labels, p->batch, p->seq_len, &st.rng, &loss)) < 0) {
            st_err_prefix("step %" PRId64, k + 1);
            goto out;
        }
        if (!isfinite(loss)) {
            rc = st_err(NULL, STRAND_E_RANGE, "step %" PRId64 ": loss is %g (lower the learning rate?)", k + 1, loss);
            goto out;
        }
        float norm = clip_grad_norm(pb, p->clip);
        if (!isfinite(norm)) {
            rc = st_err(NULL, STRAND_E_RANGE, "step %" PRId64 ": gradient norm is %g", k + 1, norm);
            goto out;
        }
        double lr = (double)p->opt.lr * lr_schedule_multiplier(&p->sched, k);
        if ((rc = adamw_step(pb, &p->opt, lr, k + 1)) < 0) goto out;
        if (use_ema) ema_update(ema, pb, p->ema_decay);
        st.step = k + 1;
        double tps = (double)BL / fmax(st_clock_s() - t0, 1e-9);

        train_progress pr = {st.step, p->steps, loss, norm, lr, tps, NAN, 0};
        if (m->validate && p->val_every > 0 && (st.step % p->val_every == 0 || st.step == p->steps)) {
            if ((rc = m->validate(m->user, &val_loss)) < 0) {
                st_err_prefix("step %" PRId64 ": validation", st.step);
                goto out;
            }
            pr.val_loss = val_loss;
        }
        if (p->ckpt_path && ((p->ckpt_every > 0 && st.step % p->ckpt_every == 0) || st.step == p->steps)) {
            if ((rc = ckpt_write(p, pb, use_ema ? ema : NULL, &st)) < 0) goto out;
            pr.ckpt_written = 1;
        }
        if (log && (st.step % p->log_every == 0 || st.step == p->steps)) {
            fprintf(log, "%" PRId64 "\t%.6g\t%.7g\t%.6g\t%.1f\t", st.step, lr, loss, norm, tps);
            if (isnan(pr.val_loss))
                fputs("\n", log);
            else
                fprintf(log, "%.7g\n", pr.val_loss);
            fflush(log);
        }
        if (res) {
            res->steps_done = st.step;
            res->last_loss = loss;
            res->last_val_loss = val_loss;
        }
        int stop = p->progress && p->progress(p->progress_user, &pr);
        if (stop || (p->stop_at > 0 && st.step >= p->stop_at && st.step < p->steps)) {
            if (p->ckpt_path && !pr.ckpt_written && (rc = ckpt_write(p, pb, use_ema ? ema : NULL, &st)) < 0) goto out;
            rc = st_err(NULL, STRAND_E_CANCELLED, "training cancelled after step %" PRId64 "%s%s", st.step,
                        p->ckpt_path ? "; checkpoint in " : "", p->ckpt_path ? p->ckpt_path : "");
            goto out;
        }
    }
    if (res) res->steps_done = st.step;
    rc = 0;
out:
    if (log && fclose(log) != 0 && rc == 0) rc = st_err(NULL, STRAND_E_IO, "cannot write \"%s\"", p->log_path);
    free(ids);
    free(labels);
    return rc;
}
