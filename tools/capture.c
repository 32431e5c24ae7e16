/*
 * capture.c: bulkhead-capture, the operator's view of denied packets.
 * Reads NFLOG records through libpcap (nflog:GROUP[,GROUP...]) or from a
 * saved capture, decodes them with nflog.c and prints one event per line,
 * as text or JSON, optionally saving the records to a pcap file.  The
 * only file of bulkhead that uses libpcap.
 *
 * Loss is never silent: the socket buffer is sized for bursts (-B), the
 * kernel numbers the records (a gap is records lost in the socket), every
 * overrun the kernel reports (ENOBUFS, counted by libpcap as ps_drop) and
 * every gap is printed in the event stream when it is noticed, and at exit
 * account.c's summary compares the records with bulkheadd's rule counters
 * (read at the start and the end).  Records that do not decode are counted
 * and reported.
 *
 * Peers are named from bulkheadd's status (identity.c holds the cache,
 * statusfetch.c the helper that keeps access to the root-only control
 * socket after the capture drops its privileges); filters are filter.c,
 * --flows is flows.c.  The text line, the JSON fields (stable names) and
 * the flow lines are documented in docs/capture.md.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <ifaddrs.h>
#include <poll.h>
#include <getopt.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_log.h>
#include <linux/netlink.h>
#include <grp.h>
#include <limits.h>
#include <net/if.h>
#include <pcap/pcap.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "account.h"
#include "control.h"
#include "filter.h"
#include "flows.h"
#include "identity.h"
#include "log.h"
#include "nflog.h"
#include "statusfetch.h"
#include "util.h"

#ifndef BULKHEAD_VERSION
#define BULKHEAD_VERSION	"unknown"
#endif

#define EXIT_USAGE		2
#define DEFAULT_GROUP		100	/* bulkheadd --nflog-group default */
#define DEFAULT_BUFFER_KB	16384	/* KiB, as tcpdump -B */
#define MAX_GROUPS		32	/* libpcap's limit per handle */
#define DEFAULT_FLOWS_S		10	/* --flows window */
#define NFLOG_FLUSH_CS		10	/* kernel batches wait 0.1 s at most */
#define DRAIN_MS		1500	/* at exit, for records still in flight */
#define ETHERTYPE_IPV4		0x0800
#define ETHERTYPE_IPV6		0x86dd
#define ETHERTYPE_ARP		0x0806

struct options {
	uint16_t	 groups[MAX_GROUPS];
	int		 ngroups;
	const char	*rfile;
	const char	*wfile;
	unsigned long	 count;		/* 0: no limit */
	int		 json;
	int		 buffer_kb;
	const char	*user;
	int		 verbose;
	struct filter	 filter;
	const char	*socket;	/* bulkheadd's control socket */
	int		 socket_set;	/* -s given */
	int		 numeric;	/* -n: no names */
	int64_t		 refresh_ms;	/* --refresh */
	int64_t		 keep_ms;	/* --keep */
	char		*bpf;		/* payload filter expression, or NULL */
	int64_t		 flows_ms;	/* --flows window; 0: one line per event */
};

struct capture {
	const struct options	*opts;
	pcap_t			*pcap;
	pcap_dumper_t		*dumper;
	int			 live;
	unsigned long		 nrecords;
	unsigned long		 nmalformed;
	unsigned long		 nshown;
	unsigned int		 drops_seen;
	struct account		*acct;
	int			 draining;	/* at exit: count, do not show */
	int			 counters_warned;
	int			 out_failed;
	int			 done;		/* -c reached or output failed */
	struct ident_cache	*ids;		/* NULL with -n */
	struct statusfetch	*sf;
	int			 names_warned;
	struct bpf_program	 bpf;
	int			 has_bpf;
	struct flows		*flows;		/* with --flows */
	int64_t			 flows_next;	/* when to print them */
};

/* One decoded record. */
struct event {
	struct timeval		ts;
	uint16_t		group;
	struct nflog_rec	rec;
	int			decoded;	/* pi holds the IP packet */
	struct pkt_info		pi;
	struct bh_prefix	bp;		/* verdict 0: not ours */
	const struct peer	*src, *dst;	/* NULL: not known */
};

static const struct {
	const char	*name;
	int		 num;
} protos[] = {
	{ "tcp", IPPROTO_TCP }, { "udp", IPPROTO_UDP },
	{ "icmp", IPPROTO_ICMP }, { "icmpv6", IPPROTO_ICMPV6 },
	{ "sctp", IPPROTO_SCTP }, { "udplite", IPPROTO_UDPLITE },
	{ "dccp", IPPROTO_DCCP }, { "gre", IPPROTO_GRE },
	{ "esp", IPPROTO_ESP }, { "ah", IPPROTO_AH },
	{ "ipv6-icmp", IPPROTO_ICMPV6 },
};

static pcap_t			*sig_pcap;
static volatile sig_atomic_t	 stopping;

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: bulkhead-capture [-g GROUP]... [-r FILE] [-w FILE] [-c N]\n"
	    "                        [-o text|json] [filters] [options] [EXPRESSION]\n"
	    "Shows the packets bulkhead logs (denied, audited, spoofed), one line\n"
	    "each, with the containers they come from and go to.\n"
	    "  -g, --group N        NFLOG group to read; repeat for several (up to %d);\n"
	    "                       default %d, the group bulkheadd logs to by default\n"
	    "  -r, --read FILE      read a saved capture (pcap, link type NFLOG) instead\n"
	    "                       (names only with -s: the daemon's current ones)\n"
	    "  -w, --write FILE     also save the shown records to FILE (pcap, NFLOG),\n"
	    "                       readable by tshark/Wireshark\n"
	    "  -c, --count N        stop after N events\n"
	    "  -o, --output FMT     text (default) or json: one object per line\n"
	    "  -s, --control-socket PATH  bulkheadd's socket, for container names\n"
	    "                       (default %s)\n"
	    "  -n, --numeric        addresses only, do not ask bulkheadd\n"
	    "      --refresh S      ask bulkheadd every S seconds (default %d), and\n"
	    "                       at most every 0.5 s when an address is unknown\n"
	    "      --keep S         name containers S seconds after they are gone\n"
	    "                       (default %d)\n"
	    "  -B, --buffer-size KB kernel socket buffer for bursts, in KiB\n"
	    "                       (default %d, 16 MiB)\n"
	    "  -u, --user USER      after opening, run as USER (default nobody;\n"
	    "                       \"root\" or \"\" keeps the privileges)\n"
	    "  -v, --verbose        more messages on stderr\n"
	    "  -h, --help, -V, --version\n"
	    "filters (all must match):\n"
	    "      --from PEER      source: a container name, id prefix (12+), host,\n"
	    "                       world, an address, or a label selector such as\n"
	    "                       \"app == 'web'\" (the policy language)\n"
	    "      --to PEER        destination, the same way\n"
	    "      --proto P        tcp, udp, sctp, icmp, icmpv6, ... or a number\n"
	    "      --port N         source or destination port N\n"
	    "      --policy NAME    events attributed to policy NAME\n"
	    "      --verdict V      denied, audit, log, spoofed, pending, quarantined\n"
	    "      EXPRESSION       a pcap filter on the IP packet (\"tcp[13] & 2 != 0\")\n"
	    "      --flows[=S]      aggregate into flows over windows of S seconds\n"
	    "                       (default %d): one line per source, destination,\n"
	    "                       port, protocol, verdict and policy rule with its\n"
	    "                       count, first and last time; printed each window\n"
	    "                       and at exit\n"
	    "text: TIME VERDICT SRC:PORT \u2192 DST:PORT PROTO POLICY/RULE DIR [FLAGS]\n"
	    "      in DEV out DEV.  SRC and DST are container names, host/ADDR,\n"
	    "      world/ADDR, or ADDR without bulkheadd; RULE is the rule index or\n"
	    "      default; VERDICT is the quoted raw prefix when not bulkhead's\n"
	    "json: one object per line, fields documented in docs/capture.md\n"
	    "Loss: the kernel numbers the records; gaps (records lost in the\n"
	    "socket) and buffer overruns are reported as LOST lines (loss objects).\n"
	    "On exit (end of file, -c, SIGINT, SIGTERM) a summary goes to stderr\n"
	    "(and a summary object with -o json): records received, shown,\n"
	    "malformed, lost in the socket and, with bulkheadd, per denying rule\n"
	    "its kernel counters over the capture: matched, logged (the rest was\n"
	    "over the log rate limit), captured; MISMATCH when captured + lost\n"
	    "is not what the kernel logged.\n",
	    MAX_GROUPS, DEFAULT_GROUP, CONTROL_DEFAULT_PATH,
	    IDENT_PERIOD_MS / 1000, IDENT_KEEP_MS / 1000, DEFAULT_BUFFER_KB,
	    DEFAULT_FLOWS_S);
}

