#include "node/encode_query.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/sha.h>

#include "common/cl_error.h"
#include "common/cldate.h"
#include "common/log.h"
#include "node/tokens.h"

#define EQ_ARENA_BLOCK (64u * 1024)

/* Bump allocator for the strings of one batch. */
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

struct eq {
	sqlite3 *db;
	const uint8_t *nonce;
	const uint8_t *hnonce; /* nonce of the row handles (the query nonce unless given) */
	uint32_t epoch;
	uint8_t hkey[NODE_TOKENS_KEY_LEN];
	struct node_tokens_qmap *qmap;
	uint8_t *qtok; /* per-query tokens of the cached q-grams, 32 bytes each */
	size_t nq;
	struct enc_query *encq;
	struct eq_blk *arena;
	struct eq_rec *recs;
	Caselink__V1__TokenRecord **recp;
	size_t nrec, bytes;
	struct node_tokens_person person;
	uint8_t tok[NODE_TOKENS_QGRAMS * ENC_TOKEN_LEN];
	unsigned char fields[NODE_TOKENS_QGRAMS];
	node_encq_emit_fn emit;
	void *ud;
	struct node_encq_summary sum;
};

static char *eq_strdup(struct eq *q, const char *s)
{
	size_t len = s ? strlen(s) + 1 : 1;
	struct eq_blk *b = q->arena;
	char *r;

	if (!b || b->cap - b->used < len) {
		size_t cap = len > EQ_ARENA_BLOCK ? len : EQ_ARENA_BLOCK;

		b = malloc(sizeof(*b) + cap);
		if (!b)
			return NULL;
		b->next = q->arena;
		b->used = 0;
		b->cap = cap;
		q->arena = b;
	}
	r = b->data + b->used;
	memcpy(r, s ? s : "", len);
	b->used += len;
	q->bytes += len;
	return r;
}

