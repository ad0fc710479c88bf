/*
 * synth — `caselink synth`: generates a synthetic federation household by
 * household (bounded memory: one household's events at a time, one output
 * buffer per agency file) and then computes its ground truth with the truth
 * engine. Same arguments give byte-identical output: the only randomness is
 * a xoshiro256** stream seeded through splitmix64 from --seed.
 */
#include "tools/synth.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/cl_error.h"
#include "common/vocab.h"
#include "tools/cli.h"
#include "tools/synth_names.h"
#include "tools/truth.h"

#define SYNTH_MAX_MUNIS	   128
#define SYNTH_NTYPES	   6
#define SYNTH_BUF_CAP	   (32u * 1024u)
#define SYNTH_PATH_MAX	   1024
#define SYNTH_MAX_HH_PERS  8
#define SYNTH_MAX_HH_EVENT 4096
#define SYNTH_MAX_RECS	   256
#define SYNTH_DAY	   86400LL
#define SYNTH_HOUR	   3600LL
#define SYNTH_MIN	   60LL

/* Agency types of every municipality, in agency index order (their record-format names: vocab). */
enum { AG_POLICE, AG_SOCIAL, AG_NGO, AG_HEALTH, AG_PROBATION, AG_CHILD };
static const unsigned char synth_type_vocab[SYNTH_NTYPES] = {
    VOCAB_AG_POLICE, VOCAB_AG_SOCIAL_SERVICES, VOCAB_AG_NGO,
    VOCAB_AG_HEALTH, VOCAB_AG_PROBATION,       VOCAB_AG_CHILD_RIGHTS};
static const char *const synth_type_slug[SYNTH_NTYPES] = {
    "police", "social-services", "ngo", "health", "probation", "child-rights"};
static const char *const synth_type_prefix[SYNTH_NTYPES] = {"P", "S", "N", "H", "PR", "CR"};

/*
 * Events carry the vocabulary's event type and role indexes; relationships, risk levels and
 * instruments 1 + the vocabulary index, 0 when absent.
 */
enum { REL_NONE, REL_PARTNER, REL_EX, REL_PARENT, REL_CHILD };

struct synth_rng {
	uint64_t s[4];
};

struct synth_buf {
	char *data;
	size_t len;
	int started;
	char path[SYNTH_PATH_MAX];
};

struct synth_agency {
	char id[96];
	int type;
	size_t muni; /* index into synth_gen.munis */
	uint64_t next_person, next_event;
	struct synth_buf persons, events;
};

struct synth_person {
	uint64_t tid;
	char sex;
	int by, bm, bd;
	int lt; /* 1 Lithuanian, 0 Latvian */
	const char *given;
	const char *family;
	char code[16]; /* 11 digits, NUL */
	int code_new;  /* Latvian new form (32...) */
};

struct synth_ev {
	int64_t t;
	int agency, person, other;
	unsigned char type, role, rel, forms, risk, instr, ctl, refto;
	int score;
};

struct synth_rec {
	int person, agency;
	uint64_t ref;
};

struct synth_sister {
	int pending;
	int lt, fam, by, bm, bd;
	size_t home;
};

struct synth_gen {
	struct synth_rng rng;
	char out[SYNTH_PATH_MAX];
	size_t nmunis;
	size_t munis[SYNTH_MAX_MUNIS]; /* indices into the synth_names table */
	unsigned wsum;
	int has_lv, has_lt;
	unsigned types; /* bit per agency type written (--agency-types) */
	struct synth_agency *ag;
	size_t nag;
	int64_t start, end; /* seconds: first second and last second of the range */
	int start_year;
	uint64_t next_tid;
	uint64_t persons_written, events_written, rows_written;
	struct synth_person hp[SYNTH_MAX_HH_PERS];
	int nhp;
	struct synth_ev ev[SYNTH_MAX_HH_EVENT];
	int nev;
	struct synth_rec rec[SYNTH_MAX_RECS];
	int nrec;
	struct synth_sister sister;
	struct synth_buf links;
};

/* snprintf that reports truncation: 0, or CL_ELIMIT when buf was too small. */
static int synth_fmt(char *buf, size_t cap, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int synth_fmt(char *buf, size_t cap, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, cap, fmt, ap);
	va_end(ap);
	return n < 0 || (size_t)n >= cap ? CL_ELIMIT : 0;
}

/* ---- random numbers ---------------------------------------------------- */

static uint64_t synth_splitmix(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static void synth_rng_seed(struct synth_rng *r, uint64_t seed)
{
	int i;

	for (i = 0; i < 4; i++)
		r->s[i] = synth_splitmix(&seed);
}

static uint64_t synth_rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

static uint64_t synth_next(struct synth_rng *r)
{
	uint64_t result = synth_rotl(r->s[1] * 5, 7) * 9, t = r->s[1] << 17;

	r->s[2] ^= r->s[0];
	r->s[3] ^= r->s[1];
	r->s[1] ^= r->s[2];
	r->s[0] ^= r->s[3];
	r->s[2] ^= t;
	r->s[3] = synth_rotl(r->s[3], 45);
	return result;
}

/* Uniform in [0, n) for n >= 1 (modulo: the bias is below 2^-32 for the n used here). */
static uint64_t synth_below(struct synth_gen *g, uint64_t n)
{
	return synth_next(&g->rng) % n;
}

static int64_t synth_range(struct synth_gen *g, int64_t lo, int64_t hi)
{
	return lo + (int64_t)synth_below(g, (uint64_t)(hi - lo + 1));
}

/* True with probability permille/1000. */
static int synth_p(struct synth_gen *g, unsigned permille)
{
	return synth_below(g, 1000) < permille;
}

/* ---- personal codes ---------------------------------------------------- */

int synth_lt_check_digit(const char *d10)
{
	static const int w1[10] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 1};
	static const int w2[10] = {3, 4, 5, 6, 7, 8, 9, 1, 2, 3};
	int s1 = 0, s2 = 0, i;

	for (i = 0; i < 10; i++) {
		if (d10[i] < '0' || d10[i] > '9')
			return -1;
		s1 += (d10[i] - '0') * w1[i];
		s2 += (d10[i] - '0') * w2[i];
	}
	if (s1 % 11 != 10)
		return s1 % 11;
	return s2 % 11 != 10 ? s2 % 11 : 0;
}

int synth_lv_check_digit(const char *d10)
{
	static const int w[10] = {1, 6, 3, 7, 9, 10, 5, 8, 4, 2};
	int s = 0, i, c;

	for (i = 0; i < 10; i++) {
		if (d10[i] < '0' || d10[i] > '9')
			return -1;
		s += (d10[i] - '0') * w[i];
	}
	c = (1101 - s) % 11;
	return c == 10 ? -1 : c;
}

static void synth_make_code(struct synth_gen *g, struct synth_person *p)
{
	int c;

	if (p->lt) {
		int g0 = p->by >= 2000 ? 5 : p->by >= 1900 ? 3 : 1;

		synth_fmt(p->code, sizeof(p->code), "%d%02d%02d%02d%03d", g0 + (p->sex == 'F'),
			  p->by % 100, p->bm, p->bd, (int)synth_below(g, 1000));
		p->code[10] = (char)('0' + synth_lt_check_digit(p->code));
		p->code[11] = '\0';
		return;
	}
	if (p->code_new) {
		synth_fmt(p->code, sizeof(p->code), "32%09" PRIu64, synth_below(g, 1000000000ULL));
		return;
	}
	do {
		synth_fmt(p->code, sizeof(p->code), "%02d%02d%02d%d%03d", p->bd, p->bm, p->by % 100,
			  p->by >= 2000	  ? 2
			  : p->by >= 1900 ? 1
					  : 0,
			  (int)synth_below(g, 1000));
		c = synth_lv_check_digit(p->code);
	} while (c < 0);
	p->code[10] = (char)('0' + c);
	p->code[11] = '\0';
}

/* ---- output buffers ---------------------------------------------------- */

