/* `strand data smiles`: validate and canonicalise a SMILES table and add RDKit properties
 * (docs/chem.md "Properties"). Reads .smi/.csv/.tsv (io/table), computes rows in parallel batches, writes a TSV
 * atomically in input order. */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "apps/commands.h"
#include "core/atomic_file.h"
#include "core/clock.h"
#include "core/error.h"
#include "chem/chem.h"
#include "chem/qed.h"
#include "chem/smiles_props.h"
#include "io/table.h"
#include "strand.h"

typedef struct smiles_opts {
    const char *input;
    const char *output; /* NULL: stdout */
    const char *column; /* NULL: the "smiles" column, else column 1 */
    const char *format; /* NULL: from the file name */
    const char *props;
    int threads;
    long max_rows;      /* < 0: all */
    int batch;
    int quiet;
    int show_errors;    /* invalid rows reported one by one on stderr */
    long max_length;    /* longer SMILES are invalid rows (RDKit time grows fast with size) */
} smiles_opts;

static smiles_opts default_opts(void)
{
    smiles_opts o = {NULL, NULL, NULL, NULL, "qed,rings,logp,mw,tpsa,hbd,hba", 1, -1, 1024, 0, 5, 1000};
    return o;
}

static void usage(FILE *fp)
{
    smiles_opts d = default_opts();
    fprintf(fp,
            "\nUsage: strand data smiles -i FILE [options]\n\n"
            "Validate SMILES with RDKit (parse + sanitise), write each input SMILES, its canonical\n"
            "SMILES and the requested properties as TSV. Invalid rows keep their input and an error\n"
            "message in the last column, and are counted on stderr.\n\n"
            "Options:\n"
            "  -i, --input FILE     .smi, .csv or .tsv (optionally .gz); \"-\" = stdin (needs --format)\n"
            "  -c, --column NAME|N  column holding the SMILES: header name or 1-based index\n"
            "                       [default: the column named \"smiles\", else column 1]\n"
            "  -f, --format FMT     smi, csv or tsv [default: from the file name]\n"
            "  -p, --props LIST     comma-separated: qed,rings,logp,mw,tpsa,hbd,hba, \"all\" or \"none\"\n"
            "                       [default: %s]\n"
            "  -o, --output FILE    output TSV, written atomically [default: stdout, also \"-\"]\n"
            "      --threads N      worker threads [default: %d]\n"
            "  -n, --max-rows N     stop after N input rows [default: all]\n"
            "  -L, --max-length N   SMILES longer than N characters are invalid rows (RDKit time grows\n"
            "                       quickly with size) [default: %ld; 0 = no limit]\n"
            "  -e, --show-errors N  print the first N invalid rows on stderr [default: %d]\n"
            "  -q, --quiet          no progress or summary on stderr\n\n"
            "SMILES must be printable ASCII: a row with another byte (UTF-8, control characters) is an\n"
            "invalid row naming the byte and its position; a NUL byte stops with an error naming the line.\n\n"
            "Properties: qed = QED.qed (mean weights), rings = SSSR ring count, logp = Crippen logP,\n"
            "mw = average molecular weight, tpsa = topological PSA, hbd/hba = NumHDonors/NumHAcceptors\n"
            "(RDKit Descriptors definitions).\n\n"
            "Examples:\n"
            "  strand data smiles -i first_5K.smi -o nci.tsv\n"
            "  strand data smiles -i smiles_500K.csv --column canonical_smiles --props qed,logp \\\n"
            "      --threads 2 -n 20000 -o sample.tsv\n\n",
            d.props, d.threads, d.max_length, d.show_errors);
}

/* Why a SMILES is refused before RDKit sees it (NULL: fine): a byte that is not printable ASCII
 * (RDKit would stop at it and parse the prefix: "CéC" became methane), or too long. */
static const char *refuse(const char *s, long max_length, char *buf, size_t cap)
{
    size_t n = 0;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++, n++)
        if (*p < 0x21 || *p > 0x7e) {
            snprintf(buf, cap, "byte 0x%02X at character %zu is not printable ASCII (SMILES are printable ASCII)", *p,
                     n + 1);
            return buf;
        }
    if (max_length > 0 && (long)n > max_length) {
        snprintf(buf, cap, "SMILES of %zu characters is longer than --max-length %ld", n, max_length);
        return buf;
    }
    return NULL;
}

