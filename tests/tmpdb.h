/*
 * tmpdb — scratch SQLite database paths for tests (test_release, test_ledger): a fresh name
 * under CASELINK_TMP per call, and removal with the -wal and -shm files. Test code only.
 */
#ifndef CASELINK_TESTS_TMPDB_H
#define CASELINK_TESTS_TMPDB_H

#include <stddef.h>

/* Writes CASELINK_TMP (or /tmp)/<stem>.<pid>.<n>.db to path, n counting calls; removes it. */
void tmpdb_path(char *path, size_t size, const char *stem);

/* Removes a database file and its -wal and -shm companions (absent files are fine). */
void tmpdb_remove(const char *path);

#endif
