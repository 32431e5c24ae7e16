/*
 * test_k8s.c: Kubernetes NetworkPolicy objects.  What they translate into
 * (k8s.h), every class of bad input with its exact located message, named
 * port labels, and truth tables: for each case of tests/k8s/cases the
 * evaluator's verdict for every ordered pair of the pods x/a ... z/c on
 * tcp and udp ports 80 and 81 must be the table written by hand from the
 * Kubernetes semantics in the case's expected.txt (the same files drive
 * tests/e2e/k8s_test.sh against the kernel).
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "errlist.h"
#include "evaluate.h"
#include "k8s.h"
#include "labels.h"
#include "policy.h"
#include "selector.h"
#include "util.h"

#define NP(meta, spec) "{\"apiVersion\":\"networking.k8s.io/v1\"," \
	"\"kind\":\"NetworkPolicy\",\"metadata\":" meta ",\"spec\":" spec "}"
#define MD	"{\"name\":\"np\",\"namespace\":\"x\"}"

static char *
load(const char *text, struct policy_set **out)
{
	struct policy_set	*ps = policy_set_new();
	struct errlist		 el;
	char			*all;

	errlist_init(&el);
	policy_load_buffer(ps, "t.json", text, strlen(text), &el);
	policy_set_finish(ps, &el);
	all = errlist_join(&el);
	errlist_release(&el);
	if (out)
		*out = ps;
	else
		policy_set_free(ps);
	return all;
}

static struct policy_set *
load_ok(const char *text)
{
	struct policy_set	*ps;
	char			*errs = load(text, &ps);

	if (errs[0] != '\0')
		fail_msg("unexpected errors:\n%s", errs);
	free(errs);
	return ps;
}

static void
expect(const char *text, const char *want)
{
	char	*errs = load(text, NULL);

	if (strcmp(errs, want) != 0)
		fail_msg("got:\n%s\nwant:\n%s", errs, want);
	free(errs);
}

/* One error for path with msg, at the column where needle starts. */
static void
expect_at(const char *text, const char *needle, const char *path,
    const char *msg)
{
	const char	*at = strstr(text, needle);
	char		*want;

	assert_non_null(at);
	want = xasprintf("t.json:1:%d: %s: %s", (int)(at - text) + 1, path,
	    msg);
	expect(text, want);
	free(want);
}

static const char *
sel(const struct selector *s)
{
	return s ? selector_text(s) : "(none)";
}

/* ---- translation ---- */

static void
test_translate_basic(void **state)
{
	struct policy_set	*ps = load_ok(NP(MD,
	    "{\"podSelector\":{\"matchLabels\":{\"pod\":\"a\"}},"
	    "\"ingress\":[{\"from\":[{\"podSelector\":{\"matchLabels\":"
	    "{\"pod\":\"b\"}}}],\"ports\":[{\"port\":80},{\"protocol\":"
	    "\"UDP\",\"port\":53}]}]}"));
	const struct policy	*p;
	const struct rule	*r;

	assert_int_equal(ps->n, 1);
	p = ps->v[0];
	assert_string_equal(p->name, "x/np");
	assert_string_equal(p->namespace, "x");
	assert_true(p->order == 1000);
	assert_int_equal(p->mode, POL_ENFORCE);
	assert_int_equal(p->types, POL_TYPE_INGRESS);
	assert_string_equal(sel(p->selector), "pod == 'a'");
	/* Two rules, and the node's (the host's) traffic last. */
	assert_int_equal(p->nrules[POL_INGRESS], 3);
	assert_int_equal(p->nrules[POL_EGRESS], 0);
	assert_int_equal(p->rules[POL_INGRESS][2].source.entity,
	    POL_ENTITY_HOST);
	assert_int_equal(p->rules[POL_INGRESS][2].protocol, 0);
	assert_int_equal(p->rules[POL_INGRESS][2].action, POL_ALLOW);
	r = &p->rules[POL_INGRESS][0];
	assert_int_equal(r->action, POL_ALLOW);
	assert_int_equal(r->protocol, IPPROTO_TCP);
	assert_string_equal(sel(r->source.selector), "pod == 'b'");
	assert_string_equal(sel(r->source.ns_selector),
	    "kubernetes.io/metadata.name == 'x'");
	assert_null(r->destination.selector);
	assert_int_equal(r->destination.nports, 1);
	assert_int_equal(r->destination.ports[0].lo, 80);
	assert_int_equal(r->destination.ports[0].hi, 80);
	r = &p->rules[POL_INGRESS][1];
	assert_int_equal(r->protocol, IPPROTO_UDP);
	assert_int_equal(r->destination.ports[0].lo, 53);
	/* The rule points back at the Kubernetes rule. */
	assert_int_equal(r->loc.line, 1);
	assert_true(r->loc.column > 1);
	policy_set_free(ps);
}

