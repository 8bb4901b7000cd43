/* io/shards: write/read round trip, header and checksums (CRC-32 checked against Python's zlib),
 * every corruption detected on open, atomic writes, and the shuffling loader (each record exactly
 * once per epoch, seeded, reproducible, buffer 1 = file order). */
#include <sys/stat.h>
#include <unistd.h>

#include "core/error.h"
#include "io/shards.h"
#include "strand.h"
#include "test_util.h"

enum { L = 37, N = 2500, CHUNK = 256 };

#define tmpf(name) tu_tmp_in("shards", name)

static uint8_t tok_of(int rec, int i) /* deterministic content, ids 6..11 */
{
    return (uint8_t)(6 + (rec * 7 + i * 13 + rec / 5) % 6);
}

static int write_shard(const char *path, int n)
{
    st_shard_writer *w = NULL;
    int rc = st_shard_writer_open(&w, path, ST_SHARD_KIND_DNA_WINDOWS, ST_SPLIT_VAL, L, st_dna_vocab_hash(), 16, CHUNK);
    if (rc) return rc;
    uint8_t t[L];
    for (int r = 0; r < n; r++) {
        for (int i = 0; i < L; i++) t[i] = tok_of(r, i);
        if ((rc = st_shard_writer_add(w, t, r % 3, 1000LL * r + 5)) != 0) {
            st_shard_writer_abort(w);
            return rc;
        }
    }
    st_shard_writer_set_meta(w, "source\ttest\ncontig\t0\tx\t10\n");
    return st_shard_writer_close(w);
}

static void setup(void)
{
    mkdir(STRAND_TEST_TMP, 0755);
    mkdir(tmpf(""), 0755);
}

static void test_roundtrip(void)
{
    setup();
    const char *path = tmpf("a.shard");
    CU_ASSERT_EQUAL_FATAL(write_shard(path, N), 0);
    st_shard *s = NULL;
    CU_ASSERT_EQUAL_FATAL(st_shard_open(&s, path), 0);
    const st_shard_info *I = st_shard_get_info(s);
    CU_ASSERT_EQUAL(I->n_records, N);
    CU_ASSERT_EQUAL(I->record_len, L);
    CU_ASSERT_EQUAL(I->split, ST_SPLIT_VAL);
    CU_ASSERT_EQUAL(I->n_chunks, (N + CHUNK - 1) / CHUNK);
    CU_ASSERT_EQUAL(I->vocab_hash, st_dna_vocab_hash());
    CU_ASSERT_STRING_EQUAL(st_shard_meta(s), "source\ttest\ncontig\t0\tx\t10\n");
    uint8_t tok[CHUNK * L];
    int32_t ct[CHUNK];
    int64_t st[CHUNK];
    int rec = 0, bad = 0;
    for (uint32_t c = 0; c < I->n_chunks; c++) {
        CU_ASSERT_EQUAL_FATAL(st_shard_read_chunk(s, c, tok, ct, st), 0);
        for (uint32_t j = 0; j < st_shard_chunk_records(s, c); j++, rec++) {
            for (int i = 0; i < L; i++) bad += tok[j * L + i] != tok_of(rec, i);
            bad += ct[j] != rec % 3 || st[j] != 1000LL * rec + 5;
        }
    }
    CU_ASSERT_EQUAL(rec, N);
    CU_ASSERT_EQUAL(bad, 0);
    st_shard_close(s);

    /* the payload CRC equals zlib's crc32 of everything after the 128-byte header */
    char cmd[2048], out[64];
    snprintf(cmd, sizeof cmd, "/usr/bin/python3 -c \"import zlib,struct;d=open('%s','rb').read();"
             "print(int(zlib.crc32(d[128:])==struct.unpack('<I',d[64:68])[0] and "
             "zlib.crc32(d[:68])==struct.unpack('<I',d[68:72])[0] and len(d)-128==struct.unpack('<Q',d[56:64])[0]))\"",
             path);
    CU_ASSERT_EQUAL(tu_run(cmd, out, sizeof out), 0);
    CU_ASSERT_EQUAL(atoi(out), 1);
    /* written with the usual permissions (not mkstemp's 0600) */
    struct stat stt;
    mode_t um = umask(0);
    umask(um);
    CU_ASSERT(stat(path, &stt) == 0 && (stt.st_mode & 0777) == (0666 & ~um));
    /* an empty shard (a split with no windows) is valid and yields nothing */
    st_shard_writer *w = NULL;
    CU_ASSERT_EQUAL_FATAL(st_shard_writer_open(&w, tmpf("empty.shard"), 1, ST_SPLIT_TEST, L, 0, 16, 8), 0);
    CU_ASSERT_EQUAL_FATAL(st_shard_writer_close(w), 0);
    st_loader *ld = NULL;
    int32_t ids[4 * L];
    CU_ASSERT_EQUAL_FATAL(st_loader_open(&ld, tmpf("empty.shard"), 4, 16, 1), 0);
    CU_ASSERT_EQUAL(st_loader_info(ld)->n_records, 0);
    CU_ASSERT_EQUAL(st_loader_next(ld, ids, NULL, NULL), 0);
    st_loader_close(ld);
    /* CRC-32 of a chunked buffer equals that of the whole */
    uint8_t buf[1000];
    for (int i = 0; i < 1000; i++) buf[i] = (uint8_t)(i * 31 + 7);
    CU_ASSERT_EQUAL(st_crc32(st_crc32(0, buf, 333), buf + 333, 667), st_crc32(0, buf, 1000));
}

