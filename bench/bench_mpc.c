/*
 * bench_mpc — the three-party permutations (compute/mpc_perm) beside a plaintext reference in
 * the same run: a secret shuffle of a table of ROWS rows × 4 columns (2 arithmetic, 2 boolean
 * one word per row) and its layout by a map known to party 0 into ROWS·5/4 rows, against a
 * plaintext Fisher–Yates of the same 4 columns. The three parties run on three threads over
 * the in-process transport. Per party: wall time, CPU time, bytes sent and rounds.
 *
 * Usage: bench_mpc [--rows N] [--runs R]   (defaults 1000000, 3; the best run is printed)
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/cl_error.h"
#include "compute/mpc_net.h"
#include "compute/mpc_perm.h"
#include "compute/mpc_share.h"

#define COLS 4
#define NA   2

struct fig {
	double wall, cpu;
	uint64_t bytes, rounds;
};

struct bench {
	size_t n, m;
	uint64_t *in[COLS];
	uint32_t *pi;
	uint64_t sum_in, sum_out[MPC_PARTIES];
	struct fig shuffle[MPC_PARTIES], layout[MPC_PARTIES];
};

static double now(clockid_t c)
{
	struct timespec ts;

	clock_gettime(c, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static uint64_t rng = 0x853c49e6748fea9bull;

static uint64_t rnd(void)
{
	uint64_t z = (rng += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* Uniform below bound by multiply-and-reject, as mpc_perm draws (from a plaintext PRNG). */
static uint32_t below(uint32_t bound)
{
	uint32_t floor = (uint32_t)(0u - bound) % bound;
	uint64_t m;

	do
		m = (uint64_t)(uint32_t)rnd() * bound;
	while ((uint32_t)m < floor);
	return (uint32_t)(m >> 32);
}

static void fisher_yates(uint32_t *s, size_t n)
{
	for (size_t k = 0; k < n; k++)
		s[k] = (uint32_t)k;
	for (size_t i = n; i > 1; i--) {
		uint32_t j = below((uint32_t)i), v = s[i - 1];

		s[i - 1] = s[j];
		s[j] = v;
	}
}

/* The reference: a plaintext Fisher–Yates permutation applied to the 4 columns. */
static int reference(const struct bench *b, struct fig *f)
{
	uint32_t *s = malloc(b->n * 4);
	uint64_t *out = malloc(b->n * 8), check = 0;
	double t0 = now(CLOCK_MONOTONIC), c0 = now(CLOCK_THREAD_CPUTIME_ID);

	if (s == NULL || out == NULL) {
		free(s);
		free(out);
		return CL_ENOMEM;
	}
	fisher_yates(s, b->n);
	for (unsigned c = 0; c < COLS; c++) {
		for (size_t k = 0; k < b->n; k++)
			out[s[k]] = b->in[c][k];
		check += out[b->n / 2];
	}
	f->wall = now(CLOCK_MONOTONIC) - t0;
	f->cpu = now(CLOCK_THREAD_CPUTIME_ID) - c0;
	f->bytes = check; /* printed so that the loop is not optimised away */
	free(s);
	free(out);
	return 0;
}

/* The machine's load while we ran (other processes share the CPU). */
static void print_load(void)
{
	char buf[64] = "?";
	FILE *f = fopen("/proc/loadavg", "r");

	if (f != NULL) {
		if (fgets(buf, sizeof(buf), f) == NULL)
			strcpy(buf, "?");
		fclose(f);
	}
	buf[strcspn(buf, "\n")] = 0;
	printf("  load average (/proc/loadavg): %s\n", buf);
}

static double max_of(const struct fig *f, int cpu)
{
	double w = 0;

	for (unsigned i = 0; i < MPC_PARTIES; i++) {
		double v = cpu ? f[i].cpu : f[i].wall;

		w = v > w ? v : w;
	}
	return w;
}

static int input(struct mpc_party *p, const struct bench *b, struct mpc_a *a, struct mpc_b *w)
{
	int rc = 0;

	for (unsigned c = 0; c < COLS && rc == 0; c++) {
		const uint64_t *v = mpc_party_self(p) == 0 ? b->in[c] : NULL;

		rc = c < NA ? mpc_a_input(p, 0, v, b->n, &a[c])
			    : mpc_b_input(p, 0, v, b->n, &w[c - NA]);
	}
	return rc;
}

/* Runs op (0 shuffle, 1 layout) on the table and records this party's figures. */
static int timed(struct mpc_party *p, struct mpc_net *net, struct bench *b, struct mpc_table *t,
		 int op)
{
	unsigned self = mpc_party_self(p);
	struct fig *f = op == 0 ? &b->shuffle[self] : &b->layout[self];
	uint64_t bytes = net->bytes_sent, rounds = mpc_party_rounds(p);
	double w = now(CLOCK_MONOTONIC), c = now(CLOCK_THREAD_CPUTIME_ID);
	int rc = op == 0 ? mpc_perm_shuffle(p, t)
			 : mpc_perm_layout(p, t, self == 0 ? b->pi : NULL, b->m);

	f->wall = now(CLOCK_MONOTONIC) - w;
	f->cpu = now(CLOCK_THREAD_CPUTIME_ID) - c;
	f->bytes = net->bytes_sent - bytes;
	f->rounds = mpc_party_rounds(p) - rounds;
	return rc;
}

