/*
 * grow — the checked growth of a dynamic array: capacities double from 64 with overflow checks
 * on the element count and on the byte size, as the coordinator's engines grow their records.
 * grow_array_secret is the same growth for arrays that hold secrets (tokens, filters, names):
 * it never leaves a copy of the old contents in freed memory.
 */
#ifndef CASELINK_GROW_H
#define CASELINK_GROW_H

#include <stddef.h>

/*
 * Makes *p (an array of *cap elements of elem bytes, NULL when *cap is 0) hold at least need
 * elements: unchanged when it does, else reallocated to the first doubling of *cap (64 when
 * 0) that does. Returns CL_EOVERFLOW when the count or size overflows, CL_ENOMEM; *p and *cap
 * are changed only on success.
 */
int grow_array(void **p, size_t *cap, size_t need, size_t elem);

/*
 * As grow_array, for an array of secrets: the larger block is newly allocated, the old
 * block's *cap elements are copied into it, then the old block is wiped (OPENSSL_cleanse)
 * and freed, where realloc could leave a stale copy behind. The new elements past the old
 * capacity are not initialised. On an error *p and *cap are left as they were.
 */
int grow_array_secret(void **p, size_t *cap, size_t need, size_t elem);

#endif
