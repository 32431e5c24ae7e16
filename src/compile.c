/*
 * compile.c: policies + inventory -> ir_ruleset (see compile.h for the
 * shape of the two tables).  Pure: the result is handed to nft.c, which
 * programs the kernel, and to ir_print for `bulkhead plan`.
 *
 * Naming: a container's chains are in_<id12> and eg_<id12>; an audit
 * policy runs in its own chain au<p>_<dir>_<id12> so that its verdicts are
 * only logged; the sets of rule r of policy p in direction d are
 * p<p>_<d><r>_<what>, shared by every container the policy selects.
 */
#include <arpa/inet.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_conntrack_common.h>
#include <linux/netfilter/nf_conntrack_tuple_common.h>
#include <linux/netfilter/nf_tables.h>
/* <linux/netfilter_bridge.h> clashes with <net/if.h>: the constants we need. */
#ifndef NF_BR_PRE_ROUTING
#define NF_BR_PRE_ROUTING	0
#endif
#ifndef NF_BR_FORWARD
#define NF_BR_FORWARD		2
#endif
#ifndef NF_BR_LOCAL_OUT
#define NF_BR_LOCAL_OUT		3
#endif

#include <linux/rtnetlink.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compile.h"
#include "evaluate.h"
#include "inventory.h"
#include "ir.h"
#include "k8s.h"
#include "policy.h"
#include "quarantine.h"
#include "selector.h"
#include "util.h"

#define REG0		NFT_REG32_00
#define ETH_P_IP_BE	0x0800
#define ETH_P_ARP_BE	0x0806
#define ETH_P_IPV6_BE	0x86dd

enum side { SIDE_SRC, SIDE_DST };

/* The names of one rule's sets, or "" where the rule has no such match. */
struct rule_sets {
	char	addr[2][2][IR_NAMELEN];		/* [side][fam] */
	char	notaddr[2][2][IR_NAMELEN];
	char	port[2][IR_NAMELEN];
	char	notport[2][IR_NAMELEN];
	char	hport[IR_NAMELEN];		/* destination's hostPorts */
};

struct range {
	uint8_t	lo[16];
	uint8_t	hi[16];
};

struct chain_class {
	char		*key;		/* NULL: free slot */
	uint64_t	 hash;
	int		 dir;
	char		 chain[IR_NAMELEN];
	size_t		 members;	/* class chains: containers using it */
};

/* Endpoints on a bridge the bridges set holds by name (not docker0, br-*). */
struct bridge_count {
	char	name[IF_NAMESIZE];
	long	n;
};

/* An exact set of the addresses of the containers a peer's labels match. */
struct peer_set {
	char			 name[IR_NAMELEN];
	const struct peer	*peer;
	int			 fam;
};

struct ordlist {
	size_t	*v;
	size_t	 n;
};

/* One label of one container, in c->labels sorted by key, then value. */
struct label_ref {
	const char	*key;
	const char	*value;
	size_t		 ord;
};

struct compiler {
	const struct policy_set		*ps;
	const struct inventory		*inv;
	const struct compile_opts	*opts;
	struct ir_table			*br;
	struct ir_table			*in;
	struct rule_sets		*sets[POL_NDIRS];	/* [dir][policy][rule] flattened */
	size_t				*setbase[POL_NDIRS];	/* first index of policy p */
	struct range			*bridge_ranges;
	size_t				 nbridge_ranges;
	struct chain_class		*classes;	/* hash table, see class_find */
	size_t				 nclasses;
	size_t				 classcap;
	int				 ncollide;	/* of the last class_find */
	const struct container		**ctv;		/* by ordinal */
	size_t				 nct;
	struct label_ref		*labels;	/* the label index */
	size_t				 nlabels;
	struct ordlist			*selected[POL_NDIRS];	/* [ord]: policies, in order */
	struct peer_set			*peers;		/* see compile_state_patch */
	size_t				 npeers;
	int				 named_ports;	/* some rule names a port */
	struct bridge_count		*bcounts;	/* non-default bridges in use */
	size_t				 nbcounts;
	int				 patching;	/* compile_state_patch at work */
	int				 removing;	/* patch: taking a container out */
	int				 refused;	/* patch: cannot be done in place */
};

void
compile_opts_default(struct compile_opts *o)
{
	o->mark_bit = COMPILE_MARK_BIT;
	o->nflog_group = COMPILE_NFLOG_GROUP;
	o->log_rate = COMPILE_LOG_RATE;
	o->log_burst = COMPILE_LOG_BURST;
	o->quarantine = NULL;
	o->fail_open = 0;
}

/* ---- expression emitters ---- */

static struct ir_rule *
rule_new(struct ir_table *t, const char *chain, struct strbuf *text)
{
	struct ir_rule	*r = ir_rule_add(t, chain);

	strbuf_init(text);
	return r;
}

static void
rule_done(struct ir_rule *r, struct strbuf *text)
{
	if (text->len && text->buf[text->len - 1] == ' ')
		text->buf[--text->len] = '\0';
	r->text = strbuf_detach(text);
}

static void
e_meta(struct ir_rule *r, uint32_t key, uint32_t reg)
{
	struct ir_expr	*e = ir_expr_add(r, IR_META);

	e->u.meta.key = key;
	e->u.meta.reg = reg;
}

static void
e_payload(struct ir_rule *r, uint32_t base, uint32_t off, uint32_t len,
    uint32_t reg)
{
	struct ir_expr	*e = ir_expr_add(r, IR_PAYLOAD);

	e->u.payload.base = base;
	e->u.payload.offset = off;
	e->u.payload.len = len;
	e->u.payload.dreg = reg;
}

static void
e_cmp(struct ir_rule *r, uint32_t op, uint32_t reg, const void *data,
    uint32_t len)
{
	struct ir_expr	*e = ir_expr_add(r, IR_CMP);

	e->u.cmp.op = op;
	e->u.cmp.sreg = reg;
	e->u.cmp.len = len;
	memcpy(e->u.cmp.data, data, len);
}

static void
e_cmp_u8(struct ir_rule *r, uint32_t reg, uint8_t v)
{
	e_cmp(r, NFT_CMP_EQ, reg, &v, 1);
}

static void
e_lookup(struct ir_rule *r, const char *set, uint32_t reg, int invert)
{
	struct ir_expr	*e = ir_expr_add(r, IR_LOOKUP);

	strlcpy_bh(e->u.lookup.set, set, IR_NAMELEN);
	e->u.lookup.sreg = reg;
	e->u.lookup.invert = invert;
}

static void
e_vmap(struct ir_rule *r, const char *set, uint32_t reg)
{
	struct ir_expr	*e = ir_expr_add(r, IR_LOOKUP);

	strlcpy_bh(e->u.lookup.set, set, IR_NAMELEN);
	e->u.lookup.sreg = reg;
	e->u.lookup.dreg = NFT_REG_VERDICT;
	e->u.lookup.has_dreg = 1;
}

static void
e_verdict(struct ir_rule *r, int code, const char *chain)
{
	struct ir_expr	*e = ir_expr_add(r, IR_VERDICT);

	e->u.verdict.code = code;
	if (chain)
		strlcpy_bh(e->u.verdict.chain, chain, IR_NAMELEN);
}

static void
e_counter(struct ir_rule *r)
{
	ir_expr_add(r, IR_COUNTER);
}

/*
 * The rate-limited NFLOG half of a deny: expressions and text.  The
 * counter after the limit counts the packets logged, so that the drop
 * rule's counter minus this one is what the limit kept from the log
 * (nft_counters reads it back by the log prefix; bulkhead-capture
 * compares it with the records it received).
 */
static void
e_limit_log(struct compiler *c, struct ir_rule *r, struct strbuf *t,
    const char *prefix)
{
	struct ir_expr	*e = ir_expr_add(r, IR_LIMIT);

	e->u.limit.rate = c->opts->log_rate;
	e->u.limit.unit = 1;
	e->u.limit.burst = c->opts->log_burst;
	e_counter(r);
	e = ir_expr_add(r, IR_LOG);
	e->u.log.group = c->opts->nflog_group;
	strlcpy_bh(e->u.log.prefix, prefix, IR_PREFIXMAX);
	strbuf_addf(t, "limit rate %u/second burst %u packets counter log group %u "
	    "prefix \"%s\"", c->opts->log_rate, c->opts->log_burst,
	    c->opts->nflog_group, prefix);
}

/*
 * The other half, a rule of its own so that the limit never lets a packet
 * through: counted, tagged with prefix for the counters, dropped.
 */
static void
e_drop(struct ir_rule *r, struct strbuf *t, const char *prefix)
{
	e_counter(r);
	r->comment = xstrdup(prefix);
	e_verdict(r, NF_DROP, NULL);
	strbuf_addstr(t, "counter drop");
}

/* reg = (reg & mask) ^ xor over 4 bytes, values in host order as the mark is. */
static void
e_bitwise32(struct ir_rule *r, uint32_t reg, uint32_t mask, uint32_t xor)
{
	struct ir_expr	*e = ir_expr_add(r, IR_BITWISE);

	e->u.bitwise.sreg = reg;
	e->u.bitwise.dreg = reg;
	e->u.bitwise.len = 4;
	memcpy(e->u.bitwise.mask, &mask, 4);
	memcpy(e->u.bitwise.xor, &xor, 4);
}

static void
e_nfproto(struct ir_rule *r, struct strbuf *t, int fam)
{
	e_meta(r, NFT_META_NFPROTO, REG0);
	e_cmp_u8(r, REG0, fam == 4 ? NFPROTO_IPV4 : NFPROTO_IPV6);
	strbuf_addstr(t, fam == 4 ? "meta nfproto ipv4 " : "meta nfproto ipv6 ");
}

/* Loads the source or destination address of family fam into REG0. */
static void
e_addr(struct ir_rule *r, int fam, enum side s)
{
	if (fam == 4)
		e_payload(r, NFT_PAYLOAD_NETWORK_HEADER, s == SIDE_SRC ? 12 : 16,
		    4, REG0);
	else
		e_payload(r, NFT_PAYLOAD_NETWORK_HEADER, s == SIDE_SRC ? 8 : 24,
		    16, REG0);
}

static const char *
addr_text(int fam, enum side s)
{
	if (fam == 4)
		return s == SIDE_SRC ? "ip saddr" : "ip daddr";
	return s == SIDE_SRC ? "ip6 saddr" : "ip6 daddr";
}

/* ---- sets ---- */

static struct ir_set *
set_new(struct ir_table *t, const char *name, uint32_t type, uint32_t len,
    uint32_t flags)
{
	struct ir_set	*s = ir_set_add(t, name);

	s->key_type = type;
	s->key_len = len;
	s->flags = flags;
	s->nfields = 1;
	s->field_len[0] = len;
	return s;
}

static struct ir_set *
vmap_new(struct ir_table *t, const char *name, uint32_t type, uint32_t len)
{
	struct ir_set	*s = set_new(t, name, type, len, NFT_SET_MAP);

	s->data_type = NFT_DATA_VERDICT;
	s->data_len = 0;
	return s;
}

static int
range_cmp(const void *a, const void *b, void *lenp)
{
	return memcmp(((const struct range *)a)->lo,
	    ((const struct range *)b)->lo, *(size_t *)lenp);
}

/* 1 when hi + 1 == lo (big-endian, len bytes): adjacent ranges merge. */
static int
range_adjacent(const uint8_t *hi, const uint8_t *lo, size_t len)
{
	uint8_t	n[16];
	size_t	i;

	memcpy(n, hi, len);
	for (i = len; i-- > 0;) {
		if (++n[i] != 0)
			break;
		if (i == 0)
			return 0;	/* hi is the maximum */
	}
	return memcmp(n, lo, len) == 0;
}

/*
 * Adds ranges to an interval set, merging overlapping and adjacent ones:
 * the kernel's interval backends reject overlaps.  To an exact set (no
 * NFT_SET_INTERVAL; every range then is one value) each value once.
 */
static void
set_add_ranges(struct ir_set *s, struct range *v, size_t n)
{
	size_t	len = s->key_len, i;
	struct ir_elem *e = NULL;

	if (n == 0)
		return;
	qsort_r(v, n, sizeof(*v), range_cmp, &len);
	if (!(s->flags & NFT_SET_INTERVAL)) {
		for (i = 0; i < n; i++)
			if (i == 0 || memcmp(v[i].lo, v[i - 1].lo, len) != 0)
				memcpy(ir_elem_add(s)->key, v[i].lo, len);
		return;
	}
	for (i = 0; i < n; i++) {
		if (e && (memcmp(v[i].lo, e->key_end, len) <= 0 ||
		    range_adjacent(e->key_end, v[i].lo, len))) {
			if (memcmp(v[i].hi, e->key_end, len) > 0)
				memcpy(e->key_end, v[i].hi, len);
			continue;
		}
		e = ir_elem_add(s);
		memcpy(e->key, v[i].lo, len);
		memcpy(e->key_end, v[i].hi, len);
	}
}

