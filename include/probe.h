/*
 * probe.h: real probe packets from inside a container's network
 * namespace, for `bulkhead verify`.  The probes of one source container
 * run in a child process that has entered its namespace (setns), all at
 * once, each bounded by one deadline; several sources run in parallel.
 *  - TCP: a non-blocking connect.  Delivered when it connects or is
 *    refused (the destination's stack answered with RST); dropped when
 *    nothing comes back before the deadline (or the host is unreachable).
 *  - ICMP, ICMPv6: an echo request on a raw socket.  Delivered when the
 *    echo reply comes back, dropped otherwise.
 * Needs root (CAP_SYS_ADMIN for setns, CAP_NET_RAW for ICMP).  The
 * addresses are the caller's to choose (verify only probes containers
 * bulkheadd knows on this host).
 */
#ifndef BULKHEAD_PROBE_H
#define BULKHEAD_PROBE_H

#include <netinet/in.h>
#include <stddef.h>

#define PROBE_MAX	1000	/* probes per run */
#define PROBE_PARALLEL	16	/* source namespaces probed at once */

enum probe_outcome {
	PROBE_DELIVERED,
	PROBE_DROPPED,
	PROBE_ERROR,		/* not probed: detail says why */
};

struct probe {
	/* In: where from, where to.  netns (the sandbox key; NULL or "": none)
	 * is tried first, then /proc/<pid>/ns/net. */
	const char		*netns;
	int			 pid;
	int			 family;	/* AF_INET or AF_INET6 */
	union {
		struct in_addr	 v4;
		struct in6_addr	 v6;
	}			 daddr;
	int			 proto;		/* IPPROTO_TCP, _ICMP, _ICMPV6 */
	int			 port;		/* TCP */
	/* Out. */
	enum probe_outcome	 out;
	char			 detail[80];	/* "refused (RST)", "no answer", ... */
	int			 ms;		/* until the answer or the deadline */
};

/*
 * Sends the n (at most PROBE_MAX) probes of v, each waiting at most
 * timeout_ms, and fills their results.  Returns 0, or -1 when the probes
 * could not be run at all (fork, pipe; reported with log_warn).
 */
int	probe_run(struct probe *v, size_t n, int timeout_ms);

const char *probe_outcome_str(enum probe_outcome);

#endif
