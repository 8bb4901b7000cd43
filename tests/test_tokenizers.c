/* Tokenizers (docs/tokenizers.md): DNA ids, complement and reverse complement; SMILES scanner against
 * Python's re.findall (tests/reference/smiles_tokens.py -> tests/data/tokenizers/) and against an
 * independent POSIX-regex oracle; NCI round trips; vocabularies; JSON and safetensors metadata. */
#include <ctype.h>
#include <regex.h>
#include <unistd.h>

#include "core/safetensors.h"
#include "core/tokenizer.h"
#include "core/tokenizer_dna.h"
#include "core/tokenizer_smiles.h"
#include "strand.h"
#include "test_util.h"

#define NCI_SMI "/usr/share/RDKit/Data/NCI/first_5K.smi"
#define TOKDATA STRAND_TEST_DATA "/tokenizers/"

/* ---- small helpers ------------------------------------------------------------------------ */

/* Lines of a text file (newline stripped, nothing else). NULL + message when it cannot be read. */
typedef struct lines {
    char **v;
    size_t n;
} lines;

static lines read_lines(const char *path)
{
    lines L = {0};
    FILE *f = fopen(path, "r");
    if (!f) {
        fprintf(stderr, "    cannot open %s (NCI file: run scripts/install-deps; fixtures: "
                        "/usr/bin/python3 tests/reference/smiles_tokens.py)\n", path);
        return L;
    }
    size_t cap = 0;
    char *buf = NULL;
    size_t bcap = 0;
    ssize_t r;
    while ((r = getline(&buf, &bcap, f)) >= 0) {
        if (r > 0 && buf[r - 1] == '\n') buf[--r] = '\0';
        if (L.n == cap) {
            cap = cap ? 2 * cap : 256;
            L.v = realloc(L.v, cap * sizeof *L.v);
        }
        L.v[L.n++] = strdup(buf);
    }
    free(buf);
    fclose(f);
    return L;
}

static void free_lines(lines *L)
{
    for (size_t i = 0; i < L->n; i++) free(L->v[i]);
    free(L->v);
    L->v = NULL;
    L->n = 0;
}

/* The SMILES column of first_5K.smi ("SMILES<TAB>name"); the strings point into L. */
static lines read_nci(void)
{
    lines L = read_lines(NCI_SMI);
    for (size_t i = 0; i < L.n; i++) {
        char *t = strpbrk(L.v[i], " \t");
        if (t) *t = '\0';
    }
    return L;
}

/* Tokens of s joined by single spaces, via st_smiles_scan. Returns the scan's code. */
static int scan_joined(const char *s, char *out, size_t cap)
{
    size_t n = strlen(s), k = 0;
    st_smiles_span sp[1024];
    int rc = st_smiles_scan(s, n, sp, 1024, &k, NULL);
    out[0] = '\0';
    if (rc) return rc;
    CU_ASSERT_FATAL(k <= 1024);
    size_t o = 0;
    for (size_t i = 0; i < k; i++) {
        if (i) out[o++] = ' ';
        CU_ASSERT_FATAL(o + sp[i].len + 2 < cap);
        memcpy(out + o, s + sp[i].start, sp[i].len);
        o += sp[i].len;
    }
    out[o] = '\0';
    return 0;
}

/* ---- DNA ------------------------------------------------------------------------------------ */

static void test_dna_ids(void)
{
    /* docs/tokenizers.md "DNA tokenizer" table, written as the list of token names in id order */
    const char *spec[12] = {"[CLS]", "[SEP]", "[BOS]", "[MASK]", "[PAD]", "[RESERVED]", "[UNK]",
                            "A", "C", "G", "T", "N"};
    for (int id = 0; id < 12; id++) CU_ASSERT_STRING_EQUAL(st_dna_token(id), spec[id]);
    for (int id = 12; id < 17; id++) CU_ASSERT_PTR_NULL(st_dna_token(id));
    CU_ASSERT_PTR_NULL(st_dna_token(-1));
    /* every byte: a nucleotide letter in either case -> the id whose name is that letter, else [UNK] */
    int bad = 0;
    for (int b = 0; b < 256; b++) {
        int want = 6;
        for (int id = 7; id < 12; id++)
            if (b != 0 && toupper(b) == spec[id][0]) want = id;
        if (st_dna_byte_to_id[b] != want && bad++ < 5)
            fprintf(stderr, "    byte 0x%02x -> %d, want %d\n", b, st_dna_byte_to_id[b], want);
    }
    CU_ASSERT_EQUAL(bad, 0);

    strand_tokenizer *t = NULL;
    CU_ASSERT_EQUAL_FATAL(strand_tokenizer_dna_create(&t), 0);
    CU_ASSERT_EQUAL(strand_tokenizer_kind(t), STRAND_TOKENIZER_DNA);
    CU_ASSERT_EQUAL(strand_tokenizer_vocab_size(t), 16);
    int32_t ids[16];
    size_t n = 0, unk = 0;
    CU_ASSERT_EQUAL(strand_tokenizer_encode_ex(t, "acgtnACGTNx-", ids, 16, &n, &unk), 0);
    CU_ASSERT_EQUAL(n, 12);
    CU_ASSERT_EQUAL(unk, 2);
    for (int i = 0; i < 10; i++) {
        char want[2] = {"ACGTN"[i % 5], 0};
        CU_ASSERT_STRING_EQUAL(strand_tokenizer_token(t, ids[i]), want);
    }
    CU_ASSERT_EQUAL(ids[10], 6);
    CU_ASSERT_EQUAL(ids[11], 6);
    /* too long: error, count still reported; measuring mode */
    CU_ASSERT_EQUAL(strand_tokenizer_encode(t, "ACGTACGT", ids, 4, &n), STRAND_E_RANGE);
    CU_ASSERT_EQUAL(n, 8);
    CU_ASSERT_PTR_NOT_NULL(strstr(strand_tokenizer_last_error(t), "8 characters"));
    CU_ASSERT_EQUAL(strand_tokenizer_encode(t, "ACGTACGT", NULL, 0, &n), 0);
    CU_ASSERT_EQUAL(n, 8);
    /* padded model input: no specials added, [PAD] after */
    CU_ASSERT_EQUAL(strand_tokenizer_encode_padded(t, "GATTACA", ids, 10, &n, NULL), 0);
    CU_ASSERT_EQUAL(n, 7);
    CU_ASSERT_EQUAL(ids[0], 9);
    for (int i = 7; i < 10; i++) CU_ASSERT_EQUAL(ids[i], strand_tokenizer_special(t, STRAND_TOKEN_PAD));
    CU_ASSERT_EQUAL(strand_tokenizer_encode_padded(t, "GATTACA", ids, 6, &n, NULL), STRAND_E_RANGE);
    CU_ASSERT_EQUAL(strand_tokenizer_special(t, STRAND_TOKEN_MASK), 3);
    CU_ASSERT_EQUAL(strand_tokenizer_special(t, STRAND_TOKEN_UNK), 6);
    strand_tokenizer_free(t);
}

