/*
 * inventory.h: what bulkheadd knows of each container: identity, labels,
 * and per network its bridge, host-side veth and addresses.  Filled from
 * Docker inspect documents (docker_parse.c) and netlink (link.c); read by
 * compile.c.  Pure.
 */
#ifndef BULKHEAD_INVENTORY_H
#define BULKHEAD_INVENTORY_H

#include <net/if.h>
#include <netinet/in.h>
#include <stdint.h>
#include <sys/queue.h>

#include "labels.h"

struct endpoint {
	char		network_id[65];
	char		network_name[128];
	char		bridge[IF_NAMESIZE];	/* host bridge; "" if unknown */
	char		veth[IF_NAMESIZE];	/* host veth; "" until found */
	int		veth_ifindex;
	uint8_t		mac[6];
	int		has_mac;
	struct in_addr	ip4;
	int		has_ip4;
	struct in6_addr	ip6;
	int		has_ip6;
	int		ip4_plen;	/* IPPrefixLen; 0 if unknown */
	int		ip6_plen;	/* GlobalIPv6PrefixLen; 0 if unknown */
};

/*
 * A port Docker publishes on the host (NetworkSettings.Ports, or
 * HostConfig.PortBindings when the former is absent): one per binding.
 */
struct published_port {
	int		protocol;	/* IPPROTO_TCP, IPPROTO_UDP, IPPROTO_SCTP */
	int		port;		/* in the container */
	int		host_port;	/* 0: not bound yet */
	char		host_ip[INET6_ADDRSTRLEN];	/* "": every address */
};

/* Network capabilities granted with --cap-add (HostConfig.CapAdd). */
#define CT_CAP_NET_ADMIN	0x1
#define CT_CAP_NET_RAW		0x2

/*
 * From docker_parse_inspect, name and network_mode are never NULL ("" when
 * Docker gave none); sandbox_key is NULL when the container has no network
 * namespace of its own (stopped, or Docker gave an empty SandboxKey).
 */
struct container {
	char			 id[65];
	char			*name;		/* without the leading '/' */
	struct labelset		 labels;
	char			*sandbox_key;	/* /var/run/docker/netns/... or NULL */
	char			*network_mode;	/* "default", "bridge", "host", "none", "container:<id>", ... */
	int			 pid;
	int			 running;
	int			 privileged;	/* HostConfig.Privileged */
	unsigned int		 cap_add;	/* CT_CAP_*; CapAdd "ALL" sets all */
	struct published_port	*ports;		/* owned; nports of them */
	size_t			 nports;
	struct endpoint		*eps;
	size_t			 neps;
	TAILQ_ENTRY(container)	 entry;
};

TAILQ_HEAD(container_list, container);

struct inventory {
	struct container_list	containers;
	size_t			n;
};

struct container	*container_new(void);
struct container	*container_dup(const struct container *);	/* caller frees */
void			 container_free(struct container *);

void		 inventory_init(struct inventory *);
void		 inventory_release(struct inventory *);
/* Takes ownership of c; replaces (and frees) any container with its id. */
void		 inventory_put(struct inventory *, struct container *c);
/* Accepts a full id or a unique prefix of at least 12 chars, or a name. */
struct container *inventory_get(const struct inventory *, const char *id);
/* Removes and frees; returns 0 if found, -1 otherwise. */
int		 inventory_del(struct inventory *, const char *id);

#endif
