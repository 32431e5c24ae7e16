/*
 * identity.h: who is behind an address, for bulkhead-capture.  A cache
 * from IPv4/IPv6 address to peer (a container with its name, id, compose
 * project and service, labels; or the host itself; or the world), filled
 * from bulkheadd's `status` answer (the containers with their endpoint
 * addresses) and the host's own interface addresses.
 *
 * Containers come and go: an address the daemon stops listing keeps its
 * peer for keep_ms after its last sighting, so a packet from a container
 * that died moments ago is still named.  When Docker gives the address of
 * a departed container to a new one, the old peer is kept as the
 * address's previous owner and named for events older than the first
 * answer that listed the new one.
 *
 * Pure: libc and jansson.  Times are milliseconds since the epoch, the
 * clock of the events' timestamps.  Peers are shared between the
 * addresses of one container and reference-counted; a pointer returned by
 * ident_cache_lookup stays valid until the next ident_cache_load.
 */
#ifndef BULKHEAD_IDENTITY_H
#define BULKHEAD_IDENTITY_H

#include <stddef.h>
#include <stdint.h>

#include "labels.h"

enum peer_kind {
	PEER_CONTAINER = 1,
	PEER_HOST,		/* an address of one of the host's interfaces */
	PEER_WORLD,		/* anything else */
};

struct peer {
	enum peer_kind	 kind;
	char		*name;		/* container name, or "host" / "world" */
	char		 id[65];	/* container id; "" for host and world */
	char		*project;	/* com.docker.compose.project, or NULL */
	char		*service;	/* com.docker.compose.service, or NULL */
	struct labelset	 labels;
	int		 refs;		/* 0 for the static host and world peers */
};

struct ident_cache;

#define IDENT_KEEP_MS		120000	/* departed containers named for 2 min */
#define IDENT_PERIOD_MS		2000	/* ask the daemon at least this often */
#define IDENT_RETRY_MS		500	/* and at most this often for an unknown address */
#define IDENT_BACKOFF_MS	5000	/* after bulkheadd did not answer */

struct ident_cache	*ident_cache_new(int64_t keep_ms);
/* How often ident_cache_due asks for a refresh (IDENT_PERIOD_MS by default). */
void			 ident_cache_set_period(struct ident_cache *, int64_t ms);
void			 ident_cache_free(struct ident_cache *);

/*
 * Merges the daemon's status answer (a JSON object with "containers",
 * each with "id", "name", "labels" and "endpoints" holding "ipv4" and
 * "ipv6") received at now.  Returns 0, or -1 with a message in err and
 * the cache unchanged.
 */
int	ident_cache_load(struct ident_cache *, const char *answer, int64_t now,
	    char *err, size_t errlen);
/* Replaces the host's own addresses: n of family's size each (4 or 16). */
void	ident_cache_set_host(struct ident_cache *, int family,
	    const void *addrs, size_t n);
/* Remembers that the daemon was asked at now, and whether it answered:
 * after a failure it is asked again only after IDENT_BACKOFF_MS. */
void	ident_cache_queried(struct ident_cache *, int64_t now, int ok);

/*
 * The peer behind addr for an event at time t (0: now); NULL until the
 * first successful load, so that without bulkheadd nothing is named.
 */
const struct peer *ident_cache_lookup(const struct ident_cache *, int family,
	    const void *addr, int64_t t);
/* 1 when the daemon should be asked now: periodically, or sooner
 * (rate-limited) when an address was unknown. */
int	ident_cache_due(const struct ident_cache *, int64_t now, int unknown);
/* Number of addresses known, departed ones included. */
size_t	ident_cache_size(const struct ident_cache *);

/* The word of a kind: "container", "host" or "world". */
const char *peer_kind_word(enum peer_kind);

#endif
