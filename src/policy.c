/*
 * policy.c: loads the rules directory into the policy model of policy.h.
 * First stage of the policy half of the flow: rule files -> policy_set ->
 * evaluate.c (check, explain) and compile.c (the ruleset bulkheadd
 * programs).
 *
 * jansson parses; this file validates every field and reports every
 * problem of every file, each located as FILE:LINE:COLUMN: $.path: message.
 * jansson locates syntax errors itself; a value that parsed but is wrong
 * is located by re-scanning the text with jsonloc.c.  A load with any
 * error fails as a whole, so the daemon keeps its last good rules.
 */
#include <sys/stat.h>

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "errlist.h"
#include "jsonloc.h"
#include "k8s.h"
#include "labels.h"
#include "log.h"
#include "policy.h"
#include "policy_loader.h"
#include "selector.h"
#include "util.h"

/* Rule files are small; a huge one is a mistake, not a policy. */
#define POLICY_MAXFILE	(16 * 1024 * 1024)
#define POLICY_MAXNAME	63


/* ---- names of enums ---- */

const char *
pol_action_str(enum pol_action a)
{
	switch (a) {
	case POL_ALLOW: return "allow";
	case POL_DENY: return "deny";
	case POL_LOG: return "log";
	}
	return "?";
}

const char *
pol_dir_str(enum pol_dir d)
{
	return d == POL_INGRESS ? "ingress" : "egress";
}

static const struct {
	const char	*name;
	int		 proto;
} policy_protos[] = {
	{ "tcp", IPPROTO_TCP },
	{ "udp", IPPROTO_UDP },
	{ "sctp", IPPROTO_SCTP },
	{ "icmp", IPPROTO_ICMP },
	{ "icmpv6", IPPROTO_ICMPV6 },
};

const char *
pol_proto_str(int proto, char *buf, size_t len)
{
	size_t	i;

	for (i = 0; i < ARRAY_SIZE(policy_protos); i++)
		if (policy_protos[i].proto == proto)
			return policy_protos[i].name;
	snprintf(buf, len, "%d", proto);
	return buf;
}

/* ---- the set ---- */

struct policy_set *
policy_set_new(void)
{
	return xcalloc(1, sizeof(struct policy_set));
}

static void
policy_peer_release(struct peer *p)
{
	selector_free(p->selector);
	selector_free(p->ns_selector);
	free(p->nets);
	free(p->not_nets);
	free(p->ports);
	free(p->not_ports);
	free(p->host_ports);
	free(p->port_name);
}

void
policy_free(struct policy *p)
{
	size_t	d, i;

	if (p == NULL)
		return;
	for (d = 0; d < POL_NDIRS; d++) {
		for (i = 0; i < p->nrules[d]; i++) {
			policy_peer_release(&p->rules[d][i].source);
			policy_peer_release(&p->rules[d][i].destination);
		}
		free(p->rules[d]);
	}
	selector_free(p->selector);
	free(p->namespace);
	free(p->name);
	free(p->name_path);
	free(p->file);
	free(p);
}

static void
policy_namespace_free(struct pol_namespace *ns)
{
	if (ns == NULL)
		return;
	free(ns->name);
	free(ns->name_path);
	free(ns->file);
	labelset_release(&ns->labels);
	free(ns);
}

void
policy_set_free(struct policy_set *ps)
{
	size_t	i;

	if (ps == NULL)
		return;
	for (i = 0; i < ps->n; i++)
		policy_free(ps->v[i]);
	free(ps->v);
	for (i = 0; i < ps->nnamespaces; i++)
		policy_namespace_free(ps->namespaces[i]);
	free(ps->namespaces);
	free(ps);
}

const struct pol_namespace *
policy_set_namespace(const struct policy_set *ps, const char *name)
{
	size_t	i;

	for (i = 0; i < ps->nnamespaces; i++)
		if (strcmp(ps->namespaces[i]->name, name) == 0)
			return ps->namespaces[i];
	return NULL;
}

/* ---- located errors ---- */

/*
 * Finds top-level array element n in ld->elem_start/elem_end, walking on
 * from the element cached last: the loader asks in document order, so a
 * whole file costs one pass.  Returns 0 or -1.
 */
static int
policy_element(struct loader *ld, long n)
{
	struct jsonloc_pos	pos;
	long			i;

	if (ld->elem >= 0 && n >= ld->elem) {
		i = ld->elem;
	} else {
		if (jsonloc_array_start(ld->text, ld->len, &pos) == -1 ||
		    jsonloc_value_span(ld->text, ld->len, &pos, 0,
		    &ld->elem_start, &ld->elem_end) == -1) {
			ld->elem = -1;
			return -1;
		}
		i = ld->elem = 0;
	}
	for (; i < n; i++) {
		pos = ld->elem_end;
		if (jsonloc_value_span(ld->text, ld->len, &pos, 1,
		    &ld->elem_start, &ld->elem_end) == -1) {
			ld->elem = -1;
			return -1;
		}
		ld->elem = i + 1;
	}
	return 0;
}

/*
 * jsonloc_find over the element the path starts in, when the file is an
 * array ("$[12].spec..."), else over the whole text.
 */
static int
policy_find(struct loader *ld, int *line, int *column)
{
	const char	*p = ld->path.buf, *rest;
	char		*sub, *end;
	long		 n;
	int		 rc;

	if (strncmp(p, "$[", 2) != 0 || p[2] < '0' || p[2] > '9')
		return jsonloc_find(ld->text, ld->len, p, line, column);
	n = strtol(p + 2, &end, 10);
	if (*end != ']' || policy_element(ld, n) == -1)
		return jsonloc_find(ld->text, ld->len, p, line, column);
	rest = end + 1;
	sub = xasprintf("$%s", rest);
	rc = jsonloc_find(ld->text + ld->elem_start.off,
	    ld->elem_end.off - ld->elem_start.off, sub, line, column);
	free(sub);
	if (rc == -1)
		return jsonloc_find(ld->text, ld->len, p, line, column);
	if (*line == 1)
		*column += ld->elem_start.column - 1;
	*line += ld->elem_start.line - 1;
	return rc;
}

