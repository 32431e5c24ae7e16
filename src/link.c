/*
 * link.c: the link layer, the only user of libnl.  Finds a container's
 * host-side veths without entering its network namespace: the host's id
 * for the container's netns (RTM_GETNSID on its SandboxKey file) names
 * every host veth whose peer lives there (IFLA_LINK_NETNSID); the veth's
 * master is the Docker network's bridge.  Lists the host's bridges for
 * bulkhead audit.  Also reports link changes so
 * that work waiting for a veth is retried (see controller.c).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <linux/net_namespace.h>
#include <linux/rtnetlink.h>
#include <netlink/msg.h>
#include <netlink/netlink.h>
#include <netlink/route/link.h>
#include <netlink/socket.h>

#include "link.h"
#include "log.h"
#include "util.h"

struct link {
	struct nl_sock	*sk;		/* link dumps */
	struct nl_sock	*ns;		/* netns id requests (no acks, no sequence checks) */
	struct nl_sock	*mon;		/* RTNLGRP_LINK notifications */
	int		 warned_nobufs;
};

struct link *
link_new(void)
{
	struct link	*l = xcalloc(1, sizeof(*l));

	if ((l->sk = nl_socket_alloc()) == NULL ||
	    (l->ns = nl_socket_alloc()) == NULL ||
	    (l->mon = nl_socket_alloc()) == NULL)
		fatalx("nl_socket_alloc");
	nl_socket_disable_seq_check(l->ns);
	nl_socket_disable_auto_ack(l->ns);
	if (nl_connect(l->sk, NETLINK_ROUTE) < 0 ||
	    nl_connect(l->ns, NETLINK_ROUTE) < 0) {
		log_warnx("link: cannot connect route netlink socket");
		goto err;
	}
	nl_socket_disable_seq_check(l->mon);
	if (nl_connect(l->mon, NETLINK_ROUTE) < 0 ||
	    nl_socket_add_membership(l->mon, RTNLGRP_LINK) < 0 ||
	    nl_socket_set_nonblocking(l->mon) < 0) {
		log_warnx("link: cannot subscribe to link notifications");
		goto err;
	}
	nl_socket_set_buffer_size(l->mon, 1 << 20, 0);
	return l;
err:
	link_free(l);
	return NULL;
}

void
link_free(struct link *l)
{
	if (l == NULL)
		return;
	if (l->sk)
		nl_socket_free(l->sk);
	if (l->ns)
		nl_socket_free(l->ns);
	if (l->mon)
		nl_socket_free(l->mon);
	free(l);
}

static int
link_nsid_cb(struct nl_msg *msg, void *arg)
{
	struct nlattr	*tb[NETNSA_MAX + 1];
	int32_t		*nsid = arg;

	if (nlmsg_parse(nlmsg_hdr(msg), sizeof(struct rtgenmsg), tb, NETNSA_MAX,
	    NULL) < 0 || tb[NETNSA_NSID] == NULL)
		return NL_SKIP;
	*nsid = (int32_t)nla_get_u32(tb[NETNSA_NSID]);
	return NL_OK;
}

/* Sends RTM_GETNSID or RTM_NEWNSID for fd; for GET, *nsid is the answer. */
static int
link_nsid_request(struct link *l, int type, int fd, int32_t *nsid)
{
	struct rtgenmsg	 rt = { .rtgen_family = AF_UNSPEC };
	struct nl_msg	*msg;
	int		 rc = -1;

	msg = nlmsg_alloc_simple(type, NLM_F_REQUEST |
	    (type == RTM_NEWNSID ? NLM_F_ACK : 0));
	if (msg == NULL)
		fatalx("nlmsg_alloc_simple");
	if (nlmsg_append(msg, &rt, sizeof(rt), NLMSG_ALIGNTO) < 0 ||
	    nla_put_u32(msg, NETNSA_FD, (uint32_t)fd) < 0 ||
	    (type == RTM_NEWNSID && nla_put_u32(msg, NETNSA_NSID,
	    (uint32_t)-1) < 0))
		goto out;
	if (nl_send_auto(l->ns, msg) < 0)
		goto out;
	if (type == RTM_NEWNSID) {
		/* Asked for an ack explicitly: wait for it, or its error. */
		rc = nl_wait_for_ack(l->ns) < 0 ? -1 : 0;
		goto out;
	}
	nl_socket_modify_cb(l->ns, NL_CB_VALID, NL_CB_CUSTOM, link_nsid_cb,
	    nsid);
	rc = nl_recvmsgs_default(l->ns) < 0 ? -1 : 0;
out:
	nlmsg_free(msg);
	return rc;
}

/*
 * The host's id for the netns at path.  A brand-new namespace may have
 * none yet (the kernel assigns one lazily); ask for one to be allocated,
 * as `ip netns set NAME auto` does, so the veth's peer can be named.
 */
