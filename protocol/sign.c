#include "protocol/sign.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>

#include <pthread.h>

#include "common/cl_error.h"

struct sign_key {
	EVP_PKEY *pkey;
	char *cert_pem;
	size_t cert_len;
};

#define SIGN_CACHE_SLOTS 64

/*
 * Certificates already verified against the store, by SHA-256 of their PEM:
 * a request's certificates are the same few (the coordinator's, the users'),
 * and the chain check costs more than the signature check. The CRL is fixed
 * for a verifier's life, so only the validity period is checked again.
 */
struct sign_cached {
	uint8_t digest[32];
	X509 *cert;
};

struct sign_verifier {
	X509_STORE *store;
	pthread_mutex_t lock;
	struct sign_cached cache[SIGN_CACHE_SLOTS];
	size_t next; /* round-robin replacement */
};

/* A growing byte string with a hard maximum. */
struct sign_buf {
	uint8_t *data;
	size_t len, cap;
	int failed;
};

static void sign_put(struct sign_buf *b, const void *p, size_t n)
{
	size_t need;

	if (b->failed)
		return;
	if (__builtin_add_overflow(b->len, n, &need) || need > SIGN_MAX_CANONICAL) {
		b->failed = 1;
		return;
	}
	if (need > b->cap) {
		size_t cap = b->cap ? b->cap : 512;
		uint8_t *d;

		while (cap < need)
			cap *= 2;
		d = realloc(b->data, cap);
		if (!d) {
			b->failed = 1;
			return;
		}
		b->data = d;
		b->cap = cap;
	}
	if (n)
		memcpy(b->data + b->len, p, n);
	b->len = need;
}

static void sign_put_u64(struct sign_buf *b, uint64_t v)
{
	uint8_t x[8];
	int i;

	for (i = 0; i < 8; i++)
		x[i] = (uint8_t)(v >> (56 - 8 * i));
	sign_put(b, x, sizeof(x));
}

/* Length-prefixed, so that no two field sequences encode alike. */
static void sign_put_bytes(struct sign_buf *b, const void *p, size_t n)
{
	sign_put_u64(b, n);
	sign_put(b, p, n);
}

static void sign_put_str(struct sign_buf *b, const char *s)
{
	sign_put_bytes(b, s ? s : "", s ? strlen(s) : 0);
}

static int sign_param_cmp(const void *x, const void *y)
{
	const Caselink__V1__QueryRequest__ParametersEntry *const *a = x, *const *b = y;

	return strcmp((*a)->key ? (*a)->key : "", (*b)->key ? (*b)->key : "");
}

/* The requester's signed content: everything the requester decided. */
static int sign_request_content(const Caselink__V1__QueryRequest *q, struct sign_buf *b)
{
	const Caselink__V1__RequestHeader *h = q->header;
	Caselink__V1__QueryRequest__ParametersEntry **params = NULL;
	size_t i;

	if (!h || !h->requester)
		return CL_EPROTO;
	sign_put_str(b, SIGN_DOMAIN_REQUEST);
	sign_put_u64(b, h->schema_version);
	sign_put_bytes(b, h->request_id.data, h->request_id.len);
	sign_put_str(b, h->purpose);
	sign_put_str(b, h->legal_basis);
	sign_put_u64(b, (uint64_t)h->issued_at);
	sign_put_u64(b, (uint64_t)h->expires_at);
	sign_put_str(b, h->requester->id);
	sign_put_str(b, h->requester->role);
	sign_put_str(b, q->measure);
	sign_put_str(b, q->period_from);
	sign_put_str(b, q->period_to);
	sign_put_u64(b, q->n_group_by);
	for (i = 0; i < q->n_group_by; i++)
		sign_put_str(b, q->group_by[i]);
	/* Parameters are a map: sign them in key order, whatever order they came in. */
	if (q->n_parameters) {
		params = malloc(q->n_parameters * sizeof(*params));
		if (!params)
			return CL_ENOMEM;
		memcpy(params, q->parameters, q->n_parameters * sizeof(*params));
		qsort(params, q->n_parameters, sizeof(*params), sign_param_cmp);
	}
	sign_put_u64(b, q->n_parameters);
	for (i = 0; i < q->n_parameters; i++) {
		sign_put_str(b, params[i]->key);
		sign_put_str(b, params[i]->value);
	}
	free(params);
	/* The nodes the requester restricted its question to, in its order (v2). */
	sign_put_u64(b, q->n_nodes);
	for (i = 0; i < q->n_nodes; i++)
		sign_put_str(b, q->nodes[i]);
	return b->failed ? CL_ELIMIT : CL_OK;
}

