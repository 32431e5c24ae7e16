/*
 * plandiff.c: the difference between two printed rulesets, for `bulkhead
 * plan --diff` ("what will this change do").  Works on ir_print's text,
 * after compile.c: a ruleset is tables of blocks (sets, maps, chains), a
 * block a list of lines.  Blocks are matched by name; inside a block lines
 * are matched as multisets, so a reordered element list is no change and
 * the cost stays linear in the size of the rulesets.
 */
#include <stdlib.h>
#include <string.h>

#include "plandiff.h"
#include "util.h"

struct pd_block {
	char	 *name;		/* "table inet bulkhead chain forward" */
	char	**lines;	/* without indentation and trailing comma */
	size_t	  n;
	int	  seen;		/* matched with a block of the other side */
};

struct pd_set {
	struct pd_block	*v;
	size_t		 n;
};

static char *
pd_trim(const char *s, size_t len)
{
	while (len && (*s == '\t' || *s == ' ')) {
		s++;
		len--;
	}
	while (len && (s[len - 1] == ',' || s[len - 1] == ' ' ||
	    s[len - 1] == '\r'))
		len--;
	return xstrndup(s, len);
}

static struct pd_block *
pd_open(struct pd_set *set, const char *table, const char *head)
{
	struct pd_block	*b;

	set->v = xreallocarray(set->v, set->n + 1, sizeof(*set->v));
	b = &set->v[set->n++];
	memset(b, 0, sizeof(*b));
	b->name = xasprintf("%s %s", table, head);
	return b;
}

static void
pd_add_line(struct pd_block *b, char *line)
{
	b->lines = xreallocarray(b->lines, b->n + 1, sizeof(*b->lines));
	b->lines[b->n++] = line;
}

/*
 * Splits text into blocks by nesting: a table opens depth 1, a set, map
 * or chain depth 2, an element list depth 3 (its lines belong to the
 * block).  Lines of a table outside any block go to a block named after
 * the table alone.
 */
static void
pd_parse(const char *text, struct pd_set *set)
{
	char		 table[256] = "", *line;
	struct pd_block	*cur = NULL;
	const char	*p = text, *nl;
	size_t		 len;
	int		 depth = 0;

	while (p && *p) {
		nl = strchr(p, '\n');
		len = nl ? (size_t)(nl - p) : strlen(p);
		line = pd_trim(p, len);
		p = nl ? nl + 1 : NULL;
		len = strlen(line);
		if (len == 0) {
			free(line);
		} else if (strcmp(line, "}") == 0) {
			if (--depth <= 1)
				cur = NULL;
			free(line);
		} else if (len >= 2 && strcmp(line + len - 2, " {") == 0) {
			line[len - 2] = '\0';
			if (depth == 0)
				strlcpy_bh(table, line, sizeof(table));
			else if (depth == 1)
				cur = pd_open(set, table, line);
			depth++;
			free(line);
		} else {
			if (cur == NULL)
				cur = pd_open(set, table, "");
			pd_add_line(cur, line);
			if (depth <= 1)
				cur = NULL;
		}
	}
}

static void
pd_free(struct pd_set *set)
{
	size_t	i, j;

	for (i = 0; i < set->n; i++) {
		for (j = 0; j < set->v[i].n; j++)
			free(set->v[i].lines[j]);
		free(set->v[i].lines);
		free(set->v[i].name);
	}
	free(set->v);
}

static int
pd_strcmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int
pd_block_cmp(const void *a, const void *b)
{
	return strcmp(((const struct pd_block *)a)->name,
	    ((const struct pd_block *)b)->name);
}

/* The block called name in the sorted set, or NULL. */
static struct pd_block *
pd_find(struct pd_set *sorted, const char *name)
{
	struct pd_block	 key;

	key.name = (char *)name;
	if (sorted->n == 0)
		return NULL;	/* v may be NULL: not for bsearch */
	return bsearch(&key, sorted->v, sorted->n, sizeof(*sorted->v),
	    pd_block_cmp);
}

static void
pd_lines(struct strbuf *out, const struct pd_block *b, char sign,
    size_t *count)
{
	size_t	i;

	for (i = 0; i < b->n; i++)
		strbuf_addf(out, "%c %s\n", sign, b->lines[i]);
	*count += b->n;
}

/*
 * Lines of a and b compared as sorted multisets: the surplus of each side
 * is what was removed or added.  Prints in sorted order.
 */
static int
pd_block_diff(struct strbuf *out, struct pd_block *a, struct pd_block *b,
    struct plandiff_stats *st)
{
	char	**x = xcalloc(a->n + 1, sizeof(*x));
	char	**y = xcalloc(b->n + 1, sizeof(*y));
	size_t	  i = 0, j = 0, start = out->len;
	int	  c, changed = 0;

	if (a->n) {
		memcpy(x, a->lines, a->n * sizeof(*x));
		qsort(x, a->n, sizeof(*x), pd_strcmp);
	}
	if (b->n) {
		memcpy(y, b->lines, b->n * sizeof(*y));
		qsort(y, b->n, sizeof(*y), pd_strcmp);
	}
	strbuf_addf(out, "@ %s\n", b->name);
	while (i < a->n || j < b->n) {
		c = i == a->n ? 1 : j == b->n ? -1 : strcmp(x[i], y[j]);
		if (c == 0) {
			i++;
			j++;
		} else if (c < 0) {
			strbuf_addf(out, "- %s\n", x[i++]);
			st->lines_removed++;
			changed = 1;
		} else {
			strbuf_addf(out, "+ %s\n", y[j++]);
			st->lines_added++;
			changed = 1;
		}
	}
	if (!changed) {
		out->len = start;
		if (out->buf)
			out->buf[start] = '\0';
	}
	free(x);
	free(y);
	return changed;
}

void
plandiff(const char *old, const char *new, struct strbuf *out,
    struct plandiff_stats *st)
{
	struct pd_set	 a = { NULL, 0 }, b = { NULL, 0 };
	struct pd_block	*m;
	size_t		 i;

	memset(st, 0, sizeof(*st));
	pd_parse(old ? old : "", &a);
	pd_parse(new ? new : "", &b);
	if (a.n)
		qsort(a.v, a.n, sizeof(*a.v), pd_block_cmp);
	/* In the new ruleset's order: what is added or changed... */
	for (i = 0; i < b.n; i++) {
		if ((m = pd_find(&a, b.v[i].name)) == NULL) {
			strbuf_addf(out, "+@ %s\n", b.v[i].name);
			pd_lines(out, &b.v[i], '+', &st->lines_added);
			st->blocks_added++;
			continue;
		}
		m->seen = 1;
		if (pd_block_diff(out, m, &b.v[i], st))
			st->blocks_changed++;
	}
	/* ...then what goes. */
	for (i = 0; i < a.n; i++) {
		if (a.v[i].seen)
			continue;
		strbuf_addf(out, "-@ %s\n", a.v[i].name);
		pd_lines(out, &a.v[i], '-', &st->lines_removed);
		st->blocks_removed++;
	}
	pd_free(&a);
	pd_free(&b);
}
