/*
 * common/daemon: daemon_protect. Each case runs in a forked child (the protections are for the
 * whole process and last until it ends) and is checked from what the kernel reports: the
 * dumpable flag (prctl), the core limit (getrlimit), the locked memory (VmLck in
 * /proc/self/status), whether OpenSSL's secure heap hands out the keystore's blocks; and, with
 * a memory-lock limit below the heap and no CAP_IPC_LOCK, that the daemon still starts and says
 * so once in its log.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include <openssl/crypto.h>

#include "common/cl_error.h"
#include "common/daemon.h"
#include "common/log.h"

/* VmLck of this process in kB, or -1. */
static long locked_kb(void)
{
	char line[256];
	long kb = -1;
	FILE *f = fopen("/proc/self/status", "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "VmLck: %ld kB", &kb) == 1)
			break;
	fclose(f);
	return kb;
}

/* The child's checks: 0 when all hold, else the number of the first that failed. */
static int protected_child(int expect_locked)
{
	struct rlimit core;
	void *p;

	if (daemon_protect() != CL_OK)
		return 10;
	if (prctl(PR_GET_DUMPABLE, 0, 0, 0, 0) != 0)
		return 11;
	if (getrlimit(RLIMIT_CORE, &core) != 0 || core.rlim_cur != 0 || core.rlim_max != 0)
		return 12;
	if (!CRYPTO_secure_malloc_initialized())
		return 13;
	p = OPENSSL_secure_zalloc(4096);
	if (!p || !CRYPTO_secure_allocated(p))
		return 14;
	OPENSSL_secure_clear_free(p, 4096);
	if (expect_locked && locked_kb() < (long)(DAEMON_SECURE_HEAP / 1024))
		return 15;
	/* a second call changes nothing and logs nothing more */
	if (daemon_protect() != CL_OK)
		return 16;
	return 0;
}

/* Runs fn in a child with stderr into path; returns its exit status (-1: not a normal exit). */
static int run_child(int (*fn)(void), const char *path)
{
	pid_t pid;
	int st = 0;

	fflush(NULL);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		if (path && !freopen(path, "w", stderr))
			_exit(99);
		log_init("test", LOG_LEVEL_INFO);
		_exit(fn());
	}
	assert_int_equal(waitpid(pid, &st, 0), pid);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* Whether this process holds CAP_IPC_LOCK (bit 14 of CapEff), which lifts RLIMIT_MEMLOCK. */
static int has_ipc_lock(void)
{
	char line[256];
	unsigned long long caps = 0;
	FILE *f = fopen("/proc/self/status", "r");

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "CapEff: %llx", &caps) == 1)
			break;
	fclose(f);
	return (caps >> 14) & 1;
}

static int child_locked(void)
{
	struct rlimit lim;

	/* locked when the limit allows the heap (with what is already locked), or CAP_IPC_LOCK */
	return protected_child(has_ipc_lock() || (getrlimit(RLIMIT_MEMLOCK, &lim) == 0 &&
						  lim.rlim_cur >= 2 * DAEMON_SECURE_HEAP));
}

static int child_low_memlock(void)
{
	struct rlimit low = {64 * 1024, 64 * 1024};

	if (setrlimit(RLIMIT_MEMLOCK, &low) != 0)
		return 20;
	/* root would lock anyway: become nobody, which drops CAP_IPC_LOCK */
	if (geteuid() == 0 && (setgid(65534) != 0 || setuid(65534) != 0))
		return 21;
	if (has_ipc_lock())
		return 23;
	if (locked_kb() != 0)
		return 22;
	return protected_child(0);
}

static char *slurp(const char *path)
{
	static char buf[8192];
	size_t n;
	FILE *f = fopen(path, "r");

	assert_non_null(f);
	n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

static void log_path(const char *name, char *out, size_t n)
{
	const char *tmp = getenv("CASELINK_TMP");

	assert_true(snprintf(out, n, "%s/daemon-%s.log", tmp ? tmp : "/tmp", name) < (int)n);
}

static void test_protect(void **state)
{
	char path[4096];

	(void)state;
	log_path("protect", path, sizeof(path));
	assert_int_equal(run_child(child_locked, path), 0);
	assert_null(strstr(slurp(path), "secure_heap_unlocked"));
	unlink(path);
}

static void test_low_memlock_warns_once(void **state)
{
	char path[4096], *log, *at;

	(void)state;
	log_path("lowlock", path, sizeof(path));
	assert_int_equal(run_child(child_low_memlock, path), 0);
	log = slurp(path);
	at = strstr(log, "event=secure_heap_unlocked");
	assert_non_null(at);
	assert_non_null(strstr(at, "memlock_limit=65536"));
	assert_null(strstr(at + 1, "event=secure_heap_unlocked"));
	unlink(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_protect),
	    cmocka_unit_test(test_low_memlock_warns_once),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
