/*
 * truth — the reference engine for measures M1–M8. It reads the agency CSVs
 * with its own small RFC 4180 reader and its own date parser, so that it shares
 * no code with the node, the importer or the coordinator it is compared with.
 * Memory: about 48 bytes per event and 48 bytes per person row plus the
 * person_ref strings (see docs/ground-truth.md).
 */
#undef _DEFAULT_SOURCE
#define _GNU_SOURCE /* qsort_r */
#include "tools/truth.h"

#include <errno.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/cl_error.h"
#include "tools/cli.h"
#include "tools/synth.h"

#define TRUTH_DAY	 86400LL
#define TRUTH_HOUR	 3600LL
#define TRUTH_MAX_FIELDS 64
#define TRUTH_MAX_LINE	 (64u * 1024u)
#define TRUTH_PATH_MAX	 1024
#define TRUTH_MAX_MUNIS	 4096
#define TRUTH_MAX_AG	 65535

/* ---- vocabulary -------------------------------------------------------- */
/* Deliberately not common/vocab: this engine stays independent of the code it checks. */

static const char *const truth_agtypes[] = {
    "police",  "municipal_police", "social_services", "child_rights", "health",	  "ngo",
    "shelter", "probation",	   "prosecutor",      "court",	      "education"};
#define TRUTH_NAGTYPES 11

enum { CAT_INCIDENT, CAT_ASSESS, CAT_REFERRAL, CAT_SUPPORT, CAT_OTHER };
static const struct {
	const char *name;
	int cat;
} truth_evtypes[] = {
    {"police_callout", CAT_INCIDENT},
    {"crime_report", CAT_INCIDENT},
    {"medical_injury", CAT_INCIDENT},
    {"ngo_disclosure", CAT_INCIDENT},
    {"risk_assessment", CAT_ASSESS},
    {"child_threat_assessment", CAT_ASSESS},
    {"referral_sent", CAT_REFERRAL},
    {"referral_received", CAT_REFERRAL},
    {"intake", CAT_SUPPORT},
    {"counselling", CAT_SUPPORT},
    {"legal_aid", CAT_SUPPORT},
    {"psychologist", CAT_SUPPORT},
    {"crisis_intervention", CAT_SUPPORT},
    {"shelter_admission", CAT_SUPPORT},
    {"shelter_exit", CAT_SUPPORT},
    {"child_welfare_case_opened", CAT_SUPPORT},
    {"protection_order_issued", CAT_OTHER},
    {"protection_order_breach", CAT_OTHER},
    {"separation_order", CAT_OTHER},
    {"criminal_case_opened", CAT_OTHER},
    {"court_decision", CAT_OTHER},
    {"conviction", CAT_OTHER},
    {"programme_enrolled", CAT_OTHER},
    {"programme_completed", CAT_OTHER},
    {"programme_dropped", CAT_OTHER},
    {"marac_case_review", CAT_OTHER},
};
#define TRUTH_NEVTYPES 26
#define EVT_CALLOUT    0
#define EVT_CRIME      1
#define EVT_REF_SENT   6
#define EVT_REF_RECV   7
#define EVT_INTAKE     8
#define EVT_SUPPORT_LO 8
#define EVT_SUPPORT_HI 15
#define EVT_BREACH     17
#define EVT_PROG_DONE  23
#define EVT_PROG_DROP  24
#define TRUTH_NSUPPORT (EVT_SUPPORT_HI - EVT_SUPPORT_LO + 1)

static const char *const truth_roles[] = {"victim", "perpetrator", "child"};
enum { ROLE_VICTIM, ROLE_PERP, ROLE_CHILD };
static const char *const truth_risks[] = {"none", "standard", "medium", "high"};
#define RISK_HIGH 3

/* ---- data -------------------------------------------------------------- */

struct truth_agency {
	char id[128];
	int type;
	int muni;
};

struct truth_row {
	size_t ref; /* offset of the person_ref in the arena */
	uint32_t agency, person;
	int16_t by;
	int8_t bm, bd; /* 0 when unknown; by 0 when no birth date */
	char sex;      /* F M X U */
	uint8_t restricted, unlinkable, seen;
};

struct truth_ev {
	int64_t t;
	uint32_t row, person, seq;
	uint16_t agency, muni;
	uint8_t type, role;
	int8_t risk, ctl, refto;
};

struct truth_pers {
	char sex;
	int16_t by;
	int8_t bm, bd;
};

struct truth_map {
	uint32_t *slot; /* entry + 1, 0 empty */
	size_t cap;
	uint32_t *val;
	size_t *key; /* arena offsets */
	size_t n, ncap;
};

struct truth_db {
	struct truth_agency *ag;
	size_t nag;
	char *munis[TRUTH_MAX_MUNIS];
	size_t nmunis;
	char *arena;
	size_t alen, acap;
	struct truth_map rowmap, pmap;
	struct truth_row *rows;
	size_t nrows, rcap;
	size_t npers;
	struct truth_pers *pers;
	struct truth_ev *ev;
	size_t nev, ecap;
	size_t *pstart; /* events of person p are ev[pstart[p] .. pstart[p+1]) */
	int64_t from, to, asof_end;
	char sfrom[16], sto[16], sasof[16];
};

/* ---- small helpers ----------------------------------------------------- */

static int64_t truth_days_from_civil(int y, int m, int d)
{
	int64_t era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

static void truth_civil(int64_t t, int *y, int *m, int *d)
{
	int64_t z = (t >= 0 ? t / TRUTH_DAY : (t - TRUTH_DAY + 1) / TRUTH_DAY) + 719468;
	int64_t era = (z >= 0 ? z : z - 146096) / 146097, doe = z - era * 146097;
	int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100), mp = (5 * doy + 2) / 153;

	*d = (int)(doy - (153 * mp + 2) / 5 + 1);
	*m = (int)(mp < 10 ? mp + 3 : mp - 9);
	*y = (int)(yoe + era * 400 + (*m <= 2));
}

static int truth_mdays(int y, int m)
{
	static const int d[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};

	return m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0) ? 29 : d[m - 1];
}

static int truth_digits(const char *s, int n, int *v)
{
	int i, x = 0;

	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		x = x * 10 + (s[i] - '0');
	}
	*v = x;
	return 0;
}

/* YYYY-MM-DD into days since the epoch. */
static int truth_parse_day(const char *s, int64_t *days)
{
	int y, m, d;

	if (strlen(s) != 10 || truth_digits(s, 4, &y) || s[4] != '-' ||
	    truth_digits(s + 5, 2, &m) || s[7] != '-' || truth_digits(s + 8, 2, &d) || m < 1 ||
	    m > 12 || d < 1 || d > truth_mdays(y, m))
		return CL_EINVAL;
	*days = truth_days_from_civil(y, m, d);
	return 0;
}

/* occurred_at: YYYY-MM-DD or YYYY-MM-DDTHH:MM[:SS][Z|±HH:MM]; no offset means UTC. */
static int truth_parse_time(const char *s, int64_t *out)
{
	char day[11];
	int64_t d;
	int hh, mm, ss = 0, oh = 0, om = 0, sign = 0;
	size_t n = strlen(s), p = 16;

	if (n < 10)
		return CL_EPARSE;
	memcpy(day, s, 10);
	day[10] = '\0';
	if (truth_parse_day(day, &d))
		return CL_EPARSE;
	if (n == 10) {
		*out = d * TRUTH_DAY;
		return 0;
	}
	if (n < 16 || s[10] != 'T' || truth_digits(s + 11, 2, &hh) || s[13] != ':' ||
	    truth_digits(s + 14, 2, &mm) || hh > 23 || mm > 59)
		return CL_EPARSE;
	if (p < n && s[p] == ':') {
		if (p + 3 > n || truth_digits(s + p + 1, 2, &ss) || ss > 59)
			return CL_EPARSE;
		p += 3;
	}
	if (p < n && s[p] == 'Z') {
		p++;
	} else if (p < n && (s[p] == '+' || s[p] == '-')) {
		sign = s[p] == '+' ? 1 : -1;
		if (p + 6 > n || truth_digits(s + p + 1, 2, &oh) || s[p + 3] != ':' ||
		    truth_digits(s + p + 4, 2, &om) || oh > 23 || om > 59)
			return CL_EPARSE;
		p += 6;
	}
	if (p != n)
		return CL_EPARSE;
	*out = d * TRUTH_DAY + hh * TRUTH_HOUR + mm * 60 + ss - sign * (oh * TRUTH_HOUR + om * 60);
	return 0;
}

static void truth_fmt_time(int64_t t, char *buf, size_t cap)
{
	int y, m, d;
	int64_t s = ((t % TRUTH_DAY) + TRUTH_DAY) % TRUTH_DAY;

	truth_civil(t, &y, &m, &d);
	snprintf(buf, cap, "%04d-%02d-%02dT%02d:%02d:%02dZ", y, m, d, (int)(s / 3600),
		 (int)(s / 60 % 60), (int)(s % 60));
}

/* num/den with exactly 6 decimals, rounded half up; "NA" when den is 0. */
static void truth_dec(uint64_t num, uint64_t den, char *buf, size_t cap)
{
	uint64_t q;

	if (den == 0) {
		snprintf(buf, cap, "NA");
		return;
	}
	q = (num * 2000000u + den) / (2 * den);
	snprintf(buf, cap, "%" PRIu64 ".%06" PRIu64, q / 1000000u, q % 1000000u);
}

/* Age in whole years at time t from a birth date; -1 when unknown. */
static int truth_age(const struct truth_pers *p, int64_t t)
{
	int y, m, d, a;

	if (p->by == 0)
		return -1;
	truth_civil(t, &y, &m, &d);
	a = y - p->by;
	if (p->bm > 0 && (m < p->bm || (m == p->bm && d < p->bd)))
		a--;
	return a;
}

