/*
 * explain.c: `bulkhead explain` (see explain.h).  The verdict is the
 * evaluator's (evaluate_flow); this file resolves the endpoints, walks the
 * policies that select each endpoint to show what happened to every rule
 * (evaluate_rule_miss), and writes the answer as JSON and as text.  Pure.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "evaluate.h"
#include "explain.h"
#include "inventory.h"
#include "k8s.h"
#include "labels.h"
#include "policy.h"
#include "quarantine.h"
#include "selector.h"
#include "util.h"

/* One side of the flow as the query named it. */
struct explain_side {
	const char		*spec;
	const struct container	*ct;		/* NULL: not a known container */
	struct labelset		 labels;	/* of a labels:k=v endpoint */
};

struct explain {
	const struct policy_set	*ps;
	const struct inventory	*inv;
	struct explain_query	 q;
	struct explain_side	 side[2];	/* source, destination */
	struct eval_flow	 flow;
	struct eval_result	 res;
	char			 err[512];
};

static const struct {
	const char	*name;
	int		 proto;
} explain_protos[] = {
	{ "tcp", IPPROTO_TCP },
	{ "udp", IPPROTO_UDP },
	{ "sctp", IPPROTO_SCTP },
	{ "icmp", IPPROTO_ICMP },
	{ "icmpv6", IPPROTO_ICMPV6 },
};

/* ---- the query ---- */

void
explain_query_init(struct explain_query *q)
{
	memset(q, 0, sizeof(*q));
	q->port = q->sport = q->host_port = -1;
	q->icmp_type = q->icmp_code = -1;
}

int
explain_proto_parse(const char *s)
{
	char	*end;
	long	 n;
	size_t	 i;

	for (i = 0; i < ARRAY_SIZE(explain_protos); i++)
		if (strcmp(s, explain_protos[i].name) == 0)
			return explain_protos[i].proto;
	n = strtol(s, &end, 10);
	if (*s == '\0' || *end != '\0' || n < 1 || n > 255)
		return -1;
	return (int)n;
}

static int
explain_has_ports(int proto)
{
	return proto == IPPROTO_TCP || proto == IPPROTO_UDP ||
	    proto == IPPROTO_SCTP;
}

int
explain_query_check(struct explain_query *q, char *err, size_t errlen)
{
	int	ported = q->port >= 0 || q->sport >= 0 || q->host_port >= 0;
	int	icmp = q->protocol == IPPROTO_ICMP ||
		    q->protocol == IPPROTO_ICMPV6;

	if (ported && q->protocol == 0)
		q->protocol = IPPROTO_TCP;
	if (q->port > 65535 || q->sport > 65535 || q->host_port > 65535)
		snprintf(err, errlen, "port out of range 0-65535");
	else if (ported && !explain_has_ports(q->protocol))
		snprintf(err, errlen, "ports need protocol tcp, udp or sctp");
	else if ((q->icmp_type >= 0 || q->icmp_code >= 0) && !icmp)
		snprintf(err, errlen, "icmp type and code need protocol icmp "
		    "or icmpv6");
	else if (q->icmp_type > 255 || q->icmp_code > 255)
		snprintf(err, errlen, "icmp type and code are 0-255");
	else if (q->ip_version != 0 && q->ip_version != 4 &&
	    q->ip_version != 6)
		snprintf(err, errlen, "ip version must be 4 or 6");
	else if ((q->protocol == IPPROTO_ICMP && q->ip_version == 6) ||
	    (q->protocol == IPPROTO_ICMPV6 && q->ip_version == 4))
		snprintf(err, errlen, "icmp is IPv4 and icmpv6 is IPv6");
	else
		return 0;
	return -1;
}

static void
explain_set_int(json_t *o, const char *key, int v)
{
	if (v >= 0)
		json_object_set_new(o, key, json_integer(v));
}

json_t *
explain_request(const struct explain_query *q)
{
	json_t	*o = json_object();
	char	 buf[16];

	json_object_set_new(o, "cmd", json_string("explain"));
	json_object_set_new(o, "src", json_string(q->src));
	json_object_set_new(o, "dst", json_string(q->dst));
	if (q->protocol)
		json_object_set_new(o, "protocol", json_string(
		    pol_proto_str(q->protocol, buf, sizeof(buf))));
	explain_set_int(o, "port", q->port);
	explain_set_int(o, "sport", q->sport);
	explain_set_int(o, "host_port", q->host_port);
	if (q->ip_version)
		json_object_set_new(o, "ip_version",
		    json_integer(q->ip_version));
	explain_set_int(o, "icmp_type", q->icmp_type);
	explain_set_int(o, "icmp_code", q->icmp_code);
	return o;
}

static json_t *
explain_error(const char *msg)
{
	json_t	*o = json_object();

	json_object_set_new(o, "ok", json_false());
	json_object_set_new(o, "error", json_string(msg));
	return o;
}

/* An optional integer member 0..max of a request into *out. */
static int
explain_req_int(json_t *req, const char *key, int max, int *out)
{
	json_t	*v = json_object_get(req, key);

	if (v == NULL)
		return 0;
	if (!json_is_integer(v) || json_integer_value(v) < 0 ||
	    json_integer_value(v) > max)
		return -1;
	*out = (int)json_integer_value(v);
	return 0;
}

json_t *
explain_handle(const struct policy_set *ps, const struct inventory *inv,
    json_t *req)
{
	struct explain_query	 q;
	json_t			*proto = json_object_get(req, "protocol");

	explain_query_init(&q);
	q.src = json_string_value(json_object_get(req, "src"));
	q.dst = json_string_value(json_object_get(req, "dst"));
	if (q.src == NULL || q.dst == NULL)
		return explain_error("bad request: explain needs src and dst");
	if (proto && (!json_is_string(proto) ||
	    (q.protocol = explain_proto_parse(json_string_value(proto))) < 0))
		return explain_error("bad request: unknown protocol");
	if (explain_req_int(req, "port", 65535, &q.port) ||
	    explain_req_int(req, "sport", 65535, &q.sport) ||
	    explain_req_int(req, "host_port", 65535, &q.host_port) ||
	    explain_req_int(req, "ip_version", 6, &q.ip_version) ||
	    explain_req_int(req, "icmp_type", 255, &q.icmp_type) ||
	    explain_req_int(req, "icmp_code", 255, &q.icmp_code))
		return explain_error("bad request: port, sport, host_port, "
		    "ip_version, icmp_type and icmp_code are small "
		    "non-negative integers");
	return explain_answer(ps, inv, &q);
}

