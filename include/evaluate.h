/*
 * evaluate.h: the one evaluator of the policy language.  Given a policy
 * set and a flow between two endpoints it says whether the flow is
 * allowed and why.  `bulkhead check`, `bulkhead explain`, the daemon and
 * the tests that compare the dataplane with the language all ask here, so
 * the semantics live in one place.  Pure: no kernel, no Docker.
 *
 * Semantics (issue 3):
 *  - A flow from A to B passes when A's egress and B's ingress both allow
 *    it.  Only containers have policies: a host or world endpoint allows
 *    everything in its own direction.
 *  - For one direction the policies selecting the endpoint are taken in
 *    order, their rules in order.  In an enforce policy the first allow or
 *    deny that matches decides; log records and goes on.  An audit policy
 *    never decides: its deny, or its end when no rule matched, is recorded
 *    as a would-deny and evaluation goes on with the next policy; its
 *    allow just ends that policy.
 *  - Selected by some enforce policy and decided by no rule: denied.  No
 *    policy selects the endpoint (or only audit ones): allowed.
 *  - A rule matches when protocol, ipVersion and icmp match and each of
 *    its peers matches its side (source the sender, destination the
 *    receiver).  A peer's criteria are ANDed: selector (container labels;
 *    non-containers never match), namespaceSelector (the labels of the
 *    container's namespace), nets and notNets (the endpoint's address of
 *    the flow's family), ports and notPorts (the flow's port on that
 *    side), hostPorts (destination only: the flow's orig_dport, else its
 *    dport), entity (host, world, any).  A condition on a port or address
 *    the flow does not know (explain without --port) does not match.
 *    A named port (NetworkPolicy) matches a container whose label
 *    bulkhead.port.<name> names the flow's port for the flow's protocol.
 *  - A policy with a namespace (NetworkPolicy) selects only containers of
 *    that namespace.
 */
#ifndef BULKHEAD_EVALUATE_H
#define BULKHEAD_EVALUATE_H

#include <stddef.h>
#include <netinet/in.h>

#include "policy.h"

struct container;
struct labelset;
struct strbuf;

enum eval_kind {
	EVAL_CONTAINER,		/* a container on this host */
	EVAL_HOST,		/* the Docker host itself */
	EVAL_WORLD,		/* anything else */
};

struct eval_addr {
	int	family;		/* AF_INET or AF_INET6 */
	union {
		struct in_addr	v4;
		struct in6_addr	v6;
	} addr;
};

/*
 * One side of a flow.  labels is borrowed (must outlive the evaluation);
 * addrs is owned and freed by evaluate_endpoint_release.  For a container
 * with several addresses of a family, the first one is the flow's.
 */
struct eval_endpoint {
	enum eval_kind		 kind;
	const char		*name;		/* for the trace; may be NULL */
	const struct labelset	*labels;	/* containers; NULL: none */
	const char		*ns;		/* NULL: evaluate_namespace() */
	struct eval_addr	*addrs;
	size_t			 naddrs;
};

struct eval_flow {
	struct eval_endpoint	src;
	struct eval_endpoint	dst;
	int			protocol;	/* IPPROTO_*; 0: unknown */
	int			ip_version;	/* 4, 6; 0: from the addresses */
	int			sport;		/* -1: unknown */
	int			dport;		/* -1: unknown */
	/* The destination port the client used, before Docker's port
	 * publishing translated it (conntrack's original direction): what
	 * hostPorts match.  -1: unknown, taken to be dport (no DNAT). */
	int			orig_dport;
	int			icmp_type;	/* -1: unknown */
	int			icmp_code;	/* -1: unknown */
};

enum eval_reason {
	EVAL_NOT_CONTAINER,	/* allowed: only containers have policies */
	EVAL_NOT_SELECTED,	/* allowed: no policy selects it */
	EVAL_AUDIT_ONLY,	/* allowed: only audit policies select it */
	EVAL_RULE,		/* a rule of an enforce policy decided */
	EVAL_DEFAULT_DENY,	/* selected, no rule decided: denied */
};

enum eval_event {
	EVAL_EV_POLICY,		/* a selecting policy was considered */
	EVAL_EV_LOG,		/* a log rule (or a rule with log) matched */
	EVAL_EV_AUDIT_ALLOW,	/* an audit policy's allow matched */
	EVAL_EV_WOULD_DENY,	/* an audit policy would have denied */
};

struct eval_step {
	enum eval_event		 event;
	const struct policy	*policy;
	int			 rule;		/* index; -1: the policy's end */
};

