/*
 * strand — genomics and molecule-design workbench: the public C API.
 *
 * One header for C programs, Python cffi/ctypes bindings and pipelines. It needs no htslib,
 * RDKit or BLAS headers. Conventions (see STYLE.md):
 *   - functions return 0 (STRAND_OK) or a negative STRAND_E_* code; strand_strerror() gives text;
 *   - objects are opaque handles with create/free pairs (free accepts NULL);
 *   - every failing call stores a detailed message, readable with strand_last_error() (per thread)
 *     and, for handles, with the handle's *_last_error();
 *   - the library never exits or aborts on bad input.
 */
#ifndef STRAND_H
#define STRAND_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(STRAND_BUILDING_LIBRARY)
#define STRAND_API __attribute__((visibility("default")))
#else
#define STRAND_API
#endif

/* ---- version ------------------------------------------------------------ */
#define STRAND_VERSION_MAJOR 0
#define STRAND_VERSION_MINOR 1
#define STRAND_VERSION_PATCH 0
#define STRAND_VERSION_STRING "0.1.0"
#define STRAND_VERSION_NUMBER (STRAND_VERSION_MAJOR * 10000 + STRAND_VERSION_MINOR * 100 + STRAND_VERSION_PATCH)

STRAND_API const char *strand_version_string(void);
STRAND_API int strand_version_number(void);

/* Versions of the libraries strand runs on, as reported by those libraries at run time. */
typedef struct strand_dep_versions {
    const char *htslib;   /* hts_version() */
    const char *openblas; /* openblas_get_config() */
    const char *zstd;     /* ZSTD_versionString() */
    const char *rdkit;    /* RDKit::rdkitVersion */
    const char *jansson;  /* JANSSON_VERSION */
} strand_dep_versions;
STRAND_API strand_dep_versions strand_get_dep_versions(void);

/* ---- errors --------------------------------------------------------------- */
enum {
    STRAND_OK = 0,
    STRAND_E_NOMEM = -1,       /* out of memory */
    STRAND_E_IO = -2,          /* cannot open/read/write a file */
    STRAND_E_FORMAT = -3,      /* malformed input file or record */
    STRAND_E_ARG = -4,         /* invalid argument */
    STRAND_E_UNSUPPORTED = -5, /* valid but not supported (dtype, model kind, ...) */
    STRAND_E_SHAPE = -6,       /* tensor/array shape mismatch */
    STRAND_E_NOTFOUND = -7,    /* named item (tensor, contig, column) not found */
    STRAND_E_TOKENIZE = -8,    /* input cannot be tokenised */
    STRAND_E_CANCELLED = -9,   /* cancelled by a callback */
    STRAND_E_RANGE = -10,      /* value or region out of range */
    STRAND_E_CHEM = -11,       /* chemistry (RDKit) failure: unparsable molecule, ... */
    STRAND_E_INTERNAL = -12    /* a bug in strand: please report */
};

/* Short text for a STRAND_E_* code ("format error", ...). Never NULL. */
STRAND_API const char *strand_strerror(int code);
/* The detailed message of the last failing call on this thread ("" if none). */
STRAND_API const char *strand_last_error(void);
/* The code of the last failing call on this thread (0 if none). */
STRAND_API int strand_last_error_code(void);
STRAND_API void strand_clear_error(void);

/* ---- logging --------------------------------------------------------------- */
enum { STRAND_LOG_ERROR = 0, STRAND_LOG_WARN = 1, STRAND_LOG_INFO = 2, STRAND_LOG_DEBUG = 3 };
typedef void (*strand_log_fn)(int level, const char *msg, void *user);
/* Messages at or below `level` are emitted (default STRAND_LOG_WARN, to stderr). */
STRAND_API void strand_set_log_level(int level);
STRAND_API int strand_get_log_level(void);
/* Route messages to a callback instead of stderr (NULL restores stderr). */
STRAND_API void strand_set_log_callback(strand_log_fn fn, void *user);

/* ---- threads ----------------------------------------------------------------- */
/* Threads strand uses for its own outer loops (0 = all cores). BLAS runs single-threaded inside
 * strand's parallel regions and with this many threads outside them; the two never nest. */
STRAND_API void strand_set_threads(int n);
STRAND_API int strand_get_threads(void);

/* ---- random numbers ------------------------------------------------------------ */
/* xoshiro256** state, seeded through splitmix64. Explicit state: no hidden globals. */
typedef struct strand_rng { uint64_t s[4]; } strand_rng;
STRAND_API void strand_rng_seed(strand_rng *rng, uint64_t seed);
STRAND_API uint64_t strand_rng_next(strand_rng *rng);
STRAND_API double strand_rng_uniform(strand_rng *rng);        /* [0,1) with 53 random bits */
STRAND_API uint64_t strand_rng_below(strand_rng *rng, uint64_t n); /* uniform in [0,n), unbiased */
STRAND_API double strand_rng_normal(strand_rng *rng);         /* standard normal */
/* Split off an independent stream (jump ahead 2^128 steps): for per-thread/per-item streams. */
STRAND_API void strand_rng_jump(strand_rng *rng);

#ifdef __cplusplus
}
#endif
#endif /* STRAND_H */
