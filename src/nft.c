/*
 * nft.c: the nftables layer, the only user of libnftnl and libmnl (see
 * nft.h).  An ir_ruleset becomes one batch of netlink messages in one
 * growable buffer: every table is destroyed (deleted if it exists) and
 * added again, then its chains, sets, elements and rules follow.  Our
 * tables are owned by our netlink socket and persistent (Linux 6.9): no
 * other process can delete them, `nft flush ruleset` passes them by, and
 * they stay when we exit (the next bulkheadd adopts them).  On a kernel
 * without that, tables are added, deleted and added again, unowned.
 * Chains come before sets because a verdict map's elements name the
 * chains they jump to, and the kernel resolves those names when the
 * element is added.  The whole batch leaves in one sendmsg(); every
 * message asks for an ack, and a message's sequence number indexes the
 * table of commands that says which object it carried.  A delta
 * (ir_diff.h) becomes a batch of the same kind holding only the objects
 * that changed.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/socket.h>

#include <linux/netfilter.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netlink.h>

#include <libmnl/libmnl.h>
#include <libnftnl/chain.h>
#include <libnftnl/common.h>
#include <libnftnl/expr.h>
#include <libnftnl/rule.h>
#include <libnftnl/set.h>
#include <libnftnl/table.h>
#include <libnftnl/udata.h>

#include "ir.h"
#include "ir_diff.h"
#include "log.h"
#include "nft.h"
#include "util.h"

#ifndef NFT_TABLE_F_PERSIST
#define NFT_TABLE_F_PERSIST	0x4	/* Linux 6.9 */
#endif
#ifndef NFT_MSG_DESTROYTABLE
#define NFT_MSG_DESTROYTABLE	26	/* Linux 6.3: delete if present */
#endif
#define NFT_OWNED		(NFT_TABLE_F_OWNER | NFT_TABLE_F_PERSIST)

/* Element bytes per message: below the u16 limit of a netlink nest. */
#define NFT_ELEMS_PAYLOAD	60000
/* Receive buffer bytes reserved per expected ack (skb overhead included). */
#define NFT_RCV_PER_ACK		1024

struct nft {
	struct mnl_socket	*nl;
	uint32_t		 portid;
	uint32_t		 seq;
	int			 sndbuf;	/* what we last asked for */
	int			 rcvbuf;
	uint32_t		 table_flags;	/* NFT_OWNED, or 0 if the kernel refused */
};

enum cmd_kind {
	CMD_BEGIN,
	CMD_END,
	CMD_ADD_TABLE,
	CMD_DEL_TABLE,
	CMD_ADD_CHAIN,
	CMD_ADD_SET,
	CMD_ADD_ELEMS,
	CMD_ADD_RULE,
	CMD_DEL_ELEMS,
	CMD_FLUSH_CHAIN,
	CMD_DEL_CHAIN,
	CMD_DEL_SET,
};

/* What one message of the batch carries, for error messages. */
struct cmd {
	enum cmd_kind		 kind;
	int			 acked;		/* NLM_F_ACK requested */
	const struct ir_table	*table;
	size_t			 idx;		/* chain, set or rule index */
	size_t			 first, last;	/* first and last element carried */
	size_t			 nelems;	/* ir elements carried */
};

struct batch {
	char		*buf;
	size_t		 len, cap;
	uint32_t	 seq0;
	struct cmd	*cmds;
	size_t		 ncmds, cmdcap;
	uint32_t	 set_id0;	/* NFTNL_SET_ID of table 0's set 0 */
	uint32_t	 table_flags;	/* of the tables it adds */
	int		 error;		/* errno of the first command refused */
	enum cmd_kind	 error_kind;	/* and what that command was */
};

/* ---- the batch buffer ---- */

static void
batch_init(struct batch *b, uint32_t seq0)
{
	memset(b, 0, sizeof(*b));
	b->seq0 = seq0;
}

static void
batch_release(struct batch *b)
{
	free(b->buf);
	free(b->cmds);
}

/* Room for a message of up to room bytes at b->buf + b->len. */
static char *
batch_reserve(struct batch *b, size_t room)
{
	if (b->cap - b->len < room) {
		size_t cap = b->cap ? b->cap : 65536;

		while (cap - b->len < room)
			cap *= 2;
		b->buf = xreallocarray(b->buf, cap, 1);
		memset(b->buf + b->cap, 0, cap - b->cap);
		b->cap = cap;
	}
	return b->buf + b->len;
}

/* Starts the next message; it stays valid until batch_commit. */
static struct nlmsghdr *
batch_msg(struct batch *b, size_t room, uint16_t type, uint32_t family,
    uint16_t flags, const struct cmd *c)
{
	char		*p = batch_reserve(b, room);
	uint32_t	 seq = b->seq0 + (uint32_t)b->ncmds;
	struct cmd	*slot;

	if (b->ncmds == b->cmdcap) {
		b->cmdcap = b->cmdcap ? b->cmdcap * 2 : 64;
		b->cmds = xreallocarray(b->cmds, b->cmdcap, sizeof(*b->cmds));
	}
	slot = &b->cmds[b->ncmds++];
	*slot = *c;
	slot->acked = 1;
	return nftnl_nlmsg_build_hdr(p, type, (uint16_t)family,
	    flags | NLM_F_ACK, seq);
}

static void
batch_commit(struct batch *b, const struct nlmsghdr *nlh)
{
	if (nlh->nlmsg_len > b->cap - b->len)
		fatalx("%s: message overran its reservation", __func__);
	b->len += NLMSG_ALIGN(nlh->nlmsg_len);
}

static void
batch_begin(struct batch *b)
{
	struct cmd	 c = { .kind = CMD_BEGIN };
	struct nlmsghdr	*nlh;

	batch_reserve(b, 256);
	nlh = nftnl_batch_begin(b->buf + b->len, b->seq0);
	b->cmds = xreallocarray(b->cmds, b->cmdcap = 64, sizeof(*b->cmds));
	b->cmds[b->ncmds++] = c;
	batch_commit(b, nlh);
}

static void
batch_end(struct batch *b)
{
	struct cmd	 c = { .kind = CMD_END };
	struct nlmsghdr	*nlh;

	batch_reserve(b, 256);
	if (b->ncmds == b->cmdcap) {
		b->cmdcap *= 2;
		b->cmds = xreallocarray(b->cmds, b->cmdcap, sizeof(*b->cmds));
	}
	nlh = nftnl_batch_end(b->buf + b->len, b->seq0 + (uint32_t)b->ncmds);
	b->cmds[b->ncmds++] = c;
	batch_commit(b, nlh);
}

/* ---- tables ---- */

static void
add_table_msg(struct batch *b, const struct ir_table *t, uint16_t type)
{
	struct cmd	 c = { .kind = type == NFT_MSG_NEWTABLE ?
			    CMD_ADD_TABLE : CMD_DEL_TABLE, .table = t };
	struct nftnl_table *nt = nftnl_table_alloc();
	struct nlmsghdr	*nlh;

	if (nt == NULL)
		fatal("%s", __func__);
	nftnl_table_set_str(nt, NFTNL_TABLE_NAME, t->name);
	nftnl_table_set_u32(nt, NFTNL_TABLE_FAMILY, t->family);
	if (type == NFT_MSG_NEWTABLE && b->table_flags)
		nftnl_table_set_u32(nt, NFTNL_TABLE_FLAGS, b->table_flags);
	nlh = batch_msg(b, 512, type, t->family,
	    type == NFT_MSG_NEWTABLE ? NLM_F_CREATE : 0, &c);
	nftnl_table_nlmsg_build_payload(nlh, nt);
	batch_commit(b, nlh);
	nftnl_table_free(nt);
}

/* ---- chains ---- */

