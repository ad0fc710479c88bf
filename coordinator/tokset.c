/* tokset — a node's TOKENS answer in compact form (see tokset.h). */
#include "coordinator/tokset.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "common/cl_error.h"
#include "common/grow.h"

#define TS_ID	  1u
#define TS_DEMO	  2u
#define TS_BLOOM  4u
#define TS_YEAR	  8u
#define TS_DATE	  16u
#define TS_GIVEN  32u
#define TS_RESTR  64u
#define TS_NOSTR  UINT32_MAX
#define TS_HSLOTS 64 /* first string table slots (a power of two; doubles at half full) */

struct ts_rec {
	uint64_t off; /* handle, then the tokens present, in the arena */
	uint32_t ev0, nev;
	uint16_t aid, atype, amuni;
	uint8_t hlen, flags;
	char sex;
};

struct ts_ev {
	int64_t at;
	uint16_t type, role, muni, risk, ref;
	int32_t threat, age;
};

struct tokset {
	struct ts_rec *recs;
	size_t n, rcap;
	unsigned char *arena; /* handles, tokens and filters: wiped on free */
	size_t alen, acap;
	struct ts_ev *evs;
	size_t nev, ecap;
	char *str; /* interned strings, NUL-terminated */
	size_t slen, scap;
	uint32_t *soff; /* string id -> offset in str */
	size_t nstr, socap;
	uint32_t *slots; /* string ids by hash, TS_NOSTR when empty */
	size_t hcap;
};

int tokset_new(struct tokset **out)
{
	struct tokset *s;

	if (!out)
		return CL_EINVAL;
	s = calloc(1, sizeof(*s));
	if (!s)
		return CL_ENOMEM;
	s->slots = malloc(TS_HSLOTS * sizeof(*s->slots));
	if (!s->slots) {
		free(s);
		return CL_ENOMEM;
	}
	memset(s->slots, 0xff, TS_HSLOTS * sizeof(*s->slots));
	s->hcap = TS_HSLOTS;
	*out = s;
	return 0;
}

void tokset_free(struct tokset *s)
{
	if (!s)
		return;
	if (s->arena)
		OPENSSL_cleanse(s->arena, s->acap);
	free(s->arena);
	free(s->recs);
	free(s->evs);
	free(s->str);
	free(s->soff);
	free(s->slots);
	free(s);
}

static uint32_t ts_hash(const char *v, size_t len)
{
	uint32_t h = 2166136261u;
	size_t i;

	for (i = 0; i < len; i++)
		h = (h ^ (unsigned char)v[i]) * 16777619u;
	return h;
}

/* Doubles the string table (at half full) and rehashes it. */
static int ts_rehash(struct tokset *s)
{
	size_t cap = s->hcap * 2, i, slot;
	uint32_t *t = malloc(cap * sizeof(*t));

	if (!t)
		return CL_ENOMEM;
	memset(t, 0xff, cap * sizeof(*t));
	for (i = 0; i < s->nstr; i++) {
		const char *v = s->str + s->soff[i];

		slot = ts_hash(v, strlen(v)) & (cap - 1);
		while (t[slot] != TS_NOSTR)
			slot = (slot + 1) & (cap - 1);
		t[slot] = (uint32_t)i;
	}
	free(s->slots);
	s->slots = t;
	s->hcap = cap;
	return 0;
}

