/*
 * test_probeplan.c: what `bulkhead verify` probes.  Which containers and
 * pairs qualify (a shared network with a bridge, a veth and an address;
 * not host-network), which ports (those the selecting policies mention,
 * range ends, notPorts, named ports, one no rule mentions), the seeded
 * sample (bounded, reproducible, seed-dependent, drawn with many
 * containers), the promised verdicts (explain's, quarantine first) and
 * the control request's checks.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "errlist.h"
#include "inventory.h"
#include "policy.h"
#include "probeplan.h"
#include "quarantine.h"
#include "snapshot.h"
#include "util.h"

static const char rules_json[] =
"[{\"apiVersion\": \"bulkhead/v1\", \"kind\": \"Policy\",\n"
"  \"metadata\": {\"name\": \"db-in\"},\n"
"  \"spec\": {\"selector\": \"app == 'db'\",\n"
"   \"ingress\": [\n"
"    {\"action\": \"deny\", \"protocol\": \"tcp\",\n"
"     \"source\": {\"selector\": \"app == 'web'\"},\n"
"     \"destination\": {\"ports\": [\"6000:6010\"]}},\n"
"    {\"action\": \"allow\", \"protocol\": \"tcp\",\n"
"     \"source\": {\"selector\": \"app in {'api', 'web'}\"},\n"
"     \"destination\": {\"ports\": [5432, \"6000:6010\"], \"notPorts\": [6005]}},\n"
"    {\"action\": \"allow\", \"protocol\": \"udp\",\n"
"     \"destination\": {\"ports\": [53]}}]}},\n"
" {\"apiVersion\": \"bulkhead/v1\", \"kind\": \"Policy\",\n"
"  \"metadata\": {\"name\": \"web-out\"},\n"
"  \"spec\": {\"selector\": \"app == 'web'\", \"types\": [\"egress\"],\n"
"   \"egress\": [{\"action\": \"allow\", \"protocol\": \"tcp\",\n"
"                \"destination\": {\"ports\": [80, \"6000:6010\"]}}]}}]\n";

static const char inventory_json[] =
"{\"containers\": [\n"
" {\"id\": \"aaaaaaaaaaaa1111\", \"name\": \"db\", \"labels\": {\"app\": \"db\"},\n"
"  \"endpoints\": [{\"network\": \"n1\", \"bridge\": \"br-1\", \"veth\": \"veth1\",\n"
"                  \"ipv4\": \"10.1.0.2\"}]},\n"
" {\"id\": \"bbbbbbbbbbbb2222\", \"name\": \"api\", \"labels\": {\"app\": \"api\"},\n"
"  \"endpoints\": [{\"network\": \"n2\", \"bridge\": \"br-2\", \"veth\": \"veth2b\",\n"
"                  \"ipv4\": \"10.2.0.3\"},\n"
"                 {\"network\": \"n1\", \"bridge\": \"br-1\", \"veth\": \"veth2\",\n"
"                  \"ipv4\": \"10.1.0.3\"}]},\n"
" {\"id\": \"cccccccccccc3333\", \"name\": \"web\", \"labels\": {\"app\": \"web\"},\n"
"  \"endpoints\": [{\"network\": \"n1\", \"bridge\": \"br-1\", \"veth\": \"veth3\",\n"
"                  \"ipv4\": \"10.1.0.4\"}]},\n"
" {\"id\": \"dddddddddddd4444\", \"name\": \"alone\", \"labels\": {\"app\": \"db\"},\n"
"  \"endpoints\": [{\"network\": \"n3\", \"bridge\": \"br-3\", \"veth\": \"veth4\",\n"
"                  \"ipv4\": \"10.3.0.2\"}]},\n"
" {\"id\": \"eeeeeeeeeeee5555\", \"name\": \"noveth\", \"labels\": {\"app\": \"api\"},\n"
"  \"endpoints\": [{\"network\": \"n1\", \"bridge\": \"br-1\", \"ipv4\": \"10.1.0.9\"}]},\n"
" {\"id\": \"ffffffffffff6666\", \"name\": \"hostnet\", \"labels\": {\"app\": \"api\"},\n"
"  \"network_mode\": \"host\", \"endpoints\": []}\n"
"]}\n";

static struct policy_set	*ps;
static struct inventory		 inv;

static void
load_inventory(struct inventory *i, const char *text)
{
	struct container	*ct;
	char			 err[256];
	int			 pid = 100;

	inventory_init(i);
	if (snapshot_load(text, strlen(text), i, err, sizeof(err)) == -1)
		fail_msg("inventory does not load: %s", err);
	TAILQ_FOREACH(ct, &i->containers, entry)
		ct->pid = pid++;
}

static int
setup(void **state)
{
	struct errlist	el;

	ps = policy_set_new();
	errlist_init(&el);
	if (policy_load_buffer(ps, "t.json", rules_json, strlen(rules_json),
	    &el) || policy_set_finish(ps, &el))
		fail_msg("rules do not load:\n%s", errlist_join(&el));
	errlist_release(&el);
	load_inventory(&inv, inventory_json);
	return 0;
}

static int
teardown(void **state)
{
	policy_set_free(ps);
	inventory_release(&inv);
	return 0;
}

static json_t *
plan(size_t sample, uint64_t seed, const struct quarantine *q)
{
	struct probeplan_opts	 o;
	json_t			*a;

	probeplan_opts_init(&o);
	o.sample = sample;
	o.seed = seed;
	a = probeplan_answer(ps, &inv, q, &o);
	assert_non_null(a);
	assert_true(json_is_true(json_object_get(a, "ok")));
	return a;
}

static long long
num(json_t *o, const char *key)
{
	json_t	*v = json_object_get(o, key);

	if (!json_is_integer(v))
		fail_msg("no integer %s", key);
	return json_integer_value(v);
}

static const char *
str(json_t *o, const char *key)
{
	const char	*s = json_string_value(json_object_get(o, key));

	if (s == NULL)
		fail_msg("no string %s", key);
	return s;
}

/* The probe src -> dst (port -1: ICMP) of plan a, or NULL. */
static json_t *
find(json_t *a, const char *src, const char *dst, int port)
{
	json_t	*p;
	size_t	 i;

	json_array_foreach(json_object_get(a, "probes"), i, p) {
		if (strcmp(str(p, "src"), src) || strcmp(str(p, "dst"), dst))
			continue;
		if (port < 0 ? strcmp(str(p, "protocol"), "icmp") == 0 :
		    json_integer_value(json_object_get(p, "port")) == port)
			return p;
	}
	return NULL;
}