static void
add_chain(struct batch *b, const struct ir_table *t, size_t i)
{
	const struct ir_chain *ch = &t->chains[i];
	struct cmd	 c = { .kind = CMD_ADD_CHAIN, .table = t, .idx = i };
	struct nftnl_chain *nc = nftnl_chain_alloc();
	struct nlmsghdr	*nlh;

	if (nc == NULL)
		fatal("%s", __func__);
	nftnl_chain_set_str(nc, NFTNL_CHAIN_TABLE, t->name);
	nftnl_chain_set_str(nc, NFTNL_CHAIN_NAME, ch->name);
	nftnl_chain_set_u32(nc, NFTNL_CHAIN_FAMILY, t->family);
	if (ch->base) {
		nftnl_chain_set_u32(nc, NFTNL_CHAIN_HOOKNUM, ch->hook);
		nftnl_chain_set_s32(nc, NFTNL_CHAIN_PRIO, ch->priority);
		nftnl_chain_set_u32(nc, NFTNL_CHAIN_POLICY, ch->policy);
		nftnl_chain_set_str(nc, NFTNL_CHAIN_TYPE,
		    ch->type[0] ? ch->type : "filter");
	}
	nlh = batch_msg(b, 1024, NFT_MSG_NEWCHAIN, t->family, NLM_F_CREATE,
	    &c);
	nftnl_chain_nlmsg_build_payload(nlh, nc);
	batch_commit(b, nlh);
	nftnl_chain_free(nc);
}

/* ---- sets ---- */

static int
set_is_vmap(const struct ir_set *s)
{
	return (s->flags & NFT_SET_MAP) && (s->data_type == NFT_DATA_VERDICT ||
	    s->data_type == IR_TYPE_VERDICT);
}

/*
 * The kernel matches an interface-name key either way; nft, listing the
 * set, reads a string key in host order only when the set's userdata says
 * so (byteorder 1, nft's BYTEORDER_HOST_ENDIAN), and shows "" otherwise.
 */
static void
set_host_order(struct nftnl_set *ns)
{
	struct nftnl_udata_buf *ud = nftnl_udata_buf_alloc(NFT_USERDATA_MAXLEN);

	if (ud == NULL)
		fatal("%s", __func__);
	if (nftnl_udata_put_u32(ud, NFTNL_UDATA_SET_KEYBYTEORDER, 1))
		nftnl_set_set_data(ns, NFTNL_SET_USERDATA,
		    nftnl_udata_buf_data(ud), nftnl_udata_buf_len(ud));
	nftnl_udata_buf_free(ud);
}

static void
add_set(struct batch *b, const struct ir_table *t, size_t i, uint32_t id)
{
	const struct ir_set *s = &t->sets[i];
	struct cmd	 c = { .kind = CMD_ADD_SET, .table = t, .idx = i };
	struct nftnl_set *ns = nftnl_set_alloc();
	struct nlmsghdr	*nlh;
	uint32_t	 flags = s->flags;

	if (ns == NULL)
		fatal("%s", __func__);
	/* The kernel wants NFT_SET_CONCAT exactly when fields are described. */
	if (s->nfields > 1)
		flags |= NFT_SET_CONCAT;
	else
		flags &= ~(uint32_t)NFT_SET_CONCAT;
	nftnl_set_set_str(ns, NFTNL_SET_TABLE, t->name);
	nftnl_set_set_str(ns, NFTNL_SET_NAME, s->name);
	nftnl_set_set_u32(ns, NFTNL_SET_FAMILY, t->family);
	nftnl_set_set_u32(ns, NFTNL_SET_ID, id);
	nftnl_set_set_u32(ns, NFTNL_SET_FLAGS, flags);
	nftnl_set_set_u32(ns, NFTNL_SET_KEY_TYPE, s->key_type);
	nftnl_set_set_u32(ns, NFTNL_SET_KEY_LEN, s->key_len);
	if (s->flags & NFT_SET_MAP) {
		if (set_is_vmap(s)) {
			nftnl_set_set_u32(ns, NFTNL_SET_DATA_TYPE,
			    NFT_DATA_VERDICT);
		} else {
			nftnl_set_set_u32(ns, NFTNL_SET_DATA_TYPE,
			    s->data_type);
			nftnl_set_set_u32(ns, NFTNL_SET_DATA_LEN, s->data_len);
		}
	}
	if (s->nfields > 1)
		nftnl_set_set_data(ns, NFTNL_SET_DESC_CONCAT, s->field_len,
		    s->nfields);
	if (s->nfields <= 1 && s->key_type == IR_TYPE_IFNAME)
		set_host_order(ns);
	nlh = batch_msg(b, 1024, NFT_MSG_NEWSET, t->family, NLM_F_CREATE, &c);
	nftnl_set_nlmsg_build_payload(nlh, ns);
	batch_commit(b, nlh);
	nftnl_set_free(ns);
}

/* ---- elements ---- */

/* One NEWSETELEM (or DELSETELEM) message being filled. */
struct elemsg {
	struct batch		*b;
	const struct ir_table	*t;
	size_t			 set;
	uint32_t		 set_id;
	int			 del;		/* DELSETELEM */
	struct nftnl_set	*ns;
	size_t			 n, max, bound;	/* elements, limit, bytes each */
	size_t			 first, last;	/* ir elements covered */
	size_t			 nir;		/* how many */
	size_t			 prev;		/* last ir element counted */
};

static size_t
pad4(size_t n)
{
	return (n + 3) & ~(size_t)3;
}

/* Upper bound of one element's encoding in bytes. */
static size_t
elem_bound(const struct ir_set *s)
{
	size_t	n = 32 + 2 * (8 + pad4(s->key_len));

	if (set_is_vmap(s))
		n += 32 + pad4(IR_NAMELEN);
	else if (s->flags & NFT_SET_MAP)
		n += 16 + pad4(s->data_len);
	return n;
}

static void
elemsg_open(struct elemsg *m)
{
	const struct ir_set *s = &m->t->sets[m->set];

	m->ns = nftnl_set_alloc();
	if (m->ns == NULL)
		fatal("%s", __func__);
	nftnl_set_set_str(m->ns, NFTNL_SET_TABLE, m->t->name);
	nftnl_set_set_str(m->ns, NFTNL_SET_NAME, s->name);
	nftnl_set_set_u32(m->ns, NFTNL_SET_FAMILY, m->t->family);
	nftnl_set_set_u32(m->ns, NFTNL_SET_ID, m->set_id);
	m->n = 0;
}

static void
elemsg_flush(struct elemsg *m)
{
	struct cmd	 c = { .kind = m->del ? CMD_DEL_ELEMS : CMD_ADD_ELEMS,
			    .table = m->t, .idx = m->set, .first = m->first,
			    .last = m->last, .nelems = m->nir };
	struct nlmsghdr	*nlh;

	if (m->ns == NULL)
		return;
	if (m->n > 0) {
		nlh = batch_msg(m->b, 1024 + m->n * m->bound,
		    m->del ? NFT_MSG_DELSETELEM : NFT_MSG_NEWSETELEM,
		    m->t->family, m->del ? 0 : NLM_F_CREATE, &c);
		nftnl_set_elems_nlmsg_build_payload(nlh, m->ns);
		batch_commit(m->b, nlh);
	}
	nftnl_set_free(m->ns);
	m->ns = NULL;
}

/* Adds one kernel element made from ir element i (key may be computed). */
static struct nftnl_set_elem *
elemsg_add(struct elemsg *m, size_t i, const uint8_t *key)
{
	const struct ir_set *s = &m->t->sets[m->set];
	struct nftnl_set_elem *ne;

	if (m->ns != NULL && m->n == m->max)
		elemsg_flush(m);
	if (m->ns == NULL) {
		elemsg_open(m);
		m->first = i;
		m->nir = 0;
	}
	if (m->nir == 0 || m->prev != i)
		m->nir++;
	m->prev = i;
	m->last = i;
	ne = nftnl_set_elem_alloc();
	if (ne == NULL)
		fatal("%s", __func__);
	nftnl_set_elem_set(ne, NFTNL_SET_ELEM_KEY, key, s->key_len);
	nftnl_set_elem_add(m->ns, ne);
	m->n++;
	return ne;
}

