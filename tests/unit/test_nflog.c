/*
 * test_nflog.c: the NFLOG decoder on records built here byte by byte
 * (every attribute, IPv4/IPv6, TCP/UDP/SCTP/ICMP/ICMPv6, extension
 * headers, fragments), on every truncation of valid records, on bad
 * attribute lengths, on the attribution prefix, and on a capture recorded
 * from the kernel (tests/fixtures/nflog/sample.pcap, see make-sample.sh),
 * read by a small pcap reader of our own: no libpcap here.
 */
#include <arpa/inet.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <cmocka.h>

#include <linux/netfilter/nfnetlink_log.h>

#include "nflog.h"

/* ---- builders ---- */

struct rb {
	uint8_t	buf[4096];
	size_t	len;
};

/* The nflog header: family, version 0, resource id (group). */
static void
rb_init(struct rb *b, uint8_t family, uint16_t group)
{
	memset(b, 0, sizeof(*b));
	b->buf[0] = family;
	b->buf[1] = 0;
	b->buf[2] = (uint8_t)(group >> 8);
	b->buf[3] = (uint8_t)group;
	b->len = 4;
}

/* One attribute: {len, type} in host order, the value, padding. */
static void
rb_attr(struct rb *b, uint16_t type, const void *val, size_t vlen)
{
	uint16_t	alen = (uint16_t)(4 + vlen);

	assert_true(b->len + ((alen + 3u) & ~3u) <= sizeof(b->buf));
	memcpy(b->buf + b->len, &alen, 2);
	memcpy(b->buf + b->len + 2, &type, 2);
	if (vlen)
		memcpy(b->buf + b->len + 4, val, vlen);
	b->len += (alen + 3u) & ~3u;
}

static void
rb_u32(struct rb *b, uint16_t type, uint32_t v)
{
	uint32_t	be = htonl(v);

	rb_attr(b, type, &be, 4);
}

static void
rb_pkthdr(struct rb *b, uint16_t hw_protocol, uint8_t hook)
{
	struct nfulnl_msg_packet_hdr	h = { htons(hw_protocol), hook, 0 };

	rb_attr(b, NFULA_PACKET_HDR, &h, sizeof(h));
}

static void
rb_prefix(struct rb *b, const char *s)
{
	rb_attr(b, NFULA_PREFIX, s, strlen(s) + 1);
}

static void
put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

/* An IPv4 header of 20 bytes (+ optlen of options) at p; returns its length. */
static size_t
ip4(uint8_t *p, uint8_t proto, const char *src, const char *dst,
    size_t l4len, uint16_t frag, size_t optlen)
{
	size_t	hl = 20 + optlen;

	memset(p, 0, hl);
	p[0] = (uint8_t)(0x40 | hl / 4);
	put16(p + 2, (uint16_t)(hl + l4len));
	put16(p + 6, frag);
	p[8] = 64;
	p[9] = proto;
	if (optlen)
		memset(p + 20, 1, optlen);	/* NOP options */
	assert_int_equal(inet_pton(AF_INET, src, p + 12), 1);
	assert_int_equal(inet_pton(AF_INET, dst, p + 16), 1);
	return hl;
}

static size_t
ip6(uint8_t *p, uint8_t nh, const char *src, const char *dst, size_t plen)
{
	memset(p, 0, 40);
	p[0] = 0x60;
	put16(p + 4, (uint16_t)plen);
	p[6] = nh;
	p[7] = 64;
	assert_int_equal(inet_pton(AF_INET6, src, p + 8), 1);
	assert_int_equal(inet_pton(AF_INET6, dst, p + 24), 1);
	return 40;
}

static size_t
tcp(uint8_t *p, uint16_t sport, uint16_t dport, uint8_t flags)
{
	memset(p, 0, 20);
	put16(p, sport);
	put16(p + 2, dport);
	p[12] = 5 << 4;
	p[13] = flags;
	return 20;
}

static size_t
udp(uint8_t *p, uint16_t sport, uint16_t dport, size_t datalen)
{
	memset(p, 0, 8);
	put16(p, sport);
	put16(p + 2, dport);
	put16(p + 4, (uint16_t)(8 + datalen));
	return 8;
}

static size_t
icmp(uint8_t *p, uint8_t type, uint8_t code)
{
	memset(p, 0, 8);
	p[0] = type;
	p[1] = code;
	put16(p + 4, 0x4242);
	put16(p + 6, 1);
	return 8;
}

