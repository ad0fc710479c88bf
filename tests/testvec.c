/* testvec — see testvec.h. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "testvec.h"

json_t *testvec_load(const char *name)
{
	const char *shared = getenv("CASELINK_SHARED");
	char path[4096];
	json_error_t err;
	struct stat st;
	json_t *root;
	int n;

	if (shared == NULL || shared[0] == '\0')
		return NULL;
	n = snprintf(path, sizeof(path), "%s/vectors", shared);
	assert_true(n > 0 && (size_t)n < sizeof(path));
	if (stat(path, &st) != 0 || !S_ISDIR(st.st_mode))
		return NULL; /* no vectors folder: the caller skips */
	n = snprintf(path, sizeof(path), "%s/vectors/%s", shared, name);
	assert_true(n > 0 && (size_t)n < sizeof(path));
	root = json_load_file(path, 0, &err);
	if (root == NULL)
		fail_msg("cannot read %s: %s", path, err.text); /* folder present, file bad */
	return root;
}

int testvec_hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}