/* Reverse complement of a DNA string, computed on characters. */
static void string_revcomp(const char *s, char *out)
{
    size_t n = strlen(s);
    for (size_t i = 0; i < n; i++) {
        char c = (char)toupper((unsigned char)s[n - 1 - i]);
        out[i] = c == 'A' ? 'T' : c == 'T' ? 'A' : c == 'C' ? 'G' : c == 'G' ? 'C' : c;
    }
    out[n] = '\0';
}

static void test_dna_complement(void)
{
    strand_tokenizer *t = NULL;
    CU_ASSERT_EQUAL_FATAL(strand_tokenizer_dna_create(&t), 0);
    for (int id = 0; id < 16; id++) {
        int c = strand_tokenizer_complement(t, id);
        CU_ASSERT_EQUAL(strand_tokenizer_complement(t, c), id); /* an involution */
        CU_ASSERT_EQUAL(c, (id >= 7 && id <= 10) ? 17 - id : id);
    }
    /* letters: comp(A) is T etc., checked through the names */
    const char *pairs[4][2] = {{"A", "T"}, {"C", "G"}, {"G", "C"}, {"T", "A"}};
    for (int k = 0; k < 4; k++) {
        int32_t id;
        size_t n;
        CU_ASSERT_EQUAL(strand_tokenizer_encode(t, pairs[k][0], &id, 1, &n), 0);
        CU_ASSERT_STRING_EQUAL(strand_tokenizer_token(t, strand_tokenizer_complement(t, id)), pairs[k][1]);
    }
    CU_ASSERT_EQUAL(strand_tokenizer_complement(t, 16), STRAND_E_RANGE);
    CU_ASSERT_EQUAL(strand_tokenizer_complement(t, -1), STRAND_E_RANGE);

    /* random sequences with lower case and junk: rc in token space == encode(rc on characters),
     * rc(rc(x)) == x, in place == out of place, u8 == i32 */
    strand_rng r;
    strand_rng_seed(&r, 11);
    const char alpha[] = "ACGTNacgtnRY-.";
    char s[301], rs[301];
    int32_t a[300], b[300], c[300];
    uint8_t a8[300], b8[300];
    int mism = 0;
    for (int it = 0; it < 200; it++) {
        size_t n = (size_t)strand_rng_below(&r, 301);
        for (size_t i = 0; i < n; i++) s[i] = alpha[strand_rng_below(&r, sizeof alpha - 1)];
        s[n] = '\0';
        string_revcomp(s, rs);
        st_dna_encode(s, n, a);
        st_dna_encode(rs, n, b);
        CU_ASSERT_EQUAL(strand_tokenizer_reverse_complement(t, a, c, n), 0);
        mism += n && memcmp(c, b, n * sizeof *c) != 0;
        CU_ASSERT_EQUAL(strand_tokenizer_reverse_complement(t, c, c, n), 0); /* in place */
        mism += n && memcmp(c, a, n * sizeof *c) != 0;
        st_dna_encode_u8(s, n, a8);
        CU_ASSERT_EQUAL(st_dna_revcomp_u8(a8, b8, n), 0);
        for (size_t i = 0; i < n; i++) mism += b8[i] != b[i];
    }
    CU_ASSERT_EQUAL(mism, 0);
    int32_t badid[3] = {7, 16, 8};
    CU_ASSERT_EQUAL(strand_tokenizer_reverse_complement(t, badid, c, 3), STRAND_E_RANGE);
    CU_ASSERT_PTR_NOT_NULL(strstr(strand_tokenizer_last_error(t), "position 1"));
    strand_tokenizer_free(t);
}