/* Only db, api, web share a network with an address and a veth. */
static void
test_pairs(void **state)
{
	json_t	*a = plan(PROBEPLAN_MAX_SAMPLE, 1, NULL), *p;
	size_t	 i;

	assert_int_equal(num(a, "containers"), 4);	/* alone included */
	assert_int_equal(num(a, "pairs"), 6);
	json_array_foreach(json_object_get(a, "probes"), i, p) {
		assert_string_not_equal(str(p, "src"), "alone");
		assert_string_not_equal(str(p, "dst"), "noveth");
		assert_string_not_equal(str(p, "dst"), "hostnet");
		assert_string_equal(str(p, "network"), "n1");
		assert_true(num(p, "pid") >= 100);
	}
	/* api's address on the shared network, not its first one. */
	p = find(a, "api", "db", 5432);
	assert_non_null(p);
	assert_string_equal(str(p, "saddr"), "10.1.0.3");
	assert_string_equal(str(p, "daddr"), "10.1.0.2");
	json_decref(a);
}

/*
 * api -> db: 5432, 6000, 6005, 6010 (db's ingress; udp 53 is not TCP),
 * the free port and ICMP.  web -> db: those and 80 (web's egress).
 * db -> api and db -> web: free port and ICMP; api -> web the same
 * (web's ingress is not restricted); web -> api: 80, 6000, 6010 too.
 * Sum: 6 + 7 + 2 + 2 + 2 + 5.
 */
static void
test_ports(void **state)
{
	json_t	*a = plan(PROBEPLAN_MAX_SAMPLE, 7, NULL);
	int	 free_port = probeplan_free_port(ps, 7);

	assert_int_equal(num(a, "candidates"), 24);
	assert_int_equal(json_array_size(json_object_get(a, "probes")), 24);
	assert_non_null(find(a, "api", "db", 6000));
	assert_non_null(find(a, "api", "db", 6005));
	assert_non_null(find(a, "api", "db", 6010));
	assert_null(find(a, "api", "db", 53));
	assert_null(find(a, "api", "db", 80));
	assert_non_null(find(a, "web", "db", 80));
	assert_non_null(find(a, "web", "api", 80));
	assert_non_null(find(a, "db", "web", free_port));
	assert_non_null(find(a, "db", "web", -1));
	assert_true(free_port >= 1024 && free_port <= 65535);
	assert_false(free_port >= 6000 && free_port <= 6010);
	assert_int_not_equal(free_port, 5432);
	json_decref(a);
}

