/*
 * tokens — the node's token cache (privacy.md "Pseudonymisation", docs/privacy.md "Node token
 * cache"): the keyholder's OPRF outputs of each person's `id` (country ":" code, valid codes
 * only) and `demo` (family_norm "|" birth date "|" sex) inputs, and of every distinct q-gram of
 * the node's given names, family names and birth dates, kept in the store (schema v2:
 * person_tokens, qgram_tokens, token_state). `caselink-node tokens` fills it through the
 * keyholder (blind, BlindEvaluate, finalize); node/encode_query.h turns it into per-query tokens.
 *
 * OPRF outputs and the row-handle key are secrets: they never leave the node, are never
 * logged, and are wiped from memory after use.
 */
#ifndef CASELINK_NODE_TOKENS_H
#define CASELINK_NODE_TOKENS_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <sqlite3.h>

#include "node/store.h"
#include "protocol/encode.h"

#define NODE_TOKENS_BATCH_DEFAULT 1000 /* elements per BlindEvaluate request */
#define NODE_TOKENS_INPUT_MAX	  512  /* bytes of an id or demo OPRF input */
#define NODE_TOKENS_FIELD_QGRAMS  128  /* q-grams per field; a longer field counts as absent */
#define NODE_TOKENS_QGRAMS	  (3 * NODE_TOKENS_FIELD_QGRAMS)
#define NODE_TOKENS_HANDLE_LEN	  16 /* bytes of a row handle */
#define NODE_TOKENS_KEY_LEN	  32 /* bytes of the row-handle key */

/*
 * The columns node_tokens_inputs reads, in this order, from a query over persons aliased p:
 * id, change_gen, id_country, national_id, code_status, given_norm, family_norm, birth_year,
 * birth_month, birth_day, sex.
 */
#define NODE_TOKENS_PERSON_COLS                                                                    \
	"p.id, p.change_gen, p.id_country, p.national_id, p.code_status, p.given_norm,"            \
	" p.family_norm, p.birth_year, p.birth_month, p.birth_day, p.sex"
#define NODE_TOKENS_PERSON_NCOLS 11

/* The OPRF inputs of one person (secrets: wipe with OPENSSL_cleanse after use). */
struct node_tokens_person {
	int64_t id, change_gen;
	unsigned char id_in[NODE_TOKENS_INPUT_MAX];
	size_t id_len; /* 0: no valid code */
	unsigned char demo_in[NODE_TOKENS_INPUT_MAX];
	size_t demo_len; /* 0: no family name or no birth year */
	size_t nq;	 /* q-grams of given name, family name, birth-date digits */
	unsigned char qfield[NODE_TOKENS_QGRAMS];
	char qgram[NODE_TOKENS_QGRAMS][ENC_QGRAM_SLOT];
	int birth_year, birth_month, birth_day; /* birth_year 0: unknown */
	char sex[2];
};

/* The keyholder as the cache fill sees it (a real client, or a test double). */
struct node_tokens_oprf {
	/* Writes the key epoch the keyholder evaluates with now. */
	int (*current_epoch)(void *ud, uint32_t *epoch);
	/*
	 * Evaluates n blinded elements (n * 33 bytes) under epoch into evaluated (n * 33 bytes)
	 * and writes the epoch of the key that evaluated them.
	 */
	int (*evaluate)(void *ud, uint32_t epoch, const uint8_t *blinded, size_t n,
			uint8_t *evaluated, uint32_t *used_epoch);
	size_t max_batch; /* elements per evaluate call; 0: NODE_TOKENS_BATCH_DEFAULT */
	void *ud;
};

/* What a fill did. */
struct node_tokens_report {
	uint32_t key_epoch;	/* the epoch the cache now holds */
	int full;		/* 1 when every person was due (first fill or a new epoch) */
	int64_t filled_gen;	/* import generation the cache is filled to */
	size_t persons;		/* persons evaluated */
	size_t ids, demos;	/* id and demo inputs evaluated */
	size_t qgrams;		/* new q-grams evaluated */
	size_t elements, calls; /* elements sent to the keyholder, in how many calls */
};

