#include "node/encode_query.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/sha.h>

#include "common/cl_error.h"
#include "common/cldate.h"
#include "common/grow.h"
#include "common/log.h"
#include "node/tokens.h"

#define EQ_ARENA_BLOCK (64u * 1024)
#define EQ_NONE	       UINT32_MAX /* index of a q-gram the cache does not hold */
#define EQ_VALS_MAX    (1u << 24) /* distinct names and dates in one answer */
#define EQ_MASKS_MAX                                                                               \
	(1u << 17) /* filter masks kept (256 bytes each: 32 MiB); later values                     \
		      take the per-q-gram path */

/* Bump allocator: the values of one answer. */
struct eq_blk {
	struct eq_blk *next;
	size_t used, cap;
	char data[];
};

/* The storage of one record of a batch. */
struct eq_rec {
	Caselink__V1__TokenRecord rec;
	uint8_t handle[NODE_TOKENS_HANDLE_LEN], id[ENC_TOKEN_LEN], demo[ENC_TOKEN_LEN];
	uint8_t bloom[ENC_BLOOM_BYTES];
	uint8_t year[ENC_TOKEN_LEN], date[ENC_TOKEN_LEN], given[ENC_TOKEN_LEN];
	char sex[2];
	Caselink__V1__EventRecord *evs;
	Caselink__V1__EventRecord **evp;
	size_t capev;
};

/* Kinds of the values an answer works out once (names and birth dates recur across persons). */
#define EQ_GIVEN  0 /* a normalised given name */
#define EQ_FAMILY 1 /* a normalised family name */
#define EQ_BIRTH  2 /* the birth-date digits YYYYMMDD or YYYY */
#define EQ_YEAR	  3 /* the birth year's four digits (its derived token only) */

/*
 * One distinct value of this answer, worked out once: its q-grams' indexes into the query's
 * q-gram tokens (EQ_NONE for one the cache lacks) and its derived tokens. Names and dates are
 * personal data and the tokens per-query secrets: all are wiped when the answer ends.
 */
struct eq_val {
	uint64_t hash;
	const char *text; /* in the values' arena */
	size_t len;
	unsigned kind;
	/* ix[off..off+n): the value's own field; names: ix[off+n..off+2n) the ENC_FIELD_NAME ones
	 */
	uint32_t off, n;
	/* derived tokens in dtok (-1: none): given d[0]; birth d[0] year, d[1] date */
	int32_t d[2];
	int32_t mask; /* its q-grams' filter mask in masks; EQ_MASK_ZERO, EQ_MASK_NONE */
};

#define EQ_MASK_ZERO (-1) /* the mask sets and clears nothing */
#define EQ_MASK_NONE (-2) /* no mask: a q-gram the cache lacks, or EQ_MASKS_MAX reached */

/* The codes of a snapshot event, interned: indexes into the snapshot's codes. */
#define EQ_C_TYPE     0
#define EQ_C_ROLE     1
#define EQ_C_MUNI     2
#define EQ_C_RISK     3
#define EQ_C_REFERRAL 4
#define EQ_NCODES     5

/* One event of a snapshot. */
struct eq_sev {
	int64_t at;
	uint32_t code[EQ_NCODES];
	int32_t child; /* child_threat_level, -1 when NULL */
};

/*
 * One person of a snapshot with its events evs[first..first+nev), in (occurred_at, id) order,
 * and the columns an answer reads, as eq_start used to read them from the store. The names and
 * OPRF outputs are personal data and secrets: the snapshot is wiped when freed.
 */
struct eq_sper {
	int64_t id;
	size_t first, nev;
	size_t goff, glen, foff, flen; /* given_norm, family_norm in text (len 0: absent) */
	int birth_year, birth_month, birth_day; /* as eq_start normalises them */
	uint32_t tok_epoch;			/* person_tokens.key_epoch */
	char sex;
	unsigned char found, tok_ok, has_id, has_demo, restricted;
	uint8_t id_out[ENC_OPRF_LEN], demo_out[ENC_OPRF_LEN];
};

/* An interned event code (NUL-terminated; len as strlen). */
struct eq_code {
	uint64_t hash;
	char *text;
	size_t len;
};

/* What a snapshot was built from: the store's import generation and the token cache's fill. */
struct eq_key {
	int64_t imports, filled_gen, filled_at;
	int64_t epoch;
};

/* A read-only copy of the persons and events an answer reads, shared by reference count. */
struct eq_snap {
	size_t refs; /* under the cache's lock */
	struct eq_key key;
	struct eq_sper *pers;
	size_t npers, cappers;
	struct eq_sev *evs;
	size_t nevs, capevs;
	char *text; /* the names */
	size_t ntext, captext;
	struct eq_code *codes;
	size_t ncodes, capcodes;
	uint32_t *cslots; /* while building: open addressing of indexes + 1 into codes */
	size_t capcslots; /* a power of two */
};

struct node_encq_cache {
	pthread_mutex_t lock;
	struct eq_snap *cur; /* NULL: none yet */
	size_t builds;
};

struct eq {
	sqlite3 *db;
	const uint8_t *nonce;
	const uint8_t *hnonce; /* nonce of the row handles (the query nonce unless given) */
	uint32_t epoch;
	uint8_t hkey[NODE_TOKENS_KEY_LEN];
	uint8_t hprep[ENC_PREP_LEN]; /* HMAC key states of hkey */
	struct node_tokens_qmap *qmap;
	uint8_t *qtok; /* per-query tokens of the cached q-grams, 32 bytes each */
	size_t nq;
	struct enc_query *encq;
	struct eq_rec *recs;
	Caselink__V1__TokenRecord **recp;
	size_t nrec, bytes;
	/* the values of this answer: an open-addressing table of indexes + 1 into vals */
	struct eq_val *vals;
	size_t nvals, capvals;
	uint32_t *slots;
	size_t capslots; /* a power of two */
	uint32_t *ix;
	size_t nix, capix;
	uint8_t *dtok;
	size_t ndtok, capdtok;
	uint64_t *masks; /* ENC_MASK_WORDS per value with a nonzero mask */
	size_t nmasks, capmasks;
	struct eq_blk *varena;
	const struct eq_snap *snap; /* the persons and events read */
	/* the current person */
	int birth_year, birth_month, birth_day;
	size_t tn;
	uint8_t tok[NODE_TOKENS_QGRAMS * ENC_TOKEN_LEN];
	unsigned char fields[NODE_TOKENS_QGRAMS];
	node_encq_emit_fn emit;
	void *ud;
	struct node_encq_summary sum;
};

static void *eq_alloc(struct eq_blk **head, size_t len)
{
	struct eq_blk *b = *head;
	void *r;

	len = (len + 7) & ~(size_t)7;
	if (!b || b->cap - b->used < len) {
		size_t cap = len > EQ_ARENA_BLOCK ? len : EQ_ARENA_BLOCK;

		b = malloc(sizeof(*b) + cap);
		if (!b)
			return NULL;
		b->next = *head;
		b->used = 0;
		b->cap = cap;
		*head = b;
	}
	r = b->data + b->used;
	b->used += len;
	return r;
}

