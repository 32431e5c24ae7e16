/*
 * ir_diff.c: the difference between two compiled rulesets (see
 * ir_diff.h).  Pure: libc and kernel headers only.
 *
 * Cost: linear in the size of the rulesets for the scans (names are
 * hashed, rules are bucketed by chain with a counting sort), and for
 * each set whose elements changed a sort of the part between the common
 * prefix and the common suffix of its element arrays.  compile.c emits
 * elements in a stable order, so one container more or less leaves a
 * middle of a few elements.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>

#include "ir.h"
#include "ir_diff.h"
#include "util.h"

/* Candidates x kept elements above which membership is checked by sorting. */
#define SCAN_BUDGET	(1u << 22)

_Static_assert(offsetof(struct ir_set, name) == 0, "set name first");
_Static_assert(offsetof(struct ir_chain, name) == 0, "chain name first");

/* ---- index lists ---- */

static void
idx_push(struct ir_idx *x, size_t i)
{
	if (x->n == x->cap) {
		x->cap = x->cap ? x->cap * 2 : 8;
		x->v = xreallocarray(x->v, x->cap, sizeof(*x->v));
	}
	x->v[x->n++] = i;
}

static void
idx_release(struct ir_idx *x)
{
	free(x->v);
	memset(x, 0, sizeof(*x));
}

/* ---- names: a hash of the sets or chains of a table ---- */

struct names {
	const char	*base;		/* entries; each starts with its name */
	size_t		 size;		/* bytes per entry */
	size_t		*slot;		/* entry index + 1; 0 when empty */
	size_t		 mask;
	int		 dup;		/* two entries share a name */
};

static uint32_t
name_hash(const char *s)
{
	uint32_t	h = 2166136261u;

	while (*s)
		h = (h ^ (uint8_t)*s++) * 16777619u;
	return h;
}

static const char *
names_at(const struct names *h, size_t i)
{
	return h->base + i * h->size;
}

static void
names_init(struct names *h, const void *base, size_t size, size_t n)
{
	size_t	cap = 16, i, pos;

	while (cap < n * 2)
		cap *= 2;
	memset(h, 0, sizeof(*h));
	h->base = base;
	h->size = size;
	h->slot = xcalloc(cap, sizeof(*h->slot));
	h->mask = cap - 1;
	for (i = 0; i < n; i++) {
		pos = name_hash(names_at(h, i)) & h->mask;
		while (h->slot[pos] != 0 &&
		    strcmp(names_at(h, h->slot[pos] - 1), names_at(h, i)) != 0)
			pos = (pos + 1) & h->mask;
		if (h->slot[pos] != 0)
			h->dup = 1;
		else
			h->slot[pos] = i + 1;
	}
}

static void
names_release(struct names *h)
{
	free(h->slot);
}

/* The index of the entry called name, or SIZE_MAX. */
static size_t
names_find(const struct names *h, const char *name)
{
	size_t	pos = name_hash(name) & h->mask;

	for (; h->slot[pos] != 0; pos = (pos + 1) & h->mask)
		if (strcmp(names_at(h, h->slot[pos] - 1), name) == 0)
			return h->slot[pos] - 1;
	return SIZE_MAX;
}

/* ---- rules ---- */

static int
bytes_eq(const uint8_t *a, const uint8_t *b, uint32_t len)
{
	return memcmp(a, b, len < IR_DATAMAX ? len : IR_DATAMAX) == 0;
}

static int
verdict_eq(int ca, const char *a, int cb, const char *b)
{
	if (ca != cb)
		return 0;
	return (ca != NFT_JUMP && ca != NFT_GOTO) || strcmp(a, b) == 0;
}