static void
test_verdicts(void **state)
{
	json_t	*a = plan(PROBEPLAN_MAX_SAMPLE, 3, NULL), *p, *d;

	p = find(a, "api", "db", 5432);
	assert_true(json_is_true(json_object_get(p, "allowed")));
	assert_string_equal(str(p, "verdict"), "allowed");
	d = json_array_get(json_object_get(p, "decided_by"), 0);
	assert_string_equal(str(d, "policy"), "db-in");
	assert_string_equal(str(d, "direction"), "ingress");
	assert_int_equal(num(d, "rule"), 1);
	assert_non_null(strstr(str(d, "location"), "t.json:"));

	p = find(a, "web", "db", 6000);		/* the deny before the allow */
	assert_string_equal(str(p, "verdict"), "denied");
	d = json_array_get(json_object_get(p, "decided_by"), 0);
	assert_int_equal(num(d, "rule"), 0);

	p = find(a, "api", "db", 6005);		/* notPorts: default deny */
	assert_string_equal(str(p, "verdict"), "denied");
	d = json_array_get(json_object_get(p, "decided_by"), 0);
	assert_null(json_object_get(d, "rule"));

	p = find(a, "web", "db", 5432);		/* web's egress: not 5432 */
	assert_string_equal(str(p, "verdict"), "denied");
	assert_string_equal(str(json_array_get(json_object_get(p,
	    "decided_by"), 0), "policy"), "web-out");

	p = find(a, "api", "web", -1);		/* nobody restricts it */
	assert_string_equal(str(p, "verdict"), "untouched");
	assert_int_equal(json_array_size(json_object_get(p, "decided_by")), 0);
	assert_int_equal(num(p, "icmp_type"), 8);
	json_decref(a);
}

static void
test_quarantine(void **state)
{
	struct quarantine	 q;
	json_t			*a, *p, *d;

	quarantine_init(&q, NULL);
	quarantine_put(&q, "bbbbbbbbbbbb2222", "api", "incident 7", 0);
	a = plan(PROBEPLAN_MAX_SAMPLE, 3, &q);
	p = find(a, "api", "db", 5432);
	assert_false(json_is_true(json_object_get(p, "allowed")));
	assert_string_equal(str(p, "verdict"), "quarantined");
	d = json_array_get(json_object_get(p, "decided_by"), 0);
	assert_string_equal(str(d, "quarantine"), "api");
	assert_string_equal(str(d, "reason"), "incident 7");
	p = find(a, "web", "api", 80);		/* quarantined destination */
	assert_string_equal(str(p, "verdict"), "quarantined");
	p = find(a, "db", "web", -1);		/* others untouched by it */
	assert_string_not_equal(str(p, "verdict"), "quarantined");
	json_decref(a);
	quarantine_release(&q);
}

/* Bounded, the same for the same seed, another for another seed. */
static void
test_sample(void **state)
{
	json_t	*a = plan(5, 42, NULL), *b = plan(5, 42, NULL), *c;
	char	*sa, *sb, *sc;
	int	 differs = 0;
	uint64_t seed;

	assert_int_equal(json_array_size(json_object_get(a, "probes")), 5);
	assert_int_equal(num(a, "candidates"), 24);
	assert_int_equal(num(a, "seed"), 42);
	sa = json_dumps(json_object_get(a, "probes"), JSON_SORT_KEYS);
	sb = json_dumps(json_object_get(b, "probes"), JSON_SORT_KEYS);
	assert_string_equal(sa, sb);
	for (seed = 43; seed < 53; seed++) {
		c = plan(5, seed, NULL);
		sc = json_dumps(json_object_get(c, "probes"), JSON_SORT_KEYS);
		differs += strcmp(sa, sc) != 0;
		free(sc);
		json_decref(c);
	}
	assert_true(differs >= 8);
	free(sa);
	free(sb);
	json_decref(a);
	json_decref(b);
}

