/*
 * cli — the subcommands of the `caselink` command-line client.
 * Each takes the arguments after its own name (argv[0] is the subcommand)
 * and returns the process exit status.
 */
#ifndef CASELINK_TOOLS_CLI_H
#define CASELINK_TOOLS_CLI_H

/* Add one declaration per subcommand, e.g. int synth_main(int argc, char **argv); */

/* caselink synth: generates a synthetic federation and its ground truth. */
int synth_main(int argc, char **argv);

/* caselink truth: recomputes the expected measures of a federation for a period. */
int truth_main(int argc, char **argv);

/* caselink pki: init-ca, issue, revoke (tools/pki_cli.c). */
int pki_main(int argc, char **argv);

/* caselink linkage-eval: encode-and-link quality on FEBRL4 / a synth federation. */
int linkage_eval_main(int argc, char **argv);

/* caselink query: asks the coordinator for a measure (tools/query_cli.c). */
int query_main(int argc, char **argv);

/* caselink status: a party's Status RPC, exit 0 when ready (tools/status_cli.c). */
int status_main(int argc, char **argv);

/* caselink report: the HTML monitoring report of M1-M6 (tools/report.c). */
int report_main(int argc, char **argv);

#endif
