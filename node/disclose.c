/* disclose — a holding node's phase 2 of a case answer (see disclose.h). */
#include "node/disclose.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>
#include <sqlite3.h>

#include "common/cl_error.h"
#include "common/cldate.h"
#include "node/tokens.h"
#include "policies/policy_query.h"
#include "protocol/seal.h"

#define ND_MAX_EVENTS 16384 /* events of one person read for the evidence */
#define ND_REF_MAX    256

/* Why a record was kept out, in the order the CaseWithheld entries are sent. */
enum nd_reason { ND_POLICY, ND_NO_EVIDENCE, ND_RESTRICTED, ND_UNKNOWN, ND_NREASONS };

static const char *const nd_reason_code[ND_NREASONS] = {NULL, "no_evidence", "restricted",
							"unknown_handle"};

/* One asked handle: its person_ref once resolved. */
struct nd_item {
	char ref[ND_REF_MAX];
	int found;
};

static int nd_found(void *ud, size_t i, const char *ref)
{
	struct nd_item *it = ud;

	if (strlen(ref) >= sizeof(it[i].ref))
		return CL_ELIMIT;
	memcpy(it[i].ref, ref, strlen(ref) + 1);
	it[i].found = 1;
	return CL_OK;
}

/* Reads the person's restriction and events and the evidence its own record shows. */
static int nd_evidence(struct node_store *s, const char *ref, unsigned kinds,
		       const char *asker_type, int64_t as_of_end, int *restricted, unsigned *found)
{
	struct policy_case_event *ev = NULL;
	char(*text)[3][POLICY_MAX_NAME] = NULL;
	sqlite3_stmt *st = NULL;
	size_t n = 0;
	int rc = CL_ENOMEM, step;

	ev = calloc(ND_MAX_EVENTS, sizeof(*ev));
	text = calloc(ND_MAX_EVENTS, sizeof(*text));
	if (!ev || !text)
		goto out;
	rc = CL_ESQL;
	if (sqlite3_prepare_v2(
		node_store_db(s),
		"SELECT p.sharing, e.event_type, e.referral_to, e.risk_level,"
		" e.occurred_at FROM persons p LEFT JOIN events e ON e.person_id = p.id"
		" WHERE p.person_ref = ?",
		-1, &st, NULL) != SQLITE_OK)
		goto out;
	sqlite3_bind_text(st, 1, ref, -1, SQLITE_STATIC);
	*restricted = 0;
	while ((step = sqlite3_step(st)) == SQLITE_ROW) {
		const char *sharing = (const char *)sqlite3_column_text(st, 0);
		size_t k;

		*restricted = sharing && !strcmp(sharing, "restricted");
		if (sqlite3_column_type(st, 1) == SQLITE_NULL)
			continue; /* a person without events */
		if (n == ND_MAX_EVENTS) {
			rc = CL_ELIMIT;
			goto out;
		}
		for (k = 0; k < 3; k++) {
			const char *t = (const char *)sqlite3_column_text(st, 1 + (int)k);

			snprintf(text[n][k], POLICY_MAX_NAME, "%s", t ? t : "");
		}
		ev[n].event_type = text[n][0];
		ev[n].referral_to = text[n][1];
		ev[n].risk_level = text[n][2];
		ev[n].occurred_at = sqlite3_column_int64(st, 4);
		n++;
	}
	if (step != SQLITE_DONE)
		goto out;
	*found = policy_case_evidence(kinds, asker_type, ev, n, as_of_end);
	rc = CL_OK;
out:
	sqlite3_finalize(st);
	free(ev);
	free(text);
	return rc;
}

/* The names of the evidence bits found, ';'-joined. */
static void nd_evidence_names(unsigned found, char *buf, size_t bufsz)
{
	unsigned bit;
	size_t used = 0;

	buf[0] = '\0';
	for (bit = 1; bit <= POLICY_EVIDENCE_NONE && used < bufsz; bit <<= 1)
		if (found & bit)
			used += (size_t)snprintf(buf + used, bufsz - used, "%s%s", used ? ";" : "",
						 policy_evidence_name(bit));
}

