#include "node/import.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <openssl/crypto.h>

#include "common/cl_error.h"
#include "common/cldate.h"
#include "common/csv.h"
#include "common/log.h"
#include "common/normalise.h"
#include "common/pcode.h"
#include "common/vocab.h"

#define IMP_ECHO_MAX	  32  /* bytes of an unknown enum value echoed in a message */
#define IMP_MSG_MAX	  256 /* bytes of one error message */
#define IMP_MUNI_MAX	  (NODE_MUNICIPALITY_MAX - 1)
#define IMP_TIME_MAX	  40 /* bytes of an occurred_at as imported */
#define IMP_PROGRESS_ROWS 65536
#define IMP_FLUSH_ROWS	  8192 /* rows between writes of dirty pages to the WAL */
#define IMP_NONE	  (-1)
#define IMP_PCACHE_SLOTS  (1u << 20) /* person lookup cache: 2-way, 1 Mi slots of 24 bytes */
#define IMP_PCACHE_REF	  19	     /* longest person_ref the cache holds */

/* ---- vocabularies ---------------------------------------------------------------------- */

enum { P_REF, P_NID, P_IDC, P_GIVEN, P_FAMILY, P_BIRTH, P_SEX, P_SHARING, P_NCOLS };
static const char *const imp_person_cols[P_NCOLS] = {
    "person_ref",  "national_id", "id_country", "given_name",
    "family_name", "birth_date",  "sex",	"sharing",
};
static const int imp_person_required[P_NCOLS] = {[P_REF] = 1};

enum {
	E_REF,
	E_PERSON,
	E_TYPE,
	E_OCC,
	E_ROLE,
	E_OTHER,
	E_REL,
	E_FORMS,
	E_RLEVEL,
	E_RSCORE,
	E_RINST,
	E_CTL,
	E_REFERRAL,
	E_MUNI,
	E_NCOLS
};
static const char *const imp_event_cols[E_NCOLS] = {
    "event_ref",	"person_ref",	      "event_type",	"occurred_at",	"role",
    "other_person_ref", "relationship",	      "violence_forms", "risk_level",	"risk_score",
    "risk_instrument",	"child_threat_level", "referral_to",	"municipality",
};
static const int imp_event_required[E_NCOLS] = {
    [E_REF] = 1, [E_PERSON] = 1, [E_TYPE] = 1, [E_OCC] = 1, [E_ROLE] = 1,
};

/* ---- SQL ------------------------------------------------------------------------------- */

static const char *const imp_sql_p_ins =
    "INSERT INTO persons(person_ref, national_id, id_country, code_status, given_name,"
    " family_name, given_norm, family_norm, birth_year, birth_month, birth_day, sex, sharing,"
    " linkable, content_hash, change_gen, import_gen)"
    " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?16)"
    " ON CONFLICT(person_ref) DO NOTHING";
static const char *const imp_sql_p_upd =
    "UPDATE persons SET person_ref=?1, national_id=?2, id_country=?3, code_status=?4,"
    " given_name=?5, family_name=?6, given_norm=?7, family_norm=?8, birth_year=?9,"
    " birth_month=?10, birth_day=?11, sex=?12, sharing=?13, linkable=?14, content_hash=?15,"
    " change_gen=?16, import_gen=?16 WHERE id=?17";
static const char *const imp_sql_p_sel =
    "SELECT id, import_gen, content_hash FROM persons WHERE person_ref=?1";
static const char *const imp_sql_p_touch = "UPDATE persons SET import_gen=?1 WHERE id=?2";
static const char *const imp_sql_e_ins =
    "INSERT INTO events(event_ref, person_id, event_type, category, occurred_at,"
    " occurred_text, role, other_person_id, relationship, violence_forms, risk_level,"
    " risk_score, risk_instrument, child_threat_level, referral_to, municipality,"
    " content_hash, change_gen, import_gen)"
    " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17,"
    " ?18, ?18) ON CONFLICT(event_ref) DO NOTHING";
static const char *const imp_sql_e_upd =
    "UPDATE events SET event_ref=?1, person_id=?2, event_type=?3, category=?4,"
    " occurred_at=?5, occurred_text=?6, role=?7, other_person_id=?8, relationship=?9,"
    " violence_forms=?10, risk_level=?11, risk_score=?12, risk_instrument=?13,"
    " child_threat_level=?14, referral_to=?15, municipality=?16, content_hash=?17,"
    " change_gen=?18, import_gen=?18 WHERE id=?19";
static const char *const imp_sql_e_sel =
    "SELECT id, import_gen, content_hash FROM events WHERE event_ref=?1";
static const char *const imp_sql_e_touch = "UPDATE events SET import_gen=?1 WHERE id=?2";
static const char *const imp_sql_lookup = "SELECT id FROM persons WHERE person_ref=?1";

enum {
	ST_P_INS,
	ST_P_UPD,
	ST_P_SEL,
	ST_P_TOUCH,
	ST_E_INS,
	ST_E_UPD,
	ST_E_SEL,
	ST_E_TOUCH,
	ST_LOOKUP,
	ST_COUNT
};

/* ---- state ----------------------------------------------------------------------------- */

struct imp_file {
	const char *path, *name; /* name: basename, used in messages */
	struct csv_reader *r;
	uint64_t size; /* bytes, for progress */
	const char *const *cols;
	const int *required;
	int ncols;
	size_t nheader;
	char header[CSV_MAX_FIELDS][IMP_ECHO_MAX + 1]; /* header names, for messages */
	int pos[E_NCOLS];			       /* column id -> field index, or -1 */
};

struct imp_person {
	const char *ref, *given, *family;
	size_t ref_len, given_len, family_len, given_norm_len, family_norm_len;
	char nid[PCODE_MAX], country[3];
	int has_nid, has_birth, linkable;
	const char *code_status, *sex, *sharing;
	struct cldate_birth birth;
};

struct imp_event {
	const char *ref, *type, *category, *occ_text, *role, *rel, *risk_level, *instrument;
	const char *referral, *muni;
	size_t ref_len, occ_len, muni_len;
	int64_t person_id, other_id, occurred, risk_score;
	int forms, ctl;
};

/* One slot of the person lookup cache; len 0 means empty. */
struct imp_pslot {
	uint32_t id;	   /* persons.id; 0 means empty */
	unsigned char len; /* bytes of ref */
	char ref[IMP_PCACHE_REF];
};

