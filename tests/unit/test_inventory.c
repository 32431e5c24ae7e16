/*
 * test_inventory.c: the container inventory: put replaces by id and frees
 * the old entry, get resolves full ids, names and unique prefixes of at
 * least 12 characters (ambiguous or short prefixes resolve to nothing),
 * del removes and frees, release frees everything.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "inventory.h"
#include "util.h"

#define ID_A	"c7908f73a164a14e0e6fdffa744ae25c4c7f128d4ff24345375da87fa090b154"
#define ID_B	"c7908f73a164ffff0e6fdffa744ae25c4c7f128d4ff24345375da87fa090b154"
#define ID_C	"64ad365a5d49dfdc70879f562910ce6ec148a8151e4edd032218351925a6ff2d"

static struct container *
mkct(const char *id, const char *name, const char *app)
{
	struct container	*c = container_new();

	strlcpy_bh(c->id, id, sizeof(c->id));
	c->name = xstrdup(name);
	c->network_mode = xstrdup("default");
	c->sandbox_key = xstrdup("/var/run/docker/netns/0123456789ab");
	labelset_set(&c->labels, "app", app);
	c->eps = xcalloc(2, sizeof(*c->eps));
	c->neps = 2;
	c->running = 1;
	return c;
}

static size_t
count(const struct inventory *inv)
{
	struct container	*c;
	size_t			 n = 0;

	TAILQ_FOREACH(c, &inv->containers, entry)
		n++;
	return n;
}

static void
test_container_new_free(void **state)
{
	struct container	*c = container_new();

	assert_string_equal(c->id, "");
	assert_null(c->name);
	assert_null(c->eps);
	assert_int_equal(c->labels.n, 0);
	container_free(c);
	container_free(NULL);
	container_free(mkct(ID_A, "web", "web"));
}

static void
test_put_get(void **state)
{
	struct inventory	 inv;
	struct container	*a, *b, *c;

	inventory_init(&inv);
	assert_int_equal(inv.n, 0);
	assert_null(inventory_get(&inv, ID_A));
	a = mkct(ID_A, "web", "web");
	b = mkct(ID_B, "db", "db");
	c = mkct(ID_C, "proxy", "proxy");
	inventory_put(&inv, a);
	inventory_put(&inv, b);
	inventory_put(&inv, c);
	assert_int_equal(inv.n, 3);
	assert_int_equal(count(&inv), 3);

	/* full ids */
	assert_ptr_equal(inventory_get(&inv, ID_A), a);
	assert_ptr_equal(inventory_get(&inv, ID_B), b);
	assert_ptr_equal(inventory_get(&inv, ID_C), c);
	/* names, with or without Docker's leading '/' */
	assert_ptr_equal(inventory_get(&inv, "web"), a);
	assert_ptr_equal(inventory_get(&inv, "/db"), b);
	assert_ptr_equal(inventory_get(&inv, "proxy"), c);
	assert_null(inventory_get(&inv, "nope"));
	assert_null(inventory_get(&inv, ""));
	assert_null(inventory_get(&inv, "/"));
	/* unique prefixes of at least 12 chars */
	assert_ptr_equal(inventory_get(&inv, "64ad365a5d49"), c);
	assert_ptr_equal(inventory_get(&inv, "64ad365a5d49dfdc"), c);
	assert_null(inventory_get(&inv, "64ad365a5d4"));	/* 11 chars */
	assert_null(inventory_get(&inv, "64ad"));
	/* A and B share their first 12 chars: ambiguous */
	assert_null(inventory_get(&inv, "c7908f73a164"));
	assert_ptr_equal(inventory_get(&inv, "c7908f73a164a"), a);
	assert_ptr_equal(inventory_get(&inv, "c7908f73a164f"), b);
	/* longer than an id, or not a prefix */
	assert_null(inventory_get(&inv, ID_A "0"));
	assert_null(inventory_get(&inv, "0000000000000"));
	inventory_release(&inv);
	assert_int_equal(inv.n, 0);
	assert_true(TAILQ_EMPTY(&inv.containers));
}