static int synth_buf_flush(struct synth_buf *b)
{
	FILE *f = NULL;
	int rc = CL_EIO;

	f = fopen(b->path, b->started ? "ab" : "wb");
	if (!f)
		goto out;
	b->started = 1;
	if (b->len && fwrite(b->data, 1, b->len, f) != b->len)
		goto out;
	b->len = 0;
	rc = 0;
out:
	if (f && fclose(f) != 0 && rc == 0)
		rc = CL_EIO;
	return rc;
}

static int synth_buf_init(struct synth_buf *b, const char *path, const char *header)
{
	size_t n = strlen(header);

	if (synth_fmt(b->path, sizeof(b->path), "%s", path) != 0 || n > SYNTH_BUF_CAP)
		return CL_ELIMIT;
	b->data = malloc(SYNTH_BUF_CAP);
	if (!b->data)
		return CL_ENOMEM;
	b->started = 0;
	memcpy(b->data, header, n);
	b->len = n;
	return 0;
}

/* Appends one complete line; flushes first when it would not fit. */
static int synth_buf_line(struct synth_buf *b, const char *line, size_t n)
{
	int rc;

	if (n > SYNTH_BUF_CAP)
		return CL_ELIMIT;
	if (b->len + n > SYNTH_BUF_CAP) {
		rc = synth_buf_flush(b);
		if (rc)
			return rc;
	}
	memcpy(b->data + b->len, line, n);
	b->len += n;
	return 0;
}

static int synth_buf_close(struct synth_buf *b)
{
	int rc = 0;

	if (b->data) {
		rc = synth_buf_flush(b);
		free(b->data);
		b->data = NULL;
	}
	return rc;
}

/* Appends s to line (at *pos, capacity cap) as one CSV field, quoted when needed. */
static void synth_field(char *line, size_t cap, size_t *pos, const char *s, int first)
{
	int quote = strpbrk(s, ",\"\r\n") != NULL;

	if (!first && *pos + 1 < cap)
		line[(*pos)++] = ',';
	if (quote && *pos + 1 < cap)
		line[(*pos)++] = '"';
	for (; *s && *pos + 2 < cap; s++) {
		if (*s == '"')
			line[(*pos)++] = '"';
		line[(*pos)++] = *s;
	}
	if (quote && *pos + 1 < cap)
		line[(*pos)++] = '"';
	line[*pos] = '\0';
}

/* ---- names and noise --------------------------------------------------- */

static const char *const synth_fold[][2] = {
    {"ā", "a"}, {"č", "c"}, {"ē", "e"}, {"ė", "e"}, {"ģ", "g"}, {"ī", "i"}, {"į", "i"},
    {"ķ", "k"}, {"ļ", "l"}, {"ņ", "n"}, {"š", "s"}, {"ū", "u"}, {"ų", "u"}, {"ž", "z"},
    {"Ā", "A"}, {"Č", "C"}, {"Ē", "E"}, {"Ė", "E"}, {"Ģ", "G"}, {"Ī", "I"}, {"Į", "I"},
    {"Ķ", "K"}, {"Ļ", "L"}, {"Ņ", "N"}, {"Š", "S"}, {"Ū", "U"}, {"Ų", "U"}, {"Ž", "Z"},
};

/* Copies src into dst (cap bytes) with Latvian/Lithuanian diacritics dropped. */
static void synth_strip(char *dst, size_t cap, const char *src)
{
	size_t o = 0, k;

	while (*src && o + 1 < cap) {
		for (k = 0; k < sizeof(synth_fold) / sizeof(synth_fold[0]); k++) {
			size_t n = strlen(synth_fold[k][0]);

			if (!strncmp(src, synth_fold[k][0], n)) {
				dst[o++] = synth_fold[k][1][0];
				src += n;
				break;
			}
		}
		if (k == sizeof(synth_fold) / sizeof(synth_fold[0]))
			dst[o++] = *src++;
	}
	dst[o] = '\0';
}

/* A typing error on an ASCII lower-case letter (not the first byte): replace, drop or double. */
static void synth_typo(struct synth_gen *g, char *s, size_t cap)
{
	size_t n = strlen(s), pos[64], np = 0, i, p;
	int kind = (int)synth_below(g, 3);

	for (i = 1; i < n && np < 64; i++)
		if (s[i] >= 'a' && s[i] <= 'z')
			pos[np++] = i;
	if (np == 0)
		return;
	p = pos[synth_below(g, np)];
	if (kind == 0) {
		char c = (char)('a' + synth_below(g, 26));

		s[p] = c == s[p] ? (char)(c == 'z' ? 'a' : c + 1) : c;
	} else if (kind == 1) {
		memmove(s + p, s + p + 1, n - p);
	} else if (n + 2 <= cap) {
		memmove(s + p + 1, s + p, n - p + 1);
	}
}

/* ---- household model --------------------------------------------------- */

