/*
 * linkage_eval — `caselink linkage-eval`: runs the whole encode-and-link path (normalisation, OPRF
 * under a fresh in-process key, per-query tokens and Bloom filters under a fresh nonce, linker)
 * on FEBRL4 and/or a `caselink synth` federation, and prints pairwise precision, recall and F1
 * against the truth at each threshold. Prints only counts, never a name.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "common/cl_error.h"
#include "common/csv.h"
#include "common/normalise.h"
#include "common/pcode.h"
#include "coordinator/linker.h"
#include "protocol/encode.h"
#include "protocol/oprf.h"
#include "tools/cli.h"

#define EV_MAX_THRESHOLDS 32
#define EV_MAX_QGRAMS	  256 /* per field */
#define EV_MAX_FIELDS	  9   /* given, family, birth, either name, FEBRL address x5 */
#define EV_LINE_MAX	  4096

/* ---- a string-keyed hash map: bytes -> (32-byte value, int) ---- */

struct ev_map {
	struct ev_ent {
		char *key;
		size_t klen;
		uint64_t hash;
		unsigned char val[32];
		long num;
	} * v;
	size_t n, cap;
};

static uint64_t ev_hash(const void *p, size_t len)
{
	const unsigned char *s = p;
	uint64_t h = 0xcbf29ce484222325ull;
	size_t i;

	for (i = 0; i < len; i++)
		h = (h ^ s[i]) * 0x100000001b3ull;
	return h ^ (h >> 29);
}

static int ev_map_grow(struct ev_map *m)
{
	size_t ncap = m->cap ? 2 * m->cap : 1024, i, s;
	struct ev_ent *nv;

	nv = calloc(ncap, sizeof(*nv));
	if (!nv)
		return CL_ENOMEM;
	for (i = 0; i < m->cap; i++) {
		if (!m->v[i].key)
			continue;
		s = (size_t)(m->v[i].hash & (ncap - 1));
		while (nv[s].key)
			s = (s + 1) & (ncap - 1);
		nv[s] = m->v[i];
	}
	free(m->v);
	m->v = nv;
	m->cap = ncap;
	return 0;
}

/* Finds key; when absent and add is set, inserts it (value zero, num -1). NULL on failure. */
static struct ev_ent *ev_map_get(struct ev_map *m, const void *key, size_t klen, int add,
				 int *isnew)
{
	uint64_t h = ev_hash(key, klen);
	size_t s;

	*isnew = 0;
	if (add && 2 * (m->n + 1) > m->cap && ev_map_grow(m))
		return NULL;
	if (!m->cap)
		return NULL;
	s = (size_t)(h & (m->cap - 1));
	while (m->v[s].key) {
		if (m->v[s].hash == h && m->v[s].klen == klen && !memcmp(m->v[s].key, key, klen))
			return &m->v[s];
		s = (s + 1) & (m->cap - 1);
	}
	if (!add)
		return NULL;
	m->v[s].key = malloc(klen ? klen : 1);
	if (!m->v[s].key)
		return NULL;
	memcpy(m->v[s].key, key, klen);
	m->v[s].klen = klen;
	m->v[s].hash = h;
	m->v[s].num = -1;
	m->n++;
	*isnew = 1;
	return &m->v[s];
}

static void ev_map_free(struct ev_map *m)
{
	size_t i;

	for (i = 0; i < m->cap; i++) {
		if (m->v[i].key)
			OPENSSL_cleanse(m->v[i].key, m->v[i].klen); /* names and codes */
		free(m->v[i].key);
		OPENSSL_cleanse(m->v[i].val, sizeof(m->v[i].val));
	}
	free(m->v);
	memset(m, 0, sizeof(*m));
}

/* ---- the in-process keyholder and the per-query encoding ---- */

struct ev_state {
	struct oprf_ctx *octx;
	uint8_t sk[OPRF_SCALAR_LEN];
	unsigned char nonce[ENC_NONCE_LEN];
	struct enc_query *q;
	struct ev_map oprf;   /* OPRF input -> output, as a node caches them */
	struct ev_map qtoken; /* OPRF input of a q-gram -> its per-query token */
	int oblivious;	      /* blind -> blind_evaluate -> finalize instead of Evaluate */
	int derived;	      /* derived year, date and given-name tokens, and sex */
	int oracle;	      /* keep the plaintext for ev_oracle (an evaluation aid only) */
	int refs;	      /* keep "agency_id,person_ref" for --links-out */
	unsigned long oprf_evals;
	unsigned k[EV_MAX_FIELDS];
};

struct ev_rec {
	uint32_t node, atype;
	long truth;
	unsigned char flags; /* 1 id, 2 demo, 4 bloom, 8 year, 16 date, 32 given */
	char sex;
	unsigned char id[32], demo[32], bloom[ENC_BLOOM_BYTES];
	unsigned char year[32], date[32], given[32];
	char *plain; /* --oracle: "given\x1ffamily\x1fdigits\x1fsex\x1fid", else NULL */
	char *ref;   /* --links-out: "agency_id,person_ref", else NULL */
};

struct ev_set {
	const char *name;
	struct ev_rec *r;
	size_t n, cap;
	uint32_t nodes;
	int derived; /* records carry sex and derived tokens for the linker */
};

/* OPRF output of input, through the cache. */
static int ev_oprf(struct ev_state *st, const unsigned char *in, size_t len, unsigned char out[32])
{
	uint8_t blind[OPRF_SCALAR_LEN], blinded[OPRF_ELEMENT_LEN], ev[OPRF_ELEMENT_LEN];
	struct ev_ent *e;
	int isnew = 0, rc = 0;

	e = ev_map_get(&st->oprf, in, len, 1, &isnew);
	if (!e)
		return CL_ENOMEM;
	if (isnew) {
		if (st->oblivious) {
			rc = oprf_blind(st->octx, in, len, blind, blinded);
			if (!rc)
				rc = oprf_blind_evaluate(st->octx, st->sk, blinded, ev);
			if (!rc)
				rc = oprf_finalize(st->octx, in, len, blind, ev, e->val);
		} else {
			rc = oprf_evaluate(st->octx, st->sk, in, len, e->val);
		}
		if (rc)
			goto out;
		e->num = 1;
		st->oprf_evals++;
	}
	memcpy(out, e->val, 32);
out:
	OPENSSL_cleanse(blind, sizeof(blind));
	return rc;
}

/* The per-query token of q-gram g of field f, through the caches. */
static int ev_qtoken(struct ev_state *st, unsigned f, const char *g, unsigned char out[32])
{
	unsigned char in[ENC_QIN_MAX], o[32];
	struct ev_ent *e;
	size_t il = 0;
	int isnew = 0, rc;

	rc = enc_qgram_input(f, g, in, &il);
	if (rc)
		return rc;
	e = ev_map_get(&st->qtoken, in, il, 1, &isnew);
	if (!e)
		return CL_ENOMEM;
	if (isnew) {
		rc = ev_oprf(st, in, il, o);
		if (!rc)
			rc = enc_token(o, st->nonce, e->val);
		OPENSSL_cleanse(o, sizeof(o));
		if (rc)
			return rc;
	}
	memcpy(out, e->val, 32);
	return 0;
}

