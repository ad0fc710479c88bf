/*
 * bench_load — sustained load on a running coordinator: CLIENTS threads, each
 * with its own mutual-TLS channel (a user certificate), send queries back to
 * back for SECONDS; every LINKED_EVERY-th request of a client is the linked
 * measure LINKED (nodes answer with tokens, the coordinator links), the others
 * are incident_events. A sampler thread reads the coordinator's resident set
 * (/proc/PID/status VmRSS) once a second. Prints requests, errors (failed
 * calls, and answers that did not cover every node), p50/p95/p99/max latency
 * per kind and overall, and RSS first/last/max. Exit 1 when any request failed.
 *
 * usage: bench_load --coordinator HOST:PORT --tls-dir DIR --name ID --from D --to D
 *                   [--clients 100] [--seconds 60] [--linked M2] [--linked-every 10]
 *                   [--pid COORDINATOR_PID] [--rss-log FILE]
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

#define LOAD_MAX_CLIENTS 256
#define LOAD_MAX_SAMPLES 3600
#define LOAD_KINDS	 2 /* 0: incident_events, 1: linked */

struct load_query {
	const struct sign_key *signer;
	const char *id, *role, *from, *to, *linked;
	const struct rpc_tls *tls;
	const char *coord;
	int linked_every;
	double until; /* monotonic seconds */
};

struct load_lat {
	double *ms;
	size_t n, cap;
};

struct load_client {
	const struct load_query *lq;
	struct load_lat lat[LOAD_KINDS];
	size_t errors, partial;
	char first_error[160];
	/* per call */
	int have_coverage, covered;
};

struct load_rss {
	long pid;
	double until;
	long kib[LOAD_MAX_SAMPLES];
	size_t n;
	FILE *log;
};

static int load_push(struct load_lat *l, double ms)
{
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 1024;
		double *p;

		if (cap > SIZE_MAX / sizeof(*p))
			return CL_EOVERFLOW;
		p = realloc(l->ms, cap * sizeof(*p));
		if (!p)
			return CL_ENOMEM;
		l->ms = p;
		l->cap = cap;
	}
	l->ms[l->n++] = ms;
	return 0;
}

static int load_on_message(const uint8_t *msg, size_t len, void *user)
{
	struct load_client *c = user;
	Caselink__V1__QueryResponse *r = caselink__v1__query_response__unpack(NULL, len, msg);

	if (!r)
		return 1;
	if (r->chunk_case == CASELINK__V1__QUERY_RESPONSE__CHUNK_COVERAGE && r->coverage) {
		c->have_coverage = 1;
		c->covered = r->coverage->nodes_answered == r->coverage->nodes_asked;
		if (r->coverage->n_failed && !c->first_error[0])
			snprintf(c->first_error, sizeof(c->first_error), "partial: %.40s (%.60s)",
				 r->coverage->failed[0]->node_id, r->coverage->failed[0]->reason);
	}
	caselink__v1__query_response__free_unpacked(r, NULL);
	return 0;
}

static void load_error(struct load_client *c, const char *what, const char *detail)
{
	c->errors++;
	if (!c->first_error[0])
		snprintf(c->first_error, sizeof(c->first_error), "%.60s: %.90s", what, detail);
}

static void *load_client_run(void *arg)
{
	struct load_client *c = arg;
	const struct load_query *lq = c->lq;
	struct rpc_channel *ch = NULL;
	struct rpc_channel_config cc;
	char *by[2] = {"municipality", "agency_type"};
	unsigned long i;
	int rc;

	memset(&cc, 0, sizeof(cc));
	cc.target = lq->coord;
	cc.tls = *lq->tls;
	cc.server_name = "coordinator";
	cc.expected_roles = RPC_ROLE_COORDINATOR;
	rc = rpc_channel_new(&cc, &ch);
	if (rc != CL_OK) {
		load_error(c, "channel", cl_strerror(rc));
		return NULL;
	}
	for (i = 0; benchutil_now() < lq->until; i++) {
		int kind = lq->linked_every > 0 && i % (unsigned long)lq->linked_every == 0;
		struct rpc_status st;
		uint8_t *req = NULL;
		size_t len = 0;
		double t0 = benchutil_now();

		memset(&st, 0, sizeof(st));
		c->have_coverage = 0;
		c->covered = 0;
		if (kind)
			rc = benchutil_request(lq->signer, lq->id, lq->role, lq->linked, lq->from,
					       lq->to, NULL, 0, &req, &len);
		else
			rc = benchutil_request(lq->signer, lq->id, lq->role, "incident_events",
					       lq->from, lq->to, by, 2, &req, &len);
		if (rc == CL_OK)
			rc = rpc_call_stream(ch, RPC_METHOD_COORDINATOR_QUERY, req, len, 30000,
					     load_on_message, c, NULL, &st);
		free(req);
		if (rc != CL_OK) {
			load_error(c, cl_strerror(rc), st.message);
			continue;
		}
		if (!c->have_coverage || !c->covered) {
			c->partial++;
			load_error(c, "partial", "an answer did not cover every node");
			continue;
		}
		if (load_push(&c->lat[kind], (benchutil_now() - t0) * 1000.0) != CL_OK) {
			load_error(c, "memory", "latency log");
			break;
		}
	}
	rpc_channel_free(ch);
	return NULL;
}

