/*
 * test_plandiff.c: plan --diff on printed rulesets: equal rulesets give
 * nothing, a new element or rule is one + line under its block, blocks
 * that appear or go are listed whole, reordered elements are no change.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "plandiff.h"
#include "util.h"

static const char *OLD =
    "table inet bulkhead {\n"
    "\tset addrs4 {\n"
    "\t\ttype ipv4_addr\n"
    "\t\telements = {\n"
    "\t\t\t172.17.0.2,\n"
    "\t\t\t172.17.0.3\n"
    "\t\t}\n"
    "\t}\n"
    "\n"
    "\tchain forward {\n"
    "\t\ttype filter hook forward priority -10; policy accept;\n"
    "\t\tct state established,related accept\n"
    "\t}\n"
    "\n"
    "\tchain in_aa {\n"
    "\t\tcounter drop\n"
    "\t}\n"
    "}\n";

static char *
diff(const char *a, const char *b, struct plandiff_stats *st)
{
	struct strbuf	sb;

	strbuf_init(&sb);
	plandiff(a, b, &sb, st);
	return sb.buf ? strbuf_detach(&sb) : xstrdup("");
}

static void
test_equal(void **state)
{
	struct plandiff_stats	 st;
	char			*d = diff(OLD, OLD, &st);

	(void)state;
	assert_string_equal(d, "");
	assert_int_equal(st.blocks_changed, 0);
	free(d);
}

static void
test_element_and_block(void **state)
{
	const char *new =
	    "table inet bulkhead {\n"
	    "\tset addrs4 {\n"
	    "\t\ttype ipv4_addr\n"
	    "\t\telements = {\n"
	    "\t\t\t172.17.0.3,\n"
	    "\t\t\t172.17.0.4,\n"
	    "\t\t\t172.17.0.2\n"
	    "\t\t}\n"
	    "\t}\n"
	    "\n"
	    "\tchain forward {\n"
	    "\t\ttype filter hook forward priority -10; policy accept;\n"
	    "\t\tct state established,related accept\n"
	    "\t}\n"
	    "\n"
	    "\tchain in_bb {\n"
	    "\t\tip saddr @x accept\n"
	    "\t\tcounter drop\n"
	    "\t}\n"
	    "}\n";
	struct plandiff_stats	 st;
	char			*d = diff(OLD, new, &st);

	(void)state;
	assert_string_equal(d,
	    "@ table inet bulkhead set addrs4\n"
	    "+ 172.17.0.4\n"
	    "+@ table inet bulkhead chain in_bb\n"
	    "+ ip saddr @x accept\n"
	    "+ counter drop\n"
	    "-@ table inet bulkhead chain in_aa\n"
	    "- counter drop\n");
	assert_int_equal(st.blocks_added, 1);
	assert_int_equal(st.blocks_removed, 1);
	assert_int_equal(st.blocks_changed, 1);
	assert_int_equal(st.lines_added, 3);
	assert_int_equal(st.lines_removed, 1);
	free(d);
}

static void
test_empty_sides(void **state)
{
	struct plandiff_stats	 st;
	char			*d = diff(NULL, OLD, &st);

	(void)state;
	assert_int_equal(st.blocks_added, 3);
	assert_non_null(strstr(d, "+ 172.17.0.2\n"));
	free(d);
	d = diff(OLD, "", &st);
	assert_int_equal(st.blocks_removed, 3);
	free(d);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_equal),
		cmocka_unit_test(test_element_and_block),
		cmocka_unit_test(test_empty_sides),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
