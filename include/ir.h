/*
 * ir.h: the compiled ruleset.  compile.c turns policies and the inventory
 * into this pure description of bulkhead's own nftables tables, expression
 * by expression as the kernel executes them; nft.c turns it into one
 * netlink batch (libnftnl) and ir_print() in ir.c renders it for
 * `bulkhead plan`.
 *
 * Values use the kernel's own enums from <linux/netfilter/nf_tables.h>
 * (NFT_META_*, NFT_PAYLOAD_*, NFT_CMP_*, NFT_CT_*, NF_ACCEPT/NF_DROP,
 * NFT_JUMP/NFT_GOTO/NFT_RETURN/NFT_CONTINUE, NFT_SET_*), and the
 * NFPROTO_* families; registers are NFT_REG32_00.. so concatenations load
 * each field into consecutive 32-bit registers (each field padded to a
 * multiple of 4 bytes, as nft does).
 */
#ifndef BULKHEAD_IR_H
#define BULKHEAD_IR_H

#include <stddef.h>
#include <stdint.h>

struct strbuf;

#define IR_NAMELEN	64
#define IR_KEYMAX	40	/* bytes of a set key (concatenation, padded): ifname . ether . ipv6 */
#define IR_DATAMAX	16
#define IR_PREFIXMAX	128

/* nft's datatype ids, so that `nft list` prints our sets readably. */
enum ir_type {
	IR_TYPE_VERDICT = 1,
	IR_TYPE_INTEGER = 4,
	IR_TYPE_MARK = 19,
	IR_TYPE_IPV4 = 7,
	IR_TYPE_IPV6 = 8,
	IR_TYPE_ETHER = 9,
	IR_TYPE_INET_PROTO = 12,
	IR_TYPE_INET_SERVICE = 13,
	IR_TYPE_IFNAME = 41,
};
#define IR_TYPE_BITS	6	/* concat type = (t1 << 6 | t2) << 6 | t3 ... */

enum ir_expr_kind {
	IR_META,	/* load meta key into dreg */
	IR_META_SET,	/* set meta key from sreg */
	IR_PAYLOAD,	/* load len bytes at base+offset into dreg */
	IR_CMP,		/* compare sreg with data (op: NFT_CMP_*) */
	IR_BITWISE,	/* dreg = (sreg & mask) ^ xor over len bytes */
	IR_LOOKUP,	/* set lookup of sreg; map result into dreg if has_dreg */
	IR_CT,		/* load ct key into dreg */
	IR_IMMEDIATE,	/* load data into dreg */
	IR_VERDICT,	/* immediate verdict: code NF_ACCEPT, NF_DROP, NFT_JUMP, NFT_GOTO, NFT_RETURN, NFT_CONTINUE */
	IR_COUNTER,
	IR_LIMIT,	/* packets per unit seconds, burst packets; over-limit packets skip the rule */
	IR_LOG,		/* NFLOG to group with prefix */
	IR_FIB,		/* fib lookup: flags NFTA_FIB_F_*, result NFT_FIB_RESULT_* into dreg */
};

struct ir_expr {
	enum ir_expr_kind	kind;
	union {
		struct { uint32_t key; uint32_t reg; } meta;		/* META, META_SET */
		struct { uint32_t base, offset, len, dreg; } payload;
		struct { uint32_t op, sreg, len; uint8_t data[IR_DATAMAX]; } cmp;
		struct { uint32_t sreg, dreg, len;
			 uint8_t mask[IR_DATAMAX], xor[IR_DATAMAX]; } bitwise;
		struct { char set[IR_NAMELEN]; uint32_t sreg, dreg;
			 int has_dreg, invert; } lookup;
		/* has_dir: dir (IP_CT_DIR_ORIGINAL/REPLY) is given, for
		 * keys of one direction's tuple (proto-dst, ...). */
		struct { uint32_t key, dreg; int has_dir; uint8_t dir; } ct;
		struct { uint32_t dreg, len; uint8_t data[IR_DATAMAX]; } imm;
		struct { int code; char chain[IR_NAMELEN]; } verdict;
		struct { uint64_t rate, unit; uint32_t burst; } limit;
		struct { uint16_t group; char prefix[IR_PREFIXMAX]; } log;
		struct { uint32_t flags, result, dreg; } fib;
	} u;
};

struct ir_rule {
	char		 chain[IR_NAMELEN];
	struct ir_expr	*exprs;
	size_t		 nexprs;
	size_t		 cap;
	char		*text;		/* nft-like rendering for plan and errors */
	char		*comment;	/* stored as rule userdata; may be NULL */
};

