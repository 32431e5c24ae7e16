/*
 * bulkhead.c: the operator's command line.  Talks to bulkheadd over its
 * control socket (status, reload, plan, quarantine, release) and checks
 * rule files offline (check).  Exit codes: 0 success, 1 refused or failed (rules invalid,
 * reload refused), 2 usage error, 3 daemon unreachable.
 */
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "control.h"
#include "compile.h"
#include "errlist.h"
#include "inventory.h"
#include "ir.h"
#include "log.h"
#include "policy.h"
#include "snapshot.h"
#include "util.h"

#define EXIT_REFUSED	1
#define EXIT_USAGE	2
#define EXIT_NODAEMON	3

struct cli {
	const char	*socket;
	int		 json;
	int		 timeout_ms;
};

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: bulkhead [-s SOCKET] [-o text|json] VERB [args]\n"
	    "verbs:\n"
	    "  status           daemon health and each container's policies\n"
	    "  reload           load the rules directory again; returns once the\n"
	    "                   new rules are in the kernel, or why they were refused\n"
	    "  plan [--rules DIR --inventory FILE]\n"
	    "                   the ruleset bulkheadd programs now; offline with a\n"
	    "                   rules directory and an inventory (status -o json)\n"
	    "  check PATH...    validate policy files or directories offline\n"
	    "  quarantine CONTAINER [--reason TEXT]\n"
	    "                   cut all of a container's traffic, ahead of every\n"
	    "                   policy; kept across container and daemon restarts\n"
	    "  release CONTAINER\n"
	    "                   end a container's quarantine\n"
	    "  metrics          Prometheus metrics, per-rule kernel counters included\n"
	    "options:\n"
	    "  -s, --control-socket PATH  (default %s)\n"
	    "  -o, --output text|json\n"
	    "  -h, --help, -V, --version\n"
	    "exit: 0 ok, 1 refused/invalid, 2 usage, 3 daemon unreachable\n",
	    CONTROL_DEFAULT_PATH);
}

/* Sends request req; returns the parsed answer (caller decrefs) or NULL. */
static json_t *
cli_request(const struct cli *cli, json_t *req)
{
	char		 err[512], *ans, *text = json_dumps(req, JSON_COMPACT);
	json_error_t	 jerr;
	json_t		*o;
	int		 rc;

	if (text == NULL) {
		fprintf(stderr, "bulkhead: cannot render the request\n");
		return NULL;
	}
	rc = control_call(cli->socket, text, &ans, cli->timeout_ms, err,
	    sizeof(err));
	free(text);
	if (rc == -1) {
		fprintf(stderr, "bulkhead: %s\n", err);
		return NULL;
	}
	o = json_loads(ans, 0, &jerr);
	if (o == NULL)
		fprintf(stderr, "bulkhead: bad answer from bulkheadd: %s\n",
		    jerr.text);
	free(ans);
	return o;
}

/* Sends {"cmd": cmd}; returns the parsed answer (caller decrefs) or NULL. */
static json_t *
cli_call(const struct cli *cli, const char *cmd)
{
	json_t	*req = json_pack("{s:s}", "cmd", cmd), *o;

	o = cli_request(cli, req);
	json_decref(req);
	return o;
}

static int
cli_failed(json_t *o)
{
	if (json_is_true(json_object_get(o, "ok")))
		return 0;
	fprintf(stderr, "bulkhead: %s\n",
	    json_string_value(json_object_get(o, "error")) ?
	    json_string_value(json_object_get(o, "error")) : "request failed");
	return 1;
}

static void
print_json(json_t *o)
{
	char	*s = json_dumps(o, JSON_INDENT(2) | JSON_SORT_KEYS);

	if (s) {
		puts(s);
		free(s);
	}
}

static void
print_names(const char *what, json_t *a)
{
	size_t	 i;
	json_t	*v;

	printf("    %-8s ", what);
	if (json_array_size(a) == 0)
		printf("(not isolated)");
	json_array_foreach(a, i, v)
		printf("%s%s", i ? ", " : "", json_string_value(v));
	printf("\n");
}

