/*
 * test_audit.c: `bulkhead audit` (src/audit.c) on hand-built inventories,
 * policy sets and host facts: each kind of finding with its severity, the
 * published ports judged by the evaluator (no policy, audit only, opened
 * to the world by a rule, closed, loopback bindings, duplicate bindings),
 * bridges, br_netfilter read from a fake /proc, Docker's firewall
 * backend, the order and counts of the findings, and the text.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "audit.h"
#include "errlist.h"
#include "inventory.h"
#include "policy.h"
#include "quarantine.h"
#include "util.h"

static const char rules_json[] =
"[\n"
"{\"apiVersion\": \"bulkhead/v1\", \"kind\": \"Policy\",\n"
" \"metadata\": {\"name\": \"clean-in\"},\n"
" \"spec\": {\"selector\": \"app == 'clean'\",\n"
"  \"ingress\": [{\"action\": \"allow\", \"protocol\": \"tcp\",\n"
"    \"source\": {\"selector\": \"app == 'web'\"},\n"
"    \"destination\": {\"ports\": [80]}}]}},\n"
"{\"apiVersion\": \"bulkhead/v1\", \"kind\": \"Policy\",\n"
" \"metadata\": {\"name\": \"pub-world\"},\n"
" \"spec\": {\"selector\": \"app == 'pub'\",\n"
"  \"ingress\": [{\"action\": \"allow\", \"protocol\": \"tcp\",\n"
"    \"source\": {\"entity\": \"world\"}, \"destination\": {\"ports\": [80]}},\n"
"   {\"action\": \"allow\", \"protocol\": \"tcp\",\n"
"    \"source\": {\"nets\": [\"0.0.0.0/0\"]}, \"destination\": {\"ports\": [443]}},\n"
"   {\"action\": \"allow\", \"protocol\": \"tcp\",\n"
"    \"source\": {\"entity\": \"host\"}, \"destination\": {\"ports\": [81]}}]}},\n"
"{\"apiVersion\": \"bulkhead/v1\", \"kind\": \"Policy\",\n"
" \"metadata\": {\"name\": \"hp-in\"},\n"
" \"spec\": {\"selector\": \"app == 'hp'\",\n"
"  \"ingress\": [{\"action\": \"allow\", \"protocol\": \"tcp\",\n"
"    \"destination\": {\"hostPorts\": [18081]}}]}},\n"
"{\"apiVersion\": \"bulkhead/v1\", \"kind\": \"Policy\",\n"
" \"metadata\": {\"name\": \"aud-watch\"},\n"
" \"spec\": {\"selector\": \"app == 'aud'\", \"mode\": \"audit\",\n"
"  \"ingress\": []}}\n"
"]\n";

static struct policy_set	*ps;
static struct inventory		 inv;
static struct audit_host	 host;
static struct quarantine	 quar;
static json_t			*ans;

/* A running container on bridge docker0 with one address. */
static struct container *
ct_add(const char *id, const char *name, const char *app, const char *mode)
{
	struct container	*c = container_new();
	static int		 last = 2;

	strlcpy_bh(c->id, id, sizeof(c->id));
	c->name = xstrdup(name);
	c->network_mode = xstrdup(mode);
	c->running = 1;
	if (app)
		labelset_set(&c->labels, "app", app);
	if (strcmp(mode, "default") == 0) {
		c->eps = xcalloc(1, sizeof(*c->eps));
		c->neps = 1;
		strlcpy_bh(c->eps[0].network_name, "bridge",
		    sizeof(c->eps[0].network_name));
		strlcpy_bh(c->eps[0].bridge, "docker0", sizeof(c->eps[0].bridge));
		strlcpy_bh(c->eps[0].veth, "vethx", sizeof(c->eps[0].veth));
		c->eps[0].has_ip4 = 1;
		c->eps[0].ip4.s_addr = htonl(0xac110000 | last++);
	}
	inventory_put(&inv, c);
	return c;
}

