/*
 * caselink status — asks a party (node, coordinator or keyholder) for its
 * Status over mutual TLS: who it is, its software and schema version, its
 * clock and whether it is ready. Exit 0 when ready, 1 otherwise (health checks).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/cl_error.h"
#include "protocol/party.h"
#include "protocol/client.h"
#include "protocol/rpc.h"
#include "tools/cli.h"

#define STATUS_DEADLINE_MS 5000

static void status_usage(void)
{
	fprintf(stderr,
		"usage: caselink status --target HOST:PORT --service "
		"node|coordinator|keyholder|compute\n"
		"         (--tls-dir DIR --name ID [--server-name NAME] | --insecure-demo)\n"
		"  --server-name: the name in the party's certificate (default: coordinator for\n"
		"  the coordinator; required for a node or the keyholder)\n");
}

int status_main(int argc, char **argv)
{
	const char *target = NULL, *service = NULL, *dir = NULL, *name = NULL, *server = NULL,
		   *method = NULL;
	char path[3][CLIENT_PATH_MAX], err[512] = "", id[RPC_PEER_ID_MAX] = "",
				       role[RPC_PEER_ROLE_MAX] = "";
	Caselink__V1__StatusRequest sr = CASELINK__V1__STATUS_REQUEST__INIT;
	Caselink__V1__RequestHeader h = CASELINK__V1__REQUEST_HEADER__INIT;
	Caselink__V1__Identity who = CASELINK__V1__IDENTITY__INIT;
	Caselink__V1__StatusResponse *resp = NULL;
	struct party_tls *tls = NULL;
	struct rpc_channel *ch = NULL;
	struct rpc_channel_config cc;
	struct rpc_status st;
	uint8_t rid[PARTY_REQUEST_ID_LEN], *req = NULL, *out = NULL;
	size_t req_len, out_len = 0;
	unsigned expected = 0;
	int insecure = 0, i, rc;

	for (i = 1; i < argc; i++) {
		const char **opt = NULL;

		if (!strcmp(argv[i], "--insecure-demo")) {
			insecure = 1;
			continue;
		}
		if (!strcmp(argv[i], "--target"))
			opt = &target;
		else if (!strcmp(argv[i], "--service"))
			opt = &service;
		else if (!strcmp(argv[i], "--tls-dir"))
			opt = &dir;
		else if (!strcmp(argv[i], "--name"))
			opt = &name;
		else if (!strcmp(argv[i], "--server-name"))
			opt = &server;
		if (!opt || i + 1 >= argc) {
			fprintf(stderr, "caselink status: unknown or incomplete option '%.40s'\n",
				argv[i]);
			status_usage();
			return 2;
		}
		*opt = argv[++i];
	}
	if (service && !strcmp(service, "node")) {
		method = RPC_METHOD_NODE_STATUS;
		expected = RPC_ROLE_NODE;
	} else if (service && !strcmp(service, "coordinator")) {
		method = RPC_METHOD_COORDINATOR_STATUS;
		expected = RPC_ROLE_COORDINATOR;
		if (!server)
			server = "coordinator";
	} else if (service && !strcmp(service, "keyholder")) {
		method = RPC_METHOD_KEYHOLDER_STATUS;
		expected = RPC_ROLE_KEYHOLDER;
	} else if (service && !strcmp(service, "compute")) {
		method = RPC_METHOD_COMPUTE_STATUS;
		expected = RPC_ROLE_COMPUTE;
	}
	if (!target || !method || (!insecure && (!dir || !name || !server))) {
		status_usage();
		return 2;
	}
	memset(&cc, 0, sizeof(cc));
	cc.target = target;
	cc.insecure_demo = insecure;
	if (!insecure) {
		rc = client_tls_paths(dir, name, path);
		if (rc == CL_OK)
			rc = client_identity_load(path[0], path[1], path[2], NULL, &tls, id, role,
						  NULL, err, sizeof(err));
		if (rc != CL_OK) {
			fprintf(stderr, "caselink status: %s\n", *err ? err : cl_strerror(rc));
			return 2;
		}
		party_tls_fill(tls, &cc.tls);
		cc.server_name = server;
		cc.expected_roles = expected;
	}
	rc = party_header_fill(&h, &who, rid, "health_check", "operations", id, role);
	if (rc != CL_OK)
		goto out;
	sr.header = &h;
	req_len = caselink__v1__status_request__get_packed_size(&sr);
	req = malloc(req_len ? req_len : 1);
	if (!req) {
		rc = CL_ENOMEM;
		goto out;
	}
	caselink__v1__status_request__pack(&sr, req);
	rc = rpc_channel_new(&cc, &ch);
	if (rc == CL_OK)
		rc = rpc_call_unary(ch, method, req, req_len, STATUS_DEADLINE_MS, &out, &out_len,
				    &st);
	if (rc != CL_OK) {
		fprintf(stderr, "caselink status: %s unreachable or refused: %s\n", target,
			st.message[0] ? st.message : cl_strerror(rc));
		goto out;
	}
	resp = caselink__v1__status_response__unpack(NULL, out_len, out);
	if (!resp || !resp->party) {
		fprintf(stderr, "caselink status: malformed answer from %s\n", target);
		rc = CL_EPROTO;
		goto out;
	}
	printf(
	    "party=%s role=%s version=\"%s\" schema=%u key_epoch=%u clock_skew_s=%lld ready=%s\n",
	    resp->party->id, resp->party->role, resp->software_version, resp->schema_version,
	    resp->key_epoch, (long long)(resp->now - (int64_t)time(NULL)),
	    resp->ready ? "yes" : "no");
	if (!resp->ready || resp->schema_version != CASELINK_SCHEMA_VERSION)
		rc = CL_EUNAVAIL;
out:
	caselink__v1__status_response__free_unpacked(resp, NULL);
	free(out);
	free(req);
	rpc_channel_free(ch);
	party_tls_free(tls);
	return rc == CL_OK ? 0 : 1;
}
