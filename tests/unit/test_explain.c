/*
 * test_explain.c: `bulkhead explain` on hand-built policy sets and
 * inventories: the verdict and the path to it (policies and rules in
 * order, matched or why not, not reached), locations of the rules,
 * endpoint resolution (name, id, address, host, world, labels:), the
 * control request round trip, the text (golden), and agreement with the
 * evaluator on every flow of a small matrix.
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

#include "errlist.h"
#include "evaluate.h"
#include "explain.h"
#include "inventory.h"
#include "policy.h"
#include "quarantine.h"
#include "snapshot.h"
#include "util.h"

/* Line numbers matter: the tests check where rules are defined. */
static const char rules_json[] =
"[\n"								/* 1 */
"{\"apiVersion\": \"bulkhead/v1\", \"kind\": \"Policy\",\n"	/* 2 */
" \"metadata\": {\"name\": \"db-in\"},\n"			/* 3 */
" \"spec\": {\"selector\": \"app == 'db'\", \"order\": 10,\n"	/* 4 */
"  \"ingress\": [\n"						/* 5 */
"   {\"action\": \"log\", \"protocol\": \"tcp\"},\n"		/* 6 */
"   {\"action\": \"deny\", \"protocol\": \"tcp\",\n"		/* 7 */
"    \"source\": {\"selector\": \"app == 'web'\"}},\n"		/* 8 */
"   {\"action\": \"allow\", \"protocol\": \"tcp\",\n"		/* 9 */
"    \"source\": {\"selector\": \"app == 'api'\"},\n"		/* 10 */
"    \"destination\": {\"ports\": [5432]}}]}},\n"		/* 11 */
"{\"apiVersion\": \"bulkhead/v1\", \"kind\": \"Policy\",\n"	/* 12 */
" \"metadata\": {\"name\": \"db-later\"},\n"			/* 13 */
" \"spec\": {\"selector\": \"app == 'db'\", \"order\": 20,\n"	/* 14 */
"  \"ingress\": [{\"action\": \"allow\"}]}},\n"			/* 15 */
"{\"apiVersion\": \"bulkhead/v1\", \"kind\": \"Policy\",\n"	/* 16 */
" \"metadata\": {\"name\": \"db-no-egress\"},\n"		/* 17 */
" \"spec\": {\"selector\": \"app == 'db'\", \"types\": [\"egress\"],\n"
"  \"egress\": []}},\n"						/* 19 */
"{\"apiVersion\": \"bulkhead/v1\", \"kind\": \"Policy\",\n"	/* 20 */
" \"metadata\": {\"name\": \"aud-watch\"},\n"			/* 21 */
" \"spec\": {\"selector\": \"app == 'aud'\", \"mode\": \"audit\",\n"
"  \"ingress\": [{\"action\": \"allow\", \"protocol\": \"tcp\",\n"
"                \"destination\": {\"ports\": [1]}}]}},\n"	/* 24 */
"{\"apiVersion\": \"bulkhead/v1\", \"kind\": \"Policy\",\n"	/* 25 */
" \"metadata\": {\"name\": \"web-out\"},\n"			/* 26 */
" \"spec\": {\"selector\": \"app == 'web'\", \"types\": [\"egress\"],\n"
"  \"egress\": [{\"action\": \"allow\", \"protocol\": \"udp\"},\n"	/* 28 */
"              {\"action\": \"allow\", \"protocol\": \"tcp\",\n"	/* 29 */
"               \"destination\": {\"nets\": [\"172.17.0.0/16\"]}},\n"
"              {\"action\": \"allow\", \"protocol\": \"tcp\",\n"	/* 31 */
"               \"destination\": {\"entity\": \"host\"}}]}}\n"	/* 32 */
"]\n";

