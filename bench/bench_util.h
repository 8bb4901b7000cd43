/* What the bench/ programs share: the median of repeated timings (the wall clock is core/clock.h)
 * and the process CPU clock. */
#ifndef STRAND_BENCH_UTIL_H
#define STRAND_BENCH_UTIL_H
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

/* CPU seconds of the whole process (all threads), for ratios a shared machine's load distorts less. */
static inline double bench_cpu_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* The 1-minute load average (/proc/loadavg; -1 where there is none): printed beside timings. */
static inline double bench_loadavg(void)
{
    double l = -1;
    FILE *f = fopen("/proc/loadavg", "r");
    if (f) {
        if (fscanf(f, "%lf", &l) != 1) l = -1;
        fclose(f);
    }
    return l;
}

/* Linux autogroup scheduling (/proc/sys/kernel/sched_autogroup_enabled; -1 where absent). When it
 * is on, the CPU is shared fairly between sessions, not threads: a multi-threaded benchmark beside
 * another session's busy process gets about one core however many threads it runs (nice values
 * only order a session's own processes). */
static inline int bench_autogroup(void)
{
    int v = -1;
    FILE *f = fopen("/proc/sys/kernel/sched_autogroup_enabled", "r");
    if (f) {
        if (fscanf(f, "%d", &v) != 1) v = -1;
        fclose(f);
    }
    return v;
}

static inline int bench_cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* Sorts t (n >= 1) and returns its median (the mean of the middle two for even n). */
static inline double bench_median(double *t, int n)
{
    qsort(t, (size_t)n, sizeof *t, bench_cmp_d);
    return n % 2 ? t[n / 2] : 0.5 * (t[n / 2 - 1] + t[n / 2]);
}
#endif
