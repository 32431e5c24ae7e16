/*
 * bench.c: bhbench, the measuring half of `make bench` (tools/bench/run.sh
 * builds it, wires the namespaces and cleans up).  Issue 9.
 *
 * Synthetic inventory (N containers, a label group per 10 of them, one
 * policy per group) -> compile_ruleset -> nft_apply: bulkhead's own code
 * path, programmed into a network namespace of the bench's own ("host"),
 * whose bridge joins two endpoint namespaces (client, server) through veth
 * pairs with br_netfilter on, as Docker wires a container.  The two
 * endpoints are containers 0 and 1 of every inventory, with their real
 * veth, MAC and address, so the measured flows are evaluated by policy.
 *
 *   dataplane: configurations (no tables, bulkhead at each N, a linear
 *     ruleset of one rule per container) are applied in turn, in a rotated
 *     order each round; each runs the same three tests (64-byte UDP
 *     one-way, every packet ct state new; TCP connect+close; TCP bulk).
 *     Every figure is a ratio to the no-table run of the same round; the
 *     median over rounds is quoted, with min and max.
 *   program: compile and nft_apply of the whole ruleset into an empty
 *     table set at each N, `nft -f` of the identical ruleset (ir_print) as
 *     the anchor, and one change (one container more: recompile, diff
 *     against the applied ruleset, nft_apply_delta, as bulkheadd does),
 *     then a no-op reconcile (recompile, diff, nothing to send),
 *     alternating between sizes per round.
 *
 * Prints a table and writes build/bench.json in the shape of issue 9.
 * No timing assertions: the goals are reported, never enforced.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <jansson.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_conntrack_common.h>
#include <linux/netfilter/nf_tables.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "compile.h"
#include "errlist.h"
#include "inventory.h"
#include "ir.h"
#include "ir_diff.h"
#include "labels.h"
#include "log.h"
#include "nft.h"
#include "policy.h"
#include "util.h"

#define MAXSIZES	8
#define MAXROUNDS	64
#define MAXCHANGES	128	/* patches per round (--changes) */
#define WHOLE_CHANGES	3	/* whole recompiles per round, for comparison */
#define UDP_PORT	9000
#define CRR_PORT	80
#define BULK_PORT	443
#define UDP_PAYLOAD	18	/* 14 + 20 + 8 + 18 = 60 bytes, 64 on the wire */
#define LINEAR_TABLE	"bhlinear"

struct opts {
	const char	*host_ns, *client_ns, *server_ns;
	const char	*client_veth, *server_veth, *bridge;
	uint8_t		 client_mac[6], server_mac[6];
	size_t		 sizes[MAXSIZES], nsizes;	/* dataplane, bulkhead */
	size_t		 lin[MAXSIZES], nlin;		/* dataplane, linear */
	size_t		 psizes[MAXSIZES], npsizes;	/* programming */
	int		 rounds, prounds, changes;
	double		 secs, warmup;
	const char	*json, *workdir;
	int		 do_dataplane, do_program;
};

static struct opts	o;
static struct nft	*nl;
static json_t		*results;

/* ---- small helpers ---- */

