/*
 * test_evaluate.c: the semantics of issue 3 through the one evaluator:
 * default deny, unselected endpoints, order, first match, log-and-continue,
 * audit, namespaces, every peer criterion, and the rendered trace.
 */
#include <arpa/inet.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "errlist.h"
#include "evaluate.h"
#include "labels.h"
#include "policy.h"
#include "util.h"

#define POL(name, spec) "{\"apiVersion\":\"bulkhead/v1\",\"kind\":" \
	"\"Policy\",\"metadata\":{\"name\":\"" name "\"},\"spec\":" spec "}"

static struct policy_set *
rules(const char *json)
{
	struct policy_set	*ps = policy_set_new();
	struct errlist		 el;
	char			*all;

	errlist_init(&el);
	if (policy_load_buffer(ps, "t.json", json, strlen(json), &el) ||
	    policy_set_finish(ps, &el)) {
		all = errlist_join(&el);
		fail_msg("rules do not load:\n%s", all);
	}
	errlist_release(&el);
	return ps;
}

/* Containers of the tests: web, api, db and a few in namespaces. */
struct fixture {
	struct labelset	web, api, db, prodapp, other;
};

static struct fixture	fx;

static int
setup(void **state)
{
	labelset_init(&fx.web);
	labelset_set(&fx.web, "app", "web");
	labelset_init(&fx.api);
	labelset_set(&fx.api, "app", "api");
	labelset_init(&fx.db);
	labelset_set(&fx.db, "app", "db");
	labelset_init(&fx.prodapp);
	labelset_set(&fx.prodapp, "app", "api");
	labelset_set(&fx.prodapp, "com.docker.compose.project", "shop");
	labelset_set(&fx.prodapp, "bulkhead.namespace", "prod");
	labelset_init(&fx.other);
	labelset_set(&fx.other, "app", "api");
	labelset_set(&fx.other, "com.docker.compose.project", "shop");
	return 0;
}

static int
teardown(void **state)
{
	labelset_release(&fx.web);
	labelset_release(&fx.api);
	labelset_release(&fx.db);
	labelset_release(&fx.prodapp);
	labelset_release(&fx.other);
	return 0;
}

static void
container(struct eval_endpoint *ep, const char *name,
    const struct labelset *ls, const char *ip)
{
	struct in_addr	a4;
	struct in6_addr	a6;

	evaluate_endpoint_init(ep, EVAL_CONTAINER);
	ep->name = name;
	ep->labels = ls;
	if (ip == NULL)
		return;
	if (inet_pton(AF_INET, ip, &a4) == 1)
		evaluate_endpoint_add_addr(ep, AF_INET, &a4);
	else if (inet_pton(AF_INET6, ip, &a6) == 1)
		evaluate_endpoint_add_addr(ep, AF_INET6, &a6);
	else
		fail_msg("bad address %s", ip);
}

static void
outside(struct eval_endpoint *ep, enum eval_kind kind, const char *ip)
{
	container(ep, NULL, NULL, ip);
	ep->kind = kind;
}

/* A tcp flow src -> dst:port; the endpoints are released by the caller. */
static void
tcp(struct eval_flow *f, int port)
{
	f->protocol = IPPROTO_TCP;
	f->dport = port;
	f->sport = 40000;
}

/* Evaluates; returns the result (caller releases). */
static struct eval_result
run(const struct policy_set *ps, const struct eval_flow *f)
{
	struct eval_result	res;

	evaluate_flow(ps, f, &res);
	return res;
}

/* web (10.0.0.2) -> db (10.0.0.4) over tcp to port. */
static int
web_to_db(const struct policy_set *ps, int port, struct eval_result *out)
{
	struct eval_flow	f;
	struct eval_result	res;
	int			allowed;

	evaluate_flow_init(&f);
	container(&f.src, "web", &fx.web, "10.0.0.2");
	container(&f.dst, "db", &fx.db, "10.0.0.4");
	tcp(&f, port);
	res = run(ps, &f);
	allowed = res.allowed;
	if (out)
		*out = res;
	else
		evaluate_result_release(&res);
	evaluate_flow_release(&f);
	return allowed;
}

