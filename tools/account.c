/*
 * account.c: bulkhead-capture's loss accounting (see account.h).
 * Records are counted per group (with the gaps in their sequence
 * numbers) and per (group, prefix) in a small hash table; the kernel's
 * counters come in two snapshots of bulkheadd's status answer.  The
 * per-record work is a group lookup, a sequence check and a hash probe.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "account.h"
#include "log.h"
#include "util.h"

#define ACCT_MAXGROUPS	64

struct acct_group {
	uint16_t	group;
	uint32_t	next;		/* the number expected next */
	uint64_t	records, sequenced, lost, reordered;
};

struct acct_prefix {
	char		*prefix;	/* NULL: free slot */
	uint16_t	 group;
	uint64_t	 records;
};

/* One rule tag's kernel counters in a snapshot. */
struct acct_counter {
	char		*tag;
	uint64_t	 packets, logged;
	int		 has_logged;
	char		 action[16], policy[128], direction[16], rule[16];
};

struct acct_snap {
	int			 valid;
	int			 group;
	long long		 applies;
	struct acct_counter	*v;
	size_t			 n;
};

struct account {
	struct acct_group	 groups[ACCT_MAXGROUPS];
	int			 ngroups;
	struct acct_group	*last_group;
	uint16_t		 read[ACCT_MAXGROUPS];	/* groups read */
	int			 nread;
	struct acct_prefix	*slots;
	size_t			 cap, used;
	struct acct_prefix	*last;
	uint64_t		 overruns;
	struct acct_snap	 snap[2];
};

struct account *
account_new(void)
{
	struct account	*a = xcalloc(1, sizeof(*a));

	a->cap = 64;
	a->slots = xcalloc(a->cap, sizeof(*a->slots));
	return a;
}

static void
acct_snap_clear(struct acct_snap *s)
{
	size_t	i;

	for (i = 0; i < s->n; i++)
		free(s->v[i].tag);
	free(s->v);
	memset(s, 0, sizeof(*s));
}

void
account_free(struct account *a)
{
	size_t	i;

	if (a == NULL)
		return;
	for (i = 0; i < a->cap; i++)
		free(a->slots[i].prefix);
	free(a->slots);
	acct_snap_clear(&a->snap[0]);
	acct_snap_clear(&a->snap[1]);
	free(a);
}

void
account_groups(struct account *a, const uint16_t *groups, int n)
{
	a->nread = n < ACCT_MAXGROUPS ? n : ACCT_MAXGROUPS;
	memcpy(a->read, groups, (size_t)a->nread * sizeof(*groups));
}

void
account_overruns(struct account *a, uint64_t total)
{
	a->overruns = total;
}

/* ---- records ---- */

static struct acct_group *
acct_group(struct account *a, uint16_t group)
{
	int	i;

	if (a->last_group && a->last_group->group == group)
		return a->last_group;
	for (i = 0; i < a->ngroups; i++)
		if (a->groups[i].group == group)
			return a->last_group = &a->groups[i];
	if (a->ngroups == ACCT_MAXGROUPS)
		return NULL;
	a->groups[a->ngroups].group = group;
	return a->last_group = &a->groups[a->ngroups++];
}

/* The kernel numbers a fresh instance's records from 0.  Returns the
 * records missing before this one. */
static uint32_t
acct_seq(struct acct_group *g, uint32_t seq)
{
	uint32_t	d = seq - g->next;

	g->sequenced++;
	if (d >= 0x80000000u) {
		g->reordered++;		/* older than the last one: not a gap */
		return 0;
	}
	g->lost += d;
	g->next = seq + 1;
	return d;
}

static uint32_t
acct_hash(uint16_t group, const char *s)
{
	uint32_t	h = 2166136261u ^ group;

	for (; *s; s++)
		h = (h ^ (uint8_t)*s) * 16777619u;
	return h;
}

static void	acct_grow(struct account *);

static struct acct_prefix *
acct_prefix(struct account *a, uint16_t group, const char *prefix)
{
	struct acct_prefix	*p = a->last;
	size_t			 i;

	if (p && p->group == group && strcmp(p->prefix, prefix) == 0)
		return p;
	if ((a->used + 1) * 2 > a->cap)
		acct_grow(a);
	for (i = acct_hash(group, prefix) & (a->cap - 1);; i = (i + 1) & (a->cap - 1)) {
		p = &a->slots[i];
		if (p->prefix == NULL) {
			p->prefix = xstrdup(prefix);
			p->group = group;
			a->used++;
			break;
		}
		if (p->group == group && strcmp(p->prefix, prefix) == 0)
			break;
	}
	return a->last = p;
}

