/*
 * keystore — the keyholder's OPRF keys, one per epoch, in DATA/oprf-keys.
 *
 * The data folder is 0700 and the key file 0600 (both are checked on load).
 * The file is text, one line per epoch:
 *
 *   epoch=1 key_id=HEX16 created=UNIX retired=UNIX|0 sk=HEX64 pk=HEX66
 *
 * key_id is the hex of the first 8 bytes of SHA-256(pk). Exactly one epoch,
 * the highest, is current (retired=0). Rotation writes a new file next to
 * the old one and renames it into place. Keys in memory live in OpenSSL's
 * secure heap when the daemon set one up (daemon_protect: locked, not dumped)
 * and are wiped on free; only kh_keystore_evaluate uses them.
 */
#ifndef CASELINK_KEYHOLDER_KEYSTORE_H
#define CASELINK_KEYHOLDER_KEYSTORE_H

#include <stddef.h>
#include <stdint.h>

#include "protocol/oprf.h"

#define KH_KEYSTORE_FILE       "oprf-keys"
#define KH_KEYSTORE_ID_LEN     17 /* 16 hex digits and the NUL */
#define KH_KEYSTORE_MAX_EPOCHS 1024
#define KH_KEYSTORE_PATH_MAX   1024

/* What may be told about one epoch (never the key). */
struct kh_keystore_epoch {
	uint32_t epoch;
	char key_id[KH_KEYSTORE_ID_LEN];
	int64_t created;
	int64_t retired; /* 0 for the current epoch */
	uint8_t pk[OPRF_ELEMENT_LEN];
};

struct kh_keystore;

/*
 * Creates dir (0700; an existing one must be a directory without group or
 * other access) and a new key at epoch 1. Refuses with CL_EEXIST if a key
 * file exists. *info (may be NULL) gets the new epoch's description.
 */
int kh_keystore_init(const char *dir, struct kh_keystore_epoch *info);

/*
 * Generates a new key at the current epoch + 1 and retires the current one
 * (kept, so that requests naming it get a clear answer). *info (may be NULL)
 * gets the new epoch's description.
 */
int kh_keystore_rotate(const char *dir, struct kh_keystore_epoch *info);

/*
 * Loads every epoch from dir. CL_ENOTFOUND without a key file, CL_EPERM if
 * the folder or file is open to group or others, CL_ECORRUPT if a line does
 * not parse or a public key or key id does not match its key.
 */
int kh_keystore_load(const char *dir, struct kh_keystore **out);

/* Wipes the keys and frees; NULL is allowed. */
void kh_keystore_free(struct kh_keystore *ks);

/* The number of epochs held (current and retired). */
size_t kh_keystore_count(const struct kh_keystore *ks);

/* Describes the i-th epoch, in increasing epoch order. */
int kh_keystore_info(const struct kh_keystore *ks, size_t i, struct kh_keystore_epoch *out);

/* The current epoch number. */
uint32_t kh_keystore_current(const struct kh_keystore *ks);

/*
 * Chooses the epoch for a request naming epoch (0 means current). A retired
 * epoch is used only while now < retired + grace_seconds; otherwise
 * CL_EEXPIRED. An epoch never issued is CL_ENOTFOUND. On success *epoch_out
 * gets the epoch to evaluate with. The key itself never leaves this module.
 */
int kh_keystore_choose(const struct kh_keystore *ks, uint32_t epoch, int64_t now,
		       int64_t grace_seconds, uint32_t *epoch_out);

/*
 * Evaluates n blinded elements (n * OPRF_ELEMENT_LEN bytes at in) under the
 * key of epoch (as kh_keystore_choose gave it) with ctx, into out. CL_ENOTFOUND
 * for an epoch not held, CL_EINVAL for n of 0 or above OPRF_MAX_BATCH; with
 * CL_EBADPOINT an element is not a valid point, nothing is evaluated and *bad
 * (may be NULL) gets the index of the first bad element.
 */
int kh_keystore_evaluate(const struct kh_keystore *ks, uint32_t epoch, struct oprf_ctx *ctx,
			 const uint8_t *in, size_t n, uint8_t *out, size_t *bad);

#endif
