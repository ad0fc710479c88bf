/*
 * Tests for caselink-keyholder: real daemons on 127.0.0.1 (ephemeral ports)
 * over mutual TLS with certificates made by protocol/pki in CASELINK_TMP,
 * and nodes played by this test with protocol/oprf (blind, BlindEvaluate
 * over rpc, finalize). Checks outputs against oprf_evaluate with the
 * stored key, every refusal, the limits (and the daily quota across a
 * restart), rotation, the audit chain, and that neither the log nor the
 * keyholder's files hold an input, a point or the key.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include <openssl/crypto.h>
#include <sqlite3.h>

#include "common/cl_error.h"
#include "keyholder/keystore.h"
#include "protocol/caselink.pb-c.h"
#include "protocol/oprf.h"
#include "testkeys.h"
#include "protocol/party.h"
#include "protocol/pki.h"
#include "protocol/rpc.h"

#define MAX_N	    64
#define MAX_NEEDLES 4096
#define DEADLINE_MS 20000

struct party {
	char id[32];
	char *cert, *key;
};

/* Byte strings that must never appear in the log or the keyholder's files. */
struct needle {
	uint8_t b[OPRF_ELEMENT_LEN * 2 + 8];
	size_t len;
};

static char tdir[1024], bin[1024], logpath[1100];
static char *ca_pem;
static struct party p_kh, p_a, p_b, p_c, p_coord;
static struct needle needles[MAX_NEEDLES];
static size_t nneedles;
static struct oprf_ctx *octx;

static void add_needle(const uint8_t *b, size_t len)
{
	static const char hx[] = "0123456789abcdef", HX[] = "0123456789ABCDEF";
	size_t i;

	if (nneedles + 3 > MAX_NEEDLES)
		return;
	memcpy(needles[nneedles].b, b, len);
	needles[nneedles++].len = len;
	if (len * 2 > sizeof(needles[0].b))
		return;
	for (i = 0; i < len; i++) {
		needles[nneedles].b[2 * i] = (uint8_t)hx[b[i] >> 4];
		needles[nneedles].b[2 * i + 1] = (uint8_t)hx[b[i] & 15];
		needles[nneedles + 1].b[2 * i] = (uint8_t)HX[b[i] >> 4];
		needles[nneedles + 1].b[2 * i + 1] = (uint8_t)HX[b[i] & 15];
	}
	needles[nneedles].len = needles[nneedles + 1].len = 2 * len;
	nneedles += 2;
}

static void sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
	nanosleep(&ts, NULL);
}

static char *slurp_file(const char *path, size_t *len)
{
	char *buf = NULL;
	size_t n = 0;

	assert_int_equal(pki_read_file(path, 64u * 1024 * 1024, &buf, &n), CL_OK);
	if (len)
		*len = n;
	return buf;
}

static void make_party(const char *id, const char *role, struct party *out)
{
	static const char *const dns[] = {"localhost"};
	static const char *const ips[] = {"127.0.0.1"};
	struct pki_issue_opts opts = {
	    .id = id, .role = role, .dns = dns, .n_dns = 1, .ips = ips, .n_ips = 1};
	char ca[1100], certs[1100], p[1200];

	snprintf(ca, sizeof(ca), "%s/ca", tdir);
	snprintf(certs, sizeof(certs), "%s/certs", tdir);
	assert_int_equal(pki_issue(ca, certs, &opts), CL_OK);
	snprintf(out->id, sizeof(out->id), "%s", id);
	snprintf(p, sizeof(p), "%s/%s.pem", certs, id);
	out->cert = slurp_file(p, NULL);
	snprintf(p, sizeof(p), "%s/%s.key", certs, id);
	out->key = slurp_file(p, NULL);
}