/* More containers than PROBEPLAN_MAX_ENUM: pairs are drawn. */
static void
test_many(void **state)
{
	struct probeplan_opts	 o;
	struct strbuf		 sb;
	struct inventory	 big;
	json_t			*a, *p;
	size_t			 i, n = PROBEPLAN_MAX_ENUM + 50;

	strbuf_init(&sb);
	strbuf_addstr(&sb, "{\"containers\": [");
	for (i = 0; i < n; i++)
		strbuf_addf(&sb, "%s{\"id\": \"%016zx\", \"name\": \"c%zu\", "
		    "\"labels\": {\"app\": \"%s\"}, \"endpoints\": [{\"network\": "
		    "\"n1\", \"bridge\": \"br-1\", \"veth\": \"v%zu\", \"ipv4\": "
		    "\"10.0.%zu.%zu\"}]}", i ? "," : "", i + 1, i,
		    i % 3 ? "db" : "web", i, (i >> 8) & 255, (i & 255) + 1);
	strbuf_addstr(&sb, "]}");
	load_inventory(&big, sb.buf);
	strbuf_release(&sb);
	probeplan_opts_init(&o);
	o.sample = 20;
	o.seed = 9;
	a = probeplan_answer(ps, &big, NULL, &o);
	assert_int_equal(num(a, "containers"), (long long)n);
	assert_int_equal(num(a, "pairs"), 20);
	assert_int_equal(json_array_size(json_object_get(a, "probes")), 20);
	json_array_foreach(json_object_get(a, "probes"), i, p)
		assert_string_not_equal(str(p, "src"), str(p, "dst"));
	json_decref(a);
	inventory_release(&big);
}

/* Both ends with IPv6: TCP and ICMPv6 over IPv6 too; else IPv4 only. */
static void
test_ipv6(void **state)
{
	static const char	 text[] =
	    "[{\"id\": \"a6\", \"name\": \"db6\", \"labels\": {\"app\": \"db\"},"
	    "  \"endpoints\": [{\"network\": \"n1\", \"bridge\": \"br-1\","
	    "  \"veth\": \"v1\", \"ipv4\": \"10.1.0.2\", \"ipv6\": \"fd00::2\"}]},"
	    " {\"id\": \"b6\", \"name\": \"api6\", \"labels\": {\"app\": \"api\"},"
	    "  \"endpoints\": [{\"network\": \"n1\", \"bridge\": \"br-1\","
	    "  \"veth\": \"v2\", \"ipv4\": \"10.1.0.3\", \"ipv6\": \"fd00::3\"}]},"
	    " {\"id\": \"c4\", \"name\": \"web4\", \"labels\": {\"app\": \"web\"},"
	    "  \"endpoints\": [{\"network\": \"n1\", \"bridge\": \"br-1\","
	    "  \"veth\": \"v3\", \"ipv4\": \"10.1.0.4\"}]}]";
	struct probeplan_opts	 o;
	struct inventory	 i6;
	json_t			*a, *p;
	size_t			 i, n6 = 0;

	load_inventory(&i6, text);
	probeplan_opts_init(&o);
	o.sample = PROBEPLAN_MAX_SAMPLE;
	a = probeplan_answer(ps, &i6, NULL, &o);
	json_array_foreach(json_object_get(a, "probes"), i, p) {
		if (num(p, "ip_version") != 6)
			continue;
		n6++;
		assert_string_not_equal(str(p, "src"), "web4");
		assert_string_not_equal(str(p, "dst"), "web4");
		assert_non_null(strchr(str(p, "daddr"), ':'));
		if (strcmp(str(p, "protocol"), "icmpv6") == 0)
			assert_int_equal(num(p, "icmp_type"), 128);
		else
			assert_string_equal(str(p, "protocol"), "tcp");
		if (strcmp(str(p, "src"), "api6") == 0 &&
		    json_integer_value(json_object_get(p, "port")) == 5432) {
			assert_string_equal(str(p, "verdict"), "allowed");
			assert_string_equal(str(p, "saddr"), "fd00::3");
			assert_string_equal(str(p, "daddr"), "fd00::2");
		}
	}
	/* api6 -> db6: 5 ports and an echo; db6 -> api6: 1 port, an echo. */
	assert_int_equal(n6, 8);
	json_decref(a);
	inventory_release(&i6);
}