static void
test_put_replaces(void **state)
{
	struct inventory	 inv;
	struct container	*a, *b, *c, *a2;

	inventory_init(&inv);
	a = mkct(ID_A, "web", "web");
	b = mkct(ID_B, "db", "db");
	c = mkct(ID_C, "proxy", "proxy");
	inventory_put(&inv, a);
	inventory_put(&inv, b);
	inventory_put(&inv, c);
	/* A renamed and relabelled: same id, new object (the old is freed) */
	a2 = mkct(ID_A, "web2", "frontend");
	inventory_put(&inv, a2);
	assert_int_equal(inv.n, 3);
	assert_int_equal(count(&inv), 3);
	assert_ptr_equal(inventory_get(&inv, ID_A), a2);
	assert_ptr_equal(inventory_get(&inv, "web2"), a2);
	assert_null(inventory_get(&inv, "web"));
	assert_string_equal(labelset_get(&inventory_get(&inv, ID_A)->labels,
	    "app"), "frontend");
	/* It keeps its place in the list */
	assert_ptr_equal(TAILQ_FIRST(&inv.containers), a2);
	/* The last one replaced stays last */
	inventory_put(&inv, mkct(ID_C, "proxy", "p2"));
	assert_int_equal(inv.n, 3);
	assert_ptr_equal(TAILQ_LAST(&inv.containers, container_list),
	    inventory_get(&inv, ID_C));
	inventory_release(&inv);
}

static void
test_del(void **state)
{
	struct inventory	inv;

	inventory_init(&inv);
	inventory_put(&inv, mkct(ID_A, "web", "web"));
	inventory_put(&inv, mkct(ID_B, "db", "db"));
	inventory_put(&inv, mkct(ID_C, "proxy", "proxy"));
	assert_int_equal(inventory_del(&inv, "nope"), -1);
	assert_int_equal(inventory_del(&inv, "c7908f73a164"), -1); /* ambiguous */
	assert_int_equal(inv.n, 3);
	assert_int_equal(inventory_del(&inv, ID_B), 0);
	assert_int_equal(inv.n, 2);
	assert_null(inventory_get(&inv, ID_B));
	/* with B gone, the short prefix is A's alone */
	assert_ptr_equal(inventory_get(&inv, "c7908f73a164"),
	    inventory_get(&inv, "web"));
	assert_int_equal(inventory_del(&inv, "proxy"), 0);
	assert_int_equal(inventory_del(&inv, "c7908f73a164"), 0);
	assert_int_equal(inv.n, 0);
	assert_int_equal(count(&inv), 0);
	assert_int_equal(inventory_del(&inv, ID_A), -1);
	inventory_release(&inv);
	/* release of an empty and of a released inventory */
	inventory_release(&inv);
}

static void
test_many(void **state)
{
	struct inventory	inv;
	char			id[65], name[32];
	int			i;

	inventory_init(&inv);
	for (i = 0; i < 1000; i++) {
		snprintf(id, sizeof(id), "%064x", i);
		snprintf(name, sizeof(name), "c%d", i);
		inventory_put(&inv, mkct(id, name, "x"));
	}
	/* every second one again */
	for (i = 0; i < 1000; i += 2) {
		snprintf(id, sizeof(id), "%064x", i);
		inventory_put(&inv, mkct(id, "again", "y"));
	}
	assert_int_equal(inv.n, 1000);
	for (i = 1; i < 1000; i += 2) {
		snprintf(name, sizeof(name), "c%d", i);
		assert_int_equal(inventory_del(&inv, name), 0);
	}
	assert_int_equal(inv.n, 500);
	assert_int_equal(count(&inv), 500);
	inventory_release(&inv);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_container_new_free),
		cmocka_unit_test(test_put_get),
		cmocka_unit_test(test_put_replaces),
		cmocka_unit_test(test_del),
		cmocka_unit_test(test_many),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
