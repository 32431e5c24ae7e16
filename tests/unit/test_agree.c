/*
 * test_agree.c: the compiled inet table and the evaluator agree.  A small
 * interpreter runs the IR of compile_ruleset() (expression by expression,
 * as the kernel would) on new connections between containers, the host
 * and the world, and its verdict is compared with evaluate_flow() for
 * every pair, protocol, port and family: first a hand-written set of
 * policies that uses every part of the language, then policy sets drawn
 * at random (fixed seed; AGREE_ROUNDS=N draws N sets, default 1000).  The bridge port guard is taken as passed: a
 * container's packets carry the mark bit.  Audit policies must log a
 * would-deny (bh|A) exactly when the evaluator records one.
 */
#include <arpa/inet.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <linux/netfilter.h>
#include <linux/netfilter/nf_conntrack_common.h>
#include <linux/netfilter/nf_conntrack_tuple_common.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/rtnetlink.h>

#include "compile.h"
#include "errlist.h"
#include "evaluate.h"
#include "inventory.h"
#include "ir.h"
#include "policy.h"
#include "util.h"

#define BRIDGE		"br-0123456789ab"
#define HOST4		"10.1.0.1"
#define HOST6		"fd00:1::1"
#define WORLD4		"198.51.100.2"
#define WORLD6		"2001:db8::2"
#define SPORT		40000

/* ---- the packet and the interpreter ---- */

struct pkt {
	int		fam;			/* 4 or 6 */
	uint8_t		nh[40];			/* network header */
	uint8_t		th[8];			/* transport header */
	uint8_t		l4proto;
	uint32_t	mark;
	char		iif[IF_NAMESIZE];
	char		oif[IF_NAMESIZE];
	int		from_container;
	char		logs[512];		/* prefixes logged, ';'-separated */
};

struct vm {
	struct ir_table	*t;
	const struct pkt *p;
	uint8_t		 regs[80];
	char		*logs;
};

enum { V_CONT, V_ACCEPT, V_DROP, V_JUMP, V_GOTO, V_RETURN, V_BREAK };

static uint8_t *
reg(struct vm *vm, uint32_t r)
{
	assert_true(r >= NFT_REG32_00 && r < NFT_REG32_00 + 16);
	return vm->regs + (r - NFT_REG32_00) * 4;
}

static int
is_host(int fam, const uint8_t *a)
{
	uint8_t	h[16];

	inet_pton(fam == 4 ? AF_INET : AF_INET6, fam == 4 ? HOST4 : HOST6, h);
	return memcmp(a, h, fam == 4 ? 4 : 16) == 0;
}

static void
vm_meta(struct vm *vm, uint32_t key, uint8_t *d)
{
	const struct pkt *p = vm->p;

	memset(d, 0, 16);
	switch (key) {
	case NFT_META_NFPROTO:
		d[0] = p->fam == 4 ? NFPROTO_IPV4 : NFPROTO_IPV6;
		break;
	case NFT_META_L4PROTO:
		d[0] = p->l4proto;
		break;
	case NFT_META_IIFNAME:
		strncpy((char *)d, p->iif, 16);
		break;
	case NFT_META_OIFNAME:
		strncpy((char *)d, p->oif, 16);
		break;
	case NFT_META_MARK:
		memcpy(d, &p->mark, 4);
		break;
	case NFT_META_PKTTYPE:
		d[0] = 0;	/* PACKET_HOST: unicast only here */
		break;
	default:
		fail_msg("meta key %u not simulated", key);
	}
}

static int
vm_cmp(const struct ir_expr *e, const uint8_t *a)
{
	int	r = memcmp(a, e->u.cmp.data, e->u.cmp.len);

	switch (e->u.cmp.op) {
	case NFT_CMP_EQ:	return r == 0;
	case NFT_CMP_NEQ:	return r != 0;
	case NFT_CMP_LT:	return r < 0;
	case NFT_CMP_LTE:	return r <= 0;
	case NFT_CMP_GT:	return r > 0;
	case NFT_CMP_GTE:	return r >= 0;
	}
	fail_msg("cmp op %u", e->u.cmp.op);
	return 0;
}

