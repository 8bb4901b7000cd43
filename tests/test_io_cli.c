/* Real files, real pipes (issue 17): what the shared VCF writer, the atomic writer and the CLI
 * layer do with headers that lack lines, special outputs, "-", signals, corrupt models, garbage
 * SMILES, and --help. Every check runs the `strand` binary as a user would, and reads the result
 * back with bcftools where there is a VCF. */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <signal.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "test_util.h"

#define VEPDATA STRAND_TEST_DATA "/vep"
#define MODEL VEPDATA "/model_ps_tiny"
#define VARS VEPDATA "/variants.vcf"
#define HTS_TEST "/usr/share/htslib-test/test"

static char g_dir[1024], g_fa[1200], g_vep[4096];
static char out[1 << 16];

static const char *P(const char *name)
{
    static char bufs[32][1400];
    static int k;
    char *b = bufs[k++ & 31];
    snprintf(b, sizeof bufs[0], "%s/%s", g_dir, name);
    return b;
}

static int setup(void)
{
    snprintf(g_dir, sizeof g_dir, "%s", tu_tmp("io_cli"));
    char cmd[4096];
    snprintf(cmd, sizeof cmd, "rm -rf '%s' && mkdir -p '%s' && cp '%s/ref.fa' '%s/ref.fa'", g_dir, g_dir, VEPDATA,
             g_dir);
    if (system(cmd) != 0) return 1;
    snprintf(g_fa, sizeof g_fa, "%s/ref.fa", g_dir);
    snprintf(g_vep, sizeof g_vep, "%s vep -q --threads 1 --window 51 --pool-half-width 10 -f '%s' -m '%s'", STRAND_BIN,
             g_fa, MODEL);
    return 0;
}

static int no_temporaries(const char *dir)
{
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "ls -a '%s' | grep -c '\\.tmp[0-9]'", dir);
    char buf[64];
    tu_run(cmd, buf, sizeof buf);
    return atoi(buf) == 0;
}

/* ---- item 1: what the reader learns reaches the output ---- */

static void test_learned_header_declared(void)
{
    /* no ##contig lines, an undeclared INFO tag, FILTER and FORMAT key, POS 0 */
    FILE *fp = fopen(P("nohdr.vcf"), "w");
    CU_ASSERT_PTR_NOT_NULL_FATAL(fp);
    fputs("##fileformat=VCFv4.2\n"
          "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\tS1\n"
          "CHROMOSOME_II\t0\t.\tN\tA\t.\t.\t.\tGT\t0/1\n"
          "CHROMOSOME_II\t1000\trs1\tT\tA\t50\tq10\tXX=1;YY\tGT:ZZ\t0/1:3\n"
          "22\t500\t.\tA\tG\t.\tPASS\tXX=2\tGT\t1/1\n",
          fp);
    fclose(fp);
    for (int bcf = 0; bcf < 2; bcf++) {
        const char *o = bcf ? P("nohdr.out.BCF") : P("nohdr.out.vcf"); /* .BCF: upper case too */
        /* g_vep runs STRAND_BIN; --batch 1: the header is written after the first record, so what
         * later records use must have been learned before */
        int st = tu_runf(out, sizeof out, "%s --batch 1 --missing-contig skip -o '%s' '%s' 2>&1", g_vep, o,
                         P("nohdr.vcf"));
        CU_ASSERT_EQUAL(st, 0);
        if (!bcf) {
            /* one warning naming what was declared, not one per tag */
            CU_ASSERT_PTR_NOT_NULL(strstr(out, "not declared in the header"));
            CU_ASSERT_PTR_NOT_NULL(strstr(out, "INFO/XX"));
            CU_ASSERT_PTR_NOT_NULL(strstr(out, "contig 22"));
            CU_ASSERT_PTR_NULL(strstr(out, "[W::"));
        }
        fprintf(stderr, "    %s: %s", bcf ? "BCF" : "VCF", out);
        CU_ASSERT_EQUAL(tu_runf(out, sizeof out, "bcftools view -h '%s' 2>&1", o), 0);
        CU_ASSERT_PTR_NOT_NULL(strstr(out, "##contig=<ID=CHROMOSOME_II>"));
        CU_ASSERT_PTR_NOT_NULL(strstr(out, "##contig=<ID=22>"));
        CU_ASSERT_PTR_NOT_NULL(strstr(out, "##INFO=<ID=XX,"));
        CU_ASSERT_PTR_NOT_NULL(strstr(out, "##FILTER=<ID=q10,"));
        CU_ASSERT_PTR_NOT_NULL(strstr(out, "##FORMAT=<ID=ZZ,"));
        CU_ASSERT_PTR_NOT_NULL(strstr(out, "##strand_vepModel="));
        /* records unchanged apart from the added INFO; bcftools reads the output without warnings */
        CU_ASSERT_EQUAL(tu_runf(out, sizeof out,
                                "bcftools view -H '%s' 2>/dev/null > '%s' && bcftools annotate -x "
                                "INFO/STRAND_LLR,INFO/STRAND_EMB '%s' 2>'%s' | bcftools view -H > '%s' && "
                                "cmp '%s' '%s' && ! test -s '%s'",
                                P("nohdr.vcf"), P("a.txt"), o, P("warn.txt"), P("b.txt"), P("a.txt"), P("b.txt"),
                                P("warn.txt")),
                        0);
        /* POS 0 passes through (unscored) */
        CU_ASSERT_EQUAL(tu_runf(out, sizeof out, "bcftools query -f '%%POS\\n' '%s' | head -1", o), 0);
        CU_ASSERT_STRING_EQUAL(out, "0\n");
    }
}