/* Frees an arena; wipe set: its contents are wiped first. */
static void eq_blk_free(struct eq_blk **head, int wipe)
{
	while (*head) {
		struct eq_blk *n = (*head)->next;

		if (wipe)
			OPENSSL_cleanse((*head)->data, (*head)->used);
		free(*head);
		*head = n;
	}
}

int node_encq_age(int birth_year, int birth_month, int birth_day, int64_t t)
{
	int64_t days = t >= 0 ? t / 86400 : -((-t + 86399) / 86400);
	int y, m, d, age;

	if (birth_year <= 0)
		return -1;
	cldate_civil_from_days(days, &y, &m, &d);
	age = y - birth_year;
	if (birth_month > 0 && birth_day > 0 &&
	    (m < birth_month || (m == birth_month && d < birth_day)))
		age--;
	return age < 0 ? -1 : age;
}

/* Loads the cached q-gram outputs of the epoch and turns them into this query's tokens. */
static int eq_load_qgrams(struct eq *q)
{
	sqlite3_stmt *st = NULL;
	size_t cap = 0, bytes;
	uint8_t *n;
	int rc = CL_ESQL, step;

	if (sqlite3_prepare_v2(q->db,
			       "SELECT field, qgram, output FROM qgram_tokens WHERE key_epoch=?",
			       -1, &st, NULL) != SQLITE_OK)
		goto out;
	sqlite3_bind_int64(st, 1, q->epoch);
	while ((step = sqlite3_step(st)) == SQLITE_ROW) {
		const char *g = (const char *)sqlite3_column_text(st, 1);
		int field = sqlite3_column_int(st, 0);

		if (!g || field < 0 || field >= ENC_FIELD_MAX ||
		    sqlite3_column_bytes(st, 2) != ENC_OPRF_LEN) {
			rc = CL_ECORRUPT;
			goto out;
		}
		if (q->nq == cap) {
			size_t ncap = cap ? 2 * cap : 4096;

			if (__builtin_mul_overflow(ncap, (size_t)ENC_OPRF_LEN, &bytes)) {
				rc = CL_EOVERFLOW;
				goto out;
			}
			n = malloc(bytes);
			if (!n) {
				rc = CL_ENOMEM;
				goto out;
			}
			if (q->qtok) {
				memcpy(n, q->qtok, q->nq * ENC_OPRF_LEN);
				OPENSSL_cleanse(q->qtok, cap * ENC_OPRF_LEN);
				free(q->qtok);
			}
			q->qtok = n;
			cap = ncap;
		}
		rc = node_tokens_qmap_get(q->qmap, (unsigned)field, g, 1, q->nq, NULL);
		if (rc < 0)
			goto out;
		if (rc == 1) {
			rc = CL_ECORRUPT;
			goto out;
		}
		memcpy(q->qtok + q->nq * ENC_OPRF_LEN, sqlite3_column_blob(st, 2), ENC_OPRF_LEN);
		q->nq++;
	}
	if (step != SQLITE_DONE) {
		rc = CL_ESQL;
		goto out;
	}
	rc = q->nq ? enc_tokens(q->qtok, q->nq, q->nonce, q->qtok) : 0;
out:
	sqlite3_finalize(st);
	return rc;
}

static int eq_flush(struct eq *q, int last)
{
	Caselink__V1__TokenBatch b = CASELINK__V1__TOKEN_BATCH__INIT;
	size_t i;
	int rc;

	b.batch_index = (uint32_t)q->sum.batches;
	b.n_records = q->nrec;
	b.records = q->recp;
	for (i = 0; i < q->nrec; i++)
		q->recp[i] = &q->recs[i].rec;
	rc = q->emit(q->ud, &b, last);
	for (i = 0; i < q->nrec; i++) {
		OPENSSL_cleanse(q->recs[i].id, sizeof(q->recs[i].id));
		OPENSSL_cleanse(q->recs[i].demo, sizeof(q->recs[i].demo));
		OPENSSL_cleanse(q->recs[i].year, sizeof(q->recs[i].year));
		OPENSSL_cleanse(q->recs[i].date, sizeof(q->recs[i].date));
		OPENSSL_cleanse(q->recs[i].given, sizeof(q->recs[i].given));
	}
	q->sum.batches++;
	q->nrec = 0;
	q->bytes = 0;
	return rc;
}

/*
 * Writes the derived token of kind (encode.h) of text to out from the query's q-gram tokens;
 * 1 when there is none (no such value, or a q-gram the cache lacks), 0 when written.
 */
static int eq_derived(struct eq *q, unsigned kind, const char *text, size_t len,
		      uint8_t out[ENC_TOKEN_LEN])
{
	char g[ENC_DERIVED_QMAX][ENC_QGRAM_SLOT];
	uint8_t tok[ENC_DERIVED_QMAX * ENC_TOKEN_LEN];
	size_t n = 0, i, v;
	unsigned f = 0;
	int rc;

	rc = enc_derived_qgrams(kind, text, len, g, ENC_DERIVED_QMAX, &n, &f);
	if (rc == CL_ENOTFOUND || rc == CL_ELIMIT || rc == CL_EPARSE) {
		n = ENC_DERIVED_QMAX; /* out may hold a part: wipe all of it */
		rc = 1;
		goto out;
	}
	for (i = 0; !rc && i < n; i++) {
		rc = node_tokens_qmap_get(q->qmap, f, g[i], 0, 0, &v);
		if (rc == 1) {
			memcpy(tok + i * ENC_TOKEN_LEN, q->qtok + v * ENC_TOKEN_LEN, ENC_TOKEN_LEN);
			rc = 0;
		} else if (rc == 0) {
			rc = 1; /* not cached: no token */
		}
	}
	if (!rc)
		rc = enc_derived_token_fast(kind, tok, n, out);
out:
	OPENSSL_cleanse(tok, n * ENC_TOKEN_LEN);
	OPENSSL_cleanse(g, n * ENC_QGRAM_SLOT);
	return rc;
}

static uint64_t eq_hash(unsigned kind, const char *text, size_t len)
{
	uint64_t h = 1469598103934665603ull ^ kind;
	size_t i;

	for (i = 0; i < len; i++) {
		h ^= (unsigned char)text[i];
		h *= 1099511628211ull;
	}
	return h ^ (h >> 29);
}

/*
 * Makes room for add more entries of size sz in the array *a of *cap entries holding n; an
 * array of secrets (wipe) is grown without leaving its old contents in freed memory.
 */
static int eq_grow(void **a, size_t *cap, size_t n, size_t add, size_t sz, int wipe)
{
	size_t need;

	if (__builtin_add_overflow(n, add, &need))
		return CL_EOVERFLOW;
	return wipe ? grow_array_secret(a, cap, need, sz) : grow_array(a, cap, need, sz);
}

