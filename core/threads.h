/* Thread policy: strand's own outer loops use OpenMP; BLAS gets the threads only when strand
 * is not itself running in parallel, so the two pools never nest (docs/architecture.md "Errors, threads and randomness"). */
#ifndef STRAND_CORE_THREADS_H
#define STRAND_CORE_THREADS_H
#include <stddef.h>
#include <stdint.h>

#include "strand.h"
/* Call around an OpenMP region whose body calls BLAS: BLAS goes single-threaded inside. */
void st_parallel_begin(void);
void st_parallel_end(void);
/* Threads for strand's outer loops (resolved: never 0). strand_set_threads caps the count under
 * an address-space limit (ulimit -v) at what fits, with a warning. */
int st_threads(void);
/* Address space each thread reserves before doing anything: OpenBLAS's per-thread buffer
 * (128 MiB in Debian's build), glibc's per-thread malloc arena (64 MiB), the stack (8 MiB). */
#define ST_THREAD_RESERVE ((size_t)200 << 20)
/* Bytes of address space left under RLIMIT_AS (ulimit -v), or -1 when unlimited. */
int64_t st_address_space_left(void);
/* STRAND_E_NOMEM naming `what`, the need and the limit when `need` bytes do not fit; else 0. */
int st_mem_check(size_t need, const char *what);
#endif
