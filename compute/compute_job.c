/* THE LEAD'S TO REPLACE: the demonstration job of compute_job.h. */
#include "compute/compute_job.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "common/cl_error.h"

#define CJ_JOB_MAGIC "CLJ1"
#define CJ_OUT_MAGIC "CLO1"
#define CJ_HEAD	     12u /* magic, n, rounds (job) or magic, n, pad (output: 8) */

static uint32_t cj_get32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void cj_put32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t cj_get64(const uint8_t *p)
{
	return (uint64_t)cj_get32(p) | (uint64_t)cj_get32(p + 4) << 32;
}

static void cj_put64(uint8_t *p, uint64_t v)
{
	cj_put32(p, (uint32_t)v);
	cj_put32(p + 4, (uint32_t)(v >> 32));
}

/* Sends len bytes to `to` in messages of at most MPC_NET_MAX_MESSAGE (mpc_net_send's job). */
static int cj_send(struct mpc_net *net, unsigned to, const uint8_t *buf, size_t len)
{
	size_t off, n;
	int rc;

	for (off = 0; off < len; off += n) {
		n = len - off < MPC_NET_MAX_MESSAGE ? len - off : MPC_NET_MAX_MESSAGE;
		rc = net->ops->send(net->ctx, to, buf + off, n);
		if (rc != CL_OK)
			return rc;
	}
	return CL_OK;
}

static int cj_recv(struct mpc_net *net, unsigned from, uint8_t *buf, size_t len)
{
	size_t off, n;
	int rc;

	for (off = 0; off < len; off += n) {
		n = len - off < MPC_NET_MAX_MESSAGE ? len - off : MPC_NET_MAX_MESSAGE;
		rc = net->ops->recv(net->ctx, from, buf + off, n);
		if (rc != CL_OK)
			return rc;
	}
	return CL_OK;
}

/* Checks a job's layout; *n and *rounds get its shape. */
static int cj_parse(const uint8_t *job, size_t len, size_t *n, unsigned *rounds)
{
	uint64_t need;

	if (len > COMPUTE_JOB_MAX)
		return CL_ELIMIT;
	if (!job || len < CJ_HEAD || memcmp(job, CJ_JOB_MAGIC, 4))
		return CL_EPARSE;
	*n = cj_get32(job + 4);
	*rounds = cj_get32(job + 8);
	need = CJ_HEAD + (uint64_t)*n * 16;
	if (*n == 0 || need != len || *rounds == 0 || *rounds > COMPUTE_JOB_ROUNDS_MAX)
		return CL_EPARSE;
	return CL_OK;
}

/* One party's rounds: z to the next party, the previous one's z back, the same every round. */
static int cj_rounds(struct mpc_net *net, unsigned party, const uint8_t *z, uint8_t *prev,
		     uint8_t *again, size_t bytes, unsigned rounds)
{
	unsigned next = (party + 1) % MPC_PARTIES, from = (party + 2) % MPC_PARTIES, k;
	int rc = CL_OK;

	for (k = 0; k < rounds && rc == CL_OK; k++) {
		/* Party 0 sends first and the others receive first, so that no two wait at once. */
		if (party == 0) {
			rc = cj_send(net, next, z, bytes);
			if (rc == CL_OK)
				rc = cj_recv(net, from, k ? again : prev, bytes);
		} else {
			rc = cj_recv(net, from, k ? again : prev, bytes);
			if (rc == CL_OK)
				rc = cj_send(net, next, z, bytes);
		}
		if (rc == CL_OK && k && memcmp(prev, again, bytes))
			rc = CL_EPROTO;
	}
	return rc;
}

int compute_run(struct mpc_net *net, unsigned party, const uint8_t *job, size_t job_len,
		uint8_t **out, size_t *out_len)
{
	uint8_t *res = NULL, *again = NULL;
	size_t n = 0, i, bytes, res_len;
	unsigned rounds = 0;
	int rc;

	if (!net || !out || !out_len || party >= MPC_PARTIES || net->self != party)
		return CL_EINVAL;
	rc = cj_parse(job, job_len, &n, &rounds);
	if (rc != CL_OK)
		return rc;
	bytes = n * 8;
	res_len = 8 + 2 * bytes;
	res = malloc(res_len);
	again = malloc(bytes);
	if (!res || !again) {
		rc = CL_ENOMEM;
		goto out;
	}
	memcpy(res, CJ_OUT_MAGIC, 4);
	cj_put32(res + 4, (uint32_t)n);
	for (i = 0; i < n; i++)
		cj_put64(res + 8 + 8 * i,
			 cj_get64(job + CJ_HEAD + 8 * i) + cj_get64(job + CJ_HEAD + bytes + 8 * i));
	rc = cj_rounds(net, party, res + 8, res + 8 + bytes, again, bytes, rounds);
	if (rc != CL_OK)
		goto out;
	*out = res;
	*out_len = res_len;
	res = NULL;
out:
	if (res)
		OPENSSL_cleanse(res, res_len);
	if (again)
		OPENSSL_cleanse(again, bytes);
	free(res);
	free(again);
	return rc;
}

