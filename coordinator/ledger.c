#include "coordinator/ledger.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sqlite3.h>

#include "common/cl_error.h"
#include "common/cldate.h"

#define LEDGER_BUSY_MS 10000
#define LEDGER_SCHEMA  2 /* 2: charges.unit (epsilon or rho) */

struct ledger {
	sqlite3 *db;
	pthread_mutex_t lock;
};

static const char ledger_schema[] =
    "PRAGMA journal_mode=WAL;"
    "PRAGMA synchronous=FULL;"
    "CREATE TABLE IF NOT EXISTS charges(id INTEGER PRIMARY KEY, researcher TEXT NOT NULL,"
    " period TEXT NOT NULL, micro INTEGER NOT NULL CHECK (micro > 0), time INTEGER NOT NULL,"
    " refunded INTEGER NOT NULL DEFAULT 0, unit TEXT NOT NULL DEFAULT 'epsilon');"
    "CREATE INDEX IF NOT EXISTS charges_by_researcher ON charges(researcher, period);"
    "CREATE TABLE IF NOT EXISTS populations(id INTEGER PRIMARY KEY, researcher TEXT NOT NULL,"
    " measure TEXT NOT NULL, grouping TEXT NOT NULL, filters TEXT NOT NULL,"
    " from_day INTEGER NOT NULL, to_day INTEGER NOT NULL, nodes TEXT NOT NULL,"
    " size INTEGER NOT NULL, time INTEGER NOT NULL);"
    "CREATE INDEX IF NOT EXISTS populations_by_researcher"
    " ON populations(researcher, measure, filters);";

/* Printable ASCII, 1..max bytes (empty allowed when empty_ok). */
static int ledger_text_ok(const char *s, size_t max, int empty_ok)
{
	size_t n;

	if (!s)
		return 0;
	n = strnlen(s, max + 1);
	if (n > max || (n == 0 && !empty_ok))
		return 0;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] > 0x7e)
			return 0;
	return 1;
}

static void ledger_msg(char *msg, size_t msgsz, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void ledger_msg(char *msg, size_t msgsz, const char *fmt, ...)
{
	va_list ap;

	if (!msg || msgsz == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, msgsz, fmt, ap);
	va_end(ap);
}

int ledger_open(const char *path, struct ledger **out)
{
	struct ledger *l = NULL;
	sqlite3_stmt *st = NULL;
	int rc = CL_OK, fd, version;
	mode_t old_mask;

	if (!path || !out)
		return CL_EINVAL;
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0)
		return errno == EACCES ? CL_EPERM : CL_EIO;
	close(fd);
	l = calloc(1, sizeof(*l));
	if (!l)
		return CL_ENOMEM;
	if (pthread_mutex_init(&l->lock, NULL) != 0) {
		free(l);
		return CL_ENOMEM;
	}
	old_mask = umask(077); /* -wal and -shm are created 0600 */
	if (sqlite3_open_v2(path, &l->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_FULLMUTEX, NULL) !=
	    SQLITE_OK) {
		umask(old_mask);
		rc = CL_ESQL;
		goto out;
	}
	sqlite3_busy_timeout(l->db, LEDGER_BUSY_MS);
	if (sqlite3_exec(l->db, ledger_schema, NULL, NULL, NULL) != SQLITE_OK) {
		umask(old_mask);
		rc = CL_ESQL;
		goto out;
	}
	umask(old_mask);
	if (sqlite3_prepare_v2(l->db, "PRAGMA user_version", -1, &st, NULL) != SQLITE_OK ||
	    sqlite3_step(st) != SQLITE_ROW) {
		rc = CL_ESQL;
		goto out;
	}
	version = sqlite3_column_int(st, 0);
	if (version == 1 &&
	    sqlite3_exec(l->db,
			 "ALTER TABLE charges ADD COLUMN unit TEXT NOT NULL DEFAULT 'epsilon'",
			 NULL, NULL, NULL) != SQLITE_OK) {
		rc = CL_ESQL; /* schema 1 had only ε charges */
		goto out;
	}
	if (version == 0 || version == 1) {
		if (sqlite3_exec(l->db, "PRAGMA user_version = 2", NULL, NULL, NULL) != SQLITE_OK) {
			rc = CL_ESQL;
			goto out;
		}
	} else if (version != LEDGER_SCHEMA) {
		rc = CL_ESCHEMA;
		goto out;
	}
	*out = l;
	l = NULL;
out:
	sqlite3_finalize(st);
	ledger_close(l);
	return rc;
}

