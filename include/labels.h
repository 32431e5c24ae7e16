/*
 * labels.h: a container's label set, the input of selector evaluation.
 * Pure: used by the inventory, the selector and the policy evaluator.
 */
#ifndef BULKHEAD_LABELS_H
#define BULKHEAD_LABELS_H

#include <stddef.h>

struct label {
	char	*key;
	char	*value;
};

/* Kept sorted by key so that lookups are binary searches. */
struct labelset {
	struct label	*v;
	size_t		 n;
};

void		 labelset_init(struct labelset *);
void		 labelset_release(struct labelset *);
/* Copies key and value; replaces the value of an existing key. */
void		 labelset_set(struct labelset *, const char *key, const char *value);
/* Returns the value or NULL; the pointer stays owned by the set. */
const char	*labelset_get(const struct labelset *, const char *key);
void		 labelset_copy(struct labelset *dst, const struct labelset *src);

#endif