static long load_rss_kib(long pid)
{
	char path[64], line[256];
	long kib = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%ld/status", pid);
	f = fopen(path, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, "VmRSS:", 6)) {
			kib = strtol(line + 6, NULL, 10);
			break;
		}
	fclose(f);
	return kib;
}

static void *load_rss_run(void *arg)
{
	struct load_rss *r = arg;
	struct timespec one = {1, 0};
	double t0 = benchutil_now();

	while (r->n < LOAD_MAX_SAMPLES) {
		long kib = load_rss_kib(r->pid);

		if (kib >= 0) {
			r->kib[r->n++] = kib;
			if (r->log)
				fprintf(r->log, "%.0f %ld\n", benchutil_now() - t0, kib);
		}
		if (benchutil_now() >= r->until)
			break;
		nanosleep(&one, NULL);
	}
	return NULL;
}

static void load_print(const char *name, struct load_lat *l, double secs)
{
	if (!l->n) {
		printf("%-16s requests=0\n", name);
		return;
	}
	benchutil_sort(l->ms, l->n);
	printf("%-16s requests=%zu qps=%.1f p50_ms=%.1f p95_ms=%.1f p99_ms=%.1f max_ms=%.1f\n",
	       name, l->n, (double)l->n / secs, benchutil_pct(l->ms, l->n, 50),
	       benchutil_pct(l->ms, l->n, 95), benchutil_pct(l->ms, l->n, 99), l->ms[l->n - 1]);
}

