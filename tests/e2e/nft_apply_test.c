/*
 * nft_apply_test: nft.c against the running kernel (root).  Builds IR by
 * hand, applies it to tables named bulkhead_test, and checks with the nft
 * tool what the kernel holds: set elements, rule rendering, atomic
 * replacement, failing batches that leave the old table intact, check
 * mode, deletion.  Prints "PASS name"/"FAIL name"; exits 1 on any failure.
 */
#include <arpa/inet.h>
#include <net/if.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nf_conntrack_common.h>
#include <linux/netfilter_bridge.h>
#include <linux/netfilter_ipv4.h>

#include "ir.h"
#include "log.h"
#include "nft.h"
#include "util.h"

#define T		"bulkhead_test"
#define REG0		NFT_REG32_00
#define MARK_BIT	0x20000000u
#define CONCAT2(a, b)		(((a) << IR_TYPE_BITS) | (b))
#define CONCAT3(a, b, c)	((CONCAT2(a, b) << IR_TYPE_BITS) | (c))

static int failures;

static void
result(const char *name, int ok, const char *why)
{
	printf("%s %s", ok ? "PASS" : "FAIL", name);
	if (!ok && why != NULL)
		printf(": %s", why);
	printf("\n");
	fflush(stdout);
	if (!ok)
		failures++;
}

/* ---- running nft for inspection ---- */