static void
test_translate_types(void **state)
{
	struct policy_set	*ps = load_ok("["
	    NP("{\"name\":\"a\"}", "{\"podSelector\":{},\"egress\":[]}") ","
	    NP("{\"name\":\"b\"}", "{\"podSelector\":{},\"egress\":[{}]}") ","
	    NP("{\"name\":\"c\"}", "{\"podSelector\":{},\"policyTypes\":"
	    "[\"Egress\"],\"ingress\":[{}]}") ","
	    NP("{\"name\":\"d\"}", "{\"podSelector\":{},\"policyTypes\":[]}")
	    "]");

	assert_int_equal(ps->n, 4);
	/* Sorted by (order, name): all order 1000. */
	assert_string_equal(ps->v[0]->name, "default/a");
	assert_string_equal(ps->v[0]->namespace, "default");
	assert_string_equal(sel(ps->v[0]->selector), "all()");
	/* An empty egress list does not make it an egress policy. */
	assert_int_equal(ps->v[0]->types, POL_TYPE_INGRESS);
	assert_int_equal(ps->v[1]->types, POL_TYPE_INGRESS | POL_TYPE_EGRESS);
	assert_int_equal(ps->v[1]->nrules[POL_EGRESS], 2);
	assert_int_equal(ps->v[1]->rules[POL_EGRESS][1].destination.entity,
	    POL_ENTITY_HOST);
	/* Egress only: its ingress rules are never used. */
	assert_int_equal(ps->v[2]->types, POL_TYPE_EGRESS);
	assert_int_equal(ps->v[2]->nrules[POL_EGRESS], 1);
	assert_int_equal(ps->v[3]->types, POL_TYPE_INGRESS);
	policy_set_free(ps);
}

static void
test_translate_peers(void **state)
{
	struct policy_set	*ps = load_ok(NP(MD,
	    "{\"podSelector\":{},\"egress\":[{\"to\":["
	    "{\"namespaceSelector\":{\"matchLabels\":{\"ns\":\"y\"}}},"
	    "{\"namespaceSelector\":{},\"podSelector\":{\"matchLabels\":"
	    "{\"pod\":\"c\"}}},"
	    "{\"ipBlock\":{\"cidr\":\"10.0.0.0/8\",\"except\":"
	    "[\"10.1.0.0/16\",\"10.2.0.0/16\"]}}]}]}"));
	const struct rule	*r = ps->v[0]->rules[POL_EGRESS];
	char			 buf[INET6_ADDRSTRLEN];

	assert_int_equal(ps->v[0]->nrules[POL_EGRESS], 4);
	/* namespaceSelector alone: any pod of those namespaces. */
	assert_string_equal(sel(r[0].destination.selector), "all()");
	assert_string_equal(sel(r[0].destination.ns_selector), "ns == 'y'");
	assert_null(r[0].source.selector);
	assert_int_equal(r[0].protocol, 0);
	assert_int_equal(r[0].destination.nports, 0);
	/* Both: the pod in any namespace. */
	assert_string_equal(sel(r[1].destination.selector), "pod == 'c'");
	assert_string_equal(sel(r[1].destination.ns_selector), "all()");
	/* ipBlock: nets and notNets, no selector. */
	assert_null(r[2].destination.selector);
	assert_null(r[2].destination.ns_selector);
	assert_int_equal(r[2].destination.nnets, 1);
	inet_ntop(AF_INET, &r[2].destination.nets[0].addr.v4, buf,
	    sizeof(buf));
	assert_string_equal(buf, "10.0.0.0");
	assert_int_equal(r[2].destination.nets[0].prefix, 8);
	assert_int_equal(r[2].destination.nnot_nets, 2);
	assert_int_equal(r[2].destination.not_nets[1].prefix, 16);
	policy_set_free(ps);
}

static void
test_translate_everyone(void **state)
{
	struct policy_set	*ps = load_ok(NP(MD,
	    "{\"podSelector\":{},\"ingress\":[{},{\"from\":[],\"ports\":[]},"
	    "{\"ports\":[{}]}]}"));
	const struct rule	*r = ps->v[0]->rules[POL_INGRESS];

	assert_int_equal(ps->v[0]->nrules[POL_INGRESS], 4);
	/* Missing or empty from and ports: any source, protocol, port. */
	assert_null(r[0].source.selector);
	assert_null(r[0].source.ns_selector);
	assert_int_equal(r[0].source.nnets, 0);
	assert_int_equal(r[0].protocol, 0);
	assert_null(r[1].source.selector);
	assert_int_equal(r[1].protocol, 0);
	/* A port entry without port: every TCP port. */
	assert_int_equal(r[2].protocol, IPPROTO_TCP);
	assert_int_equal(r[2].destination.nports, 0);
	assert_null(r[2].destination.port_name);
	policy_set_free(ps);
}

static void
test_translate_expressions(void **state)
{
	struct policy_set	*ps = load_ok(NP(MD,
	    "{\"podSelector\":{\"matchLabels\":{\"app\":\"web\"},"
	    "\"matchExpressions\":["
	    "{\"key\":\"tier\",\"operator\":\"In\",\"values\":[\"a\",\"b\"]},"
	    "{\"key\":\"env\",\"operator\":\"NotIn\",\"values\":[\"dev\"]},"
	    "{\"key\":\"example.com/x\",\"operator\":\"Exists\"},"
	    "{\"key\":\"legacy\",\"operator\":\"DoesNotExist\",\"values\":[]}"
	    "]}}"));
	struct labelset	 ls;
	const struct selector *s = ps->v[0]->selector;

	assert_string_equal(sel(s), "app == 'web' && tier in {'a', 'b'} && "
	    "env not in {'dev'} && has(example.com/x) && !has(legacy)");
	labelset_init(&ls);
	labelset_set(&ls, "app", "web");
	labelset_set(&ls, "tier", "b");
	labelset_set(&ls, "example.com/x", "");
	assert_int_equal(selector_match(s, &ls), 1);
	labelset_set(&ls, "env", "dev");
	assert_int_equal(selector_match(s, &ls), 0);
	labelset_set(&ls, "env", "prod");
	labelset_set(&ls, "legacy", "1");
	assert_int_equal(selector_match(s, &ls), 0);
	labelset_release(&ls);
	policy_set_free(ps);
}

