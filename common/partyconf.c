#include "common/partyconf.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cl_error.h"
#include "common/yconf.h"

/* Copies a scalar into a fixed buffer, failing with a located message when it does not fit. */
static int partyconf_copy(struct yconf *c, int map, const char *key, int required, char *dst,
			  size_t dstsz)
{
	const char *v = NULL;
	int rc;

	rc = yconf_get_str(c, map, key, required, &v);
	if (rc != CL_OK || !v)
		return rc;
	if (strlen(v) >= dstsz)
		return yconf_fail(c, yconf_get(c, map, key), "'%s' is too long (at most %zu bytes)",
				  key, dstsz - 1);
	if (required && !*v)
		return yconf_fail(c, yconf_get(c, map, key), "'%s' must not be empty", key);
	memcpy(dst, v, strlen(v) + 1);
	return CL_OK;
}

/* Resolves a path relative to the directory of the configuration file. */
static int partyconf_path(struct yconf *c, int map, const char *key, int required,
			  const char *confdir, char *dst)
{
	char raw[PARTYCONF_MAX_PATH] = "";
	int rc, n;

	rc = partyconf_copy(c, map, key, required, raw, sizeof(raw));
	if (rc != CL_OK || !*raw)
		return rc;
	if (raw[0] == '/' || !*confdir)
		n = snprintf(dst, PARTYCONF_MAX_PATH, "%s", raw);
	else
		n = snprintf(dst, PARTYCONF_MAX_PATH, "%s/%s", confdir, raw);
	if (n < 0 || n >= PARTYCONF_MAX_PATH)
		return yconf_fail(c, yconf_get(c, map, key), "'%s' is too long", key);
	return CL_OK;
}

/* host:port with a port in 1..65535 (0 allowed for listen addresses in tests). */
static int partyconf_address(struct yconf *c, int map, const char *key, int required, char *dst,
			     size_t dstsz)
{
	const char *colon;
	char *end = NULL;
	long port;
	int rc;

	rc = partyconf_copy(c, map, key, required, dst, dstsz);
	if (rc != CL_OK || !*dst)
		return rc;
	colon = strrchr(dst, ':');
	if (!colon || colon == dst)
		return yconf_fail(c, yconf_get(c, map, key), "'%s' must be HOST:PORT", key);
	port = strtol(colon + 1, &end, 10);
	if (end == colon + 1 || *end || port < 0 || port > 65535)
		return yconf_fail(c, yconf_get(c, map, key), "'%s' has a bad port", key);
	return CL_OK;
}

static int partyconf_is_ident(const char *s)
{
	if (!*s)
		return 0;
	for (; *s; s++)
		if (!islower((unsigned char)*s) && !isdigit((unsigned char)*s) && *s != '-' &&
		    *s != '_' && *s != '.')
			return 0;
	return 1;
}

