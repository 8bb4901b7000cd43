/*
 * strand — genomics and molecule-design workbench: the public C API.
 *
 * One header for C programs, Python cffi/ctypes bindings and pipelines. It needs no htslib,
 * RDKit or BLAS headers. Conventions (docs/architecture.md "Errors, threads and randomness"):
 *   - functions return 0 (STRAND_OK) or a negative STRAND_E_* code; strand_strerror() gives text;
 *   - objects are opaque handles with create/free pairs (free accepts NULL);
 *   - every failing call stores a detailed message, readable with strand_last_error() (per thread)
 *     and, for handles, with the handle's *_last_error();
 *   - the library never exits or aborts on bad input.
 *
 * Stable and experimental calls (zstd's ZSTD_STATIC_LINKING_ONLY idea). Everything outside the
 * section at the end of this file is stable: its names, arguments and meaning change only with
 * the major version. The calls of the second wave (samplers, guidance, design campaigns, new model
 * kinds) are experimental until they settle: they are declared only when the program defines
 * STRAND_EXPERIMENTAL before including this header,
 *     #define STRAND_EXPERIMENTAL
 *     #include <strand.h>
 * and they may change or go away in any release. A call leaves the experimental section (and
 * becomes stable) by moving above it; it never moves back.
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
#ifndef STRAND_EXPERIMENTAL
#define STRAND_EXPERIMENTAL /* the library defines (and exports) every call, experimental ones too */
#endif
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

/* ---- tokenizers (docs/tokenizers.md) ----------------------------------------------- */
/* DNA: the Caduceus character vocabulary (ids 0..11, 16 rows with padding), no specials added for
 * model input. SMILES: the regex tokenizer with <bos>=0 <eos>=1 <mask>=2 <pad>=3 <unk>=4 and a
 * vocabulary built from a corpus. Model files keep the tokenizer as JSON in their metadata under
 * STRAND_TOKENIZER_META_KEY: {"kind":"dna"} or {"kind":"smiles","tokens":[all tokens by id]}.
 * A handle is read-only after creation except for its last-error message. */
typedef struct strand_tokenizer strand_tokenizer;
enum { STRAND_TOKENIZER_DNA = 1, STRAND_TOKENIZER_SMILES = 2 };
enum { STRAND_TOKEN_BOS = 0, STRAND_TOKEN_EOS = 1, STRAND_TOKEN_MASK = 2, STRAND_TOKEN_PAD = 3, STRAND_TOKEN_UNK = 4 };
#define STRAND_TOKENIZER_META_KEY "strand.tokenizer"
#define STRAND_DECODE_KEEP_SPECIAL 1 /* decode flag: write specials by name instead of dropping them */

STRAND_API int strand_tokenizer_dna_create(strand_tokenizer **out);
/* Vocabulary = the distinct tokens of the n strings, sorted by byte order (corpus order does not
 * matter). STRAND_E_TOKENIZE naming the string index and character position on a bad string. */
STRAND_API int strand_tokenizer_smiles_build(strand_tokenizer **out, const char *const *smiles, size_t n);
STRAND_API int strand_tokenizer_from_json(strand_tokenizer **out, const char *json);
/* *json is a NUL-terminated string allocated with malloc: release it with free(). */
STRAND_API int strand_tokenizer_to_json(strand_tokenizer *tok, char **json);
STRAND_API void strand_tokenizer_free(strand_tokenizer *tok); /* accepts NULL */
STRAND_API int strand_tokenizer_kind(const strand_tokenizer *tok); /* STRAND_TOKENIZER_* */
/* Rows of embeddings/heads: 16 for DNA (padded), 5 + tokens for SMILES. */
STRAND_API size_t strand_tokenizer_vocab_size(const strand_tokenizer *tok);
/* Text of one id ("A", "[MASK]", "Cl", "<pad>"); NULL for unused or out-of-range ids. */
STRAND_API const char *strand_tokenizer_token(const strand_tokenizer *tok, int32_t id);
/* Id of a special (STRAND_TOKEN_*); DNA: BOS [BOS], EOS [SEP], MASK [MASK], PAD [PAD], UNK [UNK]. -1 if unknown. */
STRAND_API int32_t strand_tokenizer_special(const strand_tokenizer *tok, int which);
/* Token ids of text, no specials added: DNA one per character (upper-cased, others [UNK]); SMILES
 * one per regex token (tokens outside the vocabulary -> <unk>). *n_out receives the count, also
 * when it exceeds max_len (then STRAND_E_RANGE; ids NULL with max_len 0 only measures). */
