/* Progress reporter: a bar on terminals, a line every few seconds elsewhere (core/progress.h). */
#define _POSIX_C_SOURCE 200809L
#include "core/progress.h"

#include <math.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/clock.h"

#define BAR_WIDTH 24

struct st_progress {
    char *label;
    uint64_t total;
    int quiet, tty;
    FILE *out;
    double interval;       /* plain-line interval */
    double (*now)(void *); /* clock */
    void *clock_user;
    double start, last_draw;
    int drawn; /* a bar has been drawn */
    _Atomic uint64_t done;
    atomic_flag busy; /* held while drawing */
};

static double mono_now(void *user)
{
    (void)user;
    return st_clock_s();
}

st_progress *st_progress_create(const char *label, uint64_t total, int quiet, FILE *out)
{
    st_progress *p = calloc(1, sizeof *p);
    if (!p) return NULL;
    p->label = strdup(label ? label : "");
    if (!p->label) {
        free(p);
        return NULL;
    }
    p->total = total;
    p->out = out ? out : stderr;
    p->quiet = quiet;
    p->tty = isatty(fileno(p->out));
    p->interval = ST_PROGRESS_DEFAULT_INTERVAL;
    p->now = mono_now;
    p->start = p->now(NULL);
    p->last_draw = p->start;
    atomic_init(&p->done, 0);
    atomic_flag_clear(&p->busy);
    return p;
}

uint64_t st_progress_done(const st_progress *p) { return p ? atomic_load(&((st_progress *)p)->done) : 0; }

void st_progress_set_interval(st_progress *p, double seconds)
{
    if (p) p->interval = seconds > 0 ? seconds : 0;
}

void st_progress_set_clock(st_progress *p, double (*now)(void *user), void *user)
{
    if (!p) return;
    p->now = now ? now : mono_now;
    p->clock_user = user;
    p->start = p->now(user);
    p->last_draw = p->start;
}

void st_progress_force_tty(st_progress *p, int tty)
{
    if (p) p->tty = tty != 0;
}

/* "m:ss" or "h:mm:ss"; "--:--" when unknown. */
static void fmt_time(char *buf, size_t cap, double s)
{
    if (!(s >= 0) || s > 1e8) {
        snprintf(buf, cap, "--:--");
        return;
    }
    unsigned long t = (unsigned long)(s + 0.5);
    if (t >= 3600) snprintf(buf, cap, "%lu:%02lu:%02lu", t / 3600, t / 60 % 60, t % 60);
    else snprintf(buf, cap, "%lu:%02lu", t / 60, t % 60);
}

static void fmt_rate(char *buf, size_t cap, double r)
{
    if (r >= 100) snprintf(buf, cap, "%.0f/s", r);
    else if (r >= 10) snprintf(buf, cap, "%.1f/s", r);
    else if (r >= 1) snprintf(buf, cap, "%.2f/s", r);
    else snprintf(buf, cap, "%.3g/s", r); /* three significant digits throughout */
}

/* Write one report. final: the finishing line. */
static void draw(st_progress *p, double t, int final)
{
    uint64_t done = atomic_load(&p->done);
    double el = t - p->start;
    double rate = el > 0 ? (double)done / el : 0;
    char rs[32], es[32], ts[32];
    fmt_rate(rs, sizeof rs, rate);
    fmt_time(ts, sizeof ts, el);
    double eta = rate > 0 && p->total >= done ? (double)(p->total - done) / rate : -1;
    fmt_time(es, sizeof es, eta);
    double pct = p->total ? 100.0 * (double)done / (double)p->total : 0;
    if (p->tty) {
        if (p->total) {
            char bar[BAR_WIDTH + 1];
            int fill = (int)(pct / 100 * BAR_WIDTH);
            if (fill > BAR_WIDTH) fill = BAR_WIDTH;
            for (int i = 0; i < BAR_WIDTH; i++) bar[i] = i < fill ? '#' : '.';
            bar[BAR_WIDTH] = '\0';
            fprintf(p->out, "\r%s [%s] %5.1f%% %llu/%llu %s %s %s\033[K", p->label, bar, pct,
                    (unsigned long long)done, (unsigned long long)p->total, rs, final ? "in" : "ETA",
                    final ? ts : es);
        } else {
            fprintf(p->out, "\r%s %llu %s %s\033[K", p->label, (unsigned long long)done, rs, ts);
        }
        if (final) fputc('\n', p->out);
    } else if (final) {
        if (p->total)
            fprintf(p->out, "%s: %llu/%llu done in %s (%s)\n", p->label, (unsigned long long)done,
                    (unsigned long long)p->total, ts, rs);
        else
            fprintf(p->out, "%s: %llu done in %s (%s)\n", p->label, (unsigned long long)done, ts, rs);
    } else {
        if (p->total)
            fprintf(p->out, "%s: %llu/%llu (%.1f%%) %s ETA %s\n", p->label, (unsigned long long)done,
                    (unsigned long long)p->total, pct, rs, es);
        else
            fprintf(p->out, "%s: %llu %s elapsed %s\n", p->label, (unsigned long long)done, rs, ts);
    }
    fflush(p->out);
    p->last_draw = t;
    p->drawn = 1;
}

static void maybe_draw(st_progress *p)
{
    if (p->quiet || atomic_flag_test_and_set(&p->busy)) return; /* another thread is drawing */
    double t = p->now(p->clock_user);
    double gap = p->tty ? ST_PROGRESS_TTY_MIN_REDRAW : p->interval;
    /* the first bar is drawn at once; plain lines wait one interval */
    if (t - p->last_draw >= gap || (p->tty && !p->drawn)) draw(p, t, 0);
    atomic_flag_clear(&p->busy);
}

void st_progress_update(st_progress *p, uint64_t n_done)
{
    if (!p) return;
    atomic_store(&p->done, n_done);
    maybe_draw(p);
}

void st_progress_add(st_progress *p, uint64_t n)
{
    if (!p) return;
    atomic_fetch_add(&p->done, n);
    maybe_draw(p);
}

void st_progress_finish(st_progress *p)
{
    if (!p) return;
    if (!p->quiet) draw(p, p->now(p->clock_user), 1);
    free(p->label);
    free(p);
}
