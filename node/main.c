/*
 * caselink-node — the agency node's program: init a store, import the
 * agency's CSV export, print the store's status.
 * Exit status: 0 done, 1 input rejected or operation failed, 2 usage or
 * configuration error.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/cl_error.h"
#include "common/log.h"
#include "node/cases_cli.h"
#include "node/disclose.h"
#include "node/import.h"
#include "node/serve.h"
#include "node/store.h"
#include "node/tokens.h"

#define NODE_EXIT_OK	0
#define NODE_EXIT_FAIL	1
#define NODE_EXIT_USAGE 2

struct node_opt {
	const char *name;
	const char **value; /* NULL for a flag */
	int *flag;
};

static void node_usage(FILE *f)
{
	fprintf(
	    f, "usage:\n"
	       "  caselink-node init --data DIR --agency ID --type TYPE --municipality NAME "
	       "--country CC\n"
	       "  caselink-node import --data DIR [--persons FILE] [--events FILE] [--progress]"
	       " [--cache-mib N]\n"
	       "  caselink-node status --data DIR\n"
	       "  caselink-node serve --data DIR --config FILE [--foreground] [--ready-file FILE]\n"
	       "  caselink-node tokens --data DIR --config FILE [--batch N] [--progress]\n"
	       "  caselink-node audit verify --data DIR\n"
	       "  caselink-node audit disclosures --data DIR [--format table|csv]\n"
	       "  caselink-node case-history --data DIR PERSON_REF --purpose CODE"
	       " [--legal-basis CODE]\n"
	       "      [--as-of YYYY-MM-DD] --coordinator HOST:PORT [--config FILE]"
	       " [--format table|csv]\n"
	       "  caselink-node alerts --data DIR [--as-of YYYY-MM-DD] [--purpose CODE]"
	       " [--legal-basis CODE]\n"
	       "      --coordinator HOST:PORT [--config FILE] [--format table|csv]\n"
	       "agency types: police municipal_police social_services child_rights health ngo\n"
	       "  shelter probation prosecutor court education\n");
}

/* Parses "--name value" and "--flag" options; 0 or CL_EUSAGE (reported). */
static int node_parse(int argc, char **argv, const struct node_opt *opts)
{
	const struct node_opt *o;
	int i;

	for (i = 1; i < argc; i++) {
		for (o = opts; o->name; o++)
			if (!strcmp(argv[i], o->name))
				break;
		if (!o->name) {
			fprintf(stderr, "caselink-node %s: unknown option '%.40s'\n", argv[0],
				argv[i]);
			return CL_EUSAGE;
		}
		if (o->flag) {
			*o->flag = 1;
			continue;
		}
		if (i + 1 >= argc) {
			fprintf(stderr, "caselink-node %s: %s needs a value\n", argv[0], o->name);
			return CL_EUSAGE;
		}
		*o->value = argv[++i];
	}
	return 0;
}

static int node_exit_code(int rc)
{
	switch (rc) {
	case 0:
		return NODE_EXIT_OK;
	case CL_EUSAGE:
	case CL_ECONFIG:
	case CL_EINVAL:
	case CL_ENOTFOUND:
	case CL_EEXIST:
	case CL_ESCHEMA:
	case CL_ECORRUPT:
	case CL_EPERM:
		return NODE_EXIT_USAGE;
	default:
		return NODE_EXIT_FAIL;
	}
}

static int node_copy(char *dst, size_t dstsz, const char *src, const char *what)
{
	size_t n = strlen(src);

	if (n >= dstsz) {
		fprintf(stderr, "caselink-node init: %s too long (max %zu bytes)\n", what,
			dstsz - 1);
		return CL_EUSAGE;
	}
	memcpy(dst, src, n + 1);
	return 0;
}

