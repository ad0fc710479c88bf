/*
 * caselink-keyholder — the OPRF keyholder's program: init, rotate, status,
 * serve and audit verify. See docs/keyholder.md.
 * Exit status: 0 done (audit verify: chain intact), 1 failed (audit verify:
 * chain broken), 2 usage or configuration error.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "common/audit.h"
#include "common/cl_error.h"
#include "keyholder/keystore.h"
#include "keyholder/quota.h"
#include "keyholder/serve.h"

#define KH_MAIN_ACTOR "operator"

static void kh_main_usage(FILE *f)
{
	fprintf(f, "usage: caselink-keyholder init --data DIR\n"
		   "       caselink-keyholder rotate --data DIR\n"
		   "       caselink-keyholder status --data DIR\n"
		   "       caselink-keyholder serve --data DIR --config FILE [--foreground] "
		   "[--ready-file FILE]\n"
		   "       caselink-keyholder audit verify --data DIR\n");
}

/* Parses exactly "--data DIR" from argv[1..]. */
static int kh_main_data(int argc, char **argv, const char **data)
{
	if (argc != 3 || strcmp(argv[1], "--data") != 0 || !*argv[2]) {
		kh_main_usage(stderr);
		return CL_EUSAGE;
	}
	*data = argv[2];
	return CL_OK;
}

static int kh_main_db(const char *data, char *out, size_t n)
{
	int w = snprintf(out, n, "%s/%s", data, KH_DB_FILE);

	return w < 0 || (size_t)w >= n ? CL_ELIMIT : CL_OK;
}

/* Records a key event in the audit log (created with the first key). */
static int kh_main_audit(const char *data, const char *action, const struct kh_keystore_epoch *info)
{
	struct audit *a = NULL;
	char db[KH_KEYSTORE_PATH_MAX + 32], details[128];
	int rc;

	rc = kh_main_db(data, db, sizeof(db));
	if (rc == CL_OK)
		rc = audit_open(db, AUDIT_OPEN_CREATE, &a);
	if (rc == CL_OK) {
		snprintf(details, sizeof(details), "epoch=%u key_id=%s", (unsigned)info->epoch,
			 info->key_id);
		rc = audit_append(a, KH_MAIN_ACTOR, action, details, NULL);
	}
	audit_close(a);
	return rc;
}

static int kh_main_init(int argc, char **argv)
{
	struct kh_keystore_epoch info;
	const char *data = NULL;
	int rc;

	rc = kh_main_data(argc, argv, &data);
	if (rc != CL_OK)
		return rc;
	rc = kh_keystore_init(data, &info);
	if (rc == CL_OK)
		rc = kh_main_audit(data, "key_init", &info);
	if (rc != CL_OK) {
		fprintf(stderr, "caselink-keyholder init: %s: %s\n", data,
			rc == CL_EEXIST ? "a key exists already; refusing to overwrite it"
					: cl_strerror(rc));
		return rc;
	}
	printf("key_id: %s\nepoch: %u\n", info.key_id, (unsigned)info.epoch);
	return CL_OK;
}

static int kh_main_rotate(int argc, char **argv)
{
	struct kh_keystore_epoch info;
	const char *data = NULL;
	int rc;

	rc = kh_main_data(argc, argv, &data);
	if (rc != CL_OK)
		return rc;
	rc = kh_keystore_rotate(data, &info);
	if (rc == CL_OK)
		rc = kh_main_audit(data, "key_rotate", &info);
	if (rc != CL_OK) {
		fprintf(stderr, "caselink-keyholder rotate: %s: %s\n", data, cl_strerror(rc));
		return rc;
	}
	printf("key_id: %s\nepoch: %u\nprevious epoch retired; restart the daemon to serve the "
	       "new one\n",
	       info.key_id, (unsigned)info.epoch);
	return CL_OK;
}

static int kh_main_status(int argc, char **argv)
{
	struct kh_keystore *ks = NULL;
	struct kh_keystore_epoch info;
	struct audit *a = NULL;
	struct kh_quota *q = NULL;
	const char *data = NULL;
	char db[KH_KEYSTORE_PATH_MAX + 32];
	uint8_t hash[AUDIT_HASH_LEN];
	uint64_t entries = 0, today = 0;
	size_t i, n;
	int rc;

	rc = kh_main_data(argc, argv, &data);
	if (rc != CL_OK)
		return rc;
	rc = kh_keystore_load(data, &ks);
	if (rc != CL_OK) {
		fprintf(stderr, "caselink-keyholder status: keys in %s: %s\n", data,
			cl_strerror(rc));
		goto out;
	}
	n = kh_keystore_count(ks);
	kh_keystore_info(ks, n - 1, &info);
	printf("key_id: %s\nepoch: %u\nepochs: %zu (%zu retired)\n", info.key_id,
	       (unsigned)info.epoch, n, n - 1);
	for (i = 0; i < n; i++) {
		kh_keystore_info(ks, i, &info);
		printf("  epoch %u key_id %s %s\n", (unsigned)info.epoch, info.key_id,
		       info.retired ? "retired" : "current");
	}
	rc = kh_main_db(data, db, sizeof(db));
	if (rc == CL_OK)
		rc = audit_open(db, 0, &a);
	if (rc == CL_ENOTFOUND) {
		printf("audit_entries: 0\nelements_today: 0\n");
		rc = CL_OK;
		goto out;
	}
	if (rc == CL_OK)
		rc = audit_head(a, &entries, hash);
	if (rc == CL_OK)
		rc = kh_quota_open(db, 1, 1, &q);
	if (rc == CL_OK)
		rc = kh_quota_total(q, (int64_t)time(NULL) * 1000, &today);
	if (rc != CL_OK) {
		fprintf(stderr, "caselink-keyholder status: %s: %s\n", db, cl_strerror(rc));
		goto out;
	}
	printf("audit_entries: %llu\naudit_head: ", (unsigned long long)entries);
	for (i = 0; i < AUDIT_HASH_LEN; i++)
		printf("%02x", hash[i]);
	printf("\nelements_today: %llu\n", (unsigned long long)today);
out:
	kh_quota_close(q);
	audit_close(a);
	kh_keystore_free(ks);
	return rc;
}

int main(int argc, char **argv)
{
	int rc;

	if (argc < 2) {
		kh_main_usage(stderr);
		return 2;
	}
	if (!strcmp(argv[1], "help") || !strcmp(argv[1], "--help")) {
		kh_main_usage(stdout);
		return 0;
	}
	if (!strcmp(argv[1], "init"))
		rc = kh_main_init(argc - 1, argv + 1);
	else if (!strcmp(argv[1], "rotate"))
		rc = kh_main_rotate(argc - 1, argv + 1);
	else if (!strcmp(argv[1], "status"))
		rc = kh_main_status(argc - 1, argv + 1);
	else if (!strcmp(argv[1], "serve"))
		rc = kh_serve_main(argc - 1, argv + 1);
	else if (!strcmp(argv[1], "audit"))
		rc = audit_verify_main("caselink-keyholder", KH_DB_FILE, argc - 1, argv + 1);
	else {
		kh_main_usage(stderr);
		return 2;
	}
	if (rc == CL_OK)
		return 0;
	return rc == CL_EUSAGE || rc == CL_ECONFIG ? 2 : 1;
}