STRAND_API int strand_tokenizer_encode(strand_tokenizer *tok, const char *text, int32_t *ids, size_t max_len,
                                       size_t *n_out);
/* The same, also counting tokens mapped to [UNK]/<unk> in *n_unk (may be NULL). */
STRAND_API int strand_tokenizer_encode_ex(strand_tokenizer *tok, const char *text, int32_t *ids, size_t max_len,
                                          size_t *n_out, size_t *n_unk);
/* Model input of exactly model_len ids: SMILES <bos> tokens <eos> <pad>...; DNA tokens [PAD]...
 * *n_used (may be NULL) = ids before the padding. STRAND_E_RANGE naming the string and the lengths
 * when it does not fit. */
STRAND_API int strand_tokenizer_encode_padded(strand_tokenizer *tok, const char *text, int32_t *ids,
                                              size_t model_len, size_t *n_used, size_t *n_unk);
/* Ids -> text with specials dropped (flags 0) or written by name (STRAND_DECODE_KEEP_SPECIAL).
 * Writes at most cap-1 bytes and a NUL; *len_out (may be NULL) = full length; STRAND_E_RANGE when
 * cap is too small or an id is outside the vocabulary; out NULL only measures. */
STRAND_API int strand_tokenizer_decode(strand_tokenizer *tok, const int32_t *ids, size_t n, char *out, size_t cap,
                                       size_t *len_out);
STRAND_API int strand_tokenizer_decode_ex(strand_tokenizer *tok, const int32_t *ids, size_t n, int flags, char *out,
                                          size_t cap, size_t *len_out);
/* DNA only: complement of one id (A<->T, C<->G, others fixed); negative STRAND_E_* for a SMILES
 * tokenizer or an id outside [0, 16). */
STRAND_API int32_t strand_tokenizer_complement(strand_tokenizer *tok, int32_t id);
/* DNA only: out[i] = complement(ids[n-1-i]); out == ids allowed. */
STRAND_API int strand_tokenizer_reverse_complement(strand_tokenizer *tok, const int32_t *ids, int32_t *out, size_t n);
/* DNA only, Caduceus pretraining: N -> [PAD] in place; *n_replaced (may be NULL) counts them. */
STRAND_API int strand_tokenizer_n_to_pad(strand_tokenizer *tok, int32_t *ids, size_t n, size_t *n_replaced);
/* The handle's last error message ("" if none). */
STRAND_API const char *strand_tokenizer_last_error(const strand_tokenizer *tok);

/* ---- models ------------------------------------------------------------------------------ */
/* A trained network, loaded from (docs/formats.md "Model directories")
 *   - a strand safetensors file (optionally .zst) whose __metadata__ "strand.config" holds the
 *     config as JSON with "kind" ("dit", "caduceus_ps", "caduceus_ph"), or
 *   - a HuggingFace directory: config.json (model_type "udlm"/"mdlm": hidden_dim, n_blocks,
 *     n_heads, cond_dim, vocab_size, model_length, time_conditioning, cfg, cfg_num_classes; or
 *     model_type "caduceus" with "rcps") beside model.safetensors[.zst], tensors under their
 *     published names (a published model.safetensors named directly finds the config.json beside it).
 * The handle holds the weights once; calls with changing shapes copy no weights. */
typedef struct strand_model strand_model;
STRAND_API int strand_model_load(const char *path, strand_model **out);
STRAND_API void strand_model_free(strand_model *m);              /* accepts NULL */
STRAND_API const char *strand_model_kind(const strand_model *m); /* "dit", ... */
STRAND_API const char *strand_model_config(const strand_model *m); /* the config JSON text */
STRAND_API size_t strand_model_vocab_size(const strand_model *m);  /* V */
STRAND_API size_t strand_model_max_length(const strand_model *m);  /* longest L (SIZE_MAX: any, Caduceus) */
STRAND_API int strand_model_num_classes(const strand_model *m);    /* 0: no label conditioning */
/* Raw logits out (n,L,V) for ids (n,L) in [0,V): the network's output, what the HuggingFace model's
 * `logits` are (Caduceus-PH: x alone, not post-hoc conjoined; see strand_model_logits_rc_average).
 * sigma (n) is the noise level fed to time-conditioned models (NULL: 0); labels (n) in [0, num_classes] (num_classes = the null label of
 * classifier-free guidance; NULL: null label) for label-conditioned models only. A "classifier" model
 * (noisy classifier) writes its class logits out (n, C), C = strand_model_num_classes, and takes no labels. */