static int group_setup(void **state)
{
	const char *tmp = getenv("CASELINK_TMP"), *b = getenv("CASELINK_BIN");
	char cmd[2200], p[1100];

	(void)state;
	snprintf(tdir, sizeof(tdir), "%s/keyholder-test", tmp ? tmp : "/tmp");
	snprintf(bin, sizeof(bin), "%s/caselink-keyholder", b ? b : "build/bin");
	snprintf(cmd, sizeof(cmd), "rm -rf '%s' && mkdir -p '%s'", tdir, tdir);
	if (system(cmd) != 0)
		return -1;
	snprintf(logpath, sizeof(logpath), "%s/keyholder.log", tdir);
	snprintf(p, sizeof(p), "%s/ca", tdir);
	if (pki_init_ca(p) != CL_OK)
		return -1;
	snprintf(p, sizeof(p), "%s/ca/ca.pem", tdir);
	ca_pem = slurp_file(p, NULL);
	make_party("keyholder", "keyholder", &p_kh);
	make_party("node-a", "node", &p_a);
	make_party("node-b", "node", &p_b);
	make_party("node-c", "node", &p_c);
	make_party("coordinator", "coordinator", &p_coord);
	return oprf_ctx_new(&octx);
}

static void free_party(struct party *p)
{
	free(p->cert);
	free(p->key);
}

static int group_teardown(void **state)
{
	(void)state;
	free_party(&p_kh);
	free_party(&p_a);
	free_party(&p_b);
	free_party(&p_c);
	free_party(&p_coord);
	free(ca_pem);
	oprf_ctx_free(octx);
	return 0;
}

/* Runs the program with args, stdout to out_path (may be NULL); returns its exit status. */
static int run_cli(const char *out_path, const char *a1, const char *a2, const char *a3,
		   const char *a4)
{
	pid_t pid = fork();
	int st = 0;

	assert_true(pid >= 0);
	if (pid == 0) {
		int fd =
		    open(out_path ? out_path : "/dev/null", O_WRONLY | O_CREAT | O_TRUNC, 0600);
		int lfd = open(logpath, O_WRONLY | O_CREAT | O_APPEND, 0600);

		if (fd >= 0)
			dup2(fd, 1);
		if (lfd >= 0)
			dup2(lfd, 2);
		execl(bin, bin, a1, a2, a3, a4, (char *)NULL);
		_exit(127);
	}
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st));
	return WEXITSTATUS(st);
}

static void data_dir(const char *name, char *out, size_t n)
{
	snprintf(out, n, "%s/%s", tdir, name);
}

static void init_data(const char *name, char *dir, size_t n)
{
	data_dir(name, dir, n);
	assert_int_equal(run_cli(NULL, "init", "--data", dir, NULL), 0);
}

struct daemon {
	pid_t pid;
	int port;
	struct rpc_channel *ch_a, *ch_b, *ch_c, *ch_coord;
};

static struct rpc_channel *channel(int port, const struct party *p)
{
	struct rpc_channel_config cc;
	struct rpc_channel *ch = NULL;
	char target[64];

	snprintf(target, sizeof(target), "127.0.0.1:%d", port);
	memset(&cc, 0, sizeof(cc));
	cc.target = target;
	cc.tls.ca_pem = ca_pem;
	cc.tls.cert_pem = p->cert;
	cc.tls.key_pem = p->key;
	cc.expected_roles = RPC_ROLE_KEYHOLDER;
	assert_int_equal(rpc_channel_new(&cc, &ch), CL_OK);
	return ch;
}

/* The port of a ready file's "HOST:PORT". */
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

/* Starts a keyholder on dir with the configuration's extra lines; waits until it serves. */
/*
 * The serving keyholder protects its keys (daemon_protect), as the kernel reports it: not
 * dumpable (/proc/PID/status is then owned by root), no core file, and for root (or a
 * memory-lock limit that allows it) the secure heap locked.
 */
static void check_protected(pid_t pid)
{
	char path[64], line[256];
	long kb = -1, soft = -1, hard = -1;
	unsigned long long caps = 0;
	struct rlimit lim;
	struct stat sb;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/limits", (int)pid);
	f = fopen(path, "r");
	assert_non_null(f);
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, "Max core file size", 18))
			assert_int_equal(sscanf(line + 18, " %ld %ld", &soft, &hard), 2);
	fclose(f);
	assert_int_equal(soft, 0);
	assert_int_equal(hard, 0);
	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	if (geteuid() != 0) {
		/* not dumpable: the kernel gives its /proc files to root */
		assert_int_equal(stat(path, &sb), 0);
		assert_int_equal(sb.st_uid, 0);
		return;
	}
	f = fopen(path, "r");
	assert_non_null(f);
	while (fgets(line, sizeof(line), f)) {
		sscanf(line, "VmLck: %ld kB", &kb);
		sscanf(line, "CapEff: %llx", &caps);
	}
	fclose(f);
	/* locked with CAP_IPC_LOCK (root's, usually) or a memory-lock limit that allows it */
	if ((caps >> 14) & 1 ||
	    (getrlimit(RLIMIT_MEMLOCK, &lim) == 0 && lim.rlim_cur >= 2 * 1024 * 1024))
		assert_true(kb >= 1024);
}

