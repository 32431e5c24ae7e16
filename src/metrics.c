/*
 * metrics.c: renders bulkheadd's state as a Prometheus text page.  Sits at
 * the end of the flow, beside status: it reads what the controller counts
 * and what the kernel counts per rule, and changes nothing.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "metrics.h"
#include "util.h"

static const double metrics_bounds[METRICS_NBUCKETS] = {
	0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30,
};

void
metrics_hist_observe(struct metrics_hist *h, double s)
{
	size_t	i;

	for (i = 0; i < METRICS_NBUCKETS && s > metrics_bounds[i]; i++)
		;
	h->counts[i]++;
	h->n++;
	h->sum += s;
}

/* The counter of tag, a new one at 0 when there is none yet. */
static struct metrics_counter *
metrics_counter_get(struct metrics_counter **v, size_t *n, const char *tag)
{
	size_t	i;

	for (i = 0; i < *n; i++)
		if (strcmp((*v)[i].tag, tag) == 0)
			return &(*v)[i];
	*v = xreallocarray(*v, *n + 1, sizeof(**v));
	memset(&(*v)[i], 0, sizeof((*v)[i]));
	(*v)[i].tag = xstrdup(tag);
	(*n)++;
	return &(*v)[i];
}

void
metrics_counters_add(struct metrics_counter **v, size_t *n, const char *tag,
    uint64_t packets, uint64_t bytes)
{
	struct metrics_counter	*c = metrics_counter_get(v, n, tag);

	c->packets += packets;
	c->bytes += bytes;
	c->counted = 1;
}

void
metrics_counters_add_logged(struct metrics_counter **v, size_t *n,
    const char *tag, uint64_t packets)
{
	struct metrics_counter	*c = metrics_counter_get(v, n, tag);

	c->logged += packets;
	c->has_logged = 1;
}

void
metrics_counters_free(struct metrics_counter *v, size_t n)
{
	size_t	i;

	for (i = 0; i < n; i++)
		free(v[i].tag);
	free(v);
}

/* A label value with \, " and newline escaped as the format wants. */
static void
metrics_label(struct strbuf *out, const char *name, const char *v, size_t len)
{
	size_t	i;

	strbuf_addf(out, "%s=\"", name);
	for (i = 0; i < len && v[i]; i++) {
		if (v[i] == '\\' || v[i] == '"')
			strbuf_addf(out, "\\%c", v[i]);
		else if (v[i] == '\n')
			strbuf_addstr(out, "\\n");
		else
			strbuf_add(out, &v[i], 1);
	}
	strbuf_addstr(out, "\"");
}

static void
metrics_head(struct strbuf *out, const char *name, const char *type,
    const char *help)
{
	strbuf_addf(out, "# HELP %s %s\n# TYPE %s %s\n", name, help, name,
	    type);
}

static void
metrics_gauge(struct strbuf *out, const char *name, const char *type,
    const char *help, double v)
{
	metrics_head(out, name, type, help);
	strbuf_addf(out, "%s %.17g\n", name, v);
}

static void
metrics_hist(struct strbuf *out, const char *name, const char *help,
    const struct metrics_hist *h)
{
	uint64_t	cum = 0;
	size_t		i;

	metrics_head(out, name, "histogram", help);
	for (i = 0; i < METRICS_NBUCKETS; i++) {
		cum += h->counts[i];
		strbuf_addf(out, "%s_bucket{le=\"%g\"} %llu\n", name,
		    metrics_bounds[i], (unsigned long long)cum);
	}
	strbuf_addf(out, "%s_bucket{le=\"+Inf\"} %llu\n", name,
	    (unsigned long long)h->n);
	strbuf_addf(out, "%s_sum %.17g\n%s_count %llu\n", name, h->sum, name,
	    (unsigned long long)h->n);
}

static const char *
metrics_action(char c)
{
	switch (c) {
	case '+': return "allow";
	case 'D': return "deny";
	case 'A': return "audit";
	case 'S': return "spoofed";
	case 'P': return "pending";
	case 'Q': return "quarantined";
	default: return NULL;
	}
}

int
metrics_tag_parse(const char *tag, struct metrics_tag *t)
{
	const char	*f[5], *p = tag;
	size_t		 len[5], i;

	for (i = 0; i < 5; i++) {
		const char *bar = i < 4 ? strchr(p, '|') : NULL;

		if (i < 4 && bar == NULL)
			return -1;
		f[i] = p;
		len[i] = bar ? (size_t)(bar - p) : strlen(p);
		p = bar ? bar + 1 : p;
	}
	if (len[0] != 2 || strncmp(f[0], "bh", 2) != 0 || len[1] != 1 ||
	    metrics_action(f[1][0]) == NULL || len[2] != 1 ||
	    (f[2][0] != 'I' && f[2][0] != 'E') || len[3] == 0 ||
	    len[3] >= sizeof(t->rule) || len[4] >= sizeof(t->policy))
		return -1;
	t->action = metrics_action(f[1][0]);
	t->direction = f[2][0] == 'I' ? "ingress" : "egress";
	if (len[3] == 1 && f[3][0] == '*')
		strlcpy_bh(t->rule, "default", sizeof(t->rule));
	else {
		memcpy(t->rule, f[3], len[3]);
		t->rule[len[3]] = '\0';
	}
	memcpy(t->policy, f[4], len[4]);
	t->policy[len[4]] = '\0';
	return 0;
}

