/*
 * bench_secure_m2 — M2 under three-party secure computation beside the plaintext engine in
 * the same run, on a generated federation held in memory: the nodes' share uploads
 * (node/shares), the coordinator's jobs (compute/m2_job), the three parties on three threads
 * over the in-process transport, against coordinator/measures.c on the same records.
 *
 *   bench_secure_m2 [--persons N] [--nodes K] [--seed S] [--measure M2|M4|M5]
 *
 * Prints per phase wall and CPU seconds, bytes and rounds per party, peak RSS. The network
 * transport adds a round trip per round (see docs/BENCHMARKS.md).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "common/cl_error.h"
#include "compute/m2_job.h"
#include "compute/mpc_net.h"
#include "coordinator/measures.h"
#include "node/shares.h"
#include "protocol/pki.h"

#define DAY 86400

static uint64_t rs = 88172645463325252ull;

static uint64_t rnd(void)
{
	rs ^= rs << 13;
	rs ^= rs >> 7;
	rs ^= rs << 17;
	return rs;
}

struct rec {
	uint32_t person;
	Caselink__V1__EventRecord **ev;
	size_t nev;
};

struct node {
	char id[32], muni[32];
	struct rec *recs;
	size_t nrec, cap;
};

static double now(clockid_t c)
{
	struct timespec t;

	clock_gettime(c, &t);
	return (double)t.tv_sec + t.tv_nsec / 1e9;
}

static const char *const munis[] = {"Liepāja", "Klaipėda", "Tukums", "Ventspils"};
static const char *const types[] = {
    "police_callout", "crime_report", "medical_injury",	     "ngo_disclosure",	 "intake",
    "counselling",    "legal_aid",    "programme_completed", "programme_dropped"};

static void add_record(struct node *nd, uint32_t person, int64_t from, size_t nev)
{
	struct rec *r;

	if (nd->nrec == nd->cap) {
		nd->cap = nd->cap ? 2 * nd->cap : 1024;
		nd->recs = realloc(nd->recs, nd->cap * sizeof(*nd->recs));
		if (!nd->recs)
			exit(1);
	}
	r = &nd->recs[nd->nrec++];
	r->person = person;
	r->nev = nev;
	r->ev = calloc(nev ? nev : 1, sizeof(*r->ev));
	for (size_t e = 0; e < nev; e++) {
		Caselink__V1__EventRecord *ev = calloc(1, sizeof(*ev));
		int64_t t = from - 3 * DAY + (int64_t)(rnd() % (400ull * DAY));

		caselink__v1__event_record__init(ev);
		if (e > 0 && rnd() % 10 == 0) /* around the 72 h rule */
			t = r->ev[e - 1]->occurred_at + (int64_t)(rnd() % (6 * DAY));
		ev->event_type = (char *)types[rnd() % 20 == 0 ? 7 + rnd() % 2 : rnd() % 7];
		ev->occurred_at = t;
		ev->role = (char *)(rnd() % 8 ? "victim" : "perpetrator");
		ev->municipality = (char *)(rnd() % 20 ? "" : munis[rnd() % 4]);
		r->ev[e] = ev;
	}
}

struct run {
	uint8_t *job[MPC_PARTIES];
	size_t len[MPC_PARTIES];
	const char *key[MPC_PARTIES];
	uint64_t out[M2_JOB_OUT_MAX];
	size_t nout;
	uint64_t sent[MPC_PARTIES];
};

static int party_main(struct mpc_net *net, void *ctx)
{
	struct run *r = ctx;
	unsigned i = net->self;
	int rc = m2_job_run(net, r->job[i], r->len[i], r->key[i], i == 0 ? r->out : NULL,
			    M2_JOB_OUT_MAX, &r->nout);

	r->sent[i] = net->bytes_sent;
	return rc;
}

static int count_row(void *ctx, const char *const *cols, size_t n)
{
	(void)cols;
	(void)n;
	(*(size_t *)ctx)++;
	return 0;
}

static char *slurp(const char *dir, const char *name)
{
	char p[1200], *buf = NULL;
	size_t n = 0;

	snprintf(p, sizeof p, "%s/%s", dir, name);
	return pki_read_file(p, PKI_PEM_MAX, &buf, &n) == 0 ? buf : NULL;
}

