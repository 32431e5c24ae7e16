/*
 * fuzz_docker.c: libFuzzer target for the Docker Engine API parsers: the
 * inspect document (privileges and published ports included), the
 * listing, one event, a network document (and Podman's libpod one), the
 * network listing, the engine's /info, and the streamed /events framer
 * fed in uneven chunks.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "docker.h"
#include "inventory.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
fuzz_event_cb(const struct docker_event *ev, void *arg)
{
	(void)ev;
	(*(unsigned long *)arg)++;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char		*s = (const char *)data;
	char			 err[256], br[16], **ids = NULL;
	struct container	*c;
	struct docker_event	 ev;
	struct docker_stream	 st;
	struct docker_bridge	*brs = NULL;
	struct docker_info	 info;
	unsigned long		 n = 0;
	size_t			 off, step;
	int			 i, cnt;

	if ((c = docker_parse_inspect(s, size, err, sizeof(err))) != NULL)
		container_free(c);
	if ((cnt = docker_parse_list(s, size, &ids, err, sizeof(err))) > 0) {
		for (i = 0; i < cnt; i++)
			free(ids[i]);
	}
	free(ids);
	docker_parse_event(s, size, &ev, err, sizeof(err));
	docker_parse_network_bridge(s, size, br, sizeof(br), err, sizeof(err));
	docker_parse_libpod_network(s, size, br, sizeof(br), err, sizeof(err));
	docker_parse_bridges(s, size, &brs, err, sizeof(err));
	free(brs);
	docker_parse_info(s, size, &info, err, sizeof(err));
	docker_stream_init(&st, fuzz_event_cb, &n);
	for (off = 0, step = 1; off < size; off += step, step = step * 3 % 17 + 1)
		docker_stream_feed(&st, s + off, off + step > size ? size - off : step);
	docker_stream_release(&st);
	return 0;
}
