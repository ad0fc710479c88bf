/*
 * normalise — names for linkage. Each code point is decomposed by utf8proc
 * (compatibility decomposition, case folding, marks and default-ignorables
 * stripped); of the result, letters and numbers are kept, separators and
 * white-space controls become one pending space, and everything else
 * (punctuation, symbols, other controls) is dropped. ASCII bytes and the Latin
 * letters up to U+02FF take table-driven paths that give byte-identical results
 * (norm_name_reference skips them, for tests and fuzzing).
 */
#include "common/normalise.h"

#include <pthread.h>
#include <stdbool.h>
#include <string.h>

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

/* Applies the decomposition of one code point (the path every code point can take). */
static int norm_codepoint(utf8proc_int32_t cp, struct norm_out *o)
{
	utf8proc_int32_t dec[NORM_DECOMP_MAX];
	utf8proc_ssize_t n = utf8proc_decompose_char(cp, dec, NORM_DECOMP_MAX, NORM_OPTIONS, NULL);

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
	return 0;
}

/*
 * The Latin letters of U+0080..U+02FF (Latvian and Lithuanian among them),
 * decomposed once with utf8proc: each entry says what its code point turns
 * into, so the common names skip utf8proc. Code points whose result mixes
 * spaces with letters, or is longer than NORM_LATIN_BYTES, stay on the slow path.
 */
#define NORM_LATIN_FIRST 0x80
#define NORM_LATIN_END	 0x300
#define NORM_LATIN_BYTES 6

enum norm_latin_kind { NL_SLOW, NL_DROP, NL_SPACE, NL_KEEP };

struct norm_latin {
	unsigned char kind, len;
	char bytes[NORM_LATIN_BYTES];
};

static struct norm_latin norm_latin[NORM_LATIN_END - NORM_LATIN_FIRST];
static pthread_once_t norm_latin_once = PTHREAD_ONCE_INIT;

static void norm_latin_init(void)
{
	for (utf8proc_int32_t cp = NORM_LATIN_FIRST; cp < NORM_LATIN_END; cp++) {
		struct norm_latin *e = &norm_latin[cp - NORM_LATIN_FIRST];
		char buf[32];
		/* A leading 'x' makes a pending space visible as a written ' '. */
		struct norm_out o = {buf, sizeof(buf), 1, false};

		buf[0] = 'x';
		e->kind = NL_SLOW;
		if (norm_codepoint(cp, &o) < 0)
			continue;
		if (o.len == 1) {
			e->kind = o.space ? NL_SPACE : NL_DROP;
		} else if (!o.space && o.len - 1 <= NORM_LATIN_BYTES &&
			   memchr(buf + 1, ' ', o.len - 1) == NULL) {
			e->kind = NL_KEEP;
			e->len = (unsigned char)(o.len - 1);
			memcpy(e->bytes, buf + 1, o.len - 1);
		}
	}
}

/* Normalises in[0..inlen) into o; fast selects the table paths for ASCII and Latin. */
static int norm_run(const unsigned char *in, size_t inlen, struct norm_out *o, bool fast)
{
	size_t i = 0;
	int rc;

	if (fast)
		pthread_once(&norm_latin_once, norm_latin_init);
	while (i < inlen) {
		utf8proc_int32_t cp;
		utf8proc_ssize_t n;

		if (fast && in[i] < 0x80) {
			char c = (char)in[i++];

			switch (norm_ascii[(unsigned char)c]) {
			case 0:
				break;
			case 1:
			case 2:
				if (norm_ascii[(unsigned char)c] == 2)
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
			continue;
		}
		n = utf8proc_iterate(in + i, (utf8proc_ssize_t)(inlen - i), &cp);
		if (n <= 0 || cp == 0)
			return CL_EPARSE;
		i += (size_t)n;
		if (fast && cp >= NORM_LATIN_FIRST && cp < NORM_LATIN_END) {
			const struct norm_latin *e = &norm_latin[cp - NORM_LATIN_FIRST];

			if (e->kind == NL_DROP)
				continue;
			if (e->kind == NL_SPACE) {
				o->space = true;
				continue;
			}
			if (e->kind == NL_KEEP) {
				rc = norm_put(o, e->bytes, e->len);
				if (rc < 0)
					return rc;
				continue;
			}
		}
		rc = norm_codepoint(cp, o);
		if (rc < 0)
			return rc;
	}
	return 0;
}

static int norm_common(const char *in, size_t inlen, char *out, size_t outsz, size_t *outlen,
		       bool fast)
{
	struct norm_out o = {out, outsz, 0, false};
	int rc = CL_EINVAL;

	if ((in == NULL && inlen > 0) || out == NULL || outlen == NULL)
		goto out;
	rc = CL_ELIMIT;
	if (outsz == 0)
		goto out;
	rc = norm_run((const unsigned char *)in, inlen, &o, fast);
	if (rc < 0)
		goto out;
	out[o.len] = '\0';
	*outlen = o.len;
out:
	if (rc < 0 && out != NULL && outsz > 0)
		out[0] = '\0';
	return rc;
}

int norm_name(const char *in, size_t inlen, char *out, size_t outsz, size_t *outlen)
{
	return norm_common(in, inlen, out, outsz, outlen, true);
}

int norm_name_reference(const char *in, size_t inlen, char *out, size_t outsz, size_t *outlen)
{
	return norm_common(in, inlen, out, outsz, outlen, false);
}
