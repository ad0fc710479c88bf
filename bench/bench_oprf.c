/*
 * bench_oprf — throughput of the OPRF on one core, side by side with `openssl speed ecdhp256`.
 *
 * Key holder: BlindEvaluate through oprf_blind_evaluate_batch (batches of --batch elements).
 * Node: hash_to_curve, Blind, Finalize. One ECDH of `openssl speed` is one P-256 scalar
 * multiplication of an arbitrary point (plus its affine conversion), the floor of BlindEvaluate,
 * which adds the decompression of the blinded element and the compression of the result.
 * Rates are operations per second of process CPU time, the divisor `openssl speed` uses by
 * default (CPU user time), so that other load on a shared machine distorts both alike.
 *
 * Usage: bench_oprf [--seconds S] [--batch N] [--rounds R] [--no-openssl]
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/ec.h>
#include <openssl/rand.h>

#include "common/cl_error.h"
#include "protocol/h2c.h"
#include "protocol/oprf.h"

#define MAX_BATCH 65536
#define INPUT_LEN 16

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double cpu_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Runs `openssl speed -seconds S ecdhp256` and returns its op/s figure, or a negative value. */
static double openssl_ecdh(int seconds)
{
	char cmd[128], line[512];
	double ops = -1.0;
	FILE *p;

	snprintf(cmd, sizeof(cmd), "openssl speed -seconds %d ecdhp256 2>/dev/null", seconds);
	p = popen(cmd, "r");
	if (p == NULL)
		return -1.0;
	while (fgets(line, sizeof(line), p) != NULL) {
		/* " 256 bits ecdh (nistp256)   0.0001s  16826.7" */
		char *s = strstr(line, "ecdh (nistp256)"), *last;

		if (s == NULL)
			continue;
		last = strrchr(line, ' ');
		if (last != NULL)
			ops = strtod(last + 1, NULL);
	}
	if (pclose(p) != 0)
		return -1.0;
	return ops;
}

static void make_input(uint8_t *in, size_t i)
{
	/* Personal-code-like inputs: "XX:" and 13 digits. */
	snprintf((char *)in, INPUT_LEN + 1, "EE:%013llu",
		 38000000000ull + (unsigned long long)i * 7919u);
}

