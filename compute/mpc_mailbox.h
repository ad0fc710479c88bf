/*
 * mpc_mailbox — what one party has received from its two peers and not yet
 * read, per computation: the receiving half of the network transport
 * (compute/mpc_rpc.c) without the network, so that its rules can be tested
 * alone.
 *
 * A computation is opened by its owner (the party that runs it), then
 * messages are put by the transport's Exchange handler and taken by the
 * engine's recv. Messages from one peer must come with sequence numbers 0,
 * 1, 2, ... without gap or repeat; anything else is refused and leaves the
 * mailbox as it was. The bytes queued from one peer in one computation are
 * bounded: a put waits for room (the sender's backpressure). A failed
 * computation (a peer gave up, the party drains, a deadline passed) wakes
 * every waiter. Thread-safe; payloads are wiped when dropped.
 */
#ifndef CASELINK_COMPUTE_MPC_MAILBOX_H
#define CASELINK_COMPUTE_MPC_MAILBOX_H

#include <stddef.h>
#include <stdint.h>

#define MPC_MAILBOX_ID_MIN    16 /* bytes of a computation id */
#define MPC_MAILBOX_ID_MAX    32
#define MPC_MAILBOX_COMPS_MAX 64 /* computations open at once, at most */

struct mpc_mailbox;

/*
 * Creates the mailbox of party self (0..2) holding at most max_comps open
 * computations (1..MPC_MAILBOX_COMPS_MAX) and at most max_bytes queued bytes
 * per computation and peer (at least one largest message, MPC_NET_MAX_MESSAGE).
 */
int mpc_mailbox_new(unsigned self, size_t max_comps, size_t max_bytes, struct mpc_mailbox **out);

/* Frees the mailbox and every queued message; no call may be running. NULL is allowed. */
void mpc_mailbox_free(struct mpc_mailbox *mb);

/*
 * Opens computation id (MPC_MAILBOX_ID_MIN..MAX bytes). CL_EEXIST when it is
 * open already, CL_EBUSY when max_comps are open, CL_EINVAL for a bad id.
 */
int mpc_mailbox_open(struct mpc_mailbox *mb, const uint8_t *id, size_t id_len);

/* Closes computation id, dropping what is queued and waking its waiters. Unknown ids are ignored.
 */
void mpc_mailbox_close(struct mpc_mailbox *mb, const uint8_t *id, size_t id_len);

/*
 * Queues message seq of party `from` (a peer, not self) in computation id,
 * waiting up to wait_ms for the computation to be opened and for room.
 * Returns CL_OK; CL_ENOTFOUND when the computation was not open in time;
 * CL_EPROTO when seq is not the next expected one (*expected gets it);
 * CL_ELIMIT when len is 0 or larger than the mailbox's bound; CL_ETIMEOUT
 * when no room came; CL_ECANCELLED when the computation has failed.
 * expected may be NULL.
 */
int mpc_mailbox_put(struct mpc_mailbox *mb, const uint8_t *id, size_t id_len, unsigned from,
		    uint64_t seq, const uint8_t *buf, size_t len, int64_t wait_ms,
		    uint64_t *expected);

/*
 * Takes the next message from party `from` into buf, which must be exactly
 * len bytes long, waiting up to wait_ms. Returns CL_OK; CL_EPROTO when the
 * message has another length (it is dropped and the computation fails);
 * CL_ETIMEOUT; the failure code when the computation has failed (*who gets
 * the party that caused it); CL_ENOTFOUND when it is not open. who may be NULL.
 */
int mpc_mailbox_take(struct mpc_mailbox *mb, const uint8_t *id, size_t id_len, unsigned from,
		     void *buf, size_t len, int64_t wait_ms, unsigned *who);

/*
 * Fails computation id because of party who with code (e.g. CL_EUNAVAIL):
 * every waiting and later take returns code, every put CL_ECANCELLED. The
 * first failure is kept. Returns CL_ENOTFOUND when it is not open.
 */
int mpc_mailbox_fail(struct mpc_mailbox *mb, const uint8_t *id, size_t id_len, unsigned who,
		     int code);

/* Fails every open computation as mpc_mailbox_fail does (the party is draining). */
void mpc_mailbox_fail_all(struct mpc_mailbox *mb, unsigned who, int code);

/* The number of open computations. */
size_t mpc_mailbox_open_count(struct mpc_mailbox *mb);

#endif