/* IPv4 TCP SYN 10.0.0.1:40000 -> 10.0.0.2:5432. */
static size_t
pkt_tcp_syn(uint8_t *p)
{
	size_t	n = ip4(p, IPPROTO_TCP, "10.0.0.1", "10.0.0.2", 20, 0x4000, 0);

	return n + tcp(p + n, 40000, 5432, 0x02);
}

/* IPv6 UDP fd00::1:5353 -> fd00::2:53 behind hop-by-hop and routing headers. */
static size_t
pkt_udp6_ext(uint8_t *p)
{
	size_t	n = ip6(p, IPPROTO_HOPOPTS, "fd00::1", "fd00::2", 8 + 24 + 8 + 4);

	memset(p + n, 0, 8);		/* hop-by-hop, 8 bytes: PadN */
	p[n] = IPPROTO_ROUTING;
	p[n + 2] = 1;
	p[n + 3] = 4;
	n += 8;
	memset(p + n, 0, 24);		/* routing, (2 + 1) * 8 bytes */
	p[n] = IPPROTO_UDP;
	p[n + 1] = 2;
	n += 24;
	n += udp(p + n, 5353, 53, 4);
	memcpy(p + n, "abcd", 4);
	return n + 4;
}

/* The full record around the TCP SYN, with every attribute we know. */
static void
rec_full(struct rb *b)
{
	struct nfulnl_msg_packet_hw		hw;
	struct nfulnl_msg_packet_timestamp	ts;
	uint8_t					pkt[128];
	size_t					n = pkt_tcp_syn(pkt);

	rb_init(b, AF_INET, 100);
	rb_pkthdr(b, 0x0800, 2);
	rb_prefix(b, "bh|D|I|0|db-ingress");
	rb_u32(b, NFULA_IFINDEX_INDEV, 3);
	rb_u32(b, NFULA_IFINDEX_OUTDEV, 4);
	rb_u32(b, NFULA_IFINDEX_PHYSINDEV, 7);
	rb_u32(b, NFULA_IFINDEX_PHYSOUTDEV, 8);
	rb_u32(b, NFULA_MARK, 0x00420000);
	memset(&hw, 0, sizeof(hw));
	hw.hw_addrlen = htons(6);
	memcpy(hw.hw_addr, "\x02\x42\xac\x11\x00\x02", 6);
	rb_attr(b, NFULA_HWADDR, &hw, sizeof(hw));
	ts.sec = htobe64(1700000000);
	ts.usec = htobe64(123456);
	rb_attr(b, NFULA_TIMESTAMP, &ts, sizeof(ts));
	rb_u32(b, NFULA_UID, 1000);
	rb_u32(b, NFULA_GID, 1001);
	rb_attr(b, 99, "unknown", 7);		/* skipped */
	rb_u32(b, NFULA_SEQ, 5);		/* known, not needed: skipped */
	rb_attr(b, NFULA_PAYLOAD, pkt, n);
}

/* A copy of exactly n bytes, so that ASan sees any read past the end. */
static uint8_t *
dup_exact(const uint8_t *p, size_t n)
{
	uint8_t	*c = malloc(n ? n : 1);

	assert_non_null(c);
	if (n)
		memcpy(c, p, n);
	return c;
}

static void
assert_addr(int family, const void *got, const char *want)
{
	char	buf[INET6_ADDRSTRLEN];

	assert_non_null(inet_ntop(family, got, buf, sizeof(buf)));
	assert_string_equal(buf, want);
}

/* ---- records ---- */

static void
test_tcp_syn_ipv4(void **state)
{
	struct rb		b;
	struct nflog_rec	r;
	struct pkt_info		pi;

	rec_full(&b);
	assert_int_equal(nflog_decode(b.buf, b.len, &r), 0);
	assert_int_equal(r.family, AF_INET);
	assert_int_equal(r.hw_protocol, 0x0800);
	assert_true(r.has_prefix);
	assert_string_equal(r.prefix, "bh|D|I|0|db-ingress");
	assert_int_equal(r.indev, 3);
	assert_int_equal(r.outdev, 4);
	assert_int_equal(r.physindev, 7);
	assert_int_equal(r.physoutdev, 8);
	assert_true(r.has_mark);
	assert_int_equal(r.mark, 0x00420000);
	assert_true(r.has_ts);
	assert_int_equal(r.ts_sec, 1700000000);
	assert_int_equal(r.ts_usec, 123456);
	assert_true(r.has_uid && r.has_gid);
	assert_int_equal(r.uid, 1000);
	assert_int_equal(r.gid, 1001);
	assert_true(r.has_hwaddr);
	assert_int_equal(r.hwaddr_len, 6);
	assert_memory_equal(r.hwaddr, "\x02\x42\xac\x11\x00\x02", 6);
	assert_non_null(r.payload);
	assert_int_equal(r.payload_len, 40);

	assert_int_equal(nflog_decode_packet(r.payload, r.payload_len,
	    AF_INET, &pi), 0);
	assert_int_equal(pi.family, AF_INET);
	assert_int_equal(pi.proto, IPPROTO_TCP);
	assert_addr(AF_INET, &pi.src.v4, "10.0.0.1");
	assert_addr(AF_INET, &pi.dst.v4, "10.0.0.2");
	assert_true(pi.has_ports);
	assert_int_equal(pi.sport, 40000);
	assert_int_equal(pi.dport, 5432);
	assert_int_equal(pi.tcp_flags, 0x02);
	assert_false(pi.has_icmp);
	assert_false(pi.fragment);
}

