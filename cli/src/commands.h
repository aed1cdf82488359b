/* commands.h - the subcommands main() dispatches to (argv[0] is the command name). */
#ifndef CLI_COMMANDS_H
#define CLI_COMMANDS_H

int cmd_inspect(int argc, char **argv);
int cmd_verify(int argc, char **argv);
int cmd_update(int argc, char **argv);
int cmd_ports(int argc, char **argv);

#endif
