/*
 * ir.c: the compiled ruleset (see ir.h): constructors, destructor and the
 * nft-like rendering used by `bulkhead plan`, golden tests and error
 * messages.  Pure: libc and kernel headers only.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>

#include "ir.h"
#include "util.h"

/* ---- construction ---- */

/*
 * Grows an array that has no capacity field: its capacity is the next
 * power of two of n (at least 4), so it is full exactly when n is 0 or a
 * power of two of at least 4.
 */
static void *
grow_pow2(void *v, size_t n, size_t size)
{
	if (n == 0)
		return xreallocarray(v, 4, size);
	if (n < 4 || (n & (n - 1)) != 0)
		return v;
	return xreallocarray(v, n * 2, size);
}

static void *
grow_cap(void *v, size_t n, size_t *cap, size_t size)
{
	if (n < *cap)
		return v;
	*cap = *cap ? *cap * 2 : 8;
	return xreallocarray(v, *cap, size);
}

struct ir_ruleset *
ir_ruleset_new(void)
{
	return xcalloc(1, sizeof(struct ir_ruleset));
}

static void
ir_table_release(struct ir_table *t)
{
	size_t	i;

	for (i = 0; i < t->nsets; i++)
		free(t->sets[i].elems);
	for (i = 0; i < t->nrules; i++) {
		free(t->rules[i].exprs);
		free(t->rules[i].text);
		free(t->rules[i].comment);
	}
	free(t->sets);
	free(t->chains);
	free(t->rules);
}

void
ir_ruleset_free(struct ir_ruleset *rs)
{
	size_t	i;

	if (rs == NULL)
		return;
	for (i = 0; i < rs->ntables; i++)
		ir_table_release(&rs->tables[i]);
	free(rs->tables);
	free(rs);
}

/* Gives back what the doubling arrays of a table hold beyond their use. */
static void
ir_table_trim(struct ir_table *t)
{
	size_t	i;

	for (i = 0; i < t->nsets; i++) {
		struct ir_set *s = &t->sets[i];

		if (s->nelems > 0 && s->nelems < s->cap) {
			s->elems = xreallocarray(s->elems, s->nelems,
			    sizeof(*s->elems));
			s->cap = s->nelems;
		}
	}
	for (i = 0; i < t->nrules; i++) {
		struct ir_rule *r = &t->rules[i];

		if (r->nexprs > 0 && r->nexprs < r->cap) {
			r->exprs = xreallocarray(r->exprs, r->nexprs,
			    sizeof(*r->exprs));
			r->cap = r->nexprs;
		}
	}
}

void
ir_ruleset_trim(struct ir_ruleset *rs)
{
	size_t	i;

	for (i = 0; i < rs->ntables; i++)
		ir_table_trim(&rs->tables[i]);
}

struct ir_table *
ir_table_add(struct ir_ruleset *rs, const char *name, uint32_t family)
{
	struct ir_table	*t;

	rs->tables = grow_pow2(rs->tables, rs->ntables, sizeof(*t));
	t = &rs->tables[rs->ntables++];
	memset(t, 0, sizeof(*t));
	strlcpy_bh(t->name, name, sizeof(t->name));
	t->family = family;
	return t;
}

struct ir_chain *
ir_chain_add(struct ir_table *t, const char *name)
{
	struct ir_chain	*c;

	t->chains = grow_pow2(t->chains, t->nchains, sizeof(*c));
	c = &t->chains[t->nchains++];
	memset(c, 0, sizeof(*c));
	strlcpy_bh(c->name, name, sizeof(c->name));
	c->policy = NF_ACCEPT;
	return c;
}

struct ir_set *
ir_set_add(struct ir_table *t, const char *name)
{
	struct ir_set	*s;

	t->sets = grow_pow2(t->sets, t->nsets, sizeof(*s));
	s = &t->sets[t->nsets++];
	memset(s, 0, sizeof(*s));
	strlcpy_bh(s->name, name, sizeof(s->name));
	return s;
}

struct ir_set *
ir_set_find(struct ir_table *t, const char *name)
{
	size_t	i;

	for (i = 0; i < t->nsets; i++)
		if (strcmp(t->sets[i].name, name) == 0)
			return &t->sets[i];
	return NULL;
}

