/*
 * test_policy.c: the policy loader.  What valid files turn into, and every
 * class of bad input of issue 3 with its exact located message
 * (FILE:LINE:COLUMN: $.path: message), in buffers and in a real rules
 * directory (non-JSON files, files and directories others can write).
 */
#include <sys/stat.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "errlist.h"
#include "labels.h"
#include "jsonloc.h"
#include "policy.h"
#include "selector.h"
#include "util.h"

/* A one-line policy named p around a spec; columns are computed from it. */
#define HEAD	"{\"apiVersion\":\"bulkhead/v1\",\"kind\":\"Policy\"," \
		"\"metadata\":{\"name\":\"p\"},\"spec\":"
#define POL(spec)	HEAD spec "}"

/* Loads text as t.json and finishes; returns the joined errors. */
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

/* text must yield exactly the error want. */
static void
expect(const char *text, const char *want)
{
	char	*errs = load(text, NULL);

	if (strcmp(errs, want) != 0)
		fail_msg("got:\n%s\nwant:\n%s", errs, want);
	free(errs);
}

/*
 * A one-line text must yield exactly one error at the column where needle
 * starts in it (+ extra), for path with message msg.
 */
static void
expect_at(const char *text, const char *needle, int extra, const char *path,
    const char *msg)
{
	const char	*at = strstr(text, needle);
	char		*want;

	assert_non_null(at);
	want = xasprintf("t.json:1:%d: %s: %s", (int)(at - text) + 1 + extra,
	    path, msg);
	expect(text, want);
	free(want);
}

/* ---- valid input ---- */

static void
test_valid_full(void **state)
{
	struct policy_set	*ps = load_ok(
	    "[{\"apiVersion\":\"bulkhead/v1\",\"kind\":\"Policy\",\n"
	    " \"metadata\":{\"name\":\"db\"},\n"
	    " \"spec\":{\"selector\":\"app == 'db'\",\"order\":10.5,"
	    "\"mode\":\"audit\",\"types\":[\"ingress\",\"egress\"],\n"
	    "  \"ingress\":[{\"action\":\"allow\",\"protocol\":\"tcp\","
	    "\"source\":{\"selector\":\"app=='api'\",\"namespaceSelector\":"
	    "\"env == 'prod'\",\"nets\":[\"10.0.0.0/8\",\"fd00::/8\","
	    "\"192.168.1.7\"],\"notNets\":[\"10.1.0.0/16\"]},"
	    "\"destination\":{\"ports\":[5432,\"8000:8080\",\"9\"],"
	    "\"notPorts\":[8001],\"hostPorts\":[18080,\"9000:9009\"]},"
	    "\"log\":true},\n"
	    "   {\"action\":\"deny\",\"protocol\":1,\"icmp\":{\"type\":8,"
	    "\"code\":0},\"ipVersion\":4,\"source\":{\"entity\":\"world\"}},\n"
	    "   {\"action\":\"log\",\"protocol\":\"icmpv6\",\"icmp\":{\"type\":128}"
	    ",\"destination\":{\"entity\":\"host\"}},\n"
	    "   {\"action\":\"allow\",\"protocol\":132,\"source\":{\"entity\":"
	    "\"any\"},\"destination\":{\"ports\":[0,65535]}}],\n"
	    "  \"egress\":[]}}]");
	const struct policy	*p;
	const struct rule	*r;

	assert_int_equal(ps->n, 1);
	p = ps->v[0];
	assert_string_equal(p->name, "db");
	assert_string_equal(p->file, "t.json");
	assert_int_equal(p->loc.line, 1);
	assert_int_equal(p->loc.column, 2);
	assert_true(p->order == 10.5);
	assert_int_equal(p->mode, POL_AUDIT);
	assert_int_equal(p->types, POL_TYPE_INGRESS | POL_TYPE_EGRESS);
	assert_string_equal(selector_text(p->selector), "app == 'db'");
	assert_int_equal(p->nrules[POL_INGRESS], 4);
	assert_int_equal(p->nrules[POL_EGRESS], 0);

	r = &p->rules[POL_INGRESS][0];
	assert_int_equal(r->action, POL_ALLOW);
	assert_int_equal(r->protocol, IPPROTO_TCP);
	assert_int_equal(r->log, 1);
	assert_int_equal(r->loc.line, 4);
	assert_int_equal(r->loc.column, 14);
	assert_string_equal(selector_text(r->source.selector), "app == 'api'");
	assert_string_equal(selector_text(r->source.ns_selector),
	    "env == 'prod'");
	assert_int_equal(r->source.nnets, 3);
	assert_int_equal(r->source.nets[0].family, AF_INET);
	assert_int_equal(r->source.nets[0].prefix, 8);
	assert_int_equal(r->source.nets[1].family, AF_INET6);
	assert_int_equal(r->source.nets[2].prefix, 32);
	assert_int_equal(r->source.nnot_nets, 1);
	assert_int_equal(r->destination.nports, 3);
	assert_int_equal(r->destination.ports[0].lo, 5432);
	assert_int_equal(r->destination.ports[0].hi, 5432);
	assert_int_equal(r->destination.ports[1].lo, 8000);
	assert_int_equal(r->destination.ports[1].hi, 8080);
	assert_int_equal(r->destination.ports[2].lo, 9);
	assert_int_equal(r->destination.nnot_ports, 1);
	assert_int_equal(r->destination.nhost_ports, 2);
	assert_int_equal(r->destination.host_ports[0].lo, 18080);
	assert_int_equal(r->destination.host_ports[0].hi, 18080);
	assert_int_equal(r->destination.host_ports[1].lo, 9000);
	assert_int_equal(r->destination.host_ports[1].hi, 9009);
	assert_int_equal(r->source.nhost_ports, 0);
	assert_int_equal(r->icmp.type, -1);
	assert_int_equal(r->icmp.code, -1);

	r = &p->rules[POL_INGRESS][1];
	assert_int_equal(r->action, POL_DENY);
	assert_int_equal(r->protocol, IPPROTO_ICMP);
	assert_int_equal(r->ip_version, 4);
	assert_int_equal(r->icmp.type, 8);
	assert_int_equal(r->icmp.code, 0);
	assert_int_equal(r->source.entity, POL_ENTITY_WORLD);
	assert_int_equal(r->log, 0);

	r = &p->rules[POL_INGRESS][2];
	assert_int_equal(r->action, POL_LOG);
	assert_int_equal(r->protocol, IPPROTO_ICMPV6);
	assert_int_equal(r->icmp.type, 128);
	assert_int_equal(r->icmp.code, -1);
	assert_int_equal(r->destination.entity, POL_ENTITY_HOST);

	r = &p->rules[POL_INGRESS][3];
	assert_int_equal(r->protocol, IPPROTO_SCTP);
	assert_int_equal(r->source.entity, POL_ENTITY_ANY);
	assert_int_equal(r->destination.ports[1].hi, 65535);
	policy_set_free(ps);
}

