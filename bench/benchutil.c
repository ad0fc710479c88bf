/* benchutil — the shared pieces of the benchmarks against a running party (see benchutil.h). */
#include "bench/benchutil.h"

#include <stdlib.h>
#include <time.h>

#include "common/cl_error.h"
#include "protocol/party.h"
#include "protocol/sign.h"

double benchutil_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int benchutil_cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

void benchutil_sort(double *v, size_t n)
{
	qsort(v, n, sizeof(*v), benchutil_cmp);
}

double benchutil_pct(const double *v, size_t n, int pct)
{
	size_t i;

	if (!n)
		return 0.0;
	i = (n * (size_t)pct) / 100;
	return v[i < n ? i : n - 1];
}

int benchutil_request(const struct sign_key *signer, const char *id, const char *role,
		      const char *measure, const char *from, const char *to, char **by, size_t nby,
		      uint8_t **out, size_t *out_len)
{
	Caselink__V1__QueryRequest q = CASELINK__V1__QUERY_REQUEST__INIT;
	Caselink__V1__RequestHeader h = CASELINK__V1__REQUEST_HEADER__INIT;
	Caselink__V1__Identity who = CASELINK__V1__IDENTITY__INIT;
	uint8_t rid[PARTY_REQUEST_ID_LEN], *req = NULL;
	size_t len = 0;
	int rc;

	rc = party_header_fill(&h, &who, rid, "monitoring", "statistics", id, role);
	if (rc != CL_OK)
		return rc;
	q.header = &h;
	q.measure = (char *)measure;
	q.period_from = (char *)from;
	q.period_to = (char *)to;
	q.n_group_by = nby;
	q.group_by = by;
	rc = sign_request(signer, &q);
	if (rc == CL_OK) {
		len = caselink__v1__query_request__get_packed_size(&q);
		req = malloc(len ? len : 1);
		if (!req)
			rc = CL_ENOMEM;
		else
			caselink__v1__query_request__pack(&q, req);
	}
	sign_header_free(&h);
	if (rc == CL_OK) {
		*out = req;
		*out_len = len;
	}
	return rc;
}
