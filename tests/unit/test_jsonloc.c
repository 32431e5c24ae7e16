/*
 * test_jsonloc.c: the JSON position finder used to locate semantic errors:
 * members, indices, quoted keys, missing members, UTF-8 columns, invalid
 * JSON and hostile input.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "jsonloc.h"

static const char doc[] =
    "{\n"					/* line 1 */
    "  \"metadata\": { \"name\": \"db\" },\n"	/* line 2 */
    "  \"spec\": {\n"				/* line 3 */
    "    \"ingress\": [\n"			/* line 4 */
    "      { \"action\": \"allow\" },\n"	/* line 5 */
    "      {\"protocol\":\"tcpx\", \"a.b\": [1, 2.5e3, true, null]}\n"
    "    ]\n"					/* line 7 */
    "  }\n"
    "}\n";

/* Expects rc and, unless -1, the position line:col of path in text. */
static void
check(const char *text, const char *path, int rc, int line, int col)
{
	int	l = -7, c = -7;
	int	got = jsonloc_find(text, strlen(text), path, &l, &c);

	if (got != rc)
		fail_msg("%s: rc %d, want %d", path, got, rc);
	if (rc == -1)
		return;
	if (l != line || c != col)
		fail_msg("%s: at %d:%d, want %d:%d", path, l, c, line, col);
}

static void
test_members(void **state)
{
	check(doc, "$", 0, 1, 1);
	check(doc, "$.metadata", 0, 2, 15);
	check(doc, "$.metadata.name", 0, 2, 25);
	check(doc, "$.spec.ingress", 0, 4, 16);
	check(doc, "$.spec.ingress[0]", 0, 5, 7);
	check(doc, "$.spec.ingress[0].action", 0, 5, 19);
	check(doc, "$.spec.ingress[1].protocol", 0, 6, 19);
	check(doc, "$.spec.ingress[1][\"a.b\"]", 0, 6, 34);
	check(doc, "$.spec.ingress[1][\"a.b\"][1]", 0, 6, 38);
	check(doc, "$.spec.ingress[1][\"a.b\"][3]", 0, 6, 51);
}

static void
test_missing(void **state)
{
	/* The innermost enclosing value that exists. */
	check(doc, "$.spec.egress", 1, 3, 11);
	check(doc, "$.spec.ingress[5]", 1, 4, 16);
	check(doc, "$.spec.ingress[0].protocol", 1, 5, 7);
	check(doc, "$.nope.deeper", 1, 1, 1);
	/* A scalar has no members. */
	check(doc, "$.metadata.name.x", 1, 2, 25);
	check(doc, "$.metadata[0]", 1, 2, 15);
}

static void
test_keys_with_escapes(void **state)
{
	const char	*t = "{\"a\\\"b\": 1, \"caf\\u00e9\": 2, \"x\\\\y\": 3}";

	check(t, "$[\"a\\\"b\"]", 0, 1, 10);
	check(t, "$[\"caf\xc3\xa9\"]", 0, 1, 26);
	check(t, "$[\"x\\\\y\"]", 0, 1, 37);
	check(t, "$.cafe", 1, 1, 1);
}

static void
test_utf8_columns(void **state)
{
	/* Columns count characters: "é" is two bytes, one column. */
	check("{\"k\": \"\xc3\xa9\", \"n\": 1}", "$.n", 0, 1, 17);
}

static void
test_duplicate_last_wins(void **state)
{
	check("{\"a\": 1, \"a\": 2}", "$.a", 0, 1, 15);
}

static void
test_invalid(void **state)
{
	check("", "$", -1, 0, 0);
	check("{", "$", -1, 0, 0);
	check("{\"a\":}", "$.a", -1, 0, 0);
	check("{\"a\":1,}", "$.a", -1, 0, 0);
	check("[1 2]", "$[0]", -1, 0, 0);
	check("{\"a\":1} x", "$.a", -1, 0, 0);
	check("\"abc", "$", -1, 0, 0);
	check("\"a\tb\"", "$", -1, 0, 0);
	check("\"\\x\"", "$", -1, 0, 0);
	check("\"\\u12g4\"", "$", -1, 0, 0);
	check("\"\\ud800\"", "$", -1, 0, 0);
	check("01", "$", -1, 0, 0);
	check("1.", "$", -1, 0, 0);
	check("-", "$", -1, 0, 0);
	check("1e+", "$", -1, 0, 0);
	check("tru", "$", -1, 0, 0);
	check("nul", "$", -1, 0, 0);
	/* Bad paths. */
	check("{}", "", -1, 0, 0);
	check("{}", "$.", -1, 0, 0);
	check("{}", "$[x]", -1, 0, 0);
	check("{}", "$[\"a]", -1, 0, 0);
	check("[1]", "$[99999999999999999999999]", -1, 0, 0);
}

static void
test_valid_scalars(void **state)
{
	check("  -0.5e-3 ", "$", 0, 1, 3);
	check("\"\\ud83d\\ude00\"", "$", 0, 1, 1);
	check("[[], {}, false]", "$[2]", 0, 1, 10);
	check("\n\n  [\r\n 7]", "$[0]", 0, 4, 2);
}

static void
test_no_read_past_len(void **state)
{
	/* The buffer holds no terminator after len: ASan catches overreads. */
	const char	*src = "{\"a\": [1, 2, \"xyz\"]}";
	size_t		 n = strlen(src), cut;
	char		*buf;
	int		 l, c;

	for (cut = 0; cut <= n; cut++) {
		buf = malloc(cut ? cut : 1);
		memcpy(buf, src, cut);
		int rc = jsonloc_find(buf, cut, "$.a[2]", &l, &c);

		assert_int_equal(rc, cut == n ? 0 : -1);
		free(buf);
	}
}

static void
test_deep(void **state)
{
	size_t	 n = 100000, i;
	char	*t = malloc(2 * n + 1);
	int	 l, c;

	for (i = 0; i < n; i++) {
		t[i] = '[';
		t[n + i] = ']';
	}
	t[2 * n] = '\0';
	/* Deeper than jansson accepts: refused without a stack overflow. */
	assert_int_equal(jsonloc_find(t, 2 * n, "$[0][0]", &l, &c), -1);
	free(t);
	assert_int_equal(jsonloc_find("[[[1]]]", 7, "$[0][0][0]", &l, &c), 0);
	assert_int_equal(c, 4);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_members),
		cmocka_unit_test(test_missing),
		cmocka_unit_test(test_keys_with_escapes),
		cmocka_unit_test(test_utf8_columns),
		cmocka_unit_test(test_duplicate_last_wins),
		cmocka_unit_test(test_invalid),
		cmocka_unit_test(test_valid_scalars),
		cmocka_unit_test(test_no_read_past_len),
		cmocka_unit_test(test_deep),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