/* A derived token (ENC_DERIVED_*) of text, as a node makes it; CL_ENOTFOUND when none. */
static int ev_derived(struct ev_state *st, unsigned kind, const char *text, size_t len,
		      unsigned char out[32])
{
	char g[ENC_DERIVED_QMAX][ENC_QGRAM_SLOT];
	unsigned char tok[ENC_DERIVED_QMAX * 32];
	size_t n = 0, i;
	unsigned f = 0;
	int rc;

	rc = enc_derived_qgrams(kind, text, len, g, ENC_DERIVED_QMAX, &n, &f);
	if (rc == CL_ELIMIT || rc == CL_EPARSE)
		rc = CL_ENOTFOUND;
	for (i = 0; !rc && i < n; i++)
		rc = ev_qtoken(st, f, g[i], tok + 32 * i);
	if (!rc)
		rc = enc_derived_token(kind, tok, n, out);
	OPENSSL_cleanse(tok, sizeof(tok));
	OPENSSL_cleanse(g, sizeof(g));
	return rc;
}

/* Appends the per-query tokens of the q-grams of text (field f) to tok/fields. */
static int ev_field(struct ev_state *st, unsigned f, const char *text, size_t len,
		    unsigned char *tok, unsigned char *fields, size_t *n, size_t max)
{
	char(*g)[ENC_QGRAM_SLOT] = NULL;
	size_t m = 0, i;
	int rc = 0;

	if (len == 0 || st->k[f] == 0)
		return 0;
	g = malloc(EV_MAX_QGRAMS * sizeof(*g));
	if (!g)
		return CL_ENOMEM;
	rc = enc_qgrams(text, len, g, EV_MAX_QGRAMS, &m);
	if (rc)
		goto out;
	for (i = 0; i < m && *n < max; i++) {
		rc = ev_qtoken(st, f, g[i], tok + *n * 32);
		if (rc)
			goto out;
		fields[(*n)++] = (unsigned char)f;
	}
out:
	free(g);
	return rc;
}

/*
 * Encodes one person as a node would: texts[f] are the raw field values (given, family,
 * birth date digits, extra fields); dob is YYYY-MM-DD or empty; country/code optional.
 */
static int ev_encode(struct ev_state *st, const char *const *texts, unsigned nf, const char *dob,
		     const char *sex, const char *country, const char *code, struct ev_rec *r)
{
	unsigned char tok[EV_MAX_FIELDS * EV_MAX_QGRAMS * 32],
	    fields[EV_MAX_FIELDS * EV_MAX_QGRAMS];
	char norm[EV_MAX_FIELDS][NORM_MAX], digits[16], buf[2 * NORM_MAX + 64];
	size_t nl[EV_MAX_FIELDS], n = 0, i, j;
	unsigned char o[32];
	unsigned f;
	int rc = 0;

	for (f = 0; f < nf; f++) {
		nl[f] = 0;
		norm[f][0] = '\0';
		if (f == ENC_FIELD_NAME)
			continue; /* both names again, below */
		if (f == ENC_FIELD_BIRTH) {
			/* the birth date's digits */
			for (i = 0, j = 0; texts[f][i] && j + 1 < sizeof(digits); i++)
				if (texts[f][i] >= '0' && texts[f][i] <= '9')
					digits[j++] = texts[f][i];
			digits[j] = '\0';
			memcpy(norm[f], digits, j + 1);
			nl[f] = j;
		} else {
			rc = norm_name(texts[f], strlen(texts[f]), norm[f], NORM_MAX, &nl[f]);
			if (rc == CL_EPARSE || rc == CL_ELIMIT) {
				/* invalid UTF-8 or an overlong name: the field counts as absent */
				nl[f] = 0;
				norm[f][0] = '\0';
				rc = 0;
			}
			if (rc)
				goto out;
		}
		rc = ev_field(st, f, norm[f], nl[f], tok, fields, &n, sizeof(fields));
		if (rc)
			goto out;
	}
	if (nf > ENC_FIELD_NAME) {
		rc = ev_field(st, ENC_FIELD_NAME, norm[ENC_FIELD_GIVEN], nl[ENC_FIELD_GIVEN], tok,
			      fields, &n, sizeof(fields));
		if (!rc)
			rc = ev_field(st, ENC_FIELD_NAME, norm[ENC_FIELD_FAMILY],
				      nl[ENC_FIELD_FAMILY], tok, fields, &n, sizeof(fields));
		if (rc)
			goto out;
	}
	r->flags = 0;
	r->sex = sex && (*sex == 'M' || *sex == 'F') ? *sex : 'U';
	if (st->derived) {
		static const unsigned kinds[3] = {ENC_DERIVED_YEAR, ENC_DERIVED_DATE,
						  ENC_DERIVED_GIVEN};
		unsigned char *outs[3] = {r->year, r->date, r->given};

		for (i = 0; i < 3; i++) {
			unsigned src =
			    kinds[i] == ENC_DERIVED_GIVEN ? ENC_FIELD_GIVEN : ENC_FIELD_BIRTH;

			rc = ev_derived(st, kinds[i], norm[src], nl[src], outs[i]);
			if (rc == CL_ENOTFOUND) {
				rc = 0;
				continue;
			}
			if (rc)
				goto out;
			r->flags |= (unsigned char)(8u << i);
		}
	}
	if (st->oracle) {
		char pc[PCODE_MAX] = "";
		enum pcode_status ps = PCODE_INVALID;
		int l;

		if (country && *country && code && *code &&
		    (pcode_check(country, code, pc, &ps, NULL) != 0 || ps == PCODE_INVALID))
			pc[0] = '\0';
		l = snprintf(buf, sizeof(buf), "%s\x1f%s\x1f%s\x1f%c\x1f%s%s%s", norm[0], norm[1],
			     nf > ENC_FIELD_BIRTH ? norm[ENC_FIELD_BIRTH] : "", r->sex,
			     pc[0] ? country : "", pc[0] ? ":" : "", pc);
		if (l < 0 || (size_t)l >= sizeof(buf)) {
			rc = CL_ELIMIT;
			goto out;
		}
		r->plain = strdup(buf);
		if (!r->plain) {
			rc = CL_ENOMEM;
			goto out;
		}
	}
	if (n) {
		rc = enc_bloom_tokens(st->q, tok, fields, n, r->bloom);
		if (rc)
			goto out;
		r->flags |= 4;
	}
	if (nl[ENC_FIELD_FAMILY] && dob && *dob) {
		int l = snprintf(buf, sizeof(buf), "%s|%s|%s", norm[ENC_FIELD_FAMILY], dob,
				 sex && *sex ? sex : "U");

		if (l < 0 || (size_t)l >= sizeof(buf)) {
			rc = CL_ELIMIT;
			goto out;
		}
		rc = ev_oprf(st, (const unsigned char *)buf, (size_t)l, o);
		if (!rc)
			rc = enc_token(o, st->nonce, r->demo);
		if (rc)
			goto out;
		r->flags |= 2;
	}
	if (country && *country && code && *code) {
		char pc[PCODE_MAX];
		enum pcode_status s;

		if (pcode_check(country, code, pc, &s, NULL) == 0 && s != PCODE_INVALID) {
			int l = snprintf(buf, sizeof(buf), "%s:%s", country, pc);

			if (l < 0 || (size_t)l >= sizeof(buf)) {
				rc = CL_ELIMIT;
				goto out;
			}
			rc = ev_oprf(st, (const unsigned char *)buf, (size_t)l, o);
			if (!rc)
				rc = enc_token(o, st->nonce, r->id);
			if (rc)
				goto out;
			r->flags |= 1;
		}
	}
out:
	OPENSSL_cleanse(tok, n * 32);
	OPENSSL_cleanse(o, sizeof(o));
	OPENSSL_cleanse(norm, sizeof(norm));
	OPENSSL_cleanse(buf, sizeof(buf));
	return rc;
}