static void
test_minimal_record(void **state)
{
	struct rb		b;
	struct nflog_rec	r;

	rb_init(&b, AF_INET6, 5);
	assert_int_equal(nflog_decode(b.buf, b.len, &r), 0);
	assert_int_equal(r.family, AF_INET6);
	assert_false(r.has_prefix || r.has_mark || r.has_ts || r.has_uid);
	assert_null(r.payload);
	assert_int_equal(r.indev, 0);
}

/* NFULA_SEQ and NFULA_SEQ_GLOBAL (the listener asked for numbers). */
static void
test_seq(void **state)
{
	struct rb		b;
	struct nflog_rec	r;
	uint16_t		two = 0;

	rb_init(&b, AF_INET, 100);
	rb_u32(&b, NFULA_SEQ, 0xfffffffeu);
	rb_u32(&b, NFULA_SEQ_GLOBAL, 77);
	assert_int_equal(nflog_decode(b.buf, b.len, &r), 0);
	assert_true(r.has_seq && r.has_seq_global);
	assert_int_equal(r.seq, 0xfffffffeu);
	assert_int_equal(r.seq_global, 77);
	/* Absent: not set. */
	rb_init(&b, AF_INET, 100);
	assert_int_equal(nflog_decode(b.buf, b.len, &r), 0);
	assert_false(r.has_seq || r.has_seq_global);
	/* Too short: malformed. */
	rb_init(&b, AF_INET, 100);
	rb_attr(&b, NFULA_SEQ, &two, sizeof(two));
	assert_int_equal(nflog_decode(b.buf, b.len, &r), -1);
}

static void
test_udp_ipv6_ext(void **state)
{
	struct rb		b;
	struct nflog_rec	r;
	struct pkt_info		pi;
	uint8_t			pkt[256];
	size_t			n = pkt_udp6_ext(pkt);

	rb_init(&b, AF_INET6, 100);
	rb_pkthdr(&b, 0x86dd, 1);
	rb_prefix(&b, "bh|A|E|*|api");
	rb_attr(&b, NFULA_PAYLOAD, pkt, n);
	assert_int_equal(nflog_decode(b.buf, b.len, &r), 0);
	assert_int_equal(r.hw_protocol, 0x86dd);
	assert_int_equal(nflog_decode_packet(r.payload, r.payload_len,
	    AF_INET6, &pi), 0);
	assert_int_equal(pi.family, AF_INET6);
	assert_int_equal(pi.proto, IPPROTO_UDP);
	assert_addr(AF_INET6, &pi.src.v6, "fd00::1");
	assert_addr(AF_INET6, &pi.dst.v6, "fd00::2");
	assert_true(pi.has_ports);
	assert_int_equal(pi.sport, 5353);
	assert_int_equal(pi.dport, 53);
	assert_false(pi.fragment);

	/* An extension header whose length runs past the packet. */
	pkt[40 + 8 + 1] = 200;
	assert_int_equal(nflog_decode_packet(pkt, n, AF_INET6, &pi), 0);
	assert_int_equal(pi.proto, IPPROTO_ROUTING);
	assert_false(pi.has_ports);
}