static double
now(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void
sleep_s(double s)
{
	struct timespec	ts = { (time_t)s, (long)((s - (double)(time_t)s) * 1e9) };

	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
}

static int
dbl_cmp(const void *a, const void *b)
{
	double	x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

struct spread {
	double	min, med, max;
};

static struct spread
spread_of(const double *v, int n)
{
	double		s[MAXROUNDS * MAXCHANGES];
	struct spread	r = { 0, 0, 0 };

	if (n <= 0)
		return r;
	memcpy(s, v, (size_t)n * sizeof(*v));
	qsort(s, (size_t)n, sizeof(*s), dbl_cmp);
	r.min = s[0];
	r.max = s[n - 1];
	r.med = n % 2 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
	return r;
}

static void
ns_enter(const char *name)
{
	char	path[256];
	int	fd;

	snprintf(path, sizeof(path), "/run/netns/%s", name);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		fatal("%s: open %s", __func__, path);
	if (setns(fd, CLONE_NEWNET) == -1)
		fatal("%s: setns %s", __func__, name);
	close(fd);
}

static void
pin_cpu(int cpu)
{
	cpu_set_t	set;

	if (sysconf(_SC_NPROCESSORS_ONLN) < 2)
		return;
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	sched_setaffinity(0, sizeof(set), &set);
}

static int
parse_mac(const char *s, uint8_t mac[6])
{
	unsigned int	b[6];
	int		i;

	if (sscanf(s, "%2x:%2x:%2x:%2x:%2x:%2x", &b[0], &b[1], &b[2], &b[3],
	    &b[4], &b[5]) != 6)
		return -1;
	for (i = 0; i < 6; i++)
		mac[i] = (uint8_t)b[i];
	return 0;
}

static size_t
parse_sizes(const char *s, size_t *v)
{
	size_t	n = 0;
	char	*end;

	while (*s && n < MAXSIZES) {
		v[n++] = strtoul(s, &end, 10);
		s = *end == ',' ? end + 1 : end;
		if (*end && *end != ',')
			break;
	}
	return n;
}

/* ---- synthetic inventory and policies ---- */

/* Container i: 10.213.0.0/16 + i + 2; 0 is the client, 1 the server. */
static struct in_addr
synth_ip(size_t i)
{
	struct in_addr	a;

	a.s_addr = htonl((10u << 24 | 213u << 16) + (uint32_t)i + 2);
	return a;
}

static struct container *
synth_container(size_t i)
{
	struct container	*ct = container_new();
	struct endpoint		*ep;
	char			 buf[64];

	snprintf(ct->id, sizeof(ct->id), "bb%010zx%052d", i, 0);
	ct->name = xasprintf("bench%zu", i);
	ct->network_mode = xstrdup("bhbench");
	ct->running = 1;
	snprintf(buf, sizeof(buf), "g%zu", i / 10);
	labelset_set(&ct->labels, "group", buf);
	labelset_set(&ct->labels, "bench", "1");
	ct->eps = xcalloc(1, sizeof(*ct->eps));
	ct->neps = 1;
	ep = &ct->eps[0];
	strlcpy_bh(ep->network_name, "bhbench", sizeof(ep->network_name));
	strlcpy_bh(ep->bridge, o.bridge, sizeof(ep->bridge));
	if (i == 0 || i == 1) {
		strlcpy_bh(ep->veth, i ? o.server_veth : o.client_veth,
		    sizeof(ep->veth));
		memcpy(ep->mac, i ? o.server_mac : o.client_mac, 6);
	} else {
		snprintf(ep->veth, sizeof(ep->veth), "bhs%u", (unsigned)(i & 0xffffff));
		ep->mac[0] = 0x02;
		ep->mac[1] = 0xbb;
		ep->mac[3] = (uint8_t)(i >> 16);
		ep->mac[4] = (uint8_t)(i >> 8);
		ep->mac[5] = (uint8_t)i;
	}
	ep->has_mac = 1;
	ep->ip4 = synth_ip(i);
	ep->has_ip4 = 1;
	ep->ip4_plen = 16;
	return ct;
}

static void
synth_inventory(struct inventory *inv, size_t n)
{
	size_t	i;

	inventory_init(inv);
	for (i = 0; i < n; i++)
		inventory_put(inv, synth_container(i));
}

/*
 * Group g (containers 10g..10g+9) accepts TCP 80/443 and UDP 9000 from its
 * own group and the one before, and may send the same to its own group and
 * the one after (a ring).  Client and server share group 0.
 */
static void
synth_policy(struct strbuf *b, size_t g, size_t ngroups)
{
	size_t	prev = (g + ngroups - 1) % ngroups, next = (g + 1) % ngroups;

	strbuf_addf(b, "{\"apiVersion\":\"bulkhead/v1\",\"kind\":\"Policy\","
	    "\"metadata\":{\"name\":\"grp-%zu\"},\"spec\":{"
	    "\"selector\":\"group == 'g%zu'\",", g, g);
	strbuf_addf(b, "\"ingress\":["
	    "{\"action\":\"allow\",\"protocol\":\"tcp\",\"source\":{\"selector\":"
	    "\"group in {'g%zu', 'g%zu'}\"},\"destination\":{\"ports\":[80,443]}},"
	    "{\"action\":\"allow\",\"protocol\":\"udp\",\"source\":{\"selector\":"
	    "\"group in {'g%zu', 'g%zu'}\"},\"destination\":{\"ports\":[9000]}}],",
	    prev, g, prev, g);
	strbuf_addf(b, "\"egress\":["
	    "{\"action\":\"allow\",\"protocol\":\"tcp\",\"destination\":{\"selector\":"
	    "\"group in {'g%zu', 'g%zu'}\",\"ports\":[80,443]}},"
	    "{\"action\":\"allow\",\"protocol\":\"udp\",\"destination\":{\"selector\":"
	    "\"group in {'g%zu', 'g%zu'}\",\"ports\":[9000]}}]}}",
	    g, next, g, next);
}

static struct policy_set *
synth_policies(size_t n)
{
	size_t			 ngroups = (n + 9) / 10, g;
	struct policy_set	*ps = policy_set_new();
	struct errlist		 errs;
	struct strbuf		 b;

	strbuf_init(&b);
	strbuf_addstr(&b, "[");
	for (g = 0; g < ngroups; g++) {
		if (g)
			strbuf_addstr(&b, ",\n");
		synth_policy(&b, g, ngroups);
	}
	strbuf_addstr(&b, "]\n");
	errlist_init(&errs);
	if (policy_load_buffer(ps, "bench.json", b.buf, b.len, &errs) ||
	    policy_set_finish(ps, &errs))
		fatalx("synthetic policies refused: %s", errlist_join(&errs));
	errlist_release(&errs);
	strbuf_release(&b);
	return ps;
}

/* ---- the linear anchor: one rule per container, ours last ---- */

static void
lin_match(struct ir_rule *r, int off, struct in_addr a)
{
	struct ir_expr	*e = ir_expr_add(r, IR_PAYLOAD);

	e->u.payload.base = NFT_PAYLOAD_NETWORK_HEADER;
	e->u.payload.offset = (uint32_t)off;
	e->u.payload.len = 4;
	e->u.payload.dreg = NFT_REG32_00;
	e = ir_expr_add(r, IR_CMP);
	e->u.cmp.op = NFT_CMP_EQ;
	e->u.cmp.sreg = NFT_REG32_00;
	e->u.cmp.len = 4;
	memcpy(e->u.cmp.data, &a, 4);
}

static void
lin_rule(struct ir_table *t, struct in_addr src, struct in_addr dst)
{
	struct ir_rule	*r = ir_rule_add(t, "forward");
	struct ir_expr	*e = ir_expr_add(r, IR_META);
	char		 s[INET_ADDRSTRLEN], d[INET_ADDRSTRLEN];

	e->u.meta.key = NFT_META_NFPROTO;
	e->u.meta.reg = NFT_REG32_00;
	e = ir_expr_add(r, IR_CMP);
	e->u.cmp.op = NFT_CMP_EQ;
	e->u.cmp.sreg = NFT_REG32_00;
	e->u.cmp.len = 1;
	e->u.cmp.data[0] = NFPROTO_IPV4;
	lin_match(r, 12, src);
	lin_match(r, 16, dst);
	e = ir_expr_add(r, IR_VERDICT);
	e->u.verdict.code = NF_ACCEPT;
	inet_ntop(AF_INET, &src, s, sizeof(s));
	inet_ntop(AF_INET, &dst, d, sizeof(d));
	r->text = xasprintf("ip saddr %s ip daddr %s accept", s, d);
}

static struct ir_ruleset *
linear_ruleset(size_t n)
{
	struct ir_ruleset	*rs = ir_ruleset_new();
	struct ir_table		*t = ir_table_add(rs, LINEAR_TABLE, NFPROTO_INET);
	struct ir_chain		*ch = ir_chain_add(t, "forward");
	struct ir_rule		*r;
	struct ir_expr		*e;
	uint32_t		 bits = NF_CT_STATE_BIT(IP_CT_ESTABLISHED) |
				    NF_CT_STATE_BIT(IP_CT_RELATED), zero = 0;
	size_t			 i;

	ch->base = 1;
	strlcpy_bh(ch->type, "filter", sizeof(ch->type));
	ch->hook = NF_INET_FORWARD;
	ch->priority = COMPILE_PRIO_INET;
	ch->policy = NF_ACCEPT;
	r = ir_rule_add(t, "forward");
	e = ir_expr_add(r, IR_CT);
	e->u.ct.key = NFT_CT_STATE;
	e->u.ct.dreg = NFT_REG32_00;
	e = ir_expr_add(r, IR_BITWISE);
	e->u.bitwise.sreg = e->u.bitwise.dreg = NFT_REG32_00;
	e->u.bitwise.len = 4;
	memcpy(e->u.bitwise.mask, &bits, 4);
	e = ir_expr_add(r, IR_CMP);
	e->u.cmp.op = NFT_CMP_NEQ;
	e->u.cmp.sreg = NFT_REG32_00;
	e->u.cmp.len = 4;
	memcpy(e->u.cmp.data, &zero, 4);
	e = ir_expr_add(r, IR_VERDICT);
	e->u.verdict.code = NF_ACCEPT;
	r->text = xstrdup("ct state established,related accept");
	/* Container i >= 2 may be reached from its predecessor. */
	for (i = 2; i < n; i++)
		lin_rule(t, synth_ip(i - 1), synth_ip(i));
	lin_rule(t, synth_ip(0), synth_ip(1));	/* the measured pair, last */
	r = ir_rule_add(t, "forward");
	e = ir_expr_add(r, IR_VERDICT);
	e->u.verdict.code = NF_DROP;
	r->text = xstrdup("drop");
	return rs;
}

/* ---- programming the host namespace ---- */

static void
tables_clear(void)
{
	char	err[512];

	if (nft_delete_table(nl, NFPROTO_BRIDGE, COMPILE_TABLE, err,
	    sizeof(err)) == -1 ||
	    nft_delete_table(nl, NFPROTO_INET, COMPILE_TABLE, err,
	    sizeof(err)) == -1 ||
	    nft_delete_table(nl, NFPROTO_INET, LINEAR_TABLE, err,
	    sizeof(err)) == -1)
		fatalx("delete tables: %s", err);
}

static double
apply(const struct ir_ruleset *rs)
{
	char	err[1024];
	double	t0 = now();

	if (nft_apply(nl, rs, err, sizeof(err)) == -1)
		fatalx("nft_apply: %s", err);
	return now() - t0;
}

/* ---- traffic (children in the endpoint namespaces) ---- */

struct shared {
	_Atomic uint64_t	rx;		/* packets, bytes or connections */
	_Atomic uint64_t	tx;
	_Atomic int		ready;
	_Atomic int		failed;
};

static struct shared	*sh;

enum test { T_UDP, T_CRR, T_BULK, NTESTS };
static const char *test_name[NTESTS] = { "udp64_pps", "tcp_cps", "tcp_bulk" };

static int
server_socket(int type, int port)
{
	struct sockaddr_in	sa = { .sin_family = AF_INET };
	int			fd, on = 1, buf = 8 << 20;

	sa.sin_port = htons((uint16_t)port);
	if ((fd = socket(AF_INET, type, 0)) == -1)
		fatal("socket");
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
	setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &buf, sizeof(buf));
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == -1)
		fatal("bind %d", port);
	if (type == SOCK_STREAM && listen(fd, 4096) == -1)
		fatal("listen");
	return fd;
}

