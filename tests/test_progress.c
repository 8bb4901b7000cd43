/* Progress reporter (core/progress.h): plain lines vs terminal bar vs quiet, the redraw limit,
 * the numbers in each line (parsed back and checked against the injected clock), terminal
 * detection through a real pseudo-terminal, and concurrent add(). A fake clock makes every
 * check independent of how fast the machine is. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <pthread.h>
#include <unistd.h>

#include "core/progress.h"
#include "test_util.h"

typedef struct fake_clock {
    double t;
} fake_clock;
static double fake_now(void *u) { return ((fake_clock *)u)->t; }

/* Whole contents of a FILE opened with tmpfile(). */
static char *slurp(FILE *f)
{
    fflush(f);
    long n = ftell(f);
    char *s = malloc((size_t)n + 1);
    rewind(f);
    size_t r = fread(s, 1, (size_t)n, f);
    s[r] = '\0';
    return s;
}

static int count_char(const char *s, char c)
{
    int k = 0;
    for (; *s; s++) k += *s == c;
    return k;
}

/* "m:ss" or "h:mm:ss" -> seconds; -1 if not a time */
static double parse_time(const char *s)
{
    unsigned a, b, c;
    if (sscanf(s, "%u:%u:%u", &a, &b, &c) == 3) return a * 3600.0 + b * 60.0 + c;
    if (sscanf(s, "%u:%u", &a, &b) == 2) return a * 60.0 + b;
    return -1;
}

static void test_plain_lines_numbers(void)
{
    FILE *f = tmpfile();
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    fake_clock ck = {100.0};
    const uint64_t total = 37;
    st_progress *p = st_progress_create("scan", total, 0, f);
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    st_progress_set_clock(p, fake_now, &ck);
    st_progress_set_interval(p, 0);
    for (uint64_t k = 1; k <= total; k++) {
        ck.t = 100.0 + 0.3 * (double)k * (double)k / 7.0; /* uneven speed */
        st_progress_update(p, k);
    }
    ck.t += 1.0;
    st_progress_finish(p);
    char *s = slurp(f);
    fclose(f);
    CU_ASSERT_EQUAL(count_char(s, '\n'), (int)total + 1);
    CU_ASSERT_EQUAL(count_char(s, '\r'), 0);
    char *save = NULL, *line = strtok_r(s, "\n", &save);
    double worst_pct = 0, worst_rate = 0, worst_eta = 0;
    for (uint64_t k = 1; k <= total && line; k++, line = strtok_r(NULL, "\n", &save)) {
        unsigned long long done, tot;
        double pct, rate;
        char eta[32];
        int got = sscanf(line, "scan: %llu/%llu (%lf%%) %lf/s ETA %31s", &done, &tot, &pct, &rate, eta);
        CU_ASSERT_EQUAL_FATAL(got, 5);
        CU_ASSERT_EQUAL(done, k);
        CU_ASSERT_EQUAL(tot, total);
        double el = 0.3 * (double)k * (double)k / 7.0;
        double want_rate = (double)k / el, want_eta = (double)(total - k) / want_rate;
        worst_pct = fmax(worst_pct, fabs(pct - 100.0 * (double)k / (double)total));
        worst_rate = fmax(worst_rate, fabs(rate - want_rate) / want_rate);
        worst_eta = fmax(worst_eta, fabs(parse_time(eta) - want_eta));
    }
    /* the final line */
    CU_ASSERT_PTR_NOT_NULL_FATAL(line);
    unsigned long long done, tot;
    char took[32];
    CU_ASSERT_EQUAL(sscanf(line, "scan: %llu/%llu done in %31s", &done, &tot, took), 3);
    CU_ASSERT_EQUAL(done, total);
    CU_ASSERT_EQUAL(parse_time(took), round(0.3 * 37 * 37 / 7.0 + 1.0));
    fprintf(stderr, "    max |pct err| %.3g (tol 0.0501), max rel rate err %.3g (tol 0.0051), max |ETA err| %.3g s (tol 0.501)\n",
            worst_pct, worst_rate, worst_eta);
    CU_ASSERT(worst_pct <= 0.0501); /* printed with one decimal */
    CU_ASSERT(worst_rate <= 0.0051); /* three significant digits */
    CU_ASSERT(worst_eta <= 0.501);  /* whole seconds */
    free(s);
}

static void test_plain_interval(void)
{
    FILE *f = tmpfile();
    fake_clock ck = {0};
    st_progress *p = st_progress_create("x", 10, 0, f);
    st_progress_set_clock(p, fake_now, &ck);
    st_progress_set_interval(p, 3.0);
    for (int k = 1; k <= 10; k++) {
        ck.t = k; /* one item per second: lines at t = 3, 6, 9 */
        st_progress_update(p, (uint64_t)k);
    }
    CU_ASSERT_EQUAL(st_progress_done(p), 10);
    st_progress_finish(p);
    char *s = slurp(f);
    fclose(f);
    CU_ASSERT_EQUAL(count_char(s, '\n'), 3 + 1);
    CU_ASSERT_PTR_NOT_NULL(strstr(s, "x: 3/10 (30.0%)"));
    CU_ASSERT_PTR_NOT_NULL(strstr(s, "x: 9/10 (90.0%)"));
    CU_ASSERT_PTR_NULL(strstr(s, "x: 4/10"));
    free(s);
}

