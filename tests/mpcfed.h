/*
 * mpcfed — shared harness of the measure-circuit tests (test_mpc_m4, _m5, _m6): a plaintext
 * federation kept both as the test's own copy and as the reference engine's input
 * (coordinator/measures.c), the cluster layout built from it as the coordinator will (slots
 * of the chosen events and records grouped by linked person, ordered by agency id then the
 * node's order, clusters padded to powers of two and grouped by size), running the three
 * parties on threads, and the exact comparison with the reference's rows. Test code only:
 * failures are CMocka assertions.
 */
#ifndef CASELINK_TESTS_MPCFED_H
#define CASELINK_TESTS_MPCFED_H

#include <stddef.h>
#include <stdint.h>

#include "compute/mpc_measures.h"
#include "compute/mpc_net.h"
#include "coordinator/measures.h"
#include "synthfed.h"

#define MPCFED_MAXMUNI 64

struct mpcfed_rec {
	uint32_t node, person;
	int sex; /* VOCAB_SEX index: F, M, X, U */
	char agency[64], muni[64];
};

struct mpcfed_ev {
	uint32_t rec;
	int64_t t;
	int type, role, threat, age; /* vocabulary indexes; threat, age -1 when absent */
	char muni[64];		     /* the node's when the event has none */
};

struct mpcfed {
	struct mpcfed_rec *recs;
	struct mpcfed_ev *evs;
	size_t nrec, nev;
	struct measures_input *ref;
	char munis[MPCFED_MAXMUNI][64];
	size_t nmunis;
};

struct mpcfed *mpcfed_new(void);
void mpcfed_free(struct mpcfed *f);

/* Adds a record (sex 'F', 'M', 'X' or 'U') to both copies; returns its index. */
size_t mpcfed_record(struct mpcfed *f, uint32_t node, uint32_t person, const char *agency,
		     const char *type, const char *muni, char sex);

/* Adds an event to both copies. */
void mpcfed_event(struct mpcfed *f, size_t rec, const struct measures_event *e);

/* Adds an event with no risk, threat or age. */
void mpcfed_ev(struct mpcfed *f, size_t rec, const char *type, int64_t t, const char *role,
	       const char *muni);

/* The index of a municipality in the query's list (added when new). */
size_t mpcfed_muni(struct mpcfed *f, const char *name);

/* Generates `caselink synth <args>` under name and loads it; *from, *to its default period. */
void mpcfed_load_synth(struct mpcfed *f, const char *name, const char *args, int64_t *from,
		       int64_t *to);

/* A slot: an event (ev >= 0) or a record's own slot (ev < 0, rec). */
struct mpcfed_item {
	uint32_t person, rec;
	int64_t ev;
};

/* The layout: buckets, and per bucket slot the index of its item (-1: padding). */
struct mpcfed_layout {
	struct mpc_bucket shape[MPC_MAX_BUCKETS];
	int64_t *slot[MPC_MAX_BUCKETS];
	size_t nb;
	struct mpcfed_item *items;
	size_t nitems;
	int64_t base; /* time 0 of the shares: the earliest event of the federation */
};

/*
 * Builds the layout of the events for which want(ctx, f, ev) is non-zero, plus one slot per
 * record of every person concerned when record_slots (a record's slot sorts after its events).
 */
void mpcfed_layout(const struct mpcfed *f,
		   int (*want)(void *ctx, const struct mpcfed *f, size_t ev), void *ctx,
		   int record_slots, struct mpcfed_layout *l);
void mpcfed_layout_free(struct mpcfed_layout *l);

/* The slot's item, or NULL for padding. */
const struct mpcfed_item *mpcfed_slot(const struct mpcfed_layout *l, size_t bucket, size_t k);

/* Sets bit k of a plane. */
void mpcfed_setbit(uint64_t *plane, size_t k);

/* Runs fn as the three parties on threads (each gets ctx) and asserts success. */
void mpcfed_run(int (*fn)(struct mpc_net *net, void *ctx), void *ctx);

/*
 * Computes the reference's rows of measure over [from, to), keeps those whose metric is one of
 * metrics (NULL-terminated), and asserts they equal got's lines as sets (at least one line).
 */
void mpcfed_compare(struct mpcfed *f, int measure, int64_t from, int64_t to,
		    const char *const *metrics, struct synthfed_rows *got, const char *what);

/* Appends "key,metric,value" (key may hold commas) to r. */
void mpcfed_add(struct synthfed_rows *r, const char *key, const char *metric, uint64_t v);

/* Seconds of a UTC date and time. */
int64_t mpcfed_at(int y, int mo, int d, int h, int mi, int s);

/* Every byte each party received in one run, message by message (see mpcfed_run_capture). */
struct mpcfed_capture {
	uint8_t *bytes[MPC_PARTIES];
	size_t len[MPC_PARTIES], cap[MPC_PARTIES];
	size_t *msg[MPC_PARTIES]; /* message lengths, in order */
	size_t nmsg[MPC_PARTIES], msgcap[MPC_PARTIES];
};

/* As mpcfed_run, recording what each party receives into *cap (zero-initialised). */
void mpcfed_run_capture(int (*fn)(struct mpc_net *net, void *ctx), void *ctx,
			struct mpcfed_capture *cap);
void mpcfed_capture_free(struct mpcfed_capture *cap);

/*
 * Asserts what a computing party (1 or 2) received in run a looks uniformly random: its bits
 * are ones within 6 standard deviations of half, and no 8-byte word at the same offset equals
 * run b's; and that runs a and b exchanged the same sequence of message lengths (the shape,
 * not the data, decides the communication). Returns the bytes party received in a.
 */
size_t mpcfed_capture_check(const struct mpcfed_capture *a, const struct mpcfed_capture *b,
			    unsigned party);

#endif
