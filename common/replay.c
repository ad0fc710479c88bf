#include "common/replay.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "common/cl_error.h"

struct replay_entry {
	uint8_t id[REPLAY_ID_MAX];
	uint8_t len;
	uint8_t used;
	int64_t expires_at;
};

struct replay {
	pthread_mutex_t lock;
	struct replay_entry *slots;
	size_t nslots, count, max;
};

static uint64_t replay_hash(const uint8_t *id, size_t len)
{
	uint64_t h = 1469598103934665603ull;
	size_t i;

	for (i = 0; i < len; i++)
		h = (h ^ id[i]) * 1099511628211ull;
	return h;
}

int replay_new(size_t max, struct replay **out)
{
	struct replay *r;

	if (!out)
		return CL_EINVAL;
	r = calloc(1, sizeof(*r));
	if (!r)
		return CL_ENOMEM;
	r->max = max ? max : REPLAY_DEFAULT_MAX;
	if (pthread_mutex_init(&r->lock, NULL) != 0) {
		free(r);
		return CL_ENOMEM;
	}
	*out = r;
	return CL_OK;
}

void replay_free(struct replay *r)
{
	if (!r)
		return;
	pthread_mutex_destroy(&r->lock);
	free(r->slots);
	free(r);
}

static void replay_insert(struct replay_entry *slots, size_t nslots, const struct replay_entry *e)
{
	size_t s = (size_t)replay_hash(e->id, e->len) & (nslots - 1);

	while (slots[s].used)
		s = (s + 1) & (nslots - 1);
	slots[s] = *e;
}

/* Rebuilds the table at nslots, dropping expired entries. */
static int replay_rebuild(struct replay *r, size_t nslots, int64_t now)
{
	struct replay_entry *slots = calloc(nslots, sizeof(*slots));
	size_t i, count = 0;

	if (!slots)
		return CL_ENOMEM;
	for (i = 0; i < r->nslots; i++) {
		if (!r->slots[i].used || r->slots[i].expires_at < now)
			continue;
		replay_insert(slots, nslots, &r->slots[i]);
		count++;
	}
	free(r->slots);
	r->slots = slots;
	r->nslots = nslots;
	r->count = count;
	return CL_OK;
}

/* The slot holding id, or the empty slot where it belongs. */
static size_t replay_find(const struct replay *r, const uint8_t *id, size_t len)
{
	size_t s;

	for (s = (size_t)replay_hash(id, len) & (r->nslots - 1); r->slots[s].used;
	     s = (s + 1) & (r->nslots - 1))
		if (r->slots[s].len == len && !memcmp(r->slots[s].id, id, len))
			break;
	return s;
}

int replay_check(struct replay *r, const uint8_t *id, size_t len, int64_t expires_at, int64_t now)
{
	struct replay_entry e;
	size_t s;
	int rc = CL_OK;

	if (!r || !id || len == 0 || len > REPLAY_ID_MAX)
		return CL_EINVAL;
	pthread_mutex_lock(&r->lock);
	if (r->nslots) {
		s = replay_find(r, id, len);
		if (r->slots[s].used && r->slots[s].expires_at >= now) {
			rc = CL_EREPLAY;
			goto out;
		}
		if (r->slots[s].used) {
			/* The same id again after it expired: remember the new expiry. */
			r->slots[s].expires_at = expires_at;
			goto out;
		}
	}
	if (r->count >= r->max || r->nslots == 0 || 2 * (r->count + 1) > r->nslots) {
		size_t want = r->nslots ? r->nslots : 1024;

		/* First make room by forgetting expired ids; grow only if that is not enough. */
		if (r->nslots)
			rc = replay_rebuild(r, r->nslots, now);
		if (rc == CL_OK && r->count >= r->max)
			rc = CL_EBUSY;
		while (rc == CL_OK && 2 * (r->count + 1) > want)
			want *= 2;
		if (rc == CL_OK && want != r->nslots)
			rc = replay_rebuild(r, want, now);
		if (rc != CL_OK)
			goto out;
	}
	s = replay_find(r, id, len);
	memset(&e, 0, sizeof(e));
	memcpy(e.id, id, len);
	e.len = (uint8_t)len;
	e.used = 1;
	e.expires_at = expires_at;
	r->slots[s] = e;
	r->count++;
out:
	pthread_mutex_unlock(&r->lock);
	return rc;
}
