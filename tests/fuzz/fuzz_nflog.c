/*
 * fuzz_nflog.c: libFuzzer target for the NFLOG record decoder, the IP
 * packet decoder behind it, and the attribution prefix parser.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>

#include "nflog.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct nflog_rec	rec;
	struct pkt_info		pi;
	struct bh_prefix	bp;
	char			prefix[160];
	size_t			n = size < sizeof(prefix) - 1 ? size : sizeof(prefix) - 1;

	if (nflog_decode(data, size, &rec) == 0) {
		if (rec.payload)
			nflog_decode_packet(rec.payload, rec.payload_len,
			    rec.family, &pi);
		if (rec.has_prefix)
			nflog_parse_prefix(rec.prefix, &bp);
	}
	nflog_decode_packet(data, size, AF_INET, &pi);
	nflog_decode_packet(data, size, AF_INET6, &pi);
	memcpy(prefix, data, n);
	prefix[n] = '\0';
	nflog_parse_prefix(prefix, &bp);
	return 0;
}