static void start(struct daemon *d, const char *dir, const char *extra)
{
	char conf[1200], ready[1200];
	FILE *f;
	int i, st;

	snprintf(conf, sizeof(conf), "%s.yaml", dir);
	snprintf(ready, sizeof(ready), "%s.addr", dir);
	unlink(ready);
	f = fopen(conf, "w");
	assert_non_null(f);
	fprintf(f,
		"listen: 127.0.0.1:0\n"
		"tls: {ca: %s/ca/ca.pem, cert: %s/certs/keyholder.pem, key: "
		"%s/certs/keyholder.key}\n"
		"nodes: [node-a, node-c, coordinator]\n"
		"max_batch: %d\n%s",
		tdir, tdir, tdir, MAX_N, extra);
	fclose(f);
	memset(d, 0, sizeof(*d));
	d->pid = fork();
	assert_true(d->pid >= 0);
	if (d->pid == 0) {
		int lfd = open(logpath, O_WRONLY | O_CREAT | O_APPEND, 0600);

		if (lfd >= 0) {
			dup2(lfd, 1);
			dup2(lfd, 2);
		}
		execl(bin, bin, "serve", "--data", dir, "--config", conf, "--foreground",
		      "--ready-file", ready, (char *)NULL);
		_exit(127);
	}
	for (i = 0; i < 400; i++) {
		struct stat sb;

		if (stat(ready, &sb) == 0 && sb.st_size > 0)
			break;
		if (waitpid(d->pid, &st, WNOHANG) == d->pid)
			fail_msg("keyholder exited early (see %s)", logpath);
		sleep_ms(50);
	}
	d->port = read_port(ready);
	assert_true(d->port > 0);
	check_protected(d->pid);
	d->ch_a = channel(d->port, &p_a);
	d->ch_b = channel(d->port, &p_b);
	d->ch_c = channel(d->port, &p_c);
	d->ch_coord = channel(d->port, &p_coord);
}

static void stop(struct daemon *d)
{
	int st = 0;

	rpc_channel_free(d->ch_a);
	rpc_channel_free(d->ch_b);
	rpc_channel_free(d->ch_c);
	rpc_channel_free(d->ch_coord);
	assert_int_equal(kill(d->pid, SIGTERM), 0);
	assert_int_equal(waitpid(d->pid, &st, 0), d->pid);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
}

/* A batch of n inputs, their blinds and blinded elements. */
struct batch {
	size_t n;
	char input[MAX_N + 8][48];
	uint8_t blind[MAX_N + 8][OPRF_SCALAR_LEN];
	uint8_t blinded[MAX_N + 8][OPRF_ELEMENT_LEN];
	uint8_t evaluated[MAX_N + 8][OPRF_ELEMENT_LEN];
	uint8_t elen[MAX_N + 8]; /* length of the element sent (33 unless testing) */
	uint32_t epoch;		 /* of the response */
};

static void make_batch(struct batch *b, size_t n, unsigned salt)
{
	size_t i;

	assert_true(n <= MAX_N + 8);
	memset(b, 0, sizeof(*b));
	b->n = n;
	for (i = 0; i < n; i++) {
		snprintf(b->input[i], sizeof(b->input[i]), "LV:%06u-%05zu", 100000u + salt,
			 10000 + i);
		assert_int_equal(oprf_blind(octx, (const uint8_t *)b->input[i], strlen(b->input[i]),
					    b->blind[i], b->blinded[i]),
				 CL_OK);
		b->elen[i] = OPRF_ELEMENT_LEN;
		add_needle((const uint8_t *)b->input[i], strlen(b->input[i]));
		add_needle(b->blinded[i], OPRF_ELEMENT_LEN);
	}
}

