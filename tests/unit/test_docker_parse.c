/*
 * test_docker_parse.c: the Docker Engine API parsers on documents recorded
 * from a real engine (tests/fixtures/docker, see BULKHEAD_FIXTURES): inspect
 * documents of containers on the default bridge, a user network, two
 * networks, --network none and host; a listing; network documents; and
 * /events captures replayed through the line framer in every chunking.
 * The podman_* fixtures come from Podman 4.3's compatible socket (and its
 * libpod network document, which alone names the bridge).
 * Malformed, mistyped and oversized input must give errors, not crashes.
 */
#include <arpa/inet.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <fcntl.h>
#include <netinet/in.h>
#include <unistd.h>

#include <cmocka.h>

#include "docker.h"
#include "inventory.h"
#include "log.h"
#include "util.h"

/* A literal and its length, for the parsers' (json, len) pairs. */
#define L(s)		(s), strlen(s)

#define ID_BRIDGE	"c7908f73a164a14e0e6fdffa744ae25c4c7f128d4ff24345375da87fa090b154"
#define ID_USER		"cdfce08fcc63a2f57b98a2c9f3ded5e89fdc6a96af6469c14bc1b5259aed9535"
#define ID_NONE		"476b26b8e0a37bb7f8c4e829f8f946af17f00f29e6eb61e85257638591bd3c30"
#define ID_HOST		"2105bfc27f15f36c67095c1ed1d5fda1e2bee5a9096b91b13d83b682e4422b0f"
#define ID_MULTI	"64ad365a5d49dfdc70879f562910ce6ec148a8151e4edd032218351925a6ff2d"
#define NET_BRIDGE	"1c013d98165589d2dcccd9e1e169c743dc9bd8933fc675d735ae77f10877d3e6"
#define NET_USER1	"f41748bbb6b1e3cad8fe15920ca67b7f85190d2f991514623106adc87720a493"
#define ID_PODMAN	"6ee89de3031a6c9ad439bab2d2826721043a59a22ed35c4c32c8da3bd8c1bbfb"
#define NET_USER2	"7a3ba6acc78ca4c9164d8898a4174b9affd6929f5fa62b905fb254fd7e1ac530"

/* ---- helpers ---- */

static int	saved_stderr = -1;

/*
 * Silences stderr around feeds that make the framer warn about every bad
 * line (set TEST_VERBOSE to see them); no assertion runs while quiet.
 */
static void
quiet(int on)
{
	int	null;

	if (getenv("TEST_VERBOSE") != NULL)
		return;
	fflush(stderr);
	if (on) {
		saved_stderr = dup(2);
		if ((null = open("/dev/null", O_WRONLY)) != -1) {
			dup2(null, 2);
			close(null);
		}
	} else if (saved_stderr != -1) {
		dup2(saved_stderr, 2);
		close(saved_stderr);
		saved_stderr = -1;
	}
}

static void
assert_event_equal(const struct docker_event *a, const struct docker_event *b)
{
	assert_int_equal(a->kind, b->kind);
	assert_string_equal(a->type, b->type);
	assert_string_equal(a->action, b->action);
	assert_string_equal(a->container_id, b->container_id);
	assert_string_equal(a->network_id, b->network_id);
	assert_true(a->time_nano == b->time_nano);
}

static char *
fixture(const char *name, size_t *len)
{
	const char	*dir = getenv("BULKHEAD_FIXTURES");
	char		*path, *buf;
	FILE		*f;
	long		 n;

	path = xasprintf("%s/docker/%s", dir ? dir : "tests/fixtures", name);
	f = fopen(path, "rb");
	if (f == NULL)
		fail_msg("cannot open fixture %s", path);
	free(path);
	assert_int_equal(fseek(f, 0, SEEK_END), 0);
	n = ftell(f);
	assert_true(n > 0);
	rewind(f);
	buf = xmalloc((size_t)n + 1);
	assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
	buf[n] = '\0';
	fclose(f);
	*len = (size_t)n;
	return buf;
}

static struct container *
inspect_fixture(const char *name)
{
	struct container	*c;
	char			 err[256] = "", *doc;
	size_t			 len;

	doc = fixture(name, &len);
	c = docker_parse_inspect(doc, len, err, sizeof(err));
	free(doc);
	if (c == NULL)
		fail_msg("%s: %s", name, err);
	return c;
}

static const struct endpoint *
find_ep(const struct container *c, const char *net)
{
	size_t	i;

	for (i = 0; i < c->neps; i++)
		if (strcmp(c->eps[i].network_name, net) == 0)
			return &c->eps[i];
	fail_msg("no endpoint on %s", net);
	return NULL;
}

static void
assert_ip4(const struct endpoint *ep, const char *want, int plen)
{
	char	buf[INET_ADDRSTRLEN];

	assert_true(ep->has_ip4);
	assert_non_null(inet_ntop(AF_INET, &ep->ip4, buf, sizeof(buf)));
	assert_string_equal(buf, want);
	assert_int_equal(ep->ip4_plen, plen);
}

static void
assert_mac(const struct endpoint *ep, const char *want)
{
	char	buf[18];

	assert_true(ep->has_mac);
	snprintf(buf, sizeof(buf), "%02x:%02x:%02x:%02x:%02x:%02x",
	    ep->mac[0], ep->mac[1], ep->mac[2], ep->mac[3], ep->mac[4],
	    ep->mac[5]);
	assert_string_equal(buf, want);
}

/* The error of docker_parse_inspect on s, which must fail. */
static void
assert_inspect_fails(const char *s, const char *errpart)
{
	struct container	*c;
	char			 err[256] = "";

	c = docker_parse_inspect(s, strlen(s), err, sizeof(err));
	if (c != NULL) {
		container_free(c);
		fail_msg("accepted: %.200s", s);
	}
	if (strstr(err, errpart) == NULL)
		fail_msg("error \"%s\" lacks \"%s\"", err, errpart);
}

/* ---- inspect ---- */

static void
test_inspect_bridge(void **state)
{
	struct container	*c = inspect_fixture("inspect_bridge.json");
	const struct endpoint	*ep;

	assert_string_equal(c->id, ID_BRIDGE);
	assert_string_equal(c->name, "bhdock-bridge");
	assert_int_equal(c->labels.n, 3);
	assert_string_equal(labelset_get(&c->labels, "app"), "web");
	assert_string_equal(labelset_get(&c->labels, "tier"), "frontend");
	assert_string_equal(labelset_get(&c->labels,
	    "com.docker.compose.project"), "shop");
	assert_true(c->running);
	assert_int_equal(c->pid, 7189);
	assert_string_equal(c->network_mode, "default");
	assert_string_equal(c->sandbox_key,
	    "/var/run/docker/netns/d4b6f989da24");
	assert_int_equal(c->neps, 1);
	ep = find_ep(c, "bridge");
	assert_string_equal(ep->network_id, NET_BRIDGE);
	assert_ip4(ep, "172.17.0.3", 16);
	assert_mac(ep, "02:42:ac:11:00:03");
	assert_false(ep->has_ip6);
	assert_string_equal(ep->bridge, "");
	assert_string_equal(ep->veth, "");
	container_free(c);
}