int main(int argc, char **argv)
{
	const char *coord = NULL, *dir = NULL, *name = NULL, *from = NULL, *to = NULL,
		   *linked = "M2", *rss_log = NULL;
	char path[3][CLIENT_PATH_MAX], err[256] = "", id_text[RPC_PEER_ID_MAX] = "",
				       role[RPC_PEER_ROLE_MAX] = "";
	int clients = 100, seconds = 60, linked_every = 10, i, rc, status = 1;
	long pid = 0;
	size_t errors = 0, partial = 0, k;
	struct party_tls *tls = NULL;
	struct load_client *cl = NULL;
	pthread_t th[LOAD_MAX_CLIENTS], rth;
	struct sign_key *signer = NULL;
	struct load_query lq;
	struct load_rss *rss = NULL;
	struct load_lat all = {NULL, 0, 0}, kinds[LOAD_KINDS];
	struct rpc_tls t;
	double t0, elapsed;
	long rmax = 0;
	const char *first = "";

	for (i = 1; i + 1 < argc; i += 2) {
		if (!strcmp(argv[i], "--coordinator"))
			coord = argv[i + 1];
		else if (!strcmp(argv[i], "--tls-dir"))
			dir = argv[i + 1];
		else if (!strcmp(argv[i], "--name"))
			name = argv[i + 1];
		else if (!strcmp(argv[i], "--from"))
			from = argv[i + 1];
		else if (!strcmp(argv[i], "--to"))
			to = argv[i + 1];
		else if (!strcmp(argv[i], "--clients"))
			clients = atoi(argv[i + 1]);
		else if (!strcmp(argv[i], "--seconds"))
			seconds = atoi(argv[i + 1]);
		else if (!strcmp(argv[i], "--linked"))
			linked = argv[i + 1];
		else if (!strcmp(argv[i], "--linked-every"))
			linked_every = atoi(argv[i + 1]);
		else if (!strcmp(argv[i], "--pid"))
			pid = atol(argv[i + 1]);
		else if (!strcmp(argv[i], "--rss-log"))
			rss_log = argv[i + 1];
		else
			break;
	}
	if (i < argc || !coord || !dir || !name || !from || !to || clients < 1 ||
	    clients > LOAD_MAX_CLIENTS || seconds < 1 || seconds > LOAD_MAX_SAMPLES ||
	    linked_every < 0) {
		fprintf(stderr,
			"usage: bench_load --coordinator HOST:PORT --tls-dir DIR --name ID --from D"
			" --to D [--clients 1..%d] [--seconds N] [--linked M2] [--linked-every N]"
			" [--pid PID] [--rss-log FILE]\n",
			LOAD_MAX_CLIENTS);
		return 2;
	}
	rc = client_tls_paths(dir, name, path);
	if (rc == CL_OK)
		rc = client_identity_load(path[0], path[1], path[2], NULL, &tls, id_text, role,
					  &signer, err, sizeof(err));
	if (rc == CL_OK)
		party_tls_fill(tls, &t);
	if (rc != CL_OK) {
		fprintf(stderr, "bench_load: %s\n", *err ? err : cl_strerror(rc));
		goto out;
	}
	memset(kinds, 0, sizeof(kinds));
	cl = calloc((size_t)clients, sizeof(*cl));
	rss = calloc(1, sizeof(*rss));
	if (!cl || !rss)
		goto out;
	memset(&lq, 0, sizeof(lq));
	lq.signer = signer;
	lq.id = id_text;
	lq.role = role;
	lq.from = from;
	lq.to = to;
	lq.linked = linked;
	lq.linked_every = linked_every;
	lq.tls = &t;
	lq.coord = coord;
	t0 = benchutil_now();
	lq.until = t0 + seconds;
	rss->pid = pid;
	rss->until = lq.until;
	if (rss_log)
		rss->log = fopen(rss_log, "w");
	if (pid > 0 && pthread_create(&rth, NULL, load_rss_run, rss) != 0)
		goto out;
	for (i = 0; i < clients; i++) {
		cl[i].lq = &lq;
		if (pthread_create(&th[i], NULL, load_client_run, &cl[i]) != 0) {
			fprintf(stderr, "bench_load: cannot start client %d\n", i);
			clients = i;
			break;
		}
	}
	for (i = 0; i < clients; i++)
		pthread_join(th[i], NULL);
	elapsed = benchutil_now() - t0;
	if (pid > 0)
		pthread_join(rth, NULL);
	for (i = 0; i < clients; i++) {
		errors += cl[i].errors;
		partial += cl[i].partial;
		if (!*first && cl[i].first_error[0])
			first = cl[i].first_error;
		for (int kind = 0; kind < LOAD_KINDS; kind++)
			for (k = 0; k < cl[i].lat[kind].n; k++)
				if (load_push(&all, cl[i].lat[kind].ms[k]) != CL_OK ||
				    load_push(&kinds[kind], cl[i].lat[kind].ms[k]) != CL_OK)
					goto out;
	}
	printf("# bench_load: %d clients, %.1f s, %s every %d requests, period [%s, %s)\n", clients,
	       elapsed, linked, linked_every, from, to);
	load_print("all", &all, elapsed);
	load_print("incident_events", &kinds[0], elapsed);
	load_print(linked, &kinds[1], elapsed);
	printf("errors=%zu (partial coverage %zu)%s%s\n", errors, partial, *first ? " first: " : "",
	       first);
	for (k = 0; k < rss->n; k++)
		if (rss->kib[k] > rmax)
			rmax = rss->kib[k];
	if (rss->n)
		printf("coordinator_rss_kib samples=%zu first=%ld last=%ld max=%ld\n", rss->n,
		       rss->kib[0], rss->kib[rss->n - 1], rmax);
	status = errors ? 1 : 0;
out:
	if (cl) {
		for (i = 0; i < clients; i++)
			for (int kind = 0; kind < LOAD_KINDS; kind++)
				free(cl[i].lat[kind].ms);
		free(cl);
	}
	if (rss && rss->log)
		fclose(rss->log);
	free(rss);
	free(all.ms);
	for (i = 0; i < LOAD_KINDS; i++)
		free(kinds[i].ms);
	sign_key_free(signer);
	party_tls_free(tls);
	return status;
}