struct imp {
	sqlite3 *db;
	const struct node_import_opts *o;
	FILE *err;
	sqlite3_stmt *st[ST_COUNT];
	int64_t gen, now;
	uint64_t bad_rows, bad_cells;
	int row_bad;
	struct node_store_meta meta;
	struct node_import_report rep;
	char given_norm[NORM_MAX], family_norm[NORM_MAX];
	struct imp_pslot *pcache; /* IMP_PCACHE_SLOTS in sets of 2: person_ref -> id */
};

/* ---- helpers --------------------------------------------------------------------------- */

static const char *imp_basename(const char *path)
{
	const char *s = strrchr(path, '/');

	return s ? s + 1 : path;
}

/*
 * Copies an enum-like value for echoing in a message: only short values of
 * [A-Za-z0-9_ .-] are echoed, anything else (which might be personal data
 * in the wrong column) is replaced by nothing.
 */
static const char *imp_echo(const char *v, size_t len, char buf[IMP_ECHO_MAX + 1])
{
	size_t i;

	if (len > IMP_ECHO_MAX)
		return "";
	for (i = 0; i < len; i++) {
		char c = v[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '_' || c == ' ' || c == '.' || c == '-'))
			return "";
		buf[i] = c;
	}
	buf[len] = '\0';
	return buf;
}