static char *
run(const char *fmt, ...)
{
	struct strbuf	sb, cmd;
	char		buf[65536];
	size_t		n;
	va_list		ap;
	FILE		*f;

	strbuf_init(&cmd);
	va_start(ap, fmt);
	strbuf_vaddf(&cmd, fmt, ap);
	va_end(ap);
	strbuf_addstr(&cmd, " 2>&1");
	strbuf_init(&sb);
	if ((f = popen(cmd.buf, "r")) == NULL)
		fatal("popen");
	while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
		strbuf_add(&sb, buf, n);
	pclose(f);
	strbuf_release(&cmd);
	return strbuf_detach(&sb);
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static char *
trim(char *s)
{
	char	*e;

	while (*s == ' ' || *s == '\t' || *s == '\n')
		s++;
	e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\n'))
		*--e = '\0';
	return s;
}

/*
 * Elements of a set as `nft list set` prints them, sorted, joined with
 * "|"; "" when the set has none, "ERROR: ..." when nft fails.
 */
static char *
set_elements(const char *family, const char *set)
{
	char	*out = run("nft list %s %s " T " %s",
		    strncmp(set, "vm", 2) == 0 ? "map" : "set", family, set);
	char	*p, *end, *tok, *save = NULL, *v[256];
	size_t	 n = 0, i;
	struct strbuf sb;

	if (strstr(out, "table") == NULL) {
		char *r = xasprintf("ERROR: %s", out);

		free(out);
		return r;
	}
	strbuf_init(&sb);
	if ((p = strstr(out, "elements = {")) != NULL) {
		p += strlen("elements = {");
		if ((end = strchr(p, '}')) != NULL)
			*end = '\0';
		for (tok = strtok_r(p, ",", &save); tok && n < ARRAY_SIZE(v);
		    tok = strtok_r(NULL, ",", &save))
			v[n++] = trim(tok);
		qsort(v, n, sizeof(v[0]), cmp_str);
		for (i = 0; i < n; i++)
			strbuf_addf(&sb, "%s%s", i ? "|" : "", v[i]);
	}
	free(out);
	return strbuf_detach(&sb);
}

/* Checks a set against the expected elements ("|"-joined, any order). */
static void
expect_set(const char *name, const char *family, const char *set,
    const char *want)
{
	char	*got = set_elements(family, set), *w = xstrdup(want);
	char	*v[256], *tok, *save = NULL, *why;
	size_t	 n = 0, i;
	struct strbuf sb;

	strbuf_init(&sb);
	for (tok = strtok_r(w, "|", &save); tok; tok = strtok_r(NULL, "|", &save))
		v[n++] = tok;
	qsort(v, n, sizeof(v[0]), cmp_str);
	for (i = 0; i < n; i++)
		strbuf_addf(&sb, "%s%s", i ? "|" : "", v[i]);
	why = xasprintf("set %s: got {%s} want {%s}", set, got, sb.buf);
	result(name, strcmp(got, sb.buf) == 0, why);
	free(why);
	free(got);
	free(w);
	strbuf_release(&sb);
}

/* Checks that the chain's rules print, in order, as the lines given. */
static void
expect_rules(const char *name, const char *family, const char *chain,
    const char **want)
{
	char	*out = run("nft list chain %s " T " %s", family, chain);
	char	*p = out, *line, *save = NULL, *why = NULL;
	size_t	 i = 0;

	for (line = strtok_r(p, "\n", &save); line;
	    line = strtok_r(NULL, "\n", &save)) {
		line = trim(line);
		if (strncmp(line, "table", 5) == 0 ||
		    strncmp(line, "chain", 5) == 0 ||
		    strncmp(line, "type ", 5) == 0 || strcmp(line, "}") == 0 ||
		    *line == '\0')
			continue;
		if (want[i] == NULL || strcmp(line, want[i]) != 0) {
			why = xasprintf("chain %s rule %zu: got '%s' want '%s'",
			    chain, i, line, want[i] ? want[i] : "(none)");
			break;
		}
		i++;
	}
	if (why == NULL && want[i] != NULL)
		why = xasprintf("chain %s: missing rule '%s'", chain, want[i]);
	result(name, why == NULL, why);
	free(why);
	free(out);
}

static char *
list_tables(void)
{
	return run("nft list table inet " T "; nft list table bridge " T);
}

/* ---- building IR ---- */

static void
e_meta(struct ir_rule *r, enum ir_expr_kind k, uint32_t key, uint32_t reg)
{
	struct ir_expr *e = ir_expr_add(r, k);

	e->u.meta.key = key;
	e->u.meta.reg = reg;
}

static void
e_payload(struct ir_rule *r, uint32_t base, uint32_t off, uint32_t len,
    uint32_t reg)
{
	struct ir_expr *e = ir_expr_add(r, IR_PAYLOAD);

	e->u.payload.base = base;
	e->u.payload.offset = off;
	e->u.payload.len = len;
	e->u.payload.dreg = reg;
}

static void
e_cmp(struct ir_rule *r, uint32_t op, const void *data, uint32_t len)
{
	struct ir_expr *e = ir_expr_add(r, IR_CMP);

	e->u.cmp.op = op;
	e->u.cmp.sreg = REG0;
	e->u.cmp.len = len;
	memcpy(e->u.cmp.data, data, len);
}

static void
e_bitwise32(struct ir_rule *r, uint32_t mask, uint32_t xor)
{
	struct ir_expr *e = ir_expr_add(r, IR_BITWISE);

	e->u.bitwise.sreg = e->u.bitwise.dreg = REG0;
	e->u.bitwise.len = 4;
	memcpy(e->u.bitwise.mask, &mask, 4);
	memcpy(e->u.bitwise.xor, &xor, 4);
}

static void
e_lookup(struct ir_rule *r, const char *set, int vmap)
{
	struct ir_expr *e = ir_expr_add(r, IR_LOOKUP);

	strlcpy_bh(e->u.lookup.set, set, IR_NAMELEN);
	e->u.lookup.sreg = REG0;
	if (vmap) {
		e->u.lookup.has_dreg = 1;
		e->u.lookup.dreg = NFT_REG_VERDICT;
	}
}

static void
e_verdict(struct ir_rule *r, int code, const char *chain)
{
	struct ir_expr *e = ir_expr_add(r, IR_VERDICT);

	e->u.verdict.code = code;
	if (chain)
		strlcpy_bh(e->u.verdict.chain, chain, IR_NAMELEN);
}

static void
e_nfproto4(struct ir_rule *r)
{
	uint8_t	v = NFPROTO_IPV4;

	e_meta(r, IR_META, NFT_META_NFPROTO, REG0);
	e_cmp(r, NFT_CMP_EQ, &v, 1);
}

static struct ir_set *
set_new(struct ir_table *t, const char *name, uint32_t type, uint32_t len,
    uint32_t flags)
{
	struct ir_set *s = ir_set_add(t, name);

	s->key_type = type;
	s->key_len = len;
	s->flags = flags;
	s->nfields = 1;
	s->field_len[0] = (uint8_t)len;
	return s;
}

static void
add_ip(struct ir_set *s, const char *lo, const char *hi)
{
	struct ir_elem *e = ir_elem_add(s);

	inet_pton(AF_INET, lo, e->key);
	if (hi)
		inet_pton(AF_INET, hi, e->key_end);
}

static void
add_port(struct ir_set *s, uint16_t lo, uint16_t hi)
{
	struct ir_elem *e = ir_elem_add(s);
	uint16_t	a = htons(lo), b = htons(hi);

	memcpy(e->key, &a, 2);
	memcpy(e->key_end, &b, 2);
}

static void
add_vmap(struct ir_set *s, const char *ip, int verdict, const char *chain)
{
	struct ir_elem *e = ir_elem_add(s);

	inet_pton(AF_INET, ip, e->key);
	e->verdict = verdict;
	if (chain)
		strlcpy_bh(e->chain, chain, IR_NAMELEN);
}

static void
rule_text(struct ir_rule *r, const char *text)
{
	r->text = xstrdup(text);
}

/* Variant 0: the first ruleset; variant 1: its replacement. */
static void
build_inet(struct ir_ruleset *rs, int variant)
{
	struct ir_table	*t = ir_table_add(rs, T, NFPROTO_INET);
	struct ir_chain	*c;
	struct ir_set	*s;
	struct ir_rule	*r;
	struct ir_expr	*e;
	uint32_t	 zero = 0;
	uint8_t		 tcp = IPPROTO_TCP;

	c = ir_chain_add(t, "forward");
	c->base = 1;
	strlcpy_bh(c->type, "filter", sizeof(c->type));
	c->hook = NF_INET_FORWARD;
	c->priority = -10;
	c->policy = NF_ACCEPT;
	ir_chain_add(t, variant ? "in_c2" : "in_c1");

	s = set_new(t, "exact4", IR_TYPE_IPV4, 4, 0);
	add_ip(s, "10.1.1.1", NULL);
	add_ip(s, variant ? "10.1.1.3" : "10.1.1.2", NULL);
	add_ip(s, "192.168.0.7", NULL);

	s = set_new(t, "nets4", IR_TYPE_IPV4, 4, NFT_SET_INTERVAL);
	if (variant)
		add_ip(s, "0.0.0.0", "0.255.255.255");
	add_ip(s, "10.0.0.0", "10.255.255.255");
	add_ip(s, "172.16.0.0", "172.31.255.255");
	add_ip(s, "192.168.1.5", "192.168.1.9");
	add_ip(s, "192.168.2.1", NULL);
	add_ip(s, "240.0.0.0", "255.255.255.255");

	s = set_new(t, "ports", IR_TYPE_INET_SERVICE, 2, NFT_SET_INTERVAL);
	if (variant)
		add_port(s, 0, 21);
	add_port(s, 22, 22);
	add_port(s, 80, 90);
	add_port(s, 8000, 8080);
	add_port(s, 65535, 65535);

	s = set_new(t, "vm4", IR_TYPE_IPV4, 4, NFT_SET_MAP);
	s->data_type = NFT_DATA_VERDICT;
	add_vmap(s, "172.17.0.2", NFT_JUMP, variant ? "in_c2" : "in_c1");
	add_vmap(s, "172.17.0.3", NFT_GOTO, variant ? "in_c2" : "in_c1");
	add_vmap(s, "172.17.0.4", NF_DROP, NULL);

	/* ipv4_addr . inet_proto . inet_service, interval: pipapo */
	s = ir_set_add(t, "gate");
	s->key_type = CONCAT3(IR_TYPE_IPV4, IR_TYPE_INET_PROTO,
	    IR_TYPE_INET_SERVICE);
	s->flags = NFT_SET_INTERVAL | NFT_SET_CONCAT;
	s->nfields = 3;
	s->field_len[0] = 4;
	s->field_len[1] = 1;
	s->field_len[2] = 2;
	s->key_len = 12;
	{
		struct ir_elem	*el = ir_elem_add(s);
		uint16_t	 p;

		inet_pton(AF_INET, "10.0.0.0", el->key);
		inet_pton(AF_INET, "10.255.255.255", el->key_end);
		el->key[4] = el->key_end[4] = IPPROTO_TCP;
		p = htons(80);
		memcpy(el->key + 8, &p, 2);
		p = htons(variant ? 99 : 90);
		memcpy(el->key_end + 8, &p, 2);
	}

	r = ir_rule_add(t, "forward");
	e = ir_expr_add(r, IR_CT);
	e->u.ct.key = NFT_CT_STATE;
	e->u.ct.dreg = REG0;
	e_bitwise32(r, NF_CT_STATE_BIT(IP_CT_ESTABLISHED) |
	    NF_CT_STATE_BIT(IP_CT_RELATED), 0);
	e_cmp(r, NFT_CMP_NEQ, &zero, 4);
	e_verdict(r, NF_ACCEPT, NULL);
	rule_text(r, "ct state established,related accept");

	r = ir_rule_add(t, "forward");
	e_nfproto4(r);
	e_payload(r, NFT_PAYLOAD_NETWORK_HEADER, 12, 4, REG0);
	e_lookup(r, "exact4", 0);
	ir_expr_add(r, IR_COUNTER);
	e_verdict(r, NF_ACCEPT, NULL);
	rule_text(r, "meta nfproto ipv4 ip saddr @exact4 counter accept");
	r->comment = xstrdup("known hosts");

	r = ir_rule_add(t, "forward");
	e_nfproto4(r);
	e_payload(r, NFT_PAYLOAD_NETWORK_HEADER, 16, 4, REG0);
	e_lookup(r, "vm4", 1);
	rule_text(r, "meta nfproto ipv4 ip daddr vmap @vm4");

	r = ir_rule_add(t, "forward");
	e_nfproto4(r);
	e_meta(r, IR_META, NFT_META_L4PROTO, REG0);
	e_cmp(r, NFT_CMP_EQ, &tcp, 1);
	e_payload(r, NFT_PAYLOAD_NETWORK_HEADER, 12, 4, REG0);
	e_lookup(r, "nets4", 0);
	e_payload(r, NFT_PAYLOAD_TRANSPORT_HEADER, 2, 2, REG0);
	e_lookup(r, "ports", 0);
	e_verdict(r, NF_ACCEPT, NULL);
	/* text left NULL: rendered from the expressions */

	r = ir_rule_add(t, "forward");
	e_nfproto4(r);
	e_payload(r, NFT_PAYLOAD_NETWORK_HEADER, 16, 4, REG0);
	e_meta(r, IR_META, NFT_META_L4PROTO, REG0 + 1);
	e_payload(r, NFT_PAYLOAD_TRANSPORT_HEADER, 2, 2, REG0 + 2);
	e_lookup(r, "gate", 0);
	e_verdict(r, NF_ACCEPT, NULL);
	rule_text(r, "meta nfproto ipv4 ip daddr . meta l4proto . th dport "
	    "@gate accept");

	r = ir_rule_add(t, "forward");
	e = ir_expr_add(r, IR_LIMIT);
	e->u.limit.rate = 10;
	e->u.limit.unit = 1;
	e->u.limit.burst = 20;
	e = ir_expr_add(r, IR_LOG);
	e->u.log.group = 5;
	strlcpy_bh(e->u.log.prefix, "bh|D|I|*|x", IR_PREFIXMAX);
	rule_text(r, "limit rate 10/second burst 20 packets log group 5 "
	    "prefix \"bh|D|I|*|x\"");

	r = ir_rule_add(t, "forward");
	ir_expr_add(r, IR_COUNTER);
	e_verdict(r, NF_DROP, NULL);
	rule_text(r, "counter drop");

	r = ir_rule_add(t, variant ? "in_c2" : "in_c1");
	e_nfproto4(r);
	e_payload(r, NFT_PAYLOAD_NETWORK_HEADER, 12, 4, REG0);
	e_lookup(r, "nets4", 0);
	e_verdict(r, NF_ACCEPT, NULL);
	rule_text(r, "meta nfproto ipv4 ip saddr @nets4 accept");
}

static void
add_port_ip4(struct ir_set *s, const char *ifn, const uint8_t *mac,
    const char *ip)
{
	struct ir_elem	*e = ir_elem_add(s);
	char		 name[IF_NAMESIZE] = { 0 };

	strlcpy_bh(name, ifn, sizeof(name));
	memcpy(e->key, name, IF_NAMESIZE);
	memcpy(e->key + 16, mac, 6);
	inet_pton(AF_INET, ip, e->key + 24);
}

static void
build_bridge(struct ir_ruleset *rs, int variant)
{
	static const uint8_t mac1[6] = { 0x02, 0x42, 0xac, 0x11, 0x00, 0x02 };
	static const uint8_t mac2[6] = { 0x02, 0x42, 0xac, 0x11, 0x00, 0x03 };
	struct ir_table	*t = ir_table_add(rs, T, NFPROTO_BRIDGE);
	struct ir_chain	*c;
	struct ir_set	*s;
	struct ir_rule	*r;
	uint16_t	 ip = htons(0x0800);

	c = ir_chain_add(t, "prerouting");
	c->base = 1;
	strlcpy_bh(c->type, "filter", sizeof(c->type));
	c->hook = NF_BR_PRE_ROUTING;
	c->priority = -300;
	c->policy = NF_ACCEPT;

	s = ir_set_add(t, "port_ip4");
	s->key_type = CONCAT3(IR_TYPE_IFNAME, IR_TYPE_ETHER, IR_TYPE_IPV4);
	s->flags = NFT_SET_CONCAT;
	s->nfields = 3;
	s->field_len[0] = IF_NAMESIZE;
	s->field_len[1] = 6;
	s->field_len[2] = 4;
	s->key_len = 16 + 8 + 4;
	add_port_ip4(s, "veth1", mac1, "172.17.0.2");
	add_port_ip4(s, variant ? "veth3" : "veth2", mac2, "172.17.0.3");

	r = ir_rule_add(t, "prerouting");
	e_payload(r, NFT_PAYLOAD_LL_HEADER, 12, 2, REG0);
	e_cmp(r, NFT_CMP_EQ, &ip, 2);
	e_meta(r, IR_META, NFT_META_IIFNAME, REG0);
	e_payload(r, NFT_PAYLOAD_LL_HEADER, 6, 6, REG0 + 4);
	e_payload(r, NFT_PAYLOAD_NETWORK_HEADER, 12, 4, REG0 + 6);
	e_lookup(r, "port_ip4", 0);
	e_meta(r, IR_META, NFT_META_MARK, REG0);
	e_bitwise32(r, ~MARK_BIT, MARK_BIT);
	e_meta(r, IR_META_SET, NFT_META_MARK, REG0);
	e_verdict(r, NF_ACCEPT, NULL);
	rule_text(r, "ether type ip iifname . ether saddr . ip saddr @port_ip4 "
	    "meta mark set meta mark | 0x20000000 accept");
}

static struct ir_ruleset *
build(int variant)
{
	struct ir_ruleset *rs = ir_ruleset_new();

	build_inet(rs, variant);
	build_bridge(rs, variant);
	return rs;
}

/* ---- tests ---- */

static const char *inet_rules0[] = {
	"ct state established,related accept",
	"ip saddr @exact4 counter packets 0 bytes 0 accept "
	    "comment \"known hosts\"",
	"ip daddr vmap @vm4",
	"ip saddr @nets4 tcp dport @ports accept",
	"ip daddr . meta l4proto . th dport @gate accept",
	"limit rate 10/second burst 20 packets log prefix \"bh|D|I|*|x\" group 5",
	"counter packets 0 bytes 0 drop",
	NULL
};

static const char *bridge_rules[] = {
	"iifname . ether saddr . ip saddr @port_ip4 meta mark set meta mark | "
	    "0x20000000 accept",
	NULL
};

static void
test_apply(struct nft *n)
{
	struct ir_ruleset *rs = build(0);
	char	err[1024] = "";
	const char *in_c1[] = { "ip saddr @nets4 accept", NULL };

	result("apply", nft_apply(n, rs, err, sizeof(err)) == 0, err);
	result("table_exists", nft_table_exists(n, NFPROTO_INET, T) == 1 &&
	    nft_table_exists(n, NFPROTO_BRIDGE, T) == 1, NULL);
	expect_set("set_exact", "inet", "exact4",
	    "10.1.1.1|10.1.1.2|192.168.0.7");
	expect_set("set_interval_cidr", "inet", "nets4",
	    "10.0.0.0/8|172.16.0.0/12|192.168.1.5-192.168.1.9|192.168.2.1|"
	    "240.0.0.0/4");
	expect_set("set_interval_ports", "inet", "ports",
	    "22|80-90|8000-8080|65535");
	expect_set("vmap", "inet", "vm4", "172.17.0.2 : jump in_c1|"
	    "172.17.0.3 : goto in_c1|172.17.0.4 : drop");
	expect_set("set_concat_interval", "inet", "gate",
	    "10.0.0.0/8 . tcp . 80-90");
	expect_set("set_concat", "bridge", "port_ip4",
	    "\"veth1\" . 02:42:ac:11:00:02 . 172.17.0.2|"
	    "\"veth2\" . 02:42:ac:11:00:03 . 172.17.0.3");
	expect_rules("rules_inet", "inet", "forward", inet_rules0);
	expect_rules("rules_inet_regular", "inet", "in_c1", in_c1);
	expect_rules("rules_bridge", "bridge", "prerouting", bridge_rules);
	{
		char *out = run("nft list chain inet " T " forward; "
		    "nft list chain bridge " T " prerouting");

		/* nft names the priorities: filter - 10, dstnat (-300) */
		result("base_chains", strstr(out, "type filter hook forward "
		    "priority filter - 10; policy accept;") != NULL &&
		    strstr(out, "type filter hook prerouting priority dstnat; "
		    "policy accept;") != NULL, out);
		free(out);
	}
	ir_ruleset_free(rs);
}

static void
test_replace(struct nft *n)
{
	struct ir_ruleset *rs = build(1);
	char	err[1024] = "", *out;
	const char *in_c2[] = { "ip saddr @nets4 accept", NULL };

	result("reapply", nft_apply(n, rs, err, sizeof(err)) == 0, err);
	expect_set("replace_exact", "inet", "exact4",
	    "10.1.1.1|10.1.1.3|192.168.0.7");
	expect_set("replace_interval_zero", "inet", "nets4",
	    "0.0.0.0/8|10.0.0.0/8|172.16.0.0/12|192.168.1.5-192.168.1.9|"
	    "192.168.2.1|240.0.0.0/4");
	expect_set("replace_ports_zero", "inet", "ports",
	    "0-21|22|80-90|8000-8080|65535");
	expect_set("replace_vmap", "inet", "vm4", "172.17.0.2 : jump in_c2|"
	    "172.17.0.3 : goto in_c2|172.17.0.4 : drop");
	expect_set("replace_concat_interval", "inet", "gate",
	    "10.0.0.0/8 . tcp . 80-99");
	expect_set("replace_concat", "bridge", "port_ip4",
	    "\"veth1\" . 02:42:ac:11:00:02 . 172.17.0.2|"
	    "\"veth3\" . 02:42:ac:11:00:03 . 172.17.0.3");
	expect_rules("replace_rules", "inet", "in_c2", in_c2);
	out = run("nft list chain inet " T " in_c1");
	result("replace_old_chain_gone", strstr(out, "No such file") != NULL,
	    out);
	free(out);
	out = run("nft list table inet " T " | grep -c 'hook forward'");
	result("replace_single_base_chain", atoi(out) == 1, out);
	free(out);
	ir_ruleset_free(rs);
}

/* A failing batch names the rule and leaves the tables as they were. */
static void
test_bad(struct nft *n, const char *name, int missing_set, int check)
{
	struct ir_ruleset *rs = build(0);
	struct ir_rule	*r;
	char	err[1024] = "", *before, *after, *why;
	int	ret;

	r = ir_rule_add(&rs->tables[0], "forward");
	if (missing_set) {
		e_nfproto4(r);
		e_payload(r, NFT_PAYLOAD_NETWORK_HEADER, 12, 4, REG0);
		e_lookup(r, "nosuchset", 0);
		e_verdict(r, NF_ACCEPT, NULL);
		rule_text(r, "ip saddr @nosuchset accept");
	} else {
		e_verdict(r, NFT_JUMP, "nosuchchain");
		rule_text(r, "jump nosuchchain");
	}
	before = list_tables();
	ret = check ? nft_check(n, rs, err, sizeof(err)) :
	    nft_apply(n, rs, err, sizeof(err));
	after = list_tables();
	why = xasprintf("ret %d err '%s'", ret, err);
	result(name, ret == -1 && strstr(err, missing_set ?
	    "add rule to chain forward: ip saddr @nosuchset accept: " :
	    "add rule to chain forward: jump nosuchchain: ") != NULL, why);
	printf("  error: %s\n", err);
	free(why);
	why = xasprintf("%s: tables changed", name);
	result(name, strcmp(before, after) == 0, why);
	free(why);
	free(before);
	free(after);
	ir_ruleset_free(rs);
}

/* A jump loop is found only by the kernel's validation: check mode too. */
static void
test_loop(struct nft *n, int check)
{
	struct ir_ruleset *rs = build(0);
	struct ir_table	*t = &rs->tables[0];
	char	err[1024] = "", *before, *after, *why;
	int	ret;

	ir_chain_add(t, "loop_a");
	ir_chain_add(t, "loop_b");
	e_verdict(ir_rule_add(t, "forward"), NFT_JUMP, "loop_a");
	e_verdict(ir_rule_add(t, "loop_a"), NFT_JUMP, "loop_b");
	e_verdict(ir_rule_add(t, "loop_b"), NFT_JUMP, "loop_a");
	before = list_tables();
	ret = check ? nft_check(n, rs, err, sizeof(err)) :
	    nft_apply(n, rs, err, sizeof(err));
	after = list_tables();
	why = xasprintf("ret %d err '%s'", ret, err);
	result(check ? "check_loop" : "apply_loop", ret == -1 &&
	    strcmp(before, after) == 0, why);
	printf("  error: %s\n", err);
	free(why);
	free(before);
	free(after);
	ir_ruleset_free(rs);
}

static void
test_check(struct nft *n)
{
	struct ir_ruleset *rs = build(0);
	char	err[1024] = "", *before, *after;

	before = list_tables();
	result("check_valid", nft_check(n, rs, err, sizeof(err)) == 0, err);
	after = list_tables();
	result("check_changes_nothing", strcmp(before, after) == 0, after);
	free(before);
	free(after);
	ir_ruleset_free(rs);
}

static void
test_delete(struct nft *n)
{
	char	err[1024] = "";

	result("delete", nft_delete_table(n, NFPROTO_INET, T, err,
	    sizeof(err)) == 0 && nft_delete_table(n, NFPROTO_BRIDGE, T, err,
	    sizeof(err)) == 0, err);
	result("deleted", nft_table_exists(n, NFPROTO_INET, T) == 0 &&
	    nft_table_exists(n, NFPROTO_BRIDGE, T) == 0, NULL);
	result("delete_absent", nft_delete_table(n, NFPROTO_INET, T, err,
	    sizeof(err)) == 0, err);
}

/* ---- interval encoding, checked with real packets ---- */

static void
lo_up(void)
{
	struct ifreq	ifr;
	int		fd = socket(AF_INET, SOCK_DGRAM, 0);

	memset(&ifr, 0, sizeof(ifr));
	strlcpy_bh(ifr.ifr_name, "lo", sizeof(ifr.ifr_name));
	if (fd == -1 || ioctl(fd, SIOCGIFFLAGS, &ifr) == -1)
		fatal("lo flags");
	ifr.ifr_flags |= IFF_UP;
	if (ioctl(fd, SIOCSIFFLAGS, &ifr) == -1)
		fatal("lo up");
	close(fd);
}

static void
send_udp(const char *ip, uint16_t port)
{
	struct sockaddr_in sin;
	int	fd = socket(AF_INET, SOCK_DGRAM, 0);

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons(port);
	inet_pton(AF_INET, ip, &sin.sin_addr);
	if (fd == -1 || sendto(fd, "x", 1, 0, (struct sockaddr *)&sin,
	    sizeof(sin)) != 1)
		fatal("sendto %s", ip);
	close(fd);
}

/* output: meta l4proto udp <load> @set counter */
static void
counting_rule(struct ir_table *t, uint32_t base, uint32_t off, uint32_t len,
    const char *set)
{
	struct ir_rule	*r = ir_rule_add(t, "output");
	uint8_t		 udp = IPPROTO_UDP;

	e_nfproto4(r);
	e_meta(r, IR_META, NFT_META_L4PROTO, REG0);
	e_cmp(r, NFT_CMP_EQ, &udp, 1);
	e_payload(r, base, off, len, REG0);
	e_lookup(r, set, 0);
	ir_expr_add(r, IR_COUNTER);
}

/*
 * Ranges below, inside, between and above, one starting at 0 and one
 * ending at the maximum (no end element), counted by real lookups.
 */
static int
lookup_child(void)
{
	struct ir_ruleset *rs = ir_ruleset_new();
	struct ir_table	*t = ir_table_add(rs, T, NFPROTO_INET);
	struct ir_chain	*c = ir_chain_add(t, "output");
	struct ir_set	*s;
	char		 err[1024], *out, *p;
	struct nft	*n;
	unsigned	 got[3], i = 0;

	if (unshare(CLONE_NEWNET) == -1)
		fatal("unshare");
	lo_up();
	c->base = 1;
	c->hook = NF_INET_LOCAL_OUT;
	s = set_new(t, "r1", IR_TYPE_IPV4, 4, NFT_SET_INTERVAL);
	add_ip(s, "127.0.0.5", "127.0.0.9");
	add_ip(s, "127.0.1.0", "127.0.1.255");
	s = set_new(t, "r0", IR_TYPE_IPV4, 4, NFT_SET_INTERVAL);
	add_ip(s, "0.0.0.0", "127.0.0.9");
	s = set_new(t, "p", IR_TYPE_INET_SERVICE, 2, NFT_SET_INTERVAL);
	add_port(s, 0, 1000);
	add_port(s, 65535, 65535);
	counting_rule(t, NFT_PAYLOAD_NETWORK_HEADER, 16, 4, "r1");
	counting_rule(t, NFT_PAYLOAD_NETWORK_HEADER, 16, 4, "r0");
	counting_rule(t, NFT_PAYLOAD_TRANSPORT_HEADER, 2, 2, "p");
	if ((n = nft_new()) == NULL || nft_apply(n, rs, err, sizeof(err))) {
		printf("  lookup: %s\n", err);
		return 1;
	}
	send_udp("127.0.0.1", 9);	/* below r1;   r0; p */
	send_udp("127.0.0.6", 2000);	/* r1;         r0    */
	send_udp("127.0.0.10", 65535);	/* after r1's end;   p at max */
	send_udp("127.0.1.255", 65534);	/* r1 */
	send_udp("127.0.2.0", 1000);	/* above all;        p */
	out = run("nft list chain inet " T " output");
	for (p = out; i < 3 && (p = strstr(p, "counter packets ")) != NULL;
	    p += 16)
		got[i++] = (unsigned)strtoul(p + 16, NULL, 10);
	if (i != 3 || got[0] != 2 || got[1] != 2 || got[2] != 3) {
		printf("  lookup: want counters 2 2 3, got:\n%s", out);
		return 1;
	}
	nft_free(n);
	free(out);
	ir_ruleset_free(rs);
	return 0;
}

/* In a network namespace of its own: nothing can be left behind. */
static void
test_lookup(void)
{
	pid_t	pid;
	int	status;

	fflush(stdout);
	if ((pid = fork()) == -1)
		fatal("fork");
	if (pid == 0)
		_exit(lookup_child());
	if (waitpid(pid, &status, 0) == -1)
		fatal("waitpid");
	result("interval_lookups", WIFEXITED(status) &&
	    WEXITSTATUS(status) == 0, NULL);
}

/* ---- 100k elements, informational ---- */

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void
test_bulk(struct nft *n, int interval)
{
	struct ir_ruleset *rs = ir_ruleset_new();
	struct ir_table	*t = ir_table_add(rs, T, NFPROTO_INET);
	struct ir_set	*s = set_new(t, "big", IR_TYPE_IPV4, 4,
			    interval ? NFT_SET_INTERVAL : 0);
	char		 err[1024] = "", *out;
	uint32_t	 i, a;
	double		 t0, t1;
	const char	*name = interval ? "bulk_interval" : "bulk_exact";

	for (i = 0; i < 100000; i++) {
		struct ir_elem *e = ir_elem_add(s);

		/* interval: 10.x.y.z/30 blocks with gaps; exact: hosts */
		a = htonl(0x0a000000u + i * (interval ? 8u : 1u));
		memcpy(e->key, &a, 4);
		a = htonl(0x0a000000u + i * (interval ? 8u : 1u) +
		    (interval ? 3u : 0u));
		memcpy(e->key_end, &a, 4);
	}
	t0 = now();
	result(name, nft_apply(n, rs, err, sizeof(err)) == 0, err);
	t1 = now();
	printf("  %s: nft_apply of 100000 elements: %.3f s\n", name, t1 - t0);
	out = run("nft list set inet " T " big | grep -o ',' | wc -l");
	result(name, atoi(out) == 99999, out);
	free(out);
	t0 = now();
	result(name, nft_apply(n, rs, err, sizeof(err)) == 0, err);
	printf("  %s: replace with 100000 elements: %.3f s\n", name,
	    now() - t0);
	ir_ruleset_free(rs);
}

int
main(void)
{
	struct nft	*n;
	char		 err[1024];

	log_init("nft_apply_test", 1, 0);
	if (geteuid() != 0) {
		printf("SKIP nft_apply_test: needs root\n");
		return 77;
	}
	if ((n = nft_new()) == NULL)
		fatalx("nft_new failed");
	nft_delete_table(n, NFPROTO_INET, T, err, sizeof(err));
	nft_delete_table(n, NFPROTO_BRIDGE, T, err, sizeof(err));
	result("absent", nft_table_exists(n, NFPROTO_INET, T) == 0, NULL);

	test_apply(n);
	test_check(n);
	test_bad(n, "bad_jump", 0, 0);
	test_bad(n, "bad_lookup", 1, 0);
	test_bad(n, "check_bad_jump", 0, 1);
	test_bad(n, "check_bad_lookup", 1, 1);
	test_loop(n, 0);
	test_loop(n, 1);
	test_replace(n);
	test_lookup();
	test_delete(n);
	test_bulk(n, 0);
	test_bulk(n, 1);
	test_delete(n);
	nft_free(n);
	printf("%s: %d failure(s)\n", failures ? "FAIL" : "PASS", failures);
	return failures ? 1 : 0;
}