static int ev_push(struct ev_set *s, struct ev_rec **out)
{
	if (s->n == s->cap) {
		size_t ncap = s->cap ? 2 * s->cap : 1024;
		struct ev_rec *p;

		if (ncap > SIZE_MAX / sizeof(*p))
			return CL_EOVERFLOW;
		p = realloc(s->r, ncap * sizeof(*p));
		if (!p)
			return CL_ENOMEM;
		s->r = p;
		s->cap = ncap;
	}
	*out = &s->r[s->n++];
	memset(*out, 0, sizeof(**out));
	return 0;
}

/* ---- FEBRL4 ---- */

/* Splits a FEBRL line on ',' and strips the space after each comma; returns the field count. */
static size_t ev_split(char *line, char **f, size_t max)
{
	size_t n = 0;
	char *p = line, *e;

	line[strcspn(line, "\r\n")] = '\0';
	while (n < max) {
		while (*p == ' ')
			p++;
		f[n++] = p;
		e = strchr(p, ',');
		if (!e)
			break;
		*e = '\0';
		p = e + 1;
	}
	return n;
}

static int ev_load_febrl(struct ev_state *st, const char *dir, int address, struct ev_set *s)
{
	static const char *const files[2] = {"dataset4a.csv", "dataset4b.csv"};
	char path[4096], line[EV_LINE_MAX], *f[16], dob[16];
	FILE *fp = NULL;
	unsigned node;
	int rc = 0;

	for (node = 0; node < 2; node++) {
		unsigned long lines = 0;

		if (snprintf(path, sizeof(path), "%s/%s", dir, files[node]) >= (int)sizeof(path)) {
			rc = CL_ELIMIT;
			goto out;
		}
		fp = fopen(path, "r");
		if (!fp) {
			fprintf(stderr, "linkage-eval: %s: %s\n", path, strerror(errno));
			rc = CL_EIO;
			goto out;
		}
		while (fgets(line, sizeof(line), fp)) {
			const char *texts[EV_MAX_FIELDS];
			struct ev_rec *r;
			size_t nf = ev_split(line, f, 16);
			long id;

			if (lines++ == 0)
				continue; /* header */
			if (nf < 11 || strncmp(f[0], "rec-", 4)) {
				rc = CL_EPARSE;
				goto out;
			}
			id = strtol(f[0] + 4, NULL, 10);
			/* given_name 1, surname 2, street_number 3, address_1 4, address_2 5,
			 * suburb 6, postcode 7, state 8, date_of_birth 9; soc_sec_id 10 unused */
			dob[0] = '\0';
			if (strlen(f[9]) == 8)
				snprintf(dob, sizeof(dob), "%.4s-%.2s-%.2s", f[9], f[9] + 4,
					 f[9] + 6);
			texts[0] = f[1];
			texts[1] = f[2];
			texts[2] = f[9];
			texts[3] = "";	 /* ENC_FIELD_NAME: both names, from texts[0] and [1] */
			texts[4] = f[3]; /* street_number */
			texts[5] = f[4]; /* address_1 */
			texts[6] = f[5]; /* address_2 */
			texts[7] = f[6]; /* suburb */
			texts[8] = f[7]; /* postcode */
			rc = ev_push(s, &r);
			if (rc)
				goto out;
			r->node = node;
			r->atype = node;
			r->truth = id;
			rc = ev_encode(st, texts, address ? EV_MAX_FIELDS : 4, dob, NULL, NULL,
				       NULL, r);
			if (rc)
				goto out;
		}
		fclose(fp);
		fp = NULL;
	}
	s->nodes = 2;
out:
	if (fp)
		fclose(fp);
	return rc;
}

/* ---- synth federation ---- */

static int ev_col(const struct csv_record *rec, const char *name)
{
	size_t i;

	for (i = 0; i < rec->nfields; i++)
		if (!strcmp(rec->fields[i], name))
			return (int)i;
	return -1;
}

static const char *ev_get(const struct csv_record *rec, int c)
{
	return c >= 0 && (size_t)c < rec->nfields ? rec->fields[c] : "";
}