STRAND_API int strand_model_logits(strand_model *m, const int32_t *ids, size_t n, size_t L, const float *sigma,
                                   const int32_t *labels, float *out);
STRAND_API const char *strand_model_last_error(const strand_model *m);

/* ---- caduceus ------------------------------------------------------------------------------ */
/* Caduceus DNA language models (docs/caduceus.md): PS (RC-equivariant) and PH. Loads a HuggingFace
 * CaduceusForMaskedLM directory (config.json + model.safetensors, e.g. the published 131k models)
 * or a strand checkpoint ("strand.config" metadata, kind "caduceus_ps"/"caduceus_ph"). Inputs are
 * DNA token ids (strand_tokenizer_dna_create) in [0, 16). Inference memory is O(L·D) per sequence.
 * Embeddings: PS: strand-collapsed (forward strand + the RC strand mapped back to the same site),
 * so embed(rc(x)) = embed(x) reversed along L; PH: post-hoc conjoined (x and rc(x) averaged the
 * same way). Logits (n, L, 16): PS: the tied RC-equivariant head; PH: conjoined, averaged. */
typedef struct strand_caduceus strand_caduceus;
enum { STRAND_EMBED_PER_POSITION = 0, STRAND_EMBED_MEAN = 1 };
STRAND_API int strand_caduceus_load(const char *path, strand_caduceus **out);
STRAND_API void strand_caduceus_free(strand_caduceus *m); /* accepts NULL */
/* Any output pointer may be NULL. */
STRAND_API int strand_caduceus_info(const strand_caduceus *m, int *d_model, int *n_layer, int *rcps);
/* out (n, L, 16) for ids (n, L). */
STRAND_API int strand_caduceus_logits(strand_caduceus *m, const int32_t *ids, size_t n, size_t L, float *out);
/* out (n, L, d_model) per position, or (n, d_model) with STRAND_EMBED_MEAN (mean over L). */
STRAND_API int strand_caduceus_embed(strand_caduceus *m, const int32_t *ids, size_t n, size_t L, int pooling,
                                     float *out);
STRAND_API const char *strand_caduceus_last_error(const strand_caduceus *m);

/* ---- variant effect prediction (docs/vep.md) ------------------------------------------------ */
/* Zero-shot scores of a Caduceus model for variants against a reference FASTA:
 *   LLR  = log p(ALT) − log p(REF) in nats at the variant position, masked ([MASK]) in the
 *          reference window centred on it, from the MLM head (positive: ALT more likely). SNVs only
 *          (NaN otherwise). PS: the head is exactly RC-equivariant, so one pass is the strand
 *          average; PH: post-hoc conjoined (x and rc(x) averaged, the model's inference mode).
 *   EMB  = cosine distance in [0, 2] between the mean-pooled strand-collapsed embeddings of the
 *          REF and ALT windows over ±pool_half_width positions around the variant. SNVs, MNVs
 *          and indels (the ALT window is the ALT haplotype re-centred to the same length).
 * Windows have an odd length (an even `window` is rounded up) with the variant's first REF base at
 * the centre; positions beyond a contig end are [PAD], N is [PAD] (as in pretraining). */
typedef struct strand_vep strand_vep;
enum { STRAND_VEP_REF_SKIP = 0, STRAND_VEP_REF_ANNOTATE = 1, STRAND_VEP_REF_ERROR = 2 };
/* missing_contig: SKIP passes such records through unscored; ERROR stops at the first; AUTO (the
 * default) skips them but fails when no record at all is on a FASTA contig (naming both sets of
 * names, with a hint when only a "chr" prefix differs). */
enum { STRAND_VEP_CONTIG_SKIP = 0, STRAND_VEP_CONTIG_ERROR = 1, STRAND_VEP_CONTIG_AUTO = 2 };
/* nonfinite: a NaN/inf score (a corrupt model) is an ERROR (the default: nothing is written), or
 * SKIP: left missing and counted in strand_vep_summary.nonfinite. */
