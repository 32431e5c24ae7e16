/*
 * inventory.c: the containers bulkheadd knows, in a list: identity,
 * labels and per network its endpoint.  Filled by the controller from
 * docker_parse.c and link.c, read by compile.c.  Pure.
 */
#include <stdlib.h>
#include <string.h>

#include "inventory.h"
#include "util.h"

struct container *
container_new(void)
{
	struct container	*c = xcalloc(1, sizeof(*c));

	labelset_init(&c->labels);
	return c;
}

/* A deep copy of c (caller frees with container_free); not in any list. */
struct container *
container_dup(const struct container *c)
{
	struct container	*d = container_new();

	memcpy(d->id, c->id, sizeof(d->id));
	d->name = c->name ? xstrdup(c->name) : NULL;
	labelset_copy(&d->labels, &c->labels);
	d->sandbox_key = c->sandbox_key ? xstrdup(c->sandbox_key) : NULL;
	d->network_mode = c->network_mode ? xstrdup(c->network_mode) : NULL;
	d->pid = c->pid;
	d->running = c->running;
	d->privileged = c->privileged;
	d->cap_add = c->cap_add;
	if (c->nports) {
		d->ports = xcalloc(c->nports, sizeof(*d->ports));
		memcpy(d->ports, c->ports, c->nports * sizeof(*d->ports));
		d->nports = c->nports;
	}
	if (c->neps) {
		d->eps = xcalloc(c->neps, sizeof(*d->eps));
		memcpy(d->eps, c->eps, c->neps * sizeof(*d->eps));
		d->neps = c->neps;
	}
	return d;
}

void
container_free(struct container *c)
{
	if (c == NULL)
		return;
	free(c->name);
	labelset_release(&c->labels);
	free(c->sandbox_key);
	free(c->network_mode);
	free(c->eps);
	free(c->ports);
	free(c);
}

void
inventory_init(struct inventory *inv)
{
	TAILQ_INIT(&inv->containers);
	inv->n = 0;
}

void
inventory_release(struct inventory *inv)
{
	struct container	*c;

	while ((c = TAILQ_FIRST(&inv->containers)) != NULL) {
		TAILQ_REMOVE(&inv->containers, c, entry);
		container_free(c);
	}
	inv->n = 0;
}

static struct container *
inventory_get_id(const struct inventory *inv, const char *id)
{
	struct container	*c;

	TAILQ_FOREACH(c, &inv->containers, entry)
		if (strcmp(c->id, id) == 0)
			return c;
	return NULL;
}

void
inventory_put(struct inventory *inv, struct container *c)
{
	struct container	*old;

	if ((old = inventory_get_id(inv, c->id)) != NULL) {
		TAILQ_INSERT_AFTER(&inv->containers, old, c, entry);
		TAILQ_REMOVE(&inv->containers, old, entry);
		container_free(old);
		return;
	}
	TAILQ_INSERT_TAIL(&inv->containers, c, entry);
	inv->n++;
}

/* The container whose id starts with prefix, if exactly one does. */
static struct container *
inventory_get_prefix(const struct inventory *inv, const char *prefix)
{
	struct container	*c, *found = NULL;
	size_t			 len = strlen(prefix);

	TAILQ_FOREACH(c, &inv->containers, entry) {
		if (strncmp(c->id, prefix, len) != 0)
			continue;
		if (found != NULL)
			return NULL;	/* ambiguous */
		found = c;
	}
	return found;
}

/*
 * Looks up as Docker does: the full id first, then the name (a leading
 * '/' as Docker prints it is ignored), then a unique id prefix of at
 * least 12 characters.
 */
struct container *
inventory_get(const struct inventory *inv, const char *id)
{
	struct container	*c;
	const char		*name = id[0] == '/' ? id + 1 : id;

	if (id[0] == '\0')
		return NULL;
	if ((c = inventory_get_id(inv, id)) != NULL)
		return c;
	TAILQ_FOREACH(c, &inv->containers, entry)
		if (c->name != NULL && name[0] != '\0' &&
		    strcmp(c->name, name) == 0)
			return c;
	if (strlen(id) >= 12 && strlen(id) < sizeof(c->id))
		return inventory_get_prefix(inv, id);
	return NULL;
}

int
inventory_del(struct inventory *inv, const char *id)
{
	struct container	*c;

	if ((c = inventory_get(inv, id)) == NULL)
		return -1;
	TAILQ_REMOVE(&inv->containers, c, entry);
	inv->n--;
	container_free(c);
	return 0;
}
