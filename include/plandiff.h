/*
 * plandiff.h: what changes between two rulesets as `bulkhead plan` prints
 * them (ir_print's text), block by block: sets and chains that appear or
 * go, and inside a kept block the lines added and removed.  Element lists
 * compare element by element, whatever their order.  Pure: libc only.
 */
#ifndef BULKHEAD_PLANDIFF_H
#define BULKHEAD_PLANDIFF_H

#include <stddef.h>

struct strbuf;

struct plandiff_stats {
	size_t	blocks_added;
	size_t	blocks_removed;
	size_t	blocks_changed;
	size_t	lines_added;
	size_t	lines_removed;
};

/*
 * Appends the difference from old to new to out: "+ "/"- " lines under
 * "@ table inet bulkhead chain in_ab12" headers.  Nothing when equal.
 */
void	plandiff(const char *old, const char *new, struct strbuf *out,
	    struct plandiff_stats *st);

#endif
