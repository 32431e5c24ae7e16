/*
 * test_identity.c: the address -> peer cache of bulkhead-capture, fed
 * with status answers as bulkheadd writes them: containers named with
 * their compose project and service, host and world, nothing before the
 * first answer, departed containers kept for keep_ms, an address taken
 * over by a new container, refresh timing, bad answers.
 */
#include <arpa/inet.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include <cmocka.h>

#include "identity.h"

#define T0	1700000000000LL		/* ms since the epoch */

static const char *ANS_WEB_DB =
    "{\"ok\":true,\"containers\":["
    "{\"id\":\"aaaaaaaaaaaa1111\",\"name\":\"web\",\"labels\":{\"app\":\"web\","
    "\"com.docker.compose.project\":\"shop\",\"com.docker.compose.service\":\"front\"},"
    "\"endpoints\":[{\"network\":\"bridge\",\"ipv4\":\"172.17.0.2\","
    "\"ipv6\":\"fd00::2\"}]},"
    "{\"id\":\"bbbbbbbbbbbb2222\",\"name\":\"db\",\"labels\":{\"app\":\"db\"},"
    "\"endpoints\":[{\"ipv4\":\"172.17.0.3\"},{\"ipv4\":\"10.1.0.3\"}]}]}";

static const char *ANS_DB_ONLY =
    "{\"ok\":true,\"containers\":["
    "{\"id\":\"bbbbbbbbbbbb2222\",\"name\":\"db\",\"labels\":{\"app\":\"db\"},"
    "\"endpoints\":[{\"ipv4\":\"172.17.0.3\"}]}]}";

/* web is gone; cache took its address. */
static const char *ANS_CACHE_REUSE =
    "{\"ok\":true,\"containers\":["
    "{\"id\":\"cccccccccccc3333\",\"name\":\"cache\",\"labels\":{},"
    "\"endpoints\":[{\"ipv4\":\"172.17.0.2\"}]}]}";

static const struct peer *
look4(struct ident_cache *c, const char *a, int64_t t)
{
	struct in_addr	in;

	assert_int_equal(inet_pton(AF_INET, a, &in), 1);
	return ident_cache_lookup(c, AF_INET, &in, t);
}

static const char *
name4(struct ident_cache *c, const char *a, int64_t t)
{
	const struct peer	*p = look4(c, a, t);

	return p ? p->name : "(null)";
}

static void
load_ok(struct ident_cache *c, const char *ans, int64_t now)
{
	char	err[256] = "";

	assert_int_equal(ident_cache_load(c, ans, now, err, sizeof(err)), 0);
	assert_string_equal(err, "");
}

static void
test_nothing_before_load(void **state)
{
	struct ident_cache	*c = ident_cache_new(IDENT_KEEP_MS);

	assert_null(look4(c, "172.17.0.2", 0));
	assert_int_equal(ident_cache_size(c), 0);
	ident_cache_free(c);
}

static void
test_containers_named(void **state)
{
	struct ident_cache	*c = ident_cache_new(IDENT_KEEP_MS);
	const struct peer	*p;
	struct in6_addr		 a6;

	load_ok(c, ANS_WEB_DB, T0);
	assert_int_equal(ident_cache_size(c), 4);
	p = look4(c, "172.17.0.2", 0);
	assert_non_null(p);
	assert_int_equal(p->kind, PEER_CONTAINER);
	assert_string_equal(p->name, "web");
	assert_string_equal(p->id, "aaaaaaaaaaaa1111");
	assert_string_equal(p->project, "shop");
	assert_string_equal(p->service, "front");
	assert_string_equal(labelset_get(&p->labels, "app"), "web");
	inet_pton(AF_INET6, "fd00::2", &a6);
	assert_ptr_equal(ident_cache_lookup(c, AF_INET6, &a6, 0), p);
	/* Both networks of db; db has no compose labels. */
	p = look4(c, "10.1.0.3", 0);
	assert_string_equal(p->name, "db");
	assert_null(p->project);
	assert_null(p->service);
	assert_ptr_equal(look4(c, "172.17.0.3", 0), p);
	ident_cache_free(c);
}

