/*
 * cl_error — the one table of error codes used by every caselink module.
 *
 * Functions return int: 0 on success, or a negative CL_E* code below.
 * cl_strerror() gives the message for a code. Add new codes at the end of
 * the list, never renumber: codes may be written to logs and the audit.
 */
#ifndef CASELINK_CL_ERROR_H
#define CASELINK_CL_ERROR_H

#define CL_ERROR_TABLE(X)                                                                          \
	X(CL_OK, 0, "success")                                                                     \
	X(CL_ENOMEM, -1, "out of memory")                                                          \
	X(CL_EINVAL, -2, "invalid argument")                                                       \
	X(CL_EIO, -3, "input/output error")                                                        \
	X(CL_EOVERFLOW, -4, "size or value out of range")                                          \
	X(CL_EEXIST, -5, "already exists")                                                         \
	X(CL_ENOTFOUND, -6, "not found")                                                           \
	X(CL_ECORRUPT, -7, "stored data is corrupt")                                               \
	X(CL_ESQL, -8, "database error")                                                           \
	X(CL_ESCHEMA, -9, "unsupported store schema version")                                      \
	X(CL_EPARSE, -10, "malformed input")                                                       \
	X(CL_EBADROWS, -11, "input has rejected rows; nothing stored")                             \
	X(CL_ELIMIT, -12, "input exceeds a size limit")                                            \
	X(CL_ECRYPTO, -13, "cryptographic operation failed")                                       \
	X(CL_EPROTO, -14, "protocol error")                                                        \
	X(CL_EVERSION, -15, "protocol version mismatch")                                           \
	X(CL_ETLS, -16, "TLS or certificate error")                                                \
	X(CL_EAUTH, -17, "peer not authenticated")                                                 \
	X(CL_EDENIED, -18, "refused by policy")                                                    \
	X(CL_ETIMEOUT, -19, "deadline exceeded")                                                   \
	X(CL_EUNAVAIL, -20, "peer unavailable")                                                    \
	X(CL_ECANCELLED, -21, "cancelled")                                                         \
	X(CL_ESIGNATURE, -22, "signature verification failed")                                     \
	X(CL_EREPLAY, -23, "replayed request")                                                     \
	X(CL_EEXPIRED, -24, "request expired")                                                     \
	X(CL_EQUOTA, -25, "rate limit or quota exceeded")                                          \
	X(CL_EBUDGET, -26, "privacy budget exceeded")                                              \
	X(CL_EPOLICY, -27, "invalid policy")                                                       \
	X(CL_ECONFIG, -28, "invalid configuration")                                                \
	X(CL_EUSAGE, -29, "invalid command line")                                                  \
	X(CL_EUNSUPPORTED, -30, "not supported")                                                   \
	X(CL_EINTERNAL, -31, "internal error")                                                     \
	X(CL_EINTERRUPTED, -32, "interrupted")                                                     \
	X(CL_EAUDIT, -33, "audit log chain broken")                                                \
	X(CL_EPERM, -34, "permission denied")                                                      \
	X(CL_EBUSY, -35, "resource busy")                                                          \
	X(CL_ENOSPACE, -36, "no space left on device")                                             \
	X(CL_EBADPOINT, -37, "invalid group element encoding")                                     \
	X(CL_ESTALE, -38, "derived data out of date")

enum cl_error {
#define CL_ERROR_ENUM(name, value, msg) name = value,
	CL_ERROR_TABLE(CL_ERROR_ENUM)
#undef CL_ERROR_ENUM
};

/* Returns the message for an error code; never NULL, even for unknown codes. */
const char *cl_strerror(int code);

/* Returns the symbolic name ("CL_ENOMEM") of an error code; never NULL. */
const char *cl_errname(int code);

#endif
