/* THE LEAD'S TO REPLACE: the demonstration job of compute_job.h. */
#include "compute/compute_job.h"
#include "compute/m2_job.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "common/cl_error.h"
#include "compute/mpc_share.h"

#define CJ_JOB_MAGIC "CLJ1"
#define CJ_OUT_MAGIC "CLO1"
#define CJ_MUL_MAGIC "CLJ2"
#define CJ_MUL_OUT   "CLO2"
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
			rc = mpc_net_send(net, next, z, bytes);
			if (rc == CL_OK)
				rc = mpc_net_recv(net, from, k ? again : prev, bytes);
		} else {
			rc = mpc_net_recv(net, from, k ? again : prev, bytes);
			if (rc == CL_OK)
				rc = mpc_net_send(net, next, z, bytes);
		}
		if (rc == CL_OK && k && memcmp(prev, again, bytes))
			rc = CL_EPROTO;
	}
	return rc;
}

/* Writes a CLO2 output: n values, or n pairs of shares. */
static int cj_mul_output(const uint64_t *a, const uint64_t *b, size_t n, uint8_t **out,
			 size_t *out_len)
{
	size_t i, len = 8 + n * 8 * (b ? 2 : 1);
	uint8_t *o = malloc(len);

	if (!o)
		return CL_ENOMEM;
	memcpy(o, CJ_MUL_OUT, 4);
	cj_put32(o + 4, (uint32_t)n);
	for (i = 0; i < n; i++) {
		cj_put64(o + 8 + 8 * i, a[i]);
		if (b)
			cj_put64(o + 8 + n * 8 + 8 * i, b[i]);
	}
	*out = o;
	*out_len = len;
	return CL_OK;
}

/* CLJ2: share x and y held by party 0, z = x * y + x, opened to party 0. */
static int cj_mul(struct mpc_net *net, unsigned party, const uint8_t *job, size_t len,
		  uint8_t **out, size_t *out_len)
{
	struct mpc_party *p = NULL;
	struct mpc_a x = {0}, y = {0}, z = {0};
	uint64_t *vx = NULL, *vy = NULL, *vz = NULL;
	size_t n, i, has;
	int rc;

	if (len < CJ_HEAD)
		return CL_EPARSE;
	n = cj_get32(job + 4);
	has = cj_get32(job + 8);
	if (n == 0 || n > (COMPUTE_JOB_MAX - CJ_HEAD) / 16 || has != (party == 0) ||
	    len != CJ_HEAD + (has ? n * 16 : 0))
		return CL_EPARSE;
	vx = calloc(n, 8);
	vy = calloc(n, 8);
	vz = calloc(n, 8);
	rc = vx && vy && vz ? CL_OK : CL_ENOMEM;
	for (i = 0; rc == CL_OK && has && i < n; i++) {
		vx[i] = cj_get64(job + CJ_HEAD + 8 * i);
		vy[i] = cj_get64(job + CJ_HEAD + n * 8 + 8 * i);
	}
	if (rc == CL_OK)
		rc = mpc_party_new(&p, net);
	if (rc == CL_OK)
		rc = mpc_a_input(p, 0, has ? vx : NULL, n, &x);
	if (rc == CL_OK)
		rc = mpc_a_input(p, 0, has ? vy : NULL, n, &y);
	if (rc == CL_OK)
		rc = mpc_a_alloc(&z, n);
	if (rc == CL_OK)
		rc = mpc_a_mul(p, &z, &x, &y);
	if (rc == CL_OK)
		rc = mpc_a_add(&z, &z, &x);
	if (rc == CL_OK)
		rc = mpc_a_open_to(p, 0, &z, party == 0 ? vz : NULL);
	if (rc == CL_OK)
		rc = party == 0 ? cj_mul_output(vz, NULL, n, out, out_len)
				: cj_mul_output(z.s0, z.s1, n, out, out_len);
	mpc_a_free(&x);
	mpc_a_free(&y);
	mpc_a_free(&z);
	mpc_party_free(p);
	if (vx)
		OPENSSL_cleanse(vx, n * 8);
	if (vy)
		OPENSSL_cleanse(vy, n * 8);
	if (vz)
		OPENSSL_cleanse(vz, n * 8);
	free(vx);
	free(vy);
	free(vz);
	return rc;
}