static void
test_defaults(void **state)
{
	struct policy_set	*ps = load_ok("["
	    POL("{\"selector\":\"\"}") ","
	    "{\"apiVersion\":\"bulkhead/v1\",\"kind\":\"Policy\",\"metadata\":"
	    "{\"name\":\"e\"},\"spec\":{\"selector\":\"\",\"egress\":[]}},"
	    "{\"apiVersion\":\"bulkhead/v1\",\"kind\":\"Policy\",\"metadata\":"
	    "{\"name\":\"b\"},\"spec\":{\"selector\":\"\",\"egress\":[],"
	    "\"ingress\":[]}},"
	    "{\"apiVersion\":\"bulkhead/v1\",\"kind\":\"Policy\",\"metadata\":"
	    "{\"name\":\"t\"},\"spec\":{\"selector\":\"\",\"types\":"
	    "[\"egress\"]}}]");

	/* Sorted by (order, name); all have the default order 1000. */
	assert_int_equal(ps->n, 4);
	assert_string_equal(ps->v[0]->name, "b");
	assert_int_equal(ps->v[0]->types, POL_TYPE_INGRESS | POL_TYPE_EGRESS);
	assert_string_equal(ps->v[1]->name, "e");
	assert_int_equal(ps->v[1]->types, POL_TYPE_EGRESS);
	assert_string_equal(ps->v[2]->name, "p");
	/* Neither list nor types: ingress. */
	assert_int_equal(ps->v[2]->types, POL_TYPE_INGRESS);
	assert_true(ps->v[2]->order == 1000);
	assert_int_equal(ps->v[2]->mode, POL_ENFORCE);
	assert_string_equal(selector_text(ps->v[2]->selector), "all()");
	assert_string_equal(ps->v[3]->name, "t");
	assert_int_equal(ps->v[3]->types, POL_TYPE_EGRESS);
	assert_int_equal(ps->v[3]->nrules[POL_EGRESS], 0);
	policy_set_free(ps);
}

static void
test_order_sort(void **state)
{
	struct policy_set *ps = load_ok("["
	    "{\"apiVersion\":\"bulkhead/v1\",\"kind\":\"Policy\",\"metadata\":"
	    "{\"name\":\"z\"},\"spec\":{\"selector\":\"\",\"order\":5}},"
	    "{\"apiVersion\":\"bulkhead/v1\",\"kind\":\"Policy\",\"metadata\":"
	    "{\"name\":\"b\"},\"spec\":{\"selector\":\"\",\"order\":20}},"
	    "{\"apiVersion\":\"bulkhead/v1\",\"kind\":\"Policy\",\"metadata\":"
	    "{\"name\":\"a\"},\"spec\":{\"selector\":\"\",\"order\":20}},"
	    "{\"apiVersion\":\"bulkhead/v1\",\"kind\":\"Policy\",\"metadata\":"
	    "{\"name\":\"m\"},\"spec\":{\"selector\":\"\",\"order\":-1.5}}]");

	assert_int_equal(ps->n, 4);
	assert_string_equal(ps->v[0]->name, "m");
	assert_string_equal(ps->v[1]->name, "z");
	assert_string_equal(ps->v[2]->name, "a");
	assert_string_equal(ps->v[3]->name, "b");
	policy_set_free(ps);
}

static void
test_namespaces(void **state)
{
	struct policy_set		*ps = load_ok("["
	    "{\"apiVersion\":\"v1\",\"kind\":\"Namespace\",\"metadata\":"
	    "{\"name\":\"prod\",\"labels\":{\"env\":\"production\","
	    "\"team.example.com/owner\":\"ops\"}}},"
	    "{\"apiVersion\":\"v1\",\"kind\":\"Namespace\",\"metadata\":"
	    "{\"name\":\"dev\"}}]");
	const struct pol_namespace	*ns;

	assert_int_equal(ps->n, 0);
	assert_int_equal(ps->nnamespaces, 2);
	ns = policy_set_namespace(ps, "prod");
	assert_non_null(ns);
	assert_string_equal(labelset_get(&ns->labels, "env"), "production");
	assert_string_equal(labelset_get(&ns->labels,
	    "team.example.com/owner"), "ops");
	ns = policy_set_namespace(ps, "dev");
	assert_non_null(ns);
	assert_int_equal(ns->labels.n, 0);
	assert_null(policy_set_namespace(ps, "other"));
	policy_set_free(ps);
}

/* NetworkPolicy objects and Lists load beside Policy objects (test_k8s.c
 * tests their translation). */