/* ---- endpoints ---- */

static const char *
explain_prefix(const char *s, const char *prefix)
{
	size_t	len = strlen(prefix);

	return strncmp(s, prefix, len) == 0 ? s + len : NULL;
}

/* Parses an address; returns its family, or 0 when s is none. */
static int
explain_addr_parse(const char *s, void *addr)
{
	if (inet_pton(AF_INET, s, addr) == 1)
		return AF_INET;
	if (inet_pton(AF_INET6, s, addr) == 1)
		return AF_INET6;
	return 0;
}

static const struct eval_addr *
explain_addr_of(const struct eval_endpoint *ep, int version)
{
	int	family = version == 6 ? AF_INET6 : AF_INET;
	size_t	i;

	for (i = 0; i < ep->naddrs; i++)
		if (ep->addrs[i].family == family)
			return &ep->addrs[i];
	return NULL;
}

static struct eval_endpoint *
explain_ep(struct explain *ex, int i)
{
	return i ? &ex->flow.dst : &ex->flow.src;
}

static int
explain_container(struct explain *ex, int i, const char *name)
{
	const struct container	*ct = inventory_get(ex->inv, name);

	if (ct == NULL) {
		snprintf(ex->err, sizeof(ex->err), "%s: no container with "
		    "this name or id", name);
		return -1;
	}
	ex->side[i].ct = ct;
	evaluate_endpoint_container(explain_ep(ex, i), ct);
	return 0;
}

static int
explain_outside(struct explain *ex, int i, enum eval_kind kind,
    const char *addr)
{
	struct eval_endpoint	*ep = explain_ep(ex, i);
	struct in6_addr		 a;
	int			 family;

	evaluate_endpoint_init(ep, kind);
	if (addr == NULL)
		return 0;
	if ((family = explain_addr_parse(addr, &a)) == 0) {
		snprintf(ex->err, sizeof(ex->err), "%s: not an IPv4 or IPv6 "
		    "address", addr);
		return -1;
	}
	evaluate_endpoint_add_addr(ep, family, &a);
	return 0;
}

/* The container with address a of family, or NULL. */
static const struct container *
explain_find_addr(const struct inventory *inv, int family, const void *a)
{
	const struct container	*ct;
	size_t			 i;

	TAILQ_FOREACH(ct, &inv->containers, entry)
		for (i = 0; i < ct->neps; i++) {
			if (family == AF_INET && ct->eps[i].has_ip4 &&
			    memcmp(&ct->eps[i].ip4, a, 4) == 0)
				return ct;
			if (family == AF_INET6 && ct->eps[i].has_ip6 &&
			    memcmp(&ct->eps[i].ip6, a, 16) == 0)
				return ct;
		}
	return NULL;
}

/* An address: the container that has it (that address first), else world. */
static int
explain_ip(struct explain *ex, int i, const char *addr)
{
	struct eval_endpoint	*ep = explain_ep(ex, i);
	const struct container	*ct;
	struct eval_addr	 tmp;
	struct in6_addr		 a;
	size_t			 j;
	int			 family;

	if ((family = explain_addr_parse(addr, &a)) == 0 ||
	    (ct = explain_find_addr(ex->inv, family, &a)) == NULL)
		return explain_outside(ex, i, EVAL_WORLD, addr);
	ex->side[i].ct = ct;
	evaluate_endpoint_container(ep, ct);
	for (j = 0; j < ep->naddrs; j++)
		if (ep->addrs[j].family == family && memcmp(&ep->addrs[j].addr,
		    &a, family == AF_INET ? 4 : 16) == 0)
			break;
	if (j == ep->naddrs)
		return 0;
	for (; j > 0; j--) {
		tmp = ep->addrs[j - 1];
		ep->addrs[j - 1] = ep->addrs[j];
		ep->addrs[j] = tmp;
	}
	return 0;
}

/* labels:k=v,k2=v2: a container that does not exist (yet). */
static int
explain_labels(struct explain *ex, int i, const char *spec)
{
	struct eval_endpoint	*ep = explain_ep(ex, i);
	char			*copy = xstrdup(spec), *item, *rest = copy, *eq;
	int			 rc = 0;

	while ((item = strsep(&rest, ",")) != NULL) {
		if (*item == '\0')
			continue;
		if ((eq = strchr(item, '=')) == NULL || eq == item) {
			snprintf(ex->err, sizeof(ex->err), "labels:%s: expected "
			    "key=value pairs separated by commas", spec);
			rc = -1;
			break;
		}
		*eq = '\0';
		labelset_set(&ex->side[i].labels, item, eq + 1);
	}
	free(copy);
	evaluate_endpoint_init(ep, EVAL_CONTAINER);
	ep->name = ex->side[i].spec;
	ep->labels = &ex->side[i].labels;
	return rc;
}

static int
explain_resolve(struct explain *ex, int i)
{
	const char	*spec = ex->side[i].spec, *arg;
	struct in6_addr	 a;

	if ((arg = explain_prefix(spec, "container:")) != NULL)
		return explain_container(ex, i, arg);
	if (strcmp(spec, "host") == 0 || strcmp(spec, "world") == 0)
		return explain_outside(ex, i, *spec == 'h' ? EVAL_HOST :
		    EVAL_WORLD, NULL);
	if ((arg = explain_prefix(spec, "host:")) != NULL)
		return explain_outside(ex, i, EVAL_HOST, arg);
	if ((arg = explain_prefix(spec, "world:")) != NULL)
		return explain_outside(ex, i, EVAL_WORLD, arg);
	if ((arg = explain_prefix(spec, "labels:")) != NULL)
		return explain_labels(ex, i, arg);
	if ((arg = explain_prefix(spec, "ip:")) != NULL)
		return explain_ip(ex, i, arg);
	if (explain_addr_parse(spec, &a))
		return explain_ip(ex, i, spec);
	return explain_container(ex, i, spec);
}

