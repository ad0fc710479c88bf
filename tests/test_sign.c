#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "common/cl_error.h"
#include "protocol/party.h"
#include "protocol/pki.h"
#include "protocol/sign.h"

static char dir[512], other[600];

static char *slurp(const char *d, const char *name)
{
	char path[1024], *buf = NULL;
	size_t len = 0;

	snprintf(path, sizeof(path), "%s/%s", d, name);
	assert_int_equal(pki_read_file(path, PKI_PEM_MAX, &buf, &len), CL_OK);
	return buf;
}

static struct sign_key *key_of(const char *d, const char *id)
{
	char kname[128], cname[128];
	char *k, *c;
	struct sign_key *sk = NULL;

	snprintf(kname, sizeof(kname), "%s.key", id);
	snprintf(cname, sizeof(cname), "%s.pem", id);
	k = slurp(d, kname);
	c = slurp(d, cname);
	assert_int_equal(sign_key_load(k, c, &sk), CL_OK);
	free(k);
	free(c);
	return sk;
}

static void issue(const char *ca, const char *id, const char *role)
{
	struct pki_issue_opts o;

	memset(&o, 0, sizeof(o));
	o.id = id;
	o.role = role;
	assert_int_equal(pki_issue(ca, ca, &o), CL_OK);
}

static int setup(void **state)
{
	const char *tmp = getenv("CASELINK_TMP");

	(void)state;
	snprintf(dir, sizeof(dir), "%s/sign.%d", tmp ? tmp : "/tmp", (int)getpid());
	snprintf(other, sizeof(other), "%s-other", dir);
	assert_int_equal(pki_init_ca(dir), CL_OK);
	assert_int_equal(pki_init_ca(other), CL_OK);
	issue(dir, "national", "user");
	issue(dir, "coordinator", "coordinator");
	issue(dir, "researcher", "user");
	issue(dir, "lv-tukums-police", "node");
	issue(other, "national", "user");
	return 0;
}

static int teardown(void **state)
{
	char cmd[1300];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s' '%s'", dir, other);
	return system(cmd) == 0 ? 0 : -1;
}

struct req {
	Caselink__V1__QueryRequest q;
	Caselink__V1__RequestHeader h;
	Caselink__V1__Identity who;
	uint8_t id[PARTY_REQUEST_ID_LEN];
	char *group_by[2];
	uint8_t nonce[32];
};

static void make_request(struct req *r, const char *id, const char *role)
{
	caselink__v1__query_request__init(&r->q);
	caselink__v1__request_header__init(&r->h);
	caselink__v1__identity__init(&r->who);
	assert_int_equal(
	    party_header_fill(&r->h, &r->who, r->id, "monitoring", "statistics", id, role), CL_OK);
	r->q.header = &r->h;
	r->q.measure = "incident_events";
	r->q.period_from = "2025-01-01";
	r->q.period_to = "2026-01-01";
	r->group_by[0] = "municipality";
	r->group_by[1] = "quarter";
	r->q.group_by = r->group_by;
	r->q.n_group_by = 2;
	memset(r->nonce, 7, sizeof(r->nonce));
	r->q.query_nonce.data = r->nonce;
	r->q.query_nonce.len = sizeof(r->nonce);
}

static struct sign_verifier *verifier(const char *crl)
{
	char *ca = slurp(dir, "ca.pem");
	struct sign_verifier *v = NULL;

	assert_int_equal(sign_verifier_new(ca, crl, &v), CL_OK);
	free(ca);
	return v;
}