static void
acct_grow(struct account *a)
{
	struct acct_prefix	*old = a->slots;
	size_t			 i, j, ocap = a->cap;

	a->cap *= 2;
	a->slots = xcalloc(a->cap, sizeof(*a->slots));
	a->last = NULL;
	for (i = 0; i < ocap; i++) {
		if (old[i].prefix == NULL)
			continue;
		j = acct_hash(old[i].group, old[i].prefix) & (a->cap - 1);
		while (a->slots[j].prefix != NULL)
			j = (j + 1) & (a->cap - 1);
		a->slots[j] = old[i];
	}
	free(old);
}

uint32_t
account_record(struct account *a, uint16_t group, const char *prefix,
    int has_seq, uint32_t seq)
{
	struct acct_group	*g = acct_group(a, group);
	uint32_t		 lost = 0;

	if (g != NULL) {
		g->records++;
		if (has_seq)
			lost = acct_seq(g, seq);
	}
	acct_prefix(a, group, prefix ? prefix : "")->records++;
	return lost;
}

/* ---- the kernel's counters ---- */

static void
acct_copy(char *dst, size_t size, json_t *o, const char *key)
{
	const char	*s = json_string_value(json_object_get(o, key));

	strlcpy_bh(dst, s ? s : "", size);
}

int
account_snapshot(struct account *a, int end, const char *status, char *err,
    size_t errlen)
{
	struct acct_snap	*s = &a->snap[end ? 1 : 0];
	json_error_t		 je;
	json_t			*o, *cs, *c, *g;
	size_t			 i;

	if ((o = json_loads(status, 0, &je)) == NULL) {
		snprintf(err, errlen, "bulkheadd's status: %s", je.text);
		return -1;
	}
	cs = json_object_get(o, "counters");
	g = json_object_get(o, "nflog_group");
	if (!json_is_array(cs) || !json_is_integer(g)) {
		snprintf(err, errlen, "bulkheadd's status has no counters");
		json_decref(o);
		return -1;
	}
	acct_snap_clear(s);
	s->group = (int)json_integer_value(g);
	s->applies = json_integer_value(json_object_get(o, "applies"));
	s->v = xcalloc(json_array_size(cs) + 1, sizeof(*s->v));
	json_array_foreach(cs, i, c) {
		struct acct_counter	*k = &s->v[s->n];
		const char		*tag = json_string_value(
					    json_object_get(c, "tag"));
		json_t			*l = json_object_get(c, "logged");

		if (tag == NULL)
			continue;
		k->tag = xstrdup(tag);
		k->packets = (uint64_t)json_integer_value(
		    json_object_get(c, "packets"));
		k->has_logged = json_is_integer(l);
		k->logged = (uint64_t)json_integer_value(l);
		acct_copy(k->action, sizeof(k->action), c, "action");
		acct_copy(k->policy, sizeof(k->policy), c, "policy");
		acct_copy(k->direction, sizeof(k->direction), c, "direction");
		acct_copy(k->rule, sizeof(k->rule), c, "rule");
		s->n++;
	}
	s->valid = 1;
	json_decref(o);
	return 0;
}

int
account_has_snapshot(const struct account *a, int end)
{
	return a->snap[end ? 1 : 0].valid;
}

static const struct acct_counter *
acct_find(const struct acct_snap *s, const char *tag)
{
	size_t	i;

	for (i = 0; i < s->n; i++)
		if (strcmp(s->v[i].tag, tag) == 0)
			return &s->v[i];
	return NULL;
}

/* A counter's growth; a counter below its start restarted from 0. */
static uint64_t
acct_delta(uint64_t start, uint64_t end, int *restarted)
{
	if (end >= start)
		return end - start;
	*restarted = 1;
	return end;
}

/* One rule over the capture: its counters' growth and its records. */
struct acct_rule {
	const struct acct_counter	*c;
	uint64_t			 matched, logged, captured;
};

static uint64_t
acct_records(const struct account *a, int group, const char *prefix)
{
	const struct acct_prefix	*p;
	size_t				 i;

	for (i = acct_hash((uint16_t)group, prefix) & (a->cap - 1);;
	    i = (i + 1) & (a->cap - 1)) {
		p = &a->slots[i];
		if (p->prefix == NULL)
			return 0;
		if (p->group == group && strcmp(p->prefix, prefix) == 0)
			return p->records;
	}
}

static void
acct_rule(const struct account *a, const struct acct_counter *e,
    struct acct_rule *r, int *restarted)
{
	const struct acct_counter	*s = acct_find(&a->snap[0], e->tag);

	r->c = e;
	r->matched = acct_delta(s ? s->packets : 0, e->packets, restarted);
	r->logged = e->has_logged ? acct_delta(s && s->has_logged ?
	    s->logged : 0, e->logged, restarted) : 0;
	r->captured = acct_records(a, a->snap[1].group, e->tag);
}