static void
test_k8s_loaded(void **state)
{
	struct policy_set	*ps = load_ok("["
	    "{\"apiVersion\":\"networking.k8s.io/v1\",\"kind\":"
	    "\"NetworkPolicy\",\"metadata\":{\"name\":\"x\"},\"spec\":"
	    "{\"podSelector\":{}}},"
	    "{\"apiVersion\":\"v1\",\"kind\":\"List\",\"items\":[]},"
	    POL("{\"selector\":\"\"}") "]");

	assert_int_equal(ps->n, 2);
	policy_set_free(ps);
}

static void
test_enum_strings(void **state)
{
	char	buf[16];

	assert_string_equal(pol_action_str(POL_ALLOW), "allow");
	assert_string_equal(pol_action_str(POL_DENY), "deny");
	assert_string_equal(pol_action_str(POL_LOG), "log");
	assert_string_equal(pol_dir_str(POL_INGRESS), "ingress");
	assert_string_equal(pol_dir_str(POL_EGRESS), "egress");
	assert_string_equal(pol_proto_str(IPPROTO_TCP, buf, sizeof(buf)),
	    "tcp");
	assert_string_equal(pol_proto_str(IPPROTO_UDP, buf, sizeof(buf)),
	    "udp");
	assert_string_equal(pol_proto_str(IPPROTO_SCTP, buf, sizeof(buf)),
	    "sctp");
	assert_string_equal(pol_proto_str(IPPROTO_ICMP, buf, sizeof(buf)),
	    "icmp");
	assert_string_equal(pol_proto_str(IPPROTO_ICMPV6, buf, sizeof(buf)),
	    "icmpv6");
	assert_string_equal(pol_proto_str(47, buf, sizeof(buf)), "47");
}

/* ---- bad input, one class at a time ---- */

static void
test_malformed_json(void **state)
{
	expect("{\"a\":1,}", "t.json:1:8: $: malformed JSON: string or '}' "
	    "expected near '}'");
	expect("[\n{\"kind\": \"Policy\"\n", "t.json:3:0: $: malformed JSON: "
	    "'}' expected near end of file");
	expect("", "t.json:1:0: $: malformed JSON: '[' or '{' expected near "
	    "end of file");
	expect("{\"a\":1,\"a\":2}", "t.json:1:10: $: malformed JSON: "
	    "duplicate object key near '\"a\"'");
}

static void
test_top_level(void **state)
{
	expect("42", "t.json:1:2: $: malformed JSON: '[' or '{' expected "
	    "near '42'");
	expect("[1]", "t.json:1:2: $[0]: expected an object, found an integer");
	expect("{}", "t.json:1:1: $.apiVersion: missing required field\n"
	    "t.json:1:1: $.kind: missing required field");
	expect("{\"apiVersion\":\"bulkhead/v2\",\"kind\":\"Policy\"}",
	    "t.json:1:15: $.apiVersion: unknown apiVersion \"bulkhead/v2\" "
	    "(expected bulkhead/v1, v1 or networking.k8s.io/v1)");
	expect("{\"apiVersion\":\"bulkhead/v1\",\"kind\":\"Rule\"}",
	    "t.json:1:36: $.kind: unknown kind \"Rule\" for apiVersion "
	    "bulkhead/v1");
	expect("{\"apiVersion\":4,\"kind\":\"Policy\"}",
	    "t.json:1:15: $.apiVersion: expected a string, found an integer");
}

static void
test_unknown_fields(void **state)
{
	const char	*t;

	t = POL("{\"selector\":\"\"},\"extra\":1");
	expect_at(t, "1}", 0, "$.extra", "unknown field \"extra\" (known: "
	    "apiVersion, kind, metadata, spec)");
	t = "{\"apiVersion\":\"bulkhead/v1\",\"kind\":\"Policy\",\"metadata\":"
	    "{\"name\":\"p\",\"labels\":{}},\"spec\":{\"selector\":\"\"}}";
	expect_at(t, "{}}", 0, "$.metadata.labels", "unknown field \"labels\" "
	    "(known: name)");
	t = POL("{\"selector\":\"\",\"selectr\":\"x\"}");
	expect_at(t, "\"x\"", 0, "$.spec.selectr", "unknown field \"selectr\" "
	    "(known: selector, order, mode, types, ingress, egress)");
	t = POL("{\"selector\":\"\",\"ingress\":[{\"action\":\"allow\","
	    "\"port\":80}]}");
	expect_at(t, "80", 0, "$.spec.ingress[0].port", "unknown field "
	    "\"port\" (known: action, protocol, ipVersion, icmp, source, "
	    "destination, log)");
	t = POL("{\"selector\":\"\",\"ingress\":[{\"action\":\"allow\","
	    "\"source\":{\"cidr\":[]}}]}");
	expect_at(t, "[]}", 0, "$.spec.ingress[0].source.cidr", "unknown field "
	    "\"cidr\" (known: selector, namespaceSelector, nets, notNets, "
	    "ports, notPorts, hostPorts, entity)");
	t = POL("{\"selector\":\"\",\"ingress\":[{\"action\":\"allow\","
	    "\"protocol\":\"icmp\",\"icmp\":{\"kind\":3}}]}");
	expect_at(t, "3}", 0, "$.spec.ingress[0].icmp.kind", "unknown field "
	    "\"kind\" (known: type, code)");
	t = "{\"apiVersion\":\"v1\",\"kind\":\"Namespace\",\"metadata\":"
	    "{\"name\":\"n\"},\"spec\":{}}";
	expect_at(t, "{}}", 0, "$.spec", "unknown field \"spec\" (known: "
	    "apiVersion, kind, metadata)");
}