/* Frees a snapshot, wiping its names, secrets and codes; NULL is allowed. */
static void eq_snap_free(struct eq_snap *sn)
{
	size_t i;

	if (!sn)
		return;
	if (sn->pers) {
		OPENSSL_cleanse(sn->pers, sn->cappers * sizeof(*sn->pers));
		free(sn->pers);
	}
	if (sn->evs) {
		OPENSSL_cleanse(sn->evs, sn->capevs * sizeof(*sn->evs));
		free(sn->evs);
	}
	if (sn->text) {
		OPENSSL_cleanse(sn->text, sn->captext);
		free(sn->text);
	}
	for (i = 0; i < sn->ncodes; i++) {
		OPENSSL_cleanse(sn->codes[i].text, sn->codes[i].len);
		free(sn->codes[i].text);
	}
	free(sn->codes);
	free(sn->cslots);
	free(sn);
}

/* The bytes a snapshot holds. */
static size_t eq_snap_bytes(const struct eq_snap *sn)
{
	size_t b = sizeof(*sn) + sn->cappers * sizeof(*sn->pers) + sn->capevs * sizeof(*sn->evs) +
		   sn->captext + sn->capcodes * sizeof(*sn->codes) +
		   sn->capcslots * sizeof(*sn->cslots);
	size_t i;

	for (i = 0; i < sn->ncodes; i++)
		b += sn->codes[i].len + 1;
	return b;
}

/* Writes the index of the snapshot's copy of s (NULL: "") to *out, adding it when new. */
static int eq_snap_code(struct eq_snap *sn, const char *s, uint32_t *out)
{
	size_t len, i, j;
	uint64_t h;
	int rc;

	if (!s)
		s = "";
	len = strlen(s);
	h = eq_hash(0, s, len);
	for (i = (size_t)h & (sn->capcslots - 1); sn->cslots[i];
	     i = (i + 1) & (sn->capcslots - 1)) {
		const struct eq_code *c = &sn->codes[sn->cslots[i] - 1];

		if (c->hash == h && c->len == len && !memcmp(c->text, s, len)) {
			*out = sn->cslots[i] - 1;
			return 0;
		}
	}
	if (sn->ncodes >= EQ_VALS_MAX)
		return CL_ELIMIT;
	if (2 * (sn->ncodes + 1) > sn->capcslots) {
		size_t ncap = 2 * sn->capcslots;
		uint32_t *ns = calloc(ncap, sizeof(*ns));

		if (!ns)
			return CL_ENOMEM;
		for (j = 0; j < sn->ncodes; j++) {
			for (i = (size_t)sn->codes[j].hash & (ncap - 1); ns[i];
			     i = (i + 1) & (ncap - 1))
				;
			ns[i] = (uint32_t)(j + 1);
		}
		free(sn->cslots);
		sn->cslots = ns;
		sn->capcslots = ncap;
		for (i = (size_t)h & (ncap - 1); ns[i]; i = (i + 1) & (ncap - 1))
			;
	}
	rc = eq_grow((void **)&sn->codes, &sn->capcodes, sn->ncodes, 1, sizeof(*sn->codes), 0);
	if (rc)
		return rc;
	sn->codes[sn->ncodes].text = malloc(len + 1);
	if (!sn->codes[sn->ncodes].text)
		return CL_ENOMEM;
	memcpy(sn->codes[sn->ncodes].text, s, len + 1);
	sn->codes[sn->ncodes].hash = h;
	sn->codes[sn->ncodes].len = len;
	sn->cslots[i] = (uint32_t)(++sn->ncodes);
	*out = sn->ncodes - 1;
	return 0;
}

/* Appends len bytes of a name to the snapshot's text; *off gets where. */
static int eq_snap_text(struct eq_snap *sn, const char *t, size_t len, size_t *off)
{
	int rc = eq_grow((void **)&sn->text, &sn->captext, sn->ntext, len, 1, 1);

	if (rc)
		return rc;
	memcpy(sn->text + sn->ntext, t, len);
	*off = sn->ntext;
	sn->ntext += len;
	return 0;
}

/* Reads the events (all, or those in [from, to) when window is set), grouped by person. */
static int eq_snap_events(struct eq_snap *sn, sqlite3 *db, int window, int64_t from, int64_t to)
{
	sqlite3_stmt *ev = NULL;
	int rc = CL_ESQL, step, k;

	if (sqlite3_prepare_v2(
		db,
		window ? "SELECT person_id, event_type, occurred_at, role, municipality,"
			 " risk_level, child_threat_level, referral_to FROM events"
			 " WHERE occurred_at >= ?1 AND occurred_at < ?2"
			 " ORDER BY person_id, occurred_at, id"
		       : "SELECT person_id, event_type, occurred_at, role, municipality,"
			 " risk_level, child_threat_level, referral_to FROM events"
			 " ORDER BY person_id, occurred_at, id",
		-1, &ev, NULL) != SQLITE_OK)
		goto out;
	if (window) {
		sqlite3_bind_int64(ev, 1, from);
		sqlite3_bind_int64(ev, 2, to);
	}
	while ((step = sqlite3_step(ev)) == SQLITE_ROW) {
		static const int col[EQ_NCODES] = {1, 3, 4, 5, 7};
		int64_t pid = sqlite3_column_int64(ev, 0);
		struct eq_sev *e;

		if (!sn->npers || sn->pers[sn->npers - 1].id != pid) {
			rc = eq_grow((void **)&sn->pers, &sn->cappers, sn->npers, 1,
				     sizeof(*sn->pers), 1);
			if (rc)
				goto out;
			memset(&sn->pers[sn->npers], 0, sizeof(*sn->pers));
			sn->pers[sn->npers].id = pid;
			sn->pers[sn->npers].first = sn->nevs;
			sn->npers++;
		}
		rc = eq_grow((void **)&sn->evs, &sn->capevs, sn->nevs, 1, sizeof(*sn->evs), 1);
		if (rc)
			goto out;
		e = &sn->evs[sn->nevs];
		e->at = sqlite3_column_int64(ev, 2);
		for (k = 0; k < EQ_NCODES; k++) {
			rc = eq_snap_code(sn, (const char *)sqlite3_column_text(ev, col[k]),
					  &e->code[k]);
			if (rc)
				goto out;
		}
		e->child =
		    sqlite3_column_type(ev, 6) == SQLITE_NULL ? -1 : sqlite3_column_int(ev, 6);
		sn->nevs++;
		sn->pers[sn->npers - 1].nev++;
	}
	rc = step == SQLITE_DONE ? 0 : CL_ESQL;
out:
	sqlite3_finalize(ev);
	return rc;
}

/* The columns eq_snap_persons reads (column 0 is p.id), from persons p joined to tokens t. */
#define EQ_PERSON_COLS                                                                             \
	"p.id, p.change_gen, p.given_norm, p.family_norm, p.birth_year, p.birth_month,"            \
	" p.birth_day, p.sex, p.sharing, t.gen, t.key_epoch, t.id_out, t.demo_out"

/* A seek costs as much as stepping over about this many persons (bench_encq). */
#define EQ_SEEK_GAP 4

