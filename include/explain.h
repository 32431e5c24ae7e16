/*
 * explain.h: `bulkhead explain`: why a flow between two endpoints is
 * allowed or denied.  Resolves the endpoints against an inventory, asks
 * the one evaluator (evaluate.c) for the verdict, and walks the policies
 * that select each endpoint to show every rule considered, whether it
 * matched and why not, and where it is defined (file:line:column).
 * bulkheadd answers the control request {"cmd":"explain", ...} with it on
 * its live state; the CLI uses it offline on --rules DIR --inventory FILE.
 * Pure (jansson): no kernel, no Docker.
 *
 * Endpoints (SRC, DST): a container name, id or unique id prefix;
 * container:NAME; host or host:ADDR (the Docker host); world or
 * world:ADDR; an address or ip:ADDR (the container that has it, else the
 * world); labels:k=v,k2=v2 (a container that does not exist yet).
 *
 * The answer (stable fields, `bulkhead -o json explain`):
 *   {"ok": true, "verdict": "allowed"|"denied"|"audit-would-deny"|"untouched"
 *    |"quarantined" (explain_quarantine),
 *    "allowed": bool, "generation": the rules' load generation (0 offline),
 *    "flow": {"protocol", "port", "sport", "ip_version",
 *    "icmp_type", "icmp_code"}, "source": ENDPOINT, "destination": ENDPOINT,
 *    "egress": DIRECTION, "ingress": DIRECTION,
 *    "denied_by": {"direction", "policy", "rule", "location"} (when denied),
 *    "would_deny": [{"direction", "policy", "rule", "location"}, ...]}
 *   ENDPOINT: {"spec", "kind": "container"|"host"|"world", "name", "id",
 *    "address", "namespace", "warning"}
 *   DIRECTION: {"direction", "allowed", "outcome": "allowed"|"denied"|
 *    "untouched", "reason": "rule"|"default-deny"|"not-selected"|
 *    "audit-only"|"not-container", "policy", "rule", "action", "location",
 *    "policies": [{"name", "order", "mode", "selector", "location",
 *    "outcome": "allow"|"deny"|"no-match"|"audit-allow"|"would-deny"|
 *    "not-reached", "rules": [{"index", "action", "text", "location",
 *    "status": "matched"|"no-match"|"not-reached", "why_not", "log"}]}]}
 *   Fields that do not apply are absent (a rule index of the policy's end
 *   is absent, not -1).
 */
#ifndef BULKHEAD_EXPLAIN_H
#define BULKHEAD_EXPLAIN_H

#include <jansson.h>
#include <stddef.h>

struct inventory;
struct policy_set;
struct quarantine;
struct strbuf;

struct explain_query {
	const char	*src;		/* endpoint specs, borrowed */
	const char	*dst;
	int		 protocol;	/* IPPROTO_*; 0: not given */
	int		 port;		/* destination port; -1: not given */
	int		 sport;		/* -1: not given */
	/* The destination port before Docker's publishing (hostPorts); -1:
	 * not given, the same as port. */
	int		 host_port;
	int		 ip_version;	/* 4, 6; 0: from the addresses */
	int		 icmp_type;	/* -1: not given */
	int		 icmp_code;	/* -1: not given */
};

void	 explain_query_init(struct explain_query *);
/* "tcp", "udp", "sctp", "icmp", "icmpv6" or 1-255; -1 when neither. */
int	 explain_proto_parse(const char *);
/*
 * Checks the combination (ports only with tcp/udp/sctp, icmp fields only
 * with icmp/icmpv6, icmp with IPv4 and icmpv6 with IPv6) and defaults the
 * protocol to tcp when a port is given.  Returns 0, or -1 with err.
 */
int	 explain_query_check(struct explain_query *, char *err, size_t errlen);

/* The control request {"cmd":"explain", ...} for q (caller decrefs). */
json_t	*explain_request(const struct explain_query *q);

/*
 * Evaluates q against ps and inv; returns the answer described above, or
 * {"ok": false, "error": "..."} when an endpoint is unknown or the query
 * is invalid.  The caller decrefs.
 */
json_t	*explain_answer(const struct policy_set *ps,
	    const struct inventory *inv, const struct explain_query *q);
/* The daemon's side: explain_answer for a control request.  Its strings
 * are borrowed from req for the call only. */
json_t	*explain_handle(const struct policy_set *ps,
	    const struct inventory *inv, json_t *req);

/*
 * A quarantined container drops everything, ahead of every policy: when
 * the answer's source or destination is a container of q (NULL: none),
 * sets "verdict": "quarantined", "allowed": false and "quarantine":
 * {"side": "source"|"destination", "container", "reason"} (the source
 * first).  The policies' walk and denied_by stay as they are.
 */
void	 explain_quarantine(json_t *answer, const struct quarantine *q);

/* Appends the answer as text, as `bulkhead explain` prints it. */
void	 explain_render(json_t *answer, struct strbuf *out);

#endif