/* ---- names: who is behind the addresses ---- */

static int64_t
tv_ms(const struct timeval *tv)
{
	return (int64_t)tv->tv_sec * 1000 + tv->tv_usec / 1000;
}

static int64_t
now_ms(void)
{
	struct timeval	tv;

	gettimeofday(&tv, NULL);
	return tv_ms(&tv);
}

/* The host's own addresses, for the "host" peer. */
static void
names_host(struct ident_cache *ids)
{
	struct ifaddrs	*ifa, *i;
	struct in_addr	 v4[256];
	struct in6_addr	 v6[256];
	size_t		 n4 = 0, n6 = 0;

	if (getifaddrs(&ifa) == -1) {
		log_debug("%s: getifaddrs: %s", __func__, strerror(errno));
		return;
	}
	for (i = ifa; i; i = i->ifa_next) {
		if (i->ifa_addr == NULL)
			continue;
		if (i->ifa_addr->sa_family == AF_INET && n4 < ARRAY_SIZE(v4))
			v4[n4++] = ((struct sockaddr_in *)i->ifa_addr)->sin_addr;
		if (i->ifa_addr->sa_family == AF_INET6 && n6 < ARRAY_SIZE(v6))
			v6[n6++] = ((struct sockaddr_in6 *)i->ifa_addr)->sin6_addr;
	}
	freeifaddrs(ifa);
	ident_cache_set_host(ids, AF_INET, v4, n4);
	ident_cache_set_host(ids, AF_INET6, v6, n6);
}

/* Asks bulkheadd for its containers; warns once when it cannot. */
static void
names_refresh(struct capture *cap)
{
	char	 err[256], *ans = NULL;
	int64_t	 now = now_ms();

	names_host(cap->ids);
	if (cap->sf == NULL) {
		snprintf(err, sizeof(err), "cannot start the status helper");
		goto err;
	}
	if (statusfetch_get(cap->sf, &ans, err, sizeof(err)) == -1 ||
	    ident_cache_load(cap->ids, ans, now, err, sizeof(err)) == -1)
		goto err;
	free(ans);
	ident_cache_queried(cap->ids, now, 1);
	if (cap->names_warned == 1) {
		log_info("container names from bulkheadd from now on");
		cap->names_warned = 2;
	}
	log_debug("%s: %zu addresses known", __func__,
	    ident_cache_size(cap->ids));
	return;
err:
	free(ans);
	ident_cache_queried(cap->ids, now, 0);
	if (!cap->names_warned) {
		log_warnx("no container names (%s): showing addresses", err);
		cap->names_warned = 1;
	}
}

/* Names the event's peers, asking bulkheadd again (rate-limited) when
 * an address is unknown: a container may have just started. */
static void
names_event(struct capture *cap, struct event *ev)
{
	int64_t		t = tv_ms(&ev->ts);
	int		family = ev->pi.family;

	if (cap->ids == NULL || !ev->decoded)
		return;
	ev->src = ident_cache_lookup(cap->ids, family, &ev->pi.src, t);
	ev->dst = ident_cache_lookup(cap->ids, family, &ev->pi.dst, t);
	if (!cap->live || ev->src == NULL ||
	    (ev->src->kind != PEER_WORLD && ev->dst->kind != PEER_WORLD) ||
	    !ident_cache_due(cap->ids, now_ms(), 1))
		return;
	names_refresh(cap);
	ev->src = ident_cache_lookup(cap->ids, family, &ev->pi.src, t);
	ev->dst = ident_cache_lookup(cap->ids, family, &ev->pi.dst, t);
}

/* ---- decoding ---- */

/* The family of the payload: the record's, or its hardware protocol's
 * for records from bridge and netdev tables. */
static int
event_family(const struct nflog_rec *rec)
{
	if (rec->family == AF_INET || rec->family == AF_INET6)
		return rec->family;
	if (rec->hw_protocol == ETHERTYPE_IPV4)
		return AF_INET;
	if (rec->hw_protocol == ETHERTYPE_IPV6)
		return AF_INET6;
	return 0;
}

static int
event_decode(struct event *ev, const struct pcap_pkthdr *h,
    const uint8_t *bytes)
{
	int	family;

	memset(ev, 0, sizeof(*ev));
	if (nflog_decode(bytes, h->caplen, &ev->rec) == -1)
		return -1;
	ev->group = (uint16_t)(bytes[2] << 8 | bytes[3]);
	ev->ts = h->ts;
	/* The kernel's timestamp, when it is there and sane. */
	if (ev->rec.has_ts && ev->rec.ts_usec < 1000000 &&
	    ev->rec.ts_sec + 86400 > (uint64_t)h->ts.tv_sec &&
	    ev->rec.ts_sec < (uint64_t)h->ts.tv_sec + 86400) {
		ev->ts.tv_sec = (time_t)ev->rec.ts_sec;
		ev->ts.tv_usec = (suseconds_t)ev->rec.ts_usec;
	}
	family = event_family(&ev->rec);
	if (family && ev->rec.payload)
		ev->decoded = nflog_decode_packet(ev->rec.payload,
		    ev->rec.payload_len, family, &ev->pi) == 0;
	if (ev->rec.has_prefix)
		nflog_parse_prefix(ev->rec.prefix, &ev->bp);
	return 0;
}

/* The event's IP payload matches the BPF expression. */
static int
bpf_match(const struct capture *cap, const struct event *ev)
{
	struct pcap_pkthdr	h;

	if (!cap->has_bpf)
		return 1;
	if (!ev->decoded)
		return 0;
	memset(&h, 0, sizeof(h));
	h.ts = ev->ts;
	h.caplen = h.len = (bpf_u_int32)ev->rec.payload_len;
	return pcap_offline_filter(&cap->bpf, &h, ev->rec.payload) != 0;
}

static int
event_match(const struct capture *cap, const struct event *ev)
{
	return filter_match(&cap->opts->filter, ev->decoded ? &ev->pi : NULL,
	    &ev->bp, ev->src, ev->dst) && bpf_match(cap, ev);
}

/* ---- words ---- */

static const char *
verdict_word(char v)
{
	switch (v) {
	case 'D': return "denied";
	case 'A': return "audit";
	case 'L': return "log";
	case 'S': return "spoofed";
	case 'P': return "pending";
	case 'Q': return "quarantined";
	default: return NULL;
	}
}

static char
verdict_letter(const char *word)
{
	static const char	letters[] = "DALSPQ";
	size_t			i;

	for (i = 0; letters[i]; i++)
		if (strcmp(word, verdict_word(letters[i])) == 0)
			return letters[i];
	return 0;
}

static const char *
dir_word(char d)
{
	return d == 'I' ? "ingress" : d == 'E' ? "egress" : NULL;
}

/* The protocol's name, or its number in buf. */
static const char *
proto_name(int num, char *buf, size_t size)
{
	size_t	i;

	for (i = 0; i < ARRAY_SIZE(protos); i++)
		if (protos[i].num == num)
			return protos[i].name;
	snprintf(buf, size, "%d", num);
	return buf;
}

