/*
 * labels.c: sorted label sets, the input of selector matching.
 */
#include <stdlib.h>
#include <string.h>

#include "labels.h"
#include "util.h"

void
labelset_init(struct labelset *ls)
{
	ls->v = NULL;
	ls->n = 0;
}

void
labelset_release(struct labelset *ls)
{
	size_t	i;

	for (i = 0; i < ls->n; i++) {
		free(ls->v[i].key);
		free(ls->v[i].value);
	}
	free(ls->v);
	labelset_init(ls);
}

/* Index of key, or of the slot where it belongs (*found = 0). */
static size_t
labelset_find(const struct labelset *ls, const char *key, int *found)
{
	size_t	lo = 0, hi = ls->n;

	while (lo < hi) {
		size_t	mid = lo + (hi - lo) / 2;
		int	c = strcmp(ls->v[mid].key, key);

		if (c == 0) {
			*found = 1;
			return mid;
		}
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	*found = 0;
	return lo;
}

void
labelset_set(struct labelset *ls, const char *key, const char *value)
{
	int	found;
	size_t	i = labelset_find(ls, key, &found);

	if (found) {
		free(ls->v[i].value);
		ls->v[i].value = xstrdup(value);
		return;
	}
	ls->v = xreallocarray(ls->v, ls->n + 1, sizeof(*ls->v));
	memmove(&ls->v[i + 1], &ls->v[i], (ls->n - i) * sizeof(*ls->v));
	ls->v[i].key = xstrdup(key);
	ls->v[i].value = xstrdup(value);
	ls->n++;
}

const char *
labelset_get(const struct labelset *ls, const char *key)
{
	int	found;
	size_t	i = labelset_find(ls, key, &found);

	return found ? ls->v[i].value : NULL;
}

void
labelset_copy(struct labelset *dst, const struct labelset *src)
{
	size_t	i;

	labelset_init(dst);
	for (i = 0; i < src->n; i++)
		labelset_set(dst, src->v[i].key, src->v[i].value);
}
