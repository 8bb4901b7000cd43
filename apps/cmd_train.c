/* `strand train <kind>`: the table of trainable kinds. Each kind is one file,
 * apps/cmd_train_<kind>.c (mdlm, udlm and bd3lm share apps/cmd_train_diffusion.c), and one row here. */
#include "apps/commands.h"

static const cli_cmd train_kinds[] = {
    {"Trainable kinds", NULL, NULL},
    {"caduceus", cmd_train_caduceus_main, "masked-LM pretraining of a Caduceus-PS/PH DNA model"},
    {"mdlm", cmd_train_mdlm_main, "masked discrete diffusion (MDLM) on the DiT: SMILES tables, labelled DNA windows"},
    {"bd3lm", cmd_train_bd3lm_main, "block diffusion (BD3-LM, --block L') on the DiT: SMILES tables, DNA windows"},
    {"udlm", cmd_train_udlm_main, "uniform discrete diffusion (UDLM) on the DiT: SMILES tables, labelled DNA windows"},
    {"duo", cmd_train_duo_main, "Duo: Gaussian-curriculum training of a uniform diffusion model, then the UDLM ELBO"},
    {"classifier", cmd_train_classifier_main, "noisy (or clean) classifier p(y | z_t) for classifier-based guidance"},
    {NULL, NULL, NULL},
};

int cmd_train_main(int argc, char **argv) { return cli_dispatch(train_kinds, "kind", NULL, argc, argv); }
