/*
 * selector.h: Calico-style label selectors over Docker labels.
 *
 *   app == 'db'             app != 'db'           has(tier)     !has(tier)
 *   app in {'a', 'b'}       app not in {'a'}      all()         (empty string = all())
 *   app starts with 'we'    app ends with 'b'     app contains 'e'
 *   !expr    expr && expr    expr || expr    ( expr )
 *
 * Strings take single or double quotes.  && binds tighter than ||.
 * As in Calico, != and not in also hold when the label is absent; the
 * other operators need the label.
 * Label keys: [A-Za-z0-9_./-]+ (Docker's label keys, e.g. com.docker.compose.service).
 * Pure module: no library beyond libc.
 */
#ifndef BULKHEAD_SELECTOR_H
#define BULKHEAD_SELECTOR_H

#include <stddef.h>

struct labelset;
struct selector;

/*
 * Parses text.  On success returns a new selector the caller frees with
 * selector_free.  On failure returns NULL, writes a lower-case message to
 * err (e.g. "expected ')' but found end of selector") and the 0-based byte
 * offset of the problem in text to *errpos.
 */
struct selector	*selector_parse(const char *text, char *err, size_t errlen,
		    size_t *errpos);
void		 selector_free(struct selector *);
/* Returns 1 when the labels satisfy the selector, 0 otherwise. */
int		 selector_match(const struct selector *, const struct labelset *);
/*
 * A condition every match fulfils: label key has one of vals[0..nvals)
 * (from an ==, an in, or an operand of a top-level &&).  Returns 1 and
 * points into the selector, or 0 when there is none (all(), !=, ||, ...).
 * Lets callers look candidates up in a label index instead of testing
 * every label set.
 */
int		 selector_required(const struct selector *, const char **key,
		    char *const **vals, size_t *nvals);
/* The canonical text of the selector, owned by the selector. */
const char	*selector_text(const struct selector *);

#endif
