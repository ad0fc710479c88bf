/*
 * Tests for keyholder/keystore: init (0700 folder, 0600 file, epoch 1,
 * refusing to overwrite), rotation and epoch selection, and refusals of
 * loose permissions and corrupted key files.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include <openssl/crypto.h>

#include "common/cl_error.h"
#include "keyholder/keystore.h"
#include "protocol/oprf.h"
#include "testkeys.h"

static char dir[1024];

static void fresh_dir(const char *name)
{
	const char *tmp = getenv("CASELINK_TMP");
	char cmd[1200];

	snprintf(dir, sizeof(dir), "%s/keystore-%s", tmp ? tmp : "/tmp", name);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
}

static void key_path(char *out, size_t n)
{
	snprintf(out, n, "%s/%s", dir, KH_KEYSTORE_FILE);
}

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "rb");
	char *buf = calloc(1, 1 << 16);
	size_t n;

	assert_non_null(f);
	assert_non_null(buf);
	n = fread(buf, 1, (1 << 16) - 1, f);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

/*
 * The OPRF output of a fixed input under the key of epoch, through kh_keystore_evaluate
 * (blind, evaluate, finalize); checked against oprf_evaluate with the key as the file holds it
 * (testkeys, read without the keystore). Tells keys apart.
 */
static void prf_of(const struct kh_keystore *ks, uint32_t epoch, uint8_t out[OPRF_OUTPUT_LEN])
{
	struct oprf_ctx *ctx = NULL;
	uint8_t blind[OPRF_SCALAR_LEN], blinded[OPRF_ELEMENT_LEN], ev[OPRF_ELEMENT_LEN];
	uint8_t sk[OPRF_SCALAR_LEN], direct[OPRF_OUTPUT_LEN];
	uint32_t used = 0;

	assert_int_equal(kh_keystore_choose(ks, epoch, (int64_t)time(NULL), 3600, &used), CL_OK);
	assert_int_equal(used, epoch);
	assert_int_equal(oprf_ctx_new(&ctx), CL_OK);
	assert_int_equal(oprf_blind(ctx, (const uint8_t *)"probe", 5, blind, blinded), CL_OK);
	assert_int_equal(kh_keystore_evaluate(ks, used, ctx, blinded, 1, ev, NULL), CL_OK);
	assert_int_equal(oprf_finalize(ctx, (const uint8_t *)"probe", 5, blind, ev, out), CL_OK);
	testkeys_sk(dir, epoch, sk);
	assert_int_equal(oprf_evaluate(ctx, sk, (const uint8_t *)"probe", 5, direct), CL_OK);
	assert_memory_equal(out, direct, OPRF_OUTPUT_LEN);
	oprf_ctx_free(ctx);
}

