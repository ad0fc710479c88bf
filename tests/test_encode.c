/* Tests of protocol/encode: q-grams, tokens against OpenSSL's HMAC(), Bloom filter properties. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include "common/cl_error.h"
#include "protocol/encode.h"

static void test_qgrams_ascii(void **state)
{
	char g[16][ENC_QGRAM_SLOT];
	size_t n = 0;

	(void)state;
	assert_int_equal(enc_qgrams("anna", 4, g, 16, &n), 0);
	/* _a an nn na a_ : all distinct */
	assert_int_equal(n, 5);
	assert_string_equal(g[0], "_a");
	assert_string_equal(g[1], "an");
	assert_string_equal(g[2], "nn");
	assert_string_equal(g[3], "na");
	assert_string_equal(g[4], "a_");
	/* duplicates are kept once */
	assert_int_equal(enc_qgrams("aaa", 3, g, 16, &n), 0);
	assert_int_equal(n, 3);
	assert_string_equal(g[1], "aa");
	assert_string_equal(g[2], "a_");
	assert_int_equal(enc_qgrams("x", 1, g, 16, &n), 0);
	assert_int_equal(n, 2);
	assert_string_equal(g[0], "_x");
	assert_string_equal(g[1], "x_");
	n = 99;
	assert_int_equal(enc_qgrams("", 0, g, 16, &n), 0);
	assert_int_equal(n, 0);
	/* a space is a character of its own */
	assert_int_equal(enc_qgrams("a b", 3, g, 16, &n), 0);
	assert_int_equal(n, 4);
	assert_string_equal(g[1], "a ");
	assert_string_equal(g[2], " b");
}

static void test_qgrams_utf8_and_limits(void **state)
{
	char g[8][ENC_QGRAM_SLOT];
	const char *cyr = "\xd0\xb0\xd0\xb1"; /* two Cyrillic letters: а б */
	size_t n = 0;

	(void)state;
	assert_int_equal(enc_qgrams(cyr, 4, g, 8, &n), 0);
	assert_int_equal(n, 3);
	assert_string_equal(g[0], "_\xd0\xb0");
	assert_string_equal(g[1], "\xd0\xb0\xd0\xb1");
	assert_string_equal(g[2], "\xd0\xb1_");
	assert_int_equal(enc_qgrams("\xd0", 1, g, 8, &n), CL_EPARSE);
	assert_int_equal(enc_qgrams("\xc0\xaf", 2, g, 8, &n), CL_EPARSE);
	assert_int_equal(enc_qgrams("a_b", 3, g, 8, &n), CL_EPARSE);
	assert_int_equal(enc_qgrams("abcdefghij", 10, g, 8, &n), CL_ELIMIT);
}

static void test_qgram_input_tags(void **state)
{
	unsigned char a[ENC_QIN_MAX], b[ENC_QIN_MAX];
	size_t la = 0, lb = 0;

	(void)state;
	assert_int_equal(enc_qgram_input(ENC_FIELD_GIVEN, "ab", a, &la), 0);
	assert_int_equal(enc_qgram_input(ENC_FIELD_FAMILY, "ab", b, &lb), 0);
	assert_int_equal(la, 3);
	assert_int_equal(lb, 3);
	assert_int_equal(a[0], 0x01);
	assert_int_equal(b[0], 0x02);
	assert_memory_equal(a + 1, "ab", 2);
	assert_memory_not_equal(a, b, 3);
	assert_int_equal(enc_qgram_input(ENC_FIELD_MAX, "ab", a, &la), CL_EINVAL);
	assert_int_equal(enc_qgram_input(0, "", a, &la), CL_EINVAL);
}

/* The former record-level field set (given 10, family 10, birth 20), as FEBRL4 uses. */
static void set_k3(struct enc_query *q)
{
	assert_int_equal(enc_query_set_k(q, ENC_FIELD_GIVEN, 10), 0);
	assert_int_equal(enc_query_set_k(q, ENC_FIELD_FAMILY, 10), 0);
	assert_int_equal(enc_query_set_k(q, ENC_FIELD_BIRTH, 20), 0);
}

