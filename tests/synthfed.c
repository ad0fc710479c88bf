/* synthfed — a `caselink synth` federation as test ground truth (see synthfed.h). */
#include "tests/synthfed.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/csv.h"
#include "common/pcode.h"

static uint64_t sf_hash(const char *s)
{
	uint64_t h = 1469598103934665603ull;

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ull;
	return h;
}

static void sf_map_grow(struct synthfed_map *m)
{
	struct synthfed_map n = {0};
	size_t i;

	n.cap = m->cap ? m->cap * 2 : 1024;
	n.key = calloc(n.cap, sizeof *n.key);
	n.val = calloc(n.cap, sizeof *n.val);
	assert_non_null(n.key);
	assert_non_null(n.val);
	for (i = 0; i < m->cap; i++)
		if (m->key[i]) {
			synthfed_map_put(&n, m->key[i], m->val[i]);
			free(m->key[i]);
		}
	free(m->key);
	free(m->val);
	*m = n;
}

int synthfed_map_get(const struct synthfed_map *m, const char *k, uint32_t *v)
{
	size_t i;

	if (!m->cap)
		return 0;
	for (i = sf_hash(k) & (m->cap - 1); m->key[i]; i = (i + 1) & (m->cap - 1))
		if (strcmp(m->key[i], k) == 0) {
			*v = m->val[i];
			return 1;
		}
	return 0;
}

void synthfed_map_put(struct synthfed_map *m, const char *k, uint32_t v)
{
	size_t i;

	if ((m->n + 1) * 2 > m->cap)
		sf_map_grow(m);
	for (i = sf_hash(k) & (m->cap - 1); m->key[i]; i = (i + 1) & (m->cap - 1))
		if (strcmp(m->key[i], k) == 0) {
			m->val[i] = v;
			return;
		}
	m->key[i] = strdup(k);
	assert_non_null(m->key[i]);
	m->val[i] = v;
	m->n++;
}

void synthfed_map_free(struct synthfed_map *m)
{
	size_t i;

	for (i = 0; i < m->cap; i++)
		free(m->key[i]);
	free(m->key);
	free(m->val);
	memset(m, 0, sizeof *m);
}

/* Column index of name in a header record; -1 when absent. */
static int sf_col(const struct csv_record *h, const char *name)
{
	size_t i;

	for (i = 0; i < h->nfields; i++)
		if (strcmp(h->fields[i], name) == 0)
			return (int)i;
	return -1;
}

static const char *sf_field(const struct csv_record *r, int c)
{
	return c >= 0 && (size_t)c < r->nfields ? r->fields[c] : "";
}

/* Age at time t from a birth date, the way a node computes it; -1 when unknown. */
static int sf_age_at(const struct cldate_birth *b, int64_t t)
{
	int y, m, d, age;
	int64_t days = t >= 0 ? t / 86400 : -((-t + 86399) / 86400);

	if (b->year == 0)
		return -1;
	cldate_civil_from_days(days, &y, &m, &d);
	age = y - b->year;
	if (b->month && (m < b->month || (m == b->month && d < b->day)))
		age--;
	return age < 0 ? -1 : age;
}

static int sf_usable_code(const char *code, const char *country)
{
	char norm[PCODE_MAX];
	enum pcode_status st;

	if (!code[0] || !country[0])
		return 0;
	if (pcode_check(country, code, norm, &st, NULL) != 0)
		return 0;
	return st != PCODE_INVALID;
}

/* A person row as the loader keeps it: the caller's record index and the birth date. */
struct sf_row {
	size_t rec;
	struct cldate_birth birth;
};