static const char inventory_json[] =
"{\"containers\": [\n"
" {\"id\": \"aaaaaaaaaaaa1111\", \"name\": \"db\", \"labels\": {\"app\": \"db\"},\n"
"  \"endpoints\": [{\"network\": \"bridge\", \"ipv4\": \"172.17.0.2\"}]},\n"
" {\"id\": \"bbbbbbbbbbbb2222\", \"name\": \"api\", \"labels\": {\"app\": \"api\"},\n"
"  \"endpoints\": [{\"network\": \"bridge\", \"ipv4\": \"172.17.0.3\"},\n"
"                {\"network\": \"back\", \"ipv4\": \"10.9.0.3\"}]},\n"
" {\"id\": \"cccccccccccc3333\", \"name\": \"web\", \"labels\": {\"app\": \"web\"},\n"
"  \"endpoints\": [{\"network\": \"bridge\", \"ipv4\": \"172.17.0.4\"}]},\n"
" {\"id\": \"dddddddddddd4444\", \"name\": \"free\", \"labels\": {\"app\": \"free\"},\n"
"  \"endpoints\": [{\"network\": \"bridge\", \"ipv4\": \"172.17.0.5\"}]},\n"
" {\"id\": \"eeeeeeeeeeee5555\", \"name\": \"aud\", \"labels\": {\"app\": \"aud\"},\n"
"  \"endpoints\": [{\"network\": \"bridge\", \"ipv4\": \"172.17.0.6\"}]},\n"
" {\"id\": \"ffffffffffff6666\", \"name\": \"hostnet\", \"labels\": {\"app\": \"free\"},\n"
"  \"network_mode\": \"host\", \"endpoints\": []}\n"
"]}\n";

static struct policy_set	*ps;
static struct inventory		 inv;

static int
setup(void **state)
{
	struct errlist	el;
	char		err[256];

	ps = policy_set_new();
	errlist_init(&el);
	if (policy_load_buffer(ps, "t.json", rules_json, strlen(rules_json),
	    &el) || policy_set_finish(ps, &el))
		fail_msg("rules do not load:\n%s", errlist_join(&el));
	errlist_release(&el);
	inventory_init(&inv);
	if (snapshot_load(inventory_json, strlen(inventory_json), &inv, err,
	    sizeof(err)) == -1)
		fail_msg("inventory does not load: %s", err);
	return 0;
}

static int
teardown(void **state)
{
	policy_set_free(ps);
	inventory_release(&inv);
	return 0;
}

/* Explains src -> dst over proto (NULL: none) to port (-1: none). */
static json_t *
ask(const char *src, const char *dst, const char *proto, int port)
{
	struct explain_query	q;
	json_t			*ans;

	explain_query_init(&q);
	q.src = src;
	q.dst = dst;
	q.port = port;
	if (proto)
		q.protocol = explain_proto_parse(proto);
	ans = explain_answer(ps, &inv, &q);
	assert_non_null(ans);
	return ans;
}

/* The string at a JSON pointer-like path of keys and [n] indices. */
static json_t *
at(json_t *o, const char *path)
{
	char	*copy = xstrdup(path), *rest = copy, *k;

	while (o && (k = strsep(&rest, ".")) != NULL) {
		if (*k >= '0' && *k <= '9')
			o = json_array_get(o, (size_t)atoi(k));
		else
			o = json_object_get(o, k);
	}
	free(copy);
	return o;
}

static const char *
str(json_t *o, const char *path)
{
	const char	*s = json_string_value(at(o, path));

	if (s == NULL)
		fail_msg("no string at %s", path);
	return s;
}

static long long
num(json_t *o, const char *path)
{
	json_t	*v = at(o, path);

	if (!json_is_integer(v))
		fail_msg("no integer at %s", path);
	return json_integer_value(v);
}

