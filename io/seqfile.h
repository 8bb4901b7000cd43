/* Sequence files as whole records (used by `strand embed` and `strand logits`): all records of a FASTA file
 * (plain, gzip or BGZF; read sequentially, no index needed) as DNA text, and one SMILES per record
 * of a .smi/.txt/.csv/.tsv table. Errors name the file and the record (1-based number and name). */
#ifndef STRAND_IO_SEQFILE_H
#define STRAND_IO_SEQFILE_H
#include <stddef.h>

typedef struct seq_records {
    size_t n;
    char **name; /* FASTA: the header's first word; tables: "line N" */
    char **seq;  /* NUL-terminated */
    size_t *len;
} seq_records;

/* Read every record of a FASTA file. Rejected with STRAND_E_FORMAT naming file and record: an
 * empty sequence, a character outside ACGTNacgtn (with its 1-based position), a file without
 * records. */
int seq_read_fasta(const char *path, seq_records *out);
/* Read the selected column of a molecule table (io/table.h: column NULL = "smiles" or the first);
 * empty values are STRAND_E_FORMAT naming file and line. */
int seq_read_table(const char *path, const char *column, seq_records *out);
void seq_records_free(seq_records *r);

/* Input kinds by name / first bytes: numpy (.npy or the "\x93NUMPY" magic), FASTA (.fa, .fasta,
 * .fna, .ffn, .fas[.gz] or a first '>'), table (.smi/.txt/.csv/.tsv[.gz]). */
enum { SEQ_INPUT_UNKNOWN = 0, SEQ_INPUT_NPY, SEQ_INPUT_FASTA, SEQ_INPUT_TABLE };
int seq_input_kind(const char *path);
#endif