static void test_sign_and_verify(void **state)
{
	struct sign_key *user = key_of(dir, "national"), *coord = key_of(dir, "coordinator");
	struct sign_verifier *v = verifier(NULL);
	char why[SIGN_REASON_MAX];
	struct req r;

	(void)state;
	make_request(&r, "national", "user");
	assert_int_equal(sign_request(user, &r.q), CL_OK);
	assert_int_equal(sign_verify_request(v, &r.q, why), CL_OK);
	assert_int_equal(sign_envelope(coord, &r.q), CL_OK);
	assert_int_equal(sign_verify_envelope(v, &r.q, "coordinator", why), CL_OK);
	/* The requester's signature survives the envelope. */
	assert_int_equal(sign_verify_request(v, &r.q, why), CL_OK);

	/* A coordinator that rewrites the purpose breaks the requester's signature... */
	r.h.purpose = "research";
	assert_int_equal(sign_verify_request(v, &r.q, why), CL_ESIGNATURE);
	assert_string_equal(why, "requester signature does not verify");
	/* ...and re-signing its own envelope does not mend it. */
	assert_int_equal(sign_envelope(coord, &r.q), CL_OK);
	assert_int_equal(sign_verify_envelope(v, &r.q, "coordinator", why), CL_OK);
	assert_int_equal(sign_verify_request(v, &r.q, why), CL_ESIGNATURE);
	r.h.purpose = "monitoring";
	assert_int_equal(sign_verify_request(v, &r.q, why), CL_OK);
	assert_int_equal(sign_envelope(coord, &r.q), CL_OK);
	assert_int_equal(sign_verify_envelope(v, &r.q, "coordinator", why), CL_OK);

	/* Any change to the envelope's own choices (here the nonce) breaks the envelope. */
	r.nonce[0] ^= 1;
	assert_int_equal(sign_verify_envelope(v, &r.q, "coordinator", why), CL_ESIGNATURE);
	assert_string_equal(why, "coordinator signature does not verify");
	r.nonce[0] ^= 1;
	/* So does a computing party named after the envelope was signed. */
	{
		Caselink__V1__ComputeParty cp = CASELINK__V1__COMPUTE_PARTY__INIT, *cps[1] = {&cp};

		cp.party = 1;
		cp.certificate.data = (uint8_t *)"not a certificate";
		cp.certificate.len = 17;
		r.q.compute_parties = cps;
		r.q.n_compute_parties = 1;
		assert_int_equal(sign_verify_envelope(v, &r.q, "coordinator", why), CL_ESIGNATURE);
		/* Not the requester's choice: its signature still verifies. */
		assert_int_equal(sign_verify_request(v, &r.q, why), CL_OK);
		r.q.n_compute_parties = 0;
		r.q.compute_parties = NULL;
		assert_int_equal(sign_verify_envelope(v, &r.q, "coordinator", why), CL_OK);
	}
	/* And the asking agency a coordinator names for M7/M8, or a handle of phase 2. */
	{
		Caselink__V1__CaseAsker ak = CASELINK__V1__CASE_ASKER__INIT;
		ProtobufCBinaryData handle = {4, (uint8_t *)"\1\2\3\4"};

		ak.agency_id = "lv-riga-police";
		ak.agency_type = "police";
		ak.municipality = "Rīga";
		ak.country = "LV";
		r.q.case_asker = &ak;
		assert_int_equal(sign_envelope(coord, &r.q), CL_OK);
		assert_int_equal(sign_verify_envelope(v, &r.q, "coordinator", why), CL_OK);
		ak.agency_type = "health"; /* rewritten after signing */
		assert_int_equal(sign_verify_envelope(v, &r.q, "coordinator", why), CL_ESIGNATURE);
		ak.agency_type = "police";
		r.q.case_handles = &handle;
		r.q.n_case_handles = 1;
		assert_int_equal(sign_verify_envelope(v, &r.q, "coordinator", why), CL_ESIGNATURE);
		r.q.case_handles = NULL;
		r.q.n_case_handles = 0;
		r.q.case_asker = NULL;
		assert_int_equal(sign_envelope(coord, &r.q), CL_OK);
		assert_int_equal(sign_verify_envelope(v, &r.q, "coordinator", why), CL_OK);
	}
	/* A changed period or grouping breaks the requester's signature. */
	r.q.period_to = "2027-01-01";
	assert_int_equal(sign_verify_request(v, &r.q, why), CL_ESIGNATURE);
	r.q.period_to = "2026-01-01";
	r.group_by[1] = "month";
	assert_int_equal(sign_verify_request(v, &r.q, why), CL_ESIGNATURE);
	r.group_by[1] = "quarter";
	assert_int_equal(sign_verify_request(v, &r.q, why), CL_OK);
	/* The envelope must come from the coordinator the node expects. */
	assert_int_equal(sign_verify_envelope(v, &r.q, "coordinator-2", why), CL_ESIGNATURE);
	assert_string_equal(why, "coordinator certificate does not name the coordinator");

	sign_header_free(&r.h);
	sign_key_free(user);
	sign_key_free(coord);
	sign_verifier_free(v);
}

