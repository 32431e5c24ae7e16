/*
 * k8s.c: Kubernetes NetworkPolicy objects -> the policy model (see k8s.h
 * for the translation).  Called by policy.c's object dispatch with the
 * loader of policy_loader.h, so its errors are located like every other
 * error of the rules directory.  Validation follows the Kubernetes API's:
 * label keys and values, operators, protocols, port names, endPort, CIDRs
 * and their excepts.  Pure.
 */
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

#include "k8s.h"
#include "labels.h"
#include "policy.h"
#include "policy_loader.h"
#include "selector.h"
#include "util.h"

#define K8S_NS_LABEL	"kubernetes.io/metadata.name"

/* A peer of a rule, before it becomes a struct peer (once per port). */
struct k8s_peer {
	char		*pod;		/* selector text, NULL: none */
	char		*ns;		/* namespace selector text, NULL: none */
	struct cidr	 net;
	int		 has_net;
	struct cidr	*except;
	size_t		 nexcept;
};

/* A port of a rule: proto 0 means every protocol and port. */
struct k8s_port {
	int		 proto;
	int		 lo;		/* -1: every port of proto */
	int		 hi;
	char		*name;		/* a named port, or NULL */
};

/* What the rules of one policy need to know of it. */
struct k8s_ctx {
	const char	*ns;		/* the policy's namespace */
	int		 bad;		/* an error was reported */
};

/* ---- names and label syntax, as the Kubernetes API checks them ---- */

static int
k8s_is_alnum(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9');
}

