/*
 * secure — party 0 of the secure computation, inside the coordinator (secure.h).
 */
#include "coordinator/secure.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "common/cl_error.h"
#include "common/log.h"
#include "compute/compute_job.h"
#include "compute/mpc_coord.h"
#include "compute/mpc_rpc.h"
#include "common/vocab.h"
#include "coordinator/measures.h"
#include "protocol/pki.h"

struct secure {
	struct mpc_rpc *t;
	struct mpc_rpc_config mc; /* the parties' names, addresses and TLS material */
	char self_id[RPC_PEER_ID_MAX + 1];
	char *cert[MPC_PARTIES];
	size_t cert_len[MPC_PARTIES];
	Caselink__V1__ComputeParty cp[2];
	Caselink__V1__ComputeParty *cpp[2];
};

/* The job kind of a measure; -1 when it is not computed under secret sharing. */
static int kind_of(int measure)
{
	return measure == MEASURES_M2	? M2_JOB_M2
	       : measure == MEASURES_M4 ? M2_JOB_M4
	       : measure == MEASURES_M5 ? M2_JOB_M5
					: -1;
}

void secure_free(struct secure *s)
{
	if (!s)
		return;
	for (unsigned p = 0; p < MPC_PARTIES; p++)
		free(s->cert[p]);
	mpc_rpc_free(s->t);
	free(s);
}

/*
 * Channels to the computing parties' Compute service, made for one computation: a party that
 * restarted since the last one is reached at once (no reconnection back-off).
 */
static int secure_channels(const struct mpc_rpc_config *mc, struct rpc_channel *ch[MPC_PARTIES])
{
	int rc = CL_OK;

	for (unsigned p = 1; p < MPC_PARTIES && rc == CL_OK; p++) {
		struct rpc_channel_config cc;

		memset(&cc, 0, sizeof(cc));
		cc.target = mc->parties[p].address;
		cc.tls = mc->tls;
		cc.insecure_demo = mc->insecure_demo;
		cc.expected_roles = RPC_ROLE_COMPUTE;
		cc.expected_id = mc->parties[p].id;
		cc.max_message_bytes = COMPUTE_JOB_MAX + (64u << 10);
		rc = rpc_channel_new(&cc, &ch[p]);
	}
	return rc;
}

int secure_new(const struct partyconf *conf, const struct party_tls *tls, const char *self_id,
	       struct secure **out, char *err, size_t errsz)
{
	struct mpc_rpc_config mc;
	struct secure *s;
	int rc = CL_OK;

	if (!conf || !self_id || !out || conf->ncompute != 2)
		return CL_EINVAL;
	s = calloc(1, sizeof(*s));
	if (!s)
		return CL_ENOMEM;
	memset(&mc, 0, sizeof(mc));
	mc.self = 0;
	snprintf(s->self_id, sizeof(s->self_id), "%s", self_id);
	snprintf(mc.parties[0].id, sizeof(mc.parties[0].id), "%s", self_id);
	for (unsigned p = 1; p < MPC_PARTIES && rc == CL_OK; p++) {
		const struct partyconf_compute *pc = &conf->compute[p - 1];

		snprintf(mc.parties[p].id, sizeof(mc.parties[p].id), "%.64s", pc->id);
		snprintf(mc.parties[p].address, sizeof(mc.parties[p].address), "%s", pc->address);
		rc = pki_read_file(pc->cert, PKI_PEM_MAX, &s->cert[p], &s->cert_len[p]);
		if (rc != CL_OK)
			snprintf(err, errsz, "computing party %u: cannot read its certificate", p);
		caselink__v1__compute_party__init(&s->cp[p - 1]);
		s->cp[p - 1].party = p;
		s->cp[p - 1].certificate.data = (uint8_t *)s->cert[p];
		s->cp[p - 1].certificate.len = s->cert_len[p];
		s->cpp[p - 1] = &s->cp[p - 1];
	}
	mc.insecure_demo = conf->insecure_demo;
	if (tls)
		party_tls_fill(tls, &mc.tls);
	if (rc == CL_OK)
		rc = mpc_rpc_new(&mc, &s->t);
	s->mc = mc;
	if (rc != CL_OK) {
		if (err && errsz && !err[0])
			snprintf(err, errsz, "computing parties: %s", cl_strerror(rc));
		secure_free(s);
		return rc == CL_ENOMEM ? rc : CL_ECONFIG;
	}
	*out = s;
	return CL_OK;
}

int secure_register(struct secure *s, struct rpc_server *srv)
{
	return s ? mpc_rpc_register(s->t, srv) : CL_EINVAL;
}

int secure_computes(const struct secure *s, int measure)
{
	return s != NULL && kind_of(measure) >= 0;
}

void secure_request(struct secure *s, Caselink__V1__QueryRequest *qr)
{
	qr->n_compute_parties = 2;
	qr->compute_parties = s->cpp;
}

void secure_request_clear(Caselink__V1__QueryRequest *qr)
{
	qr->n_compute_parties = 0;
	qr->compute_parties = NULL;
}

