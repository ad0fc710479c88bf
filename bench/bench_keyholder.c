/*
 * bench_keyholder — BlindEvaluate throughput through a real caselink-keyholder daemon over
 * mutual TLS (batches of --batch elements, --clients concurrent callers sharing one channel),
 * against oprf_blind_evaluate_batch in this process on one core, and `openssl speed ecdhp256`.
 *
 * It makes a throw-away CA, certificates and key store under $TMPDIR (or /tmp), starts
 * build/bin/caselink-keyholder next to this program with limits high enough not to bite, and
 * stops it at the end. Daemon figures are elements per wall-clock second and include gRPC,
 * TLS, protobuf, the limits and one audit append (an SQLite commit with fsync) per batch; the
 * client runs on the same machine and takes its share of the cores.
 *
 * Usage: bench_keyholder [--seconds S] [--batch N] [--workers W] [--clients C] [--no-openssl]
 */
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <openssl/rand.h>

#include "bench/benchutil.h"
#include "common/cl_error.h"
#include "protocol/caselink.pb-c.h"
#include "protocol/oprf.h"
#include "protocol/party.h"
#include "protocol/pki.h"
#include "protocol/rpc.h"

#define MAX_BATCH   65536
#define MAX_CLIENTS 16

struct client {
	pthread_t thread;
	struct rpc_channel *ch;
	const Caselink__V1__BlindEvaluateRequest *req; /* packed anew per call: fresh request id */
	size_t req_len;
	double until;
	unsigned long long batches, failures;
	double latency_sum;
};

static double cpu_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double openssl_ecdh(int seconds)
{
	char cmd[128], line[512];
	double ops = -1.0;
	FILE *p;

	snprintf(cmd, sizeof(cmd), "openssl speed -seconds %d ecdhp256 2>/dev/null", seconds);
	p = popen(cmd, "r");
	if (!p)
		return -1.0;
	while (fgets(line, sizeof(line), p)) {
		char *last;

		if (!strstr(line, "ecdh (nistp256)"))
			continue;
		last = strrchr(line, ' ');
		if (last)
			ops = strtod(last + 1, NULL);
	}
	if (pclose(p) != 0)
		return -1.0;
	return ops;
}

static void *client_run(void *arg)
{
	struct client *c = arg;
	Caselink__V1__BlindEvaluateRequest req = *c->req;
	Caselink__V1__RequestHeader h = *c->req->header;
	uint8_t id[PARTY_REQUEST_ID_LEN], *msg = malloc(c->req_len);
	struct rpc_status st;

	req.header = &h;
	h.request_id.data = id;
	h.request_id.len = sizeof(id);
	while (msg && benchutil_now() < c->until) {
		uint8_t *resp = NULL;
		size_t resp_len = 0;
		double t0 = benchutil_now();

		/* Every request new: the keyholder refuses a replayed request id. */
		if (RAND_bytes(id, sizeof(id)) != 1 ||
		    caselink__v1__blind_evaluate_request__pack(&req, msg) != c->req_len) {
			c->failures++;
			break;
		}
		if (rpc_call_unary(c->ch, RPC_METHOD_KEYHOLDER_BLIND_EVAL, msg, c->req_len, 60000,
				   &resp, &resp_len, &st) == CL_OK) {
			c->batches++;
			c->latency_sum += benchutil_now() - t0;
		} else {
			c->failures++;
			if (c->failures == 1)
				fprintf(stderr, "bench_keyholder: call failed: %d %s\n",
					(int)st.code, st.message);
		}
		free(resp);
	}
	free(msg);
	return NULL;
}

static char *slurp(const char *dir, const char *name)
{
	char p[PATH_MAX + 64], *buf = NULL;
	size_t len = 0;

	snprintf(p, sizeof(p), "%s/%s", dir, name);
	if (pki_read_file(p, PKI_PEM_MAX, &buf, &len) != CL_OK) {
		fprintf(stderr, "bench_keyholder: cannot read %s\n", p);
		exit(1);
	}
	return buf;
}

static int run(const char *prog, const char *a1, const char *a2, const char *a3)
{
	pid_t pid = fork();
	int st = 0;

	if (pid == 0) {
		int fd = open("/dev/null", O_WRONLY);

		if (fd >= 0)
			dup2(fd, 1);
		execl(prog, prog, a1, a2, a3, (char *)NULL);
		_exit(127);
	}
	if (pid < 0 || waitpid(pid, &st, 0) != pid || !WIFEXITED(st))
		return -1;
	return WEXITSTATUS(st);
}

static int read_port(const char *path)
{
	char line[128] = "", *colon;
	FILE *f = fopen(path, "r");

	if (!f)
		return 0;
	if (!fgets(line, sizeof(line), f))
		line[0] = '\0';
	fclose(f);
	colon = strrchr(line, ':');
	return colon ? atoi(colon + 1) : 0;
}