static void
ct_port(struct container *c, int proto, int port, const char *ip, int hp)
{
	struct published_port	*pp;

	c->ports = xreallocarray(c->ports, c->nports + 1, sizeof(*c->ports));
	pp = &c->ports[c->nports++];
	memset(pp, 0, sizeof(*pp));
	pp->protocol = proto;
	pp->port = port;
	pp->host_port = hp;
	strlcpy_bh(pp->host_ip, ip, sizeof(pp->host_ip));
}

/* A host where nothing is wrong: br_netfilter on, iptables backend. */
static void
host_good(void)
{
	audit_host_release(&host);
	audit_host_init(&host);
	host.br_netfilter = host.nf_call_iptables = host.nf_call_ip6tables = 1;
	host.bridges_listed = host.docker_listed = host.docker_answered = 1;
	strlcpy_bh(host.docker_version, "28.1.1", sizeof(host.docker_version));
	strlcpy_bh(host.firewall_backend, "iptables",
	    sizeof(host.firewall_backend));
	audit_host_add_bridge(&host, "docker0", 3);
	audit_host_docker_bridge(&host, "docker0");
}

static void
run(void)
{
	json_decref(ans);
	ans = audit_report(ps, &inv, &quar, &host);
	assert_non_null(ans);
	assert_true(json_is_true(json_object_get(ans, "ok")));
}

/* The finding about object of kind (and port, when not NULL), or NULL. */
static json_t *
find(const char *object, const char *kind, const char *port)
{
	json_t	*f;
	size_t	 i;

	json_array_foreach(json_object_get(ans, "findings"), i, f) {
		const char *p = json_string_value(json_object_get(f, "port"));

		if (strcmp(json_string_value(json_object_get(f, "object")),
		    object) == 0 && strcmp(json_string_value(
		    json_object_get(f, "kind")), kind) == 0 &&
		    (port == NULL || (p && strcmp(p, port) == 0)))
			return f;
	}
	return NULL;
}

static const char *
sev(const char *object, const char *kind, const char *port)
{
	json_t	*f = find(object, kind, port);

	return f ? json_string_value(json_object_get(f, "severity")) : "";
}

static size_t
count_about(const char *object)
{
	json_t	*f;
	size_t	 i, n = 0;

	json_array_foreach(json_object_get(ans, "findings"), i, f)
		n += strcmp(json_string_value(json_object_get(f, "object")),
		    object) == 0;
	return n;
}

static int
setup(void **state)
{
	struct errlist	el;

	ps = policy_set_new();
	errlist_init(&el);
	if (policy_load_buffer(ps, "t.json", rules_json, strlen(rules_json),
	    &el) || policy_set_finish(ps, &el))
		fail_msg("rules do not load:\n%s", errlist_join(&el));
	errlist_release(&el);
	inventory_init(&inv);
	audit_host_init(&host);
	host_good();
	quarantine_init(&quar, NULL);
	ans = NULL;
	return 0;
}

static int
teardown(void **state)
{
	policy_set_free(ps);
	inventory_release(&inv);
	audit_host_release(&host);
	quarantine_release(&quar);
	json_decref(ans);
	ans = NULL;
	return 0;
}

/* ---- containers ---- */

static void
test_clean_host(void **state)
{
	struct container	*c = ct_add("c1", "clean", "clean", "default");

	ct_port(c, IPPROTO_TCP, 80, "0.0.0.0", 8080);
	run();
	assert_int_equal(count_about("clean"), 0);
	assert_string_equal(sev("host", "br-netfilter", NULL), "info");
	assert_string_equal(sev("docker", "firewall-backend", NULL), "info");
	assert_int_equal(json_array_size(json_object_get(ans, "findings")), 2);
	assert_false(audit_has_high(ans));
	assert_int_equal(json_integer_value(json_object_get(ans,
	    "containers")), 1);
}

