/* Selective-scan kernel selection (core/mamba_scan.c; docs/mamba.md "Scan kernels").
 *
 * The scan entry points (mamba_scan_forward, mamba_scan_forward_carry, mamba_scan_backward in
 * core/mamba.h) run one of these kernels on each call:
 *   MAMBA_SCAN_PORTABLE  channel blocks with the 16 states in the inner loop, compiled twice by gcc's
 *                        target_clones (AVX2 where the CPU has it, baseline x86-64 SSE2 otherwise);
 *   MAMBA_SCAN_AVX512    AVX-512F intrinsics with 16 channels in the lanes of a zmm register and the
 *                        16 states as 16 registers: no horizontal sum in forward, a vectorised exp,
 *                        the state of a block held in registers across the whole sequence; backward
 *                        recomputes h per chunk into a (chunk, 16, 16) buffer that stays in L2 and
 *                        reduces dB/dC over the 16 channels with one 16x16 transpose-add per step.
 * MAMBA_SCAN_AUTO picks AVX-512 when the CPU has AVX-512F, else the portable kernel. The
 * environment variable STRAND_SCAN_KERNEL=portable|avx512|auto, read on first use, overrides the
 * automatic choice (benchmarks); mamba_scan_set_kernel overrides both (tests). The naive
 * mamba_scan_ref_* loops stay the oracle for every kernel (tests/test_mamba.c). */
#ifndef STRAND_CORE_MAMBA_SCAN_H
#define STRAND_CORE_MAMBA_SCAN_H

typedef enum mamba_scan_kernel {
    MAMBA_SCAN_AUTO = 0,
    MAMBA_SCAN_PORTABLE = 1,
    MAMBA_SCAN_AVX512 = 2,
} mamba_scan_kernel;

/* 1 when this build and this CPU can run kernel k (AUTO and PORTABLE: always). */
int mamba_scan_kernel_available(mamba_scan_kernel k);
/* Use kernel k from now on (AUTO: the automatic choice). Returns 0, or STRAND_E_UNSUPPORTED when
 * k is not available (the selection is then unchanged). Not safe against scans running
 * concurrently in other threads: set it before starting work. */
int mamba_scan_set_kernel(mamba_scan_kernel k);
/* The kernel the next scan call runs (never AUTO). */
mamba_scan_kernel mamba_scan_kernel_active(void);
/* "portable", "avx512" or "auto". */
const char *mamba_scan_kernel_name(mamba_scan_kernel k);

/* Internal timers for benchmarks (bench/caduceus.c "scan_share"): mamba_scan_timing(1) zeroes the
 * total and starts adding the CPU time of every scan call (forward, carried forward, backward):
 * the process CPU time (all threads) of a call outside a parallel region (its own OpenMP team),
 * the calling thread's of a call inside one (inference workers, which scan concurrently: their
 * calls add atomically); mamba_scan_timing(0) stops. Off by default. */
void mamba_scan_timing(int on);
double mamba_scan_timing_cpu_s(void);
#endif