static int
expr_eq(const struct ir_expr *a, const struct ir_expr *b)
{
	if (a->kind != b->kind)
		return 0;
	switch (a->kind) {
	case IR_META:
	case IR_META_SET:
		return a->u.meta.key == b->u.meta.key &&
		    a->u.meta.reg == b->u.meta.reg;
	case IR_PAYLOAD:
		return a->u.payload.base == b->u.payload.base &&
		    a->u.payload.offset == b->u.payload.offset &&
		    a->u.payload.len == b->u.payload.len &&
		    a->u.payload.dreg == b->u.payload.dreg;
	case IR_CMP:
		return a->u.cmp.op == b->u.cmp.op &&
		    a->u.cmp.sreg == b->u.cmp.sreg &&
		    a->u.cmp.len == b->u.cmp.len &&
		    bytes_eq(a->u.cmp.data, b->u.cmp.data, a->u.cmp.len);
	case IR_BITWISE:
		return a->u.bitwise.sreg == b->u.bitwise.sreg &&
		    a->u.bitwise.dreg == b->u.bitwise.dreg &&
		    a->u.bitwise.len == b->u.bitwise.len &&
		    bytes_eq(a->u.bitwise.mask, b->u.bitwise.mask,
		    a->u.bitwise.len) &&
		    bytes_eq(a->u.bitwise.xor, b->u.bitwise.xor,
		    a->u.bitwise.len);
	case IR_LOOKUP:
		return strcmp(a->u.lookup.set, b->u.lookup.set) == 0 &&
		    a->u.lookup.sreg == b->u.lookup.sreg &&
		    !a->u.lookup.has_dreg == !b->u.lookup.has_dreg &&
		    (!a->u.lookup.has_dreg ||
		    a->u.lookup.dreg == b->u.lookup.dreg) &&
		    !a->u.lookup.invert == !b->u.lookup.invert;
	case IR_CT:
		return a->u.ct.key == b->u.ct.key &&
		    a->u.ct.dreg == b->u.ct.dreg &&
		    !a->u.ct.has_dir == !b->u.ct.has_dir &&
		    (!a->u.ct.has_dir || a->u.ct.dir == b->u.ct.dir);
	case IR_IMMEDIATE:
		return a->u.imm.dreg == b->u.imm.dreg &&
		    a->u.imm.len == b->u.imm.len &&
		    bytes_eq(a->u.imm.data, b->u.imm.data, a->u.imm.len);
	case IR_VERDICT:
		return verdict_eq(a->u.verdict.code, a->u.verdict.chain,
		    b->u.verdict.code, b->u.verdict.chain);
	case IR_COUNTER:
		return 1;
	case IR_LIMIT:
		return a->u.limit.rate == b->u.limit.rate &&
		    a->u.limit.unit == b->u.limit.unit &&
		    a->u.limit.burst == b->u.limit.burst;
	case IR_LOG:
		return a->u.log.group == b->u.log.group &&
		    strcmp(a->u.log.prefix, b->u.log.prefix) == 0;
	case IR_FIB:
		return a->u.fib.flags == b->u.fib.flags &&
		    a->u.fib.result == b->u.fib.result &&
		    a->u.fib.dreg == b->u.fib.dreg;
	}
	return 0;
}

int
ir_rule_equal(const struct ir_rule *a, const struct ir_rule *b)
{
	size_t	i;

	if (a->nexprs != b->nexprs)
		return 0;
	if ((a->comment == NULL) != (b->comment == NULL) ||
	    (a->comment != NULL && strcmp(a->comment, b->comment) != 0))
		return 0;
	for (i = 0; i < a->nexprs; i++)
		if (!expr_eq(&a->exprs[i], &b->exprs[i]))
			return 0;
	return 1;
}

/* A table's rules bucketed by chain, each bucket in table order. */
struct chain_rules {
	size_t	*order;		/* rule indices */
	size_t	*start;		/* chain c: order[start[c] .. start[c + 1]) */
};

