/* libFuzzer target for the SMILES-table reader (io/table.c): any bytes, read as .smi, .csv or
 * .tsv (chosen by the first byte) with the default or a numbered column, must either stream to
 * the end or stop with an error that carries a message; every field stays NUL-terminated.
 *   CC=clang CXX=clang++ cmake -S . -B build-fuzz -DSTRAND_FUZZ=ON && cmake --build build-fuzz -t fuzz_table
 *   build-fuzz/fuzz/fuzz_table -max_total_time=60 fuzz/corpus/table */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "io/table.h"
#include "strand.h"

static char path[256];
static void remove_input(void) { unlink(path); }

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) return 0;
    if (!path[0]) {
        snprintf(path, sizeof path, "%s/strand_fuzz_table.%d", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp", (int)getpid());
        atexit(remove_input);
    }
    FILE *fp = fopen(path, "wb");
    if (!fp) return 0;
    fwrite(data + 1, 1, size - 1, fp);
    fclose(fp);
    static const st_table_format fmts[3] = {ST_TABLE_SMI, ST_TABLE_CSV, ST_TABLE_TSV};
    st_table_format fmt = fmts[data[0] % 3];
    const char *column = (data[0] >> 2) & 1 ? "2" : NULL;
    st_table *t = NULL;
    strand_clear_error();
    if (st_table_open(&t, path, fmt, column) != 0) {
        if (!strand_last_error()[0]) __builtin_trap();
        return 0;
    }
    const char *v;
    int r;
    size_t n = 0;
    while ((r = st_table_next(t, &v)) == 1) {
        if (!v || st_table_column(t) >= st_table_nfields(t)) __builtin_trap();
        for (size_t i = 0; i < st_table_nfields(t); i++) (void)strlen(st_table_field(t, i));
        if (st_table_line(t) == 0) __builtin_trap();
        n++;
    }
    if (r < 0 && !strand_last_error()[0]) __builtin_trap();
    st_table_close(t);
    return 0;
}
