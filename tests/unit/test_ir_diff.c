/*
 * test_ir_diff.c: the difference between two rulesets (ir_diff.c), on IR
 * built by hand: elements by key (repeats, reordering, changed map data),
 * interval sets and their gap element, sets and chains added and
 * removed, chains whose rules changed, and every case that asks for a
 * full replace.
 */
#include <arpa/inet.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "ir.h"
#include "ir_diff.h"
#include "util.h"

#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>

/* ---- building IR ---- */

static void
ip4(uint8_t *key, const char *s)
{
	assert_int_equal(inet_pton(AF_INET, s, key), 1);
}

static void
elem_ip(struct ir_set *s, const char *a)
{
	ip4(ir_elem_add(s)->key, a);
}

static void
elem_range(struct ir_set *s, const char *lo, const char *hi)
{
	struct ir_elem	*e = ir_elem_add(s);

	ip4(e->key, lo);
	ip4(e->key_end, hi);
}

static void
elem_jump(struct ir_set *s, const char *a, const char *chain)
{
	struct ir_elem	*e = ir_elem_add(s);

	ip4(e->key, a);
	e->verdict = NFT_JUMP;
	strlcpy_bh(e->chain, chain, sizeof(e->chain));
}

static struct ir_set *
set4(struct ir_table *t, const char *name, uint32_t flags)
{
	struct ir_set	*s = ir_set_add(t, name);

	s->key_type = IR_TYPE_IPV4;
	s->key_len = 4;
	s->nfields = 1;
	s->field_len[0] = 4;
	s->flags = flags;
	if (flags & NFT_SET_MAP)
		s->data_type = NFT_DATA_VERDICT;
	return s;
}

static void
rule_accept(struct ir_table *t, const char *chain, const char *set,
    int code, const char *to)
{
	struct ir_rule	*r = ir_rule_add(t, chain);
	struct ir_expr	*e = ir_expr_add(r, IR_PAYLOAD);

	e->u.payload.base = NFT_PAYLOAD_NETWORK_HEADER;
	e->u.payload.offset = 12;
	e->u.payload.len = 4;
	e->u.payload.dreg = NFT_REG32_00;
	e = ir_expr_add(r, IR_LOOKUP);
	strlcpy_bh(e->u.lookup.set, set, sizeof(e->u.lookup.set));
	e->u.lookup.sreg = NFT_REG32_00;
	e = ir_expr_add(r, IR_COUNTER);
	e = ir_expr_add(r, IR_VERDICT);
	e->u.verdict.code = code;
	if (to)
		strlcpy_bh(e->u.verdict.chain, to, sizeof(e->u.verdict.chain));
}

/*
 * table inet t: sets addrs (hash), peers (interval), disp (vmap);
 * chains forward (base), c1, c2 (each with two rules).
 */
static struct ir_ruleset *
base(void)
{
	struct ir_ruleset	*rs = ir_ruleset_new();
	struct ir_table		*t = ir_table_add(rs, "t", NFPROTO_INET);
	struct ir_chain		*ch;
	struct ir_set		*s;

	s = set4(t, "addrs", 0);
	elem_ip(s, "10.0.0.2");
	elem_ip(s, "10.0.0.3");
	elem_ip(s, "10.0.0.4");
	s = set4(t, "peers", NFT_SET_INTERVAL);
	elem_range(s, "10.0.0.2", "10.0.0.3");
	elem_range(s, "10.0.0.8", "10.0.0.8");
	s = set4(t, "disp", NFT_SET_MAP);
	elem_jump(s, "10.0.0.2", "c1");
	elem_jump(s, "10.0.0.3", "c2");
	ch = ir_chain_add(t, "forward");
	ch->base = 1;
	strlcpy_bh(ch->type, "filter", sizeof(ch->type));
	ch->hook = NF_INET_FORWARD;
	ch->priority = -10;
	ir_chain_add(t, "c1");
	ir_chain_add(t, "c2");
	rule_accept(t, "forward", "addrs", NFT_JUMP, "c1");
	rule_accept(t, "c1", "peers", NF_ACCEPT, NULL);
	rule_accept(t, "c2", "peers", NF_ACCEPT, NULL);
	rule_accept(t, "c1", "addrs", NF_DROP, NULL);
	rule_accept(t, "c2", "addrs", NF_DROP, NULL);
	return rs;
}

