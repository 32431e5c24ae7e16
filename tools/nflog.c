/*
 * nflog.c: decoder of NFLOG records as libpcap delivers them (DLT_NFLOG),
 * of the IPv4/IPv6 packet they carry, and parser of bulkhead's attribution
 * prefix.  Pure: no allocation, no I/O, no libpcap.  Every length is
 * checked before the bytes it covers are read; the input is untrusted
 * (a capture file may come from anywhere).
 *
 * Record layout: a 4-byte header (u8 family, u8 version, u16 resource id
 * in network order), then netlink attributes {u16 len, u16 type} in host
 * byte order, each padded to 4 bytes.  The values netfilter fills in are
 * in network byte order.
 */
#include <arpa/inet.h>
#include <string.h>
#include <sys/socket.h>

#include <linux/netfilter/nfnetlink_log.h>

#include "nflog.h"

#define NFLOG_HDRLEN		4
#define NFLOG_ATTRHDRLEN	4
#define NFLOG_ALIGN(n)		(((n) + 3) & ~(size_t)3)
/* The type without NLA_F_NESTED and NLA_F_NET_BYTEORDER. */
#define NFLOG_TYPEMASK		0x3fff

#define IP4_HDRMIN		20
#define IP6_HDRLEN		40
#define IP4_OFFMASK		0x1fff
#define IP6_OFFMASK		0xfff8
#define TCP_FLAGS_OFF		13

/* IPv6 extension headers netinet/in.h does not name. */
#define NFLOG_IPPROTO_HIP	139
#define NFLOG_IPPROTO_SHIM6	140

static uint16_t
get_be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t
get_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	    (uint32_t)p[2] << 8 | p[3];
}

static uint64_t
get_be64(const uint8_t *p)
{
	return (uint64_t)get_be32(p) << 32 | get_be32(p + 4);
}

static uint16_t
get_h16(const uint8_t *p)
{
	uint16_t	v;

	memcpy(&v, p, sizeof(v));
	return v;
}

/* A u32 attribute in network order; -1 when too short. */
static int
attr_u32(const uint8_t *val, size_t vlen, uint32_t *out)
{
	if (vlen < 4)
		return -1;
	*out = get_be32(val);
	return 0;
}

static void
attr_prefix(struct nflog_rec *r, const uint8_t *val, size_t vlen)
{
	size_t	n = strnlen((const char *)val, vlen);

	if (n >= sizeof(r->prefix))
		n = sizeof(r->prefix) - 1;
	memcpy(r->prefix, val, n);
	r->prefix[n] = '\0';
	r->has_prefix = 1;
}

static int
attr_hwaddr(struct nflog_rec *r, const uint8_t *val, size_t vlen)
{
	struct nfulnl_msg_packet_hw	hw;
	uint16_t			n;

	if (vlen < sizeof(hw))
		return -1;
	memcpy(&hw, val, sizeof(hw));
	n = ntohs(hw.hw_addrlen);
	r->hwaddr_len = n < sizeof(r->hwaddr) ? n : sizeof(r->hwaddr);
	memcpy(r->hwaddr, hw.hw_addr, sizeof(r->hwaddr));
	r->has_hwaddr = 1;
	return 0;
}

static int
attr_timestamp(struct nflog_rec *r, const uint8_t *val, size_t vlen)
{
	if (vlen < 16)
		return -1;
	r->ts_sec = get_be64(val);
	r->ts_usec = get_be64(val + 8);
	r->has_ts = 1;
	return 0;
}