static void
test_unselected_allowed(void **state)
{
	struct policy_set	*ps = rules(POL("x", "{\"selector\":\"app == 'nope'\"}"));
	struct eval_result	 res;

	assert_int_equal(web_to_db(ps, 80, &res), 1);
	assert_int_equal(res.v[POL_EGRESS].reason, EVAL_NOT_SELECTED);
	assert_int_equal(res.v[POL_INGRESS].reason, EVAL_NOT_SELECTED);
	assert_int_equal(res.v[POL_INGRESS].nsteps, 0);
	evaluate_result_release(&res);
	policy_set_free(ps);
}

static void
test_default_deny(void **state)
{
	/* One all() policy with an empty list: host-wide default deny. */
	struct policy_set	*ps = rules(POL("deny-all",
	    "{\"selector\":\"all()\",\"ingress\":[]}"));
	struct eval_result	 res;

	assert_int_equal(web_to_db(ps, 80, &res), 0);
	assert_int_equal(res.v[POL_EGRESS].allowed, 1);
	assert_int_equal(res.v[POL_EGRESS].reason, EVAL_NOT_SELECTED);
	assert_int_equal(res.v[POL_INGRESS].allowed, 0);
	assert_int_equal(res.v[POL_INGRESS].reason, EVAL_DEFAULT_DENY);
	assert_string_equal(res.v[POL_INGRESS].policy->name, "deny-all");
	assert_int_equal(res.v[POL_INGRESS].rule, -1);
	evaluate_result_release(&res);
	policy_set_free(ps);
}

static void
test_egress_and_ingress_both_needed(void **state)
{
	struct policy_set	*ps = rules("["
	    POL("web-out", "{\"selector\":\"app == 'web'\",\"egress\":["
	    "{\"action\":\"allow\",\"protocol\":\"tcp\",\"destination\":"
	    "{\"selector\":\"app == 'db'\",\"ports\":[5432]}}]}") ","
	    POL("db-in", "{\"selector\":\"app == 'db'\",\"ingress\":["
	    "{\"action\":\"allow\",\"protocol\":\"tcp\",\"source\":"
	    "{\"selector\":\"app == 'web'\"},\"destination\":{\"ports\":"
	    "[5432,6000]}}]}") "]");
	struct eval_result	 res;

	assert_int_equal(web_to_db(ps, 5432, &res), 1);
	assert_int_equal(res.v[POL_EGRESS].reason, EVAL_RULE);
	assert_string_equal(res.v[POL_EGRESS].policy->name, "web-out");
	assert_int_equal(res.v[POL_INGRESS].reason, EVAL_RULE);
	assert_string_equal(res.v[POL_INGRESS].policy->name, "db-in");
	evaluate_result_release(&res);
	/* db's ingress allows 6000, web's egress does not. */
	assert_int_equal(web_to_db(ps, 6000, &res), 0);
	assert_int_equal(res.v[POL_EGRESS].allowed, 0);
	assert_int_equal(res.v[POL_EGRESS].reason, EVAL_DEFAULT_DENY);
	assert_int_equal(res.v[POL_INGRESS].allowed, 1);
	evaluate_result_release(&res);
	policy_set_free(ps);
}

static void
test_order(void **state)
{
	const char		*deny = "{\"action\":\"deny\",\"protocol\":\"tcp\"}";
	const char		*allow = "{\"action\":\"allow\"}";
	char			*j;
	struct policy_set	*ps;
	struct eval_result	 res;

	/* Lower order first, whatever the file order. */
	j = xasprintf("[" POL("b", "{\"selector\":\"\",\"order\":20,"
	    "\"ingress\":[%s]}") "," POL("a", "{\"selector\":\"\",\"order\":10,"
	    "\"ingress\":[%s]}") "]", allow, deny);
	ps = rules(j);
	free(j);
	assert_int_equal(web_to_db(ps, 80, &res), 0);
	assert_string_equal(res.v[POL_INGRESS].policy->name, "a");
	assert_int_equal(res.v[POL_INGRESS].action, POL_DENY);
	evaluate_result_release(&res);
	policy_set_free(ps);

	/* Equal order: by name. */
	j = xasprintf("[" POL("b", "{\"selector\":\"\",\"ingress\":[%s]}") ","
	    POL("a", "{\"selector\":\"\",\"ingress\":[%s]}") "]", deny, allow);
	ps = rules(j);
	free(j);
	assert_int_equal(web_to_db(ps, 80, &res), 1);
	assert_string_equal(res.v[POL_INGRESS].policy->name, "a");
	/* Policies considered: just a, which decided. */
	assert_int_equal(res.v[POL_INGRESS].nsteps, 1);
	assert_int_equal(res.v[POL_INGRESS].steps[0].event, EVAL_EV_POLICY);
	evaluate_result_release(&res);
	policy_set_free(ps);
}

