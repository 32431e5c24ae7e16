/*
 * audit.h: `bulkhead audit`: what escapes segmentation on this host.
 * bulkheadd gathers the host's facts (its bridges from the link layer,
 * Docker's bridge networks and firewall backend from the engine,
 * br_netfilter from /proc) into a struct audit_host and answers the
 * control request {"cmd":"audit"} with audit_report over its inventory
 * and policies.  Whether a published port is open is asked of the one
 * evaluator (evaluate.c): "world -> container:port".  Pure (jansson).
 *
 * The answer (stable fields, `bulkhead -o json audit`):
 *   {"ok": true, "summary": {"high": N, "medium": N, "info": N},
 *    "containers": N, "host": {"br_netfilter": bool|null,
 *    "bridge_nf_call_iptables": 0|1|null, "bridge_nf_call_ip6tables": ...,
 *    "docker_version": S|null, "firewall_backend": S|null,
 *    "bridges": [{"name", "ports", "docker": bool, "containers": N}]},
 *    "findings": [FINDING, ...]}   high first, then medium, then info
 *   FINDING: {"severity": "high"|"medium"|"info", "kind", "object",
 *    "container": name, "id": container id (container findings),
 *    "port": "80/tcp", "binding": "0.0.0.0:8080", "policy", "rule"
 *    (published-port-open), "quarantined": true (a quarantined container),
 *    "explanation": one line, "fix": what to do}
 *   kinds: host-network, shared-netns, non-bridge-network, privileged,
 *    cap-net-admin, cap-net-raw, published-port-open, unmanaged-bridge,
 *    br-netfilter, firewall-backend.
 */
#ifndef BULKHEAD_AUDIT_H
#define BULKHEAD_AUDIT_H

#include <jansson.h>
#include <net/if.h>
#include <stddef.h>

struct inventory;
struct policy_set;
struct quarantine;
struct strbuf;

struct audit_bridge {
	char	name[IF_NAMESIZE];
	int	nports;		/* interfaces enslaved to it */
	int	docker;		/* the bridge of a Docker network */
};

struct audit_host {
	int			 br_netfilter;		/* 1, 0; -1: unknown */
	int			 nf_call_iptables;	/* 1, 0; -1: unknown */
	int			 nf_call_ip6tables;
	struct audit_bridge	*bridges;		/* owned */
	size_t			 nbridges;
	int			 bridges_listed;	/* the link layer answered */
	int			 docker_listed;		/* Docker's networks were listed */
	int			 docker_answered;	/* GET /info answered */
	char			 docker_version[64];	/* "": unknown */
	char			 firewall_backend[64];	/* "": not reported */
};

/* Everything unknown, no bridge. */
void	 audit_host_init(struct audit_host *);
void	 audit_host_release(struct audit_host *);
void	 audit_host_add_bridge(struct audit_host *, const char *name,
	    int nports);
/* Marks the host bridge name as a Docker network's (no-op when absent). */
void	 audit_host_docker_bridge(struct audit_host *, const char *name);
/*
 * Reads br_netfilter's state under procroot ("/proc" on a host):
 * sys/net/bridge/bridge-nf-call-iptables and -ip6tables exist only while
 * br_netfilter is loaded.
 */
void	 audit_read_brnf(struct audit_host *, const char *procroot);

/*
 * The answer described above (caller decrefs).  q (NULL: none) is the
 * quarantine: a quarantined container's open ports are only info, and a
 * quarantine that cannot take effect (no veth) is said.
 */
json_t	*audit_report(const struct policy_set *ps,
	    const struct inventory *inv, const struct quarantine *q,
	    const struct audit_host *h);

/* Appends the answer as text, as `bulkhead audit` prints it. */
void	 audit_render(json_t *answer, struct strbuf *out);
/* 1 when the answer holds a high finding, else 0. */
int	 audit_has_high(json_t *answer);

/* ---- tools/audit.c: the CLI verb ---- */

/* bulkhead audit [--help]: exit 0 no high finding, 1 some, 2 usage, 3 no daemon. */
int	 audit_cli(const char *socket, int json, int timeout_ms, int argc,
	    char **argv);

#endif