static void imp_report(struct imp *im, const struct imp_file *f, uint64_t line, const char *col,
		       const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static void imp_report(struct imp *im, const struct imp_file *f, uint64_t line, const char *col,
		       const char *fmt, ...)
{
	char msg[IMP_MSG_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	fprintf(im->err, "%s:%llu:%s: %s\n", f->name, (unsigned long long)line, col, msg);
	im->row_bad = 1;
	im->bad_cells++;
}

static int imp_has_ctl(const char *v, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		if ((unsigned char)v[i] < 0x20 || v[i] == 0x7f)
			return 1;
	return 0;
}

/* One multiply-xorshift step of the content hash. */
static uint64_t imp_mix(uint64_t h, uint64_t v)
{
	h ^= v;
	h *= 0x9e3779b97f4a7c15ULL;
	return h ^ (h >> 32);
}

/*
 * The content hash of a length-prefixed field, 8 bytes at a time (read as
 * little-endian words, so stored hashes do not depend on the machine); a NULL
 * field hashes differently from "".
 */
static uint64_t imp_hash(uint64_t h, const void *p, size_t len)
{
	const unsigned char *b = p;
	uint64_t w;
	size_t i, k;

	h = imp_mix(h, p ? (uint64_t)len : UINT64_MAX);
	for (i = 0; p && i < len; i += 8) {
		w = 0;
		for (k = 0; k < 8 && i + k < len; k++)
			w |= (uint64_t)b[i + k] << (8 * k);
		h = imp_mix(h, w);
	}
	return h;
}

static uint64_t imp_hash_str(uint64_t h, const char *s)
{
	return imp_hash(h, s, s ? strlen(s) : 0);
}

static uint64_t imp_hash_int(uint64_t h, int64_t v)
{
	return imp_hash(h, &v, sizeof(v));
}

static void imp_bind_text(sqlite3_stmt *st, int i, const char *v, size_t len)
{
	if (v)
		sqlite3_bind_text(st, i, v, (int)len, SQLITE_STATIC);
	else
		sqlite3_bind_null(st, i);
}

static void imp_bind_int(sqlite3_stmt *st, int i, int64_t v, int present)
{
	if (present)
		sqlite3_bind_int64(st, i, v);
	else
		sqlite3_bind_null(st, i);
}

/*
 * CL_ENOSPACE for a full disk: SQLITE_FULL, or a write error whose system error is ENOSPC,
 * EDQUOT or EFBIG (a file-size limit); CL_ESQL otherwise.
 */
static int imp_sql_error(sqlite3 *db, int rc)
{
	int e = errno; /* sqlite3_db_cacheflush leaves only errno */

	if (sqlite3_system_errno(db))
		e = sqlite3_system_errno(db);
	if ((rc & 0xff) == SQLITE_FULL || (sqlite3_errcode(db) & 0xff) == SQLITE_FULL)
		return CL_ENOSPACE;
	if (((rc & 0xff) == SQLITE_IOERR || (sqlite3_errcode(db) & 0xff) == SQLITE_IOERR) &&
	    (e == ENOSPC || e == EDQUOT || e == EFBIG))
		return CL_ENOSPACE;
	return CL_ESQL;
}

/* Steps a statement that returns no row, then resets it. */
static int imp_step_done(struct imp *im, sqlite3_stmt *st)
{
	int rc = sqlite3_step(st);

	if (rc != SQLITE_DONE) {
		rc = imp_sql_error(im->db, rc);
		log_event(LOG_LEVEL_ERROR, "import_sql", "err=\"%s\"", sqlite3_errmsg(im->db));
		sqlite3_reset(st);
		return rc;
	}
	sqlite3_reset(st);
	return 0;
}

static int imp_exec(sqlite3 *db, const char *sql)
{
	int rc = sqlite3_exec(db, sql, NULL, NULL, NULL);

	if (rc != SQLITE_OK) {
		log_event(LOG_LEVEL_ERROR, "import_sql", "err=\"%s\"", sqlite3_errmsg(db));
		return imp_sql_error(db, rc);
	}
	return 0;
}

/*
 * Looks up an existing row by its ref (statement sel): 1 and *id, *gen, *hash
 * when found, 0 when not, or a negative code.
 */
static int imp_select(struct imp *im, sqlite3_stmt *sel, const char *ref, size_t len, int64_t *id,
		      int64_t *gen, uint64_t *hash)
{
	int rc;

	sqlite3_bind_text(sel, 1, ref, (int)len, SQLITE_STATIC);
	rc = sqlite3_step(sel);
	if (rc == SQLITE_ROW) {
		*id = sqlite3_column_int64(sel, 0);
		*gen = sqlite3_column_int64(sel, 1);
		*hash = (uint64_t)sqlite3_column_int64(sel, 2);
		rc = 1;
	} else if (rc == SQLITE_DONE) {
		rc = 0;
	} else {
		rc = imp_sql_error(im->db, rc); /* a cache spill can fill the disk */
		log_event(LOG_LEVEL_ERROR, "import_sql", "err=\"%s\"", sqlite3_errmsg(im->db));
	}
	sqlite3_reset(sel);
	return rc;
}

/* The first of the two slots (a set) where ref may be cached. */
static struct imp_pslot *imp_pset_of(struct imp *im, const char *ref, size_t len)
{
	uint64_t h = 0xcbf29ce484222325ULL;
	size_t i;

	for (i = 0; i < len; i++) {
		h ^= (unsigned char)ref[i];
		h *= 0x100000001b3ULL;
	}
	h ^= h >> 31;
	return &im->pcache[(h & (IMP_PCACHE_SLOTS / 2 - 1)) * 2];
}

/* The slot of the set holding ref exactly, or NULL. */
static struct imp_pslot *imp_pcache_find(struct imp_pslot *set, const char *ref, size_t len)
{
	int k;

	for (k = 0; k < 2; k++)
		if (set[k].id && set[k].len == len && !memcmp(set[k].ref, ref, len))
			return &set[k];
	return NULL;
}

/*
 * Remembers person_ref -> id in the bounded lookup cache: exact refs, no
 * fingerprints; refs too long or ids too large are simply not cached. A full
 * set moves its first slot to the second and takes the new entry first.
 */
static void imp_pcache_put(struct imp *im, const char *ref, size_t len, int64_t id)
{
	struct imp_pslot *set, *slot;

	if (len == 0 || len > IMP_PCACHE_REF || id <= 0 || id > (int64_t)UINT32_MAX)
		return;
	set = imp_pset_of(im, ref, len);
	slot = imp_pcache_find(set, ref, len);
	if (!slot) {
		if (set[0].id)
			set[1] = set[0];
		slot = &set[0];
	}
	memcpy(slot->ref, ref, len);
	slot->len = (unsigned char)len;
	slot->id = (uint32_t)id;
}

/* person_ref -> id: 1 and *id when known, 0 when not, or a negative code. */
static int imp_lookup_person(struct imp *im, const char *ref, size_t len, int64_t *id)
{
	sqlite3_stmt *st = im->st[ST_LOOKUP];
	struct imp_pslot *slot;
	int rc;

	if (len > 0 && len <= IMP_PCACHE_REF) {
		slot = imp_pcache_find(imp_pset_of(im, ref, len), ref, len);
		if (slot) {
			*id = slot->id;
			return 1;
		}
	}
	sqlite3_bind_text(st, 1, ref, (int)len, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		*id = sqlite3_column_int64(st, 0);
		imp_pcache_put(im, ref, len, *id);
		rc = 1;
	} else if (rc == SQLITE_DONE) {
		rc = 0;
	} else {
		rc = imp_sql_error(im->db, rc);
	}
	sqlite3_reset(st);
	return rc;
}

/* The cell of column id in rec, or NULL when the column is absent or the cell empty. */
static const char *imp_cell(const struct imp_file *f, const struct csv_record *rec, int id,
			    size_t *len, uint64_t *line)
{
	int p = f->pos[id];

	if (p < 0 || (size_t)p >= rec->nfields || rec->lens[p] == 0)
		return NULL;
	*len = rec->lens[p];
	*line = rec->field_line ? rec->field_line[p] : rec->line;
	return rec->fields[p];
}

static uint64_t imp_cell_line(const struct imp_file *f, const struct csv_record *rec, int id)
{
	int p = f->pos[id];

	if (p < 0 || (size_t)p >= rec->nfields || !rec->field_line)
		return rec->line;
	return rec->field_line[p];
}

/* Checks a reference cell (required, length, no control characters). */
static const char *imp_ref(struct imp *im, const struct imp_file *f, const struct csv_record *rec,
			   int id, size_t *len)
{
	const char *v;
	uint64_t line = rec->line;

	v = imp_cell(f, rec, id, len, &line);
	if (!v) {
		if (f->required[id])
			imp_report(im, f, imp_cell_line(f, rec, id), f->cols[id],
				   "required value is missing");
		return NULL;
	}
	if (*len > NODE_IMPORT_REF_MAX) {
		imp_report(im, f, line, f->cols[id], "value too long (max %d bytes)",
			   NODE_IMPORT_REF_MAX);
		return NULL;
	}
	if (imp_has_ctl(v, *len)) {
		imp_report(im, f, line, f->cols[id], "control character in value");
		return NULL;
	}
	return v;
}

/* An enumerated cell: its index in list, IMP_NONE when empty (reported if required), -2 bad. */
static int imp_enum_cell(struct imp *im, const struct imp_file *f, const struct csv_record *rec,
			 int id, enum vocab_list list, const char *what)
{
	char echo[IMP_ECHO_MAX + 1];
	uint64_t line = rec->line;
	size_t len = 0;
	const char *v = imp_cell(f, rec, id, &len, &line);
	int i;

	if (!v) {
		if (f->required[id])
			imp_report(im, f, imp_cell_line(f, rec, id), f->cols[id],
				   "required value is missing");
		return f->required[id] ? -2 : IMP_NONE;
	}
	i = vocab_index(list, v);
	if (i < 0) {
		imp_report(im, f, line, f->cols[id], "unknown %s '%s'", what,
			   imp_echo(v, len, echo));
		return -2;
	}
	return i;
}

/* ---- header ---------------------------------------------------------------------------- */

static int imp_header(struct imp *im, struct imp_file *f, const struct csv_record *rec)
{
	char echo[IMP_ECHO_MAX + 1];
	size_t i;
	int c, bad = 0;

	for (c = 0; c < E_NCOLS; c++)
		f->pos[c] = -1;
	f->nheader = rec->nfields;
	for (i = 0; i < rec->nfields; i++) {
		const char *name = imp_echo(rec->fields[i], rec->lens[i], echo);

		snprintf(f->header[i], sizeof(f->header[i]), "%s", *name ? name : "?");
		for (c = 0; c < f->ncols; c++)
			if (rec->lens[i] == strlen(f->cols[c]) &&
			    !strcmp(rec->fields[i], f->cols[c]))
				break;
		if (c == f->ncols) {
			if (rec->lens[i] == 0)
				snprintf(f->header[i], sizeof(f->header[i]), "column %zu", i + 1);
			imp_report(im, f, rec->line, f->header[i], "unknown column");
			bad = 1;
		} else if (f->pos[c] >= 0) {
			imp_report(im, f, rec->line, f->cols[c], "duplicate column");
			bad = 1;
		} else {
			f->pos[c] = (int)i;
		}
	}
	for (c = 0; c < f->ncols; c++)
		if (f->required[c] && f->pos[c] < 0) {
			imp_report(im, f, rec->line, f->cols[c], "missing required column");
			bad = 1;
		}
	return bad ? CL_EBADROWS : 0;
}

/* ---- persons --------------------------------------------------------------------------- */

static void imp_name(struct imp *im, const struct imp_file *f, const struct csv_record *rec, int id,
		     const char **v, size_t *len, char *norm, size_t *norm_len)
{
	uint64_t line = rec->line;
	int rc;

	*v = imp_cell(f, rec, id, len, &line);
	if (!*v)
		return;
	if (*len > NODE_IMPORT_NAME_MAX) {
		imp_report(im, f, line, f->cols[id], "value too long (max %d bytes)",
			   NODE_IMPORT_NAME_MAX);
		*v = NULL;
		return;
	}
	if (imp_has_ctl(*v, *len)) {
		imp_report(im, f, line, f->cols[id], "control character in value");
		*v = NULL;
		return;
	}
	rc = norm_name(*v, *len, norm, NORM_MAX, norm_len);
	if (rc) {
		imp_report(im, f, line, f->cols[id], "%s",
			   rc == CL_EPARSE ? "invalid UTF-8" : "value too long");
		*v = NULL;
	}
}

static int imp_person_validate(struct imp *im, const struct imp_file *f,
			       const struct csv_record *rec, struct imp_person *p)
{
	const char *v, *why = NULL;
	enum pcode_status status;
	uint64_t line = rec->line;
	size_t len = 0;
	int i, rc;

	memset(p, 0, sizeof(*p));
	p->ref = imp_ref(im, f, rec, P_REF, &p->ref_len);

	/* national_id and id_country */
	v = imp_cell(f, rec, P_IDC, &len, &line);
	if (v) {
		if (len != 2 || !((v[0] | 0x20) >= 'a' && (v[0] | 0x20) <= 'z') ||
		    !((v[1] | 0x20) >= 'a' && (v[1] | 0x20) <= 'z')) {
			imp_report(im, f, line, "id_country", "not a two-letter country code");
		} else {
			p->country[0] = (char)(v[0] & ~0x20);
			p->country[1] = (char)(v[1] & ~0x20);
			p->country[2] = '\0';
		}
	}
	v = imp_cell(f, rec, P_NID, &len, &line);
	p->code_status = "absent";
	if (v) {
		if (!imp_cell(f, rec, P_IDC, &len, &line)) {
			imp_report(im, f, imp_cell_line(f, rec, P_IDC), "id_country",
				   "required with national_id");
		} else if (p->country[0]) {
			rc = pcode_check(p->country, v, p->nid, &status, &why);
			if (rc == CL_ELIMIT) {
				imp_report(im, f, imp_cell_line(f, rec, P_NID), "national_id",
					   "personal code too long");
			} else if (rc) {
				imp_report(im, f, imp_cell_line(f, rec, P_NID), "national_id",
					   "personal code not checkable");
			} else {
				p->has_nid = 1;
				p->code_status = status == PCODE_VALID	   ? "valid"
						 : status == PCODE_INVALID ? "invalid"
									   : "unchecked";
			}
		}
	}

	imp_name(im, f, rec, P_GIVEN, &p->given, &p->given_len, im->given_norm, &p->given_norm_len);
	imp_name(im, f, rec, P_FAMILY, &p->family, &p->family_len, im->family_norm,
		 &p->family_norm_len);

	v = imp_cell(f, rec, P_BIRTH, &len, &line);
	if (v) {
		if (cldate_parse_birth(v, &p->birth, &why)) {
			imp_report(im, f, line, "birth_date", "invalid date (%s)",
				   why ? why : "malformed");
		} else if (cldate_days_from_civil(p->birth.year,
						  p->birth.month ? p->birth.month : 1,
						  p->birth.day ? p->birth.day : 1) *
			       86400 >
			   im->now) {
			imp_report(im, f, line, "birth_date", "date in the future");
		} else {
			p->has_birth = 1;
		}
	}

	i = imp_enum_cell(im, f, rec, P_SEX, VOCAB_SEX, "sex");
	p->sex = i >= 0 ? vocab_name(VOCAB_SEX, (size_t)i) : "U";
	i = imp_enum_cell(im, f, rec, P_SHARING, VOCAB_SHARING, "sharing");
	p->sharing = i >= 0 ? vocab_name(VOCAB_SHARING, (size_t)i) : "allowed";

	p->linkable = (p->has_nid && strcmp(p->code_status, "invalid") != 0) ||
		      (p->family && p->family_norm_len > 0 && p->has_birth);
	return 0;
}

static uint64_t imp_person_hash(const struct imp *im, const struct imp_person *p)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	h = imp_hash(h, p->has_nid ? p->nid : NULL, p->has_nid ? strlen(p->nid) : 0);
	h = imp_hash(h, p->country[0] ? p->country : NULL, p->country[0] ? 2 : 0);
	h = imp_hash_str(h, p->code_status);
	h = imp_hash(h, p->given, p->given_len);
	h = imp_hash(h, p->family, p->family_len);
	h = imp_hash(h, p->given ? im->given_norm : NULL, p->given_norm_len);
	h = imp_hash(h, p->family ? im->family_norm : NULL, p->family_norm_len);
	h = imp_hash_int(h, p->has_birth ? p->birth.year : -1);
	h = imp_hash_int(h, p->has_birth ? p->birth.month : 0);
	h = imp_hash_int(h, p->has_birth ? p->birth.day : 0);
	h = imp_hash_str(h, p->sex);
	h = imp_hash_str(h, p->sharing);
	h = imp_hash_int(h, p->linkable);
	return h;
}

static void imp_person_bind(const struct imp *im, sqlite3_stmt *st, const struct imp_person *p,
			    uint64_t hash)
{
	imp_bind_text(st, 1, p->ref, p->ref_len);
	imp_bind_text(st, 2, p->has_nid ? p->nid : NULL, p->has_nid ? strlen(p->nid) : 0);
	imp_bind_text(st, 3, p->country[0] ? p->country : NULL, 2);
	imp_bind_text(st, 4, p->code_status, strlen(p->code_status));
	imp_bind_text(st, 5, p->given, p->given_len);
	imp_bind_text(st, 6, p->family, p->family_len);
	imp_bind_text(st, 7, p->given ? im->given_norm : NULL, p->given_norm_len);
	imp_bind_text(st, 8, p->family ? im->family_norm : NULL, p->family_norm_len);
	imp_bind_int(st, 9, p->birth.year, p->has_birth);
	imp_bind_int(st, 10, p->has_birth ? p->birth.month : 0, 1);
	imp_bind_int(st, 11, p->has_birth ? p->birth.day : 0, 1);
	imp_bind_text(st, 12, p->sex, 1);
	imp_bind_text(st, 13, p->sharing, strlen(p->sharing));
	imp_bind_int(st, 14, p->linkable, 1);
	imp_bind_int(st, 15, (int64_t)hash, 1);
	imp_bind_int(st, 16, im->gen, 1);
}

/* Inserts or updates one valid row: 0, or a negative code for a database failure. */
static int imp_person_store(struct imp *im, const struct imp_file *f, const struct csv_record *rec,
			    const struct imp_person *p)
{
	uint64_t hash = imp_person_hash(im, p), old_hash = 0;
	int64_t id = 0, gen = 0;
	sqlite3_stmt *st;
	int rc;

	st = im->st[ST_P_INS];
	imp_person_bind(im, st, p, hash);
	rc = imp_step_done(im, st);
	if (rc)
		return rc;
	if (sqlite3_changes(im->db) == 1) {
		imp_pcache_put(im, p->ref, p->ref_len, sqlite3_last_insert_rowid(im->db));
		im->rep.persons_added++;
		return 0;
	}
	rc = imp_select(im, im->st[ST_P_SEL], p->ref, p->ref_len, &id, &gen, &old_hash);
	if (rc <= 0)
		return rc < 0 ? rc : CL_EINTERNAL;
	imp_pcache_put(im, p->ref, p->ref_len, id);
	if (gen == im->gen) {
		imp_report(im, f, imp_cell_line(f, rec, P_REF), "person_ref",
			   "duplicate person_ref in this file");
		return 0;
	}
	if (old_hash == hash) {
		st = im->st[ST_P_TOUCH];
		sqlite3_bind_int64(st, 1, im->gen);
		sqlite3_bind_int64(st, 2, id);
		im->rep.persons_unchanged++;
		return imp_step_done(im, st);
	}
	st = im->st[ST_P_UPD];
	imp_person_bind(im, st, p, hash);
	sqlite3_bind_int64(st, 17, id);
	im->rep.persons_updated++;
	return imp_step_done(im, st);
}

/* ---- events ---------------------------------------------------------------------------- */

static int imp_event_validate(struct imp *im, const struct imp_file *f,
			      const struct csv_record *rec, struct imp_event *e)
{
	char echo[IMP_ECHO_MAX + 1];
	const char *v, *why = NULL;
	uint64_t line = rec->line;
	size_t len = 0, i;
	int k, rc;

	memset(e, 0, sizeof(*e));
	e->risk_score = IMP_NONE;
	e->ctl = IMP_NONE;

	e->ref = imp_ref(im, f, rec, E_REF, &e->ref_len);
	v = imp_ref(im, f, rec, E_PERSON, &len);
	if (v) {
		rc = imp_lookup_person(im, v, len, &e->person_id);
		if (rc < 0)
			return rc;
		if (rc == 0)
			imp_report(im, f, imp_cell_line(f, rec, E_PERSON), "person_ref",
				   "unknown person_ref");
	}
	v = imp_ref(im, f, rec, E_OTHER, &len);
	if (v) {
		rc = imp_lookup_person(im, v, len, &e->other_id);
		if (rc < 0)
			return rc;
		if (rc == 0)
			imp_report(im, f, imp_cell_line(f, rec, E_OTHER), "other_person_ref",
				   "unknown other_person_ref");
	}

	v = imp_cell(f, rec, E_TYPE, &len, &line);
	if (!v) {
		imp_report(im, f, imp_cell_line(f, rec, E_TYPE), "event_type",
			   "required value is missing");
	} else {
		k = vocab_index(VOCAB_EVENT_TYPE, v);
		if (k < 0) {
			imp_report(im, f, line, "event_type", "unknown event_type '%s'",
				   imp_echo(v, len, echo));
		} else {
			e->type = vocab_name(VOCAB_EVENT_TYPE, (size_t)k);
			e->category =
			    vocab_name(VOCAB_CATEGORY, (size_t)vocab_event_category((size_t)k));
		}
	}

	v = imp_cell(f, rec, E_OCC, &len, &line);
	if (!v) {
		imp_report(im, f, imp_cell_line(f, rec, E_OCC), "occurred_at",
			   "required value is missing");
	} else if (len > IMP_TIME_MAX) {
		imp_report(im, f, line, "occurred_at", "value too long (max %d bytes)",
			   IMP_TIME_MAX);
	} else if (cldate_parse_time(v, &e->occurred, &why)) {
		imp_report(im, f, line, "occurred_at", "invalid date/time (%s)",
			   why ? why : "malformed");
	} else if (e->occurred > im->now) {
		imp_report(im, f, line, "occurred_at", "date in the future");
	} else {
		e->occ_text = v;
		e->occ_len = len;
	}

	k = imp_enum_cell(im, f, rec, E_ROLE, VOCAB_ROLE, "role");
	e->role = k >= 0 ? vocab_name(VOCAB_ROLE, (size_t)k) : NULL;
	k = imp_enum_cell(im, f, rec, E_REL, VOCAB_RELATIONSHIP, "relationship");
	e->rel = k >= 0 ? vocab_name(VOCAB_RELATIONSHIP, (size_t)k) : NULL;
	k = imp_enum_cell(im, f, rec, E_RLEVEL, VOCAB_RISK_LEVEL, "risk_level");
	e->risk_level = k >= 0 ? vocab_name(VOCAB_RISK_LEVEL, (size_t)k) : NULL;
	k = imp_enum_cell(im, f, rec, E_RINST, VOCAB_RISK_INSTRUMENT, "risk_instrument");
	e->instrument = k >= 0 ? vocab_name(VOCAB_RISK_INSTRUMENT, (size_t)k) : NULL;
	k = imp_enum_cell(im, f, rec, E_REFERRAL, VOCAB_AGENCY_TYPE, "agency type");
	e->referral = k >= 0 ? vocab_name(VOCAB_AGENCY_TYPE, (size_t)k) : NULL;
	if (k == IMP_NONE && e->type && !strcmp(e->type, "referral_sent"))
		imp_report(im, f, imp_cell_line(f, rec, E_REFERRAL), "referral_to",
			   "required with referral_sent");

	v = imp_cell(f, rec, E_FORMS, &len, &line);
	if (v) {
		const char *s = v, *end = v + len;

		while (s <= end) {
			const char *semi = memchr(s, ';', (size_t)(end - s));
			size_t n = (size_t)((semi ? semi : end) - s);

			k = vocab_index_n(VOCAB_VIOLENCE_FORM, s, n);
			if (k < 0) {
				if (n == 0)
					imp_report(im, f, line, "violence_forms",
						   "empty violence form");
				else
					imp_report(im, f, line, "violence_forms",
						   "unknown violence form '%s'",
						   imp_echo(s, n, echo));
				break;
			}
			e->forms |= 1 << k;
			if (!semi)
				break;
			s = semi + 1;
		}
	}

	v = imp_cell(f, rec, E_RSCORE, &len, &line);
	if (v) {
		int64_t score = 0;

		for (i = 0; i < len && v[i] >= '0' && v[i] <= '9' && i < 9; i++)
			score = score * 10 + (v[i] - '0');
		if (i != len)
			imp_report(im, f, line, "risk_score", "not an integer >= 0 (max 9 digits)");
		else if (!imp_cell(f, rec, E_RINST, &len, &line))
			imp_report(im, f, imp_cell_line(f, rec, E_RSCORE), "risk_score",
				   "risk_score requires risk_instrument");
		else
			e->risk_score = score;
	}

	v = imp_cell(f, rec, E_CTL, &len, &line);
	if (v) {
		if (len != 1 || v[0] < '0' || v[0] > '2')
			imp_report(im, f, line, "child_threat_level", "not 0, 1 or 2");
		else
			e->ctl = v[0] - '0';
	}

	v = imp_cell(f, rec, E_MUNI, &len, &line);
	if (v) {
		if (len > IMP_MUNI_MAX)
			imp_report(im, f, line, "municipality", "value too long (max %d bytes)",
				   IMP_MUNI_MAX);
		else if (imp_has_ctl(v, len))
			imp_report(im, f, line, "municipality", "control character in value");
		e->muni = v;
		e->muni_len = len;
	} else {
		e->muni = im->meta.municipality;
		e->muni_len = strlen(im->meta.municipality);
	}
	return 0;
}

static uint64_t imp_event_hash(const struct imp_event *e)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	h = imp_hash_int(h, e->person_id);
	h = imp_hash_str(h, e->type);
	h = imp_hash_int(h, e->occurred);
	h = imp_hash(h, e->occ_text, e->occ_len);
	h = imp_hash_str(h, e->role);
	h = imp_hash_int(h, e->other_id);
	h = imp_hash_str(h, e->rel);
	h = imp_hash_int(h, e->forms);
	h = imp_hash_str(h, e->risk_level);
	h = imp_hash_int(h, e->risk_score);
	h = imp_hash_str(h, e->instrument);
	h = imp_hash_int(h, e->ctl);
	h = imp_hash_str(h, e->referral);
	h = imp_hash(h, e->muni, e->muni_len);
	return h;
}