/* Writes the id of string v (NULL: ""), adding it when new. */
static int ts_intern(struct tokset *s, const char *v, uint16_t *id)
{
	size_t len, slot;
	int rc;

	if (!v)
		v = "";
	len = strnlen(v, TOKSET_STRING_MAX);
	if (len >= TOKSET_STRING_MAX)
		return CL_EINVAL;
	slot = ts_hash(v, len) & (s->hcap - 1);
	while (s->slots[slot] != TS_NOSTR) {
		if (!strcmp(s->str + s->soff[s->slots[slot]], v)) {
			*id = (uint16_t)s->slots[slot];
			return 0;
		}
		slot = (slot + 1) & (s->hcap - 1);
	}
	if (s->nstr >= TOKSET_MAX_STRINGS)
		return CL_ELIMIT;
	if (2 * (s->nstr + 1) > s->hcap) {
		rc = ts_rehash(s);
		if (rc)
			return rc;
		slot = ts_hash(v, len) & (s->hcap - 1);
		while (s->slots[slot] != TS_NOSTR)
			slot = (slot + 1) & (s->hcap - 1);
	}
	rc = grow_array((void **)&s->str, &s->scap, s->slen + len + 1, 1);
	if (rc == 0)
		rc = grow_array((void **)&s->soff, &s->socap, s->nstr + 1, sizeof(*s->soff));
	if (rc)
		return rc;
	memcpy(s->str + s->slen, v, len + 1);
	s->soff[s->nstr] = (uint32_t)s->slen;
	s->slen += len + 1;
	s->slots[slot] = (uint32_t)s->nstr;
	*id = (uint16_t)s->nstr++;
	return 0;
}

static const char *ts_str(const struct tokset *s, uint16_t id)
{
	return s->str + s->soff[id];
}

/* Appends len bytes (or none, for NULL) to the arena; sets flag in *flags when copied. */
static void ts_put(struct tokset *s, const unsigned char *p, size_t len, uint8_t flag,
		   uint8_t *flags)
{
	if (!p)
		return;
	memcpy(s->arena + s->alen, p, len);
	s->alen += len;
	*flags |= flag;
}

int tokset_add(struct tokset *s, const struct tokset_rec *r)
{
	struct ts_rec e;
	size_t need;
	int rc;

	if (!s || !r || !r->handle || r->handle_len < 1 || r->handle_len > LINKER_HANDLE_MAX)
		return CL_EINVAL;
	if (s->n >= TOKSET_MAX_RECORDS)
		return CL_ELIMIT;
	memset(&e, 0, sizeof(e));
	rc = ts_intern(s, r->agency_id, &e.aid);
	if (rc == 0)
		rc = ts_intern(s, r->agency_type, &e.atype);
	if (rc == 0)
		rc = ts_intern(s, r->municipality, &e.amuni);
	if (rc)
		return rc;
	/* at most a handle, five tokens and a filter */
	need = s->alen + LINKER_HANDLE_MAX + 5 * LINKER_TOKEN_LEN + LINKER_BLOOM_BYTES;
	if (need < s->alen)
		return CL_EOVERFLOW;
	/* grown by copying, so that no stale copy of a token is left behind by realloc */
	rc = grow_array_secret((void **)&s->arena, &s->acap, need, 1);
	if (rc)
		return rc;
	rc = grow_array((void **)&s->recs, &s->rcap, s->n + 1, sizeof(*s->recs));
	if (rc)
		return rc;
	e.off = s->alen;
	e.ev0 = (uint32_t)s->nev;
	e.hlen = (uint8_t)r->handle_len;
	e.sex = r->sex ? r->sex : 'U';
	if (r->restricted)
		e.flags |= TS_RESTR;
	memcpy(s->arena + s->alen, r->handle, r->handle_len);
	s->alen += r->handle_len;
	ts_put(s, r->id_token, LINKER_TOKEN_LEN, TS_ID, &e.flags);
	ts_put(s, r->demo_token, LINKER_TOKEN_LEN, TS_DEMO, &e.flags);
	ts_put(s, r->year_token, LINKER_TOKEN_LEN, TS_YEAR, &e.flags);
	ts_put(s, r->date_token, LINKER_TOKEN_LEN, TS_DATE, &e.flags);
	ts_put(s, r->given_token, LINKER_TOKEN_LEN, TS_GIVEN, &e.flags);
	ts_put(s, r->bloom, LINKER_BLOOM_BYTES, TS_BLOOM, &e.flags);
	s->recs[s->n++] = e;
	return 0;
}

