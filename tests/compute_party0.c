/*
 * compute_party0 — party 0 of a secure computation for the integration tests
 * (tests/integration/test_compute.sh): the coordinator's side, built from the
 * same modules the coordinator links (mpc_rpc, mpc_coord). It serves
 * Compute.Exchange, starts the demonstration job (compute_job.h) at both
 * computing parties over mutual TLS, and checks the opened result against
 * x + y computed here from the plain inputs, from every pair of parties.
 *
 * usage: compute_party0 --tls-dir DIR --name ID --listen ADDR
 *          --p1 ID@ADDR --p2 ID@ADDR [--job ring|mul] [--n N] [--rounds R]
 *          [--timeout-ms T] [--ready-file FILE]
 * --job ring (default) runs the transport-only job, --job mul the engine's
 * z = x * y + x opened to party 0 (compute_job.h), checked against z computed here.
 * Prints "computation ok: ..." and exits 0, or "computation failed: WHY" and exits 1
 * (2 for usage). With --ready-file it writes the file once serving and waits for a
 * line on stdin before it starts (so a test can start the computing parties first).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/rand.h>

#include "common/cl_error.h"
#include "compute/compute_job.h"
#include "compute/mpc_coord.h"
#include "compute/mpc_rpc.h"
#include "protocol/party.h"

struct p0_opts {
	const char *tls_dir, *name, *listen, *peer[MPC_PARTIES], *ready, *job;
	size_t n;
	unsigned rounds, timeout_ms;
	int mul; /* --job mul: the engine's multiplication (CLJ2); ring by default (CLJ1) */
};

static int p0_usage(void)
{
	fprintf(stderr, "usage: compute_party0 --tls-dir DIR --name ID --listen ADDR --p1 ID@ADDR "
			"--p2 ID@ADDR [--job ring|mul] [--n N] [--rounds R] [--timeout-ms T] "
			"[--ready-file F]\n");
	return 2;
}

static int p0_parse(int argc, char **argv, struct p0_opts *o)
{
	int i;

	memset(o, 0, sizeof(*o));
	o->n = 1000;
	o->rounds = 3;
	for (i = 1; i + 1 < argc; i += 2) {
		const char *k = argv[i], *v = argv[i + 1];

		if (!strcmp(k, "--tls-dir"))
			o->tls_dir = v;
		else if (!strcmp(k, "--name"))
			o->name = v;
		else if (!strcmp(k, "--listen"))
			o->listen = v;
		else if (!strcmp(k, "--p1"))
			o->peer[1] = v;
		else if (!strcmp(k, "--p2"))
			o->peer[2] = v;
		else if (!strcmp(k, "--n"))
			o->n = strtoul(v, NULL, 10);
		else if (!strcmp(k, "--rounds"))
			o->rounds = (unsigned)strtoul(v, NULL, 10);
		else if (!strcmp(k, "--timeout-ms"))
			o->timeout_ms = (unsigned)strtoul(v, NULL, 10);
		else if (!strcmp(k, "--ready-file"))
			o->ready = v;
		else if (!strcmp(k, "--job"))
			o->job = v;
		else
			return CL_EUSAGE;
	}
	if (i != argc || !o->tls_dir || !o->name || !o->listen || !o->peer[1] || !o->peer[2] ||
	    !o->n || (o->job && strcmp(o->job, "ring") && strcmp(o->job, "mul")))
		return CL_EUSAGE;
	o->mul = o->job && !strcmp(o->job, "mul");
	return CL_OK;
}

/* Splits "ID@ADDR" into a party entry. */
static int p0_party(const char *spec, struct mpc_rpc_party *p)
{
	const char *at = strchr(spec, '@');

	if (!at || at == spec || (size_t)(at - spec) > RPC_PEER_ID_MAX ||
	    strlen(at + 1) >= sizeof(p->address))
		return CL_EUSAGE;
	memcpy(p->id, spec, (size_t)(at - spec));
	p->id[at - spec] = '\0';
	snprintf(p->address, sizeof(p->address), "%s", at + 1);
	return CL_OK;
}

static int p0_tls(const struct p0_opts *o, struct party_tls **tls)
{
	char ca[1024], cert[1024], key[1024], crl[1024], err[512] = "";
	int rc;

	snprintf(ca, sizeof(ca), "%s/ca.pem", o->tls_dir);
	snprintf(cert, sizeof(cert), "%s/%s.pem", o->tls_dir, o->name);
	snprintf(key, sizeof(key), "%s/%s.key", o->tls_dir, o->name);
	snprintf(crl, sizeof(crl), "%s/crl.pem", o->tls_dir);
	rc = party_tls_load(ca, cert, key, crl, tls, err, sizeof(err));
	if (rc != CL_OK)
		fprintf(stderr, "compute_party0: %s\n", err);
	return rc;
}

