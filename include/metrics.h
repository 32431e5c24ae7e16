/*
 * metrics.h: bulkheadd's figures in the Prometheus text format (0.0.4).
 * The controller fills a metrics_input (its counts, two histograms and
 * the kernel's per-rule counters, read through nft.c) and metrics_render
 * turns it into the page that `bulkhead metrics` prints and the optional
 * HTTP listener (metrics_http.c) serves.  Pure: libc only.
 */
#ifndef BULKHEAD_METRICS_H
#define BULKHEAD_METRICS_H

#include <stddef.h>
#include <stdint.h>

struct strbuf;

#define METRICS_NBUCKETS	12

/* A histogram of seconds with fixed bounds (5 ms .. 10 s). */
struct metrics_hist {
	uint64_t	counts[METRICS_NBUCKETS + 1];	/* last: above every bound */
	uint64_t	n;
	double		sum;
};

void	metrics_hist_observe(struct metrics_hist *, double seconds);

/* One counting rule's kernel counter, by its tag (compile.c's comment). */
struct metrics_counter {
	char		*tag;		/* bh|<+|D|A|S|P|Q>|<I|E>|<rule|*>|<policy> */
	uint64_t	 packets;
	uint64_t	 bytes;
	int		 counted;	/* a counting rule has this tag */
	int		 has_logged;	/* a log rule has it as its prefix */
	uint64_t	 logged;	/* packets the log rule's limit let through */
};

/* Adds to the counter of tag (several kernel rules may share one tag). */
void	metrics_counters_add(struct metrics_counter **v, size_t *n,
	    const char *tag, uint64_t packets, uint64_t bytes);
/* Adds to the logged packets of tag (the log rule's counter). */
void	metrics_counters_add_logged(struct metrics_counter **v, size_t *n,
	    const char *tag, uint64_t packets);
void	metrics_counters_free(struct metrics_counter *v, size_t n);

/* A tag's parts: action "allow", "deny", "audit", "spoofed", ... */
struct metrics_tag {
	const char	*action;
	const char	*direction;	/* "ingress" or "egress" */
	char		 rule[16];	/* index, or "default" */
	char		 policy[128];
};

/* Splits a tag; -1 when it is not one of ours. */
int	metrics_tag_parse(const char *tag, struct metrics_tag *);

struct metrics_input {
	double			 uptime_s;
	unsigned long		 generation;
	size_t			 policies;
	size_t			 containers;
	size_t			 managed;
	size_t			 unsegmentable;
	size_t			 quarantined;
	int			 in_sync;
	int			 docker_connected;
	unsigned long		 docker_reconnects;
	unsigned long		 applies;
	unsigned long		 apply_failures;
	unsigned long		 drift_repairs;
	unsigned long		 control_refused;
	unsigned long		 control_dropped;
	const struct metrics_hist *apply_seconds;
	const struct metrics_hist *enforce_seconds;	/* event -> kernel ack */
	const struct metrics_counter *counters;
	size_t			 ncounters;
};

/* Appends the whole page to out. */
void	metrics_render(const struct metrics_input *, struct strbuf *out);

#endif