struct ir_elem *
ir_elem_add(struct ir_set *s)
{
	struct ir_elem	*e;

	s->elems = grow_cap(s->elems, s->nelems, &s->cap, sizeof(*e));
	e = &s->elems[s->nelems++];
	memset(e, 0, sizeof(*e));
	return e;
}

struct ir_rule *
ir_rule_add(struct ir_table *t, const char *chain)
{
	struct ir_rule	*r;

	t->rules = grow_pow2(t->rules, t->nrules, sizeof(*r));
	r = &t->rules[t->nrules++];
	memset(r, 0, sizeof(*r));
	strlcpy_bh(r->chain, chain, sizeof(r->chain));
	return r;
}

struct ir_expr *
ir_expr_add(struct ir_rule *r, enum ir_expr_kind kind)
{
	struct ir_expr	*e;

	r->exprs = grow_cap(r->exprs, r->nexprs, &r->cap, sizeof(*e));
	e = &r->exprs[r->nexprs++];
	memset(e, 0, sizeof(*e));
	e->kind = kind;
	return e;
}

/* ---- names ---- */

const char *
ir_family_name(uint32_t family)
{
	switch (family) {
	case NFPROTO_INET:	return "inet";
	case NFPROTO_IPV4:	return "ip";
	case NFPROTO_IPV6:	return "ip6";
	case NFPROTO_ARP:	return "arp";
	case NFPROTO_BRIDGE:	return "bridge";
	case NFPROTO_NETDEV:	return "netdev";
	}
	return "unknown";
}

/* NF_INET_* and NF_BR_* hooks share their numbers and names. */
static const char *
hook_name(uint32_t family, uint32_t hook)
{
	static const char *names[] = {
		"prerouting", "input", "forward", "output", "postrouting"
	};

	if (family == NFPROTO_NETDEV)
		return hook == 0 ? "ingress" : hook == 1 ? "egress" : "unknown";
	return hook < ARRAY_SIZE(names) ? names[hook] : "unknown";
}

static const char *
type_name(uint32_t t)
{
	switch (t) {
	case IR_TYPE_VERDICT:		return "verdict";
	case IR_TYPE_MARK:		return "mark";
	case IR_TYPE_IPV4:		return "ipv4_addr";
	case IR_TYPE_IPV6:		return "ipv6_addr";
	case IR_TYPE_ETHER:		return "ether_addr";
	case IR_TYPE_INET_PROTO:	return "inet_proto";
	case IR_TYPE_INET_SERVICE:	return "inet_service";
	case IR_TYPE_IFNAME:		return "ifname";
	}
	return "integer";
}

/* Splits a (concatenated) type into its fields; returns their count. */
static size_t
type_split(uint32_t type, uint32_t *out, size_t max)
{
	uint32_t	rev[8];
	size_t		n = 0, i;

	do {
		rev[n++] = type & ((1u << IR_TYPE_BITS) - 1);
		type >>= IR_TYPE_BITS;
	} while (type != 0 && n < ARRAY_SIZE(rev));
	if (n > max)
		n = max;
	for (i = 0; i < n; i++)
		out[i] = rev[n - 1 - i];
	return n;
}

static void
print_type(struct strbuf *out, uint32_t type)
{
	uint32_t	f[8];
	size_t		n = type_split(type, f, ARRAY_SIZE(f)), i;

	for (i = 0; i < n; i++)
		strbuf_addf(out, "%s%s", i ? " . " : "", type_name(f[i]));
}

static const char *
verdict_name(int code)
{
	switch (code) {
	case NF_ACCEPT:		return "accept";
	case NF_DROP:		return "drop";
	case NFT_JUMP:		return "jump";
	case NFT_GOTO:		return "goto";
	case NFT_RETURN:	return "return";
	case NFT_CONTINUE:	return "continue";
	case NFT_BREAK:		return "break";
	}
	return "unknown";
}

static void
print_verdict(struct strbuf *out, int code, const char *chain)
{
	strbuf_addstr(out, verdict_name(code));
	if (code == NFT_JUMP || code == NFT_GOTO)
		strbuf_addf(out, " %s", chain);
}

/* ---- element values ---- */

