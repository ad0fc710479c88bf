#include "common/cl_error.h"

#include <stddef.h>

struct cl_error_entry {
	int code;
	const char *name;
	const char *msg;
};

static const struct cl_error_entry cl_error_entries[] = {
#define CL_ERROR_ENTRY(name, value, msg) {value, #name, msg},
    CL_ERROR_TABLE(CL_ERROR_ENTRY)
#undef CL_ERROR_ENTRY
};

static const struct cl_error_entry *cl_error_find(int code)
{
	size_t i;

	for (i = 0; i < sizeof(cl_error_entries) / sizeof(cl_error_entries[0]); i++)
		if (cl_error_entries[i].code == code)
			return &cl_error_entries[i];
	return NULL;
}

const char *cl_strerror(int code)
{
	const struct cl_error_entry *e = cl_error_find(code);

	return e ? e->msg : "unknown error";
}

const char *cl_errname(int code)
{
	const struct cl_error_entry *e = cl_error_find(code);

	return e ? e->name : "CL_E?";
}
