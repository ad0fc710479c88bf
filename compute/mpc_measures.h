/*
 * mpc_measures — the measure circuits over shares laid out by linked person.
 *
 * The layout is public to the three parties: slots grouped into clusters (one cluster
 * per linked person), every cluster padded to a size bucket, the clusters of one bucket
 * side by side (slot j of cluster c of a bucket of size s is element c·s + j of that
 * bucket's vectors). Within a cluster, slots are ordered by the tie-break of the measures
 * (agency id, then the node's order of events), so a slot's position is the tie-break
 * key. Which node a slot came from and which person a cluster is stays with P0, the
 * coordinator, which built the layout (docs/secure-computation.md, "Layout").
 */
#ifndef CASELINK_COMPUTE_MPC_MEASURES_H
#define CASELINK_COMPUTE_MPC_MEASURES_H

#include <stddef.h>
#include <stdint.h>

#include "compute/mpc_share.h"

#define MPC_MAX_BUCKETS	    16		/* size buckets 1, 2, 4, ..., 2^15 */
#define MPC_MAX_BUCKET_SIZE 32768	/* slots of one cluster */
#define MPC_MAX_MUNIS	    256		/* municipalities of one query */
#define MPC_T_NONE	    0x7fffffffu /* time of a slot that takes no part (never chains) */
#define MPC_H72		    259200u	/* 72 hours in seconds */

/* One size bucket of the layout: `clusters` clusters of `size` slots each. */
struct mpc_bucket {
	uint32_t size;
	uint32_t clusters;
};

/*
 * M2 inputs of one bucket (n = clusters · size slots), shares:
 * t        seconds since the window's start for a victim-role incident event,
 *          MPC_T_NONE for any other slot (other events, padding);
 * inc      one plane: the slot is a victim-role incident event;
 * inper    one plane: inc and the event lies in the period [from, to);
 * after    one plane: inc and the event lies at or after `to`;
 * muni     nmunis planes: the event's municipality, one-hot (zero for other slots);
 * samenode size − 1 planes (P0 knows it): plane q − 1, element c·s + j, is 1 when slots j
 *          and (j + q) mod s of cluster c come from the same node.
 */
struct mpc_m2_bucket {
	struct mpc_a t;
	struct mpc_b inc, inper, after, muni, samenode;
};

/* The M2 counts of one municipality (docs/measures-engine.md: the reference engine). */
struct mpc_m2_counts {
	uint64_t victims, repeat_victims, repeat_victim_episodes, hidden_repeats;
};

/*
 * Computes M2's counts per municipality of the victim's first in-period episode and opens
 * them to party 0 only: out[m] for m < nmunis at party 0 (the others pass NULL). Episodes
 * chain incident events within 72 h inclusive, ties broken by slot position, as the
 * reference does; hidden repeats: no node holds two of the in-period episodes.
 * CL_EINVAL for a layout that does not match the inputs, CL_ELIMIT beyond the MPC_MAX_*.
 */
int mpc_m2(struct mpc_party *p, const struct mpc_bucket *buckets, size_t nbuckets, size_t nmunis,
	   const struct mpc_m2_bucket *in, struct mpc_m2_counts *out);

/* ---- M4 service_uptake ---- */

#define MPC_M4_NSUPPORT 8	 /* support event types: intake .. child_welfare_case_opened */
#define MPC_D30		2592000u /* 30 days in seconds */

/*
 * M4 inputs of one bucket (n = clusters · size slots), shares. A cluster holds the linked
 * person's victim-role police incidents in the period and support events (any role, any
 * agency; the node may leave out those outside [from, to + 30 d]), in the tie-break order.
 * The node sends exactly these columns per slot:
 * t        seconds since the window's start of either kind of slot, MPC_T_NONE for padding;
 * police   one plane: a victim-role police_callout or crime_report in the period [from, to);
 * support  MPC_M4_NSUPPORT planes: plane k is 1 when the slot is a support event of the k-th
 *          support type (vocabulary order from intake); zero for police slots and padding;
 * muni     nmunis planes: for police slots the event's municipality one-hot (the node's
 *          when the event has none), zero otherwise.
 */
struct mpc_m4_bucket {
	struct mpc_a t;
	struct mpc_b police, support, muni;
};

/* The M4 counts of one municipality: with_support[0] any type, [k] the k-th type. */
struct mpc_m4_counts {
	uint64_t victims, with_support[MPC_M4_NSUPPORT + 1];
};

/*
 * Computes M4's counts per municipality of the victim's first police incident in the
 * period (ties by slot position) and opens them to party 0 only: out[m] for m < nmunis at
 * party 0 (the others pass NULL). A support event counts when t0 <= t <= t0 + 30 d.
 * CL_EINVAL for a layout that does not match the inputs, CL_ELIMIT beyond the MPC_MAX_*.
 */
int mpc_m4(struct mpc_party *p, const struct mpc_bucket *buckets, size_t nbuckets, size_t nmunis,
	   const struct mpc_m4_bucket *in, struct mpc_m4_counts *out);

/* ---- M5 programme_outcomes ---- */

