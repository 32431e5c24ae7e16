/*
 * test_metrics.c: the Prometheus page: per-rule counters aggregated by
 * tag and labelled, label values escaped, histograms cumulative, foreign
 * tags ignored, every sample line well-formed.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "metrics.h"
#include "util.h"

static char *
render(struct metrics_counter *v, size_t n, struct metrics_hist *h)
{
	struct metrics_input	in;
	struct metrics_hist	empty;
	struct strbuf		sb;

	memset(&in, 0, sizeof(in));
	memset(&empty, 0, sizeof(empty));
	in.containers = 3;
	in.managed = 2;
	in.apply_seconds = h ? h : &empty;
	in.enforce_seconds = &empty;
	in.counters = v;
	in.ncounters = n;
	strbuf_init(&sb);
	metrics_render(&in, &sb);
	return strbuf_detach(&sb);
}

static void
test_rule_counters(void **state)
{
	struct metrics_counter	*v = NULL;
	size_t			 n = 0;
	char			*page;

	(void)state;
	/* Two kernel rules (IPv4 and IPv6) of one policy rule: one sample. */
	metrics_counters_add(&v, &n, "bh|+|I|0|db-from-api", 3, 300);
	metrics_counters_add(&v, &n, "bh|+|I|0|db-from-api", 2, 200);
	metrics_counters_add(&v, &n, "bh|D|E|*|db-no-egress", 7, 700);
	metrics_counters_add(&v, &n, "bh|Q|I|*|quarantine", 1, 60);
	metrics_counters_add(&v, &n, "someone else's comment", 9, 9);
	metrics_counters_add(&v, &n, "bh|D|I|*|we\"ird\\name", 1, 1);
	/* The deny's log rule (its counter after the rate limit), twice. */
	metrics_counters_add_logged(&v, &n, "bh|D|E|*|db-no-egress", 3);
	metrics_counters_add_logged(&v, &n, "bh|D|E|*|db-no-egress", 1);
	/* A log rule of an allow rule: no counting rule has its tag. */
	metrics_counters_add_logged(&v, &n, "bh|L|I|0|db-from-api", 4);
	assert_int_equal(n, 6);
	page = render(v, n, NULL);
	assert_non_null(strstr(page, "bulkhead_rule_packets_total{policy="
	    "\"db-from-api\",direction=\"ingress\",rule=\"0\",action=\"allow\"} 5\n"));
	assert_non_null(strstr(page, "bulkhead_rule_bytes_total{policy="
	    "\"db-from-api\",direction=\"ingress\",rule=\"0\",action=\"allow\"} 500\n"));
	assert_non_null(strstr(page, "bulkhead_rule_packets_total{policy="
	    "\"db-no-egress\",direction=\"egress\",rule=\"default\","
	    "action=\"deny\"} 7\n"));
	assert_non_null(strstr(page, "action=\"quarantined\"} 1\n"));
	assert_non_null(strstr(page, "bulkhead_rule_logged_packets_total{policy="
	    "\"db-no-egress\",direction=\"egress\",rule=\"default\","
	    "action=\"deny\"} 4\n"));
	/* Only rules that log have a logged sample; the log-only tag none. */
	assert_null(strstr(page, "bulkhead_rule_logged_packets_total{policy="
	    "\"db-from-api\""));
	assert_null(strstr(page, "bulkhead_rule_packets_total{policy="
	    "\"db-from-api\",direction=\"ingress\",rule=\"0\",action=\"log"));
	assert_non_null(strstr(page, "policy=\"we\\\"ird\\\\name\""));
	assert_null(strstr(page, "someone"));
	assert_non_null(strstr(page, "bulkhead_containers{state=\"managed\"} 2\n"));
	free(page);
	metrics_counters_free(v, n);
}

static void
test_histogram(void **state)
{
	struct metrics_hist	h;
	char			*page;

	(void)state;
	memset(&h, 0, sizeof(h));
	metrics_hist_observe(&h, 0.001);
	metrics_hist_observe(&h, 0.02);
	metrics_hist_observe(&h, 100);
	page = render(NULL, 0, &h);
	assert_non_null(strstr(page, "bulkhead_apply_duration_seconds_bucket"
	    "{le=\"0.005\"} 1\n"));
	assert_non_null(strstr(page, "bulkhead_apply_duration_seconds_bucket"
	    "{le=\"0.025\"} 2\n"));
	assert_non_null(strstr(page, "bulkhead_apply_duration_seconds_bucket"
	    "{le=\"30\"} 2\n"));
	assert_non_null(strstr(page, "bulkhead_apply_duration_seconds_bucket"
	    "{le=\"+Inf\"} 3\n"));
	assert_non_null(strstr(page, "bulkhead_apply_duration_seconds_count 3\n"));
	free(page);
}

/* Every line is a comment or "name{labels} value". */
static void
test_well_formed(void **state)
{
	struct metrics_counter	*v = NULL;
	size_t			 n = 0;
	char			*page, *line, *save = NULL;

	(void)state;
	metrics_counters_add(&v, &n, "bh|A|E|2|audit-me", 1, 2);
	page = render(v, n, NULL);
	for (line = strtok_r(page, "\n", &save); line;
	    line = strtok_r(NULL, "\n", &save)) {
		const char *sp = strrchr(line, ' ');
		char *end;

		if (line[0] == '#')
			continue;
		assert_non_null(sp);
		assert_true(strncmp(line, "bulkhead_", 9) == 0);
		strtod(sp + 1, &end);
		assert_true(*end == '\0');
	}
	free(page);
	metrics_counters_free(v, n);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rule_counters),
		cmocka_unit_test(test_histogram),
		cmocka_unit_test(test_well_formed),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
