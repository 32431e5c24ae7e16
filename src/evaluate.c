/*
 * evaluate.c: the evaluator of the policy language (see evaluate.h for
 * the semantics).  Reads the policy_set built by policy.c and answers for
 * one flow; `bulkhead check/explain`, the daemon and the dataplane tests
 * call it, so the language means the same thing everywhere.  Pure.
 */
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include "evaluate.h"
#include "inventory.h"
#include "k8s.h"
#include "labels.h"
#include "policy.h"
#include "selector.h"
#include "util.h"

#define EVAL_NS_LABEL	"kubernetes.io/metadata.name"

/* ---- endpoints and flows ---- */

const char *
evaluate_namespace(const struct labelset *labels)
{
	const char	*ns;

	if (labels == NULL)
		return "default";
	if ((ns = labelset_get(labels, "bulkhead.namespace")) != NULL &&
	    *ns != '\0')
		return ns;
	if ((ns = labelset_get(labels, "com.docker.compose.project")) !=
	    NULL && *ns != '\0')
		return ns;
	return "default";
}

void
evaluate_ns_labels(const struct policy_set *ps, const char *ns,
    struct labelset *out)
{
	const struct pol_namespace	*decl = policy_set_namespace(ps, ns);

	if (decl != NULL)
		labelset_copy(out, &decl->labels);
	else
		labelset_init(out);
	/* Set last: the implicit label cannot be overridden by a typo. */
	labelset_set(out, EVAL_NS_LABEL, ns);
}

void
evaluate_endpoint_init(struct eval_endpoint *ep, enum eval_kind kind)
{
	memset(ep, 0, sizeof(*ep));
	ep->kind = kind;
}

void
evaluate_endpoint_release(struct eval_endpoint *ep)
{
	free(ep->addrs);
	ep->addrs = NULL;
	ep->naddrs = 0;
}

void
evaluate_endpoint_add_addr(struct eval_endpoint *ep, int family,
    const void *addr)
{
	struct eval_addr	*a;

	ep->addrs = xreallocarray(ep->addrs, ep->naddrs + 1,
	    sizeof(*ep->addrs));
	a = &ep->addrs[ep->naddrs++];
	memset(a, 0, sizeof(*a));
	a->family = family;
	if (family == AF_INET)
		memcpy(&a->addr.v4, addr, sizeof(a->addr.v4));
	else
		memcpy(&a->addr.v6, addr, sizeof(a->addr.v6));
}

void
evaluate_endpoint_container(struct eval_endpoint *ep,
    const struct container *ct)
{
	size_t	i;

	evaluate_endpoint_init(ep, EVAL_CONTAINER);
	ep->name = ct->name;
	ep->labels = &ct->labels;
	for (i = 0; i < ct->neps; i++)
		if (ct->eps[i].has_ip4)
			evaluate_endpoint_add_addr(ep, AF_INET,
			    &ct->eps[i].ip4);
	for (i = 0; i < ct->neps; i++)
		if (ct->eps[i].has_ip6)
			evaluate_endpoint_add_addr(ep, AF_INET6,
			    &ct->eps[i].ip6);
}

void
evaluate_flow_init(struct eval_flow *f)
{
	memset(f, 0, sizeof(*f));
	evaluate_endpoint_init(&f->src, EVAL_WORLD);
	evaluate_endpoint_init(&f->dst, EVAL_WORLD);
	f->sport = f->dport = f->orig_dport = -1;
	f->icmp_type = f->icmp_code = -1;
}

void
evaluate_flow_release(struct eval_flow *f)
{
	evaluate_endpoint_release(&f->src);
	evaluate_endpoint_release(&f->dst);
}

static const struct eval_addr *
evaluate_addr_of(const struct eval_endpoint *ep, int version)
{
	int	family = version == 6 ? AF_INET6 : AF_INET;
	size_t	i;

	for (i = 0; i < ep->naddrs; i++)
		if (ep->addrs[i].family == family)
			return &ep->addrs[i];
	return NULL;
}

/*
 * An unspecified IP version follows the addresses: IPv4 when both ends
 * can speak it (or nothing is known), else IPv6 when one end has only v6.
 */