static int nd_check(const Caselink__V1__QueryRequest *qr, const struct node_store_meta *meta,
		    int64_t *as_of_end, const char **why)
{
	const Caselink__V1__CaseAsker *ak = qr->case_asker;
	const char *m = policy_query_measure(qr->measure);
	size_t i;

	if (strcmp(m, "M7") && strcmp(m, "M8")) {
		*why = "disclosure is asked only for case measures (M7, M8)";
		return CL_EINVAL;
	}
	if (qr->query_nonce.len != 32 || !qr->n_case_handles ||
	    qr->n_case_handles > NODE_DISCLOSE_MAX_HANDLES) {
		*why = "disclosure needs the query nonce and 1..65536 handles";
		return CL_EINVAL;
	}
	for (i = 0; i < qr->n_case_handles; i++)
		if (qr->case_handles[i].len != NODE_TOKENS_HANDLE_LEN) {
			*why = "a disclosure handle is not a 16-byte row handle of this node";
			return CL_EINVAL;
		}
	if (!ak || !ak->agency_id || !ak->agency_type || !ak->municipality || !ak->country ||
	    !qr->header->requester || !qr->header->requester->id ||
	    strcmp(ak->agency_id, qr->header->requester->id)) {
		*why = "disclosure needs the asking agency, the signed requester";
		return CL_EINVAL;
	}
	if (!strcmp(ak->agency_id, meta->agency_id)) {
		*why = "a node is not asked to disclose to itself";
		return CL_EINVAL;
	}
	if (!qr->period_to || strlen(qr->period_to) != 10 ||
	    cldate_parse_time(qr->period_to, as_of_end, NULL) != CL_OK) {
		*why = "period_to must be YYYY-MM-DD";
		return CL_EINVAL;
	}
	return CL_OK;
}

/* Adds withheld[r] entries with a count to the grant. */
static int nd_withheld(Caselink__V1__CaseGrant *g, const char *node, const size_t *count,
		       const char *policy_reason)
{
	size_t r;

	g->withheld = calloc(ND_NREASONS, sizeof(*g->withheld));
	if (!g->withheld)
		return CL_ENOMEM;
	for (r = 0; r < ND_NREASONS; r++) {
		Caselink__V1__CaseWithheld *w;
		const char *why = r == ND_POLICY ? policy_reason : nd_reason_code[r];

		if (!count[r])
			continue;
		w = calloc(1, sizeof(*w));
		if (!w)
			return CL_ENOMEM;
		caselink__v1__case_withheld__init(w);
		w->node_id = strdup(node);
		w->reason = strdup(why ? why : "policy");
		w->records = count[r] > UINT32_MAX ? UINT32_MAX : (uint32_t)count[r];
		g->withheld[g->n_withheld++] = w;
		if (!w->node_id || !w->reason)
			return CL_ENOMEM;
	}
	return CL_OK;
}

/* The audit entry of one record let go (person_ref last: it may hold any printable text). */
static int nd_audit(const struct node_disclose_env *env, const Caselink__V1__QueryRequest *qr,
		    const struct policy_case_decision *d, unsigned found, const char *ref)
{
	char details[AUDIT_DETAILS_MAX], names[64];
	const Caselink__V1__CaseAsker *ak = qr->case_asker;

	nd_evidence_names(found, names, sizeof(names));
	snprintf(details, sizeof(details),
		 "asker=%.64s asker_type=%.32s measure=%.4s purpose=%.63s legal_basis=%.63s "
		 "as_of_end=%.10s rule=%.63s evidence=%s person_ref=%.255s",
		 ak->agency_id, ak->agency_type, policy_query_measure(qr->measure),
		 qr->header->purpose ? qr->header->purpose : "",
		 qr->header->legal_basis ? qr->header->legal_basis : "", qr->period_to, d->rule,
		 names, ref);
	return audit_append(env->audit, env->peer && *env->peer ? env->peer : "-",
			    NODE_DISCLOSE_ACTION, details, NULL);
}