static void imp_text_or_null(sqlite3_stmt *st, int i, const char *s)
{
	imp_bind_text(st, i, s, s ? strlen(s) : 0);
}

static void imp_event_bind(const struct imp *im, sqlite3_stmt *st, const struct imp_event *e,
			   uint64_t hash)
{
	imp_bind_text(st, 1, e->ref, e->ref_len);
	imp_bind_int(st, 2, e->person_id, 1);
	imp_text_or_null(st, 3, e->type);
	imp_text_or_null(st, 4, e->category);
	imp_bind_int(st, 5, e->occurred, 1);
	imp_bind_text(st, 6, e->occ_text, e->occ_len);
	imp_text_or_null(st, 7, e->role);
	imp_bind_int(st, 8, e->other_id, e->other_id != 0);
	imp_text_or_null(st, 9, e->rel);
	imp_bind_int(st, 10, e->forms, 1);
	imp_text_or_null(st, 11, e->risk_level);
	imp_bind_int(st, 12, e->risk_score, e->risk_score != IMP_NONE);
	imp_text_or_null(st, 13, e->instrument);
	imp_bind_int(st, 14, e->ctl, e->ctl != IMP_NONE);
	imp_text_or_null(st, 15, e->referral);
	imp_bind_text(st, 16, e->muni, e->muni_len);
	imp_bind_int(st, 17, (int64_t)hash, 1);
	imp_bind_int(st, 18, im->gen, 1);
}