/* A stream cannot be read twice: tags first seen after the header was written make BCF output fail
 * with a message that says so (VCF output is written with one warning). */
static void test_stream_late_tags(void)
{
    FILE *fp = fopen(P("late.vcf"), "w");
    CU_ASSERT_PTR_NOT_NULL_FATAL(fp);
    fputs("##fileformat=VCFv4.2\n##contig=<ID=CHROMOSOME_II>\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n", fp);
    for (int i = 0; i < 10; i++) fprintf(fp, "CHROMOSOME_II\t%d\t.\tT\tA\t.\t.\t%s\n", 1000 + i, i == 9 ? "LATE=1" : ".");
    fclose(fp);
    int st = tu_runf(out, sizeof out, "cat '%s' | %s --batch 2 -O b -o '%s' - 2>&1", P("late.vcf"), g_vep,
                     P("late.bcf"));
    fprintf(stderr, "    BCF from a stream: exit %d: %s", st, out);
    CU_ASSERT_NOT_EQUAL(st, 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "INFO/LATE, not declared in the input header"));
    CU_ASSERT(access(P("late.bcf"), F_OK) != 0);
    st = tu_runf(out, sizeof out, "cat '%s' | %s --batch 2 - 2>%s | bcftools view -H 2>/dev/null | wc -l", P("late.vcf"),
                 g_vep, P("late.err"));
    CU_ASSERT_EQUAL(st, 0);
    CU_ASSERT_EQUAL(atoi(out), 10);
    /* the same file (not a stream): learned first, so BCF works */
    CU_ASSERT_EQUAL(tu_runf(out, sizeof out, "%s -o '%s' '%s' 2>&1", g_vep, P("late.bcf"), P("late.vcf")), 0);
    CU_ASSERT_EQUAL(tu_runf(out, sizeof out, "bcftools view -H '%s' | wc -l", P("late.bcf")), 0);
    CU_ASSERT_EQUAL(atoi(out), 10);
}

/* ---- item 2: special outputs ---- */

static void test_special_outputs(void)
{
    struct stat st;
    /* /dev/null stays a device */
    CU_ASSERT_EQUAL(tu_runf(out, sizeof out, "%s -o /dev/null '%s' 2>&1", g_vep, VARS), 0);
    CU_ASSERT(stat("/dev/null", &st) == 0 && S_ISCHR(st.st_mode));
    CU_ASSERT(no_temporaries("/dev"));
    /* /dev/full fails with the system's message */
    CU_ASSERT_NOT_EQUAL(tu_runf(out, sizeof out, "%s -o /dev/full '%s' 2>&1", g_vep, VARS), 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "No space left on device"));
    CU_ASSERT(stat("/dev/full", &st) == 0 && S_ISCHR(st.st_mode));
    /* a FIFO: written directly, read by bcftools on the other end */
    unlink(P("out.fifo"));
    CU_ASSERT_EQUAL_FATAL(mkfifo(P("out.fifo"), 0600), 0);
    CU_ASSERT_EQUAL(tu_runf(out, sizeof out, "(bcftools view -H '%s' | wc -l > '%s') & %s -o '%s' '%s' 2>&1; wait",
                            P("out.fifo"), P("fifo.count"), g_vep, P("out.fifo"), VARS),
                    0);
    CU_ASSERT_EQUAL(tu_runf(out, sizeof out, "cat '%s'", P("fifo.count")), 0);
    CU_ASSERT_EQUAL(atoi(out), 32);
    CU_ASSERT(stat(P("out.fifo"), &st) == 0 && S_ISFIFO(st.st_mode));
    /* a UNIX socket: connected to, not replaced */
    unlink(P("out.sock"));
    CU_ASSERT_EQUAL(tu_runf(out, sizeof out,
                            "cd '%s' && (python3 -c \"import socket\n"
                            "s = socket.socket(socket.AF_UNIX); s.bind('out.sock'); s.listen(1); c, _ = s.accept(); d = b''\n"
                            "while True:\n    b = c.recv(65536)\n    if not b: break\n    d += b\n"
                            "print(sum(1 for l in d.decode().split(chr(10)) if l and l[0] != '#'))\" > sock.count &) && "
                            "for i in $(seq 100); do [ -S out.sock ] && break; sleep 0.1; done && %s -o out.sock '%s' && "
                            "for i in $(seq 100); do [ -s sock.count ] && break; sleep 0.1; done && cat sock.count",
                            g_dir, g_vep, VARS),
                    0);
    CU_ASSERT_EQUAL(atoi(out), 32);
    CU_ASSERT(lstat(P("out.sock"), &st) == 0 && S_ISSOCK(st.st_mode));
    /* a symlink: the target gets the data, the link stays a link, the temporary was beside the target */
    CU_ASSERT_EQUAL(tu_runf(out, sizeof out, "mkdir -p '%s' && ln -sfn real/target.vcf.gz '%s'", P("real"),
                            P("link.vcf.gz")),
                    0);
    CU_ASSERT_EQUAL(tu_runf(out, sizeof out, "%s -o '%s' '%s' 2>&1", g_vep, P("link.vcf.gz"), VARS), 0);
    CU_ASSERT(lstat(P("link.vcf.gz"), &st) == 0 && S_ISLNK(st.st_mode));
    CU_ASSERT(stat(P("real/target.vcf.gz"), &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0);
    CU_ASSERT_EQUAL(tu_runf(out, sizeof out, "bcftools view -H '%s' | wc -l", P("link.vcf.gz")), 0);
    CU_ASSERT_EQUAL(atoi(out), 32);
    CU_ASSERT(no_temporaries(g_dir) && no_temporaries(P("real")));
    /* a symlink to /dev/stdout inside a pipe */
    CU_ASSERT_EQUAL(tu_runf(out, sizeof out, "ln -sfn /dev/stdout '%s' && %s -o '%s' '%s' | bcftools view -H | wc -l",
                            P("to_stdout.vcf"), g_vep, P("to_stdout.vcf"), VARS),
                    0);
    CU_ASSERT_EQUAL(atoi(out), 32);
    CU_ASSERT(lstat(P("to_stdout.vcf"), &st) == 0 && S_ISLNK(st.st_mode));
}

