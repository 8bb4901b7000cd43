/* SMILES regex tokenizer: docs/tokenizers.md "SMILES tokenizer". */
#include "core/tokenizer_smiles.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *const st_smiles_specials[ST_SMILES_NSPECIAL] = {"<bos>", "<eos>", "<mask>", "<pad>", "<unk>"};

/* ---- scanner ------------------------------------------------------------------------------ */

/* The alternatives start with distinct characters, so the first character picks the only one that
 * can match; Python's leftmost-alternative rule then only matters inside `Br?` / `Cl?` (greedy)
 * and the bracket atom, whose `[^\]]+` runs to the first ']'. */
size_t st_smiles_token_len(const char *s, size_t n, size_t i)
{
    if (i >= n) return 0;
    unsigned char c = (unsigned char)s[i];
    switch (c) {
    case '[': { /* \[[^\]]+] : one or more non-']' bytes, then ']' (NUL never belongs to a token) */
        size_t j = i + 1;
        while (j < n && s[j] != ']' && s[j] != '\0') j++;
        if (j >= n || s[j] != ']' || j == i + 1) return 0;
        return j + 1 - i;
    }
    case 'B': return (i + 1 < n && s[i + 1] == 'r') ? 2 : 1;
    case 'C': return (i + 1 < n && s[i + 1] == 'l') ? 2 : 1;
    case 'N': case 'O': case 'S': case 'P': case 'F': case 'I':
    case 'b': case 'c': case 'n': case 'o': case 's': case 'p':
    case '(': case ')': case '.': case '=': case '#': case '-': case '+': case '\\': case '/':
    case ':': case '~': case '@': case '?': case '>': case '*': case '$':
        return 1;
    case '%':
        return (i + 2 < n && s[i + 1] >= '0' && s[i + 1] <= '9' && s[i + 2] >= '0' && s[i + 2] <= '9') ? 3 : 0;
    default:
        return (c >= '0' && c <= '9') ? 1 : 0;
    }
}

/* 1-based character position of byte i: bytes that are not UTF-8 continuation bytes, counted. */
static size_t char_pos(const char *s, size_t i)
{
    size_t k = 1;
    for (size_t j = 0; j < i; j++) k += ((unsigned char)s[j] & 0xC0) != 0x80;
    return k;
}

/* Human-readable form of one byte for messages. */
static void show_byte(char *buf, size_t cap, unsigned char c)
{
    if (c >= 0x20 && c < 0x7F) snprintf(buf, cap, "'%c'", c);
    else snprintf(buf, cap, "byte 0x%02X", c);
}

/* The string for messages: at most 60 bytes, then "...". */
#define SHOW_MAX 60
#define SHOW_ARGS(s, n) (int)((n) < SHOW_MAX ? (n) : SHOW_MAX), (s), ((n) > SHOW_MAX ? "..." : "")

static int scan_error(const char *s, size_t n, size_t i, st_errbuf *eb)
{
    char ch[24];
    show_byte(ch, sizeof ch, (unsigned char)s[i]);
    const char *why = "no SMILES token matches";
    if (s[i] == '[') {
        size_t j = i + 1;
        while (j < n && s[j] != ']' && s[j] != '\0') j++;
        why = j == i + 1 && j < n && s[j] == ']' ? "empty bracket atom"
              : j < n && s[j] == '\0'         ? "NUL byte inside bracket atom"
                                              : "bracket atom without closing ']'";
    } else if (s[i] == '%') {
        why = "'%' must be followed by two digits";
    }
    return st_err(eb, STRAND_E_TOKENIZE, "SMILES \"%.*s%s\": %s at character %zu (%s)", SHOW_ARGS(s, n), why,
                  char_pos(s, i), ch);
}

int st_smiles_scan(const char *s, size_t n, st_smiles_span *spans, size_t cap, size_t *n_tokens, st_errbuf *eb)
{
    size_t k = 0;
    for (size_t i = 0; i < n;) {
        size_t l = st_smiles_token_len(s, n, i);
        if (l == 0) {
            if (n_tokens) *n_tokens = k;
            return scan_error(s, n, i, eb);
        }
        if (spans && k < cap) spans[k] = (st_smiles_span){i, l};
        k++;
        i += l;
    }
    if (n_tokens) *n_tokens = k;
    return 0;
}

/* ---- vocabulary ------------------------------------------------------------------------------ */

