/* The `strand` command table (bcftools' cmd_t): rows with a NULL function are section headings. */
#include "apps/commands.h"

#include <stddef.h>

/* Keep in the order users meet them; `strand` alone prints this table. */
const cli_cmd strand_commands[] = {
    {"Data", NULL, NULL},
    {"data", cmd_data_main, "create and describe datasets: windows, SMILES tables, token shards"},
    {"Models", NULL, NULL},
    {"inspect", cmd_inspect_main, "describe a model file (safetensors[.zst]): metadata, tensors, sizes"},
    {"logits", cmd_logits_main, "raw logits (n, L, V) of a model for token ids (.npy), FASTA or SMILES input"},
    {"embed", cmd_embed_main, "Caduceus embeddings (per position or mean-pooled) of FASTA records as .npy"},
    {"train", cmd_train_main, "train a model: `strand train <kind>` (caduceus, mdlm, udlm, duo)"},
    {"eval", cmd_eval_main, "NELBO (nats/token, perplexity bound) of a diffusion model on data; per-token losses"},
    {"Diffusion", NULL, NULL},
    {"sample", cmd_sample_main, "sample sequences from an MDLM/UDLM model (ancestral, classifier-free guidance)"},
    {"distill", cmd_distill_main, "Duo discrete consistency distillation of a uniform model into a few-step sampler"},
    {"posterior", cmd_posterior_main, "the sampler's step distributions q(z_s | z_t) (n, L, V) for given z_t, t, s"},
    {"design", cmd_design_main, "run a design campaign (targets x gamma sweeps, metrics, report); no file: the demo"},
    {"Genomics", NULL, NULL},
    {"vep", cmd_vep_main, "annotate a VCF/BCF with zero-shot Caduceus variant-effect scores (LLR, embedding distance)"},
    {"vep-train", cmd_vep_train_main, "fit a calibrated STRAND_P head on strand features of a labelled VCF (CV AUROC, ECE)"},
    {NULL, NULL, NULL},
};
