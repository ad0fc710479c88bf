/*
 * seal — ECDH P-256 + HKDF-SHA256 + AES-256-GCM boxes to a certificate (seal.h).
 */
#include "protocol/seal.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>

#include "common/cl_error.h"

#define PUB_LEN	  65
#define NONCE_LEN 12
#define TAG_LEN	  16
#define KEY_LEN	  32

static const char magic[4] = {'C', 'L', 'S', '1'};

struct seal_recipient {
	EVP_PKEY *key;
	uint8_t pub[PUB_LEN];
	char cn[128];
};

static int pub_octets(EVP_PKEY *k, uint8_t out[PUB_LEN])
{
	size_t len = 0;

	if (EVP_PKEY_get_octet_string_param(k, OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY, out, PUB_LEN,
					    &len) != 1 ||
	    len != PUB_LEN)
		return CL_ECRYPTO;
	return 0;
}

static int is_p256(EVP_PKEY *k)
{
	char group[32];
	size_t len = 0;

	return EVP_PKEY_is_a(k, "EC") &&
	       EVP_PKEY_get_utf8_string_param(k, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof(group),
					      &len) == 1 &&
	       strcmp(group, "prime256v1") == 0;
}

/* Verifies cert against a store made of ca_pem; 0 or CL_EAUTH with a reason. */
static int verify_chain(const char *ca_pem, X509 *cert, char reason[SEAL_REASON_MAX])
{
	X509_STORE *store = X509_STORE_new();
	X509_STORE_CTX *ctx = X509_STORE_CTX_new();
	BIO *bio = BIO_new_mem_buf(ca_pem, -1);
	X509 *ca = NULL;
	int rc = CL_EAUTH;

	if (!store || !ctx || !bio) {
		rc = CL_ENOMEM;
		goto out;
	}
	while ((ca = PEM_read_bio_X509(bio, NULL, NULL, NULL)) != NULL) {
		X509_STORE_add_cert(store, ca);
		X509_free(ca);
	}
	if (X509_STORE_CTX_init(ctx, store, cert, NULL) != 1) {
		rc = CL_ECRYPTO;
		goto out;
	}
	if (X509_verify_cert(ctx) != 1) {
		snprintf(reason, SEAL_REASON_MAX, "certificate not accepted: %s",
			 X509_verify_cert_error_string(X509_STORE_CTX_get_error(ctx)));
		goto out;
	}
	rc = 0;
out:
	X509_STORE_CTX_free(ctx);
	X509_STORE_free(store);
	BIO_free(bio);
	return rc;
}

int seal_recipient_new(const char *ca_pem, const uint8_t *cert_pem, size_t cert_len,
		       const char *role, struct seal_recipient **out, char reason[SEAL_REASON_MAX])
{
	struct seal_recipient *r = NULL;
	X509 *cert = NULL;
	BIO *bio = NULL;
	char ou[64] = "";
	int rc = CL_EAUTH;

	reason[0] = '\0';
	if (!ca_pem || !cert_pem || !role || !out)
		return CL_EINVAL;
	if (cert_len == 0 || cert_len > SEAL_MAX_CERT) {
		snprintf(reason, SEAL_REASON_MAX, "certificate missing or too large");
		return CL_EAUTH;
	}
	r = calloc(1, sizeof(*r));
	bio = BIO_new_mem_buf(cert_pem, (int)cert_len);
	if (!r || !bio) {
		rc = CL_ENOMEM;
		goto out;
	}
	cert = PEM_read_bio_X509(bio, NULL, NULL, NULL);
	if (!cert) {
		snprintf(reason, SEAL_REASON_MAX, "certificate unreadable");
		goto out;
	}
	rc = verify_chain(ca_pem, cert, reason);
	if (rc != 0)
		goto out;
	rc = CL_EAUTH;
	X509_NAME_get_text_by_NID(X509_get_subject_name(cert), NID_organizationalUnitName, ou,
				  sizeof(ou));
	if (X509_NAME_get_text_by_NID(X509_get_subject_name(cert), NID_commonName, r->cn,
				      sizeof(r->cn)) < 0)
		r->cn[0] = '\0';
	if (strcmp(ou, role) != 0) {
		snprintf(reason, SEAL_REASON_MAX, "certificate role is not %s", role);
		goto out;
	}
	r->key = X509_get_pubkey(cert);
	if (!r->key || !is_p256(r->key) || pub_octets(r->key, r->pub) != 0) {
		snprintf(reason, SEAL_REASON_MAX, "certificate key is not P-256");
		goto out;
	}
	rc = 0;
out:
	X509_free(cert);
	BIO_free(bio);
	if (rc != 0) {
		seal_recipient_free(r);
		return rc;
	}
	*out = r;
	return 0;
}

