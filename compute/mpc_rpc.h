/*
 * mpc_rpc — the network transport of struct mpc_net between the three parties
 * of a secure computation, over the gRPC adapter (protocol/rpc.h):
 * party 0 inside the coordinator, parties 1 and 2 in caselink-compute
 * daemons. See docs/transport.md ("Between the three parties").
 *
 * Every party serves the unary method Compute.Exchange (mpc_rpc_register on
 * its own rpc_server). A send is one Exchange call to the receiving party,
 * carrying (computation id, from, to, seq, bytes): the receiver checks the
 * sender's certificate (role coordinator for party 0, compute for 1 and 2,
 * and the CN configured for that party number), the sequence number (0, 1,
 * 2, ... per computation and pair, no gap, no repeat) and the size
 * (1..MPC_NET_MAX_MESSAGE), then queues the bytes in a bounded mailbox
 * (compute/mpc_mailbox.h) where recv takes them. The sender's channel checks
 * the receiver's certificate the same way. A send returns once the peer has
 * queued the message (one round trip), so messages arrive in order.
 *
 * Failures name the party: a peer that is down or unreachable gives
 * CL_EUNAVAIL, a hung one CL_ETIMEOUT, a restarted one (it no longer runs the
 * computation) CL_EUNAVAIL; a malformed or out-of-sequence message CL_EPROTO.
 * A party that gives a computation up tells both peers (an abort message),
 * whose recv then fails at once with CL_EUNAVAIL naming it.
 */
#ifndef CASELINK_COMPUTE_MPC_RPC_H
#define CASELINK_COMPUTE_MPC_RPC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "compute/mpc_net.h"
#include "protocol/caselink.pb-c.h"
#include "protocol/rpc.h"

#define MPC_RPC_ADDR_MAX	 128		    /* bytes of host:port, with the NUL */
#define MPC_RPC_TIMEOUT_DEFAULT	 30000u		    /* ms to wait for one message or send */
#define MPC_RPC_COMPS_DEFAULT	 4u		    /* computations open at once */
#define MPC_RPC_BUFFERED_DEFAULT (64u << 20)	    /* bytes queued per computation and peer */
#define MPC_RPC_WHY_MAX		 RPC_STATUS_MSG_MAX /* bytes of a failure's description */
#define MPC_RPC_MSG_OVERHEAD	 256u		    /* Exchange bytes beyond the payload, at most */

/* One party as the others know it. */
struct mpc_rpc_party {
	char id[RPC_PEER_ID_MAX + 1];	/* its certificate CN */
	char address[MPC_RPC_ADDR_MAX]; /* where it serves Compute.Exchange ("" for self) */
};

struct mpc_rpc_config {
	unsigned self;				   /* this party's number: 0, 1 or 2 */
	struct mpc_rpc_party parties[MPC_PARTIES]; /* indexed by party number */
	struct rpc_tls tls;			   /* this party's TLS material (PEM) */
	bool insecure_demo;			   /* no TLS, no identity checks: demo only */
	unsigned timeout_ms;	   /* default per-message wait (0: MPC_RPC_TIMEOUT_DEFAULT) */
	unsigned max_computations; /* open at once (0: MPC_RPC_COMPS_DEFAULT) */
	size_t max_buffered;	   /* queued bytes per computation and peer (0: default) */
};

/* One party's transport: channels to its two peers and its mailbox. */
struct mpc_rpc;
/* One computation at this party. */
struct mpc_rpc_run;

/* Creates the transport of party cfg->self (cfg and the PEM texts are copied). */
int mpc_rpc_new(const struct mpc_rpc_config *cfg, struct mpc_rpc **out);

/* Frees the transport; every run must have ended. NULL is allowed. */
void mpc_rpc_free(struct mpc_rpc *t);

/*
 * Registers Compute.Exchange on srv (before rpc_server_start), open to the
 * coordinator and compute roles; the handler checks the rest. srv must use at
 * least two more workers than computations can run at once.
 */
int mpc_rpc_register(struct mpc_rpc *t, struct rpc_server *srv);

/*
 * Begins computation id (16..32 bytes) at this party: its mailbox opens and
 * *out is the run whose mpc_rpc_net is the engine's channel. timeout_ms is the
 * wait for one message or send (0: the transport's default). CL_EEXIST when
 * the id runs already, CL_EBUSY when too many computations run.
 */
int mpc_rpc_begin(struct mpc_rpc *t, const uint8_t *id, size_t id_len, unsigned timeout_ms,
		  struct mpc_rpc_run **out);

/* The run's channel to the two other parties, for the engine (valid until mpc_rpc_end). */
struct mpc_net *mpc_rpc_net(struct mpc_rpc_run *r);

/*
 * The run's first failure: its CL_E* code (0 when none), the party it names in
 * *party (may be NULL) and a description naming it in why ("party 2 (cp-2):
 * ..."; may be NULL).
 */
int mpc_rpc_failure(const struct mpc_rpc_run *r, unsigned *party, char *why, size_t whysz);

/*
 * Fails the run from outside the engine (a deadline of the caller, a party
 * whose control call failed): its blocked and later recv and send return
 * code, and the peers other than `party` are told at once (abort message).
 * why is the failure's description naming party ("party 2 (cp-2): ..."); NULL
 * says that party stopped the computation. The first failure is kept.
 */
void mpc_rpc_cancel(struct mpc_rpc_run *r, unsigned party, int code, const char *why);

/*
 * Ends the run with the engine's result (0 or a CL_E* code). On failure the
 * peers that did not cause it are told (abort message, best effort) so that
 * they stop waiting. Frees r; NULL is allowed.
 */
void mpc_rpc_end(struct mpc_rpc_run *r, int result);

/*
 * Checks a received Exchange message for party self, before its sender's
 * certificate (the handler's) and its sequence (the mailbox's): schema
 * version, party numbers, computation id (16..32 bytes), payload size
 * (1..MPC_NET_MAX_MESSAGE; none with abort). Returns RPC_OK or the refusal's
 * status with a message in why.
 */
enum rpc_code mpc_rpc_exchange_check(const Caselink__V1__ComputeExchange *m, unsigned self,
				     char *why, size_t whysz);

/* The certificate name configured for party p ("-" when none). */
const char *mpc_rpc_party_id(const struct mpc_rpc *t, unsigned p);

/* Fails every running computation of t with code (the party is draining). */
void mpc_rpc_cancel_all(struct mpc_rpc *t, int code);

#endif