static void
test_allowed_by_rule(void **state)
{
	json_t	*a = ask("api", "db", "tcp", 5432);

	assert_true(json_is_true(at(a, "ok")));
	assert_string_equal(str(a, "verdict"), "allowed");
	assert_true(json_is_true(at(a, "allowed")));
	assert_string_equal(str(a, "egress.outcome"), "untouched");
	assert_string_equal(str(a, "egress.reason"), "not-selected");
	assert_string_equal(str(a, "ingress.reason"), "rule");
	assert_string_equal(str(a, "ingress.policy"), "db-in");
	assert_int_equal(num(a, "ingress.rule"), 2);
	assert_string_equal(str(a, "ingress.location"), "t.json:9:4");
	/* The log rule matched and went on; the deny did not match. */
	assert_string_equal(str(a, "ingress.policies.0.rules.0.status"),
	    "matched");
	assert_true(json_is_true(at(a, "ingress.policies.0.rules.0.log")));
	assert_string_equal(str(a, "ingress.policies.0.rules.1.status"),
	    "no-match");
	assert_string_equal(str(a, "ingress.policies.0.rules.1.why_not"),
	    "source api does not match [app == 'web']");
	assert_string_equal(str(a, "ingress.policies.0.rules.1.location"),
	    "t.json:7:4");
	assert_string_equal(str(a, "ingress.policies.0.rules.2.text"),
	    "allow tcp from [app == 'api'] to port 5432");
	assert_string_equal(str(a, "ingress.policies.0.outcome"), "allow");
	/* The later policy was never considered. */
	assert_string_equal(str(a, "ingress.policies.1.name"), "db-later");
	assert_string_equal(str(a, "ingress.policies.1.outcome"),
	    "not-reached");
	assert_string_equal(str(a, "ingress.policies.1.rules.0.status"),
	    "not-reached");
	assert_null(at(a, "denied_by"));
	assert_int_equal(json_array_size(at(a, "would_deny")), 0);
	json_decref(a);
}

static void
test_denied_by_rule(void **state)
{
	json_t	*a = ask("web", "db", "tcp", 5432);

	assert_string_equal(str(a, "verdict"), "denied");
	assert_false(json_is_true(at(a, "allowed")));
	assert_string_equal(str(a, "denied_by.direction"), "ingress");
	assert_string_equal(str(a, "denied_by.policy"), "db-in");
	assert_int_equal(num(a, "denied_by.rule"), 1);
	assert_string_equal(str(a, "denied_by.location"), "t.json:7:4");
	/* The allow after the deny was not reached. */
	assert_string_equal(str(a, "ingress.policies.0.rules.2.status"),
	    "not-reached");
	/* web's egress: tcp to a 172.17/16 address is allowed by rule 1. */
	assert_string_equal(str(a, "egress.policy"), "web-out");
	assert_int_equal(num(a, "egress.rule"), 1);
	assert_string_equal(str(a, "egress.policies.0.rules.0.why_not"),
	    "protocol tcp, the rule is for udp");
	json_decref(a);
}

static void
test_default_deny(void **state)
{
	json_t	*a = ask("db", "free", "tcp", 80);

	assert_string_equal(str(a, "verdict"), "denied");
	assert_string_equal(str(a, "denied_by.direction"), "egress");
	assert_string_equal(str(a, "denied_by.policy"), "db-no-egress");
	assert_null(at(a, "denied_by.rule"));
	assert_string_equal(str(a, "denied_by.location"), "t.json:16:1");
	assert_string_equal(str(a, "egress.reason"), "default-deny");
	assert_string_equal(str(a, "ingress.outcome"), "untouched");
	json_decref(a);
}

static void
test_untouched(void **state)
{
	json_t	*a = ask("free", "api", "tcp", 8080);

	assert_string_equal(str(a, "verdict"), "untouched");
	assert_true(json_is_true(at(a, "allowed")));
	assert_int_equal(json_array_size(at(a, "egress.policies")), 0);
	assert_int_equal(json_array_size(at(a, "ingress.policies")), 0);
	json_decref(a);
}

