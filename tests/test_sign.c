#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

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

	/* Any change to the envelope's own choices (here the nonce) breaks the envelope. */
	r.nonce[0] ^= 1;
	assert_int_equal(sign_verify_envelope(v, &r.q, "coordinator", why), CL_ESIGNATURE);
	assert_string_equal(why, "coordinator signature does not verify");
	r.nonce[0] ^= 1;
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
	    cmocka_unit_test(test_key_must_match_certificate),
	    cmocka_unit_test(test_revoked_requester),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