/* Label keys that are words of the selector language keep their meaning. */
static void
test_translate_keyword_keys(void **state)
{
	static const char *const keys[] = { "in", "has", "all", "not",
	    "contains", "starts", "ends", "with", "9x", NULL };
	struct labelset	 ls;
	size_t		 i;
	char		*t;
	struct policy_set *ps;

	for (i = 0; keys[i] != NULL; i++) {
		t = xasprintf(NP(MD, "{\"podSelector\":{\"matchLabels\":"
		    "{\"%s\":\"v\"},\"matchExpressions\":[{\"key\":\"%s\","
		    "\"operator\":\"NotIn\",\"values\":[\"w\"]}]}}"), keys[i],
		    keys[i]);
		ps = load_ok(t);
		labelset_init(&ls);
		assert_int_equal(selector_match(ps->v[0]->selector, &ls), 0);
		labelset_set(&ls, keys[i], "v");
		if (selector_match(ps->v[0]->selector, &ls) != 1)
			fail_msg("key %s: [%s] does not match %s=v", keys[i],
			    sel(ps->v[0]->selector), keys[i]);
		labelset_set(&ls, keys[i], "w");
		assert_int_equal(selector_match(ps->v[0]->selector, &ls), 0);
		labelset_release(&ls);
		policy_set_free(ps);
		free(t);
	}
}

static void
test_translate_ports(void **state)
{
	struct policy_set	*ps = load_ok(NP(MD,
	    "{\"podSelector\":{},\"ingress\":[{\"ports\":["
	    "{\"protocol\":\"SCTP\",\"port\":8000,\"endPort\":8080},"
	    "{\"protocol\":\"UDP\",\"port\":\"dns\"},"
	    "{\"port\":80,\"endPort\":80}]}]}"));
	const struct rule	*r = ps->v[0]->rules[POL_INGRESS];

	assert_int_equal(r[0].protocol, IPPROTO_SCTP);
	assert_int_equal(r[0].destination.ports[0].lo, 8000);
	assert_int_equal(r[0].destination.ports[0].hi, 8080);
	assert_int_equal(r[1].protocol, IPPROTO_UDP);
	assert_string_equal(r[1].destination.port_name, "dns");
	assert_int_equal(r[1].destination.nports, 0);
	assert_int_equal(r[2].destination.ports[0].hi, 80);
	policy_set_free(ps);
}

/* Peers times ports: 2 x 3 rules. */
static void
test_translate_product(void **state)
{
	struct policy_set	*ps = load_ok(NP(MD,
	    "{\"podSelector\":{},\"ingress\":[{\"from\":[{\"podSelector\":"
	    "{}},{\"ipBlock\":{\"cidr\":\"192.0.2.0/24\"}}],\"ports\":["
	    "{\"port\":1},{\"port\":2},{\"port\":3}]}]}"));

	assert_int_equal(ps->v[0]->nrules[POL_INGRESS], 7);
	assert_int_equal(ps->v[0]->rules[POL_INGRESS][5].source.nnets, 1);
	assert_int_equal(ps->v[0]->rules[POL_INGRESS][5].destination.ports[0].lo,
	    3);
	policy_set_free(ps);
}

static void
test_list_and_verbatim_metadata(void **state)
{
	struct policy_set	*ps = load_ok(
	    "{\"apiVersion\":\"v1\",\"kind\":\"List\",\"metadata\":"
	    "{\"resourceVersion\":\"\"},\"items\":["
	    "{\"apiVersion\":\"networking.k8s.io/v1\",\"kind\":"
	    "\"NetworkPolicy\",\"metadata\":{\"name\":\"web\",\"namespace\":"
	    "\"shop\",\"uid\":\"1f0e\",\"resourceVersion\":\"42\","
	    "\"generation\":1,\"creationTimestamp\":\"2024-01-01T00:00:00Z\","
	    "\"labels\":{\"a\":\"b\"},\"annotations\":{\"k\":\"v\"}},"
	    "\"spec\":{\"podSelector\":{},\"policyTypes\":[\"Ingress\"]},"
	    "\"status\":{}},"
	    "{\"apiVersion\":\"v1\",\"kind\":\"Namespace\",\"metadata\":"
	    "{\"name\":\"shop\",\"labels\":{\"team\":\"a\"}}},"
	    "{\"apiVersion\":\"bulkhead/v1\",\"kind\":\"Policy\",\"metadata\":"
	    "{\"name\":\"web\"},\"spec\":{\"selector\":\"all()\"}}]}");

	assert_int_equal(ps->n, 2);
	assert_int_equal(ps->nnamespaces, 1);
	/* Same name in both languages: no clash. */
	assert_string_equal(ps->v[0]->name, "shop/web");
	assert_string_equal(ps->v[1]->name, "web");
	policy_set_free(ps);
}

/* ---- bad input ---- */

