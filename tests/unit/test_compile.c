/*
 * test_compile.c: policies + inventory -> ir_ruleset, checked on the IR
 * itself: which containers get chains and map entries, what the per-rule
 * sets hold (merged intervals), the order of rules, log prefixes, and the
 * port guard's elements.
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

#include "compile.h"
#include "errlist.h"
#include "inventory.h"
#include "ir.h"
#include "policy.h"
#include "quarantine.h"
#include "util.h"

#include <linux/netfilter.h>
#include <linux/netfilter/nf_conntrack_tuple_common.h>
#include <linux/netfilter/nf_tables.h>

static struct container *
mkct(const char *id, const char *name, const char *labels, const char *ip,
    const char *veth)
{
	struct container	*c = container_new();
	char			*l = xstrdup(labels), *tok, *save = NULL;

	snprintf(c->id, sizeof(c->id), "%s", id);
	c->name = xstrdup(name);
	c->running = 1;
	for (tok = strtok_r(l, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		char *eq = strchr(tok, '=');

		*eq = '\0';
		labelset_set(&c->labels, tok, eq + 1);
	}
	free(l);
	c->eps = xcalloc(1, sizeof(*c->eps));
	c->neps = 1;
	snprintf(c->eps[0].network_name, sizeof(c->eps[0].network_name), "bridge");
	snprintf(c->eps[0].bridge, sizeof(c->eps[0].bridge), "docker0");
	snprintf(c->eps[0].veth, sizeof(c->eps[0].veth), "%s", veth);
	inet_pton(AF_INET, ip, &c->eps[0].ip4);
	c->eps[0].has_ip4 = 1;
	c->eps[0].has_mac = 1;
	c->eps[0].mac[0] = 0x02;
	c->eps[0].mac[5] = (uint8_t)strlen(name);
	return c;
}

static struct policy_set *
load(const char *json)
{
	struct policy_set	*ps = policy_set_new();
	struct errlist		 el;

	errlist_init(&el);
	if (policy_load_buffer(ps, "t.json", json, strlen(json), &el) ||
	    policy_set_finish(ps, &el)) {
		char *all = errlist_join(&el);

		fail_msg("policy did not load: %s", all);
	}
	errlist_release(&el);
	return ps;
}

static struct ir_table *
table(struct ir_ruleset *rs, uint32_t family)
{
	size_t	i;

	for (i = 0; i < rs->ntables; i++)
		if (rs->tables[i].family == family)
			return &rs->tables[i];
	return NULL;
}

static int
has_chain(struct ir_table *t, const char *name)
{
	size_t	i;

	for (i = 0; i < t->nchains; i++)
		if (strcmp(t->chains[i].name, name) == 0)
			return 1;
	return 0;
}

/* The chain an address jumps or goes to in verdict map map ("in4"), or NULL. */
static const char *
chain_of(struct ir_table *t, const char *map, const char *ip4)
{
	struct ir_set	*s = ir_set_find(t, map);
	struct in_addr	 a;
	size_t		 i;

	assert_int_equal(inet_pton(AF_INET, ip4, &a), 1);
	for (i = 0; s != NULL && i < s->nelems; i++)
		if (memcmp(s->elems[i].key, &a, 4) == 0)
			return s->elems[i].chain[0] ? s->elems[i].chain : NULL;
	return NULL;
}

/* The texts of a chain's rules joined by newlines; caller frees. */
static char *
chain_text(struct ir_table *t, const char *chain)
{
	struct strbuf	sb;
	size_t		i;

	strbuf_init(&sb);
	for (i = 0; i < t->nrules; i++)
		if (strcmp(t->rules[i].chain, chain) == 0)
			strbuf_addf(&sb, "%s\n", t->rules[i].text);
	return strbuf_detach(&sb);
}

static const char *POLICY =
    "[{\"apiVersion\":\"bulkhead/v1\",\"kind\":\"Policy\","
    "\"metadata\":{\"name\":\"db-in\"},"
    "\"spec\":{\"selector\":\"app == 'db'\",\"ingress\":["
    "{\"action\":\"deny\",\"protocol\":\"tcp\",\"source\":{\"nets\":[\"10.9.0.0/16\"]}},"
    "{\"action\":\"allow\",\"protocol\":\"tcp\",\"source\":{\"selector\":\"app == 'api'\"},"
    "\"destination\":{\"ports\":[5432, \"6000:6010\", 6005, 6011]}}]}},"
    "{\"apiVersion\":\"bulkhead/v1\",\"kind\":\"Policy\","
    "\"metadata\":{\"name\":\"db-out\"},"
    "\"spec\":{\"selector\":\"app == 'db'\",\"types\":[\"egress\"],\"egress\":[]}}]";

