/*
 * mpc_net — message splitting and the in-process transport (see mpc_net.h).
 */
#include "compute/mpc_net.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>

#include "common/cl_error.h"

int mpc_net_send(struct mpc_net *net, unsigned to, const void *buf, size_t len)
{
	const unsigned char *p = buf;

	if (net == NULL || to >= MPC_PARTIES || to == net->self || (buf == NULL && len > 0))
		return CL_EINVAL;
	while (len > 0) {
		size_t n = len < MPC_NET_MAX_MESSAGE ? len : MPC_NET_MAX_MESSAGE;
		int rc = net->ops->send(net->ctx, to, p, n);

		if (rc != 0)
			return rc;
		net->bytes_sent += n;
		net->messages_sent++;
		p += n;
		len -= n;
	}
	return 0;
}

int mpc_net_recv(struct mpc_net *net, unsigned from, void *buf, size_t len)
{
	unsigned char *p = buf;

	if (net == NULL || from >= MPC_PARTIES || from == net->self || (buf == NULL && len > 0))
		return CL_EINVAL;
	while (len > 0) {
		size_t n = len < MPC_NET_MAX_MESSAGE ? len : MPC_NET_MAX_MESSAGE;
		int rc = net->ops->recv(net->ctx, from, p, n);

		if (rc != 0)
			return rc;
		p += n;
		len -= n;
	}
	return 0;
}

/* ---- in-process transport ---- */

struct lmsg {
	struct lmsg *next;
	size_t len;
	unsigned char data[];
};

struct lqueue {
	struct lmsg *head, *tail;
};

struct lparty {
	struct mpc_net net;
	struct mpc_net_local *loc;
};

struct mpc_net_local {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int failed;
	unsigned timeout_ms;
	struct lqueue q[MPC_PARTIES][MPC_PARTIES]; /* [from][to] */
	struct lparty party[MPC_PARTIES];
};

static int local_send(void *ctx, unsigned to, const void *buf, size_t len)
{
	struct lparty *lp = ctx;
	struct mpc_net_local *loc = lp->loc;
	struct lqueue *q;
	struct lmsg *m;

	if (len == 0 || len > MPC_NET_MAX_MESSAGE)
		return CL_EINVAL;
	m = malloc(sizeof(*m) + len);
	if (m == NULL)
		return CL_ENOMEM;
	m->next = NULL;
	m->len = len;
	memcpy(m->data, buf, len);
	pthread_mutex_lock(&loc->mu);
	if (loc->failed) {
		pthread_mutex_unlock(&loc->mu);
		free(m);
		return CL_EUNAVAIL;
	}
	q = &loc->q[lp->net.self][to];
	if (q->tail != NULL)
		q->tail->next = m;
	else
		q->head = m;
	q->tail = m;
	pthread_cond_broadcast(&loc->cv);
	pthread_mutex_unlock(&loc->mu);
	return 0;
}

static void deadline_in(struct timespec *ts, unsigned ms)
{
	clock_gettime(CLOCK_REALTIME, ts);
	ts->tv_sec += ms / 1000;
	ts->tv_nsec += (long)(ms % 1000) * 1000000L;
	if (ts->tv_nsec >= 1000000000L) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000L;
	}
}

static int local_recv(void *ctx, unsigned from, void *buf, size_t len)
{
	struct lparty *lp = ctx;
	struct mpc_net_local *loc = lp->loc;
	struct lqueue *q = &loc->q[from][lp->net.self];
	struct timespec ts;
	struct lmsg *m;
	int rc = 0;

	deadline_in(&ts, loc->timeout_ms);
	pthread_mutex_lock(&loc->mu);
	while (q->head == NULL && !loc->failed && rc != ETIMEDOUT)
		rc = pthread_cond_timedwait(&loc->cv, &loc->mu, &ts);
	if (q->head == NULL) {
		pthread_mutex_unlock(&loc->mu);
		return loc->failed ? CL_EUNAVAIL : CL_ETIMEOUT;
	}
	m = q->head;
	q->head = m->next;
	if (q->head == NULL)
		q->tail = NULL;
	pthread_mutex_unlock(&loc->mu);
	rc = m->len == len ? 0 : CL_EPROTO;
	if (rc == 0)
		memcpy(buf, m->data, len);
	OPENSSL_cleanse(m->data, m->len);
	free(m);
	return rc;
}

