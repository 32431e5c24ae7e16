/*
 * probeplan.c: the probes of `bulkhead verify` and their promised
 * verdicts (see probeplan.h).  Candidates are enumerated (or, with many
 * containers, drawn), a seeded sample is taken, and explain_answer gives
 * each sampled probe its verdict and the rule that decides it.  Pure.
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
#include "policy.h"
#include "probeplan.h"
#include "util.h"

#define PP_MAX_PORTS	32	/* per pair, the unmentioned port included */

struct pp_pair {
	const struct container	*src;
	const struct container	*dst;
	const struct endpoint	*sep;	/* on the network they share */
	const struct endpoint	*dep;
};

struct pp_cand {
	size_t	pair;
	int	family;		/* AF_INET or AF_INET6 */
	int	proto;		/* IPPROTO_TCP, IPPROTO_ICMP or IPPROTO_ICMPV6 */
	int	port;		/* TCP: destination port */
};

struct pp {
	const struct policy_set		 *ps;
	const struct inventory		 *inv;
	const struct quarantine		 *q;
	const struct probeplan_opts	 *o;
	const struct container		**elig;
	size_t				  nelig;
	const struct container		 *from;	/* NULL: any */
	const struct container		 *to;
	struct pp_pair			 *pairs;
	size_t				  npairs;
	struct pp_cand			 *cands;
	size_t				  ncands;
	uint64_t			  rng;
	int				  free_port;
};

void
probeplan_opts_init(struct probeplan_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->sample = 50;
	o->icmp = 1;
}

