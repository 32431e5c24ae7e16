/*
 * policy_fixtures.h: containers and policy sets shared by the unit tests
 * that check the compiler against something else (test_agree: the
 * evaluator; test_patch: a whole compile).  Static functions, included
 * by one test file each.  Needs BRIDGE defined, cmocka, compile.h,
 * errlist.h, inventory.h, policy.h and util.h included first.
 */
#ifndef BULKHEAD_POLICY_FIXTURES_H
#define BULKHEAD_POLICY_FIXTURES_H

/* ---- fixtures ---- */

static struct container *
mkct(int n, const char *labels, int v6)
{
	struct container	*c = container_new();
	char			*l = xstrdup(labels), *tok, *save = NULL, buf[64];

	snprintf(c->id, sizeof(c->id), "%012x0000", n);
	snprintf(buf, sizeof(buf), "c%d", n);
	c->name = xstrdup(buf);
	c->running = 1;
	for (tok = strtok_r(l, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		char *eq = strchr(tok, '=');

		*eq = '\0';
		labelset_set(&c->labels, tok, eq + 1);
	}
	free(l);
	c->eps = xcalloc(1, sizeof(*c->eps));
	c->neps = 1;
	snprintf(c->eps[0].bridge, sizeof(c->eps[0].bridge), "%s", BRIDGE);
	snprintf(c->eps[0].veth, sizeof(c->eps[0].veth), "veth%d", n);
	snprintf(buf, sizeof(buf), "10.1.0.%d", n);
	inet_pton(AF_INET, buf, &c->eps[0].ip4);
	c->eps[0].has_ip4 = 1;
	if (v6) {
		snprintf(buf, sizeof(buf), "fd00:1::%d", n);
		inet_pton(AF_INET6, buf, &c->eps[0].ip6);
		c->eps[0].has_ip6 = 1;
	}
	c->eps[0].has_mac = 1;
	c->eps[0].mac[0] = 0x02;
	c->eps[0].mac[5] = (uint8_t)n;
	return c;
}

static const char *const ct_labels[] = {
	"app=web",
	"app=web,tier=gold",
	"app=api,bulkhead.namespace=team-a",
	"app=api,com.docker.compose.project=team-a",
	"app=db,com.docker.compose.project=shop",
	"app=db,bulkhead.namespace=other,com.docker.compose.project=team-a",
	"app=cache",
	"role=x",
};

static void
inv_fill(struct inventory *inv)
{
	size_t	i;

	inventory_init(inv);
	for (i = 0; i < ARRAY_SIZE(ct_labels); i++)
		inventory_put(inv, mkct((int)i + 10, ct_labels[i], i % 3 != 2));
}

static struct policy_set *
load(const char *json, int must)
{
	struct policy_set	*ps = policy_set_new();
	struct errlist		 el;

	errlist_init(&el);
	if (policy_load_buffer(ps, "t.json", json, strlen(json), &el) ||
	    policy_set_finish(ps, &el)) {
		if (must) {
			char *all = errlist_join(&el);

			fail_msg("policy did not load: %s", all);
		}
		policy_set_free(ps);
		ps = NULL;
	}
	errlist_release(&el);
	return ps;
}

#define NSDECL "{\"apiVersion\":\"v1\",\"kind\":\"Namespace\",\"metadata\":" \
	"{\"name\":\"team-a\",\"labels\":{\"tier\":\"prod\"}}}"
#define POL(name, order, mode, sel, body) \
	"{\"apiVersion\":\"bulkhead/v1\",\"kind\":\"Policy\",\"metadata\":" \
	"{\"name\":\"" name "\"},\"spec\":{\"order\":" #order ",\"mode\":\"" \
	mode "\",\"selector\":\"" sel "\"," body "}}"

/* Every part of the language at least once. */
static const char *FIXED = "[" NSDECL ","
    POL("deny-first", 10, "enforce", "app == 'db'",
	"\"ingress\":[{\"action\":\"deny\",\"protocol\":\"tcp\","
	"\"source\":{\"selector\":\"app == 'web'\"},"
	"\"destination\":{\"ports\":[443]}}]") ","
    POL("db-in", 20, "enforce", "app == 'db'",
	"\"ingress\":["
	"{\"action\":\"log\",\"protocol\":\"udp\"},"
	"{\"action\":\"allow\",\"protocol\":\"tcp\",\"source\":"
	"{\"selector\":\"app in {'web','api'}\"},\"destination\":"
	"{\"ports\":[\"400:500\"],\"notPorts\":[450]}},"
	"{\"action\":\"allow\",\"protocol\":\"tcp\",\"source\":"
	"{\"nets\":[\"10.1.0.0/24\"],\"notNets\":[\"10.1.0.12/30\"]},"
	"\"destination\":{\"ports\":[80]}},"
	"{\"action\":\"allow\",\"protocol\":\"tcp\",\"source\":"
	"{\"namespaceSelector\":\"tier == 'prod'\"},\"destination\":{\"ports\":[5000]}},"
	"{\"action\":\"allow\",\"protocol\":\"icmp\",\"icmp\":{\"type\":8},"
	"\"source\":{\"entity\":\"host\"}},"
	"{\"action\":\"allow\",\"protocol\":\"icmpv6\",\"icmp\":{\"type\":128}},"
	"{\"action\":\"allow\",\"protocol\":47,\"source\":{\"entity\":\"world\"}},"
	"{\"action\":\"allow\",\"protocol\":\"tcp\",\"ipVersion\":6,"
	"\"destination\":{\"ports\":[9005]}},"
	"{\"action\":\"allow\",\"protocol\":\"udp\",\"destination\":"
	"{\"entity\":\"host\",\"ports\":[53]}},"
	"{\"action\":\"allow\",\"protocol\":\"udp\",\"destination\":"
	"{\"namespaceSelector\":\"kubernetes.io/metadata.name == 'shop'\","
	"\"ports\":[5000]}}]") ","
    POL("web-out", 30, "enforce", "app == 'web'",
	"\"egress\":["
	"{\"action\":\"allow\",\"protocol\":\"tcp\",\"destination\":"
	"{\"entity\":\"world\",\"ports\":[443]}},"
	"{\"action\":\"allow\",\"protocol\":\"udp\",\"destination\":"
	"{\"entity\":\"host\",\"ports\":[53]}},"
	"{\"action\":\"deny\",\"destination\":{\"selector\":\"tier == 'gold'\"}},"
	"{\"action\":\"allow\",\"destination\":{\"selector\":\"app == 'db'\","
	"\"namespaceSelector\":\"kubernetes.io/metadata.name != 'other'\"}},"
	"{\"action\":\"allow\",\"source\":{\"nets\":[\"fd00:1::/64\"]},"
	"\"destination\":{\"nets\":[\"fd00:1::/64\"],\"notNets\":[\"fd00:1::1/128\"]}}]") ","
    POL("try-api", 40, "audit", "app == 'api'",
	"\"ingress\":[{\"action\":\"allow\",\"protocol\":\"tcp\","
	"\"source\":{\"selector\":\"app == 'web'\"}},"
	"{\"action\":\"deny\",\"protocol\":\"udp\"}]") ","
    POL("api-in", 50, "enforce", "app == 'api' && tier != 'gold'",
	"\"ingress\":[{\"action\":\"deny\",\"protocol\":\"tcp\",\"source\":"
	"{\"entity\":\"world\"},\"destination\":{\"hostPorts\":[\"79:80\"]}},"
	"{\"action\":\"allow\",\"protocol\":\"tcp\",\"destination\":"
	"{\"hostPorts\":[443,\"5000:5001\"]}},"
	"{\"action\":\"allow\",\"source\":{\"entity\":\"any\"},"
	"\"destination\":{\"ports\":[80]},\"protocol\":\"tcp\"}]") ","
    POL("cache", 60, "enforce", "has(app) && app starts with 'ca'",
	"\"types\":[\"ingress\",\"egress\"],\"ingress\":[],\"egress\":"
	"[{\"action\":\"allow\",\"protocol\":\"udp\"}]")
    "]";

/* ---- random policy sets ---- */

static const char *const r_sel[] = {
	"app == 'web'", "app in {'api','db'}", "has(tier)", "!has(tier)",
	"app != 'db'", "all()", "app starts with 'c'",
};
static const char *const r_ns[] = {
	"tier == 'prod'", "kubernetes.io/metadata.name == 'default'",
	"kubernetes.io/metadata.name in {'shop','other'}", "all()",
};
static const char *const r_net4[] = { "10.1.0.0/24", "10.1.0.8/29",
	"10.1.0.12/32", "10.1.0.1/32", "198.51.100.0/24" };
static const char *const r_net6[] = { "fd00:1::/64", "fd00:1::10/126",
	"fd00:1::1/128", "2001:db8::/32" };
static const char *const r_ports[] = { "80", "\"400:500\"", "5000", "53",
	"\"1:1024\"", "9005" };
static const char *const r_ent[] = { "host", "world", "any" };

#define ROUNDS	1000	/* AGREE_ROUNDS=N for more */
#define PICK(v)	((v)[(size_t)rand() % ARRAY_SIZE(v)])

static void
r_nets(struct strbuf *sb, const char *key, int ver)
{
	int	n = 1 + rand() % 2, i;

	strbuf_addf(sb, "\"%s\":[", key);
	for (i = 0; i < n; i++) {
		int six = ver == 6 || (ver == 0 && rand() % 2);

		strbuf_addf(sb, "%s\"%s\"", i ? "," : "",
		    six ? PICK(r_net6) : PICK(r_net4));
	}
	strbuf_addstr(sb, "],");
}

static void
r_peer(struct strbuf *sb, const char *side, int ported, int ver)
{
	strbuf_addf(sb, "\"%s\":{", side);
	if (rand() % 3 == 0)
		strbuf_addf(sb, "\"selector\":\"%s\",", PICK(r_sel));
	if (rand() % 5 == 0)
		strbuf_addf(sb, "\"namespaceSelector\":\"%s\",", PICK(r_ns));
	if (rand() % 4 == 0)
		r_nets(sb, "nets", ver);
	if (rand() % 5 == 0)
		r_nets(sb, "notNets", ver);
	if (ported && rand() % 2) {
		const char *p1 = PICK(r_ports), *p2 = PICK(r_ports);

		strbuf_addf(sb, "\"ports\":[%s,%s],", p1, p2);
	}
	if (ported && rand() % 5 == 0)
		strbuf_addf(sb, "\"notPorts\":[%s],", PICK(r_ports));
	if (ported && strcmp(side, "destination") == 0 && rand() % 5 == 0)
		strbuf_addf(sb, "\"hostPorts\":[%s],", PICK(r_ports));
	if (rand() % 5 == 0)
		strbuf_addf(sb, "\"entity\":\"%s\",", PICK(r_ent));
	if (sb->buf[sb->len - 1] == ',')
		sb->buf[--sb->len] = '\0';
	strbuf_addstr(sb, "},");
}

static void
r_rule(struct strbuf *sb)
{
	static const char *const act[] = { "allow", "allow", "deny", "log" };
	static const char *const proto[] = { NULL, "\"tcp\"", "\"udp\"",
	    "\"icmp\"", "\"icmpv6\"", "47" };
	const char	*p = PICK(proto);
	int		 ported = p && (strcmp(p, "\"tcp\"") == 0 ||
			    strcmp(p, "\"udp\"") == 0);
	int		 icmp = p && strstr(p, "icmp") != NULL;
	int		 ver = 0;

	strbuf_addf(sb, "{\"action\":\"%s\",", PICK(act));
	if (p)
		strbuf_addf(sb, "\"protocol\":%s,", p);
	if (!icmp && rand() % 4 == 0) {
		ver = rand() % 2 ? 4 : 6;
		strbuf_addf(sb, "\"ipVersion\":%d,", ver);
	}
	if (icmp)
		ver = strstr(p, "v6") ? 6 : 4;
	if (icmp && rand() % 2) {
		int other = rand() % 2;

		strbuf_addf(sb, "\"icmp\":{\"type\":%d},", ver == 6 ?
		    (other ? 129 : 128) : (other ? 13 : 8));
	}
	if (rand() % 2)
		r_peer(sb, "source", ported, ver);
	if (rand() % 2)
		r_peer(sb, "destination", ported, ver);
	if (rand() % 6 == 0)
		strbuf_addstr(sb, "\"log\":true,");
	sb->buf[--sb->len] = '\0';
	strbuf_addstr(sb, "},");
}

static char *
r_policies(void)
{
	struct strbuf	sb;
	int		np = 1 + rand() % 4, i, d, r;

	strbuf_init(&sb);
	strbuf_addstr(&sb, "[" NSDECL ",");
	for (i = 0; i < np; i++) {
		/* One rand() per statement: the same sets whatever the
		 * compiler's order of evaluating arguments. */
		int order = rand() % 3, audit = rand() % 4 == 0;
		const char *sel = PICK(r_sel);

		strbuf_addf(&sb, "{\"apiVersion\":\"bulkhead/v1\",\"kind\":"
		    "\"Policy\",\"metadata\":{\"name\":\"p%d\"},\"spec\":{"
		    "\"order\":%d,\"mode\":\"%s\",\"selector\":\"%s\"", i,
		    order, audit ? "audit" : "enforce", sel);
		for (d = 0; d < 2; d++) {
			int nr = rand() % 4;

			if (rand() % 3 == 0)
				continue;
			strbuf_addf(&sb, ",\"%s\":[", d ? "egress" : "ingress");
			for (r = 0; r < nr; r++)
				r_rule(&sb);
			if (sb.buf[sb.len - 1] == ',')
				sb.buf[--sb.len] = '\0';
			strbuf_addstr(&sb, "]");
		}
		strbuf_addstr(&sb, "}},");
	}
	sb.buf[--sb.len] = '\0';
	strbuf_addstr(&sb, "]");
	return strbuf_detach(&sb);
}

#endif
