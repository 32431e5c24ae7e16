/*
 * bulkhead.c: the operator's command line.  Talks to bulkheadd over its
 * control socket (status, reload, plan, explain, quarantine, release,
 * metrics, audit: tools/audit.c) and
 * checks rule files offline (check).  Exit codes: 0 success, 1 refused or
 * failed (rules invalid, reload refused; explain: denied), 2 usage error
 * (explain: also unknown endpoint or invalid rules), 3 daemon unreachable.
 */
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "audit.h"
#include "control.h"
#include "compile.h"
#include "errlist.h"
#include "explain.h"
#include "inventory.h"
#include "ir.h"
#include "log.h"
#include "plandiff.h"
#include "policy.h"
#include "snapshot.h"
#include "util.h"
#include "verify.h"

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
	    "  status [CONTAINER]\n"
	    "                   daemon health and each container's policies\n"
	    "  reload           load the rules directory again; returns once the\n"
	    "                   new rules are in the kernel, or why they were refused\n"
	    "  plan [--diff] [--rules DIR] [--rules DIR --inventory FILE]\n"
	    "                   the ruleset bulkheadd programs now (--diff: against\n"
	    "                   the kernel's); with --rules the one DIR would give\n"
	    "                   (--diff: what would change); offline with a rules\n"
	    "                   directory and an inventory (status -o json)\n"
	    "  check PATH...    validate policy files or directories offline\n"
	    "  explain SRC DST [--port N] [--proto P] [--rules DIR --inventory FILE]\n"
	    "                   why a flow is allowed or denied (explain --help);\n"
	    "                   exit 0 allowed, 1 denied\n"
	    "  quarantine CONTAINER [--reason TEXT]\n"
	    "                   cut all of a container's traffic, ahead of every\n"
	    "                   policy; kept across container and daemon restarts\n"
	    "  release CONTAINER\n"
	    "                   end a container's quarantine\n"
	    "  metrics          Prometheus metrics, per-rule kernel counters included\n"
	    "  verify [--sample N] [--timeout-ms M] [--seed S] [--tcp-only]\n"
	    "                   send real probes between containers and report\n"
	    "                   where the kernel does not do what the policies\n"
	    "                   promise (verify --help); exit 1 on a mismatch\n"
	    "  audit            what escapes segmentation on this host (audit --help);\n"
	    "                   exit 1 when a finding is of high severity\n"
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

/*
 * Keeps in o's container list only the one called name (or whose id
 * starts with it, 12 characters at least).  Returns 0, or -1 when none.
 */
static int
status_only(json_t *o, const char *name)
{
	json_t	*c, *keep = json_array();
	size_t	 i;

	json_array_foreach(json_object_get(o, "containers"), i, c) {
		const char *n = json_string_value(json_object_get(c, "name"));
		const char *id = json_string_value(json_object_get(c, "id"));

		if ((n && strcmp(n, name) == 0) || (id && strlen(name) >= 12 &&
		    strncmp(id, name, strlen(name)) == 0))
			json_array_append(keep, c);
	}
	if (json_array_size(keep) == 0) {
		json_decref(keep);
		return -1;
	}
	json_object_set_new(o, "containers", keep);
	return 0;
}