static void
test_bad_selectors(void **state)
{
	const char	*t;

	t = NP(MD, "{\"podSelector\":{\"matchExpressions\":[{\"key\":\"a\","
	    "\"operator\":\"Has\"}]}}");
	expect_at(t, "\"Has\"", "$.spec.podSelector.matchExpressions[0]."
	    "operator", "unknown operator \"Has\" (expected In, NotIn, Exists "
	    "or DoesNotExist)");
	t = NP(MD, "{\"podSelector\":{\"matchLabels\":{\"app\":\"a b\"}}}");
	expect_at(t, "\"a b\"", "$.spec.podSelector.matchLabels.app",
	    "invalid label value \"a b\": at most 63 letters, digits, '-', "
	    "'_' or '.', alphanumeric at both ends");
	t = NP(MD, "{\"podSelector\":{\"matchExpressions\":[{\"key\":\"a\","
	    "\"operator\":\"In\",\"values\":[\"ok\",\"-bad\"]}]}}");
	expect_at(t, "\"-bad\"", "$.spec.podSelector.matchExpressions[0]."
	    "values[1]", "invalid label value \"-bad\": at most 63 letters, "
	    "digits, '-', '_' or '.', alphanumeric at both ends");
	t = NP(MD, "{\"podSelector\":{\"matchLabels\":{\"bad key\":\"a\"}}}");
	expect_at(t, "\"a\"}", "$.spec.podSelector.matchLabels[\"bad key\"]",
	    "invalid label key \"bad key\": a name of 1-63 letters, digits, "
	    "'-', '_' or '.' (alphanumeric at both ends), with an optional "
	    "DNS subdomain prefix and '/'");
	t = NP(MD, "{\"podSelector\":{\"matchExpressions\":[{\"key\":\"a\","
	    "\"operator\":\"NotIn\",\"values\":[]}]}}");
	expect_at(t, "[]}", "$.spec.podSelector.matchExpressions[0].values",
	    "operator In and NotIn need values");
	t = NP(MD, "{\"podSelector\":{\"matchExpressions\":[{\"key\":\"a\","
	    "\"operator\":\"Exists\",\"values\":[\"x\"]}]}}");
	expect_at(t, "[\"x\"]", "$.spec.podSelector.matchExpressions[0].values",
	    "operator Exists and DoesNotExist take no values");
	t = NP(MD, "{\"podSelector\":{\"matchLabel\":{}}}");
	expect_at(t, "{}}}", "$.spec.podSelector.matchLabel",
	    "unknown field \"matchLabel\" (known: matchLabels, "
	    "matchExpressions)");
}

static void
test_bad_ports(void **state)
{
	const char	*t;

	t = NP(MD, "{\"podSelector\":{},\"ingress\":[{\"ports\":[{\"port\":"
	    "8080,\"endPort\":80}]}]}");
	expect_at(t, "80}", "$.spec.ingress[0].ports[0].endPort",
	    "endPort 80 is below port 8080");
	t = NP(MD, "{\"podSelector\":{},\"ingress\":[{\"ports\":[{\"port\":"
	    "\"http\",\"endPort\":80}]}]}");
	expect_at(t, "80}", "$.spec.ingress[0].ports[0].endPort",
	    "endPort needs a numeric port");
	t = NP(MD, "{\"podSelector\":{},\"ingress\":[{\"ports\":[{\"protocol\":"
	    "\"tcp\"}]}]}");
	expect_at(t, "\"tcp\"", "$.spec.ingress[0].ports[0].protocol",
	    "unknown protocol \"tcp\" (expected TCP, UDP or SCTP)");
	t = NP(MD, "{\"podSelector\":{},\"ingress\":[{\"ports\":[{\"port\":"
	    "0}]}]}");
	expect_at(t, "0}", "$.spec.ingress[0].ports[0].port",
	    "port 0 out of range 1-65535");
	t = NP(MD, "{\"podSelector\":{},\"ingress\":[{\"ports\":[{\"port\":"
	    "\"Http\"}]}]}");
	expect_at(t, "\"Http\"", "$.spec.ingress[0].ports[0].port",
	    "invalid port name \"Http\": 1-15 of a-z, 0-9 and '-', with a "
	    "letter, no '-' at the ends or twice in a row");
	t = NP(MD, "{\"podSelector\":{},\"egress\":[{\"ports\":[{\"port\":"
	    "true}]}]}");
	expect_at(t, "true", "$.spec.egress[0].ports[0].port",
	    "expected a port number or name, found a boolean");
}