/* Writes job i's header. */
static void cj_head(uint8_t *job, size_t n, unsigned rounds)
{
	memcpy(job, CJ_JOB_MAGIC, 4);
	cj_put32(job + 4, (uint32_t)n);
	cj_put32(job + 8, rounds);
}

int compute_demo_jobs(const uint64_t *x, const uint64_t *y, size_t n, unsigned rounds,
		      uint8_t *jobs[MPC_PARTIES], size_t lens[MPC_PARTIES])
{
	uint8_t *j[MPC_PARTIES] = {NULL, NULL, NULL};
	uint64_t r[4], v;
	size_t len, i;
	unsigned p, k;
	int rc = CL_ENOMEM;

	if (!x || !y || !jobs || !lens || n == 0 || rounds == 0 || rounds > COMPUTE_JOB_ROUNDS_MAX)
		return CL_EINVAL;
	if (n > (COMPUTE_JOB_MAX - CJ_HEAD) / 16)
		return CL_ELIMIT;
	len = CJ_HEAD + n * 16;
	for (p = 0; p < MPC_PARTIES; p++) {
		j[p] = malloc(len);
		if (!j[p])
			goto out;
		cj_head(j[p], n, rounds);
	}
	for (i = 0; i < n; i++) {
		if (RAND_bytes((unsigned char *)r, sizeof(r)) != 1) {
			rc = CL_ECRYPTO;
			goto out;
		}
		for (k = 0; k < 2; k++) {
			v = k ? y[i] : x[i];
			cj_put64(j[1] + CJ_HEAD + k * n * 8 + 8 * i, r[2 * k]);
			cj_put64(j[2] + CJ_HEAD + k * n * 8 + 8 * i, r[2 * k + 1]);
			cj_put64(j[0] + CJ_HEAD + k * n * 8 + 8 * i, v - r[2 * k] - r[2 * k + 1]);
		}
	}
	for (p = 0; p < MPC_PARTIES; p++) {
		jobs[p] = j[p];
		lens[p] = len;
		j[p] = NULL;
	}
	rc = CL_OK;
out:
	OPENSSL_cleanse(r, sizeof(r));
	for (p = 0; p < MPC_PARTIES; p++)
		free(j[p]);
	return rc;
}

int compute_demo_open(unsigned a, const uint8_t *out_a, size_t len_a, unsigned b,
		      const uint8_t *out_b, size_t len_b, uint64_t *z, size_t n)
{
	const uint8_t *oa = out_a, *ob = out_b;
	size_t i, len = 8 + n * 16;

	if (a >= MPC_PARTIES || b >= MPC_PARTIES || a == b || !z || !oa || !ob)
		return CL_EINVAL;
	if (b != (a + 1) % MPC_PARTIES) { /* so that b holds z_{a+1} and z_a */
		oa = out_b;
		ob = out_a;
		len_a ^= len_b;
		len_b ^= len_a;
		len_a ^= len_b;
	}
	if (len_a != len || len_b != len || memcmp(oa, CJ_OUT_MAGIC, 4) ||
	    memcmp(ob, CJ_OUT_MAGIC, 4) || cj_get32(oa + 4) != n || cj_get32(ob + 4) != n)
		return CL_EPARSE;
	for (i = 0; i < n; i++)
		if (cj_get64(ob + 8 + n * 8 + 8 * i) != cj_get64(oa + 8 + 8 * i))
			return CL_EPARSE;
	for (i = 0; i < n; i++)
		z[i] = cj_get64(oa + 8 + 8 * i) + cj_get64(oa + 8 + n * 8 + 8 * i) +
		       cj_get64(ob + 8 + 8 * i);
	return CL_OK;
}