/* Opens z from every pair of parties and compares it with x + y. */
static int p0_check(const struct mpc_coord_result *res, const uint64_t *x, const uint64_t *y,
		    size_t n, uint64_t *z)
{
	static const unsigned pairs[3][2] = {{0, 1}, {1, 2}, {2, 0}};
	size_t i, k;

	for (k = 0; k < 3; k++) {
		unsigned a = pairs[k][0], b = pairs[k][1];

		if (compute_demo_open(a, res->out[a], res->out_len[a], b, res->out[b],
				      res->out_len[b], z, n) != CL_OK) {
			printf("computation failed: outputs of parties %u and %u do not open\n", a,
			       b);
			return CL_EPROTO;
		}
		for (i = 0; i < n; i++)
			if (z[i] != x[i] + y[i]) {
				printf("computation failed: value %zu opened by parties %u and %u "
				       "is wrong\n",
				       i, a, b);
				return CL_EPROTO;
			}
	}
	return CL_OK;
}

/* The engine's job: z = x * y + x at party 0, and from parties 1 and 2's shares. */
static int p0_check_mul(const struct mpc_coord_result *res, const uint64_t *x, const uint64_t *y,
			size_t n, uint64_t *z)
{
	size_t i;
	int k;

	for (k = 0; k < 2; k++) {
		if (compute_demo_mul_read(k ? NULL : res->out[0], res->out_len[0], res->out[1],
					  res->out_len[1], res->out[2], res->out_len[2], z,
					  n) != CL_OK) {
			printf("computation failed: malformed %s\n",
			       k ? "shares of parties 1 and 2" : "opening at party 0");
			return CL_EPROTO;
		}
		for (i = 0; i < n; i++)
			if (z[i] != x[i] * y[i] + x[i]) {
				printf("computation failed: value %zu %s is wrong\n", i,
				       k ? "from the shares of parties 1 and 2"
					 : "opened at party 0");
				return CL_EPROTO;
			}
	}
	return CL_OK;
}

static int p0_start_server(const struct p0_opts *o, struct mpc_rpc *t, struct party_tls *tls,
			   struct rpc_server **srv, int *port)
{
	struct rpc_server_config sc;
	int rc;

	memset(&sc, 0, sizeof(sc));
	sc.listen_addr = o->listen;
	sc.max_message_bytes = MPC_NET_MAX_MESSAGE + MPC_RPC_MSG_OVERHEAD;
	sc.workers = 6;
	party_tls_fill(tls, &sc.tls);
	rc = rpc_server_new(&sc, srv);
	if (rc == CL_OK)
		rc = mpc_rpc_register(t, *srv);
	if (rc == CL_OK)
		rc = rpc_server_start(*srv, port);
	return rc;
}

static int p0_channels(const struct mpc_rpc_config *mc, struct rpc_channel *ch[MPC_PARTIES])
{
	struct rpc_channel_config cc;
	unsigned p;
	int rc = CL_OK;

	for (p = 1; p < MPC_PARTIES && rc == CL_OK; p++) {
		memset(&cc, 0, sizeof(cc));
		cc.target = mc->parties[p].address;
		cc.tls = mc->tls;
		cc.expected_roles = RPC_ROLE_COMPUTE;
		cc.expected_id = mc->parties[p].id;
		cc.max_message_bytes = COMPUTE_JOB_MAX + (64u << 10);
		rc = rpc_channel_new(&cc, &ch[p]);
	}
	return rc;
}

static int p0_wait_go(const struct p0_opts *o, int port)
{
	char line[16];
	FILE *f;

	if (!o->ready)
		return CL_OK;
	f = fopen(o->ready, "w");
	if (!f)
		return CL_EIO;
	fprintf(f, "127.0.0.1:%d\n", port);
	fclose(f);
	return fgets(line, sizeof(line), stdin) ? CL_OK : CL_EIO;
}

