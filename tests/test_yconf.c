#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "common/cl_error.h"
#include "common/yconf.h"

static struct yconf *load(const char *text)
{
	struct yconf *c = NULL;
	char err[YCONF_MAX_ERROR];

	assert_int_equal(yconf_load_mem("t.yaml", text, strlen(text), &c, err, sizeof(err)), CL_OK);
	return c;
}

static void test_typed_getters(void **state)
{
	struct yconf *c = load("# comment\nname: node-1\nport: 7001\ntls: true\nlist: [a, b]\n");
	const char *s = NULL;
	long long v = 0;
	int b = 0, root = yconf_root(c), list;

	(void)state;
	assert_int_equal(yconf_get_str(c, root, "name", 1, &s), CL_OK);
	assert_string_equal(s, "node-1");
	assert_int_equal(yconf_get_int(c, root, "port", 1, 1, 65535, &v), CL_OK);
	assert_int_equal(v, 7001);
	assert_int_equal(yconf_get_bool(c, root, "tls", 1, &b), CL_OK);
	assert_int_equal(b, 1);
	list = yconf_get(c, root, "list");
	assert_int_equal(yconf_seq_len(c, list), 2);
	assert_string_equal(yconf_scalar(c, yconf_seq_item(c, list, 1)), "b");
	/* Absent optional key leaves the output untouched. */
	v = 42;
	assert_int_equal(yconf_get_int(c, root, "missing", 0, 0, 10, &v), CL_OK);
	assert_int_equal(v, 42);
	yconf_free(c);
}

static void test_errors_are_located(void **state)
{
	struct yconf *c = load("name: x\nport: 70000\nflag: maybe\nextra: 1\n");
	long long v = 0;
	int b = 0, root = yconf_root(c);
	static const char *const allowed[] = {"name", "port", "flag", NULL};

	(void)state;
	assert_int_equal(yconf_get_int(c, root, "port", 1, 1, 65535, &v), CL_ECONFIG);
	assert_string_equal(yconf_error(c), "t.yaml:2:7: 'port' must be between 1 and 65535");
	assert_int_equal(v, 0);
	assert_int_equal(yconf_get_bool(c, root, "flag", 1, &b), CL_ECONFIG);
	assert_string_equal(yconf_error(c), "t.yaml:3:7: 'flag' must be true or false");
	assert_int_equal(yconf_get_str(c, root, "absent", 1, &(const char *){NULL}), CL_ECONFIG);
	assert_string_equal(yconf_error(c), "t.yaml:1:1: missing required key 'absent'");
	assert_int_equal(yconf_only_keys(c, root, allowed), CL_ECONFIG);
	assert_string_equal(yconf_error(c), "t.yaml:4:1: unknown key 'extra'");
	yconf_free(c);
}

static void test_syntax_error_and_duplicates(void **state)
{
	struct yconf *c = NULL;
	char err[YCONF_MAX_ERROR] = "";
	static const char bad[] = "a: [1, 2\nb: 3\n";
	static const char dup[] = "a: 1\na: 2\n";
	static const char *const allowed[] = {"a", NULL};

	(void)state;
	assert_int_equal(yconf_load_mem("bad.yaml", bad, strlen(bad), &c, err, sizeof(err)),
			 CL_ECONFIG);
	assert_null(c);
	assert_true(strncmp(err, "bad.yaml:", 9) == 0);
	assert_int_equal(yconf_load_mem("d.yaml", dup, strlen(dup), &c, err, sizeof(err)), CL_OK);
	assert_int_equal(yconf_only_keys(c, yconf_root(c), allowed), CL_ECONFIG);
	assert_string_equal(yconf_error(c), "d.yaml:2:1: duplicate key 'a'");
	yconf_free(c);
}

static void test_two_documents_refused(void **state)
{
	struct yconf *c = NULL;
	char err[YCONF_MAX_ERROR] = "";
	static const char two[] = "a: 1\n---\nb: 2\n";

	(void)state;
	assert_int_equal(yconf_load_mem("two.yaml", two, strlen(two), &c, err, sizeof(err)),
			 CL_ECONFIG);
	assert_null(c);
	assert_non_null(strstr(err, "more than one YAML document"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_typed_getters),
	    cmocka_unit_test(test_errors_are_located),
	    cmocka_unit_test(test_syntax_error_and_duplicates),
	    cmocka_unit_test(test_two_documents_refused),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
