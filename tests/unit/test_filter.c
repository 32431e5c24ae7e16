/*
 * test_filter.c: bulkhead-capture's filters: protocol, port, policy,
 * verdict, and --from/--to by container name, id prefix, host/world,
 * address and label selector; bad selectors refused with the position.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include <cmocka.h>

#include "filter.h"

static struct ident_cache	*cache;
static struct pkt_info		 pi;		/* web:40000 -> db:5432 tcp */
static struct bh_prefix		 bp;		/* denied by db-ingress */
static const struct peer	*web, *db, *world;

static int
setup(void **state)
{
	char		err[128];
	struct in_addr	w;

	cache = ident_cache_new(IDENT_KEEP_MS);
	if (ident_cache_load(cache, "{\"ok\":true,\"containers\":["
	    "{\"id\":\"aaaaaaaaaaaa1111\",\"name\":\"web\",\"labels\":{\"app\":\"web\",\"tier\":\"front\"},"
	    "\"endpoints\":[{\"ipv4\":\"172.17.0.2\"}]},"
	    "{\"id\":\"bbbbbbbbbbbb2222\",\"name\":\"db\",\"labels\":{\"app\":\"db\"},"
	    "\"endpoints\":[{\"ipv4\":\"172.17.0.3\"}]}]}", 1000, err,
	    sizeof(err)) == -1)
		return -1;
	memset(&pi, 0, sizeof(pi));
	pi.family = AF_INET;
	pi.proto = IPPROTO_TCP;
	inet_pton(AF_INET, "172.17.0.2", &pi.src.v4);
	inet_pton(AF_INET, "172.17.0.3", &pi.dst.v4);
	pi.has_ports = 1;
	pi.sport = 40000;
	pi.dport = 5432;
	nflog_parse_prefix("bh|D|I|0|db-ingress", &bp);
	web = ident_cache_lookup(cache, AF_INET, &pi.src, 0);
	db = ident_cache_lookup(cache, AF_INET, &pi.dst, 0);
	inet_pton(AF_INET, "1.1.1.1", &w);
	world = ident_cache_lookup(cache, AF_INET, &w, 0);
	return web && db && world ? 0 : -1;
}

static int
teardown(void **state)
{
	ident_cache_free(cache);
	return 0;
}

/* 1 when an event web -> db passes a filter of one --from/--to. */
static int
peers_pass(const char *from, const char *to, const struct peer *src,
    const struct peer *dst)
{
	struct filter	f;
	char		err[256];
	int		r;

	filter_init(&f);
	if (from)
		assert_non_null(f.from = peer_match_parse(from, err, sizeof(err)));
	if (to)
		assert_non_null(f.to = peer_match_parse(to, err, sizeof(err)));
	r = filter_match(&f, &pi, &bp, src, dst);
	filter_release(&f);
	return r;
}

static void
test_empty_matches_all(void **state)
{
	struct filter	f;

	filter_init(&f);
	assert_false(filter_set(&f));
	assert_true(filter_match(&f, &pi, &bp, web, db));
	assert_true(filter_match(&f, NULL, &bp, NULL, NULL));
}

static void
test_proto_port_policy_verdict(void **state)
{
	struct filter	f;

	filter_init(&f);
	f.proto = IPPROTO_TCP;
	f.port = 5432;
	f.policy = "db-ingress";
	f.verdict = 'D';
	assert_true(filter_set(&f));
	assert_true(filter_match(&f, &pi, &bp, web, db));
	f.port = 40000;				/* the source port counts too */
	assert_true(filter_match(&f, &pi, &bp, web, db));
	f.port = 80;
	assert_false(filter_match(&f, &pi, &bp, web, db));
	f.port = -1;
	f.proto = IPPROTO_UDP;
	assert_false(filter_match(&f, &pi, &bp, web, db));
	f.proto = IPPROTO_TCP;
	assert_false(filter_match(&f, NULL, &bp, web, db));	/* not IP */
	f.proto = -1;
	f.policy = "other";
	assert_false(filter_match(&f, &pi, &bp, web, db));
	f.policy = NULL;
	f.verdict = 'A';
	assert_false(filter_match(&f, &pi, &bp, web, db));
}

static void
test_from_to_names(void **state)
{
	assert_true(peers_pass("web", NULL, web, db));
	assert_true(peers_pass(NULL, "db", web, db));
	assert_true(peers_pass("web", "db", web, db));
	assert_false(peers_pass("db", NULL, web, db));
	assert_false(peers_pass(NULL, "web", web, db));
	assert_false(peers_pass("we", NULL, web, db));
	/* An id prefix of 12 characters or more. */
	assert_true(peers_pass("aaaaaaaaaaaa", NULL, web, db));
	assert_false(peers_pass("aaaaaaaaaaa", NULL, web, db));
	assert_true(peers_pass("world", NULL, world, db));
	assert_false(peers_pass("world", NULL, web, db));
	/* Without bulkheadd there are no names. */
	assert_false(peers_pass("web", NULL, NULL, NULL));
}

static void
test_from_to_selectors(void **state)
{
	assert_true(peers_pass("app == 'web'", NULL, web, db));
	assert_true(peers_pass(NULL, "app in {'db', 'cache'}", web, db));
	assert_true(peers_pass("tier == 'front' && has(app)", "!has(tier)",
	    web, db));
	assert_false(peers_pass("app == 'db'", NULL, web, db));
	assert_true(peers_pass("all()", NULL, web, db));
	/* Selectors match containers only. */
	assert_false(peers_pass("!has(tier)", NULL, world, db));
	assert_false(peers_pass("all()", NULL, NULL, NULL));
}

static void
test_from_to_addresses(void **state)
{
	struct filter	f;
	char		err[64];

	assert_true(peers_pass("172.17.0.2", "172.17.0.3", NULL, NULL));
	assert_false(peers_pass("172.17.0.3", NULL, web, db));
	assert_false(peers_pass("fd00::2", NULL, web, db));
	filter_init(&f);
	f.from = peer_match_parse("172.17.0.2", err, sizeof(err));
	assert_false(filter_wants_peers(&f));
	f.to = peer_match_parse("db", err, sizeof(err));
	assert_true(filter_wants_peers(&f));
	filter_release(&f);
}

static void
test_bad_selector(void **state)
{
	char	err[256] = "";

	assert_null(peer_match_parse("app ==", err, sizeof(err)));
	assert_non_null(strstr(err, "app =="));
	/* "" would be all() as a selector: refused as a mistake. */
	assert_null(peer_match_parse("", err, sizeof(err)));
	assert_non_null(strstr(err, "empty"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_empty_matches_all),
		cmocka_unit_test(test_proto_port_policy_verdict),
		cmocka_unit_test(test_from_to_names),
		cmocka_unit_test(test_from_to_selectors),
		cmocka_unit_test(test_from_to_addresses),
		cmocka_unit_test(test_bad_selector),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
