/*
 * shares — what a node sends for a secure computation instead of events
 * (docs/secure-computation.md, "Data path"): per TokenRecord only the number of its slots,
 * and once per answer a ShareUpload of the measure's minimised columns, split for the three
 * parties (compute/mpc_input.h): x0 and the seed of component 1 for the coordinator, the
 * seeds of components 1 and 2 sealed to computing party 1 and the seed of component 2 sealed
 * to computing party 2 (protocol/seal.h), so the coordinator cannot read a single value.
 *
 * A record's slots are the events the measure uses, padded with dummies up to a power of two
 * (at least one). Column t = seconds since the window's start (MPC_T_NONE for a dummy), then
 * bit planes, per layout (compute/mpc_measures.h documents each circuit's inputs):
 * "m2/v1" M2: victim-role incidents; inc, inper (in the period), after (at or after its end),
 *         then one plane per municipality of the node's list (the event's, or the node's).
 * "m4/v1" M4: victim-role police incidents in the period and support events up to 30 days
 *         past it; police, 8 support types, then the police incidents' municipality one-hot.
 * "m5/v1" M5: perpetrator-role incidents from 72 h before the period to its end and programme
 *         ends in the period; perp, completed, dropped.
 */
#ifndef CASELINK_NODE_SHARES_H
#define CASELINK_NODE_SHARES_H

#include <stddef.h>
#include <stdint.h>

#include "protocol/caselink.pb-c.h"

#define NODE_SHARES_MAX_SLOTS  (1u << 24) /* slots of one answer */
#define NODE_SHARES_MAX_MUNIS  64	  /* municipalities in one node's answer */
#define NODE_SHARES_MAX_RECORD 16384	  /* slots of one record */

struct node_shares;

/*
 * Starts the shares of one answer for measure (M2, M4, M5 or their names: others
 * CL_EUNSUPPORTED), the window's start, the period [from, to) and the node's own
 * municipality; checks the request's two compute parties' certificates against ca_pem (role
 * compute, parties 1 and 2 each once), CL_EAUTH with a reason otherwise.
 */
int node_shares_new(const Caselink__V1__QueryRequest *qr, const char *ca_pem, int64_t window_from,
		    int64_t from, int64_t to, const char *node_municipality,
		    struct node_shares **out, char reason[160]);

/* Frees the shares (wiping the plaintext columns); NULL is allowed. */
void node_shares_free(struct node_shares *sh);

/*
 * Adds a record: appends its minimised slots and sets *slots to their number. The record's
 * events are read and stay the caller's (the caller must not send them).
 */
int node_shares_add(struct node_shares *sh, const Caselink__V1__TokenRecord *rec, uint32_t *slots);

/*
 * Splits and seals everything added so far into *up (free with node_shares_upload_free).
 * Each box is bound to its party and the query nonce (mpc_input_aad).
 */
int node_shares_finish(struct node_shares *sh, Caselink__V1__ShareUpload *up);

/* Frees what node_shares_finish allocated in up. */
void node_shares_upload_free(Caselink__V1__ShareUpload *up);

#endif