struct fixture {
	struct policy_set	*ps;
	struct inventory	 inv;
	struct ir_ruleset	*rs;
	struct compile_opts	 o;
};

static int
setup(void **state)
{
	struct fixture	*f = xcalloc(1, sizeof(*f));

	f->ps = load(POLICY);
	inventory_init(&f->inv);
	inventory_put(&f->inv, mkct("aaaaaaaaaaaa0000", "db", "app=db",
	    "172.17.0.2", "vethdb"));
	inventory_put(&f->inv, mkct("bbbbbbbbbbbb0000", "api1", "app=api",
	    "172.17.0.3", "vethapi1"));
	inventory_put(&f->inv, mkct("cccccccccccc0000", "api2", "app=api",
	    "172.17.0.4", "vethapi2"));
	inventory_put(&f->inv, mkct("dddddddddddd0000", "web", "app=web",
	    "172.17.0.9", "vethweb"));
	compile_opts_default(&f->o);
	f->rs = compile_ruleset(f->ps, &f->inv, &f->o);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture	*f = *state;

	ir_ruleset_free(f->rs);
	inventory_release(&f->inv);
	policy_set_free(f->ps);
	free(f);
	return 0;
}

static void
test_tables(void **state)
{
	struct fixture	*f = *state;

	assert_int_equal(f->rs->ntables, 2);
	assert_non_null(table(f->rs, NFPROTO_BRIDGE));
	assert_non_null(table(f->rs, NFPROTO_INET));
	assert_string_equal(table(f->rs, NFPROTO_INET)->name, COMPILE_TABLE);
}

static void
test_only_selected_get_chains(void **state)
{
	struct ir_table	*in = table(((struct fixture *)*state)->rs, NFPROTO_INET);

	assert_non_null(chain_of(in, "in4", "172.17.0.2"));
	assert_true(has_chain(in, chain_of(in, "in4", "172.17.0.2")));
	assert_true(has_chain(in, chain_of(in, "eg4", "172.17.0.2")));
	assert_null(chain_of(in, "in4", "172.17.0.3"));
	assert_null(chain_of(in, "eg4", "172.17.0.9"));
	/*
	 * Egress: one map entry per isolated address.  Ingress: every known
	 * address, the isolated one going to its chain (goto: in4 ends the
	 * base chain), the others accepted, so that a miss is an address
	 * nobody claims (the pending check runs only then).
	 */
	assert_int_equal(ir_set_find(in, "eg4")->nelems, 1);
	assert_int_equal(ir_set_find(in, "eg4")->elems[0].verdict, NFT_JUMP);
	assert_int_equal(ir_set_find(in, "in4")->nelems,
	    ir_set_find(in, "addrs4")->nelems);
	assert_int_equal(ir_set_find(in, "in4")->elems[0].verdict, NFT_GOTO);
	assert_int_equal(ir_set_find(in, "in4")->elems[1].verdict, NF_ACCEPT);
}

static void
test_rule_order_and_prefixes(void **state)
{
	struct ir_table	*in = table(((struct fixture *)*state)->rs, NFPROTO_INET);
	char		*t = chain_text(in, chain_of(in, "in4", "172.17.0.2"));
	char		*deny = strstr(t, "prefix \"bh|D|I|0|db-in\"");
	char		*allow = strstr(t, "@p0_i1_drange counter accept");
	char		*dflt = strstr(t, "prefix \"bh|D|I|*|db-in\"");

	assert_non_null(deny);
	assert_non_null(allow);
	assert_non_null(dflt);
	assert_true(deny < allow && allow < dflt);
	/* The drop is a rule of its own after the rate-limited log. */
	assert_non_null(strstr(dflt, "\ncounter drop\n"));
	free(t);
	t = chain_text(in, chain_of(in, "eg4", "172.17.0.2"));
	assert_non_null(strstr(t, "bh|D|E|*|db-out"));
	free(t);
}