static void
test_audit_would_deny(void **state)
{
	json_t	*a = ask("free", "aud", "tcp", 7000);

	assert_string_equal(str(a, "verdict"), "audit-would-deny");
	assert_true(json_is_true(at(a, "allowed")));
	assert_string_equal(str(a, "ingress.reason"), "audit-only");
	assert_string_equal(str(a, "ingress.policies.0.outcome"), "would-deny");
	assert_string_equal(str(a, "ingress.policies.0.rules.0.why_not"),
	    "destination port 7000 is not in ports");
	assert_string_equal(str(a, "would_deny.0.policy"), "aud-watch");
	assert_string_equal(str(a, "would_deny.0.direction"), "ingress");
	assert_null(at(a, "would_deny.0.rule"));
	json_decref(a);
	/* Its allow matches: allowed, nothing would be denied. */
	a = ask("free", "aud", "tcp", 1);
	assert_string_equal(str(a, "verdict"), "allowed");
	assert_string_equal(str(a, "ingress.policies.0.outcome"),
	    "audit-allow");
	assert_int_equal(num(a, "ingress.policies.0.rule"), 0);
	json_decref(a);
}

static void
test_why_not(void **state)
{
	json_t	*a;

	/* No port: a rule with ports cannot match. */
	a = ask("api", "db", "tcp", -1);
	assert_string_equal(str(a, "verdict"), "allowed");	/* db-later */
	assert_string_equal(str(a, "ingress.policies.0.rules.2.why_not"),
	    "destination port not given (--port), the rule has ports");
	assert_string_equal(str(a, "ingress.policies.0.outcome"), "no-match");
	assert_string_equal(str(a, "ingress.policies.1.outcome"), "allow");
	json_decref(a);
	/* No protocol. */
	a = ask("web", "host", NULL, -1);
	assert_string_equal(str(a, "egress.policies.0.rules.0.why_not"),
	    "the rule is for udp, no protocol given (--proto)");
	assert_string_equal(str(a, "verdict"), "denied");
	json_decref(a);
	/* nets: the world address is outside 172.17/16; entity host. */
	a = ask("web", "8.8.8.8", "tcp", 443);
	assert_string_equal(str(a, "destination.kind"), "world");
	assert_string_equal(str(a, "egress.policies.0.rules.1.why_not"),
	    "destination address 8.8.8.8 is not in nets");
	assert_string_equal(str(a, "egress.policies.0.rules.2.why_not"),
	    "destination world is not it, the rule wants the host");
	assert_string_equal(str(a, "verdict"), "denied");
	json_decref(a);
	/* ... and the host is allowed by rule 2. */
	a = ask("web", "host", "tcp", 22);
	assert_string_equal(str(a, "verdict"), "allowed");
	assert_int_equal(num(a, "egress.rule"), 2);
	assert_string_equal(str(a, "ingress.reason"), "not-container");
	json_decref(a);
}

static void
test_endpoints(void **state)
{
	json_t	*a;

	/* By address (the second network of api), by id prefix. */
	a = ask("10.9.0.3", "aaaaaaaaaaaa", "tcp", 5432);
	assert_string_equal(str(a, "source.name"), "api");
	assert_string_equal(str(a, "source.address"), "10.9.0.3");
	assert_string_equal(str(a, "source.id"), "bbbbbbbbbbbb2222");
	assert_string_equal(str(a, "destination.name"), "db");
	assert_string_equal(str(a, "verdict"), "allowed");
	json_decref(a);
	/* ip:, container:, host:ADDR, world. */
	a = ask("ip:172.17.0.4", "container:db", "tcp", 5432);
	assert_string_equal(str(a, "source.name"), "web");
	json_decref(a);
	a = ask("host:172.17.0.1", "world", NULL, -1);
	assert_string_equal(str(a, "source.kind"), "host");
	assert_string_equal(str(a, "source.address"), "172.17.0.1");
	assert_string_equal(str(a, "destination.kind"), "world");
	assert_string_equal(str(a, "verdict"), "untouched");
	json_decref(a);
	/* A container to be, by its labels. */
	a = ask("labels:app=api,tier=back", "db", "tcp", 5432);
	assert_string_equal(str(a, "source.kind"), "container");
	assert_non_null(at(a, "source.warning"));
	assert_string_equal(str(a, "verdict"), "allowed");
	json_decref(a);
	/* Unsegmentable containers are flagged. */
	a = ask("hostnet", "db", "tcp", 5432);
	assert_non_null(strstr(str(a, "source.warning"), "not enforced"));
	json_decref(a);
	/* Unknown names and bad labels are errors. */
	a = ask("nosuch", "db", "tcp", 5432);
	assert_true(json_is_false(at(a, "ok")));
	assert_string_equal(str(a, "error"),
	    "nosuch: no container with this name or id");
	json_decref(a);
	a = ask("labels:novalue", "db", "tcp", 5432);
	assert_true(json_is_false(at(a, "ok")));
	json_decref(a);
	a = ask("host:notanip", "db", "tcp", 5432);
	assert_true(json_is_false(at(a, "ok")));
	json_decref(a);
}

