/* caselink — the command-line client: dispatches to one subcommand. */
#include <stdio.h>
#include <string.h>

#include "tools/cli.h"

struct caselink_cmd {
	const char *name;
	int (*main)(int argc, char **argv);
	const char *help;
};

/* One line per subcommand, in the order `caselink help` lists them. */
static const struct caselink_cmd caselink_cmds[] = {
    {"linkage-eval", linkage_eval_main, "measure linkage quality on FEBRL4 or a synth federation"},
    {"pki", pki_main, "federation CA: init-ca, issue, revoke certificates"},
    {"query", query_main, "ask the coordinator for a measure (table, CSV or JSON)"},
    {"report", report_main, "write the HTML monitoring report of M1-M6 (--html FILE)"},
    {"status", status_main, "ask a node, the coordinator or the keyholder for its status"},
    {"synth", synth_main, "generate a synthetic federation and its ground truth"},
    {"truth", truth_main, "compute the expected measures M1-M8 of a federation"},
    {NULL, NULL, NULL},
};

static void caselink_usage(FILE *f)
{
	const struct caselink_cmd *c;

	fprintf(f, "usage: caselink COMMAND [ARGS]\n\ncommands:\n");
	for (c = caselink_cmds; c->name; c++)
		fprintf(f, "  %-16s %s\n", c->name, c->help);
}

int main(int argc, char **argv)
{
	const struct caselink_cmd *c;

	if (argc < 2 || !strcmp(argv[1], "help") || !strcmp(argv[1], "--help")) {
		caselink_usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? 2 : 0;
	}
	for (c = caselink_cmds; c->name; c++)
		if (!strcmp(argv[1], c->name))
			return c->main(argc - 1, argv + 1);
	fprintf(stderr, "caselink: unknown command '%s' (see 'caselink help')\n", argv[1]);
	return 2;
}
