/*
 * test_account.c: bulkhead-capture's loss accounting: gaps in the
 * kernel's sequence numbers (lost records, wrap-around, reordering, per
 * group), the comparison with bulkheadd's counters (accounted, mismatch
 * both ways, a group not read, counters that restarted, records not
 * bulkhead's), the drain condition, the text and JSON summaries, and
 * many prefixes.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "account.h"
#include "util.h"

#define TAG	"bh|D|I|*|sink"

/* A status answer with the sink's default deny at k packets, l logged. */
static const char *
status(int group, long long applies, unsigned long long k,
    unsigned long long l)
{
	static char	buf[1024];

	snprintf(buf, sizeof(buf), "{\"ok\":true,\"nflog_group\":%d,"
	    "\"applies\":%lld,\"counters\":["
	    "{\"policy\":\"sink\",\"direction\":\"ingress\",\"rule\":\"default\","
	    "\"action\":\"deny\",\"packets\":%llu,\"bytes\":0,\"tag\":\"" TAG
	    "\",\"logged\":%llu},"
	    "{\"policy\":\"sink\",\"direction\":\"ingress\",\"rule\":\"0\","
	    "\"action\":\"allow\",\"packets\":7,\"bytes\":0,\"tag\":"
	    "\"bh|+|I|0|sink\",\"logged\":null}]}", group, applies, k, l);
	return buf;
}

static struct account *
acct(uint16_t group)
{
	struct account	*a = account_new();

	account_groups(a, &group, 1);
	return a;
}

static void
snap(struct account *a, int end, const char *st)
{
	char	err[256];

	assert_int_equal(account_snapshot(a, end, st, err, sizeof(err)), 0);
}

static void
records(struct account *a, uint16_t group, const char *prefix, uint32_t from,
    uint32_t n)
{
	uint32_t	i;

	for (i = 0; i < n; i++)
		account_record(a, group, prefix, 1, from + i);
}

static void
test_gaps(void **state)
{
	struct account		*a = acct(100);
	struct account_result	 r;

	(void)state;
	assert_int_equal(account_record(a, 100, TAG, 1, 0), 0);
	assert_int_equal(account_record(a, 100, TAG, 1, 1), 0);
	assert_int_equal(account_record(a, 100, TAG, 1, 5), 3);
	/* Older than the last: reordered, not a gap, not a new start. */
	assert_int_equal(account_record(a, 100, TAG, 1, 2), 0);
	assert_int_equal(account_record(a, 100, TAG, 1, 6), 0);
	/* Another group has numbers of its own; it lost its first two. */
	assert_int_equal(account_record(a, 7, "x", 1, 2), 2);
	/* Without a number: counted, no gap. */
	assert_int_equal(account_record(a, 100, TAG, 0, 0), 0);
	account_result(a, &r);
	assert_int_equal(r.records, 7);
	assert_int_equal(r.sequenced, 6);
	assert_int_equal(r.lost, 5);
	assert_int_equal(r.reordered, 1);
	assert_false(r.kernel);
	assert_int_equal(r.group, -1);
	account_free(a);
}

static void
test_wrap(void **state)
{
	struct account		*a = acct(1);
	struct account_result	 r;

	(void)state;
	/* Forward by less than 2^31 is a gap; the numbers wrap at 2^32. */
	assert_int_equal(account_record(a, 1, "p", 1, 0x70000000u),
	    0x70000000u);
	assert_int_equal(account_record(a, 1, "p", 1, 0xe0000000u),
	    0x6fffffffu);
	assert_int_equal(account_record(a, 1, "p", 1, 0xfffffffeu),
	    0x1ffffffdu);
	assert_int_equal(account_record(a, 1, "p", 1, 1), 2);
	account_result(a, &r);
	assert_int_equal(r.lost, 0x70000000ull + 0x6fffffffull +
	    0x1ffffffdull + 2);
	assert_int_equal(r.reordered, 0);
	account_free(a);
}

