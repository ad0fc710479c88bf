/*
 * test_h2c — RFC 9380 expand_message_xmd and P256_XMD:SHA-256_SSWU_RO_ against every published
 * vector in CASELINK_SHARED/vectors, plus argument checks and the exceptional case of the map.
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
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/rand.h>

#include "common/cl_error.h"
#include "testskip.h"
#include "testvec.h"
#include "protocol/h2c.h"

#define XMD_FILE "rfc9380-expand_message_xmd_SHA256_38.json"
#define H2C_FILE "rfc9380-P256_XMD-SHA-256_SSWU_RO.json"

/* Decodes hex (an optional 0x prefix) into out, left-padded with zeros to outlen bytes. */
static void hex_fixed(const char *hex, uint8_t *out, size_t outlen)
{
	size_t len, i, nbytes;

	assert_non_null(hex);
	if (hex[0] == '0' && (hex[1] == 'x' || hex[1] == 'X'))
		hex += 2;
	len = strlen(hex);
	assert_true(len % 2 == 0);
	nbytes = len / 2;
	assert_true(nbytes <= outlen);
	memset(out, 0, outlen);
	for (i = 0; i < nbytes; i++) {
		int hi = testvec_hexval(hex[2 * i]), lo = testvec_hexval(hex[2 * i + 1]);

		assert_true(hi >= 0 && lo >= 0);
		out[outlen - nbytes + i] = (uint8_t)(hi << 4 | lo);
	}
}

/* Decodes hex into a freshly allocated buffer of *outlen bytes. */
static uint8_t *hex_alloc(const char *hex, size_t *outlen)
{
	size_t len;
	uint8_t *out;

	assert_non_null(hex);
	len = strlen(hex);
	assert_true(len % 2 == 0);
	out = malloc(len / 2 + 1);
	assert_non_null(out);
	hex_fixed(hex, out, len / 2);
	*outlen = len / 2;
	return out;
}

static const char *jstr(json_t *obj, const char *key)
{
	json_t *v = json_object_get(obj, key);

	assert_non_null(v);
	assert_true(json_is_string(v));
	return json_string_value(v);
}

static int setup(void **state)
{
	struct h2c_ctx *ctx = NULL;

	if (h2c_ctx_new(&ctx) != 0)
		return -1;
	*state = ctx;
	return 0;
}

static int teardown(void **state)
{
	h2c_ctx_free(*state);
	return 0;
}

static void test_xmd_vectors(void **state)
{
	struct h2c_ctx *ctx = *state;
	json_t *root = testvec_load(XMD_FILE), *tests, *t;
	const char *dst;
	size_t i, count = 0;

	if (root == NULL) {
		testskip("no CASELINK_SHARED/vectors folder (needed for " XMD_FILE ")");
	}
	dst = jstr(root, "DST");
	tests = json_object_get(root, "tests");
	assert_true(json_is_array(tests));
	json_array_foreach(tests, i, t)
	{
		const char *msg = jstr(t, "msg");
		size_t outlen = strtoul(jstr(t, "len_in_bytes"), NULL, 16), elen;
		uint8_t *expect = hex_alloc(jstr(t, "uniform_bytes"), &elen);
		uint8_t *got = malloc(outlen);

		assert_non_null(got);
		assert_int_equal(elen, outlen);
		assert_int_equal(h2c_expand_message_xmd(ctx, (const uint8_t *)msg, strlen(msg),
							(const uint8_t *)dst, strlen(dst), got,
							outlen),
				 0);
		assert_memory_equal(got, expect, outlen);
		free(got);
		free(expect);
		count++;
	}
	assert_true(count >= 10);
	print_message("expand_message_xmd: %zu vectors reproduced\n", count);
	json_decref(root);
}

static void get_affine(struct h2c_ctx *ctx, const EC_POINT *p, uint8_t x[32], uint8_t y[32])
{
	BIGNUM *bx = BN_new(), *by = BN_new();

	assert_non_null(bx);
	assert_non_null(by);
	assert_int_equal(EC_POINT_get_affine_coordinates(h2c_ctx_group(ctx), p, bx, by, NULL), 1);
	assert_int_equal(BN_bn2binpad(bx, x, 32), 32);
	assert_int_equal(BN_bn2binpad(by, y, 32), 32);
	BN_free(bx);
	BN_free(by);
}

static void check_map(struct h2c_ctx *ctx, const uint8_t u[32], json_t *q)
{
	uint8_t x[32], y[32], ex[32], ey[32];

	hex_fixed(jstr(q, "x"), ex, sizeof(ex));
	hex_fixed(jstr(q, "y"), ey, sizeof(ey));
	assert_int_equal(h2c_map_to_curve(ctx, u, x, y), 0);
	assert_memory_equal(x, ex, 32);
	assert_memory_equal(y, ey, 32);
}

