/*
 * cli — the subcommands of the `caselink` command-line client.
 * Each takes the arguments after its own name (argv[0] is the subcommand)
 * and returns the process exit status.
 */
#ifndef CASELINK_TOOLS_CLI_H
#define CASELINK_TOOLS_CLI_H

/* Add one declaration per subcommand, e.g. int synth_main(int argc, char **argv); */

/* caselink pki: init-ca, issue, revoke (tools/pki_cli.c). */
int pki_main(int argc, char **argv);

#endif