/* ---- the walk, as JSON ---- */

static void
explain_loc(json_t *o, const struct srcloc *loc)
{
	char	*s;

	if (loc->file == NULL)
		return;
	s = xasprintf("%s:%d:%d", loc->file, loc->line, loc->column);
	json_object_set_new(o, "location", json_string(s));
	free(s);
}

/* Where policy p's rule sits, or p itself for rule -1. */
static const struct srcloc *
explain_rule_loc(const struct policy *p, enum pol_dir dir, int rule)
{
	if (rule >= 0 && (size_t)rule < p->nrules[dir])
		return &p->rules[dir][rule].loc;
	return &p->loc;
}

static const char *
explain_kind_str(enum eval_kind k)
{
	switch (k) {
	case EVAL_CONTAINER: return "container";
	case EVAL_HOST: return "host";
	case EVAL_WORLD: return "world";
	}
	return "?";
}

/* How a side is called in messages: its name, or host/world. */
static const char *
explain_name(const struct eval_endpoint *ep)
{
	if (ep->kind == EVAL_CONTAINER && ep->name)
		return ep->name;
	return explain_kind_str(ep->kind);
}

/* Why the verdict on this endpoint may not be what the kernel does. */
static const char *
explain_warning(const struct explain *ex, int i, char *buf, size_t len)
{
	const struct container		*ct = ex->side[i].ct;
	const struct eval_endpoint	*ep = i ? &ex->flow.dst : &ex->flow.src;
	const char			*mode;

	if (ct == NULL) {
		if (ep->kind == EVAL_CONTAINER)
			return "is not a container yet: evaluated on its labels "
			    "alone, without an address";
		return NULL;
	}
	mode = ct->network_mode ? ct->network_mode : "";
	if (strcmp(mode, "host") == 0)
		return "uses the host's network namespace: bulkhead cannot "
		    "filter it, so this verdict is not enforced";
	if (strcmp(mode, "none") == 0)
		return "has no network";
	if (strncmp(mode, "container:", 10) == 0)
		return "shares another container's network namespace: that "
		    "container's policies apply to its traffic";
	if (explain_addr_of(ep, ex->res.ip_version) == NULL) {
		snprintf(buf, len, "has no IPv%d address", ex->res.ip_version);
		return buf;
	}
	return NULL;
}

static json_t *
explain_endpoint_json(const struct explain *ex, int i)
{
	const struct eval_endpoint	*ep = i ? &ex->flow.dst : &ex->flow.src;
	const struct eval_addr		*a = explain_addr_of(ep,
					    ex->res.ip_version);
	json_t				*o = json_object();
	char				 buf[INET6_ADDRSTRLEN + 64];
	const char			*warn;

	json_object_set_new(o, "spec", json_string(ex->side[i].spec));
	json_object_set_new(o, "kind", json_string(explain_kind_str(ep->kind)));
	json_object_set_new(o, "name", json_string(explain_name(ep)));
	if (ex->side[i].ct)
		json_object_set_new(o, "id", json_string(ex->side[i].ct->id));
	if (a && inet_ntop(a->family, &a->addr, buf, sizeof(buf)))
		json_object_set_new(o, "address", json_string(buf));
	if (ep->kind == EVAL_CONTAINER)
		json_object_set_new(o, "namespace", json_string(ep->ns ?
		    ep->ns : evaluate_namespace(ep->labels)));
	if ((warn = explain_warning(ex, i, buf, sizeof(buf))) != NULL)
		json_object_set_new(o, "warning", json_string(warn));
	return o;
}

static void
explain_ranges(struct strbuf *sb, const struct port_range *v, size_t n)
{
	size_t	i;

	for (i = 0; i < n; i++) {
		strbuf_addf(sb, "%s%u", i ? "," : "", v[i].lo);
		if (v[i].hi != v[i].lo)
			strbuf_addf(sb, "-%u", v[i].hi);
	}
}

static void
explain_nets(struct strbuf *sb, const struct cidr *v, size_t n)
{
	char	buf[INET6_ADDRSTRLEN];
	size_t	i;

	for (i = 0; i < n; i++)
		if (inet_ntop(v[i].family, &v[i].addr, buf, sizeof(buf)))
			strbuf_addf(sb, "%s%s/%u", i ? "," : "", buf,
			    v[i].prefix);
}

/* "[app == 'api'] nets 10.0.0.0/8" and the like; "" for any peer. */
static void
explain_peer_text(struct strbuf *sb, const struct peer *p)
{
	static const char	*ents[] = { "", "host", "world", "any" };

	if (p->entity != POL_ENTITY_NONE)
		strbuf_addf(sb, " %s", ents[p->entity]);
	if (p->selector)
		strbuf_addf(sb, " [%s]", selector_text(p->selector));
	if (p->ns_selector)
		strbuf_addf(sb, " namespace [%s]",
		    selector_text(p->ns_selector));
	if (p->nnets) {
		strbuf_addstr(sb, " nets ");
		explain_nets(sb, p->nets, p->nnets);
	}
	if (p->nnot_nets) {
		strbuf_addstr(sb, " not nets ");
		explain_nets(sb, p->not_nets, p->nnot_nets);
	}
	if (p->nports) {
		strbuf_addstr(sb, " port ");
		explain_ranges(sb, p->ports, p->nports);
	}
	if (p->nnot_ports) {
		strbuf_addstr(sb, " not port ");
		explain_ranges(sb, p->not_ports, p->nnot_ports);
	}
	if (p->nhost_ports) {
		strbuf_addstr(sb, " host port ");
		explain_ranges(sb, p->host_ports, p->nhost_ports);
	}
	if (p->port_name)
		strbuf_addf(sb, " port %s", p->port_name);
}