static int
acct_reads(const struct account *a, int group)
{
	int	i;

	for (i = 0; i < a->nread; i++)
		if (a->read[i] == group)
			return 1;
	return 0;
}

/* The group's records with a bulkhead prefix ("bh|"), and the others. */
static void
acct_group_records(const struct account *a, int group, uint64_t *ours,
    uint64_t *foreign)
{
	size_t	i;

	*ours = *foreign = 0;
	for (i = 0; i < a->cap; i++) {
		const struct acct_prefix *p = &a->slots[i];

		if (p->prefix == NULL || p->group != group)
			continue;
		if (strncmp(p->prefix, "bh|", 3) == 0)
			*ours += p->records;
		else
			*foreign += p->records;
	}
}

void
account_result(const struct account *a, struct account_result *r)
{
	const struct acct_snap	*e = &a->snap[1];
	struct acct_rule	 ru;
	size_t			 i;
	int			 g;

	memset(r, 0, sizeof(*r));
	for (g = 0; g < a->ngroups; g++) {
		r->records += a->groups[g].records;
		r->sequenced += a->groups[g].sequenced;
		r->lost += a->groups[g].lost;
		r->reordered += a->groups[g].reordered;
	}
	r->overruns = a->overruns;
	r->group = e->valid ? e->group : a->snap[0].valid ? a->snap[0].group : -1;
	r->group_read = r->group >= 0 && acct_reads(a, r->group);
	r->kernel = a->snap[0].valid && e->valid && r->group_read &&
	    a->snap[0].group == e->group;
	if (!r->kernel)
		return;
	r->reapplied = a->snap[0].applies != e->applies;
	for (i = 0; i < e->n; i++) {
		acct_rule(a, &e->v[i], &ru, &r->reapplied);
		r->logged += ru.logged;
		if (!e->v[i].has_logged)
			continue;
		r->matched += ru.matched;
		r->rate_limited += ru.matched > ru.logged ?
		    ru.matched - ru.logged : 0;
	}
	acct_group_records(a, e->group, &r->captured, &r->foreign);
	for (g = 0; g < a->ngroups; g++)
		if (a->groups[g].group == e->group)
			r->group_lost = a->groups[g].lost;
	r->unaccounted = (int64_t)r->logged - (int64_t)r->captured -
	    (int64_t)r->group_lost;
	r->accounted = r->unaccounted == 0;
}

int
account_settled(const struct account *a)
{
	struct account_result	r;

	account_result(a, &r);
	return !r.kernel || r.unaccounted <= 0;
}

/* ---- the summary ---- */

static void
acct_text_rule(struct strbuf *sb, const struct acct_rule *ru)
{
	strbuf_addf(sb, "bulkhead-capture:   %s %s rule %s %s: matched %llu",
	    ru->c->policy, ru->c->direction, ru->c->rule, ru->c->action,
	    (unsigned long long)ru->matched);
	if (ru->c->has_logged)
		strbuf_addf(sb, ", logged %llu (%llu rate-limited)",
		    (unsigned long long)ru->logged,
		    (unsigned long long)(ru->matched > ru->logged ?
		    ru->matched - ru->logged : 0));
	strbuf_addf(sb, ", captured %llu\n", (unsigned long long)ru->captured);
}

static void
acct_text_kernel(const struct account *a, const struct account_result *r,
    struct strbuf *sb)
{
	struct acct_rule	ru;
	size_t			i;
	int			restarted = 0;

	strbuf_addf(sb, "bulkhead-capture: kernel counters over the capture "
	    "(group %d): matched %llu, logged %llu (%llu rate-limited, not "
	    "logged), captured %llu, lost in the socket %llu", r->group,
	    (unsigned long long)r->matched, (unsigned long long)r->logged,
	    (unsigned long long)r->rate_limited,
	    (unsigned long long)r->captured, (unsigned long long)r->group_lost);
	if (r->accounted)
		strbuf_addf(sb, ": all %llu accounted for\n",
		    (unsigned long long)(r->captured + r->group_lost +
		    r->rate_limited));
	else
		strbuf_addf(sb, "\nbulkhead-capture: MISMATCH: the kernel "
		    "logged %llu, captured + lost = %llu: %lld %s\n",
		    (unsigned long long)r->logged,
		    (unsigned long long)(r->captured + r->group_lost),
		    (long long)(r->unaccounted < 0 ? -r->unaccounted :
		    r->unaccounted), r->unaccounted < 0 ?
		    "records more than logged (from before the start?)" :
		    r->overruns && r->sequenced < r->records ?
		    "records missing: lost in the socket (it overran) but "
		    "not numbered, so not counted one by one" :
		    "records missing without a trace");
	if (r->reapplied)
		strbuf_addstr(sb, "bulkhead-capture: rules were re-applied "
		    "during the capture: counters may have restarted\n");
	if (r->foreign)
		strbuf_addf(sb, "bulkhead-capture: %llu records of the group "
		    "are not bulkhead's\n", (unsigned long long)r->foreign);
	for (i = 0; i < a->snap[1].n; i++) {
		acct_rule(a, &a->snap[1].v[i], &ru, &restarted);
		if (ru.matched || ru.logged || ru.captured)
			acct_text_rule(sb, &ru);
	}
}