static void
print_container(json_t *c)
{
	json_t		*eps = json_object_get(c, "endpoints"), *ep, *lb;
	const char	*k;
	json_t		*v;
	size_t		 i;

	printf("  %s (%.12s)\n", json_string_value(json_object_get(c, "name")),
	    json_string_value(json_object_get(c, "id")));
	lb = json_object_get(c, "labels");
	if (json_object_size(lb)) {
		printf("    labels  ");
		json_object_foreach(lb, k, v)
			printf(" %s=%s", k, json_string_value(v));
		printf("\n");
	}
	json_array_foreach(eps, i, ep) {
		const char *veth = json_string_value(json_object_get(ep, "veth"));

		printf("    net      %s bridge=%s veth=%s ipv4=%s",
		    json_string_value(json_object_get(ep, "network")),
		    json_string_value(json_object_get(ep, "bridge")),
		    veth && *veth ? veth : "(none)",
		    json_string_value(json_object_get(ep, "ipv4")) ?
		    json_string_value(json_object_get(ep, "ipv4")) : "-");
		if (json_object_get(ep, "ipv6"))
			printf(" ipv6=%s",
			    json_string_value(json_object_get(ep, "ipv6")));
		printf("\n");
	}
	if (json_is_string(json_object_get(c, "quarantine")))
		printf("    QUARANTINED: %s\n",
		    json_string_value(json_object_get(c, "quarantine")));
	if (json_is_false(json_object_get(c, "segmentable")))
		printf("    NOT SEGMENTED: %s\n",
		    json_string_value(json_object_get(c, "reason")));
	print_names("ingress", json_object_get(c, "ingress"));
	print_names("egress", json_object_get(c, "egress"));
}

static int
cmd_status(const struct cli *cli)
{
	json_t	*o = cli_call(cli, "status"), *c;
	size_t	 i;

	if (o == NULL)
		return EXIT_NODAEMON;
	if (cli_failed(o)) {
		json_decref(o);
		return EXIT_REFUSED;
	}
	if (cli->json) {
		print_json(o);
		json_decref(o);
		return 0;
	}
	printf("bulkheadd %s, up %llds, rules %s generation %lld "
	    "(%lld policies)\n",
	    json_string_value(json_object_get(o, "version")),
	    (long long)json_integer_value(json_object_get(o, "uptime_s")),
	    json_string_value(json_object_get(o, "rules_dir")),
	    (long long)json_integer_value(json_object_get(o, "generation")),
	    (long long)json_integer_value(json_object_get(o, "policies")));
	printf("kernel %s, %lld applies (%lld failed), last %.1f ms; docker %s\n",
	    json_is_true(json_object_get(o, "in_sync")) ? "in sync" :
	    "behind (retrying)",
	    (long long)json_integer_value(json_object_get(o, "applies")),
	    (long long)json_integer_value(json_object_get(o, "apply_failures")),
	    json_real_value(json_object_get(o, "last_apply_ms")),
	    json_is_true(json_object_get(o, "docker_connected")) ?
	    "connected" : "disconnected");
	if (json_integer_value(json_object_get(o, "drift_repairs")))
		printf("drift repairs: %lld (our tables were removed by someone "
		    "else and restored)\n",
		    (long long)json_integer_value(json_object_get(o,
		    "drift_repairs")));
	if (*json_string_value(json_object_get(o, "last_error")))
		printf("last error: %s\n",
		    json_string_value(json_object_get(o, "last_error")));
	printf("containers:\n");
	json_array_foreach(json_object_get(o, "containers"), i, c)
		print_container(c);
	json_array_foreach(json_object_get(o, "quarantined"), i, c) {
		if (!i)
			printf("quarantine:\n");
		printf("  %s (%.12s)%s: %s\n",
		    json_string_value(json_object_get(c, "name")),
		    json_string_value(json_object_get(c, "id")),
		    json_is_true(json_object_get(c, "present")) ? "" :
		    " [not running]",
		    json_string_value(json_object_get(c, "reason")));
	}
	json_decref(o);
	return 0;
}

/* metrics: the Prometheus page, as the listener serves it. */
static int
cmd_metrics(const struct cli *cli)
{
	json_t	*o = cli_call(cli, "metrics");

	if (o == NULL)
		return EXIT_NODAEMON;
	if (cli_failed(o)) {
		json_decref(o);
		return EXIT_REFUSED;
	}
	if (cli->json)
		print_json(o);
	else
		fputs(json_string_value(json_object_get(o, "text")), stdout);
	json_decref(o);
	return 0;
}

