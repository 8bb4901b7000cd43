/* Reads from SAM/BAM/CRAM through htslib: over regions with the index (.bai/.csi/.crai), CRAM
 * decoded with its reference FASTA, filtered by flags and MAPQ (samtools view -f/-F/-q
 * semantics).
 *
 * Orientation: by default `seq` is the SAM SEQ field, i.e. the bases on the reference forward
 * strand ("forward-strand bases": what aligns to the reference left to right; for a read with
 * flag 0x10 this is the reverse complement of what the sequencer read). With
 * ST_BAM_ORIGINAL_ORIENTATION, reverse-strand reads are reverse-complemented back to the
 * orientation in which they were sequenced (as `samtools fastq` writes them). `strand` is '-'
 * for flag 0x10 and '+' otherwise.
 *
 * Errors: regions without an index (STRAND_E_NOTFOUND "x.bam: no index (.bai/.csi/.crai)..."),
 * contigs not in the header (STRAND_E_NOTFOUND), CRAM without a reference (STRAND_E_ARG),
 * truncated BGZF (STRAND_E_FORMAT at open or "record N: truncated" while reading), empty files. */
#ifndef STRAND_IO_BAM_H
#define STRAND_IO_BAM_H
#include <stdint.h>

typedef struct st_bam_reader st_bam_reader;

enum { ST_BAM_ORIGINAL_ORIENTATION = 1 };

typedef struct st_bam_params {
    const char *reference;       /* FASTA for CRAM (ignored for SAM/BAM) */
    const char *const *regions;  /* NULL: whole file in file order (unmapped reads included) */
    int n_regions;
    uint16_t require_flags;      /* -f: all of these bits set */
    uint16_t exclude_flags;      /* -F: none of these bits set */
    int min_mapq;                /* -q */
    int flags;                   /* ST_BAM_ORIGINAL_ORIENTATION */
} st_bam_params;

st_bam_params st_bam_default_params(void); /* no filters, reference orientation */

typedef struct st_read {
    const char *name;   /* QNAME */
    const char *contig; /* "*" when unplaced */
    int64_t pos;        /* 0-based leftmost position; -1 when unplaced */
    int64_t end;        /* 0-based exclusive end on the reference (pos when unmapped) */
    uint16_t flag;
    uint8_t mapq;
    char strand;        /* '+' or '-' */
    const char *seq;    /* bases, NUL-terminated (see orientation above); "" when SEQ is '*' */
    int64_t len;
} st_read;

int st_bam_open(st_bam_reader **out, const char *path, const st_bam_params *p);
void st_bam_close(st_bam_reader *r);
/* 1 with *rd filled (valid until the next call), 0 at the end, negative STRAND_E_* on error. */
int st_bam_next(st_bam_reader *r, st_read *rd);
int64_t st_bam_filtered(const st_bam_reader *r); /* reads skipped by the filters so far */
#endif
