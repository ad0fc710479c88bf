/*
 * linker — the coordinator's record linkage within one query (measures.md "Linked person").
 *
 * Records come from N nodes, each with an optional id token, demo token and Bloom filter
 * (protocol/encode.h). linker_run (a) joins records with equal id tokens (also at one node);
 * (b) makes pairs of records at different nodes with equal demo tokens priority candidates,
 * unless the token is shared by two different id tokens (twins) or both filters score below the
 * threshold (twins without codes: a different given name); (c) scores pairs of records at
 * different nodes by the Dice coefficient of their filters, comparing all pairs or, for large
 * inputs, those an LSH blocking proposes; (d) merges clusters greedily, demo pairs first, then by
 * descending Dice, while the two clusters hold no common node and no two different id tokens
 * (anonlink's greedy solver, with exact joins); (e) returns the linked persons (transitive
 * closure) as dense cluster ids.
 */
#ifndef CASELINK_COORDINATOR_LINKER_H
#define CASELINK_COORDINATOR_LINKER_H

#include <stddef.h>
#include <stdint.h>

#define LINKER_TOKEN_LEN   32
#define LINKER_BLOOM_BYTES 128
#define LINKER_HANDLE_MAX  64	    /* bytes of an opaque row handle */
#define LINKER_MAX_NODES   1024	    /* node indexes 0..1023 */
#define LINKER_MAX_RECORDS 33554432 /* 2^25 records per query */
/* Candidate pairs per run (1 GiB); a threshold near 0.5, where unrelated balanced filters
 * score, exceeds it: CL_ELIMIT. */
#define LINKER_MAX_PAIRS	 67108864
#define LINKER_DEFAULT_THRESHOLD 0.85 /* balanced filters: see docs/privacy.md */
#define LINKER_MAX_THREADS	 64   /* linker_set_threads */

/* Blocking modes for the fuzzy step. */
#define LINKER_BLOCK_AUTO 0 /* all pairs for small inputs, LSH above ~10^8 pairs */
#define LINKER_BLOCK_NONE 1 /* compare all pairs of records at different nodes */
#define LINKER_BLOCK_LSH  2 /* bit-sampling LSH over the most balanced bits */

/* Counters of the last linker_run, for linker_stat. */
#define LINKER_STAT_ID_LINKS	  0  /* unions made by equal id tokens */
#define LINKER_STAT_DEMO_LINKS	  1  /* cluster merges made by equal demo tokens */
#define LINKER_STAT_DEMO_AMBIG	  2  /* demo groups skipped: different id tokens, or too large */
#define LINKER_STAT_COMPARISONS	  3  /* Dice coefficients computed */
#define LINKER_STAT_CANDIDATES	  4  /* distinct pairs scoring at or above the threshold */
#define LINKER_STAT_FUZZY_LINKS	  5  /* cluster merges made by the fuzzy step */
#define LINKER_STAT_FUZZY_REFUSED 6  /* pairs refused by one-per-node or id conflicts */
#define LINKER_STAT_CLUSTERS	  7  /* linked persons */
#define LINKER_STAT_LSH_TABLES	  8  /* LSH tables used (0: all pairs compared) */
#define LINKER_STAT_LSH_BITS	  9  /* bits sampled per LSH table */
#define LINKER_STAT_DEMO_VETOED	  10 /* demo pairs refused: both filters below the threshold */
#define LINKER_STAT_ATTR_VETOED	  11 /* pairs refused: sex, birth year or birth date differ */
#define LINKER_STAT_AMBIGUOUS	  12 /* weak pairs refused: a record between two persons */
#define LINKER_STAT_BLOCKS	  13 /* attribute blocks compared (birth year / date) */
#define LINKER_STAT_MAX		  14

struct linker;

/* Creates an empty linker in *out with the default threshold and automatic blocking. */
int linker_new(struct linker **out);

/* Frees the linker and wipes its tokens and filters; NULL is allowed. */
void linker_free(struct linker *l);

/* Sets the Dice threshold of the fuzzy step, in (0, 1]. */
int linker_set_threshold(struct linker *l, double threshold);

/*
 * Sets the weak threshold, in (0, 1]: the Dice a filter pair needs when one record's birth date
 * is unknown (no year token at one side); default the threshold + 0.07, at most 1. Applies only
 * to records given linker_set_attrs.
 */