static void
test_first_match_and_fallthrough(void **state)
{
	struct policy_set	*ps = rules("["
	    POL("a", "{\"selector\":\"app == 'db'\",\"order\":1,\"ingress\":["
	    "{\"action\":\"deny\",\"protocol\":\"tcp\",\"destination\":"
	    "{\"ports\":[22]}},"
	    "{\"action\":\"allow\",\"protocol\":\"tcp\",\"destination\":"
	    "{\"ports\":[\"20:30\"]}}]}") ","
	    POL("b", "{\"selector\":\"has(app)\",\"order\":2,\"ingress\":["
	    "{\"action\":\"allow\",\"protocol\":\"tcp\",\"destination\":"
	    "{\"ports\":[80]}}]}") "]");
	struct eval_result	 res;

	assert_int_equal(web_to_db(ps, 22, &res), 0);
	assert_int_equal(res.v[POL_INGRESS].rule, 0);
	evaluate_result_release(&res);
	assert_int_equal(web_to_db(ps, 23, &res), 1);
	assert_int_equal(res.v[POL_INGRESS].rule, 1);
	evaluate_result_release(&res);
	/* No rule of a matched: on to b, which allows 80. */
	assert_int_equal(web_to_db(ps, 80, &res), 1);
	assert_string_equal(res.v[POL_INGRESS].policy->name, "b");
	assert_int_equal(res.v[POL_INGRESS].rule, 0);
	assert_int_equal(res.v[POL_INGRESS].nsteps, 2);
	evaluate_result_release(&res);
	/* Nothing matches: default deny named after the first policy. */
	assert_int_equal(web_to_db(ps, 443, &res), 0);
	assert_int_equal(res.v[POL_INGRESS].reason, EVAL_DEFAULT_DENY);
	assert_string_equal(res.v[POL_INGRESS].policy->name, "a");
	evaluate_result_release(&res);
	policy_set_free(ps);
}

static void
test_log_continues(void **state)
{
	struct policy_set	*ps = rules(POL("l", "{\"selector\":\"\","
	    "\"ingress\":[{\"action\":\"log\"},{\"action\":\"log\","
	    "\"protocol\":\"udp\"},{\"action\":\"allow\",\"log\":true}]}"));
	struct eval_result	 res;
	const struct eval_verdict *v;

	assert_int_equal(web_to_db(ps, 80, &res), 1);
	v = &res.v[POL_INGRESS];
	assert_int_equal(v->rule, 2);
	assert_int_equal(v->action, POL_ALLOW);
	assert_int_equal(v->nsteps, 3);
	assert_int_equal(v->steps[0].event, EVAL_EV_POLICY);
	assert_int_equal(v->steps[1].event, EVAL_EV_LOG);
	assert_int_equal(v->steps[1].rule, 0);
	assert_int_equal(v->steps[2].event, EVAL_EV_LOG);
	assert_int_equal(v->steps[2].rule, 2);
	evaluate_result_release(&res);
	policy_set_free(ps);
}

