/*
 * nft_delta_test: incremental apply (ir_diff.c + nft_apply_delta) against
 * the running kernel (root).  Two network namespaces of the test's own:
 * in "delta" a ruleset is applied once whole and then changed step by
 * step, each step only through nft_apply_delta; in "full" every step's
 * ruleset is applied whole (nft_apply replaces the tables).  After each
 * step the two kernels must hold the same tables: `nft -j list table` of
 * both, canonicalised by jq (handles dropped, sets' elements and the
 * tables' objects sorted, each chain's rules kept in order), must be
 * equal.  The steps are pseudo-random but seeded (NFT_DELTA_SEED, printed)
 * over compile.c's real output: containers started, stopped, relabelled,
 * readdressed, quarantined and released, policies added, removed and
 * changed; then each policy
 * variant in turn, every container stopping and twenty starting at once.  Then a delta the
 * kernel refuses must leave the delta namespace as it was.
 *
 * Nothing outside the two namespaces is touched: they vanish with the
 * process, whatever happens.  Prints "PASS name"/"FAIL name" and
 * "# nft_delta_test: N passed, M failed"; exits 1 on any failure.
 */
#include <arpa/inet.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>

#include "compile.h"
#include "errlist.h"
#include "inventory.h"
#include "ir.h"
#include "ir_diff.h"
#include "labels.h"
#include "log.h"
#include "nft.h"
#include "policy.h"
#include "quarantine.h"
#include "util.h"

#define STEPS		60
#define NPOLICIES	6

static int	passed, failed;

static void
result(const char *name, int ok, const char *why)
{
	printf("%s %s", ok ? "PASS" : "FAIL", name);
	if (!ok && why != NULL)
		printf(": %s", why);
	printf("\n");
	fflush(stdout);
	if (ok)
		passed++;
	else
		failed++;
}

/* ---- two namespaces ---- */

struct side {
	const char	*name;
	int		 nsfd;
	struct nft	*nft;
};

/* A new network namespace with an nftables socket bound in it. */
static void
side_init(struct side *s, const char *name, int home)
{
	s->name = name;
	if (unshare(CLONE_NEWNET) == -1)
		fatal("unshare(CLONE_NEWNET)");
	if ((s->nsfd = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC)) == -1)
		fatal("open /proc/self/ns/net");
	if ((s->nft = nft_new()) == NULL)
		fatalx("nft_new in namespace %s", name);
	if (setns(home, CLONE_NEWNET) == -1)
		fatal("setns home");
}

static char *
run_in(const struct side *s, int home, const char *cmd)
{
	struct strbuf	sb;
	char		buf[65536];
	size_t		n;
	FILE		*f;

	if (setns(s->nsfd, CLONE_NEWNET) == -1)
		fatal("setns %s", s->name);
	f = popen(cmd, "r");
	if (setns(home, CLONE_NEWNET) == -1)
		fatal("setns home");
	if (f == NULL)
		fatal("popen");
	strbuf_init(&sb);
	while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
		strbuf_add(&sb, buf, n);
	if (pclose(f) != 0)
		strbuf_addstr(&sb, "\n(command failed)\n");
	return strbuf_detach(&sb);
}

/*
 * Both tables as canonical JSON: what nft lists, without handles, sets'
 * elements sorted, objects sorted by kind and name (jq's sort is stable,
 * so each chain's rules keep their order).
 */
#define JQ_CANON \
	"[.nftables[] | select(has(\"metainfo\") | not)" \
	" | walk(if type == \"object\" then del(.handle) else . end)" \
	" | if has(\"set\") and .set.elem then .set.elem |= sort" \
	"   elif has(\"map\") and .map.elem then .map.elem |= sort else . end]" \
	" | sort_by(if has(\"rule\") then [3, .rule.chain]" \
	"   elif has(\"chain\") then [2, .chain.name]" \
	"   elif has(\"set\") then [1, .set.name]" \
	"   elif has(\"map\") then [1, .map.name] else [0, \"\"] end)"

static char *
listing(const struct side *s, int home)
{
	return run_in(s, home, "for f in bridge inet; do nft -j list table $f "
	    COMPILE_TABLE " 2>&1 | jq -S '" JQ_CANON "' 2>&1; done");
}