/* Where the value at the current path is; columns + extra. */
static void
policy_locate(struct loader *ld, int extra, struct srcloc *loc)
{
	loc->file = ld->file;
	if (policy_find(ld, &loc->line, &loc->column) == -1) {
		/* jansson accepted what jsonloc did not: still report. */
		loc->line = 1;
		loc->column = 1;
		extra = 0;
	}
	loc->column += extra;
}

static void
policy_verr(struct loader *ld, int extra, const char *fmt, va_list ap)
{
	struct srcloc	 loc;
	char		*msg;

	if (vasprintf(&msg, fmt, ap) < 0)
		fatal("vasprintf");
	policy_locate(ld, extra, &loc);
	errlist_add(ld->errs, "%s:%d:%d: %s: %s", ld->file, loc.line,
	    loc.column, ld->path.buf, msg);
	free(msg);
	ld->nerr++;
}

void
policy_err(struct loader *ld, const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	policy_verr(ld, 0, fmt, ap);
	va_end(ap);
}

static void
policy_err_at(struct loader *ld, int extra, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* An error extra characters into the value, e.g. inside a selector. */
static void
policy_err_at(struct loader *ld, int extra, const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	policy_verr(ld, extra, fmt, ap);
	va_end(ap);
}

/* ---- JSON paths ---- */

static int
policy_is_ident(const char *key)
{
	const char	*k;

	if (!((*key >= 'a' && *key <= 'z') || (*key >= 'A' && *key <= 'Z') ||
	    *key == '_'))
		return 0;
	for (k = key; *k; k++)
		if (!((*k >= 'a' && *k <= 'z') || (*k >= 'A' && *k <= 'Z') ||
		    (*k >= '0' && *k <= '9') || *k == '_'))
			return 0;
	return 1;
}

/* Appends .key (or ["key"]) to the path; returns the length to pop to. */
size_t
policy_push_key(struct loader *ld, const char *key)
{
	size_t	old = ld->path.len;

	if (policy_is_ident(key)) {
		strbuf_addf(&ld->path, ".%s", key);
		return old;
	}
	strbuf_addstr(&ld->path, "[\"");
	for (; *key; key++) {
		if (*key == '"' || *key == '\\')
			strbuf_addstr(&ld->path, "\\");
		strbuf_add(&ld->path, key, 1);
	}
	strbuf_addstr(&ld->path, "\"]");
	return old;
}

size_t
policy_push_index(struct loader *ld, size_t i)
{
	size_t	old = ld->path.len;

	strbuf_addf(&ld->path, "[%zu]", i);
	return old;
}

void
policy_pop(struct loader *ld, size_t old)
{
	ld->path.len = old;
	ld->path.buf[old] = '\0';
}

/* ---- typed members ---- */

const char *
policy_type_name(const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_OBJECT: return "an object";
	case JSON_ARRAY: return "an array";
	case JSON_STRING: return "a string";
	case JSON_INTEGER: return "an integer";
	case JSON_REAL: return "a number";
	case JSON_TRUE: case JSON_FALSE: return "a boolean";
	case JSON_NULL: return "null";
	}
	return "?";
}

/* Checks v (at the current path) is of type t; what names t. */
int
policy_expect(struct loader *ld, const json_t *v, json_type t,
    const char *what)
{
	if (json_typeof(v) == t ||
	    (t == JSON_TRUE && json_typeof(v) == JSON_FALSE))
		return 0;
	policy_err(ld, "expected %s, found %s", what, policy_type_name(v));
	return -1;
}

/* Reports every member of obj not in known (NULL-terminated). */
void
policy_check_fields(struct loader *ld, json_t *obj, const char *const *known)
{
	const char	*key;
	json_t		*v;
	size_t		 i, old;
	struct strbuf	 list;

	json_object_foreach(obj, key, v) {
		for (i = 0; known[i] != NULL; i++)
			if (strcmp(key, known[i]) == 0)
				break;
		if (known[i] != NULL)
			continue;
		strbuf_init(&list);
		for (i = 0; known[i] != NULL; i++)
			strbuf_addf(&list, "%s%s", i ? ", " : "", known[i]);
		old = policy_push_key(ld, key);
		policy_err(ld, "unknown field \"%s\" (known: %s)", key,
		    list.buf);
		policy_pop(ld, old);
		strbuf_release(&list);
	}
}

void
policy_missing(struct loader *ld, const char *key)
{
	size_t	old = policy_push_key(ld, key);

	policy_err(ld, "missing required field");
	policy_pop(ld, old);
}

/* A string member: 1 and *out when present and a string, 0 when absent. */
int
policy_get_string(struct loader *ld, json_t *obj, const char *key,
    int required, const char **out)
{
	json_t	*v = json_object_get(obj, key);
	size_t	 old;
	int	 rc = 1;

	*out = NULL;
	if (v == NULL) {
		if (required)
			policy_missing(ld, key);
		return 0;
	}
	old = policy_push_key(ld, key);
	if (policy_expect(ld, v, JSON_STRING, "a string") == -1)
		rc = -1;
	else
		*out = json_string_value(v);
	policy_pop(ld, old);
	return rc;
}

/* Position of the value at the current path, for the model. */
void
policy_here(struct loader *ld, struct srcloc *loc, const char *file)
{
	policy_locate(ld, 0, loc);
	loc->file = file;
}

/* ---- selectors, addresses, ports ---- */

/* Characters (not bytes) of s[0..n), as columns count them. */
static int
policy_columns(const char *s, size_t n)
{
	int	cols = 0;
	size_t	i;

	for (i = 0; i < n && s[i]; i++)
		if (((unsigned char)s[i] & 0xc0) != 0x80)
			cols++;
	return cols;
}

/* Parses the string at the current path; NULL (reported) when bad. */
static struct selector *
policy_selector(struct loader *ld, json_t *v)
{
	struct selector	*s;
	char		 err[256];
	const char	*text;
	size_t		 pos = 0;

	if (policy_expect(ld, v, JSON_STRING, "a selector string") == -1)
		return NULL;
	text = json_string_value(v);
	if ((s = selector_parse(text, err, sizeof(err), &pos)) == NULL)
		/* + 1: the column after the opening quote. */
		policy_err_at(ld, 1 + policy_columns(text, pos),
		    "invalid selector: %s", err);
	return s;
}

static int
policy_cidr_prefix(const char *s, int max)
{
	int	v = 0;

	if (*s == '\0')
		return -1;
	for (; *s; s++) {
		if (*s < '0' || *s > '9' || (v = v * 10 + (*s - '0')) > max)
			return -1;
	}
	return v;
}