struct st_smiles_vocab {
    size_t n;        /* tokens, specials included */
    char **tok;      /* (n) NUL-terminated */
    size_t *len;     /* (n) */
    size_t hcap;     /* power of two >= 2n */
    int32_t *hash;   /* (hcap) id or -1; open addressing, linear probing */
};

static uint64_t fnv1a(const char *s, size_t n)
{
    uint64_t h = 1469598103934665603ULL;
    for (size_t i = 0; i < n; i++) h = (h ^ (unsigned char)s[i]) * 1099511628211ULL;
    return h;
}

/* Slot of (s,len) in the table: where it is, or the empty slot where it would go. */
static size_t hash_slot(const int32_t *hash, size_t hcap, char *const *tok, const size_t *tlen, const char *s,
                        size_t len)
{
    size_t m = hcap - 1, h = (size_t)fnv1a(s, len) & m;
    while (hash[h] >= 0 && !(tlen[hash[h]] == len && memcmp(tok[hash[h]], s, len) == 0)) h = (h + 1) & m;
    return h;
}

void st_smiles_vocab_free(st_smiles_vocab *v)
{
    if (!v) return;
    if (v->tok)
        for (size_t i = 0; i < v->n; i++) free(v->tok[i]);
    free(v->tok);
    free(v->len);
    free(v->hash);
    free(v);
}

size_t st_smiles_vocab_size(const st_smiles_vocab *v) { return v ? v->n : 0; }

const char *st_smiles_vocab_token(const st_smiles_vocab *v, size_t id)
{
    return v && id < v->n ? v->tok[id] : NULL;
}

int32_t st_smiles_vocab_lookup(const st_smiles_vocab *v, const char *tok, size_t len)
{
    return v->hash[hash_slot(v->hash, v->hcap, v->tok, v->len, tok, len)];
}

/* A vocabulary owning copies of tokens[0..n); checks duplicates (naming both ids). */
static int vocab_make(st_smiles_vocab **out, const char *const *tokens, size_t n, st_errbuf *eb)
{
    *out = NULL;
    st_smiles_vocab *v = calloc(1, sizeof *v);
    if (!v) return st_err(eb, STRAND_E_NOMEM, "SMILES vocabulary: out of memory");
    v->hcap = 16;
    while (v->hcap < 2 * n) v->hcap *= 2;
    v->tok = calloc(n, sizeof *v->tok);
    v->len = calloc(n, sizeof *v->len);
    v->hash = malloc(v->hcap * sizeof *v->hash);
    if (!v->tok || !v->len || !v->hash) {
        st_smiles_vocab_free(v);
        return st_err(eb, STRAND_E_NOMEM, "SMILES vocabulary: out of memory for %zu tokens", n);
    }
    memset(v->hash, 0xff, v->hcap * sizeof *v->hash); /* all -1 */
    for (size_t i = 0; i < n; i++) {
        size_t l = strlen(tokens[i]);
        size_t h = hash_slot(v->hash, v->hcap, v->tok, v->len, tokens[i], l);
        if (v->hash[h] >= 0) {
            int rc = st_err(eb, STRAND_E_FORMAT, "SMILES vocabulary: token %zu \"%.*s%s\" duplicates token %d", i,
                            SHOW_ARGS(tokens[i], l), (int)v->hash[h]);
            st_smiles_vocab_free(v);
            return rc;
        }
        v->tok[i] = malloc(l + 1);
        if (!v->tok[i]) {
            st_smiles_vocab_free(v);
            return st_err(eb, STRAND_E_NOMEM, "SMILES vocabulary: out of memory");
        }
        memcpy(v->tok[i], tokens[i], l + 1);
        v->len[i] = l;
        v->n = i + 1;
        v->hash[h] = (int32_t)i;
    }
    *out = v;
    return 0;
}

