/* libFuzzer target for the SMILES scanner and vocabulary (core/tokenizer_smiles.h).
 * For arbitrary bytes:
 *  - the scan either succeeds with spans that tile the input exactly (so the tokens re-join to it),
 *    each span being one token and none holding a NUL, or fails with STRAND_E_TOKENIZE and a
 *    message naming a character position;
 *  - every position agrees with an independent matcher: the same regex compiled by the POSIX
 *    engine (leftmost-longest gives the same tokens here, see tests/test_tokenizers.c);
 *  - on success, a vocabulary built from the input encodes and decodes it back exactly, with no
 *    <unk>, also after a JSON round trip of the tokenizer.
 * A violation calls abort(): that is the fuzzer's signal.
 * Seeds: fuzz/corpus/smiles_tokenizer/ (written by tests/reference/smiles_tokens.py). */
#include <regex.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/tokenizer.h"
#include "core/tokenizer_smiles.h"
#include "strand.h"

#define CHECK(c)                                                                              \
    do {                                                                                      \
        if (!(c)) {                                                                           \
            fprintf(stderr, "fuzz_smiles_tokenizer: check failed: %s (line %d)\n", #c, __LINE__); \
            abort();                                                                          \
        }                                                                                     \
    } while (0)

static regex_t g_re;
static int g_re_ok;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    const char *ere = "^(\\[[^]]+]|Br?|Cl?|N|O|S|P|F|I|b|c|n|o|s|p|\\(|\\)|\\.|=|#|-|\\+|\\\\|/|:|~|@|\\?|>|\\*|\\$"
                      "|%[0-9]{2}|[0-9])";
    g_re_ok = regcomp(&g_re, ere, REG_EXTENDED) == 0;
    CHECK(g_re_ok);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 4096) return 0;
    char *s = malloc(size + 1);
    CHECK(s);
    memcpy(s, data, size);
    s[size] = '\0';
    int has_nul = memchr(s, '\0', size) != NULL;

    /* independent matcher, position by position (quadratic: short inputs only) */
    if (!has_nul && size <= 512)
        for (size_t i = 0; i < size; i++) {
            regmatch_t m[1];
            size_t want = regexec(&g_re, s + i, 1, m, 0) == 0 ? (size_t)m[0].rm_eo : 0;
            CHECK(st_smiles_token_len(s, size, i) == want);
        }

    size_t k = 0;
    int rc = st_smiles_scan(s, size, NULL, 0, &k, NULL);
    if (rc) {
        CHECK(rc == STRAND_E_TOKENIZE);
        CHECK(strstr(strand_last_error(), "at character ") != NULL);
        free(s);
        return 0;
    }
    st_smiles_span *sp = malloc((k ? k : 1) * sizeof *sp);
    CHECK(sp);
    size_t k2 = 0;
    CHECK(st_smiles_scan(s, size, sp, k, &k2, NULL) == 0 && k2 == k);
    size_t pos = 0;
    for (size_t j = 0; j < k; j++) {
        CHECK(sp[j].start == pos && sp[j].len > 0);
        CHECK(st_smiles_token_len(s + sp[j].start, sp[j].len, 0) == sp[j].len); /* one token */
        CHECK(memchr(s + sp[j].start, '\0', sp[j].len) == NULL);
        pos += sp[j].len;
    }
    CHECK(pos == size); /* the tokens re-join to the input */
    CHECK(!has_nul || size == 0);

    /* encode/decode with a vocabulary built from this input */
    strand_tokenizer *t = NULL;
    const char *corpus[1] = {s};
    CHECK(strand_tokenizer_smiles_build(&t, corpus, 1) == 0);
    CHECK(strand_tokenizer_vocab_size(t) <= 5 + k);
    size_t L = k + 2, used = 0, unk = 1, len = 0;
    int32_t *ids = malloc(L * sizeof *ids), *ids2 = malloc(L * sizeof *ids2);
    char *out = malloc(size + 1);
    CHECK(ids && ids2 && out);
    CHECK(strand_tokenizer_encode_padded(t, s, ids, L, &used, &unk) == 0);
    CHECK(used == L && unk == 0 && ids[0] == 0 && ids[L - 1] == 1);
    CHECK(strand_tokenizer_decode(t, ids, L, out, size + 1, &len) == 0);
    CHECK(len == size && memcmp(out, s, size) == 0);
    if (L > 2) CHECK(strand_tokenizer_encode_padded(t, s, ids2, L - 1, &used, NULL) == STRAND_E_RANGE);

    /* JSON round trip (only UTF-8 tokens can be stored) gives the same ids */
    char *js = NULL;
    if (strand_tokenizer_to_json(t, &js) == 0) {
        strand_tokenizer *t2 = NULL;
        CHECK(strand_tokenizer_from_json(&t2, js) == 0);
        CHECK(strand_tokenizer_encode_padded(t2, s, ids2, L, &used, NULL) == 0);
        CHECK(memcmp(ids, ids2, L * sizeof *ids) == 0);
        strand_tokenizer_free(t2);
        free(js);
    } else {
        CHECK(strstr(strand_tokenizer_last_error(t), "UTF-8") != NULL);
    }
    strand_tokenizer_free(t);
    free(ids);
    free(ids2);
    free(out);
    free(sp);
    free(s);
    return 0;
}
