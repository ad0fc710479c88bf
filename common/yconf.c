#include "common/yconf.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yaml.h>

#include "common/cl_error.h"

struct yconf {
	yaml_document_t doc;
	int loaded;
	char name[256];
	char error[YCONF_MAX_ERROR];
};

static yaml_node_t *yconf_node(const struct yconf *c, int node)
{
	if (!c || !c->loaded || node <= 0)
		return NULL;
	return yaml_document_get_node((yaml_document_t *)&c->doc, node);
}

static void yconf_seterr(char *err, size_t errsz, const char *name, size_t line, size_t col,
			 const char *what)
{
	if (err && errsz)
		snprintf(err, errsz, "%s:%zu:%zu: %s", name, line, col, what);
}

int yconf_load_mem(const char *name, const char *buf, size_t len, struct yconf **out, char *err,
		   size_t errsz)
{
	struct yconf *c = NULL;
	yaml_parser_t parser;
	yaml_document_t extra;
	int parser_ok = 0, rc = CL_OK;

	if (!name || !buf || !out)
		return CL_EINVAL;
	if (len > YCONF_MAX_FILE) {
		yconf_seterr(err, errsz, name, 0, 0, "file too large");
		return CL_ELIMIT;
	}
	c = calloc(1, sizeof(*c));
	if (!c)
		return CL_ENOMEM;
	snprintf(c->name, sizeof(c->name), "%s", name);
	if (!yaml_parser_initialize(&parser)) {
		rc = CL_ENOMEM;
		goto out;
	}
	parser_ok = 1;
	yaml_parser_set_input_string(&parser, (const unsigned char *)buf, len);
	if (!yaml_parser_load(&parser, &c->doc)) {
		char what[256];

		snprintf(what, sizeof(what), "%s%s%s",
			 parser.problem ? parser.problem : "parse error", parser.context ? " " : "",
			 parser.context ? parser.context : "");
		yconf_seterr(err, errsz, name, parser.problem_mark.line + 1,
			     parser.problem_mark.column + 1, what);
		rc = CL_ECONFIG;
		goto out;
	}
	c->loaded = 1;
	/* A second document in the same file is refused: one file, one document. */
	if (yaml_parser_load(&parser, &extra)) {
		int more = yaml_document_get_root_node(&extra) != NULL;

		yaml_document_delete(&extra);
		if (more) {
			yconf_seterr(err, errsz, name, parser.mark.line + 1, 1,
				     "more than one YAML document");
			rc = CL_ECONFIG;
			goto out;
		}
	} else {
		yconf_seterr(err, errsz, name, parser.problem_mark.line + 1,
			     parser.problem_mark.column + 1,
			     parser.problem ? parser.problem : "parse error");
		rc = CL_ECONFIG;
		goto out;
	}
	*out = c;
	c = NULL;
out:
	if (parser_ok)
		yaml_parser_delete(&parser);
	yconf_free(c);
	return rc;
}

int yconf_load(const char *path, struct yconf **out, char *err, size_t errsz)
{
	FILE *f = NULL;
	char *buf = NULL;
	size_t len = 0;
	int rc = CL_OK;

	if (!path || !out)
		return CL_EINVAL;
	f = fopen(path, "rb");
	if (!f) {
		if (err && errsz)
			snprintf(err, errsz, "%s: %s", path, strerror(errno));
		return CL_EIO;
	}
	buf = malloc(YCONF_MAX_FILE + 1);
	if (!buf) {
		rc = CL_ENOMEM;
		goto out;
	}
	len = fread(buf, 1, YCONF_MAX_FILE + 1, f);
	if (ferror(f)) {
		if (err && errsz)
			snprintf(err, errsz, "%s: read error", path);
		rc = CL_EIO;
		goto out;
	}
	if (len > YCONF_MAX_FILE) {
		yconf_seterr(err, errsz, path, 0, 0, "file too large");
		rc = CL_ELIMIT;
		goto out;
	}
	rc = yconf_load_mem(path, buf, len, out, err, errsz);
out:
	free(buf);
	if (f)
		fclose(f);
	return rc;
}

void yconf_free(struct yconf *c)
{
	if (!c)
		return;
	if (c->loaded)
		yaml_document_delete(&c->doc);
	free(c);
}

int yconf_root(const struct yconf *c)
{
	if (!c || !c->loaded || !yaml_document_get_root_node((yaml_document_t *)&c->doc))
		return 0;
	return 1; /* libyaml numbers nodes from 1 and the root is the first one */
}

int yconf_is_map(const struct yconf *c, int node)
{
	yaml_node_t *n = yconf_node(c, node);

	return n && n->type == YAML_MAPPING_NODE;
}

int yconf_is_seq(const struct yconf *c, int node)
{
	yaml_node_t *n = yconf_node(c, node);

	return n && n->type == YAML_SEQUENCE_NODE;
}

int yconf_is_scalar(const struct yconf *c, int node)
{
	yaml_node_t *n = yconf_node(c, node);

	return n && n->type == YAML_SCALAR_NODE;
}

const char *yconf_scalar(const struct yconf *c, int node)
{
	yaml_node_t *n = yconf_node(c, node);

	if (!n || n->type != YAML_SCALAR_NODE)
		return NULL;
	return (const char *)n->data.scalar.value;
}

size_t yconf_seq_len(const struct yconf *c, int node)
{
	yaml_node_t *n = yconf_node(c, node);

	if (!n || n->type != YAML_SEQUENCE_NODE)
		return 0;
	return (size_t)(n->data.sequence.items.top - n->data.sequence.items.start);
}