static void
test_peer_sets(void **state)
{
	struct ir_table	*in = table(((struct fixture *)*state)->rs, NFPROTO_INET);
	struct ir_set	*src = ir_set_find(in, "p0_i1_saddr4");
	struct ir_set	*ports = ir_set_find(in, "p0_i1_drange");
	struct ir_set	*nets = ir_set_find(in, "p0_i0_snet4");
	uint8_t		 a3[4] = { 172, 17, 0, 3 }, a4[4] = { 172, 17, 0, 4 };

	assert_non_null(src);
	/* Container addresses: an exact (hash) set, one element each. */
	assert_false(src->flags & NFT_SET_INTERVAL);
	assert_int_equal(src->nelems, 2);
	assert_memory_equal(src->elems[0].key, a3, 4);
	assert_memory_equal(src->elems[1].key, a4, 4);
	/* 5432, 6000-6010, 6005 (inside), 6011 (adjacent): two ranges. */
	assert_non_null(ports);
	assert_true(ports->flags & NFT_SET_INTERVAL);
	assert_int_equal(ports->nelems, 2);
	assert_int_equal(ntohs(*(uint16_t *)ports->elems[1].key), 6000);
	assert_int_equal(ntohs(*(uint16_t *)ports->elems[1].key_end), 6011);
	/* A CIDR becomes one range. */
	assert_non_null(nets);
	assert_true(nets->flags & NFT_SET_INTERVAL);
	assert_int_equal(nets->nelems, 1);
	assert_int_equal(nets->elems[0].key[1], 9);
	assert_int_equal(nets->elems[0].key_end[2], 255);
	assert_int_equal(nets->elems[0].key_end[3], 255);
	/* No IPv6 addresses: the v6 set exists and is empty. */
	assert_int_equal(ir_set_find(in, "p0_i1_saddr6")->nelems, 0);
}

static void
test_guard(void **state)
{
	struct fixture	*f = *state;
	struct ir_table	*br = table(f->rs, NFPROTO_BRIDGE);
	struct ir_table	*in = table(f->rs, NFPROTO_INET);
	struct ir_set	*p4 = ir_set_find(br, "port_ip4");
	uint8_t		 ip[4] = { 172, 17, 0, 9 };
	size_t		 i;
	int		 found = 0;

	/* Every known container is guarded, selected or not. */
	assert_int_equal(ir_set_find(br, "ports")->nelems, 4);
	assert_int_equal(p4->nfields, 3);
	assert_int_equal(p4->key_len, 16 + 8 + 4);
	for (i = 0; i < p4->nelems; i++)
		if (strcmp((char *)p4->elems[i].key, "vethweb") == 0 &&
		    memcmp(p4->elems[i].key + 24, ip, 4) == 0)
			found = 1;
	assert_true(found);
	assert_int_equal(ir_set_find(in, "addrs4")->nelems, 4);
	/*
	 * The only neighbour-advertisement target of an IPv4-only port: the
	 * EUI-64 link-local address of its MAC (02:00:00:00:00:03 for web).
	 */
	{
		struct ir_set	*nd = ir_set_find(br, "port_nd6");
		uint8_t		 ll[16] = { 0xfe, 0x80, 0, 0, 0, 0, 0, 0,
				    0x00, 0, 0, 0xff, 0xfe, 0, 0, 3 };

		for (i = 0, found = 0; i < nd->nelems; i++)
			if (strcmp((char *)nd->elems[i].key, "vethweb") == 0) {
				assert_memory_equal(nd->elems[i].key + 24, ll,
				    16);
				found++;
			}
		assert_int_equal(found, 1);
	}
}

static void
test_unselected_without_veth_untouched(void **state)
{
	struct policy_set	*ps = load(POLICY);
	struct inventory	 inv;
	struct compile_opts	 o;
	struct ir_ruleset	*rs;

	(void)state;
	inventory_init(&inv);
	/* Veth not found yet: the db is claimed (fail closed), web is not. */
	inventory_put(&inv, mkct("aaaaaaaaaaaa0000", "db", "app=db",
	    "172.17.0.2", ""));
	inventory_put(&inv, mkct("dddddddddddd0000", "web", "app=web",
	    "172.17.0.9", ""));
	compile_opts_default(&o);
	rs = compile_ruleset(ps, &inv, &o);
	assert_int_equal(ir_set_find(table(rs, NFPROTO_INET), "addrs4")->nelems, 1);
	assert_int_equal(ir_set_find(table(rs, NFPROTO_BRIDGE), "ports")->nelems, 0);
	ir_ruleset_free(rs);
	inventory_release(&inv);
	policy_set_free(ps);
}

static void
test_audit_policy_runs_apart(void **state)
{
	const char *json =
	    "{\"apiVersion\":\"bulkhead/v1\",\"kind\":\"Policy\","
	    "\"metadata\":{\"name\":\"try\"},"
	    "\"spec\":{\"selector\":\"app == 'db'\",\"mode\":\"audit\","
	    "\"ingress\":[{\"action\":\"deny\",\"protocol\":\"udp\"}]}}";
	struct policy_set	*ps = load(json);
	struct inventory	 inv;
	struct compile_opts	 o;
	struct ir_ruleset	*rs;
	struct ir_table		*in;
	char			*t, sub[IR_NAMELEN];

	(void)state;
	inventory_init(&inv);
	inventory_put(&inv, mkct("aaaaaaaaaaaa0000", "db", "app=db",
	    "172.17.0.2", "vethdb"));
	compile_opts_default(&o);
	rs = compile_ruleset(ps, &inv, &o);
	in = table(rs, NFPROTO_INET);
	snprintf(sub, sizeof(sub), "au0_%s", chain_of(in, "in4", "172.17.0.2"));
	assert_true(has_chain(in, sub));
	t = chain_text(in, chain_of(in, "in4", "172.17.0.2"));
	/* Audit only: no drop in the container's chain. */
	assert_null(strstr(t, "drop"));
	free(t);
	t = chain_text(in, sub);
	assert_non_null(strstr(t, "bh|A|I|0|try"));
	assert_null(strstr(t, "drop"));
	free(t);
	ir_ruleset_free(rs);
	inventory_release(&inv);
	policy_set_free(ps);
}