/* Sends b as one BlindEvaluate asking for epoch; returns the CL_E* code, status in *st. */
static int evaluate(struct rpc_channel *ch, const char *requester, struct batch *b, uint32_t epoch,
		    struct rpc_status *st, int64_t expires_delta)
{
	Caselink__V1__BlindEvaluateRequest req = CASELINK__V1__BLIND_EVALUATE_REQUEST__INIT;
	Caselink__V1__RequestHeader h = CASELINK__V1__REQUEST_HEADER__INIT;
	Caselink__V1__Identity who = CASELINK__V1__IDENTITY__INIT;
	Caselink__V1__BlindEvaluateResponse *resp = NULL;
	ProtobufCBinaryData els[MAX_N + 8];
	uint8_t id[PARTY_REQUEST_ID_LEN], *buf, *out = NULL;
	size_t len, out_len = 0, i;
	int rc;

	assert_int_equal(party_header_fill(&h, &who, id, "monitoring", "law", requester, "node"),
			 CL_OK);
	if (expires_delta < 0) { /* issued long enough ago to have expired expires_delta s ago */
		h.issued_at -= PARTY_EXPIRY_DEFAULT - expires_delta;
		h.expires_at = h.issued_at + PARTY_EXPIRY_DEFAULT;
	} else if (expires_delta) {
		h.expires_at = h.issued_at + expires_delta;
	}
	for (i = 0; i < b->n; i++) {
		els[i].data = b->blinded[i];
		els[i].len = b->elen[i];
	}
	req.header = &h;
	req.key_epoch = epoch;
	req.n_blinded_elements = b->n;
	req.blinded_elements = els;
	len = caselink__v1__blind_evaluate_request__get_packed_size(&req);
	buf = malloc(len ? len : 1);
	assert_non_null(buf);
	caselink__v1__blind_evaluate_request__pack(&req, buf);
	rc = rpc_call_unary(ch, RPC_METHOD_KEYHOLDER_BLIND_EVAL, buf, len, DEADLINE_MS, &out,
			    &out_len, st);
	free(buf);
	if (rc != CL_OK) {
		assert_null(out);
		return rc;
	}
	resp = caselink__v1__blind_evaluate_response__unpack(NULL, out_len, out);
	assert_non_null(resp);
	assert_int_equal(resp->n_evaluated_elements, b->n);
	for (i = 0; i < b->n; i++) {
		assert_int_equal(resp->evaluated_elements[i].len, OPRF_ELEMENT_LEN);
		memcpy(b->evaluated[i], resp->evaluated_elements[i].data, OPRF_ELEMENT_LEN);
		add_needle(b->evaluated[i], OPRF_ELEMENT_LEN);
	}
	b->epoch = resp->key_epoch;
	caselink__v1__blind_evaluate_response__free_unpacked(resp, NULL);
	free(out);
	return CL_OK;
}

/* Checks every output of b against oprf_evaluate with the key of epoch in dir. */
static void check_outputs(const char *dir, const struct batch *b, uint32_t epoch,
			  uint8_t (*outputs)[OPRF_OUTPUT_LEN])
{
	uint8_t fin[OPRF_OUTPUT_LEN], direct[OPRF_OUTPUT_LEN], sk[OPRF_SCALAR_LEN];
	size_t i;

	testkeys_sk(dir, epoch, sk);
	assert_int_equal(b->epoch, epoch);
	for (i = 0; i < b->n; i++) {
		assert_int_equal(oprf_finalize(octx, (const uint8_t *)b->input[i],
					       strlen(b->input[i]), b->blind[i], b->evaluated[i],
					       fin),
				 CL_OK);
		assert_int_equal(oprf_evaluate(octx, sk, (const uint8_t *)b->input[i],
					       strlen(b->input[i]), direct),
				 CL_OK);
		assert_memory_equal(fin, direct, OPRF_OUTPUT_LEN);
		if (outputs)
			memcpy(outputs[i], fin, OPRF_OUTPUT_LEN);
	}
	/* The key itself must never be logged either. */
	add_needle(sk, OPRF_SCALAR_LEN);
	OPENSSL_cleanse(sk, sizeof(sk));
}

static void assert_status(int rc, const struct rpc_status *st, enum rpc_code code, const char *text)
{
	assert_int_not_equal(rc, CL_OK);
	if (st->code != code || !strstr(st->message, text))
		fail_msg("expected code %d with '%s', got %d '%s'", (int)code, text, (int)st->code,
			 st->message);
}

