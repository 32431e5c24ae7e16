/*
 * link.h: the link layer (link.c, the only user of libnl): finds the host
 * side veths of a container from its network namespace, lists the host's
 * bridges (bulkhead audit), and reports link changes.  See shared dataplane notes: RTM_GETNSID on the container's
 * SandboxKey gives a netns id; every host veth whose IFLA_LINK_NETNSID is
 * that id belongs to the container; its master names the bridge.
 */
#ifndef BULKHEAD_LINK_H
#define BULKHEAD_LINK_H

#include <net/if.h>
#include <stddef.h>
#include <stdint.h>

struct link;

struct link_veth {
	char		name[IF_NAMESIZE];
	int		ifindex;
	char		master[IF_NAMESIZE];	/* "" if not enslaved */
	int		peer_ifindex;		/* ifindex inside the container */
	uint8_t		mac[6];			/* host side MAC */
};

/* Opens the netlink sockets.  NULL on failure (logged).  Free with link_free. */
struct link	*link_new(void);
void		 link_free(struct link *);

/*
 * Fills out[0..max) with the host veths of the network namespace at
 * sandbox_key (a file such as /var/run/docker/netns/abc).  Returns the
 * number found (0 is possible right after start), or -1 on error (logged).
 */
int	link_find_veths(struct link *, const char *sandbox_key,
	    struct link_veth *out, size_t max);

struct link_bridge {
	char		name[IF_NAMESIZE];
	int		ifindex;
	int		nports;			/* interfaces enslaved to it */
};

/*
 * Fills out[0..max) with the host's Linux bridges.  Returns the number
 * found (at most max), or -1 on error (logged).
 */
int	link_list_bridges(struct link *, struct link_bridge *out, size_t max);

/*
 * A file descriptor that becomes readable on RTM_NEWLINK/RTM_DELLINK;
 * link_read_events drains it and returns 1 if any veth appeared or went,
 * 0 otherwise, -1 on error (ENOBUFS is reported as 1: resync).
 */
int	link_monitor_fd(struct link *);
int	link_read_events(struct link *);

#endif
