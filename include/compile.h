/*
 * compile.h: policies + inventory -> ir_ruleset.  The middle of the flow
 * (Docker events -> inventory -> policy -> compile -> nft batch).  Pure.
 *
 * Two tables of our own, nothing written into Docker's:
 *  - bridge "bulkhead", prerouting at -300: the port guard.  A frame from a
 *    known container veth passes only when (veth, source MAC, source IP) is
 *    the container's; it is then stamped with our bit of the packet mark.
 *    Anything else from that veth is logged and dropped (anti-spoofing).
 *  - inet "bulkhead", forward/input/output at -10 (after DNAT, before
 *    Docker's filter): established traffic passes; a container address
 *    seen without our mark bit is dropped (spoofed or stale); then an
 *    egress dispatch by source address and an ingress dispatch by
 *    destination address, each a verdict map into the chain of the
 *    container's class (containers that the same policies select share
 *    one), whose rules match named sets of peers and ports shared by
 *    every rule with the same peer.
 *  - quarantined containers are cut off ahead of all of this: by veth in
 *    the bridge family (prerouting, forward, output) and by address in
 *    the inet family.
 * Per-packet cost: two map lookups plus the rules of the policies that
 * select the two endpoints, whatever the number of containers.
 */
#ifndef BULKHEAD_COMPILE_H
#define BULKHEAD_COMPILE_H

#include <stdint.h>

struct inventory;
struct ir_ruleset;
struct policy_set;
struct quarantine;

#define COMPILE_TABLE		"bulkhead"
#define COMPILE_MARK_BIT	0x20000000u
#define COMPILE_NFLOG_GROUP	100
#define COMPILE_LOG_RATE	10	/* logged per second per rule */
#define COMPILE_LOG_BURST	20
#define COMPILE_PRIO_BRIDGE	(-300)
#define COMPILE_PRIO_INET	(-10)

struct compile_opts {
	uint32_t	mark_bit;	/* our bit of meta mark; others keep theirs */
	uint16_t	nflog_group;
	uint32_t	log_rate;	/* log messages per second per rule */
	uint32_t	log_burst;
	const struct quarantine *quarantine;	/* cut off first; may be NULL */
	int		fail_open;	/* unclassified containers: log, let through */
};

void	compile_opts_default(struct compile_opts *);

/*
 * Builds the ruleset for ps over inv.  Returns a new ruleset (caller
 * frees with ir_ruleset_free).  Never fails: every policy was validated
 * when it was loaded.
 */
struct ir_ruleset *compile_ruleset(const struct policy_set *ps,
		    const struct inventory *inv, const struct compile_opts *);

/* 1 when some policy selects the container for direction dir (enum pol_dir). */
struct container;
int	compile_selects(const struct policy_set *, const struct container *,
	    int dir);

#endif