static void test_token_matches_hmac(void **state)
{
	unsigned char key[64 * 32], nonce[32], ref[32], got[64 * 32];
	unsigned int len = 0;
	int round, i;

	(void)state;
	for (round = 0; round < 20; round++) {
		assert_int_equal(RAND_bytes(key, sizeof(key)), 1);
		assert_int_equal(RAND_bytes(nonce, sizeof(nonce)), 1);
		assert_int_equal(enc_tokens(key, 64, nonce, got), 0);
		for (i = 0; i < 64; i++) {
			assert_non_null(HMAC(EVP_sha256(), key + 32 * i, 32, nonce, 32, ref, &len));
			assert_int_equal(len, 32);
			assert_memory_equal(got + 32 * i, ref, 32);
		}
		assert_int_equal(enc_token(key, nonce, got), 0);
		assert_non_null(HMAC(EVP_sha256(), key, 32, nonce, 32, ref, &len));
		assert_memory_equal(got, ref, 32);
	}
	/* prepared key states give the same tokens */
	{
		unsigned char prep[64 * ENC_PREP_LEN], alt[64 * 32];

		assert_int_equal(enc_token_prepare(key, 64, prep), 0);
		assert_int_equal(enc_tokens_prepared(prep, 64, nonce, alt), 0);
		assert_int_equal(enc_tokens(key, 64, nonce, got), 0);
		assert_memory_equal(alt, got, sizeof(alt));
	}
	/* in place */
	memcpy(got, key, 32 * 4);
	assert_int_equal(enc_tokens(got, 4, nonce, got), 0);
	assert_non_null(HMAC(EVP_sha256(), key + 96, 32, nonce, 32, ref, &len));
	assert_memory_equal(got + 96, ref, 32);
}

static void test_token_nonce(void **state)
{
	unsigned char o[32], n1[32], n2[32], t1[32], t2[32], t3[32];

	(void)state;
	assert_int_equal(RAND_bytes(o, 32), 1);
	assert_int_equal(RAND_bytes(n1, 32), 1);
	assert_int_equal(RAND_bytes(n2, 32), 1);
	assert_int_equal(enc_token(o, n1, t1), 0);
	assert_int_equal(enc_token(o, n1, t2), 0);
	assert_int_equal(enc_token(o, n2, t3), 0);
	assert_memory_equal(t1, t2, 32);
	assert_memory_not_equal(t1, t3, 32);
}

/* Builds fake q-gram OPRF outputs for a name: a keyed hash of (field, q-gram). */
static size_t fake_record(const unsigned char key[32], const char *given, const char *family,
			  const char *dob, unsigned char *oprf, unsigned char *fields)
{
	const char *txt[3] = {given, family, dob};
	char g[64][ENC_QGRAM_SLOT];
	size_t n = 0, m, i, l;
	unsigned f;

	for (f = 0; f < 3; f++) {
		assert_int_equal(enc_qgrams(txt[f], strlen(txt[f]), g, 64, &m), 0);
		for (i = 0; i < m; i++) {
			unsigned char in[ENC_QIN_MAX];
			unsigned int len = 0;

			assert_int_equal(enc_qgram_input(f, g[i], in, &l), 0);
			assert_non_null(HMAC(EVP_sha256(), key, 32, in, l, oprf + 32 * n, &len));
			fields[n++] = (unsigned char)f;
		}
	}
	return n;
}

static unsigned popcount_filter(const unsigned char *b)
{
	unsigned p = 0;
	int i;

	for (i = 0; i < ENC_BLOOM_BYTES; i++)
		p += (unsigned)__builtin_popcount(b[i]);
	return p;
}

