/* grow — checked doubling growth of a dynamic array (see grow.h). */
#include "common/grow.h"

#include <stdlib.h>

#include "common/cl_error.h"

#define GROW_FIRST 64

int grow_array(void **p, size_t *cap, size_t need, size_t elem)
{
	size_t ncap = *cap ? *cap : GROW_FIRST, bytes;
	void *np;

	if (need <= *cap)
		return 0;
	while (ncap < need)
		if (__builtin_mul_overflow(ncap, 2, &ncap))
			return CL_EOVERFLOW;
	if (__builtin_mul_overflow(ncap, elem, &bytes))
		return CL_EOVERFLOW;
	np = realloc(*p, bytes);
	if (!np)
		return CL_ENOMEM;
	*p = np;
	*cap = ncap;
	return 0;
}
