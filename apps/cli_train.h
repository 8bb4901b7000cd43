/* What every `strand train <kind>` shares around core/train.h's loop: the progress bar, a line per
 * validation, and SIGINT/SIGTERM meaning "stop after this step" (the loop then writes its
 * checkpoint and the command saves the model). The handlers in place before (apps/main.c's
 * cleanup of temporary files) come back when the run ends. */
#ifndef STRAND_APPS_CLI_TRAIN_H
#define STRAND_APPS_CLI_TRAIN_H
#include <signal.h>

#include "core/progress.h"
#include "core/train.h"

typedef struct cli_train_watch {
    st_progress *bar;
    int quiet;
    double t0;             /* st_clock_s() at the start */
    const char *val_label; /* "val_loss", "val NELBO" */
    const char *val_unit;  /* "" or " nats/token" */
    void (*old_int)(int), (*old_term)(int);
} cli_train_watch;

/* Hook w into tp->progress (a validation line on stderr unless quiet: "step k/K  loss  <label> v<unit>
 * lr  tok/s  s") and catch SIGINT/SIGTERM. */
void cli_train_watch_start(cli_train_watch *w, train_params *tp, int quiet, const char *val_label,
                           const char *val_unit);
/* Finish the bar and restore the signal handlers. */
void cli_train_watch_stop(cli_train_watch *w);
/* A signal asked the run to stop. */
int cli_train_interrupted(void);
/* After train_run returned STRAND_E_CANCELLED and `what` ("model", "classifier") was saved to out:
 * says so (and where the checkpoint is); the exit status, 3 after a signal, 0 after --stop-at. */
int cli_train_stopped(const train_result *res, const train_params *tp, const char *what, const char *out);
#endif
