#include "node/tokens.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include "common/cl_error.h"
#include "common/log.h"
#include "common/partyconf.h"
#include "protocol/caselink.pb-c.h"
#include "protocol/oprf.h"
#include "protocol/party.h"
#include "protocol/pki.h"
#include "protocol/rpc.h"

#define TK_CHUNK       256	  /* persons per written chunk */
#define TK_QMAP_MAX    (1u << 24) /* distinct q-grams a map may hold */
#define TK_DEADLINE_MS 30000
#define TK_BATCH_MAX   65536

/* ---- the (field, q-gram) map ---- */

struct tk_qent {
	unsigned char used, field;
	char qgram[ENC_QGRAM_SLOT];
	size_t value;
};

struct node_tokens_qmap {
	struct tk_qent *slots;
	size_t cap, n; /* cap is a power of two */
};

static uint64_t tk_qhash(unsigned field, const char *qgram)
{
	uint64_t h = 1469598103934665603ull ^ field;
	size_t i;

	for (i = 0; i < ENC_QGRAM_SLOT && qgram[i]; i++) {
		h ^= (unsigned char)qgram[i];
		h *= 1099511628211ull;
	}
	return h ^ (h >> 29);
}

int node_tokens_qmap_new(struct node_tokens_qmap **out)
{
	struct node_tokens_qmap *m = NULL;

	if (!out)
		return CL_EINVAL;
	m = calloc(1, sizeof(*m));
	if (!m)
		return CL_ENOMEM;
	m->cap = 1024;
	m->slots = calloc(m->cap, sizeof(*m->slots));
	if (!m->slots) {
		free(m);
		return CL_ENOMEM;
	}
	*out = m;
	return 0;
}

void node_tokens_qmap_free(struct node_tokens_qmap *m)
{
	if (!m)
		return;
	free(m->slots);
	free(m);
}

static struct tk_qent *tk_qfind(struct tk_qent *slots, size_t cap, unsigned field,
				const char *qgram)
{
	size_t i = (size_t)tk_qhash(field, qgram) & (cap - 1);

	while (slots[i].used &&
	       (slots[i].field != field || strncmp(slots[i].qgram, qgram, ENC_QGRAM_SLOT) != 0))
		i = (i + 1) & (cap - 1);
	return &slots[i];
}

static int tk_qgrow(struct node_tokens_qmap *m)
{
	struct tk_qent *ns = NULL, *e;
	size_t ncap, i;

	if (m->cap >= TK_QMAP_MAX)
		return CL_ELIMIT;
	ncap = m->cap * 2;
	ns = calloc(ncap, sizeof(*ns));
	if (!ns)
		return CL_ENOMEM;
	for (i = 0; i < m->cap; i++) {
		if (!m->slots[i].used)
			continue;
		e = tk_qfind(ns, ncap, m->slots[i].field, m->slots[i].qgram);
		*e = m->slots[i];
	}
	free(m->slots);
	m->slots = ns;
	m->cap = ncap;
	return 0;
}

int node_tokens_qmap_get(struct node_tokens_qmap *m, unsigned field, const char *qgram, int add,
			 size_t add_value, size_t *value)
{
	struct tk_qent *e;
	size_t len;
	int rc;

	if (!m || !qgram || field >= ENC_FIELD_MAX)
		return CL_EINVAL;
	len = strnlen(qgram, ENC_QGRAM_SLOT);
	if (len == 0 || len >= ENC_QGRAM_SLOT)
		return CL_EINVAL;
	e = tk_qfind(m->slots, m->cap, field, qgram);
	if (e->used) {
		if (value)
			*value = e->value;
		return 1;
	}
	if (!add)
		return 0;
	if (2 * (m->n + 1) > m->cap) {
		rc = tk_qgrow(m);
		if (rc)
			return rc;
		e = tk_qfind(m->slots, m->cap, field, qgram);
	}
	e->used = 1;
	e->field = (unsigned char)field;
	memset(e->qgram, 0, sizeof(e->qgram));
	memcpy(e->qgram, qgram, len);
	e->value = add_value;
	m->n++;
	if (value)
		*value = add_value;
	return 0;
}

/* ---- inputs ---- */

static const char *tk_text(sqlite3_stmt *st, int col, size_t *len)
{
	const char *t = (const char *)sqlite3_column_text(st, col);

	*len = t ? (size_t)sqlite3_column_bytes(st, col) : 0;
	return t;
}

/* Appends the q-grams of text as field f; a field that does not encode is left out. */
static int tk_field(struct node_tokens_person *p, unsigned f, const char *text, size_t len)
{
	char g[NODE_TOKENS_FIELD_QGRAMS][ENC_QGRAM_SLOT];
	size_t n = 0, i;
	int rc;

	if (!text || len == 0)
		return 0;
	rc = enc_qgrams(text, len, g, NODE_TOKENS_FIELD_QGRAMS, &n);
	if (rc == CL_EPARSE || rc == CL_ELIMIT)
		rc = 0, n = 0; /* counts as absent, as in linkage-eval */
	for (i = 0; i < n && p->nq < NODE_TOKENS_QGRAMS; i++) {
		memcpy(p->qgram[p->nq], g[i], ENC_QGRAM_SLOT);
		p->qfield[p->nq++] = (unsigned char)f;
	}
	OPENSSL_cleanse(g, sizeof(g));
	return rc;
}