static int synth_days_in_month(int y, int m)
{
	static const int d[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};

	if (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
		return 29;
	return d[m - 1];
}

static int64_t synth_days_from_civil(int y, int m, int d)
{
	int64_t era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

static void synth_civil_from_days(int64_t z, int *y, int *m, int *d)
{
	int64_t era, doe, yoe, doy, mp;

	z += 719468;
	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = z - era * 146097;
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	*d = (int)(doy - (153 * mp + 2) / 5 + 1);
	*m = (int)(mp < 10 ? mp + 3 : mp - 9);
	*y = (int)(yoe + era * 400 + (*m <= 2));
}

static size_t synth_pick_muni(struct synth_gen *g, int want_lt)
{
	unsigned w, acc = 0, r;
	size_t i, cand = 0, n = 0;
	const char *c;

	if (want_lt < 0) {
		r = (unsigned)synth_below(g, g->wsum);
		for (i = 0; i < g->nmunis; i++) {
			synth_names_muni(g->munis[i], NULL, NULL, NULL, &w);
			acc += w;
			if (r < acc)
				return i;
		}
		return g->nmunis - 1;
	}
	for (i = 0; i < g->nmunis; i++) {
		synth_names_muni(g->munis[i], NULL, NULL, &c, NULL);
		if ((c[1] == 'T') == (want_lt == 1) && synth_below(g, ++n) == 0)
			cand = i;
	}
	return cand;
}

static void synth_birth(struct synth_gen *g, struct synth_person *p, int age_at_start)
{
	p->by = g->start_year - age_at_start;
	p->bm = (int)synth_range(g, 1, 12);
	p->bd = (int)synth_range(g, 1, synth_days_in_month(p->by, p->bm));
}

static int synth_new_person(struct synth_gen *g, char sex, int lt, int age)
{
	struct synth_person *p;

	if (g->nhp >= SYNTH_MAX_HH_PERS)
		return -1;
	p = &g->hp[g->nhp];
	memset(p, 0, sizeof(*p));
	p->tid = ++g->next_tid;
	p->sex = sex;
	p->lt = lt;
	synth_birth(g, p, age);
	p->given = synth_names_given(
	    lt ? "LT" : "LV", sex, synth_below(g, synth_names_given_count(lt ? "LT" : "LV", sex)));
	p->code_new = !lt && (p->by >= 2017 || synth_p(g, 120));
	return g->nhp++;
}

static struct synth_ev *synth_add(struct synth_gen *g, int64_t t, int agency, int person, int type,
				  int role)
{
	struct synth_ev *e;

	if (t > g->end || g->nev >= SYNTH_MAX_HH_EVENT || person < 0)
		return NULL;
	e = &g->ev[g->nev++];
	memset(e, 0, sizeof(*e));
	e->t = t;
	e->agency = agency;
	e->person = person;
	e->other = -1;
	e->type = (unsigned char)type;
	e->role = (unsigned char)role;
	e->ctl = 255;
	e->refto = 255;
	return e;
}

static int synth_agency_of(size_t muni, int type)
{
	return (int)(muni * SYNTH_NTYPES + (size_t)type);
}

/* Support at social services after a received referral (or a direct visit) at time t. */
static void synth_social_support(struct synth_gen *g, size_t m, int v, int64_t t)
{
	int a = synth_agency_of(m, AG_SOCIAL), n, i;
	int64_t x;

	if (synth_p(g, 700)) {
		x = t + synth_range(g, 0, 7 * 24) * SYNTH_HOUR;
		synth_add(g, x, a, v, VOCAB_EV_INTAKE, VOCAB_ROLE_VICTIM);
		n = (int)synth_range(g, 0, 6);
		for (i = 0; i < n; i++)
			synth_add(g,
				  x + (i + 1) * 7 * SYNTH_DAY + synth_range(g, -2, 2) * SYNTH_DAY,
				  a, v, VOCAB_EV_COUNSELLING, VOCAB_ROLE_VICTIM);
	}
	if (synth_p(g, 200))
		synth_add(g, t + synth_range(g, 0, 72) * SYNTH_HOUR, a, v,
			  VOCAB_EV_CRISIS_INTERVENTION, VOCAB_ROLE_VICTIM);
	if (synth_p(g, 150))
		synth_add(g, t + synth_range(g, 3, 40) * SYNTH_DAY, a, v, VOCAB_EV_LEGAL_AID,
			  VOCAB_ROLE_VICTIM);
	if (synth_p(g, 200))
		synth_add(g, t + synth_range(g, 3, 40) * SYNTH_DAY, a, v, VOCAB_EV_PSYCHOLOGIST,
			  VOCAB_ROLE_VICTIM);
}

/* A referral sent at t to agency `to`: received within 24 h, late, after 30 days or lost. */
static int64_t synth_referral_delay(struct synth_gen *g)
{
	uint64_t r = synth_below(g, 1000);

	if (r < 500)
		return synth_range(g, 20, 23 * 60) * SYNTH_MIN;
	if (r < 530)
		return 24 * SYNTH_HOUR; /* exactly on the boundary: within 24 h */
	if (r < 550)
		return 24 * SYNTH_HOUR + SYNTH_MIN;
	if (r < 720)
		return synth_range(g, 25 * 60, 30 * 24 * 60 - 1) * SYNTH_MIN;
	if (r < 740)
		return 30 * SYNTH_DAY; /* exactly 30 days: received */
	if (r < 750)
		return 30 * SYNTH_DAY + SYNTH_MIN;
	if (r < 820)
		return synth_range(g, 31, 60) * SYNTH_DAY;
	return -1; /* lost */
}

/* Whether household person pi is born by time t. */
static int synth_born(const struct synth_gen *g, int pi, int64_t t)
{
	const struct synth_person *p = &g->hp[pi];

	return synth_days_from_civil(p->by, p->bm, p->bd) * SYNTH_DAY <= t;
}

static int synth_pick_risk(struct synth_gen *g, int sev)
{
	int r = sev + (int)synth_range(g, -1, 1);

	return r < 1 ? 1 : r > 4 ? 4 : r;
}

struct synth_hh {
	size_t home;
	int lt;
	int v, p, kids[3], nkids;
	int rel_vp, rel_pv; /* relationship of the other party, seen from victim / perpetrator */
	int sev;	    /* 1..4 like risk levels */
	int convicted, programme_done;
	int64_t programme_end;
	int programme_completed;
};

static void synth_episode(struct synth_gen *g, struct synth_hh *h, int64_t t, size_t m, int foreign)
{
	int police = synth_p(g, foreign ? 400 : 720), health = synth_p(g, foreign ? 900 : 300);
	int ngo = !foreign && synth_p(g, 230), i, kids_present, risk = synth_pick_risk(g, h->sev);
	int ap = synth_agency_of(m, AG_POLICE), ah = synth_agency_of(m, AG_HEALTH);
	int an = synth_agency_of(m, AG_NGO), ac = synth_agency_of(m, AG_CHILD);
	int as = synth_agency_of(m, AG_SOCIAL), apr = synth_agency_of(m, AG_PROBATION);
	unsigned char forms = (unsigned char)(1 + synth_below(g, 15));
	struct synth_ev *e;
	int64_t x, d;

	if (!police && !health && !ngo) {
		if (synth_p(g, 500))
			return; /* the dark figure: nobody saw it */
		ngo = !foreign;
		health = foreign;
	}
	kids_present = h->nkids > 0 && synth_p(g, 600);
	if (police) {
		e = synth_add(g, t, ap, h->v, VOCAB_EV_POLICE_CALLOUT, VOCAB_ROLE_VICTIM);
		if (e) {
			e->other = h->p;
			e->rel = (unsigned char)h->rel_vp;
			e->forms = forms;
		}
		e = synth_add(g, t, ap, h->p, VOCAB_EV_POLICE_CALLOUT, VOCAB_ROLE_PERPETRATOR);
		if (e) {
			e->other = h->v;
			e->rel = (unsigned char)h->rel_pv;
		}
		for (i = 0; kids_present && i < h->nkids; i++)
			if (synth_born(g, h->kids[i], t))
				synth_add(g, t, ap, h->kids[i], VOCAB_EV_POLICE_CALLOUT,
					  VOCAB_ROLE_CHILD);
		if (synth_p(g, 350)) {
			x = t + synth_range(g, 30, 300) * SYNTH_MIN;
			synth_add(g, x, ap, h->v, VOCAB_EV_CRIME_REPORT, VOCAB_ROLE_VICTIM);
			e = synth_add(g, x, ap, h->p, VOCAB_EV_CRIME_REPORT,
				      VOCAB_ROLE_PERPETRATOR);
			if (e)
				e->other = h->v;
			if (synth_p(g, 600)) {
				x += synth_range(g, 1, 10) * SYNTH_DAY;
				synth_add(g, x, ap, h->p, VOCAB_EV_CRIMINAL_CASE_OPENED,
					  VOCAB_ROLE_PERPETRATOR);
				if (!h->convicted && synth_p(g, 450)) {
					h->convicted = 1;
					x += synth_range(g, 60, 240) * SYNTH_DAY;
					synth_add(g, x, apr, h->p, VOCAB_EV_CONVICTION,
						  VOCAB_ROLE_PERPETRATOR);
					if (synth_p(g, 650)) {
						x += synth_range(g, 10, 60) * SYNTH_DAY;
						synth_add(g, x, apr, h->p,
							  VOCAB_EV_PROGRAMME_ENROLLED,
							  VOCAB_ROLE_PERPETRATOR);
						x += synth_range(g, 90, 240) * SYNTH_DAY;
						h->programme_completed = synth_p(g, 550);
						if (synth_add(g, x, apr, h->p,
							      h->programme_completed
								  ? VOCAB_EV_PROGRAMME_COMPLETED
								  : VOCAB_EV_PROGRAMME_DROPPED,
							      VOCAB_ROLE_PERPETRATOR)) {
							h->programme_done = 1;
							h->programme_end = x;
						}
					}
				}
			}
		}
		/* same-episode events on both sides of the 72-hour boundary */
		if (synth_p(g, 40))
			synth_add(g, t + 72 * SYNTH_HOUR, ap, h->v, VOCAB_EV_CRIME_REPORT,
				  VOCAB_ROLE_VICTIM);
		else if (synth_p(g, 40))
			synth_add(g, t + 72 * SYNTH_HOUR + 1, ap, h->v, VOCAB_EV_CRIME_REPORT,
				  VOCAB_ROLE_VICTIM);
		if (synth_p(g, 700)) {
			e = synth_add(g, t + synth_range(g, 60, 180) * SYNTH_MIN, ap, h->v,
				      VOCAB_EV_RISK_ASSESSMENT, VOCAB_ROLE_VICTIM);
			if (e) {
				e->risk = (unsigned char)risk;
				e->instr = 1;
				e->score = (int)(risk * 5 + synth_range(g, 0, 4));
			}
		}
		if (synth_p(g, 650)) {
			x = t + synth_range(g, 120, 360) * SYNTH_MIN;
			e = synth_add(g, x, ap, h->v, VOCAB_EV_REFERRAL_SENT, VOCAB_ROLE_VICTIM);
			if (e) {
				e->refto = AG_SOCIAL;
				d = synth_referral_delay(g);
				if (d >= 0 &&
				    synth_add(g, x + d, as, h->v, VOCAB_EV_REFERRAL_RECEIVED,
					      VOCAB_ROLE_VICTIM))
					synth_social_support(g, m, h->v, x + d);
			}
		}
		for (i = 0; kids_present && i < h->nkids; i++) {
			int k = h->kids[i], lvl;

			if (!synth_born(g, k, t) || !synth_p(g, 600))
				continue;
			x = t + synth_range(g, 120, 600) * SYNTH_MIN;
			e = synth_add(g, x, ap, k, VOCAB_EV_REFERRAL_SENT, VOCAB_ROLE_CHILD);
			if (!e)
				continue;
			e->refto = AG_CHILD;
			if (!synth_p(g, 850))
				continue;
			x += synth_range(g, 2, 5 * 24) * SYNTH_HOUR;
			synth_add(g, x, ac, k, VOCAB_EV_REFERRAL_RECEIVED, VOCAB_ROLE_CHILD);
			if (synth_p(g, 750)) {
				lvl = synth_p(g, 500) ? 0 : synth_p(g, 700) ? 1 : 2;
				e = synth_add(g, x + synth_range(g, 1, 10) * SYNTH_DAY, ac, k,
					      VOCAB_EV_CHILD_THREAT_ASSESSMENT, VOCAB_ROLE_CHILD);
				if (e)
					e->ctl = (unsigned char)lvl;
			}
			if (synth_p(g, 350))
				synth_add(g, x + synth_range(g, 5, 30) * SYNTH_DAY,
					  synth_p(g, 500) ? ac : as, k,
					  VOCAB_EV_CHILD_WELFARE_CASE_OPENED, VOCAB_ROLE_CHILD);
		}
		if (risk >= 3 && synth_p(g, 350)) {
			x = t + synth_range(g, 1, 3) * SYNTH_DAY;
			e = synth_add(g, x, ap, h->v, VOCAB_EV_PROTECTION_ORDER_ISSUED,
				      VOCAB_ROLE_VICTIM);
			if (e)
				e->other = h->p;
			e = synth_add(g, x, ap, h->p, VOCAB_EV_PROTECTION_ORDER_ISSUED,
				      VOCAB_ROLE_PERPETRATOR);
			if (e)
				e->other = h->v;
			if (synth_p(g, 300)) {
				x += synth_range(g, 5, 90) * SYNTH_DAY;
				e = synth_add(g, x, ap, h->p, VOCAB_EV_PROTECTION_ORDER_BREACH,
					      VOCAB_ROLE_PERPETRATOR);
				if (e)
					e->other = h->v;
				e = synth_add(g, x, ap, h->v, VOCAB_EV_PROTECTION_ORDER_BREACH,
					      VOCAB_ROLE_VICTIM);
				if (e)
					e->other = h->p;
			}
		} else if (synth_p(g, 30)) {
			synth_add(g, t + synth_range(g, 1, 5) * SYNTH_DAY, ap, h->p,
				  VOCAB_EV_SEPARATION_ORDER, VOCAB_ROLE_PERPETRATOR);
		}
	}
	if (health) {
		if (!police)
			x = t;
		else if (synth_p(g, 60))
			x = t + 72 * SYNTH_HOUR; /* still the same episode */
		else if (synth_p(g, 60))
			x = t + 72 * SYNTH_HOUR + SYNTH_MIN; /* a new episode */
		else
			x = t + synth_range(g, 6 * 60, 36 * 60) * SYNTH_MIN;
		e = synth_add(g, x, ah, h->v, VOCAB_EV_MEDICAL_INJURY, VOCAB_ROLE_VICTIM);
		if (e)
			e->forms = (unsigned char)(forms | 1);
		if (!foreign && synth_p(g, 250)) {
			e = synth_add(g, x + SYNTH_HOUR, ah, h->v, VOCAB_EV_REFERRAL_SENT,
				      VOCAB_ROLE_VICTIM);
			if (e) {
				e->refto = AG_NGO;
				if (synth_p(g, 700)) {
					x += synth_range(g, 1, 10) * SYNTH_DAY;
					synth_add(g, x, an, h->v, VOCAB_EV_REFERRAL_RECEIVED,
						  VOCAB_ROLE_VICTIM);
					synth_add(g, x, an, h->v, VOCAB_EV_INTAKE,
						  VOCAB_ROLE_VICTIM);
				}
			}
		}
	}
	if (ngo) {
		x = police || health ? t + synth_range(g, 1, 60) * SYNTH_DAY : t;
		e = synth_add(g, x, an, h->v, VOCAB_EV_NGO_DISCLOSURE, VOCAB_ROLE_VICTIM);
		if (e) {
			e->other = synth_p(g, 500) ? h->p : -1;
			e->rel = (unsigned char)(e->other >= 0 ? h->rel_vp : 0);
			e->forms = forms;
		}
		if (synth_p(g, 800))
			synth_add(g, x, an, h->v, VOCAB_EV_INTAKE, VOCAB_ROLE_VICTIM);
		for (i = (int)synth_range(g, 0, 8); i > 0; i--)
			synth_add(g, x + i * 7 * SYNTH_DAY, an, h->v, VOCAB_EV_COUNSELLING,
				  VOCAB_ROLE_VICTIM);
		if (synth_p(g, 300))
			synth_add(g, x + synth_range(g, 2, 30) * SYNTH_DAY, an, h->v,
				  VOCAB_EV_PSYCHOLOGIST, VOCAB_ROLE_VICTIM);
		if (synth_p(g, 250))
			synth_add(g, x + synth_range(g, 2, 30) * SYNTH_DAY, an, h->v,
				  VOCAB_EV_LEGAL_AID, VOCAB_ROLE_VICTIM);
		if (synth_p(g, 100)) {
			d = synth_range(g, 0, 3) * SYNTH_DAY;
			synth_add(g, x + d, an, h->v, VOCAB_EV_SHELTER_ADMISSION,
				  VOCAB_ROLE_VICTIM);
			synth_add(g, x + d + synth_range(g, 3, 60) * SYNTH_DAY, an, h->v,
				  VOCAB_EV_SHELTER_EXIT, VOCAB_ROLE_VICTIM);
		}
		if (synth_p(g, 350)) {
			e = synth_add(g, x + synth_range(g, 0, 3) * SYNTH_DAY, an, h->v,
				      VOCAB_EV_RISK_ASSESSMENT, VOCAB_ROLE_VICTIM);
			if (e) {
				e->risk = (unsigned char)risk;
				e->instr = 2;
				e->score = (int)(risk * 6 + synth_range(g, 0, 5));
				if (risk == 4)
					e = synth_add(g, e->t + synth_range(g, 3, 20) * SYNTH_DAY,
						      as, h->v, VOCAB_EV_MARAC_CASE_REVIEW,
						      VOCAB_ROLE_VICTIM);
				if (e && e->type == VOCAB_EV_MARAC_CASE_REVIEW) {
					e->risk = 4;
					e->instr = 2;
				}
			}
		}
		if (!police && synth_p(g, 150))
			synth_social_support(g, m, h->v, x + synth_range(g, 1, 20) * SYNTH_DAY);
	}
}

/* Builds one household (victim, perpetrator, children) and all its events. */
static void synth_household(struct synth_gen *g)
{
	struct synth_hh h;
	const char *cc;
	int vage, page, married, fam, pfam, nep, i, j, cross = -1, is_sister;
	size_t nfam;
	int64_t span = g->end - g->start - 30 * SYNTH_DAY, times[8];
	char vsex;

	memset(&h, 0, sizeof(h));
	g->nhp = 0;
	g->nev = 0;
	g->nrec = 0;
	is_sister = g->sister.pending;
	g->sister.pending = 0;
	h.home = is_sister ? g->sister.home : synth_pick_muni(g, -1);
	synth_names_muni(g->munis[h.home], NULL, NULL, &cc, NULL);
	h.lt = cc[1] == 'T';
	nfam = synth_names_family_count(h.lt ? "LT" : "LV");
	vsex = is_sister || synth_p(g, 850) ? 'F' : 'M';
	if (!is_sister && synth_p(g, 70)) {
		/* elder abuse by an adult son or daughter */
		vage = (int)synth_range(g, 63, 85);
		h.v = synth_new_person(g, vsex, h.lt, vage);
		page = vage - (int)synth_range(g, 20, 35);
		h.p = synth_new_person(g, synth_p(g, 850) ? 'M' : 'F', h.lt, page);
		h.rel_vp = REL_CHILD;
		h.rel_pv = REL_PARENT;
		fam = (int)synth_below(g, nfam);
		g->hp[h.v].family =
		    synth_names_family(h.lt ? "LT" : "LV", (size_t)fam, vsex == 'M' ? 'M' : 'F');
		g->hp[h.p].family =
		    synth_names_family(h.lt ? "LT" : "LV", (size_t)fam,
				       g->hp[h.p].sex == 'M' ? 'M' : (h.lt ? 'G' : 'F'));
	} else {
		vage = 18 + (int)synth_range(g, 0, 25) + (int)synth_range(g, 0, 25);
		h.v = synth_new_person(g, vsex, h.lt, vage);
		page = vage + (int)synth_range(g, -3, 8);
		h.p = synth_new_person(g, synth_p(g, 950) ? (vsex == 'F' ? 'M' : 'F') : vsex, h.lt,
				       page < 18 ? 18 : page);
		married = !is_sister && synth_p(g, 450);
		h.rel_vp = h.rel_pv = synth_p(g, 650) ? REL_PARTNER : REL_EX;
		pfam = (int)synth_below(g, nfam);
		fam = married ? pfam : is_sister ? g->sister.fam : (int)synth_below(g, nfam);
		if (is_sister) {
			g->hp[h.v].by = g->sister.by;
			g->hp[h.v].bm = g->sister.bm;
			g->hp[h.v].bd = g->sister.bd;
			if (synth_p(g, 700)) { /* not twins: one to three years apart */
				g->hp[h.v].by += (int)synth_range(g, 1, 3);
				if (g->hp[h.v].bd > 28)
					g->hp[h.v].bd = 28;
			}
			g->hp[h.v].code_new = !h.lt && synth_p(g, 120);
		}
		g->hp[h.v].family =
		    synth_names_family(h.lt ? "LT" : "LV", (size_t)fam,
				       vsex == 'M' ? 'M' : (h.lt && !married ? 'G' : 'F'));
		g->hp[h.p].family =
		    synth_names_family(h.lt ? "LT" : "LV", (size_t)pfam,
				       g->hp[h.p].sex == 'M' ? 'M' : (h.lt ? 'G' : 'F'));
		if (vage >= 20 && vage <= 50) {
			uint64_t r = synth_below(g, 100);

			h.nkids = r < 35 ? 0 : r < 65 ? 1 : r < 90 ? 2 : 3;
			for (i = 0; i < h.nkids; i++) {
				int kage = (int)synth_range(g, -2, vage - 19 < 17 ? vage - 19 : 17);
				char ks = synth_p(g, 500) ? 'F' : 'M';
				int kfam = married || synth_p(g, 500) ? pfam : fam;

				h.kids[i] = synth_new_person(g, ks, h.lt, kage);
				g->hp[h.kids[i]].family = synth_names_family(
				    h.lt ? "LT" : "LV", (size_t)kfam, ks == 'M' ? 'M' : 'G');
			}
		}
		if (!is_sister && !married && vsex == 'F' && synth_p(g, 40)) {
			/* the next household's victim is her sister: same maiden name, close birth
			 */
			g->sister.pending = 1;
			g->sister.home = h.home;
			g->sister.fam = fam;
			g->sister.by = g->hp[h.v].by;
			g->sister.bm = g->hp[h.v].bm;
			g->sister.bd = g->hp[h.v].bd;
		}
	}
	for (i = 0; i < g->nhp; i++)
		synth_make_code(g, &g->hp[i]);

	h.sev = (int)synth_range(g, 1, 4);
	nep = 1;
	{
		uint64_t r = synth_below(g, 100);

		nep = r < 55 ? 1 : r < 75 ? 2 : r < 85 ? 3 : (int)synth_range(g, 4, 8);
	}
	times[0] = g->start + (int64_t)synth_below(g, (uint64_t)(span / SYNTH_MIN)) * SYNTH_MIN;
	for (i = 1; i < nep; i++) {
		int64_t gap = synth_p(g, 100)
				  ? synth_range(g, 60 * 60, 6 * 24 * 60) * SYNTH_MIN
				  : synth_range(g, 4 * 24 * 60, 300 * 24 * 60) * SYNTH_MIN;

		times[i] = times[i - 1] + gap;
	}
	if (g->has_lv && g->has_lt && synth_p(g, 50))
		cross = (int)synth_below(g, (uint64_t)nep);
	for (i = 0; i < nep; i++) {
		size_t m = h.home;
		int foreign = i == cross;

		if (times[i] > g->end)
			break;
		/* night-time call-outs are the most common */
		if (synth_p(g, 600)) {
			int64_t day = times[i] / SYNTH_DAY * SYNTH_DAY;

			times[i] = day + (19 * 60 + synth_range(g, 0, 7 * 60)) * SYNTH_MIN;
		}
		if (h.programme_done && times[i] > h.programme_end &&
		    !synth_p(g, h.programme_completed ? 350 : 850))
			continue;
		if (foreign)
			m = synth_pick_muni(g, h.lt ? 0 : 1);
		synth_episode(g, &h, times[i], m, foreign);
		for (j = i + 1; j < nep; j++)
			if (times[j] < times[i])
				times[j] = times[i] + SYNTH_DAY * 4;
	}
}

/* ---- writing a household ----------------------------------------------- */

static void synth_fmt_date(int64_t t, char *buf, size_t cap)
{
	int y, m, d;

	synth_civil_from_days(t >= 0 ? t / SYNTH_DAY : (t - SYNTH_DAY + 1) / SYNTH_DAY, &y, &m, &d);
	synth_fmt(buf, cap, "%04d-%02d-%02d", y, m, d);
}

/* Formats occurred_at as the agency's system would: offsets, minutes only, dates only. */
static void synth_fmt_time(struct synth_gen *g, int agtype, int evtype, int64_t t, char *buf,
			   size_t cap)
{
	int y, m, d, off;
	int64_t lt, sod;
	int style; /* 0 seconds+offset, 1 minutes UTC, 2 date, 3 minutes+offset, 4 seconds Z */

	switch (agtype) {
	case AG_POLICE:
		style = synth_p(g, 500) ? 4 : 0;
		break;
	case AG_HEALTH:
		style = 1;
		break;
	case AG_NGO:
		style = synth_p(g, 500) ? 2 : 3;
		break;
	case AG_SOCIAL:
	case AG_CHILD:
		style = evtype == VOCAB_EV_REFERRAL_RECEIVED || evtype == VOCAB_EV_INTAKE ||
				evtype == VOCAB_EV_MARAC_CASE_REVIEW
			    ? 3
			    : 2;
		break;
	default:
		style = 2;
	}
	if (style == 2) {
		synth_fmt_date(t, buf, cap);
		return;
	}
	if (style == 1 || style == 4) {
		synth_civil_from_days(t / SYNTH_DAY, &y, &m, &d);
		sod = t % SYNTH_DAY;
		if (style == 1)
			synth_fmt(buf, cap, "%04d-%02d-%02dT%02d:%02d", y, m, d, (int)(sod / 3600),
				  (int)(sod / 60 % 60));
		else
			synth_fmt(buf, cap, "%04d-%02d-%02dT%02d:%02d:%02dZ", y, m, d,
				  (int)(sod / 3600), (int)(sod / 60 % 60), (int)(sod % 60));
		return;
	}
	synth_civil_from_days(t / SYNTH_DAY, &y, &m, &d);
	off = m >= 4 && m <= 10 ? 3 : 2; /* roughly EEST / EET */
	lt = t + off * SYNTH_HOUR;
	synth_civil_from_days(lt / SYNTH_DAY, &y, &m, &d);
	sod = lt % SYNTH_DAY;
	if (style == 0)
		synth_fmt(buf, cap, "%04d-%02d-%02dT%02d:%02d:%02d+%02d:00", y, m, d,
			  (int)(sod / 3600), (int)(sod / 60 % 60), (int)(sod % 60), off);
	else
		synth_fmt(buf, cap, "%04d-%02d-%02dT%02d:%02d+%02d:00", y, m, d, (int)(sod / 3600),
			  (int)(sod / 60 % 60), off);
}

/* Writes one persons.csv row for person pi at agency ai, with the agency's recording noise. */
static int synth_write_person(struct synth_gen *g, int pi, int ai, uint64_t ref)
{
	const struct synth_person *p = &g->hp[pi];
	const struct synth_agency *a = &g->ag[ai];
	const char *acc;
	char line[1024], refs[32], code[24] = "", country[3] = "", given[128], family[160];
	char birth[16] = "", sex[2] = "U", tmp[160];
	size_t pos = 0;
	int foreign, ngo = a->type == AG_NGO, k;
	unsigned pcode;

	synth_names_muni(g->munis[a->muni], NULL, NULL, &acc, NULL);
	foreign = (acc[1] == 'T') != (p->lt == 1);
	synth_fmt(refs, sizeof(refs), "%s%06" PRIu64, synth_type_prefix[a->type], ref);
	pcode = foreign ? (a->type == AG_HEALTH ? 500 : 300) : ngo ? 400 : 930;
	if (synth_p(g, pcode)) {
		memcpy(code, p->code, 12);
		if (!p->code_new && synth_p(g, 15)) {
			k = code[10] - '0';
			code[10] = (char)('0' + (k + 1 + (int)synth_below(g, 9)) % 10);
		}
		synth_fmt(country, sizeof(country), "%s", p->lt ? "LT" : "LV");
		if (!p->lt && synth_p(g, 800)) {
			synth_fmt(tmp, sizeof(tmp), "%.6s-%s", code, code + 6);
			synth_fmt(code, sizeof(code), "%s", tmp);
		} else if (p->lt && synth_p(g, 30)) {
			synth_fmt(tmp, sizeof(tmp), "%.7s %s", code, code + 7);
			synth_fmt(code, sizeof(code), "%s", tmp);
		}
	}
	synth_fmt(given, sizeof(given), "%s", p->given);
	synth_fmt(family, sizeof(family), "%s", p->family ? p->family : "");
	if (synth_p(g, ngo ? 200 : 100)) {
		synth_strip(tmp, sizeof(tmp), given);
		synth_fmt(given, sizeof(given), "%s", tmp);
		synth_strip(tmp, sizeof(tmp), family);
		synth_fmt(family, sizeof(family), "%s", tmp);
	}
	if (synth_p(g, 20))
		synth_typo(g, family, sizeof(family));
	if (synth_p(g, 15))
		synth_typo(g, given, sizeof(given));
	if (synth_p(g, 3)) {
		size_t n = strlen(given) < 4 ? strlen(given) : 4;

		while (n > 0 && ((unsigned char)given[n] & 0xC0) == 0x80)
			n--; /* never cut a UTF-8 sequence */
		synth_fmt(tmp, sizeof(tmp), "%s \"%.*s\"", given, (int)n, given);
		synth_fmt(given, sizeof(given), "%s", tmp);
	}
	if (synth_p(g, 15)) {
		synth_fmt(tmp, sizeof(tmp), "%s", given);
		synth_fmt(given, sizeof(given), "%s", family);
		synth_fmt(family, sizeof(family), "%s", tmp);
	}
	if (ngo && synth_p(g, 100))
		family[0] = '\0';
	k = (int)synth_below(g, 1000);
	if (k < (ngo ? 100 : 10)) {
		birth[0] = '\0';
	} else if (k < (ngo ? 300 : 40)) {
		synth_fmt(birth, sizeof(birth), "%04d", p->by);
	} else if (k < (ngo ? 305 : 45) && p->bd <= 12 && p->bd != p->bm) {
		synth_fmt(birth, sizeof(birth), "%04d-%02d-%02d", p->by, p->bd, p->bm);
	} else {
		synth_fmt(birth, sizeof(birth), "%04d-%02d-%02d", p->by, p->bm, p->bd);
	}
	if (!synth_p(g, ngo ? 50 : 10))
		sex[0] = p->sex;
	acc = "";
	if (synth_p(g, ngo ? 40 : a->type == AG_HEALTH ? 20 : a->type == AG_SOCIAL ? 10 : 5))
		acc = "restricted";
	else if (synth_p(g, 100))
		acc = "allowed";
	synth_field(line, sizeof(line), &pos, refs, 1);
	synth_field(line, sizeof(line), &pos, code, 0);
	synth_field(line, sizeof(line), &pos, country, 0);
	synth_field(line, sizeof(line), &pos, given, 0);
	synth_field(line, sizeof(line), &pos, family, 0);
	synth_field(line, sizeof(line), &pos, birth, 0);
	synth_field(line, sizeof(line), &pos, sex, 0);
	synth_field(line, sizeof(line), &pos, acc, 0);
	if (pos + 2 > sizeof(line))
		return CL_ELIMIT;
	line[pos++] = '\n';
	g->persons_written++;
	{
		char l2[256];
		size_t p2 = 0;
		char tid[32];

		synth_fmt(tid, sizeof(tid), "T%07" PRIu64, p->tid);
		synth_field(l2, sizeof(l2), &p2, a->id, 1);
		synth_field(l2, sizeof(l2), &p2, refs, 0);
		synth_field(l2, sizeof(l2), &p2, tid, 0);
		l2[p2++] = '\n';
		k = synth_buf_line(&g->links, l2, p2);
		if (k)
			return k;
	}
	return synth_buf_line(&g->ag[ai].persons, line, pos);
}

/* The person_ref of person pi at agency ai, writing the persons row on first use. */
static int synth_ref(struct synth_gen *g, int pi, int ai, int new_episode, uint64_t *ref)
{
	int i, rc;

	for (i = g->nrec - 1; i >= 0; i--)
		if (g->rec[i].person == pi && g->rec[i].agency == ai)
			break;
	/* an NGO sometimes opens a second file for a returning client */
	if (i >= 0 && !(new_episode && g->ag[ai].type == AG_NGO && synth_p(g, 30))) {
		*ref = g->rec[i].ref;
		return 0;
	}
	if (g->nrec >= SYNTH_MAX_RECS)
		return CL_ELIMIT;
	g->rec[g->nrec].person = pi;
	g->rec[g->nrec].agency = ai;
	g->rec[g->nrec].ref = ++g->ag[ai].next_person;
	rc = synth_write_person(g, pi, ai, g->rec[g->nrec].ref);
	if (rc)
		return rc;
	*ref = g->rec[g->nrec++].ref;
	return 0;
}

static int synth_ev_cmp(const void *a, const void *b)
{
	const struct synth_ev *x = a, *y = b;

	if (x->t != y->t)
		return x->t < y->t ? -1 : 1;
	if (x->agency != y->agency)
		return x->agency < y->agency ? -1 : 1;
	if (x->person != y->person)
		return x->person < y->person ? -1 : 1;
	return (int)x->type - (int)y->type;
}

static int synth_flush_household(struct synth_gen *g)
{
	char line[1024], when[40], ref[32], pref[32], oref[32], num[16], forms[64], muni[64];
	uint64_t r, o;
	size_t pos;
	int i, k, rc;

	qsort(g->ev, (size_t)g->nev, sizeof(g->ev[0]), synth_ev_cmp);
	for (i = 0; i < g->nev; i++) {
		const struct synth_ev *e = &g->ev[i];
		struct synth_agency *a = &g->ag[e->agency];
		const char *mname;

		if (!(g->types & (1u << a->type)))
			continue; /* --agency-types: this agency does not take part */
		rc = synth_ref(g, e->person, e->agency, e->type <= VOCAB_EV_NGO_DISCLOSURE, &r);
		if (rc)
			return rc;
		oref[0] = '\0';
		if (e->other >= 0) {
			rc = synth_ref(g, e->other, e->agency, 0, &o);
			if (rc)
				return rc;
			synth_fmt(oref, sizeof(oref), "%s%06" PRIu64, synth_type_prefix[a->type],
				  o);
		}
		synth_fmt(pref, sizeof(pref), "%s%06" PRIu64, synth_type_prefix[a->type], r);
		synth_fmt(ref, sizeof(ref), "E%08" PRIu64, ++a->next_event);
		synth_fmt_time(g, a->type, e->type, e->t, when, sizeof(when));
		forms[0] = '\0';
		for (k = 0; k < 4; k++)
			if (e->forms & (1u << k)) {
				if (forms[0])
					strcat(forms, ";");
				strcat(forms, vocab_name(VOCAB_VIOLENCE_FORM, (size_t)k));
			}
		synth_names_muni(g->munis[a->muni], NULL, &mname, NULL, NULL);
		synth_fmt(muni, sizeof(muni), "%s",
			  a->type == AG_POLICE && synth_p(g, 300) ? mname : "");
		pos = 0;
		synth_field(line, sizeof(line), &pos, ref, 1);
		synth_field(line, sizeof(line), &pos, pref, 0);
		synth_field(line, sizeof(line), &pos, vocab_name(VOCAB_EVENT_TYPE, e->type), 0);
		synth_field(line, sizeof(line), &pos, when, 0);
		synth_field(line, sizeof(line), &pos, vocab_name(VOCAB_ROLE, e->role), 0);
		synth_field(line, sizeof(line), &pos, oref, 0);
		synth_field(line, sizeof(line), &pos,
			    e->rel ? vocab_name(VOCAB_RELATIONSHIP, e->rel - 1u) : "", 0);
		synth_field(line, sizeof(line), &pos, forms, 0);
		synth_field(line, sizeof(line), &pos,
			    e->risk ? vocab_name(VOCAB_RISK_LEVEL, e->risk - 1u) : "", 0);
		num[0] = '\0';
		if (e->instr && e->score > 0)
			synth_fmt(num, sizeof(num), "%d", e->score);
		synth_field(line, sizeof(line), &pos, num, 0);
		synth_field(
		    line, sizeof(line), &pos,
		    num[0] && e->instr ? vocab_name(VOCAB_RISK_INSTRUMENT, e->instr - 1u) : "", 0);
		num[0] = '\0';
		if (e->ctl != 255)
			synth_fmt(num, sizeof(num), "%d", e->ctl);
		synth_field(line, sizeof(line), &pos, num, 0);
		synth_field(line, sizeof(line), &pos,
			    e->refto != 255
				? vocab_name(VOCAB_AGENCY_TYPE, synth_type_vocab[e->refto])
				: "",
			    0);
		synth_field(line, sizeof(line), &pos, muni, 0);
		if (pos + 2 > sizeof(line))
			return CL_ELIMIT;
		line[pos++] = '\n';
		rc = synth_buf_line(&a->events, line, pos);
		if (rc)
			return rc;
		g->events_written++;
	}
	return 0;
}

/* ---- command line ------------------------------------------------------ */

static int synth_mkdir(const char *path)
{
	if (mkdir(path, 0755) != 0 && errno != EEXIST)
		return CL_EIO;
	return 0;
}

static int synth_parse_date(const char *s, int64_t *days)
{
	int y, m, d;
	char tail;

	if (strlen(s) != 10 || sscanf(s, "%4d-%2d-%2d%c", &y, &m, &d, &tail) != 3 || m < 1 ||
	    m > 12 || d < 1 || d > synth_days_in_month(y, m) || y < 1900 || y > 2200)
		return CL_EINVAL;
	*days = synth_days_from_civil(y, m, d);
	return 0;
}

static int synth_parse_u64(const char *s, uint64_t lo, uint64_t hi, uint64_t *out)
{
	char *end = NULL;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || !end || *end || end == s || s[0] == '-' || v < lo || v > hi)
		return CL_EINVAL;
	*out = v;
	return 0;
}

static void synth_usage(FILE *f)
{
	fprintf(f,
		"usage: caselink synth --out DIR [--seed N] [--municipalities LIST]\n"
		"                      [--persons N] [--years N] [--end-date YYYY-MM-DD]\n"
		"                      [--no-truth] [--m7-max N]\n"
		"                      [--agency-types TYPES] [--events N]\n"
		"  LIST: comma-separated municipality ids or names, or all (default "
		"liepaja,klaipeda,tukums)\n"
		"  TYPES: the agency types each municipality has, comma-separated (default all:\n"
		"         police,social_services,ngo,health,probation,child_rights); events at\n"
		"         other agencies are not written\n"
		"  --events N: generate households until N events are written (instead of\n"
		"         --persons)\n"
		"  defaults: --seed 1 --persons 3000 --years 3 --end-date 2026-06-30\n");
}

/* Parses --agency-types into a bit mask of agency types; 0 when a name is unknown. */
static unsigned synth_parse_types(const char *list)
{
	char buf[256], *tok, *save = NULL;
	unsigned mask = 0;
	size_t k;

	if (synth_fmt(buf, sizeof(buf), "%s", list) != 0)
		return 0;
	for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		for (k = 0; k < SYNTH_NTYPES; k++)
			if (!strcmp(tok, vocab_name(VOCAB_AGENCY_TYPE, synth_type_vocab[k])) ||
			    !strcmp(tok, synth_type_slug[k]))
				break;
		if (k == SYNTH_NTYPES)
			return 0;
		mask |= 1u << k;
	}
	return mask;
}