static int
proto_parse(const char *s)
{
	char	*end;
	long	 n;
	size_t	 i;

	for (i = 0; i < ARRAY_SIZE(protos); i++)
		if (strcasecmp(s, protos[i].name) == 0)
			return protos[i].num;
	errno = 0;
	n = strtol(s, &end, 10);
	if (*s == '\0' || *end != '\0' || errno || n < 0 || n > 255)
		return -1;
	return (int)n;
}

/* TCP flags as letters, FIN first; "" when none is set. */
static void
tcp_flags_str(uint8_t flags, char buf[9])
{
	static const char	letters[] = "FSRPAUEC";
	int			i, n = 0;

	for (i = 0; i < 8; i++)
		if (flags & (1u << i))
			buf[n++] = letters[i];
	buf[n] = '\0';
}

/*
 * The interface's name, or "if<N>" when it has none here.  Names are
 * cached for a second: if_indextoname costs three system calls, and
 * veths come and go with containers more slowly than that.
 */
static const char *
ifname(uint32_t idx, char buf[IF_NAMESIZE + 12])
{
	static struct {
		uint32_t	idx;
		time_t		at;
		char		name[IF_NAMESIZE + 12];
	}		 cache[64];
	time_t		 now = time(NULL);
	size_t		 slot = idx % ARRAY_SIZE(cache);

	if (idx == 0)
		return NULL;
	if (cache[slot].idx != idx || cache[slot].at != now) {
		if (if_indextoname(idx, cache[slot].name) == NULL)
			snprintf(cache[slot].name, sizeof(cache[slot].name),
			    "if%u", idx);
		cache[slot].idx = idx;
		cache[slot].at = now;
	}
	memcpy(buf, cache[slot].name, IF_NAMESIZE + 12);
	return buf;
}

static void
addr_str(const struct pkt_info *pi, int src, char buf[INET6_ADDRSTRLEN])
{
	const void	*a = src ? (const void *)&pi->src : (const void *)&pi->dst;

	if (inet_ntop(pi->family, a, buf, INET6_ADDRSTRLEN) == NULL)
		snprintf(buf, INET6_ADDRSTRLEN, "?");
}

static void
fmt_time_local(const struct timeval *tv, char buf[32])
{
	struct tm	tm;
	time_t		t = tv->tv_sec;

	if (localtime_r(&t, &tm) == NULL) {
		snprintf(buf, 32, "??:??:??.???");
		return;
	}
	strftime(buf, 32, "%H:%M:%S", &tm);
	snprintf(buf + 8, 24, ".%03ld", (long)tv->tv_usec / 1000);
}

static void
fmt_time_utc(const struct timeval *tv, char buf[48])
{
	struct tm	tm;
	time_t		t = tv->tv_sec;

	if (gmtime_r(&t, &tm) == NULL) {
		snprintf(buf, 48, "1970-01-01T00:00:00.000000Z");
		return;
	}
	strftime(buf, 48, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf + strlen(buf), 24, ".%06ldZ", (long)tv->tv_usec);
}

/* ---- text output ---- */

/* Appends s with bytes that are not printable ASCII, \ and " as \xNN. */
static void
text_sane(struct strbuf *sb, const char *s)
{
	for (; *s; s++) {
		unsigned char	c = (unsigned char)*s;

		if (c >= 0x20 && c < 0x7f && c != '\\' && c != '"')
			strbuf_add(sb, s, 1);
		else
			strbuf_addf(sb, "\\x%02x", c);
	}
}

/*
 * A container by its name, the host and the world by their word and the
 * address (host/172.17.0.1), an unknown peer (no bulkheadd) by its
 * address; then :port when there is one.
 */
static void
text_endpoint(struct strbuf *sb, const struct pkt_info *pi,
    const struct peer *p, int src)
{
	char	a[INET6_ADDRSTRLEN];
	int	v6 = pi->family == AF_INET6;

	addr_str(pi, src, a);
	if (p && p->kind == PEER_CONTAINER) {
		text_sane(sb, p->name);
		v6 = 0;
	} else {
		if (p)
			strbuf_addf(sb, "%s/", p->name);
		if (v6 && pi->has_ports)
			strbuf_addf(sb, "[%s]", a);
		else
			strbuf_addstr(sb, a);
	}
	if (pi->has_ports)
		strbuf_addf(sb, ":%u", src ? pi->sport : pi->dport);
}

static void
text_flags(struct strbuf *sb, const struct pkt_info *pi)
{
	char	flags[9];

	if (pi->proto == IPPROTO_TCP && pi->has_ports) {
		tcp_flags_str(pi->tcp_flags, flags);
		strbuf_addf(sb, " [%s]", flags);
	}
	if (pi->has_icmp)
		strbuf_addf(sb, " type %u code %u", pi->icmp_type,
		    pi->icmp_code);
	if (pi->fragment)
		strbuf_addstr(sb, " frag");
}

static void
text_packet(struct strbuf *sb, const struct event *ev)
{
	const struct pkt_info	*pi = &ev->pi;
	char			 num[8];

	if (!ev->decoded) {
		if (ev->rec.hw_protocol == ETHERTYPE_ARP)
			strbuf_addstr(sb, " arp");
		else
			strbuf_addf(sb, " undecoded ethertype 0x%04x (%zu bytes)",
			    ev->rec.hw_protocol, ev->rec.payload_len);
		return;
	}
	strbuf_add(sb, " ", 1);
	text_endpoint(sb, pi, ev->src, 1);
	strbuf_addstr(sb, " \u2192 ");
	text_endpoint(sb, pi, ev->dst, 0);
	strbuf_addf(sb, " %s", proto_name(pi->proto, num, sizeof(num)));
}

/* policy/rule direction: the rule's 0-based index, or "default". */
static void
text_policy(struct strbuf *sb, const struct bh_prefix *bp)
{
	strbuf_add(sb, " ", 1);
	text_sane(sb, bp->policy);
	if (bp->rule < 0)
		strbuf_addstr(sb, "/default");
	else
		strbuf_addf(sb, "/%d", bp->rule);
	strbuf_addf(sb, " %s", dir_word(bp->dir));
}

/* TIME VERDICT SRC → DST PROTO POLICY/RULE DIR [FLAGS] in DEV out DEV */
static void
text_event(struct strbuf *sb, const struct event *ev)
{
	char		 t[32], idev[IF_NAMESIZE + 12], odev[IF_NAMESIZE + 12];
	const char	*in, *out;

	fmt_time_local(&ev->ts, t);
	strbuf_addstr(sb, t);
	if (ev->bp.verdict) {
		strbuf_addf(sb, " %s", verdict_word(ev->bp.verdict));
	} else if (ev->rec.has_prefix && ev->rec.prefix[0]) {
		strbuf_addstr(sb, " \"");
		text_sane(sb, ev->rec.prefix);
		strbuf_addstr(sb, "\"");
	} else {
		strbuf_addstr(sb, " -");
	}
	text_packet(sb, ev);
	if (ev->bp.verdict)
		text_policy(sb, &ev->bp);
	if (ev->decoded)
		text_flags(sb, &ev->pi);
	/* The bridge port when there is one, else the interface. */
	if ((in = ifname(ev->rec.physindev ? ev->rec.physindev :
	    ev->rec.indev, idev)) != NULL)
		strbuf_addf(sb, " in %s", in);
	if ((out = ifname(ev->rec.physoutdev ? ev->rec.physoutdev :
	    ev->rec.outdev, odev)) != NULL)
		strbuf_addf(sb, " out %s", out);
}

/* ---- JSON output ---- */

static void
json_key(struct strbuf *sb, const char *key)
{
	if (sb->len > 1)
		strbuf_add(sb, ",", 1);
	strbuf_add(sb, "\"", 1);
	strbuf_addstr(sb, key);
	strbuf_add(sb, "\":", 2);
}