static void
test_netns(void **state)
{
	json_t	*f;

	ct_add("a1", "hostnet", NULL, "host");
	ct_add("a2", "owner", NULL, "default");
	ct_add("a3", "sharer", NULL, "container:a2");
	ct_add("a4", "hostsharer", NULL, "container:a1");
	ct_add("a5", "orphan", NULL, "container:deadbeef");
	ct_add("a6", "nonet", NULL, "none");
	run();
	assert_string_equal(sev("hostnet", "host-network", NULL), "high");
	f = find("hostnet", "host-network", NULL);
	assert_string_equal(json_string_value(json_object_get(f, "id")), "a1");
	assert_string_equal(json_string_value(json_object_get(f,
	    "container")), "hostnet");
	assert_non_null(strstr(json_string_value(json_object_get(f, "fix")),
	    "bridge network"));
	assert_string_equal(sev("sharer", "shared-netns", NULL), "medium");
	assert_non_null(strstr(json_string_value(json_object_get(find("sharer",
	    "shared-netns", NULL), "explanation")), "of owner"));
	assert_string_equal(sev("hostsharer", "shared-netns", NULL), "high");
	assert_string_equal(sev("orphan", "shared-netns", NULL), "medium");
	assert_non_null(strstr(json_string_value(json_object_get(find("orphan",
	    "shared-netns", NULL), "explanation")), "deadbeef"));
	assert_int_equal(count_about("owner"), 0);
	assert_int_equal(count_about("nonet"), 0);
	assert_true(audit_has_high(ans));
}

static void
test_non_bridge(void **state)
{
	struct container	*c = ct_add("b1", "macv", NULL, "default");

	c->eps[0].bridge[0] = '\0';	/* macvlan: no bridge */
	ct_port(c, IPPROTO_TCP, 80, "", 0);
	run();
	assert_string_equal(sev("macv", "non-bridge-network", NULL), "high");
	assert_null(find("macv", "published-port-open", NULL));
}

static void
test_privileges(void **state)
{
	struct container	*c;

	c = ct_add("p1", "priv", NULL, "default");
	c->privileged = 1;
	c->cap_add = CT_CAP_NET_ADMIN | CT_CAP_NET_RAW;
	c = ct_add("p2", "admin", NULL, "default");
	c->cap_add = CT_CAP_NET_ADMIN;
	c = ct_add("p3", "raw", NULL, "default");
	c->cap_add = CT_CAP_NET_RAW;
	c = ct_add("p4", "both", NULL, "default");
	c->cap_add = CT_CAP_NET_ADMIN | CT_CAP_NET_RAW;
	run();
	assert_string_equal(sev("priv", "privileged", NULL), "high");
	assert_int_equal(count_about("priv"), 1);	/* implies the caps */
	assert_string_equal(sev("admin", "cap-net-admin", NULL), "high");
	assert_int_equal(count_about("admin"), 1);
	assert_string_equal(sev("raw", "cap-net-raw", NULL), "medium");
	assert_int_equal(count_about("raw"), 1);
	assert_string_equal(sev("both", "cap-net-admin", NULL), "high");
	assert_string_equal(sev("both", "cap-net-raw", NULL), "medium");
}

/* ---- published ports, through the evaluator ---- */

static void
test_ports_unselected(void **state)
{
	struct container	*c = ct_add("o1", "open", "other", "default");
	json_t			*f;

	ct_port(c, IPPROTO_TCP, 80, "0.0.0.0", 8080);
	ct_port(c, IPPROTO_TCP, 80, "::", 8080);	/* same port, v6 */
	ct_port(c, IPPROTO_UDP, 53, "0.0.0.0", 5353);
	ct_port(c, IPPROTO_TCP, 81, "127.0.0.1", 8181);
	ct_port(c, IPPROTO_SCTP, 82, "::1", 8282);
	run();
	f = find("open", "published-port-open", "80/tcp");
	assert_non_null(f);
	assert_string_equal(json_string_value(json_object_get(f, "severity")),
	    "high");
	assert_string_equal(json_string_value(json_object_get(f, "binding")),
	    "0.0.0.0:8080");
	assert_non_null(strstr(json_string_value(json_object_get(f,
	    "explanation")), "no policy selects it"));
	assert_null(json_object_get(f, "policy"));
	assert_string_equal(sev("open", "published-port-open", "53/udp"),
	    "high");
	assert_string_equal(sev("open", "published-port-open", "81/tcp"),
	    "medium");
	assert_string_equal(sev("open", "published-port-open", "82/sctp"),
	    "medium");
	assert_string_equal(json_string_value(json_object_get(find("open",
	    "published-port-open", "82/sctp"), "binding")), "[::1]:8282");
	assert_int_equal(count_about("open"), 4);	/* 80/tcp once */
}

