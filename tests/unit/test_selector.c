/*
 * test_selector.c: the selector language of selector.h: every operator,
 * precedence, the canonical text, and the position of syntax errors.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "labels.h"
#include "selector.h"

/* The labels every test matches against. */
static struct labelset	ls;

static int
setup(void **state)
{
	labelset_init(&ls);
	labelset_set(&ls, "app", "db");
	labelset_set(&ls, "tier", "backend");
	labelset_set(&ls, "com.docker.compose.service", "web-01");
	labelset_set(&ls, "example.com/team", "it's");
	return 0;
}

static int
teardown(void **state)
{
	labelset_release(&ls);
	return 0;
}

/* Parses text (which must parse) and matches it against ls. */
static int
m(const char *text)
{
	char		 err[256];
	size_t		 pos = 999;
	struct selector	*s = selector_parse(text, err, sizeof(err), &pos);
	int		 r;

	if (s == NULL)
		fail_msg("selector \"%s\" did not parse: %s at %zu", text, err,
		    pos);
	r = selector_match(s, &ls);
	selector_free(s);
	return r;
}

static void
test_eq_ne(void **state)
{
	assert_int_equal(m("app == 'db'"), 1);
	assert_int_equal(m("app == \"db\""), 1);
	assert_int_equal(m("app == 'api'"), 0);
	assert_int_equal(m("missing == 'db'"), 0);
	assert_int_equal(m("app != 'db'"), 0);
	assert_int_equal(m("app != 'api'"), 1);
	/* As in Calico: a missing label is "not equal". */
	assert_int_equal(m("missing != 'x'"), 1);
	assert_int_equal(m("app=='db'"), 1);
}

static void
test_has(void **state)
{
	assert_int_equal(m("has(app)"), 1);
	assert_int_equal(m("has( app )"), 1);
	assert_int_equal(m("has(missing)"), 0);
	assert_int_equal(m("!has(missing)"), 1);
	assert_int_equal(m("!has(app)"), 0);
	assert_int_equal(m("has(com.docker.compose.service)"), 1);
}

static void
test_in(void **state)
{
	assert_int_equal(m("app in {'api', 'db'}"), 1);
	assert_int_equal(m("app in {'api'}"), 0);
	assert_int_equal(m("app in {}"), 0);
	assert_int_equal(m("missing in {'db'}"), 0);
	assert_int_equal(m("app not in {'api', 'web'}"), 1);
	assert_int_equal(m("app not in {'db'}"), 0);
	assert_int_equal(m("missing not in {'db'}"), 1);
}

static void
test_string_ops(void **state)
{
	assert_int_equal(m("tier contains 'ack'"), 1);
	assert_int_equal(m("tier contains 'front'"), 0);
	assert_int_equal(m("tier starts with 'back'"), 1);
	assert_int_equal(m("tier starts with 'end'"), 0);
	assert_int_equal(m("tier ends with 'end'"), 1);
	assert_int_equal(m("tier ends with 'backendx'"), 0);
	assert_int_equal(m("missing contains ''"), 0);
	assert_int_equal(m("missing starts with ''"), 0);
	assert_int_equal(m("missing ends with ''"), 0);
	assert_int_equal(m("example.com/team == \"it's\""), 1);
	assert_int_equal(m("com.docker.compose.service starts with 'web-'"),
	    1);
}

static void
test_all_and_empty(void **state)
{
	assert_int_equal(m("all()"), 1);
	assert_int_equal(m(""), 1);
	assert_int_equal(m("   "), 1);
	assert_int_equal(m("!all()"), 0);
	/* "has" and "all" are keys unless a '(' follows. */
	assert_int_equal(m("has == 'x'"), 0);
	assert_int_equal(m("all != 'x'"), 1);
}

static void
test_precedence(void **state)
{
	/* && binds tighter than ||: true || (false && false). */
	assert_int_equal(m("app == 'db' || app == 'x' && tier == 'x'"), 1);
	/* (true || false) && false */
	assert_int_equal(m("(app == 'db' || app == 'x') && tier == 'x'"), 0);
	/* false && false || true */
	assert_int_equal(m("app == 'x' && tier == 'x' || has(tier)"), 1);
	/* ! binds tighter than &&. */
	assert_int_equal(m("!has(x) && has(app)"), 1);
	assert_int_equal(m("!(has(app) && has(tier))"), 0);
	assert_int_equal(m("!!has(app)"), 1);
	assert_int_equal(m("has(a) || has(b) || has(app)"), 1);
	assert_int_equal(m("has(app) && has(tier) && !has(c)"), 1);
	assert_int_equal(m("has(app) && has(tier) && has(c)"), 0);
}

static void
check_text(const char *in, const char *want)
{
	char		 err[256];
	size_t		 pos;
	struct selector	*s = selector_parse(in, err, sizeof(err), &pos);
	struct selector	*again;

	assert_non_null(s);
	assert_string_equal(selector_text(s), want);
	/* The canonical text parses to itself. */
	again = selector_parse(selector_text(s), err, sizeof(err), &pos);
	assert_non_null(again);
	assert_string_equal(selector_text(again), want);
	selector_free(again);
	selector_free(s);
}