enum { STRAND_VEP_NONFINITE_ERROR = 0, STRAND_VEP_NONFINITE_SKIP = 1 };
typedef struct strand_vep_params {
    int window;          /* bases per window; 0 (default): the length the model was trained on
                          * (metadata strand.train_seq_len), else 1024; even → +1 */
    int pool_half_width; /* H: EMB pools 2H+1 positions around the variant (default 128; clamped
                          * to window/2) */
    int batch;           /* records read and scored together; identical windows run once (default 64) */
    int threads;         /* 0: leave strand_set_threads as it is */
    int ref_mismatch;    /* STRAND_VEP_REF_*: REF differs from the FASTA (default skip) */
    int missing_contig;  /* STRAND_VEP_CONTIG_*: contig absent from the FASTA (default AUTO) */
    int nonfinite;       /* STRAND_VEP_NONFINITE_*: NaN/inf scores (default ERROR) */
    int compress_level;  /* annotate: 0-9 for 'z'/'b' output, -1 (default) htslib's */
    const char *rename_chrs;  /* file of "VCF_NAME FASTA_NAME" lines (bcftools --rename-chrs):
                               * VCF contigs looked up under the new name; records unchanged */
    const char *targets;      /* annotate: "chr:beg-end,chr,..." only records whose POS is inside
                               * (bcftools -t; no index needed) */
    const char *targets_file; /* annotate: the same from a file (bcftools -T: CHROM POS,
                               * CHROM BEG END, or .bed) */
    int quiet;           /* no progress on stderr */
    int no_version;      /* annotate: no ##strand_vepVersion / ##strand_vepCommand lines */
    int rc_average;      /* also run every window reverse-complemented and average the two (2x the
                          * work): scores become bit-identical for a variant and its RC
                          * representation; without it they agree to float rounding (PS is
                          * RC-equivariant by construction, PH is conjoined) */
    int llr;             /* STRAND_VEP_LLR_*: how STRAND_LLR is computed (default MASKED: today's
                          * per-variant masked score; MARGINAL: the wild-type marginal, every SNV of
                          * a reference tile from one unmasked forward; docs/vep.md "Marginal LLR";
                          * indels/MNVs: the PLL difference of the haplotype windows, "Indel LLR") */
    int scores;          /* STRAND_VEP_SCORE_* bits: which scores to compute (0, the default: both);
                          * LLR alone skips the REF/ALT window forwards of STRAND_EMB */
    int marginal_core;   /* MARGINAL: positions scored per tile S (0, the default: 4·(window−1));
                          * the tile is S + window − 1 bases, every site with >= window/2 of
                          * reference context on both sides */
} strand_vep_params;
enum { STRAND_VEP_LLR_MASKED = 0, STRAND_VEP_LLR_MARGINAL = 1 };
enum { STRAND_VEP_SCORE_LLR = 1, STRAND_VEP_SCORE_EMB = 2 };
STRAND_API strand_vep_params strand_vep_default_params(void);
STRAND_API int strand_vep_create(const char *model_path, const char *fasta_path, const strand_vep_params *p,
                                 strand_vep **out);
STRAND_API void strand_vep_free(strand_vep *v); /* accepts NULL */
STRAND_API const char *strand_vep_last_error(const strand_vep *v);

/* Per-variant outcome (strand_vep_variant.status). */
enum {
    STRAND_VEP_OK = 0,             /* scored (llr NaN when not an SNV, except under LLR_MARGINAL) */
    STRAND_VEP_SYMBOLIC = 1,       /* <DEL>, *, breakends, '.': not scored */
    STRAND_VEP_UNSCORABLE = 2,     /* alleles with characters other than ACGT, or empty */
    STRAND_VEP_REF_MISMATCH = 3,   /* REF differs from the FASTA (or runs past the contig end) */
    STRAND_VEP_MISSING_CONTIG = 4, /* contig not in the FASTA */
    STRAND_VEP_NONFINITE = 5       /* the model gave NaN/inf (nonfinite = SKIP) */
};
typedef struct strand_vep_variant {
    const char *contig; /* in */
    int64_t pos1;       /* in: 1-based position of the first REF base */
    const char *ref, *alt; /* in */
    double llr, emb;    /* out: NaN when missing */
    int status;         /* out: STRAND_VEP_* */
} strand_vep_variant;
/* Score n variants (identical windows computed once). Returns 0, or a negative code on I/O errors
 * and on mismatches/missing contigs when the params say "error". */