static void sf_load_agency(const struct synthfed_sink *sink, const char *dir, uint32_t node,
			   const char *agency, const char *type, const char *muni,
			   const struct synthfed_map *links, uint32_t *next_id)
{
	struct csv_reader *r = NULL;
	struct csv_record h, x;
	struct synthfed_map refs = {0};
	struct sf_row *rows = NULL;
	size_t nrows = 0, cap = 0;
	char path[1024], key[600];
	int c_ref, c_nid, c_cty, c_fam, c_birth, c_sex, c_share;
	int c_pref, c_type, c_at, c_role, c_risk, c_thr, c_to, c_muni;

	snprintf(path, sizeof path, "%s/agencies/%s/persons.csv", dir, agency);
	assert_int_equal(csv_open(path, &r), 0);
	assert_int_equal(csv_next(r, &x), 1);
	h = x;
	c_ref = sf_col(&h, "person_ref");
	c_nid = sf_col(&h, "national_id");
	c_cty = sf_col(&h, "id_country");
	c_fam = sf_col(&h, "family_name");
	c_birth = sf_col(&h, "birth_date");
	c_sex = sf_col(&h, "sex");
	c_share = sf_col(&h, "sharing");
	assert_true(c_ref >= 0 && c_nid >= 0 && c_cty >= 0 && c_fam >= 0 && c_birth >= 0 &&
		    c_share >= 0);
	while (csv_next(r, &x) == 1) {
		struct synthfed_record rec = {0};
		struct sf_row p = {0};
		const char *birth = sf_field(&x, c_birth);

		snprintf(key, sizeof key, "%s,%s", agency, sf_field(&x, c_ref));
		if (!synthfed_map_get(links, key, &rec.person))
			rec.person = (*next_id)++;
		if (birth[0])
			assert_int_equal(cldate_parse_birth(birth, &p.birth, NULL), 0);
		rec.node = node;
		rec.agency_id = agency;
		rec.agency_type = type;
		rec.municipality = muni;
		rec.person_ref = sf_field(&x, c_ref);
		rec.sex = sf_field(&x, c_sex);
		rec.sharing = sf_field(&x, c_share);
		rec.linkable = sf_usable_code(sf_field(&x, c_nid), sf_field(&x, c_cty)) ||
			       (sf_field(&x, c_fam)[0] && birth[0]);
		rec.birth = p.birth;
		p.rec = sink->record(sink->ctx, &rec);
		if (nrows == cap) {
			cap = cap ? cap * 2 : 256;
			rows = realloc(rows, cap * sizeof *rows);
			assert_non_null(rows);
		}
		synthfed_map_put(&refs, rec.person_ref, (uint32_t)nrows);
		rows[nrows++] = p;
	}
	csv_close(r);

	snprintf(path, sizeof path, "%s/agencies/%s/events.csv", dir, agency);
	assert_int_equal(csv_open(path, &r), 0);
	assert_int_equal(csv_next(r, &x), 1);
	h = x;
	c_pref = sf_col(&h, "person_ref");
	c_type = sf_col(&h, "event_type");
	c_at = sf_col(&h, "occurred_at");
	c_role = sf_col(&h, "role");
	c_risk = sf_col(&h, "risk_level");
	c_thr = sf_col(&h, "child_threat_level");
	c_to = sf_col(&h, "referral_to");
	c_muni = sf_col(&h, "municipality");
	assert_true(c_pref >= 0 && c_type >= 0 && c_at >= 0 && c_role >= 0);
	while (csv_next(r, &x) == 1) {
		struct measures_event e = {0};
		const char *thr = sf_field(&x, c_thr);
		uint32_t row;
		int64_t t;

		assert_true(synthfed_map_get(&refs, sf_field(&x, c_pref), &row));
		assert_int_equal(cldate_parse_time(sf_field(&x, c_at), &t, NULL), 0);
		e.event_type = sf_field(&x, c_type);
		e.occurred_at = t;
		e.role = sf_field(&x, c_role);
		e.municipality = sf_field(&x, c_muni);
		e.risk_level = sf_field(&x, c_risk);
		e.child_threat_level = thr[0] ? atoi(thr) : -1;
		e.referral_to = sf_field(&x, c_to);
		e.age_years = sf_age_at(&rows[row].birth, t);
		sink->event(sink->ctx, rows[row].rec, &e);
	}
	csv_close(r);
	free(rows);
	synthfed_map_free(&refs);
}

