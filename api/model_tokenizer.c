/* The tokenizer that goes with a model file (include/strand.h "model files"). */
#include <stdio.h>
#include <string.h>

#include "core/error.h"
#include "core/model_path.h"
#include "core/safetensors.h"
#include "core/tokenizer.h"
#include "strand.h"

int strand_tokenizer_for_model(const char *path, const strand_model *m, strand_tokenizer **tok)
{
    if (!path || !m || !tok) return st_err(NULL, STRAND_E_ARG, "strand_tokenizer_for_model: NULL argument");
    *tok = NULL;
    if (!strncmp(strand_model_kind(m), "caduceus", 8)) return strand_tokenizer_dna_create(tok);
    model_files mp;
    int rc = model_path_resolve(path, &mp);
    if (rc < 0) return rc;
    const char *wpath = mp.weights;
    sft_file *f = NULL;
    rc = sft_open(&f, wpath);
    if (rc < 0) return rc;
    rc = st_tokenizer_read_meta(tok, f, wpath);
    sft_close(f);
    if (rc == STRAND_E_NOTFOUND)
        return st_err(NULL, STRAND_E_NOTFOUND,
                      "%s: the model has no \"%s\" metadata, so text cannot be tokenised or decoded: use token ids",
                      wpath, STRAND_TOKENIZER_META_KEY);
    return rc;
}
