/* testkeys — a keyholder key file read by the tests (see testkeys.h). */
#include "testkeys.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include <openssl/crypto.h>

static int testkeys_hexval(char c)
{
	return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

void testkeys_sk(const char *dir, uint32_t epoch, uint8_t sk[OPRF_SCALAR_LEN])
{
	char path[4096], line[512], hex[2 * OPRF_SCALAR_LEN + 1];
	unsigned int e = 0;
	long long retired = -1;
	int found = 0, i;
	FILE *f;

	assert_true(snprintf(path, sizeof(path), "%s/oprf-keys", dir) < (int)sizeof(path));
	f = fopen(path, "r");
	assert_non_null(f);
	while (!found && fgets(line, sizeof(line), f)) {
		const char *r = strstr(line, " retired="), *s = strstr(line, " sk=");

		if (line[0] == '#' || sscanf(line, "epoch=%u ", &e) != 1 || !r || !s)
			continue;
		assert_int_equal(sscanf(r, " retired=%lld", &retired), 1);
		if (epoch ? e != epoch : retired != 0)
			continue;
		assert_int_equal(sscanf(s, " sk=%64[0-9a-f]", hex), 1);
		assert_int_equal(strlen(hex), 2 * OPRF_SCALAR_LEN);
		for (i = 0; i < OPRF_SCALAR_LEN; i++)
			sk[i] = (uint8_t)(testkeys_hexval(hex[2 * i]) << 4 |
					  testkeys_hexval(hex[2 * i + 1]));
		found = 1;
	}
	OPENSSL_cleanse(line, sizeof(line));
	OPENSSL_cleanse(hex, sizeof(hex));
	fclose(f);
	if (!found)
		fail_msg("no key of epoch %u in %s", (unsigned)epoch, path);
}
