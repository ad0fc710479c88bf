/*
 * mpc_net — the messages between the three computing parties of one computation.
 *
 * The engine (mpc_share, mpc_circuit, ...) talks to the two other parties only
 * through a struct mpc_net: an ordered, reliable, authenticated byte channel to
 * each peer. Whoever runs a party supplies the channel: the in-process one
 * below (three threads, for tests and benchmarks) or the daemons' network
 * transport (mutual TLS between parties, authenticated by certificate role).
 *
 * Parties are numbered 0 (the coordinator), 1 and 2. Messages from one party to
 * another arrive in the order they were sent. Every message is at most
 * MPC_NET_MAX_MESSAGE bytes; mpc_net_send and mpc_net_recv split longer buffers
 * into such messages, so a transport never sees a longer one. Both sides of a
 * channel always know the length of the next message (the engine's schedule is
 * the same at every party), so a message of another length is a protocol error.
 */
#ifndef CASELINK_COMPUTE_MPC_NET_H
#define CASELINK_COMPUTE_MPC_NET_H

#include <stddef.h>
#include <stdint.h>

#define MPC_PARTIES	    3
#define MPC_NET_MAX_MESSAGE (4u << 20) /* bytes of one transport message */

/* What a transport provides. Both functions return 0 or a negative CL_E* code. */
struct mpc_net_ops {
	/* Sends len (1..MPC_NET_MAX_MESSAGE) bytes to party `to`. May return before delivery. */
	int (*send)(void *ctx, unsigned to, const void *buf, size_t len);
	/*
	 * Receives the next message from party `from` into buf. The message must be exactly
	 * len bytes long (CL_EPROTO otherwise). Blocks until it arrives, the peer fails
	 * (CL_EUNAVAIL) or the transport's deadline passes (CL_ETIMEOUT).
	 */
	int (*recv)(void *ctx, unsigned from, void *buf, size_t len);
};

/* One party's view of the channels. */
struct mpc_net {
	const struct mpc_net_ops *ops;
	void *ctx;
	unsigned self; /* this party's number, 0..2 */
	uint64_t bytes_sent;
	uint64_t messages_sent;
};

/* Sends len bytes to party `to`, split into transport messages. 0 bytes sends nothing. */
int mpc_net_send(struct mpc_net *net, unsigned to, const void *buf, size_t len);

/* Receives len bytes from party `from`, as mpc_net_send split them. */
int mpc_net_recv(struct mpc_net *net, unsigned from, void *buf, size_t len);

/*
 * The in-process transport: three parties in one process, usually one thread each.
 * mpc_net_local_new creates the channels and writes the three parties' views to nets[0..2];
 * they stay valid until mpc_net_local_free. recv waits at most timeout_ms (0: 60 s).
 * mpc_net_local_fail makes every blocked and later recv of every party return CL_EUNAVAIL
 * (a party that gave up), so the others do not wait for it forever.
 */
struct mpc_net_local;
int mpc_net_local_new(struct mpc_net_local **out, struct mpc_net *nets[MPC_PARTIES],
		      unsigned timeout_ms);
void mpc_net_local_fail(struct mpc_net_local *loc);
void mpc_net_local_free(struct mpc_net_local *loc);

/*
 * Runs fn for the three parties on three threads over a fresh in-process transport and
 * waits for them: fn(net, ctx[i]) for party i. When a party's fn fails the transport is
 * failed, so the others stop too. Returns 0 when all three returned 0, else the first
 * non-zero return in party order other than the CL_EUNAVAIL the failure caused.
 */
int mpc_net_local_run(int (*fn)(struct mpc_net *net, void *ctx), void *const ctx[MPC_PARTIES],
		      unsigned timeout_ms);

#endif