static void
test_wrong_types(void **state)
{
	const char	*t;

	t = POL("{\"selector\":\"\",\"order\":\"1\"}");
	expect_at(t, "\"1\"", 0, "$.spec.order", "expected a number, found a "
	    "string");
	t = POL("{\"selector\":7}");
	expect_at(t, "7", 0, "$.spec.selector", "expected a selector string, "
	    "found an integer");
	t = POL("{\"selector\":\"\",\"ingress\":{}}");
	expect_at(t, "{}", 0, "$.spec.ingress", "expected an array of rules, "
	    "found an object");
	t = POL("{\"selector\":\"\",\"ingress\":[[]]}");
	expect_at(t, "[]", 0, "$.spec.ingress[0]", "expected a rule object, "
	    "found an array");
	t = POL("{\"selector\":\"\",\"ingress\":[{\"action\":\"allow\","
	    "\"log\":\"yes\"}]}");
	expect_at(t, "\"yes\"", 0, "$.spec.ingress[0].log", "expected a "
	    "boolean, found a string");
	t = POL("{\"selector\":\"\",\"ingress\":[{\"action\":\"allow\","
	    "\"source\":{\"nets\":\"10.0.0.0/8\"}}]}");
	expect_at(t, "\"10.", 0, "$.spec.ingress[0].source.nets", "expected an "
	    "array of CIDRs, found a string");
	t = POL("{\"selector\":\"\",\"ingress\":[{\"action\":\"allow\","
	    "\"protocol\":\"tcp\",\"source\":{\"ports\":[true]}}]}");
	expect_at(t, "true", 0, "$.spec.ingress[0].source.ports[0]", "expected "
	    "a port number or a \"lo:hi\" string, found a boolean");
	t = POL("{\"selector\":\"\",\"types\":\"ingress\"}");
	expect_at(t, "\"ingress\"", 0, "$.spec.types", "expected an array of "
	    "strings, found a string");
	t = POL("{\"selector\":\"\",\"ingress\":[{\"action\":\"allow\","
	    "\"destination\":null}]}");
	expect_at(t, "null", 0, "$.spec.ingress[0].destination", "expected a "
	    "peer object, found null");
	t = POL("{\"selector\":\"\",\"ingress\":[{\"action\":\"allow\","
	    "\"protocol\":true}]}");
	expect_at(t, "true", 0, "$.spec.ingress[0].protocol", "expected a "
	    "protocol name or number, found a boolean");
	t = "{\"apiVersion\":\"bulkhead/v1\",\"kind\":\"Policy\",\"metadata\":"
	    "\"p\",\"spec\":{\"selector\":\"\"}}";
	expect_at(t, "\"p\"", 0, "$.metadata", "expected an object, found a "
	    "string");
}

static void
test_missing_fields(void **state)
{
	const char	*t;

	t = "{\"apiVersion\":\"bulkhead/v1\",\"kind\":\"Policy\",\"spec\":"
	    "{\"selector\":\"\"}}";
	expect_at(t, "{", 0, "$.metadata", "missing required field");
	t = POL("{}");
	expect_at(t, "{}", 0, "$.spec.selector", "missing required field");
	t = POL("{\"selector\":\"\",\"egress\":[{\"log\":true}]}");
	expect_at(t, "{\"log", 0, "$.spec.egress[0].action", "missing required "
	    "field");
	t = "{\"apiVersion\":\"bulkhead/v1\",\"kind\":\"Policy\",\"metadata\":"
	    "{\"name\":\"p\"}}";
	expect_at(t, "{", 0, "$.spec", "missing required field");
}

static void
test_bad_selector(void **state)
{
	const char	*t;

	/* The column is the one of the problem inside the expression. */
	t = POL("{\"selector\":\"app == 'db' && (tier\"}");
	expect_at(t, "app ==", 20, "$.spec.selector", "invalid selector: "
	    "expected an operator (==, !=, in, not in, contains, starts with, "
	    "ends with) but found end of selector");
	t = POL("{\"selector\":\"app = 'db'\"}");
	expect_at(t, "= 'db'", 0, "$.spec.selector", "invalid selector: "
	    "expected an operator (==, !=, in, not in, contains, starts with, "
	    "ends with) but found '='");
	t = POL("{\"selector\":\"\",\"ingress\":[{\"action\":\"allow\","
	    "\"source\":{\"namespaceSelector\":\"env in {'a' 'b'}\"}}]}");
	expect_at(t, "'b'}", 0, "$.spec.ingress[0].source.namespaceSelector",
	    "invalid selector: expected ',' or '}' but found ''b''");
	/* Multi-line file: line and column inside the string. */
	expect("{\n  \"apiVersion\": \"bulkhead/v1\",\n  \"kind\": \"Policy\",\n"
	    "  \"metadata\": {\"name\": \"bad\"},\n"
	    "  \"spec\": {\"selector\": \"app ==\", \"ingress\": []}\n}\n",
	    "t.json:5:31: $.spec.selector: invalid selector: expected a "
	    "quoted string but found end of selector");
}

static void
test_bad_protocol(void **state)
{
	const char	*t;

	t = POL("{\"selector\":\"\",\"ingress\":[{\"action\":\"allow\","
	    "\"protocol\":\"tcpx\"}]}");
	expect_at(t, "\"tcpx\"", 0, "$.spec.ingress[0].protocol", "unknown "
	    "protocol \"tcpx\" (expected tcp, udp, sctp, icmp, icmpv6 or a "
	    "number 1-255)");
	t = POL("{\"selector\":\"\",\"ingress\":[{\"action\":\"allow\","
	    "\"protocol\":256}]}");
	expect_at(t, "256", 0, "$.spec.ingress[0].protocol", "protocol 256 out "
	    "of range 1-255");
	t = POL("{\"selector\":\"\",\"ingress\":[{\"action\":\"allow\","
	    "\"protocol\":0}]}");
	expect_at(t, "0}", 0, "$.spec.ingress[0].protocol", "protocol 0 out of "
	    "range 1-255");
	/* A bad protocol is reported once, not again by the ports. */
	t = POL("{\"selector\":\"\",\"ingress\":[{\"action\":\"allow\","
	    "\"protocol\":\"TCP\",\"destination\":{\"ports\":[80]}}]}");
	expect_at(t, "\"TCP\"", 0, "$.spec.ingress[0].protocol", "unknown "
	    "protocol \"TCP\" (expected tcp, udp, sctp, icmp, icmpv6 or a "
	    "number 1-255)");
}