static void
test_canonical_text(void **state)
{
	check_text("", "all()");
	check_text("app==\"db\"", "app == 'db'");
	check_text("k == \"it's\"", "k == \"it's\"");
	check_text("a in {'x','y'}", "a in {'x', 'y'}");
	check_text("a  not   in {}", "a not in {}");
	check_text("!has( a )", "!has(a)");
	check_text("a contains 'x'&&b starts with 'y'||c ends with 'z'",
	    "a contains 'x' && b starts with 'y' || c ends with 'z'");
	check_text("(a == 'x' || b == 'y') && c == 'z'",
	    "(a == 'x' || b == 'y') && c == 'z'");
	check_text("((a == 'x'))", "a == 'x'");
	check_text("!(has(a) && has(b))", "!(has(a) && has(b))");
	check_text("!(has(a) || has(b))", "!(has(a) || has(b))");
	check_text("(has(a) && has(b)) && has(c)", "has(a) && has(b) && has(c)");
}

/* text must fail with message msg at byte offset want. */
static void
check_err(const char *text, size_t want, const char *msg)
{
	char		 err[256] = "";
	size_t		 pos = 999;
	struct selector	*s = selector_parse(text, err, sizeof(err), &pos);

	if (s != NULL) {
		selector_free(s);
		fail_msg("\"%s\" parsed but should not", text);
	}
	assert_string_equal(err, msg);
	assert_int_equal(pos, want);
}

static void
test_errors(void **state)
{
	check_err("app ==", 6, "expected a quoted string but found end of "
	    "selector");
	check_err("app == db", 7, "expected a quoted string but found 'db'");
	check_err("app = 'db'", 4, "expected an operator (==, !=, in, not in, "
	    "contains, starts with, ends with) but found '='");
	check_err("app == 'db", 7, "unterminated string");
	check_err("(has(a)", 7, "expected ')' but found end of selector");
	check_err("has(a) &&", 9, "expected a label key, has(), all(), '!' or "
	    "'(' but found end of selector");
	check_err("has(a) has(b)", 7, "expected '&&', '||' or end of selector "
	    "but found 'has'");
	check_err("has()", 4, "expected a label key but found ')'");
	check_err("all(x)", 4, "expected ')' but found 'x'");
	check_err("a in 'x'", 5, "expected '{' but found ''x''");
	check_err("a in {'x' 'y'}", 10, "expected ',' or '}' but found ''y''");
	check_err("a not {'x'}", 6, "expected 'in' but found '{'");
	check_err("a starts 'x'", 9, "expected 'with' but found ''x''");
	check_err("a ends with x", 12, "expected a quoted string but found 'x'");
	check_err("a & b", 2, "expected an operator (==, !=, in, not in, "
	    "contains, starts with, ends with) but found '&'");
	check_err("== 'x'", 0, "expected a label key, has(), all(), '!' or '(' "
	    "but found '=='");
	check_err("a == 'x' || ", 12, "expected a label key, has(), all(), '!' "
	    "or '(' but found end of selector");
	check_err("a == 'x' )", 9, "expected '&&', '||' or end of selector but "
	    "found ')'");
}

static void
test_deep_nesting(void **state)
{
	char		*text = malloc(100001);
	char		 err[256];
	size_t		 pos = 0, i;
	struct selector	*s;

	/* Deep parentheses are refused, not a stack overflow. */
	memset(text, '(', 100000);
	text[100000] = '\0';
	assert_null(selector_parse(text, err, sizeof(err), &pos));
	assert_string_equal(err, "selector nested too deeply");
	assert_true(pos < 100000);
	/* A long flat chain is fine. */
	for (i = 0; i + 10 < 100000; i += 10)
		memcpy(text + i, "has(a) || ", 10);
	strcpy(text + i, "has(app)");
	s = selector_parse(text, err, sizeof(err), &pos);
	assert_non_null(s);
	assert_int_equal(selector_match(s, &ls), 1);
	selector_free(s);
	free(text);
}

/* "key:v1,v2" for the selector's required condition, "" for none. */
static void
req(const char *text, const char *want)
{
	char		 err[256], got[256] = "";
	size_t		 pos, nvals, i;
	const char	*key;
	char *const	*vals;
	struct selector	*s = selector_parse(text, err, sizeof(err), &pos);

	assert_non_null(s);
	if (selector_required(s, &key, &vals, &nvals)) {
		snprintf(got, sizeof(got), "%s:", key);
		for (i = 0; i < nvals; i++)
			snprintf(got + strlen(got), sizeof(got) - strlen(got),
			    "%s%s", i ? "," : "", vals[i]);
	}
	assert_string_equal(got, want);
	selector_free(s);
}

static void
test_required(void **state)
{
	(void)state;
	req("app == 'db'", "app:db");
	req("app in {'a', 'b'}", "app:a,b");
	req("has(x) && tier == 'gold'", "tier:gold");
	req("app == 'db' || app == 'api'", "");
	req("app != 'db'", "");
	req("!(app == 'db')", "");
	req("all()", "");
	req("app not in {'a'}", "");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_eq_ne),
		cmocka_unit_test(test_required),
		cmocka_unit_test(test_has),
		cmocka_unit_test(test_in),
		cmocka_unit_test(test_string_ops),
		cmocka_unit_test(test_all_and_empty),
		cmocka_unit_test(test_precedence),
		cmocka_unit_test(test_canonical_text),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_deep_nesting),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