int st_smiles_vocab_from_tokens(st_smiles_vocab **out, const char *const *tokens, size_t n, st_errbuf *eb)
{
    *out = NULL;
    if (n == 0 || !tokens) return st_err(eb, STRAND_E_FORMAT, "SMILES vocabulary is empty");
    if (n > INT32_MAX) return st_err(eb, STRAND_E_RANGE, "SMILES vocabulary: %zu tokens is too many", n);
    for (size_t i = 0; i < n; i++) {
        if (!tokens[i] || !tokens[i][0])
            return st_err(eb, STRAND_E_FORMAT, "SMILES vocabulary: token %zu is empty", i);
        if (i < ST_SMILES_NSPECIAL) {
            if (strcmp(tokens[i], st_smiles_specials[i]) != 0)
                return st_err(eb, STRAND_E_FORMAT, "SMILES vocabulary: token %zu is \"%.*s%s\", expected the special \"%s\"",
                              i, SHOW_ARGS(tokens[i], strlen(tokens[i])), st_smiles_specials[i]);
            continue;
        }
        size_t l = strlen(tokens[i]);
        if (st_smiles_token_len(tokens[i], l, 0) != l)
            return st_err(eb, STRAND_E_FORMAT, "SMILES vocabulary: token %zu \"%.*s%s\" is not a single SMILES token", i,
                          SHOW_ARGS(tokens[i], l));
    }
    if (n < ST_SMILES_NSPECIAL)
        return st_err(eb, STRAND_E_FORMAT, "SMILES vocabulary has %zu tokens; the %d specials <bos> <eos> <mask> <pad> <unk> are required",
                      n, ST_SMILES_NSPECIAL);
    return vocab_make(out, tokens, n, eb);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b); /* unsigned byte order */
}

int st_smiles_vocab_build(st_smiles_vocab **out, const char *const *smiles, size_t n, st_errbuf *eb)
{
    *out = NULL;
    /* collect distinct tokens in a growing set: a temporary vocabulary without specials */
    size_t cap = 64, m = 0, hcap = 128;
    char **tok = malloc(cap * sizeof *tok);
    size_t *len = malloc(cap * sizeof *len);
    int32_t *hash = malloc(hcap * sizeof *hash);
    int rc = 0;
    if (!tok || !len || !hash) {
        rc = st_err(eb, STRAND_E_NOMEM, "SMILES vocabulary: out of memory");
        goto done;
    }
    memset(hash, 0xff, hcap * sizeof *hash);
    for (size_t k = 0; k < n; k++) {
        const char *s = smiles[k];
        if (!s) {
            rc = st_err(eb, STRAND_E_ARG, "SMILES vocabulary: string %zu is NULL", k);
            goto done;
        }
        size_t sl = strlen(s);
        for (size_t i = 0; i < sl;) {
            size_t l = st_smiles_token_len(s, sl, i);
            if (l == 0) {
                scan_error(s, sl, i, eb);
                rc = st_err_prefix("SMILES vocabulary: corpus string %zu", k);
                if (eb) st_err_capture(eb);
                goto done;
            }
            size_t h = hash_slot(hash, hcap, tok, len, s + i, l);
            if (hash[h] < 0) {
                if (m + 1 > cap) {
                    cap *= 2;
                    char **t2 = realloc(tok, cap * sizeof *tok);
                    if (t2) tok = t2;
                    size_t *l2 = realloc(len, cap * sizeof *len);
                    if (l2) len = l2;
                    if (!t2 || !l2) {
                        rc = st_err(eb, STRAND_E_NOMEM, "SMILES vocabulary: out of memory");
                        goto done;
                    }
                }
                if (!(tok[m] = malloc(l + 1))) {
                    rc = st_err(eb, STRAND_E_NOMEM, "SMILES vocabulary: out of memory");
                    goto done;
                }
                memcpy(tok[m], s + i, l);
                tok[m][l] = '\0';
                len[m] = l;
                hash[h] = (int32_t)m++;
                if (2 * m > hcap) { /* grow and rehash */
                    size_t nh = hcap * 2;
                    int32_t *h2 = malloc(nh * sizeof *h2);
                    if (!h2) {
                        rc = st_err(eb, STRAND_E_NOMEM, "SMILES vocabulary: out of memory");
                        goto done;
                    }
                    memset(h2, 0xff, nh * sizeof *h2);
                    for (size_t t = 0; t < m; t++) h2[hash_slot(h2, nh, tok, len, tok[t], len[t])] = (int32_t)t;
                    free(hash);
                    hash = h2;
                    hcap = nh;
                }
            }
            i += l;
        }
    }
    {
        qsort(tok, m, sizeof *tok, cmp_str);
        const char **all = malloc((m + ST_SMILES_NSPECIAL) * sizeof *all);
        if (!all) {
            rc = st_err(eb, STRAND_E_NOMEM, "SMILES vocabulary: out of memory");
            goto done;
        }
        for (int i = 0; i < ST_SMILES_NSPECIAL; i++) all[i] = st_smiles_specials[i];
        for (size_t i = 0; i < m; i++) all[ST_SMILES_NSPECIAL + i] = tok[i];
        rc = vocab_make(out, all, m + ST_SMILES_NSPECIAL, eb);
        free(all);
    }
done:
    if (tok)
        for (size_t i = 0; i < m; i++) free(tok[i]);
    free(tok);
    free(len);
    free(hash);
    return rc;
}