static void
test_bad_ports(void **state)
{
	const char	*t;

	t = POL("{\"selector\":\"\",\"ingress\":[{\"action\":\"allow\","
	    "\"protocol\":\"icmp\",\"destination\":{\"ports\":[80]}}]}");
	expect_at(t, "[80]", 0, "$.spec.ingress[0].destination.ports", "ports "
	    "need protocol tcp, udp or sctp (protocol is icmp)");
	t = POL("{\"selector\":\"\",\"ingress\":[{\"action\":\"allow\","
	    "\"destination\":{\"notPorts\":[80]}}]}");
	expect_at(t, "[80]", 0, "$.spec.ingress[0].destination.notPorts",
	    "ports need protocol tcp, udp or sctp (no protocol given)");
	t = POL("{\"selector\":\"\",\"ingress\":[{\"action\":\"allow\","
	    "\"protocol\":47,\"source\":{\"ports\":[80]}}]}");
	expect_at(t, "[80]", 0, "$.spec.ingress[0].source.ports", "ports need "
	    "protocol tcp, udp or sctp (protocol is 47)");
	t = POL("{\"selector\":\"\",\"ingress\":[{\"action\":\"allow\","
	    "\"protocol\":\"udp\",\"destination\":{\"ports\":[53,\"90:80\"]}}]}");
	expect_at(t, "\"90:80\"", 0, "$.spec.ingress[0].destination.ports[1]",
	    "port range \"90:80\" has lo > hi");
	t = POL("{\"selector\":\"\",\"ingress\":[{\"action\":\"allow\","
	    "\"protocol\":\"udp\",\"destination\":{\"ports\":[65536]}}]}");
	expect_at(t, "65536", 0, "$.spec.ingress[0].destination.ports[0]",
	    "port 65536 out of range 0-65535");
	t = POL("{\"selector\":\"\",\"ingress\":[{\"action\":\"allow\","
	    "\"protocol\":\"udp\",\"destination\":{\"ports\":[-1]}}]}");
	expect_at(t, "-1", 0, "$.spec.ingress[0].destination.ports[0]",
	    "port -1 out of range 0-65535");
	t = POL("{\"selector\":\"\",\"ingress\":[{\"action\":\"allow\","
	    "\"protocol\":\"udp\",\"destination\":{\"ports\":[\"1:70000\"]}}]}");
	expect_at(t, "\"1:70000\"", 0, "$.spec.ingress[0].destination.ports[0]",
	    "port 70000 out of range 0-65535");
	t = POL("{\"selector\":\"\",\"ingress\":[{\"action\":\"allow\","
	    "\"protocol\":\"udp\",\"destination\":{\"ports\":[\"http\"]}}]}");
	expect_at(t, "\"http\"", 0, "$.spec.ingress[0].destination.ports[0]",
	    "invalid port range \"http\" (expected a number or \"lo:hi\")");
	t = POL("{\"selector\":\"\",\"ingress\":[{\"action\":\"allow\","
	    "\"protocol\":\"udp\",\"destination\":{\"ports\":[80.5]}}]}");
	expect_at(t, "80.5", 0, "$.spec.ingress[0].destination.ports[0]",
	    "expected a port number or a \"lo:hi\" string, found a number");
}

static void
test_bad_host_ports(void **state)
{
	const char	*t;

	t = POL("{\"selector\":\"\",\"ingress\":[{\"action\":\"allow\","
	    "\"protocol\":\"icmp\",\"destination\":{\"hostPorts\":[80]}}]}");
	expect_at(t, "[80]", 0, "$.spec.ingress[0].destination.hostPorts",
	    "hostPorts need protocol tcp, udp or sctp (protocol is icmp)");
	t = POL("{\"selector\":\"\",\"egress\":[{\"action\":\"allow\","
	    "\"destination\":{\"hostPorts\":[80]}}]}");
	expect_at(t, "[80]", 0, "$.spec.egress[0].destination.hostPorts",
	    "hostPorts need protocol tcp, udp or sctp (no protocol given)");
	t = POL("{\"selector\":\"\",\"ingress\":[{\"action\":\"allow\","
	    "\"protocol\":\"tcp\",\"source\":{\"hostPorts\":[8080]}}]}");
	expect_at(t, "[8080]", 0, "$.spec.ingress[0].source.hostPorts",
	    "hostPorts is for the destination only (the port a client "
	    "connected to before Docker's port publishing translated it)");
	t = POL("{\"selector\":\"\",\"ingress\":[{\"action\":\"allow\","
	    "\"protocol\":\"sctp\",\"destination\":{\"hostPorts\":[80,"
	    "\"9:8\"]}}]}");
	expect_at(t, "\"9:8\"", 0, "$.spec.ingress[0].destination.hostPorts[1]",
	    "port range \"9:8\" has lo > hi");
	t = POL("{\"selector\":\"\",\"ingress\":[{\"action\":\"allow\","
	    "\"protocol\":\"udp\",\"destination\":{\"hostPorts\":[65536]}}]}");
	expect_at(t, "65536", 0, "$.spec.ingress[0].destination.hostPorts[0]",
	    "port 65536 out of range 0-65535");
	t = POL("{\"selector\":\"\",\"ingress\":[{\"action\":\"allow\","
	    "\"protocol\":\"udp\",\"destination\":{\"hostPorts\":80}}]}");
	expect_at(t, "80}", 0, "$.spec.ingress[0].destination.hostPorts",
	    "expected an array of ports, found an integer");
}

