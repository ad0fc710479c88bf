/*
 * compute/mpc_rpc: the network transport between the three parties, in one
 * process over mutual TLS on loopback (three servers, three transports): a
 * job runs through it; then Exchange messages are forged as another party
 * would send them, and each is refused with its clear reason: malformed,
 * out of sequence, a sender whose certificate is not the party it claims,
 * an unknown computation, a message too large, the wrong receiver; an abort
 * stops the receiver's recv at once, naming its sender.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/cl_error.h"
#include "compute/compute_job.h"
#include "compute/mpc_rpc.h"
#include "protocol/caselink.pb-c.h"
#include "protocol/pki.h"
#include "protocol/rpc.h"

static const char *const names[MPC_PARTIES] = {"coord", "cp-1", "cp-2"};
static const char *const roles[MPC_PARTIES] = {"coordinator", "compute", "compute"};

static char tdir[1024];
static char *ca_pem, *cert[MPC_PARTIES], *key[MPC_PARTIES];
static struct rpc_server *srv[MPC_PARTIES];
static struct mpc_rpc *tr[MPC_PARTIES];
static int port[MPC_PARTIES];

static char *slurp(const char *rel)
{
	char p[1200], *buf = NULL;
	size_t len;

	snprintf(p, sizeof(p), "%s/%s", tdir, rel);
	assert_int_equal(pki_read_file(p, PKI_PEM_MAX, &buf, &len), 0);
	return buf;
}

static void issue(const char *id, const char *role)
{
	static const char *const dns[] = {"localhost"};
	static const char *const ips[] = {"127.0.0.1"};
	struct pki_issue_opts o = {
	    .id = id, .role = role, .dns = dns, .n_dns = 1, .ips = ips, .n_ips = 1};
	char c[1200], d[1200];

	snprintf(c, sizeof(c), "%s/ca", tdir);
	snprintf(d, sizeof(d), "%s/certs", tdir);
	assert_int_equal(pki_issue(c, d, &o), 0);
}

static struct rpc_tls tls_of(unsigned p)
{
	struct rpc_tls t = {.ca_pem = ca_pem, .cert_pem = cert[p], .key_pem = key[p]};

	return t;
}

/* A port free on loopback now (the kernel's choice), for a listen address known in advance. */
static int free_port(void)
{
	struct sockaddr_in a;
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM, 0), free_one;

	assert_true(fd >= 0);
	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
	free_one = ntohs(a.sin_port);
	close(fd);
	return free_one;
}

static int setup(void **state)
{
	const char *tmp = getenv("CASELINK_TMP");
	struct rpc_server_config sc;
	struct mpc_rpc_config mc;
	char rel[1200], listen[64];
	unsigned p, q;

	(void)state;
	snprintf(tdir, sizeof(tdir), "%s/test_mpc_rpc.%ld", tmp ? tmp : "/tmp", (long)getpid());
	snprintf(rel, sizeof(rel), "%s/ca", tdir);
	assert_int_equal(pki_init_ca(rel), 0);
	ca_pem = slurp("ca/ca.pem");
	for (p = 0; p < MPC_PARTIES; p++) {
		issue(names[p], roles[p]);
		snprintf(rel, sizeof(rel), "certs/%s.pem", names[p]);
		cert[p] = slurp(rel);
		snprintf(rel, sizeof(rel), "certs/%s.key", names[p]);
		key[p] = slurp(rel);
		port[p] = free_port();
	}
	for (p = 0; p < MPC_PARTIES; p++) {
		memset(&mc, 0, sizeof(mc));
		mc.self = p;
		for (q = 0; q < MPC_PARTIES; q++) {
			snprintf(mc.parties[q].id, sizeof(mc.parties[q].id), "%s", names[q]);
			snprintf(mc.parties[q].address, sizeof(mc.parties[q].address),
				 "127.0.0.1:%d", port[q]);
		}
		mc.tls = tls_of(p);
		mc.timeout_ms = 3000;
		assert_int_equal(mpc_rpc_new(&mc, &tr[p]), 0);
		memset(&sc, 0, sizeof(sc));
		snprintf(listen, sizeof(listen), "127.0.0.1:%d", port[p]);
		sc.listen_addr = listen;
		sc.tls = tls_of(p);
		sc.max_message_bytes = MPC_NET_MAX_MESSAGE + MPC_RPC_MSG_OVERHEAD + 64;
		sc.workers = 6;
		assert_int_equal(rpc_server_new(&sc, &srv[p]), 0);
		assert_int_equal(mpc_rpc_register(tr[p], srv[p]), 0);
		assert_int_equal(rpc_server_start(srv[p], NULL), 0);
	}
	return 0;
}

