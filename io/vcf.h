/* VCF/BCF through htslib: reading (plain, bgzip, BCF; regions through a .tbi/.csi index),
 * writing (v, z, b, u; with an index, bcftools -W semantics), header editing (INFO lines,
 * provenance), per-record access, and REF checks against a FASTA.
 *
 * Errors name the file and the record: "x.vcf: line 57 (record 12): malformed record (...)" for
 * text VCF (the line number counts header lines), "x.bcf: record 12: ..." for BCF. Regions
 * without an index: STRAND_E_NOTFOUND "x.vcf.gz: no index (.tbi/.csi) for region queries; run
 * `bcftools index`". A contig in a region that the header/index does not know:
 * STRAND_E_NOTFOUND. Truncated BGZF input: STRAND_E_FORMAT.
 *
 * Output is written under a temporary name (core/atomic_file.h) and renamed, index included, only
 * by st_vcf_writer_close(); st_vcf_writer_abort() leaves nothing under the final names (direct
 * outputs - standard output, devices, FIFOs - are written as they go). */
#ifndef STRAND_IO_VCF_H
#define STRAND_IO_VCF_H
#include <htslib/vcf.h>
#include <stdint.h>

#include "io/fasta.h"

typedef struct st_vcf_reader st_vcf_reader;

/* Open for reading. `regions` (may be NULL / n 0): samtools-syntax regions, visited in the given
 * order; records overlapping a region are returned (as `bcftools view -r`, using the record's
 * REF span), each record at most once even when regions overlap. */
int st_vcf_open(st_vcf_reader **out, const char *path, const char *const *regions, int n_regions);
/* path "-" reads standard input (and FIFOs, /dev/stdin work too: nothing is read twice). */
/* Learn what the records use but the header does not declare (contigs, INFO/FORMAT/FILTER tags),
 * before any record is read and before the header is edited: a regular text VCF is read once
 * silently and htslib's stand-in lines ("##INFO=<ID=X,Number=1,Type=String,...>") are added to
 * the header, so a writer sharing it declares them; one warning names them. Streams and BCF are
 * left as they are (htslib adds the lines as the records come, with its own warning). A
 * malformed record fails here, before any output. *n_learned may be NULL. */
int st_vcf_learn(st_vcf_reader *r, int *n_learned);
/* Targets (bcftools -t/-T): only records whose POS falls in one of them are returned; no index
 * needed (streams too). Copied; n 0 clears. */
int st_vcf_set_targets(st_vcf_reader *r, const st_region *t, int n);
/* Regions/targets file as bcftools -R/-T reads it: CHROM<TAB>POS or CHROM<TAB>BEG<TAB>END
 * (1-based, inclusive), or BED (.bed, .bed.gz: 0-based start, end); '#' lines skipped; plain or
 * compressed. *out malloc'd. Errors name the line. */
int st_regions_file_read(const char *path, st_region **out, int *n);
void st_vcf_close(st_vcf_reader *r);
bcf_hdr_t *st_vcf_header(st_vcf_reader *r);
const char *st_vcf_path(const st_vcf_reader *r);
/* Next record (unpacked up to INFO: REF/ALT/FILTER/INFO available). Returns 1 with *rec set (owned
 * by the reader, valid until the next call), 0 at the end, negative STRAND_E_* on a malformed
 * record (message names file and line/record). */
int st_vcf_next(st_vcf_reader *r, bcf1_t **rec);
/* 1-based record number of the last record returned, and its line in a text VCF (0 for BCF). */
int64_t st_vcf_record_number(const st_vcf_reader *r);
int64_t st_vcf_line_number(const st_vcf_reader *r);