/* Rows of one municipality (or "*") from its counts, as measures.c writes M2. */
static int m2_rows(const char *muni, const struct mpc_m2_counts *c,
		   int (*emit)(void *ctx, const char *const *cols, size_t ncols), void *ctx)
{
	char v[7][32];
	const char *metric[7] = {"victims",
				 "repeat_victims",
				 "repeat_rate",
				 "repeat_victim_episodes",
				 "mean_episodes_per_repeat_victim",
				 "hidden_repeats",
				 "gap_count"};
	int rc;

	snprintf(v[0], sizeof(v[0]), "%llu", (unsigned long long)c->victims);
	snprintf(v[1], sizeof(v[1]), "%llu", (unsigned long long)c->repeat_victims);
	rc = measures_format_ratio(c->repeat_victims, c->victims, 6, v[2], sizeof(v[2]));
	snprintf(v[3], sizeof(v[3]), "%llu", (unsigned long long)c->repeat_victim_episodes);
	if (rc == CL_OK)
		rc = measures_format_ratio(c->repeat_victim_episodes, c->repeat_victims, 6, v[4],
					   sizeof(v[4]));
	snprintf(v[5], sizeof(v[5]), "%llu", (unsigned long long)c->hidden_repeats);
	snprintf(v[6], sizeof(v[6]), "%llu",
		 (unsigned long long)(c->repeat_victim_episodes - c->repeat_victims));
	for (int i = 0; rc == CL_OK && i < 7; i++) {
		const char *cols[3] = {muni, metric[i], v[i]};

		rc = emit(ctx, cols, 3);
	}
	return rc;
}

/* Party 0's output of a job: "CLO3", u32 n, n u64 counts; *n gets n. */
static int decode(const uint8_t *out, size_t len, uint64_t *c, size_t cap, size_t *n)
{
	uint32_t k;

	if (!out || len < 8 || memcmp(out, "CLO3", 4) != 0)
		return CL_EPROTO;
	k = (uint32_t)out[4] | (uint32_t)out[5] << 8 | (uint32_t)out[6] << 16 |
	    (uint32_t)out[7] << 24;
	if (k > cap || len != 8 + (size_t)k * 8)
		return CL_EPROTO;
	memcpy(c, out + 8, (size_t)k * 8);
	*n = k;
	return CL_OK;
}

static int m2_emit(const struct m2_job_munis *mu, const struct mpc_m2_counts *c,
		   int (*emit)(void *ctx, const char *const *cols, size_t ncols), void *ctx)
{
	struct mpc_m2_counts all = {0};
	int rc = CL_OK;

	for (size_t m = 0; rc == CL_OK && m < mu->n; m++) {
		if (c[m].victims == 0)
			continue;
		rc = m2_rows(mu->name[m], &c[m], emit, ctx);
		all.victims += c[m].victims;
		all.repeat_victims += c[m].repeat_victims;
		all.repeat_victim_episodes += c[m].repeat_victim_episodes;
		all.hidden_repeats += c[m].hidden_repeats;
	}
	return rc == CL_OK ? m2_rows("*", &all, emit, ctx) : rc;
}

/* M4 rows of one municipality: per support type (any, then the vocabulary's), as measures.c. */
static int m4_rows(const char *muni, const struct mpc_m4_counts *c,
		   int (*emit)(void *ctx, const char *const *cols, size_t ncols), void *ctx)
{
	int rc = CL_OK;

	for (size_t k = 0; rc == CL_OK && k <= MPC_M4_NSUPPORT; k++) {
		const char *type =
		    k ? vocab_name(VOCAB_EVENT_TYPE, VOCAB_EV_INTAKE + k - 1) : "any";
		char v[3][32];
		const char *metric[3] = {"victims", "with_support", "share"};

		snprintf(v[0], sizeof(v[0]), "%llu", (unsigned long long)c->victims);
		snprintf(v[1], sizeof(v[1]), "%llu", (unsigned long long)c->with_support[k]);
		rc = measures_format_ratio(c->with_support[k], c->victims, 6, v[2], sizeof(v[2]));
		for (int i = 0; rc == CL_OK && i < 3; i++) {
			const char *cols[4] = {muni, type, metric[i], v[i]};

			rc = emit(ctx, cols, 4);
		}
	}
	return rc;
}

static int m4_emit(const struct m2_job_munis *mu, const struct mpc_m4_counts *c,
		   int (*emit)(void *ctx, const char *const *cols, size_t ncols), void *ctx)
{
	struct mpc_m4_counts all;
	int rc = CL_OK;

	memset(&all, 0, sizeof(all));
	for (size_t m = 0; rc == CL_OK && m < mu->n; m++) {
		if (c[m].victims == 0)
			continue;
		rc = m4_rows(mu->name[m], &c[m], emit, ctx);
		all.victims += c[m].victims;
		for (size_t k = 0; k <= MPC_M4_NSUPPORT; k++)
			all.with_support[k] += c[m].with_support[k];
	}
	return rc == CL_OK ? m4_rows("*", &all, emit, ctx) : rc;
}

