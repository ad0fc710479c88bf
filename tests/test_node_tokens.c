/*
 * The node's token cache and its TOKENS-mode answers, with real processes on loopback: a
 * caselink-keyholder, `caselink-node tokens` for two nodes holding the same persons, and
 * `caselink-node serve` asked by this test playing the coordinator. Checks the cache's contents
 * against oprf_evaluate with the keyholder's stored key, incremental and resumed fills, a
 * keyholder that is down, equal tokens and close filters across nodes under one nonce and
 * unrelated ones across nonces, nonce reuse, a cache that is out of date, the events sent
 * against the test's own table, and that no name, code, birth date or reference is on the wire.
 * In process: a node with its own OPRF key cannot produce the federation's tokens.
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
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <sqlite3.h>

#include "common/cl_error.h"
#include "common/cldate.h"
#include "keyholder/keystore.h"
#include "node/encode_query.h"
#include "node/import.h"
#include "node/store.h"
#include "node/tokens.h"
#include "protocol/caselink.pb-c.h"
#include "protocol/encode.h"
#include "protocol/oprf.h"
#include "testkeys.h"
#include "protocol/party.h"
#include "protocol/pki.h"
#include "protocol/rpc.h"
#include "protocol/sign.h"

#define CODE1 "120385-12000" /* LV, valid: at both nodes */
#define CODE3 "010790-12009" /* LV, valid: node B only */

struct tperson {
	const char *ref, *code, *given, *family, *birth, *sex, *sharing;
};

struct tevent {
	const char *ref, *person, *type, *at, *role, *risk, *ctl, *referral;
	int age; /* expected age_years, worked out by hand */
};

static const struct tperson persons_a[] = {
    {"a1", CODE1, "Anna", "Bērziņa", "1985-03-12", "F", "allowed"},
    {"a2", "", "Līga", "Kalniņa", "1990-07-01", "F", "restricted"},
    {"a3", "", "Jānis", "Ozols", "1979", "M", "allowed"},
    {"a4", "", "", "Liepa", "", "U", "allowed"},
    {"a5", "", "Pēteris", "Kļava", "1960-01-01", "M", "allowed"},
    {NULL, NULL, NULL, NULL, NULL, NULL, NULL},
};
static const struct tperson persons_b[] = {
    {"b1", CODE1, "Ana", "Berzina", "1985-03-12", "F", "allowed"},
    {"b2", "", "Liga", "Kalnina", "1990-07-01", "F", "allowed"},
    {"b3", CODE3, "Marta", "Zvaigzne", "1990-07-01", "F", "allowed"},
    {NULL, NULL, NULL, NULL, NULL, NULL, NULL},
};
static const struct tevent events_a[] = {
    {"ea1", "a1", "police_callout", "2025-03-11T22:00Z", "victim", "high", "", "", 39},
    {"ea2", "a1", "risk_assessment", "2025-03-12", "victim", "medium", "", "", 40},
    {"ea3", "a2", "police_callout", "2025-07-01T10:00Z", "victim", "", "", "", 35},
    {"ea4", "a3", "crime_report", "2025-02-01", "perpetrator", "", "", "", 46},
    {"ea5", "a4", "police_callout", "2024-12-31T23:59Z", "victim", "", "", "", -1},
    {"ea6", "a4", "referral_sent", "2025-05-05", "victim", "", "", "social_services", -1},
    {"ea7", "a2", "child_threat_assessment", "2025-10-01", "victim", "", "1", "", 35},
    {NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, 0},
};
static const struct tevent events_b[] = {
    {"eb1", "b1", "medical_injury", "2025-04-01", "victim", "", "", "", 40},
    {"eb2", "b2", "counselling", "2025-08-01", "victim", "", "", "", 35},
    {"eb3", "b3", "intake", "2025-08-02", "victim", "", "", "", 35},
    {NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, 0},
};

struct daemon {
	pid_t pid;
	char addr[128];
};

static char tdir[1024], bin_node[1100], bin_kh[1100], pki[1100], khdir[1100], logpath[1100];
static char node_a[1100], node_b[1100];
static struct daemon kh, serve_a, serve_b;
static struct party_tls *coord_tls;
static struct sign_key *national, *coordinator;
static struct oprf_ctx *octx;

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static char *slurp(const char *path, size_t *len)
{
	char *buf = NULL;
	size_t n = 0;

	assert_int_equal(pki_read_file(path, 64u * 1024 * 1024, &buf, &n), CL_OK);
	if (len)
		*len = n;
	return buf;
}

static void issue(const char *id, const char *role)
{
	static const char *const dns[] = {"localhost"};
	static const char *const ips[] = {"127.0.0.1"};
	struct pki_issue_opts o;

	memset(&o, 0, sizeof(o));
	o.id = id;
	o.role = role;
	o.dns = dns;
	o.n_dns = 1;
	o.ips = ips;
	o.n_ips = 1;
	assert_int_equal(pki_issue(pki, pki, &o), CL_OK);
}

static struct sign_key *signer(const char *id)
{
	char k[1200], c[1200], *kp, *cp;
	struct sign_key *sk = NULL;

	snprintf(k, sizeof(k), "%s/%s.key", pki, id);
	snprintf(c, sizeof(c), "%s/%s.pem", pki, id);
	kp = slurp(k, NULL);
	cp = slurp(c, NULL);
	assert_int_equal(sign_key_load(kp, cp, &sk), CL_OK);
	free(kp);
	free(cp);
	return sk;
}

/* Runs prog with argv (NULL-terminated); stdout to out, stderr to err (may be NULL). */
static int run(const char *prog, const char *out, const char *err, const char *const *argv)
{
	pid_t pid = fork();
	int st = 0;

	assert_true(pid >= 0);
	if (pid == 0) {
		int fd = open(out ? out : "/dev/null", O_WRONLY | O_CREAT | O_TRUNC, 0600);
		int efd = open(err ? err : logpath, O_WRONLY | O_CREAT | (err ? O_TRUNC : O_APPEND),
			       0600);

		if (fd >= 0)
			dup2(fd, 1);
		if (efd >= 0)
			dup2(efd, 2);
		execv(prog, (char *const *)argv);
		_exit(127);
	}
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st));
	return WEXITSTATUS(st);
}

/* Starts prog serve --data data --config conf; waits for the ready file. */
static void start(struct daemon *d, const char *prog, const char *data, const char *conf)
{
	char ready[1200];
	int i, st;

	snprintf(ready, sizeof(ready), "%s.ready", data);
	unlink(ready);
	memset(d, 0, sizeof(*d));
	d->pid = fork();
	assert_true(d->pid >= 0);
	if (d->pid == 0) {
		int lfd = open(logpath, O_WRONLY | O_CREAT | O_APPEND, 0600);

		if (lfd >= 0) {
			dup2(lfd, 1);
			dup2(lfd, 2);
		}
		execl(prog, prog, "serve", "--data", data, "--config", conf, "--foreground",
		      "--ready-file", ready, (char *)NULL);
		_exit(127);
	}
	for (i = 0; i < 400; i++) {
		FILE *f = fopen(ready, "r");

		if (f) {
			if (fgets(d->addr, sizeof(d->addr), f))
				d->addr[strcspn(d->addr, "\n")] = '\0';
			fclose(f);
			if (d->addr[0])
				return;
		}
		if (waitpid(d->pid, &st, WNOHANG) == d->pid)
			fail_msg("%s exited early (see %s)", prog, logpath);
		usleep(50000);
	}
	fail_msg("%s did not start (see %s)", prog, logpath);
}

static void stop(struct daemon *d)
{
	int st = 0;

	if (d->pid <= 0)
		return;
	kill(d->pid, SIGTERM);
	waitpid(d->pid, &st, 0);
	d->pid = 0;
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
}

static void start_keyholder(void)
{
	char conf[1200];

	snprintf(conf, sizeof(conf), "%s/kh.yaml", tdir);
	start(&kh, bin_kh, khdir, conf);
}

/* The node's configuration, naming the keyholder's current address. */
static void node_conf(const char *data, const char *id, char *conf, size_t n)
{
	char text[8192];

	/* The node's own policy (docs/policy.md): national may ask M1. */
	snprintf(conf, n, "%s.policy.yaml", data);
	write_file(conf, "version: 1\nscope: node\n"
			 "roles: {national_coordinator: {ou: user, identities: [national]}}\n"
			 "rules:\n"
			 "  - {id: national, role: national_coordinator, measures: [M1],\n"
			 "     period: {max_days: 366}, purposes: [monitoring],\n"
			 "     legal_bases: [statistics]}\n"
			 "participation: [{measures: [M1]}]\n");
	snprintf(conf, n, "%s.yaml", data);
	snprintf(text, sizeof(text),
		 "listen: 127.0.0.1:0\n"
		 "tls: {ca: %s/ca.pem, cert: %s/%s.pem, key: %s/%s.key}\n"
		 "coordinators: [coordinator]\n"
		 "keyholder: %s\n"
		 "policy: %s.policy.yaml\n",
		 pki, pki, id, pki, id, kh.addr[0] ? kh.addr : "127.0.0.1:1", data);
	write_file(conf, text);
}

/* Runs `caselink-node tokens` for a node; returns the exit status, output in out/err files. */
static int fill(const char *data, const char *id, char *out, char *err)
{
	char conf[1200];
	const char *argv[] = {bin_node, "tokens", "--data", data, "--config", conf, NULL};

	node_conf(data, id, conf, sizeof(conf));
	sprintf(out, "%s.out", data);
	sprintf(err, "%s.err", data);
	return run(bin_node, out, err, argv);
}