static void
test_query_check(void **state)
{
	struct explain_query	q;
	char			err[128];

	assert_int_equal(explain_proto_parse("tcp"), IPPROTO_TCP);
	assert_int_equal(explain_proto_parse("icmpv6"), IPPROTO_ICMPV6);
	assert_int_equal(explain_proto_parse("47"), 47);
	assert_int_equal(explain_proto_parse("0"), -1);
	assert_int_equal(explain_proto_parse("256"), -1);
	assert_int_equal(explain_proto_parse("tcpx"), -1);
	explain_query_init(&q);
	q.port = 80;
	assert_int_equal(explain_query_check(&q, err, sizeof(err)), 0);
	assert_int_equal(q.protocol, IPPROTO_TCP);
	q.protocol = IPPROTO_ICMP;
	assert_int_equal(explain_query_check(&q, err, sizeof(err)), -1);
	assert_string_equal(err, "ports need protocol tcp, udp or sctp");
	q.port = -1;
	q.ip_version = 6;
	assert_int_equal(explain_query_check(&q, err, sizeof(err)), -1);
	q.ip_version = 5;
	q.protocol = 0;
	assert_int_equal(explain_query_check(&q, err, sizeof(err)), -1);
	q.ip_version = 0;
	q.icmp_type = 8;
	assert_int_equal(explain_query_check(&q, err, sizeof(err)), -1);
	q.protocol = IPPROTO_ICMP;
	assert_int_equal(explain_query_check(&q, err, sizeof(err)), 0);
}

/* The daemon's answer to the CLI's request is the offline answer. */
static void
test_request_round_trip(void **state)
{
	struct explain_query	 q;
	json_t			*req, *online, *offline;
	char			*text;

	explain_query_init(&q);
	q.src = "web";
	q.dst = "db";
	q.protocol = IPPROTO_TCP;
	q.port = 5432;
	q.sport = 40000;
	req = explain_request(&q);
	text = json_dumps(req, JSON_COMPACT);
	assert_string_equal(text, "{\"cmd\":\"explain\",\"src\":\"web\","
	    "\"dst\":\"db\",\"protocol\":\"tcp\",\"port\":5432,"
	    "\"sport\":40000}");
	free(text);
	online = explain_handle(ps, &inv, req);
	offline = explain_answer(ps, &inv, &q);
	assert_true(json_equal(online, offline));
	json_decref(online);
	json_decref(offline);
	json_object_set_new(req, "port", json_string("80"));
	online = explain_handle(ps, &inv, req);
	assert_true(json_is_false(at(online, "ok")));
	json_decref(online);
	json_object_del(req, "src");
	online = explain_handle(ps, &inv, req);
	assert_true(json_is_false(at(online, "ok")));
	json_decref(online);
	json_decref(req);
}

static void
render_is(json_t *a, const char *want)
{
	struct strbuf	sb;

	strbuf_init(&sb);
	explain_render(a, &sb);
	if (strcmp(sb.buf, want) != 0)
		fail_msg("rendered:\n%s\nwanted:\n%s", sb.buf, want);
	strbuf_release(&sb);
	json_decref(a);
}