/* A secure measure (compute/m2_job.h); party 0's output carries the counts. */
static int cj_m2(struct mpc_net *net, unsigned party, const uint8_t *job, size_t job_len,
		 const char *key_pem, uint8_t **out, size_t *out_len)
{
	uint64_t c[M2_JOB_OUT_MAX];
	size_t n = 0;
	uint8_t *res;
	int rc;

	memset(c, 0, sizeof(c));
	rc = m2_job_run(net, job, job_len, key_pem, party == 0 ? c : NULL, M2_JOB_OUT_MAX, &n);
	if (rc != CL_OK)
		return rc;
	if (party != 0)
		n = 0;
	res = malloc(8 + n * 8);
	if (!res)
		return CL_ENOMEM;
	memcpy(res, "CLO3", 4);
	cj_put32(res + 4, (uint32_t)n);
	memcpy(res + 8, c, n * 8);
	OPENSSL_cleanse(c, sizeof(c));
	*out = res;
	*out_len = 8 + n * 8;
	return CL_OK;
}

int compute_run(struct mpc_net *net, unsigned party, const uint8_t *job, size_t job_len,
		const char *key_pem, uint8_t **out, size_t *out_len)
{
	uint8_t *res = NULL, *again = NULL;
	size_t n = 0, i, bytes, res_len;
	unsigned rounds = 0;
	int rc;

	if (!net || !out || !out_len || party >= MPC_PARTIES || net->self != party)
		return CL_EINVAL;
	if (job_len > COMPUTE_JOB_MAX)
		return CL_ELIMIT;
	if (job && job_len >= 4 && !memcmp(job, CJ_MUL_MAGIC, 4))
		return cj_mul(net, party, job, job_len, out, out_len);
	if (job && job_len >= 4 && !memcmp(job, "CLM2", 4))
		return cj_m2(net, party, job, job_len, key_pem, out, out_len);
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

int compute_demo_mul_jobs(const uint64_t *x, const uint64_t *y, size_t n,
			  uint8_t *jobs[MPC_PARTIES], size_t lens[MPC_PARTIES])
{
	uint8_t *j[MPC_PARTIES] = {NULL, NULL, NULL};
	size_t i;
	unsigned p;

	if (!x || !y || !jobs || !lens || n == 0)
		return CL_EINVAL;
	if (n > (COMPUTE_JOB_MAX - CJ_HEAD) / 16)
		return CL_ELIMIT;
	for (p = 0; p < MPC_PARTIES; p++) {
		lens[p] = CJ_HEAD + (p == 0 ? n * 16 : 0);
		j[p] = malloc(lens[p]);
		if (!j[p]) {
			for (p = 0; p < MPC_PARTIES; p++)
				free(j[p]);
			return CL_ENOMEM;
		}
		memcpy(j[p], CJ_MUL_MAGIC, 4);
		cj_put32(j[p] + 4, (uint32_t)n);
		cj_put32(j[p] + 8, p == 0);
	}
	for (i = 0; i < n; i++) {
		cj_put64(j[0] + CJ_HEAD + 8 * i, x[i]);
		cj_put64(j[0] + CJ_HEAD + n * 8 + 8 * i, y[i]);
	}
	for (p = 0; p < MPC_PARTIES; p++)
		jobs[p] = j[p];
	return CL_OK;
}

int compute_demo_mul_read(const uint8_t *out0, size_t len0, const uint8_t *out1, size_t len1,
			  const uint8_t *out2, size_t len2, uint64_t *z, size_t n)
{
	size_t i;

	if (!z || n == 0)
		return CL_EINVAL;
	if (out0) {
		if (len0 != 8 + n * 8 || memcmp(out0, CJ_MUL_OUT, 4) || cj_get32(out0 + 4) != n)
			return CL_EPARSE;
		for (i = 0; i < n; i++)
			z[i] = cj_get64(out0 + 8 + 8 * i);
		return CL_OK;
	}
	/* party 1 holds (z1, z2), party 2 (z2, z0) */
	if (!out1 || !out2 || len1 != 8 + n * 16 || len2 != len1 || memcmp(out1, CJ_MUL_OUT, 4) ||
	    memcmp(out2, CJ_MUL_OUT, 4) || cj_get32(out1 + 4) != n || cj_get32(out2 + 4) != n)
		return CL_EPARSE;
	for (i = 0; i < n; i++) {
		if (cj_get64(out1 + 8 + n * 8 + 8 * i) != cj_get64(out2 + 8 + 8 * i))
			return CL_EPARSE;
		z[i] = cj_get64(out1 + 8 + 8 * i) + cj_get64(out2 + 8 + 8 * i) +
		       cj_get64(out2 + 8 + n * 8 + 8 * i);
	}
	return CL_OK;
}