static void
test_bad_cidr(void **state)
{
	const char	*t;

	t = POL("{\"selector\":\"\",\"egress\":[{\"action\":\"allow\","
	    "\"destination\":{\"nets\":[\"10.0.0.1/8\"]}}]}");
	expect_at(t, "\"10.0.0.1/8\"", 0, "$.spec.egress[0].destination.nets[0]",
	    "host bits set in 10.0.0.1/8; did you mean 10.0.0.0/8");
	t = POL("{\"selector\":\"\",\"egress\":[{\"action\":\"allow\","
	    "\"destination\":{\"notNets\":[\"fd00::1/64\"]}}]}");
	expect_at(t, "\"fd00", 0, "$.spec.egress[0].destination.notNets[0]",
	    "host bits set in fd00::1/64; did you mean fd00::/64");
	t = POL("{\"selector\":\"\",\"egress\":[{\"action\":\"allow\","
	    "\"destination\":{\"nets\":[\"10.0.0.0/33\"]}}]}");
	expect_at(t, "\"10.0.0.0/33\"", 0,
	    "$.spec.egress[0].destination.nets[0]",
	    "invalid CIDR \"10.0.0.0/33\": prefix must be 0-32");
	t = POL("{\"selector\":\"\",\"egress\":[{\"action\":\"allow\","
	    "\"destination\":{\"nets\":[\"10.0.0/8\"]}}]}");
	expect_at(t, "\"10.0.0/8\"", 0, "$.spec.egress[0].destination.nets[0]",
	    "invalid CIDR \"10.0.0/8\"");
	t = POL("{\"selector\":\"\",\"egress\":[{\"action\":\"allow\","
	    "\"ipVersion\":4,\"destination\":{\"nets\":[\"fd00::/8\"]}}]}");
	expect_at(t, "\"fd00", 0, "$.spec.egress[0].destination.nets[0]",
	    "fd00::/8 is an IPv6 network, but the rule is IPv4 only");
}

static void
test_bad_icmp_and_version(void **state)
{
	const char	*t;

	t = POL("{\"selector\":\"\",\"ingress\":[{\"action\":\"allow\","
	    "\"protocol\":\"tcp\",\"icmp\":{\"type\":8}}]}");
	expect_at(t, "{\"type", 0, "$.spec.ingress[0].icmp", "icmp needs "
	    "protocol icmp or icmpv6");
	t = POL("{\"selector\":\"\",\"ingress\":[{\"action\":\"allow\","
	    "\"protocol\":\"icmp\",\"icmp\":{\"type\":256}}]}");
	expect_at(t, "256", 0, "$.spec.ingress[0].icmp.type", "icmp type must "
	    "be an integer 0-255");
	t = POL("{\"selector\":\"\",\"ingress\":[{\"action\":\"allow\","
	    "\"ipVersion\":5}]}");
	expect_at(t, "5}", 0, "$.spec.ingress[0].ipVersion", "ipVersion must "
	    "be 4 or 6");
	t = POL("{\"selector\":\"\",\"ingress\":[{\"action\":\"allow\","
	    "\"protocol\":\"icmpv6\",\"ipVersion\":4}]}");
	expect_at(t, "4}", 0, "$.spec.ingress[0].ipVersion", "ipVersion 4 "
	    "conflicts with protocol icmpv6");
}

static void
test_bad_enums(void **state)
{
	const char	*t;

	t = POL("{\"selector\":\"\",\"ingress\":[{\"action\":\"accept\"}]}");
	expect_at(t, "\"accept\"", 0, "$.spec.ingress[0].action", "unknown "
	    "action \"accept\" (expected allow, deny or log)");
	t = POL("{\"selector\":\"\",\"mode\":\"dry-run\"}");
	expect_at(t, "\"dry-run\"", 0, "$.spec.mode", "unknown mode "
	    "\"dry-run\" (expected enforce or audit)");
	t = POL("{\"selector\":\"\",\"ingress\":[{\"action\":\"allow\","
	    "\"source\":{\"entity\":\"internet\"}}]}");
	expect_at(t, "\"internet\"", 0, "$.spec.ingress[0].source.entity",
	    "unknown entity \"internet\" (expected host, world or any)");
	t = POL("{\"selector\":\"\",\"types\":[\"ingress\",\"forward\"]}");
	expect_at(t, "\"forward\"", 0, "$.spec.types[1]", "unknown type "
	    "\"forward\" (expected ingress or egress)");
	t = POL("{\"selector\":\"\",\"types\":[\"egress\",\"egress\"]}");
	expect_at(t, "\"egress\"]", 0, "$.spec.types[1]", "duplicate type "
	    "\"egress\"");
	t = POL("{\"selector\":\"\",\"types\":[]}");
	expect_at(t, "[]", 0, "$.spec.types", "empty types: the policy would "
	    "apply to nothing");
	t = POL("{\"selector\":\"\",\"types\":[\"egress\"],\"ingress\":[]}");
	expect_at(t, "[]}", 0, "$.spec.ingress", "ingress rules given but "
	    "types does not include ingress");
}

static void
test_bad_names(void **state)
{
	const char	*t;

	t = "{\"apiVersion\":\"bulkhead/v1\",\"kind\":\"Policy\",\"metadata\":"
	    "{\"name\":\"a|b\"},\"spec\":{\"selector\":\"\"}}";
	expect_at(t, "\"a|b\"", 0, "$.metadata.name", "invalid name \"a|b\": "
	    "use 1-63 letters, digits, '.', '_' or '-'");
	t = "{\"apiVersion\":\"bulkhead/v1\",\"kind\":\"Policy\",\"metadata\":"
	    "{\"name\":\"\"},\"spec\":{\"selector\":\"\"}}";
	expect_at(t, "\"\"}", 0, "$.metadata.name", "invalid name \"\": "
	    "use 1-63 letters, digits, '.', '_' or '-'");
}

