#include "policies/policy.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cl_error.h"
#include "common/yconf.h"

#define POLICY_NMEASURES 8
#define POLICY_MAX_PATH	 512

/* A bounded list of names (identity patterns, codes, columns). */
struct policy_list {
	size_t n;
	char (*v)[POLICY_MAX_NAME];
};

struct policy_role {
	char name[POLICY_MAX_NAME];
	char ou[POLICY_MAX_NAME];
	struct policy_list identities;
	int has_disclosure;
	struct policy_disclosure disclosure;
};

struct policy_rule_param {
	char name[POLICY_MAX_NAME];
	struct policy_list values;
};

struct policy_rule {
	char id[POLICY_MAX_NAME];
	size_t role;		       /* index into roles */
	struct policy_list identities; /* empty: every holder of the role */
	unsigned measures;	       /* bit i: measure M(i+1) */
	struct policy_list group_by;
	size_t nparams;
	struct policy_rule_param params[POLICY_MAX_PARAMS];
	int has_period;
	long long min_days, max_days;
	int has_as_of;
	long long max_days_back, max_days_ahead;
	struct policy_list purposes;
	struct policy_list legal_bases;
	long long per_hour, per_day; /* 0: no limit */
};

struct policy_part {
	unsigned measures;
	struct policy_list agency_types; /* empty: every type */
	struct policy_list nodes;	 /* empty: every node */
};

/* One case_disclosure rule (node scope): to whom this node's records go in case answers. */
struct policy_case_rule {
	char id[POLICY_MAX_NAME];
	unsigned measures;		 /* bit i: measure M(i+1); M7/M8 only */
	struct policy_list agency_types; /* empty: every type */
	enum policy_case_scope scope;
	struct policy_list purposes;	/* empty: any the access rules allowed */
	struct policy_list legal_bases; /* empty: any but child_protection */
	unsigned evidence;		/* POLICY_EVIDENCE_* */
};

struct policy {
	char name[POLICY_MAX_PATH];
	enum policy_scope scope;
	struct policy_list coop; /* cooperation_group: municipalities besides the node's own */
	size_t ncase;		 /* case_disclosure rules; 0 with a node scope: the defaults */
	struct policy_case_rule *case_rules;
	size_t nroles;
	struct policy_role *roles;
	size_t nrules;
	struct policy_rule *rules;
	size_t nparts;
	struct policy_part *parts;
};

struct policy_rate_entry {
	char identity[POLICY_MAX_NAME];
	char rule[POLICY_MAX_NAME];
	int64_t hour, day; /* window indexes: now / 3600, now / 86400 */
	long long hour_count, day_count;
};

struct policy_rate {
	pthread_mutex_t lock;
	size_t n, cap;
	struct policy_rate_entry *e;
};

static const char *const policy_ous[] = {"node", "coordinator", "keyholder", "user", NULL};

static const char *const policy_columns[] = {"municipality",
					     "country",
					     "agency_type",
					     "quarter",
					     "month",
					     "year",
					     "sex",
					     "age_group",
					     "age_band",
					     "risk_level",
					     "child_threat_level",
					     "support_type",
					     "event_type",
					     NULL};

static const char *const policy_agency_types[] = {
    "police",  "municipal_police", "social_services", "child_rights", "health",	   "ngo",
    "shelter", "probation",	   "prosecutor",      "court",	      "education", NULL};

static const char *const policy_mechanisms[] = {"discrete_laplace", "discrete_gaussian", NULL};

/* ---- small helpers ---------------------------------------------------- */

static int policy_in_set(const char *s, const char *const *set)
{
	size_t i;

	for (i = 0; set[i]; i++)
		if (!strcmp(s, set[i]))
			return 1;
	return 0;
}

/* A name of a role or rule: [a-z0-9_-], starting with a letter or digit. */
static int policy_is_ident(const char *s)
{
	size_t i, n = strlen(s);

	if (n == 0 || n >= POLICY_MAX_NAME || s[0] == '-' || s[0] == '_')
		return 0;
	for (i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '_' ||
		      s[i] == '-'))
			return 0;
	return 1;
}

/* A coded value (purpose, legal basis, parameter name or value): [A-Za-z0-9_.:-]. */
static int policy_is_code(const char *s)
{
	size_t i, n = strlen(s);

	if (n == 0 || n >= POLICY_MAX_NAME)
		return 0;
	for (i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
		      (s[i] >= '0' && s[i] <= '9') || s[i] == '_' || s[i] == '.' || s[i] == ':' ||
		      s[i] == '-'))
			return 0;
	return 1;
}

/* An identity (certificate CN) pattern: [A-Za-z0-9._-] and '*' wildcards. */
static int policy_is_pattern(const char *s)
{
	size_t i, n = strlen(s);

	if (n == 0 || n >= POLICY_MAX_NAME)
		return 0;
	for (i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
		      (s[i] >= '0' && s[i] <= '9') || s[i] == '_' || s[i] == '.' || s[i] == '-' ||
		      s[i] == '*'))
			return 0;
	return 1;
}

/* Glob match with '*' only (any run, possibly empty); iterative, linear back-tracking. */
static int policy_glob(const char *pat, const char *s)
{
	const char *star = NULL, *resume = NULL;

	while (*s) {
		if (*pat == '*') {
			star = pat++;
			resume = s;
		} else if (*pat == *s) {
			pat++;
			s++;
		} else if (star) {
			pat = star + 1;
			s = ++resume;
		} else {
			return 0;
		}
	}
	while (*pat == '*')
		pat++;
	return *pat == '\0';
}

static int policy_list_has(const struct policy_list *l, const char *s)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		if (!strcmp(l->v[i], s))
			return 1;
	return 0;
}

static int policy_list_matches(const struct policy_list *l, const char *s)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		if (policy_glob(l->v[i], s))
			return 1;
	return 0;
}

/* Floor division (b > 0), for windows and days of negative times. */
static int64_t policy_floor_div(int64_t a, int64_t b)
{
	int64_t q = a / b;

	if ((a % b != 0) && (a < 0))
		q--;
	return q;
}

/* "M1".."M8" to 0..7, or -1. */
static int policy_measure_index(const char *s)
{
	if (s && s[0] == 'M' && s[1] >= '1' && s[1] <= '0' + POLICY_NMEASURES && s[2] == '\0')
		return s[1] - '1';
	return -1;
}

static void policy_list_free(struct policy_list *l)
{
	free(l->v);
	l->v = NULL;
	l->n = 0;
}

/* ---- loading ---------------------------------------------------------- */

enum policy_kind {
	POLICY_K_PATTERN,
	POLICY_K_CODE,
	POLICY_K_COLUMN,
	POLICY_K_AGENCY,
	POLICY_K_PLACE
};