static struct ir_set *
set_of(struct ir_ruleset *rs, const char *name)
{
	struct ir_set	*s = ir_set_find(&rs->tables[0], name);

	assert_non_null(s);
	return s;
}

/* The set delta of the named new set, or NULL. */
static const struct ir_set_delta *
sd_of(const struct ir_delta *d, const char *name)
{
	const struct ir_table_delta *td = &d->tables[0];
	size_t	i;

	for (i = 0; i < td->nsets; i++)
		if (strcmp(td->new->sets[td->sets[i].nset].name, name) == 0)
			return &td->sets[i];
	return NULL;
}

static void
expect_stats(const struct ir_delta *d, size_t ea, size_t ed, size_t ca,
    size_t cd, size_t cf, size_t ra)
{
	struct ir_delta_stats	st;

	assert_false(d->full);
	ir_delta_stats(d, &st);
	assert_int_equal(st.elems_added, ea);
	assert_int_equal(st.elems_deleted, ed);
	assert_int_equal(st.chains_added, ca);
	assert_int_equal(st.chains_deleted, cd);
	assert_int_equal(st.chains_flushed, cf);
	assert_int_equal(st.rules_added, ra);
}

/* ---- tests ---- */

static void
test_same(void **state)
{
	struct ir_ruleset	*a = base(), *b = base();
	struct ir_delta		*d = ir_delta_new(a, b);

	(void)state;
	assert_false(d->full);
	assert_true(ir_delta_empty(d));
	ir_delta_free(d);
	ir_ruleset_free(a);
	ir_ruleset_free(b);
}

static void
test_elem_added_removed(void **state)
{
	struct ir_ruleset	*a = base(), *b = base();
	struct ir_set		*s = set_of(b, "addrs");
	const struct ir_set_delta *sd;
	struct ir_delta		*d;

	(void)state;
	/* 10.0.0.3 goes, 10.0.0.9 comes in the middle. */
	ip4(s->elems[1].key, "10.0.0.9");
	d = ir_delta_new(a, b);
	expect_stats(d, 1, 1, 0, 0, 0, 0);
	sd = sd_of(d, "addrs");
	assert_non_null(sd);
	assert_int_equal(sd->del.n, 1);
	assert_int_equal(sd->del.v[0], 1);
	assert_int_equal(sd->add.n, 1);
	assert_int_equal(sd->add.v[0], 1);
	assert_false(sd->refill);
	ir_delta_free(d);
	ir_ruleset_free(a);
	ir_ruleset_free(b);
}

static void
test_elem_reordered_repeated(void **state)
{
	struct ir_ruleset	*a = base(), *b = base();
	struct ir_set		*s = set_of(b, "addrs");
	struct ir_delta		*d;

	(void)state;
	/* Same keys, other order, one repeated: nothing to do. */
	ip4(s->elems[0].key, "10.0.0.4");
	ip4(s->elems[2].key, "10.0.0.2");
	elem_ip(s, "10.0.0.3");
	elem_ip(s, "10.0.0.2");
	d = ir_delta_new(a, b);
	assert_true(ir_delta_empty(d));
	ir_delta_free(d);
	/* And back: the repeats leave the new set, their key stays. */
	d = ir_delta_new(b, a);
	assert_true(ir_delta_empty(d));
	ir_delta_free(d);
	ir_ruleset_free(a);
	ir_ruleset_free(b);
}