/* quarantine CONTAINER [--reason TEXT] / release CONTAINER */
static int
cmd_quarantine(const struct cli *cli, int argc, char **argv, int cut)
{
	static const struct option longopts[] = {
		{ "reason", required_argument, NULL, 'r' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char	*reason = "", *verb = cut ? "quarantine" : "release";
	json_t		*req, *o;
	int		 ch, rc;

	optind = 0;	/* 0: glibc starts afresh, also forgetting main's "+" */
	while ((ch = getopt_long(argc, argv, cut ? "r:h" : "h", longopts,
	    NULL)) != -1) {
		switch (ch) {
		case 'r': reason = optarg; break;
		case 'h':
			printf("usage: bulkhead %s CONTAINER%s\n", verb,
			    cut ? " [--reason TEXT]" : "");
			return 0;
		default: usage(stderr); return EXIT_USAGE;
		}
	}
	if (optind != argc - 1) {
		fprintf(stderr, "usage: bulkhead %s CONTAINER%s\n", verb,
		    cut ? " [--reason TEXT]" : "");
		return EXIT_USAGE;
	}
	req = json_pack("{s:s, s:s, s:s}", "cmd", verb, "container",
	    argv[optind], "reason", reason);
	o = cli_request(cli, req);
	json_decref(req);
	if (o == NULL)
		return EXIT_NODAEMON;
	if (cli_failed(o)) {
		json_decref(o);
		return EXIT_REFUSED;
	}
	rc = json_is_true(json_object_get(o, "applied")) ? 0 : EXIT_REFUSED;
	if (cli->json)
		print_json(o);
	else
		printf("%s %s (%.12s)%s\n", cut ? "quarantined" : "released",
		    json_string_value(json_object_get(o, "name")),
		    json_string_value(json_object_get(o, "id")),
		    rc ? ": not yet in the kernel (see bulkhead status)" : "");
	if (json_is_string(json_object_get(o, "warning")))
		fprintf(stderr, "bulkhead: warning: %s\n",
		    json_string_value(json_object_get(o, "warning")));
	json_decref(o);
	return rc;
}

static int
cmd_reload(const struct cli *cli)
{
	json_t	*o = cli_call(cli, "reload");
	int	 rc = 0;

	if (o == NULL)
		return EXIT_NODAEMON;
	if (cli_failed(o))
		rc = EXIT_REFUSED;
	else if (cli->json)
		print_json(o);
	else
		printf("reloaded: generation %lld, %lld policies, applied in "
		    "%.1f ms\n",
		    (long long)json_integer_value(json_object_get(o, "generation")),
		    (long long)json_integer_value(json_object_get(o, "policies")),
		    json_real_value(json_object_get(o, "apply_ms")));
	json_decref(o);
	return rc;
}

/* Reads a whole file; caller frees.  NULL with errno set on failure. */
static char *
read_file(const char *path, size_t *len)
{
	struct strbuf	 sb;
	char		 buf[65536];
	size_t		 n;
	FILE		*f = fopen(path, "r");

	if (f == NULL)
		return NULL;
	strbuf_init(&sb);
	while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
		strbuf_add(&sb, buf, n);
	fclose(f);
	*len = sb.len;
	return strbuf_detach(&sb);
}

/* plan --rules DIR --inventory FILE: what bulkheadd would program, offline. */
static int
plan_offline(const char *rules, const char *invfile)
{
	struct policy_set	*ps = NULL;
	struct inventory	 inv;
	struct errlist		 el;
	struct compile_opts	 co;
	struct ir_ruleset	*rs;
	struct strbuf		 out;
	char			*text, err[512];
	size_t			 len, i;
	int			 rc = EXIT_REFUSED;

	inventory_init(&inv);
	errlist_init(&el);
	if (policy_load_dir(rules, &ps, &el) == -1) {
		for (i = 0; i < el.n; i++)
			fprintf(stderr, "%s\n", el.v[i]);
		goto out;
	}
	if ((text = read_file(invfile, &len)) == NULL) {
		fprintf(stderr, "bulkhead: read %s: %m\n", invfile);
		goto out;
	}
	if (snapshot_load(text, len, &inv, err, sizeof(err)) == -1) {
		fprintf(stderr, "%s: %s\n", invfile, err);
		free(text);
		goto out;
	}
	free(text);
	compile_opts_default(&co);
	rs = compile_ruleset(ps, &inv, &co);
	strbuf_init(&out);
	ir_print(rs, &out);
	fputs(out.buf ? out.buf : "", stdout);
	strbuf_release(&out);
	ir_ruleset_free(rs);
	rc = 0;
out:
	errlist_release(&el);
	policy_set_free(ps);
	inventory_release(&inv);
	return rc;
}

static int
cmd_plan(const struct cli *cli, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "rules", required_argument, NULL, 'r' },
		{ "inventory", required_argument, NULL, 'i' },
		{ NULL, 0, NULL, 0 },
	};
	const char	*rules = NULL, *invfile = NULL;
	json_t		*o;
	int		 ch, rc = 0;

	optind = 1;
	while ((ch = getopt_long(argc, argv, "r:i:", longopts, NULL)) != -1) {
		switch (ch) {
		case 'r': rules = optarg; break;
		case 'i': invfile = optarg; break;
		default: return EXIT_USAGE;
		}
	}
	if (rules || invfile) {
		if (!rules || !invfile) {
			fprintf(stderr, "bulkhead plan: offline needs both "
			    "--rules DIR and --inventory FILE\n");
			return EXIT_USAGE;
		}
		return plan_offline(rules, invfile);
	}
	o = cli_call(cli, "plan");

	if (o == NULL)
		return EXIT_NODAEMON;
	if (cli_failed(o))
		rc = EXIT_REFUSED;
	else if (cli->json)
		print_json(o);
	else
		fputs(json_string_value(json_object_get(o, "ruleset")), stdout);
	json_decref(o);
	return rc;
}