static void
test_host_and_world(void **state)
{
	struct ident_cache	*c = ident_cache_new(IDENT_KEEP_MS);
	struct in_addr		 h[2];
	struct in6_addr		 h6;
	const struct peer	*p;

	inet_pton(AF_INET, "172.17.0.1", &h[0]);
	inet_pton(AF_INET, "192.168.1.5", &h[1]);
	inet_pton(AF_INET6, "fe80::1", &h6);
	ident_cache_set_host(c, AF_INET, h, 2);
	ident_cache_set_host(c, AF_INET6, &h6, 1);
	load_ok(c, ANS_WEB_DB, T0);
	p = look4(c, "172.17.0.1", 0);
	assert_int_equal(p->kind, PEER_HOST);
	assert_string_equal(p->name, "host");
	assert_string_equal(name4(c, "192.168.1.5", 0), "host");
	assert_int_equal(ident_cache_lookup(c, AF_INET6, &h6, 0)->kind, PEER_HOST);
	p = look4(c, "8.8.8.8", 0);
	assert_int_equal(p->kind, PEER_WORLD);
	assert_string_equal(p->name, "world");
	assert_string_equal(peer_kind_word(p->kind), "world");
	/* Replacing the IPv4 list keeps the IPv6 one. */
	ident_cache_set_host(c, AF_INET, h, 1);
	assert_string_equal(name4(c, "192.168.1.5", 0), "world");
	assert_int_equal(ident_cache_lookup(c, AF_INET6, &h6, 0)->kind, PEER_HOST);
	ident_cache_free(c);
}

static void
test_departed_kept_then_expired(void **state)
{
	struct ident_cache	*c = ident_cache_new(10000);

	load_ok(c, ANS_WEB_DB, T0);
	/* web left; it is still named for keep_ms after its last sighting. */
	load_ok(c, ANS_DB_ONLY, T0 + 2000);
	assert_string_equal(name4(c, "172.17.0.2", T0 + 1500), "web");
	assert_string_equal(name4(c, "172.17.0.2", 0), "web");
	load_ok(c, ANS_DB_ONLY, T0 + 10000);
	assert_string_equal(name4(c, "172.17.0.2", 0), "web");
	load_ok(c, ANS_DB_ONLY, T0 + 10001);
	assert_string_equal(name4(c, "172.17.0.2", 0), "world");
	assert_string_equal(name4(c, "10.1.0.3", 0), "world");
	assert_string_equal(name4(c, "172.17.0.3", 0), "db");
	ident_cache_free(c);
}

static void
test_address_taken_over(void **state)
{
	struct ident_cache	*c = ident_cache_new(IDENT_KEEP_MS);

	load_ok(c, ANS_WEB_DB, T0);
	load_ok(c, ANS_DB_ONLY, T0 + 2000);
	load_ok(c, ANS_CACHE_REUSE, T0 + 4000);
	/* cache was not there at T0 + 2000: older events are web's. */
	assert_string_equal(name4(c, "172.17.0.2", T0 + 1000), "web");
	assert_string_equal(name4(c, "172.17.0.2", T0 + 2000), "web");
	assert_string_equal(name4(c, "172.17.0.2", T0 + 2001), "cache");
	assert_string_equal(name4(c, "172.17.0.2", 0), "cache");
	/* The previous owner goes when keep_ms has passed. */
	load_ok(c, ANS_CACHE_REUSE, T0 + 2000 + IDENT_KEEP_MS + 1);
	assert_string_equal(name4(c, "172.17.0.2", T0 + 1000), "cache");
	ident_cache_free(c);
}