static void
print_hex(struct strbuf *out, const uint8_t *v, size_t len)
{
	size_t	i;

	strbuf_addstr(out, "0x");
	for (i = 0; i < len; i++)
		strbuf_addf(out, "%02x", v[i]);
}

static void
print_value(struct strbuf *out, uint32_t type, const uint8_t *v, size_t len)
{
	char		buf[INET6_ADDRSTRLEN];
	uint32_t	u32;

	switch (type) {
	case IR_TYPE_IPV4:
	case IR_TYPE_IPV6:
		if (len != (type == IR_TYPE_IPV4 ? 4u : 16u))
			break;
		inet_ntop(type == IR_TYPE_IPV4 ? AF_INET : AF_INET6, v, buf,
		    sizeof(buf));
		strbuf_addstr(out, buf);
		return;
	case IR_TYPE_ETHER:
		if (len != 6)
			break;
		strbuf_addf(out, "%02x:%02x:%02x:%02x:%02x:%02x", v[0], v[1],
		    v[2], v[3], v[4], v[5]);
		return;
	case IR_TYPE_INET_SERVICE:
		if (len != 2)
			break;
		strbuf_addf(out, "%u", (unsigned)(v[0] << 8 | v[1]));
		return;
	case IR_TYPE_INET_PROTO:
		if (len != 1)
			break;
		if (v[0] == IPPROTO_TCP || v[0] == IPPROTO_UDP ||
		    v[0] == IPPROTO_ICMP || v[0] == IPPROTO_ICMPV6)
			strbuf_addstr(out, v[0] == IPPROTO_TCP ? "tcp" :
			    v[0] == IPPROTO_UDP ? "udp" :
			    v[0] == IPPROTO_ICMP ? "icmp" : "ipv6-icmp");
		else
			strbuf_addf(out, "%u", v[0]);
		return;
	case IR_TYPE_IFNAME:
		strbuf_addf(out, "\"%.*s\"", (int)strnlen((const char *)v, len),
		    (const char *)v);
		return;
	case IR_TYPE_MARK:
		if (len != 4)
			break;
		memcpy(&u32, v, 4);
		strbuf_addf(out, "0x%08x", u32);
		return;
	}
	print_hex(out, v, len);
}

/* Prefix length when [lo, hi] is exactly one prefix, else -1. */
static int
range_prefix(const uint8_t *lo, const uint8_t *hi, size_t len)
{
	size_t	bit, nbits = len * 8;
	int	plen = -1;

	for (bit = 0; bit < nbits; bit++) {
		uint8_t	m = (uint8_t)(0x80 >> (bit % 8));
		int	l = !!(lo[bit / 8] & m), h = !!(hi[bit / 8] & m);

		if (plen < 0) {
			if (l == h)
				continue;
			plen = (int)bit;
		}
		if (l != 0 || h != 1)
			return -1;
	}
	return plen < 0 ? (int)nbits : plen;
}

static void
print_range(struct strbuf *out, uint32_t type, const uint8_t *lo,
    const uint8_t *hi, size_t len)
{
	int	plen;

	if (memcmp(lo, hi, len) >= 0) {
		print_value(out, type, lo, len);
		return;
	}
	plen = range_prefix(lo, hi, len);
	if ((type == IR_TYPE_IPV4 || type == IR_TYPE_IPV6) && plen >= 0) {
		print_value(out, type, lo, len);
		strbuf_addf(out, "/%d", plen);
		return;
	}
	/* An interface-name prefix is nft's wildcard: "br-*". */
	if (type == IR_TYPE_IFNAME && plen >= 0 && plen % 8 == 0 &&
	    memchr(lo, '\0', (size_t)plen / 8) == NULL) {
		strbuf_addf(out, "\"%.*s*\"", plen / 8, (const char *)lo);
		return;
	}
	print_value(out, type, lo, len);
	strbuf_addstr(out, "-");
	print_value(out, type, hi, len);
}

