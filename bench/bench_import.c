/*
 * bench_import — the import benchmark: generates persons.csv and events.csv,
 * imports them with caselink-node (full validation) and, side by side, imports
 * the same events.csv with the sqlite3 shell's `.import --csv` into a bare
 * table; prints events/s for both, the ratio and each child's peak RSS.
 *
 *   bench_import [--events N] [--dir DIR] [--node PATH] [--sqlite3 PATH] [--repeat R] [--keep]
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/vocab.h"

#define BENCH_PATH_MAX 1024

struct bench_result {
	double seconds;
	long maxrss_kib;
	int status;
};

static const char *const bench_forms[] = {
    "physical", "psychological", "physical;psychological", "sexual", "economic;psychological", ""};
static const unsigned char bench_agencies[] = {VOCAB_AG_POLICE, VOCAB_AG_SOCIAL_SERVICES,
					       VOCAB_AG_NGO,	VOCAB_AG_SHELTER,
					       VOCAB_AG_HEALTH, VOCAB_AG_CHILD_RIGHTS};
static const char *const bench_given[] = {"Anna", "Jānis",  "Ona",  "Rasa",
					  "Līga", "Andris", "Inga", "Tomas"};
static const char *const bench_family[] = {"Bērziņa", "Kalniņš", "Kazlauskienė", "Petraitis",
					   "Ozola",   "Žemaitė", "Liepa",	 "Vaitkus"};

static uint64_t bench_rng = 0x9e3779b97f4a7c15ULL;

static uint32_t bench_rand(uint32_t n)
{
	bench_rng ^= bench_rng << 13;
	bench_rng ^= bench_rng >> 7;
	bench_rng ^= bench_rng << 17;
	return (uint32_t)((bench_rng >> 16) % n);
}

#define BENCH_PICK(a) (a)[bench_rand(sizeof(a) / sizeof((a)[0]))]

/* A random value of a vocabulary list; with_empty: or "" (one more choice). */
static const char *bench_pick_vocab(enum vocab_list list, int with_empty)
{
	uint32_t n = (uint32_t)vocab_count(list), k = bench_rand(n + (with_empty != 0));

	return k < n ? vocab_name(list, k) : "";
}

static int bench_generate(const char *persons, const char *events, uint64_t n)
{
	uint64_t npersons = n / 10 + 1, i;
	FILE *f = fopen(persons, "w");

	if (!f)
		return -1;
	fputs("person_ref,national_id,id_country,given_name,family_name,birth_date,sex,sharing\n",
	      f);
	for (i = 0; i < npersons; i++) {
		unsigned y = 1940 + bench_rand(70), m = 1 + bench_rand(12), d = 1 + bench_rand(28);

		if (i % 3 == 0) /* an LV old-form code (check digit often wrong: counted invalid) */
			fprintf(f, "P%08llu,%02u%02u%02u-1%04u,LV,%s,%s,%u-%02u-%02u,F,%s\n",
				(unsigned long long)i, d, m, y % 100, bench_rand(10000),
				BENCH_PICK(bench_given), BENCH_PICK(bench_family), y, m, d,
				i % 50 == 0 ? "restricted" : "");
		else
			fprintf(f, "P%08llu,,,%s,%s,%u,%s,\n", (unsigned long long)i,
				BENCH_PICK(bench_given), BENCH_PICK(bench_family), y,
				bench_pick_vocab(VOCAB_SEX, 0));
	}
	if (fclose(f))
		return -1;

	f = fopen(events, "w");
	if (!f)
		return -1;
	fputs("event_ref,person_ref,event_type,occurred_at,role,other_person_ref,relationship,"
	      "violence_forms,risk_level,risk_score,risk_instrument,child_threat_level,"
	      "referral_to,municipality\n",
	      f);
	for (i = 0; i < n; i++) {
		const char *type = bench_pick_vocab(VOCAB_EVENT_TYPE, 0);
		unsigned y = 2015 + bench_rand(10), m = 1 + bench_rand(12), d = 1 + bench_rand(28);
		int risk = !strcmp(type, "risk_assessment");

		fprintf(f, "E%010llu,P%08llu,%s,", (unsigned long long)i,
			(unsigned long long)bench_rand((uint32_t)npersons), type);
		if (i % 2)
			fprintf(f, "%u-%02u-%02uT%02u:%02u+02:00,", y, m, d, bench_rand(24),
				bench_rand(60));
		else
			fprintf(f, "%u-%02u-%02u,", y, m, d);
		fprintf(f, "%s,", bench_pick_vocab(VOCAB_ROLE, 0));
		if (i % 4 == 0)
			fprintf(f, "P%08llu,%s,",
				(unsigned long long)bench_rand((uint32_t)npersons),
				bench_pick_vocab(VOCAB_RELATIONSHIP, 1));
		else
			fputs(",,", f);
		fprintf(f, "%s,%s,", BENCH_PICK(bench_forms),
			bench_pick_vocab(VOCAB_RISK_LEVEL, 1));
		if (risk)
			fprintf(f, "%u,%s,", bench_rand(40), i % 3 ? "police_ra" : "marac");
		else
			fputs(",,", f);
		if (!strcmp(type, "child_threat_assessment"))
			fprintf(f, "%u,", bench_rand(3));
		else
			fputc(',', f);
		fprintf(f, "%s,%s\n",
			!strcmp(type, "referral_sent")
			    ? vocab_name(VOCAB_AGENCY_TYPE, BENCH_PICK(bench_agencies))
			    : "",
			i % 10 == 0 ? "Jūrmala" : "");
	}
	return fclose(f) ? -1 : 0;
}