/* ---- item 3: "-" streams ---- */

static void test_dash_streams(void)
{
    /* stdin → stdout through pipes equals the file → file run */
    CU_ASSERT_EQUAL(tu_runf(out, sizeof out, "%s -o '%s' '%s' 2>&1", g_vep, P("file.vcf"), VARS), 0);
    CU_ASSERT_EQUAL(tu_runf(out, sizeof out,
                            "cat '%s' | %s - | bcftools view -H > '%s' && bcftools view -H '%s' > '%s' && cmp '%s' '%s'",
                            VARS, g_vep, P("pipe.txt"), P("file.vcf"), P("file.txt"), P("pipe.txt"), P("file.txt")),
                    0);
    CU_ASSERT_EQUAL(tu_runf(out, sizeof out, "%s -o - /dev/stdin < '%s' | bcftools view -H | cmp - '%s'", g_vep, VARS,
                            P("file.txt")),
                    0);
    /* streaming: records reach stdout while the input is still open (nothing waits for EOF or goes
     * through a temporary). htslib reads a text stream in 64 KiB blocks, so the first part is 4000
     * records (on a contig the FASTA lacks: no model work), then the input pauses for 4 s. */
    FILE *fp = fopen(P("many.vcf"), "w");
    CU_ASSERT_PTR_NOT_NULL_FATAL(fp);
    fputs("##fileformat=VCFv4.2\n##contig=<ID=chrX>\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n", fp);
    for (int i = 1; i <= 8000; i++) fprintf(fp, "chrX\t%d\t.\tA\tG\t.\t.\t.\n", i);
    fclose(fp);
    CU_ASSERT_EQUAL(tu_runf(out, sizeof out,
                            "(head -4003 '%s'; sleep 4; tail -n +4004 '%s') | %s --missing-contig skip - | "
                            "(timeout 3 sh -c 'grep -m 2 -v \"^#\"' | wc -l; cat > /dev/null)",
                            P("many.vcf"), P("many.vcf"), g_vep),
                    0);
    CU_ASSERT_EQUAL(atoi(out), 2);
    /* "-" for a command writing a table */
    CU_ASSERT_EQUAL(tu_runf(out, sizeof out, "printf 'CCO\\n' > '%s' && %s data smiles -q -i '%s' -p none -o - | wc -l",
                            P("one.smi"), STRAND_BIN, P("one.smi")),
                    0);
    CU_ASSERT_EQUAL(atoi(out), 2);
    CU_ASSERT(access("-", F_OK) != 0);
}

/* ---- item 4: nothing scored must not look like success ---- */