static void
test_ports_policies(void **state)
{
	struct container	*c;
	json_t			*f;

	c = ct_add("q1", "pub", "pub", "default");
	ct_port(c, IPPROTO_TCP, 80, "0.0.0.0", 80);	/* entity world */
	ct_port(c, IPPROTO_TCP, 443, "0.0.0.0", 443);	/* nets 0.0.0.0/0 */
	ct_port(c, IPPROTO_TCP, 8080, "0.0.0.0", 8080);	/* closed */
	ct_port(c, IPPROTO_TCP, 81, "127.0.0.1", 81);	/* host allowed */
	c = ct_add("q2", "clean", "clean", "default");
	ct_port(c, IPPROTO_TCP, 80, "", 80);		/* only from web */
	c = ct_add("q3", "aud", "aud", "default");
	ct_port(c, IPPROTO_TCP, 80, "0.0.0.0", 9000);
	run();
	f = find("pub", "published-port-open", "80/tcp");
	assert_non_null(f);
	assert_string_equal(json_string_value(json_object_get(f, "severity")),
	    "medium");
	assert_string_equal(json_string_value(json_object_get(f, "policy")),
	    "pub-world");
	assert_int_equal(json_integer_value(json_object_get(f, "rule")), 0);
	assert_non_null(strstr(json_string_value(json_object_get(f,
	    "explanation")), "t.json:"));
	f = find("pub", "published-port-open", "443/tcp");
	assert_non_null(f);
	assert_int_equal(json_integer_value(json_object_get(f, "rule")), 1);
	assert_null(find("pub", "published-port-open", "8080/tcp"));
	assert_string_equal(sev("pub", "published-port-open", "81/tcp"),
	    "info");
	assert_int_equal(count_about("clean"), 0);
	f = find("aud", "published-port-open", "80/tcp");
	assert_string_equal(json_string_value(json_object_get(f, "severity")),
	    "high");
	assert_non_null(strstr(json_string_value(json_object_get(f,
	    "explanation")), "only audit policies"));
}

/* hostPorts: the world's connection is to the host port (DNAT), the
 * host's to the container port (docker-proxy). */
static void
test_ports_host_ports(void **state)
{
	struct container	*c = ct_add("hp1", "hp", "hp", "default");
	json_t			*f;

	ct_port(c, IPPROTO_TCP, 81, "0.0.0.0", 18081);	/* open */
	ct_port(c, IPPROTO_TCP, 81, "::", 18081);	/* the same, v6 */
	ct_port(c, IPPROTO_TCP, 81, "0.0.0.0", 18082);	/* closed */
	ct_port(c, IPPROTO_TCP, 81, "127.0.0.1", 18081);	/* proxied: 81 */
	run();
	f = find("hp", "published-port-open", "81/tcp");
	assert_non_null(f);
	assert_string_equal(json_string_value(json_object_get(f, "binding")),
	    "0.0.0.0:18081");
	assert_string_equal(json_string_value(json_object_get(f, "policy")),
	    "hp-in");
	assert_int_equal(count_about("hp"), 1);
}

/* One container port listed per address family with different host ports
 * (Docker 20.10 does that) and the same decision: one finding. */
