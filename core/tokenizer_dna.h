/* DNA character tokenizer (docs/tokenizers.md "DNA tokenizer"): the Caduceus vocabulary, complement and reverse complement
 * in token space, decoding and the pretraining N -> [PAD] rule. Table lookups only. */
#ifndef STRAND_CORE_TOKENIZER_DNA_H
#define STRAND_CORE_TOKENIZER_DNA_H
#include <stddef.h>
#include <stdint.h>

#include "core/error.h"

enum {
    ST_DNA_CLS = 0, ST_DNA_SEP = 1, ST_DNA_BOS = 2, ST_DNA_MASK = 3, ST_DNA_PAD = 4,
    ST_DNA_RESERVED = 5, ST_DNA_UNK = 6,
    ST_DNA_A = 7, ST_DNA_C = 8, ST_DNA_G = 9, ST_DNA_T = 10, ST_DNA_N = 11,
    ST_DNA_NTOKENS = 12, /* ids 0..11 are named */
    ST_DNA_VOCAB = 16    /* rows of embeddings/heads: padded to a multiple of 8; 12..15 unused */
};

/* byte -> id: A/C/G/T/N in either case -> 7..11, every other byte -> [UNK] = 6. */
extern const uint8_t st_dna_byte_to_id[256];
/* id -> complement id for ids 0..15: A<->T, C<->G, everything else (N, specials, padding) fixed. */
extern const uint8_t st_dna_complement_map[ST_DNA_VOCAB];

/* Encode n bytes of `seq` (need not be NUL-terminated); returns the number of [UNK] ids written. */
size_t st_dna_encode(const char *seq, size_t n, int32_t *ids);       /* ids: (n) */
size_t st_dna_encode_u8(const char *seq, size_t n, uint8_t *ids);    /* ids: (n) */

/* Complement of one id; -1 when id is outside [0, 16). */
static inline int st_dna_complement(int id)
{
    return (unsigned)id < ST_DNA_VOCAB ? st_dna_complement_map[id] : -1;
}

/* out[i] = comp(in[n-1-i]); in == out is allowed. STRAND_E_RANGE naming the position when an id
 * is outside [0, 16) (out is then unspecified). */
int st_dna_revcomp(const int32_t *in, int32_t *out, size_t n);
int st_dna_revcomp_u8(const uint8_t *in, uint8_t *out, size_t n);

/* Caduceus pretraining: N (11) -> [PAD] (4) in place; returns how many were replaced. */
size_t st_dna_n_to_pad(int32_t *ids, size_t n);
size_t st_dna_n_to_pad_u8(uint8_t *ids, size_t n);

/* Token text: "A", ..., "N", "[CLS]", ... ; NULL for 12..15 and out-of-range ids. */
const char *st_dna_token(int id);

/* Decode ids to text. Nucleotides become one letter each. Special ids (0..6) are skipped when
 * skip_special != 0, else written as their names ("[MASK]"). Ids 12..15 or outside [0,16) give
 * STRAND_E_RANGE naming the position. `out` gets at most cap-1 bytes and a NUL; *len_out receives
 * the full length needed (excluding the NUL) even when cap is too small, in which case the call
 * returns STRAND_E_RANGE (out == NULL: only measure). eb may be NULL. */
int st_dna_decode(const int32_t *ids, size_t n, int skip_special, char *out, size_t cap, size_t *len_out,
                  st_errbuf *eb);
#endif