STRAND_API int strand_vep_score_batch(strand_vep *v, strand_vep_variant *vars, size_t n);
/* One variant; llr / emb_dist may be NULL. Returns the status (>= 0) or a negative code. */
STRAND_API int strand_vep_score_snv(strand_vep *v, const char *contig, int64_t pos1, const char *ref, const char *alt,
                                    double *llr, double *emb_dist);

typedef struct strand_vep_summary {
    int64_t records, alts, llr_scored, emb_scored;
    int64_t no_alt, symbolic, unscorable, ref_mismatch, missing_contig; /* ALTs (no_alt: records) */
    int64_t nonfinite;                   /* ALTs whose score was NaN/inf (nonfinite = SKIP) */
    int64_t windows_requested, forwards; /* window forwards needed vs run (sharing) */
    int n_examples;
    char examples[5][160]; /* first REF mismatches / missing contigs: "chr:pos REF=A FASTA=G" */
} strand_vep_summary;
/* VCF/BCF in → annotated VCF/BCF out (written atomically; nothing is left under out_path on
 * failure; "-", devices and FIFOs are written directly as records come). in_path "-" reads
 * standard input. The output is checked first (not a directory, not the input). Contigs and tags
 * the records use but the input header lacks are declared in the output (as bcftools view). mode 'v' 'z' 'b' 'u'; index 0 none, 1 .csi, 2 .tbi; regions (samtools syntax, need an
 * index) may be NULL. argc/argv (may be 0/NULL) go into ##strand_vepCommand. sum may be NULL. */
STRAND_API int strand_vep_annotate_vcf(strand_vep *v, const char *in_path, const char *out_path, char mode,
                                       int index, const char *const *regions, int n_regions, int argc,
                                       char *const *argv, strand_vep_summary *sum);
/* Lowercase hex SHA-256 of the model file the handle was created from. */
STRAND_API const char *strand_vep_model_sha256(const strand_vep *v);

/* ==== experimental (define STRAND_EXPERIMENTAL to see these; see the top of this file) ==== */
#ifdef STRAND_EXPERIMENTAL
/* Second-wave calls go here, each group under its own "---- name ----" heading. */

/* ---- Caduceus logits, post-hoc conjoined (docs/caduceus.md "Caduceus-PH") ---- */
/* out (n,L,V) = ½ (logits(x)[t, v] + logits(rc x)[L−1−t, comp v]) for a Caduceus model (PH: its
 * conjoined inference mode, as strand embed and strand vep use; PS: equal to the raw logits up to
 * float rounding). STRAND_E_UNSUPPORTED for other kinds. */
STRAND_API int strand_model_logits_rc_average(strand_model *m, const int32_t *ids, size_t n, size_t L, float *out);

/* ---- VEP trained score (docs/vep.md "Trained score") ---- */
/* Attach the head file written by `strand vep-train` (NULL: detach): strand_vep_annotate_vcf then
 * writes STRAND_P (Number=A). The head must come from this handle's model, window, pooling and LLR
 * mode (an error says which option to pass). */
STRAND_API int strand_vep_set_head(strand_vep *v, const char *head_path);

/* ---- diffusion losses and NELBO (docs/diffusion.md "MDLM loss", "UDLM loss", "Evaluation") ---- */
/* For an MDLM/UDLM model (strand_diffusion_info succeeds). Thread-safe over one model: each call
 * uses its own run context over the shared weights. labels (B / n) in [0, num_classes], NULL: the
 * null label (num_classes) of a label-conditioned model. */
/* Per-token loss terms (B, L) for exactly these clean ids x0 (B, L), noisy ids zt (B, L) and
 * times t (B) in (0, 1]: no randomness, before any reduction (MDLM: 0 at unmasked positions). */
STRAND_API int strand_diffusion_per_token(const strand_model *m, const int32_t *x0, const int32_t *zt, const double *t,
                                          const int32_t *labels, size_t B, size_t L, float *loss);
/* Monte-Carlo NELBO in nats per sequence (sum over its L tokens) of n sequences ids (n, L):
 * `samples` draws of t stratified over [1e-3, 1) and of z_t per sequence, from an RNG seeded by
 * (seed, sequence index). Divide by L for nats per token; exp of that is the perplexity bound. */
STRAND_API int strand_diffusion_nelbo(const strand_model *m, const int32_t *ids, const int32_t *labels, size_t n,
                                      size_t L, int samples, uint64_t seed, double *nelbo);