static void test_forgeries(void **state)
{
	struct sign_key *researcher = key_of(dir, "researcher"), *user = key_of(dir, "national"),
			*node = key_of(dir, "lv-tukums-police"),
			*foreign = key_of(other, "national");
	struct sign_verifier *v = verifier(NULL);
	char why[SIGN_REASON_MAX];
	struct req r;

	(void)state;
	/* A researcher signs a request claiming to be the national coordinator. */
	make_request(&r, "national", "user");
	assert_int_equal(sign_request(researcher, &r.q), CL_OK);
	assert_int_equal(sign_verify_request(v, &r.q, why), CL_ESIGNATURE);
	assert_string_equal(why, "requester certificate does not name the requester");
	sign_header_free(&r.h);

	/* A certificate named "national" from another CA. */
	make_request(&r, "national", "user");
	assert_int_equal(sign_request(foreign, &r.q), CL_OK);
	assert_int_equal(sign_verify_request(v, &r.q, why), CL_ESIGNATURE);
	assert_non_null(strstr(why, "requester certificate not accepted"));
	sign_header_free(&r.h);

	/* A node signs an envelope as if it were the coordinator. */
	make_request(&r, "national", "user");
	assert_int_equal(sign_request(user, &r.q), CL_OK);
	assert_int_equal(sign_envelope(node, &r.q), CL_OK);
	assert_int_equal(sign_verify_envelope(v, &r.q, NULL, why), CL_ESIGNATURE);
	assert_string_equal(why, "coordinator certificate does not name the coordinator");

	/* Signature bytes swapped for another request's. */
	{
		struct req r2;

		make_request(&r2, "national", "user");
		assert_int_equal(sign_request(user, &r2.q), CL_OK);
		free(r.h.requester_signature.data);
		r.h.requester_signature = r2.h.requester_signature;
		r2.h.requester_signature.data = NULL;
		r2.h.requester_signature.len = 0;
		assert_int_equal(sign_verify_request(v, &r.q, why), CL_ESIGNATURE);
		sign_header_free(&r2.h);
	}
	sign_header_free(&r.h);

	/* No signature at all. */
	make_request(&r, "national", "user");
	assert_int_equal(sign_verify_request(v, &r.q, why), CL_ESIGNATURE);
	assert_string_equal(why, "requester signature missing");

	sign_key_free(researcher);
	sign_key_free(user);
	sign_key_free(node);
	sign_key_free(foreign);
	sign_verifier_free(v);
}

/* The nodes restriction is the requester's: a coordinator that widens, drops or narrows it
 * breaks the requester's signature, whatever envelope it signs (issue 12). */
static void test_nodes_restriction_signed(void **state)
{
	struct sign_key *user = key_of(dir, "national"), *coord = key_of(dir, "coordinator");
	struct sign_verifier *v = verifier(NULL);
	char why[SIGN_REASON_MAX],
	    *asked[2] = {"lv-tukums-police", "lv-riga-police"},
	    *wider[3] = {"lv-tukums-police", "lv-riga-police", "lv-riga-health"},
	    *swapped[2] = {"lv-riga-police", "lv-tukums-police"};
	struct req r;

	(void)state;
	make_request(&r, "national", "user");
	r.q.nodes = asked;
	r.q.n_nodes = 2;
	assert_int_equal(sign_request(user, &r.q), CL_OK);
	assert_int_equal(sign_envelope(coord, &r.q), CL_OK);
	assert_int_equal(sign_verify_forwarded(v, &r.q, "coordinator", why), CL_OK);
	/* Widened, then re-enveloped by the coordinator. */
	r.q.nodes = wider;
	r.q.n_nodes = 3;
	assert_int_equal(sign_envelope(coord, &r.q), CL_OK);
	assert_int_equal(sign_verify_envelope(v, &r.q, "coordinator", why), CL_OK);
	assert_int_equal(sign_verify_forwarded(v, &r.q, "coordinator", why), CL_ESIGNATURE);
	assert_string_equal(why, "requester signature does not verify");
	/* Dropped (every node), narrowed, reordered. */
	r.q.n_nodes = 0;
	assert_int_equal(sign_envelope(coord, &r.q), CL_OK);
	assert_int_equal(sign_verify_forwarded(v, &r.q, "coordinator", why), CL_ESIGNATURE);
	r.q.nodes = asked;
	r.q.n_nodes = 1;
	assert_int_equal(sign_verify_request(v, &r.q, why), CL_ESIGNATURE);
	r.q.nodes = swapped;
	r.q.n_nodes = 2;
	assert_int_equal(sign_verify_request(v, &r.q, why), CL_ESIGNATURE);
	/* As the requester signed it, it verifies again. */
	r.q.nodes = asked;
	assert_int_equal(sign_envelope(coord, &r.q), CL_OK);
	assert_int_equal(sign_verify_forwarded(v, &r.q, "coordinator", why), CL_OK);
	sign_header_free(&r.h);
	sign_key_free(user);
	sign_key_free(coord);
	sign_verifier_free(v);
}

/* ---- docs/protocol.md "Test vector": the documented bytes are what sign.c signs ---- */