static void
test_sctp_and_ah(void **state)
{
	uint8_t		pkt[256];
	struct pkt_info	pi;
	size_t		n;

	/* IPv4 with options, SCTP. */
	n = ip4(pkt, IPPROTO_SCTP, "192.0.2.1", "192.0.2.2", 12, 0, 8);
	assert_int_equal(n, 28);
	memset(pkt + n, 0, 12);
	put16(pkt + n, 2905);
	put16(pkt + n + 2, 3868);
	assert_int_equal(nflog_decode_packet(pkt, n + 12, AF_INET, &pi), 0);
	assert_int_equal(pi.proto, IPPROTO_SCTP);
	assert_true(pi.has_ports);
	assert_int_equal(pi.sport, 2905);
	assert_int_equal(pi.dport, 3868);

	/* IPv6, AH (payload length 4 -> (4 + 2) * 4 = 24 bytes), TCP. */
	n = ip6(pkt, IPPROTO_AH, "2001:db8::1", "2001:db8::2", 24 + 20);
	memset(pkt + n, 0, 24);
	pkt[n] = IPPROTO_TCP;
	pkt[n + 1] = 4;
	n += 24;
	n += tcp(pkt + n, 1234, 443, 0x12);
	assert_int_equal(nflog_decode_packet(pkt, n, AF_INET6, &pi), 0);
	assert_int_equal(pi.proto, IPPROTO_TCP);
	assert_int_equal(pi.dport, 443);
	assert_int_equal(pi.tcp_flags, 0x12);
}

static void
test_icmp_echo(void **state)
{
	struct rb		b;
	struct nflog_rec	r;
	struct pkt_info		pi;
	uint8_t			pkt[64];
	size_t			n;

	n = ip4(pkt, IPPROTO_ICMP, "172.17.0.3", "172.17.0.2", 8, 0, 0);
	n += icmp(pkt + n, 8, 0);
	rb_init(&b, AF_INET, 100);
	rb_pkthdr(&b, 0x0800, 3);
	rb_prefix(&b, "bh|D|E|2|web");
	rb_attr(&b, NFULA_PAYLOAD, pkt, n);
	assert_int_equal(nflog_decode(b.buf, b.len, &r), 0);
	assert_int_equal(nflog_decode_packet(r.payload, r.payload_len,
	    AF_INET, &pi), 0);
	assert_int_equal(pi.proto, IPPROTO_ICMP);
	assert_true(pi.has_icmp);
	assert_int_equal(pi.icmp_type, 8);
	assert_int_equal(pi.icmp_code, 0);
	assert_false(pi.has_ports);
	assert_int_equal(pi.tcp_flags, 0);
}

static void
test_icmpv6_behind_first_fragment(void **state)
{
	uint8_t		pkt[128];
	struct pkt_info	pi;
	size_t		n;

	/* A first fragment (offset 0, M set) still carries the ICMPv6 header. */
	n = ip6(pkt, IPPROTO_FRAGMENT, "fe80::1", "ff02::1", 8 + 8);
	memset(pkt + n, 0, 8);
	pkt[n] = IPPROTO_ICMPV6;
	put16(pkt + n + 2, 0x0001);
	n += 8;
	n += icmp(pkt + n, 135, 0);
	assert_int_equal(nflog_decode_packet(pkt, n, AF_INET6, &pi), 0);
	assert_int_equal(pi.proto, IPPROTO_ICMPV6);
	assert_false(pi.fragment);
	assert_true(pi.has_icmp);
	assert_int_equal(pi.icmp_type, 135);

	/* Plain echo request. */
	n = ip6(pkt, IPPROTO_ICMPV6, "::1", "::1", 8);
	n += icmp(pkt + n, 128, 0);
	assert_int_equal(nflog_decode_packet(pkt, n, AF_INET6, &pi), 0);
	assert_int_equal(pi.icmp_type, 128);
	assert_int_equal(pi.icmp_code, 0);
}

static void
test_fragments(void **state)
{
	uint8_t		pkt[128];
	struct pkt_info	pi;
	size_t		n;

	/* IPv4, offset 185 * 8: what follows the header is data, not UDP. */
	n = ip4(pkt, IPPROTO_UDP, "10.1.1.1", "10.1.1.2", 16, 185, 0);
	memset(pkt + n, 0xee, 16);
	assert_int_equal(nflog_decode_packet(pkt, n + 16, AF_INET, &pi), 0);
	assert_true(pi.fragment);
	assert_int_equal(pi.proto, IPPROTO_UDP);
	assert_false(pi.has_ports);
	assert_addr(AF_INET, &pi.dst.v4, "10.1.1.2");

	/* IPv4 first fragment (MF, offset 0): ports are there. */
	n = ip4(pkt, IPPROTO_UDP, "10.1.1.1", "10.1.1.2", 8, 0x2000, 0);
	n += udp(pkt + n, 1000, 2000, 0);
	assert_int_equal(nflog_decode_packet(pkt, n, AF_INET, &pi), 0);
	assert_false(pi.fragment);
	assert_int_equal(pi.dport, 2000);

	/* IPv6, fragment header with offset 1448. */
	n = ip6(pkt, IPPROTO_FRAGMENT, "fd00::1", "fd00::2", 8 + 16);
	memset(pkt + n, 0, 8);
	pkt[n] = IPPROTO_TCP;
	put16(pkt + n + 2, 1448);
	n += 8;
	memset(pkt + n, 0xee, 16);
	assert_int_equal(nflog_decode_packet(pkt, n + 16, AF_INET6, &pi), 0);
	assert_true(pi.fragment);
	assert_int_equal(pi.proto, IPPROTO_TCP);
	assert_false(pi.has_ports);
}