/* Stores one attribute; -1 when a known attribute is too short. */
static int
nflog_attr(struct nflog_rec *r, uint16_t type, const uint8_t *val,
    size_t vlen)
{
	switch (type) {
	case NFULA_PACKET_HDR:
		if (vlen < sizeof(struct nfulnl_msg_packet_hdr))
			return -1;
		r->hw_protocol = get_be16(val);
		return 0;
	case NFULA_MARK:
		r->has_mark = 1;
		return attr_u32(val, vlen, &r->mark);
	case NFULA_TIMESTAMP:
		return attr_timestamp(r, val, vlen);
	case NFULA_IFINDEX_INDEV:
		return attr_u32(val, vlen, &r->indev);
	case NFULA_IFINDEX_OUTDEV:
		return attr_u32(val, vlen, &r->outdev);
	case NFULA_IFINDEX_PHYSINDEV:
		return attr_u32(val, vlen, &r->physindev);
	case NFULA_IFINDEX_PHYSOUTDEV:
		return attr_u32(val, vlen, &r->physoutdev);
	case NFULA_HWADDR:
		return attr_hwaddr(r, val, vlen);
	case NFULA_PAYLOAD:
		r->payload = val;
		r->payload_len = vlen;
		return 0;
	case NFULA_PREFIX:
		attr_prefix(r, val, vlen);
		return 0;
	case NFULA_UID:
		r->has_uid = 1;
		return attr_u32(val, vlen, &r->uid);
	case NFULA_GID:
		r->has_gid = 1;
		return attr_u32(val, vlen, &r->gid);
	case NFULA_SEQ:
		r->has_seq = 1;
		return attr_u32(val, vlen, &r->seq);
	case NFULA_SEQ_GLOBAL:
		r->has_seq_global = 1;
		return attr_u32(val, vlen, &r->seq_global);
	default:
		return 0;	/* unknown or not needed: skipped */
	}
}

int
nflog_decode(const uint8_t *buf, size_t len, struct nflog_rec *out)
{
	size_t	off = NFLOG_HDRLEN;

	memset(out, 0, sizeof(*out));
	if (buf == NULL || len < NFLOG_HDRLEN || buf[1] != 0)
		return -1;
	out->family = buf[0];
	while (len - off >= NFLOG_ATTRHDRLEN) {
		uint16_t	alen = get_h16(buf + off);
		uint16_t	type = get_h16(buf + off + 2) & NFLOG_TYPEMASK;
		size_t		step;

		if (alen < NFLOG_ATTRHDRLEN || alen > len - off)
			goto bad;
		if (nflog_attr(out, type, buf + off + NFLOG_ATTRHDRLEN,
		    alen - NFLOG_ATTRHDRLEN) == -1)
			goto bad;
		/* The last attribute may lack its padding. */
		step = NFLOG_ALIGN((size_t)alen);
		off = step > len - off ? len : off + step;
	}
	if (off != len)
		goto bad;	/* 1 to 3 stray bytes: a cut attribute header */
	return 0;
bad:
	memset(out, 0, sizeof(*out));
	return -1;
}

/* Ports, flags, ICMP type: only the fields the captured bytes hold. */
static int
decode_l4(const uint8_t *p, size_t n, struct pkt_info *out)
{
	switch (out->proto) {
	case IPPROTO_TCP:
		if (n > TCP_FLAGS_OFF)
			out->tcp_flags = p[TCP_FLAGS_OFF];
		/* FALLTHROUGH */
	case IPPROTO_UDP:
	case IPPROTO_UDPLITE:
	case IPPROTO_SCTP:
	case IPPROTO_DCCP:
		if (n >= 4) {
			out->sport = get_be16(p);
			out->dport = get_be16(p + 2);
			out->has_ports = 1;
		}
		break;
	case IPPROTO_ICMP:
	case IPPROTO_ICMPV6:
		if (n >= 2) {
			out->icmp_type = p[0];
			out->icmp_code = p[1];
			out->has_icmp = 1;
		}
		break;
	}
	return 0;
}

static int
decode_ip4(const uint8_t *buf, size_t len, struct pkt_info *out)
{
	size_t	hl, tot;

	if (len < IP4_HDRMIN || buf[0] >> 4 != 4)
		return -1;
	hl = (size_t)(buf[0] & 0x0f) * 4;
	tot = get_be16(buf + 2);
	if (hl < IP4_HDRMIN || hl > len)
		return -1;
	if (tot != 0 && tot < hl)
		return -1;
	if (tot != 0 && tot < len)	/* 0: a GSO packet over 64 KiB */
		len = tot;
	out->family = AF_INET;
	out->proto = buf[9];
	memcpy(&out->src.v4, buf + 12, 4);
	memcpy(&out->dst.v4, buf + 16, 4);
	if (get_be16(buf + 6) & IP4_OFFMASK) {
		out->fragment = 1;
		return 0;
	}
	return decode_l4(buf + hl, len - hl, out);
}