static void
elem_set_data(const struct ir_set *s, const struct ir_elem *e,
    struct nftnl_set_elem *ne)
{
	if (!(s->flags & NFT_SET_MAP))
		return;
	if (set_is_vmap(s)) {
		nftnl_set_elem_set_u32(ne, NFTNL_SET_ELEM_VERDICT,
		    (uint32_t)e->verdict);
		if (e->verdict == NFT_JUMP || e->verdict == NFT_GOTO)
			nftnl_set_elem_set_str(ne, NFTNL_SET_ELEM_CHAIN,
			    e->chain);
	} else {
		nftnl_set_elem_set(ne, NFTNL_SET_ELEM_DATA, e->data,
		    s->data_len < IR_DATAMAX ? s->data_len : IR_DATAMAX);
	}
}

/* key_end, or key when key_end is below it (a single value). */
static const uint8_t *
elem_end(const struct ir_set *s, const struct ir_elem *e)
{
	return memcmp(e->key_end, e->key, s->key_len) < 0 ? e->key :
	    e->key_end;
}

/* v += 1 over len big-endian bytes; 0 when v was all ones. */
static int
be_increment(uint8_t *v, size_t len)
{
	while (len-- > 0)
		if (++v[len] != 0)
			return 1;
	return 0;
}

static int
key_is_zero(const uint8_t *k, size_t len)
{
	while (len-- > 0)
		if (k[len] != 0)
			return 0;
	return 1;
}

static int
set_is_rbtree(const struct ir_set *s)
{
	return (s->flags & NFT_SET_INTERVAL) && s->nfields <= 1;
}

static int
set_has_zero(const struct ir_set *s)
{
	size_t	i;

	for (i = 0; i < s->nelems; i++)
		if (key_is_zero(s->elems[i].key, s->key_len))
			return 1;
	return 0;
}

/* The gap element: an end at zero (see elems_put_rbtree). */
static void
elemsg_add_zero(struct elemsg *m)
{
	uint8_t			 zero[IR_KEYMAX] = { 0 };
	struct nftnl_set_elem	*ne = elemsg_add(m, 0, zero);

	nftnl_set_elem_set_u32(ne, NFTNL_SET_ELEM_FLAGS,
	    NFT_SET_ELEM_INTERVAL_END);
}

/*
 * One field, interval set (rbtree backend): each range [a, b] is a start
 * element a and an end element b + 1 flagged NFT_SET_ELEM_INTERVAL_END
 * (none when b is the maximum).  Deleting a range names the same two
 * elements, without the data.
 */
static void
elem_put_rbtree(struct elemsg *m, const struct ir_set *s, size_t i)
{
	const struct ir_elem	*e = &s->elems[i];
	uint8_t			 end[IR_KEYMAX];
	struct nftnl_set_elem	*ne;

	ne = elemsg_add(m, i, e->key);
	if (!m->del)
		elem_set_data(s, e, ne);
	memcpy(end, elem_end(s, e), s->key_len);
	if (!be_increment(end, s->key_len))
		return;
	ne = elemsg_add(m, i, end);
	nftnl_set_elem_set_u32(ne, NFTNL_SET_ELEM_FLAGS,
	    NFT_SET_ELEM_INTERVAL_END);
}

/* Other sets: the key (and key_end for concatenated intervals). */
static void
elem_put_plain(struct elemsg *m, const struct ir_set *s, size_t i)
{
	const struct ir_elem	*e = &s->elems[i];
	struct nftnl_set_elem	*ne = elemsg_add(m, i, e->key);

	if (s->flags & NFT_SET_INTERVAL)
		nftnl_set_elem_set(ne, NFTNL_SET_ELEM_KEY_END,
		    elem_end(s, e), s->key_len);
	if (!m->del)
		elem_set_data(s, e, ne);
}

static void
elem_put(struct elemsg *m, const struct ir_set *s, size_t i)
{
	if (set_is_rbtree(s))
		elem_put_rbtree(m, s, i);
	else
		elem_put_plain(m, s, i);
}

static void
elemsg_init(struct elemsg *m, struct batch *b, const struct ir_table *t,
    size_t si, uint32_t id, int del)
{
	memset(m, 0, sizeof(*m));
	m->b = b;
	m->t = t;
	m->set = si;
	m->set_id = id;
	m->del = del;
	m->bound = elem_bound(&t->sets[si]);
	m->max = NFT_ELEMS_PAYLOAD / m->bound;
}

/*
 * Every element of a set.  For the rbtree backend, like nft, an end
 * element at 0 comes first when no range starts at 0, so the space below
 * the first range is explicitly a gap.  Linux 6.18 looks up correctly
 * without it (checked with packets by tests/e2e/nft_apply_test.c); older
 * kernels' rbtree walks relied on it, and it costs one element.  del
 * deletes them all instead (the set stays).
 */
static void
put_all_elems(struct batch *b, const struct ir_table *t, size_t si,
    uint32_t id, int del)
{
	const struct ir_set *s = &t->sets[si];
	struct elemsg	 m;
	size_t		 i;

	if (s->nelems == 0)
		return;
	elemsg_init(&m, b, t, si, id, del);
	if (set_is_rbtree(s) && !set_has_zero(s))
		elemsg_add_zero(&m);
	for (i = 0; i < s->nelems; i++)
		elem_put(&m, s, i);
	elemsg_flush(&m);
}

static void
add_elems(struct batch *b, const struct ir_table *t, size_t si, uint32_t id)
{
	put_all_elems(b, t, si, id, 0);
}

/* ---- rules ---- */

static struct nftnl_expr *
expr_new(const char *name)
{
	struct nftnl_expr *x = nftnl_expr_alloc(name);

	if (x == NULL)
		fatal("%s: %s", __func__, name);
	return x;
}

static size_t
dlen(uint32_t len)
{
	return len < IR_DATAMAX ? len : IR_DATAMAX;
}

static struct nftnl_expr *
expr_meta(const struct ir_expr *e)
{
	struct nftnl_expr *x = expr_new("meta");

	nftnl_expr_set_u32(x, NFTNL_EXPR_META_KEY, e->u.meta.key);
	nftnl_expr_set_u32(x, e->kind == IR_META ? NFTNL_EXPR_META_DREG :
	    NFTNL_EXPR_META_SREG, e->u.meta.reg);
	return x;
}

static struct nftnl_expr *
expr_payload(const struct ir_expr *e)
{
	struct nftnl_expr *x = expr_new("payload");

	nftnl_expr_set_u32(x, NFTNL_EXPR_PAYLOAD_BASE, e->u.payload.base);
	nftnl_expr_set_u32(x, NFTNL_EXPR_PAYLOAD_OFFSET, e->u.payload.offset);
	nftnl_expr_set_u32(x, NFTNL_EXPR_PAYLOAD_LEN, e->u.payload.len);
	nftnl_expr_set_u32(x, NFTNL_EXPR_PAYLOAD_DREG, e->u.payload.dreg);
	return x;
}

static struct nftnl_expr *
expr_cmp(const struct ir_expr *e)
{
	struct nftnl_expr *x = expr_new("cmp");

	nftnl_expr_set_u32(x, NFTNL_EXPR_CMP_SREG, e->u.cmp.sreg);
	nftnl_expr_set_u32(x, NFTNL_EXPR_CMP_OP, e->u.cmp.op);
	nftnl_expr_set(x, NFTNL_EXPR_CMP_DATA, e->u.cmp.data,
	    dlen(e->u.cmp.len));
	return x;
}

static struct nftnl_expr *
expr_bitwise(const struct ir_expr *e)
{
	struct nftnl_expr *x = expr_new("bitwise");
	size_t		   len = dlen(e->u.bitwise.len);

	nftnl_expr_set_u32(x, NFTNL_EXPR_BITWISE_SREG, e->u.bitwise.sreg);
	nftnl_expr_set_u32(x, NFTNL_EXPR_BITWISE_DREG, e->u.bitwise.dreg);
	nftnl_expr_set_u32(x, NFTNL_EXPR_BITWISE_LEN, (uint32_t)len);
	nftnl_expr_set(x, NFTNL_EXPR_BITWISE_MASK, e->u.bitwise.mask, len);
	nftnl_expr_set(x, NFTNL_EXPR_BITWISE_XOR, e->u.bitwise.xor, len);
	return x;
}