/*
 * Replicas share their chains: one more replica adds map and set elements,
 * never a chain or a rule; a container that a rule's own-side selector
 * tells apart gets a chain of its own.
 */
static void
test_replicas_share_chains(void **state)
{
	const char *json =
	    "{\"apiVersion\":\"bulkhead/v1\",\"kind\":\"Policy\","
	    "\"metadata\":{\"name\":\"api\"},\"spec\":{\"selector\":"
	    "\"app == 'api'\",\"ingress\":[{\"action\":\"allow\","
	    "\"destination\":{\"selector\":\"tier == 'gold'\"}}]}}";
	struct policy_set	*ps = load(json);
	struct inventory	 inv;
	struct compile_opts	 o;
	struct ir_ruleset	*rs, *rs2;
	struct ir_table		*in, *in2;

	(void)state;
	inventory_init(&inv);
	inventory_put(&inv, mkct("aaaaaaaaaaaa0000", "api1", "app=api",
	    "172.17.0.2", "v1"));
	inventory_put(&inv, mkct("bbbbbbbbbbbb0000", "api2", "app=api",
	    "172.17.0.3", "v2"));
	inventory_put(&inv, mkct("cccccccccccc0000", "api3", "app=api,tier=gold",
	    "172.17.0.4", "v3"));
	compile_opts_default(&o);
	rs = compile_ruleset(ps, &inv, &o);
	in = table(rs, NFPROTO_INET);
	assert_string_equal(chain_of(in, "in4", "172.17.0.2"),
	    chain_of(in, "in4", "172.17.0.3"));
	assert_string_not_equal(chain_of(in, "in4", "172.17.0.2"),
	    chain_of(in, "in4", "172.17.0.4"));
	inventory_put(&inv, mkct("dddddddddddd0000", "api4", "app=api",
	    "172.17.0.5", "v4"));
	rs2 = compile_ruleset(ps, &inv, &o);
	in2 = table(rs2, NFPROTO_INET);
	assert_int_equal(in2->nchains, in->nchains);
	assert_int_equal(in2->nrules, in->nrules);
	assert_int_equal(ir_set_find(in2, "in4")->nelems,
	    ir_set_find(in, "in4")->nelems + 1);
	assert_string_equal(chain_of(in2, "in4", "172.17.0.5"),
	    chain_of(in, "in4", "172.17.0.2"));
	ir_ruleset_free(rs2);
	ir_ruleset_free(rs);
	inventory_release(&inv);
	policy_set_free(ps);
}

/* Rules with the same peer share its sets: one set per distinct peer. */
static void
test_identical_peers_share_sets(void **state)
{
	const char *json =
	    "{\"apiVersion\":\"bulkhead/v1\",\"kind\":\"Policy\","
	    "\"metadata\":{\"name\":\"db\"},\"spec\":{\"selector\":"
	    "\"app == 'db'\",\"ingress\":["
	    "{\"action\":\"allow\",\"protocol\":\"tcp\",\"source\":"
	    "{\"selector\":\"app == 'api'\"},\"destination\":{\"ports\":[80]}},"
	    "{\"action\":\"allow\",\"protocol\":\"udp\",\"source\":"
	    "{\"selector\":\"app == 'api'\"},\"destination\":{\"ports\":[80]}},"
	    "{\"action\":\"allow\",\"protocol\":\"udp\",\"source\":"
	    "{\"selector\":\"app == 'web'\"},\"destination\":{\"ports\":[81]}}]}}";
	struct policy_set	*ps = load(json);
	struct inventory	 inv;
	struct compile_opts	 o;
	struct ir_ruleset	*rs;
	struct ir_table		*in;
	char			*t;

	(void)state;
	inventory_init(&inv);
	inventory_put(&inv, mkct("aaaaaaaaaaaa0000", "db", "app=db",
	    "172.17.0.2", "v1"));
	inventory_put(&inv, mkct("bbbbbbbbbbbb0000", "api", "app=api",
	    "172.17.0.3", "v2"));
	compile_opts_default(&o);
	rs = compile_ruleset(ps, &inv, &o);
	in = table(rs, NFPROTO_INET);
	assert_non_null(ir_set_find(in, "p0_i0_saddr4"));
	assert_null(ir_set_find(in, "p0_i1_saddr4"));
	assert_non_null(ir_set_find(in, "p0_i2_saddr4"));
	assert_non_null(ir_set_find(in, "p0_i0_dport"));
	assert_null(ir_set_find(in, "p0_i1_dport"));
	assert_non_null(ir_set_find(in, "p0_i2_dport"));
	t = chain_text(in, chain_of(in, "in4", "172.17.0.2"));
	assert_non_null(strstr(t, "meta l4proto udp ip saddr @p0_i0_saddr4 "
	    "th dport @p0_i0_dport"));
	free(t);
	ir_ruleset_free(rs);
	inventory_release(&inv);
	policy_set_free(ps);
}

