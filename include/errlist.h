/*
 * errlist.h: located configuration errors, collected so that every error
 * of a load is reported at once (as iked's parse.y does) and the whole
 * load fails.  Format of one error:
 *   FILE:LINE:COLUMN: JSONPATH: message
 * e.g. rules/db.json:7:21: $.spec.ingress[0].protocol: unknown protocol "tcpx"
 */
#ifndef BULKHEAD_ERRLIST_H
#define BULKHEAD_ERRLIST_H

#include <stddef.h>

struct errlist {
	char	**v;
	size_t	  n;
};

void	errlist_init(struct errlist *);
void	errlist_release(struct errlist *);
void	errlist_add(struct errlist *, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));
/* All errors joined by newlines; caller frees. */
char	*errlist_join(const struct errlist *);

#endif
