/*
 * audit.c: `bulkhead audit`, the CLI side: asks bulkheadd for its audit
 * of the host (src/audit.c builds it) and prints it as text or JSON.
 * Exit 0 when nothing is of high severity, 1 when something is, 2 usage,
 * 3 daemon unreachable.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit.h"
#include "control.h"
#include "util.h"

#define EXIT_HIGH	1
#define EXIT_USAGE	2
#define EXIT_NODAEMON	3

static void
audit_cli_usage(FILE *f)
{
	fprintf(f,
	    "usage: bulkhead [-o text|json] audit\n"
	    "What escapes segmentation on this host: containers on the host\n"
	    "network or sharing a network namespace, privileged or with\n"
	    "NET_ADMIN/NET_RAW added, published ports no policy restricts,\n"
	    "bridges no Docker network or managed container uses, br_netfilter\n"
	    "and Docker's firewall backend.  One finding a line: severity\n"
	    "(high, medium, info), kind, object, why; then what to do.\n"
	    "exit: 0 no high finding, 1 some high finding, 3 daemon unreachable\n");
}

/* The daemon's answer, parsed; NULL (reported) when there is none. */
static json_t *
audit_cli_call(const char *socket, int timeout_ms)
{
	char		 err[512], *ans;
	json_error_t	 jerr;
	json_t		*o;

	if (control_call(socket, "{\"cmd\":\"audit\"}", &ans, timeout_ms, err,
	    sizeof(err)) == -1) {
		fprintf(stderr, "bulkhead: %s\n", err);
		return NULL;
	}
	if ((o = json_loads(ans, 0, &jerr)) == NULL)
		fprintf(stderr, "bulkhead: bad answer from bulkheadd: %s\n",
		    jerr.text);
	free(ans);
	return o;
}

int
audit_cli(const char *socket, int json, int timeout_ms, int argc, char **argv)
{
	struct strbuf	 sb;
	json_t		*o;
	char		*s;
	int		 rc;

	if (argc == 1 && (strcmp(argv[0], "--help") == 0 ||
	    strcmp(argv[0], "-h") == 0)) {
		audit_cli_usage(stdout);
		return 0;
	}
	if (argc > 0) {
		audit_cli_usage(stderr);
		return EXIT_USAGE;
	}
	if ((o = audit_cli_call(socket, timeout_ms)) == NULL)
		return EXIT_NODAEMON;
	if (!json_is_true(json_object_get(o, "ok"))) {
		fprintf(stderr, "bulkhead: audit: %s\n",
		    json_string_value(json_object_get(o, "error")) ?
		    json_string_value(json_object_get(o, "error")) :
		    "request failed");
		json_decref(o);
		return EXIT_HIGH;
	}
	if (json) {
		if ((s = json_dumps(o, JSON_INDENT(2) | JSON_SORT_KEYS)) != NULL)
			puts(s);
		free(s);
	} else {
		strbuf_init(&sb);
		audit_render(o, &sb);
		fputs(sb.buf ? sb.buf : "", stdout);
		strbuf_release(&sb);
	}
	rc = audit_has_high(o) ? EXIT_HIGH : 0;
	json_decref(o);
	return rc;
}