/* s as a JSON string. */
static void
json_quote(struct strbuf *sb, const char *s)
{
	const char	*run;

	strbuf_add(sb, "\"", 1);
	while (*s) {
		unsigned char	c;

		/* The bytes that need no escape, in one go. */
		for (run = s; *s; s++) {
			c = (unsigned char)*s;
			if (c == '"' || c == '\\' || c < 0x20 || c >= 0x7f)
				break;
		}
		strbuf_add(sb, run, (size_t)(s - run));
		if (*s == '\0')
			break;
		c = (unsigned char)*s++;
		if (c == '"' || c == '\\')
			strbuf_addf(sb, "\\%c", c);
		else
			strbuf_addf(sb, "\\u%04x", c);
	}
	strbuf_add(sb, "\"", 1);
}

static void
json_str(struct strbuf *sb, const char *key, const char *s)
{
	json_key(sb, key);
	if (s == NULL)
		strbuf_addstr(sb, "null");
	else
		json_quote(sb, s);
}

/* A peer's identity: <side>_kind, _id, _namespace, _service, _labels. */
static void
json_peer(struct strbuf *sb, const char *side, const struct peer *p)
{
	const struct peer	*c = p && p->kind == PEER_CONTAINER ? p : NULL;
	char			 key[32];
	size_t			 i;

	snprintf(key, sizeof(key), "%s_kind", side);
	json_str(sb, key, p ? peer_kind_word(p->kind) : NULL);
	snprintf(key, sizeof(key), "%s_id", side);
	json_str(sb, key, c ? c->id : NULL);
	snprintf(key, sizeof(key), "%s_namespace", side);
	json_str(sb, key, c ? c->project : NULL);
	snprintf(key, sizeof(key), "%s_service", side);
	json_str(sb, key, c ? c->service : NULL);
	snprintf(key, sizeof(key), "%s_labels", side);
	json_key(sb, key);
	if (c == NULL) {
		strbuf_addstr(sb, "null");
		return;
	}
	strbuf_add(sb, "{", 1);
	for (i = 0; i < c->labels.n; i++) {
		if (i)
			strbuf_add(sb, ",", 1);
		json_quote(sb, c->labels.v[i].key);
		strbuf_add(sb, ":", 1);
		json_quote(sb, c->labels.v[i].value);
	}
	strbuf_add(sb, "}", 1);
}

static void
json_num(struct strbuf *sb, const char *key, long long v, int present)
{
	json_key(sb, key);
	if (present)
		strbuf_addf(sb, "%lld", v);
	else
		strbuf_addstr(sb, "null");
}

static void
json_bool(struct strbuf *sb, const char *key, int v)
{
	json_key(sb, key);
	strbuf_addstr(sb, v ? "true" : "false");
}

static void
json_devices(struct strbuf *sb, const struct nflog_rec *r)
{
	char	b[IF_NAMESIZE + 12];

	json_str(sb, "indev", ifname(r->indev, b));
	json_str(sb, "outdev", ifname(r->outdev, b));
	json_str(sb, "physindev", ifname(r->physindev, b));
	json_str(sb, "physoutdev", ifname(r->physoutdev, b));
}

static void
json_packet(struct strbuf *sb, const struct event *ev)
{
	const struct pkt_info	*pi = &ev->pi;
	int			 ip = ev->decoded;
	char			 src[INET6_ADDRSTRLEN], dst[INET6_ADDRSTRLEN];
	char			 num[8], flags[9];

	if (ip) {
		addr_str(pi, 1, src);
		addr_str(pi, 0, dst);
		tcp_flags_str(pi->tcp_flags, flags);
	}
	json_str(sb, "family", !ip ? NULL :
	    pi->family == AF_INET ? "ipv4" : "ipv6");
	json_num(sb, "ethertype", ev->rec.hw_protocol, 1);
	json_str(sb, "proto", ip ? proto_name(pi->proto, num, sizeof(num)) :
	    NULL);
	json_str(sb, "src", ip ? src : NULL);
	json_num(sb, "sport", pi->sport, ip && pi->has_ports);
	json_str(sb, "dst", ip ? dst : NULL);
	json_num(sb, "dport", pi->dport, ip && pi->has_ports);
	json_str(sb, "src_name", ev->src ? ev->src->name : NULL);
	json_str(sb, "dst_name", ev->dst ? ev->dst->name : NULL);
	json_num(sb, "icmp_type", pi->icmp_type, ip && pi->has_icmp);
	json_num(sb, "icmp_code", pi->icmp_code, ip && pi->has_icmp);
	json_str(sb, "tcp_flags", ip && pi->proto == IPPROTO_TCP &&
	    pi->has_ports ? flags : NULL);
	json_bool(sb, "fragment", ip && pi->fragment);
}

static void
json_event(struct strbuf *sb, const struct event *ev)
{
	const struct bh_prefix	*bp = &ev->bp;
	const struct nflog_rec	*r = &ev->rec;
	char			 t[48];

	fmt_time_utc(&ev->ts, t);
	strbuf_add(sb, "{", 1);
	json_str(sb, "event", "packet");
	json_str(sb, "time", t);
	json_num(sb, "group", ev->group, 1);
	json_str(sb, "verdict", verdict_word(bp->verdict));
	json_str(sb, "direction", dir_word(bp->dir));
	json_str(sb, "policy", bp->verdict ? bp->policy : NULL);
	json_num(sb, "rule", bp->rule, bp->verdict != 0);
	json_str(sb, "prefix", r->has_prefix ? r->prefix : NULL);
	json_packet(sb, ev);
	json_devices(sb, r);
	json_num(sb, "mark", r->mark, r->has_mark);
	json_num(sb, "uid", r->uid, r->has_uid);
	json_num(sb, "gid", r->gid, r->has_gid);
	json_num(sb, "len", (long long)r->payload_len, 1);
	json_peer(sb, "src", ev->src);
	json_peer(sb, "dst", ev->dst);
	json_num(sb, "seq", r->seq, r->has_seq);
	strbuf_add(sb, "}", 1);
}

/* ---- the loop ---- */

/* Ends the capture after the current record. */
static void
capture_stop(struct capture *cap)
{
	cap->done = 1;
	pcap_breakloop(cap->pcap);
}

static void
output_failed(struct capture *cap)
{
	/* A reader that went away (| head) is a normal end. */
	if (errno == EPIPE)
		log_debug("%s: reader closed the output", __func__);
	else if (!cap->out_failed++)
		log_warn("%s: cannot write the output", __func__);
	capture_stop(cap);
}

/* Lines are flushed after each batch the kernel hands over, not one by
 * one: a burst costs one write, not one per packet. */
static void
output_flush(struct capture *cap)
{
	if (fflush(stdout) == EOF)
		output_failed(cap);
}

static void
emit_line(struct capture *cap, struct strbuf *sb)
{
	strbuf_add(sb, "\n", 1);
	if (fwrite(sb->buf, 1, sb->len, stdout) != sb->len)
		output_failed(cap);
}

/*
 * A loss notice in the stream: overruns the kernel reported (ENOBUFS, each
 * one or more records), or records found missing from a gap in group's
 * sequence numbers (records 0: not known).
 */
static void
emit_loss(struct capture *cap, unsigned int overruns, uint32_t records,
    int group)
{
	struct strbuf	sb;
	struct timeval	now;
	char		t[48];

	gettimeofday(&now, NULL);
	strbuf_init(&sb);
	if (cap->opts->json) {
		fmt_time_utc(&now, t);
		strbuf_add(&sb, "{", 1);
		json_str(&sb, "event", "loss");
		json_str(&sb, "time", t);
		json_num(&sb, "overruns", overruns, 1);
		json_num(&sb, "records", records, records != 0);
		json_num(&sb, "group", group, group >= 0);
		strbuf_add(&sb, "}", 1);
	} else if (records) {
		fmt_time_local(&now, t);
		strbuf_addf(&sb, "%s LOST: %u records of group %d (a gap in "
		    "the kernel's sequence numbers)", t, records, group);
	} else {
		fmt_time_local(&now, t);
		strbuf_addf(&sb, "%s LOST: %u socket buffer overrun(s), "
		    "the kernel dropped records", t, overruns);
	}
	emit_line(cap, &sb);
	strbuf_release(&sb);
}

