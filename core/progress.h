/* Progress on a stream (usually stderr), as every long command shows it:
 *  - terminal (isatty): one bar line redrawn in place with percent, count, rate and ETA, at most
 *    ~10 redraws per second;
 *  - not a terminal (a log file, a pipe): one plain line every few seconds (default 5 s);
 *  - quiet: nothing at all.
 * update()/add() are cheap between redraws; add() may be called from several threads. */
#ifndef STRAND_CORE_PROGRESS_H
#define STRAND_CORE_PROGRESS_H
#include <stdint.h>
#include <stdio.h>

typedef struct st_progress st_progress;

/* total 0 = unknown (no percent, no ETA). The label is copied. Returns NULL only when out of
 * memory; every function accepts NULL and then does nothing. */
st_progress *st_progress_create(const char *label, uint64_t total, int quiet, FILE *out);
/* Report that n_done items are finished (absolute count). Single producer. */
void st_progress_update(st_progress *p, uint64_t n_done);
/* Add n finished items (thread-safe). */
void st_progress_add(st_progress *p, uint64_t n);
/* Draw the final state (a newline ends the bar on a terminal) and free. */
void st_progress_finish(st_progress *p);

uint64_t st_progress_done(const st_progress *p);
/* Seconds between plain lines when not on a terminal (0: a line at every update). */
void st_progress_set_interval(st_progress *p, double seconds);
/* For tests: a replacement clock (seconds, monotonic) — the start time is reset to now() — and
 * forcing terminal mode on (1) or off (0) regardless of isatty. */
void st_progress_set_clock(st_progress *p, double (*now)(void *user), void *user);
void st_progress_force_tty(st_progress *p, int tty);

#define ST_PROGRESS_TTY_MIN_REDRAW 0.1 /* seconds between bar redraws */
#define ST_PROGRESS_DEFAULT_INTERVAL 5.0
#endif
