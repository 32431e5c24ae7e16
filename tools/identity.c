/*
 * identity.c: the address -> peer cache of bulkhead-capture.  See
 * identity.h.  Addresses are kept in an array sorted by (family, bytes)
 * and looked up by binary search: two lookups per event.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <jansson.h>

#include "identity.h"
#include "util.h"

struct ident_entry {
	uint8_t		 family;
	uint8_t		 addr[16];	/* IPv4 in the first 4 bytes */
	struct peer	*cur;
	int64_t		 seen;		/* last answer that listed it */
	int64_t		 born_after;	/* last answer before cur was listed */
	struct peer	*prev;		/* the address's previous owner, or NULL */
	int64_t		 prev_seen;
};

struct host_addr {
	uint8_t	family;
	uint8_t	addr[16];
};

struct ident_cache {
	struct ident_entry	*v;
	size_t			 n, cap;
	struct host_addr	*host;
	size_t			 nhost;
	int64_t			 keep_ms;
	int64_t			 period_ms;
	int64_t			 last_load;	/* 0: never loaded */
	int64_t			 last_query;
	int64_t			 backoff_until;
};

static struct peer	peer_host = { .kind = PEER_HOST, .name = "host" };
static struct peer	peer_world = { .kind = PEER_WORLD, .name = "world" };

const char *
peer_kind_word(enum peer_kind k)
{
	switch (k) {
	case PEER_CONTAINER: return "container";
	case PEER_HOST: return "host";
	case PEER_WORLD: return "world";
	}
	return "world";
}

/* ---- peers ---- */

static struct peer *
peer_get(struct peer *p)
{
	if (p)
		p->refs++;
	return p;
}

static void
peer_put(struct peer *p)
{
	if (p == NULL || --p->refs > 0)
		return;
	free(p->name);
	free(p->project);
	free(p->service);
	labelset_release(&p->labels);
	free(p);
}

/* A container peer from one element of "containers"; NULL if unusable. */
static struct peer *
peer_from_json(json_t *o)
{
	const char	*id = json_string_value(json_object_get(o, "id"));
	const char	*name = json_string_value(json_object_get(o, "name"));
	json_t		*labels = json_object_get(o, "labels"), *v;
	const char	*key, *val;
	struct peer	*p;

	if (id == NULL || name == NULL)
		return NULL;
	p = xcalloc(1, sizeof(*p));
	p->kind = PEER_CONTAINER;
	p->refs = 1;
	strlcpy_bh(p->id, id, sizeof(p->id));
	p->name = xstrdup(name);
	labelset_init(&p->labels);
	if (json_is_object(labels))
		json_object_foreach(labels, key, v)
			if ((val = json_string_value(v)) != NULL)
				labelset_set(&p->labels, key, val);
	if ((val = labelset_get(&p->labels, "com.docker.compose.project")))
		p->project = xstrdup(val);
	if ((val = labelset_get(&p->labels, "com.docker.compose.service")))
		p->service = xstrdup(val);
	return p;
}

/* ---- the sorted address array ---- */

static int
ident_key_cmp(uint8_t fa, const uint8_t *a, uint8_t fb, const uint8_t *b)
{
	if (fa != fb)
		return fa < fb ? -1 : 1;
	return memcmp(a, b, 16);
}

static int
ident_entry_cmp(const void *x, const void *y)
{
	const struct ident_entry	*a = x, *b = y;

	return ident_key_cmp(a->family, a->addr, b->family, b->addr);
}

