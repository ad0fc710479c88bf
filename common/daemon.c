#include "common/daemon.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "common/cl_error.h"
#include "common/log.h"

#define DAEMON_SECURE_MIN 16 /* the secure heap's smallest block */

static int daemon_notify_fd = -1;

int daemon_detach(void)
{
	int fds[2], devnull;
	pid_t pid;
	char c;

	if (pipe(fds) != 0)
		return CL_EIO;
	pid = fork();
	if (pid < 0) {
		close(fds[0]);
		close(fds[1]);
		return CL_EIO;
	}
	if (pid > 0) {
		ssize_t n;
		int st = 0;

		close(fds[1]);
		n = read(fds[0], &c, 1);
		if (n == 1)
			_exit(0);
		/* the child failed before serving: its own status, as in the foreground */
		if (waitpid(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) != 0)
			_exit(WEXITSTATUS(st));
		_exit(1);
	}
	close(fds[0]);
	daemon_notify_fd = fds[1];
	if (setsid() < 0)
		return CL_EIO;
	devnull = open("/dev/null", O_RDONLY);
	if (devnull >= 0) {
		dup2(devnull, STDIN_FILENO);
		if (devnull != STDIN_FILENO)
			close(devnull);
	}
	return CL_OK;
}

int daemon_protect(void)
{
	static int warned;
	struct rlimit none = {0, 0}, lock = {0, 0};
	int rc;

	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0 || setrlimit(RLIMIT_CORE, &none) != 0)
		return CL_EPERM;
	if (CRYPTO_secure_malloc_initialized())
		return CL_OK;
	rc = CRYPTO_secure_malloc_init(DAEMON_SECURE_HEAP, DAEMON_SECURE_MIN);
	if (rc == 0)
		return CL_ENOMEM;
	if (rc == 2 && !warned) {
		warned = 1;
		getrlimit(RLIMIT_MEMLOCK, &lock);
		log_event(LOG_LEVEL_WARN, "secure_heap_unlocked",
			  "bytes=%u memlock_limit=%llu reason=%s", DAEMON_SECURE_HEAP,
			  (unsigned long long)lock.rlim_cur,
			  "mlock refused: keys may be swapped to disk; raise RLIMIT_MEMLOCK "
			  "(ulimit -l, LimitMEMLOCK=, --ulimit memlock=) or grant CAP_IPC_LOCK");
	}
	return CL_OK;
}

int daemon_ready(const char *path, const char *listen, int port)
{
	char tmp[4096], host[256];
	const char *colon = listen ? strrchr(listen, ':') : NULL;
	size_t hl = colon ? (size_t)(colon - listen) : 0;
	FILE *f;
	int n;

	if (path) {
		if (hl >= sizeof(host))
			return CL_ELIMIT;
		memcpy(host, listen, hl);
		host[hl] = '\0';
		n = snprintf(tmp, sizeof(tmp), "%s.tmp", path);
		if (n < 0 || (size_t)n >= sizeof(tmp))
			return CL_ELIMIT;
		f = fopen(tmp, "w");
		if (!f)
			return CL_EIO;
		fprintf(f, "%s:%d\n", host, port);
		if (fclose(f) != 0 || rename(tmp, path) != 0)
			return CL_EIO;
	}
	if (daemon_notify_fd >= 0) {
		if (write(daemon_notify_fd, "r", 1) != 1)
			return CL_EIO;
		close(daemon_notify_fd);
		daemon_notify_fd = -1;
	}
	return CL_OK;
}

int daemon_parse(const char *prog, int argc, char **argv, struct daemon_opts *out)
{
	struct daemon_opts o = {NULL, NULL, NULL, 0};
	int i;

	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--foreground")) {
			o.foreground = 1;
		} else if (i + 1 < argc && !strcmp(argv[i], "--data")) {
			o.data = argv[++i];
		} else if (i + 1 < argc && !strcmp(argv[i], "--config")) {
			o.config = argv[++i];
		} else if (i + 1 < argc && !strcmp(argv[i], "--ready-file")) {
			o.ready = argv[++i];
		} else {
			fprintf(stderr, "%s serve: unknown or incomplete option '%.40s'\n", prog,
				argv[i]);
			o.data = NULL;
			break;
		}
	}
	if (!o.data || !o.config || !*o.data || !*o.config) {
		fprintf(stderr,
			"usage: %s serve --data DIR --config FILE [--foreground] "
			"[--ready-file FILE]\n",
			prog);
		return CL_EUSAGE;
	}
	*out = o;
	return CL_OK;
}