static int partyconf_nodes(struct yconf *c, int list, struct partyconf *pc)
{
	static const char *const keys[] = {
	    "id", "agency_type", "municipality", "country", "address", "kind", NULL};
	size_t i, j, n = yconf_seq_len(c, list);
	int rc, req;

	if (!yconf_is_seq(c, list))
		return yconf_fail(c, list, "'nodes' must be a list");
	if (n == 0)
		return yconf_fail(c, list, "'nodes' must name at least one node");
	if (n > PARTYCONF_MAX_NODES)
		return yconf_fail(c, list, "too many nodes (at most %d)", PARTYCONF_MAX_NODES);
	pc->nodes = calloc(n, sizeof(*pc->nodes));
	if (!pc->nodes)
		return CL_ENOMEM;
	for (i = 0; i < n; i++) {
		struct partyconf_node *nd = &pc->nodes[i];
		int item = yconf_seq_item(c, list, i);
		char kind[16] = "node";

		rc = yconf_only_keys(c, item, keys);
		if (rc == CL_OK)
			rc = partyconf_copy(c, item, "kind", 0, kind, sizeof(kind));
		if (rc == CL_OK && strcmp(kind, "node") && strcmp(kind, "coordinator"))
			return yconf_fail(c, yconf_get(c, item, "kind"),
					  "'kind' must be node or coordinator");
		/* A regional coordinator's records name their own agencies (docs/two-level.md). */
		nd->coordinator = !strcmp(kind, "coordinator");
		req = !nd->coordinator;
		if (rc == CL_OK)
			rc = partyconf_copy(c, item, "id", 1, nd->id, sizeof(nd->id));
		if (rc == CL_OK)
			rc = partyconf_copy(c, item, "agency_type", req, nd->agency_type,
					    sizeof(nd->agency_type));
		if (rc == CL_OK)
			rc = partyconf_copy(c, item, "municipality", req, nd->municipality,
					    sizeof(nd->municipality));
		if (rc == CL_OK)
			rc = partyconf_copy(c, item, "country", req, nd->country,
					    sizeof(nd->country));
		if (rc == CL_OK)
			rc = partyconf_address(c, item, "address", 1, nd->address,
					       sizeof(nd->address));
		if (rc != CL_OK)
			return rc;
		if (!partyconf_is_ident(nd->id))
			return yconf_fail(c, yconf_get(c, item, "id"),
					  "'id' must use a-z, 0-9, '-', '_' and '.'");
		if ((req || nd->country[0]) &&
		    (strlen(nd->country) != 2 || !isupper((unsigned char)nd->country[0]) ||
		     !isupper((unsigned char)nd->country[1])))
			return yconf_fail(c, yconf_get(c, item, "country"),
					  "'country' must be two capital letters");
		for (j = 0; j < i; j++)
			if (!strcmp(pc->nodes[j].id, nd->id))
				return yconf_fail(c, yconf_get(c, item, "id"),
						  "node id listed twice");
		pc->nnodes = i + 1;
	}
	return CL_OK;
}

/* A coordinator's two computing parties (party 1 and party 2, each once). */
static int partyconf_compute(struct yconf *c, int list, const char *confdir, struct partyconf *pc)
{
	static const char *const keys[] = {"party", "id", "address", "cert", NULL};
	size_t n = yconf_seq_len(c, list);

	if (!yconf_is_seq(c, list) || n != 2)
		return yconf_fail(c, list, "'compute' must list the two computing parties");
	for (size_t i = 0; i < n; i++) {
		int item = yconf_seq_item(c, list, i);
		long long party = 0;
		struct partyconf_compute *cp;
		int rc = yconf_only_keys(c, item, keys);

		if (rc == CL_OK)
			rc = yconf_get_int(c, item, "party", 1, 1, 2, &party);
		if (rc != CL_OK)
			return rc;
		cp = &pc->compute[party - 1];
		if (cp->party)
			return yconf_fail(c, item, "computing party %lld listed twice", party);
		cp->party = (unsigned)party;
		rc = partyconf_copy(c, item, "id", 1, cp->id, sizeof(cp->id));
		if (rc == CL_OK)
			rc = partyconf_address(c, item, "address", 1, cp->address,
					       sizeof(cp->address));
		if (rc == CL_OK)
			rc = partyconf_path(c, item, "cert", 1, confdir, cp->cert);
		if (rc != CL_OK)
			return rc;
		if (!partyconf_is_ident(cp->id))
			return yconf_fail(c, yconf_get(c, item, "id"),
					  "'id' must use a-z, 0-9, '-', '_' and '.'");
	}
	pc->ncompute = 2;
	return CL_OK;
}

/* Coordinator certificate names: a node's 'coordinators', a coordinator's 'upstream'. */
static int partyconf_coordinators(struct yconf *c, int list, const char *key,
				  char (*dst)[PARTYCONF_MAX_NAME], size_t *count)
{
	size_t i, n = yconf_seq_len(c, list);

	if (!yconf_is_seq(c, list))
		return yconf_fail(c, list, "'%s' must be a list of certificate names", key);
	if (n > PARTYCONF_MAX_LIST)
		return yconf_fail(c, list, "too many coordinators (at most %d)",
				  PARTYCONF_MAX_LIST);
	for (i = 0; i < n; i++) {
		int item = yconf_seq_item(c, list, i);
		const char *v = yconf_scalar(c, item);

		if (!v || !*v || strlen(v) >= PARTYCONF_MAX_NAME)
			return yconf_fail(c, item, "a coordinator must be a certificate name");
		memcpy(dst[i], v, strlen(v) + 1);
	}
	*count = n;
	return CL_OK;
}

