/*
 * snapshot.h: the inventory as JSON, both ways.  bulkheadd writes it in
 * `bulkhead status -o json` ("containers": [...]); the CLI reads it back for
 * offline plan/explain (--inventory FILE), and tests use it as a fixture.
 * Pure (jansson).
 *
 * A container: {"id", "name", "labels": {k: v}, "network_mode",
 *   "endpoints": [{"network", "bridge", "veth", "ipv4", "ipv6", "mac"}]}
 */
#ifndef BULKHEAD_SNAPSHOT_H
#define BULKHEAD_SNAPSHOT_H

#include <jansson.h>
#include <stddef.h>

struct container;
struct inventory;

/* A new JSON object for ct (caller decrefs). */
json_t	*snapshot_container(const struct container *ct);

/*
 * Loads {"containers": [...]} (or a bare array) into inv.  Returns 0, or
 * -1 with a located message in err ("$.containers[2].endpoints[0].ipv4:
 * invalid IPv4 address").
 */
int	 snapshot_load(const char *text, size_t len, struct inventory *inv,
	    char *err, size_t errlen);

#endif