/* kh_keystore_evaluate: batches, a bad element named by index, epochs not held. */
static void test_evaluate(void **state)
{
	struct kh_keystore *ks = NULL;
	struct oprf_ctx *ctx = NULL;
	uint8_t blind[3][OPRF_SCALAR_LEN], in[3 * OPRF_ELEMENT_LEN], out[3 * OPRF_ELEMENT_LEN];
	uint8_t fin[OPRF_OUTPUT_LEN], direct[OPRF_OUTPUT_LEN], sk[OPRF_SCALAR_LEN];
	const char *inputs[3] = {"a", "bb", "ccc"};
	size_t i, bad = 99;

	(void)state;
	fresh_dir("evaluate");
	assert_int_equal(kh_keystore_init(dir, NULL), CL_OK);
	assert_int_equal(kh_keystore_load(dir, &ks), CL_OK);
	assert_int_equal(oprf_ctx_new(&ctx), CL_OK);
	testkeys_sk(dir, 1, sk);
	for (i = 0; i < 3; i++)
		assert_int_equal(oprf_blind(ctx, (const uint8_t *)inputs[i], strlen(inputs[i]),
					    blind[i], in + i * OPRF_ELEMENT_LEN),
				 CL_OK);
	assert_int_equal(kh_keystore_evaluate(ks, 1, ctx, in, 3, out, &bad), CL_OK);
	for (i = 0; i < 3; i++) {
		assert_int_equal(oprf_finalize(ctx, (const uint8_t *)inputs[i], strlen(inputs[i]),
					       blind[i], out + i * OPRF_ELEMENT_LEN, fin),
				 CL_OK);
		assert_int_equal(
		    oprf_evaluate(ctx, sk, (const uint8_t *)inputs[i], strlen(inputs[i]), direct),
		    CL_OK);
		assert_memory_equal(fin, direct, OPRF_OUTPUT_LEN);
	}
	/* the third element is not a point: refused, and named */
	in[2 * OPRF_ELEMENT_LEN] = 0x07;
	assert_int_equal(kh_keystore_evaluate(ks, 1, ctx, in, 3, out, &bad), CL_EBADPOINT);
	assert_int_equal(bad, 2);
	assert_int_equal(kh_keystore_evaluate(ks, 2, ctx, in, 1, out, NULL), CL_ENOTFOUND);
	assert_int_equal(kh_keystore_evaluate(ks, 0, ctx, in, 1, out, NULL), CL_EINVAL);
	assert_int_equal(kh_keystore_evaluate(ks, 1, ctx, in, 0, out, NULL), CL_EINVAL);
	OPENSSL_cleanse(sk, sizeof(sk));
	oprf_ctx_free(ctx);
	kh_keystore_free(ks);
}

static void test_init(void **state)
{
	struct kh_keystore_epoch info, again;
	struct kh_keystore *ks = NULL;
	char path[1100], *before, *after;
	struct stat st;

	(void)state;
	fresh_dir("init");
	assert_int_equal(kh_keystore_init(dir, &info), CL_OK);
	assert_int_equal(info.epoch, 1);
	assert_int_equal(strlen(info.key_id), 16);
	assert_int_equal(info.retired, 0);
	assert_int_equal(stat(dir, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0700);
	key_path(path, sizeof(path));
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);

	/* A second init refuses and leaves the key untouched. */
	before = slurp(path);
	assert_int_equal(kh_keystore_init(dir, &again), CL_EEXIST);
	after = slurp(path);
	assert_string_equal(before, after);
	free(before);
	free(after);

	assert_int_equal(kh_keystore_load(dir, &ks), CL_OK);
	assert_int_equal(kh_keystore_count(ks), 1);
	assert_int_equal(kh_keystore_current(ks), 1);
	assert_int_equal(kh_keystore_info(ks, 0, &again), CL_OK);
	assert_string_equal(again.key_id, info.key_id);
	assert_memory_equal(again.pk, info.pk, OPRF_ELEMENT_LEN);
	kh_keystore_free(ks);

	/* Two stores get different keys. */
	fresh_dir("init2");
	assert_int_equal(kh_keystore_init(dir, &again), CL_OK);
	assert_string_not_equal(again.key_id, info.key_id);
}

