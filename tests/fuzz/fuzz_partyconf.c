/*
 * libFuzzer harness for the daemons' YAML configuration parser: the first
 * byte picks the kind of party, the rest is the file. Every input must give
 * either a configuration or a located error, never a crash or a leak.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "common/cl_error.h"
#include "common/partyconf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const enum partyconf_kind kinds[] = {PARTYCONF_NODE, PARTYCONF_COORDINATOR,
						    PARTYCONF_KEYHOLDER};
	struct partyconf *pc = NULL;
	char err[512];
	int rc;

	if (size < 1)
		return 0;
	err[0] = '\0';
	rc = partyconf_load_mem("fuzz.yaml", (const char *)data + 1, size - 1, kinds[data[0] % 3],
				&pc, err, sizeof(err));
	if (rc == CL_OK) {
		size_t i;

		/* Touch what a daemon reads. */
		for (i = 0; i < pc->nnodes; i++)
			(void)partyconf_find_node(pc, pc->nodes[i].id);
		partyconf_free(pc);
	} else if (rc == CL_ECONFIG && strlen(err) == 0) {
		__builtin_trap(); /* a refusal must say where and why */
	}
	return 0;
}