static int imp_event_store(struct imp *im, const struct imp_file *f, const struct csv_record *rec,
			   const struct imp_event *e)
{
	uint64_t hash = imp_event_hash(e), old_hash = 0;
	int64_t id = 0, gen = 0;
	sqlite3_stmt *st;
	int rc;

	st = im->st[ST_E_INS];
	imp_event_bind(im, st, e, hash);
	rc = imp_step_done(im, st);
	if (rc)
		return rc;
	if (sqlite3_changes(im->db) == 1) {
		im->rep.events_added++;
		return 0;
	}
	rc = imp_select(im, im->st[ST_E_SEL], e->ref, e->ref_len, &id, &gen, &old_hash);
	if (rc <= 0)
		return rc < 0 ? rc : CL_EINTERNAL;
	if (gen == im->gen) {
		imp_report(im, f, imp_cell_line(f, rec, E_REF), "event_ref",
			   "duplicate event_ref in this file");
		return 0;
	}
	if (old_hash == hash) {
		st = im->st[ST_E_TOUCH];
		sqlite3_bind_int64(st, 1, im->gen);
		sqlite3_bind_int64(st, 2, id);
		im->rep.events_unchanged++;
		return imp_step_done(im, st);
	}
	st = im->st[ST_E_UPD];
	imp_event_bind(im, st, e, hash);
	sqlite3_bind_int64(st, 19, id);
	im->rep.events_updated++;
	return imp_step_done(im, st);
}