static void
test_inspect_user_network(void **state)
{
	struct container	*c = inspect_fixture("inspect_user_network.json");
	const struct endpoint	*ep;

	assert_string_equal(c->id, ID_USER);
	assert_string_equal(c->name, "bhdock-user");
	assert_string_equal(labelset_get(&c->labels, "app"), "db");
	assert_string_equal(labelset_get(&c->labels, "note"),
	    "has spaces, \"quotes\"");
	assert_string_equal(c->network_mode, "bhdock-net1");
	assert_string_equal(c->sandbox_key,
	    "/var/run/docker/netns/c734170896f1");
	assert_int_equal(c->neps, 1);
	ep = find_ep(c, "bhdock-net1");
	assert_string_equal(ep->network_id, NET_USER1);
	assert_ip4(ep, "172.18.0.2", 16);
	assert_mac(ep, "02:42:ac:12:00:02");
	container_free(c);
}

static void
test_inspect_two_networks(void **state)
{
	struct container	*c = inspect_fixture("inspect_two_networks.json");
	const struct endpoint	*ep;
	struct in6_addr		 want6;

	assert_string_equal(c->id, ID_MULTI);
	assert_string_equal(labelset_get(&c->labels, "app"), "proxy");
	assert_int_equal(c->neps, 2);
	ep = find_ep(c, "bhdock-net1");
	assert_string_equal(ep->network_id, NET_USER1);
	assert_ip4(ep, "172.18.0.3", 16);
	assert_mac(ep, "02:42:ac:12:00:03");
	assert_false(ep->has_ip6);
	ep = find_ep(c, "bhdock-net2");
	assert_string_equal(ep->network_id, NET_USER2);
	assert_ip4(ep, "172.31.77.2", 24);
	assert_mac(ep, "02:42:ac:1f:4d:02");
	assert_true(ep->has_ip6);
	assert_int_equal(inet_pton(AF_INET6, "fd00:bd::2", &want6), 1);
	assert_memory_equal(&ep->ip6, &want6, sizeof(want6));
	assert_int_equal(ep->ip6_plen, 64);
	container_free(c);
}

static void
test_inspect_none_and_host(void **state)
{
	struct container	*c = inspect_fixture("inspect_network_none.json");
	const struct endpoint	*ep;

	assert_string_equal(c->id, ID_NONE);
	assert_string_equal(c->network_mode, "none");
	assert_string_equal(labelset_get(&c->labels, "app"), "batch");
	assert_int_equal(c->neps, 1);
	ep = find_ep(c, "none");
	assert_false(ep->has_ip4);
	assert_false(ep->has_mac);
	assert_false(ep->has_ip6);
	container_free(c);

	c = inspect_fixture("inspect_network_host.json");
	assert_string_equal(c->id, ID_HOST);
	assert_string_equal(c->network_mode, "host");
	assert_string_equal(c->sandbox_key, "/var/run/docker/netns/default");
	ep = find_ep(c, "host");
	assert_false(ep->has_ip4);
	assert_false(ep->has_mac);
	container_free(c);
}

static void
test_inspect_stopped(void **state)
{
	struct container	*c = inspect_fixture("inspect_stopped.json");
	const struct endpoint	*ep;

	assert_false(c->running);
	assert_int_equal(c->pid, 0);
	assert_string_equal(c->name, "bhdock-exec");
	ep = find_ep(c, "bridge");
	assert_string_equal(ep->network_id, NET_BRIDGE);
	assert_false(ep->has_ip4);
	assert_false(ep->has_mac);
	container_free(c);
}

static void
test_inspect_minimal(void **state)
{
	const char		*s = "{\"Id\":\"abc123\",\"Config\":{\"Labels\":null},"
	    "\"NetworkSettings\":{\"SandboxKey\":\"\",\"Networks\":null}}";
	struct container	*c;
	char			 err[256];

	c = docker_parse_inspect(s, strlen(s), err, sizeof(err));
	assert_non_null(c);
	assert_string_equal(c->id, "abc123");
	assert_string_equal(c->name, "");
	assert_string_equal(c->network_mode, "");
	assert_null(c->sandbox_key);
	assert_int_equal(c->labels.n, 0);
	assert_int_equal(c->neps, 0);
	assert_false(c->running);
	container_free(c);
}

static void
test_inspect_malformed(void **state)
{
	char	*doc, *big;
	size_t	 len, cut;
	char	 err[256];

	assert_inspect_fails("", "invalid json");
	assert_inspect_fails("{\"Id\":", "invalid json");
	assert_inspect_fails("[]", "not an object");
	assert_inspect_fails("null", "invalid json");
	assert_inspect_fails("{}", "Id missing");
	assert_inspect_fails("{\"Id\":42}", "Id is not a string");
	assert_inspect_fails("{\"Id\":\"XYZ\"}", "not a container id");
	assert_inspect_fails("{\"Id\":\"../../etc\"}", "not a container id");
	assert_inspect_fails("{\"Id\":\"ab\",\"Name\":[]}", "Name is not a string");
	assert_inspect_fails("{\"Id\":\"ab\",\"Config\":\"x\"}",
	    "Config is not an object");
	assert_inspect_fails("{\"Id\":\"ab\",\"Config\":{\"Labels\":[1]}}",
	    "Config.Labels is not an object");
	assert_inspect_fails("{\"Id\":\"ab\",\"Config\":{\"Labels\":{\"a\":1}}}",
	    "label value is not a string");
	assert_inspect_fails("{\"Id\":\"ab\",\"State\":{\"Running\":\"yes\"}}",
	    "State.Running is not a boolean");
	assert_inspect_fails("{\"Id\":\"ab\",\"State\":{\"Pid\":-1}}",
	    "State.Pid out of range");
	assert_inspect_fails("{\"Id\":\"ab\",\"State\":{\"Pid\":1e3}}",
	    "State.Pid is not an integer");
	assert_inspect_fails("{\"Id\":\"ab\",\"State\":{\"Pid\":99999999999}}",
	    "out of range");
	assert_inspect_fails("{\"Id\":\"ab\",\"HostConfig\":{\"NetworkMode\":5}}",
	    "HostConfig.NetworkMode is not a string");
	assert_inspect_fails("{\"Id\":\"ab\",\"NetworkSettings\":"
	    "{\"Networks\":{\"n\":7}}}", "network n is not an object");
	assert_inspect_fails("{\"Id\":\"ab\",\"NetworkSettings\":"
	    "{\"Networks\":{\"n\":{\"MacAddress\":\"02:42:ac:11:00\"}}}}",
	    "bad MacAddress");
	assert_inspect_fails("{\"Id\":\"ab\",\"NetworkSettings\":"
	    "{\"Networks\":{\"n\":{\"MacAddress\":\"02:42:ac:11:00:zz\"}}}}",
	    "bad MacAddress");
	assert_inspect_fails("{\"Id\":\"ab\",\"NetworkSettings\":"
	    "{\"Networks\":{\"n\":{\"IPAddress\":\"172.17.0.300\"}}}}",
	    "bad IPAddress");
	assert_inspect_fails("{\"Id\":\"ab\",\"NetworkSettings\":"
	    "{\"Networks\":{\"n\":{\"IPPrefixLen\":33}}}}",
	    "IPPrefixLen out of range");
	assert_inspect_fails("{\"Id\":\"ab\",\"NetworkSettings\":"
	    "{\"Networks\":{\"n\":{\"GlobalIPv6Address\":\"fd00::zz\"}}}}",
	    "bad GlobalIPv6Address");
	assert_inspect_fails("{\"Id\":\"ab\",\"NetworkSettings\":"
	    "{\"Networks\":{\"n\":{\"NetworkID\":\"a b\"}}}}", "bad NetworkID");
	assert_inspect_fails("{\"Id\":\"ab\",\"Name\":\"a\\u0000b\"}",
	    "invalid json");

	/* Every truncation of a real document is refused cleanly. */
	doc = fixture("inspect_two_networks.json", &len);
	for (cut = 0; cut < len - 2; cut++) {
		struct container *c = docker_parse_inspect(doc, cut, err,
		    sizeof(err));

		if (c != NULL) {
			container_free(c);
			fail_msg("truncated at %zu accepted", cut);
		}
	}
	free(doc);

	/* Oversized strings. */
	big = xmalloc(200000);
	memset(big, 'a', 199999);
	big[199999] = '\0';
	doc = xasprintf("{\"Id\":\"%.100s\"}", big);
	assert_inspect_fails(doc, "Id too long");
	free(doc);
	doc = xasprintf("{\"Id\":\"ab\",\"Name\":\"%s\"}", big);
	assert_inspect_fails(doc, "Name too long");
	free(doc);
	doc = xasprintf("{\"Id\":\"ab\",\"Config\":{\"Labels\":{\"k\":\"%s\"}}}",
	    big);
	assert_inspect_fails(doc, "label value too long");
	free(doc);
	doc = xasprintf("{\"Id\":\"ab\",\"Config\":{\"Labels\":{\"%s\":\"v\"}}}",
	    big);
	assert_inspect_fails(doc, "label key too long");
	free(doc);
	doc = xasprintf("{\"Id\":\"ab\",\"NetworkSettings\":{\"Networks\":"
	    "{\"%.200s\":{}}}}", big);
	assert_inspect_fails(doc, "network name empty or too long");
	free(doc);
	doc = xasprintf("{\"Id\":\"ab\",\"NetworkSettings\":{\"SandboxKey\":"
	    "\"%s\"}}", big);
	assert_inspect_fails(doc, "SandboxKey too long");
	free(doc);
	free(big);

	/* Errors land in whatever room there is, and NULL input is refused. */
	assert_null(docker_parse_inspect("{}", 2, err, 1));
	assert_string_equal(err, "");
	assert_null(docker_parse_inspect(NULL, 0, NULL, 0));
}