size_t node_disclose_aad(const uint8_t *request_id, size_t id_len, const char *node_id,
			 uint8_t *aad, size_t cap)
{
	size_t dl = sizeof(NODE_DISCLOSE_AAD_DOMAIN), nl = strlen(node_id), n;

	/* domain NUL || request_id || NUL || node_id */
	if (__builtin_add_overflow(dl, id_len, &n) || __builtin_add_overflow(n, nl + 1, &n) ||
	    n > cap)
		return 0;
	memcpy(aad, NODE_DISCLOSE_AAD_DOMAIN, dl);
	memcpy(aad + dl, request_id, id_len);
	aad[dl + id_len] = '\0';
	memcpy(aad + dl + id_len + 1, node_id, nl);
	return n;
}

int node_disclose_record_rows(struct node_store *store, const struct node_store_meta *meta,
			      const char *ref, int64_t as_of_end, Caselink__V1__RowBatch *rb,
			      size_t *cap)
{
	sqlite3_stmt *st = NULL;
	int rc = CL_ESQL, step;

	if (!store || !meta || !ref || !rb || !cap)
		return CL_EINVAL;
	if (sqlite3_prepare_v2(node_store_db(store),
			       "SELECT e.occurred_at, e.municipality, e.event_type, e.role,"
			       " coalesce(e.risk_level, ''), e.child_threat_level FROM events e"
			       " JOIN persons p ON p.id = e.person_id WHERE p.person_ref = ?"
			       " AND e.occurred_at < ? ORDER BY e.occurred_at, e.id",
			       -1, &st, NULL) != SQLITE_OK)
		goto out;
	sqlite3_bind_text(st, 1, ref, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, as_of_end);
	while ((step = sqlite3_step(st)) == SQLITE_ROW) {
		Caselink__V1__Row *row;
		char when[32], ctl[8];
		const char *k[8];
		size_t i;

		if (rb->n_rows >= ND_MAX_EVENTS * 4) {
			rc = CL_ELIMIT;
			goto out;
		}
		if (rb->n_rows == *cap) {
			size_t nc = *cap ? *cap * 2 : 64;
			Caselink__V1__Row **g = realloc(rb->rows, nc * sizeof(*g));

			if (!g) {
				rc = CL_ENOMEM;
				goto out;
			}
			rb->rows = g;
			*cap = nc;
		}
		cldate_format_time(sqlite3_column_int64(st, 0), when);
		if (sqlite3_column_type(st, 5) == SQLITE_NULL)
			ctl[0] = '\0';
		else
			snprintf(ctl, sizeof(ctl), "%d", sqlite3_column_int(st, 5));
		k[0] = when;
		k[1] = meta->agency_type;
		k[2] = meta->agency_id;
		k[3] = (const char *)sqlite3_column_text(st, 1);
		if (!k[3] || !k[3][0])
			k[3] = meta->municipality; /* the node's, as the coordinator's engine shows
						      it */
		k[4] = (const char *)sqlite3_column_text(st, 2);
		k[5] = (const char *)sqlite3_column_text(st, 3);
		k[6] = (const char *)sqlite3_column_text(st, 4);
		k[7] = ctl;
		row = calloc(1, sizeof(*row));
		if (!row) {
			rc = CL_ENOMEM;
			goto out;
		}
		caselink__v1__row__init(row);
		rb->rows[rb->n_rows++] = row;
		row->keys = calloc(8, sizeof(*row->keys));
		if (!row->keys) {
			rc = CL_ENOMEM;
			goto out;
		}
		for (i = 0; i < 8; i++) {
			row->keys[i] = strdup(k[i] ? k[i] : "");
			if (!row->keys[i]) {
				rc = CL_ENOMEM;
				goto out;
			}
			row->n_keys = i + 1;
		}
	}
	rc = step == SQLITE_DONE ? CL_OK : CL_ESQL;
out:
	sqlite3_finalize(st);
	return rc;
}

void node_disclose_rows_free(Caselink__V1__RowBatch *rb)
{
	size_t i, k;

	for (i = 0; i < rb->n_rows; i++) {
		for (k = 0; k < rb->rows[i]->n_keys; k++) {
			OPENSSL_cleanse(rb->rows[i]->keys[k], strlen(rb->rows[i]->keys[k]));
			free(rb->rows[i]->keys[k]);
		}
		free(rb->rows[i]->keys);
		free(rb->rows[i]);
	}
	free(rb->rows);
	rb->rows = NULL;
	rb->n_rows = 0;
}