static void
policy_cidr_mask(struct cidr *c)
{
	uint8_t	*b = c->family == AF_INET ? (uint8_t *)&c->addr.v4 :
	    (uint8_t *)&c->addr.v6;
	int	 len = c->family == AF_INET ? 4 : 16, i;

	for (i = 0; i < len; i++) {
		int	bits = (int)c->prefix - i * 8;

		if (bits <= 0)
			b[i] = 0;
		else if (bits < 8)
			b[i] &= (uint8_t)(0xff << (8 - bits));
	}
}

/* "10.0.0.0/8", "fd00::/8" or a bare address (a host route). */
int
policy_parse_cidr(struct loader *ld, const char *s, struct cidr *c)
{
	char	 buf[INET6_ADDRSTRLEN + 8], out[INET6_ADDRSTRLEN];
	char	*slash;
	int	 max, prefix;
	struct cidr masked;

	memset(c, 0, sizeof(*c));
	if (strlen(s) >= sizeof(buf))
		goto err;
	strlcpy_bh(buf, s, sizeof(buf));
	if ((slash = strchr(buf, '/')) != NULL)
		*slash = '\0';
	c->family = strchr(buf, ':') ? AF_INET6 : AF_INET;
	if (inet_pton(c->family, buf, &c->addr) != 1)
		goto err;
	max = c->family == AF_INET ? 32 : 128;
	if ((prefix = slash ? policy_cidr_prefix(slash + 1, max) : max) < 0) {
		policy_err(ld, "invalid CIDR \"%s\": prefix must be 0-%d", s,
		    max);
		return -1;
	}
	c->prefix = (uint8_t)prefix;
	masked = *c;
	policy_cidr_mask(&masked);
	if (memcmp(&masked.addr, &c->addr, sizeof(c->addr)) != 0) {
		inet_ntop(c->family, &masked.addr, out, sizeof(out));
		policy_err(ld, "host bits set in %s; did you mean %s/%d", s,
		    out, prefix);
		return -1;
	}
	return 0;
err:
	policy_err(ld, "invalid CIDR \"%s\"", s);
	return -1;
}

/* nets or notNets; version: the rule's IP version (0: both). */
static void
policy_nets(struct loader *ld, json_t *arr, int version, struct cidr **outv,
    size_t *outn)
{
	json_t	*e;
	size_t	 i, old;
	struct cidr c;

	if (policy_expect(ld, arr, JSON_ARRAY, "an array of CIDRs") == -1)
		return;
	*outv = xcalloc(json_array_size(arr), sizeof(**outv));
	json_array_foreach(arr, i, e) {
		old = policy_push_index(ld, i);
		if (policy_expect(ld, e, JSON_STRING, "a CIDR string") == 0 &&
		    policy_parse_cidr(ld, json_string_value(e), &c) == 0) {
			if (version && (c.family == AF_INET) != (version == 4))
				policy_err(ld, "%s is an IPv%d network, but "
				    "the rule is IPv%d only",
				    json_string_value(e), version == 4 ? 6 : 4,
				    version);
			else
				(*outv)[(*outn)++] = c;
		}
		policy_pop(ld, old);
	}
}

static int
policy_port_num(const char *s, const char *end, long *v)
{
	*v = 0;
	if (s == end)
		return -1;
	for (; s < end; s++) {
		if (*s < '0' || *s > '9')
			return -1;
		if ((*v = *v * 10 + (*s - '0')) > 1000000)
			*v = 1000000;	/* reported as out of range */
	}
	return 0;
}

/* "80" or "8000:8080". */
static int
policy_port_string(struct loader *ld, const char *s, long *lo, long *hi)
{
	const char	*colon = strchr(s, ':'), *end = s + strlen(s);

	if (colon == NULL) {
		if (policy_port_num(s, end, lo) == -1)
			goto err;
		*hi = *lo;
		return 0;
	}
	if (policy_port_num(s, colon, lo) == -1 ||
	    policy_port_num(colon + 1, end, hi) == -1)
		goto err;
	return 0;
err:
	policy_err(ld, "invalid port range \"%s\" (expected a number or "
	    "\"lo:hi\")", s);
	return -1;
}

static int
policy_port(struct loader *ld, json_t *e, struct port_range *pr)
{
	long	lo, hi;

	if (json_is_integer(e)) {
		json_int_t v = json_integer_value(e);

		if (v < 0 || v > 65535) {
			policy_err(ld, "port %lld out of range 0-65535",
			    (long long)v);
			return -1;
		}
		lo = hi = (long)v;
	} else if (json_is_string(e)) {
		if (policy_port_string(ld, json_string_value(e), &lo, &hi))
			return -1;
	} else {
		policy_err(ld, "expected a port number or a \"lo:hi\" string, "
		    "found %s", policy_type_name(e));
		return -1;
	}
	if (lo > 65535 || hi > 65535) {
		policy_err(ld, "port %ld out of range 0-65535",
		    lo > 65535 ? lo : hi);
		return -1;
	}
	if (lo > hi) {
		policy_err(ld, "port range \"%s\" has lo > hi",
		    json_string_value(e));
		return -1;
	}
	pr->lo = (uint16_t)lo;
	pr->hi = (uint16_t)hi;
	return 0;
}

static int
policy_proto_has_ports(int proto)
{
	return proto == IPPROTO_TCP || proto == IPPROTO_UDP ||
	    proto == IPPROTO_SCTP;
}

/* ports, notPorts or hostPorts (what, for messages) of a rule with
 * protocol proto. */
static void
policy_ports(struct loader *ld, json_t *arr, int proto, const char *what,
    struct port_range **outv, size_t *outn)
{
	json_t	*e;
	size_t	 i, old;
	char	 buf[16];

	if (policy_expect(ld, arr, JSON_ARRAY, "an array of ports") == -1 ||
	    ld->proto_bad)
		return;
	if (!policy_proto_has_ports(proto)) {
		if (proto)
			policy_err(ld, "%s need protocol tcp, udp or sctp "
			    "(protocol is %s)", what, pol_proto_str(proto, buf,
			    sizeof(buf)));
		else
			policy_err(ld, "%s need protocol tcp, udp or sctp "
			    "(no protocol given)", what);
		return;
	}
	*outv = xcalloc(json_array_size(arr), sizeof(**outv));
	json_array_foreach(arr, i, e) {
		old = policy_push_index(ld, i);
		if (policy_port(ld, e, &(*outv)[*outn]) == 0)
			(*outn)++;
		policy_pop(ld, old);
	}
}