/* Prints the first lines where a and b differ. */
static void
show_diff(const char *a, const char *b)
{
	char	fa[] = "/tmp/nft_delta_a.XXXXXX", fb[] = "/tmp/nft_delta_b.XXXXXX";
	char	cmd[256];
	int	da = mkstemp(fa), db = mkstemp(fb);

	if (da == -1 || db == -1)
		return;
	if (write(da, a, strlen(a)) < 0 || write(db, b, strlen(b)) < 0)
		fprintf(stderr, "write: failed\n");
	close(da);
	close(db);
	snprintf(cmd, sizeof(cmd), "diff -u %s %s | head -40", fa, fb);
	if (system(cmd) == -1)
		fprintf(stderr, "diff: failed\n");
	unlink(fa);
	unlink(fb);
}

/* ---- a pseudo-random world ---- */

static uint64_t	rng;

static uint32_t
rnd(uint32_t n)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (uint32_t)(rng % n);
}

static const char *const apps[] = { "web", "api", "db", "misc" };
static const char *const tiers[] = { "a", "b" };

/* Container number k: address by generation g (a restart readdresses). */
static struct container *
mk_container(unsigned k, unsigned g)
{
	struct container	*ct = container_new();
	struct endpoint		*ep;

	snprintf(ct->id, sizeof(ct->id), "dd%010x%052u", k, 0u);
	ct->name = xasprintf("c%u", k);
	ct->network_mode = xstrdup("bridge");
	ct->running = 1;
	labelset_set(&ct->labels, "app", apps[rnd(ARRAY_SIZE(apps))]);
	labelset_set(&ct->labels, "tier", tiers[rnd(ARRAY_SIZE(tiers))]);
	ct->eps = xcalloc(1, sizeof(*ct->eps));
	ct->neps = 1;
	ep = &ct->eps[0];
	strlcpy_bh(ep->network_name, "bridge", sizeof(ep->network_name));
	strlcpy_bh(ep->bridge, k % 3 ? "docker0" : "br-deltatest",
	    sizeof(ep->bridge));
	/* One in seven has no veth yet (held back, address claimed). */
	if (rnd(7) != 0)
		snprintf(ep->veth, sizeof(ep->veth), "vd%u", k);
	ep->mac[0] = 0x02;
	ep->mac[4] = (uint8_t)(k >> 8);
	ep->mac[5] = (uint8_t)k;
	ep->has_mac = 1;
	ep->ip4.s_addr = htonl(0x0a4d0000u + ((g & 0xff) << 8) + k % 250 + 2);
	ep->has_ip4 = 1;
	ep->ip4_plen = 16;
	if (k % 2 == 0) {
		inet_pton(AF_INET6, "fd00:77::", &ep->ip6);
		ep->ip6.s6_addr[13] = (uint8_t)g;
		ep->ip6.s6_addr[14] = (uint8_t)(k >> 8);
		ep->ip6.s6_addr[15] = (uint8_t)k;
		ep->has_ip6 = 1;
		ep->ip6_plen = 64;
	}
	return ct;
}