static int
evaluate_pick_version(const struct eval_flow *f)
{
	const struct eval_endpoint	*ep[2] = { &f->src, &f->dst };
	int				 i;

	if (f->ip_version)
		return f->ip_version;
	if (f->protocol == IPPROTO_ICMPV6)
		return 6;
	for (i = 0; i < 2; i++)
		if (ep[i]->naddrs && !evaluate_addr_of(ep[i], 4))
			return 6;
	return 4;
}

/* ---- matching ---- */

int
evaluate_applies(const struct policy *p, const struct labelset *labels,
    const char *ns, enum pol_dir dir)
{
	static const struct labelset	none;

	if (!(p->types & (1u << dir)))
		return 0;
	if (p->namespace != NULL && strcmp(p->namespace, ns ? ns :
	    evaluate_namespace(labels)) != 0)
		return 0;
	return selector_match(p->selector, labels ? labels : &none);
}

int
evaluate_selects(const struct policy *p, const struct eval_endpoint *ep,
    enum pol_dir dir)
{
	if (ep->kind != EVAL_CONTAINER)
		return 0;
	return evaluate_applies(p, ep->labels, ep->ns, dir);
}

static int
evaluate_cidr_contains(const struct cidr *c, const struct eval_addr *a)
{
	const uint8_t	*net, *ad;
	int		 full, rest;

	if (c->family != a->family)
		return 0;
	net = c->family == AF_INET ? (const uint8_t *)&c->addr.v4 :
	    (const uint8_t *)&c->addr.v6;
	ad = a->family == AF_INET ? (const uint8_t *)&a->addr.v4 :
	    (const uint8_t *)&a->addr.v6;
	full = c->prefix / 8;
	rest = c->prefix % 8;
	if (memcmp(net, ad, (size_t)full) != 0)
		return 0;
	return rest == 0 ||
	    ((net[full] ^ ad[full]) & (uint8_t)(0xff << (8 - rest))) == 0;
}

static int
evaluate_in_nets(const struct cidr *v, size_t n, const struct eval_addr *a)
{
	size_t	i;

	for (i = 0; i < n; i++)
		if (evaluate_cidr_contains(&v[i], a))
			return 1;
	return 0;
}

static int
evaluate_in_ports(const struct port_range *v, size_t n, int port)
{
	size_t	i;

	for (i = 0; i < n; i++)
		if (port >= v[i].lo && port <= v[i].hi)
			return 1;
	return 0;
}

static int
evaluate_entity(enum pol_entity ent, const struct eval_endpoint *ep)
{
	switch (ent) {
	case POL_ENTITY_NONE:
	case POL_ENTITY_ANY:
		return 1;
	case POL_ENTITY_HOST:
		return ep->kind == EVAL_HOST;
	case POL_ENTITY_WORLD:
		return ep->kind == EVAL_WORLD;
	}
	return 0;
}

/* Label-based criteria: only containers have labels and namespaces. */
static enum eval_miss
evaluate_peer_labels(const struct policy_set *ps, const struct peer *p,
    const struct eval_endpoint *ep)
{
	static const struct labelset	none;
	struct labelset			nsl;
	const char			*ns;
	int				ok;

	if (p->selector && (ep->kind != EVAL_CONTAINER ||
	    !selector_match(p->selector, ep->labels ? ep->labels : &none)))
		return EVAL_MISS_SELECTOR;
	if (p->ns_selector == NULL)
		return EVAL_MISS_NONE;
	if (ep->kind != EVAL_CONTAINER)
		return EVAL_MISS_NS_SELECTOR;
	ns = ep->ns ? ep->ns : evaluate_namespace(ep->labels);
	evaluate_ns_labels(ps, ns, &nsl);
	ok = selector_match(p->ns_selector, &nsl);
	labelset_release(&nsl);
	return ok ? EVAL_MISS_NONE : EVAL_MISS_NS_SELECTOR;
}

/* A named port: the endpoint's own label names the flow's port. */
static int
evaluate_named_port(const struct peer *p, const struct eval_endpoint *ep,
    int proto, int port)
{
	if (p->port_name == NULL)
		return 1;
	if (ep->kind != EVAL_CONTAINER || port < 0)
		return 0;
	return k8s_named_port(ep->labels, p->port_name, proto) == port;
}