/* A quarantined end: denied by the quarantine, whatever the policies say. */
static void
test_quarantine(void **state)
{
	struct quarantine	 q;
	struct strbuf		 sb;
	json_t			*a;

	quarantine_init(&q, NULL);
	quarantine_put(&q, "cccccccccccc3333", "web", "incident 9", 0);
	a = ask("api", "free", "tcp", 80);	/* neither end: unchanged */
	explain_quarantine(a, &q);
	assert_string_equal(str(a, "verdict"), "untouched");
	assert_null(json_object_get(a, "quarantine"));
	json_decref(a);
	a = ask("api", "web", "tcp", 80);
	explain_quarantine(a, NULL);
	assert_string_equal(str(a, "verdict"), "untouched");
	explain_quarantine(a, &q);
	assert_string_equal(str(a, "verdict"), "quarantined");
	assert_true(json_is_false(json_object_get(a, "allowed")));
	assert_string_equal(str(a, "quarantine.side"), "destination");
	assert_string_equal(str(a, "quarantine.container"), "web");
	assert_string_equal(str(a, "quarantine.reason"), "incident 9");
	strbuf_init(&sb);
	explain_render(a, &sb);
	assert_non_null(strstr(sb.buf, "\nverdict: DENIED by the quarantine "
	    "of web (incident 9): it comes before every policy\n"));
	strbuf_release(&sb);
	json_decref(a);
	a = ask("web", "nosuch", "tcp", 80);	/* an error stays one */
	explain_quarantine(a, &q);
	assert_true(json_is_false(json_object_get(a, "ok")));
	assert_null(json_object_get(a, "verdict"));
	json_decref(a);
	quarantine_release(&q);
}

static void
test_render(void **state)
{
	render_is(ask("web", "db", "tcp", 5432),
"explain: web (172.17.0.4) -> db (172.17.0.2), ipv4 tcp port 5432\n"
"egress of web (172.17.0.4):\n"
"  policy web-out (order 1000, enforce, [app == 'web'])  t.json:25:1\n"
"    #0 allow udp  t.json:28:14\n"
"       no match: protocol tcp, the rule is for udp\n"
"    #1 allow tcp to nets 172.17.0.0/16  t.json:29:15\n"
"       MATCH: allows\n"
"    #2 allow tcp to host  t.json:31:15\n"
"       not reached\n"
"  => allowed by policy web-out rule #1 (t.json:29:15)\n"
"ingress of db (172.17.0.2):\n"
"  policy db-in (order 10, enforce, [app == 'db'])  t.json:2:1\n"
"    #0 log tcp  t.json:6:4\n"
"       MATCH: logged, goes on\n"
"    #1 deny tcp from [app == 'web']  t.json:7:4\n"
"       MATCH: denies\n"
"    #2 allow tcp from [app == 'api'] to port 5432  t.json:9:4\n"
"       not reached\n"
"  policy db-later (order 20, enforce, [app == 'db'])  t.json:12:1\n"
"    not reached: decided above\n"
"  => DENIED by policy db-in rule #1 (t.json:7:4)\n"
"verdict: DENIED by policy db-in (ingress of db, rule #1 at t.json:7:4)\n");
	render_is(ask("free", "aud", "tcp", 7000),
"explain: free (172.17.0.5) -> aud (172.17.0.6), ipv4 tcp port 7000\n"
"egress of free (172.17.0.5): untouched, no policy selects it\n"
"ingress of aud (172.17.0.6):\n"
"  policy aud-watch (order 1000, audit, [app == 'aud'])  t.json:20:1\n"
"    #0 allow tcp to port 1  t.json:23:15\n"
"       no match: destination port 7000 is not in ports\n"
"    audit: no rule allows it, would deny; goes on with the next policy\n"
"  => allowed: only audit policies select it\n"
"verdict: allowed, but audit policy aud-watch would deny it (ingress, "
"t.json:20:1)\n");
	render_is(ask("free", "api", "tcp", 8080),
"explain: free (172.17.0.5) -> api (172.17.0.3), ipv4 tcp port 8080\n"
"egress of free (172.17.0.5): untouched, no policy selects it\n"
"ingress of api (172.17.0.3): untouched, no policy selects it\n"
"verdict: allowed (untouched: no policy applies to either side)\n");
	render_is(ask("db", "host", "udp", 53),
"explain: db (172.17.0.2) -> host, ipv4 udp port 53\n"
"egress of db (172.17.0.2):\n"
"  policy db-no-egress (order 1000, enforce, [app == 'db'])  t.json:16:1\n"
"    (no rules)\n"
"  => DENIED: no rule allows it (default deny, logged as policy "
"db-no-egress, t.json:16:1)\n"
"ingress of host: untouched, the host is not a container\n"
"verdict: DENIED by policy db-no-egress (egress of db, default deny: no "
"rule allows it)\n");
}

