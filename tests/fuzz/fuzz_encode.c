/*
 * libFuzzer harness for protocol/encode's q-gram extraction: raw bytes straight into
 * enc_qgrams (never crashes, and every result is well formed), and bytes through norm_name
 * then enc_qgrams (a normalised name always yields its q-grams). The q-grams, as fake token
 * bytes, also make a Bloom filter, which must be balanced.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/cl_error.h"
#include "common/normalise.h"
#include "protocol/encode.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAXQ (NORM_MAX + 1)

/* Code points in s[0..len) (valid UTF-8 assumed: enc_qgrams accepted it). */
static size_t codepoints(const char *s, size_t len)
{
	size_t i, n = 0;

	for (i = 0; i < len; i++)
		n += ((unsigned char)s[i] & 0xc0) != 0x80;
	return n;
}

/* Checks a q-gram list: distinct, 2 code points each, count <= code points + 1. */
static void check(const char *text, size_t len, char (*g)[ENC_QGRAM_SLOT], size_t n)
{
	size_t i, j;

	if (len == 0 ? n != 0 : (n == 0 || n > codepoints(text, len) + 1))
		abort();
	for (i = 0; i < n; i++) {
		size_t l = strnlen(g[i], ENC_QGRAM_SLOT);

		if (l < 2 || l >= ENC_QGRAM_SLOT || codepoints(g[i], l) != 2)
			abort();
		for (j = 0; j < i; j++)
			if (!strcmp(g[i], g[j]))
				abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char g[MAXQ][ENC_QGRAM_SLOT];
	static unsigned char tok[MAXQ * ENC_TOKEN_LEN], fields[MAXQ];
	unsigned char nonce[ENC_NONCE_LEN] = {1}, f[ENC_BLOOM_BYTES];
	char norm[NORM_MAX];
	struct enc_query *q = NULL;
	size_t n = 0, nl = 0, i, pop = 0;
	int rc;

	if (size > NORM_MAX)
		return 0;
	rc = enc_qgrams((const char *)data, size, g, MAXQ, &n);
	if (rc == 0)
		check((const char *)data, size, g, n);
	else if (rc != CL_EPARSE)
		abort();
	if (norm_name((const char *)data, size, norm, sizeof(norm), &nl) != 0)
		return 0;
	if (enc_qgrams(norm, nl, g, MAXQ, &n) != 0)
		abort(); /* a normalised name is always valid q-gram input */
	check(norm, nl, g, n);
	for (i = 0; i < n; i++) {
		memset(tok + i * ENC_TOKEN_LEN, 0, ENC_TOKEN_LEN);
		memcpy(tok + i * ENC_TOKEN_LEN, g[i], strlen(g[i]));
		fields[i] = (unsigned char)(i % 3);
	}
	if (enc_query_new(nonce, &q) != 0)
		abort();
	if (enc_bloom_tokens(q, tok, fields, n, f) != 0)
		abort();
	for (i = 0; i < ENC_BLOOM_BYTES; i++)
		pop += (size_t)__builtin_popcount(f[i]);
	if (pop != ENC_BLOOM_BITS / 2)
		abort();
	enc_query_free(q);
	return 0;
}