int tokset_add_event(struct tokset *s, const struct measures_event *e)
{
	struct ts_ev v;
	int rc;

	if (!s || !e || !s->n)
		return CL_EINVAL;
	if (s->nev >= TOKSET_MAX_EVENTS)
		return CL_ELIMIT;
	memset(&v, 0, sizeof(v));
	rc = ts_intern(s, e->event_type, &v.type);
	if (rc == 0)
		rc = ts_intern(s, e->role, &v.role);
	if (rc == 0)
		rc = ts_intern(s, e->municipality, &v.muni);
	if (rc == 0)
		rc = ts_intern(s, e->risk_level, &v.risk);
	if (rc == 0)
		rc = ts_intern(s, e->referral_to, &v.ref);
	if (rc == 0)
		rc = grow_array((void **)&s->evs, &s->ecap, s->nev + 1, sizeof(*s->evs));
	if (rc)
		return rc;
	v.at = e->occurred_at;
	v.threat = e->child_threat_level;
	v.age = e->age_years;
	s->evs[s->nev++] = v;
	s->recs[s->n - 1].nev++;
	return 0;
}

size_t tokset_count(const struct tokset *s)
{
	return s ? s->n : 0;
}

/* The next field of a record's arena run when its flag is set, else NULL. */
static const unsigned char *ts_take(const unsigned char **p, uint8_t flags, uint8_t flag,
				    size_t len)
{
	const unsigned char *v = *p;

	if (!(flags & flag))
		return NULL;
	*p += len;
	return v;
}

int tokset_get(const struct tokset *s, size_t i, struct tokset_rec *r)
{
	const struct ts_rec *e;
	const unsigned char *p;

	if (!s || !r || i >= s->n)
		return CL_EINVAL;
	e = &s->recs[i];
	p = s->arena + e->off;
	memset(r, 0, sizeof(*r));
	r->handle = p;
	r->handle_len = e->hlen;
	p += e->hlen;
	r->id_token = ts_take(&p, e->flags, TS_ID, LINKER_TOKEN_LEN);
	r->demo_token = ts_take(&p, e->flags, TS_DEMO, LINKER_TOKEN_LEN);
	r->year_token = ts_take(&p, e->flags, TS_YEAR, LINKER_TOKEN_LEN);
	r->date_token = ts_take(&p, e->flags, TS_DATE, LINKER_TOKEN_LEN);
	r->given_token = ts_take(&p, e->flags, TS_GIVEN, LINKER_TOKEN_LEN);
	r->bloom = ts_take(&p, e->flags, TS_BLOOM, LINKER_BLOOM_BYTES);
	r->sex = e->sex;
	r->restricted = (e->flags & TS_RESTR) != 0;
	r->agency_id = ts_str(s, e->aid);
	r->agency_type = ts_str(s, e->atype);
	r->municipality = ts_str(s, e->amuni);
	r->nevents = e->nev;
	return 0;
}

int tokset_event(const struct tokset *s, size_t i, size_t k, struct measures_event *e)
{
	const struct ts_ev *v;

	if (!s || !e || i >= s->n || k >= s->recs[i].nev)
		return CL_EINVAL;
	v = &s->evs[s->recs[i].ev0 + k];
	e->event_type = ts_str(s, v->type);
	e->occurred_at = v->at;
	e->role = ts_str(s, v->role);
	e->municipality = ts_str(s, v->muni);
	e->risk_level = ts_str(s, v->risk);
	e->child_threat_level = v->threat;
	e->referral_to = ts_str(s, v->ref);
	e->age_years = v->age;
	return 0;
}

size_t tokset_bytes(const struct tokset *s)
{
	if (!s)
		return 0;
	return sizeof(*s) + s->rcap * sizeof(*s->recs) + s->acap + s->ecap * sizeof(*s->evs) +
	       s->scap + s->socap * sizeof(*s->soff) + s->hcap * sizeof(*s->slots);
}