static int ev_load_synth(struct ev_state *st, const char *dir, struct ev_set *s)
{
	struct csv_reader *cr = NULL;
	struct csv_record rec;
	struct ev_map truth = {0}, types = {0}, tids = {0};
	char path[4096], key[1024];
	size_t a, nag = 0;
	char **ags = NULL;
	uint32_t *agtype = NULL;
	long ntrue = 0;
	int rc = 0, got, isnew;

	/* agencies and types */
	snprintf(path, sizeof(path), "%s/federation.csv", dir);
	rc = csv_open(path, &cr);
	if (rc)
		goto out;
	{
		int cid = -1, ctype = -1, first = 1;

		while ((got = csv_next(cr, &rec)) == 1) {
			struct ev_ent *e;
			char **np;
			uint32_t *nt;

			if (first) {
				cid = ev_col(&rec, "agency_id");
				ctype = ev_col(&rec, "agency_type");
				first = 0;
				if (cid < 0 || ctype < 0) {
					rc = CL_EPARSE;
					goto out;
				}
				continue;
			}
			np = realloc(ags, (nag + 1) * sizeof(*ags));
			if (!np) {
				rc = CL_ENOMEM;
				goto out;
			}
			ags = np;
			nt = realloc(agtype, (nag + 1) * sizeof(*agtype));
			if (!nt) {
				rc = CL_ENOMEM;
				goto out;
			}
			agtype = nt;
			ags[nag] = strdup(ev_get(&rec, cid));
			if (!ags[nag]) {
				rc = CL_ENOMEM;
				goto out;
			}
			e = ev_map_get(&types, ev_get(&rec, ctype), strlen(ev_get(&rec, ctype)), 1,
				       &isnew);
			if (!e) {
				rc = CL_ENOMEM;
				goto out;
			}
			if (isnew)
				e->num = (long)types.n - 1;
			agtype[nag++] = (uint32_t)e->num;
		}
		if (got < 0) {
			rc = got;
			goto out;
		}
	}
	csv_close(cr);
	cr = NULL;
	/* truth: agency_id,person_ref,true_person_id */
	snprintf(path, sizeof(path), "%s/truth/links.csv", dir);
	rc = csv_open(path, &cr);
	if (rc)
		goto out;
	{
		int ca = -1, cp = -1, ct = -1, first = 1;

		while ((got = csv_next(cr, &rec)) == 1) {
			struct ev_ent *e, *t;
			int l;

			if (first) {
				ca = ev_col(&rec, "agency_id");
				cp = ev_col(&rec, "person_ref");
				ct = ev_col(&rec, "true_person_id");
				first = 0;
				if (ca < 0 || cp < 0 || ct < 0) {
					rc = CL_EPARSE;
					goto out;
				}
				continue;
			}
			t = ev_map_get(&tids, ev_get(&rec, ct), strlen(ev_get(&rec, ct)), 1,
				       &isnew);
			if (!t) {
				rc = CL_ENOMEM;
				goto out;
			}
			if (isnew)
				t->num = ntrue++;
			l = snprintf(key, sizeof(key), "%s\x1f%s", ev_get(&rec, ca),
				     ev_get(&rec, cp));
			if (l < 0 || (size_t)l >= sizeof(key)) {
				rc = CL_ELIMIT;
				goto out;
			}
			e = ev_map_get(&truth, key, (size_t)l, 1, &isnew);
			if (!e) {
				rc = CL_ENOMEM;
				goto out;
			}
			e->num = t->num;
		}
		if (got < 0) {
			rc = got;
			goto out;
		}
	}
	csv_close(cr);
	cr = NULL;
	for (a = 0; a < nag; a++) {
		int first = 1, cref = -1, cnid = -1, cctry = -1, cgiven = -1, cfam = -1, cdob = -1,
		    csex = -1;

		snprintf(path, sizeof(path), "%s/agencies/%s/persons.csv", dir, ags[a]);
		rc = csv_open(path, &cr);
		if (rc)
			goto out;
		while ((got = csv_next(cr, &rec)) == 1) {
			const char *texts[4];
			struct ev_rec *r;
			struct ev_ent *e;
			int l;

			if (first) {
				cref = ev_col(&rec, "person_ref");
				cnid = ev_col(&rec, "national_id");
				cctry = ev_col(&rec, "id_country");
				cgiven = ev_col(&rec, "given_name");
				cfam = ev_col(&rec, "family_name");
				cdob = ev_col(&rec, "birth_date");
				csex = ev_col(&rec, "sex");
				first = 0;
				if (cref < 0) {
					rc = CL_EPARSE;
					goto out;
				}
				continue;
			}
			rc = ev_push(s, &r);
			if (rc)
				goto out;
			r->node = (uint32_t)a;
			r->atype = agtype[a];
			l = snprintf(key, sizeof(key), "%s\x1f%s", ags[a], ev_get(&rec, cref));
			if (l < 0 || (size_t)l >= sizeof(key)) {
				rc = CL_ELIMIT;
				goto out;
			}
			e = ev_map_get(&truth, key, (size_t)l, 0, &isnew);
			r->truth =
			    e ? e->num : ntrue++; /* a record without truth is its own person */
			if (st->refs) {
				/* echoed unquoted into a links.csv, as truth reads it */
				if (strpbrk(ags[a], ",\"\r\n") ||
				    strpbrk(ev_get(&rec, cref), ",\"\r\n")) {
					rc = CL_EPARSE;
					goto out;
				}
				l = snprintf(key, sizeof(key), "%s,%s", ags[a], ev_get(&rec, cref));
				if (l < 0 || (size_t)l >= sizeof(key)) {
					rc = CL_ELIMIT;
					goto out;
				}
				r->ref = strdup(key);
				if (!r->ref) {
					rc = CL_ENOMEM;
					goto out;
				}
			}
			texts[0] = ev_get(&rec, cgiven);
			texts[1] = ev_get(&rec, cfam);
			texts[2] = ev_get(&rec, cdob);
			texts[3] = "";
			rc = ev_encode(st, texts, 4, ev_get(&rec, cdob), ev_get(&rec, csex),
				       ev_get(&rec, cctry), ev_get(&rec, cnid), r);
			if (rc)
				goto out;
		}
		if (got < 0) {
			rc = got;
			goto out;
		}
		csv_close(cr);
		cr = NULL;
	}
	s->nodes = (uint32_t)nag;
out:
	csv_close(cr);
	for (a = 0; a < nag; a++)
		free(ags[a]);
	free(ags);
	free(agtype);
	ev_map_free(&truth);
	ev_map_free(&types);
	ev_map_free(&tids);
	return rc;
}

/* The blind -> blind_evaluate -> finalize path gives the keyholder's direct Evaluate output. */
static int ev_check_oprf(struct ev_state *st)
{
	static const unsigned char in[] = "caselink/linkage-eval/self-check";
	uint8_t blind[OPRF_SCALAR_LEN], blinded[OPRF_ELEMENT_LEN], ev[OPRF_ELEMENT_LEN];
	uint8_t a[OPRF_OUTPUT_LEN], b[OPRF_OUTPUT_LEN];
	int rc;

	rc = oprf_blind(st->octx, in, sizeof(in) - 1, blind, blinded);
	if (!rc)
		rc = oprf_blind_evaluate(st->octx, st->sk, blinded, ev);
	if (!rc)
		rc = oprf_finalize(st->octx, in, sizeof(in) - 1, blind, ev, a);
	if (!rc)
		rc = oprf_evaluate(st->octx, st->sk, in, sizeof(in) - 1, b);
	if (!rc && memcmp(a, b, sizeof(a)))
		rc = CL_ECRYPTO;
	OPENSSL_cleanse(blind, sizeof(blind));
	return rc;
}

/* ---- the plaintext oracle: an evaluation aid, never part of the protocol ---- */

struct ev_plain {
	const char *given, *family, *digits, *id;
	char sex;
};

/* Splits r->plain (given, family, digits, sex, id separated by 0x1f) in place. */
static void ev_plain_split(char *p, struct ev_plain *o)
{
	char *f[5] = {p, "", "", "U", ""};
	int i;

	for (i = 1; i < 5 && (p = strchr(p, 0x1f)); i++) {
		*p++ = '\0';
		f[i] = p;
	}
	o->given = f[0];
	o->family = f[1];
	o->digits = f[2];
	o->sex = f[3][0];
	o->id = f[4];
}

