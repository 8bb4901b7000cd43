/* Progress and signals of a training command (see cli_train.h). */
#include "apps/cli_train.h"

#include <math.h>

#include "apps/cli.h"
#include "core/clock.h"

static volatile sig_atomic_t g_stop = 0;

static void on_signal(int sig)
{
    (void)sig;
    g_stop = 1;
}

int cli_train_interrupted(void) { return g_stop != 0; }

int cli_train_stopped(const train_result *res, const train_params *tp, const char *what, const char *out)
{
    cli_info("stopped after step %lld of %lld; %s saved to %s%s%s", (long long)res->steps_done, (long long)tp->steps, what,
             out, tp->ckpt_path ? ", checkpoint in " : "", tp->ckpt_path ? tp->ckpt_path : "");
    return cli_train_interrupted() ? 3 : 0;
}

static int on_progress(void *user, const train_progress *p)
{
    cli_train_watch *w = user;
    st_progress_update(w->bar, (uint64_t)p->step);
    if (!w->quiet && !isnan(p->val_loss))
        cli_info("step %lld/%lld  loss %.4f  %s %.4f%s  lr %.3g  %.0f tok/s  %.0f s", (long long)p->step,
                 (long long)p->steps, p->loss, w->val_label, p->val_loss, w->val_unit, p->lr, p->tokens_per_s,
                 st_clock_s() - w->t0);
    return g_stop != 0;
}

void cli_train_watch_start(cli_train_watch *w, train_params *tp, int quiet, const char *val_label,
                           const char *val_unit)
{
    w->bar = st_progress_create("train", (uint64_t)tp->steps, quiet, stderr);
    w->quiet = quiet;
    w->t0 = st_clock_s();
    w->val_label = val_label;
    w->val_unit = val_unit;
    tp->progress = on_progress;
    tp->progress_user = w;
    g_stop = 0;
    w->old_int = signal(SIGINT, on_signal);
    w->old_term = signal(SIGTERM, on_signal);
}

void cli_train_watch_stop(cli_train_watch *w)
{
    st_progress_finish(w->bar);
    w->bar = NULL;
    signal(SIGINT, w->old_int); /* back to the temporaries' cleanup (apps/main.c) */
    signal(SIGTERM, w->old_term);
}
