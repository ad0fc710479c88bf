/*
 * cases_cli — a case coordinator at an agency node asks the federation about the node's own
 * records: `caselink-node case-history` (M7) and `caselink-node alerts` (M8). The node signs
 * the request with its own certificate, sends it to the coordinator, and prints the answer;
 * only this node's person_refs are ever named, resolved locally from their row handles.
 */
#ifndef CASELINK_NODE_CASES_CLI_H
#define CASELINK_NODE_CASES_CLI_H

/*
 * Runs `caselink-node case-history --data DIR PERSON_REF --purpose CODE [...]` or
 * `caselink-node alerts --data DIR [...]` (argv[0] is the command). Returns 0 or a CL_E* code
 * (reported on stderr).
 */
int node_cases_main(int argc, char **argv);

#endif
