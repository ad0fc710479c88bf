#include "compute/mpc_coord.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "common/cl_error.h"
#include "compute/compute_job.h"
#include "protocol/party.h"

/* One Start call, run on its own thread. */
struct mc_call {
	const struct mpc_coord_job *job;
	struct rpc_channel *ch;
	struct mpc_rpc *t;
	struct mpc_rpc_run *run;
	struct rpc_cancel *cancel; /* fired when party 0 fails: no Start call outlives it */
	unsigned party;
	pthread_t thread;
	int rc;
	struct rpc_status st;
	uint8_t *out;
	size_t out_len;
	uint64_t bytes_sent;
};

static int mc_request(const struct mc_call *c, uint8_t **req, size_t *len)
{
	Caselink__V1__ComputeStartRequest r = CASELINK__V1__COMPUTE_START_REQUEST__INIT;
	Caselink__V1__RequestHeader h = CASELINK__V1__REQUEST_HEADER__INIT;
	Caselink__V1__Identity who = CASELINK__V1__IDENTITY__INIT;
	uint8_t rid[PARTY_REQUEST_ID_LEN];
	int rc;

	rc = party_header_fill(&h, &who, rid, c->job->purpose, c->job->legal_basis,
			       c->job->requester_id, "coordinator");
	if (rc != CL_OK)
		return rc;
	r.header = &h;
	r.computation_id.data = (uint8_t *)c->job->id;
	r.computation_id.len = c->job->id_len;
	r.party = c->party;
	r.query = (Caselink__V1__ComputeQuery *)c->job->query;
	r.job.data = (uint8_t *)c->job->job[c->party];
	r.job.len = c->job->job_len[c->party];
	r.timeout_ms = c->job->timeout_ms;
	*len = caselink__v1__compute_start_request__get_packed_size(&r);
	*req = malloc(*len ? *len : 1);
	if (!*req)
		return CL_ENOMEM;
	caselink__v1__compute_start_request__pack(&r, *req);
	return CL_OK;
}

/* Checks and keeps a party's answer. */
static int mc_answer(struct mc_call *c, const uint8_t *resp, size_t len)
{
	Caselink__V1__ComputeStartResponse *a;
	int rc = CL_EPROTO;

	a = caselink__v1__compute_start_response__unpack(NULL, len, resp);
	if (!a)
		return CL_EPROTO;
	if (a->party != c->party || a->computation_id.len != c->job->id_len ||
	    memcmp(a->computation_id.data, c->job->id, c->job->id_len))
		goto out;
	rc = CL_ENOMEM;
	c->out = malloc(a->output.len ? a->output.len : 1);
	if (!c->out)
		goto out;
	memcpy(c->out, a->output.data, a->output.len);
	c->out_len = a->output.len;
	c->bytes_sent = a->bytes_sent;
	rc = CL_OK;
out:
	if (a->output.data)
		OPENSSL_cleanse(a->output.data, a->output.len);
	caselink__v1__compute_start_response__free_unpacked(a, NULL);
	return rc;
}

/* Cancels the run with party c's failure, naming the party that caused it. */
static void mc_cancel(struct mc_call *c)
{
	char why[MPC_RPC_WHY_MAX];
	unsigned who = c->party;

	/* A computing party that answered with its failure says who caused it. */
	if (c->st.code != RPC_OK && !strncmp(c->st.message, "party ", 6) &&
	    c->st.message[6] >= '0' && c->st.message[6] <= '2') {
		who = (unsigned)(c->st.message[6] - '0');
		snprintf(why, sizeof(why), "%s", c->st.message);
	} else {
		snprintf(why, sizeof(why), "party %u (%.64s): %s (%s%s%.120s)", c->party,
			 mpc_rpc_party_id(c->t, c->party),
			 c->rc == CL_EUNAVAIL ? "unreachable (down, or its certificate was refused)"
					      : cl_strerror(c->rc),
			 rpc_code_name(c->st.code), c->st.message[0] ? ": " : "", c->st.message);
	}
	mpc_rpc_cancel(c->run, who, c->rc, why);
}

/* The Start answer (one message): checked and kept; a second one is a protocol error. */
static int mc_on_message(const uint8_t *msg, size_t len, void *user)
{
	struct mc_call *c = user;

	if (c->out)
		return 1;
	c->rc = mc_answer(c, msg, len);
	return c->rc != CL_OK;
}

