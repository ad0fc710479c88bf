#include "compute/mpc_mailbox.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>

#include "common/cl_error.h"
#include "compute/mpc_net.h"

struct mb_msg {
	struct mb_msg *next;
	size_t len;
	uint8_t data[];
};

struct mb_queue {
	struct mb_msg *head, *tail;
	size_t bytes;
	uint64_t next_seq; /* the seq the next put must carry */
};

struct mb_comp {
	int used;
	uint64_t gen; /* changes at every open, so that a waiter notices a close */
	uint8_t id[MPC_MAILBOX_ID_MAX];
	size_t id_len;
	int failed; /* 0 or the failure's CL_E* code */
	unsigned failed_by;
	struct mb_queue q[MPC_PARTIES];
};

struct mpc_mailbox {
	unsigned self;
	size_t max_bytes, ncomps;
	uint64_t gen;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct mb_comp *comps;
};

static int mb_id_ok(const uint8_t *id, size_t len)
{
	return id && len >= MPC_MAILBOX_ID_MIN && len <= MPC_MAILBOX_ID_MAX;
}

/* The absolute CLOCK_MONOTONIC time wait_ms from now. */
static struct timespec mb_deadline(int64_t wait_ms)
{
	struct timespec ts;

	if (wait_ms < 0)
		wait_ms = 0;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	ts.tv_sec += (time_t)(wait_ms / 1000);
	ts.tv_nsec += (long)(wait_ms % 1000) * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	return ts;
}

/* Waits on the mailbox's condition until dl; returns nonzero once dl has passed. */
static int mb_wait(struct mpc_mailbox *mb, const struct timespec *dl)
{
	return pthread_cond_timedwait(&mb->cond, &mb->lock, dl) != 0;
}

static struct mb_comp *mb_find(struct mpc_mailbox *mb, const uint8_t *id, size_t len)
{
	size_t i;

	for (i = 0; i < mb->ncomps; i++)
		if (mb->comps[i].used && mb->comps[i].id_len == len &&
		    !memcmp(mb->comps[i].id, id, len))
			return &mb->comps[i];
	return NULL;
}

static void mb_msg_free(struct mb_msg *m)
{
	OPENSSL_cleanse(m->data, m->len);
	free(m);
}

static void mb_queue_clear(struct mb_queue *q)
{
	struct mb_msg *m = q->head, *next;

	for (; m; m = next) {
		next = m->next;
		mb_msg_free(m);
	}
	memset(q, 0, sizeof(*q));
}

int mpc_mailbox_new(unsigned self, size_t max_comps, size_t max_bytes, struct mpc_mailbox **out)
{
	struct mpc_mailbox *mb;
	pthread_condattr_t ca;

	if (!out || self >= MPC_PARTIES || max_comps == 0 || max_comps > MPC_MAILBOX_COMPS_MAX ||
	    max_bytes < MPC_NET_MAX_MESSAGE)
		return CL_EINVAL;
	mb = calloc(1, sizeof(*mb));
	if (!mb)
		return CL_ENOMEM;
	mb->comps = calloc(max_comps, sizeof(*mb->comps));
	if (!mb->comps) {
		free(mb);
		return CL_ENOMEM;
	}
	mb->self = self;
	mb->ncomps = max_comps;
	mb->max_bytes = max_bytes;
	pthread_mutex_init(&mb->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&mb->cond, &ca);
	pthread_condattr_destroy(&ca);
	*out = mb;
	return CL_OK;
}

static void mb_comp_clear(struct mb_comp *c)
{
	unsigned p;

	for (p = 0; p < MPC_PARTIES; p++)
		mb_queue_clear(&c->q[p]);
	c->used = 0;
	c->failed = 0;
}

void mpc_mailbox_free(struct mpc_mailbox *mb)
{
	size_t i;

	if (!mb)
		return;
	for (i = 0; i < mb->ncomps; i++)
		mb_comp_clear(&mb->comps[i]);
	pthread_cond_destroy(&mb->cond);
	pthread_mutex_destroy(&mb->lock);
	free(mb->comps);
	free(mb);
}

int mpc_mailbox_open(struct mpc_mailbox *mb, const uint8_t *id, size_t id_len)
{
	struct mb_comp *c = NULL;
	size_t i;
	int rc = CL_EBUSY;

	if (!mb || !mb_id_ok(id, id_len))
		return CL_EINVAL;
	pthread_mutex_lock(&mb->lock);
	if (mb_find(mb, id, id_len)) {
		rc = CL_EEXIST;
		goto out;
	}
	for (i = 0; i < mb->ncomps && !c; i++)
		if (!mb->comps[i].used)
			c = &mb->comps[i];
	if (!c)
		goto out;
	mb_comp_clear(c);
	c->used = 1;
	c->gen = ++mb->gen;
	memcpy(c->id, id, id_len);
	c->id_len = id_len;
	pthread_cond_broadcast(&mb->cond);
	rc = CL_OK;
out:
	pthread_mutex_unlock(&mb->lock);
	return rc;
}

void mpc_mailbox_close(struct mpc_mailbox *mb, const uint8_t *id, size_t id_len)
{
	struct mb_comp *c;

	if (!mb || !mb_id_ok(id, id_len))
		return;
	pthread_mutex_lock(&mb->lock);
	c = mb_find(mb, id, id_len);
	if (c) {
		mb_comp_clear(c);
		pthread_cond_broadcast(&mb->cond);
	}
	pthread_mutex_unlock(&mb->lock);
}

/* Waits until computation id is open; NULL once dl has passed. */
static struct mb_comp *mb_wait_open(struct mpc_mailbox *mb, const uint8_t *id, size_t len,
				    const struct timespec *dl)
{
	struct mb_comp *c;

	while (!(c = mb_find(mb, id, len)))
		if (mb_wait(mb, dl))
			return mb_find(mb, id, len);
	return c;
}