/* The ports of one side of a flow: port, and hport for hostPorts. */
struct eval_ports {
	int	port;
	int	hport;
};

static enum eval_miss
evaluate_peer(const struct policy_set *ps, const struct peer *p,
    const struct eval_endpoint *ep, int version, int proto,
    const struct eval_ports *pt)
{
	const struct eval_addr	*a = evaluate_addr_of(ep, version);
	int			 port = pt->port;

	if (!evaluate_entity(p->entity, ep))
		return EVAL_MISS_ENTITY;
	if (p->nnets && (a == NULL || !evaluate_in_nets(p->nets, p->nnets, a)))
		return EVAL_MISS_NETS;
	if (p->nnot_nets && (a == NULL ||
	    evaluate_in_nets(p->not_nets, p->nnot_nets, a)))
		return EVAL_MISS_NOT_NETS;
	if (p->nports && (port < 0 ||
	    !evaluate_in_ports(p->ports, p->nports, port)))
		return EVAL_MISS_PORTS;
	if (p->nnot_ports && (port < 0 ||
	    evaluate_in_ports(p->not_ports, p->nnot_ports, port)))
		return EVAL_MISS_NOT_PORTS;
	if (p->nhost_ports && (pt->hport < 0 ||
	    !evaluate_in_ports(p->host_ports, p->nhost_ports, pt->hport)))
		return EVAL_MISS_HOST_PORTS;
	if (!evaluate_named_port(p, ep, proto, port))
		return EVAL_MISS_NAMED_PORT;
	return evaluate_peer_labels(ps, p, ep);
}

/* The destination port before DNAT: orig_dport when known, else dport. */
static int
evaluate_orig_dport(const struct eval_flow *f)
{
	return f->orig_dport >= 0 ? f->orig_dport : f->dport;
}

enum eval_miss
evaluate_rule_miss(const struct policy_set *ps, const struct rule *r,
    const struct eval_flow *f, int *peer)
{
	int			version = evaluate_pick_version(f);
	struct eval_ports	sp = { f->sport, -1 };
	struct eval_ports	dp = { f->dport, evaluate_orig_dport(f) };
	enum eval_miss		m;

	*peer = -1;
	if (r->protocol && r->protocol != f->protocol)
		return EVAL_MISS_PROTOCOL;
	if (r->ip_version && r->ip_version != version)
		return EVAL_MISS_IP_VERSION;
	if ((r->protocol == IPPROTO_ICMP && version != 4) ||
	    (r->protocol == IPPROTO_ICMPV6 && version != 6))
		return EVAL_MISS_IP_VERSION;
	if (r->icmp.type >= 0 && r->icmp.type != f->icmp_type)
		return EVAL_MISS_ICMP_TYPE;
	if (r->icmp.code >= 0 && r->icmp.code != f->icmp_code)
		return EVAL_MISS_ICMP_CODE;
	*peer = 0;
	if ((m = evaluate_peer(ps, &r->source, &f->src, version, f->protocol,
	    &sp)))
		return m;
	*peer = 1;
	if ((m = evaluate_peer(ps, &r->destination, &f->dst, version,
	    f->protocol, &dp)))
		return m;
	*peer = -1;
	return EVAL_MISS_NONE;
}

int
evaluate_rule_matches(const struct policy_set *ps, const struct rule *r,
    const struct eval_flow *f)
{
	int	peer;

	return evaluate_rule_miss(ps, r, f, &peer) == EVAL_MISS_NONE;
}

/* ---- one direction ---- */

static void
evaluate_step(struct eval_verdict *v, enum eval_event ev,
    const struct policy *p, int rule)
{
	v->steps = xreallocarray(v->steps, v->nsteps + 1, sizeof(*v->steps));
	v->steps[v->nsteps].event = ev;
	v->steps[v->nsteps].policy = p;
	v->steps[v->nsteps].rule = rule;
	v->nsteps++;
}