/*
 * The coordinator's signed envelope: the requester's content and signature, and its own
 * choices (nonce, mode, computing parties, the case asker and handles).
 */
static int sign_envelope_content(const Caselink__V1__QueryRequest *q, struct sign_buf *b)
{
	size_t i;
	int rc;

	sign_put_str(b, SIGN_DOMAIN_ENVELOPE);
	rc = sign_request_content(q, b);
	if (rc != CL_OK)
		return rc;
	sign_put_bytes(b, q->header->requester_signature.data, q->header->requester_signature.len);
	sign_put_bytes(b, q->query_nonce.data, q->query_nonce.len);
	sign_put_u64(b, (uint64_t)q->mode);
	/* The computing parties the coordinator names (docs/secure-computation.md). */
	sign_put_u64(b, q->n_compute_parties);
	for (i = 0; i < q->n_compute_parties; i++) {
		if (!q->compute_parties[i])
			return CL_EPROTO;
		sign_put_u64(b, q->compute_parties[i]->party);
		sign_put_bytes(b, q->compute_parties[i]->certificate.data,
			       q->compute_parties[i]->certificate.len);
	}
	/* M7/M8: the asking agency as the coordinator names it, and the DISCLOSE handles. */
	sign_put_u64(b, q->case_asker ? 1 : 0);
	if (q->case_asker) {
		sign_put_str(b, q->case_asker->agency_id);
		sign_put_str(b, q->case_asker->agency_type);
		sign_put_str(b, q->case_asker->municipality);
		sign_put_str(b, q->case_asker->country);
	}
	sign_put_u64(b, q->n_case_handles);
	for (i = 0; i < q->n_case_handles; i++)
		sign_put_bytes(b, q->case_handles[i].data, q->case_handles[i].len);
	return b->failed ? CL_ELIMIT : CL_OK;
}

int sign_canonical(const Caselink__V1__QueryRequest *q, int envelope, uint8_t **out, size_t *len)
{
	struct sign_buf b = {NULL, 0, 0, 0};
	int rc;

	if (!q || !out || !len)
		return CL_EINVAL;
	if (!q->header)
		return CL_EPROTO;
	rc = envelope ? sign_envelope_content(q, &b) : sign_request_content(q, &b);
	if (rc != CL_OK) {
		free(b.data);
		return rc;
	}
	*out = b.data;
	*len = b.len;
	return CL_OK;
}

int sign_key_load(const char *key_pem, const char *cert_pem, struct sign_key **out)
{
	struct sign_key *k = NULL;
	BIO *bio = NULL;
	X509 *cert = NULL;
	EVP_PKEY *pub = NULL;
	int rc = CL_ECRYPTO;

	if (!key_pem || !cert_pem || !out)
		return CL_EINVAL;
	if (strlen(cert_pem) > SIGN_MAX_CERT)
		return CL_ELIMIT;
	k = calloc(1, sizeof(*k));
	if (!k)
		return CL_ENOMEM;
	bio = BIO_new_mem_buf(key_pem, -1);
	if (!bio || !(k->pkey = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL)))
		goto out;
	BIO_free(bio);
	bio = BIO_new_mem_buf(cert_pem, -1);
	if (!bio || !(cert = PEM_read_bio_X509(bio, NULL, NULL, NULL)))
		goto out;
	pub = X509_get0_pubkey(cert);
	if (!pub || EVP_PKEY_eq(pub, k->pkey) != 1) {
		rc = CL_EINVAL; /* the key does not belong to the certificate */
		goto out;
	}
	k->cert_len = strlen(cert_pem);
	k->cert_pem = malloc(k->cert_len + 1);
	if (!k->cert_pem) {
		rc = CL_ENOMEM;
		goto out;
	}
	memcpy(k->cert_pem, cert_pem, k->cert_len + 1);
	*out = k;
	k = NULL;
	rc = CL_OK;
