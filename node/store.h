/*
 * store — the agency node's SQLite store (DIR/node.db): persons, events, the
 * record of imports and the node's own identity (agency, type, municipality,
 * country). WAL journal, foreign keys on, file mode 0600, a schema version in
 * PRAGMA user_version with forward migrations applied on open.
 */
#ifndef CASELINK_NODE_STORE_H
#define CASELINK_NODE_STORE_H

#include <stdint.h>
#include <stdio.h>

#include <sqlite3.h>

#define NODE_STORE_VERSION    2 /* the newest schema this program knows */
#define NODE_STORE_FILE	      "node.db"
#define NODE_AGENCY_ID_MAX    65  /* bytes of an agency id, NUL included */
#define NODE_AGENCY_TYPE_MAX  32  /* bytes of an agency type, NUL included */
#define NODE_MUNICIPALITY_MAX 129 /* bytes of a municipality name, NUL included */

struct node_store;

/* The node's identity, as given to node_store_init and kept in the meta table. */
struct node_store_meta {
	char agency_id[NODE_AGENCY_ID_MAX];
	char agency_type[NODE_AGENCY_TYPE_MAX];
	char municipality[NODE_MUNICIPALITY_MAX];
	char country[3];
	int64_t created_at; /* seconds since the epoch; set by node_store_init */
	int schema_version; /* filled by node_store_get_meta */
};

/* Returns 1 when type is one of the agency types of record-format.md, else 0. */
int node_store_agency_type_valid(const char *type);

/*
 * Creates dir (mode 0700, when missing) and a new store dir/node.db (mode 0600)
 * holding meta. Returns CL_EEXIST when a store already exists there (it is left
 * untouched), CL_EINVAL for an invalid meta field, CL_EIO or CL_ESQL otherwise.
 */
int node_store_init(const char *dir, const struct node_store_meta *meta);

/*
 * Opens the existing store in dir, applying forward migrations. Returns
 * CL_ENOTFOUND when there is none, CL_ESCHEMA when its version is newer than
 * NODE_STORE_VERSION, CL_ECORRUPT when it is not a caselink store.
 */
int node_store_open(const char *dir, struct node_store **out);

/* Closes the store; NULL is allowed. */
void node_store_close(struct node_store *s);

/* The open database handle, for the modules that read and write the store. */
sqlite3 *node_store_db(struct node_store *s);

/* Reads the node's identity and the schema version into *out. */
int node_store_get_meta(struct node_store *s, struct node_store_meta *out);

/* Prints the store's status report (identity, counts, date range, last import) to out. */
int node_store_status(struct node_store *s, FILE *out);

#endif