/* Names as an unordered pair, equal? (a swap of given and family name is no difference) */
static int ev_names_eq(const struct ev_plain *a, const struct ev_plain *b)
{
	return (!strcmp(a->given, b->given) && !strcmp(a->family, b->family)) ||
	       (!strcmp(a->given, b->family) && !strcmp(a->family, b->given));
}

/* Birth dates: 3 equal full dates, 2 same year with one known by year only, 1 one unknown, 0 both
 * unknown, -1 different. */
static int ev_date_rel(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);

	if (!la && !lb)
		return 0;
	if (!la || !lb)
		return 1;
	if (la == 8 && lb == 8)
		return strcmp(a, b) ? -1 : 3;
	return strncmp(a, b, 4) ? -1 : 2;
}

/* Names: 2 equal (also swapped), 1 equal given names with a family name missing, 0 other. */
static int ev_name_level(const struct ev_plain *a, const struct ev_plain *b)
{
	if (ev_names_eq(a, b))
		return 2;
	return (!a->family[0] || !b->family[0]) && !strcmp(a->given, b->given) ? 1 : 0;
}

static int ev_sex_ok(char a, char b)
{
	return a == 'U' || b == 'U' || a == b;
}

static int ev_cmp_name(const void *x, const void *y)
{
	const struct ev_plain *const *a = x, *const *b = y;
	int c = strcmp((*a)->family, (*b)->family);

	return c ? c : strcmp((*a)->given, (*b)->given);
}

/*
 * Counts, from the plaintext the nodes hold, the true pairs no linker given the nodes'
 * information can find and the false pairs it cannot tell from true ones: the ceiling.
 * Prints counts only.
 */
static int ev_oracle(struct ev_set *s)
{
	struct ev_plain *pl = NULL, **byname = NULL;
	char **copy = NULL;
	uint64_t tp = 0, code = 0, samenode = 0, dconf = 0, sconf = 0, amb = 0, rest = 0;
	uint64_t fcomp[4] = {0}, rel[5] = {0}, nrel[4] = {0};
	size_t i, j, lo, hi;
	int rc = 0;

	pl = calloc(s->n ? s->n : 1, sizeof(*pl));
	byname = calloc(s->n ? s->n : 1, sizeof(*byname));
	copy = calloc(s->n ? s->n : 1, sizeof(*copy));
	if (!pl || !byname || !copy) {
		rc = CL_ENOMEM;
		goto out;
	}
	for (i = 0; i < s->n; i++) {
		if (!s->r[i].plain) {
			rc = CL_EINVAL;
			goto out;
		}
		copy[i] = strdup(s->r[i].plain);
		if (!copy[i]) {
			rc = CL_ENOMEM;
			goto out;
		}
		ev_plain_split(copy[i], &pl[i]);
		byname[i] = &pl[i];
	}
	/* true pairs: every pair of records of one person (persons have a few records) */
	for (i = 0; i < s->n; i++)
		for (j = i + 1; j < s->n; j++) {
			const struct ev_plain *a = &pl[i], *b = &pl[j];
			int dr, nl;
			size_t c;

			if (s->r[i].truth != s->r[j].truth)
				continue;
			tp++;
			if (a->id[0] && !strcmp(a->id, b->id)) {
				code++;
				continue;
			}
			if (s->r[i].node == s->r[j].node) {
				samenode++;
				continue;
			}
			dr = ev_date_rel(a->digits, b->digits);
			if (dr < 0 || (a->id[0] && b->id[0])) {
				dconf++; /* dates differ, or two valid codes differ */
				continue;
			}
			if (!ev_sex_ok(a->sex, b->sex)) {
				sconf++;
				continue;
			}
			/*
			 * ambiguous: another person's record c is, from a's (or b's) side, at least
			 * as good a candidate as b (a): names as close and at least 1, the dates as
			 * close, sex compatible, not two codes
			 */
			nl = ev_name_level(a, b);
			for (c = 0; c < s->n; c++) {
				const struct ev_plain *x = &pl[c];
				int side;

				if (s->r[c].truth == s->r[i].truth)
					continue;
				for (side = 0; side < 2; side++) {
					const struct ev_plain *from = side ? b : a;
					size_t fi = side ? j : i;
					int l2 = ev_name_level(from, x);

					if (s->r[c].node == s->r[fi].node || l2 < 1 || l2 < nl ||
					    ev_date_rel(from->digits, x->digits) < dr ||
					    !ev_sex_ok(from->sex, x->sex) ||
					    (from->id[0] && x->id[0]))
						continue;
					break;
				}
				if (side < 2)
					break;
			}
			if (c < s->n) {
				amb++;
				continue;
			}
			rest++;
			rel[dr + 1 > 4 ? 4 : dr + 1]++;
			nrel[ev_names_eq(a, b)		      ? 0
			     : !a->family[0] || !b->family[0] ? 1
			     : strcmp(a->given, b->given)     ? 2
							      : 3]++;
		}
	/* false pairs that look like true ones: equal names, compatible date and sex, no two
	 * different codes */
	qsort(byname, s->n, sizeof(*byname), ev_cmp_name);
	for (lo = 0; lo < s->n; lo = hi) {
		for (hi = lo + 1; hi < s->n && !ev_cmp_name(&byname[lo], &byname[hi]); hi++)
			;
		for (i = lo; i < hi; i++)
			for (j = i + 1; j < hi; j++) {
				size_t x = (size_t)(byname[i] - pl), y = (size_t)(byname[j] - pl);
				int dr = ev_date_rel(pl[x].digits, pl[y].digits);

				if (s->r[x].truth == s->r[y].truth ||
				    s->r[x].node == s->r[y].node || dr < 0 ||
				    !ev_sex_ok(pl[x].sex, pl[y].sex) ||
				    (pl[x].id[0] && pl[y].id[0]))
					continue;
				fcomp[dr]++;
			}
	}
	printf(
	    "%-8s oracle (plaintext, evaluation only): true pairs %llu: by equal valid code %llu; "
	    "hard: same agency %llu, dates or codes differ %llu, sex differs %llu, "
	    "ambiguous namesake %llu; findable %llu (date full %llu, year %llu, unknown %llu, "
	    "none %llu; names equal %llu, a family missing %llu, given differs %llu, family "
	    "differs %llu)\n",
	    s->name, (unsigned long long)tp, (unsigned long long)code, (unsigned long long)samenode,
	    (unsigned long long)dconf, (unsigned long long)sconf, (unsigned long long)amb,
	    (unsigned long long)(code + rest), (unsigned long long)rel[4],
	    (unsigned long long)rel[3], (unsigned long long)rel[2], (unsigned long long)rel[1],
	    (unsigned long long)nrel[0], (unsigned long long)nrel[1], (unsigned long long)nrel[2],
	    (unsigned long long)nrel[3]);
	printf("%-8s oracle: other persons' pairs with equal names, compatible date and sex and no "
	       "two codes: %llu (dates equal %llu, same year %llu, one unknown %llu, both unknown "
	       "%llu)\n",
	       s->name, (unsigned long long)(fcomp[0] + fcomp[1] + fcomp[2] + fcomp[3]),
	       (unsigned long long)fcomp[3], (unsigned long long)fcomp[2],
	       (unsigned long long)fcomp[1], (unsigned long long)fcomp[0]);
	printf("RESULT dataset=%s oracle_true=%llu oracle_hard=%llu oracle_ceiling_recall=%.6f "
	       "oracle_lookalike_false=%llu\n",
	       s->name, (unsigned long long)tp,
	       (unsigned long long)(samenode + dconf + sconf + amb),
	       tp ? (double)(code + rest) / (double)tp : 1.0,
	       (unsigned long long)(fcomp[0] + fcomp[1] + fcomp[2] + fcomp[3]));
out:
	for (i = 0; copy && i < s->n; i++)
		if (copy[i]) {
			OPENSSL_cleanse(copy[i], strlen(s->r[i].plain));
			free(copy[i]);
		}
	free(copy);
	free(pl);
	free(byname);
	return rc;
}

