/*
 * daemon — what the caselink daemons share around their main loop:
 * detaching from the terminal unless --foreground, protecting the memory
 * that holds keys, and announcing the bound address in a ready file so that
 * scripts and tests can wait for it.
 */
#ifndef CASELINK_DAEMON_H
#define CASELINK_DAEMON_H

/*
 * Detaches into the background (fork, setsid, stdin from /dev/null; stderr is
 * kept for the log). The parent exits 0 once the child has called
 * daemon_ready, or with the child's exit status (1 if it had none) if the
 * child ends first. Call first, before loading keys (memory locks are not
 * inherited across fork) and before starting threads.
 */
int daemon_detach(void);

/* Bytes of OpenSSL's secure heap that daemon_protect sets up (locked, not dumped). */
#define DAEMON_SECURE_HEAP (1u << 20)

/*
 * Protects a daemon that holds keys: no core dump (RLIMIT_CORE 0), not
 * dumpable nor traceable by other processes of its user (PR_SET_DUMPABLE 0),
 * and OpenSSL's secure heap of DAEMON_SECURE_HEAP bytes, locked in memory
 * (mlock) and left out of dumps, which then holds the keys OpenSSL loads
 * (TLS and signing keys, OPRF scalars) and what OPENSSL_secure_zalloc gives
 * (the keyholder's keystore). When the memory lock is refused (RLIMIT_MEMLOCK
 * below DAEMON_SECURE_HEAP, no CAP_IPC_LOCK) the heap is still used, unlocked,
 * and one warning is logged (secure_heap_unlocked). Call after daemon_detach
 * and before loading any key. CL_EPERM if a protection cannot be set,
 * CL_ENOMEM if the heap cannot be created.
 */
int daemon_protect(void);

/*
 * Writes "HOST:PORT\n" to path (when not NULL) atomically and tells a waiting
 * parent of daemon_detach that the daemon is serving.
 */
int daemon_ready(const char *path, const char *listen, int port);

/* The options every daemon's `serve` takes. */
struct daemon_opts {
	const char *data;   /* --data DIR (required) */
	const char *config; /* --config FILE (required) */
	const char *ready;  /* --ready-file FILE, or NULL */
	int foreground;	    /* --foreground */
};

/*
 * Parses `PROG serve --data DIR --config FILE [--foreground] [--ready-file
 * FILE]` (argv[0] is "serve"). On a bad or missing option prints what is
 * wrong and the usage to stderr and returns CL_EUSAGE.
 */
int daemon_parse(const char *prog, int argc, char **argv, struct daemon_opts *out);

#endif