/* Opens column 0 and sums it (a permutation keeps the sum; padding rows are zero). */
static int checksum(struct mpc_party *p, struct bench *b, const struct mpc_a *col)
{
	uint64_t *out = malloc(col->n * 8 + 8), s = 0;
	int rc = out == NULL ? CL_ENOMEM : mpc_a_open(p, col, out);

	for (size_t k = 0; rc == 0 && k < col->n; k++)
		s += out[k];
	b->sum_out[mpc_party_self(p)] = s;
	free(out);
	return rc;
}

static int party_main(struct mpc_net *net, void *ctx)
{
	struct bench *b = ctx;
	struct mpc_party *p = NULL;
	struct mpc_a a[NA] = {{0}};
	struct mpc_b w[COLS - NA] = {{0}};
	struct mpc_table t = {.a = a, .na = NA, .b = w, .nb = COLS - NA};
	int rc = mpc_party_new(&p, net);

	if (rc == 0)
		rc = input(p, b, a, w);
	if (rc == 0)
		rc = timed(p, net, b, &t, 0);
	if (rc == 0)
		rc = timed(p, net, b, &t, 1);
	if (rc == 0)
		rc = checksum(p, b, &a[0]);
	for (unsigned c = 0; c < NA; c++)
		mpc_a_free(&a[c]);
	for (unsigned c = 0; c < COLS - NA; c++)
		mpc_b_free(&w[c]);
	mpc_party_free(p);
	return rc;
}

static int setup(struct bench *b, size_t n)
{
	uint32_t *all;

	b->n = n;
	b->m = n + n / 4;
	for (unsigned c = 0; c < COLS; c++) {
		b->in[c] = malloc(n * 8 + 8);
		if (b->in[c] == NULL)
			return CL_ENOMEM;
		for (size_t k = 0; k < n; k++)
			b->in[c][k] = rnd();
	}
	for (size_t k = 0; k < n; k++)
		b->sum_in += b->in[0][k];
	all = malloc(b->m * 4 + 4);
	if (all == NULL)
		return CL_ENOMEM;
	fisher_yates(all, b->m);
	b->pi = all; /* the first n entries: distinct rows below m */
	return 0;
}

static void print_figs(const char *what, const struct fig *f)
{
	for (unsigned i = 0; i < MPC_PARTIES; i++)
		printf("  %-8s P%u  wall %7.3f s  cpu %7.3f s  sent %9" PRIu64 " bytes (%6.1f MiB)"
		       "  rounds %" PRIu64 "\n",
		       what, i, f[i].wall, f[i].cpu, f[i].bytes, (double)f[i].bytes / 1048576.0,
		       f[i].rounds);
}

int main(int argc, char **argv)
{
	struct bench b = {0}, best = {0};
	struct fig ref = {0}, rf;
	size_t n = 1000000;
	int runs = 3, rc;

	for (int i = 1; i + 1 < argc; i += 2) {
		if (strcmp(argv[i], "--rows") == 0)
			n = strtoul(argv[i + 1], NULL, 10);
		else if (strcmp(argv[i], "--runs") == 0)
			runs = atoi(argv[i + 1]);
	}
	if (n == 0 || n > MPC_MAX_ELEMENTS / 2 || runs < 1) {
		fprintf(stderr, "bench_mpc: --rows 1..%u, --runs >= 1\n", MPC_MAX_ELEMENTS / 2);
		return 2;
	}
	if (setup(&b, n) != 0) {
		fprintf(stderr, "bench_mpc: out of memory\n");
		return 1;
	}
	for (int r = 0; r < runs; r++) {
		void *ctx[MPC_PARTIES] = {&b, &b, &b};

		if (reference(&b, &rf) != 0) {
			fprintf(stderr, "bench_mpc: out of memory\n");
			return 1;
		}
		if (r == 0 || rf.wall < ref.wall)
			ref = rf;
		rc = mpc_net_local_run(party_main, ctx, 600000);
		if (rc != 0 || b.sum_out[0] != b.sum_in || b.sum_out[2] != b.sum_in) {
			fprintf(stderr, "bench_mpc: run failed (%s) or wrong result\n",
				cl_strerror(rc));
			return 1;
		}
		if (r == 0 || max_of(b.shuffle, 0) + max_of(b.layout, 0) <
				  max_of(best.shuffle, 0) + max_of(best.layout, 0))
			best = b;
	}
	printf("bench_mpc: %zu rows x %d columns (%d arithmetic, %d boolean), 3 parties on 3 "
	       "threads, in-process transport, best of %d (column sums checked after opening)\n",
	       n, COLS, NA, COLS - NA, runs);
	print_load();
	printf("  reference: plaintext Fisher-Yates of the same 4 columns: wall %.3f s  cpu %.3f s"
	       "  (check %" PRIx64 ")\n",
	       ref.wall, ref.cpu, ref.bytes);
	printf("  shuffle (secret, 3 passes):\n");
	print_figs("shuffle", best.shuffle);
	printf("  layout into %zu rows (permutation known to P0):\n", b.m);
	print_figs("layout", best.layout);
	printf("  slowest party / reference: shuffle wall %.1fx cpu %.1fx; layout wall %.1fx cpu "
	       "%.1fx\n",
	       max_of(best.shuffle, 0) / ref.wall, max_of(best.shuffle, 1) / ref.cpu,
	       max_of(best.layout, 0) / ref.wall, max_of(best.layout, 1) / ref.cpu);
	for (unsigned c = 0; c < COLS; c++)
		free(b.in[c]);
	free(b.pi);
	return 0;
}