void ledger_close(struct ledger *l)
{
	if (!l)
		return;
	sqlite3_close(l->db);
	pthread_mutex_destroy(&l->lock);
	free(l);
}

int ledger_period(int64_t now, long long period_days, char *buf, size_t bufsz)
{
	int64_t day;
	int y = 0, m = 0, d = 0, n;

	if (!buf || bufsz == 0 || period_days < 1 || period_days > 3660)
		return CL_EINVAL;
	day = now >= 0 ? now / 86400 : -((-now + 86399) / 86400);
	if (period_days == 365 || period_days == 366) {
		cldate_civil_from_days(day, &y, &m, &d);
		n = snprintf(buf, bufsz, "%04d", y);
	} else {
		int64_t start = day >= 0 ? day / period_days * period_days
					 : -((-day + period_days - 1) / period_days) * period_days;

		n = snprintf(buf, bufsz, "d%" PRId64 "+%lld", start, period_days);
	}
	if (n < 0 || (size_t)n >= bufsz)
		return CL_EOVERFLOW;
	return CL_OK;
}

__extension__ typedef unsigned __int128 ledger_u128;

static const char *ledger_unit_name(int unit)
{
	return unit == LEDGER_RHO ? "rho" : "epsilon";
}

/*
 * What the researcher's unrefunded charges in period have spent, in unit: for ρ (zCDP) the ρ
 * charges plus ⌈ε²/2⌉ per ε charge (ε-DP implies ε²/2-zCDP, Bun & Steinke 2016, Prop. 1.4);
 * for ε the ε charges, and the whole budget as soon as any ρ charge is there (zCDP has no pure
 * ε: a period is not accounted in both).
 */
static int ledger_spent(sqlite3 *db, const char *researcher, const char *period, int unit,
			int64_t *spent)
{
	sqlite3_stmt *st = NULL;
	int rc = CL_OK, s;
	ledger_u128 sum = 0;

	if (sqlite3_prepare_v2(db,
			       "SELECT micro, unit FROM charges"
			       " WHERE researcher = ?1 AND period = ?2 AND refunded = 0",
			       -1, &st, NULL) != SQLITE_OK) {
		rc = CL_ESQL;
		goto out;
	}
	sqlite3_bind_text(st, 1, researcher, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, period, -1, SQLITE_STATIC);
	while ((s = sqlite3_step(st)) == SQLITE_ROW) {
		int64_t m = sqlite3_column_int64(st, 0);
		const char *u = (const char *)sqlite3_column_text(st, 1);
		int rho;

		if (m <= 0 || m > LEDGER_MAX_MICRO || !u ||
		    (strcmp(u, "epsilon") && strcmp(u, "rho"))) {
			rc = CL_ECORRUPT;
			goto out;
		}
		rho = !strcmp(u, "rho");
		if (unit == LEDGER_EPSILON && rho)
			sum += LEDGER_MAX_MICRO; /* nothing left in ε */
		else if (unit == LEDGER_RHO && !rho)
			sum += ((ledger_u128)m * (uint64_t)m + 2 * 1000000 - 1) / (2 * 1000000);
		else
			sum += (uint64_t)m;
		if (sum > LEDGER_MAX_MICRO)
			sum = LEDGER_MAX_MICRO; /* more than any budget: saturate */
	}
	if (s != SQLITE_DONE) {
		rc = CL_ESQL;
		goto out;
	}
	*spent = (int64_t)sum;
out:
	sqlite3_finalize(st);
	return rc;
}