static int
link_nsid(struct link *l, const char *path, int32_t *nsid)
{
	int	fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd == -1) {
		log_warn("link: open netns %s", path);
		return -1;
	}
	*nsid = NETNSA_NSID_NOT_ASSIGNED;
	link_nsid_request(l, RTM_GETNSID, fd, nsid);
	if (*nsid < 0) {
		link_nsid_request(l, RTM_NEWNSID, fd, nsid);
		*nsid = NETNSA_NSID_NOT_ASSIGNED;
		link_nsid_request(l, RTM_GETNSID, fd, nsid);
	}
	close(fd);
	return *nsid < 0 ? -1 : 0;
}

static void
link_fill(struct nl_cache *cache, struct rtnl_link *rl, struct link_veth *v)
{
	struct nl_addr	*a = rtnl_link_get_addr(rl);

	memset(v, 0, sizeof(*v));
	strlcpy_bh(v->name, rtnl_link_get_name(rl), sizeof(v->name));
	v->ifindex = rtnl_link_get_ifindex(rl);
	v->peer_ifindex = rtnl_link_get_link(rl);
	if (rtnl_link_get_master(rl) > 0)
		rtnl_link_i2name(cache, rtnl_link_get_master(rl), v->master,
		    sizeof(v->master));
	if (a && nl_addr_get_len(a) == 6)
		memcpy(v->mac, nl_addr_get_binary_addr(a), 6);
}

int
link_find_veths(struct link *l, const char *sandbox_key,
    struct link_veth *out, size_t max)
{
	struct nl_cache		*cache;
	struct nl_object	*obj;
	int32_t			 nsid, id;
	size_t			 n = 0;
	int			 rc;

	if (link_nsid(l, sandbox_key, &nsid) == -1)
		return -1;
	if ((rc = rtnl_link_alloc_cache(l->sk, AF_UNSPEC, &cache)) < 0) {
		log_warnx("link: dump links: %s", nl_geterror(rc));
		return -1;
	}
	for (obj = nl_cache_get_first(cache); obj; obj = nl_cache_get_next(obj)) {
		struct rtnl_link *rl = (struct rtnl_link *)obj;
		const char	*type = rtnl_link_get_type(rl);

		if (type == NULL || strcmp(type, "veth") != 0 ||
		    rtnl_link_get_link_netnsid(rl, &id) < 0 || id != nsid)
			continue;
		if (n < max)
			link_fill(cache, rl, &out[n]);
		n++;
	}
	nl_cache_free(cache);
	return (int)(n < max ? n : max);
}

static int
link_is_bridge(struct rtnl_link *rl)
{
	const char	*type = rtnl_link_get_type(rl);

	return type != NULL && strcmp(type, "bridge") == 0;
}

int
link_list_bridges(struct link *l, struct link_bridge *out, size_t max)
{
	struct nl_cache		*cache;
	struct nl_object	*obj, *o2;
	size_t			 n = 0;
	int			 rc;

	if ((rc = rtnl_link_alloc_cache(l->sk, AF_UNSPEC, &cache)) < 0) {
		log_warnx("link: dump links: %s", nl_geterror(rc));
		return -1;
	}
	for (obj = nl_cache_get_first(cache); obj && n < max;
	    obj = nl_cache_get_next(obj)) {
		struct rtnl_link *rl = (struct rtnl_link *)obj;

		if (!link_is_bridge(rl))
			continue;
		memset(&out[n], 0, sizeof(out[n]));
		strlcpy_bh(out[n].name, rtnl_link_get_name(rl),
		    sizeof(out[n].name));
		out[n].ifindex = rtnl_link_get_ifindex(rl);
		for (o2 = nl_cache_get_first(cache); o2;
		    o2 = nl_cache_get_next(o2))
			if (rtnl_link_get_master((struct rtnl_link *)o2) ==
			    out[n].ifindex)
				out[n].nports++;
		n++;
	}
	nl_cache_free(cache);
	return (int)n;
}

int
link_monitor_fd(struct link *l)
{
	return nl_socket_get_fd(l->mon);
}

static int
link_event_cb(struct nl_msg *msg, void *arg)
{
	int	type = nlmsg_hdr(msg)->nlmsg_type;

	if (type == RTM_NEWLINK || type == RTM_DELLINK)
		*(int *)arg = 1;
	return NL_OK;
}

int
link_read_events(struct link *l)
{
	int	changed = 0, rc;

	nl_socket_modify_cb(l->mon, NL_CB_VALID, NL_CB_CUSTOM, link_event_cb,
	    &changed);
	while ((rc = nl_recvmsgs_default(l->mon)) >= 0)
		;
	if (rc == -NLE_NOMEM || rc == -NLE_BUSY || errno == ENOBUFS) {
		/* Lost notifications: the caller rescans everything. */
		if (!l->warned_nobufs++)
			log_warnx("link: notifications lost (ENOBUFS); "
			    "resynchronising");
		return 1;
	}
	return changed;
}