/* Copies the current row of ps (EQ_PERSON_COLS) into p. */
static int eq_snap_person(struct eq_snap *sn, sqlite3_stmt *ps, struct eq_sper *p)
{
	const char *given, *family, *sex, *sharing;
	int rc = 0;

	p->found = 1;
	p->tok_ok = sqlite3_column_type(ps, 9) != SQLITE_NULL &&
		    sqlite3_column_int64(ps, 9) >= sqlite3_column_int64(ps, 1);
	p->tok_epoch = (uint32_t)sqlite3_column_int64(ps, 10);
	p->birth_year = p->birth_month = p->birth_day = 0;
	if (sqlite3_column_type(ps, 4) != SQLITE_NULL) {
		p->birth_year = sqlite3_column_int(ps, 4);
		p->birth_month = sqlite3_column_int(ps, 5);
		p->birth_day = sqlite3_column_int(ps, 6);
	}
	if (p->birth_year < 1 || p->birth_year > 9999)
		p->birth_year = p->birth_month = p->birth_day = 0;
	given = (const char *)sqlite3_column_text(ps, 2);
	p->glen = given ? (size_t)sqlite3_column_bytes(ps, 2) : 0;
	family = (const char *)sqlite3_column_text(ps, 3);
	p->flen = family ? (size_t)sqlite3_column_bytes(ps, 3) : 0;
	if (p->glen)
		rc = eq_snap_text(sn, given, p->glen, &p->goff);
	if (!rc && p->flen)
		rc = eq_snap_text(sn, family, p->flen, &p->foff);
	if (rc)
		return rc;
	sex = (const char *)sqlite3_column_text(ps, 7);
	p->sex = sex && sqlite3_column_bytes(ps, 7) == 1 ? sex[0] : 'U';
	sharing = (const char *)sqlite3_column_text(ps, 8);
	p->restricted = sharing && !strcmp(sharing, "restricted");
	p->has_id = sqlite3_column_bytes(ps, 11) == ENC_OPRF_LEN;
	if (p->has_id)
		memcpy(p->id_out, sqlite3_column_blob(ps, 11), ENC_OPRF_LEN);
	p->has_demo = sqlite3_column_bytes(ps, 12) == ENC_OPRF_LEN;
	if (p->has_demo)
		memcpy(p->demo_out, sqlite3_column_blob(ps, 12), ENC_OPRF_LEN);
	return 0;
}

/*
 * Reads the columns of the snapshot's persons (in id order) in one pass over persons, seeking
 * only across gaps of more than EQ_SEEK_GAP ids; a person no row holds stays not found.
 */
static int eq_snap_persons(struct eq_snap *sn, sqlite3 *db)
{
	sqlite3_stmt *ps = NULL;
	int64_t cur = 0, gap;
	int rc = CL_ESQL, row = 0, step = SQLITE_DONE;
	size_t i;

	if (sqlite3_prepare_v2(db,
			       "SELECT " EQ_PERSON_COLS " FROM persons p"
			       " LEFT JOIN person_tokens t ON t.person_id=p.id WHERE p.id>=?1"
			       " ORDER BY p.id",
			       -1, &ps, NULL) != SQLITE_OK)
		goto out;
	for (i = 0; i < sn->npers; i++) {
		int64_t pid = sn->pers[i].id;

		step = SQLITE_ROW;
		if (!row || pid < cur || __builtin_sub_overflow(pid, cur, &gap) ||
		    gap > EQ_SEEK_GAP) {
			sqlite3_reset(ps);
			sqlite3_bind_int64(ps, 1, pid);
			row = 0;
			step = sqlite3_step(ps);
			if (step == SQLITE_ROW) {
				row = 1;
				cur = sqlite3_column_int64(ps, 0);
			}
		}
		while (step == SQLITE_ROW && cur < pid) {
			row = 0;
			step = sqlite3_step(ps);
			if (step == SQLITE_ROW) {
				row = 1;
				cur = sqlite3_column_int64(ps, 0);
			}
		}
		if (step != SQLITE_ROW && step != SQLITE_DONE)
			goto out;
		if (row && cur == pid) {
			rc = eq_snap_person(sn, ps, &sn->pers[i]);
			if (rc)
				goto out;
		}
	}
	rc = 0;
out:
	sqlite3_finalize(ps);
	return rc;
}

/* Shrinks the array *a of *cap entries of size sz to its n entries, wiping the old copy. */
static int eq_fit(void **a, size_t *cap, size_t n, size_t sz)
{
	void *na;

	if (!*a || n == *cap)
		return 0;
	na = malloc(n ? n * sz : 1); /* n <= *cap: no overflow */
	if (!na)
		return CL_ENOMEM;
	memcpy(na, *a, n * sz);
	OPENSSL_cleanse(*a, *cap * sz);
	free(*a);
	*a = na;
	*cap = n;
	return 0;
}

/* Reads what a snapshot is keyed on. */
static int eq_snap_key(sqlite3 *db, struct eq_key *out)
{
	sqlite3_stmt *st = NULL;
	int rc = CL_ESQL;

	if (sqlite3_prepare_v2(db,
			       "SELECT (SELECT coalesce(max(id), 0) FROM imports), filled_gen,"
			       " filled_at, key_epoch FROM token_state WHERE id=1",
			       -1, &st, NULL) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW) {
		out->imports = sqlite3_column_int64(st, 0);
		out->filled_gen = sqlite3_column_int64(st, 1);
		out->filled_at = sqlite3_column_int64(st, 2);
		out->epoch = sqlite3_column_int64(st, 3);
		rc = 0;
	}
	sqlite3_finalize(st);
	return rc;
}

/*
 * Builds a snapshot of the store in db's current read transaction: every event, or only
 * those in [from, to) when window is set (a one-off answer).
 */
static int eq_snap_build(sqlite3 *db, const struct eq_key *key, int window, int64_t from,
			 int64_t to, struct eq_snap **out)
{
	struct eq_snap *sn = calloc(1, sizeof(*sn));
	int rc = CL_ENOMEM;

	if (!sn)
		goto out;
	sn->key = *key;
	sn->capcslots = 256;
	sn->cslots = calloc(sn->capcslots, sizeof(*sn->cslots));
	if (!sn->cslots)
		goto out;
	rc = eq_snap_events(sn, db, window, from, to);
	if (!rc)
		rc = eq_snap_persons(sn, db);
	if (rc)
		goto out;
	rc = eq_fit((void **)&sn->pers, &sn->cappers, sn->npers, sizeof(*sn->pers));
	if (!rc)
		rc = eq_fit((void **)&sn->evs, &sn->capevs, sn->nevs, sizeof(*sn->evs));
	if (!rc)
		rc = eq_fit((void **)&sn->text, &sn->captext, sn->ntext, 1);
	if (!rc)
		rc = eq_fit((void **)&sn->codes, &sn->capcodes, sn->ncodes, sizeof(*sn->codes));
	if (rc)
		goto out;
	free(sn->cslots); /* only for building */
	sn->cslots = NULL;
	sn->capcslots = 0;
	sn->refs = 1;
	*out = sn;
	sn = NULL;
out:
	eq_snap_free(sn);
	return rc;
}