/* ---- files ----------------------------------------------------------------------------- */

static void imp_progress(struct imp *im, const struct imp_file *f, uint64_t rows, int done)
{
	unsigned pct = 100;

	if (!im->o->progress)
		return;
	if (f->size > 0 && !done)
		pct = (unsigned)(csv_bytes_read(f->r) * 100 / f->size);
	fprintf(im->o->progress, "\r%s: %llu rows, %u%%%s", f->name, (unsigned long long)rows,
		pct > 100 ? 100 : pct, done ? "\n" : "");
	fflush(im->o->progress);
}

/* Streams one file; is_events selects the vocabulary. Returns 0 or a fatal negative code. */
static int imp_file(struct imp *im, struct imp_file *f, int is_events)
{
	struct csv_record rec;
	struct imp_person p;
	struct imp_event e;
	uint64_t rows = 0;
	int rc;

	for (;;) {
		rc = csv_next(f->r, &rec);
		if (rc == 0)
			break;
		if (rc == CL_EPARSE || rc == CL_ELIMIT) {
			size_t col = csv_error_column(f->r);
			char cname[IMP_ECHO_MAX + 16];

			if (col >= 1 && col <= f->nheader)
				snprintf(cname, sizeof(cname), "%s", f->header[col - 1]);
			else if (col >= 1)
				snprintf(cname, sizeof(cname), "column %zu", col);
			else
				snprintf(cname, sizeof(cname), "-");
			im->row_bad = 0;
			imp_report(im, f, csv_error_line(f->r), cname, "%s", csv_error(f->r));
			im->bad_rows++;
			rows++;
			continue;
		}
		if (rc < 0)
			return rc;
		rows++;
		im->row_bad = 0;
		if (rec.nfields != f->nheader) {
			if (rec.nfields < f->nheader)
				imp_report(im, f, rec.line, f->header[rec.nfields],
					   "missing field (row has %zu of %zu fields)", rec.nfields,
					   f->nheader);
			else
				imp_report(im, f, rec.line, "-",
					   "extra fields (row has %zu, header %zu)", rec.nfields,
					   f->nheader);
		} else if (is_events) {
			rc = imp_event_validate(im, f, &rec, &e);
			if (!rc && !im->row_bad)
				rc = imp_event_store(im, f, &rec, &e);
			if (rc)
				return rc;
		} else {
			rc = imp_person_validate(im, f, &rec, &p);
			if (!rc && !im->row_bad) {
				if (!strcmp(p.code_status, "invalid"))
					im->rep.invalid_codes++;
				if (!p.linkable)
					im->rep.unlinkable++;
				rc = imp_person_store(im, f, &rec, &p);
			}
			if (rc)
				return rc;
		}
		if (im->row_bad)
			im->bad_rows++;
		if (rows % IMP_FLUSH_ROWS == 0) {
			/*
			 * SQLite keeps dirty pages pinned until the cache overflows, so in one
			 * long transaction freshly appended rows crowd the index pages the
			 * lookups need out of the cache. Writing them to the WAL now (no
			 * commit record: a crash still rolls everything back) makes them
			 * evictable and keeps the indexes hot.
			 */
			rc = sqlite3_db_cacheflush(im->db);
			if (rc != SQLITE_OK && rc != SQLITE_BUSY)
				return imp_sql_error(im->db, rc);
		}
		if (rows % IMP_PROGRESS_ROWS == 0)
			imp_progress(im, f, rows, 0);
	}
	if (is_events)
		im->rep.events_rows = rows;
	else
		im->rep.persons_rows = rows;
	if (rows >= IMP_PROGRESS_ROWS)
		imp_progress(im, f, rows, 1);
	return 0;
}

