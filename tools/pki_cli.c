/* caselink pki — the federation CA: init-ca, issue, revoke. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cl_error.h"
#include "protocol/pki.h"
#include "tools/cli.h"

#define PKI_CLI_SAN_MAX 16

static void pki_cli_usage(FILE *f)
{
	fprintf(f, "usage: caselink pki init-ca --out DIR\n"
		   "       caselink pki issue --ca DIR --name ID --role "
		   "node|coordinator|keyholder|user|compute --out DIR\n"
		   "                          [--days N] [--dns NAME]... [--ip ADDR]... "
		   "[--loopback]\n"
		   "       caselink pki revoke --ca DIR --cert FILE\n"
		   "--loopback adds DNS:localhost and IP:127.0.0.1 for TLS on loopback.\n");
}

static int pki_cli_fail(const char *what, int rc)
{
	fprintf(stderr, "caselink pki: %s: %s\n", what, cl_strerror(rc));
	return rc == CL_EUSAGE || rc == CL_EINVAL ? 2 : 1;
}

/* Returns the value of option argv[*i] and advances *i, or NULL if missing. */
static const char *pki_cli_value(int argc, char **argv, int *i)
{
	if (*i + 1 >= argc) {
		fprintf(stderr, "caselink pki: %s needs a value\n", argv[*i]);
		return NULL;
	}
	(*i)++;
	return argv[*i];
}

int pki_main(int argc, char **argv)
{
	const char *cmd, *out = NULL, *ca = NULL, *cert = NULL, *v;
	const char *dns[PKI_CLI_SAN_MAX], *ips[PKI_CLI_SAN_MAX];
	struct pki_issue_opts o;
	int i, rc;

	if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "help")) {
		pki_cli_usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? 2 : 0;
	}
	memset(&o, 0, sizeof(o));
	cmd = argv[1];
	for (i = 2; i < argc; i++) {
		const char *a = argv[i];
		if (!strcmp(a, "--loopback")) {
			if (o.n_dns >= PKI_CLI_SAN_MAX || o.n_ips >= PKI_CLI_SAN_MAX)
				return pki_cli_fail("too many names", CL_EUSAGE);
			dns[o.n_dns++] = "localhost";
			ips[o.n_ips++] = "127.0.0.1";
			continue;
		}
		if (!(v = pki_cli_value(argc, argv, &i)))
			return 2;
		if (!strcmp(a, "--out")) {
			out = v;
		} else if (!strcmp(a, "--ca")) {
			ca = v;
		} else if (!strcmp(a, "--cert")) {
			cert = v;
		} else if (!strcmp(a, "--name")) {
			o.id = v;
		} else if (!strcmp(a, "--role")) {
			o.role = v;
		} else if (!strcmp(a, "--days")) {
			char *end;
			long d = strtol(v, &end, 10);
			if (*end || d < 1 || d > PKI_DAYS_MAX)
				return pki_cli_fail("--days must be 1..3650", CL_EUSAGE);
			o.days = (int)d;
		} else if (!strcmp(a, "--dns")) {
			if (o.n_dns >= PKI_CLI_SAN_MAX)
				return pki_cli_fail("too many --dns", CL_EUSAGE);
			dns[o.n_dns++] = v;
		} else if (!strcmp(a, "--ip")) {
			if (o.n_ips >= PKI_CLI_SAN_MAX)
				return pki_cli_fail("too many --ip", CL_EUSAGE);
			ips[o.n_ips++] = v;
		} else {
			fprintf(stderr, "caselink pki: unknown option '%s'\n", a);
			pki_cli_usage(stderr);
			return 2;
		}
	}
	o.dns = dns;
	o.ips = ips;
	if (!strcmp(cmd, "init-ca")) {
		if (!out)
			return pki_cli_fail("init-ca needs --out DIR", CL_EUSAGE);
		rc = pki_init_ca(out);
		if (rc)
			return pki_cli_fail("init-ca", rc);
		printf("created CA in %s (ca.pem, ca.key, crl.pem)\n", out);
		return 0;
	}
	if (!strcmp(cmd, "issue")) {
		if (!ca || !out || !o.id || !o.role)
			return pki_cli_fail("issue needs --ca, --name, --role and --out",
					    CL_EUSAGE);
		if (!pki_id_valid(o.id))
			return pki_cli_fail("--name must be 1..64 of [A-Za-z0-9._-]", CL_EUSAGE);
		if (!pki_role_valid(o.role))
			return pki_cli_fail(
			    "--role must be node, coordinator, keyholder, user or compute",
			    CL_EUSAGE);
		rc = pki_issue(ca, out, &o);
		if (rc)
			return pki_cli_fail("issue", rc);
		printf("issued %s/%s.pem and %s/%s.key (role %s)\n", out, o.id, out, o.id, o.role);
		return 0;
	}
	if (!strcmp(cmd, "revoke")) {
		if (!ca || !cert)
			return pki_cli_fail("revoke needs --ca and --cert", CL_EUSAGE);
		rc = pki_revoke(ca, cert);
		if (rc)
			return pki_cli_fail("revoke", rc);
		printf("revoked; updated %s/crl.pem\n", ca);
		return 0;
	}
	fprintf(stderr, "caselink pki: unknown subcommand '%s'\n", cmd);
	pki_cli_usage(stderr);
	return 2;
}