static int node_init(int argc, char **argv)
{
	const char *data = NULL, *agency = NULL, *type = NULL, *muni = NULL, *country = NULL;
	const struct node_opt opts[] = {
	    {"--data", &data, NULL},	     {"--agency", &agency, NULL},   {"--type", &type, NULL},
	    {"--municipality", &muni, NULL}, {"--country", &country, NULL}, {NULL, NULL, NULL},
	};
	struct node_store_meta m;
	int rc;

	rc = node_parse(argc, argv, opts);
	if (rc)
		return rc;
	if (!data || !agency || !type || !muni || !country) {
		fprintf(stderr, "caselink-node init: --data, --agency, --type, --municipality"
				" and --country are required\n");
		return CL_EUSAGE;
	}
	if (!node_store_agency_type_valid(type)) {
		fprintf(stderr, "caselink-node init: unknown agency type '%.32s'\n", type);
		return CL_EUSAGE;
	}
	if (strlen(country) != 2 || country[0] < 'A' || country[0] > 'Z' || country[1] < 'A' ||
	    country[1] > 'Z') {
		fprintf(stderr, "caselink-node init: --country must be two upper-case letters\n");
		return CL_EUSAGE;
	}
	memset(&m, 0, sizeof(m));
	rc = node_copy(m.agency_id, sizeof(m.agency_id), agency, "agency id");
	if (!rc)
		rc = node_copy(m.agency_type, sizeof(m.agency_type), type, "agency type");
	if (!rc)
		rc = node_copy(m.municipality, sizeof(m.municipality), muni, "municipality");
	if (!rc)
		rc = node_copy(m.country, sizeof(m.country), country, "country");
	if (rc)
		return rc;
	rc = node_store_init(data, &m);
	if (rc == CL_EEXIST) {
		fprintf(stderr,
			"caselink-node init: a store already exists in %s; not overwritten\n",
			data);
	} else if (rc == CL_EINVAL) {
		fprintf(stderr, "caselink-node init: invalid agency id or municipality (agency id:"
				" letters, digits, '-', '_', '.')\n");
	} else if (rc) {
		fprintf(stderr, "caselink-node init: cannot create the store in %s: %s\n", data,
			cl_strerror(rc));
	} else {
		printf("store created: %s/%s\n", data, NODE_STORE_FILE);
	}
	return rc;
}

static int node_open(const char *cmd, const char *data, struct node_store **s)
{
	int rc = node_store_open(data, s);

	if (rc == CL_ENOTFOUND)
		fprintf(stderr, "caselink-node %s: no store in %s (run 'caselink-node init')\n",
			cmd, data);
	else if (rc == CL_ESCHEMA)
		fprintf(stderr,
			"caselink-node %s: the store in %s has a newer schema than this program"
			" knows (%d); upgrade caselink\n",
			cmd, data, NODE_STORE_VERSION);
	else if (rc)
		fprintf(stderr, "caselink-node %s: cannot open the store in %s: %s\n", cmd, data,
			cl_strerror(rc));
	return rc;
}

static int node_import(int argc, char **argv)
{
	const char *data = NULL, *persons = NULL, *events = NULL, *cache = NULL;
	int progress = 0;
	const struct node_opt opts[] = {
	    {"--data", &data, NULL},	     {"--persons", &persons, NULL},
	    {"--events", &events, NULL},     {"--cache-mib", &cache, NULL},
	    {"--progress", NULL, &progress}, {NULL, NULL, NULL},
	};
	struct node_import_opts io;
	struct node_import_report rep;
	struct node_store *s = NULL;
	char *end = NULL;
	long mib = 0;
	int rc;

	rc = node_parse(argc, argv, opts);
	if (rc)
		return rc;
	if (!data || (!persons && !events)) {
		fprintf(stderr, "caselink-node import: --data and --persons and/or --events are"
				" required\n");
		return CL_EUSAGE;
	}
	if (cache) {
		mib = strtol(cache, &end, 10);
		if (!*cache || *end || mib < 1 || mib > 4096) {
			fprintf(stderr, "caselink-node import: --cache-mib must be 1..4096\n");
			return CL_EUSAGE;
		}
	}
	rc = node_open("import", data, &s);
	if (rc)
		return rc;
	memset(&io, 0, sizeof(io));
	io.persons_path = persons;
	io.events_path = events;
	io.errors = stderr;
	io.progress = (progress || isatty(STDERR_FILENO)) ? stderr : NULL;
	io.cache_mib = (int)mib;
	rc = node_import_run(s, &io, &rep);
	if (rc == 0)
		node_import_print_report(&io, &rep, stdout);
	else if (rc != CL_EBADROWS)
		fprintf(stderr, "caselink-node import: failed, nothing stored: %s\n",
			cl_strerror(rc));
	node_store_close(s);
	return rc == CL_EIO ? CL_ECONFIG : rc; /* an unreadable file: exit 2 */
}