static void
test_duplicates(void **state)
{
	struct policy_set	*ps = policy_set_new();
	struct errlist		 el;
	const char		*a = POL("{\"selector\":\"\"}");
	const char		*b = "[\n" POL("{\"selector\":\"has(x)\"}") "]";

	errlist_init(&el);
	assert_int_equal(policy_load_buffer(ps, "a.json", a, strlen(a), &el),
	    0);
	assert_int_equal(policy_load_buffer(ps, "b.json", b, strlen(b), &el),
	    0);
	assert_int_equal(policy_set_finish(ps, &el), 1);
	assert_int_equal(el.n, 1);
	/* Located at the second one, pointing back at the first. */
	assert_string_equal(el.v[0], "b.json:2:64: $[0].metadata.name: "
	    "duplicate policy name \"p\" (first defined at a.json:1:64)");
	errlist_release(&el);
	policy_set_free(ps);

	expect("[{\"apiVersion\":\"v1\",\"kind\":\"Namespace\",\"metadata\":"
	    "{\"name\":\"n\"}},\n{\"apiVersion\":\"v1\",\"kind\":\"Namespace\","
	    "\"metadata\":{\"name\":\"n\"}}]", "t.json:2:58: $[1].metadata.name: "
	    "duplicate namespace \"n\" (first defined at t.json:1:59)");
}

static void
test_namespace_errors(void **state)
{
	const char	*t;

	t = "{\"apiVersion\":\"v1\",\"kind\":\"Namespace\",\"metadata\":"
	    "{\"name\":\"n\",\"labels\":{\"env\":1}}}";
	expect_at(t, "1}", 0, "$.metadata.labels.env", "expected a string, "
	    "found an integer");
	t = "{\"apiVersion\":\"v1\",\"kind\":\"Namespace\",\"metadata\":"
	    "{\"name\":\"n\",\"labels\":{\"a.b/c\":false}}}";
	expect_at(t, "false", 0, "$.metadata.labels[\"a.b/c\"]", "expected a "
	    "string, found a boolean");
	t = "{\"apiVersion\":\"v1\",\"kind\":\"Namespace\",\"metadata\":{}}";
	expect_at(t, "{}", 0, "$.metadata.name", "missing required field");
}

/* Every error of a text is reported, not just the first. */
static void
test_all_errors_reported(void **state)
{
	struct policy_set	*ps = policy_set_new();
	struct errlist		 el;
	const char		*t = "[" POL("{\"selector\":\"a ==\",\"order\":"
	    "\"x\",\"ingress\":[{\"action\":\"x\",\"protocol\":\"y\"}]}") ","
	    "{\"apiVersion\":\"v2\"},"
	    POL("{\"selector\":\"\"}") "]";

	errlist_init(&el);
	assert_int_equal(policy_load_buffer(ps, "t.json", t, strlen(t), &el),
	    5);
	assert_int_equal(el.n, 5);
	/* Only the good policy made it into the set. */
	assert_int_equal(ps->n, 1);
	errlist_release(&el);
	policy_set_free(ps);
}

/* ---- the rules directory ---- */

static char	tmpdir[64];

static void
write_file(const char *name, const char *text, mode_t mode)
{
	char	*path = xasprintf("%s/%s", tmpdir, name);
	FILE	*f = fopen(path, "w");

	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	assert_int_equal(chmod(path, mode), 0);
	free(path);
}

static void
remove_file(const char *name)
{
	char	*path = xasprintf("%s/%s", tmpdir, name);

	unlink(path);
	free(path);
}

static char *
load_dir(struct policy_set **out)
{
	struct errlist	 el;
	char		*all;
	int		 rc;

	errlist_init(&el);
	rc = policy_load_dir(tmpdir, out, &el);
	all = errlist_join(&el);
	assert_int_equal(rc, el.n ? -1 : 0);
	if (rc == -1)
		assert_null(*out);
	errlist_release(&el);
	return all;
}

static int
dir_setup(void **state)
{
	char	*sub;

	strlcpy_bh(tmpdir, "/tmp/bh-policy-XXXXXX", sizeof(tmpdir));
	if (mkdtemp(tmpdir) == NULL)
		return -1;
	write_file("20-b.json", POL("{\"selector\":\"\",\"order\":1}"),
	    0644);
	write_file("10-a.json", "[{\"apiVersion\":\"bulkhead/v1\",\"kind\":"
	    "\"Policy\",\"metadata\":{\"name\":\"a\"},\"spec\":{\"selector\":"
	    "\"\"}},{\"apiVersion\":\"v1\",\"kind\":\"Namespace\",\"metadata\":"
	    "{\"name\":\"prod\"}}]", 0600);
	write_file("README.md", "not rules", 0666);
	write_file(".10-a.json.swp", "junk", 0666);
	sub = xasprintf("%s/old", tmpdir);
	mkdir(sub, 0755);
	free(sub);
	return 0;
}

static int
dir_teardown(void **state)
{
	char	*cmd = xasprintf("rm -rf '%s'", tmpdir);
	int	 rc = system(cmd);

	free(cmd);
	return rc == 0 ? 0 : -1;
}

static void
test_dir_ok(void **state)
{
	struct policy_set	*ps;
	char			*errs = load_dir(&ps);

	assert_string_equal(errs, "");
	free(errs);
	assert_non_null(ps);
	assert_int_equal(ps->n, 2);
	assert_string_equal(ps->v[0]->name, "p");	/* order 1 */
	assert_string_equal(ps->v[1]->name, "a");
	assert_int_equal(ps->nnamespaces, 1);
	policy_set_free(ps);
}

