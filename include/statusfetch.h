/*
 * statusfetch.h: bulkheadd's status for bulkhead-capture, fetched by a
 * child process that keeps root's access to the control socket while the
 * capture itself runs unprivileged (statusfetch.c).
 */
#ifndef BULKHEAD_STATUSFETCH_H
#define BULKHEAD_STATUSFETCH_H

#include <stddef.h>

struct statusfetch;

/* Forks the helper for the control socket at path; NULL on failure. */
struct statusfetch *statusfetch_start(const char *path);
/* The daemon's status answer (caller frees), or -1 with a message in err. */
int	statusfetch_get(struct statusfetch *, char **answer, char *err,
	    size_t errlen);
/* Closes the pair and reaps the helper. */
void	statusfetch_stop(struct statusfetch *);

#endif
