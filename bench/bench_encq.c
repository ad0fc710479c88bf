/*
 * bench_encq — a node's TOKENS-mode answer through node_encq_run (node/encode_query.h) on a real
 * store with a filled token cache: Bloom encodings (records) per second and per-query tokens per
 * second, one thread.
 *
 *   bench_encq AGENCY_DIR WORK_DIR [ROUNDS] [--digest] [--cache]
 *
 * With --cache the answers read a node_encq_cache (the serving daemon's in-memory copy of the
 * persons and events) instead of the store; round 0 includes building it, and its size is
 * printed.
 *
 * With --digest every round uses one fixed nonce and prints the SHA-256 of the answer's packed
 * TokenBatch messages, so that two builds' answers can be compared byte for byte.
 *
 * AGENCY_DIR holds persons.csv and events.csv (e.g. one agency of `caselink synth`). When WORK_DIR
 * holds no store, one is made and imported there and its cache filled by an in-process OPRF key
 * (the keyholder's BlindEvaluate without the network); a store a previous run left there with a
 * filled cache is reused as it is (the fill takes a minute; profiling runs want only the answers).
 * Then ROUNDS (default 5) answers are made, each under a fresh nonce, over every event. CPU time
 * is the process's user + system time (getrusage). Prints figures only, never a name.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sys/resource.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <openssl/evp.h>

#include "common/cl_error.h"
#include "node/encode_query.h"
#include "node/import.h"
#include "node/store.h"
#include "node/tokens.h"
#include "protocol/oprf.h"

struct be_kh {
	struct oprf_ctx *octx;
	uint8_t sk[OPRF_SCALAR_LEN];
};

struct be_count {
	size_t records, events, ids, demos, blooms, derived;
	EVP_MD_CTX *digest; /* NULL: no digest */
	int err;
};

static double be_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static double be_cpu(void)
{
	struct rusage ru;

	if (getrusage(RUSAGE_SELF, &ru) != 0)
		return 0;
	return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
	       ru.ru_stime.tv_usec / 1e6;
}

/* Counts the cached q-grams of a store whose cache a previous run filled. */
static int be_count_qgrams(struct node_store *s, size_t *n)
{
	sqlite3_stmt *st = NULL;
	int rc = CL_ESQL;

	if (sqlite3_prepare_v2(node_store_db(s), "SELECT count(*) FROM qgram_tokens", -1, &st,
			       NULL) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW) {
		*n = (size_t)sqlite3_column_int64(st, 0);
		rc = 0;
	}
	sqlite3_finalize(st);
	return rc;
}

static int be_epoch(void *ud, uint32_t *epoch)
{
	(void)ud;
	*epoch = 1;
	return 0;
}

static int be_evaluate(void *ud, uint32_t epoch, const uint8_t *blinded, size_t n,
		       uint8_t *evaluated, uint32_t *used)
{
	struct be_kh *k = ud;

	*used = epoch;
	return oprf_blind_evaluate_batch(k->octx, k->sk, blinded, n, evaluated);
}

static int be_emit(void *ud, const Caselink__V1__TokenBatch *b, int last)
{
	struct be_count *c = ud;
	size_t i;

	(void)last;
	if (c->digest) {
		size_t len = caselink__v1__token_batch__get_packed_size(b);
		uint8_t *buf = malloc(len ? len : 1);

		if (!buf)
			return CL_ENOMEM;
		caselink__v1__token_batch__pack(b, buf);
		if (EVP_DigestUpdate(c->digest, buf, len) != 1)
			c->err = 1;
		OPENSSL_cleanse(buf, len);
		free(buf);
	}
	for (i = 0; i < b->n_records; i++) {
		const Caselink__V1__TokenRecord *r = b->records[i];

		c->records++;
		c->events += r->n_events;
		c->ids += r->id_token.len != 0;
		c->demos += r->demo_token.len != 0;
		c->blooms += r->bloom.len != 0;
		c->derived +=
		    (r->year_token.len != 0) + (r->date_token.len != 0) + (r->given_token.len != 0);
	}
	return 0;
}

