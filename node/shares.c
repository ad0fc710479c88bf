/*
 * shares — a node's minimised columns for a secure computation (shares.h).
 */
#include "node/shares.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "common/cl_error.h"
#include "common/vocab.h"
#include "compute/mpc_input.h"
#include "compute/mpc_measures.h"
#include "protocol/seal.h"

/* One slot before splitting: its time, its fixed bit planes, its municipality. */
struct sl {
	uint32_t t;
	uint16_t bits; /* the layout's fixed planes, bit j = plane j */
	uint8_t muni;
};

/* The layouts (compute/mpc_measures.h documents each circuit's columns). */
enum layout { LAYOUT_M2, LAYOUT_M4, LAYOUT_M5 };

static const struct {
	const char *name;
	unsigned nfixed; /* fixed bit planes */
	int munis;	 /* municipality one-hot planes follow */
} layouts[] = {
    [LAYOUT_M2] = {"m2/v1", 3, 1}, /* inc, inper, after */
    [LAYOUT_M4] = {"m4/v1", 9, 1}, /* police, 8 support types */
    [LAYOUT_M5] = {"m5/v1", 3, 0}, /* perp, completed, dropped */
};

struct node_shares {
	struct seal_recipient *party[3]; /* [1], [2] */
	uint8_t nonce[32];
	size_t nonce_len;
	int64_t wfrom, from, to;
	enum layout layout;
	char munis[NODE_SHARES_MAX_MUNIS][128];
	size_t nmunis;
	char node_muni[128];
	struct sl *s;
	size_t n, cap;
};

/* The layout of a measure; -1 when it is not computed under secret sharing. */
static int layout_of(const char *m)
{
	if (!m)
		return -1;
	if (!strcmp(m, "M2") || !strcmp(m, "repeat_victimisation"))
		return LAYOUT_M2;
	if (!strcmp(m, "M4") || !strcmp(m, "service_uptake"))
		return LAYOUT_M4;
	if (!strcmp(m, "M5") || !strcmp(m, "programme_outcomes"))
		return LAYOUT_M5;
	return -1;
}

static int parties(struct node_shares *sh, const Caselink__V1__QueryRequest *qr, const char *ca_pem,
		   char reason[160])
{
	if (qr->n_compute_parties != 2) {
		snprintf(reason, 160, "two computing parties needed");
		return CL_EAUTH;
	}
	for (size_t i = 0; i < 2; i++) {
		const Caselink__V1__ComputeParty *cp = qr->compute_parties[i];
		char why[SEAL_REASON_MAX];
		int rc;

		if (!cp || (cp->party != 1 && cp->party != 2) || sh->party[cp->party]) {
			snprintf(reason, 160, "computing parties must be 1 and 2");
			return CL_EAUTH;
		}
		rc = seal_recipient_new(ca_pem, cp->certificate.data, cp->certificate.len,
					"compute", &sh->party[cp->party], why);
		if (rc != 0) {
			snprintf(reason, 160, "computing party %u: %.120s", cp->party, why);
			return rc;
		}
	}
	return 0;
}

int node_shares_new(const Caselink__V1__QueryRequest *qr, const char *ca_pem, int64_t window_from,
		    int64_t from, int64_t to, const char *node_municipality,
		    struct node_shares **out, char reason[160])
{
	struct node_shares *sh;
	int rc;

	reason[0] = '\0';
	if (!qr || !ca_pem || !out || !node_municipality)
		return CL_EINVAL;
	if (layout_of(qr->measure) < 0) {
		snprintf(reason, 160, "measure not available under secure computation");
		return CL_EUNSUPPORTED;
	}
	if (qr->query_nonce.len == 0 || qr->query_nonce.len > 32 || window_from > from ||
	    to - window_from >= (1ll << 30) - (int64_t)MPC_H72 * 2) {
		snprintf(reason, 160, "window unusable for secure computation");
		return CL_EINVAL;
	}
	sh = calloc(1, sizeof(*sh));
	if (!sh)
		return CL_ENOMEM;
	rc = parties(sh, qr, ca_pem, reason);
	if (rc != 0) {
		node_shares_free(sh);
		return rc;
	}
	sh->layout = (enum layout)layout_of(qr->measure);
	memcpy(sh->nonce, qr->query_nonce.data, qr->query_nonce.len);
	sh->nonce_len = qr->query_nonce.len;
	sh->wfrom = window_from;
	sh->from = from;
	sh->to = to;
	snprintf(sh->node_muni, sizeof(sh->node_muni), "%s", node_municipality);
	*out = sh;
	return 0;
}

void node_shares_free(struct node_shares *sh)
{
	if (!sh)
		return;
	seal_recipient_free(sh->party[1]);
	seal_recipient_free(sh->party[2]);
	if (sh->s)
		OPENSSL_cleanse(sh->s, sh->cap * sizeof(*sh->s));
	free(sh->s);
	OPENSSL_cleanse(sh, sizeof(*sh));
	free(sh);
}