/* Opens a file and reads its header; CL_EBADROWS for a bad header (reported). */
static int imp_open(struct imp *im, struct imp_file *f, const char *path, int is_events)
{
	struct csv_record rec;
	struct stat sb;
	int rc;

	f->path = path;
	f->name = imp_basename(path);
	f->cols = is_events ? imp_event_cols : imp_person_cols;
	f->required = is_events ? imp_event_required : imp_person_required;
	f->ncols = is_events ? E_NCOLS : P_NCOLS;
	rc = csv_open(path, &f->r);
	if (rc) {
		fprintf(im->err, "%s: cannot open: %s\n", f->name, cl_strerror(rc));
		return CL_EIO;
	}
	if (stat(path, &sb) == 0 && sb.st_size > 0)
		f->size = (uint64_t)sb.st_size;
	rc = csv_next(f->r, &rec);
	if (rc == 0) {
		imp_report(im, f, 1, "-", "empty file (no header row)");
		return CL_EBADROWS;
	}
	if (rc == CL_EPARSE || rc == CL_ELIMIT) {
		imp_report(im, f, csv_error_line(f->r), "-", "header: %s", csv_error(f->r));
		return CL_EBADROWS;
	}
	if (rc < 0)
		return rc;
	return imp_header(im, f, &rec);
}

static int imp_record(struct imp *im, int64_t started)
{
	sqlite3_stmt *st = NULL;
	int rc = CL_ESQL;

	if (sqlite3_prepare_v2(im->db,
			       "INSERT INTO imports(id, started_at, finished_at, persons_file,"
			       " events_file, persons_added, persons_updated, persons_unchanged,"
			       " events_added, events_updated, events_unchanged, invalid_codes,"
			       " unlinkable) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
			       -1, &st, NULL) != SQLITE_OK)
		goto out;
	sqlite3_bind_int64(st, 1, im->gen);
	sqlite3_bind_int64(st, 2, started);
	sqlite3_bind_int64(st, 3, (int64_t)time(NULL));
	imp_text_or_null(st, 4, im->o->persons_path ? imp_basename(im->o->persons_path) : NULL);
	imp_text_or_null(st, 5, im->o->events_path ? imp_basename(im->o->events_path) : NULL);
	sqlite3_bind_int64(st, 6, (int64_t)im->rep.persons_added);
	sqlite3_bind_int64(st, 7, (int64_t)im->rep.persons_updated);
	sqlite3_bind_int64(st, 8, (int64_t)im->rep.persons_unchanged);
	sqlite3_bind_int64(st, 9, (int64_t)im->rep.events_added);
	sqlite3_bind_int64(st, 10, (int64_t)im->rep.events_updated);
	sqlite3_bind_int64(st, 11, (int64_t)im->rep.events_unchanged);
	sqlite3_bind_int64(st, 12, (int64_t)im->rep.invalid_codes);
	sqlite3_bind_int64(st, 13, (int64_t)im->rep.unlinkable);
	rc = imp_step_done(im, st);
out:
	sqlite3_finalize(st);
	return rc;
}

int node_import_run(struct node_store *s, const struct node_import_opts *o,
		    struct node_import_report *out)
{
	static const char *const sql[ST_COUNT] = {
	    [ST_P_INS] = imp_sql_p_ins,	  [ST_P_UPD] = imp_sql_p_upd,
	    [ST_P_SEL] = imp_sql_p_sel,	  [ST_P_TOUCH] = imp_sql_p_touch,
	    [ST_E_INS] = imp_sql_e_ins,	  [ST_E_UPD] = imp_sql_e_upd,
	    [ST_E_SEL] = imp_sql_e_sel,	  [ST_E_TOUCH] = imp_sql_e_touch,
	    [ST_LOOKUP] = imp_sql_lookup,
	};
	struct imp_file *pf = NULL, *ef = NULL;
	struct imp *im = NULL;
	int64_t started = (int64_t)time(NULL), cache_kib;
	char pragma[64];
	int rc, i, in_tx = 0, hdr_bad = 0, fk_off = 0;