int main(int argc, char **argv)
{
	struct oprf_ctx *ctx = NULL;
	struct h2c_ctx *h2c = NULL;
	uint8_t sk[OPRF_SCALAR_LEN], pk[OPRF_ELEMENT_LEN], out[OPRF_OUTPUT_LEN];
	uint8_t check[OPRF_OUTPUT_LEN], input[INPUT_LEN + 1];
	uint8_t *blinded = NULL, *evaluated = NULL, *blinds = NULL;
	EC_POINT *pt = NULL;
	const uint8_t dst[] = "HashToGroup-OPRFV1-\0-P256-SHA256";
	double seconds = 5.0, t0, t1, c0, c1, best_ossl = -1.0, best_be = 0.0, be, ossl, ratio;
	double h2c_rate, blind_rate, fin_rate;
	size_t batch = 1000, i, n, done;
	int rounds = 1, run_openssl = 1, r, rc = 1, a;

	for (a = 1; a < argc; a++) {
		if (strcmp(argv[a], "--seconds") == 0 && a + 1 < argc)
			seconds = atof(argv[++a]);
		else if (strcmp(argv[a], "--batch") == 0 && a + 1 < argc)
			batch = strtoul(argv[++a], NULL, 10);
		else if (strcmp(argv[a], "--rounds") == 0 && a + 1 < argc)
			rounds = atoi(argv[++a]);
		else if (strcmp(argv[a], "--no-openssl") == 0)
			run_openssl = 0;
		else {
			fprintf(stderr, "usage: bench_oprf [--seconds S] [--batch N] [--rounds R] "
					"[--no-openssl]\n");
			return 2;
		}
	}
	if (seconds < 0.1 || batch == 0 || batch > MAX_BATCH || rounds < 1 || rounds > 20) {
		fprintf(stderr, "bench_oprf: argument out of range\n");
		return 2;
	}
	blinded = malloc(batch * OPRF_ELEMENT_LEN);
	evaluated = malloc(batch * OPRF_ELEMENT_LEN);
	blinds = malloc(batch * OPRF_SCALAR_LEN);
	if (blinded == NULL || evaluated == NULL || blinds == NULL || oprf_ctx_new(&ctx) != 0 ||
	    h2c_ctx_new(&h2c) != 0)
		goto out;
	pt = EC_POINT_new(h2c_ctx_group(h2c));
	if (pt == NULL || oprf_generate_key(ctx, sk, pk) != 0)
		goto out;

	/* Node, Blind: hash_to_curve + one scalar multiplication per input. */
	t0 = now();
	c0 = cpu_now();
	done = 0;
	do {
		for (i = 0; i < batch; i++) {
			make_input(input, i);
			if (oprf_blind(ctx, input, INPUT_LEN, blinds + i * OPRF_SCALAR_LEN,
				       blinded + i * OPRF_ELEMENT_LEN) != 0)
				goto out;
		}
		done += batch;
		t1 = now();
	} while (t1 - t0 < seconds / 2);
	blind_rate = (double)done / (cpu_now() - c0);

	/* Key holder, BlindEvaluate in batches, against openssl speed ecdhp256. */
	for (r = 0; r < rounds; r++) {
		if (run_openssl) {
			ossl = openssl_ecdh((int)(seconds + 0.5) > 0 ? (int)(seconds + 0.5) : 1);
			if (ossl > best_ossl)
				best_ossl = ossl;
		}
		t0 = now();
		c0 = cpu_now();
		n = 0;
		do {
			if (oprf_blind_evaluate_batch(ctx, sk, blinded, batch, evaluated) != 0)
				goto out;
			n += batch;
			t1 = now();
		} while (t1 - t0 < seconds);
		c1 = cpu_now();
		be = (double)n / (c1 - c0);
		printf("round %d: BlindEvaluate %.1f op/s (wall %.2f s, cpu %.2f s)%s", r + 1, be,
		       t1 - t0, c1 - c0, run_openssl ? "" : "\n");
		if (run_openssl)
			printf(", openssl ecdhp256 %.1f op/s\n", ossl);
		if (be > best_be)
			best_be = be;
	}

	/* Node, Finalize: decompression, Fermat inversion of the blind, one multiplication. */
	t0 = now();
	c0 = cpu_now();
	done = 0;
	do {
		for (i = 0; i < batch; i++) {
			make_input(input, i);
			if (oprf_finalize(ctx, input, INPUT_LEN, blinds + i * OPRF_SCALAR_LEN,
					  evaluated + i * OPRF_ELEMENT_LEN, out) != 0)
				goto out;
		}
		done += batch;
		t1 = now();
	} while (t1 - t0 < seconds / 2);
	fin_rate = (double)done / (cpu_now() - c0);
	/* The outputs are the PRF's: the last one equals the direct evaluation. */
	if (oprf_evaluate(ctx, sk, input, INPUT_LEN, check) != 0 || memcmp(check, out, 32) != 0) {
		fprintf(stderr, "bench_oprf: Finalize output differs from Evaluate\n");
		goto out;
	}

	/* hash_to_curve alone. */
	t0 = now();
	c0 = cpu_now();
	done = 0;
	do {
		for (i = 0; i < batch; i++) {
			make_input(input, done + i);
			if (h2c_hash_to_curve(h2c, input, INPUT_LEN, dst, sizeof(dst) - 1, pt) != 0)
				goto out;
		}
		done += batch;
		t1 = now();
	} while (t1 - t0 < seconds / 2);
	h2c_rate = (double)done / (cpu_now() - c0);

	printf("\nbench_oprf: P256-SHA256 OPRF, one thread, batch %zu, %.1f s per figure\n", batch,
	       seconds);
	printf("  BlindEvaluate (key holder, batch API)  %10.1f op/s  (best of %d)\n", best_be,
	       rounds);
	if (run_openssl && best_ossl > 0) {
		ratio = best_be / best_ossl;
		printf("  openssl speed ecdhp256 (1 scalar mult) %10.1f op/s  (best of %d)\n",
		       best_ossl, rounds);
		printf("  ratio BlindEvaluate / ECDH              %10.3f      (target >= 0.80)\n",
		       ratio);
	} else if (run_openssl) {
		printf("  openssl speed ecdhp256: not available\n");
	}
	printf("  hash_to_curve                           %10.1f op/s\n", h2c_rate);
	printf("  Blind (client)                          %10.1f op/s\n", blind_rate);
	printf("  Finalize (client)                       %10.1f op/s\n", fin_rate);
	printf("  Blind + Finalize (client, per input)    %10.1f op/s\n",
	       1.0 / (1.0 / blind_rate + 1.0 / fin_rate));
	rc = 0;
out:
	if (rc != 0)
		fprintf(stderr, "bench_oprf: failed\n");
	EC_POINT_free(pt);
	h2c_ctx_free(h2c);
	oprf_ctx_free(ctx);
	free(blinded);
	free(evaluated);
	free(blinds);
	return rc;
}