/* " from ..." or " to ..." when the peer says anything. */
static void
explain_side_text(struct strbuf *sb, const char *word, const struct peer *p)
{
	struct strbuf	peer;

	strbuf_init(&peer);
	explain_peer_text(&peer, p);
	if (peer.len)
		strbuf_addf(sb, " %s%s", word, peer.buf);
	strbuf_release(&peer);
}

/* "allow tcp from [app == 'api'] to port 5432". */
static void
explain_rule_text(struct strbuf *sb, const struct rule *r)
{
	char	buf[16];

	strbuf_addstr(sb, pol_action_str(r->action));
	if (r->protocol)
		strbuf_addf(sb, " %s", pol_proto_str(r->protocol, buf,
		    sizeof(buf)));
	if (r->ip_version)
		strbuf_addf(sb, " ipv%d", r->ip_version);
	if (r->icmp.type >= 0)
		strbuf_addf(sb, " type %d", r->icmp.type);
	if (r->icmp.code >= 0)
		strbuf_addf(sb, " code %d", r->icmp.code);
	explain_side_text(sb, "from", &r->source);
	explain_side_text(sb, "to", &r->destination);
	if (r->log && r->action != POL_LOG)
		strbuf_addstr(sb, " (log)");
}

static void
explain_why_peer(struct strbuf *sb, const struct explain *ex,
    const struct rule *r, enum eval_miss m, int side)
{
	const struct eval_endpoint	*ep = side ? &ex->flow.dst :
					    &ex->flow.src;
	const struct peer		*p = side ? &r->destination :
					    &r->source;
	const struct eval_addr		*a = explain_addr_of(ep,
					    ex->res.ip_version);
	const char			*who = side ? "destination" : "source";
	const char			*name = explain_name(ep);
	int				 port = side ? ex->flow.dport :
					    ex->flow.sport;
	char				 buf[INET6_ADDRSTRLEN] = "";

	if (a)
		inet_ntop(a->family, &a->addr, buf, sizeof(buf));
	switch (m) {
	case EVAL_MISS_ENTITY:
		strbuf_addf(sb, "%s %s is %s, the rule wants %s", who, name,
		    ep->kind == EVAL_CONTAINER ? "a container" : "not it",
		    p->entity == POL_ENTITY_HOST ? "the host" : "the world");
		return;
	case EVAL_MISS_NETS:
	case EVAL_MISS_NOT_NETS:
		if (a == NULL)
			strbuf_addf(sb, "%s %s has no IPv%d address to match "
			    "%s", who, name, ex->res.ip_version,
			    m == EVAL_MISS_NETS ? "nets" : "notNets");
		else
			strbuf_addf(sb, "%s address %s is %s", who, buf,
			    m == EVAL_MISS_NETS ? "not in nets" :
			    "in notNets");
		return;
	case EVAL_MISS_PORTS:
	case EVAL_MISS_NOT_PORTS:
		if (port < 0)
			strbuf_addf(sb, "%s port not given (%s), the rule has "
			    "%s", who, side ? "--port" : "--sport",
			    m == EVAL_MISS_PORTS ? "ports" : "notPorts");
		else
			strbuf_addf(sb, "%s port %d is %s", who, port,
			    m == EVAL_MISS_PORTS ? "not in ports" :
			    "in notPorts");
		return;
	case EVAL_MISS_HOST_PORTS:
		if (ex->flow.dport < 0 && ex->flow.orig_dport < 0)
			strbuf_addstr(sb, "destination port not given "
			    "(--port or --host-port), the rule has hostPorts");
		else
			strbuf_addf(sb, "destination port before publishing "
			    "%d is not in hostPorts", ex->flow.orig_dport >= 0 ?
			    ex->flow.orig_dport : ex->flow.dport);
		return;
	case EVAL_MISS_NAMED_PORT:
		if (ep->kind != EVAL_CONTAINER)
			strbuf_addf(sb, "%s is the %s, and named ports are "
			    "containers' only", who, name);
		else if (port < 0)
			strbuf_addf(sb, "%s port not given (%s), the rule has "
			    "the named port %s", who, side ? "--port" :
			    "--sport", p->port_name);
		else
			strbuf_addf(sb, "%s port %d is not %s's port named %s "
			    "(label %s%s)", who, port, name, p->port_name,
			    K8S_PORT_LABEL, p->port_name);
		return;
	case EVAL_MISS_SELECTOR:
	case EVAL_MISS_NS_SELECTOR:
		if (ep->kind != EVAL_CONTAINER)
			strbuf_addf(sb, "%s is the %s, and selectors match "
			    "containers only", who, name);
		else if (m == EVAL_MISS_SELECTOR)
			strbuf_addf(sb, "%s %s does not match [%s]", who, name,
			    selector_text(p->selector));
		else
			strbuf_addf(sb, "%s %s is in namespace %s, which does "
			    "not match [%s]", who, name, ep->ns ? ep->ns :
			    evaluate_namespace(ep->labels),
			    selector_text(p->ns_selector));
		return;
	default:
		strbuf_addf(sb, "%s does not match", who);
		return;
	}
}

