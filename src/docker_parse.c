/*
 * docker_parse.c: the documents of the Docker Engine API turned into
 * bulkhead's structures: an inspect document into a container, a listing
 * into ids, one /events object into a docker_event, a network document
 * into its Linux bridge, and the line framer of the streamed /events body.
 *
 * Pure (libc and jansson) and fed untrusted bytes by the fuzzer: every
 * member is type-checked, every string is bounded before it is copied,
 * and a wrong document gives a lower-case error naming the member.
 */
#include <arpa/inet.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

#include "docker.h"
#include "inventory.h"
#include "log.h"
#include "util.h"

/* Bounds on what one document may hold; beyond them it is refused. */
#define NAME_MAX_LEN		1024
#define MODE_MAX_LEN		1024
#define PATH_MAX_LEN		4096
#define LABEL_KEY_MAX		1024
#define LABEL_VALUE_MAX		65536
#define LABELS_MAX		4096
#define NETWORKS_MAX		1024
#define ADDR_MAX_LEN		64
#define LIST_MAX		65536
#define CAPS_MAX		1024
#define CAP_NAME_MAX		64
#define PORTS_MAX		65536
#define INFO_STR_MAX		64

static void
seterr(char *err, size_t errlen, const char *fmt, ...)
{
	va_list	ap;

	if (err == NULL || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

static json_t *
parse_doc(const char *json, size_t len, char *err, size_t errlen)
{
	json_error_t	 je;
	json_t		*root;

	if (json == NULL) {
		seterr(err, errlen, "no document");
		return NULL;
	}
	/* Without JSON_ALLOW_NUL, strings with an embedded NUL are refused. */
	if ((root = json_loadb(json, len, 0, &je)) == NULL) {
		seterr(err, errlen, "invalid json at line %d column %d: %s",
		    je.line, je.column, je.text);
		return NULL;
	}
	if (!json_is_object(root)) {
		seterr(err, errlen, "document is not an object");
		json_decref(root);
		return NULL;
	}
	return root;
}

/*
 * Member getters: an absent or null member gives NULL (or leaves the
 * default) and 0; a member of another type gives -1 and an error naming
 * what.
 */
static int
get_object(json_t *o, const char *key, json_t **out, const char *what,
    char *err, size_t errlen)
{
	json_t	*v = o ? json_object_get(o, key) : NULL;

	*out = NULL;
	if (v == NULL || json_is_null(v))
		return 0;
	if (!json_is_object(v)) {
		seterr(err, errlen, "%s is not an object", what);
		return -1;
	}
	*out = v;
	return 0;
}

static int
check_string(json_t *v, size_t maxlen, const char **out, const char *what,
    char *err, size_t errlen)
{
	*out = NULL;
	if (v == NULL || json_is_null(v))
		return 0;
	if (!json_is_string(v)) {
		seterr(err, errlen, "%s is not a string", what);
		return -1;
	}
	if (json_string_length(v) > maxlen) {
		seterr(err, errlen, "%s too long (%zu bytes, at most %zu)",
		    what, json_string_length(v), maxlen);
		return -1;
	}
	*out = json_string_value(v);
	return 0;
}

static int
get_string(json_t *o, const char *key, size_t maxlen, const char **out,
    const char *what, char *err, size_t errlen)
{
	return check_string(o ? json_object_get(o, key) : NULL, maxlen, out,
	    what, err, errlen);
}

static int
get_int(json_t *o, const char *key, long long min, long long max,
    long long *out, const char *what, char *err, size_t errlen)
{
	json_t	*v = o ? json_object_get(o, key) : NULL;

	if (v == NULL || json_is_null(v))
		return 0;
	if (!json_is_integer(v)) {
		seterr(err, errlen, "%s is not an integer", what);
		return -1;
	}
	if (json_integer_value(v) < min || json_integer_value(v) > max) {
		seterr(err, errlen, "%s out of range: %lld", what,
		    (long long)json_integer_value(v));
		return -1;
	}
	*out = json_integer_value(v);
	return 0;
}

static int
get_bool(json_t *o, const char *key, int *out, const char *what, char *err,
    size_t errlen)
{
	json_t	*v = o ? json_object_get(o, key) : NULL;

	if (v == NULL || json_is_null(v))
		return 0;
	if (!json_is_boolean(v)) {
		seterr(err, errlen, "%s is not a boolean", what);
		return -1;
	}
	*out = json_is_true(v);
	return 0;
}

/* A container id: 1 to 64 lower-case hex digits. */
static int
valid_container_id(const char *s)
{
	size_t	n = strspn(s, "0123456789abcdef");

	return n > 0 && n <= 64 && s[n] == '\0';
}

/* A network id: 1 to 64 of [A-Za-z0-9_.-] (Docker's are hex). */
static int
valid_network_id(const char *s)
{
	size_t	n = strspn(s, "0123456789abcdefghijklmnopqrstuvwxyz"
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZ_.-");

	return n > 0 && n <= 64 && s[n] == '\0';
}

static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* "02:42:ac:11:00:02" into mac; -1 if it is anything else. */
static int
parse_mac(const char *s, uint8_t mac[6])
{
	int	i, hi, lo;

	if (strlen(s) != 17)
		return -1;
	for (i = 0; i < 6; i++) {
		hi = hexval(s[i * 3]);
		lo = hexval(s[i * 3 + 1]);
		if (hi < 0 || lo < 0 || (i < 5 && s[i * 3 + 2] != ':'))
			return -1;
		mac[i] = (uint8_t)(hi << 4 | lo);
	}
	return 0;
}

/* ---- inspect ---- */

static int
inspect_identity(json_t *root, struct container *c, char *err, size_t errlen)
{
	const char	*id, *name;

	if (get_string(root, "Id", 64, &id, "Id", err, errlen) == -1)
		return -1;
	if (id == NULL || !valid_container_id(id)) {
		seterr(err, errlen, "Id missing or not a container id");
		return -1;
	}
	strlcpy_bh(c->id, id, sizeof(c->id));
	if (get_string(root, "Name", NAME_MAX_LEN, &name, "Name", err,
	    errlen) == -1)
		return -1;
	if (name == NULL)
		name = "";
	c->name = xstrdup(name[0] == '/' ? name + 1 : name);
	return 0;
}

static int
inspect_labels(json_t *root, struct container *c, char *err, size_t errlen)
{
	json_t		*config, *labels, *v;
	const char	*key, *value;

	if (get_object(root, "Config", &config, "Config", err, errlen) == -1 ||
	    get_object(config, "Labels", &labels, "Config.Labels", err,
	    errlen) == -1)
		return -1;
	if (labels == NULL)
		return 0;
	if (json_object_size(labels) > LABELS_MAX) {
		seterr(err, errlen, "too many labels (%zu, at most %d)",
		    json_object_size(labels), LABELS_MAX);
		return -1;
	}
	json_object_foreach(labels, key, v) {
		if (strlen(key) > LABEL_KEY_MAX) {
			seterr(err, errlen, "label key too long (%zu bytes)",
			    strlen(key));
			return -1;
		}
		if (check_string(v, LABEL_VALUE_MAX, &value, "label value",
		    err, errlen) == -1)
			return -1;
		labelset_set(&c->labels, key, value ? value : "");
	}
	return 0;
}

static int
inspect_state(json_t *root, struct container *c, char *err, size_t errlen)
{
	json_t		*state, *host;
	const char	*mode;
	long long	 pid = 0;

	if (get_object(root, "State", &state, "State", err, errlen) == -1 ||
	    get_bool(state, "Running", &c->running, "State.Running", err,
	    errlen) == -1 ||
	    get_int(state, "Pid", 0, INT_MAX, &pid, "State.Pid", err,
	    errlen) == -1)
		return -1;
	c->pid = (int)pid;
	if (get_object(root, "HostConfig", &host, "HostConfig", err,
	    errlen) == -1 ||
	    get_string(host, "NetworkMode", MODE_MAX_LEN, &mode,
	    "HostConfig.NetworkMode", err, errlen) == -1)
		return -1;
	c->network_mode = xstrdup(mode ? mode : "");
	return 0;
}

static int
endpoint_addrs(json_t *net, struct endpoint *ep, char *err, size_t errlen)
{
	const char	*mac, *ip4, *ip6;
	long long	 plen4 = 0, plen6 = 0;

	if (get_string(net, "MacAddress", ADDR_MAX_LEN, &mac,
	    "network MacAddress", err, errlen) == -1 ||
	    get_string(net, "IPAddress", ADDR_MAX_LEN, &ip4,
	    "network IPAddress", err, errlen) == -1 ||
	    get_int(net, "IPPrefixLen", 0, 32, &plen4, "network IPPrefixLen",
	    err, errlen) == -1 ||
	    get_string(net, "GlobalIPv6Address", ADDR_MAX_LEN, &ip6,
	    "network GlobalIPv6Address", err, errlen) == -1 ||
	    get_int(net, "GlobalIPv6PrefixLen", 0, 128, &plen6,
	    "network GlobalIPv6PrefixLen", err, errlen) == -1)
		return -1;
	if (mac && mac[0]) {
		if (parse_mac(mac, ep->mac) == -1) {
			seterr(err, errlen, "network %s: bad MacAddress %s",
			    ep->network_name, mac);
			return -1;
		}
		ep->has_mac = 1;
	}
	if (ip4 && ip4[0]) {
		if (inet_pton(AF_INET, ip4, &ep->ip4) != 1) {
			seterr(err, errlen, "network %s: bad IPAddress %s",
			    ep->network_name, ip4);
			return -1;
		}
		ep->has_ip4 = 1;
		ep->ip4_plen = (int)plen4;
	}
	if (ip6 && ip6[0]) {
		if (inet_pton(AF_INET6, ip6, &ep->ip6) != 1) {
			seterr(err, errlen, "network %s: bad GlobalIPv6Address %s",
			    ep->network_name, ip6);
			return -1;
		}
		ep->has_ip6 = 1;
		ep->ip6_plen = (int)plen6;
	}
	return 0;
}

/* One NetworkSettings.Networks member; bridge and veth are left empty. */
static int
inspect_endpoint(const char *name, json_t *net, struct endpoint *ep,
    char *err, size_t errlen)
{
	const char	*netid;

	if (!json_is_object(net)) {
		seterr(err, errlen, "network %.128s is not an object", name);
		return -1;
	}
	if (name[0] == '\0' || strlen(name) >= sizeof(ep->network_name)) {
		seterr(err, errlen, "network name empty or too long");
		return -1;
	}
	strlcpy_bh(ep->network_name, name, sizeof(ep->network_name));
	if (get_string(net, "NetworkID", 64, &netid, "network NetworkID",
	    err, errlen) == -1)
		return -1;
	if (netid && netid[0]) {
		if (!valid_network_id(netid)) {
			seterr(err, errlen, "network %s: bad NetworkID", name);
			return -1;
		}
		strlcpy_bh(ep->network_id, netid, sizeof(ep->network_id));
	}
	return endpoint_addrs(net, ep, err, errlen);
}

static int
inspect_network(json_t *root, struct container *c, char *err, size_t errlen)
{
	json_t		*ns, *nets, *v;
	const char	*key, *sandbox;

	if (get_object(root, "NetworkSettings", &ns, "NetworkSettings", err,
	    errlen) == -1 ||
	    get_string(ns, "SandboxKey", PATH_MAX_LEN, &sandbox,
	    "NetworkSettings.SandboxKey", err, errlen) == -1 ||
	    get_object(ns, "Networks", &nets, "NetworkSettings.Networks", err,
	    errlen) == -1)
		return -1;
	if (sandbox && sandbox[0])
		c->sandbox_key = xstrdup(sandbox);
	if (nets == NULL || json_object_size(nets) == 0)
		return 0;
	if (json_object_size(nets) > NETWORKS_MAX) {
		seterr(err, errlen, "too many networks (%zu)",
		    json_object_size(nets));
		return -1;
	}
	c->eps = xcalloc(json_object_size(nets), sizeof(*c->eps));
	json_object_foreach(nets, key, v) {
		if (inspect_endpoint(key, v, &c->eps[c->neps], err,
		    errlen) == -1)
			return -1;
		c->neps++;
	}
	return 0;
}

/* A capability name as Docker keeps it ("CAP_NET_ADMIN", "net_admin"). */
static unsigned int
cap_bits(const char *name)
{
	if (strncasecmp(name, "CAP_", 4) == 0)
		name += 4;
	if (strcasecmp(name, "ALL") == 0)
		return CT_CAP_NET_ADMIN | CT_CAP_NET_RAW;
	if (strcasecmp(name, "NET_ADMIN") == 0)
		return CT_CAP_NET_ADMIN;
	if (strcasecmp(name, "NET_RAW") == 0)
		return CT_CAP_NET_RAW;
	return 0;
}

/* HostConfig.Privileged and the network capabilities of HostConfig.CapAdd. */
static int
inspect_privileges(json_t *root, struct container *c, char *err,
    size_t errlen)
{
	json_t		*host, *caps, *v;
	const char	*name;
	size_t		 i;

	if (get_object(root, "HostConfig", &host, "HostConfig", err,
	    errlen) == -1 ||
	    get_bool(host, "Privileged", &c->privileged,
	    "HostConfig.Privileged", err, errlen) == -1)
		return -1;
	caps = host ? json_object_get(host, "CapAdd") : NULL;
	if (caps == NULL || json_is_null(caps))
		return 0;
	if (!json_is_array(caps) || json_array_size(caps) > CAPS_MAX) {
		seterr(err, errlen, "HostConfig.CapAdd is not an array or too "
		    "long");
		return -1;
	}
	json_array_foreach(caps, i, v) {
		if (check_string(v, CAP_NAME_MAX, &name, "HostConfig.CapAdd "
		    "entry", err, errlen) == -1)
			return -1;
		if (name != NULL)
			c->cap_add |= cap_bits(name);
	}
	return 0;
}

/*
 * "80/tcp" into its port and protocol: 0, or 1 for a protocol bulkhead
 * does not know (skipped: a port is no reason to refuse a container), or
 * -1 when it is no port at all.
 */
static int
parse_port_key(const char *key, int *port, int *proto)
{
	char	*end;
	long	 n;

	if (key[0] < '0' || key[0] > '9')
		return -1;
	n = strtol(key, &end, 10);
	if (n < 1 || n > 65535 || *end != '/')
		return -1;
	*port = (int)n;
	if (strcmp(end + 1, "tcp") == 0)
		*proto = IPPROTO_TCP;
	else if (strcmp(end + 1, "udp") == 0)
		*proto = IPPROTO_UDP;
	else if (strcmp(end + 1, "sctp") == 0)
		*proto = IPPROTO_SCTP;
	else
		return end[1] ? 1 : -1;
	return 0;
}

/* One {"HostIp": "0.0.0.0", "HostPort": "8080"} binding of key into pp. */
static int
port_binding(const char *key, json_t *b, struct published_port *pp,
    char *err, size_t errlen)
{
	const char	*ip, *hp;
	struct in6_addr	 a;
	char		*end;
	long		 n = 0;

	if (!json_is_object(b)) {
		seterr(err, errlen, "port %.16s: binding is not an object", key);
		return -1;
	}
	if (get_string(b, "HostIp", ADDR_MAX_LEN, &ip, "port HostIp", err,
	    errlen) == -1 ||
	    get_string(b, "HostPort", 16, &hp, "port HostPort", err,
	    errlen) == -1)
		return -1;
	if (ip && ip[0] && inet_pton(AF_INET, ip, &a) != 1 &&
	    inet_pton(AF_INET6, ip, &a) != 1) {
		seterr(err, errlen, "port %.16s: bad HostIp %s", key, ip);
		return -1;
	}
	if (hp && hp[0]) {
		n = strtol(hp, &end, 10);
		if (*end != '\0' || n < 0 || n > 65535) {
			seterr(err, errlen, "port %.16s: bad HostPort %s", key,
			    hp);
			return -1;
		}
	}
	strlcpy_bh(pp->host_ip, ip ? ip : "", sizeof(pp->host_ip));
	pp->host_port = (int)n;
	return 0;
}

/* The bindings of one port key ("80/tcp": [...] or null: not published). */
static int
inspect_port(struct container *c, const char *key, json_t *v, char *err,
    size_t errlen)
{
	struct published_port	 pp;
	json_t			*b;
	size_t			 i;
	int			 rc;

	memset(&pp, 0, sizeof(pp));
	if ((rc = parse_port_key(key, &pp.port, &pp.protocol)) == -1) {
		seterr(err, errlen, "bad port %.16s", key);
		return -1;
	}
	if (rc == 1 || json_is_null(v))
		return 0;
	if (!json_is_array(v)) {
		seterr(err, errlen, "port %.16s: bindings are not an array", key);
		return -1;
	}
	if (c->nports + json_array_size(v) > PORTS_MAX) {
		seterr(err, errlen, "too many published ports");
		return -1;
	}
	c->ports = xreallocarray(c->ports, c->nports + json_array_size(v) + 1,
	    sizeof(*c->ports));
	json_array_foreach(v, i, b) {
		if (port_binding(key, b, &pp, err, errlen) == -1)
			return -1;
		c->ports[c->nports++] = pp;
	}
	return 0;
}

/*
 * The published ports: NetworkSettings.Ports (what is bound), else
 * HostConfig.PortBindings (what was asked for).
 */
static int
inspect_ports(json_t *root, struct container *c, char *err, size_t errlen)
{
	json_t		*ns, *host, *ports, *v;
	const char	*key;

	if (get_object(root, "NetworkSettings", &ns, "NetworkSettings", err,
	    errlen) == -1 ||
	    get_object(ns, "Ports", &ports, "NetworkSettings.Ports", err,
	    errlen) == -1)
		return -1;
	if (ports == NULL && (get_object(root, "HostConfig", &host,
	    "HostConfig", err, errlen) == -1 ||
	    get_object(host, "PortBindings", &ports,
	    "HostConfig.PortBindings", err, errlen) == -1))
		return -1;
	if (ports == NULL)
		return 0;
	if (json_object_size(ports) > PORTS_MAX) {
		seterr(err, errlen, "too many ports (%zu)",
		    json_object_size(ports));
		return -1;
	}
	json_object_foreach(ports, key, v)
		if (inspect_port(c, key, v, err, errlen) == -1)
			return -1;
	return 0;
}

struct container *
docker_parse_inspect(const char *json, size_t len, char *err, size_t errlen)
{
	struct container	*c;
	json_t			*root;

	if ((root = parse_doc(json, len, err, errlen)) == NULL)
		return NULL;
	c = container_new();
	if (inspect_identity(root, c, err, errlen) == -1 ||
	    inspect_labels(root, c, err, errlen) == -1 ||
	    inspect_state(root, c, err, errlen) == -1 ||
	    inspect_network(root, c, err, errlen) == -1 ||
	    inspect_privileges(root, c, err, errlen) == -1 ||
	    inspect_ports(root, c, err, errlen) == -1)
		goto err_container;
	json_decref(root);
	return c;

err_container:
	container_free(c);
	json_decref(root);
	return NULL;
}

/* ---- listing ---- */

int
docker_parse_list(const char *json, size_t len, char ***ids, char *err,
    size_t errlen)
{
	json_error_t	 je;
	json_t		*root, *v;
	const char	*id;
	size_t		 i, n = 0;
	char		**out;

	*ids = NULL;
	if (json == NULL) {
		seterr(err, errlen, "no document");
		return -1;
	}
	if ((root = json_loadb(json, len, 0, &je)) == NULL) {
		seterr(err, errlen, "invalid json at line %d column %d: %s",
		    je.line, je.column, je.text);
		return -1;
	}
	if (!json_is_array(root) || json_array_size(root) > LIST_MAX) {
		seterr(err, errlen, "listing is not an array or too long");
		goto err_root;
	}
	out = xcalloc(json_array_size(root), sizeof(*out));
	json_array_foreach(root, i, v) {
		if (!json_is_object(v)) {
			seterr(err, errlen, "listing entry %zu is not an object", i);
			goto err_out;
		}
		if (get_string(v, "Id", 64, &id, "listing Id", err,
		    errlen) == -1)
			goto err_out;
		if (id == NULL || !valid_container_id(id)) {
			seterr(err, errlen, "listing entry %zu: Id missing or "
			    "not a container id", i);
			goto err_out;
		}
		out[n++] = xstrdup(id);
	}
	json_decref(root);
	if (n == 0) {
		free(out);
		out = NULL;
	}
	*ids = out;
	return (int)n;

err_out:
	while (n > 0)
		free(out[--n]);
	free(out);
err_root:
	json_decref(root);
	return -1;
}

/* ---- events ---- */

static enum docker_ev_kind
event_kind(const char *type, const char *action)
{
	static const char *const starts[] = {
		"start", "unpause", "restart", "rename",
	};
	static const char *const stops[] = {
		"die", "stop", "kill", "destroy", "pause", "oom",
		"remove",	/* Podman's name for destroy */
	};
	size_t	i;

	if (strcmp(type, "container") == 0) {
		for (i = 0; i < ARRAY_SIZE(starts); i++)
			if (strcmp(action, starts[i]) == 0)
				return DOCKER_EV_START;
		for (i = 0; i < ARRAY_SIZE(stops); i++)
			if (strcmp(action, stops[i]) == 0)
				return DOCKER_EV_STOP;
	} else if (strcmp(type, "network") == 0) {
		if (strcmp(action, "connect") == 0)
			return DOCKER_EV_NET_CONNECT;
		if (strcmp(action, "disconnect") == 0)
			return DOCKER_EV_NET_DISCONNECT;
	}
	return DOCKER_EV_OTHER;
}

static int
event_time(json_t *root, struct docker_event *ev, char *err, size_t errlen)
{
	long long	 sec = -1;

	if (get_int(root, "timeNano", 0, LLONG_MAX, &ev->time_nano,
	    "timeNano", err, errlen) == -1 ||
	    get_int(root, "time", 0, LLONG_MAX / 1000000000LL, &sec, "time",
	    err, errlen) == -1)
		return -1;
	if (ev->time_nano == 0 && sec > 0)
		ev->time_nano = sec * 1000000000LL;
	return 0;
}

/* Actor.ID and Actor.Attributes.container, checked where they matter. */
static int
event_ids(json_t *root, struct docker_event *ev, char *err, size_t errlen)
{
	json_t		*actor, *attrs;
	const char	*actor_id, *ctid = NULL;
	int		 is_ct = strcmp(ev->type, "container") == 0;
	int		 is_net = strcmp(ev->type, "network") == 0;

	if (get_object(root, "Actor", &actor, "Actor", err, errlen) == -1 ||
	    get_string(actor, "ID", 1024, &actor_id, "Actor.ID", err,
	    errlen) == -1 ||
	    get_object(actor, "Attributes", &attrs, "Actor.Attributes", err,
	    errlen) == -1)
		return -1;
	if (is_ct && actor_id == NULL && get_string(root, "id", 1024,
	    &actor_id, "id", err, errlen) == -1)
		return -1;
	if (is_net && get_string(attrs, "container", 1024, &ctid,
	    "Actor.Attributes.container", err, errlen) == -1)
		return -1;
	if (is_ct)
		ctid = actor_id;
	if (ctid && valid_container_id(ctid))
		strlcpy_bh(ev->container_id, ctid, sizeof(ev->container_id));
	if (is_net && actor_id && valid_network_id(actor_id))
		strlcpy_bh(ev->network_id, actor_id, sizeof(ev->network_id));
	if (ev->kind != DOCKER_EV_OTHER && ev->container_id[0] == '\0') {
		seterr(err, errlen, "%s %s event without a valid container id",
		    ev->type, ev->action);
		return -1;
	}
	if (is_net && ev->kind != DOCKER_EV_OTHER && ev->network_id[0] == '\0') {
		seterr(err, errlen, "network %s event without a valid network id",
		    ev->action);
		return -1;
	}
	return 0;
}

int
docker_parse_event(const char *json, size_t len, struct docker_event *ev,
    char *err, size_t errlen)
{
	json_t		*root;
	const char	*type, *action;
	int		 rc = -1;

	memset(ev, 0, sizeof(*ev));
	if ((root = parse_doc(json, len, err, errlen)) == NULL)
		return -1;
	if (get_string(root, "Type", 1024, &type, "Type", err, errlen) == -1 ||
	    get_string(root, "Action", 65536, &action, "Action", err,
	    errlen) == -1)
		goto out;
	/* Engines before API 1.22 only said "status". */
	if (action == NULL && get_string(root, "status", 65536, &action,
	    "status", err, errlen) == -1)
		goto out;
	if (type == NULL || action == NULL) {
		seterr(err, errlen, "event without Type or Action");
		goto out;
	}
	/* Raw copies are truncated; the kind is decided on the full strings. */
	strlcpy_bh(ev->type, type, sizeof(ev->type));
	strlcpy_bh(ev->action, action, sizeof(ev->action));
	ev->kind = event_kind(type, action);
	if (event_time(root, ev, err, errlen) == -1 ||
	    event_ids(root, ev, err, errlen) == -1)
		goto out;
	rc = 0;
out:
	json_decref(root);
	if (rc == -1) {
		memset(ev, 0, sizeof(*ev));
	}
	return rc;
}

/* ---- networks ---- */

/* What the kernel accepts as an interface name (dev_valid_name). */
static int
valid_ifname(const char *s)
{
	size_t	n = strlen(s), i;

	if (n == 0 || n >= IF_NAMESIZE || strcmp(s, ".") == 0 ||
	    strcmp(s, "..") == 0)
		return 0;
	for (i = 0; i < n; i++)
		if (s[i] == '/' || s[i] == ':' || (unsigned char)s[i] <= ' ' ||
		    (unsigned char)s[i] >= 0x7f)
			return 0;
	return 1;
}

/* The bridge of one network object; see docker_parse_network_bridge. */
/* Copies a validated bridge name out, or says why it does not fit. */
static int
bridge_out(const char *name, char *ifname, size_t ifnamelen, char *err,
    size_t errlen)
{
	if (ifname == NULL || strlen(name) >= ifnamelen) {
		seterr(err, errlen, "bridge name %s does not fit", name);
		return -1;
	}
	strlcpy_bh(ifname, name, ifnamelen);
	return 0;
}

static int
network_bridge(json_t *root, char *ifname, size_t ifnamelen, char *err,
    size_t errlen)
{
	json_t		*opts;
	const char	*driver, *name, *id, *brname = NULL;
	char		 buf[IF_NAMESIZE];

	if (get_string(root, "Driver", 1024, &driver, "Driver", err,
	    errlen) == -1 ||
	    get_string(root, "Name", NAME_MAX_LEN, &name, "Name", err,
	    errlen) == -1 ||
	    get_string(root, "Id", 64, &id, "Id", err, errlen) == -1 ||
	    get_object(root, "Options", &opts, "Options", err, errlen) == -1 ||
	    get_string(opts, "com.docker.network.bridge.name", 1024, &brname,
	    "bridge name option", err, errlen) == -1)
		return -1;
	if (driver == NULL) {
		seterr(err, errlen, "network without Driver");
		return -1;
	}
	if (strcmp(driver, "bridge") != 0)
		return 1;
	if (brname && brname[0])
		strlcpy_bh(buf, brname, sizeof(buf));
	else if (name && strcmp(name, "bridge") == 0)
		strlcpy_bh(buf, "docker0", sizeof(buf));
	else if (id && strlen(id) >= 12 && valid_network_id(id))
		snprintf(buf, sizeof(buf), "br-%.12s", id);
	else {
		seterr(err, errlen, "bridge network without a usable Id");
		return -1;
	}
	if ((brname && strlen(brname) >= sizeof(buf)) || !valid_ifname(buf)) {
		seterr(err, errlen, "bad bridge name %.64s", brname ? brname : buf);
		return -1;
	}
	return bridge_out(buf, ifname, ifnamelen, err, errlen);
}

/*
 * Parses a network document and hands its root to BRIDGE (Docker's or
 * libpod's reading of it); the answer is BRIDGE's.
 */
static int
bridge_doc(const char *json, size_t len, char *ifname, size_t ifnamelen,
    char *err, size_t errlen,
    int (*bridge)(json_t *, char *, size_t, char *, size_t))
{
	json_t	*root;
	int	 rc;

	if (ifname != NULL && ifnamelen > 0)
		ifname[0] = '\0';
	if ((root = parse_doc(json, len, err, errlen)) == NULL)
		return -1;
	rc = bridge(root, ifname, ifnamelen, err, errlen);
	json_decref(root);
	return rc;
}

int
docker_parse_network_bridge(const char *json, size_t len, char *ifname,
    size_t ifnamelen, char *err, size_t errlen)
{
	return bridge_doc(json, len, ifname, ifnamelen, err, errlen,
	    network_bridge);
}

static int	libpod_bridge(json_t *, char *, size_t, char *, size_t);

int
docker_parse_bridges(const char *json, size_t len,
    struct docker_bridge **out, char *err, size_t errlen)
{
	json_error_t	 je;
	json_t		*root, *v;
	size_t		 i, n = 0;
	char		 e[256];

	*out = NULL;
	if (json == NULL || (root = json_loadb(json, len, 0, &je)) == NULL) {
		seterr(err, errlen, "invalid json");
		return -1;
	}
	if (!json_is_array(root) || json_array_size(root) > LIST_MAX) {
		seterr(err, errlen, "network listing is not an array or too long");
		json_decref(root);
		return -1;
	}
	*out = xcalloc(json_array_size(root) + 1, sizeof(**out));
	json_array_foreach(root, i, v) {
		if (!json_is_object(v)) {
			seterr(err, errlen, "network %zu is not an object", i);
			goto err;
		}
		/* Podman's libpod listing names the bridge; Docker's implies it. */
		if ((json_object_get(v, "network_interface") ?
		    libpod_bridge(v, (*out)[n].name, sizeof((*out)[n].name), e,
		    sizeof(e)) : network_bridge(v, (*out)[n].name,
		    sizeof((*out)[n].name), e, sizeof(e))) == 0)
			n++;
		else
			(*out)[n].name[0] = '\0';	/* not a bridge, or odd: skipped */
	}
	json_decref(root);
	return (int)n;
err:
	free(*out);
	*out = NULL;
	json_decref(root);
	return -1;
}

/* A short engine string (a driver, a version): printable ASCII only. */
static int
info_string(json_t *o, const char *key, char *out, size_t outlen,
    const char *what, char *err, size_t errlen)
{
	const char	*s;
	size_t		 i;

	out[0] = '\0';
	if (get_string(o, key, INFO_STR_MAX, &s, what, err, errlen) == -1)
		return -1;
	if (s == NULL)
		return 0;
	for (i = 0; s[i]; i++)
		if ((unsigned char)s[i] <= ' ' || (unsigned char)s[i] >= 0x7f) {
			seterr(err, errlen, "%s: not printable ASCII", what);
			return -1;
		}
	strlcpy_bh(out, s, outlen);
	return 0;
}

int
docker_parse_info(const char *json, size_t len, struct docker_info *info,
    char *err, size_t errlen)
{
	json_t	*root, *fw;
	int	 rc = -1;

	memset(info, 0, sizeof(*info));
	if ((root = parse_doc(json, len, err, errlen)) == NULL)
		return -1;
	if (info_string(root, "ServerVersion", info->version,
	    sizeof(info->version), "ServerVersion", err, errlen) == -1 ||
	    get_object(root, "FirewallBackend", &fw, "FirewallBackend", err,
	    errlen) == -1 ||
	    info_string(fw, "Driver", info->firewall_backend,
	    sizeof(info->firewall_backend), "FirewallBackend.Driver", err,
	    errlen) == -1)
		goto out;
	rc = 0;
out:
	json_decref(root);
	if (rc == -1)
		memset(info, 0, sizeof(*info));
	return rc;
}

/* The bridge of one libpod network object; see docker_parse_libpod_network. */
static int
libpod_bridge(json_t *root, char *ifname, size_t ifnamelen, char *err,
    size_t errlen)
{
	const char	*driver, *iface;

	if (get_string(root, "driver", 1024, &driver, "driver", err,
	    errlen) == -1 ||
	    get_string(root, "network_interface", 1024, &iface,
	    "network_interface", err, errlen) == -1)
		return -1;
	if (driver == NULL) {
		seterr(err, errlen, "network without driver");
		return -1;
	}
	if (strcmp(driver, "bridge") != 0)
		return 1;
	if (iface == NULL || !valid_ifname(iface)) {
		seterr(err, errlen, "bad bridge name %.64s", iface ? iface : "");
		return -1;
	}
	return bridge_out(iface, ifname, ifnamelen, err, errlen);
}

int
docker_parse_libpod_network(const char *json, size_t len, char *ifname,
    size_t ifnamelen, char *err, size_t errlen)
{
	return bridge_doc(json, len, ifname, ifnamelen, err, errlen,
	    libpod_bridge);
}

int
docker_parse_error(const char *json, size_t len, char *msg, size_t msglen)
{
	json_t		*root;
	const char	*m;
	char		 err[8];
	size_t		 i;
	int		 rc = -1;

	if (msg == NULL || msglen == 0)
		return -1;
	msg[0] = '\0';
	if ((root = parse_doc(json, len, err, sizeof(err))) == NULL)
		return -1;
	if (check_string(json_object_get(root, "message"), SIZE_MAX, &m, "",
	    err, sizeof(err)) == 0 && m != NULL) {
		strlcpy_bh(msg, m, msglen);
		for (i = 0; msg[i]; i++)
			if ((unsigned char)msg[i] < ' ' || msg[i] == 0x7f)
				msg[i] = '?';
		rc = 0;
	}
	json_decref(root);
	return rc;
}

/* ---- the /events line framer ---- */

void
docker_stream_init(struct docker_stream *st,
    void (*cb)(const struct docker_event *, void *), void *arg)
{
	memset(st, 0, sizeof(*st));
	st->cb = cb;
	st->arg = arg;
}

void
docker_stream_release(struct docker_stream *st)
{
	free(st->buf);
	st->buf = NULL;
	st->len = st->cap = 0;
	st->overflow = 0;
}

static void
stream_line(struct docker_stream *st, const char *line, size_t len)
{
	struct docker_event	 ev;
	char			 err[256];

	while (len > 0 && (line[len - 1] == '\r' || line[len - 1] == ' ' ||
	    line[len - 1] == '\t'))
		len--;
	while (len > 0 && (line[0] == ' ' || line[0] == '\t' || line[0] == '\r')) {
		line++;
		len--;
	}
	if (len == 0)
		return;
	if (docker_parse_event(line, len, &ev, err, sizeof(err)) == -1) {
		st->nerrors++;
		log_warnx("docker event: %s", err);
		return;
	}
	st->nevents++;
	if (st->cb != NULL)
		st->cb(&ev, st->arg);
}

static void
stream_append(struct docker_stream *st, const char *data, size_t n)
{
	if (st->len + n > st->cap) {
		size_t	cap = st->cap ? st->cap : 4096;

		while (cap < st->len + n)
			cap *= 2;
		if (cap > DOCKER_STREAM_MAX)
			cap = DOCKER_STREAM_MAX;
		st->buf = xreallocarray(st->buf, cap, 1);
		st->cap = cap;
	}
	memcpy(st->buf + st->len, data, n);
	st->len += n;
}

void
docker_stream_feed(struct docker_stream *st, const char *data, size_t len)
{
	while (len > 0) {
		const char	*nl = memchr(data, '\n', len);
		size_t		 n = nl ? (size_t)(nl - data) : len;

		if (st->overflow) {
			/* Still inside a line that was too long: skip it. */
		} else if (st->len + n > DOCKER_STREAM_MAX) {
			log_warnx("docker event longer than %d bytes dropped",
			    DOCKER_STREAM_MAX);
			st->nerrors++;
			st->len = 0;
			st->overflow = 1;
		} else if (st->len == 0 && nl != NULL) {
			stream_line(st, data, n);
		} else {
			stream_append(st, data, n);
			if (nl != NULL) {
				stream_line(st, st->buf, st->len);
				st->len = 0;
			}
		}
		if (nl != NULL) {
			st->overflow = 0;
			n++;
		}
		data += n;
		len -= n;
	}
}