static void
print_elem(struct strbuf *out, const struct ir_set *s, const struct ir_elem *e)
{
	uint32_t	f[16];
	size_t		n = type_split(s->typeof_expr[0] ? s->plan_key_type :
			    s->key_type, f, ARRAY_SIZE(f)), i, off = 0;
	int		interval = (s->flags & NFT_SET_INTERVAL) != 0;

	for (i = 0; i < n; i++) {
		size_t	len = s->nfields > i && s->field_len[i] ?
			    s->field_len[i] : s->key_len;

		if (off + len > IR_KEYMAX)
			break;
		if (i)
			strbuf_addstr(out, " . ");
		if (interval)
			print_range(out, f[i], e->key + off, e->key_end + off,
			    len);
		else
			print_value(out, f[i], e->key + off, len);
		off += (len + 3) & ~(size_t)3;
	}
	if (!(s->flags & NFT_SET_MAP))
		return;
	strbuf_addstr(out, " : ");
	if (s->data_type == NFT_DATA_VERDICT || s->data_type == IR_TYPE_VERDICT)
		print_verdict(out, e->verdict, e->chain);
	else
		print_value(out, s->data_type, e->data,
		    s->data_len < IR_DATAMAX ? s->data_len : IR_DATAMAX);
}

void
ir_elem_print(const struct ir_set *s, const struct ir_elem *e,
    struct strbuf *out)
{
	print_elem(out, s, e);
}

static void
print_set(struct strbuf *out, const struct ir_set *s)
{
	int	map = (s->flags & NFT_SET_MAP) != 0;
	size_t	i;

	strbuf_addf(out, "\t%s %s {\n\t\t", map ? "map" : "set", s->name);
	if (s->typeof_expr[0])
		strbuf_addf(out, "typeof %s", s->typeof_expr);
	else {
		strbuf_addstr(out, "type ");
		print_type(out, s->key_type);
	}
	if (map) {
		strbuf_addstr(out, " : ");
		print_type(out, s->data_type == NFT_DATA_VERDICT ?
		    IR_TYPE_VERDICT : s->data_type);
	}
	strbuf_addstr(out, "\n");
	/* nft spells concatenation in the type, never as a flag. */
	if (s->flags & (NFT_SET_CONSTANT | NFT_SET_INTERVAL | NFT_SET_TIMEOUT)) {
		const char *sep = "";

		strbuf_addstr(out, "\t\tflags ");
		if (s->flags & NFT_SET_CONSTANT) {
			strbuf_addstr(out, "constant");
			sep = ",";
		}
		if (s->flags & NFT_SET_INTERVAL) {
			strbuf_addf(out, "%sinterval", sep);
			sep = ",";
		}
		if (s->flags & NFT_SET_TIMEOUT)
			strbuf_addf(out, "%stimeout", sep);
		strbuf_addstr(out, "\n");
	}
	if (s->nelems) {
		strbuf_addstr(out, "\t\telements = {\n");
		for (i = 0; i < s->nelems; i++) {
			strbuf_addstr(out, "\t\t\t");
			print_elem(out, s, &s->elems[i]);
			strbuf_addstr(out, i + 1 < s->nelems ? ",\n" : "\n");
		}
		strbuf_addstr(out, "\t\t}\n");
	}
	strbuf_addstr(out, "\t}\n");
}

/* ---- rules ---- */

static const char *
meta_key_name(uint32_t key)
{
	static const char *names[] = {
		[NFT_META_LEN] = "len",
		[NFT_META_PROTOCOL] = "protocol",
		[NFT_META_PRIORITY] = "priority",
		[NFT_META_MARK] = "mark",
		[NFT_META_IIF] = "iif",
		[NFT_META_OIF] = "oif",
		[NFT_META_IIFNAME] = "iifname",
		[NFT_META_OIFNAME] = "oifname",
		[NFT_META_IIFTYPE] = "iiftype",
		[NFT_META_OIFTYPE] = "oiftype",
		[NFT_META_SKUID] = "skuid",
		[NFT_META_SKGID] = "skgid",
		[NFT_META_NFPROTO] = "nfproto",
		[NFT_META_L4PROTO] = "l4proto",
		[NFT_META_BRI_IIFNAME] = "ibrname",
		[NFT_META_BRI_OIFNAME] = "obrname",
		[NFT_META_PKTTYPE] = "pkttype",
	};

	return key < ARRAY_SIZE(names) && names[key] ? names[key] : "unknown";
}