static void
serve(enum test t)
{
	static char		 buf[256 << 10];
	struct mmsghdr		 mm[64];
	struct iovec		 iov[64];
	static char		 pkt[64][64];
	int			 fd, c, i;
	ssize_t			 r;

	fd = server_socket(t == T_UDP ? SOCK_DGRAM : SOCK_STREAM,
	    t == T_UDP ? UDP_PORT : t == T_CRR ? CRR_PORT : BULK_PORT);
	sh->ready = 1;
	switch (t) {
	case T_UDP:
		for (i = 0; i < 64; i++) {
			iov[i].iov_base = pkt[i];
			iov[i].iov_len = sizeof(pkt[i]);
			memset(&mm[i], 0, sizeof(mm[i]));
			mm[i].msg_hdr.msg_iov = &iov[i];
			mm[i].msg_hdr.msg_iovlen = 1;
		}
		for (;;)
			if ((c = recvmmsg(fd, mm, 64, 0, NULL)) > 0)
				sh->rx += (uint64_t)c;
	case T_CRR:
		for (;;)
			if ((c = accept(fd, NULL, NULL)) >= 0)
				close(c);
	case T_BULK:
		if ((c = accept(fd, NULL, NULL)) == -1)
			fatal("accept");
		while ((r = read(c, buf, sizeof(buf))) > 0)
			sh->rx += (uint64_t)r;
		_exit(0);
	default:
		break;
	}
}

static int
client_connect(int port, int fatal_on_error)
{
	struct sockaddr_in	sa = { .sin_family = AF_INET };
	int			fd;

	sa.sin_port = htons((uint16_t)port);
	sa.sin_addr = synth_ip(1);
	if ((fd = socket(AF_INET, port == UDP_PORT ? SOCK_DGRAM : SOCK_STREAM,
	    0)) == -1)
		fatal("socket");
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == -1) {
		if (fatal_on_error) {
			sh->failed = 1;
			fatal("connect %d", port);
		}
		close(fd);
		return -1;
	}
	return fd;
}

static void
send_traffic(enum test t)
{
	static char		 buf[128 << 10];
	struct mmsghdr		 mm[64];
	struct iovec		 iov;
	struct linger		 lg = { 1, 0 };
	int			 fd, c, i;
	ssize_t			 r;

	switch (t) {
	case T_UDP:
		fd = client_connect(UDP_PORT, 1);
		iov.iov_base = buf;
		iov.iov_len = UDP_PAYLOAD;
		for (i = 0; i < 64; i++) {
			memset(&mm[i], 0, sizeof(mm[i]));
			mm[i].msg_hdr.msg_iov = &iov;
			mm[i].msg_hdr.msg_iovlen = 1;
		}
		for (;;)
			if ((c = sendmmsg(fd, mm, 64, 0)) > 0)
				sh->tx += (uint64_t)c;
	case T_CRR:
		for (;;) {
			/* RST on close: no TIME_WAIT, no port exhaustion. */
			if ((fd = client_connect(CRR_PORT, 0)) == -1)
				continue;
			setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
			close(fd);
			sh->rx++;
		}
	case T_BULK:
		fd = client_connect(BULK_PORT, 1);
		while ((r = write(fd, buf, sizeof(buf))) > 0)
			sh->tx += (uint64_t)r;
		_exit(0);
	default:
		break;
	}
}

static pid_t
spawn(const char *ns, int cpu, enum test t, int server)
{
	pid_t	pid = fork();

	if (pid == -1)
		fatal("fork");
	if (pid)
		return pid;
	/* Never outlive the bench (killed, it would leave them spinning). */
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() == 1)
		_exit(1);
	signal(SIGPIPE, SIG_IGN);
	ns_enter(ns);
	pin_cpu(cpu);
	if (server)
		serve(t);
	else
		send_traffic(t);
	_exit(0);
}

static void
reap(pid_t pid)
{
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
}

/*
 * CPU time of process pid so far, in seconds: user + system from
 * /proc/PID/stat.  With tick accounting, softirq work done in the
 * process's context (veth hands frames over on the sending CPU, so the
 * bridge and netfilter run there) is charged to it too.
 */
static double
cpu_seconds(pid_t pid)
{
	char			 path[64], buf[1024], *p;
	unsigned long long	 ut = 0, st = 0;
	ssize_t			 n;
	int			 fd;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	if ((fd = open(path, O_RDONLY)) == -1)
		return 0;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	/* After "pid (comm) ": state is field 3, utime 14, stime 15. */
	if ((p = strrchr(buf, ')')) == NULL ||
	    sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu",
	    &ut, &st) != 2)
		return 0;
	return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

/*
 * The pid of ksoftirqd/cpu, or 0: the softirq work of a busy CPU moves
 * there from the context of the process that raised it.
 */
static pid_t
ksoftirqd_pid(int cpu)
{
	static pid_t	pid[2] = { -1, -1 };
	char		want[32], path[64], comm[64];
	int		fd, i;
	ssize_t		n;

	if (pid[cpu] != -1)
		return pid[cpu];
	pid[cpu] = 0;
	snprintf(want, sizeof(want), "ksoftirqd/%d\n", cpu);
	for (i = 2; i < 4096 && pid[cpu] == 0; i++) {
		snprintf(path, sizeof(path), "/proc/%d/comm", i);
		if ((fd = open(path, O_RDONLY)) == -1)
			continue;
		n = read(fd, comm, sizeof(comm) - 1);
		close(fd);
		if (n > 0 && (comm[n] = '\0', strcmp(comm, want) == 0))
			pid[cpu] = i;
	}
	return pid[cpu];
}