/* ---- diffusion sampling (docs/diffusion.md "MDLM sampler", "UDLM sampler", "Classifier-free guidance") ---- */
/* Ancestral samplers of masked (MDLM) and uniform (UDLM) diffusion models (kind "dit" with a
 * "diffusion" config, or HF model_type mdlm/udlm). Time grid linspace(1, 1e-5, steps + 1); the
 * step arithmetic and the draws (exponential race) are in double. Without a label (-1) a
 * label-conditioned model runs with the null label. CFG weight gamma: 0 unconditional, 1
 * conditional (one call per step), otherwise one call of 2B rows per step. Samples depend on the
 * seed and the batch size only, not on the number of threads (sample i has its own stream: the
 * seed's state jumped i times). */
enum { STRAND_DIFFUSION_MASKED = 0, STRAND_DIFFUSION_UNIFORM = 1 };
enum { STRAND_TAIL_NONE = 0, STRAND_TAIL_GREEDY = 1, STRAND_TAIL_ANCESTRAL = 2 }; /* strand_sampler_params.tail */
/* Process (STRAND_DIFFUSION_*), [MASK] id (-1 for uniform) and time conditioning of a diffusion
 * model; any output may be NULL. STRAND_E_UNSUPPORTED for other models (Caduceus, plain DiT). */
STRAND_API int strand_diffusion_info(const strand_model *m, int *process, int32_t *mask_id, int *time_cond);

/* Progress: called after every batch step by one worker at a time; return non-zero to cancel. */
typedef int (*strand_sampler_progress_fn)(void *user, uint64_t done, uint64_t total);
/* Guided steps (classifier-based guidance plugs in here): for n sequences zt (n, L) going t -> s,
 * add per-position log-probability adjustments to adj (n, L, V), which arrives zeroed; every drawn
 * position's step distribution becomes q ∝ q·exp(adj). `thread` is the calling worker. Return 0
 * or a negative STRAND_E_* to stop the sampler. */
typedef int (*strand_guidance_fn)(void *user, int thread, const int32_t *zt, size_t n, size_t L, size_t V, double t,
                                  double s, double *adj);

typedef struct strand_sampler_params {
    int steps;         /* T >= 1 (32) */
    size_t length;     /* 0: the model's length */
    size_t batch;      /* sequences per network call (64) */
    uint64_t seed;     /* (0) */
    int threads;       /* workers, one batch each at a time (0: strand_get_threads()) */
    int label;         /* class, or -1 for none (-1) */
    double gamma;      /* CFG weight >= 0 (1) */
    double top_p;      /* nucleus on x_theta, (0, 1] (1: off) */
    int greedy_final;  /* argmax at the last step (0) */
    int noise_removal; /* masked: one more call at 1e-5 and argmax where [MASK] is left (1) */
    int use_cache;     /* reuse the logits of unchanged rows (not time-conditioned models) (1) */
    int tail;          /* uniform: after the steps one more call at 1e-5 and STRAND_TAIL_NONE, _GREEDY (argmax
                          x_theta) or _ANCESTRAL (a draw of z_0) (NONE; docs/duo.md "Few-step sampling") */
    strand_sampler_progress_fn progress;
    void *progress_user;
} strand_sampler_params;
typedef struct strand_sampler_stats {
    uint64_t net_calls; /* network calls */
    uint64_t net_rows;  /* sequences through the network (a CFG pair counts 2) */
    double nfe;         /* net_rows per sample */
    double seconds;     /* wall time of the run */
} strand_sampler_stats;
typedef struct strand_sampler strand_sampler;
STRAND_API strand_sampler_params strand_sampler_default_params(void);
/* The sampler keeps a reference to m (free it after the sampler). Checks every parameter. */
STRAND_API int strand_sampler_create(strand_model *m, const strand_sampler_params *p, strand_sampler **out);
STRAND_API void strand_sampler_free(strand_sampler *s); /* accepts NULL */
STRAND_API size_t strand_sampler_length(const strand_sampler *s);
/* NULL fn: unguided. */
STRAND_API int strand_sampler_set_guidance(strand_sampler *s, strand_guidance_fn fn, void *user);
/* n samples (n, length) of token ids. stats may be NULL. */
STRAND_API int strand_sampler_run(strand_sampler *s, size_t n, int32_t *out, strand_sampler_stats *stats);
/* One step t -> s' (0 <= s' < t <= 1) of n sequences zt (n, length) into zs (may alias zt),
 * sequence i drawing from rngs[i] (advanced). */