/* Rule texts and why-not texts of the other peer criteria. */
static void
test_peer_criteria(void **state)
{
	static const char	 more[] =
	    "{\"apiVersion\": \"bulkhead/v1\", \"kind\": \"Policy\",\n"
	    " \"metadata\": {\"name\": \"p\"},\n"
	    " \"spec\": {\"selector\": \"app == 'db'\", \"ingress\": [\n"
	    "  {\"action\": \"allow\", \"protocol\": \"tcp\", \"source\": {\n"
	    "   \"namespaceSelector\": \"env == 'prod'\"}},\n"
	    "  {\"action\": \"allow\", \"protocol\": \"tcp\", \"source\": {\n"
	    "   \"notNets\": [\"172.17.0.0/24\"]}, \"destination\": {\n"
	    "   \"ports\": [\"5000:5999\", 80], \"notPorts\": [5432]}},\n"
	    "  {\"action\": \"allow\", \"protocol\": \"tcp\", \"ipVersion\": 6},\n"
	    "  {\"action\": \"allow\", \"protocol\": \"icmp\",\n"
	    "   \"icmp\": {\"type\": 8}},\n"
	    "  {\"action\": \"allow\", \"source\": {\"entity\": \"world\"}}]}}\n";
	struct policy_set	*saved = ps;
	struct errlist		 el;
	json_t			*a, *r;

	ps = policy_set_new();
	errlist_init(&el);
	if (policy_load_buffer(ps, "m.json", more, strlen(more), &el) ||
	    policy_set_finish(ps, &el))
		fail_msg("rules do not load:\n%s", errlist_join(&el));
	errlist_release(&el);
	a = ask("api", "db", "tcp", 5432);
	r = at(a, "ingress.policies.0.rules");
	assert_string_equal(str(r, "0.text"),
	    "allow tcp from namespace [env == 'prod']");
	assert_string_equal(str(r, "0.why_not"), "source api is in namespace "
	    "default, which does not match [env == 'prod']");
	assert_string_equal(str(r, "1.text"), "allow tcp from not nets "
	    "172.17.0.0/24 to port 5000-5999,80 not port 5432");
	assert_string_equal(str(r, "1.why_not"),
	    "source address 172.17.0.3 is in notNets");
	assert_string_equal(str(r, "2.text"), "allow tcp ipv6");
	assert_string_equal(str(r, "2.why_not"),
	    "the flow is IPv4, the rule is for IPv6");
	assert_string_equal(str(r, "3.text"), "allow icmp type 8");
	assert_string_equal(str(r, "3.why_not"),
	    "protocol tcp, the rule is for icmp");
	assert_string_equal(str(r, "4.text"), "allow from world");
	assert_string_equal(str(r, "4.why_not"),
	    "source api is a container, the rule wants the world");
	assert_string_equal(str(a, "verdict"), "denied");
	json_decref(a);
	a = ask("host", "db", "icmp", -1);
	assert_string_equal(str(a, "ingress.policies.0.rules.3.why_not"),
	    "the rule wants icmp type 8, none given");
	assert_string_equal(str(a, "ingress.policies.0.rules.0.why_not"),
	    "protocol icmp, the rule is for tcp");
	json_decref(a);
	policy_set_free(ps);
	ps = saved;
}