static int
cmd_status(const struct cli *cli, int argc, char **argv)
{
	json_t	*o, *c;
	size_t	 i;
	int	 counters_shown = 0;

	if (argc > 1 || (argc == 1 && strcmp(argv[0], "--help") == 0)) {
		fprintf(argc > 1 ? stderr : stdout,
		    "usage: bulkhead status [CONTAINER]\n");
		return argc > 1 ? EXIT_USAGE : 0;
	}
	if ((o = cli_call(cli, "status")) == NULL)
		return EXIT_NODAEMON;
	if (cli_failed(o)) {
		json_decref(o);
		return EXIT_REFUSED;
	}
	if (argc == 1 && status_only(o, argv[0]) == -1) {
		fprintf(stderr, "bulkhead: status %s: no such container\n",
		    argv[0]);
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
	if (json_integer_value(json_object_get(o, "control_refused")) ||
	    json_integer_value(json_object_get(o, "control_dropped")))
		printf("control clients: %lld refused (too many), %lld dropped "
		    "(too slow)\n",
		    (long long)json_integer_value(json_object_get(o,
		    "control_refused")),
		    (long long)json_integer_value(json_object_get(o,
		    "control_dropped")));
	if (*json_string_value(json_object_get(o, "last_error")))
		printf("last error: %s\n",
		    json_string_value(json_object_get(o, "last_error")));
	printf("containers:\n");
	json_array_foreach(json_object_get(o, "containers"), i, c)
		print_container(c);
	json_array_foreach(json_object_get(o, "counters"), i, c) {
		const char *act = json_string_value(json_object_get(c, "action"));
		json_int_t pk = json_integer_value(json_object_get(c, "packets"));

		/* Policy rules always; the guards only when they fired. */
		if (pk == 0 && strcmp(act, "allow") && strcmp(act, "deny") &&
		    strcmp(act, "audit"))
			continue;
		if (!counters_shown++)
			printf("rule counters (since the rules were applied):\n");
		printf("  %s %s rule %s %s: %lld packets, %lld bytes",
		    json_string_value(json_object_get(c, "policy")),
		    json_string_value(json_object_get(c, "direction")),
		    json_string_value(json_object_get(c, "rule")), act,
		    (long long)pk,
		    (long long)json_integer_value(json_object_get(c, "bytes")));
		if (json_is_integer(json_object_get(c, "logged")))
			printf(", %lld logged", (long long)json_integer_value(
			    json_object_get(c, "logged")));
		printf("\n");
	}
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

/* Prints the change from old to new and a one-line summary. */
static void
plan_print_diff(const char *old, const char *new)
{
	struct plandiff_stats	st;
	struct strbuf		sb;

	strbuf_init(&sb);
	plandiff(old, new, &sb, &st);
	if (sb.buf)
		fputs(sb.buf, stdout);
	strbuf_release(&sb);
	if (st.blocks_added + st.blocks_removed + st.blocks_changed == 0)
		printf("plan: no change\n");
	else
		printf("plan: +%zu -%zu lines; %zu sets/chains added, %zu "
		    "removed, %zu changed\n", st.lines_added, st.lines_removed,
		    st.blocks_added, st.blocks_removed, st.blocks_changed);
}

static int
cmd_plan(const struct cli *cli, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "rules", required_argument, NULL, 'r' },
		{ "inventory", required_argument, NULL, 'i' },
		{ "diff", no_argument, NULL, 'd' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char	*rules = NULL, *invfile = NULL;
	char		*abs = NULL;
	json_t		*req, *o;
	int		 ch, diff = 0, rc = 0;

	optind = 0;	/* 0: glibc starts afresh, also forgetting main's "+" */
	while ((ch = getopt_long(argc, argv, "r:i:dh", longopts, NULL)) != -1) {
		switch (ch) {
		case 'r': rules = optarg; break;
		case 'i': invfile = optarg; break;
		case 'd': diff = 1; break;
		case 'h':
			printf("usage: bulkhead plan [--diff] [--rules DIR]\n"
			    "       bulkhead plan --rules DIR --inventory FILE\n"
			    "The ruleset bulkheadd programs now (--diff: what "
			    "differs from what the\nkernel holds); with --rules, "
			    "the one DIR would give over the live\ncontainers "
			    "(--diff: only what would change); with --inventory, "
			    "offline.\n");
			return 0;
		default: return EXIT_USAGE;
		}
	}
	if (invfile) {
		if (!rules || diff) {
			fprintf(stderr, "bulkhead plan: offline needs --rules "
			    "DIR and --inventory FILE (and no --diff)\n");
			return EXIT_USAGE;
		}
		return plan_offline(rules, invfile);
	}
	req = json_pack("{s:s}", "cmd", "plan");
	/* The daemon has its own working directory: send an absolute path. */
	if (rules && (abs = realpath(rules, NULL)) == NULL) {
		fprintf(stderr, "bulkhead plan: %s: %s\n", rules,
		    strerror(errno));
		json_decref(req);
		return EXIT_REFUSED;
	}
	if (abs)
		json_object_set_new(req, "rules", json_string(abs));
	free(abs);
	o = cli_request(cli, req);
	json_decref(req);
	if (o == NULL)
		return EXIT_NODAEMON;
	if (cli_failed(o))
		rc = EXIT_REFUSED;
	else if (cli->json)
		print_json(o);
	else if (diff)
		plan_print_diff(json_string_value(json_object_get(o,
		    rules ? "current" : "applied")),
		    json_string_value(json_object_get(o, "ruleset")));
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

/* ---- explain ---- */

static void
cli_explain_usage(FILE *f)
{
	fprintf(f,
	    "usage: bulkhead explain [options] SRC DST\n"
	    "       bulkhead explain --rules DIR --inventory FILE [options] SRC DST\n"
	    "Why a flow from SRC to DST is allowed or denied: for the egress of\n"
	    "SRC and the ingress of DST, the policies that select it in order,\n"
	    "each rule considered (matched, or why not) and where it is defined.\n"
	    "Asks bulkheadd (its current rules and containers), or works offline\n"
	    "on a rules directory and an inventory (bulkhead -o json status).\n"
	    "SRC, DST: a container name or id, container:NAME, host, world, an\n"
	    "  address or ip:ADDR (the container that has it, else the world),\n"
	    "  host:ADDR, world:ADDR, labels:k=v,k2=v2 (a container to be)\n"
	    "options:\n"
	    "  -p, --port N           destination port (protocol tcp if not given)\n"
	    "      --sport N          source port\n"
	    "      --host-port N      destination port before Docker's port\n"
	    "                         publishing (hostPorts; default: --port)\n"
	    "  -P, --proto PROTO      tcp, udp, sctp, icmp, icmpv6 or 1-255\n"
	    "  -4, -6, --ip-version 4|6 (default: from the addresses, IPv4 first)\n"
	    "      --icmp-type N, --icmp-code N\n"
	    "      --from SRC, --to DST  instead of the two arguments\n"
	    "  -r, --rules DIR, -i, --inventory FILE  offline, without bulkheadd\n"
	    "  -o, --output text|json\n"
	    "exit: 0 allowed (also untouched, or allowed while an audit policy\n"
	    "      would deny), 1 denied, 2 usage or error (unknown container,\n"
	    "      invalid rules), 3 daemon unreachable\n");
}

/* A number lo..hi from an option; -1 (after a message) when not. */
static int
cli_num(const char *opt, const char *s, int lo, int hi)
{
	char	*end;
	long	 n = strtol(s, &end, 10);

	if (*s == '\0' || *end != '\0' || n < lo || n > hi) {
		fprintf(stderr, "bulkhead explain: %s: expected a number %d-%d, "
		    "found \"%s\"\n", opt, lo, hi, s);
		return -1;
	}
	return (int)n;
}

/* Loads what plan and explain need offline; 0, or -1 (reported). */
static int
offline_load(const char *rules, const char *invfile, struct policy_set **ps,
    struct inventory *inv)
{
	struct errlist	 el;
	char		*text, err[512];
	size_t		 len, i;
	int		 rc = -1;

	errlist_init(&el);
	if (policy_load_dir(rules, ps, &el) == -1) {
		for (i = 0; i < el.n; i++)
			fprintf(stderr, "%s\n", el.v[i]);
		goto out;
	}
	if ((text = read_file(invfile, &len)) == NULL) {
		fprintf(stderr, "bulkhead: read %s: %m\n", invfile);
		goto out;
	}
	if (snapshot_load(text, len, inv, err, sizeof(err)) == -1)
		fprintf(stderr, "%s: %s\n", invfile, err);
	else
		rc = 0;
	free(text);
out:
	errlist_release(&el);
	return rc;
}

/* The answer offline or from bulkheadd; NULL with *rc set on failure. */
static json_t *
cli_explain_answer(const struct cli *cli, const struct explain_query *q,
    const char *rules, const char *invfile, int *rc)
{
	struct policy_set	*ps = NULL;
	struct inventory	 inv;
	json_t			*req, *ans = NULL;

	*rc = EXIT_USAGE;
	if (rules == NULL) {
		req = explain_request(q);
		if ((ans = cli_request(cli, req)) == NULL)
			*rc = EXIT_NODAEMON;
		json_decref(req);
		return ans;
	}
	inventory_init(&inv);
	if (offline_load(rules, invfile, &ps, &inv) == 0)
		ans = explain_answer(ps, &inv, q);
	policy_set_free(ps);
	inventory_release(&inv);
	return ans;
}

static int
cmd_explain(const struct cli *cli0, int argc, char **argv)
{
	enum { O_SPORT = 256, O_TYPE, O_CODE, O_FROM, O_TO, O_HPORT };
	static const struct option longopts[] = {
		{ "port", required_argument, NULL, 'p' },
		{ "sport", required_argument, NULL, O_SPORT },
		{ "host-port", required_argument, NULL, O_HPORT },
		{ "proto", required_argument, NULL, 'P' },
		{ "protocol", required_argument, NULL, 'P' },
		{ "ip-version", required_argument, NULL, 'v' },
		{ "icmp-type", required_argument, NULL, O_TYPE },
		{ "icmp-code", required_argument, NULL, O_CODE },
		{ "from", required_argument, NULL, O_FROM },
		{ "to", required_argument, NULL, O_TO },
		{ "rules", required_argument, NULL, 'r' },
		{ "inventory", required_argument, NULL, 'i' },
		{ "output", required_argument, NULL, 'o' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct cli		 cli = *cli0;
	struct explain_query	 q;
	const char		*rules = NULL, *invfile = NULL;
	struct strbuf		 sb;
	char			 err[256];
	json_t			*ans;
	int			 ch, rc, *num = NULL, hi = 0;

	explain_query_init(&q);
	optind = 0;	/* full reset: options may follow SRC and DST */
	while ((ch = getopt_long(argc, argv, "p:P:v:46r:i:o:h", longopts,
	    NULL)) != -1) {
		switch (ch) {
		case 'p': num = &q.port; hi = 65535; break;
		case O_SPORT: num = &q.sport; hi = 65535; break;
		case O_HPORT: num = &q.host_port; hi = 65535; break;
		case O_TYPE: num = &q.icmp_type; hi = 255; break;
		case O_CODE: num = &q.icmp_code; hi = 255; break;
		case 'v': num = &q.ip_version; hi = 6; break;
		case '4': q.ip_version = 4; continue;
		case '6': q.ip_version = 6; continue;
		case O_FROM: q.src = optarg; continue;
		case O_TO: q.dst = optarg; continue;
		case 'r': rules = optarg; continue;
		case 'i': invfile = optarg; continue;
		case 'h': cli_explain_usage(stdout); return 0;
		case 'P':
			if ((q.protocol = explain_proto_parse(optarg)) >= 0)
				continue;
			fprintf(stderr, "bulkhead explain: unknown protocol "
			    "\"%s\"\n", optarg);
			return EXIT_USAGE;
		case 'o':
			if (strcmp(optarg, "json") && strcmp(optarg, "text")) {
				cli_explain_usage(stderr);
				return EXIT_USAGE;
			}
			cli.json = strcmp(optarg, "json") == 0;
			continue;
		default: cli_explain_usage(stderr); return EXIT_USAGE;
		}
		if ((*num = cli_num(argv[optind - 1], optarg, 0, hi)) < 0)
			return EXIT_USAGE;
	}
	if (q.src == NULL && optind < argc)
		q.src = argv[optind++];
	if (q.dst == NULL && optind < argc)
		q.dst = argv[optind++];
	if (q.src == NULL || q.dst == NULL || optind < argc) {
		cli_explain_usage(stderr);
		return EXIT_USAGE;
	}
	if ((rules == NULL) != (invfile == NULL)) {
		fprintf(stderr, "bulkhead explain: offline needs both --rules "
		    "DIR and --inventory FILE\n");
		return EXIT_USAGE;
	}
	if (explain_query_check(&q, err, sizeof(err)) == -1) {
		fprintf(stderr, "bulkhead explain: %s\n", err);
		return EXIT_USAGE;
	}
	if ((ans = cli_explain_answer(&cli, &q, rules, invfile, &rc)) == NULL)
		return rc;
	if (cli_failed(ans)) {
		json_decref(ans);
		return EXIT_USAGE;
	}
	if (cli.json)
		print_json(ans);
	else {
		strbuf_init(&sb);
		explain_render(ans, &sb);
		fputs(sb.buf ? sb.buf : "", stdout);
		strbuf_release(&sb);
	}
	rc = json_is_true(json_object_get(ans, "allowed")) ? 0 : EXIT_REFUSED;
	json_decref(ans);
	return rc;
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
		return cmd_status(&cli, argc - optind, argv + optind);
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
	if (strcmp(verb, "explain") == 0)
		return cmd_explain(&cli, argc - optind + 1, argv + optind - 1);
	if (strcmp(verb, "verify") == 0)
		return verify_main(cli.socket, cli.json, argc - optind + 1,
		    argv + optind - 1);
	if (strcmp(verb, "audit") == 0)
		return audit_cli(cli.socket, cli.json, cli.timeout_ms,
		    argc - optind, argv + optind);
	fprintf(stderr, "bulkhead: unknown verb %s\n", verb);
	usage(stderr);
	return EXIT_USAGE;
}
