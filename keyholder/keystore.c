#include "keyholder/keystore.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "common/cl_error.h"

#define KH_KEYSTORE_LINE_MAX 256
#define KH_KEYSTORE_FILE_MAX (KH_KEYSTORE_MAX_EPOCHS * KH_KEYSTORE_LINE_MAX + 256)
#define KH_KEYSTORE_HEADER   "# caselink keyholder OPRF keys v1: secret, never copy or log\n"

struct kh_keystore_key {
	struct kh_keystore_epoch info;
	uint8_t sk[OPRF_SCALAR_LEN];
};

struct kh_keystore {
	size_t n, cap;
	struct kh_keystore_key *keys; /* increasing epochs; the last one is current */
};

/* The P-256 generator as a compressed SEC1 point: sk * G must equal pk. */
static const uint8_t kh_keystore_gen[OPRF_ELEMENT_LEN] = {
    0x03, 0x6b, 0x17, 0xd1, 0xf2, 0xe1, 0x2c, 0x42, 0x47, 0xf8, 0xbc,
    0xe6, 0xe5, 0x63, 0xa4, 0x40, 0xf2, 0x77, 0x03, 0x7d, 0x81, 0x2d,
    0xeb, 0x33, 0xa0, 0xf4, 0xa1, 0x39, 0x45, 0xd8, 0x98, 0xc2, 0x96};

static int kh_keystore_path(const char *dir, const char *name, char out[KH_KEYSTORE_PATH_MAX])
{
	int n = snprintf(out, KH_KEYSTORE_PATH_MAX, "%s/%s", dir, name);

	return n < 0 || n >= KH_KEYSTORE_PATH_MAX ? CL_ELIMIT : CL_OK;
}

static void kh_keystore_hex(const uint8_t *b, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";
	size_t i;

	for (i = 0; i < n; i++) {
		out[2 * i] = digits[b[i] >> 4];
		out[2 * i + 1] = digits[b[i] & 15];
	}
	out[2 * n] = '\0';
}

static int kh_keystore_unhex(const char *s, size_t n, uint8_t *out)
{
	size_t i;

	if (strlen(s) != 2 * n)
		return CL_ECORRUPT;
	for (i = 0; i < 2 * n; i++) {
		int v = s[i] >= '0' && s[i] <= '9'   ? s[i] - '0'
			: s[i] >= 'a' && s[i] <= 'f' ? s[i] - 'a' + 10
						     : -1;

		if (v < 0)
			return CL_ECORRUPT;
		if (i % 2 == 0)
			out[i / 2] = (uint8_t)(v << 4);
		else
			out[i / 2] |= (uint8_t)v;
	}
	return CL_OK;
}

/* key_id: hex of the first 8 bytes of SHA-256(pk). */
static int kh_keystore_key_id(const uint8_t pk[OPRF_ELEMENT_LEN], char id[KH_KEYSTORE_ID_LEN])
{
	uint8_t h[EVP_MAX_MD_SIZE];
	unsigned int hlen = 0;

	if (!EVP_Digest(pk, OPRF_ELEMENT_LEN, h, &hlen, EVP_sha256(), NULL) || hlen < 8)
		return CL_ECRYPTO;
	kh_keystore_hex(h, 8, id);
	return CL_OK;
}

/* The folder must be a directory without group or other access. */
static int kh_keystore_check_dir(const char *dir)
{
	struct stat st;

	if (stat(dir, &st) != 0)
		return errno == ENOENT ? CL_ENOTFOUND : CL_EIO;
	if (!S_ISDIR(st.st_mode))
		return CL_EINVAL;
	return (st.st_mode & 077) ? CL_EPERM : CL_OK;
}

void kh_keystore_free(struct kh_keystore *ks)
{
	if (!ks)
		return;
	if (ks->keys)
		OPENSSL_secure_clear_free(ks->keys, ks->cap * sizeof(*ks->keys));
	free(ks);
}

