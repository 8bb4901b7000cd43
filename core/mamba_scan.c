/* Selective scan of the Mamba block (docs/mamba.md "The selective scan"): the naive reference and the fast kernels.
 *
 * Fast layout: channels are independent recurrences, so work is split over channel blocks
 * (and sequences in forward); for each time step the inner loop runs over the 16 states with
 * plain arithmetic and a branch-free polynomial exp, which gcc -O2 vectorises for any x86-64.
 * Training forward stores h only before each chunk of `chunk` steps; backward recomputes h and
 * exp(Δ·A) inside one chunk at a time (chunk × block × 16 floats per thread). */
#include <math.h>
#include <omp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/error.h"
#include "core/mamba.h"
#include "core/mamba_math.h"
#include "core/mamba_scan.h"
#include "core/mamba_scan_kernels.h"

#define NS MAMBA_D_STATE
#define CB 16 /* channels per block: one cache line of Δ, x, y per time step */

/* Σ_n p[n] over the 16 states as a fixed pairwise tree: short dependency chains, vector adds,
 * and the same rounding in every build. */
static inline __attribute__((always_inline)) float sum16(const float *p)
{
    float q[8], r[4];
    for (int n = 0; n < 8; n++) q[n] = p[n] + p[n + 8];
    for (int n = 0; n < 4; n++) r[n] = q[n] + q[n + 4];
    return (r[0] + r[2]) + (r[1] + r[3]);
}

/* Runtime dispatch (minimap2-style, via gcc's ifunc-based target_clones): an AVX2 build of
 * the scan blocks for CPUs that have it, the baseline x86-64 (SSE2) one otherwise. */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && !defined(__SANITIZE_ADDRESS__)
#define SCAN_CLONES __attribute__((target_clones("avx2", "default")))
#else
#define SCAN_CLONES
#endif

/* ---- exp (core/mamba_math.h) ------------------------------------------------------------------ */
#define exp_poly mm_exp

void mamba_exp_array(float *restrict out, const float *restrict in, size_t n)
{
    for (size_t i = 0; i < n; i++) out[i] = exp_poly(in[i]);
}

/* ---- kernel selection (core/mamba_scan.h) ---------------------------------------------------- */
static int g_kernel = -1; /* -1: not chosen yet; else a mamba_scan_kernel other than AUTO */

int mamba_scan_kernel_available(mamba_scan_kernel k)
{
    if (k == MAMBA_SCAN_AUTO || k == MAMBA_SCAN_PORTABLE) return 1;
#if MAMBA_SCAN_HAVE_AVX512
    if (k == MAMBA_SCAN_AVX512) return mamba_scan_cpu_has_avx512();
#endif
    return 0;
}

static mamba_scan_kernel auto_kernel(void)
{
    const char *env = getenv("STRAND_SCAN_KERNEL");
    if (env && !strcmp(env, "portable")) return MAMBA_SCAN_PORTABLE;
    /* "avx512", "auto", unset or unknown: the best available */
    return mamba_scan_kernel_available(MAMBA_SCAN_AVX512) ? MAMBA_SCAN_AVX512 : MAMBA_SCAN_PORTABLE;
}

int mamba_scan_set_kernel(mamba_scan_kernel k)
{
    if (k != MAMBA_SCAN_AUTO && k != MAMBA_SCAN_PORTABLE && k != MAMBA_SCAN_AVX512)
        return st_err(NULL, STRAND_E_ARG, "mamba scan: unknown kernel %d", (int)k);
    if (!mamba_scan_kernel_available(k))
        return st_err(NULL, STRAND_E_UNSUPPORTED, "mamba scan: the %s kernel needs a CPU with AVX-512F",
                      mamba_scan_kernel_name(k));
    g_kernel = k == MAMBA_SCAN_AUTO ? (int)auto_kernel() : (int)k;
    return 0;
}

mamba_scan_kernel mamba_scan_kernel_active(void)
{
    if (g_kernel < 0) g_kernel = (int)auto_kernel();
    return (mamba_scan_kernel)g_kernel;
}

