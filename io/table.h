/* Streaming reader for molecule tables: .smi, .csv and .tsv (plain or gzip/BGZF-compressed),
 * one record at a time, with one selected column (the SMILES).
 *
 *  .smi  no header; fields separated by runs of spaces/tabs; field 1 is the SMILES, field 2 an
 *        optional name. Blank lines and lines starting with '#' are skipped. A first line whose
 *        first field is "smiles" (any case) is taken as a title line and skipped.
 *  .csv  ',' separated, .tsv tab separated; the first record is a header. Fields may be quoted
 *        ("a,b", "say ""hi""") and a quoted field may span lines (RFC 4180). '\r\n' is accepted
 *        and a UTF-8 byte-order mark before the header is ignored. Blank lines are skipped.
 * Column selection: NULL picks the header column named "smiles" (any case) when there is one,
 * else column 1; a header name (exact match, then case-insensitive); or a 1-based index
 * ("3"). Errors name the file and the line: a missing column, a record with too few fields, an
 * unterminated quote, text after a closing quote, an empty csv/tsv (no header). */
#ifndef STRAND_IO_TABLE_H
#define STRAND_IO_TABLE_H
#include <stddef.h>

typedef enum st_table_format {
    ST_TABLE_AUTO = 0, /* from the file name: *.smi, *.csv, *.tsv / *.tab / *.txt (each + .gz) */
    ST_TABLE_SMI,
    ST_TABLE_CSV,
    ST_TABLE_TSV
} st_table_format;

typedef struct st_table st_table;

/* Open `path` ("-" = stdin) and resolve `column`. 0 or STRAND_E_IO / _FORMAT / _NOTFOUND / _ARG. */
int st_table_open(st_table **out, const char *path, st_table_format fmt, const char *column);
void st_table_close(st_table *t); /* NULL is fine */

/* Read the next record: 1 with *value = the selected field (valid until the next call), 0 at
 * the end of the file, or a negative STRAND_E_* naming the file and line. */
int st_table_next(st_table *t, const char **value);

st_table_format st_table_get_format(const st_table *t);
/* Line on which the current record starts (1-based). */
size_t st_table_line(const st_table *t);
/* The fields of the current record. */
size_t st_table_nfields(const st_table *t);
const char *st_table_field(const st_table *t, size_t i);
/* The selected column: 0-based index and its header name ("smiles" for .smi files). */
size_t st_table_column(const st_table *t);
const char *st_table_column_name(const st_table *t);
/* Header fields (0 for .smi). */
size_t st_table_nheader(const st_table *t);
const char *st_table_header(const st_table *t, size_t i);
/* Guess the format from a file name (ST_TABLE_AUTO when unknown). */
st_table_format st_table_format_from_name(const char *path);
#endif