/* ---- rules ---- */

/* What a rule's peers need to know of the rule. */
struct rule_ctx {
	int	proto;
	int	version;	/* 4, 6, or 0: both */
	int	source;		/* the peer is the rule's source */
};

static void
policy_entity(struct loader *ld, json_t *v, struct peer *p)
{
	const char	*s;

	if (policy_expect(ld, v, JSON_STRING, "a string") == -1)
		return;
	s = json_string_value(v);
	if (strcmp(s, "host") == 0)
		p->entity = POL_ENTITY_HOST;
	else if (strcmp(s, "world") == 0)
		p->entity = POL_ENTITY_WORLD;
	else if (strcmp(s, "any") == 0)
		p->entity = POL_ENTITY_ANY;
	else
		policy_err(ld, "unknown entity \"%s\" (expected host, world or "
		    "any)", s);
}

/*
 * hostPorts: the destination port before Docker's DNAT, which only the
 * destination has (a source port is never translated by publishing).
 */
static void
policy_host_ports(struct loader *ld, json_t *v, const struct rule_ctx *rc,
    struct peer *p)
{
	if (rc->source) {
		policy_err(ld, "hostPorts is for the destination only (the "
		    "port a client connected to before Docker's port "
		    "publishing translated it)");
		return;
	}
	policy_ports(ld, v, rc->proto, "hostPorts", &p->host_ports,
	    &p->nhost_ports);
}

/* One member of a peer, at the member's path. */
static void
policy_peer_member(struct loader *ld, const char *key, json_t *v,
    const struct rule_ctx *rc, struct peer *p)
{
	if (strcmp(key, "selector") == 0)
		p->selector = policy_selector(ld, v);
	else if (strcmp(key, "namespaceSelector") == 0)
		p->ns_selector = policy_selector(ld, v);
	else if (strcmp(key, "nets") == 0)
		policy_nets(ld, v, rc->version, &p->nets, &p->nnets);
	else if (strcmp(key, "notNets") == 0)
		policy_nets(ld, v, rc->version, &p->not_nets, &p->nnot_nets);
	else if (strcmp(key, "ports") == 0)
		policy_ports(ld, v, rc->proto, "ports", &p->ports, &p->nports);
	else if (strcmp(key, "notPorts") == 0)
		policy_ports(ld, v, rc->proto, "ports", &p->not_ports,
		    &p->nnot_ports);
	else if (strcmp(key, "hostPorts") == 0)
		policy_host_ports(ld, v, rc, p);
	else if (strcmp(key, "entity") == 0)
		policy_entity(ld, v, p);
}

static void
policy_peer(struct loader *ld, json_t *obj, const struct rule_ctx *rc,
    struct peer *p)
{
	static const char *const known[] = { "selector", "namespaceSelector",
	    "nets", "notNets", "ports", "notPorts", "hostPorts", "entity",
	    NULL };
	const char	*key;
	json_t		*v;
	size_t		 old;

	if (policy_expect(ld, obj, JSON_OBJECT, "a peer object") == -1)
		return;
	policy_check_fields(ld, obj, known);
	json_object_foreach(obj, key, v) {
		old = policy_push_key(ld, key);
		policy_peer_member(ld, key, v, rc, p);
		policy_pop(ld, old);
	}
}

static void
policy_action(struct loader *ld, const char *s, struct rule *r)
{
	if (strcmp(s, "allow") == 0)
		r->action = POL_ALLOW;
	else if (strcmp(s, "deny") == 0)
		r->action = POL_DENY;
	else if (strcmp(s, "log") == 0)
		r->action = POL_LOG;
	else
		policy_err(ld, "unknown action \"%s\" (expected allow, deny or "
		    "log)", s);
}

static void
policy_protocol(struct loader *ld, json_t *v, struct rule *r)
{
	size_t		 i;
	const char	*s;

	if (json_is_integer(v)) {
		json_int_t n = json_integer_value(v);

		if (n < 1 || n > 255)
			policy_err(ld, "protocol %lld out of range 1-255",
			    (long long)n);
		else
			r->protocol = (int)n;
		return;
	}
	if (!json_is_string(v)) {
		policy_err(ld, "expected a protocol name or number, found %s",
		    policy_type_name(v));
		return;
	}
	s = json_string_value(v);
	for (i = 0; i < ARRAY_SIZE(policy_protos); i++)
		if (strcmp(s, policy_protos[i].name) == 0) {
			r->protocol = policy_protos[i].proto;
			return;
		}
	policy_err(ld, "unknown protocol \"%s\" (expected tcp, udp, sctp, "
	    "icmp, icmpv6 or a number 1-255)", s);
}

static void
policy_ip_version(struct loader *ld, json_t *v, struct rule *r)
{
	if (!json_is_integer(v) || (json_integer_value(v) != 4 &&
	    json_integer_value(v) != 6)) {
		policy_err(ld, "ipVersion must be 4 or 6");
		return;
	}
	r->ip_version = (int)json_integer_value(v);
	if ((r->ip_version == 4 && r->protocol == IPPROTO_ICMPV6) ||
	    (r->ip_version == 6 && r->protocol == IPPROTO_ICMP))
		policy_err(ld, "ipVersion %d conflicts with protocol %s",
		    r->ip_version, r->protocol == IPPROTO_ICMP ? "icmp" :
		    "icmpv6");
}

/* type or code of icmp: 0-255. */
static void
policy_icmp_field(struct loader *ld, json_t *obj, const char *key, int *out)
{
	json_t	*v = json_object_get(obj, key);
	size_t	 old;

	if (v == NULL)
		return;
	old = policy_push_key(ld, key);
	if (!json_is_integer(v) || json_integer_value(v) < 0 ||
	    json_integer_value(v) > 255)
		policy_err(ld, "icmp %s must be an integer 0-255", key);
	else
		*out = (int)json_integer_value(v);
	policy_pop(ld, old);
}

