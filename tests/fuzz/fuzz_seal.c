/*
 * libFuzzer harness: protocol/seal's opener on arbitrary boxes (what a computing party
 * accepts from a node through the coordinator), with a key made at start.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/pem.h>

#include "protocol/seal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char *key_pem;

static void make_key(void)
{
	EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	BIO *b = BIO_new(BIO_s_mem());
	char *p = NULL;
	long n;

	if (!k || !b || PEM_write_bio_PrivateKey(b, k, NULL, NULL, 0, NULL, NULL) != 1)
		abort();
	n = BIO_get_mem_data(b, &p);
	key_pem = calloc(1, (size_t)n + 1);
	if (!key_pem)
		abort();
	memcpy(key_pem, p, (size_t)n);
	BIO_free(b);
	EVP_PKEY_free(k);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *msg = NULL;
	size_t len = 0;

	if (!key_pem)
		make_key();
	if (seal_open(key_pem, (const uint8_t *)"q", 1, data, size, &msg, &len) == 0)
		seal_free(msg, len);
	return 0;
}
