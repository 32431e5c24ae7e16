/*
 * test_quarantine.c: the quarantine list and its state file: put, find,
 * del, a save/load round trip, a missing file, a corrupt one.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "quarantine.h"
#include "util.h"

#define ID_A "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define ID_B "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"

static void
test_put_find_del(void **state)
{
	struct quarantine	q;

	(void)state;
	quarantine_init(&q, NULL);
	quarantine_put(&q, ID_A, "web", "incident", 10);
	quarantine_put(&q, ID_B, "db", "", 11);
	quarantine_put(&q, ID_A, "web", "incident 2", 12);
	assert_int_equal(q.n, 2);
	assert_string_equal(quarantine_find(&q, ID_A)->reason, "incident 2");
	assert_int_equal(quarantine_del(&q, ID_A), 0);
	assert_int_equal(quarantine_del(&q, ID_A), -1);
	assert_null(quarantine_find(&q, ID_A));
	assert_non_null(quarantine_find(&q, ID_B));
	/* Not persisted: saving is a no-op. */
	assert_int_equal(quarantine_save(&q, NULL, 0), 0);
	quarantine_release(&q);
}

static void
test_round_trip(void **state)
{
	char			 dir[] = "/tmp/bh-quarantine-XXXXXX", path[64], err[256];
	struct quarantine	 q, r;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/q.json", dir);
	quarantine_init(&q, path);
	assert_int_equal(quarantine_load(&q, err, sizeof(err)), 0);
	assert_int_equal(q.n, 0);
	quarantine_put(&q, ID_A, "web", "it's \"bad\"", 1234);
	assert_int_equal(quarantine_save(&q, err, sizeof(err)), 0);
	quarantine_init(&r, path);
	assert_int_equal(quarantine_load(&r, err, sizeof(err)), 0);
	assert_int_equal(r.n, 1);
	assert_string_equal(r.v[0].id, ID_A);
	assert_string_equal(r.v[0].name, "web");
	assert_string_equal(r.v[0].reason, "it's \"bad\"");
	assert_int_equal(r.v[0].since, 1234);
	quarantine_release(&r);
	quarantine_release(&q);
	unlink(path);
	rmdir(dir);
}

static void
test_corrupt(void **state)
{
	char			 dir[] = "/tmp/bh-quarantine-XXXXXX", path[64], err[256];
	struct quarantine	 q;
	FILE			*f;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/q.json", dir);
	f = fopen(path, "w");
	fputs("{\"containers\": [{\"id\": \"short\"}]}", f);
	fclose(f);
	quarantine_init(&q, path);
	assert_int_equal(quarantine_load(&q, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "$.containers[0].id"));
	assert_int_equal(q.n, 0);
	f = fopen(path, "w");
	fputs("{\"containers\": [", f);
	fclose(f);
	assert_int_equal(quarantine_load(&q, err, sizeof(err)), -1);
	assert_non_null(strstr(err, path));
	quarantine_release(&q);
	unlink(path);
	rmdir(dir);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_put_find_del),
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_corrupt),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