static void *mc_thread(void *arg)
{
	struct mc_call *c = arg;
	uint8_t *req = NULL;
	size_t req_len = 0;
	int rc;

	c->rc = mc_request(c, &req, &req_len);
	if (c->rc == CL_OK) {
		rc = rpc_call_stream(c->ch, RPC_METHOD_COMPUTE_START, req, req_len,
				     c->job->deadline_ms, mc_on_message, c, c->cancel, &c->st);
		if (c->rc == CL_OK)
			c->rc = rc != CL_OK ? rc : c->out ? CL_OK : CL_EPROTO;
	}
	/* A party that failed stops party 0 and the other party at once. */
	if (c->rc != CL_OK)
		mc_cancel(c);
	if (req)
		OPENSSL_cleanse(req, req_len);
	free(req);
	return NULL;
}

/* The failure to report: the first one recorded, naming the party that caused it. */
static int mc_failure(struct mc_call *calls, int rc0, struct mpc_rpc_run *run,
		      struct mpc_coord_result *res)
{
	unsigned p, who = 0;
	int code;

	code = mpc_rpc_failure(run, &who, res->why, sizeof(res->why));
	if (code) {
		res->failed_party = who;
		return code;
	}
	for (p = 1; p < MPC_PARTIES; p++)
		if (calls[p].rc != CL_OK) { /* cannot happen: a failed call cancels the run */
			res->failed_party = p;
			snprintf(res->why, sizeof(res->why), "party %u: %s", p,
				 cl_strerror(calls[p].rc));
			return calls[p].rc;
		}
	res->failed_party = 0;
	snprintf(res->why, sizeof(res->why), "party 0: the job failed: %s", cl_strerror(rc0));
	return rc0;
}

int mpc_coord_run(struct mpc_rpc *t, struct rpc_channel *start[MPC_PARTIES],
		  const struct mpc_coord_job *job, struct mpc_coord_result *res)
{
	struct mc_call calls[MPC_PARTIES];
	struct mpc_rpc_run *run = NULL;
	uint8_t *out0 = NULL;
	size_t out0_len = 0;
	struct rpc_cancel *cancel = NULL;
	unsigned p, started = 0, cause = 0;
	int rc, rc0;

	if (!t || !start || !job || !res || !start[1] || !start[2])
		return CL_EINVAL;
	memset(res, 0, sizeof(*res));
	memset(calls, 0, sizeof(calls));
	rc = rpc_cancel_new(&cancel);
	if (rc == CL_OK)
		rc = mpc_rpc_begin(t, job->id, job->id_len, job->timeout_ms, &run);
	if (rc != CL_OK) {
		rpc_cancel_free(cancel);
		snprintf(res->why, sizeof(res->why), "party 0: cannot begin: %s", cl_strerror(rc));
		return rc;
	}
	for (p = 1; p < MPC_PARTIES; p++) {
		calls[p].job = job;
		calls[p].ch = start[p];
		calls[p].run = run;
		calls[p].t = t;
		calls[p].cancel = cancel;
		calls[p].party = p;
		if (pthread_create(&calls[p].thread, NULL, mc_thread, &calls[p]) != 0) {
			mpc_rpc_cancel(run, 0, CL_ENOMEM, NULL);
			break;
		}
		started |= 1u << p;
	}
	rc0 = compute_run(mpc_rpc_net(run), 0, job->job[0], job->job_len[0], NULL, &out0,
			  &out0_len);
	if (rc0 != CL_OK) { /* nothing of party 0 follows: the others stop waiting for it */
		if (!mpc_rpc_failure(run, &cause, NULL, 0))
			cause = 0;
		mpc_rpc_cancel(run, cause, rc0, NULL);
		rpc_cancel_fire(cancel);
	}
	for (p = 1; p < MPC_PARTIES; p++)
		if (started & (1u << p))
			pthread_join(calls[p].thread, NULL);
		else
			calls[p].rc = CL_ENOMEM;
	rc = rc0;
	for (p = 1; p < MPC_PARTIES && rc == CL_OK; p++)
		rc = calls[p].rc;
	if (rc != CL_OK)
		rc = mc_failure(calls, rc0, run, res);
	res->bytes_sent[0] = mpc_rpc_net(run)->bytes_sent;
	mpc_rpc_end(run, rc);
	rpc_cancel_free(cancel);
	for (p = 1; p < MPC_PARTIES; p++) {
		res->out[p] = calls[p].out;
		res->out_len[p] = calls[p].out_len;
		res->bytes_sent[p] = calls[p].bytes_sent;
	}
	res->out[0] = out0;
	res->out_len[0] = out0_len;
	if (rc != CL_OK)
		mpc_coord_result_clear(res);
	return rc;
}

void mpc_coord_result_clear(struct mpc_coord_result *res)
{
	unsigned p;

	if (!res)
		return;
	for (p = 0; p < MPC_PARTIES; p++) {
		if (res->out[p])
			OPENSSL_cleanse(res->out[p], res->out_len[p]);
		free(res->out[p]);
		res->out[p] = NULL;
		res->out_len[p] = 0;
	}
}