int node_tokens_inputs(sqlite3_stmt *st, int col, struct node_tokens_person *p)
{
	const char *country, *code, *status, *given, *family, *sex;
	size_t country_len, code_len, status_len, given_len, family_len, sex_len;
	char date[16], digits[16];
	int n, rc;

	if (!st || !p || col < 0)
		return CL_EINVAL;
	memset(p, 0, sizeof(*p));
	p->id = sqlite3_column_int64(st, col);
	p->change_gen = sqlite3_column_int64(st, col + 1);
	country = tk_text(st, col + 2, &country_len);
	code = tk_text(st, col + 3, &code_len);
	status = tk_text(st, col + 4, &status_len);
	given = tk_text(st, col + 5, &given_len);
	family = tk_text(st, col + 6, &family_len);
	if (sqlite3_column_type(st, col + 7) != SQLITE_NULL) {
		p->birth_year = sqlite3_column_int(st, col + 7);
		p->birth_month = sqlite3_column_int(st, col + 8);
		p->birth_day = sqlite3_column_int(st, col + 9);
	}
	if (p->birth_year < 1 || p->birth_year > 9999)
		p->birth_year = p->birth_month = p->birth_day = 0;
	sex = tk_text(st, col + 10, &sex_len);
	p->sex[0] = sex && sex_len == 1 ? sex[0] : 'U';
	p->sex[1] = '\0';

	if (status && !strcmp(status, "valid") && country && country_len == 2 && code &&
	    code_len > 0 && code_len + 3 < NODE_TOKENS_INPUT_MAX) {
		memcpy(p->id_in, country, 2);
		p->id_in[2] = ':';
		memcpy(p->id_in + 3, code, code_len);
		p->id_len = code_len + 3;
	}
	date[0] = digits[0] = '\0';
	if (p->birth_year) {
		if (p->birth_month && p->birth_day) {
			snprintf(date, sizeof(date), "%04d-%02d-%02d", p->birth_year,
				 p->birth_month, p->birth_day);
			snprintf(digits, sizeof(digits), "%04d%02d%02d", p->birth_year,
				 p->birth_month, p->birth_day);
		} else {
			snprintf(date, sizeof(date), "%04d", p->birth_year);
			snprintf(digits, sizeof(digits), "%04d", p->birth_year);
		}
	}
	if (family && family_len > 0 && p->birth_year) {
		n = snprintf((char *)p->demo_in, sizeof(p->demo_in), "%s|%s|%s", family, date,
			     p->sex);
		if (n > 0 && (size_t)n < sizeof(p->demo_in))
			p->demo_len = (size_t)n;
		else
			OPENSSL_cleanse(p->demo_in, sizeof(p->demo_in));
	}
	rc = tk_field(p, ENC_FIELD_GIVEN, given, given_len);
	if (!rc)
		rc = tk_field(p, ENC_FIELD_FAMILY, family, family_len);
	if (!rc)
		rc = tk_field(p, ENC_FIELD_BIRTH, digits, strlen(digits));
	/* both names again under one tag, last (the swap-invariant filter; encode.h) */
	if (!rc)
		rc = tk_field(p, ENC_FIELD_NAME, given, given_len);
	if (!rc)
		rc = tk_field(p, ENC_FIELD_NAME, family, family_len);
	OPENSSL_cleanse(date, sizeof(date));
	OPENSSL_cleanse(digits, sizeof(digits));
	if (rc)
		OPENSSL_cleanse(p, sizeof(*p));
	return rc;
}

/* ---- state ---- */

static int tk_exec(sqlite3 *db, const char *sql)
{
	if (sqlite3_exec(db, sql, NULL, NULL, NULL) != SQLITE_OK) {
		log_event(LOG_LEVEL_ERROR, "tokens_sql", "err=\"%s\"", sqlite3_errmsg(db));
		return CL_ESQL;
	}
	return 0;
}

int node_tokens_get_state(sqlite3 *db, struct node_tokens_state *out)
{
	sqlite3_stmt *st = NULL;
	struct node_tokens_state s;
	int rc = CL_ESQL;

	if (!db || !out)
		return CL_EINVAL;
	memset(&s, 0, sizeof(s));
	if (sqlite3_prepare_v2(db,
			       "SELECT filled_gen, key_epoch, handle_key IS NOT NULL,"
			       " (SELECT coalesce(max(change_gen), 0) FROM persons)"
			       " FROM token_state WHERE id=1",
			       -1, &st, NULL) != SQLITE_OK)
		goto out;
	if (sqlite3_step(st) != SQLITE_ROW) {
		rc = CL_ECORRUPT;
		goto out;
	}
	s.filled_gen = sqlite3_column_int64(st, 0);
	s.key_epoch = (uint32_t)sqlite3_column_int64(st, 1);
	s.has_handle_key = sqlite3_column_int(st, 2);
	s.data_gen = sqlite3_column_int64(st, 3);
	s.filled = s.key_epoch != 0 && s.has_handle_key && s.data_gen <= s.filled_gen;
	*out = s;
	rc = 0;
out:
	sqlite3_finalize(st);
	return rc;
}

int node_tokens_handle_key(sqlite3 *db, uint8_t key[NODE_TOKENS_KEY_LEN])
{
	sqlite3_stmt *st = NULL;
	int rc = CL_ESQL;

	if (!db || !key)
		return CL_EINVAL;
	if (sqlite3_prepare_v2(db, "SELECT handle_key FROM token_state WHERE id=1", -1, &st,
			       NULL) != SQLITE_OK)
		goto out;
	if (sqlite3_step(st) != SQLITE_ROW || sqlite3_column_bytes(st, 0) != NODE_TOKENS_KEY_LEN) {
		rc = CL_ESTALE;
		goto out;
	}
	memcpy(key, sqlite3_column_blob(st, 0), NODE_TOKENS_KEY_LEN);
	rc = 0;
out:
	sqlite3_finalize(st);
	return rc;
}