/* A copy of the tiny model with one weight set to NaN (the first value of the first norm weight). */
static int write_nan_model(const char *dir)
{
    char src[1024], dst[1400];
    snprintf(src, sizeof src, "%s/model.safetensors", MODEL);
    FILE *fp = fopen(src, "rb");
    if (!fp) return -1;
    fseek(fp, 0, SEEK_END);
    long n = ftell(fp);
    fseek(fp, 0, SEEK_SET);
    unsigned char *b = malloc((size_t)n);
    if (!b || fread(b, 1, (size_t)n, fp) != (size_t)n) return -1;
    fclose(fp);
    uint64_t hl = 0;
    memcpy(&hl, b, 8);
    json_error_t e;
    json_t *h = json_loadb((const char *)b + 8, (size_t)hl, 0, &e);
    if (!h) return -1;
    const char *key;
    json_t *val;
    long off = -1;
    json_object_foreach(h, key, val)
    {
        if (!strstr(key, "norm") || strcmp(json_string_value(json_object_get(val, "dtype")), "F32")) continue;
        off = (long)json_integer_value(json_array_get(json_object_get(val, "data_offsets"), 0));
        break;
    }
    json_decref(h);
    if (off < 0) return -1;
    float nan = NAN;
    memcpy(b + 8 + hl + off, &nan, 4);
    snprintf(dst, sizeof dst, "mkdir -p '%s' && cp '%s/config.json' '%s/'", dir, MODEL, dir);
    if (system(dst) != 0) return -1;
    snprintf(dst, sizeof dst, "%s/model.safetensors", dir);
    fp = fopen(dst, "wb");
    if (!fp || fwrite(b, 1, (size_t)n, fp) != (size_t)n) return -1;
    fclose(fp);
    free(b);
    return 0;
}

static void test_nan_model_fails(void)
{
    CU_ASSERT_EQUAL_FATAL(write_nan_model(P("nan_model")), 0);
    char cmd[4096];
    snprintf(cmd, sizeof cmd, "%s vep -q --threads 1 --window 51 --pool-half-width 10 -f '%s' -m '%s'", STRAND_BIN, g_fa,
             P("nan_model"));
    int st = tu_runf(out, sizeof out, "%s -o '%s' '%s' 2>&1", cmd, P("nan.vcf"), VARS);
    fprintf(stderr, "    NaN weight: exit %d: %.300s\n", st, out);
    CU_ASSERT_NOT_EQUAL(st, 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "non-finite score"));
    CU_ASSERT(access(P("nan.vcf"), F_OK) != 0);
    /* --nonfinite skip: counted, and no value written */
    snprintf(cmd, sizeof cmd, "%s vep --threads 1 --window 51 --pool-half-width 10 -f '%s' -m '%s'", STRAND_BIN, g_fa,
             P("nan_model"));
    st = tu_runf(out, sizeof out, "%s --nonfinite skip -o '%s' '%s' 2>&1", cmd, P("nan.vcf"), VARS);
    CU_ASSERT_EQUAL(st, 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "STRAND_LLR set for 0, STRAND_EMB for 0"));
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "31 non-finite"));
}

static void test_all_contigs_missing(void)
{
    /* the VCF says CHROMOSOME_II, a FASTA says chrCHROMOSOME_II */
    CU_ASSERT_EQUAL_FATAL(tu_runf(out, sizeof out, "sed 's/^>/>chr/' '%s' > '%s'", g_fa, P("chr.fa")), 0);
    char cmd[4096];
    snprintf(cmd, sizeof cmd, "%s vep -q --threads 1 --window 51 --pool-half-width 10 -f '%s' -m '%s'", STRAND_BIN,
             P("chr.fa"), MODEL);
    int st = tu_runf(out, sizeof out, "%s -o '%s' '%s' 2>&1", cmd, P("miss.vcf"), VARS);
    fprintf(stderr, "    all missing: exit %d: %.600s\n", st, out);
    CU_ASSERT_NOT_EQUAL(st, 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "VCF contigs: CHROMOSOME_II, CHROMOSOME_III"));
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "FASTA contigs: chrCHROMOSOME_II, chrCHROMOSOME_III"));
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "--rename-chrs"));
    CU_ASSERT(access(P("miss.vcf"), F_OK) != 0);
    /* --missing-contig skip accepts it */
    CU_ASSERT_EQUAL(tu_runf(out, sizeof out, "%s --missing-contig skip -o '%s' '%s' 2>&1", cmd, P("miss.vcf"), VARS), 0);
    /* --rename-chrs: scored as with the original names, records unchanged */
    FILE *fp = fopen(P("ren.txt"), "w");
    fputs("# VCF FASTA\nCHROMOSOME_II chrCHROMOSOME_II\nCHROMOSOME_III\tchrCHROMOSOME_III\n", fp);
    fclose(fp);
    CU_ASSERT_EQUAL(tu_runf(out, sizeof out, "%s --rename-chrs '%s' --no-version -o '%s' '%s' 2>&1", cmd, P("ren.txt"),
                            P("ren.vcf"), VARS),
                    0);
    CU_ASSERT_EQUAL(tu_runf(out, sizeof out, "%s --no-version -o '%s' '%s' 2>&1", g_vep, P("plain.vcf"), VARS), 0);
    CU_ASSERT_EQUAL(tu_runf(out, sizeof out, "bcftools view -H '%s' > '%s'; bcftools view -H '%s' | cmp - '%s'",
                            P("ren.vcf"), P("ren.txt2"), P("plain.vcf"), P("ren.txt2")),
                    0);
}

/* ---- item 5: output checks before any work ---- */

