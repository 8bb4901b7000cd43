/* Atomic output files: write to "<final>.tmp.<pid>.XXXXXX" beside the final name, rename on
 * success, unlink on failure, so a half-written file never appears under the final name. */
#ifndef STRAND_CORE_ATOMIC_FILE_H
#define STRAND_CORE_ATOMIC_FILE_H
#include <stdio.h>

typedef struct st_atomic_file {
    char *final_path; /* the name the file will have */
    char *tmp_path;   /* the name it is written under until commit */
    FILE *fp;         /* open for writing (binary) on tmp_path; NULL for path-only use */
} st_atomic_file;

/* Create the temporary file and open it as FILE* (open_stream != 0) or only reserve the name
 * (open_stream == 0: for writers such as htslib that open the path themselves). 0 or STRAND_E_*. */
int st_atomic_open(st_atomic_file *af, const char *final_path, int open_stream);
/* Flush, fsync-free close, rename to the final name. On failure the temporary is removed. */
int st_atomic_commit(st_atomic_file *af);
/* Close and remove the temporary; the final name is untouched. Safe to call twice. */
void st_atomic_abort(st_atomic_file *af);
#endif
