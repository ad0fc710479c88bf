/*
 * The linker's promise (linker.h) that its tokens and filters are wiped: no block the linker
 * gives back to the allocator while records are added, or when it is freed, still holds a token
 * or a filter. The test binary is linked with --wrap=free and --wrap=realloc (tests/linker.cmake):
 * every block freed, and every block handed to realloc (which may move it and leave the old
 * copy in freed memory), is searched, while still allocated, for the marker every test token
 * and filter begins with. Its own binary because every allocation in it is watched.
 */
#include <malloc.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/cl_error.h"
#include "coordinator/linker.h"

#define MARK_LEN 7

static const unsigned char mark[MARK_LEN] = {0xa5, 0x3c, 0x96, 0x0f, 'T', 'O', 'K'};

void __real_free(void *p);
void *__real_realloc(void *p, size_t n);
void __wrap_free(void *p);
void *__wrap_realloc(void *p, size_t n);

static int watching;
static size_t stale_frees, stale_reallocs;

static int holds_mark(const void *p)
{
	const unsigned char *b = p;
	size_t n = malloc_usable_size((void *)p), i;

	for (i = 0; i + MARK_LEN <= n; i++)
		if (b[i] == mark[0] && !memcmp(b + i, mark, MARK_LEN))
			return 1;
	return 0;
}

void __wrap_free(void *p)
{
	if (watching && p && holds_mark(p))
		stale_frees++;
	__real_free(p);
}

void *__wrap_realloc(void *p, size_t n)
{
	if (watching && p && holds_mark(p))
		stale_reallocs++;
	return __real_realloc(p, n);
}

/* A token or filter of len bytes: the marker, the kind, the record's index, then filler. */
static void secret(unsigned char *out, size_t len, unsigned char kind, uint32_t i)
{
	size_t k;

	memcpy(out, mark, MARK_LEN);
	out[MARK_LEN] = kind;
	memcpy(out + MARK_LEN + 1, &i, sizeof(i));
	for (k = MARK_LEN + 1 + sizeof(i); k < len; k++)
		out[k] = (unsigned char)(k * 31 + i);
}

static void test_growth_and_free_leave_no_token(void **state)
{
	unsigned char id[LINKER_TOKEN_LEN], demo[LINKER_TOKEN_LEN], bloom[LINKER_BLOOM_BYTES];
	unsigned char year[LINKER_TOKEN_LEN], date[LINKER_TOKEN_LEN], given[LINKER_TOKEN_LEN];
	unsigned char handle[8];
	struct linker *l = NULL;
	uint32_t i;

	(void)state;
	assert_int_equal(linker_new(&l), 0);
	stale_frees = stale_reallocs = 0;
	watching = 1;
	/* 5 000 records: the token arrays and the filters grow past 64, 128, ... 8 192 */
	for (i = 0; i < 5000; i++) {
		size_t at = 0;

		secret(id, sizeof(id), 'i', i);
		secret(demo, sizeof(demo), 'd', i);
		secret(bloom, sizeof(bloom), 'b', i);
		memset(handle, 0, sizeof(handle));
		memcpy(handle, &i, sizeof(i));
		assert_int_equal(linker_add(l, i % 7, 1, handle, sizeof(handle), id, demo,
					    i % 3 ? bloom : NULL, &at),
				 0);
		assert_int_equal(at, i);
		if (i >= 100 && i % 2 == 0) { /* attribute tokens from the 101st record on */
			secret(year, sizeof(year), 'y', i);
			secret(date, sizeof(date), 't', i);
			secret(given, sizeof(given), 'g', i);
			assert_int_equal(linker_set_attrs(l, i, 'F', year, date, given), 0);
		}
	}
	assert_int_equal(linker_count(l), 5000);
	linker_free(l);
	watching = 0;
	assert_int_equal(stale_reallocs, 0);
	assert_int_equal(stale_frees, 0);
}

/* The control: the watch sees a marked block given back unwiped, by free or by realloc. */
static void test_watch_sees_stale_copies(void **state)
{
	unsigned char *p = malloc(256), *q;

	(void)state;
	assert_non_null(p);
	secret(p, 256, 'x', 1);
	stale_frees = stale_reallocs = 0;
	watching = 1;
	q = realloc(p, 100000);
	assert_non_null(q);
	free(q);
	watching = 0;
	assert_int_equal(stale_reallocs, 1);
	assert_int_equal(stale_frees, 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_watch_sees_stale_copies),
	    cmocka_unit_test(test_growth_and_free_leave_no_token),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