static int
k8s_is_lower_alnum(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

/* RFC 1123 label: [a-z0-9]([-a-z0-9]*[a-z0-9])?, at most max characters. */
static int
k8s_dns_label(const char *s, size_t n, size_t max)
{
	size_t	i;

	if (n == 0 || n > max || !k8s_is_lower_alnum(s[0]) ||
	    !k8s_is_lower_alnum(s[n - 1]))
		return 0;
	for (i = 0; i < n; i++)
		if (!k8s_is_lower_alnum(s[i]) && s[i] != '-')
			return 0;
	return 1;
}

/* RFC 1123 subdomain: dot-separated labels, at most 253 characters. */
static int
k8s_dns_subdomain(const char *s, size_t n)
{
	size_t	i, start = 0;

	if (n == 0 || n > 253)
		return 0;
	for (i = 0; i <= n; i++) {
		if (i < n && s[i] != '.')
			continue;
		if (!k8s_dns_label(s + start, i - start, 253))
			return 0;
		start = i + 1;
	}
	return 1;
}

/*
 * A namespace: a DNS label, as Kubernetes has them, or with '_' inside,
 * as Docker Compose project names (a container's namespace) may have.
 */
static int
k8s_namespace_ok(const char *s)
{
	char	buf[64];
	size_t	i, n = strlen(s);

	if (n == 0 || n >= sizeof(buf))
		return 0;
	for (i = 0; i <= n; i++)
		buf[i] = s[i] == '_' ? '-' : s[i];
	return k8s_dns_label(buf, n, 63) && s[0] != '_' && s[n - 1] != '_';
}

/* A label value: empty, or [A-Za-z0-9]([-_.A-Za-z0-9]*[A-Za-z0-9])?, <= 63. */
static int
k8s_label_value_ok(const char *s)
{
	size_t	i, n = strlen(s);

	if (n == 0)
		return 1;
	if (n > 63 || !k8s_is_alnum(s[0]) || !k8s_is_alnum(s[n - 1]))
		return 0;
	for (i = 0; i < n; i++)
		if (!k8s_is_alnum(s[i]) && s[i] != '-' && s[i] != '_' &&
		    s[i] != '.')
			return 0;
	return 1;
}

/* A label key: [prefix/]name, prefix a DNS subdomain, name a value. */
static int
k8s_label_key_ok(const char *s)
{
	const char	*slash = strchr(s, '/');

	if (slash == NULL)
		return *s != '\0' && k8s_label_value_ok(s);
	if (!k8s_dns_subdomain(s, (size_t)(slash - s)))
		return 0;
	return slash[1] != '\0' && k8s_label_value_ok(slash + 1);
}

/* IANA service name: 1-15 of [a-z0-9-], a letter, no '-' at the ends or
 * twice in a row. */
static int
k8s_port_name_ok(const char *s)
{
	size_t	i, n = strlen(s);
	int	letter = 0;

	if (n == 0 || n > 15 || s[0] == '-' || s[n - 1] == '-' ||
	    strstr(s, "--") != NULL)
		return 0;
	for (i = 0; i < n; i++) {
		if (s[i] >= 'a' && s[i] <= 'z')
			letter = 1;
		else if (!(s[i] >= '0' && s[i] <= '9') && s[i] != '-')
			return 0;
	}
	return letter;
}

/* ---- small helpers ---- */

/* A member, with JSON null taken as absent (as the API server does). */
static json_t *
k8s_get(json_t *obj, const char *key)
{
	json_t	*v = json_object_get(obj, key);

	return json_is_null(v) ? NULL : v;
}

static void
k8s_err(struct loader *ld, struct k8s_ctx *cx, const char *key,
    const char *msg)
{
	size_t	old = key ? policy_push_key(ld, key) : ld->path.len;

	policy_err(ld, "%s", msg);
	cx->bad = 1;
	policy_pop(ld, old);
}

static int
k8s_expect(struct loader *ld, struct k8s_ctx *cx, json_t *v, json_type t,
    const char *what)
{
	if (policy_expect(ld, v, t, what) == 0)
		return 0;
	cx->bad = 1;
	return -1;
}

static void
k8s_fields(struct loader *ld, struct k8s_ctx *cx, json_t *obj,
    const char *const *known)
{
	int	nerr = ld->nerr;

	policy_check_fields(ld, obj, known);
	if (ld->nerr != nerr)
		cx->bad = 1;
}

/* ---- label selectors ---- */

static void
k8s_quote(struct strbuf *sb, const char *v)
{
	/* Valid label values hold no quote: none to escape. */
	strbuf_addf(sb, "'%s'", v);
}

/* A label key at the current path: 0 when valid, else reported. */
static int
k8s_check_key(struct loader *ld, struct k8s_ctx *cx, const char *key)
{
	if (k8s_label_key_ok(key))
		return 0;
	policy_err(ld, "invalid label key \"%s\": a name of 1-63 letters, "
	    "digits, '-', '_' or '.' (alphanumeric at both ends), with an "
	    "optional DNS subdomain prefix and '/'", key);
	cx->bad = 1;
	return -1;
}

/* A label value at the current path: 0 when valid, else reported. */
static int
k8s_check_value(struct loader *ld, struct k8s_ctx *cx, json_t *v)
{
	if (k8s_expect(ld, cx, v, JSON_STRING, "a string") == -1)
		return -1;
	if (k8s_label_value_ok(json_string_value(v)))
		return 0;
	policy_err(ld, "invalid label value \"%s\": at most 63 letters, "
	    "digits, '-', '_' or '.', alphanumeric at both ends",
	    json_string_value(v));
	cx->bad = 1;
	return -1;
}

static void
k8s_match_labels(struct loader *ld, struct k8s_ctx *cx, json_t *obj,
    struct strbuf *sb)
{
	const char	*key;
	json_t		*v;
	size_t		 old;

	if (k8s_expect(ld, cx, obj, JSON_OBJECT, "an object") == -1)
		return;
	json_object_foreach(obj, key, v) {
		old = policy_push_key(ld, key);
		if (k8s_check_key(ld, cx, key) == 0 &&
		    k8s_check_value(ld, cx, v) == 0) {
			strbuf_addf(sb, "%s%s == ", sb->len ? " && " : "", key);
			k8s_quote(sb, json_string_value(v));
		}
		policy_pop(ld, old);
	}
}

/* The values of an In or NotIn expression, as " {'a', 'b'}". */
static void
k8s_values(struct loader *ld, struct k8s_ctx *cx, json_t *arr,
    struct strbuf *sb)
{
	json_t	*e;
	size_t	 i, old;

	strbuf_addstr(sb, " {");
	json_array_foreach(arr, i, e) {
		old = policy_push_index(ld, i);
		if (k8s_check_value(ld, cx, e) == 0) {
			strbuf_addstr(sb, i ? ", " : "");
			k8s_quote(sb, json_string_value(e));
		}
		policy_pop(ld, old);
	}
	strbuf_addstr(sb, "}");
}

/* One of matchExpressions, at its path. */
static void
k8s_expression(struct loader *ld, struct k8s_ctx *cx, json_t *obj,
    struct strbuf *sb)
{
	static const char *const known[] = { "key", "operator", "values",
	    NULL };
	const char	*key, *op;
	json_t		*vals = k8s_get(obj, "values");
	int		 rk, ro, set;
	size_t		 old;

	if (k8s_expect(ld, cx, obj, JSON_OBJECT, "an object") == -1)
		return;
	k8s_fields(ld, cx, obj, known);
	rk = policy_get_string(ld, obj, "key", 1, &key);
	ro = policy_get_string(ld, obj, "operator", 1, &op);
	if (rk != 1 || ro != 1) {
		cx->bad = 1;
		return;
	}
	old = policy_push_key(ld, "key");
	rk = k8s_check_key(ld, cx, key);
	policy_pop(ld, old);
	set = strcmp(op, "In") == 0 || strcmp(op, "NotIn") == 0;
	if (!set && strcmp(op, "Exists") != 0 &&
	    strcmp(op, "DoesNotExist") != 0) {
		old = policy_push_key(ld, "operator");
		policy_err(ld, "unknown operator \"%s\" (expected In, NotIn, "
		    "Exists or DoesNotExist)", op);
		policy_pop(ld, old);
		cx->bad = 1;
		return;
	}
	if (vals && k8s_expect(ld, cx, vals, JSON_ARRAY, "an array") == -1)
		return;
	if (set && (vals == NULL || json_array_size(vals) == 0)) {
		k8s_err(ld, cx, vals ? "values" : NULL, "operator In and "
		    "NotIn need values");
		return;
	}
	if (!set && vals && json_array_size(vals)) {
		k8s_err(ld, cx, "values", "operator Exists and DoesNotExist "
		    "take no values");
		return;
	}
	if (rk == -1)
		return;
	strbuf_addstr(sb, sb->len ? " && " : "");
	if (strcmp(op, "Exists") == 0)
		strbuf_addf(sb, "has(%s)", key);
	else if (strcmp(op, "DoesNotExist") == 0)
		strbuf_addf(sb, "!has(%s)", key);
	else {
		strbuf_addf(sb, "%s %s", key, strcmp(op, "In") == 0 ? "in" :
		    "not in");
		old = policy_push_key(ld, "values");
		k8s_values(ld, cx, vals, sb);
		policy_pop(ld, old);
	}
}

static void
k8s_match_expressions(struct loader *ld, struct k8s_ctx *cx, json_t *arr,
    struct strbuf *sb)
{
	json_t	*e;
	size_t	 i, old;

	if (k8s_expect(ld, cx, arr, JSON_ARRAY, "an array") == -1)
		return;
	json_array_foreach(arr, i, e) {
		old = policy_push_index(ld, i);
		k8s_expression(ld, cx, e, sb);
		policy_pop(ld, old);
	}
}

/*
 * A LabelSelector at the current path, as selector text (a new string
 * the caller frees): its terms ANDed, "all()" when it has none.
 */
static char *
k8s_label_selector(struct loader *ld, struct k8s_ctx *cx, json_t *obj)
{
	static const char *const known[] = { "matchLabels",
	    "matchExpressions", NULL };
	struct strbuf	 sb;
	json_t		*v;
	size_t		 old;

	strbuf_init(&sb);
	if (k8s_expect(ld, cx, obj, JSON_OBJECT, "a label selector "
	    "object") == 0) {
		k8s_fields(ld, cx, obj, known);
		if ((v = k8s_get(obj, "matchLabels")) != NULL) {
			old = policy_push_key(ld, "matchLabels");
			k8s_match_labels(ld, cx, v, &sb);
			policy_pop(ld, old);
		}
		if ((v = k8s_get(obj, "matchExpressions")) != NULL) {
			old = policy_push_key(ld, "matchExpressions");
			k8s_match_expressions(ld, cx, v, &sb);
			policy_pop(ld, old);
		}
	}
	if (sb.len == 0)
		strbuf_addstr(&sb, "all()");
	return strbuf_detach(&sb);
}

/* Parses text built here; a failure is a bug of this file. */
static struct selector *
k8s_selector(struct loader *ld, struct k8s_ctx *cx, const char *text)
{
	struct selector	*s;
	char		 err[256];
	size_t		 pos;

	if ((s = selector_parse(text, err, sizeof(err), &pos)) == NULL) {
		policy_err(ld, "cannot translate the selector (%s at %zu of "
		    "\"%s\")", err, pos, text);
		cx->bad = 1;
	}
	return s;
}

/* ---- peers ---- */

static void
k8s_peer_release(struct k8s_peer *kp)
{
	free(kp->pod);
	free(kp->ns);
	free(kp->except);
}

static int
k8s_cidr_within(const struct cidr *outer, const struct cidr *in)
{
	struct cidr	a = *in, b = *outer;
	const uint8_t	*x, *y;
	size_t		 i, n;
	int		 bits;

	if (a.family != b.family || a.prefix <= b.prefix)
		return 0;
	x = a.family == AF_INET ? (const uint8_t *)&a.addr.v4 :
	    (const uint8_t *)&a.addr.v6;
	y = b.family == AF_INET ? (const uint8_t *)&b.addr.v4 :
	    (const uint8_t *)&b.addr.v6;
	n = a.family == AF_INET ? 4 : 16;
	for (i = 0; i < n; i++) {
		bits = (int)b.prefix - (int)i * 8;
		if (bits <= 0)
			break;
		if (bits >= 8 ? x[i] != y[i] :
		    ((x[i] ^ y[i]) & (uint8_t)(0xff << (8 - bits))) != 0)
			return 0;
	}
	return 1;
}

static void
k8s_except(struct loader *ld, struct k8s_ctx *cx, json_t *arr,
    struct k8s_peer *kp)
{
	json_t		*e;
	size_t		 i, old;
	struct cidr	 c;

	if (k8s_expect(ld, cx, arr, JSON_ARRAY, "an array of CIDRs") == -1)
		return;
	kp->except = xcalloc(json_array_size(arr) + 1, sizeof(*kp->except));
	json_array_foreach(arr, i, e) {
		old = policy_push_index(ld, i);
		if (k8s_expect(ld, cx, e, JSON_STRING, "a CIDR string") == 0 &&
		    policy_parse_cidr(ld, json_string_value(e), &c) == 0) {
			if (kp->has_net && !k8s_cidr_within(&kp->net, &c)) {
				policy_err(ld, "except %s is not strictly "
				    "inside cidr", json_string_value(e));
				cx->bad = 1;
			} else
				kp->except[kp->nexcept++] = c;
		} else
			cx->bad = 1;
		policy_pop(ld, old);
	}
}

static void
k8s_ip_block(struct loader *ld, struct k8s_ctx *cx, json_t *obj,
    struct k8s_peer *kp)
{
	static const char *const known[] = { "cidr", "except", NULL };
	const char	*s;
	json_t		*v;
	size_t		 old;

	if (k8s_expect(ld, cx, obj, JSON_OBJECT, "an object") == -1)
		return;
	k8s_fields(ld, cx, obj, known);
	if (policy_get_string(ld, obj, "cidr", 1, &s) == 1) {
		old = policy_push_key(ld, "cidr");
		if (policy_parse_cidr(ld, s, &kp->net) == 0)
			kp->has_net = 1;
		else
			cx->bad = 1;
		policy_pop(ld, old);
	} else
		cx->bad = 1;
	if ((v = k8s_get(obj, "except")) != NULL) {
		old = policy_push_key(ld, "except");
		k8s_except(ld, cx, v, kp);
		policy_pop(ld, old);
	}
}

/* One member of a peer, at its path. */
static void
k8s_peer_member(struct loader *ld, struct k8s_ctx *cx, const char *key,
    json_t *v, struct k8s_peer *kp)
{
	if (strcmp(key, "podSelector") == 0)
		kp->pod = k8s_label_selector(ld, cx, v);
	else if (strcmp(key, "namespaceSelector") == 0)
		kp->ns = k8s_label_selector(ld, cx, v);
	else if (strcmp(key, "ipBlock") == 0)
		k8s_ip_block(ld, cx, v, kp);
}

/* A NetworkPolicyPeer at its path, into kp (released by the caller). */
static void
k8s_peer(struct loader *ld, struct k8s_ctx *cx, json_t *obj,
    struct k8s_peer *kp)
{
	static const char *const known[] = { "podSelector",
	    "namespaceSelector", "ipBlock", NULL };
	static const char *const order[] = { "podSelector",
	    "namespaceSelector", "ipBlock", NULL };
	json_t	*v;
	size_t	 i, old;

	memset(kp, 0, sizeof(*kp));
	if (k8s_expect(ld, cx, obj, JSON_OBJECT, "a peer object") == -1)
		return;
	k8s_fields(ld, cx, obj, known);
	for (i = 0; order[i] != NULL; i++) {
		if ((v = k8s_get(obj, order[i])) == NULL)
			continue;
		old = policy_push_key(ld, order[i]);
		k8s_peer_member(ld, cx, order[i], v, kp);
		policy_pop(ld, old);
	}
	if (k8s_get(obj, "ipBlock") && (kp->pod || kp->ns))
		k8s_err(ld, cx, "ipBlock", "ipBlock cannot be combined with "
		    "podSelector or namespaceSelector in one peer");
	else if (!k8s_get(obj, "ipBlock") && !kp->pod && !kp->ns)
		k8s_err(ld, cx, NULL, "a peer needs podSelector, "
		    "namespaceSelector or ipBlock");
	/* podSelector alone: pods of the policy's own namespace. */
	if (kp->pod && kp->ns == NULL)
		kp->ns = xasprintf("%s == '%s'", K8S_NS_LABEL, cx->ns);
	/* namespaceSelector alone: every pod there (never a non-container). */
	if (kp->ns && kp->pod == NULL)
		kp->pod = xstrdup("all()");
}

/* ---- ports ---- */

static void
k8s_port_release(struct k8s_port *kp)
{
	free(kp->name);
}

static void
k8s_protocol(struct loader *ld, struct k8s_ctx *cx, json_t *v,
    struct k8s_port *kp)
{
	const char	*s;

	if (k8s_expect(ld, cx, v, JSON_STRING, "a string") == -1)
		return;
	s = json_string_value(v);
	if (strcmp(s, "TCP") == 0)
		kp->proto = IPPROTO_TCP;
	else if (strcmp(s, "UDP") == 0)
		kp->proto = IPPROTO_UDP;
	else if (strcmp(s, "SCTP") == 0)
		kp->proto = IPPROTO_SCTP;
	else {
		policy_err(ld, "unknown protocol \"%s\" (expected TCP, UDP or "
		    "SCTP)", s);
		cx->bad = 1;
	}
}

/* port: a number 1-65535 or a port name. */
static void
k8s_port_value(struct loader *ld, struct k8s_ctx *cx, json_t *v,
    struct k8s_port *kp)
{
	json_int_t	n;

	if (json_is_integer(v)) {
		n = json_integer_value(v);
		if (n < 1 || n > 65535) {
			policy_err(ld, "port %lld out of range 1-65535",
			    (long long)n);
			cx->bad = 1;
		} else
			kp->lo = kp->hi = (int)n;
	} else if (json_is_string(v)) {
		if (!k8s_port_name_ok(json_string_value(v))) {
			policy_err(ld, "invalid port name \"%s\": 1-15 of "
			    "a-z, 0-9 and '-', with a letter, no '-' at the "
			    "ends or twice in a row", json_string_value(v));
			cx->bad = 1;
		} else
			kp->name = xstrdup(json_string_value(v));
	} else {
		policy_err(ld, "expected a port number or name, found %s",
		    policy_type_name(v));
		cx->bad = 1;
	}
}

static void
k8s_end_port(struct loader *ld, struct k8s_ctx *cx, json_t *v,
    json_t *port, struct k8s_port *kp)
{
	json_int_t	n;

	if (!json_is_integer(v)) {
		policy_err(ld, "expected an integer, found %s",
		    policy_type_name(v));
		cx->bad = 1;
		return;
	}
	n = json_integer_value(v);
	if (port == NULL || !json_is_integer(port)) {
		policy_err(ld, "endPort needs a numeric port");
		cx->bad = 1;
	} else if (n > 65535) {
		policy_err(ld, "endPort %lld out of range 1-65535",
		    (long long)n);
		cx->bad = 1;
	} else if (kp->lo > 0 && n < kp->lo) {
		policy_err(ld, "endPort %lld is below port %d", (long long)n,
		    kp->lo);
		cx->bad = 1;
	} else if (kp->lo > 0)
		kp->hi = (int)n;
}

/* A NetworkPolicyPort at its path. */
static void
k8s_port(struct loader *ld, struct k8s_ctx *cx, json_t *obj,
    struct k8s_port *kp)
{
	static const char *const known[] = { "protocol", "port", "endPort",
	    NULL };
	json_t	*v, *port;
	size_t	 old;

	memset(kp, 0, sizeof(*kp));
	kp->proto = IPPROTO_TCP;
	kp->lo = kp->hi = -1;
	if (k8s_expect(ld, cx, obj, JSON_OBJECT, "a port object") == -1)
		return;
	k8s_fields(ld, cx, obj, known);
	if ((v = k8s_get(obj, "protocol")) != NULL) {
		old = policy_push_key(ld, "protocol");
		k8s_protocol(ld, cx, v, kp);
		policy_pop(ld, old);
	}
	if ((port = k8s_get(obj, "port")) != NULL) {
		old = policy_push_key(ld, "port");
		k8s_port_value(ld, cx, port, kp);
		policy_pop(ld, old);
	}
	if ((v = k8s_get(obj, "endPort")) != NULL) {
		old = policy_push_key(ld, "endPort");
		k8s_end_port(ld, cx, v, port, kp);
		policy_pop(ld, old);
	}
}

/* ---- rules ---- */

static void
k8s_cidrs_copy(struct cidr **dst, size_t *n, const struct cidr *src,
    size_t count)
{
	*n = count;
	*dst = xcalloc(count + 1, sizeof(**dst));
	memcpy(*dst, src, count * sizeof(*src));
}

/* The bulkhead peer of the remote side: the peer's criteria. */
static void
k8s_remote(struct loader *ld, struct k8s_ctx *cx, const struct k8s_peer *kp,
    struct peer *p)
{
	if (kp->pod)
		p->selector = k8s_selector(ld, cx, kp->pod);
	if (kp->ns)
		p->ns_selector = k8s_selector(ld, cx, kp->ns);
	if (kp->has_net)
		k8s_cidrs_copy(&p->nets, &p->nnets, &kp->net, 1);
	if (kp->nexcept)
		k8s_cidrs_copy(&p->not_nets, &p->nnot_nets, kp->except,
		    kp->nexcept);
}

/* One bulkhead rule for the pair (kp, kq) of a rule of direction dir. */
static void
k8s_make_rule(struct loader *ld, struct k8s_ctx *cx, int dir,
    const struct k8s_peer *kp, const struct k8s_port *kq, struct rule *r)
{
	struct peer	*remote = dir == POL_INGRESS ? &r->source :
	    &r->destination;

	r->action = POL_ALLOW;
	r->icmp.type = r->icmp.code = -1;
	r->protocol = kq->proto;
	k8s_remote(ld, cx, kp, remote);
	/* Ports are the destination's: the selected container's for
	 * ingress, the remote one's for egress. */
	if (kq->name)
		r->destination.port_name = xstrdup(kq->name);
	else if (kq->lo > 0) {
		r->destination.ports = xcalloc(1, sizeof(struct port_range));
		r->destination.ports[0].lo = (uint16_t)kq->lo;
		r->destination.ports[0].hi = (uint16_t)kq->hi;
		r->destination.nports = 1;
	}
}

/* The from/to list of a rule; an empty or missing one is one "anyone". */
static struct k8s_peer *
k8s_peers(struct loader *ld, struct k8s_ctx *cx, json_t *arr, size_t *n)
{
	struct k8s_peer	*v;
	json_t		*e;
	size_t		 i, old;

	*n = 1;
	if (arr && k8s_expect(ld, cx, arr, JSON_ARRAY, "an array of peers"))
		arr = NULL;
	if (arr == NULL || json_array_size(arr) == 0)
		return xcalloc(1, sizeof(*v));
	*n = json_array_size(arr);
	v = xcalloc(*n, sizeof(*v));
	json_array_foreach(arr, i, e) {
		old = policy_push_index(ld, i);
		k8s_peer(ld, cx, e, &v[i]);
		policy_pop(ld, old);
	}
	return v;
}

/* The ports list of a rule; an empty or missing one is "every port". */
static struct k8s_port *
k8s_ports(struct loader *ld, struct k8s_ctx *cx, json_t *arr, size_t *n)
{
	struct k8s_port	*v;
	json_t		*e;
	size_t		 i, old;

	*n = 1;
	if (arr && k8s_expect(ld, cx, arr, JSON_ARRAY, "an array of ports"))
		arr = NULL;
	if (arr == NULL || json_array_size(arr) == 0) {
		v = xcalloc(1, sizeof(*v));
		v->lo = v->hi = -1;
		return v;
	}
	*n = json_array_size(arr);
	v = xcalloc(*n, sizeof(*v));
	json_array_foreach(arr, i, e) {
		old = policy_push_index(ld, i);
		k8s_port(ld, cx, e, &v[i]);
		policy_pop(ld, old);
	}
	return v;
}

/* Appends the rules of one NetworkPolicy rule (at its path) to p. */
static void
k8s_rule(struct loader *ld, struct k8s_ctx *cx, json_t *obj,
    struct policy *p, int dir)
{
	const char	*peers = dir == POL_INGRESS ? "from" : "to";
	const char	*known[] = { peers, "ports", NULL };
	struct k8s_peer	*kp;
	struct k8s_port	*kq;
	struct srcloc	 loc;
	size_t		 np, nq, i, j, old;
	struct rule	*r;

	if (k8s_expect(ld, cx, obj, JSON_OBJECT, "a rule object") == -1)
		return;
	policy_here(ld, &loc, p->file);
	k8s_fields(ld, cx, obj, known);
	old = policy_push_key(ld, peers);
	kp = k8s_peers(ld, cx, k8s_get(obj, peers), &np);
	policy_pop(ld, old);
	old = policy_push_key(ld, "ports");
	kq = k8s_ports(ld, cx, k8s_get(obj, "ports"), &nq);
	policy_pop(ld, old);
	p->rules[dir] = xreallocarray(p->rules[dir], p->nrules[dir] + np * nq,
	    sizeof(struct rule));
	for (i = 0; i < np; i++)
		for (j = 0; j < nq; j++) {
			r = &p->rules[dir][p->nrules[dir]++];
			memset(r, 0, sizeof(*r));
			r->loc = loc;
			k8s_make_rule(ld, cx, dir, &kp[i], &kq[j], r);
		}
	for (i = 0; i < np; i++)
		k8s_peer_release(&kp[i]);
	for (j = 0; j < nq; j++)
		k8s_port_release(&kq[j]);
	free(kp);
	free(kq);
}

/*
 * Kubernetes: traffic to and from the node a pod runs on is always
 * allowed.  The node is the Docker host: each direction of the policy
 * ends with an allow of entity host on the remote side.
 */
static void
k8s_host_rule(struct policy *p, int dir)
{
	struct rule	*r;

	p->rules[dir] = xreallocarray(p->rules[dir], p->nrules[dir] + 1,
	    sizeof(struct rule));
	r = &p->rules[dir][p->nrules[dir]++];
	memset(r, 0, sizeof(*r));
	r->action = POL_ALLOW;
	r->icmp.type = r->icmp.code = -1;
	r->loc = p->loc;
	if (dir == POL_INGRESS)
		r->source.entity = POL_ENTITY_HOST;
	else
		r->destination.entity = POL_ENTITY_HOST;
}

/* spec.ingress or spec.egress at its path. */
static void
k8s_rules(struct loader *ld, struct k8s_ctx *cx, json_t *arr,
    struct policy *p, int dir)
{
	json_t	*e;
	size_t	 i, old;

	if (k8s_expect(ld, cx, arr, JSON_ARRAY, "an array of rules") == -1)
		return;
	json_array_foreach(arr, i, e) {
		old = policy_push_index(ld, i);
		k8s_rule(ld, cx, e, p, dir);
		policy_pop(ld, old);
	}
}

/* ---- the policy ---- */

/* spec.policyTypes at its path; 0 when empty (the default applies). */
static unsigned
k8s_policy_types(struct loader *ld, struct k8s_ctx *cx, json_t *arr)
{
	json_t		*e;
	size_t		 i, old;
	const char	*s;
	unsigned	 t, types = 0;

	if (k8s_expect(ld, cx, arr, JSON_ARRAY, "an array of strings") == -1)
		return 0;
	json_array_foreach(arr, i, e) {
		old = policy_push_index(ld, i);
		if (k8s_expect(ld, cx, e, JSON_STRING, "a string") == 0) {
			s = json_string_value(e);
			t = strcmp(s, "Ingress") == 0 ? POL_TYPE_INGRESS :
			    strcmp(s, "Egress") == 0 ? POL_TYPE_EGRESS : 0;
			if (t == 0) {
				policy_err(ld, "unknown policy type \"%s\" "
				    "(expected Ingress or Egress)", s);
				cx->bad = 1;
			} else if (types & t) {
				policy_err(ld, "duplicate policy type \"%s\"",
				    s);
				cx->bad = 1;
			}
			types |= t;
		}
		policy_pop(ld, old);
	}
	return types;
}

/*
 * Kubernetes' defaulting: without policyTypes, Ingress, plus Egress when
 * spec.egress holds a rule.  Rules of a direction outside the types are
 * checked and kept but never used (the policy does not apply in that
 * direction), as Kubernetes ignores them.
 */
static void
k8s_spec(struct loader *ld, struct k8s_ctx *cx, json_t *spec,
    struct policy *p)
{
	static const char *const known[] = { "podSelector", "policyTypes",
	    "ingress", "egress", NULL };
	json_t		*v, *eg = k8s_get(spec, "egress");
	char		*text;
	size_t		 old;
	int		 d;

	if (k8s_expect(ld, cx, spec, JSON_OBJECT, "an object") == -1)
		return;
	k8s_fields(ld, cx, spec, known);
	if ((v = k8s_get(spec, "podSelector")) == NULL) {
		policy_missing(ld, "podSelector");
		cx->bad = 1;
	} else {
		old = policy_push_key(ld, "podSelector");
		text = k8s_label_selector(ld, cx, v);
		p->selector = k8s_selector(ld, cx, text);
		free(text);
		policy_pop(ld, old);
	}
	if ((v = k8s_get(spec, "policyTypes")) != NULL) {
		old = policy_push_key(ld, "policyTypes");
		p->types = k8s_policy_types(ld, cx, v);
		policy_pop(ld, old);
	}
	if (p->types == 0)
		p->types = POL_TYPE_INGRESS | (json_is_array(eg) &&
		    json_array_size(eg) ? POL_TYPE_EGRESS : 0);
	for (d = 0; d < POL_NDIRS; d++) {
		if ((v = k8s_get(spec, pol_dir_str(d))) == NULL)
			continue;
		old = policy_push_key(ld, pol_dir_str(d));
		k8s_rules(ld, cx, v, p, d);
		policy_pop(ld, old);
	}
	for (d = 0; d < POL_NDIRS; d++)
		if (p->types & (1u << d))
			k8s_host_rule(p, d);
}

/* metadata: name (a DNS subdomain), namespace (a DNS label). */
static void
k8s_metadata(struct loader *ld, struct k8s_ctx *cx, json_t *md,
    struct policy *p)
{
	static const char *const known[] = { "name", "namespace", "labels",
	    "annotations", "uid", "resourceVersion", "generation",
	    "creationTimestamp", "deletionTimestamp",
	    "deletionGracePeriodSeconds", "managedFields", "finalizers",
	    "ownerReferences", "generateName", "selfLink", NULL };
	const char	*name, *ns = "default";
	size_t		 old;
	int		 rn;

	if (k8s_expect(ld, cx, md, JSON_OBJECT, "an object") == -1)
		return;
	k8s_fields(ld, cx, md, known);
	if (policy_get_string(ld, md, "namespace", 0, &ns) == -1)
		cx->bad = 1;
	if (ns == NULL)
		ns = "default";
	else if (!k8s_namespace_ok(ns))
		k8s_err(ld, cx, "namespace", "invalid namespace: 1-63 of a-z, "
		    "0-9, '-' and '_', alphanumeric at both ends");
	if ((rn = policy_get_string(ld, md, "name", 1, &name)) != 1) {
		cx->bad = 1;
		return;
	}
	old = policy_push_key(ld, "name");
	if (!k8s_dns_subdomain(name, strlen(name))) {
		policy_err(ld, "invalid name \"%s\": a DNS subdomain (a-z, "
		    "0-9, '-' and '.')", name);
		cx->bad = 1;
	} else if (strlen(ns) + 1 + strlen(name) > K8S_MAXNAME) {
		policy_err(ld, "\"%s/%s\" is longer than %d characters (it "
		    "names the policy in logs)", ns, name, K8S_MAXNAME);
		cx->bad = 1;
	}
	p->name = xasprintf("%s/%s", ns, name);
	p->name_path = xstrdup(ld->path.buf);
	policy_here(ld, &p->name_loc, p->file);
	policy_pop(ld, old);
	p->namespace = xstrdup(ns);
}

void
k8s_network_policy(struct loader *ld, json_t *obj)
{
	static const char *const known[] = { "apiVersion", "kind",
	    "metadata", "spec", "status", NULL };
	struct policy	*p = xcalloc(1, sizeof(*p));
	struct k8s_ctx	 cx = { "default", 0 };
	json_t		*v;
	size_t		 old;

	p->file = xstrdup(ld->file);
	p->order = K8S_ORDER;
	p->mode = POL_ENFORCE;
	policy_here(ld, &p->loc, p->file);
	k8s_fields(ld, &cx, obj, known);
	if ((v = k8s_get(obj, "metadata")) == NULL) {
		policy_missing(ld, "metadata");
		cx.bad = 1;
	} else {
		old = policy_push_key(ld, "metadata");
		k8s_metadata(ld, &cx, v, p);
		policy_pop(ld, old);
	}
	if (p->namespace)
		cx.ns = p->namespace;
	if ((v = k8s_get(obj, "spec")) == NULL) {
		policy_missing(ld, "spec");
		cx.bad = 1;
	} else {
		old = policy_push_key(ld, "spec");
		k8s_spec(ld, &cx, v, p);
		policy_pop(ld, old);
	}
	/* Half-checked policies never reach the set: callers may compile it. */
	if (cx.bad || p->name == NULL || p->selector == NULL)
		policy_free(p);
	else
		policy_set_add(ld->ps, p);
}

/* ---- named ports ---- */

int
k8s_named_port(const struct labelset *labels, const char *name, int proto)
{
	char		 key[64];
	const char	*v, *slash;
	long		 n = 0;
	int		 lp = IPPROTO_TCP;

	if (labels == NULL || snprintf(key, sizeof(key), "%s%s",
	    K8S_PORT_LABEL, name) >= (int)sizeof(key) ||
	    (v = labelset_get(labels, key)) == NULL)
		return -1;
	if ((slash = strchr(v, '/')) != NULL) {
		if (strcasecmp(slash + 1, "tcp") == 0)
			lp = IPPROTO_TCP;
		else if (strcasecmp(slash + 1, "udp") == 0)
			lp = IPPROTO_UDP;
		else if (strcasecmp(slash + 1, "sctp") == 0)
			lp = IPPROTO_SCTP;
		else
			return -1;
	} else
		slash = v + strlen(v);
	if (v == slash || slash - v > 5)
		return -1;
	for (; v < slash; v++) {
		if (*v < '0' || *v > '9')
			return -1;
		n = n * 10 + (*v - '0');
	}
	if (n < 1 || n > 65535 || lp != proto)
		return -1;
	return (int)n;
}
