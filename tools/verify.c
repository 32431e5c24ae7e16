/*
 * verify.c: `bulkhead verify` (see verify.h): the plan from bulkheadd,
 * the probes through probe.c, the comparison and the report.
 */
#include <arpa/inet.h>
#include <netinet/in.h>

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "control.h"
#include "probe.h"
#include "probeplan.h"
#include "util.h"
#include "verify.h"

#define VERIFY_EXIT_FAILED	1
#define VERIFY_EXIT_USAGE	2
#define VERIFY_EXIT_NODAEMON	3
#define VERIFY_CALL_MS		60000

struct verify_opts {
	const char	*from;
	const char	*to;
	long		 sample;
	long		 timeout_ms;
	uint64_t	 seed;
	int		 icmp;
	int		 json;
};

static void
verify_usage(FILE *f)
{
	fprintf(f,
	    "usage: bulkhead verify [--sample N] [--timeout-ms M] [--seed S] "
	    "[--tcp-only]\n"
	    "                       [--from CONTAINER] [--to CONTAINER]\n"
	    "Proves that the controls operate as intended: for a sample of\n"
	    "container pairs and ports, asks bulkheadd what its policies\n"
	    "promise, sends real probes from inside the source container's\n"
	    "network namespace (only to containers bulkheadd knows on this\n"
	    "host) and reports every mismatch.  TCP: delivered when it\n"
	    "connects or is refused, dropped without an answer; ICMP echo.\n"
	    "options:\n"
	    "  -n, --sample N       probes at most (1-%d, default 50)\n"
	    "  -t, --timeout-ms M   wait per probe (50-10000, default 1000);\n"
	    "                       probes run in parallel\n"
	    "      --seed S         which sample (default: from the clock;\n"
	    "                       printed, to run the same sample again)\n"
	    "      --tcp-only       no ICMP echo probes\n"
	    "      --from, --to CONTAINER  only probes from (to) this container\n"
	    "  -o, --output text|json\n"
	    "exit: 0 every probe as promised, 1 a mismatch or a probe not\n"
	    "      sent, 2 usage, 3 daemon unreachable\n", PROBEPLAN_MAX_SAMPLE);
}

/* A number lo..hi from an option; -1 (after a message) when not. */
static long
verify_num(const char *opt, const char *s, long lo, long hi)
{
	char	*end;
	long	 n;

	errno = 0;
	n = strtol(s, &end, 10);
	if (*s == '\0' || *end != '\0' || errno || n < lo || n > hi) {
		fprintf(stderr, "bulkhead verify: %s: expected a number "
		    "%ld-%ld, found \"%s\"\n", opt, lo, hi, s);
		return -1;
	}
	return n;
}

static int
verify_seed(const char *s, uint64_t *out)
{
	char			*end;
	unsigned long long	 n;

	errno = 0;
	n = strtoull(s, &end, 10);
	if (*s == '\0' || *s == '-' || *end != '\0' || errno ||
	    n > INT64_MAX) {
		fprintf(stderr, "bulkhead verify: --seed: expected a number "
		    "0-%" PRId64 ", found \"%s\"\n", INT64_MAX, s);
		return -1;
	}
	*out = n;
	return 0;
}

