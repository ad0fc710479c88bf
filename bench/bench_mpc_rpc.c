/*
 * bench_mpc_rpc — what the network transport between the three parties costs
 * (compute/mpc_rpc: Compute.Exchange over mutual TLS on loopback, three
 * servers in this process) beside the in-process transport (mpc_net_local)
 * in the same run, for the demonstration jobs of compute/compute_job.h:
 *   ring, 8-byte messages, many rounds: the latency of one round
 *   ring, 1 MiB messages: throughput
 *   mul, the engine's shared multiplication of n values (input, mul, open)
 * usage: bench_mpc_rpc [--rounds R] [--n N]   (defaults 500 and 1000000)
 * Prints one line per job and transport: wall time, per round, MB sent per party.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "common/cl_error.h"
#include "compute/compute_job.h"
#include "compute/mpc_net.h"
#include "compute/mpc_rpc.h"
#include "protocol/pki.h"
#include "protocol/rpc.h"

static const char *const bn_names[MPC_PARTIES] = {"coord", "cp-1", "cp-2"};
static const char *const bn_roles[MPC_PARTIES] = {"coordinator", "compute", "compute"};

struct bn_job {
	const uint8_t *job[MPC_PARTIES];
	size_t len[MPC_PARTIES];
	uint8_t id[16];
	struct mpc_rpc *tr[MPC_PARTIES]; /* NULL: the in-process transport */
	uint64_t sent[MPC_PARTIES];
};

struct bn_party {
	struct bn_job *j;
	unsigned p;
	int rc;
};

static double bn_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static int bn_port(void)
{
	struct sockaddr_in a;
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM, 0), port = -1;

	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd >= 0 && !bind(fd, (struct sockaddr *)&a, sizeof(a)) &&
	    !getsockname(fd, (struct sockaddr *)&a, &len))
		port = ntohs(a.sin_port);
	if (fd >= 0)
		close(fd);
	return port;
}

/* The local transport's runner: one party's job. */
static int bn_local_fn(struct mpc_net *net, void *ctx)
{
	struct bn_job *j = ctx;
	uint8_t *out = NULL;
	size_t out_len = 0;
	int rc =
	    compute_run(net, net->self, j->job[net->self], j->len[net->self], NULL, &out, &out_len);

	j->sent[net->self] = net->bytes_sent;
	free(out);
	return rc;
}

static void *bn_net_thread(void *arg)
{
	struct bn_party *bp = arg;
	struct mpc_rpc_run *r = NULL;
	uint8_t *out = NULL;
	size_t out_len = 0;

	bp->rc = mpc_rpc_begin(bp->j->tr[bp->p], bp->j->id, 16, 0, &r);
	if (bp->rc == CL_OK)
		bp->rc = compute_run(mpc_rpc_net(r), bp->p, bp->j->job[bp->p], bp->j->len[bp->p],
				     NULL, &out, &out_len);
	if (r)
		bp->j->sent[bp->p] = mpc_rpc_net(r)->bytes_sent;
	mpc_rpc_end(r, bp->rc);
	free(out);
	return NULL;
}

/* Runs the job over the given transports (or the local one); the wall time in seconds. */
static double bn_run(struct bn_job *j, int net, int *rc)
{
	void *ctx[MPC_PARTIES] = {j, j, j};
	struct bn_party bp[MPC_PARTIES];
	pthread_t th[MPC_PARTIES];
	double t0 = bn_now();
	unsigned p;

	*rc = CL_OK;
	if (!net) {
		*rc = mpc_net_local_run(bn_local_fn, ctx, 60000);
		return bn_now() - t0;
	}
	j->id[0]++;
	for (p = 0; p < MPC_PARTIES; p++) {
		bp[p].j = j;
		bp[p].p = p;
		bp[p].rc = CL_OK;
		pthread_create(&th[p], NULL, bn_net_thread, &bp[p]);
	}
	for (p = 0; p < MPC_PARTIES; p++) {
		pthread_join(th[p], NULL);
		if (bp[p].rc != CL_OK && *rc == CL_OK)
			*rc = bp[p].rc;
	}
	return bn_now() - t0;
}