static void
explain_why_not(struct strbuf *sb, const struct explain *ex,
    const struct rule *r, enum eval_miss m, int side)
{
	const struct eval_flow	*f = &ex->flow;
	char			 a[16], b[16];

	switch (m) {
	case EVAL_MISS_NONE:
		return;
	case EVAL_MISS_PROTOCOL:
		if (f->protocol == 0)
			strbuf_addf(sb, "the rule is for %s, no protocol given "
			    "(--proto)", pol_proto_str(r->protocol, a,
			    sizeof(a)));
		else
			strbuf_addf(sb, "protocol %s, the rule is for %s",
			    pol_proto_str(f->protocol, a, sizeof(a)),
			    pol_proto_str(r->protocol, b, sizeof(b)));
		return;
	case EVAL_MISS_IP_VERSION:
		strbuf_addf(sb, "the flow is IPv%d, the rule is for IPv%d",
		    ex->res.ip_version, r->ip_version ? r->ip_version :
		    r->protocol == IPPROTO_ICMP ? 4 : 6);
		return;
	case EVAL_MISS_ICMP_TYPE:
	case EVAL_MISS_ICMP_CODE:
		if ((m == EVAL_MISS_ICMP_TYPE ? f->icmp_type : f->icmp_code) < 0)
			strbuf_addf(sb, "the rule wants icmp %s %d, none given",
			    m == EVAL_MISS_ICMP_TYPE ? "type" : "code",
			    m == EVAL_MISS_ICMP_TYPE ? r->icmp.type :
			    r->icmp.code);
		else
			strbuf_addf(sb, "icmp %s %d, the rule wants %d",
			    m == EVAL_MISS_ICMP_TYPE ? "type" : "code",
			    m == EVAL_MISS_ICMP_TYPE ? f->icmp_type :
			    f->icmp_code, m == EVAL_MISS_ICMP_TYPE ?
			    r->icmp.type : r->icmp.code);
		return;
	default:
		explain_why_peer(sb, ex, r, m, side);
		return;
	}
}

static int
explain_reached(const struct eval_verdict *v, const struct policy *p)
{
	size_t	i;

	for (i = 0; i < v->nsteps; i++)
		if (v->steps[i].event == EVAL_EV_POLICY &&
		    v->steps[i].policy == p)
			return 1;
	return 0;
}

static int
explain_decided(const struct eval_verdict *v, const struct policy *p)
{
	return v->reason == EVAL_RULE && v->policy == p;
}

/* The audit step (allow or would-deny) that ended p, or NULL. */
static const struct eval_step *
explain_audit_step(const struct eval_verdict *v, const struct policy *p)
{
	size_t	i;

	for (i = 0; i < v->nsteps; i++)
		if (v->steps[i].policy == p &&
		    (v->steps[i].event == EVAL_EV_AUDIT_ALLOW ||
		    v->steps[i].event == EVAL_EV_WOULD_DENY))
			return &v->steps[i];
	return NULL;
}

/* The index of the rule that ended p's evaluation; -1: none did. */
static int
explain_last_rule(const struct eval_verdict *v, const struct policy *p)
{
	const struct eval_step	*s;

	if (explain_decided(v, p))
		return v->rule;
	if ((s = explain_audit_step(v, p)) != NULL)
		return s->rule;
	return -1;
}

static const char *
explain_policy_outcome(const struct eval_verdict *v, const struct policy *p)
{
	const struct eval_step	*s;

	if (!explain_reached(v, p))
		return "not-reached";
	if (explain_decided(v, p))
		return v->action == POL_ALLOW ? "allow" : "deny";
	if ((s = explain_audit_step(v, p)) != NULL)
		return s->event == EVAL_EV_AUDIT_ALLOW ? "audit-allow" :
		    "would-deny";
	return "no-match";
}

static json_t *
explain_rule_json(const struct explain *ex, const struct policy *p,
    enum pol_dir dir, size_t i)
{
	const struct eval_verdict	*v = &ex->res.v[dir];
	const struct rule		*r = &p->rules[dir][i];
	int				 last = explain_last_rule(v, p), side;
	enum eval_miss			 m;
	json_t				*o = json_object();
	const char			*status;
	struct strbuf			 sb;

	strbuf_init(&sb);
	m = evaluate_rule_miss(ex->ps, r, &ex->flow, &side);
	if (!explain_reached(v, p) || (last >= 0 && (int)i > last))
		status = "not-reached";
	else
		status = m == EVAL_MISS_NONE ? "matched" : "no-match";
	json_object_set_new(o, "index", json_integer((json_int_t)i));
	json_object_set_new(o, "action",
	    json_string(pol_action_str(r->action)));
	explain_rule_text(&sb, r);
	json_object_set_new(o, "text", json_string(sb.buf));
	explain_loc(o, &r->loc);
	json_object_set_new(o, "status", json_string(status));
	if (strcmp(status, "no-match") == 0) {
		strbuf_clear(&sb);
		explain_why_not(&sb, ex, r, m, side);
		json_object_set_new(o, "why_not", json_string(sb.buf));
	}
	json_object_set_new(o, "log", json_boolean(r->log ||
	    r->action == POL_LOG));
	strbuf_release(&sb);
	return o;
}

static json_t *
explain_policy_json(const struct explain *ex, const struct policy *p,
    enum pol_dir dir)
{
	json_t	*o = json_object(), *rules = json_array();
	size_t	 i;
	int	 last;

	json_object_set_new(o, "name", json_string(p->name));
	json_object_set_new(o, "order", json_real(p->order));
	json_object_set_new(o, "mode", json_string(p->mode == POL_AUDIT ?
	    "audit" : "enforce"));
	json_object_set_new(o, "selector",
	    json_string(selector_text(p->selector)));
	if (p->namespace)
		json_object_set_new(o, "namespace", json_string(p->namespace));
	explain_loc(o, &p->loc);
	json_object_set_new(o, "outcome",
	    json_string(explain_policy_outcome(&ex->res.v[dir], p)));
	if (explain_reached(&ex->res.v[dir], p) &&
	    (last = explain_last_rule(&ex->res.v[dir], p)) >= 0)
		json_object_set_new(o, "rule", json_integer(last));
	for (i = 0; i < p->nrules[dir]; i++)
		json_array_append_new(rules, explain_rule_json(ex, p, dir, i));
	json_object_set_new(o, "rules", rules);
	return o;
}

static const char *
explain_reason_str(enum eval_reason r)
{
	switch (r) {
	case EVAL_NOT_CONTAINER: return "not-container";
	case EVAL_NOT_SELECTED: return "not-selected";
	case EVAL_AUDIT_ONLY: return "audit-only";
	case EVAL_RULE: return "rule";
	case EVAL_DEFAULT_DENY: return "default-deny";
	}
	return "?";
}

