/*
 * audit.c: `bulkhead audit`, what escapes segmentation on this host, as
 * findings built from the inventory, the policies and the host's facts
 * (audit.h).  Each finding says how bad it is, what it is about, why in
 * one line, and what to do.  A quarantined container's open ports are
 * only info (its traffic is cut).  Published ports are judged by the evaluator:
 * the question is "may the world (or the host, for a loopback binding)
 * open this port?", answered as bulkhead's own rules would.  Pure.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit.h"
#include "evaluate.h"
#include "inventory.h"
#include "log.h"
#include "policy.h"
#include "quarantine.h"
#include "util.h"

enum audit_sev { SEV_HIGH, SEV_MEDIUM, SEV_INFO, SEV_N };

static const char *const sev_names[SEV_N] = { "high", "medium", "info" };

/* Addresses that stand for "the world" in the evaluator (RFC 5737, 3849). */
#define WORLD_V4	"192.0.2.1"
#define WORLD_V6	"2001:db8::1"

struct audit {
	const struct policy_set	*ps;
	const struct inventory	*inv;
	const struct quarantine	*q;		/* NULL: none */
	const struct audit_host	*h;
	json_t			*found[SEV_N];	/* findings by severity */
};

/* ---- host facts ---- */

void
audit_host_init(struct audit_host *h)
{
	memset(h, 0, sizeof(*h));
	h->br_netfilter = h->nf_call_iptables = h->nf_call_ip6tables = -1;
}

void
audit_host_release(struct audit_host *h)
{
	free(h->bridges);
	h->bridges = NULL;
	h->nbridges = 0;
}

void
audit_host_add_bridge(struct audit_host *h, const char *name, int nports)
{
	struct audit_bridge	*b;

	h->bridges = xreallocarray(h->bridges, h->nbridges + 1,
	    sizeof(*h->bridges));
	b = &h->bridges[h->nbridges++];
	memset(b, 0, sizeof(*b));
	strlcpy_bh(b->name, name, sizeof(b->name));
	utf8_scrub(b->name);	/* the kernel allows any byte in a name */
	b->nports = nports;
}

void
audit_host_docker_bridge(struct audit_host *h, const char *name)
{
	size_t	i;

	for (i = 0; i < h->nbridges; i++)
		if (strcmp(h->bridges[i].name, name) == 0)
			h->bridges[i].docker = 1;
}

/* A sysctl holding 0 or 1: its value, 0 when absent (ENOENT), else -1. */
static int
audit_read_flag(const char *path, int *absent)
{
	FILE	*f = fopen(path, "r");
	int	 v = -1, c;

	*absent = 0;
	if (f == NULL) {
		*absent = errno == ENOENT;
		return -1;
	}
	c = fgetc(f);
	if (c == '0' || c == '1')
		v = c - '0';
	fclose(f);
	return v;
}

void
audit_read_brnf(struct audit_host *h, const char *procroot)
{
	char	*p4 = xasprintf("%s/sys/net/bridge/bridge-nf-call-iptables",
		    procroot);
	char	*p6 = xasprintf("%s/sys/net/bridge/bridge-nf-call-ip6tables",
		    procroot);
	int	 absent4, absent6;

	h->nf_call_iptables = audit_read_flag(p4, &absent4);
	h->nf_call_ip6tables = audit_read_flag(p6, &absent6);
	if (absent4 && absent6)
		h->br_netfilter = 0;
	else if (h->nf_call_iptables >= 0 || h->nf_call_ip6tables >= 0)
		h->br_netfilter = 1;
	else
		h->br_netfilter = -1;
	free(p4);
	free(p6);
}

/* ---- findings ---- */

/* Adds a finding; the caller may add fields to the object returned. */
static json_t *
audit_add(struct audit *a, enum audit_sev sev, const char *kind,
    const char *object, const char *fix, const char *fmt, ...)
{
	json_t	*o;
	va_list	 ap;
	char	*text;

	va_start(ap, fmt);
	if (vasprintf(&text, fmt, ap) == -1)
		fatalx("vasprintf");
	va_end(ap);
	utf8_scrub(text);
	o = json_pack("{s:s, s:s, s:s, s:s, s:s}", "severity", sev_names[sev],
	    "kind", kind, "object", object, "explanation", text, "fix", fix);
	free(text);
	if (o == NULL)
		fatalx("audit: json_pack failed");
	json_array_append_new(a->found[sev], o);
	return o;
}

