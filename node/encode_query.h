/*
 * encode_query — a node's answer to a TOKENS-mode query (privacy.md "Pseudonymisation"): for
 * every person with at least one event in the window, one TokenRecord with a per-query row
 * handle, the per-query id and demo tokens HMAC-SHA256(OPRF output, nonce), the balanced Bloom
 * filter of its cached q-gram outputs, its coded events in the window, sex, restriction and key
 * epoch — never a name, a code, a birth date or a reference. Built from the token cache of
 * node/tokens.h, in one read snapshot of the store (or from a node_encq_cache copy of it).
 */
#ifndef CASELINK_NODE_ENCODE_QUERY_H
#define CASELINK_NODE_ENCODE_QUERY_H

#include <stddef.h>
#include <stdint.h>

#include "node/store.h"
#include "protocol/caselink.pb-c.h"
#include "protocol/encode.h"

#define NODE_ENCQ_BATCH	      1000	     /* records per TokenBatch */
#define NODE_ENCQ_BATCH_BYTES (1024u * 1024) /* about this many bytes per TokenBatch */
#define NODE_ENCQ_MAX_EVENTS  16384	     /* events of one person in one answer */

/*
 * Receives one batch (batch_index 0, 1, ...); last is 1 on the final batch, which may be
 * empty. The batch and everything it points to are valid only during the call. Returning
 * nonzero stops the answer with that code.
 */
typedef int (*node_encq_emit_fn)(void *ud, const Caselink__V1__TokenBatch *batch, int last);

/* What an answer held. */
struct node_encq_summary {
	size_t records, events, batches;
	uint32_t key_epoch;
};

/*
 * Encodes the answer for nonce and the window [from, to) (epoch seconds) and passes it to emit
 * batch by batch. Returns CL_ESTALE when the token cache is not filled for the store's current
 * data (run `caselink-node tokens`), CL_ELIMIT for a person with more than NODE_ENCQ_MAX_EVENTS
 * events in the window. *out (may be NULL) gets the summary on success.
 */
int node_encq_run(struct node_store *s, const uint8_t nonce[ENC_NONCE_LEN], int64_t from,
		  int64_t to, node_encq_emit_fn emit, void *ud, struct node_encq_summary *out);

/*
 * As node_encq_run, with the row handles made with handle_nonce instead of the query nonce
 * (the tokens still use nonce): the answer to a case measure (M7, M8) this node asked itself,
 * whose handles its CLI must resolve without knowing the coordinator's nonce.
 */
int node_encq_run_handles(struct node_store *s, const uint8_t nonce[ENC_NONCE_LEN],
			  const uint8_t handle_nonce[ENC_NONCE_LEN], int64_t from, int64_t to,
			  node_encq_emit_fn emit, void *ud, struct node_encq_summary *out);

/*
 * A long-running node's in-memory, read-only copy of what an answer reads from persons and
 * events (the events grouped by person in time order with their codes interned; each person's
 * normalised names, birth date, sex, restriction and cached id and demo OPRF outputs), rebuilt
 * when an import or a cache fill has changed the store, and shared by concurrent answers. It
 * holds personal data and secrets for the daemon's lifetime; they are wiped when freed.
 * Thread-safe.
 */
struct node_encq_cache;

/* Creates an empty cache. */
int node_encq_cache_new(struct node_encq_cache **out);

/* Frees a cache (no answer may still be using it); NULL is allowed. */
void node_encq_cache_free(struct node_encq_cache *c);

/*
 * Builds c's copy of the store now (e.g. when the daemon starts) instead of at the first
 * TOKENS answer. Best effort for the caller: any error leaves c as it was.
 */
int node_encq_cache_warm(struct node_store *s, struct node_encq_cache *c);

/* Writes the bytes the cache's current copy holds and how many copies were built so far. */
int node_encq_cache_info(struct node_encq_cache *c, size_t *bytes, size_t *builds);

/*
 * As node_encq_run_handles, reading the persons and events from c's copy (first rebuilt when
 * the store changed since) instead of the store; the same answer byte for byte. c may be NULL
 * (the window is read from the store for this answer only).
 */
int node_encq_run_cached(struct node_store *s, struct node_encq_cache *c,
			 const uint8_t nonce[ENC_NONCE_LEN],
			 const uint8_t handle_nonce[ENC_NONCE_LEN], int64_t from, int64_t to,
			 node_encq_emit_fn emit, void *ud, struct node_encq_summary *out);

/*
 * Derives the handle nonce of a request this node asks itself: the first ENC_NONCE_LEN bytes of
 * SHA-256("caselink own handles v1" NUL || request_id) (request_id 16..64 bytes).
 */
int node_encq_own_nonce(const uint8_t *request_id, size_t len, uint8_t out[ENC_NONCE_LEN]);

/*
 * The subject's age in whole years on the day of epoch seconds t, from a birth date whose month
 * and day are 0 when only the year is known (then by year); -1 when the year is 0 or the age
 * would be negative.
 */
int node_encq_age(int birth_year, int birth_month, int birth_day, int64_t t);

#endif