/*
 * hostPorts: conntrack's original destination port in a set of its own
 * kind (exact or intervals), shared with a ports set of the same ports;
 * the IR loads it with its direction.
 */
static void
test_host_ports(void **state)
{
	const char *json =
	    "{\"apiVersion\":\"bulkhead/v1\",\"kind\":\"Policy\","
	    "\"metadata\":{\"name\":\"pub\"},\"spec\":{\"selector\":"
	    "\"app == 'db'\",\"ingress\":["
	    "{\"action\":\"allow\",\"protocol\":\"tcp\",\"destination\":"
	    "{\"hostPorts\":[18081]}},"
	    "{\"action\":\"allow\",\"protocol\":\"udp\",\"destination\":"
	    "{\"ports\":[80],\"hostPorts\":[\"9000:9010\",9020]}},"
	    "{\"action\":\"allow\",\"protocol\":\"sctp\",\"destination\":"
	    "{\"ports\":[18081]}}]}}";
	struct policy_set	*ps = load(json);
	struct inventory	 inv;
	struct compile_opts	 o;
	struct ir_ruleset	*rs;
	struct ir_table		*in;
	struct ir_set		*s;
	const struct ir_rule	*r = NULL;
	uint16_t		 lo, hi;
	size_t			 i;
	char			*t;

	(void)state;
	inventory_init(&inv);
	inventory_put(&inv, mkct("aaaaaaaaaaaa0000", "db", "app=db",
	    "172.17.0.2", "v1"));
	compile_opts_default(&o);
	rs = compile_ruleset(ps, &inv, &o);
	in = table(rs, NFPROTO_INET);
	s = ir_set_find(in, "p0_i0_dhport");
	assert_non_null(s);
	assert_int_equal(s->key_type, IR_TYPE_INET_SERVICE);
	assert_int_equal(s->flags & NFT_SET_INTERVAL, 0);
	assert_int_equal(s->nelems, 1);
	lo = htons(18081);
	assert_memory_equal(s->elems[0].key, &lo, 2);
	s = ir_set_find(in, "p0_i1_dhrange");
	assert_non_null(s);
	assert_true(s->flags & NFT_SET_INTERVAL);
	assert_int_equal(s->nelems, 2);
	lo = htons(9000);
	hi = htons(9010);
	assert_memory_equal(s->elems[0].key, &lo, 2);
	assert_memory_equal(s->elems[0].key_end, &hi, 2);
	/* Same ports, same set: the sctp rule's ports use the hostPorts one. */
	assert_null(ir_set_find(in, "p0_i2_dport"));
	t = chain_text(in, chain_of(in, "in4", "172.17.0.2"));
	assert_non_null(strstr(t, "meta l4proto tcp ct original proto-dst "
	    "@p0_i0_dhport counter accept"));
	assert_non_null(strstr(t, "meta l4proto udp th dport @p0_i1_dport "
	    "ct original proto-dst @p0_i1_dhrange counter accept"));
	assert_non_null(strstr(t, "meta l4proto sctp th dport @p0_i0_dhport "
	    "counter accept"));
	free(t);
	for (i = 0; i < in->nrules && r == NULL; i++)
		if (strstr(in->rules[i].text, "@p0_i0_dhport counter"))
			r = &in->rules[i];
	assert_non_null(r);
	for (i = 0; i < r->nexprs; i++)
		if (r->exprs[i].kind == IR_CT)
			break;
	assert_true(i + 1 < r->nexprs);
	assert_int_equal(r->exprs[i].u.ct.key, NFT_CT_PROTO_DST);
	assert_true(r->exprs[i].u.ct.has_dir);
	assert_int_equal(r->exprs[i].u.ct.dir, IP_CT_DIR_ORIGINAL);
	assert_int_equal(r->exprs[i + 1].kind, IR_LOOKUP);
	assert_string_equal(r->exprs[i + 1].u.lookup.set, "p0_i0_dhport");
	ir_ruleset_free(rs);
	inventory_release(&inv);
	policy_set_free(ps);
}