/* The labels of a tag; 0 when the tag is not one of ours. */
static int
metrics_tag_labels(struct strbuf *out, const char *tag)
{
	struct metrics_tag	t;

	if (metrics_tag_parse(tag, &t) == -1)
		return 0;
	strbuf_addstr(out, "{");
	metrics_label(out, "policy", t.policy, sizeof(t.policy));
	strbuf_addstr(out, ",");
	metrics_label(out, "direction", t.direction, 16);
	strbuf_addstr(out, ",");
	metrics_label(out, "rule", t.rule, sizeof(t.rule));
	strbuf_addstr(out, ",");
	metrics_label(out, "action", t.action, 16);
	strbuf_addstr(out, "}");
	return 1;
}

enum { RULES_PACKETS, RULES_BYTES, RULES_LOGGED };

static const struct {
	const char	*name, *help;
} metrics_rules_fam[] = {
	{ "bulkhead_rule_packets_total",
	    "Packets matched by each policy rule (kernel counters)." },
	{ "bulkhead_rule_bytes_total",
	    "Bytes matched by each policy rule (kernel counters)." },
	{ "bulkhead_rule_logged_packets_total",
	    "Packets of each denying rule sent to NFLOG (the rest were over "
	    "the log rate limit)." },
};

/* One family of per-rule counters: what is RULES_*. */
static void
metrics_rules(struct strbuf *out, const struct metrics_input *in, int what)
{
	const char		*name = metrics_rules_fam[what].name;
	const struct metrics_counter *c;
	struct strbuf		 labels;
	size_t			 i;

	metrics_head(out, name, "counter", metrics_rules_fam[what].help);
	strbuf_init(&labels);
	for (i = 0; i < in->ncounters; i++) {
		c = &in->counters[i];
		strbuf_clear(&labels);
		if (!c->counted || (what == RULES_LOGGED && !c->has_logged) ||
		    !metrics_tag_labels(&labels, c->tag))
			continue;
		strbuf_addf(out, "%s%s %llu\n", name, labels.buf,
		    (unsigned long long)(what == RULES_BYTES ? c->bytes :
		    what == RULES_LOGGED ? c->logged : c->packets));
	}
	strbuf_release(&labels);
}

void
metrics_render(const struct metrics_input *in, struct strbuf *out)
{
	metrics_gauge(out, "bulkhead_uptime_seconds", "gauge",
	    "Seconds since bulkheadd started.", in->uptime_s);
	metrics_gauge(out, "bulkhead_rules_generation", "gauge",
	    "Policy loads that succeeded.", (double)in->generation);
	metrics_gauge(out, "bulkhead_policies", "gauge",
	    "Policies in force.", (double)in->policies);
	metrics_head(out, "bulkhead_containers", "gauge",
	    "Containers known, by state.");
	strbuf_addf(out, "bulkhead_containers{state=\"total\"} %zu\n"
	    "bulkhead_containers{state=\"managed\"} %zu\n"
	    "bulkhead_containers{state=\"unsegmentable\"} %zu\n"
	    "bulkhead_containers{state=\"quarantined\"} %zu\n",
	    in->containers, in->managed, in->unsegmentable, in->quarantined);
	metrics_gauge(out, "bulkhead_in_sync", "gauge",
	    "1 when the kernel holds the desired ruleset.", in->in_sync);
	metrics_gauge(out, "bulkhead_docker_connected", "gauge",
	    "1 while the Docker event stream is followed.",
	    in->docker_connected);
	metrics_gauge(out, "bulkhead_docker_reconnects_total", "counter",
	    "Reconnections to the Docker engine.",
	    (double)in->docker_reconnects);
	metrics_gauge(out, "bulkhead_applies_total", "counter",
	    "Rulesets applied to the kernel.", (double)in->applies);
	metrics_gauge(out, "bulkhead_apply_failures_total", "counter",
	    "Rulesets the kernel refused (the previous one stayed).",
	    (double)in->apply_failures);
	metrics_gauge(out, "bulkhead_drift_repairs_total", "counter",
	    "Times our tables were found missing and restored.",
	    (double)in->drift_repairs);
	metrics_gauge(out, "bulkhead_control_refused_total", "counter",
	    "Control clients refused: too many connected.",
	    (double)in->control_refused);
	metrics_gauge(out, "bulkhead_control_dropped_total", "counter",
	    "Control clients dropped: request or answer past its deadline.",
	    (double)in->control_dropped);
	metrics_hist(out, "bulkhead_apply_duration_seconds",
	    "Compile and apply time of each ruleset change.", in->apply_seconds);
	metrics_hist(out, "bulkhead_enforcement_latency_seconds",
	    "From the first unapplied change (Docker event, link, reload) to "
	    "the kernel's ack.", in->enforce_seconds);
	metrics_rules(out, in, RULES_PACKETS);
	metrics_rules(out, in, RULES_BYTES);
	metrics_rules(out, in, RULES_LOGGED);
}