static void
test_inspect_deep_nesting(void **state)
{
	struct container	*c;
	char			*s = xmalloc(200001), err[256];
	int			 i;

	for (i = 0; i < 100000; i++) {
		s[i] = '[';
		s[100000 + i] = ']';
	}
	s[200000] = '\0';
	c = docker_parse_inspect(s, 200000, err, sizeof(err));
	assert_null(c);
	free(s);
}

/* ---- listing ---- */

static void
test_list(void **state)
{
	char	*doc, **ids = NULL, err[256];
	size_t	 len;
	int	 n, i, seen = 0;

	doc = fixture("containers_list.json", &len);
	n = docker_parse_list(doc, len, &ids, err, sizeof(err));
	free(doc);
	if (n < 0)
		fail_msg("%s", err);
	assert_int_equal(n, 6);
	for (i = 0; i < n; i++) {
		assert_int_equal(strlen(ids[i]), 64);
		seen += strcmp(ids[i], ID_BRIDGE) == 0;
		seen += strcmp(ids[i], ID_USER) == 0;
		seen += strcmp(ids[i], ID_NONE) == 0;
		seen += strcmp(ids[i], ID_HOST) == 0;
		seen += strcmp(ids[i], ID_MULTI) == 0;
		free(ids[i]);
	}
	free(ids);
	assert_int_equal(seen, 5);

	assert_int_equal(docker_parse_list("[]", 2, &ids, err, sizeof(err)), 0);
	assert_null(ids);
	assert_int_equal(docker_parse_list("{}", 2, &ids, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "not an array"));
	assert_null(ids);
	assert_int_equal(docker_parse_list(L("[{\"Id\":\"ab\"},1]"), &ids, err,
	    sizeof(err)), -1);
	assert_string_equal(err, "listing entry 1 is not an object");
	assert_null(ids);
	assert_int_equal(docker_parse_list(L("[{\"Id\":\"ab\"},{\"Id\":7}]"),
	    &ids, err, sizeof(err)), -1);
	assert_string_equal(err, "listing Id is not a string");
	assert_int_equal(docker_parse_list(L("[{\"Id\":\"ab\"},{}]"), &ids,
	    err, sizeof(err)), -1);
	assert_non_null(strstr(err, "entry 1: Id missing"));
	assert_int_equal(docker_parse_list(L("[{\"Id\":\"ab\""), &ids, err,
	    sizeof(err)), -1);
	assert_non_null(strstr(err, "invalid json"));
}

/* ---- privileges and published ports (bulkhead audit) ---- */

static const struct published_port *
find_port(const struct container *c, int proto, int port, const char *ip)
{
	size_t	i;

	for (i = 0; i < c->nports; i++)
		if (c->ports[i].protocol == proto && c->ports[i].port == port &&
		    strcmp(c->ports[i].host_ip, ip) == 0)
			return &c->ports[i];
	return NULL;
}

static void
test_inspect_privileges(void **state)
{
	struct container	*c;

	/* Recorded: docker run --privileged (the engine then failed to start it). */
	c = inspect_fixture("inspect_priv.json");
	assert_true(c->privileged);
	assert_int_equal(c->cap_add, 0);
	container_free(c);
	/* --cap-add NET_ADMIN --cap-add net_raw --cap-drop CHOWN */
	c = inspect_fixture("inspect_caps.json");
	assert_false(c->privileged);
	assert_int_equal(c->cap_add, CT_CAP_NET_ADMIN | CT_CAP_NET_RAW);
	assert_int_equal(c->nports, 0);
	container_free(c);
	c = inspect_fixture("inspect_bridge.json");
	assert_false(c->privileged);
	assert_int_equal(c->cap_add, 0);
	assert_int_equal(c->nports, 0);
	container_free(c);
}

static unsigned int
caps_of(const char *list)
{
	char			*s = xasprintf("{\"Id\":\"ab\",\"HostConfig\":"
				    "{\"CapAdd\":%s}}", list), err[256];
	struct container	*c = docker_parse_inspect(s, strlen(s), err,
				    sizeof(err));
	unsigned int		 caps;

	free(s);
	if (c == NULL)
		fail_msg("%s: %s", list, err);
	caps = c->cap_add;
	container_free(c);
	return caps;
}

static void
test_inspect_caps_synthetic(void **state)
{
	assert_int_equal(caps_of("[\"net_admin\"]"), CT_CAP_NET_ADMIN);
	assert_int_equal(caps_of("[\"cap_net_raw\"]"), CT_CAP_NET_RAW);
	assert_int_equal(caps_of("[\"ALL\"]"), CT_CAP_NET_ADMIN | CT_CAP_NET_RAW);
	assert_int_equal(caps_of("[\"CAP_ALL\"]"),
	    CT_CAP_NET_ADMIN | CT_CAP_NET_RAW);
	assert_int_equal(caps_of("[\"SYS_ADMIN\", \"NET_BIND_SERVICE\"]"), 0);
	assert_int_equal(caps_of("[\"NET_ADMINX\", \"CAP_\"]"), 0);
	assert_int_equal(caps_of("null"), 0);
	assert_int_equal(caps_of("[]"), 0);
	assert_inspect_fails("{\"Id\":\"ab\",\"HostConfig\":{\"CapAdd\":\"ALL\"}}",
	    "CapAdd is not an array");
	assert_inspect_fails("{\"Id\":\"ab\",\"HostConfig\":{\"CapAdd\":[1]}}",
	    "CapAdd entry is not a string");
	assert_inspect_fails("{\"Id\":\"ab\",\"HostConfig\":{\"CapAdd\":[\""
	    "NET_ADMINNET_ADMINNET_ADMINNET_ADMINNET_ADMINNET_ADMINNET_ADMINN"
	    "ET_ADMIN\"]}}", "CapAdd entry too long");
	assert_inspect_fails("{\"Id\":\"ab\",\"HostConfig\":{\"Privileged\":1}}",
	    "Privileged is not a boolean");
}