/* The element of s matching key, or NULL. */
static const struct ir_elem *
vm_set_find(const struct ir_set *s, const uint8_t *key)
{
	size_t	i, len = s->key_len;

	for (i = 0; i < s->nelems; i++) {
		const struct ir_elem *e = &s->elems[i];

		if (s->flags & NFT_SET_INTERVAL) {
			const uint8_t *hi = memcmp(e->key_end, e->key, len) < 0 ?
			    e->key : e->key_end;

			if (memcmp(key, e->key, len) >= 0 &&
			    memcmp(key, hi, len) <= 0)
				return e;
		} else if (memcmp(key, e->key, len) == 0)
			return e;
	}
	return NULL;
}

/* Runs one rule; returns V_* and sets *to for jumps. */
/*
 * ct state of a new connection, or its original destination port: no NAT
 * here, so the packet's own destination port.
 */
static void
vm_ct(struct vm *vm, const struct ir_expr *e)
{
	uint32_t	v = NF_CT_STATE_BIT(IP_CT_NEW);

	if (e->u.ct.key == NFT_CT_PROTO_DST) {
		assert_true(e->u.ct.has_dir);
		assert_int_equal(e->u.ct.dir, IP_CT_DIR_ORIGINAL);
		memcpy(reg(vm, e->u.ct.dreg), vm->p->th + 2, 2);
		return;
	}
	assert_int_equal(e->u.ct.key, NFT_CT_STATE);
	memcpy(reg(vm, e->u.ct.dreg), &v, 4);
}

static int
vm_rule(struct vm *vm, const struct ir_rule *r, const char **to)
{
	size_t	i;

	for (i = 0; i < r->nexprs; i++) {
		const struct ir_expr *e = &r->exprs[i];
		const struct ir_set *s;
		const struct ir_elem *el;
		uint32_t v;
		size_t j;

		switch (e->kind) {
		case IR_META:
			vm_meta(vm, e->u.meta.key, reg(vm, e->u.meta.reg));
			break;
		case IR_PAYLOAD:
			assert_true(e->u.payload.base != NFT_PAYLOAD_LL_HEADER);
			memcpy(reg(vm, e->u.payload.dreg),
			    (e->u.payload.base == NFT_PAYLOAD_NETWORK_HEADER ?
			    vm->p->nh : vm->p->th) + e->u.payload.offset,
			    e->u.payload.len);
			break;
		case IR_CMP:
			if (!vm_cmp(e, reg(vm, e->u.cmp.sreg)))
				return V_BREAK;
			break;
		case IR_BITWISE:
			for (j = 0; j < e->u.bitwise.len; j++)
				reg(vm, e->u.bitwise.dreg)[j] =
				    (reg(vm, e->u.bitwise.sreg)[j] &
				    e->u.bitwise.mask[j]) ^ e->u.bitwise.xor[j];
			break;
		case IR_LOOKUP:
			s = ir_set_find(vm->t, e->u.lookup.set);
			assert_non_null(s);
			el = vm_set_find(s, reg(vm, e->u.lookup.sreg));
			if (e->u.lookup.has_dreg) {
				if (el == NULL)
					return V_BREAK;
				*to = el->chain;
				switch (el->verdict) {
				case NF_ACCEPT:	return V_ACCEPT;
				case NF_DROP:	return V_DROP;
				case NFT_GOTO:	return V_GOTO;
				case NFT_JUMP:	return V_JUMP;
				}
				fail_msg("map verdict %d not simulated",
				    el->verdict);
			}
			if ((el != NULL) == (e->u.lookup.invert != 0))
				return V_BREAK;
			break;
		case IR_CT:
			vm_ct(vm, e);
			break;
		case IR_FIB:
			v = is_host(vm->p->fam, vm->p->nh + (vm->p->fam == 4 ?
			    (e->u.fib.flags & NFTA_FIB_F_SADDR ? 12 : 16) :
			    (e->u.fib.flags & NFTA_FIB_F_SADDR ? 8 : 24))) ?
			    RTN_LOCAL : RTN_UNICAST;
			memcpy(reg(vm, e->u.fib.dreg), &v, 4);
			break;
		case IR_COUNTER:
		case IR_LIMIT:
			break;
		case IR_LOG:
			strncat(vm->logs, e->u.log.prefix,
			    sizeof(((struct pkt *)0)->logs) - strlen(vm->logs) - 2);
			strcat(vm->logs, ";");
			break;
		case IR_VERDICT:
			*to = e->u.verdict.chain;
			switch (e->u.verdict.code) {
			case NF_ACCEPT:	return V_ACCEPT;
			case NF_DROP:	return V_DROP;
			case NFT_JUMP:	return V_JUMP;
			case NFT_GOTO:	return V_GOTO;
			case NFT_RETURN: return V_RETURN;
			}
			return V_CONT;
		default:
			fail_msg("expression kind %d not simulated", e->kind);
		}
	}
	return V_CONT;
}