STRAND_API int strand_sampler_step(strand_sampler *s, const int32_t *zt, size_t n, double t, double s_next,
                                   strand_rng *rngs, int32_t *zs);
/* q (n, length, V): the distribution strand_sampler_step draws from (copied positions one-hot). */
STRAND_API int strand_sampler_posterior(strand_sampler *s, const int32_t *zt, size_t n, double t, double s_next,
                                        double *q);
STRAND_API const char *strand_sampler_last_error(const strand_sampler *s);

/* ---- noisy classifiers and classifier-based guidance (docs/diffusion.md "Classifier-based guidance",
 * "Noisy classifiers") ---- */
/* A classifier p(y | z_t) trained by `strand train classifier` (kind "classifier"): backbone, C
 * classes, the diffusion model's vocabulary and length, the process it was trained on. Calls on
 * one handle are not thread-safe (one handle per thread). sigma (n) may be NULL; it is fed only
 * when the classifier is time-conditioned. */
typedef struct strand_classifier strand_classifier;
STRAND_API int strand_classifier_load(const char *path, strand_classifier **out);
STRAND_API void strand_classifier_free(strand_classifier *c); /* accepts NULL */
STRAND_API int strand_classifier_num_classes(const strand_classifier *c);
STRAND_API size_t strand_classifier_vocab_size(const strand_classifier *c);
STRAND_API size_t strand_classifier_max_length(const strand_classifier *c);
/* Process (STRAND_DIFFUSION_*) it was trained on, and whether it is fed sigma_t / trained clean (t = 0). */
STRAND_API int strand_classifier_info(const strand_classifier *c, int *process, int *time_cond, int *clean);
/* log p(y | z) (n, C) for ids (n, L). */
STRAND_API int strand_classifier_log_probs(strand_classifier *c, const int32_t *ids, size_t n, size_t L,
                                           const float *sigma, float *logp);
/* log p(cls | z) (n) and its gradient (n, L, V) with respect to the one-hot input at onehot(z). */
STRAND_API int strand_classifier_input_grad(strand_classifier *c, const int32_t *ids, size_t n, size_t L,
                                            const float *sigma, int cls, float *logp, float *grad);
STRAND_API const char *strand_classifier_last_error(const strand_classifier *c);
enum { STRAND_CBG_EXACT = 0, STRAND_CBG_FIRST_ORDER = 1 };
/* Classifier-based guidance on a sampler (instead of a strand_guidance_fn): every drawn position's
 * step distribution times p(cls | z_t with the position set to v)^gamma, exact (every single-token
 * edit scored) or first-order (one forward + backward per sequence). The classifier's vocabulary
 * must be the model's, its length >= the sampler's; exact needs workers x min(128, 1 + L(V-1))
 * classifier rows of memory <= max_bytes (0: 2 GiB), else STRAND_E_NOMEM suggesting first-order.
 * CFG (the sampler's label and gamma) still applies: the factors multiply. c NULL: unguided.
 * Keep c alive while the sampler uses it. */
STRAND_API int strand_sampler_set_classifier(strand_sampler *s, const strand_classifier *c, int cls, double gamma,
                                             int mode, size_t max_bytes);
/* Classifier rows and calls of the guided runs so far, and batch rows served from the cache. */
STRAND_API int strand_sampler_cbg_stats(const strand_sampler *s, uint64_t *rows, uint64_t *calls, uint64_t *cached);
/* ---- model embeddings ---- */
/* out (n, L, D) per position, or (n, D) with STRAND_EMBED_MEAN, for kinds with an embedding
 * (Caduceus: as strand_caduceus_embed); STRAND_E_UNSUPPORTED for the others. */
STRAND_API int strand_model_embed(strand_model *m, const int32_t *ids, size_t n, size_t L, int pooling, float *out);

/* ---- model files ---- */
/* The tokenizer that goes with the model file at path (a file or an HF directory) that m was
 * loaded from: DNA for Caduceus, else the "strand.tokenizer" metadata of its weights.
 * STRAND_E_NOTFOUND when the file has none (published HF checkpoints: use token ids). */