/* The keyholder's registered nodes (certificate names) and its limits. */
static int partyconf_keyholder(struct yconf *c, int root, struct partyconf *pc)
{
	int list = yconf_get(c, root, "nodes"), rc;
	size_t i, j, n;

	pc->rate_per_minute = 100000;
	pc->daily_quota = 5000000;
	pc->max_batch = 10000;
	pc->retired_grace_seconds = 0;
	pc->workers = 4;
	rc = yconf_get_int(c, root, "rate_per_minute", 0, 1, 100000000, &pc->rate_per_minute);
	if (rc == CL_OK)
		rc = yconf_get_int(c, root, "daily_quota", 0, 1, 10000000000LL, &pc->daily_quota);
	if (rc == CL_OK)
		rc = yconf_get_int(c, root, "max_batch", 0, 1, 65536, &pc->max_batch);
	if (rc == CL_OK)
		rc = yconf_get_int(c, root, "retired_grace_seconds", 0, 0, 90LL * 86400,
				   &pc->retired_grace_seconds);
	if (rc == CL_OK)
		rc = yconf_get_int(c, root, "workers", 0, 1, 64, &pc->workers);
	if (rc != CL_OK)
		return rc;
	if (!list)
		return yconf_fail(c, root, "missing required key 'nodes'");
	n = yconf_seq_len(c, list);
	if (!yconf_is_seq(c, list))
		return yconf_fail(c, list, "'nodes' must be a list of certificate names");
	if (n > PARTYCONF_MAX_NODES)
		return yconf_fail(c, list, "too many nodes (at most %d)", PARTYCONF_MAX_NODES);
	pc->nodes = calloc(n ? n : 1, sizeof(*pc->nodes));
	if (!pc->nodes)
		return CL_ENOMEM;
	for (i = 0; i < n; i++) {
		int item = yconf_seq_item(c, list, i);
		const char *v = yconf_scalar(c, item);

		if (!v || !*v || strlen(v) >= PARTYCONF_MAX_NAME)
			return yconf_fail(c, item, "a node must be a certificate name");
		for (j = 0; j < i; j++)
			if (!strcmp(pc->nodes[j].id, v))
				return yconf_fail(c, item, "node listed twice");
		memcpy(pc->nodes[i].id, v, strlen(v) + 1);
		pc->nnodes = i + 1;
	}
	return CL_OK;
}

/* An optional coded value (lower-case letters, digits, '_', '-'), e.g. a legal basis code. */
static int partyconf_code(struct yconf *c, int map, const char *key, char *dst, size_t dstsz)
{
	const char *v = NULL;
	size_t i, n;
	int rc = yconf_get_str(c, map, key, 0, &v);

	if (rc != CL_OK || !v)
		return rc;
	n = strlen(v);
	if (n == 0 || n >= dstsz)
		return yconf_fail(c, yconf_get(c, map, key),
				  "'%s' must be a code of 1 to %zu bytes", key, dstsz - 1);
	for (i = 0; i < n; i++)
		if (!((v[i] >= 'a' && v[i] <= 'z') || (v[i] >= '0' && v[i] <= '9') || v[i] == '_' ||
		      v[i] == '-'))
			return yconf_fail(c, yconf_get(c, map, key),
					  "'%s' must be a code (a-z, 0-9, '_', '-')", key);
	memcpy(dst, v, n + 1);
	return CL_OK;
}