static void test_dna_decode_and_n(void)
{
    strand_tokenizer *t = NULL;
    CU_ASSERT_EQUAL_FATAL(strand_tokenizer_dna_create(&t), 0);
    int32_t ids[32];
    size_t n, len;
    char out[64];
    CU_ASSERT_EQUAL(strand_tokenizer_encode(t, "gattaCAnN", ids, 32, &n), 0);
    CU_ASSERT_EQUAL(strand_tokenizer_decode(t, ids, n, out, sizeof out, &len), 0);
    CU_ASSERT_STRING_EQUAL(out, "GATTACANN"); /* upper-cased */
    CU_ASSERT_EQUAL(len, 9);
    /* specials dropped by default, named on request */
    int32_t sp[5] = {2, 7, 3, 10, 4};
    CU_ASSERT_EQUAL(strand_tokenizer_decode(t, sp, 5, out, sizeof out, &len), 0);
    CU_ASSERT_STRING_EQUAL(out, "AT");
    CU_ASSERT_EQUAL(strand_tokenizer_decode_ex(t, sp, 5, STRAND_DECODE_KEEP_SPECIAL, out, sizeof out, &len), 0);
    CU_ASSERT_STRING_EQUAL(out, "[BOS]A[MASK]T[PAD]");
    /* buffer too small: error, full length reported, output a terminated prefix */
    CU_ASSERT_EQUAL(strand_tokenizer_decode_ex(t, sp, 5, STRAND_DECODE_KEEP_SPECIAL, out, 8, &len), STRAND_E_RANGE);
    CU_ASSERT_EQUAL(len, 18);
    CU_ASSERT_STRING_EQUAL(out, "[BOS]A");
    CU_ASSERT_EQUAL(strand_tokenizer_decode(t, sp, 5, NULL, 0, &len), 0); /* measure */
    CU_ASSERT_EQUAL(len, 2);
    int32_t bad[3] = {7, 12, 8};
    CU_ASSERT_EQUAL(strand_tokenizer_decode(t, bad, 3, out, sizeof out, &len), STRAND_E_RANGE);
    CU_ASSERT_PTR_NOT_NULL(strstr(strand_tokenizer_last_error(t), "position 1"));
    /* N -> [PAD] for pretraining */
    size_t k = 99;
    CU_ASSERT_EQUAL(strand_tokenizer_n_to_pad(t, ids, n, &k), 0);
    CU_ASSERT_EQUAL(k, 2);
    CU_ASSERT_EQUAL(ids[7], 4);
    CU_ASSERT_EQUAL(ids[8], 4);
    CU_ASSERT_EQUAL(ids[6], 7);
    uint8_t u[4] = {11, 7, 11, 4};
    CU_ASSERT_EQUAL(st_dna_n_to_pad_u8(u, 4), 2);
    CU_ASSERT(u[0] == 4 && u[1] == 7 && u[2] == 4 && u[3] == 4);
    strand_tokenizer_free(t);
}

/* ---- SMILES scanner ----------------------------------------------------------------------- */

/* Token sequences equal Python's re.findall (fixture written by tests/reference/smiles_tokens.py). */
static void test_smiles_python_reference(void)
{
    lines L = read_lines(TOKDATA "nci_tokens.tsv");
    CU_ASSERT_FATAL(L.n >= 300);
    size_t bad = 0;
    char got[8192];
    for (size_t i = 0; i < L.n; i++) {
        char *tab = strchr(L.v[i], '\t');
        CU_ASSERT_FATAL(tab != NULL);
        *tab = '\0';
        const char *smi = L.v[i], *want = tab + 1;
        int rc = scan_joined(smi, got, sizeof got);
        if ((rc || strcmp(got, want)) && bad++ < 3)
            fprintf(stderr, "    MISMATCH line %zu \"%s\": got [%s] (rc %d, %s) want [%s]\n", i + 1, smi, got, rc,
                    strand_last_error(), want);
    }
    fprintf(stderr, "    %zu strings compared with Python re.findall, %zu mismatches\n", L.n, bad);
    CU_ASSERT_EQUAL(bad, 0);
    free_lines(&L);
}

