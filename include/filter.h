/*
 * filter.h: which events bulkhead-capture shows.  Every criterion set must
 * match: protocol, port (source or destination), policy, verdict, and the
 * peers: --from and --to name a container, "host", "world", an address,
 * or give a label selector in the policy language (selector.h).
 *
 * A peer criterion is a selector when it is not a plain name or address
 * (a name is [A-Za-z0-9][A-Za-z0-9_.-]*).  A name matches the container's
 * name, a prefix of its id of at least 12 characters, or "host"/"world";
 * a selector matches containers only (host and world have no labels).
 * Peers are only known with bulkheadd: without it, only addresses match.
 * Pure.
 */
#ifndef BULKHEAD_FILTER_H
#define BULKHEAD_FILTER_H

#include <stddef.h>

#include "identity.h"
#include "nflog.h"

struct peer_match;

struct filter {
	int			 proto;		/* -1: any */
	int			 port;		/* -1: any */
	const char		*policy;	/* NULL: any; not owned */
	char			 verdict;	/* 0: any, else the prefix letter */
	struct peer_match	*from, *to;	/* NULL: any; owned */
};

void	filter_init(struct filter *);
void	filter_release(struct filter *);
/* 1 when some criterion is set. */
int	filter_set(const struct filter *);
/* 1 when --from/--to are set (they need peer identities). */
int	filter_wants_peers(const struct filter *);

/* Parses a --from/--to argument; NULL with a message in err. */
struct peer_match *peer_match_parse(const char *arg, char *err, size_t errlen);
void	peer_match_free(struct peer_match *);

/*
 * 1 when the event matches.  pi is NULL when the payload is not an IP
 * packet; bp->verdict is 0 when the prefix is not bulkhead's; src and dst
 * are the peers (NULL when unknown).
 */
int	filter_match(const struct filter *, const struct pkt_info *pi,
	    const struct bh_prefix *bp, const struct peer *src,
	    const struct peer *dst);

#endif