static struct nftnl_expr *
expr_lookup(const struct ir_expr *e, const struct ir_table *t,
    uint32_t set_id0)
{
	struct nftnl_expr *x = expr_new("lookup");
	size_t		   i;

	nftnl_expr_set_u32(x, NFTNL_EXPR_LOOKUP_SREG, e->u.lookup.sreg);
	nftnl_expr_set_str(x, NFTNL_EXPR_LOOKUP_SET, e->u.lookup.set);
	for (i = 0; i < t->nsets; i++)
		if (strcmp(t->sets[i].name, e->u.lookup.set) == 0)
			nftnl_expr_set_u32(x, NFTNL_EXPR_LOOKUP_SET_ID,
			    set_id0 + (uint32_t)i);
	if (e->u.lookup.has_dreg)
		nftnl_expr_set_u32(x, NFTNL_EXPR_LOOKUP_DREG,
		    e->u.lookup.dreg);
	if (e->u.lookup.invert)
		nftnl_expr_set_u32(x, NFTNL_EXPR_LOOKUP_FLAGS,
		    NFT_LOOKUP_F_INV);
	return x;
}

static struct nftnl_expr *
expr_ct(const struct ir_expr *e)
{
	struct nftnl_expr *x = expr_new("ct");

	nftnl_expr_set_u32(x, NFTNL_EXPR_CT_KEY, e->u.ct.key);
	nftnl_expr_set_u32(x, NFTNL_EXPR_CT_DREG, e->u.ct.dreg);
	if (e->u.ct.has_dir)
		nftnl_expr_set_u8(x, NFTNL_EXPR_CT_DIR, e->u.ct.dir);
	return x;
}

static struct nftnl_expr *
expr_immediate(const struct ir_expr *e)
{
	struct nftnl_expr *x = expr_new("immediate");

	nftnl_expr_set_u32(x, NFTNL_EXPR_IMM_DREG, e->u.imm.dreg);
	nftnl_expr_set(x, NFTNL_EXPR_IMM_DATA, e->u.imm.data,
	    dlen(e->u.imm.len));
	return x;
}

static struct nftnl_expr *
expr_verdict(const struct ir_expr *e)
{
	struct nftnl_expr *x = expr_new("immediate");

	nftnl_expr_set_u32(x, NFTNL_EXPR_IMM_DREG, NFT_REG_VERDICT);
	nftnl_expr_set_u32(x, NFTNL_EXPR_IMM_VERDICT,
	    (uint32_t)e->u.verdict.code);
	if (e->u.verdict.code == NFT_JUMP || e->u.verdict.code == NFT_GOTO)
		nftnl_expr_set_str(x, NFTNL_EXPR_IMM_CHAIN,
		    e->u.verdict.chain);
	return x;
}

static struct nftnl_expr *
expr_limit(const struct ir_expr *e)
{
	struct nftnl_expr *x = expr_new("limit");

	nftnl_expr_set_u64(x, NFTNL_EXPR_LIMIT_RATE, e->u.limit.rate);
	nftnl_expr_set_u64(x, NFTNL_EXPR_LIMIT_UNIT, e->u.limit.unit);
	nftnl_expr_set_u32(x, NFTNL_EXPR_LIMIT_BURST, e->u.limit.burst);
	nftnl_expr_set_u32(x, NFTNL_EXPR_LIMIT_TYPE, NFT_LIMIT_PKTS);
	nftnl_expr_set_u32(x, NFTNL_EXPR_LIMIT_FLAGS, 0);
	return x;
}

static struct nftnl_expr *
expr_log(const struct ir_expr *e)
{
	struct nftnl_expr *x = expr_new("log");

	nftnl_expr_set_u16(x, NFTNL_EXPR_LOG_GROUP, e->u.log.group);
	nftnl_expr_set_str(x, NFTNL_EXPR_LOG_PREFIX, e->u.log.prefix);
	return x;
}

static struct nftnl_expr *
expr_fib(const struct ir_expr *e)
{
	struct nftnl_expr *x = expr_new("fib");

	nftnl_expr_set_u32(x, NFTNL_EXPR_FIB_FLAGS, e->u.fib.flags);
	nftnl_expr_set_u32(x, NFTNL_EXPR_FIB_RESULT, e->u.fib.result);
	nftnl_expr_set_u32(x, NFTNL_EXPR_FIB_DREG, e->u.fib.dreg);
	return x;
}

static struct nftnl_expr *
expr_build(const struct ir_expr *e, const struct ir_table *t, uint32_t set_id0)
{
	switch (e->kind) {
	case IR_META:
	case IR_META_SET:	return expr_meta(e);
	case IR_PAYLOAD:	return expr_payload(e);
	case IR_CMP:		return expr_cmp(e);
	case IR_BITWISE:	return expr_bitwise(e);
	case IR_LOOKUP:		return expr_lookup(e, t, set_id0);
	case IR_CT:		return expr_ct(e);
	case IR_IMMEDIATE:	return expr_immediate(e);
	case IR_VERDICT:	return expr_verdict(e);
	case IR_COUNTER:	return expr_new("counter");
	case IR_LIMIT:		return expr_limit(e);
	case IR_LOG:		return expr_log(e);
	case IR_FIB:		return expr_fib(e);
	}
	fatalx("%s: unknown expression kind %d", __func__, (int)e->kind);
}

static void
rule_set_comment(struct nftnl_rule *nr, const char *comment)
{
	struct nftnl_udata_buf *ud = nftnl_udata_buf_alloc(NFT_USERDATA_MAXLEN);
	char	buf[NFT_USERDATA_MAXLEN - 8];

	if (ud == NULL)
		fatal("%s", __func__);
	strlcpy_bh(buf, comment, sizeof(buf));
	if (nftnl_udata_put_strz(ud, NFTNL_UDATA_RULE_COMMENT, buf))
		nftnl_rule_set_data(nr, NFTNL_RULE_USERDATA,
		    nftnl_udata_buf_data(ud), nftnl_udata_buf_len(ud));
	nftnl_udata_buf_free(ud);
}

static void
add_rule(struct batch *b, const struct ir_table *t, size_t i)
{
	const struct ir_rule *r = &t->rules[i];
	struct cmd	 c = { .kind = CMD_ADD_RULE, .table = t, .idx = i };
	struct nftnl_rule *nr = nftnl_rule_alloc();
	struct nlmsghdr	*nlh;
	size_t		 j;

	if (nr == NULL)
		fatal("%s", __func__);
	nftnl_rule_set_str(nr, NFTNL_RULE_TABLE, t->name);
	nftnl_rule_set_str(nr, NFTNL_RULE_CHAIN, r->chain);
	nftnl_rule_set_u32(nr, NFTNL_RULE_FAMILY, t->family);
	for (j = 0; j < r->nexprs; j++)
		nftnl_rule_add_expr(nr, expr_build(&r->exprs[j], t, b->set_id0));
	if (r->comment != NULL)
		rule_set_comment(nr, r->comment);
	nlh = batch_msg(b, 1024 + r->nexprs * 384, NFT_MSG_NEWRULE, t->family,
	    NLM_F_CREATE | NLM_F_APPEND, &c);
	nftnl_rule_nlmsg_build_payload(nlh, nr);
	batch_commit(b, nlh);
	nftnl_rule_free(nr);
}

/* ---- one table, replaced whole ---- */