static void test_smiles_invalid(void)
{
    lines L = read_lines(TOKDATA "invalid.tsv");
    CU_ASSERT_FATAL(L.n >= 10);
    strand_tokenizer *t = NULL;
    const char *corpus[1] = {"CCO"};
    CU_ASSERT_EQUAL_FATAL(strand_tokenizer_smiles_build(&t, corpus, 1), 0);
    for (size_t i = 0; i < L.n; i++) {
        char *f1 = strchr(L.v[i], '\t');
        CU_ASSERT_FATAL(f1 != NULL);
        *f1++ = '\0';
        char *f2 = strchr(f1, '\t');
        CU_ASSERT_FATAL(f2 != NULL);
        *f2++ = '\0';
        const char *s = L.v[i];
        char want[64];
        snprintf(want, sizeof want, "at character %s ('%s')", f1, f2); /* Python's 1-based position */
        size_t n = 0;
        CU_ASSERT_EQUAL(st_smiles_scan(s, strlen(s), NULL, 0, &n, NULL), STRAND_E_TOKENIZE);
        int ok = strstr(strand_last_error(), want) != NULL;
        char quoted[64];
        snprintf(quoted, sizeof quoted, "\"%s\"", s);
        ok = ok && strstr(strand_last_error(), quoted) != NULL;
        if (!ok) fprintf(stderr, "    \"%s\": message \"%s\" lacks \"%s\"\n", s, strand_last_error(), want);
        CU_ASSERT(ok);
        /* the public API says the same, also on the handle */
        int32_t ids[32];
        CU_ASSERT_EQUAL(strand_tokenizer_encode(t, s, ids, 32, &n), STRAND_E_TOKENIZE);
        CU_ASSERT_PTR_NOT_NULL(strstr(strand_tokenizer_last_error(t), want));
        CU_ASSERT_EQUAL(strand_tokenizer_encode_padded(t, s, ids, 32, &n, NULL), STRAND_E_TOKENIZE);
    }
    /* reasons are spelled out */
    size_t n;
    CU_ASSERT_EQUAL(st_smiles_scan("[NH3+", 5, NULL, 0, &n, NULL), STRAND_E_TOKENIZE);
    CU_ASSERT_PTR_NOT_NULL(strstr(strand_last_error(), "without closing ']'"));
    CU_ASSERT_EQUAL(st_smiles_scan("C%1C", 4, NULL, 0, &n, NULL), STRAND_E_TOKENIZE);
    CU_ASSERT_PTR_NOT_NULL(strstr(strand_last_error(), "two digits"));
    /* positions count characters, not bytes: "[é]" is one token, then 'é' at character 5 */
    const char *u = "[\xc3\xa9]C\xc3\xa9";
    CU_ASSERT_EQUAL(st_smiles_scan(u, strlen(u), NULL, 0, &n, NULL), STRAND_E_TOKENIZE);
    CU_ASSERT_PTR_NOT_NULL(strstr(strand_last_error(), "at character 5 (byte 0xC3)"));
    /* a NUL byte is never inside a token */
    CU_ASSERT_EQUAL(st_smiles_token_len("[C\0]", 4, 0), 0);
    CU_ASSERT_EQUAL(st_smiles_scan("C\0C", 3, NULL, 0, &n, NULL), STRAND_E_TOKENIZE);
    CU_ASSERT_PTR_NOT_NULL(strstr(strand_last_error(), "at character 2 (byte 0x00)"));
    /* corpus errors name the string's index */
    const char *badc[3] = {"CC", "CO", "C1CC!"};
    strand_tokenizer *t2 = NULL;
    CU_ASSERT_EQUAL(strand_tokenizer_smiles_build(&t2, badc, 3), STRAND_E_TOKENIZE);
    CU_ASSERT_PTR_NULL(t2);
    CU_ASSERT_PTR_NOT_NULL(strstr(strand_last_error(), "corpus string 2"));
    CU_ASSERT_PTR_NOT_NULL(strstr(strand_last_error(), "at character 5 ('!')"));
    strand_tokenizer_free(t);
    free_lines(&L);
}

/* Independent oracle: the same regex compiled by glibc's POSIX engine. Every alternative starts
 * with its own character and `Br?`, `Cl?`, `[^]]+]` have one greedy match, so POSIX's
 * leftmost-longest rule and Python's leftmost-alternative rule pick the same token. */
static void test_smiles_posix_oracle(void)
{
    regex_t re;
    const char *ere = "^(\\[[^]]+]|Br?|Cl?|N|O|S|P|F|I|b|c|n|o|s|p|\\(|\\)|\\.|=|#|-|\\+|\\\\|/|:|~|@|\\?|>|\\*|\\$"
                      "|%[0-9]{2}|[0-9])";
    CU_ASSERT_EQUAL_FATAL(regcomp(&re, ere, REG_EXTENDED), 0);
    strand_rng r;
    strand_rng_seed(&r, 5);
    /* every token character, a few that are not, brackets, and UTF-8 bytes */
    const char alpha[] = "[]BrClNOSPFIbcnosp().=#-+\\/:~@?>*$%0123456789XaKe! \t\xc3\xa9";
    char s[64];
    size_t checked = 0, bad = 0;
    for (int it = 0; it < 20000; it++) {
        size_t n = 1 + (size_t)strand_rng_below(&r, 40);
        for (size_t i = 0; i < n; i++) s[i] = alpha[strand_rng_below(&r, sizeof alpha - 1)];
        s[n] = '\0';
        for (size_t i = 0; i < n; i++) {
            regmatch_t m[1];
            size_t want = regexec(&re, s + i, 1, m, 0) == 0 ? (size_t)m[0].rm_eo : 0;
            size_t got = st_smiles_token_len(s, n, i);
            checked++;
            if (got != want && bad++ < 3)
                fprintf(stderr, "    \"%s\" at %zu: scanner %zu, POSIX regex %zu\n", s, i, got, want);
        }
    }
    fprintf(stderr, "    %zu positions compared with the POSIX regex, %zu mismatches\n", checked, bad);
    CU_ASSERT_EQUAL(bad, 0);
    regfree(&re);
}

/* Every NCI molecule: tokens cover it, encode -> decode is the identity, no <unk>, and the
 * vocabulary equals Python's sorted(set(tokens)). */