static int node_status(int argc, char **argv)
{
	const char *data = NULL;
	const struct node_opt opts[] = {{"--data", &data, NULL}, {NULL, NULL, NULL}};
	struct node_store *s = NULL;
	int rc;

	rc = node_parse(argc, argv, opts);
	if (rc)
		return rc;
	if (!data) {
		fprintf(stderr, "caselink-node status: --data is required\n");
		return CL_EUSAGE;
	}
	rc = node_open("status", data, &s);
	if (rc)
		return rc;
	rc = node_store_status(s, stdout);
	if (!rc) {
		struct node_tokens_state ts;

		rc = node_tokens_get_state(node_store_db(s), &ts);
		if (!rc && ts.filled)
			printf("token cache:    filled (key epoch %u, import generation %lld)\n",
			       ts.key_epoch, (long long)ts.filled_gen);
		else if (!rc)
			printf("token cache:    not filled (key epoch %u, filled to generation %lld"
			       " of %lld; run caselink-node tokens)\n",
			       ts.key_epoch, (long long)ts.filled_gen, (long long)ts.data_gen);
	}
	if (rc)
		fprintf(stderr, "caselink-node status: %s\n", cl_strerror(rc));
	node_store_close(s);
	return rc;
}

int main(int argc, char **argv)
{
	int rc;

	log_init("node", LOG_LEVEL_WARN);
	/* no allocation statistics: they cost a global mutex per SQLite allocation */
	sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
	if (argc < 2) {
		node_usage(stderr);
		return NODE_EXIT_USAGE;
	}
	if (!strcmp(argv[1], "init")) {
		rc = node_init(argc - 1, argv + 1);
	} else if (!strcmp(argv[1], "import")) {
		rc = node_import(argc - 1, argv + 1);
	} else if (!strcmp(argv[1], "status")) {
		rc = node_status(argc - 1, argv + 1);
	} else if (!strcmp(argv[1], "serve")) {
		rc = node_serve_main(argc - 1, argv + 1);
	} else if (!strcmp(argv[1], "tokens")) {
		rc = node_tokens_main(argc - 1, argv + 1);
	} else if (!strcmp(argv[1], "case-history") || !strcmp(argv[1], "alerts")) {
		rc = node_cases_main(argc - 1, argv + 1);
	} else if (!strcmp(argv[1], "audit") && argc > 2 && !strcmp(argv[2], "disclosures")) {
		rc = node_disclose_list_main(argc - 2, argv + 2);
	} else if (!strcmp(argv[1], "audit")) {
		rc = node_serve_audit_verify(argc - 1, argv + 1);
	} else if (!strcmp(argv[1], "help") || !strcmp(argv[1], "--help")) {
		node_usage(stdout);
		return NODE_EXIT_OK;
	} else {
		fprintf(stderr, "caselink-node: unknown command '%.40s'\n", argv[1]);
		node_usage(stderr);
		return NODE_EXIT_USAGE;
	}
	if (rc == CL_EUSAGE)
		node_usage(stderr);
	return node_exit_code(rc);
}