static void
test_inspect_ports(void **state)
{
	struct container		*c;
	const struct published_port	*pp;

	/* -p 18080:80 -p 127.0.0.1:18443:443/tcp -p 18053:53/udp --expose 9000 */
	c = inspect_fixture("inspect_ports.json");
	assert_int_equal(c->nports, 5);
	assert_non_null(pp = find_port(c, IPPROTO_TCP, 80, "0.0.0.0"));
	assert_int_equal(pp->host_port, 18080);
	assert_non_null(pp = find_port(c, IPPROTO_TCP, 80, "::"));
	assert_int_equal(pp->host_port, 18080);
	assert_non_null(pp = find_port(c, IPPROTO_TCP, 443, "127.0.0.1"));
	assert_int_equal(pp->host_port, 18443);
	assert_non_null(pp = find_port(c, IPPROTO_UDP, 53, "0.0.0.0"));
	assert_int_equal(pp->host_port, 18053);
	assert_non_null(find_port(c, IPPROTO_UDP, 53, "::"));
	/* Exposed, not published. */
	assert_null(find_port(c, IPPROTO_TCP, 9000, "0.0.0.0"));
	container_free(c);
	/* --network container:<bhfix-ports>: no ports, no namespace of its own. */
	c = inspect_fixture("inspect_share.json");
	assert_string_equal(c->network_mode, "container:6e1e3805168dea8a1290c98"
	    "20a6a60004f9b816b5a5570ef3194c9aee9d21345");
	assert_null(c->sandbox_key);
	assert_int_equal(c->nports, 0);
	container_free(c);
}

static struct container *
ports_of(const char *doc)
{
	struct container	*c;
	char			 err[256];

	if ((c = docker_parse_inspect(doc, strlen(doc), err,
	    sizeof(err))) == NULL)
		fail_msg("%s: %s", doc, err);
	return c;
}

static void
test_inspect_ports_synthetic(void **state)
{
	struct container	*c;

	/* Without NetworkSettings.Ports, what was asked for. */
	c = ports_of("{\"Id\":\"ab\",\"HostConfig\":{\"PortBindings\":"
	    "{\"8080/tcp\":[{\"HostIp\":\"\",\"HostPort\":\"\"}],"
	    "\"9/sctp\":[{\"HostIp\":\"::1\",\"HostPort\":\"99\"}]}}}");
	assert_int_equal(c->nports, 2);
	assert_non_null(find_port(c, IPPROTO_TCP, 8080, ""));
	assert_int_equal(find_port(c, IPPROTO_TCP, 8080, "")->host_port, 0);
	assert_int_equal(find_port(c, IPPROTO_SCTP, 9, "::1")->host_port, 99);
	container_free(c);
	/* NetworkSettings.Ports, even empty, wins over PortBindings. */
	c = ports_of("{\"Id\":\"ab\",\"NetworkSettings\":{\"Ports\":{}},"
	    "\"HostConfig\":{\"PortBindings\":{\"80/tcp\":[{}]}}}");
	assert_int_equal(c->nports, 0);
	container_free(c);
	c = ports_of("{\"Id\":\"ab\",\"NetworkSettings\":{\"Ports\":null}}");
	assert_int_equal(c->nports, 0);
	container_free(c);
	assert_inspect_fails("{\"Id\":\"ab\",\"NetworkSettings\":{\"Ports\":[]}}",
	    "NetworkSettings.Ports is not an object");
	/* A protocol bulkhead does not know is skipped, not fatal. */
	c = ports_of("{\"Id\":\"ab\",\"NetworkSettings\":{\"Ports\":"
	    "{\"80/quic\":[{\"HostPort\":\"80\"}],\"81/tcp\":[{}]}}}");
	assert_int_equal(c->nports, 1);
	assert_int_equal(c->ports[0].port, 81);
	container_free(c);
	assert_inspect_fails("{\"Id\":\"ab\",\"NetworkSettings\":{\"Ports\":"
	    "{\"80/\":null}}}", "bad port 80/");
	assert_inspect_fails("{\"Id\":\"ab\",\"NetworkSettings\":{\"Ports\":"
	    "{\"0/tcp\":null}}}", "bad port");
	assert_inspect_fails("{\"Id\":\"ab\",\"NetworkSettings\":{\"Ports\":"
	    "{\"65536/tcp\":null}}}", "bad port");
	assert_inspect_fails("{\"Id\":\"ab\",\"NetworkSettings\":{\"Ports\":"
	    "{\" 80/tcp\":null}}}", "bad port");
	assert_inspect_fails("{\"Id\":\"ab\",\"NetworkSettings\":{\"Ports\":"
	    "{\"80\":null}}}", "bad port");
	assert_inspect_fails("{\"Id\":\"ab\",\"NetworkSettings\":{\"Ports\":"
	    "{\"80/tcp\":{}}}}", "bindings are not an array");
	assert_inspect_fails("{\"Id\":\"ab\",\"NetworkSettings\":{\"Ports\":"
	    "{\"80/tcp\":[7]}}}", "binding is not an object");
	assert_inspect_fails("{\"Id\":\"ab\",\"NetworkSettings\":{\"Ports\":"
	    "{\"80/tcp\":[{\"HostIp\":\"1.2.3\"}]}}}", "bad HostIp");
	assert_inspect_fails("{\"Id\":\"ab\",\"NetworkSettings\":{\"Ports\":"
	    "{\"80/tcp\":[{\"HostIp\":5}]}}}", "HostIp is not a string");
	assert_inspect_fails("{\"Id\":\"ab\",\"NetworkSettings\":{\"Ports\":"
	    "{\"80/tcp\":[{\"HostPort\":\"65536\"}]}}}", "bad HostPort");
	assert_inspect_fails("{\"Id\":\"ab\",\"NetworkSettings\":{\"Ports\":"
	    "{\"80/tcp\":[{\"HostPort\":\"80x\"}]}}}", "bad HostPort");
	assert_inspect_fails("{\"Id\":\"ab\",\"NetworkSettings\":{\"Ports\":"
	    "{\"80/tcp\":[{\"HostPort\":\"-1\"}]}}}", "bad HostPort");
	assert_inspect_fails("{\"Id\":\"ab\",\"NetworkSettings\":{\"Ports\":"
	    "{\"80/tcp\":[{\"HostPort\":\"00000000000000000080\"}]}}}",
	    "HostPort too long");
	assert_inspect_fails("{\"Id\":\"ab\",\"HostConfig\":{\"PortBindings\":"
	    "{\"80/tcp\":[{\"HostIp\":\"x\"}]}}}", "bad HostIp");
}

/* ---- the network listing and the engine's info (bulkhead audit) ---- */

static int
has_bridge(const struct docker_bridge *b, int n, const char *name)
{
	int	i;

	for (i = 0; i < n; i++)
		if (strcmp(b[i].name, name) == 0)
			return 1;
	return 0;
}