struct eval_verdict {
	enum pol_dir		 dir;
	int			 allowed;
	enum eval_reason	 reason;
	/* EVAL_RULE: the deciding policy and rule; EVAL_DEFAULT_DENY: the
	 * first enforce policy that selected the endpoint, rule -1. */
	const struct policy	*policy;
	int			 rule;
	enum pol_action		 action;
	struct eval_step	*steps;		/* in evaluation order */
	size_t			 nsteps;
};

struct eval_result {
	int			allowed;	/* both directions allow */
	int			ip_version;	/* the one evaluated */
	/* v[POL_EGRESS]: the source's egress; v[POL_INGRESS]: the
	 * destination's ingress. */
	struct eval_verdict	v[POL_NDIRS];
};

/* The namespace of a container: bulkhead.namespace, else the compose
 * project, else "default".  Points into labels or to a constant. */
const char	*evaluate_namespace(const struct labelset *labels);

/* Fills out (initialised here; caller releases) with the labels of
 * namespace ns: those declared in ps plus kubernetes.io/metadata.name. */
void		 evaluate_ns_labels(const struct policy_set *ps, const char *ns,
		    struct labelset *out);

void		 evaluate_endpoint_init(struct eval_endpoint *,
		    enum eval_kind kind);
void		 evaluate_endpoint_release(struct eval_endpoint *);
/* Adds an address; family AF_INET (addr: struct in_addr *) or AF_INET6. */
void		 evaluate_endpoint_add_addr(struct eval_endpoint *, int family,
		    const void *addr);
/* A container endpoint: its name, labels (borrowed) and addresses. */
void		 evaluate_endpoint_container(struct eval_endpoint *,
		    const struct container *);

/* Sets every field to unknown (-1 or 0) and both endpoints to world. */
void		 evaluate_flow_init(struct eval_flow *);
/* Releases both endpoints. */
void		 evaluate_flow_release(struct eval_flow *);

/*
 * 1 when policy p applies in direction dir to a container with labels
 * (NULL: none) in namespace ns (NULL: evaluate_namespace(labels)): its
 * types include dir, its namespace (if it has one) is the container's and
 * its selector matches.  The compiler and the daemon ask here too.
 */
int		 evaluate_applies(const struct policy *p,
		    const struct labelset *labels, const char *ns,
		    enum pol_dir dir);
/* 1 when policy p applies to endpoint ep in direction dir. */
int		 evaluate_selects(const struct policy *p,
		    const struct eval_endpoint *ep, enum pol_dir dir);
/* 1 when rule r matches flow f (ip_version already resolved if 0). */
int		 evaluate_rule_matches(const struct policy_set *ps,
		    const struct rule *r, const struct eval_flow *f);

/* Why a rule does not match a flow: the first criterion that fails. */
enum eval_miss {
	EVAL_MISS_NONE = 0,	/* it matches */
	EVAL_MISS_PROTOCOL,
	EVAL_MISS_IP_VERSION,	/* ipVersion, or icmp/icmpv6 on the other family */
	EVAL_MISS_ICMP_TYPE,
	EVAL_MISS_ICMP_CODE,
	EVAL_MISS_ENTITY,	/* the rest are of the peer in *peer */
	EVAL_MISS_NETS,
	EVAL_MISS_NOT_NETS,
	EVAL_MISS_PORTS,
	EVAL_MISS_NOT_PORTS,
	EVAL_MISS_HOST_PORTS,
	EVAL_MISS_SELECTOR,
	EVAL_MISS_NS_SELECTOR,
	EVAL_MISS_NAMED_PORT,	/* NetworkPolicy: not the endpoint's named port */
};

/*
 * The matching of evaluate_rule_matches, telling why not: returns
 * EVAL_MISS_NONE when r matches f, else the criterion that failed first,
 * with *peer 0 (source), 1 (destination) or -1 (not a peer criterion).
 */
enum eval_miss	 evaluate_rule_miss(const struct policy_set *ps,
		    const struct rule *r, const struct eval_flow *f, int *peer);

/* Evaluates f against ps into res (caller releases it). */
void		 evaluate_flow(const struct policy_set *ps,
		    const struct eval_flow *f, struct eval_result *res);
void		 evaluate_result_release(struct eval_result *);

/* Appends the verdict and the path to it, as `bulkhead explain` prints. */
void		 evaluate_render(const struct eval_result *,
		    const struct eval_flow *, struct strbuf *out);

#endif
