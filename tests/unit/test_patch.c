/*
 * test_patch.c: compile_state_patch against a whole compile.  Containers
 * come, go and change (labels, veth, address) one at a time under fixed
 * and random policy sets; after every patch, the kept ruleset with the
 * patch applied (ir_delta_apply) must equal compile_ruleset of the new
 * inventory, and the patch must be the size of one container, not of
 * the inventory.
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

#include "compile.h"
#include "errlist.h"
#include "inventory.h"
#include "ir.h"
#include "ir_diff.h"
#include "policy.h"
#include "util.h"

#define BRIDGE		"br-0123456789ab"
#include "policy_fixtures.h"

#define STEPS	40	/* per policy set; PATCH_STEPS=N for more */

/* A container numbered n (its address 10.1.0.n) with random labels. */
static struct container *
r_container(int n)
{
	struct container *c = mkct(n, PICK(ct_labels), rand() % 3 != 0);

	/* Now and then the veth is not known yet (fail-closed claim). */
	if (rand() % 6 == 0)
		c->eps[0].veth[0] = '\0';
	return c;
}

/* A number in 10..249 no container of inv has (0 if all taken). */
static int
r_free(const struct inventory *inv)
{
	char	id[65];
	int	tries, n;

	for (tries = 0; tries < 100; tries++) {
		n = 10 + rand() % 240;
		snprintf(id, sizeof(id), "%012x0000", n);
		if (inventory_get(inv, id) == NULL)
			return n;
	}
	return 0;
}

static struct container *
r_member(const struct inventory *inv)
{
	struct container	*ct;
	size_t			 k = inv->n ? (size_t)rand() % inv->n : 0;

	TAILQ_FOREACH(ct, &inv->containers, entry)
		if (k-- == 0)
			return ct;
	return NULL;
}

static void
show(const char *what, const struct ir_delta *d)
{
	struct ir_delta_stats st;

	ir_delta_stats(d, &st);
	print_error("%s: full %d (%s), elements +%zu -%zu, sets +%zu -%zu, "
	    "chains +%zu -%zu ~%zu, rules +%zu\n", what, d->full, d->why,
	    st.elems_added, st.elems_deleted, st.sets_added, st.sets_deleted,
	    st.chains_added, st.chains_deleted, st.chains_flushed,
	    st.rules_added);
}

/* One change: patched, applied to the kept ruleset, compared. */
static void
step(struct compile_state *st, struct policy_set *ps, struct inventory *inv,
    const struct compile_opts *o, const char *what)
{
	struct container	*old = NULL, *new = NULL;
	struct ir_ruleset	*from = compile_patch_new(st);
	struct ir_ruleset	*to = compile_patch_new(st);
	struct ir_ruleset	*full;
	struct ir_delta		*d;
	struct ir_delta_stats	 s;
	int			 op = rand() % 3, n;

	if (op == 0 && (n = r_free(inv)) != 0)
		new = r_container(n);
	else if (op == 1 || inv->n > 200)
		old = r_member(inv);
	else if ((old = r_member(inv)) != NULL) {
		n = (int)strtol(old->id, NULL, 16) >> 16;
		new = r_container(n);
	}
	assert_int_equal(compile_state_patch(st, old, new, from, to), 0);
	d = ir_delta_new(from, to);
	if (d->full)
		show(what, d);
	assert_false(d->full);
	ir_delta_stats(d, &s);
	/* One container's worth, whatever the inventory. */
	assert_true(s.elems_added + s.elems_deleted <= 40);
	assert_int_equal(ir_delta_apply(compile_state_ruleset(st), d), 0);
	ir_delta_free(d);
	ir_ruleset_free(from);
	ir_ruleset_free(to);
	if (new != NULL)
		inventory_put(inv, new);
	else if (old != NULL)
		inventory_del(inv, old->id);
	full = compile_ruleset(ps, inv, o);
	d = ir_delta_new(compile_state_ruleset(st), full);
	if (!ir_delta_empty(d))
		show(what, d);
	assert_true(ir_delta_empty(d));
	ir_delta_free(d);
	ir_ruleset_free(full);
}

static void
run(struct policy_set *ps, int steps, const char *what)
{
	struct compile_state	*st;
	struct compile_opts	 o;
	struct inventory	 inv;
	int			 i;

	compile_opts_default(&o);
	inv_fill(&inv);
	st = compile_state_new(ps, &inv, &o);
	for (i = 0; i < steps; i++)
		step(st, ps, &inv, &o, what);
	compile_state_free(st);
	inventory_release(&inv);
}

static void
test_fixed_policies_patch(void **state)
{
	struct policy_set	*ps = load(FIXED, 1);

	(void)state;
	srand(20261130);
	run(ps, 300, "fixed");
	policy_set_free(ps);
}

