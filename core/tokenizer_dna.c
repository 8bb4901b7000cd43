/* DNA character tokenizer: docs/tokenizers.md "DNA tokenizer". */
#include "core/tokenizer_dna.h"

#include <string.h>

/* Every byte is [UNK] (6) except A C G T N in upper and lower case (7..11). */
const uint8_t st_dna_byte_to_id[256] = {
     6,  6,  6,  6,  6,  6,  6,  6,  6,  6,  6,  6,  6,  6,  6,  6,  /* 0x00 */
     6,  6,  6,  6,  6,  6,  6,  6,  6,  6,  6,  6,  6,  6,  6,  6,  /* 0x10 */
     6,  6,  6,  6,  6,  6,  6,  6,  6,  6,  6,  6,  6,  6,  6,  6,  /* 0x20 */
     6,  6,  6,  6,  6,  6,  6,  6,  6,  6,  6,  6,  6,  6,  6,  6,  /* 0x30 */
     6,  7,  6,  8,  6,  6,  6,  9,  6,  6,  6,  6,  6,  6, 11,  6,  /* 0x40 */
     6,  6,  6,  6, 10,  6,  6,  6,  6,  6,  6,  6,  6,  6,  6,  6,  /* 0x50 */
     6,  7,  6,  8,  6,  6,  6,  9,  6,  6,  6,  6,  6,  6, 11,  6,  /* 0x60 */
     6,  6,  6,  6, 10,  6,  6,  6,  6,  6,  6,  6,  6,  6,  6,  6,  /* 0x70 */
     6,  6,  6,  6,  6,  6,  6,  6,  6,  6,  6,  6,  6,  6,  6,  6,  /* 0x80 */
     6,  6,  6,  6,  6,  6,  6,  6,  6,  6,  6,  6,  6,  6,  6,  6,  /* 0x90 */
     6,  6,  6,  6,  6,  6,  6,  6,  6,  6,  6,  6,  6,  6,  6,  6,  /* 0xA0 */
     6,  6,  6,  6,  6,  6,  6,  6,  6,  6,  6,  6,  6,  6,  6,  6,  /* 0xB0 */
     6,  6,  6,  6,  6,  6,  6,  6,  6,  6,  6,  6,  6,  6,  6,  6,  /* 0xC0 */
     6,  6,  6,  6,  6,  6,  6,  6,  6,  6,  6,  6,  6,  6,  6,  6,  /* 0xD0 */
     6,  6,  6,  6,  6,  6,  6,  6,  6,  6,  6,  6,  6,  6,  6,  6,  /* 0xE0 */
     6,  6,  6,  6,  6,  6,  6,  6,  6,  6,  6,  6,  6,  6,  6,  6,  /* 0xF0 */
};

/* A<->T, C<->G; N, specials and the padding rows map to themselves. */
const uint8_t st_dna_complement_map[ST_DNA_VOCAB] = {
    0, 1, 2, 3, 4, 5, 6, ST_DNA_T, ST_DNA_G, ST_DNA_C, ST_DNA_A, ST_DNA_N, 12, 13, 14, 15,
};

static const char *const dna_names[ST_DNA_NTOKENS] = {
    "[CLS]", "[SEP]", "[BOS]", "[MASK]", "[PAD]", "[RESERVED]", "[UNK]", "A", "C", "G", "T", "N",
};

size_t st_dna_encode(const char *seq, size_t n, int32_t *ids)
{
    size_t unk = 0;
    for (size_t i = 0; i < n; i++) {
        int32_t id = st_dna_byte_to_id[(unsigned char)seq[i]];
        ids[i] = id;
        unk += id == ST_DNA_UNK;
    }
    return unk;
}

size_t st_dna_encode_u8(const char *seq, size_t n, uint8_t *ids)
{
    size_t unk = 0;
    for (size_t i = 0; i < n; i++) {
        uint8_t id = st_dna_byte_to_id[(unsigned char)seq[i]];
        ids[i] = id;
        unk += id == ST_DNA_UNK;
    }
    return unk;
}

int st_dna_revcomp(const int32_t *in, int32_t *out, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if ((uint32_t)in[i] >= ST_DNA_VOCAB)
            return st_err(NULL, STRAND_E_RANGE, "reverse complement: token id %d at position %zu is outside [0, %d)",
                          (int)in[i], i, ST_DNA_VOCAB);
    /* swap from both ends so in == out works */
    for (size_t i = 0, j = n; i < j--; i++) {
        int32_t a = st_dna_complement_map[in[i]], b = st_dna_complement_map[in[j]];
        out[i] = b;
        out[j] = a;
    }
    return 0;
}

int st_dna_revcomp_u8(const uint8_t *in, uint8_t *out, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (in[i] >= ST_DNA_VOCAB)
            return st_err(NULL, STRAND_E_RANGE, "reverse complement: token id %d at position %zu is outside [0, %d)",
                          (int)in[i], i, ST_DNA_VOCAB);
    for (size_t i = 0, j = n; i < j--; i++) {
        uint8_t a = st_dna_complement_map[in[i]], b = st_dna_complement_map[in[j]];
        out[i] = b;
        out[j] = a;
    }
    return 0;
}

size_t st_dna_n_to_pad(int32_t *ids, size_t n)
{
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (ids[i] == ST_DNA_N) {
            ids[i] = ST_DNA_PAD;
            k++;
        }
    return k;
}

size_t st_dna_n_to_pad_u8(uint8_t *ids, size_t n)
{
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (ids[i] == ST_DNA_N) {
            ids[i] = ST_DNA_PAD;
            k++;
        }
    return k;
}

const char *st_dna_token(int id)
{
    return id >= 0 && id < ST_DNA_NTOKENS ? dna_names[id] : NULL;
}

int st_dna_decode(const int32_t *ids, size_t n, int skip_special, char *out, size_t cap, size_t *len_out,
                  st_errbuf *eb)
{
    size_t len = 0, written = 0; /* written: bytes stored, a prefix of the full text */
    for (size_t i = 0; i < n; i++) {
        int id = ids[i];
        if (id < 0 || id >= ST_DNA_NTOKENS)
            return st_err(eb, STRAND_E_RANGE, "DNA decode: token id %d at position %zu is not a DNA token (valid ids 0..%d)",
                          id, i, ST_DNA_NTOKENS - 1);
        if (id < ST_DNA_A && skip_special) continue;
        const char *t = dna_names[id];
        size_t tl = id >= ST_DNA_A ? 1 : strlen(t);
        if (out && written == len && len + tl < cap) {
            memcpy(out + len, t, tl);
            written += tl;
        }
        len += tl;
    }
    if (len_out) *len_out = len;
    if (out && cap > 0) out[written] = '\0';
    if (out && len >= cap)
        return st_err(eb, STRAND_E_RANGE, "DNA decode: output needs %zu bytes plus the terminating NUL, buffer has %zu",
                      len, cap);
    return 0;
}