static int
audit_quarantined(const struct audit *a, const struct container *ct)
{
	return a->q != NULL && quarantine_find(a->q, ct->id) != NULL;
}

/* A finding about container ct: its name is the object. */
static json_t *
audit_add_ct(struct audit *a, enum audit_sev sev, const char *kind,
    const struct container *ct, const char *fix, const char *text)
{
	json_t	*o;

	if (audit_quarantined(a, ct))
		o = audit_add(a, sev, kind, ct->name, fix, "%s (quarantined)",
		    text);
	else
		o = audit_add(a, sev, kind, ct->name, fix, "%s", text);
	json_object_set_new(o, "container", json_string(ct->name));
	json_object_set_new(o, "id", json_string(ct->id));
	if (audit_quarantined(a, ct))
		json_object_set_new(o, "quarantined", json_true());
	return o;
}

/* ---- containers ---- */

static int
audit_has_bridge(const struct container *ct)
{
	size_t	i;

	for (i = 0; i < ct->neps; i++)
		if (ct->eps[i].bridge[0])
			return 1;
	return 0;
}

static void
audit_shared_netns(struct audit *a, const struct container *ct,
    const char *owner_id)
{
	const struct container	*owner = inventory_get(a->inv, owner_id);
	char			*text;

	if (owner != NULL && owner->network_mode &&
	    strcmp(owner->network_mode, "host") == 0) {
		text = xasprintf("shares the network namespace of %s, which "
		    "is the host's: bulkhead cannot filter its traffic",
		    owner->name);
		audit_add_ct(a, SEV_HIGH, "shared-netns", ct, "give it a "
		    "bridge network of its own", text);
	} else {
		text = xasprintf("shares the network namespace of %s: its "
		    "traffic is that container's, under that container's "
		    "policies; policies selecting its own labels do not apply",
		    owner ? owner->name : owner_id);
		audit_add_ct(a, SEV_MEDIUM, "shared-netns", ct, "give it a "
		    "network of its own, or write the policy for the "
		    "container whose namespace it uses", text);
	}
	free(text);
}

/* Containers without a veth of their own: what segmentation misses. */
static void
audit_netns(struct audit *a, const struct container *ct)
{
	const char	*mode = ct->network_mode ? ct->network_mode : "";

	if (strcmp(mode, "host") == 0)
		audit_add_ct(a, SEV_HIGH, "host-network", ct, "run it on a "
		    "bridge network (no --network host) so bulkhead can "
		    "segment it, or treat it as part of the host's firewall",
		    audit_quarantined(a, ct) ? "uses the host's network "
		    "namespace (--network host): it has no veth, bulkhead "
		    "cannot filter its traffic and its quarantine has no "
		    "effect; stop it instead" : "uses the host's network "
		    "namespace (--network host): it has no veth, bulkhead "
		    "cannot filter its traffic");
	else if (strncmp(mode, "container:", 10) == 0)
		audit_shared_netns(a, ct, mode + 10);
	else if (ct->neps > 0 && !audit_has_bridge(ct))
		audit_add_ct(a, SEV_HIGH, "non-bridge-network", ct, "attach "
		    "it to a bridge network instead", "attached only to "
		    "non-bridge networks (macvlan, ipvlan, overlay): no host "
		    "veth, bulkhead cannot filter its traffic");
}