static void test_smiles_nci_roundtrip(void)
{
    lines L = read_nci();
    CU_ASSERT_FATAL(L.n == 4999);
    strand_tokenizer *t = NULL;
    CU_ASSERT_EQUAL_FATAL(strand_tokenizer_smiles_build(&t, (const char *const *)L.v, L.n), 0);
    lines V = read_lines(TOKDATA "nci5k_vocab.txt");
    CU_ASSERT_EQUAL_FATAL(strand_tokenizer_vocab_size(t), V.n + 5);
    for (size_t i = 0; i < V.n; i++) CU_ASSERT_STRING_EQUAL(strand_tokenizer_token(t, (int32_t)(i + 5)), V.v[i]);
    const char *sp[5] = {"<bos>", "<eos>", "<mask>", "<pad>", "<unk>"};
    for (int i = 0; i < 5; i++) CU_ASSERT_STRING_EQUAL(strand_tokenizer_token(t, i), sp[i]);
    CU_ASSERT_PTR_NULL(strand_tokenizer_token(t, (int32_t)(V.n + 5)));

    enum { ML = 512 };
    int32_t ids[ML];
    char out[4096];
    size_t bad = 0, maxlen = 0, total = 0;
    for (size_t i = 0; i < L.n; i++) {
        const char *s = L.v[i];
        size_t used = 0, unk = 99, len = 0;
        int rc = strand_tokenizer_encode_padded(t, s, ids, ML, &used, &unk);
        int ok = rc == 0 && unk == 0 && ids[0] == 0 && ids[used - 1] == 1 && (used == ML || ids[used] == 3);
        ok = ok && strand_tokenizer_decode(t, ids, ML, out, sizeof out, &len) == 0 && strcmp(out, s) == 0 &&
             len == strlen(s);
        /* the scanner's spans tile the string */
        st_smiles_span spn[512];
        size_t k = 0, pos = 0;
        ok = ok && st_smiles_scan(s, strlen(s), spn, 512, &k, NULL) == 0 && k + 2 == used;
        for (size_t j = 0; ok && j < k; j++) {
            ok = spn[j].start == pos && spn[j].len > 0;
            pos += spn[j].len;
        }
        ok = ok && pos == strlen(s);
        if (!ok && bad++ < 3) fprintf(stderr, "    round trip failed for \"%s\": \"%s\" (%s)\n", s, out, strand_tokenizer_last_error(t));
        if (used > maxlen) maxlen = used;
        total += used - 2;
    }
    fprintf(stderr, "    %zu NCI molecules, %zu tokens, longest %zu with <bos>/<eos>, %zu failures\n", L.n, total,
            maxlen, bad);
    CU_ASSERT_EQUAL(bad, 0);
    strand_tokenizer_free(t);
    free_lines(&V);
    free_lines(&L);
}

static void test_smiles_vocab_order_independent(void)
{
    lines L = read_nci();
    CU_ASSERT_FATAL(L.n > 100);
    size_t n = L.n;
    const char **rev = malloc(n * sizeof *rev), **shuf = malloc(2 * n * sizeof *shuf);
    for (size_t i = 0; i < n; i++) rev[i] = L.v[n - 1 - i];
    for (size_t i = 0; i < 2 * n; i++) shuf[i] = L.v[i % n]; /* every string twice */
    strand_rng r;
    strand_rng_seed(&r, 3);
    for (size_t i = 2 * n - 1; i > 0; i--) {
        size_t j = (size_t)strand_rng_below(&r, i + 1);
        const char *x = shuf[i];
        shuf[i] = shuf[j];
        shuf[j] = x;
    }
    strand_tokenizer *a = NULL, *b = NULL, *c = NULL;
    CU_ASSERT_EQUAL_FATAL(strand_tokenizer_smiles_build(&a, (const char *const *)L.v, n), 0);
    CU_ASSERT_EQUAL_FATAL(strand_tokenizer_smiles_build(&b, rev, n), 0);
    CU_ASSERT_EQUAL_FATAL(strand_tokenizer_smiles_build(&c, shuf, 2 * n), 0);
    char *ja = NULL, *jb = NULL, *jc = NULL;
    CU_ASSERT_EQUAL(strand_tokenizer_to_json(a, &ja), 0);
    CU_ASSERT_EQUAL(strand_tokenizer_to_json(b, &jb), 0);
    CU_ASSERT_EQUAL(strand_tokenizer_to_json(c, &jc), 0);
    CU_ASSERT_STRING_EQUAL(ja, jb);
    CU_ASSERT_STRING_EQUAL(ja, jc);
    /* sorted by unsigned byte order, strictly increasing */
    size_t V = strand_tokenizer_vocab_size(a);
    for (size_t i = 6; i < V; i++)
        CU_ASSERT(strcmp(strand_tokenizer_token(a, (int32_t)(i - 1)), strand_tokenizer_token(a, (int32_t)i)) < 0);
    /* an empty corpus gives the specials only */
    strand_tokenizer *e = NULL;
    CU_ASSERT_EQUAL(strand_tokenizer_smiles_build(&e, NULL, 0), 0);
    CU_ASSERT_EQUAL(strand_tokenizer_vocab_size(e), 5);
    free(ja);
    free(jb);
    free(jc);
    free(rev);
    free(shuf);
    strand_tokenizer_free(a);
    strand_tokenizer_free(b);
    strand_tokenizer_free(c);
    strand_tokenizer_free(e);
    free_lines(&L);
}