/* Runs chain and what it jumps to; V_ACCEPT, V_DROP or V_RETURN. */
static int
vm_chain(struct vm *vm, const char *chain, int depth)
{
	size_t	i;

	assert_true(depth < 16);
	for (i = 0; i < vm->t->nrules; i++) {
		const struct ir_rule *r = &vm->t->rules[i];
		const char *to = NULL;
		int v;

		if (strcmp(r->chain, chain) != 0)
			continue;
		switch ((v = vm_rule(vm, r, &to))) {
		case V_ACCEPT:
		case V_DROP:
			return v;
		case V_RETURN:
			return V_RETURN;
		case V_JUMP:
			if ((v = vm_chain(vm, to, depth + 1)) != V_RETURN)
				return v;
			break;
		case V_GOTO:
			return vm_chain(vm, to, depth + 1);
		}
	}
	return V_RETURN;
}

/* 1 when the inet table lets p through base chain hook. */
static int
vm_run(struct ir_table *t, struct pkt *p, const char *hook)
{
	struct vm	vm;

	memset(&vm, 0, sizeof(vm));
	vm.t = t;
	vm.p = p;
	vm.logs = p->logs;
	return vm_chain(&vm, hook, 0) != V_DROP;
}

/* ---- endpoints ---- */

struct ep {
	enum eval_kind		 kind;
	const struct container	*ct;	/* containers */
	const char		*a4, *a6;
};

static int
ep_addr(const struct ep *e, int fam, uint8_t *out)
{
	const char *s = fam == 4 ? e->a4 : e->a6;

	if (e->ct != NULL) {
		if (fam == 4 && e->ct->eps[0].has_ip4) {
			memcpy(out, &e->ct->eps[0].ip4, 4);
			return 1;
		}
		if (fam == 6 && e->ct->eps[0].has_ip6) {
			memcpy(out, &e->ct->eps[0].ip6, 16);
			return 1;
		}
		return 0;
	}
	return inet_pton(fam == 4 ? AF_INET : AF_INET6, s, out) == 1;
}

static void
ep_eval(struct eval_endpoint *out, const struct ep *e, int fam)
{
	uint8_t	a[16];

	if (e->ct != NULL) {
		evaluate_endpoint_container(out, e->ct);
		return;
	}
	evaluate_endpoint_init(out, e->kind);
	if (ep_addr(e, fam, a))
		evaluate_endpoint_add_addr(out, fam == 4 ? AF_INET : AF_INET6, a);
}

struct probe {
	int	proto;
	int	dport;		/* tcp/udp; -1 */
	int	icmp_type;	/* -1 */
	int	sport;		/* tcp/udp */
};