static void test_hash_to_curve_vectors(void **state)
{
	struct h2c_ctx *ctx = *state;
	json_t *root = testvec_load(H2C_FILE), *vectors, *v, *q;
	EC_POINT *pt;
	const char *dst;
	size_t i, count = 0;

	if (root == NULL) {
		testskip("no CASELINK_SHARED/vectors folder (needed for " H2C_FILE ")");
	}
	assert_string_equal(jstr(root, "ciphersuite"), "P256_XMD:SHA-256_SSWU_RO_");
	dst = jstr(root, "dst");
	vectors = json_object_get(root, "vectors");
	assert_true(json_is_array(vectors));
	pt = EC_POINT_new(h2c_ctx_group(ctx));
	assert_non_null(pt);
	json_array_foreach(vectors, i, v)
	{
		const char *msg = jstr(v, "msg");
		json_t *u = json_object_get(v, "u"), *p = json_object_get(v, "P");
		uint8_t u0[32], u1[32], eu0[32], eu1[32], x[32], y[32], ex[32], ey[32];

		assert_true(json_is_array(u) && json_array_size(u) == 2);
		hex_fixed(json_string_value(json_array_get(u, 0)), eu0, 32);
		hex_fixed(json_string_value(json_array_get(u, 1)), eu1, 32);
		assert_int_equal(h2c_hash_to_field(ctx, (const uint8_t *)msg, strlen(msg),
						   (const uint8_t *)dst, strlen(dst), u0, u1),
				 0);
		assert_memory_equal(u0, eu0, 32);
		assert_memory_equal(u1, eu1, 32);
		q = json_object_get(v, "Q0");
		if (q != NULL)
			check_map(ctx, u0, q);
		q = json_object_get(v, "Q1");
		if (q != NULL)
			check_map(ctx, u1, q);
		assert_non_null(p);
		hex_fixed(jstr(p, "x"), ex, 32);
		hex_fixed(jstr(p, "y"), ey, 32);
		assert_int_equal(h2c_hash_to_curve(ctx, (const uint8_t *)msg, strlen(msg),
						   (const uint8_t *)dst, strlen(dst), pt),
				 0);
		get_affine(ctx, pt, x, y);
		assert_memory_equal(x, ex, 32);
		assert_memory_equal(y, ey, 32);
		count++;
	}
	assert_true(count >= 5);
	print_message("hash_to_curve: %zu vectors reproduced (u, Q0, Q1, P)\n", count);
	EC_POINT_free(pt);
	json_decref(root);
}

/* Returns 1 when (x, y) is a point of P-256, checked by OpenSSL independently of the map. */
static int on_curve(struct h2c_ctx *ctx, const uint8_t x[32], const uint8_t y[32])
{
	BIGNUM *bx = BN_bin2bn(x, 32, NULL), *by = BN_bin2bn(y, 32, NULL);
	EC_POINT *p = EC_POINT_new(h2c_ctx_group(ctx));
	int ok;

	assert_non_null(bx);
	assert_non_null(by);
	assert_non_null(p);
	ok = EC_POINT_set_affine_coordinates(h2c_ctx_group(ctx), p, bx, by, NULL) == 1 &&
	     EC_POINT_is_on_curve(h2c_ctx_group(ctx), p, NULL) == 1;
	EC_POINT_free(p);
	BN_free(bx);
	BN_free(by);
	return ok;
}

/*
 * u = 0 takes the exceptional branch of SSWU (tv2 == 0, x = B / (Z * A)); random u take both
 * the square and the non-square branch. Every result must be on the curve, and sgn0(y) must equal
 * sgn0(u) as the map requires.
 */
static void test_map_exceptional_and_random(void **state)
{
	struct h2c_ctx *ctx = *state;
	uint8_t u[32], x[32], y[32], prev_x[32];
	int i;

	memset(u, 0, sizeof(u));
	assert_int_equal(h2c_map_to_curve(ctx, u, x, y), 0);
	assert_true(on_curve(ctx, x, y));
	assert_int_equal(y[31] & 1, 0);
	memcpy(prev_x, x, 32);
	for (i = 0; i < 64; i++) {
		assert_int_equal(RAND_bytes(u, sizeof(u)), 1);
		u[0] &= 0x7f; /* below p */
		assert_int_equal(h2c_map_to_curve(ctx, u, x, y), 0);
		assert_true(on_curve(ctx, x, y));
		assert_int_equal(y[31] & 1, u[31] & 1);
		assert_memory_not_equal(x, prev_x, 32);
		memcpy(prev_x, x, 32);
	}
}

static void test_bad_arguments(void **state)
{
	struct h2c_ctx *ctx = *state;
	uint8_t out[64], u[32], x[32], y[32], longdst[H2C_MAX_DST_LEN + 1];
	const uint8_t dst[] = "DST";

	memset(out, 0xaa, sizeof(out));
	memset(longdst, 'd', sizeof(longdst));
	assert_int_equal(h2c_expand_message_xmd(ctx, dst, 3, dst, 3, out, 0), CL_EINVAL);
	assert_int_equal(h2c_expand_message_xmd(ctx, dst, 3, dst, 0, out, 32), CL_EINVAL);
	assert_int_equal(h2c_expand_message_xmd(ctx, dst, 3, longdst, sizeof(longdst), out, 32),
			 CL_EINVAL);
	assert_int_equal(h2c_expand_message_xmd(ctx, dst, 3, dst, 3, out, H2C_MAX_XMD_LEN + 1),
			 CL_EINVAL);
	assert_int_equal(out[0], 0xaa); /* nothing written on failure */
	assert_int_equal(h2c_expand_message_xmd(ctx, dst, 3, longdst, H2C_MAX_DST_LEN, out, 32), 0);
	/* u must be a reduced field element: p itself is refused. */
	hex_fixed("ffffffff00000001000000000000000000000000ffffffffffffffffffffffff", u, 32);
	memset(x, 0x55, sizeof(x));
	assert_int_equal(h2c_map_to_curve(ctx, u, x, y), CL_EINVAL);
	assert_int_equal(x[0], 0x55);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_xmd_vectors, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_hash_to_curve_vectors, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_map_exceptional_and_random, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_bad_arguments, setup, teardown),
	};
	return testskip_status(cmocka_run_group_tests(tests, NULL, NULL));
}