/*
 * The CPU time paying for test t: the client's, plus the server's for
 * TCP, plus the softirq threads of the CPUs they are pinned to.
 */
static double
test_cpu(enum test t, pid_t cli, pid_t srv)
{
	double	v = cpu_seconds(cli);

	if (ksoftirqd_pid(0))
		v += cpu_seconds(ksoftirqd_pid(0));
	if (t != T_UDP) {
		v += cpu_seconds(srv);
		if (ksoftirqd_pid(1))
			v += cpu_seconds(ksoftirqd_pid(1));
	}
	return v;
}

/*
 * One test: server pinned to CPU 1, sender to CPU 0 (the sender's CPU
 * also runs the bridge and netfilter in softirq context: veth hands the
 * frame over on the sending CPU).  Returns the rate over o.secs after
 * o.warmup: packets/s, connections/s or Gbit/s.  *per_cpu gets the work
 * done per CPU-second of what pays for it (test_cpu; UDP: packets sent):
 * the inverse of the per-packet cost, whatever else the machine runs at
 * the time, which a shared machine's rates are not.
 */
static double
run_test(enum test t, double *per_cpu)
{
	pid_t		srv, cli;
	uint64_t	a, b, ta, tb;
	double		t0, t1, deadline, ca, cb;

	memset(sh, 0, sizeof(*sh));
	srv = spawn(o.server_ns, 1, t, 1);
	for (deadline = now() + 5; !sh->ready && now() < deadline;)
		sleep_s(0.001);
	cli = spawn(o.client_ns, 0, t, 0);
	sleep_s(o.warmup);
	ca = test_cpu(t, cli, srv);
	a = sh->rx;
	ta = sh->tx;
	t0 = now();
	sleep_s(o.secs);
	b = sh->rx;
	tb = sh->tx;
	t1 = now();
	cb = test_cpu(t, cli, srv);
	reap(cli);
	reap(srv);
	if (sh->failed)
		fatalx("%s: the client could not connect", test_name[t]);
	*per_cpu = 0;
	if (cb > ca)
		*per_cpu = t == T_UDP ? (double)(tb - ta) / (cb - ca) :
		    t == T_BULK ? (double)(b - a) * 8 / 1e9 / (cb - ca) :
		    (double)(b - a) / (cb - ca);
	if (t == T_BULK)
		return (double)(b - a) * 8 / (t1 - t0) / 1e9;
	return (double)(b - a) / (t1 - t0);
}

/* ---- dataplane ---- */

struct config {
	char			 name[32];
	size_t			 n;		/* 0: no tables */
	int			 linear;
	struct ir_ruleset	*rs;
	double			 v[NTESTS][MAXROUNDS];
	double			 ratio[NTESTS][MAXROUNDS];
	double			 cpu[NTESTS][MAXROUNDS];	/* per CPU-second */
	double			 cpuratio[NTESTS][MAXROUNDS];
};

static void
dataplane_configs(struct config *cf, int *ncf)
{
	struct inventory	 inv;
	struct policy_set	*ps;
	struct compile_opts	 co;
	size_t			 i;
	double			 t0;

	compile_opts_default(&co);
	*ncf = 0;
	snprintf(cf[(*ncf)++].name, sizeof(cf->name), "none");
	for (i = 0; i < o.nsizes; i++) {
		struct config *c = &cf[(*ncf)++];

		t0 = now();
		synth_inventory(&inv, o.sizes[i]);
		ps = synth_policies(o.sizes[i]);
		c->n = o.sizes[i];
		c->rs = compile_ruleset(ps, &inv, &co);
		snprintf(c->name, sizeof(c->name), "bulkhead-%zu", c->n);
		fprintf(stderr, "  compiled %s in %.2f s\n", c->name, now() - t0);
		policy_set_free(ps);
		inventory_release(&inv);
	}
	for (i = 0; i < o.nlin; i++) {
		struct config *c = &cf[(*ncf)++];

		c->n = o.lin[i];
		c->linear = 1;
		c->rs = linear_ruleset(c->n);
		snprintf(c->name, sizeof(c->name), "linear-%zu", c->n);
	}
	/*
	 * What any stateful firewall costs here (Docker's own NAT rules turn
	 * conntrack on too): "ct state established accept" and one rule.
	 * Shows how much of bulkhead's cost is conntrack's.
	 */
	{
		struct config *c = &cf[(*ncf)++];

		c->n = 2;
		c->linear = 1;
		c->rs = linear_ruleset(2);
		snprintf(c->name, sizeof(c->name), "conntrack-only");
	}
}

static const char *
test_unit(enum test t)
{
	return t == T_UDP ? "pps" : t == T_CRR ? "conn/s" : "Gbit/s";
}

static void
fmt_rate(char *buf, size_t len, enum test t, double v)
{
	if (t == T_BULK)
		snprintf(buf, len, "%.2f %s", v, test_unit(t));
	else if (v >= 1000)
		snprintf(buf, len, "%.1fk %s", v / 1000, test_unit(t));
	else
		snprintf(buf, len, "%.0f %s", v, test_unit(t));
}

static void
result_put(const char *name, double value, double goal, const char *better,
    const char *detail)
{
	json_t	*r = json_object();

	json_object_set_new(r, "value", json_real(value));
	if (goal == goal)
		json_object_set_new(r, "goal", json_real(goal));
	else
		json_object_set_new(r, "goal", json_null());
	json_object_set_new(r, "better", json_string(better));
	json_object_set_new(r, "detail", json_string(detail));
	json_object_set_new(results, name, r);
}

static struct config *
config_find(struct config *cf, int ncf, size_t n, int linear)
{
	int	i;

	for (i = 1; i < ncf; i++)
		if (cf[i].n == n && cf[i].linear == linear)
			return &cf[i];
	return NULL;
}

/*
 * bulkhead against a stateful firewall of one rule, round by round: the
 * part of its cost that is not conntrack's.
 */
static void
dataplane_vs_conntrack(struct config *cf, int ncf, struct config *big)
{
	struct config	*ct = NULL;
	double		 q[NTESTS][MAXROUNDS];
	int		 i, t, r;

	for (i = 0; i < ncf; i++)
		if (strcmp(cf[i].name, "conntrack-only") == 0)
			ct = &cf[i];
	if (ct == NULL)
		return;
	printf("%s ÷ conntrack-only, same rounds:", big->name);
	for (t = 0; t < NTESTS; t++) {
		struct spread s;

		for (r = 0; r < o.rounds; r++)
			q[t][r] = ct->v[t][r] > 0 ? big->v[t][r] / ct->v[t][r] : 0;
		s = spread_of(q[t], o.rounds);
		printf(" %s %.3f [%.2f–%.2f]", t == 0 ? "pps" : t == 1 ?
		    "cps" : "tcp", s.med, s.min, s.max);
	}
	printf("\n");
}

/*
 * The same per CPU-second of the processes that pay for the work (see
 * run_test): insensitive to what else the machine runs, so the figure to
 * trust on a shared machine, where the rates above swing with the load.
 */