static void
test_bad_ip(void **state)
{
	uint8_t		pkt[128], p6[128];
	struct pkt_info	pi;
	size_t		n = pkt_tcp_syn(pkt), n6;

	n6 = ip6(p6, IPPROTO_UDP, "::1", "::2", 8);
	n6 += udp(p6 + n6, 1, 2, 0);
	assert_int_equal(nflog_decode_packet(NULL, 0, AF_INET, &pi), -1);
	assert_int_equal(nflog_decode_packet(pkt, n, AF_INET6, &pi), -1);
	assert_int_equal(nflog_decode_packet(p6, n6, AF_INET, &pi), -1);
	assert_int_equal(nflog_decode_packet(pkt, n, AF_UNIX, &pi), -1);
	assert_int_equal(pi.family, 0);
	pkt[0] = 0x44;				/* IHL 4 < 5 */
	assert_int_equal(nflog_decode_packet(pkt, n, AF_INET, &pi), -1);
	pkt[0] = 0x4f;				/* IHL 15: 60 > 40 bytes */
	assert_int_equal(nflog_decode_packet(pkt, n, AF_INET, &pi), -1);
	pkt[0] = 0x45;
	put16(pkt + 2, 19);			/* total length < header */
	assert_int_equal(nflog_decode_packet(pkt, n, AF_INET, &pi), -1);
	put16(pkt + 2, 22);			/* total length cuts TCP */
	assert_int_equal(nflog_decode_packet(pkt, n, AF_INET, &pi), 0);
	assert_false(pi.has_ports);
	put16(pkt + 2, 0);			/* GSO: the captured length */
	assert_int_equal(nflog_decode_packet(pkt, n, AF_INET, &pi), 0);
	assert_int_equal(pi.dport, 5432);
}

/*
 * Every prefix of valid records: decoding must not read past the end,
 * and whatever it reports must lie within the bytes it was given.
 */
static void
check_truncations(const uint8_t *rec, size_t len)
{
	size_t	n;
	int	ok = 0;

	for (n = 0; n <= len; n++) {
		uint8_t			*c = dup_exact(rec, n);
		struct nflog_rec	 r;
		struct pkt_info		 pi;

		if (nflog_decode(c, n, &r) == 0) {
			ok++;
			if (r.payload) {
				assert_true(r.payload >= c + 4);
				assert_true(r.payload + r.payload_len <= c + n);
				if (nflog_decode_packet(r.payload,
				    r.payload_len, r.family, &pi) == 0)
					assert_int_equal(pi.family, r.family);
			}
		} else {
			assert_null(r.payload);
			assert_false(r.has_prefix);
		}
		free(c);
	}
	assert_true(ok >= 2);	/* the header alone, and the whole record */
}

static void
test_truncated_records(void **state)
{
	struct rb	b;
	uint8_t		pkt[256];
	size_t		n;

	rec_full(&b);
	check_truncations(b.buf, b.len);
	rb_init(&b, AF_INET6, 1);
	n = pkt_udp6_ext(pkt);
	rb_attr(&b, NFULA_PAYLOAD, pkt, n);
	check_truncations(b.buf, b.len);
}

static void
test_truncated_packets(void **state)
{
	uint8_t		pkt[256];
	size_t		n, len, i;
	int		fam;

	for (i = 0; i < 2; i++) {
		fam = i == 0 ? AF_INET : AF_INET6;
		len = i == 0 ? pkt_tcp_syn(pkt) : pkt_udp6_ext(pkt);
		for (n = 0; n <= len; n++) {
			uint8_t		*c = dup_exact(pkt, n);
			struct pkt_info	 pi;
			int		 rc = nflog_decode_packet(c, n, fam, &pi);

			/* The IP header must be whole; then the ports come
			 * exactly when their 4 bytes are there. */
			assert_int_equal(rc, n < (i == 0 ? 20u : 40u) ? -1 : 0);
			if (rc == 0 && i == 0)
				assert_int_equal(pi.has_ports, n >= 24);
			if (rc == 0 && i == 1)
				assert_int_equal(pi.has_ports, n >= 40 + 32 + 4);
			free(c);
		}
	}
}