/*
 * Runs the rules of p for direction v->dir.  Returns 1 when an enforce
 * policy's rule decided (v filled), 0 to go on with the next policy.
 */
static int
evaluate_policy(const struct policy_set *ps, const struct policy *p,
    const struct eval_flow *f, struct eval_verdict *v)
{
	const struct rule	*r;
	size_t			 i;

	evaluate_step(v, EVAL_EV_POLICY, p, -1);
	for (i = 0; i < p->nrules[v->dir]; i++) {
		r = &p->rules[v->dir][i];
		if (!evaluate_rule_matches(ps, r, f))
			continue;
		if (r->action == POL_LOG || r->log)
			evaluate_step(v, EVAL_EV_LOG, p, (int)i);
		if (r->action == POL_LOG)
			continue;
		if (p->mode == POL_AUDIT) {
			evaluate_step(v, r->action == POL_ALLOW ?
			    EVAL_EV_AUDIT_ALLOW : EVAL_EV_WOULD_DENY, p, (int)i);
			return 0;
		}
		v->allowed = r->action == POL_ALLOW;
		v->reason = EVAL_RULE;
		v->policy = p;
		v->rule = (int)i;
		v->action = r->action;
		return 1;
	}
	if (p->mode == POL_AUDIT)
		evaluate_step(v, EVAL_EV_WOULD_DENY, p, -1);
	return 0;
}

static void
evaluate_dir(const struct policy_set *ps, const struct eval_flow *f,
    enum pol_dir dir, struct eval_verdict *v)
{
	const struct eval_endpoint	*ep = dir == POL_EGRESS ? &f->src :
	    &f->dst;
	const struct policy		*first_enforce = NULL;
	size_t				 i;
	int				 selected = 0;

	memset(v, 0, sizeof(*v));
	v->dir = dir;
	v->rule = -1;
	v->allowed = 1;
	v->reason = ep->kind == EVAL_CONTAINER ? EVAL_NOT_SELECTED :
	    EVAL_NOT_CONTAINER;
	for (i = 0; i < ps->n; i++) {
		const struct policy *p = ps->v[i];

		if (!evaluate_selects(p, ep, dir))
			continue;
		selected = 1;
		if (p->mode == POL_ENFORCE && first_enforce == NULL)
			first_enforce = p;
		if (evaluate_policy(ps, p, f, v))
			return;
	}
	if (first_enforce != NULL) {
		v->allowed = 0;
		v->reason = EVAL_DEFAULT_DENY;
		v->policy = first_enforce;
		v->action = POL_DENY;
	} else if (selected)
		v->reason = EVAL_AUDIT_ONLY;
}

void
evaluate_flow(const struct policy_set *ps, const struct eval_flow *f,
    struct eval_result *res)
{
	struct eval_flow	g = *f;	/* shallow: only the version changes */

	memset(res, 0, sizeof(*res));
	g.ip_version = evaluate_pick_version(f);
	res->ip_version = g.ip_version;
	evaluate_dir(ps, &g, POL_EGRESS, &res->v[POL_EGRESS]);
	evaluate_dir(ps, &g, POL_INGRESS, &res->v[POL_INGRESS]);
	res->allowed = res->v[POL_EGRESS].allowed &&
	    res->v[POL_INGRESS].allowed;
}

void
evaluate_result_release(struct eval_result *res)
{
	int	d;

	for (d = 0; d < POL_NDIRS; d++) {
		free(res->v[d].steps);
		res->v[d].steps = NULL;
		res->v[d].nsteps = 0;
	}
}

/* ---- text ---- */

static void
evaluate_render_endpoint(struct strbuf *sb, const struct eval_endpoint *ep,
    int version)
{
	const struct eval_addr	*a = evaluate_addr_of(ep, version);
	char			 buf[INET6_ADDRSTRLEN];

	if (ep->kind == EVAL_CONTAINER)
		strbuf_addf(sb, "container %s", ep->name ? ep->name : "?");
	else
		strbuf_addstr(sb, ep->kind == EVAL_HOST ? "host" : "world");
	if (a && inet_ntop(a->family, &a->addr, buf, sizeof(buf)))
		strbuf_addf(sb, " (%s)", buf);
}