static void
range_from_cidr(struct range *r, const struct cidr *c)
{
	size_t	len = c->family == AF_INET ? 4 : 16, i;
	const uint8_t *a = c->family == AF_INET ?
	    (const uint8_t *)&c->addr.v4 : (const uint8_t *)&c->addr.v6;

	for (i = 0; i < len; i++) {
		int	bits = (int)c->prefix - (int)(i * 8);
		uint8_t	mask = bits >= 8 ? 0xff : bits <= 0 ? 0 :
		    (uint8_t)(0xff << (8 - bits));

		r->lo[i] = a[i] & mask;
		r->hi[i] = a[i] | (uint8_t)~mask;
	}
}

static void
range_from_addr(struct range *r, const void *a, size_t len)
{
	memcpy(r->lo, a, len);
	memcpy(r->hi, a, len);
}

static int
cidr_contains(const struct cidr *c, int fam, const void *addr)
{
	struct range	r;
	size_t		len = fam == 4 ? 4 : 16;

	if ((fam == 4) != (c->family == AF_INET))
		return 0;
	range_from_cidr(&r, c);
	return memcmp(addr, r.lo, len) >= 0 && memcmp(addr, r.hi, len) <= 0;
}

/* ---- what policies select ---- */

static int
policy_selects(const struct policy *p, const struct container *ct, int dir)
{
	return evaluate_applies(p, &ct->labels, NULL, dir);
}

int
compile_selects(const struct policy_set *ps, const struct container *ct,
    int dir)
{
	size_t	i;

	for (i = 0; i < ps->n; i++)
		if (policy_selects(ps->v[i], ct, dir))
			return 1;
	return 0;
}

static const void *
ep_addr(const struct endpoint *ep, int fam)
{
	if (fam == 4)
		return ep->has_ip4 ? (const void *)&ep->ip4 : NULL;
	return ep->has_ip6 ? (const void *)&ep->ip6 : NULL;
}

/* A peer constrains addresses when it names containers or networks. */
static int
peer_has_addr(const struct peer *p, enum side s, enum side remote)
{
	if (s == remote && (p->selector || p->ns_selector))
		return 1;
	return p->nnets > 0;
}

/*
 * Does container ct meet a peer's label criteria: its selector over the
 * container's labels and its namespaceSelector over the labels of the
 * container's namespace (as the evaluator decides them)?
 */
static int
peer_labels_match(const struct compiler *c, const struct peer *p,
    const struct container *ct)
{
	struct labelset	nsl;
	int		ok;

	if (p->selector && !selector_match(p->selector, &ct->labels))
		return 0;
	if (p->ns_selector == NULL)
		return 1;
	evaluate_ns_labels(c->ps, evaluate_namespace(&ct->labels), &nsl);
	ok = selector_match(p->ns_selector, &nsl);
	labelset_release(&nsl);
	return ok;
}

static int
peer_nets_contain(const struct peer *p, int fam, const void *addr)
{
	size_t	i;

	if (p->nnets == 0)
		return 1;
	for (i = 0; i < p->nnets; i++)
		if (cidr_contains(&p->nets[i], fam, addr))
			return 1;
	return 0;
}

/* ---- which containers a selector may match ---- */

static int
label_ref_cmp(const void *a, const void *b)
{
	const struct label_ref *x = a, *y = b;
	int r = strcmp(x->key, y->key);

	if (r == 0)
		r = strcmp(x->value, y->value);
	if (r == 0)
		r = x->ord < y->ord ? -1 : x->ord > y->ord;
	return r;
}

/*
 * Numbers the containers and indexes their labels, so that a selector
 * with an == or in condition is tested only against the containers that
 * carry one of its values: compiling stays near-linear in containers
 * times policies' matches rather than their product.
 */
static void
index_build(struct compiler *c)
{
	const struct container	*ct;
	size_t			 i, n = 0;

	c->ctv = xcalloc(c->inv->n + 1, sizeof(*c->ctv));
	TAILQ_FOREACH(ct, &c->inv->containers, entry) {
		c->ctv[c->nct++] = ct;
		n += ct->labels.n;
	}
	c->labels = xcalloc(n + 1, sizeof(*c->labels));
	for (i = 0; i < c->nct; i++) {
		const struct labelset *ls = &c->ctv[i]->labels;
		size_t j;

		for (j = 0; j < ls->n; j++) {
			c->labels[c->nlabels].key = ls->v[j].key;
			c->labels[c->nlabels].value = ls->v[j].value;
			c->labels[c->nlabels++].ord = i;
		}
	}
	qsort(c->labels, c->nlabels, sizeof(*c->labels), label_ref_cmp);
}

