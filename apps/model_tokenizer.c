/* The tokenizer of a model file (apps/model_tokenizer.h), printed errors over the library call. */
#include "apps/model_tokenizer.h"

#include "apps/cli.h"

int cli_model_tokenizer(const char *path, strand_model *m, strand_tokenizer **tok)
{
    int rc = strand_tokenizer_for_model(path, m, tok);
    if (rc < 0) cli_error("%s", strand_last_error());
    return rc;
}