static void
test_bad_tlv_lengths(void **state)
{
	struct rb		b;
	struct nflog_rec	r;
	uint16_t		v;
	uint8_t			two[2] = { 1, 2 }, eight[8] = { 0 };

	assert_int_equal(nflog_decode(NULL, 0, &r), -1);
	rb_init(&b, AF_INET, 1);
	assert_int_equal(nflog_decode(b.buf, 3, &r), -1);
	b.buf[1] = 1;				/* version 1 */
	assert_int_equal(nflog_decode(b.buf, b.len, &r), -1);

	/* Attribute length 0, 3 (below its own header), past the end. */
	for (v = 0; v < 4; v++) {
		rb_init(&b, AF_INET, 1);
		rb_u32(&b, NFULA_MARK, 1);
		memcpy(b.buf + 4, &v, 2);
		assert_int_equal(nflog_decode(b.buf, b.len, &r), -1);
	}
	rb_init(&b, AF_INET, 1);
	rb_u32(&b, NFULA_MARK, 1);
	v = 9;
	memcpy(b.buf + 4, &v, 2);
	assert_int_equal(nflog_decode(b.buf, b.len, &r), -1);

	/* Known attributes too short for their value. */
	rb_init(&b, AF_INET, 1);
	rb_attr(&b, NFULA_MARK, two, 2);
	assert_int_equal(nflog_decode(b.buf, b.len, &r), -1);
	rb_init(&b, AF_INET, 1);
	rb_attr(&b, NFULA_TIMESTAMP, eight, 8);
	assert_int_equal(nflog_decode(b.buf, b.len, &r), -1);
	rb_init(&b, AF_INET, 1);
	rb_attr(&b, NFULA_HWADDR, eight, 8);
	assert_int_equal(nflog_decode(b.buf, b.len, &r), -1);
	rb_init(&b, AF_INET, 1);
	rb_attr(&b, NFULA_PACKET_HDR, two, 2);
	assert_int_equal(nflog_decode(b.buf, b.len, &r), -1);
	rb_init(&b, AF_INET, 1);
	rb_attr(&b, NFULA_IFINDEX_PHYSINDEV, two, 2);
	assert_int_equal(nflog_decode(b.buf, b.len, &r), -1);

	/* Stray bytes after the last attribute. */
	rb_init(&b, AF_INET, 1);
	rb_u32(&b, NFULA_MARK, 1);
	assert_int_equal(nflog_decode(b.buf, b.len + 2, &r), -1);

	/* The last attribute without its padding is fine. */
	rb_init(&b, AF_INET, 1);
	rb_attr(&b, NFULA_PAYLOAD, "abcde", 5);
	assert_int_equal(b.len, 16);
	assert_int_equal(nflog_decode(b.buf, 13, &r), 0);
	assert_int_equal(r.payload_len, 5);

	/* Flags in the type's top bits; a prefix without its NUL; a long one. */
	rb_init(&b, AF_INET, 1);
	rb_u32(&b, NFULA_MARK | 0x4000, 77);
	rb_attr(&b, NFULA_PREFIX, "bh|D|I|0|x", 10);
	assert_int_equal(nflog_decode(b.buf, b.len, &r), 0);
	assert_int_equal(r.mark, 77);
	assert_string_equal(r.prefix, "bh|D|I|0|x");
	{
		char	longp[300];

		memset(longp, 'p', sizeof(longp));
		rb_init(&b, AF_INET, 1);
		rb_attr(&b, NFULA_PREFIX, longp, sizeof(longp));
		assert_int_equal(nflog_decode(b.buf, b.len, &r), 0);
		assert_int_equal(strlen(r.prefix), sizeof(r.prefix) - 1);
	}
	/* An oversized hardware address length is clamped. */
	{
		struct nfulnl_msg_packet_hw	hw;

		memset(&hw, 0, sizeof(hw));
		hw.hw_addrlen = htons(300);
		rb_init(&b, AF_INET, 1);
		rb_attr(&b, NFULA_HWADDR, &hw, sizeof(hw));
		assert_int_equal(nflog_decode(b.buf, b.len, &r), 0);
		assert_int_equal(r.hwaddr_len, 8);
	}
}

/* ---- prefix ---- */