/*
 * With --oracle: the wrong and the missed pairs by how their plaintext relates (counts only):
 * birth dates (equal, same year, one unknown, both unknown, different) and names.
 */
static void ev_errors(const struct ev_set *s, const struct linker *l)
{
	uint64_t fp[5] = {0}, fn[5] = {0}, fpn[3] = {0}, fnn[3] = {0}, fnsame = 0;
	size_t i, j;

	for (i = 0; i < s->n; i++)
		for (j = i + 1; j < s->n; j++) {
			struct ev_plain a, b;
			uint32_t ca = 0, cb = 0;
			int same = s->r[i].truth == s->r[j].truth, dr, nr;
			char *pa, *pb;

			linker_cluster(l, i, &ca);
			linker_cluster(l, j, &cb);
			if (same == (ca == cb))
				continue;
			if (same && s->r[i].node == s->r[j].node) {
				fnsame++;
				continue;
			}
			pa = strdup(s->r[i].plain);
			pb = strdup(s->r[j].plain);
			if (!pa || !pb) {
				free(pa);
				free(pb);
				return;
			}
			ev_plain_split(pa, &a);
			ev_plain_split(pb, &b);
			dr = ev_date_rel(a.digits, b.digits);
			nr = ev_names_eq(&a, &b) ? 0 : (!a.family[0] || !b.family[0]) ? 1 : 2;
			(same ? fn : fp)[dr < 0 ? 4 : 3 - dr]++;
			(same ? fnn : fpn)[nr]++;
			OPENSSL_cleanse(pa, strlen(pa));
			OPENSSL_cleanse(pb, strlen(pb));
			free(pa);
			free(pb);
		}
	printf("%-8s   wrong pairs by date: equal %llu, year %llu, one unknown %llu, both unknown "
	       "%llu, different %llu; names equal %llu, a family missing %llu, other %llu\n",
	       s->name, (unsigned long long)fp[0], (unsigned long long)fp[1],
	       (unsigned long long)fp[2], (unsigned long long)fp[3], (unsigned long long)fp[4],
	       (unsigned long long)fpn[0], (unsigned long long)fpn[1], (unsigned long long)fpn[2]);
	printf("%-8s   missed pairs by date: equal %llu, year %llu, one unknown %llu, both unknown "
	       "%llu, different %llu; names equal %llu, a family missing %llu, other %llu; same "
	       "agency %llu\n",
	       s->name, (unsigned long long)fn[0], (unsigned long long)fn[1],
	       (unsigned long long)fn[2], (unsigned long long)fn[3], (unsigned long long)fn[4],
	       (unsigned long long)fnn[0], (unsigned long long)fnn[1], (unsigned long long)fnn[2],
	       (unsigned long long)fnsame);
}

/* ---- linking and scoring ---- */

static int ev_cmp_u64(const void *x, const void *y)
{
	uint64_t a = *(const uint64_t *)x, b = *(const uint64_t *)y;

	return a < b ? -1 : a > b;
}

/* Sum over groups of equal keys of C(size, 2); sorts keys. */
static uint64_t ev_pairs(uint64_t *keys, size_t n)
{
	uint64_t total = 0, run = 0;
	size_t i;

	qsort(keys, n, sizeof(*keys), ev_cmp_u64);
	for (i = 0; i < n; i++) {
		run = (i && keys[i] == keys[i - 1]) ? run + 1 : 0;
		total += run;
	}
	return total;
}

static double ev_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/*
 * Writes the linked persons to path in the format of truth/links.csv (agency_id, person_ref,
 * cluster id as true_person_id, every record), through path.tmp renamed on success.
 */
static int ev_write_links(const struct ev_set *s, const struct linker *l, const char *path)
{
	char tmp[4096];
	FILE *f = NULL;
	size_t i;
	int rc = 0, n;

	n = snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	if (n < 0 || (size_t)n >= sizeof(tmp))
		return CL_ELIMIT;
	f = fopen(tmp, "w");
	if (!f) {
		fprintf(stderr, "linkage-eval: %s: %s\n", tmp, strerror(errno));
		return CL_EIO;
	}
	if (fputs("agency_id,person_ref,true_person_id\n", f) < 0)
		rc = CL_EIO;
	for (i = 0; !rc && i < s->n; i++) {
		uint32_t c = 0;

		if (!s->r[i].ref) {
			rc = CL_EINVAL;
			break;
		}
		rc = linker_cluster(l, i, &c);
		if (!rc && fprintf(f, "%s,L%07lu\n", s->r[i].ref, (unsigned long)c + 1) < 0)
			rc = CL_EIO;
	}
	if (fclose(f) != 0 && !rc)
		rc = CL_EIO;
	if (!rc && rename(tmp, path) != 0)
		rc = CL_EIO;
	if (rc)
		remove(tmp);
	return rc;
}

