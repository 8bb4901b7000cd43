/* The tokenizer of a model file (apps/model_tokenizer.h). */
#include "apps/model_tokenizer.h"

#include <stdio.h>
#include <string.h>

#include "apps/cli.h"
#include "core/model_path.h"
#include "core/safetensors.h"
#include "core/tokenizer.h"

int cli_model_tokenizer(const char *path, strand_model *m, strand_tokenizer **tok)
{
    const char *kind = strand_model_kind(m);
    if (!strncmp(kind, "caduceus", 8)) return strand_tokenizer_dna_create(tok);
    model_files mp;
    const char *wpath = mp.weights;
    sft_file *f = NULL;
    int rc = model_path_resolve(path, &mp);
    if (rc == 0) rc = sft_open(&f, wpath);
    if (rc < 0) {
        cli_error("%s", strand_last_error());
        return rc;
    }
    rc = st_tokenizer_read_meta(tok, f, wpath);
    sft_close(f);
    if (rc == STRAND_E_NOTFOUND)
        cli_error("%s: the model has no \"%s\" metadata, so text cannot be tokenised or decoded: use token ids (.npy)",
                  wpath, STRAND_TOKENIZER_META_KEY);
    else if (rc < 0)
        cli_error("%s", strand_last_error());
    return rc;
}