static void
test_prefix_ours(void **state)
{
	struct bh_prefix	p;

	assert_int_equal(nflog_parse_prefix("bh|D|I|0|db-ingress", &p), 0);
	assert_int_equal(p.verdict, 'D');
	assert_int_equal(p.dir, 'I');
	assert_int_equal(p.rule, 0);
	assert_string_equal(p.policy, "db-ingress");
	assert_int_equal(nflog_parse_prefix("bh|A|E|*|db-no-egress", &p), 0);
	assert_int_equal(p.verdict, 'A');
	assert_int_equal(p.dir, 'E');
	assert_int_equal(p.rule, -1);
	assert_string_equal(p.policy, "db-no-egress");
	assert_int_equal(nflog_parse_prefix("bh|S|I|12|guard", &p), 0);
	assert_int_equal(p.verdict, 'S');
	assert_int_equal(p.rule, 12);
	assert_int_equal(nflog_parse_prefix("bh|L|E|3|a|b", &p), 0);
	assert_int_equal(p.verdict, 'L');
	assert_string_equal(p.policy, "a|b");
	/* bulkhead quarantine's prefix. */
	assert_int_equal(nflog_parse_prefix("bh|Q|E|*|quarantine", &p), 0);
	assert_int_equal(p.verdict, 'Q');
	assert_int_equal(p.dir, 'E');
	assert_int_equal(p.rule, -1);
	assert_string_equal(p.policy, "quarantine");
}

static void
test_prefix_bad(void **state)
{
	static const char *const bad[] = {
		"", "b", "bh", "bh|", "bh|D", "bh|D|", "bh|D|I", "bh|D|I|",
		"bh|D|I|0", "bh|D|I|0|", "bh|X|I|0|p", "bh|D|X|0|p",
		"bh|d|i|0|p", "bh|D|I||p", "bh|D|I|x|p", "bh|D|I|-1|p",
		"bh|D|I|1234567890|p", "bh|D|I|**|p", "bh|DD|I|0|p",
		"BH|D|I|0|p", "DROP: ", "IN=eth0 OUT=", " bh|D|I|0|p",
	};
	struct bh_prefix	p;
	size_t			i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memset(&p, 0x55, sizeof(p));
		if (nflog_parse_prefix(bad[i], &p) != -1)
			fail_msg("accepted \"%s\"", bad[i]);
		assert_int_equal(p.verdict, 0);
		assert_int_equal(p.dir, 0);
	}
	assert_int_equal(nflog_parse_prefix(NULL, &p), -1);
	assert_int_equal(p.verdict, 0);
}

static void
test_prefix_long_policy(void **state)
{
	char			s[300];
	struct bh_prefix	p;

	snprintf(s, sizeof(s), "bh|D|E|123456789|");
	memset(s + strlen(s), 'n', 200);
	s[17 + 200] = '\0';
	assert_int_equal(nflog_parse_prefix(s, &p), 0);
	assert_int_equal(p.rule, 123456789);
	assert_int_equal(strlen(p.policy), sizeof(p.policy) - 1);
}

/* ---- a capture recorded from the kernel ---- */

struct pcap_rec {
	const uint8_t	*data;
	size_t		 len;
};

static uint32_t
le32(const uint8_t *p)
{
	uint32_t	v;

	memcpy(&v, p, 4);
	return v;
}

static uint8_t *
slurp(size_t *len)
{
	static const char *const paths[] = {
		"tests/fixtures/nflog/sample.pcap",
		"../tests/fixtures/nflog/sample.pcap",
		"../../tests/fixtures/nflog/sample.pcap",
	};
	FILE	*f = NULL;
	uint8_t	*buf;
	size_t	 i;

	for (i = 0; i < sizeof(paths) / sizeof(paths[0]) && f == NULL; i++)
		f = fopen(paths[i], "rb");
	if (f == NULL)
		fail_msg("sample.pcap not found: run from the top of the tree");
	buf = malloc(1 << 16);
	assert_non_null(buf);
	*len = fread(buf, 1, 1 << 16, f);
	fclose(f);
	return buf;
}

/*
 * Splits a pcap file written on this host (host byte order, either
 * timestamp resolution) into its records; returns how many.
 */
static size_t
pcap_split(const uint8_t *buf, size_t len, struct pcap_rec *recs, size_t max)
{
	size_t	off = 24, n = 0;

	assert_true(len >= 24);
	assert_true(le32(buf) == 0xa1b2c3d4 || le32(buf) == 0xa1b23c4d);
	assert_int_equal(le32(buf + 20), 239);		/* LINKTYPE_NFLOG */
	while (len - off >= 16 && n < max) {
		uint32_t	incl = le32(buf + off + 8);

		assert_true(incl <= len - off - 16);
		recs[n].data = buf + off + 16;
		recs[n].len = incl;
		n++;
		off += 16 + incl;
	}
	assert_int_equal(off, len);
	return n;
}