void
account_text(const struct account *a, uint64_t shown, uint64_t malformed,
    struct strbuf *sb)
{
	struct account_result	r;

	account_result(a, &r);
	strbuf_addf(sb, "bulkhead-capture: %llu records read, %llu shown, "
	    "%llu malformed, %llu lost in the socket", (unsigned long long)
	    r.records, (unsigned long long)shown, (unsigned long long)malformed,
	    (unsigned long long)r.lost);
	if (r.records && r.sequenced < r.records)
		strbuf_addf(sb, " (%llu records without sequence numbers)",
		    (unsigned long long)(r.records - r.sequenced));
	strbuf_addf(sb, ", %llu socket buffer overruns", (unsigned long long)
	    r.overruns);
	if (r.lost || r.overruns)
		strbuf_addstr(sb, ": records were LOST, raise -B");
	strbuf_addstr(sb, "\n");
	if (r.kernel)
		acct_text_kernel(a, &r, sb);
	else if (r.group >= 0 && !r.group_read)
		strbuf_addf(sb, "bulkhead-capture: no kernel comparison: "
		    "bulkheadd logs to group %d, not read\n", r.group);
	else if (account_has_snapshot(a, 0) || account_has_snapshot(a, 1))
		strbuf_addstr(sb, "bulkhead-capture: no kernel comparison: "
		    "bulkheadd's counters were not read at both ends\n");
}

static json_t *
acct_json_rules(const struct account *a)
{
	json_t			*v = json_array();
	struct acct_rule	 ru;
	size_t			 i;
	int			 restarted = 0;

	for (i = 0; i < a->snap[1].n; i++) {
		acct_rule(a, &a->snap[1].v[i], &ru, &restarted);
		if (!ru.matched && !ru.logged && !ru.captured)
			continue;
		json_array_append_new(v, json_pack("{s:s, s:s, s:s, s:s, s:s, "
		    "s:I, s:o, s:o, s:I}", "tag", ru.c->tag, "policy",
		    ru.c->policy, "direction", ru.c->direction, "rule",
		    ru.c->rule, "action", ru.c->action, "matched",
		    (json_int_t)ru.matched, "logged", ru.c->has_logged ?
		    json_integer((json_int_t)ru.logged) : json_null(),
		    "rate_limited", ru.c->has_logged ?
		    json_integer((json_int_t)(ru.matched > ru.logged ?
		    ru.matched - ru.logged : 0)) : json_null(),
		    "captured", (json_int_t)ru.captured));
	}
	return v;
}

static json_t *
acct_json_kernel(const struct account *a, const struct account_result *r)
{
	if (!r->kernel)
		return json_null();
	return json_pack("{s:i, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:b, s:b, "
	    "s:o}", "group", r->group, "matched", (json_int_t)r->matched,
	    "logged", (json_int_t)r->logged, "rate_limited",
	    (json_int_t)r->rate_limited, "captured", (json_int_t)r->captured,
	    "lost", (json_int_t)r->group_lost, "foreign",
	    (json_int_t)r->foreign, "unaccounted", (json_int_t)r->unaccounted,
	    "accounted", r->accounted, "reapplied", r->reapplied, "rules",
	    acct_json_rules(a));
}

void
account_json(const struct account *a, const char *time, uint64_t shown,
    uint64_t malformed, struct strbuf *sb)
{
	struct account_result	 r;
	json_t			*o;
	char			*s;

	account_result(a, &r);
	o = json_pack("{s:s, s:s, s:I, s:I, s:I, s:I, s:I, s:I, s:o}",
	    "event", "summary", "time", time, "records", (json_int_t)r.records,
	    "shown", (json_int_t)shown, "malformed", (json_int_t)malformed,
	    "lost", (json_int_t)r.lost, "sequenced", (json_int_t)r.sequenced,
	    "overruns", (json_int_t)r.overruns, "kernel",
	    acct_json_kernel(a, &r));
	s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
	if (s == NULL)
		fatalx("%s: out of memory", __func__);
	strbuf_addstr(sb, s);
	free(s);
	json_decref(o);
}
