/*
 * testkeys — the tests' own reading of a keyholder's key file (DATA/oprf-keys, format in
 * keyholder/keystore.h), so that OPRF ground truth is computed without the keystore module,
 * which keeps its keys to itself. Test code only: failures are CMocka assertions.
 */
#ifndef CASELINK_TESTS_TESTKEYS_H
#define CASELINK_TESTS_TESTKEYS_H

#include <stdint.h>

#include "protocol/oprf.h"

/* Reads the secret key of epoch (0: the current one, retired=0) from dir/oprf-keys. */
void testkeys_sk(const char *dir, uint32_t epoch, uint8_t sk[OPRF_SCALAR_LEN]);

#endif