static const char *
ct_key_name(uint32_t key)
{
	static const char *names[] = {
		[NFT_CT_STATE] = "state",
		[NFT_CT_DIRECTION] = "direction",
		[NFT_CT_STATUS] = "status",
		[NFT_CT_MARK] = "mark",
		[NFT_CT_L3PROTOCOL] = "l3protocol",
		[NFT_CT_PROTOCOL] = "protocol",
		[NFT_CT_PROTO_SRC] = "proto-src",
		[NFT_CT_PROTO_DST] = "proto-dst",
	};

	return key < ARRAY_SIZE(names) && names[key] ? names[key] : "unknown";
}

static const char *
payload_base_name(uint32_t base)
{
	static const char *names[] = {
		[NFT_PAYLOAD_LL_HEADER] = "link",
		[NFT_PAYLOAD_NETWORK_HEADER] = "network",
		[NFT_PAYLOAD_TRANSPORT_HEADER] = "transport",
	};

	return base < ARRAY_SIZE(names) && names[base] ? names[base] :
	    "unknown";
}

static const char *
cmp_op_name(uint32_t op)
{
	static const char *names[] = {
		[NFT_CMP_EQ] = "eq", [NFT_CMP_NEQ] = "neq",
		[NFT_CMP_LT] = "lt", [NFT_CMP_LTE] = "lte",
		[NFT_CMP_GT] = "gt", [NFT_CMP_GTE] = "gte",
	};

	return op < ARRAY_SIZE(names) && names[op] ? names[op] : "unknown";
}

static size_t
clamp_len(uint32_t len)
{
	return len < IR_DATAMAX ? len : IR_DATAMAX;
}

static void
print_expr(struct strbuf *out, const struct ir_expr *e)
{
	switch (e->kind) {
	case IR_META:
		strbuf_addf(out, "[meta load %s => reg %u]",
		    meta_key_name(e->u.meta.key), e->u.meta.reg);
		break;
	case IR_META_SET:
		strbuf_addf(out, "[meta set %s with reg %u]",
		    meta_key_name(e->u.meta.key), e->u.meta.reg);
		break;
	case IR_PAYLOAD:
		strbuf_addf(out, "[payload load %ub @ %s header + %u => reg %u]",
		    e->u.payload.len, payload_base_name(e->u.payload.base),
		    e->u.payload.offset, e->u.payload.dreg);
		break;
	case IR_CMP:
		strbuf_addf(out, "[cmp %s reg %u ", cmp_op_name(e->u.cmp.op),
		    e->u.cmp.sreg);
		print_hex(out, e->u.cmp.data, clamp_len(e->u.cmp.len));
		strbuf_addstr(out, "]");
		break;
	case IR_BITWISE:
		strbuf_addf(out, "[bitwise reg %u = (reg %u & ",
		    e->u.bitwise.dreg, e->u.bitwise.sreg);
		print_hex(out, e->u.bitwise.mask, clamp_len(e->u.bitwise.len));
		strbuf_addstr(out, ") ^ ");
		print_hex(out, e->u.bitwise.xor, clamp_len(e->u.bitwise.len));
		strbuf_addstr(out, "]");
		break;
	case IR_LOOKUP:
		strbuf_addf(out, "[lookup reg %u set %s", e->u.lookup.sreg,
		    e->u.lookup.set);
		if (e->u.lookup.has_dreg)
			strbuf_addf(out, " dreg %u", e->u.lookup.dreg);
		strbuf_addstr(out, e->u.lookup.invert ? " inverted]" : "]");
		break;
	case IR_CT:
		strbuf_addf(out, "[ct load %s", ct_key_name(e->u.ct.key));
		if (e->u.ct.has_dir)
			strbuf_addf(out, " dir %s", e->u.ct.dir ? "reply" :
			    "original");
		strbuf_addf(out, " => reg %u]", e->u.ct.dreg);
		break;
	case IR_IMMEDIATE:
		strbuf_addf(out, "[immediate reg %u ", e->u.imm.dreg);
		print_hex(out, e->u.imm.data, clamp_len(e->u.imm.len));
		strbuf_addstr(out, "]");
		break;
	case IR_VERDICT:
		strbuf_addstr(out, "[immediate reg 0 ");
		print_verdict(out, e->u.verdict.code, e->u.verdict.chain);
		strbuf_addstr(out, "]");
		break;
	case IR_COUNTER:
		strbuf_addstr(out, "[counter]");
		break;
	case IR_LIMIT:
		strbuf_addf(out, "[limit rate %llu/%llus burst %u type packets]",
		    (unsigned long long)e->u.limit.rate,
		    (unsigned long long)e->u.limit.unit, e->u.limit.burst);
		break;
	case IR_LOG:
		strbuf_addf(out, "[log group %u prefix \"%s\"]", e->u.log.group,
		    e->u.log.prefix);
		break;
	case IR_FIB:
		strbuf_addf(out, "[fib flags 0x%x result %u => reg %u]",
		    e->u.fib.flags, e->u.fib.result, e->u.fib.dreg);
		break;
	default:
		strbuf_addf(out, "[unknown %d]", (int)e->kind);
		break;
	}
}

