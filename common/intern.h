/*
 * intern — a set of strings, each stored once and named by a dense id (0, 1, 2, ... in the order
 * first added): an open-addressing hash table over a growing array of copies.
 */
#ifndef CASELINK_INTERN_H
#define CASELINK_INTERN_H

#include <stddef.h>
#include <stdint.h>

struct intern;

/* Creates an empty set accepting non-empty strings shorter than max_len bytes. */
int intern_new(size_t max_len, struct intern **out);

/* Frees the set and its strings; NULL is allowed. */
void intern_free(struct intern *t);

/*
 * Stores a copy of s unless present and gives its id; CL_EINVAL for an empty string, CL_ELIMIT
 * for one of max_len bytes or more or when the set is full, CL_ENOMEM.
 */
int intern_add(struct intern *t, const char *s, uint32_t *id);

/* Returns the string of an id, or NULL when t is NULL or the id is unknown. */
const char *intern_str(const struct intern *t, uint32_t id);

/* Returns the number of strings stored (ids are below it); 0 for NULL. */
size_t intern_count(const struct intern *t);

#endif