/* Parses one line into k; the line's secret part is the caller's to wipe. */
static int kh_keystore_parse_line(const char *line, struct kh_keystore_key *k)
{
	char id[KH_KEYSTORE_ID_LEN + 1], sk[2 * OPRF_SCALAR_LEN + 2], pk[2 * OPRF_ELEMENT_LEN + 2];
	long long created = 0, retired = 0;
	unsigned int epoch = 0;
	int used = -1, rc = CL_ECORRUPT;

	if (sscanf(line,
		   "epoch=%10u key_id=%17[0-9a-f] created=%18lld retired=%18lld "
		   "sk=%65[0-9a-f] pk=%67[0-9a-f]%n",
		   &epoch, id, &created, &retired, sk, pk, &used) != 6 ||
	    used < 0 || line[used] != '\0')
		goto out;
	if (epoch == 0 || created < 0 || retired < 0 || strlen(id) != KH_KEYSTORE_ID_LEN - 1)
		goto out;
	if (kh_keystore_unhex(sk, OPRF_SCALAR_LEN, k->sk) != CL_OK ||
	    kh_keystore_unhex(pk, OPRF_ELEMENT_LEN, k->info.pk) != CL_OK)
		goto out;
	k->info.epoch = epoch;
	memcpy(k->info.key_id, id, KH_KEYSTORE_ID_LEN);
	k->info.created = created;
	k->info.retired = retired;
	rc = CL_OK;
out:
	OPENSSL_cleanse(sk, sizeof(sk));
	return rc;
}

/* Checks that every key matches its public key and key id, epochs increase, one current. */
static int kh_keystore_check(struct kh_keystore *ks)
{
	struct oprf_ctx *ctx = NULL;
	uint8_t pk[OPRF_ELEMENT_LEN];
	char id[KH_KEYSTORE_ID_LEN];
	size_t i;
	int rc;

	if (ks->n == 0)
		return CL_ECORRUPT;
	rc = oprf_ctx_new(&ctx);
	if (rc != CL_OK)
		return rc;
	for (i = 0; i < ks->n; i++) {
		const struct kh_keystore_key *k = &ks->keys[i];

		rc = CL_ECORRUPT;
		if (i > 0 && k->info.epoch <= ks->keys[i - 1].info.epoch)
			goto out;
		if ((i + 1 == ks->n) != (k->info.retired == 0))
			goto out;
		if (oprf_blind_evaluate(ctx, k->sk, kh_keystore_gen, pk) != CL_OK ||
		    memcmp(pk, k->info.pk, sizeof(pk)) != 0)
			goto out;
		if (kh_keystore_key_id(pk, id) != CL_OK || strcmp(id, k->info.key_id) != 0)
			goto out;
	}
	rc = CL_OK;
out:
	oprf_ctx_free(ctx);
	return rc;
}

int kh_keystore_load(const char *dir, struct kh_keystore **out)
{
	struct kh_keystore *ks = NULL;
	char path[KH_KEYSTORE_PATH_MAX];
	char *buf = NULL, *line, *save = NULL;
	struct stat st;
	ssize_t got;
	size_t len = 0, cap = 0;
	int fd = -1, rc;

	if (!dir || !out)
		return CL_EINVAL;
	rc = kh_keystore_check_dir(dir);
	if (rc == CL_OK)
		rc = kh_keystore_path(dir, KH_KEYSTORE_FILE, path);
	if (rc != CL_OK)
		return rc;
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return errno == ENOENT ? CL_ENOTFOUND : CL_EIO;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		rc = CL_EIO;
		goto out;
	}
	if (st.st_mode & 077) {
		rc = CL_EPERM;
		goto out;
	}
	if (st.st_size < 0 || st.st_size > KH_KEYSTORE_FILE_MAX) {
		rc = CL_ELIMIT;
		goto out;
	}
	cap = (size_t)st.st_size + 1;
	buf = malloc(cap);
	ks = calloc(1, sizeof(*ks));
	if (!buf || !ks) {
		rc = CL_ENOMEM;
		goto out;
	}
	while (len + 1 < cap && (got = read(fd, buf + len, cap - 1 - len)) > 0)
		len += (size_t)got;
	buf[len] = '\0';
	/* one key a line at most, and room for the one a rotation adds */
	ks->cap = 2;
	for (line = buf; *line && ks->cap <= KH_KEYSTORE_MAX_EPOCHS; line++)
		ks->cap += *line == '\n';
	ks->keys = OPENSSL_secure_zalloc(ks->cap * sizeof(*ks->keys));
	if (!ks->keys) {
		rc = CL_ENOMEM;
		goto out;
	}
	rc = CL_OK;
	for (line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		if (line[0] == '#')
			continue;
		if (ks->n == KH_KEYSTORE_MAX_EPOCHS || ks->n + 1 >= ks->cap) {
			rc = CL_ELIMIT;
			break;
		}
		rc = kh_keystore_parse_line(line, &ks->keys[ks->n]);
		if (rc != CL_OK)
			break;
		ks->n++;
	}
	if (rc == CL_OK)
		rc = kh_keystore_check(ks);
	if (rc != CL_OK)
		goto out;
	*out = ks;
	ks = NULL;