static void test_evaluate(void **state)
{
	Caselink__V1__StatusRequest sreq = CASELINK__V1__STATUS_REQUEST__INIT;
	Caselink__V1__RequestHeader h = CASELINK__V1__REQUEST_HEADER__INIT;
	Caselink__V1__Identity who = CASELINK__V1__IDENTITY__INIT;
	Caselink__V1__StatusResponse *sresp = NULL;
	struct rpc_status st;
	struct daemon d;
	struct batch *b = calloc(1, sizeof(*b));
	uint8_t id[PARTY_REQUEST_ID_LEN], buf[256], *out = NULL;
	size_t len, out_len = 0;
	char dir[1200];

	(void)state;
	assert_non_null(b);
	init_data("eval", dir, sizeof(dir));
	start(&d, dir, "");
	make_batch(b, MAX_N, 1);
	assert_int_equal(evaluate(d.ch_a, "node-a", b, 0, &st, 0), CL_OK);
	check_outputs(dir, b, 1, NULL);
	/* A second init refuses (exit 1) and the daemon's key is still the stored one. */
	assert_int_equal(run_cli(NULL, "init", "--data", dir, NULL), 1);
	assert_int_equal(run_cli(NULL, "init", NULL, NULL, NULL), 2);
	assert_int_equal(run_cli(NULL, "frobnicate", "--data", dir, NULL), 2);
	/* Asking for the current epoch by number gives the same outputs. */
	assert_int_equal(evaluate(d.ch_a, "node-a", b, 1, &st, 0), CL_OK);
	check_outputs(dir, b, 1, NULL);

	assert_int_equal(party_header_fill(&h, &who, id, "monitoring", "law", "node-a", "node"),
			 CL_OK);
	sreq.header = &h;
	len = caselink__v1__status_request__get_packed_size(&sreq);
	assert_true(len <= sizeof(buf));
	caselink__v1__status_request__pack(&sreq, buf);
	assert_int_equal(rpc_call_unary(d.ch_a, RPC_METHOD_KEYHOLDER_STATUS, buf, len, DEADLINE_MS,
					&out, &out_len, &st),
			 CL_OK);
	sresp = caselink__v1__status_response__unpack(NULL, out_len, out);
	assert_non_null(sresp);
	assert_int_equal(sresp->key_epoch, 1);
	assert_string_equal(sresp->party->id, "keyholder");
	assert_string_equal(sresp->party->role, "keyholder");
	caselink__v1__status_response__free_unpacked(sresp, NULL);
	free(out);
	stop(&d);
	free(b);
}

static void test_refusals(void **state)
{
	struct rpc_status st;
	struct daemon d;
	struct batch *b = calloc(1, sizeof(*b));
	char dir[1200];
	int rc;

	(void)state;
	assert_non_null(b);
	init_data("refuse", dir, sizeof(dir));
	start(&d, dir, "");
	make_batch(b, 10, 2);

	/* A coordinator's certificate is listed, but its role is not a node's. */
	rc = evaluate(d.ch_coord, "coordinator", b, 0, &st, 0);
	assert_status(rc, &st, RPC_PERMISSION_DENIED, "only nodes");
	/* A node of the federation that this keyholder does not know. */
	rc = evaluate(d.ch_b, "node-b", b, 0, &st, 0);
	assert_status(rc, &st, RPC_PERMISSION_DENIED, "not a registered node");

	/* A bad point is named by its index and nothing is returned. */
	b->blinded[7][0] = 0x05;
	rc = evaluate(d.ch_a, "node-a", b, 0, &st, 0);
	assert_status(rc, &st, RPC_INVALID_ARGUMENT, "element 7 ");
	b->blinded[7][0] = 0x02;
	memset(&b->blinded[7][1], 0xff, 32); /* x >= p */
	rc = evaluate(d.ch_a, "node-a", b, 0, &st, 0);
	assert_status(rc, &st, RPC_INVALID_ARGUMENT, "element 7 ");
	make_batch(b, 10, 2);
	b->elen[3] = 32;
	rc = evaluate(d.ch_a, "node-a", b, 0, &st, 0);
	assert_status(rc, &st, RPC_INVALID_ARGUMENT, "element 3 ");

	/* Batch sizes. */
	make_batch(b, 0, 2);
	rc = evaluate(d.ch_a, "node-a", b, 0, &st, 0);
	assert_status(rc, &st, RPC_INVALID_ARGUMENT, "1 to 64 elements");
	make_batch(b, MAX_N + 1, 2);
	rc = evaluate(d.ch_a, "node-a", b, 0, &st, 0);
	assert_status(rc, &st, RPC_INVALID_ARGUMENT, "not 65");

	/* An epoch never issued, and an expired request. */
	make_batch(b, 4, 2);
	rc = evaluate(d.ch_a, "node-a", b, 9, &st, 0);
	assert_status(rc, &st, RPC_FAILED_PRECONDITION, "key epoch 9 is unknown");
	rc = evaluate(d.ch_a, "node-a", b, 0, &st, -1);
	assert_int_not_equal(rc, CL_OK);
	assert_int_equal(st.code, RPC_FAILED_PRECONDITION);

	/* After all that the node is still served. */
	assert_int_equal(evaluate(d.ch_a, "node-a", b, 0, &st, 0), CL_OK);
	check_outputs(dir, b, 1, NULL);
	stop(&d);
	free(b);
}