static void
test_elem_repeat_in_kept_end(void **state)
{
	struct ir_ruleset	*a = base(), *b = base();
	struct ir_set		*s = set_of(a, "addrs");
	struct ir_delta		*d;

	(void)state;
	/* old: .2 .3 .4 .2; new: .2 .3 .4: the repeat's key stays. */
	elem_ip(s, "10.0.0.2");
	d = ir_delta_new(a, b);
	assert_true(ir_delta_empty(d));
	ir_delta_free(d);
	/* old: .2 .3 .4 .2; new: .2 .4: only .3 goes. */
	s = set_of(b, "addrs");
	s->elems[1] = s->elems[2];
	s->nelems = 2;
	d = ir_delta_new(a, b);
	expect_stats(d, 0, 1, 0, 0, 0, 0);
	assert_memory_equal(a->tables[0].sets[0].elems[sd_of(d, "addrs")->del.v[0]].key,
	    "\x0a\x00\x00\x03", 4);
	ir_delta_free(d);
	ir_ruleset_free(a);
	ir_ruleset_free(b);
}

static void
test_vmap_data_changed(void **state)
{
	struct ir_ruleset	*a = base(), *b = base();
	struct ir_set		*s = set_of(b, "disp");
	const struct ir_set_delta *sd;
	struct ir_delta		*d;

	(void)state;
	strlcpy_bh(s->elems[1].chain, "c1", sizeof(s->elems[1].chain));
	d = ir_delta_new(a, b);
	expect_stats(d, 1, 1, 0, 0, 0, 0);
	sd = sd_of(d, "disp");
	assert_int_equal(sd->del.v[0], 1);
	assert_int_equal(sd->add.v[0], 1);
	ir_delta_free(d);
	ir_ruleset_free(a);
	ir_ruleset_free(b);
}

static void
test_interval(void **state)
{
	struct ir_ruleset	*a = base(), *b = base(), *c = base();
	struct ir_set		*s = set_of(b, "peers");
	const struct ir_set_delta *sd;
	struct ir_delta		*d;

	(void)state;
	/* [.2, .3] grows to [.2, .4]: a range is its start and end. */
	ip4(s->elems[0].key_end, "10.0.0.4");
	d = ir_delta_new(a, b);
	expect_stats(d, 1, 1, 0, 0, 0, 0);
	sd = sd_of(d, "peers");
	assert_false(sd->refill);
	ir_delta_free(d);
	/* A single value written with key_end left zero is the same. */
	memset(set_of(c, "peers")->elems[1].key_end, 0, 4);
	d = ir_delta_new(a, c);
	assert_true(ir_delta_empty(d));
	ir_delta_free(d);
	/* A range starting at zero appears: the gap element goes. */
	s = set_of(c, "peers");
	memset(s->elems[0].key, 0, 4);
	d = ir_delta_new(a, c);
	sd = sd_of(d, "peers");
	assert_non_null(sd);
	assert_true(sd->refill);
	assert_int_equal(sd->del.n + sd->add.n, 0);
	expect_stats(d, 2, 2, 0, 0, 0, 0);
	ir_delta_free(d);
	/* From empty (no gap element) to ranges above zero (a gap). */
	s = set_of(a, "peers");
	s->nelems = 0;
	d = ir_delta_new(a, b);
	sd = sd_of(d, "peers");
	assert_true(sd->refill);
	expect_stats(d, 2, 0, 0, 0, 0, 0);
	ir_delta_free(d);
	ir_ruleset_free(a);
	ir_ruleset_free(b);
	ir_ruleset_free(c);
}

/* Drops the rules from n on. */
static void
rules_truncate(struct ir_table *t, size_t n)
{
	while (t->nrules > n) {
		struct ir_rule *r = &t->rules[--t->nrules];

		free(r->exprs);
		free(r->text);
		free(r->comment);
	}
}