out:
	if (buf) {
		OPENSSL_cleanse(buf, cap);
		free(buf);
	}
	if (fd >= 0)
		close(fd);
	kh_keystore_free(ks);
	return rc;
}

/* Writes every epoch of ks to dir/oprf-keys through a temporary file (0600, O_EXCL). */
static int kh_keystore_write(const char *dir, const struct kh_keystore *ks, int replace)
{
	char path[KH_KEYSTORE_PATH_MAX], tmp[KH_KEYSTORE_PATH_MAX];
	char line[KH_KEYSTORE_LINE_MAX], sk[2 * OPRF_SCALAR_LEN + 1], pk[2 * OPRF_ELEMENT_LEN + 1];
	size_t i;
	int fd = -1, dfd = -1, rc, n, written = 0;

	rc = kh_keystore_path(dir, KH_KEYSTORE_FILE, path);
	if (rc == CL_OK)
		rc = kh_keystore_path(dir, KH_KEYSTORE_FILE ".new", tmp);
	if (rc != CL_OK)
		return rc;
	if (!replace && access(path, F_OK) == 0)
		return CL_EEXIST;
	unlink(tmp); /* left over by an interrupted rotation: never read */
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return CL_EIO;
	rc = CL_EIO;
	if (write(fd, KH_KEYSTORE_HEADER, strlen(KH_KEYSTORE_HEADER)) !=
	    (ssize_t)strlen(KH_KEYSTORE_HEADER))
		goto out;
	for (i = 0; i < ks->n; i++) {
		const struct kh_keystore_key *k = &ks->keys[i];

		kh_keystore_hex(k->sk, OPRF_SCALAR_LEN, sk);
		kh_keystore_hex(k->info.pk, OPRF_ELEMENT_LEN, pk);
		n = snprintf(line, sizeof(line),
			     "epoch=%u key_id=%s created=%lld retired=%lld sk=%s pk=%s\n",
			     (unsigned)k->info.epoch, k->info.key_id, (long long)k->info.created,
			     (long long)k->info.retired, sk, pk);
		if (n < 0 || (size_t)n >= sizeof(line) || write(fd, line, (size_t)n) != n)
			goto out;
	}
	if (fsync(fd) != 0 || close(fd) != 0) {
		fd = -1;
		goto out;
	}
	fd = -1;
	if (replace) {
		if (rename(tmp, path) != 0)
			goto out;
	} else if (link(tmp, path) != 0) { /* refuses to replace a file that appeared meanwhile */
		rc = errno == EEXIST ? CL_EEXIST : CL_EIO;
		goto out;
	} else {
		unlink(tmp);
	}
	written = 1;
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0) {
		fsync(dfd);
		close(dfd);
	}
	rc = CL_OK;
out:
	OPENSSL_cleanse(line, sizeof(line));
	OPENSSL_cleanse(sk, sizeof(sk));
	if (fd >= 0)
		close(fd);
	if (!written)
		unlink(tmp);
	return rc;
}

/* Generates the key of epoch into k. */
static int kh_keystore_generate(uint32_t epoch, struct kh_keystore_key *k)
{
	struct oprf_ctx *ctx = NULL;
	int rc;

	memset(k, 0, sizeof(*k));
	rc = oprf_ctx_new(&ctx);
	if (rc == CL_OK)
		rc = oprf_generate_key(ctx, k->sk, k->info.pk);
	if (rc == CL_OK)
		rc = kh_keystore_key_id(k->info.pk, k->info.key_id);
	oprf_ctx_free(ctx);
	if (rc != CL_OK) {
		OPENSSL_cleanse(k, sizeof(*k));
		return rc;
	}
	k->info.epoch = epoch;
	k->info.created = (int64_t)time(NULL);
	k->info.retired = 0;
	return CL_OK;
}

