/*
 * probeplan.h: what `bulkhead verify` probes, and what the policies
 * promise for each probe.  bulkheadd answers the control request
 * {"cmd":"probe-plan","sample":N,"seed":S,"from":C,"to":C} with it on its
 * live state (one
 * evaluator, one inventory, one generation); the CLI then sends the
 * probes from inside each source container's network namespace
 * (tools/probe.c) and compares (tools/verify.c).  Pure (jansson): no
 * kernel, no Docker.
 *
 * Candidates: every ordered pair (src, dst) of distinct containers that
 * can be segmented (not host/none/container: network mode), have a
 * network namespace to enter (pid or sandbox key) and share a network on
 * which both have a bridge, a veth and an address.  For each pair, in
 * IPv4 and (when both have one there) IPv6: TCP to every port the rules
 * of the policies selecting src (egress) or dst (ingress) mention
 * (destination ports and notPorts, both ends of a range, named ports
 * resolved on dst), TCP to one port no rule of any policy mentions, and
 * one ICMP (ICMPv6) echo request.  With many containers the pairs are
 * drawn at random instead of enumerated.  A sample of at most N
 * candidates is drawn with a generator seeded by S (the same state and
 * seed give the same probes), in enumeration order (by source).
 *
 * Each probe's promise is explain's (explain_answer on the two
 * addresses, then explain_quarantine: a quarantined end is denied by the
 * quarantine, which comes before every policy).
 *
 * The answer: {"ok": true, "generation", "seed", "containers" (those
 * that qualify), "pairs", "candidates": how many there were, "probes":
 * [PROBE...]}
 *   PROBE: {"src", "src_id", "dst", "dst_id", "saddr", "daddr",
 *    "network", "ip_version": 4|6, "protocol": "tcp"|"icmp"|"icmpv6",
 *    "port" (tcp), "icmp_type" (8, 128), "pid", "netns" (the sandbox
 *    key, "" when unknown),
 *    "allowed": bool, "verdict": explain's verdict or "quarantined",
 *    "decided_by": [{"direction", "policy", "rule", "location"} or
 *    {"quarantine": container name, "reason"}]}
 */
#ifndef BULKHEAD_PROBEPLAN_H
#define BULKHEAD_PROBEPLAN_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

struct inventory;
struct policy_set;
struct quarantine;

#define PROBEPLAN_MAX_SAMPLE	1000
/* More eligible containers than this: pairs are drawn, not enumerated. */
#define PROBEPLAN_MAX_ENUM	200

struct probeplan_opts {
	size_t		 sample;	/* 1..PROBEPLAN_MAX_SAMPLE */
	uint64_t	 seed;
	int		 icmp;		/* include ICMP echo probes */
	/* Only pairs from (to) this container: a name, id or id prefix
	 * (inventory_get); NULL: any.  Borrowed. */
	const char	*from;
	const char	*to;
};

void	 probeplan_opts_init(struct probeplan_opts *);

/*
 * The plan described above for ps, inv and the quarantine q (NULL:
 * none), or {"ok": false, "error"} when from or to names no container.
 * The caller decrefs.
 */
json_t	*probeplan_answer(const struct policy_set *ps,
	    const struct inventory *inv, const struct quarantine *q,
	    const struct probeplan_opts *opts);

/* The daemon's side: "sample", "seed", "icmp", "from" and "to" of req. */
json_t	*probeplan_handle(const struct policy_set *ps,
	    const struct inventory *inv, const struct quarantine *q,
	    json_t *req);

/* A port in 1024..65535 no rule of ps mentions, chosen from seed; 0: none. */
int	 probeplan_free_port(const struct policy_set *ps, uint64_t seed);

/* splitmix64: the next number of the generator whose state is *s. */
uint64_t probeplan_rand(uint64_t *s);

#endif