static void
dataplane_report_cpu(struct config *cf, int ncf, struct config *big)
{
	static const char *key[NTESTS] = { "pps_cpu_ratio", "cps_cpu_ratio",
	    "tcp_cpu_ratio" };
	static const double goal[NTESTS] = { 0.85, 0.90, 0.95 };
	struct config	*ct = NULL;
	char		 detail[512], name[64];
	double		 q[MAXROUNDS];
	int		 i, t, r;

	printf("\n== per CPU-second of the test processes (softirq included; "
	    "ratio to the no-table run of the same round, [min–max]) ==\n");
	printf("%-16s %-30s %-30s %-30s\n", "config", "UDP 64B pkt/CPU-s",
	    "TCP conn/CPU-s", "TCP bulk Gbit/CPU-s");
	for (i = 0; i < ncf; i++) {
		if (strcmp(cf[i].name, "conntrack-only") == 0)
			ct = &cf[i];
		printf("%-16s", cf[i].name);
		for (t = 0; t < NTESTS; t++) {
			struct spread v = spread_of(cf[i].cpu[t], o.rounds);
			struct spread q2 = spread_of(cf[i].cpuratio[t], o.rounds);
			char cell[64];

			snprintf(cell, sizeof(cell), "%.1fk %.3f [%.2f–%.2f]",
			    t == T_BULK ? v.med * 1000 : v.med / 1000, q2.med,
			    q2.min, q2.max);
			printf(" %-30s", cell);
		}
		printf("\n");
	}
	for (t = 0; t < NTESTS; t++) {
		struct spread r2 = spread_of(big->cpuratio[t], o.rounds);
		struct spread c2 = { 0, 0, 0 };

		if (ct) {
			for (r = 0; r < o.rounds; r++)
				q[r] = ct->cpu[t][r] > 0 ?
				    big->cpu[t][r] / ct->cpu[t][r] : 0;
			c2 = spread_of(q, o.rounds);
		}
		snprintf(detail, sizeof(detail), "%s per CPU-second of the test "
		    "processes (softirq included) with bulkhead at %zu "
		    "containers ÷ with no tables, per round; median of %d, "
		    "min %.3f max %.3f; ÷ conntrack-only %.3f", test_name[t],
		    big->n, o.rounds, r2.min, r2.max, c2.med);
		snprintf(name, sizeof(name), "%s_%zuk", key[t], big->n / 1000);
		if (big->n < 1000)
			snprintf(name, sizeof(name), "%s_%zu", key[t], big->n);
		result_put(name, r2.med, goal[t], "higher", detail);
		printf("%s %.3f [%.2f–%.2f]%s", name, r2.med, r2.min, r2.max,
		    t == NTESTS - 1 ? "\n" : "  ");
	}
}

static void
dataplane_report(struct config *cf, int ncf)
{
	char		 detail[512], r0[32], r1[32], r2[32];
	struct config	*big = NULL, *small = NULL, *lin = NULL;
	int		 i, t, k;
	size_t		 j;

	printf("\n== per-packet cost (medians of %d rounds; ratio = config ÷ "
	    "no-table run of the same round, [min–max]) ==\n", o.rounds);
	printf("%-16s %-30s %-30s %-30s\n", "config", "UDP 64B, ct new (pps)",
	    "TCP connect+close (cps)", "TCP bulk (Gbit/s)");
	for (i = 0; i < ncf; i++) {
		printf("%-16s", cf[i].name);
		for (t = 0; t < NTESTS; t++) {
			struct spread v = spread_of(cf[i].v[t], o.rounds);
			struct spread r = spread_of(cf[i].ratio[t], o.rounds);
			char cell[64];

			fmt_rate(r0, sizeof(r0), (enum test)t, v.med);
			if (i == 0)
				snprintf(cell, sizeof(cell), "%s", r0);
			else
				snprintf(cell, sizeof(cell), "%s %.3f [%.2f–%.2f]",
				    r0, r.med, r.min, r.max);
			printf(" %-30s", cell);
		}
		printf("\n");
	}
	for (j = 0; j < o.nsizes; j++) {
		struct config *c = config_find(cf, ncf, o.sizes[j], 0);

		/* Flatness against 100 when measured (issue 9), else the smallest. */
		if (small == NULL || c->n == 100 ||
		    (small->n != 100 && c->n < small->n))
			small = c;
		if (big == NULL || c->n > big->n)
			big = c;
	}
	for (j = 0; j < o.nlin; j++)
		if (lin == NULL || o.lin[j] > lin->n)
			lin = config_find(cf, ncf, o.lin[j], 1);
	if (big == NULL)
		return;
	dataplane_vs_conntrack(cf, ncf, big);
	dataplane_report_cpu(cf, ncf, big);
	for (t = 0; t < NTESTS; t++) {
		static const char *key[NTESTS] = { "pps_ratio", "cps_ratio",
		    "tcp_ratio" };
		static const double goal[NTESTS] = { 0.85, 0.90, 0.95 };
		struct spread r = spread_of(big->ratio[t], o.rounds);
		char name[64];

		fmt_rate(r0, sizeof(r0), (enum test)t,
		    spread_of(big->v[t], o.rounds).med);
		fmt_rate(r1, sizeof(r1), (enum test)t,
		    spread_of(cf[0].v[t], o.rounds).med);
		k = snprintf(detail, sizeof(detail), "%s: %s with bulkhead at "
		    "%zu containers vs %s with no tables; median of %d rounds, "
		    "min %.3f max %.3f", test_name[t], r0, big->n, r1, o.rounds,
		    r.min, r.max);
		if (lin) {
			struct spread l = spread_of(lin->ratio[t], o.rounds);

			fmt_rate(r2, sizeof(r2), (enum test)t,
			    spread_of(lin->v[t], o.rounds).med);
			snprintf(detail + k, sizeof(detail) - (size_t)k,
			    "; linear anchor (%zu rules, ours last): %s, "
			    "ratio %.3f", lin->n, r2, l.med);
		}
		snprintf(name, sizeof(name), "%s_%zuk", key[t], big->n / 1000);
		if (big->n < 1000)
			snprintf(name, sizeof(name), "%s_%zu", key[t], big->n);
		result_put(name, r.med, goal[t], "higher", detail);
	}
	if (small && small != big) {
		double	f[MAXROUNDS];

		for (i = 0; i < o.rounds; i++)
			f[i] = big->v[T_UDP][i] / small->v[T_UDP][i];
		struct spread s = spread_of(f, o.rounds);
		snprintf(detail, sizeof(detail), "UDP 64B pps at %zu containers "
		    "÷ at %zu, per round; median of %d, min %.3f max %.3f",
		    big->n, small->n, o.rounds, s.min, s.max);
		result_put("pps_flatness", s.med, 0.95, "higher", detail);
		printf("pps flatness %zu÷%zu: %.3f [%.2f–%.2f]\n", big->n,
		    small->n, s.med, s.min, s.max);
	}
}