static void
test_bridges_list(void **state)
{
	struct docker_bridge	*b;
	char			*doc, err[256];
	size_t			 len;
	int			 n;

	/* Recorded: bridge, host, none, a user network, one with a named bridge. */
	doc = fixture("networks_list.json", &len);
	n = docker_parse_bridges(doc, len, &b, err, sizeof(err));
	free(doc);
	assert_int_equal(n, 3);
	assert_true(has_bridge(b, n, "docker0"));
	assert_true(has_bridge(b, n, "br-3ea76839eefc"));
	assert_true(has_bridge(b, n, "bhfix-br"));
	free(b);
	/* Recorded from Podman 4.3's libpod API: its bridge is named. */
	doc = fixture("podman_libpod_networks.json", &len);
	n = docker_parse_bridges(doc, len, &b, err, sizeof(err));
	free(doc);
	assert_int_equal(n, 1);
	assert_string_equal(b[0].name, "podman0");
	free(b);
	n = docker_parse_bridges(L("[{\"driver\":\"macvlan\",\"network_interface\":"
	    "\"m\"},{\"driver\":\"bridge\",\"network_interface\":\"a/b\"},"
	    "{\"driver\":\"bridge\",\"network_interface\":\"podman7\"}]"), &b,
	    err, sizeof(err));
	assert_int_equal(n, 1);
	assert_string_equal(b[0].name, "podman7");
	free(b);
	/* Odd networks are skipped, not fatal. */
	n = docker_parse_bridges(L("[{\"Driver\":\"bridge\",\"Id\":\"x\"},"
	    "{\"Driver\":\"macvlan\"},{\"Driver\":\"bridge\",\"Name\":\"bridge\"}]"),
	    &b, err, sizeof(err));
	assert_int_equal(n, 1);
	assert_string_equal(b[0].name, "docker0");
	free(b);
	n = docker_parse_bridges(L("[]"), &b, err, sizeof(err));
	assert_int_equal(n, 0);
	free(b);
	assert_int_equal(docker_parse_bridges(L("{}"), &b, err, sizeof(err)), -1);
	assert_null(b);
	assert_int_equal(docker_parse_bridges(L("[1]"), &b, err, sizeof(err)), -1);
	assert_null(b);
	assert_non_null(strstr(err, "not an object"));
	assert_int_equal(docker_parse_bridges(L("[{"), &b, err, sizeof(err)), -1);
	assert_int_equal(docker_parse_bridges(NULL, 0, &b, err, sizeof(err)), -1);
}

static void
test_info(void **state)
{
	struct docker_info	 info;
	char			*doc, err[256];
	size_t			 len;

	/* Recorded from Debian's 20.10 engine: FirewallBackend is null. */
	doc = fixture("info.json", &len);
	assert_int_equal(docker_parse_info(doc, len, &info, err, sizeof(err)), 0);
	free(doc);
	assert_string_equal(info.version, "20.10.24+dfsg1");
	assert_string_equal(info.firewall_backend, "");
	/* API 1.48 and later. */
	assert_int_equal(docker_parse_info(L("{\"ServerVersion\":\"29.0.1\","
	    "\"FirewallBackend\":{\"Driver\":\"nftables\",\"Info\":"
	    "[[\"ReloadedAt\",\"2025-01-01T00:00:00Z\"]]}}"), &info, err,
	    sizeof(err)), 0);
	assert_string_equal(info.version, "29.0.1");
	assert_string_equal(info.firewall_backend, "nftables");
	assert_int_equal(docker_parse_info(L("{\"FirewallBackend\":{\"Driver\":"
	    "\"iptables+firewalld\"}}"), &info, err, sizeof(err)), 0);
	assert_string_equal(info.firewall_backend, "iptables+firewalld");
	assert_string_equal(info.version, "");
	assert_int_equal(docker_parse_info(L("{}"), &info, err, sizeof(err)), 0);
	/* Podman's compatible /info, recorded. */
	doc = fixture("podman_info.json", &len);
	assert_int_equal(docker_parse_info(doc, len, &info, err, sizeof(err)), 0);
	free(doc);
	assert_string_equal(info.version, "4.3.1");
	assert_string_equal(info.firewall_backend, "");
	assert_int_equal(docker_parse_info(L("{\"FirewallBackend\":\"x\"}"),
	    &info, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "FirewallBackend is not an object"));
	assert_int_equal(docker_parse_info(L("{\"FirewallBackend\":{\"Driver\":"
	    "\"a\\nb\"}}"), &info, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "not printable"));
	assert_string_equal(info.firewall_backend, "");
	assert_int_equal(docker_parse_info(L("{\"ServerVersion\":\"\\u00e9\"}"),
	    &info, err, sizeof(err)), -1);
	assert_int_equal(docker_parse_info(L("{\"ServerVersion\":\"0123456789"
	    "0123456789012345678901234567890123456789012345678901234\"}"), &info,
	    err, sizeof(err)), -1);
	assert_non_null(strstr(err, "too long"));
	assert_int_equal(docker_parse_info(L("[]"), &info, err, sizeof(err)), -1);
}

/* ---- networks ---- */

static void
test_network_bridge(void **state)
{
	char	*doc, br[IF_NAMESIZE], err[256];
	size_t	 len;

	doc = fixture("network_default_bridge.json", &len);
	assert_int_equal(docker_parse_network_bridge(doc, len, br, sizeof(br),
	    err, sizeof(err)), 0);
	assert_string_equal(br, "docker0");
	free(doc);

	doc = fixture("network_user.json", &len);
	assert_int_equal(docker_parse_network_bridge(doc, len, br, sizeof(br),
	    err, sizeof(err)), 0);
	assert_string_equal(br, "br-f41748bbb6b1");
	/* Too small a buffer is an error, not a truncated name. */
	assert_int_equal(docker_parse_network_bridge(doc, len, br, 8, err,
	    sizeof(err)), -1);
	assert_non_null(strstr(err, "does not fit"));
	free(doc);

	doc = fixture("network_user_named_bridge.json", &len);
	assert_int_equal(docker_parse_network_bridge(doc, len, br, sizeof(br),
	    err, sizeof(err)), 0);
	assert_string_equal(br, "bhdock-br2");
	free(doc);

	doc = fixture("network_host.json", &len);
	assert_int_equal(docker_parse_network_bridge(doc, len, br, sizeof(br),
	    err, sizeof(err)), 1);
	assert_string_equal(br, "");
	free(doc);
}

static int
net_parse(const char *s, char *br, size_t brlen, char *err)
{
	return docker_parse_network_bridge(s, strlen(s), br, brlen, err, 256);
}

static void
test_network_bridge_synthetic(void **state)
{
	char	br[IF_NAMESIZE], err[256];

	/* The default bridge without options is docker0. */
	assert_int_equal(net_parse("{\"Name\":\"bridge\",\"Driver\":\"bridge\","
	    "\"Id\":\"1c013d98165589d2\"}", br, sizeof(br), err), 0);
	assert_string_equal(br, "docker0");
	assert_int_equal(net_parse("{\"Driver\":\"macvlan\"}", br, sizeof(br),
	    err), 1);
	assert_int_equal(net_parse("{\"Name\":\"x\"}", br, sizeof(br), err), -1);
	assert_string_equal(err, "network without Driver");
	assert_int_equal(net_parse("{\"Driver\":1}", br, sizeof(br), err), -1);
	assert_string_equal(err, "Driver is not a string");
	assert_int_equal(net_parse("{\"Driver\":\"bridge\",\"Name\":\"n\","
	    "\"Id\":\"short\"}", br, sizeof(br), err), -1);
	assert_non_null(strstr(err, "without a usable Id"));
	assert_int_equal(net_parse("{\"Driver\":\"bridge\",\"Options\":[]}",
	    br, sizeof(br), err), -1);
	assert_string_equal(err, "Options is not an object");
	assert_int_equal(net_parse("{\"Driver\":\"bridge\",\"Options\":"
	    "{\"com.docker.network.bridge.name\":\"waytoolongbridgename\"}}",
	    br, sizeof(br), err), -1);
	assert_non_null(strstr(err, "bad bridge name"));
	assert_int_equal(net_parse("{\"Driver\":\"bridge\",\"Options\":"
	    "{\"com.docker.network.bridge.name\":\"../x\"}}", br, sizeof(br),
	    err), -1);
	assert_int_equal(net_parse("{\"Driver\":\"bridge\",\"Options\":"
	    "{\"com.docker.network.bridge.name\":\"a b\"}}", br, sizeof(br),
	    err), -1);
	assert_int_equal(net_parse("{\"Driver\":\"bridge\",\"Options\":"
	    "{\"com.docker.network.bridge.name\":7}}", br, sizeof(br),
	    err), -1);
	assert_string_equal(err, "bridge name option is not a string");
	assert_int_equal(net_parse("{\"Driver\":\"bridge\"", br, sizeof(br),
	    err), -1);
}