void synthfed_load(const char *dir, const struct synthfed_sink *sink)
{
	struct csv_reader *r = NULL;
	struct csv_record x;
	struct synthfed_map links = {0}, ids = {0};
	uint32_t next_id = 0, node = 0;
	char path[1024], key[600];
	int c_ag, c_ref, c_tid, c_type, c_muni;

	snprintf(path, sizeof path, "%s/truth/links.csv", dir);
	assert_int_equal(csv_open(path, &r), 0);
	assert_int_equal(csv_next(r, &x), 1);
	c_ag = sf_col(&x, "agency_id");
	c_ref = sf_col(&x, "person_ref");
	c_tid = sf_col(&x, "true_person_id");
	assert_true(c_ag >= 0 && c_ref >= 0 && c_tid >= 0);
	while (csv_next(r, &x) == 1) {
		uint32_t id;

		if (!synthfed_map_get(&ids, sf_field(&x, c_tid), &id)) {
			id = next_id++;
			synthfed_map_put(&ids, sf_field(&x, c_tid), id);
		}
		snprintf(key, sizeof key, "%s,%s", sf_field(&x, c_ag), sf_field(&x, c_ref));
		synthfed_map_put(&links, key, id);
	}
	csv_close(r);

	snprintf(path, sizeof path, "%s/federation.csv", dir);
	assert_int_equal(csv_open(path, &r), 0);
	assert_int_equal(csv_next(r, &x), 1);
	c_ag = sf_col(&x, "agency_id");
	c_type = sf_col(&x, "agency_type");
	c_muni = sf_col(&x, "municipality");
	assert_true(c_ag >= 0 && c_type >= 0 && c_muni >= 0);
	while (csv_next(r, &x) == 1) {
		char ag[256], ty[64], mu[256];

		snprintf(ag, sizeof ag, "%s", sf_field(&x, c_ag));
		snprintf(ty, sizeof ty, "%s", sf_field(&x, c_type));
		snprintf(mu, sizeof mu, "%s", sf_field(&x, c_muni));
		if (sink->agency)
			sink->agency(sink->ctx, node, ag, ty, mu);
		sf_load_agency(sink, dir, node++, ag, ty, mu, &links, &next_id);
	}
	csv_close(r);
	synthfed_map_free(&links);
	synthfed_map_free(&ids);
}

int synthfed_shell(const char *cmd)
{
	int rc = system(cmd);

	if (rc != 0)
		print_message("command failed (%d): %s\n", rc, cmd);
	return rc;
}

void synthfed_generate(const char *name, const char *args, char *dir, size_t dir_size)
{
	const char *bin = getenv("CASELINK_BIN"), *tmp = getenv("CASELINK_TMP");
	char cmd[2048];
	int n;

	if (!bin || !tmp) {
		print_message("CASELINK_BIN/CASELINK_TMP not set: run through ctest\n");
		skip();
	}
	n = snprintf(dir, dir_size, "%s/%s", tmp, name);
	assert_true(n > 0 && (size_t)n < dir_size);
	n = snprintf(cmd, sizeof cmd, "rm -rf '%s' && '%s/caselink' synth --out '%s' %s >/dev/null",
		     dir, bin, dir, args);
	assert_true(n > 0 && (size_t)n < sizeof cmd);
	assert_int_equal(synthfed_shell(cmd), 0);
}

void synthfed_period(const char *dir, char *from, char *to, char *asof)
{
	char path[1024], line[256];
	FILE *f;

	snprintf(path, sizeof path, "%s/truth/expected/period.csv", dir);
	f = fopen(path, "r");
	assert_non_null(f);
	assert_non_null(fgets(line, sizeof line, f));
	assert_non_null(fgets(line, sizeof line, f));
	fclose(f);
	assert_int_equal(sscanf(line, "%10[0-9-],%10[0-9-],%10[0-9-]", from, to, asof), 3);
}