static void
test_bad_peers(void **state)
{
	const char	*t;

	t = NP(MD, "{\"podSelector\":{},\"ingress\":[{\"from\":[{}]}]}");
	expect_at(t, "{}]}]}", "$.spec.ingress[0].from[0]",
	    "a peer needs podSelector, namespaceSelector or ipBlock");
	t = NP(MD, "{\"podSelector\":{},\"ingress\":[{\"from\":[{\"podSelector\""
	    ":{},\"ipBlock\":{\"cidr\":\"10.0.0.0/8\"}}]}]}");
	expect_at(t, "{\"cidr", "$.spec.ingress[0].from[0].ipBlock",
	    "ipBlock cannot be combined with podSelector or namespaceSelector "
	    "in one peer");
	t = NP(MD, "{\"podSelector\":{},\"egress\":[{\"to\":[{\"ipBlock\":"
	    "{\"cidr\":\"10.0.0.0/16\",\"except\":[\"10.1.0.0/24\"]}}]}]}");
	expect_at(t, "\"10.1.0.0/24\"", "$.spec.egress[0].to[0].ipBlock."
	    "except[0]", "except 10.1.0.0/24 is not strictly inside cidr");
	t = NP(MD, "{\"podSelector\":{},\"egress\":[{\"to\":[{\"ipBlock\":"
	    "{\"cidr\":\"10.0.0.1/16\"}}]}]}");
	expect_at(t, "\"10.0.0.1/16\"", "$.spec.egress[0].to[0].ipBlock.cidr",
	    "host bits set in 10.0.0.1/16; did you mean 10.0.0.0/16");
	t = NP(MD, "{\"podSelector\":{},\"ingress\":[{\"from\":[{\"ipBlock\":"
	    "{}}]}]}");
	expect_at(t, "{}}]}]}", "$.spec.ingress[0].from[0].ipBlock.cidr",
	    "missing required field");
	t = NP(MD, "{\"podSelector\":{},\"ingress\":[{\"to\":[]}]}");
	expect_at(t, "[]}]}", "$.spec.ingress[0].to",
	    "unknown field \"to\" (known: from, ports)");
}

static void
test_bad_policy(void **state)
{
	const char	*t;
	char		 longname[128], *u, *w, *e;

	t = NP("{\"name\":\"np\",\"namespace\":\"X\"}", "{\"podSelector\":{}}");
	expect_at(t, "\"X\"", "$.metadata.namespace", "invalid namespace: "
	    "1-63 of a-z, 0-9, '-' and '_', alphanumeric at both ends");
	/* A Compose project name is a namespace too. */
	policy_set_free(load_ok(NP("{\"name\":\"np\",\"namespace\":"
	    "\"my_app-2\"}", "{\"podSelector\":{}}")));
	t = NP("{\"name\":\"np\",\"namespace\":\"app_\"}", "{\"podSelector\":{}}");
	expect_at(t, "\"app_\"", "$.metadata.namespace", "invalid namespace: "
	    "1-63 of a-z, 0-9, '-' and '_', alphanumeric at both ends");
	t = NP("{\"name\":\"np_1\"}", "{\"podSelector\":{}}");
	expect_at(t, "\"np_1\"", "$.metadata.name", "invalid name \"np_1\": a "
	    "DNS subdomain (a-z, 0-9, '-' and '.')");
	t = NP(MD, "{}");
	expect_at(t, "{}}", "$.spec.podSelector", "missing required field");
	t = NP(MD, "{\"podSelector\":{},\"policyTypes\":[\"ingress\"]}");
	expect_at(t, "\"ingress\"", "$.spec.policyTypes[0]", "unknown policy "
	    "type \"ingress\" (expected Ingress or Egress)");
	t = NP(MD, "{\"podSelector\":{},\"selector\":\"all()\"}");
	expect_at(t, "\"all()\"", "$.spec.selector", "unknown field "
	    "\"selector\" (known: podSelector, policyTypes, ingress, egress)");
	/* 92 + "default/" is 100: accepted; one more is refused. */
	memset(longname, 'n', sizeof(longname) - 1);
	longname[92] = '\0';
	free(load(u = xasprintf(NP("{\"name\":\"%s\"}", "{\"podSelector\":{}}"),
	    longname), NULL));
	e = load(u, NULL);
	assert_string_equal(e, "");
	free(e);
	free(u);
	longname[92] = 'n';
	longname[93] = '\0';
	u = xasprintf(NP("{\"name\":\"%s\"}", "{\"podSelector\":{}}"),
	    longname);
	w = xasprintf("\"default/%s\" is longer than 100 characters (it "
	    "names the policy in logs)", longname);
	expect_at(u, "\"nnn", "$.metadata.name", w);
	free(u);
	free(w);
	/* Unique per namespace, as in Kubernetes. */
	expect("[" NP(MD, "{\"podSelector\":{}}") ",\n"
	    NP(MD, "{\"podSelector\":{}}") "]",
	    "t.json:2:80: $[1].metadata.name: duplicate policy name \"x/np\" "
	    "(first defined at t.json:1:81)");
	policy_set_free(load_ok("[" NP(MD, "{\"podSelector\":{}}") ","
	    NP("{\"name\":\"np\",\"namespace\":\"y\"}", "{\"podSelector\":{}}")
	    "]"));
	t = "{\"apiVersion\":\"v1\",\"kind\":\"List\",\"items\":[{\"apiVersion\":"
	    "\"v1\",\"kind\":\"List\",\"items\":[]}]}";
	expect_at(t, "{\"apiVersion\":\"v1\",\"kind\":\"List\",\"items\":[]",
	    "$.items[0]", "a List inside a List");
}

/* The node (the Docker host) always reaches an isolated pod and back;
 * the world does not. */