void seal_recipient_free(struct seal_recipient *r)
{
	if (!r)
		return;
	EVP_PKEY_free(r->key);
	free(r);
}

void seal_recipient_name(const struct seal_recipient *r, char *cn, size_t cap)
{
	if (cap > 0)
		snprintf(cn, cap, "%s", r ? r->cn : "");
}

/* ECDH of priv with peer, then HKDF into key. */
static int derive(EVP_PKEY *priv, EVP_PKEY *peer, const uint8_t eph[PUB_LEN],
		  const uint8_t rcpt[PUB_LEN], uint8_t key[KEY_LEN])
{
	EVP_PKEY_CTX *dc = EVP_PKEY_CTX_new(priv, NULL);
	EVP_KDF *kdf = EVP_KDF_fetch(NULL, "HKDF", NULL);
	EVP_KDF_CTX *kc = kdf ? EVP_KDF_CTX_new(kdf) : NULL;
	uint8_t secret[32], salt[2 * PUB_LEN];
	size_t slen = sizeof(secret);
	OSSL_PARAM params[5];
	int rc = CL_ECRYPTO;

	memcpy(salt, eph, PUB_LEN);
	memcpy(salt + PUB_LEN, rcpt, PUB_LEN);
	if (!dc || EVP_PKEY_derive_init(dc) != 1 || EVP_PKEY_derive_set_peer(dc, peer) != 1 ||
	    EVP_PKEY_derive(dc, secret, &slen) != 1 || slen != sizeof(secret) || !kc)
		goto out;
	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, "SHA256", 0);
	params[1] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, secret, slen);
	params[2] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, salt, sizeof(salt));
	params[3] =
	    OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, (void *)"caselink/seal/v1", 16);
	params[4] = OSSL_PARAM_construct_end();
	if (EVP_KDF_derive(kc, key, KEY_LEN, params) != 1)
		goto out;
	rc = 0;
out:
	OPENSSL_cleanse(secret, sizeof(secret));
	EVP_KDF_CTX_free(kc);
	EVP_KDF_free(kdf);
	EVP_PKEY_CTX_free(dc);
	return rc;
}

/* AES-256-GCM in either direction; enc: 1 seal, 0 open (tag checked). */
static int gcm(int enc, const uint8_t key[KEY_LEN], const uint8_t nonce[NONCE_LEN],
	       const uint8_t *aad, size_t aad_len, const uint8_t *in, size_t len, uint8_t *out,
	       uint8_t tag[TAG_LEN])
{
	EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
	int outl = 0, fin = 0, rc = CL_ECRYPTO;

	if (!c || EVP_CipherInit_ex(c, EVP_aes_256_gcm(), NULL, key, nonce, enc) != 1)
		goto out;
	if (aad_len && EVP_CipherUpdate(c, NULL, &outl, aad, (int)aad_len) != 1)
		goto out;
	if (len && EVP_CipherUpdate(c, out, &outl, in, (int)len) != 1)
		goto out;
	if (!enc && EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_TAG, TAG_LEN, tag) != 1)
		goto out;
	if (EVP_CipherFinal_ex(c, out + (len ? outl : 0), &fin) != 1)
		goto out;
	if (enc && EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG, TAG_LEN, tag) != 1)
		goto out;
	rc = 0;
out:
	EVP_CIPHER_CTX_free(c);
	return rc;
}

