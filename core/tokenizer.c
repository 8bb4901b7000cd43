/* Public tokenizer API (include/strand.h "tokenizers"): one handle over the DNA and SMILES
 * tokenizers, JSON (de)serialisation for model metadata. docs/tokenizers.md. */
#include "core/tokenizer.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/tokenizer_dna.h"

struct strand_tokenizer {
    int kind;              /* STRAND_TOKENIZER_* */
    st_smiles_vocab *voc;  /* SMILES only */
    st_errbuf err;
};

static int new_handle(strand_tokenizer **out, int kind)
{
    *out = calloc(1, sizeof **out);
    if (!*out) return st_err(NULL, STRAND_E_NOMEM, "tokenizer: out of memory");
    (*out)->kind = kind;
    return 0;
}

int strand_tokenizer_dna_create(strand_tokenizer **out)
{
    if (!out) return st_err(NULL, STRAND_E_ARG, "strand_tokenizer_dna_create: out is NULL");
    return new_handle(out, STRAND_TOKENIZER_DNA);
}

int strand_tokenizer_smiles_build(strand_tokenizer **out, const char *const *smiles, size_t n)
{
    if (!out) return st_err(NULL, STRAND_E_ARG, "strand_tokenizer_smiles_build: out is NULL");
    *out = NULL;
    if (!smiles && n) return st_err(NULL, STRAND_E_ARG, "strand_tokenizer_smiles_build: smiles is NULL");
    st_smiles_vocab *v;
    int rc = st_smiles_vocab_build(&v, smiles, n, NULL);
    if (rc) return rc;
    if ((rc = new_handle(out, STRAND_TOKENIZER_SMILES))) {
        st_smiles_vocab_free(v);
        return rc;
    }
    (*out)->voc = v;
    return 0;
}

void strand_tokenizer_free(strand_tokenizer *tok)
{
    if (!tok) return;
    st_smiles_vocab_free(tok->voc);
    free(tok);
}

int strand_tokenizer_kind(const strand_tokenizer *tok) { return tok ? tok->kind : 0; }

size_t strand_tokenizer_vocab_size(const strand_tokenizer *tok)
{
    if (!tok) return 0;
    return tok->kind == STRAND_TOKENIZER_DNA ? ST_DNA_VOCAB : st_smiles_vocab_size(tok->voc);
}

const char *strand_tokenizer_token(const strand_tokenizer *tok, int32_t id)
{
    if (!tok || id < 0) return NULL;
    return tok->kind == STRAND_TOKENIZER_DNA ? st_dna_token(id) : st_smiles_vocab_token(tok->voc, (size_t)id);
}

int32_t strand_tokenizer_special(const strand_tokenizer *tok, int which)
{
    static const int32_t dna[5] = {ST_DNA_BOS, ST_DNA_SEP, ST_DNA_MASK, ST_DNA_PAD, ST_DNA_UNK};
    static const int32_t smi[5] = {ST_SMILES_BOS, ST_SMILES_EOS, ST_SMILES_MASK, ST_SMILES_PAD, ST_SMILES_UNK};
    if (!tok || which < 0 || which > 4) return -1;
    return tok->kind == STRAND_TOKENIZER_DNA ? dna[which] : smi[which];
}

const char *strand_tokenizer_last_error(const strand_tokenizer *tok) { return tok ? tok->err.msg : ""; }

const st_smiles_vocab *st_tokenizer_smiles_vocab(const strand_tokenizer *tok) { return tok ? tok->voc : NULL; }

/* ---- encode / decode ------------------------------------------------------------------------- */