static int ledger_args_ok(const char *researcher, const char *period)
{
	return ledger_text_ok(researcher, LEDGER_NAME_MAX, 0) &&
	       ledger_text_ok(period, LEDGER_PERIOD_MAX - 1, 0);
}

int ledger_charge(struct ledger *l, const char *researcher, const char *period, int unit,
		  int64_t cost_micro, int64_t budget_micro, int64_t *charge_id, char *msg,
		  size_t msgsz)
{
	sqlite3_stmt *st = NULL;
	int64_t spent = 0, left;
	int rc = CL_OK, in_tx = 0;

	if (!l || !charge_id || !ledger_args_ok(researcher, period) ||
	    (unit != LEDGER_EPSILON && unit != LEDGER_RHO) || cost_micro <= 0 ||
	    cost_micro > LEDGER_MAX_MICRO || budget_micro < 0 || budget_micro > LEDGER_MAX_MICRO)
		return CL_EINVAL;
	pthread_mutex_lock(&l->lock);
	if (sqlite3_exec(l->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK) {
		rc = CL_ESQL;
		goto out;
	}
	in_tx = 1;
	rc = ledger_spent(l->db, researcher, period, unit, &spent);
	if (rc)
		goto out;
	left = spent >= budget_micro ? 0 : budget_micro - spent;
	if (cost_micro > left) {
		ledger_msg(msg, msgsz,
			   "privacy budget exceeded: the query needs %s %" PRId64 ".%06" PRId64
			   ", %" PRId64 ".%06" PRId64 " of %" PRId64 ".%06" PRId64
			   " is left for period %s",
			   ledger_unit_name(unit), cost_micro / 1000000, cost_micro % 1000000,
			   left / 1000000, left % 1000000, budget_micro / 1000000,
			   budget_micro % 1000000, period);
		rc = CL_EBUDGET;
		goto out;
	}
	if (sqlite3_prepare_v2(l->db,
			       "INSERT INTO charges(researcher, period, micro, time, unit)"
			       " VALUES (?1, ?2, ?3, strftime('%s', 'now'), ?4)",
			       -1, &st, NULL) != SQLITE_OK) {
		rc = CL_ESQL;
		goto out;
	}
	sqlite3_bind_text(st, 1, researcher, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, period, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, cost_micro);
	sqlite3_bind_text(st, 4, ledger_unit_name(unit), -1, SQLITE_STATIC);
	if (sqlite3_step(st) != SQLITE_DONE) {
		rc = CL_ESQL;
		goto out;
	}
	if (sqlite3_exec(l->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
		rc = CL_ESQL;
		goto out;
	}
	in_tx = 0;
	*charge_id = sqlite3_last_insert_rowid(l->db);
out:
	sqlite3_finalize(st);
	if (in_tx)
		sqlite3_exec(l->db, "ROLLBACK", NULL, NULL, NULL);
	pthread_mutex_unlock(&l->lock);
	return rc;
}

int ledger_refund(struct ledger *l, int64_t charge_id)
{
	sqlite3_stmt *st = NULL;
	int rc = CL_OK;

	if (!l || charge_id <= 0)
		return CL_EINVAL;
	pthread_mutex_lock(&l->lock);
	if (sqlite3_prepare_v2(l->db,
			       "UPDATE charges SET refunded = 1 WHERE id = ?1 AND refunded = 0", -1,
			       &st, NULL) != SQLITE_OK) {
		rc = CL_ESQL;
		goto out;
	}
	sqlite3_bind_int64(st, 1, charge_id);
	if (sqlite3_step(st) != SQLITE_DONE) {
		rc = CL_ESQL;
		goto out;
	}
	if (sqlite3_changes(l->db) != 1)
		rc = CL_ENOTFOUND;
out:
	sqlite3_finalize(st);
	pthread_mutex_unlock(&l->lock);
	return rc;
}

int ledger_remaining(struct ledger *l, const char *researcher, const char *period, int unit,
		     int64_t budget_micro, int64_t *remaining_micro)
{
	int64_t spent = 0;
	int rc;

	if (!l || !remaining_micro || !ledger_args_ok(researcher, period) ||
	    (unit != LEDGER_EPSILON && unit != LEDGER_RHO) || budget_micro < 0 ||
	    budget_micro > LEDGER_MAX_MICRO)
		return CL_EINVAL;
	pthread_mutex_lock(&l->lock);
	rc = ledger_spent(l->db, researcher, period, unit, &spent);
	pthread_mutex_unlock(&l->lock);
	if (rc)
		return rc;
	*remaining_micro = spent >= budget_micro ? 0 : budget_micro - spent;
	return CL_OK;
}

/* A node set: ids split from a comma-separated list, sorted, distinct. */
struct ledger_nodes {
	char buf[LEDGER_FIELD_MAX + 1];
	const char *id[LEDGER_MAX_NODES];
	size_t n;
};

static int ledger_cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static int ledger_nodes_parse(const char *s, struct ledger_nodes *ns)
{
	char *p, *save = NULL;

	if (!ledger_text_ok(s, LEDGER_FIELD_MAX, 0))
		return CL_EINVAL;
	memcpy(ns->buf, s, strlen(s) + 1);
	ns->n = 0;
	for (p = strtok_r(ns->buf, ",", &save); p; p = strtok_r(NULL, ",", &save)) {
		if (ns->n == LEDGER_MAX_NODES)
			return CL_ELIMIT;
		ns->id[ns->n++] = p;
	}
	if (ns->n == 0)
		return CL_EINVAL;
	qsort(ns->id, ns->n, sizeof(ns->id[0]), ledger_cmp_str);
	for (size_t i = 1; i < ns->n; i++)
		if (strcmp(ns->id[i - 1], ns->id[i]) == 0)
			return CL_EINVAL;
	return CL_OK;
}

/* The canonical list: sorted ids joined by commas. */
static int ledger_nodes_join(const struct ledger_nodes *ns, char *out, size_t outsz)
{
	size_t off = 0;

	for (size_t i = 0; i < ns->n; i++) {
		size_t len = strlen(ns->id[i]);

		if (off + len + 2 > outsz)
			return CL_ELIMIT;
		if (i)
			out[off++] = ',';
		memcpy(out + off, ns->id[i], len);
		off += len;
	}
	out[off] = '\0';
	return CL_OK;
}

/* Whether every id of a is in b (both sorted). */
static int ledger_nodes_subset(const struct ledger_nodes *a, const struct ledger_nodes *b)
{
	size_t j = 0;

	for (size_t i = 0; i < a->n; i++) {
		while (j < b->n && strcmp(b->id[j], a->id[i]) < 0)
			j++;
		if (j == b->n || strcmp(b->id[j], a->id[i]) != 0)
			return 0;
	}
	return 1;
}

int ledger_differencing(struct ledger *l, const char *researcher,
			const struct ledger_population *pop, long long threshold, char *msg,
			size_t msgsz)
{
	struct ledger_nodes *mine = NULL, *theirs = NULL;
	char canon[LEDGER_FIELD_MAX + 1];
	sqlite3_stmt *st = NULL;
	int rc = CL_OK, in_tx = 0, locked = 0, s;

	if (!l || !pop || !ledger_text_ok(researcher, LEDGER_NAME_MAX, 0) || threshold < 3 ||
	    !ledger_text_ok(pop->measure, LEDGER_FIELD_MAX, 0) ||
	    !ledger_text_ok(pop->grouping, LEDGER_FIELD_MAX, 1) ||
	    !ledger_text_ok(pop->filters, LEDGER_FIELD_MAX, 1) || pop->from_day >= pop->to_day ||
	    pop->size < 0)
		return CL_EINVAL;
	mine = calloc(1, sizeof(*mine));
	theirs = calloc(1, sizeof(*theirs));
	if (!mine || !theirs) {
		rc = CL_ENOMEM;
		goto out;
	}
	rc = ledger_nodes_parse(pop->nodes, mine);
	if (rc)
		goto out;
	rc = ledger_nodes_join(mine, canon, sizeof(canon));
	if (rc)
		goto out;
	pthread_mutex_lock(&l->lock);
	locked = 1;
	if (sqlite3_exec(l->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK) {
		rc = CL_ESQL;
		goto out;
	}
	in_tx = 1;
	if (sqlite3_prepare_v2(l->db,
			       "SELECT id, from_day, to_day, nodes, size FROM populations"
			       " WHERE researcher = ?1 AND measure = ?2 AND filters = ?3"
			       " AND abs(size - ?4) BETWEEN 1 AND ?5 - 1 ORDER BY id",
			       -1, &st, NULL) != SQLITE_OK) {
		rc = CL_ESQL;
		goto out;
	}
	sqlite3_bind_text(st, 1, researcher, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, pop->measure, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, pop->filters, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 4, pop->size);
	sqlite3_bind_int64(st, 5, threshold);
	while ((s = sqlite3_step(st)) == SQLITE_ROW) {
		int64_t id = sqlite3_column_int64(st, 0);
		int64_t from = sqlite3_column_int64(st, 1), to = sqlite3_column_int64(st, 2);
		const char *nodes = (const char *)sqlite3_column_text(st, 3);
		int inside, holds;

		if (!nodes || ledger_nodes_parse(nodes, theirs) != CL_OK) {
			rc = CL_ECORRUPT;
			goto out;
		}
		/*
		 * The same question (equal period and node set; measure and filters are equal
		 * by the query): the same population, whose size may differ by linkage of
		 * per-query tokens or by records added since. With noise that is a fresh
		 * release charged again; without noise the change itself would be disclosed.
		 */
		if (from == pop->from_day && to == pop->to_day && !strcmp(nodes, canon)) {
			if (pop->noisy)
				continue;
			ledger_msg(msg, msgsz,
				   "refused: differencing: this %s query repeats earlier query "
				   "#%" PRId64 " of the same requester, whose population differs "
				   "by fewer than %lld persons, and its answer has no noise",
				   pop->measure, id, threshold);
			rc = CL_EDENIED;
			goto out;
		}
		/* The new population inside the earlier one, or holding it. */
		inside =
		    from <= pop->from_day && pop->to_day <= to && ledger_nodes_subset(mine, theirs);
		holds =
		    pop->from_day <= from && to <= pop->to_day && ledger_nodes_subset(theirs, mine);
		if (inside || holds) {
			ledger_msg(msg, msgsz,
				   "refused: differencing: the population of this %s query differs "
				   "by fewer than %lld persons from that of earlier query #%" PRId64
				   " of the same requester",
				   pop->measure, threshold, id);
			rc = CL_EDENIED;
			goto out;
		}
	}
	if (s != SQLITE_DONE) {
		rc = CL_ESQL;
		goto out;
	}
	sqlite3_finalize(st);
	st = NULL;
	if (sqlite3_prepare_v2(l->db,
			       "INSERT INTO populations(researcher, measure, grouping, filters,"
			       " from_day, to_day, nodes, size, time)"
			       " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, strftime('%s', 'now'))",
			       -1, &st, NULL) != SQLITE_OK) {
		rc = CL_ESQL;
		goto out;
	}
	sqlite3_bind_text(st, 1, researcher, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, pop->measure, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, pop->grouping, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, pop->filters, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 5, pop->from_day);
	sqlite3_bind_int64(st, 6, pop->to_day);
	sqlite3_bind_text(st, 7, canon, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 8, pop->size);
	if (sqlite3_step(st) != SQLITE_DONE) {
		rc = CL_ESQL;
		goto out;
	}
	if (sqlite3_exec(l->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
		rc = CL_ESQL;
		goto out;
	}
	in_tx = 0;
out:
	sqlite3_finalize(st);
	if (in_tx)
		sqlite3_exec(l->db, "ROLLBACK", NULL, NULL, NULL);
	if (locked)
		pthread_mutex_unlock(&l->lock);
	free(mine);
	free(theirs);
	return rc;
}