static void test_bloom_properties(void **state)
{
	unsigned char key[32], n1[32], n2[32], o1[64 * 32], o2[64 * 32], o3[64 * 32];
	unsigned char f1[64], f2[64], f3[64], tok[64 * 32];
	unsigned char a[128], b[128], c[128], d[128], e[128], empty[128];
	struct enc_query *q1 = NULL, *q2 = NULL;
	size_t m1, m2, m3;
	double dsame, dsim, dother, dnonce;

	(void)state;
	assert_int_equal(RAND_bytes(key, 32), 1);
	assert_int_equal(RAND_bytes(n1, 32), 1);
	assert_int_equal(RAND_bytes(n2, 32), 1);
	assert_int_equal(enc_query_new(n1, &q1), 0);
	assert_int_equal(enc_query_new(n2, &q2), 0);
	set_k3(q1);
	set_k3(q2);
	m1 = fake_record(key, "michaela", "neumann", "19151111", o1, f1);
	m2 = fake_record(key, "michaela", "neuman", "19151111", o2, f2);
	m3 = fake_record(key, "courtney", "painter", "19161214", o3, f3);

	assert_int_equal(enc_bloom(q1, o1, f1, m1, a), 0);
	assert_int_equal(enc_bloom(q1, o1, f1, m1, b), 0);
	assert_memory_equal(a, b, 128);
	/* the token path gives the same filter */
	assert_int_equal(enc_tokens(o1, m1, n1, tok), 0);
	assert_int_equal(enc_bloom_tokens(q1, tok, f1, m1, e), 0);
	assert_memory_equal(a, e, 128);
	assert_int_equal(enc_bloom(q1, o2, f2, m2, c), 0);
	assert_int_equal(enc_bloom(q1, o3, f3, m3, d), 0);
	assert_int_equal(enc_bloom(q2, o1, f1, m1, e), 0);
	assert_int_equal(enc_bloom(q1, o1, f1, 0, empty), 0);

	/* balanced: exactly half the bits set, whatever the input */
	assert_int_equal(popcount_filter(a), 512);
	assert_int_equal(popcount_filter(c), 512);
	assert_int_equal(popcount_filter(d), 512);
	assert_int_equal(popcount_filter(e), 512);
	assert_int_equal(popcount_filter(empty), 512);

	dsame = enc_dice(a, b);
	dsim = enc_dice(a, c);
	dother = enc_dice(a, d);
	dnonce = enc_dice(a, e);
	print_message("dice same %.3f similar %.3f other %.3f other-nonce %.3f\n", dsame, dsim,
		      dother, dnonce);
	assert_true(dsame == 1.0);
	assert_true(dsim > 0.9 && dsim < 1.0);
	assert_true(dother < 0.7);
	assert_true(dnonce > 0.35 && dnonce < 0.65);
	/* Dice of balanced filters is one minus the normalised Hamming distance */
	{
		unsigned h = 0;
		int i;

		for (i = 0; i < 128; i++)
			h += (unsigned)__builtin_popcount((unsigned)(a[i] ^ d[i]));
		assert_true(dother > 1.0 - h / 1024.0 - 1e-12 && dother < 1.0 - h / 1024.0 + 1e-12);
	}
	/* k = 0 leaves a field out: the family name no longer matters */
	assert_int_equal(enc_query_set_k(q1, ENC_FIELD_FAMILY, 0), 0);
	assert_int_equal(enc_bloom(q1, o1, f1, m1, a), 0);
	assert_int_equal(enc_bloom(q1, o2, f2, m2, c), 0);
	assert_memory_equal(a, c, 128);
	assert_int_equal(enc_query_set_k(q1, 0, ENC_K_MAX + 1), CL_EINVAL);
	assert_int_equal(enc_query_set_k(q1, ENC_FIELD_MAX, 1), CL_EINVAL);
	f1[0] = ENC_FIELD_MAX;
	assert_int_equal(enc_bloom(q1, o1, f1, m1, a), CL_EINVAL);
	enc_query_free(q1);
	enc_query_free(q2);
}

/* The complement positions differ per nonce: the balanced halves are not at fixed offsets. */
static void test_bloom_permutation(void **state)
{
	unsigned char n1[32], n2[32], a[128], b[128];
	struct enc_query *q1 = NULL, *q2 = NULL;

	(void)state;
	assert_int_equal(RAND_bytes(n1, 32), 1);
	memcpy(n2, n1, 32);
	n2[31] ^= 1;
	assert_int_equal(enc_query_new(n1, &q1), 0);
	assert_int_equal(enc_query_new(n2, &q2), 0);
	set_k3(q1);
	set_k3(q2);
	assert_int_equal(enc_bloom(q1, NULL, NULL, 0, a), 0);
	assert_int_equal(enc_bloom(q2, NULL, NULL, 0, b), 0);
	assert_memory_not_equal(a, b, 128);
	/* not the plain layout base || complement */
	{
		static const unsigned char plain_first[64];

		assert_memory_not_equal(a, plain_first, 64);
	}
	enc_query_free(q1);
	enc_query_free(q2);
}