static const struct probe probes[] = {
	{ IPPROTO_TCP, 80, -1, SPORT }, { IPPROTO_TCP, 443, -1, SPORT },
	{ IPPROTO_TCP, 5000, -1, 80 }, { IPPROTO_TCP, 9005, -1, SPORT },
	{ IPPROTO_UDP, 53, -1, SPORT }, { IPPROTO_UDP, 5000, -1, 53 },
	{ IPPROTO_ICMP, -1, 8, 0 }, { IPPROTO_ICMP, -1, 13, 0 },
	{ IPPROTO_ICMPV6, -1, 128, 0 }, { 47, -1, -1, 0 },
};

/* Builds the packet of a new connection src -> dst and the hook it meets. */
static const char *
pkt_build(struct pkt *p, const struct ep *src, const struct ep *dst,
    int fam, const struct probe *pr, uint32_t mark)
{
	uint8_t	a[16];

	memset(p, 0, sizeof(*p));
	p->fam = fam;
	p->l4proto = (uint8_t)pr->proto;
	ep_addr(src, fam, a);
	memcpy(p->nh + (fam == 4 ? 12 : 8), a, fam == 4 ? 4 : 16);
	ep_addr(dst, fam, a);
	memcpy(p->nh + (fam == 4 ? 16 : 24), a, fam == 4 ? 4 : 16);
	if (pr->dport >= 0) {
		p->th[0] = (uint8_t)(pr->sport >> 8);
		p->th[1] = (uint8_t)pr->sport;
		p->th[2] = (uint8_t)(pr->dport >> 8);
		p->th[3] = (uint8_t)pr->dport;
	} else if (pr->icmp_type >= 0)
		p->th[0] = (uint8_t)pr->icmp_type;
	if (src->kind == EVAL_CONTAINER) {
		p->mark = mark;		/* the port guard stamped it */
		strcpy(p->iif, BRIDGE);
	} else if (src->kind == EVAL_WORLD)
		strcpy(p->iif, "eth0");
	if (dst->kind == EVAL_CONTAINER)
		strcpy(p->oif, BRIDGE);
	else if (dst->kind == EVAL_WORLD)
		strcpy(p->oif, "eth0");
	if (dst->kind == EVAL_HOST)
		return "input";
	if (src->kind == EVAL_HOST)
		return "output";
	return "forward";
}

/*
 * 1 when the evaluator records a would-deny on the way the kernel takes:
 * the sender's egress, then the receiver's ingress only if egress passed.
 */
static int
evaluated_would_deny(const struct eval_result *res)
{
	int	d;
	size_t	i;

	for (d = POL_EGRESS; d >= 0; d--) {
		if (d == POL_INGRESS && !res->v[POL_EGRESS].allowed)
			break;
		for (i = 0; i < res->v[d].nsteps; i++)
			if (res->v[d].steps[i].event == EVAL_EV_WOULD_DENY)
				return 1;
	}
	return 0;
}

static const char *
ep_name(const struct ep *e)
{
	if (e->ct)
		return e->ct->name;
	return e->kind == EVAL_HOST ? "host" : "world";
}

/*
 * Compares the interpreter with the evaluator for every flow; returns the
 * number of flows compared, fails with the first disagreement.
 */