static void
test_error_message(void **state)
{
	char	*doc, msg[64];
	size_t	 len;

	doc = fixture("inspect_404.json", &len);
	assert_int_equal(docker_parse_error(doc, len, msg, sizeof(msg)), 0);
	assert_string_equal(msg, "No such container: doesnotexist");
	free(doc);
	assert_int_equal(docker_parse_error(L("{\"message\":\"a\\nb\"}"), msg,
	    sizeof(msg)), 0);
	assert_string_equal(msg, "a?b");
	assert_int_equal(docker_parse_error(L("{\"message\":3}"), msg,
	    sizeof(msg)), -1);
	assert_int_equal(docker_parse_error("x", 1, msg, sizeof(msg)), -1);
	assert_int_equal(docker_parse_error(NULL, 0, msg, sizeof(msg)), -1);
}

/* ---- events ---- */

static void
test_event_one(void **state)
{
	struct docker_event	 ev;
	char			 err[256];
	const char		*s;

	s = "{\"Type\":\"network\",\"Action\":\"connect\",\"Actor\":{\"ID\":\""
	    NET_BRIDGE "\",\"Attributes\":{\"container\":\"" ID_BRIDGE
	    "\",\"name\":\"bridge\",\"type\":\"bridge\"}},\"scope\":\"local\","
	    "\"time\":1795882651,\"timeNano\":1795882651539614812}";
	assert_int_equal(docker_parse_event(s, strlen(s), &ev, err,
	    sizeof(err)), 0);
	assert_int_equal(ev.kind, DOCKER_EV_NET_CONNECT);
	assert_string_equal(ev.type, "network");
	assert_string_equal(ev.action, "connect");
	assert_string_equal(ev.container_id, ID_BRIDGE);
	assert_string_equal(ev.network_id, NET_BRIDGE);
	assert_true(ev.time_nano == 1795882651539614812LL);

	/* time without timeNano */
	s = "{\"Type\":\"container\",\"Action\":\"die\",\"Actor\":{\"ID\":\"ab\"},"
	    "\"time\":1700000000}";
	assert_int_equal(docker_parse_event(s, strlen(s), &ev, err,
	    sizeof(err)), 0);
	assert_int_equal(ev.kind, DOCKER_EV_STOP);
	assert_string_equal(ev.container_id, "ab");
	assert_true(ev.time_nano == 1700000000000000000LL);

	/* exec actions carry the command: not a start */
	s = "{\"Type\":\"container\",\"Action\":\"exec_start: sh -c 'a very long "
	    "command line that does not fit'\",\"Actor\":{\"ID\":\"ab\"}}";
	assert_int_equal(docker_parse_event(s, strlen(s), &ev, err,
	    sizeof(err)), 0);
	assert_int_equal(ev.kind, DOCKER_EV_OTHER);
	assert_int_equal(strlen(ev.action), sizeof(ev.action) - 1);
	assert_string_equal(ev.container_id, "ab");

	s = "{\"Type\":\"container\",\"Action\":\"oom\",\"id\":\"abc\"}";
	assert_int_equal(docker_parse_event(s, strlen(s), &ev, err,
	    sizeof(err)), 0);
	assert_int_equal(ev.kind, DOCKER_EV_STOP);
	assert_string_equal(ev.container_id, "abc");

	s = "{\"Type\":\"image\",\"Action\":\"start\",\"Actor\":{\"ID\":\"ab\"}}";
	assert_int_equal(docker_parse_event(s, strlen(s), &ev, err,
	    sizeof(err)), 0);
	assert_int_equal(ev.kind, DOCKER_EV_OTHER);
	assert_string_equal(ev.container_id, "");

	s = "{\"Type\":\"container\",\"Action\":\"health_status: healthy\","
	    "\"Actor\":{\"ID\":\"ab\"}}";
	assert_int_equal(docker_parse_event(s, strlen(s), &ev, err,
	    sizeof(err)), 0);
	assert_int_equal(ev.kind, DOCKER_EV_OTHER);
}

static void
assert_event_fails(const char *s, const char *errpart)
{
	struct docker_event	ev;
	char			err[256] = "";

	if (docker_parse_event(s, strlen(s), &ev, err, sizeof(err)) == 0)
		fail_msg("accepted: %.200s", s);
	if (strstr(err, errpart) == NULL)
		fail_msg("error \"%s\" lacks \"%s\"", err, errpart);
	assert_int_equal(ev.kind, DOCKER_EV_OTHER);
	assert_string_equal(ev.container_id, "");
}

static void
test_event_malformed(void **state)
{
	assert_event_fails("", "invalid json");
	assert_event_fails("{\"Type\":\"container\"", "invalid json");
	assert_event_fails("[1]", "not an object");
	assert_event_fails("{\"Action\":\"start\"}", "without Type or Action");
	assert_event_fails("{\"Type\":7,\"Action\":\"start\"}",
	    "Type is not a string");
	assert_event_fails("{\"Type\":\"container\",\"Action\":[]}",
	    "Action is not a string");
	assert_event_fails("{\"Type\":\"container\",\"Action\":\"start\"}",
	    "without a valid container id");
	assert_event_fails("{\"Type\":\"container\",\"Action\":\"start\","
	    "\"Actor\":{\"ID\":\"not-hex!\"}}", "without a valid container id");
	assert_event_fails("{\"Type\":\"container\",\"Action\":\"start\","
	    "\"Actor\":[]}", "Actor is not an object");
	assert_event_fails("{\"Type\":\"container\",\"Action\":\"start\","
	    "\"Actor\":{\"ID\":5}}", "Actor.ID is not a string");
	assert_event_fails("{\"Type\":\"network\",\"Action\":\"connect\","
	    "\"Actor\":{\"ID\":\"abc\",\"Attributes\":{\"container\":1}}}",
	    "Actor.Attributes.container is not a string");
	assert_event_fails("{\"Type\":\"network\",\"Action\":\"connect\","
	    "\"Actor\":{\"ID\":\"abc\",\"Attributes\":[]}}",
	    "Actor.Attributes is not an object");
	assert_event_fails("{\"Type\":\"network\",\"Action\":\"disconnect\","
	    "\"Actor\":{\"ID\":\"abc\"}}", "without a valid container id");
	assert_event_fails("{\"Type\":\"network\",\"Action\":\"connect\","
	    "\"Actor\":{\"Attributes\":{\"container\":\"ab\"}}}",
	    "without a valid network id");
	assert_event_fails("{\"Type\":\"container\",\"Action\":\"die\","
	    "\"Actor\":{\"ID\":\"ab\"},\"timeNano\":\"now\"}",
	    "timeNano is not an integer");
	assert_event_fails("{\"Type\":\"container\",\"Action\":\"die\","
	    "\"Actor\":{\"ID\":\"ab\"},\"time\":99999999999999}",
	    "time out of range");
}