static int
explain_untouched(const struct eval_verdict *v)
{
	return v->reason == EVAL_NOT_SELECTED ||
	    v->reason == EVAL_NOT_CONTAINER;
}

/* The deciding policy, rule and location of a verdict, into o. */
static void
explain_decider(json_t *o, const struct eval_verdict *v)
{
	json_object_set_new(o, "policy", json_string(v->policy->name));
	if (v->rule >= 0)
		json_object_set_new(o, "rule", json_integer(v->rule));
	explain_loc(o, explain_rule_loc(v->policy, v->dir, v->rule));
}

static json_t *
explain_dir_json(const struct explain *ex, enum pol_dir dir)
{
	const struct eval_verdict	*v = &ex->res.v[dir];
	const struct eval_endpoint	*ep = dir == POL_EGRESS ?
					    &ex->flow.src : &ex->flow.dst;
	json_t				*o = json_object(), *pols = json_array();
	size_t				 i;

	json_object_set_new(o, "direction", json_string(pol_dir_str(dir)));
	json_object_set_new(o, "allowed", json_boolean(v->allowed));
	json_object_set_new(o, "outcome", json_string(!v->allowed ? "denied" :
	    explain_untouched(v) ? "untouched" : "allowed"));
	json_object_set_new(o, "reason",
	    json_string(explain_reason_str(v->reason)));
	if (v->policy) {
		explain_decider(o, v);
		json_object_set_new(o, "action",
		    json_string(pol_action_str(v->action)));
	}
	for (i = 0; i < ex->ps->n; i++)
		if (evaluate_selects(ex->ps->v[i], ep, dir))
			json_array_append_new(pols,
			    explain_policy_json(ex, ex->ps->v[i], dir));
	json_object_set_new(o, "policies", pols);
	return o;
}

static json_t *
explain_flow_json(const struct explain *ex)
{
	const struct eval_flow	*f = &ex->flow;
	json_t			*o = json_object();
	char			 buf[16];

	if (f->protocol)
		json_object_set_new(o, "protocol", json_string(
		    pol_proto_str(f->protocol, buf, sizeof(buf))));
	explain_set_int(o, "port", f->dport);
	explain_set_int(o, "sport", f->sport);
	explain_set_int(o, "host_port", f->orig_dport);
	json_object_set_new(o, "ip_version", json_integer(ex->res.ip_version));
	explain_set_int(o, "icmp_type", f->icmp_type);
	explain_set_int(o, "icmp_code", f->icmp_code);
	return o;
}

/* The audit policies that would deny, egress first. */
static json_t *
explain_would_deny_json(const struct explain *ex)
{
	static const enum pol_dir	 order[] = { POL_EGRESS, POL_INGRESS };
	const struct eval_verdict	*v;
	json_t				*a = json_array(), *o;
	size_t				 d, i;

	for (d = 0; d < ARRAY_SIZE(order); d++) {
		v = &ex->res.v[order[d]];
		for (i = 0; i < v->nsteps; i++) {
			if (v->steps[i].event != EVAL_EV_WOULD_DENY)
				continue;
			o = json_object();
			json_object_set_new(o, "direction",
			    json_string(pol_dir_str(v->dir)));
			json_object_set_new(o, "policy",
			    json_string(v->steps[i].policy->name));
			if (v->steps[i].rule >= 0)
				json_object_set_new(o, "rule",
				    json_integer(v->steps[i].rule));
			explain_loc(o, explain_rule_loc(v->steps[i].policy,
			    v->dir, v->steps[i].rule));
			json_array_append_new(a, o);
		}
	}
	return a;
}

static const char *
explain_verdict_str(const struct eval_result *res, size_t nwould)
{
	if (!res->allowed)
		return "denied";
	if (nwould)
		return "audit-would-deny";
	if (explain_untouched(&res->v[POL_EGRESS]) &&
	    explain_untouched(&res->v[POL_INGRESS]))
		return "untouched";
	return "allowed";
}

static json_t *
explain_json(const struct explain *ex)
{
	const struct eval_verdict	*deny;
	json_t				*o = json_object(), *d;
	json_t				*would = explain_would_deny_json(ex);

	json_object_set_new(o, "ok", json_true());
	json_object_set_new(o, "verdict", json_string(explain_verdict_str(
	    &ex->res, json_array_size(would))));
	json_object_set_new(o, "allowed", json_boolean(ex->res.allowed));
	json_object_set_new(o, "generation",
	    json_integer((json_int_t)ex->ps->generation));
	json_object_set_new(o, "flow", explain_flow_json(ex));
	json_object_set_new(o, "source", explain_endpoint_json(ex, 0));
	json_object_set_new(o, "destination", explain_endpoint_json(ex, 1));
	json_object_set_new(o, "egress", explain_dir_json(ex, POL_EGRESS));
	json_object_set_new(o, "ingress", explain_dir_json(ex, POL_INGRESS));
	if (!ex->res.allowed) {
		deny = !ex->res.v[POL_EGRESS].allowed ?
		    &ex->res.v[POL_EGRESS] : &ex->res.v[POL_INGRESS];
		d = json_object();
		json_object_set_new(d, "direction",
		    json_string(pol_dir_str(deny->dir)));
		explain_decider(d, deny);
		json_object_set_new(o, "denied_by", d);
	}
	json_object_set_new(o, "would_deny", would);
	return o;
}

