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
#include "coordinator/cases.h"

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

int synthfed_col(const struct csv_record *h, const char *name)
{
	size_t i;

	for (i = 0; i < h->nfields; i++)
		if (strcmp(h->fields[i], name) == 0)
			return (int)i;
	return -1;
}

const char *synthfed_field(const struct csv_record *r, int c)
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
	c_ref = synthfed_col(&h, "person_ref");
	c_nid = synthfed_col(&h, "national_id");
	c_cty = synthfed_col(&h, "id_country");
	c_fam = synthfed_col(&h, "family_name");
	c_birth = synthfed_col(&h, "birth_date");
	c_sex = synthfed_col(&h, "sex");
	c_share = synthfed_col(&h, "sharing");
	assert_true(c_ref >= 0 && c_nid >= 0 && c_cty >= 0 && c_fam >= 0 && c_birth >= 0 &&
		    c_share >= 0);
	while (csv_next(r, &x) == 1) {
		struct synthfed_record rec = {0};
		struct sf_row p = {0};
		const char *birth = synthfed_field(&x, c_birth);

		snprintf(key, sizeof key, "%s,%s", agency, synthfed_field(&x, c_ref));
		if (!synthfed_map_get(links, key, &rec.person))
			rec.person = (*next_id)++;
		if (birth[0])
			assert_int_equal(cldate_parse_birth(birth, &p.birth, NULL), 0);
		rec.node = node;
		rec.agency_id = agency;
		rec.agency_type = type;
		rec.municipality = muni;
		rec.person_ref = synthfed_field(&x, c_ref);
		rec.sex = synthfed_field(&x, c_sex);
		rec.sharing = synthfed_field(&x, c_share);
		rec.linkable =
		    sf_usable_code(synthfed_field(&x, c_nid), synthfed_field(&x, c_cty)) ||
		    (synthfed_field(&x, c_fam)[0] && birth[0]);
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
	c_pref = synthfed_col(&h, "person_ref");
	c_type = synthfed_col(&h, "event_type");
	c_at = synthfed_col(&h, "occurred_at");
	c_role = synthfed_col(&h, "role");
	c_risk = synthfed_col(&h, "risk_level");
	c_thr = synthfed_col(&h, "child_threat_level");
	c_to = synthfed_col(&h, "referral_to");
	c_muni = synthfed_col(&h, "municipality");
	assert_true(c_pref >= 0 && c_type >= 0 && c_at >= 0 && c_role >= 0);
	while (csv_next(r, &x) == 1) {
		struct measures_event e = {0};
		const char *thr = synthfed_field(&x, c_thr);
		uint32_t row = 0;
		int64_t t;

		assert_true(synthfed_map_get(&refs, synthfed_field(&x, c_pref), &row));
		assert_int_equal(cldate_parse_time(synthfed_field(&x, c_at), &t, NULL), 0);
		e.event_type = synthfed_field(&x, c_type);
		e.occurred_at = t;
		e.role = synthfed_field(&x, c_role);
		e.municipality = synthfed_field(&x, c_muni);
		e.risk_level = synthfed_field(&x, c_risk);
		e.child_threat_level = thr[0] ? atoi(thr) : -1;
		e.referral_to = synthfed_field(&x, c_to);
		e.age_years = sf_age_at(&rows[row].birth, t);
		sink->event(sink->ctx, rows[row].rec, &e);
	}
	csv_close(r);
	free(rows);
	synthfed_map_free(&refs);
}