static void
test_node_always_allowed(void **state)
{
	struct policy_set	*ps = load_ok(NP(MD, "{\"podSelector\":{},"
	    "\"policyTypes\":[\"Ingress\",\"Egress\"]}"));
	struct labelset		 ls;
	struct eval_flow	 f;
	struct eval_result	 res;
	struct in_addr		 a;
	int			 dir;

	labelset_init(&ls);
	labelset_set(&ls, "bulkhead.namespace", "x");
	for (dir = 0; dir < 2; dir++) {
		enum eval_kind	kinds[] = { EVAL_HOST, EVAL_WORLD };
		int		k;

		for (k = 0; k < 2; k++) {
			struct eval_endpoint *pod, *other;

			evaluate_flow_init(&f);
			pod = dir == POL_INGRESS ? &f.dst : &f.src;
			other = dir == POL_INGRESS ? &f.src : &f.dst;
			evaluate_endpoint_init(pod, EVAL_CONTAINER);
			pod->labels = &ls;
			inet_pton(AF_INET, "172.31.77.11", &a);
			evaluate_endpoint_add_addr(pod, AF_INET, &a);
			evaluate_endpoint_init(other, kinds[k]);
			inet_pton(AF_INET, "192.0.2.2", &a);
			evaluate_endpoint_add_addr(other, AF_INET, &a);
			f.protocol = IPPROTO_TCP;
			f.sport = 40000;
			f.dport = 22;
			evaluate_flow(ps, &f, &res);
			assert_int_equal(res.allowed, kinds[k] == EVAL_HOST);
			evaluate_result_release(&res);
			evaluate_flow_release(&f);
		}
	}
	labelset_release(&ls);
	policy_set_free(ps);
}

/* A policy applies to the containers of its namespace only: the
 * bulkhead.namespace label, else the Compose project, else default. */
static void
test_policy_namespace(void **state)
{
	struct policy_set	*ps = load_ok("["
	    NP("{\"name\":\"a\",\"namespace\":\"shop\"}",
	    "{\"podSelector\":{}}") ","
	    NP("{\"name\":\"b\"}", "{\"podSelector\":{}}") "]");
	struct labelset		 ls;
	const struct policy	*a = ps->v[1], *b = ps->v[0];

	assert_string_equal(a->name, "shop/a");
	assert_string_equal(b->name, "default/b");
	labelset_init(&ls);
	assert_false(evaluate_applies(a, &ls, NULL, POL_INGRESS));
	assert_true(evaluate_applies(b, &ls, NULL, POL_INGRESS));
	assert_true(evaluate_applies(b, NULL, NULL, POL_INGRESS));
	assert_false(evaluate_applies(b, &ls, NULL, POL_EGRESS));
	labelset_set(&ls, "com.docker.compose.project", "shop");
	assert_true(evaluate_applies(a, &ls, NULL, POL_INGRESS));
	assert_false(evaluate_applies(b, &ls, NULL, POL_INGRESS));
	labelset_set(&ls, "bulkhead.namespace", "default");
	assert_false(evaluate_applies(a, &ls, NULL, POL_INGRESS));
	assert_true(evaluate_applies(b, &ls, NULL, POL_INGRESS));
	assert_true(evaluate_applies(a, &ls, "shop", POL_INGRESS));
	labelset_release(&ls);
	policy_set_free(ps);
}

/* ---- named ports ---- */

/* explain's reason when only the named port differs. */
static void
test_named_port_miss(void **state)
{
	struct policy_set	*ps = load_ok(NP(MD, "{\"podSelector\":{},"
	    "\"ingress\":[{\"ports\":[{\"port\":\"http\"}]}]}"));
	struct labelset		 ls;
	struct eval_flow	 f;
	int			 peer;

	labelset_init(&ls);
	labelset_set(&ls, "bulkhead.namespace", "x");
	labelset_set(&ls, "bulkhead.port.http", "8080/TCP");
	evaluate_flow_init(&f);
	evaluate_endpoint_init(&f.dst, EVAL_CONTAINER);
	f.dst.labels = &ls;
	f.protocol = IPPROTO_TCP;
	f.dport = 80;
	assert_int_equal(evaluate_rule_miss(ps, &ps->v[0]->rules[POL_INGRESS][0],
	    &f, &peer), EVAL_MISS_NAMED_PORT);
	assert_int_equal(peer, 1);
	f.dport = 8080;
	assert_int_equal(evaluate_rule_miss(ps, &ps->v[0]->rules[POL_INGRESS][0],
	    &f, &peer), EVAL_MISS_NONE);
	f.protocol = IPPROTO_UDP;
	assert_int_equal(evaluate_rule_miss(ps, &ps->v[0]->rules[POL_INGRESS][0],
	    &f, &peer), EVAL_MISS_PROTOCOL);
	evaluate_flow_release(&f);
	labelset_release(&ls);
	policy_set_free(ps);
}

static void
test_named_port_label(void **state)
{
	struct labelset	ls;

	labelset_init(&ls);
	labelset_set(&ls, "bulkhead.port.http", "8080/TCP");
	labelset_set(&ls, "bulkhead.port.dns", "53/udp");
	labelset_set(&ls, "bulkhead.port.plain", "81");
	labelset_set(&ls, "bulkhead.port.bad", "80/icmp");
	labelset_set(&ls, "bulkhead.port.big", "70000/TCP");
	labelset_set(&ls, "bulkhead.port.empty", "/TCP");
	assert_int_equal(k8s_named_port(&ls, "http", IPPROTO_TCP), 8080);
	assert_int_equal(k8s_named_port(&ls, "http", IPPROTO_UDP), -1);
	assert_int_equal(k8s_named_port(&ls, "dns", IPPROTO_UDP), 53);
	assert_int_equal(k8s_named_port(&ls, "plain", IPPROTO_TCP), 81);
	assert_int_equal(k8s_named_port(&ls, "bad", IPPROTO_TCP), -1);
	assert_int_equal(k8s_named_port(&ls, "big", IPPROTO_TCP), -1);
	assert_int_equal(k8s_named_port(&ls, "empty", IPPROTO_TCP), -1);
	assert_int_equal(k8s_named_port(&ls, "none", IPPROTO_TCP), -1);
	assert_int_equal(k8s_named_port(NULL, "http", IPPROTO_TCP), -1);
	labelset_release(&ls);
}