out:
	X509_free(cert);
	BIO_free(bio);
	sign_key_free(k);
	return rc;
}

void sign_key_free(struct sign_key *k)
{
	if (!k)
		return;
	EVP_PKEY_free(k->pkey);
	free(k->cert_pem);
	free(k);
}

int sign_verifier_new(const char *ca_pem, const char *crl_pem, struct sign_verifier **out)
{
	struct sign_verifier *v = NULL;
	BIO *bio = NULL;
	X509 *ca = NULL;
	X509_CRL *crl = NULL;
	int rc = CL_ECRYPTO;

	if (!ca_pem || !out)
		return CL_EINVAL;
	v = calloc(1, sizeof(*v));
	if (!v)
		return CL_ENOMEM;
	if (pthread_mutex_init(&v->lock, NULL) != 0) {
		free(v);
		return CL_ENOMEM;
	}
	v->store = X509_STORE_new();
	bio = BIO_new_mem_buf(ca_pem, -1);
	if (!v->store || !bio || !(ca = PEM_read_bio_X509(bio, NULL, NULL, NULL)) ||
	    X509_STORE_add_cert(v->store, ca) != 1)
		goto out;
	if (crl_pem && *crl_pem) {
		BIO_free(bio);
		bio = BIO_new_mem_buf(crl_pem, -1);
		if (!bio || !(crl = PEM_read_bio_X509_CRL(bio, NULL, NULL, NULL)) ||
		    X509_STORE_add_crl(v->store, crl) != 1)
			goto out;
		X509_STORE_set_flags(v->store, X509_V_FLAG_CRL_CHECK);
	}
	*out = v;
	v = NULL;
	rc = CL_OK;
out:
	X509_CRL_free(crl);
	X509_free(ca);
	BIO_free(bio);
	sign_verifier_free(v);
	return rc;
}

void sign_verifier_free(struct sign_verifier *v)
{
	size_t i;

	if (!v)
		return;
	for (i = 0; i < SIGN_CACHE_SLOTS; i++)
		X509_free(v->cache[i].cert);
	pthread_mutex_destroy(&v->lock);
	X509_STORE_free(v->store);
	free(v);
}

/* A cached, already verified certificate with this digest that is still valid now (ref'd). */
static X509 *sign_cache_get(struct sign_verifier *v, const uint8_t digest[32])
{
	X509 *hit = NULL;
	size_t i;

	pthread_mutex_lock(&v->lock);
	for (i = 0; i < SIGN_CACHE_SLOTS; i++)
		if (v->cache[i].cert && !memcmp(v->cache[i].digest, digest, 32)) {
			if (X509_cmp_current_time(X509_get0_notAfter(v->cache[i].cert)) > 0 &&
			    X509_cmp_current_time(X509_get0_notBefore(v->cache[i].cert)) < 0 &&
			    X509_up_ref(v->cache[i].cert) == 1)
				hit = v->cache[i].cert;
			break;
		}
	pthread_mutex_unlock(&v->lock);
	return hit;
}

static void sign_cache_put(struct sign_verifier *v, const uint8_t digest[32], X509 *cert)
{
	struct sign_cached *slot;

	if (X509_up_ref(cert) != 1)
		return;
	pthread_mutex_lock(&v->lock);
	slot = &v->cache[v->next];
	v->next = (v->next + 1) % SIGN_CACHE_SLOTS;
	X509_free(slot->cert);
	memcpy(slot->digest, digest, 32);
	slot->cert = cert;
	pthread_mutex_unlock(&v->lock);
}