int main(int argc, char **argv)
{
	size_t persons = 100000, nnodes = 20, events = 0, slots = 0, rows = 0;
	const char *measure = "M2";
	int mid = MEASURES_M2;
	unsigned kind = M2_JOB_M2;
	char dir[] = "/tmp/bench-secure-m2-XXXXXX", ca[1200], certs[1200];
	struct measures_input *ref = NULL;
	struct node *nodes;
	struct run *run = calloc(1, sizeof(*run));
	int64_t from = 20089 * (int64_t)DAY, to = from + 365 * (int64_t)DAY; /* 2025 */
	double w0, w1, c0, c1;
	struct rusage ru;

	for (int i = 1; i + 1 < argc; i += 2) {
		if (!strcmp(argv[i], "--persons"))
			persons = strtoul(argv[i + 1], NULL, 10);
		else if (!strcmp(argv[i], "--nodes"))
			nnodes = strtoul(argv[i + 1], NULL, 10);
		else if (!strcmp(argv[i], "--measure"))
			measure = argv[i + 1];
		else if (!strcmp(argv[i], "--seed"))
			rs ^= strtoull(argv[i + 1], NULL, 10) * 0x9e3779b97f4a7c15ull;
	}
	if (!strcmp(measure, "M4"))
		mid = MEASURES_M4, kind = M2_JOB_M4;
	else if (!strcmp(measure, "M5"))
		mid = MEASURES_M5, kind = M2_JOB_M5;
	else if (strcmp(measure, "M2"))
		return fprintf(stderr, "--measure: M2, M4 or M5\n"), 2;
	nodes = calloc(nnodes, sizeof(*nodes));
	if (!mkdtemp(dir) || !nodes || !run)
		return 1;
	snprintf(ca, sizeof ca, "%s/ca", dir);
	snprintf(certs, sizeof certs, "%s/certs", dir);
	if (pki_init_ca(ca) != 0)
		return 1;
	for (int p = 1; p <= 2; p++) {
		char id[8];
		struct pki_issue_opts o = {.id = id, .role = "compute"};

		snprintf(id, sizeof id, "cp-%d", p);
		if (pki_issue(ca, certs, &o) != 0)
			return 1;
	}
	for (size_t k = 0; k < nnodes; k++) {
		snprintf(nodes[k].id, sizeof nodes[k].id, "agency-%02zu", k);
		snprintf(nodes[k].muni, sizeof nodes[k].muni, "%s", munis[k % 4]);
	}
	/* persons held by 1-3 nodes of one municipality, 1-8 events a record */
	for (size_t p = 0; p < persons; p++) {
		size_t holders = 1 + rnd() % 3, home = rnd() % nnodes;

		for (size_t h = 0; h < holders; h++) {
			size_t nev = 1 + rnd() % 8;

			add_record(&nodes[(home + 4 * h) % nnodes], (uint32_t)p, from, nev);
			events += nev;
		}
	}
	/* the plaintext reference */
	measures_input_new(&ref);
	for (size_t k = 0; k < nnodes; k++)
		for (size_t r = 0; r < nodes[k].nrec; r++) {
			struct measures_record mr = {.node = (uint32_t)k,
						     .agency_id = nodes[k].id,
						     .agency_type = "police",
						     .node_municipality = nodes[k].muni,
						     .sex = 'F',
						     .linkable = 1,
						     .person = nodes[k].recs[r].person};
			size_t idx;

			measures_add_record(ref, &mr, &idx);
			for (size_t e = 0; e < nodes[k].recs[r].nev; e++) {
				const Caselink__V1__EventRecord *ev = nodes[k].recs[r].ev[e];
				struct measures_event me = {.event_type = ev->event_type,
							    .occurred_at = ev->occurred_at,
							    .role = ev->role,
							    .municipality = ev->municipality,
							    .child_threat_level = -1,
							    .age_years = -1};

				measures_add_event(ref, idx, &me);
			}
		}
	w0 = now(CLOCK_MONOTONIC);
	c0 = now(CLOCK_PROCESS_CPUTIME_ID);
	measures_compute(ref, mid, from, to, 0, count_row, &rows);
	w1 = now(CLOCK_MONOTONIC);
	c1 = now(CLOCK_PROCESS_CPUTIME_ID);
	printf("federation: %zu nodes, %zu persons, %zu events (in the window)\n", nnodes, persons,
	       events);
	printf("plaintext %s (reference)      wall %7.3f s  cpu %7.3f s  rows %zu\n", measure,
	       w1 - w0, c1 - c0, rows);
	{
		char *capem = slurp(ca, "ca.pem"), *c1pem = slurp(certs, "cp-1.pem");
		char *c2pem = slurp(certs, "cp-2.pem");
		Caselink__V1__ShareUpload *up = calloc(nnodes, sizeof(*up));
		struct m2_job_node *jn = calloc(nnodes, sizeof(*jn));
		struct m2_job_munis mu;
		uint8_t nonce[32] = {1};
		Caselink__V1__QueryRequest qr = CASELINK__V1__QUERY_REQUEST__INIT;
		Caselink__V1__ComputeParty cp[2], *cpp[2] = {&cp[0], &cp[1]};
		void *ctx[MPC_PARTIES] = {run, run, run};
		char reason[160];
		int rc;

		for (int i = 0; i < 2; i++) {
			caselink__v1__compute_party__init(&cp[i]);
			cp[i].party = (uint32_t)i + 1;
			cp[i].certificate.data = (uint8_t *)(i ? c2pem : c1pem);
			cp[i].certificate.len = strlen(i ? c2pem : c1pem);
		}
		qr.measure = (char *)measure;
		qr.query_nonce.data = nonce;
		qr.query_nonce.len = 32;
		qr.n_compute_parties = 2;
		qr.compute_parties = cpp;
		w0 = now(CLOCK_MONOTONIC);
		c0 = now(CLOCK_PROCESS_CPUTIME_ID);
		for (size_t k = 0; k < nnodes; k++) {
			struct node_shares *sh = NULL;
			uint32_t *sl = calloc(nodes[k].nrec + 1, 4),
				 *pe = calloc(nodes[k].nrec + 1, 4);
			const char **ag = calloc(nodes[k].nrec + 1, sizeof(char *));

			if (node_shares_new(&qr, capem, from - 3 * DAY, from, to, nodes[k].muni,
					    &sh, reason) != 0)
				return fprintf(stderr, "shares: %s\n", reason), 1;
			for (size_t r = 0; r < nodes[k].nrec; r++) {
				Caselink__V1__TokenRecord tr = CASELINK__V1__TOKEN_RECORD__INIT;

				tr.n_events = nodes[k].recs[r].nev;
				tr.events = nodes[k].recs[r].ev;
				node_shares_add(sh, &tr, &sl[r]);
				pe[r] = nodes[k].recs[r].person;
				ag[r] = nodes[k].id;
				slots += sl[r];
			}
			node_shares_finish(sh, &up[k]);
			node_shares_free(sh);
			jn[k] = (struct m2_job_node){&up[k], nodes[k].nrec, sl, pe, ag};
		}
		w1 = now(CLOCK_MONOTONIC);
		c1 = now(CLOCK_PROCESS_CPUTIME_ID);
		printf("nodes: minimise, split, seal  wall %7.3f s  cpu %7.3f s  slots %zu\n",
		       w1 - w0, c1 - c0, slots);
		w0 = now(CLOCK_MONOTONIC);
		c0 = now(CLOCK_PROCESS_CPUTIME_ID);
		rc = m2_job_build(jn, nnodes, kind, (uint32_t)(to - from + 3 * DAY), nonce, 32,
				  run->job, run->len, &mu);
		w1 = now(CLOCK_MONOTONIC);
		c1 = now(CLOCK_PROCESS_CPUTIME_ID);
		printf("coordinator: layout, jobs     wall %7.3f s  cpu %7.3f s  job bytes %zu / "
		       "%zu / "
		       "%zu\n",
		       w1 - w0, c1 - c0, run->len[0], run->len[1], run->len[2]);
		if (rc != 0)
			return fprintf(stderr, "build: %s\n", cl_strerror(rc)), 1;
		run->key[1] = slurp(certs, "cp-1.key");
		run->key[2] = slurp(certs, "cp-2.key");
		w0 = now(CLOCK_MONOTONIC);
		c0 = now(CLOCK_PROCESS_CPUTIME_ID);
		rc = mpc_net_local_run(party_main, ctx, 600000);
		w1 = now(CLOCK_MONOTONIC);
		c1 = now(CLOCK_PROCESS_CPUTIME_ID);
		if (rc != 0)
			return fprintf(stderr, "run: %s\n", cl_strerror(rc)), 1;
		printf("three parties: %s circuit     wall %7.3f s  cpu %7.3f s (all three)  sent "
		       "%.1f / %.1f / %.1f MiB\n",
		       measure, w1 - w0, c1 - c0, run->sent[0] / 1048576.0,
		       run->sent[1] / 1048576.0, run->sent[2] / 1048576.0);
		{
			uint64_t v = 0;

			for (size_t m = 0; kind == M2_JOB_M2 && m < mu.n; m++)
				v += ((struct mpc_m2_counts *)run->out)[m].victims;
			for (size_t m = 0; kind == M2_JOB_M4 && m < mu.n; m++)
				v += ((struct mpc_m4_counts *)run->out)[m].victims;
			if (kind == M2_JOB_M5)
				v = ((struct mpc_m5_counts *)run->out)[0].perpetrators +
				    ((struct mpc_m5_counts *)run->out)[1].perpetrators;
			printf("%s (secure) %llu over %zu municipalities\n",
			       kind == M2_JOB_M5 ? "perpetrators" : "victims",
			       (unsigned long long)v, mu.n);
		}
	}
	getrusage(RUSAGE_SELF, &ru);
	printf("peak RSS of the process (all parties and the reference) %.0f MiB\n",
	       ru.ru_maxrss / 1024.0);
	return 0;
}
