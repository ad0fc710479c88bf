/*
 * audit — an append-only, hash-chained audit log in an SQLite file, usable by
 * every party (keyholder, node, coordinator).
 *
 * Each entry is (seq, time, actor, action, details, prev_hash, hash), where
 * seq counts from 1, prev_hash is the previous entry's hash (32 zero bytes
 * for entry 1) and hash = SHA-256 over the canonical encoding
 *
 *   "caselink-audit-v1" 0x00 || u64be(seq) || i64be(time)
 *   || u32be(len) actor || u32be(len) action || u32be(len) details || prev_hash
 *
 * A one-row head table holds the last seq and hash, updated in the same
 * transaction, so that a removed tail is noticed too (keep audit_head's
 * output elsewhere to anchor the log against a rewrite of the whole file).
 *
 * details is short key=value text; callers never put personal data,
 * identifiers, names, tokens or points in it — with one exception: a node's
 * case_disclosed entries name the node's OWN person_ref of a record it let go
 * into another agency's case answer, for its data-protection officer
 * (node/disclose.h). Thread-safe.
 */
#ifndef CASELINK_AUDIT_H
#define CASELINK_AUDIT_H

#include <stddef.h>
#include <stdint.h>

#define AUDIT_HASH_LEN	  32
#define AUDIT_ACTOR_MAX	  128  /* bytes of actor, without the NUL */
#define AUDIT_ACTION_MAX  64   /* bytes of action */
#define AUDIT_DETAILS_MAX 1024 /* bytes of details */

/* Flags of audit_open. */
#define AUDIT_OPEN_CREATE 1u /* create the file (0600) and tables when missing */

struct audit;

/*
 * Opens the audit log in the SQLite file path (tables audit_log and
 * audit_head). Without AUDIT_OPEN_CREATE a missing file is CL_ENOTFOUND.
 */
int audit_open(const char *path, unsigned flags, struct audit **out);

/* Closes the log; NULL is allowed. */
void audit_close(struct audit *a);

/*
 * Appends one entry stamped with the current time. actor, action and details
 * must be non-NULL, within their maximum sizes (CL_ELIMIT) and free of
 * control characters (CL_EINVAL). *seq (may be NULL) gets the entry's seq.
 */
int audit_append(struct audit *a, const char *actor, const char *action, const char *details,
		 uint64_t *seq);

/*
 * Walks the whole chain. Returns CL_OK and *entries when it is intact;
 * CL_EAUDIT when a link is broken, with *broken_seq the first entry that is
 * changed, missing or out of place, and a short reason in why; or another
 * CL_E* code when the log cannot be read.
 */
int audit_verify(struct audit *a, uint64_t *entries, uint64_t *broken_seq, char *why, size_t whysz);

/* Writes the last seq (0 for an empty log) and its hash (zeros when empty). */
int audit_head(struct audit *a, uint64_t *seq, uint8_t hash[AUDIT_HASH_LEN]);

/*
 * Calls fn once per entry whose action is `action`, in seq order, with its seq, time, actor
 * and details (valid during the call only). A non-zero return of fn stops and is returned.
 * Read the chain's integrity with audit_verify first.
 */
int audit_each(struct audit *a, const char *action,
	       int (*fn)(void *ud, uint64_t seq, int64_t time, const char *actor,
			 const char *details),
	       void *ud);

/*
 * The `audit verify` command of every party: opens the log at path (never
 * creating it), walks the chain and prints "audit log intact: N entries" or
 * "audit log BROKEN at entry N: reason" on stdout, or prog's error on stderr.
 * Returns CL_OK, CL_EAUDIT or the error.
 */
int audit_verify_report(const char *prog, const char *path);

/*
 * Opens the log in the file named file inside the data folder dir; with
 * AUDIT_OPEN_CREATE the folder is created (0700) when missing.
 */
int audit_open_in(const char *dir, const char *file, unsigned flags, struct audit **out);

/*
 * The `PROG audit verify --data DIR` command (argv[0] is "audit"): verifies
 * DIR/file with audit_verify_report. CL_EUSAGE (usage printed) for other
 * arguments.
 */
int audit_verify_main(const char *prog, const char *file, int argc, char **argv);

#endif