/* The first index entry not below (key, value). */
static size_t
index_lower(const struct compiler *c, const char *key, const char *value)
{
	size_t	lo = 0, hi = c->nlabels;

	while (lo < hi) {
		size_t	mid = lo + (hi - lo) / 2;
		int	r = strcmp(c->labels[mid].key, key);

		if (r == 0)
			r = strcmp(c->labels[mid].value, value);
		if (r < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/*
 * The ordinals of the containers sel may match (a superset: the caller
 * still tests each), in *n.  Returns a new array the caller frees, or
 * NULL meaning every container 0..*n-1.
 */
static size_t *
candidates(struct compiler *c, const struct selector *sel, size_t *n)
{
	const char	*key;
	char *const	*vals;
	size_t		 nvals, i, j, *v = NULL;

	if (!selector_required(sel, &key, &vals, &nvals)) {
		*n = c->nct;
		return NULL;
	}
	*n = 0;
	for (i = 0; i < nvals; i++) {
		/* Values of one in-set could repeat: skip the repeats. */
		for (j = 0; j < i && strcmp(vals[j], vals[i]) != 0; j++)
			;
		if (j < i)
			continue;
		for (j = index_lower(c, key, vals[i]); j < c->nlabels &&
		    strcmp(c->labels[j].key, key) == 0 &&
		    strcmp(c->labels[j].value, vals[i]) == 0; j++) {
			v = xreallocarray(v, *n + 1, sizeof(*v));
			v[(*n)++] = c->labels[j].ord;
		}
	}
	return v != NULL ? v : xcalloc(1, sizeof(*v));
}

/* For each container and direction, the policies selecting it, in order. */
static void
selections_build(struct compiler *c)
{
	size_t	pi, k, ncand, *cand;
	int	dir;

	for (dir = 0; dir < POL_NDIRS; dir++)
		c->selected[dir] = xcalloc(c->nct + 1, sizeof(struct ordlist));
	for (pi = 0; pi < c->ps->n; pi++) {
		const struct policy *p = c->ps->v[pi];

		cand = candidates(c, p->selector, &ncand);
		for (k = 0; k < ncand; k++) {
			size_t ord = cand ? cand[k] : k;

			for (dir = 0; dir < POL_NDIRS; dir++) {
				struct ordlist *l = &c->selected[dir][ord];

				if (!policy_selects(p, c->ctv[ord], dir))
					continue;
				l->v = xreallocarray(l->v, l->n + 1,
				    sizeof(*l->v));
				l->v[l->n++] = pi;
			}
		}
		free(cand);
	}
}

static void
index_free(struct compiler *c)
{
	size_t	i;
	int	dir;

	for (dir = 0; dir < POL_NDIRS; dir++) {
		for (i = 0; c->selected[dir] != NULL && i < c->nct; i++)
			free(c->selected[dir][i].v);
		free(c->selected[dir]);
	}
	free(c->labels);
	free(c->ctv);
}

/*
 * 1 when the address set of peer p holds container addresses (exact
 * values: a hash set, one lookup cheaper than an interval tree), 0 when
 * it holds its nets (intervals).  See fill_addr_set.
 */
static int
peer_addrs_exact(const struct peer *p, int use_selector)
{
	return use_selector && (p->selector || p->ns_selector);
}

/* 1 when every port range is one port: an exact set will do. */
static int
ports_exact(const struct port_range *pr, size_t n)
{
	size_t	i;

	for (i = 0; i < n; i++)
		if (pr[i].lo != pr[i].hi)
			return 0;
	return 1;
}

/*
 * The addresses a peer stands for, in family fam: the containers its
 * selector and namespaceSelector match (only for the remote side, and
 * within nets when both are given: the criteria of a peer are ANDed),
 * else its nets.
 */
static void
fill_addr_set(struct compiler *c, struct ir_set *s, const struct peer *p,
    int fam, int use_selector)
{
	struct range		*v = NULL;
	size_t			 n = 0, i, k, ncand, len = fam == 4 ? 4 : 16;
	const struct container	*ct;

	if (peer_addrs_exact(p, use_selector)) {
		size_t *cand = NULL;

		ncand = c->nct;
		if (p->selector)
			cand = candidates(c, p->selector, &ncand);
		for (k = 0; k < ncand; k++) {
			ct = c->ctv[cand ? cand[k] : k];
			if (!peer_labels_match(c, p, ct))
				continue;
			for (i = 0; i < ct->neps; i++) {
				const void *a = ep_addr(&ct->eps[i], fam);

				if (a == NULL || !peer_nets_contain(p, fam, a))
					continue;
				v = xreallocarray(v, n + 1, sizeof(*v));
				range_from_addr(&v[n++], a, len);
			}
		}
		free(cand);
	} else {
		for (i = 0; i < p->nnets; i++) {
			if ((p->nets[i].family == AF_INET) != (fam == 4))
				continue;
			v = xreallocarray(v, n + 1, sizeof(*v));
			range_from_cidr(&v[n++], &p->nets[i]);
		}
	}
	set_add_ranges(s, v, n);
	free(v);
}

static void
fill_notnet_set(struct ir_set *s, const struct peer *p, int fam)
{
	struct range	*v = xcalloc(p->nnot_nets, sizeof(*v));
	size_t		 n = 0, i;

	for (i = 0; i < p->nnot_nets; i++)
		if ((p->not_nets[i].family == AF_INET) == (fam == 4))
			range_from_cidr(&v[n++], &p->not_nets[i]);
	set_add_ranges(s, v, n);
	free(v);
}

static void
fill_port_set(struct ir_set *s, const struct port_range *pr, size_t n)
{
	struct range	*v = xcalloc(n, sizeof(*v));
	size_t		 i;

	for (i = 0; i < n; i++) {
		uint16_t lo = htons(pr[i].lo), hi = htons(pr[i].hi);

		memcpy(v[i].lo, &lo, 2);
		memcpy(v[i].hi, &hi, 2);
	}
	set_add_ranges(s, v, n);
	free(v);
}

static uint64_t
class_hash(const char *s)
{
	uint64_t h = 0xcbf29ce484222325ULL;	/* FNV-1a */

	for (; *s; s++)
		h = (h ^ (uint8_t)*s) * 0x100000001b3ULL;
	return h;
}

/*
 * Interns key in c->classes (chain classes and set definitions alike).
 * Returns its entry; *isnew tells the caller to name it.  Open addressing
 * over the key's hash; the table never fills beyond half.
 */
static struct chain_class *
class_find(struct compiler *c, int dir, const char *key, int *isnew)
{
	uint64_t	 h = class_hash(key);
	size_t		 i, n;

	if (2 * (c->nclasses + 1) > c->classcap) {
		struct chain_class *old = c->classes;
		size_t oldcap = c->classcap;

		c->classcap = c->classcap ? 2 * c->classcap : 64;
		c->classes = xcalloc(c->classcap, sizeof(*c->classes));
		for (i = 0; i < oldcap; i++) {
			if (old[i].key == NULL)
				continue;
			for (n = old[i].hash & (c->classcap - 1);
			    c->classes[n].key != NULL; n = (n + 1) & (c->classcap - 1))
				;
			c->classes[n] = old[i];
		}
		free(old);
	}
	for (n = h & (c->classcap - 1), c->ncollide = 0;
	    c->classes[n].key != NULL; n = (n + 1) & (c->classcap - 1)) {
		if (c->classes[n].dir == dir && c->classes[n].hash == h) {
			if (strcmp(c->classes[n].key, key) == 0) {
				*isnew = 0;
				return &c->classes[n];
			}
			c->ncollide++;
		}
	}
	c->classes[n].key = xstrdup(key);
	c->classes[n].hash = h;
	c->classes[n].dir = dir;
	c->nclasses++;
	*isnew = 1;
	return &c->classes[n];
}

static void
classes_free(struct compiler *c)
{
	size_t	i;

	for (i = 0; i < c->classcap; i++)
		free(c->classes[i].key);
	free(c->classes);
}

/* Creates the named sets of one rule (shared by all containers, and by
 * every rule with the same definition). */
static void
key_nets(struct strbuf *k, const struct cidr *v, size_t n, int fam)
{
	char	buf[INET6_ADDRSTRLEN];
	size_t	i;

	for (i = 0; i < n; i++) {
		if (fam && (v[i].family == AF_INET) != (fam == 4))
			continue;
		inet_ntop(v[i].family, &v[i].addr, buf, sizeof(buf));
		strbuf_addf(k, "%s/%d,", buf, v[i].prefix);
	}
}

static void
key_ports(struct strbuf *k, const struct port_range *pr, size_t n)
{
	size_t	i;

	for (i = 0; i < n; i++)
		strbuf_addf(k, "%u-%u,", pr[i].lo, pr[i].hi);
}

/*
 * Names in name the set defined by key: the name of the first rule that
 * defined it, or name itself when new.  Returns 1 when the caller must
 * create and fill the set.  Sharing keeps the kernel's set count (whose
 * cost grows faster than linearly per batch) at the number of distinct
 * peers, not of rules.
 */
static int
set_intern(struct compiler *c, struct strbuf *key, char *name)
{
	struct chain_class	*e;
	int			 isnew;

	e = class_find(c, 2, key->buf, &isnew);
	strbuf_clear(key);
	if (isnew) {
		strlcpy_bh(e->chain, name, IR_NAMELEN);
		return 1;
	}
	strlcpy_bh(name, e->chain, IR_NAMELEN);
	return 0;
}

static void
peer_set_add(struct compiler *c, const char *name, const struct peer *p,
    int fam)
{
	struct peer_set	*ps;

	c->peers = xreallocarray(c->peers, c->npeers + 1, sizeof(*c->peers));
	ps = &c->peers[c->npeers++];
	strlcpy_bh(ps->name, name, IR_NAMELEN);
	ps->peer = p;
	ps->fam = fam;
}

/*
 * The set of a destination's hostPorts, matched against conntrack's
 * original destination port.  Its elements are those of a ports set of
 * the same ports (the key says so), so the two share one set.
 */
static void
rule_sets_host_ports(struct compiler *c, struct rule_sets *rs, size_t pi,
    int dir, size_t ri, const struct peer *p)
{
	struct strbuf	k;
	int		exact = ports_exact(p->host_ports, p->nhost_ports);

	if (p->nhost_ports == 0)
		return;
	snprintf(rs->hport, IR_NAMELEN, "p%zu_%c%zu_d%s", pi,
	    dir ? 'e' : 'i', ri, exact ? "hport" : "hrange");
	strbuf_init(&k);
	strbuf_addstr(&k, "port|");
	key_ports(&k, p->host_ports, p->nhost_ports);
	if (set_intern(c, &k, rs->hport))
		fill_port_set(set_new(c->in, rs->hport, IR_TYPE_INET_SERVICE,
		    2, exact ? 0 : NFT_SET_INTERVAL), p->host_ports,
		    p->nhost_ports);
	strbuf_release(&k);
}

static void
rule_sets_make(struct compiler *c, struct rule_sets *rs, size_t pi, int dir,
    size_t ri, const struct rule *r)
{
	enum side	 remote = dir == POL_INGRESS ? SIDE_SRC : SIDE_DST;
	const char	*sn[2] = { "s", "d" };
	struct strbuf	 k;
	int		 s, fam;

	memset(rs, 0, sizeof(*rs));
	strbuf_init(&k);
	if (r->source.port_name || r->destination.port_name)
		c->named_ports = 1;
	for (s = SIDE_SRC; s <= SIDE_DST; s++) {
		const struct peer *p = s == SIDE_SRC ? &r->source : &r->destination;

		for (fam = 0; fam < 2; fam++) {
			uint32_t type = fam == 0 ? IR_TYPE_IPV4 : IR_TYPE_IPV6;
			uint32_t len = fam == 0 ? 4 : 16;
			int use_sel = s == (int)remote;
			struct ir_set *set;

			if (peer_has_addr(p, s, remote)) {
				/*
				 * The kind is in the name (addr: exact,
				 * net: intervals), so that a name never
				 * changes its definition between two
				 * compiles: deltas can always carry it.
				 */
				snprintf(rs->addr[s][fam], IR_NAMELEN,
				    "p%zu_%c%zu_%s%s%d", pi, dir ? 'e' : 'i',
				    ri, sn[s], peer_addrs_exact(p, use_sel) ?
				    "addr" : "net", fam ? 6 : 4);
				strbuf_addf(&k, "addr%d|", fam ? 6 : 4);
				if (use_sel && p->selector)
					strbuf_addf(&k, "sel=%s|",
					    selector_text(p->selector));
				if (use_sel && p->ns_selector)
					strbuf_addf(&k, "ns=%s|",
					    selector_text(p->ns_selector));
				/* All of them: nets of the other family still
				 * exclude this one's addresses. */
				key_nets(&k, p->nets, p->nnets, 0);
				if (set_intern(c, &k, rs->addr[s][fam])) {
					set = set_new(c->in, rs->addr[s][fam],
					    type, len, peer_addrs_exact(p,
					    use_sel) ? 0 : NFT_SET_INTERVAL);
					fill_addr_set(c, set, p, fam ? 6 : 4,
					    use_sel);
					if (peer_addrs_exact(p, use_sel))
						peer_set_add(c, set->name, p,
						    fam ? 6 : 4);
				}
			}
			if (p->nnot_nets) {
				snprintf(rs->notaddr[s][fam], IR_NAMELEN,
				    "p%zu_%c%zu_%snot%d", pi, dir ? 'e' : 'i',
				    ri, sn[s], fam ? 6 : 4);
				strbuf_addf(&k, "not%d|", fam ? 6 : 4);
				key_nets(&k, p->not_nets, p->nnot_nets,
				    fam ? 6 : 4);
				if (set_intern(c, &k, rs->notaddr[s][fam])) {
					set = set_new(c->in, rs->notaddr[s][fam],
					    type, len, NFT_SET_INTERVAL);
					fill_notnet_set(set, p, fam ? 6 : 4);
				}
			}
		}
		if (p->nports) {
			snprintf(rs->port[s], IR_NAMELEN, "p%zu_%c%zu_%s%s",
			    pi, dir ? 'e' : 'i', ri, sn[s],
			    ports_exact(p->ports, p->nports) ? "port" :
			    "range");
			strbuf_addstr(&k, "port|");
			key_ports(&k, p->ports, p->nports);
			if (set_intern(c, &k, rs->port[s]))
				fill_port_set(set_new(c->in, rs->port[s],
				    IR_TYPE_INET_SERVICE, 2, ports_exact(
				    p->ports, p->nports) ? 0 : NFT_SET_INTERVAL),
				    p->ports, p->nports);
		}
		if (p->nnot_ports) {
			snprintf(rs->notport[s], IR_NAMELEN,
			    "p%zu_%c%zu_%snot%s", pi, dir ? 'e' : 'i', ri,
			    sn[s], ports_exact(p->not_ports, p->nnot_ports) ?
			    "port" : "range");
			strbuf_addstr(&k, "port|");
			key_ports(&k, p->not_ports, p->nnot_ports);
			if (set_intern(c, &k, rs->notport[s]))
				fill_port_set(set_new(c->in, rs->notport[s],
				    IR_TYPE_INET_SERVICE, 2, ports_exact(
				    p->not_ports, p->nnot_ports) ? 0 :
				    NFT_SET_INTERVAL), p->not_ports,
				    p->nnot_ports);
		}
	}
	rule_sets_host_ports(c, rs, pi, dir, ri, &r->destination);
	strbuf_release(&k);
}

/* ---- per-container chains ---- */

/*
 * The number of the named port on the rule's local side (the selected
 * container's own side, ingress destination) for container ct: -1 when ct
 * has no such port, 0 when the local side names none.  A chain with such
 * a rule depends on the number: class_key holds it.
 */
static int
rule_local_port(const struct rule *r, int dir, const struct container *ct)
{
	const struct peer *local = dir == POL_INGRESS ?
	    &r->destination : &r->source;
	int		   port;

	if (local->port_name == NULL)
		return 0;
	port = k8s_named_port(&ct->labels, local->port_name, r->protocol);
	/* Egress: a named source port of the sender itself.  k8s.c never
	 * makes one (named ports are destination ports); not compiled, so
	 * the rule matches nothing rather than too much. */
	return dir == POL_INGRESS ? port : -1;
}

/*
 * Does a rule's local side (the selected container's own side) admit
 * container ct?  Its label criteria (selector, namespaceSelector) and its
 * entity are decided here, at compile time: a container is neither the
 * host nor the world, so a local entity host or world never matches, as
 * in the evaluator.  Its nets and ports are matched in the kernel.
 */
static int
rule_local_admits(const struct compiler *c, const struct rule *r, int dir,
    const struct container *ct)
{
	const struct peer *local = dir == POL_INGRESS ?
	    &r->destination : &r->source;

	if (local->entity == POL_ENTITY_HOST ||
	    local->entity == POL_ENTITY_WORLD)
		return 0;
	if (local->port_name && rule_local_port(r, dir, ct) < 0)
		return 0;
	return peer_labels_match(c, local, ct);
}

static const struct peer *
rule_remote(const struct rule *r, int dir)
{
	return dir == POL_INGRESS ? &r->source : &r->destination;
}

/* Which address families a rule must be emitted for: bit 0 v4, bit 1 v6. */
static unsigned
rule_families(const struct rule *r, int dir, const struct rule_sets *rs,
    int *agnostic)
{
	unsigned	fams = 3;
	int		s;

	if (r->ip_version == 4 || r->protocol == IPPROTO_ICMP)
		fams &= 1;
	if (r->ip_version == 6 || r->protocol == IPPROTO_ICMPV6)
		fams &= 2;
	*agnostic = r->ip_version == 0 &&
	    rule_remote(r, dir)->entity != POL_ENTITY_WORLD;
	for (s = 0; s < 2; s++)
		if (rs->addr[s][0][0] || rs->notaddr[s][0][0])
			*agnostic = 0;
	return fams;
}

static void
emit_port_match(struct ir_rule *ir, struct strbuf *t, const char *set,
    enum side s, int invert)
{
	e_payload(ir, NFT_PAYLOAD_TRANSPORT_HEADER, s == SIDE_SRC ? 0 : 2, 2,
	    REG0);
	e_lookup(ir, set, REG0, invert);
	strbuf_addf(t, "th %s %s@%s ", s == SIDE_SRC ? "sport" : "dport",
	    invert ? "!= " : "", set);
}

/* hostPorts: the destination port before DNAT, from conntrack. */
static void
emit_host_port_match(struct ir_rule *ir, struct strbuf *t, const char *set)
{
	struct ir_expr	*e = ir_expr_add(ir, IR_CT);

	e->u.ct.key = NFT_CT_PROTO_DST;
	e->u.ct.dreg = REG0;
	e->u.ct.has_dir = 1;
	e->u.ct.dir = IP_CT_DIR_ORIGINAL;
	e_lookup(ir, set, REG0, 0);
	strbuf_addf(t, "ct original proto-dst @%s ", set);
}

/* Is the address on side s one of the host's own?  (fib ... type local) */
static void
emit_fib_local(struct ir_rule *ir, struct strbuf *t, enum side s, int is)
{
	struct ir_expr	*e = ir_expr_add(ir, IR_FIB);
	uint32_t	 local = RTN_LOCAL;

	e->u.fib.flags = s == SIDE_SRC ? NFTA_FIB_F_SADDR : NFTA_FIB_F_DADDR;
	e->u.fib.result = NFT_FIB_RESULT_ADDRTYPE;
	e->u.fib.dreg = REG0;
	e_cmp(ir, is ? NFT_CMP_EQ : NFT_CMP_NEQ, REG0, &local, 4);
	strbuf_addf(t, "fib %s type %slocal ", s == SIDE_SRC ? "saddr" : "daddr",
	    is ? "" : "!= ");
}

/*
 * entity host: the Docker host's own addresses; world: neither the host
 * nor a container known on it.
 */
static void
emit_entity(struct ir_rule *ir, struct strbuf *t, const struct rule *r,
    int dir, int fam)
{
	enum pol_entity	ent = rule_remote(r, dir)->entity;
	enum side	s = dir == POL_INGRESS ? SIDE_SRC : SIDE_DST;

	if (ent == POL_ENTITY_HOST)
		emit_fib_local(ir, t, s, 1);
	if (ent != POL_ENTITY_WORLD)
		return;
	emit_fib_local(ir, t, s, 0);
	e_addr(ir, fam, s);
	e_lookup(ir, fam == 4 ? "addrs4" : "addrs6", REG0, 1);
	strbuf_addf(t, "%s != @%s ", addr_text(fam, s),
	    fam == 4 ? "addrs4" : "addrs6");
}

/* The nft keyword of a rule's ICMP match: icmp or icmpv6. */
static const char *
icmp_word(const struct rule *r)
{
	return r->protocol == IPPROTO_ICMPV6 ? "icmpv6" : "icmp";
}

/* Emits the match part of rule r for family fam (0: family-agnostic). */
static void
emit_rule_match(struct ir_rule *ir, struct strbuf *t, const struct rule *r,
    int dir, const struct rule_sets *rs, int fam)
{
	char	buf[16];
	int	s;

	if (fam)
		e_nfproto(ir, t, fam);
	if (r->protocol) {
		e_meta(ir, NFT_META_L4PROTO, REG0);
		e_cmp_u8(ir, REG0, (uint8_t)r->protocol);
		strbuf_addf(t, "meta l4proto %s ",
		    pol_proto_str(r->protocol, buf, sizeof(buf)));
	}
	for (s = SIDE_SRC; fam && s <= SIDE_DST; s++) {
		int	f = fam == 4 ? 0 : 1;

		if (rs->addr[s][f][0]) {
			e_addr(ir, fam, s);
			e_lookup(ir, rs->addr[s][f], REG0, 0);
			strbuf_addf(t, "%s @%s ", addr_text(fam, s),
			    rs->addr[s][f]);
		}
		if (rs->notaddr[s][f][0]) {
			e_addr(ir, fam, s);
			e_lookup(ir, rs->notaddr[s][f], REG0, 1);
			strbuf_addf(t, "%s != @%s ", addr_text(fam, s),
			    rs->notaddr[s][f]);
		}
	}
	emit_entity(ir, t, r, dir, fam);
	for (s = SIDE_SRC; s <= SIDE_DST; s++) {
		if (rs->port[s][0])
			emit_port_match(ir, t, rs->port[s], s, 0);
		if (rs->notport[s][0])
			emit_port_match(ir, t, rs->notport[s], s, 1);
	}
	if (rs->hport[0])
		emit_host_port_match(ir, t, rs->hport);
	if (r->icmp.type >= 0) {
		e_payload(ir, NFT_PAYLOAD_TRANSPORT_HEADER, 0, 1, REG0);
		e_cmp_u8(ir, REG0, (uint8_t)r->icmp.type);
		strbuf_addf(t, "%s type %d ", icmp_word(r), r->icmp.type);
	}
	if (r->icmp.code >= 0) {
		e_payload(ir, NFT_PAYLOAD_TRANSPORT_HEADER, 1, 1, REG0);
		e_cmp_u8(ir, REG0, (uint8_t)r->icmp.code);
		strbuf_addf(t, "%s code %d ", icmp_word(r), r->icmp.code);
	}
}

static void
make_prefix(char *buf, char verdict, int dir, int ri, const char *policy)
{
	if (ri < 0)
		snprintf(buf, IR_PREFIXMAX, "bh|%c|%c|*|%.100s", verdict,
		    dir == POL_INGRESS ? 'I' : 'E', policy);
	else
		snprintf(buf, IR_PREFIXMAX, "bh|%c|%c|%d|%.100s", verdict,
		    dir == POL_INGRESS ? 'I' : 'E', ri, policy);
}

/* The verdict that lets a packet through this direction: see compile.h. */
static void
emit_pass(struct ir_rule *ir, struct strbuf *t, int dir)
{
	if (dir == POL_INGRESS) {
		e_verdict(ir, NF_ACCEPT, NULL);
		strbuf_addstr(t, "accept");
	} else {
		/* Egress passed: go on to the destination's ingress gate. */
		e_verdict(ir, NFT_RETURN, NULL);
		strbuf_addstr(t, "return");
	}
}

/*
 * One matcher rule per family.  kind: 'P' pass, 'D' drop, 'R' return,
 * 'L' log with verdict letter lv (no verdict: go on).
 */
static void
emit_one(struct compiler *c, const char *chain, const struct rule *r,
    const struct rule_sets *rs, int dir, int fam, char kind,
    const char *prefix, const char *tag)
{
	struct strbuf	 t;
	struct ir_rule	*ir = rule_new(c->in, chain, &t);

	/* The tag names the counter's rule: nft_counters reads it back. */
	if (kind != 'L' && tag != NULL)
		ir->comment = xstrdup(tag);
	emit_rule_match(ir, &t, r, dir, rs, fam);
	switch (kind) {
	case 'L':
		e_limit_log(c, ir, &t, prefix);
		break;
	case 'P':
		e_counter(ir);
		strbuf_addstr(&t, "counter ");
		emit_pass(ir, &t, dir);
		break;
	case 'R':
		e_counter(ir);
		e_verdict(ir, NFT_RETURN, NULL);
		strbuf_addstr(&t, "counter return");
		break;
	case 'D':
		e_counter(ir);
		e_verdict(ir, NF_DROP, NULL);
		strbuf_addstr(&t, "counter drop");
		break;
	}
	rule_done(ir, &t);
}

static void
emit_rule(struct compiler *c, const char *chain, const struct policy *p,
    const struct rule *r, const struct rule_sets *rs, int dir, int ri,
    int audit)
{
	char		prefix[IR_PREFIXMAX], tag[IR_PREFIXMAX];
	int		agnostic, f;
	unsigned	fams = rule_families(r, dir, rs, &agnostic);
	int		famv[3], nf = 0;

	if (agnostic)
		famv[nf++] = 0;
	else
		for (f = 0; f < 2; f++)
			if (fams & (1u << f))
				famv[nf++] = f ? 6 : 4;
	/* Counter tags: allow +, deny D, any rule of an audit policy A. */
	make_prefix(tag, audit ? 'A' : r->action == POL_DENY ? 'D' : '+', dir,
	    ri, p->name);
	for (f = 0; f < nf; f++) {
		switch (r->action) {
		case POL_ALLOW:
			if (r->log) {
				make_prefix(prefix, 'L', dir, ri, p->name);
				emit_one(c, chain, r, rs, dir, famv[f], 'L',
				    prefix, NULL);
			}
			emit_one(c, chain, r, rs, dir, famv[f],
			    audit ? 'R' : 'P', NULL, tag);
			break;
		case POL_DENY:
			make_prefix(prefix, audit ? 'A' : 'D', dir, ri, p->name);
			emit_one(c, chain, r, rs, dir, famv[f], 'L', prefix,
			    NULL);
			emit_one(c, chain, r, rs, dir, famv[f],
			    audit ? 'R' : 'D', NULL, tag);
			break;
		case POL_LOG:
			make_prefix(prefix, 'L', dir, ri, p->name);
			emit_one(c, chain, r, rs, dir, famv[f], 'L', prefix,
			    NULL);
			break;
		}
	}
}

/* The last rules of a chain: log (rate-limited), then the verdict. */
static void
emit_default(struct compiler *c, const char *chain, char verdict, int dir,
    const char *policy, int drop)
{
	char		 prefix[IR_PREFIXMAX];
	struct strbuf	 t;
	struct ir_rule	*ir;

	make_prefix(prefix, verdict, dir, -1, policy);
	ir = rule_new(c->in, chain, &t);
	e_limit_log(c, ir, &t, prefix);
	rule_done(ir, &t);
	if (!drop)
		return;
	/* A separate rule: a limit on the drop would let packets through. */
	ir = rule_new(c->in, chain, &t);
	e_drop(ir, &t, prefix);
	rule_done(ir, &t);
}

/*
 * The destination port set of rule ri of policy pi (direction dir) with
 * its port name resolved to port: one set per number, shared by every
 * rule and chain that needs it.
 */
static void
named_port_set(struct compiler *c, struct rule_sets *rs, size_t pi,
    int dir, size_t ri, int port)
{
	struct port_range	pr = { (uint16_t)port, (uint16_t)port };
	struct strbuf		k;

	strbuf_init(&k);
	snprintf(rs->port[SIDE_DST], IR_NAMELEN, "p%zu_%c%zu_np%d", pi,
	    dir ? 'e' : 'i', ri, port);
	strbuf_addstr(&k, "port|");
	key_ports(&k, &pr, 1);
	if (set_intern(c, &k, rs->port[SIDE_DST]))
		fill_port_set(set_new(c->in, rs->port[SIDE_DST],
		    IR_TYPE_INET_SERVICE, 2, 0), &pr, 1);
	strbuf_release(&k);
}

/* ---- egress to a named port ---- */

/*
 * Does container ct match peer p as a remote endpoint: its selector, its
 * namespaceSelector (as the evaluator: the namespace's labels) and, when
 * the peer has nets, one of its addresses?  For named-port rules only.
 */
static int
named_peer_admits(const struct compiler *c, const struct peer *p,
    const struct container *ct)
{
	struct labelset	nsl;
	size_t		i;
	int		ok = 1, fam;

	if (p->selector && !selector_match(p->selector, &ct->labels))
		return 0;
	if (p->ns_selector) {
		evaluate_ns_labels(c->ps, evaluate_namespace(&ct->labels),
		    &nsl);
		ok = selector_match(p->ns_selector, &nsl);
		labelset_release(&nsl);
	}
	if (!ok || p->nnets == 0)
		return ok;
	for (i = 0; i < ct->neps; i++)
		for (fam = 4; fam <= 6; fam += 2) {
			const void *a = ep_addr(&ct->eps[i], fam);

			if (a && peer_nets_contain(p, fam, a))
				return 1;
		}
	return 0;
}

/* The distinct numbers the containers matching the rule's destination
 * give its port name, sorted, in *n.  Caller frees. */
static int *
named_remote_ports(const struct compiler *c, const struct rule *r, size_t *n)
{
	const struct peer	*p = &r->destination;
	int			*v = NULL, port;
	size_t			 i, j;

	*n = 0;
	for (i = 0; i < c->nct; i++) {
		port = k8s_named_port(&c->ctv[i]->labels, p->port_name,
		    r->protocol);
		if (port < 0 || !named_peer_admits(c, p, c->ctv[i]))
			continue;
		for (j = 0; j < *n && v[j] != port; j++)
			;
		if (j < *n)
			continue;
		v = xreallocarray(v, *n + 1, sizeof(*v));
		for (j = *n; j > 0 && v[j - 1] > port; j--)
			v[j] = v[j - 1];
		v[j] = port;
		(*n)++;
	}
	return v;
}

/* The addresses (family fam) of the containers matching the rule's
 * destination that give its port name the number port. */
static void
named_addr_set(struct compiler *c, struct rule_sets *rs, size_t pi,
    size_t ri, int port, int fam)
{
	const struct rule	*r = &c->ps->v[pi]->rules[POL_EGRESS][ri];
	const struct peer	*p = &r->destination;
	char			*name = rs->addr[SIDE_DST][fam == 4 ? 0 : 1];
	struct range		*v = NULL;
	size_t			 n = 0, i, k, len = fam == 4 ? 4 : 16;
	struct strbuf		 key;

	snprintf(name, IR_NAMELEN, "p%zu_e%zu_np%d_daddr%d", pi, ri, port,
	    fam);
	strbuf_init(&key);
	/* Unique to this rule: its peer's criteria and the name decide. */
	strbuf_addf(&key, "named%d|p%zu|r%zu|%d", fam, pi, ri, port);
	if (!set_intern(c, &key, name)) {
		strbuf_release(&key);
		return;
	}
	strbuf_release(&key);
	for (k = 0; k < c->nct; k++) {
		const struct container *ct = c->ctv[k];

		if (k8s_named_port(&ct->labels, p->port_name, r->protocol) !=
		    port || !named_peer_admits(c, p, ct))
			continue;
		for (i = 0; i < ct->neps; i++) {
			const void *a = ep_addr(&ct->eps[i], fam);

			if (a == NULL || !peer_nets_contain(p, fam, a))
				continue;
			v = xreallocarray(v, n + 1, sizeof(*v));
			range_from_addr(&v[n++], a, len);
		}
	}
	/* Container addresses: exact values. */
	set_add_ranges(set_new(c->in, name, fam == 4 ? IR_TYPE_IPV4 :
	    IR_TYPE_IPV6, (uint32_t)len, 0), v, n);
	free(v);
}

/*
 * An egress rule to a named port (NetworkPolicy): the destinations may
 * give the name different numbers, so the rule is emitted once per
 * number N, for the addresses of the containers that name N, on port N.
 * Non-containers have no named ports: nothing else matches.
 */
static void
emit_named_remote(struct compiler *c, const char *chain, size_t pi,
    size_t ri, const struct rule_sets *base, int audit)
{
	const struct policy	*p = c->ps->v[pi];
	const struct rule	*r = &p->rules[POL_EGRESS][ri];
	struct rule_sets	 rs;
	size_t			 n, i;
	int			*ports = named_remote_ports(c, r, &n);

	for (i = 0; i < n; i++) {
		rs = *base;
		named_port_set(c, &rs, pi, POL_EGRESS, ri, ports[i]);
		named_addr_set(c, &rs, pi, ri, ports[i], 4);
		named_addr_set(c, &rs, pi, ri, ports[i], 6);
		emit_rule(c, chain, p, r, &rs, POL_EGRESS, (int)ri, audit);
	}
	free(ports);
}

static void
emit_policy_rules(struct compiler *c, const char *chain, size_t pi, int dir,
    const struct container *ct, int audit)
{
	const struct policy	*p = c->ps->v[pi];
	size_t			 ri;

	for (ri = 0; ri < p->nrules[dir]; ri++) {
		const struct rule *r = &p->rules[dir][ri];
		struct rule_sets rs = c->sets[dir][c->setbase[dir][pi] + ri];
		int port = rule_local_port(r, dir, ct);

		if (!rule_local_admits(c, r, dir, ct))
			continue;
		if (port > 0)
			named_port_set(c, &rs, pi, dir, ri, port);
		if (dir == POL_EGRESS && r->destination.port_name)
			emit_named_remote(c, chain, pi, ri, &rs, audit);
		else
			emit_rule(c, chain, p, r, &rs, dir, (int)ri, audit);
	}
}

/*
 * An audit policy is evaluated in a chain of its own: its allow returns,
 * its deny and its end only log a would-deny, so it never changes what
 * passes.
 */
static void
emit_audit_policy(struct compiler *c, const char *chain, size_t pi, int dir,
    const struct container *ct)
{
	char		 sub[IR_NAMELEN];
	struct strbuf	 t;
	struct ir_rule	*ir;

	/* chain is "in_<class>"/"eg_<class>": the sub-chain is per class too. */
	snprintf(sub, sizeof(sub), "au%zu_%.40s", pi, chain);
	ir_chain_add(c->in, sub);
	emit_policy_rules(c, sub, pi, dir, ct, 1);
	emit_default(c, sub, 'A', dir, c->ps->v[pi]->name, 0);
	ir = rule_new(c->in, chain, &t);
	e_verdict(ir, NFT_JUMP, sub);
	strbuf_addf(&t, "jump %s", sub);
	rule_done(ir, &t);
}

/*
 * Containers that the same policies select, with the same rules admitting
 * them on their own side, share one chain per direction: the chain's rules
 * depend on nothing else.  So 10,000 replicas of a service cost one chain,
 * and one more replica costs map elements, not rules.  Whatever makes a
 * chain's rules depend on the container must be part of this key.
 */
static void
class_key(struct compiler *c, size_t ord, int dir, struct strbuf *key)
{
	const struct container	*ct = c->ctv[ord];
	const struct ordlist	*sel = &c->selected[dir][ord];
	size_t			 i, pi, ri;

	for (i = 0; i < sel->n; i++) {
		const struct policy *p = c->ps->v[pi = sel->v[i]];

		strbuf_addf(key, "%zu%c", pi, p->mode == POL_AUDIT ? 'a' : 'e');
		for (ri = 0; ri < p->nrules[dir]; ri++) {
			const struct rule *r = &p->rules[dir][ri];
			int port = rule_local_port(r, dir, ct);

			if (!rule_local_admits(c, r, dir, ct))
				strbuf_addstr(key, "0");
			else if (port > 0)
				strbuf_addf(key, "(%d)", port);
			else
				strbuf_addstr(key, "1");
		}
		strbuf_addstr(key, ";");
	}
}

/* Fills the rules of a class chain, for its first container. */
static void
emit_class_chain(struct compiler *c, size_t ord, int dir, const char *chain)
{
	const struct container	*ct = c->ctv[ord];
	const struct ordlist	*sel = &c->selected[dir][ord];
	const char		*first_enforce = NULL;
	size_t			 i, pi;

	ir_chain_add(c->in, chain);
	for (i = 0; i < sel->n; i++) {
		const struct policy *p = c->ps->v[pi = sel->v[i]];

		if (p->mode == POL_AUDIT) {
			emit_audit_policy(c, chain, pi, dir, ct);
			continue;
		}
		if (first_enforce == NULL)
			first_enforce = p->name;
		emit_policy_rules(c, chain, pi, dir, ct, 0);
	}
	if (first_enforce)
		emit_default(c, chain, 'D', dir, first_enforce, 1);
}

/*
 * Names in chain the class chain of ct in dir, emitting it when new.
 * Returns 1 when the container is isolated in dir (some policy selects it).
 */
static int
emit_container_chain(struct compiler *c, size_t ord, int dir, char *chain)
{
	struct chain_class	*cl;
	struct strbuf		 key;
	int			 isnew;

	strbuf_init(&key);
	class_key(c, ord, dir, &key);
	if (key.len == 0) {
		strbuf_release(&key);
		return 0;
	}
	cl = class_find(c, dir, key.buf, &isnew);
	strbuf_release(&key);
	if (isnew && c->ncollide)	/* a 64-bit collision: name it apart */
		snprintf(cl->chain, IR_NAMELEN, "%s_%016llx_%d",
		    dir ? "eg" : "in", (unsigned long long)cl->hash,
		    c->ncollide);
	else if (isnew)
		snprintf(cl->chain, IR_NAMELEN, "%s_%016llx",
		    dir ? "eg" : "in", (unsigned long long)cl->hash);
	strlcpy_bh(chain, cl->chain, IR_NAMELEN);
	if (c->removing) {
		/* The last container of a class takes its chain along. */
		if (isnew || cl->members == 0)
			c->refused = 1;
		else if (--cl->members == 0)
			emit_class_chain(c, ord, dir, chain);
		return 1;
	}
	if (cl->members++ == 0)
		emit_class_chain(c, ord, dir, chain);
	return 1;
}

/* ---- containers not classified yet ---- */

/*
 * bridges: the Linux bridges of Docker's networks, an interval set of
 * interface names so that "br-*" is one element.  This kernel has no
 * bridge-family meta ibrname, so unclassified ports are caught in the inet
 * family, where the bridge is the packet's interface.
 */
static void
bridges_add(struct compiler *c, const char *name, int wildcard)
{
	struct ir_set	*s = ir_set_find(c->in, "bridges");
	struct range	 r;

	memset(&r, 0, sizeof(r));
	strlcpy_bh((char *)r.lo, name, IF_NAMESIZE);
	memcpy(r.hi, r.lo, IF_NAMESIZE);
	if (wildcard)
		memset(r.hi + strlen(name), 0xff, IF_NAMESIZE - strlen(name));
	c->bridge_ranges = xreallocarray(c->bridge_ranges,
	    c->nbridge_ranges + 1, sizeof(r));
	c->bridge_ranges[c->nbridge_ranges++] = r;
	(void)s;
}

/* 1 when the default entries of the bridges set cover name. */
static int
bridge_default(const char *name)
{
	return strcmp(name, "docker0") == 0 || strncmp(name, "br-", 3) == 0;
}

/* The count of endpoints on bridge name (created at 0). */
static struct bridge_count *
bridge_count(struct compiler *c, const char *name)
{
	struct bridge_count	*b;
	size_t			 i;

	for (i = 0; i < c->nbcounts; i++)
		if (strncmp(c->bcounts[i].name, name, IF_NAMESIZE) == 0)
			return &c->bcounts[i];
	c->bcounts = xreallocarray(c->bcounts, c->nbcounts + 1,
	    sizeof(*c->bcounts));
	b = &c->bcounts[c->nbcounts++];
	memset(b, 0, sizeof(*b));
	strlcpy_bh(b->name, name, sizeof(b->name));
	return b;
}

static void
bridges_finish(struct compiler *c)
{
	set_add_ranges(ir_set_find(c->in, "bridges"), c->bridge_ranges,
	    c->nbridge_ranges);
	free(c->bridge_ranges);
}

/* An IPv6 source that is not link-local (fe80::/10). */
static void
e_not_ll6(struct ir_rule *r, struct strbuf *t, enum side s)
{
	uint8_t		fe80[2] = { 0xfe, 0x80 }, m[2] = { 0xff, 0xc0 };
	struct ir_expr	*e;

	e_payload(r, NFT_PAYLOAD_NETWORK_HEADER, s == SIDE_SRC ? 8 : 24, 2,
	    REG0);
	e = ir_expr_add(r, IR_BITWISE);
	e->u.bitwise.sreg = e->u.bitwise.dreg = REG0;
	e->u.bitwise.len = 2;
	memcpy(e->u.bitwise.mask, m, 2);
	e_cmp(r, NFT_CMP_NEQ, REG0, fe80, 2);
	strbuf_addf(t, "%s != fe80::/10 ", addr_text(6, s));
}

/* An IPv6 source that is not the unspecified address (DAD, MLD at start). */
static void
e_not_unspec6(struct ir_rule *r, struct strbuf *t)
{
	e_addr(r, 6, SIDE_SRC);
	e_cmp(r, NFT_CMP_NEQ, REG0, &in6addr_any, 16);
	strbuf_addstr(t, "ip6 saddr != :: ");
}

/*
 * A container bulkheadd has not classified yet (its veth shows up before
 * Docker's start event, or its veth is not found) is held back both ways
 * until it is known: a unicast packet from or to a Docker bridge whose
 * container address is not known is logged and dropped (fail closed, like
 * Cilium's init identity).  The rules that send a packet here come after
 * the lookups that would have found its address (see emit_inet_base), so
 * the address is not looked up again; this chain only logs and drops (or,
 * failing open, logs and counts).
 */
static void
emit_pending_chain(struct compiler *c, int dir)
{
	const char	*name = dir == POL_INGRESS ? "p_ingress" : "p_egress";
	char		 prefix[IR_PREFIXMAX];
	struct strbuf	 t;
	struct ir_rule	*r;

	/* Fail open: logged as seen, let through. */
	snprintf(prefix, sizeof(prefix), "bh|%c|%c|*|unclassified-container",
	    c->opts->fail_open ? 'L' : 'P', dir == POL_INGRESS ? 'I' : 'E');
	ir_chain_add(c->in, name);
	r = rule_new(c->in, name, &t);
	e_limit_log(c, r, &t, prefix);
	rule_done(r, &t);
	r = rule_new(c->in, name, &t);
	if (c->opts->fail_open) {
		e_counter(r);
		strbuf_addstr(&t, "counter");
	} else {
		e_drop(r, &t, prefix);
	}
	rule_done(r, &t);
}

/*
 * "A packet of family fam on a Docker bridge (from it for egress, to it as
 * unicast for ingress) goes to the pending chain": emitted where the
 * packet's container address is known to be nobody's.  IPv6 link-local and
 * unspecified addresses carry no identity and are left alone.
 */
static void
emit_pending_rule(struct compiler *c, const char *chain, int fam, int dir)
{
	const char	*to = dir == POL_INGRESS ? "p_ingress" : "p_egress";
	enum side	 s = dir == POL_INGRESS ? SIDE_DST : SIDE_SRC;
	uint8_t		 host = 0;	/* PACKET_HOST */
	struct strbuf	 t;
	struct ir_rule	*r = rule_new(c->in, chain, &t);

	e_nfproto(r, &t, fam);
	e_meta(r, s == SIDE_SRC ? NFT_META_IIFNAME : NFT_META_OIFNAME, REG0);
	e_lookup(r, "bridges", REG0, 0);
	strbuf_addf(&t, "%s @bridges ", s == SIDE_SRC ? "iifname" : "oifname");
	if (s == SIDE_DST) {
		e_meta(r, NFT_META_PKTTYPE, REG0);
		e_cmp(r, NFT_CMP_EQ, REG0, &host, 1);
		strbuf_addstr(&t, "meta pkttype host ");
	}
	if (fam == 6)
		e_not_ll6(r, &t, s);
	if (fam == 6 && s == SIDE_SRC)
		e_not_unspec6(r, &t);
	e_verdict(r, NFT_GOTO, to);
	strbuf_addf(&t, "goto %s", to);
	rule_done(r, &t);
}

/* ---- base chains ---- */

static void
base_chain(struct ir_table *t, const char *name, uint32_t hook, int prio)
{
	struct ir_chain	*ch = ir_chain_add(t, name);

	ch->base = 1;
	strlcpy_bh(ch->type, "filter", sizeof(ch->type));
	ch->hook = hook;
	ch->priority = prio;
	ch->policy = NF_ACCEPT;
}

/* Established and related traffic goes to chain to (quarantine), or is accepted (to NULL). */
static void
emit_established(struct ir_table *t, const char *chain, const char *to)
{
	struct strbuf	 txt;
	struct ir_rule	*r = rule_new(t, chain, &txt);
	uint32_t	 bits = NF_CT_STATE_BIT(IP_CT_ESTABLISHED) |
			    NF_CT_STATE_BIT(IP_CT_RELATED), zero = 0;
	struct ir_expr	*e = ir_expr_add(r, IR_CT);

	e->u.ct.key = NFT_CT_STATE;
	e->u.ct.dreg = REG0;
	e_bitwise32(r, REG0, bits, 0);
	e_cmp(r, NFT_CMP_NEQ, REG0, &zero, 4);
	e_verdict(r, to ? NFT_GOTO : NF_ACCEPT, to);
	if (to)
		strbuf_addf(&txt, "ct state established,related goto %s", to);
	else
		strbuf_addstr(&txt, "ct state established,related accept");
	rule_done(r, &txt);
}

/*
 * IPv6 neighbour discovery (router and neighbour solicitations and
 * advertisements, ICMPv6 types 133-136) is the link's plumbing, as ARP is
 * for IPv4 (which the inet family never sees): it passes whatever the
 * policies say, or a container whose egress is restricted could not
 * resolve its peers, nor answer the probes of those it talks to.  The
 * port guard has already checked the sender's MAC and address.  It goes
 * where established traffic goes: past the quarantine, then accepted.
 */
static void
emit_nd6(struct ir_table *t, const char *chain, const char *to)
{
	struct strbuf	 txt;
	struct ir_rule	*r = rule_new(t, chain, &txt);
	uint8_t		 lo = 133, hi = 136;

	e_meta(r, NFT_META_L4PROTO, REG0);
	e_cmp_u8(r, REG0, IPPROTO_ICMPV6);
	e_payload(r, NFT_PAYLOAD_TRANSPORT_HEADER, 0, 1, REG0);
	e_cmp(r, NFT_CMP_GTE, REG0, &lo, 1);
	e_cmp(r, NFT_CMP_LTE, REG0, &hi, 1);
	e_verdict(r, to ? NFT_GOTO : NF_ACCEPT, to);
	if (to)
		strbuf_addf(&txt, "meta l4proto icmpv6 icmpv6 type 133-136 "
		    "goto %s", to);
	else
		strbuf_addstr(&txt, "meta l4proto icmpv6 icmpv6 type 133-136 "
		    "accept");
	rule_done(r, &txt);
}

static void
emit_dispatch(struct ir_table *t, const char *chain, int dir)
{
	int	fam;

	for (fam = 4; fam <= 6; fam += 2) {
		struct strbuf	 txt;
		struct ir_rule	*r = rule_new(t, chain, &txt);
		char		 map[8];
		enum side	 s = dir == POL_EGRESS ? SIDE_SRC : SIDE_DST;

		snprintf(map, sizeof(map), "%s%d", dir ? "eg" : "in", fam);
		e_nfproto(r, &txt, fam);
		e_addr(r, fam, s);
		e_vmap(r, map, REG0);
		strbuf_addf(&txt, "%s vmap @%s", addr_text(fam, s), map);
		rule_done(r, &txt);
	}
}

/* A lookup of the source or destination address in set, then goto to. */
static void
emit_addr_goto(struct compiler *c, const char *chain, int fam, enum side s,
    const char *set, const char *to)
{
	struct strbuf	 t;
	struct ir_rule	*r = rule_new(c->in, chain, &t);

	e_nfproto(r, &t, fam);
	e_addr(r, fam, s);
	e_lookup(r, set, REG0, 0);
	e_verdict(r, NFT_GOTO, to);
	strbuf_addf(&t, "%s @%s goto %s", addr_text(fam, s), set, to);
	rule_done(r, &t);
}

/* A chain that logs with prefix (rate-limited) and drops, in two rules. */
static void
emit_log_drop_chain(struct compiler *c, struct ir_table *t, const char *name,
    const char *prefix)
{
	struct strbuf	 txt;
	struct ir_rule	*r;

	ir_chain_add(t, name);
	r = rule_new(t, name, &txt);
	e_limit_log(c, r, &txt, prefix);
	rule_done(r, &txt);
	r = rule_new(t, name, &txt);
	e_drop(r, &txt, prefix);
	rule_done(r, &txt);
}

/*
 * identity: where a packet without our mark goes (it did not come
 * through a port guard: from the host, the world, a container bulkhead
 * has not classified, or a spoof).  A quarantined source is cut first;
 * a known container address is a spoof or a stale port (unverified);
 * anything else from a Docker bridge is an unclassified container.
 * Marked packets never come here: the guard has checked their source.
 */
static void
emit_identity(struct compiler *c)
{
	int	fam;
	char	set[16];

	emit_log_drop_chain(c, c->in, "unverified",
	    "bh|S|E|*|unverified-source");
	ir_chain_add(c->in, "identity");
	for (fam = 4; fam <= 6; fam += 2) {
		snprintf(set, sizeof(set), "quarantine%d", fam);
		emit_addr_goto(c, "identity", fam, SIDE_SRC, set, "q_egress");
		snprintf(set, sizeof(set), "addrs%d", fam);
		emit_addr_goto(c, "identity", fam, SIDE_SRC, set, "unverified");
	}
	for (fam = 4; fam <= 6; fam += 2)
		emit_pending_rule(c, "identity", fam, POL_EGRESS);
}

/* meta mark & bit == 0 jump identity */
static void
emit_unmarked(struct compiler *c, const char *chain)
{
	struct strbuf	 txt;
	struct ir_rule	*r = rule_new(c->in, chain, &txt);
	uint32_t	 bit = c->opts->mark_bit;

	e_meta(r, NFT_META_MARK, REG0);
	e_bitwise32(r, REG0, bit, 0);
	e_cmp(r, NFT_CMP_EQ, REG0, &(uint32_t){ 0 }, 4);
	e_verdict(r, NFT_JUMP, "identity");
	strbuf_addf(&txt, "meta mark & 0x%08x == 0 jump identity", bit);
	rule_done(r, &txt);
}

/*
 * Quarantine: a frame from or to a quarantined container's veth is logged
 * (bh|Q) and dropped in the bridge family, ahead of the guard and of every
 * policy, established connections included.  One lookup per hook: a hit
 * goes to a chain that logs and drops.
 */
static void
emit_quarantine_chain(struct compiler *c, struct ir_table *t, int dir)
{
	char	prefix[IR_PREFIXMAX];

	snprintf(prefix, sizeof(prefix), "bh|Q|%c|*|quarantine",
	    dir == POL_INGRESS ? 'I' : 'E');
	emit_log_drop_chain(c, t, dir == POL_INGRESS ? "q_ingress" :
	    "q_egress", prefix);
}

/*
 * The same by address in the inet family (it holds before a veth is
 * known).  New connections find a quarantined address in the dispatch
 * maps (eg4, in4: a goto to q_egress or q_ingress instead of the class
 * chain); established traffic and neighbour discovery, which pass before
 * the maps, come through chain quarantine, which accepts what is not cut.
 */
static void
emit_quarantine_inet(struct compiler *c)
{
	char		 set[16];
	struct strbuf	 t;
	struct ir_rule	*r;
	int		 fam;

	set_new(c->in, "quarantine4", IR_TYPE_IPV4, 4, 0);
	set_new(c->in, "quarantine6", IR_TYPE_IPV6, 16, 0);
	emit_quarantine_chain(c, c->in, POL_EGRESS);
	emit_quarantine_chain(c, c->in, POL_INGRESS);
	ir_chain_add(c->in, "quarantine");
	for (fam = 4; fam <= 6; fam += 2) {
		snprintf(set, sizeof(set), "quarantine%d", fam);
		emit_addr_goto(c, "quarantine", fam, SIDE_SRC, set, "q_egress");
		emit_addr_goto(c, "quarantine", fam, SIDE_DST, set,
		    "q_ingress");
	}
	r = rule_new(c->in, "quarantine", &t);
	e_verdict(r, NF_ACCEPT, NULL);
	strbuf_addstr(&t, "accept");
	rule_done(r, &t);
}

/*
 * Is any container in quarantine (running or not)?  Only then do
 * established traffic and the bridge's forward and output hooks pay the
 * quarantine's lookups.  The list, not the sets: a quarantined container
 * that starts again comes as a patch, which does not touch base chains.
 */
static int
quarantine_any(const struct compiler *c)
{
	return c->opts->quarantine != NULL && c->opts->quarantine->n > 0;
}

/*
 * The base chains.  A new connection between two classified containers
 * costs: the ct state, the ND test, the mark test, one egress map lookup
 * (source address) and one ingress map lookup (destination address),
 * then the rules of the class chains.  The ingress maps hold every known
 * address (a goto to its class chain, to q_ingress, or accept), so a miss
 * means an address nobody claims: only then is the bridge looked up for
 * the pending check.
 */
static void
emit_inet_base(struct compiler *c)
{
	struct ir_table	*t = c->in;
	const char	*q = quarantine_any(c) ? "quarantine" : NULL;
	int		 fam;

	set_new(t, "addrs4", IR_TYPE_IPV4, 4, 0);
	set_new(t, "addrs6", IR_TYPE_IPV6, 16, 0);
	set_new(t, "bridges", IR_TYPE_IFNAME, IF_NAMESIZE, NFT_SET_INTERVAL);
	bridges_add(c, "docker0", 0);
	bridges_add(c, "br-", 1);
	vmap_new(t, "in4", IR_TYPE_IPV4, 4);
	vmap_new(t, "in6", IR_TYPE_IPV6, 16);
	vmap_new(t, "eg4", IR_TYPE_IPV4, 4);
	vmap_new(t, "eg6", IR_TYPE_IPV6, 16);
	base_chain(t, "forward", NF_INET_FORWARD, COMPILE_PRIO_INET);
	base_chain(t, "input", NF_INET_LOCAL_IN, COMPILE_PRIO_INET);
	base_chain(t, "output", NF_INET_LOCAL_OUT, COMPILE_PRIO_INET);
	emit_quarantine_inet(c);
	emit_pending_chain(c, POL_EGRESS);
	emit_pending_chain(c, POL_INGRESS);
	emit_identity(c);

	emit_established(t, "forward", q);
	emit_nd6(t, "forward", q);
	emit_unmarked(c, "forward");
	emit_dispatch(t, "forward", POL_EGRESS);
	emit_dispatch(t, "forward", POL_INGRESS);
	for (fam = 4; fam <= 6; fam += 2)
		emit_pending_rule(c, "forward", fam, POL_INGRESS);

	emit_established(t, "input", q);
	emit_nd6(t, "input", q);
	emit_unmarked(c, "input");
	emit_dispatch(t, "input", POL_EGRESS);

	emit_established(t, "output", q);
	emit_nd6(t, "output", q);
	emit_dispatch(t, "output", POL_INGRESS);
}


/* ---- the bridge port guard ---- */

#define CONCAT2(a, b)		(((a) << IR_TYPE_BITS) | (b))
#define CONCAT3(a, b, c)	((CONCAT2(a, b) << IR_TYPE_BITS) | (c))

static struct ir_set *
concat_set(struct ir_table *t, const char *name, uint32_t type,
    const uint8_t *lens, int n)
{
	struct ir_set	*s = ir_set_add(t, name);
	int		 i;

	s->key_type = type;
	s->flags = NFT_SET_CONCAT;
	s->nfields = (uint8_t)n;
	for (i = 0; i < n; i++) {
		s->field_len[i] = lens[i];
		s->key_len += (lens[i] + 3u) & ~3u;
	}
	return s;
}

/* Appends one field to a concatenated key, padded to 4 bytes. */
static size_t
key_put(uint8_t *key, size_t off, const void *v, size_t len)
{
	memcpy(key + off, v, len);
	return off + ((len + 3) & ~(size_t)3);
}

/*
 * The link-local address the kernel gives a port's interface (EUI-64 of
 * its MAC), as a target it may advertise: a neighbour advertisement for
 * any other link-local address is a spoof.  A container that switches
 * to privacy link-local addresses (addr_gen_mode 2 or 3) loses neighbour
 * discovery of its link-local address.
 */
static void
guard_add_ll6(struct compiler *c, const char *ifn, const uint8_t *mac)
{
	uint8_t		 ll[16] = { 0xfe, 0x80 };
	struct ir_elem	*e = ir_elem_add(ir_set_find(c->br, "port_nd6"));
	size_t		 off;

	ll[8] = mac[0] ^ 0x02;
	ll[9] = mac[1];
	ll[10] = mac[2];
	ll[11] = 0xff;
	ll[12] = 0xfe;
	ll[13] = mac[3];
	ll[14] = mac[4];
	ll[15] = mac[5];
	off = key_put(e->key, 0, ifn, IF_NAMESIZE);
	off = key_put(e->key, off, mac, 6);
	key_put(e->key, off, ll, 16);
}

/*
 * A container's port: its veth in ports (to the guard), unless it is
 * quarantined (cut): then only the quarantine set holds it.  A set, not a
 * verdict map: each goto element added to a map makes the kernel walk
 * every jump element of the table at commit, so a container more would
 * cost time in proportion to all the others.
 */
static void
guard_add_port(struct compiler *c, const struct endpoint *ep, int cut)
{
	char		 ifn[IF_NAMESIZE] = { 0 };
	struct ir_elem	*e;
	size_t		 off;

	strlcpy_bh(ifn, ep->veth, sizeof(ifn));
	if (!cut)
		memcpy(ir_elem_add(ir_set_find(c->br, "ports"))->key, ifn,
		    IF_NAMESIZE);
	if (!ep->has_mac)
		return;
	e = ir_elem_add(ir_set_find(c->br, "port_mac"));
	off = key_put(e->key, 0, ifn, IF_NAMESIZE);
	key_put(e->key, off, ep->mac, 6);
	if (ep->has_ip4) {
		e = ir_elem_add(ir_set_find(c->br, "port_ip4"));
		off = key_put(e->key, 0, ifn, IF_NAMESIZE);
		off = key_put(e->key, off, ep->mac, 6);
		key_put(e->key, off, &ep->ip4, 4);
	}
	if (ep->has_ip6) {
		e = ir_elem_add(ir_set_find(c->br, "port_ip6"));
		off = key_put(e->key, 0, ifn, IF_NAMESIZE);
		off = key_put(e->key, off, ep->mac, 6);
		key_put(e->key, off, &ep->ip6, 16);
		memcpy(ir_elem_add(ir_set_find(c->br, "port_nd6"))->key, e->key,
		    sizeof(e->key));
	}
	guard_add_ll6(c, ifn, ep->mac);
}

static void
e_ethertype(struct ir_rule *r, struct strbuf *t, uint16_t type,
    const char *name)
{
	uint16_t	be = htons(type);

	e_payload(r, NFT_PAYLOAD_LL_HEADER, 12, 2, REG0);
	e_cmp(r, NFT_CMP_EQ, REG0, &be, 2);
	strbuf_addf(t, "ether type %s ", name);
}

/* Loads iifname . <ll or nh field> [. field] into consecutive registers. */
static void
e_port_key(struct ir_rule *r, uint32_t macbase, uint32_t macoff,
    uint32_t abase, uint32_t aoff, uint32_t alen)
{
	e_meta(r, NFT_META_IIFNAME, REG0);
	e_payload(r, macbase, macoff, 6, REG0 + 4);
	if (alen)
		e_payload(r, abase, aoff, alen, REG0 + 6);
}

static void
emit_guard_rule(struct compiler *c, const char *what)
{
	struct strbuf	 t;
	struct ir_rule	*r = rule_new(c->br, "guard", &t);
	uint32_t	 bit = c->opts->mark_bit;

	if (strcmp(what, "arp") == 0) {
		e_ethertype(r, &t, ETH_P_ARP_BE, "arp");
		/* Sender hardware and protocol address of the ARP body. */
		e_port_key(r, NFT_PAYLOAD_NETWORK_HEADER, 8,
		    NFT_PAYLOAD_NETWORK_HEADER, 14, 4);
		e_lookup(r, "port_ip4", REG0, 0);
		e_port_key(r, NFT_PAYLOAD_LL_HEADER, 6, 0, 0, 0);
		e_lookup(r, "port_mac", REG0, 0);
		strbuf_addstr(&t, "iifname . arp saddr ether . arp saddr ip "
		    "@port_ip4 iifname . ether saddr @port_mac accept");
	} else {
		int v6 = strcmp(what, "ip6") == 0;

		e_ethertype(r, &t, v6 ? ETH_P_IPV6_BE : ETH_P_IP_BE, what);
		e_port_key(r, NFT_PAYLOAD_LL_HEADER, 6,
		    NFT_PAYLOAD_NETWORK_HEADER, v6 ? 8 : 12, v6 ? 16 : 4);
		e_lookup(r, v6 ? "port_ip6" : "port_ip4", REG0, 0);
		e_meta(r, NFT_META_MARK, REG0);
		e_bitwise32(r, REG0, ~bit, bit);
		{
			struct ir_expr *e = ir_expr_add(r, IR_META_SET);

			e->u.meta.key = NFT_META_MARK;
			e->u.meta.reg = REG0;
		}
		strbuf_addf(&t, "iifname . ether saddr . %s saddr @%s "
		    "meta mark set meta mark | 0x%08x ", what,
		    v6 ? "port_ip6" : "port_ip4", bit);
	}
	e_verdict(r, NF_ACCEPT, NULL);
	if (strcmp(what, "arp") != 0)
		strbuf_addstr(&t, "accept");
	rule_done(r, &t);
}

/* Matches an ICMPv6 message of type type (bridge family). */
static void
e_icmp6_type(struct ir_rule *r, struct strbuf *t, uint8_t type)
{
	e_ethertype(r, t, ETH_P_IPV6_BE, "ip6");
	e_meta(r, NFT_META_L4PROTO, REG0);
	e_cmp_u8(r, REG0, IPPROTO_ICMPV6);
	e_payload(r, NFT_PAYLOAD_TRANSPORT_HEADER, 0, 1, REG0);
	e_cmp_u8(r, REG0, type);
	strbuf_addf(t, "meta l4proto icmpv6 icmpv6 type %u ", type);
}

/*
 * The neighbour-advertisement match: an NA whose target is not one of the
 * port's own addresses, global or link-local (veth . MAC . target).
 */
static void
e_na_foreign_target(struct ir_rule *r, struct strbuf *t)
{
	e_icmp6_type(r, t, 136);
	e_port_key(r, NFT_PAYLOAD_LL_HEADER, 6, NFT_PAYLOAD_TRANSPORT_HEADER,
	    8, 16);
	e_lookup(r, "port_nd6", REG0, 1);
	/* nft 1.0.6 has no name for the target: the raw payload. */
	strbuf_addstr(t, "iifname . ether saddr . @th,64,128 != @port_nd6 ");
}

/*
 * IPv6 neighbour discovery spoofing, the counterpart of the ARP check: a
 * container may advertise only its own addresses (an NA for another
 * container's address would redirect its traffic), and it is no router
 * (router advertisements and redirects would reroute its neighbours).
 * Each is logged (rate-limited) and dropped in a rule of its own.
 */
static void
emit_guard_nd6(struct compiler *c)
{
	static const struct { uint8_t type; const char *name; } what[] = {
		{ 136, "nd-spoof" }, { 134, "router-advert" },
		{ 137, "nd-redirect" },
	};
	char	prefix[IR_PREFIXMAX];
	size_t	i;
	int	j;

	for (i = 0; i < ARRAY_SIZE(what); i++) {
		snprintf(prefix, sizeof(prefix), "bh|S|E|*|%s", what[i].name);
		for (j = 0; j < 2; j++) {
			struct strbuf	 t;
			struct ir_rule	*r = rule_new(c->br, "guard", &t);

			if (what[i].type == 136)
				e_na_foreign_target(r, &t);
			else
				e_icmp6_type(r, &t, what[i].type);
			if (j == 0) {
				e_limit_log(c, r, &t, prefix);
			} else {
				e_drop(r, &t, prefix);
			}
			rule_done(r, &t);
		}
	}
}

/*
 * IPv6 link-local and unspecified sources (neighbour discovery, DAD) carry
 * no identity: they pass when the MAC is the port's, without our mark.
 */
static void
emit_guard_ll6(struct compiler *c)
{
	struct strbuf	 t;
	struct ir_rule	*r = rule_new(c->br, "guard", &t);
	uint8_t		 fe80[2] = { 0xfe, 0x80 }, m[2] = { 0xff, 0xc0 };
	struct ir_expr	*e;

	e_ethertype(r, &t, ETH_P_IPV6_BE, "ip6");
	e_payload(r, NFT_PAYLOAD_NETWORK_HEADER, 8, 2, REG0);
	e = ir_expr_add(r, IR_BITWISE);
	e->u.bitwise.sreg = e->u.bitwise.dreg = REG0;
	e->u.bitwise.len = 2;
	memcpy(e->u.bitwise.mask, m, 2);
	e_cmp(r, NFT_CMP_EQ, REG0, fe80, 2);
	e_port_key(r, NFT_PAYLOAD_LL_HEADER, 6, 0, 0, 0);
	e_lookup(r, "port_mac", REG0, 0);
	e_verdict(r, NF_ACCEPT, NULL);
	strbuf_addstr(&t, "ip6 saddr fe80::/10 iifname . ether saddr "
	    "@port_mac accept");
	rule_done(r, &t);

	r = rule_new(c->br, "guard", &t);
	e_ethertype(r, &t, ETH_P_IPV6_BE, "ip6");
	e_payload(r, NFT_PAYLOAD_NETWORK_HEADER, 8, 16, REG0);
	e_cmp(r, NFT_CMP_EQ, REG0, &in6addr_any, 16);
	e_port_key(r, NFT_PAYLOAD_LL_HEADER, 6, 0, 0, 0);
	e_lookup(r, "port_mac", REG0, 0);
	e_verdict(r, NF_ACCEPT, NULL);
	strbuf_addstr(&t, "ip6 saddr :: iifname . ether saddr @port_mac "
	    "accept");
	rule_done(r, &t);
}

static void
emit_quarantine_port(struct compiler *c, const char *chain, uint32_t key,
    int dir)
{
	const char	*to = dir == POL_INGRESS ? "q_ingress" : "q_egress";
	struct strbuf	 t;
	struct ir_rule	*r = rule_new(c->br, chain, &t);

	e_meta(r, key, REG0);
	e_lookup(r, "quarantine", REG0, 0);
	e_verdict(r, NFT_GOTO, to);
	strbuf_addf(&t, "%s @quarantine goto %s",
	    key == NFT_META_IIFNAME ? "iifname" : "oifname", to);
	rule_done(r, &t);
}

static void
emit_bridge(struct compiler *c)
{
	static const uint8_t l_mac[] = { IF_NAMESIZE, 6 };
	static const uint8_t l_ip4[] = { IF_NAMESIZE, 6, 4 };
	static const uint8_t l_ip6[] = { IF_NAMESIZE, 6, 16 };
	struct strbuf	 t;
	struct ir_rule	*r;
	struct ir_table	*br = c->br;
	struct ir_set	*s;
	char		 prefix[IR_PREFIXMAX];

	set_new(br, "ports", IR_TYPE_IFNAME, IF_NAMESIZE, 0);
	concat_set(br, "port_mac", CONCAT2(IR_TYPE_IFNAME, IR_TYPE_ETHER),
	    l_mac, 2);
	concat_set(br, "port_ip4", CONCAT3(IR_TYPE_IFNAME, IR_TYPE_ETHER,
	    IR_TYPE_IPV4), l_ip4, 3);
	concat_set(br, "port_ip6", CONCAT3(IR_TYPE_IFNAME, IR_TYPE_ETHER,
	    IR_TYPE_IPV6), l_ip6, 3);
	/* The same keys, looked up by the target of a neighbour advertisement. */
	s = concat_set(br, "port_nd6", CONCAT3(IR_TYPE_IFNAME, IR_TYPE_ETHER,
	    IR_TYPE_IPV6), l_ip6, 3);
	strlcpy_bh(s->typeof_expr, "iifname . ether saddr . @th,64,128",
	    sizeof(s->typeof_expr));
	s->plan_key_type = CONCAT3(IR_TYPE_IFNAME, IR_TYPE_ETHER,
	    IR_TYPE_INTEGER);
	set_new(br, "quarantine", IR_TYPE_IFNAME, IF_NAMESIZE, 0);
	base_chain(br, "prerouting", NF_BR_PRE_ROUTING, COMPILE_PRIO_BRIDGE);
	/* Only the quarantine needs them: an empty hook still costs a call. */
	if (quarantine_any(c)) {
		base_chain(br, "forward", NF_BR_FORWARD, COMPILE_PRIO_BRIDGE);
		base_chain(br, "output", NF_BR_LOCAL_OUT, COMPILE_PRIO_BRIDGE);
	}
	ir_chain_add(br, "guard");
	emit_quarantine_chain(c, br, POL_EGRESS);
	emit_quarantine_chain(c, br, POL_INGRESS);
	if (quarantine_any(c)) {
		emit_quarantine_port(c, "forward", NFT_META_OIFNAME,
		    POL_INGRESS);
		emit_quarantine_port(c, "output", NFT_META_OIFNAME,
		    POL_INGRESS);
	}

	/* Nothing arrives carrying our bit: only the guard may set it. */
	r = rule_new(br, "prerouting", &t);
	e_meta(r, NFT_META_MARK, REG0);
	e_bitwise32(r, REG0, ~c->opts->mark_bit, 0);
	{
		struct ir_expr *e = ir_expr_add(r, IR_META_SET);

		e->u.meta.key = NFT_META_MARK;
		e->u.meta.reg = REG0;
	}
	strbuf_addf(&t, "meta mark set meta mark & 0x%08x",
	    ~c->opts->mark_bit);
	rule_done(r, &t);
	/*
	 * A guarded port goes to the guard, a quarantined one (never in
	 * ports) to q_egress: one lookup for a container's frame.
	 */
	r = rule_new(br, "prerouting", &t);
	e_meta(r, NFT_META_IIFNAME, REG0);
	e_lookup(r, "ports", REG0, 0);
	e_verdict(r, NFT_GOTO, "guard");
	strbuf_addstr(&t, "iifname @ports goto guard");
	rule_done(r, &t);
	if (quarantine_any(c))
		emit_quarantine_port(c, "prerouting", NFT_META_IIFNAME,
		    POL_EGRESS);

	/* IPv4 first: the common case tests one ether type. */
	emit_guard_rule(c, "ip");
	emit_guard_rule(c, "arp");
	emit_guard_nd6(c);
	emit_guard_rule(c, "ip6");
	emit_guard_ll6(c);
	snprintf(prefix, sizeof(prefix), "bh|S|E|*|port-guard");
	r = rule_new(br, "guard", &t);
	e_limit_log(c, r, &t, prefix);
	rule_done(r, &t);
	r = rule_new(br, "guard", &t);
	e_drop(r, &t, prefix);
	rule_done(r, &t);
}

/* ---- the whole ruleset ---- */

static int
container_guarded(const struct container *ct, size_t i)
{
	return ct->eps[i].veth[0] != '\0';
}

static void
emit_quarantined(struct compiler *c, const struct endpoint *ep)
{
	char	ifn[IF_NAMESIZE] = { 0 };

	if (ep->veth[0]) {
		strlcpy_bh(ifn, ep->veth, sizeof(ifn));
		memcpy(ir_elem_add(ir_set_find(c->br, "quarantine"))->key, ifn,
		    IF_NAMESIZE);
	}
	if (ep->has_ip4)
		memcpy(ir_elem_add(ir_set_find(c->in, "quarantine4"))->key,
		    &ep->ip4, 4);
	if (ep->has_ip6)
		memcpy(ir_elem_add(ir_set_find(c->in, "quarantine6"))->key,
		    &ep->ip6, 16);
}

/*
 * The dispatch maps' element for address key of a container: cut (a
 * quarantined container) goes to q_<dir> ahead of any policy, an isolated
 * one to its class chain, and in the ingress maps any other known address
 * is accepted (a miss in them then means an address nobody claims).
 * Ingress elements are gotos: in4/in6 end the base chains.
 */
static void
dispatch_add(struct compiler *c, int dir, int fam, const void *key, int cut,
    const char *chain, int known)
{
	char		 map[8];
	struct ir_elem	*e;

	if (!cut && !chain[0] && (dir == POL_EGRESS || !known))
		return;
	snprintf(map, sizeof(map), "%s%d", dir ? "eg" : "in", fam);
	e = ir_elem_add(ir_set_find(c->in, map));
	memcpy(e->key, key, fam == 4 ? 4 : 16);
	if (cut) {
		e->verdict = NFT_GOTO;
		strlcpy_bh(e->chain, dir ? "q_egress" : "q_ingress",
		    IR_NAMELEN);
	} else if (chain[0]) {
		e->verdict = dir == POL_EGRESS ? NFT_JUMP : NFT_GOTO;
		strlcpy_bh(e->chain, chain, IR_NAMELEN);
	} else {
		e->verdict = NF_ACCEPT;
	}
}

/*
 * Everything of one container: its class chains when some policy selects
 * it (managed), then for each endpoint its bridge, port guard,
 * quarantine, known addresses and dispatch elements.
 */
static void
emit_container(struct compiler *c, size_t ord, int managed)
{
	const struct container	*ct = c->ctv[ord];
	char			 chain[POL_NDIRS][IR_NAMELEN];
	int			 cut, dir, known;
	size_t			 i;

	cut = quarantine_find(c->opts->quarantine, ct->id) != NULL;
	for (dir = 0; dir < POL_NDIRS; dir++)
		if (!managed || !emit_container_chain(c, ord, dir, chain[dir]))
			chain[dir][0] = '\0';
	for (i = 0; i < ct->neps; i++) {
		const struct endpoint *ep = &ct->eps[i];

		/*
		 * A patch leaves the bridges set alone (compile_state_patch
		 * refuses what would change it); the counts say when.
		 */
		if (ep->bridge[0] && !c->patching)
			bridges_add(c, ep->bridge, 0);
		if (ep->bridge[0] && !bridge_default(ep->bridge))
			bridge_count(c, ep->bridge)->n += c->removing ? -1 : 1;
		if (cut)
			emit_quarantined(c, ep);
		if (container_guarded(ct, i))
			guard_add_port(c, ep, cut);
		/*
		 * A selected container's address is claimed even before its
		 * veth is known: unverified traffic from it is dropped
		 * (fail closed).  Unselected containers without a guarded
		 * port are left alone.
		 */
		known = managed || container_guarded(ct, i);
		if (known && ep->has_ip4)
			memcpy(ir_elem_add(ir_set_find(c->in, "addrs4"))->key,
			    &ep->ip4, 4);
		if (known && ep->has_ip6)
			memcpy(ir_elem_add(ir_set_find(c->in, "addrs6"))->key,
			    &ep->ip6, 16);
		for (dir = 0; dir < POL_NDIRS; dir++) {
			if (ep->has_ip4)
				dispatch_add(c, dir, 4, &ep->ip4, cut,
				    chain[dir], known);
			if (ep->has_ip6)
				dispatch_add(c, dir, 6, &ep->ip6, cut,
				    chain[dir], known);
		}
	}
}

static void
compile_rule_sets(struct compiler *c)
{
	int	dir;
	size_t	pi, ri, total;

	for (dir = 0; dir < POL_NDIRS; dir++) {
		c->setbase[dir] = xcalloc(c->ps->n + 1, sizeof(size_t));
		for (total = 0, pi = 0; pi < c->ps->n; pi++) {
			c->setbase[dir][pi] = total;
			total += c->ps->v[pi]->nrules[dir];
		}
		c->sets[dir] = xcalloc(total + 1, sizeof(struct rule_sets));
		for (pi = 0; pi < c->ps->n; pi++)
			for (ri = 0; ri < c->ps->v[pi]->nrules[dir]; ri++)
				rule_sets_make(c, &c->sets[dir][c->setbase[dir][pi] + ri],
				    pi, dir, ri, &c->ps->v[pi]->rules[dir][ri]);
	}
}

/* Everything a compile kept for patches. */
static void
compiler_release(struct compiler *c)
{
	int	dir;

	classes_free(c);
	for (dir = 0; dir < POL_NDIRS; dir++) {
		free(c->sets[dir]);
		free(c->setbase[dir]);
	}
	free(c->peers);
	free(c->bcounts);
}

/* The whole ruleset into a new ruleset; c keeps classes and sets. */
static struct ir_ruleset *
compile_run(struct compiler *c, const struct policy_set *ps,
    const struct inventory *inv, const struct compile_opts *opts)
{
	struct ir_ruleset	*rs = ir_ruleset_new();
	size_t			 ord;

	memset(c, 0, sizeof(*c));
	c->ps = ps;
	c->inv = inv;
	c->opts = opts;
	ir_table_add(rs, COMPILE_TABLE, NFPROTO_BRIDGE);
	ir_table_add(rs, COMPILE_TABLE, NFPROTO_INET);
	c->br = &rs->tables[0];
	c->in = &rs->tables[1];
	emit_bridge(c);
	emit_inet_base(c);
	index_build(c);
	selections_build(c);
	compile_rule_sets(c);
	for (ord = 0; ord < c->nct; ord++) {
		int managed = c->selected[POL_INGRESS][ord].n > 0 ||
		    c->selected[POL_EGRESS][ord].n > 0;

		emit_container(c, ord, managed);
	}
	bridges_finish(c);
	index_free(c);
	c->ctv = NULL;
	c->nct = 0;
	c->labels = NULL;
	c->nlabels = 0;
	c->br = c->in = NULL;
	return rs;
}

struct ir_ruleset *
compile_ruleset(const struct policy_set *ps, const struct inventory *inv,
    const struct compile_opts *opts)
{
	struct compiler		 c;
	struct ir_ruleset	*rs = compile_run(&c, ps, inv, opts);

	compiler_release(&c);
	return rs;
}

/* ---- patches: one container at a time ---- */

struct compile_state {
	struct compiler		 c;
	struct ir_ruleset	*rs;
};

struct compile_state *
compile_state_new(const struct policy_set *ps, const struct inventory *inv,
    const struct compile_opts *opts)
{
	struct compile_state	*st = xcalloc(1, sizeof(*st));

	st->rs = compile_run(&st->c, ps, inv, opts);
	st->c.inv = NULL;	/* the caller's, and it will change */
	return st;
}

void
compile_state_free(struct compile_state *st)
{
	if (st == NULL)
		return;
	compiler_release(&st->c);
	ir_ruleset_free(st->rs);
	free(st);
}

struct ir_ruleset *
compile_state_ruleset(const struct compile_state *st)
{
	return st->rs;
}

/* The sets a container's elements go to (see emit_container). */
static const char *const patch_sets[2][12] = {
	{ "ports", "port_mac", "port_ip4", "port_ip6", "port_nd6",
	  "quarantine", NULL },
	{ "quarantine4", "quarantine6", "addrs4", "addrs6", "eg4", "eg6",
	  "in4", "in6", NULL },
};

/* Copies the definition of set name of table from into table to (no elements). */
static struct ir_set *
patch_set_def(struct ir_table *to, const struct ir_table *from,
    const char *name)
{
	const struct ir_set	*o = NULL;
	struct ir_set		*s;
	size_t			 i;

	if ((s = ir_set_find(to, name)) != NULL)
		return s;
	for (i = 0; i < from->nsets && o == NULL; i++)
		if (strcmp(from->sets[i].name, name) == 0)
			o = &from->sets[i];
	if (o == NULL)
		return NULL;
	s = ir_set_add(to, name);
	memcpy(s, o, sizeof(*s));
	s->elems = NULL;
	s->nelems = s->cap = 0;
	return s;
}

struct ir_ruleset *
compile_patch_new(const struct compile_state *st)
{
	struct ir_ruleset	*rs = ir_ruleset_new();
	int			 t;
	size_t			 i;

	for (t = 0; t < 2; t++) {
		struct ir_table *nt = ir_table_add(rs, COMPILE_TABLE,
		    st->rs->tables[t].family);

		for (i = 0; patch_sets[t][i] != NULL; i++)
			patch_set_def(nt, &st->rs->tables[t], patch_sets[t][i]);
	}
	return rs;
}

/* The peer sets that hold ct's addresses: into side, defined in both. */
static void
patch_peers(struct compile_state *st, const struct container *ct,
    struct ir_ruleset *side, struct ir_ruleset *other)
{
	struct compiler	*c = &st->c;
	size_t		 i, k;

	for (i = 0; i < c->npeers; i++) {
		const struct peer_set *ps = &c->peers[i];
		struct ir_set *s = NULL;

		if (!peer_labels_match(c, ps->peer, ct))
			continue;
		for (k = 0; k < ct->neps; k++) {
			const void *a = ep_addr(&ct->eps[k], ps->fam);

			if (a == NULL || !peer_nets_contain(ps->peer, ps->fam, a))
				continue;
			if (s == NULL) {
				s = patch_set_def(&side->tables[1],
				    &st->rs->tables[1], ps->name);
				patch_set_def(&other->tables[1],
				    &st->rs->tables[1], ps->name);
			}
			memcpy(ir_elem_add(s)->key, a, ps->fam == 4 ? 4 : 16);
		}
	}
}

/* What ct brings into the ruleset, into side (removing: what it takes away). */
static void
patch_container(struct compile_state *st, const struct container *ct,
    struct ir_ruleset *side, struct ir_ruleset *other, int removing)
{
	struct compiler		*c = &st->c;
	const struct container	*one[1] = { ct };
	struct ordlist		 sel[POL_NDIRS];
	size_t			 pi;
	int			 dir;

	memset(sel, 0, sizeof(sel));
	for (pi = 0; pi < c->ps->n; pi++)
		for (dir = 0; dir < POL_NDIRS; dir++) {
			if (!policy_selects(c->ps->v[pi], ct, dir))
				continue;
			sel[dir].v = xreallocarray(sel[dir].v, sel[dir].n + 1,
			    sizeof(size_t));
			sel[dir].v[sel[dir].n++] = pi;
		}
	c->ctv = one;
	c->nct = 1;
	for (dir = 0; dir < POL_NDIRS; dir++)
		c->selected[dir] = &sel[dir];
	c->br = &side->tables[0];
	c->in = &side->tables[1];
	c->patching = 1;
	c->removing = removing;
	emit_container(c, 0, sel[POL_INGRESS].n > 0 || sel[POL_EGRESS].n > 0);
	patch_peers(st, ct, side, other);
	c->patching = c->removing = 0;
	c->br = c->in = NULL;
	c->ctv = NULL;
	c->nct = 0;
	for (dir = 0; dir < POL_NDIRS; dir++) {
		free(sel[dir].v);
		c->selected[dir] = NULL;
	}
}

/*
 * Would the change from old to new add a bridge to the bridges set, or
 * take one out?  (An interval set: not something a patch does.)  The
 * first container on a bridge outside docker0/br-* and the last one to
 * leave it are compiled whole.
 */
static int
patch_moves_bridges(struct compile_state *st, const struct container *old,
    const struct container *new)
{
	const struct container	*side[2] = { old, new };
	size_t			 i, j, k;
	int			 s;

	for (s = 0; s < 2; s++)
		for (i = 0; side[s] && i < side[s]->neps; i++) {
			const char *b = side[s]->eps[i].bridge;
			long before, after;

			if (!b[0] || bridge_default(b))
				continue;
			before = after = bridge_count(&st->c, b)->n;
			for (k = 0; k < 2; k++)
				for (j = 0; side[k] && j < side[k]->neps; j++)
					if (strncmp(side[k]->eps[j].bridge, b,
					    IF_NAMESIZE) == 0)
						after += k ? 1 : -1;
			if ((before > 0) != (after > 0))
				return 1;
		}
	return 0;
}

int
compile_state_patch(struct compile_state *st, const struct container *old,
    const struct container *new, struct ir_ruleset *from,
    struct ir_ruleset *to)
{
	if (st->c.named_ports || patch_moves_bridges(st, old, new))
		return -1;
	st->c.refused = 0;
	if (old != NULL)
		patch_container(st, old, from, to, 1);
	if (new != NULL)
		patch_container(st, new, to, from, 0);
	return st->c.refused ? -1 : 0;
}