static void
audit_privileges(struct audit *a, const struct container *ct)
{
	if (ct->privileged) {
		audit_add_ct(a, SEV_HIGH, "privileged", ct, "drop "
		    "--privileged; add only the capabilities it needs",
		    "privileged: holds every capability and the host's "
		    "devices, so it can escape to the host and change its "
		    "firewall, bulkhead's tables included");
		return;		/* it has NET_ADMIN and NET_RAW too */
	}
	if (ct->cap_add & CT_CAP_NET_ADMIN)
		audit_add_ct(a, SEV_HIGH, "cap-net-admin", ct, "remove "
		    "--cap-add NET_ADMIN (or ALL) unless it must manage its "
		    "own network", "has NET_ADMIN: can change its own "
		    "addresses, routes and firewall (bulkhead's port guard "
		    "drops what it sends from addresses not its own)");
	if (ct->cap_add & CT_CAP_NET_RAW)
		audit_add_ct(a, SEV_MEDIUM, "cap-net-raw", ct, "remove "
		    "--cap-add NET_RAW (or ALL); --cap-drop NET_RAW when it "
		    "needs no raw sockets", "granted NET_RAW explicitly: can "
		    "forge packets with raw sockets (bulkhead's port guard "
		    "drops frames whose MAC or IP are not its own)");
}

static int
audit_is_loopback(const char *ip)
{
	struct in_addr	a4;
	struct in6_addr	a6;

	if (inet_pton(AF_INET, ip, &a4) == 1)
		return (ntohl(a4.s_addr) >> 24) == 127;
	return inet_pton(AF_INET6, ip, &a6) == 1 && IN6_IS_ADDR_LOOPBACK(&a6);
}

/*
 * "world -> ct:port/proto" (or "host -> ..." for a loopback binding).  The
 * world reaches the container through Docker's DNAT, so its connection's
 * original destination port (hostPorts) is the host port; the host's goes
 * through docker-proxy, which connects to the container port itself.
 */
static void
audit_port_eval(const struct audit *a, const struct container *ct,
    const struct published_port *pp, int loopback, struct eval_result *res)
{
	struct eval_flow	f;
	struct in_addr		w4;
	struct in6_addr		w6;

	evaluate_flow_init(&f);
	f.protocol = pp->protocol;
	f.dport = pp->port;
	if (!loopback && pp->host_port > 0)
		f.orig_dport = pp->host_port;
	evaluate_endpoint_container(&f.dst, ct);
	if (loopback) {
		f.src.kind = EVAL_HOST;
		f.src.name = "host";
	} else {
		f.src.name = "world";
		inet_pton(AF_INET, WORLD_V4, &w4);
		inet_pton(AF_INET6, WORLD_V6, &w6);
		evaluate_endpoint_add_addr(&f.src, AF_INET, &w4);
		evaluate_endpoint_add_addr(&f.src, AF_INET6, &w6);
	}
	evaluate_flow(a->ps, &f, res);
	evaluate_flow_release(&f);
}

static const char *
audit_proto(int proto)
{
	return proto == IPPROTO_TCP ? "tcp" : proto == IPPROTO_UDP ? "udp" :
	    proto == IPPROTO_SCTP ? "sctp" : "?";
}

/* Where pp is bound on the host, as "0.0.0.0:8080". */
static char *
audit_binding(const struct published_port *pp)
{
	const char	*ip = pp->host_ip[0] ? pp->host_ip : "*";

	if (strchr(ip, ':'))
		return xasprintf("[%s]:%d", ip, pp->host_port);
	return xasprintf("%s:%d", ip, pp->host_port);
}

static void
audit_port_finding(struct audit *a, const struct container *ct,
    const struct published_port *pp, int loopback,
    const struct eval_verdict *v)
{
	const char	*who = loopback ? "the host" : "anyone who reaches the "
			    "host";
	char		*port = xasprintf("%d/%s", pp->port,
			    audit_proto(pp->protocol));
	char		*bind = audit_binding(pp), *text;
	json_t		*o;
	enum audit_sev	 sev;

	if (v->reason == EVAL_RULE) {
		const struct rule *r = &v->policy->rules[v->dir][v->rule];

		sev = loopback || audit_quarantined(a, ct) ? SEV_INFO :
		    SEV_MEDIUM;
		text = xasprintf("publishes %s on %s and policy %s ingress "
		    "rule %d (%s:%d) allows %s to it", port, bind,
		    v->policy->name, v->rule, r->loc.file ? r->loc.file : "?",
		    r->loc.line, loopback ? "the host" : "the world");
		o = audit_add_ct(a, sev, "published-port-open", ct, "if not "
		    "intended, narrow the rule's source (selector, nets) to "
		    "the clients it serves", text);
		json_object_set_new(o, "policy", json_string(v->policy->name));
		json_object_set_new(o, "rule", json_integer(v->rule));
	} else {
		sev = audit_quarantined(a, ct) ? SEV_INFO : loopback ?
		    SEV_MEDIUM : SEV_HIGH;
		text = xasprintf("publishes %s on %s and no policy restricts "
		    "its ingress (%s): %s can open it", port, bind,
		    v->reason == EVAL_AUDIT_ONLY ? "only audit policies "
		    "select it" : "no policy selects it", who);
		o = audit_add_ct(a, sev, "published-port-open", ct, loopback ?
		    "write an ingress policy selecting it that allows only "
		    "the sources it serves" : "write an ingress policy "
		    "selecting it that allows only the sources it serves, or "
		    "publish on 127.0.0.1 only", text);
	}
	json_object_set_new(o, "port", json_string(port));
	json_object_set_new(o, "binding", json_string(bind));
	free(text);
	free(bind);
	free(port);
}