static void
test_ports_families(void **state)
{
	struct container	*c = ct_add("pf1", "pf", "pub", "default");
	json_t			*f;

	ct_port(c, IPPROTO_TCP, 80, "0.0.0.0", 32771);
	ct_port(c, IPPROTO_TCP, 80, "::", 32770);
	run();
	f = find("pf", "published-port-open", "80/tcp");
	assert_non_null(f);
	assert_string_equal(json_string_value(json_object_get(f, "binding")),
	    "0.0.0.0:32771");
	assert_int_equal(count_about("pf"), 1);
}

static void
test_ports_host_mode(void **state)
{
	struct container	*c = ct_add("h1", "hn", NULL, "host");

	ct_port(c, IPPROTO_TCP, 80, "0.0.0.0", 80);
	run();
	assert_null(find("hn", "published-port-open", NULL));
	assert_int_equal(count_about("hn"), 1);
}

/* A quarantined container's open ports are info; its host network is said. */
static void
test_quarantine(void **state)
{
	struct container	*c;
	json_t			*f;

	c = ct_add("z1", "cut", "other", "default");
	ct_port(c, IPPROTO_TCP, 80, "0.0.0.0", 8080);
	c = ct_add("z2", "pubcut", "pub", "default");
	ct_port(c, IPPROTO_TCP, 80, "0.0.0.0", 80);
	ct_add("z3", "hostcut", NULL, "host");
	quarantine_put(&quar, "z1", "cut", "test", 0);
	quarantine_put(&quar, "z2", "pubcut", "test", 0);
	quarantine_put(&quar, "z3", "hostcut", "test", 0);
	run();
	f = find("cut", "published-port-open", "80/tcp");
	assert_string_equal(json_string_value(json_object_get(f, "severity")),
	    "info");
	assert_true(json_is_true(json_object_get(f, "quarantined")));
	assert_non_null(strstr(json_string_value(json_object_get(f,
	    "explanation")), "(quarantined)"));
	assert_string_equal(sev("pubcut", "published-port-open", "80/tcp"),
	    "info");
	f = find("hostcut", "host-network", NULL);
	assert_string_equal(json_string_value(json_object_get(f, "severity")),
	    "high");
	assert_non_null(strstr(json_string_value(json_object_get(f,
	    "explanation")), "its quarantine has no effect"));
	/* Released: as before. */
	quarantine_del(&quar, "z1");
	run();
	assert_string_equal(sev("cut", "published-port-open", "80/tcp"),
	    "high");
	assert_null(json_object_get(find("cut", "published-port-open",
	    "80/tcp"), "quarantined"));
}

/* ---- the host ---- */

static void
test_bridges(void **state)
{
	json_t	*b, *f;
	size_t	 i;

	ct_add("d1", "x", NULL, "default");
	audit_host_add_bridge(&host, "virbr0", 2);
	audit_host_add_bridge(&host, "lonely", 0);
	audit_host_add_bridge(&host, "br-abc", 1);
	audit_host_docker_bridge(&host, "br-abc");
	audit_host_docker_bridge(&host, "not-on-host");
	audit_host_add_bridge(&host, "bad\xff\xfe", 1);	/* not UTF-8 */
	run();
	assert_non_null(find("bad??", "unmanaged-bridge", NULL));
	assert_string_equal(sev("virbr0", "unmanaged-bridge", NULL), "medium");
	assert_string_equal(sev("lonely", "unmanaged-bridge", NULL), "info");
	assert_null(find("br-abc", "unmanaged-bridge", NULL));
	assert_null(find("docker0", "unmanaged-bridge", NULL));
	assert_int_equal(json_array_size(json_object_get(json_object_get(ans,
	    "host"), "bridges")), 5);
	json_array_foreach(json_object_get(json_object_get(ans, "host"),
	    "bridges"), i, b) {
		const char *n = json_string_value(json_object_get(b, "name"));

		if (strcmp(n, "docker0") == 0) {
			assert_true(json_is_true(json_object_get(b, "docker")));
			assert_int_equal(json_integer_value(json_object_get(b,
			    "containers")), 1);
			assert_int_equal(json_integer_value(json_object_get(b,
			    "ports")), 3);
		}
	}
	/* A bridge a managed container sits on is not unmanaged. */
	host.bridges[0].docker = 0;
	run();
	assert_null(find("docker0", "unmanaged-bridge", NULL));
	/* Docker's networks not listed: the explanation says so. */
	host.docker_listed = 0;
	run();
	f = find("virbr0", "unmanaged-bridge", NULL);
	assert_non_null(strstr(json_string_value(json_object_get(f,
	    "explanation")), "could not be listed"));
	host.bridges_listed = 0;
	run();
	assert_string_equal(sev("host", "unmanaged-bridge", NULL), "medium");
}