/* Policy i of the pool in variant v. */
static void
policy_text(struct strbuf *b, int i, int v)
{
	static const char *const head =
	    "{\"apiVersion\":\"bulkhead/v1\",\"kind\":\"Policy\","
	    "\"metadata\":{\"name\":\"%s\"},\"spec\":{";

	switch (i) {
	case 0:
		strbuf_addf(b, head, "web-in");
		strbuf_addf(b, "\"selector\":\"app == 'web'\",\"ingress\":["
		    "{\"action\":\"allow\",\"protocol\":\"tcp\","
		    "\"destination\":{\"ports\":[80,%d]}}]}}", v ? 8443 : 443);
		break;
	case 1:
		strbuf_addf(b, head, "api");
		strbuf_addf(b, "\"selector\":\"app == 'api'\",\"ingress\":["
		    "{\"action\":\"allow\",\"protocol\":\"tcp\",\"source\":"
		    "{\"selector\":\"app == '%s'\"},\"destination\":{\"ports\":"
		    "[8080]}}],\"egress\":[{\"action\":\"allow\",\"protocol\":"
		    "\"tcp\",\"destination\":{\"selector\":\"app == 'db'\","
		    "\"ports\":[5432]}},{\"action\":\"allow\",\"protocol\":"
		    "\"udp\",\"destination\":{\"entity\":\"world\",\"ports\":"
		    "[53]}}]}}", v ? "misc" : "web");
		break;
	case 2:
		strbuf_addf(b, head, "db");
		strbuf_addf(b, "\"selector\":\"app == 'db'\",\"order\":%d,"
		    "\"types\":[\"ingress\",\"egress\"],\"ingress\":["
		    "{\"action\":\"deny\",\"protocol\":\"tcp\",\"source\":"
		    "{\"selector\":\"tier == 'b'\"}},{\"action\":\"allow\","
		    "\"protocol\":\"tcp\",\"source\":{\"selector\":"
		    "\"app == 'api'\"},\"destination\":{\"ports\":[5432]}}],"
		    "\"egress\":[]}}", v ? 50 : 150);
		break;
	case 3:
		strbuf_addf(b, head, "audit-a");
		strbuf_addf(b, "\"selector\":\"tier == 'a'\",\"mode\":\"audit\","
		    "\"ingress\":[{\"action\":\"allow\",\"protocol\":\"icmp\","
		    "\"icmp\":{\"type\":%d}}]}}", v ? 0 : 8);
		break;
	case 4:
		strbuf_addf(b, head, "cidrs");
		strbuf_addf(b, "\"selector\":\"app == 'web'\",\"egress\":["
		    "{\"action\":\"allow\",\"destination\":{\"nets\":"
		    "[\"10.0.0.0/8\"%s],\"notNets\":[\"10.9.0.0/16\"]}},"
		    "{\"action\":\"log\",\"protocol\":\"udp\",\"destination\":"
		    "{\"notPorts\":[\"1:1023\"]}}]}}",
		    v ? ",\"0.0.0.0/8\"" : "");
		break;
	default:
		strbuf_addf(b, head, "v6");
		strbuf_addf(b, "\"selector\":\"tier == '%s'\",\"ingress\":["
		    "{\"action\":\"allow\",\"ipVersion\":6,\"protocol\":"
		    "\"icmpv6\"}]}}", v ? "b" : "a");
		break;
	}
}

static struct policy_set *
mk_policies(unsigned mask, unsigned variants)
{
	struct policy_set	*ps = policy_set_new();
	struct errlist		 errs;
	struct strbuf		 b;
	int			 i, n = 0;

	strbuf_init(&b);
	strbuf_addstr(&b, "[");
	for (i = 0; i < NPOLICIES; i++) {
		if (!(mask & (1u << i)))
			continue;
		if (n++)
			strbuf_addstr(&b, ",");
		policy_text(&b, i, (variants >> i) & 1);
	}
	strbuf_addstr(&b, "]");
	errlist_init(&errs);
	if (policy_load_buffer(ps, "delta.json", b.buf, b.len, &errs) ||
	    policy_set_finish(ps, &errs))
		fatalx("test policies refused: %s", errlist_join(&errs));
	errlist_release(&errs);
	strbuf_release(&b);
	return ps;
}

struct world {
	struct inventory	 inv;
	struct quarantine	 q;
	unsigned		 next, gen[512];
	unsigned		 mask, variants;
};

static struct container *
nth(struct world *w, unsigned n)
{
	struct container	*ct;

	TAILQ_FOREACH(ct, &w->inv.containers, entry)
		if (n-- == 0)
			return ct;
	return NULL;
}

