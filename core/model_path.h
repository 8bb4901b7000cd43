/* One "model path -> weights file + config" rule for every loader (strand_model, Caduceus, VEP,
 * diffusion models, the CLI), docs/formats.md "Model directories":
 *   - a directory (the HuggingFace layout): weights DIR/model.safetensors, or
 *     DIR/model.safetensors.zst when the plain file is absent; config DIR/config.json (required);
 *   - a file (.safetensors, or .safetensors.zst, decompressed by sft_open): the config is its
 *     "strand.config" metadata, else the config.json beside it (a published model.safetensors
 *     named directly; config_beside says so, and strand_model accepts it for Caduceus only).
 * Errors name the path. */
#ifndef STRAND_CORE_MODEL_PATH_H
#define STRAND_CORE_MODEL_PATH_H
#include "core/safetensors.h"

#define MODEL_PATH_MAX 4096

typedef struct model_files {
    char weights[MODEL_PATH_MAX]; /* the safetensors file to open */
    char config[MODEL_PATH_MAX];  /* config.json to read when the weights carry no "strand.config" */
    int dir;                      /* 1: the path was a directory (config.json, not metadata) */
    int config_beside;            /* 1: a file without "strand.config" whose config.json beside it was read */
} model_files;

/* Resolve path (which must exist). 0 or STRAND_E_IO / STRAND_E_ARG. */
int model_path_resolve(const char *path, model_files *mp);
/* The config JSON text (malloc'ed, caller frees): a directory's config.json; else f's
 * "strand.config" metadata, else the config.json beside the file. STRAND_E_FORMAT when there is
 * none (the message names the weights file and says what was looked for). */
int model_path_config(model_files *mp, const sft_file *f, char **json);
/* Resolve, open the weights and read the config in one call (*f and *json owned by the caller). */
int model_path_open(const char *path, model_files *mp, sft_file **f, char **json);
#endif