/*
 * Takes a reference to c's snapshot, first rebuilding it when the store (read in db's current
 * transaction) has changed since; with c NULL, builds a one-off snapshot of [from, to).
 */
static int eq_snap_get(struct node_encq_cache *c, sqlite3 *db, int64_t from, int64_t to,
		       struct eq_snap **out)
{
	struct eq_snap *sn = NULL;
	struct eq_key key;
	int rc;

	memset(&key, 0, sizeof(key));
	if (!c)
		return eq_snap_build(db, &key, 1, from, to, out);
	pthread_mutex_lock(&c->lock);
	rc = eq_snap_key(db, &key);
	if (rc)
		goto out;
	if (!c->cur || memcmp(&c->cur->key, &key, sizeof(key))) {
		rc = eq_snap_build(db, &key, 0, 0, 0, &sn);
		if (rc)
			goto out;
		if (c->cur && --c->cur->refs == 0)
			eq_snap_free(c->cur);
		c->cur = sn;
		c->builds++;
	}
	c->cur->refs++;
	*out = c->cur;
out:
	pthread_mutex_unlock(&c->lock);
	return rc;
}

/* Drops a reference eq_snap_get gave. */
static void eq_snap_put(struct node_encq_cache *c, struct eq_snap *sn)
{
	if (!sn)
		return;
	if (!c) {
		eq_snap_free(sn);
		return;
	}
	pthread_mutex_lock(&c->lock);
	if (--sn->refs == 0)
		eq_snap_free(sn);
	pthread_mutex_unlock(&c->lock);
}