static void
policy_icmp(struct loader *ld, json_t *obj, struct rule *r)
{
	static const char *const known[] = { "type", "code", NULL };

	if (policy_expect(ld, obj, JSON_OBJECT, "an object") == -1 ||
	    ld->proto_bad)
		return;
	if (r->protocol != IPPROTO_ICMP && r->protocol != IPPROTO_ICMPV6) {
		policy_err(ld, "icmp needs protocol icmp or icmpv6");
		return;
	}
	policy_check_fields(ld, obj, known);
	policy_icmp_field(ld, obj, "type", &r->icmp.type);
	policy_icmp_field(ld, obj, "code", &r->icmp.code);
}

/* Applies rule member key (at its path) to r; peers come later. */
static void
policy_rule_member(struct loader *ld, const char *key, json_t *v,
    struct rule *r)
{
	if (strcmp(key, "action") == 0) {
		if (policy_expect(ld, v, JSON_STRING, "a string") == 0)
			policy_action(ld, json_string_value(v), r);
	} else if (strcmp(key, "protocol") == 0)
		policy_protocol(ld, v, r);
	else if (strcmp(key, "log") == 0) {
		if (policy_expect(ld, v, JSON_TRUE, "a boolean") == 0)
			r->log = json_is_true(v);
	}
}

/* Applies member key of obj, when present, with fn. */
static void
policy_with_member(struct loader *ld, json_t *obj, const char *key,
    void (*fn)(struct loader *, json_t *, struct rule *), struct rule *r)
{
	json_t	*v = json_object_get(obj, key);
	size_t	 old;

	if (v == NULL)
		return;
	old = policy_push_key(ld, key);
	fn(ld, v, r);
	policy_pop(ld, old);
}

static void
policy_rule_peer(struct loader *ld, json_t *obj, const char *key,
    struct rule *r, struct peer *p)
{
	json_t		*v = json_object_get(obj, key);
	struct rule_ctx	 rc;
	size_t		 old;

	if (v == NULL)
		return;
	rc.proto = r->protocol;
	rc.version = r->ip_version;
	rc.source = p == &r->source;
	if (r->protocol == IPPROTO_ICMP)
		rc.version = 4;
	else if (r->protocol == IPPROTO_ICMPV6)
		rc.version = 6;
	old = policy_push_key(ld, key);
	policy_peer(ld, v, &rc, p);
	policy_pop(ld, old);
}

static void
policy_rule(struct loader *ld, json_t *obj, const char *file, struct rule *r)
{
	static const char *const known[] = { "action", "protocol",
	    "ipVersion", "icmp", "source", "destination", "log", NULL };
	static const char *const order[] = { "action", "protocol", "log",
	    NULL };
	size_t	 i, old;
	json_t	*v;

	r->icmp.type = r->icmp.code = -1;
	policy_here(ld, &r->loc, file);
	if (policy_expect(ld, obj, JSON_OBJECT, "a rule object") == -1)
		return;
	policy_check_fields(ld, obj, known);
	if (json_object_get(obj, "action") == NULL)
		policy_missing(ld, "action");
	for (i = 0; order[i] != NULL; i++) {
		if ((v = json_object_get(obj, order[i])) == NULL)
			continue;
		old = policy_push_key(ld, order[i]);
		policy_rule_member(ld, order[i], v, r);
		policy_pop(ld, old);
	}
	ld->proto_bad = json_object_get(obj, "protocol") && !r->protocol;
	/* After protocol: these check themselves against it. */
	policy_with_member(ld, obj, "ipVersion", policy_ip_version, r);
	policy_with_member(ld, obj, "icmp", policy_icmp, r);
	policy_rule_peer(ld, obj, "source", r, &r->source);
	policy_rule_peer(ld, obj, "destination", r, &r->destination);
}

/* spec.ingress or spec.egress, at its path. */
static void
policy_rules(struct loader *ld, json_t *arr, struct policy *p, int dir)
{
	json_t	*e;
	size_t	 i, old;

	if (policy_expect(ld, arr, JSON_ARRAY, "an array of rules") == -1)
		return;
	p->rules[dir] = xcalloc(json_array_size(arr), sizeof(struct rule));
	json_array_foreach(arr, i, e) {
		old = policy_push_index(ld, i);
		policy_rule(ld, e, p->file, &p->rules[dir][i]);
		policy_pop(ld, old);
	}
	p->nrules[dir] = json_array_size(arr);
}

/* ---- policies ---- */

static void
policy_types(struct loader *ld, json_t *arr, struct policy *p)
{
	json_t		*e;
	size_t		 i, old;
	const char	*s;
	unsigned	 t;

	if (policy_expect(ld, arr, JSON_ARRAY, "an array of strings") == -1)
		return;
	if (json_array_size(arr) == 0)
		policy_err(ld, "empty types: the policy would apply to nothing");
	json_array_foreach(arr, i, e) {
		old = policy_push_index(ld, i);
		if (policy_expect(ld, e, JSON_STRING, "a string") == 0) {
			s = json_string_value(e);
			t = strcmp(s, "ingress") == 0 ? POL_TYPE_INGRESS :
			    strcmp(s, "egress") == 0 ? POL_TYPE_EGRESS : 0;
			if (t == 0)
				policy_err(ld, "unknown type \"%s\" (expected "
				    "ingress or egress)", s);
			else if (p->types & t)
				policy_err(ld, "duplicate type \"%s\"", s);
			p->types |= t;
		}
		policy_pop(ld, old);
	}
}

static void
policy_mode(struct loader *ld, json_t *v, struct policy *p)
{
	const char	*s;

	if (policy_expect(ld, v, JSON_STRING, "a string") == -1)
		return;
	s = json_string_value(v);
	if (strcmp(s, "enforce") == 0)
		p->mode = POL_ENFORCE;
	else if (strcmp(s, "audit") == 0)
		p->mode = POL_AUDIT;
	else
		policy_err(ld, "unknown mode \"%s\" (expected enforce or "
		    "audit)", s);
}

/* A member of spec other than the rule lists, at its path. */
static void
policy_spec_member(struct loader *ld, const char *key, json_t *v,
    struct policy *p)
{
	if (strcmp(key, "selector") == 0)
		p->selector = policy_selector(ld, v);
	else if (strcmp(key, "order") == 0) {
		if (json_is_number(v))
			p->order = json_number_value(v);
		else
			policy_err(ld, "expected a number, found %s",
			    policy_type_name(v));
	} else if (strcmp(key, "mode") == 0)
		policy_mode(ld, v, p);
	else if (strcmp(key, "types") == 0)
		policy_types(ld, v, p);
}