	if (!s || !o || !out || (!o->persons_path && !o->events_path) || o->cache_mib < 0 ||
	    o->cache_mib > 4096)
		return CL_EINVAL;
	im = calloc(1, sizeof(*im));
	pf = calloc(1, sizeof(*pf));
	ef = calloc(1, sizeof(*ef));
	if (im)
		im->pcache = calloc(IMP_PCACHE_SLOTS, sizeof(*im->pcache));
	if (!im || !pf || !ef || !im->pcache) {
		rc = CL_ENOMEM;
		goto out;
	}
	im->db = node_store_db(s);
	im->o = o;
	im->err = o->errors ? o->errors : stderr;
	im->now = o->now ? o->now : started;
	rc = node_store_get_meta(s, &im->meta);
	if (rc)
		goto out;

	if (o->persons_path) {
		rc = imp_open(im, pf, o->persons_path, 0);
		if (rc == CL_EBADROWS)
			hdr_bad = 1;
		else if (rc)
			goto out;
	}
	if (o->events_path) {
		rc = imp_open(im, ef, o->events_path, 1);
		if (rc == CL_EBADROWS)
			hdr_bad = 1;
		else if (rc)
			goto out;
	}
	if (hdr_bad) {
		rc = CL_EBADROWS;
		goto out;
	}

	cache_kib = (int64_t)(o->cache_mib ? o->cache_mib : 16) * 1024;
	snprintf(pragma, sizeof(pragma), "PRAGMA cache_size=-%lld", (long long)cache_kib);
	rc = imp_exec(im->db, pragma);
	if (rc)
		goto out;
	for (i = 0; i < ST_COUNT; i++)
		if (sqlite3_prepare_v3(im->db, sql[i], -1, SQLITE_PREPARE_PERSISTENT, &im->st[i],
				       NULL) != SQLITE_OK) {
			log_event(LOG_LEVEL_ERROR, "import_sql", "err=\"%s\"",
				  sqlite3_errmsg(im->db));
			rc = CL_ESQL;
			goto out;
		}
	/*
	 * The import resolves every person_ref and other_person_ref itself, against
	 * the same table in the same transaction, and never deletes a person: SQLite's
	 * own foreign-key probe per event would repeat that work. It is switched off
	 * for this transaction only (the pragma is a no-op inside one) and back on after.
	 */
	rc = imp_exec(im->db, "PRAGMA foreign_keys=OFF");
	if (rc)
		goto out;
	fk_off = 1;
	rc = imp_exec(im->db, "BEGIN IMMEDIATE");
	if (rc)
		goto out;
	in_tx = 1;
	{
		sqlite3_stmt *g = NULL;

		rc = CL_ESQL;
		if (sqlite3_prepare_v2(im->db, "SELECT coalesce(max(id), 0) + 1 FROM imports", -1,
				       &g, NULL) == SQLITE_OK &&
		    sqlite3_step(g) == SQLITE_ROW) {
			im->gen = sqlite3_column_int64(g, 0);
			rc = 0;
		}
		sqlite3_finalize(g);
		if (rc)
			goto out;
	}

	if (o->persons_path) {
		rc = imp_file(im, pf, 0);
		if (rc)
			goto out;
	}
	if (o->events_path) {
		rc = imp_file(im, ef, 1);
		if (rc)
			goto out;
	}
	if (im->bad_cells) {
		rc = CL_EBADROWS;
		goto out;
	}
	rc = imp_record(im, started);
	if (rc)
		goto out;
	rc = imp_exec(im->db, "COMMIT");
	if (rc)
		goto out;
	in_tx = 0;
	fk_off = 0;
	rc = imp_exec(im->db, "PRAGMA foreign_keys=ON");
	if (rc)
		goto out;
	im->rep.import_id = im->gen;
	*out = im->rep;
out:
	if (im) {
		if (in_tx)
			sqlite3_exec(im->db, "ROLLBACK", NULL, NULL, NULL);
		if (fk_off)
			sqlite3_exec(im->db, "PRAGMA foreign_keys=ON", NULL, NULL, NULL);
		if (rc == CL_EBADROWS)
			fprintf(im->err, "import rejected: %llu bad rows; nothing stored\n",
				(unsigned long long)(im->bad_rows ? im->bad_rows : im->bad_cells));
		for (i = 0; i < ST_COUNT; i++)
			sqlite3_finalize(im->st[i]);
		if (im->db)
			sqlite3_exec(im->db, "PRAGMA cache_size=-2000", NULL, NULL, NULL);
		/* the name buffers held personal data */
		OPENSSL_cleanse(im->given_norm, sizeof(im->given_norm));
		OPENSSL_cleanse(im->family_norm, sizeof(im->family_norm));
		if (im->pcache)
			OPENSSL_cleanse(im->pcache, IMP_PCACHE_SLOTS * sizeof(*im->pcache));
		free(im->pcache);
	}
	if (pf)
		csv_close(pf->r);
	if (ef)
		csv_close(ef->r);
	free(pf);
	free(ef);
	free(im);
	return rc;
}

void node_import_print_report(const struct node_import_opts *o, const struct node_import_report *r,
			      FILE *f)
{
	if (o->persons_path)
		fprintf(f, "%s: %llu rows: %llu added, %llu updated, %llu unchanged\n",
			imp_basename(o->persons_path), (unsigned long long)r->persons_rows,
			(unsigned long long)r->persons_added,
			(unsigned long long)r->persons_updated,
			(unsigned long long)r->persons_unchanged);
	if (o->events_path)
		fprintf(f, "%s: %llu rows: %llu added, %llu updated, %llu unchanged\n",
			imp_basename(o->events_path), (unsigned long long)r->events_rows,
			(unsigned long long)r->events_added, (unsigned long long)r->events_updated,
			(unsigned long long)r->events_unchanged);
	if (o->persons_path)
		fprintf(f, "invalid personal codes: %llu\nunlinkable persons: %llu\n",
			(unsigned long long)r->invalid_codes, (unsigned long long)r->unlinkable);
	fprintf(f, "import %lld stored\n", (long long)r->import_id);
}