/* ---- the stream framer ---- */

struct collect {
	struct docker_event	*v;
	size_t			 n;
};

static void
collect_cb(const struct docker_event *ev, void *arg)
{
	struct collect	*c = arg;

	c->v = xreallocarray(c->v, c->n + 1, sizeof(*c->v));
	c->v[c->n++] = *ev;
}

static void
count_kinds(const struct collect *c, size_t kinds[5])
{
	size_t	i;

	memset(kinds, 0, 5 * sizeof(kinds[0]));
	for (i = 0; i < c->n; i++) {
		assert_in_range(c->v[i].kind, DOCKER_EV_OTHER,
		    DOCKER_EV_NET_DISCONNECT);
		kinds[c->v[i].kind]++;
	}
}

/* Feeds doc in the given chunking (0: byte by byte; -1: random sizes). */
static void
replay(const char *doc, size_t len, int chunk, struct collect *c,
    struct docker_stream *st)
{
	size_t	off = 0, step;

	docker_stream_init(st, collect_cb, c);
	while (off < len) {
		if (chunk == 0)
			step = 1;
		else if (chunk < 0)
			step = (size_t)(rand() % 700) + 1;
		else
			step = (size_t)chunk;
		if (step > len - off)
			step = len - off;
		docker_stream_feed(st, doc + off, step);
		off += step;
	}
}

static void
test_stream_fixture(void **state)
{
	static const int	 chunks[] = { 4096 * 1024, 0, 1, 2, 3, 7, 64,
		    333, 4096, -1, -1, -1, -1 };
	struct collect		 ref = { 0 }, c;
	struct docker_stream	 st;
	size_t			 len, i, k, kinds[5];
	char			*doc = fixture("events.jsonl", &len);

	srand(4242);
	replay(doc, len, chunks[0], &ref, &st);
	assert_int_equal(st.nevents, 66);
	assert_int_equal(st.nerrors, 0);
	assert_int_equal(st.len, 0);
	docker_stream_release(&st);
	assert_int_equal(ref.n, 66);
	count_kinds(&ref, kinds);
	assert_int_equal(kinds[DOCKER_EV_OTHER], 9);
	assert_int_equal(kinds[DOCKER_EV_START], 10);
	assert_int_equal(kinds[DOCKER_EV_STOP], 30);
	assert_int_equal(kinds[DOCKER_EV_NET_CONNECT], 8);
	assert_int_equal(kinds[DOCKER_EV_NET_DISCONNECT], 9);
	/* the first: network create; the fourth: bhdock-bridge joins bridge */
	assert_string_equal(ref.v[0].type, "network");
	assert_string_equal(ref.v[0].action, "create");
	assert_string_equal(ref.v[0].network_id, NET_USER1);
	assert_true(ref.v[0].time_nano == 1795882651403008686LL);
	assert_int_equal(ref.v[3].kind, DOCKER_EV_NET_CONNECT);
	assert_string_equal(ref.v[3].container_id, ID_BRIDGE);
	assert_string_equal(ref.v[3].network_id, NET_BRIDGE);
	assert_int_equal(ref.v[4].kind, DOCKER_EV_START);
	assert_string_equal(ref.v[4].action, "start");
	assert_string_equal(ref.v[4].container_id, ID_BRIDGE);
	for (i = 1; i < ref.n; i++)
		assert_true(ref.v[i].time_nano >= ref.v[i - 1].time_nano);

	for (k = 1; k < ARRAY_SIZE(chunks); k++) {
		memset(&c, 0, sizeof(c));
		replay(doc, len, chunks[k], &c, &st);
		docker_stream_release(&st);
		assert_int_equal(c.n, ref.n);
		for (i = 0; i < ref.n; i++)
			assert_event_equal(&c.v[i], &ref.v[i]);
		free(c.v);
	}
	free(ref.v);
	free(doc);
}

static void
test_stream_exec_fixture(void **state)
{
	struct collect		 c = { 0 };
	struct docker_stream	 st;
	size_t			 len, i, kinds[5], execs = 0;
	char			*doc = fixture("events_exec.jsonl", &len);

	replay(doc, len, 5, &c, &st);
	docker_stream_release(&st);
	free(doc);
	assert_int_equal(c.n, 12);
	count_kinds(&c, kinds);
	assert_int_equal(kinds[DOCKER_EV_START], 1);
	assert_int_equal(kinds[DOCKER_EV_STOP], 5);
	assert_int_equal(kinds[DOCKER_EV_OTHER], 4);
	for (i = 0; i < c.n; i++) {
		if (strncmp(c.v[i].action, "exec_", 5) != 0)
			continue;
		execs++;
		assert_int_equal(c.v[i].kind, DOCKER_EV_OTHER);
		assert_int_equal(strlen(c.v[i].container_id), 64);
	}
	assert_int_equal(execs, 3);
	free(c.v);
}

static void
test_stream_garbage_and_blank(void **state)
{
	static const char	 s[] = "\n\r\n  \n{\"Type\":\"container\","
	    "\"Action\":\"start\",\"id\":\"ab\"}\r\nnot json\n{\"Type\":"
	    "\"container\",\"Action\":\"stop\",\"id\":\"cd\"}\n{\"Type\":";
	struct collect		 c = { 0 };
	struct docker_stream	 st;

	quiet(1);
	replay(s, sizeof(s) - 1, 3, &c, &st);
	quiet(0);
	assert_int_equal(c.n, 2);
	assert_int_equal(st.nevents, 2);
	assert_int_equal(st.nerrors, 1);
	assert_string_equal(c.v[0].container_id, "ab");
	assert_int_equal(c.v[1].kind, DOCKER_EV_STOP);
	/* the unterminated tail waits for its newline */
	assert_int_equal(st.len, strlen("{\"Type\":"));
	docker_stream_feed(&st, "\"network\",\"Action\":\"x\"}\n", 25);
	assert_int_equal(c.n, 3);
	assert_string_equal(c.v[2].type, "network");
	docker_stream_release(&st);
	free(c.v);
}

static void
test_stream_overlong(void **state)
{
	static const char	 ev[] = "{\"Type\":\"container\",\"Action\":"
	    "\"die\",\"id\":\"ab\"}\n";
	struct collect		 c = { 0 };
	struct docker_stream	 st;
	size_t			 big = DOCKER_STREAM_MAX + 10, off, step;
	char			*line = xmalloc(big + 1), *exact;

	/* An overlong line, fed in pieces, is dropped; the next one passes. */
	memset(line, ' ', big);
	line[0] = '{';
	docker_stream_init(&st, collect_cb, &c);
	docker_stream_feed(&st, ev, sizeof(ev) - 1);
	quiet(1);
	for (off = 0; off < big; off += step) {
		step = big - off < 65536 ? big - off : 65536;
		docker_stream_feed(&st, line + off, step);
	}
	quiet(0);
	assert_true(st.cap <= DOCKER_STREAM_MAX);
	docker_stream_feed(&st, "}\n", 2);
	docker_stream_feed(&st, ev, sizeof(ev) - 1);
	assert_int_equal(c.n, 2);
	assert_int_equal(st.nerrors, 1);

	/* The same line in one piece, newline included. */
	line[big - 1] = '\n';
	quiet(1);
	docker_stream_feed(&st, line, big);
	quiet(0);
	docker_stream_feed(&st, ev, sizeof(ev) - 1);
	assert_int_equal(c.n, 3);
	assert_int_equal(st.nerrors, 2);
	docker_stream_release(&st);

	/* A line of exactly DOCKER_STREAM_MAX bytes is still accepted. */
	exact = xmalloc(DOCKER_STREAM_MAX + 1);
	memset(exact, ' ', DOCKER_STREAM_MAX);
	memcpy(exact, ev, sizeof(ev) - 2);
	exact[DOCKER_STREAM_MAX] = '\n';
	docker_stream_init(&st, collect_cb, &c);
	for (off = 0; off <= DOCKER_STREAM_MAX; off += step) {
		step = DOCKER_STREAM_MAX + 1 - off < 1000 ?
		    DOCKER_STREAM_MAX + 1 - off : 1000;
		docker_stream_feed(&st, exact + off, step);
	}
	assert_int_equal(c.n, 4);
	assert_int_equal(st.nerrors, 0);
	docker_stream_release(&st);
	free(exact);
	free(line);
	free(c.v);
}

