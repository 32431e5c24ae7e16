/*
 * test_flows.c: the flow table of bulkhead-capture --flows: one flow per
 * (src, dst, dport, proto, verdict, direction, policy, rule), counts,
 * first/last seen, names from the first event, order, growth, clear.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include <cmocka.h>

#include "flows.h"

static struct flow_key
key(uint8_t src, uint8_t dst, int dport, const char *policy)
{
	struct flow_key	k;

	flow_key_init(&k);
	k.family = AF_INET;
	k.proto = 6;
	k.verdict = 'D';
	k.dir = 'I';
	k.rule = -1;
	k.dport = dport;
	k.src[0] = 172; k.src[3] = src;
	k.dst[0] = 172; k.dst[3] = dst;
	snprintf(k.policy, sizeof(k.policy), "%s", policy);
	return k;
}

static void
test_aggregates(void **state)
{
	struct flows		*fs = flows_new();
	struct flow_key		 a = key(2, 3, 5432, "db-ingress");
	struct flow_key		 b = key(2, 3, 5433, "db-ingress");
	struct flow_key		 c = key(4, 3, 5432, "db-ingress");
	const struct flow *const *v;
	size_t			 n;

	flows_add(fs, &a, 1000, "web", 1, "db", 1);
	flows_add(fs, &b, 1500, "web", 1, "db", 1);
	flows_add(fs, &a, 3000, "renamed", 1, "db", 1);
	flows_add(fs, &a, 900, NULL, 0, NULL, 0);	/* out of order */
	flows_add(fs, &c, 800, NULL, 0, "db", 1);
	assert_int_equal(flows_count(fs), 3);
	v = flows_sorted(fs, &n);
	assert_int_equal(n, 3);
	assert_int_equal(v[0]->count, 3);
	assert_int_equal(v[0]->key.dport, 5432);
	assert_int_equal(v[0]->first, 900);
	assert_int_equal(v[0]->last, 3000);
	assert_string_equal(v[0]->src_name, "web");	/* the first event's */
	/* Equal counts: oldest first. */
	assert_int_equal(v[1]->first, 800);
	assert_string_equal(v[1]->src_name, "");
	assert_int_equal(v[1]->src_kind, 0);
	assert_int_equal(v[2]->key.dport, 5433);
	flows_clear(fs);
	assert_int_equal(flows_count(fs), 0);
	flows_sorted(fs, &n);
	assert_int_equal(n, 0);
	flows_free(fs);
}

static void
test_policy_and_verdict_split(void **state)
{
	struct flows	*fs = flows_new();
	struct flow_key	 a = key(2, 3, 80, "p1"), b = key(2, 3, 80, "p2");
	struct flow_key	 c = key(2, 3, 80, "p1");

	c.verdict = 'A';
	flows_add(fs, &a, 1, NULL, 0, NULL, 0);
	flows_add(fs, &b, 1, NULL, 0, NULL, 0);
	flows_add(fs, &c, 1, NULL, 0, NULL, 0);
	assert_int_equal(flows_count(fs), 3);
	flows_free(fs);
}

static void
test_grows(void **state)
{
	struct flows			*fs = flows_new();
	const struct flow *const	*v;
	size_t				 i, n;
	uint64_t			 total = 0;

	for (i = 0; i < 5000; i++) {
		struct flow_key	k = key((uint8_t)(i % 250), 3,
				    (int)(i % 20), "p");

		flows_add(fs, &k, (int64_t)i, NULL, 0, NULL, 0);
	}
	/* 250 sources x 20 ports, but i % 250 and i % 20 pair up: 500. */
	assert_int_equal(flows_count(fs), 500);
	v = flows_sorted(fs, &n);
	for (i = 0; i < n; i++)
		total += v[i]->count;
	assert_int_equal(total, 5000);
	flows_free(fs);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_aggregates),
		cmocka_unit_test(test_policy_and_verdict_split),
		cmocka_unit_test(test_grows),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