struct ir_chain {
	char		name[IR_NAMELEN];
	int		base;		/* base chain: hook, priority, policy set */
	char		type[16];	/* "filter" */
	uint32_t	hook;		/* NF_INET_* / NF_BR_* hook number */
	int32_t		priority;
	uint32_t	policy;		/* NF_ACCEPT or NF_DROP */
};

/*
 * A set element.  For exact sets key holds key_len bytes.  For interval
 * sets (NFT_SET_INTERVAL) [key, key_end] is an inclusive range: nft.c
 * encodes it for the kernel's set backend (start/end-flag pairs for one
 * field, key + key_end for concatenations); a key_end below key (e.g. left
 * zero) means the single value key.  Ranges of one set must not overlap.
 * For verdict maps, verdict and chain give the data; for data maps,
 * data[0..data_len).
 */
struct ir_elem {
	uint8_t		key[IR_KEYMAX];
	uint8_t		key_end[IR_KEYMAX];
	int		verdict;
	char		chain[IR_NAMELEN];
	uint8_t		data[IR_DATAMAX];
};

struct ir_set {
	char		 name[IR_NAMELEN];
	uint32_t	 flags;		/* NFT_SET_MAP | NFT_SET_INTERVAL | NFT_SET_CONCAT | NFT_SET_CONSTANT ... */
	uint32_t	 key_type;	/* enum ir_type, or a concat of them */
	uint32_t	 key_len;	/* bytes, padded per field */
	uint8_t		 nfields;	/* >1 for a concatenation */
	uint8_t		 field_len[16];	/* unpadded length of each field */
	/*
	 * For `plan` only, when the key has a field nft's type names cannot
	 * spell (a raw payload): printed as "typeof <typeof_expr>", elements
	 * printed by plan_key_type.  The kernel gets key_type as always.
	 */
	char		 typeof_expr[96];
	uint32_t	 plan_key_type;
	uint32_t	 data_type;	/* maps only */
	uint32_t	 data_len;
	struct ir_elem	*elems;
	size_t		 nelems;
	size_t		 cap;
};

struct ir_table {
	char		 name[IR_NAMELEN];
	uint32_t	 family;	/* NFPROTO_INET, NFPROTO_BRIDGE */
	struct ir_set	*sets;
	size_t		 nsets;
	struct ir_chain	*chains;
	size_t		 nchains;
	struct ir_rule	*rules;		/* in order; each names its chain */
	size_t		 nrules;
};

struct ir_ruleset {
	struct ir_table	*tables;
	size_t		 ntables;
};

struct ir_ruleset	*ir_ruleset_new(void);
void			 ir_ruleset_free(struct ir_ruleset *);
/*
 * Gives back the spare capacity of element and expression arrays, for a
 * ruleset kept long (the controller keeps the one last applied).  Adding
 * to it afterwards stays correct (the arrays grow again).
 */
void			 ir_ruleset_trim(struct ir_ruleset *);
/* Returned pointers stay valid until the next ir_*_add on the same parent. */
struct ir_table	*ir_table_add(struct ir_ruleset *, const char *name, uint32_t family);
struct ir_chain	*ir_chain_add(struct ir_table *, const char *name);
struct ir_set	*ir_set_add(struct ir_table *, const char *name);
struct ir_set	*ir_set_find(struct ir_table *, const char *name);
struct ir_elem	*ir_elem_add(struct ir_set *);
struct ir_rule	*ir_rule_add(struct ir_table *, const char *chain);
struct ir_expr	*ir_expr_add(struct ir_rule *, enum ir_expr_kind);

/* Renders the ruleset in nft-like syntax (tables, sets with elements, chains, rules). */
void	ir_print(const struct ir_ruleset *, struct strbuf *out);
/*
 * Appends one rule to out: its text, or when text is NULL its expressions
 * one by one ("[meta load iifname => reg 8] [lookup reg 8 set ports]"),
 * then its comment if any.  Used by ir_print and by nft.c's error messages.
 */
void	ir_rule_print(const struct ir_rule *, struct strbuf *out);
/* Appends one element as ir_print shows it ("10.0.0.0/8"). */
void	ir_elem_print(const struct ir_set *, const struct ir_elem *,
	    struct strbuf *out);
/* "inet", "bridge", "ip", "ip6", "arp", "netdev" for an NFPROTO_* value. */
const char *ir_family_name(uint32_t family);

#endif