static int g_timing = 0;
static long long g_scan_cpu_ns = 0; /* added to atomically: the scan also runs on inference workers */

/* CPU time of what a scan call costs: inside a parallel region (a worker of caduceus inference
 * or VEP, the scan on its own thread) the calling thread's clock, since the process clock would
 * also count the other workers' concurrent work; outside one (the scan's own OpenMP team, the
 * rest of the process idle in the meantime) the process clock. */
static long long cpu_now_ns(void)
{
    struct timespec ts;
    clock_gettime(omp_in_parallel() ? CLOCK_THREAD_CPUTIME_ID : CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (long long)ts.tv_sec * 1000000000LL + (long long)ts.tv_nsec;
}

static void timing_add(long long t0)
{
    if (g_timing) __atomic_fetch_add(&g_scan_cpu_ns, cpu_now_ns() - t0, __ATOMIC_RELAXED);
}

void mamba_scan_timing(int on)
{
    if (on) __atomic_store_n(&g_scan_cpu_ns, 0, __ATOMIC_RELAXED);
    g_timing = on != 0;
}

double mamba_scan_timing_cpu_s(void) { return 1e-9 * (double)__atomic_load_n(&g_scan_cpu_ns, __ATOMIC_RELAXED); }

const char *mamba_scan_kernel_name(mamba_scan_kernel k)
{
    switch (k) {
    case MAMBA_SCAN_PORTABLE: return "portable";
    case MAMBA_SCAN_AVX512: return "avx512";
    default: return "auto";
    }
}

/* ---- reference ------------------------------------------------------------------------------ */
void mamba_scan_ref_forward(float *y, float *hs, const float *x, const float *delta, const float *A,
                            const float *BC, const float *Dskip, const mamba_scan_dims *s)
{
    size_t L = s->L, di = s->di, ns = s->ns;
    for (size_t b = 0; b < s->B; b++)
        for (size_t c = 0; c < di; c++)
            for (size_t t = 0; t < L; t++) {
                size_t bt = b * L + t;
                const float *Bt = BC + bt * s->bc_stride, *Ct = Bt + ns;
                float dl = delta[bt * di + c], xv = x[bt * di + c];
                float *h = hs + (bt * di + c) * ns;
                const float *hp = t ? hs + ((bt - 1) * di + c) * ns : NULL;
                float acc = 0;
                for (size_t n = 0; n < ns; n++) {
                    h[n] = expf(dl * A[c * ns + n]) * (hp ? hp[n] : 0.0f) + dl * Bt[n] * xv;
                    acc += Ct[n] * h[n];
                }
                y[bt * di + c] = acc + Dskip[c] * xv;
            }
}

void mamba_scan_ref_backward(float *dx, float *ddelta, float *dA, float *dBC, float *dD, const float *dy,
                             const float *hs, const float *x, const float *delta, const float *A,
                             const float *BC, const float *Dskip, const mamba_scan_dims *s)
{
    size_t L = s->L, di = s->di, ns = s->ns;
    float *dh = calloc(ns, sizeof(float));
    if (!dh) return;
    for (size_t b = 0; b < s->B; b++)
        for (size_t c = 0; c < di; c++) {
            memset(dh, 0, ns * sizeof(float)); /* dh_{t+1} (after the last step: 0) */
            for (size_t t = L; t-- > 0;) {
                size_t bt = b * L + t;
                const float *Bt = BC + bt * s->bc_stride, *Ct = Bt + ns;
                float *dBt = dBC + bt * s->bc_stride, *dCt = dBt + ns;
                float dl = delta[bt * di + c], xv = x[bt * di + c], g = dy[bt * di + c];
                float dlnext = t + 1 < L ? delta[(bt + 1) * di + c] : 0.0f;
                const float *h = hs + (bt * di + c) * ns;
                const float *hp = t ? hs + ((bt - 1) * di + c) * ns : NULL;
                float sdx = 0, sdd = 0;
                for (size_t n = 0; n < ns; n++) {
                    float an = A[c * ns + n];
                    /* dh_t = g_t·C_t + exp(Δ_{t+1}·A)·dh_{t+1} */
                    float dht = g * Ct[n] + (t + 1 < L ? expf(dlnext * an) * dh[n] : 0.0f);
                    float a = expf(dl * an) * (hp ? hp[n] : 0.0f);
                    sdx += dht * Bt[n];
                    sdd += dht * (Bt[n] * xv + an * a);
                    dA[c * ns + n] += dht * dl * a;
                    dBt[n] += dht * dl * xv;
                    dCt[n] += g * h[n];
                    dh[n] = dht;
                }
                dx[bt * di + c] += Dskip[c] * g + dl * sdx;
                ddelta[bt * di + c] += sdd;
                dD[c] += g * xv;
            }
        }
    free(dh);
}

/* ---- fast forward ---------------------------------------------------------------------------- */
/* One sequence b, channels [c0, c0+nc): h kept in a (CB,16) block. */
SCAN_CLONES static void scan_fwd_block(float *y, float *hck, const float *x, const float *delta, const float *A,
                           const float *BC, const float *Dskip, const mamba_scan_dims *s, size_t b,
                           size_t c0, size_t nc, float *hcarry)
{
    size_t L = s->L, di = s->di;
    float h[CB][NS], dl_a[NS], e[NS];
    memset(h, 0, sizeof h);
    if (hcarry) /* (B, di, Ns): state before this piece of the sequence */
        for (size_t j = 0; j < nc; j++) memcpy(h[j], hcarry + ((b * di) + c0 + j) * NS, sizeof h[j]);
    for (size_t t = 0; t < L; t++) {
        size_t bt = b * L + t;
        if (hck && t % s->chunk == 0) {
            size_t k = t / s->chunk, nck = (L + s->chunk - 1) / s->chunk;
            for (size_t j = 0; j < nc; j++)
                memcpy(hck + (((b * nck + k) * di) + c0 + j) * NS, h[j], sizeof h[j]);
        }
        const float *Bt = BC + bt * s->bc_stride, *Ct = Bt + NS;
        for (size_t j = 0; j < nc; j++) {
            size_t c = c0 + j;
            float dl = delta[bt * di + c], xv = x[bt * di + c], dx = dl * xv;
            const float *Ac = A + c * NS;
            for (int n = 0; n < NS; n++) dl_a[n] = dl * Ac[n];
            for (int n = 0; n < NS; n++) e[n] = exp_poly(dl_a[n]);
            float p[NS];
            for (int n = 0; n < NS; n++) {
                h[j][n] = e[n] * h[j][n] + dx * Bt[n];
                p[n] = Ct[n] * h[j][n];
            }
            y[bt * di + c] = sum16(p) + Dskip[c] * xv;
        }
    }
    if (hcarry)
        for (size_t j = 0; j < nc; j++) memcpy(hcarry + ((b * di) + c0 + j) * NS, h[j], sizeof h[j]);
}

typedef void (*fwd_fn)(float *, float *, const float *, const float *, const float *, const float *, const float *,
                       const mamba_scan_dims *, size_t, size_t, size_t, float *);
static fwd_fn pick_fwd(void)
{
#if MAMBA_SCAN_HAVE_AVX512
    if (mamba_scan_kernel_active() == MAMBA_SCAN_AVX512) return mamba_scan_fwd_block_avx512;
#endif
    return scan_fwd_block;
}

void mamba_scan_forward(float *y, float *hck, const float *x, const float *delta, const float *A,
                        const float *BC, const float *Dskip, const mamba_scan_dims *s)
{
    size_t nblk = (s->di + CB - 1) / CB;
    long total = (long)(s->B * nblk);
    fwd_fn fwd = pick_fwd();
    long long t0 = g_timing ? cpu_now_ns() : 0;
#pragma omp parallel for schedule(static) if (s->B * s->L * s->di >= MAMBA_PAR_MIN)
    for (long it = 0; it < total; it++) {
        size_t b = (size_t)it / nblk, c0 = ((size_t)it % nblk) * CB;
        size_t nc = s->di - c0 < CB ? s->di - c0 : CB;
        fwd(y, hck, x, delta, A, BC, Dskip, s, b, c0, nc, NULL);
    }
    timing_add(t0);
}

void mamba_scan_forward_carry(float *y, float *h, const float *x, const float *delta, const float *A,
                              const float *BC, const float *Dskip, const mamba_scan_dims *s)
{
    size_t nblk = (s->di + CB - 1) / CB;
    long total = (long)(s->B * nblk);
    fwd_fn fwd = pick_fwd();
    long long t0 = g_timing ? cpu_now_ns() : 0;
#pragma omp parallel for schedule(static) if (s->B * s->L * s->di >= MAMBA_PAR_MIN)
    for (long it = 0; it < total; it++) {
        size_t b = (size_t)it / nblk, c0 = ((size_t)it % nblk) * CB;
        size_t nc = s->di - c0 < CB ? s->di - c0 : CB;
        fwd(y, NULL, x, delta, A, BC, Dskip, s, b, c0, nc, h);
    }
    timing_add(t0);
}

/* ---- fast backward --------------------------------------------------------------------------- */
/* One sequence b, channels [c0, c0+nc). hs/ea: (chunk, CB, 16) thread-local work space.
 * dBC_priv: this thread's (L, 2·16) accumulator for sequence b. dA: (CB,16) accumulated here. */
SCAN_CLONES static void scan_bwd_block(float *dx, float *ddelta, float *dAblk, float *dBC_priv, float *dD,
                           const float *dy, const float *hck, const float *x, const float *delta,
                           const float *A, const float *BC, const float *Dskip, const mamba_scan_dims *s,
                           size_t b, size_t c0, size_t nc, float *hs, float *ea, float *rbuf)
{
    size_t L = s->L, di = s->di, ch = s->chunk, nck = (L + ch - 1) / ch;
    float *r = rbuf; /* (CB,16): exp(Δ_{t+1}A)·dh_{t+1} */
    memset(r, 0, CB * NS * sizeof(float));
    for (size_t k = nck; k-- > 0;) {
        size_t t0 = k * ch, t1 = t0 + ch < L ? t0 + ch : L;
        /* recompute h_t and exp(Δ_t A) inside the chunk from the checkpoint */
        for (size_t j = 0; j < nc; j++) {
            size_t c = c0 + j;
            const float *hprev = hck + ((b * nck + k) * di + c) * NS;
            const float *Ac = A + c * NS;
            for (size_t t = t0; t < t1; t++) {
                size_t bt = b * L + t;
                float dl = delta[bt * di + c], dxv = dl * x[bt * di + c];
                float *restrict e = ea + ((t - t0) * CB + j) * NS;
                float *restrict ho = hs + ((t - t0) * CB + j) * NS;
                const float *restrict Bq = BC + bt * s->bc_stride, *restrict hq = hprev;
                float dl_a[NS];
                for (int n = 0; n < NS; n++) dl_a[n] = dl * Ac[n];
                for (int n = 0; n < NS; n++) e[n] = exp_poly(dl_a[n]);
                for (int n = 0; n < NS; n++) ho[n] = e[n] * hq[n] + dxv * Bq[n];
                hprev = ho;
            }
        }
        /* reverse sweep */
        for (size_t t = t1; t-- > t0;) {
            size_t bt = b * L + t;
            const float *Bt = BC + bt * s->bc_stride, *Ct = Bt + NS;
            float *dBt = dBC_priv + t * 2 * NS, *dCt = dBt + NS;
            for (size_t j = 0; j < nc; j++) {
                size_t c = c0 + j;
                float dl = delta[bt * di + c], xv = x[bt * di + c], g = dy[bt * di + c];
                const float *Ac = A + c * NS;
                const float *restrict e = ea + ((t - t0) * CB + j) * NS;
                const float *restrict h = hs + ((t - t0) * CB + j) * NS;
                const float *restrict hp =
                    t > t0 ? hs + ((t - 1 - t0) * CB + j) * NS : hck + ((b * nck + k) * di + c) * NS;
                const float *restrict Bq = Bt, *restrict Cq = Ct, *restrict Aq = Ac;
                float *restrict dBq = dBt, *restrict dCq = dCt, *restrict dAq = dAblk + j * NS, *restrict rq = r + j * NS;
                float pdx[NS], pdd[NS];
                float dlx = dl * xv;
                for (int n = 0; n < NS; n++) {
                    float dh = g * Cq[n] + rq[n];
                    float a = e[n] * hp[n];
                    pdx[n] = dh * Bq[n];
                    pdd[n] = dh * (Bq[n] * xv + Aq[n] * a);
                    dAq[n] += dh * dl * a;
                    dBq[n] += dh * dlx;
                    dCq[n] += g * h[n];
                    rq[n] = dh * e[n];
                }
                float sdx = sum16(pdx), sdd = sum16(pdd);
                dx[bt * di + c] += Dskip[c] * g + dl * sdx;
                ddelta[bt * di + c] += sdd;
                dD[c] += g * xv;
            }
        }
    }
}

typedef void (*bwd_fn)(float *, float *, float *, float *, float *, const float *, const float *, const float *,
                       const float *, const float *, const float *, const float *, const mamba_scan_dims *, size_t,
                       size_t, size_t, float *, float *, float *);

int mamba_scan_backward(float *dx, float *ddelta, float *dA, float *dBC, float *dD, const float *dy,
                         const float *hck, const float *x, const float *delta, const float *A,
                         const float *BC, const float *Dskip, const mamba_scan_dims *s)
{
    size_t nblk = (s->di + CB - 1) / CB, L = s->L, B = s->B;
    size_t ch = s->chunk < L ? s->chunk : L;
    bwd_fn bwd = scan_bwd_block;
#if MAMBA_SCAN_HAVE_AVX512
    if (mamba_scan_kernel_active() == MAMBA_SCAN_AVX512) bwd = mamba_scan_bwd_block_avx512;
#endif
    long long tstart = g_timing ? cpu_now_ns() : 0;
    int nth = B * L * s->di >= MAMBA_PAR_MIN ? omp_get_max_threads() : 1;
    if ((size_t)nth > nblk) nth = (int)nblk;
    /* per thread: dB|dC for every (b,t): (B, L, 32); plus chunk work space */
    size_t priv = B * L * 2 * NS, work = 2 * ch * CB * NS + CB * NS;
    float *mem = calloc((size_t)nth * (priv + work), sizeof(float));
    if (!mem)
        return st_err(NULL, STRAND_E_NOMEM, "mamba scan backward: cannot allocate %zu floats",
                      (size_t)nth * (priv + work));
#pragma omp parallel num_threads(nth)
    {
        int tid = omp_get_thread_num();
        float *mine = mem + (size_t)tid * (priv + work);
        float *hs = mine + priv, *ea = hs + ch * CB * NS, *rbuf = ea + ch * CB * NS;
#pragma omp for schedule(static)
        for (long ib = 0; ib < (long)nblk; ib++) {
            size_t c0 = (size_t)ib * CB, nc = s->di - c0 < CB ? s->di - c0 : CB;
            float dAblk[CB * NS];
            memset(dAblk, 0, sizeof dAblk);
            for (size_t b = 0; b < B; b++)
                bwd(dx, ddelta, dAblk, mine + b * L * 2 * NS, dD, dy, hck, x, delta, A, BC, Dskip, s, b, c0, nc,
                    hs, ea, rbuf);
            for (size_t j = 0; j < nc; j++)
                for (int n = 0; n < NS; n++) dA[(c0 + j) * NS + n] += dAblk[j * NS + n];
        }
        /* reduce the private dB|dC into the strided dBC, split over rows */
#pragma omp for schedule(static)
        for (long bt = 0; bt < (long)(B * L); bt++) {
            float *dst = dBC + (size_t)bt * s->bc_stride;
            for (int th = 0; th < nth; th++) {
                const float *src = mem + (size_t)th * (priv + work) + (size_t)bt * 2 * NS;
                for (int n = 0; n < 2 * NS; n++) dst[n] += src[n];
            }
        }
    }
    free(mem);
    timing_add(tstart);
    return 0;
}