/*
 * Default types: the directions that have rule lists, else ingress.  A
 * list for a direction the policy does not apply to would be silently
 * dead, so it is an error.
 */
static void
policy_check_types(struct loader *ld, json_t *spec, struct policy *p)
{
	unsigned	has = 0;
	size_t		old;
	int		d;

	if (json_object_get(spec, "ingress"))
		has |= POL_TYPE_INGRESS;
	if (json_object_get(spec, "egress"))
		has |= POL_TYPE_EGRESS;
	if (json_object_get(spec, "types") == NULL) {
		p->types = has ? has : POL_TYPE_INGRESS;
		return;
	}
	for (d = 0; d < POL_NDIRS; d++) {
		if (!(has & (1u << d)) || (p->types & (1u << d)) || !p->types)
			continue;
		old = policy_push_key(ld, pol_dir_str(d));
		policy_err(ld, "%s rules given but types does not include %s",
		    pol_dir_str(d), pol_dir_str(d));
		policy_pop(ld, old);
	}
}

static void
policy_spec(struct loader *ld, json_t *spec, struct policy *p)
{
	static const char *const known[] = { "selector", "order", "mode",
	    "types", "ingress", "egress", NULL };
	const char	*key;
	json_t		*v;
	size_t		 old;
	int		 d;

	if (policy_expect(ld, spec, JSON_OBJECT, "an object") == -1)
		return;
	policy_check_fields(ld, spec, known);
	if (json_object_get(spec, "selector") == NULL)
		policy_missing(ld, "selector");
	json_object_foreach(spec, key, v) {
		old = policy_push_key(ld, key);
		policy_spec_member(ld, key, v, p);
		policy_pop(ld, old);
	}
	for (d = 0; d < POL_NDIRS; d++) {
		if ((v = json_object_get(spec, pol_dir_str(d))) == NULL)
			continue;
		old = policy_push_key(ld, pol_dir_str(d));
		policy_rules(ld, v, p, d);
		policy_pop(ld, old);
	}
	policy_check_types(ld, spec, p);
}

/* Policy and namespace names end up in log prefixes and messages. */
static int
policy_valid_name(const char *s)
{
	size_t	n = strlen(s);

	if (n == 0 || n > POLICY_MAXNAME)
		return 0;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		    (*s >= '0' && *s <= '9') || *s == '.' || *s == '_' ||
		    *s == '-'))
			return 0;
	return 1;
}

/*
 * metadata.name into *name (a copy, caller frees), its position and path
 * into loc and *path.  extra: a further allowed member ("labels" of a
 * namespace), NULL for none.
 */
static json_t *
policy_metadata(struct loader *ld, json_t *obj, const char *extra,
    char **name, char **path, struct srcloc *loc)
{
	const char	*known[] = { "name", extra, NULL };
	json_t		*md = json_object_get(obj, "metadata");
	const char	*s;
	size_t		 old;

	if (md == NULL) {
		policy_missing(ld, "metadata");
		return NULL;
	}
	old = policy_push_key(ld, "metadata");
	if (policy_expect(ld, md, JSON_OBJECT, "an object") == -1)
		goto out;
	policy_check_fields(ld, md, known);
	if (policy_get_string(ld, md, "name", 1, &s) != 1)
		goto out;
	policy_push_key(ld, "name");
	if (!policy_valid_name(s))
		policy_err(ld, "invalid name \"%s\": use 1-%d letters, digits, "
		    "'.', '_' or '-'", s, POLICY_MAXNAME);
	*name = xstrdup(s);
	*path = xstrdup(ld->path.buf);
	policy_here(ld, loc, NULL);
out:
	policy_pop(ld, old);
	return md;
}

void
policy_set_add(struct policy_set *ps, struct policy *p)
{
	ps->v = xreallocarray(ps->v, ps->n + 1, sizeof(*ps->v));
	p->seq = ps->n;
	ps->v[ps->n++] = p;
}

/* A bulkhead/v1 Policy at the current path. */
static void
policy_object(struct loader *ld, json_t *obj)
{
	static const char *const known[] = { "apiVersion", "kind",
	    "metadata", "spec", NULL };
	struct policy	*p = xcalloc(1, sizeof(*p));
	int		 nerr = ld->nerr;
	json_t		*spec;
	size_t		 old;

	p->file = xstrdup(ld->file);
	p->order = 1000;
	policy_here(ld, &p->loc, p->file);
	policy_check_fields(ld, obj, known);
	policy_metadata(ld, obj, NULL, &p->name, &p->name_path, &p->name_loc);
	p->name_loc.file = p->file;
	if ((spec = json_object_get(obj, "spec")) == NULL)
		policy_missing(ld, "spec");
	else {
		old = policy_push_key(ld, "spec");
		policy_spec(ld, spec, p);
		policy_pop(ld, old);
	}
	/* Half-checked policies never reach the set: callers may compile it. */
	if (ld->nerr != nerr)
		policy_free(p);
	else
		policy_set_add(ld->ps, p);
}

/* metadata.labels of a namespace. */
static void
policy_ns_labels(struct loader *ld, json_t *md, struct pol_namespace *ns)
{
	json_t		*labels = md ? json_object_get(md, "labels") : NULL;
	const char	*key;
	json_t		*v;
	size_t		 old, old2;

	if (labels == NULL)
		return;
	old = policy_push_key(ld, "metadata");
	policy_push_key(ld, "labels");
	if (policy_expect(ld, labels, JSON_OBJECT, "an object") == 0) {
		json_object_foreach(labels, key, v) {
			old2 = policy_push_key(ld, key);
			if (policy_expect(ld, v, JSON_STRING, "a string") == 0)
				labelset_set(&ns->labels, key,
				    json_string_value(v));
			policy_pop(ld, old2);
		}
	}
	policy_pop(ld, old);
}