static void
test_stream_random_bytes(void **state)
{
	struct docker_stream	 st;
	unsigned long		 n = 0;
	char			 buf[4096];
	int			 round;
	size_t			 i;

	srand(7);
	docker_stream_init(&st, NULL, &n);
	quiet(1);
	for (round = 0; round < 200; round++) {
		for (i = 0; i < sizeof(buf); i++)
			buf[i] = (char)(rand() % 8 == 0 ? '\n' : rand());
		docker_stream_feed(&st, buf, (size_t)(rand() % (int)sizeof(buf)));
	}
	quiet(0);
	assert_int_equal(st.nevents, 0);
	docker_stream_release(&st);
	assert_null(st.buf);
}

/* ---- Podman's compatible socket ---- */

static void
test_podman_inspect(void **state)
{
	struct container	*c = inspect_fixture("podman_inspect.json");
	const struct endpoint	*ep;

	assert_string_equal(c->id, ID_PODMAN);
	assert_string_equal(c->name, "bhpod-web");
	assert_string_equal(labelset_get(&c->labels, "app"), "web");
	assert_true(c->running);
	assert_string_equal(c->network_mode, "bridge");
	assert_string_equal(c->sandbox_key,
	    "/run/netns/netns-85bd5ae0-9468-24ea-844f-cd76566740cc");
	assert_int_equal(c->neps, 1);
	ep = find_ep(c, "podman");
	/* Podman gives the network's name where Docker gives its id. */
	assert_string_equal(ep->network_id, "podman");
	assert_ip4(ep, "10.88.0.18", 16);
	assert_mac(ep, "72:29:00:df:d7:79");
	container_free(c);
}

static void
test_podman_list(void **state)
{
	char	*doc, **ids = NULL, err[256];
	size_t	 len;

	doc = fixture("podman_containers_list.json", &len);
	assert_int_equal(docker_parse_list(doc, len, &ids, err, sizeof(err)),
	    1);
	assert_string_equal(ids[0], ID_PODMAN);
	free(ids[0]);
	free(ids);
	free(doc);
}

static void
test_podman_networks(void **state)
{
	char	*doc, br[IF_NAMESIZE], err[256];
	size_t	 len;

	/* The compatible document has no bridge name: the guess is wrong. */
	doc = fixture("podman_network_compat.json", &len);
	assert_int_equal(docker_parse_network_bridge(doc, len, br, sizeof(br),
	    err, sizeof(err)), 0);
	assert_string_equal(br, "br-2f259bab93aa");
	free(doc);
	doc = fixture("podman_libpod_network.json", &len);
	assert_int_equal(docker_parse_libpod_network(doc, len, br, sizeof(br),
	    err, sizeof(err)), 0);
	assert_string_equal(br, "podman0");
	assert_int_equal(docker_parse_libpod_network(doc, len, br, 4, err,
	    sizeof(err)), -1);
	assert_non_null(strstr(err, "does not fit"));
	free(doc);
	assert_int_equal(docker_parse_libpod_network(L("{\"driver\": "
	    "\"macvlan\", \"network_interface\": \"eth0\"}"), br, sizeof(br),
	    err, sizeof(err)), 1);
	assert_int_equal(docker_parse_libpod_network(L("{\"driver\": "
	    "\"bridge\"}"), br, sizeof(br), err, sizeof(err)), -1);
	assert_int_equal(docker_parse_libpod_network(L("{\"driver\": "
	    "\"bridge\", \"network_interface\": \"a/b\"}"), br, sizeof(br),
	    err, sizeof(err)), -1);
	assert_int_equal(docker_parse_libpod_network(L("{\"driver\": 3}"), br,
	    sizeof(br), err, sizeof(err)), -1);
	assert_int_equal(docker_parse_libpod_network(L("[]"), br, sizeof(br),
	    err, sizeof(err)), -1);
}

static void
test_podman_events(void **state)
{
	struct collect		 c = { 0 };
	struct docker_stream	 st;
	size_t			 len, kinds[5];
	char			*doc = fixture("podman_events.jsonl", &len);

	replay(doc, len, 17, &c, &st);
	assert_int_equal(st.nerrors, 0);
	docker_stream_release(&st);
	free(doc);
	assert_int_equal(c.n, 5);	/* create, init, start, die, remove */
	count_kinds(&c, kinds);
	assert_int_equal(kinds[DOCKER_EV_OTHER], 2);
	assert_int_equal(kinds[DOCKER_EV_START], 1);
	assert_int_equal(kinds[DOCKER_EV_STOP], 2);
	assert_string_equal(c.v[2].action, "start");
	assert_string_equal(c.v[2].container_id, ID_PODMAN);
	assert_string_equal(c.v[4].action, "remove");
	assert_int_equal(c.v[4].kind, DOCKER_EV_STOP);
	free(c.v);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_inspect_bridge),
		cmocka_unit_test(test_inspect_user_network),
		cmocka_unit_test(test_inspect_two_networks),
		cmocka_unit_test(test_inspect_none_and_host),
		cmocka_unit_test(test_inspect_stopped),
		cmocka_unit_test(test_inspect_minimal),
		cmocka_unit_test(test_inspect_malformed),
		cmocka_unit_test(test_inspect_deep_nesting),
		cmocka_unit_test(test_inspect_privileges),
		cmocka_unit_test(test_inspect_caps_synthetic),
		cmocka_unit_test(test_inspect_ports),
		cmocka_unit_test(test_inspect_ports_synthetic),
		cmocka_unit_test(test_bridges_list),
		cmocka_unit_test(test_info),
		cmocka_unit_test(test_list),
		cmocka_unit_test(test_network_bridge),
		cmocka_unit_test(test_network_bridge_synthetic),
		cmocka_unit_test(test_error_message),
		cmocka_unit_test(test_event_one),
		cmocka_unit_test(test_event_malformed),
		cmocka_unit_test(test_stream_fixture),
		cmocka_unit_test(test_podman_inspect),
		cmocka_unit_test(test_podman_list),
		cmocka_unit_test(test_podman_networks),
		cmocka_unit_test(test_podman_events),
		cmocka_unit_test(test_stream_exec_fixture),
		cmocka_unit_test(test_stream_garbage_and_blank),
		cmocka_unit_test(test_stream_overlong),
		cmocka_unit_test(test_stream_random_bytes),
	};

	log_init("test_docker_parse", 1, 0);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
