/*
 * libFuzzer harness for the coordinator's side of a TOKENS answer: a node's
 * QueryResponse (wire bytes) whose TokenBatch records pass the coordinator's
 * checks (coordinator/serve.c coord_link_node: handle 1..LINKER_HANDLE_MAX
 * bytes, tokens LINKER_TOKEN_LEN or empty, filter LINKER_BLOOM_BYTES or empty)
 * go into the linker, with the node index taken from the batch index, and are
 * linked; every record must end in a cluster with its handle intact.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/cl_error.h"
#include "coordinator/linker.h"
#include "protocol/caselink.pb-c.h"

#define FZ_MAX_RECORDS 512

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int fz_valid(const Caselink__V1__TokenRecord *t)
{
	return !(t->row_handle.len < 1 || t->row_handle.len > LINKER_HANDLE_MAX ||
		 (t->id_token.len && t->id_token.len != LINKER_TOKEN_LEN) ||
		 (t->demo_token.len && t->demo_token.len != LINKER_TOKEN_LEN) ||
		 (t->bloom.len && t->bloom.len != LINKER_BLOOM_BYTES));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	Caselink__V1__QueryResponse *r = caselink__v1__query_response__unpack(NULL, size, data);
	struct linker *l = NULL;
	size_t i, n = 0, len;
	const unsigned char *h;
	uint32_t cluster, node, type;

	if (!r)
		return 0;
	if (r->chunk_case != CASELINK__V1__QUERY_RESPONSE__CHUNK_TOKENS || !r->tokens)
		goto out;
	if (linker_new(&l) != CL_OK)
		abort();
	for (i = 0; i < r->tokens->n_records && n < FZ_MAX_RECORDS; i++) {
		const Caselink__V1__TokenRecord *t = r->tokens->records[i];

		if (!fz_valid(t))
			goto out; /* the coordinator fails the node (CL_EPROTO) */
		/* records spread over nodes, so that pairs across nodes exist */
		if (linker_add(l, (uint32_t)((r->tokens->batch_index + i) % 4), 0,
			       t->row_handle.data, t->row_handle.len,
			       t->id_token.len ? t->id_token.data : NULL,
			       t->demo_token.len ? t->demo_token.data : NULL,
			       t->bloom.len ? t->bloom.data : NULL, NULL) != CL_OK)
			abort();
		n++;
	}
	if (linker_run(l) != CL_OK)
		abort();
	if (linker_count(l) != n)
		abort();
	for (i = 0; i < n; i++) {
		const Caselink__V1__TokenRecord *t = r->tokens->records[i];

		if (linker_cluster(l, i, &cluster) != CL_OK || cluster >= n ||
		    linker_handle(l, i, &h, &len) != CL_OK || len != t->row_handle.len ||
		    memcmp(h, t->row_handle.data, len) ||
		    linker_record_node(l, i, &node, &type) != CL_OK)
			abort();
	}
out:
	linker_free(l);
	caselink__v1__query_response__free_unpacked(r, NULL);
	return 0;
}