/*
 * M7: the granted records' rows (in the order granted), packed and sealed to the asking
 * node's certificate as the signed request carries it (checked against the federation CA and
 * role node); unsealed in an insecure demo. One CaseSealed in grant->sealed.
 */
static int nd_seal_rows(const struct node_disclose_env *env, const Caselink__V1__QueryRequest *qr,
			const struct nd_item *items, const unsigned char *granted, size_t n,
			int64_t as_of_end, Caselink__V1__CaseGrant *grant)
{
	static const char *const cols[] = {"occurred_at",  "agency_type",	"agency_id",
					   "municipality", "event_type",	"role",
					   "risk_level",   "child_threat_level"};
	Caselink__V1__RowBatch rb = CASELINK__V1__ROW_BATCH__INIT;
	Caselink__V1__CaseSealed *cs = NULL;
	struct seal_recipient *to = NULL;
	uint8_t *packed = NULL, *box = NULL, aad[512];
	size_t i, cap = 0, len = 0, box_len = 0, aad_len;
	char reason[SEAL_REASON_MAX] = "";
	int rc = CL_OK;

	rb.key_columns = (char **)cols;
	rb.n_key_columns = 8;
	for (i = 0; rc == CL_OK && i < n; i++)
		if (granted[i])
			rc = node_disclose_record_rows(env->store, env->meta, items[i].ref,
						       as_of_end, &rb, &cap);
	if (rc == CL_OK) {
		len = caselink__v1__row_batch__get_packed_size(&rb);
		packed = malloc(len ? len : 1);
		if (!packed)
			rc = CL_ENOMEM;
		else
			caselink__v1__row_batch__pack(&rb, packed);
	}
	aad_len = node_disclose_aad(qr->header->request_id.data, qr->header->request_id.len,
				    env->meta->agency_id, aad, sizeof(aad));
	if (rc == CL_OK && (!aad_len || len > SEAL_MAX_MESSAGE))
		rc = CL_ELIMIT;
	if (rc == CL_OK && env->ca_pem) {
		rc = seal_recipient_new(env->ca_pem, qr->header->requester_cert.data,
					qr->header->requester_cert.len, "node", &to, reason);
		if (rc == CL_OK)
			rc = seal_box(to, aad, aad_len, packed, len, &box, &box_len);
	} else if (rc == CL_OK) { /* insecure demo: no certificate to seal to */
		box = packed;
		box_len = len;
		packed = NULL;
	}
	if (rc == CL_OK) {
		cs = calloc(1, sizeof(*cs));
		grant->sealed = calloc(1, sizeof(*grant->sealed));
		if (cs)
			caselink__v1__case_sealed__init(cs);
		if (!cs || !grant->sealed || !(cs->node_id = strdup(env->meta->agency_id)))
			rc = CL_ENOMEM;
	}
	if (rc == CL_OK) {
		cs->box.data = box;
		cs->box.len = box_len;
		box = NULL;
		grant->sealed[0] = cs;
		grant->n_sealed = 1;
		cs = NULL;
	}
	if (cs)
		free(cs->node_id);
	free(cs);
	if (packed)
		OPENSSL_cleanse(packed, len);
	free(packed);
	free(box);
	seal_recipient_free(to);
	node_disclose_rows_free(&rb);
	return rc;
}

