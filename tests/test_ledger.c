/*
 * Tests of the privacy ledger (coordinator/ledger.c): the ε budget per researcher and period
 * (refusal with its message, refunds, close and reopen, a file of mode 0600 in WAL mode,
 * concurrent spenders through separate connections never overspending), budget period labels,
 * and the differencing check (the "all minus one" pair refused in period and in node set,
 * unrelated queries allowed, the same question repeated allowed with noise); ρ (zCDP) charges
 * beside ε ones; the upgrade of a schema-1 ledger.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <pthread.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "common/cl_error.h"
#include "common/cldate.h"
#include "coordinator/dp.h"
#include "coordinator/ledger.h"
#include "tests/tmpdb.h"

static char db_path[512];

static int setup(void **state)
{
	(void)state;
	tmpdb_path(db_path, sizeof(db_path), "test_ledger");
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	tmpdb_remove(db_path);
	return 0;
}

static void test_budget(void **state)
{
	struct ledger *l = NULL;
	int64_t id1 = 0, id2 = 0, id = 0, left = 0, cost = 0, budget = 0;
	char msg[LEDGER_MESSAGE_MAX] = "";
	(void)state;

	assert_int_equal(ledger_open(db_path, &l), CL_OK);
	/* The policy's doubles, as micro-units. */
	assert_int_equal(dp_epsilon_micro(0.4, 1, &cost), CL_OK);
	assert_int_equal(dp_epsilon_micro(1.0, 0, &budget), CL_OK);
	assert_int_equal(
	    ledger_remaining(l, "researcher.lv-rsu-1", "2025", LEDGER_EPSILON, budget, &left),
	    CL_OK);
	assert_int_equal(left, 1000000);
	assert_int_equal(ledger_charge(l, "researcher.lv-rsu-1", "2025", LEDGER_EPSILON, cost,
				       budget, &id1, msg, sizeof(msg)),
			 CL_OK);
	assert_int_equal(ledger_charge(l, "researcher.lv-rsu-1", "2025", LEDGER_EPSILON, cost,
				       budget, &id2, msg, sizeof(msg)),
			 CL_OK);
	assert_true(id1 > 0 && id2 > id1);
	/* 0.8 spent: 0.4 more would exceed 1.0. */
	id = -7;
	assert_int_equal(ledger_charge(l, "researcher.lv-rsu-1", "2025", LEDGER_EPSILON, cost,
				       budget, &id, msg, sizeof(msg)),
			 CL_EBUDGET);
	assert_int_equal(id, -7);
	assert_string_equal(msg, "privacy budget exceeded: the query needs epsilon 0.400000, "
				 "0.200000 of 1.000000 is left for period 2025");
	assert_int_equal(
	    ledger_remaining(l, "researcher.lv-rsu-1", "2025", LEDGER_EPSILON, budget, &left),
	    CL_OK);
	assert_int_equal(left, 200000);
	/* Exactly the rest is allowed; then nothing is left. */
	assert_int_equal(ledger_charge(l, "researcher.lv-rsu-1", "2025", LEDGER_EPSILON, 200000,
				       budget, &id, msg, sizeof(msg)),
			 CL_OK);
	assert_int_equal(
	    ledger_remaining(l, "researcher.lv-rsu-1", "2025", LEDGER_EPSILON, budget, &left),
	    CL_OK);
	assert_int_equal(left, 0);
	assert_int_equal(ledger_charge(l, "researcher.lv-rsu-1", "2025", LEDGER_EPSILON, 1, budget,
				       &id, msg, sizeof(msg)),
			 CL_EBUDGET);
	/* Other researchers and other periods have their own budgets. */
	assert_int_equal(ledger_charge(l, "researcher.lv-rsu-2", "2025", LEDGER_EPSILON, cost,
				       budget, &id, msg, sizeof(msg)),
			 CL_OK);
	assert_int_equal(ledger_charge(l, "researcher.lv-rsu-1", "2026", LEDGER_EPSILON, cost,
				       budget, &id, msg, sizeof(msg)),
			 CL_OK);
	/* A failed query is refunded, once. */
	assert_int_equal(ledger_refund(l, id2), CL_OK);
	assert_int_equal(ledger_refund(l, id2), CL_ENOTFOUND);
	assert_int_equal(ledger_refund(l, 999999), CL_ENOTFOUND);
	assert_int_equal(
	    ledger_remaining(l, "researcher.lv-rsu-1", "2025", LEDGER_EPSILON, budget, &left),
	    CL_OK);
	assert_int_equal(left, 400000);
	/* A lowered budget leaves nothing rather than a negative rest. */
	assert_int_equal(
	    ledger_remaining(l, "researcher.lv-rsu-1", "2025", LEDGER_EPSILON, 100000, &left),
	    CL_OK);
	assert_int_equal(left, 0);
	/* Bad arguments. */
	assert_int_equal(ledger_charge(l, "researcher.lv-rsu-1", "2025", LEDGER_EPSILON, 0, budget,
				       &id, msg, sizeof(msg)),
			 CL_EINVAL);
	assert_int_equal(
	    ledger_charge(l, "bad\nname", "2025", LEDGER_EPSILON, 1, budget, &id, msg, sizeof(msg)),
	    CL_EINVAL);
	assert_int_equal(
	    ledger_charge(l, "", "2025", LEDGER_EPSILON, 1, budget, &id, msg, sizeof(msg)),
	    CL_EINVAL);
	ledger_close(l);
}