/* Returns 0, VERIFY_EXIT_USAGE, or -1 for --help (done). */
static int
verify_parse(int argc, char **argv, struct verify_opts *o)
{
	enum { O_SEED = 256, O_TCP, O_FROM, O_TO };
	static const struct option longopts[] = {
		{ "sample", required_argument, NULL, 'n' },
		{ "timeout-ms", required_argument, NULL, 't' },
		{ "seed", required_argument, NULL, O_SEED },
		{ "tcp-only", no_argument, NULL, O_TCP },
		{ "from", required_argument, NULL, O_FROM },
		{ "to", required_argument, NULL, O_TO },
		{ "output", required_argument, NULL, 'o' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int	ch, seeded = 0;

	optind = 0;	/* 0: glibc starts afresh, also forgetting main's "+" */
	while ((ch = getopt_long(argc, argv, "n:t:o:h", longopts, NULL)) != -1) {
		switch (ch) {
		case 'n':
			if ((o->sample = verify_num("--sample", optarg, 1,
			    PROBEPLAN_MAX_SAMPLE)) < 0)
				return VERIFY_EXIT_USAGE;
			break;
		case 't':
			if ((o->timeout_ms = verify_num("--timeout-ms", optarg,
			    50, 10000)) < 0)
				return VERIFY_EXIT_USAGE;
			break;
		case O_SEED:
			if (verify_seed(optarg, &o->seed) == -1)
				return VERIFY_EXIT_USAGE;
			seeded = 1;
			break;
		case O_TCP: o->icmp = 0; break;
		case O_FROM: o->from = optarg; break;
		case O_TO: o->to = optarg; break;
		case 'o':
			if (strcmp(optarg, "json") && strcmp(optarg, "text")) {
				verify_usage(stderr);
				return VERIFY_EXIT_USAGE;
			}
			o->json = strcmp(optarg, "json") == 0;
			break;
		case 'h': verify_usage(stdout); return -1;
		default: verify_usage(stderr); return VERIFY_EXIT_USAGE;
		}
	}
	if (optind != argc) {
		verify_usage(stderr);
		return VERIFY_EXIT_USAGE;
	}
	if (!seeded)
		o->seed = ((uint64_t)time(NULL) << 16 ^ (uint64_t)getpid()) &
		    INT64_MAX;
	return 0;
}

/* The plan from bulkheadd; NULL with *rc set on failure (reported). */
static json_t *
verify_plan(const char *socket, const struct verify_opts *o, int *rc)
{
	json_t		*req, *ans;
	json_error_t	 jerr;
	char		*text, *out, err[512];

	req = json_pack("{s:s, s:I, s:I, s:b}", "cmd", "probe-plan", "sample",
	    (json_int_t)o->sample, "seed", (json_int_t)o->seed, "icmp",
	    o->icmp);
	if (o->from)
		json_object_set_new(req, "from", json_string(o->from));
	if (o->to)
		json_object_set_new(req, "to", json_string(o->to));
	text = json_dumps(req, JSON_COMPACT);
	json_decref(req);
	*rc = VERIFY_EXIT_NODAEMON;
	if (control_call(socket, text, &out, VERIFY_CALL_MS, err,
	    sizeof(err)) == -1) {
		fprintf(stderr, "bulkhead: %s\n", err);
		free(text);
		return NULL;
	}
	free(text);
	ans = json_loads(out, 0, &jerr);
	free(out);
	*rc = VERIFY_EXIT_FAILED;
	if (ans == NULL)
		fprintf(stderr, "bulkhead: bad answer from bulkheadd: %s\n",
		    jerr.text);
	else if (!json_is_true(json_object_get(ans, "ok"))) {
		fprintf(stderr, "bulkhead verify: %s\n", json_string_value(
		    json_object_get(ans, "error")) ? json_string_value(
		    json_object_get(ans, "error")) : "request refused");
		json_decref(ans);
		ans = NULL;
	}
	return ans;
}

/* The probes of the plan; -1 when one is malformed (reported). */
static int
verify_probes(json_t *probes, struct probe *v)
{
	const char	*proto, *daddr;
	json_t		*p;
	size_t		 i;

	json_array_foreach(probes, i, p) {
		proto = json_string_value(json_object_get(p, "protocol"));
		daddr = json_string_value(json_object_get(p, "daddr"));
		memset(&v[i], 0, sizeof(v[i]));
		v[i].netns = json_string_value(json_object_get(p, "netns"));
		v[i].pid = (int)json_integer_value(json_object_get(p, "pid"));
		v[i].port = (int)json_integer_value(json_object_get(p, "port"));
		v[i].family = json_integer_value(json_object_get(p,
		    "ip_version")) == 6 ? AF_INET6 : AF_INET;
		v[i].proto = !proto || strcmp(proto, "tcp") == 0 ? IPPROTO_TCP :
		    strcmp(proto, "icmp") == 0 ? IPPROTO_ICMP :
		    strcmp(proto, "icmpv6") == 0 ? IPPROTO_ICMPV6 : -1;
		if (daddr == NULL || inet_pton(v[i].family, daddr,
		    &v[i].daddr) != 1 || !json_is_boolean(json_object_get(p,
		    "allowed")) || v[i].proto == -1 ||
		    (v[i].proto == IPPROTO_ICMP) != (v[i].family == AF_INET &&
		    v[i].proto != IPPROTO_TCP) || (v[i].proto == IPPROTO_TCP &&
		    (v[i].port < 1 || v[i].port > 65535))) {
			fprintf(stderr, "bulkhead verify: malformed probe %zu "
			    "in bulkheadd's plan\n", i);
			return -1;
		}
	}
	return 0;
}

/* Adds what happened to each probe of the plan; counts the results. */
static void
verify_judge(json_t *plan, const struct probe *v, size_t n,
    const struct verify_opts *o)
{
	json_t		*probes = json_object_get(plan, "probes"), *p;
	size_t		 i, passed = 0, bad = 0, errs = 0;
	const char	*res;
	int		 allowed;

	json_array_foreach(probes, i, p) {
		allowed = json_is_true(json_object_get(p, "allowed"));
		if (v[i].out == PROBE_ERROR)
			res = "error", errs++;
		else if (allowed == (v[i].out == PROBE_DELIVERED))
			res = "ok", passed++;
		else
			res = "mismatch", bad++;
		json_object_set_new(p, "observed",
		    json_string(probe_outcome_str(v[i].out)));
		json_object_set_new(p, "detail", json_string(v[i].detail));
		json_object_set_new(p, "ms", json_integer(v[i].ms));
		json_object_set_new(p, "result", json_string(res));
	}
	json_object_set_new(plan, "timeout_ms", json_integer(o->timeout_ms));
	json_object_set_new(plan, "total", json_integer((json_int_t)n));
	json_object_set_new(plan, "passed", json_integer((json_int_t)passed));
	json_object_set_new(plan, "mismatches", json_integer((json_int_t)bad));
	json_object_set_new(plan, "errors", json_integer((json_int_t)errs));
}

/* "ingress db-in rule 0 (10-db.json:5:7)", one per decider. */
static void
verify_deciders(json_t *a, struct strbuf *sb)
{
	json_t	*d;
	size_t	 i;

	if (json_array_size(a) == 0)
		strbuf_addstr(sb, "no policy selects either end");
	json_array_foreach(a, i, d) {
		if (i)
			strbuf_addstr(sb, "; ");
		if (json_object_get(d, "quarantine")) {
			strbuf_addf(sb, "quarantine of %s: %s",
			    json_string_value(json_object_get(d, "quarantine")),
			    json_string_value(json_object_get(d, "reason")));
			continue;
		}
		strbuf_addf(sb, "%s %s",
		    json_string_value(json_object_get(d, "direction")),
		    json_string_value(json_object_get(d, "policy")));
		if (json_object_get(d, "rule"))
			strbuf_addf(sb, " rule %lld", (long long)
			    json_integer_value(json_object_get(d, "rule")));
		else
			strbuf_addstr(sb, " (no rule matched: default deny)");
		if (json_string_value(json_object_get(d, "location")))
			strbuf_addf(sb, " at %s", json_string_value(
			    json_object_get(d, "location")));
	}
}

static void
verify_print_probe(json_t *p)
{
	struct strbuf	 sb;
	const char	*res;
	char		 to[96];

	const char	*da = json_string_value(json_object_get(p, "daddr"));
	int		 v6 = strchr(da, ':') != NULL;

	if (json_object_get(p, "port"))
		snprintf(to, sizeof(to), "%s%s%s:%lld/tcp", v6 ? "[" : "", da,
		    v6 ? "]" : "", (long long)json_integer_value(
		    json_object_get(p, "port")));
	else
		snprintf(to, sizeof(to), "%s %s echo", da,
		    json_string_value(json_object_get(p, "protocol")));
	strbuf_init(&sb);
	verify_deciders(json_object_get(p, "decided_by"), &sb);
	res = json_string_value(json_object_get(p, "result"));
	printf("%-8s %s -> %s %s: expected %s, %s (%s); %s\n",
	    strcmp(res, "ok") == 0 ? "OK" : strcmp(res, "mismatch") == 0 ?
	    "MISMATCH" : "ERROR",
	    json_string_value(json_object_get(p, "src")),
	    json_string_value(json_object_get(p, "dst")), to,
	    json_is_true(json_object_get(p, "allowed")) ? "allowed" : "denied",
	    json_string_value(json_object_get(p, "observed")),
	    json_string_value(json_object_get(p, "detail")),
	    sb.buf ? sb.buf : "");
	strbuf_release(&sb);
}

static void
verify_print(json_t *plan)
{
	json_t	*p;
	size_t	 i;

	printf("verify: %zu probes of %lld candidates (%lld containers, %lld "
	    "pairs sharing a network), seed %lld, timeout %lld ms, rules "
	    "generation %lld\n",
	    json_array_size(json_object_get(plan, "probes")),
	    (long long)json_integer_value(json_object_get(plan, "candidates")),
	    (long long)json_integer_value(json_object_get(plan, "containers")),
	    (long long)json_integer_value(json_object_get(plan, "pairs")),
	    (long long)json_integer_value(json_object_get(plan, "seed")),
	    (long long)json_integer_value(json_object_get(plan, "timeout_ms")),
	    (long long)json_integer_value(json_object_get(plan, "generation")));
	json_array_foreach(json_object_get(plan, "probes"), i, p)
		verify_print_probe(p);
	printf("verify: %lld probes: %lld as promised, %lld mismatches, %lld "
	    "errors\n",
	    (long long)json_integer_value(json_object_get(plan, "total")),
	    (long long)json_integer_value(json_object_get(plan, "passed")),
	    (long long)json_integer_value(json_object_get(plan, "mismatches")),
	    (long long)json_integer_value(json_object_get(plan, "errors")));
}

int
verify_main(const char *socket, int json, int argc, char **argv)
{
	struct verify_opts	 o = { NULL, NULL, 50, 1000, 0, 1, json };
	struct probe		*v = NULL;
	json_t			*plan, *probes;
	size_t			 n;
	int			 rc;

	if ((rc = verify_parse(argc, argv, &o)) != 0)
		return rc == -1 ? 0 : rc;
	if ((plan = verify_plan(socket, &o, &rc)) == NULL)
		return rc;
	probes = json_object_get(plan, "probes");
	n = json_array_size(probes);
	rc = VERIFY_EXIT_FAILED;
	if (n > PROBE_MAX) {
		fprintf(stderr, "bulkhead verify: %zu probes in the plan, at "
		    "most %d\n", n, PROBE_MAX);
		goto out;
	}
	if (json_is_false(json_object_get(plan, "in_sync")))
		fprintf(stderr, "bulkhead verify: warning: bulkheadd has not "
		    "programmed its last change yet (see bulkhead status)\n");
	v = xcalloc(n + 1, sizeof(*v));
	if (verify_probes(probes, v) == -1 ||
	    probe_run(v, n, (int)o.timeout_ms) == -1)
		goto out;
	verify_judge(plan, v, n, &o);
	if (o.json) {
		char *s = json_dumps(plan, JSON_INDENT(2) | JSON_SORT_KEYS);

		if (s)
			puts(s);
		free(s);
	} else
		verify_print(plan);
	if (n == 0)
		fprintf(stderr, "bulkhead verify: warning: nothing to probe: "
		    "no two containers with an address share a network\n");
	rc = json_integer_value(json_object_get(plan, "mismatches")) ||
	    json_integer_value(json_object_get(plan, "errors")) ?
	    VERIFY_EXIT_FAILED : 0;
out:
	free(v);
	json_decref(plan);
	return rc;
}
