/*
 * fuzz_names.c: libFuzzer target for bulkhead-capture's names: the input
 * is split at its first newline into a --from argument (a name, address
 * or selector) and a status answer, loaded twice into the identity cache
 * (the second time later, as departed containers and reused addresses
 * happen), then a few addresses are looked up and matched.
 */
#include <arpa/inet.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "filter.h"
#include "identity.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
fuzz_lookups(struct ident_cache *c, const struct filter *f)
{
	static const char	*addrs[] = { "172.17.0.2", "172.17.0.3",
				    "10.0.0.1", "8.8.8.8" };
	struct pkt_info		 pi;
	struct bh_prefix	 bp;
	const struct peer	*s, *d;
	size_t			 i;

	memset(&pi, 0, sizeof(pi));
	memset(&bp, 0, sizeof(bp));
	pi.family = AF_INET;
	for (i = 0; i + 1 < sizeof(addrs) / sizeof(addrs[0]); i++) {
		inet_pton(AF_INET, addrs[i], &pi.src.v4);
		inet_pton(AF_INET, addrs[i + 1], &pi.dst.v4);
		s = ident_cache_lookup(c, AF_INET, &pi.src, 1500);
		d = ident_cache_lookup(c, AF_INET, &pi.dst, 0);
		filter_match(f, &pi, &bp, s, d);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ident_cache	*c = ident_cache_new(1000);
	struct filter		 f;
	const uint8_t		*nl = memchr(data, '\n', size);
	size_t			 alen = nl ? (size_t)(nl - data) : 0;
	char			*arg = strndup((const char *)data, alen);
	char			*ans = strndup((const char *)data + (nl ? alen + 1 : 0),
				    size - (nl ? alen + 1 : 0));
	char			 err[256];

	filter_init(&f);
	f.from = peer_match_parse(arg, err, sizeof(err));
	ident_cache_load(c, ans, 1000, err, sizeof(err));
	fuzz_lookups(c, &f);
	ident_cache_load(c, ans, 2000, err, sizeof(err));
	ident_cache_load(c, "{\"ok\":true,\"containers\":[]}", 2500, err,
	    sizeof(err));
	fuzz_lookups(c, &f);
	filter_release(&f);
	ident_cache_free(c);
	free(arg);
	free(ans);
	return 0;
}