static void
test_random_policies_patch(void **state)
{
	int	round, loaded = 0, steps = STEPS;

	(void)state;
	if (getenv("PATCH_STEPS"))
		steps = atoi(getenv("PATCH_STEPS"));
	srand(20261131);
	for (round = 0; round < 200; round++) {
		char			*json = r_policies();
		struct policy_set	*ps = load(json, 0);
		char			 what[32];

		if (ps != NULL) {
			snprintf(what, sizeof(what), "random set %d", round);
			run(ps, steps, what);
			loaded++;
			policy_set_free(ps);
		}
		free(json);
	}
	assert_true(loaded > 100);
}

/* What a patch cannot do in place, it refuses: the caller compiles whole. */
static void
test_refused(void **state)
{
	struct policy_set	*ps = load(FIXED, 1);
	struct compile_opts	 o;
	struct inventory	 inv;
	struct compile_state	*st;
	struct ir_ruleset	*from, *to;
	struct container	*ct = mkct(99, "app=web", 0);

	(void)state;
	compile_opts_default(&o);
	inv_fill(&inv);
	st = compile_state_new(ps, &inv, &o);
	from = compile_patch_new(st);
	to = compile_patch_new(st);
	/* A bridge the bridges set holds only while a container is on it. */
	snprintf(ct->eps[0].bridge, sizeof(ct->eps[0].bridge), "podman0");
	assert_int_equal(compile_state_patch(st, NULL, ct, from, to), -1);
	ir_ruleset_free(from);
	ir_ruleset_free(to);
	container_free(ct);
	compile_state_free(st);
	inventory_release(&inv);
	policy_set_free(ps);
}

/* One container's patch, checked against a whole compile; -1 if refused. */
static int
patch_one(struct compile_state *st, struct policy_set *ps,
    struct inventory *inv, const struct compile_opts *o,
    struct container *old, struct container *new)
{
	struct ir_ruleset	*from = compile_patch_new(st);
	struct ir_ruleset	*to = compile_patch_new(st);
	struct ir_ruleset	*full;
	struct ir_delta		*d;
	int			 rc;

	rc = compile_state_patch(st, old, new, from, to);
	if (rc == 0) {
		d = ir_delta_new(from, to);
		assert_int_equal(ir_delta_apply(compile_state_ruleset(st), d),
		    0);
		ir_delta_free(d);
	}
	ir_ruleset_free(from);
	ir_ruleset_free(to);
	if (rc == -1) {
		container_free(new);
		return -1;
	}
	if (new != NULL)
		inventory_put(inv, new);
	else
		inventory_del(inv, old->id);
	full = compile_ruleset(ps, inv, o);
	d = ir_delta_new(compile_state_ruleset(st), full);
	if (!ir_delta_empty(d))
		show("other bridge", d);
	assert_true(ir_delta_empty(d));
	ir_delta_free(d);
	ir_ruleset_free(full);
	return 0;
}

static struct container *
on_bridge(struct container *c, const char *bridge)
{
	snprintf(c->eps[0].bridge, sizeof(c->eps[0].bridge), "%s", bridge);
	return c;
}

/*
 * Podman's podman0 is in the bridges set by name, as long as a container
 * is on it: patches while others stay on it, whole compiles for the first
 * one on and the last one off.
 */
static void
test_other_bridge(void **state)
{
	struct policy_set	*ps = load(FIXED, 1);
	struct compile_opts	 o;
	struct inventory	 inv;
	struct compile_state	*st;
	char			 id[65];

	(void)state;
	compile_opts_default(&o);
	inv_fill(&inv);
	inventory_put(&inv, on_bridge(mkct(60, "app=web", 1), "podman0"));
	inventory_put(&inv, on_bridge(mkct(61, "app=db", 0), "podman0"));
	st = compile_state_new(ps, &inv, &o);
	/* A third on podman0, one changing, one leaving: patched. */
	assert_int_equal(patch_one(st, ps, &inv, &o, NULL,
	    on_bridge(mkct(62, "app=api", 1), "podman0")), 0);
	snprintf(id, sizeof(id), "%012x0000", 61);
	assert_int_equal(patch_one(st, ps, &inv, &o, inventory_get(&inv, id),
	    on_bridge(mkct(61, "app=cache", 0), "podman0")), 0);
	snprintf(id, sizeof(id), "%012x0000", 62);
	assert_int_equal(patch_one(st, ps, &inv, &o, inventory_get(&inv, id),
	    NULL), 0);
	snprintf(id, sizeof(id), "%012x0000", 60);
	assert_int_equal(patch_one(st, ps, &inv, &o, inventory_get(&inv, id),
	    NULL), 0);
	/* The last one on podman0 and the first on podman1: refused. */
	snprintf(id, sizeof(id), "%012x0000", 61);
	assert_int_equal(patch_one(st, ps, &inv, &o, inventory_get(&inv, id),
	    NULL), -1);
	assert_int_equal(patch_one(st, ps, &inv, &o, NULL,
	    on_bridge(mkct(63, "app=web", 0), "podman1")), -1);
	compile_state_free(st);
	inventory_release(&inv);
	policy_set_free(ps);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fixed_policies_patch),
		cmocka_unit_test(test_random_policies_patch),
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_other_bridge),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