static char *bn_slurp(const char *dir, const char *rel)
{
	char p[1200], *buf = NULL;
	size_t len;

	snprintf(p, sizeof(p), "%s/%s", dir, rel);
	return pki_read_file(p, PKI_PEM_MAX, &buf, &len) == CL_OK ? buf : NULL;
}

/* Three parties over TLS in this process: certificates, transports, servers. */
static int bn_setup(const char *dir, struct mpc_rpc *tr[MPC_PARTIES],
		    struct rpc_server *srv[MPC_PARTIES])
{
	static const char *const dns[] = {"localhost"};
	static const char *const ips[] = {"127.0.0.1"};
	char ca_dir[1100], rel[128], listen[64], *ca, *cert[MPC_PARTIES], *key[MPC_PARTIES];
	int port[MPC_PARTIES];
	unsigned p, q;
	int rc;

	snprintf(ca_dir, sizeof(ca_dir), "%s/ca", dir);
	rc = pki_init_ca(ca_dir);
	for (p = 0; rc == CL_OK && p < MPC_PARTIES; p++) {
		struct pki_issue_opts o = {.id = bn_names[p],
					   .role = bn_roles[p],
					   .dns = dns,
					   .n_dns = 1,
					   .ips = ips,
					   .n_ips = 1};

		rc = pki_issue(ca_dir, dir, &o);
		port[p] = bn_port();
	}
	if (rc != CL_OK)
		return rc;
	ca = bn_slurp(dir, "ca/ca.pem");
	for (p = 0; p < MPC_PARTIES; p++) {
		snprintf(rel, sizeof(rel), "%s.pem", bn_names[p]);
		cert[p] = bn_slurp(dir, rel);
		snprintf(rel, sizeof(rel), "%s.key", bn_names[p]);
		key[p] = bn_slurp(dir, rel);
	}
	for (p = 0; rc == CL_OK && p < MPC_PARTIES; p++) {
		struct mpc_rpc_config mc;
		struct rpc_server_config sc;

		memset(&mc, 0, sizeof(mc));
		mc.self = p;
		for (q = 0; q < MPC_PARTIES; q++) {
			snprintf(mc.parties[q].id, sizeof(mc.parties[q].id), "%s", bn_names[q]);
			snprintf(mc.parties[q].address, sizeof(mc.parties[q].address),
				 "127.0.0.1:%d", port[q]);
		}
		mc.tls.ca_pem = ca;
		mc.tls.cert_pem = cert[p];
		mc.tls.key_pem = key[p];
		rc = mpc_rpc_new(&mc, &tr[p]);
		memset(&sc, 0, sizeof(sc));
		snprintf(listen, sizeof(listen), "127.0.0.1:%d", port[p]);
		sc.listen_addr = listen;
		sc.tls = mc.tls;
		sc.max_message_bytes = MPC_NET_MAX_MESSAGE + MPC_RPC_MSG_OVERHEAD;
		sc.workers = 6;
		if (rc == CL_OK)
			rc = rpc_server_new(&sc, &srv[p]);
		if (rc == CL_OK)
			rc = mpc_rpc_register(tr[p], srv[p]);
		if (rc == CL_OK)
			rc = rpc_server_start(srv[p], NULL);
	}
	free(ca);
	for (p = 0; p < MPC_PARTIES; p++) {
		free(cert[p]);
		free(key[p]);
	}
	return rc;
}