static void test_output_checked_first(void)
{
    CU_ASSERT_EQUAL_FATAL(tu_runf(out, sizeof out, "cp '%s' '%s' && bgzip -f '%s' && tabix -f -p vcf '%s.gz'", VARS,
                                  P("in.vcf"), P("in.vcf"), P("in.vcf")),
                          0);
    struct stat before, after;
    stat(P("in.vcf.gz"), &before);
    /* the model does not exist: the output error comes first, so nothing was loaded */
    int st = tu_runf(out, sizeof out, "%s vep -f '%s' -m /nonexistent/model -o '%s' '%s' 2>&1", STRAND_BIN, g_fa,
                     P("in.vcf.gz"), P("in.vcf.gz"));
    CU_ASSERT_NOT_EQUAL(st, 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "is the input"));
    CU_ASSERT_PTR_NULL(strstr(out, "nonexistent"));
    stat(P("in.vcf.gz"), &after);
    CU_ASSERT(before.st_ino == after.st_ino && before.st_mtime == after.st_mtime && before.st_size == after.st_size);
    /* through a symlink too */
    tu_runf(out, sizeof out, "ln -sfn in.vcf.gz '%s'", P("alias.vcf.gz"));
    CU_ASSERT_NOT_EQUAL(tu_runf(out, sizeof out, "%s -o '%s' '%s' 2>&1", g_vep, P("alias.vcf.gz"), P("in.vcf.gz")), 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "is the input"));
    /* a directory, a missing directory */
    st = tu_runf(out, sizeof out, "%s vep -f '%s' -m /nonexistent/model -o '%s' '%s' 2>&1", STRAND_BIN, g_fa, g_dir, VARS);
    CU_ASSERT(st != 0 && strstr(out, "is a directory") && !strstr(out, "nonexistent/model"));
    st = tu_runf(out, sizeof out, "%s vep -f '%s' -m /nonexistent/model -o /nonexistent/dir/x.vcf '%s' 2>&1", STRAND_BIN,
                 g_fa, VARS);
    CU_ASSERT(st != 0 && strstr(out, "directory \"/nonexistent/dir\"") && !strstr(out, "nonexistent/model"));
    /* the same for a table command */
    tu_runf(out, sizeof out, "printf 'CCO\\n' > '%s'", P("same.smi"));
    CU_ASSERT_NOT_EQUAL(tu_runf(out, sizeof out, "%s data smiles -i '%s' -o '%s' 2>&1", STRAND_BIN, P("same.smi"),
                                P("same.smi")),
                        0);
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "is the input"));
}

/* ---- item 6: signals remove temporaries ---- */

/* Start `cmd` reading the FIFO `fifo` (fed `head` and then held open), send `sig` once its
 * temporary exists, and report whether it died of the signal with no temporary left in dir. */
static void signal_leaves_nothing(const char *what, const char *cmd, const char *fifo, const char *head, int sig)
{
    unlink(fifo);
    CU_ASSERT_EQUAL_FATAL(mkfifo(fifo, 0600), 0);
    pid_t pid = fork();
    if (pid == 0) {
        execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
        _exit(127);
    }
    int wfd = open(fifo, O_WRONLY);
    CU_ASSERT_FATAL(wfd >= 0);
    CU_ASSERT(write(wfd, head, strlen(head)) == (ssize_t)strlen(head));
    int seen = 0;
    for (int i = 0; i < 300 && !seen; i++) { /* up to 30 s on a loaded machine */
        usleep(100000);
        seen = !no_temporaries(g_dir);
    }
    CU_ASSERT(seen);
    kill(pid, sig);
    int status = 0;
    waitpid(pid, &status, 0);
    close(wfd);
    int clean = no_temporaries(g_dir);
    fprintf(stderr, "    %s: temporary seen %d, %s %d, temporaries left: %s\n", what, seen,
            WIFSIGNALED(status) ? "killed by signal" : "exit", WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status),
            clean ? "none" : "SOME");
    CU_ASSERT(WIFSIGNALED(status) && WTERMSIG(status) == sig);
    CU_ASSERT(clean);
}

static void test_signals_remove_temporaries(void)
{
    /* more than the 64 KiB htslib reads from a stream at a time, so the command gets going and
     * then waits for more input with its temporary open */
    static char head[1 << 18];
    size_t k = (size_t)snprintf(head, sizeof head, "##fileformat=VCFv4.2\n##contig=<ID=chrX>\n"
                                "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n");
    for (int i = 1; i <= 4000; i++) k += (size_t)snprintf(head + k, sizeof head - k, "chrX\t%d\t.\tA\tG\t.\t.\t.\n", i);
    char cmd[8192];
    /* sh -c 'exec strand ...': the signal goes to strand itself */
    snprintf(cmd, sizeof cmd, "exec %s --missing-contig skip -o '%s' '%s' 2>/dev/null", g_vep, P("sig.vcf.gz"),
             P("in.fifo"));
    signal_leaves_nothing("vep SIGTERM", cmd, P("in.fifo"), head, SIGTERM);
    signal_leaves_nothing("vep SIGINT", cmd, P("in.fifo"), head, SIGINT);
    signal_leaves_nothing("vep SIGHUP", cmd, P("in.fifo"), head, SIGHUP);
    k = 0;
    for (int i = 0; i < 20000; i++) k += (size_t)snprintf(head + k, sizeof head - k, "CCO\n");
    snprintf(cmd, sizeof cmd, "exec %s data smiles -q -p none -f smi -i - -o '%s' < '%s' 2>/dev/null", STRAND_BIN,
             P("sig.tsv"), P("in.fifo"));
    signal_leaves_nothing("data smiles SIGTERM", cmd, P("in.fifo"), head, SIGTERM);
    CU_ASSERT(access(P("sig.vcf.gz"), F_OK) != 0 && access(P("sig.tsv"), F_OK) != 0);
}