static void
dataplane(void)
{
	struct config	*cf = xcalloc(MAXSIZES * 2 + 2, sizeof(*cf));
	int		 ncf, r, k, i, t;
	double		 ta;

	fprintf(stderr, "dataplane: compiling configurations\n");
	dataplane_configs(cf, &ncf);
	for (r = 0; r < o.rounds; r++) {
		for (k = 0; k < ncf; k++) {
			/* Rotate the order each round: no config always first. */
			struct config *c = &cf[(k + r) % ncf];

			tables_clear();
			ta = c->rs ? apply(c->rs) : 0;
			sleep_s(0.2);
			for (t = 0; t < NTESTS; t++)
				c->v[t][r] = run_test((enum test)t,
				    &c->cpu[t][r]);
			fprintf(stderr, "  round %d %-16s (applied in %.2f s): "
			    "%.0f pps %.0f cps %.2f Gbit/s; per CPU-s %.0f pkt "
			    "%.0f conn %.2f Gbit\n", r + 1, c->name, ta,
			    c->v[T_UDP][r], c->v[T_CRR][r], c->v[T_BULK][r],
			    c->cpu[T_UDP][r], c->cpu[T_CRR][r], c->cpu[T_BULK][r]);
		}
		for (i = 0; i < ncf; i++)
			for (t = 0; t < NTESTS; t++) {
				cf[i].ratio[t][r] = cf[i].v[t][r] / cf[0].v[t][r];
				cf[i].cpuratio[t][r] = cf[0].cpu[t][r] > 0 ?
				    cf[i].cpu[t][r] / cf[0].cpu[t][r] : 0;
			}
	}
	tables_clear();
	dataplane_report(cf, ncf);
	for (i = 0; i < ncf; i++)
		if (cf[i].rs)
			ir_ruleset_free(cf[i].rs);
	free(cf);
}

/* ---- programming cost ---- */

struct psize {
	size_t			 n, next;	/* next: id of the next container added */
	struct inventory	 inv;
	struct policy_set	*ps;
	char			 nftfile[512];
	size_t			 nrules, nsets, nelems, nchains;
	double			 compile[MAXROUNDS], apply[MAXROUNDS],
				 nftf[MAXROUNDS];
	/* One container added through a patch (bulkheadd's path). */
	double			 change[MAXROUNDS * MAXCHANGES];
	double			 change_compile[MAXROUNDS * MAXCHANGES];
	double			 change_diff[MAXROUNDS * MAXCHANGES];
	double			 change_kernel[MAXROUNDS * MAXCHANGES];
	int			 nchange;
	/* The same through a whole recompile + diff, for comparison. */
	double			 whole[MAXROUNDS * WHOLE_CHANGES];
	int			 nwhole;
	double			 noop[MAXROUNDS];
};

static void
ruleset_count(struct psize *p, const struct ir_ruleset *rs)
{
	size_t	i, j;

	p->nrules = p->nsets = p->nelems = p->nchains = 0;
	for (i = 0; i < rs->ntables; i++) {
		p->nrules += rs->tables[i].nrules;
		p->nsets += rs->tables[i].nsets;
		p->nchains += rs->tables[i].nchains;
		for (j = 0; j < rs->tables[i].nsets; j++)
			p->nelems += rs->tables[i].sets[j].nelems;
	}
}

static double
nft_file_load(const char *file)
{
	char	cmd[1024];
	double	t0 = now();

	snprintf(cmd, sizeof(cmd), "nft -f %s", file);
	if (system(cmd) != 0)
		return -1;
	return now() - t0;
}

/*
 * bulkheadd's path for one round of changes: compile the whole desired
 * state, diff it against the applied ruleset, send the delta.  Takes rs
 * as the new applied ruleset; returns the seconds of each stage.
 */
static void
change_apply(struct ir_ruleset **applied, struct psize *p,
    const struct compile_opts *co, double t[3], int expect_empty)
{
	struct ir_ruleset	*rs;
	struct ir_delta		*d;
	char			 err[1024];
	double			 t0, t1, t2;

	t0 = now();
	rs = compile_ruleset(p->ps, &p->inv, co);
	t1 = now();
	d = ir_delta_new(*applied, rs);
	t2 = now();
	if (d->full || ir_delta_empty(d) != expect_empty)
		fatalx("N=%zu: unexpected delta (%s)", p->n, d->full ? d->why :
		    expect_empty ? "not empty" : "empty");
	if (nft_apply_delta(nl, d, err, sizeof(err)) == -1)
		fatalx("nft_apply_delta: %s", err);
	t[2] = now() - t2;
	t[1] = t2 - t1;
	t[0] = t1 - t0;
	ir_delta_free(d);
	ir_ruleset_free(*applied);
	*applied = rs;
}

/*
 * bulkheadd's path for one container added: a patch (the container's own
 * elements and, for a new class, its chains), sent as a delta, then
 * applied to the kept ruleset.  Returns the seconds of each stage:
 * patch, diff of the two patch halves, kernel.
 */
static void
patch_apply(struct compile_state *st, struct psize *p, struct container *ct,
    double t[3])
{
	struct ir_ruleset	*from, *to;
	struct ir_delta		*d;
	char			 err[1024];
	double			 t0, t1, t2;

	t0 = now();
	from = compile_patch_new(st);
	to = compile_patch_new(st);
	if (compile_state_patch(st, NULL, ct, from, to) == -1)
		fatalx("N=%zu: patch refused", p->n);
	t1 = now();
	d = ir_delta_new(from, to);
	t2 = now();
	if (d->full)
		fatalx("N=%zu: patch needs a full replace (%s)", p->n, d->why);
	if (ct != NULL && nft_apply_delta(nl, d, err, sizeof(err)) == -1)
		fatalx("nft_apply_delta: %s", err);
	t[2] = now() - t2;
	if (ir_delta_apply(compile_state_ruleset(st), d) == -1)
		fatalx("N=%zu: patch does not apply to the kept ruleset", p->n);
	t[1] = t2 - t1;
	t[0] = t1 - t0;
	ir_delta_free(d);
	ir_ruleset_free(from);
	ir_ruleset_free(to);
	if (ct != NULL)
		inventory_put(&p->inv, ct);
}

/* A container more in group 0 (selected by policies). */
static struct container *
group0_container(struct psize *p)
{
	struct container *ct = synth_container(p->next++);

	labelset_set(&ct->labels, "group", "g0");
	return ct;
}

/*
 * One round at one size: full load (nft -f, then ours), a few changes
 * through a whole recompile (for comparison), then o.changes through
 * patches, and an empty patch (a reconcile that finds nothing).
 */
static void
program_round(struct psize *p, int r, const struct compile_opts *co)
{
	struct ir_ruleset	*rs;
	struct compile_state	*st;
	double			 t0, t1, t[3];
	int			 k;

	tables_clear();
	p->nftf[r] = p->nftfile[0] ? nft_file_load(p->nftfile) : -1;
	tables_clear();
	t0 = now();
	rs = compile_ruleset(p->ps, &p->inv, co);
	t1 = now();
	p->compile[r] = t1 - t0;
	p->apply[r] = apply(rs);
	for (k = 0; k < WHOLE_CHANGES; k++) {
		inventory_put(&p->inv, group0_container(p));
		change_apply(&rs, p, co, t, 0);
		p->whole[p->nwhole++] = t[0] + t[1] + t[2];
	}
	ir_ruleset_free(rs);
	st = compile_state_new(p->ps, &p->inv, co);
	for (k = 0; k < o.changes; k++) {
		patch_apply(st, p, group0_container(p), t);
		p->change[p->nchange] = t[0] + t[1] + t[2];
		p->change_compile[p->nchange] = t[0];
		p->change_diff[p->nchange] = t[1];
		p->change_kernel[p->nchange++] = t[2];
	}
	/* A reconcile that finds nothing to change. */
	patch_apply(st, p, NULL, t);
	p->noop[r] = t[0] + t[1] + t[2];
	compile_state_free(st);
}

