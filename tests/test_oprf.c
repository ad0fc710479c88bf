/*
 * test_oprf — RFC 9497 OPRF(P-256, SHA-256) base mode against every published vector of the
 * suite in CASELINK_SHARED/vectors, plus the refusal of bad elements and scalars and the
 * protocol's own properties (blind independence, key separation, Finalize == Evaluate).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "common/cl_error.h"
#include "testskip.h"
#include "testvec.h"
#include "protocol/oprf.h"

#define OPRF_FILE "rfc9497-oprf-vectors.json"
#define MAX_BATCH 16

/* Compressed P-256 generator. */
static const char *gen_hex = "036b17d1f2e12c4247f8bce6e563a440f277037d812deb33a0f4a13945d898c296";
/* The group order n. */
static const char *order_hex = "ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551";

/* Decodes hexlen hex digits into out (capacity cap); returns the byte count. */
static size_t hex_n(const char *hex, size_t hexlen, uint8_t *out, size_t cap)
{
	size_t i;

	assert_true(hexlen % 2 == 0);
	assert_true(hexlen / 2 <= cap);
	for (i = 0; i < hexlen / 2; i++) {
		int hi = testvec_hexval(hex[2 * i]), lo = testvec_hexval(hex[2 * i + 1]);

		assert_true(hi >= 0 && lo >= 0);
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return hexlen / 2;
}

static void hex_exact(const char *hex, uint8_t *out, size_t len)
{
	assert_non_null(hex);
	assert_int_equal(hex_n(hex, strlen(hex), out, len), len);
}

/* A field of a batched vector: comma-separated hex values. */
struct field {
	size_t n;
	size_t len[MAX_BATCH];
	uint8_t val[MAX_BATCH][128];
};

static void split_field(json_t *v, const char *key, struct field *f)
{
	json_t *j = json_object_get(v, key);
	const char *s, *comma;

	assert_non_null(j);
	s = json_string_value(j);
	assert_non_null(s);
	f->n = 0;
	for (;;) {
		assert_true(f->n < MAX_BATCH);
		comma = strchr(s, ',');
		f->len[f->n] = hex_n(s, comma ? (size_t)(comma - s) : strlen(s), f->val[f->n],
				     sizeof(f->val[0]));
		f->n++;
		if (comma == NULL)
			break;
		s = comma + 1;
	}
}

static int setup(void **state)
{
	struct oprf_ctx *ctx = NULL;

	if (oprf_ctx_new(&ctx) != 0)
		return -1;
	*state = ctx;
	return 0;
}

static int teardown(void **state)
{
	oprf_ctx_free(*state);
	return 0;
}

/* Every P256-SHA256 mode-0 suite of the file, vector by vector, and all of them as one batch. */
static void test_rfc9497_vectors(void **state)
{
	struct oprf_ctx *ctx = *state;
	json_t *root = testvec_load(OPRF_FILE), *suite, *vectors, *v;
	size_t si, vi, k, suites = 0, count = 0, all_n = 0;
	uint8_t all_blinded[64 * OPRF_ELEMENT_LEN], all_expect[64 * OPRF_ELEMENT_LEN];
	uint8_t all_got[64 * OPRF_ELEMENT_LEN];

	if (root == NULL) {
		testskip("no CASELINK_SHARED/vectors folder (needed for " OPRF_FILE ")");
	}
	assert_true(json_is_array(root));
	json_array_foreach(root, si, suite)
	{
		json_t *id = json_object_get(suite, "identifier");
		json_t *mode = json_object_get(suite, "mode");
		uint8_t seed[OPRF_SEED_LEN], info[256], sk[OPRF_SCALAR_LEN], esk[OPRF_SCALAR_LEN];
		uint8_t pk[OPRF_ELEMENT_LEN], pk2[OPRF_ELEMENT_LEN], gen[OPRF_ELEMENT_LEN];
		const char *info_hex;
		size_t infolen;

		if (!json_is_string(id) || strcmp(json_string_value(id), "P256-SHA256") != 0 ||
		    !json_is_integer(mode) || json_integer_value(mode) != 0)
			continue;
		suites++;
		hex_exact(json_string_value(json_object_get(suite, "seed")), seed, sizeof(seed));
		info_hex = json_string_value(json_object_get(suite, "keyInfo"));
		assert_non_null(info_hex);
		infolen = hex_n(info_hex, strlen(info_hex), info, sizeof(info));
		hex_exact(json_string_value(json_object_get(suite, "skSm")), esk, sizeof(esk));
		assert_int_equal(oprf_derive_keypair(ctx, seed, info, infolen, sk, pk), 0);
		assert_memory_equal(sk, esk, sizeof(sk));
		/* pk = sk * G, checked through BlindEvaluate on the generator. */
		hex_exact(gen_hex, gen, sizeof(gen));
		assert_int_equal(oprf_blind_evaluate(ctx, sk, gen, pk2), 0);
		assert_memory_equal(pk, pk2, sizeof(pk));

		vectors = json_object_get(suite, "vectors");
		assert_true(json_is_array(vectors));
		json_array_foreach(vectors, vi, v)
		{
			struct field in, blind, be, ee, outp;
			uint8_t blinded[MAX_BATCH * OPRF_ELEMENT_LEN];
			uint8_t evaluated[MAX_BATCH * OPRF_ELEMENT_LEN];
			uint8_t out[OPRF_OUTPUT_LEN], direct[OPRF_OUTPUT_LEN];
			json_t *batch = json_object_get(v, "Batch");

			split_field(v, "Input", &in);
			split_field(v, "Blind", &blind);
			split_field(v, "BlindedElement", &be);
			split_field(v, "EvaluationElement", &ee);
			split_field(v, "Output", &outp);
			assert_true(json_is_integer(batch));
			assert_int_equal(in.n, (size_t)json_integer_value(batch));
			assert_int_equal(blind.n, in.n);
			assert_int_equal(be.n, in.n);
			assert_int_equal(ee.n, in.n);
			assert_int_equal(outp.n, in.n);
			for (k = 0; k < in.n; k++) {
				assert_int_equal(blind.len[k], OPRF_SCALAR_LEN);
				assert_int_equal(be.len[k], OPRF_ELEMENT_LEN);
				assert_int_equal(ee.len[k], OPRF_ELEMENT_LEN);
				assert_int_equal(outp.len[k], OPRF_OUTPUT_LEN);
				assert_int_equal(oprf_blind_with(ctx, in.val[k], in.len[k],
								 blind.val[k],
								 blinded + k * OPRF_ELEMENT_LEN),
						 0);
				assert_memory_equal(blinded + k * OPRF_ELEMENT_LEN, be.val[k],
						    OPRF_ELEMENT_LEN);
			}
			assert_int_equal(
			    oprf_blind_evaluate_batch(ctx, sk, blinded, in.n, evaluated), 0);
			for (k = 0; k < in.n; k++) {
				assert_memory_equal(evaluated + k * OPRF_ELEMENT_LEN, ee.val[k],
						    OPRF_ELEMENT_LEN);
				assert_int_equal(
				    oprf_finalize(ctx, in.val[k], in.len[k], blind.val[k],
						  evaluated + k * OPRF_ELEMENT_LEN, out),
				    0);
				assert_memory_equal(out, outp.val[k], OPRF_OUTPUT_LEN);
				assert_int_equal(
				    oprf_evaluate(ctx, sk, in.val[k], in.len[k], direct), 0);
				assert_memory_equal(direct, outp.val[k], OPRF_OUTPUT_LEN);
				assert_true(all_n < 64);
				memcpy(all_blinded + all_n * OPRF_ELEMENT_LEN, be.val[k],
				       OPRF_ELEMENT_LEN);
				memcpy(all_expect + all_n * OPRF_ELEMENT_LEN, ee.val[k],
				       OPRF_ELEMENT_LEN);
				all_n++;
			}
			count++;
		}
		/* All of the suite's blinded elements in one batch call. */
		assert_int_equal(oprf_blind_evaluate_batch(ctx, sk, all_blinded, all_n, all_got),
				 0);
		assert_memory_equal(all_got, all_expect, all_n * OPRF_ELEMENT_LEN);
		all_n = 0;
	}
	assert_true(suites >= 1);
	assert_true(count >= 2);
	print_message("RFC 9497 P256-SHA256 mode 0: %zu suite(s), %zu vectors reproduced\n", suites,
		      count);
	json_decref(root);
}

static void test_bad_elements_refused(void **state)
{
	struct oprf_ctx *ctx = *state;
	uint8_t sk[OPRF_SCALAR_LEN], pk[OPRF_ELEMENT_LEN], el[OPRF_ELEMENT_LEN];
	uint8_t out[OPRF_ELEMENT_LEN], good[OPRF_ELEMENT_LEN], blind[OPRF_SCALAR_LEN];
	uint8_t batch[3 * OPRF_ELEMENT_LEN], bout[3 * OPRF_ELEMENT_LEN], fin[OPRF_OUTPUT_LEN];
	const uint8_t input[] = "EE:38001085718";

	assert_int_equal(oprf_generate_key(ctx, sk, pk), 0);
	memset(out, 0x5a, sizeof(out));

	/* The identity: SEC1 encodes it as a single 0x00; a 0x00 prefix is refused. */
	memset(el, 0, sizeof(el));
	assert_int_equal(oprf_blind_evaluate(ctx, sk, el, out), CL_EBADPOINT);
	/* Uncompressed and unknown prefixes. */
	hex_exact(gen_hex, el, sizeof(el));
	el[0] = 0x04;
	assert_int_equal(oprf_blind_evaluate(ctx, sk, el, out), CL_EBADPOINT);
	el[0] = 0x05;
	assert_int_equal(oprf_blind_evaluate(ctx, sk, el, out), CL_EBADPOINT);
	/* x = 1: x^3 - 3x + b is not a square modulo p, so no point has this x. */
	memset(el, 0, sizeof(el));
	el[0] = 0x02;
	el[32] = 0x01;
	assert_int_equal(oprf_blind_evaluate(ctx, sk, el, out), CL_EBADPOINT);
	el[0] = 0x03;
	assert_int_equal(oprf_blind_evaluate(ctx, sk, el, out), CL_EBADPOINT);
	/* x >= p. */
	memset(el, 0xff, sizeof(el));
	el[0] = 0x02;
	assert_int_equal(oprf_blind_evaluate(ctx, sk, el, out), CL_EBADPOINT);
	/* Nothing was written by any refusal. */
	assert_int_equal(out[0], 0x5a);
	assert_int_equal(out[OPRF_ELEMENT_LEN - 1], 0x5a);

	/* x = 0 is on the curve: accepted (a control for the x = 1 case above). */
	memset(el, 0, sizeof(el));
	el[0] = 0x02;
	assert_int_equal(oprf_blind_evaluate(ctx, sk, el, out), 0);

	/* One bad element fails the whole batch and leaves the output untouched. */
	assert_int_equal(oprf_blind(ctx, input, sizeof(input) - 1, blind, good), 0);
	memcpy(batch, good, OPRF_ELEMENT_LEN);
	memcpy(batch + OPRF_ELEMENT_LEN, good, OPRF_ELEMENT_LEN);
	memset(batch + 2 * OPRF_ELEMENT_LEN, 0, OPRF_ELEMENT_LEN);
	memset(bout, 0x77, sizeof(bout));
	assert_int_equal(oprf_blind_evaluate_batch(ctx, sk, batch, 3, bout), CL_EBADPOINT);
	assert_int_equal(bout[0], 0x77);
	assert_int_equal(oprf_blind_evaluate_batch(ctx, sk, batch, 2, bout), 0);
	assert_memory_equal(bout, bout + OPRF_ELEMENT_LEN, OPRF_ELEMENT_LEN);
	assert_int_equal(oprf_blind_evaluate_batch(ctx, sk, batch, 0, bout), CL_EINVAL);
	assert_int_equal(
	    oprf_blind_evaluate_batch(ctx, sk, batch, (size_t)OPRF_MAX_BATCH + 1, bout), CL_EINVAL);

	/* Finalize refuses a bad evaluated element too. */
	memset(el, 0, sizeof(el));
	el[0] = 0x02;
	el[32] = 0x01;
	assert_int_equal(oprf_finalize(ctx, input, sizeof(input) - 1, blind, el, fin),
			 CL_EBADPOINT);
}

static void test_bad_scalars_refused(void **state)
{
	struct oprf_ctx *ctx = *state;
	uint8_t sk[OPRF_SCALAR_LEN], el[OPRF_ELEMENT_LEN], out[OPRF_ELEMENT_LEN];
	uint8_t blinded[OPRF_ELEMENT_LEN], fin[OPRF_OUTPUT_LEN];
	const uint8_t input[] = "x";

	hex_exact(gen_hex, el, sizeof(el));
	memset(sk, 0, sizeof(sk));
	assert_int_equal(oprf_blind_evaluate(ctx, sk, el, out), CL_EINVAL);
	assert_int_equal(oprf_blind_with(ctx, input, 1, sk, blinded), CL_EINVAL);
	assert_int_equal(oprf_finalize(ctx, input, 1, sk, el, fin), CL_EINVAL);
	hex_exact(order_hex, sk, sizeof(sk)); /* n */
	assert_int_equal(oprf_blind_evaluate(ctx, sk, el, out), CL_EINVAL);
	memset(sk, 0xff, sizeof(sk));
	assert_int_equal(oprf_blind_evaluate(ctx, sk, el, out), CL_EINVAL);
	/* n - 1 is the largest valid scalar: (n - 1) * G = -G, same x, other parity. */
	hex_exact(order_hex, sk, sizeof(sk));
	sk[31] -= 1;
	assert_int_equal(oprf_blind_evaluate(ctx, sk, el, out), 0);
	assert_memory_equal(out + 1, el + 1, OPRF_ELEMENT_LEN - 1);
	assert_int_equal(out[0], 0x02);
	/* 1 * G = G. */
	memset(sk, 0, sizeof(sk));
	sk[31] = 1;
	assert_int_equal(oprf_blind_evaluate(ctx, sk, el, out), 0);
	assert_memory_equal(out, el, OPRF_ELEMENT_LEN);
	/* 1 * (-G) = -G: the even-y encoding decodes to the other point of the same x. */
	el[0] = 0x02;
	assert_int_equal(oprf_blind_evaluate(ctx, sk, el, out), 0);
	assert_memory_equal(out, el, OPRF_ELEMENT_LEN);
	/* (n - 1) * (-G) = G. */
	hex_exact(order_hex, sk, sizeof(sk));
	sk[31] -= 1;
	assert_int_equal(oprf_blind_evaluate(ctx, sk, el, out), 0);
	assert_int_equal(out[0], 0x03);
	assert_memory_equal(out + 1, el + 1, OPRF_ELEMENT_LEN - 1);
}

static void test_bad_lengths_refused(void **state)
{
	struct oprf_ctx *ctx = *state;
	uint8_t seed[OPRF_SEED_LEN] = {0}, sk[OPRF_SCALAR_LEN], pk[OPRF_ELEMENT_LEN];
	uint8_t blind[OPRF_SCALAR_LEN], blinded[OPRF_ELEMENT_LEN];
	uint8_t *big = calloc(1, (size_t)OPRF_MAX_INPUT_LEN + 1);

	assert_non_null(big);
	assert_int_equal(oprf_derive_keypair(ctx, seed, big, (size_t)OPRF_MAX_INFO_LEN + 1, sk, pk),
			 CL_EINVAL);
	assert_int_equal(oprf_blind(ctx, big, (size_t)OPRF_MAX_INPUT_LEN + 1, blind, blinded),
			 CL_EINVAL);
	assert_int_equal(oprf_blind(ctx, big, OPRF_MAX_INPUT_LEN, blind, blinded), 0);
	assert_int_equal(oprf_blind(ctx, NULL, 0, blind, blinded), 0);
	free(big);
}

/* Two blinds: different blinded elements, the same output, equal to the direct evaluation. */
static void test_blinds_and_keys(void **state)
{
	struct oprf_ctx *ctx = *state;
	uint8_t sk1[OPRF_SCALAR_LEN], pk1[OPRF_ELEMENT_LEN], sk2[OPRF_SCALAR_LEN];
	uint8_t pk2[OPRF_ELEMENT_LEN], b1[OPRF_SCALAR_LEN], b2[OPRF_SCALAR_LEN];
	uint8_t be1[OPRF_ELEMENT_LEN], be2[OPRF_ELEMENT_LEN], ev1[OPRF_ELEMENT_LEN];
	uint8_t ev2[OPRF_ELEMENT_LEN], o1[OPRF_OUTPUT_LEN], o2[OPRF_OUTPUT_LEN];
	uint8_t o3[OPRF_OUTPUT_LEN], od[OPRF_OUTPUT_LEN], oo[OPRF_OUTPUT_LEN];
	const uint8_t input[] = "LT:39001010000", other[] = "LT:39001010001";
	size_t len = sizeof(input) - 1;

	assert_int_equal(oprf_generate_key(ctx, sk1, pk1), 0);
	assert_int_equal(oprf_generate_key(ctx, sk2, pk2), 0);
	assert_memory_not_equal(sk1, sk2, sizeof(sk1));
	assert_memory_not_equal(pk1, pk2, sizeof(pk1));

	assert_int_equal(oprf_blind(ctx, input, len, b1, be1), 0);
	assert_int_equal(oprf_blind(ctx, input, len, b2, be2), 0);
	assert_memory_not_equal(b1, b2, sizeof(b1));
	assert_memory_not_equal(be1, be2, sizeof(be1));
	assert_int_equal(oprf_blind_evaluate(ctx, sk1, be1, ev1), 0);
	assert_int_equal(oprf_blind_evaluate(ctx, sk1, be2, ev2), 0);
	assert_int_equal(oprf_finalize(ctx, input, len, b1, ev1, o1), 0);
	assert_int_equal(oprf_finalize(ctx, input, len, b2, ev2, o2), 0);
	assert_memory_equal(o1, o2, sizeof(o1));
	assert_int_equal(oprf_evaluate(ctx, sk1, input, len, od), 0);
	assert_memory_equal(o1, od, sizeof(o1));

	/* Another key gives another output for the same input. */
	assert_int_equal(oprf_blind_evaluate(ctx, sk2, be1, ev1), 0);
	assert_int_equal(oprf_finalize(ctx, input, len, b1, ev1, o3), 0);
	assert_memory_not_equal(o1, o3, sizeof(o1));
	/* Another input gives another output under the same key. */
	assert_int_equal(oprf_evaluate(ctx, sk1, other, len, oo), 0);
	assert_memory_not_equal(o1, oo, sizeof(o1));
	/* Unblinding with the wrong blind gives a wrong output. */
	assert_int_equal(oprf_blind_evaluate(ctx, sk1, be1, ev1), 0);
	assert_int_equal(oprf_finalize(ctx, input, len, b2, ev1, o3), 0);
	assert_memory_not_equal(o1, o3, sizeof(o1));
}

/* DeriveKeyPair is deterministic in (seed, info) and separates different infos. */
static void test_derive_keypair(void **state)
{
	struct oprf_ctx *ctx = *state;
	uint8_t seed[OPRF_SEED_LEN], sk1[OPRF_SCALAR_LEN], sk2[OPRF_SCALAR_LEN];
	uint8_t sk3[OPRF_SCALAR_LEN], pk1[OPRF_ELEMENT_LEN], pk2[OPRF_ELEMENT_LEN];
	uint8_t pk3[OPRF_ELEMENT_LEN];
	const uint8_t info1[] = "epoch 1", info2[] = "epoch 2";

	memset(seed, 0x42, sizeof(seed));
	assert_int_equal(oprf_derive_keypair(ctx, seed, info1, 7, sk1, pk1), 0);
	assert_int_equal(oprf_derive_keypair(ctx, seed, info1, 7, sk2, pk2), 0);
	assert_int_equal(oprf_derive_keypair(ctx, seed, info2, 7, sk3, pk3), 0);
	assert_memory_equal(sk1, sk2, sizeof(sk1));
	assert_memory_equal(pk1, pk2, sizeof(pk1));
	assert_memory_not_equal(sk1, sk3, sizeof(sk1));
	assert_memory_not_equal(pk1, pk3, sizeof(pk1));
	assert_int_equal(oprf_derive_keypair(ctx, seed, NULL, 0, sk3, pk3), 0);
	assert_memory_not_equal(sk1, sk3, sizeof(sk1));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_rfc9497_vectors, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_bad_elements_refused, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_bad_scalars_refused, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_bad_lengths_refused, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_blinds_and_keys, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_derive_keypair, setup, teardown),
	};
	return testskip_status(cmocka_run_group_tests(tests, NULL, NULL));
}
