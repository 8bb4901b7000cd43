/* SMILES regex tokenizer (docs/tokenizers.md "SMILES tokenizer"): a hand-written scanner with the semantics of
 *   (\[[^\]]+]|Br?|Cl?|N|O|S|P|F|I|b|c|n|o|s|p|\(|\)|\.|=|#|-|\+|\\|\/|:|~|@|\?|>|\*|\$|\%[0-9]{2}|[0-9])
 * under Python's re (leftmost alternative first), a corpus-built vocabulary behind the five
 * specials, and encode/decode. Every string is bytes; positions in messages are 1-based
 * characters (UTF-8 continuation bytes are not counted). One deliberate difference from Python:
 * a NUL byte is never part of a token (C strings cannot carry it anyway). */
#ifndef STRAND_CORE_TOKENIZER_SMILES_H
#define STRAND_CORE_TOKENIZER_SMILES_H
#include <stddef.h>
#include <stdint.h>

#include "core/error.h"

enum {
    ST_SMILES_BOS = 0, ST_SMILES_EOS = 1, ST_SMILES_MASK = 2, ST_SMILES_PAD = 3, ST_SMILES_UNK = 4,
    ST_SMILES_NSPECIAL = 5
};
/* "<bos>", "<eos>", "<mask>", "<pad>", "<unk>" */
extern const char *const st_smiles_specials[ST_SMILES_NSPECIAL];

/* Length in bytes of the token the regex matches at s[i] (s has n bytes), 0 when none does. */
size_t st_smiles_token_len(const char *s, size_t n, size_t i);

typedef struct st_smiles_span {
    size_t start, len; /* bytes */
} st_smiles_span;

/* Split s[0..n) into tokens that must cover it exactly. Up to `cap` spans are stored (spans may be
 * NULL with cap 0); *n_tokens receives the full count. STRAND_E_TOKENIZE when some character is
 * not covered, with a message naming the string, the 1-based character position and the
 * character. */
int st_smiles_scan(const char *s, size_t n, st_smiles_span *spans, size_t cap, size_t *n_tokens, st_errbuf *eb);

/* Vocabulary: ids 0..4 are the specials, then the tokens. */
typedef struct st_smiles_vocab st_smiles_vocab;

/* Build from a corpus: the distinct tokens of all strings, sorted by byte order (so the result
 * does not depend on the order of the corpus). Fails on the first string that does not
 * tokenise, naming its index. */
int st_smiles_vocab_build(st_smiles_vocab **out, const char *const *smiles, size_t n, st_errbuf *eb);
/* From an explicit list (ids = positions): tokens[0..4] must be the specials in order; every other
 * entry a single SMILES token; no empty entries, no duplicates. */
int st_smiles_vocab_from_tokens(st_smiles_vocab **out, const char *const *tokens, size_t n, st_errbuf *eb);
void st_smiles_vocab_free(st_smiles_vocab *v);
size_t st_smiles_vocab_size(const st_smiles_vocab *v);                 /* specials included */
const char *st_smiles_vocab_token(const st_smiles_vocab *v, size_t id); /* NULL if out of range */
int32_t st_smiles_vocab_lookup(const st_smiles_vocab *v, const char *tok, size_t len); /* -1: absent */

/* Token ids of a NUL-terminated string, no specials added. Tokens not in the vocabulary become
 * <unk> and are counted in *n_unk (may be NULL). *n_out receives the token count even when it
 * exceeds cap (then STRAND_E_RANGE naming the string and both lengths; ids may be NULL to
 * measure with cap 0). */
int st_smiles_encode(const st_smiles_vocab *v, const char *s, int32_t *ids, size_t cap, size_t *n_out,
                     size_t *n_unk, st_errbuf *eb);
/* Model input: <bos> tokens <eos> then <pad> up to model_len. *n_used (may be NULL) receives
 * tokens + 2. STRAND_E_RANGE when tokens + 2 > model_len. */
int st_smiles_encode_padded(const st_smiles_vocab *v, const char *s, int32_t *ids, size_t model_len,
                            size_t *n_used, size_t *n_unk, st_errbuf *eb);
/* Concatenate token texts. strip_special != 0 drops ids 0..4, otherwise they are written by
 * name. Unknown ids give STRAND_E_RANGE naming the position. Output contract as st_dna_decode:
 * at most cap-1 bytes + NUL, *len_out = full length, STRAND_E_RANGE when cap is too small,
 * out == NULL only measures. */
int st_smiles_decode(const st_smiles_vocab *v, const int32_t *ids, size_t n, int strip_special, char *out,
                     size_t cap, size_t *len_out, st_errbuf *eb);
#endif