static void test_smiles_unk_and_padding(void)
{
    const char *corpus[2] = {"CCO", "c1ccccc1"};
    strand_tokenizer *t = NULL;
    CU_ASSERT_EQUAL_FATAL(strand_tokenizer_smiles_build(&t, corpus, 2), 0);
    CU_ASSERT_EQUAL(strand_tokenizer_vocab_size(t), 5 + 4); /* 1 C O c */
    int32_t ids[16];
    size_t n = 0, unk = 0, len;
    char out[64];
    /* unseen tokens -> <unk>, counted, never dropped */
    CU_ASSERT_EQUAL(strand_tokenizer_encode_ex(t, "ClCCNBr", ids, 16, &n, &unk), 0);
    CU_ASSERT_EQUAL(n, 5);
    CU_ASSERT_EQUAL(unk, 3);
    CU_ASSERT_EQUAL(ids[0], 4);
    CU_ASSERT_EQUAL(ids[3], 4);
    CU_ASSERT_EQUAL(ids[4], 4);
    CU_ASSERT_EQUAL(strand_tokenizer_decode_ex(t, ids, n, STRAND_DECODE_KEEP_SPECIAL, out, sizeof out, &len), 0);
    CU_ASSERT_STRING_EQUAL(out, "<unk>CC<unk><unk>");
    /* padded: <bos> tokens <eos> <pad>... ; exact fit; one too short */
    size_t used = 0;
    CU_ASSERT_EQUAL(strand_tokenizer_encode_padded(t, "CCO", ids, 8, &used, &unk), 0);
    CU_ASSERT_EQUAL(used, 5);
    int32_t C = ids[1], O = ids[3];
    CU_ASSERT_STRING_EQUAL(strand_tokenizer_token(t, C), "C");
    CU_ASSERT_STRING_EQUAL(strand_tokenizer_token(t, O), "O");
    int32_t want[8] = {0, C, C, O, 1, 3, 3, 3};
    CU_ASSERT_EQUAL(memcmp(ids, want, sizeof want), 0);
    CU_ASSERT_EQUAL(strand_tokenizer_decode(t, ids, 8, out, sizeof out, &len), 0);
    CU_ASSERT_STRING_EQUAL(out, "CCO");
    CU_ASSERT_EQUAL(strand_tokenizer_encode_padded(t, "CCO", ids, 5, &used, NULL), 0);
    CU_ASSERT_EQUAL(strand_tokenizer_encode_padded(t, "CCO", ids, 4, &used, NULL), STRAND_E_RANGE);
    CU_ASSERT_PTR_NOT_NULL(strstr(strand_tokenizer_last_error(t), "\"CCO\" has 3 tokens"));
    CU_ASSERT_PTR_NOT_NULL(strstr(strand_tokenizer_last_error(t), "model length 4"));
    CU_ASSERT_EQUAL(strand_tokenizer_encode(t, "CCOCC", ids, 3, &n), STRAND_E_RANGE);
    CU_ASSERT_EQUAL(n, 5);
    CU_ASSERT_PTR_NOT_NULL(strstr(strand_tokenizer_last_error(t), "5 tokens, more than the maximum 3"));
    int32_t bad[2] = {5, 9};
    CU_ASSERT_EQUAL(strand_tokenizer_decode(t, bad, 2, out, sizeof out, &len), STRAND_E_RANGE);
    CU_ASSERT_PTR_NOT_NULL(strstr(strand_tokenizer_last_error(t), "position 1"));
    /* SMILES has no complement */
    CU_ASSERT_EQUAL(strand_tokenizer_complement(t, 5), STRAND_E_UNSUPPORTED);
    CU_ASSERT_EQUAL(strand_tokenizer_reverse_complement(t, ids, ids, 1), STRAND_E_UNSUPPORTED);
    strand_tokenizer_free(t);
    strand_tokenizer_free(NULL);
}

/* ---- vocabularies, JSON, model files -------------------------------------------------------- */