static void
add_table(struct batch *b, const struct ir_table *t, uint32_t set_id0)
{
	size_t	i;

	b->set_id0 = set_id0;
	if (b->table_flags)
		add_table_msg(b, t, NFT_MSG_DESTROYTABLE);
	else {
		add_table_msg(b, t, NFT_MSG_NEWTABLE);
		add_table_msg(b, t, NFT_MSG_DELTABLE);
	}
	add_table_msg(b, t, NFT_MSG_NEWTABLE);
	for (i = 0; i < t->nchains; i++)
		add_chain(b, t, i);
	for (i = 0; i < t->nsets; i++)
		add_set(b, t, i, set_id0 + (uint32_t)i);
	for (i = 0; i < t->nsets; i++)
		add_elems(b, t, i, set_id0 + (uint32_t)i);
	for (i = 0; i < t->nrules; i++)
		add_rule(b, t, i);
}

static void
batch_build(struct batch *b, const struct ir_ruleset *rs, int commit)
{
	uint32_t	id = 1;
	size_t		i;

	batch_begin(b);
	for (i = 0; i < rs->ntables; i++) {
		add_table(b, &rs->tables[i], id);
		id += (uint32_t)rs->tables[i].nsets;
	}
	/* Without its END message the kernel validates, then aborts. */
	if (commit)
		batch_end(b);
}

/* ---- a delta: only what changed (ir_diff.h) ---- */

/* Flushes a chain: a rule delete naming only the chain. */
static void
flush_chain(struct batch *b, const struct ir_table *t, size_t i)
{
	struct cmd	 c = { .kind = CMD_FLUSH_CHAIN, .table = t, .idx = i };
	struct nftnl_rule *nr = nftnl_rule_alloc();
	struct nlmsghdr	*nlh;

	if (nr == NULL)
		fatal("%s", __func__);
	nftnl_rule_set_str(nr, NFTNL_RULE_TABLE, t->name);
	nftnl_rule_set_str(nr, NFTNL_RULE_CHAIN, t->chains[i].name);
	nftnl_rule_set_u32(nr, NFTNL_RULE_FAMILY, t->family);
	nlh = batch_msg(b, 512, NFT_MSG_DELRULE, t->family, 0, &c);
	nftnl_rule_nlmsg_build_payload(nlh, nr);
	batch_commit(b, nlh);
	nftnl_rule_free(nr);
}

static void
del_chain(struct batch *b, const struct ir_table *t, size_t i)
{
	struct cmd	 c = { .kind = CMD_DEL_CHAIN, .table = t, .idx = i };
	struct nftnl_chain *nc = nftnl_chain_alloc();
	struct nlmsghdr	*nlh;

	if (nc == NULL)
		fatal("%s", __func__);
	nftnl_chain_set_str(nc, NFTNL_CHAIN_TABLE, t->name);
	nftnl_chain_set_str(nc, NFTNL_CHAIN_NAME, t->chains[i].name);
	nftnl_chain_set_u32(nc, NFTNL_CHAIN_FAMILY, t->family);
	nlh = batch_msg(b, 512, NFT_MSG_DELCHAIN, t->family, 0, &c);
	nftnl_chain_nlmsg_build_payload(nlh, nc);
	batch_commit(b, nlh);
	nftnl_chain_free(nc);
}

static void
del_set(struct batch *b, const struct ir_table *t, size_t i)
{
	struct cmd	 c = { .kind = CMD_DEL_SET, .table = t, .idx = i };
	struct nftnl_set *ns = nftnl_set_alloc();
	struct nlmsghdr	*nlh;

	if (ns == NULL)
		fatal("%s", __func__);
	nftnl_set_set_str(ns, NFTNL_SET_TABLE, t->name);
	nftnl_set_set_str(ns, NFTNL_SET_NAME, t->sets[i].name);
	nftnl_set_set_u32(ns, NFTNL_SET_FAMILY, t->family);
	nlh = batch_msg(b, 512, NFT_MSG_DELSET, t->family, 0, &c);
	nftnl_set_nlmsg_build_payload(nlh, ns);
	batch_commit(b, nlh);
	nftnl_set_free(ns);
}

/* The listed elements of a set, added or deleted. */
static void
put_elems(struct batch *b, const struct ir_table *t, size_t si, uint32_t id,
    const struct ir_idx *which, int del)
{
	struct elemsg	m;
	size_t		i;

	if (which->n == 0)
		return;
	elemsg_init(&m, b, t, si, id, del);
	for (i = 0; i < which->n; i++)
		elem_put(&m, &t->sets[si], which->v[i]);
	elemsg_flush(&m);
}

/*
 * A kept set: its old elements go before its new ones come.  A refill
 * deletes every old element (the gap element at zero included) and adds
 * every new one.
 */
static void
put_set_delta(struct batch *b, const struct ir_table_delta *td,
    const struct ir_set_delta *sd, uint32_t id)
{
	if (sd->refill) {
		put_all_elems(b, td->old, sd->oset, id, 1);
		put_all_elems(b, td->new, sd->nset, id, 0);
		return;
	}
	put_elems(b, td->old, sd->oset, id, &sd->del, 1);
	put_elems(b, td->new, sd->nset, id, &sd->add, 0);
}

/*
 * One table's changes, in an order the kernel accepts inside one
 * transaction: new chains and sets first (rules and verdict map elements
 * name them); element deletes and adds; changed chains flushed and the
 * chains to delete emptied, so no rule refers any more to what goes;
 * rules appended; then the chains and sets that go.
 */
static void
delta_table(struct batch *b, const struct ir_table_delta *td,
    uint32_t set_id0)
{
	const struct ir_table *ot = td->old, *nt = td->new;
	size_t	i, si;

	b->set_id0 = set_id0;
	for (i = 0; i < td->add_chains.n; i++)
		add_chain(b, nt, td->add_chains.v[i]);
	for (i = 0; i < td->add_sets.n; i++) {
		si = td->add_sets.v[i];
		add_set(b, nt, si, set_id0 + (uint32_t)si);
		add_elems(b, nt, si, set_id0 + (uint32_t)si);
	}
	for (i = 0; i < td->nsets; i++)
		put_set_delta(b, td, &td->sets[i],
		    set_id0 + (uint32_t)td->sets[i].nset);
	for (i = 0; i < td->flush_chains.n; i++)
		flush_chain(b, nt, td->flush_chains.v[i]);
	for (i = 0; i < td->del_chains.n; i++)
		flush_chain(b, ot, td->del_chains.v[i]);
	for (i = 0; i < td->add_rules.n; i++)
		add_rule(b, nt, td->add_rules.v[i]);
	for (i = 0; i < td->del_chains.n; i++)
		del_chain(b, ot, td->del_chains.v[i]);
	for (i = 0; i < td->del_sets.n; i++)
		del_set(b, ot, td->del_sets.v[i]);
}

static void
batch_build_delta(struct batch *b, const struct ir_delta *d)
{
	uint32_t	id = 1;
	size_t		i;

	batch_begin(b);
	for (i = 0; i < d->ntables; i++) {
		delta_table(b, &d->tables[i], id);
		id += (uint32_t)d->tables[i].new->nsets;
	}
	batch_end(b);
}

/* ---- sending, acks, errors ---- */

static void
cmd_describe(struct strbuf *sb, const struct cmd *c)
{
	const struct ir_table *t = c->table;
	const struct ir_set *s;

	switch (c->kind) {
	case CMD_BEGIN:
	case CMD_END:
		strbuf_addstr(sb, "commit batch");
		break;
	case CMD_ADD_TABLE:
	case CMD_DEL_TABLE:
		strbuf_addf(sb, "%s table %s %s",
		    c->kind == CMD_ADD_TABLE ? "add" : "delete",
		    ir_family_name(t->family), t->name);
		break;
	case CMD_ADD_CHAIN:
		strbuf_addf(sb, "add chain %s to table %s %s",
		    t->chains[c->idx].name, ir_family_name(t->family),
		    t->name);
		break;
	case CMD_ADD_SET:
		strbuf_addf(sb, "add set %s to table %s %s",
		    t->sets[c->idx].name, ir_family_name(t->family), t->name);
		break;
	case CMD_ADD_ELEMS:
	case CMD_DEL_ELEMS:
		s = &t->sets[c->idx];
		strbuf_addf(sb, "%s element %s set %s: ",
		    c->kind == CMD_ADD_ELEMS ? "add" : "delete",
		    c->kind == CMD_ADD_ELEMS ? "to" : "from", s->name);
		ir_elem_print(s, &s->elems[c->first], sb);
		if (c->nelems > 1) {
			strbuf_addstr(sb, " ... ");
			ir_elem_print(s, &s->elems[c->last], sb);
			strbuf_addf(sb, " (%zu elements)", c->nelems);
		}
		break;
	case CMD_FLUSH_CHAIN:
	case CMD_DEL_CHAIN:
		strbuf_addf(sb, "%s chain %s of table %s %s",
		    c->kind == CMD_FLUSH_CHAIN ? "flush" : "delete",
		    t->chains[c->idx].name, ir_family_name(t->family),
		    t->name);
		break;
	case CMD_DEL_SET:
		strbuf_addf(sb, "delete set %s of table %s %s",
		    t->sets[c->idx].name, ir_family_name(t->family), t->name);
		break;
	case CMD_ADD_RULE:
		strbuf_addf(sb, "add rule to chain %s: ", t->rules[c->idx].chain);
		ir_rule_print(&t->rules[c->idx], sb);
		break;
	}
}