/* ---- encode / decode ---------------------------------------------------------------------- */

/* Tokens of s into ids[0..cap), the count in *n_out; <unk> for tokens not in v. */
static int encode_tokens(const st_smiles_vocab *v, const char *s, size_t sl, int32_t *ids, size_t cap, size_t *n_out,
                         size_t *n_unk, st_errbuf *eb)
{
    size_t k = 0, unk = 0;
    for (size_t i = 0; i < sl;) {
        size_t l = st_smiles_token_len(s, sl, i);
        if (l == 0) return scan_error(s, sl, i, eb);
        int32_t id = st_smiles_vocab_lookup(v, s + i, l);
        if (id < 0) {
            id = ST_SMILES_UNK;
            unk++;
        }
        if (ids && k < cap) ids[k] = id;
        k++;
        i += l;
    }
    *n_out = k;
    if (n_unk) *n_unk = unk;
    return 0;
}

int st_smiles_encode(const st_smiles_vocab *v, const char *s, int32_t *ids, size_t cap, size_t *n_out,
                     size_t *n_unk, st_errbuf *eb)
{
    if (!v || !s) return st_err(eb, STRAND_E_ARG, "SMILES encode: NULL vocabulary or string");
    size_t sl = strlen(s), k = 0;
    int rc = encode_tokens(v, s, sl, ids, cap, &k, n_unk, eb);
    if (n_out) *n_out = k;
    if (rc) return rc;
    if (k > cap && (ids || cap > 0))
        return st_err(eb, STRAND_E_RANGE, "SMILES \"%.*s%s\" has %zu tokens, more than the maximum %zu", SHOW_ARGS(s, sl),
                      k, cap);
    return 0;
}

int st_smiles_encode_padded(const st_smiles_vocab *v, const char *s, int32_t *ids, size_t model_len,
                            size_t *n_used, size_t *n_unk, st_errbuf *eb)
{
    if (!v || !s || !ids) return st_err(eb, STRAND_E_ARG, "SMILES encode: NULL vocabulary, string or output");
    size_t sl = strlen(s), k = 0;
    int rc = encode_tokens(v, s, sl, model_len > 1 ? ids + 1 : NULL, model_len > 2 ? model_len - 2 : 0, &k, n_unk,
                           eb);
    if (rc) return rc;
    if (n_used) *n_used = k + 2;
    if (k + 2 > model_len)
        return st_err(eb, STRAND_E_RANGE,
                      "SMILES \"%.*s%s\" has %zu tokens; with <bos> and <eos> that is %zu, longer than the model length %zu",
                      SHOW_ARGS(s, sl), k, k + 2, model_len);
    ids[0] = ST_SMILES_BOS;
    ids[k + 1] = ST_SMILES_EOS;
    for (size_t i = k + 2; i < model_len; i++) ids[i] = ST_SMILES_PAD;
    return 0;
}

int st_smiles_decode(const st_smiles_vocab *v, const int32_t *ids, size_t n, int strip_special, char *out,
                     size_t cap, size_t *len_out, st_errbuf *eb)
{
    if (!v) return st_err(eb, STRAND_E_ARG, "SMILES decode: NULL vocabulary");
    size_t len = 0, written = 0; /* written: bytes stored, a prefix of the full text */
    for (size_t i = 0; i < n; i++) {
        int32_t id = ids[i];
        if (id < 0 || (size_t)id >= v->n)
            return st_err(eb, STRAND_E_RANGE, "SMILES decode: token id %d at position %zu is outside the vocabulary [0, %zu)",
                          (int)id, i, v->n);
        if (id < ST_SMILES_NSPECIAL && strip_special) continue;
        size_t tl = v->len[id];
        if (out && written == len && len + tl < cap) {
            memcpy(out + len, v->tok[id], tl);
            written += tl;
        }
        len += tl;
    }
    if (len_out) *len_out = len;
    if (out && cap > 0) out[written] = '\0';
    if (out && len >= cap)
        return st_err(eb, STRAND_E_RANGE, "SMILES decode: output needs %zu bytes plus the terminating NUL, buffer has %zu",
                      len, cap);
    return 0;
}
