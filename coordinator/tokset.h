/*
 * tokset — one node's TOKENS answer in compact form, kept by the coordinator from the moment a
 * batch arrives until the query is linked (docs/BENCHMARKS.md "Measures end to end"): per record
 * a fixed entry, its tokens and filter in one arena (only those present), its events as small
 * structs whose strings are interned. The protobuf messages can be freed as soon as a batch is
 * copied, so the coordinator holds ~ the compact data, not the unpacked messages.
 */
#ifndef CASELINK_COORDINATOR_TOKSET_H
#define CASELINK_COORDINATOR_TOKSET_H

#include <stddef.h>
#include <stdint.h>

#include "coordinator/linker.h"
#include "coordinator/measures.h"

#define TOKSET_MAX_RECORDS (1u << 22) /* records of one node's answer */
#define TOKSET_MAX_EVENTS  (1u << 26) /* events of one node's answer */
#define TOKSET_MAX_STRINGS 65535      /* distinct strings of one node's answer */
#define TOKSET_STRING_MAX  256	      /* bytes of one interned string, with the NUL */

/* One record: pointers are NULL when absent and valid until tokset_free. */
struct tokset_rec {
	const unsigned char *handle; /* 1..LINKER_HANDLE_MAX bytes */
	size_t handle_len;
	const unsigned char *id_token, *demo_token;		    /* LINKER_TOKEN_LEN bytes */
	const unsigned char *bloom;				    /* LINKER_BLOOM_BYTES bytes */
	const unsigned char *year_token, *date_token, *given_token; /* LINKER_TOKEN_LEN bytes */
	char sex;	/* the record's one-letter sex, 'U' when absent or longer */
	int restricted; /* sharing = restricted */
	const char *agency_id, *agency_type, *municipality; /* the agency it speaks for */
	size_t nevents;
};

struct tokset;

/* Creates an empty set in *out. */
int tokset_new(struct tokset **out);

/* Frees the set and wipes its tokens, filters and handles; NULL is allowed. */
void tokset_free(struct tokset *s);

/*
 * Appends a record (nevents is ignored: add its events with tokset_add_event) with copies of its
 * bytes and strings. CL_EINVAL for a handle of 0 or more than LINKER_HANDLE_MAX bytes or a string
 * of TOKSET_STRING_MAX bytes or more; CL_ELIMIT beyond TOKSET_MAX_RECORDS or TOKSET_MAX_STRINGS.
 */
int tokset_add(struct tokset *s, const struct tokset_rec *r);

/*
 * Appends an event to the last record added (strings copied, NULL kept as ""). CL_EINVAL without
 * a record or for a string too long; CL_ELIMIT beyond TOKSET_MAX_EVENTS or TOKSET_MAX_STRINGS.
 */
int tokset_add_event(struct tokset *s, const struct measures_event *e);

/* Returns the number of records. */
size_t tokset_count(const struct tokset *s);

/* Writes record i (0 .. count - 1). */
int tokset_get(const struct tokset *s, size_t i, struct tokset_rec *r);

/* Writes event k of record i; its strings stay valid until tokset_free. */
int tokset_event(const struct tokset *s, size_t i, size_t k, struct measures_event *e);

/* Returns the bytes the set holds (allocated capacity), for logs and benchmarks. */
size_t tokset_bytes(const struct tokset *s);

#endif