/* -1 when a rule names a chain the table does not declare. */
static int
chain_rules_init(struct chain_rules *cr, const struct ir_table *t,
    const struct names *chains)
{
	size_t	*of = xcalloc(t->nrules + 1, sizeof(*of));
	size_t	*pos, i, c;

	cr->order = xcalloc(t->nrules + 1, sizeof(*cr->order));
	cr->start = xcalloc(t->nchains + 2, sizeof(*cr->start));
	for (i = 0; i < t->nrules; i++) {
		if ((c = names_find(chains, t->rules[i].chain)) == SIZE_MAX)
			goto err;
		of[i] = c;
		cr->start[c + 1]++;
	}
	for (c = 0; c < t->nchains; c++)
		cr->start[c + 1] += cr->start[c];
	pos = xcalloc(t->nchains + 1, sizeof(*pos));
	memcpy(pos, cr->start, t->nchains * sizeof(*pos));
	for (i = 0; i < t->nrules; i++)
		cr->order[pos[of[i]]++] = i;
	free(pos);
	free(of);
	return 0;

err:
	free(of);
	free(cr->order);
	free(cr->start);
	return -1;
}

static void
chain_rules_release(struct chain_rules *cr)
{
	free(cr->order);
	free(cr->start);
}

static size_t
chain_rules_count(const struct chain_rules *cr, size_t c)
{
	return cr->start[c + 1] - cr->start[c];
}

/* ---- elements ---- */

static int
set_is_vmap(const struct ir_set *s)
{
	return (s->flags & NFT_SET_MAP) && (s->data_type == NFT_DATA_VERDICT ||
	    s->data_type == IR_TYPE_VERDICT);
}

static size_t
key_len(const struct ir_set *s)
{
	return s->key_len < IR_KEYMAX ? s->key_len : IR_KEYMAX;
}

/* The end of an interval element: key_end, or key when key_end is below. */
static const uint8_t *
elem_end(const struct ir_set *s, const struct ir_elem *e)
{
	return memcmp(e->key_end, e->key, key_len(s)) < 0 ? e->key :
	    e->key_end;
}

static int
elem_key_cmp(const struct ir_set *s, const struct ir_elem *a,
    const struct ir_elem *b)
{
	int	c = memcmp(a->key, b->key, key_len(s));

	if (c != 0 || !(s->flags & NFT_SET_INTERVAL))
		return c;
	return memcmp(elem_end(s, a), elem_end(s, b), key_len(s));
}

static int
elem_data_eq(const struct ir_set *s, const struct ir_elem *a,
    const struct ir_elem *b)
{
	if (!(s->flags & NFT_SET_MAP))
		return 1;
	if (set_is_vmap(s))
		return verdict_eq(a->verdict, a->chain, b->verdict, b->chain);
	return bytes_eq(a->data, b->data, s->data_len);
}

static int
elem_same(const struct ir_set *s, const struct ir_elem *a,
    const struct ir_elem *b)
{
	return elem_key_cmp(s, a, b) == 0 && elem_data_eq(s, a, b);
}

/* Sorting indices of one set's elements by key, then by index. */
struct elem_sort {
	const struct ir_set	*s;
};

static int
elem_idx_cmp(const void *a, const void *b, void *arg)
{
	const struct ir_set *s = ((const struct elem_sort *)arg)->s;
	size_t	i = *(const size_t *)a, j = *(const size_t *)b;
	int	c = elem_key_cmp(s, &s->elems[i], &s->elems[j]);

	if (c != 0)
		return c;
	return (i > j) - (i < j);
}

static void
elem_sort(const struct ir_set *s, size_t *v, size_t n)
{
	struct elem_sort	ctx = { s };

	qsort_r(v, n, sizeof(*v), elem_idx_cmp, &ctx);
}

/* Indices lo..hi-1 of a set's elements, sorted by key. */
static size_t *
elem_range_sorted(const struct ir_set *s, size_t lo, size_t hi)
{
	size_t	*v = xcalloc(hi - lo + 1, sizeof(*v)), i;

	for (i = lo; i < hi; i++)
		v[i - lo] = i;
	elem_sort(s, v, hi - lo);
	return v;
}

/*
 * Does nft.c give this one-field interval set its gap element (an end at
 * zero)?  Only when it has elements and none starts at zero.
 */