/* Writes a fake procroot with the two sysctls (NULL: absent). */
static char *
fake_proc(const char *v4, const char *v6)
{
	char	*dir = xstrdup("/tmp/bh-audit-proc.XXXXXX"), *p;
	FILE	*f;

	assert_non_null(mkdtemp(dir));
	p = xasprintf("%s/sys", dir);
	assert_int_equal(mkdir(p, 0755), 0);
	free(p);
	p = xasprintf("%s/sys/net", dir);
	assert_int_equal(mkdir(p, 0755), 0);
	free(p);
	p = xasprintf("%s/sys/net/bridge", dir);
	assert_int_equal(mkdir(p, 0755), 0);
	if (v4) {
		free(p);
		p = xasprintf("%s/sys/net/bridge/bridge-nf-call-iptables", dir);
		assert_non_null(f = fopen(p, "w"));
		fputs(v4, f);
		fclose(f);
	}
	if (v6) {
		free(p);
		p = xasprintf("%s/sys/net/bridge/bridge-nf-call-ip6tables", dir);
		assert_non_null(f = fopen(p, "w"));
		fputs(v6, f);
		fclose(f);
	}
	free(p);
	return dir;
}

static void
rm_proc(char *dir)
{
	char	*cmd = xasprintf("rm -rf %s", dir);

	assert_int_equal(system(cmd), 0);
	free(cmd);
	free(dir);
}

/* br_netfilter state from procroot: the br-netfilter findings. */
static void
brnf_case(const char *v4, const char *v6, int loaded, const char *sev4,
    const char *needle)
{
	char	*dir = fake_proc(v4, v6);
	json_t	*f;
	size_t	 i, n = 0;

	audit_read_brnf(&host, dir);
	assert_int_equal(host.br_netfilter, loaded);
	run();
	json_array_foreach(json_object_get(ans, "findings"), i, f) {
		if (strcmp(json_string_value(json_object_get(f, "kind")),
		    "br-netfilter"))
			continue;
		if (strstr(json_string_value(json_object_get(f, "explanation")),
		    needle) == NULL)
			continue;
		assert_string_equal(json_string_value(json_object_get(f,
		    "severity")), sev4);
		n++;
	}
	assert_int_equal(n, 1);
	rm_proc(dir);
}

static void
test_brnf(void **state)
{
	brnf_case("1\n", "1\n", 1, "info", "is loaded");
	assert_int_equal(json_integer_value(json_object_get(json_object_get(
	    ans, "host"), "bridge_nf_call_iptables")), 1);
	assert_true(json_is_true(json_object_get(json_object_get(ans, "host"),
	    "br_netfilter")));
	brnf_case(NULL, NULL, 0, "high", "not loaded");
	assert_true(json_is_false(json_object_get(json_object_get(ans, "host"),
	    "br_netfilter")));
	assert_true(json_is_null(json_object_get(json_object_get(ans, "host"),
	    "bridge_nf_call_iptables")));
	brnf_case("0\n", "1\n", 1, "high", "iptables is 0");
	brnf_case("1\n", "0\n", 1, "medium", "ip6tables is 0");
	brnf_case("x", "x", -1, "medium", "could not be read");
	assert_true(audit_has_high(ans) == 0);
}