int strand_tokenizer_encode_ex(strand_tokenizer *tok, const char *text, int32_t *ids, size_t max_len, size_t *n_out,
                               size_t *n_unk)
{
    if (!tok) return st_err(NULL, STRAND_E_ARG, "strand_tokenizer_encode: tokenizer is NULL");
    if (!text) return st_err(&tok->err, STRAND_E_ARG, "strand_tokenizer_encode: text is NULL");
    if (tok->kind == STRAND_TOKENIZER_SMILES)
        return st_smiles_encode(tok->voc, text, ids, max_len, n_out, n_unk, &tok->err);
    size_t n = strlen(text);
    if (n_out) *n_out = n;
    if (!ids && max_len == 0) {
        if (n_unk) { /* measuring: count [UNK] without writing */
            size_t u = 0;
            for (size_t i = 0; i < n; i++) u += st_dna_byte_to_id[(unsigned char)text[i]] == ST_DNA_UNK;
            *n_unk = u;
        }
        return 0;
    }
    if (!ids || n > max_len)
        return st_err(&tok->err, STRAND_E_RANGE, "DNA sequence of %zu characters (\"%.40s%s\") does not fit in %zu ids", n,
                      text, n > 40 ? "..." : "", max_len);
    size_t u = st_dna_encode(text, n, ids);
    if (n_unk) *n_unk = u;
    return 0;
}

int strand_tokenizer_encode(strand_tokenizer *tok, const char *text, int32_t *ids, size_t max_len, size_t *n_out)
{
    return strand_tokenizer_encode_ex(tok, text, ids, max_len, n_out, NULL);
}

int strand_tokenizer_encode_padded(strand_tokenizer *tok, const char *text, int32_t *ids, size_t model_len,
                                   size_t *n_used, size_t *n_unk)
{
    if (!tok) return st_err(NULL, STRAND_E_ARG, "strand_tokenizer_encode_padded: tokenizer is NULL");
    if (!text || !ids) return st_err(&tok->err, STRAND_E_ARG, "strand_tokenizer_encode_padded: text or ids is NULL");
    if (tok->kind == STRAND_TOKENIZER_SMILES)
        return st_smiles_encode_padded(tok->voc, text, ids, model_len, n_used, n_unk, &tok->err);
    size_t n = strlen(text);
    if (n > model_len)
        return st_err(&tok->err, STRAND_E_RANGE, "DNA sequence of %zu characters (\"%.40s%s\") is longer than the model length %zu",
                      n, text, n > 40 ? "..." : "", model_len);
    size_t u = st_dna_encode(text, n, ids);
    for (size_t i = n; i < model_len; i++) ids[i] = ST_DNA_PAD;
    if (n_used) *n_used = n;
    if (n_unk) *n_unk = u;
    return 0;
}

int strand_tokenizer_decode_ex(strand_tokenizer *tok, const int32_t *ids, size_t n, int flags, char *out, size_t cap,
                               size_t *len_out)
{
    if (!tok) return st_err(NULL, STRAND_E_ARG, "strand_tokenizer_decode: tokenizer is NULL");
    if (!ids && n) return st_err(&tok->err, STRAND_E_ARG, "strand_tokenizer_decode: ids is NULL");
    int strip = !(flags & STRAND_DECODE_KEEP_SPECIAL);
    if (tok->kind == STRAND_TOKENIZER_SMILES)
        return st_smiles_decode(tok->voc, ids, n, strip, out, cap, len_out, &tok->err);
    return st_dna_decode(ids, n, strip, out, cap, len_out, &tok->err);
}

int strand_tokenizer_decode(strand_tokenizer *tok, const int32_t *ids, size_t n, char *out, size_t cap,
                            size_t *len_out)
{
    return strand_tokenizer_decode_ex(tok, ids, n, 0, out, cap, len_out);
}

/* ---- DNA strand operations ---------------------------------------------------------------------- */

static int need_dna(strand_tokenizer *tok, const char *fn)
{
    if (!tok) return st_err(NULL, STRAND_E_ARG, "%s: tokenizer is NULL", fn);
    if (tok->kind != STRAND_TOKENIZER_DNA)
        return st_err(&tok->err, STRAND_E_UNSUPPORTED, "%s: only DNA tokenizers have a complement", fn);
    return 0;
}