int node_tokens_handle(const uint8_t key[NODE_TOKENS_KEY_LEN], const uint8_t nonce[ENC_NONCE_LEN],
		       int64_t person_id, uint8_t out[NODE_TOKENS_HANDLE_LEN])
{
	uint8_t msg[ENC_NONCE_LEN + 8], mac[EVP_MAX_MD_SIZE];
	unsigned int maclen = 0;
	uint64_t v = (uint64_t)person_id;
	int i, rc = CL_ECRYPTO;

	if (!key || !nonce || !out)
		return CL_EINVAL;
	memcpy(msg, nonce, ENC_NONCE_LEN);
	for (i = 0; i < 8; i++)
		msg[ENC_NONCE_LEN + i] = (uint8_t)(v >> (56 - 8 * i));
	if (HMAC(EVP_sha256(), key, NODE_TOKENS_KEY_LEN, msg, sizeof(msg), mac, &maclen) &&
	    maclen == 32) {
		memcpy(out, mac, NODE_TOKENS_HANDLE_LEN);
		rc = 0;
	}
	OPENSSL_cleanse(mac, sizeof(mac));
	return rc;
}

/* One handle asked for, with its position in the caller's list. */
struct tk_want {
	uint8_t h[NODE_TOKENS_HANDLE_LEN];
	size_t i;
};

static int tk_want_cmp(const void *a, const void *b)
{
	const struct tk_want *x = a, *y = b;
	int c = memcmp(x->h, y->h, NODE_TOKENS_HANDLE_LEN);

	return c ? c : (x->i > y->i) - (x->i < y->i);
}

int node_tokens_resolve_many(struct node_store *s, const uint8_t nonce[ENC_NONCE_LEN],
			     const uint8_t (*handles)[NODE_TOKENS_HANDLE_LEN], size_t n,
			     int (*found)(void *ud, size_t i, const char *ref), void *ud)
{
	sqlite3 *db = node_store_db(s);
	sqlite3_stmt *st = NULL;
	struct tk_want *want = NULL, key_h;
	uint8_t key[NODE_TOKENS_KEY_LEN];
	size_t i, lo, hi;
	int rc, step;

	if (!db || !nonce || (n && !handles) || !found || n > SIZE_MAX / sizeof(*want))
		return CL_EINVAL;
	if (n == 0)
		return CL_OK;
	want = malloc(n * sizeof(*want));
	if (!want)
		return CL_ENOMEM;
	for (i = 0; i < n; i++) {
		memcpy(want[i].h, handles[i], NODE_TOKENS_HANDLE_LEN);
		want[i].i = i;
	}
	qsort(want, n, sizeof(*want), tk_want_cmp);
	rc = node_tokens_handle_key(db, key);
	if (rc)
		goto out;
	rc = CL_ESQL;
	if (sqlite3_prepare_v2(db, "SELECT id, person_ref FROM persons", -1, &st, NULL) !=
	    SQLITE_OK)
		goto out;
	while ((step = sqlite3_step(st)) == SQLITE_ROW) {
		rc = node_tokens_handle(key, nonce, sqlite3_column_int64(st, 0), key_h.h);
		if (rc)
			goto out;
		/* the first wanted entry not below this person's handle, then all equal ones */
		key_h.i = 0;
		for (lo = 0, hi = n; lo < hi;) {
			size_t mid = lo + (hi - lo) / 2;

			if (tk_want_cmp(&want[mid], &key_h) < 0)
				lo = mid + 1;
			else
				hi = mid;
		}
		for (; lo < n && !memcmp(want[lo].h, key_h.h, NODE_TOKENS_HANDLE_LEN); lo++) {
			rc = found(ud, want[lo].i, (const char *)sqlite3_column_text(st, 1));
			if (rc)
				goto out;
		}
	}
	rc = step == SQLITE_DONE ? CL_OK : CL_ESQL;
out:
	OPENSSL_cleanse(key, sizeof(key));
	sqlite3_finalize(st);
	free(want);
	return rc;
}

/* node_tokens_resolve's one answer. */
struct tk_one {
	char *ref;
	size_t refsz;
	int rc;
};

static int tk_found_one(void *ud, size_t i, const char *ref)
{
	struct tk_one *o = ud;
	size_t len = ref ? strlen(ref) : 0;

	(void)i;
	if (!ref || len >= o->refsz) {
		o->rc = CL_ELIMIT;
		return CL_ELIMIT;
	}
	memcpy(o->ref, ref, len + 1);
	o->rc = CL_OK;
	return 1; /* stop: found */
}

int node_tokens_resolve(struct node_store *s, const uint8_t nonce[ENC_NONCE_LEN],
			const uint8_t handle[NODE_TOKENS_HANDLE_LEN], char *ref, size_t refsz)
{
	struct tk_one o = {ref, refsz, CL_ENOTFOUND};
	int rc;

	if (!handle || !ref || !refsz)
		return CL_EINVAL;
	rc = node_tokens_resolve_many(s, nonce, (const uint8_t(*)[NODE_TOKENS_HANDLE_LEN])handle, 1,
				      tk_found_one, &o);
	if (rc == 1 || rc == CL_ELIMIT)
		return o.rc;
	return rc ? rc : CL_ENOTFOUND;
}

/* ---- fill ---- */

/* One OPRF evaluation of a chunk: its input, blind and output (secrets). */
struct tk_elem {
	unsigned char in[NODE_TOKENS_INPUT_MAX];
	size_t len;
	uint8_t blind[OPRF_SCALAR_LEN];
	uint8_t out[OPRF_OUTPUT_LEN];
	unsigned char field; /* q-grams: the field */
	char qgram[ENC_QGRAM_SLOT];
};

/* One person of a chunk. */
struct tk_pers {
	int64_t id, gen;
	long id_el, demo_el; /* element index, -1 for none */
};