/* ---- per-record access (rec unpacked by st_vcf_next) ---- */
static inline const char *st_vcf_chrom(const bcf_hdr_t *h, const bcf1_t *v) { return bcf_hdr_id2name(h, v->rid); }
static inline int64_t st_vcf_pos0(const bcf1_t *v) { return v->pos; }        /* 0-based */
static inline const char *st_vcf_ref(const bcf1_t *v) { return v->d.allele[0]; }
static inline int st_vcf_n_alt(const bcf1_t *v) { return v->n_allele - 1; }
static inline const char *st_vcf_alt(const bcf1_t *v, int i) { return v->d.allele[1 + i]; } /* i < n_alt */
/* 1 when FILTER is PASS or '.', else 0. */
int st_vcf_is_pass(const bcf_hdr_t *h, bcf1_t *v);
/* FILTER names joined by ';' into buf ("." when empty). */
void st_vcf_filters(const bcf_hdr_t *h, bcf1_t *v, char *buf, size_t cap);

/* ---- header editing ---- */
/* Add (or replace) ##INFO=<ID=id,Number=number,Type=type,Description="desc">. */
int st_vcf_hdr_add_info(bcf_hdr_t *h, const char *id, const char *number, const char *type, const char *desc);
/* ##strand_<cmd>Version=<strand>+htslib-<htslib> and ##strand_<cmd>Command=<argv joined>. */
int st_vcf_hdr_add_provenance(bcf_hdr_t *h, const char *cmd, int argc, char *const *argv);

/* ---- writing ---- */
enum { ST_VCF_INDEX_NONE = 0, ST_VCF_INDEX_CSI = 1, ST_VCF_INDEX_TBI = 2 };
typedef struct st_vcf_writer st_vcf_writer;
/* mode: 'v' VCF, 'z' bgzip VCF, 'b' BCF, 'u' uncompressed BCF. index: ST_VCF_INDEX_* (needs 'z'
 * or 'b'; TBI only with 'z'); written to path + ".csi" / ".tbi". The header is copied. */
int st_vcf_writer_open(st_vcf_writer **out, const char *path, char mode, const bcf_hdr_t *hdr, int index);
/* As above, but writing with the reader's own header (not a copy), as bcftools view does, so
 * that what htslib declares while reading (st_vcf_learn, or lines added as a stream comes)
 * reaches the output; edit it through st_vcf_writer_header(). Close the writer before the
 * reader. otype: "v", "z", "z0".."z9", "b", "b0".."b9", "u". path "-" (and devices, FIFOs,
 * sockets) are written directly as the records come (core/atomic_file.h).
 * Write errors say what is wrong: a record after its successor when an index needs sorted
 * input, a contig in two blocks, a sample-count mismatch, a tag first seen after a BCF header
 * was written, or the system's error text. */
int st_vcf_writer_open_shared(st_vcf_writer **out, const char *path, const char *otype, st_vcf_reader *r, int index);
bcf_hdr_t *st_vcf_writer_header(st_vcf_writer *w);
int st_vcf_write(st_vcf_writer *w, bcf1_t *rec);
/* Push what was written so far to a direct output (a pipe reader sees it now); no-op for files. */
int st_vcf_writer_flush(st_vcf_writer *w);
int st_vcf_writer_close(st_vcf_writer *w); /* finish, index, rename; frees w */
void st_vcf_writer_abort(st_vcf_writer *w); /* frees w, removes temporaries */

/* Copy in -> out (bcftools view): regions, output mode and index as above. */
int st_vcf_view(const char *in, const char *out, char mode, int index, const char *const *regions,
                int n_regions, const char *cmd_for_provenance, int argc, char *const *argv);

/* ---- REF check against a FASTA ---- */
typedef struct st_vcf_refcheck {
    int64_t checked, mismatches, missing_contig;
    int n_examples;
    char examples[5][160]; /* "20:1234 REF=A FASTA=G" */
} st_vcf_refcheck;
/* Compare each record's REF (case-insensitive) with the FASTA. Contigs absent from the FASTA are
 * counted in missing_contig (and reported in examples). Returns 0 (even with mismatches: read
 * the report) or a negative code on I/O / format errors. */
int st_vcf_check_ref(st_vcf_reader *r, st_fasta *fa, st_vcf_refcheck *rep);
#endif
