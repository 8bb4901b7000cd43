/* The strand CLI's command table: one entry per subcommand, one file per subcommand. */
#ifndef STRAND_APPS_COMMANDS_H
#define STRAND_APPS_COMMANDS_H

typedef struct strand_command {
    const char *name;
    int (*main_fn)(int argc, char **argv); /* argv[0] is the command name */
    const char *help;                       /* one line for the command table */
} strand_command;

extern const strand_command strand_commands[];

/* Subcommand entry points (apps/cmd_<name>.c). */
int cmd_data_main(int argc, char **argv);
int cmd_data_smiles_main(int argc, char **argv); /* apps/cmd_data_smiles.c */
int cmd_data_windows_main(int argc, char **argv); /* apps/cmd_data_windows.c */
int cmd_data_info_main(int argc, char **argv);    /* apps/cmd_data_info.c */
int cmd_inspect_main(int, char **);
int cmd_logits_main(int argc, char **argv); /* apps/cmd_logits.c */
int cmd_embed_main(int, char **);            /* apps/cmd_embed.c */
int cmd_vep_main(int, char **);             /* apps/cmd_vep.c */
int cmd_train_main(int, char **);             /* apps/cmd_train.c */

#endif