/* --from and --to: only that container's pairs; an unknown one refused. */
static void
test_from_to(void **state)
{
	struct probeplan_opts	 o;
	json_t			*a, *p;
	size_t			 i;

	probeplan_opts_init(&o);
	o.sample = PROBEPLAN_MAX_SAMPLE;
	o.from = "web";
	a = probeplan_answer(ps, &inv, NULL, &o);
	assert_int_equal(num(a, "pairs"), 2);
	json_array_foreach(json_object_get(a, "probes"), i, p)
		assert_string_equal(str(p, "src"), "web");
	json_decref(a);
	o.from = NULL;
	o.to = "aaaaaaaaaaaa";		/* db's id prefix */
	a = probeplan_answer(ps, &inv, NULL, &o);
	assert_int_equal(num(a, "pairs"), 2);
	assert_int_equal(num(a, "candidates"), 13);	/* api 6, web 7 */
	json_array_foreach(json_object_get(a, "probes"), i, p)
		assert_string_equal(str(p, "dst"), "db");
	json_decref(a);
	o.from = "api";
	a = probeplan_answer(ps, &inv, NULL, &o);
	assert_int_equal(num(a, "pairs"), 1);
	json_decref(a);
	o.to = "nosuch";
	a = probeplan_answer(ps, &inv, NULL, &o);
	assert_true(json_is_false(json_object_get(a, "ok")));
	assert_string_equal(str(a, "error"), "to nosuch: no such container");
	json_decref(a);
}

static void
test_free_port(void **state)
{
	static const char	all[] =
	    "{\"apiVersion\": \"bulkhead/v1\", \"kind\": \"Policy\","
	    " \"metadata\": {\"name\": \"all\"}, \"spec\": {\"selector\": "
	    "\"all()\", \"ingress\": [{\"action\": \"allow\", \"protocol\": "
	    "\"tcp\", \"destination\": {\"ports\": [\"1:65535\"]}}]}}";
	struct policy_set	*p2 = policy_set_new();
	struct errlist		 el;
	int			 a, b;

	a = probeplan_free_port(ps, 1);
	b = probeplan_free_port(ps, 1);
	assert_int_equal(a, b);
	errlist_init(&el);
	assert_int_equal(policy_load_buffer(p2, "all.json", all, strlen(all),
	    &el), 0);
	assert_int_equal(policy_set_finish(p2, &el), 0);
	assert_int_equal(probeplan_free_port(p2, 1), 0);
	errlist_release(&el);
	policy_set_free(p2);
}

static void
test_handle(void **state)
{
	static const char	*bad[] = {
		"{\"cmd\": \"probe-plan\", \"sample\": 0}",
		"{\"cmd\": \"probe-plan\", \"sample\": 1001}",
		"{\"cmd\": \"probe-plan\", \"sample\": \"5\"}",
		"{\"cmd\": \"probe-plan\", \"seed\": -1}",
		"{\"cmd\": \"probe-plan\", \"icmp\": 1}",
		"{\"cmd\": \"probe-plan\", \"from\": 1}",
	};
	json_t	*req, *a;
	size_t	 i;

	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		req = json_loads(bad[i], 0, NULL);
		a = probeplan_handle(ps, &inv, NULL, req);
		assert_true(json_is_false(json_object_get(a, "ok")));
		assert_non_null(strstr(str(a, "error"), "bad request"));
		json_decref(a);
		json_decref(req);
	}
	req = json_loads("{\"cmd\": \"probe-plan\", \"sample\": 3, \"seed\": 5,"
	    " \"icmp\": false}", 0, NULL);
	a = probeplan_handle(ps, &inv, NULL, req);
	assert_int_equal(json_array_size(json_object_get(a, "probes")), 3);
	assert_int_equal(num(a, "candidates"), 18);	/* 24 less 6 ICMP */
	assert_int_equal(num(a, "seed"), 5);
	json_decref(a);
	json_decref(req);
}

/* splitmix64's published first output for seed 0. */
static void
test_rand(void **state)
{
	uint64_t	s = 0;

	assert_true(probeplan_rand(&s) == 0xe220a8397b1dcdafULL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pairs),
		cmocka_unit_test(test_ports),
		cmocka_unit_test(test_verdicts),
		cmocka_unit_test(test_quarantine),
		cmocka_unit_test(test_sample),
		cmocka_unit_test(test_many),
		cmocka_unit_test(test_ipv6),
		cmocka_unit_test(test_from_to),
		cmocka_unit_test(test_free_port),
		cmocka_unit_test(test_handle),
		cmocka_unit_test(test_rand),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
