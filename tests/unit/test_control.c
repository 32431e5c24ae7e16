/*
 * test_control.c: the daemon's side of the control protocol (control.h):
 * framing a client's byte stream, parsing a request, and the regressions
 * fuzz_control found.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "control.h"
#include "util.h"

static void
test_frame(void **state)
{
	char	*big;

	assert_int_equal(control_request_frame(NULL, 0), 0);
	assert_int_equal(control_request_frame("{\"cmd\"", 6), 0);
	assert_int_equal(control_request_frame("{}\n", 3), 3);
	/* The first newline ends the request; what follows is not read. */
	assert_int_equal(control_request_frame("{}\n{}\n", 6), 3);
	big = xmalloc(CONTROL_MAX_REQUEST + 10);
	memset(big, ' ', CONTROL_MAX_REQUEST + 10);
	assert_int_equal(control_request_frame(big, CONTROL_MAX_REQUEST - 1), 0);
	assert_int_equal(control_request_frame(big, CONTROL_MAX_REQUEST), -1);
	big[CONTROL_MAX_REQUEST - 1] = '\n';
	assert_int_equal(control_request_frame(big, CONTROL_MAX_REQUEST + 10),
	    CONTROL_MAX_REQUEST);
	big[CONTROL_MAX_REQUEST - 1] = ' ';
	big[CONTROL_MAX_REQUEST] = '\n';
	assert_int_equal(control_request_frame(big, CONTROL_MAX_REQUEST + 10), -1);
	free(big);
}

/* Parses text, which must parse, and returns its command. */
static const char *
ok(const char *text)
{
	static struct control_request	req;
	static char			cmd[CONTROL_MAX_CMD];
	char				err[256];

	if (control_request_parse(text, strlen(text), &req, err,
	    sizeof(err)) == -1)
		fail_msg("%s refused: %s", text, err);
	assert_true(json_is_object(req.obj));
	strcpy(cmd, req.cmd);
	control_request_release(&req);
	return cmd;
}

/* Parses text, which must be refused, and returns the message. */
static const char *
refused(const char *text, size_t len)
{
	static char		err[256];
	struct control_request	req;
	json_t			*s;

	if (control_request_parse(text, len, &req, err, sizeof(err)) == 0)
		fail_msg("%s accepted as %s", text, req.cmd);
	assert_null(req.obj);
	/* The daemon puts the message into a JSON string: valid UTF-8. */
	assert_non_null(s = json_string(err));
	json_decref(s);
	return err;
}

static void
test_parse(void **state)
{
	assert_string_equal(ok("{\"cmd\":\"status\"}\n"), "status");
	assert_string_equal(ok(" {\"cmd\": \"reload\"} "), "reload");
	assert_string_equal(ok("{\"cmd\":\"explain\",\"to\":{\"port\":5432}}"),
	    "explain");
	assert_string_equal(ok("{\"cmd\":\"x-2\"}"), "x-2");
}

static void
test_refused(void **state)
{
	char	*big;

	assert_string_equal(refused("[\"status\"]", 10),
	    "bad request: expected {\"cmd\": ...}");
	assert_string_equal(refused("{\"cmd\":1}", 9),
	    "bad request: expected {\"cmd\": ...}");
	assert_string_equal(refused("{}", 2), "bad request: expected {\"cmd\": ...}");
	assert_string_equal(refused("{\"cmd\":\"Status\"}", 16),
	    "bad request: $.cmd: not a command name");
	assert_string_equal(refused("{\"cmd\":\"\"}", 10),
	    "bad request: $.cmd: not a command name");
	assert_non_null(strstr(refused("{\"cmd\":\"a\\u0000b\"}", 18),
	    "bad request: 1:17: "));
	assert_string_equal(refused("{\"cmd\":\"status-status-status-status-1234\"}", 42),
	    "bad request: $.cmd: not a command name");
	/* Located errors; duplicate keys are refused. */
	assert_non_null(strstr(refused("{\"cmd\":\"status\",\"cmd\":\"plan\"}",
	    29), "bad request: 1:"));
	assert_non_null(strstr(refused("{\"cmd\":\"status\"}\n{}", 19),
	    "bad request: 2:"));
	assert_non_null(strstr(refused("", 0), "bad request: "));
	big = xmalloc(CONTROL_MAX_REQUEST + 1);
	memset(big, ' ', CONTROL_MAX_REQUEST + 1);
	assert_non_null(strstr(refused(big, CONTROL_MAX_REQUEST + 1),
	    "larger than"));
	free(big);
}

/*
 * fuzz_control: jansson's excerpt of a bad request ends inside a
 * two-byte character; the message was not valid UTF-8 and the daemon's
 * answer lost its "error".
 */
static void
test_regression_cut_utf8(void **state)
{
	static const char	in[] = "{\"cmd\":\"ullst\\u0\xd0\x9a\xc6\x8bus\"}\n";

	assert_non_null(strstr(refused(in, sizeof(in) - 1), "bad request: 1:"));
}

static void
test_utf8_scrub(void **state)
{
	char	s[64];

	strcpy(s, "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x90\xb3 ok");
	utf8_scrub(s);
	assert_string_equal(s, "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x90\xb3 ok");
	strcpy(s, "caf\xe9.json");		/* latin-1 */
	utf8_scrub(s);
	assert_string_equal(s, "caf?.json");
	strcpy(s, "cut \xe2\x82");		/* truncated sequence */
	utf8_scrub(s);
	assert_string_equal(s, "cut ??");
	strcpy(s, "\xc0\xaf \xed\xa0\x80 \xf4\x90\x80\x80");	/* overlong, surrogate, > U+10FFFF */
	utf8_scrub(s);
	assert_string_equal(s, "?? ??? ????");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_frame),
		cmocka_unit_test(test_parse),
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_regression_cut_utf8),
		cmocka_unit_test(test_utf8_scrub),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