static void
test_accounted(void **state)
{
	struct account		*a = acct(100);
	struct account_result	 r;
	struct strbuf		 sb;

	(void)state;
	snap(a, 0, status(100, 3, 10, 5));
	assert_true(account_has_snapshot(a, 0));
	assert_false(account_has_snapshot(a, 1));
	records(a, 100, TAG, 0, 10);
	records(a, 100, TAG, 15, 5);		/* 5 lost: 10..14 */
	snap(a, 1, status(100, 3, 110, 25));	/* matched 100, logged 20 */
	account_result(a, &r);
	assert_true(r.kernel);
	assert_false(r.reapplied);
	assert_int_equal(r.matched, 100);
	assert_int_equal(r.logged, 20);
	assert_int_equal(r.rate_limited, 80);
	assert_int_equal(r.captured, 15);
	assert_int_equal(r.group_lost, 5);
	assert_int_equal(r.unaccounted, 0);
	assert_true(r.accounted);
	assert_true(account_settled(a));
	strbuf_init(&sb);
	account_text(a, 12, 1, &sb);
	assert_non_null(strstr(sb.buf, "15 records read, 12 shown, 1 malformed, "
	    "5 lost in the socket, 0 socket buffer overruns: records were LOST"));
	assert_non_null(strstr(sb.buf, "matched 100, logged 20 (80 rate-limited, "
	    "not logged), captured 15, lost in the socket 5: all 100 accounted "
	    "for\n"));
	assert_non_null(strstr(sb.buf, "sink ingress rule default deny: matched "
	    "100, logged 20 (80 rate-limited), captured 15\n"));
	assert_null(strstr(sb.buf, "MISMATCH"));
	/* The allow rule logs nothing and matched nothing new: not listed. */
	assert_null(strstr(sb.buf, "allow"));
	strbuf_release(&sb);
	account_free(a);
}

static void
test_mismatch(void **state)
{
	struct account		*a = acct(100);
	struct account_result	 r;
	struct strbuf		 sb;

	(void)state;
	snap(a, 0, status(100, 3, 0, 0));
	records(a, 100, TAG, 0, 8);
	snap(a, 1, status(100, 3, 50, 10));
	/* Two records still in flight: not settled yet. */
	assert_false(account_settled(a));
	account_result(a, &r);
	assert_int_equal(r.unaccounted, 2);
	assert_false(r.accounted);
	strbuf_init(&sb);
	account_text(a, 8, 0, &sb);
	assert_non_null(strstr(sb.buf, "MISMATCH: the kernel logged 10, "
	    "captured + lost = 8: 2 records missing without a trace"));
	strbuf_release(&sb);
	/* They came: settled and accounted. */
	records(a, 100, TAG, 8, 2);
	assert_true(account_settled(a));
	account_result(a, &r);
	assert_true(r.accounted);
	/* One more than logged: a record from before the start. */
	records(a, 100, TAG, 10, 1);
	account_result(a, &r);
	assert_int_equal(r.unaccounted, -1);
	assert_false(r.accounted);
	assert_true(account_settled(a));
	strbuf_init(&sb);
	account_text(a, 8, 0, &sb);
	assert_non_null(strstr(sb.buf, "1 records more than logged"));
	strbuf_release(&sb);
	account_free(a);
}

static void
test_not_comparable(void **state)
{
	struct account		*a = acct(100);
	struct account_result	 r;
	struct strbuf		 sb;

	(void)state;
	/* bulkheadd logs to group 5, the capture reads 100. */
	snap(a, 0, status(5, 1, 0, 0));
	snap(a, 1, status(5, 1, 9, 9));
	account_result(a, &r);
	assert_false(r.kernel);
	assert_int_equal(r.group, 5);
	assert_false(r.group_read);
	strbuf_init(&sb);
	account_text(a, 0, 0, &sb);
	assert_non_null(strstr(sb.buf, "bulkheadd logs to group 5, not read"));
	strbuf_release(&sb);
	account_free(a);

	/* Only the start was read. */
	a = acct(100);
	snap(a, 0, status(100, 1, 0, 0));
	account_result(a, &r);
	assert_false(r.kernel);
	assert_true(account_settled(a));
	strbuf_init(&sb);
	account_text(a, 0, 0, &sb);
	assert_non_null(strstr(sb.buf, "not read at both ends"));
	strbuf_release(&sb);
	account_free(a);
}