static int synth_setup(struct synth_gen *g, const char *list)
{
	char buf[2048], *tok, *save = NULL, path[SYNTH_PATH_MAX];
	const char *id, *cc;
	size_t i, idx, j, k, used = 0;
	unsigned w;
	int rc;

	if (!strcmp(list, "all")) { /* every municipality of the table, in table order */
		buf[0] = '\0';
		for (i = 0; i < synth_names_muni_count(); i++) {
			synth_names_muni(i, &id, NULL, NULL, NULL);
			if (synth_fmt(buf + used, sizeof(buf) - used, "%s%s", i ? "," : "", id))
				return CL_ELIMIT;
			used += strlen(buf + used);
		}
	} else if (synth_fmt(buf, sizeof(buf), "%s", list) != 0)
		return CL_EINVAL;
	for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		while (*tok == ' ')
			tok++;
		if (synth_names_muni_find(tok, &idx)) {
			fprintf(stderr, "caselink synth: unknown municipality (see the table in "
					"tools/synth_names.c)\n");
			return CL_EINVAL;
		}
		for (j = 0; j < g->nmunis; j++)
			if (g->munis[j] == idx)
				break;
		if (j < g->nmunis)
			continue;
		if (g->nmunis >= SYNTH_MAX_MUNIS)
			return CL_ELIMIT;
		g->munis[g->nmunis++] = idx;
		synth_names_muni(idx, NULL, NULL, &cc, &w);
		g->wsum += w;
		if (cc[1] == 'T')
			g->has_lt = 1;
		else
			g->has_lv = 1;
	}
	if (g->nmunis == 0)
		return CL_EINVAL;
	g->nag = g->nmunis * SYNTH_NTYPES;
	g->ag = calloc(g->nag, sizeof(*g->ag));
	if (!g->ag)
		return CL_ENOMEM;
	if (synth_fmt(path, sizeof(path), "%s/agencies", g->out))
		return CL_ELIMIT;
	if ((rc = synth_mkdir(g->out)) || (rc = synth_mkdir(path)))
		return rc;
	if (synth_fmt(path, sizeof(path), "%s/truth", g->out))
		return CL_ELIMIT;
	if ((rc = synth_mkdir(path)))
		return rc;
	for (i = 0; i < g->nmunis; i++) {
		synth_names_muni(g->munis[i], &id, NULL, &cc, NULL);
		for (k = 0; k < SYNTH_NTYPES; k++) {
			struct synth_agency *a = &g->ag[i * SYNTH_NTYPES + k];

			synth_fmt(a->id, sizeof(a->id), "%c%c-%s-%s", cc[0] + 32, cc[1] + 32, id,
				  synth_type_slug[k]);
			a->type = (int)k;
			a->muni = i;
			if (!(g->types & (1u << k)))
				continue; /* no folder, no files, not in federation.csv */
			if (synth_fmt(path, sizeof(path), "%s/agencies/%s", g->out, a->id) >=
			    (int)sizeof(path))
				return CL_ELIMIT;
			if ((rc = synth_mkdir(path)))
				return rc;
			strcat(path, "/persons.csv");
			rc = synth_buf_init(&a->persons, path,
					    "person_ref,national_id,id_country,given_name,"
					    "family_name,birth_date,sex,sharing\n");
			if (rc)
				return rc;
			if (synth_fmt(path, sizeof(path), "%s/agencies/%s/events.csv", g->out,
				      a->id))
				return CL_ELIMIT;
			rc = synth_buf_init(
			    &a->events, path,
			    "event_ref,person_ref,event_type,occurred_at,role,"
			    "other_person_ref,relationship,violence_forms,risk_level,"
			    "risk_score,risk_instrument,child_threat_level,referral_"
			    "to,municipality\n");
			if (rc)
				return rc;
		}
	}
	if (synth_fmt(path, sizeof(path), "%s/truth/links.csv", g->out))
		return CL_ELIMIT;
	return synth_buf_init(&g->links, path, "agency_id,person_ref,true_person_id\n");
}