/* A v1 Namespace at the current path: labels for namespaceSelector. */
static void
policy_namespace(struct loader *ld, json_t *obj)
{
	static const char *const known[] = { "apiVersion", "kind",
	    "metadata", NULL };
	struct pol_namespace	*ns = xcalloc(1, sizeof(*ns));
	struct policy_set	*ps = ld->ps;
	int			 nerr = ld->nerr;
	json_t			*md;

	labelset_init(&ns->labels);
	ns->file = xstrdup(ld->file);
	policy_check_fields(ld, obj, known);
	md = policy_metadata(ld, obj, "labels", &ns->name, &ns->name_path,
	    &ns->loc);
	ns->loc.file = ns->file;
	if (md && json_is_object(md))
		policy_ns_labels(ld, md, ns);
	if (ld->nerr != nerr) {
		policy_namespace_free(ns);
		return;
	}
	ps->namespaces = xreallocarray(ps->namespaces, ps->nnamespaces + 1,
	    sizeof(*ps->namespaces));
	ps->namespaces[ps->nnamespaces++] = ns;
}

/*
 * A v1 List (what `kubectl get -o json` prints): its items are taken as
 * if they were the elements of an array; a List may not nest.
 */
static void
policy_list(struct loader *ld, json_t *obj)
{
	static const char *const known[] = { "apiVersion", "kind",
	    "metadata", "items", NULL };
	json_t	*items = json_object_get(obj, "items"), *e;
	size_t	 i, old, old2;

	policy_check_fields(ld, obj, known);
	if (items == NULL) {
		policy_missing(ld, "items");
		return;
	}
	old = policy_push_key(ld, "items");
	if (policy_expect(ld, items, JSON_ARRAY, "an array of objects") == 0) {
		json_array_foreach(items, i, e) {
			old2 = policy_push_index(ld, i);
			if (json_is_object(e) &&
			    json_is_string(json_object_get(e, "kind")) &&
			    strcmp(json_string_value(json_object_get(e,
			    "kind")), "List") == 0)
				policy_err(ld, "a List inside a List");
			else
				policy_any_object(ld, e);
			policy_pop(ld, old2);
		}
	}
	policy_pop(ld, old);
}

/* One object of a file, at the current path: dispatch on its kind. */
void
policy_any_object(struct loader *ld, json_t *obj)
{
	const char	*api, *kind;
	size_t		 old;
	int		 rc;

	if (policy_expect(ld, obj, JSON_OBJECT, "an object") == -1)
		return;
	/* Both, so that both are reported when both are wrong. */
	rc = policy_get_string(ld, obj, "apiVersion", 1, &api);
	if (policy_get_string(ld, obj, "kind", 1, &kind) != 1 || rc != 1)
		return;
	if (strcmp(api, "bulkhead/v1") == 0 && strcmp(kind, "Policy") == 0)
		policy_object(ld, obj);
	else if (strcmp(api, "v1") == 0 && strcmp(kind, "Namespace") == 0)
		policy_namespace(ld, obj);
	else if (strcmp(api, K8S_API) == 0 && strcmp(kind, K8S_KIND) == 0)
		k8s_network_policy(ld, obj);
	else if (strcmp(api, "v1") == 0 && strcmp(kind, "List") == 0)
		policy_list(ld, obj);
	else if (strcmp(api, "bulkhead/v1") != 0 && strcmp(api, "v1") != 0 &&
	    strcmp(api, K8S_API) != 0) {
		old = policy_push_key(ld, "apiVersion");
		policy_err(ld, "unknown apiVersion \"%s\" (expected bulkhead/v1, "
		    "v1 or %s)", api, K8S_API);
		policy_pop(ld, old);
	} else {
		old = policy_push_key(ld, "kind");
		policy_err(ld, "unknown kind \"%s\" for apiVersion %s", kind,
		    api);
		policy_pop(ld, old);
	}
}

static void
policy_document(struct loader *ld, json_t *root)
{
	json_t	*e;
	size_t	 i, old;

	if (json_is_object(root)) {
		policy_any_object(ld, root);
		return;
	}
	if (!json_is_array(root)) {
		policy_err(ld, "expected an object or an array of objects, "
		    "found %s", policy_type_name(root));
		return;
	}
	json_array_foreach(root, i, e) {
		old = policy_push_index(ld, i);
		policy_any_object(ld, e);
		policy_pop(ld, old);
	}
}

int
policy_load_buffer(struct policy_set *ps, const char *name, const char *text,
    size_t len, struct errlist *errs)
{
	struct loader	 ld;
	json_error_t	 jerr;
	json_t		*root;

	memset(&ld, 0, sizeof(ld));
	ld.elem = -1;
	ld.ps = ps;
	ld.file = name;
	ld.text = text;
	ld.len = len;
	ld.errs = errs;
	root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
	if (root == NULL) {
		errlist_add(errs, "%s:%d:%d: $: malformed JSON: %s", name,
		    jerr.line, jerr.column, jerr.text);
		return 1;
	}
	strbuf_init(&ld.path);
	strbuf_addstr(&ld.path, "$");
	policy_document(&ld, root);
	strbuf_release(&ld.path);
	json_decref(root);
	return ld.nerr;
}

/* ---- finishing a set ---- */

static int
policy_cmp_name(const void *a, const void *b)
{
	const struct policy	*pa = *(const struct policy *const *)a;
	const struct policy	*pb = *(const struct policy *const *)b;
	int			 c = strcmp(pa->name, pb->name);

	if (c)
		return c;
	return pa->seq < pb->seq ? -1 : pa->seq > pb->seq;
}

static int
policy_cmp_order(const void *a, const void *b)
{
	const struct policy	*pa = *(const struct policy *const *)a;
	const struct policy	*pb = *(const struct policy *const *)b;

	if (pa->order != pb->order)
		return pa->order < pb->order ? -1 : 1;
	return policy_cmp_name(a, b);
}

/* Sorted by (name, load order): a duplicate follows its first. */
static int
policy_dup_names(struct policy_set *ps, struct errlist *errs)
{
	struct policy	*a, *b;
	size_t		 i;
	int		 n = 0;

	if (ps->n == 0)
		return 0;
	qsort(ps->v, ps->n, sizeof(*ps->v), policy_cmp_name);
	for (i = 1; i < ps->n; i++) {
		a = ps->v[i - 1];
		b = ps->v[i];
		if (strcmp(a->name, b->name) != 0)
			continue;
		errlist_add(errs, "%s:%d:%d: %s: duplicate policy name \"%s\" "
		    "(first defined at %s:%d:%d)", b->file, b->name_loc.line,
		    b->name_loc.column, b->name_path, b->name, a->file,
		    a->name_loc.line, a->name_loc.column);
		n++;
	}
	return n;
}