struct tk_fill {
	sqlite3 *db;
	const struct node_tokens_oprf *kh;
	struct oprf_ctx *octx;
	struct node_tokens_qmap *cached; /* q-grams cached under the epoch, or due in this fill */
	uint32_t epoch;
	size_t batch;
	struct tk_elem *el;
	size_t nel, capel;
	struct tk_pers pers[TK_CHUNK];
	size_t npers;
	uint8_t *blinded, *evaluated; /* batch * 33 bytes each */
	struct node_tokens_report rep;
};

static int tk_push(struct tk_fill *f, const unsigned char *in, size_t len, long *index)
{
	struct tk_elem *e;

	if (f->nel == f->capel) {
		size_t ncap = f->capel ? 2 * f->capel : 1024, bytes;
		struct tk_elem *n;

		if (__builtin_mul_overflow(ncap, sizeof(*n), &bytes))
			return CL_EOVERFLOW;
		n = malloc(bytes);
		if (!n)
			return CL_ENOMEM;
		if (f->el) {
			memcpy(n, f->el, f->nel * sizeof(*n));
			OPENSSL_cleanse(f->el, f->capel * sizeof(*n));
			free(f->el);
		}
		f->el = n;
		f->capel = ncap;
	}
	e = &f->el[f->nel];
	memset(e, 0, sizeof(*e));
	memcpy(e->in, in, len);
	e->len = len;
	if (index)
		*index = (long)f->nel;
	f->nel++;
	return 0;
}

/* Blinds, evaluates and finalizes the chunk's elements, batch by batch. */
static int tk_evaluate(struct tk_fill *f)
{
	size_t off, n, i;
	uint32_t used = 0;
	int rc = 0;

	for (off = 0; off < f->nel; off += n) {
		n = f->nel - off < f->batch ? f->nel - off : f->batch;
		for (i = 0; i < n; i++) {
			struct tk_elem *e = &f->el[off + i];

			rc = oprf_blind(f->octx, e->in, e->len, e->blind,
					f->blinded + i * OPRF_ELEMENT_LEN);
			if (rc)
				goto out;
		}
		rc = f->kh->evaluate(f->kh->ud, f->epoch, f->blinded, n, f->evaluated, &used);
		if (rc)
			goto out;
		if (used != f->epoch) {
			log_event(LOG_LEVEL_ERROR, "tokens_epoch", "asked=%u got=%u", f->epoch,
				  used);
			rc = CL_EPROTO;
			goto out;
		}
		for (i = 0; i < n; i++) {
			struct tk_elem *e = &f->el[off + i];

			rc = oprf_finalize(f->octx, e->in, e->len, e->blind,
					   f->evaluated + i * OPRF_ELEMENT_LEN, e->out);
			OPENSSL_cleanse(e->blind, sizeof(e->blind));
			if (rc)
				goto out;
		}
		f->rep.elements += n;
		f->rep.calls++;
	}
out:
	return rc;
}

static void tk_bind_out(sqlite3_stmt *st, int col, const struct tk_fill *f, long el)
{
	if (el < 0)
		sqlite3_bind_null(st, col);
	else
		sqlite3_bind_blob(st, col, f->el[el].out, OPRF_OUTPUT_LEN, SQLITE_STATIC);
}

/* Evaluates the chunk and writes it in one transaction. */
static int tk_flush(struct tk_fill *f, sqlite3_stmt *ins_p, sqlite3_stmt *ins_q)
{
	size_t i;
	int rc;

	if (f->npers == 0 && f->nel == 0)
		return 0;
	rc = tk_evaluate(f);
	if (rc)
		goto out;
	rc = tk_exec(f->db, "BEGIN IMMEDIATE");
	if (rc)
		goto out;
	for (i = 0; i < f->npers && !rc; i++) {
		const struct tk_pers *p = &f->pers[i];

		sqlite3_reset(ins_p);
		sqlite3_bind_int64(ins_p, 1, p->id);
		sqlite3_bind_int64(ins_p, 2, p->gen);
		sqlite3_bind_int64(ins_p, 3, f->epoch);
		tk_bind_out(ins_p, 4, f, p->id_el);
		tk_bind_out(ins_p, 5, f, p->demo_el);
		if (sqlite3_step(ins_p) != SQLITE_DONE)
			rc = CL_ESQL;
	}
	for (i = 0; i < f->nel && !rc; i++) {
		const struct tk_elem *e = &f->el[i];

		if (!e->qgram[0])
			continue;
		sqlite3_reset(ins_q);
		sqlite3_bind_int(ins_q, 1, e->field);
		sqlite3_bind_text(ins_q, 2, e->qgram, -1, SQLITE_STATIC);
		sqlite3_bind_int64(ins_q, 3, f->epoch);
		sqlite3_bind_blob(ins_q, 4, e->out, OPRF_OUTPUT_LEN, SQLITE_STATIC);
		if (sqlite3_step(ins_q) != SQLITE_DONE)
			rc = CL_ESQL;
	}
	sqlite3_reset(ins_p);
	sqlite3_reset(ins_q);
	sqlite3_clear_bindings(ins_p);
	sqlite3_clear_bindings(ins_q);
	if (!rc)
		rc = tk_exec(f->db, "COMMIT");
	if (rc) {
		sqlite3_exec(f->db, "ROLLBACK", NULL, NULL, NULL);
		goto out;
	}
	f->rep.persons += f->npers;
out:
	if (f->el)
		OPENSSL_cleanse(f->el, f->nel * sizeof(*f->el));
	f->nel = 0;
	f->npers = 0;
	return rc;
}