static void
evaluate_render_flow(struct strbuf *sb, const struct eval_flow *f,
    int version)
{
	char	buf[16];

	strbuf_addstr(sb, "flow: ");
	evaluate_render_endpoint(sb, &f->src, version);
	strbuf_addstr(sb, " -> ");
	evaluate_render_endpoint(sb, &f->dst, version);
	strbuf_addf(sb, ", ipv%d", version);
	if (f->protocol)
		strbuf_addf(sb, " %s", pol_proto_str(f->protocol, buf,
		    sizeof(buf)));
	if (f->dport >= 0)
		strbuf_addf(sb, " port %d", f->dport);
	if (f->orig_dport >= 0 && f->orig_dport != f->dport)
		strbuf_addf(sb, " (host port %d)", f->orig_dport);
	if (f->icmp_type >= 0)
		strbuf_addf(sb, " type %d", f->icmp_type);
	if (f->icmp_code >= 0)
		strbuf_addf(sb, " code %d", f->icmp_code);
	strbuf_addstr(sb, "\n");
}

static void
evaluate_render_step(struct strbuf *sb, const struct eval_step *s,
    enum pol_dir dir)
{
	const struct policy	*p = s->policy;

	switch (s->event) {
	case EVAL_EV_POLICY:
		strbuf_addf(sb, "  policy %s (order %g, %s)\n", p->name,
		    p->order, p->mode == POL_AUDIT ? "audit" : "enforce");
		return;
	case EVAL_EV_LOG:
		strbuf_addf(sb, "    log: %s rule %d matched\n",
		    pol_dir_str(dir), s->rule);
		return;
	case EVAL_EV_AUDIT_ALLOW:
		strbuf_addf(sb, "    audit: %s rule %d allows\n",
		    pol_dir_str(dir), s->rule);
		return;
	case EVAL_EV_WOULD_DENY:
		if (s->rule < 0)
			strbuf_addf(sb, "    audit: would deny (no rule "
			    "matched)\n");
		else
			strbuf_addf(sb, "    audit: would deny by %s rule %d\n",
			    pol_dir_str(dir), s->rule);
		return;
	}
}

static void
evaluate_render_verdict(struct strbuf *sb, const struct eval_verdict *v)
{
	const char	*what = v->allowed ? "allowed" : "denied";

	switch (v->reason) {
	case EVAL_NOT_CONTAINER:
		strbuf_addf(sb, "  %s: not a container\n", what);
		break;
	case EVAL_NOT_SELECTED:
		strbuf_addf(sb, "  %s: no policy selects it\n", what);
		break;
	case EVAL_AUDIT_ONLY:
		strbuf_addf(sb, "  %s: only audit policies select it\n", what);
		break;
	case EVAL_RULE:
		strbuf_addf(sb, "  %s by policy %s %s rule %d (%s)\n", what,
		    v->policy->name, pol_dir_str(v->dir), v->rule,
		    pol_action_str(v->action));
		break;
	case EVAL_DEFAULT_DENY:
		strbuf_addf(sb, "  %s: selected and no rule allows it "
		    "(default deny of policy %s)\n", what, v->policy->name);
		break;
	}
}

void
evaluate_render(const struct eval_result *res, const struct eval_flow *f,
    struct strbuf *sb)
{
	static const enum pol_dir	 order[] = { POL_EGRESS, POL_INGRESS };
	const struct eval_verdict	*v;
	size_t				 i, j;

	evaluate_render_flow(sb, f, res->ip_version);
	for (i = 0; i < ARRAY_SIZE(order); i++) {
		v = &res->v[order[i]];
		strbuf_addf(sb, "%s of ", pol_dir_str(v->dir));
		evaluate_render_endpoint(sb, order[i] == POL_EGRESS ? &f->src :
		    &f->dst, res->ip_version);
		strbuf_addstr(sb, ":\n");
		for (j = 0; j < v->nsteps; j++)
			evaluate_render_step(sb, &v->steps[j], v->dir);
		evaluate_render_verdict(sb, v);
	}
	strbuf_addf(sb, "verdict: %s\n", res->allowed ? "allowed" : "denied");
}