/* Namespaces are few: quadratic is fine and keeps load order. */
static int
policy_dup_namespaces(struct policy_set *ps, struct errlist *errs)
{
	struct pol_namespace	*a, *b;
	size_t			 i, j;
	int			 n = 0;

	for (i = 0; i < ps->nnamespaces; i++) {
		b = ps->namespaces[i];
		for (j = 0; j < i; j++) {
			a = ps->namespaces[j];
			if (strcmp(a->name, b->name) != 0)
				continue;
			errlist_add(errs, "%s:%d:%d: %s: duplicate namespace "
			    "\"%s\" (first defined at %s:%d:%d)", b->file,
			    b->loc.line, b->loc.column, b->name_path, b->name,
			    a->file, a->loc.line, a->loc.column);
			n++;
			break;
		}
	}
	return n;
}

int
policy_set_finish(struct policy_set *ps, struct errlist *errs)
{
	int	n = policy_dup_names(ps, errs) + policy_dup_namespaces(ps, errs);

	if (ps->n)
		qsort(ps->v, ps->n, sizeof(*ps->v), policy_cmp_order);
	return n;
}

/* ---- files and directories ---- */

/* The rules are a security boundary: nobody but the owner may write. */
static int
policy_check_mode(const char *path, const struct stat *st, const char *what,
    struct errlist *errs)
{
	if ((st->st_mode & (S_IWGRP | S_IWOTH)) == 0)
		return 0;
	errlist_add(errs, "%s: refusing a policy %s writable by others "
	    "(mode %04o)", path, what, (unsigned)(st->st_mode & 07777));
	return -1;
}

/* Reads fd whole; NULL (reported) on error.  Caller frees. */
static char *
policy_read_fd(int fd, const char *path, size_t *len, struct errlist *errs)
{
	struct strbuf	sb;
	char		buf[8192];
	ssize_t		n;

	strbuf_init(&sb);
	while ((n = read(fd, buf, sizeof(buf))) != 0) {
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			errlist_add(errs, "%s: read failed: %s", path,
			    strerror(errno));
			goto err;
		}
		if (sb.len + (size_t)n > POLICY_MAXFILE) {
			errlist_add(errs, "%s: refusing a policy file larger "
			    "than %d bytes", path, POLICY_MAXFILE);
			goto err;
		}
		strbuf_add(&sb, buf, (size_t)n);
	}
	*len = sb.len;
	return strbuf_detach(&sb);
err:
	strbuf_release(&sb);
	return NULL;
}

int
policy_load_file(struct policy_set *ps, const char *path,
    struct errlist *errs)
{
	struct stat	 st;
	char		*text;
	size_t		 len;
	int		 fd, n;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)) == -1) {
		errlist_add(errs, "%s: open failed: %s", path, strerror(errno));
		return 1;
	}
	if (fstat(fd, &st) == -1) {
		errlist_add(errs, "%s: stat failed: %s", path, strerror(errno));
		goto err;
	}
	if (!S_ISREG(st.st_mode)) {
		errlist_add(errs, "%s: not a regular file", path);
		goto err;
	}
	if (policy_check_mode(path, &st, "file", errs) == -1)
		goto err;
	if ((text = policy_read_fd(fd, path, &len, errs)) == NULL)
		goto err;
	close(fd);
	n = policy_load_buffer(ps, path, text, len, errs);
	free(text);
	return n;
err:
	close(fd);
	return 1;
}

static int
policy_cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static int
policy_is_json_name(const char *name)
{
	size_t	n = strlen(name);

	return n > 5 && strcmp(name + n - 5, ".json") == 0;
}

/* The entries of dir worth looking at, sorted.  Caller frees. */
static char **
policy_list_dir(DIR *d, size_t *n)
{
	struct dirent	 *de;
	char		**v = NULL;

	*n = 0;
	while ((de = readdir(d)) != NULL) {
		/* Dotfiles (editor swap files too) and READMEs are not rules. */
		if (de->d_name[0] == '.' ||
		    strncmp(de->d_name, "README", 6) == 0)
			continue;
		v = xreallocarray(v, *n + 1, sizeof(*v));
		v[(*n)++] = xstrdup(de->d_name);
	}
	if (*n)
		qsort(v, *n, sizeof(*v), policy_cmp_str);
	return v;
}

/* One entry of the rules directory: a *.json file, or skipped. */
static int
policy_load_entry(struct policy_set *ps, const char *dir, const char *name,
    struct errlist *errs)
{
	struct stat	 st;
	char		*path = xasprintf("%s/%s", dir, name);
	int		 n = 0;

	if (stat(path, &st) == -1) {
		errlist_add(errs, "%s: stat failed: %s", path, strerror(errno));
		n = 1;
	} else if (S_ISDIR(st.st_mode))
		;	/* subdirectories are not read */
	else if (!policy_is_json_name(name)) {
		errlist_add(errs, "%s: not a *.json file", path);
		n = 1;
	} else
		n = policy_load_file(ps, path, errs);
	free(path);
	return n;
}

int
policy_load_dir(const char *dir, struct policy_set **out,
    struct errlist *errs)
{
	struct policy_set	 *ps;
	struct stat		  st;
	DIR			 *d;
	char			**names;
	size_t			  n, i;
	int			  nerr = 0;

	*out = NULL;
	if ((d = opendir(dir)) == NULL) {
		errlist_add(errs, "%s: open failed: %s", dir, strerror(errno));
		return -1;
	}
	if (fstat(dirfd(d), &st) == -1) {
		errlist_add(errs, "%s: stat failed: %s", dir, strerror(errno));
		closedir(d);
		return -1;
	}
	if (policy_check_mode(dir, &st, "directory", errs) == -1) {
		closedir(d);
		return -1;
	}
	names = policy_list_dir(d, &n);
	closedir(d);
	ps = policy_set_new();
	for (i = 0; i < n; i++) {
		nerr += policy_load_entry(ps, dir, names[i], errs);
		free(names[i]);
	}
	free(names);
	nerr += policy_set_finish(ps, errs);
	if (nerr) {
		policy_set_free(ps);
		return -1;
	}
	*out = ps;
	return 0;
}