/* M5 rows per outcome, as measures.c writes them. */
static int m5_emit(const struct mpc_m5_counts c[2],
		   int (*emit)(void *ctx, const char *const *cols, size_t ncols), void *ctx)
{
	static const char *const outcome[2] = {"completed", "dropped"};
	int rc = CL_OK;

	for (int o = 0; rc == CL_OK && o < 2; o++) {
		char v[5][32];
		const char *metric[5] = {"perpetrators", "observable", "not_yet_observable",
					 "reoffended", "reoffended_share"};

		snprintf(v[0], sizeof(v[0]), "%llu", (unsigned long long)c[o].perpetrators);
		snprintf(v[1], sizeof(v[1]), "%llu", (unsigned long long)c[o].observable);
		snprintf(v[2], sizeof(v[2]), "%llu",
			 (unsigned long long)(c[o].perpetrators - c[o].observable));
		snprintf(v[3], sizeof(v[3]), "%llu", (unsigned long long)c[o].reoffended);
		rc = measures_format_ratio(c[o].reoffended, c[o].observable, 6, v[4], sizeof(v[4]));
		for (int i = 0; rc == CL_OK && i < 5; i++) {
			const char *cols[3] = {outcome[o], metric[i], v[i]};

			rc = emit(ctx, cols, 3);
		}
	}
	return rc;
}

int secure_measure(struct secure *s, const Caselink__V1__QueryRequest *qr, int measure,
		   int64_t window_from, int64_t to, const struct m2_job_node *nodes, size_t nnodes,
		   int (*emit)(void *ctx, const char *const *cols, size_t ncols), void *ctx,
		   char *why, size_t whysz)
{
	Caselink__V1__ComputeQuery q = CASELINK__V1__COMPUTE_QUERY__INIT;
	struct mpc_coord_job job;
	struct mpc_coord_result res;
	uint64_t c[M2_JOB_OUT_MAX];
	struct m2_job_munis mu;
	int kind = kind_of(measure);
	size_t nc = 0;
	uint8_t *jobs[MPC_PARTIES] = {NULL, NULL, NULL}, id[16];
	struct rpc_channel *ch[MPC_PARTIES] = {NULL, NULL, NULL};
	size_t lens[MPC_PARTIES] = {0, 0, 0};
	int rc;

	memset(&res, 0, sizeof(res));
	if (kind < 0 || to <= window_from || to - window_from >= (1ll << 30))
		return CL_EINVAL;
	rc = m2_job_build(nodes, nnodes, (unsigned)kind, (uint32_t)(to - window_from),
			  qr->query_nonce.data, qr->query_nonce.len, jobs, lens, &mu);
	if (rc != CL_OK) {
		snprintf(why, whysz, "secure computation: %s", cl_strerror(rc));
		goto out;
	}
	if (RAND_bytes(id, sizeof(id)) != 1) {
		rc = CL_ECRYPTO;
		goto out;
	}
	q.measure = qr->measure;
	q.period_from = qr->period_from;
	q.period_to = qr->period_to;
	q.query_request_id = qr->header->request_id;
	memset(&job, 0, sizeof(job));
	job.id = id;
	job.id_len = sizeof(id);
	job.query = &q;
	for (unsigned p = 0; p < MPC_PARTIES; p++) {
		job.job[p] = jobs[p];
		job.job_len[p] = lens[p];
	}
	job.requester_id = s->self_id;
	job.purpose = qr->header->purpose;
	job.legal_basis = qr->header->legal_basis;
	rc = secure_channels(&s->mc, ch);
	if (rc == CL_OK)
		rc = mpc_coord_run(s->t, ch, &job, &res);
	if (rc != CL_OK) {
		snprintf(why, whysz, "secure computation failed: %.200s", res.why);
		goto out;
	}
	rc = decode(res.out[0], res.out_len[0], c, M2_JOB_OUT_MAX, &nc);
	if (rc == CL_OK && nc != m2_job_out_words((unsigned)kind, mu.n))
		rc = CL_EPROTO;
	log_event(LOG_LEVEL_INFO, "secure_computed",
		  "measure=M%d nodes=%zu bytes_p0=%llu bytes_p1=%llu bytes_p2=%llu", measure,
		  nnodes, (unsigned long long)res.bytes_sent[0],
		  (unsigned long long)res.bytes_sent[1], (unsigned long long)res.bytes_sent[2]);
	if (rc == CL_OK && kind == M2_JOB_M2)
		rc = m2_emit(&mu, (const struct mpc_m2_counts *)c, emit, ctx);
	else if (rc == CL_OK && kind == M2_JOB_M4)
		rc = m4_emit(&mu, (const struct mpc_m4_counts *)c, emit, ctx);
	else if (rc == CL_OK)
		rc = m5_emit((const struct mpc_m5_counts *)c, emit, ctx);
out:
	mpc_coord_result_clear(&res);
	for (unsigned p = 0; p < MPC_PARTIES; p++) {
		rpc_channel_free(ch[p]);
		if (jobs[p])
			OPENSSL_cleanse(jobs[p], lens[p]);
		free(jobs[p]);
	}
	return rc;
}