int32_t strand_tokenizer_complement(strand_tokenizer *tok, int32_t id)
{
    int rc = need_dna(tok, "strand_tokenizer_complement");
    if (rc) return rc;
    if (id < 0 || id >= ST_DNA_VOCAB)
        return st_err(&tok->err, STRAND_E_RANGE, "strand_tokenizer_complement: id %d is outside [0, %d)", (int)id,
                      ST_DNA_VOCAB);
    return st_dna_complement(id);
}

int strand_tokenizer_reverse_complement(strand_tokenizer *tok, const int32_t *ids, int32_t *out, size_t n)
{
    int rc = need_dna(tok, "strand_tokenizer_reverse_complement");
    if (rc) return rc;
    if ((!ids || !out) && n) return st_err(&tok->err, STRAND_E_ARG, "strand_tokenizer_reverse_complement: NULL array");
    if ((rc = st_dna_revcomp(ids, out, n))) st_err_capture(&tok->err);
    return rc;
}

int strand_tokenizer_n_to_pad(strand_tokenizer *tok, int32_t *ids, size_t n, size_t *n_replaced)
{
    int rc = need_dna(tok, "strand_tokenizer_n_to_pad");
    if (rc) return rc;
    if (!ids && n) return st_err(&tok->err, STRAND_E_ARG, "strand_tokenizer_n_to_pad: ids is NULL");
    size_t k = st_dna_n_to_pad(ids, n);
    if (n_replaced) *n_replaced = k;
    return 0;
}

/* ---- JSON ----------------------------------------------------------------------------------------- */

int strand_tokenizer_to_json(strand_tokenizer *tok, char **json)
{
    if (!tok || !json) return st_err(NULL, STRAND_E_ARG, "strand_tokenizer_to_json: NULL argument");
    *json = NULL;
    json_t *o = json_object(), *arr = NULL;
    int rc = 0;
    if (!o) goto nomem;
    if (tok->kind == STRAND_TOKENIZER_DNA) {
        if (json_object_set_new(o, "kind", json_string("dna"))) goto nomem;
    } else {
        if (json_object_set_new(o, "kind", json_string("smiles"))) goto nomem;
        if (!(arr = json_array())) goto nomem;
        size_t n = st_smiles_vocab_size(tok->voc);
        for (size_t i = 0; i < n; i++) {
            const char *t = st_smiles_vocab_token(tok->voc, i);
            json_t *js = json_string(t); /* NULL for invalid UTF-8 */
            if (!js) {
                rc = st_err(&tok->err, STRAND_E_UNSUPPORTED,
                            "tokenizer JSON: token %zu \"%.40s\" is not valid UTF-8 and cannot be stored", i, t);
                goto fail;
            }
            if (json_array_append_new(arr, js)) goto nomem;
        }
        if (json_object_set_new(o, "tokens", arr)) {
            arr = NULL;
            goto nomem;
        }
        arr = NULL;
    }
    *json = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
    if (!*json) goto nomem;
    json_decref(o);
    return 0;
nomem:
    rc = st_err(&tok->err, STRAND_E_NOMEM, "tokenizer JSON: out of memory");
fail:
    json_decref(arr);
    json_decref(o);
    return rc;
}