/* ---- --flows: aggregated output ---- */

static void
flow_key_fill(struct flow_key *k, const struct event *ev)
{
	const struct pkt_info	*pi = &ev->pi;

	flow_key_init(k);
	k->verdict = ev->bp.verdict;
	k->dir = ev->bp.dir;
	k->rule = ev->bp.verdict ? ev->bp.rule : 0;
	strlcpy_bh(k->policy, ev->bp.verdict ? ev->bp.policy : "",
	    sizeof(k->policy));
	if (!ev->decoded)
		return;
	k->family = (uint8_t)pi->family;
	k->proto = pi->proto;
	if (pi->has_ports)
		k->dport = pi->dport;
	memcpy(k->src, &pi->src, pi->family == AF_INET ? 4 : 16);
	memcpy(k->dst, &pi->dst, pi->family == AF_INET ? 4 : 16);
}

static void
flows_event(struct capture *cap, const struct event *ev)
{
	struct flow_key	k;

	flow_key_fill(&k, ev);
	flows_add(cap->flows, &k, tv_ms(&ev->ts),
	    ev->src ? ev->src->name : NULL, ev->src ? (int)ev->src->kind : 0,
	    ev->dst ? ev->dst->name : NULL, ev->dst ? (int)ev->dst->kind : 0);
}

static void
ms_tv(int64_t ms, struct timeval *tv)
{
	tv->tv_sec = (time_t)(ms / 1000);
	tv->tv_usec = (suseconds_t)(ms % 1000) * 1000;
}

/* A flow's peer as in the event lines: name, kind/ADDR or ADDR. */
static void
flow_text_peer(struct strbuf *sb, const struct flow *f, int src)
{
	char		 a[INET6_ADDRSTRLEN];
	int		 kind = src ? f->src_kind : f->dst_kind;
	const char	*name = src ? f->src_name : f->dst_name;

	if (f->key.family == 0) {
		strbuf_addstr(sb, "non-ip");
		return;
	}
	if (kind == PEER_CONTAINER) {
		text_sane(sb, name);
		return;
	}
	inet_ntop(f->key.family, src ? f->key.src : f->key.dst, a, sizeof(a));
	if (kind)
		strbuf_addf(sb, "%s/", peer_kind_word((enum peer_kind)kind));
	if (!src && f->key.family == AF_INET6 && f->key.dport >= 0)
		strbuf_addf(sb, "[%s]", a);
	else
		strbuf_addstr(sb, a);
}

/* COUNT VERDICT SRC → DST:PORT PROTO POLICY/RULE DIR first T last T */
static void
flow_text(struct strbuf *sb, const struct flow *f)
{
	struct bh_prefix	bp;
	struct timeval		tv;
	char			num[8], t[32];

	strbuf_addf(sb, "%llu %s ", (unsigned long long)f->count,
	    f->key.verdict ? verdict_word(f->key.verdict) : "-");
	flow_text_peer(sb, f, 1);
	strbuf_addstr(sb, " \u2192 ");
	flow_text_peer(sb, f, 0);
	if (f->key.dport >= 0)
		strbuf_addf(sb, ":%d", f->key.dport);
	if (f->key.family)
		strbuf_addf(sb, " %s", proto_name(f->key.proto, num,
		    sizeof(num)));
	if (f->key.verdict) {
		memset(&bp, 0, sizeof(bp));
		bp.dir = f->key.dir;
		bp.rule = f->key.rule;
		strlcpy_bh(bp.policy, f->key.policy, sizeof(bp.policy));
		text_policy(sb, &bp);
	}
	ms_tv(f->first, &tv);
	fmt_time_local(&tv, t);
	strbuf_addf(sb, " first %s", t);
	ms_tv(f->last, &tv);
	fmt_time_local(&tv, t);
	strbuf_addf(sb, " last %s", t);
}

static void
flow_json(struct strbuf *sb, const struct flow *f)
{
	const struct flow_key	*k = &f->key;
	struct timeval		 tv;
	char			 t[48], num[8], s[INET6_ADDRSTRLEN], d[INET6_ADDRSTRLEN];
	int			 ip = k->family != 0;

	if (ip) {
		inet_ntop(k->family, k->src, s, sizeof(s));
		inet_ntop(k->family, k->dst, d, sizeof(d));
	}
	strbuf_add(sb, "{", 1);
	json_str(sb, "event", "flow");
	ms_tv(f->first, &tv);
	fmt_time_utc(&tv, t);
	json_str(sb, "first", t);
	ms_tv(f->last, &tv);
	fmt_time_utc(&tv, t);
	json_str(sb, "last", t);
	json_num(sb, "count", (long long)f->count, 1);
	json_str(sb, "verdict", verdict_word(k->verdict));
	json_str(sb, "direction", dir_word(k->dir));
	json_str(sb, "policy", k->verdict ? k->policy : NULL);
	json_num(sb, "rule", k->rule, k->verdict != 0);
	json_str(sb, "family", !ip ? NULL : k->family == AF_INET ? "ipv4" : "ipv6");
	json_str(sb, "proto", ip ? proto_name(k->proto, num, sizeof(num)) : NULL);
	json_str(sb, "src", ip ? s : NULL);
	json_str(sb, "dst", ip ? d : NULL);
	json_num(sb, "dport", k->dport, k->dport >= 0);
	json_str(sb, "src_name", f->src_name[0] ? f->src_name : NULL);
	json_str(sb, "dst_name", f->dst_name[0] ? f->dst_name : NULL);
	json_str(sb, "src_kind", f->src_kind ?
	    peer_kind_word((enum peer_kind)f->src_kind) : NULL);
	json_str(sb, "dst_kind", f->dst_kind ?
	    peer_kind_word((enum peer_kind)f->dst_kind) : NULL);
	strbuf_add(sb, "}", 1);
}

/* Prints the window's flows, most events first, and starts a new one. */
static void
flows_flush(struct capture *cap)
{
	const struct flow *const	*v;
	struct strbuf			 sb;
	size_t				 i, n;

	cap->flows_next = now_ms() + cap->opts->flows_ms;
	v = flows_sorted(cap->flows, &n);
	for (i = 0; i < n && !cap->out_failed; i++) {
		strbuf_init(&sb);
		if (cap->opts->json)
			flow_json(&sb, v[i]);
		else
			flow_text(&sb, v[i]);
		emit_line(cap, &sb);
		strbuf_release(&sb);
	}
	flows_clear(cap->flows);
}

/* Reports the kernel's drops since the last look. */
static void
check_loss(struct capture *cap)
{
	struct pcap_stat	st;

	if (!cap->live || pcap_stats(cap->pcap, &st) == -1)
		return;
	if (st.ps_drop > cap->drops_seen) {
		if (!cap->draining)
			emit_loss(cap, st.ps_drop - cap->drops_seen, 0, -1);
		cap->drops_seen = st.ps_drop;
		account_overruns(cap->acct, st.ps_drop);
	}
}

static void
dump_record(struct capture *cap, const struct pcap_pkthdr *h,
    const uint8_t *bytes)
{
	if (cap->dumper == NULL)
		return;
	pcap_dump((u_char *)cap->dumper, h, bytes);
	if (pcap_dump_flush(cap->dumper) == -1 && !cap->out_failed) {
		log_warnx("%s: cannot write %s", __func__, cap->opts->wfile);
		cap->out_failed = 1;
		capture_stop(cap);
	}
}

