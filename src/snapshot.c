/*
 * snapshot.c: the inventory as JSON, written by bulkheadd's status and read
 * back by offline tools (plan, explain) and tests.  See snapshot.h.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "inventory.h"
#include "snapshot.h"
#include "util.h"

static json_t *
snapshot_endpoint(const struct endpoint *ep)
{
	char	 a4[INET_ADDRSTRLEN], a6[INET6_ADDRSTRLEN], mac[18];
	json_t	*o = json_object();

	json_object_set_new(o, "network", json_string(ep->network_name));
	json_object_set_new(o, "bridge", json_string(ep->bridge));
	json_object_set_new(o, "veth", json_string(ep->veth));
	if (ep->has_ip4)
		json_object_set_new(o, "ipv4", json_string(
		    inet_ntop(AF_INET, &ep->ip4, a4, sizeof(a4))));
	if (ep->has_ip6)
		json_object_set_new(o, "ipv6", json_string(
		    inet_ntop(AF_INET6, &ep->ip6, a6, sizeof(a6))));
	if (ep->has_mac) {
		snprintf(mac, sizeof(mac), "%02x:%02x:%02x:%02x:%02x:%02x",
		    ep->mac[0], ep->mac[1], ep->mac[2], ep->mac[3], ep->mac[4],
		    ep->mac[5]);
		json_object_set_new(o, "mac", json_string(mac));
	}
	return o;
}

json_t *
snapshot_container(const struct container *ct)
{
	json_t	*o = json_object(), *labels = json_object(), *eps = json_array();
	size_t	 i;

	json_object_set_new(o, "id", json_string(ct->id));
	json_object_set_new(o, "name", json_string(ct->name ? ct->name : ""));
	for (i = 0; i < ct->labels.n; i++)
		json_object_set_new(labels, ct->labels.v[i].key,
		    json_string(ct->labels.v[i].value));
	json_object_set_new(o, "labels", labels);
	json_object_set_new(o, "network_mode",
	    json_string(ct->network_mode ? ct->network_mode : ""));
	for (i = 0; i < ct->neps; i++)
		json_array_append_new(eps, snapshot_endpoint(&ct->eps[i]));
	json_object_set_new(o, "endpoints", eps);
	return o;
}

/* Optional string member; NULL when absent, -1 when of another type. */
static int
snap_str(json_t *o, const char *key, const char **out)
{
	json_t	*v = json_object_get(o, key);

	*out = NULL;
	if (v == NULL || json_is_null(v))
		return 0;
	if (!json_is_string(v))
		return -1;
	*out = json_string_value(v);
	return 0;
}

static int
snap_mac(const char *s, uint8_t mac[6])
{
	unsigned int	b[6];
	int		i;

	if (sscanf(s, "%2x:%2x:%2x:%2x:%2x:%2x", &b[0], &b[1], &b[2], &b[3],
	    &b[4], &b[5]) != 6)
		return -1;
	for (i = 0; i < 6; i++)
		mac[i] = (uint8_t)b[i];
	return 0;
}

static int
snap_endpoint(json_t *o, struct endpoint *ep, const char *path, char *err,
    size_t errlen)
{
	const char	*net, *br, *veth, *a4, *a6, *mac;

	if (!json_is_object(o) || snap_str(o, "network", &net) ||
	    snap_str(o, "bridge", &br) || snap_str(o, "veth", &veth) ||
	    snap_str(o, "ipv4", &a4) || snap_str(o, "ipv6", &a6) ||
	    snap_str(o, "mac", &mac)) {
		snprintf(err, errlen, "%s: expected an object of strings", path);
		return -1;
	}
	strlcpy_bh(ep->network_name, net ? net : "", sizeof(ep->network_name));
	strlcpy_bh(ep->bridge, br ? br : "", sizeof(ep->bridge));
	strlcpy_bh(ep->veth, veth ? veth : "", sizeof(ep->veth));
	if (a4 && !(ep->has_ip4 = inet_pton(AF_INET, a4, &ep->ip4) == 1)) {
		snprintf(err, errlen, "%s.ipv4: invalid IPv4 address", path);
		return -1;
	}
	if (a6 && !(ep->has_ip6 = inet_pton(AF_INET6, a6, &ep->ip6) == 1)) {
		snprintf(err, errlen, "%s.ipv6: invalid IPv6 address", path);
		return -1;
	}
	if (mac && !(ep->has_mac = snap_mac(mac, ep->mac) == 0)) {
		snprintf(err, errlen, "%s.mac: invalid MAC address", path);
		return -1;
	}
	return 0;
}

static struct container *
snap_container(json_t *o, const char *path, char *err, size_t errlen)
{
	struct container	*ct = container_new();
	const char		*id, *name, *mode, *k;
	json_t			*labels, *eps, *v;
	char			 sub[128];
	size_t			 i;

	if (!json_is_object(o) || snap_str(o, "id", &id) || id == NULL ||
	    snap_str(o, "name", &name) || snap_str(o, "network_mode", &mode)) {
		snprintf(err, errlen, "%s: expected an object with a string id",
		    path);
		goto err;
	}
	strlcpy_bh(ct->id, id, sizeof(ct->id));
	ct->name = xstrdup(name ? name : id);
	ct->network_mode = xstrdup(mode ? mode : "default");
	ct->running = 1;
	labels = json_object_get(o, "labels");
	json_object_foreach(labels, k, v) {
		if (!json_is_string(v)) {
			snprintf(err, errlen, "%s.labels.%s: expected a string",
			    path, k);
			goto err;
		}
		labelset_set(&ct->labels, k, json_string_value(v));
	}
	eps = json_object_get(o, "endpoints");
	ct->eps = xcalloc(json_array_size(eps) + 1, sizeof(*ct->eps));
	json_array_foreach(eps, i, v) {
		snprintf(sub, sizeof(sub), "%s.endpoints[%zu]", path, i);
		if (snap_endpoint(v, &ct->eps[i], sub, err, errlen) == -1)
			goto err;
		ct->neps++;
	}
	return ct;
err:
	container_free(ct);
	return NULL;
}

int
snapshot_load(const char *text, size_t len, struct inventory *inv,
    char *err, size_t errlen)
{
	json_error_t	 jerr;
	json_t		*root, *cts, *v;
	char		 path[64];
	size_t		 i;
	int		 rc = -1;

	root = json_loadb(text, len, 0, &jerr);
	if (root == NULL) {
		snprintf(err, errlen, "%d:%d: %s", jerr.line, jerr.column,
		    jerr.text);
		return -1;
	}
	cts = json_is_array(root) ? root : json_object_get(root, "containers");
	if (!json_is_array(cts)) {
		snprintf(err, errlen, "$.containers: expected an array");
		goto out;
	}
	json_array_foreach(cts, i, v) {
		struct container *ct;

		snprintf(path, sizeof(path), "$.containers[%zu]", i);
		if ((ct = snap_container(v, path, err, errlen)) == NULL)
			goto out;
		inventory_put(inv, ct);
	}
	rc = 0;
out:
	json_decref(root);
	return rc;
}