void
ir_rule_print(const struct ir_rule *r, struct strbuf *out)
{
	size_t	i;

	if (r->text != NULL) {
		strbuf_addstr(out, r->text);
	} else {
		for (i = 0; i < r->nexprs; i++) {
			if (i)
				strbuf_addstr(out, " ");
			print_expr(out, &r->exprs[i]);
		}
	}
	if (r->comment != NULL)
		strbuf_addf(out, " comment \"%s\"", r->comment);
}

static void
print_rules(struct strbuf *out, const struct ir_table *t, const char *chain)
{
	size_t	i;

	for (i = 0; i < t->nrules; i++) {
		if (strcmp(t->rules[i].chain, chain) != 0)
			continue;
		strbuf_addstr(out, "\t\t");
		ir_rule_print(&t->rules[i], out);
		strbuf_addstr(out, "\n");
	}
}

static void
print_chain(struct strbuf *out, const struct ir_table *t,
    const struct ir_chain *c)
{
	strbuf_addf(out, "\tchain %s {\n", c->name);
	if (c->base)
		strbuf_addf(out, "\t\ttype %s hook %s priority %d; "
		    "policy %s;\n", c->type[0] ? c->type : "filter",
		    hook_name(t->family, c->hook), (int)c->priority,
		    verdict_name((int)c->policy));
	print_rules(out, t, c->name);
	strbuf_addstr(out, "\t}\n");
}

static const struct ir_chain *
chain_find(const struct ir_table *t, const char *name, size_t before)
{
	size_t	i;

	for (i = 0; i < before; i++)
		if (strcmp(t->chains[i].name, name) == 0)
			return &t->chains[i];
	return NULL;
}

/* Rules naming a chain the table does not declare: shown, not lost. */
static void
print_orphans(struct strbuf *out, const struct ir_table *t)
{
	size_t	i, j;

	for (i = 0; i < t->nrules; i++) {
		const char *name = t->rules[i].chain;

		if (chain_find(t, name, t->nchains) != NULL)
			continue;
		for (j = 0; j < i; j++)
			if (strcmp(t->rules[j].chain, name) == 0)
				break;
		if (j < i)
			continue;
		strbuf_addf(out, "\tchain %s {\t# undeclared\n", name);
		print_rules(out, t, name);
		strbuf_addstr(out, "\t}\n");
	}
}

static void
print_table(struct strbuf *out, const struct ir_table *t)
{
	size_t	i;
	int	first = 1;

	strbuf_addf(out, "table %s %s {\n", ir_family_name(t->family),
	    t->name);
	for (i = 0; i < t->nsets; i++, first = 0) {
		if (!first)
			strbuf_addstr(out, "\n");
		print_set(out, &t->sets[i]);
	}
	for (i = 0; i < t->nchains; i++, first = 0) {
		if (!first)
			strbuf_addstr(out, "\n");
		print_chain(out, t, &t->chains[i]);
	}
	print_orphans(out, t);
	strbuf_addstr(out, "}\n");
}

void
ir_print(const struct ir_ruleset *rs, struct strbuf *out)
{
	size_t	i;

	for (i = 0; i < rs->ntables; i++) {
		if (i)
			strbuf_addstr(out, "\n");
		print_table(out, &rs->tables[i]);
	}
}