static void
test_audit(void **state)
{
	struct policy_set	*ps = rules(POL("aud", "{\"selector\":\"\","
	    "\"mode\":\"audit\",\"ingress\":[{\"action\":\"deny\","
	    "\"destination\":{\"ports\":[22]},\"protocol\":\"tcp\"},"
	    "{\"action\":\"allow\",\"protocol\":\"tcp\",\"destination\":"
	    "{\"ports\":[80]}}]}"));
	struct eval_result	 res;
	const struct eval_verdict *v;

	/* Would deny, but allowed. */
	assert_int_equal(web_to_db(ps, 22, &res), 1);
	v = &res.v[POL_INGRESS];
	assert_int_equal(v->reason, EVAL_AUDIT_ONLY);
	assert_int_equal(v->nsteps, 2);
	assert_int_equal(v->steps[1].event, EVAL_EV_WOULD_DENY);
	assert_int_equal(v->steps[1].rule, 0);
	evaluate_result_release(&res);
	assert_int_equal(web_to_db(ps, 80, &res), 1);
	assert_int_equal(res.v[POL_INGRESS].steps[1].event,
	    EVAL_EV_AUDIT_ALLOW);
	evaluate_result_release(&res);
	/* Its end: a would-deny too. */
	assert_int_equal(web_to_db(ps, 443, &res), 1);
	assert_int_equal(res.v[POL_INGRESS].steps[1].event,
	    EVAL_EV_WOULD_DENY);
	assert_int_equal(res.v[POL_INGRESS].steps[1].rule, -1);
	evaluate_result_release(&res);
	policy_set_free(ps);

	/* An audit policy never decides: the enforce one after it does. */
	ps = rules("[" POL("aud", "{\"selector\":\"\",\"order\":1,\"mode\":"
	    "\"audit\",\"ingress\":[{\"action\":\"allow\"}]}") ","
	    POL("enf", "{\"selector\":\"\",\"order\":2,\"ingress\":[]}") "]");
	assert_int_equal(web_to_db(ps, 80, &res), 0);
	assert_int_equal(res.v[POL_INGRESS].reason, EVAL_DEFAULT_DENY);
	assert_string_equal(res.v[POL_INGRESS].policy->name, "enf");
	assert_int_equal(res.v[POL_INGRESS].steps[1].event,
	    EVAL_EV_AUDIT_ALLOW);
	evaluate_result_release(&res);
	policy_set_free(ps);
}

static void
test_namespace_of(void **state)
{
	struct labelset	ls;

	labelset_init(&ls);
	assert_string_equal(evaluate_namespace(NULL), "default");
	assert_string_equal(evaluate_namespace(&ls), "default");
	labelset_set(&ls, "com.docker.compose.project", "shop");
	assert_string_equal(evaluate_namespace(&ls), "shop");
	labelset_set(&ls, "bulkhead.namespace", "prod");
	assert_string_equal(evaluate_namespace(&ls), "prod");
	labelset_release(&ls);
}

/* from -> db:80 with a namespaceSelector on the source. */
static int
ns_flow(const struct policy_set *ps, const struct labelset *from)
{
	struct eval_flow	f;
	struct eval_result	res;
	int			allowed;

	evaluate_flow_init(&f);
	container(&f.src, "from", from, "10.0.0.9");
	container(&f.dst, "db", &fx.db, "10.0.0.4");
	tcp(&f, 80);
	res = run(ps, &f);
	allowed = res.allowed;
	evaluate_result_release(&res);
	evaluate_flow_release(&f);
	return allowed;
}

static void
test_namespaces(void **state)
{
	struct policy_set	*ps = rules("["
	    "{\"apiVersion\":\"v1\",\"kind\":\"Namespace\",\"metadata\":"
	    "{\"name\":\"prod\",\"labels\":{\"env\":\"production\"}}},"
	    POL("db", "{\"selector\":\"app == 'db'\",\"ingress\":["
	    "{\"action\":\"allow\",\"source\":{\"namespaceSelector\":"
	    "\"env == 'production'\",\"selector\":\"app == 'api'\"}},"
	    "{\"action\":\"allow\",\"source\":{\"namespaceSelector\":"
	    "\"kubernetes.io/metadata.name == 'shop'\"}}]}") "]");
	struct labelset		 nsl;

	/* prod (declared, labelled) api: rule 0. */
	assert_int_equal(ns_flow(ps, &fx.prodapp), 1);
	/* shop (compose project, undeclared): its implicit name label. */
	assert_int_equal(ns_flow(ps, &fx.other), 1);
	/* default: neither. */
	assert_int_equal(ns_flow(ps, &fx.api), 0);
	assert_int_equal(ns_flow(ps, &fx.web), 0);

	evaluate_ns_labels(ps, "prod", &nsl);
	assert_int_equal(nsl.n, 2);
	assert_string_equal(labelset_get(&nsl, "env"), "production");
	assert_string_equal(labelset_get(&nsl, "kubernetes.io/metadata.name"),
	    "prod");
	labelset_release(&nsl);
	policy_set_free(ps);
}

