/* io/table: .smi/.csv/.tsv reading, column selection, quoting, errors naming file and line,
 * compressed input, and real files from rdkit-data (NCI .smi, WEHI quoted .csv). */
#include <htslib/bgzf.h>
#include <unistd.h>

#include "io/table.h"
#include "strand.h"
#include "test_util.h"

static const char *write_file(const char *name, const char *text)
{
    const char *path = tu_tmp(name);
    FILE *fp = fopen(path, "wb");
    if (!fp) return NULL;
    fputs(text, fp);
    fclose(fp);
    return path;
}

/* Read every selected value into one "|"-joined string (for compact comparisons). */
static int read_all(const char *path, st_table_format fmt, const char *col, char *out, size_t outlen)
{
    st_table *t = NULL;
    int rc = st_table_open(&t, path, fmt, col);
    if (rc < 0) return rc;
    out[0] = '\0';
    const char *v;
    int n = 0;
    while ((rc = st_table_next(t, &v)) == 1) {
        if (n++) strncat(out, "|", outlen - strlen(out) - 1);
        strncat(out, v, outlen - strlen(out) - 1);
    }
    st_table_close(t);
    return rc < 0 ? rc : n;
}

static void test_smi(void)
{
    const char *p = write_file("tab_a.smi", "SMILES Name\nCCO ethanol\n\n# a comment\nc1ccccc1\tbenzene extra\r\n  CC(=O)O   acetic\nN\n");
    char buf[1024];
    CU_ASSERT_EQUAL(read_all(p, ST_TABLE_AUTO, NULL, buf, sizeof buf), 4);
    CU_ASSERT_STRING_EQUAL(buf, "CCO|c1ccccc1|CC(=O)O|N");
    /* field access and line numbers (1-based, of the physical file) */
    st_table *t = NULL;
    CU_ASSERT_EQUAL_FATAL(st_table_open(&t, p, ST_TABLE_SMI, NULL), 0);
    CU_ASSERT_STRING_EQUAL(st_table_column_name(t), "smiles");
    CU_ASSERT_EQUAL(st_table_nheader(t), 0);
    const char *v;
    CU_ASSERT_EQUAL(st_table_next(t, &v), 1);
    CU_ASSERT_EQUAL(st_table_line(t), 2);
    CU_ASSERT_EQUAL(st_table_nfields(t), 2);
    CU_ASSERT_STRING_EQUAL(st_table_field(t, 1), "ethanol");
    CU_ASSERT_PTR_NULL(st_table_field(t, 2));
    CU_ASSERT_EQUAL(st_table_next(t, &v), 1);
    CU_ASSERT_EQUAL(st_table_line(t), 5);
    CU_ASSERT_EQUAL(st_table_nfields(t), 3);
    st_table_close(t);
    /* names by index 2; the row without a name is an error naming file and line */
    int rc = read_all(p, ST_TABLE_SMI, "2", buf, sizeof buf);
    CU_ASSERT_EQUAL(rc, STRAND_E_FORMAT);
    CU_ASSERT_PTR_NOT_NULL(strstr(strand_last_error(), "tab_a.smi: line 7"));
    /* a name is not a valid column for a header-less file */
    CU_ASSERT_EQUAL(read_all(p, ST_TABLE_SMI, "name", buf, sizeof buf), STRAND_E_ARG);
    /* an empty .smi has no records (and is not an error) */
    const char *e = write_file("tab_empty.smi", "");
    CU_ASSERT_EQUAL(read_all(e, ST_TABLE_AUTO, NULL, buf, sizeof buf), 0);
}