/* Copy `src` to `dst`, then overwrite `n` bytes at `off` (or truncate to `off` when data NULL). */
static void corrupt(const char *src, const char *dst, long off, const void *data, size_t n)
{
    FILE *a = fopen(src, "rb"), *b = fopen(dst, "wb");
    CU_ASSERT_FATAL(a && b);
    int c;
    long pos = 0;
    while ((c = fgetc(a)) != EOF && (data || pos < off)) {
        if (data && pos >= off && (size_t)(pos - off) < n) c = ((const uint8_t *)data)[pos - off];
        fputc(c, b);
        pos++;
    }
    fclose(a);
    fclose(b);
}

static void test_corruption_detected(void)
{
    setup();
    const char *good = tmpf("good.shard"), *bad = tmpf("bad.shard");
    CU_ASSERT_EQUAL_FATAL(write_shard(good, 600), 0);
    st_shard *s = NULL;
    uint8_t x = 0x5a;
    corrupt(good, bad, 300, &x, 1); /* inside a compressed chunk */
    CU_ASSERT_EQUAL(st_shard_open(&s, bad), STRAND_E_FORMAT);
    CU_ASSERT(strstr(strand_last_error(), "bad.shard: payload checksum mismatch") != NULL);
    corrupt(good, bad, 24, &x, 1); /* record count in the header */
    CU_ASSERT_EQUAL(st_shard_open(&s, bad), STRAND_E_FORMAT);
    CU_ASSERT(strstr(strand_last_error(), "header checksum") != NULL);
    corrupt(good, bad, 0, "STRNDSHX", 8);
    CU_ASSERT_EQUAL(st_shard_open(&s, bad), STRAND_E_FORMAT);
    CU_ASSERT(strstr(strand_last_error(), "bad magic") != NULL);
    uint8_t v2[4] = {2, 0, 0, 0};
    corrupt(good, bad, 8, v2, 4);
    CU_ASSERT_EQUAL(st_shard_open(&s, bad), STRAND_E_UNSUPPORTED);
    CU_ASSERT(strstr(strand_last_error(), "version 2") != NULL);
    corrupt(good, bad, 1000, NULL, 0); /* truncated */
    CU_ASSERT_EQUAL(st_shard_open(&s, bad), STRAND_E_FORMAT);
    CU_ASSERT(strstr(strand_last_error(), "truncated") != NULL);
    corrupt(good, bad, 50, NULL, 0); /* shorter than a header */
    CU_ASSERT_EQUAL(st_shard_open(&s, bad), STRAND_E_FORMAT);
    corrupt(good, bad, 0, NULL, 0); /* empty */
    CU_ASSERT_EQUAL(st_shard_open(&s, bad), STRAND_E_FORMAT);
    CU_ASSERT(s == NULL);
    CU_ASSERT_EQUAL(st_shard_open(&s, tmpf("missing.shard")), STRAND_E_IO);
}

static void test_atomic_write(void)
{
    setup();
    const char *path = tmpf("aborted.shard");
    unlink(path);
    st_shard_writer *w = NULL;
    CU_ASSERT_EQUAL_FATAL(st_shard_writer_open(&w, path, 1, 0, L, 0, 16, 8), 0);
    uint8_t t[L] = {7};
    for (int i = 0; i < 20; i++) st_shard_writer_add(w, t, 0, i);
    CU_ASSERT(access(path, F_OK) != 0); /* nothing under the final name while writing */
    st_shard_writer_abort(w);
    CU_ASSERT(access(path, F_OK) != 0);
    char cmd[2048], out[64];
    snprintf(cmd, sizeof cmd, "ls '%s' | grep -c 'aborted.shard.tmp'", tmpf(""));
    tu_run(cmd, out, sizeof out);
    CU_ASSERT_EQUAL(atoi(out), 0);
    CU_ASSERT_EQUAL(st_shard_writer_open(&w, tmpf("no/such/dir/x.shard"), 1, 0, L, 0, 16, 8), STRAND_E_IO);
}