/* The state of the cache. */
struct node_tokens_state {
	int64_t filled_gen; /* every person with change_gen <= it is cached */
	int64_t data_gen;   /* the highest change_gen of the persons */
	uint32_t key_epoch; /* 0: never filled, or a new epoch's fill is under way */
	int has_handle_key;
	int filled; /* key_epoch != 0, a handle key, and data_gen <= filled_gen */
};

/* A map from (field, q-gram) to an index, for the distinct q-grams of a fill or a query. */
struct node_tokens_qmap;

/* Creates an empty map in *out. */
int node_tokens_qmap_new(struct node_tokens_qmap **out);

/* Frees a map; NULL is allowed. */
void node_tokens_qmap_free(struct node_tokens_qmap *m);

/*
 * Looks up (field, qgram); when absent and add is set, inserts it with value add_value. Writes
 * the stored value to *value (may be NULL) and returns 1 when it was present, 0 when absent
 * (inserted or not), or a CL_E* code.
 */
int node_tokens_qmap_get(struct node_tokens_qmap *m, unsigned field, const char *qgram, int add,
			 size_t add_value, size_t *value);

/*
 * Computes p's OPRF inputs from the NODE_TOKENS_PERSON_NCOLS columns of st starting at col:
 * id only for code_status 'valid', demo only with a family name and a birth year, q-grams
 * (enc_qgrams, fields ENC_FIELD_GIVEN, ENC_FIELD_FAMILY, ENC_FIELD_BIRTH of the digits YYYYMMDD
 * or YYYY); a field that does not encode (over NODE_TOKENS_FIELD_QGRAMS q-grams) is absent.
 */
int node_tokens_inputs(sqlite3_stmt *st, int col, struct node_tokens_person *p);

/*
 * Fills the cache: asks kh for its epoch; evaluates every person changed since the last fill
 * (every person when the epoch differs from the cached one) and every q-gram not yet cached,
 * in calls of at most kh->max_batch elements; refuses outputs of another epoch (CL_EPROTO).
 * Outputs are written per chunk with the person's change_gen; the cache is marked filled (the
 * generation, the epoch, the row-handle key made at first use) only at the end, so a fill
 * interrupted at any point never claims data it does not hold, and the next one resumes.
 * Progress lines go to progress (may be NULL). *out (may be NULL) gets the report.
 */
int node_tokens_fill(struct node_store *s, const struct node_tokens_oprf *kh, FILE *progress,
		     struct node_tokens_report *out);

/* Reads the cache's state into *out. */
int node_tokens_get_state(sqlite3 *db, struct node_tokens_state *out);

/* Reads the row-handle key (CL_ESTALE when the cache was never filled). */
int node_tokens_handle_key(sqlite3 *db, uint8_t key[NODE_TOKENS_KEY_LEN]);

/* Writes the row handle: the first 16 bytes of HMAC-SHA256(key, nonce || be64(person_id)). */
int node_tokens_handle(const uint8_t key[NODE_TOKENS_KEY_LEN], const uint8_t nonce[ENC_NONCE_LEN],
		       int64_t person_id, uint8_t out[NODE_TOKENS_HANDLE_LEN]);

/*
 * Resolves a row handle of the query with nonce back to the node's person_ref (into ref,
 * refsz bytes) by recomputing every person's handle: CL_ENOTFOUND when none matches.
 */
int node_tokens_resolve(struct node_store *s, const uint8_t nonce[ENC_NONCE_LEN],
			const uint8_t handle[NODE_TOKENS_HANDLE_LEN], char *ref, size_t refsz);

/*
 * Resolves n row handles of the query with nonce in one pass over the persons: calls
 * found(ud, i, person_ref) for every handles[i] that is one of this node's rows; handles that
 * match no person are not reported. A non-zero return of found stops and is returned.
 */
int node_tokens_resolve_many(struct node_store *s, const uint8_t nonce[ENC_NONCE_LEN],
			     const uint8_t (*handles)[NODE_TOKENS_HANDLE_LEN], size_t n,
			     int (*found)(void *ud, size_t i, const char *ref), void *ud);

/*
 * Runs `caselink-node tokens --data DIR --config FILE [--batch N] [--progress]` (argv[0] is
 * "tokens"): fills the cache through the keyholder named by the configuration, over mutual TLS
 * with the node's certificate. Returns 0 or a CL_E* code (reported on stderr).
 */
int node_tokens_main(int argc, char **argv);

#endif
