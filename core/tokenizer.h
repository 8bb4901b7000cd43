/* strand_tokenizer (public handle, include/strand.h) internals: access for library code and the
 * model-file helpers that keep a tokenizer in safetensors metadata under "strand.tokenizer". */
#ifndef STRAND_CORE_TOKENIZER_H
#define STRAND_CORE_TOKENIZER_H
#include "core/safetensors.h"
#include "core/tokenizer_smiles.h"
#include "strand.h"

/* The SMILES vocabulary of a SMILES tokenizer; NULL for DNA. */
const st_smiles_vocab *st_tokenizer_smiles_vocab(const strand_tokenizer *tok);

/* Store tok's JSON under STRAND_TOKENIZER_META_KEY. */
int st_tokenizer_write_meta(sft_writer *w, const strand_tokenizer *tok);
/* Load the tokenizer stored in f's metadata; STRAND_E_NOTFOUND when the key is absent, other
 * errors prefixed with `name_for_errors` (the file name). */
int st_tokenizer_read_meta(strand_tokenizer **out, const sft_file *f, const char *name_for_errors);
#endif