static size_t
agree(const struct policy_set *ps, const struct inventory *inv,
    const char *what)
{
	struct compile_opts	 o;
	struct ir_ruleset	*rs;
	struct ir_table		*in = NULL;
	struct ep		 eps[32];
	const struct container	*ct;
	size_t			 n = 0, i, j, k, nflows = 0;
	int			 fam;

	compile_opts_default(&o);
	rs = compile_ruleset(ps, inv, &o);
	for (i = 0; i < rs->ntables; i++)
		if (rs->tables[i].family == NFPROTO_INET)
			in = &rs->tables[i];
	assert_non_null(in);
	TAILQ_FOREACH(ct, &inv->containers, entry) {
		memset(&eps[n], 0, sizeof(eps[n]));
		eps[n].kind = EVAL_CONTAINER;
		eps[n++].ct = ct;
	}
	eps[n++] = (struct ep){ EVAL_HOST, NULL, HOST4, HOST6 };
	eps[n++] = (struct ep){ EVAL_WORLD, NULL, WORLD4, WORLD6 };
	for (i = 0; i < n; i++)
	for (j = 0; j < n; j++) {
		if (i == j || (eps[i].kind != EVAL_CONTAINER &&
		    eps[j].kind != EVAL_CONTAINER))
			continue;
		for (fam = 4; fam <= 6; fam += 2)
		for (k = 0; k < ARRAY_SIZE(probes); k++) {
			const struct probe *pr = &probes[k];
			struct eval_flow f;
			struct eval_result res;
			struct pkt p;
			uint8_t a[16];
			const char *hook;
			int kernel;

			if (!ep_addr(&eps[i], fam, a) || !ep_addr(&eps[j], fam, a))
				continue;
			if ((pr->proto == IPPROTO_ICMP && fam == 6) ||
			    (pr->proto == IPPROTO_ICMPV6 && fam == 4))
				continue;
			evaluate_flow_init(&f);
			ep_eval(&f.src, &eps[i], fam);
			ep_eval(&f.dst, &eps[j], fam);
			f.protocol = pr->proto;
			f.ip_version = fam;
			if (pr->dport >= 0) {
				f.sport = pr->sport;
				f.dport = pr->dport;
			}
			f.icmp_type = pr->icmp_type;
			if (pr->icmp_type >= 0)
				f.icmp_code = 0;
			evaluate_flow(ps, &f, &res);
			hook = pkt_build(&p, &eps[i], &eps[j], fam, pr, o.mark_bit);
			kernel = vm_run(in, &p, hook);
			if (kernel != res.allowed ||
			    (strstr(p.logs, "bh|A|") != NULL) !=
			    evaluated_would_deny(&res)) {
				struct strbuf sb;

				strbuf_init(&sb);
				evaluate_render(&res, &f, &sb);
				fail_msg("%s: %s -> %s ipv%d proto %d port %d type %d: "
				    "kernel %s (logs %s), evaluator:\n%s", what,
				    ep_name(&eps[i]), ep_name(&eps[j]), fam,
				    pr->proto, pr->dport, pr->icmp_type,
				    kernel ? "accepts" : "drops", p.logs, sb.buf);
			}
			evaluate_result_release(&res);
			evaluate_flow_release(&f);
			nflows++;
		}
	}
	ir_ruleset_free(rs);
	return nflows;
}

#include "policy_fixtures.h"

static void
test_fixed_policies_agree(void **state)
{
	struct policy_set	*ps = load(FIXED, 1);
	struct inventory	 inv;
	size_t			 n;

	(void)state;
	inv_fill(&inv);
	n = agree(ps, &inv, "fixed");
	assert_true(n > 500);
	inventory_release(&inv);
	policy_set_free(ps);
}

static void
test_random_policies_agree(void **state)
{
	struct inventory	 inv;
	int			 round, loaded = 0, rounds = ROUNDS;
	size_t			 flows = 0;

	(void)state;
	if (getenv("AGREE_ROUNDS"))
		rounds = atoi(getenv("AGREE_ROUNDS"));
	srand(20261129);
	inv_fill(&inv);
	for (round = 0; round < rounds; round++) {
		char			*json = r_policies();
		struct policy_set	*ps = load(json, 0);
		char			 what[32];

		if (ps != NULL) {
			snprintf(what, sizeof(what), "random set %d", round);
			if (getenv("AGREE_VERBOSE"))
				fprintf(stderr, "%s: %s\n", what, json);
			flows += agree(ps, &inv, what);
			loaded++;
			policy_set_free(ps);
		}
		free(json);
	}
	/* Most drawn sets are valid; each was checked on every flow. */
	assert_true(loaded > rounds / 2);
	print_message("%d random policy sets, %zu flows agree\n", loaded, flows);
	inventory_release(&inv);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fixed_policies_agree),
		cmocka_unit_test(test_random_policies_agree),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