#define MPC_D365 31536000u /* 365 days in seconds */

/*
 * M5 inputs of one bucket (n = clusters · size slots), shares. A cluster holds the linked
 * person's programme ends in the period and perpetrator-role incident events (those with
 * from − 72 h <= t < to suffice: only an observable end, whose 365 days close before `to`,
 * can count a re-offence, and an episode start depends on the 72 h before it), in the
 * tie-break order. The node sends exactly these columns per slot:
 * t     seconds since the window's start, MPC_T_NONE for padding;
 * perp  one plane: a perpetrator-role incident event;
 * end   2 planes: plane 0 a programme_completed, plane 1 a programme_dropped in the period
 *       (any role); zero for other slots.
 */
struct mpc_m5_bucket {
	struct mpc_a t;
	struct mpc_b perp, end;
};

/* The M5 counts of one outcome (0 completed, 1 dropped); not_yet_observable is the rest. */
struct mpc_m5_counts {
	uint64_t perpetrators, observable, reoffended;
};

/*
 * Computes M5's counts per outcome and opens them to party 0 only: out[0], out[1] at party 0
 * (the others pass NULL). to_rel is the period's end in seconds since the window's start
 * (public, below 2^30). Per person and outcome the earliest end counts; observable when
 * end + 365 d < to; re-offended when a perpetrator episode (incidents chained within 72 h,
 * ties by slot position) starts in [end, end + 365 d]. CL_EINVAL for a layout that does not
 * match the inputs, CL_ELIMIT beyond the MPC_MAX_*.
 */
int mpc_m5(struct mpc_party *p, const struct mpc_bucket *buckets, size_t nbuckets, uint32_t to_rel,
	   const struct mpc_m5_bucket *in, struct mpc_m5_counts out[2]);

/* ---- M6 children_affected ---- */

#define MPC_M6_BANDS   7 /* 0-3 4-6 7-9 10-14 15-17 18+ unknown */
#define MPC_M6_SEXES   4 /* F M X U */
#define MPC_M6_THREATS 4 /* 0 1 2 unassessed */
#define MPC_M6_TDAYS   6 /* day thresholds of an event date for ages 0, 4, 7, 10, 15, 18 */

/*
 * M6 inputs of one bucket (n = clusters · size slots), shares. A cluster holds the linked
 * person's child-role events in the period, events in the period with a child threat level
 * (any role), and one slot per record of the person (after the record's events). Birth
 * dates enter as the reference engine (coordinator/measures.c) reads them: each record's
 * interval (lo, hi] of birth keys (year·10000 + month·100 + day) that its events' ages allow,
 * which the node computes from its own events; the person's range is then found in the
 * circuit (the earliest range most records agree on) and the band at the first child event
 * is decided as the reference does, its middle date included. No age in years is input,
 * but this is more than the band a node could compute alone: the reference's consensus over
 * records that disagree needs each record's interval and the first child event's date (as
 * shares; no party sees them). A band computed by the node from its own record would differ
 * from the reference whenever the person's records disagree on the birth date.
 * The node sends exactly these columns per slot (zero where a column does not apply):
 * t       child-role event in the period: seconds since the window's start; else MPC_T_NONE;
 * child   one plane: a child-role event in the period;
 * ekey    child slots: the event's UTC date as a key, year·10000 + month·100 + day;
 * tday    MPC_M6_TDAYS blocks of n: child slots, for age A = 0, 4, 7, 10, 15, 18 the day
 *         number (days since 1970) of the last real date whose key is at most ekey − A·10000;
 * threat  3 planes: an event in the period with child_threat_level 0, 1 or 2 (one-hot);
 * rec     one plane: the slot is a record's;
 * sex     3 planes: record slots, the record's sex F, M or X one-hot (U: none);
 * known   one plane: record slots whose interval is known (some age, none contradicting);
 * lo, hi  known record slots: the interval's birth keys;
 * dlo1, dlo, dhi  known record slots: day numbers of the keys lo + 1, lo and hi (a day past a
 *         month's end rolls over, as cldate_days_from_civil does).
 */
struct mpc_m6_bucket {
	struct mpc_a t, ekey, tday, lo, hi, dlo1, dlo, dhi;
	struct mpc_b child, threat, rec, sex, known;
};

/* The M6 grid: children per age band × sex × highest threat level, and their total. */
struct mpc_m6_counts {
	uint64_t children;
	uint64_t grid[MPC_M6_BANDS][MPC_M6_SEXES][MPC_M6_THREATS];
};

/*
 * Computes M6's grid and opens it to party 0 only (*out at party 0; the others pass NULL).
 * Children: a child-role event in the period; sex: the most frequent of F, M, X over the
 * person's records (ties F, M, X; none U); threat: the highest level in the period; band at
 * the first child event (ties by slot position). CL_EINVAL for a layout that does not match
 * the inputs, CL_ELIMIT beyond the MPC_MAX_*.
 */
int mpc_m6(struct mpc_party *p, const struct mpc_bucket *buckets, size_t nbuckets,
	   const struct mpc_m6_bucket *in, struct mpc_m6_counts *out);

#endif