static void
program_prepare(struct psize *p, size_t n, const struct compile_opts *co)
{
	struct ir_ruleset	*rs;
	struct strbuf		 b;
	FILE			*f;

	memset(p, 0, sizeof(*p));
	p->n = n;
	p->next = n;
	synth_inventory(&p->inv, n);
	p->ps = synth_policies(n);
	rs = compile_ruleset(p->ps, &p->inv, co);
	ruleset_count(p, rs);
	strbuf_init(&b);
	ir_print(rs, &b);
	snprintf(p->nftfile, sizeof(p->nftfile), "%s/plan-%zu.nft", o.workdir,
	    n);
	if ((f = fopen(p->nftfile, "w")) == NULL)
		fatal("%s", p->nftfile);
	fwrite(b.buf, 1, b.len, f);
	fclose(f);
	strbuf_release(&b);
	ir_ruleset_free(rs);
	tables_clear();
	if (nft_file_load(p->nftfile) < 0) {
		fprintf(stderr, "  nft -f %s failed: no nft -f anchor\n",
		    p->nftfile);
		p->nftfile[0] = '\0';
	}
}

static void
program_report(struct psize *ps, int nps)
{
	char		 detail[512];
	struct psize	*lo = &ps[0], *hi = &ps[0];
	double		 f[MAXROUNDS * MAXCHANGES];
	int		 i, j, n;

	printf("\n== programming cost (median [min–max] of %d rounds; change = "
	    "one container added: patch + delta + nft_apply_delta, %d per "
	    "round; whole = the same by recompiling everything + diff, %d per "
	    "round; no-op = an empty patch) ==\n", o.prounds, o.changes,
	    WHOLE_CHANGES);
	printf("%-7s %-26s %-9s %-20s %-20s %-20s %-9s %-9s %-9s %-10s %-9s\n",
	    "N", "chains/rules/sets/elems", "compile", "nft_apply (full)",
	    "nft -f (same text)", "one change (total)", "patch", "delta",
	    "kernel", "whole", "no-op");
	for (i = 0; i < nps; i++) {
		struct psize *p = &ps[i];
		struct spread c = spread_of(p->compile, o.prounds);
		struct spread a = spread_of(p->apply, o.prounds);
		struct spread nf = spread_of(p->nftf, o.prounds);
		struct spread ch = spread_of(p->change, p->nchange);
		struct spread cc = spread_of(p->change_compile, p->nchange);
		struct spread cd = spread_of(p->change_diff, p->nchange);
		struct spread ck = spread_of(p->change_kernel, p->nchange);
		struct spread no = spread_of(p->noop, o.prounds);
		struct spread wh = spread_of(p->whole, p->nwhole);
		char counts[64], ca[32], cn[32], cch[32];

		snprintf(counts, sizeof(counts), "%zu/%zu/%zu/%zu", p->nchains,
		    p->nrules, p->nsets, p->nelems);
		snprintf(ca, sizeof(ca), "%.1f [%.1f–%.1f] ms", a.med * 1e3,
		    a.min * 1e3, a.max * 1e3);
		if (p->nftfile[0])
			snprintf(cn, sizeof(cn), "%.1f [%.1f–%.1f] ms",
			    nf.med * 1e3, nf.min * 1e3, nf.max * 1e3);
		else
			snprintf(cn, sizeof(cn), "n/a");
		snprintf(cch, sizeof(cch), "%.1f [%.1f–%.1f] ms", ch.med * 1e3,
		    ch.min * 1e3, ch.max * 1e3);
		snprintf(cch, sizeof(cch), "%.2f [%.2f–%.2f] ms", ch.med * 1e3,
		    ch.min * 1e3, ch.max * 1e3);
		printf("%-7zu %-26s %6.1f ms %-20s %-20s %-20s %6.3f ms "
		    "%6.3f ms %6.3f ms %7.2f ms %6.3f ms\n", p->n, counts,
		    c.med * 1e3, ca, cn, cch, cc.med * 1e3, cd.med * 1e3,
		    ck.med * 1e3, wh.med * 1e3, no.med * 1e3);
		if (p->n < lo->n)
			lo = p;
		if (p->n > hi->n)
			hi = p;
	}
	/* Side by side: change cost at the largest N ÷ at the smallest, per round. */
	n = lo->nchange < hi->nchange ? lo->nchange : hi->nchange;
	for (j = 0; j < n; j++)
		f[j] = hi->change[j] / lo->change[j];
	if (n && lo != hi) {
		struct spread s = spread_of(f, n);
		struct spread ch = spread_of(hi->change, hi->nchange);
		struct spread ck = spread_of(hi->change_kernel, hi->nchange);
		struct spread cc = spread_of(hi->change_compile, hi->nchange);
		struct spread lk = spread_of(lo->change_kernel, lo->nchange);

		struct spread hw = spread_of(hi->whole, hi->nwhole);

		printf("one-change cost %zu÷%zu: %.1f× [%.1f–%.1f]; its kernel "
		    "batch alone: %.2f ms ÷ %.2f ms = %.1f×; at %zu a whole "
		    "recompile + diff costs %.1f ms, the patch %.2f ms\n",
		    hi->n, lo->n, s.med, s.min, s.max, ck.med * 1e3,
		    lk.med * 1e3, ck.med / lk.med, hi->n, hw.med * 1e3,
		    ch.med * 1e3);
		snprintf(detail, sizeof(detail), "time to enforce one more "
		    "container (patch + delta + nft_apply_delta, in-process) "
		    "at %zu containers ÷ at %zu; %d pairs taken in order, "
		    "min %.1f max %.1f; kernel batch alone %.1fx", hi->n, lo->n,
		    n, s.min, s.max, ck.med / lk.med);
		result_put("add_one_flatness", s.med, 2, "lower", detail);
		snprintf(detail, sizeof(detail), "one container added at %zu "
		    "containers: patch + delta + nft_apply_delta to the "
		    "kernel's ack, median of %d, min %.0f max %.0f us, of "
		    "which patch %.0f us and kernel batch %.0f us (medians); "
		    "a whole recompile + diff + apply: %.0f us; no event "
		    "handling (no daemon in the loop)", hi->n, hi->nchange,
		    ch.min * 1e6, ch.max * 1e6, cc.med * 1e6, ck.med * 1e6,
		    hw.med * 1e6);
		result_put("add_one_us", ch.med * 1e6, 1000, "lower", detail);
		/* Each round's no-op against that round's first change. */
		n = o.prounds;
		for (j = 0; j < n; j++)
			f[j] = hi->noop[j] / hi->change[j * o.changes];
		s = spread_of(f, n);
		printf("no-op reconcile ÷ one change at %zu: %.2f [%.2f–%.2f]\n",
		    hi->n, s.med, s.min, s.max);
		snprintf(detail, sizeof(detail), "a reconcile finding nothing "
		    "(an empty patch: nothing compiled, nothing read from the "
		    "kernel, nothing sent) ÷ one container added, at %zu "
		    "containers, same round; median of %d, min %.2f max %.2f",
		    hi->n, n, s.min, s.max);
		result_put("noop_reconcile_ratio", s.med, 1.5, "lower", detail);
	}
	if (hi->nftfile[0]) {
		for (j = 0; j < o.prounds; j++)
			f[j] = (hi->compile[j] + hi->apply[j]) / hi->nftf[j];
		struct spread s = spread_of(f, o.prounds);

		printf("full sync ÷ nft -f at %zu: %.3f [%.2f–%.2f]\n", hi->n,
		    s.med, s.min, s.max);
		snprintf(detail, sizeof(detail), "compile_ruleset + nft_apply of "
		    "%zu containers into an empty kernel ÷ `nft -f` of the same "
		    "ruleset (ir_print), per round; median of %d, min %.3f max "
		    "%.3f; not yet bulkheadd from its start (no Docker reads)",
		    hi->n, o.prounds, s.min, s.max);
		result_put("full_sync_vs_nft", s.med, 0.5, "lower", detail);
	}
}