json_t *
explain_answer(const struct policy_set *ps, const struct inventory *inv,
    const struct explain_query *q)
{
	struct explain	 ex;
	json_t		*ans = NULL;
	int		 i;

	memset(&ex, 0, sizeof(ex));
	ex.ps = ps;
	ex.inv = inv;
	ex.q = *q;
	ex.side[0].spec = q->src;
	ex.side[1].spec = q->dst;
	for (i = 0; i < 2; i++)
		labelset_init(&ex.side[i].labels);
	evaluate_flow_init(&ex.flow);
	if (q->src == NULL || q->dst == NULL)
		snprintf(ex.err, sizeof(ex.err), "explain needs a source and "
		    "a destination");
	else if (explain_query_check(&ex.q, ex.err, sizeof(ex.err)) == 0 &&
	    explain_resolve(&ex, 0) == 0 && explain_resolve(&ex, 1) == 0) {
		ex.flow.protocol = ex.q.protocol;
		ex.flow.ip_version = ex.q.ip_version;
		ex.flow.dport = ex.q.port;
		ex.flow.sport = ex.q.sport;
		ex.flow.orig_dport = ex.q.host_port;
		ex.flow.icmp_type = ex.q.icmp_type;
		ex.flow.icmp_code = ex.q.icmp_code;
		evaluate_flow(ps, &ex.flow, &ex.res);
		/* The walk below sees the version the evaluator chose. */
		ex.flow.ip_version = ex.res.ip_version;
		ans = explain_json(&ex);
		evaluate_result_release(&ex.res);
	}
	if (ans == NULL)
		ans = explain_error(ex.err);
	evaluate_flow_release(&ex.flow);
	for (i = 0; i < 2; i++)
		labelset_release(&ex.side[i].labels);
	return ans;
}

void
explain_quarantine(json_t *ans, const struct quarantine *q)
{
	static const char		*sides[] = { "source", "destination" };
	const struct quarantine_entry	*e;
	const char			*id;
	json_t				*ep;
	size_t				 i;

	if (q == NULL || !json_is_true(json_object_get(ans, "ok")))
		return;
	for (i = 0; i < ARRAY_SIZE(sides); i++) {
		ep = json_object_get(ans, sides[i]);
		if ((id = json_string_value(json_object_get(ep, "id"))) == NULL ||
		    (e = quarantine_find(q, id)) == NULL)
			continue;
		json_object_set_new(ans, "verdict", json_string("quarantined"));
		json_object_set_new(ans, "allowed", json_false());
		json_object_set_new(ans, "quarantine", json_pack("{s:s, s:s, "
		    "s:s}", "side", sides[i], "container",
		    json_string_value(json_object_get(ep, "name")) ?
		    json_string_value(json_object_get(ep, "name")) : id,
		    "reason", e->reason ? e->reason : ""));
		return;
	}
}

/* ---- text, from the answer ---- */

static const char *
explain_jstr(json_t *o, const char *key)
{
	const char	*s = json_string_value(json_object_get(o, key));

	return s ? s : "";
}

/* "web (172.17.0.4)". */
static void
explain_render_ep(struct strbuf *sb, json_t *ep)
{
	strbuf_addstr(sb, explain_jstr(ep, "name"));
	if (json_object_get(ep, "address"))
		strbuf_addf(sb, " (%s)", explain_jstr(ep, "address"));
}

static void
explain_render_flow(struct strbuf *sb, json_t *ans)
{
	json_t	*f = json_object_get(ans, "flow"), *v;
	json_t	*src = json_object_get(ans, "source");
	json_t	*dst = json_object_get(ans, "destination");

	strbuf_addstr(sb, "explain: ");
	explain_render_ep(sb, src);
	strbuf_addstr(sb, " -> ");
	explain_render_ep(sb, dst);
	strbuf_addf(sb, ", ipv%lld", json_integer_value(json_object_get(f,
	    "ip_version")));
	if (json_object_get(f, "protocol"))
		strbuf_addf(sb, " %s", explain_jstr(f, "protocol"));
	else
		strbuf_addstr(sb, " (no --proto: rules naming a protocol do "
		    "not match)");
	if ((v = json_object_get(f, "sport")) != NULL)
		strbuf_addf(sb, " from port %lld", json_integer_value(v));
	if ((v = json_object_get(f, "port")) != NULL)
		strbuf_addf(sb, " port %lld", json_integer_value(v));
	if ((v = json_object_get(f, "host_port")) != NULL)
		strbuf_addf(sb, json_object_get(f, "port") ? " (host port %lld)" :
		    " host port %lld", json_integer_value(v));
	if ((v = json_object_get(f, "icmp_type")) != NULL)
		strbuf_addf(sb, " type %lld", json_integer_value(v));
	if ((v = json_object_get(f, "icmp_code")) != NULL)
		strbuf_addf(sb, " code %lld", json_integer_value(v));
	strbuf_addstr(sb, "\n");
	if (json_object_get(src, "warning"))
		strbuf_addf(sb, "  warning: %s %s\n", explain_jstr(src, "name"),
		    explain_jstr(src, "warning"));
	if (json_object_get(dst, "warning"))
		strbuf_addf(sb, "  warning: %s %s\n", explain_jstr(dst, "name"),
		    explain_jstr(dst, "warning"));
}

/* What happened to a rule that was reached, after its line. */
static void
explain_render_rule(struct strbuf *sb, json_t *r, json_t *pol)
{
	const char	*status = explain_jstr(r, "status");
	const char	*action = explain_jstr(r, "action");
	int		 audit = strcmp(explain_jstr(pol, "mode"), "audit") == 0;

	strbuf_addf(sb, "    #%lld %s  %s\n", json_integer_value(
	    json_object_get(r, "index")), explain_jstr(r, "text"),
	    explain_jstr(r, "location"));
	if (strcmp(status, "no-match") == 0)
		strbuf_addf(sb, "       no match: %s\n",
		    explain_jstr(r, "why_not"));
	else if (strcmp(status, "not-reached") == 0)
		strbuf_addstr(sb, "       not reached\n");
	else if (strcmp(action, "log") == 0)
		strbuf_addstr(sb, "       MATCH: logged, goes on\n");
	else
		strbuf_addf(sb, "       MATCH: %s%s%s\n",
		    strcmp(action, "allow") == 0 ? "allows" :
		    audit ? "would deny" : "denies",
		    audit ? " (audit: goes on with the next policy)" : "",
		    json_is_true(json_object_get(r, "log")) ? ", logged" : "");
}