static int sign_make(const struct sign_key *k, const struct sign_buf *content,
		     ProtobufCBinaryData *cert, ProtobufCBinaryData *sig)
{
	EVP_MD_CTX *md = NULL;
	uint8_t *s = NULL, *c = NULL;
	size_t slen = 0;
	int rc = CL_ECRYPTO;

	md = EVP_MD_CTX_new();
	if (!md || EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, k->pkey) != 1 ||
	    EVP_DigestSign(md, NULL, &slen, content->data, content->len) != 1)
		goto out;
	s = malloc(slen);
	c = malloc(k->cert_len);
	if (!s || !c) {
		rc = CL_ENOMEM;
		goto out;
	}
	if (EVP_DigestSign(md, s, &slen, content->data, content->len) != 1)
		goto out;
	memcpy(c, k->cert_pem, k->cert_len);
	free(cert->data);
	free(sig->data);
	cert->data = c;
	cert->len = k->cert_len;
	sig->data = s;
	sig->len = slen;
	c = s = NULL;
	rc = CL_OK;
out:
	free(s);
	free(c);
	EVP_MD_CTX_free(md);
	return rc;
}

int sign_request(const struct sign_key *k, Caselink__V1__QueryRequest *q)
{
	struct sign_buf b = {NULL, 0, 0, 0};
	int rc;

	if (!k || !q || !q->header)
		return CL_EINVAL;
	rc = sign_request_content(q, &b);
	if (rc == CL_OK)
		rc = sign_make(k, &b, &q->header->requester_cert, &q->header->requester_signature);
	free(b.data);
	return rc;
}

int sign_envelope(const struct sign_key *k, Caselink__V1__QueryRequest *q)
{
	struct sign_buf b = {NULL, 0, 0, 0};
	int rc;

	if (!k || !q || !q->header)
		return CL_EINVAL;
	rc = sign_envelope_content(q, &b);
	if (rc == CL_OK)
		rc = sign_make(k, &b, &q->header->coordinator_cert,
			       &q->header->coordinator_signature);
	free(b.data);
	return rc;
}

/* Reads a subject field (CN or OU) of cert into out; "" when absent. */
static void sign_subject_field(X509 *cert, int nid, char *out, size_t outsz)
{
	X509_NAME *name = X509_get_subject_name(cert);

	out[0] = '\0';
	if (!name || X509_NAME_get_text_by_NID(name, nid, out, (int)outsz) < 0)
		out[0] = '\0';
}

/*
 * Checks a PEM certificate from a request against the CA store and the
 * expected identity, then the signature over content.
 */
static int sign_check(struct sign_verifier *v, const ProtobufCBinaryData *cert_pem,
		      const ProtobufCBinaryData *sig, const struct sign_buf *content,
		      const char *want_cn, const char *want_role, const char *who,
		      char reason[SIGN_REASON_MAX])
{
	X509 *cert = NULL;
	X509_STORE_CTX *ctx = NULL;
	EVP_MD_CTX *md = NULL;
	BIO *bio = NULL;
	char cn[256], ou[64];
	uint8_t digest[32];
	int rc = CL_ESIGNATURE;

	if (!cert_pem->len || !sig->len) {
		snprintf(reason, SIGN_REASON_MAX, "%s signature missing", who);
		return CL_ESIGNATURE;
	}
	if (cert_pem->len > SIGN_MAX_CERT) {
		snprintf(reason, SIGN_REASON_MAX, "%s certificate too large", who);
		return CL_ESIGNATURE;
	}
	if (EVP_Digest(cert_pem->data, cert_pem->len, digest, NULL, EVP_sha256(), NULL) != 1) {
		snprintf(reason, SIGN_REASON_MAX, "internal error");
		return CL_ECRYPTO;
	}
	cert = sign_cache_get(v, digest);
	if (!cert) {
		bio = BIO_new_mem_buf(cert_pem->data, (int)cert_pem->len);
		if (!bio || !(cert = PEM_read_bio_X509(bio, NULL, NULL, NULL))) {
			snprintf(reason, SIGN_REASON_MAX, "%s certificate unreadable", who);
			goto out;
		}
		ctx = X509_STORE_CTX_new();
		if (!ctx || X509_STORE_CTX_init(ctx, v->store, cert, NULL) != 1) {
			snprintf(reason, SIGN_REASON_MAX, "internal error");
			rc = CL_ECRYPTO;
			goto out;
		}
		if (X509_verify_cert(ctx) != 1) {
			snprintf(reason, SIGN_REASON_MAX, "%s certificate not accepted: %s", who,
				 X509_verify_cert_error_string(X509_STORE_CTX_get_error(ctx)));
			goto out;
		}
		sign_cache_put(v, digest, cert);
	}
	sign_subject_field(cert, NID_commonName, cn, sizeof(cn));
	sign_subject_field(cert, NID_organizationalUnitName, ou, sizeof(ou));
	if ((want_cn && strcmp(cn, want_cn)) || (want_role && strcmp(ou, want_role))) {
		snprintf(reason, SIGN_REASON_MAX, "%s certificate does not name the %s", who, who);
		goto out;
	}
	md = EVP_MD_CTX_new();
	if (!md ||
	    EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, X509_get0_pubkey(cert)) != 1 ||
	    EVP_DigestVerify(md, sig->data, sig->len, content->data, content->len) != 1) {
		snprintf(reason, SIGN_REASON_MAX, "%s signature does not verify", who);
		goto out;
	}
	rc = CL_OK;