/*
 * 1 when an earlier entry of ports[0..i) with pp's protocol, port and
 * loopback-ness is open by the same decision v (then it was reported):
 * Docker lists a port once per address family, with host ports that may
 * differ, and only hostPorts can tell those apart.
 */
static int
audit_port_seen(const struct audit *a, const struct container *ct, size_t i,
    const struct eval_verdict *v)
{
	const struct published_port	*pp = &ct->ports[i];
	struct eval_result		 res;
	const struct eval_verdict	*w = &res.v[POL_INGRESS];
	size_t				 j;
	int				 lo = audit_is_loopback(pp->host_ip);
	int				 same = 0;

	for (j = 0; j < i && !same; j++) {
		if (ct->ports[j].protocol != pp->protocol ||
		    ct->ports[j].port != pp->port ||
		    audit_is_loopback(ct->ports[j].host_ip) != lo)
			continue;
		audit_port_eval(a, ct, &ct->ports[j], lo, &res);
		same = w->allowed && w->reason == v->reason &&
		    w->policy == v->policy && w->rule == v->rule;
		evaluate_result_release(&res);
	}
	return same;
}

/* Published ports that the evaluator says are open. */
static void
audit_ports(struct audit *a, const struct container *ct)
{
	struct eval_result	res;
	size_t			i;
	int			lo;

	if (!audit_has_bridge(ct))
		return;		/* no veth: already reported, no policy applies */
	for (i = 0; i < ct->nports; i++) {
		lo = audit_is_loopback(ct->ports[i].host_ip);
		audit_port_eval(a, ct, &ct->ports[i], lo, &res);
		if (res.v[POL_INGRESS].allowed &&
		    !audit_port_seen(a, ct, i, &res.v[POL_INGRESS]))
			audit_port_finding(a, ct, &ct->ports[i], lo,
			    &res.v[POL_INGRESS]);
		evaluate_result_release(&res);
	}
}

/* ---- the host ---- */

static int
audit_bridge_containers(const struct audit *a, const char *bridge)
{
	const struct container	*ct;
	size_t			 i;
	int			 n = 0;

	TAILQ_FOREACH(ct, &a->inv->containers, entry)
		for (i = 0; i < ct->neps; i++)
			if (strcmp(ct->eps[i].bridge, bridge) == 0) {
				n++;
				break;
			}
	return n;
}

static void
audit_bridges(struct audit *a)
{
	const struct audit_bridge	*b;
	size_t				 i;

	if (!a->h->bridges_listed) {
		audit_add(a, SEV_MEDIUM, "unmanaged-bridge", "host", "see "
		    "bulkheadd's log", "the host's bridges could not be "
		    "listed");
		return;
	}
	for (i = 0; i < a->h->nbridges; i++) {
		b = &a->h->bridges[i];
		if (b->docker || audit_bridge_containers(a, b->name) > 0)
			continue;
		audit_add(a, b->nports ? SEV_MEDIUM : SEV_INFO,
		    "unmanaged-bridge", b->name, "attach what must be "
		    "segmented to Docker networks, or filter this bridge "
		    "yourself", "bridge %s is %s and has %d interface%s "
		    "attached: bulkhead does not filter traffic on it",
		    b->name, a->h->docker_listed ? "no Docker network's" :
		    "not known to hold containers (Docker's networks could "
		    "not be listed)", b->nports, b->nports == 1 ? "" : "s");
	}
}

