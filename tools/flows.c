/*
 * flows.c: the flow table of bulkhead-capture --flows.  See flows.h.
 * An open-addressing hash table of flow pointers, grown at 50% load.
 */
#include <stdlib.h>
#include <string.h>

#include "flows.h"
#include "util.h"

struct flows {
	struct flow	**slots;
	size_t		  nslots;	/* a power of two */
	size_t		  n;
	struct flow	**sorted;	/* for flows_sorted */
	uint64_t	  seq;		/* flows created so far */
};

void
flow_key_init(struct flow_key *k)
{
	memset(k, 0, sizeof(*k));
	k->dport = -1;
}

/* FNV-1a over the key's bytes (the key is zeroed before it is filled). */
static size_t
flows_hash(const struct flow_key *k)
{
	const uint8_t	*p = (const uint8_t *)k;
	uint64_t	 h = 1469598103934665603ULL;
	size_t		 i;

	for (i = 0; i < sizeof(*k); i++) {
		h ^= p[i];
		h *= 1099511628211ULL;
	}
	return (size_t)h;
}

static struct flow **
flows_slot(struct flow **slots, size_t nslots, const struct flow_key *k)
{
	size_t	i = flows_hash(k) & (nslots - 1);

	while (slots[i] && memcmp(&slots[i]->key, k, sizeof(*k)) != 0)
		i = (i + 1) & (nslots - 1);
	return &slots[i];
}

static void
flows_grow(struct flows *fs)
{
	size_t		 n = fs->nslots ? fs->nslots * 2 : 256, i;
	struct flow	**slots = xcalloc(n, sizeof(*slots));

	for (i = 0; i < fs->nslots; i++)
		if (fs->slots[i])
			*flows_slot(slots, n, &fs->slots[i]->key) = fs->slots[i];
	free(fs->slots);
	fs->slots = slots;
	fs->nslots = n;
}

struct flows *
flows_new(void)
{
	struct flows	*fs = xcalloc(1, sizeof(*fs));

	flows_grow(fs);
	return fs;
}

void
flows_clear(struct flows *fs)
{
	size_t	i;

	for (i = 0; i < fs->nslots; i++) {
		free(fs->slots[i]);
		fs->slots[i] = NULL;
	}
	fs->n = 0;
	free(fs->sorted);
	fs->sorted = NULL;
}

void
flows_free(struct flows *fs)
{
	if (fs == NULL)
		return;
	flows_clear(fs);
	free(fs->slots);
	free(fs);
}

struct flow *
flows_add(struct flows *fs, const struct flow_key *key, int64_t t,
    const char *src_name, int src_kind, const char *dst_name, int dst_kind)
{
	struct flow	**slot, *f;

	if ((fs->n + 1) * 2 > fs->nslots)
		flows_grow(fs);
	slot = flows_slot(fs->slots, fs->nslots, key);
	if ((f = *slot) == NULL) {
		f = *slot = xcalloc(1, sizeof(*f));
		f->key = *key;
		f->first = f->last = t;
		strlcpy_bh(f->src_name, src_name ? src_name : "",
		    sizeof(f->src_name));
		strlcpy_bh(f->dst_name, dst_name ? dst_name : "",
		    sizeof(f->dst_name));
		f->src_kind = src_kind;
		f->dst_kind = dst_kind;
		f->seq = fs->seq++;
		fs->n++;
	}
	f->count++;
	if (t < f->first)
		f->first = t;
	if (t > f->last)
		f->last = t;
	return f;
}

size_t
flows_count(const struct flows *fs)
{
	return fs->n;
}

static int
flows_cmp(const void *x, const void *y)
{
	const struct flow	*a = *(const struct flow *const *)x;
	const struct flow	*b = *(const struct flow *const *)y;

	if (a->count != b->count)
		return a->count > b->count ? -1 : 1;
	if (a->first != b->first)
		return a->first < b->first ? -1 : 1;
	return a->seq < b->seq ? -1 : a->seq > b->seq;
}

const struct flow *const *
flows_sorted(struct flows *fs, size_t *n)
{
	size_t	i, j = 0;

	free(fs->sorted);
	fs->sorted = xreallocarray(NULL, fs->n + 1, sizeof(*fs->sorted));
	for (i = 0; i < fs->nslots; i++)
		if (fs->slots[i])
			fs->sorted[j++] = fs->slots[i];
	qsort(fs->sorted, j, sizeof(*fs->sorted), flows_cmp);
	*n = j;
	return (const struct flow *const *)fs->sorted;
}