static int teardown(void **state)
{
	char cmd[1200];
	unsigned p;

	(void)state;
	for (p = 0; p < MPC_PARTIES; p++) {
		rpc_server_free(srv[p]);
		mpc_rpc_free(tr[p]);
		free(cert[p]);
		free(key[p]);
	}
	free(ca_pem);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tdir);
	return system(cmd) == 0 ? 0 : -1;
}

/* One party's run of a job on its own thread. */
struct job_run {
	unsigned party;
	const uint8_t *id;
	const uint8_t *job;
	size_t len;
	uint8_t *out;
	size_t out_len;
	int rc;
	char why[MPC_RPC_WHY_MAX];
	unsigned failed_party;
	pthread_t th;
};

static void *job_thread(void *arg)
{
	struct job_run *j = arg;
	struct mpc_rpc_run *r = NULL;

	j->rc = mpc_rpc_begin(tr[j->party], j->id, 16, 0, &r);
	if (j->rc == CL_OK)
		j->rc = compute_run(mpc_rpc_net(r), j->party, j->job, j->len, NULL, &j->out,
				    &j->out_len);
	if (j->rc != CL_OK && r)
		mpc_rpc_failure(r, &j->failed_party, j->why, sizeof(j->why));
	mpc_rpc_end(r, j->rc);
	return NULL;
}

static void test_job_over_tls(void **state)
{
	static const uint8_t id[16] = "comp-ok-00000001";
	uint64_t x[300], y[300], z[300];
	uint8_t *jobs[MPC_PARTIES];
	size_t lens[MPC_PARTIES], i;
	struct job_run j[MPC_PARTIES];
	unsigned p;

	(void)state;
	for (i = 0; i < 300; i++) {
		x[i] = i * 0x9e3779b97f4a7c15ULL;
		y[i] = ~i;
	}
	assert_int_equal(compute_demo_mul_jobs(x, y, 300, jobs, lens), 0);
	memset(j, 0, sizeof(j));
	for (p = 0; p < MPC_PARTIES; p++) {
		j[p].party = p;
		j[p].id = id;
		j[p].job = jobs[p];
		j[p].len = lens[p];
		assert_int_equal(pthread_create(&j[p].th, NULL, job_thread, &j[p]), 0);
	}
	for (p = 0; p < MPC_PARTIES; p++)
		pthread_join(j[p].th, NULL);
	for (p = 0; p < MPC_PARTIES; p++)
		assert_int_equal(j[p].rc, CL_OK);
	assert_int_equal(compute_demo_mul_read(j[0].out, j[0].out_len, NULL, 0, NULL, 0, z, 300),
			 0);
	for (i = 0; i < 300; i++)
		assert_true(z[i] == x[i] * y[i] + x[i]);
	assert_int_equal(
	    compute_demo_mul_read(NULL, 0, j[1].out, j[1].out_len, j[2].out, j[2].out_len, z, 300),
	    0);
	for (i = 0; i < 300; i++)
		assert_true(z[i] == x[i] * y[i] + x[i]);
	for (p = 0; p < MPC_PARTIES; p++) {
		free(j[p].out);
		free(jobs[p]);
	}
}

/* Sends one forged Exchange to party `to` with the TLS identity of party `as`. */
static int forge(unsigned as, unsigned to, const uint8_t *raw, size_t raw_len,
		 const Caselink__V1__ComputeExchange *m, struct rpc_status *st)
{
	struct rpc_channel_config cc;
	struct rpc_channel *ch = NULL;
	uint8_t *req = NULL, *resp = NULL;
	size_t len = raw_len, resp_len = 0;
	char target[64];
	int rc;

	memset(&cc, 0, sizeof(cc));
	snprintf(target, sizeof(target), "127.0.0.1:%d", port[to]);
	cc.target = target;
	cc.tls = tls_of(as);
	cc.max_message_bytes = MPC_NET_MAX_MESSAGE + MPC_RPC_MSG_OVERHEAD + 64;
	assert_int_equal(rpc_channel_new(&cc, &ch), 0);
	if (m) {
		len = caselink__v1__compute_exchange__get_packed_size(m);
		req = malloc(len);
		assert_non_null(req);
		caselink__v1__compute_exchange__pack(m, req);
	}
	rc = rpc_call_unary(ch, RPC_METHOD_COMPUTE_EXCHANGE, m ? req : raw, len, 1000, &resp,
			    &resp_len, st);
	free(req);
	free(resp);
	rpc_channel_free(ch);
	return rc;
}