static void test_rotate_and_select(void **state)
{
	struct kh_keystore_epoch e1, e2, got;
	struct kh_keystore *ks = NULL;
	uint8_t out1[OPRF_OUTPUT_LEN], out1_after[OPRF_OUTPUT_LEN], out2[OPRF_OUTPUT_LEN];
	uint32_t used = 0;
	int64_t now = (int64_t)time(NULL);
	char path[1100];
	struct stat st;

	(void)state;
	fresh_dir("rotate");
	assert_int_equal(kh_keystore_rotate(dir, &e2), CL_ENOTFOUND);
	assert_int_equal(kh_keystore_init(dir, &e1), CL_OK);
	assert_int_equal(kh_keystore_load(dir, &ks), CL_OK);
	prf_of(ks, 1, out1);
	kh_keystore_free(ks);
	ks = NULL;

	assert_int_equal(kh_keystore_rotate(dir, &e2), CL_OK);
	assert_int_equal(e2.epoch, 2);
	assert_string_not_equal(e2.key_id, e1.key_id);
	key_path(path, sizeof(path));
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);

	assert_int_equal(kh_keystore_load(dir, &ks), CL_OK);
	assert_int_equal(kh_keystore_count(ks), 2);
	assert_int_equal(kh_keystore_current(ks), 2);
	assert_int_equal(kh_keystore_info(ks, 0, &got), CL_OK);
	assert_int_equal(got.epoch, 1);
	assert_true(got.retired > 0);
	assert_string_equal(got.key_id, e1.key_id);
	assert_int_equal(kh_keystore_info(ks, 1, &got), CL_OK);
	assert_int_equal(got.retired, 0);

	/* 0 means current; the current key differs from the retired one. */
	assert_int_equal(kh_keystore_choose(ks, 0, now, 0, &used), CL_OK);
	assert_int_equal(used, 2);
	assert_int_equal(kh_keystore_choose(ks, 2, now, 0, &used), CL_OK);
	prf_of(ks, 2, out2);
	assert_memory_not_equal(out1, out2, OPRF_OUTPUT_LEN);
	/* The retired key is kept intact, and usable only by name within a grace period. */
	prf_of(ks, 1, out1_after);
	assert_memory_equal(out1, out1_after, OPRF_OUTPUT_LEN);
	used = 77;
	assert_int_equal(kh_keystore_choose(ks, 1, now, 0, &used), CL_EEXPIRED);
	assert_int_equal(used, 77);
	assert_int_equal(kh_keystore_choose(ks, 1, now + 7200, 3600, &used), CL_EEXPIRED);
	assert_int_equal(kh_keystore_choose(ks, 3, now, 3600, &used), CL_ENOTFOUND);
	kh_keystore_free(ks);
	ks = NULL;

	assert_int_equal(kh_keystore_rotate(dir, &got), CL_OK);
	assert_int_equal(got.epoch, 3);
	assert_int_equal(kh_keystore_load(dir, &ks), CL_OK);
	assert_int_equal(kh_keystore_count(ks), 3);
	assert_int_equal(kh_keystore_current(ks), 3);
	kh_keystore_free(ks);
}

static void test_refusals(void **state)
{
	struct kh_keystore *ks = NULL;
	char path[1100], *text, *p;
	FILE *f;

	(void)state;
	fresh_dir("perm");
	assert_int_equal(kh_keystore_load(dir, &ks), CL_ENOTFOUND);
	assert_int_equal(kh_keystore_init(dir, NULL), CL_OK);
	key_path(path, sizeof(path));
	assert_int_equal(chmod(path, 0644), 0);
	assert_int_equal(kh_keystore_load(dir, &ks), CL_EPERM);
	assert_int_equal(chmod(path, 0600), 0);
	assert_int_equal(chmod(dir, 0755), 0);
	assert_int_equal(kh_keystore_load(dir, &ks), CL_EPERM);
	assert_int_equal(chmod(dir, 0700), 0);
	assert_int_equal(kh_keystore_load(dir, &ks), CL_OK);
	kh_keystore_free(ks);
	ks = NULL;

	/* A changed digit of the public key no longer matches the key. */
	text = slurp(path);
	p = strstr(text, " pk=");
	assert_non_null(p);
	p += 10;
	*p = *p == '0' ? '1' : '0';
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	assert_int_equal(kh_keystore_load(dir, &ks), CL_ECORRUPT);
	assert_null(ks);
	/* A line that does not parse. */
	f = fopen(path, "w");
	assert_non_null(f);
	fputs("epoch=1 key_id=zz\n", f);
	fclose(f);
	assert_int_equal(kh_keystore_load(dir, &ks), CL_ECORRUPT);
	free(text);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_init),
	    cmocka_unit_test(test_rotate_and_select),
	    cmocka_unit_test(test_evaluate),
	    cmocka_unit_test(test_refusals),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
