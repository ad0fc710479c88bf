/*
 * mpc_input — seeded splitting of a node's columns (mpc_input.h).
 */
#include "compute/mpc_input.h"

#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "common/cl_error.h"

int mpc_input_words(const struct mpc_input_shape *s, size_t *words)
{
	size_t W, a, b, t;

	if (s == NULL || words == NULL)
		return CL_EINVAL;
	W = (s->n + 63) / 64;
	if (__builtin_mul_overflow(s->n, s->na, &a) || __builtin_mul_overflow(W, s->nplanes, &b) ||
	    __builtin_add_overflow(a, b, &t) || t > MPC_INPUT_MAX_WORDS)
		return CL_ELIMIT;
	*words = t;
	return 0;
}

int mpc_input_expand(const struct mpc_input_shape *s, const uint8_t seed[MPC_INPUT_SEED],
		     uint64_t *out)
{
	EVP_CIPHER_CTX *c;
	size_t words, done = 0;
	int rc = mpc_input_words(s, &words);

	if (rc != 0)
		return rc;
	if (seed == NULL || (out == NULL && words > 0))
		return CL_EINVAL;
	c = EVP_CIPHER_CTX_new();
	if (c == NULL)
		return CL_ENOMEM;
	if (EVP_EncryptInit_ex(c, EVP_aes_128_ctr(), NULL, seed, seed + 16) != 1)
		rc = CL_ECRYPTO;
	memset(out, 0, words * 8);
	while (rc == 0 && done < words) {
		size_t chunk = words - done < 8192 ? words - done : 8192;
		int outl = 0;

		if (EVP_EncryptUpdate(c, (unsigned char *)(out + done), &outl,
				      (unsigned char *)(out + done), (int)(chunk * 8)) != 1 ||
		    outl != (int)(chunk * 8))
			rc = CL_ECRYPTO;
		done += chunk;
	}
	EVP_CIPHER_CTX_free(c);
	return rc;
}

int mpc_input_split(const struct mpc_input_shape *s, const uint64_t *x, uint64_t *x0,
		    uint8_t seed1[MPC_INPUT_SEED], uint8_t seed2[MPC_INPUT_SEED])
{
	uint8_t s1[MPC_INPUT_SEED], s2[MPC_INPUT_SEED];
	size_t words, arith;
	uint64_t *e = NULL;
	int rc = mpc_input_words(s, &words);

	if (rc != 0)
		return rc;
	if ((x == NULL || x0 == NULL) && words > 0)
		return CL_EINVAL;
	if (RAND_bytes(s1, sizeof(s1)) != 1 || RAND_bytes(s2, sizeof(s2)) != 1)
		return CL_ECRYPTO;
	arith = s->n * s->na;
	rc = mpc_input_expand(s, s1, x0);
	if (rc == 0) {
		e = OPENSSL_malloc(words ? words * 8 : 1);
		rc = e ? mpc_input_expand(s, s2, e) : CL_ENOMEM;
	}
	for (size_t k = 0; rc == 0 && k < words; k++)
		x0[k] = k < arith ? x[k] - x0[k] - e[k] : x[k] ^ x0[k] ^ e[k];
	if (e != NULL)
		OPENSSL_clear_free(e, words ? words * 8 : 1);
	if (rc == 0) {
		memcpy(seed1, s1, sizeof(s1));
		memcpy(seed2, s2, sizeof(s2));
	} else if (words > 0) {
		OPENSSL_cleanse(x0, words * 8);
	}
	OPENSSL_cleanse(s1, sizeof(s1));
	OPENSSL_cleanse(s2, sizeof(s2));
	return rc;
}

int mpc_input_aad(unsigned party, const uint8_t *nonce, size_t nonce_len, uint8_t out[64],
		  size_t *len)
{
	static const char tag[] = "caselink/shares/v1";

	if ((party != 1 && party != 2) || nonce == NULL || nonce_len == 0 || nonce_len > 32 ||
	    out == NULL || len == NULL)
		return CL_EINVAL;
	memcpy(out, tag, sizeof(tag)); /* with its NUL */
	out[sizeof(tag)] = (uint8_t)party;
	memcpy(out + sizeof(tag) + 1, nonce, nonce_len);
	*len = sizeof(tag) + 1 + nonce_len;
	return 0;
}