static int
ip6_is_ext(uint8_t nh)
{
	switch (nh) {
	case IPPROTO_HOPOPTS:
	case IPPROTO_ROUTING:
	case IPPROTO_DSTOPTS:
	case IPPROTO_MH:
	case NFLOG_IPPROTO_HIP:
	case NFLOG_IPPROTO_SHIM6:
	case IPPROTO_AH:
	case IPPROTO_FRAGMENT:
		return 1;
	default:
		return 0;
	}
}

/* The length of extension header nh at p (8 bytes readable). */
static size_t
ip6_ext_len(uint8_t nh, const uint8_t *p)
{
	if (nh == IPPROTO_FRAGMENT)
		return 8;
	if (nh == IPPROTO_AH)
		return ((size_t)p[1] + 2) * 4;
	return ((size_t)p[1] + 1) * 8;
}

static int
decode_ip6(const uint8_t *buf, size_t len, struct pkt_info *out)
{
	size_t	plen, off = IP6_HDRLEN, elen;
	uint8_t	nh;

	if (len < IP6_HDRLEN || buf[0] >> 4 != 6)
		return -1;
	plen = get_be16(buf + 4);
	if (plen != 0 && IP6_HDRLEN + plen < len)	/* 0: jumbo or GSO */
		len = IP6_HDRLEN + plen;
	out->family = AF_INET6;
	memcpy(&out->src.v6, buf + 8, 16);
	memcpy(&out->dst.v6, buf + 24, 16);
	nh = buf[6];
	/* Each step consumes at least 8 bytes, so the walk ends. */
	while (ip6_is_ext(nh)) {
		const uint8_t	*p = buf + off;

		out->proto = nh;
		if (len - off < 8 || (elen = ip6_ext_len(nh, p)) > len - off)
			return 0;	/* cut inside the extension headers */
		off += elen;
		if (nh == IPPROTO_FRAGMENT && (get_be16(p + 2) & IP6_OFFMASK)) {
			out->proto = p[0];
			out->fragment = 1;
			return 0;
		}
		nh = p[0];
	}
	out->proto = nh;
	return decode_l4(buf + off, len - off, out);
}

int
nflog_decode_packet(const uint8_t *buf, size_t len, int family,
    struct pkt_info *out)
{
	int	rc = -1;

	memset(out, 0, sizeof(*out));
	if (buf == NULL)
		return -1;
	if (family == AF_INET)
		rc = decode_ip4(buf, len, out);
	else if (family == AF_INET6)
		rc = decode_ip6(buf, len, out);
	if (rc == -1)
		memset(out, 0, sizeof(*out));
	return rc;
}

/* "<digits>|" or "*|" at p: the rule index, -1 for '*'; NULL if neither. */
static const char *
parse_rule(const char *p, int *rule)
{
	int	n = 0, digits = 0;

	if (p[0] == '*' && p[1] == '|') {
		*rule = -1;
		return p + 2;
	}
	for (; *p >= '0' && *p <= '9'; p++) {
		if (++digits > 9)
			return NULL;
		n = n * 10 + (*p - '0');
	}
	if (digits == 0 || *p != '|')
		return NULL;
	*rule = n;
	return p + 1;
}

int
nflog_parse_prefix(const char *prefix, struct bh_prefix *out)
{
	const char	*p;
	size_t		 n;

	memset(out, 0, sizeof(*out));
	if (prefix == NULL || strncmp(prefix, "bh|", 3) != 0)
		return -1;
	p = prefix + 3;
	if (p[0] == '\0' || strchr("DALSPQ", p[0]) == NULL || p[1] != '|')
		goto bad;
	if (p[2] == '\0' || strchr("IE", p[2]) == NULL || p[3] != '|')
		goto bad;
	if ((p = parse_rule(p + 4, &out->rule)) == NULL || *p == '\0')
		goto bad;
	n = strlen(p);
	if (n >= sizeof(out->policy))
		n = sizeof(out->policy) - 1;
	memcpy(out->policy, p, n);
	out->policy[n] = '\0';
	out->verdict = prefix[3];
	out->dir = prefix[5];
	return 0;
bad:
	memset(out, 0, sizeof(*out));
	return -1;
}