int node_disclose_decide(const struct node_disclose_env *env, const Caselink__V1__QueryRequest *qr,
			 Caselink__V1__CaseGrant *grant, const char **why)
{
	struct policy_case_request q;
	struct policy_case_decision d;
	struct nd_item *items = NULL;
	unsigned char *granted = NULL;
	char reason[POLICY_QUERY_REASON_MAX] = "";
	size_t count[ND_NREASONS] = {0}, i, n;
	int64_t as_of_end = 0;
	int rc, cp;

	if (!env || !env->store || !env->audit || !env->meta || !qr || !qr->header || !grant ||
	    !why)
		return CL_EINVAL;
	rc = nd_check(qr, env->meta, &as_of_end, why);
	if (rc != CL_OK)
		return rc;
	n = qr->n_case_handles;
	cp = qr->header->legal_basis && !strcmp(qr->header->legal_basis, "child_protection");
	memset(&q, 0, sizeof(q));
	q.measure = policy_query_measure(qr->measure);
	q.purpose = qr->header->purpose ? qr->header->purpose : "";
	q.legal_basis = qr->header->legal_basis ? qr->header->legal_basis : "";
	q.asker_type = qr->case_asker->agency_type;
	q.asker_municipality = qr->case_asker->municipality;
	q.asker_country = qr->case_asker->country;
	q.own_municipality = env->meta->municipality;
	q.own_country = env->meta->country;
	memset(&d, 0, sizeof(d));
	if (env->policy) {
		rc = policy_case_check(env->policy, &q, &d);
		if (rc != CL_OK && rc != CL_EDENIED)
			return rc;
	} else { /* insecure demo without a policy: everything is allowed */
		d.allowed = 1;
		d.evidence = POLICY_EVIDENCE_NONE;
		snprintf(d.rule, sizeof(d.rule), "none-insecure-demo");
	}
	grant->granted = calloc(n, sizeof(*grant->granted));
	items = calloc(n, sizeof(*items));
	if (!grant->granted || !items) {
		rc = CL_ENOMEM;
		goto out;
	}
	if (!d.allowed) {
		struct policy_decision pd;

		memset(&pd, 0, sizeof(pd));
		snprintf(pd.rule, sizeof(pd.rule), "%s", d.rule);
		policy_query_reason(env->policy, &pd, reason, sizeof(reason));
		count[ND_POLICY] = n;
		rc = audit_append(env->audit, env->peer && *env->peer ? env->peer : "-",
				  "case_disclosure_refused", d.message, NULL);
		if (rc == CL_OK)
			rc = nd_withheld(grant, env->meta->agency_id, count, reason);
		goto out;
	}
	{
		uint8_t(*h)[NODE_TOKENS_HANDLE_LEN] = calloc(n, sizeof(*h));

		if (!h) {
			rc = CL_ENOMEM;
			goto out;
		}
		for (i = 0; i < n; i++)
			memcpy(h[i], qr->case_handles[i].data, NODE_TOKENS_HANDLE_LEN);
		rc = node_tokens_resolve_many(env->store, qr->query_nonce.data,
					      (const uint8_t(*)[NODE_TOKENS_HANDLE_LEN])h, n,
					      nd_found, items);
		free(h);
	}
	granted = calloc(n, 1);
	if (!granted)
		rc = CL_ENOMEM;
	for (i = 0; rc == CL_OK && i < n; i++) {
		unsigned found = 0;
		int restricted = 0;

		if (!items[i].found) {
			count[ND_UNKNOWN]++;
			continue;
		}
		rc = nd_evidence(env->store, items[i].ref, d.evidence, q.asker_type, as_of_end,
				 &restricted, &found);
		if (rc != CL_OK)
			break;
		if (restricted && !cp) {
			count[ND_RESTRICTED]++;
		} else if (!found) {
			count[ND_NO_EVIDENCE]++;
		} else {
			/* recorded before the answer leaves: no disclosure without its entry */
			rc = nd_audit(env, qr, &d, found, items[i].ref);
			if (rc == CL_OK) {
				grant->granted[grant->n_granted++] = qr->case_handles[i];
				granted[i] = 1;
			}
		}
	}
	if (rc == CL_OK)
		rc = nd_withheld(grant, env->meta->agency_id, count, NULL);
	if (rc == CL_OK && grant->n_granted && !strcmp(q.measure, "M7"))
		rc = nd_seal_rows(env, qr, items, granted, n, as_of_end, grant);
out:
	if (items)
		for (i = 0; i < n; i++)
			memset(items[i].ref, 0, sizeof(items[i].ref));
	free(items);
	free(granted);
	if (rc != CL_OK)
		node_disclose_grant_free(grant);
	return rc;
}