/* Appends agency_id as node number node (the next one, at most 64). */
static void sf_agencies_add(struct synthfed_agencies *a, uint32_t node, const char *agency_id)
{
	int len;

	assert_true(node == a->n && a->n < sizeof a->id / sizeof a->id[0]);
	len = snprintf(a->id[a->n++], sizeof a->id[0], "%s", agency_id);
	assert_true(len >= 0 && (size_t)len < sizeof a->id[0]);
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
	c_ag = synthfed_col(&x, "agency_id");
	c_ref = synthfed_col(&x, "person_ref");
	c_tid = synthfed_col(&x, "true_person_id");
	assert_true(c_ag >= 0 && c_ref >= 0 && c_tid >= 0);
	while (csv_next(r, &x) == 1) {
		uint32_t id;

		if (!synthfed_map_get(&ids, synthfed_field(&x, c_tid), &id)) {
			id = next_id++;
			synthfed_map_put(&ids, synthfed_field(&x, c_tid), id);
		}
		snprintf(key, sizeof key, "%s,%s", synthfed_field(&x, c_ag),
			 synthfed_field(&x, c_ref));
		synthfed_map_put(&links, key, id);
	}
	csv_close(r);

	snprintf(path, sizeof path, "%s/federation.csv", dir);
	assert_int_equal(csv_open(path, &r), 0);
	assert_int_equal(csv_next(r, &x), 1);
	c_ag = synthfed_col(&x, "agency_id");
	c_type = synthfed_col(&x, "agency_type");
	c_muni = synthfed_col(&x, "municipality");
	assert_true(c_ag >= 0 && c_type >= 0 && c_muni >= 0);
	while (csv_next(r, &x) == 1) {
		char ag[256], ty[64], mu[256];

		snprintf(ag, sizeof ag, "%s", synthfed_field(&x, c_ag));
		snprintf(ty, sizeof ty, "%s", synthfed_field(&x, c_type));
		snprintf(mu, sizeof mu, "%s", synthfed_field(&x, c_muni));
		if (sink->agencies)
			sf_agencies_add(sink->agencies, node, ag);
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

/* ---- lines ---- */

void synthfed_rows_add(struct synthfed_rows *r, const char *line)
{
	if (r->n == r->cap) {
		r->cap = r->cap ? r->cap * 2 : 256;
		r->line = realloc(r->line, r->cap * sizeof *r->line);
		assert_non_null(r->line);
	}
	r->line[r->n] = strdup(line);
	assert_non_null(r->line[r->n]);
	r->n++;
}

int synthfed_collect(void *ctx, const char *const *cols, size_t ncols)
{
	struct synthfed_rows *r = ctx;
	char buf[1024];
	size_t i, len;

	len = (size_t)snprintf(buf, sizeof buf, "%s", r->prefix);
	for (i = 0; i < ncols && len < sizeof buf; i++)
		len += (size_t)snprintf(buf + len, sizeof buf - len, "%s%s", i ? "," : "", cols[i]);
	assert_true(len < sizeof buf);
	synthfed_rows_add(r, buf);
	return 0;
}

int synthfed_collect_m8(void *ctx, const char *const *cols, size_t ncols)
{
	char text[CASES_HANDLE_MAX + 1];
	const char *c[3];
	size_t i, n = strlen(cols[0]) / 2;
	unsigned v;

	assert_int_equal(ncols, 3);
	assert_true(n <= CASES_HANDLE_MAX);
	for (i = 0; i < n; i++) {
		assert_int_equal(sscanf(cols[0] + 2 * i, "%2x", &v), 1);
		text[i] = (char)v;
	}
	text[n] = '\0';
	c[0] = text;
	c[1] = cols[1];
	c[2] = cols[2];
	return synthfed_collect(ctx, c, 3);
}

void synthfed_rows_free(struct synthfed_rows *r)
{
	size_t i;

	for (i = 0; i < r->n; i++)
		free(r->line[i]);
	free(r->line);
	memset(r, 0, sizeof *r);
}

int synthfed_read_lines(const char *path, struct synthfed_rows *r)
{
	FILE *f = fopen(path, "r");
	char line[2048];

	memset(r, 0, sizeof *r);
	if (!f)
		return 0;
	assert_non_null(fgets(line, sizeof line, f));
	while (fgets(line, sizeof line, f)) {
		line[strcspn(line, "\r\n")] = '\0';
		synthfed_rows_add(r, line);
	}
	fclose(f);
	return 1;
}

static int sf_cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

void synthfed_compare_sets(struct synthfed_rows *a, struct synthfed_rows *b, const char *what,
			   int show, size_t *same, size_t *only_a, size_t *only_b)
{
	size_t i = 0, j = 0, s = 0, oa = 0, ob = 0;

	qsort(a->line, a->n, sizeof *a->line, sf_cmp_str);
	qsort(b->line, b->n, sizeof *b->line, sf_cmp_str);
	while (i < a->n || j < b->n) {
		int k = i == a->n ? 1 : j == b->n ? -1 : strcmp(a->line[i], b->line[j]);

		if (k == 0) {
			s++, i++, j++;
			continue;
		}
		if (oa + ob < (size_t)show)
			print_message("  %s: %s %s\n", what, k < 0 ? "engine only" : "truth only ",
				      k < 0 ? a->line[i] : b->line[j]);
		if (k < 0)
			oa++, i++;
		else
			ob++, j++;
	}
	*same = s;
	*only_a = oa;
	*only_b = ob;
}

static int sf_cmp_kv(const void *a, const void *b)
{
	return strcmp(((const struct synthfed_kv *)a)->key, ((const struct synthfed_kv *)b)->key);
}

struct synthfed_kv *synthfed_split_lines(char **lines, size_t n)
{
	struct synthfed_kv *kv = calloc(n ? n : 1, sizeof *kv);
	size_t i;

	assert_non_null(kv);
	for (i = 0; i < n; i++) {
		char *comma = strrchr(lines[i], ',');

		assert_non_null(comma);
		*comma = 0;
		kv[i].key = lines[i];
		kv[i].val = comma + 1;
	}
	qsort(kv, n, sizeof *kv, sf_cmp_kv);
	return kv;
}

/*
 * An age line: M1's victims_age_* and M6's cells by age band. The linked person's birth date
 * is not on the wire (only each event's age_years, docs/measures-engine.md "Ages"), so the
 * engine can place a person whose records disagree about the birth date in another band than
 * the reference, which reads every row's birth date. Counts in those lines may differ; every
 * other line, and every total over the age bands, must be equal.
 */
static int sf_age_line(const char *key)
{
	const char *m6 = strstr(key, ",children");

	if (strstr(key, ",victims_age_"))
		return 1;
	/* M6: from,to,age_band,... with age_band not "*" */
	if (m6) {
		const char *p = strchr(key, ',');

		p = p ? strchr(p + 1, ',') : NULL;
		return p && p[1] != '*';
	}
	return 0;
}

size_t synthfed_compare_file(struct synthfed_rows *got, const char *file, uint64_t *moved,
			     int verbose)
{
	struct synthfed_rows want;
	struct synthfed_kv *g, *w;
	size_t i = 0, j = 0, diff = 0;

	assert_true(synthfed_read_lines(file, &want));
	g = synthfed_split_lines(got->line, got->n);
	w = synthfed_split_lines(want.line, want.n);
	while (i < got->n || j < want.n) {
		int c = i == got->n ? 1 : j == want.n ? -1 : strcmp(g[i].key, w[j].key);

		if (c == 0 && strcmp(g[i].val, w[j].val) == 0) {
			i++, j++;
			continue;
		}
		if (c == 0 && sf_age_line(g[i].key)) {
			long long a = atoll(g[i].val), b = atoll(w[j].val);

			if (verbose)
				print_message("  age line: %s engine %s truth %s\n", g[i].key,
					      g[i].val, w[j].val);
			*moved += (uint64_t)(a > b ? a - b : b - a);
			i++, j++;
			continue;
		}
		if (diff++ < 12) {
			if (c == 0)
				print_message("  %s: engine %s, truth %s\n", g[i].key, g[i].val,
					      w[j].val);
			else
				print_message(
				    "  %s %s,%s\n", c < 0 ? "engine only:" : "truth only: ",
				    c < 0 ? g[i].key : w[j].key, c < 0 ? g[i].val : w[j].val);
		}
		if (c <= 0)
			i++;
		if (c >= 0)
			j++;
	}
	if (diff && verbose)
		print_message("%s: %zu differing lines (%zu engine, %zu truth)\n", file, diff,
			      got->n, want.n);
	free(g);
	free(w);
	synthfed_rows_free(&want);
	return diff;
}

uint64_t synthfed_sum_lines(const struct synthfed_rows *r, const char *prefix, const char *infix)
{
	uint64_t s = 0;
	size_t i;

	for (i = 0; i < r->n; i++)
		if (strncmp(r->line[i], prefix, strlen(prefix)) == 0 && strstr(r->line[i], infix))
			s += (uint64_t)atoll(strrchr(r->line[i], ',') + 1);
	return s;
}

int64_t synthfed_parse_day(const char *s)
{
	int64_t t;

	assert_int_equal(cldate_parse_time(s, &t, NULL), 0);
	return t;
}

void synthfed_measures_record(const struct synthfed_record *r, uint32_t person,
			      struct measures_record *mr)
{
	memset(mr, 0, sizeof *mr);
	mr->node = r->node;
	mr->agency_id = r->agency_id;
	mr->agency_type = r->agency_type;
	mr->node_municipality = r->municipality;
	mr->sex = r->sex[0] ? r->sex[0] : 'U';
	mr->restricted = strcmp(r->sharing, "restricted") == 0;
	mr->linkable = r->linkable;
	mr->person = person;
}

void synthfed_cases_record(const struct synthfed_record *r, uint32_t person,
			   struct cases_record *cr)
{
	memset(cr, 0, sizeof *cr);
	cr->node = r->node;
	cr->agency_id = r->agency_id;
	cr->agency_type = r->agency_type;
	cr->node_municipality = r->municipality;
	cr->restricted = strcmp(r->sharing, "restricted") == 0;
	cr->person = person;
	cr->handle = (const unsigned char *)r->person_ref; /* the ref stands for a handle */
	cr->handle_len = strlen(r->person_ref);
}