static int ev_link(const struct ev_set *s, double t, double weak, int blocking, int use_exact,
		   const char *links_out)
{
	struct linker *l = NULL;
	uint64_t *keys = NULL, pred, truep, tp;
	size_t i;
	double t0, t1, prec, rec, f1;
	int rc = 0;

	keys = malloc((s->n ? s->n : 1) * sizeof(*keys));
	if (!keys)
		return CL_ENOMEM;
	rc = linker_new(&l);
	if (!rc)
		rc = linker_set_threshold(l, t);
	if (!rc)
		rc = linker_set_blocking(l, blocking, 0, 0, 1);
	if (!rc && weak > 0.0)
		rc = linker_set_weak_threshold(l, weak);
	if (rc)
		goto out;
	for (i = 0; i < s->n; i++) {
		const struct ev_rec *r = &s->r[i];
		uint32_t h = (uint32_t)i;

		rc = linker_add(l, r->node, r->atype, (const unsigned char *)&h, sizeof(h),
				use_exact && (r->flags & 1) ? r->id : NULL,
				use_exact && (r->flags & 2) ? r->demo : NULL,
				(r->flags & 4) ? r->bloom : NULL, NULL);
		if (!rc && s->derived)
			rc = linker_set_attrs(l, i, r->sex, (r->flags & 8) ? r->year : NULL,
					      (r->flags & 16) ? r->date : NULL,
					      (r->flags & 32) ? r->given : NULL);
		if (rc)
			goto out;
	}
	t0 = ev_now();
	rc = linker_run(l);
	t1 = ev_now();
	if (rc)
		goto out;
	/* pairwise: predicted pairs, true pairs, and pairs both */
	for (i = 0; i < s->n; i++) {
		uint32_t c = 0;

		linker_cluster(l, i, &c);
		keys[i] = c;
	}
	pred = ev_pairs(keys, s->n);
	for (i = 0; i < s->n; i++)
		keys[i] = (uint64_t)s->r[i].truth;
	truep = ev_pairs(keys, s->n);
	for (i = 0; i < s->n; i++) {
		uint32_t c = 0;

		linker_cluster(l, i, &c);
		keys[i] = (uint64_t)c << 32 | (uint64_t)(uint32_t)s->r[i].truth;
	}
	tp = ev_pairs(keys, s->n);
	prec = pred ? (double)tp / (double)pred : 1.0;
	rec = truep ? (double)tp / (double)truep : 1.0;
	f1 = prec + rec > 0 ? 2 * prec * rec / (prec + rec) : 0.0;
	printf("%-8s threshold %.2f  precision %.4f  recall %.4f  F1 %.4f  (tp %llu fp %llu fn "
	       "%llu; comparisons %llu, %s; link %.3f s)\n",
	       s->name, t, prec, rec, f1, (unsigned long long)tp, (unsigned long long)(pred - tp),
	       (unsigned long long)(truep - tp),
	       (unsigned long long)linker_stat(l, LINKER_STAT_COMPARISONS),
	       linker_stat(l, LINKER_STAT_LSH_TABLES) ? "LSH" : "all pairs", t1 - t0);
	printf("RESULT dataset=%s threshold=%.2f precision=%.6f recall=%.6f f1=%.6f\n", s->name, t,
	       prec, rec, f1);
	if (s->n && s->r[0].plain)
		ev_errors(s, l);
	if (links_out) {
		rc = ev_write_links(s, l, links_out);
		if (rc)
			goto out;
		printf("LINKS file=%s records=%zu clusters=%llu true_pairs=%llu linked_pairs=%llu "
		       "false_pairs=%llu missed_pairs=%llu threshold=%.2f\n",
		       links_out, s->n, (unsigned long long)linker_stat(l, LINKER_STAT_CLUSTERS),
		       (unsigned long long)truep, (unsigned long long)pred,
		       (unsigned long long)(pred - tp), (unsigned long long)(truep - tp), t);
	}
out:
	linker_free(l);
	free(keys);
	return rc;
}

static int ev_parse_list(const char *arg, double *v, size_t max, size_t *n)
{
	char *end;
	const char *p = arg;

	*n = 0;
	while (*p) {
		if (*n == max)
			return CL_ELIMIT;
		errno = 0;
		v[*n] = strtod(p, &end);
		if (end == p || errno || !(v[*n] > 0.0 && v[*n] <= 1.0))
			return CL_EUSAGE;
		(*n)++;
		p = end;
		if (*p == ',')
			p++;
		else if (*p)
			return CL_EUSAGE;
	}
	return *n ? 0 : CL_EUSAGE;
}

/* Parses "12,12,10": k per field, 0..ENC_K_MAX each. */
static int ev_parse_k(const char *arg, unsigned *k, size_t *n)
{
	const char *p = arg;
	char *end;

	*n = 0;
	while (*p) {
		long v;

		if (*n == EV_MAX_FIELDS)
			return CL_ELIMIT;
		errno = 0;
		v = strtol(p, &end, 10);
		if (end == p || errno || v < 0 || v > ENC_K_MAX || (*end && *end != ','))
			return CL_EUSAGE;
		k[(*n)++] = (unsigned)v;
		p = *end ? end + 1 : end;
	}
	return *n ? 0 : CL_EUSAGE;
}

static int ev_apply_k(struct ev_state *st)
{
	unsigned f;
	int rc = 0;

	for (f = 0; f < EV_MAX_FIELDS && !rc; f++)
		rc = enc_query_set_k(st->q, f, st->k[f]);
	return rc;
}

static void ev_print_k(const struct ev_state *st, unsigned nf)
{
	unsigned f;

	for (f = 0; f < nf; f++)
		printf(" %u", st->k[f]);
	printf(": given, family, birth, either name%s)\n",
	       nf > 4 ? ", FEBRL street number, address 1, address 2, suburb, postcode" : "");
}

static void ev_usage(void)
{
	fprintf(
	    stderr,
	    "usage: caselink linkage-eval [--febrl DIR] [--synth DIR] [--thresholds T,T,...]\n"
	    "                             [--blocking auto|none|lsh] [--oblivious] [--k G,F,B]\n"
	    "                             [--febrl-address] [--fuzzy-only] [--no-derived]\n"
	    "                             [--weak T] [--oracle]\n"
	    "       caselink linkage-eval --synth DIR --links-out FILE [--threshold T] [...]\n");
}

