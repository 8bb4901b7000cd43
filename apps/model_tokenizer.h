/* The tokenizer that goes with a model file, for the commands that read or write text. */
#ifndef STRAND_APPS_MODEL_TOKENIZER_H
#define STRAND_APPS_MODEL_TOKENIZER_H
#include "strand.h"

/* DNA for Caduceus, else the "strand.tokenizer" metadata of the model's weights (path: a file or
 * an HF directory). Prints the error (cli_error) and returns a negative STRAND_E_* on failure;
 * STRAND_E_NOTFOUND when the model has no tokenizer (HF directories). */
int cli_model_tokenizer(const char *path, strand_model *m, strand_tokenizer **tok);
#endif