int main(int argc, char **argv)
{
	char ppath[4096], epath[4096];
	struct node_store *s = NULL;
	struct node_import_opts o;
	struct node_import_report ir;
	struct node_tokens_oprf kh;
	struct node_tokens_report tr;
	struct be_kh k;
	struct node_tokens_state ts;
	int reuse = 0;
	uint8_t pk[OPRF_ELEMENT_LEN], nonce[ENC_NONCE_LEN];
	double t0, c0, wall = 0, cpu = 0, best = 1e30;
	size_t tokens = 0, trec = 0, ttok = 0;
	int rounds = argc > 3 ? atoi(argv[3]) : 5, r, rc;
	int digest = 0, cached = 0, a;
	struct node_encq_cache *cache = NULL;
	size_t cbytes = 0, cbuilds = 0;

	memset(&k, 0, sizeof(k));
	for (a = 4; a < argc; a++) {
		if (!strcmp(argv[a], "--digest"))
			digest = 1;
		else if (!strcmp(argv[a], "--cache"))
			cached = 1;
		else
			rounds = 0;
	}
	if (argc < 3 || rounds < 1) {
		fprintf(stderr,
			"usage: bench_encq AGENCY_DIR WORK_DIR [ROUNDS] [--digest] [--cache]\n");
		return 2;
	}
	if (cached && node_encq_cache_new(&cache) != CL_OK)
		return 1;
	snprintf(ppath, sizeof(ppath), "%s/persons.csv", argv[1]);
	snprintf(epath, sizeof(epath), "%s/events.csv", argv[1]);
	rc = oprf_ctx_new(&k.octx);
	if (!rc)
		rc = oprf_generate_key(k.octx, k.sk, pk);
	if (!rc) {
		struct node_store_meta meta;

		memset(&meta, 0, sizeof(meta));
		snprintf(meta.agency_id, sizeof(meta.agency_id), "bench-police");
		snprintf(meta.agency_type, sizeof(meta.agency_type), "police");
		snprintf(meta.municipality, sizeof(meta.municipality), "Liepaja");
		snprintf(meta.country, sizeof(meta.country), "LV");
		rc = node_store_init(argv[2], &meta);
		if (rc == CL_EEXIST)
			rc = 0, reuse = 1;
	}
	if (!rc)
		rc = node_store_open(argv[2], &s);
	if (rc)
		goto out;
	memset(&tr, 0, sizeof(tr));
	if (reuse) {
		rc = node_tokens_get_state(node_store_db(s), &ts);
		if (!rc && !ts.filled)
			rc = CL_ESTALE;
		if (!rc)
			rc = be_count_qgrams(s, &tr.qgrams);
		if (rc)
			goto out;
		printf("reusing the store and filled cache in %s: %zu q-grams\n", argv[2],
		       tr.qgrams);
		goto answers;
	}
	memset(&o, 0, sizeof(o));
	o.persons_path = ppath;
	o.events_path = epath;
	t0 = be_now();
	rc = node_import_run(s, &o, &ir);
	if (rc)
		goto out;
	printf("import: %llu persons, %llu events in %.2f s\n",
	       (unsigned long long)ir.persons_added, (unsigned long long)ir.events_added,
	       be_now() - t0);
	memset(&kh, 0, sizeof(kh));
	kh.current_epoch = be_epoch;
	kh.evaluate = be_evaluate;
	kh.max_batch = 10000;
	kh.ud = &k;
	t0 = be_now();
	rc = node_tokens_fill(s, &kh, NULL, &tr);
	if (rc)
		goto out;
	printf("cache fill (in-process OPRF): %zu persons, %zu q-grams, %zu elements in %.2f s\n",
	       tr.persons, tr.qgrams, tr.elements, be_now() - t0);
answers:
	for (r = 0; r < rounds; r++) {
		struct be_count c;
		struct node_encq_summary sum;
		EVP_MD_CTX *dctx = NULL;
		uint8_t md[32];
		double w, u;

		memset(&c, 0, sizeof(c));
		if (digest) {
			unsigned int mdlen = 0;

			dctx = EVP_MD_CTX_new();
			if (!dctx ||
			    EVP_Digest("bench_encq fixed nonce", 22, nonce, &mdlen, EVP_sha256(),
				       NULL) != 1 ||
			    EVP_DigestInit_ex(dctx, EVP_sha256(), NULL) != 1) {
				EVP_MD_CTX_free(dctx);
				rc = CL_ECRYPTO;
				goto out;
			}
			c.digest = dctx;
		} else if (RAND_bytes(nonce, sizeof(nonce)) != 1) {
			rc = CL_ECRYPTO;
			goto out;
		}
		t0 = be_now();
		c0 = be_cpu();
		rc = node_encq_run_cached(s, cache, nonce, nonce, 0, INT64_MAX / 4, be_emit, &c,
					  &sum);
		w = be_now() - t0;
		u = be_cpu() - c0;
		if (rc) {
			EVP_MD_CTX_free(dctx);
			goto out;
		}
		/* the per-query q-gram tokens (one per cached q-gram) and the per-record tokens */
		tokens = tr.qgrams + c.ids + c.demos + c.derived;
		printf("round %d: %zu records (%zu filters), %zu events, %zu tokens (%zu id, %zu "
		       "demo, %zu derived, %zu q-gram) in %.3f s wall, %.3f s CPU: %.0f records/s, "
		       "%.0f tokens/s (CPU)\n",
		       r, c.records, c.blooms, c.events, tokens, c.ids, c.demos, c.derived,
		       tr.qgrams, w, u, c.records / u, tokens / u);
		if (digest) {
			unsigned int mdlen = 0;

			if (EVP_DigestFinal_ex(dctx, md, &mdlen) != 1 || c.err)
				rc = CL_ECRYPTO;
			EVP_MD_CTX_free(dctx);
			if (rc)
				goto out;
			printf("round %d: answer digest ", r);
			for (size_t j = 0; j < sizeof(md); j++)
				printf("%02x", md[j]);
			printf("\n");
		}
		wall += w;
		cpu += u;
		trec += c.records;
		ttok += tokens;
		if (u < best)
			best = u;
	}
	if (cache) {
		rc = node_encq_cache_info(cache, &cbytes, &cbuilds);
		if (rc)
			goto out;
		printf("cache: %zu bytes (%.1f MiB) in memory, %zu build(s)\n", cbytes,
		       cbytes / 1048576.0, cbuilds);
	}
	printf(
	    "RESULT bench=encq cache=%d rounds=%d encodings_per_s_cpu=%.0f tokens_per_s_cpu=%.0f "
	    "best_round_cpu=%.3f wall_per_round=%.3f\n",
	    cached, rounds, cpu > 0 ? trec / cpu : 0.0, cpu > 0 ? ttok / cpu : 0.0, best,
	    wall / rounds);
out:
	if (rc)
		fprintf(stderr, "bench_encq: %s\n", cl_strerror(rc));
	node_store_close(s);
	node_encq_cache_free(cache);
	oprf_ctx_free(k.octx);
	OPENSSL_cleanse(k.sk, sizeof(k.sk));
	return rc ? 1 : 0;
}
