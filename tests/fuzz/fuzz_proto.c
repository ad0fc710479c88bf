/*
 * libFuzzer harness for every protobuf message a party accepts from the
 * network: the first byte picks the message, the rest is the wire bytes. A
 * request that unpacks also goes through the header checks and the audit
 * formatting the daemons apply before anything else.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "common/cl_error.h"
#include "protocol/caselink.pb-c.h"
#include "protocol/party.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *p = data + 1;
	size_t n = size ? size - 1 : 0;
	char audit[1024];
	const char *why = NULL;

	if (size < 1)
		return 0;
	switch (data[0] % 6) {
	case 0: {
		Caselink__V1__QueryRequest *q = caselink__v1__query_request__unpack(NULL, n, p);

		if (q) {
			(void)party_header_check(q->header, 1700000000, &why);
			party_audit_request(q, audit, sizeof(audit));
			caselink__v1__query_request__free_unpacked(q, NULL);
		}
		break;
	}
	case 1: {
		Caselink__V1__StatusRequest *s = caselink__v1__status_request__unpack(NULL, n, p);

		if (s) {
			(void)party_header_check(s->header, 1700000000, &why);
			caselink__v1__status_request__free_unpacked(s, NULL);
		}
		break;
	}
	case 2: {
		Caselink__V1__BlindEvaluateRequest *b =
		    caselink__v1__blind_evaluate_request__unpack(NULL, n, p);

		if (b) {
			(void)party_header_check(b->header, 1700000000, &why);
			caselink__v1__blind_evaluate_request__free_unpacked(b, NULL);
		}
		break;
	}
	case 3: {
		Caselink__V1__QueryResponse *r = caselink__v1__query_response__unpack(NULL, n, p);

		if (r)
			caselink__v1__query_response__free_unpacked(r, NULL);
		break;
	}
	case 4: {
		Caselink__V1__BlindEvaluateResponse *r =
		    caselink__v1__blind_evaluate_response__unpack(NULL, n, p);

		if (r)
			caselink__v1__blind_evaluate_response__free_unpacked(r, NULL);
		break;
	}
	default: {
		Caselink__V1__StatusResponse *r = caselink__v1__status_response__unpack(NULL, n, p);

		if (r)
			caselink__v1__status_response__free_unpacked(r, NULL);
		break;
	}
	}
	return 0;
}