/* Adds one due person's inputs (and its q-grams not yet cached) to the chunk. */
static int tk_add_person(struct tk_fill *f, const struct node_tokens_person *p)
{
	struct tk_pers *tp = &f->pers[f->npers];
	unsigned char in[ENC_QIN_MAX];
	size_t i, il;
	long idx;
	int rc;

	tp->id = p->id;
	tp->gen = p->change_gen;
	tp->id_el = tp->demo_el = -1;
	if (p->id_len) {
		rc = tk_push(f, p->id_in, p->id_len, &tp->id_el);
		if (rc)
			return rc;
		f->rep.ids++;
	}
	if (p->demo_len) {
		rc = tk_push(f, p->demo_in, p->demo_len, &tp->demo_el);
		if (rc)
			return rc;
		f->rep.demos++;
	}
	for (i = 0; i < p->nq; i++) {
		rc = node_tokens_qmap_get(f->cached, p->qfield[i], p->qgram[i], 1, 0, NULL);
		if (rc < 0)
			return rc;
		if (rc == 1)
			continue;
		rc = enc_qgram_input(p->qfield[i], p->qgram[i], in, &il);
		if (!rc)
			rc = tk_push(f, in, il, &idx);
		if (rc)
			return rc;
		f->el[idx].field = p->qfield[i];
		memcpy(f->el[idx].qgram, p->qgram[i], ENC_QGRAM_SLOT);
		f->rep.qgrams++;
	}
	f->npers++;
	return 0;
}

/* Loads the q-grams cached under epoch into f->cached. */
static int tk_load_qgrams(struct tk_fill *f)
{
	sqlite3_stmt *st = NULL;
	int rc = CL_ESQL, step;

	if (sqlite3_prepare_v2(f->db, "SELECT field, qgram FROM qgram_tokens WHERE key_epoch=?", -1,
			       &st, NULL) != SQLITE_OK)
		goto out;
	sqlite3_bind_int64(st, 1, f->epoch);
	while ((step = sqlite3_step(st)) == SQLITE_ROW) {
		const char *q = (const char *)sqlite3_column_text(st, 1);
		int field = sqlite3_column_int(st, 0);

		if (!q || field < 0 || field >= ENC_FIELD_MAX) {
			rc = CL_ECORRUPT;
			goto out;
		}
		rc = node_tokens_qmap_get(f->cached, (unsigned)field, q, 1, 0, NULL);
		if (rc < 0)
			goto out;
	}
	rc = step == SQLITE_DONE ? 0 : CL_ESQL;
out:
	sqlite3_finalize(st);
	return rc;
}

/* Reads, in one snapshot, the highest change_gen and the ids of the persons due. */
static int tk_due(struct tk_fill *f, int full, int64_t filled_gen, int64_t **ids, size_t *n,
		  int64_t *gen)
{
	sqlite3_stmt *st = NULL;
	int64_t *v = NULL, *nv;
	size_t cnt = 0, cap = 0, bytes;
	int rc, step;

	rc = tk_exec(f->db, "BEGIN");
	if (rc)
		return rc;
	rc = CL_ESQL;
	if (sqlite3_prepare_v2(f->db, "SELECT coalesce(max(change_gen), 0) FROM persons", -1, &st,
			       NULL) != SQLITE_OK ||
	    sqlite3_step(st) != SQLITE_ROW)
		goto out;
	*gen = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	st = NULL;
	if (sqlite3_prepare_v2(f->db,
			       full ? "SELECT id FROM persons ORDER BY id"
				    : "SELECT id FROM persons WHERE change_gen > ? ORDER BY id",
			       -1, &st, NULL) != SQLITE_OK)
		goto out;
	if (!full)
		sqlite3_bind_int64(st, 1, filled_gen);
	while ((step = sqlite3_step(st)) == SQLITE_ROW) {
		if (cnt == cap) {
			cap = cap ? 2 * cap : 4096;
			if (__builtin_mul_overflow(cap, sizeof(*v), &bytes)) {
				rc = CL_EOVERFLOW;
				goto out;
			}
			nv = realloc(v, bytes);
			if (!nv) {
				rc = CL_ENOMEM;
				goto out;
			}
			v = nv;
		}
		v[cnt++] = sqlite3_column_int64(st, 0);
	}
	if (step != SQLITE_DONE)
		goto out;
	*ids = v;
	*n = cnt;
	v = NULL;
	rc = 0;
out:
	sqlite3_finalize(st);
	sqlite3_exec(f->db, "COMMIT", NULL, NULL, NULL);
	free(v);
	return rc;
}

/* Marks the cache filled to gen under the epoch; makes the handle key at first use. */
static int tk_mark_filled(struct tk_fill *f, int full, int64_t gen)
{
	sqlite3_stmt *st = NULL;
	uint8_t key[NODE_TOKENS_KEY_LEN];
	int rc;

	if (RAND_priv_bytes(key, sizeof(key)) != 1)
		return CL_ECRYPTO;
	rc = tk_exec(f->db, "BEGIN IMMEDIATE");
	if (rc)
		goto out;
	rc = CL_ESQL;
	if (sqlite3_prepare_v2(f->db,
			       "UPDATE token_state SET filled_gen=?1, key_epoch=?2, filled_at=?3,"
			       " handle_key=coalesce(handle_key, ?4) WHERE id=1",
			       -1, &st, NULL) != SQLITE_OK)
		goto fail;
	sqlite3_bind_int64(st, 1, gen);
	sqlite3_bind_int64(st, 2, f->epoch);
	sqlite3_bind_int64(st, 3, (int64_t)time(NULL));
	sqlite3_bind_blob(st, 4, key, sizeof(key), SQLITE_STATIC);
	if (sqlite3_step(st) != SQLITE_DONE || sqlite3_changes(f->db) != 1)
		goto fail;
	/* outputs of other epochs are useless now: drop them */
	if (full) {
		sqlite3_finalize(st);
		st = NULL;
		if (sqlite3_prepare_v2(f->db, "DELETE FROM qgram_tokens WHERE key_epoch<>?", -1,
				       &st, NULL) != SQLITE_OK)
			goto fail;
		sqlite3_bind_int64(st, 1, f->epoch);
		if (sqlite3_step(st) != SQLITE_DONE)
			goto fail;
	}
	sqlite3_finalize(st);
	st = NULL;
	rc = tk_exec(f->db, "COMMIT");
	if (!rc)
		goto out;
fail:
	sqlite3_exec(f->db, "ROLLBACK", NULL, NULL, NULL);
	rc = rc ? rc : CL_ESQL;
out:
	sqlite3_finalize(st);
	OPENSSL_cleanse(key, sizeof(key));
	return rc;
}