static void test_rate_limit(void **state)
{
	struct rpc_status st;
	struct daemon d;
	struct batch *b = calloc(1, sizeof(*b));
	char dir[1200];
	int rc;

	(void)state;
	assert_non_null(b);
	init_data("rate", dir, sizeof(dir));
	start(&d, dir, "rate_per_minute: 50\n");
	make_batch(b, 30, 3);
	assert_int_equal(evaluate(d.ch_a, "node-a", b, 0, &st, 0), CL_OK);
	/* 20 tokens left, refilled at under one per second. */
	rc = evaluate(d.ch_a, "node-a", b, 0, &st, 0);
	assert_status(rc, &st, RPC_RESOURCE_EXHAUSTED, "rate limit");
	/* Another node has its own bucket. */
	assert_int_equal(evaluate(d.ch_c, "node-c", b, 0, &st, 0), CL_OK);
	/* A smaller batch still fits node-a's remaining tokens. */
	make_batch(b, 15, 3);
	assert_int_equal(evaluate(d.ch_a, "node-a", b, 0, &st, 0), CL_OK);
	check_outputs(dir, b, 1, NULL);
	stop(&d);
	free(b);
}

static void test_daily_quota_persists(void **state)
{
	struct rpc_status st;
	struct daemon d;
	struct batch *b = calloc(1, sizeof(*b));
	char dir[1200];
	int rc;

	(void)state;
	assert_non_null(b);
	init_data("quota", dir, sizeof(dir));
	start(&d, dir, "daily_quota: 50\n");
	make_batch(b, 30, 4);
	assert_int_equal(evaluate(d.ch_a, "node-a", b, 0, &st, 0), CL_OK);
	rc = evaluate(d.ch_a, "node-a", b, 0, &st, 0);
	assert_status(rc, &st, RPC_RESOURCE_EXHAUSTED, "daily quota: this node has used 30 of");
	/* A refused or failed batch is not counted: a bad point costs no quota. */
	make_batch(b, 10, 4);
	b->blinded[2][0] = 0x07;
	rc = evaluate(d.ch_a, "node-a", b, 0, &st, 0);
	assert_status(rc, &st, RPC_INVALID_ARGUMENT, "element 2 ");
	stop(&d);

	/* A restart does not reset the day's count. */
	start(&d, dir, "daily_quota: 50\n");
	make_batch(b, 30, 4);
	rc = evaluate(d.ch_a, "node-a", b, 0, &st, 0);
	assert_status(rc, &st, RPC_RESOURCE_EXHAUSTED, "daily quota: this node has used 30 of");
	make_batch(b, 20, 4);
	assert_int_equal(evaluate(d.ch_a, "node-a", b, 0, &st, 0), CL_OK);
	check_outputs(dir, b, 1, NULL);
	make_batch(b, 1, 4);
	rc = evaluate(d.ch_a, "node-a", b, 0, &st, 0);
	assert_status(rc, &st, RPC_RESOURCE_EXHAUSTED, "used 50 of its 50");
	/* Other nodes keep their own quota. */
	assert_int_equal(evaluate(d.ch_c, "node-c", b, 0, &st, 0), CL_OK);
	stop(&d);
	free(b);
}

