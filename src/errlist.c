/*
 * errlist.c: collects located configuration errors so a load reports all
 * of them at once and fails as a whole.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "errlist.h"
#include "log.h"
#include "util.h"

void
errlist_init(struct errlist *el)
{
	el->v = NULL;
	el->n = 0;
}

void
errlist_release(struct errlist *el)
{
	size_t	i;

	for (i = 0; i < el->n; i++)
		free(el->v[i]);
	free(el->v);
	errlist_init(el);
}

void
errlist_add(struct errlist *el, const char *fmt, ...)
{
	va_list	 ap;
	char	*msg;

	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) < 0)
		fatal("vasprintf");
	va_end(ap);
	el->v = xreallocarray(el->v, el->n + 1, sizeof(*el->v));
	el->v[el->n++] = msg;
}

char *
errlist_join(const struct errlist *el)
{
	struct strbuf	sb;
	size_t		i;

	strbuf_init(&sb);
	for (i = 0; i < el->n; i++) {
		if (i)
			strbuf_addstr(&sb, "\n");
		strbuf_addstr(&sb, el->v[i]);
	}
	return strbuf_detach(&sb);
}