struct acks {
	size_t	 nacks;
	size_t	 nerrors;
	size_t	 first;		/* command index of the first error */
	int	 error;		/* its errno */
	char	 msg[256];	/* its extended ack message, if any */
	int	 lost;		/* the receive buffer overflowed */
};

static void
ack_extmsg(const struct nlmsghdr *nlh, const struct nlmsgerr *err,
    struct acks *a)
{
	const struct nlattr *attr;
	size_t	off = sizeof(*err);

	a->msg[0] = '\0';
	if (!(nlh->nlmsg_flags & NLM_F_ACK_TLVS))
		return;
	if (!(nlh->nlmsg_flags & NLM_F_CAPPED))
		off += err->msg.nlmsg_len - sizeof(err->msg);
	if (MNL_ALIGN(off) >= nlh->nlmsg_len - MNL_NLMSG_HDRLEN)
		return;
	mnl_attr_for_each(attr, nlh, off) {
		if (mnl_attr_get_type(attr) == NLMSGERR_ATTR_MSG &&
		    mnl_attr_validate(attr, MNL_TYPE_NUL_STRING) == 0)
			strlcpy_bh(a->msg, mnl_attr_get_str(attr),
			    sizeof(a->msg));
	}
}

static void
acks_parse(struct nft *n, const struct batch *b, const char *buf, int len,
    struct acks *a)
{
	const struct nlmsghdr *nlh = (const struct nlmsghdr *)buf;

	for (; mnl_nlmsg_ok(nlh, len); nlh = mnl_nlmsg_next(nlh, &len)) {
		const struct nlmsgerr *err;
		uint32_t idx;

		if (nlh->nlmsg_type != NLMSG_ERROR || nlh->nlmsg_pid != n->portid ||
		    nlh->nlmsg_len < NLMSG_LENGTH(sizeof(*err)))
			continue;
		err = mnl_nlmsg_get_payload(nlh);
		idx = err->msg.nlmsg_seq - b->seq0;
		if (idx >= b->ncmds)
			continue;	/* an earlier batch's */
		if (err->error == 0) {
			a->nacks++;
			continue;
		}
		if (a->nerrors++ == 0 || idx < a->first) {
			a->first = idx;
			a->error = -err->error;
			ack_extmsg(nlh, err, a);
		}
	}
}

/* Reads every queued ack: the kernel handles a batch within sendmsg(). */
static int
acks_drain(struct nft *n, const struct batch *b, struct acks *a)
{
	char		buf[65536];
	int		fd = mnl_socket_get_fd(n->nl);
	ssize_t		r;

	for (;;) {
		r = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return 0;
		if (r < 0 && errno == ENOBUFS) {
			a->lost = 1;
			continue;
		}
		if (r <= 0)
			return -1;
		if (b != NULL)
			acks_parse(n, b, buf, (int)r, a);
	}
}

/* Grows a socket buffer to at least want bytes (root may exceed rmem_max). */
static void
sockbuf_grow(struct nft *n, int *cur, size_t want, int force, int plain)
{
	int	fd = mnl_socket_get_fd(n->nl), v;

	if (want > INT32_MAX / 2)
		want = INT32_MAX / 2;
	v = (int)want;
	if (v <= *cur)
		return;
	if (setsockopt(fd, SOL_SOCKET, force, &v, sizeof(v)) == -1 &&
	    setsockopt(fd, SOL_SOCKET, plain, &v, sizeof(v)) == -1) {
		log_warn("%s: setsockopt", __func__);
		return;
	}
	*cur = v;
}

static int
batch_send(struct nft *n, struct batch *b, char *errbuf, size_t errlen)
{
	struct acks	 a;
	struct strbuf	 sb;
	size_t		 expected = 0, i;
	ssize_t		 r;

	memset(&a, 0, sizeof(a));
	for (i = 0; i < b->ncmds; i++)
		expected += b->cmds[i].acked;
	acks_drain(n, NULL, &a);
	sockbuf_grow(n, &n->sndbuf, b->len + 65536, SO_SNDBUFFORCE, SO_SNDBUF);
	sockbuf_grow(n, &n->rcvbuf, 262144 + b->ncmds * NFT_RCV_PER_ACK,
	    SO_RCVBUFFORCE, SO_RCVBUF);
	n->seq = b->seq0 + (uint32_t)b->ncmds;
	r = mnl_socket_sendto(n->nl, b->buf, b->len);
	if (r < 0 || (size_t)r != b->len) {
		snprintf(errbuf, errlen, "send batch of %zu bytes: %s", b->len,
		    r < 0 ? strerror(errno) : "short write");
		return -1;
	}
	if (acks_drain(n, b, &a) == -1) {
		snprintf(errbuf, errlen, "read acks: %s", strerror(errno));
		return -1;
	}
	if (a.nerrors > 0) {
		strbuf_init(&sb);
		cmd_describe(&sb, &b->cmds[a.first]);
		strbuf_addf(&sb, ": %s", strerror(a.error));
		if (a.msg[0])
			strbuf_addf(&sb, " (%s)", a.msg);
		if (a.nerrors > 1)
			strbuf_addf(&sb, " (and %zu more errors)",
			    a.nerrors - 1);
		strlcpy_bh(errbuf, sb.buf, errlen);
		strbuf_release(&sb);
		b->error = a.error;
		b->error_kind = b->cmds[a.first].kind;
		return -1;
	}
	if (a.lost || a.nacks != expected) {
		snprintf(errbuf, errlen, "kernel acknowledged %zu of %zu "
		    "messages%s: outcome unknown", a.nacks, expected,
		    a.lost ? " (receive buffer overflow)" : "");
		return -1;
	}
	return 0;
}

/*
 * A kernel older than 6.9 refuses owned, persistent tables (or the
 * destroy message): from now on, use unowned tables.  Returns 1 to retry.
 */
static int
run_unowned(struct nft *n, const struct batch *b)
{
	if (n->table_flags == 0 ||
	    (b->error_kind != CMD_ADD_TABLE && b->error_kind != CMD_DEL_TABLE) ||
	    (b->error != EOPNOTSUPP && b->error != EINVAL))
		return 0;
	log_warnx("%s: the kernel has no owned, persistent tables (%s): "
	    "another tool can delete ours, drift repair restores them",
	    __func__, strerror(b->error));
	n->table_flags = 0;
	return 1;
}

static int
run_ruleset(struct nft *n, const struct ir_ruleset *rs, int commit,
    char *err, size_t errlen)
{
	struct batch	b;
	int		ret;

	if (rs->ntables == 0)
		return 0;
	batch_init(&b, n->seq);
	b.table_flags = n->table_flags;
	batch_build(&b, rs, commit);
	ret = batch_send(n, &b, err, errlen);
	batch_release(&b);
	if (ret == -1 && run_unowned(n, &b))
		return run_ruleset(n, rs, commit, err, errlen);
	return ret;
}

/* ---- the interface ---- */