/* ---- arena and hash map ------------------------------------------------ */

static int truth_intern(struct truth_db *db, const char *s, size_t n, size_t *off)
{
	size_t need;

	if (__builtin_add_overflow(db->alen, n + 1, &need))
		return CL_EOVERFLOW;
	if (need > db->acap) {
		size_t cap = db->acap ? db->acap * 2 : 1 << 20;
		char *a;

		while (cap < need)
			cap *= 2;
		a = realloc(db->arena, cap);
		if (!a)
			return CL_ENOMEM;
		db->arena = a;
		db->acap = cap;
	}
	memcpy(db->arena + db->alen, s, n);
	db->arena[db->alen + n] = '\0';
	*off = db->alen;
	db->alen = need;
	return 0;
}

static uint64_t truth_hash(const char *s, size_t n)
{
	uint64_t h = 1469598103934665603ULL;
	size_t i;

	for (i = 0; i < n; i++)
		h = (h ^ (unsigned char)s[i]) * 1099511628211ULL;
	return h;
}

/* Finds key; returns 1 and *val when present, else 0 and *slot for an insert. */
static int truth_map_find(const struct truth_db *db, const struct truth_map *m, const char *key,
			  size_t n, uint32_t *val, size_t *slot)
{
	size_t i;

	if (m->cap == 0)
		return 0;
	for (i = truth_hash(key, n) & (m->cap - 1);; i = (i + 1) & (m->cap - 1)) {
		uint32_t e = m->slot[i];

		if (e == 0) {
			*slot = i;
			return 0;
		}
		if (!strcmp(db->arena + m->key[e - 1], key) &&
		    strlen(db->arena + m->key[e - 1]) == n) {
			*val = m->val[e - 1];
			return 1;
		}
	}
}

static int truth_map_put(struct truth_db *db, struct truth_map *m, const char *key, size_t n,
			 uint32_t val)
{
	size_t slot = 0, i, off;
	uint32_t dummy;
	int rc;

	if ((m->n + 1) * 2 > m->cap) {
		size_t cap = m->cap ? m->cap * 2 : 1024;
		uint32_t *s = calloc(cap, sizeof(*s));

		if (!s)
			return CL_ENOMEM;
		for (i = 0; i < m->n; i++) {
			const char *k = db->arena + m->key[i];
			size_t j = truth_hash(k, strlen(k)) & (cap - 1);

			while (s[j])
				j = (j + 1) & (cap - 1);
			s[j] = (uint32_t)(i + 1);
		}
		free(m->slot);
		m->slot = s;
		m->cap = cap;
	}
	if (m->n == m->ncap) {
		size_t nc = m->ncap ? m->ncap * 2 : 1024;
		size_t *k = realloc(m->key, nc * sizeof(*k));
		uint32_t *v;

		if (!k)
			return CL_ENOMEM;
		m->key = k;
		v = realloc(m->val, nc * sizeof(*v));
		if (!v)
			return CL_ENOMEM;
		m->val = v;
		m->ncap = nc;
	}
	if (truth_map_find(db, m, key, n, &dummy, &slot))
		return CL_EEXIST;
	rc = truth_intern(db, key, n, &off);
	if (rc)
		return rc;
	m->key[m->n] = off;
	m->val[m->n] = val;
	m->slot[slot] = (uint32_t)(++m->n);
	return 0;
}

static void truth_map_free(struct truth_map *m)
{
	free(m->slot);
	free(m->key);
	free(m->val);
}

/* ---- CSV reading ------------------------------------------------------- */

struct truth_csv {
	FILE *f;
	char buf[TRUTH_MAX_LINE];
	char *field[TRUTH_MAX_FIELDS];
	size_t nf;
	uint64_t line;
	int col[16]; /* column index per wanted name, -1 absent */
};

/* Reads one record; 1 read, 0 end of file, CL_EPARSE/CL_ELIMIT malformed. */
static int truth_csv_next(struct truth_csv *c)
{
	size_t len = 0;
	int ch, inq = 0, any = 0;

	c->nf = 0;
	c->field[c->nf++] = c->buf;
	c->line++;
	for (;;) {
		ch = getc(c->f);
		if (ch == EOF) {
			if (inq)
				return CL_EPARSE;
			if (!any)
				return 0;
			break;
		}
		any = 1;
		if (inq) {
			if (ch == '"') {
				int nx = getc(c->f);

				if (nx != '"') {
					inq = 0;
					if (nx != EOF)
						ungetc(nx, c->f);
					continue;
				}
			} else if (ch == '\n') {
				c->line++;
			}
		} else if (ch == '"') {
			inq = 1;
			continue;
		} else if (ch == ',') {
			if (len + 1 >= TRUTH_MAX_LINE || c->nf >= TRUTH_MAX_FIELDS)
				return CL_ELIMIT;
			c->buf[len++] = '\0';
			c->field[c->nf++] = c->buf + len;
			continue;
		} else if (ch == '\r') {
			continue;
		} else if (ch == '\n') {
			if (len == 0 && c->nf == 1) {
				any = 0; /* blank line */
				c->line++;
				continue;
			}
			break;
		}
		if (len + 1 >= TRUTH_MAX_LINE)
			return CL_ELIMIT;
		c->buf[len++] = (char)ch;
	}
	c->buf[len] = '\0';
	return 1;
}

/* Opens path and maps the header's columns onto names (NULL-terminated). */
static int truth_csv_open(struct truth_csv *c, const char *path, const char *const *names,
			  const char *const *required)
{
	size_t i, j;
	int rc, ch;

	memset(c->col, -1, sizeof(c->col));
	c->line = 0;
	c->f = fopen(path, "rb");
	if (!c->f)
		return CL_EIO;
	ch = getc(c->f);
	if (ch == 0xEF) {
		if (getc(c->f) != 0xBB || getc(c->f) != 0xBF)
			return CL_EPARSE;
	} else if (ch != EOF) {
		ungetc(ch, c->f);
	}
	rc = truth_csv_next(c);
	if (rc != 1)
		return rc < 0 ? rc : CL_EPARSE;
	for (i = 0; i < c->nf; i++) {
		for (j = 0; names[j]; j++)
			if (!strcmp(c->field[i], names[j]))
				break;
		if (!names[j] || j >= 16) {
			fprintf(stderr, "caselink truth: %s: unknown column %zu\n", path, i + 1);
			return CL_EPARSE;
		}
		c->col[j] = (int)i;
	}
	for (j = 0; required[j]; j++) {
		for (i = 0; names[i]; i++)
			if (!strcmp(names[i], required[j]))
				break;
		if (!names[i] || c->col[i] < 0) {
			fprintf(stderr, "caselink truth: %s: missing column %s\n", path,
				required[j]);
			return CL_EPARSE;
		}
	}
	return 0;
}

/* Field j (by the names index); "" when the column is absent. */
static const char *truth_csv_get(const struct truth_csv *c, int j)
{
	int k = c->col[j];

	return k >= 0 && (size_t)k < c->nf ? c->field[k] : "";
}

static void truth_csv_close(struct truth_csv *c)
{
	if (c->f)
		fclose(c->f);
	c->f = NULL;
}

/* ---- loading ----------------------------------------------------------- */

/* Names echoed into the output CSVs unquoted must not need quoting. */
static int truth_plain(const char *s)
{
	return strpbrk(s, ",\"\r\n") == NULL;
}

static int truth_muni(struct truth_db *db, const char *name, uint16_t *out)
{
	size_t i;

	if (!truth_plain(name))
		return CL_EPARSE;
	for (i = 0; i < db->nmunis; i++)
		if (!strcmp(db->munis[i], name))
			break;
	if (i == db->nmunis) {
		if (db->nmunis >= TRUTH_MAX_MUNIS)
			return CL_ELIMIT;
		db->munis[i] = strdup(name);
		if (!db->munis[i])
			return CL_ENOMEM;
		db->nmunis++;
	}
	*out = (uint16_t)i;
	return 0;
}

static int truth_ag_cmp(const void *a, const void *b)
{
	return strcmp(((const struct truth_agency *)a)->id, ((const struct truth_agency *)b)->id);
}

static int truth_load_federation(struct truth_db *db, const char *dir)
{
	static const char *const names[] = {"agency_id", "agency_type", "municipality", "country",
					    NULL};
	char path[TRUTH_PATH_MAX];
	struct truth_csv *c = calloc(1, sizeof(*c));
	int rc, t;
	uint16_t mu;

	if (!c)
		return CL_ENOMEM;
	snprintf(path, sizeof(path), "%s/federation.csv", dir);
	rc = truth_csv_open(c, path, names, names);
	if (rc)
		goto out;
	while ((rc = truth_csv_next(c)) == 1) {
		struct truth_agency *a;

		if (db->nag >= TRUTH_MAX_AG) {
			rc = CL_ELIMIT;
			goto out;
		}
		a = realloc(db->ag, (db->nag + 1) * sizeof(*a));
		if (!a) {
			rc = CL_ENOMEM;
			goto out;
		}
		db->ag = a;
		a = &db->ag[db->nag];
		for (t = 0; t < TRUTH_NAGTYPES; t++)
			if (!strcmp(truth_agtypes[t], truth_csv_get(c, 1)))
				break;
		if (t == TRUTH_NAGTYPES || strlen(truth_csv_get(c, 0)) >= sizeof(a->id) ||
		    !truth_csv_get(c, 0)[0] || !truth_plain(truth_csv_get(c, 0))) {
			rc = CL_EPARSE;
			goto out;
		}
		snprintf(a->id, sizeof(a->id), "%s", truth_csv_get(c, 0));
		a->type = t;
		rc = truth_muni(db, truth_csv_get(c, 2), &mu);
		if (rc)
			goto out;
		a->muni = mu;
		db->nag++;
	}
	if (rc < 0)
		goto out;
	qsort(db->ag, db->nag, sizeof(*db->ag), truth_ag_cmp);
	rc = 0;
out:
	truth_csv_close(c);
	free(c);
	return rc;
}

