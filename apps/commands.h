/* The strand CLI's command tables: one row per subcommand, one file per subcommand. */
#ifndef STRAND_APPS_COMMANDS_H
#define STRAND_APPS_COMMANDS_H
#include "apps/cli.h"

extern const cli_cmd strand_commands[]; /* apps/commands.c */

/* Subcommand entry points (apps/cmd_<name>.c); argv[0] is the subcommand's name. */
int cmd_data_main(int argc, char **argv);         /* apps/cmd_data.c: the `strand data` table */
int cmd_data_smiles_main(int argc, char **argv);  /* apps/cmd_data_smiles.c */
int cmd_data_windows_main(int argc, char **argv); /* apps/cmd_data_windows.c */
int cmd_data_info_main(int argc, char **argv);    /* apps/cmd_data_info.c */
int cmd_inspect_main(int argc, char **argv);      /* apps/cmd_inspect.c */
int cmd_logits_main(int argc, char **argv);       /* apps/cmd_logits.c */
int cmd_embed_main(int argc, char **argv);        /* apps/cmd_embed.c */
int cmd_vep_main(int argc, char **argv);          /* apps/cmd_vep.c */
int cmd_vep_train_main(int argc, char **argv);    /* apps/cmd_vep_train.c */
int cmd_sample_main(int argc, char **argv);       /* apps/cmd_sample.c */
int cmd_design_main(int argc, char **argv);       /* apps/cmd_design.c */
int cmd_posterior_main(int argc, char **argv);    /* apps/cmd_posterior.c */
int cmd_train_main(int argc, char **argv);        /* apps/cmd_train.c: the `strand train` kind table */
int cmd_train_caduceus_main(int argc, char **argv); /* apps/cmd_train_caduceus.c */
int cmd_eval_main(int argc, char **argv);         /* apps/cmd_eval.c */
int cmd_train_mdlm_main(int argc, char **argv);   /* apps/cmd_train_diffusion.c */
int cmd_train_bd3lm_main(int argc, char **argv);  /* apps/cmd_train_diffusion.c */
int cmd_train_udlm_main(int argc, char **argv);   /* apps/cmd_train_diffusion.c */
int cmd_train_duo_main(int argc, char **argv);    /* apps/cmd_train_diffusion.c */
int cmd_distill_main(int argc, char **argv);      /* apps/cmd_train_diffusion.c */
int cmd_train_classifier_main(int argc, char **argv); /* apps/cmd_train_classifier.c */

#endif
