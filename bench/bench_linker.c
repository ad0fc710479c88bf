/*
 * bench_linker — per-core throughput of the per-query encodings and of the linker:
 *   tokens/s (enc_tokens), Bloom encodings/s (enc_bloom from OPRF outputs, enc_bloom_tokens from
 *   cached q-gram tokens), Dice comparisons/s per popcount kernel, and end-to-end linkage of
 *   synthetic federations (P persons at N nodes, noisy copies), with the blocking's recall
 *   measured against all-pairs comparison on a smaller federation.
 * Usage: bench_linker [--persons P] [--nodes N] [--threads T] [--nonce-seed S] [--skip-e2e]
 *                     [--skip-recall]
 * (defaults 50000 x 20 = 1 M records; the recall check links P/10 persons with all pairs; the
 * links on T threads, default the online processors up to 8, as the coordinator; the query
 * nonce random, or derived from S so that two runs link the same filters). The kernels run on
 * one thread. Prints figures and a digest of the links (equal digests: the same clusters),
 * asserts nothing.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include "common/cl_error.h"
#include "coordinator/linker.h"
#include "protocol/encode.h"

#define NQ 26 /* q-grams of a typical record: 8 given, 8 family, 10 birth date */

/* k 10 / 10 / 20 for given name, family name and birth date. */
static int bl_set_k(struct enc_query *q)
{
	int rc = enc_query_set_k(q, ENC_FIELD_GIVEN, 10);

	if (!rc)
		rc = enc_query_set_k(q, ENC_FIELD_FAMILY, 10);
	if (!rc)
		rc = enc_query_set_k(q, ENC_FIELD_BIRTH, 20);
	return rc;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static double cpu(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static uint64_t rs = 0x5eed;

static uint64_t rnd(void)
{
	uint64_t z = (rs += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static void fill(unsigned char *p, size_t n)
{
	size_t i;

	for (i = 0; i + 8 <= n; i += 8) {
		uint64_t v = rnd();

		memcpy(p + i, &v, 8);
	}
}

static int bench_tokens(const unsigned char nonce[32])
{
	size_t n = 1 << 20;
	unsigned char *in = malloc(n * 32), *out = malloc(n * 32);
	double t0, t;
	int rc;

	if (!in || !out)
		return CL_ENOMEM;
	fill(in, n * 32);
	t0 = now();
	rc = enc_tokens(in, n, nonce, out);
	t = now() - t0;
	if (!rc)
		printf("tokens: %zu in %.3f s = %.2f M tokens/s per core\n", n, t, n / t / 1e6);
	/* from prepared (cached) HMAC key states */
	if (!rc) {
		unsigned char *prep = malloc(n * ENC_PREP_LEN);

		if (!prep)
			rc = CL_ENOMEM;
		if (!rc)
			rc = enc_token_prepare(in, n, prep);
		t0 = now();
		if (!rc)
			rc = enc_tokens_prepared(prep, n, nonce, out);
		t = now() - t0;
		if (!rc)
			printf("tokens from prepared key states: %.2f M tokens/s per core\n",
			       n / t / 1e6);
		free(prep);
	}
	/* reference: OpenSSL's one-shot HMAC() per token */
	if (!rc) {
		size_t m = n / 8, i;
		unsigned int len = 0;

		t0 = now();
		for (i = 0; i < m; i++)
			if (!HMAC(EVP_sha256(), in + i * 32, 32, nonce, 32, out + i * 32, &len)) {
				rc = CL_ECRYPTO;
				break;
			}
		t = now() - t0;
		printf("tokens with one-shot HMAC(): %.2f M tokens/s per core\n", m / t / 1e6);
	}
	free(in);
	free(out);
	return rc;
}

static int bench_bloom(const unsigned char nonce[32])
{
	size_t n = 200000, i;
	unsigned char *in = malloc(n * NQ * 32), fields[NQ], out[128];
	struct enc_query *q = NULL;
	double t0, t;
	int rc;

	if (!in)
		return CL_ENOMEM;
	for (i = 0; i < NQ; i++)
		fields[i] = (unsigned char)(i < 8    ? ENC_FIELD_GIVEN
					    : i < 16 ? ENC_FIELD_FAMILY
						     : ENC_FIELD_BIRTH);
	fill(in, n * NQ * 32);
	rc = enc_query_new(nonce, &q);
	if (!rc) /* the record-level field set this generator models (given, family, birth) */
		rc = bl_set_k(q);
	if (rc)
		goto out;
	t0 = now();
	for (i = 0; i < n && !rc; i++)
		rc = enc_bloom(q, in + i * NQ * 32, fields, NQ, out);
	t = now() - t0;
	printf("bloom (from OPRF outputs, %d q-grams, HMAC each): %.0f k encodings/s per core\n",
	       NQ, n / t / 1e3);
	t0 = now();
	for (i = 0; i < n && !rc; i++)
		rc = enc_bloom_tokens(q, in + i * NQ * 32, fields, NQ, out);
	t = now() - t0;
	printf("bloom (from cached q-gram tokens): %.0f k encodings/s per core\n", n / t / 1e3);
out:
	enc_query_free(q);
	free(in);
	return rc;
}

/*
 * Scan time of n filters over `rounds` rounds, net of loading (1 round subtracted), in process
 * CPU time (one thread here), so that other processes on the machine do not count.
 */
static int scan_rate(int k, const unsigned char *a, const unsigned char *base, size_t n,
		     unsigned rounds, double *rate)
{
	double t0, t1, t, best = 1e9;
	size_t hits = 0;
	int rep, rc = 0;

	for (rep = 0; rep < 3; rep++) {
		t0 = cpu();
		rc = linker_scan(k, a, base, n, 1, 0.8, &hits);
		t1 = cpu() - t0;
		if (rc)
			return rc;
		t0 = cpu();
		rc = linker_scan(k, a, base, n, rounds + 1, 0.8, &hits);
		t = (cpu() - t0 - t1) / rounds;
		if (rc)
			return rc;
		if (t > 0 && t < best)
			best = t;
	}
	*rate = n / best;
	return 0;
}

static int bench_dice(void)
{
	static const char *const names[] = {"auto", "portable", "popcnt", "avx512-vpopcntdq",
					    "avx2-nibble"};
	size_t n = 1 << 20;
	unsigned char *base = malloc(n * 128), a[128];
	double cached = 0, streamed = 0;
	int k, rc = 0;

	if (!base)
		return CL_ENOMEM;
	fill(base, n * 128);
	memcpy(a, base, 128);
	for (k = LINKER_KERNEL_AUTO; k <= LINKER_KERNEL_AVX2; k++) {
		rc = scan_rate(k, a, base, 2048, 2000, &cached);
		if (!rc)
			rc = scan_rate(k, a, base, n, 5, &streamed);
		if (rc == CL_EUNSUPPORTED) {
			printf("dice %-17s not supported by this CPU\n", names[k]);
			rc = 0;
			continue;
		}
		if (rc)
			break;
		printf(
		    "dice %-17s %6.0f M comparisons/s per core in cache (2048 filters), %4.0f M/s "
		    "streaming 1 M filters (128 MiB)\n",
		    names[k], cached / 1e6, streamed / 1e6);
	}
	free(base);
	return rc;
}

/* P persons with NQ random q-gram tokens; each node holds a noisy copy of each (0-5 replaced). */
static int federation(struct linker *l, struct enc_query *q, size_t persons, unsigned nodes,
		      uint32_t *truth)
{
	unsigned char *pq = malloc(persons * NQ * 32), qo[NQ * 32], fields[NQ], f[128];
	size_t p, g, n = 0;
	unsigned node;
	int rc = 0;

	if (!pq)
		return CL_ENOMEM;
	fill(pq, persons * NQ * 32);
	for (g = 0; g < NQ; g++)
		fields[g] = (unsigned char)(g < 8    ? ENC_FIELD_GIVEN
					    : g < 16 ? ENC_FIELD_FAMILY
						     : ENC_FIELD_BIRTH);
	for (node = 0; node < nodes; node++)
		for (p = 0; p < persons; p++) {
			unsigned noise = (unsigned)(rnd() % 6), m;
			uint32_t h = (uint32_t)n;

			memcpy(qo, pq + p * NQ * 32, sizeof(qo));
			for (m = 0; m < noise; m++)
				fill(qo + (rnd() % NQ) * 32, 32);
			rc = enc_bloom_tokens(q, qo, fields, NQ, f);
			if (!rc)
				rc = linker_add(l, node, node % 5, (const unsigned char *)&h,
						sizeof(h), NULL, NULL, f, NULL);
			if (rc)
				goto out;
			truth[n++] = (uint32_t)p;
		}
out:
	free(pq);
	return rc;
}

static int cmp64(const void *x, const void *y)
{
	uint64_t a = *(const uint64_t *)x, b = *(const uint64_t *)y;

	return a < b ? -1 : a > b;
}

static uint64_t same_pairs(uint64_t *k, size_t n)
{
	uint64_t t = 0, run = 0;
	size_t i;

	qsort(k, n, sizeof(*k), cmp64);
	for (i = 0; i < n; i++) {
		run = (i && k[i] == k[i - 1]) ? run + 1 : 0;
		t += run;
	}
	return t;
}

/* FNV-1a over the records' cluster ids: equal for equal links. */
static uint64_t links_digest(const struct linker *l, size_t n)
{
	uint64_t h = 0xcbf29ce484222325ull;
	size_t i;

	for (i = 0; i < n; i++) {
		uint32_t c = 0;
		int b;

		linker_cluster(l, i, &c);
		for (b = 0; b < 4; b++)
			h = (h ^ ((c >> (8 * b)) & 0xff)) * 0x100000001b3ull;
	}
	return h;
}

static int e2e(const unsigned char nonce[32], size_t persons, unsigned nodes, int mode,
	       unsigned threads, uint64_t *cand)
{
	struct enc_query *q = NULL;
	struct linker *l = NULL;
	size_t n = persons * nodes, i;
	uint32_t *truth = malloc(n * sizeof(*truth));
	uint64_t *keys = malloc(n * sizeof(*keys)), pred, tp, tr;
	double t0, tb, tl, c0;
	int rc;

	if (!truth || !keys) {
		rc = CL_ENOMEM;
		goto out;
	}
	rc = enc_query_new(nonce, &q);
	if (!rc) /* the record-level field set this generator models (given, family, birth) */
		rc = bl_set_k(q);
	if (!rc)
		rc = linker_new(&l);
	if (!rc)
		rc = linker_set_blocking(l, mode, 0, 0, 7);
	if (!rc)
		rc = linker_set_threads(l, threads);
	if (rc)
		goto out;
	t0 = now();
	rs = 0xfed + persons;
	rc = federation(l, q, persons, nodes, truth);
	if (rc)
		goto out;
	tb = now() - t0;
	t0 = now();
	c0 = cpu();
	rc = linker_run(l);
	tl = now() - t0;
	c0 = cpu() - c0;
	if (rc)
		goto out;
	for (i = 0; i < n; i++) {
		uint32_t c = 0;

		linker_cluster(l, i, &c);
		keys[i] = c;
	}
	pred = same_pairs(keys, n);
	for (i = 0; i < n; i++)
		keys[i] = truth[i];
	tr = same_pairs(keys, n);
	for (i = 0; i < n; i++) {
		uint32_t c = 0;

		linker_cluster(l, i, &c);
		keys[i] = (uint64_t)c << 32 | truth[i];
	}
	tp = same_pairs(keys, n);
	*cand = linker_stat(l, LINKER_STAT_CANDIDATES);
	printf("e2e %zu persons x %u nodes = %zu records, %s: encode+add %.2f s, link %.2f s wall "
	       "%.2f s CPU on %u threads; "
	       "%llu comparisons, %llu candidate pairs >= %.2f, %llu clusters; pairwise precision "
	       "%.4f recall %.4f\n",
	       persons, nodes, n, linker_stat(l, LINKER_STAT_LSH_TABLES) ? "LSH" : "all pairs", tb,
	       tl, c0, threads, (unsigned long long)linker_stat(l, LINKER_STAT_COMPARISONS),
	       (unsigned long long)*cand, LINKER_DEFAULT_THRESHOLD,
	       (unsigned long long)linker_stat(l, LINKER_STAT_CLUSTERS),
	       pred ? (double)tp / pred : 1.0, tr ? (double)tp / tr : 1.0);
	printf("    links digest %016llx\n", (unsigned long long)links_digest(l, n));
	if (linker_stat(l, LINKER_STAT_LSH_TABLES))
		printf("    LSH: %llu tables x %llu bits\n",
		       (unsigned long long)linker_stat(l, LINKER_STAT_LSH_TABLES),
		       (unsigned long long)linker_stat(l, LINKER_STAT_LSH_BITS));
out:
	linker_free(l);
	enc_query_free(q);
	free(truth);
	free(keys);
	return rc;
}

int main(int argc, char **argv)
{
	unsigned char nonce[32];
	size_t persons = 50000;
	unsigned nodes = 20;
	uint64_t c_lsh = 0, c_all = 0, nseed = 0;
	long online = sysconf(_SC_NPROCESSORS_ONLN);
	unsigned threads = online < 1 ? 1 : online > 8 ? 8 : (unsigned)online;
	int i, rc, skip = 0, norecall = 0, fixed = 0;

	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--persons") && i + 1 < argc)
			persons = strtoul(argv[++i], NULL, 10);
		else if (!strcmp(argv[i], "--nodes") && i + 1 < argc)
			nodes = (unsigned)strtoul(argv[++i], NULL, 10);
		else if (!strcmp(argv[i], "--threads") && i + 1 < argc)
			threads = (unsigned)strtoul(argv[++i], NULL, 10);
		else if (!strcmp(argv[i], "--nonce-seed") && i + 1 < argc) {
			nseed = strtoull(argv[++i], NULL, 10);
			fixed = 1;
		} else if (!strcmp(argv[i], "--skip-e2e"))
			skip = 1;
		else if (!strcmp(argv[i], "--skip-recall"))
			norecall = 1;
		else {
			fprintf(stderr,
				"usage: bench_linker [--persons P] [--nodes N] [--threads T] "
				"[--nonce-seed S] [--skip-e2e] [--skip-recall]\n");
			return 2;
		}
	}
	if (persons == 0 || nodes == 0 || nodes > LINKER_MAX_NODES || threads < 1 ||
	    threads > LINKER_MAX_THREADS)
		return 2;
	if (fixed) {
		rs = nseed;
		fill(nonce, sizeof(nonce));
	} else if (RAND_bytes(nonce, sizeof(nonce)) != 1) {
		return 1;
	}
	rc = bench_tokens(nonce);
	if (!rc)
		rc = bench_bloom(nonce);
	if (!rc)
		rc = bench_dice();
	if (!rc && !skip && !norecall) {
		/* blocking recall: the same smaller federation with all pairs and with LSH */
		size_t small = persons / 10 ? persons / 10 : 1;

		rc = e2e(nonce, small, nodes, LINKER_BLOCK_NONE, threads, &c_all);
		if (!rc)
			rc = e2e(nonce, small, nodes, LINKER_BLOCK_LSH, threads, &c_lsh);
		if (!rc)
			printf(
			    "blocking recall on %zu records: %llu of %llu candidate pairs = %.5f\n",
			    small * nodes, (unsigned long long)c_lsh, (unsigned long long)c_all,
			    c_all ? (double)c_lsh / c_all : 1.0);
	}
	if (!rc && !skip)
		rc = e2e(nonce, persons, nodes, LINKER_BLOCK_AUTO, threads, &c_lsh);
	if (rc) {
		fprintf(stderr, "bench_linker: %s\n", cl_strerror(rc));
		return 1;
	}
	return 0;
}