static int
has_gap(const struct ir_set *s)
{
	static const uint8_t	zero[IR_KEYMAX];
	size_t			i;

	for (i = 0; i < s->nelems; i++)
		if (memcmp(s->elems[i].key, zero, key_len(s)) == 0)
			return 0;
	return s->nelems > 0;
}

/*
 * The elements both sets share at both ends, element for element:
 * new elements [0, p) and [nn - q, nn) ("kept").
 */
struct kept {
	const struct ir_set	*s;	/* the new set */
	size_t			 p, q;
	size_t			*sorted;	/* kept indices by key, when built */
	size_t			 nsorted;
};

static int
kept_has_linear(struct kept *k, const struct ir_set *s,
    const struct ir_elem *e)
{
	size_t	i, n = k->s->nelems;

	for (i = 0; i < k->p; i++)
		if (elem_key_cmp(s, &k->s->elems[i], e) == 0)
			return 1;
	for (i = n - k->q; i < n; i++)
		if (elem_key_cmp(s, &k->s->elems[i], e) == 0)
			return 1;
	return 0;
}

static int
kept_has_sorted(struct kept *k, const struct ir_set *s,
    const struct ir_elem *e)
{
	size_t	lo = 0, hi, i, n = k->s->nelems;
	int	c;

	if (k->sorted == NULL) {
		k->sorted = xcalloc(k->p + k->q + 1, sizeof(size_t));
		for (i = 0; i < k->p; i++)
			k->sorted[k->nsorted++] = i;
		for (i = n - k->q; i < n; i++)
			k->sorted[k->nsorted++] = i;
		elem_sort(k->s, k->sorted, k->nsorted);
	}
	hi = k->nsorted;
	while (lo < hi) {
		i = lo + (hi - lo) / 2;
		c = elem_key_cmp(s, &k->s->elems[k->sorted[i]], e);
		if (c == 0)
			return 1;
		if (c < 0)
			lo = i + 1;
		else
			hi = i;
	}
	return 0;
}

/*
 * Merges the sorted middles: a key only in the old one is deleted, only
 * in the new one added, in both with other data deleted and added.
 * Repeated keys count once (the kernel holds one element per key).
 */
static void
elem_merge(struct ir_set_delta *sd, const struct ir_set *os, size_t *ov,
    size_t on, const struct ir_set *ns, size_t *nv, size_t nn)
{
	size_t	i = 0, j = 0;
	int	c;

	while (i < on || j < nn) {
		if (i == on)
			c = 1;
		else if (j == nn)
			c = -1;
		else
			c = elem_key_cmp(ns, &os->elems[ov[i]], &ns->elems[nv[j]]);
		if (c <= 0 && (c < 0 ||
		    !elem_data_eq(ns, &os->elems[ov[i]], &ns->elems[nv[j]]))) {
			idx_push(&sd->del, ov[i]);
			if (c == 0)
				idx_push(&sd->add, nv[j]);
		} else if (c > 0) {
			idx_push(&sd->add, nv[j]);
		}
		/* Skip the rest of each key's run. */
		if (c <= 0)
			while (++i < on && elem_key_cmp(os, &os->elems[ov[i - 1]],
			    &os->elems[ov[i]]) == 0)
				;
		if (c >= 0)
			while (++j < nn && elem_key_cmp(ns, &ns->elems[nv[j - 1]],
			    &ns->elems[nv[j]]) == 0)
				;
	}
}

/*
 * A key found in the kept ends is in both sets whatever the middles say:
 * neither deleted nor added.  Filters the candidates in place.
 */
static void
elem_filter_kept(struct ir_set_delta *sd, const struct ir_set *os,
    const struct ir_set *ns, struct kept *k)
{
	size_t	cands = sd->del.n + sd->add.n, i, n;
	int	linear = cands * (k->p + k->q) <= SCAN_BUDGET;
	int	(*has)(struct kept *, const struct ir_set *,
		    const struct ir_elem *);

	if (k->p + k->q == 0 || cands == 0)
		return;
	has = linear ? kept_has_linear : kept_has_sorted;
	for (i = n = 0; i < sd->del.n; i++)
		if (!has(k, ns, &os->elems[sd->del.v[i]]))
			sd->del.v[n++] = sd->del.v[i];
	sd->del.n = n;
	for (i = n = 0; i < sd->add.n; i++)
		if (!has(k, ns, &ns->elems[sd->add.v[i]]))
			sd->add.v[n++] = sd->add.v[i];
	sd->add.n = n;
}