static void
test_sets_added_removed(void **state)
{
	struct ir_ruleset	*a = base(), *b = base();
	struct ir_table		*t = &b->tables[0];
	struct ir_delta		*d;

	(void)state;
	/* "addrs" goes (nothing refers to it any more), "extra" comes. */
	free(t->sets[0].elems);
	t->sets[0] = t->sets[--t->nsets];
	elem_ip(set4(t, "extra", 0), "192.168.0.1");
	strlcpy_bh(t->rules[0].exprs[1].u.lookup.set, "extra",
	    sizeof(t->rules[0].exprs[1].u.lookup.set));
	rules_truncate(t, 3);	/* c1 and c2 keep their peers rule only */
	d = ir_delta_new(a, b);
	assert_false(d->full);
	assert_int_equal(d->tables[0].add_sets.n, 1);
	assert_string_equal(t->sets[d->tables[0].add_sets.v[0]].name, "extra");
	assert_int_equal(d->tables[0].del_sets.n, 1);
	assert_string_equal(a->tables[0].sets[d->tables[0].del_sets.v[0]].name,
	    "addrs");
	/* forward, c1 and c2 changed: flushed, 3 rules again. */
	expect_stats(d, 1, 0, 0, 0, 3, 3);
	ir_delta_free(d);
	ir_ruleset_free(a);
	ir_ruleset_free(b);
}

static void
test_chains(void **state)
{
	struct ir_ruleset	*a = base(), *b = base();
	struct ir_table		*t = &b->tables[0];
	const struct ir_table_delta *td;
	struct ir_delta		*d;

	(void)state;
	/* c3 comes with two rules; c2's second rule changes. */
	ir_chain_add(t, "c3");
	rule_accept(t, "c3", "peers", NF_ACCEPT, NULL);
	rule_accept(t, "c3", "addrs", NF_DROP, NULL);
	t->rules[4].exprs[3].u.verdict.code = NF_ACCEPT;
	d = ir_delta_new(a, b);
	expect_stats(d, 0, 0, 1, 0, 1, 4);
	td = &d->tables[0];
	assert_string_equal(t->chains[td->add_chains.v[0]].name, "c3");
	assert_string_equal(t->chains[td->flush_chains.v[0]].name, "c2");
	/* Rules grouped by chain, each chain's in order: c2's, then c3's. */
	assert_int_equal(td->add_rules.v[0], 2);
	assert_int_equal(td->add_rules.v[1], 4);
	assert_int_equal(td->add_rules.v[2], 5);
	assert_int_equal(td->add_rules.v[3], 6);
	ir_delta_free(d);
	/* The other way: c3 goes, c2 is flushed and refilled. */
	d = ir_delta_new(b, a);
	expect_stats(d, 0, 0, 0, 1, 1, 2);
	assert_string_equal(t->chains[d->tables[0].del_chains.v[0]].name, "c3");
	ir_delta_free(d);
	ir_ruleset_free(a);
	ir_ruleset_free(b);
}

static void
test_rules_interleaved(void **state)
{
	struct ir_ruleset	*a = base(), *b = base();
	struct ir_table		*t = &b->tables[0];
	struct ir_rule		 tmp;
	struct ir_delta		*d;

	(void)state;
	/* Table order of rules differs, each chain's order does not. */
	tmp = t->rules[1];
	t->rules[1] = t->rules[2];
	t->rules[2] = tmp;
	d = ir_delta_new(a, b);
	assert_true(ir_delta_empty(d));
	ir_delta_free(d);
	/* Within a chain the order matters. */
	tmp = t->rules[2];
	t->rules[2] = t->rules[3];
	t->rules[3] = tmp;
	d = ir_delta_new(a, b);
	expect_stats(d, 0, 0, 0, 0, 1, 2);
	ir_delta_free(d);
	ir_ruleset_free(a);
	ir_ruleset_free(b);
}

static void
test_comment(void **state)
{
	struct ir_ruleset	*a = base(), *b = base();
	struct ir_delta		*d;

	(void)state;
	b->tables[0].rules[0].comment = xstrdup("new");
	d = ir_delta_new(a, b);
	expect_stats(d, 0, 0, 0, 0, 1, 1);
	ir_delta_free(d);
	/* The text is for people: the kernel never sees it. */
	a->tables[0].rules[0].comment = xstrdup("new");
	a->tables[0].rules[0].text = xstrdup("whatever");
	d = ir_delta_new(a, b);
	assert_true(ir_delta_empty(d));
	ir_delta_free(d);
	ir_ruleset_free(a);
	ir_ruleset_free(b);
}