static void test_rotation(void **state)
{
	static uint8_t out1[MAX_N][OPRF_OUTPUT_LEN], out2[MAX_N][OPRF_OUTPUT_LEN],
	    again[MAX_N][OPRF_OUTPUT_LEN];
	struct rpc_status st;
	struct daemon d;
	struct batch *b = calloc(1, sizeof(*b));
	char dir[1200], outp[1300], *text;
	size_t i;
	int rc;

	(void)state;
	assert_non_null(b);
	init_data("rotate", dir, sizeof(dir));
	start(&d, dir, "");
	make_batch(b, 8, 5);
	assert_int_equal(evaluate(d.ch_a, "node-a", b, 0, &st, 0), CL_OK);
	check_outputs(dir, b, 1, out1);
	stop(&d);

	assert_int_equal(run_cli(NULL, "rotate", "--data", dir, NULL), 0);
	start(&d, dir, "");
	/* A node that still names the old epoch is told, not served with the new key. */
	rc = evaluate(d.ch_a, "node-a", b, 1, &st, 0);
	assert_status(rc, &st, RPC_FAILED_PRECONDITION, "key epoch 1 is retired (current epoch 2)");
	rc = evaluate(d.ch_a, "node-a", b, 0, &st, 0);
	assert_int_equal(rc, CL_OK);
	assert_int_equal(b->epoch, 2);
	check_outputs(dir, b, 2, out2);
	for (i = 0; i < b->n; i++)
		assert_memory_not_equal(out1[i], out2[i], OPRF_OUTPUT_LEN);
	assert_int_equal(evaluate(d.ch_a, "node-a", b, 2, &st, 0), CL_OK);
	assert_int_equal(b->epoch, 2);
	stop(&d);

	/* Within a configured grace period the retired epoch is served when named. */
	start(&d, dir, "retired_grace_seconds: 3600\n");
	make_batch(b, 8, 5);
	assert_int_equal(evaluate(d.ch_a, "node-a", b, 1, &st, 0), CL_OK);
	assert_int_equal(b->epoch, 1);
	check_outputs(dir, b, 1, again);
	for (i = 0; i < b->n; i++)
		assert_memory_equal(out1[i], again[i], OPRF_OUTPUT_LEN);
	assert_int_equal(evaluate(d.ch_a, "node-a", b, 0, &st, 0), CL_OK);
	assert_int_equal(b->epoch, 2);
	stop(&d);

	snprintf(outp, sizeof(outp), "%s.status", dir);
	assert_int_equal(run_cli(outp, "status", "--data", dir, NULL), 0);
	text = slurp_file(outp, NULL);
	assert_non_null(strstr(text, "epoch: 2\n"));
	assert_non_null(strstr(text, "epochs: 2 (1 retired)"));
	assert_non_null(strstr(text, "elements_today: 40\n"));
	free(text);
	free(b);
}

/* Counts audit entries whose details contain text. */
static int audit_count(const char *dir, const char *text)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *q = NULL;
	char p[1300];
	int n = -1;

	snprintf(p, sizeof(p), "%s/keyholder.db", dir);
	assert_int_equal(sqlite3_open_v2(p, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db,
					    "SELECT count(*) FROM audit_log WHERE instr(actor || ' "
					    "' || action || ' ' || details, ?) > 0",
					    -1, &q, NULL),
			 SQLITE_OK);
	sqlite3_bind_text(q, 1, text, -1, SQLITE_STATIC);
	if (sqlite3_step(q) == SQLITE_ROW)
		n = sqlite3_column_int(q, 0);
	sqlite3_finalize(q);
	sqlite3_close(db);
	return n;
}