int yconf_seq_item(const struct yconf *c, int node, size_t i)
{
	yaml_node_t *n = yconf_node(c, node);

	if (!n || n->type != YAML_SEQUENCE_NODE || i >= yconf_seq_len(c, node))
		return 0;
	return n->data.sequence.items.start[i];
}

size_t yconf_map_len(const struct yconf *c, int node)
{
	yaml_node_t *n = yconf_node(c, node);

	if (!n || n->type != YAML_MAPPING_NODE)
		return 0;
	return (size_t)(n->data.mapping.pairs.top - n->data.mapping.pairs.start);
}

const char *yconf_map_key(const struct yconf *c, int node, size_t i)
{
	yaml_node_t *n = yconf_node(c, node);

	if (!n || n->type != YAML_MAPPING_NODE || i >= yconf_map_len(c, node))
		return NULL;
	return yconf_scalar(c, n->data.mapping.pairs.start[i].key);
}

int yconf_map_value(const struct yconf *c, int node, size_t i)
{
	yaml_node_t *n = yconf_node(c, node);

	if (!n || n->type != YAML_MAPPING_NODE || i >= yconf_map_len(c, node))
		return 0;
	return n->data.mapping.pairs.start[i].value;
}

int yconf_get(const struct yconf *c, int map, const char *key)
{
	size_t i, n = yconf_map_len(c, map);

	for (i = 0; i < n; i++) {
		const char *k = yconf_map_key(c, map, i);

		if (k && !strcmp(k, key))
			return yconf_map_value(c, map, i);
	}
	return 0;
}

int yconf_fail(struct yconf *c, int node, const char *fmt, ...)
{
	yaml_node_t *n = yconf_node(c, node);
	char what[YCONF_MAX_ERROR];
	va_list ap;

	if (!c)
		return CL_ECONFIG;
	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	if (n)
		snprintf(c->error, sizeof(c->error), "%.200s:%zu:%zu: %.250s", c->name,
			 (size_t)n->start_mark.line + 1, (size_t)n->start_mark.column + 1, what);
	else
		snprintf(c->error, sizeof(c->error), "%.200s: %.250s", c->name, what);
	return CL_ECONFIG;
}

const char *yconf_error(const struct yconf *c)
{
	return c ? c->error : "";
}

int yconf_only_keys(struct yconf *c, int map, const char *const *allowed)
{
	size_t i, j, n = yconf_map_len(c, map);

	if (!yconf_is_map(c, map))
		return yconf_fail(c, map, "expected a mapping");
	for (i = 0; i < n; i++) {
		const char *k = yconf_map_key(c, map, i);
		int known = 0;

		if (!k)
			return yconf_fail(c, map, "a key that is not a plain scalar");
		for (j = 0; allowed[j]; j++)
			if (!strcmp(k, allowed[j]))
				known = 1;
		if (!known) {
			yaml_node_t *mn = yconf_node(c, map);

			return yconf_fail(c, mn->data.mapping.pairs.start[i].key,
					  "unknown key '%.64s'", k);
		}
		/* Duplicate keys are a mistake in a configuration file: refuse them. */
		for (j = 0; j < i; j++) {
			const char *prev = yconf_map_key(c, map, j);

			if (prev && !strcmp(prev, k)) {
				yaml_node_t *mn = yconf_node(c, map);

				return yconf_fail(c, mn->data.mapping.pairs.start[i].key,
						  "duplicate key '%.64s'", k);
			}
		}
	}
	return CL_OK;
}

static int yconf_lookup(struct yconf *c, int map, const char *key, int required, const char **text,
			int *node)
{
	int v;

	*text = NULL;
	*node = 0;
	if (!yconf_is_map(c, map))
		return yconf_fail(c, map, "expected a mapping");
	v = yconf_get(c, map, key);
	if (!v) {
		if (required)
			return yconf_fail(c, map, "missing required key '%s'", key);
		return CL_OK;
	}
	if (!yconf_is_scalar(c, v))
		return yconf_fail(c, v, "'%s' must be a single value", key);
	*text = yconf_scalar(c, v);
	*node = v;
	return CL_OK;
}

int yconf_get_str(struct yconf *c, int map, const char *key, int required, const char **out)
{
	const char *t;
	int node, rc;

	rc = yconf_lookup(c, map, key, required, &t, &node);
	if (rc == CL_OK && t)
		*out = t;
	return rc;
}

int yconf_get_int(struct yconf *c, int map, const char *key, int required, long long min,
		  long long max, long long *out)
{
	const char *t;
	char *end = NULL;
	long long v;
	int node, rc;

	rc = yconf_lookup(c, map, key, required, &t, &node);
	if (rc != CL_OK || !t)
		return rc;
	errno = 0;
	v = strtoll(t, &end, 10);
	if (errno || end == t || *end)
		return yconf_fail(c, node, "'%s' must be an integer", key);
	if (v < min || v > max)
		return yconf_fail(c, node, "'%s' must be between %lld and %lld", key, min, max);
	*out = v;
	return CL_OK;
}

int yconf_get_bool(struct yconf *c, int map, const char *key, int required, int *out)
{
	const char *t;
	int node, rc;

	rc = yconf_lookup(c, map, key, required, &t, &node);
	if (rc != CL_OK || !t)
		return rc;
	if (!strcmp(t, "true") || !strcmp(t, "yes") || !strcmp(t, "on"))
		*out = 1;
	else if (!strcmp(t, "false") || !strcmp(t, "no") || !strcmp(t, "off"))
		*out = 0;
	else
		return yconf_fail(c, node, "'%s' must be true or false", key);
	return CL_OK;
}