static int muni_of(struct node_shares *sh, const char *m, uint8_t *out)
{
	const char *name = m && m[0] ? m : sh->node_muni;

	for (size_t i = 0; i < sh->nmunis; i++)
		if (!strcmp(sh->munis[i], name)) {
			*out = (uint8_t)i;
			return 0;
		}
	if (sh->nmunis == NODE_SHARES_MAX_MUNIS || strlen(name) >= sizeof(sh->munis[0]))
		return CL_ELIMIT;
	snprintf(sh->munis[sh->nmunis], sizeof(sh->munis[0]), "%s", name);
	*out = (uint8_t)sh->nmunis++;
	return 0;
}

/*
 * Whether event e takes a slot in the layout, and its fixed bits (without the muni): M2 a
 * victim-role incident (inc; in the period; after it); M4 a victim-role police incident in
 * the period, or a support event up to 30 days past it; M5 a perpetrator-role incident from
 * 72 h before the period to its end, or a programme end in the period.
 */
static int slot_bits(const struct node_shares *sh, const Caselink__V1__EventRecord *e,
		     uint16_t *bits)
{
	int type = vocab_index(VOCAB_EVENT_TYPE, e->event_type ? e->event_type : "");
	int incident = type >= 0 && vocab_event_category((size_t)type) == VOCAB_CAT_INCIDENT;
	const char *role = e->role ? e->role : "";
	int64_t t = e->occurred_at;
	int inper = t >= sh->from && t < sh->to;

	*bits = 0;
	switch (sh->layout) {
	case LAYOUT_M2:
		if (!incident || strcmp(role, "victim"))
			return 0;
		*bits = (uint16_t)(1u | (inper ? 2u : 0u) | (t >= sh->to ? 4u : 0u));
		return 1;
	case LAYOUT_M4:
		if ((type == VOCAB_EV_POLICE_CALLOUT || type == VOCAB_EV_CRIME_REPORT) &&
		    !strcmp(role, "victim") && inper) {
			*bits = 1;
			return 1;
		}
		if (type >= VOCAB_EV_INTAKE && type <= VOCAB_EV_INTAKE + 7 && t >= sh->from &&
		    t <= sh->to + (int64_t)MPC_D30) {
			*bits = (uint16_t)(2u << (type - VOCAB_EV_INTAKE));
			return 1;
		}
		return 0;
	case LAYOUT_M5:
		if (incident && !strcmp(role, "perpetrator") && t >= sh->from - (int64_t)MPC_H72 &&
		    t < sh->to) {
			*bits = 1;
			return 1;
		}
		if ((type == VOCAB_EV_PROGRAMME_COMPLETED || type == VOCAB_EV_PROGRAMME_DROPPED) &&
		    inper) {
			*bits = type == VOCAB_EV_PROGRAMME_COMPLETED ? 2 : 4;
			return 1;
		}
		return 0;
	}
	return 0;
}

/* Grows the slot array (wiping the old block) to hold add more. */
static int grow(struct node_shares *sh, size_t add)
{
	size_t need = sh->n + add, cap = sh->cap ? sh->cap : 1024;
	struct sl *a;

	if (need > NODE_SHARES_MAX_SLOTS)
		return CL_ELIMIT;
	if (need <= sh->cap)
		return 0;
	while (cap < need)
		cap *= 2;
	a = calloc(cap, sizeof(*a));
	if (!a)
		return CL_ENOMEM;
	if (sh->s) {
		memcpy(a, sh->s, sh->n * sizeof(*a));
		OPENSSL_cleanse(sh->s, sh->cap * sizeof(*a));
		free(sh->s);
	}
	sh->s = a;
	sh->cap = cap;
	return 0;
}

int node_shares_add(struct node_shares *sh, const Caselink__V1__TokenRecord *rec, uint32_t *slots)
{
	size_t real = 0, pad = 1;
	int rc;

	if (!sh || !rec || !slots)
		return CL_EINVAL;
	for (size_t i = 0; i < rec->n_events; i++) {
		uint16_t b;

		real += (size_t)slot_bits(sh, rec->events[i], &b);
	}
	while (pad < real)
		pad *= 2;
	if (pad > NODE_SHARES_MAX_RECORD)
		return CL_ELIMIT;
	rc = grow(sh, pad);
	if (rc != 0)
		return rc;
	for (size_t i = 0, k = sh->n; i < rec->n_events; i++) {
		const Caselink__V1__EventRecord *e = rec->events[i];
		struct sl *s = &sh->s[k];
		uint16_t bits;

		if (!slot_bits(sh, e, &bits))
			continue;
		if (e->occurred_at < sh->wfrom || e->occurred_at - sh->wfrom >= (1ll << 30))
			return CL_EINVAL;
		s->muni = 0;
		/* M4: only the police incidents carry the municipality */
		if (layouts[sh->layout].munis && (sh->layout != LAYOUT_M4 || (bits & 1))) {
			rc = muni_of(sh, e->municipality, &s->muni);
			if (rc != 0)
				return rc;
			bits |= 0x8000; /* has a municipality */
		}
		s->t = (uint32_t)(e->occurred_at - sh->wfrom);
		s->bits = bits;
		k++;
	}
	for (size_t k = sh->n + real; k < sh->n + pad; k++)
		sh->s[k] = (struct sl){.t = MPC_T_NONE};
	sh->n += pad;
	*slots = (uint32_t)pad;
	return 0;
}

