/* testskip — a skipped CMocka test made visible to ctest (see testskip.h). */
#include "testskip.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

static int testskip_skipped;

void testskip(const char *why)
{
	const char *ci = getenv("CI");

	if (ci && *ci)
		fail_msg("not skipped in CI: %s", why);
	print_message("SKIPPED: %s\n", why);
	testskip_skipped = 1;
	skip();
}

int testskip_status(int failed)
{
	if (failed)
		return failed;
	return testskip_skipped ? TESTSKIP_STATUS : 0;
}