/* ---- item 8: garbage SMILES ---- */

static void test_garbage_smiles_rejected(void)
{
    FILE *fp = fopen(P("garbage.smi"), "wb");
    CU_ASSERT_PTR_NOT_NULL_FATAL(fp);
    fputs("CCO\nC\xc3\xa9" "C\n\x8f\x01O\x9c\nc1ccccc1\n", fp); /* CéC, random bytes */
    fclose(fp);
    int st = tu_runf(out, sizeof out, "%s data smiles -i '%s' -p none -o '%s' 2>&1", STRAND_BIN, P("garbage.smi"),
                     P("garbage.tsv"));
    CU_ASSERT_EQUAL(st, 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "line 2: byte 0xC3 at character 2 is not printable ASCII"));
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "line 3: byte 0x8F at character 1"));
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "4 rows, 2 valid, 2 invalid"));
    /* neither became a molecule: no methane, no water */
    CU_ASSERT_EQUAL(tu_runf(out, sizeof out, "cut -f2 '%s'", P("garbage.tsv")), 0);
    CU_ASSERT_STRING_EQUAL(out, "canonical_smiles\nCCO\n\n\nc1ccccc1\n");
    /* a NUL byte stops with the line */
    fp = fopen(P("nul.smi"), "wb");
    fwrite("CCO\nC\0C\n", 1, 8, fp);
    fclose(fp);
    st = tu_runf(out, sizeof out, "%s data smiles -i '%s' -o '%s' 2>&1", STRAND_BIN, P("nul.smi"), P("nul.tsv"));
    CU_ASSERT_NOT_EQUAL(st, 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "nul.smi: line 2: NUL byte at character 2"));
    CU_ASSERT(access(P("nul.tsv"), F_OK) != 0);
    /* a 10,000-atom SMILES is refused quickly by the default --max-length */
    st = tu_runf(out, sizeof out, "python3 -c \"print('C'*10000)\" > '%s' && timeout 20 %s data smiles -i '%s' -o /dev/null 2>&1",
                 P("long.smi"), STRAND_BIN, P("long.smi"));
    CU_ASSERT_EQUAL(st, 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "longer than --max-length 1000"));
}

/* ---- item 9: --help exits 0 for every command ---- */

static void help_ok(const char *cmd)
{
    char c[1024];
    snprintf(c, sizeof c, "%s %s --help > /dev/null 2>&1", STRAND_BIN, cmd);
    int st = tu_run(c, NULL, 0);
    if (st != 0) fprintf(stderr, "    `strand %s --help` exits %d\n", cmd, st);
    CU_ASSERT_EQUAL(st, 0);
}

static void test_help_everywhere(void)
{
    /* every command and subcommand the listings name */
    char list[1 << 14];
    CU_ASSERT_EQUAL_FATAL(tu_runf(list, sizeof list, "%s 2>&1", STRAND_BIN), 0);
    int n = 0;
    for (char *l = strtok(list, "\n"); l; l = strtok(NULL, "\n")) {
        char name[64];
        if (strncmp(l, "    ", 4) || sscanf(l, " %63s", name) != 1 || name[0] == '-') continue;
        help_ok(name);
        n++;
        char sub[1 << 13], c[512];
        snprintf(c, sizeof c, "%s %s --help 2>&1", STRAND_BIN, name);
        tu_run(c, sub, sizeof sub);
        if (!strstr(sub, "ubcommand")) continue;
        char *save = NULL;
        for (char *s = strtok_r(sub, "\n", &save); s; s = strtok_r(NULL, "\n", &save)) {
            char sn[64], full[160];
            if (strncmp(s, "    ", 4) || sscanf(s, " %63s", sn) != 1 || sn[0] == '-') continue;
            snprintf(full, sizeof full, "%s %s", name, sn);
            help_ok(full);
            n++;
        }
    }
    fprintf(stderr, "    --help: %d commands and subcommands\n", n);
    CU_ASSERT(n >= 8);
}

/* ---- item 9: vocabulary of vep: regions beyond 64, -R, -T, -O z0-9 ---- */