int strand_tokenizer_from_json(strand_tokenizer **out, const char *json)
{
    if (!out) return st_err(NULL, STRAND_E_ARG, "strand_tokenizer_from_json: out is NULL");
    *out = NULL;
    if (!json) return st_err(NULL, STRAND_E_ARG, "strand_tokenizer_from_json: json is NULL");
    json_error_t je;
    json_t *o = json_loads(json, JSON_REJECT_DUPLICATES, &je);
    if (!o)
        return st_err(NULL, STRAND_E_FORMAT, "tokenizer JSON: line %d column %d: %s", je.line, je.column, je.text);
    int rc = 0;
    const char **toks = NULL;
    const char *kind = json_string_value(json_object_get(o, "kind"));
    if (!json_is_object(o)) {
        rc = st_err(NULL, STRAND_E_FORMAT, "tokenizer JSON: expected an object like {\"kind\":\"dna\"}");
    } else if (!kind) {
        rc = st_err(NULL, STRAND_E_FORMAT, "tokenizer JSON: missing string \"kind\" (\"dna\" or \"smiles\")");
    } else if (strcmp(kind, "dna") == 0) {
        if (json_object_get(o, "tokens"))
            rc = st_err(NULL, STRAND_E_FORMAT, "tokenizer JSON: a \"dna\" tokenizer has a fixed vocabulary and takes no \"tokens\"");
        else
            rc = new_handle(out, STRAND_TOKENIZER_DNA);
    } else if (strcmp(kind, "smiles") == 0) {
        json_t *arr = json_object_get(o, "tokens");
        size_t n = json_array_size(arr);
        if (!json_is_array(arr)) {
            rc = st_err(NULL, STRAND_E_FORMAT, "tokenizer JSON: a \"smiles\" tokenizer needs an array \"tokens\"");
        } else if (n == 0) {
            rc = st_err(NULL, STRAND_E_FORMAT, "tokenizer JSON: \"tokens\" is empty");
        } else if (!(toks = malloc(n * sizeof *toks))) {
            rc = st_err(NULL, STRAND_E_NOMEM, "tokenizer JSON: out of memory");
        } else {
            for (size_t i = 0; i < n && !rc; i++) {
                json_t *e = json_array_get(arr, i);
                if (!json_is_string(e))
                    rc = st_err(NULL, STRAND_E_FORMAT, "tokenizer JSON: tokens[%zu] is not a string", i);
                else if (strlen(json_string_value(e)) != json_string_length(e))
                    rc = st_err(NULL, STRAND_E_FORMAT, "tokenizer JSON: tokens[%zu] contains a NUL character", i);
                else
                    toks[i] = json_string_value(e);
            }
            st_smiles_vocab *v = NULL;
            if (!rc && !(rc = st_smiles_vocab_from_tokens(&v, toks, n, NULL))) {
                if ((rc = new_handle(out, STRAND_TOKENIZER_SMILES))) st_smiles_vocab_free(v);
                else (*out)->voc = v;
            }
            if (rc && rc != STRAND_E_NOMEM) st_err_prefix("tokenizer JSON");
        }
    } else {
        rc = st_err(NULL, STRAND_E_UNSUPPORTED, "tokenizer JSON: unknown kind \"%.40s\" (expected \"dna\" or \"smiles\")",
                    kind);
    }
    free(toks);
    json_decref(o);
    return rc;
}

/* ---- model files ------------------------------------------------------------------------------------ */

int st_tokenizer_write_meta(sft_writer *w, const strand_tokenizer *tok)
{
    char *js = NULL;
    int rc = strand_tokenizer_to_json((strand_tokenizer *)tok, &js);
    if (rc) return rc;
    rc = sft_writer_meta(w, STRAND_TOKENIZER_META_KEY, js);
    free(js);
    return rc;
}

int st_tokenizer_read_meta(strand_tokenizer **out, const sft_file *f, const char *name_for_errors)
{
    *out = NULL;
    const char *js = sft_meta_get(f, STRAND_TOKENIZER_META_KEY);
    if (!js)
        return st_err(NULL, STRAND_E_NOTFOUND, "%s: no tokenizer in the metadata (key \"%s\")", name_for_errors,
                      STRAND_TOKENIZER_META_KEY);
    int rc = strand_tokenizer_from_json(out, js);
    if (rc) st_err_prefix("%s: metadata \"%s\"", name_for_errors, STRAND_TOKENIZER_META_KEY);
    return rc;
}
