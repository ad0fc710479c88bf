/* intern — strings stored once, named by dense ids (see intern.h). */
#include "common/intern.h"

#include <stdlib.h>
#include <string.h>

#include "common/cl_error.h"

#define INTERN_MAX_COUNT (UINT32_MAX / 4) /* the table holds ids + 1 at most half full */

struct intern {
	char **str;
	size_t nstr, scap, max_len;
	uint32_t *tab; /* open addressing: string id + 1, 0 empty; a power of two */
	size_t tcap;
};

static uint64_t intern_hash(const char *s)
{
	uint64_t h = 1469598103934665603ull; /* FNV-1a */

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ull;
	return h;
}

int intern_new(size_t max_len, struct intern **out)
{
	struct intern *t;

	if (!out || max_len < 2)
		return CL_EINVAL;
	t = calloc(1, sizeof(*t));
	if (!t)
		return CL_ENOMEM;
	t->max_len = max_len;
	*out = t;
	return 0;
}

void intern_free(struct intern *t)
{
	size_t i;

	if (!t)
		return;
	for (i = 0; i < t->nstr; i++)
		free(t->str[i]);
	free(t->str);
	free(t->tab);
	free(t);
}

/* Doubles the table (256 slots at first) and places every id again. */
static int intern_rehash(struct intern *t)
{
	size_t ncap = t->tcap ? t->tcap * 2 : 256, i, k;
	uint32_t *ntab = calloc(ncap, sizeof(*ntab));

	if (!ntab)
		return CL_ENOMEM;
	for (k = 0; k < t->nstr; k++) {
		i = intern_hash(t->str[k]) & (ncap - 1);
		while (ntab[i])
			i = (i + 1) & (ncap - 1);
		ntab[i] = (uint32_t)k + 1;
	}
	free(t->tab);
	t->tab = ntab;
	t->tcap = ncap;
	return 0;
}

int intern_add(struct intern *t, const char *s, uint32_t *id)
{
	size_t len, i, mask;
	char *copy = NULL;
	int rc;

	if (!t || !s || !id)
		return CL_EINVAL;
	len = strnlen(s, t->max_len);
	if (len == 0 || len >= t->max_len)
		return len ? CL_ELIMIT : CL_EINVAL;
	if ((t->nstr + 1) * 2 > t->tcap) {
		rc = intern_rehash(t);
		if (rc)
			return rc;
	}
	mask = t->tcap - 1;
	i = intern_hash(s) & mask;
	while (t->tab[i]) {
		if (strcmp(t->str[t->tab[i] - 1], s) == 0) {
			*id = t->tab[i] - 1;
			return 0;
		}
		i = (i + 1) & mask;
	}
	if (t->nstr >= INTERN_MAX_COUNT)
		return CL_ELIMIT;
	if (t->nstr == t->scap) {
		size_t ncap = t->scap ? t->scap * 2 : 64, bytes;
		char **nstr;

		if (__builtin_mul_overflow(ncap, sizeof(*t->str), &bytes))
			return CL_EOVERFLOW;
		nstr = realloc(t->str, bytes);
		if (!nstr)
			return CL_ENOMEM;
		t->str = nstr;
		t->scap = ncap;
	}
	copy = malloc(len + 1);
	if (!copy)
		return CL_ENOMEM;
	memcpy(copy, s, len + 1);
	t->str[t->nstr] = copy;
	t->tab[i] = (uint32_t)t->nstr + 1;
	*id = (uint32_t)t->nstr++;
	return 0;
}

const char *intern_str(const struct intern *t, uint32_t id)
{
	return t && id < t->nstr ? t->str[id] : NULL;
}

size_t intern_count(const struct intern *t)
{
	return t ? t->nstr : 0;
}