STRAND_API int strand_tokenizer_for_model(const char *path, const strand_model *m, strand_tokenizer **tok);
/* ---- design campaigns (docs/design.md "Campaign files", "Running", "Outputs") ---- */
/* A campaign file (JSON) names diffusion models, optional classifiers and targets, each a sweep
 * over the guidance weight γ; strand_design_load parses it and checks everything (keys, types,
 * files, classes, labels, outputs) before anything is sampled: one "FILE: JSON.PATH: problem"
 * line per problem in the error message. A run writes DIR/<target>/gamma-<γ>/ per job plus
 * DIR/metrics.json, DIR/report.html and DIR/manifest.json; a rerun keeps the jobs the manifest
 * shows finished (checksums) and gives the same bytes as an uninterrupted run, at any thread
 * count. */
typedef struct strand_design strand_design;
/* done/total batch steps over the jobs that run; non-zero cancels (finished jobs are kept). */
typedef int (*strand_design_progress_fn)(void *user, uint64_t done, uint64_t total);
typedef struct strand_design_params {
    const char *out_dir; /* required unless dry_run */
    int threads;         /* jobs in parallel, one sampler each over shared weights (0: strand_get_threads()) */
    int dry_run;         /* strand_design_plan only; nothing is written */
    double rate;         /* plan: network rows/s to assume (0: time one network call per model) */
    int quiet;           /* no line per finished job on stderr */
    strand_design_progress_fn progress;
    void *progress_user;
} strand_design_params;
typedef struct strand_design_result {
    const char *target;       /* target name */
    const char *job;          /* "<target>/gamma-<γ>", the job's directory under out_dir */
    const char *guidance;     /* "none", "cfg", "cbg", "cbg-first-order", "cfg+cbg" */
    int label;                /* -1: none */
    const char *class_name;   /* NULL when the campaign names no classes */
    double gamma;
    uint64_t seed;            /* the job's own seed (docs/design.md "Seeds") */
    int reused;               /* found finished in the manifest */
    size_t n_samples;         /* after a run; 0 before */
    const char *metrics_json; /* the job's metrics.json text after a run, else NULL */
} strand_design_result;
STRAND_API strand_design_params strand_design_default_params(void);
STRAND_API int strand_design_load(const char *path, strand_design **out);
/* "smiles-qed", "dna-species" or "demo" over the bundled models in models_dir. */
STRAND_API int strand_design_preset(const char *name, const char *models_dir, strand_design **out);
STRAND_API void strand_design_free(strand_design *d); /* accepts NULL */
STRAND_API const char *strand_design_name(const strand_design *d);
/* The plan (jobs, NFEs, estimated time; which jobs a manifest under p->out_dir shows finished)
 * as text in *text (free() it). Writes nothing. */
STRAND_API int strand_design_plan(strand_design *d, const strand_design_params *p, char **text);
STRAND_API int strand_design_run(strand_design *d, const strand_design_params *p);
/* One job only (docs/design.md "One job at a time"): job is its key "<target>/gamma-<γ>" (as
 * strand_design_result.job and the plan list it). Writes that job's files and its manifest entry
 * DIR/<job>/job.json and nothing campaign-level, so separate processes can run a campaign's jobs
 * at once; kept when job.json or the manifest shows it finished (then job.json holds that entry).
 * STRAND_E_NOTFOUND for a key the campaign does not have. */
STRAND_API int strand_design_run_job(strand_design *d, const strand_design_params *p, const char *job);
/* After every job ran (strand_design_run_job): DIR/campaign.json, DIR/manifest.json (the jobs'
 * entries), DIR/metrics.json and DIR/report.html from the jobs' files, the same bytes as
 * strand_design_run writes (manifest.json aside: timings). STRAND_E_NOTFOUND, writing nothing,
 * naming the jobs that are not finished under p->out_dir. */
STRAND_API int strand_design_gather(strand_design *d, const strand_design_params *p);
/* Jobs (target × γ) of the last plan or run, in campaign order. */
STRAND_API size_t strand_design_num_results(const strand_design *d);
STRAND_API int strand_design_result_get(const strand_design *d, size_t i, strand_design_result *out);
/* Sample k of job i after a run (decoded text), NULL out of range. */
STRAND_API const char *strand_design_sample(const strand_design *d, size_t i, size_t k);
STRAND_API const char *strand_design_last_error(const strand_design *d);
#endif /* STRAND_EXPERIMENTAL */

#ifdef __cplusplus
}
#endif
#endif /* STRAND_H */