/* Drain one epoch; records are identified by their start (unique). Returns the count. */
static int drain(st_loader *ld, int B, int64_t *order, int *bad_content)
{
    int32_t *ids = malloc((size_t)B * L * sizeof *ids);
    int32_t ct[64];
    int64_t st[64];
    int n = 0, r;
    *bad_content = 0;
    while ((r = st_loader_next(ld, ids, ct, st)) > 0) {
        for (int i = 0; i < r; i++) {
            int rec = (int)((st[i] - 5) / 1000);
            for (int k = 0; k < L; k++) *bad_content += ids[(size_t)i * L + k] != tok_of(rec, k);
            *bad_content += ct[i] != rec % 3;
            if (n < N) order[n] = st[i];
            n++;
        }
        if (r < B) break;
    }
    free(ids);
    return n;
}

static int is_permutation(const int64_t *order, int n)
{
    char *seen = calloc(N, 1);
    int ok = 1;
    for (int i = 0; i < n; i++) {
        int rec = (int)((order[i] - 5) / 1000);
        if (rec < 0 || rec >= N || seen[rec]) ok = 0;
        else seen[rec] = 1;
    }
    free(seen);
    return ok && n == N;
}

static void test_loader(void)
{
    setup();
    const char *path = tmpf("loader.shard");
    CU_ASSERT_EQUAL_FATAL(write_shard(path, N), 0);
    static int64_t o1[N], o2[N], o3[N], o4[N];
    int bad;
    st_loader *ld = NULL;
    /* buffer 1: file order, batches of 64, last one partial */
    CU_ASSERT_EQUAL_FATAL(st_loader_open(&ld, path, 64, 1, 1), 0);
    CU_ASSERT_EQUAL(drain(ld, 64, o1, &bad), N);
    CU_ASSERT_EQUAL(bad, 0);
    int inorder = 1;
    for (int i = 0; i < N; i++) inorder &= o1[i] == 1000LL * i + 5;
    CU_ASSERT(inorder);
    st_loader_close(ld);
    /* shuffled: a permutation, reproducible from the seed, different for another seed/epoch */
    CU_ASSERT_EQUAL_FATAL(st_loader_open(&ld, path, 64, 500, 42), 0);
    CU_ASSERT_EQUAL(drain(ld, 64, o2, &bad), N);
    CU_ASSERT_EQUAL(bad, 0);
    CU_ASSERT(is_permutation(o2, N));
    CU_ASSERT_EQUAL(st_loader_new_epoch(ld), 0);
    CU_ASSERT_EQUAL(drain(ld, 64, o4, &bad), N);
    CU_ASSERT(is_permutation(o4, N));
    CU_ASSERT(memcmp(o2, o4, sizeof o2) != 0);
    st_loader_close(ld);
    CU_ASSERT_EQUAL_FATAL(st_loader_open(&ld, path, 64, 500, 42), 0);
    CU_ASSERT_EQUAL(drain(ld, 64, o3, &bad), N);
    CU_ASSERT(memcmp(o2, o3, sizeof o2) == 0);
    st_loader_close(ld);
    CU_ASSERT_EQUAL_FATAL(st_loader_open(&ld, path, 64, 500, 43), 0);
    CU_ASSERT_EQUAL(drain(ld, 64, o3, &bad), N);
    CU_ASSERT(is_permutation(o3, N));
    CU_ASSERT(memcmp(o2, o3, sizeof o2) != 0);
    st_loader_close(ld);
    /* the shuffle really mixes: fewer than 5% of records stay within 10 places of file order */
    int near = 0;
    for (int i = 0; i < N; i++) near += llabs((o2[i] - 5) / 1000 - i) <= 10;
    fprintf(stderr, "    records within 10 of their file position: %d of %d\n", near, N);
    CU_ASSERT(near < N / 20);
    CU_ASSERT_EQUAL(st_loader_open(&ld, path, 0, 10, 1), STRAND_E_ARG);
}

void register_suites(void)
{
    CU_pSuite s = CU_add_suite("io_shards", NULL, NULL);
    ADD_TEST(s, test_roundtrip);
    ADD_TEST(s, test_corruption_detected);
    ADD_TEST(s, test_atomic_write);
    ADD_TEST(s, test_loader);
}
