/*
 * yconf — read-only access to a YAML file (libyaml's document API) for
 * configuration and policy files, with every error located as
 * "FILE:LINE:COLUMN: reason". Nodes are referred to by int ids; 0 means none.
 */
#ifndef CASELINK_YCONF_H
#define CASELINK_YCONF_H

#include <stddef.h>

#define YCONF_MAX_FILE	(4u << 20) /* bytes of one YAML file */
#define YCONF_MAX_ERROR 512	   /* bytes of one error message */

struct yconf;

/*
 * Loads and parses the YAML file at path (at most YCONF_MAX_FILE bytes, one
 * document). On failure returns CL_EIO, CL_ELIMIT or CL_ECONFIG and, when err
 * is not NULL, writes a located message into err (errsz bytes).
 */
int yconf_load(const char *path, struct yconf **out, char *err, size_t errsz);

/* As yconf_load over a memory buffer; name is used in messages. */
int yconf_load_mem(const char *name, const char *buf, size_t len, struct yconf **out, char *err,
		   size_t errsz);

/* Frees a document; NULL is allowed. */
void yconf_free(struct yconf *c);

/* The root node (a mapping in every caselink file), or 0 for an empty document. */
int yconf_root(const struct yconf *c);

/* True when node is a mapping / sequence / scalar. */
int yconf_is_map(const struct yconf *c, int node);
int yconf_is_seq(const struct yconf *c, int node);
int yconf_is_scalar(const struct yconf *c, int node);

/* The value node of key in mapping map, or 0 when absent (or map is not a mapping). */
int yconf_get(const struct yconf *c, int map, const char *key);

/* The text of a scalar node, or NULL when node is not a scalar. */
const char *yconf_scalar(const struct yconf *c, int node);

/* Number of items of a sequence (0 for other nodes), and item i (0-based). */
size_t yconf_seq_len(const struct yconf *c, int node);
int yconf_seq_item(const struct yconf *c, int node, size_t i);

/* Number of pairs of a mapping, and the key text / value node of pair i. */
size_t yconf_map_len(const struct yconf *c, int node);
const char *yconf_map_key(const struct yconf *c, int node, size_t i);
int yconf_map_value(const struct yconf *c, int node, size_t i);

/*
 * Records "FILE:LINE:COLUMN: reason" for node (or the file when node is 0) as
 * the document's error, and returns CL_ECONFIG so that callers can write
 * `return yconf_fail(c, n, "...")`.
 */
int yconf_fail(struct yconf *c, int node, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* The last error recorded by yconf_fail or a getter below ("" when none). */
const char *yconf_error(const struct yconf *c);

/* Fails (CL_ECONFIG) on the first key of mapping map that is not in the NULL-terminated list. */
int yconf_only_keys(struct yconf *c, int map, const char *const *allowed);

/*
 * Typed getters of map[key]. When the key is absent they return 0 and leave
 * *out unchanged if !required, or fail if required. A present value of the
 * wrong type or out of range fails with a located message.
 */
int yconf_get_str(struct yconf *c, int map, const char *key, int required, const char **out);
int yconf_get_int(struct yconf *c, int map, const char *key, int required, long long min,
		  long long max, long long *out);
int yconf_get_bool(struct yconf *c, int map, const char *key, int required, int *out);

#endif