static void test_vep_regions_targets_levels(void)
{
    CU_ASSERT_EQUAL_FATAL(tu_runf(out, sizeof out, "cp '%s' '%s' && bgzip -f '%s' && tabix -f -p vcf '%s.gz'", VARS,
                                  P("rg.vcf"), P("rg.vcf"), P("rg.vcf")),
                          0);
    /* 100 one-base regions on -r (the old cap was 64) */
    char regs[8192];
    size_t k = 0;
    for (int i = 0; i < 100; i++) k += (size_t)snprintf(regs + k, sizeof regs - k, "%sCHROMOSOME_II:%d", i ? "," : "", 1000 + i);
    CU_ASSERT_EQUAL(tu_runf(out, sizeof out, "%s -r '%s' '%s' | bcftools view -H | wc -l", g_vep, regs, P("rg.vcf.gz")), 0);
    char want[64];
    CU_ASSERT_EQUAL(tu_runf(want, sizeof want, "bcftools view -H -r '%s' '%s' | wc -l", regs, P("rg.vcf.gz")), 0);
    CU_ASSERT_STRING_EQUAL(out, want);
    /* -R file and -T file agree with bcftools */
    FILE *fp = fopen(P("regions.txt"), "w");
    fputs("CHROMOSOME_II\t900\t3000\nCHROMOSOME_III\t1\t300\n", fp);
    fclose(fp);
    CU_ASSERT_EQUAL(tu_runf(out, sizeof out, "%s -R '%s' '%s' | bcftools view -H | cut -f1-5", g_vep, P("regions.txt"),
                            P("rg.vcf.gz")),
                    0);
    char ref[1 << 14];
    CU_ASSERT_EQUAL(tu_runf(ref, sizeof ref, "bcftools view -H -R '%s' '%s' | cut -f1-5", P("regions.txt"), P("rg.vcf.gz")),
                    0);
    CU_ASSERT(tu_same_text("-R vs bcftools", out, ref));
    CU_ASSERT_EQUAL(tu_runf(out, sizeof out, "cat '%s' | %s -T '%s' - | bcftools view -H | cut -f1-5", VARS, g_vep,
                            P("regions.txt")),
                    0);
    CU_ASSERT_EQUAL(tu_runf(ref, sizeof ref, "bcftools view -H -T '%s' '%s' | cut -f1-5", P("regions.txt"), VARS), 0);
    CU_ASSERT(tu_same_text("-T vs bcftools", out, ref));
    CU_ASSERT_EQUAL(tu_runf(out, sizeof out, "%s -t CHROMOSOME_III '%s' | bcftools view -H | cut -f1-5", g_vep, VARS), 0);
    CU_ASSERT_EQUAL(tu_runf(ref, sizeof ref, "bcftools view -H -t CHROMOSOME_III '%s' | cut -f1-5", VARS), 0);
    CU_ASSERT(tu_same_text("-t vs bcftools", out, ref));
    /* -O z0 .. z9: bgzip output bcftools reads; z0 is larger than z9 */
    struct stat s0, s9;
    CU_ASSERT_EQUAL(tu_runf(out, sizeof out, "%s -O z0 -o '%s' '%s' && %s -O z9 -W -o '%s' '%s' && bcftools view -H '%s' "
                            "| wc -l && bcftools view -H -r CHROMOSOME_II '%s' | wc -l",
                            g_vep, P("z0.vcf.gz"), VARS, g_vep, P("z9.vcf.gz"), VARS, P("z0.vcf.gz"), P("z9.vcf.gz")),
                    0);
    CU_ASSERT(stat(P("z0.vcf.gz"), &s0) == 0 && stat(P("z9.vcf.gz"), &s9) == 0 && s0.st_size > s9.st_size);
    CU_ASSERT_NOT_EQUAL(tu_runf(out, sizeof out, "%s -O v5 '%s' 2>&1", g_vep, VARS), 0);
}

/* ---- item 9: one option vocabulary ---- */

static void test_option_vocabulary(void)
{
    /* --threads everywhere; -t is bcftools' targets, not threads */
    CU_ASSERT_EQUAL(tu_runf(out, sizeof out, "printf 'CCO\\n' > '%s' && %s data smiles -q --threads 2 -i '%s' -o /dev/null 2>&1",
                            P("v.smi"), STRAND_BIN, P("v.smi")),
                    0);
    CU_ASSERT_NOT_EQUAL(tu_runf(out, sizeof out, "%s data smiles -q -@ 2 -i '%s' -o /dev/null 2>&1", STRAND_BIN, P("v.smi")), 0);
    CU_ASSERT_NOT_EQUAL(tu_runf(out, sizeof out, "%s embed -t 2 -m '%s' -i x.fa -o /dev/null 2>&1", STRAND_BIN, MODEL), 0);
    /* inspect takes a Hugging Face directory */
    CU_ASSERT_EQUAL(tu_runf(out, sizeof out, "%s inspect '%s'", STRAND_BIN, MODEL), 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "model_ps_tiny/model.safetensors"));
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "tensors:"));
    /* --fasta-ref / --regions (bcftools) accepted by data windows */
    CU_ASSERT_EQUAL(tu_runf(out, sizeof out, "%s data windows --fasta-ref '%s' --regions CHROMOSOME_II -L 100 -o '%s' 2>&1",
                            STRAND_BIN, g_fa, P("w.shard")),
                    0);
}

/* ---- item 10: the model's training length is the default window; Date= in the command line ---- */