static void
expect_full(struct ir_ruleset *a, struct ir_ruleset *b, const char *why)
{
	struct ir_delta	*d = ir_delta_new(a, b);

	assert_true(d->full);
	assert_false(ir_delta_empty(d));
	assert_non_null(strstr(d->why, why));
	ir_delta_free(d);
	ir_ruleset_free(a);
	ir_ruleset_free(b);
}

static void
test_full(void **state)
{
	struct ir_ruleset	*b;

	(void)state;
	b = base();
	set_of(b, "addrs")->flags |= NFT_SET_INTERVAL;
	expect_full(base(), b, "set addrs of table inet t changed its definition");
	b = base();
	set_of(b, "disp")->data_type = IR_TYPE_IPV4;
	set_of(b, "disp")->data_len = 4;
	expect_full(base(), b, "set disp");
	b = base();
	b->tables[0].chains[0].priority = 0;
	expect_full(base(), b, "base chain forward");
	b = base();
	b->tables[0].chains[0].policy = NF_DROP;
	expect_full(base(), b, "base chain forward");
	b = base();
	b->tables[0].chains[1].base = 1;
	expect_full(base(), b, "base chain c1");
	b = base();
	ir_table_add(b, "t", NFPROTO_BRIDGE);
	expect_full(base(), b, "table bridge t is new");
	b = base();
	expect_full(b, ir_ruleset_new(), "table inet t is gone");
	b = base();
	strlcpy_bh(b->tables[0].rules[4].chain, "nowhere", IR_NAMELEN);
	expect_full(base(), b, "undeclared chain");
	b = base();
	ir_chain_add(&b->tables[0], "c1");
	expect_full(base(), b, "twice");
}

static void
test_constant(void **state)
{
	struct ir_ruleset	*a = base(), *b = base();
	struct ir_delta		*d;

	(void)state;
	set_of(a, "addrs")->flags |= NFT_SET_CONSTANT;
	set_of(b, "addrs")->flags |= NFT_SET_CONSTANT;
	d = ir_delta_new(a, b);
	assert_true(ir_delta_empty(d));
	ir_delta_free(d);
	set_of(b, "addrs")->nelems--;
	expect_full(a, b, "constant set addrs");
}

static void
test_rule_equal(void **state)
{
	struct ir_ruleset	*a = base(), *b = base();
	struct ir_rule		*ra = &a->tables[0].rules[0];
	struct ir_rule		*rb = &b->tables[0].rules[0];

	(void)state;
	assert_true(ir_rule_equal(ra, rb));
	rb->exprs[0].u.payload.offset = 16;
	assert_false(ir_rule_equal(ra, rb));
	rb->exprs[0].u.payload.offset = 12;
	rb->exprs[1].u.lookup.invert = 1;
	assert_false(ir_rule_equal(ra, rb));
	rb->exprs[1].u.lookup.invert = 0;
	strlcpy_bh(rb->exprs[3].u.verdict.chain, "c2", IR_NAMELEN);
	assert_false(ir_rule_equal(ra, rb));
	/* A chain name means nothing to accept or drop. */
	ra->exprs[3].u.verdict.code = rb->exprs[3].u.verdict.code = NF_ACCEPT;
	assert_true(ir_rule_equal(ra, rb));
	ir_expr_add(rb, IR_COUNTER);
	assert_false(ir_rule_equal(ra, rb));
	ir_ruleset_free(a);
	ir_ruleset_free(b);
}

/* A ct load of one direction's tuple differs from the other direction's
 * and from a load without direction. */
static void
test_rule_equal_ct_dir(void **state)
{
	struct ir_rule	ra, rb;
	struct ir_expr	*ea, *eb;

	(void)state;
	memset(&ra, 0, sizeof(ra));
	memset(&rb, 0, sizeof(rb));
	ea = ir_expr_add(&ra, IR_CT);
	eb = ir_expr_add(&rb, IR_CT);
	ea->u.ct.key = eb->u.ct.key = NFT_CT_PROTO_DST;
	ea->u.ct.dreg = eb->u.ct.dreg = NFT_REG32_00;
	assert_true(ir_rule_equal(&ra, &rb));
	ea->u.ct.has_dir = 1;
	assert_false(ir_rule_equal(&ra, &rb));
	eb->u.ct.has_dir = 1;
	eb->u.ct.dir = 1;
	assert_false(ir_rule_equal(&ra, &rb));
	eb->u.ct.dir = 0;
	assert_true(ir_rule_equal(&ra, &rb));
	ea->u.ct.has_dir = eb->u.ct.has_dir = 0;
	ea->u.ct.dir = 1;	/* no direction: dir means nothing */
	assert_true(ir_rule_equal(&ra, &rb));
	free(ra.exprs);
	free(rb.exprs);
}