/* One random change; describes it in what. */
static void
mutate(struct world *w, char *what, size_t len)
{
	struct container	*ct = w->inv.n ? nth(w, rnd((uint32_t)w->inv.n)) : NULL;
	unsigned		 k = 0, op = rnd(100);

	if (ct)
		k = (unsigned)strtoul(ct->name + 1, NULL, 10);
	if (op < 30 || ct == NULL) {
		k = w->next++ % 512;
		inventory_put(&w->inv, mk_container(k, w->gen[k]));
		snprintf(what, len, "start c%u", k);
	} else if (op < 50) {
		snprintf(what, len, "stop %s", ct->name);
		inventory_del(&w->inv, ct->id);
	} else if (op < 65) {
		snprintf(what, len, "relabel c%u", k);
		inventory_put(&w->inv, mk_container(k, w->gen[k]));
	} else if (op < 75) {
		snprintf(what, len, "readdress c%u", k);
		inventory_put(&w->inv, mk_container(k, ++w->gen[k]));
	} else if (op < 84) {
		w->mask ^= 1u << rnd(NPOLICIES);
		snprintf(what, len, "policies 0x%02x", w->mask);
	} else if (op < 92) {
		w->variants ^= 1u << rnd(NPOLICIES);
		snprintf(what, len, "variants 0x%02x", w->variants);
	} else if (quarantine_del(&w->q, ct->id) == 0) {
		snprintf(what, len, "release %s", ct->name);
	} else {
		quarantine_put(&w->q, ct->id, ct->name, "test", 0);
		snprintf(what, len, "quarantine %s", ct->name);
	}
}

/* ---- the test ---- */

struct run {
	struct side		 delta, full;
	int			 home;
	struct compile_opts	 copts;
	struct ir_ruleset	*applied;	/* what "delta" holds */
	unsigned		 deltas, fulls;
};

static struct ir_ruleset *
compile_world(struct run *r, struct world *w)
{
	struct policy_set	*ps = mk_policies(w->mask, w->variants);
	struct ir_ruleset	*rs;

	r->copts.quarantine = &w->q;
	rs = compile_ruleset(ps, &w->inv, &r->copts);

	policy_set_free(ps);
	return rs;
}

static int
same_tables(struct run *r, const char *name)
{
	char	*a = listing(&r->delta, r->home), *b = listing(&r->full, r->home);
	int	 ok = strcmp(a, b) == 0 && strstr(a, "\"table\"") != NULL;

	if (!ok) {
		printf("# %s: delta (-) and full (+) namespaces differ:\n", name);
		fflush(stdout);
		show_diff(a, b);
	}
	free(a);
	free(b);
	return ok;
}

static int
step(struct run *r, struct world *w, int i, const char *what)
{
	struct ir_ruleset	*rs = compile_world(r, w);
	struct ir_delta		*d = ir_delta_new(r->applied, rs);
	struct ir_delta_stats	 st;
	char			 name[128], err[1024] = "";
	int			 ok;

	snprintf(name, sizeof(name), "step %02d (%s)", i, what);
	ir_delta_stats(d, &st);
	if (d->full) {
		result(name, 0, d->why);
		ir_delta_free(d);
		ir_ruleset_free(rs);
		return -1;
	}
	printf("# %s: +%zu -%zu elements, +%zu -%zu sets, +%zu -%zu chains, "
	    "%zu flushed, %zu rules\n", name, st.elems_added, st.elems_deleted,
	    st.sets_added, st.sets_deleted, st.chains_added, st.chains_deleted,
	    st.chains_flushed, st.rules_added);
	ok = nft_apply_delta(r->delta.nft, d, err, sizeof(err)) == 0;
	ir_delta_free(d);
	if (ok && nft_apply(r->full.nft, rs, err, sizeof(err)) != 0)
		fatalx("full apply failed: %s", err);
	ok = ok && same_tables(r, name);
	result(name, ok, err[0] ? err : "kernels differ");
	if (!ok) {
		ir_ruleset_free(rs);
		return -1;
	}
	r->deltas++;
	ir_ruleset_free(r->applied);
	r->applied = rs;
	return 0;
}

/*
 * The next ruleset with one address more and a rule naming a set that
 * does not exist: the kernel refuses the batch, which must leave the
 * namespace as it was and name the rule.
 */