/* The text of docs/protocol.md (from CASELINK_SRC). */
static char *read_doc(void)
{
	const char *src = getenv("CASELINK_SRC");
	char path[1024];
	long n;
	char *buf;
	FILE *f;

	if (!src)
		fail_msg("CASELINK_SRC is not set: run through ctest");
	snprintf(path, sizeof(path), "%s/docs/protocol.md", src);
	f = fopen(path, "rb");
	if (!f)
		fail_msg("cannot read %s", path);
	assert_int_equal(fseek(f, 0, SEEK_END), 0);
	n = ftell(f);
	assert_true(n > 0);
	rewind(f);
	buf = malloc((size_t)n + 1);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

/* The fenced block after the line "<!-- vector: NAME -->", as a new string. */
static char *doc_block(const char *doc, const char *name)
{
	char marker[128];
	const char *p, *start, *end;
	char *out;

	snprintf(marker, sizeof(marker), "<!-- vector: %s -->", name);
	p = strstr(doc, marker);
	if (!p)
		fail_msg("docs/protocol.md has no %s", marker);
	start = strstr(p, "```");
	assert_non_null(start);
	start = strchr(start, '\n');
	assert_non_null(start);
	start++;
	end = strstr(start, "```");
	assert_non_null(end);
	out = malloc((size_t)(end - start) + 1);
	assert_non_null(out);
	memcpy(out, start, (size_t)(end - start));
	out[end - start] = '\0';
	return out;
}

/* A hex block as bytes (white space and "# ..." comments ignored). */
static size_t unhex(const char *s, uint8_t *out, size_t max)
{
	size_t n = 0;
	int hi = -1;

	for (; *s; s++) {
		int v = *s >= '0' && *s <= '9'	 ? *s - '0'
			: *s >= 'a' && *s <= 'f' ? *s - 'a' + 10
						 : -1;

		if (*s == '#') { /* a comment to the end of the line */
			while (s[1] && s[1] != '\n')
				s++;
			continue;
		}
		if (v < 0) {
			if (!(*s == ' ' || *s == '\n'))
				fail_msg("not hex: 0x%02x", (unsigned char)*s);
			continue;
		}
		if (hi < 0) {
			hi = v;
			continue;
		}
		assert_true(n < max);
		out[n++] = (uint8_t)(hi << 4 | v);
		hi = -1;
	}
	assert_int_equal(hi, -1);
	return n;
}

static void print_hex(const char *what, const uint8_t *p, size_t n)
{
	size_t i;

	print_message("%s (%zu bytes), as sign.c makes it:\n", what, n);
	for (i = 0; i < n; i++)
		print_message("%02x%s", p[i], i % 32 == 31 || i + 1 == n ? "\n" : "");
}

/* Compares bytes with the doc's hex block name; prints the actual bytes when they differ. */
static void expect_block(const char *doc, const char *name, const uint8_t *p, size_t n)
{
	char *block = doc_block(doc, name);
	uint8_t want[4096];
	size_t wn = unhex(block, want, sizeof(want));

	free(block);
	if (wn != n || memcmp(want, p, n)) {
		print_hex(name, p, n);
		fail_msg("docs/protocol.md vector %s differs from protocol/sign.c", name);
	}
}

/* The worked example of docs/protocol.md "Signatures". */
static void vector_request(struct req *r, Caselink__V1__QueryRequest__ParametersEntry *pe,
			   Caselink__V1__QueryRequest__ParametersEntry **pp, char **by,
			   char **nodes)
{
	size_t i;

	caselink__v1__query_request__init(&r->q);
	caselink__v1__request_header__init(&r->h);
	caselink__v1__identity__init(&r->who);
	for (i = 0; i < 16; i++)
		r->id[i] = (uint8_t)i;
	r->h.schema_version = CASELINK_SCHEMA_VERSION;
	r->h.request_id.data = r->id;
	r->h.request_id.len = 16;
	r->h.purpose = "monitoring";
	r->h.legal_basis = "statistics";
	r->h.issued_at = 1767225600; /* 2026-01-01T00:00:00Z */
	r->h.expires_at = 1767225900;
	r->who.id = "national";
	r->who.role = "user";
	r->h.requester = &r->who;
	r->q.header = &r->h;
	r->q.measure = "M1";
	r->q.period_from = "2025-01-01";
	r->q.period_to = "2026-01-01";
	by[0] = "quarter";
	r->q.group_by = by;
	r->q.n_group_by = 1;
	/* In the order a map may arrive in: signed in key order. */
	caselink__v1__query_request__parameters_entry__init(&pe[0]);
	caselink__v1__query_request__parameters_entry__init(&pe[1]);
	pe[0].key = "window_to";
	pe[0].value = "2026-02-01";
	pe[1].key = "window_from";
	pe[1].value = "2024-12-29";
	pp[0] = &pe[0];
	pp[1] = &pe[1];
	r->q.parameters = pp;
	r->q.n_parameters = 2;
	nodes[0] = "lv-liepaja-police";
	nodes[1] = "lv-liepaja-health";
	r->q.nodes = nodes;
	r->q.n_nodes = 2;
	memset(r->nonce, 0xa5, sizeof(r->nonce));
	r->q.query_nonce.data = r->nonce;
	r->q.query_nonce.len = sizeof(r->nonce);
	r->q.mode = CASELINK__V1__QUERY_MODE__QUERY_MODE_TOKENS;
}

static void test_protocol_vector(void **state)
{
	Caselink__V1__QueryRequest__ParametersEntry pe[2], *pp[2];
	char *by[1], *nodes[2], *doc = read_doc(), *pem;
	uint8_t *content = NULL, digest[32], sig[128];
	size_t len = 0, siglen;
	EVP_PKEY *pub = NULL;
	EVP_MD_CTX *md = NULL;
	BIO *bio;
	struct req r;

	(void)state;
	vector_request(&r, pe, pp, by, nodes);
	/* The requester's canonical content and its SHA-256. */
	assert_int_equal(sign_canonical(&r.q, 0, &content, &len), CL_OK);
	expect_block(doc, "request-canonical", content, len);
	assert_int_equal(EVP_Digest(content, len, digest, NULL, EVP_sha256(), NULL), 1);
	expect_block(doc, "request-sha256", digest, sizeof(digest));
	/* The documented signature verifies with the documented public key (ECDSA P-256, DER). */
	pem = doc_block(doc, "requester-public-key");
	bio = BIO_new_mem_buf(pem, -1);
	assert_non_null(bio);
	pub = PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL);
	assert_non_null(pub);
	BIO_free(bio);
	free(pem);
	pem = doc_block(doc, "requester-signature");
	siglen = unhex(pem, sig, sizeof(sig));
	free(pem);
	md = EVP_MD_CTX_new();
	assert_non_null(md);
	assert_int_equal(EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, pub), 1);
	assert_int_equal(EVP_DigestVerify(md, sig, siglen, content, len), 1);
	/* One bit changed in the content: it no longer verifies. */
	content[len - 1] ^= 1;
	assert_int_equal(EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, pub), 1);
	assert_int_not_equal(EVP_DigestVerify(md, sig, siglen, content, len), 1);
	free(content);
	content = NULL;
	/* The coordinator's envelope over it, that signature included. */
	r.h.requester_signature.data = sig;
	r.h.requester_signature.len = siglen;
	assert_int_equal(sign_canonical(&r.q, 1, &content, &len), CL_OK);
	expect_block(doc, "envelope-canonical", content, len);
	free(content);
	EVP_MD_CTX_free(md);
	EVP_PKEY_free(pub);
	free(doc);
}