static void
audit_brnf(struct audit *a)
{
	const struct audit_host	*h = a->h;
	static const char	 fix[] = "modprobe br_netfilter; sysctl -w "
				    "net.bridge.bridge-nf-call-iptables=1 "
				    "net.bridge.bridge-nf-call-ip6tables=1 "
				    "(persist in /etc/modules-load.d and "
				    "/etc/sysctl.d)";

	if (h->br_netfilter == 0)
		audit_add(a, SEV_HIGH, "br-netfilter", "host", fix,
		    "br_netfilter is not loaded: traffic between containers "
		    "on the same bridge never reaches bulkhead's inet chains "
		    "and is not filtered");
	else if (h->nf_call_iptables == 0)
		audit_add(a, SEV_HIGH, "br-netfilter", "host", fix,
		    "net.bridge.bridge-nf-call-iptables is 0: IPv4 traffic "
		    "between containers on the same bridge is not filtered");
	else if (h->nf_call_iptables < 0 || h->br_netfilter < 0)
		audit_add(a, SEV_MEDIUM, "br-netfilter", "host", fix,
		    "br_netfilter's state could not be read from /proc");
	if (h->br_netfilter == 1 && h->nf_call_ip6tables == 0)
		audit_add(a, SEV_MEDIUM, "br-netfilter", "host", fix,
		    "net.bridge.bridge-nf-call-ip6tables is 0: IPv6 traffic "
		    "between containers on the same bridge is not filtered");
	if (h->br_netfilter == 1 && h->nf_call_iptables == 1 &&
	    h->nf_call_ip6tables == 1)
		audit_add(a, SEV_INFO, "br-netfilter", "host", "nothing",
		    "br_netfilter is loaded with bridge-nf-call-iptables=1 and "
		    "bridge-nf-call-ip6tables=1: same-bridge traffic is "
		    "filtered");
}

static void
audit_backend(struct audit *a)
{
	const struct audit_host	*h = a->h;
	const char		*be = h->firewall_backend;

	if (!h->docker_answered)
		audit_add(a, SEV_MEDIUM, "firewall-backend", "docker",
		    "check that the engine runs and bulkheadd can reach it",
		    "the Docker engine did not answer GET /info: its firewall "
		    "backend is unknown");
	else if (be[0] == '\0')
		audit_add(a, SEV_INFO, "firewall-backend", "docker", "nothing",
		    "engine %s does not report its firewall backend (API "
		    "before 1.48): unknown; engines before 28 have only "
		    "iptables, which bulkhead coexists with",
		    h->docker_version[0] ? h->docker_version : "(unknown)");
	else if (strcmp(be, "iptables") == 0 || strcmp(be, "nftables") == 0)
		audit_add(a, SEV_INFO, "firewall-backend", "docker", "nothing",
		    "Docker's firewall backend is %s, as bulkhead expects: "
		    "bulkhead's tables are its own and its drops are final "
		    "whatever Docker accepts", be);
	else if (strstr(be, "firewalld") != NULL)
		audit_add(a, SEV_MEDIUM, "firewall-backend", "docker",
		    "after firewall-cmd --reload, check bulkhead status (drift "
		    "repairs) and bulkhead plan --diff", "Docker's firewall "
		    "backend is %s: firewalld also programs the host's "
		    "firewall; bulkhead is not tested with it", be);
	else
		audit_add(a, SEV_MEDIUM, "firewall-backend", "docker",
		    "run Docker with the iptables or nftables backend",
		    "Docker's firewall backend is %s, not iptables or "
		    "nftables as bulkhead expects", be);
}

/* ---- the report ---- */

static json_t *
audit_tristate(int v, int as_bool)
{
	if (v < 0)
		return json_null();
	return as_bool ? json_boolean(v) : json_integer(v);
}