static const struct mpc_net_ops local_ops = {.send = local_send, .recv = local_recv};

int mpc_net_local_new(struct mpc_net_local **out, struct mpc_net *nets[MPC_PARTIES],
		      unsigned timeout_ms)
{
	struct mpc_net_local *loc;

	if (out == NULL || nets == NULL)
		return CL_EINVAL;
	loc = calloc(1, sizeof(*loc));
	if (loc == NULL)
		return CL_ENOMEM;
	pthread_mutex_init(&loc->mu, NULL);
	pthread_cond_init(&loc->cv, NULL);
	loc->timeout_ms = timeout_ms != 0 ? timeout_ms : 60000;
	for (unsigned i = 0; i < MPC_PARTIES; i++) {
		loc->party[i].loc = loc;
		loc->party[i].net.ops = &local_ops;
		loc->party[i].net.ctx = &loc->party[i];
		loc->party[i].net.self = i;
		nets[i] = &loc->party[i].net;
	}
	*out = loc;
	return 0;
}

void mpc_net_local_fail(struct mpc_net_local *loc)
{
	if (loc == NULL)
		return;
	pthread_mutex_lock(&loc->mu);
	loc->failed = 1;
	pthread_cond_broadcast(&loc->cv);
	pthread_mutex_unlock(&loc->mu);
}

void mpc_net_local_free(struct mpc_net_local *loc)
{
	if (loc == NULL)
		return;
	for (unsigned i = 0; i < MPC_PARTIES; i++) {
		for (unsigned j = 0; j < MPC_PARTIES; j++) {
			struct lmsg *m = loc->q[i][j].head;

			while (m != NULL) {
				struct lmsg *next = m->next;

				OPENSSL_cleanse(m->data, m->len);
				free(m);
				m = next;
			}
		}
	}
	pthread_cond_destroy(&loc->cv);
	pthread_mutex_destroy(&loc->mu);
	free(loc);
}

struct run_arg {
	int (*fn)(struct mpc_net *net, void *ctx);
	struct mpc_net *net;
	void *ctx;
	struct mpc_net_local *loc;
	int rc;
};

static void *run_party(void *arg)
{
	struct run_arg *a = arg;

	a->rc = a->fn(a->net, a->ctx);
	if (a->rc != 0)
		mpc_net_local_fail(a->loc);
	return NULL;
}

int mpc_net_local_run(int (*fn)(struct mpc_net *net, void *ctx), void *const ctx[MPC_PARTIES],
		      unsigned timeout_ms)
{
	struct mpc_net *nets[MPC_PARTIES];
	struct run_arg arg[MPC_PARTIES];
	pthread_t th[MPC_PARTIES];
	struct mpc_net_local *loc;
	int started[MPC_PARTIES] = {0}, rc;

	if (fn == NULL || ctx == NULL)
		return CL_EINVAL;
	rc = mpc_net_local_new(&loc, nets, timeout_ms);
	if (rc != 0)
		return rc;
	for (unsigned i = 0; i < MPC_PARTIES; i++) {
		arg[i] = (struct run_arg){.fn = fn, .net = nets[i], .ctx = ctx[i], .loc = loc};
		started[i] = pthread_create(&th[i], NULL, run_party, &arg[i]) == 0;
		if (!started[i]) {
			arg[i].rc = CL_ENOMEM;
			mpc_net_local_fail(loc);
		}
	}
	for (unsigned i = 0; i < MPC_PARTIES; i++)
		if (started[i])
			pthread_join(th[i], NULL);
	rc = 0;
	for (unsigned i = 0; i < MPC_PARTIES && rc == 0; i++)
		if (arg[i].rc != 0 && arg[i].rc != CL_EUNAVAIL)
			rc = arg[i].rc;
	for (unsigned i = 0; i < MPC_PARTIES && rc == 0; i++)
		rc = arg[i].rc;
	mpc_net_local_free(loc);
	return rc;
}