static void
program(void)
{
	struct psize		*ps = xcalloc(o.npsizes, sizeof(*ps));
	struct compile_opts	 co;
	int			 r, k, i;

	compile_opts_default(&co);
	fprintf(stderr, "programming: preparing inventories\n");
	for (i = 0; i < (int)o.npsizes; i++)
		program_prepare(&ps[i], o.psizes[i], &co);
	for (r = 0; r < o.prounds; r++) {
		for (k = 0; k < (int)o.npsizes; k++) {
			struct psize *p = &ps[(k + r) % o.npsizes];

			program_round(p, r, &co);
			fprintf(stderr, "  round %d N=%-6zu compile %.1f ms apply "
			    "%.1f ms nft -f %.1f ms change %.1f ms\n", r + 1, p->n,
			    p->compile[r] * 1e3, p->apply[r] * 1e3,
			    p->nftf[r] * 1e3, p->change[p->nchange - 1] * 1e3);
		}
	}
	tables_clear();
	program_report(ps, (int)o.npsizes);
	for (i = 0; i < (int)o.npsizes; i++) {
		policy_set_free(ps[i].ps);
		inventory_release(&ps[i].inv);
		unlink(ps[i].nftfile);
	}
	free(ps);
}

/* ---- main ---- */

static void
usage(void)
{
	fprintf(stderr,
"usage: bhbench --host-ns NS --client-ns NS --server-ns NS --bridge BR\n"
"         --client-veth IF --client-mac MAC --server-veth IF --server-mac MAC\n"
"         [--sizes 10,1000,10000] [--linear 1000,10000] [--rounds 5]\n"
"         [--secs 2] [--warmup 0.5] [--program-sizes 100,1000,10000]\n"
"         [--program-rounds 3] [--changes 34] [--only dataplane|program]\n"
"         [--workdir DIR] [--json FILE]\n");
	exit(2);
}

static void
parse_args(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "host-ns", 1, 0, 'H' }, { "client-ns", 1, 0, 'C' },
		{ "server-ns", 1, 0, 'S' }, { "bridge", 1, 0, 'b' },
		{ "client-veth", 1, 0, 'c' }, { "server-veth", 1, 0, 's' },
		{ "client-mac", 1, 0, 'm' }, { "server-mac", 1, 0, 'M' },
		{ "sizes", 1, 0, 'n' }, { "linear", 1, 0, 'l' },
		{ "rounds", 1, 0, 'r' }, { "secs", 1, 0, 't' },
		{ "warmup", 1, 0, 'w' }, { "program-sizes", 1, 0, 'p' },
		{ "program-rounds", 1, 0, 'R' }, { "changes", 1, 0, 'k' },
		{ "only", 1, 0, 'o' }, { "json", 1, 0, 'j' },
		{ "workdir", 1, 0, 'd' }, { 0, 0, 0, 0 }
	};
	int	c;

	o.nsizes = parse_sizes("10,1000,10000", o.sizes);
	o.nlin = parse_sizes("1000,10000", o.lin);
	o.npsizes = parse_sizes("100,1000,10000", o.psizes);
	o.rounds = 5;
	o.prounds = 3;
	o.changes = 34;
	o.secs = 2;
	o.warmup = 0.5;
	o.workdir = "/tmp";
	o.do_dataplane = o.do_program = 1;
	while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (c) {
		case 'H': o.host_ns = optarg; break;
		case 'C': o.client_ns = optarg; break;
		case 'S': o.server_ns = optarg; break;
		case 'b': o.bridge = optarg; break;
		case 'c': o.client_veth = optarg; break;
		case 's': o.server_veth = optarg; break;
		case 'm': if (parse_mac(optarg, o.client_mac)) usage(); break;
		case 'M': if (parse_mac(optarg, o.server_mac)) usage(); break;
		case 'n': o.nsizes = parse_sizes(optarg, o.sizes); break;
		case 'l': o.nlin = parse_sizes(optarg, o.lin); break;
		case 'r': o.rounds = atoi(optarg); break;
		case 't': o.secs = atof(optarg); break;
		case 'w': o.warmup = atof(optarg); break;
		case 'p': o.npsizes = parse_sizes(optarg, o.psizes); break;
		case 'R': o.prounds = atoi(optarg); break;
		case 'k': o.changes = atoi(optarg); break;
		case 'o':
			o.do_dataplane = strcmp(optarg, "dataplane") == 0;
			o.do_program = strcmp(optarg, "program") == 0;
			break;
		case 'j': o.json = optarg; break;
		case 'd': o.workdir = optarg; break;
		default: usage();
		}
	}
	if (!o.host_ns || !o.client_ns || !o.server_ns || !o.bridge ||
	    !o.client_veth || !o.server_veth)
		usage();
	if (o.rounds < 1 || o.rounds > MAXROUNDS || o.prounds < 1 ||
	    o.prounds > MAXROUNDS || o.changes < 1 || o.changes > MAXCHANGES)
		usage();
}

int
main(int argc, char **argv)
{
	log_init("bhbench", 1, 0);
	parse_args(argc, argv);
	sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE,
	    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (sh == MAP_FAILED)
		fatal("mmap");
	/* The tables go into the bench's own namespace, never the host's. */
	ns_enter(o.host_ns);
	if ((nl = nft_new()) == NULL)
		fatalx("cannot open a netfilter socket");
	results = json_object();
	if (o.do_dataplane)
		dataplane();
	if (o.do_program)
		program();
	tables_clear();
	nft_free(nl);
	if (o.json && json_dump_file(results, o.json, JSON_INDENT(2) |
	    JSON_SORT_KEYS) == -1)
		fatalx("cannot write %s", o.json);
	json_decref(results);
	return 0;
}