int linker_set_weak_threshold(struct linker *l, double weak);

/*
 * Sets record i's (before linker_run) sex ('M' or 'F'; anything else is unknown) and its
 * optional derived tokens (protocol/encode.h ENC_DERIVED_*): birth year, full birth date and
 * given name. Two records, or clusters, with different sexes, years or full dates are never
 * linked (not even through a third record without them); filter pairs are taken in tiers of
 * evidence (equal full date, then equal given name and date where a family name is missing,
 * then equal year, then no date at the weak threshold).
 */
int linker_set_attrs(struct linker *l, size_t i, int sex, const unsigned char *year_token,
		     const unsigned char *date_token, const unsigned char *given_token);

/*
 * Sets the blocking mode (LINKER_BLOCK_*); for LSH, tables and bits per table (0 for the
 * automatic choice: 40 tables, log2(records) - 3 bits clamped to 8..20) and the seed that picks
 * the sampled bits.
 */
int linker_set_blocking(struct linker *l, int mode, unsigned tables, unsigned bits, uint64_t seed);

/*
 * Sets the threads linker_run compares filters on (1..LINKER_MAX_THREADS; default 1). The links
 * do not depend on it: every thread's candidate pairs are merged before the greedy step.
 */
int linker_set_threads(struct linker *l, unsigned threads);

/*
 * Adds one record: node index, agency type, an opaque handle (1..LINKER_HANDLE_MAX bytes), and
 * optional (NULL) id token, demo token and filter. Writes its index (0, 1, ...) to *index when
 * index is not NULL. CL_ELIMIT beyond LINKER_MAX_RECORDS; CL_EINVAL after linker_run.
 */
int linker_add(struct linker *l, uint32_t node, uint32_t agency_type, const unsigned char *handle,
	       size_t handle_len, const unsigned char *id_token, const unsigned char *demo_token,
	       const unsigned char *bloom, size_t *index);

/*
 * Links the records added; may be called once. CL_ENOMEM on exhaustion, CL_ELIMIT beyond
 * LINKER_MAX_PAIRS candidate pairs.
 */
int linker_run(struct linker *l);

/* Returns the number of records added. */
size_t linker_count(const struct linker *l);

/* Writes the cluster id (0 .. clusters - 1, in order of first record) of record i. */
int linker_cluster(const struct linker *l, size_t i, uint32_t *cluster);

/* Writes a pointer to record i's handle and its length (valid until linker_free). */
int linker_handle(const struct linker *l, size_t i, const unsigned char **handle, size_t *len);

/* Writes record i's node index and agency type. */
int linker_record_node(const struct linker *l, size_t i, uint32_t *node, uint32_t *agency_type);

/* Returns counter which (LINKER_STAT_*) of the last run; 0 for an unknown counter. */
uint64_t linker_stat(const struct linker *l, int which);

/*
 * Writes the Dice coefficient of two filters to *dice, computed by the linker's popcount kernel
 * for one pair (AVX-512 VPOPCNTDQ or POPCNT when the CPU has them, portable code otherwise; the
 * scans over many filters use AVX2 where VPOPCNTDQ is missing).
 */
int linker_dice(const unsigned char a[LINKER_BLOOM_BYTES],
		const unsigned char b[LINKER_BLOOM_BYTES], double *dice);

/* Popcount kernels, for linker_scan. */
#define LINKER_KERNEL_AUTO     0 /* the best the CPU supports, as linker_run uses */
#define LINKER_KERNEL_PORTABLE 1 /* SWAR popcount, any CPU */
#define LINKER_KERNEL_POPCNT   2 /* x86-64 POPCNT */
#define LINKER_KERNEL_AVX512   3 /* AVX-512 VPOPCNTDQ */
#define LINKER_KERNEL_AVX2     4 /* AVX2 nibble lookup (VPSHUFB), four filters at a time */

/*
 * Benchmark kernel: loads base[0..n) (n * 128 bytes), then `rounds` times counts the filters whose
 * Dice coefficient with a is at least threshold, with the given kernel; writes the count to *hits.
 * CL_EUNSUPPORTED when the CPU lacks the kernel's instructions.
 */
int linker_scan(int kernel, const unsigned char a[LINKER_BLOOM_BYTES], const unsigned char *base,
		size_t n, unsigned rounds, double threshold, size_t *hits);

#endif
