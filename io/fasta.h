/* FASTA reading through htslib faidx: plain or BGZF (.fai, and .gzi for BGZF), region fetch.
 *
 * Regions use samtools syntax: "chr", "chr:start", "chr:start-end", 1-based inclusive, commas
 * allowed in numbers ("20:1,000,001-1,001,000"). Internally everything is 0-based half-open.
 *
 * Index policy: a missing index is built beside the FASTA (logged at INFO) unless
 * ST_FASTA_NO_BUILD is given. An index older than the FASTA, or one whose offsets/lengths do not
 * agree with the file, is reported as STRAND_E_FORMAT ("stale index: ... run samtools faidx"),
 * never silently used. Plain-gzip (not BGZF) FASTA, empty files and truncated BGZF (missing EOF
 * block or a short read) are STRAND_E_FORMAT errors naming the file.
 *
 * Character policy: bases are returned as stored (soft-masked lower case kept) unless
 * ST_FASTA_UPPER. Characters outside ACGTNacgtn (IUPAC codes such as R/Y, '-', '*', ...) are
 * passed through by default (the DNA tokenizer maps them to [UNK], docs/tokenizers.md "DNA tokenizer"); with
 * ST_FASTA_STRICT a fetch containing one fails with STRAND_E_FORMAT naming file, contig,
 * 1-based position and the character. */
#ifndef STRAND_IO_FASTA_H
#define STRAND_IO_FASTA_H
#include <stdint.h>

typedef struct st_fasta st_fasta;

enum {
    ST_FASTA_NO_BUILD = 1, /* open: do not build a missing index (error instead) */
    ST_FASTA_UPPER = 2,    /* fetch: upper-case the bases */
    ST_FASTA_STRICT = 4    /* fetch: error on characters outside ACGTNacgtn */
};

/* A parsed region: contig name, 0-based half-open [beg, end). end = INT64_MAX means "to the end
 * of the contig" until resolved against a FASTA/header. */
typedef struct st_region {
    char name[256];
    int64_t beg, end;
} st_region;

/* Parse samtools region syntax (see above). STRAND_E_ARG on malformed text (start > end,
 * start < 1, junk after numbers). */
int st_region_parse(const char *text, st_region *out);

/* Open `path` (plain or BGZF FASTA). flags: ST_FASTA_NO_BUILD. */
int st_fasta_open(st_fasta **out, const char *path, int flags);
void st_fasta_close(st_fasta *fa);

int st_fasta_ncontigs(const st_fasta *fa);
const char *st_fasta_contig_name(const st_fasta *fa, int i);
int64_t st_fasta_contig_len(const st_fasta *fa, int i);
/* Index of a contig by name, or -1. */
int st_fasta_contig_id(const st_fasta *fa, const char *name);
const char *st_fasta_path(const st_fasta *fa);

/* Fetch [beg, end) of a contig (0-based half-open). *seq is malloc'ed, NUL-terminated, length
 * end-beg; free() it. Unknown contig: STRAND_E_NOTFOUND; beg<0, end>length or beg>=end:
 * STRAND_E_RANGE. flags: ST_FASTA_UPPER | ST_FASTA_STRICT. */
int st_fasta_fetch(st_fasta *fa, const char *contig, int64_t beg, int64_t end, int flags, char **seq,
                   int64_t *len);
/* Fetch a region given as text; `resolved` (optional) receives the region with end resolved. */
int st_fasta_fetch_region(st_fasta *fa, const char *region, int flags, char **seq, int64_t *len,
                          st_region *resolved);
/* Resolve a region against the FASTA: checks the contig exists, clamps nothing; an end past the
 * contig is STRAND_E_RANGE; an open end becomes the contig length. */
int st_fasta_resolve(const st_fasta *fa, st_region *r);

/* Position (0-based) of the first character outside ACGTNacgtn in seq[0..n), or -1. */
int64_t st_seq_first_non_acgtn(const char *seq, int64_t n);
/* Longest run of N/n in seq[0..n) (0-based start in *run_beg) and the total N count. */
int64_t st_seq_n_runs(const char *seq, int64_t n, int64_t *total_n, int64_t *run_beg);

#endif