int node_tokens_fill(struct node_store *s, const struct node_tokens_oprf *kh, FILE *progress,
		     struct node_tokens_report *out)
{
	struct tk_fill *f = NULL;
	struct node_tokens_state state;
	struct node_tokens_person *p = NULL;
	sqlite3_stmt *sel = NULL, *ins_p = NULL, *ins_q = NULL;
	int64_t *ids = NULL, gen = 0;
	size_t nids = 0, i, bytes;
	int rc, full;

	if (!s || !kh || !kh->current_epoch || !kh->evaluate)
		return CL_EINVAL;
	f = calloc(1, sizeof(*f));
	p = malloc(sizeof(*p));
	if (!f || !p) {
		rc = CL_ENOMEM;
		goto out;
	}
	f->db = node_store_db(s);
	f->kh = kh;
	f->batch = kh->max_batch ? kh->max_batch : NODE_TOKENS_BATCH_DEFAULT;
	if (f->batch > TK_BATCH_MAX) {
		rc = CL_EINVAL;
		goto out;
	}
	rc = node_tokens_get_state(f->db, &state);
	if (rc)
		goto out;
	rc = kh->current_epoch(kh->ud, &f->epoch);
	if (rc)
		goto out;
	if (f->epoch == 0) {
		rc = CL_EPROTO;
		goto out;
	}
	full = state.key_epoch != f->epoch;
	f->rep.key_epoch = f->epoch;
	f->rep.full = full;
	if (__builtin_mul_overflow(f->batch, (size_t)OPRF_ELEMENT_LEN, &bytes)) {
		rc = CL_EOVERFLOW;
		goto out;
	}
	f->blinded = malloc(bytes);
	f->evaluated = malloc(bytes);
	if (!f->blinded || !f->evaluated) {
		rc = CL_ENOMEM;
		goto out;
	}
	rc = oprf_ctx_new(&f->octx);
	if (!rc)
		rc = node_tokens_qmap_new(&f->cached);
	if (rc)
		goto out;
	if (full && state.key_epoch != 0) {
		/* a new epoch: the cache stops claiming anything before the first output changes */
		rc = tk_exec(f->db, "UPDATE token_state SET key_epoch=0, filled_gen=0 WHERE id=1");
		if (rc)
			goto out;
	}
	rc = tk_due(f, full, state.filled_gen, &ids, &nids, &gen);
	if (!rc)
		rc = tk_load_qgrams(f);
	if (rc)
		goto out;
	rc = CL_ESQL;
	if (sqlite3_prepare_v2(f->db,
			       "SELECT " NODE_TOKENS_PERSON_COLS ", t.gen, t.key_epoch"
			       " FROM persons p LEFT JOIN person_tokens t ON t.person_id=p.id"
			       " WHERE p.id=?",
			       -1, &sel, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(f->db,
			       "INSERT OR REPLACE INTO person_tokens(person_id, gen, key_epoch,"
			       " id_out, demo_out) VALUES (?, ?, ?, ?, ?)",
			       -1, &ins_p, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(
		f->db,
		"INSERT OR REPLACE INTO qgram_tokens(field, qgram, key_epoch, output)"
		" VALUES (?, ?, ?, ?)",
		-1, &ins_q, NULL) != SQLITE_OK)
		goto out;
	for (i = 0; i < nids; i++) {
		int step;

		sqlite3_reset(sel);
		sqlite3_bind_int64(sel, 1, ids[i]);
		step = sqlite3_step(sel);
		if (step == SQLITE_DONE)
			continue; /* gone meanwhile */
		if (step != SQLITE_ROW) {
			rc = CL_ESQL;
			goto out;
		}
		/* done by an interrupted fill of this epoch: resume after it */
		if (sqlite3_column_type(sel, NODE_TOKENS_PERSON_NCOLS) != SQLITE_NULL &&
		    sqlite3_column_int64(sel, NODE_TOKENS_PERSON_NCOLS) >=
			sqlite3_column_int64(sel, 1) &&
		    sqlite3_column_int64(sel, NODE_TOKENS_PERSON_NCOLS + 1) == f->epoch)
			continue;
		rc = node_tokens_inputs(sel, 0, p);
		if (!rc)
			rc = tk_add_person(f, p);
		OPENSSL_cleanse(p, sizeof(*p));
		if (rc)
			goto out;
		if (f->npers == TK_CHUNK || f->nel >= f->batch) {
			sqlite3_reset(sel);
			rc = tk_flush(f, ins_p, ins_q);
			if (rc)
				goto out;
			if (progress)
				fprintf(progress,
					"\rtokens: %zu of %zu persons, %zu elements evaluated",
					i + 1, nids, f->rep.elements);
		}
	}
	sqlite3_reset(sel);
	rc = tk_flush(f, ins_p, ins_q);
	if (!rc)
		rc = tk_mark_filled(f, full, gen);
	if (rc)
		goto out;
	if (progress)
		fprintf(progress, "\rtokens: %zu of %zu persons, %zu elements evaluated\n", nids,
			nids, f->rep.elements);
	f->rep.filled_gen = gen;
	if (out)
		*out = f->rep;
out:
	sqlite3_finalize(sel);
	sqlite3_finalize(ins_p);
	sqlite3_finalize(ins_q);
	free(ids);
	if (p) {
		OPENSSL_cleanse(p, sizeof(*p));
		free(p);
	}
	if (f) {
		if (f->el) {
			OPENSSL_cleanse(f->el, f->capel * sizeof(*f->el));
			free(f->el);
		}
		free(f->blinded);
		free(f->evaluated);
		oprf_ctx_free(f->octx);
		node_tokens_qmap_free(f->cached);
		free(f);
	}
	return rc;
}

/* ---- caselink-node tokens: the keyholder client ---- */

struct tk_client {
	struct rpc_channel *ch;
	char node_id[PKI_ID_MAX + 1];
	const char *addr;
	struct rpc_status last; /* of the last failed call */
};

static int tk_call(struct tk_client *c, const char *method, const uint8_t *req, size_t len,
		   uint8_t **resp, size_t *resp_len)
{
	int rc = rpc_call_unary(c->ch, method, req, len, TK_DEADLINE_MS, resp, resp_len, &c->last);

	if (rc)
		log_event(LOG_LEVEL_WARN, "keyholder_call", "code=%d error=%s", (int)c->last.code,
			  cl_errname(rc));
	return rc;
}

static int tk_client_epoch(void *ud, uint32_t *epoch)
{
	struct tk_client *c = ud;
	Caselink__V1__StatusRequest req = CASELINK__V1__STATUS_REQUEST__INIT;
	Caselink__V1__RequestHeader h = CASELINK__V1__REQUEST_HEADER__INIT;
	Caselink__V1__Identity who = CASELINK__V1__IDENTITY__INIT;
	Caselink__V1__StatusResponse *sr = NULL;
	uint8_t id[PARTY_REQUEST_ID_LEN], *buf = NULL, *resp = NULL;
	size_t len, rlen = 0;
	int rc;

	rc = party_header_fill(&h, &who, id, "pseudonymisation", "node_token_cache", c->node_id,
			       "node");
	if (rc)
		return rc;
	req.header = &h;
	len = caselink__v1__status_request__get_packed_size(&req);
	buf = malloc(len ? len : 1);
	if (!buf)
		return CL_ENOMEM;
	caselink__v1__status_request__pack(&req, buf);
	rc = tk_call(c, RPC_METHOD_KEYHOLDER_STATUS, buf, len, &resp, &rlen);
	if (rc)
		goto out;
	sr = caselink__v1__status_response__unpack(NULL, rlen, resp);
	if (!sr || !sr->party || strcmp(sr->party->role, "keyholder") != 0) {
		rc = CL_EPROTO;
		goto out;
	}
	*epoch = sr->key_epoch;
out:
	if (sr)
		caselink__v1__status_response__free_unpacked(sr, NULL);
	free(buf);
	free(resp);
	return rc;
}

static int tk_client_evaluate(void *ud, uint32_t epoch, const uint8_t *blinded, size_t n,
			      uint8_t *evaluated, uint32_t *used_epoch)
{
	struct tk_client *c = ud;
	Caselink__V1__BlindEvaluateRequest req = CASELINK__V1__BLIND_EVALUATE_REQUEST__INIT;
	Caselink__V1__RequestHeader h = CASELINK__V1__REQUEST_HEADER__INIT;
	Caselink__V1__Identity who = CASELINK__V1__IDENTITY__INIT;
	Caselink__V1__BlindEvaluateResponse *br = NULL;
	ProtobufCBinaryData *els = NULL;
	uint8_t id[PARTY_REQUEST_ID_LEN], *buf = NULL, *resp = NULL;
	size_t len, rlen = 0, i;
	int rc;

	rc = party_header_fill(&h, &who, id, "pseudonymisation", "node_token_cache", c->node_id,
			       "node");
	if (rc)
		return rc;
	els = calloc(n ? n : 1, sizeof(*els));
	if (!els)
		return CL_ENOMEM;
	for (i = 0; i < n; i++) {
		els[i].data = (uint8_t *)blinded + i * OPRF_ELEMENT_LEN;
		els[i].len = OPRF_ELEMENT_LEN;
	}
	req.header = &h;
	req.key_epoch = epoch;
	req.n_blinded_elements = n;
	req.blinded_elements = els;
	len = caselink__v1__blind_evaluate_request__get_packed_size(&req);
	buf = malloc(len ? len : 1);
	if (!buf) {
		rc = CL_ENOMEM;
		goto out;
	}
	caselink__v1__blind_evaluate_request__pack(&req, buf);
	rc = tk_call(c, RPC_METHOD_KEYHOLDER_BLIND_EVAL, buf, len, &resp, &rlen);
	if (rc)
		goto out;
	br = caselink__v1__blind_evaluate_response__unpack(NULL, rlen, resp);
	if (!br || br->n_evaluated_elements != n) {
		rc = CL_EPROTO;
		goto out;
	}
	for (i = 0; i < n; i++)
		if (br->evaluated_elements[i].len != OPRF_ELEMENT_LEN) {
			rc = CL_EPROTO;
			goto out;
		}
	for (i = 0; i < n; i++)
		memcpy(evaluated + i * OPRF_ELEMENT_LEN, br->evaluated_elements[i].data,
		       OPRF_ELEMENT_LEN);
	*used_epoch = br->key_epoch;
out:
	if (br)
		caselink__v1__blind_evaluate_response__free_unpacked(br, NULL);
	free(els);
	free(buf);
	free(resp);
	return rc;
}

static void tk_usage(void)
{
	fprintf(stderr, "usage: caselink-node tokens --data DIR --config FILE [--batch N]"
			" [--progress]\n");
}

int node_tokens_main(int argc, char **argv)
{
	const char *data = NULL, *config = NULL;
	struct partyconf *conf = NULL;
	struct party_tls *tls = NULL;
	struct node_store *s = NULL;
	struct rpc_channel_config cc;
	struct tk_client client;
	struct node_tokens_oprf kh;
	struct node_tokens_report rep;
	char err[512] = "", role[PKI_ROLE_MAX + 1];
	long batch = NODE_TOKENS_BATCH_DEFAULT;
	int progress = 0, i, rc;

	memset(&client, 0, sizeof(client));
	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--progress")) {
			progress = 1;
		} else if (i + 1 < argc && !strcmp(argv[i], "--data")) {
			data = argv[++i];
		} else if (i + 1 < argc && !strcmp(argv[i], "--config")) {
			config = argv[++i];
		} else if (i + 1 < argc && !strcmp(argv[i], "--batch")) {
			char *end = NULL;

			batch = strtol(argv[++i], &end, 10);
			if (!*argv[i] || *end || batch < 1 || batch > TK_BATCH_MAX) {
				fprintf(stderr, "caselink-node tokens: --batch must be 1..%d\n",
					TK_BATCH_MAX);
				return CL_EUSAGE;
			}
		} else {
			fprintf(stderr,
				"caselink-node tokens: unknown or incomplete option '%.40s'\n",
				argv[i]);
			tk_usage();
			return CL_EUSAGE;
		}
	}
	if (!data || !config) {
		tk_usage();
		return CL_EUSAGE;
	}
	rc = partyconf_load(config, PARTYCONF_NODE, &conf, err, sizeof(err));
	if (rc) {
		fprintf(stderr, "caselink-node tokens: %s\n", *err ? err : cl_strerror(rc));
		goto out;
	}
	if (!conf->keyholder[0]) {
		fprintf(stderr,
			"caselink-node tokens: %s names no keyholder (keyholder: HOST:PORT)\n",
			config);
		rc = CL_ECONFIG;
		goto out;
	}
	rc = node_store_open(data, &s);
	if (rc) {
		fprintf(stderr, "caselink-node tokens: cannot open the store in %s: %s\n", data,
			cl_strerror(rc));
		goto out;
	}
	memset(&cc, 0, sizeof(cc));
	cc.target = conf->keyholder;
	cc.insecure_demo = conf->insecure_demo;
	cc.expected_roles = RPC_ROLE_KEYHOLDER;
	cc.max_message_bytes = (size_t)batch * 40 + 65536;
	if (!conf->insecure_demo) {
		rc = party_tls_load(conf->tls_ca, conf->tls_cert, conf->tls_key, conf->tls_crl,
				    &tls, err, sizeof(err));
		if (rc) {
			fprintf(stderr, "caselink-node tokens: %s\n", *err ? err : cl_strerror(rc));
			goto out;
		}
		party_tls_fill(tls, &cc.tls);
		rc = pki_cert_identity(cc.tls.cert_pem, strlen(cc.tls.cert_pem), client.node_id,
				       sizeof(client.node_id), role, sizeof(role));
		if (rc) {
			fprintf(stderr, "caselink-node tokens: %s: not a certificate\n",
				conf->tls_cert);
			goto out;
		}
	} else {
		struct node_store_meta m;

		rc = node_store_get_meta(s, &m);
		if (rc)
			goto out;
		snprintf(client.node_id, sizeof(client.node_id), "%s", m.agency_id);
	}
	rc = rpc_channel_new(&cc, &client.ch);
	if (rc) {
		fprintf(stderr, "caselink-node tokens: keyholder %s: %s\n", conf->keyholder,
			cl_strerror(rc));
		goto out;
	}
	client.addr = conf->keyholder;
	memset(&kh, 0, sizeof(kh));
	kh.current_epoch = tk_client_epoch;
	kh.evaluate = tk_client_evaluate;
	kh.max_batch = (size_t)batch;
	kh.ud = &client;
	rc = node_tokens_fill(s, &kh, (progress || isatty(STDERR_FILENO)) ? stderr : NULL, &rep);
	if (rc) {
		if (client.last.code != RPC_OK)
			fprintf(stderr,
				"caselink-node tokens: keyholder %s: %s (status %d%s%s); the cache"
				" was not marked filled, run again when the keyholder answers\n",
				conf->keyholder, cl_strerror(rc), (int)client.last.code,
				client.last.message[0] ? ": " : "", client.last.message);
		else if (rc == CL_EPROTO)
			fprintf(stderr,
				"caselink-node tokens: keyholder %s answered with another key epoch"
				" or a malformed answer; nothing of it was cached\n",
				conf->keyholder);
		else
			fprintf(stderr,
				"caselink-node tokens: failed: %s; the cache was not"
				" marked filled\n",
				cl_strerror(rc));
		goto out;
	}
	printf("token cache filled: key epoch %u, import generation %lld%s\n", rep.key_epoch,
	       (long long)rep.filled_gen, rep.full ? " (all persons)" : "");
	printf("persons evaluated: %zu (id %zu, demo %zu); new q-grams: %zu\n", rep.persons,
	       rep.ids, rep.demos, rep.qgrams);
	printf("elements sent: %zu in %zu calls\n", rep.elements, rep.calls);
	log_event(LOG_LEVEL_INFO, "tokens_filled", "epoch=%u gen=%lld persons=%zu elements=%zu",
		  rep.key_epoch, (long long)rep.filled_gen, rep.persons, rep.elements);
out:
	rpc_channel_free(client.ch);
	party_tls_free(tls);
	partyconf_free(conf);
	node_store_close(s);
	return rc;
}