static void import_csv(const char *data, const struct tperson *ps, const struct tevent *es)
{
	char ppath[1200], epath[1200];
	struct node_store *s = NULL;
	struct node_import_opts o;
	struct node_import_report rep;
	FILE *f;

	snprintf(ppath, sizeof(ppath), "%s.persons.csv", data);
	snprintf(epath, sizeof(epath), "%s.events.csv", data);
	f = fopen(ppath, "w");
	assert_non_null(f);
	fprintf(f, "person_ref,national_id,id_country,given_name,family_name,birth_date,sex,"
		   "sharing\n");
	for (; ps && ps->ref; ps++)
		fprintf(f, "%s,%s,%s,%s,%s,%s,%s,%s\n", ps->ref, ps->code, *ps->code ? "LV" : "",
			ps->given, ps->family, ps->birth, ps->sex, ps->sharing);
	fclose(f);
	f = fopen(epath, "w");
	assert_non_null(f);
	fprintf(f, "event_ref,person_ref,event_type,occurred_at,role,risk_level,"
		   "child_threat_level,referral_to\n");
	for (; es && es->ref; es++)
		fprintf(f, "%s,%s,%s,%s,%s,%s,%s,%s\n", es->ref, es->person, es->type, es->at,
			es->role, es->risk, es->ctl, es->referral);
	fclose(f);
	assert_int_equal(node_store_open(data, &s), CL_OK);
	memset(&o, 0, sizeof(o));
	o.persons_path = ppath;
	o.events_path = es ? epath : NULL;
	assert_int_equal(node_import_run(s, &o, &rep), CL_OK);
	node_store_close(s);
}

static void init_node(const char *data, const char *id, const struct tperson *ps,
		      const struct tevent *es)
{
	struct node_store_meta meta;

	memset(&meta, 0, sizeof(meta));
	snprintf(meta.agency_id, sizeof(meta.agency_id), "%s", id);
	strcpy(meta.agency_type, "police");
	strcpy(meta.municipality, "Liepāja");
	strcpy(meta.country, "LV");
	assert_int_equal(node_store_init(data, &meta), CL_OK);
	import_csv(data, ps, es);
}

static int group_setup(void **state)
{
	const char *tmp = getenv("CASELINK_TMP"), *b = getenv("CASELINK_BIN");
	char conf[1200], text[8192];
	const char *kh_init[] = {bin_kh, "init", "--data", khdir, NULL};

	(void)state;
	snprintf(tdir, sizeof(tdir), "%s/node-tokens.%d", tmp ? tmp : "/tmp", (int)getpid());
	snprintf(bin_node, sizeof(bin_node), "%s/caselink-node", b ? b : "build/bin");
	snprintf(bin_kh, sizeof(bin_kh), "%s/caselink-keyholder", b ? b : "build/bin");
	snprintf(pki, sizeof(pki), "%s/pki", tdir);
	snprintf(khdir, sizeof(khdir), "%s/kh", tdir);
	snprintf(logpath, sizeof(logpath), "%s/log", tdir);
	snprintf(node_a, sizeof(node_a), "%s/node-a", tdir);
	snprintf(node_b, sizeof(node_b), "%s/node-b", tdir);
	if (mkdir(tdir, 0700) != 0)
		return -1;
	if (pki_init_ca(pki) != CL_OK)
		return -1;
	issue("keyholder", "keyholder");
	issue("node-a", "node");
	issue("node-b", "node");
	issue("coordinator", "coordinator");
	issue("national", "user");
	if (run(bin_kh, NULL, NULL, kh_init) != 0)
		return -1;
	snprintf(conf, sizeof(conf), "%s/kh.yaml", tdir);
	snprintf(text, sizeof(text),
		 "listen: 127.0.0.1:0\n"
		 "tls: {ca: %s/ca.pem, cert: %s/keyholder.pem, key: %s/keyholder.key}\n"
		 "nodes: [node-a, node-b]\nmax_batch: 1000\n",
		 pki, pki, pki);
	write_file(conf, text);
	start_keyholder();
	init_node(node_a, "node-a", persons_a, events_a);
	init_node(node_b, "node-b", persons_b, events_b);
	snprintf(conf, sizeof(conf), "%s/ca.pem", pki);
	{
		char c[1200], k[1200], err[256];

		snprintf(c, sizeof(c), "%s/coordinator.pem", pki);
		snprintf(k, sizeof(k), "%s/coordinator.key", pki);
		assert_int_equal(party_tls_load(conf, c, k, NULL, &coord_tls, err, sizeof(err)),
				 CL_OK);
	}
	national = signer("national");
	coordinator = signer("coordinator");
	return oprf_ctx_new(&octx);
}

static int group_teardown(void **state)
{
	char cmd[1200];

	struct daemon *ds[] = {&serve_a, &serve_b, &kh};
	size_t i;
	int clean = 1, st;

	(void)state;
	/* every daemon stops cleanly on SIGTERM (under ASan: without a leak) */
	for (i = 0; i < 3; i++) {
		if (ds[i]->pid <= 0)
			continue;
		kill(ds[i]->pid, SIGTERM);
		st = 0;
		waitpid(ds[i]->pid, &st, 0);
		if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
			clean = 0;
	}
	party_tls_free(coord_tls);
	sign_key_free(national);
	sign_key_free(coordinator);
	oprf_ctx_free(octx);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tdir);
	return system(cmd) == 0 && clean ? 0 : -1;
}

/* ---- ground truth, computed here ---- */

/* The federation's OPRF output of input, with the keyholder's stored key. */
static void truth_oprf(const char *input, uint8_t out[32])
{
	uint8_t sk[OPRF_SCALAR_LEN];

	testkeys_sk(khdir, 1, sk);
	assert_int_equal(oprf_evaluate(octx, sk, (const uint8_t *)input, strlen(input), out),
			 CL_OK);
	OPENSSL_cleanse(sk, sizeof(sk));
}

static void truth_token(const char *input, const uint8_t nonce[32], uint8_t out[32])
{
	uint8_t o[32];

	truth_oprf(input, o);
	assert_int_equal(enc_token(o, nonce, out), CL_OK);
}

static int64_t sql_int(const char *data, const char *sql)
{
	char path[1200];
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	int64_t v;

	snprintf(path, sizeof(path), "%s/node.db", data);
	assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(db);
	return v;
}

/* The cached id output of a person. */
static void cached_id(const char *data, const char *ref, uint8_t out[32])
{
	char path[1200];
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;

	snprintf(path, sizeof(path), "%s/node.db", data);
	assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db,
					    "SELECT t.id_out FROM person_tokens t JOIN persons p"
					    " ON p.id=t.person_id WHERE p.person_ref=?",
					    -1, &st, NULL),
			 SQLITE_OK);
	sqlite3_bind_text(st, 1, ref, -1, SQLITE_STATIC);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	assert_int_equal(sqlite3_column_bytes(st, 0), 32);
	memcpy(out, sqlite3_column_blob(st, 0), 32);
	sqlite3_finalize(st);
	sqlite3_close(db);
}

static void assert_contains(const char *path, const char *text)
{
	char *s = slurp(path, NULL);

	if (!strstr(s, text))
		fail_msg("%s lacks '%s'; it holds:\n%s", path, text, s);
	free(s);
}

/* ---- fills ---- */