static void test_vocab_validation(void)
{
    st_smiles_vocab *v = NULL;
    const char *ok[7] = {"<bos>", "<eos>", "<mask>", "<pad>", "<unk>", "C", "[NH4+]"};
    CU_ASSERT_EQUAL_FATAL(st_smiles_vocab_from_tokens(&v, ok, 7, NULL), 0);
    CU_ASSERT_EQUAL(st_smiles_vocab_lookup(v, "[NH4+]", 6), 6);
    CU_ASSERT_EQUAL(st_smiles_vocab_lookup(v, "Cl", 2), -1);
    st_smiles_vocab_free(v);
    struct {
        const char *toks[7];
        size_t n;
        const char *msg;
    } cases[] = {
        {{0}, 0, "empty"},
        {{"<bos>", "<eos>", "<mask>", "<pad>"}, 4, "specials"},
        {{"<eos>", "<bos>", "<mask>", "<pad>", "<unk>"}, 5, "expected the special \"<bos>\""},
        {{"<bos>", "<eos>", "<mask>", "<pad>", "<unk>", "C", "C"}, 7, "token 6 \"C\" duplicates token 5"},
        {{"<bos>", "<eos>", "<mask>", "<pad>", "<unk>", "CC"}, 6, "not a single SMILES token"},
        {{"<bos>", "<eos>", "<mask>", "<pad>", "<unk>", ""}, 6, "token 5 is empty"},
        {{"<bos>", "<eos>", "<mask>", "<pad>", "<unk>", "<pad>"}, 6, "not a single SMILES token"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        v = (st_smiles_vocab *)1;
        CU_ASSERT_EQUAL(st_smiles_vocab_from_tokens(&v, cases[i].toks, cases[i].n, NULL), STRAND_E_FORMAT);
        CU_ASSERT_PTR_NULL(v);
        if (!strstr(strand_last_error(), cases[i].msg))
            fprintf(stderr, "    case %zu: \"%s\" lacks \"%s\"\n", i, strand_last_error(), cases[i].msg);
        CU_ASSERT_PTR_NOT_NULL(strstr(strand_last_error(), cases[i].msg));
    }
}

static void test_json(void)
{
    strand_tokenizer *d = NULL, *d2 = NULL, *s = NULL, *s2 = NULL;
    char *js = NULL;
    CU_ASSERT_EQUAL_FATAL(strand_tokenizer_dna_create(&d), 0);
    CU_ASSERT_EQUAL(strand_tokenizer_to_json(d, &js), 0);
    CU_ASSERT_STRING_EQUAL(js, "{\"kind\":\"dna\"}");
    CU_ASSERT_EQUAL(strand_tokenizer_from_json(&d2, js), 0);
    CU_ASSERT_EQUAL(strand_tokenizer_kind(d2), STRAND_TOKENIZER_DNA);
    free(js);
    const char *corpus[3] = {"Clc1ccccc1Br", "[NH4+].[Cl-]", "C%12CC%12"};
    CU_ASSERT_EQUAL_FATAL(strand_tokenizer_smiles_build(&s, corpus, 3), 0);
    CU_ASSERT_EQUAL(strand_tokenizer_to_json(s, &js), 0);
    CU_ASSERT_STRING_EQUAL(js, "{\"kind\":\"smiles\",\"tokens\":[\"<bos>\",\"<eos>\",\"<mask>\",\"<pad>\",\"<unk>\","
                               "\"%12\",\".\",\"1\",\"Br\",\"C\",\"Cl\",\"[Cl-]\",\"[NH4+]\",\"c\"]}");
    CU_ASSERT_EQUAL_FATAL(strand_tokenizer_from_json(&s2, js), 0);
    CU_ASSERT_EQUAL(strand_tokenizer_vocab_size(s2), strand_tokenizer_vocab_size(s));
    for (int32_t i = 0; i < (int32_t)strand_tokenizer_vocab_size(s); i++)
        CU_ASSERT_STRING_EQUAL(strand_tokenizer_token(s2, i), strand_tokenizer_token(s, i));
    free(js);
    struct {
        const char *json;
        int code;
        const char *msg;
    } bad[] = {
        {"{\"kind\":\"dna\"", STRAND_E_FORMAT, "line 1"},
        {"[1,2]", STRAND_E_FORMAT, "expected an object"},
        {"{\"tokens\":[]}", STRAND_E_FORMAT, "missing string \"kind\""},
        {"{\"kind\":\"protein\"}", STRAND_E_UNSUPPORTED, "unknown kind \"protein\""},
        {"{\"kind\":\"dna\",\"tokens\":[\"A\"]}", STRAND_E_FORMAT, "takes no \"tokens\""},
        {"{\"kind\":\"smiles\"}", STRAND_E_FORMAT, "needs an array \"tokens\""},
        {"{\"kind\":\"smiles\",\"tokens\":[]}", STRAND_E_FORMAT, "is empty"},
        {"{\"kind\":\"smiles\",\"tokens\":[\"<bos>\",\"<eos>\",\"<mask>\",\"<pad>\",\"<unk>\",7]}", STRAND_E_FORMAT,
         "tokens[5] is not a string"},
        {"{\"kind\":\"smiles\",\"tokens\":[\"<bos>\",\"<eos>\",\"<mask>\",\"<pad>\",\"<unk>\",\"C\",\"O\",\"C\"]}",
         STRAND_E_FORMAT, "token 7 \"C\" duplicates token 5"},
        {"{\"kind\":\"smiles\",\"tokens\":[\"C\",\"<eos>\",\"<mask>\",\"<pad>\",\"<unk>\"]}", STRAND_E_FORMAT,
         "expected the special"},
        {"{\"kind\":\"smiles\",\"tokens\":[\"<bos>\",\"<eos>\",\"<mask>\",\"<pad>\",\"<unk>\",\"C\\u0000\"]}",
         STRAND_E_FORMAT, "line 1"},
        {"{\"kind\":\"dna\",\"kind\":\"smiles\"}", STRAND_E_FORMAT, "duplicate"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        strand_tokenizer *x = (strand_tokenizer *)1;
        CU_ASSERT_EQUAL(strand_tokenizer_from_json(&x, bad[i].json), bad[i].code);
        CU_ASSERT_PTR_NULL(x);
        int has = strstr(strand_last_error(), bad[i].msg) != NULL;
        if (!has) fprintf(stderr, "    %s: \"%s\" lacks \"%s\"\n", bad[i].json, strand_last_error(), bad[i].msg);
        CU_ASSERT(has);
    }
    /* a bracket token that is not UTF-8 cannot go into JSON: a clear error */
    const char *latin1[1] = {"[\xe9]C"};
    strand_tokenizer *l = NULL;
    CU_ASSERT_EQUAL_FATAL(strand_tokenizer_smiles_build(&l, latin1, 1), 0);
    CU_ASSERT_EQUAL(strand_tokenizer_to_json(l, &js), STRAND_E_UNSUPPORTED);
    CU_ASSERT_PTR_NULL(js);
    CU_ASSERT_PTR_NOT_NULL(strstr(strand_tokenizer_last_error(l), "not valid UTF-8"));
    strand_tokenizer_free(l);
    strand_tokenizer_free(d);
    strand_tokenizer_free(d2);
    strand_tokenizer_free(s);
    strand_tokenizer_free(s2);
}

/* The tokenizer travels inside a real safetensors file (and a zstd-compressed one). */
static void test_safetensors_meta(void)
{
    lines L = read_nci();
    CU_ASSERT_FATAL(L.n > 0);
    strand_tokenizer *s = NULL, *d = NULL;
    CU_ASSERT_EQUAL_FATAL(strand_tokenizer_smiles_build(&s, (const char *const *)L.v, L.n), 0);
    CU_ASSERT_EQUAL_FATAL(strand_tokenizer_dna_create(&d), 0);
    const char *paths[2] = {tu_tmp("tok_smiles.safetensors"), tu_tmp("tok_smiles.safetensors.zst")};
    for (int p = 0; p < 2; p++) {
        float w[6] = {1, 2, 3, 4, 5, 6};
        int64_t shape[2] = {2, 3};
        sft_writer *wr = sft_writer_create();
        CU_ASSERT_PTR_NOT_NULL_FATAL(wr);
        CU_ASSERT_EQUAL(sft_writer_add(wr, "w", SFT_F32, 2, shape, w), 0);
        CU_ASSERT_EQUAL(st_tokenizer_write_meta(wr, s), 0);
        CU_ASSERT_EQUAL(sft_writer_meta(wr, "other", "x"), 0);
        CU_ASSERT_EQUAL_FATAL(sft_writer_write(wr, paths[p]), 0);
        sft_writer_free(wr);
        sft_file *f = NULL;
        CU_ASSERT_EQUAL_FATAL(sft_open(&f, paths[p]), 0);
        strand_tokenizer *back = NULL;
        CU_ASSERT_EQUAL_FATAL(st_tokenizer_read_meta(&back, f, paths[p]), 0);
        CU_ASSERT_EQUAL(strand_tokenizer_kind(back), STRAND_TOKENIZER_SMILES);
        CU_ASSERT_EQUAL_FATAL(strand_tokenizer_vocab_size(back), strand_tokenizer_vocab_size(s));
        for (int32_t i = 0; i < (int32_t)strand_tokenizer_vocab_size(s); i++)
            CU_ASSERT_STRING_EQUAL(strand_tokenizer_token(back, i), strand_tokenizer_token(s, i));
        /* same ids for a molecule through either tokenizer */
        int32_t a[256], b[256];
        size_t na, nb;
        CU_ASSERT_EQUAL(strand_tokenizer_encode_padded(s, L.v[7], a, 256, &na, NULL), 0);
        CU_ASSERT_EQUAL(strand_tokenizer_encode_padded(back, L.v[7], b, 256, &nb, NULL), 0);
        CU_ASSERT_EQUAL(memcmp(a, b, sizeof a), 0);
        strand_tokenizer_free(back);
        sft_close(f);
    }
    /* DNA, and a file without a tokenizer */
    const char *pd = tu_tmp("tok_dna.safetensors");
    sft_writer *wr = sft_writer_create();
    CU_ASSERT_EQUAL(st_tokenizer_write_meta(wr, d), 0);
    CU_ASSERT_EQUAL_FATAL(sft_writer_write(wr, pd), 0);
    sft_writer_free(wr);
    const char *pn = tu_tmp("tok_none.safetensors");
    wr = sft_writer_create();
    CU_ASSERT_EQUAL(sft_writer_meta(wr, "strand.tokenizer.not", "{}"), 0);
    CU_ASSERT_EQUAL_FATAL(sft_writer_write(wr, pn), 0);
    sft_writer_free(wr);
    const char *pb = tu_tmp("tok_bad.safetensors");
    wr = sft_writer_create();
    CU_ASSERT_EQUAL(sft_writer_meta(wr, STRAND_TOKENIZER_META_KEY, "{\"kind\":\"smiles\",\"tokens\":[\"<bos>\"]}"), 0);
    CU_ASSERT_EQUAL_FATAL(sft_writer_write(wr, pb), 0);
    sft_writer_free(wr);
    sft_file *f = NULL;
    strand_tokenizer *back = NULL;
    CU_ASSERT_EQUAL_FATAL(sft_open(&f, pd), 0);
    CU_ASSERT_EQUAL(st_tokenizer_read_meta(&back, f, pd), 0);
    CU_ASSERT_EQUAL(strand_tokenizer_kind(back), STRAND_TOKENIZER_DNA);
    strand_tokenizer_free(back);
    sft_close(f);
    CU_ASSERT_EQUAL_FATAL(sft_open(&f, pn), 0);
    CU_ASSERT_EQUAL(st_tokenizer_read_meta(&back, f, pn), STRAND_E_NOTFOUND);
    CU_ASSERT_PTR_NOT_NULL(strstr(strand_last_error(), "tok_none.safetensors: no tokenizer"));
    sft_close(f);
    CU_ASSERT_EQUAL_FATAL(sft_open(&f, pb), 0);
    CU_ASSERT_EQUAL(st_tokenizer_read_meta(&back, f, pb), STRAND_E_FORMAT);
    CU_ASSERT_PTR_NOT_NULL(strstr(strand_last_error(), "tok_bad.safetensors: metadata \"strand.tokenizer\""));
    CU_ASSERT_PTR_NULL(back);
    sft_close(f);
    strand_tokenizer_free(s);
    strand_tokenizer_free(d);
    free_lines(&L);
}

void register_suites(void)
{
    CU_pSuite s = CU_add_suite("tokenizers", NULL, NULL);
    ADD_TEST(s, test_dna_ids);
    ADD_TEST(s, test_dna_complement);
    ADD_TEST(s, test_dna_decode_and_n);
    ADD_TEST(s, test_smiles_python_reference);
    ADD_TEST(s, test_smiles_invalid);
    ADD_TEST(s, test_smiles_posix_oracle);
    ADD_TEST(s, test_smiles_nci_roundtrip);
    ADD_TEST(s, test_smiles_vocab_order_independent);
    ADD_TEST(s, test_smiles_unk_and_padding);
    ADD_TEST(s, test_vocab_validation);
    ADD_TEST(s, test_json);
    ADD_TEST(s, test_safetensors_meta);
}