int mpc_mailbox_put(struct mpc_mailbox *mb, const uint8_t *id, size_t id_len, unsigned from,
		    uint64_t seq, const uint8_t *buf, size_t len, int64_t wait_ms,
		    uint64_t *expected)
{
	struct timespec dl = mb_deadline(wait_ms);
	struct mb_comp *c;
	struct mb_queue *q;
	struct mb_msg *m;
	uint64_t gen;
	int rc;

	if (!mb || !mb_id_ok(id, id_len) || from >= MPC_PARTIES || from == mb->self || !buf)
		return CL_EINVAL;
	if (len == 0 || len > mb->max_bytes || len > MPC_NET_MAX_MESSAGE)
		return CL_ELIMIT;
	m = malloc(sizeof(*m) + len);
	if (!m)
		return CL_ENOMEM;
	memcpy(m->data, buf, len);
	m->len = len;
	m->next = NULL;
	pthread_mutex_lock(&mb->lock);
	c = mb_wait_open(mb, id, id_len, &dl);
	rc = CL_ENOTFOUND;
	if (!c)
		goto out;
	gen = c->gen;
	q = &c->q[from];
	for (;;) {
		if (!c->used || c->gen != gen) {
			rc = CL_ENOTFOUND; /* closed while we waited */
			goto out;
		}
		if (c->failed) {
			rc = CL_ECANCELLED;
			goto out;
		}
		if (seq != q->next_seq) {
			if (expected)
				*expected = q->next_seq;
			rc = CL_EPROTO;
			goto out;
		}
		if (q->bytes + len <= mb->max_bytes)
			break;
		if (mb_wait(mb, &dl) && q->bytes + len > mb->max_bytes) {
			rc = CL_ETIMEOUT;
			goto out;
		}
	}
	if (q->tail)
		q->tail->next = m;
	else
		q->head = m;
	q->tail = m;
	q->bytes += len;
	q->next_seq++;
	m = NULL;
	pthread_cond_broadcast(&mb->cond);
	rc = CL_OK;
out:
	pthread_mutex_unlock(&mb->lock);
	if (m)
		mb_msg_free(m);
	return rc;
}

int mpc_mailbox_take(struct mpc_mailbox *mb, const uint8_t *id, size_t id_len, unsigned from,
		     void *buf, size_t len, int64_t wait_ms, unsigned *who)
{
	struct timespec dl = mb_deadline(wait_ms);
	struct mb_comp *c;
	struct mb_queue *q;
	struct mb_msg *m = NULL;
	uint64_t gen;
	int rc;

	if (!mb || !mb_id_ok(id, id_len) || from >= MPC_PARTIES || from == mb->self ||
	    (!buf && len))
		return CL_EINVAL;
	pthread_mutex_lock(&mb->lock);
	c = mb_find(mb, id, id_len);
	rc = CL_ENOTFOUND;
	if (!c)
		goto out;
	gen = c->gen;
	q = &c->q[from];
	for (;;) {
		if (!c->used || c->gen != gen) {
			rc = CL_ENOTFOUND;
			goto out;
		}
		if (c->failed) {
			if (who)
				*who = c->failed_by;
			rc = c->failed;
			goto out;
		}
		if (q->head)
			break;
		if (mb_wait(mb, &dl) && !q->head && !c->failed) {
			rc = CL_ETIMEOUT;
			goto out;
		}
	}
	m = q->head;
	q->head = m->next;
	if (!q->head)
		q->tail = NULL;
	q->bytes -= m->len;
	pthread_cond_broadcast(&mb->cond);
	if (m->len != len) {
		/* The schedules disagree: nothing after this message can be trusted either. */
		c->failed = CL_EPROTO;
		c->failed_by = from;
		if (who)
			*who = from;
		rc = CL_EPROTO;
		goto out;
	}
	memcpy(buf, m->data, len);
	rc = CL_OK;
out:
	pthread_mutex_unlock(&mb->lock);
	if (m)
		mb_msg_free(m);
	return rc;
}

int mpc_mailbox_fail(struct mpc_mailbox *mb, const uint8_t *id, size_t id_len, unsigned who,
		     int code)
{
	struct mb_comp *c;
	int rc = CL_ENOTFOUND;

	if (!mb || !mb_id_ok(id, id_len) || who >= MPC_PARTIES || code >= 0)
		return CL_EINVAL;
	pthread_mutex_lock(&mb->lock);
	c = mb_find(mb, id, id_len);
	if (c) {
		if (!c->failed) {
			c->failed = code;
			c->failed_by = who;
		}
		pthread_cond_broadcast(&mb->cond);
		rc = CL_OK;
	}
	pthread_mutex_unlock(&mb->lock);
	return rc;
}

void mpc_mailbox_fail_all(struct mpc_mailbox *mb, unsigned who, int code)
{
	size_t i;

	if (!mb || who >= MPC_PARTIES || code >= 0)
		return;
	pthread_mutex_lock(&mb->lock);
	for (i = 0; i < mb->ncomps; i++)
		if (mb->comps[i].used && !mb->comps[i].failed) {
			mb->comps[i].failed = code;
			mb->comps[i].failed_by = who;
		}
	pthread_cond_broadcast(&mb->cond);
	pthread_mutex_unlock(&mb->lock);
}

size_t mpc_mailbox_open_count(struct mpc_mailbox *mb)
{
	size_t i, n = 0;

	if (!mb)
		return 0;
	pthread_mutex_lock(&mb->lock);
	for (i = 0; i < mb->ncomps; i++)
		n += mb->comps[i].used != 0;
	pthread_mutex_unlock(&mb->lock);
	return n;
}