uint64_t
probeplan_rand(uint64_t *s)
{
	uint64_t	z = (*s += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* ---- who can be probed ---- */

/* 1 when ep can carry a probe: a bridge, a veth and an address. */
static int
pp_ep_ok(const struct endpoint *ep)
{
	return ep->bridge[0] && ep->veth[0] && (ep->has_ip4 || ep->has_ip6);
}

static int
pp_eligible(const struct container *ct)
{
	const char	*mode = ct->network_mode ? ct->network_mode : "";
	size_t		 i;

	if (!ct->running || (ct->pid <= 0 && ct->sandbox_key == NULL))
		return 0;
	if (strcmp(mode, "host") == 0 || strcmp(mode, "none") == 0 ||
	    strncmp(mode, "container:", 10) == 0)
		return 0;
	for (i = 0; i < ct->neps; i++)
		if (pp_ep_ok(&ct->eps[i]))
			return 1;
	return 0;
}

static int
pp_same_net(const struct endpoint *a, const struct endpoint *b)
{
	if (a->network_id[0] && b->network_id[0])
		return strcmp(a->network_id, b->network_id) == 0;
	return a->network_name[0] &&
	    strcmp(a->network_name, b->network_name) == 0;
}

/* The first network a and b share (Docker drops between networks). */
static int
pp_shared(const struct container *a, const struct container *b,
    struct pp_pair *pr)
{
	size_t	i, j;

	for (i = 0; i < a->neps; i++)
		for (j = 0; j < b->neps; j++)
			if (pp_ep_ok(&a->eps[i]) && pp_ep_ok(&b->eps[j]) &&
			    pp_same_net(&a->eps[i], &b->eps[j])) {
				pr->src = a;
				pr->dst = b;
				pr->sep = &a->eps[i];
				pr->dep = &b->eps[j];
				return 1;
			}
	return 0;
}

static void
pp_pair_add(struct pp *pp, const struct pp_pair *pr)
{
	pp->pairs = xreallocarray(pp->pairs, pp->npairs + 1,
	    sizeof(*pp->pairs));
	pp->pairs[pp->npairs++] = *pr;
}

static void
pp_pairs_enum(struct pp *pp)
{
	struct pp_pair	pr;
	size_t		i, j;

	for (i = 0; i < pp->nelig; i++) {
		if (pp->from && pp->elig[i] != pp->from)
			continue;
		for (j = 0; j < pp->nelig; j++)
			if (i != j && (!pp->to || pp->elig[j] == pp->to) &&
			    pp_shared(pp->elig[i], pp->elig[j], &pr))
				pp_pair_add(pp, &pr);
	}
}

static int
pp_pair_known(const struct pp *pp, const struct pp_pair *pr)
{
	size_t	i;

	for (i = 0; i < pp->npairs; i++)
		if (pp->pairs[i].src == pr->src && pp->pairs[i].dst == pr->dst)
			return 1;
	return 0;
}

/* Many containers: as many distinct pairs as the sample, drawn. */
static void
pp_pairs_draw(struct pp *pp)
{
	struct pp_pair	pr;
	size_t		tries, a, b;

	for (tries = 0; tries < pp->o->sample * 16 &&
	    pp->npairs < pp->o->sample; tries++) {
		a = probeplan_rand(&pp->rng) % pp->nelig;
		b = probeplan_rand(&pp->rng) % pp->nelig;
		if (a != b && pp_shared(pp->elig[a], pp->elig[b], &pr) &&
		    !pp_pair_known(pp, &pr))
			pp_pair_add(pp, &pr);
	}
}

/* ---- which ports ---- */

static void
pp_port_add(int *v, size_t *n, int port)
{
	size_t	i;

	if (port <= 0 || port > 65535 || *n >= PP_MAX_PORTS)
		return;
	for (i = 0; i < *n; i++)
		if (v[i] == port)
			return;
	v[(*n)++] = port;
}

static void
pp_ranges_add(int *v, size_t *n, const struct port_range *r, size_t nr)
{
	size_t	i;

	for (i = 0; i < nr; i++) {
		pp_port_add(v, n, r[i].lo);
		pp_port_add(v, n, r[i].hi);
	}
}

/* The TCP destination ports the rules of p for dir mention. */
static void
pp_policy_ports(const struct policy *p, enum pol_dir dir,
    const struct container *dst, int *v, size_t *n)
{
	const struct rule	*r;
	int			 named;
	size_t			 i;

	for (i = 0; i < p->nrules[dir]; i++) {
		r = &p->rules[dir][i];
		if (r->protocol != 0 && r->protocol != IPPROTO_TCP)
			continue;
		pp_ranges_add(v, n, r->destination.ports,
		    r->destination.nports);
		pp_ranges_add(v, n, r->destination.not_ports,
		    r->destination.nnot_ports);
		/* Probes are not translated: their host port is their port. */
		pp_ranges_add(v, n, r->destination.host_ports,
		    r->destination.nhost_ports);
		if (r->destination.port_name &&
		    (named = k8s_named_port(&dst->labels,
		    r->destination.port_name, IPPROTO_TCP)) > 0)
			pp_port_add(v, n, named);
	}
}

static int
pp_int_cmp(const void *a, const void *b)
{
	return *(const int *)a - *(const int *)b;
}

static size_t
pp_pair_ports(const struct pp *pp, const struct pp_pair *pr, int *v)
{
	size_t	i, n = 0;

	if (pp->free_port)
		pp_port_add(v, &n, pp->free_port);
	for (i = 0; i < pp->ps->n; i++) {
		if (evaluate_applies(pp->ps->v[i], &pr->src->labels, NULL,
		    POL_EGRESS))
			pp_policy_ports(pp->ps->v[i], POL_EGRESS, pr->dst, v,
			    &n);
		if (evaluate_applies(pp->ps->v[i], &pr->dst->labels, NULL,
		    POL_INGRESS))
			pp_policy_ports(pp->ps->v[i], POL_INGRESS, pr->dst, v,
			    &n);
	}
	qsort(v, n, sizeof(*v), pp_int_cmp);
	return n;
}

static int
pp_port_mentioned(const struct policy_set *ps, int port)
{
	const struct peer	*pe;
	const struct rule	*r;
	size_t			 i, j, k, d, s;

	for (i = 0; i < ps->n; i++)
		for (d = 0; d < POL_NDIRS; d++)
			for (j = 0; j < ps->v[i]->nrules[d]; j++) {
				r = &ps->v[i]->rules[d][j];
				for (s = 0; s < 2; s++) {
					pe = s ? &r->destination : &r->source;
					for (k = 0; k < pe->nports; k++)
						if (port >= pe->ports[k].lo &&
						    port <= pe->ports[k].hi)
							return 1;
					for (k = 0; k < pe->nnot_ports; k++)
						if (port >= pe->not_ports[k].lo &&
						    port <= pe->not_ports[k].hi)
							return 1;
					for (k = 0; k < pe->nhost_ports; k++)
						if (port >= pe->host_ports[k].lo &&
						    port <= pe->host_ports[k].hi)
							return 1;
				}
			}
	return 0;
}

int
probeplan_free_port(const struct policy_set *ps, uint64_t seed)
{
	const int	lo = 1024, span = 65536 - 1024;
	uint64_t	s = seed;
	int		i, port, start = lo + (int)(probeplan_rand(&s) % span);

	for (i = 0; i < span; i++) {
		port = lo + (start - lo + i) % span;
		if (!pp_port_mentioned(ps, port))
			return port;
	}
	return 0;
}

/* ---- candidates and the sample ---- */

static void
pp_cand_add(struct pp *pp, size_t pair, int family, int proto, int port)
{
	pp->cands = xreallocarray(pp->cands, pp->ncands + 1,
	    sizeof(*pp->cands));
	pp->cands[pp->ncands].pair = pair;
	pp->cands[pp->ncands].family = family;
	pp->cands[pp->ncands].proto = proto;
	pp->cands[pp->ncands].port = port;
	pp->ncands++;
}

/* Each port over TCP and an echo, in each family both ends have. */
static void
pp_cands(struct pp *pp)
{
	const struct pp_pair	*pr;
	int			 ports[PP_MAX_PORTS], fam;
	size_t			 i, j, n, f;

	for (i = 0; i < pp->npairs; i++) {
		pr = &pp->pairs[i];
		n = pp_pair_ports(pp, pr, ports);
		for (f = 0; f < 2; f++) {
			if (f == 0 ? !(pr->sep->has_ip4 && pr->dep->has_ip4) :
			    !(pr->sep->has_ip6 && pr->dep->has_ip6))
				continue;
			fam = f == 0 ? AF_INET : AF_INET6;
			for (j = 0; j < n; j++)
				pp_cand_add(pp, i, fam, IPPROTO_TCP, ports[j]);
			if (pp->o->icmp)
				pp_cand_add(pp, i, fam, f == 0 ? IPPROTO_ICMP :
				    IPPROTO_ICMPV6, -1);
		}
	}
}

static int
pp_cand_cmp(const void *a, const void *b)
{
	const struct pp_cand	*x = a, *y = b;

	if (x->pair != y->pair)
		return x->pair < y->pair ? -1 : 1;
	if (x->family != y->family)
		return x->family == AF_INET ? -1 : 1;
	if (x->proto != y->proto)
		return x->proto == IPPROTO_TCP ? -1 : 1;
	return x->port - y->port;
}

/* Keeps a seeded sample of o->sample candidates, in enumeration order. */
static void
pp_sample(struct pp *pp)
{
	struct pp_cand	tmp;
	size_t		i, j, k = pp->o->sample;

	if (k >= pp->ncands)
		return;
	for (i = 0; i < k; i++) {
		j = i + (size_t)(probeplan_rand(&pp->rng) % (pp->ncands - i));
		tmp = pp->cands[i];
		pp->cands[i] = pp->cands[j];
		pp->cands[j] = tmp;
	}
	pp->ncands = k;
	qsort(pp->cands, k, sizeof(*pp->cands), pp_cand_cmp);
}

/* ---- each probe's promise ---- */

static json_t *
pp_decider(json_t *d, const char *dir)
{
	json_t	*o = json_object(), *v;

	json_object_set_new(o, "direction", json_string(dir));
	if ((v = json_object_get(d, "policy")) != NULL)
		json_object_set(o, "policy", v);
	if ((v = json_object_get(d, "rule")) != NULL)
		json_object_set(o, "rule", v);
	if ((v = json_object_get(d, "location")) != NULL)
		json_object_set(o, "location", v);
	return o;
}

/*
 * What decided: a quarantine, else the denying rule, else each
 * direction's allowing rule.
 */
static json_t *
pp_decided_by(json_t *ans)
{
	static const char	*dirs[] = { "egress", "ingress" };
	json_t			*a = json_array(), *d;
	size_t			 i;

	if ((d = json_object_get(ans, "quarantine")) != NULL) {
		json_array_append_new(a, json_pack("{s:O, s:O}", "quarantine",
		    json_object_get(d, "container"), "reason",
		    json_object_get(d, "reason")));
		return a;
	}
	if ((d = json_object_get(ans, "denied_by")) != NULL) {
		json_array_append_new(a, pp_decider(d, json_string_value(
		    json_object_get(d, "direction"))));
		return a;
	}
	for (i = 0; i < ARRAY_SIZE(dirs); i++) {
		d = json_object_get(ans, dirs[i]);
		if (json_object_get(d, "policy") != NULL)
			json_array_append_new(a, pp_decider(d, dirs[i]));
	}
	return a;
}

/* Explain's verdict for the probe, into o; -1 when explain fails. */
static int
pp_explain(const struct pp *pp, const struct pp_cand *c, const char *sa,
    const char *da, json_t *o)
{
	struct explain_query	 q;
	char			 src[INET6_ADDRSTRLEN + 3], dst[INET6_ADDRSTRLEN + 3];
	json_t			*ans;
	int			 rc = -1;

	snprintf(src, sizeof(src), "ip:%s", sa);
	snprintf(dst, sizeof(dst), "ip:%s", da);
	explain_query_init(&q);
	q.src = src;
	q.dst = dst;
	q.ip_version = c->family == AF_INET ? 4 : 6;
	q.protocol = c->proto;
	if (c->proto == IPPROTO_TCP)
		q.port = c->port;
	else
		q.icmp_type = c->family == AF_INET ? 8 : 128, q.icmp_code = 0;
	ans = explain_answer(pp->ps, pp->inv, &q);
	explain_quarantine(ans, pp->q);
	if (json_is_true(json_object_get(ans, "ok"))) {
		json_object_set(o, "allowed", json_object_get(ans, "allowed"));
		json_object_set(o, "verdict", json_object_get(ans, "verdict"));
		json_object_set_new(o, "decided_by", pp_decided_by(ans));
		if (json_array_size(json_object_get(ans, "would_deny")))
			json_object_set(o, "would_deny",
			    json_object_get(ans, "would_deny"));
		rc = 0;
	}
	json_decref(ans);
	return rc;
}

static json_t *
pp_probe_json(const struct pp *pp, const struct pp_cand *c)
{
	const struct pp_pair	*pr = &pp->pairs[c->pair];
	char			 sa[INET6_ADDRSTRLEN], da[INET6_ADDRSTRLEN];
	char			 pb[16];
	json_t			*o = json_object();
	int			 v4 = c->family == AF_INET;

	inet_ntop(c->family, v4 ? (const void *)&pr->sep->ip4 :
	    (const void *)&pr->sep->ip6, sa, sizeof(sa));
	inet_ntop(c->family, v4 ? (const void *)&pr->dep->ip4 :
	    (const void *)&pr->dep->ip6, da, sizeof(da));
	json_object_set_new(o, "src", json_string(pr->src->name));
	json_object_set_new(o, "src_id", json_string(pr->src->id));
	json_object_set_new(o, "dst", json_string(pr->dst->name));
	json_object_set_new(o, "dst_id", json_string(pr->dst->id));
	json_object_set_new(o, "saddr", json_string(sa));
	json_object_set_new(o, "daddr", json_string(da));
	json_object_set_new(o, "network", json_string(pr->sep->network_name));
	json_object_set_new(o, "ip_version", json_integer(v4 ? 4 : 6));
	json_object_set_new(o, "protocol", json_string(pol_proto_str(c->proto,
	    pb, sizeof(pb))));
	if (c->proto == IPPROTO_TCP)
		json_object_set_new(o, "port", json_integer(c->port));
	else
		json_object_set_new(o, "icmp_type", json_integer(v4 ? 8 : 128));
	json_object_set_new(o, "pid", json_integer(pr->src->pid));
	json_object_set_new(o, "netns", json_string(pr->src->sandbox_key ?
	    pr->src->sandbox_key : ""));
	if (pp_explain(pp, c, sa, da, o) == -1) {
		json_decref(o);
		return NULL;
	}
	return o;
}

/* ---- the plan ---- */

/* Resolves from and to; NULL, or the error answer. */
static json_t *
pp_ends(struct pp *pp)
{
	char	msg[300];
	int	i;

	for (i = 0; i < 2; i++) {
		const char		 *arg = i ? pp->o->to : pp->o->from;
		const struct container	**ct = i ? &pp->to : &pp->from;

		if (arg && (*ct = inventory_get(pp->inv, arg)) == NULL) {
			snprintf(msg, sizeof(msg), "%s %.200s: no such container",
			    i ? "to" : "from", arg);
			utf8_scrub(msg);	/* the cut may split a character */
			return json_pack("{s:b, s:s}", "ok", 0, "error", msg);
		}
	}
	return NULL;
}

static void
pp_init(struct pp *pp, const struct policy_set *ps,
    const struct inventory *inv, const struct quarantine *q,
    const struct probeplan_opts *o)
{
	const struct container	*ct;

	memset(pp, 0, sizeof(*pp));
	pp->ps = ps;
	pp->inv = inv;
	pp->q = q;
	pp->o = o;
	pp->rng = o->seed;
	pp->free_port = probeplan_free_port(ps, o->seed);
	pp->elig = xcalloc(inv->n + 1, sizeof(*pp->elig));
	TAILQ_FOREACH(ct, &inv->containers, entry)
		if (pp_eligible(ct))
			pp->elig[pp->nelig++] = ct;
}

static void
pp_release(struct pp *pp)
{
	free(pp->elig);
	free(pp->pairs);
	free(pp->cands);
}

json_t *
probeplan_answer(const struct policy_set *ps, const struct inventory *inv,
    const struct quarantine *q, const struct probeplan_opts *opts)
{
	struct pp	 pp;
	json_t		*o, *probes, *p;
	size_t		 i, ncands;

	pp_init(&pp, ps, inv, q, opts);
	if ((o = pp_ends(&pp)) != NULL) {
		pp_release(&pp);
		return o;
	}
	o = json_object();
	probes = json_array();
	if (pp.nelig > PROBEPLAN_MAX_ENUM && !pp.from && !pp.to)
		pp_pairs_draw(&pp);
	else
		pp_pairs_enum(&pp);
	pp_cands(&pp);
	ncands = pp.ncands;
	pp_sample(&pp);
	for (i = 0; i < pp.ncands; i++)
		if ((p = pp_probe_json(&pp, &pp.cands[i])) != NULL)
			json_array_append_new(probes, p);
	json_object_set_new(o, "ok", json_true());
	json_object_set_new(o, "generation",
	    json_integer((json_int_t)ps->generation));
	json_object_set_new(o, "seed", json_integer((json_int_t)opts->seed));
	json_object_set_new(o, "containers", json_integer((json_int_t)pp.nelig));
	json_object_set_new(o, "pairs", json_integer((json_int_t)pp.npairs));
	json_object_set_new(o, "candidates", json_integer((json_int_t)ncands));
	json_object_set_new(o, "probes", probes);
	pp_release(&pp);
	return o;
}

json_t *
probeplan_handle(const struct policy_set *ps, const struct inventory *inv,
    const struct quarantine *q, json_t *req)
{
	struct probeplan_opts	 o;
	json_t			*n = json_object_get(req, "sample");
	json_t			*s = json_object_get(req, "seed");
	json_t			*icmp = json_object_get(req, "icmp");
	json_t			*from = json_object_get(req, "from");
	json_t			*to = json_object_get(req, "to");

	probeplan_opts_init(&o);
	if ((n && (!json_is_integer(n) || json_integer_value(n) < 1 ||
	    json_integer_value(n) > PROBEPLAN_MAX_SAMPLE)) ||
	    (s && (!json_is_integer(s) || json_integer_value(s) < 0)) ||
	    (icmp && !json_is_boolean(icmp)) ||
	    (from && !json_is_string(from)) || (to && !json_is_string(to)))
		return json_pack("{s:b, s:s}", "ok", 0, "error", "bad request: "
		    "sample is 1-1000, seed a non-negative integer, icmp a "
		    "boolean, from and to strings");
	o.from = json_string_value(from);
	o.to = json_string_value(to);
	if (n)
		o.sample = (size_t)json_integer_value(n);
	if (s)
		o.seed = (uint64_t)json_integer_value(s);
	if (icmp)
		o.icmp = json_is_true(icmp);
	return probeplan_answer(ps, inv, q, &o);
}