int seal_box(const struct seal_recipient *r, const uint8_t *aad, size_t aad_len, const uint8_t *msg,
	     size_t len, uint8_t **out, size_t *out_len)
{
	EVP_PKEY *eph = NULL;
	uint8_t key[KEY_LEN], *box = NULL;
	size_t total = len + SEAL_OVERHEAD;
	int rc = CL_ECRYPTO;

	if (!r || !out || !out_len || (!msg && len) || (!aad && aad_len))
		return CL_EINVAL;
	if (len > SEAL_MAX_MESSAGE || aad_len > SEAL_MAX_MESSAGE)
		return CL_ELIMIT;
	box = malloc(total);
	if (!box)
		return CL_ENOMEM;
	memcpy(box, magic, 4);
	eph = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	if (!eph || pub_octets(eph, box + 4) != 0 ||
	    RAND_bytes(box + 4 + PUB_LEN, NONCE_LEN) != 1 ||
	    derive(eph, r->key, box + 4, r->pub, key) != 0)
		goto out;
	rc = gcm(1, key, box + 4 + PUB_LEN, aad, aad_len, msg, len, box + 4 + PUB_LEN + NONCE_LEN,
		 box + total - TAG_LEN);
out:
	OPENSSL_cleanse(key, sizeof(key));
	EVP_PKEY_free(eph);
	if (rc != 0) {
		free(box);
		return rc;
	}
	*out = box;
	*out_len = total;
	return 0;
}

/* The public key of an encoded P-256 point. */
static EVP_PKEY *peer_key(const uint8_t pub[PUB_LEN])
{
	EVP_PKEY_CTX *c = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
	EVP_PKEY *k = NULL;
	OSSL_PARAM params[3];

	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, "prime256v1", 0);
	params[1] =
	    OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY, (void *)pub, PUB_LEN);
	params[2] = OSSL_PARAM_construct_end();
	if (!c || EVP_PKEY_fromdata_init(c) != 1 ||
	    EVP_PKEY_fromdata(c, &k, EVP_PKEY_PUBLIC_KEY, params) != 1)
		k = NULL;
	EVP_PKEY_CTX_free(c);
	return k;
}

int seal_open(const char *key_pem, const uint8_t *aad, size_t aad_len, const uint8_t *box,
	      size_t len, uint8_t **msg, size_t *msg_len)
{
	EVP_PKEY *priv = NULL, *eph = NULL;
	uint8_t key[KEY_LEN], rcpt[PUB_LEN], *m = NULL;
	BIO *bio = NULL;
	size_t mlen;
	int rc = CL_ECRYPTO;

	if (!key_pem || !box || !msg || !msg_len || (!aad && aad_len))
		return CL_EINVAL;
	if (len < SEAL_OVERHEAD || len - SEAL_OVERHEAD > SEAL_MAX_MESSAGE ||
	    memcmp(box, magic, 4) != 0)
		return CL_ECRYPTO;
	mlen = len - SEAL_OVERHEAD;
	bio = BIO_new_mem_buf(key_pem, -1);
	priv = bio ? PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL) : NULL;
	eph = peer_key(box + 4);
	m = OPENSSL_malloc(mlen ? mlen : 1);
	if (!priv || !eph || !m || !is_p256(priv) || pub_octets(priv, rcpt) != 0 ||
	    derive(priv, eph, box + 4, rcpt, key) != 0)
		goto out;
	rc = gcm(0, key, box + 4 + PUB_LEN, aad, aad_len, box + 4 + PUB_LEN + NONCE_LEN, mlen, m,
		 (uint8_t *)box + len - TAG_LEN);
out:
	OPENSSL_cleanse(key, sizeof(key));
	EVP_PKEY_free(priv);
	EVP_PKEY_free(eph);
	BIO_free(bio);
	if (rc != 0) {
		OPENSSL_clear_free(m, mlen ? mlen : 1);
		return rc;
	}
	*msg = m;
	*msg_len = mlen;
	return 0;
}

void seal_free(uint8_t *msg, size_t len)
{
	if (msg)
		OPENSSL_clear_free(msg, len ? len : 1);
}