static void eq_arena_free(struct eq *q)
{
	while (q->arena) {
		struct eq_blk *n = q->arena->next;

		free(q->arena);
		q->arena = n;
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
	eq_arena_free(q);
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
		rc = enc_derived_token(kind, tok, n, out);
out:
	OPENSSL_cleanse(tok, sizeof(tok));
	OPENSSL_cleanse(g, sizeof(g));
	return rc;
}

/* Starts the record of person pid from the store and the cache. */
static int eq_start(struct eq *q, sqlite3_stmt *ps, int64_t pid)
{
	const int c = NODE_TOKENS_PERSON_NCOLS;
	struct eq_rec *r;
	const char *sharing;
	size_t i, v;
	int rc, step;

	if (q->nrec == NODE_ENCQ_BATCH || q->bytes >= NODE_ENCQ_BATCH_BYTES) {
		rc = eq_flush(q, 0);
		if (rc)
			return rc;
	}
	sqlite3_reset(ps);
	sqlite3_bind_int64(ps, 1, pid);
	step = sqlite3_step(ps);
	if (step != SQLITE_ROW)
		return step == SQLITE_DONE ? CL_ECORRUPT : CL_ESQL;
	/* cached for this person's current data under the current epoch */
	if (sqlite3_column_type(ps, c + 1) == SQLITE_NULL ||
	    sqlite3_column_int64(ps, c + 1) < sqlite3_column_int64(ps, 1) ||
	    (uint32_t)sqlite3_column_int64(ps, c + 2) != q->epoch)
		return CL_ESTALE;
	rc = node_tokens_inputs(ps, 0, &q->person);
	if (rc)
		return rc;
	r = &q->recs[q->nrec];
	caselink__v1__token_record__init(&r->rec);
	rc = node_tokens_handle(q->hkey, q->hnonce, pid, r->handle);
	if (rc)
		goto out;
	r->rec.row_handle.data = r->handle;
	r->rec.row_handle.len = sizeof(r->handle);
	if (sqlite3_column_bytes(ps, c + 3) == ENC_OPRF_LEN) {
		rc = enc_token(sqlite3_column_blob(ps, c + 3), q->nonce, r->id);
		if (rc)
			goto out;
		r->rec.id_token.data = r->id;
		r->rec.id_token.len = sizeof(r->id);
	}
	if (sqlite3_column_bytes(ps, c + 4) == ENC_OPRF_LEN) {
		rc = enc_token(sqlite3_column_blob(ps, c + 4), q->nonce, r->demo);
		if (rc)
			goto out;
		r->rec.demo_token.data = r->demo;
		r->rec.demo_token.len = sizeof(r->demo);
	}
	for (i = 0; i < q->person.nq; i++) {
		rc = node_tokens_qmap_get(q->qmap, q->person.qfield[i], q->person.qgram[i], 0, 0,
					  &v);
		if (rc < 0)
			goto out;
		if (rc == 0) {
			rc = CL_ESTALE; /* a q-gram the cache does not hold */
			goto out;
		}
		memcpy(q->tok + i * ENC_TOKEN_LEN, q->qtok + v * ENC_TOKEN_LEN, ENC_TOKEN_LEN);
		q->fields[i] = q->person.qfield[i];
	}
	if (q->person.nq) {
		rc = enc_bloom_tokens(q->encq, q->tok, q->fields, q->person.nq, r->bloom);
		if (rc)
			goto out;
		r->rec.bloom.data = r->bloom;
		r->rec.bloom.len = sizeof(r->bloom);
	}
	{
		char digits[16] = "";
		size_t glen = 0;
		const char *given = (const char *)sqlite3_column_text(ps, 5);

		if (given)
			glen = (size_t)sqlite3_column_bytes(ps, 5);
		if (q->person.birth_year && q->person.birth_month && q->person.birth_day)
			snprintf(digits, sizeof(digits), "%04d%02d%02d", q->person.birth_year,
				 q->person.birth_month, q->person.birth_day);
		else if (q->person.birth_year)
			snprintf(digits, sizeof(digits), "%04d", q->person.birth_year);
		rc = eq_derived(q, ENC_DERIVED_YEAR, digits, strlen(digits), r->year);
		if (rc == 0) {
			r->rec.year_token.data = r->year;
			r->rec.year_token.len = sizeof(r->year);
		}
		if (rc >= 0)
			rc = eq_derived(q, ENC_DERIVED_DATE, digits, strlen(digits), r->date);
		if (rc == 0) {
			r->rec.date_token.data = r->date;
			r->rec.date_token.len = sizeof(r->date);
		}
		if (rc >= 0)
			rc = eq_derived(q, ENC_DERIVED_GIVEN, given, glen, r->given);
		if (rc == 0) {
			r->rec.given_token.data = r->given;
			r->rec.given_token.len = sizeof(r->given);
		}
		OPENSSL_cleanse(digits, sizeof(digits));
		if (rc < 0)
			goto out;
	}
	r->sex[0] = q->person.sex[0];
	r->sex[1] = '\0';
	r->rec.sex = r->sex;
	sharing = (const char *)sqlite3_column_text(ps, c);
	r->rec.restricted = sharing && !strcmp(sharing, "restricted");
	r->rec.key_epoch = q->epoch;
	r->rec.n_events = 0;
	r->rec.events = r->evp;
	q->nrec++;
	q->sum.records++;
	q->bytes += 16 + 5 * ENC_TOKEN_LEN + ENC_BLOOM_BYTES + 32;
	rc = 0;
out:
	OPENSSL_cleanse(q->tok, q->person.nq * ENC_TOKEN_LEN);
	return rc;
}

/* Appends the event in the current row of ev to the current record. */
static int eq_event(struct eq *q, sqlite3_stmt *ev)
{
	struct eq_rec *r = &q->recs[q->nrec - 1];
	Caselink__V1__EventRecord *e;
	size_t n = r->rec.n_events, i;
	int64_t at;

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
	at = sqlite3_column_int64(ev, 2);
	e->event_type = eq_strdup(q, (const char *)sqlite3_column_text(ev, 1));
	e->occurred_at = at;
	e->role = eq_strdup(q, (const char *)sqlite3_column_text(ev, 3));
	e->municipality = eq_strdup(q, (const char *)sqlite3_column_text(ev, 4));
	e->risk_level = eq_strdup(q, (const char *)sqlite3_column_text(ev, 5));
	e->child_threat_level =
	    sqlite3_column_type(ev, 6) == SQLITE_NULL ? -1 : sqlite3_column_int(ev, 6);
	e->referral_to = eq_strdup(q, (const char *)sqlite3_column_text(ev, 7));
	if (!e->event_type || !e->role || !e->municipality || !e->risk_level || !e->referral_to)
		return CL_ENOMEM;
	e->age_years =
	    node_encq_age(q->person.birth_year, q->person.birth_month, q->person.birth_day, at);
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
	struct eq *q = NULL;
	struct node_tokens_state state;
	sqlite3_stmt *ev = NULL, *ps = NULL;
	int64_t cur = 0;
	int rc, step, have = 0, began = 0;
	size_t i;

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
	if (!q->recs || !q->recp) {
		rc = CL_ENOMEM;
		goto out;
	}
	/* one snapshot: the state checked is the state read */
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
		rc = node_tokens_qmap_new(&q->qmap);
	if (!rc)
		rc = eq_load_qgrams(q);
	if (!rc)
		rc = enc_query_new(nonce, &q->encq);
	if (rc)
		goto out;
	rc = CL_ESQL;
	if (sqlite3_prepare_v2(q->db,
			       "SELECT person_id, event_type, occurred_at, role, municipality,"
			       " risk_level, child_threat_level, referral_to FROM events"
			       " WHERE occurred_at >= ?1 AND occurred_at < ?2"
			       " ORDER BY person_id, occurred_at, id",
			       -1, &ev, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(q->db,
			       "SELECT " NODE_TOKENS_PERSON_COLS ", p.sharing, t.gen, t.key_epoch,"
			       " t.id_out, t.demo_out FROM persons p"
			       " LEFT JOIN person_tokens t ON t.person_id=p.id WHERE p.id=?",
			       -1, &ps, NULL) != SQLITE_OK)
		goto out;
	sqlite3_bind_int64(ev, 1, from);
	sqlite3_bind_int64(ev, 2, to);
	while ((step = sqlite3_step(ev)) == SQLITE_ROW) {
		int64_t pid = sqlite3_column_int64(ev, 0);

		if (!have || pid != cur) {
			rc = eq_start(q, ps, pid);
			if (rc)
				goto out;
			have = 1;
			cur = pid;
		}
		rc = eq_event(q, ev);
		if (rc)
			goto out;
	}
	if (step != SQLITE_DONE) {
		rc = CL_ESQL;
		goto out;
	}
	rc = eq_flush(q, 1);
	if (rc)
		goto out;
	q->sum.key_epoch = q->epoch;
	if (out)
		*out = q->sum;
out:
	sqlite3_finalize(ev);
	sqlite3_finalize(ps);
	if (began)
		sqlite3_exec(q->db, "COMMIT", NULL, NULL, NULL);
	if (q) {
		OPENSSL_cleanse(q->hkey, sizeof(q->hkey));
		OPENSSL_cleanse(&q->person, sizeof(q->person));
		OPENSSL_cleanse(q->tok, sizeof(q->tok));
		if (q->qtok) {
			OPENSSL_cleanse(q->qtok, q->nq * ENC_OPRF_LEN);
			free(q->qtok);
		}
		node_tokens_qmap_free(q->qmap);
		enc_query_free(q->encq);
		eq_arena_free(q);
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