/* Fills sd with what changed between two sets of the same definition. */
static void
set_elems_diff(struct ir_set_delta *sd, const struct ir_set *os,
    const struct ir_set *ns)
{
	struct kept	 k = { .s = ns };
	size_t		 on = os->nelems, nn = ns->nelems, *ov, *nv;

	while (k.p < on && k.p < nn &&
	    elem_same(ns, &os->elems[k.p], &ns->elems[k.p]))
		k.p++;
	while (k.q < on - k.p && k.q < nn - k.p &&
	    elem_same(ns, &os->elems[on - 1 - k.q], &ns->elems[nn - 1 - k.q]))
		k.q++;
	if (k.p + k.q == on && on == nn)
		return;
	ov = elem_range_sorted(os, k.p, on - k.q);
	nv = elem_range_sorted(ns, k.p, nn - k.q);
	elem_merge(sd, os, ov, on - k.q - k.p, ns, nv, nn - k.q - k.p);
	free(ov);
	free(nv);
	elem_filter_kept(sd, os, ns, &k);
	free(k.sorted);
}

/* ---- one table ---- */

static void
delta_full(struct ir_delta *d, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void
delta_full(struct ir_delta *d, const char *fmt, ...)
{
	va_list	ap;

	if (d->full)
		return;
	d->full = 1;
	va_start(ap, fmt);
	vsnprintf(d->why, sizeof(d->why), fmt, ap);
	va_end(ap);
}

static uint32_t
set_flags(const struct ir_set *s)
{
	/* nft.c derives NFT_SET_CONCAT from the fields. */
	return s->flags & ~(uint32_t)NFT_SET_CONCAT;
}

static int
set_def_eq(const struct ir_set *a, const struct ir_set *b)
{
	if (set_flags(a) != set_flags(b) || a->key_type != b->key_type ||
	    a->key_len != b->key_len || a->nfields != b->nfields)
		return 0;
	if (a->nfields > 1 && memcmp(a->field_len, b->field_len,
	    a->nfields < 16 ? a->nfields : 16) != 0)
		return 0;
	if (!(a->flags & NFT_SET_MAP))
		return 1;
	if (set_is_vmap(a) || set_is_vmap(b))
		return set_is_vmap(a) && set_is_vmap(b);
	return a->data_type == b->data_type && a->data_len == b->data_len;
}

static int
chain_def_eq(const struct ir_chain *a, const struct ir_chain *b)
{
	if (!a->base != !b->base)
		return 0;
	if (!a->base)
		return 1;
	return strcmp(a->type, b->type) == 0 && a->hook == b->hook &&
	    a->priority == b->priority && a->policy == b->policy;
}

static void
sets_diff(struct ir_delta *d, struct ir_table_delta *td,
    const struct names *on, const struct names *nn)
{
	const struct ir_table *ot = td->old, *nt = td->new;
	size_t	i, j;
	int	changed;

	for (i = 0; i < nt->nsets && !d->full; i++) {
		const struct ir_set *ns = &nt->sets[i], *os;
		struct ir_set_delta sd;

		if ((j = names_find(on, ns->name)) == SIZE_MAX) {
			idx_push(&td->add_sets, i);
			continue;
		}
		os = &ot->sets[j];
		if (!set_def_eq(os, ns)) {
			delta_full(d, "set %s of table %s %s changed its "
			    "definition", ns->name, ir_family_name(nt->family),
			    nt->name);
			break;
		}
		memset(&sd, 0, sizeof(sd));
		sd.oset = j;
		sd.nset = i;
		if ((ns->flags & NFT_SET_INTERVAL) && ns->nfields <= 1 &&
		    has_gap(os) != has_gap(ns))
			sd.refill = 1;
		else
			set_elems_diff(&sd, os, ns);
		changed = sd.refill || sd.del.n > 0 || sd.add.n > 0;
		if (!changed || (ns->flags & NFT_SET_CONSTANT)) {
			idx_release(&sd.del);
			idx_release(&sd.add);
		}
		if (!changed)
			continue;
		if (ns->flags & NFT_SET_CONSTANT) {
			delta_full(d, "constant set %s of table %s %s changed",
			    ns->name, ir_family_name(nt->family), nt->name);
			break;
		}
		if (td->nsets == td->setcap) {
			td->setcap = td->setcap ? td->setcap * 2 : 8;
			td->sets = xreallocarray(td->sets, td->setcap,
			    sizeof(*td->sets));
		}
		td->sets[td->nsets++] = sd;
	}
	for (j = 0; j < ot->nsets; j++)
		if (names_find(nn, ot->sets[j].name) == SIZE_MAX)
			idx_push(&td->del_sets, j);
}

static int
chain_rules_eq(const struct ir_table_delta *td, const struct chain_rules *ocr,
    size_t oc, const struct chain_rules *ncr, size_t nc)
{
	size_t	n = chain_rules_count(ncr, nc), i;

	if (chain_rules_count(ocr, oc) != n)
		return 0;
	for (i = 0; i < n; i++)
		if (!ir_rule_equal(&td->old->rules[ocr->order[ocr->start[oc] + i]],
		    &td->new->rules[ncr->order[ncr->start[nc] + i]]))
			return 0;
	return 1;
}

static void
chain_fill(struct ir_table_delta *td, const struct chain_rules *ncr, size_t c)
{
	size_t	i;

	for (i = ncr->start[c]; i < ncr->start[c + 1]; i++)
		idx_push(&td->add_rules, ncr->order[i]);
}

static void
chains_diff(struct ir_delta *d, struct ir_table_delta *td,
    const struct names *on, const struct names *nn)
{
	const struct ir_table *ot = td->old, *nt = td->new;
	struct chain_rules	ocr, ncr;
	size_t			i, j;

	if (chain_rules_init(&ocr, ot, on) == -1) {
		delta_full(d, "a rule of the applied table %s %s names an "
		    "undeclared chain", ir_family_name(ot->family), ot->name);
		return;
	}
	if (chain_rules_init(&ncr, nt, nn) == -1) {
		chain_rules_release(&ocr);
		delta_full(d, "a rule of table %s %s names an undeclared "
		    "chain", ir_family_name(nt->family), nt->name);
		return;
	}
	for (i = 0; i < nt->nchains && !d->full; i++) {
		if ((j = names_find(on, nt->chains[i].name)) == SIZE_MAX) {
			idx_push(&td->add_chains, i);
			chain_fill(td, &ncr, i);
		} else if (!chain_def_eq(&ot->chains[j], &nt->chains[i])) {
			delta_full(d, "base chain %s of table %s %s changed "
			    "its type, hook, priority or policy",
			    nt->chains[i].name, ir_family_name(nt->family),
			    nt->name);
		} else if (!chain_rules_eq(td, &ocr, j, &ncr, i)) {
			idx_push(&td->flush_chains, i);
			chain_fill(td, &ncr, i);
		}
	}
	for (j = 0; j < ot->nchains; j++)
		if (names_find(nn, ot->chains[j].name) == SIZE_MAX)
			idx_push(&td->del_chains, j);
	chain_rules_release(&ocr);
	chain_rules_release(&ncr);
}

static void
table_diff(struct ir_delta *d, struct ir_table_delta *td)
{
	const struct ir_table *ot = td->old, *nt = td->new;
	struct names	os, ns, oc, nc;

	names_init(&os, ot->sets, sizeof(*ot->sets), ot->nsets);
	names_init(&ns, nt->sets, sizeof(*nt->sets), nt->nsets);
	names_init(&oc, ot->chains, sizeof(*ot->chains), ot->nchains);
	names_init(&nc, nt->chains, sizeof(*nt->chains), nt->nchains);
	if (os.dup || ns.dup || oc.dup || nc.dup)
		delta_full(d, "table %s %s declares a set or chain twice",
		    ir_family_name(nt->family), nt->name);
	if (!d->full)
		sets_diff(d, td, &os, &ns);
	if (!d->full)
		chains_diff(d, td, &oc, &nc);
	names_release(&os);
	names_release(&ns);
	names_release(&oc);
	names_release(&nc);
}

/* ---- the interface ---- */

static const struct ir_table *
table_find(const struct ir_ruleset *rs, const struct ir_table *t)
{
	size_t	i;

	for (i = 0; i < rs->ntables; i++)
		if (rs->tables[i].family == t->family &&
		    strcmp(rs->tables[i].name, t->name) == 0)
			return &rs->tables[i];
	return NULL;
}

struct ir_delta *
ir_delta_new(const struct ir_ruleset *old, const struct ir_ruleset *new)
{
	struct ir_delta	*d = xcalloc(1, sizeof(*d));
	size_t		 i;

	d->tables = xcalloc(new->ntables + 1, sizeof(*d->tables));
	d->ntables = new->ntables;
	for (i = 0; i < new->ntables && !d->full; i++) {
		const struct ir_table *nt = &new->tables[i];

		d->tables[i].new = nt;
		d->tables[i].old = table_find(old, nt);
		if (d->tables[i].old == NULL)
			delta_full(d, "table %s %s is new",
			    ir_family_name(nt->family), nt->name);
	}
	for (i = 0; i < old->ntables && !d->full; i++)
		if (table_find(new, &old->tables[i]) == NULL)
			delta_full(d, "table %s %s is gone",
			    ir_family_name(old->tables[i].family),
			    old->tables[i].name);
	for (i = 0; i < d->ntables && !d->full; i++)
		table_diff(d, &d->tables[i]);
	return d;
}

static void
table_delta_release(struct ir_table_delta *td)
{
	size_t	i;

	idx_release(&td->add_sets);
	idx_release(&td->del_sets);
	for (i = 0; i < td->nsets; i++) {
		idx_release(&td->sets[i].del);
		idx_release(&td->sets[i].add);
	}
	free(td->sets);
	idx_release(&td->add_chains);
	idx_release(&td->flush_chains);
	idx_release(&td->del_chains);
	idx_release(&td->add_rules);
}

void
ir_delta_free(struct ir_delta *d)
{
	size_t	i;

	if (d == NULL)
		return;
	for (i = 0; i < d->ntables; i++)
		table_delta_release(&d->tables[i]);
	free(d->tables);
	free(d);
}

void
ir_delta_stats(const struct ir_delta *d, struct ir_delta_stats *st)
{
	size_t	i, j;

	memset(st, 0, sizeof(*st));
	for (i = 0; i < d->ntables; i++) {
		const struct ir_table_delta *td = &d->tables[i];

		st->sets_added += td->add_sets.n;
		st->sets_deleted += td->del_sets.n;
		for (j = 0; j < td->add_sets.n; j++)
			st->elems_added +=
			    td->new->sets[td->add_sets.v[j]].nelems;
		for (j = 0; j < td->nsets; j++) {
			const struct ir_set_delta *sd = &td->sets[j];

			if (sd->refill) {
				st->elems_deleted += td->old->sets[sd->oset].nelems;
				st->elems_added += td->new->sets[sd->nset].nelems;
			}
			st->elems_deleted += sd->del.n;
			st->elems_added += sd->add.n;
		}
		st->chains_added += td->add_chains.n;
		st->chains_deleted += td->del_chains.n;
		st->chains_flushed += td->flush_chains.n;
		st->rules_added += td->add_rules.n;
	}
}

int
ir_delta_empty(const struct ir_delta *d)
{
	struct ir_delta_stats	st;

	if (d->full)
		return 0;
	ir_delta_stats(d, &st);
	return st.sets_added + st.sets_deleted + st.elems_added +
	    st.elems_deleted + st.chains_added + st.chains_deleted +
	    st.chains_flushed + st.rules_added == 0;
}

/* ---- applying a delta to a ruleset kept in memory ---- */

static struct ir_table *
table_find_rw(struct ir_ruleset *rs, const struct ir_table *t)
{
	return (struct ir_table *)table_find(rs, t);
}

static void
rule_copy(struct ir_table *t, const struct ir_rule *r)
{
	struct ir_rule	*n = ir_rule_add(t, r->chain);
	size_t		 i;

	for (i = 0; i < r->nexprs; i++)
		*ir_expr_add(n, r->exprs[i].kind) = r->exprs[i];
	n->text = r->text ? xstrdup(r->text) : NULL;
	n->comment = r->comment ? xstrdup(r->comment) : NULL;
}

/* Removes chain name's rules from t (and the chain itself when del). */
static void
chain_remove(struct ir_table *t, const char *name, int del)
{
	size_t	i, n;

	for (i = n = 0; i < t->nrules; i++) {
		if (strcmp(t->rules[i].chain, name) == 0) {
			free(t->rules[i].exprs);
			free(t->rules[i].text);
			free(t->rules[i].comment);
			continue;
		}
		t->rules[n++] = t->rules[i];
	}
	t->nrules = n;
	if (!del)
		return;
	for (i = 0; i < t->nchains; i++)
		if (strcmp(t->chains[i].name, name) == 0) {
			memmove(&t->chains[i], &t->chains[i + 1],
			    (t->nchains - i - 1) * sizeof(*t->chains));
			t->nchains--;
			break;
		}
}

/* Deletes the element of s whose key is e's; -1 when there is none. */
static int
elem_remove(struct ir_set *s, const struct ir_elem *e)
{
	size_t	i;

	for (i = 0; i < s->nelems; i++)
		if (elem_key_cmp(s, &s->elems[i], e) == 0) {
			s->elems[i] = s->elems[--s->nelems];
			return 0;
		}
	return -1;
}

static int
table_delta_apply(struct ir_table *t, const struct ir_table_delta *td)
{
	size_t	i, j;

	if (td->add_sets.n || td->del_sets.n)
		return -1;
	for (i = 0; i < td->nsets; i++) {
		const struct ir_set_delta *sd = &td->sets[i];
		const struct ir_set *os = &td->old->sets[sd->oset];
		const struct ir_set *ns = &td->new->sets[sd->nset];
		struct ir_set *s = ir_set_find(t, ns->name);

		if (s == NULL || sd->refill)
			return -1;
		for (j = 0; j < sd->del.n; j++)
			if (elem_remove(s, &os->elems[sd->del.v[j]]) == -1)
				return -1;
		for (j = 0; j < sd->add.n; j++)
			*ir_elem_add(s) = ns->elems[sd->add.v[j]];
	}
	for (i = 0; i < td->del_chains.n; i++)
		chain_remove(t, td->old->chains[td->del_chains.v[i]].name, 1);
	for (i = 0; i < td->flush_chains.n; i++)
		chain_remove(t, td->new->chains[td->flush_chains.v[i]].name, 0);
	for (i = 0; i < td->add_chains.n; i++)
		*ir_chain_add(t, td->new->chains[td->add_chains.v[i]].name) =
		    td->new->chains[td->add_chains.v[i]];
	for (i = 0; i < td->add_rules.n; i++)
		rule_copy(t, &td->new->rules[td->add_rules.v[i]]);
	return 0;
}

int
ir_delta_apply(struct ir_ruleset *rs, const struct ir_delta *d)
{
	size_t	i;

	if (d->full)
		return -1;
	for (i = 0; i < d->ntables; i++) {
		struct ir_table *t = table_find_rw(rs, d->tables[i].new);

		if (t == NULL || table_delta_apply(t, &d->tables[i]) == -1)
			return -1;
	}
	return 0;
}