static void test_csv_quoting(void)
{
    const char *p = write_file("tab_q.csv",
                               "\xEF\xBB\xBFid,Smiles,note\r\n"
                               "1,CCO,plain\r\n"
                               "2,\"C(=O)O\",\"with, comma\"\n"
                               "3,\"N\"\"x\",\"two\nlines\"\n"
                               "\n"
                               "4,,empty smiles\n"
                               "5,\"\",\"\"\n");
    char buf[1024];
    /* default column: "smiles" matched case-insensitively; BOM ignored */
    CU_ASSERT_EQUAL(read_all(p, ST_TABLE_AUTO, NULL, buf, sizeof buf), 5);
    CU_ASSERT_STRING_EQUAL(buf, "CCO|C(=O)O|N\"x||");
    CU_ASSERT_EQUAL(read_all(p, ST_TABLE_AUTO, "note", buf, sizeof buf), 5);
    CU_ASSERT_STRING_EQUAL(buf, "plain|with, comma|two\nlines|empty smiles|");
    CU_ASSERT_EQUAL(read_all(p, ST_TABLE_AUTO, "1", buf, sizeof buf), 5);
    CU_ASSERT_STRING_EQUAL(buf, "1|2|3|4|5");
    st_table *t = NULL;
    CU_ASSERT_EQUAL_FATAL(st_table_open(&t, p, ST_TABLE_AUTO, "id"), 0);
    CU_ASSERT_EQUAL(st_table_nheader(t), 3);
    CU_ASSERT_STRING_EQUAL(st_table_header(t, 0), "id");
    CU_ASSERT_STRING_EQUAL(st_table_header(t, 1), "Smiles");
    const char *v;
    int lines[5], k = 0;
    while (st_table_next(t, &v) == 1 && k < 5) lines[k++] = (int)st_table_line(t);
    CU_ASSERT_EQUAL(k, 5);
    /* a record spanning two lines starts on line 4; the next record is on line 7 */
    CU_ASSERT_EQUAL(lines[2], 4);
    CU_ASSERT_EQUAL(lines[3], 7);
    st_table_close(t);
    /* no "smiles" header: column 1 by default */
    const char *q = write_file("tab_nosmiles.csv", "a,b\nx,y\n");
    CU_ASSERT_EQUAL(read_all(q, ST_TABLE_AUTO, NULL, buf, sizeof buf), 1);
    CU_ASSERT_STRING_EQUAL(buf, "x");
}

static void test_tsv(void)
{
    const char *p = write_file("tab_t.tsv", "name\tsmiles\tqed\nasp\tCC(=O)Oc1ccccc1C(=O)O\t0.55\nbz\tc1ccccc1\t0.44\n");
    char buf[1024];
    CU_ASSERT_EQUAL(read_all(p, ST_TABLE_AUTO, NULL, buf, sizeof buf), 2);
    CU_ASSERT_STRING_EQUAL(buf, "CC(=O)Oc1ccccc1C(=O)O|c1ccccc1");
    CU_ASSERT_EQUAL(read_all(p, ST_TABLE_AUTO, "QED", buf, sizeof buf), 2);
    CU_ASSERT_STRING_EQUAL(buf, "0.55|0.44");
    /* the same text read as csv is one column */
    CU_ASSERT_EQUAL(read_all(p, ST_TABLE_CSV, "2", buf, sizeof buf), STRAND_E_NOTFOUND);
}