/*
 * A quarantined container is cut off by veth in the bridge family and by
 * address in the inet family, ahead of every policy.
 */
static void
test_quarantine(void **state)
{
	struct fixture		*f = *state;
	struct quarantine	 q;
	struct compile_opts	 o = f->o;
	struct ir_ruleset	*rs;
	struct ir_table		*br, *in;
	struct ir_set		*s;
	struct in_addr		 a;
	char			*t;
	size_t			 i, n;

	quarantine_init(&q, NULL);
	quarantine_put(&q, "dddddddddddd0000", "web", "incident", 0);
	o.quarantine = &q;
	rs = compile_ruleset(f->ps, &f->inv, &o);
	br = table(rs, NFPROTO_BRIDGE);
	in = table(rs, NFPROTO_INET);
	s = ir_set_find(br, "quarantine");
	assert_int_equal(s->nelems, 1);
	assert_string_equal((const char *)s->elems[0].key, "vethweb");
	s = ir_set_find(in, "quarantine4");
	assert_int_equal(s->nelems, 1);
	inet_pton(AF_INET, "172.17.0.9", &a);
	assert_memory_equal(s->elems[0].key, &a, 4);
	/* The quarantined port goes to q_egress instead of the guard. */
	s = ir_set_find(br, "ports");
	t = chain_text(br, "prerouting");
	assert_non_null(strstr(t, "iifname @ports goto guard\n"
	    "iifname @quarantine goto q_egress"));
	free(t);
	for (i = 0, n = 0; i < s->nelems; i++)
		if (strcmp((const char *)s->elems[i].key, "vethweb") == 0)
			n++;
	assert_int_equal(n, 0);
	assert_int_equal(s->nelems, 3);
	/* New connections: the dispatch maps send it to the quarantine. */
	assert_string_equal(chain_of(in, "in4", "172.17.0.9"), "q_ingress");
	assert_string_equal(chain_of(in, "eg4", "172.17.0.9"), "q_egress");
	t = chain_text(br, "q_egress");
	assert_non_null(strstr(t, "bh|Q|E|*|quarantine"));
	assert_non_null(strstr(t, "\ncounter drop\n"));
	free(t);
	/* Established traffic and ND: through the quarantine first. */
	t = chain_text(in, "forward");
	assert_true(strncmp(t, "ct state established,related goto quarantine\n"
	    "meta l4proto icmpv6 icmpv6 type 133-136 goto quarantine\n",
	    45 + 56) == 0);	/* the two lines */
	free(t);
	t = chain_text(in, "quarantine");
	assert_non_null(strstr(t, "ip saddr @quarantine4 goto q_egress\n"));
	assert_non_null(strstr(t, "ip daddr @quarantine4 goto q_ingress\n"));
	assert_non_null(strstr(t, "\naccept\n"));
	free(t);
	/* Unmarked packets: a quarantined source before the identity check. */
	t = chain_text(in, "identity");
	assert_true(strstr(t, "@quarantine4 goto q_egress") <
	    strstr(t, "@addrs4 goto unverified"));
	free(t);
	ir_ruleset_free(rs);
	quarantine_release(&q);
	/* Nobody quarantined: empty sets, same chains. */
	rs = compile_ruleset(f->ps, &f->inv, &f->o);
	assert_int_equal(ir_set_find(table(rs, NFPROTO_BRIDGE),
	    "quarantine")->nelems, 0);
	ir_ruleset_free(rs);
}

/* Fail open: unclassified traffic is logged (bh|L) and let through. */
static void
test_fail_open(void **state)
{
	struct fixture		*f = *state;
	struct compile_opts	 o = f->o;
	struct ir_ruleset	*rs;
	char			*t;

	t = chain_text(table(f->rs, NFPROTO_INET), "p_egress");
	assert_non_null(strstr(t, "counter drop"));
	assert_non_null(strstr(t, "bh|P|E|*|unclassified-container"));
	free(t);
	t = chain_text(table(f->rs, NFPROTO_INET), "p_ingress");
	assert_non_null(strstr(t, "counter drop"));
	assert_non_null(strstr(t, "bh|P|I|*|unclassified-container"));
	free(t);
	o.fail_open = 1;
	rs = compile_ruleset(f->ps, &f->inv, &o);
	t = chain_text(table(rs, NFPROTO_INET), "p_egress");
	assert_null(strstr(t, "drop"));
	assert_non_null(strstr(t, "bh|L|E|*|unclassified-container"));
	free(t);
	t = chain_text(table(rs, NFPROTO_INET), "p_ingress");
	assert_null(strstr(t, "drop"));
	assert_non_null(strstr(t, "bh|L|I|*|unclassified-container"));
	free(t);
	/* Spoofed sources and quarantine stay dropped in either mode. */
	t = chain_text(table(rs, NFPROTO_INET), "unverified");
	assert_non_null(strstr(t, "counter drop"));
	free(t);
	t = chain_text(table(rs, NFPROTO_INET), "q_ingress");
	assert_non_null(strstr(t, "counter drop"));
	free(t);
	ir_ruleset_free(rs);
}