static void
test_refused(struct run *r, struct world *w)
{
	struct ir_ruleset	*rs = compile_world(r, w);
	struct ir_table		*t = &rs->tables[1];
	struct ir_rule		*ru = ir_rule_add(t, "forward");
	struct ir_expr		*e = ir_expr_add(ru, IR_PAYLOAD);
	struct ir_delta		*d;
	char			*before, *after, err[1024] = "";
	int			 rc;

	inet_pton(AF_INET, "192.0.2.1", ir_elem_add(ir_set_find(t,
	    "addrs4"))->key);
	e->u.payload.base = NFT_PAYLOAD_NETWORK_HEADER;
	e->u.payload.offset = 12;
	e->u.payload.len = 4;
	e->u.payload.dreg = NFT_REG32_00;
	e = ir_expr_add(ru, IR_LOOKUP);
	strlcpy_bh(e->u.lookup.set, "nosuch", sizeof(e->u.lookup.set));
	e->u.lookup.sreg = NFT_REG32_00;
	ru->text = xstrdup("ip saddr @nosuch");
	before = listing(&r->delta, r->home);
	d = ir_delta_new(r->applied, rs);
	rc = nft_apply_delta(r->delta.nft, d, err, sizeof(err));
	after = listing(&r->delta, r->home);
	result("refused delta: reported with its rule",
	    rc == -1 && strstr(err, "add rule to chain forward: ip saddr "
	    "@nosuch") != NULL, err[0] ? err : "accepted");
	result("refused delta: the kernel keeps what it had",
	    strcmp(before, after) == 0 && strstr(after, "192.0.2.1") == NULL,
	    NULL);
	ir_delta_free(d);
	ir_ruleset_free(rs);
	free(before);
	free(after);
}

int
main(void)
{
	struct run	 r;
	struct world	 w;
	const char	*seedenv = getenv("NFT_DELTA_SEED");
	char		 what[64], err[1024];
	int		 i;

	log_init("nft_delta_test", 1, 0);
	if (geteuid() != 0) {
		printf("FAIL nft_delta_test: needs root\n");
		return 1;
	}
	memset(&r, 0, sizeof(r));
	memset(&w, 0, sizeof(w));
	rng = seedenv ? strtoull(seedenv, NULL, 0) : (uint64_t)time(NULL);
	if (rng == 0)
		rng = 1;
	printf("# seed %llu (NFT_DELTA_SEED=%llu to replay)\n",
	    (unsigned long long)rng, (unsigned long long)rng);
	if ((r.home = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC)) == -1)
		fatal("open /proc/self/ns/net");
	side_init(&r.delta, "delta", r.home);
	side_init(&r.full, "full", r.home);
	compile_opts_default(&r.copts);
	inventory_init(&w.inv);
	quarantine_init(&w.q, NULL);
	w.mask = (1u << NPOLICIES) - 1;
	for (i = 0; i < 20; i++)
		inventory_put(&w.inv, mk_container(w.next++, 0));

	r.applied = compile_world(&r, &w);
	result("initial full apply",
	    nft_apply(r.delta.nft, r.applied, err, sizeof(err)) == 0 &&
	    nft_apply(r.full.nft, r.applied, err, sizeof(err)) == 0 &&
	    same_tables(&r, "initial"), err);
	for (i = 1; i <= STEPS && failed == 0; i++) {
		mutate(&w, what, sizeof(what));
		/* Every fifth step is several changes at once. */
		if (i % 5 == 0) {
			size_t l = strlen(what);

			snprintf(what + l, sizeof(what) - l, ", ");
			mutate(&w, what + l + 2, sizeof(what) - l - 2);
		}
		step(&r, &w, i, what);
	}
	/* Then every policy, each variant in turn, all gone, all back. */
	w.mask = (1u << NPOLICIES) - 1;
	for (i = 0; i <= NPOLICIES && failed == 0; i++) {
		if (i < NPOLICIES)
			w.variants ^= 1u << i;
		snprintf(what, sizeof(what), "policies 0x%02x variants 0x%02x",
		    w.mask, w.variants);
		step(&r, &w, STEPS + 1 + i, what);
	}
	if (failed == 0) {
		inventory_release(&w.inv);
		inventory_init(&w.inv);
		step(&r, &w, STEPS + NPOLICIES + 2, "every container stops");
	}
	if (failed == 0) {
		for (i = 0; i < 20; i++)
			inventory_put(&w.inv, mk_container(w.next++ % 512, 0));
		step(&r, &w, STEPS + NPOLICIES + 3, "20 containers start");
	}
	test_refused(&r, &w);
	ir_ruleset_free(r.applied);
	inventory_release(&w.inv);
	quarantine_release(&w.q);
	nft_free(r.delta.nft);
	nft_free(r.full.nft);
	printf("# nft_delta_test: %d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}