int node_encq_cache_warm(struct node_store *s, struct node_encq_cache *c)
{
	struct eq_snap *sn = NULL;
	sqlite3 *db = s ? node_store_db(s) : NULL;
	int rc;

	if (!db || !c)
		return CL_EINVAL;
	if (sqlite3_exec(db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK)
		return CL_ESQL;
	rc = eq_snap_get(c, db, 0, 0, &sn);
	sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
	eq_snap_put(c, sn);
	return rc;
}

int node_encq_cache_new(struct node_encq_cache **out)
{
	struct node_encq_cache *c;

	if (!out)
		return CL_EINVAL;
	c = calloc(1, sizeof(*c));
	if (!c)
		return CL_ENOMEM;
	if (pthread_mutex_init(&c->lock, NULL) != 0) {
		free(c);
		return CL_ENOMEM;
	}
	*out = c;
	return CL_OK;
}

void node_encq_cache_free(struct node_encq_cache *c)
{
	if (!c)
		return;
	if (c->cur && --c->cur->refs == 0)
		eq_snap_free(c->cur);
	pthread_mutex_destroy(&c->lock);
	free(c);
}

int node_encq_cache_info(struct node_encq_cache *c, size_t *bytes, size_t *builds)
{
	if (!c)
		return CL_EINVAL;
	pthread_mutex_lock(&c->lock);
	if (bytes)
		*bytes = c->cur ? eq_snap_bytes(c->cur) : 0;
	if (builds)
		*builds = c->builds;
	pthread_mutex_unlock(&c->lock);
	return CL_OK;
}

/*
 * Appends to ix the indexes of the distinct q-grams of text (as node_tokens_inputs makes them:
 * none when the text does not encode) in field f, then, for names, in ENC_FIELD_NAME.
 */
static int eq_val_qgrams(struct eq *q, struct eq_val *v, unsigned f, int name)
{
	char g[NODE_TOKENS_FIELD_QGRAMS][ENC_QGRAM_SLOT];
	size_t n = 0, i, j, x, wipe;
	int rc;

	rc = enc_qgrams(v->text, v->len, g, NODE_TOKENS_FIELD_QGRAMS, &n);
	wipe = rc ? sizeof(g) : n * ENC_QGRAM_SLOT; /* a failed call may leave a part in g */
	if (rc == CL_EPARSE || rc == CL_ELIMIT)
		rc = 0, n = 0; /* counts as absent, as in node_tokens_inputs */
	if (rc)
		goto out;
	rc = eq_grow((void **)&q->ix, &q->capix, q->nix, 2 * n, sizeof(*q->ix), 0);
	if (rc)
		goto out;
	v->off = (uint32_t)q->nix;
	v->n = (uint32_t)n;
	for (j = 0; j < (name ? 2u : 1u); j++) {
		for (i = 0; i < n; i++) {
			rc = node_tokens_qmap_get(q->qmap, j ? ENC_FIELD_NAME : f, g[i], 0, 0, &x);
			if (rc < 0)
				goto out;
			q->ix[q->nix++] = rc == 1 ? (uint32_t)x : EQ_NONE;
		}
	}
	rc = 0;
out:
	OPENSSL_cleanse(g, wipe);
	return rc;
}

/* Works out the derived token of kind of v into slot d[i] (-1 when there is none). */
static int eq_val_derived(struct eq *q, struct eq_val *v, unsigned kind, int i)
{
	int rc;

	rc = eq_grow((void **)&q->dtok, &q->capdtok, q->ndtok * ENC_TOKEN_LEN, ENC_TOKEN_LEN, 1, 1);
	if (rc)
		return rc;
	rc = eq_derived(q, kind, v->text, v->len, q->dtok + q->ndtok * ENC_TOKEN_LEN);
	if (rc < 0)
		return rc;
	if (rc == 0)
		v->d[i] = (int32_t)q->ndtok++;
	return 0;
}

/* Works out v's filter mask: the bits all its q-grams (own field and, for names, ENC_FIELD_NAME)
 * set and clear. */
static int eq_val_mask(struct eq *q, struct eq_val *v, unsigned f, int name)
{
	uint64_t m[ENC_MASK_WORDS], any = 0;
	size_t n = (name ? 2u : 1u) * v->n, i;
	int rc = 0;

	v->mask = EQ_MASK_ZERO;
	if (n > NODE_TOKENS_QGRAMS)
		n = NODE_TOKENS_QGRAMS; /* such a person takes eq_start's long way anyway */
	for (i = 0; i < n; i++) {
		uint32_t x = q->ix[v->off + i];

		if (x == EQ_NONE) {
			v->mask = EQ_MASK_NONE;
			goto out;
		}
		memcpy(q->tok + i * ENC_TOKEN_LEN, q->qtok + (size_t)x * ENC_TOKEN_LEN,
		       ENC_TOKEN_LEN);
		q->fields[i] = (unsigned char)(i < v->n ? f : ENC_FIELD_NAME);
	}
	rc = n ? enc_bloom_mask(q->encq, q->tok, q->fields, n, m) : 0;
	if (rc || !n)
		goto out;
	for (i = 0; i < ENC_MASK_WORDS; i++)
		any |= m[i];
	if (!any)
		goto out;
	if (q->nmasks >= EQ_MASKS_MAX) {
		v->mask = EQ_MASK_NONE; /* memory bound: such a value's persons take the long way */
		goto out;
	}
	rc = eq_grow((void **)&q->masks, &q->capmasks, q->nmasks * ENC_MASK_WORDS, ENC_MASK_WORDS,
		     sizeof(*q->masks), 1);
	if (rc)
		goto out;
	memcpy(q->masks + q->nmasks * ENC_MASK_WORDS, m, sizeof(m));
	v->mask = (int32_t)q->nmasks++;
out:
	OPENSSL_cleanse(q->tok, n * ENC_TOKEN_LEN);
	OPENSSL_cleanse(m, sizeof(m));
	return rc;
}

/*
 * Finds the value (kind, text[0..len)), working it out when it is new; writes its
 * index in vals + 1 to *out.
 */
static int eq_value(struct eq *q, unsigned kind, const char *text, size_t len, size_t *out)
{
	uint64_t h = eq_hash(kind, text, len);
	struct eq_val *v;
	size_t i, j;
	char *copy;
	int rc;

	for (i = (size_t)h & (q->capslots - 1); q->slots[i]; i = (i + 1) & (q->capslots - 1)) {
		v = &q->vals[q->slots[i] - 1];
		if (v->hash == h && v->kind == kind && v->len == len &&
		    !memcmp(v->text, text, len)) {
			*out = q->slots[i];
			return 0;
		}
	}
	if (q->nvals >= EQ_VALS_MAX)
		return CL_ELIMIT;
	if (2 * (q->nvals + 1) > q->capslots) {
		size_t ncap = 2 * q->capslots;
		uint32_t *ns = calloc(ncap, sizeof(*ns));

		if (!ns)
			return CL_ENOMEM;
		for (j = 0; j < q->nvals; j++) {
			for (i = (size_t)q->vals[j].hash & (ncap - 1); ns[i];
			     i = (i + 1) & (ncap - 1))
				;
			ns[i] = (uint32_t)(j + 1);
		}
		free(q->slots);
		q->slots = ns;
		q->capslots = ncap;
		for (i = (size_t)h & (ncap - 1); ns[i]; i = (i + 1) & (ncap - 1))
			;
	}
	rc = eq_grow((void **)&q->vals, &q->capvals, q->nvals, 1, sizeof(*q->vals), 0);
	if (rc)
		return rc;
	copy = eq_alloc(&q->varena, len + 1);
	if (!copy)
		return CL_ENOMEM;
	memcpy(copy, text, len);
	copy[len] = '\0';
	v = &q->vals[q->nvals];
	memset(v, 0, sizeof(*v));
	v->hash = h;
	v->text = copy;
	v->len = len;
	v->kind = kind;
	v->d[0] = v->d[1] = -1;
	v->mask = EQ_MASK_ZERO;
	if (kind == EQ_YEAR) {
		rc = eq_val_derived(q, v, ENC_DERIVED_YEAR, 0);
	} else if (kind == EQ_BIRTH) {
		rc = eq_val_qgrams(q, v, ENC_FIELD_BIRTH, 0);
		if (!rc)
			rc = eq_val_mask(q, v, ENC_FIELD_BIRTH, 0);
		if (!rc)
			rc = eq_val_derived(q, v, ENC_DERIVED_DATE, 1);
	} else {
		unsigned f = kind == EQ_GIVEN ? ENC_FIELD_GIVEN : ENC_FIELD_FAMILY;

		rc = eq_val_qgrams(q, v, f, 1);
		if (!rc)
			rc = eq_val_mask(q, v, f, 1);
		if (!rc && kind == EQ_GIVEN)
			rc = eq_val_derived(q, v, ENC_DERIVED_GIVEN, 0);
	}
	if (rc)
		return rc;
	q->slots[i] = (uint32_t)(++q->nvals);
	*out = q->nvals;
	return 0;
}

/*
 * Appends the tokens of value vi's q-grams (0: none) in its own field f, or with name set in
 * ENC_FIELD_NAME, to the person's list, up to NODE_TOKENS_QGRAMS in all as node_tokens_inputs
 * does; CL_ESTALE for one the cache lacks.
 */
static int eq_add(struct eq *q, size_t vi, int name, unsigned f)
{
	const uint32_t *ix;
	size_t i, n;

	if (!vi)
		return 0;
	n = q->vals[vi - 1].n;
	ix = q->ix + q->vals[vi - 1].off + (name ? n : 0);
	if (name)
		f = ENC_FIELD_NAME;
	for (i = 0; i < n && q->tn < NODE_TOKENS_QGRAMS; i++) {
		if (ix[i] == EQ_NONE)
			return CL_ESTALE;
		memcpy(q->tok + q->tn * ENC_TOKEN_LEN, q->qtok + (size_t)ix[i] * ENC_TOKEN_LEN,
		       ENC_TOKEN_LEN);
		q->fields[q->tn++] = (unsigned char)f;
	}
	return 0;
}

/*
 * Writes the person's filter (gi, fi, bi: the values of the given name, family name and birth
 * date, 0 when absent) to r, if it has any q-gram: from the values' masks when the person's
 * list of q-grams is whole, else from the list node_tokens_inputs would make (up to
 * NODE_TOKENS_QGRAMS), which also reports a q-gram the cache lacks.
 */
static int eq_bloom(struct eq *q, size_t gi, size_t fi, size_t bi, struct eq_rec *r)
{
	const uint64_t *m[3];
	size_t vi[3] = {gi, fi, bi}, total = 0, nm = 0, i;
	int rc, whole = 1;

	for (i = 0; i < 3; i++) {
		const struct eq_val *v = vi[i] ? &q->vals[vi[i] - 1] : NULL;

		if (!v)
			continue;
		total += (i < 2 ? 2u : 1u) * v->n;
		if (v->mask == EQ_MASK_NONE)
			whole = 0;
		else if (v->mask >= 0)
			m[nm++] = q->masks + (size_t)v->mask * ENC_MASK_WORDS;
	}
	if (total == 0)
		return 0;
	if (whole && total <= NODE_TOKENS_QGRAMS) {
		rc = enc_bloom_from_masks(q->encq, m, nm, r->bloom);
	} else {
		/* q-grams in node_tokens_inputs's order: given, family, birth, both names again */
		q->tn = 0;
		rc = eq_add(q, gi, 0, ENC_FIELD_GIVEN);
		if (!rc)
			rc = eq_add(q, fi, 0, ENC_FIELD_FAMILY);
		if (!rc)
			rc = eq_add(q, bi, 0, ENC_FIELD_BIRTH);
		if (!rc)
			rc = eq_add(q, gi, 1, 0);
		if (!rc)
			rc = eq_add(q, fi, 1, 0);
		if (!rc)
			rc = enc_bloom_tokens(q->encq, q->tok, q->fields, q->tn, r->bloom);
	}
	if (rc)
		return rc;
	r->rec.bloom.data = r->bloom;
	r->rec.bloom.len = sizeof(r->bloom);
	return 0;
}

/*
 * Writes the birth-date digits node_tokens_inputs uses ("%04d%02d%02d", or "%04d" when month or
 * day is 0) to out (16 bytes) for year 1..9999; returns their length.
 */
static size_t eq_digits(int y, int m, int d, char out[16])
{
	int full = m && d;

	if (m < 0 || m > 99 || d < 0 || d > 99) /* not from an import: as printf has it */
		return (size_t)snprintf(out, 16, full ? "%04d%02d%02d" : "%04d", y, m, d);
	out[0] = (char)('0' + y / 1000);
	out[1] = (char)('0' + y / 100 % 10);
	out[2] = (char)('0' + y / 10 % 10);
	out[3] = (char)('0' + y % 10);
	if (!full) {
		out[4] = '\0';
		return 4;
	}
	out[4] = (char)('0' + m / 10);
	out[5] = (char)('0' + m % 10);
	out[6] = (char)('0' + d / 10);
	out[7] = (char)('0' + d % 10);
	out[8] = '\0';
	return 8;
}

/* Starts the record of person p from the snapshot and the answer's values. */
static int eq_start(struct eq *q, const struct eq_sper *p)
{
	size_t gi = 0, fi = 0, bi = 0, yi = 0; /* indexes + 1 into vals, 0: none */
	int32_t dyear = -1, ddate = -1, dgiven = -1;
	struct eq_rec *r;
	char digits[16];
	size_t glen, flen, dlen = 0;
	uint8_t msg[ENC_NONCE_LEN + 8], mac[32];
	uint64_t u = (uint64_t)p->id;
	int rc, i;

	if (q->nrec == NODE_ENCQ_BATCH || q->bytes >= NODE_ENCQ_BATCH_BYTES) {
		rc = eq_flush(q, 0);
		if (rc)
			return rc;
	}
	if (!p->found)
		return CL_ECORRUPT; /* an event of no person */
	/* cached for this person's current data under the current epoch */
	if (!p->tok_ok || p->tok_epoch != q->epoch)
		return CL_ESTALE;
	q->tn = 0;
	/* the person's inputs, as node_tokens_inputs reads them */
	q->birth_year = p->birth_year;
	q->birth_month = p->birth_month;
	q->birth_day = p->birth_day;
	glen = p->glen;
	flen = p->flen;
	if (q->birth_year)
		dlen = eq_digits(q->birth_year, q->birth_month, q->birth_day, digits);
	rc = 0;
	if (glen)
		rc = eq_value(q, EQ_GIVEN, q->snap->text + p->goff, glen, &gi);
	if (!rc && flen)
		rc = eq_value(q, EQ_FAMILY, q->snap->text + p->foff, flen, &fi);
	if (!rc && dlen)
		rc = eq_value(q, EQ_BIRTH, digits, dlen, &bi);
	if (!rc && dlen)
		rc = eq_value(q, EQ_YEAR, digits, 4, &yi); /* the year is the digits' prefix */
	if (rc)
		goto out;
	if (gi)
		dgiven = q->vals[gi - 1].d[0];
	if (bi)
		ddate = q->vals[bi - 1].d[1];
	if (yi)
		dyear = q->vals[yi - 1].d[0];
	r = &q->recs[q->nrec];
	caselink__v1__token_record__init(&r->rec);
	/* the row handle: HMAC-SHA256(handle key, handle nonce || be64(person id)), 16 bytes */
	memcpy(msg, q->hnonce, ENC_NONCE_LEN);
	for (i = 0; i < 8; i++)
		msg[ENC_NONCE_LEN + i] = (uint8_t)(u >> (56 - 8 * i));
	rc = enc_hmac_prepared(q->hprep, msg, sizeof(msg), mac);
	if (rc)
		goto out;
	memcpy(r->handle, mac, sizeof(r->handle));
	r->rec.row_handle.data = r->handle;
	r->rec.row_handle.len = sizeof(r->handle);
	if (p->has_id) {
		rc = enc_token(p->id_out, q->nonce, r->id);
		if (rc)
			goto out;
		r->rec.id_token.data = r->id;
		r->rec.id_token.len = sizeof(r->id);
	}
	if (p->has_demo) {
		rc = enc_token(p->demo_out, q->nonce, r->demo);
		if (rc)
			goto out;
		r->rec.demo_token.data = r->demo;
		r->rec.demo_token.len = sizeof(r->demo);
	}
	rc = eq_bloom(q, gi, fi, bi, r);
	if (rc)
		goto out;
	if (dyear >= 0) {
		memcpy(r->year, q->dtok + (size_t)dyear * ENC_TOKEN_LEN, ENC_TOKEN_LEN);
		r->rec.year_token.data = r->year;
		r->rec.year_token.len = sizeof(r->year);
	}
	if (ddate >= 0) {
		memcpy(r->date, q->dtok + (size_t)ddate * ENC_TOKEN_LEN, ENC_TOKEN_LEN);
		r->rec.date_token.data = r->date;
		r->rec.date_token.len = sizeof(r->date);
	}
	if (dgiven >= 0) {
		memcpy(r->given, q->dtok + (size_t)dgiven * ENC_TOKEN_LEN, ENC_TOKEN_LEN);
		r->rec.given_token.data = r->given;
		r->rec.given_token.len = sizeof(r->given);
	}
	r->sex[0] = p->sex;
	r->sex[1] = '\0';
	r->rec.sex = r->sex;
	r->rec.restricted = p->restricted;
	r->rec.key_epoch = q->epoch;
	r->rec.n_events = 0;
	r->rec.events = r->evp;
	q->nrec++;
	q->sum.records++;
	q->bytes += 16 + 5 * ENC_TOKEN_LEN + ENC_BLOOM_BYTES + 32;
	rc = 0;
out:
	OPENSSL_cleanse(q->tok, q->tn * ENC_TOKEN_LEN);
	OPENSSL_cleanse(digits, sizeof(digits));
	OPENSSL_cleanse(mac, sizeof(mac));
	return rc;
}

/* Appends snapshot event se to the current record. */
static int eq_event(struct eq *q, const struct eq_sev *se)
{
	struct eq_rec *r = &q->recs[q->nrec - 1];
	Caselink__V1__EventRecord *e;
	const struct eq_code *codes = q->snap->codes;
	size_t n = r->rec.n_events, i;
	int64_t at = se->at;

	if (n >= NODE_ENCQ_MAX_EVENTS)
		return CL_ELIMIT;
	if (n == r->capev) {
		size_t ncap = r->capev ? 2 * r->capev : 8;
		Caselink__V1__EventRecord *ne = realloc(r->evs, ncap * sizeof(*ne));
		Caselink__V1__EventRecord **np;

		if (!ne)
			return CL_ENOMEM;
		r->evs = ne;
		np = realloc(r->evp, ncap * sizeof(*np));
		if (!np)
			return CL_ENOMEM;
		r->evp = np;
		r->capev = ncap;
		for (i = 0; i < n; i++)
			r->evp[i] = &r->evs[i];
		r->rec.events = r->evp;
	}
	e = &r->evs[n];
	caselink__v1__event_record__init(e);
	/* the batch counts the codes' bytes as a copy per event would take */
	for (i = 0; i < EQ_NCODES; i++)
		q->bytes += codes[se->code[i]].len + 1;
	/* protobuf-c only reads them: the snapshot's one copy, shared by concurrent answers */
	e->event_type = codes[se->code[EQ_C_TYPE]].text;
	e->occurred_at = at;
	e->role = codes[se->code[EQ_C_ROLE]].text;
	e->municipality = codes[se->code[EQ_C_MUNI]].text;
	e->risk_level = codes[se->code[EQ_C_RISK]].text;
	e->child_threat_level = se->child;
	e->referral_to = codes[se->code[EQ_C_REFERRAL]].text;
	e->age_years = node_encq_age(q->birth_year, q->birth_month, q->birth_day, at);
	r->evp[n] = e;
	r->rec.n_events = n + 1;
	q->sum.events++;
	q->bytes += 48;
	return 0;
}

int node_encq_run(struct node_store *s, const uint8_t nonce[ENC_NONCE_LEN], int64_t from,
		  int64_t to, node_encq_emit_fn emit, void *ud, struct node_encq_summary *out)
{
	return node_encq_run_handles(s, nonce, nonce, from, to, emit, ud, out);
}

int node_encq_own_nonce(const uint8_t *request_id, size_t len, uint8_t out[ENC_NONCE_LEN])
{
	static const char label[] = "caselink own handles v1";
	uint8_t buf[sizeof(label) + 64], digest[SHA256_DIGEST_LENGTH];

	if (!request_id || len < 16 || len > 64 || !out)
		return CL_EINVAL;
	memcpy(buf, label, sizeof(label));
	memcpy(buf + sizeof(label), request_id, len);
	if (!SHA256(buf, sizeof(label) + len, digest))
		return CL_ECRYPTO;
	memcpy(out, digest, ENC_NONCE_LEN);
	return CL_OK;
}

int node_encq_run_handles(struct node_store *s, const uint8_t nonce[ENC_NONCE_LEN],
			  const uint8_t handle_nonce[ENC_NONCE_LEN], int64_t from, int64_t to,
			  node_encq_emit_fn emit, void *ud, struct node_encq_summary *out)
{
	return node_encq_run_cached(s, NULL, nonce, handle_nonce, from, to, emit, ud, out);
}

/* The first of the n events at evs (in time order) at or after from. */
static size_t eq_lower(const struct eq_sev *evs, size_t n, int64_t from)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (evs[mid].at < from)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

int node_encq_run_cached(struct node_store *s, struct node_encq_cache *c,
			 const uint8_t nonce[ENC_NONCE_LEN],
			 const uint8_t handle_nonce[ENC_NONCE_LEN], int64_t from, int64_t to,
			 node_encq_emit_fn emit, void *ud, struct node_encq_summary *out)
{
	struct eq *q = NULL;
	struct eq_snap *sn = NULL;
	struct node_tokens_state state;
	int rc, began = 0;
	size_t i, j;

	if (!s || !nonce || !handle_nonce || !emit || from >= to)
		return CL_EINVAL;
	q = calloc(1, sizeof(*q));
	if (!q)
		return CL_ENOMEM;
	q->db = node_store_db(s);
	q->nonce = nonce;
	q->hnonce = handle_nonce;
	q->emit = emit;
	q->ud = ud;
	q->recs = calloc(NODE_ENCQ_BATCH, sizeof(*q->recs));
	q->recp = calloc(NODE_ENCQ_BATCH, sizeof(*q->recp));
	q->capslots = 1024;
	q->slots = calloc(q->capslots, sizeof(*q->slots));
	if (!q->recs || !q->recp || !q->slots) {
		rc = CL_ENOMEM;
		goto out;
	}
	/* one snapshot: the state checked is the state read (or the one the cache's copy was
	 * read from, keyed on the imports and the cache fill) */
	rc = sqlite3_exec(q->db, "BEGIN", NULL, NULL, NULL) == SQLITE_OK ? 0 : CL_ESQL;
	if (rc)
		goto out;
	began = 1;
	rc = node_tokens_get_state(q->db, &state);
	if (rc)
		goto out;
	if (!state.filled) {
		rc = CL_ESTALE;
		goto out;
	}
	q->epoch = state.key_epoch;
	rc = node_tokens_handle_key(q->db, q->hkey);
	if (!rc)
		rc = enc_hmac_prepare(q->hkey, sizeof(q->hkey), q->hprep);
	if (!rc)
		rc = node_tokens_qmap_new(&q->qmap);
	if (!rc)
		rc = eq_load_qgrams(q);
	if (!rc)
		rc = enc_query_new(nonce, &q->encq);
	if (!rc)
		rc = eq_snap_get(c, q->db, from, to, &sn);
	if (rc)
		goto out;
	q->snap = sn;
	for (i = 0; i < sn->npers; i++) {
		const struct eq_sper *p = &sn->pers[i];
		const struct eq_sev *evs = sn->evs + p->first;

		j = eq_lower(evs, p->nev, from);
		if (j == p->nev || evs[j].at >= to)
			continue;
		rc = eq_start(q, p);
		if (rc)
			goto out;
		for (; j < p->nev && evs[j].at < to; j++) {
			rc = eq_event(q, &evs[j]);
			if (rc)
				goto out;
		}
	}
	rc = eq_flush(q, 1);
	if (rc)
		goto out;
	q->sum.key_epoch = q->epoch;
	if (out)
		*out = q->sum;
out:
	if (began)
		sqlite3_exec(q->db, "COMMIT", NULL, NULL, NULL);
	if (q) {
		eq_snap_put(c, sn);
		OPENSSL_cleanse(q->hkey, sizeof(q->hkey));
		OPENSSL_cleanse(q->hprep, sizeof(q->hprep));
		OPENSSL_cleanse(q->tok, sizeof(q->tok));
		if (q->dtok) {
			OPENSSL_cleanse(q->dtok, q->capdtok);
			free(q->dtok);
		}
		eq_blk_free(&q->varena, 1);
		if (q->masks) {
			OPENSSL_cleanse(q->masks, q->capmasks * sizeof(*q->masks));
			free(q->masks);
		}
		if (q->vals) /* hashes of names and dates */
			OPENSSL_cleanse(q->vals, q->capvals * sizeof(*q->vals));
		free(q->vals);
		free(q->slots);
		free(q->ix);
		if (q->qtok) {
			OPENSSL_cleanse(q->qtok, q->nq * ENC_OPRF_LEN);
			free(q->qtok);
		}
		node_tokens_qmap_free(q->qmap);
		enc_query_free(q->encq);
		if (q->recs) {
			for (i = 0; i < NODE_ENCQ_BATCH; i++) {
				OPENSSL_cleanse(q->recs[i].id, sizeof(q->recs[i].id));
				OPENSSL_cleanse(q->recs[i].demo, sizeof(q->recs[i].demo));
				OPENSSL_cleanse(q->recs[i].year, sizeof(q->recs[i].year));
				OPENSSL_cleanse(q->recs[i].date, sizeof(q->recs[i].date));
				OPENSSL_cleanse(q->recs[i].given, sizeof(q->recs[i].given));
				free(q->recs[i].evs);
				free(q->recs[i].evp);
			}
			free(q->recs);
		}
		free(q->recp);
		free(q);
	}
	return rc;
}