struct nft *
nft_new(void)
{
	struct nft	*n = xcalloc(1, sizeof(*n));
	int		 on = 1;

	n->nl = mnl_socket_open(NETLINK_NETFILTER);
	if (n->nl == NULL) {
		log_warn("%s: mnl_socket_open", __func__);
		goto err_open;
	}
	if (mnl_socket_bind(n->nl, 0, MNL_SOCKET_AUTOPID) == -1) {
		log_warn("%s: mnl_socket_bind", __func__);
		goto err_bind;
	}
	/* Errors need not echo the (possibly large) message back. */
	mnl_socket_setsockopt(n->nl, NETLINK_CAP_ACK, &on, sizeof(on));
	mnl_socket_setsockopt(n->nl, NETLINK_EXT_ACK, &on, sizeof(on));
	n->portid = mnl_socket_get_portid(n->nl);
	n->seq = (uint32_t)time(NULL);
	n->table_flags = NFT_OWNED;
	return n;

err_bind:
	mnl_socket_close(n->nl);
err_open:
	free(n);
	return NULL;
}

void
nft_disown(struct nft *n)
{
	n->table_flags = 0;
}

int
nft_owned(const struct nft *n)
{
	return n->table_flags != 0;
}

void
nft_free(struct nft *n)
{
	if (n == NULL)
		return;
	mnl_socket_close(n->nl);
	free(n);
}

int
nft_apply(struct nft *n, const struct ir_ruleset *rs, char *err,
    size_t errlen)
{
	return run_ruleset(n, rs, 1, err, errlen);
}

int
nft_apply_delta(struct nft *n, const struct ir_delta *d, char *err,
    size_t errlen)
{
	struct batch	b;
	int		ret;

	if (d->full) {
		snprintf(err, errlen, "the change needs a full replace: %s",
		    d->why);
		return -1;
	}
	if (ir_delta_empty(d))
		return 0;
	batch_init(&b, n->seq);
	batch_build_delta(&b, d);
	ret = batch_send(n, &b, err, errlen);
	batch_release(&b);
	return ret;
}

int
nft_check(struct nft *n, const struct ir_ruleset *rs, char *err,
    size_t errlen)
{
	return run_ruleset(n, rs, 0, err, errlen);
}

int
nft_delete_table(struct nft *n, uint32_t family, const char *name,
    char *err, size_t errlen)
{
	struct ir_table	t;
	struct batch	b;
	int		ret;

	memset(&t, 0, sizeof(t));
	strlcpy_bh(t.name, name, sizeof(t.name));
	t.family = family;
	batch_init(&b, n->seq);
	batch_begin(&b);
	/* Adding first makes the delete succeed whether or not it exists. */
	add_table_msg(&b, &t, NFT_MSG_NEWTABLE);
	add_table_msg(&b, &t, NFT_MSG_DELTABLE);
	batch_end(&b);
	ret = batch_send(n, &b, err, errlen);
	batch_release(&b);
	return ret;
}

static int
table_cb(const struct nlmsghdr *nlh, void *data)
{
	if (NFNL_MSG_TYPE(nlh->nlmsg_type) == NFT_MSG_NEWTABLE)
		*(int *)data = 1;
	return MNL_CB_OK;
}

int
nft_table_exists(struct nft *n, uint32_t family, const char *name)
{
	char		 buf[MNL_SOCKET_BUFFER_SIZE];
	struct nftnl_table *t = nftnl_table_alloc();
	struct nlmsghdr	*nlh;
	uint32_t	 seq = n->seq++;
	int		 found = 0, ret;
	ssize_t		 r;
	struct acks	 a;

	if (t == NULL)
		fatal("%s", __func__);
	memset(&a, 0, sizeof(a));
	acks_drain(n, NULL, &a);
	nftnl_table_set_str(t, NFTNL_TABLE_NAME, name);
	nlh = nftnl_nlmsg_build_hdr(buf, NFT_MSG_GETTABLE, (uint16_t)family,
	    NLM_F_ACK, seq);
	nftnl_table_nlmsg_build_payload(nlh, t);
	nftnl_table_free(t);
	if (mnl_socket_sendto(n->nl, nlh, nlh->nlmsg_len) < 0) {
		log_warn("%s: send", __func__);
		return -1;
	}
	do {
		r = mnl_socket_recvfrom(n->nl, buf, sizeof(buf));
		if (r < 0) {
			log_warn("%s: recv", __func__);
			return -1;
		}
		ret = mnl_cb_run(buf, (size_t)r, seq, n->portid, table_cb,
		    &found);
	} while (ret > 0);
	if (ret == -1 && errno == ENOENT)
		return 0;
	if (ret == -1) {
		log_warn("%s: table %s %s", __func__, ir_family_name(family),
		    name);
		return -1;
	}
	return found;
}

/* ---- counters ---- */

struct counters_ctx {
	nft_counter_cb	 cb;
	void		*arg;
};

/* What a rule counts: its counters' sum and, for a log rule, its prefix. */
struct rule_count {
	uint64_t	 packets, bytes;
	int		 counted;
	const char	*log_prefix;
};

static int
counter_expr_cb(struct nftnl_expr *e, void *data)
{
	struct rule_count	*rc = data;
	const char		*name = nftnl_expr_get_str(e, NFTNL_EXPR_NAME);

	if (strcmp(name, "log") == 0 &&
	    nftnl_expr_is_set(e, NFTNL_EXPR_LOG_PREFIX))
		rc->log_prefix = nftnl_expr_get_str(e, NFTNL_EXPR_LOG_PREFIX);
	if (strcmp(name, "counter") != 0)
		return MNL_CB_OK;
	rc->packets += nftnl_expr_get_u64(e, NFTNL_EXPR_CTR_PACKETS);
	rc->bytes += nftnl_expr_get_u64(e, NFTNL_EXPR_CTR_BYTES);
	rc->counted = 1;
	return MNL_CB_OK;
}

static int
comment_cb(const struct nftnl_udata *attr, void *data)
{
	const char	**comment = data;

	if (nftnl_udata_type(attr) == NFTNL_UDATA_RULE_COMMENT &&
	    nftnl_udata_len(attr) > 0 &&
	    ((const char *)nftnl_udata_get(attr))[nftnl_udata_len(attr) - 1] ==
	    '\0')
		*comment = nftnl_udata_get(attr);
	return MNL_CB_OK;
}

static int
counters_rule_cb(const struct nlmsghdr *nlh, void *data)
{
	struct counters_ctx	*ctx = data;
	struct nftnl_rule	*r = nftnl_rule_alloc();
	const char		*comment = NULL;
	const void		*ud;
	uint32_t		 udlen;
	struct rule_count	 rc;

	if (r == NULL)
		fatal("%s", __func__);
	memset(&rc, 0, sizeof(rc));
	if (nftnl_rule_nlmsg_parse(nlh, r) < 0)
		goto out;
	ud = nftnl_rule_get_data(r, NFTNL_RULE_USERDATA, &udlen);
	if (ud != NULL)
		nftnl_udata_parse(ud, udlen, comment_cb, &comment);
	nftnl_expr_foreach(r, counter_expr_cb, &rc);
	if (!rc.counted)
		goto out;
	/* A counting log rule is named by its prefix, any other by its tag. */
	if (rc.log_prefix != NULL)
		ctx->cb(rc.log_prefix, 1, rc.packets, rc.bytes, ctx->arg);
	else if (comment != NULL)
		ctx->cb(comment, 0, rc.packets, rc.bytes, ctx->arg);
out:
	nftnl_rule_free(r);
	return MNL_CB_OK;
}