static int partyconf_parse(struct yconf *c, const char *confdir, struct partyconf *pc)
{
	static const char *const node_keys[] = {"listen",
						"tls",
						"insecure_demo",
						"coordinators",
						"keyholder",
						"coordinator_address",
						"legal_basis",
						"policy",
						"max_request_validity",
						NULL};
	static const char *const coord_keys[] = {"listen",
						 "tls",
						 "insecure_demo",
						 "deadline_ms",
						 "retries",
						 "nodes",
						 "keyholder",
						 "policy",
						 "upstream",
						 "coordinator_address",
						 "max_request_validity",
						 "compute",
						 NULL};
	static const char *const kh_keys[] = {
	    "listen",	   "tls",	"insecure_demo",	 "nodes",   "rate_per_minute",
	    "daily_quota", "max_batch", "retired_grace_seconds", "workers", "max_request_validity",
	    NULL};
	static const char *const tls_keys[] = {"ca", "cert", "key", "crl", NULL};
	const char *const *keys = pc->kind == PARTYCONF_NODE	      ? node_keys
				  : pc->kind == PARTYCONF_COORDINATOR ? coord_keys
								      : kh_keys;
	int root = yconf_root(c), tls, rc;

	if (!root || !yconf_is_map(c, root))
		return yconf_fail(c, root, "the configuration must be a mapping");
	rc = yconf_only_keys(c, root, keys);
	if (rc == CL_OK)
		rc = partyconf_address(c, root, "listen", 1, pc->listen, sizeof(pc->listen));
	pc->max_request_validity = PARTYCONF_MAX_VALIDITY_DEFAULT;
	if (rc == CL_OK)
		rc = yconf_get_int(c, root, "max_request_validity", 0, 1,
				   PARTYCONF_MAX_VALIDITY_LIMIT, &pc->max_request_validity);
	if (rc == CL_OK)
		rc = yconf_get_bool(c, root, "insecure_demo", 0, &pc->insecure_demo);
	if (rc != CL_OK)
		return rc;
	tls = yconf_get(c, root, "tls");
	if (!tls && !pc->insecure_demo)
		return yconf_fail(c, root, "missing 'tls' (plaintext needs 'insecure_demo: true')");
	if (tls) {
		rc = yconf_only_keys(c, tls, tls_keys);
		if (rc == CL_OK)
			rc = partyconf_path(c, tls, "ca", 1, confdir, pc->tls_ca);
		if (rc == CL_OK)
			rc = partyconf_path(c, tls, "cert", 1, confdir, pc->tls_cert);
		if (rc == CL_OK)
			rc = partyconf_path(c, tls, "key", 1, confdir, pc->tls_key);
		if (rc == CL_OK)
			rc = partyconf_path(c, tls, "crl", 0, confdir, pc->tls_crl);
		if (rc != CL_OK)
			return rc;
	}
	if (pc->kind != PARTYCONF_KEYHOLDER) {
		rc = partyconf_path(c, root, "policy", 0, confdir, pc->policy);
		if (rc != CL_OK)
			return rc;
		if (!yconf_get(c, root, "policy") && !pc->insecure_demo)
			return yconf_fail(c, root,
					  "missing 'policy' (running without one needs "
					  "'insecure_demo: true')");
		if (yconf_get(c, root, "policy") && !pc->policy[0])
			return yconf_fail(c, yconf_get(c, root, "policy"),
					  "'policy' must not be empty");
	}
	if (pc->kind == PARTYCONF_NODE) {
		int list = yconf_get(c, root, "coordinators");

		if (!list)
			return yconf_fail(c, root, "missing required key 'coordinators'");
		rc = partyconf_coordinators(c, list, "coordinators", pc->coordinators,
					    &pc->ncoordinators);
		if (rc == CL_OK)
			rc = partyconf_address(c, root, "keyholder", 0, pc->keyholder,
					       sizeof(pc->keyholder));
		if (rc == CL_OK)
			rc = partyconf_address(c, root, "coordinator_address", 0,
					       pc->coordinator_address,
					       sizeof(pc->coordinator_address));
		if (rc == CL_OK)
			rc = partyconf_code(c, root, "legal_basis", pc->legal_basis,
					    sizeof(pc->legal_basis));
		return rc;
	}
	if (pc->kind == PARTYCONF_COORDINATOR) {
		int list = yconf_get(c, root, "nodes"), up = yconf_get(c, root, "upstream");

		if (up) {
			rc =
			    partyconf_coordinators(c, up, "upstream", pc->upstream, &pc->nupstream);
			if (rc != CL_OK)
				return rc;
		}
		pc->deadline_ms = 5000;
		pc->retries = 1;
		rc = yconf_get_int(c, root, "deadline_ms", 0, 10, 600000, &pc->deadline_ms);
		if (rc == CL_OK)
			rc = yconf_get_int(c, root, "retries", 0, 0, 5, &pc->retries);
		if (rc == CL_OK)
			rc = partyconf_address(c, root, "keyholder", 0, pc->keyholder,
					       sizeof(pc->keyholder));
		if (rc == CL_OK) /* a regional: case requests go up (docs/two-level.md) */
			rc = partyconf_address(c, root, "coordinator_address", 0,
					       pc->coordinator_address,
					       sizeof(pc->coordinator_address));
		if (rc == CL_OK && yconf_get(c, root, "compute"))
			rc = partyconf_compute(c, yconf_get(c, root, "compute"), confdir, pc);
		if (rc != CL_OK)
			return rc;
		if (!list)
			return yconf_fail(c, root, "missing required key 'nodes'");
		return partyconf_nodes(c, list, pc);
	}
	return partyconf_keyholder(c, root, pc);
}