/* 1 when interval set s holds IPv4 address ip4. */
static int
set_has4(struct ir_set *s, const char *ip4)
{
	uint8_t	a[4];
	size_t	i;

	assert_int_equal(inet_pton(AF_INET, ip4, a), 1);
	for (i = 0; s != NULL && i < s->nelems; i++) {
		const uint8_t *hi = memcmp(s->elems[i].key_end, s->elems[i].key,
		    4) < 0 ? s->elems[i].key : s->elems[i].key_end;

		if (memcmp(a, s->elems[i].key, 4) >= 0 && memcmp(a, hi, 4) <= 0)
			return 1;
	}
	return 0;
}

/*
 * A remote namespaceSelector stands for the containers of the namespaces
 * it matches (bulkhead.namespace, else the compose project, else
 * "default"; declared labels plus kubernetes.io/metadata.name), never for
 * everyone: before, a peer with only a namespaceSelector matched any
 * source.
 */
static void
test_namespace_selector_remote(void **state)
{
	const char *json =
	    "[{\"apiVersion\":\"v1\",\"kind\":\"Namespace\",\"metadata\":"
	    "{\"name\":\"team-a\",\"labels\":{\"tier\":\"prod\"}}},"
	    "{\"apiVersion\":\"bulkhead/v1\",\"kind\":\"Policy\","
	    "\"metadata\":{\"name\":\"db\"},\"spec\":{\"selector\":"
	    "\"app == 'db'\",\"ingress\":["
	    "{\"action\":\"allow\",\"source\":{\"namespaceSelector\":"
	    "\"tier == 'prod'\"}},"
	    "{\"action\":\"allow\",\"source\":{\"selector\":\"app == 'api'\","
	    "\"namespaceSelector\":\"kubernetes.io/metadata.name == 'default'\"}}]}}]";
	struct policy_set	*ps = load(json);
	struct inventory	 inv;
	struct compile_opts	 o;
	struct ir_ruleset	*rs;
	struct ir_table		*in;
	struct ir_set		*s0, *s1;
	char			*t;

	(void)state;
	inventory_init(&inv);
	inventory_put(&inv, mkct("aaaaaaaaaaaa0000", "db", "app=db",
	    "172.17.0.2", "v1"));
	inventory_put(&inv, mkct("bbbbbbbbbbbb0000", "a1",
	    "app=api,bulkhead.namespace=team-a", "172.17.0.10", "v2"));
	inventory_put(&inv, mkct("cccccccccccc0000", "a2",
	    "app=api,com.docker.compose.project=team-a", "172.17.0.20", "v3"));
	/* bulkhead.namespace wins over the compose project. */
	inventory_put(&inv, mkct("dddddddddddd0000", "a3",
	    "app=api,bulkhead.namespace=other,com.docker.compose.project=team-a",
	    "172.17.0.30", "v4"));
	inventory_put(&inv, mkct("eeeeeeeeeeee0000", "a4", "app=api",
	    "172.17.0.40", "v5"));
	compile_opts_default(&o);
	rs = compile_ruleset(ps, &inv, &o);
	in = table(rs, NFPROTO_INET);
	s0 = ir_set_find(in, "p0_i0_saddr4");
	s1 = ir_set_find(in, "p0_i1_saddr4");
	assert_non_null(s0);
	assert_non_null(s1);
	assert_true(set_has4(s0, "172.17.0.10"));
	assert_true(set_has4(s0, "172.17.0.20"));
	assert_false(set_has4(s0, "172.17.0.30"));
	assert_false(set_has4(s0, "172.17.0.40"));
	assert_false(set_has4(s0, "172.17.0.2"));
	/* selector AND namespace: api in default only. */
	assert_true(set_has4(s1, "172.17.0.40"));
	assert_false(set_has4(s1, "172.17.0.10"));
	assert_false(set_has4(s1, "172.17.0.30"));
	t = chain_text(in, chain_of(in, "in4", "172.17.0.2"));
	assert_non_null(strstr(t, "ip saddr @p0_i0_saddr4 counter accept"));
	free(t);
	ir_ruleset_free(rs);
	inventory_release(&inv);
	policy_set_free(ps);
}

/*
 * The local side of a rule (destination for ingress): its entity host or
 * world never matches a container, and its namespaceSelector is decided
 * per container, so containers in different namespaces get different
 * chains.
 */