static void
explain_render_policy(struct strbuf *sb, json_t *pol)
{
	const char	*outcome = explain_jstr(pol, "outcome");
	json_t		*r;
	size_t		 i;

	strbuf_addf(sb, "  policy %s (order %g, %s, [%s]%s%s)  %s\n",
	    explain_jstr(pol, "name"),
	    json_number_value(json_object_get(pol, "order")),
	    explain_jstr(pol, "mode"), explain_jstr(pol, "selector"),
	    json_object_get(pol, "namespace") ? " in namespace " : "",
	    json_object_get(pol, "namespace") ?
	    explain_jstr(pol, "namespace") : "",
	    explain_jstr(pol, "location"));
	if (strcmp(outcome, "not-reached") == 0) {
		strbuf_addstr(sb, "    not reached: decided above\n");
		return;
	}
	json_array_foreach(json_object_get(pol, "rules"), i, r)
		explain_render_rule(sb, r, pol);
	if (json_array_size(json_object_get(pol, "rules")) == 0)
		strbuf_addstr(sb, "    (no rules)\n");
	else if (strcmp(outcome, "no-match") == 0)
		strbuf_addstr(sb, "    no rule decided\n");
	if (strcmp(outcome, "would-deny") == 0 &&
	    json_object_get(pol, "rule") == NULL)
		strbuf_addstr(sb, "    audit: no rule allows it, would deny; "
		    "goes on with the next policy\n");
}

static void
explain_render_dir(struct strbuf *sb, json_t *ans, const char *dir)
{
	json_t		*d = json_object_get(ans, dir), *pol;
	json_t		*ep = json_object_get(ans, strcmp(dir, "egress") == 0 ?
			    "source" : "destination");
	const char	*reason = explain_jstr(d, "reason");
	size_t		 i;

	strbuf_addf(sb, "%s of ", dir);
	explain_render_ep(sb, ep);
	if (strcmp(reason, "not-container") == 0) {
		strbuf_addf(sb, ": untouched, the %s is not a container\n",
		    explain_jstr(ep, "kind"));
		return;
	}
	if (strcmp(reason, "not-selected") == 0) {
		strbuf_addstr(sb, ": untouched, no policy selects it\n");
		return;
	}
	strbuf_addstr(sb, ":\n");
	json_array_foreach(json_object_get(d, "policies"), i, pol)
		explain_render_policy(sb, pol);
	if (strcmp(reason, "audit-only") == 0)
		strbuf_addstr(sb, "  => allowed: only audit policies select "
		    "it\n");
	else if (strcmp(reason, "default-deny") == 0)
		strbuf_addf(sb, "  => DENIED: no rule allows it (default deny, "
		    "logged as policy %s, %s)\n", explain_jstr(d, "policy"),
		    explain_jstr(d, "location"));
	else
		strbuf_addf(sb, "  => %s by policy %s rule #%lld (%s)\n",
		    json_is_true(json_object_get(d, "allowed")) ? "allowed" :
		    "DENIED", explain_jstr(d, "policy"),
		    json_integer_value(json_object_get(d, "rule")),
		    explain_jstr(d, "location"));
}

/* "egress: untouched", "ingress: db-from-api #0". */
static void
explain_render_by(struct strbuf *sb, json_t *d)
{
	const char	*reason = explain_jstr(d, "reason");

	strbuf_addf(sb, "%s: ", explain_jstr(d, "direction"));
	if (strcmp(reason, "rule") == 0)
		strbuf_addf(sb, "%s #%lld", explain_jstr(d, "policy"),
		    json_integer_value(json_object_get(d, "rule")));
	else if (strcmp(reason, "audit-only") == 0)
		strbuf_addstr(sb, "audit only");
	else
		strbuf_addstr(sb, "untouched");
}

static void
explain_render_verdict(struct strbuf *sb, json_t *ans)
{
	const char	*verdict = explain_jstr(ans, "verdict");
	json_t		*by = json_object_get(ans, "denied_by"), *w;
	const char	*dir;

	if (strcmp(verdict, "quarantined") == 0) {
		w = json_object_get(ans, "quarantine");
		strbuf_addf(sb, "verdict: DENIED by the quarantine of %s (%s): "
		    "it comes before every policy\n", explain_jstr(w,
		    "container"), explain_jstr(w, "reason"));
	} else if (strcmp(verdict, "denied") == 0) {
		dir = explain_jstr(by, "direction");
		strbuf_addf(sb, "verdict: DENIED by policy %s (%s of %s, ",
		    explain_jstr(by, "policy"), dir, explain_jstr(
		    json_object_get(ans, strcmp(dir, "egress") == 0 ?
		    "source" : "destination"), "name"));
		if (json_object_get(by, "rule"))
			strbuf_addf(sb, "rule #%lld at %s)\n",
			    json_integer_value(json_object_get(by, "rule")),
			    explain_jstr(by, "location"));
		else
			strbuf_addstr(sb, "default deny: no rule allows "
			    "it)\n");
	} else if (strcmp(verdict, "audit-would-deny") == 0) {
		w = json_array_get(json_object_get(ans, "would_deny"), 0);
		strbuf_addf(sb, "verdict: allowed, but audit policy %s would "
		    "deny it (%s, %s)\n", explain_jstr(w, "policy"),
		    explain_jstr(w, "direction"), explain_jstr(w, "location"));
	} else if (strcmp(verdict, "untouched") == 0)
		strbuf_addstr(sb, "verdict: allowed (untouched: no policy "
		    "applies to either side)\n");
	else {
		strbuf_addstr(sb, "verdict: allowed (");
		explain_render_by(sb, json_object_get(ans, "egress"));
		strbuf_addstr(sb, "; ");
		explain_render_by(sb, json_object_get(ans, "ingress"));
		strbuf_addstr(sb, ")\n");
	}
}

void
explain_render(json_t *ans, struct strbuf *sb)
{
	explain_render_flow(sb, ans);
	explain_render_dir(sb, ans, "egress");
	explain_render_dir(sb, ans, "ingress");
	explain_render_verdict(sb, ans);
}