static void test_persistence(void **state)
{
	struct ledger *l = NULL;
	int64_t id = 0, left = 0;
	char msg[LEDGER_MESSAGE_MAX] = "";
	struct stat sb;
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	(void)state;

	assert_int_equal(ledger_open(db_path, &l), CL_OK);
	assert_int_equal(ledger_charge(l, "researcher.lt-vu-1", "2025", LEDGER_EPSILON, 1500000,
				       2000000, &id, msg, sizeof(msg)),
			 CL_OK);
	ledger_close(l);
	l = NULL;

	assert_int_equal(stat(db_path, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0600);
	assert_int_equal(sqlite3_open_v2(db_path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	assert_string_equal((const char *)sqlite3_column_text(st, 0), "wal");
	sqlite3_finalize(st);
	sqlite3_close(db);

	/* After a restart the spent budget is still spent. */
	assert_int_equal(ledger_open(db_path, &l), CL_OK);
	assert_int_equal(
	    ledger_remaining(l, "researcher.lt-vu-1", "2025", LEDGER_EPSILON, 2000000, &left),
	    CL_OK);
	assert_int_equal(left, 500000);
	assert_int_equal(ledger_charge(l, "researcher.lt-vu-1", "2025", LEDGER_EPSILON, 600000,
				       2000000, &id, msg, sizeof(msg)),
			 CL_EBUDGET);
	ledger_close(l);
}

struct spender {
	int ok, refused, errors;
};

static void *spend(void *arg)
{
	struct spender *sp = arg;
	struct ledger *l = NULL;
	char msg[LEDGER_MESSAGE_MAX];

	if (ledger_open(db_path, &l) != CL_OK) {
		sp->errors++;
		return NULL;
	}
	for (int i = 0; i < 10; i++) {
		int64_t id = 0;
		int rc = ledger_charge(l, "researcher.lv-rsu-9", "2025", LEDGER_EPSILON, 100000,
				       2500000, &id, msg, sizeof(msg));

		if (rc == CL_OK)
			sp->ok++;
		else if (rc == CL_EBUDGET)
			sp->refused++;
		else
			sp->errors++;
	}
	ledger_close(l);
	return NULL;
}

/* Four connections race for a budget of 25 charges out of 40 asked: exactly 25 pass. */
static void test_concurrent(void **state)
{
	pthread_t th[4];
	struct spender sp[4];
	struct ledger *l = NULL;
	int ok = 0, refused = 0;
	int64_t left = -1;
	(void)state;

	memset(sp, 0, sizeof(sp));
	assert_int_equal(ledger_open(db_path, &l), CL_OK); /* creates the schema first */
	for (int i = 0; i < 4; i++)
		assert_int_equal(pthread_create(&th[i], NULL, spend, &sp[i]), 0);
	for (int i = 0; i < 4; i++) {
		pthread_join(th[i], NULL);
		assert_int_equal(sp[i].errors, 0);
		ok += sp[i].ok;
		refused += sp[i].refused;
	}
	assert_int_equal(ok, 25);
	assert_int_equal(refused, 15);
	assert_int_equal(
	    ledger_remaining(l, "researcher.lv-rsu-9", "2025", LEDGER_EPSILON, 2500000, &left),
	    CL_OK);
	assert_int_equal(left, 0);
	ledger_close(l);
}

static void test_period(void **state)
{
	char buf[LEDGER_PERIOD_MAX];
	int64_t day = cldate_days_from_civil(2025, 3, 1), now = day * 86400 + 3600;
	char want[64];
	(void)state;

	assert_int_equal(ledger_period(now, 365, buf, sizeof(buf)), CL_OK);
	assert_string_equal(buf, "2025");
	assert_int_equal(ledger_period(cldate_days_from_civil(2024, 12, 31) * 86400 + 86399, 366,
				       buf, sizeof(buf)),
			 CL_OK);
	assert_string_equal(buf, "2024");
	assert_int_equal(ledger_period(now, 30, buf, sizeof(buf)), CL_OK);
	snprintf(want, sizeof(want), "d%lld+30", (long long)(day / 30 * 30));
	assert_string_equal(buf, want);
	assert_int_equal(ledger_period(now, 0, buf, sizeof(buf)), CL_EINVAL);
	assert_int_equal(ledger_period(now, 30, buf, 4), CL_EOVERFLOW);
}

static int diff(struct ledger *l, const char *who, const char *measure, const char *filters,
		int64_t from, int64_t to, const char *nodes, int64_t size, char *msg)
{
	struct ledger_population p = {measure, "municipality", filters, from, to, nodes, size, 0};

	return ledger_differencing(l, who, &p, 5, msg, LEDGER_MESSAGE_MAX);
}

static void test_differencing(void **state)
{
	struct ledger *l = NULL;
	char msg[LEDGER_MESSAGE_MAX] = "";
	const char *r = "researcher.lv-rsu-1";
	int64_t y0 = cldate_days_from_civil(2024, 1, 1), y1 = cldate_days_from_civil(2025, 1, 1);
	struct ledger_population bad = {"M1", "", "", y0, y0, "a", 10, 0};
	(void)state;

	assert_int_equal(ledger_open(db_path, &l), CL_OK);
	/* A: the whole of 2024 at three nodes, 100 persons. */
	assert_int_equal(diff(l, r, "M1", "", y0, y1, "lv-b,lv-a,lv-c", 100, msg), CL_OK);
	/* All minus one by period: 2024 without its last day, 99 persons. */
	assert_int_equal(diff(l, r, "M1", "", y0, y1 - 1, "lv-a,lv-b,lv-c", 99, msg), CL_EDENIED);
	assert_string_equal(msg, "refused: differencing: the population of this M1 query differs "
				 "by fewer than 5 persons from that of earlier query #1 of the "
				 "same requester");
	/* All minus one by node set: one node left out, 97 persons. */
	assert_int_equal(diff(l, r, "M1", "", y0, y1, "lv-a,lv-b", 97, msg), CL_EDENIED);
	/* The other direction: a larger population holding A, 4 persons more. */
	assert_int_equal(diff(l, r, "M1", "", y0 - 31, y1, "lv-a,lv-b,lv-c,lv-d", 104, msg),
			 CL_EDENIED);
	/* Nested but differing by the threshold or more, or not at all: allowed. */
	assert_int_equal(diff(l, r, "M1", "", y0, y1, "lv-a,lv-b", 95, msg), CL_OK);
	assert_int_equal(diff(l, r, "M1", "", y0, y1 - 1, "lv-a,lv-b,lv-c", 100, msg), CL_OK);
	/* Unrelated queries: another measure, other filters, another researcher. */
	assert_int_equal(diff(l, r, "M2", "", y0, y1 - 1, "lv-a,lv-b,lv-c", 99, msg), CL_OK);
	assert_int_equal(diff(l, r, "M1", "risk_level=high", y0, y1 - 1, "lv-a,lv-b,lv-c", 99, msg),
			 CL_OK);
	assert_int_equal(
	    diff(l, "researcher.lv-rsu-2", "M1", "", y0, y1 - 1, "lv-a,lv-b,lv-c", 99, msg), CL_OK);
	/* Overlapping but not nested periods are not caught (docs/disclosure.md). */
	assert_int_equal(diff(l, r, "M1", "", y0 + 1, y1 + 1, "lv-a,lv-b,lv-c", 101, msg), CL_OK);
	/* Bad input. */
	assert_int_equal(ledger_differencing(l, r, &bad, 5, msg, sizeof(msg)), CL_EINVAL);
	bad.to_day = y1;
	assert_int_equal(ledger_differencing(l, r, &bad, 2, msg, sizeof(msg)), CL_EINVAL);
	bad.nodes = "a,a";
	assert_int_equal(ledger_differencing(l, r, &bad, 5, msg, sizeof(msg)), CL_EINVAL);
	ledger_close(l);

	/* The history survives a restart: the all-minus-one pair is still refused. */
	l = NULL;
	assert_int_equal(ledger_open(db_path, &l), CL_OK);
	assert_int_equal(diff(l, r, "M1", "", y0, y1 - 1, "lv-c,lv-b,lv-a", 98, msg), CL_EDENIED);
	ledger_close(l);
}

/* zCDP: ρ charged and refused in ρ; an ε charge counts as ε²/2 in ρ; a ρ charge ends ε. */
static void test_rho(void **state)
{
	struct ledger *l = NULL;
	int64_t id = 0, id2 = 0, left = 0, rho = 0, budget = 0;
	char msg[LEDGER_MESSAGE_MAX] = "";
	const char *r = "researcher.lt-vu-3";
	(void)state;

	assert_int_equal(ledger_open(db_path, &l), CL_OK);
	assert_int_equal(dp_epsilon_micro(0.3, 1, &rho), CL_OK);
	assert_int_equal(dp_epsilon_micro(1.0, 0, &budget), CL_OK);
	/* Three of ρ 0.3 fit in 1.0, a fourth does not. */
	for (int i = 0; i < 3; i++)
		assert_int_equal(
		    ledger_charge(l, r, "2026", LEDGER_RHO, rho, budget, &id, msg, sizeof(msg)),
		    CL_OK);
	assert_int_equal(ledger_remaining(l, r, "2026", LEDGER_RHO, budget, &left), CL_OK);
	assert_int_equal(left, 100000);
	assert_int_equal(
	    ledger_charge(l, r, "2026", LEDGER_RHO, rho, budget, &id2, msg, sizeof(msg)),
	    CL_EBUDGET);
	assert_string_equal(msg, "privacy budget exceeded: the query needs rho 0.300000, 0.100000 "
				 "of 1.000000 is left for period 2026");
	/* A pure ε charge cannot be accounted beside zCDP charges: nothing left in ε. */
	assert_int_equal(ledger_remaining(l, r, "2026", LEDGER_EPSILON, 5000000, &left), CL_OK);
	assert_int_equal(left, 0);
	assert_int_equal(
	    ledger_charge(l, r, "2026", LEDGER_EPSILON, 100000, 5000000, &id2, msg, sizeof(msg)),
	    CL_EBUDGET);
	/* A refund gives ρ back. */
	assert_int_equal(ledger_refund(l, id), CL_OK);
	assert_int_equal(ledger_remaining(l, r, "2026", LEDGER_RHO, budget, &left), CL_OK);
	assert_int_equal(left, 400000);
	/* ε 0.5 spent under the Laplace is ρ 0.125 in zCDP (ε-DP implies ε²/2-zCDP). */
	assert_int_equal(
	    ledger_charge(l, r, "2027", LEDGER_EPSILON, 500000, 2000000, &id, msg, sizeof(msg)),
	    CL_OK);
	assert_int_equal(ledger_remaining(l, r, "2027", LEDGER_RHO, budget, &left), CL_OK);
	assert_int_equal(left, 875000);
	/* ε 0.7 is 0.245 in ρ, rounded up in micro-units: 0.3 + 0.125 + 0.245 <= 1 ... */
	assert_int_equal(
	    ledger_charge(l, r, "2027", LEDGER_EPSILON, 700000, 2000000, &id, msg, sizeof(msg)),
	    CL_OK);
	assert_int_equal(
	    ledger_charge(l, r, "2027", LEDGER_RHO, rho, budget, &id, msg, sizeof(msg)), CL_OK);
	/* ... and leaves 0.33 of ρ: 0.3 more fits, then nothing. */
	assert_int_equal(ledger_remaining(l, r, "2027", LEDGER_RHO, budget, &left), CL_OK);
	assert_int_equal(left, 330000);
	assert_int_equal(
	    ledger_charge(l, r, "2027", LEDGER_RHO, 330001, budget, &id, msg, sizeof(msg)),
	    CL_EBUDGET);
	assert_int_equal(ledger_charge(l, r, "2027", 7, rho, budget, &id, msg, sizeof(msg)),
			 CL_EINVAL);
	ledger_close(l);
	/* Kept across a reopen, in its unit. */
	l = NULL;
	assert_int_equal(ledger_open(db_path, &l), CL_OK);
	assert_int_equal(ledger_remaining(l, r, "2027", LEDGER_RHO, budget, &left), CL_OK);
	assert_int_equal(left, 330000);
	ledger_close(l);
}

/* A ledger of schema 1 (ε only) is upgraded in place: its charges stay ε charges. */
static void test_schema_upgrade(void **state)
{
	struct ledger *l = NULL;
	sqlite3 *db = NULL;
	int64_t left = 0;
	(void)state;

	assert_int_equal(sqlite3_open(db_path, &db), SQLITE_OK);
	assert_int_equal(
	    sqlite3_exec(db,
			 "CREATE TABLE charges(id INTEGER PRIMARY KEY, researcher TEXT NOT NULL,"
			 " period TEXT NOT NULL, micro INTEGER NOT NULL CHECK (micro > 0),"
			 " time INTEGER NOT NULL, refunded INTEGER NOT NULL DEFAULT 0);"
			 "INSERT INTO charges(researcher, period, micro, time) VALUES ('r', '2025',"
			 " 400000, 0);"
			 "PRAGMA user_version = 1;",
			 NULL, NULL, NULL),
	    SQLITE_OK);
	sqlite3_close(db);
	assert_int_equal(ledger_open(db_path, &l), CL_OK);
	assert_int_equal(ledger_remaining(l, "r", "2025", LEDGER_EPSILON, 1000000, &left), CL_OK);
	assert_int_equal(left, 600000);
	assert_int_equal(ledger_remaining(l, "r", "2025", LEDGER_RHO, 1000000, &left), CL_OK);
	assert_int_equal(left, 920000);
	ledger_close(l);
}

/* The same question asked again: the same population, not a differencing pair. */
static void test_repeat(void **state)
{
	struct ledger *l = NULL;
	char msg[LEDGER_MESSAGE_MAX] = "";
	const char *r = "researcher.lv-rsu-4";
	int64_t y0 = cldate_days_from_civil(2025, 1, 1), y1 = cldate_days_from_civil(2026, 1, 1);
	struct ledger_population p = {"M2", "municipality", "", y0, y1, "lv-a,lv-b", 200, 1};
	(void)state;

	assert_int_equal(ledger_open(db_path, &l), CL_OK);
	assert_int_equal(ledger_differencing(l, r, &p, 5, msg, sizeof(msg)), CL_OK);
	/* Linkage of per-query tokens gives 198, then 201: a noisy answer is answered again. */
	p.size = 198;
	p.nodes = "lv-b,lv-a"; /* the same set in another order */
	assert_int_equal(ledger_differencing(l, r, &p, 5, msg, sizeof(msg)), CL_OK);
	p.size = 201;
	p.grouping = ""; /* grouping is not part of the population */
	assert_int_equal(ledger_differencing(l, r, &p, 5, msg, sizeof(msg)), CL_OK);
	/* Without noise the change would be exact: refused, naming the repeat. */
	p.noisy = 0;
	p.size = 199;
	assert_int_equal(ledger_differencing(l, r, &p, 5, msg, sizeof(msg)), CL_EDENIED);
	assert_string_equal(msg, "refused: differencing: this M2 query repeats earlier query #1 of "
				 "the same requester, whose population differs by fewer than 5 "
				 "persons, and its answer has no noise");
	/* Still a differencing pair when one node or one day is left out, noise or not. */
	p.noisy = 1;
	p.nodes = "lv-a";
	p.size = 197;
	assert_int_equal(ledger_differencing(l, r, &p, 5, msg, sizeof(msg)), CL_EDENIED);
	p.nodes = "lv-a,lv-b";
	p.to_day = y1 - 1;
	assert_int_equal(ledger_differencing(l, r, &p, 5, msg, sizeof(msg)), CL_EDENIED);
	ledger_close(l);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_budget, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_persistence, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_concurrent, setup, teardown),
	    cmocka_unit_test(test_period),
	    cmocka_unit_test_setup_teardown(test_differencing, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_rho, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_schema_upgrade, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_repeat, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