/* ---- truth tables ---- */

#define NPODS	9
#define NPROBES	4

static const char *const pod_names[NPODS] = { "xa", "xb", "xc", "ya", "yb",
    "yc", "za", "zb", "zc" };
static const struct {
	const char	*name;
	int		 proto;
	int		 port;
} probes[NPROBES] = {
	{ "tcp/80", IPPROTO_TCP, 80 }, { "tcp/81", IPPROTO_TCP, 81 },
	{ "udp/80", IPPROTO_UDP, 80 }, { "udp/81", IPPROTO_UDP, 81 },
};

/* The pods: labels pod=<p>, namespace <n>, named ports, 172.31.77.<n><p>. */
static struct labelset	pods[NPODS];

static int
pods_setup(void **state)
{
	char	v[2] = { 0, 0 };
	int	i;

	for (i = 0; i < NPODS; i++) {
		labelset_init(&pods[i]);
		v[0] = pod_names[i][1];
		labelset_set(&pods[i], "pod", v);
		v[0] = pod_names[i][0];
		labelset_set(&pods[i], "bulkhead.namespace", v);
		labelset_set(&pods[i], "bulkhead.port.serve-80-tcp", "80/TCP");
		labelset_set(&pods[i], "bulkhead.port.serve-81-tcp", "81/TCP");
		labelset_set(&pods[i], "bulkhead.port.serve-80-udp", "80/UDP");
		labelset_set(&pods[i], "bulkhead.port.serve-81-udp", "81/UDP");
	}
	return 0;
}

static int
pods_teardown(void **state)
{
	int	i;

	for (i = 0; i < NPODS; i++)
		labelset_release(&pods[i]);
	return 0;
}

static void
pod_endpoint(struct eval_endpoint *ep, int i)
{
	struct in_addr	a;
	char		ip[32];

	evaluate_endpoint_init(ep, EVAL_CONTAINER);
	ep->name = pod_names[i];
	ep->labels = &pods[i];
	snprintf(ip, sizeof(ip), "172.31.77.%d%d", pod_names[i][0] - 'x' + 1,
	    pod_names[i][1] - 'a' + 1);
	inet_pton(AF_INET, ip, &a);
	evaluate_endpoint_add_addr(ep, AF_INET, &a);
}

static int
pod_index(const char *s)
{
	int	i;

	for (i = 0; i < NPODS; i++)
		if (strcmp(pod_names[i], s) == 0)
			return i;
	return -1;
}

static char *
read_text(const char *path, size_t *len)
{
	FILE		*f = fopen(path, "r");
	struct strbuf	 sb;
	char		 buf[4096];
	size_t		 n;

	if (f == NULL)
		fail_msg("cannot open %s", path);
	strbuf_init(&sb);
	while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
		strbuf_add(&sb, buf, n);
	fclose(f);
	*len = sb.len;
	return strbuf_detach(&sb);
}

/*
 * expected.txt: lines "tcp/80 udp/80 ..." name the probes of the table
 * that follows; rows "xa . X . ..." give, from that pod, '.' (connects)
 * or 'X' (blocked) for each destination in pod_names order.  Fills
 * want[probe][src][dst]; every probe must be given once.
 */
static void
parse_expected(const char *path, char want[NPROBES][NPODS][NPODS])
{
	size_t	 len;
	char	*text = read_text(path, &len), *line, *save = NULL, *tok, *s2;
	int	 cur[NPROBES], ncur = 0, seen[NPROBES] = { 0 }, i, j, src;

	for (line = strtok_r(text, "\n", &save); line != NULL;
	    line = strtok_r(NULL, "\n", &save)) {
		if (line[0] == '#' || line[0] == ' ' || line[0] == '\0')
			continue;
		if (strncmp(line, "tcp/", 4) == 0 ||
		    strncmp(line, "udp/", 4) == 0) {
			ncur = 0;
			for (tok = strtok_r(line, " \t", &s2); tok != NULL;
			    tok = strtok_r(NULL, " \t", &s2)) {
				for (i = 0; i < NPROBES; i++)
					if (strcmp(tok, probes[i].name) == 0)
						break;
				if (i == NPROBES || seen[i]++)
					fail_msg("%s: bad probe %s", path, tok);
				cur[ncur++] = i;
			}
			continue;
		}
		tok = strtok_r(line, " \t", &s2);
		if ((src = pod_index(tok)) < 0 || ncur == 0)
			fail_msg("%s: bad line starting %s", path, tok);
		for (j = 0; j < NPODS; j++) {
			tok = strtok_r(NULL, " \t", &s2);
			if (tok == NULL || (strcmp(tok, ".") != 0 &&
			    strcmp(tok, "X") != 0))
				fail_msg("%s: row %s: want 9 of . or X", path,
				    pod_names[src]);
			for (i = 0; i < ncur; i++)
				want[cur[i]][src][j] = tok[0];
		}
	}
	for (i = 0; i < NPROBES; i++)
		if (!seen[i])
			fail_msg("%s: no table for %s", path, probes[i].name);
	free(text);
}

