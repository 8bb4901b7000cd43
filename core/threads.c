#include "core/threads.h"

#include <cblas.h>
#include <omp.h>
#include <stdio.h>
#include <sys/resource.h>
#include <unistd.h>

#include "core/error.h"
#include "core/log.h"

static int g_threads; /* 0 until strand_set_threads */
static int g_depth;   /* nesting of st_parallel_begin (atomic: samplers inside a design campaign's
                       * parallel jobs call it from worker threads while the outer region holds it) */
static int g_blas_saved; /* BLAS threads before the outermost st_parallel_begin */

/* Unset: OpenMP's own default, which honours OMP_NUM_THREADS. */
int st_threads(void) { return g_threads > 0 ? g_threads : omp_get_max_threads(); }

int64_t st_address_space_left(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_AS, &rl) != 0 || rl.rlim_cur == RLIM_INFINITY) return -1;
    long long pages = 0;
    FILE *fp = fopen("/proc/self/statm", "r");
    if (!fp) return -1;
    int ok = fscanf(fp, "%lld", &pages) == 1;
    fclose(fp);
    if (!ok) return -1;
    int64_t used = (int64_t)pages * (int64_t)sysconf(_SC_PAGESIZE), lim = (int64_t)rl.rlim_cur;
    return lim > used ? lim - used : 0;
}

int st_mem_check(size_t need, const char *what)
{
    int64_t left = st_address_space_left();
    if (left < 0 || (int64_t)need <= left) return 0;
    struct rlimit rl;
    getrlimit(RLIMIT_AS, &rl);
    int64_t used = (int64_t)rl.rlim_cur - left, kib = (used + (int64_t)need) / 1024 * 11 / 10; /* +10% */
    return st_err(NULL, STRAND_E_NOMEM, "%s needs about %zu MiB of address space, but the limit (ulimit -v) leaves "
                  "%lld MiB: raise it (ulimit -v %lld) or use fewer threads", what, need >> 20, (long long)(left >> 20),
                  (long long)kib);
}

void strand_set_threads(int n)
{
    int procs = omp_get_num_procs(), want = n > 0 ? n : procs; /* 0 = all cores */
    /* under an address-space limit (ulimit -v, SGE h_vmem) every thread costs ST_THREAD_RESERVE
     * before any work: OpenBLAS would fail to allocate and never return, so use fewer */
    int64_t left = st_address_space_left();
    if (left >= 0 && want > 1 && (int64_t)want * (int64_t)ST_THREAD_RESERVE > left) {
        int fit = (int)(left / (int64_t)ST_THREAD_RESERVE);
        if (fit < 1) fit = 1;
        st_warn("the address-space limit (ulimit -v) leaves %lld MiB and each thread reserves about %zu MiB "
                "(OpenBLAS buffer 128, malloc arena 64, stack 8): %d thread%s instead of %d", (long long)(left >> 20),
                ST_THREAD_RESERVE >> 20, fit, fit == 1 ? "" : "s", want);
        want = fit;
    }
    g_threads = want;
    omp_set_num_threads(st_threads());
    if (__atomic_load_n(&g_depth, __ATOMIC_ACQUIRE) == 0) openblas_set_num_threads(st_threads());
}

int strand_get_threads(void) { return st_threads(); }

void st_parallel_begin(void)
{
    if (__atomic_fetch_add(&g_depth, 1, __ATOMIC_ACQ_REL) == 0) {
        g_blas_saved = openblas_get_num_threads(); /* honours OPENBLAS_NUM_THREADS */
        openblas_set_num_threads(1);
    }
}

void st_parallel_end(void)
{
    int d = __atomic_load_n(&g_depth, __ATOMIC_ACQUIRE);
    if (d > 0 && __atomic_sub_fetch(&g_depth, 1, __ATOMIC_ACQ_REL) == 0) openblas_set_num_threads(g_blas_saved > 0 ? g_blas_saved : st_threads());
}
