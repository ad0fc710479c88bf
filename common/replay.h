/*
 * replay — remembers the request ids a party has accepted until they expire,
 * so that a replayed request is refused. Bounded: when full of unexpired ids
 * it refuses new requests (CL_EBUSY) rather than forget one. Thread-safe.
 */
#ifndef CASELINK_REPLAY_H
#define CASELINK_REPLAY_H

#include <stddef.h>
#include <stdint.h>

#define REPLAY_ID_MAX	   32
#define REPLAY_DEFAULT_MAX (1u << 20)

struct replay;

/* Creates a cache holding at most max ids (0: REPLAY_DEFAULT_MAX). */
int replay_new(size_t max, struct replay **out);

/* Frees a cache; NULL is allowed. */
void replay_free(struct replay *r);

/*
 * Records id (1..REPLAY_ID_MAX bytes) as seen until expires_at (epoch
 * seconds). Returns CL_EREPLAY when it was already seen and has not expired,
 * CL_EBUSY when the cache is full, CL_EINVAL for a bad id.
 */
int replay_check(struct replay *r, const uint8_t *id, size_t len, int64_t expires_at, int64_t now);

#endif