static void test_revoked_requester(void **state)
{
	struct sign_key *researcher = key_of(dir, "researcher");
	struct sign_verifier *v = NULL;
	char path[1024], why[SIGN_REASON_MAX], *crl;
	struct req r;

	(void)state;
	snprintf(path, sizeof(path), "%s/researcher.pem", dir);
	assert_int_equal(pki_revoke(dir, path), CL_OK);
	crl = slurp(dir, "crl.pem");
	v = verifier(crl);
	make_request(&r, "researcher", "user");
	assert_int_equal(sign_request(researcher, &r.q), CL_OK);
	assert_int_equal(sign_verify_request(v, &r.q, why), CL_ESIGNATURE);
	assert_string_equal(why, "requester certificate not accepted: certificate revoked");
	sign_header_free(&r.h);
	free(crl);
	sign_key_free(researcher);
	sign_verifier_free(v);
}

static void test_key_must_match_certificate(void **state)
{
	char *k = slurp(dir, "national.key"), *c = slurp(dir, "researcher.pem");
	struct sign_key *sk = NULL;

	(void)state;
	assert_int_equal(sign_key_load(k, c, &sk), CL_EINVAL);
	assert_null(sk);
	free(k);
	free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_sign_and_verify),
	    cmocka_unit_test(test_forgeries),
	    cmocka_unit_test(test_nodes_restriction_signed),
	    cmocka_unit_test(test_protocol_vector),
	    cmocka_unit_test(test_key_must_match_certificate),
	    cmocka_unit_test(test_revoked_requester),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