/* The evaluator's endpoint for a spec of the matrix below. */
static void
mkep(struct eval_endpoint *ep, const char *spec)
{
	const struct container	*ct = inventory_get(&inv, spec);
	struct in_addr		 w = { htonl(0x01020304) };

	if (ct != NULL) {
		evaluate_endpoint_container(ep, ct);
		return;
	}
	evaluate_endpoint_init(ep, strcmp(spec, "host") ? EVAL_WORLD :
	    EVAL_HOST);
	if (ep->kind == EVAL_WORLD)
		evaluate_endpoint_add_addr(ep, AF_INET, &w);
}

/* The deciding rule of a direction is listed as matched in its policy. */
static void
decider_matched(json_t *a, const struct eval_verdict *v)
{
	json_t	*pols = at(a, pol_dir_str(v->dir)), *p;
	size_t	 i;

	if (v->reason != EVAL_RULE)
		return;
	assert_int_equal(num(pols, "rule"), v->rule);
	assert_string_equal(str(pols, "policy"), v->policy->name);
	json_array_foreach(json_object_get(pols, "policies"), i, p) {
		if (strcmp(str(p, "name"), v->policy->name) != 0)
			continue;
		assert_string_equal(str(json_array_get(json_object_get(p,
		    "rules"), (size_t)v->rule), "status"), "matched");
		return;
	}
	fail_msg("deciding policy %s not listed", v->policy->name);
}

/*
 * Over a matrix of flows, explain's verdict is the evaluator's, and the
 * deciding rule is shown as matched in its policy.
 */
static void
test_agrees_with_evaluator(void **state)
{
	static const char	*eps[] = { "db", "api", "web", "free", "aud",
				    "host", "world:1.2.3.4" };
	static const int	 ports[] = { -1, 1, 53, 5432, 8080 };
	static const char	*protos[] = { NULL, "tcp", "udp" };
	struct eval_flow	 f;
	struct eval_result	 res;
	size_t			 i, j, k, l;
	json_t			*a;

	for (i = 0; i < ARRAY_SIZE(eps); i++)
	for (j = 0; j < ARRAY_SIZE(eps); j++)
	for (k = 0; k < ARRAY_SIZE(ports); k++)
	for (l = 0; l < ARRAY_SIZE(protos); l++) {
		if (ports[k] >= 0 && protos[l] == NULL)
			continue;
		a = ask(eps[i], eps[j], protos[l], ports[k]);
		evaluate_flow_init(&f);
		mkep(&f.src, eps[i]);
		mkep(&f.dst, eps[j]);
		f.protocol = protos[l] ? explain_proto_parse(protos[l]) : 0;
		f.dport = ports[k];
		evaluate_flow(ps, &f, &res);
		assert_int_equal(json_is_true(at(a, "allowed")), res.allowed);
		decider_matched(a, &res.v[POL_EGRESS]);
		decider_matched(a, &res.v[POL_INGRESS]);
		evaluate_result_release(&res);
		evaluate_flow_release(&f);
		json_decref(a);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_allowed_by_rule),
		cmocka_unit_test(test_denied_by_rule),
		cmocka_unit_test(test_default_deny),
		cmocka_unit_test(test_untouched),
		cmocka_unit_test(test_audit_would_deny),
		cmocka_unit_test(test_why_not),
		cmocka_unit_test(test_peer_criteria),
		cmocka_unit_test(test_endpoints),
		cmocka_unit_test(test_query_check),
		cmocka_unit_test(test_request_round_trip),
		cmocka_unit_test(test_quarantine),
		cmocka_unit_test(test_render),
		cmocka_unit_test(test_agrees_with_evaluator),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