struct expect {
	int		 family;
	uint8_t		 proto;
	const char	*dst;
	int		 dport;		/* -1: ICMP */
	int		 icmp_type;
	const char	*prefix;
};

static const struct expect sample[] = {
	{ AF_INET, IPPROTO_TCP, "127.0.0.2", 80, -1, "bh|D|I|0|fixture" },
	{ AF_INET, IPPROTO_UDP, "127.0.0.2", 53, -1, "bh|D|I|0|fixture" },
	{ AF_INET6, IPPROTO_TCP, "::1", 9999, -1, "bh|A|E|*|fixture6" },
	{ AF_INET, IPPROTO_ICMP, "127.0.0.2", -1, 8, "bh|D|I|0|fixture" },
	{ AF_INET6, IPPROTO_UDP, "::1", 9999, -1, "bh|A|E|*|fixture6" },
	{ AF_INET6, IPPROTO_ICMPV6, "::1", -1, 128, "bh|A|E|*|fixture6" },
};

static void
check_sample(const struct pcap_rec *pr, const struct expect *e)
{
	uint8_t			*c = dup_exact(pr->data, pr->len);
	struct nflog_rec	 r;
	struct pkt_info		 pi;
	struct bh_prefix	 bp;

	assert_int_equal(nflog_decode(c, pr->len, &r), 0);
	assert_int_equal((c[2] << 8) | c[3], 77);	/* the group */
	assert_int_equal(r.family, e->family);
	assert_int_equal(r.hw_protocol, e->family == AF_INET ? 0x0800 : 0x86dd);
	assert_string_equal(r.prefix, e->prefix);
	assert_int_equal(r.outdev, 1);			/* lo */
	assert_true(r.has_uid);
	assert_int_equal(r.uid, 0);
	assert_int_equal(nflog_decode_packet(r.payload, r.payload_len,
	    r.family, &pi), 0);
	assert_int_equal(pi.proto, e->proto);
	assert_addr(e->family, &pi.dst, e->dst);
	assert_addr(e->family, &pi.src, e->family == AF_INET ? "127.0.0.1" :
	    "::1");
	if (e->dport >= 0) {
		assert_true(pi.has_ports);
		assert_int_equal(pi.dport, e->dport);
		assert_true(pi.sport >= 1024);
	} else {
		assert_true(pi.has_icmp);
		assert_int_equal(pi.icmp_type, e->icmp_type);
		assert_int_equal(pi.icmp_code, 0);
	}
	if (e->proto == IPPROTO_TCP)
		assert_int_equal(pi.tcp_flags, 0x02);	/* SYN */
	assert_int_equal(nflog_parse_prefix(r.prefix, &bp), 0);
	assert_int_equal(bp.rule, e->family == AF_INET ? 0 : -1);
	free(c);
}

static void
test_fixture_sample(void **state)
{
	struct pcap_rec		 recs[16] = { { NULL, 0 } };
	struct nflog_rec	 r;
	size_t			 len, n, i;
	uint8_t			*buf = slurp(&len);

	n = pcap_split(buf, len, recs, 16);
	assert_int_equal(n, sizeof(sample) / sizeof(sample[0]));
	for (i = 0; i < n; i++)
		check_sample(&recs[i], &sample[i]);
	/* The UDP over IPv6 went out behind a destination options header. */
	assert_int_equal(nflog_decode(recs[4].data, recs[4].len, &r), 0);
	assert_true(r.payload_len > 40);
	assert_int_equal(r.payload[6], IPPROTO_DSTOPTS);
	for (i = 0; i < n; i++)
		check_truncations(recs[i].data, recs[i].len);
	free(buf);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tcp_syn_ipv4),
		cmocka_unit_test(test_minimal_record),
		cmocka_unit_test(test_seq),
		cmocka_unit_test(test_udp_ipv6_ext),
		cmocka_unit_test(test_sctp_and_ah),
		cmocka_unit_test(test_icmp_echo),
		cmocka_unit_test(test_icmpv6_behind_first_fragment),
		cmocka_unit_test(test_fragments),
		cmocka_unit_test(test_bad_ip),
		cmocka_unit_test(test_truncated_records),
		cmocka_unit_test(test_truncated_packets),
		cmocka_unit_test(test_bad_tlv_lengths),
		cmocka_unit_test(test_prefix_ours),
		cmocka_unit_test(test_prefix_bad),
		cmocka_unit_test(test_prefix_long_policy),
		cmocka_unit_test(test_fixture_sample),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