/* The plaintext column words of the layout. */
static int columns(const struct node_shares *sh, const struct mpc_input_shape *shape,
		   uint64_t **out, size_t *words)
{
	size_t W = (sh->n + 63) / 64;
	uint64_t *x;
	int rc = mpc_input_words(shape, words);

	if (rc != 0)
		return rc;
	x = OPENSSL_zalloc(*words ? *words * 8 : 8);
	if (!x)
		return CL_ENOMEM;
	for (size_t k = 0; k < sh->n; k++) {
		const struct sl *s = &sh->s[k];
		uint64_t bit = 1ull << (k % 64);
		uint64_t *planes = x + sh->n;

		x[k] = s->t;
		for (unsigned j = 0; j < layouts[sh->layout].nfixed; j++)
			if (s->bits & (1u << j))
				planes[j * W + k / 64] |= bit;
		if (s->bits & 0x8000)
			planes[(layouts[sh->layout].nfixed + (size_t)s->muni) * W + k / 64] |= bit;
	}
	*out = x;
	return 0;
}

static int seal_seeds(const struct node_shares *sh, unsigned party, const uint8_t *seeds,
		      size_t len, ProtobufCBinaryData *out)
{
	uint8_t aad[64];
	size_t alen;
	int rc = mpc_input_aad(party, sh->nonce, sh->nonce_len, aad, &alen);

	if (rc == 0)
		rc = seal_box(sh->party[party], aad, alen, seeds, len, &out->data, &out->len);
	return rc;
}

/* Fills up's plain fields: layout, slots, municipalities, x0, the coordinator's seed. */
static int upload_fields(const struct node_shares *sh, Caselink__V1__ShareUpload *up, uint64_t *x0,
			 size_t words, const uint8_t seed1[MPC_INPUT_SEED])
{
	up->layout = strdup(layouts[sh->layout].name);
	up->municipalities = calloc(sh->nmunis ? sh->nmunis : 1, sizeof(char *));
	up->seed_p0.data = malloc(MPC_INPUT_SEED);
	if (!up->layout || !up->municipalities || !up->seed_p0.data)
		return CL_ENOMEM;
	for (size_t i = 0; i < sh->nmunis; i++) {
		up->municipalities[i] = strdup(sh->munis[i]);
		if (!up->municipalities[i])
			return CL_ENOMEM;
		up->n_municipalities = i + 1;
	}
	memcpy(up->seed_p0.data, seed1, MPC_INPUT_SEED);
	up->seed_p0.len = MPC_INPUT_SEED;
	up->slots = (uint32_t)sh->n;
	up->x0.data = (uint8_t *)x0; /* little-endian words: this build's byte order */
	up->x0.len = words * 8;
	return 0;
}

int node_shares_finish(struct node_shares *sh, Caselink__V1__ShareUpload *up)
{
	struct mpc_input_shape shape;
	uint8_t seeds[2 * MPC_INPUT_SEED];
	uint64_t *x = NULL, *x0 = NULL;
	size_t words = 0;
	int rc;

	if (!sh || !up)
		return CL_EINVAL;
	caselink__v1__share_upload__init(up);
	shape = (struct mpc_input_shape){
	    .n = sh->n, .na = 1, .nplanes = layouts[sh->layout].nfixed + sh->nmunis};
	rc = columns(sh, &shape, &x, &words);
	if (rc == 0) {
		x0 = malloc(words ? words * 8 : 8);
		rc = x0 ? mpc_input_split(&shape, x, x0, seeds, seeds + MPC_INPUT_SEED) : CL_ENOMEM;
	}
	if (rc == 0)
		rc = seal_seeds(sh, 1, seeds, sizeof(seeds), &up->sealed_p1);
	if (rc == 0)
		rc = seal_seeds(sh, 2, seeds + MPC_INPUT_SEED, MPC_INPUT_SEED, &up->sealed_p2);
	if (rc == 0) {
		rc = upload_fields(sh, up, x0, words, seeds);
		x0 = NULL;
	}
	OPENSSL_cleanse(seeds, sizeof(seeds));
	if (x)
		OPENSSL_clear_free(x, words ? words * 8 : 8);
	free(x0);
	if (rc != 0)
		node_shares_upload_free(up);
	return rc;
}

void node_shares_upload_free(Caselink__V1__ShareUpload *up)
{
	if (!up)
		return;
	free(up->layout);
	for (size_t i = 0; i < up->n_municipalities; i++)
		free(up->municipalities[i]);
	free(up->municipalities);
	free(up->x0.data);
	if (up->seed_p0.data)
		OPENSSL_cleanse(up->seed_p0.data, up->seed_p0.len);
	free(up->seed_p0.data);
	free(up->sealed_p1.data);
	free(up->sealed_p2.data);
	caselink__v1__share_upload__init(up);
}
