#include "apps/commands.h"

#include <stddef.h>

/* Keep in the order users meet them; `strand` alone prints this table. */
const strand_command strand_commands[] = {
    {"data", cmd_data_main, "create and describe datasets: windows, SMILES tables, token shards"},
    {"embed", cmd_embed_main, "Caduceus embeddings (per position or mean-pooled) of FASTA records as .npy"},
    {"inspect", cmd_inspect_main, "describe a model file (safetensors[.zst]): metadata, tensors, sizes"},
    {"logits", cmd_logits_main, "raw logits (n, L, V) of a model for token ids (.npy), FASTA or SMILES input"},
    {"train", cmd_train_main, "train a model: `strand train caduceus` (masked-LM pretraining)"},
    {"vep", cmd_vep_main, "annotate a VCF/BCF with zero-shot Caduceus variant-effect scores (LLR, embedding distance)"},
    {NULL, NULL, NULL},
};
