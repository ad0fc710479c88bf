/*
 * replay — remembers the request ids a party has accepted until they expire,
 * so that a replayed request is refused. Bounded: when full of unexpired ids
 * it refuses new requests (CL_EBUSY) rather than forget one. Thread-safe.
 *
 * A cache is in memory only (replay_new) or persistent (replay_open): then
 * every id is written to a SQLite file before replay_check accepts it, the
 * file is read back when the party starts again, and ids are deleted from it
 * once expired, so a restarted party still refuses what it accepted before.
 * Every daemon that answers signed requests (node, coordinator, keyholder,
 * computing party) keeps one per kind of id in its data folder
 * (docs/protocol.md "Replay").
 */
#ifndef CASELINK_REPLAY_H
#define CASELINK_REPLAY_H

#include <stddef.h>
#include <stdint.h>

#define REPLAY_ID_MAX	   32
#define REPLAY_DEFAULT_MAX (1u << 20)
#define REPLAY_FILE	   "replay.db" /* a daemon's request ids, in its data folder */
#define REPLAY_NONCE_FILE  "nonces.db" /* a node's TOKENS query nonces, beside it */

struct replay;

/* Creates an in-memory cache holding at most max ids (0: REPLAY_DEFAULT_MAX). */
int replay_new(size_t max, struct replay **out);

/*
 * Opens (creating it 0600 when absent) the persistent cache at path, holding
 * at most max ids (0: REPLAY_DEFAULT_MAX): deletes the ids expired at now and
 * loads the others. A file that is not a replay cache, is corrupt, or cannot
 * be written is an error (CL_ECORRUPT, CL_ESCHEMA, CL_EIO or CL_EPERM), never
 * an empty cache: err gets "PATH: reason" and the caller must not serve.
 */
int replay_open(const char *path, size_t max, int64_t now, struct replay **out, char *err,
		size_t errsz);

/* replay_open of the file named file in the folder dir (e.g. a daemon's --data). */
int replay_open_in(const char *dir, const char *file, size_t max, int64_t now, struct replay **out,
		   char *err, size_t errsz);

/* Frees a cache (closing its file); NULL is allowed. */
void replay_free(struct replay *r);

/*
 * Records id (1..REPLAY_ID_MAX bytes) as seen until expires_at (epoch
 * seconds). Returns CL_EREPLAY when it was already seen and has not expired,
 * CL_EBUSY when the cache is full, CL_EINVAL for a bad id, and for a
 * persistent cache CL_EIO when the id could not be written (the request must
 * then be refused: nothing is recorded).
 */
int replay_check(struct replay *r, const uint8_t *id, size_t len, int64_t expires_at, int64_t now);

#endif