static void test_quiet_and_unknown_total(void)
{
    FILE *f = tmpfile();
    st_progress *p = st_progress_create("q", 5, 1, f);
    st_progress_set_interval(p, 0);
    st_progress_force_tty(p, 1);
    for (int k = 0; k < 5; k++) st_progress_update(p, (uint64_t)k);
    st_progress_finish(p);
    CU_ASSERT_EQUAL(ftell(f), 0);
    fclose(f);

    f = tmpfile();
    fake_clock ck = {0};
    p = st_progress_create("reads", 0, 0, f);
    st_progress_set_clock(p, fake_now, &ck);
    st_progress_set_interval(p, 0);
    ck.t = 2;
    st_progress_update(p, 8);
    st_progress_finish(p);
    char *s = slurp(f);
    fclose(f);
    CU_ASSERT_STRING_EQUAL(s, "reads: 8 4.00/s elapsed 0:02\nreads: 8 done in 0:02 (4.00/s)\n");
    free(s);
    /* NULL is accepted everywhere */
    st_progress_update(NULL, 1);
    st_progress_add(NULL, 1);
    st_progress_finish(NULL);
}

static void test_tty_bar_redraw_limit(void)
{
    FILE *f = tmpfile();
    fake_clock ck = {0};
    st_progress *p = st_progress_create("train", 1000, 0, f);
    st_progress_set_clock(p, fake_now, &ck);
    st_progress_force_tty(p, 1);
    for (int k = 1; k <= 1000; k++) {
        ck.t = 0.01 * k; /* 1000 updates over 10 s */
        st_progress_update(p, (uint64_t)k);
    }
    st_progress_finish(p);
    char *s = slurp(f);
    fclose(f);
    int draws = count_char(s, '\r');
    fprintf(stderr, "    %d redraws for 1000 updates over 10 s (limit %.0f/s)\n", draws, 1 / ST_PROGRESS_TTY_MIN_REDRAW);
    CU_ASSERT(draws >= 80 && draws <= 10 / ST_PROGRESS_TTY_MIN_REDRAW + 2);
    CU_ASSERT_EQUAL(count_char(s, '\n'), 1); /* only the finish ends the line */
    CU_ASSERT(s[strlen(s) - 1] == '\n');
    char *last = strrchr(s, '\r');
    CU_ASSERT_PTR_NOT_NULL(strstr(last, "100.0% 1000/1000 100/s in 0:10"));
    CU_ASSERT_PTR_NOT_NULL(strstr(last, "[########################]"));
    CU_ASSERT_PTR_NOT_NULL(strstr(s, "\rtrain [")); /* the first draw is immediate */
    CU_ASSERT_PTR_NOT_NULL(strstr(s, "ETA 0:05"));  /* halfway at 100/s */
    free(s);
}

/* A real pseudo-terminal: isatty is detected without forcing. */
static void test_pty_detection(void)
{
    int m = posix_openpt(O_RDWR | O_NOCTTY);
    CU_ASSERT_FATAL(m >= 0);
    CU_ASSERT_FATAL(grantpt(m) == 0 && unlockpt(m) == 0);
    int sl = open(ptsname(m), O_RDWR | O_NOCTTY);
    CU_ASSERT_FATAL(sl >= 0);
    FILE *f = fdopen(sl, "w");
    st_progress *p = st_progress_create("pty", 4, 0, f);
    st_progress_update(p, 1); /* a terminal gets the bar at once */
    st_progress_finish(p);
    fclose(f);
    fcntl(m, F_SETFL, O_NONBLOCK);
    char buf[4096];
    ssize_t r = read(m, buf, sizeof buf - 1);
    CU_ASSERT_FATAL(r > 0);
    buf[r] = '\0';
    CU_ASSERT_PTR_NOT_NULL(strstr(buf, "\rpty ["));
    close(m);
    /* and a regular file is not a terminal: no bar, even when updates are frequent */
    FILE *g = tmpfile();
    fake_clock ck = {0};
    p = st_progress_create("file", 4, 0, g);
    st_progress_set_clock(p, fake_now, &ck);
    st_progress_update(p, 1);
    st_progress_finish(p);
    char *s = slurp(g);
    fclose(g);
    CU_ASSERT_STRING_EQUAL(s, "file: 1/4 done in 0:00 (0/s)\n");
    free(s);
}

typedef struct worker_arg {
    st_progress *p;
    int n;
} worker_arg;
static void *worker(void *a)
{
    worker_arg *w = a;
    for (int i = 0; i < w->n; i++) st_progress_add(w->p, 1);
    return NULL;
}

static void test_concurrent_add(void)
{
    FILE *f = tmpfile();
    st_progress *p = st_progress_create("par", 40000, 0, f);
    st_progress_set_interval(p, 0);
    pthread_t th[4];
    worker_arg wa = {p, 10000};
    for (int i = 0; i < 4; i++) pthread_create(&th[i], NULL, worker, &wa);
    for (int i = 0; i < 4; i++) pthread_join(th[i], NULL);
    CU_ASSERT_EQUAL(st_progress_done(p), 40000);
    st_progress_finish(p);
    char *s = slurp(f);
    fclose(f);
    /* every line is whole and the counts never go down */
    unsigned long long prev = 0;
    int lines = 0, badl = 0;
    char *save = NULL;
    for (char *l = strtok_r(s, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
        unsigned long long d, t;
        if (sscanf(l, "par: %llu/%llu", &d, &t) != 2 || t != 40000 || d < prev) badl++;
        prev = d;
        lines++;
    }
    CU_ASSERT(lines >= 2);
    CU_ASSERT_EQUAL(badl, 0);
    CU_ASSERT_EQUAL(prev, 40000);
    free(s);
}

void register_suites(void)
{
    CU_pSuite s = CU_add_suite("progress", NULL, NULL);
    ADD_TEST(s, test_plain_lines_numbers);
    ADD_TEST(s, test_plain_interval);
    ADD_TEST(s, test_quiet_and_unknown_total);
    ADD_TEST(s, test_tty_bar_redraw_limit);
    ADD_TEST(s, test_pty_detection);
    ADD_TEST(s, test_concurrent_add);
}