static double bench_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Runs argv (stdout to /dev/null unless show) and measures wall time and peak RSS. */
static int bench_run(char *const argv[], int show, struct bench_result *r)
{
	struct rusage ru;
	double t0;
	int status = 0;
	pid_t pid;

	fflush(stdout);
	t0 = bench_now();
	pid = fork();

	if (pid < 0)
		return -1;
	if (pid == 0) {
		if (!show && !freopen("/dev/null", "w", stdout))
			_exit(127);
		execvp(argv[0], argv);
		fprintf(stderr, "bench_import: cannot run %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	if (wait4(pid, &status, 0, &ru) != pid)
		return -1;
	r->seconds = bench_now() - t0;
	r->maxrss_kib = ru.ru_maxrss;
	r->status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
	return r->status == 0 ? 0 : -1;
}

/* Keeps the fastest time and the largest peak RSS over the rounds. */
static void bench_best(struct bench_result *best, const struct bench_result *r, int round)
{
	if (round == 0 || r->seconds < best->seconds)
		best->seconds = r->seconds;
	if (round == 0 || r->maxrss_kib > best->maxrss_kib)
		best->maxrss_kib = r->maxrss_kib;
}

static int bench_path(char *buf, const char *dir, const char *name)
{
	int n = snprintf(buf, BENCH_PATH_MAX, "%s/%s", dir, name);

	return n < 0 || n >= BENCH_PATH_MAX ? -1 : 0;
}

int main(int argc, char **argv)
{
	char persons[BENCH_PATH_MAX], events[BENCH_PATH_MAX], data[BENCH_PATH_MAX];
	char sqldb[BENCH_PATH_MAX], node[BENCH_PATH_MAX], cmd[BENCH_PATH_MAX * 5];
	const char *dir = "bench-import", *sqlite3 = "sqlite3", *node_arg = NULL;
	struct bench_result rp = {0}, re = {0}, rs = {0}, rm = {0};
	uint64_t n = 1000000;
	int i, r, keep = 0, repeat = 1;
	double t0;

	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--events") && i + 1 < argc)
			n = strtoull(argv[++i], NULL, 10);
		else if (!strcmp(argv[i], "--dir") && i + 1 < argc)
			dir = argv[++i];
		else if (!strcmp(argv[i], "--node") && i + 1 < argc)
			node_arg = argv[++i];
		else if (!strcmp(argv[i], "--sqlite3") && i + 1 < argc)
			sqlite3 = argv[++i];
		else if (!strcmp(argv[i], "--repeat") && i + 1 < argc)
			repeat = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--keep"))
			keep = 1;
		else {
			fprintf(stderr, "usage: bench_import [--events N] [--dir DIR] [--node PATH]"
					" [--sqlite3 PATH] [--repeat R] [--keep]\n");
			return 2;
		}
	}
	if (n == 0 || n > 100000000 || repeat < 1 || repeat > 20)
		return 2;
	if (node_arg) {
		snprintf(node, sizeof(node), "%s", node_arg);
	} else {
		/* caselink-node beside this program */
		const char *slash = strrchr(argv[0], '/');
		int len = slash ? (int)(slash - argv[0]) : 1;

		snprintf(node, sizeof(node), "%.*s/caselink-node", len, slash ? argv[0] : ".");
	}
	if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
		perror(dir);
		return 1;
	}
	if (bench_path(persons, dir, "persons.csv") || bench_path(events, dir, "events.csv") ||
	    bench_path(data, dir, "node") || bench_path(sqldb, dir, "bare.db"))
		return 1;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s' '%s' '%s-journal'", data, sqldb, sqldb);
	if (system(cmd) != 0)
		return 1;

	t0 = bench_now();
	if (bench_generate(persons, events, n)) {
		perror("generate");
		return 1;
	}
	printf("generated %llu events, %llu persons in %.1f s\n", (unsigned long long)n,
	       (unsigned long long)(n / 10 + 1), bench_now() - t0);

	{
		char *init[] = {node,	  "init",   "--data",	      data,   "--agency",  "bench",
				"--type", "police", "--municipality", "Rīga", "--country", "LV",
				NULL};
		char *ip[] = {node, "import", "--data", data, "--persons", persons, NULL};
		char *ie[] = {node, "import", "--data", data, "--events", events, NULL};
		char *sf[] = {(char *)sqlite3, sqldb, ".import --csv events.csv events", NULL};
		char *sm[] = {(char *)sqlite3, ":memory:", ".import --csv events.csv events", NULL};
		char imp[BENCH_PATH_MAX + 32];

		snprintf(imp, sizeof(imp), ".import --csv %s events", events);
		sf[2] = imp;
		sm[2] = imp;
		for (r = 0; r < repeat; r++) {
			struct bench_result a, b, cf, cm;

			/* each round: a fresh store and a fresh file database, side by side */
			snprintf(cmd, sizeof(cmd), "rm -rf '%s' '%s' '%s-journal'", data, sqldb,
				 sqldb);
			if (system(cmd) != 0)
				return 1;
			if (bench_run(init, 0, &a) || bench_run(ip, 0, &a) ||
			    bench_run(ie, r == 0, &b)) {
				fprintf(stderr, "bench_import: caselink-node failed\n");
				return 1;
			}
			if (bench_run(sf, 0, &cf) || bench_run(sm, 0, &cm)) {
				fprintf(stderr, "bench_import: sqlite3 failed\n");
				return 1;
			}
			printf("round %d: caselink %.2f s, sqlite3 file %.2f s, sqlite3 memory "
			       "%.2f s\n",
			       r + 1, b.seconds, cf.seconds, cm.seconds);
			bench_best(&rp, &a, r);
			bench_best(&re, &b, r);
			bench_best(&rs, &cf, r);
			bench_best(&rm, &cm, r);
		}
	}
	printf("best of %d rounds:\n", repeat);
	printf("caselink-node import persons: %8.2f s  %10.0f rows/s    peak RSS %6.1f MiB\n",
	       rp.seconds, (double)(n / 10 + 1) / rp.seconds, (double)rp.maxrss_kib / 1024);
	printf("caselink-node import events:  %8.2f s  %10.0f events/s  peak RSS %6.1f MiB\n",
	       re.seconds, (double)n / re.seconds, (double)re.maxrss_kib / 1024);
	printf("sqlite3 .import (file):       %8.2f s  %10.0f events/s  peak RSS %6.1f MiB\n",
	       rs.seconds, (double)n / rs.seconds, (double)rs.maxrss_kib / 1024);
	printf("sqlite3 .import (:memory:):   %8.2f s  %10.0f events/s  peak RSS %6.1f MiB\n",
	       rm.seconds, (double)n / rm.seconds, (double)rm.maxrss_kib / 1024);
	printf("ratio caselink/sqlite3 file:   %.2f\n", rs.seconds / re.seconds);
	printf("ratio caselink/sqlite3 memory: %.2f\n", rm.seconds / re.seconds);
	if (!keep) {
		snprintf(cmd, sizeof(cmd), "rm -rf '%s' '%s' '%s' '%s'", data, sqldb, persons,
			 events);
		if (system(cmd) != 0)
			return 1;
	}
	return 0;
}