static void
test_nets_and_entities(void **state)
{
	struct policy_set	*ps = rules(POL("db", "{\"selector\":"
	    "\"app == 'db'\",\"ingress\":["
	    "{\"action\":\"deny\",\"source\":{\"nets\":[\"10.0.0.0/8\"],"
	    "\"notNets\":[\"10.1.0.0/16\"]}},"
	    "{\"action\":\"allow\",\"source\":{\"entity\":\"host\"}},"
	    "{\"action\":\"allow\",\"source\":{\"entity\":\"world\","
	    "\"nets\":[\"192.0.2.0/24\",\"2001:db8::/32\"]}},"
	    "{\"action\":\"allow\",\"source\":{\"selector\":\"all()\"}}]}"));
	struct eval_flow	 f;
	struct eval_result	 res;
	struct {
		enum eval_kind	 kind;
		const char	*ip;
		int		 allowed;
		int		 rule;
	} c[] = {
		{ EVAL_CONTAINER, "10.0.0.2", 0, 0 },	/* in nets */
		{ EVAL_CONTAINER, "10.1.0.2", 1, 3 },	/* in notNets */
		{ EVAL_HOST, "172.17.0.1", 1, 1 },
		{ EVAL_WORLD, "192.0.2.7", 1, 2 },
		{ EVAL_WORLD, "2001:db8::7", 1, 2 },
		/* world outside the nets; all() needs a container. */
		{ EVAL_WORLD, "198.51.100.1", 0, -1 },
		{ EVAL_HOST, "10.0.0.1", 0, 0 },
	};
	size_t			 i;

	for (i = 0; i < ARRAY_SIZE(c); i++) {
		evaluate_flow_init(&f);
		if (c[i].kind == EVAL_CONTAINER)
			container(&f.src, "src", &fx.web, c[i].ip);
		else
			outside(&f.src, c[i].kind, c[i].ip);
		container(&f.dst, "db", &fx.db, strchr(c[i].ip, ':') ?
		    "fd00::4" : "10.0.0.4");
		tcp(&f, 80);
		res = run(ps, &f);
		if (res.allowed != c[i].allowed ||
		    res.v[POL_INGRESS].rule != c[i].rule)
			fail_msg("case %zu (%s): allowed %d rule %d", i,
			    c[i].ip, res.allowed, res.v[POL_INGRESS].rule);
		/* Non-containers have no egress policy of their own. */
		if (c[i].kind != EVAL_CONTAINER)
			assert_int_equal(res.v[POL_EGRESS].reason,
			    EVAL_NOT_CONTAINER);
		evaluate_result_release(&res);
		evaluate_flow_release(&f);
	}
	policy_set_free(ps);
}

