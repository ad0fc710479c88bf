/*
 * libFuzzer harness for the group elements parties take from the network: the
 * first byte picks the keyholder's side (a BlindEvaluateRequest from a node:
 * every blinded element through oprf_blind_evaluate_batch, as the keyholder
 * does) or the node's side (a BlindEvaluateResponse from the keyholder: every
 * evaluated element through oprf_finalize). The rest is the wire bytes.
 * Malformed points must be refused with CL_EBADPOINT, never crash.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/cl_error.h"
#include "protocol/caselink.pb-c.h"
#include "protocol/oprf.h"

#define FZ_MAX_ELEMENTS 64

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct oprf_ctx *fz_ctx;
static uint8_t fz_sk[OPRF_SCALAR_LEN];

static int fz_init(void)
{
	static const uint8_t seed[OPRF_SEED_LEN] = {1, 2, 3, 4, 5, 6, 7, 8};
	uint8_t pk[OPRF_ELEMENT_LEN];

	if (fz_ctx)
		return 0;
	if (oprf_ctx_new(&fz_ctx) != CL_OK)
		abort();
	if (oprf_derive_keypair(fz_ctx, seed, (const uint8_t *)"fuzz", 4, fz_sk, pk) != CL_OK)
		abort();
	return 0;
}

/* The keyholder: the elements back to back, one batch, as keyholder/serve.c sends them. */
static void fz_evaluate(const uint8_t *p, size_t n)
{
	Caselink__V1__BlindEvaluateRequest *b =
	    caselink__v1__blind_evaluate_request__unpack(NULL, n, p);
	uint8_t in[FZ_MAX_ELEMENTS * OPRF_ELEMENT_LEN], out[FZ_MAX_ELEMENTS * OPRF_ELEMENT_LEN];
	size_t i, k = 0;
	int rc;

	if (!b)
		return;
	for (i = 0; i < b->n_blinded_elements && k < FZ_MAX_ELEMENTS; i++) {
		if (b->blinded_elements[i].len != OPRF_ELEMENT_LEN)
			goto out; /* the keyholder refuses the request */
		memcpy(in + k * OPRF_ELEMENT_LEN, b->blinded_elements[i].data, OPRF_ELEMENT_LEN);
		k++;
	}
	if (!k)
		goto out;
	rc = oprf_blind_evaluate_batch(fz_ctx, fz_sk, in, k, out);
	if (rc != CL_OK && rc != CL_EBADPOINT)
		abort();
	/* a single element agrees with the batch */
	if (rc == CL_OK) {
		uint8_t one[OPRF_ELEMENT_LEN];

		if (oprf_blind_evaluate(fz_ctx, fz_sk, in, one) != CL_OK ||
		    memcmp(one, out, OPRF_ELEMENT_LEN))
			abort();
	}
out:
	caselink__v1__blind_evaluate_request__free_unpacked(b, NULL);
}

/* The node: each evaluated element unblinded with a fixed blind and input. */
static void fz_finalize(const uint8_t *p, size_t n)
{
	static const uint8_t blind[OPRF_SCALAR_LEN] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
						       0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
						       0, 0, 0, 0, 0, 0, 0, 0, 0, 7};
	Caselink__V1__BlindEvaluateResponse *r =
	    caselink__v1__blind_evaluate_response__unpack(NULL, n, p);
	uint8_t output[OPRF_OUTPUT_LEN];
	size_t i;
	int rc;

	if (!r)
		return;
	for (i = 0; i < r->n_evaluated_elements && i < FZ_MAX_ELEMENTS; i++) {
		if (r->evaluated_elements[i].len != OPRF_ELEMENT_LEN)
			continue; /* the node refuses the answer */
		rc = oprf_finalize(fz_ctx, (const uint8_t *)"LV:01010112345", 14, blind,
				   r->evaluated_elements[i].data, output);
		if (rc != CL_OK && rc != CL_EBADPOINT)
			abort();
	}
	caselink__v1__blind_evaluate_response__free_unpacked(r, NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	fz_init();
	if (data[0] & 1)
		fz_finalize(data + 1, size - 1);
	else
		fz_evaluate(data + 1, size - 1);
	return 0;
}