/* Write a field with tabs and line breaks replaced by spaces (the TSV stays rectangular). */
static void put_clean(FILE *fp, const char *s)
{
    for (; *s; s++) fputc(*s == '\t' || *s == '\n' || *s == '\r' ? ' ' : *s, fp);
}

int cmd_data_smiles_main(int argc, char **argv)
{
    smiles_opts o = default_opts();
    if (argc < 2) {
        usage(stdout);
        return 0;
    }
    static const struct option longopts[] = {
        {"input", required_argument, NULL, 'i'},   {"column", required_argument, NULL, 'c'},
        {"format", required_argument, NULL, 'f'},  {"props", required_argument, NULL, 'p'},
        {"output", required_argument, NULL, 'o'},  {"threads", required_argument, NULL, 1000},
        {"max-rows", required_argument, NULL, 'n'}, {"show-errors", required_argument, NULL, 'e'},
        {"quiet", no_argument, NULL, 'q'},         {"help", no_argument, NULL, 'h'},
        {"max-length", required_argument, NULL, 'L'}, {NULL, 0, NULL, 0},
    };
    optind = 1;
    int c;
    while ((c = getopt_long(argc, argv, "i:c:f:p:o:n:e:L:qh", longopts, NULL)) != -1) {
        switch (c) {
        case 'i': o.input = optarg; break;
        case 'c': o.column = optarg; break;
        case 'f': o.format = optarg; break;
        case 'p': o.props = optarg; break;
        case 'o': o.output = optarg; break;
        case 1000: o.threads = cli_int("--threads", optarg, 1, 1024); break;
        case 'n': o.max_rows = cli_long("--max-rows", optarg, 0, LONG_MAX); break;
        case 'e': o.show_errors = cli_int("--show-errors", optarg, 0, INT_MAX); break;
        case 'L': o.max_length = cli_long("--max-length", optarg, 0, LONG_MAX); break;
        case 'q': o.quiet = 1; break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 1;
        }
    }
    if (optind < argc) {
        cli_error("unexpected argument \"%s\"", argv[optind]);
        return 1;
    }
    if (!o.input) {
        cli_error("an input file is required (-i FILE)");
        return 1;
    }
    st_table_format fmt = ST_TABLE_AUTO;
    if (o.format) {
        if (!strcmp(o.format, "smi")) fmt = ST_TABLE_SMI;
        else if (!strcmp(o.format, "csv")) fmt = ST_TABLE_CSV;
        else if (!strcmp(o.format, "tsv")) fmt = ST_TABLE_TSV;
        else {
            cli_error("unknown --format \"%s\" (smi, csv or tsv)", o.format);
            return 1;
        }
    }
    smiles_prop props[SP_COUNT];
    int nprops = 0;
    if (smiles_props_parse(o.props, props, &nprops) < 0) {
        cli_error("%s", strand_last_error());
        return 1;
    }

    const char *inputs[1] = {o.input};
    if (o.output && st_output_check(o.output, inputs, 1) < 0) return cli_error("%s", strand_last_error());
    st_table *tab = NULL;
    if (st_table_open(&tab, o.input, fmt, o.column) < 0) {
        cli_error("%s", strand_last_error());
        return 1;
    }
    chem_init();
    if (qed_init() < 0) {
        cli_error("%s", strand_last_error());
        st_table_close(tab);
        return 1;
    }

    st_atomic_file af = {0};
    FILE *out = stdout;
    if (o.output) {
        if (st_atomic_open(&af, o.output, 1) < 0) {
            cli_error("%s", strand_last_error());
            st_table_close(tab);
            return 1;
        }
        out = af.fp;
    }

    fprintf(out, "smiles\tcanonical_smiles");
    for (int k = 0; k < nprops; k++) fprintf(out, "\t%s", smiles_prop_name(props[k]));
    fprintf(out, "\terror\n");

    size_t B = (size_t)o.batch;
    char **smi = calloc(B, sizeof *smi);
    size_t *line = calloc(B, sizeof *line);
    smiles_props_row *rows = calloc(B, sizeof *rows);
    int rc = 0;
    if (!smi || !line || !rows) rc = st_err(NULL, STRAND_E_NOMEM, "out of memory");
    long nrows = 0, ninvalid = 0;
    double t0 = st_clock_s(), last_report = t0;
    int eof = 0;
    while (rc == 0 && !eof) {
        size_t n = 0;
        while (n < B && (o.max_rows < 0 || nrows + (long)n < o.max_rows)) {
            const char *v;
            int r = st_table_next(tab, &v);
            if (r < 0) {
                rc = r;
                break;
            }
            if (r == 0) {
                eof = 1;
                break;
            }
            if (!(smi[n] = strdup(v))) {
                rc = st_err(NULL, STRAND_E_NOMEM, "out of memory");
                break;
            }
            line[n++] = st_table_line(tab);
        }
        if (o.max_rows >= 0 && nrows + (long)n >= o.max_rows) eof = 1;
        /* Rows are independent; results land in rows[i], written below in input order. */
#pragma omp parallel for schedule(dynamic, 4) num_threads(o.threads) if (o.threads > 1 && n > 1)
        for (size_t i = 0; i < n; i++) {
            char why[SP_ERR_MAX];
            const char *bad = refuse(smi[i], o.max_length, why, sizeof why);
            if (bad) {
                memset(&rows[i], 0, sizeof rows[i]);
                snprintf(rows[i].err, sizeof rows[i].err, "%s", bad);
            } else {
                smiles_props_compute(smi[i], props, nprops, &rows[i]);
            }
        }
        for (size_t i = 0; i < n; i++) {
            put_clean(out, rows[i].ok || !strstr(rows[i].err, "not printable") ? smi[i] : "(not printable)");
            fputc('\t', out);
            if (rows[i].ok) {
                fputs(rows[i].canonical, out);
                char buf[64];
                for (int k = 0; k < nprops; k++) {
                    smiles_props_format(buf, sizeof buf, props[k], rows[i].v[props[k]]);
                    fprintf(out, "\t%s", buf);
                }
                fputs("\t\n", out);
            } else {
                for (int k = 0; k < nprops; k++) fputc('\t', out);
                fputc('\t', out);
                put_clean(out, rows[i].err);
                fputc('\n', out);
                if (ninvalid < o.show_errors && !o.quiet)
                    cli_info("%s: line %zu: %s", o.input, line[i], rows[i].err);
                ninvalid++;
            }
            smiles_props_row_clear(&rows[i]);
            free(smi[i]);
            smi[i] = NULL;
        }
        nrows += (long)n;
        if (ferror(out)) rc = st_err(NULL, STRAND_E_IO, "%s: write error: %s", o.output ? o.output : "stdout", strerror(errno));
        double t = st_clock_s();
        if (!o.quiet && (t - last_report > 5.0 || (isatty(2) && t - last_report > 0.5))) {
            cli_info("%ld rows, %ld invalid (%.0f SMILES/s)", nrows, ninvalid, nrows / (t - t0));
            last_report = t;
        }
    }
    if (smi)
        for (size_t i = 0; i < B; i++) free(smi[i]);
    free(smi);
    free(line);
    free(rows);
    st_table_close(tab);

    if (rc == 0 && o.output) rc = st_atomic_commit(&af);
    else if (rc == 0) fflush(stdout);
    if (rc < 0) {
        if (o.output) st_atomic_abort(&af);
        cli_error("%s", strand_last_error());
        return 1;
    }
    double dt = st_clock_s() - t0;
    if (!o.quiet)
        cli_info("%ld rows, %ld valid, %ld invalid; %.2f s, %.0f SMILES/s, %d thread%s",
                nrows, nrows - ninvalid, ninvalid, dt, dt > 0 ? nrows / dt : 0.0, o.threads,
                o.threads == 1 ? "" : "s");
    return 0;
}