static void
test_protocols_ports_icmp(void **state)
{
	struct policy_set	*ps = rules(POL("db", "{\"selector\":"
	    "\"app == 'db'\",\"ingress\":["
	    "{\"action\":\"allow\",\"protocol\":\"icmp\",\"icmp\":{\"type\":8}},"
	    "{\"action\":\"allow\",\"protocol\":\"udp\",\"destination\":"
	    "{\"notPorts\":[\"0:1023\"]}},"
	    "{\"action\":\"allow\",\"protocol\":\"tcp\",\"ipVersion\":6},"
	    "{\"action\":\"allow\",\"protocol\":\"sctp\",\"source\":"
	    "{\"ports\":[9]}}]}"));
	struct eval_flow	 f;
	struct eval_result	 res;
	struct {
		int		 proto, dport, sport, type, v6, allowed;
	} c[] = {
		{ IPPROTO_ICMP, -1, -1, 8, 0, 1 },
		{ IPPROTO_ICMP, -1, -1, 0, 0, 0 },
		{ IPPROTO_UDP, 53, 40000, -1, 0, 0 },
		{ IPPROTO_UDP, 5353, 40000, -1, 0, 1 },
		{ IPPROTO_UDP, -1, 40000, -1, 0, 0 },	/* port unknown */
		{ IPPROTO_TCP, 80, 40000, -1, 0, 0 },
		{ IPPROTO_TCP, 80, 40000, -1, 1, 1 },
		{ IPPROTO_SCTP, 80, 9, -1, 0, 1 },
		{ IPPROTO_SCTP, 80, 10, -1, 0, 0 },
	};
	size_t			 i;

	for (i = 0; i < ARRAY_SIZE(c); i++) {
		evaluate_flow_init(&f);
		container(&f.src, "web", &fx.web, c[i].v6 ? "fd00::2" :
		    "10.0.0.2");
		container(&f.dst, "db", &fx.db, c[i].v6 ? "fd00::4" :
		    "10.0.0.4");
		f.protocol = c[i].proto;
		f.dport = c[i].dport;
		f.sport = c[i].sport;
		f.icmp_type = c[i].type;
		res = run(ps, &f);
		if (res.allowed != c[i].allowed)
			fail_msg("case %zu: allowed %d", i, res.allowed);
		assert_int_equal(res.ip_version, c[i].v6 ? 6 : 4);
		evaluate_result_release(&res);
		evaluate_flow_release(&f);
	}
	policy_set_free(ps);
}

/* hostPorts match the port before DNAT, else (unknown) the port itself. */
static void
test_host_ports(void **state)
{
	struct policy_set	*ps = rules(POL("db", "{\"selector\":"
	    "\"app == 'db'\",\"ingress\":["
	    "{\"action\":\"deny\",\"protocol\":\"tcp\",\"destination\":"
	    "{\"ports\":[81],\"hostPorts\":[\"18000:18079\"]}},"
	    "{\"action\":\"allow\",\"protocol\":\"tcp\",\"destination\":"
	    "{\"hostPorts\":[\"18000:18099\"]}}]}"));
	struct eval_flow	 f;
	struct eval_result	 res;
	struct {
		int		 dport, orig, allowed, rule;
	} c[] = {
		{ 80, 18080, 1, 1 },	/* published 18080 -> 80 */
		{ 81, 18081, 1, 1 },
		{ 81, 18001, 0, 0 },	/* the deny: both its ports match */
		{ 80, 18001, 1, 1 },
		{ 81, -1, 0, -1 },	/* direct: 81 is no host port */
		{ 18081, -1, 1, 1 },	/* unknown: the port itself */
		{ 18081, 81, 0, -1 },
		{ -1, -1, 0, -1 },	/* port unknown: no match */
	};
	size_t			 i;

	for (i = 0; i < ARRAY_SIZE(c); i++) {
		evaluate_flow_init(&f);
		f.src.kind = EVAL_WORLD;
		container(&f.dst, "db", &fx.db, "10.0.0.4");
		f.protocol = IPPROTO_TCP;
		f.dport = c[i].dport;
		f.orig_dport = c[i].orig;
		f.sport = 40000;
		res = run(ps, &f);
		if (res.allowed != c[i].allowed ||
		    res.v[POL_INGRESS].rule != c[i].rule)
			fail_msg("case %zu: allowed %d rule %d", i, res.allowed,
			    res.v[POL_INGRESS].rule);
		evaluate_result_release(&res);
		evaluate_flow_release(&f);
	}
	policy_set_free(ps);
}