/* One job over both transports, printed. */
static int bn_job(const char *name, uint8_t *jobs[MPC_PARTIES], size_t lens[MPC_PARTIES],
		  unsigned rounds, struct mpc_rpc *tr[MPC_PARTIES])
{
	struct bn_job j;
	double t;
	unsigned p;
	int net, rc = CL_OK;

	memset(&j, 0, sizeof(j));
	memcpy(j.id, "bench-mpc-rpc-00", 16);
	for (p = 0; p < MPC_PARTIES; p++) {
		j.job[p] = jobs[p];
		j.len[p] = lens[p];
	}
	for (net = 0; net < 2 && rc == CL_OK; net++) {
		for (p = 0; p < MPC_PARTIES; p++)
			j.tr[p] = net ? tr[p] : NULL;
		t = bn_run(&j, net, &rc);
		if (rc != CL_OK)
			break;
		printf("%-28s %-22s %8.3f s %9.3f ms/round %9.1f MB sent per party (P0 %.1f)\n",
		       name, net ? "mpc_rpc (gRPC, TLS)" : "mpc_net_local (memory)", t,
		       1000.0 * t / rounds, j.sent[1] / 1e6, j.sent[0] / 1e6);
	}
	for (p = 0; p < MPC_PARTIES; p++)
		free(jobs[p]);
	if (rc != CL_OK)
		fprintf(stderr, "bench_mpc_rpc: %s failed: %s\n", name, cl_strerror(rc));
	return rc;
}

int main(int argc, char **argv)
{
	struct mpc_rpc *tr[MPC_PARTIES] = {NULL, NULL, NULL};
	struct rpc_server *srv[MPC_PARTIES] = {NULL, NULL, NULL};
	char dir[] = "/tmp/bench_mpc_rpc.XXXXXX", cmd[64], label[64];
	unsigned rounds = 500, p;
	size_t n = 1000000, i, big = MPC_NET_MAX_MESSAGE / 4; /* 1 MiB messages */
	uint64_t *x, *y;
	uint8_t *jobs[MPC_PARTIES];
	size_t lens[MPC_PARTIES];
	int k, rc;

	for (k = 1; k + 1 < argc; k += 2)
		if (!strcmp(argv[k], "--rounds"))
			rounds = (unsigned)strtoul(argv[k + 1], NULL, 10);
		else if (!strcmp(argv[k], "--n"))
			n = strtoul(argv[k + 1], NULL, 10);
	if (k != argc || !rounds || rounds > COMPUTE_JOB_ROUNDS_MAX || !n || n > 3000000) {
		fprintf(stderr, "usage: bench_mpc_rpc [--rounds 1..1000] [--n 1..3000000]\n");
		return 2;
	}
	if (!mkdtemp(dir) || rpc_signals_block() != CL_OK)
		return 1;
	rc = bn_setup(dir, tr, srv);
	x = calloc(n, 8);
	y = calloc(n, 8);
	if (rc != CL_OK || !x || !y) {
		fprintf(stderr, "bench_mpc_rpc: setup: %s\n", cl_strerror(rc ? rc : CL_ENOMEM));
		return 1;
	}
	for (i = 0; i < n; i++) {
		x[i] = i * 0x9e3779b97f4a7c15ULL;
		y[i] = i ^ 0x5555;
	}
	printf("bench_mpc_rpc: 3 parties in one process, loopback; %ld CPUs\n",
	       sysconf(_SC_NPROCESSORS_ONLN));
	snprintf(label, sizeof(label), "ring 8 B x %u rounds", rounds);
	rc = compute_demo_jobs(x, y, 1, rounds, jobs, lens);
	if (rc == CL_OK)
		rc = bn_job(label, jobs, lens, rounds, tr);
	if (rc == CL_OK)
		rc = compute_demo_jobs(x, y, big / 8, 20, jobs, lens);
	if (rc == CL_OK)
		rc = bn_job("ring 1 MiB x 20 rounds", jobs, lens, 20, tr);
	snprintf(label, sizeof(label), "engine mul n=%zu (4 rounds)", n);
	if (rc == CL_OK)
		rc = compute_demo_mul_jobs(x, y, n, jobs, lens);
	if (rc == CL_OK)
		rc = bn_job(label, jobs, lens, 4, tr);
	for (p = 0; p < MPC_PARTIES; p++) {
		rpc_server_free(srv[p]);
		mpc_rpc_free(tr[p]);
	}
	free(x);
	free(y);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "bench_mpc_rpc: could not remove %s\n", dir);
	return rc == CL_OK ? 0 : 1;
}