static void
test_local_entity_and_namespace(void **state)
{
	const char *json =
	    "[{\"apiVersion\":\"v1\",\"kind\":\"Namespace\",\"metadata\":"
	    "{\"name\":\"team-a\",\"labels\":{\"tier\":\"prod\"}}},"
	    "{\"apiVersion\":\"bulkhead/v1\",\"kind\":\"Policy\","
	    "\"metadata\":{\"name\":\"db\"},\"spec\":{\"selector\":"
	    "\"app == 'db'\",\"ingress\":["
	    "{\"action\":\"allow\",\"protocol\":\"tcp\",\"destination\":"
	    "{\"entity\":\"host\",\"ports\":[81]}},"
	    "{\"action\":\"allow\",\"protocol\":\"tcp\",\"destination\":"
	    "{\"entity\":\"world\",\"ports\":[82]}},"
	    "{\"action\":\"allow\",\"protocol\":\"tcp\",\"destination\":"
	    "{\"entity\":\"any\",\"ports\":[83]}},"
	    "{\"action\":\"allow\",\"protocol\":\"tcp\",\"destination\":"
	    "{\"namespaceSelector\":\"tier == 'prod'\",\"ports\":[84]}}]}}]";
	struct policy_set	*ps = load(json);
	struct inventory	 inv;
	struct compile_opts	 o;
	struct ir_ruleset	*rs;
	struct ir_table		*in;
	char			*t;

	(void)state;
	inventory_init(&inv);
	inventory_put(&inv, mkct("aaaaaaaaaaaa0000", "db1", "app=db",
	    "172.17.0.2", "v1"));
	inventory_put(&inv, mkct("bbbbbbbbbbbb0000", "db2",
	    "app=db,bulkhead.namespace=team-a", "172.17.0.3", "v2"));
	compile_opts_default(&o);
	rs = compile_ruleset(ps, &inv, &o);
	in = table(rs, NFPROTO_INET);
	assert_string_not_equal(chain_of(in, "in4", "172.17.0.2"),
	    chain_of(in, "in4", "172.17.0.3"));
	t = chain_text(in, chain_of(in, "in4", "172.17.0.2"));
	assert_null(strstr(t, "@p0_i0_dport"));
	assert_null(strstr(t, "@p0_i1_dport"));
	assert_non_null(strstr(t, "@p0_i2_dport"));
	assert_null(strstr(t, "@p0_i3_dport"));
	free(t);
	t = chain_text(in, chain_of(in, "in4", "172.17.0.3"));
	assert_null(strstr(t, "@p0_i0_dport"));
	assert_non_null(strstr(t, "@p0_i2_dport"));
	assert_non_null(strstr(t, "@p0_i3_dport"));
	free(t);
	ir_ruleset_free(rs);
	inventory_release(&inv);
	policy_set_free(ps);
}

/*
 * IPv6 neighbour discovery passes in every base chain before the
 * identity, pending and policy steps; a DAD probe from :: is not taken
 * for an unclassified container.
 */
static void
test_nd6_and_unspecified_source(void **state)
{
	struct ir_table	*in = table(((struct fixture *)*state)->rs, NFPROTO_INET);
	const char	*base[] = { "forward", "input", "output" };
	size_t		 i;
	char		*t;

	for (i = 0; i < 3; i++) {
		t = chain_text(in, base[i]);
		/* Nobody in quarantine: no quarantine lookup on the way. */
		assert_non_null(strstr(t, "ct state established,related "
		    "accept\nmeta l4proto icmpv6 icmpv6 type 133-136 "
		    "accept\n"));
		free(t);
	}
	t = chain_text(in, "identity");
	assert_non_null(strstr(t, "iifname @bridges ip6 saddr != fe80::/10 "
	    "ip6 saddr != :: goto p_egress"));
	free(t);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_tables, setup, teardown),
		cmocka_unit_test(test_replicas_share_chains),
		cmocka_unit_test_setup_teardown(test_fail_open, setup, teardown),
		cmocka_unit_test_setup_teardown(test_quarantine, setup, teardown),
		cmocka_unit_test(test_identical_peers_share_sets),
		cmocka_unit_test(test_host_ports),
		cmocka_unit_test_setup_teardown(test_only_selected_get_chains,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_rule_order_and_prefixes,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_peer_sets, setup, teardown),
		cmocka_unit_test_setup_teardown(test_guard, setup, teardown),
		cmocka_unit_test(test_unselected_without_veth_untouched),
		cmocka_unit_test(test_audit_policy_runs_apart),
		cmocka_unit_test(test_namespace_selector_remote),
		cmocka_unit_test(test_local_entity_and_namespace),
		cmocka_unit_test_setup_teardown(test_nd6_and_unspecified_source,
		    setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
