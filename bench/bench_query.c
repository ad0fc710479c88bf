/*
 * bench_query — latency and throughput of `incident_events` through a
 * running coordinator: CLIENTS threads each send REQUESTS queries one after
 * another over mutual TLS (as a user certificate) and the program prints
 * p50/p99/max latency and queries per second.
 *
 * usage: bench_query --coordinator HOST:PORT --tls-dir DIR --name ID
 *                    [--clients 1] [--requests 200] [--from D] [--to D] [--by LIST]
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench/benchutil.h"
#include "common/cl_error.h"
#include "protocol/client.h"
#include "protocol/party.h"
#include "protocol/rpc.h"
#include "protocol/sign.h"

#define BENCH_MAX_CLIENTS 64

/* What every request of the run asks; each request gets its own id and signature. */
struct bench_query {
	const struct sign_key *signer;
	const char *id, *role, *from, *to;
	char **group_by;
	size_t nby;
};

struct bench_client {
	struct rpc_channel *ch;
	const struct bench_query *bq;
	int requests;
	double *lat_ms; /* requests entries */
	int errors;
	size_t rows;
};

static int bench_count(const uint8_t *msg, size_t len, void *user)
{
	struct bench_client *c = user;
	Caselink__V1__QueryResponse *r = caselink__v1__query_response__unpack(NULL, len, msg);

	if (!r)
		return 1;
	if (r->chunk_case == CASELINK__V1__QUERY_RESPONSE__CHUNK_ROWS)
		c->rows += r->rows->n_rows;
	caselink__v1__query_response__free_unpacked(r, NULL);
	return 0;
}

/* One signed incident_events request of the run (a fresh id and signature). */
static int bench_request(const struct bench_query *bq, uint8_t **out, size_t *out_len)
{
	return benchutil_request(bq->signer, bq->id, bq->role, "incident_events", bq->from, bq->to,
				 bq->group_by, bq->nby, out, out_len);
}

static void *bench_run(void *arg)
{
	struct bench_client *c = arg;
	struct rpc_status st;
	int i;

	for (i = 0; i < c->requests; i++) {
		double t0 = benchutil_now();
		uint8_t *req = NULL;
		size_t len = 0;

		if (bench_request(c->bq, &req, &len) != CL_OK ||
		    rpc_call_stream(c->ch, RPC_METHOD_COORDINATOR_QUERY, req, len, 10000,
				    bench_count, c, NULL, &st) != CL_OK)
			c->errors++;
		c->lat_ms[i] = (benchutil_now() - t0) * 1000.0;
		free(req);
	}
	return NULL;
}

int main(int argc, char **argv)
{
	const char *coord = NULL, *dir = NULL, *name = NULL, *from = "2025-01-01",
		   *to = "2026-01-01";
	char *by = NULL, *group_by[5], path[3][CLIENT_PATH_MAX], err[256] = "",
	     id_text[RPC_PEER_ID_MAX] = "", role[RPC_PEER_ROLE_MAX] = "";
	int clients = 1, requests = 200, i, rc, errors = 0;
	size_t nby = 0, total = 0, k;
	struct party_tls *tls = NULL;
	struct bench_client cl[BENCH_MAX_CLIENTS];
	pthread_t th[BENCH_MAX_CLIENTS];
	struct sign_key *signer = NULL;
	struct bench_query bq;
	double t0, elapsed, *all = NULL;

	for (i = 1; i + 1 < argc; i += 2) {
		if (!strcmp(argv[i], "--coordinator"))
			coord = argv[i + 1];
		else if (!strcmp(argv[i], "--tls-dir"))
			dir = argv[i + 1];
		else if (!strcmp(argv[i], "--name"))
			name = argv[i + 1];
		else if (!strcmp(argv[i], "--clients"))
			clients = atoi(argv[i + 1]);
		else if (!strcmp(argv[i], "--requests"))
			requests = atoi(argv[i + 1]);
		else if (!strcmp(argv[i], "--from"))
			from = argv[i + 1];
		else if (!strcmp(argv[i], "--to"))
			to = argv[i + 1];
		else if (!strcmp(argv[i], "--by"))
			by = argv[i + 1];
	}
	if (!coord || !dir || !name || clients < 1 || clients > BENCH_MAX_CLIENTS || requests < 1) {
		fprintf(stderr,
			"usage: bench_query --coordinator HOST:PORT --tls-dir DIR --name ID "
			"[--clients N] [--requests N] [--from D] [--to D] [--by LIST]\n");
		return 2;
	}
	for (char *save = NULL, *t = by ? strtok_r(by, ",", &save) : NULL; t && nby < 5;
	     t = strtok_r(NULL, ",", &save))
		group_by[nby++] = t;
	rc = client_tls_paths(dir, name, path);
	if (rc == CL_OK)
		rc = client_identity_load(path[0], path[1], path[2], NULL, &tls, id_text, role,
					  &signer, err, sizeof(err));
	if (rc != CL_OK) {
		fprintf(stderr, "bench_query: %s\n", *err ? err : cl_strerror(rc));
		return 1;
	}
	bq.signer = signer;
	bq.id = id_text;
	bq.role = role;
	bq.from = from;
	bq.to = to;
	bq.group_by = group_by;
	bq.nby = nby;
	all = calloc((size_t)clients * (size_t)requests, sizeof(*all));
	if (!all)
		return 1;
	memset(cl, 0, sizeof(cl));
	for (i = 0; i < clients; i++) {
		struct rpc_channel_config cc;

		memset(&cc, 0, sizeof(cc));
		cc.target = coord;
		party_tls_fill(tls, &cc.tls);
		cc.server_name = "coordinator";
		cc.expected_roles = RPC_ROLE_COORDINATOR;
		if (rpc_channel_new(&cc, &cl[i].ch) != CL_OK)
			return 1;
		cl[i].bq = &bq;
		cl[i].requests = requests;
		cl[i].lat_ms = all + (size_t)i * (size_t)requests;
	}
	/* Warm up every channel (TLS handshakes) before timing. */
	for (i = 0; i < clients; i++) {
		struct rpc_status st;
		uint8_t *req = NULL;
		size_t len = 0;

		if (bench_request(&bq, &req, &len) == CL_OK)
			rpc_call_stream(cl[i].ch, RPC_METHOD_COORDINATOR_QUERY, req, len, 10000,
					bench_count, &cl[i], NULL, &st);
		free(req);
		cl[i].rows = 0;
	}
	t0 = benchutil_now();
	for (i = 0; i < clients; i++)
		pthread_create(&th[i], NULL, bench_run, &cl[i]);
	for (i = 0; i < clients; i++)
		pthread_join(th[i], NULL);
	elapsed = benchutil_now() - t0;
	for (i = 0; i < clients; i++) {
		errors += cl[i].errors;
		total += cl[i].rows;
		rpc_channel_free(cl[i].ch);
	}
	k = (size_t)clients * (size_t)requests;
	benchutil_sort(all, k);
	printf("clients=%d requests=%zu errors=%d rows_per_answer=%zu p50_ms=%.2f p99_ms=%.2f "
	       "max_ms=%.2f qps=%.1f\n",
	       clients, k, errors, total / k, benchutil_pct(all, k, 50), benchutil_pct(all, k, 99),
	       all[k - 1], (double)k / elapsed);
	free(all);
	sign_key_free(signer);
	party_tls_free(tls);
	return errors ? 1 : 0;
}
