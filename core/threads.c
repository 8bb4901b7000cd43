#include "core/threads.h"

#include <cblas.h>
#include <omp.h>

static int g_threads; /* 0 until strand_set_threads */
static int g_depth;   /* nesting of st_parallel_begin (called from the master thread only) */
static int g_blas_saved; /* BLAS threads before the outermost st_parallel_begin */

/* Unset: OpenMP's own default, which honours OMP_NUM_THREADS. */
int st_threads(void) { return g_threads > 0 ? g_threads : omp_get_max_threads(); }

void strand_set_threads(int n)
{
    g_threads = n > 0 ? n : omp_get_num_procs(); /* 0 = all cores */
    omp_set_num_threads(st_threads());
    if (g_depth == 0) openblas_set_num_threads(st_threads());
}

int strand_get_threads(void) { return st_threads(); }

void st_parallel_begin(void)
{
    if (g_depth++ == 0) {
        g_blas_saved = openblas_get_num_threads(); /* honours OPENBLAS_NUM_THREADS */
        openblas_set_num_threads(1);
    }
}

void st_parallel_end(void)
{
    if (g_depth > 0 && --g_depth == 0) openblas_set_num_threads(g_blas_saved > 0 ? g_blas_saved : st_threads());
}