int kh_keystore_init(const char *dir, struct kh_keystore_epoch *info)
{
	struct kh_keystore ks = {0, 1, NULL};
	struct kh_keystore_key key;
	int rc;

	if (!dir || !*dir)
		return CL_EINVAL;
	if (mkdir(dir, 0700) != 0 && errno != EEXIST)
		return errno == EACCES ? CL_EPERM : CL_EIO;
	rc = kh_keystore_check_dir(dir);
	if (rc != CL_OK)
		return rc;
	rc = kh_keystore_generate(1, &key);
	if (rc != CL_OK)
		return rc;
	ks.n = 1;
	ks.keys = &key;
	rc = kh_keystore_write(dir, &ks, 0);
	if (rc == CL_OK && info)
		*info = key.info;
	OPENSSL_cleanse(&key, sizeof(key));
	return rc;
}

int kh_keystore_rotate(const char *dir, struct kh_keystore_epoch *info)
{
	struct kh_keystore *ks = NULL;
	struct kh_keystore_key *cur;
	int rc;

	if (!dir)
		return CL_EINVAL;
	rc = kh_keystore_load(dir, &ks);
	if (rc != CL_OK)
		return rc;
	if (ks->n >= KH_KEYSTORE_MAX_EPOCHS || ks->keys[ks->n - 1].info.epoch == UINT32_MAX) {
		rc = CL_ELIMIT;
		goto out;
	}
	cur = &ks->keys[ks->n - 1];
	rc = kh_keystore_generate(cur->info.epoch + 1, &ks->keys[ks->n]);
	if (rc != CL_OK)
		goto out;
	cur->info.retired = ks->keys[ks->n].info.created;
	if (cur->info.retired <= 0)
		cur->info.retired = 1;
	ks->n++;
	rc = kh_keystore_write(dir, ks, 1);
	if (rc == CL_OK && info)
		*info = ks->keys[ks->n - 1].info;
out:
	kh_keystore_free(ks);
	return rc;
}

size_t kh_keystore_count(const struct kh_keystore *ks)
{
	return ks ? ks->n : 0;
}

int kh_keystore_info(const struct kh_keystore *ks, size_t i, struct kh_keystore_epoch *out)
{
	if (!ks || !out || i >= ks->n)
		return CL_EINVAL;
	*out = ks->keys[i].info;
	return CL_OK;
}

uint32_t kh_keystore_current(const struct kh_keystore *ks)
{
	return ks && ks->n ? ks->keys[ks->n - 1].info.epoch : 0;
}

/* The key of the request's epoch (0: current), or NULL when none is held. */
static const struct kh_keystore_key *kh_keystore_find(const struct kh_keystore *ks, uint32_t epoch)
{
	size_t i;

	if (epoch == 0)
		return &ks->keys[ks->n - 1];
	for (i = 0; i < ks->n; i++)
		if (ks->keys[i].info.epoch == epoch)
			return &ks->keys[i];
	return NULL;
}

int kh_keystore_choose(const struct kh_keystore *ks, uint32_t epoch, int64_t now,
		       int64_t grace_seconds, uint32_t *epoch_out)
{
	const struct kh_keystore_key *k;

	if (!ks || !ks->n || !epoch_out)
		return CL_EINVAL;
	k = kh_keystore_find(ks, epoch);
	if (!k)
		return CL_ENOTFOUND;
	if (k->info.retired != 0 &&
	    (grace_seconds <= 0 || now < k->info.retired || now - k->info.retired >= grace_seconds))
		return CL_EEXPIRED;
	*epoch_out = k->info.epoch;
	return CL_OK;
}

int kh_keystore_evaluate(const struct kh_keystore *ks, uint32_t epoch, struct oprf_ctx *ctx,
			 const uint8_t *in, size_t n, uint8_t *out, size_t *bad)
{
	const struct kh_keystore_key *k;
	uint8_t one[OPRF_ELEMENT_LEN];
	size_t i;
	int rc;

	if (!ks || !ks->n || epoch == 0 || !ctx || !in || !out)
		return CL_EINVAL;
	k = kh_keystore_find(ks, epoch);
	if (!k)
		return CL_ENOTFOUND;
	rc = oprf_blind_evaluate_batch(ctx, k->sk, in, n, out);
	if (rc == CL_EBADPOINT) {
		/* the batch says only that one is bad: find the first, for the refusal */
		for (i = 0; i < n; i++)
			if (oprf_blind_evaluate(ctx, k->sk, in + i * OPRF_ELEMENT_LEN, one) !=
			    CL_OK)
				break;
		if (bad)
			*bad = i;
		OPENSSL_cleanse(one, sizeof(one));
	}
	return rc;
}