static void test_errors(void)
{
    char buf[1024];
    const char *p = write_file("tab_err.csv", "id,smiles\n1,CCO\n2\n");
    /* missing column: the message names the file, the header line and the columns */
    CU_ASSERT_EQUAL(read_all(p, ST_TABLE_AUTO, "mol", buf, sizeof buf), STRAND_E_NOTFOUND);
    CU_ASSERT_PTR_NOT_NULL(strstr(strand_last_error(), "tab_err.csv: line 1"));
    CU_ASSERT_PTR_NOT_NULL(strstr(strand_last_error(), "\"mol\""));
    CU_ASSERT_PTR_NOT_NULL(strstr(strand_last_error(), "\"smiles\""));
    CU_ASSERT_EQUAL(read_all(p, ST_TABLE_AUTO, "3", buf, sizeof buf), STRAND_E_NOTFOUND);
    CU_ASSERT_EQUAL(read_all(p, ST_TABLE_AUTO, "0", buf, sizeof buf), STRAND_E_ARG);
    /* a short record */
    CU_ASSERT_EQUAL(read_all(p, ST_TABLE_AUTO, "smiles", buf, sizeof buf), STRAND_E_FORMAT);
    CU_ASSERT_PTR_NOT_NULL(strstr(strand_last_error(), "tab_err.csv: line 3"));
    /* unterminated quote: named by the line where the record starts */
    const char *u = write_file("tab_unterm.csv", "smiles\nCCO\n\"CCN\nCCC\n");
    CU_ASSERT_EQUAL(read_all(u, ST_TABLE_AUTO, NULL, buf, sizeof buf), STRAND_E_FORMAT);
    CU_ASSERT_PTR_NOT_NULL(strstr(strand_last_error(), "tab_unterm.csv: line 3"));
    CU_ASSERT_PTR_NOT_NULL(strstr(strand_last_error(), "unterminated"));
    /* text after a closing quote */
    const char *a = write_file("tab_after.csv", "smiles,x\n\"CC\"O,1\n");
    CU_ASSERT_EQUAL(read_all(a, ST_TABLE_AUTO, NULL, buf, sizeof buf), STRAND_E_FORMAT);
    CU_ASSERT_PTR_NOT_NULL(strstr(strand_last_error(), "tab_after.csv: line 2"));
    /* empty csv, missing file, unknown extension */
    const char *e = write_file("tab_empty.csv", "\n\n");
    CU_ASSERT_EQUAL(read_all(e, ST_TABLE_AUTO, NULL, buf, sizeof buf), STRAND_E_FORMAT);
    CU_ASSERT_PTR_NOT_NULL(strstr(strand_last_error(), "empty"));
    CU_ASSERT_EQUAL(read_all(tu_tmp("tab_missing.csv"), ST_TABLE_AUTO, NULL, buf, sizeof buf), STRAND_E_IO);
    CU_ASSERT_PTR_NOT_NULL(strstr(strand_last_error(), "tab_missing.csv"));
    CU_ASSERT_EQUAL(read_all(tu_tmp("tab.xyz"), ST_TABLE_AUTO, NULL, buf, sizeof buf), STRAND_E_ARG);
    st_table *t = (st_table *)&t;
    CU_ASSERT_EQUAL(st_table_open(&t, NULL, ST_TABLE_CSV, NULL), STRAND_E_ARG);
    CU_ASSERT_PTR_NULL(t);
    st_table_close(NULL);
    CU_ASSERT_EQUAL(st_table_format_from_name("x.SMI.gz"), ST_TABLE_SMI);
    CU_ASSERT_EQUAL(st_table_format_from_name("x.tsv"), ST_TABLE_TSV);
    CU_ASSERT_EQUAL(st_table_format_from_name("x.csv.gz"), ST_TABLE_CSV);
    CU_ASSERT_EQUAL(st_table_format_from_name("csv"), ST_TABLE_AUTO);
}

static void test_compressed_equals_plain(void)
{
    const char *text = "id,smiles\n1,CCO\n2,\"c1ccccc1\"\n3,\"C\nC\"\n";
    const char *plain = write_file("tab_z.csv", text);
    const char *gz = tu_tmp("tab_z.csv.gz");
    BGZF *fp = bgzf_open(gz, "w");
    CU_ASSERT_PTR_NOT_NULL_FATAL(fp);
    CU_ASSERT_EQUAL(bgzf_write(fp, text, strlen(text)), (ssize_t)strlen(text));
    bgzf_close(fp);
    char a[1024], b[1024];
    CU_ASSERT_EQUAL(read_all(plain, ST_TABLE_AUTO, NULL, a, sizeof a), 3);
    CU_ASSERT_EQUAL(read_all(gz, ST_TABLE_AUTO, NULL, b, sizeof b), 3);
    CU_ASSERT_STRING_EQUAL(a, b);
    /* a truncated compressed file is an error, not a silent short read */
    const char *trunc = tu_tmp("tab_trunc.csv.gz");
    static char big[400000];
    size_t k = 0;
    k += (size_t)snprintf(big, sizeof big, "smiles\n");
    for (unsigned i = 1; k < sizeof big - 32; i++) /* varied text: several compressed blocks */
        k += (size_t)snprintf(big + k, sizeof big - k, "C%uO%u\n", (i * 2654435761u) % 1000003u, i);
    fp = bgzf_open(trunc, "w");
    CU_ASSERT_EQUAL(bgzf_write(fp, big, k), (ssize_t)k);
    bgzf_close(fp);
    FILE *f = fopen(trunc, "rb");
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fclose(f);
    CU_ASSERT_EQUAL(truncate(trunc, n / 2), 0);
    int rc = read_all(trunc, ST_TABLE_AUTO, NULL, a, sizeof a);
    CU_ASSERT(rc < 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(strand_last_error(), "tab_trunc.csv.gz: line "));
    fprintf(stderr, "\n    truncated gzip: %s\n", strand_last_error());
}