void node_disclose_grant_free(Caselink__V1__CaseGrant *grant)
{
	size_t i;

	if (!grant)
		return;
	for (i = 0; i < grant->n_withheld; i++) {
		free(grant->withheld[i]->node_id);
		free(grant->withheld[i]->reason);
		free(grant->withheld[i]);
	}
	free(grant->withheld);
	for (i = 0; i < grant->n_sealed; i++) {
		free(grant->sealed[i]->node_id);
		free(grant->sealed[i]->box.data);
		free(grant->sealed[i]);
	}
	free(grant->sealed);
	grant->sealed = NULL;
	grant->n_sealed = 0;
	free(grant->granted); /* the handles point into the request */
	grant->withheld = NULL;
	grant->granted = NULL;
	grant->n_withheld = grant->n_granted = 0;
}

/* ---- caselink-node audit disclosures ------------------------------------------------------- */

struct nd_list {
	int csv;
	size_t n;
};

/* The value of key in "k=v k=v ... person_ref=REST" into buf; person_ref takes the rest. */
static void nd_field(const char *details, const char *key, char *buf, size_t bufsz)
{
	size_t kl = strlen(key), len;
	const char *p = details;

	buf[0] = '\0';
	while (p && *p) {
		if (!strncmp(p, key, kl) && p[kl] == '=') {
			p += kl + 1;
			len = !strcmp(key, "person_ref") ? strlen(p) : strcspn(p, " ");
			snprintf(buf, bufsz, "%.*s", (int)(len < bufsz ? len : bufsz - 1), p);
			return;
		}
		p = strchr(p, ' ');
		if (p)
			p++;
	}
}

static int nd_print(void *ud, uint64_t seq, int64_t t, const char *actor, const char *details)
{
	static const char *const keys[] = {"person_ref",  "asker", "measure",  "purpose",
					   "legal_basis", "rule",  "evidence", NULL};
	struct nd_list *l = ud;
	char when[32], v[ND_REF_MAX];
	size_t k;

	(void)actor;
	cldate_format_time(t, when);
	printf(l->csv ? "%llu,%s" : "%-6llu %-20s", (unsigned long long)seq, when);
	for (k = 0; keys[k]; k++) {
		nd_field(details, keys[k], v, sizeof(v));
		printf(l->csv ? ",%s" : " %-s", v);
	}
	putchar('\n');
	l->n++;
	return CL_OK;
}

int node_disclose_list_main(int argc, char **argv)
{
	const char *data = NULL, *format = "table";
	struct audit *a = NULL;
	struct nd_list l = {0, 0};
	uint64_t entries = 0, broken = 0;
	char why[256] = "";
	int i, rc;

	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--data") && i + 1 < argc)
			data = argv[++i];
		else if (!strcmp(argv[i], "--format") && i + 1 < argc)
			format = argv[++i];
		else
			data = NULL, i = argc;
	}
	if (!data || (strcmp(format, "table") && strcmp(format, "csv"))) {
		fprintf(stderr, "usage: caselink-node audit disclosures --data DIR "
				"[--format table|csv]\n");
		return CL_EUSAGE;
	}
	l.csv = !strcmp(format, "csv");
	rc = audit_open_in(data, "audit.db", 0, &a);
	if (rc == CL_OK)
		rc = audit_verify(a, &entries, &broken, why, sizeof(why));
	if (rc == CL_EAUDIT) {
		fprintf(stderr,
			"caselink-node audit disclosures: audit log BROKEN at entry %llu: %s "
			"(nothing listed)\n",
			(unsigned long long)broken, why);
		goto out;
	}
	if (rc != CL_OK) {
		fprintf(stderr, "caselink-node audit disclosures: audit log in %s: %s\n", data,
			cl_strerror(rc));
		goto out;
	}
	printf(l.csv ? "seq,time,person_ref,asking_agency,measure,purpose,legal_basis,rule,"
		       "evidence\n"
		     : "# records of this agency let go into other agencies' case answers (audit "
		       "chain intact)\n");
	rc = audit_each(a, NODE_DISCLOSE_ACTION, nd_print, &l);
	if (rc == CL_OK && !l.csv)
		printf("# %zu disclosure(s); columns: seq time person_ref asking_agency measure "
		       "purpose legal_basis rule evidence\n",
		       l.n);
out:
	audit_close(a);
	return rc;
}