static int truth_agency_find(const struct truth_db *db, const char *id)
{
	size_t lo = 0, hi = db->nag;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		int k = strcmp(db->ag[mid].id, id);

		if (k == 0)
			return (int)mid;
		if (k < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -1;
}

static int truth_rowkey(char *key, size_t cap, int agency, const char *ref, size_t *n)
{
	int k = snprintf(key, cap, "%d\x1f%s", agency, ref);

	if (k < 0 || (size_t)k >= cap)
		return CL_ELIMIT;
	*n = (size_t)k;
	return 0;
}

/* Adds person row (agency, ref) linked to true id tid (NULL: a person of its own). */
static int truth_add_row(struct truth_db *db, int agency, const char *ref, const char *tid,
			 uint32_t *out)
{
	char key[512];
	size_t n, off;
	uint32_t p, r;
	int rc;

	if (db->nrows == db->rcap) {
		size_t nc = db->rcap ? db->rcap * 2 : 4096;
		struct truth_row *x = realloc(db->rows, nc * sizeof(*x));

		if (!x)
			return CL_ENOMEM;
		db->rows = x;
		db->rcap = nc;
	}
	if (db->nrows >= UINT32_MAX - 1)
		return CL_ELIMIT;
	if (!truth_plain(ref))
		return CL_EPARSE;
	if (tid) {
		size_t tn = strlen(tid), slot;

		if (!truth_map_find(db, &db->pmap, tid, tn, &p, &slot)) {
			p = (uint32_t)db->npers++;
			rc = truth_map_put(db, &db->pmap, tid, tn, p);
			if (rc)
				return rc;
		}
	} else {
		p = (uint32_t)db->npers++;
	}
	rc = truth_rowkey(key, sizeof(key), agency, ref, &n);
	if (rc)
		return rc;
	r = (uint32_t)db->nrows;
	rc = truth_map_put(db, &db->rowmap, key, n, r);
	if (rc)
		return rc == CL_EEXIST ? CL_EPARSE : rc;
	rc = truth_intern(db, ref, strlen(ref), &off);
	if (rc)
		return rc;
	memset(&db->rows[r], 0, sizeof(db->rows[r]));
	db->rows[r].ref = off;
	db->rows[r].agency = (uint32_t)agency;
	db->rows[r].person = p;
	db->rows[r].sex = 'U';
	db->nrows++;
	*out = r;
	return 0;
}

/* Reads the linkage file: links (any file of the links.csv format), or dir/truth/links.csv. */
static int truth_load_links(struct truth_db *db, const char *dir, const char *links)
{
	static const char *const names[] = {"agency_id", "person_ref", "true_person_id", NULL};
	char path[TRUTH_PATH_MAX];
	struct truth_csv *c = calloc(1, sizeof(*c));
	uint32_t r;
	int rc, a, l;

	if (!c)
		return CL_ENOMEM;
	l = links ? snprintf(path, sizeof(path), "%s", links)
		  : snprintf(path, sizeof(path), "%s/truth/links.csv", dir);
	if (l < 0 || (size_t)l >= sizeof(path)) {
		rc = CL_ELIMIT;
		goto out;
	}
	rc = truth_csv_open(c, path, names, names);
	if (rc)
		goto out;
	while ((rc = truth_csv_next(c)) == 1) {
		a = truth_agency_find(db, truth_csv_get(c, 0));
		if (a < 0 || !truth_csv_get(c, 1)[0] || !truth_csv_get(c, 2)[0]) {
			rc = CL_EPARSE;
			goto out;
		}
		rc = truth_add_row(db, a, truth_csv_get(c, 1), truth_csv_get(c, 2), &r);
		if (rc)
			goto out;
	}
out:
	truth_csv_close(c);
	free(c);
	return rc < 0 ? rc : 0;
}

/* Whether a national_id is usable for exact linkage: present and passes its check. */
static int truth_code_usable(const char *code, const char *country)
{
	char d[32];
	size_t n = 0;
	int c;

	for (; *code; code++) {
		if (*code == '-' || *code == ' ')
			continue;
		if (n + 1 >= sizeof(d))
			return 0;
		d[n++] = *code;
	}
	d[n] = '\0';
	if (n == 0 || strlen(country) != 2)
		return 0;
	if (!strcmp(country, "LT"))
		return n == 11 && (c = synth_lt_check_digit(d)) >= 0 && d[10] - '0' == c;
	if (!strcmp(country, "LV")) {
		if (n != 11 || strspn(d, "0123456789") != 11)
			return 0;
		if (d[0] == '3' && d[1] == '2')
			return 1;
		return (c = synth_lv_check_digit(d)) >= 0 && d[10] - '0' == c;
	}
	return 1;
}

static int truth_load_persons(struct truth_db *db, const char *dir, int a)
{
	static const char *const names[] = {"person_ref", "national_id", "id_country",
					    "given_name", "family_name", "birth_date",
					    "sex",	  "sharing",	 NULL};
	static const char *const req[] = {"person_ref", NULL};
	char path[TRUTH_PATH_MAX], key[512];
	struct truth_csv *c = calloc(1, sizeof(*c));
	struct truth_row *row;
	const char *b, *s;
	uint32_t r;
	size_t n, slot;
	int rc, y = 0, m = 0, d = 0;

	if (!c)
		return CL_ENOMEM;
	snprintf(path, sizeof(path), "%s/agencies/%s/persons.csv", dir, db->ag[a].id);
	rc = truth_csv_open(c, path, names, req);
	if (rc)
		goto out;
	while ((rc = truth_csv_next(c)) == 1) {
		rc = truth_rowkey(key, sizeof(key), a, truth_csv_get(c, 0), &n);
		if (rc)
			goto out;
		if (!truth_map_find(db, &db->rowmap, key, n, &r, &slot)) {
			/* not in the linkage file: a person of its own */
			rc = truth_add_row(db, a, truth_csv_get(c, 0), NULL, &r);
			if (rc)
				goto out;
		}
		row = &db->rows[r];
		row->seen = 1;
		b = truth_csv_get(c, 5);
		row->by = 0;
		row->bm = row->bd = 0;
		if (strlen(b) == 4 && !truth_digits(b, 4, &y)) {
			row->by = (int16_t)y;
		} else if (b[0]) {
			int64_t days;

			if (truth_parse_day(b, &days)) {
				rc = CL_EPARSE;
				goto out;
			}
			truth_digits(b, 4, &y);
			truth_digits(b + 5, 2, &m);
			truth_digits(b + 8, 2, &d);
			row->by = (int16_t)y;
			row->bm = (int8_t)m;
			row->bd = (int8_t)d;
		}
		s = truth_csv_get(c, 6);
		row->sex = s[0] && !s[1] && strchr("FMXU", s[0]) ? s[0] : 'U';
		row->restricted = !strcmp(truth_csv_get(c, 7), "restricted");
		row->unlinkable = !truth_code_usable(truth_csv_get(c, 1), truth_csv_get(c, 2)) &&
				  !(truth_csv_get(c, 4)[0] && b[0]);
	}
out:
	truth_csv_close(c);
	free(c);
	return rc < 0 ? rc : 0;
}

static int truth_load_events(struct truth_db *db, const char *dir, int a)
{
	static const char *const names[] = {"event_ref",
					    "person_ref",
					    "event_type",
					    "occurred_at",
					    "role",
					    "other_person_ref",
					    "relationship",
					    "violence_forms",
					    "risk_level",
					    "risk_score",
					    "risk_instrument",
					    "child_threat_level",
					    "referral_to",
					    "municipality",
					    NULL};
	static const char *const req[] = {"event_ref",	 "person_ref", "event_type",
					  "occurred_at", "role",       NULL};
	char path[TRUTH_PATH_MAX], key[512];
	struct truth_csv *c = calloc(1, sizeof(*c));
	struct truth_ev *e;
	const char *s;
	uint32_t r;
	size_t n, slot;
	int rc, k;

	if (!c)
		return CL_ENOMEM;
	snprintf(path, sizeof(path), "%s/agencies/%s/events.csv", dir, db->ag[a].id);
	rc = truth_csv_open(c, path, names, req);
	if (rc)
		goto out;
	while ((rc = truth_csv_next(c)) == 1) {
		if (db->nev == db->ecap) {
			size_t nc = db->ecap ? db->ecap * 2 : 65536;
			struct truth_ev *x = realloc(db->ev, nc * sizeof(*x));

			if (!x) {
				rc = CL_ENOMEM;
				goto out;
			}
			db->ev = x;
			db->ecap = nc;
		}
		e = &db->ev[db->nev];
		memset(e, 0, sizeof(*e));
		rc = truth_rowkey(key, sizeof(key), a, truth_csv_get(c, 1), &n);
		if (rc)
			goto out;
		rc = CL_EPARSE;
		if (!truth_map_find(db, &db->rowmap, key, n, &r, &slot))
			goto bad;
		e->row = r;
		e->person = db->rows[r].person;
		e->agency = (uint16_t)a;
		e->seq = (uint32_t)db->nev;
		for (k = 0; k < TRUTH_NEVTYPES; k++)
			if (!strcmp(truth_csv_get(c, 2), truth_evtypes[k].name))
				break;
		if (k == TRUTH_NEVTYPES)
			goto bad;
		e->type = (uint8_t)k;
		if (truth_parse_time(truth_csv_get(c, 3), &e->t))
			goto bad;
		for (k = 0; k < 3; k++)
			if (!strcmp(truth_csv_get(c, 4), truth_roles[k]))
				break;
		if (k == 3)
			goto bad;
		e->role = (uint8_t)k;
		s = truth_csv_get(c, 8);
		e->risk = -1;
		for (k = 0; s[0] && k < 4; k++)
			if (!strcmp(s, truth_risks[k]))
				e->risk = (int8_t)k;
		if (s[0] && e->risk < 0)
			goto bad;
		s = truth_csv_get(c, 11);
		e->ctl = -1;
		if (s[0]) {
			if (s[1] || s[0] < '0' || s[0] > '2')
				goto bad;
			e->ctl = (int8_t)(s[0] - '0');
		}
		s = truth_csv_get(c, 12);
		e->refto = -1;
		for (k = 0; s[0] && k < TRUTH_NAGTYPES; k++)
			if (!strcmp(s, truth_agtypes[k]))
				e->refto = (int8_t)k;
		if ((s[0] && e->refto < 0) || (e->type == EVT_REF_SENT && e->refto < 0))
			goto bad;
		s = truth_csv_get(c, 13);
		if (s[0]) {
			rc = truth_muni(db, s, &e->muni);
			if (rc)
				goto out;
		} else {
			e->muni = (uint16_t)db->ag[a].muni;
		}
		db->nev++;
		continue;
	bad:
		fprintf(stderr, "caselink truth: %s:%" PRIu64 ": malformed event row\n", path,
			c->line);
		goto out;
	}
out:
	truth_csv_close(c);
	free(c);
	return rc < 0 ? rc : 0;
}

/* ---- derived data ------------------------------------------------------ */

static int truth_ev_cmp(const void *a, const void *b)
{
	const struct truth_ev *x = a, *y = b;

	if (x->person != y->person)
		return x->person < y->person ? -1 : 1;
	if (x->role != y->role)
		return x->role < y->role ? -1 : 1;
	if (x->t != y->t)
		return x->t < y->t ? -1 : 1;
	if (x->agency != y->agency)
		return x->agency < y->agency ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* Sex and birth date of each linked person by consensus of its rows (see the docs). */
static int truth_consensus(struct truth_db *db)
{
	size_t *cnt = NULL, *order = NULL, i, j, k, p;
	int rc = CL_ENOMEM;

	db->pers = calloc(db->npers ? db->npers : 1, sizeof(*db->pers));
	cnt = calloc(db->npers + 1, sizeof(*cnt));
	order = malloc((db->nrows ? db->nrows : 1) * sizeof(*order));
	if (!db->pers || !cnt || !order)
		goto out;
	for (i = 0; i < db->nrows; i++)
		cnt[db->rows[i].person + 1]++;
	for (p = 0; p < db->npers; p++)
		cnt[p + 1] += cnt[p];
	for (i = 0; i < db->nrows; i++)
		order[cnt[db->rows[i].person]++] = i;
	/* cnt[p] is now the end of person p's rows */
	for (p = 0, i = 0; p < db->npers; p++) {
		size_t end = cnt[p], best = 0, bestn = 0;
		int sexn[3] = {0, 0, 0}, full = 0;
		struct truth_pers *pp = &db->pers[p];

		for (j = i; j < end; j++) {
			const struct truth_row *r = &db->rows[order[j]];

			sexn[0] += r->sex == 'F';
			sexn[1] += r->sex == 'M';
			sexn[2] += r->sex == 'X';
			full |= r->bm > 0;
		}
		pp->sex = 'U';
		if (sexn[0] + sexn[1] + sexn[2] > 0)
			pp->sex = sexn[0] >= sexn[1] && sexn[0] >= sexn[2] ? 'F'
				  : sexn[1] >= sexn[2]			   ? 'M'
									   : 'X';
		/* the most frequent full date (ties: the earliest); else the most frequent year */
		for (j = i; j < end; j++) {
			const struct truth_row *r = &db->rows[order[j]], *b;
			size_t n = 0;

			if (r->by == 0 || (full && r->bm == 0))
				continue;
			for (k = i; k < end; k++) {
				const struct truth_row *o = &db->rows[order[k]];

				n +=
				    o->by == r->by && (!full || (o->bm == r->bm && o->bd == r->bd));
			}
			b = bestn ? &db->rows[order[best]] : NULL;
			if (n > bestn ||
			    (n == bestn && b &&
			     (r->by < b->by ||
			      (r->by == b->by &&
			       (r->bm < b->bm || (r->bm == b->bm && r->bd < b->bd)))))) {
				best = j;
				bestn = n;
			}
		}
		if (bestn) {
			const struct truth_row *b = &db->rows[order[best]];

			pp->by = b->by;
			pp->bm = full ? b->bm : 0;
			pp->bd = full ? b->bd : 0;
		}
		i = end;
	}
	rc = 0;
out:
	free(cnt);
	free(order);
	return rc;
}

static int truth_index(struct truth_db *db)
{
	size_t i;

	if (db->nev)
		qsort(db->ev, db->nev, sizeof(*db->ev), truth_ev_cmp);
	db->pstart = calloc(db->npers + 1, sizeof(*db->pstart));
	if (!db->pstart)
		return CL_ENOMEM;
	for (i = 0; i < db->nev; i++)
		db->pstart[db->ev[i].person + 1]++;
	for (i = 0; i < db->npers; i++)
		db->pstart[i + 1] += db->pstart[i];
	return 0;
}

static int truth_incident(const struct truth_ev *e)
{
	return truth_evtypes[e->type].cat == CAT_INCIDENT;
}

/*
 * Calls back once per episode of person p in role: the incident events of that
 * role chained while each starts within 72 h of the previous one. Events of
 * restricted rows are skipped when skip_restricted. first/last are indices of
 * the first and last incident events of the episode in db->ev.
 */
struct truth_episode {
	size_t first, last;
	int64_t t;
	uint16_t muni;
};

static size_t truth_episodes(const struct truth_db *db, size_t p, int role, int skip_restricted,
			     struct truth_episode *out, size_t cap)
{
	size_t i, n = 0, prev = SIZE_MAX;

	for (i = db->pstart[p]; i < db->pstart[p + 1]; i++) {
		const struct truth_ev *e = &db->ev[i];

		if (e->role != role || !truth_incident(e) ||
		    (skip_restricted && db->rows[e->row].restricted))
			continue;
		if (prev != SIZE_MAX && e->t - db->ev[prev].t <= 72 * TRUTH_HOUR) {
			if (n <= cap && n > 0)
				out[n - 1].last = i;
		} else {
			if (n < cap) {
				out[n].first = out[n].last = i;
				out[n].t = e->t;
				out[n].muni = e->muni;
			}
			n++;
		}
		prev = i;
	}
	return n;
}

/* Episodes of person p in role into a growing buffer; returns the count or a negative code. */
static long truth_episodes_buf(const struct truth_db *db, size_t p, int role, int skip,
			       struct truth_episode **buf, size_t *cap)
{
	size_t n = truth_episodes(db, p, role, skip, *buf, *cap);

	if (n > *cap) {
		struct truth_episode *x = realloc(*buf, n * sizeof(*x));

		if (!x)
			return CL_ENOMEM;
		*buf = x;
		*cap = n;
		n = truth_episodes(db, p, role, skip, *buf, *cap);
	}
	return (long)n;
}

static int truth_in(const struct truth_db *db, int64_t t)
{
	return t >= db->from && t < db->to;
}

/* ---- output helpers ---------------------------------------------------- */

static FILE *truth_open_out(const char *dir, const char *name, const char *header)
{
	char path[TRUTH_PATH_MAX];
	FILE *f;

	if (snprintf(path, sizeof(path), "%s/%s", dir, name) >= (int)sizeof(path))
		return NULL;
	f = fopen(path, "wb");
	if (f)
		fputs(header, f);
	return f;
}

static int truth_close_out(FILE *f)
{
	return f && fclose(f) == 0 ? 0 : CL_EIO;
}

/* Quartile by nearest rank: the ceil(q*n/4)-th smallest (1-based) of sorted v. */
static int64_t truth_rank(const int64_t *v, size_t n, int q)
{
	size_t k = (q * n + 3) / 4;

	return v[k ? k - 1 : 0];
}

static int truth_i64_cmp(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return x < y ? -1 : x > y;
}

static const char *truth_muni_name(const struct truth_db *db, int m)
{
	return m < 0 ? "*" : db->munis[m];
}

/* Municipality indices sorted by name (bytewise). */
static void truth_muni_order(const struct truth_db *db, int *order)
{
	size_t i, j;

	for (i = 0; i < db->nmunis; i++)
		order[i] = (int)i;
	for (i = 1; i < db->nmunis; i++)
		for (j = i; j > 0 && strcmp(db->munis[order[j - 1]], db->munis[order[j]]) > 0;
		     j--) {
			int t = order[j];

			order[j] = order[j - 1];
			order[j - 1] = t;
		}
}

/* ---- M1 ---------------------------------------------------------------- */

/* A cell key: municipality, agency type, quarter (year*4 + q - 1). */
struct truth_m1 {
	uint64_t key;
	uint32_t person;
	int64_t t; /* the victim's earliest episode date in the cell */
};

static uint64_t truth_m1_key(int muni, int type, int64_t t)
{
	int y, m, d;

	truth_civil(t, &y, &m, &d);
	return ((uint64_t)muni << 40) | ((uint64_t)type << 32) | (uint64_t)(y * 4 + (m - 1) / 3);
}

static int truth_m1_cmp(const void *a, const void *b)
{
	const struct truth_m1 *x = a, *y = b;

	if (x->key != y->key)
		return x->key < y->key ? -1 : 1;
	if (x->person != y->person)
		return x->person < y->person ? -1 : 1;
	return x->t < y->t ? -1 : x->t > y->t;
}

static int truth_agegroup(int age)
{
	return age < 0 ? 5 : age < 18 ? 0 : age < 25 ? 1 : age < 45 ? 2 : age < 65 ? 3 : 4;
}

static int truth_m1(struct truth_db *db, const char *out, const int8_t *maxrisk)
{
	static const char *const ages[] = {"0-17", "18-24", "25-44", "45-64", "65+", "unknown"};
	struct truth_m1 *ev = NULL, *vi = NULL;
	struct truth_episode *eps = NULL;
	size_t nev = 0, nvi = 0, cvi = 0, ceps = 0, i, j, p, k;
	uint64_t *unl = NULL, *tot = NULL;
	int *morder = NULL, rc = CL_ENOMEM, mi;
	FILE *f = NULL;

	ev = malloc((db->nev ? db->nev : 1) * sizeof(*ev));
	unl = calloc(db->nmunis, sizeof(*unl));
	tot = calloc(db->nmunis, sizeof(*tot));
	morder = malloc(db->nmunis * sizeof(*morder) + 1);
	if (!ev || !unl || !tot || !morder)
		goto out;
	for (i = 0; i < db->nev; i++) {
		const struct truth_ev *e = &db->ev[i];

		if (e->role != ROLE_VICTIM || !truth_incident(e) || !truth_in(db, e->t))
			continue;
		ev[nev].key = truth_m1_key(e->muni, db->ag[e->agency].type, e->t);
		ev[nev].person = 0;
		ev[nev++].t = 0;
		tot[e->muni]++;
		unl[e->muni] += db->rows[e->row].unlinkable;
	}
	/* episodes: one entry per (episode, agency type holding it) */
	for (p = 0; p < db->npers; p++) {
		long n = truth_episodes_buf(db, p, ROLE_VICTIM, 0, &eps, &ceps);

		if (n < 0)
			goto out;
		for (k = 0; k < (size_t)n; k++) {
			unsigned seen = 0;

			if (!truth_in(db, eps[k].t))
				continue;
			for (j = eps[k].first; j <= eps[k].last; j++) {
				const struct truth_ev *e = &db->ev[j];
				int ty = db->ag[e->agency].type;

				if (e->role != ROLE_VICTIM || !truth_incident(e) ||
				    (seen & (1u << ty)))
					continue;
				seen |= 1u << ty;
				if (nvi == cvi) {
					size_t nc = cvi ? cvi * 2 : 4096;
					struct truth_m1 *x = realloc(vi, nc * sizeof(*x));

					if (!x)
						goto out;
					vi = x;
					cvi = nc;
				}
				vi[nvi].key = truth_m1_key(eps[k].muni, ty, eps[k].t);
				vi[nvi].person = (uint32_t)p;
				vi[nvi++].t = eps[k].t;
			}
		}
	}
	qsort(ev, nev, sizeof(*ev), truth_m1_cmp);
	if (nvi)
		qsort(vi, nvi, sizeof(*vi), truth_m1_cmp);
	f = truth_open_out(out, "m1.csv",
			   "from,to,municipality,agency_type,quarter,metric,value\n");
	if (!f) {
		rc = CL_EIO;
		goto out;
	}
	truth_muni_order(db, morder);
	for (mi = 0; mi < (int)db->nmunis; mi++) {
		int m = morder[mi], t;
		char dec[32];

		for (t = 0; t < TRUTH_NAGTYPES; t++) {
			uint64_t lo = ((uint64_t)m << 40) | ((uint64_t)t << 32),
				 hi = lo | 0xffffffffULL;
			size_t a = 0, b = 0;

			/* walk the quarters present in either list */
			while (a < nev && ev[a].key < lo)
				a++;
			while (b < nvi && vi[b].key < lo)
				b++;
			while ((a < nev && ev[a].key <= hi) || (b < nvi && vi[b].key <= hi)) {
				uint64_t key =
				    (a < nev && ev[a].key <= hi) ? ev[a].key : UINT64_MAX;
				uint64_t nin = 0, neps = 0, nv = 0, sex[4] = {0}, ag[6] = {0},
					 rk[5] = {0};
				int q;

				if (b < nvi && vi[b].key <= hi && vi[b].key < key)
					key = vi[b].key;
				while (a < nev && ev[a].key == key) {
					nin++;
					a++;
				}
				while (b < nvi && vi[b].key == key) {
					size_t c = b;
					const struct truth_pers *pp = &db->pers[vi[b].person];
					int r = maxrisk[vi[b].person];

					while (c < nvi && vi[c].key == key &&
					       vi[c].person == vi[b].person)
						c++;
					neps += c - b;
					nv++;
					sex[pp->sex == 'F'   ? 0
					    : pp->sex == 'M' ? 1
					    : pp->sex == 'X' ? 2
							     : 3]++;
					ag[truth_agegroup(truth_age(pp, vi[b].t))]++;
					rk[r < 0 ? 4 : r]++;
					b = c;
				}
				q = (int)(key & 0xffffffffULL);
#define M1ROW(metric, v)                                                                           \
	fprintf(f, "%s,%s,%s,%s,%d-Q%d,%s,%" PRIu64 "\n", db->sfrom, db->sto, db->munis[m],        \
		truth_agtypes[t], q / 4, q % 4 + 1, metric, (uint64_t)(v))
				M1ROW("incident_events", nin);
				M1ROW("episodes", neps);
				M1ROW("victims", nv);
				M1ROW("victims_sex_F", sex[0]);
				M1ROW("victims_sex_M", sex[1]);
				M1ROW("victims_sex_X", sex[2]);
				M1ROW("victims_sex_U", sex[3]);
				for (k = 0; k < 6; k++) {
					char metric[40];

					snprintf(metric, sizeof(metric), "victims_age_%s", ages[k]);
					M1ROW(metric, ag[k]);
				}
				for (k = 0; k < 5; k++) {
					char metric[40];

					snprintf(metric, sizeof(metric), "victims_risk_%s",
						 k < 4 ? truth_risks[k] : "unassessed");
					M1ROW(metric, rk[k]);
				}
#undef M1ROW
			}
		}
		if (tot[m]) {
			truth_dec(unl[m], tot[m], dec, sizeof(dec));
			fprintf(f, "%s,%s,%s,*,*,incident_events,%" PRIu64 "\n", db->sfrom, db->sto,
				db->munis[m], tot[m]);
			fprintf(f, "%s,%s,%s,*,*,unlinkable_incident_events,%" PRIu64 "\n",
				db->sfrom, db->sto, db->munis[m], unl[m]);
			fprintf(f, "%s,%s,%s,*,*,unlinkable_share,%s\n", db->sfrom, db->sto,
				db->munis[m], dec);
		}
	}
	rc = truth_close_out(f);
	f = NULL;
out:
	if (f)
		fclose(f);
	free(ev);
	free(vi);
	free(eps);
	free(unl);
	free(tot);
	free(morder);
	return rc;
}

/* ---- M2 ---------------------------------------------------------------- */

struct truth_m2acc {
	uint64_t victims, repeat, repeat_eps, hidden;
	int64_t *gaps;
	size_t ngaps, cgaps;
};

static int truth_m2_gap(struct truth_m2acc *a, int64_t g)
{
	if (a->ngaps == a->cgaps) {
		size_t nc = a->cgaps ? a->cgaps * 2 : 256;
		int64_t *x = realloc(a->gaps, nc * sizeof(*x));

		if (!x)
			return CL_ENOMEM;
		a->gaps = x;
		a->cgaps = nc;
	}
	a->gaps[a->ngaps++] = g;
	return 0;
}

static void truth_m2_write(const struct truth_db *db, FILE *f, const char *muni,
			   struct truth_m2acc *a)
{
	char dec[32];

#define M2ROW(metric, fmt, v)                                                                      \
	fprintf(f, "%s,%s,%s,%s," fmt "\n", db->sfrom, db->sto, muni, metric, v)
	M2ROW("victims", "%" PRIu64, a->victims);
	M2ROW("repeat_victims", "%" PRIu64, a->repeat);
	truth_dec(a->repeat, a->victims, dec, sizeof(dec));
	M2ROW("repeat_rate", "%s", dec);
	M2ROW("repeat_victim_episodes", "%" PRIu64, a->repeat_eps);
	truth_dec(a->repeat_eps, a->repeat, dec, sizeof(dec));
	M2ROW("mean_episodes_per_repeat_victim", "%s", dec);
	M2ROW("hidden_repeats", "%" PRIu64, a->hidden);
	M2ROW("gap_count", "%zu", a->ngaps);
	if (a->ngaps) {
		qsort(a->gaps, a->ngaps, sizeof(*a->gaps), truth_i64_cmp);
		M2ROW("gap_days_min", "%" PRId64, a->gaps[0]);
		M2ROW("gap_days_q1", "%" PRId64, truth_rank(a->gaps, a->ngaps, 1));
		M2ROW("gap_days_median", "%" PRId64, truth_rank(a->gaps, a->ngaps, 2));
		M2ROW("gap_days_q3", "%" PRId64, truth_rank(a->gaps, a->ngaps, 3));
		M2ROW("gap_days_max", "%" PRId64, a->gaps[a->ngaps - 1]);
	}
#undef M2ROW
}

static int truth_u16_cmp(const void *a, const void *b)
{
	uint16_t x = *(const uint16_t *)a, y = *(const uint16_t *)b;

	return x < y ? -1 : x > y;
}

static int truth_m2(struct truth_db *db, const char *out)
{
	struct truth_m2acc *acc = NULL;
	struct truth_episode *eps = NULL;
	uint16_t *held = NULL;
	size_t ceps = 0, p, k, j, nheld, cheld = 0;
	int *morder = NULL, rc = CL_ENOMEM, mi;
	FILE *f = NULL;

	acc = calloc(db->nmunis + 1, sizeof(*acc)); /* the last one is "*" */
	morder = malloc(db->nmunis * sizeof(*morder) + 1);
	if (!acc || !morder)
		goto out;
	for (p = 0; p < db->npers; p++) {
		long n = truth_episodes_buf(db, p, ROLE_VICTIM, 0, &eps, &ceps);
		size_t in = 0, first = 0, hidden = 1;
		int64_t prevday = 0;

		if (n < 0)
			goto out;
		nheld = 0;
		for (k = 0; k < (size_t)n; k++) {
			uint16_t local[64];
			size_t nl = 0, x;

			if (!truth_in(db, eps[k].t))
				continue;
			if (in++ == 0)
				first = k;
			for (j = eps[k].first; j <= eps[k].last; j++) {
				const struct truth_ev *e = &db->ev[j];

				if (e->role != ROLE_VICTIM || !truth_incident(e))
					continue;
				for (x = 0; x < nl && local[x] != e->agency; x++)
					;
				if (x == nl && nl < 64)
					local[nl++] = e->agency;
			}
			if (nheld + nl > cheld) {
				size_t nc = (nheld + nl) * 2;
				uint16_t *h = realloc(held, nc * sizeof(*h));

				if (!h)
					goto out;
				held = h;
				cheld = nc;
			}
			memcpy(held + nheld, local, nl * sizeof(*local));
			nheld += nl;
		}
		if (in == 0)
			continue;
		qsort(held, nheld, sizeof(*held), truth_u16_cmp);
		for (j = 1; j < nheld; j++)
			if (held[j] == held[j - 1])
				hidden = 0;
		{
			struct truth_m2acc *a[2] = {&acc[eps[first].muni], &acc[db->nmunis]};
			int w;

			for (w = 0; w < 2; w++) {
				a[w]->victims++;
				if (in >= 2) {
					a[w]->repeat++;
					a[w]->repeat_eps += in;
					a[w]->hidden += hidden;
				}
			}
			for (k = first, prevday = INT64_MIN; k < (size_t)n; k++) {
				int64_t day;

				if (!truth_in(db, eps[k].t))
					continue;
				day = eps[k].t >= 0 ? eps[k].t / TRUTH_DAY
						    : (eps[k].t - TRUTH_DAY + 1) / TRUTH_DAY;
				if (prevday != INT64_MIN)
					for (w = 0; w < 2; w++)
						if (truth_m2_gap(a[w], day - prevday))
							goto out;
				prevday = day;
			}
		}
	}
	f = truth_open_out(out, "m2.csv", "from,to,municipality,metric,value\n");
	if (!f) {
		rc = CL_EIO;
		goto out;
	}
	truth_muni_order(db, morder);
	for (mi = 0; mi < (int)db->nmunis; mi++)
		if (acc[morder[mi]].victims)
			truth_m2_write(db, f, db->munis[morder[mi]], &acc[morder[mi]]);
	truth_m2_write(db, f, "*", &acc[db->nmunis]);
	rc = truth_close_out(f);
	f = NULL;
out:
	if (f)
		fclose(f);
	for (p = 0; acc && p <= db->nmunis; p++)
		free(acc[p].gaps);
	free(acc);
	free(eps);
	free(held);
	free(morder);
	return rc;
}

/* ---- M3 ---------------------------------------------------------------- */

struct truth_m3 {
	int type, muni; /* -1: all */
	int64_t delay;	/* seconds; -1 lost */
};

static int truth_m3_cmp(const void *a, const void *b)
{
	const struct truth_m3 *x = a, *y = b;

	if (x->type != y->type)
		return x->type - y->type;
	if (x->muni != y->muni)
		return x->muni - y->muni;
	return x->delay < y->delay ? -1 : x->delay > y->delay;
}

static void truth_m3_write(const struct truth_db *db, FILE *f, const struct truth_m3 *v, size_t n)
{
	uint64_t in24 = 0, recv = 0;
	int64_t *d = malloc((n ? n : 1) * sizeof(*d)), med;
	size_t i;
	const char *ty = v[0].type < 0 ? "*" : truth_agtypes[v[0].type];
	const char *mu = truth_muni_name(db, v[0].muni);

	for (i = 0; i < n; i++) {
		if (v[i].delay < 0)
			continue;
		if (d)
			d[recv] = v[i].delay;
		recv++;
		in24 += v[i].delay <= 24 * TRUTH_HOUR;
	}
#define M3ROW(metric, fmt, x)                                                                      \
	fprintf(f, "%s,%s,%s,%s,%s," fmt "\n", db->sfrom, db->sto, ty, mu, metric, x)
	M3ROW("referrals", "%zu", n);
	M3ROW("received_24h", "%" PRIu64, in24);
	M3ROW("received_30d", "%" PRIu64, recv);
	M3ROW("lost", "%" PRIu64, (uint64_t)n - recv);
	if (recv && d) {
		/* v is sorted by delay, lost (-1) first: d is sorted */
		med = truth_rank(d, recv, 2);
		M3ROW("median_delay_seconds", "%" PRId64, med);
		fprintf(f, "%s,%s,%s,%s,median_delay_hours,%" PRId64 ".%02" PRId64 "\n", db->sfrom,
			db->sto, ty, mu, (med * 100 + 1800) / 360000,
			(med * 100 + 1800) / 3600 % 100);
	}
#undef M3ROW
	free(d);
}

static int truth_m3(struct truth_db *db, const char *out)
{
	struct truth_m3 *v = NULL;
	size_t n = 0, cap = 0, i, j, a, b;
	int rc = CL_ENOMEM, w;
	FILE *f = NULL;

	for (i = 0; i < db->nev; i++) {
		const struct truth_ev *e = &db->ev[i];
		size_t p = e->person;
		int64_t best = -1;

		if (e->type != EVT_REF_SENT || !truth_in(db, e->t))
			continue;
		for (j = db->pstart[p]; j < db->pstart[p + 1]; j++) {
			const struct truth_ev *x = &db->ev[j];

			if ((x->type == EVT_REF_RECV || x->type == EVT_INTAKE) &&
			    db->ag[x->agency].type == e->refto && x->t >= e->t &&
			    x->t - e->t <= 30 * TRUTH_DAY && (best < 0 || x->t - e->t < best))
				best = x->t - e->t;
		}
		if (n + 4 > cap) {
			size_t nc = cap ? cap * 2 : 4096;
			struct truth_m3 *x = realloc(v, nc * sizeof(*x));

			if (!x)
				goto out;
			v = x;
			cap = nc;
		}
		for (w = 0; w < 4; w++) {
			v[n].type = w & 1 ? -1 : db->ag[e->agency].type;
			v[n].muni = w & 2 ? -1 : e->muni;
			v[n++].delay = best;
		}
	}
	if (n)
		qsort(v, n, sizeof(*v), truth_m3_cmp);
	f = truth_open_out(out, "m3.csv", "from,to,agency_type,municipality,metric,value\n");
	if (!f) {
		rc = CL_EIO;
		goto out;
	}
	/* groups in order of agency type index, then municipality index ("*" = -1 first) */
	for (a = 0; a < n; a = b) {
		for (b = a; b < n && v[b].type == v[a].type && v[b].muni == v[a].muni; b++)
			;
		truth_m3_write(db, f, v + a, b - a);
	}
	rc = truth_close_out(f);
	f = NULL;
out:
	if (f)
		fclose(f);
	free(v);
	return rc;
}

/* ---- M4 ---------------------------------------------------------------- */

static int truth_m4(struct truth_db *db, const char *out)
{
	uint64_t(*cnt)[TRUTH_NSUPPORT + 2] = NULL; /* [muni]["victims", any, types...] */
	size_t p, i;
	int *morder = NULL, rc = CL_ENOMEM, mi, k;
	FILE *f = NULL;

	cnt = calloc(db->nmunis + 1, sizeof(*cnt));
	morder = malloc(db->nmunis * sizeof(*morder) + 1);
	if (!cnt || !morder)
		goto out;
	for (p = 0; p < db->npers; p++) {
		const struct truth_ev *first = NULL;
		int got[TRUTH_NSUPPORT + 2] = {0}, w;

		for (i = db->pstart[p]; i < db->pstart[p + 1]; i++) {
			const struct truth_ev *e = &db->ev[i];

			if (e->role == ROLE_VICTIM &&
			    (e->type == EVT_CALLOUT || e->type == EVT_CRIME) &&
			    truth_in(db, e->t) &&
			    (!first || e->t < first->t ||
			     (e->t == first->t &&
			      (e->agency < first->agency ||
			       (e->agency == first->agency && e->seq < first->seq)))))
				first = e;
		}
		if (!first)
			continue;
		for (i = db->pstart[p]; i < db->pstart[p + 1]; i++) {
			const struct truth_ev *e = &db->ev[i];

			if (e->type >= EVT_SUPPORT_LO && e->type <= EVT_SUPPORT_HI &&
			    e->t >= first->t && e->t - first->t <= 30 * TRUTH_DAY) {
				got[1] = 1;
				got[2 + e->type - EVT_SUPPORT_LO] = 1;
			}
		}
		got[0] = 1;
		for (w = 0; w < 2; w++) {
			size_t m = w ? db->nmunis : first->muni;

			for (k = 0; k < TRUTH_NSUPPORT + 2; k++)
				cnt[m][k] += (uint64_t)got[k];
		}
	}
	f = truth_open_out(out, "m4.csv", "from,to,municipality,support_type,metric,value\n");
	if (!f) {
		rc = CL_EIO;
		goto out;
	}
	truth_muni_order(db, morder);
	for (mi = 0; mi <= (int)db->nmunis; mi++) {
		int m = mi < (int)db->nmunis ? morder[mi] : (int)db->nmunis;
		const char *mn = mi < (int)db->nmunis ? db->munis[m] : "*";
		char dec[32];

		if (!cnt[m][0] && mi < (int)db->nmunis)
			continue;
		for (k = 1; k < TRUTH_NSUPPORT + 2; k++) {
			const char *st =
			    k == 1 ? "any" : truth_evtypes[EVT_SUPPORT_LO + k - 2].name;

			truth_dec(cnt[m][k], cnt[m][0], dec, sizeof(dec));
			fprintf(f, "%s,%s,%s,%s,victims,%" PRIu64 "\n", db->sfrom, db->sto, mn, st,
				cnt[m][0]);
			fprintf(f, "%s,%s,%s,%s,with_support,%" PRIu64 "\n", db->sfrom, db->sto, mn,
				st, cnt[m][k]);
			fprintf(f, "%s,%s,%s,%s,share,%s\n", db->sfrom, db->sto, mn, st, dec);
		}
	}
	rc = truth_close_out(f);
	f = NULL;
out:
	if (f)
		fclose(f);
	free(cnt);
	free(morder);
	return rc;
}

/* ---- M5 ---------------------------------------------------------------- */

static int truth_m5(struct truth_db *db, const char *out)
{
	uint64_t c[2][4] = {{0}}; /* perpetrators, observable, not yet, reoffended */
	struct truth_episode *eps = NULL;
	size_t ceps = 0, p, i, k;
	int rc = CL_ENOMEM, g;
	FILE *f = NULL;

	for (p = 0; p < db->npers; p++) {
		int64_t end[2] = {INT64_MAX, INT64_MAX};
		long n;

		for (i = db->pstart[p]; i < db->pstart[p + 1]; i++) {
			const struct truth_ev *e = &db->ev[i];

			g = e->type == EVT_PROG_DONE ? 0 : e->type == EVT_PROG_DROP ? 1 : -1;
			if (g >= 0 && truth_in(db, e->t) && e->t < end[g])
				end[g] = e->t;
		}
		if (end[0] == INT64_MAX && end[1] == INT64_MAX)
			continue;
		n = truth_episodes_buf(db, p, ROLE_PERP, 0, &eps, &ceps);
		if (n < 0)
			goto out;
		for (g = 0; g < 2; g++) {
			int re = 0;

			if (end[g] == INT64_MAX)
				continue;
			c[g][0]++;
			if (end[g] + 365 * TRUTH_DAY >= db->to) {
				c[g][2]++;
				continue;
			}
			c[g][1]++;
			for (k = 0; k < (size_t)n; k++)
				re |= eps[k].t >= end[g] && eps[k].t <= end[g] + 365 * TRUTH_DAY;
			c[g][3] += (uint64_t)re;
		}
	}
	f = truth_open_out(out, "m5.csv", "from,to,outcome,metric,value\n");
	if (!f) {
		rc = CL_EIO;
		goto out;
	}
	for (g = 0; g < 2; g++) {
		const char *o = g ? "dropped" : "completed";
		char dec[32];

		truth_dec(c[g][3], c[g][1], dec, sizeof(dec));
		fprintf(f, "%s,%s,%s,perpetrators,%" PRIu64 "\n", db->sfrom, db->sto, o, c[g][0]);
		fprintf(f, "%s,%s,%s,observable,%" PRIu64 "\n", db->sfrom, db->sto, o, c[g][1]);
		fprintf(f, "%s,%s,%s,not_yet_observable,%" PRIu64 "\n", db->sfrom, db->sto, o,
			c[g][2]);
		fprintf(f, "%s,%s,%s,reoffended,%" PRIu64 "\n", db->sfrom, db->sto, o, c[g][3]);
		fprintf(f, "%s,%s,%s,reoffended_share,%s\n", db->sfrom, db->sto, o, dec);
	}
	rc = truth_close_out(f);
	f = NULL;
out:
	if (f)
		fclose(f);
	free(eps);
	return rc;
}

/* ---- M6 ---------------------------------------------------------------- */

static int truth_m6(struct truth_db *db, const char *out)
{
	static const char *const bands[] = {"0-3",   "4-6", "7-9",    "10-14",
					    "15-17", "18+", "unknown"};
	static const char sexes[] = "FMXU";
	static const char *const lv[] = {"0", "1", "2", "unassessed"};
	uint64_t grid[7][4][4] = {{{0}}}, total = 0;
	size_t p, i;
	int b, s, l;
	FILE *f;

	for (p = 0; p < db->npers; p++) {
		const struct truth_ev *first = NULL;
		int ctl = -1, age;

		for (i = db->pstart[p]; i < db->pstart[p + 1]; i++) {
			const struct truth_ev *e = &db->ev[i];

			if (!truth_in(db, e->t))
				continue;
			if (e->ctl > ctl)
				ctl = e->ctl;
			if (e->role == ROLE_CHILD && (!first || e->t < first->t))
				first = e;
		}
		if (!first)
			continue;
		age = truth_age(&db->pers[p], first->t);
		b = age < 0	? 6
		    : age <= 3	? 0
		    : age <= 6	? 1
		    : age <= 9	? 2
		    : age <= 14 ? 3
		    : age <= 17 ? 4
				: 5;
		s = (int)(strchr(sexes, db->pers[p].sex) - sexes);
		grid[b][s][ctl < 0 ? 3 : ctl]++;
		total++;
	}
	f = truth_open_out(out, "m6.csv", "from,to,age_band,sex,threat_level,metric,value\n");
	if (!f)
		return CL_EIO;
	fprintf(f, "%s,%s,*,*,*,children,%" PRIu64 "\n", db->sfrom, db->sto, total);
	for (b = 0; b < 7; b++)
		for (s = 0; s < 4; s++)
			for (l = 0; l < 4; l++)
				fprintf(f, "%s,%s,%s,%c,%s,children,%" PRIu64 "\n", db->sfrom,
					db->sto, bands[b], sexes[s], lv[l], grid[b][s][l]);
	return truth_close_out(f);
}

/* ---- M7 ---------------------------------------------------------------- */

static int truth_seq_cmp(const void *a, const void *b, void *ctx)
{
	const struct truth_ev *ev = ctx;
	const struct truth_ev *x = &ev[*(const size_t *)a], *y = &ev[*(const size_t *)b];

	if (x->t != y->t)
		return x->t < y->t ? -1 : 1;
	if (x->agency != y->agency)
		return x->agency < y->agency ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static int truth_m7(struct truth_db *db, const char *out, size_t m7max, const size_t *prow,
		    const size_t *pstartrow)
{
	FILE *f = NULL, *s = NULL;
	size_t *idx = NULL, cidx = 0, r, i, n;
	int rc = CL_EIO, basis;
	char when[32];

	f = truth_open_out(out, "m7.csv",
			   "as_of,legal_basis,requester_agency,requester_ref,seq,occurred_at,"
			   "agency_type,agency_id,municipality,event_type,role,risk_level,"
			   "child_threat_level\n");
	s = truth_open_out(out, "m7_requests.csv",
			   "as_of,legal_basis,requester_agency,requester_ref,status,events,"
			   "omitted_records\n");
	if (!f || !s)
		goto out;
	for (r = 0; r < db->nrows; r++) {
		const struct truth_row *q = &db->rows[r];
		size_t p = q->person, omitted = 0;

		if (m7max == 0)
			break;
		if (db->nrows > m7max && (r * m7max) / db->nrows == ((r + 1) * m7max) / db->nrows)
			continue; /* evenly spread sample: the row where the bucket changes */
		for (i = pstartrow[p]; i < pstartrow[p + 1]; i++)
			omitted += db->rows[prow[i]].restricted;
		n = db->pstart[p + 1] - db->pstart[p];
		if (n > cidx) {
			size_t *x = realloc(idx, n * sizeof(*x));

			if (!x) {
				rc = CL_ENOMEM;
				goto out;
			}
			idx = x;
			cidx = n;
		}
		for (i = 0; i < n; i++)
			idx[i] = db->pstart[p] + i;
		qsort_r(idx, n, sizeof(*idx), truth_seq_cmp, db->ev);
		for (basis = 0; basis < 2; basis++) {
			const char *bn = basis ? "child_protection" : "general";
			size_t seq = 0;

			if (!basis && q->restricted) {
				fprintf(s, "%s,%s,%s,%s,requester_restricted,0,%zu\n", db->sasof,
					bn, db->ag[q->agency].id, db->arena + q->ref, omitted);
				continue;
			}
			for (i = 0; i < n; i++) {
				const struct truth_ev *e = &db->ev[idx[i]];

				if (e->t >= db->asof_end || (!basis && db->rows[e->row].restricted))
					continue;
				truth_fmt_time(e->t, when, sizeof(when));
				fprintf(f, "%s,%s,%s,%s,%zu,%s,%s,%s,%s,%s,%s,%s,", db->sasof, bn,
					db->ag[q->agency].id, db->arena + q->ref, ++seq, when,
					truth_agtypes[db->ag[e->agency].type], db->ag[e->agency].id,
					db->munis[e->muni], truth_evtypes[e->type].name,
					truth_roles[e->role],
					e->risk >= 0 ? truth_risks[e->risk] : "");
				if (e->ctl >= 0)
					fprintf(f, "%d", e->ctl);
				fputc('\n', f);
			}
			fprintf(s, "%s,%s,%s,%s,%s,%zu,%zu\n", db->sasof, bn, db->ag[q->agency].id,
				db->arena + q->ref, !basis && omitted ? "partial" : "complete", seq,
				basis ? (size_t)0 : omitted);
		}
	}
	rc = 0;
out:
	if (f && fclose(f) != 0)
		rc = CL_EIO;
	if (s && fclose(s) != 0)
		rc = CL_EIO;
	free(idx);
	return rc;
}

/* ---- M8 ---------------------------------------------------------------- */

static int truth_m8(struct truth_db *db, const char *out, const size_t *prow,
		    const size_t *pstartrow)
{
	struct truth_episode *eps = NULL;
	size_t ceps = 0, p, i, j;
	int64_t lo = db->asof_end - 365 * TRUTH_DAY;
	int rc = CL_EIO, basis;
	FILE *f;

	f = truth_open_out(out, "m8.csv",
			   "as_of,legal_basis,agency_id,person_ref,reasons,other_agency_types\n");
	if (!f)
		return CL_EIO;
	for (basis = 0; basis < 2; basis++) {
		const char *bn = basis ? "child_protection" : "general";

		for (p = 0; p < db->npers; p++) {
			int risk = 0, breach = 0, repeat = 0, nep = 0;
			size_t holders = 0;
			long n;
			char reasons[64] = "";

			for (i = db->pstart[p]; i < db->pstart[p + 1]; i++) {
				const struct truth_ev *e = &db->ev[i];

				if (e->t < lo || e->t >= db->asof_end ||
				    (!basis && db->rows[e->row].restricted))
					continue;
				risk |= e->risk == RISK_HIGH;
				breach |= e->type == EVT_BREACH;
			}
			n = truth_episodes_buf(db, p, ROLE_VICTIM, !basis, &eps, &ceps);
			if (n < 0) {
				rc = (int)n;
				goto out;
			}
			for (i = 0; i < (size_t)n; i++)
				nep += eps[i].t >= lo && eps[i].t < db->asof_end;
			repeat = nep >= 3;
			if (!risk && !breach && !repeat)
				continue;
			/* holders: distinct agencies with a (visible) row; rows are grouped by
			 * agency */
			for (i = pstartrow[p]; i < pstartrow[p + 1]; i++) {
				const struct truth_row *r = &db->rows[prow[i]];

				if (!basis && r->restricted)
					continue;
				for (j = pstartrow[p]; j < i; j++) {
					const struct truth_row *o = &db->rows[prow[j]];

					if (o->agency == r->agency && (basis || !o->restricted))
						break;
				}
				holders += j == i;
			}
			if (holders < 2)
				continue;
			snprintf(reasons, sizeof(reasons), "%s%s%s%s%s", risk ? "risk_high" : "",
				 risk && (repeat || breach) ? ";" : "",
				 repeat ? "repeat_episodes" : "", repeat && breach ? ";" : "",
				 breach ? "order_breach" : "");
			for (i = pstartrow[p]; i < pstartrow[p + 1]; i++) {
				const struct truth_row *r = &db->rows[prow[i]];
				unsigned types = 0;
				int t, first = 1;

				if (!basis && r->restricted)
					continue;
				for (j = pstartrow[p]; j < pstartrow[p + 1]; j++) {
					const struct truth_row *o = &db->rows[prow[j]];

					if (o->agency != r->agency && (basis || !o->restricted))
						types |= 1u << db->ag[o->agency].type;
				}
				fprintf(f, "%s,%s,%s,%s,%s,", db->sasof, bn, db->ag[r->agency].id,
					db->arena + r->ref, reasons);
				for (t = 0; t < TRUTH_NAGTYPES; t++)
					if (types & (1u << t)) {
						fprintf(f, "%s%s", first ? "" : ";",
							truth_agtypes[t]);
						first = 0;
					}
				fputc('\n', f);
			}
		}
	}
	rc = 0;
out:
	free(eps);
	if (fclose(f) != 0)
		rc = CL_EIO;
	return rc;
}

/* ---- driver ------------------------------------------------------------ */

static int truth_row_order_cmp(const void *a, const void *b, void *ctx)
{
	const struct truth_db *db = ctx;
	const struct truth_row *x = &db->rows[*(const size_t *)a],
			       *y = &db->rows[*(const size_t *)b];
	int k;

	if (x->person != y->person)
		return x->person < y->person ? -1 : 1;
	if (x->agency != y->agency)
		return x->agency < y->agency ? -1 : 1;
	k = strcmp(db->arena + x->ref, db->arena + y->ref);
	return k;
}

static int truth_mkdir(const char *path)
{
	return mkdir(path, 0755) == 0 || errno == EEXIST ? 0 : CL_EIO;
}

/* truth_compute with the linkage read from links (NULL: data_dir/truth/links.csv). */
static int truth_compute_links(const char *data_dir, const char *links, const char *from,
			       const char *to, const char *as_of, const char *out_dir,
			       size_t m7_max)
{
	struct truth_db *db = NULL;
	size_t a, i, *prow = NULL, *pstartrow = NULL;
	int8_t *maxrisk = NULL;
	int64_t fd, td, ad;
	int rc = CL_EINVAL;
	FILE *f;

	if (truth_parse_day(from, &fd) || truth_parse_day(to, &td) || td <= fd)
		goto out;
	ad = td - 1;
	if (as_of && truth_parse_day(as_of, &ad))
		goto out;
	rc = CL_ENOMEM;
	db = calloc(1, sizeof(*db));
	if (!db)
		goto out;
	db->from = fd * TRUTH_DAY;
	db->to = td * TRUTH_DAY;
	db->asof_end = (ad + 1) * TRUTH_DAY;
	snprintf(db->sfrom, sizeof(db->sfrom), "%s", from);
	snprintf(db->sto, sizeof(db->sto), "%s", to);
	{
		int y, m, d;

		truth_civil(ad * TRUTH_DAY, &y, &m, &d);
		snprintf(db->sasof, sizeof(db->sasof), "%04d-%02d-%02d", y, m, d);
	}
	if ((rc = truth_load_federation(db, data_dir)) ||
	    (rc = truth_load_links(db, data_dir, links)))
		goto out;
	for (a = 0; a < db->nag; a++)
		if ((rc = truth_load_persons(db, data_dir, (int)a)))
			goto out;
	for (a = 0; a < db->nag; a++)
		if ((rc = truth_load_events(db, data_dir, (int)a)))
			goto out;
	if ((rc = truth_consensus(db)) || (rc = truth_index(db)))
		goto out;
	rc = CL_ENOMEM;
	maxrisk = malloc(db->npers + 1);
	prow = malloc((db->nrows + 1) * sizeof(*prow));
	pstartrow = calloc(db->npers + 1, sizeof(*pstartrow));
	if (!maxrisk || !prow || !pstartrow)
		goto out;
	memset(maxrisk, -1, db->npers + 1);
	for (i = 0; i < db->nev; i++)
		if (truth_in(db, db->ev[i].t) && db->ev[i].risk > maxrisk[db->ev[i].person])
			maxrisk[db->ev[i].person] = db->ev[i].risk;
	for (i = 0; i < db->nrows; i++) {
		prow[i] = i;
		pstartrow[db->rows[i].person + 1]++;
	}
	for (i = 0; i < db->npers; i++)
		pstartrow[i + 1] += pstartrow[i];
	qsort_r(prow, db->nrows, sizeof(*prow), truth_row_order_cmp, db);
	if ((rc = truth_mkdir(out_dir)))
		goto out;
	f = truth_open_out(out_dir, "period.csv", "from,to,as_of\n");
	if (!f) {
		rc = CL_EIO;
		goto out;
	}
	fprintf(f, "%s,%s,%s\n", db->sfrom, db->sto, db->sasof);
	if ((rc = truth_close_out(f)))
		goto out;
	if ((rc = truth_m1(db, out_dir, maxrisk)) || (rc = truth_m2(db, out_dir)) ||
	    (rc = truth_m3(db, out_dir)) || (rc = truth_m4(db, out_dir)) ||
	    (rc = truth_m5(db, out_dir)) || (rc = truth_m6(db, out_dir)) ||
	    (rc = truth_m7(db, out_dir, m7_max, prow, pstartrow)) ||
	    (rc = truth_m8(db, out_dir, prow, pstartrow)))
		goto out;
	rc = 0;
out:
	if (db) {
		for (i = 0; i < db->nmunis; i++)
			free(db->munis[i]);
		free(db->ag);
		free(db->arena);
		truth_map_free(&db->rowmap);
		truth_map_free(&db->pmap);
		free(db->rows);
		free(db->pers);
		free(db->ev);
		free(db->pstart);
		free(db);
	}
	free(maxrisk);
	free(prow);
	free(pstartrow);
	return rc;
}

int truth_compute(const char *data_dir, const char *from, const char *to, const char *as_of,
		  const char *out_dir, size_t m7_max)
{
	return truth_compute_links(data_dir, NULL, from, to, as_of, out_dir, m7_max);
}

int truth_main(int argc, char **argv)
{
	const char *data = NULL, *from = NULL, *to = NULL, *asof = NULL, *out = NULL;
	const char *links = NULL;
	unsigned long long m7max = 1000;
	char *end = NULL;
	int i, rc;

	for (i = 1; i + 1 < argc; i += 2) {
		if (!strcmp(argv[i], "--data"))
			data = argv[i + 1];
		else if (!strcmp(argv[i], "--from"))
			from = argv[i + 1];
		else if (!strcmp(argv[i], "--to"))
			to = argv[i + 1];
		else if (!strcmp(argv[i], "--as-of"))
			asof = argv[i + 1];
		else if (!strcmp(argv[i], "--out"))
			out = argv[i + 1];
		else if (!strcmp(argv[i], "--links"))
			links = argv[i + 1];
		else if (!strcmp(argv[i], "--m7-max")) {
			errno = 0;
			m7max = strtoull(argv[i + 1], &end, 10);
			if (errno || !end || *end || argv[i + 1][0] == '-')
				break;
		} else
			break;
	}
	if (i != argc || !data || !from || !to || !out) {
		fprintf(stderr,
			"usage: caselink truth --data DIR --from YYYY-MM-DD --to YYYY-MM-DD\n"
			"                      [--as-of YYYY-MM-DD] [--m7-max N] [--links FILE]\n"
			"                      --out DIR2\n");
		return 2;
	}
	rc = truth_compute_links(data, links, from, to, asof, out, (size_t)m7max);
	if (rc) {
		fprintf(stderr, "caselink truth: %s\n", cl_strerror(rc));
		return 1;
	}
	return 0;
}