/* Checks one directory, or one file through a directory of its own. */
static int
check_path(const char *path, size_t *npolicies)
{
	struct policy_set	*ps = NULL;
	struct errlist		 el;
	struct stat		 st;
	size_t			 i;
	int			 rc = 0;

	errlist_init(&el);
	if (stat(path, &st) == -1) {
		fprintf(stderr, "%s: cannot read: %m\n", path);
		return 1;
	}
	if (S_ISDIR(st.st_mode)) {
		rc = policy_load_dir(path, &ps, &el);
	} else {
		/* The same checks as the daemon's, ownership and mode included. */
		ps = policy_set_new();
		if (policy_load_file(ps, path, &el) || policy_set_finish(ps, &el))
			rc = -1;
	}
	for (i = 0; i < el.n; i++)
		fprintf(stderr, "%s\n", el.v[i]);
	if (rc == 0 && ps)
		*npolicies += ps->n;
	policy_set_free(ps);
	errlist_release(&el);
	return rc != 0;
}

static int
cmd_check(int argc, char **argv)
{
	size_t	n = 0;
	int	i, bad = 0;

	if (argc < 1) {
		fprintf(stderr, "bulkhead check: no PATH given\n");
		return EXIT_USAGE;
	}
	for (i = 0; i < argc; i++)
		bad |= check_path(argv[i], &n);
	if (bad)
		return EXIT_REFUSED;
	printf("ok: %zu policies in %d path%s\n", n, argc, argc == 1 ? "" : "s");
	return 0;
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "control-socket", required_argument, NULL, 's' },
		{ "output", required_argument, NULL, 'o' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	struct cli	 cli = { CONTROL_DEFAULT_PATH, 0, 60000 };
	const char	*verb;
	int		 ch;

	log_init("bulkhead", 1, 0);
	while ((ch = getopt_long(argc, argv, "+s:o:hV", longopts, NULL)) != -1) {
		switch (ch) {
		case 's': cli.socket = optarg; break;
		case 'o':
			if (strcmp(optarg, "json") && strcmp(optarg, "text")) {
				usage(stderr);
				return EXIT_USAGE;
			}
			cli.json = strcmp(optarg, "json") == 0;
			break;
		case 'h': usage(stdout); return 0;
		case 'V': printf("bulkhead %s\n", BULKHEAD_VERSION); return 0;
		default: usage(stderr); return EXIT_USAGE;
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return EXIT_USAGE;
	}
	verb = argv[optind++];
	if (strcmp(verb, "status") == 0)
		return cmd_status(&cli);
	if (strcmp(verb, "reload") == 0)
		return cmd_reload(&cli);
	if (strcmp(verb, "plan") == 0)
		return cmd_plan(&cli, argc - optind + 1, argv + optind - 1);
	if (strcmp(verb, "check") == 0)
		return cmd_check(argc - optind, argv + optind);
	if (strcmp(verb, "metrics") == 0)
		return cmd_metrics(&cli);
	if (strcmp(verb, "quarantine") == 0 || strcmp(verb, "release") == 0)
		return cmd_quarantine(&cli, argc - optind + 1,
		    argv + optind - 1, strcmp(verb, "quarantine") == 0);
	fprintf(stderr, "bulkhead: unknown verb %s\n", verb);
	usage(stderr);
	return EXIT_USAGE;
}
