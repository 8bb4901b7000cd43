/* Thread policy: strand's own outer loops use OpenMP; BLAS gets the threads only when strand
 * is not itself running in parallel, so the two pools never nest (docs/architecture.md "Errors, threads and randomness"). */
#ifndef STRAND_CORE_THREADS_H
#define STRAND_CORE_THREADS_H
#include "strand.h"
/* Call around an OpenMP region whose body calls BLAS: BLAS goes single-threaded inside. */
void st_parallel_begin(void);
void st_parallel_end(void);
/* Threads for strand's outer loops (resolved: never 0). */
int st_threads(void);
#endif