static void
on_record(u_char *user, const struct pcap_pkthdr *h, const u_char *bytes)
{
	struct capture		*cap = (struct capture *)user;
	const struct options	*o = cap->opts;
	struct event		 ev;
	struct strbuf		 sb;

	uint32_t		 lost;

	if (cap->done && !cap->draining)
		return;
	cap->nrecords++;
	check_loss(cap);
	if (event_decode(&ev, h, bytes) == -1) {
		if (cap->nmalformed++ < 10 || o->verbose)
			log_warnx("malformed NFLOG record %lu (%u bytes)",
			    cap->nrecords, h->caplen);
		if (h->caplen >= 4)
			account_record(cap->acct, (uint16_t)(bytes[2] << 8 |
			    bytes[3]), NULL, 0, 0);
		/* Saved for a closer look. */
		if (!filter_set(&o->filter) && !cap->has_bpf && !cap->draining)
			dump_record(cap, h, bytes);
		return;
	}
	lost = account_record(cap->acct, ev.group, ev.rec.has_prefix ?
	    ev.rec.prefix : NULL, ev.rec.has_seq, ev.rec.seq);
	/* At exit, records still in flight are counted, not shown. */
	if (cap->draining)
		return;
	if (lost)
		emit_loss(cap, 0, lost, ev.group);
	names_event(cap, &ev);
	if (!event_match(cap, &ev))
		return;
	dump_record(cap, h, bytes);
	if (cap->flows) {
		flows_event(cap, &ev);
		if (++cap->nshown == o->count)
			capture_stop(cap);
		return;
	}
	strbuf_init(&sb);
	if (o->json)
		json_event(&sb, &ev);
	else
		text_event(&sb, &ev);
	emit_line(cap, &sb);
	strbuf_release(&sb);
	if (++cap->nshown == o->count)
		capture_stop(cap);
}

static void
on_signal(int sig)
{
	stopping = 1;
	if (sig_pcap)
		pcap_breakloop(sig_pcap);
}

static void
signals_init(pcap_t *p)
{
	struct sigaction	sa;

	sig_pcap = p;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	/* No SA_RESTART: the signal must interrupt libpcap's recv(). */
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
}

/* The summary at exit: on stderr, and as a "summary" object with -o json. */
static void
print_summary(struct capture *cap)
{
	struct strbuf	sb;
	struct timeval	now;
	char		t[48];

	strbuf_init(&sb);
	account_text(cap->acct, cap->nshown, cap->nmalformed, &sb);
	fputs(sb.buf, stderr);
	fflush(stderr);
	if (cap->opts->json && !cap->out_failed) {
		strbuf_clear(&sb);
		gettimeofday(&now, NULL);
		fmt_time_utc(&now, t);
		account_json(cap->acct, t, cap->nshown, cap->nmalformed, &sb);
		emit_line(cap, &sb);
		output_flush(cap);
	}
	strbuf_release(&sb);
}

/* ---- opening ---- */

/* Grows the socket buffer past net.core.rmem_max when we may. */
static void
grow_rcvbuf(pcap_t *p, int kb)
{
	int		fd = pcap_fileno(p), want = kb * 1024, got = 0;
	socklen_t	len = sizeof(got);

	if (fd < 0 || want <= 0)
		return;
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &want, sizeof(want)) == -1)
		log_debug("%s: SO_RCVBUFFORCE: %s", __func__, strerror(errno));
	if (getsockopt(fd, SOL_SOCKET, SO_RCVBUF, &got, &len) == -1)
		return;
	/* The kernel reports twice what it was asked for. */
	if (got / 2 < want)
		log_warnx("socket buffer is %d KiB, not the %d KiB asked: "
		    "bursts may be lost (raise net.core.rmem_max or run as root)",
		    got / 2048, kb);
}

/* Appends one netlink attribute (value in network order) at *off. */
static void
nl_attr(char *buf, size_t *off, uint16_t type, const void *val, uint16_t len)
{
	struct nlattr	a = { .nla_len = (uint16_t)(NLA_HDRLEN + len),
			      .nla_type = type };

	memcpy(buf + *off, &a, sizeof(a));
	memcpy(buf + *off + NLA_HDRLEN, val, len);
	*off += NLA_ALIGN(a.nla_len);
}

/*
 * Asks the kernel to number group's records (NFULNL_CFG_F_SEQ: a gap is
 * records lost in the socket) and to hand over a batch of records after
 * 0.1 s at most instead of 1 s.  libpcap binds the group but sets no
 * flags and has no call for it, so the request goes on its socket: the
 * kernel takes a group's configuration only from the socket bound to it.
 * No acknowledgement is asked: libpcap reads the socket and skips what is
 * not a record, an error answer included; records without numbers tell
 * that it did not work (the summary counts them).
 */
static void
nflog_configure(pcap_t *p, uint16_t group)
{
	char			 buf[128] __attribute__((aligned(4)));
	struct nlmsghdr		*nlh = (struct nlmsghdr *)buf;
	struct nfgenmsg		*nfg;
	struct sockaddr_nl	 kernel = { .nl_family = AF_NETLINK };
	uint16_t		 flags = htons(NFULNL_CFG_F_SEQ);
	uint32_t		 timeout = htonl(NFLOG_FLUSH_CS);
	size_t			 off = NLMSG_HDRLEN;

	memset(buf, 0, sizeof(buf));
	nfg = (struct nfgenmsg *)(buf + off);
	nfg->nfgen_family = AF_UNSPEC;
	nfg->version = NFNETLINK_V0;
	nfg->res_id = htons(group);
	off += NLMSG_ALIGN(sizeof(*nfg));
	nl_attr(buf, &off, NFULA_CFG_FLAGS, &flags, sizeof(flags));
	nl_attr(buf, &off, NFULA_CFG_TIMEOUT, &timeout, sizeof(timeout));
	nlh->nlmsg_len = (uint32_t)off;
	nlh->nlmsg_type = (NFNL_SUBSYS_ULOG << 8) | NFULNL_MSG_CONFIG;
	nlh->nlmsg_flags = NLM_F_REQUEST;
	nlh->nlmsg_seq = (uint32_t)time(NULL);
	if (sendto(pcap_fileno(p), buf, off, 0, (struct sockaddr *)&kernel,
	    sizeof(kernel)) == -1)
		log_warn("group %u: cannot ask for sequence numbers", group);
}

static pcap_t *
open_live(const struct options *o)
{
	char		 dev[16 + MAX_GROUPS * 6], errbuf[PCAP_ERRBUF_SIZE];
	pcap_t		*p;
	int		 i, rc, on = 1;
	size_t		 n;

	n = (size_t)snprintf(dev, sizeof(dev), "nflog:");
	for (i = 0; i < o->ngroups; i++)
		n += (size_t)snprintf(dev + n, sizeof(dev) - n, "%s%u",
		    i ? "," : "", o->groups[i]);
	if ((p = pcap_create(dev, errbuf)) == NULL) {
		log_warnx("%s: %s", dev, errbuf);
		return NULL;
	}
	pcap_set_buffer_size(p, o->buffer_kb * 1024);
	pcap_set_immediate_mode(p, 1);
	if ((rc = pcap_activate(p)) < 0) {
		log_warnx("cannot open %s: %s%s", dev, pcap_geterr(p),
		    geteuid() != 0 ? " (run as root)" : "");
		pcap_close(p);
		return NULL;
	}
	if (rc > 0)
		log_warnx("%s: %s", dev, pcap_geterr(p));
	grow_rcvbuf(p, o->buffer_kb);
	for (i = 0; i < o->ngroups; i++)
		nflog_configure(p, o->groups[i]);
	/*
	 * Asks the kernel to timestamp received packets (any socket with
	 * SO_TIMESTAMP does), so that records carry NFULA_TIMESTAMP: when
	 * the packet arrived, not when a batch of records was read.
	 */
	if (setsockopt(pcap_fileno(p), SOL_SOCKET, SO_TIMESTAMP, &on,
	    sizeof(on)) == -1)
		log_debug("%s: SO_TIMESTAMP: %s", __func__, strerror(errno));
	log_debug("reading %s", dev);
	return p;
}