static void
test_dir_errors(void **state)
{
	struct policy_set	*ps;
	char			*errs, *want;

	write_file("notes.txt", "x", 0644);
	write_file("30-open.json", POL("{\"selector\":\"\"}"), 0666);
	write_file("40-bad.json", "{\n\"apiVersion\": \"bulkhead/v1\"\n}", 0644);
	errs = load_dir(&ps);
	/* Every file's errors, in name order. */
	want = xasprintf(
	    "%s/30-open.json: refusing a policy file writable by others "
	    "(mode 0666)\n"
	    "%s/40-bad.json:1:1: $.kind: missing required field\n"
	    "%s/notes.txt: not a *.json file", tmpdir, tmpdir, tmpdir);
	assert_string_equal(errs, want);
	free(errs);
	free(want);

	/* Group-writable is refused too, and so is a duplicate across files. */
	remove_file("notes.txt");
	remove_file("40-bad.json");
	write_file("30-open.json", POL("{\"selector\":\"\"}"), 0664);
	write_file("30-open.json", POL("{\"selector\":\"\"}"), 0664);
	errs = load_dir(&ps);
	want = xasprintf("%s/30-open.json: refusing a policy file writable by "
	    "others (mode 0664)", tmpdir);
	assert_string_equal(errs, want);
	free(errs);
	free(want);

	write_file("30-open.json", POL("{\"selector\":\"\"}"), 0644);
	errs = load_dir(&ps);
	want = xasprintf("%s/30-open.json:1:64: $.metadata.name: duplicate "
	    "policy name \"p\" (first defined at %s/20-b.json:1:64)", tmpdir,
	    tmpdir);
	assert_string_equal(errs, want);
	free(errs);
	free(want);
	remove_file("30-open.json");
}

static void
test_dir_writable(void **state)
{
	struct policy_set	*ps;
	char			*errs, *want;

	assert_int_equal(chmod(tmpdir, 0777), 0);
	errs = load_dir(&ps);
	want = xasprintf("%s: refusing a policy directory writable by others "
	    "(mode 0777)", tmpdir);
	assert_string_equal(errs, want);
	free(errs);
	free(want);
	assert_int_equal(chmod(tmpdir, 0700), 0);
}

static void
test_dir_missing(void **state)
{
	struct policy_set	*ps = (void *)1;
	struct errlist		 el;

	errlist_init(&el);
	assert_int_equal(policy_load_dir("/nonexistent/bulkhead", &ps, &el),
	    -1);
	assert_null(ps);
	assert_string_equal(el.v[0], "/nonexistent/bulkhead: open failed: "
	    "No such file or directory");
	errlist_release(&el);
}

/*
 * Errors in a long array are located element by element (policy.c walks
 * the array once); each must be where a scan of the whole file puts it.
 */
static void
test_array_locations(void **state)
{
	const char *text =
	    "  [{\"apiVersion\":\"bulkhead/v1\",\"kind\":\"Policy\",\"metadata\":"
	    "{\"name\":1}},\n"
	    "   {\"apiVersion\":\"bulkhead/v1\",\"kind\":\"Policy\",\n"
	    "    \"metadata\":{\"name\":\"b\"},\"spec\":{\"selector\":\"all()\","
	    "\"order\":\"x\"}}, {\"apiVersion\":\"bulkhead/v1\",\"kind\":\"Policy\","
	    "\"metadata\":{\"name\":\"c\"},\"spec\":{\"selector\":\"all()\"}},\n"
	    "\t{\"apiVersion\":\"bulkhead/v1\",\"kind\":\"Policy\",\"metadata\":"
	    "{\"name\":\"d\"},\"spec\":{\"selector\":\"all()\",\"ingress\":[{\"action\":"
	    "\"allow\",\"protocol\":true}]}}]";
	char	*errs = load(text, NULL), *line, *save = NULL;
	int	 n = 0;

	(void)state;
	for (line = strtok_r(errs, "\n", &save); line;
	    line = strtok_r(NULL, "\n", &save)) {
		int	 l, c, wl, wc;
		char	 path[128];

		if (sscanf(line, "t.json:%d:%d: %127[^:]:", &l, &c, path) != 3)
			fail_msg("unexpected error line: %s", line);
		assert_true(jsonloc_find(text, strlen(text), path, &wl, &wc) >= 0);
		if (l != wl || c != wc)
			fail_msg("%s: at %d:%d, a whole-file scan says %d:%d", path,
			    l, c, wl, wc);
		n++;
	}
	if (n != 4)
		fail_msg("want 4 errors, got %d", n);
	free(errs);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_valid_full),
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_order_sort),
		cmocka_unit_test(test_namespaces),
		cmocka_unit_test(test_k8s_loaded),
		cmocka_unit_test(test_enum_strings),
		cmocka_unit_test(test_malformed_json),
		cmocka_unit_test(test_top_level),
		cmocka_unit_test(test_array_locations),
		cmocka_unit_test(test_unknown_fields),
		cmocka_unit_test(test_wrong_types),
		cmocka_unit_test(test_missing_fields),
		cmocka_unit_test(test_bad_selector),
		cmocka_unit_test(test_bad_protocol),
		cmocka_unit_test(test_bad_ports),
		cmocka_unit_test(test_bad_host_ports),
		cmocka_unit_test(test_bad_cidr),
		cmocka_unit_test(test_bad_icmp_and_version),
		cmocka_unit_test(test_bad_enums),
		cmocka_unit_test(test_bad_names),
		cmocka_unit_test(test_duplicates),
		cmocka_unit_test(test_namespace_errors),
		cmocka_unit_test(test_all_errors_reported),
		/* The rules directory of the group setup. */
		cmocka_unit_test(test_dir_ok),
		cmocka_unit_test(test_dir_errors),
		cmocka_unit_test(test_dir_writable),
		cmocka_unit_test(test_dir_missing),
	};

	return cmocka_run_group_tests(tests, dir_setup, dir_teardown);
}