static void test_audit(void **state)
{
	char dir[1200], p[1300], outp[1300], *text;
	sqlite3 *db = NULL;

	(void)state;
	data_dir("refuse", dir, sizeof(dir));
	assert_int_equal(run_cli(NULL, "audit", "verify", "--data", dir), 0);
	assert_int_equal(audit_count(dir, "operator key_init epoch=1"), 1);
	assert_int_equal(audit_count(dir, "coordinator blind_evaluate"), 1);
	assert_int_equal(audit_count(dir, "reason=wrong_role"), 1);
	assert_int_equal(audit_count(dir, "node-b blind_evaluate elements=0 epoch=0 "
					  "outcome=refused code=7 reason=unregistered"),
			 1);
	assert_int_equal(audit_count(dir, "reason=bad_point"), 2);
	assert_int_equal(audit_count(dir, "reason=element_size"), 1);
	assert_int_equal(audit_count(dir, "reason=batch_size"), 2);
	assert_int_equal(audit_count(dir, "reason=unknown_epoch"), 1);
	assert_int_equal(audit_count(dir, "reason=header"), 1);
	assert_int_equal(audit_count(dir, "node-a blind_evaluate elements=4 epoch=1 outcome=ok"),
			 1);
	data_dir("rate", dir, sizeof(dir));
	assert_int_equal(audit_count(dir, "node-a blind_evaluate elements=30 epoch=1 "
					  "outcome=refused code=8 reason=rate_limit"),
			 1);
	data_dir("quota", dir, sizeof(dir));
	assert_int_equal(audit_count(dir, "reason=daily_quota"), 3);
	data_dir("rotate", dir, sizeof(dir));
	assert_int_equal(audit_count(dir, "operator key_rotate epoch=2"), 1);
	assert_int_equal(audit_count(dir, "reason=retired_epoch"), 1);
	assert_int_equal(run_cli(NULL, "audit", "verify", "--data", dir), 0);

	/* One changed byte: verify exits 1 and names the entry. */
	snprintf(p, sizeof(p), "%s/keyholder.db", dir);
	assert_int_equal(sqlite3_open(p, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db,
				      "UPDATE audit_log SET details = replace(details, "
				      "'elements=8', 'elements=9') WHERE seq = 3",
				      NULL, NULL, NULL),
			 SQLITE_OK);
	assert_int_equal(sqlite3_changes(db), 1);
	sqlite3_close(db);
	snprintf(outp, sizeof(outp), "%s.verify", dir);
	assert_int_equal(run_cli(outp, "audit", "verify", "--data", dir), 1);
	text = slurp_file(outp, NULL);
	assert_non_null(strstr(text, "BROKEN at entry 3"));
	free(text);
}

static int contains(const char *hay, size_t hlen, const struct needle *nd)
{
	size_t i;

	if (nd->len == 0 || hlen < nd->len)
		return 0;
	for (i = 0; i + nd->len <= hlen; i++)
		if (hay[i] == (char)nd->b[0] && !memcmp(hay + i, nd->b, nd->len))
			return 1;
	return 0;
}

static void scan(const char *path)
{
	char *buf;
	size_t len = 0, i;

	if (access(path, F_OK) != 0)
		return;
	buf = slurp_file(path, &len);
	for (i = 0; i < nneedles; i++)
		if (contains(buf, len, &needles[i]))
			fail_msg("%s holds an input, a point or the key (needle %zu)", path, i);
	free(buf);
}

static void test_no_secrets_logged(void **state)
{
	static const char *const dirs[] = {"eval", "refuse", "rate", "quota", "rotate"};
	char p[1400], dir[1200], *log;
	size_t i, len = 0;

	(void)state;
	/* The scan is meaningful only if the log and the audit saw the work. */
	assert_true(nneedles > 500);
	log = slurp_file(logpath, &len);
	assert_non_null(strstr(log, "event=evaluated peer=node-a elements=64 epoch=1"));
	assert_non_null(strstr(log, "event=refused"));
	free(log);
	scan(logpath);
	for (i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		data_dir(dirs[i], dir, sizeof(dir));
		snprintf(p, sizeof(p), "%s/keyholder.db", dir);
		scan(p);
		snprintf(p, sizeof(p), "%s/keyholder.db-wal", dir);
		scan(p);
		snprintf(p, sizeof(p), "%s.status", dir);
		scan(p);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_evaluate),	      cmocka_unit_test(test_refusals),
	    cmocka_unit_test(test_rate_limit),	      cmocka_unit_test(test_daily_quota_persists),
	    cmocka_unit_test(test_rotation),	      cmocka_unit_test(test_audit),
	    cmocka_unit_test(test_no_secrets_logged),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