static pcap_t *
open_file(const char *path)
{
	char	 errbuf[PCAP_ERRBUF_SIZE];
	pcap_t	*p;

	if ((p = pcap_open_offline(path, errbuf)) == NULL)
		log_warnx("cannot read %s: %s", path, errbuf);
	return p;
}

/* Runs as user from now on, with no capabilities. */
static int
drop_privileges(const char *user)
{
	struct passwd	*pw;

	if (geteuid() != 0 || user == NULL || *user == '\0')
		return 0;
	if ((pw = getpwnam(user)) == NULL) {
		log_warnx("unknown user %s: use --user root to keep root", user);
		return -1;
	}
	if (pw->pw_uid == 0)
		return 0;
	if (setgroups(1, &pw->pw_gid) == -1 ||
	    setresgid(pw->pw_gid, pw->pw_gid, pw->pw_gid) == -1 ||
	    setresuid(pw->pw_uid, pw->pw_uid, pw->pw_uid) == -1) {
		log_warn("cannot become %s", user);
		return -1;
	}
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == -1)
		log_warn("%s: PR_SET_NO_NEW_PRIVS", __func__);
	log_debug("running as %s", user);
	return 0;
}

/* ---- arguments ---- */

/* Parses an unsigned decimal number up to max; -1 when it is not one. */
static int
parse_num(const char *s, unsigned long max, unsigned long *out)
{
	char		*end;
	unsigned long	 n;

	if (*s < '0' || *s > '9')
		return -1;
	errno = 0;
	n = strtoul(s, &end, 10);
	if (*end != '\0' || errno || n > max)
		return -1;
	*out = n;
	return 0;
}

enum { OPT_PROTO = 256, OPT_PORT, OPT_POLICY, OPT_VERDICT, OPT_FROM, OPT_TO,
	OPT_FLOWS, OPT_REFRESH, OPT_KEEP };

static const struct option longopts[] = {
	{ "group",	 required_argument, NULL, 'g' },
	{ "read",	 required_argument, NULL, 'r' },
	{ "write",	 required_argument, NULL, 'w' },
	{ "count",	 required_argument, NULL, 'c' },
	{ "output",	 required_argument, NULL, 'o' },
	{ "buffer-size", required_argument, NULL, 'B' },
	{ "user",	 required_argument, NULL, 'u' },
	{ "verbose",	 no_argument,	    NULL, 'v' },
	{ "help",	 no_argument,	    NULL, 'h' },
	{ "version",	 no_argument,	    NULL, 'V' },
	{ "proto",	 required_argument, NULL, OPT_PROTO },
	{ "port",	 required_argument, NULL, OPT_PORT },
	{ "policy",	 required_argument, NULL, OPT_POLICY },
	{ "verdict",	 required_argument, NULL, OPT_VERDICT },
	{ "from",	 required_argument, NULL, OPT_FROM },
	{ "to",		 required_argument, NULL, OPT_TO },
	{ "control-socket", required_argument, NULL, 's' },
	{ "numeric",	 no_argument,	    NULL, 'n' },
	{ "flows",	 optional_argument, NULL, OPT_FLOWS },
	{ "refresh",	 required_argument, NULL, OPT_REFRESH },
	{ "keep",	 required_argument, NULL, OPT_KEEP },
	{ NULL, 0, NULL, 0 }
};

static int
parse_peer(struct peer_match **m, const char *arg)
{
	char	err[512];

	peer_match_free(*m);
	if ((*m = peer_match_parse(arg, err, sizeof(err))) == NULL)
		return log_warnx("%s", err), -1;
	return 0;
}

/* The words of a filter expression as one string, as tcpdump takes it. */
static char *
args_join(char **v, int n)
{
	struct strbuf	sb;
	int		i;

	strbuf_init(&sb);
	for (i = 0; i < n; i++) {
		if (i)
			strbuf_add(&sb, " ", 1);
		strbuf_addstr(&sb, v[i]);
	}
	return strbuf_detach(&sb);
}

/* One option; -1 with a message when its argument is bad. */
static int
parse_opt(struct options *o, int ch, const char *arg)
{
	unsigned long	n;

	switch (ch) {
	case 'g':
		if (parse_num(arg, 65535, &n) == -1 || o->ngroups == MAX_GROUPS)
			return log_warnx("bad or too many groups: %s", arg), -1;
		o->groups[o->ngroups++] = (uint16_t)n;
		return 0;
	case 'r': o->rfile = arg; return 0;
	case 'w': o->wfile = arg; return 0;
	case 'u': o->user = arg; return 0;
	case 's': o->socket = arg; o->socket_set = 1; return 0;
	case 'n': o->numeric = 1; return 0;
	case OPT_REFRESH:
	case OPT_KEEP:
		if (parse_num(arg, 86400, &n) == -1 || (n == 0 && ch == OPT_REFRESH))
			return log_warnx("bad %s (seconds): %s", ch == OPT_KEEP ?
			    "--keep" : "--refresh", arg), -1;
		*(ch == OPT_KEEP ? &o->keep_ms : &o->refresh_ms) = (int64_t)n * 1000;
		return 0;
	case OPT_FLOWS:
		n = DEFAULT_FLOWS_S;
		if (arg && (parse_num(arg, 86400, &n) == -1 || n == 0))
			return log_warnx("bad flow window (seconds, 1-86400): %s",
			    arg), -1;
		o->flows_ms = (int64_t)n * 1000;
		return 0;
	case OPT_FROM:
	case OPT_TO:
		return parse_peer(ch == OPT_FROM ? &o->filter.from :
		    &o->filter.to, arg);
	case 'v': o->verbose++; return 0;
	case 'c':
		if (parse_num(arg, ULONG_MAX, &o->count) == -1 || o->count == 0)
			return log_warnx("bad count: %s", arg), -1;
		return 0;
	case 'o':
		if (strcmp(arg, "json") && strcmp(arg, "text"))
			return log_warnx("bad output format: %s", arg), -1;
		o->json = strcmp(arg, "json") == 0;
		return 0;
	case 'B':
		if (parse_num(arg, 1024 * 1024, &n) == -1 || n < 64)
			return log_warnx("bad buffer size (KiB, 64-1048576): %s",
			    arg), -1;
		o->buffer_kb = (int)n;
		return 0;
	case OPT_PROTO:
		if ((o->filter.proto = proto_parse(arg)) == -1)
			return log_warnx("bad protocol: %s", arg), -1;
		return 0;
	case OPT_PORT:
		if (parse_num(arg, 65535, &n) == -1)
			return log_warnx("bad port: %s", arg), -1;
		o->filter.port = (int)n;
		return 0;
	case OPT_POLICY: o->filter.policy = arg; return 0;
	case OPT_VERDICT:
		if ((o->filter.verdict = verdict_letter(arg)) == 0)
			return log_warnx("bad verdict: %s", arg), -1;
		return 0;
	default:
		return -1;
	}
}

/* Returns -1 on error, 1 when done (--help, --version), else 0. */
static int
parse_args(int argc, char **argv, struct options *o)
{
	int	ch;

	memset(o, 0, sizeof(*o));
	o->buffer_kb = DEFAULT_BUFFER_KB;
	o->user = "nobody";
	o->socket = CONTROL_DEFAULT_PATH;
	o->refresh_ms = IDENT_PERIOD_MS;
	o->keep_ms = IDENT_KEEP_MS;
	filter_init(&o->filter);
	while ((ch = getopt_long(argc, argv, "g:r:w:c:o:B:u:s:nvhV", longopts,
	    NULL)) != -1) {
		if (ch == 'h') {
			usage(stdout);
			return 1;
		}
		if (ch == 'V') {
			printf("bulkhead-capture %s\n", BULKHEAD_VERSION);
			return 1;
		}
		if (parse_opt(o, ch, optarg) == -1)
			return -1;
	}
	if (optind < argc)
		o->bpf = args_join(argv + optind, argc - optind);
	if (o->rfile && o->ngroups) {
		log_warnx("-r and -g exclude each other");
		return -1;
	}
	if (o->ngroups == 0)
		o->groups[o->ngroups++] = DEFAULT_GROUP;
	/* A saved capture is named by the daemon only when asked to. */
	if (o->rfile && !o->socket_set)
		o->numeric = 1;
	if (o->numeric && filter_wants_peers(&o->filter))
		log_warnx("--from/--to by name or selector need container "
		    "names: they match nothing with -n or -r without -s");
	return 0;
}

