/*
 * flows.h: bulkhead-capture --flows: events aggregated into flows over a
 * window.  A flow is (source address, destination address, destination
 * port, protocol, verdict, direction, policy, rule): the source port is
 * left out so that the retries and new connections of one client to one
 * service count as one flow.  Each flow has its count, first and last
 * event time, and the peers' names as they were at its first event.
 * Pure.
 */
#ifndef BULKHEAD_FLOWS_H
#define BULKHEAD_FLOWS_H

#include <stddef.h>
#include <stdint.h>

struct flow_key {
	uint8_t		family;		/* AF_INET, AF_INET6 */
	uint8_t		proto;
	char		verdict;	/* prefix letter, 0 when not ours */
	char		dir;		/* 'I', 'E' or 0 */
	int32_t		rule;
	int32_t		dport;		/* -1 without ports */
	uint8_t		src[16], dst[16];
	char		policy[128];
};

struct flow {
	struct flow_key	key;
	uint64_t	count;
	int64_t		first, last;	/* ms since the epoch */
	char		src_name[128];	/* "" when unknown */
	char		dst_name[128];
	int		src_kind, dst_kind;	/* enum peer_kind, 0: unknown */
	uint64_t	seq;		/* order of creation, for ties */
};

struct flows;

struct flows	*flows_new(void);
void		 flows_free(struct flows *);
/* Zeroes k, padding included; fill it in afterwards. */
void		 flow_key_init(struct flow_key *k);
/* Counts one event of key at t; names are taken at the flow's first event. */
struct flow	*flows_add(struct flows *, const struct flow_key *key, int64_t t,
		    const char *src_name, int src_kind, const char *dst_name,
		    int dst_kind);
size_t		 flows_count(const struct flows *);
/* The flows, most events first (then oldest, then first created); valid until the
 * next add or clear. */
const struct flow *const *flows_sorted(struct flows *, size_t *n);
void		 flows_clear(struct flows *);

#endif