/* A municipality name: UTF-8 text without control characters (Liepāja, Klaipėdos r.). */
static int policy_is_place(const char *s)
{
	size_t i;

	for (i = 0; s[i]; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return 0;
	return i > 0 && i < POLICY_MAX_NAME;
}

/*
 * Reads map[key] as a sequence of scalars of the given kind into *l (which
 * must be empty). Absent: ok when !required. Duplicates are refused.
 */
static int policy_get_list(struct yconf *c, int map, const char *key, int required, int nonempty,
			   enum policy_kind kind, struct policy_list *l)
{
	int node = yconf_get(c, map, key);
	size_t i, n;

	if (!node)
		return required ? yconf_fail(c, map, "missing required key '%s'", key) : CL_OK;
	if (!yconf_is_seq(c, node))
		return yconf_fail(c, node, "'%s' must be a list", key);
	n = yconf_seq_len(c, node);
	if (n == 0 && nonempty)
		return yconf_fail(c, node, "'%s' must not be empty", key);
	if (n > POLICY_MAX_LIST) {
		yconf_fail(c, node, "'%s' has more than %u items", key, POLICY_MAX_LIST);
		return CL_ELIMIT;
	}
	if (n == 0)
		return CL_OK;
	l->v = calloc(n, sizeof(*l->v));
	if (!l->v)
		return CL_ENOMEM;
	for (i = 0; i < n; i++) {
		int item = yconf_seq_item(c, node, i);
		const char *s = yconf_scalar(c, item);
		int ok;

		if (!s)
			return yconf_fail(c, item ? item : node,
					  "items of '%s' must be single values", key);
		switch (kind) {
		case POLICY_K_PATTERN:
			ok = policy_is_pattern(s);
			if (!ok)
				return yconf_fail(c, item,
						  "'%.64s' is not an identity or pattern "
						  "(letters, digits, '.', '_', '-', '*')",
						  s);
			break;
		case POLICY_K_CODE:
			ok = policy_is_code(s);
			if (!ok)
				return yconf_fail(c, item,
						  "'%.64s' is not a code (letters, digits, "
						  "'_', '.', ':', '-')",
						  s);
			break;
		case POLICY_K_COLUMN:
			if (!policy_in_set(s, policy_columns))
				return yconf_fail(c, item, "unknown group-by column '%.64s'", s);
			break;
		case POLICY_K_AGENCY:
			if (!policy_in_set(s, policy_agency_types))
				return yconf_fail(c, item, "unknown agency type '%.64s'", s);
			break;
		case POLICY_K_PLACE:
			if (!policy_is_place(s))
				return yconf_fail(c, item,
						  "'%.64s' is not a municipality name (1-63 bytes, "
						  "no control characters)",
						  s);
			break;
		}
		if (policy_list_has(l, s))
			return yconf_fail(c, item, "'%.64s' is listed twice in '%s'", s, key);
		memcpy(l->v[i], s, strlen(s) + 1);
		l->n = i + 1;
	}
	return CL_OK;
}

/* Reads map[key] as a non-empty list of measure names into a bit set. */
static int policy_get_measures(struct yconf *c, int map, const char *key, unsigned *out)
{
	int node = yconf_get(c, map, key);
	size_t i, n;
	unsigned set = 0;

	if (!node)
		return yconf_fail(c, map, "missing required key '%s'", key);
	if (!yconf_is_seq(c, node) || (n = yconf_seq_len(c, node)) == 0)
		return yconf_fail(c, node, "'%s' must be a non-empty list of M1..M8", key);
	if (n > POLICY_MAX_LIST) {
		yconf_fail(c, node, "'%s' has more than %u items", key, POLICY_MAX_LIST);
		return CL_ELIMIT;
	}
	for (i = 0; i < n; i++) {
		int item = yconf_seq_item(c, node, i);
		const char *s = yconf_scalar(c, item);
		int m = policy_measure_index(s);

		if (m < 0)
			return yconf_fail(c, item ? item : node, "unknown measure '%.64s' (M1..M8)",
					  s ? s : "");
		if (set & (1u << m))
			return yconf_fail(c, item, "measure %s is listed twice", s);
		set |= 1u << m;
	}
	*out = set;
	return CL_OK;
}

/* Reads a positive finite number map[key] (at most max) into *out. */
static int policy_get_real(struct yconf *c, int map, const char *key, double max, double *out)
{
	int node = yconf_get(c, map, key);
	const char *s;
	char *end = NULL;
	double v;

	if (!node)
		return yconf_fail(c, map, "missing required key '%s'", key);
	s = yconf_scalar(c, node);
	if (!s || !*s)
		return yconf_fail(c, node, "'%s' must be a number", key);
	errno = 0;
	v = strtod(s, &end);
	if (errno || *end != '\0' || !isfinite(v))
		return yconf_fail(c, node, "'%s' must be a number", key);
	if (!(v > 0) || v > max)
		return yconf_fail(c, node, "'%s' must be greater than 0 and at most %g", key, max);
	*out = v;
	return CL_OK;
}

static int policy_find_role(const struct policy *p, const char *name, size_t *out)
{
	size_t i;

	for (i = 0; i < p->nroles; i++)
		if (!strcmp(p->roles[i].name, name)) {
			*out = i;
			return 1;
		}
	return 0;
}

static int policy_load_roles(struct yconf *c, int root, struct policy *p)
{
	static const char *const keys[] = {"ou", "identities", "description", NULL};
	int node = yconf_get(c, root, "roles");
	size_t i, n;
	int rc;

	if (!node)
		return yconf_fail(c, root, "missing required key 'roles'");
	if (!yconf_is_map(c, node) || (n = yconf_map_len(c, node)) == 0)
		return yconf_fail(c, node, "'roles' must be a non-empty mapping of role names");
	if (n > POLICY_MAX_ROLES) {
		yconf_fail(c, node, "more than %u roles", POLICY_MAX_ROLES);
		return CL_ELIMIT;
	}
	p->roles = calloc(n, sizeof(*p->roles));
	if (!p->roles)
		return CL_ENOMEM;
	for (i = 0; i < n; i++) {
		const char *name = yconf_map_key(c, node, i), *ou = NULL;
		int v = yconf_map_value(c, node, i);
		struct policy_role *r = &p->roles[i];
		size_t j;

		if (!name || !policy_is_ident(name))
			return yconf_fail(c, v ? v : node,
					  "role name '%.64s' must be lower-case letters, digits, "
					  "'_' or '-'",
					  name ? name : "");
		for (j = 0; j < i; j++)
			if (!strcmp(p->roles[j].name, name))
				return yconf_fail(c, v, "role '%s' is defined twice", name);
		if ((rc = yconf_only_keys(c, v, keys)) != 0)
			return rc;
		memcpy(r->name, name, strlen(name) + 1);
		p->nroles = i + 1;
		if ((rc = yconf_get_str(c, v, "ou", 1, &ou)) != 0)
			return rc;
		if (!policy_in_set(ou, policy_ous))
			return yconf_fail(c, yconf_get(c, v, "ou"),
					  "'ou' must be node, coordinator, keyholder or user");
		memcpy(r->ou, ou, strlen(ou) + 1);
		if ((rc = policy_get_list(c, v, "identities", 1, 1, POLICY_K_PATTERN,
					  &r->identities)) != 0)
			return rc;
		r->disclosure.threshold = POLICY_THRESHOLD_DEFAULT;
		r->disclosure.rounding = 1;
	}
	return CL_OK;
}

/*
 * The dp mapping: discrete_laplace is ε-DP (epsilon_per_query, budget), discrete_gaussian is
 * ρ-zCDP (rho_per_query, budget_rho); a key of the other accounting is refused where it stands.
 */
static int policy_load_dp(struct yconf *c, int map, struct policy_disclosure *d)
{
	static const char *const keys[] = {
	    "mechanism",  "epsilon_per_query",	"budget", "rho_per_query",
	    "budget_rho", "budget_period_days", NULL};
	static const char *const eps_keys[] = {"epsilon_per_query", "budget", NULL};
	static const char *const rho_keys[] = {"rho_per_query", "budget_rho", NULL};
	const char *mech = NULL, *per, *tot, *const * other;
	double *per_v, *tot_v;
	int rc, gaussian;
	size_t i;

	if ((rc = yconf_only_keys(c, map, keys)) != 0)
		return rc;
	if ((rc = yconf_get_str(c, map, "mechanism", 1, &mech)) != 0)
		return rc;
	if (!policy_in_set(mech, policy_mechanisms))
		return yconf_fail(c, yconf_get(c, map, "mechanism"),
				  "'mechanism' must be discrete_laplace or discrete_gaussian");
	gaussian = !strcmp(mech, "discrete_gaussian");
	other = gaussian ? eps_keys : rho_keys;
	for (i = 0; other[i]; i++)
		if (yconf_get(c, map, other[i]))
			return yconf_fail(c, yconf_get(c, map, other[i]),
					  "'%s' does not apply to mechanism %s, which is charged "
					  "in %s",
					  other[i], mech,
					  gaussian ? "rho (zCDP): 'rho_per_query' and 'budget_rho'"
						   : "epsilon: 'epsilon_per_query' and 'budget'");
	per = gaussian ? "rho_per_query" : "epsilon_per_query";
	tot = gaussian ? "budget_rho" : "budget";
	per_v = gaussian ? &d->rho_per_query : &d->epsilon_per_query;
	tot_v = gaussian ? &d->budget_rho : &d->budget;
	if ((rc = policy_get_real(c, map, per, 10.0, per_v)) != 0)
		return rc;
	if ((rc = policy_get_real(c, map, tot, 100.0, tot_v)) != 0)
		return rc;
	if (*per_v > *tot_v)
		return yconf_fail(c, yconf_get(c, map, per), "'%s' %g is larger than '%s' %g", per,
				  *per_v, tot, *tot_v);
	if ((rc = yconf_get_int(c, map, "budget_period_days", 1, 1, 3660,
				&d->budget_period_days)) != 0)
		return rc;
	memcpy(d->mechanism, mech, strlen(mech) + 1);
	d->dp = 1;
	return CL_OK;
}

static int policy_load_disclosure(struct yconf *c, int root, struct policy *p)
{
	static const char *const keys[] = {"threshold", "rounding", "dp", "differencing", NULL};
	int node = yconf_get(c, root, "disclosure");
	size_t i, n;
	int rc;

	if (!node)
		return CL_OK;
	if (!yconf_is_map(c, node))
		return yconf_fail(c, node, "'disclosure' must be a mapping of role names");
	n = yconf_map_len(c, node);
	for (i = 0; i < n; i++) {
		const char *name = yconf_map_key(c, node, i);
		int v = yconf_map_value(c, node, i), dp, diff;
		size_t r;
		struct policy_disclosure d;
		int tnode;

		if (!name || !policy_find_role(p, name, &r))
			return yconf_fail(c, v ? v : node,
					  "disclosure for '%.64s', which is not a role of 'roles'",
					  name ? name : "");
		if (p->roles[r].has_disclosure)
			return yconf_fail(c, v, "disclosure for role '%s' is given twice", name);
		if ((rc = yconf_only_keys(c, v, keys)) != 0)
			return rc;
		memset(&d, 0, sizeof(d));
		d.threshold = POLICY_THRESHOLD_DEFAULT;
		d.rounding = 1;
		if ((rc = yconf_get_int(c, v, "threshold", 0, 0, 1000000, &d.threshold)) != 0)
			return rc;
		tnode = yconf_get(c, v, "threshold");
		if (d.threshold < POLICY_THRESHOLD_MIN)
			return yconf_fail(c, tnode,
					  "suppression threshold %lld is below the minimum %d",
					  d.threshold, POLICY_THRESHOLD_MIN);
		if ((rc = yconf_get_int(c, v, "rounding", 0, 1, 1000, &d.rounding)) != 0)
			return rc;
		dp = yconf_get(c, v, "dp");
		if (dp && (rc = policy_load_dp(c, dp, &d)) != 0)
			return rc;
		/* The differencing check applies to every role unless its policy says no. */
		diff = 1;
		if ((rc = yconf_get_bool(c, v, "differencing", 0, &diff)) != 0)
			return rc;
		d.no_differencing = !diff;
		p->roles[r].disclosure = d;
		p->roles[r].has_disclosure = 1;
	}
	return CL_OK;
}

static int policy_load_params(struct yconf *c, int map, struct policy_rule *r)
{
	int node = yconf_get(c, map, "parameters");
	size_t i, n;
	int rc;

	if (!node)
		return CL_OK;
	if (!yconf_is_map(c, node))
		return yconf_fail(c, node, "'parameters' must be a mapping of name: [values]");
	n = yconf_map_len(c, node);
	if (n > POLICY_MAX_PARAMS) {
		yconf_fail(c, node, "more than %u parameters", POLICY_MAX_PARAMS);
		return CL_ELIMIT;
	}
	for (i = 0; i < n; i++) {
		const char *name = yconf_map_key(c, node, i);
		int v = yconf_map_value(c, node, i);
		struct policy_rule_param *pp = &r->params[i];
		size_t j;

		if (!name || !policy_is_code(name))
			return yconf_fail(c, v ? v : node, "parameter name '%.64s' is not a code",
					  name ? name : "");
		for (j = 0; j < i; j++)
			if (!strcmp(r->params[j].name, name))
				return yconf_fail(c, v, "parameter '%s' is given twice", name);
		memcpy(pp->name, name, strlen(name) + 1);
		r->nparams = i + 1;
		/* Reuse the list reader on a one-key view: the values are map[name]. */
		if ((rc = policy_get_list(c, node, name, 1, 1, POLICY_K_CODE, &pp->values)) != 0)
			return rc;
	}
	return CL_OK;
}

static int policy_load_rule(struct yconf *c, int v, struct policy *p, struct policy_rule *r)
{
	static const char *const keys[] = {
	    "id",    "role",	 "identities",	"measures", "group_by",	   "parameters", "period",
	    "as_of", "purposes", "legal_bases", "rate",	    "description", NULL};
	static const char *const period_keys[] = {"min_days", "max_days", NULL};
	static const char *const as_of_keys[] = {"max_days_back", "max_days_ahead", NULL};
	static const char *const rate_keys[] = {"per_hour", "per_day", NULL};
	const char *id = NULL, *role = NULL;
	int rc, sub;

	if ((rc = yconf_only_keys(c, v, keys)) != 0)
		return rc;
	if ((rc = yconf_get_str(c, v, "id", 1, &id)) != 0)
		return rc;
	if (!policy_is_ident(id))
		return yconf_fail(c, yconf_get(c, v, "id"),
				  "rule id '%.64s' must be lower-case letters, digits, '_' or '-'",
				  id);
	memcpy(r->id, id, strlen(id) + 1);
	if ((rc = yconf_get_str(c, v, "role", 1, &role)) != 0)
		return rc;
	if (!policy_find_role(p, role, &r->role))
		return yconf_fail(c, yconf_get(c, v, "role"),
				  "role '%.64s' is not defined in 'roles'", role);
	if ((rc = policy_get_list(c, v, "identities", 0, 1, POLICY_K_PATTERN, &r->identities)) != 0)
		return rc;
	if ((rc = policy_get_measures(c, v, "measures", &r->measures)) != 0)
		return rc;
	if ((rc = policy_get_list(c, v, "group_by", 0, 0, POLICY_K_COLUMN, &r->group_by)) != 0)
		return rc;
	if ((rc = policy_load_params(c, v, r)) != 0)
		return rc;
	if ((sub = yconf_get(c, v, "period")) != 0) {
		r->min_days = 1;
		r->max_days = 0;
		if ((rc = yconf_only_keys(c, sub, period_keys)) != 0 ||
		    (rc = yconf_get_int(c, sub, "min_days", 0, 1, 36600, &r->min_days)) != 0 ||
		    (rc = yconf_get_int(c, sub, "max_days", 1, 1, 36600, &r->max_days)) != 0)
			return rc;
		if (r->min_days > r->max_days)
			return yconf_fail(c, sub, "'min_days' %lld is larger than 'max_days' %lld",
					  r->min_days, r->max_days);
		r->has_period = 1;
	}
	if ((sub = yconf_get(c, v, "as_of")) != 0) {
		r->max_days_back = 0;
		r->max_days_ahead = 0;
		if ((rc = yconf_only_keys(c, sub, as_of_keys)) != 0 ||
		    (rc = yconf_get_int(c, sub, "max_days_back", 1, 0, 36600, &r->max_days_back)) !=
			0 ||
		    (rc = yconf_get_int(c, sub, "max_days_ahead", 0, 0, 366, &r->max_days_ahead)) !=
			0)
			return rc;
		r->has_as_of = 1;
	}
	if ((rc = policy_get_list(c, v, "purposes", 1, 1, POLICY_K_CODE, &r->purposes)) != 0)
		return rc;
	if ((rc = policy_get_list(c, v, "legal_bases", 1, 1, POLICY_K_CODE, &r->legal_bases)) != 0)
		return rc;
	if ((sub = yconf_get(c, v, "rate")) != 0) {
		if ((rc = yconf_only_keys(c, sub, rate_keys)) != 0 ||
		    (rc = yconf_get_int(c, sub, "per_hour", 0, 1, 1000000, &r->per_hour)) != 0 ||
		    (rc = yconf_get_int(c, sub, "per_day", 0, 1, 10000000, &r->per_day)) != 0)
			return rc;
		if (!r->per_hour && !r->per_day)
			return yconf_fail(c, sub, "'rate' needs 'per_hour' or 'per_day'");
	}
	return CL_OK;
}

static int policy_load_rules(struct yconf *c, int root, struct policy *p)
{
	int node = yconf_get(c, root, "rules");
	size_t i, j, n;
	int rc;

	if (!node)
		return yconf_fail(c, root, "missing required key 'rules'");
	if (!yconf_is_seq(c, node) || (n = yconf_seq_len(c, node)) == 0)
		return yconf_fail(c, node, "'rules' must be a non-empty list");
	if (n > POLICY_MAX_RULES) {
		yconf_fail(c, node, "more than %u rules", POLICY_MAX_RULES);
		return CL_ELIMIT;
	}
	p->rules = calloc(n, sizeof(*p->rules));
	if (!p->rules)
		return CL_ENOMEM;
	for (i = 0; i < n; i++) {
		int v = yconf_seq_item(c, node, i);

		p->nrules = i + 1;
		if ((rc = policy_load_rule(c, v, p, &p->rules[i])) != 0)
			return rc;
		for (j = 0; j < i; j++)
			if (!strcmp(p->rules[j].id, p->rules[i].id))
				return yconf_fail(c, yconf_get(c, v, "id"),
						  "rule id '%s' is used twice", p->rules[i].id);
	}
	return CL_OK;
}

static int policy_load_participation(struct yconf *c, int root, struct policy *p)
{
	static const char *const keys[] = {"measures", "agency_types", "nodes", "description",
					   NULL};
	int node = yconf_get(c, root, "participation");
	size_t i, n;
	int rc;

	if (!node)
		return yconf_fail(c, root, "missing required key 'participation'");
	if (!yconf_is_seq(c, node) || (n = yconf_seq_len(c, node)) == 0)
		return yconf_fail(c, node, "'participation' must be a non-empty list");
	if (n > POLICY_MAX_PARTICIPATION) {
		yconf_fail(c, node, "more than %u participation entries", POLICY_MAX_PARTICIPATION);
		return CL_ELIMIT;
	}
	p->parts = calloc(n, sizeof(*p->parts));
	if (!p->parts)
		return CL_ENOMEM;
	for (i = 0; i < n; i++) {
		int v = yconf_seq_item(c, node, i);
		struct policy_part *pt = &p->parts[i];

		p->nparts = i + 1;
		if ((rc = yconf_only_keys(c, v, keys)) != 0)
			return rc;
		if ((rc = policy_get_measures(c, v, "measures", &pt->measures)) != 0)
			return rc;
		if (p->scope == POLICY_SCOPE_NODE) {
			int extra = yconf_get(c, v, "agency_types");

			if (!extra)
				extra = yconf_get(c, v, "nodes");
			if (extra)
				return yconf_fail(c, extra,
						  "a node policy's participation lists measures "
						  "only");
			continue;
		}
		if ((rc = policy_get_list(c, v, "agency_types", 0, 1, POLICY_K_AGENCY,
					  &pt->agency_types)) != 0)
			return rc;
		if ((rc = policy_get_list(c, v, "nodes", 0, 1, POLICY_K_PATTERN, &pt->nodes)) != 0)
			return rc;
	}
	return CL_OK;
}

static const char *const policy_evidence_names[] = {"referral", "marac_review", "high_risk", "none",
						    NULL};
static const char *const policy_scope_names[] = {"municipality", "cooperation_group", "country",
						 "any", NULL};

/* Reads a case_disclosure rule's evidence list into POLICY_EVIDENCE_* bits. */
static int policy_get_evidence(struct yconf *c, int v, unsigned *out)
{
	struct policy_list l = {0, NULL};
	size_t i, k;
	int rc = policy_get_list(c, v, "evidence", 1, 1, POLICY_K_CODE, &l);

	*out = 0;
	for (i = 0; rc == CL_OK && i < l.n; i++) {
		for (k = 0; policy_evidence_names[k]; k++)
			if (!strcmp(l.v[i], policy_evidence_names[k]))
				break;
		if (!policy_evidence_names[k])
			rc = yconf_fail(c, yconf_get(c, v, "evidence"),
					"unknown evidence '%.64s' (referral, marac_review, "
					"high_risk or none)",
					l.v[i]);
		else
			*out |= 1u << k;
	}
	if (rc == CL_OK && (*out & POLICY_EVIDENCE_NONE) && *out != POLICY_EVIDENCE_NONE)
		rc = yconf_fail(c, yconf_get(c, v, "evidence"),
				"evidence 'none' cannot be listed with other kinds");
	policy_list_free(&l);
	return rc;
}

static int policy_load_case_rule(struct yconf *c, int v, struct policy_case_rule *r)
{
	static const char *const keys[] = {"id",       "measures",    "agency_types",
					   "scope",    "purposes",    "legal_bases",
					   "evidence", "description", NULL};
	const char *id = NULL, *scope = NULL;
	size_t k;
	int rc;

	if ((rc = yconf_only_keys(c, v, keys)) != 0 ||
	    (rc = yconf_get_str(c, v, "id", 1, &id)) != 0)
		return rc;
	if (!policy_is_ident(id))
		return yconf_fail(c, yconf_get(c, v, "id"),
				  "rule id '%.64s' must be lower-case letters, digits, '_' or '-'",
				  id);
	memcpy(r->id, id, strlen(id) + 1);
	r->measures = (1u << 6) | (1u << 7);
	if (yconf_get(c, v, "measures") &&
	    (rc = policy_get_measures(c, v, "measures", &r->measures)) != 0)
		return rc;
	if (r->measures & ~((1u << 6) | (1u << 7)))
		return yconf_fail(c, yconf_get(c, v, "measures"),
				  "case_disclosure rules are about M7 and M8 only");
	if ((rc = policy_get_list(c, v, "agency_types", 0, 1, POLICY_K_AGENCY, &r->agency_types)) !=
		0 ||
	    (rc = policy_get_list(c, v, "purposes", 0, 1, POLICY_K_CODE, &r->purposes)) != 0 ||
	    (rc = policy_get_list(c, v, "legal_bases", 0, 1, POLICY_K_CODE, &r->legal_bases)) != 0)
		return rc;
	if ((rc = yconf_get_str(c, v, "scope", 1, &scope)) != 0)
		return rc;
	for (k = 0; policy_scope_names[k]; k++)
		if (!strcmp(scope, policy_scope_names[k]))
			break;
	if (!policy_scope_names[k])
		return yconf_fail(
		    c, yconf_get(c, v, "scope"),
		    "'scope' must be municipality, cooperation_group, country or any");
	r->scope = (enum policy_case_scope)(k + 1);
	return policy_get_evidence(c, v, &r->evidence);
}

/* cooperation_group and case_disclosure: node policies only (docs/policy.md "Case answers"). */
static int policy_load_cases(struct yconf *c, int root, struct policy *p)
{
	int node = yconf_get(c, root, "case_disclosure"),
	    group = yconf_get(c, root, "cooperation_group");
	size_t i, j, n;
	int rc;

	if ((node || group) && p->scope != POLICY_SCOPE_NODE)
		return yconf_fail(c, node ? node : group,
				  "'%s' belongs in a node policy (the holding agency decides)",
				  node ? "case_disclosure" : "cooperation_group");
	if ((rc = policy_get_list(c, root, "cooperation_group", 0, 1, POLICY_K_PLACE, &p->coop)) !=
	    0)
		return rc;
	if (!node)
		return CL_OK;
	if (!yconf_is_seq(c, node) || (n = yconf_seq_len(c, node)) == 0)
		return yconf_fail(c, node, "'case_disclosure' must be a non-empty list");
	if (n > POLICY_MAX_CASE_RULES) {
		yconf_fail(c, node, "more than %u case_disclosure rules", POLICY_MAX_CASE_RULES);
		return CL_ELIMIT;
	}
	p->case_rules = calloc(n, sizeof(*p->case_rules));
	if (!p->case_rules)
		return CL_ENOMEM;
	for (i = 0; i < n; i++) {
		int v = yconf_seq_item(c, node, i);

		p->ncase = i + 1;
		if ((rc = policy_load_case_rule(c, v, &p->case_rules[i])) != 0)
			return rc;
		for (j = 0; j < i; j++)
			if (!strcmp(p->case_rules[j].id, p->case_rules[i].id))
				return yconf_fail(c, yconf_get(c, v, "id"),
						  "rule id '%s' is used twice",
						  p->case_rules[i].id);
	}
	return CL_OK;
}

static int policy_parse(struct yconf *c, struct policy *p)
{
	static const char *const keys[] = {
	    "version",	     "scope",		"description",	     "roles", "disclosure", "rules",
	    "participation", "case_disclosure", "cooperation_group", NULL};
	int root = yconf_root(c), rc;
	long long version = 0;
	const char *scope = NULL;

	if (!root || !yconf_is_map(c, root))
		return yconf_fail(c, root, "a policy file must be a mapping");
	if ((rc = yconf_only_keys(c, root, keys)) != 0)
		return rc;
	if ((rc = yconf_get_int(c, root, "version", 1, 0, 1000000, &version)) != 0)
		return rc;
	if (version != 1)
		return yconf_fail(c, yconf_get(c, root, "version"),
				  "unsupported policy version %lld (this build reads version 1)",
				  version);
	if ((rc = yconf_get_str(c, root, "scope", 1, &scope)) != 0)
		return rc;
	if (!strcmp(scope, "federation"))
		p->scope = POLICY_SCOPE_FEDERATION;
	else if (!strcmp(scope, "node"))
		p->scope = POLICY_SCOPE_NODE;
	else
		return yconf_fail(c, yconf_get(c, root, "scope"),
				  "'scope' must be federation or node");
	if ((rc = policy_load_roles(c, root, p)) != 0)
		return rc;
	if ((rc = policy_load_disclosure(c, root, p)) != 0)
		return rc;
	if ((rc = policy_load_rules(c, root, p)) != 0)
		return rc;
	if ((rc = policy_load_participation(c, root, p)) != 0)
		return rc;
	return policy_load_cases(c, root, p);
}

void policy_free(struct policy *p)
{
	size_t i, j;

	if (!p)
		return;
	for (i = 0; i < p->nroles; i++)
		policy_list_free(&p->roles[i].identities);
	for (i = 0; i < p->nrules; i++) {
		struct policy_rule *r = &p->rules[i];

		policy_list_free(&r->identities);
		policy_list_free(&r->group_by);
		for (j = 0; j < r->nparams; j++)
			policy_list_free(&r->params[j].values);
		policy_list_free(&r->purposes);
		policy_list_free(&r->legal_bases);
	}
	for (i = 0; i < p->nparts; i++) {
		policy_list_free(&p->parts[i].agency_types);
		policy_list_free(&p->parts[i].nodes);
	}
	for (i = 0; i < p->ncase; i++) {
		policy_list_free(&p->case_rules[i].agency_types);
		policy_list_free(&p->case_rules[i].purposes);
		policy_list_free(&p->case_rules[i].legal_bases);
	}
	policy_list_free(&p->coop);
	free(p->case_rules);
	free(p->roles);
	free(p->rules);
	free(p->parts);
	free(p);
}

int policy_load_mem(const char *name, const char *buf, size_t len, struct policy **out, char *err,
		    size_t errsz)
{
	struct yconf *c = NULL;
	struct policy *p = NULL;
	int rc;

	if (!name || !buf || !out)
		return CL_EINVAL;
	if (err && errsz)
		err[0] = '\0';
	if (len > POLICY_MAX_FILE) {
		if (err && errsz)
			snprintf(err, errsz, "%s:0:0: policy file larger than %u bytes", name,
				 POLICY_MAX_FILE);
		rc = CL_ELIMIT;
		goto out;
	}
	rc = yconf_load_mem(name, buf, len, &c, err, errsz);
	if (rc != 0) {
		if (rc == CL_ECONFIG)
			rc = CL_EPOLICY;
		goto out;
	}
	p = calloc(1, sizeof(*p));
	if (!p) {
		rc = CL_ENOMEM;
		goto out;
	}
	snprintf(p->name, sizeof(p->name), "%s", name);
	rc = policy_parse(c, p);
	if (rc != 0) {
		if (rc == CL_ECONFIG)
			rc = CL_EPOLICY;
		if (err && errsz)
			snprintf(err, errsz, "%s", yconf_error(c));
		goto out;
	}
	*out = p;
	p = NULL;
out:
	policy_free(p);
	yconf_free(c);
	return rc;
}

int policy_load(const char *path, struct policy **out, char *err, size_t errsz)
{
	FILE *f = NULL;
	char *buf = NULL;
	size_t len = 0;
	int rc;

	if (!path || !out)
		return CL_EINVAL;
	f = fopen(path, "rb");
	if (!f) {
		if (err && errsz)
			snprintf(err, errsz, "%s:0:0: cannot open: %s", path, strerror(errno));
		rc = CL_EIO;
		goto out;
	}
	buf = malloc((size_t)POLICY_MAX_FILE + 1);
	if (!buf) {
		rc = CL_ENOMEM;
		goto out;
	}
	len = fread(buf, 1, (size_t)POLICY_MAX_FILE + 1, f);
	if (ferror(f)) {
		if (err && errsz)
			snprintf(err, errsz, "%s:0:0: read error", path);
		rc = CL_EIO;
		goto out;
	}
	rc = policy_load_mem(path, buf, len, out, err, errsz);
out:
	if (f)
		fclose(f);
	free(buf);
	return rc;
}

enum policy_scope policy_scope(const struct policy *p)
{
	return p->scope;
}

const char *policy_name(const struct policy *p)
{
	return p->name;
}

/* ---- deciding --------------------------------------------------------- */

int policy_participates(const struct policy *p, const char *measure, const char *node_id,
			const char *agency_type)
{
	int m = policy_measure_index(measure);
	size_t i;

	if (!p || m < 0)
		return 0;
	for (i = 0; i < p->nparts; i++) {
		const struct policy_part *pt = &p->parts[i];

		if (!(pt->measures & (1u << m)))
			continue;
		if (p->scope == POLICY_SCOPE_NODE)
			return 1;
		if (pt->agency_types.n &&
		    (!agency_type || !policy_list_has(&pt->agency_types, agency_type)))
			continue;
		if (pt->nodes.n && (!node_id || !policy_list_matches(&pt->nodes, node_id)))
			continue;
		return 1;
	}
	return 0;
}

static void policy_defaults(struct policy_disclosure *d)
{
	memset(d, 0, sizeof(*d));
	d->threshold = POLICY_THRESHOLD_DEFAULT;
	d->rounding = 1;
}

/* Fills a refusal: "refused by FILE WHERE: WHY". */
__attribute__((format(printf, 4, 5))) static void policy_refuse(const struct policy *p,
								struct policy_decision *d,
								const char *where, const char *fmt,
								...)
{
	char why[POLICY_MAX_MESSAGE];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	d->allowed = 0;
	d->include_restricted = 0;
	snprintf(d->message, sizeof(d->message), "refused by %.200s %.80s: %.200s", p->name, where,
		 why);
}

/* Checks one rule's constraints; on failure writes the reason into why. */
static int policy_rule_fits(const struct policy_rule *r, const struct policy_request *q, char *why,
			    size_t whysz)
{
	size_t i, j;

	for (i = 0; i < q->ngroup_by; i++)
		if (!policy_list_has(&r->group_by, q->group_by[i])) {
			snprintf(why, whysz, "group-by column '%s' not allowed", q->group_by[i]);
			return 0;
		}
	for (i = 0; i < q->nparams; i++) {
		const struct policy_rule_param *pp = NULL;

		for (j = 0; j < r->nparams; j++)
			if (!strcmp(r->params[j].name, q->params[i].name))
				pp = &r->params[j];
		if (!pp) {
			snprintf(why, whysz, "parameter '%s' not allowed", q->params[i].name);
			return 0;
		}
		if (!policy_list_has(&pp->values, q->params[i].value)) {
			snprintf(why, whysz, "value '%s' of parameter '%s' not allowed",
				 q->params[i].value, q->params[i].name);
			return 0;
		}
	}
	if (r->has_period) {
		long long len;

		if (!q->has_period) {
			snprintf(why, whysz, "a period is required");
			return 0;
		}
		if (__builtin_sub_overflow(q->period_to, q->period_from, &len) || len <= 0) {
			snprintf(why, whysz, "the period is empty");
			return 0;
		}
		if (len > r->max_days) {
			snprintf(why, whysz, "period of %lld days is longer than %lld", len,
				 r->max_days);
			return 0;
		}
		if (len < r->min_days) {
			snprintf(why, whysz, "period of %lld days is shorter than %lld", len,
				 r->min_days);
			return 0;
		}
	} else if (q->has_period) {
		snprintf(why, whysz, "a period is not allowed");
		return 0;
	}
	if (q->has_as_of) {
		long long today = policy_floor_div(q->now, 86400);
		long long back, ahead;

		if (!r->has_as_of) {
			snprintf(why, whysz, "an as-of date is not allowed");
			return 0;
		}
		if (__builtin_sub_overflow(today, (long long)q->as_of, &back) ||
		    __builtin_sub_overflow((long long)q->as_of, today, &ahead)) {
			snprintf(why, whysz, "as-of date out of range");
			return 0;
		}
		if (back > r->max_days_back) {
			snprintf(why, whysz, "as-of date %lld days before today, at most %lld",
				 back, r->max_days_back);
			return 0;
		}
		if (ahead > r->max_days_ahead) {
			snprintf(why, whysz, "as-of date %lld days after today, at most %lld",
				 ahead, r->max_days_ahead);
			return 0;
		}
	}
	if (!policy_list_has(&r->purposes, q->purpose)) {
		snprintf(why, whysz, "purpose '%s' not allowed", q->purpose);
		return 0;
	}
	if (!policy_list_has(&r->legal_bases, q->legal_basis)) {
		snprintf(why, whysz, "legal basis '%s' not allowed", q->legal_basis);
		return 0;
	}
	return 1;
}

/* A request's strings are codes; anything else is refused without echoing it. */
static const char *policy_request_malformed(const struct policy_request *q)
{
	size_t i;

	if (!policy_is_pattern(q->requester_id) || strchr(q->requester_id, '*'))
		return "malformed requester identity";
	if (!policy_in_set(q->requester_ou, policy_ous))
		return "malformed requester role";
	if (policy_measure_index(q->measure) < 0)
		return "unknown measure";
	if (!policy_is_code(q->purpose))
		return "malformed purpose";
	if (!policy_is_code(q->legal_basis))
		return "malformed legal basis";
	if (q->ngroup_by > POLICY_MAX_GROUP_BY)
		return "too many group-by columns";
	for (i = 0; i < q->ngroup_by; i++)
		if (!policy_is_code(q->group_by[i]))
			return "malformed group-by column";
	if (q->nparams > POLICY_MAX_PARAMS)
		return "too many parameters";
	for (i = 0; i < q->nparams; i++)
		if (!policy_is_code(q->params[i].name) || !policy_is_code(q->params[i].value))
			return "malformed parameter";
	return NULL;
}

static int policy_rate_take(struct policy_rate *rt, const char *identity,
			    const struct policy_rule *r, int64_t now, const char **which);

static int policy_check_args(const struct policy_request *q)
{
	size_t i;

	if (!q->requester_id || !q->requester_ou || !q->measure || !q->purpose || !q->legal_basis)
		return 0;
	if ((q->ngroup_by && !q->group_by) || (q->nparams && !q->params))
		return 0;
	for (i = 0; i < q->ngroup_by && i <= POLICY_MAX_GROUP_BY; i++)
		if (!q->group_by[i])
			return 0;
	for (i = 0; i < q->nparams && i <= POLICY_MAX_PARAMS; i++)
		if (!q->params[i].name || !q->params[i].value)
			return 0;
	return 1;
}

int policy_check(const struct policy *p, const struct policy_request *q, struct policy_rate *rate,
		 struct policy_decision *out)
{
	struct policy_decision d;
	unsigned char holds[POLICY_MAX_ROLES];
	const struct policy_rule *first = NULL, *first_m = NULL, *fit = NULL;
	char why[POLICY_MAX_MESSAGE], first_why[POLICY_MAX_MESSAGE];
	const char *bad;
	size_t i;
	int m, rc = CL_EDENIED, first_role = -1;

	if (!p || !q || !out || !policy_check_args(q))
		return CL_EINVAL;
	memset(&d, 0, sizeof(d));
	policy_defaults(&d.disclosure);
	bad = policy_request_malformed(q);
	if (bad) {
		policy_refuse(p, &d, "request", "%s", bad);
		goto out;
	}
	m = policy_measure_index(q->measure);
	if (p->scope == POLICY_SCOPE_NODE && !policy_participates(p, q->measure, NULL, NULL)) {
		snprintf(d.rule, sizeof(d.rule), "participation");
		policy_refuse(p, &d, "participation", "this node does not answer measure %s",
			      q->measure);
		goto out;
	}
	memset(holds, 0, sizeof(holds));
	for (i = 0; i < p->nroles; i++)
		if (!strcmp(p->roles[i].ou, q->requester_ou) &&
		    policy_list_matches(&p->roles[i].identities, q->requester_id)) {
			holds[i] = 1;
			if (first_role < 0)
				first_role = (int)i;
		}
	if (first_role < 0) {
		snprintf(d.rule, sizeof(d.rule), "roles");
		policy_refuse(p, &d, "roles", "identity '%s' with OU '%s' holds no role",
			      q->requester_id, q->requester_ou);
		goto out;
	}
	for (i = 0; i < p->nrules; i++) {
		const struct policy_rule *r = &p->rules[i];

		if (!holds[r->role])
			continue;
		if (r->identities.n && !policy_list_matches(&r->identities, q->requester_id))
			continue;
		if (!first)
			first = r;
		if (!(r->measures & (1u << m)))
			continue;
		if (policy_rule_fits(r, q, why, sizeof(why))) {
			fit = r;
			break;
		}
		if (!first_m) {
			first_m = r;
			memcpy(first_why, why, sizeof(why));
		}
	}
	if (!first) {
		const struct policy_role *ro = &p->roles[first_role];

		snprintf(d.role, sizeof(d.role), "%s", ro->name);
		if (ro->has_disclosure)
			d.disclosure = ro->disclosure;
		policy_refuse(p, &d, "rules", "no rule for role %s", ro->name);
		goto out;
	}
	if (!fit && !first_m) {
		const struct policy_role *ro = &p->roles[first->role];

		snprintf(d.rule, sizeof(d.rule), "%s", first->id);
		snprintf(d.role, sizeof(d.role), "%s", ro->name);
		if (ro->has_disclosure)
			d.disclosure = ro->disclosure;
		snprintf(why, sizeof(why), "rule '%s'", first->id);
		policy_refuse(p, &d, why, "measure %s not allowed for role %s", q->measure,
			      ro->name);
		goto out;
	}
	{
		const struct policy_rule *r = fit ? fit : first_m;
		const struct policy_role *ro = &p->roles[r->role];
		char where[POLICY_MAX_NAME + 16];

		snprintf(d.rule, sizeof(d.rule), "%s", r->id);
		snprintf(d.role, sizeof(d.role), "%s", ro->name);
		if (ro->has_disclosure)
			d.disclosure = ro->disclosure;
		snprintf(where, sizeof(where), "rule '%s'", r->id);
		if (!fit) {
			policy_refuse(p, &d, where, "%s", first_why);
			goto out;
		}
		if (r->per_hour || r->per_day) {
			const char *which = NULL;
			int taken;

			if (!rate) {
				rc = CL_EINVAL;
				goto out;
			}
			taken = policy_rate_take(rate, q->requester_id, r, q->now, &which);
			if (taken < 0) {
				rc = taken;
				goto out;
			}
			if (taken == 0) {
				if (!strcmp(which, "hour"))
					policy_refuse(p, &d, where,
						      "rate limit of %lld queries per hour reached",
						      r->per_hour);
				else if (!strcmp(which, "day"))
					policy_refuse(p, &d, where,
						      "rate limit of %lld queries per day reached",
						      r->per_day);
				else
					policy_refuse(p, &d, where, "rate tracker full");
				rc = CL_EQUOTA;
				goto out;
			}
		}
		d.allowed = 1;
		d.include_restricted =
		    !strcmp(q->legal_basis, "child_protection") && (m == 6 || m == 7);
		snprintf(d.message, sizeof(d.message), "allowed by %.200s %.80s", p->name, where);
		rc = 0;
	}
out:
	if (rc == 0 || rc == CL_EDENIED || rc == CL_EQUOTA)
		*out = d;
	return rc;
}

/* ---- rate tracker ----------------------------------------------------- */

int policy_rate_new(struct policy_rate **out)
{
	struct policy_rate *r;

	if (!out)
		return CL_EINVAL;
	r = calloc(1, sizeof(*r));
	if (!r)
		return CL_ENOMEM;
	if (pthread_mutex_init(&r->lock, NULL) != 0) {
		free(r);
		return CL_ENOMEM;
	}
	*out = r;
	return CL_OK;
}

void policy_rate_free(struct policy_rate *r)
{
	if (!r)
		return;
	pthread_mutex_destroy(&r->lock);
	free(r->e);
	free(r);
}

/* Finds or (create) adds the entry of (identity, rule); caller holds the lock. NULL: full. */
static struct policy_rate_entry *policy_rate_entry(struct policy_rate *r, const char *identity,
						   const char *rule, int64_t day, int create,
						   int *nomem)
{
	size_t i, k;

	*nomem = 0;
	for (i = 0; i < r->n; i++)
		if (!strcmp(r->e[i].identity, identity) && !strcmp(r->e[i].rule, rule))
			return &r->e[i];
	if (!create)
		return NULL;
	if (r->n == r->cap) {
		/* Drop entries whose day has passed before growing. */
		for (i = 0, k = 0; i < r->n; i++)
			if (r->e[i].day >= day)
				r->e[k++] = r->e[i];
		r->n = k;
	}
	if (r->n == r->cap) {
		size_t ncap = r->cap ? r->cap * 2 : 16, bytes;
		struct policy_rate_entry *ne;

		if (ncap > POLICY_RATE_MAX)
			ncap = POLICY_RATE_MAX;
		if (ncap <= r->cap)
			return NULL;
		if (__builtin_mul_overflow(ncap, sizeof(*ne), &bytes)) {
			*nomem = 1;
			return NULL;
		}
		ne = realloc(r->e, bytes);
		if (!ne) {
			*nomem = 1;
			return NULL;
		}
		r->e = ne;
		r->cap = ncap;
	}
	memset(&r->e[r->n], 0, sizeof(r->e[r->n]));
	snprintf(r->e[r->n].identity, POLICY_MAX_NAME, "%s", identity);
	snprintf(r->e[r->n].rule, POLICY_MAX_NAME, "%s", rule);
	return &r->e[r->n++];
}

static void policy_rate_roll(struct policy_rate_entry *e, int64_t hour, int64_t day)
{
	if (e->hour != hour) {
		e->hour = hour;
		e->hour_count = 0;
	}
	if (e->day != day) {
		e->day = day;
		e->day_count = 0;
	}
}

/* 1: counted; 0: refused (*which "hour", "day" or "full"); < 0: error. */
static int policy_rate_take(struct policy_rate *rt, const char *identity,
			    const struct policy_rule *r, int64_t now, const char **which)
{
	int64_t hour = policy_floor_div(now, 3600), day = policy_floor_div(now, 86400);
	struct policy_rate_entry *e;
	int nomem, rc;

	pthread_mutex_lock(&rt->lock);
	e = policy_rate_entry(rt, identity, r->id, day, 1, &nomem);
	if (!e) {
		rc = nomem ? CL_ENOMEM : 0;
		*which = "full";
		goto out;
	}
	policy_rate_roll(e, hour, day);
	if (r->per_hour && e->hour_count >= r->per_hour) {
		*which = "hour";
		rc = 0;
		goto out;
	}
	if (r->per_day && e->day_count >= r->per_day) {
		*which = "day";
		rc = 0;
		goto out;
	}
	e->hour_count++;
	e->day_count++;
	rc = 1;
out:
	pthread_mutex_unlock(&rt->lock);
	return rc;
}

int policy_rate_get(struct policy_rate *r, const char *identity, const char *rule, int64_t now,
		    long long *hour_count, long long *day_count)
{
	int64_t hour = policy_floor_div(now, 3600), day = policy_floor_div(now, 86400);
	struct policy_rate_entry *e;
	long long h = 0, d = 0;
	int nomem;

	if (!r || !identity || !rule || !hour_count || !day_count)
		return CL_EINVAL;
	pthread_mutex_lock(&r->lock);
	e = policy_rate_entry(r, identity, rule, day, 0, &nomem);
	if (e) {
		h = e->hour == hour ? e->hour_count : 0;
		d = e->day == day ? e->day_count : 0;
	}
	pthread_mutex_unlock(&r->lock);
	*hour_count = h;
	*day_count = d;
	return CL_OK;
}

int policy_rate_set(struct policy_rate *r, const char *identity, const char *rule, int64_t now,
		    long long hour_count, long long day_count)
{
	int64_t hour = policy_floor_div(now, 3600), day = policy_floor_div(now, 86400);
	struct policy_rate_entry *e;
	int nomem, rc = CL_OK;

	if (!r || !identity || !rule || strlen(identity) >= POLICY_MAX_NAME ||
	    strlen(rule) >= POLICY_MAX_NAME || hour_count < 0 || day_count < 0)
		return CL_EINVAL;
	pthread_mutex_lock(&r->lock);
	e = policy_rate_entry(r, identity, rule, day, 1, &nomem);
	if (!e) {
		rc = nomem ? CL_ENOMEM : CL_ELIMIT;
		goto out;
	}
	e->hour = hour;
	e->day = day;
	e->hour_count = hour_count;
	e->day_count = day_count;
out:
	pthread_mutex_unlock(&r->lock);
	return rc;
}

/* ---- case answers (M7, M8): the holding agency decides ------------------ */

static char policy_dflt_cp_bases[1][POLICY_MAX_NAME] = {"child_protection"};
static char policy_dflt_cp_types[4][POLICY_MAX_NAME] = {"child_rights", "social_services", "police",
							"municipal_police"};

/* The rules of a node policy without case_disclosure (docs/policy.md "Case answers"). */
static const struct policy_case_rule policy_case_defaults[] = {
    {"default-child-protection",
     (1u << 6) | (1u << 7),
     {4, policy_dflt_cp_types},
     POLICY_CASE_COOPERATION_GROUP,
     {0, NULL},
     {1, policy_dflt_cp_bases},
     POLICY_EVIDENCE_REFERRAL | POLICY_EVIDENCE_MARAC},
    {"default-shared-case",
     (1u << 6) | (1u << 7),
     {0, NULL},
     POLICY_CASE_COOPERATION_GROUP,
     {0, NULL},
     {0, NULL},
     POLICY_EVIDENCE_REFERRAL | POLICY_EVIDENCE_MARAC},
};

/* Whether the asking agency is where the rule's scope allows. */
static int policy_case_in_scope(const struct policy *p, const struct policy_case_rule *r,
				const struct policy_case_request *q)
{
	switch (r->scope) {
	case POLICY_CASE_ANY:
		return 1;
	case POLICY_CASE_COUNTRY:
		return q->asker_country[0] && !strcmp(q->asker_country, q->own_country);
	case POLICY_CASE_COOPERATION_GROUP:
		if (q->asker_municipality[0] && policy_list_has(&p->coop, q->asker_municipality))
			return 1;
		/* the node's own municipality is always in its group */
		return q->asker_municipality[0] &&
		       !strcmp(q->asker_municipality, q->own_municipality);
	case POLICY_CASE_MUNICIPALITY:
		return q->asker_municipality[0] &&
		       !strcmp(q->asker_municipality, q->own_municipality);
	}
	return 0;
}

static int policy_case_fits(const struct policy *p, const struct policy_case_rule *r,
			    const struct policy_case_request *q)
{
	int m = policy_measure_index(q->measure);

	if (m < 0 || !(r->measures & (1u << m)))
		return 0;
	if (r->agency_types.n && !policy_list_has(&r->agency_types, q->asker_type))
		return 0;
	if (r->purposes.n && !policy_list_has(&r->purposes, q->purpose))
		return 0;
	if (r->legal_bases.n ? !policy_list_has(&r->legal_bases, q->legal_basis)
			     : !strcmp(q->legal_basis, "child_protection"))
		return 0;
	return policy_case_in_scope(p, r, q);
}

int policy_case_check(const struct policy *p, const struct policy_case_request *q,
		      struct policy_case_decision *out)
{
	const struct policy_case_rule *rules;
	struct policy_case_decision d;
	size_t i, n;

	if (!p || !q || !out || !q->measure || !q->purpose || !q->legal_basis || !q->asker_type ||
	    !q->asker_municipality || !q->asker_country || !q->own_municipality ||
	    !q->own_country || p->scope != POLICY_SCOPE_NODE)
		return CL_EINVAL;
	rules = p->ncase ? p->case_rules : policy_case_defaults;
	n = p->ncase ? p->ncase : sizeof(policy_case_defaults) / sizeof(policy_case_defaults[0]);
	memset(&d, 0, sizeof(d));
	for (i = 0; i < n; i++) {
		if (!policy_case_fits(p, &rules[i], q))
			continue;
		d.allowed = 1;
		d.evidence = rules[i].evidence;
		snprintf(d.rule, sizeof(d.rule), "%s", rules[i].id);
		snprintf(d.message, sizeof(d.message),
			 "allowed by %.200s case_disclosure rule '%s'", p->name, rules[i].id);
		*out = d;
		return CL_OK;
	}
	snprintf(d.rule, sizeof(d.rule), "case_disclosure");
	{
		char who[160];

		snprintf(who, sizeof(who), "agency type '%.32s' of '%.63s' (%.8s)",
			 q->asker_type[0] ? q->asker_type : "unknown",
			 q->asker_municipality[0] ? q->asker_municipality : "unknown",
			 q->asker_country[0] ? q->asker_country : "-");
		snprintf(
		    d.message, sizeof(d.message),
		    "refused by %.120s case_disclosure: no %srule discloses %.2s to %.140s for "
		    "purpose '%.63s', legal basis '%.63s'",
		    p->name, p->ncase ? "" : "default ", q->measure, who, q->purpose,
		    q->legal_basis);
	}
	*out = d;
	return CL_EDENIED;
}

unsigned policy_case_evidence(unsigned kinds, const char *asker_type,
			      const struct policy_case_event *ev, size_t n, int64_t as_of_end)
{
	unsigned found = 0;
	size_t i;

	if (kinds & POLICY_EVIDENCE_NONE)
		return POLICY_EVIDENCE_NONE;
	for (i = 0; ev && i < n; i++) {
		const char *t = ev[i].event_type ? ev[i].event_type : "";
		int in_year = ev[i].occurred_at < as_of_end &&
			      ev[i].occurred_at >= as_of_end - (int64_t)365 * 86400;

		if ((kinds & POLICY_EVIDENCE_REFERRAL) && !strcmp(t, "referral_sent") &&
		    asker_type && asker_type[0] && ev[i].referral_to &&
		    !strcmp(ev[i].referral_to, asker_type) && ev[i].occurred_at < as_of_end)
			found |= POLICY_EVIDENCE_REFERRAL;
		if ((kinds & POLICY_EVIDENCE_MARAC) && !strcmp(t, "marac_case_review") &&
		    ev[i].occurred_at < as_of_end)
			found |= POLICY_EVIDENCE_MARAC;
		if ((kinds & POLICY_EVIDENCE_HIGH_RISK) && in_year &&
		    ((ev[i].risk_level && !strcmp(ev[i].risk_level, "high")) ||
		     !strcmp(t, "protection_order_breach")))
			found |= POLICY_EVIDENCE_HIGH_RISK;
	}
	return found;
}

const char *policy_evidence_name(unsigned bit)
{
	size_t k;

	for (k = 0; policy_evidence_names[k]; k++)
		if (bit == 1u << k)
			return policy_evidence_names[k];
	return "";
}