/* The BPF expression, compiled for raw IP packets (the payloads). */
static int
bpf_init(struct capture *cap, const char *expr)
{
	pcap_t	*dead = pcap_open_dead(DLT_RAW, 65535);
	int	 rc = 0;

	if (dead == NULL)
		return log_warnx("cannot compile filters: out of memory"), -1;
	if (pcap_compile(dead, &cap->bpf, expr, 1, PCAP_NETMASK_UNKNOWN) == -1) {
		log_warnx("bad filter expression \"%s\": %s", expr,
		    pcap_geterr(dead));
		rc = -1;
	} else {
		cap->has_bpf = 1;
	}
	pcap_close(dead);
	return rc;
}

/* Starts the names: the helper that asks bulkheadd, while still root. */
static void
names_init(struct capture *cap)
{
	const struct options	*o = cap->opts;

	if (o->numeric)
		return;
	cap->ids = ident_cache_new(o->keep_ms);
	ident_cache_set_period(cap->ids, o->refresh_ms);
	if ((cap->sf = statusfetch_start(o->socket)) == NULL)
		log_warn("cannot start the status helper");
}

/* The next periodic task, in ms for poll(). */
static int
capture_timeout(const struct capture *cap)
{
	int64_t	t = cap->ids ? IDENT_RETRY_MS : -1, f;

	if (cap->flows) {
		f = cap->flows_next - now_ms();
		f = f < 0 ? 0 : f;
		t = t < 0 || f < t ? f : t;
	}
	return (int)t;
}

/* Live: waits for records, asks bulkheadd for names between them. */
static int
capture_live(struct capture *cap)
{
	struct pollfd	pfd;
	int		r;

	pfd.fd = pcap_get_selectable_fd(cap->pcap);
	pfd.events = POLLIN;
	if (pfd.fd < 0)
		pfd.fd = pcap_fileno(cap->pcap);
	while (!stopping && !cap->done) {
		r = poll(&pfd, 1, capture_timeout(cap));
		if (r == -1 && errno != EINTR) {
			log_warn("%s: poll", __func__);
			return PCAP_ERROR;
		}
		/* Before reading what waited: a late reader meets departed
		 * containers, which the cache keeps for a while. */
		if (cap->ids && ident_cache_due(cap->ids, now_ms(), 0))
			names_refresh(cap);
		if (cap->flows && now_ms() >= cap->flows_next) {
			flows_flush(cap);
			output_flush(cap);
		}
		if (r <= 0)
			continue;
		r = pcap_dispatch(cap->pcap, -1, on_record, (u_char *)cap);
		output_flush(cap);
		if (r == PCAP_ERROR)
			return r;
	}
	return 0;
}

/* bulkheadd's rule counters, at the start (end 0) or the end (end 1). */
static void
counters_snapshot(struct capture *cap, int end)
{
	char	 err[256], *ans = NULL;

	if (!cap->live || cap->sf == NULL ||
	    (end && !account_has_snapshot(cap->acct, 0)))
		return;
	if (statusfetch_get(cap->sf, &ans, err, sizeof(err)) == -1 ||
	    account_snapshot(cap->acct, end, ans, err, sizeof(err)) == -1) {
		if (!cap->counters_warned++)
			log_warnx("no comparison with the kernel's counters: %s",
			    err);
	} else {
		log_debug("kernel counters read at the %s", end ? "end" :
		    "start");
	}
	free(ans);
}

/*
 * At exit: reads the kernel's counters, then the records still in flight
 * (in the socket, or in a kernel batch not handed over yet) until all
 * that the kernel logged by then is received or counted lost, for at
 * most DRAIN_MS.  They are counted, not shown.
 */
static void
capture_drain(struct capture *cap)
{
	struct pollfd	pfd;
	int64_t		until = now_ms() + DRAIN_MS;
	int		left;

	if (!cap->live)
		return;
	counters_snapshot(cap, 1);
	cap->draining = 1;
	pfd.fd = pcap_get_selectable_fd(cap->pcap);
	pfd.events = POLLIN;
	while (!account_settled(cap->acct) && (left = (int)(until -
	    now_ms())) > 0) {
		if (poll(&pfd, 1, left) <= 0)
			continue;
		if (pcap_dispatch(cap->pcap, -1, on_record, (u_char *)cap) ==
		    PCAP_ERROR)
			break;
	}
	check_loss(cap);
}

static void
capture_release(struct capture *cap)
{
	if (cap->dumper)
		pcap_dump_close(cap->dumper);
	if (cap->pcap)
		pcap_close(cap->pcap);
	if (cap->has_bpf)
		pcap_freecode(&cap->bpf);
	statusfetch_stop(cap->sf);
	ident_cache_free(cap->ids);
	flows_free(cap->flows);
	account_free(cap->acct);
}

int
main(int argc, char **argv)
{
	struct options	o;
	struct capture	cap;
	int		rc;

	log_init("bulkhead-capture", 1, 0);
	if ((rc = parse_args(argc, argv, &o)) != 0) {
		if (rc < 0)
			fprintf(stderr, "try: bulkhead-capture --help\n");
		return rc < 0 ? EXIT_USAGE : 0;
	}
	log_setverbose(o.verbose);
	memset(&cap, 0, sizeof(cap));
	cap.opts = &o;
	cap.live = o.rfile == NULL;
	cap.acct = account_new();
	account_groups(cap.acct, o.groups, o.ngroups);
	if (o.bpf && bpf_init(&cap, o.bpf) == -1)
		goto err;
	names_init(&cap);
	cap.pcap = cap.live ? open_live(&o) : open_file(o.rfile);
	if (cap.pcap == NULL)
		goto err;
	/* Right after the socket is bound: the counters' start. */
	counters_snapshot(&cap, 0);
	if (pcap_datalink(cap.pcap) != DLT_NFLOG) {
		log_warnx("%s: link type %s, not NFLOG", o.rfile ? o.rfile : "",
		    pcap_datalink_val_to_name(pcap_datalink(cap.pcap)));
		goto err;
	}
	if (o.wfile && (cap.dumper = pcap_dump_open(cap.pcap, o.wfile)) == NULL) {
		log_warnx("cannot write %s: %s", o.wfile, pcap_geterr(cap.pcap));
		goto err;
	}
	if (drop_privileges(o.user) == -1)
		goto err;
	signals_init(cap.pcap);
	if (cap.ids)
		names_refresh(&cap);
	if (o.flows_ms) {
		cap.flows = flows_new();
		cap.flows_next = now_ms() + o.flows_ms;
	}
	if (cap.live)
		rc = capture_live(&cap);
	else
		rc = pcap_loop(cap.pcap, -1, on_record, (u_char *)&cap);
	if (rc == PCAP_ERROR)
		log_warnx("capture failed: %s", pcap_geterr(cap.pcap));
	check_loss(&cap);
	if (cap.flows && !cap.out_failed)
		flows_flush(&cap);
	output_flush(&cap);
	if (rc != PCAP_ERROR)
		capture_drain(&cap);
	print_summary(&cap);
	capture_release(&cap);
	filter_release(&o.filter);
	free(o.bpf);
	return rc == PCAP_ERROR || cap.out_failed ? 1 : 0;
err:
	capture_release(&cap);
	filter_release(&o.filter);
	free(o.bpf);
	return 1;
}