int linkage_eval_main(int argc, char **argv)
{
	const char *febrl = NULL, *synth = NULL, *links_out = NULL;
	double th[EV_MAX_THRESHOLDS] = {0.6, 0.65, 0.7, 0.75, 0.8, 0.85, 0.9};
	unsigned kv[EV_MAX_FIELDS];
	size_t nth = 7, nk = 0, i, j;
	struct ev_state st;
	struct ev_set sets[2];
	int rc = 0, blocking = LINKER_BLOCK_AUTO, address = 0, exact = 1, nsets = 0, a, derived = 1,
	    thset = 0;
	double weak = 0.0;
	double t0;
	uint8_t pk[OPRF_ELEMENT_LEN];

	memset(&st, 0, sizeof(st));
	memset(sets, 0, sizeof(sets));
	for (a = 1; a < argc; a++) {
		if (!strcmp(argv[a], "--febrl") && a + 1 < argc) {
			febrl = argv[++a];
		} else if (!strcmp(argv[a], "--synth") && a + 1 < argc) {
			synth = argv[++a];
		} else if ((!strcmp(argv[a], "--thresholds") || !strcmp(argv[a], "--threshold")) &&
			   a + 1 < argc) {
			if (ev_parse_list(argv[++a], th, EV_MAX_THRESHOLDS, &nth)) {
				ev_usage();
				return 2;
			}
			thset = 1;
		} else if (!strcmp(argv[a], "--links-out") && a + 1 < argc) {
			links_out = argv[++a];
		} else if (!strcmp(argv[a], "--k") && a + 1 < argc) {
			if (ev_parse_k(argv[++a], kv, &nk)) {
				ev_usage();
				return 2;
			}
		} else if (!strcmp(argv[a], "--blocking") && a + 1 < argc) {
			a++;
			if (!strcmp(argv[a], "auto"))
				blocking = LINKER_BLOCK_AUTO;
			else if (!strcmp(argv[a], "none"))
				blocking = LINKER_BLOCK_NONE;
			else if (!strcmp(argv[a], "lsh"))
				blocking = LINKER_BLOCK_LSH;
			else {
				ev_usage();
				return 2;
			}
		} else if (!strcmp(argv[a], "--oblivious")) {
			st.oblivious = 1;
		} else if (!strcmp(argv[a], "--febrl-address")) {
			address = 1;
		} else if (!strcmp(argv[a], "--fuzzy-only")) {
			exact = 0;
		} else if (!strcmp(argv[a], "--no-derived")) {
			derived = 0;
		} else if (!strcmp(argv[a], "--oracle")) {
			st.oracle = 1;
		} else if (!strcmp(argv[a], "--weak") && a + 1 < argc) {
			char *end;

			weak = strtod(argv[++a], &end);
			if (*end || !(weak > 0.0 && weak <= 2.0)) {
				ev_usage();
				return 2;
			}
		} else {
			ev_usage();
			return 2;
		}
	}
	if ((!febrl && !synth) || (links_out && (!synth || febrl || (thset && nth != 1)))) {
		ev_usage();
		return 2;
	}
	if (links_out && !thset) {
		th[0] = LINKER_DEFAULT_THRESHOLD; /* the coordinator's linker */
		nth = 1;
	}
	st.refs = links_out != NULL;
	/* a fresh keyholder key and a fresh query nonce */
	rc = oprf_ctx_new(&st.octx);
	if (!rc)
		rc = oprf_generate_key(st.octx, st.sk, pk);
	if (!rc && RAND_bytes(st.nonce, sizeof(st.nonce)) != 1)
		rc = CL_ECRYPTO;
	if (!rc)
		rc = enc_query_new(st.nonce, &st.q);
	if (!rc)
		rc = ev_check_oprf(&st);
	if (rc)
		goto out;
	printf("OPRF: %s evaluation in process under a fresh random key; fresh random nonce\n",
	       st.oblivious ? "blind -> blind_evaluate -> finalize" : "direct (RFC 9497 Evaluate)");
	if (febrl) {
		/*
		 * FEBRL4 keeps the record-level filter of every field (its dates have typos, so no
		 * date tokens): k tuned on FEBRL4 (docs/BENCHMARKS.md).
		 */
		static const unsigned fk[EV_MAX_FIELDS] = {5, 5, 4, 0, 2, 2, 2, 2, 2};
		static const unsigned nk3[EV_MAX_FIELDS] = {10, 10, 20};

		memcpy(st.k, address ? fk : nk3, sizeof(st.k));
		for (i = 0; i < nk; i++)
			st.k[i] = kv[i];
		rc = ev_apply_k(&st);
		if (rc)
			goto out;
		st.derived = 0;
		sets[nsets].name = "febrl4";
		t0 = ev_now();
		rc = ev_load_febrl(&st, febrl, address, &sets[nsets]);
		if (rc) {
			fprintf(stderr, "linkage-eval: FEBRL4 at %s: %s\n", febrl, cl_strerror(rc));
			goto out;
		}
		printf("febrl4: %zu records encoded in %.3f s (%lu OPRF evaluations; k",
		       sets[nsets].n, ev_now() - t0, st.oprf_evals);
		ev_print_k(&st, address ? EV_MAX_FIELDS : 4);
		nsets++;
	}
	if (synth) {
		/* the node's defaults: one filter of both names (enc_query_new), dates as tokens */
		memset(st.k, 0, sizeof(st.k));
		st.k[ENC_FIELD_NAME] = ENC_DEFAULT_K_NAME;
		if (!derived) {
			st.k[ENC_FIELD_NAME] = 0; /* the former encoding, for comparison */
			st.k[ENC_FIELD_GIVEN] = 10;
			st.k[ENC_FIELD_FAMILY] = 10;
			st.k[ENC_FIELD_BIRTH] = 20;
		}
		for (i = 0; i < nk; i++)
			st.k[i] = kv[i];
		rc = ev_apply_k(&st);
		if (rc)
			goto out;
		st.derived = derived;
		sets[nsets].name = "synth";
		sets[nsets].derived = derived;
		t0 = ev_now();
		st.oprf_evals = 0;
		rc = ev_load_synth(&st, synth, &sets[nsets]);
		if (rc) {
			fprintf(stderr, "linkage-eval: federation at %s: %s\n", synth,
				cl_strerror(rc));
			goto out;
		}
		printf(
		    "synth: %zu records at %u nodes encoded in %.3f s (%lu OPRF evaluations; %s; k",
		    sets[nsets].n, sets[nsets].nodes, ev_now() - t0, st.oprf_evals,
		    derived ? "sex and derived year/date/given tokens" : "no derived tokens");
		ev_print_k(&st, 4);
		nsets++;
	}
	for (j = 0; j < (size_t)nsets && st.oracle; j++) {
		rc = ev_oracle(&sets[j]);
		if (rc)
			goto out;
	}
	for (j = 0; j < (size_t)nsets; j++)
		for (i = 0; i < nth; i++) {
			rc = ev_link(&sets[j], th[i], weak, blocking, exact,
				     sets[j].name && !strcmp(sets[j].name, "synth") ? links_out
										    : NULL);
			if (rc) {
				fprintf(stderr, "linkage-eval: linking: %s\n", cl_strerror(rc));
				goto out;
			}
		}
out:
	for (j = 0; j < 2; j++) {
		for (i = 0; i < sets[j].n; i++)
			if (sets[j].r[i].plain) {
				OPENSSL_cleanse(sets[j].r[i].plain, strlen(sets[j].r[i].plain));
				free(sets[j].r[i].plain);
			}
		for (i = 0; i < sets[j].n; i++)
			free(sets[j].r[i].ref);
		if (sets[j].r)
			OPENSSL_cleanse(sets[j].r, sets[j].cap * sizeof(*sets[j].r));
		free(sets[j].r);
	}
	ev_map_free(&st.oprf);
	ev_map_free(&st.qtoken);
	enc_query_free(st.q);
	oprf_ctx_free(st.octx);
	OPENSSL_cleanse(st.sk, sizeof(st.sk));
	OPENSSL_cleanse(st.nonce, sizeof(st.nonce));
	return rc ? 1 : 0;
}