/* Bigram sequences with repeats, and the derived tokens against OpenSSL's HMAC(). */
static void test_derived_tokens(void **state)
{
	static const char *const lab[3] = {"caselink/v1/derived/birth-year",
					   "caselink/v1/derived/birth-date",
					   "caselink/v1/derived/given-name"};
	char g[16][ENC_QGRAM_SLOT];
	unsigned char tok[16 * 32], a[32], b[32], ref[32];
	unsigned int len = 0;
	size_t n = 0, i;
	unsigned f = 99;

	(void)state;
	assert_int_equal(enc_qgram_seq("anan", 4, g, 16, &n), 0);
	assert_int_equal(n, 5);
	assert_string_equal(g[1], "an");
	assert_string_equal(g[3], "an");
	assert_int_equal(enc_qgrams("anan", 4, g, 16, &n), 0);
	assert_int_equal(n, 4);
	/* the year: the first four bigrams, the same for a full and a year-only date */
	assert_int_equal(enc_derived_qgrams(ENC_DERIVED_YEAR, "19780120", 8, g, 16, &n, &f), 0);
	assert_int_equal(n, 4);
	assert_int_equal(f, ENC_FIELD_BIRTH);
	assert_string_equal(g[0], "_1");
	assert_string_equal(g[3], "78");
	assert_int_equal(enc_derived_qgrams(ENC_DERIVED_YEAR, "1978", 4, g, 16, &n, &f), 0);
	assert_int_equal(n, 4);
	assert_string_equal(g[3], "78");
	assert_int_equal(enc_derived_qgrams(ENC_DERIVED_DATE, "19780120", 8, g, 16, &n, &f), 0);
	assert_int_equal(n, 9);
	assert_int_equal(enc_derived_qgrams(ENC_DERIVED_DATE, "1978", 4, g, 16, &n, &f),
			 CL_ENOTFOUND);
	assert_int_equal(enc_derived_qgrams(ENC_DERIVED_GIVEN, "anna", 4, g, 16, &n, &f), 0);
	assert_int_equal(n, 5);
	assert_int_equal(f, ENC_FIELD_GIVEN);
	assert_int_equal(enc_derived_qgrams(ENC_DERIVED_GIVEN, "", 0, g, 16, &n, &f), CL_ENOTFOUND);
	assert_int_equal(enc_derived_qgrams(ENC_DERIVED_MAX, "x", 1, g, 16, &n, &f), CL_EINVAL);

	/* HMAC-SHA256 keyed by the tokens, over the kind's label */
	assert_int_equal(RAND_bytes(tok, sizeof(tok)), 1);
	for (i = 0; i < ENC_DERIVED_MAX; i++) {
		assert_int_equal(enc_derived_token((unsigned)i, tok, 9, a), 0);
		assert_non_null(HMAC(EVP_sha256(), tok, 9 * 32, (const unsigned char *)lab[i],
				     strlen(lab[i]), ref, &len));
		assert_memory_equal(a, ref, 32);
	}
	/* kinds and inputs are separated: another kind, another token, one token changed */
	assert_int_equal(enc_derived_token(ENC_DERIVED_YEAR, tok, 4, a), 0);
	assert_int_equal(enc_derived_token(ENC_DERIVED_DATE, tok, 4, b), 0);
	assert_memory_not_equal(a, b, 32);
	tok[100] ^= 1;
	assert_int_equal(enc_derived_token(ENC_DERIVED_YEAR, tok, 4, b), 0);
	assert_memory_not_equal(a, b, 32);
	assert_int_equal(enc_derived_token(ENC_DERIVED_YEAR, tok, 0, b), CL_EINVAL);
	assert_int_equal(enc_derived_token(ENC_DERIVED_YEAR, tok, ENC_DERIVED_QMAX + 1, b),
			 CL_EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_qgrams_ascii),      cmocka_unit_test(test_qgrams_utf8_and_limits),
	    cmocka_unit_test(test_qgram_input_tags),  cmocka_unit_test(test_token_matches_hmac),
	    cmocka_unit_test(test_token_nonce),	      cmocka_unit_test(test_bloom_properties),
	    cmocka_unit_test(test_bloom_permutation), cmocka_unit_test(test_derived_tokens),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