static void
test_restarted_and_foreign(void **state)
{
	struct account		*a = acct(100);
	struct account_result	 r;
	char			 err[256];

	(void)state;
	snap(a, 0, status(100, 3, 500, 400));
	records(a, 100, TAG, 0, 4);
	records(a, 100, "someone else", 4, 3);
	/* The rules were re-applied: the counters restarted from 0. */
	snap(a, 1, status(100, 4, 10, 4));
	account_result(a, &r);
	assert_true(r.reapplied);
	assert_int_equal(r.matched, 10);
	assert_int_equal(r.logged, 4);
	assert_int_equal(r.captured, 4);
	assert_int_equal(r.foreign, 3);
	assert_true(r.accounted);
	/* Not a status answer. */
	assert_int_equal(account_snapshot(a, 1, "{\"ok\":true}", err,
	    sizeof(err)), -1);
	assert_non_null(strstr(err, "no counters"));
	assert_int_equal(account_snapshot(a, 1, "{", err, sizeof(err)), -1);
	account_free(a);
}

static void
test_json(void **state)
{
	struct account	*a = acct(100);
	struct strbuf	 sb;
	json_t		*o, *k, *rule;
	json_error_t	 je;

	(void)state;
	account_overruns(a, 3);
	snap(a, 0, status(100, 3, 0, 0));
	records(a, 100, TAG, 0, 4);
	records(a, 100, TAG, 6, 4);
	snap(a, 1, status(100, 3, 30, 10));
	strbuf_init(&sb);
	account_json(a, "2026-01-01T00:00:00.000000Z", 8, 0, &sb);
	assert_null(strchr(sb.buf, '\n'));
	o = json_loads(sb.buf, 0, &je);
	assert_non_null(o);
	assert_string_equal(json_string_value(json_object_get(o, "event")),
	    "summary");
	assert_int_equal(json_integer_value(json_object_get(o, "records")), 8);
	assert_int_equal(json_integer_value(json_object_get(o, "lost")), 2);
	assert_int_equal(json_integer_value(json_object_get(o, "overruns")), 3);
	assert_int_equal(json_integer_value(json_object_get(o, "sequenced")), 8);
	k = json_object_get(o, "kernel");
	assert_int_equal(json_integer_value(json_object_get(k, "matched")), 30);
	assert_int_equal(json_integer_value(json_object_get(k, "logged")), 10);
	assert_int_equal(json_integer_value(json_object_get(k, "rate_limited")),
	    20);
	assert_int_equal(json_integer_value(json_object_get(k, "captured")), 8);
	assert_int_equal(json_integer_value(json_object_get(k, "lost")), 2);
	assert_true(json_is_true(json_object_get(k, "accounted")));
	assert_int_equal(json_array_size(json_object_get(k, "rules")), 1);
	rule = json_array_get(json_object_get(k, "rules"), 0);
	assert_string_equal(json_string_value(json_object_get(rule, "tag")), TAG);
	assert_string_equal(json_string_value(json_object_get(rule, "rule")),
	    "default");
	assert_int_equal(json_integer_value(json_object_get(rule, "captured")),
	    8);
	json_decref(o);
	strbuf_release(&sb);
	/* Without the kernel's side: "kernel": null. */
	account_free(a);
	a = acct(100);
	strbuf_init(&sb);
	account_json(a, "t", 0, 0, &sb);
	assert_non_null(strstr(sb.buf, "\"kernel\":null"));
	strbuf_release(&sb);
	account_free(a);
}

static void
test_many_prefixes(void **state)
{
	struct account		*a = acct(100);
	struct account_result	 r;
	char			 p[64];
	uint32_t		 seq = 0;
	int			 i, j;

	(void)state;
	snap(a, 0, status(100, 1, 0, 0));
	for (j = 0; j < 3; j++)
		for (i = 0; i < 500; i++) {
			snprintf(p, sizeof(p), "bh|D|E|%d|p%d", i, i);
			account_record(a, 100, p, 1, seq++);
		}
	records(a, 100, TAG, seq, 7);
	snap(a, 1, status(100, 1, 7, 7));
	account_result(a, &r);
	/* Every bulkhead record of the group counts towards logged. */
	assert_int_equal(r.captured, 1507);
	assert_int_equal(r.unaccounted, 7 - 1507);
	account_free(a);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_gaps),
		cmocka_unit_test(test_wrap),
		cmocka_unit_test(test_accounted),
		cmocka_unit_test(test_mismatch),
		cmocka_unit_test(test_not_comparable),
		cmocka_unit_test(test_restarted_and_foreign),
		cmocka_unit_test(test_json),
		cmocka_unit_test(test_many_prefixes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