static int synth_write_federation(struct synth_gen *g)
{
	char path[SYNTH_PATH_MAX];
	const char *name, *cc;
	FILE *f;
	size_t i;
	int rc = 0;

	if (synth_fmt(path, sizeof(path), "%s/federation.csv", g->out))
		return CL_ELIMIT;
	f = fopen(path, "wb");
	if (!f)
		return CL_EIO;
	fprintf(f, "agency_id,agency_type,municipality,country\n");
	for (i = 0; i < g->nag; i++) {
		if (!(g->types & (1u << g->ag[i].type)))
			continue;
		synth_names_muni(g->munis[g->ag[i].muni], NULL, &name, &cc, NULL);
		fprintf(f, "%s,%s,%s,%s\n", g->ag[i].id,
			vocab_name(VOCAB_AGENCY_TYPE, synth_type_vocab[g->ag[i].type]), name, cc);
	}
	if (fclose(f) != 0)
		rc = CL_EIO;
	return rc;
}

int synth_main(int argc, char **argv)
{
	struct synth_gen *g = NULL;
	const char *out = NULL, *list = "liepaja,klaipeda,tukums", *enddate = "2026-06-30";
	uint64_t seed = 1, persons = 3000, years = 3, m7max = 1000, events = 0;
	unsigned types = (1u << SYNTH_NTYPES) - 1;
	int64_t endday, startday;
	int i, rc = CL_EUSAGE, notruth = 0, y, m, d;
	size_t k, nag;
	char from[16], to[16], path[SYNTH_PATH_MAX];

	for (i = 1; i < argc; i++) {
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (!strcmp(argv[i], "--no-truth")) {
			notruth = 1;
			continue;
		}
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			synth_usage(stdout);
			return 0;
		}
		if (!v)
			goto usage;
		if (!strcmp(argv[i], "--out"))
			out = v;
		else if (!strcmp(argv[i], "--seed")) {
			if (synth_parse_u64(v, 0, UINT64_MAX, &seed))
				goto usage;
		} else if (!strcmp(argv[i], "--municipalities"))
			list = v;
		else if (!strcmp(argv[i], "--persons")) {
			if (synth_parse_u64(v, 1, 100000000ULL, &persons))
				goto usage;
		} else if (!strcmp(argv[i], "--years")) {
			if (synth_parse_u64(v, 1, 50, &years))
				goto usage;
		} else if (!strcmp(argv[i], "--m7-max")) {
			if (synth_parse_u64(v, 0, 100000000ULL, &m7max))
				goto usage;
		} else if (!strcmp(argv[i], "--end-date"))
			enddate = v;
		else if (!strcmp(argv[i], "--agency-types")) {
			if (!(types = synth_parse_types(v)))
				goto usage;
		} else if (!strcmp(argv[i], "--events")) {
			if (synth_parse_u64(v, 1, 1000000000ULL, &events))
				goto usage;
		} else
			goto usage;
		i++;
	}
	if (!out || synth_parse_date(enddate, &endday))
		goto usage;
	g = calloc(1, sizeof(*g));
	if (!g) {
		rc = CL_ENOMEM;
		goto out;
	}
	if (synth_fmt(g->out, sizeof(g->out), "%s", out) != 0) {
		rc = CL_ELIMIT;
		goto out;
	}
	g->types = types;
	synth_rng_seed(&g->rng, seed);
	synth_civil_from_days(endday, &y, &m, &d);
	startday = synth_days_from_civil(y - (int)years, m, d > 28 && m == 2 ? 28 : d) + 1;
	g->start = startday * SYNTH_DAY;
	g->end = (endday + 1) * SYNTH_DAY - 1;
	synth_civil_from_days(startday, &g->start_year, &m, &d);
	rc = synth_setup(g, list);
	if (rc) {
		if (rc == CL_EINVAL)
			goto usage;
		goto out;
	}
	/* --events: bounded by the largest --persons, in case the chosen agencies see nothing */
	while (events ? g->events_written < events && g->next_tid < 100000000ULL
		      : g->next_tid < persons) {
		synth_household(g);
		rc = synth_flush_household(g);
		if (rc)
			goto out;
	}
	for (k = 0; k < g->nag; k++) {
		if ((rc = synth_buf_close(&g->ag[k].persons)) ||
		    (rc = synth_buf_close(&g->ag[k].events)))
			goto out;
	}
	if ((rc = synth_buf_close(&g->links)) || (rc = synth_write_federation(g)))
		goto out;
	for (k = 0, nag = 0; k < g->nag; k++)
		nag += (g->types >> g->ag[k].type) & 1u;
	fprintf(stderr,
		"caselink synth: %zu agencies, %" PRIu64 " persons, %" PRIu64
		" person rows, %" PRIu64 " events\n",
		nag, g->next_tid, g->persons_written, g->events_written);
	if (!notruth) {
		/* the last full calendar year within the generated range */
		synth_civil_from_days(endday, &y, &m, &d);
		if (!(m == 12 && d == 31))
			y--;
		if (synth_days_from_civil(y, 1, 1) >= startday) {
			synth_fmt(from, sizeof(from), "%04d-01-01", y);
			synth_fmt(to, sizeof(to), "%04d-01-01", y + 1);
		} else {
			synth_fmt_date(g->start, from, sizeof(from));
			synth_fmt_date(g->end + 1, to, sizeof(to));
		}
		if (synth_fmt(path, sizeof(path), "%s/truth/expected", g->out)) {
			rc = CL_ELIMIT;
			goto out;
		}
		rc = truth_compute(g->out, from, to, NULL, path, (size_t)m7max);
		if (rc)
			goto out;
	}
	rc = 0;
out:
	if (g) {
		for (k = 0; g->ag && k < g->nag; k++) {
			free(g->ag[k].persons.data);
			free(g->ag[k].events.data);
		}
		free(g->links.data);
		free(g->ag);
		free(g);
	}
	if (rc) {
		fprintf(stderr, "caselink synth: %s\n", cl_strerror(rc));
		return 1;
	}
	return 0;
usage:
	synth_usage(stderr);
	free(g ? g->ag : NULL);
	free(g);
	return 2;
}