int main(int argc, char **argv)
{
	struct p0_opts o;
	struct mpc_rpc_config mc;
	struct mpc_rpc *t = NULL;
	struct party_tls *tls = NULL;
	struct rpc_server *srv = NULL;
	struct rpc_channel *ch[MPC_PARTIES] = {NULL, NULL, NULL};
	struct mpc_coord_job job;
	struct mpc_coord_result res;
	Caselink__V1__ComputeQuery q = CASELINK__V1__COMPUTE_QUERY__INIT;
	uint64_t *x = NULL, *y = NULL, *z = NULL;
	uint8_t *jobs[MPC_PARTIES] = {NULL, NULL, NULL}, id[16], qid[16];
	size_t lens[MPC_PARTIES] = {0, 0, 0}, i;
	int port = 0, rc;
	unsigned p;

	if (p0_parse(argc, argv, &o) != CL_OK)
		return p0_usage();
	memset(&mc, 0, sizeof(mc));
	memset(&res, 0, sizeof(res));
	snprintf(mc.parties[0].id, sizeof(mc.parties[0].id), "%s", o.name);
	if (p0_party(o.peer[1], &mc.parties[1]) || p0_party(o.peer[2], &mc.parties[2]))
		return p0_usage();
	mc.timeout_ms = o.timeout_ms;
	rc = rpc_signals_block();
	if (rc == CL_OK)
		rc = p0_tls(&o, &tls);
	if (rc != CL_OK)
		goto out;
	party_tls_fill(tls, &mc.tls);
	rc = mpc_rpc_new(&mc, &t);
	if (rc == CL_OK)
		rc = p0_start_server(&o, t, tls, &srv, &port);
	if (rc == CL_OK)
		rc = p0_channels(&mc, ch);
	if (rc == CL_OK)
		rc = p0_wait_go(&o, port);
	x = calloc(o.n, sizeof(*x));
	y = calloc(o.n, sizeof(*y));
	z = calloc(o.n, sizeof(*z));
	if (rc == CL_OK && (!x || !y || !z))
		rc = CL_ENOMEM;
	if (rc == CL_OK && (RAND_bytes((unsigned char *)x, (int)(o.n * 8)) != 1 ||
			    RAND_bytes((unsigned char *)y, (int)(o.n * 8)) != 1 ||
			    RAND_bytes(id, sizeof(id)) != 1 || RAND_bytes(qid, sizeof(qid)) != 1))
		rc = CL_ECRYPTO;
	if (rc == CL_OK)
		rc = o.mul ? compute_demo_mul_jobs(x, y, o.n, jobs, lens)
			   : compute_demo_jobs(x, y, o.n, o.rounds, jobs, lens);
	if (rc != CL_OK) {
		fprintf(stderr, "compute_party0: setup: %s\n", cl_strerror(rc));
		goto out;
	}
	q.measure = "DEMO";
	q.period_from = "2025-01-01";
	q.period_to = "2026-01-01";
	q.query_request_id.data = qid;
	q.query_request_id.len = sizeof(qid);
	memset(&job, 0, sizeof(job));
	job.id = id;
	job.id_len = sizeof(id);
	job.query = &q;
	for (p = 0; p < MPC_PARTIES; p++) {
		job.job[p] = jobs[p];
		job.job_len[p] = lens[p];
	}
	job.timeout_ms = o.timeout_ms;
	job.requester_id = o.name;
	job.purpose = "monitoring";
	job.legal_basis = "test";
	rc = mpc_coord_run(t, ch, &job, &res);
	if (rc != CL_OK) {
		printf("computation failed: %s (%s)\n", res.why, cl_errname(rc));
		goto out;
	}
	if (o.mul) {
		rc = p0_check_mul(&res, x, y, o.n, z);
		if (rc == CL_OK)
			printf("computation ok: engine job n=%zu: x*y+x opened at party 0 and from "
			       "the "
			       "shares of parties 1 and 2 equals x*y+x computed here; bytes sent "
			       "%llu %llu %llu\n",
			       o.n, (unsigned long long)res.bytes_sent[0],
			       (unsigned long long)res.bytes_sent[1],
			       (unsigned long long)res.bytes_sent[2]);
		goto out;
	}
	rc = p0_check(&res, x, y, o.n, z);
	if (rc == CL_OK) {
		for (i = 0; i < MPC_PARTIES; i++)
			if (res.bytes_sent[i] != (uint64_t)o.n * 8 * o.rounds)
				rc = CL_EPROTO;
		printf("computation ok: n=%zu rounds=%u opened from every pair equals x+y; bytes "
		       "sent %llu %llu %llu%s\n",
		       o.n, o.rounds, (unsigned long long)res.bytes_sent[0],
		       (unsigned long long)res.bytes_sent[1], (unsigned long long)res.bytes_sent[2],
		       rc == CL_OK ? "" : " (not n*8*rounds each: wrong)");
	}
out:
	mpc_coord_result_clear(&res);
	for (p = 0; p < MPC_PARTIES; p++) {
		free(jobs[p]);
		rpc_channel_free(ch[p]);
	}
	rpc_server_free(srv);
	mpc_rpc_free(t);
	party_tls_free(tls);
	free(x);
	free(y);
	free(z);
	return rc == CL_OK ? 0 : 1;
}
