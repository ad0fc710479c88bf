/* tmpdb — scratch SQLite database paths for tests (see tmpdb.h). */
#include "tests/tmpdb.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include <cmocka.h>

void tmpdb_path(char *path, size_t size, const char *stem)
{
	const char *tmp = getenv("CASELINK_TMP");
	static int n;
	int len;

	len =
	    snprintf(path, size, "%s/%s.%ld.%d.db", tmp ? tmp : "/tmp", stem, (long)getpid(), n++);
	assert_true(len > 0 && (size_t)len < size);
	tmpdb_remove(path);
}

void tmpdb_remove(const char *path)
{
	char p[1024];

	unlink(path);
	snprintf(p, sizeof(p), "%s-wal", path);
	unlink(p);
	snprintf(p, sizeof(p), "%s-shm", path);
	unlink(p);
}