/* The entry for the address among the first n, or NULL. */
static struct ident_entry *
ident_find(const struct ident_cache *c, size_t n, uint8_t family,
    const uint8_t addr[16])
{
	size_t	lo = 0, hi = n;

	while (lo < hi) {
		size_t	mid = lo + (hi - lo) / 2;
		int	r = ident_key_cmp(family, addr, c->v[mid].family,
			    c->v[mid].addr);

		if (r == 0)
			return &c->v[mid];
		if (r < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return NULL;
}

/* The entry for the address among those added since nold, or NULL. */
static struct ident_entry *
ident_find_new(const struct ident_cache *c, size_t nold, uint8_t family,
    const uint8_t addr[16])
{
	size_t	i;

	for (i = nold; i < c->n; i++)
		if (ident_key_cmp(family, addr, c->v[i].family,
		    c->v[i].addr) == 0)
			return &c->v[i];
	return NULL;
}

/* The address in 16 bytes, zero-padded; -1 when family is neither. */
static int
ident_key(int family, const void *addr, uint8_t out[16])
{
	memset(out, 0, 16);
	if (family == AF_INET)
		memcpy(out, addr, 4);
	else if (family == AF_INET6)
		memcpy(out, addr, 16);
	else
		return -1;
	return 0;
}

static void
ident_append(struct ident_cache *c, uint8_t family, const uint8_t addr[16],
    struct peer *p, int64_t now)
{
	struct ident_entry	*e;

	if (c->n == c->cap) {
		c->cap = c->cap ? c->cap * 2 : 64;
		c->v = xreallocarray(c->v, c->cap, sizeof(*c->v));
	}
	e = &c->v[c->n++];
	memset(e, 0, sizeof(*e));
	e->family = family;
	memcpy(e->addr, addr, 16);
	e->cur = peer_get(p);
	e->seen = now;
	e->born_after = c->last_load;
}

/* The container at addr is p, as of the answer at now. */
static void
ident_put(struct ident_cache *c, size_t nold, int family, const char *text,
    struct peer *p, int64_t now)
{
	uint8_t			 a[16];
	struct ident_entry	*e;

	memset(a, 0, sizeof(a));
	if (text == NULL || inet_pton(family, text, a) != 1)
		return;
	if ((e = ident_find(c, nold, (uint8_t)family, a)) == NULL &&
	    (e = ident_find_new(c, nold, (uint8_t)family, a)) == NULL) {
		ident_append(c, (uint8_t)family, a, p, now);
		return;
	}
	if (e->seen == now && strcmp(e->cur->id, p->id) != 0)
		return;		/* listed twice in one answer: first wins */
	if (strcmp(e->cur->id, p->id) != 0) {
		/* A new owner: the old one stays for events before it. */
		peer_put(e->prev);
		e->prev = e->cur;
		e->prev_seen = e->seen;
		e->cur = NULL;
		e->born_after = c->last_load;
	}
	peer_put(e->cur);
	e->cur = peer_get(p);
	e->seen = now;
}

static void
ident_put_container(struct ident_cache *c, size_t nold, json_t *o,
    int64_t now)
{
	struct peer	*p = peer_from_json(o);
	json_t		*eps = json_object_get(o, "endpoints"), *ep;
	size_t		 i;

	if (p == NULL)
		return;
	json_array_foreach(eps, i, ep) {
		ident_put(c, nold, AF_INET,
		    json_string_value(json_object_get(ep, "ipv4")), p, now);
		ident_put(c, nold, AF_INET6,
		    json_string_value(json_object_get(ep, "ipv6")), p, now);
	}
	peer_put(p);
}

/* Drops what was last seen more than keep_ms before now; sorts. */
static void
ident_expire(struct ident_cache *c, int64_t now)
{
	size_t	i, j = 0;

	for (i = 0; i < c->n; i++) {
		struct ident_entry	*e = &c->v[i];

		if (e->prev && now - e->prev_seen > c->keep_ms) {
			peer_put(e->prev);
			e->prev = NULL;
		}
		if (now - e->seen > c->keep_ms) {
			peer_put(e->cur);
			peer_put(e->prev);
			continue;
		}
		c->v[j++] = *e;
	}
	c->n = j;
	if (c->n > 1)
		qsort(c->v, c->n, sizeof(*c->v), ident_entry_cmp);
}

int
ident_cache_load(struct ident_cache *c, const char *answer, int64_t now,
    char *err, size_t errlen)
{
	json_error_t	 jerr;
	json_t		*o, *cts, *ct;
	size_t		 i, nold = c->n;

	if ((o = json_loads(answer, 0, &jerr)) == NULL) {
		snprintf(err, errlen, "bad answer from bulkheadd: %s", jerr.text);
		return -1;
	}
	cts = json_object_get(o, "containers");
	if (!json_is_true(json_object_get(o, "ok")) || !json_is_array(cts)) {
		snprintf(err, errlen, "bulkheadd answered without containers: %s",
		    json_string_value(json_object_get(o, "error")) ?
		    json_string_value(json_object_get(o, "error")) : "?");
		json_decref(o);
		return -1;
	}
	json_array_foreach(cts, i, ct)
		if (json_is_object(ct))
			ident_put_container(c, nold, ct, now);
	json_decref(o);
	ident_expire(c, now);
	c->last_load = now;
	return 0;
}

void
ident_cache_set_host(struct ident_cache *c, int family, const void *addrs,
    size_t n)
{
	size_t		 i, j = 0, size = family == AF_INET ? 4 : 16;
	struct host_addr *h;

	/* Keep the other family's addresses. */
	h = xreallocarray(NULL, c->nhost + n + 1, sizeof(*h));
	for (i = 0; i < c->nhost; i++)
		if (c->host[i].family != family)
			h[j++] = c->host[i];
	for (i = 0; i < n; i++) {
		h[j].family = (uint8_t)family;
		ident_key(family, (const uint8_t *)addrs + i * size, h[j].addr);
		j++;
	}
	free(c->host);
	c->host = h;
	c->nhost = j;
}

void
ident_cache_queried(struct ident_cache *c, int64_t now, int ok)
{
	c->last_query = now;
	c->backoff_until = ok ? 0 : now + IDENT_BACKOFF_MS;
}

static int
ident_is_host(const struct ident_cache *c, uint8_t family,
    const uint8_t a[16])
{
	size_t	i;

	for (i = 0; i < c->nhost; i++)
		if (ident_key_cmp(family, a, c->host[i].family,
		    c->host[i].addr) == 0)
			return 1;
	return 0;
}

const struct peer *
ident_cache_lookup(const struct ident_cache *c, int family, const void *addr,
    int64_t t)
{
	const struct ident_entry	*e;
	uint8_t				 a[16];

	if (c->last_load == 0 || ident_key(family, addr, a) == -1)
		return NULL;
	if ((e = ident_find(c, c->n, (uint8_t)family, a)) != NULL) {
		if (e->prev && t != 0 && t <= e->born_after)
			return e->prev;
		return e->cur;
	}
	if (ident_is_host(c, (uint8_t)family, a))
		return &peer_host;
	return &peer_world;
}

int
ident_cache_due(const struct ident_cache *c, int64_t now, int unknown)
{
	int64_t	since = now - c->last_query;

	if (c->last_query == 0 || since < 0)
		return 1;
	if (now < c->backoff_until)
		return 0;
	return since >= (unknown ? IDENT_RETRY_MS : c->period_ms);
}

size_t
ident_cache_size(const struct ident_cache *c)
{
	return c->n;
}

struct ident_cache *
ident_cache_new(int64_t keep_ms)
{
	struct ident_cache	*c = xcalloc(1, sizeof(*c));

	c->keep_ms = keep_ms;
	c->period_ms = IDENT_PERIOD_MS;
	return c;
}

void
ident_cache_set_period(struct ident_cache *c, int64_t ms)
{
	c->period_ms = ms;
}

void
ident_cache_free(struct ident_cache *c)
{
	size_t	i;

	if (c == NULL)
		return;
	for (i = 0; i < c->n; i++) {
		peer_put(c->v[i].cur);
		peer_put(c->v[i].prev);
	}
	free(c->v);
	free(c->host);
	free(c);
}