/* Independent splitter for the real-file checks: whitespace tokens / strip one quote pair. */
static void test_real_nci_smi(void)
{
    const char *path = "/usr/share/RDKit/Data/NCI/first_5K.smi";
    FILE *fp = fopen(path, "r");
    CU_ASSERT_PTR_NOT_NULL_FATAL(fp); /* rdkit-data is installed by scripts/install-deps */
    st_table *t = NULL;
    CU_ASSERT_EQUAL_FATAL(st_table_open(&t, path, ST_TABLE_AUTO, NULL), 0);
    char line[8192];
    size_t n = 0, bad = 0;
    while (fgets(line, sizeof line, fp)) {
        char *tok = strtok(line, " \t\r\n");
        if (!tok) continue;
        const char *v;
        if (st_table_next(t, &v) != 1) {
            bad++;
            break;
        }
        n++;
        if (strcmp(v, tok)) bad++;
    }
    const char *v;
    CU_ASSERT_EQUAL(st_table_next(t, &v), 0);
    fclose(fp);
    st_table_close(t);
    fprintf(stderr, "\n    %s: %zu records\n", path, n);
    CU_ASSERT(n > 4000);
    CU_ASSERT_EQUAL(bad, 0);
}

static void test_real_wehi_csv(void)
{
    /* 10,000 quoted "SMILES","ID" rows without a header: the first row is read as the header,
     * every other row must come back unquoted. */
    const char *path = "/usr/share/RDKit/Data/Pains/test_data/wehi_mols.csv";
    FILE *fp = fopen(path, "r");
    CU_ASSERT_PTR_NOT_NULL_FATAL(fp);
    st_table *t = NULL;
    CU_ASSERT_EQUAL_FATAL(st_table_open(&t, path, ST_TABLE_AUTO, "2"), 0);
    char line[8192];
    size_t n = 0, bad = 0;
    CU_ASSERT_PTR_NOT_NULL(fgets(line, sizeof line, fp)); /* header */
    while (fgets(line, sizeof line, fp)) {
        line[strcspn(line, "\r\n")] = '\0';
        char *comma = strstr(line, "\",\"");
        if (!comma) continue;
        char *id = comma + 3;
        size_t len = strlen(id);
        if (len && id[len - 1] == '"') id[len - 1] = '\0';
        const char *v;
        if (st_table_next(t, &v) != 1) {
            bad++;
            break;
        }
        n++;
        if (strcmp(v, id) || strcmp(st_table_field(t, 0), (*comma = '\0', line + 1))) bad++;
    }
    fclose(fp);
    st_table_close(t);
    fprintf(stderr, "\n    %s: %zu records\n", path, n);
    CU_ASSERT(n > 9000);
    CU_ASSERT_EQUAL(bad, 0);
}

void register_suites(void)
{
    CU_pSuite s = CU_add_suite("io_table", NULL, NULL);
    ADD_TEST(s, test_smi);
    ADD_TEST(s, test_csv_quoting);
    ADD_TEST(s, test_tsv);
    ADD_TEST(s, test_errors);
    ADD_TEST(s, test_compressed_equals_plain);
    ADD_TEST(s, test_real_nci_smi);
    ADD_TEST(s, test_real_wehi_csv);
}