static void
backend_case(int answered, const char *be, const char *sev_want,
    const char *needle)
{
	json_t	*f;

	host.docker_answered = answered;
	strlcpy_bh(host.firewall_backend, be, sizeof(host.firewall_backend));
	run();
	f = find("docker", "firewall-backend", NULL);
	assert_non_null(f);
	assert_string_equal(json_string_value(json_object_get(f, "severity")),
	    sev_want);
	assert_non_null(strstr(json_string_value(json_object_get(f,
	    "explanation")), needle));
}

static void
test_backend(void **state)
{
	backend_case(1, "iptables", "info", "iptables, as bulkhead expects");
	backend_case(1, "nftables", "info", "nftables, as bulkhead expects");
	backend_case(1, "", "info", "engine 28.1.1 does not report");
	assert_true(json_is_null(json_object_get(json_object_get(ans, "host"),
	    "firewall_backend")));
	backend_case(1, "iptables+firewalld", "medium", "firewalld");
	backend_case(1, "pf", "medium", "pf, not iptables or nftables");
	backend_case(0, "", "medium", "did not answer");
}

/* ---- the report ---- */

static void
test_order_and_text(void **state)
{
	struct container	*c;
	struct strbuf		 sb;
	json_t			*f, *sum;
	const char		*last = "high";
	size_t			 i;
	int			 rank[3] = { 0, 0, 0 };

	c = ct_add("r1", "raw", NULL, "default");
	c->cap_add = CT_CAP_NET_RAW;
	ct_add("r2", "hostnet", NULL, "host");
	audit_host_add_bridge(&host, "lonely", 0);
	run();
	sum = json_object_get(ans, "summary");
	assert_int_equal(json_integer_value(json_object_get(sum, "high")), 1);
	assert_int_equal(json_integer_value(json_object_get(sum, "medium")), 1);
	assert_int_equal(json_integer_value(json_object_get(sum, "info")), 3);
	json_array_foreach(json_object_get(ans, "findings"), i, f) {
		const char *s = json_string_value(json_object_get(f,
		    "severity"));

		rank[strcmp(s, "high") == 0 ? 0 : strcmp(s, "medium") == 0 ?
		    1 : 2]++;
		/* Never back to a more severe level. */
		assert_false(strcmp(last, "info") == 0 && strcmp(s, "info"));
		assert_false(strcmp(last, "medium") == 0 &&
		    strcmp(s, "high") == 0);
		last = s;
	}
	assert_int_equal(rank[0] + rank[1] + rank[2], 5);
	assert_true(audit_has_high(ans));
	strbuf_init(&sb);
	audit_render(ans, &sb);
	assert_non_null(strstr(sb.buf, "audit: 1 high, 1 medium, 3 info "
	    "(2 containers, 2 bridges)\n"));
	assert_non_null(strstr(sb.buf, "HIGH   host-network        hostnet: "
	    "uses the host's network namespace"));
	assert_non_null(strstr(sb.buf, "MEDIUM cap-net-raw         raw: "));
	assert_non_null(strstr(sb.buf, "       fix: remove --cap-add NET_RAW"));
	assert_non_null(strstr(sb.buf, "INFO   br-netfilter        host: "));
	/* An info finding with nothing to do has no fix line. */
	assert_null(strstr(sb.buf, "fix: nothing"));
	/* The high one is printed first. */
	assert_true(strstr(sb.buf, "HIGH") < strstr(sb.buf, "MEDIUM"));
	strbuf_release(&sb);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_clean_host, setup, teardown),
		cmocka_unit_test_setup_teardown(test_netns, setup, teardown),
		cmocka_unit_test_setup_teardown(test_non_bridge, setup, teardown),
		cmocka_unit_test_setup_teardown(test_privileges, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ports_unselected, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_ports_policies, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_ports_host_ports, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_ports_families, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_ports_host_mode, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_quarantine, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bridges, setup, teardown),
		cmocka_unit_test_setup_teardown(test_brnf, setup, teardown),
		cmocka_unit_test_setup_teardown(test_backend, setup, teardown),
		cmocka_unit_test_setup_teardown(test_order_and_text, setup,
		    teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