/* Loads every *.json of dir plus the shared namespaces into one set. */
static struct policy_set *
load_case(const char *dir)
{
	struct policy_set	*ps = policy_set_new();
	struct errlist		 el;
	struct dirent		*de;
	DIR			*d;
	char			*path, *text;
	size_t			 len;

	errlist_init(&el);
	if ((d = opendir(dir)) == NULL)
		fail_msg("cannot open %s", dir);
	while ((de = readdir(d)) != NULL) {
		len = strlen(de->d_name);
		if (len < 6 || strcmp(de->d_name + len - 5, ".json") != 0)
			continue;
		path = xasprintf("%s/%s", dir, de->d_name);
		text = read_text(path, &len);
		policy_load_buffer(ps, path, text, len, &el);
		free(text);
		free(path);
	}
	closedir(d);
	text = read_text("tests/k8s/namespaces.json", &len);
	policy_load_buffer(ps, "namespaces.json", text, len, &el);
	free(text);
	policy_set_finish(ps, &el);
	if (el.n)
		fail_msg("%s does not load:\n%s", dir, errlist_join(&el));
	errlist_release(&el);
	return ps;
}

static void
print_table(const char *title, char t[NPODS][NPODS])
{
	int	i, j;

	print_message("%s\n   ", title);
	for (j = 0; j < NPODS; j++)
		print_message(" %s", pod_names[j]);
	print_message("\n");
	for (i = 0; i < NPODS; i++) {
		print_message("%s ", pod_names[i]);
		for (j = 0; j < NPODS; j++)
			print_message("  %c", t[i][j]);
		print_message("\n");
	}
}

/* Returns the number of cells where the evaluator differs from want. */
static int
check_case(const char *dir)
{
	char			 want[NPROBES][NPODS][NPODS];
	char			 got[NPODS][NPODS];
	char			*path = xasprintf("%s/expected.txt", dir);
	struct policy_set	*ps = load_case(dir);
	struct eval_flow	 f;
	struct eval_result	 res;
	int			 k, i, j, bad, total = 0;

	parse_expected(path, want);
	for (k = 0; k < NPROBES; k++) {
		bad = 0;
		for (i = 0; i < NPODS; i++)
			for (j = 0; j < NPODS; j++) {
				/* A pod always reaches itself (loopback). */
				if (i == j) {
					got[i][j] = '.';
					continue;
				}
				evaluate_flow_init(&f);
				pod_endpoint(&f.src, i);
				pod_endpoint(&f.dst, j);
				f.protocol = probes[k].proto;
				f.sport = 40000;
				f.dport = probes[k].port;
				evaluate_flow(ps, &f, &res);
				got[i][j] = res.allowed ? '.' : 'X';
				evaluate_result_release(&res);
				evaluate_flow_release(&f);
				bad += got[i][j] != want[k][i][j];
			}
		if (bad) {
			print_message("%s %s: %d cells differ\n", dir,
			    probes[k].name, bad);
			print_table("expected:", want[k]);
			print_table("evaluator:", got);
		}
		total += bad;
	}
	policy_set_free(ps);
	free(path);
	return total;
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void
test_truth_tables(void **state)
{
	const char	*root = getenv("K8S_CASES") ? getenv("K8S_CASES") :
	    "tests/k8s/cases";
	DIR		*d = opendir(root);
	struct dirent	*de;
	char		**names = NULL, *dir;
	size_t		 n = 0, i;
	int		 bad = 0, nbad = 0;

	if (d == NULL)
		fail_msg("cannot open %s (run from the source tree)", root);
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		names = xreallocarray(names, n + 1, sizeof(*names));
		names[n++] = xstrdup(de->d_name);
	}
	closedir(d);
	qsort(names, n, sizeof(*names), cmp_str);
	for (i = 0; i < n; i++) {
		dir = xasprintf("%s/%s", root, names[i]);
		if ((bad = check_case(dir)) != 0)
			nbad++;
		free(dir);
		free(names[i]);
	}
	free(names);
	print_message("truth tables: %zu cases, %d differ\n", n, nbad);
	assert_true(n >= 12);
	assert_int_equal(nbad, 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_translate_basic),
		cmocka_unit_test(test_translate_types),
		cmocka_unit_test(test_translate_peers),
		cmocka_unit_test(test_translate_everyone),
		cmocka_unit_test(test_translate_expressions),
		cmocka_unit_test(test_translate_keyword_keys),
		cmocka_unit_test(test_translate_ports),
		cmocka_unit_test(test_translate_product),
		cmocka_unit_test(test_list_and_verbatim_metadata),
		cmocka_unit_test(test_bad_selectors),
		cmocka_unit_test(test_bad_ports),
		cmocka_unit_test(test_bad_peers),
		cmocka_unit_test(test_bad_policy),
		cmocka_unit_test(test_node_always_allowed),
		cmocka_unit_test(test_policy_namespace),
		cmocka_unit_test(test_named_port_label),
		cmocka_unit_test(test_named_port_miss),
		cmocka_unit_test_setup_teardown(test_truth_tables, pods_setup,
		    pods_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