int
nft_counters(struct nft *n, uint32_t family, const char *table,
    nft_counter_cb cb, void *arg)
{
	/* A dump packs many rules per message: room for the largest. */
	size_t			 buflen = 1 << 16;
	char			*buf = xmalloc(buflen);
	struct nftnl_rule	*r = nftnl_rule_alloc();
	struct counters_ctx	 ctx = { cb, arg };
	struct nlmsghdr		*nlh;
	uint32_t		 seq = n->seq++;
	struct acks		 a;
	ssize_t			 len;
	int			 ret;

	if (r == NULL)
		fatal("%s", __func__);
	memset(&a, 0, sizeof(a));
	acks_drain(n, NULL, &a);
	nlh = nftnl_nlmsg_build_hdr(buf, NFT_MSG_GETRULE, (uint16_t)family,
	    NLM_F_DUMP, seq);
	nftnl_rule_set_str(r, NFTNL_RULE_TABLE, table);
	nftnl_rule_nlmsg_build_payload(nlh, r);
	nftnl_rule_free(r);
	ret = -1;
	if (mnl_socket_sendto(n->nl, nlh, nlh->nlmsg_len) < 0) {
		log_warn("%s: send", __func__);
		goto out;
	}
	do {
		len = mnl_socket_recvfrom(n->nl, buf, buflen);
		if (len < 0) {
			log_warn("%s: recv", __func__);
			goto out;
		}
		ret = mnl_cb_run(buf, (size_t)len, seq, n->portid,
		    counters_rule_cb, &ctx);
	} while (ret > 0);
	if (ret == -1 && errno == ENOENT)
		ret = 0;
	else if (ret == -1)
		log_warn("%s: rules of %s %s", __func__, ir_family_name(family),
		    table);
out:
	free(buf);
	return ret == -1 ? -1 : 0;
}

/* ---- watching the kernel for other processes' changes ---- */

struct nft_monitor {
	struct mnl_socket	*nl;
	char			 table[64];	/* the tables watched, any family */
	uint32_t		 self;		/* our batches' portid: not drift */
	char			*what;		/* the weightiest foreign change seen */
	size_t			 whatlen;
	int			 foreign;	/* foreign changes seen */
	int			 rank;		/* of what: see monitor_rank */
};

struct nft_monitor *
nft_monitor_new(const struct nft *n, const char *table)
{
	struct nft_monitor	*m = xcalloc(1, sizeof(*m));
	int			 sz = 4 << 20;

	m->nl = mnl_socket_open2(NETLINK_NETFILTER, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (m->nl == NULL) {
		log_warn("%s: mnl_socket_open", __func__);
		goto err;
	}
	if (mnl_socket_bind(m->nl, 1u << (NFNLGRP_NFTABLES - 1),
	    MNL_SOCKET_AUTOPID) == -1) {
		log_warn("%s: bind to the nftables notifications", __func__);
		goto err;
	}
	/* Our own whole replaces are large: room for their echo. */
	if (mnl_socket_setsockopt(m->nl, SO_RCVBUFFORCE, &sz, sizeof(sz)) == -1)
		(void)setsockopt(mnl_socket_get_fd(m->nl), SOL_SOCKET,
		    SO_RCVBUF, &sz, sizeof(sz));
	strlcpy_bh(m->table, table, sizeof(m->table));
	m->self = n->portid;
	return m;
err:
	if (m->nl)
		mnl_socket_close(m->nl);
	free(m);
	return NULL;
}

void
nft_monitor_free(struct nft_monitor *m)
{
	if (m == NULL)
		return;
	mnl_socket_close(m->nl);
	free(m);
}

int
nft_monitor_fd(const struct nft_monitor *m)
{
	return mnl_socket_get_fd(m->nl);
}

/* The table a notification is about (its NFTA_*_TABLE attribute), or NULL. */
static const char *
monitor_table(const struct nlmsghdr *nlh, uint16_t type)
{
	const struct nlattr	*a;
	uint16_t		 want;

	switch (type) {
	case NFT_MSG_NEWTABLE: case NFT_MSG_DELTABLE:
		want = NFTA_TABLE_NAME; break;
	case NFT_MSG_NEWCHAIN: case NFT_MSG_DELCHAIN:
		want = NFTA_CHAIN_TABLE; break;
	case NFT_MSG_NEWRULE: case NFT_MSG_DELRULE:
		want = NFTA_RULE_TABLE; break;
	case NFT_MSG_NEWSET: case NFT_MSG_DELSET:
		want = NFTA_SET_TABLE; break;
	case NFT_MSG_NEWSETELEM: case NFT_MSG_DELSETELEM:
		want = NFTA_SET_ELEM_LIST_TABLE; break;
	case NFT_MSG_NEWOBJ: case NFT_MSG_DELOBJ:
		want = NFTA_OBJ_TABLE; break;
	default:
		return NULL;
	}
	mnl_attr_for_each(a, nlh, sizeof(struct nfgenmsg))
		if (mnl_attr_get_type(a) == want &&
		    mnl_attr_validate(a, MNL_TYPE_NUL_STRING) == 0)
			return mnl_attr_get_str(a);
	return NULL;
}

static const char *
monitor_verb(uint16_t type)
{
	switch (type) {
	case NFT_MSG_NEWTABLE: return "table added";
	case NFT_MSG_DELTABLE: return "table deleted";
	case NFT_MSG_NEWCHAIN: return "chain added or changed";
	case NFT_MSG_DELCHAIN: return "chain deleted";
	case NFT_MSG_NEWRULE: return "rule added";
	case NFT_MSG_DELRULE: return "rule deleted";
	case NFT_MSG_NEWSET: return "set added";
	case NFT_MSG_DELSET: return "set deleted";
	case NFT_MSG_NEWSETELEM: return "set element added";
	case NFT_MSG_DELSETELEM: return "set element deleted";
	default: return "object changed";
	}
}

/* A deleted table says more than its rules deleted with it. */
static int
monitor_rank(uint16_t type)
{
	switch (type) {
	case NFT_MSG_DELTABLE: return 3;
	case NFT_MSG_DELCHAIN: case NFT_MSG_DELSET: return 2;
	default: return 1;
	}
}

static int
monitor_cb(const struct nlmsghdr *nlh, void *arg)
{
	struct nft_monitor	*m = arg;
	const struct nfgenmsg	*g = mnl_nlmsg_get_payload(nlh);
	uint16_t		 type = NFNL_MSG_TYPE(nlh->nlmsg_type);
	const char		*t;

	if (NFNL_SUBSYS_ID(nlh->nlmsg_type) != NFNL_SUBSYS_NFTABLES ||
	    nlh->nlmsg_pid == m->self)
		return MNL_CB_OK;
	if ((t = monitor_table(nlh, type)) == NULL || strcmp(t, m->table) != 0)
		return MNL_CB_OK;
	m->foreign++;
	if (monitor_rank(type) <= m->rank)
		return MNL_CB_OK;
	m->rank = monitor_rank(type);
	snprintf(m->what, m->whatlen, "%s %s: %s by another process "
	    "(netlink port %u)", ir_family_name(g->nfgen_family), t,
	    monitor_verb(type), nlh->nlmsg_pid);
	return MNL_CB_OK;
}

int
nft_monitor_read(struct nft_monitor *m, char *what, size_t whatlen)
{
	char	buf[65536];
	ssize_t	r;
	int	lost = 0;

	m->foreign = m->rank = 0;
	m->what = what;
	m->whatlen = whatlen;
	what[0] = '\0';
	for (;;) {
		r = mnl_socket_recvfrom(m->nl, buf, sizeof(buf));
		if (r < 0 && errno == ENOBUFS) {
			lost = 1;
			continue;
		}
		if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		if (r < 0) {
			log_warn("nftables notifications: read");
			return -1;
		}
		/* Notifications carry seq 0 and any portid: no checks. */
		if (mnl_cb_run(buf, (size_t)r, 0, 0, monitor_cb, m) == -1 &&
		    errno != ENOENT)
			log_warn("nftables notifications: parse");
	}
	if (m->foreign) {
		size_t len = strlen(what);

		if (m->foreign > 1 && len + 1 < whatlen)
			snprintf(what + len, whatlen - len, ", %d changes in all",
			    m->foreign);
		return 1;
	}
	if (lost) {
		snprintf(what, whatlen, "notifications lost (ENOBUFS)");
		return 2;
	}
	return 0;
}
