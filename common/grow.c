/* grow — checked doubling growth of a dynamic array (see grow.h). */
#include "common/grow.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "common/cl_error.h"

#define GROW_FIRST 64

/* The capacity and byte size that hold need elements, doubling from *cap (64 when 0). */
static int grow_size(size_t cap, size_t need, size_t elem, size_t *ncap, size_t *bytes)
{
	size_t c = cap ? cap : GROW_FIRST;

	while (c < need)
		if (__builtin_mul_overflow(c, 2, &c))
			return CL_EOVERFLOW;
	if (__builtin_mul_overflow(c, elem, bytes))
		return CL_EOVERFLOW;
	*ncap = c;
	return 0;
}

int grow_array(void **p, size_t *cap, size_t need, size_t elem)
{
	size_t ncap, bytes;
	void *np;
	int rc;

	if (need <= *cap)
		return 0;
	rc = grow_size(*cap, need, elem, &ncap, &bytes);
	if (rc)
		return rc;
	np = realloc(*p, bytes);
	if (!np)
		return CL_ENOMEM;
	*p = np;
	*cap = ncap;
	return 0;
}

int grow_array_secret(void **p, size_t *cap, size_t need, size_t elem)
{
	size_t ncap, bytes;
	void *np;
	int rc;

	if (need <= *cap)
		return 0;
	rc = grow_size(*cap, need, elem, &ncap, &bytes);
	if (rc)
		return rc;
	np = malloc(bytes);
	if (!np)
		return CL_ENOMEM;
	if (*p) {
		/* *cap * elem cannot overflow: it is below ncap * elem */
		memcpy(np, *p, *cap * elem);
		OPENSSL_cleanse(*p, *cap * elem);
		free(*p);
	}
	*p = np;
	*cap = ncap;
	return 0;
}
