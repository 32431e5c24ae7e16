/*
 * filter.c: the criteria of bulkhead-capture's filters.  See filter.h.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "filter.h"
#include "selector.h"
#include "util.h"

struct peer_match {
	char		*name;		/* a name or id prefix, or NULL */
	int		 family;	/* an address when not 0 */
	uint8_t		 addr[16];
	struct selector	*sel;		/* a selector, or NULL */
};

void
filter_init(struct filter *f)
{
	memset(f, 0, sizeof(*f));
	f->proto = f->port = -1;
}

void
filter_release(struct filter *f)
{
	peer_match_free(f->from);
	peer_match_free(f->to);
	filter_init(f);
}

int
filter_set(const struct filter *f)
{
	return f->proto >= 0 || f->port >= 0 || f->policy || f->verdict ||
	    f->from || f->to;
}

int
filter_wants_peers(const struct filter *f)
{
	return (f->from && f->from->family == 0) ||
	    (f->to && f->to->family == 0);
}

static int
filter_is_name(const char *s)
{
	static const char	extra[] = "_.-";

	if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
	    (*s >= '0' && *s <= '9')))
		return 0;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		    (*s >= '0' && *s <= '9') || strchr(extra, *s)))
			return 0;
	return 1;
}

struct peer_match *
peer_match_parse(const char *arg, char *err, size_t errlen)
{
	struct peer_match	*m;
	char			 serr[256];
	size_t			 pos = 0;

	if (*arg == '\0') {
		snprintf(err, errlen, "empty container name or selector");
		return NULL;
	}
	m = xcalloc(1, sizeof(*m));

	if (inet_pton(AF_INET, arg, m->addr) == 1) {
		m->family = AF_INET;
		return m;
	}
	if (inet_pton(AF_INET6, arg, m->addr) == 1) {
		m->family = AF_INET6;
		return m;
	}
	if (filter_is_name(arg)) {
		m->name = xstrdup(arg);
		return m;
	}
	if ((m->sel = selector_parse(arg, serr, sizeof(serr), &pos)) == NULL) {
		snprintf(err, errlen, "not a container name, address or "
		    "selector: %s: at %zu: %s", arg, pos, serr);
		free(m);
		return NULL;
	}
	return m;
}

void
peer_match_free(struct peer_match *m)
{
	if (m == NULL)
		return;
	free(m->name);
	selector_free(m->sel);
	free(m);
}

static int
filter_addr_match(const struct peer_match *m, const struct pkt_info *pi,
    int src)
{
	const void	*a = src ? (const void *)&pi->src : (const void *)&pi->dst;

	if (pi->family != m->family)
		return 0;
	return memcmp(a, m->addr, m->family == AF_INET ? 4 : 16) == 0;
}

static int
filter_peer_match(const struct peer_match *m, const struct pkt_info *pi,
    const struct peer *p, int src)
{
	size_t	len;

	if (m == NULL)
		return 1;
	if (pi == NULL)
		return 0;
	if (m->family)
		return filter_addr_match(m, pi, src);
	if (p == NULL)
		return 0;
	if (m->sel)
		return p->kind == PEER_CONTAINER &&
		    selector_match(m->sel, &p->labels);
	if (strcmp(m->name, p->name) == 0)
		return 1;
	len = strlen(m->name);
	return p->kind == PEER_CONTAINER && len >= 12 &&
	    strncmp(m->name, p->id, len) == 0;
}

int
filter_match(const struct filter *f, const struct pkt_info *pi,
    const struct bh_prefix *bp, const struct peer *src,
    const struct peer *dst)
{
	if (f->proto >= 0 && (pi == NULL || pi->proto != f->proto))
		return 0;
	if (f->port >= 0 && (pi == NULL || !pi->has_ports ||
	    (pi->sport != f->port && pi->dport != f->port)))
		return 0;
	if (f->policy && (bp->verdict == 0 || strcmp(bp->policy, f->policy)))
		return 0;
	if (f->verdict && bp->verdict != f->verdict)
		return 0;
	return filter_peer_match(f->from, pi, src, 1) &&
	    filter_peer_match(f->to, pi, dst, 0);
}