static void test_fill(void **state)
{
	char out[1200], err[1200], path[1200], expect[256];
	uint8_t got[32], want[32];
	struct stat sb;

	(void)state;
	assert_int_equal(fill(node_a, "node-a", out, err), 0);
	/* a1: a code, family + date; a2, a3 (year only), a5: family + date; a4: no date */
	assert_contains(out, "token cache filled: key epoch 1");
	assert_contains(out, "persons evaluated: 5 (id 1, demo 4)");
	assert_int_equal(sql_int(node_a, "SELECT count(*) FROM person_tokens"), 5);
	assert_int_equal(sql_int(node_a, "SELECT count(*) FROM person_tokens WHERE id_out IS NOT"
					 " NULL"),
			 1);
	assert_int_equal(sql_int(node_a, "SELECT count(*) FROM person_tokens WHERE demo_out IS"
					 " NOT NULL"),
			 4);
	assert_int_equal(sql_int(node_a, "SELECT key_epoch FROM token_state"), 1);
	assert_int_equal(sql_int(node_a, "SELECT filled_gen FROM token_state"),
			 sql_int(node_a, "SELECT max(change_gen) FROM persons"));
	snprintf(expect, sizeof(expect), "new q-grams: %lld",
		 (long long)sql_int(node_a, "SELECT count(*) FROM qgram_tokens"));
	assert_contains(out, expect);
	/* the cached output is the federation's OPRF of "LV:" + the normalised code */
	cached_id(node_a, "a1", got);
	truth_oprf("LV:12038512000", want);
	assert_memory_equal(got, want, 32);
	/* a second fill does nothing */
	assert_int_equal(fill(node_a, "node-a", out, err), 0);
	assert_contains(out, "persons evaluated: 0 (id 0, demo 0); new q-grams: 0");
	assert_contains(out, "elements sent: 0 in 0 calls");
	assert_int_equal(fill(node_b, "node-b", out, err), 0);
	assert_contains(out, "persons evaluated: 3 (id 2, demo 3)");
	snprintf(path, sizeof(path), "%s/node.db", node_a);
	assert_int_equal(stat(path, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0600);
}

/* The q-grams of the test's distinct q-gram count, computed independently of the store. */
static void test_qgram_count(void **state)
{
	/* normalised texts of node A's fields, by hand */
	static const char *const given[] = {"anna", "liga", "janis", "peteris"};
	static const char *const family[] = {"berzina", "kalnina", "ozols", "liepa", "klava"};
	static const char *const birth[] = {"19850312", "19900701", "1979", "19600101"};
	const char *const *sets[] = {given, family, birth};
	const size_t nsets[] = {4, 5, 4};
	/* ENC_FIELD_NAME: both names again under one tag */
	const char *const *nsrc[] = {given, family};
	const size_t nnsrc[] = {4, 5};
	char seen[512][ENC_QGRAM_SLOT + 1], g[64][ENC_QGRAM_SLOT];
	size_t nseen = 0, f, i, j, k, n;

	(void)state;
	for (f = 0; f < 3; f++) {
		for (i = 0; i < nsets[f]; i++) {
			assert_int_equal(enc_qgrams(sets[f][i], strlen(sets[f][i]), g, 64, &n), 0);
			for (j = 0; j < n; j++) {
				char key[ENC_QGRAM_SLOT + 1];

				key[0] = (char)('0' + f);
				memcpy(key + 1, g[j], ENC_QGRAM_SLOT);
				for (k = 0; k < nseen; k++)
					if (!strcmp(seen[k], key))
						break;
				if (k == nseen)
					memcpy(seen[nseen++], key, sizeof(key));
			}
		}
	}
	for (f = 0; f < 2; f++)
		for (i = 0; i < nnsrc[f]; i++) {
			assert_int_equal(enc_qgrams(nsrc[f][i], strlen(nsrc[f][i]), g, 64, &n), 0);
			for (j = 0; j < n; j++) {
				char key[ENC_QGRAM_SLOT + 1];

				key[0] = (char)('0' + ENC_FIELD_NAME);
				memcpy(key + 1, g[j], ENC_QGRAM_SLOT);
				for (k = 0; k < nseen; k++)
					if (!strcmp(seen[k], key))
						break;
				if (k == nseen)
					memcpy(seen[nseen++], key, sizeof(key));
			}
		}
	assert_int_equal(sql_int(node_a, "SELECT count(*) FROM qgram_tokens"), nseen);
}

/* ---- queries ---- */

struct answer {
	Caselink__V1__QueryResponse *chunks[64];
	size_t nchunks;
	uint8_t *raw;
	size_t rawlen;
	int saw_last;
};

static int on_message(const uint8_t *msg, size_t len, void *user)
{
	struct answer *a = user;
	Caselink__V1__QueryResponse *r;
	uint8_t *n;

	n = realloc(a->raw, a->rawlen + len + 1);
	if (!n)
		return 1;
	a->raw = n;
	memcpy(a->raw + a->rawlen, msg, len);
	a->rawlen += len;
	r = caselink__v1__query_response__unpack(NULL, len, msg);
	if (!r || a->nchunks == 64)
		return 1;
	if (r->last)
		a->saw_last = 1;
	a->chunks[a->nchunks++] = r;
	return 0;
}

static void answer_free(struct answer *a)
{
	size_t i;

	for (i = 0; i < a->nchunks; i++)
		caselink__v1__query_response__free_unpacked(a->chunks[i], NULL);
	free(a->raw);
	memset(a, 0, sizeof(*a));
}

/* Asks a node for tokens with nonce (nonce_len bytes) and optional window parameters. */
static enum rpc_code ask(const struct daemon *d, const char *node_id, const uint8_t *nonce,
			 size_t nonce_len, const char *wfrom, const char *wto, struct answer *a,
			 char msg[RPC_STATUS_MSG_MAX])
{
	Caselink__V1__QueryRequest q = CASELINK__V1__QUERY_REQUEST__INIT;
	Caselink__V1__RequestHeader h = CASELINK__V1__REQUEST_HEADER__INIT;
	Caselink__V1__Identity who = CASELINK__V1__IDENTITY__INIT;
	Caselink__V1__QueryRequest__ParametersEntry pe[2], *pp[2];
	struct rpc_channel_config cc;
	struct rpc_channel *ch = NULL;
	struct rpc_status st;
	uint8_t id[PARTY_REQUEST_ID_LEN], *buf;
	size_t len, np = 0;

	assert_int_equal(
	    party_header_fill(&h, &who, id, "monitoring", "statistics", "national", "user"), CL_OK);
	q.header = &h;
	q.measure = "M1";
	q.period_from = "2025-01-01";
	q.period_to = "2026-01-01";
	q.query_nonce.data = (uint8_t *)nonce;
	q.query_nonce.len = nonce_len;
	q.mode = CASELINK__V1__QUERY_MODE__QUERY_MODE_TOKENS;
	if (wfrom) {
		caselink__v1__query_request__parameters_entry__init(&pe[np]);
		pe[np].key = "window_from";
		pe[np].value = (char *)wfrom;
		pp[np] = &pe[np];
		np++;
	}
	if (wto) {
		caselink__v1__query_request__parameters_entry__init(&pe[np]);
		pe[np].key = "window_to";
		pe[np].value = (char *)wto;
		pp[np] = &pe[np];
		np++;
	}
	q.n_parameters = np;
	q.parameters = pp;
	assert_int_equal(sign_request(national, &q), CL_OK);
	assert_int_equal(sign_envelope(coordinator, &q), CL_OK);
	len = caselink__v1__query_request__get_packed_size(&q);
	buf = malloc(len);
	assert_non_null(buf);
	caselink__v1__query_request__pack(&q, buf);
	sign_header_free(&h);
	memset(&cc, 0, sizeof(cc));
	cc.target = d->addr;
	party_tls_fill(coord_tls, &cc.tls);
	cc.server_name = node_id;
	cc.expected_roles = RPC_ROLE_NODE;
	assert_int_equal(rpc_channel_new(&cc, &ch), CL_OK);
	memset(a, 0, sizeof(*a));
	rpc_call_stream(ch, RPC_METHOD_NODE_QUERY, buf, len, 10000, on_message, a, NULL, &st);
	rpc_channel_free(ch);
	free(buf);
	memcpy(msg, st.message, RPC_STATUS_MSG_MAX);
	return st.code;
}

static void start_nodes(void)
{
	char conf[1200];

	if (serve_a.pid <= 0) {
		node_conf(node_a, "node-a", conf, sizeof(conf));
		start(&serve_a, bin_node, node_a, conf);
	}
	if (serve_b.pid <= 0) {
		node_conf(node_b, "node-b", conf, sizeof(conf));
		start(&serve_b, bin_node, node_b, conf);
	}
}

/* The record of a with this token as id (kind 0) or demo (kind 1) token, or NULL. */
static const Caselink__V1__TokenRecord *find(const struct answer *a, int kind,
					     const uint8_t tok[32])
{
	size_t i, j;

	for (i = 0; i < a->nchunks; i++) {
		const Caselink__V1__TokenBatch *b = a->chunks[i]->tokens;

		for (j = 0; b && j < b->n_records; j++) {
			const ProtobufCBinaryData *t =
			    kind ? &b->records[j]->demo_token : &b->records[j]->id_token;

			if (t->len == 32 && !memcmp(t->data, tok, 32))
				return b->records[j];
		}
	}
	return NULL;
}

static size_t nrecords(const struct answer *a)
{
	size_t i, n = 0;

	for (i = 0; i < a->nchunks; i++)
		if (a->chunks[i]->tokens)
			n += a->chunks[i]->tokens->n_records;
	return n;
}

/*
 * No OPRF output the node caches (id, demo, every q-gram) is in the received bytes: the node
 * sends only per-query HMACs of them. Returns how many outputs were checked.
 */
static size_t assert_no_oprf_output(const struct answer *a, const char *data)
{
	static const char *const sql[] = {"SELECT id_out FROM person_tokens",
					  "SELECT demo_out FROM person_tokens",
					  "SELECT output FROM qgram_tokens"};
	char path[1200];
	sqlite3 *db = NULL;
	size_t q, k, checked = 0;

	snprintf(path, sizeof(path), "%s/node.db", data);
	assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	for (q = 0; q < sizeof(sql) / sizeof(sql[0]); q++) {
		sqlite3_stmt *st = NULL;

		assert_int_equal(sqlite3_prepare_v2(db, sql[q], -1, &st, NULL), SQLITE_OK);
		while (sqlite3_step(st) == SQLITE_ROW) {
			const unsigned char *o = sqlite3_column_blob(st, 0);

			if (sqlite3_column_bytes(st, 0) != 32)
				continue;
			checked++;
			for (k = 0; k + 16 <= a->rawlen; k++)
				if (!memcmp(a->raw + k, o, 16))
					fail_msg("an OPRF output is on the wire");
		}
		sqlite3_finalize(st);
	}
	sqlite3_close(db);
	return checked;
}

/* No input string of the node's persons and events is in the received bytes. */
static void assert_no_personal_data(const struct answer *a, const struct tperson *ps,
				    const struct tevent *es)
{
	const char *needles[16];
	char extra[4][128];
	size_t i, n;

	for (; ps->ref; ps++) {
		n = 0;
		needles[n++] = ps->ref;
		needles[n++] = ps->given;
		needles[n++] = ps->family;
		needles[n++] = ps->birth;
		needles[n++] = ps->code;
		snprintf(extra[0], sizeof(extra[0]), "%.6s%s", ps->code,
			 *ps->code ? ps->code + 7 : "");
		needles[n++] = extra[0];
		snprintf(extra[1], sizeof(extra[1]), "%.4s%.2s%.2s", ps->birth,
			 strlen(ps->birth) >= 10 ? ps->birth + 5 : "",
			 strlen(ps->birth) >= 10 ? ps->birth + 8 : "");
		needles[n++] = extra[1];
		needles[n++] = "Kalnina";
		needles[n++] = "berzina";
		needles[n++] = "ozols";
		needles[n++] = "kalnina|";
		for (i = 0; i < n; i++) {
			size_t l = strlen(needles[i]);
			size_t k;

			if (l < 3)
				continue;
			for (k = 0; k + l <= a->rawlen; k++)
				if (!memcmp(a->raw + k, needles[i], l))
					fail_msg("'%s' is on the wire", needles[i]);
		}
	}
	for (; es->ref; es++) {
		size_t l = strlen(es->ref), k;

		for (k = 0; k + l <= a->rawlen; k++)
			if (!memcmp(a->raw + k, es->ref, l) && l >= 3)
				fail_msg("'%s' is on the wire", es->ref);
	}
}

/* What node_tokens_resolve_many reported for each asked handle. */
struct many {
	char ref[20][64];
	int hits[20];
};

static int many_found(void *ud, size_t i, const char *ref)
{
	struct many *m = ud;

	assert_true(i < 20);
	snprintf(m->ref[i], sizeof(m->ref[i]), "%s", ref);
	m->hits[i]++;
	return 0;
}

/*
 * Batch resolution equals one-by-one resolution: every handle of the answer in reverse order,
 * one asked twice and one that is no person's, in one call.
 */
static void assert_resolve_many(struct node_store *s, const struct answer *a,
				const uint8_t nonce[32])
{
	uint8_t h[20][NODE_TOKENS_HANDLE_LEN];
	struct many m;
	size_t n = 0, i, j;

	memset(&m, 0, sizeof(m));
	for (i = a->nchunks; i-- > 0;) {
		const Caselink__V1__TokenBatch *b = a->chunks[i]->tokens;

		for (j = b->n_records; j-- > 0 && n < 17;)
			memcpy(h[n++], b->records[j]->row_handle.data, NODE_TOKENS_HANDLE_LEN);
	}
	if (n == 0)
		return;				    /* an empty answer has nothing to resolve */
	memcpy(h[n], h[0], NODE_TOKENS_HANDLE_LEN); /* asked twice */
	assert_int_equal(RAND_bytes(h[n + 1], NODE_TOKENS_HANDLE_LEN), 1); /* nobody's */
	assert_int_equal(node_tokens_resolve_many(s, nonce,
						  (const uint8_t(*)[NODE_TOKENS_HANDLE_LEN])h,
						  n + 2, many_found, &m),
			 CL_OK);
	for (i = 0; i < n + 1; i++) {
		char one[64];

		assert_int_equal(m.hits[i], 1);
		assert_int_equal(node_tokens_resolve(s, nonce, h[i], one, sizeof(one)), CL_OK);
		assert_string_equal(m.ref[i], one);
	}
	assert_string_equal(m.ref[n], m.ref[0]);
	assert_int_equal(m.hits[n + 1], 0);
	assert_int_equal(node_tokens_resolve(s, nonce, h[n + 1], m.ref[0], sizeof(m.ref[0])),
			 CL_ENOTFOUND);
}

/* Checks every record's events against the table, resolving handles at the node. */
static void assert_events(const char *data, const struct answer *a, const uint8_t nonce[32],
			  const struct tevent *es, const char *from, const char *to)
{
	struct node_store *s = NULL;
	int64_t f, t;
	size_t i, j, k, expected_persons = 0;
	const char *why = NULL;
	char seen[16][16];
	size_t nseen = 0;

	assert_int_equal(cldate_parse_time(from, &f, &why), CL_OK);
	assert_int_equal(cldate_parse_time(to, &t, &why), CL_OK);
	/* persons with at least one event in the window */
	for (i = 0; es[i].ref; i++) {
		int64_t at;

		assert_int_equal(cldate_parse_time(es[i].at, &at, &why), CL_OK);
		if (at < f || at >= t)
			continue;
		for (k = 0; k < nseen; k++)
			if (!strcmp(seen[k], es[i].person))
				break;
		if (k == nseen)
			snprintf(seen[nseen++], sizeof(seen[0]), "%s", es[i].person);
	}
	expected_persons = nseen;
	assert_int_equal(nrecords(a), expected_persons);
	assert_int_equal(node_store_open(data, &s), CL_OK);
	for (i = 0; i < a->nchunks; i++) {
		const Caselink__V1__TokenBatch *b = a->chunks[i]->tokens;

		assert_non_null(b);
		assert_int_equal(b->batch_index, i);
		assert_int_equal(a->chunks[i]->last, i + 1 == a->nchunks);
		for (j = 0; j < b->n_records; j++) {
			const Caselink__V1__TokenRecord *r = b->records[j];
			char ref[64];
			size_t e = 0;

			assert_int_equal(r->row_handle.len, NODE_TOKENS_HANDLE_LEN);
			assert_int_equal(
			    node_tokens_resolve(s, nonce, r->row_handle.data, ref, sizeof(ref)),
			    CL_OK);
			assert_int_equal(r->key_epoch, 1);
			assert_int_equal(r->bloom.len, ENC_BLOOM_BYTES);
			for (k = 0; es[k].ref; k++) {
				int64_t at;

				if (strcmp(es[k].person, ref))
					continue;
				assert_int_equal(cldate_parse_time(es[k].at, &at, &why), CL_OK);
				if (at < f || at >= t)
					continue;
				/* the table is in time order per person */
				assert_true(e < r->n_events);
				assert_string_equal(r->events[e]->event_type, es[k].type);
				assert_int_equal(r->events[e]->occurred_at, at);
				assert_string_equal(r->events[e]->role, es[k].role);
				assert_string_equal(r->events[e]->risk_level, es[k].risk);
				assert_string_equal(r->events[e]->referral_to, es[k].referral);
				assert_int_equal(r->events[e]->child_threat_level,
						 *es[k].ctl ? atoi(es[k].ctl) : -1);
				assert_int_equal(r->events[e]->age_years, es[k].age);
				assert_string_equal(r->events[e]->municipality, "Liepāja");
				e++;
			}
			assert_int_equal(e, r->n_events);
			assert_int_equal(r->restricted, !strcmp(ref, "a2"));
		}
	}
	assert_resolve_many(s, a, nonce);
	node_store_close(s);
}

static uint8_t nonce1[32], nonce2[32];

static void test_query_tokens(void **state)
{
	struct answer a, b, a2;
	char msg[RPC_STATUS_MSG_MAX];
	uint8_t id1[32], id1n2[32], demo2[32], id3[32];
	const Caselink__V1__TokenRecord *ra, *rb, *rb3, *rda, *rdb, *r2;
	double same, other;

	(void)state;
	assert_int_equal(RAND_bytes(nonce1, 32), 1);
	assert_int_equal(RAND_bytes(nonce2, 32), 1);
	start_nodes();
	assert_int_equal(ask(&serve_a, "node-a", nonce1, 32, NULL, NULL, &a, msg), RPC_OK);
	assert_int_equal(ask(&serve_b, "node-b", nonce1, 32, NULL, NULL, &b, msg), RPC_OK);
	assert_true(a.saw_last && b.saw_last);
	/* Without window parameters the window is the period widened to [from - 3 d, to + 31 d). */
	assert_events(node_a, &a, nonce1, events_a, "2024-12-29", "2026-02-01");
	assert_events(node_b, &b, nonce1, events_b, "2024-12-29", "2026-02-01");
	assert_no_personal_data(&a, persons_a, events_a);
	assert_no_personal_data(&b, persons_b, events_b);
	/* the scan sees the cache: ids, demos and q-grams (the names' q-grams twice over) */
	assert_true(assert_no_oprf_output(&a, node_a) > 60);
	assert_true(assert_no_oprf_output(&b, node_b) > 60);

	/* the same code at both nodes: equal id tokens, the federation's token */
	truth_token("LV:12038512000", nonce1, id1);
	ra = find(&a, 0, id1);
	rb = find(&b, 0, id1);
	assert_non_null(ra);
	assert_non_null(rb);
	assert_string_equal(ra->sex, "F");
	/* the same family name, birth date and sex, no code: equal demo tokens */
	truth_token("kalnina|1990-07-01|F", nonce1, demo2);
	rda = find(&a, 1, demo2);
	rdb = find(&b, 1, demo2);
	assert_non_null(rda);
	assert_non_null(rdb);
	assert_true(rda->restricted);
	assert_false(rdb->restricted);
	assert_int_equal(rda->id_token.len, 0);
	/* filters: the same person spelt differently is close, another person is not */
	truth_token("LV:01079012009", nonce1, id3);
	rb3 = find(&b, 0, id3);
	assert_non_null(rb3);
	same = enc_dice(ra->bloom.data, rb->bloom.data);
	other = enc_dice(ra->bloom.data, rb3->bloom.data);
	assert_true(enc_dice(rda->bloom.data, rdb->bloom.data) > 0.99); /* same normalised */
	if (!(same >= 0.8 && other < 0.75 && same > other))
		fail_msg("dice same person %.3f, other person %.3f", same, other);

	/* another nonce: nothing agrees with the first query */
	assert_int_equal(ask(&serve_a, "node-a", nonce2, 32, NULL, NULL, &a2, msg), RPC_OK);
	assert_null(find(&a2, 0, id1));
	truth_token("LV:12038512000", nonce2, id1n2);
	r2 = find(&a2, 0, id1n2);
	assert_non_null(r2);
	assert_memory_not_equal(r2->row_handle.data, ra->row_handle.data, 16);
	assert_true(enc_dice(r2->bloom.data, ra->bloom.data) < 0.8);
	answer_free(&a2);

	/* a nonce is used once */
	assert_int_equal(ask(&serve_a, "node-a", nonce1, 32, NULL, NULL, &a2, msg),
			 RPC_FAILED_PRECONDITION);
	assert_string_equal(msg, "nonce already used");
	assert_int_equal(nrecords(&a2), 0);
	answer_free(&a2);
	assert_int_equal(ask(&serve_a, "node-a", nonce1, 16, NULL, NULL, &a2, msg),
			 RPC_INVALID_ARGUMENT);
	answer_free(&a2);
	answer_free(&a);
	answer_free(&b);
}

static void test_query_window(void **state)
{
	struct answer a;
	char msg[RPC_STATUS_MSG_MAX];
	uint8_t n[32];

	(void)state;
	start_nodes();
	assert_int_equal(RAND_bytes(n, 32), 1);
	assert_int_equal(ask(&serve_a, "node-a", n, 32, "2025-06-01", "2025-12-01", &a, msg),
			 RPC_OK);
	assert_events(node_a, &a, n, events_a, "2025-06-01", "2025-12-01");
	answer_free(&a);
	assert_int_equal(RAND_bytes(n, 32), 1);
	assert_int_equal(ask(&serve_a, "node-a", n, 32, "2024-01-01", "2025-03-12", &a, msg),
			 RPC_OK);
	assert_events(node_a, &a, n, events_a, "2024-01-01", "2025-03-12");
	answer_free(&a);
	assert_int_equal(RAND_bytes(n, 32), 1);
	assert_int_equal(ask(&serve_a, "node-a", n, 32, "2025-06-01", "2025-13-01", &a, msg),
			 RPC_INVALID_ARGUMENT);
	answer_free(&a);
}

/* A changed person: the cache is out of date until a fill re-evaluates that person alone. */
static void test_changed_person(void **state)
{
	static const struct tperson changed[] = {
	    {"a3", "", "Jānis", "Ozoliņš", "1979-04-04", "M", "allowed"},
	    {NULL, NULL, NULL, NULL, NULL, NULL, NULL},
	};
	struct answer a;
	char msg[RPC_STATUS_MSG_MAX], out[1200], err[1200];
	uint8_t n[32];
	int64_t gen_before;

	(void)state;
	start_nodes();
	import_csv(node_a, changed, NULL);
	assert_int_equal(RAND_bytes(n, 32), 1);
	assert_int_equal(ask(&serve_a, "node-a", n, 32, NULL, NULL, &a, msg),
			 RPC_FAILED_PRECONDITION);
	assert_string_equal(msg, "token cache not filled; run caselink-node tokens");
	assert_int_equal(nrecords(&a), 0);
	answer_free(&a);
	gen_before = sql_int(node_a, "SELECT gen FROM person_tokens WHERE person_id="
				     "(SELECT id FROM persons WHERE person_ref='a1')");
	assert_int_equal(fill(node_a, "node-a", out, err), 0);
	assert_contains(out, "persons evaluated: 1 (id 0, demo 1)");
	assert_int_equal(sql_int(node_a, "SELECT gen FROM person_tokens WHERE person_id="
					 "(SELECT id FROM persons WHERE person_ref='a1')"),
			 gen_before);
	assert_int_equal(RAND_bytes(n, 32), 1);
	assert_int_equal(ask(&serve_a, "node-a", n, 32, NULL, NULL, &a, msg), RPC_OK);
	answer_free(&a);
}

/* The keyholder is down: a clear error and nothing cached; back up, the fill completes. */
static void test_keyholder_down(void **state)
{
	static const struct tperson changed[] = {
	    {"a4", "", "Ilze", "Liepa", "1970-02-02", "F", "allowed"},
	    {NULL, NULL, NULL, NULL, NULL, NULL, NULL},
	};
	char out[1200], err[1200];
	int64_t rows, gen, epoch, qgrams;

	(void)state;
	stop(&kh);
	import_csv(node_a, changed, NULL);
	rows = sql_int(node_a, "SELECT count(*) FROM person_tokens WHERE demo_out IS NOT NULL");
	gen = sql_int(node_a, "SELECT filled_gen FROM token_state");
	epoch = sql_int(node_a, "SELECT key_epoch FROM token_state");
	qgrams = sql_int(node_a, "SELECT count(*) FROM qgram_tokens");
	assert_int_equal(fill(node_a, "node-a", out, err), 1);
	assert_contains(err, "caselink-node tokens: keyholder 127.0.0.1:");
	assert_contains(err, "the cache was not marked filled");
	assert_int_equal(sql_int(node_a, "SELECT count(*) FROM person_tokens WHERE demo_out IS"
					 " NOT NULL"),
			 rows);
	assert_int_equal(sql_int(node_a, "SELECT filled_gen FROM token_state"), gen);
	assert_int_equal(sql_int(node_a, "SELECT key_epoch FROM token_state"), epoch);
	assert_int_equal(sql_int(node_a, "SELECT count(*) FROM qgram_tokens"), qgrams);
	start_keyholder();
	assert_int_equal(fill(node_a, "node-a", out, err), 0);
	assert_contains(out, "persons evaluated: 1 (id 0, demo 1)");
	assert_int_equal(sql_int(node_a, "SELECT count(*) FROM person_tokens WHERE demo_out IS"
					 " NOT NULL"),
			 rows + 1);
}

/* ---- in process: other keys, interrupted fills ---- */

struct local_kh {
	uint8_t sk[OPRF_SCALAR_LEN];
	uint32_t epoch, answer_epoch;
	size_t calls, fail_after; /* fail_after: calls that succeed (0: all) */
};

static int local_epoch(void *ud, uint32_t *epoch)
{
	*epoch = ((struct local_kh *)ud)->epoch;
	return 0;
}

static int local_evaluate(void *ud, uint32_t epoch, const uint8_t *blinded, size_t n,
			  uint8_t *evaluated, uint32_t *used)
{
	struct local_kh *k = ud;

	(void)epoch;
	if (k->fail_after && k->calls >= k->fail_after)
		return CL_EUNAVAIL;
	k->calls++;
	*used = k->answer_epoch ? k->answer_epoch : k->epoch;
	return oprf_blind_evaluate_batch(octx, k->sk, blinded, n, evaluated);
}

static int collect_id(void *ud, const Caselink__V1__TokenBatch *b, int last)
{
	size_t i;

	(void)last;
	for (i = 0; i < b->n_records; i++)
		if (b->records[i]->id_token.len == 32)
			memcpy(ud, b->records[i]->id_token.data, 32);
	return 0;
}

/* A copy of node B's persons in a fresh store, filled with the local "keyholder" k. */
static int local_fill(const char *name, struct local_kh *k, size_t batch,
		      struct node_tokens_report *rep)
{
	char data[1200];
	struct node_store *s = NULL;
	struct node_tokens_oprf o;
	struct stat sb;
	int rc;

	snprintf(data, sizeof(data), "%s/%s", tdir, name);
	if (stat(data, &sb) != 0)
		init_node(data, name, persons_b, events_b);
	assert_int_equal(node_store_open(data, &s), CL_OK);
	memset(&o, 0, sizeof(o));
	o.current_epoch = local_epoch;
	o.evaluate = local_evaluate;
	o.max_batch = batch;
	o.ud = k;
	rc = node_tokens_fill(s, &o, NULL, rep);
	node_store_close(s);
	return rc;
}

static void local_id_token(const char *name, const uint8_t nonce[32], uint8_t out[32])
{
	char data[1200];
	struct node_store *s = NULL;
	struct node_encq_summary sum;

	snprintf(data, sizeof(data), "%s/%s", tdir, name);
	assert_int_equal(node_store_open(data, &s), CL_OK);
	memset(out, 0, 32);
	assert_int_equal(node_encq_run(s, nonce, 0, INT64_MAX, collect_id, out, &sum), CL_OK);
	node_store_close(s);
}

static void test_rogue_key(void **state)
{
	struct local_kh rogue, genuine;
	uint8_t pk[OPRF_ELEMENT_LEN], want[32], got[32];
	struct node_tokens_report rep;

	(void)state;
	truth_token("LV:01079012009", nonce1, want);
	/* a node with its own random key: b3's token is not the federation's */
	memset(&rogue, 0, sizeof(rogue));
	rogue.epoch = 1;
	assert_int_equal(oprf_generate_key(octx, rogue.sk, pk), CL_OK);
	assert_int_equal(local_fill("rogue", &rogue, 7, &rep), CL_OK);
	local_id_token("rogue", nonce1, got);
	assert_memory_not_equal(got, want, 32);
	/* the control: the same path with the keyholder's key gives the federation's token */
	memset(&genuine, 0, sizeof(genuine));
	genuine.epoch = 1;
	testkeys_sk(khdir, 0, genuine.sk);
	assert_int_equal(local_fill("genuine", &genuine, 7, &rep), CL_OK);
	local_id_token("genuine", nonce1, got);
	assert_memory_equal(got, want, 32);
}

/* Outputs of another epoch are refused; an interrupted fill claims nothing and is resumed. */
static void test_epoch_and_resume(void **state)
{
	struct local_kh k;
	struct node_tokens_report rep, rep2;
	char data[1200];
	size_t total;

	(void)state;
	memset(&k, 0, sizeof(k));
	k.epoch = 3;
	k.answer_epoch = 2;
	assert_int_equal(oprf_generate_key(octx, k.sk, (uint8_t[OPRF_ELEMENT_LEN]){0}), CL_OK);
	assert_int_equal(local_fill("epochs", &k, 4, &rep), CL_EPROTO);
	snprintf(data, sizeof(data), "%s/epochs", tdir);
	assert_int_equal(sql_int(data, "SELECT key_epoch FROM token_state"), 0);
	assert_int_equal(sql_int(data, "SELECT count(*) FROM person_tokens"), 0);
	/* the whole fill, for the element and call counts */
	k.answer_epoch = 0;
	k.calls = 0;
	assert_int_equal(local_fill("epochs", &k, 4, &rep), CL_OK);
	total = rep.elements;
	assert_true(total > 10);
	assert_int_equal(k.calls, rep.calls);
	/* a new epoch, interrupted at its last call */
	k.epoch = 4;
	k.fail_after = k.calls - 1;
	k.calls = 0;
	assert_int_equal(local_fill("epochs", &k, 4, &rep), CL_EUNAVAIL);
	assert_int_equal(sql_int(data, "SELECT key_epoch FROM token_state"), 0);
	/* the store claims nothing: a query is refused */
	{
		struct node_store *s = NULL;
		uint8_t tok[32];

		assert_int_equal(node_store_open(data, &s), CL_OK);
		assert_int_equal(node_encq_run(s, nonce1, 0, INT64_MAX, collect_id, tok, NULL),
				 CL_ESTALE);
		node_store_close(s);
	}
	k.fail_after = 0;
	assert_int_equal(local_fill("epochs", &k, 4, &rep2), CL_OK);
	assert_int_equal(rep2.key_epoch, 4);
	assert_int_equal(sql_int(data, "SELECT key_epoch FROM token_state"), 4);
	assert_int_equal(sql_int(data, "SELECT count(*) FROM qgram_tokens WHERE key_epoch<>4"), 0);
	assert_int_equal(sql_int(data, "SELECT count(*) FROM person_tokens WHERE key_epoch<>4"), 0);
	/* the resumed fill did not redo what the interrupted one had stored */
	assert_true(rep2.elements < total);
}

static void test_audit_intact(void **state)
{
	const char *argv[] = {bin_node, "audit", "verify", "--data", node_a, NULL};
	char out[1200];

	(void)state;
	snprintf(out, sizeof(out), "%s/audit.out", tdir);
	assert_int_equal(run(bin_node, out, NULL, argv), 0);
	assert_contains(out, "audit log intact");
}

static void test_age(void **state)
{
	int64_t t;
	const char *why = NULL;

	(void)state;
	assert_int_equal(cldate_parse_time("2025-03-11T23:59Z", &t, &why), CL_OK);
	assert_int_equal(node_encq_age(1985, 3, 12, t), 39);
	assert_int_equal(node_encq_age(1985, 3, 11, t), 40);
	assert_int_equal(node_encq_age(1985, 0, 0, t), 40);
	assert_int_equal(node_encq_age(0, 0, 0, t), -1);
	assert_int_equal(node_encq_age(2026, 1, 1, t), -1);
	assert_int_equal(cldate_parse_time("1969-12-31T12:00Z", &t, &why), CL_OK);
	assert_int_equal(node_encq_age(1950, 12, 31, t), 19);
}

/* ---- the node's fast answer against the former per-record path ---- */

/* Deterministic pseudo-random numbers for the generated data (not a secret). */
static uint32_t lcg(uint32_t *s)
{
	*s = *s * 1103515245u + 12345u;
	return *s >> 8;
}

/* HMAC-SHA256 with prepared key states equals OpenSSL's HMAC() for keys and messages of every
 * length around the block boundaries. */
static void test_hmac_prepared(void **state)
{
	uint8_t key[200], msg[200], prep[ENC_PREP_LEN], want[32], got[32];
	unsigned int len = 0;
	size_t kl, ml;

	(void)state;
	assert_int_equal(RAND_bytes(key, sizeof(key)), 1);
	assert_int_equal(RAND_bytes(msg, sizeof(msg)), 1);
	for (kl = 0; kl <= 140; kl += (kl < 70 ? 1 : 7)) {
		assert_int_equal(enc_hmac_prepare(key, kl, prep), 0);
		for (ml = 0; ml <= 200; ml += (ml < 130 ? 1 : 11)) {
			assert_non_null(HMAC(EVP_sha256(), key, (int)kl, msg, ml, want, &len));
			assert_int_equal(enc_hmac_prepared(prep, msg, ml, got), 0);
			assert_memory_equal(got, want, 32);
		}
	}
	assert_int_equal(enc_hmac_prepare(NULL, 1, prep), CL_EINVAL);
	assert_int_equal(enc_hmac_prepared(prep, NULL, 1, got), CL_EINVAL);
}

/* The fast derived token equals enc_derived_token (OpenSSL HMAC) for every kind and length. */
static void test_derived_fast(void **state)
{
	uint8_t tok[ENC_DERIVED_QMAX * ENC_TOKEN_LEN], a[32], b[32];
	size_t n;
	unsigned kind;

	(void)state;
	assert_int_equal(RAND_bytes(tok, sizeof(tok)), 1);
	for (kind = 0; kind < ENC_DERIVED_MAX; kind++)
		for (n = 1; n <= ENC_DERIVED_QMAX; n++) {
			assert_int_equal(enc_derived_token(kind, tok, n, a), 0);
			assert_int_equal(enc_derived_token_fast(kind, tok, n, b), 0);
			assert_memory_equal(a, b, 32);
		}
	assert_int_equal(enc_derived_token_fast(0, tok, 0, b), CL_EINVAL);
	assert_int_equal(enc_derived_token_fast(ENC_DERIVED_MAX, tok, 1, b), CL_EINVAL);
	assert_int_equal(enc_derived_token_fast(0, tok, ENC_DERIVED_QMAX + 1, b), CL_EINVAL);
}

/* A filter from the union of its parts' masks equals enc_bloom_tokens over all q-grams at once,
 * for random tokens, fields, k per field and splits into parts. */
static void test_bloom_masks(void **state)
{
	uint8_t nonce[32], tok[64 * ENC_TOKEN_LEN], fields[64], want[ENC_BLOOM_BYTES],
	    got[ENC_BLOOM_BYTES];
	uint64_t masks[4][ENC_MASK_WORDS];
	const uint64_t *mp[4];
	struct enc_query *q = NULL;
	uint32_t seed = 7;
	int round;

	(void)state;
	assert_int_equal(RAND_bytes(nonce, sizeof(nonce)), 1);
	assert_int_equal(enc_query_new(nonce, &q), 0);
	for (round = 0; round < 200; round++) {
		size_t n = lcg(&seed) % 65, cut[5], i, parts = 1 + lcg(&seed) % 4;
		unsigned f;

		for (f = 0; f < 4; f++)
			assert_int_equal(enc_query_set_k(q, f, lcg(&seed) % (ENC_K_MAX + 1)), 0);
		assert_int_equal(RAND_bytes(tok, sizeof(tok)), 1);
		for (i = 0; i < n; i++)
			fields[i] = (uint8_t)(lcg(&seed) % 4);
		assert_int_equal(enc_bloom_tokens(q, tok, fields, n, want), 0);
		cut[0] = 0;
		cut[parts] = n;
		for (i = 1; i < parts; i++)
			cut[i] = cut[i - 1] + (n - cut[i - 1]) / 2;
		for (i = 0; i < parts; i++) {
			assert_int_equal(enc_bloom_mask(q, tok + cut[i] * ENC_TOKEN_LEN,
							fields + cut[i], cut[i + 1] - cut[i],
							masks[i]),
					 0);
			mp[i] = masks[i];
		}
		assert_int_equal(enc_bloom_from_masks(q, mp, parts, got), 0);
		assert_memory_equal(got, want, ENC_BLOOM_BYTES);
	}
	fields[0] = ENC_FIELD_MAX;
	assert_int_equal(enc_bloom_mask(q, tok, fields, 1, masks[0]), CL_EINVAL);
	enc_query_free(q);
}

/* The answer as the former code made it, record by record, from the store and the cache. */
struct ref_answer {
	uint8_t **recs; /* packed TokenRecords */
	size_t *lens, n;
	size_t capped;	     /* persons whose q-grams reached NODE_TOKENS_QGRAMS */
	size_t given_no_tok; /* persons with a given name and no given-name token */
};

struct got_answer {
	uint8_t **recs;
	size_t *lens, n, batches;
	int last_seen, order_ok;
};

static void ref_free(uint8_t **recs, size_t *lens, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(recs[i]);
	free(recs);
	free(lens);
}

static void ref_push(uint8_t ***recs, size_t **lens, size_t *n, const Caselink__V1__TokenRecord *r)
{
	size_t len = caselink__v1__token_record__get_packed_size(r);

	*recs = realloc(*recs, (*n + 1) * sizeof(**recs));
	*lens = realloc(*lens, (*n + 1) * sizeof(**lens));
	assert_non_null(*recs);
	assert_non_null(*lens);
	(*recs)[*n] = malloc(len ? len : 1);
	assert_non_null((*recs)[*n]);
	caselink__v1__token_record__pack(r, (*recs)[*n]);
	(*lens)[(*n)++] = len;
}

static int got_emit(void *ud, const Caselink__V1__TokenBatch *b, int last)
{
	struct got_answer *g = ud;
	size_t i;

	if (g->last_seen || b->batch_index != g->batches)
		g->order_ok = 0;
	g->batches++;
	g->last_seen = last;
	for (i = 0; i < b->n_records; i++)
		ref_push(&g->recs, &g->lens, &g->n, b->records[i]);
	return 0;
}

/* The former eq_derived: OpenSSL's HMAC through enc_derived_token. */
static int ref_derived(struct node_tokens_qmap *map, const uint8_t *qtok, unsigned kind,
		       const char *text, size_t len, uint8_t out[32])
{
	char g[ENC_DERIVED_QMAX][ENC_QGRAM_SLOT];
	uint8_t tok[ENC_DERIVED_QMAX * ENC_TOKEN_LEN];
	size_t n = 0, i, v;
	unsigned f = 0;
	int rc = enc_derived_qgrams(kind, text, len, g, ENC_DERIVED_QMAX, &n, &f);

	if (rc == CL_ENOTFOUND || rc == CL_ELIMIT || rc == CL_EPARSE)
		return 1;
	assert_int_equal(rc, 0);
	for (i = 0; i < n; i++) {
		if (node_tokens_qmap_get(map, f, g[i], 0, 0, &v) != 1)
			return 1;
		memcpy(tok + i * 32, qtok + v * 32, 32);
	}
	assert_int_equal(enc_derived_token(kind, tok, n, out), 0);
	return 0;
}

/* Computes the former answer for [from, to); returns 0, or CL_ESTALE as the former code did. */
static int ref_run(const char *data, const uint8_t nonce[32], const uint8_t hnonce[32],
		   int64_t from, int64_t to, struct ref_answer *a)
{
	char path[1200];
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL, *ps = NULL, *es = NULL, *ids = NULL;
	struct node_tokens_qmap *map = NULL;
	struct node_tokens_person *p = calloc(1, sizeof(*p));
	struct enc_query *eq = NULL;
	uint8_t *qtok = NULL, hkey[32], tok[NODE_TOKENS_QGRAMS * 32], fields[NODE_TOKENS_QGRAMS];
	size_t nq = 0, i, v;
	uint32_t epoch;
	int rc = 0;

	memset(a, 0, sizeof(*a));
	assert_non_null(p);
	snprintf(path, sizeof(path), "%s/node.db", data);
	assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	assert_int_equal(
	    sqlite3_prepare_v2(db, "SELECT key_epoch, handle_key FROM token_state", -1, &st, NULL),
	    SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	epoch = (uint32_t)sqlite3_column_int64(st, 0);
	assert_int_equal(sqlite3_column_bytes(st, 1), 32);
	memcpy(hkey, sqlite3_column_blob(st, 1), 32);
	sqlite3_finalize(st);
	assert_int_equal(node_tokens_qmap_new(&map), CL_OK);
	assert_int_equal(sqlite3_prepare_v2(db,
					    "SELECT field, qgram, output FROM qgram_tokens"
					    " WHERE key_epoch=?",
					    -1, &st, NULL),
			 SQLITE_OK);
	sqlite3_bind_int64(st, 1, epoch);
	while (sqlite3_step(st) == SQLITE_ROW) {
		qtok = realloc(qtok, (nq + 1) * 32);
		assert_non_null(qtok);
		assert_int_equal(node_tokens_qmap_get(map, (unsigned)sqlite3_column_int(st, 0),
						      (const char *)sqlite3_column_text(st, 1), 1,
						      nq, NULL),
				 0);
		assert_int_equal(enc_token(sqlite3_column_blob(st, 2), nonce, qtok + nq * 32), 0);
		nq++;
	}
	sqlite3_finalize(st);
	assert_int_equal(enc_query_new(nonce, &eq), 0);
	assert_int_equal(sqlite3_prepare_v2(db,
					    "SELECT DISTINCT person_id FROM events WHERE"
					    " occurred_at >= ?1 AND occurred_at < ?2"
					    " ORDER BY person_id",
					    -1, &ids, NULL),
			 SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db,
					    "SELECT " NODE_TOKENS_PERSON_COLS
					    ", p.sharing, t.gen, t.key_epoch, t.id_out, t.demo_out"
					    " FROM persons p LEFT JOIN person_tokens t"
					    " ON t.person_id=p.id WHERE p.id=?",
					    -1, &ps, NULL),
			 SQLITE_OK);
	assert_int_equal(
	    sqlite3_prepare_v2(db,
			       "SELECT event_type, occurred_at, role, municipality,"
			       " risk_level, child_threat_level, referral_to FROM events"
			       " WHERE person_id=?1 AND occurred_at >= ?2 AND"
			       " occurred_at < ?3 ORDER BY occurred_at, id",
			       -1, &es, NULL),
	    SQLITE_OK);
	sqlite3_bind_int64(ids, 1, from);
	sqlite3_bind_int64(ids, 2, to);
	while (!rc && sqlite3_step(ids) == SQLITE_ROW) {
		const int c = NODE_TOKENS_PERSON_NCOLS;
		int64_t pid = sqlite3_column_int64(ids, 0);
		Caselink__V1__TokenRecord r = CASELINK__V1__TOKEN_RECORD__INIT;
		Caselink__V1__EventRecord evs[64], *evp[64];
		uint8_t handle[16], id[32], demo[32], bloom[128], year[32], date[32], given[32];
		char digits[16] = "", sex[2];
		const char *gtext;
		size_t glen = 0, ne = 0;

		sqlite3_reset(ps);
		sqlite3_bind_int64(ps, 1, pid);
		assert_int_equal(sqlite3_step(ps), SQLITE_ROW);
		assert_int_equal(sqlite3_column_type(ps, c + 1), SQLITE_INTEGER);
		assert_true(sqlite3_column_int64(ps, c + 1) >= sqlite3_column_int64(ps, 1));
		assert_int_equal((uint32_t)sqlite3_column_int64(ps, c + 2), epoch);
		assert_int_equal(node_tokens_inputs(ps, 0, p), CL_OK);
		assert_int_equal(node_tokens_handle(hkey, hnonce, pid, handle), CL_OK);
		r.row_handle.data = handle;
		r.row_handle.len = 16;
		if (sqlite3_column_bytes(ps, c + 3) == 32) {
			assert_int_equal(enc_token(sqlite3_column_blob(ps, c + 3), nonce, id), 0);
			r.id_token.data = id;
			r.id_token.len = 32;
		}
		if (sqlite3_column_bytes(ps, c + 4) == 32) {
			assert_int_equal(enc_token(sqlite3_column_blob(ps, c + 4), nonce, demo), 0);
			r.demo_token.data = demo;
			r.demo_token.len = 32;
		}
		a->capped += p->nq == NODE_TOKENS_QGRAMS;
		for (i = 0; i < p->nq; i++) {
			if (node_tokens_qmap_get(map, p->qfield[i], p->qgram[i], 0, 0, &v) != 1) {
				rc = CL_ESTALE;
				break;
			}
			memcpy(tok + i * 32, qtok + v * 32, 32);
			fields[i] = p->qfield[i];
		}
		if (rc)
			break;
		if (p->nq) {
			assert_int_equal(enc_bloom_tokens(eq, tok, fields, p->nq, bloom), 0);
			r.bloom.data = bloom;
			r.bloom.len = 128;
		}
		if (p->birth_year && p->birth_month && p->birth_day)
			snprintf(digits, sizeof(digits), "%04d%02d%02d", p->birth_year,
				 p->birth_month, p->birth_day);
		else if (p->birth_year)
			snprintf(digits, sizeof(digits), "%04d", p->birth_year);
		if (!ref_derived(map, qtok, ENC_DERIVED_YEAR, digits, strlen(digits), year)) {
			r.year_token.data = year;
			r.year_token.len = 32;
		}
		if (!ref_derived(map, qtok, ENC_DERIVED_DATE, digits, strlen(digits), date)) {
			r.date_token.data = date;
			r.date_token.len = 32;
		}
		gtext = (const char *)sqlite3_column_text(ps, 5);
		if (gtext)
			glen = (size_t)sqlite3_column_bytes(ps, 5);
		if (!ref_derived(map, qtok, ENC_DERIVED_GIVEN, gtext, glen, given)) {
			r.given_token.data = given;
			r.given_token.len = 32;
		} else if (glen) {
			a->given_no_tok++;
		}
		sex[0] = p->sex[0];
		sex[1] = '\0';
		r.sex = sex;
		r.restricted = !strcmp((const char *)sqlite3_column_text(ps, c), "restricted");
		r.key_epoch = epoch;
		sqlite3_reset(es);
		sqlite3_bind_int64(es, 1, pid);
		sqlite3_bind_int64(es, 2, from);
		sqlite3_bind_int64(es, 3, to);
		while (sqlite3_step(es) == SQLITE_ROW) {
			Caselink__V1__EventRecord *e = &evs[ne];

			assert_true(ne < 64);
			caselink__v1__event_record__init(e);
			e->event_type = strdup((const char *)sqlite3_column_text(es, 0));
			e->occurred_at = sqlite3_column_int64(es, 1);
			e->role = strdup((const char *)sqlite3_column_text(es, 2));
			e->municipality = strdup((const char *)sqlite3_column_text(es, 3));
			e->risk_level = strdup(sqlite3_column_text(es, 4)
						   ? (const char *)sqlite3_column_text(es, 4)
						   : "");
			e->child_threat_level = sqlite3_column_type(es, 5) == SQLITE_NULL
						    ? -1
						    : sqlite3_column_int(es, 5);
			e->referral_to = strdup(sqlite3_column_text(es, 6)
						    ? (const char *)sqlite3_column_text(es, 6)
						    : "");
			e->age_years = node_encq_age(p->birth_year, p->birth_month, p->birth_day,
						     e->occurred_at);
			evp[ne++] = e;
		}
		r.n_events = ne;
		r.events = evp;
		ref_push(&a->recs, &a->lens, &a->n, &r);
		for (i = 0; i < ne; i++) {
			free(evs[i].event_type);
			free(evs[i].role);
			free(evs[i].municipality);
			free(evs[i].risk_level);
			free(evs[i].referral_to);
		}
	}
	sqlite3_finalize(ids);
	sqlite3_finalize(ps);
	sqlite3_finalize(es);
	sqlite3_close(db);
	enc_query_free(eq);
	node_tokens_qmap_free(map);
	free(qtok);
	free(p);
	return rc;
}

/* Runs the node's answer (from c's copy when c is set) into g. */
static void got_run(const char *data, struct node_encq_cache *c, const uint8_t nonce[32],
		    const uint8_t hnonce[32], int64_t from, int64_t to, struct got_answer *g,
		    struct node_encq_summary *sum)
{
	struct node_store *s = NULL;

	memset(g, 0, sizeof(*g));
	g->order_ok = 1;
	assert_int_equal(node_store_open(data, &s), CL_OK);
	if (c)
		assert_int_equal(
		    node_encq_run_cached(s, c, nonce, hnonce, from, to, got_emit, g, sum), CL_OK);
	else
		assert_int_equal(
		    node_encq_run_handles(s, nonce, hnonce, from, to, got_emit, g, sum), CL_OK);
	node_store_close(s);
}

/*
 * Runs the node's answer and the former one and compares them record by record, byte for byte;
 * with c set, the answer from c's in-memory copy too.
 */
static void compare_answers(const char *data, struct node_encq_cache *c, const uint8_t nonce[32],
			    const uint8_t hnonce[32], int64_t from, int64_t to,
			    struct ref_answer *ref)
{
	struct node_encq_summary sum;
	struct got_answer g;
	size_t i;
	int pass;

	assert_int_equal(ref_run(data, nonce, hnonce, from, to, ref), 0);
	for (pass = 0; pass < (c ? 2 : 1); pass++) {
		got_run(data, pass ? c : NULL, nonce, hnonce, from, to, &g, &sum);
		assert_true(g.order_ok);
		assert_true(g.last_seen);
		assert_int_equal(sum.records, ref->n);
		assert_int_equal(sum.batches, g.batches);
		assert_int_equal(g.n, ref->n);
		for (i = 0; i < ref->n; i++) {
			assert_int_equal(g.lens[i], ref->lens[i]);
			assert_memory_equal(g.recs[i], ref->recs[i], ref->lens[i]);
		}
		ref_free(g.recs, g.lens, g.n);
	}
	ref_free(ref->recs, ref->lens, ref->n);
}

/* n random lowercase letters (deterministic) into out. */
static void letters(uint32_t *seed, char *out, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		out[i] = (char)('a' + lcg(seed) % 26);
	out[n] = '\0';
}

/*
 * 1 200 generated persons (recurring names and dates, year-only and unknown dates, names long
 * enough to reach the q-gram cap or to count as absent, a given name too long for its derived
 * token, restricted records, every sex) with events in and out of a narrow window, filled by
 * an in-process key: the node's answer equals the former per-record computation byte for byte,
 * over two batches, for the full and a narrow window and with own handles; then a name the
 * cache cannot encode, and a q-gram missing from the cache (CL_ESTALE in both).
 */
static void test_answer_equivalence(void **state)
{
	static const char *const given[] = {"Anna", "Līga",	"Jānis", "Pēteris", "Marta",
					    "Ilze", "Kristaps", "Anana", "Ēriks",   "Zane",
					    "Ieva", "Mārtiņš",	"Laura", "Ojārs"};
	static const char *const family[] = {"Bērziņa", "Kalniņa",  "Ozols",   "Liepa",
					     "Kļava",	"Zvaigzne", "Ozoliņš", "Vītols"};
	char data[1200], ppath[1300], epath[1300], g[400], f[400], longf[200] = "", birth[16];
	struct node_store *s = NULL;
	struct node_store_meta meta;
	struct node_import_opts o;
	struct node_import_report ir;
	struct node_tokens_oprf okh;
	struct node_tokens_report tr;
	struct local_kh k;
	struct ref_answer ref;
	uint8_t pk[OPRF_ELEMENT_LEN], nonce[32], hnonce[32];
	uint32_t seed = 11;
	int64_t from, to;
	const char *why = NULL;
	sqlite3 *db = NULL;
	FILE *pf, *ef;
	struct node_encq_cache *cache = NULL;
	size_t cbytes = 0, builds = 0;
	char ppersons[1300];
	int i, j;

	(void)state;
	snprintf(data, sizeof(data), "%s/equiv", tdir);
	snprintf(ppath, sizeof(ppath), "%s.persons.csv", data);
	snprintf(epath, sizeof(epath), "%s.events.csv", data);
	pf = fopen(ppath, "w");
	ef = fopen(epath, "w");
	assert_non_null(pf);
	assert_non_null(ef);
	fprintf(pf, "person_ref,national_id,id_country,given_name,family_name,birth_date,sex,"
		    "sharing\n");
	fprintf(ef, "event_ref,person_ref,event_type,occurred_at,role,risk_level,"
		    "child_threat_level,referral_to\n");
	for (i = 0; i < 1200; i++) {
		static const char *const sexes = "FMXU";
		int ev = 1 + (int)(lcg(&seed) % 3);

		snprintf(g, sizeof(g), "%s", i % 37 == 0 ? "" : given[lcg(&seed) % 14]);
		snprintf(f, sizeof(f), "%s", i % 41 == 0 ? "" : family[lcg(&seed) % 8]);
		if (i % 100 == 7) {
			/* both names long: the person's q-gram list reaches the cap */
			letters(&seed, g, 110);
			letters(&seed, longf, 110);
			snprintf(f, sizeof(f), "%s", longf);
		} else if (i % 100 == 8) {
			/* the same long family name with a short given name: the cache holds all of
			 * its q-grams, also those past the previous person's cap */
			snprintf(f, sizeof(f), "%s", longf);
		} else if (i == 11) {
			/* over NODE_TOKENS_FIELD_QGRAMS: the field counts as absent */
			letters(&seed, g, 300);
		} else if (i == 9) { /* 4 distinct bigrams, 141 in sequence: no given-name token */
			for (j = 0; j < 140; j++)
				g[j] = j % 2 ? 'b' : 'a';
			g[140] = '\0';
		}
		if (i % 5 == 0)
			birth[0] = '\0';
		else if (i % 5 == 1)
			snprintf(birth, sizeof(birth), "19%02d", 40 + i % 50);
		else
			snprintf(birth, sizeof(birth), "19%02d-%02d-%02d", 40 + i % 50, 1 + i % 12,
				 1 + i % 28);
		fprintf(pf, "p%d,%s,%s,%s,%s,%s,%c,%s\n", i,
			i % 97 == 0   ? CODE1
			: i % 89 == 0 ? "123456-00000"
				      : "",
			i % 97 == 0 || i % 89 == 0 ? "LV" : "", g, f, birth, sexes[i % 4],
			i % 13 == 0 ? "restricted" : "allowed");
		if (i % 23 == 5)
			continue; /* no events: no record */
		for (j = 0; j < ev; j++) {
			/* four in ten persons in the narrow window of March 2025, with gaps of
			 * one to three persons between them */
			int month = i % 10 < 3 || i % 10 == 7 ? 3 : 1 + (int)(lcg(&seed) % 2);

			fprintf(ef, "e%d-%d,p%d,%s,2025-%02d-%02dT%02d:00Z,%s,%s,,\n", i, j, i,
				j % 2 ? "police_callout" : "crime_report", month,
				1 + (int)(lcg(&seed) % 28), j == 2 ? 10 : 10 + j,
				j % 2 ? "victim" : "perpetrator", j % 2 ? "high" : "");
		}
	}
	fclose(pf);
	fclose(ef);
	memset(&meta, 0, sizeof(meta));
	strcpy(meta.agency_id, "equiv");
	strcpy(meta.agency_type, "police");
	strcpy(meta.municipality, "Liepāja");
	strcpy(meta.country, "LV");
	assert_int_equal(node_store_init(data, &meta), CL_OK);
	assert_int_equal(node_store_open(data, &s), CL_OK);
	memset(&o, 0, sizeof(o));
	snprintf(ppersons, sizeof(ppersons), "%s", ppath);
	o.persons_path = ppersons;
	o.events_path = epath;
	assert_int_equal(node_import_run(s, &o, &ir), CL_OK);
	assert_int_equal(ir.persons_added, 1200);
	memset(&k, 0, sizeof(k));
	k.epoch = 1;
	assert_int_equal(oprf_generate_key(octx, k.sk, pk), CL_OK);
	memset(&okh, 0, sizeof(okh));
	okh.current_epoch = local_epoch;
	okh.evaluate = local_evaluate;
	okh.max_batch = 5000;
	okh.ud = &k;
	assert_int_equal(node_tokens_fill(s, &okh, NULL, &tr), CL_OK);
	node_store_close(s);

	assert_int_equal(RAND_bytes(nonce, sizeof(nonce)), 1);
	assert_int_equal(RAND_bytes(hnonce, sizeof(hnonce)), 1);
	/* the full window: more than one batch, the cap and the derived-token limit reached;
	 * the copy warmed first (as the daemon does at start), the answer uses it as it is */
	assert_int_equal(node_encq_cache_new(&cache), CL_OK);
	assert_int_equal(node_store_open(data, &s), CL_OK);
	assert_int_equal(node_encq_cache_warm(s, cache), CL_OK);
	assert_int_equal(node_encq_cache_warm(s, cache), CL_OK); /* unchanged store: no rebuild */
	node_store_close(s);
	assert_int_equal(node_encq_cache_info(cache, NULL, &builds), CL_OK);
	assert_int_equal(builds, 1);
	compare_answers(data, cache, nonce, nonce, 0, INT64_MAX, &ref);
	assert_true(ref.n > NODE_ENCQ_BATCH);
	assert_int_equal(node_encq_cache_info(cache, &cbytes, &builds), CL_OK);
	assert_int_equal(builds, 1);
	assert_true(cbytes > 0);
	/* (ref is freed by compare_answers; its counters stay) */
	assert_int_equal(ref.capped, 12);
	assert_true(ref.given_no_tok >= 2);
	/* March 2025 only: persons skipped between those that have events; own handles */
	assert_int_equal(cldate_parse_time("2025-03-01", &from, &why), CL_OK);
	assert_int_equal(cldate_parse_time("2025-04-01", &to, &why), CL_OK);
	compare_answers(data, cache, nonce, hnonce, from, to, &ref);
	assert_true(ref.n > 300 && ref.n < 600);
	/* the copy is reused while the store is unchanged */
	assert_int_equal(node_encq_cache_info(cache, NULL, &builds), CL_OK);
	assert_int_equal(builds, 1);
	/* a stored name that does not encode ('_' is not a name character): field absent */
	snprintf(ppath, sizeof(ppath), "%s/node.db", data);
	assert_int_equal(sqlite3_open(ppath, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db,
				      "UPDATE persons SET given_norm='an_na' WHERE person_ref='p3';"
				      "UPDATE persons SET family_norm=x'c3' WHERE person_ref='p4'",
				      NULL, NULL, NULL),
			 SQLITE_OK);
	sqlite3_close(db);
	/* an import (here one that changes nothing, after the edit above) makes the next cached
	 * answer read a new copy, which holds the edit */
	assert_int_equal(node_store_open(data, &s), CL_OK);
	assert_int_equal(node_import_run(s, &o, &ir), CL_OK);
	node_store_close(s);
	compare_answers(data, cache, nonce, nonce, 0, INT64_MAX, &ref);
	assert_int_equal(node_encq_cache_info(cache, NULL, &builds), CL_OK);
	assert_int_equal(builds, 2);
	/* a cache fill (no persons changed) makes a new copy as well */
	assert_int_equal(node_store_open(data, &s), CL_OK);
	assert_int_equal(sqlite3_exec(node_store_db(s),
				      "UPDATE token_state SET filled_at=filled_at+1 WHERE id=1",
				      NULL, NULL, NULL),
			 SQLITE_OK);
	node_store_close(s);
	compare_answers(data, cache, nonce, nonce, from, to, &ref);
	assert_int_equal(node_encq_cache_info(cache, NULL, &builds), CL_OK);
	assert_int_equal(builds, 3);
	assert_int_equal(sqlite3_open(ppath, &db), SQLITE_OK);
	/* a q-gram the cache lacks: both refuse with CL_ESTALE */
	assert_int_equal(sqlite3_exec(db, "DELETE FROM qgram_tokens WHERE field=3 AND qgram='zv'",
				      NULL, NULL, NULL),
			 SQLITE_OK);
	assert_int_equal(sqlite3_changes(db), 1);
	sqlite3_close(db);
	assert_int_equal(ref_run(data, nonce, nonce, 0, INT64_MAX, &ref), CL_ESTALE);
	ref_free(ref.recs, ref.lens, ref.n);
	assert_int_equal(node_store_open(data, &s), CL_OK);
	{
		struct got_answer ga;
		struct node_encq_summary sum;

		memset(&ga, 0, sizeof(ga));
		assert_int_equal(node_encq_run(s, nonce, 0, INT64_MAX, got_emit, &ga, &sum),
				 CL_ESTALE);
		ref_free(ga.recs, ga.lens, ga.n);
		memset(&ga, 0, sizeof(ga));
		assert_int_equal(
		    node_encq_run_cached(s, cache, nonce, nonce, 0, INT64_MAX, got_emit, &ga, &sum),
		    CL_ESTALE);
		ref_free(ga.recs, ga.lens, ga.n);
	}
	node_store_close(s);
	node_encq_cache_free(cache);
	OPENSSL_cleanse(k.sk, sizeof(k.sk));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_age),
	    cmocka_unit_test(test_hmac_prepared),
	    cmocka_unit_test(test_derived_fast),
	    cmocka_unit_test(test_bloom_masks),
	    cmocka_unit_test(test_fill),
	    cmocka_unit_test(test_qgram_count),
	    cmocka_unit_test(test_query_tokens),
	    cmocka_unit_test(test_query_window),
	    cmocka_unit_test(test_changed_person),
	    cmocka_unit_test(test_keyholder_down),
	    cmocka_unit_test(test_rogue_key),
	    cmocka_unit_test(test_epoch_and_resume),
	    cmocka_unit_test(test_audit_intact),
	    cmocka_unit_test(test_answer_equivalence),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