static void
test_local_side_selector(void **state)
{
	/* A rule's destination selector narrows which selected containers
	 * it covers. */
	struct policy_set	*ps = rules(POL("p", "{\"selector\":\"has(app)\","
	    "\"ingress\":[{\"action\":\"allow\",\"destination\":{\"selector\":"
	    "\"app == 'api'\"}}]}"));
	struct eval_flow	 f;
	struct eval_result	 res;

	assert_int_equal(web_to_db(ps, 80, NULL), 0);
	evaluate_flow_init(&f);
	container(&f.src, "web", &fx.web, "10.0.0.2");
	container(&f.dst, "api", &fx.api, "10.0.0.3");
	tcp(&f, 80);
	res = run(ps, &f);
	assert_int_equal(res.allowed, 1);
	evaluate_result_release(&res);
	evaluate_flow_release(&f);
	policy_set_free(ps);
}

static void
test_render(void **state)
{
	struct policy_set	*ps = rules("["
	    POL("db-in", "{\"selector\":\"app == 'db'\",\"order\":100,"
	    "\"ingress\":[{\"action\":\"log\"},{\"action\":\"allow\","
	    "\"protocol\":\"tcp\",\"destination\":{\"ports\":[5432]}}]}") ","
	    POL("aud", "{\"selector\":\"app == 'web'\",\"mode\":\"audit\","
	    "\"types\":[\"egress\"]}") "]");
	struct eval_flow	 f;
	struct eval_result	 res;
	struct strbuf		 sb;

	evaluate_flow_init(&f);
	container(&f.src, "web", &fx.web, "10.0.0.2");
	container(&f.dst, "db", &fx.db, "10.0.0.4");
	tcp(&f, 5432);
	res = run(ps, &f);
	strbuf_init(&sb);
	evaluate_render(&res, &f, &sb);
	assert_string_equal(sb.buf,
	    "flow: container web (10.0.0.2) -> container db (10.0.0.4), "
	    "ipv4 tcp port 5432\n"
	    "egress of container web (10.0.0.2):\n"
	    "  policy aud (order 1000, audit)\n"
	    "    audit: would deny (no rule matched)\n"
	    "  allowed: only audit policies select it\n"
	    "ingress of container db (10.0.0.4):\n"
	    "  policy db-in (order 100, enforce)\n"
	    "    log: ingress rule 0 matched\n"
	    "  allowed by policy db-in ingress rule 1 (allow)\n"
	    "verdict: allowed\n");
	strbuf_release(&sb);
	evaluate_result_release(&res);

	/* Denied, default deny, world source. */
	evaluate_flow_release(&f);
	evaluate_flow_init(&f);
	outside(&f.src, EVAL_WORLD, "203.0.113.5");
	container(&f.dst, "db", &fx.db, "10.0.0.4");
	tcp(&f, 22);
	res = run(ps, &f);
	strbuf_init(&sb);
	evaluate_render(&res, &f, &sb);
	assert_string_equal(sb.buf,
	    "flow: world (203.0.113.5) -> container db (10.0.0.4), "
	    "ipv4 tcp port 22\n"
	    "egress of world (203.0.113.5):\n"
	    "  allowed: not a container\n"
	    "ingress of container db (10.0.0.4):\n"
	    "  policy db-in (order 100, enforce)\n"
	    "    log: ingress rule 0 matched\n"
	    "  denied: selected and no rule allows it (default deny of "
	    "policy db-in)\n"
	    "verdict: denied\n");
	strbuf_release(&sb);
	evaluate_result_release(&res);
	evaluate_flow_release(&f);
	policy_set_free(ps);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_unselected_allowed),
		cmocka_unit_test(test_default_deny),
		cmocka_unit_test(test_egress_and_ingress_both_needed),
		cmocka_unit_test(test_order),
		cmocka_unit_test(test_first_match_and_fallthrough),
		cmocka_unit_test(test_log_continues),
		cmocka_unit_test(test_audit),
		cmocka_unit_test(test_namespace_of),
		cmocka_unit_test(test_namespaces),
		cmocka_unit_test(test_nets_and_entities),
		cmocka_unit_test(test_protocols_ports_icmp),
		cmocka_unit_test(test_host_ports),
		cmocka_unit_test(test_local_side_selector),
		cmocka_unit_test(test_render),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
