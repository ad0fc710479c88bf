/*
 * daemon — what the caselink daemons share around their main loop:
 * detaching from the terminal unless --foreground, and announcing the bound
 * address in a ready file so that scripts and tests can wait for it.
 */
#ifndef CASELINK_DAEMON_H
#define CASELINK_DAEMON_H

/*
 * Detaches into the background (fork, setsid, stdin from /dev/null; stderr is
 * kept for the log). The parent exits 0 once the child has called
 * daemon_ready, or 1 if the child fails first. Call before starting threads.
 */
int daemon_detach(void);

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
