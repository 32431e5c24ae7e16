/*
 * compile.h: policies + inventory -> ir_ruleset.  The middle of the flow
 * (Docker events -> inventory -> policy -> compile -> nft batch).  Pure.
 *
 * Two tables of our own, nothing written into Docker's:
 *  - bridge "bulkhead", prerouting at -300: the port guard.  One lookup
 *    (ports, a set of veths) sends a known container's frames to the
 *    guard; a cut-off container's veth is in the quarantine set instead,
 *    looked up next.  A frame passes
 *    the guard only when (veth, source MAC, source IP) is the container's;
 *    it is then stamped with our bit of the packet mark.  Anything else
 *    from that veth is logged and dropped (anti-spoofing).
 *  - inet "bulkhead", forward/input/output at -10 (after DNAT, before
 *    Docker's filter): established traffic (and IPv6 neighbour discovery)
 *    passes, through the quarantine check only while some container is
 *    quarantined; a packet without our
 *    mark goes through the identity chain (a quarantined source, a known
 *    container address seen without the mark: spoofed or stale, and an
 *    unclassified container on a Docker bridge are dropped); then an
 *    egress dispatch by source address and an ingress dispatch by
 *    destination address, each a verdict map into the chain of the
 *    container's class (containers that the same policies select share
 *    one), whose rules match named sets of peers and ports shared by
 *    every rule with the same peer (exact sets for container addresses
 *    and single ports, interval sets for CIDRs and port ranges).  The
 *    ingress maps hold every known address (its class chain, the
 *    quarantine, or accept), so a miss is an unclassified destination:
 *    only then is the bridge looked up for the pending check.
 *  - quarantined containers are cut off ahead of all of this: by veth in
 *    the bridge family (prerouting, forward, output) and by address in
 *    the inet family (their entries in the dispatch maps go to the
 *    quarantine chains; established traffic is checked before it passes).
 *    In the inet family a new connection from an isolated container to a
 *    quarantined one that is not guarded yet is judged by the source's
 *    egress first: dropped either way, logged as the egress deny if that
 *    denies it.
 * Per-packet cost of a new connection between two classified containers:
 * two lookups in the bridge (port, then veth . MAC . IP), one for the
 * bridge quarantine on the way out, then in the inet family the ct state,
 * two map lookups, and the rules of the policies that select the two
 * endpoints, whatever the number of containers.
 */
#ifndef BULKHEAD_COMPILE_H
#define BULKHEAD_COMPILE_H

#include <stdint.h>

struct container;
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

/*
 * Patches: the ruleset kept in step with single containers coming and
 * going, at a cost that does not grow with the number of containers.
 *
 * compile_state_new compiles the whole ruleset like compile_ruleset and
 * keeps what a patch needs (classes of chains, the rules' sets); ps and
 * opts must outlive the state, inv need not.  compile_patch_new returns
 * an empty patch ruleset (caller frees with ir_ruleset_free).
 * compile_state_patch describes one container's change, old (as it was
 * compiled; NULL: new container) to new (NULL: gone): what it takes away
 * into from, what it brings into to, so that ir_delta_new(from, to) is
 * the change to send; several changes may go into one pair.  It counts
 * the containers of each class chain as it goes, so the caller must then
 * apply that delta to the state's ruleset (ir_delta_apply on
 * compile_state_ruleset) or drop the state.  Returns -1 when the change
 * cannot be patched (a named port in some rule, the first container on
 * or the last off a bridge outside docker0/br-*, a container the state
 * did not know): drop the state and compile whole.
 */
struct compile_state;
struct ir_ruleset;
struct compile_state *compile_state_new(const struct policy_set *,
		    const struct inventory *, const struct compile_opts *);
void		 compile_state_free(struct compile_state *);
struct ir_ruleset *compile_state_ruleset(const struct compile_state *);
struct ir_ruleset *compile_patch_new(const struct compile_state *);
int		 compile_state_patch(struct compile_state *,
		    const struct container *old, const struct container *new,
		    struct ir_ruleset *from, struct ir_ruleset *to);

/* 1 when some policy selects the container for direction dir (enum pol_dir). */
int	compile_selects(const struct policy_set *, const struct container *,
	    int dir);

#endif