/* 10000 addresses; one more in the middle is one element to add. */
static void
test_large(void **state)
{
	struct ir_ruleset	*a = base(), *b = base();
	struct ir_set		*sa = set_of(a, "addrs"), *sb;
	const struct ir_set_delta *sd;
	struct ir_delta		*d;
	uint32_t		 i, v;

	(void)state;
	for (i = 0; i < 10000; i++) {
		v = htonl(0x0b000000u + i);
		memcpy(ir_elem_add(sa)->key, &v, 4);
	}
	sb = set_of(b, "addrs");
	for (i = 0; i < 10000; i++) {
		v = htonl(0x0b000000u + i);
		memcpy(ir_elem_add(sb)->key, &v, 4);
		if (i == 5000) {
			v = htonl(0x0c000000u);
			memcpy(ir_elem_add(sb)->key, &v, 4);
		}
	}
	d = ir_delta_new(a, b);
	expect_stats(d, 1, 0, 0, 0, 0, 0);
	sd = sd_of(d, "addrs");
	assert_int_equal(sd->add.v[0], 3 + 5001);
	ir_delta_free(d);
	/* Reversed order: still nothing but that one element. */
	for (i = 0; i < sb->nelems / 2; i++) {
		struct ir_elem tmp = sb->elems[i];

		sb->elems[i] = sb->elems[sb->nelems - 1 - i];
		sb->elems[sb->nelems - 1 - i] = tmp;
	}
	d = ir_delta_new(a, b);
	expect_stats(d, 1, 0, 0, 0, 0, 0);
	ir_delta_free(d);
	d = ir_delta_new(b, a);
	expect_stats(d, 0, 1, 0, 0, 0, 0);
	ir_delta_free(d);
	ir_ruleset_free(a);
	ir_ruleset_free(b);
}

/* A trimmed ruleset is the same ruleset, and still grows. */
static void
test_trim(void **state)
{
	struct ir_ruleset	*a = base(), *b = base();
	struct ir_set		*s = set_of(b, "addrs");
	struct ir_delta		*d;

	(void)state;
	ir_ruleset_trim(b);
	assert_int_equal(s->cap, s->nelems);
	assert_int_equal(b->tables[0].rules[0].cap, 4);
	d = ir_delta_new(a, b);
	assert_true(ir_delta_empty(d));
	ir_delta_free(d);
	elem_ip(s, "10.0.0.5");
	ir_expr_add(&b->tables[0].rules[0], IR_COUNTER);
	d = ir_delta_new(a, b);
	expect_stats(d, 1, 0, 0, 0, 1, 1);
	ir_delta_free(d);
	ir_ruleset_free(a);
	ir_ruleset_free(b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_same),
		cmocka_unit_test(test_elem_added_removed),
		cmocka_unit_test(test_elem_reordered_repeated),
		cmocka_unit_test(test_elem_repeat_in_kept_end),
		cmocka_unit_test(test_vmap_data_changed),
		cmocka_unit_test(test_interval),
		cmocka_unit_test(test_sets_added_removed),
		cmocka_unit_test(test_chains),
		cmocka_unit_test(test_rules_interleaved),
		cmocka_unit_test(test_comment),
		cmocka_unit_test(test_full),
		cmocka_unit_test(test_constant),
		cmocka_unit_test(test_rule_equal),
		cmocka_unit_test(test_rule_equal_ct_dir),
		cmocka_unit_test(test_large),
		cmocka_unit_test(test_trim),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
