/*
 * nflog.h: decoder of NFLOG records as libpcap delivers them (link type
 * DLT_NFLOG, 239: a 4-byte nflog header, then TLVs padded to 4 bytes, all
 * in host byte order except the values netfilter gives in network order),
 * and of the IPv4/IPv6 packet inside.  Pure, bounds-checked, fuzzed; used
 * by bulkhead-capture.
 *
 * The attribution prefix bulkhead puts on denied packets:
 *   "bh|<verdict>|<dir>|<rule>|<policy>"
 *   verdict: D (denied), A (audit: would deny, allowed), L (log rule),
 *            S (spoofed source, dropped by the port guard),
 *            P (pending: a container port not classified yet, dropped),
 *            Q (quarantined: all of a container's traffic cut)
 *   dir: I (ingress) or E (egress); rule: 0-based index, or * for the
 *   policy's default deny; policy: metadata.name (may be truncated).
 */
#ifndef BULKHEAD_NFLOG_H
#define BULKHEAD_NFLOG_H

#include <net/if.h>
#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>

struct nflog_rec {
	uint8_t		family;		/* AF_INET, AF_INET6, or other */
	uint16_t	hw_protocol;
	int		has_prefix;
	char		prefix[128];
	uint32_t	indev, outdev, physindev, physoutdev;	/* 0: absent */
	int		has_mark;
	uint32_t	mark;
	int		has_ts;
	uint64_t	ts_sec, ts_usec;
	int		has_uid, has_gid;
	uint32_t	uid, gid;
	int		has_hwaddr;
	uint8_t		hwaddr[8];
	uint16_t	hwaddr_len;
	int		has_seq, has_seq_global;	/* NFULNL_CFG_F_SEQ* set */
	uint32_t	seq;		/* per group: a gap is lost records */
	uint32_t	seq_global;	/* across all groups */
	const uint8_t	*payload;	/* points into the record */
	size_t		payload_len;
};

struct pkt_info {
	int		family;		/* AF_INET or AF_INET6; 0 if undecodable */
	uint8_t		proto;		/* IPPROTO_* (after IPv6 extension headers) */
	union { struct in_addr v4; struct in6_addr v6; } src, dst;
	int		has_ports;
	uint16_t	sport, dport;	/* host order */
	int		has_icmp;
	uint8_t		icmp_type, icmp_code;
	uint8_t		tcp_flags;
	int		fragment;	/* non-first fragment: no L4 header */
};

struct bh_prefix {
	char	verdict;		/* 'D', 'A', 'L', 'S', 'P', 'Q' or 0 when not ours */
	char	dir;			/* 'I', 'E' or 0 */
	int	rule;			/* -1 for '*' */
	char	policy[128];
};

/* Decodes one record of len bytes.  Returns 0 or -1 when malformed. */
int	nflog_decode(const uint8_t *buf, size_t len, struct nflog_rec *out);
/* Decodes an IPv4/IPv6 packet.  Returns 0, or -1 when not decodable. */
int	nflog_decode_packet(const uint8_t *buf, size_t len, int family,
	    struct pkt_info *out);
/* Parses a bulkhead prefix; returns 0, or -1 (out->verdict = 0) if not ours. */
int	nflog_parse_prefix(const char *prefix, struct bh_prefix *out);

#endif