out:
	EVP_MD_CTX_free(md);
	X509_STORE_CTX_free(ctx);
	X509_free(cert);
	BIO_free(bio);
	return rc;
}

int sign_verify_request(struct sign_verifier *v, const Caselink__V1__QueryRequest *q,
			char reason[SIGN_REASON_MAX])
{
	struct sign_buf b = {NULL, 0, 0, 0};
	int rc;

	if (!v || !q || !reason)
		return CL_EINVAL;
	reason[0] = '\0';
	rc = sign_request_content(q, &b);
	if (rc != CL_OK) {
		snprintf(reason, SIGN_REASON_MAX, "request malformed");
		free(b.data);
		return CL_ESIGNATURE;
	}
	rc = sign_check(v, &q->header->requester_cert, &q->header->requester_signature, &b,
			q->header->requester->id, q->header->requester->role, "requester", reason);
	free(b.data);
	return rc;
}

int sign_verify_envelope(struct sign_verifier *v, const Caselink__V1__QueryRequest *q,
			 const char *expected_cn, char reason[SIGN_REASON_MAX])
{
	struct sign_buf b = {NULL, 0, 0, 0};
	int rc;

	if (!v || !q || !reason)
		return CL_EINVAL;
	reason[0] = '\0';
	rc = sign_envelope_content(q, &b);
	if (rc != CL_OK) {
		snprintf(reason, SIGN_REASON_MAX, "request malformed");
		free(b.data);
		return CL_ESIGNATURE;
	}
	rc = sign_check(v, &q->header->coordinator_cert, &q->header->coordinator_signature, &b,
			expected_cn, "coordinator", "coordinator", reason);
	free(b.data);
	return rc;
}

int sign_verify_forwarded(struct sign_verifier *v, const Caselink__V1__QueryRequest *q,
			  const char *coordinator_cn, char reason[SIGN_REASON_MAX])
{
	int rc = sign_verify_envelope(v, q, coordinator_cn, reason);

	if (rc == CL_OK)
		rc = sign_verify_request(v, q, reason);
	return rc;
}

void sign_header_free(Caselink__V1__RequestHeader *h)
{
	if (!h)
		return;
	free(h->requester_cert.data);
	free(h->requester_signature.data);
	free(h->coordinator_cert.data);
	free(h->coordinator_signature.data);
	memset(&h->requester_cert, 0, sizeof(h->requester_cert));
	memset(&h->requester_signature, 0, sizeof(h->requester_signature));
	memset(&h->coordinator_cert, 0, sizeof(h->coordinator_cert));
	memset(&h->coordinator_signature, 0, sizeof(h->coordinator_signature));
}