static void test_window_from_model(void)
{
    /* a copy of the tiny model whose metadata says it was trained on 33-base windows */
    char src[1024];
    snprintf(src, sizeof src, "%s/model.safetensors", MODEL);
    FILE *fp = fopen(src, "rb");
    CU_ASSERT_PTR_NOT_NULL_FATAL(fp);
    uint64_t hl = 0;
    CU_ASSERT_FATAL(fread(&hl, 8, 1, fp) == 1);
    char *hj = malloc(hl + 1);
    CU_ASSERT_FATAL(fread(hj, 1, hl, fp) == hl);
    hj[hl] = 0;
    json_error_t e;
    json_t *h = json_loads(hj, 0, &e);
    CU_ASSERT_PTR_NOT_NULL_FATAL(h);
    json_t *meta = json_object_get(h, "__metadata__");
    if (!meta) json_object_set_new(h, "__metadata__", meta = json_object());
    json_object_set_new(meta, "strand.train_seq_len", json_string("33"));
    char *nh = json_dumps(h, JSON_COMPACT);
    size_t nl = strlen(nh), pad = (8 - nl % 8) % 8;
    tu_runf(out, sizeof out, "mkdir -p '%s' && cp '%s/config.json' '%s/'", P("m33"), MODEL, P("m33"));
    FILE *wp = fopen(P("m33/model.safetensors"), "wb");
    CU_ASSERT_PTR_NOT_NULL_FATAL(wp);
    uint64_t L = nl + pad;
    fwrite(&L, 8, 1, wp);
    fwrite(nh, 1, nl, wp);
    for (size_t i = 0; i < pad; i++) fputc(' ', wp);
    char buf[65536];
    size_t r;
    while ((r = fread(buf, 1, sizeof buf, fp)) > 0) fwrite(buf, 1, r, wp);
    fclose(wp);
    fclose(fp);
    free(nh), free(hj);
    json_decref(h);
    CU_ASSERT_EQUAL(tu_runf(out, sizeof out, "%s vep -q --threads 1 -f '%s' -m '%s' '%s' | grep '^##strand_vep'",
                            STRAND_BIN, g_fa, P("m33"), VARS),
                    0);
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "window=33,pool_half_width=16>")); /* H clamped to the window */
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "; Date="));
}

/* ---- item 7: under ulimit -v the command says what it needs and exits (it used to hang) ---- */

static void test_ulimit_v_reports_and_exits(void)
{
#if defined(__SANITIZE_ADDRESS__)
    fprintf(stderr, "    skipped: AddressSanitizer reserves terabytes of address space, so ulimit -v cannot apply\n");
    return;
#endif
    int st = tu_runf(out, sizeof out, "ulimit -v 250000 && timeout 60 %s vep -f '%s' -o /dev/null '%s' 2>&1; echo \"exit $?\"",
                     STRAND_BIN, g_fa, VARS);
    fprintf(stderr, "    ulimit -v 250000: %s", out);
    CU_ASSERT_EQUAL(st, 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "of address space, but the limit (ulimit -v) leaves"));
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "exit 1"));
}

/* cmake --install puts the bundled models where the installed strand vep looks for its default */
static void test_install_bundled_models(void)
{
    char bin[1024];
    snprintf(bin, sizeof bin, "%s", STRAND_BIN);
    char *slash = strrchr(bin, '/');
    CU_ASSERT_PTR_NOT_NULL_FATAL(slash);
    *slash = '\0'; /* the build directory */
    int st = tu_runf(out, sizeof out, "cmake --install '%s' --prefix '%s' > /dev/null 2>&1 && ls '%s/share/strand/models'",
                     bin, P("inst"), P("inst"));
    CU_ASSERT_EQUAL(st, 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "caduceus-ps-chr20.safetensors"));
    /* the installed binary finds it without -m (and without the source tree's copy: STRAND_MODEL_DIR unset) */
    st = tu_runf(out, sizeof out, "unset STRAND_MODEL_DIR; '%s/bin/strand' vep -q --threads 1 -f '%s' '%s' | grep -c '^##strand_vepModel=<Name=\"caduceus-ps-chr20.safetensors\".*window=513'",
                 P("inst"), g_fa, VARS);
    CU_ASSERT_EQUAL(st, 0);
    CU_ASSERT_EQUAL(atoi(out), 1);
}

void register_suites(void)
{
    CU_pSuite s = CU_add_suite("io_cli", setup, NULL);
    ADD_TEST(s, test_learned_header_declared);
    ADD_TEST(s, test_stream_late_tags);
    ADD_TEST(s, test_special_outputs);
    ADD_TEST(s, test_dash_streams);
    ADD_TEST(s, test_nan_model_fails);
    ADD_TEST(s, test_all_contigs_missing);
    ADD_TEST(s, test_output_checked_first);
    ADD_TEST(s, test_signals_remove_temporaries);
    ADD_TEST(s, test_garbage_smiles_rejected);
    ADD_TEST(s, test_help_everywhere);
    ADD_TEST(s, test_vep_regions_targets_levels);
    ADD_TEST(s, test_option_vocabulary);
    ADD_TEST(s, test_window_from_model);
    ADD_TEST(s, test_install_bundled_models);
    ADD_TEST(s, test_ulimit_v_reports_and_exits);
}