/* Parses a loaded document into a new configuration (relative paths against confdir). */
static int partyconf_build(struct yconf *c, const char *confdir, enum partyconf_kind kind,
			   struct partyconf **out, char *err, size_t errsz)
{
	struct partyconf *pc = calloc(1, sizeof(*pc));
	int rc;

	if (!pc)
		return CL_ENOMEM;
	pc->kind = kind;
	rc = partyconf_parse(c, confdir, pc);
	if (rc != CL_OK) {
		if (err && errsz)
			snprintf(err, errsz, "%s", yconf_error(c));
		partyconf_free(pc);
		return rc;
	}
	*out = pc;
	return CL_OK;
}

int partyconf_load(const char *path, enum partyconf_kind kind, struct partyconf **out, char *err,
		   size_t errsz)
{
	struct yconf *c = NULL;
	char confdir[PARTYCONF_MAX_PATH] = "";
	const char *slash;
	int rc;

	if (!path || !out)
		return CL_EINVAL;
	slash = strrchr(path, '/');
	if (slash) {
		size_t n = (size_t)(slash - path);

		if (n >= sizeof(confdir))
			return CL_ELIMIT;
		memcpy(confdir, path, n);
		confdir[n] = '\0';
		if (n == 0)
			strcpy(confdir, "/");
	}
	rc = yconf_load(path, &c, err, errsz);
	if (rc == CL_OK)
		rc = partyconf_build(c, confdir, kind, out, err, errsz);
	yconf_free(c);
	return rc;
}

int partyconf_load_mem(const char *name, const char *buf, size_t len, enum partyconf_kind kind,
		       struct partyconf **out, char *err, size_t errsz)
{
	struct yconf *c = NULL;
	int rc;

	if (!name || !buf || !out)
		return CL_EINVAL;
	rc = yconf_load_mem(name, buf, len, &c, err, errsz);
	if (rc == CL_OK)
		rc = partyconf_build(c, "", kind, out, err, errsz);
	yconf_free(c);
	return rc;
}

void partyconf_free(struct partyconf *pc)
{
	if (!pc)
		return;
	free(pc->nodes);
	free(pc);
}

const struct partyconf_node *partyconf_find_node(const struct partyconf *pc, const char *id)
{
	size_t i;

	for (i = 0; pc && id && i < pc->nnodes; i++)
		if (!strcmp(pc->nodes[i].id, id))
			return &pc->nodes[i];
	return NULL;
}
