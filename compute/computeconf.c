#include "compute/computeconf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cl_error.h"
#include "common/yconf.h"
#include "compute/compute_job.h"

/* Copies a scalar into a fixed buffer, failing with a located message when it does not fit. */
static int cc_copy(struct yconf *c, int map, const char *key, int required, char *dst, size_t dstsz)
{
	const char *v = NULL;
	int rc;

	rc = yconf_get_str(c, map, key, required, &v);
	if (rc != CL_OK || !v)
		return rc;
	if (strlen(v) >= dstsz)
		return yconf_fail(c, yconf_get(c, map, key), "'%s' is too long (at most %zu bytes)",
				  key, dstsz - 1);
	if (!*v)
		return yconf_fail(c, yconf_get(c, map, key), "'%s' must not be empty", key);
	memcpy(dst, v, strlen(v) + 1);
	return CL_OK;
}

/* Resolves a path relative to the directory of the configuration file. */
static int cc_path(struct yconf *c, int map, const char *key, int required, const char *confdir,
		   char *dst)
{
	char raw[PARTYCONF_MAX_PATH] = "";
	int rc, n;

	rc = cc_copy(c, map, key, required, raw, sizeof(raw));
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

/* host:port with a port in 1..65535 (0 too for the listen address: tests pick one). */
static int cc_address(struct yconf *c, int map, const char *key, int zero_ok, char *dst,
		      size_t dstsz)
{
	const char *colon;
	char *end = NULL;
	long port;
	int rc;

	rc = cc_copy(c, map, key, 1, dst, dstsz);
	if (rc != CL_OK)
		return rc;
	colon = strrchr(dst, ':');
	if (!colon || colon == dst)
		return yconf_fail(c, yconf_get(c, map, key), "'%s' must be HOST:PORT", key);
	port = strtol(colon + 1, &end, 10);
	if (end == colon + 1 || *end || port < (zero_ok ? 0 : 1) || port > 65535)
		return yconf_fail(c, yconf_get(c, map, key), "'%s' has a bad port", key);
	return CL_OK;
}

/* A party block: {id, address}. */
static int cc_party(struct yconf *c, int root, const char *key, struct computeconf_party *p)
{
	static const char *const keys[] = {"id", "address", NULL};
	int node = yconf_get(c, root, key), rc;

	if (!node)
		return yconf_fail(c, root, "missing required key '%s'", key);
	if (!yconf_is_map(c, node))
		return yconf_fail(c, node, "'%s' must be a mapping with id and address", key);
	rc = yconf_only_keys(c, node, keys);
	if (rc == CL_OK)
		rc = cc_copy(c, node, "id", 1, p->id, sizeof(p->id));
	if (rc == CL_OK)
		rc = cc_address(c, node, "address", 0, p->address, sizeof(p->address));
	return rc;
}

static int cc_tls(struct yconf *c, int root, const char *confdir, struct computeconf *cc)
{
	static const char *const keys[] = {"ca", "cert", "key", "crl", NULL};
	int tls = yconf_get(c, root, "tls"), rc;

	if (!tls && !cc->insecure_demo)
		return yconf_fail(c, root, "missing 'tls' (plaintext needs 'insecure_demo: true')");
	if (!tls)
		return CL_OK;
	rc = yconf_only_keys(c, tls, keys);
	if (rc == CL_OK)
		rc = cc_path(c, tls, "ca", 1, confdir, cc->tls_ca);
	if (rc == CL_OK)
		rc = cc_path(c, tls, "cert", 1, confdir, cc->tls_cert);
	if (rc == CL_OK)
		rc = cc_path(c, tls, "key", 1, confdir, cc->tls_key);
	if (rc == CL_OK)
		rc = cc_path(c, tls, "crl", 0, confdir, cc->tls_crl);
	return rc;
}

static int cc_limits(struct yconf *c, int root, struct computeconf *cc)
{
	int rc;

	cc->timeout_ms = 30000;
	cc->max_job_bytes = COMPUTE_JOB_MAX;
	cc->max_buffered_bytes = 64LL << 20;
	cc->max_computations = 2;
	cc->drain_ms = 30000;
	rc = yconf_get_int(c, root, "timeout_ms", 0, 100, 600000, &cc->timeout_ms);
	if (rc == CL_OK)
		rc = yconf_get_int(c, root, "max_job_bytes", 0, 1024, COMPUTE_JOB_MAX,
				   &cc->max_job_bytes);
	if (rc == CL_OK)
		rc = yconf_get_int(c, root, "max_buffered_bytes", 0, 4LL << 20, 1024LL << 20,
				   &cc->max_buffered_bytes);
	if (rc == CL_OK)
		rc = yconf_get_int(c, root, "max_computations", 0, 1, COMPUTECONF_COMPS_MAX,
				   &cc->max_computations);
	if (rc == CL_OK)
		rc = yconf_get_int(c, root, "drain_ms", 0, 0, 600000, &cc->drain_ms);
	return rc;
}

static int cc_parse(struct yconf *c, const char *confdir, struct computeconf *cc)
{
	static const char *const keys[] = {
	    "party",	"listen",     "tls",	       "insecure_demo",	     "coordinator",
	    "peer",	"timeout_ms", "max_job_bytes", "max_buffered_bytes", "max_computations",
	    "drain_ms", NULL};
	int root = yconf_root(c), rc;
	long long party = 0;

	if (!root || !yconf_is_map(c, root))
		return yconf_fail(c, root, "the configuration must be a mapping");
	rc = yconf_only_keys(c, root, keys);
	if (rc == CL_OK)
		rc = yconf_get_int(c, root, "party", 1, 1, 2, &party);
	if (rc == CL_OK)
		rc = cc_address(c, root, "listen", 1, cc->listen, sizeof(cc->listen));
	if (rc == CL_OK)
		rc = yconf_get_bool(c, root, "insecure_demo", 0, &cc->insecure_demo);
	if (rc == CL_OK)
		rc = cc_tls(c, root, confdir, cc);
	if (rc == CL_OK)
		rc = cc_party(c, root, "coordinator", &cc->coordinator);
	if (rc == CL_OK)
		rc = cc_party(c, root, "peer", &cc->peer);
	if (rc == CL_OK)
		rc = cc_limits(c, root, cc);
	if (rc != CL_OK)
		return rc;
	cc->party = (unsigned)party;
	if (!strcmp(cc->coordinator.id, cc->peer.id))
		return yconf_fail(c, yconf_get(c, root, "peer"),
				  "the peer and the coordinator must be different parties");
	return CL_OK;
}

static int cc_build(struct yconf *c, const char *confdir, struct computeconf **out, char *err,
		    size_t errsz)
{
	struct computeconf *cc = calloc(1, sizeof(*cc));
	int rc;

	if (!cc)
		return CL_ENOMEM;
	rc = cc_parse(c, confdir, cc);
	if (rc != CL_OK) {
		if (err && errsz)
			snprintf(err, errsz, "%s", yconf_error(c));
		computeconf_free(cc);
		return rc;
	}
	*out = cc;
	return CL_OK;
}

int computeconf_load(const char *path, struct computeconf **out, char *err, size_t errsz)
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
		rc = cc_build(c, confdir, out, err, errsz);
	yconf_free(c);
	return rc;
}

int computeconf_load_mem(const char *name, const char *buf, size_t len, struct computeconf **out,
			 char *err, size_t errsz)
{
	struct yconf *c = NULL;
	int rc;

	if (!name || !buf || !out)
		return CL_EINVAL;
	rc = yconf_load_mem(name, buf, len, &c, err, errsz);
	if (rc == CL_OK)
		rc = cc_build(c, "", out, err, errsz);
	yconf_free(c);
	return rc;
}

void computeconf_free(struct computeconf *cc)
{
	free(cc);
}
