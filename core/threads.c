#include "core/threads.h"

#include <cblas.h>
#include <omp.h>

static int g_threads; /* 0 until set: then all cores */
static int g_depth;   /* nesting of st_parallel_begin (called from the master thread only) */

int st_threads(void) { return g_threads > 0 ? g_threads : omp_get_num_procs(); }

void strand_set_threads(int n)
{
    g_threads = n > 0 ? n : 0;
    omp_set_num_threads(st_threads());
    if (g_depth == 0) openblas_set_num_threads(st_threads());
}

int strand_get_threads(void) { return st_threads(); }

void st_parallel_begin(void)
{
    if (g_depth++ == 0) openblas_set_num_threads(1);
}

void st_parallel_end(void)
{
    if (g_depth > 0 && --g_depth == 0) openblas_set_num_threads(st_threads());
}