static json_t *
audit_host_json(const struct audit *a)
{
	const struct audit_host	*h = a->h;
	json_t			*o = json_object(), *bs = json_array();
	size_t			 i;

	json_object_set_new(o, "br_netfilter", audit_tristate(h->br_netfilter,
	    1));
	json_object_set_new(o, "bridge_nf_call_iptables",
	    audit_tristate(h->nf_call_iptables, 0));
	json_object_set_new(o, "bridge_nf_call_ip6tables",
	    audit_tristate(h->nf_call_ip6tables, 0));
	json_object_set_new(o, "docker_version", h->docker_version[0] ?
	    json_string(h->docker_version) : json_null());
	json_object_set_new(o, "firewall_backend", h->firewall_backend[0] ?
	    json_string(h->firewall_backend) : json_null());
	for (i = 0; i < h->nbridges; i++)
		json_array_append_new(bs, json_pack("{s:s, s:i, s:b, s:i}",
		    "name", h->bridges[i].name, "ports", h->bridges[i].nports,
		    "docker", h->bridges[i].docker, "containers",
		    audit_bridge_containers(a, h->bridges[i].name)));
	json_object_set_new(o, "bridges", bs);
	return o;
}

json_t *
audit_report(const struct policy_set *ps, const struct inventory *inv,
    const struct quarantine *q, const struct audit_host *h)
{
	struct audit		 a = { ps, inv, q, h, { NULL, NULL, NULL } };
	const struct container	*ct;
	json_t			*o, *all = json_array(), *sum = json_object();
	int			 i;

	for (i = 0; i < SEV_N; i++)
		a.found[i] = json_array();
	TAILQ_FOREACH(ct, &inv->containers, entry) {
		audit_netns(&a, ct);
		audit_privileges(&a, ct);
		audit_ports(&a, ct);
	}
	audit_bridges(&a);
	audit_brnf(&a);
	audit_backend(&a);
	for (i = 0; i < SEV_N; i++) {
		json_object_set_new(sum, sev_names[i],
		    json_integer((json_int_t)json_array_size(a.found[i])));
		json_array_extend(all, a.found[i]);
		json_decref(a.found[i]);
	}
	o = json_object();
	json_object_set_new(o, "ok", json_true());
	json_object_set_new(o, "summary", sum);
	json_object_set_new(o, "containers", json_integer((json_int_t)inv->n));
	json_object_set_new(o, "host", audit_host_json(&a));
	json_object_set_new(o, "findings", all);
	return o;
}

int
audit_has_high(json_t *answer)
{
	return json_integer_value(json_object_get(json_object_get(answer,
	    "summary"), "high")) > 0;
}

static const char *
audit_str(json_t *o, const char *key)
{
	const char	*s = json_string_value(json_object_get(o, key));

	return s ? s : "";
}

void
audit_render(json_t *ans, struct strbuf *out)
{
	json_t	*sum = json_object_get(ans, "summary"), *f;
	size_t	 i;
	char	 sev[8];

	strbuf_addf(out, "audit: %lld high, %lld medium, %lld info "
	    "(%lld containers, %zu bridges)\n",
	    (long long)json_integer_value(json_object_get(sum, "high")),
	    (long long)json_integer_value(json_object_get(sum, "medium")),
	    (long long)json_integer_value(json_object_get(sum, "info")),
	    (long long)json_integer_value(json_object_get(ans, "containers")),
	    json_array_size(json_object_get(json_object_get(ans, "host"),
	    "bridges")));
	json_array_foreach(json_object_get(ans, "findings"), i, f) {
		size_t	j;

		strlcpy_bh(sev, audit_str(f, "severity"), sizeof(sev));
		for (j = 0; sev[j]; j++)
			sev[j] = (char)(sev[j] >= 'a' && sev[j] <= 'z' ?
			    sev[j] - 'a' + 'A' : sev[j]);
		strbuf_addf(out, "%-6s %-19s %s: %s\n", sev,
		    audit_str(f, "kind"), audit_str(f, "object"),
		    audit_str(f, "explanation"));
		if (strcmp(audit_str(f, "fix"), "nothing") != 0)
			strbuf_addf(out, "       fix: %s\n", audit_str(f, "fix"));
	}
}