int main(int argc, char **argv)
{
	static const char *const ips[] = {"127.0.0.1"};
	struct pki_issue_opts kh = {.id = "keyholder", .role = "keyholder", .ips = ips, .n_ips = 1};
	struct pki_issue_opts nd = {.id = "bench-node", .role = "node", .ips = ips, .n_ips = 1};
	Caselink__V1__BlindEvaluateRequest req = CASELINK__V1__BLIND_EVALUATE_REQUEST__INIT;
	Caselink__V1__RequestHeader h = CASELINK__V1__REQUEST_HEADER__INIT;
	Caselink__V1__Identity who = CASELINK__V1__IDENTITY__INIT;
	struct client clients[MAX_CLIENTS];
	struct rpc_channel_config cc;
	struct rpc_channel *ch = NULL;
	struct oprf_ctx *ctx = NULL;
	ProtobufCBinaryData *els = NULL;
	uint8_t sk[OPRF_SCALAR_LEN], pk[OPRF_ELEMENT_LEN], blind[OPRF_SCALAR_LEN];
	uint8_t id[PARTY_REQUEST_ID_LEN], *blinded = NULL, *out = NULL, *msg = NULL;
	char tmpl[PATH_MAX], self[PATH_MAX], prog[PATH_MAX + 32], p[PATH_MAX + 64],
	    data[PATH_MAX + 64], ready[PATH_MAX + 64], conf[PATH_MAX + 64], target[64];
	char *ca = NULL, *cert = NULL, *key = NULL, *slash;
	const char *tmp = getenv("TMPDIR");
	int seconds = 5, workers = 2, nclients_max = 4, openssl = 1, port = 0, i, c;
	size_t batch = 1000, k, msg_len;
	pid_t pid = -1;
	double t0, c0, wall, cpu;
	ssize_t n;
	FILE *f;

	for (i = 1; i < argc; i++) {
		if (i + 1 < argc && !strcmp(argv[i], "--seconds"))
			seconds = atoi(argv[++i]);
		else if (i + 1 < argc && !strcmp(argv[i], "--batch"))
			batch = (size_t)strtoul(argv[++i], NULL, 10);
		else if (i + 1 < argc && !strcmp(argv[i], "--workers"))
			workers = atoi(argv[++i]);
		else if (i + 1 < argc && !strcmp(argv[i], "--clients"))
			nclients_max = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--no-openssl"))
			openssl = 0;
		else {
			fprintf(stderr, "usage: bench_keyholder [--seconds S] [--batch N] "
					"[--workers W] [--clients C] [--no-openssl]\n");
			return 2;
		}
	}
	if (seconds < 1 || batch < 1 || batch > MAX_BATCH || workers < 1 || workers > 64 ||
	    nclients_max < 1 || nclients_max > MAX_CLIENTS) {
		fprintf(stderr, "bench_keyholder: option out of range\n");
		return 2;
	}
	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n <= 0)
		return 1;
	self[n] = '\0';
	slash = strrchr(self, '/');
	if (!slash)
		return 1;
	*slash = '\0';
	snprintf(prog, sizeof(prog), "%s/caselink-keyholder", self);
	snprintf(tmpl, sizeof(tmpl), "%s/bench_keyholder.XXXXXX", tmp ? tmp : "/tmp");
	if (!mkdtemp(tmpl)) {
		perror("mkdtemp");
		return 1;
	}
	snprintf(p, sizeof(p), "%s/pki", tmpl);
	if (pki_init_ca(p) != CL_OK || pki_issue(p, p, &kh) != CL_OK ||
	    pki_issue(p, p, &nd) != CL_OK) {
		fprintf(stderr, "bench_keyholder: PKI setup failed\n");
		return 1;
	}
	ca = slurp(p, "ca.pem");
	cert = slurp(p, "bench-node.pem");
	key = slurp(p, "bench-node.key");
	snprintf(data, sizeof(data), "%s/data", tmpl);
	if (run(prog, "init", "--data", data) != 0) {
		fprintf(stderr, "bench_keyholder: %s init failed\n", prog);
		return 1;
	}
	snprintf(conf, sizeof(conf), "%s/keyholder.yaml", tmpl);
	snprintf(ready, sizeof(ready), "%s/keyholder.addr", tmpl);
	f = fopen(conf, "w");
	if (!f)
		return 1;
	fprintf(f,
		"listen: 127.0.0.1:0\ntls: {ca: pki/ca.pem, cert: pki/keyholder.pem, key: "
		"pki/keyholder.key}\nnodes: [bench-node]\nrate_per_minute: 100000000\n"
		"daily_quota: 10000000000\nmax_batch: %zu\nworkers: %d\n",
		batch, workers);
	fclose(f);
	pid = fork();
	if (pid == 0) {
		snprintf(p, sizeof(p), "%s/keyholder.log", tmpl);
		int fd = open(p, O_WRONLY | O_CREAT | O_APPEND, 0600);

		if (fd >= 0)
			dup2(fd, 2);
		execl(prog, prog, "serve", "--data", data, "--config", conf, "--foreground",
		      "--ready-file", ready, (char *)NULL);
		_exit(127);
	}
	for (i = 0; i < 400 && (port = read_port(ready)) == 0; i++)
		usleep(50000);
	if (port == 0) {
		fprintf(stderr, "bench_keyholder: the keyholder did not start (see %s)\n", tmpl);
		goto out;
	}

	/* One batch of blinded elements of random inputs, packed once. */
	if (oprf_ctx_new(&ctx) != CL_OK || oprf_generate_key(ctx, sk, pk) != CL_OK)
		goto out;
	blinded = malloc(batch * OPRF_ELEMENT_LEN);
	out = malloc(batch * OPRF_ELEMENT_LEN);
	els = calloc(batch, sizeof(*els));
	if (!blinded || !out || !els)
		goto out;
	for (k = 0; k < batch; k++) {
		char in[32];

		snprintf(in, sizeof(in), "EE:%013llu", 38000000000ull + (unsigned long long)k);
		if (oprf_blind(ctx, (const uint8_t *)in, strlen(in), blind,
			       blinded + k * OPRF_ELEMENT_LEN) != CL_OK)
			goto out;
		els[k].data = blinded + k * OPRF_ELEMENT_LEN;
		els[k].len = OPRF_ELEMENT_LEN;
	}
	party_header_fill(&h, &who, id, "benchmark", "none", "bench-node", "node");
	h.expires_at = h.issued_at + PARTY_MAX_VALIDITY; /* the longest a keyholder accepts */
	req.header = &h;
	req.n_blinded_elements = batch;
	req.blinded_elements = els;
	msg_len = caselink__v1__blind_evaluate_request__get_packed_size(&req);
	msg = malloc(msg_len);
	if (!msg)
		goto out;
	caselink__v1__blind_evaluate_request__pack(&req, msg);

	printf("batch %zu elements, %d s per figure, keyholder workers %d\n", batch, seconds,
	       workers);
	/* In-process, one core. */
	t0 = benchutil_now();
	c0 = cpu_now();
	for (k = 0; benchutil_now() - t0 < seconds; k++)
		if (oprf_blind_evaluate_batch(ctx, sk, blinded, batch, out) != CL_OK)
			goto out;
	wall = benchutil_now() - t0;
	cpu = cpu_now() - c0;
	printf("in-process oprf_blind_evaluate_batch, 1 thread: %.0f elements/s (wall), %.0f "
	       "elements/s of CPU\n",
	       (double)(k * batch) / wall, (double)(k * batch) / cpu);

	/* Through the daemon over mutual TLS. */
	snprintf(target, sizeof(target), "127.0.0.1:%d", port);
	memset(&cc, 0, sizeof(cc));
	cc.target = target;
	cc.tls.ca_pem = ca;
	cc.tls.cert_pem = cert;
	cc.tls.key_pem = key;
	cc.expected_roles = RPC_ROLE_KEYHOLDER;
	cc.max_message_bytes = batch * 40 + 65536;
	if (cc.max_message_bytes < RPC_MAX_MESSAGE_DEFAULT)
		cc.max_message_bytes = RPC_MAX_MESSAGE_DEFAULT;
	if (rpc_channel_new(&cc, &ch) != CL_OK)
		goto out;
	for (c = 1; c <= nclients_max; c *= 2) {
		unsigned long long batches = 0, failures = 0;
		double lat = 0;

		memset(clients, 0, sizeof(clients));
		t0 = benchutil_now();
		for (i = 0; i < c; i++) {
			clients[i].ch = ch;
			clients[i].req = &req;
			clients[i].req_len = msg_len;
			clients[i].until = t0 + seconds;
			pthread_create(&clients[i].thread, NULL, client_run, &clients[i]);
		}
		for (i = 0; i < c; i++) {
			pthread_join(clients[i].thread, NULL);
			batches += clients[i].batches;
			failures += clients[i].failures;
			lat += clients[i].latency_sum;
		}
		wall = benchutil_now() - t0;
		printf("daemon over mTLS, %d client%s: %.0f elements/s, %.1f batches/s, mean "
		       "latency %.1f ms%s\n",
		       c, c > 1 ? "s" : " ", (double)(batches * batch) / wall,
		       (double)batches / wall, batches ? 1000.0 * lat / (double)batches : 0.0,
		       failures ? " (some calls failed)" : "");
	}
	if (openssl) {
		double ops = openssl_ecdh(seconds);

		if (ops > 0)
			printf("openssl speed ecdhp256, 1 core: %.0f ops/s\n", ops);
		else
			printf("openssl speed ecdhp256: not available\n");
	}
out:
	rpc_channel_free(ch);
	if (pid > 0) {
		kill(pid, SIGTERM);
		waitpid(pid, NULL, 0);
	}
	oprf_ctx_free(ctx);
	free(msg);
	free(els);
	free(out);
	free(blinded);
	free(ca);
	free(cert);
	free(key);
	snprintf(p, sizeof(p), "rm -rf '%s'", tmpl);
	if (system(p) != 0)
		fprintf(stderr, "bench_keyholder: could not remove %s\n", tmpl);
	return 0;
}
