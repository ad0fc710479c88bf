/*
 * normalise — names for linkage. Each code point is decomposed by utf8proc
 * (compatibility decomposition, case folding, marks and default-ignorables
 * stripped); of the result, letters and numbers are kept, separators and
 * white-space controls become one pending space, and everything else
 * (punctuation, symbols, other controls) is dropped. Pure-ASCII input takes a
 * table-driven path that gives byte-identical results.
 */
#include "common/normalise.h"

#include <stdbool.h>

#include <utf8proc.h>

#include "common/cl_error.h"

#define NORM_DECOMP_MAX 64 /* the longest decomposition in Unicode is 18 code points */
#define NORM_OPTIONS                                                                               \
	(UTF8PROC_COMPAT | UTF8PROC_DECOMPOSE | UTF8PROC_STRIPMARK | UTF8PROC_CASEFOLD |           \
	 UTF8PROC_IGNORE)

enum norm_class { NC_DROP, NC_KEEP, NC_SPACE };

/* The class of a code point after decomposition. */
static enum norm_class norm_classify(utf8proc_int32_t cp)
{
	switch (utf8proc_category(cp)) {
	case UTF8PROC_CATEGORY_LU:
	case UTF8PROC_CATEGORY_LL:
	case UTF8PROC_CATEGORY_LT:
	case UTF8PROC_CATEGORY_LM:
	case UTF8PROC_CATEGORY_LO:
	case UTF8PROC_CATEGORY_ND:
	case UTF8PROC_CATEGORY_NL:
	case UTF8PROC_CATEGORY_NO:
	case UTF8PROC_CATEGORY_CN: /* unassigned: kept, so that new letters still count */
		return NC_KEEP;
	case UTF8PROC_CATEGORY_ZS:
	case UTF8PROC_CATEGORY_ZL:
	case UTF8PROC_CATEGORY_ZP:
		return NC_SPACE;
	case UTF8PROC_CATEGORY_CC:
		return (cp >= 0x09 && cp <= 0x0D) || cp == 0x85 ? NC_SPACE : NC_DROP;
	default: /* marks, punctuation, symbols, format, private use, surrogates */
		return NC_DROP;
	}
}

/* Output being built: a space is written only before a kept character. */
struct norm_out {
	char *buf;
	size_t size, len;
	bool space;
};

/* Appends n bytes of a kept character, preceded by a pending space; CL_ELIMIT when full. */
static int norm_put(struct norm_out *o, const char *s, size_t n)
{
	size_t need = n + (o->space && o->len > 0 ? 1 : 0);

	if (need >= o->size - o->len) /* keeps a byte for the NUL */
		return CL_ELIMIT;
	if (o->space && o->len > 0)
		o->buf[o->len++] = ' ';
	o->space = false;
	for (size_t i = 0; i < n; i++)
		o->buf[o->len++] = s[i];
	return 0;
}

/* ASCII classes: 0 drop, 1 keep as is, 2 keep lowered, 3 space, 4 NUL. */
static const unsigned char norm_ascii[128] = {
    4, 0, 0, 0, 0, 0, 0, 0, 0, 3, 3, 3, 3, 3, 0, 0, /* 0x00 */
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* 0x10 */
    3, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* 0x20 */
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, /* 0x30 */
    0, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, /* 0x40 */
    2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 0, 0, 0, 0, 0, /* 0x50 */
    0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, /* 0x60 */
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, /* 0x70 */
};

static int norm_ascii_path(const unsigned char *in, size_t inlen, struct norm_out *o)
{
	for (size_t i = 0; i < inlen; i++) {
		char c = (char)in[i];
		int rc;

		switch (norm_ascii[in[i]]) {
		case 0:
			break;
		case 1:
		case 2:
			if (norm_ascii[in[i]] == 2)
				c = (char)(c - 'A' + 'a');
			rc = norm_put(o, &c, 1);
			if (rc < 0)
				return rc;
			break;
		case 3:
			o->space = true;
			break;
		default:
			return CL_EPARSE;
		}
	}
	return 0;
}

static int norm_unicode_path(const unsigned char *in, size_t inlen, struct norm_out *o)
{
	utf8proc_int32_t dec[NORM_DECOMP_MAX];
	size_t i = 0;

	while (i < inlen) {
		utf8proc_int32_t cp;
		utf8proc_ssize_t n = utf8proc_iterate(in + i, (utf8proc_ssize_t)(inlen - i), &cp);

		if (n <= 0 || cp == 0)
			return CL_EPARSE;
		i += (size_t)n;
		n = utf8proc_decompose_char(cp, dec, NORM_DECOMP_MAX, NORM_OPTIONS, NULL);
		if (n < 0)
			return CL_EPARSE;
		if (n > NORM_DECOMP_MAX)
			return CL_EINTERNAL;
		for (utf8proc_ssize_t k = 0; k < n; k++) {
			utf8proc_uint8_t enc[4];
			utf8proc_ssize_t elen;
			int rc;

			switch (norm_classify(dec[k])) {
			case NC_KEEP:
				elen = utf8proc_encode_char(dec[k], enc);
				if (elen <= 0)
					return CL_EPARSE;
				rc = norm_put(o, (const char *)enc, (size_t)elen);
				if (rc < 0)
					return rc;
				break;
			case NC_SPACE:
				o->space = true;
				break;
			case NC_DROP:
				break;
			}
		}
	}
	return 0;
}

int norm_name(const char *in, size_t inlen, char *out, size_t outsz, size_t *outlen)
{
	const unsigned char *u = (const unsigned char *)in;
	struct norm_out o = {out, outsz, 0, false};
	bool ascii = true;
	int rc = CL_EINVAL;

	if ((in == NULL && inlen > 0) || out == NULL || outlen == NULL)
		goto out;
	rc = CL_ELIMIT;
	if (outsz == 0)
		goto out;
	for (size_t i = 0; i < inlen && ascii; i++)
		ascii = u[i] < 0x80;
	rc = ascii ? norm_ascii_path(u, inlen, &o) : norm_unicode_path(u, inlen, &o);
	if (rc < 0)
		goto out;
	out[o.len] = '\0';
	*outlen = o.len;
out:
	if (rc < 0 && out != NULL && outsz > 0)
		out[0] = '\0';
	return rc;
}