static void msg_init(Caselink__V1__ComputeExchange *m, const uint8_t *id, unsigned from,
		     unsigned to, uint64_t seq, uint8_t *payload, size_t len)
{
	caselink__v1__compute_exchange__init(m);
	m->schema_version = 1;
	m->computation_id.data = (uint8_t *)id;
	m->computation_id.len = 16;
	m->from_party = from;
	m->to_party = to;
	m->seq = seq;
	m->payload.data = payload;
	m->payload.len = len;
}

/* Expects the forged call to be refused with code and a message containing what. */
static void refused(int rc, const struct rpc_status *st, enum rpc_code code, const char *what)
{
	assert_int_not_equal(rc, CL_OK);
	if (st->code != code || !strstr(st->message, what)) {
		print_error("got %s \"%s\", want %s \"%s\"\n", rpc_code_name(st->code), st->message,
			    rpc_code_name(code), what);
		fail();
	}
}

static void test_forged_messages(void **state)
{
	static const uint8_t id[16] = "comp-forged-0001", other[16] = "comp-nowhere-001";
	Caselink__V1__ComputeExchange m;
	struct mpc_rpc_run *r = NULL;
	struct rpc_status st;
	uint8_t pay[8] = {1, 2, 3, 4, 5, 6, 7, 8}, got[8], *big;
	unsigned who = 9;
	char why[MPC_RPC_WHY_MAX];

	(void)state;
	assert_int_equal(mpc_rpc_begin(tr[2], id, 16, 500, &r), 0);
	/* malformed bytes */
	refused(forge(1, 2, (const uint8_t *)"\xff\xff\xff", 3, NULL, &st), &st,
		RPC_INVALID_ARGUMENT, "malformed ComputeExchange");
	/* out of sequence: the first message must be 0 */
	msg_init(&m, id, 1, 2, 5, pay, 8);
	refused(forge(1, 2, NULL, 0, &m, &st), &st, RPC_INVALID_ARGUMENT,
		"message 5 from party 1 is out of sequence: expected 0");
	/* in sequence it is taken, then a repeat is refused */
	m.seq = 0;
	assert_int_equal(forge(1, 2, NULL, 0, &m, &st), CL_OK);
	assert_int_equal(mpc_rpc_net(r)->ops->recv(mpc_rpc_net(r)->ctx, 1, got, 8), CL_OK);
	assert_memory_equal(got, pay, 8);
	refused(forge(1, 2, NULL, 0, &m, &st), &st, RPC_INVALID_ARGUMENT, "expected 1");
	/* a computing party's certificate claiming to be party 0 */
	m.from_party = 0;
	refused(forge(1, 2, NULL, 0, &m, &st), &st, RPC_PERMISSION_DENIED,
		"party 0 must have a coordinator certificate");
	/* the coordinator's certificate claiming to be party 1 */
	m.from_party = 1;
	m.seq = 1;
	refused(forge(0, 2, NULL, 0, &m, &st), &st, RPC_PERMISSION_DENIED,
		"party 1 must have a compute certificate");
	/* the wrong receiver, and a sender claiming to be the receiver */
	m.to_party = 1;
	refused(forge(1, 2, NULL, 0, &m, &st), &st, RPC_INVALID_ARGUMENT, "cannot come to party 2");
	m.to_party = 2;
	m.from_party = 2;
	refused(forge(1, 2, NULL, 0, &m, &st), &st, RPC_INVALID_ARGUMENT, "cannot come to party 2");
	/* a computation the receiver does not run */
	msg_init(&m, other, 1, 2, 0, pay, 8);
	refused(forge(1, 2, NULL, 0, &m, &st), &st, RPC_NOT_FOUND,
		"party 2 does not run this computation");
	/* a short computation id, an empty and an oversized payload */
	msg_init(&m, id, 1, 2, 1, pay, 8);
	m.computation_id.len = 8;
	refused(forge(1, 2, NULL, 0, &m, &st), &st, RPC_INVALID_ARGUMENT,
		"computation id must be 16 to 32 bytes");
	msg_init(&m, id, 1, 2, 1, pay, 0);
	refused(forge(1, 2, NULL, 0, &m, &st), &st, RPC_INVALID_ARGUMENT, "must hold 1 to");
	big = calloc(1, MPC_NET_MAX_MESSAGE + 1);
	assert_non_null(big);
	msg_init(&m, id, 1, 2, 1, big, MPC_NET_MAX_MESSAGE + 1);
	refused(forge(1, 2, NULL, 0, &m, &st), &st, RPC_INVALID_ARGUMENT, "must hold 1 to");
	free(big);
	/* another schema */
	msg_init(&m, id, 1, 2, 1, pay, 8);
	m.schema_version = 7;
	refused(forge(1, 2, NULL, 0, &m, &st), &st, RPC_FAILED_PRECONDITION, "schema");
	/* nothing refused reached the run: the next message is still seq 1 */
	msg_init(&m, id, 1, 2, 1, pay, 8);
	assert_int_equal(forge(1, 2, NULL, 0, &m, &st), CL_OK);
	assert_int_equal(mpc_rpc_net(r)->ops->recv(mpc_rpc_net(r)->ctx, 1, got, 8), CL_OK);
	/* a message of another length than the schedule's fails the run, naming its sender */
	msg_init(&m, id, 0, 2, 0, pay, 8);
	assert_int_equal(forge(0, 2, NULL, 0, &m, &st), CL_OK);
	assert_int_equal(mpc_rpc_net(r)->ops->recv(mpc_rpc_net(r)->ctx, 0, got, 4), CL_EPROTO);
	assert_int_equal(mpc_rpc_failure(r, &who, why, sizeof(why)), CL_EPROTO);
	assert_int_equal(who, 0);
	assert_non_null(strstr(why, "party 0 (coord): sent a message of another length"));
	mpc_rpc_end(r, CL_EPROTO);
}