static void
test_same_container_again(void **state)
{
	struct ident_cache	*c = ident_cache_new(IDENT_KEEP_MS);

	load_ok(c, ANS_WEB_DB, T0);
	load_ok(c, ANS_WEB_DB, T0 + 2000);
	load_ok(c, ANS_WEB_DB, T0 + 4000);
	assert_int_equal(ident_cache_size(c), 4);
	assert_string_equal(name4(c, "172.17.0.2", T0 + 1), "web");
	ident_cache_free(c);
}

static void
test_bad_answers(void **state)
{
	struct ident_cache	*c = ident_cache_new(IDENT_KEEP_MS);
	char			 err[256];

	assert_int_equal(ident_cache_load(c, "{", T0, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "bad answer"));
	assert_int_equal(ident_cache_load(c,
	    "{\"ok\":false,\"error\":\"unknown command\"}", T0, err,
	    sizeof(err)), -1);
	assert_non_null(strstr(err, "unknown command"));
	assert_int_equal(ident_cache_load(c, "[1,2]", T0, err, sizeof(err)), -1);
	assert_null(look4(c, "172.17.0.2", 0));
	/* Unusable entries are skipped, the rest is taken. */
	load_ok(c, "{\"ok\":true,\"containers\":[1,{\"name\":\"noid\"},"
	    "{\"id\":\"x\",\"name\":\"ok\",\"endpoints\":[{\"ipv4\":\"bad\"},"
	    "{\"ipv4\":7},{\"ipv4\":\"10.0.0.9\"}]},"
	    "{\"id\":\"y\",\"name\":\"dup\",\"endpoints\":[{\"ipv4\":\"10.0.0.9\"}]}]}",
	    T0);
	assert_int_equal(ident_cache_size(c), 1);
	assert_string_equal(name4(c, "10.0.0.9", 0), "ok");
	ident_cache_free(c);
}

static void
test_refresh_timing(void **state)
{
	struct ident_cache	*c = ident_cache_new(IDENT_KEEP_MS);

	assert_true(ident_cache_due(c, T0, 0));
	ident_cache_queried(c, T0, 1);
	assert_false(ident_cache_due(c, T0 + 1, 0));
	assert_false(ident_cache_due(c, T0 + 1, 1));
	assert_false(ident_cache_due(c, T0 + IDENT_RETRY_MS - 1, 1));
	assert_true(ident_cache_due(c, T0 + IDENT_RETRY_MS, 1));
	assert_false(ident_cache_due(c, T0 + IDENT_PERIOD_MS - 1, 0));
	assert_true(ident_cache_due(c, T0 + IDENT_PERIOD_MS, 0));
	/* The clock went back: ask. */
	assert_true(ident_cache_due(c, T0 - 5000, 0));
	/* No answer: wait IDENT_BACKOFF_MS, unknown addresses or not. */
	ident_cache_queried(c, T0, 0);
	assert_false(ident_cache_due(c, T0 + IDENT_PERIOD_MS, 0));
	assert_false(ident_cache_due(c, T0 + IDENT_BACKOFF_MS - 1, 1));
	assert_true(ident_cache_due(c, T0 + IDENT_BACKOFF_MS, 0));
	ident_cache_queried(c, T0 + IDENT_BACKOFF_MS, 1);
	assert_true(ident_cache_due(c, T0 + IDENT_BACKOFF_MS + IDENT_RETRY_MS, 1));
	/* A longer period (--refresh). */
	ident_cache_set_period(c, 60000);
	ident_cache_queried(c, T0, 1);
	assert_false(ident_cache_due(c, T0 + 59999, 0));
	assert_true(ident_cache_due(c, T0 + 59999, 1));
	assert_true(ident_cache_due(c, T0 + 60000, 0));
	ident_cache_free(c);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_nothing_before_load),
		cmocka_unit_test(test_containers_named),
		cmocka_unit_test(test_host_and_world),
		cmocka_unit_test(test_departed_kept_then_expired),
		cmocka_unit_test(test_address_taken_over),
		cmocka_unit_test(test_same_container_again),
		cmocka_unit_test(test_bad_answers),
		cmocka_unit_test(test_refresh_timing),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