/* An abort stops the receiver's wait at once and names the party that gave up. */
static void test_abort_and_silence(void **state)
{
	static const uint8_t id[16] = "comp-abort-00001";
	Caselink__V1__ComputeExchange m;
	struct mpc_rpc_run *r = NULL;
	struct rpc_status st;
	uint8_t got[8];
	unsigned who = 9;
	char why[MPC_RPC_WHY_MAX];

	(void)state;
	assert_int_equal(mpc_rpc_begin(tr[1], id, 16, 400, &r), 0);
	/* silence: the per-message deadline names the silent party */
	assert_int_equal(mpc_rpc_net(r)->ops->recv(mpc_rpc_net(r)->ctx, 2, got, 8), CL_ETIMEOUT);
	assert_int_equal(mpc_rpc_failure(r, &who, why, sizeof(why)), CL_ETIMEOUT);
	assert_int_equal(who, 2);
	assert_non_null(strstr(why, "party 2 (cp-2): sent nothing for 400 ms"));
	mpc_rpc_end(r, CL_ETIMEOUT);
	assert_int_equal(mpc_rpc_begin(tr[1], id, 16, 5000, &r), 0);
	msg_init(&m, id, 0, 1, 0, NULL, 0);
	m.abort = 1;
	assert_int_equal(forge(0, 1, NULL, 0, &m, &st), CL_OK);
	assert_int_equal(mpc_rpc_net(r)->ops->recv(mpc_rpc_net(r)->ctx, 2, got, 8), CL_EUNAVAIL);
	assert_int_equal(mpc_rpc_failure(r, &who, why, sizeof(why)), CL_EUNAVAIL);
	assert_int_equal(who, 0);
	assert_non_null(strstr(why, "party 0 (coord): has given this computation up"));
	/* and the run's sends stop too */
	assert_int_equal(mpc_rpc_net(r)->ops->send(mpc_rpc_net(r)->ctx, 2, got, 8), CL_EUNAVAIL);
	mpc_rpc_end(r, CL_EUNAVAIL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_job_over_tls),
	    cmocka_unit_test(test_forged_messages),
	    cmocka_unit_test(test_abort_and_silence),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
